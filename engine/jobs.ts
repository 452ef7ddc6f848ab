import { randomBytes } from 'node:crypto';
import type { AssetOptions } from './assets';
import type { AwsClients, Resources } from './aws';
import { ValidationError } from './errors';
import { invokeLearner } from './invocation';
import { JOB_ID_PATTERN, learnerIds, s3Keys } from './keys';
import { resolveJobModel } from './models';
import type { JobDescriptor } from './runtime';
import { type JobSpec, parseJobSpec } from './spec';
import type { Stores } from './store';
import { type JobState, JobStatus } from './store/job-store';
import { type JobSummary, summarize } from './summary';

export function newJobId(now = Date.now()): string {
  return `job-${now.toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Throws a ValidationError for anything that could not be a job id (it reaches S3 keys). */
export function checkJobId(jobId: string): string {
  if (!JOB_ID_PATTERN.test(jobId))
    throw new ValidationError('jobId', `"${jobId.slice(0, 80)}" is not a job id`);
  return jobId;
}

/**
 * Validates a spec and lays the job out in the stores (DESIGN.md §2): dataset shards if
 * missing, spec and model graphs, w[0], then the job item, which makes the job visible.
 * Local model and CSV paths are uploaded and the stored spec points at their S3 URIs;
 * `assets.localPaths` says whether this process may read local paths (engine/assets.ts).
 */
export async function createJob(
  stores: Stores,
  input: unknown,
  now = Date.now(),
  assets: AssetOptions = {},
): Promise<{ jobId: string; spec: JobSpec }> {
  const { spec, model, dataset } = await resolveJobModel(stores.blobs, parseJobSpec(input), assets);
  const jobId = newJobId(now);
  const descriptor: JobDescriptor = { jobId, spec, params: model.manifest, dataset, createdAt: now };
  await Promise.all([
    stores.blobs.putJson(s3Keys.spec(jobId), descriptor),
    stores.blobs.put(s3Keys.trainModel(jobId), model.train),
    stores.blobs.put(s3Keys.forwardModel(jobId), model.forward),
    stores.blobs.putWeights(jobId, 0, model.initParams(spec.seed)),
  ]);
  await stores.jobs.createJob(jobId, spec, Date.now());
  return { jobId, spec };
}

/** Starts the job's P learners, each with an asynchronous invocation (epoch 1). */
export async function startLearners(
  clients: AwsClients,
  resources: Resources,
  jobId: string,
  learners: number,
): Promise<void> {
  await Promise.all(
    learnerIds(learners).map((learner) =>
      invokeLearner(clients.lambda, clients.endpoints.lambda, resources.learnerFunction, {
        jobId,
        learner,
        epoch: 1,
      }),
    ),
  );
}

export async function submitJob(
  clients: AwsClients,
  resources: Resources,
  stores: Stores,
  input: unknown,
  assets: AssetOptions = {},
) {
  const created = await createJob(stores, input, Date.now(), assets);
  await startLearners(clients, resources, created.jobId, created.spec.learners);
  return created;
}

/** Asks a running job to stop; learners see the status at their next arrival or poll. */
export async function stopJob(stores: Stores, jobId: string): Promise<void> {
  await stores.jobs.finish(checkJobId(jobId), JobStatus.stopped, 'stopped by request', Date.now());
}

export async function jobSummary(stores: Stores, jobId: string, now = Date.now()): Promise<JobSummary> {
  checkJobId(jobId);
  const [state, learners] = await Promise.all([stores.jobs.getJob(jobId), stores.jobs.listLearners(jobId)]);
  return summarize(state, learners, now);
}

export function isFinished(state: Pick<JobState, 'status'>): boolean {
  return state.status !== JobStatus.running;
}
