import { attr, floatAttr, intAttr } from '../../graph';
import { sumToShapeOf } from '../broadcast';
import type { GradientRule } from '../rule';

/**
 * Y = alpha * A' B' + beta * C with A' = transA ? A^T : A and B' likewise, so
 * dA' = alpha dY B'^T and dB' = alpha A'^T dY; each case folds the transposes into one Gemm.
 */
export const gemmGradient: GradientRule = {
  opType: 'Gemm',
  differentiableInputs: [0, 1, 2],
  gradients: (node, ctx) => {
    const [a, b, c] = node.inputs as [string, string, string | undefined];
    const transA = intAttr(node, 'transA', 0) !== 0;
    const transB = intAttr(node, 'transB', 0) !== 0;
    const alpha = floatAttr(node, 'alpha', 1);
    const beta = floatAttr(node, 'beta', 1);
    const gemm = (left: string, right: string, transLeft: boolean, transRight: boolean) =>
      ctx.op('Gemm', [left, right], {
        transA: attr.int(transLeft ? 1 : 0),
        transB: attr.int(transRight ? 1 : 0),
        alpha: attr.float(alpha),
      });
    return [
      () => (transA ? gemm(b, ctx.outputGrad(), transB, true) : gemm(ctx.outputGrad(), b, false, !transB)),
      () => (transB ? gemm(ctx.outputGrad(), a, true, transA) : gemm(a, ctx.outputGrad(), !transA, false)),
      c
        ? () => {
            const summed = sumToShapeOf(ctx, ctx.outputGrad(), c);
            return beta === 1 ? summed : ctx.op('Mul', [summed, ctx.scalar(beta)]);
          }
        : undefined,
    ];
  },
};
