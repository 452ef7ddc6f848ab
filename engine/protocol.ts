import type { JobSpec } from './spec';
import type { ArrivalRule, PendingEntry } from './store/job-store';
import { AfterPush, variantRule } from './variants';

/**
 * The job item's state machine as pure functions: what an arrival and a commit do to the round
 * state. The DynamoDB store expresses exactly these rules as condition and update expressions;
 * the simulator and the property tests run them directly.
 */
export interface RoundState {
  readonly running: boolean;
  readonly version: number;
  readonly pending: readonly PendingEntry[];
  /** Learners with a gradient in `pending` (kept only for rules with `distinct`). */
  readonly members: readonly string[];
  readonly lastArrival: Readonly<Record<string, number>>;
  readonly pushed: number;
}

export const Refusal = {
  notRunning: 'not-running',
  /** The same arrival was accepted before (a retry after a lost response). */
  duplicate: 'duplicate',
  alreadyInRound: 'already-in-round',
  stale: 'stale',
  backlog: 'backlog',
} as const;
export type Refusal = (typeof Refusal)[keyof typeof Refusal];

export type ArrivalOutcome =
  | { readonly accepted: true; readonly state: RoundState; readonly index: number }
  | { readonly accepted: false; readonly refusal: Refusal };

/** The conditions an arrival of a gradient computed on `version` carries, from the variant rule. */
export function arrivalRuleFor(spec: Pick<JobSpec, 'variant' | 'k'>, version: number): ArrivalRule {
  const rule = variantRule(spec.variant);
  return {
    distinct: rule.distinctLearners,
    onlyVersion: rule.rejectsStale ? version : undefined,
    // One round being aggregated and one filling: more would only queue up staleness.
    maxPending: rule.afterPush === AfterPush.pullNewest ? 2 * spec.k : undefined,
    k: spec.k,
  };
}

/** One arrival (DESIGN.md §3 step 5), in the order the conditions are checked. */
export function arrive(
  state: RoundState,
  entry: PendingEntry,
  rule: ArrivalRule,
  ordinal: number,
): ArrivalOutcome {
  // A retry of an accepted arrival was accepted, whatever happened to the job since.
  if ((state.lastArrival[entry.learner] ?? -1) >= ordinal)
    return { accepted: false, refusal: Refusal.duplicate };
  if (!state.running) return { accepted: false, refusal: Refusal.notRunning };
  if (rule.distinct && state.members.includes(entry.learner))
    return { accepted: false, refusal: Refusal.alreadyInRound };
  if (
    rule.onlyVersion !== undefined &&
    (state.version !== rule.onlyVersion || state.pending.length >= rule.k)
  ) {
    return { accepted: false, refusal: Refusal.stale };
  }
  if (rule.maxPending !== undefined && state.pending.length >= rule.maxPending) {
    return { accepted: false, refusal: Refusal.backlog };
  }
  const next: RoundState = {
    ...state,
    pending: [...state.pending, entry],
    members: rule.distinct ? [...state.members, entry.learner] : state.members,
    lastArrival: { ...state.lastArrival, [entry.learner]: ordinal },
    pushed: state.pushed + 1,
  };
  return { accepted: true, state: next, index: next.pending.length - 1 };
}

/** Removes the head round of K entries and moves to the next version. */
export function commitRound(
  state: RoundState,
  k: number,
): { readonly round: readonly PendingEntry[]; readonly state: RoundState } {
  if (state.pending.length < k) throw new Error(`cannot commit: ${state.pending.length} pending, K is ${k}`);
  const round = state.pending.slice(0, k);
  const consumed = new Set(round.map((entry) => entry.learner));
  return {
    round,
    state: {
      ...state,
      version: state.version + 1,
      pending: state.pending.slice(k),
      members: state.members.filter((learner) => !consumed.has(learner)),
    },
  };
}

/**
 * Orders all gradients of one learner: invocations (epochs) are sequential, and so are the
 * gradients within one. 2^20 gradients per invocation is far beyond what 15 minutes allow.
 */
export function arrivalOrdinal(epoch: number, seq: number): number {
  return epoch * 2 ** 20 + seq;
}

/** The arrival at position K-1 completes the head round and owns its aggregation. */
export function ownsAggregation(index: number, k: number): boolean {
  return index === k - 1;
}

/** The version that will apply the gradient an arrival placed at `index` while at `version`. */
export function appliedByVersion(version: number, index: number, k: number): number {
  return version + Math.floor(index / k) + 1;
}
