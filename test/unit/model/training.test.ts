/** @jest-environment ./test/unit/model/ort-environment.ts */

import {
  type Dataset,
  loadBuiltinDataset,
  type SyntheticDataset,
  sampleBatch,
} from '../../../model/datasets';
import { createRng } from '../../../model/random';
import { createEvalSession, createTrainSession, type Evaluation } from '../../../model/session';
import { type BuiltModel, buildModel, type ModelConfig } from '../../../model/zoo';

/** Plain SGD with the train session, as one learner with K = 1 and no staleness would run it. */
async function trainWithSgd(model: BuiltModel, data: Dataset, steps: number, learningRate: number) {
  const train = await createTrainSession(model);
  const params = model.initParams(1);
  const rng = createRng(2);
  const buffers = { x: new Float32Array(64 * data.features), y: new Uint8Array(64) };
  const started = performance.now();
  for (let step = 0; step < steps; step++) {
    const { grad } = await train.step(params, sampleBatch(data.train, 64, rng, buffers));
    for (let i = 0; i < params.length; i++)
      params[i] = (params[i] as number) - learningRate * (grad[i] as number);
  }
  const msPerStep = (performance.now() - started) / steps;
  await train.release();
  return { params, msPerStep };
}

async function evaluate(model: BuiltModel, params: Float32Array, data: Dataset): Promise<Evaluation> {
  const evaluator = await createEvalSession(model);
  const result = await evaluator.evaluate(params, data.test);
  await evaluator.release();
  return result;
}

describe('SGD with the train session learns', () => {
  const results: string[] = [];
  afterAll(() => console.log(`training sanity: ${results.join('; ')}`));

  test.each<[string, ModelConfig, number, number]>([
    ['MLP', { kind: 'mlp' }, 400, 0.85],
    ['softmax', { kind: 'softmax' }, 400, 0.8],
    ['CNN', { kind: 'cnn' }, 500, 0.94],
  ])('%s on MNIST, %i steps of batch 64', async (label, config, steps, minimumAccuracy) => {
    const data = loadBuiltinDataset('mnist');
    const model = buildModel(config, data);
    const before = await evaluate(model, model.initParams(1), data);
    const { params, msPerStep } = await trainWithSgd(model, data, steps, 0.1);
    const after = await evaluate(model, params, data);
    results.push(
      `${label} test accuracy ${after.accuracy} (loss ${after.loss.toFixed(3)}), ${msPerStep.toFixed(2)} ms/step`,
    );
    expect(before.accuracy).toBeLessThan(0.3);
    expect(after.accuracy).toBeGreaterThan(minimumAccuracy);
  });

  test.each<[string, 'synthetic' | 'synthetic-binary', ModelConfig]>([
    ['softmax', 'synthetic', { kind: 'softmax' }],
    ['logreg', 'synthetic-binary', { kind: 'logreg' }],
  ])('%s on %s approaches the generating model', async (label, name, config) => {
    const data = loadBuiltinDataset(name) as SyntheticDataset;
    const model = buildModel(config, data);
    // The generator is a softmax model; a binary one is a logistic score z = (w1 - w0).x + (b1 - b0).
    const { weight, bias } = data.generator;
    const optimum =
      config.kind === 'logreg'
        ? Float32Array.from({ length: data.features + 1 }, (_, i) =>
            i < data.features
              ? (weight[data.features + i] as number) - (weight[i] as number)
              : (bias[1] as number) - (bias[0] as number),
          )
        : Float32Array.of(...weight, ...bias);
    const best = await evaluate(model, optimum, data);
    const { params } = await trainWithSgd(model, data, 1500, 0.2);
    const trained = await evaluate(model, params, data);
    results.push(
      `${label} on ${name}: accuracy ${trained.accuracy} vs generator ${best.accuracy}, loss ${trained.loss.toFixed(3)} vs ${best.loss.toFixed(3)}`,
    );
    expect(trained.accuracy).toBeGreaterThan(best.accuracy - 0.03);
    expect(trained.loss).toBeLessThan(best.loss + 0.05);
  });
});
