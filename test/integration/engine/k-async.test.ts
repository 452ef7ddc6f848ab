import { auditJob } from '../../../engine/audit';
import { type Embedded, LEARNER_FUNCTION, startEmbedded } from '../../../local/kasync';
import { runToEnd } from '../helpers/jobs';

/**
 * A k-async job end to end on the embedded stack: P learner processes race on one job item
 * over HTTP, each invocation hands over to the next epoch, and the commit log must replay.
 */
describe('k-async job on the embedded stack', () => {
  let embedded: Embedded;
  const P = 4;
  const K = 2;

  beforeAll(async () => {
    // A short Lambda timeout makes every learner re-invoke itself several times during the job.
    embedded = await startEmbedded({ learnerTimeoutSeconds: 6, maxLearners: 8 });
  });
  afterAll(() => embedded?.stop());

  it('commits contiguous versions of exactly K gradients from K distinct learners, replayable bit for bit', async () => {
    const { jobId, summary } = await runToEnd(embedded, {
      model: 'softmax',
      dataset: 'mnist',
      variant: 'k-async',
      learners: P,
      k: K,
      batchSize: 32,
      lr: { eta: 0.2 },
      stop: { maxUpdates: 150, maxSeconds: 90 },
      evalEvery: 50,
    });
    expect(summary).toMatchObject({ status: 'DONE', version: 150, reason: 'maxUpdates (150) reached' });

    const commits = await embedded.stores.jobs.listCommits(jobId);
    expect(commits.map((c) => c.version)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect((await embedded.stores.jobs.listCommits(jobId, 140)).map((c) => c.version)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 141),
    );
    const applied = commits.flatMap((c) => c.grads.map((g) => g.grad));
    expect(new Set(applied).size).toBe(applied.length);
    for (const commit of commits) {
      expect(commit.grads).toHaveLength(K);
      expect(new Set(commit.grads.map((g) => g.learner)).size).toBe(K);
      for (const g of commit.grads) expect(g.staleness).toBe(commit.version - 1 - g.version);
    }
    const learnersSeen = new Set(applied.map((g) => g.split('/')[0]));
    expect(learnersSeen.size).toBe(P);

    const audit = await auditJob(embedded.stores, jobId);
    expect(audit.problems).toEqual([]);
    expect(audit).toMatchObject({ ok: true, versionsVerified: 150 });

    // Learners handed over to later epochs, and the job learned something.
    const learners = await embedded.stores.jobs.listLearners(jobId);
    expect(learners).toHaveLength(P);
    expect(Math.max(...learners.map((l) => l.epoch))).toBeGreaterThan(1);
    expect(summary.coldStarts).toBeGreaterThanOrEqual(P);
    expect(summary.testAccuracy).toBeGreaterThan(0.7);
    expect(embedded.stack.lambda.stats(LEARNER_FUNCTION).errors).toBe(0);

    // The usage meter saw every gradient PUT and every arrival write; the estimate follows.
    const total = (counter: 's3Puts' | 'ddbWriteUnits' | 'gbSeconds') =>
      learners.reduce((sum, l) => sum + l[counter], 0);
    expect(total('s3Puts')).toBeGreaterThanOrEqual(summary.gradients.pushed + 150);
    expect(total('ddbWriteUnits')).toBeGreaterThanOrEqual(summary.gradients.pushed + 150);
    expect(total('gbSeconds')).toBeGreaterThan(0);
    expect(summary.costUsd).toBeGreaterThan(0);
  }, 120_000);
});
