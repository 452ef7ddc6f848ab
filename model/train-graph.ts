import { differentiate } from './autodiff';
import { ShapeMismatchError } from './errors';
import { attr, type Graph, tensor } from './graph';
import type { ParamManifest } from './params';

/** Tensor names shared by every model graph kasync builds or runs. */
export const GRAPH_IO = {
  /** Features, float32 [N, features]. */
  x: 'x',
  /** Class labels, int64 [N]. */
  y: 'y',
  /** Forward output, float32 [N, classes]. */
  logits: 'logits',
  /** Train output: scalar float32, mean loss over the batch. */
  loss: 'loss',
  /** Train output: float32 [totalSize], the gradient flattened in manifest order. */
  grad: 'grad',
} as const;

/**
 * Differentiates `lossGraph` (parameters as float32 inputs, a scalar `loss` tensor) and
 * returns the train graph: outputs `loss` and `grad`, the concatenation of the flattened
 * per-parameter gradients in manifest order, so a learner gets one flat vector per step.
 */
export function buildTrainGraph(
  lossGraph: Graph,
  options: { readonly loss: string; readonly manifest: ParamManifest },
): Graph {
  const { manifest } = options;
  for (const spec of manifest.params) {
    const input = lossGraph.inputs.find((candidate) => candidate.name === spec.name);
    if (input?.type !== 'float32' || input.shape?.join(',') !== spec.shape.join(',')) {
      throw new ShapeMismatchError(
        `parameter '${spec.name}' must be a float32 graph input of shape [${spec.shape.join(', ')}]`,
      );
    }
  }
  const { graph, gradients } = differentiate(lossGraph, {
    loss: options.loss,
    params: manifest.params.map((spec) => spec.name),
  });
  graph.clearOutputs();
  const flatten = graph.constant(tensor.int64([-1]));
  const flatParts = manifest.params.map((spec) =>
    graph.op('Reshape', [gradients.get(spec.name) as string, flatten], undefined, {
      name: `grad/flat/${spec.name}`,
    }),
  );
  graph.addNode({
    opType: 'Concat',
    inputs: flatParts,
    outputs: [GRAPH_IO.grad],
    attributes: { axis: attr.int(0) },
  });
  if (options.loss !== GRAPH_IO.loss) {
    graph.addNode({ opType: 'Identity', inputs: [options.loss], outputs: [GRAPH_IO.loss] });
  }
  graph.addOutput(GRAPH_IO.loss, 'float32', []);
  graph.addOutput(GRAPH_IO.grad, 'float32', [manifest.totalSize]);
  return graph;
}
