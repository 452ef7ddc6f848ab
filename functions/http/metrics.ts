import type { CommitRecord, JobState, LearnerRecord } from '../../engine/store/job-store';
import type { JobList, JobMetrics } from './schemas';

/** The time series of `GET /jobs/{id}/metrics`: one point per committed version, one timeline per learner. */
export function jobMetrics(
  state: JobState,
  commits: readonly CommitRecord[],
  learners: readonly LearnerRecord[],
  now: number,
): JobMetrics {
  return {
    jobId: state.jobId,
    status: state.status,
    createdAt: state.createdAt,
    finishedAt: state.finishedAt ?? null,
    now,
    commits: commits.map((commit) => ({
      version: commit.version,
      at: commit.committedAt,
      loss: commit.loss,
      eval: commit.eval ? { loss: commit.eval.loss, accuracy: commit.eval.accuracy } : null,
      grads: commit.grads.map(({ learner, version, staleness, eta }) => ({
        learner,
        version,
        staleness,
        eta,
      })),
    })),
    learners: learners
      .map(({ history, ...counters }) => ({
        learner: counters.learner,
        epoch: counters.epoch,
        pushed: counters.pushed ?? 0,
        rejected: counters.rejected ?? 0,
        coldStarts: counters.coldStarts ?? 0,
        initMs: counters.initMs ?? 0,
        busyMs: counters.busyMs ?? 0,
        idleMs: counters.idleMs ?? 0,
        invocations: [...history].sort((a, b) => a.epoch - b.epoch),
      }))
      // L2 before L10.
      .sort((a, b) => a.learner.localeCompare(b.learner, 'en', { numeric: true })),
  };
}

/** One row of `GET /jobs`: what a job list shows, read from the job item alone. */
export function jobListEntry(state: JobState): JobList['jobs'][number] {
  const { spec } = state;
  return {
    jobId: state.jobId,
    status: state.status,
    reason: state.reason,
    model: spec.model.kind,
    dataset: typeof spec.dataset === 'string' ? spec.dataset : `csv ${spec.dataset.csv}`,
    variant: spec.variant,
    learners: spec.learners,
    k: spec.k,
    version: state.version,
    loss: state.lastLoss ?? null,
    testAccuracy: state.lastEval?.accuracy ?? null,
    createdAt: state.createdAt,
    finishedAt: state.finishedAt ?? null,
  };
}
