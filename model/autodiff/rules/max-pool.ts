import { attr, type GraphNode, intAttr, TensorTypeCode, tensor } from '../../graph';
import type { GradientContext, GradientRule } from '../rule';
import {
  autoPadReason,
  effectivePads,
  fitSpatial,
  scatterAddFlat,
  type WindowAttributes,
  windowAttributes,
} from '../tensor-ops';

/**
 * Each output element's gradient goes to the input element(s) that were the window's maximum.
 *
 * Tiling windows (kernel = strides, no padding or dilation, the usual 2x2 pooling) in float32
 * take a fast path: the maxima are found by comparing X with Y upsampled to X's grid, and a
 * window with several equal maxima splits its gradient equally among them (a valid
 * subgradient; ties are common where ReLU outputs of a flat background meet). Upsampling is a
 * transposed convolution with a kernel of ones, with channels folded into the batch axis.
 *
 * Other windows use MaxPool's Indices output (flat positions over the whole input, recomputed
 * when the forward node did not ask for it) and scatter the gradient there; overlapping
 * windows can pick the same element twice, hence the accumulating scatter. onnxruntime's
 * MaxPool with Indices is several times slower than without, which is why tiling windows
 * avoid it.
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
      const window = windowAttributes(node) as WindowAttributes & { kernel: readonly number[] };
      if (ctx.floatType === 'float32' && isTiling(node, window)) return tilingGradient(ctx, node, window);
      const indices = node.outputs[1] || (ctx.opMulti('MaxPool', [x], 2, node.attributes)[1] as string);
      return scatterAddFlat(ctx, x, indices, ctx.outputGrad());
    },
  ],
};

function isTiling(node: GraphNode, window: WindowAttributes & { kernel: readonly number[] }): boolean {
  return (
    autoPadReason(node) === undefined &&
    intAttr(node, 'ceil_mode', 0) === 0 &&
    window.kernel.every((size, i) => size === window.strides[i]) &&
    window.dilations.every((dilation) => dilation === 1) &&
    effectivePads(node, window).every((pad) => pad === 0)
  );
}

function tilingGradient(
  ctx: GradientContext,
  node: GraphNode,
  window: WindowAttributes & { kernel: readonly number[] },
): string {
  const x = node.inputs[0] as string;
  const y = node.outputs[0] as string;
  const r = window.spatialRank;
  const spatialAxes = Array.from({ length: r }, (_, i) => i + 2);
  const spatialShape = (of: string) =>
    ctx.op('Slice', [ctx.op('Shape', [of]), ctx.int64([2]), ctx.int64([2 + r])]);
  const withPrefix = (prefix: string, of: string) =>
    ctx.op('Concat', [prefix, spatialShape(of)], { axis: attr.int(0) });
  const ones = ctx.constant(
    tensor.float(ctx.floatType, Array(window.kernel.reduce((a, b) => a * b, 1)).fill(1), [
      1,
      1,
      ...window.kernel,
    ]),
  );
  const batchAndChannels = ctx.op('Slice', [ctx.op('Shape', [x]), ctx.int64([0]), ctx.int64([2])]);
  /** [N, C, T...] -> [N, C, T*K...], every value repeated over its window. */
  const upsample = (pooled: string) => {
    const perChannel = ctx.op('Reshape', [pooled, withPrefix(ctx.int64([-1, 1]), pooled)]);
    const spread = ctx.op('ConvTranspose', [perChannel, ones], { strides: attr.ints(window.strides) });
    return ctx.op('Reshape', [spread, withPrefix(batchAndChannels, spread)]);
  };

  const maxima = upsample(y);
  // Trailing input positions no window reached (size not a multiple of the stride) get zero.
  const tiledSize = (inputSize: number, axis: number) =>
    Math.floor(inputSize / (window.kernel[axis] as number)) * (window.kernel[axis] as number);
  const declared = ctx.staticShape(x)?.slice(2);
  const tiled =
    declared?.length === r &&
    declared.every((size, axis) => typeof size === 'number' && tiledSize(size, axis) === size);
  const covered = tiled
    ? x
    : ctx.op('Slice', [x, ctx.int64(Array(r).fill(0)), spatialShape(maxima), ctx.int64(spatialAxes)]);
  const isMax = ctx.op('Cast', [ctx.op('Equal', [covered, maxima])], {
    to: attr.int(TensorTypeCode[ctx.floatType]),
  });
  const counts = ctx.op('Mul', [
    ctx.op('AveragePool', [isMax], {
      kernel_shape: attr.ints(window.kernel),
      strides: attr.ints(window.strides),
    }),
    ctx.scalar(window.kernel.reduce((a, b) => a * b, 1)),
  ]);
  const shares = upsample(ctx.op('Div', [ctx.outputGrad(), counts]));
  return fitSpatial(ctx, ctx.op('Mul', [isMax, shares]), x, r, tiledSize);
}
