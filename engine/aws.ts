import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RetryErrorInfo, RetryStrategyV2, StandardRetryToken } from '@smithy/types';
import { isUnreachableError } from './store/translate';
import type { UsageMeter } from './usage';

/**
 * SDK clients built from standard configuration: region, credentials and endpoints come from
 * an environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, ...), so the same code
 * reaches AWS, LocalStack or the embedded stack. Lambda handlers build them once at module
 * scope; the CLI builds them after it has started an embedded stack. A usage meter, if given,
 * counts what the clients consume.
 */
export interface AwsClients {
  readonly dynamo: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
  /** Where each client points, for error messages that name the endpoint. */
  readonly endpoints: { readonly dynamodb: string; readonly s3: string; readonly lambda: string };
}

// Fail fast instead of hanging when a store is down.
const requestHandler = { connectionTimeout: 3_000, requestTimeout: 30_000, throwOnRequestTimeout: true };

/**
 * How long one request keeps being retried while the store pushes back (throttling: DynamoDB's
 * ProvisionedThroughputExceededException, ThrottlingException, RequestLimitExceeded, S3's 503
 * SlowDown, Lambda's 429) or fails transiently (5xx, a reset connection, a request timeout).
 * A learner that gives up ends its invocation and, at worst, its chain, so it waits rather than
 * fail: a minute outlasts a burst of throttling (backing off is what gives a table partition or
 * an S3 prefix room to recover) and costs little of a 15-minute Lambda invocation. Locally
 * (20 s invocations) the budget is longer than the invocation: there the platform's timeout, and
 * the takeover that follows, end a store that never recovers.
 * The protocol's writes are safe to repeat after a lost response: arrivals carry ordinals,
 * commits and takeovers are conditioned on the version, claims on the invocation's nonce, blobs
 * are written once under fixed keys, and the store code re-reads on a failed condition. The
 * learner item's counters and history are not (heartbeats ADD counters under a condition the
 * retry still meets, the end of an invocation appends its record unconditionally): a retried
 * one counts twice. They are metrics; the audit does not read them.
 */
export const RETRY_BUDGET_MS = 60_000;
/**
 * How long a request is retried when no connection could be opened at all (refused, no such
 * host, no route, connection timeout). AWS endpoints do not refuse connections: this is an
 * emulator restarting, a DNS hiccup or a wrong endpoint, and a wrong endpoint should be reported
 * (StoreUnreachableError, naming it) in seconds, not after a minute.
 */
export const UNREACHABLE_BUDGET_MS = 3_000;

export interface RetryPolicy {
  /** Time from the first attempt after which no retry starts. */
  readonly budgetMs: number;
  /** The same when the store could not be reached at all. */
  readonly unreachableBudgetMs: number;
  /** Retry i waits random * min(maxDelayMs, base * 2^i): exponential backoff, full jitter. */
  readonly baseMs: number;
  readonly throttlingBaseMs: number;
  readonly maxDelayMs: number;
  /** A second bound, so that a clock that stands still cannot retry forever. */
  readonly maxAttempts: number;
}

/**
 * Base 50 ms as the SDK has it for transient errors; 250 ms for throttling (the pinned SDK's is
 * 1 s): a throttled learner's wait is on the job's critical path, and the full jitter already
 * spreads the retries of many learners. Waits stop growing at 5 s so that a store that recovers
 * is noticed within seconds; that makes about 30 attempts in the minute's budget.
 */
export const RETRY_POLICY: RetryPolicy = {
  budgetMs: RETRY_BUDGET_MS,
  unreachableBudgetMs: UNREACHABLE_BUDGET_MS,
  baseMs: 50,
  throttlingBaseMs: 250,
  maxDelayMs: 5_000,
  maxAttempts: 100,
};

/** Errors that are answers, never retried whatever else they look like: the caller interprets them. */
const NEVER_RETRIED = new Set(['ConditionalCheckFailedException', 'TransactionCanceledException']);

export type RetryDecision = 'retry' | 'retry-unreachable' | 'fail';

/**
 * What a failed attempt calls for. The SDK's retry middleware has classified the error
 * (@smithy/core/retry: THROTTLING by name or HTTP 429, TRANSIENT for 500/502/503/504, timeouts
 * and reset or refused connections, SERVER_ERROR for other 5xx, CLIENT_ERROR for the rest).
 */
export function retryDecision(info: RetryErrorInfo): RetryDecision {
  const name = (info.error as { name?: string } | undefined)?.name;
  if (name !== undefined && NEVER_RETRIED.has(name)) return 'fail';
  if (info.errorType === 'CLIENT_ERROR') return 'fail';
  return isUnreachableError(info.error) ? 'retry-unreachable' : 'retry';
}

class BudgetToken implements StandardRetryToken {
  constructor(
    readonly startedAt: number,
    private readonly count: number,
    private readonly delay: number,
  ) {}
  getRetryCount() {
    return this.count;
  }
  getRetryDelay() {
    return this.delay;
  }
  getRetryCost() {
    return undefined;
  }
}

/**
 * A retry strategy for the SDK's own retry middleware: retries throttling, transient and server
 * errors with exponential backoff and full jitter until a time budget runs out, never a failed
 * condition or another client error. Unlike the SDK's StandardRetryStrategy it has no retry
 * quota: that circuit breaker (500 tokens per client, 5 per throttled retry) empties after about
 * a hundred throttled retries, and the next throttled request then fails at once: an
 * invocation's chain would end on the first sustained throttling. The middleware sleeps the
 * delay the token carries.
 */
export class BudgetRetryStrategy implements RetryStrategyV2 {
  constructor(
    readonly policy: RetryPolicy = RETRY_POLICY,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {}

  async acquireInitialRetryToken(): Promise<StandardRetryToken> {
    return new BudgetToken(this.now(), 0, 0);
  }

  async refreshRetryTokenForRetry(
    token: StandardRetryToken,
    info: RetryErrorInfo,
  ): Promise<StandardRetryToken> {
    const decision = retryDecision(info);
    const { policy } = this;
    const startedAt = token instanceof BudgetToken ? token.startedAt : this.now();
    const budget = decision === 'retry-unreachable' ? policy.unreachableBudgetMs : policy.budgetMs;
    const left = startedAt + budget - this.now();
    const retry = token.getRetryCount();
    if (decision === 'fail' || left <= 0 || retry + 1 >= policy.maxAttempts)
      throw info.error ?? new Error('no retry');
    const base = info.errorType === 'THROTTLING' ? policy.throttlingBaseMs : policy.baseMs;
    let delay = Math.floor(this.random() * Math.min(policy.maxDelayMs, base * 2 ** retry));
    // A server that says when to come back (Retry-After) is believed, within the cap.
    if (info.retryAfterHint)
      delay = Math.max(delay, Math.min(policy.maxDelayMs, info.retryAfterHint.getTime() - this.now()));
    return new BudgetToken(startedAt, retry + 1, Math.min(delay, left));
  }

  recordSuccess(): void {}
}

const retryStrategy = new BudgetRetryStrategy();

export function createClients(env: NodeJS.ProcessEnv = process.env, usage?: UsageMeter): AwsClients {
  const endpoint = (service: string) => env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          sessionToken: env.AWS_SESSION_TOKEN,
        }
      : undefined;
  const common = {
    region,
    credentials,
    requestHandler,
    retryStrategy,
    maxAttempts: RETRY_POLICY.maxAttempts,
  };
  const s3Endpoint = endpoint('S3');
  const dynamo = new DynamoDBClient({ ...common, endpoint: endpoint('DYNAMODB') });
  const s3 = new S3Client({
    ...common,
    endpoint: s3Endpoint,
    // Emulators (s3rver, LocalStack) serve buckets by path, not by virtual host, and s3rver
    // corrupts streamed bodies when the SDK adds flexible checksums; real S3 keeps both defaults.
    ...(s3Endpoint !== undefined && {
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  });
  usage?.attachDynamo(dynamo);
  usage?.attachS3(s3);
  return {
    dynamo: DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }),
    s3,
    lambda: new LambdaClient({ ...common, endpoint: endpoint('LAMBDA') }),
    endpoints: {
      dynamodb: endpoint('DYNAMODB') ?? `dynamodb.${region}.amazonaws.com`,
      s3: s3Endpoint ?? `s3.${region}.amazonaws.com`,
      lambda: endpoint('LAMBDA') ?? `lambda.${region}.amazonaws.com`,
    },
  };
}

export interface Resources {
  readonly bucket: string;
  readonly table: string;
  readonly learnerFunction: string;
}

const requiredEnv = (env: NodeJS.ProcessEnv, name: string) => {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};

/** The bucket and table, from the environment the stack sets. */
export function storageFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<Resources, 'bucket' | 'table'> {
  return { bucket: requiredEnv(env, 'KASYNC_BUCKET'), table: requiredEnv(env, 'KASYNC_TABLE') };
}

/** Names of the bucket, table and learner function, from the environment the stack sets. */
export function resourcesFromEnv(env: NodeJS.ProcessEnv = process.env): Resources {
  // A learner learns its own name from Lambda (it re-invokes itself); other functions are told.
  const learnerFunction = env.KASYNC_LEARNER_FUNCTION ?? env.AWS_LAMBDA_FUNCTION_NAME;
  if (!learnerFunction) throw new Error('environment variable KASYNC_LEARNER_FUNCTION is not set');
  return { ...storageFromEnv(env), learnerFunction };
}
