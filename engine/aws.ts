import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { UsageMeter } from './usage';

/**
 * SDK clients built from standard configuration: region, credentials and endpoints come from
 * an environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, ...), so the same code
 * reaches AWS, LocalStack or the embedded stack. Lambda handlers build them once at module
 * scope; the CLI builds them after it has started an embedded stack. A usage meter, if given,
 * counts what the clients consume.
 */
export interface AwsClients {
  readonly dynamo: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
  /** Where each client points, for error messages that name the endpoint. */
  readonly endpoints: { readonly dynamodb: string; readonly s3: string; readonly lambda: string };
}

// Fail fast instead of hanging when a store is down.
const requestHandler = { connectionTimeout: 3_000, requestTimeout: 30_000, throwOnRequestTimeout: true };
const maxAttempts = 3;

export function createClients(env: NodeJS.ProcessEnv = process.env, usage?: UsageMeter): AwsClients {
  const endpoint = (service: string) => env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          sessionToken: env.AWS_SESSION_TOKEN,
        }
      : undefined;
  const common = { region, credentials, requestHandler, maxAttempts };
  const s3Endpoint = endpoint('S3');
  const dynamo = new DynamoDBClient({ ...common, endpoint: endpoint('DYNAMODB') });
  const s3 = new S3Client({
    ...common,
    endpoint: s3Endpoint,
    // Emulators (s3rver, LocalStack) serve buckets by path, not by virtual host, and s3rver
    // corrupts streamed bodies when the SDK adds flexible checksums; real S3 keeps both defaults.
    ...(s3Endpoint !== undefined && {
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  });
  usage?.attachDynamo(dynamo);
  usage?.attachS3(s3);
  return {
    dynamo: DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }),
    s3,
    lambda: new LambdaClient({ ...common, endpoint: endpoint('LAMBDA') }),
    endpoints: {
      dynamodb: endpoint('DYNAMODB') ?? `dynamodb.${region}.amazonaws.com`,
      s3: s3Endpoint ?? `s3.${region}.amazonaws.com`,
      lambda: endpoint('LAMBDA') ?? `lambda.${region}.amazonaws.com`,
    },
  };
}

export interface Resources {
  readonly bucket: string;
  readonly table: string;
  readonly learnerFunction: string;
}

const requiredEnv = (env: NodeJS.ProcessEnv, name: string) => {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};

/** The bucket and table, from the environment the stack sets. */
export function storageFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<Resources, 'bucket' | 'table'> {
  return { bucket: requiredEnv(env, 'KASYNC_BUCKET'), table: requiredEnv(env, 'KASYNC_TABLE') };
}

/** Names of the bucket, table and learner function, from the environment the stack sets. */
export function resourcesFromEnv(env: NodeJS.ProcessEnv = process.env): Resources {
  // A learner learns its own name from Lambda (it re-invokes itself); other functions are told.
  const learnerFunction = env.KASYNC_LEARNER_FUNCTION ?? env.AWS_LAMBDA_FUNCTION_NAME;
  if (!learnerFunction) throw new Error('environment variable KASYNC_LEARNER_FUNCTION is not set');
  return { ...storageFromEnv(env), learnerFunction };
}
