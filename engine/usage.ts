import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';

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
 * Counts what the SDK clients consume, from the clients themselves: DynamoDB requests ask for
 * `ReturnConsumedCapacity: TOTAL` and the units the service reports are added up (a refused
 * conditional write reports none but is billed: counted as one unit); S3 requests and bytes
 * are counted as they are sent. Learners flush the difference with their heartbeats.
 */
export class UsageMeter {
  private readonly totals: Mutable<Usage> = { ...NO_USAGE };
  private flushed: Usage = { ...NO_USAGE };

  attachDynamo(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? '';
        const isRead = DDB_READS.has(command);
        const isWrite = DDB_WRITES.has(command);
        if (isRead || isWrite)
          (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
        try {
          const result = await next(args);
          const units =
            (result.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity
              ?.CapacityUnits ?? 0;
          if (isRead) this.totals.ddbReadUnits += units;
          if (isWrite) this.totals.ddbWriteUnits += units;
          return result;
        } catch (error) {
          if (isWrite) this.totals.ddbWriteUnits += 1;
          throw error;
        }
      },
      { step: 'initialize', name: 'kasyncUsageMeter' },
    );
  }

  attachS3(client: S3Client): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName;
        if (command === 'PutObjectCommand') {
          this.totals.s3Puts += 1;
          const body = (args.input as { Body?: Uint8Array | string }).Body;
          this.totals.s3BytesPut +=
            typeof body === 'string' ? Buffer.byteLength(body) : (body?.byteLength ?? 0);
        } else if (command === 'GetObjectCommand' || command === 'HeadObjectCommand') {
          this.totals.s3Gets += 1;
        }
        return next(args);
      },
      { step: 'initialize', name: 'kasyncUsageMeter' },
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
