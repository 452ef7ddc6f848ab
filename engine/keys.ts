/** Where everything lives: S3 keys (never overwritten) and DynamoDB keys, in one place. */

const pad = (n: number) => String(n).padStart(10, '0');

/** Job ids reach S3 keys: only this shape may ever be used as one. */
export const JOB_ID_PATTERN = /^[a-z0-9][a-z0-9-]{2,62}$/;
export const LEARNER_ID_PATTERN = /^L[0-9]{1,4}$/;

export function learnerIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `L${i}`);
}

export const s3Keys = {
  spec: (job: string) => `jobs/${job}/spec.json`,
  trainModel: (job: string) => `jobs/${job}/model/train.onnx`,
  forwardModel: (job: string) => `jobs/${job}/model/forward.onnx`,
  weights: (job: string, version: number) => `jobs/${job}/weights/${pad(version)}.f32`,
  /** Under their own top-level prefix so a lifecycle rule can expire them (they only serve audits). */
  gradient: (job: string, gradId: string) => `grads/${job}/${gradId}.f32`,
  gradientPrefix: 'grads/',
  datasetManifest: (name: string) => `datasets/${name}/manifest.json`,
  datasetShard: (name: string, split: string, index: number) =>
    `datasets/${name}/${split}-${String(index).padStart(4, '0')}.bin`,
} as const;

export const JOB_SK = 'STATE';
export const ddbKeys = {
  job: (job: string) => ({ pk: `JOB#${job}`, sk: JOB_SK }),
  commit: (job: string, version: number) => ({ pk: `JOB#${job}`, sk: `V#${pad(version)}` }),
  learner: (job: string, learner: string) => ({ pk: `JOB#${job}`, sk: `L#${learner}` }),
  /** The job index: one partition whose sort keys order jobs by creation time. */
  jobIndexPk: 'JOBS',
  jobIndexEntry: (job: string, createdAt: number) => ({
    pk: 'JOBS',
    sk: `${String(createdAt).padStart(15, '0')}#${job}`,
  }),
  /** Sort-key prefix for querying a job's learner items. */
  learnerPrefix: 'L#',
} as const;

/**
 * A gradient's id: `{learner}/{epoch}-{seq}`. The epoch makes ids unique across invocations of
 * the same learner (a killed invocation's counter is never reused), the seq within one.
 */
export function gradientId(learner: string, epoch: number, seq: number): string {
  return `${learner}/${epoch}-${seq}`;
}
