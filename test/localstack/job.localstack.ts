import { auditJob } from '../../engine/audit';
import { isFinished, jobSummary, submitJob } from '../../engine/jobs';
import type { JobSummary } from '../../engine/summary';
import { createApp } from '../../functions/http/app';
import { localstackTarget, type Target } from './target';

/**
 * The integration path against LocalStack (`npm run test:localstack`, not part of `npm test`):
 * the engine submits a job through the AWS SDK, the learner runs as a Lambda function in
 * LocalStack (its containers, its async invocations and retries), arrivals and commits go to
 * LocalStack's DynamoDB and S3, and the commit log must replay bit for bit. The HTTP app is then
 * driven in-process against the same stores (LocalStack's free tier has no HTTP APIs).
 */
describe(`kasync on LocalStack at ${process.env.AWS_ENDPOINT_URL}`, () => {
  let target: Target;
  let jobId: string;
  let summary: JobSummary;

  beforeAll(async () => {
    target = await localstackTarget();
  }, 600_000);
  afterAll(() => target?.cleanup());

  it('runs a k-async job to its end on Lambda learners, and the audit replays it', async () => {
    ({ jobId } = await submitJob(target.clients, target.resources, target.stores, {
      model: 'softmax',
      dataset: 'synthetic',
      variant: 'k-async',
      learners: 3,
      k: 2,
      batchSize: 32,
      stop: { maxUpdates: 40, maxSeconds: 240 },
      evalEvery: 20,
      seed: 5,
    }));
    const deadline = Date.now() + 420_000;
    summary = await jobSummary(target.stores, jobId);
    while (!isFinished(summary)) {
      if (Date.now() > deadline) throw new Error(`job ${jobId} did not end: ${JSON.stringify(summary)}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      summary = await jobSummary(target.stores, jobId);
    }
    expect(summary).toMatchObject({ status: 'DONE', version: 40 });
    const audit = await auditJob(target.stores, jobId);
    expect(audit.problems).toEqual([]);
    expect(audit.ok).toBe(true);
    expect(summary.coldStarts).toBeGreaterThanOrEqual(1);
  }, 600_000);

  it('serves the job through the HTTP app on the same stores', async () => {
    const app = createApp({ clients: target.clients, resources: target.resources, stores: target.stores });
    const list = await app.request('/jobs');
    expect(list.status).toBe(200);
    expect(((await list.json()) as { jobs: { jobId: string }[] }).jobs.map((j) => j.jobId)).toContain(jobId);
    const one = await app.request(`/jobs/${jobId}`);
    expect(await one.json()).toMatchObject({ jobId, status: 'DONE', version: 40 });
    const model = await app.request(`/jobs/${jobId}/model`);
    expect(model.status).toBe(200);
    expect(model.headers.get('x-kasync-version')).toBe('40');
  }, 60_000);
});
