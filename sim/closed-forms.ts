import type { VariantName } from '../engine/variants';
import { meanOf, type TimeDistribution } from './distributions';

/**
 * The runtime closed forms of Dutta et al. (PAPERS.md §1): expected time between two parameter
 * server updates, zero storage latency, and (sync variants) unfinished work cancelled at each
 * update. X_{K:P} is the K-th smallest of P i.i.d. compute times.
 */

/** H_n = 1 + 1/2 + ... + 1/n (H_0 = 0). */
export function harmonic(n: number): number {
  let sum = 0;
  for (let i = n; i >= 1; i--) sum += 1 / i; // smallest terms first: exact to the last bits
  return sum;
}

/** E[X_{K:P}], or undefined where it has no closed form here or is infinite. */
export function expectedOrderStatistic(dist: TimeDistribution, k: number, p: number): number | undefined {
  if (!Number.isInteger(k) || !Number.isInteger(p) || k < 1 || k > p) {
    throw new RangeError(`order statistic needs 1 <= k <= p, got k=${k}, p=${p}`);
  }
  switch (dist.distribution) {
    case 'none':
      return 0;
    case 'constant':
      return dist.seconds;
    case 'exp':
      return (harmonic(p) - harmonic(p - k)) / dist.rate;
    case 'shifted-exp':
      return dist.shift + (harmonic(p) - harmonic(p - k)) / dist.rate;
    case 'pareto': {
      // E[X_{K:P}] = scale * prod_{i<K} (P-i) / (P-i-1/shape), finite iff P-K+1 > 1/shape.
      const a = 1 / dist.shape;
      if (p - k + 1 <= a) return undefined;
      let value = dist.scale;
      for (let i = 0; i < k; i++) value *= (p - i) / (p - i - a);
      return value;
    }
    case 'empirical':
      return empiricalOrderStatistic(dist.samples, k, p);
  }
}

/**
 * X uniform over the samples: E[X_{K:P}] = x_(1) + sum_j (x_(j+1) - x_(j)) * P(X_{K:P} > x_(j)),
 * and X_{K:P} > x exactly when fewer than K of the P draws are <= x: P(Bin(P, F(x)) < K).
 */
function empiricalOrderStatistic(samples: readonly number[], k: number, p: number): number {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  let value = sorted[0] as number;
  for (let j = 0; j < n - 1; j++) {
    const gap = (sorted[j + 1] as number) - (sorted[j] as number);
    if (gap > 0) value += gap * binomialCdfBelow(p, (j + 1) / n, k);
  }
  return value;
}

/** P(Bin(n, q) < k), summed in log space (terms like (1-q)^1000 underflow). */
function binomialCdfBelow(n: number, q: number, k: number): number {
  if (q <= 0) return 1;
  if (q >= 1) return k > n ? 1 : 0;
  const logQ = Math.log(q);
  const log1Q = Math.log1p(-q);
  let logTerm = n * log1Q; // i = 0
  let max = logTerm;
  const logs = [logTerm];
  for (let i = 0; i < k - 1; i++) {
    logTerm += Math.log((n - i) / (i + 1)) + logQ - log1Q;
    logs.push(logTerm);
    max = Math.max(max, logTerm);
  }
  let sum = 0;
  for (const l of logs) sum += Math.exp(l - max);
  return Math.min(1, Math.exp(max) * sum);
}

export interface ClosedForm {
  /** Expected seconds between two updates. */
  readonly value: number;
  /** `upper-bound`: the paper gives only E[T] <= value (K-async, new-longer-than-used delays). */
  readonly kind: 'exact' | 'upper-bound';
  readonly formula: string;
}

/**
 * E[T] per iteration for a variant with P learners and K, compute time `dist`, or undefined
 * where PAPERS.md §1 gives none. The async and K-batch-async forms are steady-state renewal
 * rates (P superposed renewal processes), valid for any distribution with a finite mean.
 */
export function closedForm(
  variant: VariantName,
  p: number,
  k: number,
  dist: TimeDistribution,
): ClosedForm | undefined {
  const orderStat = () => expectedOrderStatistic(dist, k, p);
  const exact = (value: number | undefined, formula: string): ClosedForm | undefined =>
    value === undefined || !Number.isFinite(value) ? undefined : { value, kind: 'exact', formula };
  const mean = meanOf(dist);
  switch (variant) {
    case 'sync':
    case 'k-sync':
      return exact(orderStat(), variant === 'sync' ? 'E[X_{P:P}]' : 'E[X_{K:P}]');
    case 'k-batch-sync':
      // Each completion is the minimum of P memoryless clocks; only the exponential has a closed form.
      return dist.distribution === 'exp' ? exact(k / (p * dist.rate), 'K / (P mu)') : undefined;
    case 'k-async':
      if (dist.distribution === 'exp') return exact(orderStat(), '(H_P - H_{P-K}) / mu');
      // New-longer-than-used: residual compute times are shorter than fresh ones, so E[T] <= E[X_{K:P}].
      if (isNewBetterThanUsed(dist)) {
        const bound = orderStat();
        return bound === undefined
          ? undefined
          : { value: bound, kind: 'upper-bound', formula: 'E[X_{K:P}] (bound)' };
      }
      return undefined;
    case 'async':
      return exact(mean === undefined ? undefined : mean / p, 'E[X] / P');
    case 'k-batch-async':
      return exact(mean === undefined ? undefined : (k * mean) / p, 'K E[X] / P');
  }
}

/** Distributions whose residual life is stochastically shorter than a fresh draw. */
function isNewBetterThanUsed(dist: TimeDistribution): boolean {
  return (
    dist.distribution === 'shifted-exp' || dist.distribution === 'constant' || dist.distribution === 'none'
  );
}

/** E[T_sync] / E[T_async] = P E[X_{P:P}] / E[X] (exponential: P H_P). */
export function syncOverAsync(p: number, dist: TimeDistribution): number | undefined {
  const maximum = expectedOrderStatistic(dist, p, p);
  const mean = meanOf(dist);
  return maximum === undefined || mean === undefined || mean === 0 ? undefined : (p * maximum) / mean;
}
