import { auditJob } from '../../../engine/audit';
import type { CommitRecord } from '../../../engine/store/job-store';
import type { VariantName } from '../../../engine/variants';
import { type Embedded, startEmbedded } from '../../../local/kasync';
import { runToEnd } from '../helpers/jobs';

/**
 * Each variant's rule, checked on the commit log of a real job: P learner processes on the
 * embedded stack, with injected stragglers so that stale gradients actually occur.
 */
const P = 4;
const UPDATES = 40;

describe('variants on the embedded stack', () => {
  let embedded: Embedded;
  beforeAll(async () => {
    embedded = await startEmbedded({ learnerTimeoutSeconds: 30 });
  });
  afterAll(() => embedded?.stop());

  async function run(variant: VariantName, extra: object = {}) {
    const { jobId, summary } = await runToEnd(embedded, {
      model: 'softmax',
      dataset: 'mnist',
      variant,
      learners: P,
      batchSize: 16,
      stop: { maxUpdates: UPDATES, maxSeconds: 60 },
      evalEvery: 1000,
      stragglers: { distribution: 'exp', rate: 100 },
      ...extra,
    });
    expect(summary).toMatchObject({
      status: 'DONE',
      version: (extra as { stop?: { maxUpdates: number } }).stop?.maxUpdates ?? UPDATES,
    });
    const commits = (await embedded.stores.jobs.listCommits(jobId)).sort((a, b) => a.version - b.version);
    const audit = await auditJob(embedded.stores, jobId);
    expect(audit.problems).toEqual([]);
    return { summary, commits };
  }

  const learnersOf = (c: CommitRecord) => new Set(c.grads.map((g) => g.learner)).size;
  const staleness = (commits: CommitRecord[]) => commits.flatMap((c) => c.grads.map((g) => g.staleness));

  it('sync: every version applies P fresh gradients from P learners', async () => {
    const { commits, summary } = await run('sync');
    expect(summary.k).toBe(P);
    for (const c of commits) expect(learnersOf(c)).toBe(P);
    expect(Math.max(...staleness(commits))).toBe(0);
  }, 90_000);

  it('k-sync: K fresh gradients from K learners; the stragglers are rejected', async () => {
    const { commits, summary } = await run('k-sync', { k: 2 });
    for (const c of commits) expect([c.grads.length, learnersOf(c)]).toEqual([2, 2]);
    expect(Math.max(...staleness(commits))).toBe(0);
    expect(summary.gradients.rejected).toBeGreaterThan(0);
  }, 90_000);

  it('k-batch-sync: K fresh mini-batches from any learners', async () => {
    const { commits } = await run('k-batch-sync', { k: 3 });
    for (const c of commits) expect(c.grads).toHaveLength(3);
    expect(Math.max(...staleness(commits))).toBe(0);
  }, 90_000);

  it('async: one gradient per version, stale ones accepted', async () => {
    const { commits, summary } = await run('async');
    expect(summary.k).toBe(1);
    for (const c of commits) expect(c.grads).toHaveLength(1);
    expect(Math.max(...staleness(commits))).toBeGreaterThan(0);
    expect(summary.gradients.rejected).toBe(0);
  }, 90_000);

  it('k-async: K gradients from K distinct learners, stale ones accepted', async () => {
    const { commits, summary } = await run('k-async', { k: 2 });
    for (const c of commits) expect([c.grads.length, learnersOf(c)]).toEqual([2, 2]);
    expect(summary.staleness.max).toBeGreaterThan(0);
    expect(summary.gradients.rejected).toBe(0);
  }, 90_000);

  it('k-batch-async: any K mini-batches, stale ones accepted', async () => {
    const { commits, summary } = await run('k-batch-async', { k: 2 });
    for (const c of commits) expect(c.grads).toHaveLength(2);
    expect(Math.max(...staleness(commits))).toBeGreaterThan(0);
    expect(summary.staleness.histogram.slice(1).some((n) => n > 0)).toBe(true);
  }, 90_000);

  it('AdaSync grows K as the loss falls, and the audit follows the varying K', async () => {
    const { commits, summary } = await run('k-async', {
      k: 1,
      adasync: { intervalSeconds: 0.3 },
      // K moves once F(w0)/F(wt) >= 2.25: batches of 64 keep the one-batch F(w0) and the
      // smoothed loss steady enough that 200 updates always get there (batch 16 sometimes did not).
      batchSize: 64,
      lr: { eta: 0.5 },
      stop: { maxUpdates: 200, maxSeconds: 60 },
    });
    const ks = commits.map((c) => c.k);
    expect(ks[0]).toBe(1);
    expect(Math.max(...ks)).toBeGreaterThan(1);
    expect(Math.max(...ks)).toBeLessThanOrEqual(P);
    expect(summary.k).toBe(ks[ks.length - 1]);
    for (const c of commits) expect(learnersOf(c)).toBe(c.k);
  }, 90_000);
});
