import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from '../../../engine/errors';
import { MAX_JOB_SECONDS, MAX_STEP_SIZE, parseJobSpec } from '../../../engine/spec';
import { sampleStragglerDelay } from '../../../engine/stragglers';
import { loadBuiltinDataset } from '../../../model/datasets';
import { createRng } from '../../../model/random';
import { linearObjective } from '../../../sim/objective';

function fieldOf(input: unknown): string {
  try {
    parseJobSpec(input);
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
  throw new Error('spec was accepted');
}

describe('parseJobSpec', () => {
  it('fills every default but model and dataset', () => {
    const spec = parseJobSpec({ model: 'mlp', dataset: 'mnist' });
    expect(spec).toMatchObject({
      model: { kind: 'mlp' },
      variant: 'k-async',
      learners: 4,
      k: 2,
      batchSize: 64,
      lr: { schedule: 'constant', eta: 0.1, etaMax: 0.1 },
      stop: { maxUpdates: 1000, maxSeconds: 600 },
      stragglers: { distribution: 'none' },
    });
  });

  it('resolves K from the variant', () => {
    expect(parseJobSpec({ model: 'softmax', dataset: 'mnist', variant: 'sync', learners: 6 }).k).toBe(6);
    expect(parseJobSpec({ model: 'softmax', dataset: 'mnist', variant: 'async', learners: 6 }).k).toBe(1);
    expect(
      parseJobSpec({ model: 'softmax', dataset: 'mnist', variant: 'k-batch-async', learners: 6, k: 3 }).k,
    ).toBe(3);
  });

  it.each([
    [{ dataset: 'mnist' }, 'model'],
    [{ model: 'resnet', dataset: 'mnist' }, 'model'],
    [{ model: 'mlp' }, 'dataset'],
    [{ model: 'mlp', dataset: 'mnist', variant: 'hogwild' }, 'variant'],
    [{ model: 'mlp', dataset: 'mnist', learners: 4, k: 5 }, 'k'],
    [{ model: 'mlp', dataset: 'mnist', k: 0 }, 'k'],
    [{ model: 'mlp', dataset: 'mnist', variant: 'sync', learners: 4, k: 2 }, 'k'],
    [{ model: 'mlp', dataset: 'mnist', lr: { eta: -1 } }, 'lr.eta'],
    [{ model: 'mlp', dataset: 'mnist', lr: { eta: 0 } }, 'lr.eta'],
    [{ model: 'mlp', dataset: 'mnist', stop: { targetAccuracy: 1.5 } }, 'stop.targetAccuracy'],
    [{ model: 'mlp', dataset: 'mnist', stragglers: { distribution: 'gamma' } }, 'stragglers.distribution'],
    [{ model: 'mlp', dataset: 'mnist', stragglers: { distribution: 'exp', mean: 1 } }, 'stragglers.rate'],
    [{ model: 'mlp', dataset: 'mnist', batchsize: 3 }, 'batchsize'],
    [{ model: 'mlp', dataset: 'mnist', lr: { eta: 0.1, rate: 3 } }, 'lr.rate'],
  ])('rejects %j naming %s', (input, field) => {
    expect(fieldOf(input)).toBe(field);
  });
});

/** The refusal of `patch` on top of a minimal spec: its field and full message. */
function refusal(patch: Record<string, unknown>): { field: string; message: string } {
  try {
    parseJobSpec({ model: 'mlp', dataset: 'mnist', ...patch });
  } catch (error) {
    if (error instanceof ValidationError) return { field: error.field, message: error.message };
    throw error;
  }
  throw new Error(`spec was accepted: ${JSON.stringify(patch)}`);
}

const exp = (rate: unknown) => ({ stragglers: { distribution: 'exp', rate } });
const shifted = (shift: unknown, rate: unknown = 1) => ({
  stragglers: { distribution: 'shifted-exp', shift, rate },
});
const pareto = (scale: unknown, shape: unknown) => ({ stragglers: { distribution: 'pareto', scale, shape } });
const csv = (testFraction: unknown) => ({ dataset: { csv: 'data.csv', label: 'y', testFraction } });

describe('parseJobSpec bounds', () => {
  // [field named, patch, a phrase of the message]. Infinity and NaN reach parseJobSpec from YAML
  // (.inf, .nan) or a JavaScript caller; JSON cannot carry them.
  const bad: [string, Record<string, unknown>, string][] = [
    ['learners', { learners: 0 }, 'expected number to be >=1'],
    ['learners', { learners: 1001 }, 'expected number to be <=1000'],
    ['learners', { learners: 2.5 }, 'expected int'],
    ['learners', { learners: Number.NaN }, 'received NaN'],
    ['learners', { learners: Number.POSITIVE_INFINITY }, 'received Infinity'],
    ['k', { k: 0 }, 'expected number to be >=1'],
    ['k', { k: 1.5 }, 'expected int'],
    ['k', { learners: 4, k: 5 }, 'k (5) must not exceed learners (4)'],
    ['k', { learners: 1000, k: 1001 }, 'expected number to be <=1000'],
    ['batchSize', { batchSize: 0 }, 'expected number to be >=1'],
    ['batchSize', { batchSize: 4097 }, 'expected number to be <=4096'],
    ['batchSize', { batchSize: 1e308 }, 'Too big'],
    ['batchSize', { batchSize: Number.POSITIVE_INFINITY }, 'received Infinity'],
    ['lr.eta', { lr: { eta: 0 } }, 'expected number to be >0'],
    ['lr.eta', { lr: { eta: -1 } }, 'expected number to be >0'],
    ['lr.eta', { lr: { eta: 10.001 } }, 'expected number to be <=10'],
    ['lr.eta', { lr: { eta: 1e308 } }, 'expected number to be <=10'],
    ['lr.eta', { lr: { eta: Number.NaN } }, 'received NaN'],
    ['lr.eta', { lr: { eta: Number.POSITIVE_INFINITY } }, 'received Infinity'],
    ['lr.C', { lr: { schedule: 'dutta-joshi', C: 0 } }, 'expected number to be >0'],
    ['lr.C', { lr: { schedule: 'dutta-joshi', C: 2e6 } }, 'expected number to be <=1000000'],
    ['lr.C', { lr: { schedule: 'dutta-joshi', C: Number.POSITIVE_INFINITY } }, 'received Infinity'],
    ['lr.etaMax', { lr: { schedule: 'dutta-joshi', etaMax: 0 } }, 'expected number to be >0'],
    ['lr.etaMax', { lr: { schedule: 'dutta-joshi', etaMax: 11 } }, 'expected number to be <=10'],
    ['lr.etaMax', { lr: { schedule: 'dutta-joshi', etaMax: Number.NaN } }, 'received NaN'],
    ['stragglers.rate', exp(0), 'expected number to be >=0.01'],
    ['stragglers.rate', exp(0.001), 'expected number to be >=0.01'],
    ['stragglers.rate', exp(-1), 'expected number to be >=0.01'],
    ['stragglers.rate', exp(2e6), 'expected number to be <=1000000'],
    ['stragglers.rate', exp(Number.NaN), 'received NaN'],
    ['stragglers.rate', exp(Number.POSITIVE_INFINITY), 'received Infinity'],
    ['stragglers.rate', shifted(1, 0.005), 'expected number to be >=0.01'],
    ['stragglers.shift', shifted(-1), 'expected number to be >=0'],
    ['stragglers.shift', shifted(901), 'expected number to be <=900'],
    ['stragglers.shift', shifted(Number.POSITIVE_INFINITY), 'received Infinity'],
    ['stragglers.scale', pareto(0, 2), 'expected number to be >0'],
    ['stragglers.scale', pareto(901, 2), 'expected number to be <=900'],
    ['stragglers.scale', pareto(Number.NaN, 2), 'received NaN'],
    ['stragglers.shape', pareto(1, 0), 'expected number to be >=0.1'],
    ['stragglers.shape', pareto(1, 0.09), 'expected number to be >=0.1'],
    ['stragglers.shape', pareto(1, 1001), 'expected number to be <=1000'],
    ['stragglers.shape', pareto(1, Number.NEGATIVE_INFINITY), 'received -Infinity'],
    ['stop.maxUpdates', { stop: { maxUpdates: 0 } }, 'expected number to be >=1'],
    ['stop.maxUpdates', { stop: { maxUpdates: 10_000_001 } }, 'expected number to be <=10000000'],
    ['stop.maxUpdates', { stop: { maxUpdates: 1.5 } }, 'expected int'],
    ['stop.maxSeconds', { stop: { maxSeconds: 0 } }, 'expected number to be >0'],
    ['stop.maxSeconds', { stop: { maxSeconds: 604_801 } }, 'expected number to be <=604800'],
    ['stop.maxSeconds', { stop: { maxSeconds: Number.POSITIVE_INFINITY } }, 'received Infinity'],
    ['stop.targetAccuracy', { stop: { targetAccuracy: 0 } }, 'expected number to be >0'],
    ['stop.targetAccuracy', { stop: { targetAccuracy: 1.5 } }, 'expected number to be <=1'],
    ['stop.targetAccuracy', { stop: { targetAccuracy: Number.NaN } }, 'received NaN'],
    ['stop.targetLoss', { stop: { targetLoss: 0 } }, 'expected number to be >0'],
    ['stop.targetLoss', { stop: { targetLoss: -1 } }, 'expected number to be >0'],
    ['stop.targetLoss', { stop: { targetLoss: Number.POSITIVE_INFINITY } }, 'received Infinity'],
    ['stop.targetLoss', { stop: { targetLoss: Number.NaN } }, 'received NaN'],
    ['evalEvery', { evalEvery: 0 }, 'expected number to be >=1'],
    ['evalEvery', { evalEvery: 1_000_001 }, 'expected number to be <=1000000'],
    ['evalEvery', { evalEvery: 2.5 }, 'expected int'],
    ['seed', { seed: -1 }, 'expected number to be >=0'],
    ['seed', { seed: 2 ** 31 }, 'expected number to be <=2147483647'],
    ['seed', { seed: 2 ** 53 }, 'expected int to be <=9007199254740991'],
    ['seed', { seed: 0.5 }, 'expected int'],
    ['adasync.intervalSeconds', { adasync: { intervalSeconds: 0 } }, 'expected number to be >0'],
    ['adasync.intervalSeconds', { adasync: { intervalSeconds: 3601 } }, 'expected number to be <=3600'],
    ['adasync.intervalSeconds', { adasync: { intervalSeconds: Number.NaN } }, 'received NaN'],
    // Inside a union (dataset, model) the path goes down to the option itself.
    ['dataset.testFraction', csv(0), 'expected number to be >0'],
    ['dataset.testFraction', csv(1), 'expected number to be <1'],
    // A value of the wrong type (NaN) matches no form of the union: the union is named, and the
    // option inside it in the message.
    ['dataset', csv(Number.NaN), 'testFraction: Invalid input: expected number, received NaN'],
    ['model', { model: { kind: 'mlp', hidden: [Number.NaN] } }, 'hidden.0: Invalid input: expected number'],
    ['model.hidden.0', { model: { kind: 'mlp', hidden: [0] } }, 'expected number to be >=1'],
    ['model.hidden.0', { model: { kind: 'mlp', hidden: [5000] } }, 'expected number to be <=4096'],
    ['model.channels.0', { model: { kind: 'cnn', channels: [513] } }, 'expected number to be <=512'],
    ['model.image.2', { model: { kind: 'cnn', image: [1, 28, 5000] } }, 'expected number to be <=4096'],
  ];

  it.each(bad)('refuses %s in %j, naming the field', (field, patch, phrase) => {
    const { field: named, message } = refusal(patch);
    expect(named).toBe(field);
    expect(message.startsWith(`${field}: `)).toBe(true);
    expect(message).toContain(phrase);
  });

  it('accepts every bound itself', () => {
    const edges: Record<string, unknown>[] = [
      { learners: 1000, k: 1000, batchSize: 4096, evalEvery: 1_000_000, seed: 2 ** 31 - 1 },
      { learners: 1, k: 1, batchSize: 1, evalEvery: 1, seed: 0 },
      { lr: { schedule: 'dutta-joshi', eta: 10, C: 1e6, etaMax: 10 } },
      { stop: { maxUpdates: 10_000_000, maxSeconds: 604_800, targetAccuracy: 1, targetLoss: 1e-9 } },
      exp(0.01),
      exp(1e6),
      shifted(900, 0.01),
      shifted(0, 1e6),
      pareto(900, 0.1),
      pareto(1e-9, 1000),
      { adasync: { intervalSeconds: 3600 } },
    ];
    for (const patch of edges)
      expect(() => parseJobSpec({ model: 'mlp', dataset: 'mnist', ...patch })).not.toThrow();
  });

  it('refuses YAML infinities and NaN naming the field', () => {
    expect(refusal(parseYaml('lr: {eta: .inf}')).field).toBe('lr.eta');
    expect(refusal(parseYaml('stop: {targetLoss: .nan}')).field).toBe('stop.targetLoss');
  });

  it('bounds the step size where training stops paying: at 15 synthetic softmax ends worse than untrained', () => {
    // The measurement MAX_STEP_SIZE's comment cites, on the cheap built-in dataset.
    const data = loadBuiltinDataset('synthetic');
    const size = data.classes * data.features + data.classes;
    const heldOutLoss = (eta: number) => {
      const objective = linearObjective('softmax', data, 64, new Float32Array(size));
      const w = new Float32Array(size);
      const rng = createRng(1);
      for (let step = 0; step < 500; step++) {
        const { grad } = objective.gradient(w, rng);
        for (let i = 0; i < size; i++) w[i] = (w[i] as number) - eta * (grad[i] as number);
      }
      return objective.evaluate(w).loss;
    };
    const untrained = linearObjective('softmax', data, 64, new Float32Array(size)).evaluate(
      new Float32Array(size),
    ).loss;
    const best = heldOutLoss(0.4);
    expect(best).toBeLessThan(untrained / 2);
    expect(heldOutLoss(MAX_STEP_SIZE)).toBeGreaterThan(best * 1.5);
    expect(heldOutLoss(15)).toBeGreaterThan(untrained);
  });
});

describe('straggler delays of accepted specs', () => {
  /** A uniform source replaying `values`, then 0. */
  const replay = (values: readonly number[]) => {
    let i = 0;
    return { next: () => values[i++] ?? 0 };
  };
  // The extremes of [0, 1): 0 and the largest double below 1, 1 - 2^-53 (1 - U is never 0).
  const uniform = fc.oneof(
    fc.constantFrom(0, 1 - 2 ** -53, 1 - 2 ** -32),
    fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  );
  const within = (min: number, max: number) =>
    fc.oneof(fc.constantFrom(min, max), fc.double({ min, max, noNaN: true }));
  const acceptedStragglers = fc.oneof(
    fc.record({ distribution: fc.constant('exp'), rate: within(0.01, 1e6) }),
    fc.record({ distribution: fc.constant('shifted-exp'), shift: within(0, 900), rate: within(0.01, 1e6) }),
    fc.record({
      distribution: fc.constant('pareto'),
      scale: within(Number.MIN_VALUE, 900),
      shape: within(0.1, 1000),
    }),
  );
  const finiteDelays = (stragglers: unknown, us: readonly number[]) => {
    const spec = parseJobSpec({ model: 'softmax', dataset: 'mnist', stragglers });
    const random = replay(us);
    for (let i = 0; i < us.length; i++) {
      const delay = sampleStragglerDelay(spec.stragglers, random);
      if (!(Number.isFinite(delay) && delay >= 0 && delay <= MAX_JOB_SECONDS)) return false;
    }
    return true;
  };

  it('are finite and at most MAX_JOB_SECONDS for every spec within the bounds', () => {
    fc.assert(
      fc.property(acceptedStragglers, fc.array(uniform, { minLength: 1, maxLength: 20 }), finiteDelays),
      {
        numRuns: 2000,
      },
    );
  });

  it('are finite for whatever spec parseJobSpec accepts, out-of-range, NaN and infinite values tried', () => {
    const anyNumber = fc.oneof(fc.double(), within(0, 1e7), fc.constantFrom(0.01, 900, 0.1, 1000, 1e6));
    const anyStragglers = fc.record({
      distribution: fc.constantFrom('exp', 'shifted-exp', 'pareto'),
      rate: anyNumber,
      shift: anyNumber,
      scale: anyNumber,
      shape: anyNumber,
    });
    let accepted = 0;
    fc.assert(
      fc.property(anyStragglers, fc.array(uniform, { minLength: 1, maxLength: 20 }), (raw, us) => {
        const { distribution } = raw;
        const stragglers =
          distribution === 'exp'
            ? { distribution, rate: raw.rate }
            : distribution === 'shifted-exp'
              ? { distribution, shift: raw.shift, rate: raw.rate }
              : { distribution, scale: raw.scale, shape: raw.shape };
        try {
          parseJobSpec({ model: 'softmax', dataset: 'mnist', stragglers });
        } catch (error) {
          if (error instanceof ValidationError && error.field.startsWith('stragglers.')) return true;
          throw error;
        }
        accepted++;
        return finiteDelays(stragglers, us);
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });
});
