import { type AdaptiveK, nextK } from '../engine/adasync';
import { POLL } from '../engine/learner';
import { learningRate, squaredDistance } from '../engine/lr';
import {
  appliedByVersion,
  arrivalOrdinal,
  arrivalRuleFor,
  arrive,
  commitRound,
  ownsAggregation,
  Refusal,
  type RoundState,
} from '../engine/protocol';
import type { JobSpec } from '../engine/spec';
import { EMPTY_STATS, type PendingEntry, type StalenessStats } from '../engine/store/job-store';
import { addStaleness, applyUpdate } from '../engine/update';
import { AfterPush, variantRule } from '../engine/variants';
import { WEIGHTS_RING } from '../engine/weights-cache';
import { createRng, hashSeed, type Rng } from '../model/random';
import {
  createSampler,
  isZero,
  type Sampler,
  sumSampler,
  type TimeDistribution,
  ZERO,
} from './distributions';
import { EventQueue } from './event-queue';
import type { Objective } from './objective';

/**
 * A discrete-event simulation of one job: P learners with sampled compute times on a virtual
 * clock, driving the engine's own protocol (`arrive`, `commitRound`, `ownsAggregation`,
 * `appliedByVersion`, `arrivalRuleFor`), variant table, learning-rate schedules and update rule.
 * What it does not run is the I/O: every storage operation is a sampled latency instead.
 *
 * One learner step, as in engine/learner.ts: read the version, fetch w[v] unless cached, compute
 * (compute time + the spec's injected straggler delay), PUT the gradient, arrive. The arrival at
 * position K-1 aggregates: GET the K gradients (in parallel), PUT w[v+1] and the commit item (in
 * parallel), commit; then it commits any further full round. After a push the learner follows
 * the variant's rule: wait for the version that applies its gradient, or continue at once on the
 * version its arrival returned. A refused arrival does what the learner does: stale (sync
 * variants) waits for the next version; already-in-round (k-async) and backlog (async variants,
 * 2K pending) wait for a version newer than the last one read, then the same gradient arrives again.
 *
 * Where the accounting differs from the live engine:
 * - Stale work under the sync variants is cancelled at each update by default (the paper's and
 *   the closed forms' assumption); `staleWork: 'reject'` is what the engine does (see StaleWork).
 * - A waiting learner hears of a commit one storage read after it, unless `polling` replays the
 *   engine's poll schedule (ENGINE_POLL).
 * - Not modelled: Lambda hand-overs to the next epoch (and the cold start they may bring) after
 *   the first one, heartbeats, evaluation time on the aggregator, takeovers of stalled rounds
 *   (no aggregator dies here), and the learner's own, possibly older, view of K under AdaSync
 *   (arrivals use the current K). Storage operations are i.i.d. draws, with no queueing at a
 *   hot item.
 */

/**
 * What happens to work computed on a superseded version under the variants that reject stale
 * gradients (sync, k-sync, k-batch-sync).
 * - `cancel` (the paper's setting, and the closed forms'): at each update the learners still
 *   computing on the old version are told at once and restart on the new one.
 * - `reject` (the live engine): they finish, their arrival is refused as stale (counted as
 *   rejected), and they wait for the next version. The rest of each stale computation is lost
 *   time, so rounds take longer than the closed forms say; bench/sim-predict.bench.ts measures an
 *   embedded-stack k-sync (P = 4, K = 2) at about half the paper's rate, and the simulator in this
 *   mode predicts it.
 */
export type StaleWork = 'cancel' | 'reject';

/** engine/learner.ts waits by polling the job item (POLL), here in seconds. */
export const ENGINE_POLL = {
  minSeconds: POLL.minMs / 1000,
  maxSeconds: POLL.maxMs / 1000,
  growth: POLL.growth,
} as const;

export interface SimulationConfig {
  /** Variant, learners (P), k, lr, stragglers (added to every compute time), evalEvery, adasync, seed. */
  readonly spec: JobSpec;
  /** Updates to simulate (the job's maxUpdates). */
  readonly iterations: number;
  /** Compute time of one mini-batch, seconds; the spec's straggler delay is added to it, as a learner does. */
  readonly computeTime: TimeDistribution;
  /** Latency of one storage operation (S3 GET/PUT, DynamoDB read/write), seconds. Default 0. */
  readonly storageLatency?: TimeDistribution;
  /** Delay before each learner's first step (process start, runtime load), seconds. Default 0. */
  readonly coldStart?: TimeDistribution;
  readonly staleWork?: StaleWork;
  /**
   * Waiting learners poll the job item as the engine does (ENGINE_POLL) instead of learning of a
   * commit one storage read after it. Default false (the closed forms' instant notification).
   */
  readonly polling?: boolean;
  /** The training objective; without it only times are simulated (no gradients, no loss). */
  readonly objective?: Objective;
  /** Fraction of the updates left out of meanIterationTime: the transient of a synchronized start. Default 0.1. */
  readonly warmup?: number;
  /** Number of batch means behind iterationTimeStdErr. Default 20. */
  readonly batches?: number;
  /** Called at every commit with the round it applied (tests and traces). */
  readonly onCommit?: (commit: SimulatedCommit) => void;
}

export interface SimulatedCommit {
  readonly version: number;
  readonly time: number;
  readonly round: readonly PendingEntry[];
  readonly staleness: readonly number[];
  /** The etas the schedule gave (only with an objective: they may need the weights). */
  readonly etas?: readonly number[];
}

export interface CurvePoint {
  /** Virtual seconds since the job started. */
  readonly time: number;
  readonly version: number;
  /** Held-out loss and accuracy of w[version]. */
  readonly loss: number;
  readonly accuracy: number;
}

export interface SimulationResult {
  readonly variant: JobSpec['variant'];
  readonly learners: number;
  readonly k: number;
  readonly schedule: JobSpec['lr']['schedule'];
  readonly iterations: number;
  /** Mean seconds between two updates after the warm-up. */
  readonly meanIterationTime: number;
  /** Standard error of meanIterationTime (batch means). */
  readonly iterationTimeStdErr: number;
  /** Virtual seconds from the start to the last update, and updates per virtual second over all of it. */
  readonly virtualSeconds: number;
  readonly updatesPerSecond: number;
  readonly gradients: {
    readonly pushed: number;
    readonly applied: number;
    readonly rejected: number;
    readonly cancelled: number;
  };
  readonly staleness: { readonly mean: number; readonly max: number; readonly histogram: readonly number[] };
  /** Held-out loss against virtual time (every evalEvery versions, and the last); empty without an objective. */
  readonly curve: readonly CurvePoint[];
  readonly finalLoss: number | null;
  readonly finalAccuracy: number | null;
  /** Events processed: the simulator's unit of work. */
  readonly events: number;
}

const Kind = { start: 0, arrive: 1, wake: 2, commit: 3 } as const;
const KINDS = 4;

const Phase = { computing: 0, waiting: 1, aggregating: 2 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

interface SimLearner {
  readonly id: string;
  readonly index: number;
  /** Compute times and latencies. */
  readonly clock: Rng;
  /** Mini-batches. */
  readonly batches: Rng;
  /** Bumped to void the learner's scheduled events (cancelled work). */
  token: number;
  phase: Phase;
  /** The version the current step computes on, and its weights. */
  version: number;
  weights: Float32Array | undefined;
  /** When waiting: the version to wait for, and when the wait began (for the poll schedule). */
  target: number;
  waitStart: number;
  /** The newest version this learner has read (its `state.version` in engine/learner.ts). */
  seen: number;
  seq: number;
  lastOrdinal: number;
  /** { [id]: lastOrdinal }, reused: arrive() copies it, never keeps it. */
  readonly lastArrival: Record<string, number>;
  /** k-async: a gradient refused because this learner's previous one was still pending; re-arrives after the wait. */
  retry: { readonly entry: PendingEntry; readonly ordinal: number } | undefined;
  readonly ring: Int32Array;
  ringNext: number;
}

interface Gradient {
  readonly grad: Float32Array;
  readonly loss: number;
  readonly weights: Float32Array;
}

export function simulate(config: SimulationConfig): SimulationResult {
  return new Simulation(config).run();
}

class Simulation {
  private readonly spec: SimulationConfig['spec'];
  /** K of the round being filled: the spec's, or AdaSync's current one. */
  private k: number;
  private adaptive: AdaptiveK | undefined;
  private readonly afterPush: AfterPush;
  private readonly cancelStale: boolean;
  private readonly compute: Sampler;
  private readonly latency: Sampler | undefined;
  private readonly coldStart: Sampler;
  private readonly queue = new EventQueue();
  private readonly learners: SimLearner[];
  private readonly waiters = new Map<number, SimLearner[]>();
  private readonly gradients = new Map<string, Gradient>();
  private readonly commitTimes: Float64Array;
  private readonly curve: CurvePoint[] = [];
  private state: RoundState = {
    running: true,
    version: 0,
    pending: [],
    members: [],
    lastArrival: {},
    pushed: 0,
  };
  private weights: Float32Array | undefined;
  private stats: StalenessStats = EMPTY_STATS;
  private rejected = 0;
  private cancelled = 0;
  private events = 0;
  private gradCounter = 0;
  private done = false;

  constructor(private readonly config: SimulationConfig) {
    const { spec, iterations } = config;
    if (!Number.isInteger(iterations) || iterations < 1)
      throw new RangeError(`iterations must be a positive integer, got ${iterations}`);
    if (spec.k < 1 || spec.k > spec.learners)
      throw new RangeError(`k must be in [1, learners], got ${spec.k}`);
    this.spec = spec;
    this.k = spec.k;
    const rule = variantRule(spec.variant);
    this.afterPush = rule.afterPush;
    this.cancelStale = rule.rejectsStale && (config.staleWork ?? 'cancel') === 'cancel';
    this.compute = sumSampler(config.computeTime, spec.stragglers);
    const latency = config.storageLatency ?? ZERO;
    this.latency = isZero(latency) ? undefined : createSampler(latency);
    this.coldStart = createSampler(config.coldStart ?? ZERO);
    this.commitTimes = new Float64Array(iterations + 1);
    this.weights = config.objective?.initial;
    this.learners = Array.from({ length: spec.learners }, (_, index) => {
      const id = `L${index}`;
      return {
        id,
        index,
        clock: createRng(hashSeed(spec.seed, id, 'sim-clock')),
        batches: createRng(hashSeed(spec.seed, id, 'sim-batches')),
        token: 0,
        phase: Phase.waiting,
        version: 0,
        weights: undefined,
        target: 0,
        waitStart: 0,
        seen: 0,
        seq: 0,
        lastOrdinal: -1,
        lastArrival: { [id]: -1 },
        retry: undefined,
        ring: new Int32Array(WEIGHTS_RING).fill(-1),
        ringNext: 0,
      };
    });
  }

  run(): SimulationResult {
    this.evaluate(0);
    for (const learner of this.learners) {
      // A cold process, then its first read of the job item.
      this.schedule(this.coldStart(learner.clock) + this.lat(learner), Kind.start, learner);
    }
    const queue = this.queue;
    while (!this.done) {
      if (queue.size === 0) throw new Error('simulation stalled: no event pending before the last update');
      const time = queue.peekTime();
      const payload = queue.peekPayload();
      const token = queue.peekToken();
      queue.pop();
      const kind = payload % KINDS;
      const learner = this.learners[(payload - kind) / KINDS] as SimLearner;
      if (kind !== Kind.commit && token !== learner.token) continue; // voided by a cancellation
      this.events++;
      switch (kind) {
        case Kind.start:
        case Kind.wake:
          if (learner.retry) this.reArrive(learner, time);
          else this.startStep(learner, time);
          break;
        case Kind.arrive:
          this.onArrive(learner, time);
          break;
        case Kind.commit:
          this.onCommit(learner, time);
          break;
      }
    }
    return this.result();
  }

  private schedule(time: number, kind: number, learner: SimLearner): void {
    this.queue.push(time, learner.index * KINDS + kind, learner.token);
  }

  private lat(learner: SimLearner): number {
    return this.latency ? this.latency(learner.clock) : 0;
  }

  /** A step on the current version: fetch w[v] unless cached, compute, PUT the gradient, arrive. */
  private startStep(learner: SimLearner, time: number): void {
    const version = this.state.version;
    learner.phase = Phase.computing;
    learner.version = version;
    learner.seen = version;
    learner.weights = this.weights;
    let duration = this.compute(learner.clock);
    if (this.latency) {
      if (!learner.ring.includes(version)) {
        duration += this.latency(learner.clock);
        this.remember(learner, version);
      }
      duration += this.latency(learner.clock) + this.latency(learner.clock);
    }
    this.schedule(time + duration, Kind.arrive, learner);
  }

  private remember(learner: SimLearner, version: number): void {
    learner.ring[learner.ringNext] = version;
    learner.ringNext = (learner.ringNext + 1) % WEIGHTS_RING;
  }

  private onArrive(learner: SimLearner, time: number): void {
    const entry: PendingEntry = {
      grad: String(this.gradCounter++),
      learner: learner.id,
      version: learner.version,
      loss: 0,
      at: time,
      // Compute times are the simulator's input; entries only carry what the protocol reads.
      ms: 0,
    };
    this.tryArrival(learner, time, entry, arrivalOrdinal(1, learner.seq++));
  }

  private reArrive(learner: SimLearner, time: number): void {
    const retry = learner.retry as NonNullable<SimLearner['retry']>;
    learner.retry = undefined;
    learner.phase = Phase.computing;
    learner.seen = this.state.version;
    // The same gradient arrives again: one conditional write.
    this.tryArrival(learner, time + this.lat(learner), retry.entry, retry.ordinal);
  }

  private tryArrival(learner: SimLearner, time: number, entry: PendingEntry, ordinal: number): void {
    // arrive() reads lastArrival for the arriving learner only. Copying all P entries on every
    // arrival (the store updates one map entry in place) would make P = 1000 quadratic, so the
    // simulator keeps each learner's last ordinal itself and hands arrive() that one entry.
    learner.lastArrival[learner.id] = learner.lastOrdinal;
    const view: RoundState = { ...this.state, lastArrival: learner.lastArrival };
    const rule = arrivalRuleFor({ variant: this.spec.variant, k: this.k }, entry.version);
    const outcome = arrive(view, entry, rule, ordinal);
    if (!outcome.accepted) {
      switch (outcome.refusal) {
        case Refusal.stale:
          // Sync variants: the round of this version closed without it (engine: wait for version + 1).
          this.rejected++;
          this.wait(learner, time, entry.version + 1);
          return;
        case Refusal.alreadyInRound:
        case Refusal.backlog:
          // k-async: this learner's previous gradient is still pending; async variants: 2K pending
          // already. Either way the learner waits for a version newer than the one it last read,
          // then the same gradient arrives again.
          learner.retry = { entry, ordinal };
          this.wait(learner, time, learner.seen + 1);
          return;
        default:
          throw new Error(`simulated arrival refused: ${outcome.refusal}`);
      }
    }
    this.state = outcome.state;
    learner.lastOrdinal = ordinal;
    learner.seen = outcome.state.version;
    const objective = this.config.objective;
    if (objective && learner.weights) {
      const { loss, grad } = objective.gradient(learner.weights, learner.batches);
      this.gradients.set(entry.grad, { grad, loss, weights: learner.weights });
    }
    if (ownsAggregation(outcome.index, this.k)) {
      learner.phase = Phase.aggregating;
      this.aggregate(learner, time);
    } else if (this.afterPush === AfterPush.waitForNewVersion) {
      this.wait(learner, time, appliedByVersion(outcome.state.version, outcome.index, this.k));
    } else {
      // keep-version / pull-newest: continue at once on the version the arrival returned.
      this.startStep(learner, time);
    }
  }

  /** GET the K gradients in parallel, PUT w[v+1] and the commit item in parallel, then the commit write. */
  private aggregate(aggregator: SimLearner, time: number): void {
    let duration = 0;
    if (this.latency) {
      let gets = 0;
      for (let i = 0; i < this.k; i++) gets = Math.max(gets, this.latency(aggregator.clock));
      const puts = Math.max(this.latency(aggregator.clock), this.latency(aggregator.clock));
      duration = gets + puts + this.latency(aggregator.clock);
    }
    this.schedule(time + duration, Kind.commit, aggregator);
  }

  private onCommit(aggregator: SimLearner, time: number): void {
    const from = this.state.version;
    const { round, state } = commitRound(this.state, this.k);
    this.state = state;
    const version = state.version;
    const staleness = round.map((entry) => from - entry.version);
    this.stats = addStaleness(this.stats, staleness);
    const { etas, loss } = this.applyRound(round, staleness);
    if (this.spec.adasync) {
      // engine/aggregator.ts: the next round's K from the loss of this one, on the virtual clock.
      this.adaptive = nextK(this.spec, this.adaptive, loss, time * 1000);
      this.k = this.adaptive.k;
    }
    this.remember(aggregator, version); // the aggregator keeps the weights it wrote
    this.commitTimes[version] = time;
    this.config.onCommit?.({ version, time, round, staleness, etas });
    if (version % this.spec.evalEvery === 0 || version === this.config.iterations) this.evaluate(time);
    if (version >= this.config.iterations) {
      this.done = true;
      return;
    }
    if (this.cancelStale) {
      for (const learner of this.learners) {
        if (learner.phase === Phase.computing && learner.version < version) {
          // The paper cancels the work; the learner hears of the update one read later.
          learner.token++;
          this.cancelled++;
          learner.phase = Phase.waiting;
          this.schedule(time + this.lat(learner), Kind.wake, learner);
        }
      }
    }
    const waiting = this.waiters.get(version);
    if (waiting) {
      this.waiters.delete(version);
      for (const learner of waiting) this.schedule(this.noticeTime(learner, time), Kind.wake, learner);
    }
    if (state.pending.length >= this.k) {
      this.aggregate(aggregator, time); // aggregateWhileFull: a backlog round is already full
    } else if (this.afterPush === AfterPush.waitForNewVersion) {
      aggregator.phase = Phase.waiting;
      this.schedule(time + this.lat(aggregator), Kind.wake, aggregator); // waitForVersion's first read
    } else {
      this.startStep(aggregator, time);
    }
  }

  /** w[v+1] = w[v] - (1/K) sum eta_i g_i with the schedule's etas (engine/aggregator.ts). */
  private applyRound(
    round: readonly PendingEntry[],
    staleness: readonly number[],
  ): { etas: number[] | undefined; loss: number } {
    const weights = this.weights;
    if (!this.config.objective || !weights) return { etas: undefined, loss: 0 };
    const grads = round.map((entry) => this.gradients.get(entry.grad) as Gradient);
    const loss = grads.reduce((sum, g) => sum + g.loss, 0) / grads.length;
    for (const entry of round) this.gradients.delete(entry.grad);
    const etas = grads.map((g, i) =>
      learningRate(this.spec.lr, {
        staleness: staleness[i] as number,
        distanceSq: () => squaredDistance(weights, g.weights),
      }),
    );
    this.weights = applyUpdate(
      weights,
      grads.map((g) => g.grad),
      etas,
    );
    return { etas, loss };
  }

  /** Waits (as waitForVersion does) until the job reaches `target`. */
  private wait(learner: SimLearner, time: number, target: number): void {
    learner.phase = Phase.waiting;
    learner.target = target;
    learner.waitStart = time;
    if (this.state.version >= target) {
      this.schedule(time + this.lat(learner), Kind.wake, learner);
      return;
    }
    let list = this.waiters.get(target);
    if (!list) {
      list = [];
      this.waiters.set(target, list);
    }
    list.push(learner);
  }

  /** When a learner waiting since `waitStart` learns of a commit at `time`: its next read, or its next poll. */
  private noticeTime(learner: SimLearner, time: number): number {
    if (!this.config.polling) return time + this.lat(learner);
    // engine/learner.ts: one read, then sleep/read with a growing delay. A read sees the commit
    // if it reaches the store (half its latency) after the commit.
    let delay: number = ENGINE_POLL.minSeconds;
    let clock = learner.waitStart;
    for (;;) {
      const latency = this.lat(learner);
      if (clock + latency / 2 >= time) return clock + latency;
      clock += latency + delay;
      delay = Math.min(ENGINE_POLL.maxSeconds, delay * ENGINE_POLL.growth);
    }
  }

  private evaluate(time: number): void {
    const objective = this.config.objective;
    if (!objective || !this.weights) return;
    const { loss, accuracy } = objective.evaluate(this.weights);
    this.curve.push({ time, version: this.state.version, loss, accuracy });
  }

  private result(): SimulationResult {
    const n = this.config.iterations;
    const times = this.commitTimes;
    const warm = Math.min(n - 1, Math.floor((this.config.warmup ?? 0.1) * n));
    const measured = n - warm;
    const meanIterationTime = ((times[n] as number) - (times[warm] as number)) / measured;
    const batches = Math.min(this.config.batches ?? 20, measured);
    const batchMeans: number[] = [];
    for (let b = 0; b < batches; b++) {
      const from = warm + Math.floor((b * measured) / batches);
      const to = warm + Math.floor(((b + 1) * measured) / batches);
      batchMeans.push(((times[to] as number) - (times[from] as number)) / (to - from));
    }
    const variance =
      batchMeans.reduce((s, m) => s + (m - meanIterationTime) ** 2, 0) / Math.max(1, batches - 1);
    const last = this.curve[this.curve.length - 1];
    const { stats } = this;
    return {
      variant: this.spec.variant,
      learners: this.spec.learners,
      k: this.spec.k,
      schedule: this.spec.lr.schedule,
      iterations: n,
      meanIterationTime,
      iterationTimeStdErr: batches > 1 ? Math.sqrt(variance / batches) : Number.NaN,
      virtualSeconds: times[n] as number,
      updatesPerSecond: n / (times[n] as number),
      gradients: {
        pushed: this.state.pushed,
        applied: stats.applied,
        rejected: this.rejected,
        cancelled: this.cancelled,
      },
      staleness: {
        mean: stats.applied > 0 ? stats.sum / stats.applied : 0,
        max: stats.max,
        histogram: stats.histogram,
      },
      curve: this.curve,
      finalLoss: last ? last.loss : null,
      finalAccuracy: last ? last.accuracy : null,
      events: this.events,
    };
  }
}
