import fc from 'fast-check';
import { createClients } from '../../../engine/aws';
import {
  AlreadyInRoundError,
  BacklogFullError,
  JobNotRunningError,
  StaleVersionError,
  VersionAlreadyCommittedError,
} from '../../../engine/errors';
import {
  type ArrivalOutcome,
  arrivalRuleFor,
  arrive,
  commitRound,
  Refusal,
  type RoundState,
} from '../../../engine/protocol';
import { parseJobSpec } from '../../../engine/spec';
import { createStores, type Stores } from '../../../engine/store';
import { type ArrivalRule, EMPTY_STATS, type PendingEntry } from '../../../engine/store/job-store';
import { VARIANT_NAMES, type VariantName, variantRule } from '../../../engine/variants';
import { type LocalStack, startLocalStack } from '../../../local/stack';

/**
 * Model-based test: random sequences of arrivals (fresh, stale, retried after a lost response),
 * commits (by the owner, and late duplicates from a takeover) and stops are applied both to the
 * pure state machine (engine/protocol.ts) and to the DynamoDB job item through JobStore on a
 * real emulator. After every step the two must agree, outcome and state alike.
 */
interface Model {
  state: RoundState;
  readonly k: number;
  readonly variant: VariantName;
  readonly seq: Map<string, number>;
  readonly last: Map<string, { entry: PendingEntry; ordinal: number }>;
}
interface Real {
  readonly stores: Stores;
  readonly jobId: string;
}

const LEARNERS = ['L0', 'L1', 'L2', 'L3'];

const ruleFor = (model: Model, version: number): ArrivalRule =>
  arrivalRuleFor({ variant: model.variant, k: model.k }, version);

async function expectSameState(model: Model, real: Real) {
  const state = await real.stores.jobs.getJob(real.jobId);
  expect({
    running: state.status === 'RUNNING',
    version: state.version,
    pending: state.pending.map((e) => e.grad),
    members: [...state.members].sort(),
    pushed: state.pushed,
  }).toEqual({
    running: model.state.running,
    version: model.state.version,
    pending: model.state.pending.map((e) => e.grad),
    members: [...model.state.members].sort(),
    pushed: model.state.pushed,
  });
}

/** What the real store answers, in the model's vocabulary. */
async function realArrival(real: Real, entry: PendingEntry, rule: ArrivalRule, ordinal: number) {
  try {
    const arrival = await real.stores.jobs.arrive(real.jobId, entry, rule, ordinal);
    return { accepted: true as const, index: arrival.index };
  } catch (error) {
    if (error instanceof JobNotRunningError) return { accepted: false as const, refusal: Refusal.notRunning };
    if (error instanceof AlreadyInRoundError)
      return { accepted: false as const, refusal: Refusal.alreadyInRound };
    if (error instanceof StaleVersionError) return { accepted: false as const, refusal: Refusal.stale };
    if (error instanceof BacklogFullError) return { accepted: false as const, refusal: Refusal.backlog };
    throw error;
  }
}

class ArriveCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly learner: string,
    readonly staleBy: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const seq = model.seq.get(this.learner) ?? 0;
    model.seq.set(this.learner, seq + 1);
    const version = Math.max(0, model.state.version - this.staleBy);
    const entry: PendingEntry = {
      grad: `${this.learner}/1-${seq}`,
      learner: this.learner,
      version,
      loss: 1,
      at: 0,
      ms: 0,
    };
    const rule = ruleFor(model, version);
    const expected: ArrivalOutcome = arrive(model.state, entry, rule, seq);
    const actual = await realArrival(real, entry, rule, seq);
    if (expected.accepted) {
      expect(actual).toEqual({ accepted: true, index: expected.index });
      model.state = expected.state;
      model.last.set(this.learner, { entry, ordinal: seq });
    } else {
      expect(actual).toEqual({ accepted: false, refusal: expected.refusal });
    }
    await expectSameState(model, real);
  }
  toString = () => `arrive(${this.learner}, staleBy=${this.staleBy})`;
}

/** The SDK retrying an arrival whose response was lost: it must not append twice. */
class RetryArrivalCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly learner: string) {}
  check = (model: Readonly<Model>) => model.last.has(this.learner);
  async run(model: Model, real: Real) {
    const { entry, ordinal } = model.last.get(this.learner) as { entry: PendingEntry; ordinal: number };
    expect(arrive(model.state, entry, ruleFor(model, entry.version), ordinal)).toMatchObject({
      refusal: Refusal.duplicate,
    });
    const actual = await real.stores.jobs.arrive(real.jobId, entry, ruleFor(model, entry.version), ordinal);
    expect(actual.index).toBe(model.state.pending.findIndex((e) => e.grad === entry.grad));
    await expectSameState(model, real);
  }
  toString = () => `retry(${this.learner})`;
}

class CommitCommand implements fc.AsyncCommand<Model, Real> {
  check = (model: Readonly<Model>) => model.state.pending.length >= model.k;
  async run(model: Model, real: Real) {
    const { round, state } = commitRound(model.state, model.k);
    const stopped = !model.state.running;
    const commit = {
      fromVersion: model.state.version,
      consumed: round,
      stats: EMPTY_STATS,
      loss: 0,
      distinct: variantRule(model.variant).distinctLearners,
      adaptive: { k: model.k, initialLoss: 0, lossEma: 0, kUpdatedAt: 0 },
    };
    // As the aggregator does: the record first (a retry whose gradient was applied finds it there).
    await real.stores.jobs.putCommitRecord(real.jobId, {
      version: model.state.version + 1,
      k: model.k,
      grads: round.map((e) => ({ ...e, staleness: model.state.version - e.version, eta: 0.1 })),
      loss: 0,
      committedAt: 0,
      aggregator: 'test',
    });
    if (stopped) {
      // Nothing commits once the job has ended.
      await expect(real.stores.jobs.commit(real.jobId, commit, 0)).rejects.toBeInstanceOf(
        VersionAlreadyCommittedError,
      );
      await expectSameState(model, real);
      return;
    }
    await real.stores.jobs.commit(real.jobId, commit, 0);
    model.state = state;
    await expectSameState(model, real);
    // A takeover that redid the same round commits too late and changes nothing.
    await expect(real.stores.jobs.commit(real.jobId, commit, 0)).rejects.toBeInstanceOf(
      VersionAlreadyCommittedError,
    );
    await expectSameState(model, real);
  }
  toString = () => 'commit';
}

class StopCommand implements fc.AsyncCommand<Model, Real> {
  check = (model: Readonly<Model>) => model.state.running;
  async run(model: Model, real: Real) {
    expect(await real.stores.jobs.finish(real.jobId, 'STOPPED', 'test', 0)).toBe(true);
    model.state = { ...model.state, running: false };
    await expectSameState(model, real);
  }
  toString = () => 'stop';
}

describe('the DynamoDB job item behaves as the protocol model', () => {
  let stack: LocalStack;
  let stores: Stores;
  let jobs = 0;
  beforeAll(async () => {
    stack = await startLocalStack();
    stores = createStores(createClients(stack.env), stack);
  });
  afterAll(() => stack.stop());

  it('for every variant, over random arrivals, retries, commits and stops', async () => {
    const learner = fc.constantFrom(...LEARNERS);
    const commands = fc.commands(
      [
        fc.tuple(learner, fc.constantFrom(0, 0, 0, 1, 2)).map(([l, stale]) => new ArriveCommand(l, stale)),
        learner.map((l) => new RetryArrivalCommand(l)),
        fc.constant(new CommitCommand()),
        fc.constant(new StopCommand()),
      ],
      { maxCommands: 60 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...VARIANT_NAMES),
        fc.integer({ min: 1, max: 3 }),
        commands,
        async (variant, k, cmds) => {
          const spec = parseJobSpec({
            model: 'softmax',
            dataset: 'mnist',
            variant,
            learners: 4,
            ...(variant.startsWith('k-') ? { k } : {}),
          });
          const jobId = `job-model-${jobs++}`;
          await stores.jobs.createJob(jobId, spec, 0);
          const model: Model = {
            state: { running: true, version: 0, pending: [], members: [], lastArrival: {}, pushed: 0 },
            k: spec.k,
            variant,
            seq: new Map(),
            last: new Map(),
          };
          await fc.asyncModelRun(() => ({ model, real: { stores, jobId } }), cmds);
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);
});
