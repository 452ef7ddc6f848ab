import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { s3Keys } from '../engine/keys';

export interface StorageProps {
  /** Keep the table (and its point-in-time backups) when the stack is deleted. */
  readonly retainData?: boolean;
  /** Gradient blobs are only needed for audits; expire them after this many days. */
  readonly gradientRetentionDays?: number;
}

/** The one bucket (weights, gradients, models, datasets) and the one table (job, commit and learner items). */
export class Storage extends Construct {
  readonly bucket: Bucket;
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // ACLs off: only IAM policies grant access.
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects: !props.retainData,
      lifecycleRules: [
        { prefix: s3Keys.gradientPrefix, expiration: Duration.days(props.gradientRetentionDays ?? 30) },
        // The SDK uploads in one part, but a part left by anything else should not be billed forever.
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: Boolean(props.retainData),
      removalPolicy,
    });
    NagSuppressions.addResourceSuppressions(this.bucket, [
      {
        id: 'AwsSolutions-S1',
        reason:
          'No server access logs: learners write a gradient object every few seconds each, so access ' +
          'logs would cost more than the data they describe. Every object is written by the two kasync ' +
          'functions, whose own logs and the API access logs record who started what; enable CloudTrail ' +
          'S3 data events for an audit trail of object access.',
      },
    ]);
  }
}
