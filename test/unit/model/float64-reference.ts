import * as ort from 'onnxruntime-node';
import type { Batch } from '../../../model/datasets';
import {
  type AttributeValue,
  attr,
  Graph,
  type GraphNode,
  intAttr,
  intsAttr,
  type TensorData,
  TensorTypeCode,
  tensor,
} from '../../../model/graph';
import type { ParamManifest } from '../../../model/params';
import { createRng } from '../../../model/random';
import { createTrainSession } from '../../../model/session';
import { GRAPH_IO } from '../../../model/train-graph';

/**
 * Whole-model gradient checks for models with Conv, which onnxruntime runs only in float32.
 * Finite differences of a float32 loss are too coarse once ReLU and max-pool kinks are
 * near (which a CNN on MNIST always has), so the reference is a float64 twin of the loss
 * graph: the same nodes in float64, with each Conv spelled as padded strided slices times
 * the weight's kernel taps (MatMul), ops onnxruntime has in float64.
 */
export function float64Twin(graph: Graph): Graph {
  const twin = new Graph(`${graph.name}_float64`, graph.opset);
  const widen = (type: string) => (type === 'float32' ? 'float64' : type);
  for (const input of graph.inputs) twin.addInput(input.name, widen(input.type) as 'float64', input.shape);
  for (const [name, value] of graph.initializers) twin.addInitializer(name, widenTensor(value));
  for (const node of graph.nodes) {
    if (node.opType === 'Conv') convAsSlices(twin, graph, node);
    else twin.addNode({ ...node, attributes: widenAttributes(node) });
  }
  for (const output of graph.outputs)
    twin.addOutput(output.name, widen(output.type) as 'float64', output.shape);
  return twin;
}

function widenTensor(value: TensorData): TensorData {
  return value.type === 'float32'
    ? { type: 'float64', dims: value.dims, data: Float64Array.from(value.data) }
    : value;
}

function widenAttributes(node: GraphNode): Record<string, AttributeValue> {
  const widened: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(node.attributes)) {
    if (value.kind === 'tensor') widened[name] = attr.tensor(widenTensor(value.value));
    else if (
      node.opType === 'Cast' &&
      name === 'to' &&
      value.kind === 'int' &&
      value.value === TensorTypeCode.float32
    ) {
      widened[name] = attr.int(TensorTypeCode.float64);
    } else widened[name] = value;
  }
  return widened;
}

/** 2-D, group-1 Conv with a static input size as sum over taps (i, j) of slice(Xpad) x W[:, :, i, j]. */
function convAsSlices(twin: Graph, source: Graph, node: GraphNode): void {
  const [x, w, b] = node.inputs as [string, string, string | undefined];
  const spatial = (name: string) => source.valueInfo(name)?.shape?.slice(2);
  const [height, width] = spatial(x) ?? [];
  const [kh, kw] = spatial(w) ?? [];
  if (
    intAttr(node, 'group', 1) !== 1 ||
    typeof height !== 'number' ||
    typeof width !== 'number' ||
    typeof kh !== 'number' ||
    typeof kw !== 'number'
  ) {
    throw new Error(`float64Twin handles 2-D group-1 Conv of static size only (node ${node.name})`);
  }
  const [sh = 1, sw = 1] = intsAttr(node, 'strides') ?? [];
  const [dh = 1, dw = 1] = intsAttr(node, 'dilations') ?? [];
  const [pt = 0, pl = 0, pb = 0, pr = 0] = intsAttr(node, 'pads') ?? [];
  const outH = Math.floor((height + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const outW = Math.floor((width + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const int64 = (values: number[]) => twin.constant(tensor.int64(values));
  const padded = twin.op('Pad', [x, int64([0, 0, pt, pl, 0, 0, pb, pr])]);
  const channelsLast = twin.op('Transpose', [padded], { perm: attr.ints([0, 2, 3, 1]) });
  const taps: string[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const [top, left] = [i * dh, j * dw];
      const window = twin.op('Slice', [
        channelsLast,
        int64([top, left]),
        int64([top + (outH - 1) * sh + 1, left + (outW - 1) * sw + 1]),
        int64([1, 2]),
        int64([sh, sw]),
      ]);
      const tap = twin.op('Reshape', [
        twin.op('Slice', [w, int64([i, j]), int64([i + 1, j + 1]), int64([2, 3])]),
        int64([0, -1]),
      ]);
      taps.push(twin.op('MatMul', [window, twin.op('Transpose', [tap])]));
    }
  }
  const summed = twin.op('Transpose', [twin.op('Sum', taps)], { perm: attr.ints([0, 3, 1, 2]) });
  const inputs = b ? [summed, twin.op('Reshape', [b, int64([1, -1, 1, 1])])] : [summed];
  twin.addNode({
    opType: inputs.length > 1 ? 'Add' : 'Identity',
    inputs,
    outputs: [...node.outputs],
    name: node.name,
  });
}

/**
 * max over a few coordinates per parameter of |g32 - numeric| / max(|numeric|, scale), where
 * g32 is the train graph's float32 gradient, `numeric` a float64 central difference (h = 1e-6)
 * of the twin's loss, and `scale` the RMS gradient (float32 accumulation error is relative to
 * the gradient's overall size, not to one tiny entry).
 */
export async function float32GradientError(
  model: { readonly train: Uint8Array; readonly manifest: ParamManifest },
  lossGraph: Graph,
  params: Float32Array,
  batch: Batch,
  coordinatesPerParam = 5,
): Promise<number> {
  const train = await createTrainSession(model);
  const { grad } = await train.step(params, batch);
  await train.release();
  const reference = await ort.InferenceSession.create(float64Twin(lossGraph).toBytes());
  const feeds = float64Feeds(model.manifest, batch);
  const lossAt = async (flat: Float64Array) =>
    Number((await reference.run(feeds(flat)))[GRAPH_IO.loss]?.data[0]);
  const scale = Math.sqrt(grad.reduce((total, g) => total + g * g, 0) / grad.length);
  const rng = createRng(11);
  const base = Float64Array.from(params);
  let worst = 0;
  for (const spec of model.manifest.params) {
    for (let k = 0; k < coordinatesPerParam; k++) {
      const index = spec.offset + rng.int(spec.size);
      const numeric = await centralDifference(lossAt, base, index);
      worst = Math.max(
        worst,
        Math.abs((grad[index] as number) - numeric) / Math.max(Math.abs(numeric), scale),
      );
    }
  }
  await reference.release();
  return worst;
}

/** Feeds of a float64 loss graph: the batch widened to float64 and each parameter a view of `flat`. */
export function float64Feeds(
  manifest: ParamManifest,
  batch: Batch,
): (flat: Float64Array) => Record<string, ort.Tensor> {
  const features = batch.x.length / batch.n;
  const x = new ort.Tensor('float64', Float64Array.from(batch.x), [batch.n, features]);
  const y =
    batch.y instanceof Float32Array
      ? new ort.Tensor('float64', Float64Array.from(batch.y), [batch.n])
      : new ort.Tensor('int64', BigInt64Array.from(batch.y, BigInt), [batch.n]);
  return (flat) => {
    const feeds: Record<string, ort.Tensor> = { [GRAPH_IO.x]: x, [GRAPH_IO.y]: y };
    for (const spec of manifest.params) {
      feeds[spec.name] = new ort.Tensor(
        'float64',
        flat.subarray(spec.offset, spec.offset + spec.size),
        spec.shape,
      );
    }
    return feeds;
  };
}

/** d loss / d flat[index] at `base` by a central difference with h = 1e-6. */
export async function centralDifference(
  lossAt: (flat: Float64Array) => Promise<number>,
  base: Float64Array,
  index: number,
): Promise<number> {
  const step = 1e-6;
  const shifted = Float64Array.from(base);
  shifted[index] = (base[index] as number) + step;
  const up = await lossAt(shifted);
  shifted[index] = (base[index] as number) - step;
  return (up - (await lossAt(shifted))) / (2 * step);
}
