import type { StragglerSpec } from './spec';

/** Any uniform [0, 1) source; learners pass a seeded one so a job's delays are reproducible. */
export interface Uniform {
  next(): number;
}

/** Injected delay, in seconds, before one mini-batch's gradient is pushed (DESIGN.md §3 step 3). */
export function sampleStragglerDelay(spec: StragglerSpec, random: Uniform): number {
  // 1 - U is in (0, 1], so its logarithm is finite.
  const exponential = (rate: number) => -Math.log(1 - random.next()) / rate;
  switch (spec.distribution) {
    case 'none':
      return 0;
    case 'exp':
      return exponential(spec.rate);
    case 'shifted-exp':
      return spec.shift + exponential(spec.rate);
    case 'pareto':
      return spec.scale / (1 - random.next()) ** (1 / spec.shape);
  }
}
