import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AwsClients, Resources } from '../../engine/aws';
import { KasyncError, NotFoundError, StoreUnreachableError, ValidationError } from '../../engine/errors';
import { checkJobId, jobSummary, stopJob, submitJob } from '../../engine/jobs';
import { uploadDatasetAsset, uploadModelAsset } from '../../engine/models';
import type { Stores } from '../../engine/store';
import { validate } from '../../engine/validate';
import { type DashboardAssets, dashboardAssetRoutes, readAsset } from './assets';
import { MAX_BODY_BYTES, MAX_UPLOAD_BYTES } from './limits';
import { jobListEntry, jobMetrics } from './metrics';
import { exportJobModel } from './model';
import { openApiDocument } from './openapi';
import { type ApiErrorBody, sinceSchema } from './schemas';

/** What the API runs on: the embedded stack's clients and stores, or AWS's. */
export interface ApiBackend {
  readonly clients: AwsClients;
  readonly resources: Resources;
  readonly stores: Stores;
}

/** A job spec is a few hundred bytes; anything near this is not one. */

/**
 * The HTTP API of DESIGN.md §7 and the dashboard, as one Hono app. The API Lambda serves it
 * from API Gateway events (`functions/api.ts`), `kasync up` from Node (`./server.ts`), and
 * tests call `app.request()` with no server at all.
 */
export function createApp(backend: ApiBackend, assets?: DashboardAssets): Hono {
  const { stores } = backend;
  const app = new Hono();

  app.onError((error, c) => {
    const { status, body } = errorResponse(error);
    // Only failures of our own making are logged: bad input is the caller's business.
    if (status >= 500) console.error(`${c.req.method} ${c.req.path}:`, error);
    return c.json(body, status);
  });
  app.notFound((c) =>
    c.json({ error: `no route for ${c.req.method} ${c.req.path}` } satisfies ApiErrorBody, 404),
  );

  // A page on another site could make a browser on this machine POST to `kasync up`; browsers
  // always send Origin on a POST, the CLI and curl never do.
  app.use(async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const origin = c.req.header('origin');
    if (origin !== undefined && origin !== new URL(c.req.url).origin) {
      return c.json(
        { error: `requests from ${origin.slice(0, 100)} are refused` } satisfies ApiErrorBody,
        403,
      );
    }
    return next();
  });

  app.get('/openapi.json', (c) => c.json(openApiDocument()));

  app.post(
    '/jobs',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        c.json({ error: `(body): larger than ${MAX_BODY_BYTES} bytes` } satisfies ApiErrorBody, 413),
    }),
    async (c) => {
      const spec = parseJsonBody(await c.req.text());
      const { jobId } = await submitJob(backend.clients, backend.resources, stores, spec);
      return c.json({ jobId }, 202, { Location: `/jobs/${jobId}` });
    },
  );

  app.post(
    '/uploads/:kind',
    bodyLimit({
      maxSize: MAX_UPLOAD_BYTES,
      onError: (c) =>
        c.json({ error: `(body): larger than ${MAX_UPLOAD_BYTES} bytes` } satisfies ApiErrorBody, 413),
    }),
    async (c) => {
      const kind = c.req.param('kind');
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      if (kind === 'model') return c.json({ uri: await uploadModelAsset(stores.blobs, bytes) }, 201);
      if (kind === 'dataset') return c.json({ uri: await uploadDatasetAsset(stores.blobs, bytes) }, 201);
      throw new ValidationError('kind', `"${kind.slice(0, 40)}" is not an upload kind (model or dataset)`);
    },
  );

  app.get('/jobs', async (c) => c.json({ jobs: (await stores.jobs.listJobs()).map(jobListEntry) }));

  app.get('/jobs/:id', async (c) => c.json(await jobSummary(stores, checkJobId(c.req.param('id')))));

  app.get('/jobs/:id/metrics', async (c) => {
    const jobId = checkJobId(c.req.param('id'));
    const since = validate(sinceSchema, c.req.query('since') ?? '0', 'since');
    const [state, commits, learners] = await Promise.all([
      stores.jobs.getJob(jobId),
      stores.jobs.listCommits(jobId, since),
      stores.jobs.listLearners(jobId),
    ]);
    return c.json(jobMetrics(state, commits, learners, Date.now()));
  });

  app.post('/jobs/:id/stop', async (c) => {
    const jobId = checkJobId(c.req.param('id'));
    await stopJob(stores, jobId);
    return c.json(await jobSummary(stores, jobId));
  });

  app.get('/jobs/:id/model', async (c) => {
    const jobId = checkJobId(c.req.param('id'));
    const model = await exportJobModel(stores, jobId);
    // The encoder's array sits on a plain ArrayBuffer; its type only says ArrayBufferLike.
    return c.body(model.bytes as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Disposition': `attachment; filename="${jobId}-v${model.version}.onnx"`,
      'X-Kasync-Version': String(model.version),
    });
  });

  for (const [route, asset] of Object.entries(dashboardAssetRoutes(assets))) {
    app.get(route, async (c) => c.body(await readAsset(asset), 200, { 'Content-Type': asset.contentType }));
  }

  return app;
}

function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError('(body)', `not valid JSON: ${(error as Error).message}`);
  }
}

/** Every error as a status and a JSON body; never a stack trace. */
export function errorResponse(error: unknown): { status: ContentfulStatusCode; body: ApiErrorBody } {
  if (error instanceof ValidationError)
    return { status: 400, body: { error: error.message, field: error.field } };
  if (error instanceof NotFoundError) return { status: 404, body: { error: error.message } };
  if (error instanceof StoreUnreachableError) return { status: 503, body: { error: error.message } };
  if (error instanceof HTTPException) return { status: error.status, body: { error: error.message } };
  // The engine's own messages say what went wrong without internals; anything else might not.
  return {
    status: 500,
    body: { error: error instanceof KasyncError ? error.message : 'internal error (logged by the API)' },
  };
}
