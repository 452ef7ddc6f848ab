import { attr, intAttr, TensorTypeCode } from '../../graph';
import type { GradientRule } from '../rule';
import { dimension, flatPositions, scatterAddFlat, zerosOfShape } from '../tensor-ops';

/**
 * Rows (or slices along `axis`) that were gathered receive their output gradients, summed
 * where an index repeats. Along axis 0, the embedding case, ScatterND adds the gradient rows
 * directly at the (normalized) indices. Along other axes, gathering the data's own flat
 * positions finds the sources, as for Slice. Indices are not differentiable.
 */
export const gatherGradient: GradientRule = {
  opType: 'Gather',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => {
      const [data, indices] = node.inputs as [string, string];
      const axis = intAttr(node, 'axis', 0);
      const dy = ctx.outputGrad();
      if (axis !== 0) {
        const sources = ctx.op('Gather', [flatPositions(ctx, data), indices], { axis: attr.int(axis) });
        return scatterAddFlat(ctx, data, sources, dy);
      }
      const index64 = ctx.op('Cast', [indices], { to: attr.int(TensorTypeCode.int64) });
      // Gather accepts negative indices; ScatterND's handling of them is not guaranteed.
      const wrapped = ctx.op('Add', [index64, dimension(ctx, data, 0)]);
      const normalized = ctx.op('Where', [ctx.op('Less', [index64, ctx.int64([0], [])]), wrapped, index64]);
      return ctx.op(
        'ScatterND',
        [zerosOfShape(ctx, ctx.op('Shape', [data])), ctx.op('Unsqueeze', [normalized, ctx.int64([-1])]), dy],
        { reduction: attr.string('add') },
      );
    },
  ],
};
