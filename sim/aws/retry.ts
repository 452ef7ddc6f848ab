import type { Uniform } from './token-bucket';

/**
 * The AWS SDK for JavaScript v3's standard retry strategy, in seconds. Retry i (0 for the first
 * retry) waits `random * min(base * 2^i, cap)`, floored to whole milliseconds: exponential backoff
 * with full jitter. The base depends on the error: throttling errors (ThrottlingException,
 * ProvisionedThroughputExceededException, SlowDown, TooManyRequestsException, HTTP 429) back off
 * from a larger one than transient errors. `maxAttempts` counts the first attempt.
 */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseSeconds: number;
  readonly throttlingBaseSeconds: number;
  readonly capSeconds: number;
  /**
   * A time budget: seconds from the first attempt after which no retry starts; the last wait is cut
   * to what is left. The SDK's strategies have none (undefined); a budgeted one bounds the time a
   * request may take rather than its attempts.
   */
  readonly budgetSeconds?: number;
}

/** MAXIMUM_RETRY_DELAY in @smithy/util-retry and @smithy/core: 20 s, in every version. */
export const SDK_MAX_RETRY_DELAY_SECONDS = 20;

/**
 * The standard strategy as it has long shipped (@smithy/util-retry constants): base 100 ms,
 * 500 ms for throttling errors, cap 20 s, 3 attempts (the documented default of the standard
 * mode: "The default maximum number of attempts with this mode is three").
 */
export const SDK_STANDARD_RETRY: RetryPolicy = {
  maxAttempts: 3,
  baseSeconds: 0.1,
  throttlingBaseSeconds: 0.5,
  capSeconds: SDK_MAX_RETRY_DELAY_SECONDS,
};

/**
 * What this repository's lockfile installs: @smithy/core 3.41.0 ships the "2026" retry settings
 * (`Retry.v2026`): base 50 ms (25 ms in @aws-sdk/client-dynamodb 3.1164.0, whose default is also
 * 4 attempts), 1 s for throttling errors, cap 20 s; maxAttempts 3 is what engine/aws.ts configured
 * up to this commit. Read from node_modules/@smithy/core/dist-cjs/submodules/retry.
 */
export const PINNED_DYNAMODB_RETRY: RetryPolicy = {
  maxAttempts: 3,
  baseSeconds: 0.025,
  throttlingBaseSeconds: 1,
  capSeconds: SDK_MAX_RETRY_DELAY_SECONDS,
};

/** The same backoff with a larger budget (a client built with a higher maxAttempts). */
export function longerRetries(maxAttempts: number, base: RetryPolicy = PINNED_DYNAMODB_RETRY): RetryPolicy {
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new RangeError(`maxAttempts must be a positive integer, got ${maxAttempts}`);
  return { ...base, maxAttempts };
}

/**
 * A budgeted policy: retries until `budgetSeconds` have passed, maxAttempts only a backstop. The
 * defaults are the shape the engine is moving to (issue 11): a minute of budget, base 50 ms,
 * 250 ms for throttling, waits capped at 5 s, at most 100 attempts; override any of them.
 */
export function budgetRetries(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    maxAttempts: 100,
    baseSeconds: 0.05,
    throttlingBaseSeconds: 0.25,
    capSeconds: 5,
    budgetSeconds: 60,
    ...overrides,
  };
}

export type RetryErrorKind = 'throttling' | 'transient';

/** The delay before retry `retryIndex` (0 for the first retry), seconds. */
export function retryDelay(
  policy: RetryPolicy,
  retryIndex: number,
  rng: Uniform,
  kind: RetryErrorKind = 'throttling',
): number {
  const base = kind === 'throttling' ? policy.throttlingBaseSeconds : policy.baseSeconds;
  const ceilingMs = Math.min(base * 2 ** retryIndex, policy.capSeconds) * 1000;
  return Math.floor(rng.next() * ceilingMs) / 1000;
}

/**
 * The delays a request that keeps failing waits through (attempts taking no time): maxAttempts - 1
 * of them, or fewer when a time budget runs out first, the last one cut to the budget.
 */
export function retryDelays(
  policy: RetryPolicy,
  rng: Uniform,
  kind: RetryErrorKind = 'throttling',
): number[] {
  const budget = policy.budgetSeconds ?? Number.POSITIVE_INFINITY;
  const delays: number[] = [];
  let elapsed = 0;
  for (let i = 0; i < policy.maxAttempts - 1 && elapsed < budget; i++) {
    const delay = Math.min(retryDelay(policy, i, rng, kind), budget - elapsed);
    delays.push(delay);
    elapsed += delay;
  }
  return delays;
}

/**
 * The client's retry quota (standard mode's circuit breaker): 500 tokens per client; each retry
 * takes its cost and a retry is refused (the error surfaces) when the quota cannot pay; a success
 * gives back the cost of the retry that led to it, or 1 token after a first-try success. Costs as
 * pinned: 5 for a throttling error, 14 otherwise (SDK_STANDARD_RETRY's versions: 5, and 10 for
 * timeouts). A Lambda invocation that builds its clients at module scope keeps one quota per
 * execution environment.
 */
export class RetryQuota {
  private tokens: number;

  constructor(
    readonly capacity = 500,
    readonly throttlingCost = 5,
    readonly transientCost = 14,
  ) {
    this.tokens = capacity;
  }

  get available(): number {
    return this.tokens;
  }

  /** Pays for one retry; the cost paid, or undefined when the quota refuses it. */
  acquire(kind: RetryErrorKind): number | undefined {
    const cost = kind === 'throttling' ? this.throttlingCost : this.transientCost;
    if (this.tokens < cost) return undefined;
    this.tokens -= cost;
    return cost;
  }

  /** A request succeeded: `retryCost` is what its last retry paid (undefined: it passed first time). */
  recordSuccess(retryCost?: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + (retryCost ?? 1));
  }
}

export interface RetryOutcome {
  /** When the last attempt answered: its success, or the error handed to the caller. */
  readonly finishedAt: number;
  readonly attempts: number;
  /** Every attempt allowed was throttled, the budget ran out, or the quota refused a retry. */
  readonly gaveUp: boolean;
}

export interface RetryRunOptions {
  /** Seconds each attempt takes before it answers (its latency). Default 0. */
  readonly attemptSeconds?: number;
  readonly quota?: RetryQuota;
  readonly kind?: RetryErrorKind;
}

/**
 * Runs one SDK call to its end: `attempt(t)` is asked at each attempt's time whether it was
 * throttled. Suited to closed-form use and tests; a discrete-event simulation that must interleave
 * attempts with other events schedules each one itself with `retryDelay` (and a RetryQuota).
 */
export function withRetries(
  attempt: (t: number) => boolean,
  start: number,
  policy: RetryPolicy,
  rng: Uniform,
  options: RetryRunOptions = {},
): RetryOutcome {
  const latency = options.attemptSeconds ?? 0;
  const kind = options.kind ?? 'throttling';
  const deadline = start + (policy.budgetSeconds ?? Number.POSITIVE_INFINITY);
  let t = start;
  let lastCost: number | undefined;
  for (let attempts = 1; ; attempts++) {
    const throttled = attempt(t);
    t += latency;
    if (!throttled) {
      options.quota?.recordSuccess(lastCost);
      return { finishedAt: t, attempts, gaveUp: false };
    }
    if (attempts >= policy.maxAttempts || t >= deadline) return { finishedAt: t, attempts, gaveUp: true };
    if (options.quota) {
      lastCost = options.quota.acquire(kind);
      if (lastCost === undefined) return { finishedAt: t, attempts, gaveUp: true };
    }
    t += Math.min(retryDelay(policy, attempts - 1, rng, kind), deadline - t);
  }
}
