import fc from 'fast-check';
import { createRng } from '../../../model/random';
import {
  budgetRetries,
  DynamoTable,
  longerRetries,
  PINNED_DYNAMODB_RETRY,
  type RetryPolicy,
  RetryQuota,
  retryDelay,
  retryDelays,
  SDK_STANDARD_RETRY,
  withRetries,
} from '../../../sim/aws-limits';
import { EventQueue } from '../../../sim/event-queue';

const almostOne = { next: () => 0.999_999 };

describe('SDK retry backoff', () => {
  it('draws maxAttempts - 1 delays, each uniform below min(base * 2^i, 20 s), in whole milliseconds', () => {
    const rng = createRng(1);
    for (let run = 0; run < 200; run++) {
      const delays = retryDelays(SDK_STANDARD_RETRY, rng);
      expect(delays).toHaveLength(2);
      delays.forEach((delay, i) => {
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(0.5 * 2 ** i); // throttling base 500 ms
        expect(Math.round(delay * 1000)).toBeCloseTo(delay * 1000, 9);
      });
      const transient = retryDelays(SDK_STANDARD_RETRY, rng, 'transient');
      for (const [i, delay] of transient.entries()) expect(delay).toBeLessThan(0.1 * 2 ** i);
    }
  });

  it('jitters fully: the first throttling retry averages half its 500 ms ceiling', () => {
    const rng = createRng(2);
    const n = 20_000;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += retryDelay(SDK_STANDARD_RETRY, 0, rng);
    expect(sum / n).toBeGreaterThan(0.245);
    expect(sum / n).toBeLessThan(0.255);
  });

  it('caps every delay at 20 s, however many retries the budget allows', () => {
    const policy = longerRetries(12);
    expect(policy).toMatchObject({ maxAttempts: 12, throttlingBaseSeconds: 1, capSeconds: 20 });
    const ceilings = retryDelays(policy, almostOne);
    // 1, 2, 4, 8, 16 s, then the cap (less the jitter's top millisecond).
    expect(ceilings).toEqual([
      0.999, 1.999, 3.999, 7.999, 15.999, 19.999, 19.999, 19.999, 19.999, 19.999, 19.999,
    ]);
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 40 }), (seed, retry) => {
        const delay = retryDelay(PINNED_DYNAMODB_RETRY, retry, createRng(seed));
        return delay >= 0 && delay < Math.min(2 ** retry, 20);
      }),
    );
    expect(() => longerRetries(0)).toThrow(RangeError);
  });
});

describe('budgeted retries', () => {
  it('retry until the budget is spent, cutting the last wait to it', () => {
    const policy = budgetRetries();
    expect(policy).toMatchObject({ budgetSeconds: 60, throttlingBaseSeconds: 0.25, capSeconds: 5 });
    const delays = retryDelays(policy, almostOne);
    // 0.249, 0.499, 0.999, 1.999, 3.999 (7.745 s), ten of 4.999 (57.735 s), then 2.265 to reach 60 s.
    expect(delays).toHaveLength(16);
    expect(delays.slice(0, 6)).toEqual([0.249, 0.499, 0.999, 1.999, 3.999, 4.999]);
    expect(delays.reduce((a, b) => a + b, 0)).toBeCloseTo(60, 9);
    const outcome = withRetries(() => true, 5, policy, almostOne, { attemptSeconds: 0.02 });
    expect(outcome.gaveUp).toBe(true);
    expect(outcome.finishedAt).toBeGreaterThanOrEqual(65);
    expect(outcome.finishedAt).toBeLessThanOrEqual(65.02);
    // maxAttempts still bounds it.
    expect(withRetries(() => true, 0, budgetRetries({ maxAttempts: 4 }), almostOne).attempts).toBe(4);
  });
});

describe('withRetries', () => {
  it('waits the drawn delays between throttled attempts and stops at the first success', () => {
    const throttledUntil = 2;
    let calls = 0;
    const times: number[] = [];
    const outcome = withRetries(
      (t) => {
        times.push(t);
        return calls++ < throttledUntil;
      },
      10,
      SDK_STANDARD_RETRY,
      createRng(7),
    );
    const [d0, d1] = retryDelays(SDK_STANDARD_RETRY, createRng(7));
    expect(outcome).toEqual({ finishedAt: 10 + (d0 as number) + (d1 as number), attempts: 3, gaveUp: false });
    expect(times).toEqual([10, 10 + (d0 as number), 10 + (d0 as number) + (d1 as number)]);
  });

  it('gives up after maxAttempts, counting each attempt’s latency', () => {
    const outcome = withRetries(() => true, 0, SDK_STANDARD_RETRY, almostOne, { attemptSeconds: 0.01 });
    expect(outcome.attempts).toBe(3);
    expect(outcome.gaveUp).toBe(true);
    expect(outcome.finishedAt).toBeCloseTo(3 * 0.01 + 0.499 + 0.999, 9);
  });

  it('stops retrying when the client’s retry quota is spent, and refills it on success', () => {
    const quota = new RetryQuota(12, 5, 14);
    const outcome = withRetries(() => true, 0, longerRetries(10), almostOne, { quota });
    expect(outcome).toMatchObject({ attempts: 3, gaveUp: true }); // two retries at 5 tokens each
    expect(quota.available).toBe(2);
    expect(quota.acquire('transient')).toBeUndefined();
    quota.recordSuccess(); // a first-try success gives back 1
    expect(quota.available).toBe(3);
    // A success after a retry gives back what that retry paid.
    const fresh = new RetryQuota();
    fresh.acquire('throttling');
    let calls = 0;
    const outcome2 = withRetries(() => calls++ === 0, 0, SDK_STANDARD_RETRY, almostOne, { quota: fresh });
    expect(outcome2).toMatchObject({ attempts: 2, gaveUp: false });
    expect(fresh.available).toBe(495);
  });

  it('clears a hot key with a budget of ten attempts or a minute, and not with the default three', () => {
    // 4,000 writers hit one key at once with 1 WCU each; the partition passes its 1,000 of burst
    // at once and 1,000 a second after that. Attempts run in time order on the simulator's queue.
    const run = (policy: RetryPolicy) => {
      const table = new DynamoTable();
      const rng = createRng(3);
      const queue = new EventQueue();
      for (let writer = 0; writer < 4000; writer++) queue.push(0, writer, 1);
      let gaveUp = 0;
      let lastSuccess = 0;
      while (queue.size > 0) {
        const [t, writer, attempt] = [queue.peekTime(), queue.peekPayload(), queue.peekToken()];
        queue.pop();
        if (!table.request({ key: 'JOB#hot', writeUnits: 1 }, t).throttled) lastSuccess = t;
        else if (attempt >= policy.maxAttempts) gaveUp++;
        else queue.push(t + retryDelay(policy, attempt - 1, rng), writer, attempt + 1);
      }
      return { gaveUp, lastSuccess };
    };
    // Three attempts: about 12% of the writers give up with the pinned 1 s throttling base (seeds
    // 1-5: 457-485), about 40% with the older 500 ms one, whose retries all land within 1.5 s.
    const pinned = run(PINNED_DYNAMODB_RETRY);
    expect(pinned.gaveUp).toBeGreaterThan(400);
    expect(pinned.gaveUp).toBeLessThan(560);
    expect(run(SDK_STANDARD_RETRY).gaveUp).toBeGreaterThan(1400);
    // Ten attempts: every write lands, no sooner than the partition allows (3,000 writes beyond the
    // burst at 1,000 a second), and later than that, since backoff overshoots (10-17 s over seeds 1-5).
    const long = run(longerRetries(10));
    expect(long.gaveUp).toBe(0);
    expect(long.lastSuccess).toBeGreaterThanOrEqual(3);
    // A minute's budget with waits capped at 5 s: all land, and sooner.
    const budgeted = run(budgetRetries());
    expect(budgeted.gaveUp).toBe(0);
    expect(budgeted.lastSuccess).toBeGreaterThanOrEqual(3);
    expect(budgeted.lastSuccess).toBeLessThan(long.lastSuccess);
  });
});
