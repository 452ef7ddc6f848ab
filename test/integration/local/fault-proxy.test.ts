import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isThrottlingError } from '@smithy/core/retry';
import { ensureTable, type RunningService, startDynamoDb, startS3 } from '../../../local/emulators';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy';

/**
 * The fault proxy against the real emulators, seen by plain SDK clients that do not retry
 * (maxAttempts 1): each fault must look to the SDK as the real service's would.
 */
const common = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  maxAttempts: 1,
};
const TABLE = 'faults';
// Under jest the SDK re-wraps Node's errors (another realm) and keeps only their text.
const RESET = /socket hang up|ECONNRESET/;
const REFUSED = /ECONNREFUSED/;
/** Lets a client notice that the proxy closed its keep-alive connection. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
const BUCKET = 'faults';

describe('fault proxy', () => {
  let dynalite: RunningService;
  let s3rver: RunningService;
  let dir: string;
  const proxies: FaultProxy[] = [];
  const clients: { destroy(): void }[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kasync-fault-proxy-'));
    [dynalite, s3rver] = await Promise.all([startDynamoDb(undefined), startS3(dir, BUCKET)]);
    const direct = new DynamoDBClient({ ...common, endpoint: dynalite.endpoint });
    await ensureTable(direct, TABLE);
    direct.destroy();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    for (const proxy of proxies.splice(0)) await proxy.stop();
  });
  afterAll(async () => {
    await Promise.all([dynalite?.stop(), s3rver?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  const dynamoVia = async (seed = 1) => {
    const proxy = await startFaultProxy({ service: 'dynamodb', target: dynalite.endpoint, seed });
    proxies.push(proxy);
    const client = new DynamoDBClient({ ...common, endpoint: proxy.endpoint });
    clients.push(client);
    return { proxy, client };
  };
  const s3Via = async () => {
    const proxy = await startFaultProxy({ service: 's3', target: s3rver.endpoint });
    proxies.push(proxy);
    const client = new S3Client({
      ...common,
      endpoint: proxy.endpoint,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    clients.push(client);
    return { proxy, client };
  };
  const put = (id: string) =>
    new PutItemCommand({ TableName: TABLE, Item: { pk: { S: id }, sk: { S: 'x' }, n: { N: '1' } } });
  const get = (id: string) =>
    new GetItemCommand({ TableName: TABLE, Key: { pk: { S: id }, sk: { S: 'x' } }, ConsistentRead: true });

  it('forwards untouched when no fault is switched on', async () => {
    const { proxy, client } = await dynamoVia();
    await client.send(put('plain'));
    expect((await client.send(get('plain'))).Item?.n).toEqual({ N: '1' });
    expect(proxy.counters).toMatchObject({ requests: 2, forwarded: 2, throttled: 0, dropped: 0 });
  });

  it("throttles with DynamoDB's own error, which the SDK classifies as throttling", async () => {
    const { proxy, client } = await dynamoVia();
    proxy.set({ throttle: 1 });
    const error = await client.send(put('throttled')).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'ProvisionedThroughputExceededException',
      $metadata: { httpStatusCode: 400 },
    });
    expect(isThrottlingError(error as Parameters<typeof isThrottlingError>[0])).toBe(true);
    proxy.set({});
    expect((await client.send(get('throttled'))).Item).toBeUndefined();
    expect(proxy.counters).toMatchObject({ throttled: 1, forwarded: 1 });
    expect(proxy.counters.byOperation).toEqual({ 'throttled PutItem': 1 });
  });

  it('throttles S3 with 503 SlowDown (and a HEAD with a bare 503)', async () => {
    const { proxy, client } = await s3Via();
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'hello' }));
    proxy.set({ throttle: 1 });
    const error = await client
      .send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
    expect(isThrottlingError(error as Parameters<typeof isThrottlingError>[0])).toBe(true);
    await expect(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'k' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 503 },
    });
    proxy.set({});
    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' }));
    expect(await object.Body?.transformToString()).toBe('hello');
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'k' }));
    expect(head.ContentLength).toBe(5);
    expect(proxy.counters.throttled).toBe(2);
  });

  it('drops a response after the target applied the request', async () => {
    const { proxy, client } = await dynamoVia();
    proxy.set({ drop: 1 });
    await expect(client.send(put('dropped'))).rejects.toThrow(RESET);
    proxy.set({});
    expect((await client.send(get('dropped'))).Item?.n).toEqual({ N: '1' });
    expect(proxy.counters).toMatchObject({ dropped: 1, forwarded: 2 });
  });

  it('applies faults only to the requests a filter picks', async () => {
    const { proxy, client } = await dynamoVia();
    proxy.set({ throttle: 1, filter: (request) => request.operation === 'GetItem' });
    await client.send(put('filtered'));
    await expect(client.send(get('filtered'))).rejects.toMatchObject({
      name: 'ProvisionedThroughputExceededException',
    });
  });

  it('delays requests', async () => {
    const { proxy, client } = await dynamoVia();
    proxy.set({ delayMs: 300 });
    const started = Date.now();
    await client.send(get('delayed'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(proxy.counters.delayed).toBe(1);
  });

  it('goes down (refused or reset connections) and comes back on the same endpoint', async () => {
    const { proxy, client } = await dynamoVia();
    await client.send(put('down'));
    await proxy.down('refuse');
    await settle();
    await expect(client.send(get('down'))).rejects.toThrow(REFUSED);
    await proxy.up();
    expect((await client.send(get('down'))).Item).toBeDefined();
    await proxy.down('reset');
    await settle();
    await expect(client.send(get('down'))).rejects.toThrow(RESET);
    await proxy.up();
    expect((await client.send(get('down'))).Item).toBeDefined();
    expect(proxy.counters.downs).toBe(2);
    expect(proxy.counters.connectionsKilled).toBeGreaterThanOrEqual(2);
  });

  it('draws its faults from the seed: the same requests get the same faults', async () => {
    const pattern = async (seed: number) => {
      const { proxy, client } = await dynamoVia(seed);
      proxy.set({ throttle: 0.5 });
      const outcomes: boolean[] = [];
      for (let i = 0; i < 40; i++)
        outcomes.push(
          await client.send(get(`seed${i}`)).then(
            () => true,
            () => false,
          ),
        );
      return outcomes;
    };
    const first = await pattern(7);
    expect(await pattern(7)).toEqual(first);
    expect(await pattern(8)).not.toEqual(first);
    const throttled = first.filter((ok) => !ok).length;
    expect(throttled).toBeGreaterThan(8);
    expect(throttled).toBeLessThan(32);
  });

  it('stops cleanly, keep-alive connections included, and twice', async () => {
    const { proxy, client } = await dynamoVia();
    await client.send(get('stop'));
    await proxy.stop();
    await settle();
    await expect(client.send(get('stop'))).rejects.toThrow(REFUSED);
  });
});
