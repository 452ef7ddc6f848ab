import { costInputs, estimateCost } from './cost';
import type { JobState, JobStatus, LearnerCounters, LearnerRecord } from './store/job-store';

/** The job summary of DESIGN.md §7, served by `GET /jobs/{id}` and printed by `--json`. */
export interface JobSummary {
  readonly jobId: string;
  readonly status: JobStatus;
  readonly reason?: string;
  readonly variant: string;
  readonly learners: number;
  readonly k: number;
  readonly version: number;
  readonly elapsedSeconds: number;
  readonly loss: number | null;
  readonly testAccuracy: number | null;
  readonly testLoss: number | null;
  readonly evaluatedVersion: number | null;
  readonly gradients: {
    readonly pushed: number;
    readonly applied: number;
    readonly rejected: number;
    readonly pending: number;
  };
  readonly staleness: { readonly mean: number; readonly max: number; readonly histogram: readonly number[] };
  readonly coldStarts: number;
  /** Rounds another learner redid because their aggregator stalled (died mid-commit). */
  readonly takeovers: number;
  readonly updatesPerSecond: number;
  /** Estimated AWS cost of the learners' work so far (engine/cost.ts has the prices). */
  readonly costUsd: number;
}

const round = (value: number, digits = 4) => Number(value.toFixed(digits));

export function summarize(state: JobState, learners: readonly LearnerRecord[], now: number): JobSummary {
  const elapsedSeconds = Math.max(0, ((state.finishedAt ?? now) - state.createdAt) / 1000);
  const { stats } = state;
  const total = (counter: keyof LearnerCounters) => learners.reduce((sum, l) => sum + l[counter], 0);
  return {
    jobId: state.jobId,
    status: state.status,
    reason: state.reason,
    variant: state.spec.variant,
    learners: state.spec.learners,
    k: state.k,
    version: state.version,
    elapsedSeconds: round(elapsedSeconds, 2),
    loss: state.lastLoss ?? null,
    testAccuracy: state.lastEval?.accuracy ?? null,
    testLoss: state.lastEval?.loss ?? null,
    evaluatedVersion: state.lastEval?.version ?? null,
    gradients: {
      pushed: state.pushed,
      applied: stats.applied,
      rejected: total('rejected'),
      pending: state.pending.length,
    },
    staleness: {
      mean: stats.applied > 0 ? round(stats.sum / stats.applied) : 0,
      max: stats.max,
      histogram: stats.histogram,
    },
    coldStarts: total('coldStarts'),
    takeovers: state.takeovers ?? 0,
    // One function, one architecture: any learner's record names it.
    costUsd: estimateCost(costInputs(learners), learners.find((l) => l.architecture)?.architecture).totalUsd,
    updatesPerSecond: elapsedSeconds > 0 ? round(state.version / elapsedSeconds, 2) : 0,
  };
}
