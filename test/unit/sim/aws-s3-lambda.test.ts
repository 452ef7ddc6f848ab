import { createRng } from '../../../model/random';
import { keyPrefix, LambdaPool, S3Bucket, type S3Op, s3Latency, TokenBucket } from '../../../sim/aws-limits';

/** `rate` requests a second of `op` on `key` for `seconds`; how many got 503 Slow Down. */
function offer(bucket: S3Bucket, op: S3Op, key: string, rate: number, seconds: number): number {
  let throttled = 0;
  for (let i = 0; i < rate * seconds; i++) if (bucket.request(op, key, i / rate).throttled) throttled++;
  return throttled;
}

describe('S3 request rates per prefix', () => {
  it('passes 3,500 writes and 5,500 reads a second on one prefix, and throttles beyond them', () => {
    expect(offer(new S3Bucket(), 'PUT', 'grads/j/L0/1-0.f32', 3500, 30)).toBe(0);
    expect(offer(new S3Bucket(), 'GET', 'grads/j/L0/1-0.f32', 5500, 30)).toBe(0);
    // 4,000 PUT/s for 30 s: 500/s over the rate, less one second of burst.
    const over = offer(new S3Bucket(), 'DELETE', 'grads/j/L0/x', 4000, 30);
    expect(over).toBeGreaterThanOrEqual(500 * 30 - 3500 - 2);
    expect(over).toBeLessThanOrEqual(500 * 30 - 3500 + 2);
    // 6,000 HEAD/s: 500/s over, less the 5,500 of burst.
    expect(
      Math.abs(offer(new S3Bucket(), 'HEAD', 'weights/x', 6000, 30) - (500 * 30 - 5500)),
    ).toBeLessThanOrEqual(2);
  });

  it('keeps prefixes, and reads from writes, apart', () => {
    const bucket = new S3Bucket();
    let throttled = 0;
    for (let i = 0; i < 3500 * 20; i++) {
      const t = i / 3500;
      for (const key of ['grads/j/L0/a', 'grads/j/L1/a', 'weights/j/a']) {
        if (bucket.request('PUT', key, t).throttled) throttled++;
        if (bucket.request('GET', key, t).throttled) throttled++;
      }
    }
    expect(throttled).toBe(0);
    expect(bucket.stats).toEqual({ requests: 3500 * 20 * 6, throttled: 0 });
    // The same load on a bucket that is still one partition throttles two thirds of the writes.
    const single = new S3Bucket({ prefixOf: () => '' });
    let refused = 0;
    for (let i = 0; i < 3500 * 20; i++) {
      for (const key of ['grads/j/L0/a', 'grads/j/L1/a', 'weights/j/a'])
        if (single.request('PUT', key, i / 3500).throttled) refused++;
    }
    expect(refused / (3500 * 20 * 3)).toBeCloseTo(2 / 3, 1);
  });

  it('finds the prefix and prices a request by first byte plus transfer', () => {
    expect(keyPrefix('jobs/j/weights/0000000001.f32')).toBe('jobs/j/weights/');
    expect(keyPrefix('top-level')).toBe('');
    expect(s3Latency(0)).toBeCloseTo(0.03, 12);
    expect(s3Latency(85e6)).toBeCloseTo(1.03, 12);
    expect(s3Latency(1e6, { firstByteSeconds: 0.01, bytesPerSecond: 1e7 })).toBeCloseTo(0.11, 12);
  });
});

describe('TokenBucket', () => {
  it('says when a request will fit, and refuses one larger than the bucket', () => {
    const bucket = new TokenBucket(10, 5);
    expect(bucket.tryTake(5, 0)).toBe(true);
    expect(bucket.tryTake(1, 0)).toBe(false);
    expect(bucket.availableAt(2, 0)).toBeCloseTo(0.2, 12);
    expect(bucket.tryTake(2, 0.2)).toBe(true);
    expect(bucket.level(100)).toBe(5); // refills to its capacity, no further
    expect(() => bucket.tryTake(6, 100)).toThrow(RangeError);
  });
});

describe('Lambda concurrency and scaling', () => {
  it('throttles (429) the invocation past the account’s 1,000 concurrent executions', () => {
    const pool = new LambdaPool(createRng(1));
    const first = Array.from({ length: 1000 }, () => pool.invoke(0));
    expect(first.every((i) => !i.throttled && i.cold)).toBe(true);
    expect(pool.invoke(0)).toEqual({ throttled: true, reason: 'concurrency' });
    expect(pool.invoke(30)).toEqual({ throttled: true, reason: 'concurrency' });
    // A finished invocation frees its environment, which serves the next one warm.
    const done = first[17];
    if (done === undefined || done.throttled) throw new Error('unreachable');
    pool.release(done.env, 31);
    expect(pool.invoke(31)).toEqual({ throttled: false, env: done.env, cold: false, start: 31 });
    expect(pool.stats).toEqual({ invocations: 1003, coldStarts: 1000, throttled: 2, busy: 1000, idle: 0 });
  });

  it('creates at most 1,000 environments at once and 100 a second after, without banking unused rate', () => {
    const pool = new LambdaPool(createRng(1), { concurrency: 10_000 });
    const burst = (n: number, t: number) =>
      Array.from({ length: n }, () => pool.invoke(t)).filter((i) => !i.throttled).length;
    expect(burst(1500, 0)).toBe(1000);
    expect(pool.invoke(0)).toEqual({ throttled: true, reason: 'scaling' });
    expect(burst(600, 5)).toBe(500); // 5 s of refill
    expect(burst(2000, 60)).toBe(1000); // a minute idle still gives only 1,000
  });

  it('samples the cold start, and reclaims environments idle past the timeout', () => {
    const pool = new LambdaPool(createRng(4), {
      coldStart: (rng) => 0.5 + rng.next(),
      idleTimeoutSeconds: 60,
    });
    const cold = pool.invoke(10);
    if (cold.throttled) throw new Error('throttled');
    expect(cold.cold).toBe(true);
    expect(cold.start).toBeGreaterThanOrEqual(10.5);
    expect(cold.start).toBeLessThan(11.5);
    pool.release(cold.env, 12);
    expect(pool.invoke(70)).toMatchObject({ cold: false, env: cold.env, start: 70 });
    pool.release(cold.env, 71);
    const later = pool.invoke(132);
    expect(later).toMatchObject({ throttled: false, cold: true });
    expect(pool.stats.coldStarts).toBe(2);
    expect(() => pool.release(cold.env, 140)).toThrow(/not running/);
  });
});
