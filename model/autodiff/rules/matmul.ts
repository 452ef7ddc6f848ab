import { attr } from '../../graph';
import { sumToShapeOf } from '../broadcast';
import type { GradientRule } from '../rule';

/**
 * dA = dY B^T and dB = A^T dY over the last two axes. Known 2-D operands take two Gemms.
 * Otherwise the rank may be unknown, so the last two axes are swapped with a one-operand
 * Einsum (Transpose would need the rank for its perm), MatMul broadcasts the batch axes, and
 * sumToShapeOf sums the broadcast ones away.
 */
export const matMulGradient: GradientRule = {
  opType: 'MatMul',
  differentiableInputs: [0, 1],
  unsupportedReason: (node, graph) =>
    node.inputs.some((input) => (graph.valueInfo(input)?.shape?.length ?? 2) < 2)
      ? '1-D operands are not supported'
      : undefined,
  gradients: (node, ctx) => {
    const [a, b] = node.inputs as [string, string];
    const bothMatrices = [a, b].every((input) => ctx.staticShape(input)?.length === 2);
    if (bothMatrices) {
      return [
        () => ctx.op('Gemm', [ctx.outputGrad(), b], { transB: attr.int(1) }),
        () => ctx.op('Gemm', [a, ctx.outputGrad()], { transA: attr.int(1) }),
      ];
    }
    const swapLastTwo = (input: string) =>
      ctx.op('Einsum', [input], { equation: attr.string('...ij->...ji') });
    return [
      () => sumToShapeOf(ctx, ctx.op('MatMul', [ctx.outputGrad(), swapLastTwo(b)]), a),
      () => sumToShapeOf(ctx, ctx.op('MatMul', [swapLastTwo(a), ctx.outputGrad()]), b),
    ];
  },
};
