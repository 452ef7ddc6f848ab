import { attr, type Graph, type GraphNode, intAttr } from '../../graph';
import type { GradientContext, GradientRule } from '../rule';
import {
  autoPadReason,
  effectivePads,
  transposedWindow,
  type WindowAttributes,
  windowAttributes,
} from '../tensor-ops';

const spatialWindow = (node: GraphNode, graph: Graph) =>
  windowAttributes(node, graph.valueInfo(node.inputs[1] as string)?.shape?.length);

/**
 * Y = Conv(X, W) + B with X [N, C, S...], W [O, C/G, K...], Y [N, O, T...], any number of
 * spatial axes, groups G.
 *
 * dX is the transposed convolution of dY with the same W, strides, dilations and group.
 *
 * dW[o, c, k] = sum_{n, t} dY[n, o, t] * Xpad[n, g*C/G + c, t*stride + k*dilation] is itself a
 * convolution with the batch axis as the channel axis: input X regrouped to [C/G, G*N, S...],
 * kernel dY transposed to [O, N, T...], strides and dilations swapped, same pads, group G. Its
 * spatial output can exceed K where the stride left trailing input unread; that excess is sliced
 * off before transposing [C/G, O, K...] back to W's layout.
 */
export const convGradient: GradientRule = {
  opType: 'Conv',
  differentiableInputs: [0, 1, 2],
  unsupportedReason: (node, graph) =>
    autoPadReason(node) ??
    (spatialWindow(node, graph) === undefined
      ? 'the number of spatial axes is unknown: give kernel_shape or a weight of known rank'
      : undefined),
  gradients: (node, ctx) => {
    const [x, w, b] = node.inputs as [string, string, string | undefined];
    const window = windowAttributes(node, ctx.staticShape(w)?.length) as WindowAttributes;
    const r = window.spatialRank;
    const group = intAttr(node, 'group', 1);
    const pads = effectivePads(node, window);
    const spatialAxes = Array.from({ length: r }, (_, i) => i + 2);
    const channelsFirst = [1, 0, ...spatialAxes];
    return [
      () => transposedWindow(ctx, ctx.outputGrad(), w, x, window, pads, group),
      () => {
        const dy = ctx.outputGrad();
        const kernel = ctx.op('Transpose', [dy], { perm: attr.ints(channelsFirst) });
        const regrouped =
          group === 1
            ? ctx.op('Transpose', [x], { perm: attr.ints(channelsFirst) })
            : regroupByChannel(ctx, x, group, r);
        const full = ctx.op('Conv', [regrouped, kernel], {
          strides: attr.ints(window.dilations),
          dilations: attr.ints(window.strides),
          pads: attr.ints(pads),
          group: attr.int(group),
        });
        const kernelSize = ctx.op('Slice', [ctx.op('Shape', [w]), ctx.int64([2]), ctx.int64([2 + r])]);
        const cropped = ctx.op('Slice', [
          full,
          ctx.int64(Array<number>(r).fill(0)),
          kernelSize,
          ctx.int64(spatialAxes),
        ]);
        return ctx.op('Transpose', [cropped], { perm: attr.ints(channelsFirst) });
      },
      b
        ? () =>
            ctx.op('ReduceSum', [ctx.outputGrad(), ctx.int64([0, ...spatialAxes])], { keepdims: attr.int(0) })
        : undefined,
    ];
  },
};

/** X [N, C, S...] -> [C/G, G*N, S...]: channel c of group g of sample n goes to [c, g*N + n]. */
function regroupByChannel(ctx: GradientContext, x: string, group: number, spatialRank: number): string {
  const spatialShape = ctx.op('Slice', [ctx.op('Shape', [x]), ctx.int64([2]), ctx.int64([2 + spatialRank])]);
  const withShape = (prefix: readonly number[]) =>
    ctx.op('Concat', [ctx.int64(prefix), spatialShape], { axis: attr.int(0) });
  // Reshape's 0 copies the input's dimension at that position.
  const split = ctx.op('Reshape', [x, withShape([0, group, -1])]);
  const spatialAxes = Array.from({ length: spatialRank }, (_, i) => i + 3);
  const swapped = ctx.op('Transpose', [split], { perm: attr.ints([2, 1, 0, ...spatialAxes]) });
  return ctx.op('Reshape', [swapped, withShape([0, -1])]);
}
