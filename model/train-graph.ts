import { differentiate } from './autodiff';
import { ShapeMismatchError } from './errors';
import { attr, type FloatType, type Graph, TensorTypeCode, tensor } from './graph';
import type { ParamManifest } from './params';

/** Tensor names shared by every model graph kasync builds or runs. */
export const GRAPH_IO = {
  /** Features, float32 [N, features]: one dataset row per sample, reshaped inside the graph. */
  x: 'x',
  /** Labels: int64 class indices [N], or float32 regression targets [N]. */
  y: 'y',
  /** Forward output of a cross-entropy model, float32 [N, classes]. */
  logits: 'logits',
  /** Forward output of a mean-squared-error model, float32 [N, outputs] or [N]. */
  prediction: 'prediction',
  /** Train output: scalar float32, mean loss over the batch. */
  loss: 'loss',
  /**
   * Prefix of the train outputs `grad/{parameter}`, one per parameter in its own shape. A
   * session binds them to views of one flat vector (see gradientOutput), so onnxruntime
   * writes the flat gradient in place, with no concatenation in the graph and no copy out.
   */
  grad: 'grad',
} as const;

/** The train graph's output holding the gradient of `parameter`. */
export function gradientOutput(parameter: string): string {
  return `${GRAPH_IO.grad}/${parameter}`;
}

/** Whether a model's tensor name clashes with a name kasync's graphs give their inputs and outputs. */
export function isReservedName(name: string): boolean {
  return (Object.values(GRAPH_IO) as string[]).includes(name) || name.startsWith(`${GRAPH_IO.grad}/`);
}

export type LossKind = 'cross-entropy' | 'mse';

/**
 * What a dataset's label column means: class indices (cross-entropy, or mean squared error
 * against their one-hot vectors) or real-valued regression targets.
 */
export type LabelKind = 'classes' | 'targets';

/** The forward output's name for a loss: `logits` for cross-entropy, `prediction` for MSE. */
export function forwardOutputName(loss: LossKind): string {
  return loss === 'cross-entropy' ? GRAPH_IO.logits : GRAPH_IO.prediction;
}

/**
 * The forward graph plus input `y` and the scalar batch-mean `loss`:
 * - cross-entropy: SoftmaxCrossEntropyLoss of `logits` [N, C] against class indices;
 * - mse against targets: mean of (prediction - y)^2, y reshaped to the prediction's shape;
 * - mse against classes: mean over all N * C entries of (prediction - onehot(y))^2, as
 *   PyTorch's MSELoss averages.
 */
export function buildLossGraph(
  forward: Graph,
  options: { readonly loss: LossKind; readonly labels: LabelKind; readonly floatType?: FloatType },
): Graph {
  const floatType = options.floatType ?? 'float32';
  const output = forwardOutputName(options.loss);
  const graph = forward.clone(`${forward.name}_loss`);
  const targets = options.labels === 'targets';
  if (targets && options.loss === 'cross-entropy') {
    throw new ShapeMismatchError('cross-entropy needs class labels, not regression targets');
  }
  graph.addInput(GRAPH_IO.y, targets ? floatType : 'int64', ['N']);
  if (options.loss === 'cross-entropy') {
    graph.addNode({
      opType: 'SoftmaxCrossEntropyLoss',
      inputs: [output, GRAPH_IO.y],
      // The log-probabilities output lets the gradient reuse them instead of recomputing LogSoftmax.
      outputs: [GRAPH_IO.loss, graph.freshName('log_prob')],
      attributes: { reduction: attr.string('mean') },
      name: 'cross_entropy',
    });
  } else {
    const reference = targets
      ? graph.op('Reshape', [GRAPH_IO.y, graph.op('Shape', [output])], undefined, { name: 'mse/targets' })
      : oneHotLabels(graph, output, floatType);
    const error = graph.op('Sub', [output, reference], undefined, { name: 'mse/error' });
    const squared = graph.op('Mul', [error, error], undefined, { name: 'mse/squared' });
    graph.addNode({
      opType: 'ReduceMean',
      inputs: [squared],
      outputs: [GRAPH_IO.loss],
      attributes: { keepdims: attr.int(0) },
      name: 'mse',
    });
  }
  graph.clearOutputs();
  graph.addOutput(GRAPH_IO.loss, floatType, []);
  return graph;
}

/** One-hot float [N, C] of the int64 labels `y`, C read from the scores (OneHot takes float32 values only). */
function oneHotLabels(graph: Graph, scores: string, floatType: FloatType): string {
  const name = { name: 'mse/one_hot' };
  const classCount = graph.op(
    'Gather',
    [graph.op('Shape', [scores], undefined, name), graph.constant(tensor.int64([1], []))],
    { axis: attr.int(0) },
    name,
  );
  const offOn = graph.constant(tensor.float('float32', [0, 1], [2]));
  const encoded = graph.op('OneHot', [GRAPH_IO.y, classCount, offOn], { axis: attr.int(-1) }, name);
  return floatType === 'float32'
    ? encoded
    : graph.op('Cast', [encoded], { to: attr.int(TensorTypeCode[floatType]) }, name);
}

/**
 * Differentiates `lossGraph` (parameters as float32 inputs, a scalar `loss` tensor) and
 * returns the train graph: outputs `loss`, then `grad/{parameter}` in manifest order.
 * Dropout nodes are switched to training mode first, so every step draws a new mask.
 */
export function buildTrainGraph(lossGraph: Graph, options: { readonly manifest: ParamManifest }): Graph {
  const { manifest } = options;
  for (const spec of manifest.params) {
    const input = lossGraph.inputs.find((candidate) => candidate.name === spec.name);
    if (input?.type !== 'float32' || input.shape?.join(',') !== spec.shape.join(',')) {
      throw new ShapeMismatchError(
        `parameter '${spec.name}' must be a float32 graph input of shape [${spec.shape.join(', ')}]`,
      );
    }
  }
  // differentiate's outputs are already the train graph's: `loss`, then `grad/{parameter}`.
  return differentiate(withDropoutTraining(lossGraph), {
    loss: GRAPH_IO.loss,
    params: manifest.params.map((spec) => spec.name),
    gradientName: gradientOutput,
  }).graph;
}

/**
 * A copy of `graph` whose Dropout nodes run in training mode and output their mask (which
 * the gradient rule multiplies by). Exported forward graphs keep Dropout in inference mode,
 * where it is the identity.
 */
function withDropoutTraining(graph: Graph): Graph {
  const dropouts = graph.nodes.filter((node) => node.opType === 'Dropout' && node.domain === '');
  if (dropouts.length === 0) return graph;
  const copy = graph.clone();
  const enabled = copy.constant({ type: 'bool', dims: [], data: Uint8Array.of(1) }, 'dropout_training');
  for (const node of dropouts) {
    const [data, ratio] = node.inputs as [string, string | undefined];
    const output = node.outputs[0] as string;
    copy.replaceNode(node.name, {
      opType: 'Dropout',
      inputs: [data, ratio ?? '', enabled],
      outputs: [output, node.outputs[1] || copy.freshName(`${output}_mask`)],
      attributes: node.attributes,
    });
  }
  return copy;
}
