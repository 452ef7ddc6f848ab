import { sumToShapeOf } from '../broadcast';
import type { GradientRule } from '../rule';

/** Expand broadcasts, so its gradient is the broadcast undone. The shape input is not differentiable. */
export const expandGradient: GradientRule = {
  opType: 'Expand',
  differentiableInputs: [0],
  gradients: (node, ctx) => [() => sumToShapeOf(ctx, ctx.outputGrad(), node.inputs[0] as string)],
};
