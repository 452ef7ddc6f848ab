import { randomUUID } from 'node:crypto';
import { setTimeout } from 'node:timers/promises';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { LearnerFencedError } from './errors';
import { emptyProgress, type LearnerInvocation, type LearnerOptions, runLearner } from './learner';
import type { JobRuntime } from './runtime';
import { JobStatus, type LearnerCounters } from './store/job-store';
import type { LearnerClaim } from './store/learner-store';
import { storeCall } from './store/translate';
import type { UsageMeter } from './usage';
import { silentLearners } from './watchdog';

/** Starts (or continues) a learner with an asynchronous Lambda invocation. */
export async function invokeLearner(
  lambda: LambdaClient,
  endpoint: string,
  functionName: string,
  invocation: LearnerInvocation,
): Promise<void> {
  await storeCall('Lambda', endpoint, `function ${functionName}`, () =>
    lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(invocation)),
      }),
    ),
  );
}

export const DEFAULT_HEARTBEAT_MS = 5_000;
/** A claim whose holder has not beaten for this many heartbeats is presumed dead. */
const MISSED_BEATS = 3;
/**
 * A learner silent for this many heartbeats is re-invoked by the others: its process died and
 * the platform gave up retrying (or an Event was lost). Longer than a cold start takes.
 */
export const REVIVE_AFTER_BEATS = 10;

export interface InvocationOptions extends Omit<LearnerOptions, 'beat'> {
  readonly heartbeatMs?: number;
  /** Meters this process's clients; its deltas are recorded with the heartbeats. */
  readonly usage?: UsageMeter;
  /** The function's memory, for billed GB-seconds. */
  readonly memoryMb?: number;
}

export const InvocationEnd = {
  /** Ran and handed over (or the job ended). */
  ran: 'ran',
  /** A second delivery of an invocation that is alive or already finished: exited without pushing. */
  duplicate: 'duplicate',
  /** Another invocation took this learner over while it ran: stopped without handing over. */
  fenced: 'fenced',
} as const;
export type InvocationEnd = (typeof InvocationEnd)[keyof typeof InvocationEnd];

export interface InvocationResult {
  readonly end: InvocationEnd;
  readonly epoch: number;
  readonly pushed: number;
  readonly rejected: number;
  readonly continued: boolean;
  /** Rounds this invocation committed as their aggregator, their gradients and total staleness. */
  readonly committed: { readonly updates: number; readonly gradients: number; readonly stalenessSum: number };
}

/**
 * The whole of one learner invocation (DESIGN.md §3): claim the epoch, run the learner loop with
 * heartbeats, record the invocation, and hand over to the next epoch while the job runs.
 *
 * Deliveries of one epoch: AWS may deliver an asynchronous invocation twice, and retries one
 * whose process died. The claim tells them apart by the holder's heartbeat: a holder that beats
 * is alive (this delivery is a duplicate and exits); one that stopped beating is dead, and this
 * delivery takes over as the next epoch.
 */
export async function handleLearnerInvocation(
  runtime: JobRuntime,
  invocation: LearnerInvocation,
  options: InvocationOptions,
  invoke: (next: LearnerInvocation) => Promise<void>,
): Promise<InvocationResult> {
  const { learners } = runtime.stores;
  const { jobId, learner } = invocation;
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const sleep = options.sleep ?? setTimeout;
  const nonce = randomUUID();
  const start = Date.now();
  const progress = emptyProgress();
  const result = (end: InvocationEnd, epoch: number, continued = false): InvocationResult => ({
    end,
    epoch,
    pushed: progress.pushed,
    rejected: progress.rejected,
    continued,
    committed: {
      updates: progress.updates,
      gradients: progress.appliedGradients,
      stalenessSum: progress.stalenessSum,
    },
  });

  const claimed = await claim();
  if (claimed === undefined) return result(InvocationEnd.duplicate, invocation.epoch);

  let flushed = emptyProgress();
  let billedUntil = start;
  let lastBeat = Date.now();
  let lastWatch = Date.now();
  const memoryGb = (options.memoryMb ?? 0) / 1024;
  /** Counters, usage and billed time since the last flush. */
  const unflushed = (): Partial<LearnerCounters> => {
    const now = Date.now();
    const delta = {
      pushed: progress.pushed - flushed.pushed,
      rejected: progress.rejected - flushed.rejected,
      busyMs: progress.busyMs - flushed.busyMs,
      idleMs: progress.idleMs - flushed.idleMs,
      gbSeconds: ((now - billedUntil) / 1000) * memoryGb,
      ...options.usage?.takeDelta(),
    };
    flushed = { ...progress };
    billedUntil = now;
    return delta;
  };
  const beat = async () => {
    if (Date.now() - lastBeat < heartbeatMs) return;
    lastBeat = Date.now();
    await learners.heartbeat(jobId, learner, nonce, unflushed(), lastBeat);
    if (lastBeat - lastWatch >= REVIVE_AFTER_BEATS * heartbeatMs) {
      lastWatch = lastBeat;
      await reviveSilentLearners();
    }
  };

  let continueJob: boolean;
  try {
    ({ continueJob } = await runLearner(
      runtime,
      { ...invocation, epoch: claimed },
      { ...options, beat },
      progress,
    ));
  } catch (error) {
    if (error instanceof LearnerFencedError) return result(InvocationEnd.fenced, claimed);
    throw error;
  }
  await learners.endInvocation(jobId, learner, unflushed(), {
    epoch: claimed,
    start,
    end: Date.now(),
    coldStart: options.coldStart,
    initMs: options.coldStart ? Math.round(options.initMs) : 0,
    busyMs: progress.busyMs,
    idleMs: progress.idleMs,
    pushed: progress.pushed,
  });
  if (continueJob) await invoke({ ...invocation, epoch: claimed + 1 });
  return result(InvocationEnd.ran, claimed, continueJob);

  /**
   * Re-invokes, as their next epoch, the learners that stopped beating long ago (a learner
   * that never claimed counts from the job's start). Several learners may do this at once:
   * the claim lets one delivery through.
   */
  async function reviveSilentLearners(): Promise<void> {
    const silent = silentLearners(
      { jobId, createdAt: runtime.job.createdAt, learners: runtime.job.spec.learners },
      await runtime.stores.jobs.listLearners(jobId),
      Date.now(),
      REVIVE_AFTER_BEATS * heartbeatMs,
    );
    await Promise.all(silent.map((next) => invoke(next)));
  }

  /** The epoch this invocation runs as, or undefined if it must exit as a duplicate. */
  async function claim(): Promise<number | undefined> {
    let seen: LearnerClaim | undefined = await learners.claimEpoch(
      jobId,
      learner,
      invocation.epoch,
      nonce,
      Date.now(),
      options,
    );
    if (!seen) return invocation.epoch;
    if (seen.epoch > invocation.epoch || seen.endedEpoch === seen.epoch) return undefined;
    for (;;) {
      if (Date.now() - seen.aliveAt >= MISSED_BEATS * heartbeatMs) {
        return learners.takeOver(jobId, learner, seen, nonce, Date.now());
      }
      await sleep(heartbeatMs);
      // A holder of an ended job stops beating too; there is nothing left to take over.
      if ((await runtime.stores.jobs.getJob(jobId)).status !== JobStatus.running) return undefined;
      const now: LearnerClaim = await learners.getClaim(jobId, learner);
      // The holder beat, finished, or someone else took over: this delivery is not needed.
      if (now.epoch !== seen.epoch || now.claim !== seen.claim || now.aliveAt !== seen.aliveAt)
        return undefined;
      seen = now;
    }
  }
}
