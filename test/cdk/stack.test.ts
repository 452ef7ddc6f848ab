import { execFileSync } from 'node:child_process';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { KasyncStack } from '../../cdk/kasync-stack';

/** The properties of the deployed stack that matter: privacy, durability, runtime, least privilege. */
describe('KasyncStack', () => {
  let stack: KasyncStack;
  let template: Template;

  beforeAll(() => {
    stack = new KasyncStack(new App(), 'Test');
    template = Template.fromStack(stack);
  });

  it('keeps the bucket private, encrypted and TLS-only, expiring gradient blobs', () => {
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
      LifecycleConfiguration: { Rules: [Match.objectLike({ Prefix: 'grads/', Status: 'Enabled' })] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('has one on-demand table keyed pk/sk with point-in-time recovery', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
    });
  });

  it('runs the learner on Node.js 22 with the onnxruntime layer of the same architecture', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['x86_64'],
      Timeout: 900,
      MemorySize: 1769,
      Layers: [{ Ref: Match.stringLikeRegexp('OnnxRuntime') }],
      Environment: {
        Variables: Match.objectLike({ KASYNC_BUCKET: Match.anyValue(), KASYNC_TABLE: Match.anyValue() }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: ['x86_64'] });
  });

  it('prunes the layer to one platform, under 60 MB unzipped', () => {
    const kb = Number(execFileSync('du', ['-sk', stack.onnxruntime.stagingDir]).toString().split('\t')[0]);
    expect(kb).toBeLessThan(60 * 1024);
    expect(
      execFileSync('find', [stack.onnxruntime.stagingDir, '-name', '*.node']).toString().trim().split('\n'),
    ).toEqual([expect.stringMatching(/linux\/x64\/onnxruntime_binding\.node$/)]);
  });

  it('lets the learner invoke only itself', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Action: 'lambda:InvokeFunction',
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('Learners'), 'Arn'] },
          },
        ],
      },
    });
  });
});
