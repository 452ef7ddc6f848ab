import { TokenBucket } from './token-bucket';

/**
 * Per-partition throughput of an on-demand table. "Each partition on the table can serve up to
 * 3,000 read request units or 1,000 write request units, or a linear combination of both" (AWS
 * knowledge center, on-demand table throttling; the warm-throughput page of the Developer Guide
 * says the same: "each individual partition is limited to 1,000 write units per second and 3,000
 * read units per second"). Provisioned tables have the same per-partition maximum.
 */
export const PARTITION_WRITE_UNITS_PER_SECOND = 1000;
export const PARTITION_READ_UNITS_PER_SECOND = 3000;

/**
 * The burst a partition may absorb above its rate, in seconds of its rate. AWS documents no burst
 * at the partition level (the 300 s of burst capacity it documents is for a provisioned table's
 * own settings, still capped by the partition maximum). One second is the slack of a limit metered
 * per second: a one-second window that starts mid-second can see up to two seconds' worth. So a
 * key can take 2,000 WCU in its first second, and 1,000 a second after that.
 */
export const PARTITION_BURST_SECONDS = 1;

export interface DynamoTableOptions {
  readonly writeUnitsPerSecond?: number;
  readonly readUnitsPerSecond?: number;
  readonly burstSeconds?: number;
  /** Virtual time the table's buckets start at (full). Default 0. */
  readonly start?: number;
}

export interface DynamoRequest {
  /**
   * Which partition serves the request. Every key here is its own partition: adaptive capacity
   * moves hot keys onto partitions of their own ("isolates" them), but a single partition key can
   * never exceed the partition maximum. Pass the partition key to hold a whole item collection to
   * one partition (kasync's `JOB#{job}`: the job item, its commits and its learners share it, the
   * conservative reading), or partition key and sort key to let split-for-heat give each item its
   * own (the optimistic one).
   */
  readonly key: string;
  readonly readUnits?: number;
  readonly writeUnits?: number;
  /** A conditional write whose condition failed: it still consumes its units (see dynamoUnits). */
  readonly conditionFailed?: boolean;
}

export interface DynamoTableStats {
  readonly requests: number;
  /** Requests refused with ProvisionedThroughputExceededException / ThrottlingException. */
  readonly throttled: number;
  /** Admitted conditional writes whose condition failed. */
  readonly conditionFailed: number;
  /** Units consumed by admitted requests (throttled ones consume none). */
  readonly readUnits: number;
  readonly writeUnits: number;
}

/**
 * An on-demand table's per-partition throttling on a virtual clock. One token bucket per
 * partition, counted in read units: it refills at 3,000 a second, a read takes its read units and
 * a write three per write unit, which is exactly the documented linear combination (1,000 WCU/s of
 * writes alone, 3,000 RCU/s of reads alone, or any mix on the line between). Not modelled: the
 * table-level ramp of on-demand mode (a new table serves 4,000 WRU / 12,000 RRU at once and scales
 * towards double its previous peak within 30 minutes), GSIs, and the partition splits that
 * would let one item collection exceed a partition's rate.
 */
export class DynamoTable {
  private readonly partitions = new Map<string, TokenBucket>();
  private readonly readRate: number;
  private readonly writeCost: number;
  private readonly capacity: number;
  private readonly start: number;
  private counts = { requests: 0, throttled: 0, conditionFailed: 0, readUnits: 0, writeUnits: 0 };

  constructor(options: DynamoTableOptions = {}) {
    const writeRate = options.writeUnitsPerSecond ?? PARTITION_WRITE_UNITS_PER_SECOND;
    this.readRate = options.readUnitsPerSecond ?? PARTITION_READ_UNITS_PER_SECOND;
    this.writeCost = this.readRate / writeRate;
    this.capacity = this.readRate * (options.burstSeconds ?? PARTITION_BURST_SECONDS);
    this.start = options.start ?? 0;
  }

  /** Admits or throttles one request at virtual time `now` (seconds). */
  request(request: DynamoRequest, now: number): { readonly throttled: boolean } {
    const readUnits = request.readUnits ?? 0;
    const writeUnits = request.writeUnits ?? 0;
    this.counts.requests++;
    const admitted = this.bucket(request.key).tryTake(readUnits + writeUnits * this.writeCost, now);
    if (!admitted) {
      this.counts.throttled++;
      return { throttled: true };
    }
    this.counts.readUnits += readUnits;
    this.counts.writeUnits += writeUnits;
    if (request.conditionFailed) this.counts.conditionFailed++;
    return { throttled: false };
  }

  /** When a request like this one would next pass, if nothing else reached its partition. */
  availableAt(request: DynamoRequest, now: number): number {
    const cost = (request.readUnits ?? 0) + (request.writeUnits ?? 0) * this.writeCost;
    return this.bucket(request.key).availableAt(cost, now);
  }

  get stats(): DynamoTableStats {
    return { ...this.counts };
  }

  /** Partitions touched so far (one per distinct key). */
  get partitionCount(): number {
    return this.partitions.size;
  }

  private bucket(key: string): TokenBucket {
    let bucket = this.partitions.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.readRate, this.capacity, this.start);
      this.partitions.set(key, bucket);
    }
    return bucket;
  }
}
