import { ShapeMismatchError } from './errors';
import { Graph } from './graph';
import { checkFlatSize, type ParamManifest, paramView } from './params';

/**
 * A plain ONNX inference model: the forward graph with the trained parameters baked in as
 * initializers, so it runs anywhere with only `x` as input (onnxruntime, PyTorch's onnx2torch,
 * Netron...).
 */
export function exportInferenceModel(
  model: { readonly forward: Uint8Array; readonly manifest: ParamManifest },
  params: Float32Array,
): Uint8Array {
  checkFlatSize(model.manifest, params);
  const forward = Graph.fromBytes(model.forward);
  const specs = new Map(model.manifest.params.map((spec) => [spec.name, spec]));
  const baked = new Graph(forward.name, forward.opset);
  for (const input of forward.inputs) {
    const spec = specs.get(input.name);
    if (spec === undefined) baked.addInput(input.name, input.type, input.shape);
    else
      baked.addInitializer(spec.name, {
        type: 'float32',
        dims: spec.shape,
        data: paramView(params, spec).slice(),
      });
  }
  for (const name of specs.keys()) {
    if (!baked.initializers.has(name))
      throw new ShapeMismatchError(`parameter '${name}' is not an input of the forward graph`);
  }
  for (const [name, value] of forward.initializers) baked.addInitializer(name, value);
  for (const node of forward.nodes) baked.addNode(node);
  for (const output of forward.outputs) baked.addOutput(output.name, output.type, output.shape);
  return baked.toBytes();
}
