import type { GradientRule } from '../rule';
import { flatPositions, scatterAddFlat } from '../tensor-ops';

/**
 * Slicing the input's own flat positions with the node's starts, ends, axes and steps tells
 * where every output element came from, whatever the steps' signs or the clamping; the gradient
 * is scattered back there. Starts, ends, axes and steps are not differentiable.
 */
export const sliceGradient: GradientRule = {
  opType: 'Slice',
  differentiableInputs: [0],
  gradients: (node, ctx) => [
    () => {
      const [x, ...bounds] = node.inputs as [string, ...string[]];
      const sources = ctx.op('Slice', [flatPositions(ctx, x), ...bounds]);
      return scatterAddFlat(ctx, x, sources, ctx.outputGrad());
    },
  ],
};
