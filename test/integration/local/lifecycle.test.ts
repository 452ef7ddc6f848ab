import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DataDirInUseError, type LocalStack, startLocalStack } from '../../../local/stack';
import { acceptsConnections, clientConfig, fixture, isProcessAlive, waitFor } from './helpers';

test('stop() leaves no child process, no listening port and no temp dir', async () => {
  const stack = await startLocalStack({
    functions: [
      {
        name: 'echo',
        entry: fixture('basic-handlers.ts'),
        handler: 'echo',
        timeoutSeconds: 5,
        maxConcurrency: 2,
      },
      {
        name: 'sleep',
        entry: fixture('basic-handlers.ts'),
        handler: 'sleep',
        timeoutSeconds: 30,
        maxConcurrency: 1,
      },
    ],
  });
  await Promise.all([stack.lambda.invoke('echo', {}), stack.lambda.invoke('echo', {})]);
  const inFlight = stack.lambda.invoke('sleep', { ms: 20_000 });
  await waitFor(() => stack.lambda.workers('sleep').find((worker) => worker.busy));
  const pids = [...stack.lambda.workers('echo'), ...stack.lambda.workers('sleep')].map(
    (worker) => worker.pid,
  );
  expect(pids).toHaveLength(3);
  for (const endpoint of Object.values(stack.endpoints))
    expect(await acceptsConnections(endpoint)).toBe(true);

  const stopStarted = performance.now();
  await stack.stop();
  expect(performance.now() - stopStarted).toBeLessThan(2_000);

  // An invocation cut short by stop() is answered, not left hanging.
  expect(await inFlight).toMatchObject({
    functionError: 'Unhandled',
    payload: { errorType: 'Runtime.ExitError' },
  });
  for (const pid of pids) expect(isProcessAlive(pid)).toBe(false);
  for (const endpoint of Object.values(stack.endpoints))
    expect(await acceptsConnections(endpoint)).toBe(false);
  expect(existsSync(stack.workDir)).toBe(false);
  await stack.stop();
});

describe('a dataDir', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'kasync-resume-test-'));
  });

  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  const clients = (stack: LocalStack) => ({
    dynamodb: new DynamoDBClient(clientConfig(stack, 'dynamodb')),
    s3: new S3Client({ ...clientConfig(stack, 's3'), forcePathStyle: true }),
  });

  test('keeps table items and objects across a stop and a restart', async () => {
    const Key = { pk: { S: 'JOB#resume' }, sk: { S: 'STATE' } };
    const weights = Buffer.from(new Float32Array([1.5, -2.25, 3]).buffer);

    const first = await startLocalStack({ dataDir });
    const before = clients(first);
    await before.dynamodb.send(
      new PutItemCommand({ TableName: first.table, Item: { ...Key, version: { N: '41' } } }),
    );
    await before.s3.send(
      new PutObjectCommand({ Bucket: first.bucket, Key: 'jobs/resume/weights/41.f32', Body: weights }),
    );
    before.dynamodb.destroy();
    before.s3.destroy();
    await first.stop();
    expect(existsSync(dataDir)).toBe(true);

    const second = await startLocalStack({ dataDir });
    const after = clients(second);
    try {
      const { Item } = await after.dynamodb.send(
        new GetItemCommand({ TableName: second.table, Key, ConsistentRead: true }),
      );
      expect(Item?.version).toEqual({ N: '41' });
      const object = await after.s3.send(
        new GetObjectCommand({ Bucket: second.bucket, Key: 'jobs/resume/weights/41.f32' }),
      );
      expect(Buffer.from((await object.Body?.transformToByteArray()) ?? []).equals(weights)).toBe(true);
    } finally {
      after.dynamodb.destroy();
      after.s3.destroy();
      await second.stop();
    }
  });

  test('is refused to a second stack while one runs on it', async () => {
    const running = await startLocalStack({ dataDir });
    try {
      await expect(startLocalStack({ dataDir })).rejects.toBeInstanceOf(DataDirInUseError);
    } finally {
      await running.stop();
    }
  });
});

test('workers die with the process that started the stack, even when it is SIGKILLed', async () => {
  const owner = spawn(
    process.execPath,
    ['--require', require.resolve('tsx/cjs'), fixture('stack-process.ts')],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [line] = (await once(createInterface({ input: owner.stdout }), 'line')) as [string];
  const { pids, workDir } = JSON.parse(line) as { pids: number[]; workDir: string };
  expect(pids).toHaveLength(2);
  for (const pid of pids) expect(isProcessAlive(pid)).toBe(true);

  owner.kill('SIGKILL');
  await waitFor(() => (pids.some(isProcessAlive) ? undefined : true));
  // stop() never ran: the temp dir is left behind and is this test's to remove.
  await rm(workDir, { recursive: true, force: true });
});
