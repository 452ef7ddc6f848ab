import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `npm run test:localstack`: runs test/localstack/*.localstack.ts against the LocalStack at
 * AWS_ENDPOINT_URL (default http://localhost:4566). Not part of `npm test`: LocalStack runs in
 * Docker, which the project's machines do not have.
 *
 * First it asks LocalStack's health endpoint (3 s at most). When nothing answers, or what
 * answers is not a LocalStack with S3, DynamoDB and Lambda, it says so and exits 1 without
 * running a test. With `KASYNC_STACK_OUTPUTS=file` (from `cdklocal deploy --outputs-file file`)
 * the tests use the deployed stack's bucket, table and learner; otherwise they create their own.
 */

const REPO = path.resolve(__dirname, '..');
const endpoint = (process.env.AWS_ENDPOINT_URL ?? 'http://localhost:4566').replace(/\/+$/, '');
const REQUIRED_SERVICES = ['s3', 'dynamodb', 'lambda'];

function fail(message: string): never {
  process.stderr.write(`test:localstack: ${message}\nNo test was run.\n`);
  process.exit(1);
}

async function probe(): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${endpoint}/_localstack/health`, { signal: AbortSignal.timeout(3000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    fail(
      `no LocalStack answers at ${endpoint} (${cause}).\n` +
        'LocalStack runs in Docker: start it (`localstack start -d`, or `docker run --rm -p 4566:4566 ' +
        'localstack/localstack`) and run this again, or point AWS_ENDPOINT_URL at one.',
    );
  }
  const health = (await response.json().catch(() => undefined)) as
    | { services?: Record<string, string>; version?: string }
    | undefined;
  if (!response.ok || !health?.services)
    fail(`${endpoint} answered ${response.status}, but not as LocalStack (GET /_localstack/health)`);
  const missing = REQUIRED_SERVICES.filter(
    (service) => !['available', 'running'].includes(health.services?.[service] ?? ''),
  );
  if (missing.length > 0)
    fail(`LocalStack ${health.version ?? ''} at ${endpoint} does not offer ${missing.join(', ')}`);
  process.stderr.write(`test:localstack: LocalStack ${health.version ?? ''} at ${endpoint}\n`);
}

/** The deployed stack's resources, from `cdklocal deploy --outputs-file`. */
function stackOutputs(): Record<string, string> {
  const file = process.env.KASYNC_STACK_OUTPUTS;
  if (!file) return {};
  if (!existsSync(file)) fail(`KASYNC_STACK_OUTPUTS=${file} does not exist`);
  const stacks = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string>>;
  const outputs = Object.values(stacks)[0] ?? {};
  if (!outputs.BucketName || !outputs.TableName || !outputs.LearnerFunctionName)
    fail(`${file} lacks BucketName, TableName or LearnerFunctionName`);
  return {
    KASYNC_BUCKET: outputs.BucketName,
    KASYNC_TABLE: outputs.TableName,
    KASYNC_LEARNER_FUNCTION: outputs.LearnerFunctionName,
  };
}

async function main() {
  await probe();
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...stackOutputs(),
  };
  const jest = spawnSync(
    process.execPath,
    [
      require.resolve('jest/bin/jest'),
      '--runInBand',
      '--testMatch',
      '<rootDir>/test/localstack/**/*.localstack.ts',
      ...process.argv.slice(2),
    ],
    { cwd: REPO, env, stdio: 'inherit' },
  );
  process.exit(jest.status ?? 1);
}

void main();
