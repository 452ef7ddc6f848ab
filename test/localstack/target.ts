import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  LambdaClient,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { stageOnnxRuntime } from '../../cdk/onnxruntime-layer';
import { type AwsClients, createClients, type Resources } from '../../engine/aws';
import { createStores, type Stores } from '../../engine/store';
import { ensureTable } from '../../local/emulators';
import { bundleFunction } from '../../local/lambda/bundle';

/**
 * Where the LocalStack tests run: clients built from the environment (`AWS_ENDPOINT_URL`, as
 * `npm run test:localstack` sets it), and kasync's resources either
 * - deployed already (`cdklocal deploy`): `KASYNC_BUCKET`, `KASYNC_TABLE` and
 *   `KASYNC_LEARNER_FUNCTION` name them (the script reads them from `cdklocal deploy
 *   --outputs-file`), or
 * - provisioned here for the run and deleted after it: a bucket, a table, and the learner
 *   function from the same esbuild bundle the local runtime runs, with onnxruntime-node (linux
 *   binaries of this machine's architecture) inside the function zip instead of a layer, since
 *   LocalStack's free tier has no layers.
 */
export interface Target {
  readonly mode: 'deployed' | 'provisioned';
  readonly clients: AwsClients;
  readonly resources: Resources;
  readonly stores: Stores;
  /** Deletes what was provisioned; nothing for a deployed stack. */
  cleanup(): Promise<void>;
}

export async function localstackTarget(env: NodeJS.ProcessEnv = process.env): Promise<Target> {
  const clients = createClients(env);
  if (env.KASYNC_BUCKET && env.KASYNC_TABLE && env.KASYNC_LEARNER_FUNCTION) {
    const resources = {
      bucket: env.KASYNC_BUCKET,
      table: env.KASYNC_TABLE,
      learnerFunction: env.KASYNC_LEARNER_FUNCTION,
    };
    return {
      mode: 'deployed',
      clients,
      resources,
      stores: createStores(clients, resources),
      cleanup: async () => {},
    };
  }
  return provision(env, clients);
}

async function provision(env: NodeJS.ProcessEnv, clients: AwsClients): Promise<Target> {
  const name = `kasync-it-${Date.now().toString(36)}`;
  const resources: Resources = { bucket: name, table: name, learnerFunction: name };
  const endpoint = (service: string) => env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  const common = { region: env.AWS_REGION ?? 'us-east-1' };
  const s3 = new S3Client({ ...common, endpoint: endpoint('S3'), forcePathStyle: true });
  const dynamo = new DynamoDBClient({ ...common, endpoint: endpoint('DYNAMODB') });
  const lambda = new LambdaClient({ ...common, endpoint: endpoint('LAMBDA') });

  await s3.send(new CreateBucketCommand({ Bucket: name }));
  await ensureTable(dynamo, name);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'kasync-localstack-fn-'));
  try {
    await bundleFunction(path.resolve(__dirname, '../../functions/learner.ts'), dir);
    const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
    stageOnnxRuntime(path.join(dir, 'node_modules'), arch);
    const zipFile = path.join(os.tmpdir(), `${name}.zip`);
    try {
      execFileSync('zip', ['-q', '-r', zipFile, '.'], { cwd: dir });
    } catch (error) {
      throw new Error(`zipping the learner function needs the zip command: ${(error as Error).message}`);
    }
    const zip = readFileSync(zipFile);
    rmSync(zipFile, { force: true });
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'nodejs22.x',
        Architectures: [arch === 'arm64' ? 'arm64' : 'x86_64'],
        // LocalStack does not enforce IAM; the ARN only has to be well formed.
        Role: 'arn:aws:iam::000000000000:role/kasync-learner',
        Handler: 'index.handler',
        Code: { ZipFile: zip },
        Timeout: 300,
        MemorySize: 1769,
        Environment: {
          Variables: { KASYNC_BUCKET: name, KASYNC_TABLE: name, KASYNC_LEARNER_FUNCTION: name },
        },
      }),
    );
    await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 300 }, { FunctionName: name });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  return {
    mode: 'provisioned',
    clients,
    resources,
    stores: createStores(clients, resources),
    cleanup: async () => {
      await lambda.send(new DeleteFunctionCommand({ FunctionName: name })).catch(() => undefined);
      await dynamo.send(new DeleteTableCommand({ TableName: name })).catch(() => undefined);
      for (;;) {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: name }));
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
        if (keys.length === 0) break;
        await s3.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys } }));
      }
      await s3.send(new DeleteBucketCommand({ Bucket: name })).catch(() => undefined);
      for (const client of [s3, dynamo, lambda]) client.destroy();
    },
  };
}
