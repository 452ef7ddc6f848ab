import { createClients, resourcesFromEnv } from '../engine/aws';
import { DEFAULT_HEARTBEAT_MS, invokeLearner, REVIVE_AFTER_BEATS } from '../engine/invocation';
import { createStores } from '../engine/store';
import { sweepJobs } from '../engine/watchdog';
import { createLogger } from './observability';

/**
 * The scheduled watchdog (cdk/watchdog.ts, every minute): ends jobs past maxSeconds that no
 * learner ended and re-invokes silent learners (engine/watchdog.ts).
 */
const clients = createClients();
const resources = resourcesFromEnv();
const stores = createStores(clients, resources);
const logger = createLogger('kasync-watchdog');

/** Past maxSeconds, learners get this long to end a job themselves (and evaluate it) first. */
const GRACE_MS = 30_000;

export async function handler() {
  const actions = await sweepJobs(
    stores,
    (invocation) =>
      invokeLearner(clients.lambda, clients.endpoints.lambda, resources.learnerFunction, invocation),
    Date.now(),
    { silentMs: REVIVE_AFTER_BEATS * DEFAULT_HEARTBEAT_MS, graceMs: GRACE_MS },
  );
  for (const action of actions) logger.info('watchdog action', { ...action });
  return { actions };
}
