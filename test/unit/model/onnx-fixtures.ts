import { attr, Graph, tensor } from '../../../model/graph';
import { createRng } from '../../../model/random';

/**
 * Small ONNX models written the way `torch.onnx.export` writes them: weights as initializers
 * named after the module tree, a dynamic batch axis, '/module/Op' node names, flatten as
 * Shape -> Gather -> Unsqueeze -> Concat -> Reshape, BatchNormalization in inference form.
 * Nothing is downloaded; each test builds the file it needs.
 */

/** Seeded weights: the same fixture options always give the same file. */
const weightsFrom = (seed: number) => {
  const rng = createRng(seed);
  return (dims: readonly number[], scale: number) =>
    tensor.float(
      'float32',
      Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale),
      dims,
    );
};

export interface CnnExportOptions {
  readonly opset?: number;
  readonly dropout?: number;
  /** Name of the graph input (PyTorch's default is 'input' or the argument name). */
  readonly inputName?: string;
  readonly outputName?: string;
  /** When set, the model ends in LogSoftmax, as a module returning F.log_softmax does. */
  readonly logSoftmax?: boolean;
  /** Tanh instead of ReLU: a smooth loss for finite differences of the whole model. */
  readonly smooth?: boolean;
}

/** Conv(1->4, 3x3, pad 1) -> BatchNorm -> ReLU (or Tanh) -> MaxPool 2 -> [Dropout] -> flatten -> Linear(784 -> 10). */
export function exportedCnn(options: CnnExportOptions = {}): Uint8Array {
  const opset = options.opset ?? 17;
  const input = options.inputName ?? 'input';
  const weights = weightsFrom(1);
  const graph = new Graph('main_graph', opset);
  graph.addInput(input, 'float32', ['batch_size', 1, 28, 28]);
  graph.addInitializer('conv1.weight', weights([4, 1, 3, 3], 0.4));
  graph.addInitializer('conv1.bias', weights([4], 0.1));
  graph.addInitializer('bn1.weight', tensor.float('float32', [1, 1.2, 0.8, 1], [4]));
  graph.addInitializer('bn1.bias', tensor.float('float32', [0, 0.1, -0.1, 0], [4]));
  graph.addInitializer('bn1.running_mean', tensor.float('float32', [0.1, 0, 0.05, -0.1], [4]));
  graph.addInitializer('bn1.running_var', tensor.float('float32', [0.5, 1, 0.8, 1.5], [4]));
  graph.addInitializer('fc.weight', weights([10, 4 * 14 * 14], 0.05));
  graph.addInitializer('fc.bias', weights([10], 0.01));
  const node = (name: string, opType: string, inputs: string[], attributes = {}) => {
    const output = `${name}_output_0`;
    graph.addNode({ opType, inputs, outputs: [output], attributes, name });
    return output;
  };
  const conv = node('/conv1/Conv', 'Conv', [input, 'conv1.weight', 'conv1.bias'], {
    kernel_shape: attr.ints([3, 3]),
    pads: attr.ints([1, 1, 1, 1]),
  });
  const bn = node('/bn1/BatchNormalization', 'BatchNormalization', [
    conv,
    'bn1.weight',
    'bn1.bias',
    'bn1.running_mean',
    'bn1.running_var',
  ]);
  const relu = options.smooth ? node('/act/Tanh', 'Tanh', [bn]) : node('/relu/Relu', 'Relu', [bn]);
  let current = node('/pool/MaxPool', 'MaxPool', [relu], {
    kernel_shape: attr.ints([2, 2]),
    strides: attr.ints([2, 2]),
  });
  if (options.dropout !== undefined) {
    const ratio = graph.addInitializer('/dropout/ratio', tensor.float('float32', [options.dropout], []));
    current = node('/dropout/Dropout', 'Dropout', [current, ratio]);
  }
  const constant = (name: string, values: number[], dims?: number[]) =>
    node(name, 'Constant', [], { value: attr.tensor(tensor.int64(values, dims)) });
  const batch = node(
    '/Gather',
    'Gather',
    [node('/Shape', 'Shape', [current]), constant('/Constant', [0], [])],
    {
      axis: attr.int(0),
    },
  );
  const flatShape = node(
    '/Concat',
    'Concat',
    [node('/Unsqueeze', 'Unsqueeze', [batch, constant('/Constant_1', [0])]), constant('/Constant_2', [-1])],
    { axis: attr.int(0) },
  );
  const flat = node('/Reshape', 'Reshape', [current, flatShape]);
  const logits = node('/fc/Gemm', 'Gemm', [flat, 'fc.weight', 'fc.bias'], { transB: attr.int(1) });
  const output = options.outputName ?? 'output';
  graph.addNode({
    opType: options.logSoftmax ? 'LogSoftmax' : 'Identity',
    inputs: [logits],
    outputs: [output],
    attributes: options.logSoftmax ? { axis: attr.int(1) } : {},
    name: options.logSoftmax ? '/LogSoftmax' : '/Identity',
  });
  graph.addOutput(output, 'float32', ['batch_size', 10]);
  return graph.toBytes();
}

/**
 * Token ids [batch, 4] (int64) -> Embedding(20, 3) -> mean over tokens -> Linear(3 -> outputs),
 * as an nn.Embedding bag exports. With one output it is a regression model.
 */
export function exportedEmbeddingModel(outputs: number, opset = 17): Uint8Array {
  const weights = weightsFrom(2);
  const graph = new Graph('main_graph', opset);
  graph.addInput('tokens', 'int64', ['batch', 4]);
  graph.addInitializer('embedding.weight', weights([20, 3], 0.5));
  graph.addInitializer('head.weight', weights([outputs, 3], 0.5));
  graph.addInitializer('head.bias', weights([outputs], 0.1));
  const embedded = graph.op('Gather', ['embedding.weight', 'tokens'], undefined, {
    name: '/embedding/Gather',
  });
  const pooled =
    opset >= 18
      ? graph.op('ReduceMean', [embedded, graph.constant(tensor.int64([1]))], { keepdims: attr.int(0) })
      : graph.op('ReduceMean', [embedded], { axes: attr.ints([1]), keepdims: attr.int(0) });
  graph.addNode({
    opType: 'Gemm',
    inputs: [pooled, 'head.weight', 'head.bias'],
    outputs: ['prediction'],
    attributes: { transB: attr.int(1) },
    name: '/head/Gemm',
  });
  graph.addOutput('prediction', 'float32', ['batch', outputs]);
  return graph.toBytes();
}
