import fc from 'fast-check';
import { nextK } from '../../../engine/adasync';
import { learningRate, squaredDistance } from '../../../engine/lr';
import { parseJobSpec } from '../../../engine/spec';
import { sampleStragglerDelay } from '../../../engine/stragglers';
import { addStaleness, applyUpdate } from '../../../engine/update';
import { WeightsCache } from '../../../engine/weights-cache';
import { createRng } from '../../../model/random';

describe('applyUpdate', () => {
  it('computes w - (1/K) sum eta_i g_i', () => {
    const next = applyUpdate(
      new Float32Array([1, 2]),
      [new Float32Array([1, 0]), new Float32Array([3, 4])],
      [0.5, 0.25],
    );
    // (0.5*1 + 0.25*3)/2 = 0.625 ; (0 + 0.25*4)/2 = 0.5
    expect(Array.from(next)).toEqual([1 - 0.625, 2 - 0.5]);
  });

  it('is bit-for-bit deterministic for the same inputs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer(),
        (k, n, seed) => {
          const rng = createRng(seed);
          const w = Float32Array.from({ length: n }, () => rng.normal());
          const grads = Array.from({ length: k }, () => Float32Array.from({ length: n }, () => rng.normal()));
          const etas = grads.map(() => rng.next());
          const a = applyUpdate(w, grads, etas);
          const b = applyUpdate(
            Float32Array.from(w),
            grads.map((g) => Float32Array.from(g)),
            [...etas],
          );
          expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
        },
      ),
    );
  });

  it('refuses mismatched lengths', () => {
    expect(() => applyUpdate(new Float32Array(2), [new Float32Array(3)], [1])).toThrow(/3 values/);
    expect(() => applyUpdate(new Float32Array(2), [new Float32Array(2)], [])).toThrow(/one eta per gradient/);
  });
});

describe('addStaleness', () => {
  it('keeps sum, max and a capped histogram', () => {
    const stats = addStaleness(
      addStaleness({ applied: 0, sum: 0, max: 0, histogram: [] }, [0, 2, 2]),
      [40],
      4,
    );
    expect(stats).toEqual({ applied: 4, sum: 44, max: 40, histogram: [1, 0, 2, 1] });
  });
});

describe('learningRate', () => {
  const lr = (input: object) => parseJobSpec({ model: 'mlp', dataset: 'mnist', lr: input }).lr;

  it('constant ignores staleness', () => {
    expect(learningRate(lr({ eta: 0.2 }), { staleness: 7 })).toBe(0.2);
  });

  it('staleness divides by max(1, tau)', () => {
    const schedule = lr({ schedule: 'staleness', eta: 0.2 });
    expect(learningRate(schedule, { staleness: 0 })).toBe(0.2);
    expect(learningRate(schedule, { staleness: 4 })).toBeCloseTo(0.05);
  });

  it('dutta-joshi is min(C / ||w - w_old||^2, etaMax), etaMax when fresh', () => {
    const schedule = lr({ schedule: 'dutta-joshi', eta: 0.1, C: 0.01, etaMax: 0.5 });
    const distance = squaredDistance(new Float32Array([1, 1]), new Float32Array([0, 1]));
    expect(distance).toBe(1);
    expect(learningRate(schedule, { staleness: 0 })).toBe(0.5);
    expect(learningRate(schedule, { staleness: 2, distanceSq: () => distance })).toBeCloseTo(0.01);
    expect(learningRate(schedule, { staleness: 2, distanceSq: () => 0.001 })).toBe(0.5);
  });
});

describe('sampleStragglerDelay', () => {
  const mean = (spec: Parameters<typeof sampleStragglerDelay>[0]) => {
    const rng = createRng(3);
    let sum = 0;
    for (let i = 0; i < 20_000; i++) sum += sampleStragglerDelay(spec, rng);
    return sum / 20_000;
  };

  it('has the mean of each distribution', () => {
    expect(mean({ distribution: 'none' })).toBe(0);
    expect(mean({ distribution: 'exp', rate: 4 })).toBeCloseTo(0.25, 1);
    expect(mean({ distribution: 'shifted-exp', shift: 0.1, rate: 10 })).toBeCloseTo(0.2, 1);
    // Pareto mean = scale * shape / (shape - 1) for shape > 1.
    expect(mean({ distribution: 'pareto', scale: 0.1, shape: 3 })).toBeCloseTo(0.15, 1);
  });
});

describe('WeightsCache', () => {
  it('shares one load per version and evicts the oldest', async () => {
    const loads: number[] = [];
    const cache = new WeightsCache(2, async (v) => {
      loads.push(v);
      return new Float32Array([v]);
    });
    await Promise.all([cache.get(1), cache.get(1)]);
    cache.put(2, new Float32Array([2]));
    cache.put(3, new Float32Array([3]));
    expect((await cache.get(3))[0]).toBe(3);
    await cache.get(1);
    expect(loads).toEqual([1, 1]);
  });

  it('forgets a failed load so it can be retried', async () => {
    let fail = true;
    const cache = new WeightsCache(2, async () => {
      if (fail) throw new Error('boom');
      return new Float32Array([1]);
    });
    await expect(cache.get(0)).rejects.toThrow('boom');
    fail = false;
    expect((await cache.get(0))[0]).toBe(1);
  });
});

describe('nextK (AdaSync)', () => {
  const spec = (adasync?: object) =>
    parseJobSpec({
      model: 'mlp',
      dataset: 'mnist',
      variant: 'k-async',
      learners: 8,
      k: 2,
      ...(adasync ? { adasync } : {}),
    });

  it('keeps K fixed without adasync', () => {
    const first = nextK(spec(), undefined, 2.3, 0);
    expect(nextK(spec(), first, 0.1, 60_000).k).toBe(2);
  });

  it('grows K as sqrt(F(w0) / F(wt)), only once per interval, capped at P', () => {
    const s = spec({ intervalSeconds: 10 });
    let state = nextK(s, undefined, 2.0, 0);
    expect(state).toMatchObject({ k: 2, initialLoss: 2.0 });
    // The smoothed loss falls towards 0.5; before the interval ends K does not move.
    for (let t = 1; t <= 50; t++) state = nextK(s, { ...state, kUpdatedAt: 0 }, 0.5, 5_000);
    expect(state.k).toBe(2);
    state = nextK(s, state, 0.5, 10_000);
    // K0 * sqrt(2.0 / ~0.5) = 2 * 2 = 4.
    expect(state.k).toBe(4);
    expect(state.kUpdatedAt).toBe(10_000);
    state = nextK(s, { ...state, lossEma: 0.001 }, 0.001, 30_000);
    expect(state.k).toBe(8);
  });

  it('is refused for variants with a fixed K', () => {
    expect(() => parseJobSpec({ model: 'mlp', dataset: 'mnist', variant: 'sync', adasync: {} })).toThrow(
      /adasync/,
    );
  });
});
