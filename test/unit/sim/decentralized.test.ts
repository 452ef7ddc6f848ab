import { loadBuiltinDataset } from '../../../model/datasets';
import { createRng } from '../../../model/random';
import {
  type DecentralizedAlgorithm,
  type DecentralizedSpec,
  labelSkewedShards,
  simulateDecentralized,
} from '../../../sim/decentralized';
import { linearObjective, type Objective } from '../../../sim/objective';

/** f_i(w) = a_i / 2 ||w - b_i||^2 per node; `evaluate` reports the distance to the minimum of the average as `loss`. */
function quadratics(size: number, dimension: number) {
  const rng = createRng(size);
  const a = Array.from({ length: size }, () => 0.5 + rng.next());
  const b = Array.from({ length: size }, () =>
    Float64Array.from({ length: dimension }, () => 4 * rng.normal()),
  );
  const total = a.reduce((sum, value) => sum + value, 0);
  const optimum = Float64Array.from({ length: dimension }, (_, d) =>
    a.reduce((sum, weight, i) => sum + (weight * ((b[i] as Float64Array)[d] as number)) / total, 0),
  );
  const nodes: Objective[] = a.map((weight, i) => ({
    initial: new Float32Array(dimension),
    gradient: (w) => ({
      loss: 0,
      grad: Float32Array.from(w, (value, d) => weight * (value - ((b[i] as Float64Array)[d] as number))),
    }),
    evaluate: () => ({ loss: 0, accuracy: 0 }),
  }));
  const evaluate = (w: Float32Array) => ({
    loss: Math.sqrt(w.reduce((sum, value, d) => sum + (value - (optimum[d] as number)) ** 2, 0)),
    accuracy: 0,
  });
  return { nodes, evaluate };
}

const spec = (
  algorithm: DecentralizedAlgorithm,
  overrides: Partial<DecentralizedSpec> = {},
): DecentralizedSpec => ({
  algorithm,
  topology: 'exponential',
  stepSize: 0.2,
  compute: { distribution: 'shifted-exp', shift: 1, rate: 1 },
  latency: { distribution: 'constant', seconds: 0.05 },
  messageLoss: 0.2,
  seconds: 2000,
  evaluateEvery: 100,
  seed: 1,
  ...overrides,
});

describe('decentralized simulator', () => {
  const problem = quadratics(8, 4);
  const final = (algorithm: DecentralizedAlgorithm) =>
    simulateDecentralized(spec(algorithm), problem).trace.at(-1)?.loss as number;
  const start = simulateDecentralized(spec('allreduce', { seconds: 0 }), problem).trace[0]?.loss as number;

  test('with different data per node and 20% of messages lost, R-FAST and all-reduce reach the minimum of the average; gossip without tracking stops short', () => {
    expect(final('rfast')).toBeLessThan(1e-5);
    expect(final('allreduce')).toBeLessThan(1e-5);
    // The gossip baselines do learn (they end far nearer than they start, at 1.57) but stop short.
    for (const algorithm of ['d-psgd', 'ad-psgd'] as const) {
      expect(final(algorithm)).toBeGreaterThan(1e-2);
      expect(final(algorithm)).toBeLessThan(0.5 * start);
    }
  });

  // Step sizes as large as each graph tolerates (the sparse ring diverges at 0.3).
  test.each([
    ['exponential', 0, 0.2],
    ['exponential', 0.3, 0.2],
    ['ring', 0.3, 0.1],
    ['bidirectional-ring', 0.5, 0.2],
  ] as const)(
    'R-FAST on a %s with %f of messages lost (step %f) ends at the minimum of the average',
    (topology, messageLoss, stepSize) => {
      const result = simulateDecentralized(
        spec('rfast', { topology, messageLoss, stepSize, seconds: 4000 }),
        problem,
      );
      expect(result.trace.at(-1)?.loss).toBeLessThan(1e-5);
      expect(result.lost).toBeGreaterThanOrEqual(0.9 * messageLoss * result.messages);
    },
  );

  test('runs are reproducible from the seed; messages are counted and lost at the given rate', () => {
    const first = simulateDecentralized(spec('rfast', { seconds: 300 }), problem);
    const again = simulateDecentralized(spec('rfast', { seconds: 300 }), problem);
    expect(again).toEqual(first);
    expect(first.trace.map((point) => point.seconds)).toEqual([0, 100, 200, 300]);
    expect(first.lost / first.messages).toBeGreaterThan(0.17);
    expect(first.lost / first.messages).toBeLessThan(0.23);
    // Exponential graph of 8: 3 out-neighbours, so 3 messages per committed gradient; of the
    // gradients counted, 8 are the starting ones and 8 were still being computed at the end.
    expect(first.messages).toBe(3 * (first.gradients - 16));
  });

  test('bad input names the field', () => {
    expect(() => simulateDecentralized(spec('rfast', { messageLoss: 1 }), problem)).toThrow(/messageLoss/);
    const badCompute = {
      distribution: 'shifted-exponential',
      shift: 1,
      rate: 1,
    } as unknown as DecentralizedSpec['compute'];
    expect(() => simulateDecentralized(spec('rfast', { compute: badCompute }), problem)).toThrow(/^compute/);
  });

  test('label-skewed shards partition the rows, a few classes each; R-FAST learns MNIST from them', () => {
    const data = loadBuiltinDataset('mnist');
    const shards = labelSkewedShards(data.train, data.features, 8);
    expect(shards.reduce((total, shard) => total + shard.n, 0)).toBe(data.train.n);
    for (const shard of shards) expect(new Set(shard.y).size).toBeLessThanOrEqual(3);
    const initial = new Float32Array(data.classes * data.features + data.classes);
    const nodes = shards.map((train) => linearObjective('softmax', { ...data, train }, 32, initial));
    const result = simulateDecentralized(
      spec('rfast', {
        stepSize: 0.1,
        seconds: 60,
        evaluateEvery: 60,
        compute: { distribution: 'shifted-exp', shift: 0.05, rate: 20 },
      }),
      { nodes, evaluate: (w) => (nodes[0] as Objective).evaluate(w) },
    );
    expect(result.trace[0]?.accuracy).toBeLessThan(0.2);
    expect(result.trace.at(-1)?.accuracy).toBeGreaterThan(0.85);
  });
});
