import { z } from 'zod';
import { JOB_ID_PATTERN } from '../../engine/keys';
import { JobStatus } from '../../engine/store/job-store';
import type { JobSummary } from '../../engine/summary';

/**
 * The shapes the HTTP API accepts and returns. Requests are validated with these schemas (the
 * job spec with the engine's own `jobSpecSchema`), and `GET /openapi.json` is generated from
 * them, so the document cannot drift from what the code does.
 */

export const jobIdSchema = z.string().regex(JOB_ID_PATTERN).describe('a job id, e.g. job-lx2k9a1b-3f9a0c');

/** `?since=V` on the metrics: only the versions after V (a poller sends the last one it has). */
export const sinceSchema = z.coerce
  .number()
  .int()
  .min(0)
  .max(9_999_999_999)
  .describe('return only the commits after this version');

const statusSchema = z.enum(Object.values(JobStatus) as [JobStatus, ...JobStatus[]]);

export const errorSchema = z.object({
  error: z.string().describe('what is wrong, naming the field when there is one'),
  field: z.string().optional().describe('dotted path of the offending field, e.g. lr.eta'),
});
export type ApiErrorBody = z.infer<typeof errorSchema>;

export const submittedSchema = z.object({ jobId: z.string() });

/** `POST /uploads/{model|dataset}`: where the file now is, to give as `model.onnx` or `dataset.csv`. */
export const uploadedSchema = z.object({ uri: z.string().describe('s3://bucket/uploads/{sha256}.onnx|csv') });

/** Annotated with the engine's interface: the compiler checks that the two agree. */
export const jobSummarySchema: z.ZodType<JobSummary> = z.object({
  jobId: z.string(),
  status: statusSchema,
  reason: z.string().optional(),
  variant: z.string(),
  learners: z.number().int(),
  k: z.number().int(),
  version: z.number().int().describe('updates committed'),
  elapsedSeconds: z.number(),
  loss: z.number().nullable().describe('mean training loss of the last committed round'),
  testAccuracy: z.number().nullable(),
  testLoss: z.number().nullable(),
  evaluatedVersion: z.number().int().nullable(),
  gradients: z.object({
    pushed: z.number().int(),
    applied: z.number().int(),
    rejected: z.number().int(),
    pending: z.number().int(),
  }),
  staleness: z.object({
    mean: z.number(),
    max: z.number().int(),
    histogram: z
      .array(z.number().int())
      .describe(
        'histogram[s] counts gradients applied with staleness s; the last bucket holds s >= its index',
      ),
  }),
  coldStarts: z.number().int(),
  takeovers: z.number().int().describe('rounds redone by another learner because their aggregator stalled'),
  updatesPerSecond: z.number(),
  costUsd: z.number().describe("estimated AWS cost of the learners' work so far (engine/cost.ts)"),
});

export const jobListSchema = z.object({
  jobs: z.array(
    z.object({
      jobId: z.string(),
      status: statusSchema,
      reason: z.string().optional(),
      model: z.string(),
      dataset: z.string(),
      variant: z.string(),
      learners: z.number().int(),
      k: z.number().int(),
      version: z.number().int(),
      loss: z.number().nullable(),
      testAccuracy: z.number().nullable(),
      createdAt: z.number().describe('ms since the Unix epoch'),
      finishedAt: z.number().nullable(),
    }),
  ),
});
export type JobList = z.infer<typeof jobListSchema>;

const evaluationSchema = z.object({ loss: z.number(), accuracy: z.number() });

export const metricsSchema = z.object({
  jobId: z.string(),
  status: statusSchema,
  createdAt: z.number().describe('ms since the Unix epoch; every time below is too'),
  finishedAt: z.number().nullable(),
  now: z.number().describe("the server's clock when it answered, to place running invocations"),
  commits: z.array(
    z.object({
      version: z.number().int(),
      at: z.number(),
      loss: z.number().describe('mean training loss of the gradients applied'),
      eval: evaluationSchema.nullable().describe('held-out loss and accuracy, every evalEvery versions'),
      grads: z.array(
        z.object({
          learner: z.string(),
          version: z.number().int().describe('the version the gradient was computed on'),
          staleness: z.number().int(),
          eta: z.number().describe('learning rate the schedule gave this gradient'),
        }),
      ),
    }),
  ),
  learners: z.array(
    z.object({
      learner: z.string(),
      epoch: z
        .number()
        .int()
        .describe('the latest invocation claimed; running when history has no record of it'),
      pushed: z.number().int(),
      rejected: z.number().int(),
      coldStarts: z.number().int(),
      initMs: z.number(),
      busyMs: z.number(),
      idleMs: z.number(),
      invocations: z.array(
        z.object({
          epoch: z.number().int(),
          start: z.number().describe('after the runtime was built; a cold start spans the initMs before it'),
          end: z.number(),
          coldStart: z.boolean(),
          initMs: z.number(),
          busyMs: z.number().describe('computing gradients'),
          idleMs: z.number().describe('waiting for versions'),
          pushed: z.number().int(),
        }),
      ),
    }),
  ),
});
export type JobMetrics = z.infer<typeof metricsSchema>;
