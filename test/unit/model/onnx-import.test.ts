/** @jest-environment ./test/unit/model/ort-environment.ts */

import * as ort from 'onnxruntime-node';
import { type Dataset, loadBuiltinDataset, type Split, sampleBatch } from '../../../model/datasets';
import { ModelConfigError } from '../../../model/errors';
import { exportInferenceModel } from '../../../model/export';
import { attr, Graph, tensor } from '../../../model/graph';
import { importOnnxModel } from '../../../model/onnx-import';
import { createRng } from '../../../model/random';
import { createEvalSession, createTrainSession } from '../../../model/session';
import { buildLossGraph, GRAPH_IO, gradientOutput } from '../../../model/train-graph';
import type { BuiltModel } from '../../../model/zoo';
import { float32GradientError } from './float64-reference';
import { exportedCnn, exportedEmbeddingModel } from './onnx-fixtures';
import { unsupportedOps } from './unsupported-ops';

const mnist = () => loadBuiltinDataset('mnist');
/** float32 gradients against float64 differences agree to ~1e-6 of the gradient scale; a wrong rule is off by O(1). */
const TOLERANCE = 1e-4;

/** The model's loss graph, rebuilt from its forward graph, for the float64 reference. */
const lossGraphOf = (model: BuiltModel, loss: 'cross-entropy' | 'mse', labels: 'classes' | 'targets') =>
  buildLossGraph(Graph.fromBytes(model.forward), { loss, labels });

async function sgd(model: BuiltModel, train: Split, steps: number, learningRate: number) {
  const session = await createTrainSession(model);
  const params = model.initParams(1);
  const rng = createRng(5);
  for (let step = 0; step < steps; step++) {
    const { grad } = await session.step(params, sampleBatch(train, 32, rng));
    for (let i = 0; i < params.length; i++)
      params[i] = (params[i] as number) - learningRate * (grad[i] as number);
  }
  await session.release();
  return params;
}

async function evaluate(model: BuiltModel, params: Float32Array, data: Split) {
  const session = await createEvalSession(model);
  const result = await session.evaluate(params, data);
  await session.release();
  return result;
}

describe('a PyTorch-style exported CNN', () => {
  test.each([13, 17, 21])(
    'at opset %i: trains its weights, keeps BatchNorm statistics frozen',
    async (opset) => {
      const imported = importOnnxModel(exportedCnn({ opset }), { loss: 'cross-entropy' });
      expect(imported).toMatchObject({
        input: 'input',
        output: 'output',
        rowShape: [1, 28, 28],
        features: 784,
      });
      expect(imported.labels).toBe('classes');
      expect(imported.trainable).toEqual([
        'conv1.weight',
        'conv1.bias',
        'bn1.weight',
        'bn1.bias',
        'fc.weight',
        'fc.bias',
      ]);
      const model = imported.build(mnist());
      expect(model.manifest.totalSize).toBe(36 + 4 + 4 + 4 + 7840 + 10);

      const params = await sgd(model, mnist().train, 150, 0.05);
      const before = await evaluate(model, model.initParams(0), mnist().test);
      const after = await evaluate(model, params, mnist().test);
      expect(after.accuracy).toBeGreaterThan(Math.max(0.8, before.accuracy + 0.3));
    },
  );

  test('whole-model gradients match float64 finite differences', async () => {
    const model = importOnnxModel(exportedCnn(), { loss: 'cross-entropy' }).build(mnist());
    const batch = sampleBatch(mnist().train, 8, createRng(3));
    const error = await float32GradientError(
      model,
      lossGraphOf(model, 'cross-entropy', 'classes'),
      model.initParams(0),
      batch,
    );
    expect(error).toBeLessThan(TOLERANCE);
  });

  test('Dropout draws a new mask every train step and is the identity in the forward graph', async () => {
    const model = importOnnxModel(exportedCnn({ dropout: 0.5 }), { loss: 'cross-entropy' }).build(mnist());
    const params = model.initParams(0);
    const batch = sampleBatch(mnist().train, 8, createRng(1));
    const train = await createTrainSession(model);
    const [first, second] = [await train.step(params, batch), await train.step(params, batch)];
    await train.release();
    expect(first.grad).not.toEqual(second.grad);
    const noDropout = importOnnxModel(exportedCnn(), { loss: 'cross-entropy' }).build(mnist());
    const [withMask, without] = await Promise.all([
      evaluate(model, params, mnist().test),
      evaluate(noDropout, params, mnist().test),
    ]);
    expect(withMask.loss).toBeCloseTo(without.loss, 5);
  });

  test('a LogSoftmax output trains with cross-entropy like logits do', async () => {
    const logits = importOnnxModel(exportedCnn(), { loss: 'cross-entropy' }).build(mnist());
    const logProbabilities = importOnnxModel(exportedCnn({ logSoftmax: true }), {
      loss: 'cross-entropy',
    }).build(mnist());
    const batch = sampleBatch(mnist().train, 8, createRng(2));
    const step = async (model: BuiltModel) => {
      const session = await createTrainSession(model);
      const result = await session.step(model.initParams(0), batch);
      await session.release();
      return result;
    };
    const [a, b] = [await step(logits), await step(logProbabilities)];
    expect(b.loss).toBeCloseTo(a.loss, 5);
    const largest = Math.max(...Array.from(a.grad, Math.abs));
    b.grad.forEach((value, i) => {
      expect(Math.abs(value - (a.grad[i] as number))).toBeLessThan(1e-5 * largest);
    });
  });

  test('tensor names kasync reserves (x, logits, ...) are renamed inside the job graphs', async () => {
    const imported = importOnnxModel(exportedCnn({ inputName: 'x', outputName: 'logits' }), {
      input: 'x',
      output: 'logits',
      loss: 'cross-entropy',
    });
    const model = imported.build(mnist());
    const forward = Graph.fromBytes(model.forward);
    expect(forward.inputs[0]).toMatchObject({ name: GRAPH_IO.x, shape: ['N', 784] });
    expect(forward.outputs.map((output) => output.name)).toEqual([GRAPH_IO.logits]);
    const result = await evaluate(model, model.initParams(0), mnist().test);
    expect(result.n).toBe(2000);
  });

  test("names under the gradient outputs' prefix (grad/...) are renamed too", async () => {
    const data = loadBuiltinDataset('synthetic');
    const [features, classes] = [data.features, data.classes];
    const graph = new Graph('clash', 17);
    graph.addInput('input', 'float32', ['N', features]);
    graph.addInitializer(
      'w',
      tensor.float('float32', Array(features * classes).fill(0.01), [features, classes]),
    );
    graph.addInitializer('b', tensor.float('float32', Array(classes).fill(0), [classes]));
    // Forward tensors named like the gradient outputs of the parameters w and b.
    graph.addNode({ opType: 'MatMul', inputs: ['input', 'w'], outputs: ['grad/w'], name: 'product' });
    graph.addNode({ opType: 'Add', inputs: ['grad/w', 'b'], outputs: ['grad/b'], name: 'bias' });
    graph.addOutput('grad/b', 'float32', ['N', classes]);
    const model = importOnnxModel(graph.toBytes(), { output: 'grad/b', loss: 'cross-entropy' }).build(data);
    expect(model.manifest.params.map((spec) => spec.name)).toEqual(['w', 'b']);
    const train = await ort.InferenceSession.create(model.train);
    expect(train.outputNames).toEqual([GRAPH_IO.loss, gradientOutput('w'), gradientOutput('b')]);
    await train.release();
    const before = await evaluate(model, model.initParams(0), data.test);
    const after = await evaluate(model, await sgd(model, data.train, 100, 0.1), data.test);
    expect(after.loss).toBeLessThan(before.loss);
  });

  test('the exported inference model gives the forward graph logits', async () => {
    const model = importOnnxModel(exportedCnn({ dropout: 0.2 }), { loss: 'cross-entropy' }).build(mnist());
    const params = model.initParams(0);
    const bytes = exportInferenceModel(model, params);
    const session = await ort.InferenceSession.create(bytes);
    const rows = mnist().test.x.subarray(0, 3 * 784);
    const logits = (await session.run({ x: new ort.Tensor('float32', rows, [3, 784]) }))[GRAPH_IO.logits];
    await session.release();
    const forward = await ort.InferenceSession.create(model.forward);
    const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', rows, [3, 784]) };
    for (const spec of model.manifest.params) {
      feeds[spec.name] = new ort.Tensor(
        'float32',
        params.subarray(spec.offset, spec.offset + spec.size),
        spec.shape,
      );
    }
    const expected = (await forward.run(feeds))[GRAPH_IO.logits];
    await forward.release();
    // Baked weights let onnxruntime pick other (blocked-layout) kernels: equal up to float32 rounding.
    const actual = Array.from(logits?.data as Float32Array);
    Array.from(expected?.data as Float32Array).forEach((value, i) => {
      expect(actual[i]).toBeCloseTo(value, 4);
    });
  });
});

describe('an embedding model fed integer ids', () => {
  /** Rows of 4 token ids (as float features); the label is the mean token id (regression) or its parity class. */
  function tokenData(labels: 'targets' | 'classes'): Dataset {
    const rng = createRng(8);
    const split = (n: number): Split => {
      const x = Float32Array.from({ length: n * 4 }, () => rng.int(20));
      const means = Array.from(
        { length: n },
        (_, row) => x.subarray(row * 4, row * 4 + 4).reduce((a, b) => a + b, 0) / 4,
      );
      const y =
        labels === 'targets'
          ? Float32Array.from(means, (mean) => mean / 10)
          : Uint8Array.from(means, (mean) => (mean > 9.5 ? 1 : 0));
      return { x, y, n };
    };
    return {
      name: 'tokens',
      features: 4,
      classes: labels === 'targets' ? 0 : 2,
      train: split(600),
      test: split(200),
    };
  }

  test('MSE on one output trains on regression targets (R^2 as accuracy)', async () => {
    const imported = importOnnxModel(exportedEmbeddingModel(1), { loss: 'mse' });
    expect(imported.labels).toBe('targets');
    expect(imported.trainable).toEqual(['embedding.weight', 'head.weight', 'head.bias']);
    const data = tokenData('targets');
    const model = imported.build(data);
    const batch = sampleBatch(data.train, 32, createRng(1));
    const error = await float32GradientError(
      model,
      lossGraphOf(model, 'mse', 'targets'),
      model.initParams(0),
      batch,
    );
    expect(error).toBeLessThan(TOLERANCE);
    const params = await sgd(model, data.train, 400, 0.3);
    const before = await evaluate(model, model.initParams(0), data.test);
    const after = await evaluate(model, params, data.test);
    expect(after.loss).toBeLessThan(before.loss / 10);
    expect(after.accuracy).toBeGreaterThan(0.9);
  });

  test('MSE over several outputs trains against one-hot class labels (opset 18 ReduceMean)', async () => {
    const imported = importOnnxModel(exportedEmbeddingModel(2, 18), { loss: 'mse' });
    expect(imported.labels).toBe('classes');
    const data = tokenData('classes');
    const model = imported.build(data);
    const params = await sgd(model, data.train, 400, 0.2);
    expect((await evaluate(model, params, data.test)).accuracy).toBeGreaterThan(0.7);
  });
});

describe('models kasync cannot train are refused before any learner starts', () => {
  test('every unsupported op on the path to the output is listed with its node', () => {
    const graph = new Graph('gelu_mlp', 17);
    graph.addInput('input', 'float32', ['batch', 4]);
    graph.addInitializer('fc1.weight', tensor.float('float32', Array(12).fill(0.1), [3, 4]));
    graph.addInitializer('fc2.weight', tensor.float('float32', Array(6).fill(0.1), [2, 3]));
    const hidden = graph.op('Gemm', ['input', 'fc1.weight'], { transB: attr.int(1) }, { name: '/fc1/Gemm' });
    const erf = graph.op('Erf', [hidden], undefined, { name: '/act/Erf' });
    const rounded = graph.op('HardSwish', [erf], undefined, { name: '/act/HardSwish' });
    graph.addNode({
      opType: 'Gemm',
      inputs: [rounded, 'fc2.weight'],
      outputs: ['output'],
      attributes: { transB: attr.int(1) },
      name: '/fc2/Gemm',
    });
    graph.addOutput('output', 'float32', ['batch', 2]);
    const model = importOnnxModel(graph.toBytes(), { loss: 'cross-entropy' });
    const error = unsupportedOps(() => model.build({ features: 4, classes: 2 }));
    expect(error.ops.map(({ opType, nodeName }) => `${opType} ${nodeName}`)).toEqual([
      'Erf /act/Erf',
      'HardSwish /act/HardSwish',
    ]);
  });

  test('ops from other domains are refused by name', () => {
    const graph = new Graph('fused', 17);
    graph.addInput('input', 'float32', ['batch', 4]);
    graph.addInitializer('w', tensor.float('float32', Array(8).fill(0.1), [4, 2]));
    graph.addNode({
      opType: 'FusedMatMul',
      domain: 'com.microsoft',
      inputs: ['input', 'w'],
      outputs: ['output'],
      name: 'fused_matmul',
    });
    graph.addOutput('output', 'float32', ['batch', 2]);
    const error = unsupportedOps(() => importOnnxModel(graph.toBytes(), { loss: 'cross-entropy' }));
    expect(error.message).toContain("com.microsoft.FusedMatMul (node 'fused_matmul')");
  });

  test.each<[string, () => unknown, RegExp]>([
    ['opset 12', () => importOnnxModel(exportedCnn({ opset: 12 }), { loss: 'cross-entropy' }), /opset 12/],
    [
      'not ONNX',
      () => importOnnxModel(new TextEncoder().encode('hello'), { loss: 'mse' }),
      /not an ONNX model/,
    ],
    [
      'unknown input',
      () => importOnnxModel(exportedCnn(), { input: 'image', loss: 'cross-entropy' }),
      /no input 'image'.*'input'/,
    ],
    [
      'features that do not fit the input',
      () => importOnnxModel(exportedCnn(), { loss: 'cross-entropy' }).build({ features: 4, classes: 3 }),
      /\[1, 28, 28\] = 784 values per row; the dataset has 4 features/,
    ],
    [
      'more classes than outputs',
      () => importOnnxModel(exportedCnn(), { loss: 'cross-entropy' }).build({ features: 784, classes: 12 }),
      /12 classes but output 'output' has 10/,
    ],
  ])('%s', (_label, run, message) => {
    expect(run).toThrow(message);
  });

  test('a fixed batch size, several outputs and rank-3 outputs are explained', () => {
    const graph = (batch: number | string, outputs: number, outputRank = 2) => {
      const g = new Graph('g', 17);
      g.addInput('input', 'float32', [batch, 3]);
      g.addInitializer('w', tensor.float('float32', Array(6).fill(0.1), [3, 2]));
      for (let i = 0; i < outputs; i++) {
        const out = g.op('MatMul', ['input', 'w']);
        g.addOutput(out, 'float32', outputRank === 2 ? [batch, 2] : [batch, 2, 1]);
      }
      return g.toBytes();
    };
    expect(() => importOnnxModel(graph(1, 1), { loss: 'mse' })).toThrow(
      /fixed batch size of 1; export with a dynamic batch axis/,
    );
    expect(() => importOnnxModel(graph('N', 2), { loss: 'mse' })).toThrow(
      /2 outputs .*name the one to use in model.output/,
    );
    expect(() => importOnnxModel(graph('N', 1, 3), { loss: 'mse' })).toThrow(ModelConfigError);
  });
});
