import { TokenBucket, type Uniform } from './token-bucket';

/**
 * "By default, Lambda provides your account with a total concurrency limit of 1,000 concurrent
 * executions across all functions in an AWS Region" (Lambda Developer Guide, function scaling).
 * Concurrency is in-flight requests; an environment that is initialising counts.
 */
export const ACCOUNT_CONCURRENCY = 1000;

/**
 * "For each function, your concurrency scaling rate is 1,000 execution environment instances
 * every 10 seconds", refilled "continuously over time" rather than 1,000 at once every 10 s, and
 * unused rate does not accrue: "at any given time, your scaling rate is always a maximum of 1,000
 * concurrency units" (Lambda Developer Guide, Lambda scaling behavior). So a bucket of 1,000 new
 * environments refilled at 100 a second. Warm environments are reused without it.
 */
export const SCALING_BURST = 1000;
export const SCALING_PER_SECOND = 1000 / 10;

/**
 * kasync's learner init, measured: module load plus the onnxruntime session, median of 7 in
 * fresh processes on the 2-core development machine (docs/deploy.md, "Cold start budget").
 * Lambda's own runtime start and the S3 reads of the graph and weights come on top.
 */
export const LEARNER_INIT_SECONDS = 0.223;

export interface LambdaPoolOptions {
  readonly concurrency?: number;
  readonly scalingBurst?: number;
  readonly scalingPerSecond?: number;
  /** Seconds a new environment takes before the handler runs. Default LEARNER_INIT_SECONDS. */
  readonly coldStart?: (rng: Uniform) => number;
  /**
   * Seconds an idle environment stays warm. AWS does not document when it reclaims one, so the
   * default keeps them forever; set it from a measurement.
   */
  readonly idleTimeoutSeconds?: number;
  readonly start?: number;
}

export type Invocation =
  | { readonly throttled: false; readonly env: number; readonly cold: boolean; readonly start: number }
  | { readonly throttled: true; readonly reason: 'concurrency' | 'scaling' };

export interface LambdaStats {
  readonly invocations: number;
  readonly coldStarts: number;
  /** 429 TooManyRequestsException: at the concurrency limit, or scaling faster than allowed. */
  readonly throttled: number;
  readonly busy: number;
  readonly idle: number;
}

/**
 * One function's execution environments under the account's concurrency limit (this function
 * alone uses it). `invoke` reuses the most recently released warm environment, or creates one (a
 * cold start) if the scaling rate allows, or throttles; `release` ends an invocation. Which warm
 * environment Lambda picks is not documented; the choice here only matters with idleTimeoutSeconds.
 */
export class LambdaPool {
  private readonly concurrency: number;
  private readonly scaling: TokenBucket;
  private readonly coldStart: (rng: Uniform) => number;
  private readonly idleTimeout: number;
  private readonly busyEnvs = new Set<number>();
  /** Idle environments and when each went idle, oldest first. */
  private idleEnvs: { env: number; since: number }[] = [];
  private nextEnv = 0;
  private counts = { invocations: 0, coldStarts: 0, throttled: 0 };

  constructor(
    private readonly rng: Uniform,
    options: LambdaPoolOptions = {},
  ) {
    this.concurrency = options.concurrency ?? ACCOUNT_CONCURRENCY;
    this.scaling = new TokenBucket(
      options.scalingPerSecond ?? SCALING_PER_SECOND,
      options.scalingBurst ?? SCALING_BURST,
      options.start ?? 0,
    );
    this.coldStart = options.coldStart ?? (() => LEARNER_INIT_SECONDS);
    this.idleTimeout = options.idleTimeoutSeconds ?? Number.POSITIVE_INFINITY;
  }

  /** An invocation arriving at `now`: when its handler starts, and whether that took a cold start. */
  invoke(now: number): Invocation {
    this.counts.invocations++;
    this.reclaim(now);
    if (this.busyEnvs.size >= this.concurrency) return this.throttle('concurrency');
    const warm = this.idleEnvs.pop();
    if (warm !== undefined) {
      this.busyEnvs.add(warm.env);
      return { throttled: false, env: warm.env, cold: false, start: now };
    }
    if (!this.scaling.tryTake(1, now)) return this.throttle('scaling');
    const env = this.nextEnv++;
    this.busyEnvs.add(env);
    this.counts.coldStarts++;
    return { throttled: false, env, cold: true, start: now + this.coldStart(this.rng) };
  }

  /** The invocation on `env` returned at `now`; the environment stays warm for the next one. */
  release(env: number, now: number): void {
    if (!this.busyEnvs.delete(env)) throw new Error(`environment ${env} is not running an invocation`);
    this.idleEnvs.push({ env, since: now });
  }

  get stats(): LambdaStats {
    return { ...this.counts, busy: this.busyEnvs.size, idle: this.idleEnvs.length };
  }

  private throttle(reason: 'concurrency' | 'scaling'): Invocation {
    this.counts.throttled++;
    return { throttled: true, reason };
  }

  private reclaim(now: number): void {
    if (this.idleTimeout === Number.POSITIVE_INFINITY) return;
    // Releases come in time order, so the list is sorted by `since`: the expired ones lead.
    let expired = 0;
    while (
      expired < this.idleEnvs.length &&
      now - (this.idleEnvs[expired]?.since as number) > this.idleTimeout
    )
      expired++;
    if (expired > 0) this.idleEnvs = this.idleEnvs.slice(expired);
  }
}
