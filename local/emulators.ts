import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { closeServer, listenOnLoopback } from './net';

export interface RunningService {
  endpoint: string;
  stop(): Promise<void>;
}

/** dynalite, on disk under `path` when given (LevelDB), in memory otherwise. */
export async function startDynamoDb(path: string | undefined): Promise<RunningService> {
  // Tables become ACTIVE at once: nothing is gained locally by dynalite's default 500 ms.
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await listenOnLoopback(server);
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => closeServer(server) };
}

/** s3rver storing objects under `directory`, with `bucket` created if missing. */
export async function startS3(directory: string, bucket: string): Promise<RunningService> {
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await s3rver.run();
  const server = s3rver.httpServer;
  if (server === undefined) throw new Error('s3rver started without an HTTP server');
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => closeServer(server) };
}

/** Creates the single-table layout (`pk`/`sk` strings, on-demand) unless it exists, and waits until it is ACTIVE. */
export async function ensureTable(client: DynamoDBClient, table: string): Promise<void> {
  const status = await tableStatus(client, table);
  if (status === undefined) {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  }
  while ((await tableStatus(client, table)) !== 'ACTIVE') {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function tableStatus(client: DynamoDBClient, table: string): Promise<string | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    return Table?.TableStatus;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}
