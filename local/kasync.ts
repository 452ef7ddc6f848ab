import path from 'node:path';
import { type AwsClients, createClients, type Resources } from '../engine/aws';
import { createStores, type Stores } from '../engine/store';
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
}

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
  return { stack, clients, resources, stores: createStores(clients, resources), stop: () => stack.stop() };
}
