import path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type Architecture, type ILayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { functionBundling, REPO_ROOT } from './bundling';
import { DYNAMODB_ACTIONS, grantStorage, S3_ACCESS } from './grants';

export interface LearnersProps {
  readonly bucket: IBucket;
  readonly table: ITableV2;
  readonly onnxruntime: ILayerVersion;
  readonly architecture: Architecture;
  /** Learners are CPU bound; Lambda gives CPU in proportion to memory (1,769 MB = one vCPU). */
  readonly memorySize?: number;
  /** Reserved concurrency: the most learners that run at once (see KasyncConfig). */
  readonly reservedConcurrency?: number;
  readonly logRetention?: RetentionDays;
}

/** Environment every kasync function gets: Powertools' names and the storage it works on. */
export function powertoolsEnvironment(service: string): Record<string, string> {
  return {
    POWERTOOLS_SERVICE_NAME: service,
    POWERTOOLS_METRICS_NAMESPACE: 'kasync',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    NODE_OPTIONS: '--enable-source-maps',
  };
}

/**
 * A function's role with no managed policy: it may write to its own log group and nothing else
 * until granted (AWSLambdaBasicExecutionRole would allow every log group in the account).
 */
export function functionRole(scope: Construct, logGroup: LogGroup): Role {
  const role = new Role(scope, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  logGroup.grantWrite(role);
  return role;
}

/** Why every kasync function stays on nodejs22.x for now (cdk-nag AwsSolutions-L1). */
export const RUNTIME_SUPPRESSION = {
  id: 'AwsSolutions-L1',
  reason:
    'nodejs22.x is pinned on purpose: it is the runtime the bundles target and the layer and ' +
    'Powertools 2.x are used with, and Lambda supports it into 2027; move to a newer runtime with the ' +
    'local runtime and CI, not silently.',
};

/** The learner function: computes gradients, arrives, aggregates, re-invokes itself. */
export class Learners extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  /** Invocations that failed after every retry, kept for inspection (the watchdog revives the learner). */
  readonly failures: Queue;

  constructor(scope: Construct, id: string, props: LearnersProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = functionRole(this, this.logGroup);
    this.failures = new Queue(this, 'Failures', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, 'functions/learner.ts'),
      handler: 'handler',
      description: 'kasync learner: gradients, arrivals, aggregation; re-invokes itself each epoch',
      runtime: Runtime.NODEJS_22_X,
      architecture: props.architecture,
      memorySize: props.memorySize ?? 1769,
      timeout: Duration.minutes(15),
      reservedConcurrentExecutions: props.reservedConcurrency,
      // Duplicates are handled by the epoch claim; a retry of a crashed learner is wanted.
      retryAttempts: 2,
      onFailure: new SqsDestination(this.failures),
      layers: [props.onnxruntime],
      logGroup: this.logGroup,
      role,
      // The learner never reads built-in datasets from disk (it reads shards from S3), so
      // nothing is copied beside its bundle.
      bundling: functionBundling(),
      environment: {
        KASYNC_BUCKET: props.bucket.bucketName,
        KASYNC_TABLE: props.table.tableName,
        ...powertoolsEnvironment('kasync-learner'),
      },
    });
    grantStorage(this.function, props.bucket, props.table, S3_ACCESS.learner, DYNAMODB_ACTIONS.learner);
    // A learner re-invokes itself (next epoch). grantInvoke would put this statement in the role's
    // default policy, which the function depends on: a cycle. A separate policy breaks it.
    new Policy(this, 'SelfInvoke', {
      roles: [role],
      statements: [
        new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.function.functionArn] }),
      ],
    });

    NagSuppressions.addResourceSuppressions(this.function, [RUNTIME_SUPPRESSION]);
    NagSuppressions.addResourceSuppressions(this.failures, [
      {
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is itself the dead-letter (on-failure) destination of the learner function; a queue behind it would only move the same records once more.',
      },
    ]);
    NagSuppressions.addResourceSuppressions(
      role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Object ARNs are limited to the prefixes a learner works on (jobs/, datasets/ read; ' +
            'grads/ read and write): every job writes new keys under them, so they cannot be listed ahead.',
          appliesTo: [
            ...new Set([...S3_ACCESS.learner.read, ...S3_ACCESS.learner.write].map((p) => bucketObjects(p))),
          ].map((arn) => ({ regex: arn })),
        },
      ],
      true,
    );
  }
}

/** The nag finding text of an object ARN under a prefix of the kasync bucket. */
export const bucketObjects = (prefix: string) =>
  `/^Resource::<Storage[A-Za-z0-9]*Bucket[A-Za-z0-9]*\\.Arn>\\/${prefix.replace('/', '\\/')}\\*$/`;
