import { type JobSpec, parseJobSpec } from '../../../engine/spec';
import type { VariantName } from '../../../engine/variants';
import { loadBuiltinDataset } from '../../../model/datasets';
import { buildModel } from '../../../model/zoo';
import { runCheck } from '../../../sim/check';
import { closedForm } from '../../../sim/closed-forms';
import type { TimeDistribution } from '../../../sim/distributions';
import { softmaxObjective } from '../../../sim/objective';
import { type SimulatedCommit, type SimulationConfig, simulate } from '../../../sim/simulator';

const exp: TimeDistribution = { distribution: 'exp', rate: 1 };
const shiftedExp: TimeDistribution = { distribution: 'shifted-exp', shift: 0.5, rate: 2 };
const pareto: TimeDistribution = { distribution: 'pareto', scale: 1, shape: 3 };

function specFor(variant: VariantName, learners: number, k?: number, extra: object = {}): JobSpec {
  const fixed = variant === 'sync' || variant === 'async';
  return parseJobSpec({
    model: 'softmax',
    dataset: 'synthetic',
    variant,
    learners,
    ...(fixed ? {} : { k }),
    ...extra,
  });
}

const run = (
  spec: JobSpec,
  computeTime: TimeDistribution,
  iterations: number,
  more: Partial<SimulationConfig> = {},
) => simulate({ spec, iterations, computeTime, ...more });

describe('simulator against the closed forms', () => {
  it('gives E[T] within 2% of every exact closed form, exp and shifted-exp, at several (P, K)', () => {
    const report = runCheck({ learners: [4, 12], distributions: [exp, shiftedExp] });
    const exact = report.rows.filter((r) => r.kind === 'exact');
    // Every variant has an exact form for the exponential; all but K-batch-sync and K-async for the shifted one.
    expect(new Set(exact.filter((r) => r.distribution.startsWith('exp')).map((r) => r.variant)).size).toBe(6);
    expect(exact.length).toBeGreaterThanOrEqual(30);
    for (const row of exact) {
      // Enough updates for the tolerance: the check aims at a standard error of a quarter of it
      // (estimated by batch means, itself noisy), so it stays well under a third.
      expect(row.stdErr / row.simulated).toBeLessThan(0.02 / 3);
      expect(Math.abs(row.relativeError)).toBeLessThanOrEqual(0.02);
    }
    // K-async under shifted-exp delays stays below the paper's bound E[X_{K:P}].
    const bounds = report.rows.filter((r) => r.kind === 'upper-bound');
    expect(bounds.length).toBeGreaterThan(0);
    for (const row of bounds) expect(row.relativeError).toBeLessThanOrEqual(0.02);
    expect(report.ok).toBe(true);
  }, 120_000); // about 8 s of CPU; room for a shared machine

  it('flags a mismatch when the tolerance cannot be met', () => {
    const report = runCheck({
      learners: [4],
      distributions: [exp],
      variants: ['k-sync'],
      tolerance: () => 1e-6,
      maxIterations: 2000,
    });
    expect(report.ok).toBe(false);
    expect(report.rows.some((r) => !r.ok)).toBe(true);
  });

  it.each([
    ['exp', exp],
    ['shifted-exp', shiftedExp],
    ['pareto', pareto],
  ])('orders per-iteration times K-batch-async <= K-async <= K-sync (%s)', (name, dist) => {
    for (const [p, k] of [
      [8, 2],
      [16, 8],
    ] as const) {
      const time = (variant: VariantName) => run(specFor(variant, p, k), dist, 8000);
      const [batchAsync, kAsync, kSync] = [time('k-batch-async'), time('k-async'), time('k-sync')];
      // "<=" up to sampling noise: for the exponential K-async and K-sync have the same E[T].
      const noise = (a: typeof kAsync, b: typeof kAsync) =>
        3 * Math.sqrt(a.iterationTimeStdErr ** 2 + b.iterationTimeStdErr ** 2);
      expect(batchAsync.meanIterationTime).toBeLessThanOrEqual(
        kAsync.meanIterationTime + noise(batchAsync, kAsync),
      );
      expect(kAsync.meanIterationTime).toBeLessThanOrEqual(kSync.meanIterationTime + noise(kAsync, kSync));
      if (name !== 'exp') {
        // Not memoryless: the work K-async keeps makes it strictly faster than K-sync, which restarts it.
        expect(kAsync.meanIterationTime).toBeLessThan(0.95 * kSync.meanIterationTime);
      }
      expect(batchAsync.meanIterationTime).toBeLessThan(0.97 * kAsync.meanIterationTime);
    }
  });
});

describe('simulator semantics', () => {
  it('drives the protocol: K distinct learners per k-async round, fresh gradients only in sync variants', () => {
    const commits: SimulatedCommit[] = [];
    run(specFor('k-async', 6, 3), exp, 500, { onCommit: (c) => commits.push(c) });
    expect(commits.map((c) => c.version)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    for (const c of commits) {
      expect(c.round).toHaveLength(3);
      expect(new Set(c.round.map((e) => e.learner)).size).toBe(3);
      expect(c.staleness).toEqual(c.round.map((e) => c.version - 1 - e.version));
    }
    expect(commits.some((c) => c.staleness.some((s) => s > 0))).toBe(true);

    for (const variant of ['sync', 'k-sync', 'k-batch-sync'] as const) {
      const staleness: number[] = [];
      run(specFor(variant, 6, 3), exp, 300, { onCommit: (c) => staleness.push(...c.staleness) });
      expect(Math.max(...staleness)).toBe(0);
    }
    // k-batch-sync may take several gradients of one learner in a round; k-sync never does.
    const repeats = (variant: VariantName) => {
      let count = 0;
      run(specFor(variant, 4, 4), exp, 2000, {
        onCommit: (c) => {
          if (new Set(c.round.map((e) => e.learner)).size < c.round.length) count++;
        },
      });
      return count;
    };
    expect(repeats('k-batch-sync')).toBeGreaterThan(0);
    expect(repeats('k-sync')).toBe(0);
  });

  it('async staleness averages P - 1 (each gradient waits out one compute time of the others)', () => {
    const result = run(specFor('async', 10), exp, 20000);
    expect(result.staleness.mean).toBeGreaterThan(8.7);
    expect(result.staleness.mean).toBeLessThan(9.3);
  });

  it('rejecting stale work (the live engine) is slower than cancelling it (the paper), and counts rejections', () => {
    const spec = specFor('k-sync', 8, 2);
    const cancel = run(spec, shiftedExp, 6000, { staleWork: 'cancel' });
    const reject = run(spec, shiftedExp, 6000, { staleWork: 'reject' });
    expect(cancel.gradients.rejected).toBe(0);
    expect(cancel.gradients.cancelled).toBeGreaterThan(0);
    expect(reject.gradients.rejected).toBeGreaterThan(0);
    expect(reject.gradients.cancelled).toBe(0);
    expect(reject.meanIterationTime).toBeGreaterThan(1.1 * cancel.meanIterationTime);
    const form = closedForm('k-sync', 8, 2, shiftedExp)?.value as number;
    expect(Math.abs(cancel.meanIterationTime / form - 1)).toBeLessThan(0.03);
  });

  it('adds storage latency on the critical path: one step is compute + PUT + arrive, a commit three operations', () => {
    // One learner, async, constant times: fetch is cached after its own commit, so a cycle is
    // compute (1) + PUT gradient + arrive + GET gradient + PUT weights || commit item + commit = 1 + 5 L.
    const result = run(specFor('async', 1), { distribution: 'constant', seconds: 1 }, 50, {
      storageLatency: { distribution: 'constant', seconds: 0.1 },
    });
    expect(result.meanIterationTime).toBeCloseTo(1.5, 9);
    // The first step also reads the job item and fetches w[0]: 0.2 s more.
    expect(result.virtualSeconds).toBeCloseTo(50 * 1.5 + 0.2, 9);
  });

  it('polling like the engine delays waiting learners; cold starts delay the start', () => {
    const spec = specFor('k-async', 4, 2);
    const latency: TimeDistribution = { distribution: 'constant', seconds: 0.002 };
    const compute: TimeDistribution = { distribution: 'exp', rate: 20 };
    const notified = run(spec, compute, 3000, { storageLatency: latency });
    const polled = run(spec, compute, 3000, { storageLatency: latency, polling: true });
    expect(polled.meanIterationTime).toBeGreaterThan(notified.meanIterationTime * 1.02);
    const cold = run(spec, compute, 3000, {
      storageLatency: latency,
      coldStart: { distribution: 'constant', seconds: 5 },
    });
    expect(cold.virtualSeconds - notified.virtualSeconds).toBeGreaterThan(4);
    expect(cold.meanIterationTime / notified.meanIterationTime).toBeGreaterThan(0.9);
    expect(cold.meanIterationTime / notified.meanIterationTime).toBeLessThan(1.1);
  });

  it('adds the spec’s straggler delay to the compute time, and samples empirical durations', () => {
    const spec = specFor('async', 4, undefined, { stragglers: { distribution: 'exp', rate: 2 } });
    const result = run(spec, { distribution: 'constant', seconds: 0.5 }, 20000);
    // Renewal: E[T] = (0.5 + 1/2) / 4.
    expect(result.meanIterationTime).toBeCloseTo(0.25, 2);
    const empirical: TimeDistribution = { distribution: 'empirical', samples: [0.2, 0.2, 1, 3] };
    const kSync = run(specFor('k-sync', 5, 2), empirical, 20000);
    const form = closedForm('k-sync', 5, 2, empirical)?.value as number;
    expect(Math.abs(kSync.meanIterationTime / form - 1)).toBeLessThan(0.02);
  });

  it('serializes commits: with arrivals outpacing them, async variants hit the 2K backlog and wait', () => {
    // Compute 10 ms, storage 5 ms per operation: a commit (GET || ..., PUT || PUT, commit) takes 15 ms
    // while 16 learners arrive every ~1.3 ms, so the aggregator sets the pace.
    const result = run(specFor('k-batch-async', 16, 2), { distribution: 'exp', rate: 100 }, 2000, {
      storageLatency: { distribution: 'constant', seconds: 0.005 },
    });
    expect(result.meanIterationTime).toBeCloseTo(0.015, 9);
    // Never more than 2K pending; the refused learners retry the same gradient, ever staler.
    expect(result.gradients.pushed - result.gradients.applied).toBeLessThanOrEqual(4);
    expect(result.staleness.max).toBeGreaterThan(10);
  });

  it('is deterministic in its seed', () => {
    const a = run(specFor('k-async', 8, 3), pareto, 2000);
    const b = run(specFor('k-async', 8, 3), pareto, 2000);
    const c = run(specFor('k-async', 8, 3, { seed: 2 }), pareto, 2000);
    expect(b).toEqual(a);
    expect(c.meanIterationTime).not.toBe(a.meanIterationTime);
  });
});

describe('simulated training (softmax regression on synthetic data)', () => {
  const data = loadBuiltinDataset('synthetic');
  const model = buildModel({ kind: 'softmax' }, data);
  const train = (variant: VariantName, iterations: number, lr: object = { eta: 0.5 }, k?: number) => {
    const spec = specFor(variant, 8, k, { batchSize: 8, evalEvery: 20, lr });
    return simulate({
      spec,
      iterations,
      computeTime: exp,
      objective: softmaxObjective(data, 8, model.initParams(spec.seed)),
    });
  };
  const firstTimeBelow = (curve: readonly { time: number; loss: number }[], loss: number) =>
    curve.find((p) => p.loss <= loss)?.time ?? Number.POSITIVE_INFINITY;
  const tailLoss = (curve: readonly { time: number; loss: number }[]) => {
    const end = curve[curve.length - 1]?.time ?? 0;
    const tail = curve.filter((p) => p.time >= (2 * end) / 3);
    return tail.reduce((s, p) => s + p.loss, 0) / tail.length;
  };

  it('at a fixed learning rate, async reaches a given loss sooner but settles higher than sync', () => {
    // Same virtual time budget: E[T_sync] / E[T_async] = P H_P = 21.7 at P = 8.
    const sync = train('sync', 600);
    const asyncRun = train('async', 13000);
    expect(Math.abs(asyncRun.virtualSeconds / sync.virtualSeconds - 1)).toBeLessThan(0.1);
    expect(sync.curve[0]?.loss).toBeGreaterThan(1.5);
    expect(firstTimeBelow(asyncRun.curve, 0.8)).toBeLessThan(firstTimeBelow(sync.curve, 0.8) / 3);
    expect(tailLoss(asyncRun.curve)).toBeGreaterThan(tailLoss(sync.curve) + 0.05);
    expect(sync.finalAccuracy).toBeGreaterThan(0.7);
  });

  it('AdaSync grows K on the virtual clock as the loss falls', () => {
    const sizes: number[] = [];
    const spec = specFor('k-async', 16, 2, {
      batchSize: 8,
      lr: { eta: 0.5 },
      adasync: { intervalSeconds: 2 },
    });
    simulate({
      spec,
      iterations: 600,
      computeTime: exp,
      objective: softmaxObjective(data, 8, model.initParams(spec.seed)),
      onCommit: (c) => sizes.push(c.round.length),
    });
    expect(sizes[0]).toBe(2);
    expect(Math.max(...sizes.slice(-50))).toBeGreaterThan(2);
  });

  it('uses the engine’s schedules: dutta-joshi etas stay at or under etaMax and differ from a constant rate', () => {
    const etas: number[] = [];
    const spec = specFor('async', 8, undefined, {
      batchSize: 8,
      lr: { schedule: 'dutta-joshi', eta: 0.5, C: 0.001 },
    });
    simulate({
      spec,
      iterations: 400,
      computeTime: exp,
      objective: softmaxObjective(data, 8, model.initParams(spec.seed)),
      onCommit: (c) => etas.push(...(c.etas ?? [])),
    });
    expect(etas).toHaveLength(400);
    expect(Math.max(...etas)).toBeLessThanOrEqual(0.5);
    expect(Math.min(...etas)).toBeLessThan(0.5);
    const staleness = train('async', 400, { schedule: 'staleness', eta: 0.5 });
    expect(staleness.finalLoss).toBeLessThan(staleness.curve[0]?.loss as number);
  });
});
