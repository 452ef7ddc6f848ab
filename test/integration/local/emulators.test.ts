import { randomBytes } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ListTablesCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type LocalStack, startLocalStack } from '../../../local/stack';
import { clientConfig } from './helpers';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack();
});

afterAll(() => stack?.stop());

test('env carries the standard AWS variables that point an SDK client at the stack', () => {
  expect(stack.env).toMatchObject({
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: expect.any(String),
    AWS_SECRET_ACCESS_KEY: expect.any(String),
    AWS_ENDPOINT_URL_DYNAMODB: stack.endpoints.dynamodb,
    AWS_ENDPOINT_URL_S3: stack.endpoints.s3,
    AWS_ENDPOINT_URL_LAMBDA: stack.endpoints.lambda,
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    KASYNC_BUCKET: 'kasync-local',
    KASYNC_TABLE: 'kasync-local',
  });
  for (const endpoint of Object.values(stack.endpoints))
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});

test('a DynamoDB conditional update succeeds on the expected version and fails on a stale one', async () => {
  const dynamodb = new DynamoDBClient(clientConfig(stack, 'dynamodb'));
  const Key = { pk: { S: 'JOB#conditional' }, sk: { S: 'STATE' } };
  await dynamodb.send(
    new PutItemCommand({
      TableName: stack.table,
      Item: { ...Key, version: { N: '0' }, arrivals: { N: '0' } },
    }),
  );
  const arrive = (expectedVersion: number) =>
    dynamodb.send(
      new UpdateItemCommand({
        TableName: stack.table,
        Key,
        UpdateExpression:
          'SET version = :next, pending = list_append(if_not_exists(pending, :none), :g) ADD arrivals :one',
        ConditionExpression: 'version = :expected',
        ExpressionAttributeValues: {
          ':expected': { N: String(expectedVersion) },
          ':next': { N: String(expectedVersion + 1) },
          ':none': { L: [] },
          ':g': { L: [{ M: { v: { N: String(expectedVersion) } } }] },
          ':one': { N: '1' },
        },
        ReturnValues: 'ALL_NEW',
      }),
    );

  const { Attributes } = await arrive(0);
  expect(Attributes).toMatchObject({
    version: { N: '1' },
    arrivals: { N: '1' },
    pending: { L: [{ M: { v: { N: '0' } } }] },
  });
  await expect(arrive(0)).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  dynamodb.destroy();
});

test('a 400 KB binary S3 object round-trips bit for bit', async () => {
  const s3 = new S3Client({ ...clientConfig(stack, 's3'), forcePathStyle: true });
  const body = randomBytes(400 * 1024);
  await s3.send(
    new PutObjectCommand({ Bucket: stack.bucket, Key: 'jobs/j/weights/0000000000.f32', Body: body }),
  );
  const object = await s3.send(
    new GetObjectCommand({ Bucket: stack.bucket, Key: 'jobs/j/weights/0000000000.f32' }),
  );
  const returned = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
  expect(returned.equals(body)).toBe(true);
  s3.destroy();
});

test('clients configured from env alone reach the stack', async () => {
  const saved = { ...process.env };
  Object.assign(process.env, stack.env);
  try {
    const dynamodb = new DynamoDBClient({});
    const s3 = new S3Client({});
    expect((await dynamodb.send(new ListTablesCommand({}))).TableNames).toContain(stack.table);
    const body = randomBytes(1000);
    await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: 'env-only', Body: body }));
    const object = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: 'env-only' }));
    const returned = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    expect(returned.equals(body)).toBe(true);
    dynamodb.destroy();
    s3.destroy();
  } finally {
    process.env = saved;
  }
});
