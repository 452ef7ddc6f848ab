import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { handle } from 'hono/aws-lambda';
import { createClients, resourcesFromEnv } from '../engine/aws';
import { createStores } from '../engine/store';
import { createApp } from './http/app';
import {
  addLambdaContext,
  createLogger,
  createMetrics,
  flushMetrics,
  type LambdaContextFields,
  MetricUnit,
} from './observability';

/**
 * The API Lambda behind an API Gateway HTTP API (payload v2): the same Hono app `kasync up`
 * serves. The bundle ships the dashboard's files beside the handler, in `dashboard/` and `uplot/`.
 */

const clients = createClients();
const resources = resourcesFromEnv();

const serve = handle(
  createApp(
    { clients, resources, stores: createStores(clients, resources) },
    { dashboardDir: path.join(__dirname, 'dashboard'), uplotDir: path.join(__dirname, 'uplot') },
  ),
);

const logger = createLogger('kasync-api');
const metrics = createMetrics('kasync-api', logger);
let coldStart = true;

type ApiEvent = Parameters<typeof serve>[0];

/** Serves one request, then logs it and records its metrics (API Gateway keeps the access log). */
export async function handler(event: ApiEvent, context?: LambdaContextFields) {
  addLambdaContext(logger, context);
  const started = performance.now();
  const method = (event as { requestContext?: { http?: { method?: string } } }).requestContext?.http?.method;
  const route = (event as { rawPath?: string }).rawPath ?? '';
  try {
    const response = await serve(event, context as Parameters<typeof serve>[1]);
    const status = response.statusCode ?? 0;
    metrics.addMetric('Requests', MetricUnit.Count, 1);
    metrics.addMetric('ServerErrors', MetricUnit.Count, status >= 500 ? 1 : 0);
    metrics.addMetric('ClientErrors', MetricUnit.Count, status >= 400 && status < 500 ? 1 : 0);
    if (method === 'POST' && route === '/jobs' && status === 202)
      metrics.addMetric('JobsSubmitted', MetricUnit.Count, 1);
    if (method === 'POST' && /^\/jobs\/[^/]+\/stop$/.test(route) && status === 200)
      metrics.addMetric('JobsStopped', MetricUnit.Count, 1);
    metrics.addMetric('ColdStart', MetricUnit.Count, coldStart ? 1 : 0);
    const ms = performance.now() - started;
    metrics.addMetric('HandlerDuration', MetricUnit.Milliseconds, ms);
    logger.info('request', { method, path: route, status, ms: Math.round(ms), coldStart });
    return response;
  } catch (error) {
    logger.error('request failed', error as Error);
    throw error;
  } finally {
    coldStart = false;
    flushMetrics(metrics);
  }
}
