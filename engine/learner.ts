import { createRng, hashSeed } from '../model/random';
import { sampleBatch } from '../model/datasets';
import { aggregateWhileFull, DEFAULT_LEASE_MS, evaluateVersion, roundIsStalled } from './aggregator';
import { AlreadyInRoundError, JobNotRunningError, StaleVersionError } from './errors';
import { gradientId } from './keys';
import { appliedByVersion, arrivalOrdinal, ownsAggregation } from './protocol';
import type { JobRuntime } from './runtime';
import type { ArrivalRule, JobState } from './store/job-store';
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
}

export interface LearnerOutcome {
  readonly pushed: number;
  readonly rejected: number;
  readonly busyMs: number;
  readonly idleMs: number;
  /** The job still runs: the caller should re-invoke the learner with the next epoch. */
  readonly continueJob: boolean;
}

const POLL_MIN_MS = 5;
const POLL_MAX_MS = 40;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The conditions an arrival of a gradient computed on `version` carries (DESIGN.md §3 step 5). */
export function arrivalRule(runtime: JobRuntime, version: number): ArrivalRule {
  const { spec } = runtime.job;
  const rule = variantRule(spec.variant);
  return { distinct: rule.distinctLearners, onlyVersion: rule.rejectsStale ? version : undefined, k: spec.k };
}

/**
 * One learner invocation: compute gradients on the current weights, push them, aggregate the
 * rounds this learner completes, and follow the variant's rule after each push, until the job
 * ends or the time budget runs out (DESIGN.md §3).
 */
export async function runLearner(runtime: JobRuntime, invocation: LearnerInvocation, options: LearnerOptions): Promise<LearnerOutcome> {
  const { jobs, blobs } = runtime.stores;
  const { jobId, spec } = runtime.job;
  const { learner, epoch } = invocation;
  const sleep = options.sleep ?? defaultSleep;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const rule = variantRule(spec.variant);
  const random = createRng(hashSeed(spec.seed, learner, epoch));
  let pushed = 0;
  let rejected = 0;
  let busyMs = 0;
  let idleMs = 0;
  let seq = 0;

  const timeLeft = () => options.remainingMs() > options.marginMs;
  const running = (state: JobState) => state.status === JobStatus.running;

  /** Aggregates a round whose aggregator seems dead, if this learner wins the claim. */
  const takeOverIfStalled = async (state: JobState): Promise<JobState> => {
    if (!roundIsStalled(state, leaseMs, Date.now())) return state;
    if (!(await jobs.claimAggregation(jobId, state.version, `${learner}@${epoch}`, leaseMs, Date.now()))) return state;
    return aggregateWhileFull(runtime, await jobs.getJob(jobId), `${learner}@${epoch}`);
  };

  /** Ends the job on maxSeconds when no commit is there to notice it (every learner waiting). */
  const enforceDeadline = async (state: JobState): Promise<JobState> => {
    if (Date.now() - state.createdAt < spec.stop.maxSeconds * 1000) return state;
    if (await jobs.finish(jobId, JobStatus.done, `maxSeconds (${spec.stop.maxSeconds}) reached`, Date.now())) {
      if (state.version > 0) await evaluateVersion(runtime, state.version);
    }
    return jobs.getJob(jobId);
  };

  /** Polls until the version reaches `target`, taking over a stalled round meanwhile. */
  const waitForVersion = async (target: number): Promise<JobState> => {
    const waitStart = Date.now();
    let delay = POLL_MIN_MS;
    let state = await jobs.getJob(jobId);
    while (running(state) && state.version < target && timeLeft()) {
      await sleep(delay);
      delay = Math.min(POLL_MAX_MS, delay * 1.5);
      state = await enforceDeadline(await takeOverIfStalled(await jobs.getJob(jobId)));
    }
    idleMs += Date.now() - waitStart;
    return state;
  };

  let state = await jobs.getJob(jobId);
  while (running(state) && timeLeft()) {
    state = await enforceDeadline(state);
    if (!running(state)) break;
    const version = state.version;
    const stepStart = Date.now();
    const weights = await runtime.weights.get(version);
    const batch = sampleBatch(runtime.trainData, spec.batchSize, random);
    const { loss, grad } = await runtime.train.step(weights, batch);
    const delaySeconds = sampleStragglerDelay(spec.stragglers, random);
    if (delaySeconds > 0) await sleep(delaySeconds * 1000);
    const ordinal = arrivalOrdinal(epoch, seq);
    const entry = { grad: gradientId(learner, epoch, seq++), learner, version, loss, at: 0 };
    await blobs.putGradient(jobId, entry.grad, grad);
    busyMs += Date.now() - stepStart;

    let arrival: Awaited<ReturnType<typeof jobs.arrive>> | undefined;
    while (!arrival) {
      try {
        arrival = await jobs.arrive(jobId, { ...entry, at: Date.now() }, arrivalRule(runtime, version), ordinal);
      } catch (error) {
        if (error instanceof JobNotRunningError) return finish(false);
        if (error instanceof StaleVersionError) break;
        if (!(error instanceof AlreadyInRoundError)) throw error;
        // k-async: this learner's previous gradient is still pending; wait for its round to close.
        state = await waitForVersion(state.version + 1);
        if (!running(state) || !timeLeft()) return finish(running(state));
      }
    }
    if (!arrival) {
      // Sync variants: the round of `version` closed without this gradient; compute on the next.
      rejected++;
      state = await waitForVersion(version + 1);
      continue;
    }
    pushed++;
    state = arrival.state;
    if (ownsAggregation(arrival.index, spec.k)) state = await aggregateWhileFull(runtime, state, `${learner}@${epoch}`);
    else state = await takeOverIfStalled(state);
    if (rule.afterPush === AfterPush.waitForNewVersion && running(state)) {
      state = await waitForVersion(appliedByVersion(arrival.state.version, arrival.index, spec.k));
    }
  }
  return finish(running(state));

  function finish(continueJob: boolean): LearnerOutcome {
    return { pushed, rejected, busyMs, idleMs, continueJob };
  }
}
