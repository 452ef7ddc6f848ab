import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { lockDataDir } from './data-dir-lock';
import { ensureTable, type RunningService, startDynamoDb, startS3 } from './emulators';
import { type LocalFunctionConfig, type LocalLambda, startLocalLambda } from './lambda/server';

export { DataDirInUseError } from './data-dir-lock';
export type { FunctionStats, WorkerInfo } from './lambda/pool';
export type { InvocationType, LocalFunctionConfig, LocalInvokeResult, LocalLambda } from './lambda/server';
export { LocalLambdaError } from './lambda/server';

export interface LocalStackOptions {
  /** Keep data here so a run can be resumed; default: a fresh temp dir removed on stop. */
  dataDir?: string;
  functions?: LocalFunctionConfig[];
  /** Default 'kasync-local'. */
  bucket?: string;
  /** Default 'kasync-local'. */
  table?: string;
  /** Stack events and every function's output, one line at a time (also in `workDir/logs/`). */
  log?: (line: string) => void;
}

export interface LocalStack {
  endpoints: { dynamodb: string; s3: string; lambda: string };
  bucket: string;
  table: string;
  /** Standard AWS variables (region, credentials, endpoints) so an SDK client in any process reaches this stack. */
  env: Record<string, string>;
  lambda: LocalLambda;
  /** Data (`dynamodb/`, `s3/`), function bundles (`lambda/`) and logs (`logs/`). */
  workDir: string;
  /** Stops every child and server; removes `workDir` unless it is a `dataDir`. Safe to call twice. */
  stop(): Promise<void>;
}

export class LocalStackError extends Error {
  override readonly name = 'LocalStackError';
}

const REGION = 'us-east-1';
// s3rver accepts only its built-in key pair; dynalite and the Lambda server accept any.
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } as const;

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const started = performance.now();
  const log = opts.log ?? (() => {});
  const bucket = opts.bucket ?? 'kasync-local';
  const table = opts.table ?? 'kasync-local';
  const ownsWorkDir = opts.dataDir === undefined;
  const workDir =
    opts.dataDir === undefined
      ? await mkdtemp(path.join(os.tmpdir(), 'kasync-local-'))
      : path.resolve(opts.dataDir);
  await mkdir(workDir, { recursive: true });
  const releaseDataDir = ownsWorkDir ? async () => {} : await lockDataDir(workDir);

  // If the process exits without stop(), children still die (IPC disconnect); the temp dir must go too.
  const removeWorkDirOnExit = () => rmSync(workDir, { recursive: true, force: true });
  if (ownsWorkDir) process.once('exit', removeWorkDirOnExit);

  const services: RunningService[] = [];
  const stopAll = async () => {
    const errors: unknown[] = [];
    for (const service of services.reverse()) await service.stop().catch((err: unknown) => errors.push(err));
    if (ownsWorkDir) {
      await rm(workDir, { recursive: true, force: true });
      process.off('exit', removeWorkDirOnExit);
    } else {
      await releaseDataDir();
    }
    if (errors.length > 0)
      throw new LocalStackError('the local stack did not stop cleanly', { cause: errors[0] });
  };

  try {
    const emulators = await Promise.allSettled([
      startDynamoDb(ownsWorkDir ? undefined : path.join(workDir, 'dynamodb')),
      startS3(path.join(workDir, 's3'), bucket),
    ]);
    for (const result of emulators) if (result.status === 'fulfilled') services.push(result.value);
    const failed = emulators.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const [dynamodb, s3] = services;

    const storageEnv = {
      AWS_REGION: REGION,
      ...CREDENTIALS,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      // s3rver mangles aws-chunked bodies, which the SDK sends when it adds checksums on its own.
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      KASYNC_BUCKET: bucket,
      KASYNC_TABLE: table,
    };
    const dynamoClient = new DynamoDBClient({
      region: REGION,
      endpoint: dynamodb.endpoint,
      credentials: {
        accessKeyId: CREDENTIALS.AWS_ACCESS_KEY_ID,
        secretAccessKey: CREDENTIALS.AWS_SECRET_ACCESS_KEY,
      },
    });
    await ensureTable(dynamoClient, table).finally(() => dynamoClient.destroy());
    const lambdaServer = await startLocalLambda({
      functions: opts.functions ?? [],
      env: storageEnv,
      workDir,
      log,
    });
    services.push(lambdaServer);

    const endpoints = { dynamodb: dynamodb.endpoint, s3: s3.endpoint, lambda: lambdaServer.endpoint };
    log(
      `local stack up in ${Math.round(performance.now() - started)} ms: ${JSON.stringify(endpoints)}, data in ${workDir}`,
    );
    let stopping: Promise<void> | undefined;
    return {
      endpoints,
      bucket,
      table,
      env: { ...storageEnv, AWS_ENDPOINT_URL_LAMBDA: lambdaServer.endpoint },
      lambda: lambdaServer.lambda,
      workDir,
      stop: () => {
        stopping ??= stopAll().then(() => log('local stack stopped'));
        return stopping;
      },
    };
  } catch (err) {
    await stopAll().catch(() => {});
    throw new LocalStackError(`the local stack failed to start: ${(err as Error).message}`, { cause: err });
  }
}
