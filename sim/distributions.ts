import { z } from 'zod';
import { jobSpecSchema, type StragglerSpec } from '../engine/spec';
import { sampleStragglerDelay } from '../engine/stragglers';
import type { Rng } from '../model/random';

/**
 * Durations in seconds: compute time per mini-batch, storage latency per operation, cold starts.
 * The parametric ones are the job spec's straggler distributions (same names, same parameters,
 * sampled by the engine's `sampleStragglerDelay`); `empirical` draws uniformly from measured
 * durations (e.g. exported from a real job), `constant` is a fixed duration.
 */
export type TimeDistribution =
  | StragglerSpec
  | { readonly distribution: 'constant'; readonly seconds: number }
  | { readonly distribution: 'empirical'; readonly samples: readonly number[] };

const stragglerOptions = jobSpecSchema.shape.stragglers.unwrap().options;

export const timeDistributionSchema = z.discriminatedUnion('distribution', [
  ...stragglerOptions,
  z.strictObject({ distribution: z.literal('constant'), seconds: z.number().min(0) }),
  z.strictObject({
    distribution: z.literal('empirical'),
    samples: z.array(z.number().min(0).finite()).min(1),
  }),
]);

/** A plain number means a constant duration in seconds. */
export const durationSchema = z
  .union([z.number().min(0), timeDistributionSchema])
  .transform(
    (value): TimeDistribution =>
      typeof value === 'number' ? { distribution: 'constant', seconds: value } : value,
  );

export const ZERO: TimeDistribution = { distribution: 'none' };

export type Sampler = (rng: Rng) => number;

export function createSampler(dist: TimeDistribution): Sampler {
  switch (dist.distribution) {
    case 'constant': {
      const { seconds } = dist;
      return () => seconds;
    }
    case 'empirical': {
      const samples = Float64Array.from(dist.samples);
      return (rng) => samples[rng.int(samples.length)] as number;
    }
    case 'none':
      return () => 0;
    default:
      return (rng) => sampleStragglerDelay(dist, rng);
  }
}

/** True when every draw is 0, so the simulator may skip drawing. */
export function isZero(dist: TimeDistribution): boolean {
  return (
    dist.distribution === 'none' ||
    (dist.distribution === 'constant' && dist.seconds === 0) ||
    (dist.distribution === 'empirical' && dist.samples.every((s) => s === 0))
  );
}

/** E[X], or undefined when it is infinite (Pareto with shape <= 1). */
export function meanOf(dist: TimeDistribution): number | undefined {
  switch (dist.distribution) {
    case 'none':
      return 0;
    case 'constant':
      return dist.seconds;
    case 'empirical':
      return dist.samples.reduce((a, b) => a + b, 0) / dist.samples.length;
    case 'exp':
      return 1 / dist.rate;
    case 'shifted-exp':
      return dist.shift + 1 / dist.rate;
    case 'pareto':
      return dist.shape > 1 ? (dist.scale * dist.shape) / (dist.shape - 1) : undefined;
  }
}

/** The sum of two independent durations, as a sampler (compute time plus injected straggler delay). */
export function sumSampler(a: TimeDistribution, b: TimeDistribution): Sampler {
  if (isZero(b)) return createSampler(a);
  if (isZero(a)) return createSampler(b);
  const sa = createSampler(a);
  const sb = createSampler(b);
  return (rng) => sa(rng) + sb(rng);
}

export function describe(dist: TimeDistribution): string {
  switch (dist.distribution) {
    case 'none':
      return 'none';
    case 'constant':
      return `constant(${dist.seconds})`;
    case 'empirical':
      return `empirical(${dist.samples.length} samples)`;
    case 'exp':
      return `exp(rate ${dist.rate})`;
    case 'shifted-exp':
      return `shifted-exp(shift ${dist.shift}, rate ${dist.rate})`;
    case 'pareto':
      return `pareto(scale ${dist.scale}, shape ${dist.shape})`;
  }
}
