import { createClients } from '../../../engine/aws';
import {
  AlreadyInRoundError,
  JobNotRunningError,
  LearnerFencedError,
  StaleVersionError,
  VersionAlreadyCommittedError,
} from '../../../engine/errors';
import { parseJobSpec } from '../../../engine/spec';
import { createStores, type Stores } from '../../../engine/store';
import { EMPTY_STATS, type PendingEntry } from '../../../engine/store/job-store';
import { type LocalStack, startLocalStack } from '../../../local/stack';

/** The job item's conditional writes against a real DynamoDB emulator over HTTP. */
describe('JobStore on dynalite', () => {
  let stack: LocalStack;
  let stores: Stores;
  const spec = parseJobSpec({ model: 'softmax', dataset: 'mnist', variant: 'k-async', learners: 8, k: 3 });
  const entry = (learner: string, version = 0, n = 0): PendingEntry => ({
    grad: `${learner}/1-${n}`,
    learner,
    version,
    loss: 1,
    at: Date.now(),
    ms: 0,
  });
  const distinct = { distinct: true, k: 3 };
  const ordinalOf = (e: PendingEntry) => Number(e.grad.split('-')[1]);
  let counter = 0;
  const newJob = async (overrides: Partial<typeof spec> = {}) => {
    const jobId = `job-test-${counter++}`;
    await stores.jobs.createJob(jobId, { ...spec, ...overrides }, Date.now());
    return jobId;
  };

  beforeAll(async () => {
    stack = await startLocalStack();
    stores = createStores(createClients(stack.env), stack);
  });
  afterAll(() => stack.stop());

  it('gives concurrent arrivals distinct, contiguous positions', async () => {
    const jobId = await newJob();
    const learners = Array.from({ length: 24 }, (_, i) => `L${i}`);
    const arrivals = await Promise.all(
      learners.map((l) => stores.jobs.arrive(jobId, entry(l), distinct, ordinalOf(entry(l)))),
    );
    expect(arrivals.map((a) => a.index).sort((a, b) => a - b)).toEqual(learners.map((_, i) => i));
    const state = await stores.jobs.getJob(jobId);
    expect(state.pending).toHaveLength(24);
    expect(state.pushed).toBe(24);
    expect(new Set(state.members)).toEqual(new Set(learners));
    // Exactly one arrival saw the round become full: it owns the aggregation.
    expect(arrivals.filter((a) => a.index === 2)).toHaveLength(1);
  });

  it('makes a retried arrival (lost response) idempotent', async () => {
    const jobId = await newJob();
    const first = await stores.jobs.arrive(jobId, entry('L0', 0, 4), distinct, 4);
    await stores.jobs.arrive(jobId, entry('L1'), distinct, 0);
    const retry = await stores.jobs.arrive(jobId, entry('L0', 0, 4), distinct, 4);
    expect(retry.index).toBe(first.index);
    expect(retry.state.pending).toHaveLength(2);
    expect(retry.state.pushed).toBe(2);
    // Without k-async's membership rule the ordinal alone keeps the retry out.
    const batch = { distinct: false, k: 3 };
    const again = await stores.jobs.arrive(jobId, entry('L1'), batch, 0);
    expect(again.state.pending).toHaveLength(2);
  });

  it('refuses a second gradient of a learner while its first is pending (k-async)', async () => {
    const jobId = await newJob();
    await stores.jobs.arrive(jobId, entry('L1'), distinct, ordinalOf(entry('L1')));
    await expect(
      stores.jobs.arrive(jobId, entry('L1', 0, 1), distinct, ordinalOf(entry('L1', 0, 1))),
    ).rejects.toBeInstanceOf(AlreadyInRoundError);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, n) =>
        stores.jobs.arrive(jobId, entry('L2', 0, n), distinct, ordinalOf(entry('L2', 0, n))),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('commits by removing the head round only, once', async () => {
    const jobId = await newJob();
    for (const l of ['L0', 'L1', 'L2', 'L3'])
      await stores.jobs.arrive(jobId, entry(l), distinct, ordinalOf(entry(l)));
    const before = await stores.jobs.getJob(jobId);
    const commit = {
      fromVersion: 0,
      consumed: before.pending.slice(0, 3),
      stats: EMPTY_STATS,
      loss: 0.5,
      distinct: true,
      adaptive: { k: 3, initialLoss: 1, lossEma: 1, kUpdatedAt: 0 },
    };
    const after = await stores.jobs.commit(jobId, commit, Date.now());
    expect(after.version).toBe(1);
    expect(after.pending.map((e) => e.learner)).toEqual(['L3']);
    expect(after.members).toEqual(['L3']);
    await expect(stores.jobs.commit(jobId, commit, Date.now())).rejects.toBeInstanceOf(
      VersionAlreadyCommittedError,
    );
    // A learner whose gradient was applied may arrive again.
    await expect(
      stores.jobs.arrive(jobId, entry('L0', 1, 1), distinct, ordinalOf(entry('L0', 1, 1))),
    ).resolves.toMatchObject({ index: 1 });
  });

  it('refuses, never acknowledges, an older invocation arriving after a newer one (fenced or re-delivered)', async () => {
    const jobId = await newJob();
    await stores.jobs.arrive(jobId, entry('L0', 0, 5), distinct, 5);
    // The same ordinal rule that makes a retry idempotent once told this arrival "accepted".
    await expect(stores.jobs.arrive(jobId, entry('L5', 0, 3), distinct, 3)).resolves.toMatchObject({
      index: 1,
    });
    const older = { ...entry('L0', 0, 3), grad: 'L0/0-3' };
    await expect(stores.jobs.arrive(jobId, older, { distinct: false, k: 3 }, 3)).rejects.toBeInstanceOf(
      LearnerFencedError,
    );
    const state = await stores.jobs.getJob(jobId);
    expect(state.pending.map((e) => e.grad)).toEqual(['L0/1-5', 'L5/1-3']);
  });

  it('commits nothing once the job has ended, and lists only committed versions', async () => {
    const jobId = await newJob();
    for (const l of ['L0', 'L1', 'L2'])
      await stores.jobs.arrive(jobId, entry(l), distinct, ordinalOf(entry(l)));
    const round = (await stores.jobs.getJob(jobId)).pending;
    const record = { version: 1, k: 3, grads: [], loss: 1, committedAt: Date.now(), aggregator: 'L2@1' };
    expect(await stores.jobs.putCommitRecord(jobId, record)).toBe(true);
    // Written before the commit (aggregator.ts): not a version yet, so nobody may read it.
    expect(await stores.jobs.listCommits(jobId)).toEqual([]);
    expect(await stores.jobs.finish(jobId, 'STOPPED', 'by request', Date.now())).toBe(true);
    const commit = {
      fromVersion: 0,
      consumed: round,
      stats: EMPTY_STATS,
      loss: 1,
      distinct: true,
      adaptive: { k: 3, initialLoss: 1, lossEma: 1, kUpdatedAt: 0 },
    };
    await expect(stores.jobs.commit(jobId, commit, Date.now())).rejects.toBeInstanceOf(
      VersionAlreadyCommittedError,
    );
    expect((await stores.jobs.getJob(jobId)).version).toBe(0);
    expect(await stores.jobs.listCommits(jobId)).toEqual([]);
  });

  it('rejects stale and over-full arrivals for sync variants', async () => {
    const jobId = await newJob();
    const sync = { distinct: true, onlyVersion: 0, k: 2 };
    await stores.jobs.arrive(jobId, entry('L0'), sync, ordinalOf(entry('L0')));
    await stores.jobs.arrive(jobId, entry('L1'), sync, ordinalOf(entry('L1')));
    await expect(stores.jobs.arrive(jobId, entry('L2'), sync, ordinalOf(entry('L2')))).rejects.toBeInstanceOf(
      StaleVersionError,
    );
    await expect(
      stores.jobs.arrive(jobId, entry('L3', 0), { ...sync, onlyVersion: 5 }, ordinalOf(entry('L3', 0))),
    ).rejects.toBeInstanceOf(StaleVersionError);
  });

  it('refuses arrivals once the job has ended, keeping the first reason', async () => {
    const jobId = await newJob();
    expect(await stores.jobs.finish(jobId, 'STOPPED', 'by request', Date.now())).toBe(true);
    expect(await stores.jobs.finish(jobId, 'DONE', 'maxUpdates', Date.now())).toBe(false);
    await expect(
      stores.jobs.arrive(jobId, entry('L0'), distinct, ordinalOf(entry('L0'))),
    ).rejects.toBeInstanceOf(JobNotRunningError);
    expect((await stores.jobs.getJob(jobId)).reason).toBe('by request');
  });

  it('lists jobs newest first from the index, without a scan', async () => {
    const first = await newJob();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await newJob();
    const listed = (await stores.jobs.listJobs()).map((j) => j.jobId);
    expect(listed.indexOf(second)).toBeLessThan(listed.indexOf(first));
    expect(listed.indexOf(first)).toBeGreaterThanOrEqual(0);
    expect((await stores.jobs.listJobs(1)).map((j) => j.jobId)).toEqual([second]);
  });

  it('lets one of many claim a stalled round', async () => {
    const jobId = await newJob();
    const now = Date.now();
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) => stores.jobs.claimAggregation(jobId, 0, `L${i}`, 1000, now)),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await stores.jobs.claimAggregation(jobId, 0, 'late', 1000, now + 2000)).toBe(true);
  });
});

describe('LearnerStore on dynalite', () => {
  let stack: LocalStack;
  let stores: Stores;
  const start = { coldStart: true, initMs: 120 };
  let counter = 0;
  const jobId = () => `job-learners-${counter++}`;

  beforeAll(async () => {
    stack = await startLocalStack();
    stores = createStores(createClients(stack.env), stack);
  });
  afterAll(() => stack.stop());

  it('lets one delivery of an epoch claim it, and its own SDK retry too', async () => {
    const job = jobId();
    const results = await Promise.all(
      ['a', 'b', 'c'].map((nonce) => stores.learners.claimEpoch(job, 'L0', 1, nonce, 1, start)),
    );
    const winners = results.filter((conflict) => conflict === undefined);
    expect(winners).toHaveLength(1);
    const winner = ['a', 'b', 'c'][results.indexOf(undefined)];
    await expect(stores.learners.claimEpoch(job, 'L0', 1, winner, 2, start)).resolves.toBeUndefined();
    await expect(stores.learners.claimEpoch(job, 'L0', 1, 'late', 3, start)).resolves.toMatchObject({
      epoch: 1,
      claim: winner,
    });
    // A later epoch always claims; an earlier one never does.
    await expect(stores.learners.claimEpoch(job, 'L0', 2, 'next', 4, start)).resolves.toBeUndefined();
    await expect(stores.learners.claimEpoch(job, 'L0', 1, 'old', 5, start)).resolves.toMatchObject({
      epoch: 2,
    });
  });

  it('fences a holder that was taken over, and only one taker wins', async () => {
    const job = jobId();
    await stores.learners.claimEpoch(job, 'L0', 3, 'holder', 1000, start);
    await stores.learners.heartbeat(job, 'L0', 'holder', { pushed: 2, busyMs: 40 }, 2000);
    const seen = await stores.learners.getClaim(job, 'L0');
    expect(seen).toMatchObject({ epoch: 3, claim: 'holder', aliveAt: 2000 });
    const takers = await Promise.all(
      ['t1', 't2'].map((nonce) => stores.learners.takeOver(job, 'L0', seen, nonce, 9000)),
    );
    expect(takers.filter((epoch) => epoch === 4)).toHaveLength(1);
    expect(takers.filter((epoch) => epoch === undefined)).toHaveLength(1);
    await expect(stores.learners.heartbeat(job, 'L0', 'holder', { pushed: 1 }, 9500)).rejects.toThrow(
      /taken over/,
    );
    const [record] = await stores.jobs.listLearners(job);
    expect(record).toMatchObject({
      epoch: 4,
      pushed: 2,
      busyMs: 40,
      coldStarts: 1,
      initMs: 120,
      invocations: 1,
      architecture: process.arch === 'arm64' ? 'arm64' : 'x86_64',
    });
  });
});
