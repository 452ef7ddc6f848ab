import { closedForm, expectedOrderStatistic, harmonic, syncOverAsync } from '../../../sim/closed-forms';
import type { TimeDistribution } from '../../../sim/distributions';

const exp: TimeDistribution = { distribution: 'exp', rate: 2 };

describe('closed forms (PAPERS.md §1)', () => {
  it('harmonic numbers', () => {
    expect(harmonic(0)).toBe(0);
    expect(harmonic(1)).toBe(1);
    expect(harmonic(4)).toBeCloseTo(25 / 12, 12);
  });

  it('reproduces the paper’s E[T_sync] / E[T_async] = P H_P for exponential delays', () => {
    const ratios = [8, 16, 32, 100].map((p) => syncOverAsync(p, { distribution: 'exp', rate: 1 }) as number);
    expect(ratios.map((r) => Number(r.toFixed(1)))).toEqual([21.7, 54.1, 129.9, 518.7]);
    // Shifted exponential: P (D + H_P / mu) / (D + 1 / mu).
    const shifted = syncOverAsync(8, { distribution: 'shifted-exp', shift: 0.5, rate: 2 }) as number;
    expect(shifted).toBeCloseTo((8 * (0.5 + harmonic(8) / 2)) / (0.5 + 1 / 2), 10);
  });

  it('gives each variant its form', () => {
    const p = 10;
    const k = 4;
    const orderStat = (harmonic(10) - harmonic(6)) / 2;
    expect(closedForm('k-sync', p, k, exp)).toMatchObject({ value: orderStat, kind: 'exact' });
    expect(closedForm('k-async', p, k, exp)).toMatchObject({ value: orderStat, kind: 'exact' });
    expect(closedForm('sync', p, p, exp)?.value).toBeCloseTo(harmonic(10) / 2, 12);
    expect(closedForm('k-batch-sync', p, k, exp)?.value).toBeCloseTo(4 / 20, 12);
    expect(closedForm('k-batch-async', p, k, exp)?.value).toBeCloseTo(4 / 20, 12);
    expect(closedForm('async', p, 1, exp)?.value).toBeCloseTo(1 / 20, 12);
    const shifted: TimeDistribution = { distribution: 'shifted-exp', shift: 1, rate: 2 };
    expect(closedForm('k-batch-async', p, k, shifted)?.value).toBeCloseTo((4 * 1.5) / 10, 12);
    expect(closedForm('k-sync', p, k, shifted)?.value).toBeCloseTo(1 + orderStat, 12);
    // Only bounds, or nothing, where the paper gives none.
    expect(closedForm('k-async', p, k, shifted)).toMatchObject({ value: 1 + orderStat, kind: 'upper-bound' });
    expect(closedForm('k-batch-sync', p, k, shifted)).toBeUndefined();
    expect(closedForm('k-async', p, k, { distribution: 'pareto', scale: 1, shape: 3 })).toBeUndefined();
    expect(closedForm('async', p, 1, { distribution: 'pareto', scale: 1, shape: 1 })).toBeUndefined();
  });

  it('Pareto order statistics match a numerical integral, and are infinite past the tail index', () => {
    const pareto = { distribution: 'pareto', scale: 2, shape: 2.5 } as const;
    // E[X_{K:P}] = int_0^inf P(X_{K:P} > x) dx, with P(X > x) = (scale / x)^shape beyond scale.
    const numeric = (k: number, p: number) => {
      let sum = pareto.scale; // below the scale every draw exceeds x
      const survival = (x: number) => binomialBelow(p, 1 - (pareto.scale / x) ** pareto.shape, k);
      // Substitute x = scale * exp(u): dx = x du.
      const du = 1e-4;
      for (let u = du / 2; u < 40; u += du) {
        const x = pareto.scale * Math.exp(u);
        sum += survival(x) * x * du;
      }
      return sum;
    };
    for (const [k, p] of [
      [1, 1],
      [3, 5],
      [5, 5],
    ] as const) {
      expect(expectedOrderStatistic(pareto, k, p)).toBeCloseTo(numeric(k, p), 3);
    }
    // The maximum of 4 draws with shape 1/2 has no mean; their minimum is Pareto(1, 4 * 0.5), mean 2.
    expect(expectedOrderStatistic({ distribution: 'pareto', scale: 1, shape: 0.5 }, 4, 4)).toBeUndefined();
    expect(expectedOrderStatistic({ distribution: 'pareto', scale: 1, shape: 0.5 }, 1, 4)).toBeCloseTo(2, 12);
  });

  it('empirical order statistics are exact: all P-tuples of a small sample set', () => {
    const samples = [0.5, 1, 1, 4];
    for (const p of [1, 2, 3]) {
      for (let k = 1; k <= p; k++) {
        let sum = 0;
        let count = 0;
        const visit = (prefix: number[]) => {
          if (prefix.length === p) {
            sum += [...prefix].sort((a, b) => a - b)[k - 1] as number;
            count++;
            return;
          }
          for (const s of samples) visit([...prefix, s]);
        };
        visit([]);
        expect(expectedOrderStatistic({ distribution: 'empirical', samples }, k, p)).toBeCloseTo(
          sum / count,
          12,
        );
      }
    }
    // At P = 1000 the log-space binomial neither underflows nor overflows.
    const big = expectedOrderStatistic(
      { distribution: 'empirical', samples: [1, 2, 3, 4] },
      500,
      1000,
    ) as number;
    expect(big).toBeGreaterThan(2);
    expect(big).toBeLessThan(3);
  });

  it('rejects K outside [1, P]', () => {
    expect(() => expectedOrderStatistic(exp, 0, 3)).toThrow(RangeError);
    expect(() => expectedOrderStatistic(exp, 4, 3)).toThrow(RangeError);
  });
});

/** P(Bin(n, q) < k), directly. */
function binomialBelow(n: number, q: number, k: number): number {
  let sum = 0;
  let choose = 1;
  for (let i = 0; i < k; i++) {
    sum += choose * q ** i * (1 - q) ** (n - i);
    choose = (choose * (n - i)) / (i + 1);
  }
  return sum;
}
