import { auditJob } from '../../../engine/audit';
import { createJob, jobSummary } from '../../../engine/jobs';
import { sweepJobs } from '../../../engine/watchdog';
import { type Embedded, LEARNER_FUNCTION, startEmbedded } from '../../../local/kasync';
import { runToEnd } from '../helpers/jobs';

/** Jobs end even when no learner is left to end them: the watchdog (engine/watchdog.ts). */
const job = (stop: object) => ({
  model: 'softmax',
  dataset: 'mnist',
  variant: 'k-async',
  learners: 4,
  k: 2,
  batchSize: 32,
  stop,
  evalEvery: 1000,
});

describe('watchdog', () => {
  let embedded: Embedded;
  beforeAll(async () => {
    embedded = await startEmbedded({
      learnerTimeoutSeconds: 30,
      leaseMs: 1500,
      heartbeatMs: 200,
      watchdogMs: 500,
    });
  });
  afterAll(() => embedded.stop());

  const waitForEnd = async (jobId: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    let summary = await jobSummary(embedded.stores, jobId);
    while (summary.status === 'RUNNING' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      summary = await jobSummary(embedded.stores, jobId);
    }
    await embedded.stack.lambda.idle();
    return summary;
  };

  it('starts the learners of a job nobody invoked (all dead, no re-delivery); it ends by its own stop condition', async () => {
    const { jobId } = await createJob(embedded.stores, job({ maxUpdates: 40, maxSeconds: 60 }), Date.now());
    const summary = await waitForEnd(jobId, 60_000);
    expect(summary).toMatchObject({ status: 'DONE', version: 40, reason: 'maxUpdates (40) reached' });
    expect((await auditJob(embedded.stores, jobId)).problems).toEqual([]);
  }, 70_000);

  it('revives a job whose learners are all frozen (SIGSTOP); the frozen ones, resumed, are fenced', async () => {
    const frozen: number[] = [];
    try {
      const { jobId, summary } = await runToEnd(
        embedded,
        job({ maxUpdates: 80, maxSeconds: 60 }),
        async (_, progress) => {
          if (frozen.length > 0 || progress.version < 20) return;
          for (const worker of embedded.stack.lambda.workers(LEARNER_FUNCTION).filter((w) => w.busy)) {
            if (embedded.stack.lambda.killWorker(worker.pid, 'SIGSTOP')) frozen.push(worker.pid);
          }
          const stuckAt = (await jobSummary(embedded.stores, _)).version;
          // Resume the frozen ones once the job has moved on without them.
          setTimeout(() => {
            for (const pid of frozen) embedded.stack.lambda.killWorker(pid, 'SIGCONT');
          }, 4000).unref();
          expect(stuckAt).toBeLessThan(80);
        },
      );
      expect(frozen.length).toBeGreaterThanOrEqual(1);
      expect(summary).toMatchObject({ status: 'DONE', version: 80 });
      expect((await auditJob(embedded.stores, jobId)).problems).toEqual([]);
    } finally {
      for (const pid of frozen) embedded.stack.lambda.killWorker(pid, 'SIGCONT');
    }
  }, 90_000);

  it('ends a job past maxSeconds when no learner can run, with the reason recorded', async () => {
    const { jobId } = await createJob(embedded.stores, job({ maxUpdates: 1000, maxSeconds: 5 }), Date.now());
    const state = await embedded.stores.jobs.getJob(jobId);
    const invoked: string[] = [];
    // The Lambda service is away: re-invocations go nowhere.
    const options = { silentMs: 1_000, graceMs: 10_000 };
    const early = await sweepJobs(
      embedded.stores,
      async (i) => void invoked.push(i.learner),
      state.createdAt + 2_000,
      options,
    );
    expect(early).toContainEqual({ kind: 'revived', jobId, learners: ['L0', 'L1', 'L2', 'L3'] });
    const late = await sweepJobs(embedded.stores, async () => {}, state.createdAt + 15_001, options);
    expect(late).toContainEqual(expect.objectContaining({ kind: 'ended', jobId }));
    const ended = await embedded.stores.jobs.getJob(jobId);
    expect(ended.status).toBe('DONE');
    expect(ended.reason).toMatch(/^maxSeconds \(5\) reached; ended by the watchdog/);
  }, 30_000);
});
