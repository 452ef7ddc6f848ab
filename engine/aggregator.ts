import { nextK } from './adasync';
import { VersionAlreadyCommittedError } from './errors';
import { CrashPoint, crashPoint } from './faults';
import { learningRate, needsStaleWeights, squaredDistance } from './lr';
import type { JobRuntime } from './runtime';
import { type CommitRecord, type JobState, JobStatus } from './store/job-store';
import { addStaleness, applyUpdate } from './update';
import { variantRule } from './variants';

/** A round is open for takeover when its K-th gradient arrived this long ago and no commit followed. */
export const DEFAULT_LEASE_MS = 10_000;

export function roundIsFull(state: JobState): boolean {
  return state.status === JobStatus.running && state.pending.length >= state.k;
}

/**
 * True when the head round has been full for longer than the lease (its aggregator is presumed
 * dead) and no takeover's lease is running: claiming one that is would only be refused.
 */
export function roundIsStalled(state: JobState, leaseMs: number, now: number): boolean {
  return (
    roundIsFull(state) &&
    now - state.pending[state.k - 1].at > leaseMs &&
    !(state.aggregator && state.aggregator.until >= now)
  );
}

/**
 * Applies the head round of `state` and commits version v+1 (DESIGN.md §3 step 6). The new
 * weights and the commit record are written before the job item moves, so a version that is
 * current always has both. Deterministic: a takeover redoing the round writes the same bytes,
 * and the conditional commit lets exactly one of them move the version.
 * Returns the state after the commit and its record, or undefined if another aggregator committed first.
 */
export async function aggregateRound(
  runtime: JobRuntime,
  state: JobState,
  by: string,
): Promise<{ state: JobState; record: CommitRecord } | undefined> {
  const { jobs, blobs } = runtime.stores;
  const { jobId, spec } = runtime.job;
  const v = state.version;
  const round = state.pending.slice(0, state.k);
  const [weights, gradients, staleWeights] = await Promise.all([
    runtime.weights.get(v),
    Promise.all(round.map((entry) => blobs.getGradient(jobId, entry.grad))),
    needsStaleWeights(spec.lr)
      ? Promise.all(round.map((entry) => runtime.weights.get(entry.version)))
      : undefined,
  ]);
  const staleness = round.map((entry) => v - entry.version);
  const etas = round.map((_, i) =>
    learningRate(spec.lr, {
      staleness: staleness[i],
      distanceSq: staleWeights && (() => squaredDistance(weights, staleWeights[i])),
    }),
  );
  const next = applyUpdate(weights, gradients, etas);
  if (!next.every(Number.isFinite)) {
    // A non-finite gradient or an overflowing step: the job fails rather than commit such weights.
    const learners = [...new Set(round.map((entry) => entry.learner))].join(', ');
    await jobs.finish(
      jobId,
      JobStatus.failed,
      `non-finite weights at version ${v + 1} (round of learners ${learners}, computed on versions ${round.map((e) => e.version).join(', ')})`,
      Date.now(),
    );
    return undefined;
  }
  const loss = round.reduce((sum, entry) => sum + entry.loss, 0) / round.length;
  const record: CommitRecord = {
    version: v + 1,
    k: state.k,
    grads: round.map((entry, i) => ({
      grad: entry.grad,
      ms: entry.ms,
      learner: entry.learner,
      version: entry.version,
      staleness: staleness[i],
      eta: etas[i],
      loss: entry.loss,
    })),
    loss,
    committedAt: Date.now(),
    aggregator: by,
  };
  await Promise.all([blobs.putWeights(jobId, v + 1, next), jobs.putCommitRecord(jobId, record)]);
  runtime.weights.put(v + 1, next);
  crashPoint(CrashPoint.beforeCommit);
  try {
    const committed = await jobs.commit(
      jobId,
      {
        fromVersion: v,
        consumed: round,
        stats: addStaleness(state.stats, staleness),
        loss,
        distinct: variantRule(spec.variant).distinctLearners,
        adaptive: nextK(spec, state.adaptive, loss, record.committedAt),
      },
      Date.now(),
    );
    return { state: committed, record };
  } catch (error) {
    if (error instanceof VersionAlreadyCommittedError) return undefined;
    throw error;
  }
}

/**
 * Commits rounds while full ones are waiting (a backlog builds when arrivals outpace commits),
 * then evaluates and applies the stop conditions to the versions this process committed.
 * Returns the newest state this process saw.
 */
export async function aggregateWhileFull(
  runtime: JobRuntime,
  state: JobState,
  by: string,
  onCommit?: (record: CommitRecord) => void,
): Promise<JobState> {
  let current = state;
  while (roundIsFull(current) && current.version < runtime.job.spec.stop.maxUpdates) {
    const committed = await aggregateRound(runtime, current, by);
    if (!committed) return runtime.stores.jobs.getJob(runtime.job.jobId);
    onCommit?.(committed.record);
    current = await afterCommit(runtime, committed.state);
  }
  return current;
}

/**
 * The stop conditions and the evaluation every `evalEvery` versions (DESIGN.md §3, Stop). A job
 * that hit a budget is ended before its final evaluation, so no further round commits meanwhile.
 */
async function afterCommit(runtime: JobRuntime, state: JobState): Promise<JobState> {
  const { jobs } = runtime.stores;
  const { jobId, spec } = runtime.job;
  const { stop } = spec;
  const version = state.version;
  let reason: string | undefined;
  if (version >= stop.maxUpdates) reason = `maxUpdates (${stop.maxUpdates}) reached`;
  else if (Date.now() - state.createdAt >= stop.maxSeconds * 1000)
    reason = `maxSeconds (${stop.maxSeconds}) reached`;
  if (reason) {
    if (await jobs.finish(jobId, JobStatus.done, reason, Date.now())) await evaluateVersion(runtime, version);
    return jobs.getJob(jobId);
  }
  if (version % spec.evalEvery !== 0) return state;
  const evaluation = await evaluateVersion(runtime, version);
  if (stop.targetAccuracy !== undefined && evaluation.accuracy >= stop.targetAccuracy) {
    reason = `targetAccuracy (${stop.targetAccuracy}) reached`;
  } else if (stop.targetLoss !== undefined && evaluation.loss <= stop.targetLoss) {
    reason = `targetLoss (${stop.targetLoss}) reached`;
  }
  if (!reason) return state;
  await jobs.finish(jobId, JobStatus.done, reason, Date.now());
  return jobs.getJob(jobId);
}

/** Evaluates version `version` on the held-out split and records it on its commit and the job. */
export async function evaluateVersion(
  runtime: JobRuntime,
  version: number,
): Promise<{ loss: number; accuracy: number }> {
  const metrics = await runtime.evaluate(await runtime.weights.get(version));
  await runtime.stores.jobs.recordEvaluation(runtime.job.jobId, { version, ...metrics });
  return metrics;
}
