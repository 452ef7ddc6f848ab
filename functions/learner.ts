import { performance } from 'node:perf_hooks';
import { createClients, resourcesFromEnv } from '../engine/aws';
import { handleLearnerInvocation, invokeLearner } from '../engine/invocation';
import { parseLearnerInvocation } from '../engine/invocation-event';
import { JobRuntime } from '../engine/runtime';
import { createStores } from '../engine/store';
import { UsageMeter } from '../engine/usage';
import {
  addLambdaContext,
  createLogger,
  createMetrics,
  flushMetrics,
  type LambdaContextFields,
  MetricUnit,
} from './observability';

/** The learner Lambda: parse the event, build (or reuse) the job's runtime, run the engine. */

const usage = new UsageMeter();
const clients = createClients(process.env, usage);
const resources = resourcesFromEnv();
const stores = createStores(clients, resources);

const logger = createLogger('kasync-learner');
const metrics = createMetrics('kasync-learner', logger);

// A container keeps the runtime of the job it last served; a new job replaces it.
let current: { jobId: string; runtime: Promise<JobRuntime> } | undefined;
let invocationsInProcess = 0;

const optionalNumber = (value: string | undefined) => (value ? Number(value) : undefined);

interface LambdaContext extends LambdaContextFields {
  getRemainingTimeInMillis(): number;
}

export async function handler(event: unknown, context: LambdaContext) {
  addLambdaContext(logger, context);
  const coldStart = invocationsInProcess === 0;
  try {
    const result = await learn(event, context);
    const { updates, gradients, stalenessSum } = result.committed;
    metrics.addMetric('GradientsPushed', MetricUnit.Count, result.pushed);
    metrics.addMetric('GradientsRejected', MetricUnit.Count, result.rejected);
    metrics.addMetric('UpdatesCommitted', MetricUnit.Count, updates);
    if (gradients > 0) metrics.addMetric('StalenessMean', MetricUnit.NoUnit, stalenessSum / gradients);
    metrics.addMetric('ColdStart', MetricUnit.Count, coldStart ? 1 : 0);
    if (result.end !== 'ran')
      metrics.addMetric(result.end === 'duplicate' ? 'Duplicates' : 'Fenced', MetricUnit.Count, 1);
    logger.info('invocation ended', { ...result, updates, coldStart });
    return result;
  } catch (error) {
    logger.error('invocation failed', error as Error);
    throw error;
  } finally {
    flushMetrics(metrics);
  }
}

async function learn(event: unknown, context: LambdaContext) {
  const invocation = parseLearnerInvocation(event);
  const coldStart = invocationsInProcess++ === 0;
  const buildStart = performance.now();
  if (current?.jobId !== invocation.jobId) {
    const previous = current;
    current = { jobId: invocation.jobId, runtime: JobRuntime.load(stores, invocation.jobId) };
    current.runtime.catch(() => (current = undefined));
    if (previous) void previous.runtime.then((runtime) => runtime.release()).catch(() => undefined);
  }
  const runtime = await current.runtime;
  // A cold start costs the process start and module load (performance.now() counts from the
  // process's time origin) plus building the runtime; a warm one only what it built now.
  const initMs = coldStart ? performance.now() : performance.now() - buildStart;
  const timeoutMs = context.getRemainingTimeInMillis();
  return handleLearnerInvocation(
    runtime,
    invocation,
    {
      remainingMs: () => context.getRemainingTimeInMillis(),
      marginMs: Math.min(10_000, timeoutMs * 0.2),
      coldStart,
      initMs,
      leaseMs: optionalNumber(process.env.KASYNC_LEASE_MS),
      heartbeatMs: optionalNumber(process.env.KASYNC_HEARTBEAT_MS),
      usage,
      memoryMb: optionalNumber(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE),
    },
    (next) => invokeLearner(clients.lambda, clients.endpoints.lambda, resources.learnerFunction, next),
  );
}
