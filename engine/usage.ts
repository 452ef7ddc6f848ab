import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { isThrottlingError } from '@smithy/core/retry';
import { isUnreachableError } from './store/translate';

/** What a process consumed from the stores: the inputs of a job's cost estimate. */
export interface Usage {
  readonly ddbReadUnits: number;
  readonly ddbWriteUnits: number;
  readonly s3Puts: number;
  readonly s3Gets: number;
  readonly s3BytesPut: number;
}

export const NO_USAGE: Usage = { ddbReadUnits: 0, ddbWriteUnits: 0, s3Puts: 0, s3Gets: 0, s3BytesPut: 0 };

const DDB_READS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand']);
const DDB_WRITES = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
]);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Whether a failed attempt was billed: the store answered on the request's merits (a refused
 * condition, a validation error) or took it and the answer was lost on the way back. A throttled
 * request consumes no capacity, a 5xx is the store's failure, and a store that was never reached
 * did no work.
 */
function billedFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return false;
  return !isThrottlingError(error as Parameters<typeof isThrottlingError>[0]) && !isUnreachableError(error);
}

// Inside the SDK's retry middleware (finalizeRequest, high): sees every attempt, not every call.
const PER_ATTEMPT = { step: 'finalizeRequest', priority: 'low', name: 'kasyncUsageMeter' } as const;

/**
 * Counts what the SDK clients consume, from the clients themselves, per attempt (the clients
 * retry throttling and lost responses): DynamoDB requests ask for `ReturnConsumedCapacity:
 * TOTAL` and the units the service reports are added up; a write attempt that failed but was
 * billed (a refused condition, which reports no units, or a lost response) counts as one unit.
 * S3 requests and bytes are counted as they are sent, throttled attempts excepted. Learners
 * flush the difference with their heartbeats.
 */
export class UsageMeter {
  private readonly totals: Mutable<Usage> = { ...NO_USAGE };
  private flushed: Usage = { ...NO_USAGE };

  attachDynamo(client: DynamoDBClient): void {
    // Once per call, before the input is serialized.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? '';
        if (DDB_READS.has(command) || DDB_WRITES.has(command))
          (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
        return next(args);
      },
      { step: 'initialize', name: 'kasyncConsumedCapacity' },
    );
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? '';
        const isRead = DDB_READS.has(command);
        const isWrite = DDB_WRITES.has(command);
        try {
          const result = await next(args);
          const units =
            (result.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity
              ?.CapacityUnits ?? 0;
          if (isRead) this.totals.ddbReadUnits += units;
          if (isWrite) this.totals.ddbWriteUnits += units;
          return result;
        } catch (error) {
          if (isWrite && billedFailure(error)) this.totals.ddbWriteUnits += 1;
          throw error;
        }
      },
      PER_ATTEMPT,
    );
  }

  attachS3(client: S3Client): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName;
        const count = () => {
          if (command === 'PutObjectCommand') {
            this.totals.s3Puts += 1;
            const body = (args.input as { Body?: Uint8Array | string }).Body;
            this.totals.s3BytesPut +=
              typeof body === 'string' ? Buffer.byteLength(body) : (body?.byteLength ?? 0);
          } else if (command === 'GetObjectCommand' || command === 'HeadObjectCommand') {
            this.totals.s3Gets += 1;
          }
        };
        try {
          const result = await next(args);
          count();
          return result;
        } catch (error) {
          if (billedFailure(error)) count();
          throw error;
        }
      },
      PER_ATTEMPT,
    );
  }

  /** Usage since the previous call. */
  takeDelta(): Usage {
    const delta: Usage = {
      ddbReadUnits: this.totals.ddbReadUnits - this.flushed.ddbReadUnits,
      ddbWriteUnits: this.totals.ddbWriteUnits - this.flushed.ddbWriteUnits,
      s3Puts: this.totals.s3Puts - this.flushed.s3Puts,
      s3Gets: this.totals.s3Gets - this.flushed.s3Gets,
      s3BytesPut: this.totals.s3BytesPut - this.flushed.s3BytesPut,
    };
    this.flushed = { ...this.totals };
    return delta;
  }
}
