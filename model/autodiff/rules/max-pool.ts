import { intAttr } from '../../graph';
import type { GradientRule } from '../rule';
import { scatterAddFlat } from '../tensor-ops';

/**
 * Each output element's gradient goes to the input element that was the maximum. MaxPool's
 * optional Indices output gives those positions, flat over the whole input tensor; when the
 * forward node did not ask for it, the pooling is recomputed with it. Overlapping windows can
 * pick the same element twice, hence the accumulating scatter.
 */
export const maxPoolGradient: GradientRule = {
  opType: 'MaxPool',
  differentiableInputs: [0],
  unsupportedReason: (node) =>
    intAttr(node, 'storage_order', 0) === 0
      ? undefined
      : 'storage_order 1 (column-major indices) is not supported',
  gradients: (node, ctx) => [
    () => {
      const x = node.inputs[0] as string;
      const indices = node.outputs[1] || (ctx.opMulti('MaxPool', [x], 2, node.attributes)[1] as string);
      return scatterAddFlat(ctx, x, indices, ctx.outputGrad());
    },
  ],
};
