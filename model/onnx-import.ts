import { gradientRules } from './autodiff';
import { ModelConfigError, type UnsupportedOp, UnsupportedOpError } from './errors';
import { attr, type Dim, Graph, type GraphNode, TensorTypeCode, tensor, type ValueInfo } from './graph';
import { createManifest, paramView } from './params';
import {
  buildLossGraph,
  buildTrainGraph,
  forwardOutputName,
  GRAPH_IO,
  isReservedName,
  type LabelKind,
  type LossKind,
} from './train-graph';
import type { BuiltModel } from './zoo';

/** A user's model, e.g. exported by `torch.onnx.export`, and how to train it. */
export interface OnnxModelOptions {
  /** The graph input fed with dataset rows; may be omitted when the graph has one input. */
  readonly input?: string;
  /** The tensor the loss is applied to (logits or prediction); may be omitted when the graph has one output. */
  readonly output?: string;
  readonly loss: LossKind;
}

/** Opsets the gradient rules are written for; see autodiff/differentiate.ts. */
export const ONNX_OPSETS = { min: 13, max: 21 } as const;

/**
 * An ONNX model checked and ready to build. Trainable parameters are its float32 initializers
 * (rank >= 1) that reach the output through differentiable inputs; scalars, integer tensors,
 * BatchNormalization running statistics and anything used only for shapes stay constant.
 */
export interface ImportedOnnxModel {
  readonly input: string;
  readonly output: string;
  /** One dataset row as the model sees it, e.g. [1, 28, 28]; features = the product. */
  readonly rowShape: readonly number[];
  readonly features: number;
  /** Values per row of the output, when the graph declares it. */
  readonly outputWidth?: number;
  readonly loss: LossKind;
  /**
   * What the dataset's labels must be: class indices for cross-entropy and for MSE over
   * several outputs (against one-hot vectors), regression targets for MSE over one output.
   */
  readonly labels: LabelKind;
  readonly trainable: readonly string[];
  /** Builds forward and train graphs for a dataset with `features` values per row and `classes` classes (0 for targets). */
  build(data: { readonly features: number; readonly classes: number }): BuiltModel;
}

/**
 * Reads an ONNX model and checks everything that does not depend on the dataset: opset,
 * input and output, that every op between the parameters and the output has a gradient rule
 * (an UnsupportedOpError lists each one that does not, with its node).
 */
export function importOnnxModel(bytes: Uint8Array, options: OnnxModelOptions): ImportedOnnxModel {
  const source = Graph.fromBytes(bytes);
  if (source.opset < ONNX_OPSETS.min || source.opset > ONNX_OPSETS.max) {
    throw new ModelConfigError(
      `the model uses ONNX opset ${source.opset}; kasync trains opsets ${ONNX_OPSETS.min} to ${ONNX_OPSETS.max} (re-export with e.g. opset_version=17)`,
    );
  }
  const input = pickOne('input', options.input, source.inputs, source);
  const output = pickOne('output', options.output, source.outputs, source);
  if (!isFloatOrIndex(input.type)) {
    throw new ModelConfigError(
      `input '${input.name}' is ${input.type}; kasync feeds float32 rows (or integer ids)`,
    );
  }
  const rowShape = rowShapeOf(input);
  const outputWidth = widthOf(output, options.loss);
  const labels: LabelKind = options.loss === 'mse' && outputWidth === 1 ? 'targets' : 'classes';

  const nodes = nodesFeeding(source, output.name);
  const otherInputs = source.inputs
    .filter((candidate) => candidate.name !== input.name)
    .filter((candidate) => nodes.some((node) => node.inputs.includes(candidate.name)));
  if (otherInputs.length > 0) {
    throw new ModelConfigError(
      `the model has inputs besides '${input.name}' (${otherInputs.map((other) => other.name).join(', ')}); kasync feeds one`,
    );
  }
  const foreign = nodes.filter((node) => node.domain !== '');
  if (foreign.length > 0) {
    throw new UnsupportedOpError(
      foreign.map(
        (node): UnsupportedOp => ({
          opType: `${node.domain}.${node.opType}`,
          nodeName: node.name,
          reason: 'only the default ONNX domain is supported',
        }),
      ),
    );
  }
  const trainable = trainableInitializers(source, nodes, output.name);
  if (trainable.length === 0) {
    throw new ModelConfigError(
      `no float32 initializer of the model reaches output '${output.name}': nothing to train`,
    );
  }
  const features = rowShape.reduce((a, b) => a * b, 1);
  const imported: ImportedOnnxModel = {
    input: input.name,
    output: output.name,
    rowShape,
    features,
    outputWidth,
    loss: options.loss,
    labels,
    trainable,
    build: (data) => buildImported(source, imported, nodes, data),
  };
  return imported;
}

function pickOne(
  what: 'input' | 'output',
  wanted: string | undefined,
  candidates: readonly ValueInfo[],
  graph: Graph,
) {
  if (wanted !== undefined) {
    const found =
      candidates.find((candidate) => candidate.name === wanted) ??
      (what === 'output' ? graph.valueInfo(wanted) : undefined);
    if (found !== undefined) return found;
    if (what === 'output' && graph.nodes.some((node) => node.outputs.includes(wanted))) {
      return { name: wanted, type: 'float32' } satisfies ValueInfo;
    }
    const names = candidates.map((candidate) => `'${candidate.name}'`).join(', ');
    throw new ModelConfigError(`the model has no ${what} '${wanted}' (graph ${what}s: ${names || 'none'})`);
  }
  const only = candidates[0];
  if (candidates.length !== 1 || only === undefined) {
    const names = candidates.map((candidate) => `'${candidate.name}'`).join(', ');
    throw new ModelConfigError(
      `the model has ${candidates.length} ${what}s (${names}); name the one to use in model.${what}`,
    );
  }
  return only;
}

function isFloatOrIndex(type: string): boolean {
  return ['float32', 'float64', 'int32', 'int64'].includes(type);
}

/** Per-row dims: every dim after the batch dim must be a known size, and the batch dim free. */
function rowShapeOf(input: ValueInfo): number[] {
  const shape = input.shape;
  if (shape === undefined || shape.length === 0) {
    throw new ModelConfigError(
      `input '${input.name}' has no declared shape [batch, ...]; kasync reshapes dataset rows to it`,
    );
  }
  const [batch, ...row] = shape;
  if (typeof batch === 'number' && batch > 0) {
    throw new ModelConfigError(
      `input '${input.name}' has a fixed batch size of ${batch}; export with a dynamic batch axis (torch.onnx.export dynamic_axes or dynamic_shapes)`,
    );
  }
  if (!row.every((dim): dim is number => typeof dim === 'number' && dim > 0)) {
    throw new ModelConfigError(
      `input '${input.name}' has shape [${shape.map(describeDim).join(', ')}]; every dim but the batch dim must be a fixed size`,
    );
  }
  return row;
}

function describeDim(dim: Dim): string {
  return dim === null ? '?' : String(dim);
}

function widthOf(output: ValueInfo, loss: LossKind): number | undefined {
  const shape = output.shape;
  if (shape !== undefined && shape.length > 2) {
    throw new ModelConfigError(
      `output '${output.name}' has rank ${shape.length}; kasync trains outputs [batch, classes] or [batch, values]`,
    );
  }
  const width = shape === undefined ? undefined : shape.length === 1 ? 1 : shape[1];
  const known = typeof width === 'number' ? width : undefined;
  if (loss === 'mse' && known === undefined) {
    throw new ModelConfigError(
      `output '${output.name}' has no declared width; mse needs it to tell targets from classes`,
    );
  }
  if (loss === 'cross-entropy' && shape?.length === 1) {
    throw new ModelConfigError(
      `output '${output.name}' is one value per row; cross-entropy needs [batch, classes] logits`,
    );
  }
  return known;
}

/** The nodes the output depends on, in graph order: the rest is never run or differentiated. */
function nodesFeeding(graph: Graph, output: string): GraphNode[] {
  const needed = new Set([output]);
  const kept: GraphNode[] = [];
  for (const node of [...graph.nodes].reverse()) {
    if (!node.outputs.some((name) => needed.has(name))) continue;
    kept.push(node);
    for (const name of node.inputs) if (name !== '') needed.add(name);
  }
  return kept.reverse();
}

/** Float32 initializers of rank >= 1 from which a gradient can flow to the output. */
function trainableInitializers(graph: Graph, nodes: readonly GraphNode[], output: string): string[] {
  const flowsToOutput = new Set([output]);
  for (const node of [...nodes].reverse()) {
    if (!node.outputs.some((name) => flowsToOutput.has(name))) continue;
    const rule = gradientRules.get(node.opType);
    const declared = rule?.differentiableInputs;
    const indices =
      declared === undefined
        ? node.inputs.map((_, index) => index) // no rule: differentiate() will name the op
        : typeof declared === 'function'
          ? declared(node)
          : declared;
    for (const index of indices) {
      const name = node.inputs[index];
      if (name) flowsToOutput.add(name);
    }
  }
  return [...graph.initializers]
    .filter(([name, value]) => flowsToOutput.has(name) && value.type === 'float32' && value.dims.length > 0)
    .map(([name]) => name);
}

/**
 * The forward graph: `x` [N, features] reshaped (and cast, for integer ids) to the model's
 * input, the model's nodes, and the chosen output as `logits` or `prediction`. Trainable
 * initializers become graph inputs fed from the flat parameter vector; the other initializers
 * stay constants.
 */
function buildImported(
  source: Graph,
  imported: ImportedOnnxModel,
  nodes: readonly GraphNode[],
  data: { readonly features: number; readonly classes: number },
): BuiltModel {
  if (data.features !== imported.features) {
    throw new ModelConfigError(
      `the model's input '${imported.input}' takes [${imported.rowShape.join(', ')}] = ${imported.features} values per row; the dataset has ${data.features} features`,
    );
  }
  if (
    imported.labels === 'classes' &&
    imported.outputWidth !== undefined &&
    data.classes > imported.outputWidth
  ) {
    throw new ModelConfigError(
      `the dataset has ${data.classes} classes but output '${imported.output}' has ${imported.outputWidth} values per row`,
    );
  }
  const rename = renamer(source, nodes);
  const forward = new Graph(source.name, source.opset);
  forward.reserveNames(nodes.flatMap((node) => [...node.inputs, ...node.outputs].map(rename)));
  forward.addInput(GRAPH_IO.x, 'float32', ['N', imported.features]);
  const trainable = new Set(imported.trainable);
  const params = imported.trainable.map((name) => {
    const value = source.initializers.get(name);
    return { name: rename(name), shape: value?.dims ?? [] };
  });
  for (const param of params) forward.addInput(param.name, 'float32', param.shape);
  const used = new Set(nodes.flatMap((node) => node.inputs));
  for (const [name, value] of source.initializers) {
    if (!trainable.has(name) && used.has(name)) forward.addInitializer(rename(name), value);
  }

  const inputInfo = source.inputs.find((candidate) => candidate.name === imported.input) as ValueInfo;
  const rowsShape = forward.constant(tensor.int64([-1, ...imported.rowShape]), 'kasync/input_shape');
  const modelInput = rename(imported.input);
  if (inputInfo.type === 'float32') {
    forward.addNode({
      opType: 'Reshape',
      inputs: [GRAPH_IO.x, rowsShape],
      outputs: [modelInput],
      name: 'kasync/input',
    });
  } else {
    const rows = forward.op('Reshape', [GRAPH_IO.x, rowsShape], undefined, { name: 'kasync/input' });
    forward.addNode({
      opType: 'Cast',
      inputs: [rows],
      outputs: [modelInput],
      attributes: { to: attr.int(TensorTypeCode[inputInfo.type]) },
      name: 'kasync/input_cast',
    });
  }
  forward.declareValueInfo(modelInput, inputInfo.type, ['N', ...imported.rowShape]);
  for (const node of nodes) {
    forward.addNode({
      ...node,
      name: forward.freshName(node.name),
      inputs: node.inputs.map(rename),
      outputs: node.outputs.map(rename),
    });
  }
  for (const node of nodes) {
    for (const name of node.outputs) {
      const info = source.valueInfo(name);
      if (info !== undefined) forward.declareValueInfo(rename(name), info.type, info.shape);
    }
  }
  const outputName = forwardOutputName(imported.loss);
  forward.addNode({
    opType: 'Identity',
    inputs: [rename(imported.output)],
    outputs: [outputName],
    name: 'kasync/output',
  });
  forward.addOutput(
    outputName,
    'float32',
    imported.outputWidth === undefined ? undefined : ['N', imported.outputWidth],
  );

  const manifest = createManifest(params);
  const loss = buildLossGraph(forward, { loss: imported.loss, labels: imported.labels });
  const train = buildTrainGraph(loss, { manifest });
  const initial = new Float32Array(manifest.totalSize);
  manifest.params.forEach((spec, i) => {
    const value = source.initializers.get(imported.trainable[i] as string);
    paramView(initial, spec).set(value?.data as Float32Array);
  });
  return {
    features: data.features,
    classes: imported.labels === 'targets' ? 0 : (imported.outputWidth ?? data.classes),
    manifest,
    forward: forward.toBytes(),
    train: train.toBytes(),
    initParams: () => initial.slice(),
  };
}

/** Maps model tensor names that clash with kasync's reserved names to unused ones. */
function renamer(source: Graph, nodes: readonly GraphNode[]): (name: string) => string {
  const all = new Set([
    ...source.inputs.map((input) => input.name),
    ...source.initializers.keys(),
    ...nodes.flatMap((node) => [...node.inputs, ...node.outputs]),
  ]);
  const renamed = new Map<string, string>();
  for (const name of all) {
    if (!isReservedName(name)) continue;
    let candidate = `model.${name}`;
    for (let i = 1; all.has(candidate); i++) candidate = `model.${name}_${i}`;
    renamed.set(name, candidate);
    all.add(candidate);
  }
  return (name) => renamed.get(name) ?? name;
}
