import { ValidationError } from '../../../engine/errors';
import { runPlan } from '../../../sim/run';
import { parseSimulationSpec } from '../../../sim/spec';

const base = {
  model: 'softmax',
  dataset: 'synthetic',
  learners: 8,
  k: 3,
  sim: { iterations: 100, computeTime: { distribution: 'exp', rate: 2 } },
};

const fieldOf = (input: unknown): string => {
  try {
    parseSimulationSpec(input);
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
  throw new Error('expected a ValidationError');
};

describe('simulation spec', () => {
  it('is a job spec plus sim, with the closed forms’ defaults', () => {
    const plan = parseSimulationSpec(base);
    expect(plan.spec).toMatchObject({ variant: 'k-async', learners: 8, k: 3 });
    expect(plan.sim).toMatchObject({ iterations: 100, staleWork: 'cancel', polling: false, objective: true });
    expect(plan.sim.storageLatency).toBeUndefined();
    expect(plan.runs.map((r) => r.label)).toEqual(['k-async K=3 constant']);
  });

  it('expands variants and schedules; fixed-K variants ignore the spec’s k', () => {
    const plan = parseSimulationSpec({
      ...base,
      sim: {
        ...base.sim,
        storageLatency: 0.01,
        variants: ['sync', 'async', { variant: 'k-batch-async', k: 6 }, 'k-sync'],
        schedules: ['constant', { schedule: 'dutta-joshi', eta: 0.2, C: 0.01 }],
      },
    });
    expect(plan.sim.storageLatency).toEqual({ distribution: 'constant', seconds: 0.01 });
    expect(plan.runs.map((r) => r.label)).toEqual([
      'sync K=8 constant',
      'sync K=8 dutta-joshi',
      'async K=1 constant',
      'async K=1 dutta-joshi',
      'k-batch-async K=6 constant',
      'k-batch-async K=6 dutta-joshi',
      'k-sync K=3 constant',
      'k-sync K=3 dutta-joshi',
    ]);
    expect(plan.runs[1]?.spec.lr).toMatchObject({ schedule: 'dutta-joshi', eta: 0.2, C: 0.01, etaMax: 0.2 });
  });

  it('names the offending field', () => {
    expect(fieldOf({ ...base, sim: undefined })).toBe('sim');
    expect(fieldOf({ ...base, sim: 3 })).toBe('sim');
    expect(fieldOf({ ...base, learners: 0 })).toBe('learners');
    expect(fieldOf({ ...base, sim: { computeTime: { distribution: 'exp', rate: -1 } } })).toBe(
      'sim.computeTime.rate',
    );
    expect(fieldOf({ ...base, sim: { computeTime: { distribution: 'gamma' } } })).toBe(
      'sim.computeTime.distribution',
    );
    expect(
      fieldOf({ ...base, sim: { ...base.sim, computeTime: { distribution: 'empirical', samples: [] } } }),
    ).toBe('sim.computeTime.samples');
    expect(fieldOf({ ...base, sim: { ...base.sim, warp: 9 } })).toBe('sim.warp');
    expect(fieldOf({ ...base, sim: { ...base.sim, storageLatency: -1 } })).toBe('sim.storageLatency');
    expect(
      fieldOf({ ...base, sim: { ...base.sim, variants: ['k-async', { variant: 'k-sync', k: 9 }] } }),
    ).toBe('sim.variants.1.k');
    expect(fieldOf({ ...base, sim: { ...base.sim, schedules: ['constant', { eta: -2 }] } })).toBe(
      'sim.schedules.1.eta',
    );
    expect(fieldOf({ ...base, sim: { ...base.sim, variants: ['k-async', 'k-async'] } })).toBe('sim.variants');
  });

  it('trains softmax only, unless the objective is off', () => {
    const mlp = parseSimulationSpec({ ...base, model: 'mlp' });
    expect(() => runPlan(mlp)).toThrow(expect.objectContaining({ field: 'model' }));
    const timing = runPlan(
      parseSimulationSpec({ ...base, model: 'mlp', sim: { ...base.sim, objective: false } }),
    );
    expect(timing.results[0]).toMatchObject({ finalLoss: null, iterations: 100 });
  });

  it('gives a closed form only in its setting: zero latency, stale work cancelled, a known distribution', () => {
    const closed = (sim: object, extra: object = {}) =>
      runPlan(parseSimulationSpec({ ...base, ...extra, sim: { ...base.sim, objective: false, ...sim } }))
        .results[0]?.closedForm;
    // k-async, P = 8, K = 3, Exp(2): (H_8 - H_5) / 2.
    expect(closed({})).toBeCloseTo((1 / 6 + 1 / 7 + 1 / 8) / 2, 12);
    expect(closed({ storageLatency: 0.01 })).toBeNull();
    expect(closed({ polling: true })).toBeNull();
    expect(closed({ staleWork: 'reject', variants: ['k-sync'] })).toBeNull();
    expect(closed({ staleWork: 'reject', variants: ['k-batch-async'] })).toBeCloseTo(3 / 16, 12);
    // compute time + injected straggler delay: constant + exp is a shifted exponential.
    const shifted = closed(
      { computeTime: { distribution: 'constant', seconds: 1 }, variants: ['k-batch-async'] },
      { stragglers: { distribution: 'exp', rate: 2 } },
    );
    expect(shifted).toBeCloseTo((3 * 1.5) / 8, 12);
    expect(
      closed({ variants: ['k-batch-async'] }, { stragglers: { distribution: 'pareto', scale: 1, shape: 2 } }),
    ).toBeNull();
  });
});
