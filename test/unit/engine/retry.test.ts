import { Readable } from 'node:stream';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { HttpResponse } from '@smithy/core/protocols';
import { StandardRetryStrategy } from '@smithy/core/retry';
import type { RetryErrorInfo } from '@smithy/types';
import {
  BudgetRetryStrategy,
  createClients,
  RETRY_BUDGET_MS,
  RETRY_POLICY,
  type RetryPolicy,
  retryDecision,
  UNREACHABLE_BUDGET_MS,
} from '../../../engine/aws';
import { StoreUnreachableError } from '../../../engine/errors';
import { storeCall } from '../../../engine/store/translate';
import { UsageMeter } from '../../../engine/usage';

/**
 * Which failures the SDK clients retry, and for how long. The real SDK clients and their retry
 * middleware run; only the HTTP handler is replaced by a script of answers, one per attempt.
 */

type Answer = { status: number; headers?: Record<string, string>; body?: string } | { error: Error };

const ddbError = (name: string, status = 400): Answer => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.0' },
  body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${name}`, message: name }),
});
const ddbOk = (body: object = {}): Answer => ({
  status: 200,
  headers: { 'content-type': 'application/x-amz-json-1.0' },
  body: JSON.stringify(body),
});
const s3Error = (code: string, status: number): Answer => ({
  status,
  headers: { 'content-type': 'application/xml' },
  body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message><RequestId>r</RequestId><HostId>h</HostId></Error>`,
});
type SdkError = NonNullable<RetryErrorInfo['error']>;
/** An error as the SDK hands it to a retry strategy. */
const sdkError = (name: string, message = name, props: object = {}) =>
  Object.assign(new Error(message), { name, ...props }) as SdkError;
/** What node-http-handler rejects with when a socket closes before the response. */
const socketError = (code: string) =>
  sdkError(
    code === 'ECONNREFUSED' ? 'Error' : 'TimeoutError',
    code === 'ECONNRESET' ? 'socket hang up' : `connect ${code} 127.0.0.1:1`,
    { code },
  );

/** An HTTP handler answering from a script; the last answer repeats. */
function scripted(answers: Answer[]) {
  let attempts = 0;
  return {
    get attempts() {
      return attempts;
    },
    handle: async () => {
      const answer = answers[Math.min(attempts, answers.length - 1)];
      attempts++;
      if ('error' in answer) throw answer.error;
      return {
        response: new HttpResponse({
          statusCode: answer.status,
          headers: { 'x-amzn-requestid': 'r', ...answer.headers },
          body: Readable.from([Buffer.from(answer.body ?? '')]),
        }),
      };
    },
    updateHttpClientConfig: () => {},
    httpHandlerConfigs: () => ({}),
  };
}

/** Small budgets and short waits, so that a test spends milliseconds where learners spend seconds. */
const FAST: RetryPolicy = {
  budgetMs: 400,
  unreachableBudgetMs: 100,
  baseMs: 1,
  throttlingBaseMs: 2,
  maxDelayMs: 20,
  maxAttempts: 1000,
};
const common = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } };

function dynamo(answers: Answer[], policy = FAST, usage?: UsageMeter) {
  const handler = scripted(answers);
  const client = new DynamoDBClient({
    ...common,
    endpoint: 'http://127.0.0.1:1',
    requestHandler: handler,
    retryStrategy: new BudgetRetryStrategy(policy),
    maxAttempts: policy.maxAttempts,
  });
  usage?.attachDynamo(client);
  return { client, handler };
}

function s3(answers: Answer[], policy = FAST, usage?: UsageMeter) {
  const handler = scripted(answers);
  const client = new S3Client({
    ...common,
    endpoint: 'http://127.0.0.1:1',
    forcePathStyle: true,
    requestHandler: handler,
    retryStrategy: new BudgetRetryStrategy(policy),
    maxAttempts: policy.maxAttempts,
  });
  usage?.attachS3(client);
  return { client, handler };
}

const getItem = new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } });
const conditionalUpdate = new UpdateItemCommand({
  TableName: 't',
  Key: { pk: { S: 'a' } },
  UpdateExpression: 'SET v = :v',
  ConditionExpression: 'v < :v',
  ExpressionAttributeValues: { ':v': { N: '1' } },
});

describe('retries of DynamoDB requests', () => {
  test.each(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded'])(
    '%s is retried until it passes',
    async (name) => {
      const { client, handler } = dynamo([
        ddbError(name),
        ddbError(name),
        ddbError(name),
        ddbOk({ Item: {} }),
      ]);
      const output = await client.send(getItem);
      expect(handler.attempts).toBe(4);
      expect(output.$metadata.attempts).toBe(4);
    },
  );

  test.each([
    ['500 InternalServerError', ddbError('InternalServerError', 500)],
    ['503 ServiceUnavailable', ddbError('ServiceUnavailable', 503)],
    ['a reset connection (a response lost after the request was sent)', { error: socketError('ECONNRESET') }],
    [
      'a request timeout',
      { error: Object.assign(new Error('timed out'), { name: 'TimeoutError', code: 'ETIMEDOUT' }) },
    ],
    ['a refused connection', { error: socketError('ECONNREFUSED') }],
  ])('%s is retried', async (_, failure) => {
    const { client, handler } = dynamo([failure, failure, ddbOk({ Item: {} })]);
    await client.send(getItem);
    expect(handler.attempts).toBe(3);
  });

  test.each([
    'ConditionalCheckFailedException',
    'TransactionCanceledException',
    'ValidationException',
    'ResourceNotFoundException',
  ])('%s is an answer: never retried', async (name) => {
    const { client, handler } = dynamo([ddbError(name), ddbOk()]);
    await expect(client.send(conditionalUpdate)).rejects.toMatchObject({ name });
    expect(handler.attempts).toBe(1);
  });

  test('a condition that fails on the retry of a lost write surfaces as the failed condition, once', async () => {
    // The first attempt was applied but its answer lost; the retry finds its own write.
    const { client, handler } = dynamo([
      { error: socketError('ECONNRESET') },
      ddbError('ConditionalCheckFailedException'),
      ddbOk(),
    ]);
    await expect(client.send(conditionalUpdate)).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
    expect(handler.attempts).toBe(2);
  });

  test('throttling beyond the SDK retry quota still ends in success (the standard strategy gives up)', async () => {
    // 150 throttled attempts in a row: the standard strategy's 500-token quota pays for 100 (5 each).
    const answers = [...Array(150).fill(ddbError('ProvisionedThroughputExceededException')), ddbOk()];
    const policy = { ...FAST, throttlingBaseMs: 0, budgetMs: 10_000 };
    const ours = dynamo(answers, policy);
    await ours.client.send(getItem);
    expect(ours.handler.attempts).toBe(151);

    const handler = scripted(answers);
    const standard = new DynamoDBClient({
      ...common,
      endpoint: 'http://127.0.0.1:1',
      requestHandler: handler,
      retryStrategy: new StandardRetryStrategy({ maxAttempts: 1000, backoff: zeroBackoff }),
    });
    await expect(standard.send(getItem)).rejects.toMatchObject({
      name: 'ProvisionedThroughputExceededException',
    });
    expect(handler.attempts).toBeLessThan(150);
  });

  test('throttling that never ends is retried for the budget, then surfaces', async () => {
    const { client, handler } = dynamo([ddbError('ThrottlingException')]);
    const started = Date.now();
    await expect(client.send(getItem)).rejects.toMatchObject({ name: 'ThrottlingException' });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(FAST.budgetMs - 5);
    expect(elapsed).toBeLessThan(FAST.budgetMs + 300);
    expect(handler.attempts).toBeGreaterThan(10);
  });

  test('a store that refuses every connection is retried for the shorter budget, then reported unreachable', async () => {
    const { client, handler } = dynamo([{ error: socketError('ECONNREFUSED') }]);
    const started = Date.now();
    const call = storeCall('DynamoDB', 'http://127.0.0.1:1', 'job x', () => client.send(getItem));
    await expect(call).rejects.toBeInstanceOf(StoreUnreachableError);
    await expect(call).rejects.toThrow('DynamoDB is unreachable at http://127.0.0.1:1');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(FAST.unreachableBudgetMs - 5);
    expect(elapsed).toBeLessThan(FAST.budgetMs);
    expect(handler.attempts).toBeGreaterThan(2);
  });

  test('a store that stays unreachable, after it was throttling, gets the shorter budget', async () => {
    const { client, handler } = dynamo([
      ddbError('ThrottlingException'),
      ddbError('ThrottlingException'),
      { error: socketError('ECONNREFUSED') },
    ]);
    const started = Date.now();
    await expect(client.send(getItem)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(Date.now() - started).toBeLessThan(FAST.budgetMs);
    expect(handler.attempts).toBeGreaterThan(3);
  });
});

const zeroBackoff = { computeNextBackoffDelay: () => 0, setDelayBase: () => {} };

describe('retries of S3 requests', () => {
  test('503 SlowDown is retried', async () => {
    const { client, handler } = s3([
      s3Error('SlowDown', 503),
      s3Error('SlowDown', 503),
      { status: 200, body: 'x' },
    ]);
    const output = await client.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' }));
    expect(await output.Body?.transformToString()).toBe('x');
    expect(handler.attempts).toBe(3);
  });

  test('a 503 to a HEAD (no body to name the error) is retried', async () => {
    const { client, handler } = s3([{ status: 503 }, { status: 200 }]);
    await client.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }));
    expect(handler.attempts).toBe(2);
  });

  test('NoSuchKey and AccessDenied are answers', async () => {
    for (const [code, status] of [
      ['NoSuchKey', 404],
      ['AccessDenied', 403],
    ] as const) {
      const { client, handler } = s3([s3Error(code, status), { status: 200 }]);
      await expect(client.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' }))).rejects.toMatchObject({
        name: code,
      });
      expect(handler.attempts).toBe(1);
    }
  });
});

describe('the backoff', () => {
  const info = { errorType: 'THROTTLING' as const, error: sdkError('ThrottlingException', 't') };

  test('exponential with full jitter: retry i waits random * min(cap, base * 2^i)', async () => {
    const policy = RETRY_POLICY;
    for (const random of [0, 0.5, 0.999999]) {
      const strategy = new BudgetRetryStrategy(policy, () => random);
      let token = await strategy.acquireInitialRetryToken();
      const delays: number[] = [];
      for (let i = 0; i < 8; i++) {
        token = await strategy.refreshRetryTokenForRetry(token, info);
        delays.push(token.getRetryDelay());
      }
      const ceilings = [250, 500, 1000, 2000, 4000, 5000, 5000, 5000];
      expect(delays).toEqual(ceilings.map((c) => Math.floor(random * c)));
    }
    const transient = new BudgetRetryStrategy(policy, () => 0.999999);
    const first = await transient.refreshRetryTokenForRetry(await transient.acquireInitialRetryToken(), {
      errorType: 'TRANSIENT',
      error: socketError('ECONNRESET'),
    });
    expect(first.getRetryDelay()).toBe(49);
  });

  test('no retry starts after the budget, and the last wait ends at it', async () => {
    let now = 1_000;
    const strategy = new BudgetRetryStrategy(
      RETRY_POLICY,
      () => 0.999999,
      () => now,
    );
    let token = await strategy.acquireInitialRetryToken();
    now += RETRY_BUDGET_MS - 100;
    token = await strategy.refreshRetryTokenForRetry(token, info);
    expect(token.getRetryDelay()).toBe(100);
    now += 100;
    await expect(strategy.refreshRetryTokenForRetry(token, info)).rejects.toThrow('t');
  });

  test('a Retry-After hint is honoured, within the cap', async () => {
    const strategy = new BudgetRetryStrategy(
      RETRY_POLICY,
      () => 0,
      () => 0,
    );
    const token = await strategy.refreshRetryTokenForRetry(await strategy.acquireInitialRetryToken(), {
      ...info,
      retryAfterHint: new Date(3_000),
    });
    expect(token.getRetryDelay()).toBe(3_000);
  });
});

describe('retryDecision', () => {
  test.each([
    ['THROTTLING', 'ProvisionedThroughputExceededException', 'retry'],
    ['TRANSIENT', 'TimeoutError', 'retry'],
    ['SERVER_ERROR', 'InternalFailure', 'retry'],
    ['CLIENT_ERROR', 'ValidationException', 'fail'],
    // Even if something classified it as retryable, a failed condition is an answer.
    ['TRANSIENT', 'ConditionalCheckFailedException', 'fail'],
    ['THROTTLING', 'ConditionalCheckFailedException', 'fail'],
  ] as const)('%s %s: %s', (errorType, name, decision) => {
    expect(retryDecision({ errorType, error: sdkError(name) })).toBe(decision);
  });

  test('connections that never opened are told apart from lost responses', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN'])
      expect(retryDecision({ errorType: 'TRANSIENT', error: socketError(code) })).toBe('retry-unreachable');
    const connectTimeout = sdkError(
      'TimeoutError',
      '@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 3000 ms.',
    );
    expect(retryDecision({ errorType: 'TRANSIENT', error: connectTimeout })).toBe('retry-unreachable');
    for (const code of ['ECONNRESET', 'EPIPE', 'ETIMEDOUT'])
      expect(retryDecision({ errorType: 'TRANSIENT', error: socketError(code) })).toBe('retry');
  });
});

describe('the usage meter counts what each attempt was billed', () => {
  test('throttled attempts consume nothing; the one that passed its units', async () => {
    const usage = new UsageMeter();
    const { client } = dynamo(
      [
        ddbError('ProvisionedThroughputExceededException'),
        ddbError('ProvisionedThroughputExceededException'),
        ddbOk({ ConsumedCapacity: { TableName: 't', CapacityUnits: 2 } }),
      ],
      FAST,
      usage,
    );
    await client.send(conditionalUpdate);
    expect(usage.takeDelta()).toMatchObject({ ddbWriteUnits: 2, ddbReadUnits: 0 });
  });

  test('a write whose response was lost was billed, and so is the refused retry', async () => {
    const usage = new UsageMeter();
    const { client } = dynamo(
      [{ error: socketError('ECONNRESET') }, ddbError('ConditionalCheckFailedException')],
      FAST,
      usage,
    );
    await expect(client.send(conditionalUpdate)).rejects.toThrow();
    expect(usage.takeDelta()).toMatchObject({ ddbWriteUnits: 2 });
  });

  test('the capacity is asked for on every attempt', async () => {
    const usage = new UsageMeter();
    const bodies: string[] = [];
    const handler = scripted([
      ddbError('ThrottlingException'),
      ddbOk({ ConsumedCapacity: { CapacityUnits: 1 } }),
    ]);
    const client = new DynamoDBClient({
      ...common,
      endpoint: 'http://127.0.0.1:1',
      requestHandler: {
        ...handler,
        handle: async ({ body }: { body: Uint8Array }) => {
          bodies.push(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString());
          return handler.handle();
        },
      },
      retryStrategy: new BudgetRetryStrategy(FAST),
    });
    usage.attachDynamo(client);
    await client.send(getItem);
    expect(bodies).toHaveLength(2);
    for (const body of bodies) expect(JSON.parse(body)).toMatchObject({ ReturnConsumedCapacity: 'TOTAL' });
    expect(usage.takeDelta()).toMatchObject({ ddbReadUnits: 1 });
  });

  test('S3: throttled attempts are not counted, lost and answered ones are', async () => {
    const usage = new UsageMeter();
    const { client } = s3(
      [s3Error('SlowDown', 503), { error: socketError('ECONNRESET') }, { status: 200 }],
      FAST,
      usage,
    );
    await client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: new Uint8Array(10) }));
    expect(usage.takeDelta()).toMatchObject({ s3Puts: 2, s3BytesPut: 20 });
  });
});

describe('createClients', () => {
  test('every client retries with the budget strategy', async () => {
    const clients = createClients({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:1' });
    for (const client of [clients.dynamo, clients.s3, clients.lambda]) {
      const strategy = await client.config.retryStrategy();
      expect(strategy).toBeInstanceOf(BudgetRetryStrategy);
      expect((strategy as BudgetRetryStrategy).policy).toBe(RETRY_POLICY);
      expect(await client.config.maxAttempts()).toBe(RETRY_POLICY.maxAttempts);
    }
    expect(RETRY_POLICY).toMatchObject({
      budgetMs: RETRY_BUDGET_MS,
      unreachableBudgetMs: UNREACHABLE_BUDGET_MS,
    });
  });
});
