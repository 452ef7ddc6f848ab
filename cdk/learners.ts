import path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type IRole, Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type Architecture, type LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface LearnersProps {
  readonly bucket: Bucket;
  readonly table: TableV2;
  readonly onnxruntime: LayerVersion;
  readonly architecture: Architecture;
  /** Learners are CPU bound; Lambda gives CPU in proportion to memory (1,769 MB = one vCPU). */
  readonly memorySize?: number;
  readonly reservedConcurrency?: number;
}

/** The learner function: computes gradients, arrives, aggregates, re-invokes itself. */
export class Learners extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: LearnersProps) {
    super(scope, id);
    this.function = new NodejsFunction(this, 'Function', {
      entry: path.resolve(__dirname, '../functions/learner.ts'),
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: props.architecture,
      memorySize: props.memorySize ?? 1769,
      timeout: Duration.minutes(15),
      reservedConcurrentExecutions: props.reservedConcurrency,
      // Duplicates are handled by the epoch claim; a retry of a crashed learner is wanted.
      retryAttempts: 2,
      layers: [props.onnxruntime],
      logGroup: new LogGroup(this, 'Logs', {
        retention: RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      bundling: {
        format: OutputFormat.CJS,
        minify: true,
        sourceMap: true,
        externalModules: ['onnxruntime-node', '@aws-sdk/*'],
        forceDockerBundling: false,
      },
      environment: {
        KASYNC_BUCKET: props.bucket.bucketName,
        KASYNC_TABLE: props.table.tableName,
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
    props.bucket.grantReadWrite(this.function);
    props.table.grantReadWriteData(this.function);
    // A learner re-invokes itself (next epoch). grantInvoke would put this statement in the role's
    // default policy, which the function depends on: a cycle. A separate policy breaks it.
    new Policy(this, 'SelfInvoke', {
      roles: [this.function.role as IRole],
      statements: [
        new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.function.functionArn] }),
      ],
    });
  }
}
