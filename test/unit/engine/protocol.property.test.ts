import fc from 'fast-check';
import {
  appliedByVersion,
  arrivalRuleFor,
  arrive,
  commitRound,
  type RoundState,
} from '../../../engine/protocol';
import type { PendingEntry } from '../../../engine/store/job-store';
import { VARIANT_NAMES, type VariantName, variantRule } from '../../../engine/variants';

/**
 * The protocol's invariants over random interleavings of P learners: each step a learner either
 * computes and arrives (on the version it last saw), crashes (loses its in-flight gradient and
 * rereads the version), or an aggregator commits a full round (a takeover's late second commit of
 * the same round is refused by the version condition: the model-based test on dynalite covers it).
 * Whatever the order: every version applies exactly K gradients, K distinct
 * learners where the variant says so, sync variants only fresh ones, none twice, and nothing
 * acknowledged is lost.
 */
type Action = { readonly kind: 'arrive' | 'crash' | 'commit'; readonly learner: number };

const action = (learners: number) =>
  fc.record({
    kind: fc.constantFrom('arrive', 'arrive', 'arrive', 'crash', 'commit'),
    learner: fc.nat(learners - 1),
  }) as fc.Arbitrary<Action>;

function simulate(variant: VariantName, learners: number, k: number, actions: readonly Action[]) {
  let state: RoundState = { running: true, version: 0, pending: [], members: [], lastArrival: {}, pushed: 0 };
  const seen = Array.from({ length: learners }, () => 0);
  const seq = Array.from({ length: learners }, () => 0);
  /** A learner waiting for the version that applies its gradient (variants that wait after a push). */
  const waitingFor = Array.from({ length: learners }, () => 0);
  const commits: { version: number; round: readonly PendingEntry[] }[] = [];
  for (const { kind, learner } of actions) {
    const id = `L${learner}`;
    if (kind === 'crash') {
      seen[learner] = state.version;
      waitingFor[learner] = 0;
    } else if (kind === 'arrive') {
      if (state.version < waitingFor[learner]) continue;
      const version = Math.max(seen[learner], 0);
      const ordinal = seq[learner]++;
      const entry: PendingEntry = { grad: `${id}/${ordinal}`, learner: id, version, loss: 0, at: 0, ms: 0 };
      const outcome = arrive(state, entry, arrivalRuleFor({ variant, k }, version), ordinal);
      if (outcome.accepted) {
        state = outcome.state;
        // Learners that never wait cannot queue more than two rounds for the aggregator.
        if (variantRule(variant).afterPush === 'pull-newest')
          expect(state.pending.length).toBeLessThanOrEqual(2 * k);
        if (variantRule(variant).afterPush === 'wait-for-new-version') {
          waitingFor[learner] = appliedByVersion(state.version, outcome.index, k);
        }
      }
      seen[learner] = state.version;
    } else if (kind === 'commit' && state.pending.length >= k) {
      const from = state.version;
      const committed = commitRound(state, k);
      commits.push({ version: from + 1, round: committed.round });
      state = committed.state;
    }
  }
  return { state, commits };
}

describe('protocol invariants over random interleavings', () => {
  it.each(VARIANT_NAMES)('%s', (variant) => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 6 })
          .chain((learners) =>
            fc.tuple(
              fc.constant(learners),
              fc.integer({ min: 1, max: learners }),
              fc.array(action(learners), { maxLength: 300 }),
            ),
          ),
        ([learners, kWanted, actions]) => {
          const rule = variantRule(variant);
          const k = rule.fixedK === 'learners' ? learners : rule.fixedK === 1 ? 1 : kWanted;
          const { state, commits } = simulate(variant, learners, k, actions);
          const applied = commits.flatMap((c) => c.round.map((e) => e.grad));
          expect(new Set(applied).size).toBe(applied.length);
          expect(applied.length + state.pending.length).toBe(state.pushed);
          commits.forEach((commit, i) => {
            expect(commit.version).toBe(i + 1);
            expect(commit.round).toHaveLength(k);
            if (rule.distinctLearners) expect(new Set(commit.round.map((e) => e.learner)).size).toBe(k);
            if (rule.rejectsStale) for (const e of commit.round) expect(e.version).toBe(commit.version - 1);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
