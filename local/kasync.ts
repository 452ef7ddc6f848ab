import path from 'node:path';
import { type AwsClients, createClients, type Resources } from '../engine/aws';
import { DEFAULT_HEARTBEAT_MS, invokeLearner, REVIVE_AFTER_BEATS } from '../engine/invocation';
import { createStores, type Stores } from '../engine/store';
import { sweepJobs, type WatchdogAction } from '../engine/watchdog';
import { type LocalStack, startLocalStack } from './stack';

export const LEARNER_FUNCTION = 'kasync-learner';

export interface EmbeddedOptions {
  /** Keep the emulators' data here so a later run (or `kasync audit`) can use it. */
  readonly dataDir?: string;
  /**
   * Lambda timeout of a local learner. Short by default so that a demo sees learners hand over
   * to their next epoch (and the cold starts that brings), as they do every 15 minutes on AWS.
   */
  readonly learnerTimeoutSeconds?: number;
  readonly maxLearners?: number;
  /** Takeover lease of a stalled round, ms (tests shorten it). */
  readonly leaseMs?: number;
  /** Learner heartbeat, ms: a learner silent for three is presumed dead (tests shorten it). */
  readonly heartbeatMs?: number;
  /** Extra environment for the learner function (fault injection in tests). */
  readonly learnerEnvironment?: Readonly<Record<string, string>>;
  readonly log?: (line: string) => void;
  /** How often the watchdog sweeps the running jobs, ms (engine/watchdog.ts); tests shorten it. */
  readonly watchdogMs?: number;
}

/** Locally the watchdog ends a job this long after its maxSeconds if no learner did. */
const WATCHDOG_GRACE_MS = 10_000;

/** The embedded stack with kasync's functions on it, and clients that reach it. */
export interface Embedded {
  readonly stack: LocalStack;
  readonly clients: AwsClients;
  readonly resources: Resources;
  readonly stores: Stores;
  stop(): Promise<void>;
}

export async function startEmbedded(options: EmbeddedOptions = {}): Promise<Embedded> {
  const stack = await startLocalStack({
    dataDir: options.dataDir,
    log: options.log,
    functions: [
      {
        name: LEARNER_FUNCTION,
        entry: path.resolve(__dirname, '../functions/learner.ts'),
        timeoutSeconds: options.learnerTimeoutSeconds ?? 20,
        // As deployed (cdk/learners.ts): not enforced here, but it prices the GB-seconds of costUsd.
        memoryMb: 1769,
        maxConcurrency: options.maxLearners ?? 64,
        environment: {
          KASYNC_LEARNER_FUNCTION: LEARNER_FUNCTION,
          ...(options.leaseMs ? { KASYNC_LEASE_MS: String(options.leaseMs) } : {}),
          ...(options.heartbeatMs ? { KASYNC_HEARTBEAT_MS: String(options.heartbeatMs) } : {}),
          ...options.learnerEnvironment,
        },
      },
    ],
  });
  const clients = createClients(stack.env);
  const resources: Resources = {
    bucket: stack.bucket,
    table: stack.table,
    learnerFunction: LEARNER_FUNCTION,
  };
  const stores = createStores(clients, resources);
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const watchdog = startWatchdog(
    () =>
      sweepJobs(
        stores,
        (invocation) => invokeLearner(clients.lambda, clients.endpoints.lambda, LEARNER_FUNCTION, invocation),
        Date.now(),
        { silentMs: REVIVE_AFTER_BEATS * heartbeatMs, graceMs: WATCHDOG_GRACE_MS },
      ),
    options.watchdogMs ?? REVIVE_AFTER_BEATS * heartbeatMs,
    options.log,
  );
  return {
    stack,
    clients,
    resources,
    stores,
    stop: async () => {
      await watchdog.stop();
      await stack.stop();
    },
  };
}

/** Runs sweeps one at a time on a timer; a failed sweep (a store away) is logged and retried next time. */
function startWatchdog(
  sweep: () => Promise<WatchdogAction[]>,
  intervalMs: number,
  log: ((line: string) => void) | undefined,
) {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= sweep()
      .then((actions) => {
        for (const action of actions) log?.(`watchdog: ${JSON.stringify(action)}`);
      })
      .catch((error) => log?.(`watchdog: sweep failed: ${error instanceof Error ? error.message : error}`))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
