import { sumToShapeOf } from '../broadcast';
import type { GradientRule } from '../rule';

export const addGradient: GradientRule = {
  opType: 'Add',
  differentiableInputs: [0, 1],
  gradients: (node, ctx) => node.inputs.map((input) => () => sumToShapeOf(ctx, ctx.outputGrad(), input)),
};
