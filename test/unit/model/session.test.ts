/** @jest-environment ./test/unit/model/ort-environment.ts */

import { type Batch, loadBuiltinDataset, type SyntheticDataset, sampleBatch } from '../../../model/datasets';
import { ModelError, ShapeMismatchError } from '../../../model/errors';
import { createRng } from '../../../model/random';
import {
  createEvalSession,
  createTrainSession,
  type EvalSession,
  type TrainSession,
} from '../../../model/session';
import { type BuiltModel, buildModel } from '../../../model/zoo';

const synthetic = () => loadBuiltinDataset('synthetic') as SyntheticDataset;

describe('sessions', () => {
  let model: BuiltModel;
  let train: TrainSession;
  let evaluator: EvalSession;
  let params: Float32Array;
  let batch: Batch;

  beforeAll(async () => {
    const data = synthetic();
    model = buildModel({ kind: 'mlp', hidden: [16] }, data);
    [train, evaluator] = await Promise.all([
      createTrainSession(model),
      createEvalSession(model, { chunkRows: 7 }),
    ]);
    params = model.initParams(4);
    batch = sampleBatch(data.train, 50, createRng(8));
  });
  afterAll(() => Promise.all([train.release(), evaluator.release()]));

  test('a train step returns the batch-mean loss and a flat gradient, leaving params untouched', async () => {
    const before = Float32Array.from(params);
    const first = await train.step(params, batch);
    expect(first.grad).toBeInstanceOf(Float32Array);
    expect(first.grad.length).toBe(model.manifest.totalSize);
    expect(params).toEqual(before);
    const second = await train.step(params, batch);
    expect(second.grad).toEqual(first.grad);
    const evaluation = await evaluator.evaluate(params, batch);
    expect(evaluation.n).toBe(50);
    expect(evaluation.loss).toBeCloseTo(first.loss, 5);
  });

  test('a step writes into a given gradient buffer, and each params vector gets its own gradient', async () => {
    const fresh = await train.step(params, batch);
    const buffer = new Float32Array(model.manifest.totalSize).fill(Number.NaN);
    const into = await train.step(params, batch, buffer);
    expect(into.grad).toBe(buffer);
    expect(buffer).toEqual(fresh.grad);
    expect(into.loss).toBe(fresh.loss);

    // The session reuses tensors over the last params vector and buffer; a new vector, or the
    // same one changed in place, must still be read afresh.
    const other = model.initParams(5);
    const otherGrad = Float32Array.from((await train.step(other, batch)).grad);
    expect(otherGrad).not.toEqual(fresh.grad);
    expect((await train.step(other, batch, buffer)).grad).toEqual(otherGrad);
    const changing = Float32Array.from(params);
    await train.step(changing, batch, buffer);
    changing.set(other);
    expect((await train.step(changing, batch, buffer)).grad).toEqual(otherGrad);

    await expect(train.step(params, batch, buffer.subarray(1))).rejects.toThrow(/gradient buffer has/);
  });

  test('evaluation does not depend on the chunk size', async () => {
    const oneChunk = await createEvalSession(model);
    const whole = await oneChunk.evaluate(params, synthetic().test);
    const chunked = await evaluator.evaluate(params, synthetic().test);
    await oneChunk.release();
    expect(chunked.accuracy).toBe(whole.accuracy);
    expect(chunked.loss).toBeCloseTo(whole.loss, 12);
    expect(whole.n).toBe(1000);
  });

  test('Int32Array labels work like Uint8Array labels', async () => {
    const asInt32 = { ...batch, y: Int32Array.from(batch.y) };
    expect((await train.step(params, asInt32)).grad).toEqual((await train.step(params, batch)).grad);
  });

  test('mismatched inputs raise named errors', async () => {
    await expect(train.step(params.subarray(1), batch)).rejects.toThrow(ShapeMismatchError);
    await expect(train.step(params, { ...batch, n: 51 })).rejects.toThrow(ShapeMismatchError);
    await expect(train.step(params, { ...batch, n: 0 })).rejects.toThrow(ShapeMismatchError);
    await expect(evaluator.evaluate(params, { ...batch, y: new Uint8Array(50).fill(9) })).rejects.toThrow(
      /label 9 is not one of the model's 4 classes/,
    );
    const outOfRange = train.step(params, { ...batch, y: new Uint8Array(50).fill(9) });
    await expect(outOfRange).rejects.toThrow(ModelError);
    await expect(outOfRange).rejects.toHaveProperty('cause');
  });

  test('bad graphs and options are rejected at creation', async () => {
    await expect(createTrainSession({ ...model, train: Uint8Array.of(1, 2, 3) })).rejects.toThrow(
      /could not load/,
    );
    await expect(createTrainSession(model, { threads: 0 })).rejects.toThrow(/threads/);
    const twoThreads = await createTrainSession(model, { threads: 2 });
    const { loss } = await twoThreads.step(params, batch);
    await twoThreads.release();
    expect(loss).toBeCloseTo((await train.step(params, batch)).loss, 5);
  });
});

describe('logreg', () => {
  test('its two-logit cross-entropy is the logistic loss of one score', async () => {
    const data = loadBuiltinDataset('synthetic-binary');
    const model = buildModel({ kind: 'logreg' }, data);
    const params = model.initParams(2).map((value, i) => value + 0.1 * i);
    const evaluator = await createEvalSession(model);
    const { loss, accuracy } = await evaluator.evaluate(params, data.test);
    await evaluator.release();
    let logistic = 0;
    let correct = 0;
    for (let row = 0; row < data.test.n; row++) {
      let score = params[data.features] as number;
      for (let f = 0; f < data.features; f++)
        score += (params[f] as number) * (data.test.x[row * data.features + f] as number);
      const sign = data.test.y[row] === 1 ? 1 : -1;
      logistic += Math.log1p(Math.exp(-sign * score));
      if ((score > 0 ? 1 : 0) === data.test.y[row]) correct++;
    }
    expect(loss).toBeCloseTo(logistic / data.test.n, 5);
    expect(accuracy).toBe(correct / data.test.n);
  });
});
