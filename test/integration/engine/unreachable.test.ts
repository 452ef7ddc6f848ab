import { createServer, type Server } from 'node:net';
import { createClients } from '../../../engine/aws';
import { StoreUnreachableError } from '../../../engine/errors';
import { createStores } from '../../../engine/store';
import { type LocalStack, startLocalStack } from '../../../local/stack';

/** A store that does not answer must fail a learner fast, naming the endpoint; never hang it. */
describe('unreachable stores', () => {
  it('names the DynamoDB and S3 endpoints when nothing listens there', async () => {
    // Bind and close a port so that nothing listens on it.
    const port = await new Promise<number>((resolve) => {
      const server: Server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const endpoint = `http://127.0.0.1:${port}`;
    const clients = createClients({
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'x',
      AWS_ENDPOINT_URL: endpoint,
    });
    const stores = createStores(clients, { bucket: 'b', table: 't' });
    const started = Date.now();
    const failure = stores.jobs.getJob('job-x');
    await expect(failure).rejects.toBeInstanceOf(StoreUnreachableError);
    await expect(failure).rejects.toThrow(`DynamoDB is unreachable at ${endpoint}`);
    await expect(stores.blobs.get('jobs/x/spec.json')).rejects.toThrow(`S3 is unreachable at ${endpoint}`);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  describe('in a learner invocation', () => {
    let stack: LocalStack;
    afterAll(() => stack?.stop());

    it('fails the invocation with the endpoint in the error', async () => {
      stack = await startLocalStack({
        functions: [
          {
            name: 'learner',
            entry: require.resolve('../../../functions/learner.ts'),
            timeoutSeconds: 30,
            maxConcurrency: 1,
            maximumRetryAttempts: 0,
            environment: { KASYNC_LEARNER_FUNCTION: 'learner', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' },
          },
        ],
      });
      const started = Date.now();
      const result = await stack.lambda.invoke('learner', { jobId: 'job-missing', learner: 'L0', epoch: 1 });
      expect(result.functionError).toBe('Unhandled');
      expect(result.payload).toMatchObject({
        errorType: 'StoreUnreachableError',
        errorMessage: 'S3 is unreachable at http://127.0.0.1:9',
      });
      expect(Date.now() - started).toBeLessThan(15_000);
    });

    it('refuses an event whose ids could reach other keys', async () => {
      const result = await stack.lambda.invoke('learner', { jobId: '../x', learner: 'L0', epoch: 1 });
      expect(result.payload).toMatchObject({
        errorType: 'ValidationError',
        errorMessage: expect.stringContaining('jobId'),
      });
    });
  });
});
