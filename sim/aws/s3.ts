import { TokenBucket } from './token-bucket';

/**
 * S3 request rates: "at least 3,500 PUT/COPY/POST/DELETE or 5,500 GET/HEAD requests per second
 * per partitioned Amazon S3 prefix" (S3 User Guide, optimizing performance). Over that, S3
 * answers 503 Slow Down. The two classes get a bucket each: AWS quotes them apart and documents
 * no trade between them.
 */
export const S3_WRITES_PER_SECOND = 3500;
export const S3_READS_PER_SECOND = 5500;
/** Burst, in seconds of the rate: the same assumption as DynamoDB's (PARTITION_BURST_SECONDS). */
export const S3_BURST_SECONDS = 1;

/**
 * Latency of one request: first byte, then the body at a per-connection throughput.
 * - First byte: "when you make smaller requests (for example, less than 512 KB), where median
 *   latencies are often in the tens of milliseconds range" (AWS, S3 performance design patterns);
 *   30 ms stands for "tens of milliseconds". Measure it from Lambda in the region to do better.
 * - Throughput: "Make one concurrent request for each 85-90 MB/s of desired network throughput"
 *   (same page): one request streams about 85 MB/s (taken as 10^6 bytes). A small Lambda function's
 *   network may be slower; AWS documents no figure for it.
 */
export const S3_FIRST_BYTE_SECONDS = 0.03;
export const S3_BYTES_PER_SECOND = 85e6;

export type S3Op = 'GET' | 'HEAD' | 'PUT' | 'COPY' | 'POST' | 'DELETE';

export interface S3LatencyModel {
  readonly firstByteSeconds: number;
  readonly bytesPerSecond: number;
}

export const S3_LATENCY: S3LatencyModel = {
  firstByteSeconds: S3_FIRST_BYTE_SECONDS,
  bytesPerSecond: S3_BYTES_PER_SECOND,
};

/** Seconds from sending a request to its last byte. */
export function s3Latency(bytes: number, model: S3LatencyModel = S3_LATENCY): number {
  return model.firstByteSeconds + bytes / model.bytesPerSecond;
}

/**
 * The prefix a key's requests count against: everything up to and including its last `/`. S3
 * partitions a bucket by prefix adaptively, after a sustained high rate (it answers 503 while it
 * does), so a fresh bucket can start as one partition: `() => ''` models that worst case.
 */
export function keyPrefix(key: string): string {
  return key.slice(0, key.lastIndexOf('/') + 1);
}

export interface S3BucketOptions {
  readonly writesPerSecond?: number;
  readonly readsPerSecond?: number;
  readonly burstSeconds?: number;
  readonly prefixOf?: (key: string) => string;
  readonly start?: number;
}

export interface S3Stats {
  readonly requests: number;
  /** Requests answered 503 Slow Down. */
  readonly throttled: number;
}

/** One S3 bucket's request-rate limits, a token bucket per (prefix, class) on the virtual clock. */
export class S3Bucket {
  private readonly limiters = new Map<string, TokenBucket>();
  private readonly prefixOf: (key: string) => string;
  private counts = { requests: 0, throttled: 0 };

  constructor(private readonly options: S3BucketOptions = {}) {
    this.prefixOf = options.prefixOf ?? keyPrefix;
  }

  request(op: S3Op, key: string, now: number): { readonly throttled: boolean } {
    this.counts.requests++;
    const admitted = this.limiter(op, key).tryTake(1, now);
    if (!admitted) this.counts.throttled++;
    return { throttled: !admitted };
  }

  /** When a request like this would next pass, if nothing else used its prefix. */
  availableAt(op: S3Op, key: string, now: number): number {
    return this.limiter(op, key).availableAt(1, now);
  }

  get stats(): S3Stats {
    return { ...this.counts };
  }

  private limiter(op: S3Op, key: string): TokenBucket {
    const read = op === 'GET' || op === 'HEAD';
    const id = `${read ? 'r' : 'w'}:${this.prefixOf(key)}`;
    let limiter = this.limiters.get(id);
    if (limiter === undefined) {
      const rate = read
        ? (this.options.readsPerSecond ?? S3_READS_PER_SECOND)
        : (this.options.writesPerSecond ?? S3_WRITES_PER_SECOND);
      const burst = rate * (this.options.burstSeconds ?? S3_BURST_SECONDS);
      limiter = new TokenBucket(rate, burst, this.options.start ?? 0);
      this.limiters.set(id, limiter);
    }
    return limiter;
  }
}
