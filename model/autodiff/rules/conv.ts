import { attr, intAttr, tensor } from '../../graph';
import type { GradientContext, GradientRule } from '../rule';
import {
  autoPadReason,
  effectivePads,
  transposedWindow,
  type WindowAttributes,
  windowAttributes,
} from '../tensor-ops';

/**
 * Y = Conv(X, W) + B with X [N, C, S...], W [O, C/G, K...], Y [N, O, T...], any number of
 * spatial axes, groups G.
 *
 * dX is the transposed convolution of dY with the same W, strides, dilations and group.
 *
 * dW[o, c, k] = sum_{n, t} dY[n, o, t] * Xpad[n, g*C/G + c, t*stride + k*dilation] is a matrix
 * product once X is unfolded (im2col): a grouped convolution of X with a constant identity
 * kernel gives cols[n, c*K + k, t] = Xpad[n, c, t*stride + k*dilation], then per sample and
 * group dY [O/G, T] times cols^T [T, C/G*K], summed over samples. That keeps onnxruntime in one
 * well-shaped GEMM; the alternative, convolving X with dY as the kernel, runs GEMMs only K wide
 * and measured about twice as slow. The identity kernel needs C and K, so W's shape must be
 * static (it is for parameters and initializers).
 */
export const convGradient: GradientRule = {
  opType: 'Conv',
  differentiableInputs: [0, 1, 2],
  unsupportedReason: (node, graph) => {
    const weightShape = graph.valueInfo(node.inputs[1] as string)?.shape;
    if (!weightShape?.every((dim) => typeof dim === 'number')) {
      return 'the weight shape must be static (an initializer or parameter)';
    }
    return autoPadReason(node);
  },
  gradients: (node, ctx) => {
    const [x, w, b] = node.inputs as [string, string, string | undefined];
    const weightShape = ctx.staticShape(w) as readonly number[];
    const window = windowAttributes(node, weightShape.length) as WindowAttributes;
    const group = intAttr(node, 'group', 1);
    const pads = effectivePads(node, window);
    const spatialAxes = Array.from({ length: window.spatialRank }, (_, i) => i + 2);
    return [
      () => transposedWindow(ctx, ctx.outputGrad(), w, weightShape.slice(2), x, window, pads, group),
      () => weightGradient(ctx, x, ctx.outputGrad(), weightShape, window, pads, group),
      b
        ? () =>
            ctx.op('ReduceSum', [ctx.outputGrad(), ctx.int64([0, ...spatialAxes])], { keepdims: attr.int(0) })
        : undefined,
    ];
  },
};

function weightGradient(
  ctx: GradientContext,
  x: string,
  dy: string,
  weightShape: readonly number[],
  window: WindowAttributes,
  pads: readonly number[],
  group: number,
): string {
  const [outputs, groupChannels, ...kernel] = weightShape as [number, number, ...number[]];
  const channels = groupChannels * group;
  const kernelSize = kernel.reduce((a, b) => a * b, 1);
  // identity[c*K + k, 0, k'] = 1 when k = k': output channel c*K + k of a convolution with
  // group C copies input channel c at kernel offset k.
  const identity = new Float64Array(channels * kernelSize * kernelSize);
  for (let c = 0; c < channels; c++) {
    for (let k = 0; k < kernelSize; k++) identity[(c * kernelSize + k) * kernelSize + k] = 1;
  }
  const unfolded = ctx.op(
    'Conv',
    [x, ctx.constant(tensor.float(ctx.floatType, identity, [channels * kernelSize, 1, ...kernel]))],
    {
      strides: attr.ints(window.strides),
      dilations: attr.ints(window.dilations),
      pads: attr.ints(pads),
      group: attr.int(channels),
    },
  );
  const cols = ctx.op('Reshape', [unfolded, ctx.int64([0, group, groupChannels * kernelSize, -1])]);
  const grads = ctx.op('Reshape', [dy, ctx.int64([0, group, outputs / group, -1])]);
  const perSample = ctx.op('MatMul', [grads, ctx.op('Transpose', [cols], { perm: attr.ints([0, 1, 3, 2]) })]);
  const summed = ctx.op('ReduceSum', [perSample, ctx.int64([0])], { keepdims: attr.int(0) });
  return ctx.op('Reshape', [summed, ctx.int64(weightShape)]);
}
