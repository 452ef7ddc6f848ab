/** @jest-environment ./test/unit/model/ort-environment.ts */

import * as ort from 'onnxruntime-node';
import { differentiate } from '../../../model/autodiff';
import { type Dataset, loadBuiltinDataset, sampleBatch } from '../../../model/datasets';
import { ModelConfigError } from '../../../model/errors';
import { exportInferenceModel } from '../../../model/export';
import { Graph } from '../../../model/graph';
import { createRng } from '../../../model/random';
import { createTrainSession } from '../../../model/session';
import { GRAPH_IO, gradientOutput } from '../../../model/train-graph';
import { buildModel, buildModelGraphs, type ModelConfig } from '../../../model/zoo';
import { centralDifference, float32GradientError, float64Feeds } from './float64-reference';

const mnist = () => loadBuiltinDataset('mnist');

describe('buildModel', () => {
  test('the default MLP is 784-128-10 with PyTorch-layout parameters', () => {
    const model = buildModel({ kind: 'mlp' }, mnist());
    expect(model.manifest.params.map(({ name, shape, offset }) => ({ name, shape, offset }))).toEqual([
      { name: 'fc1.weight', shape: [128, 784], offset: 0 },
      { name: 'fc1.bias', shape: [128], offset: 100352 },
      { name: 'fc2.weight', shape: [10, 128], offset: 100480 },
      { name: 'fc2.bias', shape: [10], offset: 101760 },
    ]);
    expect(model.manifest.totalSize).toBe(101770);
  });

  test('softmax, logreg and deeper MLPs have the expected parameter counts', () => {
    expect(buildModel({ kind: 'softmax' }, mnist()).manifest.totalSize).toBe(7850);
    expect(buildModel({ kind: 'logreg' }, { features: 10, classes: 2 }).manifest.totalSize).toBe(11);
    const deep = buildModel(
      { kind: 'mlp', hidden: [16, 8], activation: 'tanh' },
      { features: 5, classes: 3 },
    );
    expect(deep.manifest.params.map((param) => param.name)).toEqual([
      'fc1.weight',
      'fc1.bias',
      'fc2.weight',
      'fc2.bias',
      'fc3.weight',
      'fc3.bias',
    ]);
    expect(deep.manifest.totalSize).toBe(5 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3);
  });

  test('rejects configurations that cannot be built', () => {
    expect(() => buildModel({ kind: 'logreg' }, mnist())).toThrow(ModelConfigError);
    expect(() => buildModel({ kind: 'mlp', hidden: [0] }, mnist())).toThrow(/hidden sizes/);
    expect(() => buildModel({ kind: 'mlp', activation: 'gelu' as 'relu' }, mnist())).toThrow(
      /unknown activation/,
    );
    expect(() => buildModel({ kind: 'softmax' }, { features: 3, classes: 1 })).toThrow(/classes/);
  });

  test('graphs take parameters as inputs and use the shared tensor names', async () => {
    const model = buildModel({ kind: 'mlp', hidden: [4] }, { features: 3, classes: 2 });
    const names = model.manifest.params.map((param) => param.name);
    const forward = await ort.InferenceSession.create(model.forward);
    const train = await ort.InferenceSession.create(model.train);
    expect(forward.inputNames).toEqual([GRAPH_IO.x, ...names]);
    expect(forward.outputNames).toEqual([GRAPH_IO.logits]);
    expect(train.inputNames).toEqual([GRAPH_IO.x, ...names, GRAPH_IO.y]);
    expect(train.outputNames).toEqual([GRAPH_IO.loss, ...names.map(gradientOutput)]);
    await Promise.all([forward.release(), train.release()]);
    for (const bytes of [model.forward, model.train]) {
      const initializers = [...Graph.fromBytes(bytes).initializers.keys()];
      expect(initializers.filter((name) => names.includes(name))).toEqual([]);
    }
  });

  test('initParams is deterministic: He-normal before ReLU, Glorot-uniform elsewhere, zero biases', () => {
    const model = buildModel({ kind: 'mlp' }, mnist());
    const params = model.initParams(1);
    const bytes = (values: Float32Array) => Buffer.from(values.buffer);
    expect(bytes(model.initParams(1)).equals(bytes(params))).toBe(true);
    expect(bytes(model.initParams(2)).equals(bytes(params))).toBe(false);
    const [fc1, fc1Bias, fc2, fc2Bias] = model.manifest.params.map((spec) =>
      params.subarray(spec.offset, spec.offset + spec.size),
    ) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const std = Math.sqrt(fc1.reduce((total, w) => total + w * w, 0) / fc1.length);
    expect(std / Math.sqrt(2 / 784)).toBeCloseTo(1, 1);
    const glorotLimit = Math.sqrt(6 / (128 + 10));
    expect(fc2.every((w) => Math.abs(w) <= glorotLimit)).toBe(true);
    expect(fc2.reduce((a, b) => Math.max(a, Math.abs(b)), 0)).toBeGreaterThan(0.9 * glorotLimit);
    expect(fc1Bias.every((b) => b === 0) && fc2Bias.every((b) => b === 0)).toBe(true);
  });
});

interface ModelCheck {
  /** float32 train graph (the artifact learners run) vs float64 central differences. */
  readonly float32Error: number;
  /** float64 build of the same model differentiated, vs the same differences. */
  readonly float64Error: number;
}

/**
 * Compares the gradient of the built train graph with central differences of the float64
 * build of the same model, on a few coordinates of every parameter.
 */
async function checkModelGradient(
  config: ModelConfig,
  data: Dataset,
  coordinatesPerParam = 6,
): Promise<ModelCheck> {
  const model = buildModel(config, data);
  const rng = createRng(9);
  // Nonzero biases so their gradients are exercised away from the symmetric start.
  const params = model.initParams(3).map((value) => value + 0.05 * rng.normal());
  const batch = sampleBatch(data.train, 16, rng);
  const train = await createTrainSession(model);
  const { grad } = await train.step(params, batch);
  await train.release();

  const { loss: lossGraph, manifest } = buildModelGraphs(config, data, 'float64');
  const names = manifest.params.map((spec) => spec.name);
  const { graph: train64, gradients } = differentiate(lossGraph, { loss: GRAPH_IO.loss, params: names });
  const forward = await ort.InferenceSession.create(lossGraph.toBytes());
  const backward = await ort.InferenceSession.create(train64.toBytes());
  const feeds = float64Feeds(manifest, batch);
  const base = Float64Array.from(params);
  const exact64 = await backward.run(feeds(base));
  const lossAt = async (flat: Float64Array) =>
    Number((await forward.run(feeds(flat)))[GRAPH_IO.loss]?.data[0]);

  const gradScale = Math.sqrt(grad.reduce((total, g) => total + g * g, 0) / grad.length);
  let float32Error = 0;
  let float64Error = 0;
  for (const spec of manifest.params) {
    const gradient64 = exact64[gradients.get(spec.name) as string]?.data as Float64Array;
    for (let k = 0; k < coordinatesPerParam; k++) {
      const local = rng.int(spec.size);
      const index = spec.offset + local;
      const numeric = await centralDifference(lossAt, base, index);
      // float32 accumulation error is relative to the gradient's overall scale, not to one tiny entry.
      float32Error = Math.max(
        float32Error,
        Math.abs((grad[index] as number) - numeric) / Math.max(Math.abs(numeric), gradScale),
      );
      float64Error = Math.max(
        float64Error,
        Math.abs((gradient64[local] as number) - numeric) / Math.max(Math.abs(numeric), 1e-3 * gradScale),
      );
    }
  }
  await Promise.all([forward.release(), backward.release()]);
  return { float32Error, float64Error };
}

describe('whole-model gradients match finite differences', () => {
  const results: string[] = [];
  afterAll(() => console.log(`whole-model max relative errors: ${results.join('; ')}`));

  test.each<[string, ModelConfig, () => Dataset]>([
    ['softmax on MNIST', { kind: 'softmax' }, mnist],
    ['MLP (ReLU, 784-128-10) on MNIST', { kind: 'mlp' }, mnist],
    [
      'MLP (tanh, 2 hidden layers) on synthetic',
      { kind: 'mlp', hidden: [12, 7], activation: 'tanh' },
      () => loadBuiltinDataset('synthetic'),
    ],
    [
      'MLP (sigmoid) on synthetic',
      { kind: 'mlp', hidden: [9], activation: 'sigmoid' },
      () => loadBuiltinDataset('synthetic'),
    ],
    ['logreg on synthetic-binary', { kind: 'logreg' }, () => loadBuiltinDataset('synthetic-binary')],
  ])('%s', async (label, config, data) => {
    const { float32Error, float64Error } = await checkModelGradient(config, data());
    results.push(
      `${label}: float32 ${float32Error.toExponential(1)}, float64 ${float64Error.toExponential(1)}`,
    );
    expect(float32Error).toBeLessThan(1e-5);
    expect(float64Error).toBeLessThan(1e-6);
  });
});

test('CNN: float32 gradients of the whole model match float64 finite differences', async () => {
  const model = buildModel({ kind: 'cnn' }, mnist());
  const rng = createRng(4);
  // Nonzero biases: with zero biases every background pixel sits exactly on ReLU's kink.
  const params = model.initParams(2).map((value) => value + 0.05 * rng.normal());
  const { loss } = buildModelGraphs({ kind: 'cnn' }, mnist());
  const error = await float32GradientError(model, loss, params, sampleBatch(mnist().train, 8, rng));
  console.log(`CNN whole-model max relative error: float32 ${error.toExponential(1)}`);
  expect(error).toBeLessThan(1e-4);
});

describe('the CNN', () => {
  test('has PyTorch-named conv and dense parameters sized for 28x28 digits', () => {
    const model = buildModel({ kind: 'cnn' }, mnist());
    expect(model.manifest.params.map(({ name, shape }) => ({ name, shape }))).toEqual([
      { name: 'conv1.weight', shape: [8, 1, 3, 3] },
      { name: 'conv1.bias', shape: [8] },
      { name: 'conv2.weight', shape: [16, 8, 3, 3] },
      { name: 'conv2.bias', shape: [16] },
      { name: 'fc.weight', shape: [10, 16 * 7 * 7] },
      { name: 'fc.bias', shape: [10] },
    ]);
    const wide = buildModel(
      { kind: 'cnn', channels: [4, 4, 4], activation: 'tanh', image: [3, 8, 8] },
      { features: 192, classes: 3 },
    );
    expect(wide.manifest.params.at(-2)?.shape).toEqual([3, 4]);
  });

  test('rejects images it cannot take', () => {
    expect(() => buildModel({ kind: 'cnn' }, { features: 10, classes: 2 })).toThrow(
      /square one-channel images/,
    );
    expect(() => buildModel({ kind: 'cnn', image: [3, 4, 4] }, { features: 10, classes: 2 })).toThrow(
      /does not hold/,
    );
    expect(() => buildModel({ kind: 'cnn', channels: [2, 2, 2] }, { features: 16, classes: 2 })).toThrow(
      /too small/,
    );
    expect(() => buildModel({ kind: 'cnn', channels: [] }, mnist())).toThrow(/channels/);
  });
});

test('exportInferenceModel bakes trained parameters into a forward graph that needs only x', async () => {
  const data = loadBuiltinDataset('synthetic');
  const model = buildModel({ kind: 'mlp', hidden: [8] }, data);
  const params = model.initParams(6);
  const x = new ort.Tensor('float32', data.test.x.subarray(0, 5 * data.features), [5, data.features]);
  const feeds: Record<string, ort.Tensor> = { [GRAPH_IO.x]: x };
  for (const spec of model.manifest.params) {
    feeds[spec.name] = new ort.Tensor(
      'float32',
      params.subarray(spec.offset, spec.offset + spec.size),
      spec.shape,
    );
  }
  const forward = await ort.InferenceSession.create(model.forward);
  const exported = await ort.InferenceSession.create(exportInferenceModel(model, params));
  expect(exported.inputNames).toEqual([GRAPH_IO.x]);
  const expected = (await forward.run(feeds))[GRAPH_IO.logits]?.data;
  const actual = (await exported.run({ [GRAPH_IO.x]: x }))[GRAPH_IO.logits]?.data;
  await Promise.all([forward.release(), exported.release()]);
  expect(actual).toEqual(expected);
  expect(() => exportInferenceModel(model, params.subarray(1))).toThrow(/manifest needs/);
});
