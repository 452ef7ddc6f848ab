import { sumToShapeOf } from '../broadcast';
import type { GradientRule } from '../rule';

export const subGradient: GradientRule = {
  opType: 'Sub',
  differentiableInputs: [0, 1],
  gradients: (node, ctx) => {
    const [a, b] = node.inputs as [string, string];
    return [
      () => sumToShapeOf(ctx, ctx.outputGrad(), a),
      () => ctx.op('Neg', [sumToShapeOf(ctx, ctx.outputGrad(), b)]),
    ];
  },
};
