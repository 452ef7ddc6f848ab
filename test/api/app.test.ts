/** @jest-environment ./test/unit/model/ort-environment.ts */

import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { jobSpecSchema } from '../../engine/spec';
import { createApp } from '../../functions/http/app';
import { MAX_UPLOAD_BYTES } from '../../functions/http/limits';
import {
  type ApiErrorBody,
  jobListSchema,
  jobSummarySchema,
  metricsSchema,
  uploadedSchema,
} from '../../functions/http/schemas';
import { type Embedded, LEARNER_FUNCTION, startEmbedded } from '../../local/kasync';
import { loadBuiltinDataset } from '../../model/datasets';
import { exportedCnn } from '../unit/model/onnx-fixtures';

/**
 * The HTTP API through `app.request()`: no server, the real stores of an embedded stack, real
 * learners. Responses are checked against the schemas `/openapi.json` publishes.
 */
describe('HTTP API', () => {
  let embedded: Embedded;
  let app: ReturnType<typeof createApp>;
  const P = 3;
  const K = 2;
  const smallJob = {
    model: 'softmax',
    dataset: 'mnist',
    variant: 'k-async',
    learners: P,
    k: K,
    batchSize: 32,
    lr: { eta: 0.2 },
    stop: { maxUpdates: 60, maxSeconds: 60 },
    evalEvery: 20,
  };

  beforeAll(async () => {
    embedded = await startEmbedded({ maxLearners: 8 });
    app = createApp(embedded);
  }, 60_000);
  afterAll(() => embedded?.stop());

  const get = async (path: string) => app.request(path);
  const post = async (path: string, body?: string, headers: Record<string, string> = {}) =>
    app.request(path, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } });
  const json = async <T>(response: Response | Promise<Response>): Promise<T> =>
    (await (await response).json()) as T;

  /** Parses with the published schema and fails on any field the schema does not describe. */
  function documented<T>(schema: z.ZodType<T>, body: unknown): T {
    const parsed = schema.parse(body);
    expect(parsed).toEqual(body);
    return parsed;
  }

  async function waitUntil<T>(
    read: () => Promise<T>,
    done: (value: T) => boolean,
    timeoutMs = 60_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`gave up waiting: ${JSON.stringify(value).slice(0, 500)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  describe('bad input gets a 4xx naming the problem, never a 5xx or a stack trace', () => {
    const spec = (patch: object) => JSON.stringify({ ...smallJob, ...patch });
    const cases: {
      what: string;
      request: () => Promise<Response>;
      status: number;
      error: RegExp;
      field?: string;
    }[] = [
      {
        what: 'invalid JSON',
        request: () => post('/jobs', '{"model": "softmax",'),
        status: 400,
        error: /^\(body\): not valid JSON/,
        field: '(body)',
      },
      {
        what: 'a body that is not an object',
        request: () => post('/jobs', '[1, 2]'),
        status: 400,
        error: /^\(spec\): /,
        field: '(spec)',
      },
      {
        what: 'an unknown field',
        request: () => post('/jobs', spec({ speed: 'fast' })),
        status: 400,
        error: /^speed: /,
        field: 'speed',
      },
      {
        what: 'an unknown nested field',
        request: () => post('/jobs', spec({ lr: { eta: 0.1, momentum: 0.9 } })),
        status: 400,
        error: /^lr\.momentum: /,
        field: 'lr.momentum',
      },
      {
        what: 'an out-of-range number',
        request: () => post('/jobs', spec({ learners: 100_000 })),
        status: 400,
        error: /^learners: Too big/,
        field: 'learners',
      },
      {
        what: 'a negative learning rate',
        request: () => post('/jobs', spec({ lr: { eta: -1 } })),
        status: 400,
        error: /^lr\.eta: Too small/,
        field: 'lr.eta',
      },
      {
        what: 'K above P',
        request: () => post('/jobs', spec({ k: 9 })),
        status: 400,
        error: /^k: k \(9\) must not exceed learners \(3\)$/,
        field: 'k',
      },
      {
        what: 'an unknown variant',
        request: () => post('/jobs', spec({ variant: 'hogwild' })),
        status: 400,
        error: /^variant: /,
        field: 'variant',
      },
      {
        what: 'a body over the limit',
        request: () => post('/jobs', spec({ pad: 'x'.repeat(70_000) })),
        status: 413,
        error: /larger than 65536 bytes/,
      },
      {
        what: 'an id with a path in it',
        request: () => get('/jobs/..%2F..%2Fdatasets'),
        status: 400,
        error: /^jobId: "\.\.\/\.\.\/datasets" is not a job id$/,
        field: 'jobId',
      },
      {
        what: 'a model path on the server (a client must never make the API read server files)',
        request: () => post('/jobs', JSON.stringify({ model: { onnx: '/etc/passwd' }, dataset: 'mnist' })),
        status: 400,
        error: /^model\.onnx: /,
        field: 'model.onnx',
      },
      {
        what: 'a metrics cursor that is not a version',
        request: () => get('/jobs/job-nosuch-000000/metrics?since=-3'),
        status: 400,
        error: /^since: /,
        field: 'since',
      },
      {
        what: 'a very long id',
        request: () => get(`/jobs/${'a'.repeat(300)}/metrics`),
        status: 400,
        error: /^jobId: "a{80}" is not a job id$/,
        field: 'jobId',
      },
      {
        what: 'an id with a NUL byte',
        request: () => get('/jobs/job-%00/model'),
        status: 400,
        error: /is not a job id/,
        field: 'jobId',
      },
      {
        what: 'an upper-case id on stop',
        request: () => post('/jobs/JOB-1/stop'),
        status: 400,
        error: /is not a job id/,
        field: 'jobId',
      },
      {
        what: 'an unknown job',
        request: () => get('/jobs/job-nosuch-000000'),
        status: 404,
        error: /^job job-nosuch-000000 not found$/,
      },
      {
        what: 'the metrics of an unknown job',
        request: () => get('/jobs/job-nosuch-000000/metrics'),
        status: 404,
        error: /not found/,
      },
      {
        what: 'the model of an unknown job',
        request: () => get('/jobs/job-nosuch-000000/model'),
        status: 404,
        error: /not found/,
      },
      {
        what: 'stopping an unknown job',
        request: () => post('/jobs/job-nosuch-000000/stop'),
        status: 404,
        error: /not found/,
      },
      {
        what: 'an unknown route',
        request: () => get('/jobs/job-x/weights'),
        status: 404,
        error: /^no route for GET \/jobs\/job-x\/weights$/,
      },
      {
        what: 'a POST from another site',
        request: () => post('/jobs', spec({}), { Origin: 'https://evil.example' }),
        status: 403,
        error: /https:\/\/evil\.example are refused/,
      },
    ];
    it.each(cases)('$what', async ({ request, status, error, field }) => {
      const response = await request();
      expect(response.status).toBe(status);
      const body = await json<ApiErrorBody>(response);
      expect(body.error).toMatch(error);
      expect(body.field).toBe(field);
      expect(JSON.stringify(body)).not.toMatch(/\bat .*\.ts:\d+/);
    });

    it('creates no job for any of them', async () => {
      const { jobs } = documented(jobListSchema, await json(get('/jobs')));
      expect(jobs).toEqual([]);
    });
  });

  it('publishes /openapi.json generated from the schemas it validates with', async () => {
    const doc = await json<{
      openapi: string;
      paths: Record<string, { post?: { requestBody: { content: Record<string, { schema: unknown }> } } }>;
      components: { schemas: Record<string, unknown> };
    }>(get('/openapi.json'));
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/',
        '/jobs',
        '/jobs/{id}',
        '/jobs/{id}/metrics',
        '/jobs/{id}/model',
        '/jobs/{id}/stop',
        '/openapi.json',
        '/uploads/{kind}',
      ].sort(),
    );
    const { $schema: _, ...jobSpec } = z.toJSONSchema(jobSpecSchema, { io: 'input' });
    expect(doc.components.schemas.JobSpec).toEqual(jobSpec);
    expect(doc.paths['/jobs'].post?.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/JobSpec',
    });
  });

  it('runs a job: 202 at once, summary, metrics per version and per invocation, and the trained model', async () => {
    const submitted = await post('/jobs', JSON.stringify(smallJob));
    expect(submitted.status).toBe(202);
    const { jobId } = await json<{ jobId: string }>(submitted);
    expect(submitted.headers.get('location')).toBe(`/jobs/${jobId}`);

    const listed = documented(jobListSchema, await json(get('/jobs')));
    expect(listed.jobs.map((j) => j.jobId)).toContain(jobId);

    const summary = await waitUntil(
      async () => documented(jobSummarySchema, await json(get(`/jobs/${jobId}`))),
      (s) => s.status !== 'RUNNING',
    );
    await embedded.stack.lambda.idle();
    expect(summary).toMatchObject({
      jobId,
      status: 'DONE',
      version: 60,
      variant: 'k-async',
      learners: P,
      k: K,
    });

    const metrics = documented(metricsSchema, await json(get(`/jobs/${jobId}/metrics`)));
    expect(metrics.commits.map((c) => c.version)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(metrics.commits.filter((c) => c.eval).map((c) => c.version)).toEqual([20, 40, 60]);
    const recent = documented(metricsSchema, await json(get(`/jobs/${jobId}/metrics?since=55`)));
    expect(recent.commits.map((c) => c.version)).toEqual([56, 57, 58, 59, 60]);
    for (const commit of metrics.commits) {
      expect(commit.at).toBeGreaterThanOrEqual(metrics.createdAt);
      expect(commit.grads).toHaveLength(K);
      for (const g of commit.grads)
        expect(g).toMatchObject({ staleness: commit.version - 1 - g.version, eta: 0.2 });
    }
    expect(metrics.learners.map((l) => l.learner)).toEqual(['L0', 'L1', 'L2']);
    for (const learner of metrics.learners) {
      expect(learner.invocations.length).toBeGreaterThanOrEqual(1);
      expect(learner.invocations.map((inv) => inv.epoch)).toContain(learner.epoch);
      for (const inv of learner.invocations) {
        expect(inv.end).toBeGreaterThanOrEqual(inv.start);
        expect(inv.busyMs + inv.idleMs).toBeLessThanOrEqual(inv.end - inv.start + 1);
      }
    }
    const final = documented(jobSummarySchema, await json(get(`/jobs/${jobId}`)));
    expect(final.coldStarts).toBe(
      metrics.learners.flatMap((l) => l.invocations).filter((inv) => inv.coldStart).length,
    );

    // The export is a plain inference model: only x in, and exactly the job's test accuracy out.
    const model = await get(`/jobs/${jobId}/model`);
    expect(model.status).toBe(200);
    expect(model.headers.get('content-type')).toBe('application/octet-stream');
    expect(model.headers.get('x-kasync-version')).toBe('60');
    expect(model.headers.get('content-disposition')).toBe(`attachment; filename="${jobId}-v60.onnx"`);
    const session = await ort.InferenceSession.create(new Uint8Array(await model.arrayBuffer()));
    try {
      expect(session.inputNames).toEqual(['x']);
      const { test } = loadBuiltinDataset('mnist');
      const features = test.x.length / test.n;
      const { logits } = await session.run({ x: new ort.Tensor('float32', test.x, [test.n, features]) });
      const classes = logits.dims[1] as number;
      const scores = logits.data as Float32Array;
      let correct = 0;
      for (let row = 0; row < test.n; row++) {
        const rowScores = scores.subarray(row * classes, (row + 1) * classes);
        if (rowScores.indexOf(Math.max(...rowScores)) === test.y[row]) correct++;
      }
      expect(final.evaluatedVersion).toBe(60);
      expect(correct / test.n).toBe(final.testAccuracy);
    } finally {
      await session.release();
    }
  }, 90_000);

  it('stores uploaded model and dataset files by content, for specs to point at', async () => {
    const upload = (kind: string, bytes: Uint8Array | string) =>
      app.request(`/uploads/${kind}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream' },
        body: bytes,
      });
    const onnx = exportedCnn({ opset: 17 });
    const first = await upload('model', onnx);
    expect(first.status).toBe(201);
    const { uri } = documented(uploadedSchema, await first.json());
    expect(uri).toMatch(/^s3:\/\/kasync-local\/uploads\/[0-9a-f]{64}\.onnx$/);
    expect(await (await upload('model', onnx)).json()).toEqual({ uri });

    const csv = await upload('dataset', 'a,b,label\n1,2,0\n3,4,1\n');
    expect(csv.status).toBe(201);
    expect(((await csv.json()) as { uri: string }).uri).toMatch(/\.csv$/);

    expect(await (await upload('model', 'not a model')).json()).toMatchObject({ field: 'model' });
    expect((await upload('weights', onnx)).status).toBe(400);
    expect((await upload('model', new Uint8Array(MAX_UPLOAD_BYTES + 1))).status).toBe(413);

    // A job can name the uploaded model: it is differentiated before the job is accepted.
    const submitted = await post(
      '/jobs',
      JSON.stringify({ model: { onnx: uri }, dataset: 'mnist', learners: 2, k: 1, stop: { maxUpdates: 2 } }),
    );
    expect(submitted.status).toBe(202);
    await embedded.stack.lambda.idle();
  });

  it('stops a running job; stopping again changes nothing', async () => {
    const { jobId } = await json<{ jobId: string }>(
      post('/jobs', JSON.stringify({ ...smallJob, learners: 2, k: 1, stop: { maxSeconds: 120 } })),
    );
    await waitUntil(
      async () => documented(jobSummarySchema, await json(get(`/jobs/${jobId}`))),
      (summary) => summary.version > 0,
    );
    const stopped = await post(`/jobs/${jobId}/stop`);
    expect(stopped.status).toBe(200);
    const summary = documented(jobSummarySchema, await json(stopped));
    expect(summary).toMatchObject({ jobId, status: 'STOPPED', reason: 'stopped by request' });
    const again = await json(post(`/jobs/${jobId}/stop`));
    expect(again).toMatchObject({ status: 'STOPPED', reason: 'stopped by request' });
    await embedded.stack.lambda.idle();
    expect(embedded.stack.lambda.stats(LEARNER_FUNCTION).errors).toBe(0);
  }, 60_000);

  it('answers API Gateway HTTP API (v2) events through the Lambda handler', async () => {
    const env = { ...embedded.stack.env, KASYNC_LEARNER_FUNCTION: LEARNER_FUNCTION };
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
    Object.assign(process.env, env);
    let handler: (
      event: unknown,
      context: unknown,
    ) => Promise<{
      statusCode: number;
      body: string;
      isBase64Encoded: boolean;
      headers?: Record<string, string>;
    }>;
    try {
      jest.isolateModules(() => {
        handler = require('../../functions/api').handler;
      });
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    const event = (method: string, path: string, body?: string) => ({
      version: '2.0',
      routeKey: '$default',
      rawPath: path,
      rawQueryString: '',
      headers: { host: 'abc.execute-api.us-east-1.amazonaws.com', 'content-type': 'application/json' },
      requestContext: {
        http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
        domainName: 'abc.execute-api.us-east-1.amazonaws.com',
        requestId: 'r',
        routeKey: '$default',
        stage: '$default',
      },
      body: body ?? null,
      isBase64Encoded: false,
    });
    // biome-ignore lint/style/noNonNullAssertion: assigned inside isolateModules
    const list = await handler!(event('GET', '/jobs'), {});
    expect(list.statusCode).toBe(200);
    const { jobs } = JSON.parse(list.body);
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    // biome-ignore lint/style/noNonNullAssertion: assigned inside isolateModules
    const bad = await handler!(
      event('POST', '/jobs', '{"model": "softmax", "dataset": "mnist", "k": 0}'),
      {},
    );
    expect({ status: bad.statusCode, body: JSON.parse(bad.body) }).toMatchObject({
      status: 400,
      body: { field: 'k' },
    });
    const done = jobs.find((j: { status: string }) => j.status === 'DONE');
    // biome-ignore lint/style/noNonNullAssertion: assigned inside isolateModules
    const model = await handler!(event('GET', `/jobs/${done.jobId}/model`), {});
    expect(model).toMatchObject({ statusCode: 200, isBase64Encoded: true });
    expect(Buffer.from(model.body, 'base64').byteLength).toBeGreaterThan(1000);
  });
});
