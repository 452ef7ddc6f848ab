import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { auditJob } from '../../../engine/audit';
import { CrashPoint } from '../../../engine/faults';
import { InvocationEnd, invokeLearner } from '../../../engine/invocation';
import { createJob, stopJob } from '../../../engine/jobs';
import { type Embedded, LEARNER_FUNCTION, startEmbedded } from '../../../local/kasync';
import { runToEnd } from '../helpers/jobs';

/**
 * Fault injection on the embedded stack: processes die with SIGKILL at the worst moments and
 * asynchronous invocations are delivered twice. Every job must still finish and pass the audit.
 */
const job = (maxUpdates: number) => ({
  model: 'softmax',
  dataset: 'mnist',
  variant: 'k-async',
  learners: 4,
  k: 2,
  batchSize: 32,
  stop: { maxUpdates, maxSeconds: 100 },
  evalEvery: 1000,
});

async function expectAuditOk(embedded: Embedded, jobId: string) {
  const audit = await auditJob(embedded.stores, jobId);
  expect(audit.problems).toEqual([]);
  expect(audit.ok).toBe(true);
  return audit;
}

describe('fault injection', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kasync-faults-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const start = (crashAt?: string) =>
    startEmbedded({
      learnerTimeoutSeconds: 30,
      leaseMs: 1500,
      heartbeatMs: 300,
      learnerEnvironment: crashAt
        ? { KASYNC_CRASH_AT: crashAt, KASYNC_CRASH_TOKEN: path.join(dir, `${crashAt}-${Date.now()}`) }
        : {},
    });

  it('an aggregator killed between writing w[v+1] and committing is taken over; the job carries on', async () => {
    const embedded = await start(CrashPoint.beforeCommit);
    try {
      const { jobId, summary } = await runToEnd(embedded, job(60));
      expect(summary).toMatchObject({ status: 'DONE', version: 60 });
      expect(summary.takeovers).toBeGreaterThanOrEqual(1);
      // The platform saw the process die, retried the invocation, and the retry took the learner over.
      expect(embedded.stack.lambda.stats(LEARNER_FUNCTION).errors).toBeGreaterThanOrEqual(1);
      await expectAuditOk(embedded, jobId);
    } finally {
      await embedded.stop();
    }
  }, 120_000);

  it('a learner killed right after its gradient was acknowledged loses nothing', async () => {
    const embedded = await start(CrashPoint.afterArrival);
    try {
      const { jobId, summary } = await runToEnd(embedded, job(60));
      expect(summary).toMatchObject({ status: 'DONE', version: 60 });
      expect(embedded.stack.lambda.stats(LEARNER_FUNCTION).errors).toBeGreaterThanOrEqual(1);
      const audit = await expectAuditOk(embedded, jobId);
      expect(audit.gradients.acknowledged).toBe(audit.gradients.applied + audit.gradients.pending);
    } finally {
      await embedded.stop();
    }
  }, 120_000);

  it('a straggler delayed longer than the revive window keeps beating and is not re-invoked as dead', async () => {
    // Heartbeats every 300 ms, revival after 10 silent beats (3 s); every gradient straggles 4 s.
    const embedded = await start();
    try {
      const { jobId, summary } = await runToEnd(embedded, {
        ...job(4),
        variant: 'async',
        learners: 2,
        k: 1,
        stragglers: { distribution: 'shifted-exp', shift: 4, rate: 1000 },
      });
      expect(summary).toMatchObject({ status: 'DONE', version: 4 });
      expect(embedded.stack.lambda.stats(LEARNER_FUNCTION).invocations).toBe(2);
      await expectAuditOk(embedded, jobId);
    } finally {
      await embedded.stop();
    }
  }, 120_000);

  it('survives kill -9 of running learner processes at random moments', async () => {
    const embedded = await start();
    try {
      let kills = 0;
      const { jobId, summary } = await runToEnd(embedded, job(150), async (_, progress) => {
        if (kills < 3 && progress.version > 20 * (kills + 1)) {
          const busy = embedded.stack.lambda.workers(LEARNER_FUNCTION).filter((w) => w.busy);
          const victim = busy[Math.floor(Math.random() * busy.length)];
          if (victim && embedded.stack.lambda.killWorker(victim.pid)) kills++;
        }
      });
      expect(kills).toBe(3);
      expect(summary).toMatchObject({ status: 'DONE', version: 150 });
      await expectAuditOk(embedded, jobId);
    } finally {
      await embedded.stop();
    }
  }, 120_000);

  it('a learner whose invocation was lost is revived by the others', async () => {
    const embedded = await start();
    try {
      // Start three of the four learners, as if the fourth Event had been lost.
      const { jobId } = await createJob(embedded.stores, job(100000));
      for (const learner of ['L0', 'L1', 'L2']) {
        await invokeLearner(embedded.clients.lambda, embedded.clients.endpoints.lambda, LEARNER_FUNCTION, {
          jobId,
          learner,
          epoch: 1,
        });
      }
      const deadline = Date.now() + 30_000;
      const appliedFromL3 = async () =>
        (await embedded.stores.jobs.listCommits(jobId)).some((c) => c.grads.some((g) => g.learner === 'L3'));
      while (!(await appliedFromL3()) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 250));
      expect(await appliedFromL3()).toBe(true);
      await stopJob(embedded.stores, jobId);
      await embedded.stack.lambda.idle();
      await expectAuditOk(embedded, jobId);
    } finally {
      await embedded.stop();
    }
  }, 120_000);

  it('a duplicate delivery of a running invocation exits without pushing', async () => {
    const embedded = await start();
    try {
      let checked = false;
      const { jobId } = await runToEnd(embedded, job(120), async (id, progress) => {
        if (checked || progress.version < 10) return;
        checked = true;
        const claim = await embedded.stores.learners.getClaim(id, 'L1');
        const duplicate = await embedded.stack.lambda.invoke(LEARNER_FUNCTION, {
          jobId: id,
          learner: 'L1',
          epoch: claim.epoch,
        });
        expect(duplicate.payload).toMatchObject({ end: InvocationEnd.duplicate, pushed: 0 });
        const old = await embedded.stack.lambda.invoke(LEARNER_FUNCTION, {
          jobId: id,
          learner: 'L1',
          epoch: 1,
        });
        expect(old.payload).toMatchObject({ end: InvocationEnd.duplicate, pushed: 0 });
        // A later epoch is no duplicate: it takes L1 over (fencing the holder) and runs to the end.
        const later = await embedded.stack.lambda.invoke(LEARNER_FUNCTION, {
          jobId: id,
          learner: 'L1',
          epoch: claim.epoch + 100,
        });
        const ran = later.payload as {
          end: string;
          pushed: number;
          committed: { updates: number; gradients: number };
        };
        expect(ran.end).toBe(InvocationEnd.ran);
        expect(ran.pushed).toBeGreaterThan(0);
        expect(ran.committed.updates).toBeGreaterThan(0);
        expect(ran.committed.gradients).toBe(ran.committed.updates * 2);
      });
      expect(checked).toBe(true);
      await expectAuditOk(embedded, jobId);
    } finally {
      await embedded.stop();
    }
  }, 120_000);
});
