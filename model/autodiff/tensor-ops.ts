import { attr, type Graph, type GraphNode, intsAttr, stringAttr, TensorTypeCode, tensor } from '../graph';
import type { GradientContext } from './rule';

/**
 * Building blocks several gradient rules share. Shapes are computed at run time (Shape, Size,
 * Gather), so rules work on graphs whose intermediate shapes were never declared.
 */

/** A tensor of zeros in the gradient's float type, shaped by the 1-D int64 tensor `shape`. */
export function zerosOfShape(ctx: GradientContext, shape: string): string {
  return ctx.op('ConstantOfShape', [shape], { value: attr.tensor(tensor.float(ctx.floatType, [0], [1])) });
}

/**
 * A tensor shaped like `like`, zero except where `updates` are added at the row-major flat
 * positions `flatIndices` (any shape; duplicates accumulate). Slice, Gather and MaxPool
 * gradients all route values back to the input positions they were read from this way.
 */
export function scatterAddFlat(
  ctx: GradientContext,
  like: string,
  flatIndices: string,
  updates: string,
): string {
  const flat = ctx.int64([-1]);
  const size = ctx.op('Reshape', [ctx.op('Size', [like]), flat]);
  const scattered = ctx.op(
    'ScatterElements',
    [zerosOfShape(ctx, size), ctx.op('Reshape', [flatIndices, flat]), ctx.op('Reshape', [updates, flat])],
    { axis: attr.int(0), reduction: attr.string('add') },
  );
  return ctx.op('Reshape', [scattered, ctx.op('Shape', [like])]);
}

/** Row-major flat position of every element of `like`, in its shape: the input to index with. */
export function flatPositions(ctx: GradientContext, like: string): string {
  const size = ctx.op('Size', [like]);
  const positions = ctx.op('Range', [ctx.int64([0], []), size, ctx.int64([1], [])]);
  return ctx.op('Reshape', [positions, ctx.op('Shape', [like])]);
}

/** `value` (a scalar int64 tensor) cast to the gradient's float type. */
export function asFloat(ctx: GradientContext, value: string): string {
  return ctx.op('Cast', [value], { to: attr.int(TensorTypeCode[ctx.floatType]) });
}

/** Dimension `axis` of `tensorName` as a scalar int64 tensor: a constant when the shape is declared. */
export function dimension(ctx: GradientContext, tensorName: string, axis: number): string {
  const declared = ctx.staticShape(tensorName)?.[axis];
  if (typeof declared === 'number') return ctx.int64([declared], []);
  return ctx.op('Gather', [ctx.op('Shape', [tensorName]), ctx.int64([axis], [])], { axis: attr.int(0) });
}

/**
 * For scores [N, C] and integer labels [N]: the one-hot float matrix [N, C] of the labels.
 * onnxruntime's OneHot takes int64 indices and float32 values, hence the casts (a cast to the
 * type a tensor already has is removed when the session loads).
 */
export function oneHot(ctx: GradientContext, labels: string, scores: string): string {
  const indices = ctx.op('Cast', [labels], { to: attr.int(TensorTypeCode.int64) });
  const offOn = ctx.constant(tensor.float('float32', [0, 1], [2]));
  const encoded = ctx.op('OneHot', [indices, dimension(ctx, scores, 1), offOn], { axis: attr.int(-1) });
  return ctx.floatType === 'float32' ? encoded : asFloat(ctx, encoded);
}

/** Scales a per-row loss gradient [N, C] by the incoming gradient of a loss with `reduction`. */
export function scaleByReduction(
  ctx: GradientContext,
  node: GraphNode,
  perRow: string,
  labels: string,
): string {
  const dy = ctx.outputGrad();
  switch (stringAttr(node, 'reduction', 'mean')) {
    case 'none':
      return ctx.op('Mul', [perRow, ctx.op('Unsqueeze', [dy, ctx.int64([1])])]);
    case 'sum':
      return ctx.op('Mul', [perRow, dy]);
    default:
      return ctx.op('Mul', [perRow, ctx.op('Div', [dy, asFloat(ctx, dimension(ctx, labels, 0))])]);
  }
}

export const LOSS_REDUCTIONS = ['mean', 'sum', 'none'];

/** What the classification-loss rules cannot differentiate, or undefined; `what` names input 0. */
export function unsupportedLoss(node: GraphNode, graph: Graph, what: string): string | undefined {
  if (node.inputs[2]) return 'class weights are not supported';
  if (node.attributes.ignore_index) return 'ignore_index is not supported';
  const reduction = stringAttr(node, 'reduction', 'mean');
  if (!LOSS_REDUCTIONS.includes(reduction)) return `reduction '${reduction}' is not supported`;
  const rank = graph.valueInfo(node.inputs[0] as string)?.shape?.length;
  return rank !== undefined && rank !== 2 ? `${what} must be [N, C], got rank ${rank}` : undefined;
}

/** Convolution-style attributes with ONNX defaults filled in for `spatialRank` spatial axes. */
export interface WindowAttributes {
  readonly spatialRank: number;
  readonly kernel?: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  /** [begin_1, ..., begin_r, end_1, ..., end_r], as ONNX orders them. */
  readonly pads: readonly number[];
}

/**
 * Reads kernel_shape, strides, dilations and pads. The spatial rank comes from kernel_shape,
 * else from the declared rank of the weight (Conv's input 1); undefined when neither is known.
 */
export function windowAttributes(node: GraphNode, weightRank?: number): WindowAttributes | undefined {
  const kernel = intsAttr(node, 'kernel_shape');
  const spatialRank = kernel?.length ?? (weightRank === undefined ? undefined : weightRank - 2);
  if (spatialRank === undefined || spatialRank < 1) return undefined;
  const ones = Array<number>(spatialRank).fill(1);
  return {
    spatialRank,
    kernel,
    strides: intsAttr(node, 'strides') ?? ones,
    dilations: intsAttr(node, 'dilations') ?? ones,
    pads: intsAttr(node, 'pads') ?? Array<number>(2 * spatialRank).fill(0),
  };
}

/** Why explicit-padding window ops cannot be differentiated as written, if so. */
export function autoPadReason(node: GraphNode): string | undefined {
  const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
  return autoPad === 'NOTSET' || autoPad === 'VALID'
    ? undefined
    : `auto_pad ${autoPad} is not supported; export with explicit pads`;
}

/** Explicit pads of a node, zero when auto_pad is VALID. */
export function effectivePads(node: GraphNode, window: WindowAttributes): readonly number[] {
  return stringAttr(node, 'auto_pad', 'NOTSET') === 'VALID'
    ? Array<number>(2 * window.spatialRank).fill(0)
    : window.pads;
}

/**
 * Transposed convolution of `dy` (the gradient of a windowed op's output [N, O, T...]) back
 * onto the input grid, [N, C, S...] like `like`. When `like`'s spatial size is declared and the
 * window's own pads land exactly on it (as "same" padding does), ConvTranspose takes them as
 * they are. Otherwise it gets only the begin pads, so its output starts at input position 0,
 * and fitSpatial fits the tail.
 */
export function transposedWindow(
  ctx: GradientContext,
  dy: string,
  kernel: string,
  kernelShape: readonly number[],
  like: string,
  window: WindowAttributes,
  pads: readonly number[],
  group: number,
): string {
  const r = window.spatialRank;
  const beginPadded = transposedSize(window, pads, kernelShape);
  const declared = ctx.staticShape(like)?.slice(2);
  const exact =
    declared?.length === r &&
    declared.every(
      (size, axis) =>
        typeof size === 'number' && beginPadded(size, axis) - (pads[axis + r] as number) === size,
    );
  const spread = ctx.op('ConvTranspose', [dy, kernel], {
    strides: attr.ints(window.strides),
    dilations: attr.ints(window.dilations),
    pads: attr.ints(exact ? pads : beginPadsOnly(pads)),
    group: attr.int(group),
  });
  return exact ? spread : fitSpatial(ctx, spread, like, r, beginPadded);
}

/** Keeps the begin pads and zeroes the end pads: [b_1..b_r, e_1..e_r] -> [b_1..b_r, 0..0]. */
export function beginPadsOnly(pads: readonly number[]): number[] {
  const r = pads.length / 2;
  return [...pads.slice(0, r), ...Array<number>(r).fill(0)];
}

/**
 * Size along `axis` of a window op's output transposed back with begin pads only, for an input
 * of size `inputSize`: stride * (T - 1) + dilation * (K - 1) + 1 - padBegin.
 */
export function transposedSize(
  window: WindowAttributes,
  pads: readonly number[],
  kernelShape: readonly number[],
): (inputSize: number, axis: number) => number {
  const r = window.spatialRank;
  return (inputSize, axis) => {
    const [stride, dilation, kernel] = [
      window.strides[axis],
      window.dilations[axis],
      kernelShape[axis],
    ] as number[];
    const [begin, end] = [pads[axis], pads[axis + r]] as number[];
    const span = dilation * (kernel - 1) + 1;
    const outputs = Math.floor((inputSize + begin + end - span) / stride) + 1;
    return stride * (outputs - 1) + span - begin;
  };
}

/**
 * Crops or zero-extends the trailing spatial positions of `spread` to the spatial size of
 * `like`. A strided window can leave the last input positions unread (their gradient is zero),
 * and end padding must be cropped; no static output_padding can express both for an input
 * size only known at run time. When `like`'s spatial size is declared and `spreadSize` says
 * the spread already matches it, the two copies are skipped.
 */
export function fitSpatial(
  ctx: GradientContext,
  spread: string,
  like: string,
  spatialRank: number,
  spreadSize: (inputSize: number, axis: number) => number,
): string {
  const r = spatialRank;
  const declared = ctx.staticShape(like)?.slice(2);
  const matches =
    declared?.length === r &&
    declared.every((size, axis) => typeof size === 'number' && spreadSize(size, axis) === size);
  if (matches) return spread;
  const targetSpatial = ctx.op('Slice', [ctx.op('Shape', [like]), ctx.int64([2]), ctx.int64([2 + r])]);
  const cropped = ctx.op('Slice', [
    spread,
    ctx.int64(Array<number>(r).fill(0)),
    targetSpatial,
    ctx.int64(Array.from({ length: r }, (_, i) => i + 2)),
  ]);
  const shortfall = ctx.op('Sub', [ctx.op('Shape', [like]), ctx.op('Shape', [cropped])]);
  const padding = ctx.op('Concat', [ctx.int64(Array<number>(r + 2).fill(0)), shortfall], {
    axis: attr.int(0),
  });
  return ctx.op('Pad', [cropped, padding]);
}
