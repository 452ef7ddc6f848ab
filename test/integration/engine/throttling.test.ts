import { readFileSync } from 'node:fs';
import { auditJob } from '../../../engine/audit';
import { type Embedded, LEARNER_FUNCTION, startEmbedded } from '../../../local/kasync';
import { type FaultProxy, type ProxiedRequest, startFaultProxy } from '../helpers/fault-proxy';
import { runToEnd } from '../helpers/jobs';

/**
 * Throttling and lost responses never end a learner's chain (issue 11): every DynamoDB and S3
 * request of the learner processes goes through a fault proxy. Once rounds commit, for 5 s it
 * answers 60 % of them with the service's throttling error and loses the response of a fifth of
 * the others after the store applied them; for 5 s more it loses a tenth of the responses. The
 * job must reach maxUpdates with no failed invocation, and its commit log must replay.
 */
const THROTTLE_MS = 5_000;
const DROP_ONLY_MS = 5_000;
const MAX_UPDATES = 60;

/** Which kasync write a DynamoDB request is, from its update expression. */
function writeKind(request: ProxiedRequest): string {
  const body = request.body.toString();
  if (body.includes('list_append(pending')) return 'arrival';
  if (body.includes('SET version = :next')) return 'commit';
  if (body.includes('V#')) return 'commit record';
  if (body.includes('claim = :nonce, aliveAt')) return 'claim';
  if (body.includes('SET aliveAt = :now')) return 'heartbeat';
  if (body.includes('SET history')) return 'end of invocation';
  if (body.includes('SET aggregator')) return 'takeover claim';
  if (body.includes('SET #status')) return 'finish';
  return request.operation;
}

describe('throttling and lost responses', () => {
  let embedded: Embedded | undefined;
  const proxies: FaultProxy[] = [];
  afterAll(async () => {
    await embedded?.stop();
    for (const proxy of proxies) await proxy.stop();
  });

  it('a k-async job reaches maxUpdates with 60 % of its learners requests throttled for 5 s and responses lost after they were applied', async () => {
    const lost: Record<string, number> = {};
    const onFault = (fault: string, request: ProxiedRequest) => {
      if (fault !== 'dropped') return;
      const kind =
        request.method === 'GET' || request.operation === 'GetItem' || request.operation === 'Query'
          ? 'read'
          : request.method === 'PUT'
            ? `PUT ${request.url.split('/')[2]}` // S3: grads or jobs (weights)
            : writeKind(request);
      lost[kind] = (lost[kind] ?? 0) + 1;
    };
    const dynamodb = await startFaultProxy({ service: 'dynamodb', seed: 11, onFault });
    const s3 = await startFaultProxy({ service: 's3', seed: 12, onFault });
    proxies.push(dynamodb, s3);
    // The proxies' endpoints go into the learners' environment; their target is known once the stack is up.
    embedded = await startEmbedded({
      learnerEnvironment: { AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_ENDPOINT_URL_S3: s3.endpoint },
    });
    const stack = embedded.stack;
    dynamodb.setTarget(stack.endpoints.dynamodb);
    s3.setTarget(stack.endpoints.s3);

    const set = (modes: Parameters<FaultProxy['set']>[0]) => {
      for (const proxy of proxies) proxy.set(modes);
    };
    const phases: { phase: string; at: number; version: number; requests: number }[] = [];
    const mark = (phase: string, version: number) =>
      phases.push({
        phase,
        at: Date.now(),
        version,
        requests: dynamodb.counters.requests + s3.counters.requests,
      });
    const started = Date.now();
    let version = 0;
    const report: Record<string, unknown> = {};
    let passed = false;
    try {
      const { jobId, summary } = await runToEnd(
        embedded,
        {
          model: 'softmax',
          dataset: 'mnist',
          variant: 'k-async',
          learners: 4,
          k: 2,
          batchSize: 32,
          stop: { maxUpdates: MAX_UPDATES, maxSeconds: 100 },
          evalEvery: 1000,
        },
        async (_, progress) => {
          version = progress.version;
          const now = Date.now();
          const phase = phases.at(-1);
          // Once every learner is past its cold start and rounds commit, the faults begin.
          if (phase === undefined && version >= 2) {
            set({ throttle: 0.6, drop: 0.2 });
            mark('throttle 60 %, lose 20 %', version);
          } else if (phase?.phase.startsWith('throttle') && now - phase.at >= THROTTLE_MS) {
            set({ drop: 0.1 });
            mark('lose 10 %', version);
          } else if (phase?.phase.startsWith('lose') && now - phase.at >= DROP_ONLY_MS) {
            set({});
            mark('no faults', version);
          }
        },
        55_000,
      );
      Object.assign(report, { jobMs: Date.now() - started, takeovers: summary.takeovers });

      expect(summary).toMatchObject({ status: 'DONE', version: MAX_UPDATES });
      expect(summary.reason).toContain('maxUpdates');
      const stats = stack.lambda.stats(LEARNER_FUNCTION);
      report.stats = stats;
      if (stats.errors > 0) {
        const log = readFileSync(stack.lambda.logFile(LEARNER_FUNCTION), 'utf8').split('\n');
        const errors = log.filter((line) => line.includes('Invoke Error')).map((line) => line.slice(0, 400));
        throw new Error(
          `${stats.errors} learner invocations failed; from the learner log:\n${errors.join('\n')}`,
        );
      }

      // The faults were there, and over before the job ended: it carried on after them.
      expect(phases.map((p) => p.phase)).toEqual(['throttle 60 %, lose 20 %', 'lose 10 %', 'no faults']);
      expect(phases[2].version).toBeLessThan(MAX_UPDATES);
      expect(dynamodb.counters.throttled).toBeGreaterThan(10);
      expect(s3.counters.throttled).toBeGreaterThan(0);
      expect(dynamodb.counters.dropped + s3.counters.dropped).toBeGreaterThan(5);

      const audit = await auditJob(embedded.stores, jobId);
      expect(audit.problems).toEqual([]);
      expect(audit.ok).toBe(true);
      expect(audit.gradients.acknowledged).toBe(audit.gradients.applied + audit.gradients.pending);
      passed = true;
    } finally {
      // What happened, when the test fails (or KASYNC_FAULT_REPORT is set): phases, faults, losses.
      if (!passed || process.env.KASYNC_FAULT_REPORT) {
        const { byOperation: _d, ...ddb } = dynamodb.counters;
        const { byOperation: _s, ...blobs } = s3.counters;
        const phasesSinceStart = phases.map((p) => ({ ...p, at: p.at - started }));
        Object.assign(report, {
          phases: phasesSinceStart,
          lastVersion: version,
          dynamodb: ddb,
          s3: blobs,
          lost,
        });
        process.stdout.write(`fault report: ${JSON.stringify(report)}\n`);
      }
    }
  }, 60_000);

  /**
   * KNOWN ENGINE BUG (engine/aggregator.ts, not the retries): when the response to the commit that
   * reaches maxUpdates is lost, the SDK's retry fails its condition (the version has moved), the
   * store reports VersionAlreadyCommittedError, and the aggregator skips afterCommit, which is the
   * only place that ends a job on maxUpdates; no later round commits past maxUpdates either. The
   * job stays RUNNING at version maxUpdates until maxSeconds ends it. Marked failing: when the
   * engine handles it (e.g. re-reads the job after VersionAlreadyCommittedError and applies the
   * stop conditions to whatever version it finds), this test fails and `.failing` must go.
   */
  it.failing('a job whose final commit response is lost still ends on maxUpdates', async () => {
    const final = 12;
    let lostCommit = false;
    const dynamodb = await startFaultProxy({ service: 'dynamodb', seed: 3 });
    proxies.push(dynamodb);
    // Exactly one fault: the first attempt of the commit to version `final`.
    dynamodb.set({
      drop: 1,
      filter: (request) => {
        const body = request.body.toString();
        if (lostCommit || !body.includes('SET version = :next') || !body.includes(`":next":{"N":"${final}"}`))
          return false;
        lostCommit = true;
        return true;
      },
    });
    const local = await startEmbedded({
      learnerEnvironment: { AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint },
    });
    try {
      dynamodb.setTarget(local.stack.endpoints.dynamodb);
      const { jobId, summary } = await runToEnd(
        local,
        {
          model: 'softmax',
          dataset: 'mnist',
          variant: 'k-async',
          learners: 2,
          k: 2,
          batchSize: 32,
          stop: { maxUpdates: final, maxSeconds: 15 },
          evalEvery: 1000,
        },
        undefined,
        40_000,
      );
      expect(lostCommit).toBe(true);
      expect(dynamodb.counters.dropped).toBe(1);
      expect(local.stack.lambda.stats(LEARNER_FUNCTION).errors).toBe(0);
      expect((await auditJob(local.stores, jobId)).ok).toBe(true);
      // Today: {status: 'DONE', version: 12, reason: 'maxSeconds (15) reached'}, 15 s after the start.
      expect(summary).toMatchObject({ status: 'DONE', version: final });
      expect(summary.reason).toContain('maxUpdates');
    } finally {
      await local.stop();
    }
  }, 60_000);
});
