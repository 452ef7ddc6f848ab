import { sumToShapeOf } from '../broadcast';
import type { GradientRule } from '../rule';

export const mulGradient: GradientRule = {
  opType: 'Mul',
  differentiableInputs: [0, 1],
  gradients: (node, ctx) => {
    const [a, b] = node.inputs as [string, string];
    return [
      () => sumToShapeOf(ctx, ctx.op('Mul', [ctx.outputGrad(), b]), a),
      () => sumToShapeOf(ctx, ctx.op('Mul', [ctx.outputGrad(), a]), b),
    ];
  },
};
