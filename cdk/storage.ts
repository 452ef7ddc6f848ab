import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
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
      removalPolicy,
      autoDeleteObjects: !props.retainData,
      lifecycleRules: [
        { prefix: s3Keys.gradientPrefix, expiration: Duration.days(props.gradientRetentionDays ?? 30) },
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
  }
}
