import { learnerIds } from './keys';
import type { LearnerInvocation } from './learner';
import type { Stores } from './store';
import { type JobState, JobStatus, type LearnerRecord } from './store/job-store';

/**
 * The watchdog: what keeps a job ending when none of its learners is left to end it (all
 * dead, frozen, or never started again after `kasync up --data-dir` restarted). On AWS a
 * scheduled function runs `sweepJobs` every minute; locally the process serving the embedded
 * stack runs it on a timer (local/kasync.ts). Running learners do the same revivals among
 * themselves (engine/invocation.ts); the watchdog is the one that needs no learner alive.
 */
export interface WatchdogOptions {
  /** A learner that has not beaten for this long is re-invoked as its next epoch. */
  readonly silentMs: number;
  /** A job still RUNNING this long past its maxSeconds is ended by the watchdog. */
  readonly graceMs: number;
}

export type WatchdogAction =
  | { readonly kind: 'ended'; readonly jobId: string; readonly reason: string }
  | { readonly kind: 'revived'; readonly jobId: string; readonly learners: readonly string[] };

/** The learners of a job silent for longer than `silentMs` (one never seen counts from the job's start), as their next invocations. */
export function silentLearners(
  job: Pick<JobState, 'jobId' | 'createdAt'> & { readonly learners: number },
  records: readonly LearnerRecord[],
  now: number,
  silentMs: number,
): LearnerInvocation[] {
  const byId = new Map(records.map((record) => [record.learner, record]));
  return learnerIds(job.learners).flatMap((learner) => {
    const record = byId.get(learner);
    const lastSign = record ? record.aliveAt : job.createdAt;
    return now - lastSign > silentMs ? [{ jobId: job.jobId, learner, epoch: (record?.epoch ?? 0) + 1 }] : [];
  });
}

/**
 * One pass over the running jobs: ends those past maxSeconds + grace (the learners that would
 * have ended them are gone), re-invokes silent learners of the others. A revived learner resumes
 * the job, takes over a round whose commit was lost (engine/aggregator.ts) and applies the stop
 * conditions itself. Duplicate re-invocations are harmless: the epoch claim lets one through.
 */
export async function sweepJobs(
  stores: Stores,
  invoke: (invocation: LearnerInvocation) => Promise<void>,
  now: number,
  options: WatchdogOptions,
): Promise<WatchdogAction[]> {
  const running = (await stores.jobs.listJobs(1000)).filter((job) => job.status === JobStatus.running);
  const actions: WatchdogAction[] = [];
  for (const job of running) {
    const deadline = job.createdAt + job.spec.stop.maxSeconds * 1000;
    if (now > deadline + options.graceMs) {
      const reason = `maxSeconds (${job.spec.stop.maxSeconds}) reached; ended by the watchdog (no learner was left to end it)`;
      if (await stores.jobs.finish(job.jobId, JobStatus.done, reason, now))
        actions.push({ kind: 'ended', jobId: job.jobId, reason });
      continue;
    }
    const silent = silentLearners(
      { jobId: job.jobId, createdAt: job.createdAt, learners: job.spec.learners },
      await stores.jobs.listLearners(job.jobId),
      now,
      options.silentMs,
    );
    if (silent.length === 0) continue;
    await Promise.all(silent.map(invoke));
    actions.push({ kind: 'revived', jobId: job.jobId, learners: silent.map((s) => s.learner) });
  }
  return actions;
}
