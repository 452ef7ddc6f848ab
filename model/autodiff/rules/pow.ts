import { sumToShapeOf } from '../broadcast';
import type { GradientRule } from '../rule';

/**
 * y = x^p with p constant: dx = dy * p * x^(p - 1). The exponent may have another float type
 * than x (Pow allows it), so it is cast to x's type first.
 */
export const powGradient: GradientRule = {
  opType: 'Pow',
  differentiableInputs: [0, 1],
  unsupportedReason: (node, _graph, carriesGradient) =>
    carriesGradient(node.inputs[1] as string)
      ? 'the exponent depends on a parameter; only constant exponents are supported'
      : undefined,
  gradients: (node, ctx) => {
    const [x, exponent] = node.inputs as [string, string];
    return [
      () => {
        const p = ctx.op('CastLike', [exponent, x]);
        const slope = ctx.op('Mul', [
          p,
          ctx.op('Pow', [x, ctx.op('Sub', [p, ctx.op('CastLike', [ctx.scalar(1), x])])]),
        ]);
        return sumToShapeOf(ctx, ctx.op('Mul', [ctx.outputGrad(), slope]), x);
      },
    ];
  },
};
