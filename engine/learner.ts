import { setTimeout } from 'node:timers/promises';
import { sampleBatch } from '../model/datasets';
import { createRng, hashSeed } from '../model/random';
import { aggregateWhileFull, DEFAULT_LEASE_MS, evaluateVersion, roundIsStalled } from './aggregator';
import { AlreadyInRoundError, BacklogFullError, JobNotRunningError, StaleVersionError } from './errors';
import { CrashPoint, crashPoint } from './faults';
import { gradientId } from './keys';
import { appliedByVersion, arrivalOrdinal, arrivalRuleFor, ownsAggregation } from './protocol';
import type { JobRuntime } from './runtime';
import type { ArrivalRule, CommitRecord, JobState } from './store/job-store';
import { JobStatus } from './store/job-store';
import { sampleStragglerDelay } from './stragglers';
import { AfterPush, variantRule } from './variants';

export interface LearnerInvocation {
  readonly jobId: string;
  readonly learner: string;
  /** Increases by one per (re-)invocation; a duplicate delivery of an epoch exits at once. */
  readonly epoch: number;
}

export interface LearnerOptions {
  /** Milliseconds left before the platform kills this invocation. */
  readonly remainingMs: () => number;
  /** Stop starting new steps when fewer than this many ms are left. */
  readonly marginMs: number;
  readonly leaseMs?: number;
  /** Whether this invocation is the first in its process, and what building the runtime cost. */
  readonly coldStart: boolean;
  readonly initMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called often (every step and every poll); records progress and throws if this invocation was fenced off. */
  readonly beat?: () => Promise<void>;
}

/** What an invocation has done so far; the loop adds to it, heartbeats flush it. */
export interface LearnerProgress {
  pushed: number;
  rejected: number;
  busyMs: number;
  idleMs: number;
  /** Rounds this invocation aggregated and committed, their gradients and total staleness. */
  updates: number;
  appliedGradients: number;
  stalenessSum: number;
}

export function emptyProgress(): LearnerProgress {
  return { pushed: 0, rejected: 0, busyMs: 0, idleMs: 0, updates: 0, appliedGradients: 0, stalenessSum: 0 };
}

/** Polling of the job item by a waiting learner: from the minimum, growing by a factor up to the max. */
export const POLL = { minMs: 5, maxMs: 40, growth: 1.5 } as const;

/** The conditions an arrival of a gradient computed on `version` carries (DESIGN.md §3 step 5). */
export function arrivalRule(runtime: JobRuntime, state: JobState, version: number): ArrivalRule {
  return arrivalRuleFor({ variant: runtime.job.spec.variant, k: state.k }, version);
}

/**
 * One learner invocation: compute gradients on the current weights, push them, aggregate the
 * rounds this learner completes, and follow the variant's rule after each push, until the job
 * ends or the time budget runs out (DESIGN.md §3).
 */
export async function runLearner(
  runtime: JobRuntime,
  invocation: LearnerInvocation,
  options: LearnerOptions,
  progress: LearnerProgress = emptyProgress(),
): Promise<{ readonly continueJob: boolean }> {
  const { jobs, blobs } = runtime.stores;
  const { jobId, spec } = runtime.job;
  const { learner, epoch } = invocation;
  const sleep = options.sleep ?? setTimeout;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const rule = variantRule(spec.variant);
  const random = createRng(hashSeed(spec.seed, learner, epoch));
  const beat = options.beat ?? (async () => {});
  let seq = 0;

  const timeLeft = () => options.remainingMs() > options.marginMs;
  const running = (state: JobState) => state.status === JobStatus.running;

  const countCommit = (record: CommitRecord) => {
    progress.updates++;
    progress.appliedGradients += record.grads.length;
    for (const g of record.grads) progress.stalenessSum += g.staleness;
  };

  /** Aggregates a round whose aggregator seems dead, if this learner wins the claim. */
  const takeOverIfStalled = async (state: JobState): Promise<JobState> => {
    if (!roundIsStalled(state, leaseMs, Date.now())) return state;
    if (!(await jobs.claimAggregation(jobId, state.version, `${learner}@${epoch}`, leaseMs, Date.now())))
      return state;
    return aggregateWhileFull(runtime, await jobs.getJob(jobId), `${learner}@${epoch}`, countCommit);
  };

  /** Ends the job on maxSeconds when no commit is there to notice it (every learner waiting). */
  const enforceDeadline = async (state: JobState): Promise<JobState> => {
    if (Date.now() - state.createdAt < spec.stop.maxSeconds * 1000) return state;
    if (
      await jobs.finish(jobId, JobStatus.done, `maxSeconds (${spec.stop.maxSeconds}) reached`, Date.now())
    ) {
      if (state.version > 0) await evaluateVersion(runtime, state.version);
    }
    return jobs.getJob(jobId);
  };

  /**
   * Polls until the version reaches `target`, taking over a stalled round meanwhile. Starts from
   * `from`, the newest state this learner has (often the image its own write returned), so a
   * target already reached costs no read.
   */
  const waitForVersion = async (target: number, from: JobState): Promise<JobState> => {
    const waitStart = Date.now();
    let delay: number = POLL.minMs;
    let state = from;
    while (running(state) && state.version < target && timeLeft()) {
      await beat();
      await sleep(delay);
      delay = Math.min(POLL.maxMs, delay * POLL.growth);
      state = await enforceDeadline(await takeOverIfStalled(await jobs.getJob(jobId)));
    }
    progress.idleMs += Date.now() - waitStart;
    return state;
  };

  /**
   * The injected straggler delay. Where stale gradients are refused anyway, the delay is cut
   * short (false) once the version moves on, as the paper cancels stragglers.
   */
  const straggle = async (ms: number, version: number): Promise<boolean> => {
    const until = Date.now() + ms;
    for (let left = ms; left > 0; left = until - Date.now()) {
      // A straggler is alive: it keeps beating, or the others would re-invoke it as dead.
      await beat();
      await sleep(Math.min(left, POLL.maxMs));
      if (rule.rejectsStale && (await jobs.getJob(jobId)).version !== version) return false;
    }
    return true;
  };

  // One gradient buffer for all steps: each gradient is uploaded (awaited) before the next step
  // overwrites it, and allocating 400 KB per step costs as much as a tenth of the step.
  let gradBuffer: Float32Array | undefined;
  let state = await jobs.getJob(jobId);
  while (running(state) && timeLeft()) {
    await beat();
    state = await enforceDeadline(state);
    if (!running(state)) break;
    const version = state.version;
    const stepStart = Date.now();
    const weights = await runtime.weights.get(version);
    const batch = sampleBatch(runtime.trainData, spec.batchSize, random);
    const { loss, grad } = await runtime.train.step(weights, batch, gradBuffer);
    gradBuffer = grad;
    if (!Number.isFinite(loss)) {
      // Diverged (or the data holds values float32 cannot carry): nothing non-finite is pushed.
      await jobs.finish(
        jobId,
        JobStatus.failed,
        `non-finite loss (${loss}) on version ${version} from learner ${learner}`,
        Date.now(),
      );
      return { continueJob: false };
    }
    const delaySeconds = sampleStragglerDelay(spec.stragglers, random);
    if (delaySeconds > 0 && !(await straggle(delaySeconds * 1000, version))) {
      // Sync variants: the round closed during the delay; the paper cancels such work.
      progress.rejected++;
      progress.busyMs += Date.now() - stepStart;
      state = await jobs.getJob(jobId);
      continue;
    }
    const ordinal = arrivalOrdinal(epoch, seq);
    const entry = {
      grad: gradientId(learner, epoch, seq++),
      learner,
      version,
      loss,
      at: 0,
      ms: Date.now() - stepStart,
    };
    await blobs.putGradient(jobId, entry.grad, grad);
    progress.busyMs += Date.now() - stepStart;

    let arrival: Awaited<ReturnType<typeof jobs.arrive>> | undefined;
    while (!arrival) {
      try {
        arrival = await jobs.arrive(
          jobId,
          { ...entry, at: Date.now() },
          arrivalRule(runtime, state, version),
          ordinal,
        );
      } catch (error) {
        if (error instanceof JobNotRunningError) return { continueJob: false };
        if (error instanceof StaleVersionError) break;
        if (!(error instanceof AlreadyInRoundError || error instanceof BacklogFullError)) throw error;
        // k-async: this learner's previous gradient is still pending; async variants: a backlog.
        // Either way, the next commit makes room for the same gradient.
        state = await waitForVersion(state.version + 1, await jobs.getJob(jobId));
        if (!running(state) || !timeLeft()) return { continueJob: running(state) };
      }
    }
    if (!arrival) {
      // Sync variants: the round of `version` closed without this gradient; compute on the next.
      progress.rejected++;
      state = await waitForVersion(version + 1, await jobs.getJob(jobId));
      continue;
    }
    progress.pushed++;
    crashPoint(CrashPoint.afterArrival);
    state = arrival.state;
    if (ownsAggregation(arrival.index, arrival.state.k))
      state = await aggregateWhileFull(runtime, state, `${learner}@${epoch}`, countCommit);
    else state = await takeOverIfStalled(state);
    if (rule.afterPush === AfterPush.waitForNewVersion && running(state)) {
      state = await waitForVersion(
        appliedByVersion(arrival.state.version, arrival.index, arrival.state.k),
        state,
      );
    }
  }
  return { continueJob: running(state) };
}
