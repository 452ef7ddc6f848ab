import { readFile } from 'node:fs/promises';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  InvalidRequestContentException,
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type LocalFunctionConfig, type LocalStack, startLocalStack } from '../../../local/stack';
import { clientConfig, fixture, isProcessAlive, waitFor } from './helpers';

const basic = fixture('basic-handlers.ts');
const storage = fixture('storage-handlers.ts');
const functions: LocalFunctionConfig[] = [
  {
    name: 'echo',
    entry: basic,
    handler: 'echo',
    timeoutSeconds: 5,
    maxConcurrency: 2,
    environment: { FIXTURE_SETTING: 'from-config' },
  },
  { name: 'warm', entry: basic, handler: 'echo', timeoutSeconds: 5, maxConcurrency: 1 },
  {
    name: 'short-lived',
    entry: basic,
    handler: 'echo',
    timeoutSeconds: 5,
    maxConcurrency: 1,
    idleTimeoutMs: 200,
  },
  { name: 'fail', entry: basic, handler: 'fail', timeoutSeconds: 5, maxConcurrency: 1 },
  { name: 'no-such-export', entry: basic, handler: 'missing', timeoutSeconds: 5, maxConcurrency: 1 },
  { name: 'sleep', entry: basic, handler: 'sleep', timeoutSeconds: 1, maxConcurrency: 1 },
  { name: 'write-object', entry: storage, handler: 'writeObject', timeoutSeconds: 5, maxConcurrency: 1 },
  {
    name: 'concurrency',
    entry: storage,
    handler: 'measureConcurrency',
    timeoutSeconds: 5,
    maxConcurrency: 2,
  },
  {
    name: 'flaky',
    entry: storage,
    handler: 'flaky',
    timeoutSeconds: 5,
    maxConcurrency: 2,
    maximumRetryAttempts: 2,
  },
];

let stack: LocalStack;
let lambda: LambdaClient;

beforeAll(async () => {
  stack = await startLocalStack({ functions });
  // One attempt: the SDK would otherwise retry throttling and hide the 429.
  lambda = new LambdaClient({ ...clientConfig(stack, 'lambda'), maxAttempts: 1 });
});

afterAll(async () => {
  lambda?.destroy();
  await stack?.stop();
});

const invoke = (name: string, event: unknown, type?: 'RequestResponse' | 'Event' | 'DryRun') =>
  lambda.send(
    new InvokeCommand({ FunctionName: name, Payload: JSON.stringify(event), InvocationType: type }),
  );

// biome-ignore lint/suspicious/noExplicitAny: test payloads are whatever the fixture returned
const payloadOf = (output: InvokeCommandOutput): any =>
  JSON.parse(Buffer.from(output.Payload ?? []).toString('utf8'));

const counter = async (pk: string) => {
  const dynamodb = new DynamoDBClient(clientConfig(stack, 'dynamodb'));
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: stack.table, Key: { pk: { S: pk }, sk: { S: 'COUNTER' } } }),
  );
  dynamodb.destroy();
  return Number(Item?.n?.N);
};

test('RequestResponse returns the handler value, with a Lambda context and environment', async () => {
  const output = await invoke('echo', { hello: 'world' });
  expect(output.StatusCode).toBe(200);
  expect(output.FunctionError).toBeUndefined();
  expect(output.ExecutedVersion).toBe('$LATEST');
  const payload = payloadOf(output);
  expect(payload).toMatchObject({
    event: { hello: 'world' },
    requestId: output.$metadata.requestId,
    functionName: 'echo',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:echo',
    env: {
      region: 'us-east-1',
      lambdaName: 'echo',
      s3Endpoint: stack.endpoints.s3,
      fromConfig: 'from-config',
    },
  });
  expect(payload.remainingMs).toBeGreaterThan(4000);
  expect(payload.remainingMs).toBeLessThanOrEqual(5000);
  expect(payload.pid).not.toBe(process.pid);
});

test('a handler error is reported as FunctionError Unhandled with its type and message', async () => {
  const output = await invoke('fail', { message: 'bad input' });
  expect(output.StatusCode).toBe(200);
  expect(output.FunctionError).toBe('Unhandled');
  const error = payloadOf(output);
  expect(error).toMatchObject({ errorType: 'TypeError', errorMessage: 'bad input' });
  // Stack traces point into the TypeScript source through the bundle's source map.
  expect(error.trace.join('\n')).toContain('basic-handlers.ts');
});

test('Invoke API errors map to the SDK exceptions', async () => {
  await expect(invoke('no-such-function', {})).rejects.toBeInstanceOf(ResourceNotFoundException);
  await expect(
    lambda.send(new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from('{not json') })),
  ).rejects.toBeInstanceOf(InvalidRequestContentException);
  expect((await invoke('echo', {}, 'DryRun')).StatusCode).toBe(204);

  const missing = await invoke('no-such-export', {});
  expect(missing.FunctionError).toBe('Unhandled');
  expect(payloadOf(missing)).toMatchObject({ errorType: 'Runtime.HandlerNotFound' });
});

test('an Event invocation is accepted with 202 and the handler then runs', async () => {
  const output = await invoke(
    'write-object',
    { key: 'events/proof.txt', body: 'written by an async invocation' },
    'Event',
  );
  expect(output.StatusCode).toBe(202);
  await stack.lambda.idle();
  const s3 = new S3Client({ ...clientConfig(stack, 's3'), forcePathStyle: true });
  const object = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: 'events/proof.txt' }));
  expect(await object.Body?.transformToString()).toBe('written by an async invocation');
  s3.destroy();
});

test('the first invocation is a cold start in a new process; the next reuses it warm', async () => {
  const first = payloadOf(await invoke('warm', {}));
  expect(stack.lambda.stats('warm')).toMatchObject({ coldStarts: 1, invocations: 1 });
  const second = payloadOf(await invoke('warm', {}));
  expect(second.pid).toBe(first.pid);
  expect([first.invocationsInThisProcess, second.invocationsInThisProcess]).toEqual([1, 2]);
  expect(stack.lambda.stats('warm')).toMatchObject({ coldStarts: 1, invocations: 2, errors: 0 });
  expect(stack.lambda.workers('warm')).toEqual([{ pid: first.pid, busy: false, invocations: 2 }]);
});

test('an idle worker is reclaimed after idleTimeoutMs, and the next invocation is cold', async () => {
  const first = payloadOf(await invoke('short-lived', {}));
  await waitFor(() => (isProcessAlive(first.pid) ? undefined : true));
  expect(stack.lambda.workers('short-lived')).toEqual([]);
  const second = payloadOf(await invoke('short-lived', {}));
  expect(second.pid).not.toBe(first.pid);
  expect(second.invocationsInThisProcess).toBe(1);
  expect(stack.lambda.stats('short-lived').coldStarts).toBe(2);
});

test('at most maxConcurrency invocations run at once; Events queue, RequestResponse is throttled', async () => {
  const run = `run-${Date.now()}`;
  for (let i = 0; i < 6; i++) {
    expect((await invoke('concurrency', { run, ms: 300 }, 'Event')).StatusCode).toBe(202);
  }
  expect(stack.lambda.stats('concurrency').queued).toBe(4);
  await expect(invoke('concurrency', { run, ms: 0 })).rejects.toBeInstanceOf(TooManyRequestsException);
  await stack.lambda.idle();

  expect(await counter(`${run}#peak`)).toBe(2);
  expect(await counter(`${run}#running`)).toBe(0);
  expect(stack.lambda.stats('concurrency')).toMatchObject({
    coldStarts: 2,
    invocations: 6,
    errors: 0,
    queued: 0,
  });
});

test('a handler running past its timeout is killed and reported as timed out', async () => {
  const running = invoke('sleep', { ms: 10_000 });
  const { pid } = await waitFor(() => stack.lambda.workers('sleep').find((worker) => worker.busy));
  const output = await running;
  expect(output.FunctionError).toBe('Unhandled');
  expect(payloadOf(output)).toMatchObject({
    errorType: 'Sandbox.Timedout',
    errorMessage: 'Task timed out after 1.00 seconds',
  });
  await waitFor(() => (isProcessAlive(pid) ? undefined : true));

  const next = await invoke('sleep', { ms: 1 });
  expect(next.FunctionError).toBeUndefined();
  expect(payloadOf(next).pid).not.toBe(pid);
});

test('a worker killed mid-invocation fails that invocation and the pool recovers', async () => {
  const errorsBefore = stack.lambda.stats('sleep').errors;
  const running = invoke('sleep', { ms: 800 });
  const { pid } = await waitFor(() => stack.lambda.workers('sleep').find((worker) => worker.busy));
  expect(stack.lambda.killWorker(pid)).toBe(true);
  const output = await running;
  expect(output.FunctionError).toBe('Unhandled');
  expect(payloadOf(output)).toMatchObject({ errorType: 'Runtime.ExitError' });
  expect(payloadOf(output).errorMessage).toContain('Runtime exited with error: signal: killed');
  expect(stack.lambda.stats('sleep').errors).toBe(errorsBefore + 1);

  const next = await invoke('sleep', { ms: 1 });
  expect(next.FunctionError).toBeUndefined();
  expect(payloadOf(next).pid).not.toBe(pid);
});

test('a failed Event invocation is retried up to maximumRetryAttempts', async () => {
  const run = `retry-${Date.now()}`;
  await invoke('flaky', { run: `${run}-recovers`, failures: 2 }, 'Event');
  await invoke('flaky', { run: `${run}-gives-up`, failures: 100 }, 'Event');
  await stack.lambda.idle();
  expect(await counter(`${run}-recovers#attempts`)).toBe(3);
  expect(await counter(`${run}-gives-up#attempts`)).toBe(3);
  expect(stack.lambda.stats('flaky')).toMatchObject({ invocations: 6, errors: 5, queued: 0 });
});

test('the convenience invoke takes the same path as HTTP', async () => {
  const result = await stack.lambda.invoke('echo', { via: 'invoke' });
  expect(result).toMatchObject({ statusCode: 200, payload: { event: { via: 'invoke' } } });
  const failed = await stack.lambda.invoke('fail', { message: 'nope' });
  expect(failed).toMatchObject({
    statusCode: 200,
    functionError: 'Unhandled',
    payload: { errorMessage: 'nope' },
  });
  expect(await stack.lambda.invoke('echo', {}, 'Event')).toMatchObject({ statusCode: 202 });
  await expect(stack.lambda.invoke('nobody', {})).rejects.toMatchObject({
    errorType: 'ResourceNotFoundException',
  });
  await stack.lambda.idle();
});

test("a function's output goes to its log file with Lambda's START/END/REPORT lines", async () => {
  const { $metadata } = await invoke('echo', { logged: true });
  const requestId = $metadata.requestId;
  // Output travels through a pipe and a file stream: it lands shortly after the response.
  const log = await waitFor(async () => {
    const text = await readFile(stack.lambda.logFile('echo'), 'utf8');
    return text.includes(`${requestId}\tINFO`) && text.includes(`REPORT RequestId: ${requestId}`)
      ? text
      : undefined;
  });
  expect(log).toContain(`START RequestId: ${requestId} Version: $LATEST`);
  expect(log).toMatch(new RegExp(`\\t${requestId}\\tINFO\\techo invocation \\d+`));
  expect(log).toMatch(/REPORT RequestId: .*Init Duration: [\d.]+ ms/);
});
