import type { LrSpec } from './spec';

/** What a schedule may look at to weigh one gradient. */
export interface GradientAge {
  /** tau = v - v_i: versions committed since the gradient's weights were current. */
  readonly staleness: number;
  /** ||w[v] - w[v_i]||^2, computed only for schedules that need it (dutta-joshi). */
  readonly distanceSq?: () => number;
}

export const needsStaleWeights = (lr: LrSpec): boolean => lr.schedule === 'dutta-joshi';

/** The step size eta_i for one gradient (DESIGN.md §1). */
export function learningRate(lr: LrSpec, age: GradientAge): number {
  switch (lr.schedule) {
    case 'constant':
      return lr.eta;
    case 'staleness':
      // Zhang et al. (IJCAI 2016): eta / max(1, tau).
      return lr.eta / Math.max(1, age.staleness);
    case 'dutta-joshi': {
      // Dutta et al. (AISTATS 2018): min(C / ||w[v] - w[v_i]||^2, etaMax); a fresh gradient gets etaMax.
      if (age.staleness === 0) return lr.etaMax;
      if (!age.distanceSq) throw new Error('dutta-joshi needs the distance to the stale weights');
      const distanceSq = age.distanceSq();
      return distanceSq === 0 ? lr.etaMax : Math.min(lr.C / distanceSq, lr.etaMax);
    }
  }
}

export function squaredDistance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}
