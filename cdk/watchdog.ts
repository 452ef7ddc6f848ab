import path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type Architecture, type IFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { functionBundling, REPO_ROOT } from './bundling';
import { DYNAMODB_ACTIONS } from './grants';
import { functionRole, powertoolsEnvironment, RUNTIME_SUPPRESSION } from './learners';

export interface WatchdogProps {
  readonly bucket: IBucket;
  readonly table: ITableV2;
  readonly learner: IFunction;
  readonly architecture: Architecture;
  readonly logRetention?: RetentionDays;
}

/**
 * The watchdog function on a one-minute schedule (engine/watchdog.ts): ends jobs no learner is
 * left to end and re-invokes silent learners. It reads and updates job and learner items and
 * invokes the learner function; it touches no S3 object.
 */
export class Watchdog extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: WatchdogProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = functionRole(this, logGroup);
    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, 'functions/watchdog.ts'),
      handler: 'handler',
      description: 'kasync watchdog: ends jobs past maxSeconds, re-invokes silent learners',
      runtime: Runtime.NODEJS_22_X,
      architecture: props.architecture,
      memorySize: 256,
      timeout: Duration.seconds(50),
      // One sweep at a time; the next minute's run covers a failed one.
      reservedConcurrentExecutions: 1,
      retryAttempts: 0,
      logGroup,
      role,
      bundling: functionBundling(),
      environment: {
        // Named for the stores it builds; no S3 permission is granted: a sweep reads no object.
        KASYNC_BUCKET: props.bucket.bucketName,
        KASYNC_TABLE: props.table.tableName,
        KASYNC_LEARNER_FUNCTION: props.learner.functionName,
        ...powertoolsEnvironment('kasync-watchdog'),
      },
    });
    props.table.grant(this.function, ...DYNAMODB_ACTIONS.watchdog);
    // The function itself, not its versions (grantInvoke adds `:*`): learners run $LATEST.
    this.function.addToRolePolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.learner.functionArn] }),
    );
    new Rule(this, 'Schedule', {
      description: 'kasync watchdog sweep',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(this.function, { retryAttempts: 0 })],
    });
    NagSuppressions.addResourceSuppressions(this.function, [RUNTIME_SUPPRESSION]);
  }
}
