/**
 * The rate limiter every AWS limit here is built on, on the simulator's virtual clock (seconds).
 * A bucket holds at most `capacity` tokens and refills continuously at `ratePerSecond`; a request
 * that finds enough tokens takes them, one that does not is throttled and takes none (a throttled
 * DynamoDB, S3 or Lambda request consumes no capacity). Over any window of T seconds a bucket
 * admits at most `ratePerSecond * T + capacity` tokens, so `capacity` is the burst allowance.
 *
 * Times must not go backwards per bucket; an earlier time than the last one seen refills nothing.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSecond: number,
    readonly capacity: number,
    start = 0,
  ) {
    if (!(ratePerSecond > 0) || !(capacity > 0))
      throw new RangeError(
        `a token bucket needs a positive rate and capacity, got ${ratePerSecond}, ${capacity}`,
      );
    this.tokens = capacity; // A new bucket starts full: the burst is available at once.
    this.last = start;
  }

  /** Tokens available at `now`. */
  level(now: number): number {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + this.ratePerSecond * (now - this.last));
      this.last = now;
    }
    return this.tokens;
  }

  /** Takes `cost` tokens if the bucket holds them at `now`; false (nothing taken) if not. */
  tryTake(cost: number, now: number): boolean {
    if (cost > this.capacity)
      throw new RangeError(`a request of ${cost} tokens can never pass a bucket of ${this.capacity}`);
    const level = this.level(now);
    // Refill is a sum of float steps: without the slack, 1,000 requests of 1 token paced at exactly
    // the rate would find 0.9999999 tokens now and then and count as throttled.
    if (level + SLACK * Math.max(1, cost) < cost) return false;
    this.tokens = Math.max(0, level - cost);
    return true;
  }

  /** The earliest time, `now` or later, at which `cost` tokens will be there if no one else takes any. */
  availableAt(cost: number, now: number): number {
    const missing = cost - this.level(now);
    return missing <= 0 ? Math.max(now, this.last) : Math.max(now, this.last) + missing / this.ratePerSecond;
  }
}

const SLACK = 1e-9;

/** The part of model/random's `Rng` these models draw from: uniform in [0, 1). */
export interface Uniform {
  next(): number;
}
