import { MAX_JOB_SECONDS, type StragglerSpec } from './spec';

/** Any uniform [0, 1) source; learners pass a seeded one so a job's delays are reproducible. */
export interface Uniform {
  next(): number;
}

/**
 * Injected delay, in seconds, before one mini-batch's gradient is pushed (DESIGN.md §3 step 3).
 * Finite and in [0, MAX_JOB_SECONDS] for every spec parseJobSpec accepts and every U in [0, 1):
 * 1 - U >= 2^-53, so an exponential draw is at most 53 ln 2 / rate, and a Pareto draw at most
 * scale * 2^(53/shape), finite for the spec's shapes but longer than any job can run. The cut
 * at MAX_JOB_SECONDS changes nothing a job can see (it ends before such a delay would), and keeps
 * a learner's sleep, and the simulator's clock, finite.
 */
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
      return Math.min(MAX_JOB_SECONDS, spec.scale / (1 - random.next()) ** (1 / spec.shape));
  }
}
