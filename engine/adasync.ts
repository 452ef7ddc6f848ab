import type { JobSpec } from './spec';

/** How quickly the smoothed training loss F(wt) follows the loss of each committed round. */
const LOSS_SMOOTHING = 0.1;

export interface AdaptiveK {
  readonly k: number;
  /** F(w0): the mean loss of the first round. */
  readonly initialLoss: number;
  /** F(wt): an exponential moving average of round losses. */
  readonly lossEma: number;
  /** When K was last re-evaluated (ms since epoch). */
  readonly kUpdatedAt: number;
}

/**
 * The K the next round uses, given the round just committed (AdaSync, Dutta et al., extended
 * version): K = round(K0 * sqrt(F(w0) / F(wt))), between 1 and P, re-evaluated every
 * `intervalSeconds` of wall-clock time. Without `adasync` in the spec K stays fixed.
 */
export function nextK(
  spec: JobSpec,
  previous: AdaptiveK | undefined,
  roundLoss: number,
  now: number,
): AdaptiveK {
  const initialLoss = previous?.initialLoss ?? roundLoss;
  const lossEma = previous ? (1 - LOSS_SMOOTHING) * previous.lossEma + LOSS_SMOOTHING * roundLoss : roundLoss;
  const current = { k: previous?.k ?? spec.k, initialLoss, lossEma, kUpdatedAt: previous?.kUpdatedAt ?? now };
  if (!spec.adasync || now - current.kUpdatedAt < spec.adasync.intervalSeconds * 1000) return current;
  const ratio = lossEma > 0 ? initialLoss / lossEma : 1;
  const k = Math.min(spec.learners, Math.max(1, Math.round(spec.k * Math.sqrt(ratio))));
  return { ...current, k, kUpdatedAt: now };
}
