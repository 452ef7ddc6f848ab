import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { Api } from './api';
import { DEFAULT_CONFIG, type KasyncConfig } from './config';
import { Learners } from './learners';
import { OnnxRuntimeLayer } from './onnxruntime-layer';
import { Storage } from './storage';
import { Watchdog } from './watchdog';

export interface KasyncStackProps extends StackProps {
  /** Deployment choices (cdk/config.ts); anything left out takes its default. */
  readonly config?: Partial<KasyncConfig>;
}

/**
 * kasync in one stack: the bucket and table, the onnxruntime layer, the learner function, and
 * the API (function + HTTP API with authorization on every route), and the watchdog.
 */
export class KasyncStack extends Stack {
  readonly config: KasyncConfig;
  readonly storage: Storage;
  readonly learners: Learners;
  readonly onnxruntime: OnnxRuntimeLayer;
  readonly api: Api;
  readonly watchdog: Watchdog;

  constructor(scope: Construct, id: string, props: KasyncStackProps = {}) {
    super(scope, id, {
      description: 'kasync: asynchronous SGD on AWS Lambda, S3 and DynamoDB',
      ...props,
    });
    const config: KasyncConfig = { ...DEFAULT_CONFIG, ...props.config };
    this.config = config;
    const { architecture } = config;
    Tags.of(this).add('project', 'kasync');

    this.storage = new Storage(this, 'Storage', {
      retainData: config.retainData,
      gradientRetentionDays: config.gradientRetentionDays,
    });
    this.onnxruntime = new OnnxRuntimeLayer(this, 'OnnxRuntime', { architecture });
    this.learners = new Learners(this, 'Learners', {
      bucket: this.storage.bucket,
      table: this.storage.table,
      onnxruntime: this.onnxruntime.layer,
      architecture,
      memorySize: config.learnerMemoryMb,
      reservedConcurrency: config.learnerMaxConcurrency,
      logRetention: config.logRetentionDays,
    });
    this.api = new Api(this, 'Api', {
      bucket: this.storage.bucket,
      table: this.storage.table,
      learner: this.learners.function,
      architecture,
      memorySize: config.apiMemoryMb,
      auth: config.apiAuth,
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
      logRetention: config.logRetentionDays,
    });

    this.watchdog = new Watchdog(this, 'Watchdog', {
      bucket: this.storage.bucket,
      table: this.storage.table,
      learner: this.learners.function,
      architecture,
      logRetention: config.logRetentionDays,
    });

    new CfnOutput(this, 'ApiUrl', {
      value: this.api.url,
      description: `kasync API (${this.api.authorizationType === 'AWS_IAM' ? 'SigV4' : 'JWT'}): KASYNC_ENDPOINT`,
    });
    new CfnOutput(this, 'BucketName', { value: this.storage.bucket.bucketName });
    new CfnOutput(this, 'TableName', { value: this.storage.table.tableName });
    new CfnOutput(this, 'LearnerFunctionName', { value: this.learners.function.functionName });
    new CfnOutput(this, 'ApiFunctionName', { value: this.api.function.functionName });
    new CfnOutput(this, 'Architecture', {
      value: architecture === Architecture.ARM_64 ? 'arm64' : 'x86_64',
    });
  }
}
