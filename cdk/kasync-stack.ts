import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { Learners } from './learners';
import { OnnxRuntimeLayer } from './onnxruntime-layer';
import { Storage } from './storage';

export interface KasyncStackProps extends StackProps {
  /** One architecture for the functions and the onnxruntime layer. */
  readonly architecture?: Architecture;
  readonly retainData?: boolean;
  readonly learnerReservedConcurrency?: number;
}

export class KasyncStack extends Stack {
  readonly storage: Storage;
  readonly learners: Learners;
  readonly onnxruntime: OnnxRuntimeLayer;

  constructor(scope: Construct, id: string, props: KasyncStackProps = {}) {
    super(scope, id, props);
    const architecture = props.architecture ?? Architecture.X86_64;
    this.storage = new Storage(this, 'Storage', { retainData: props.retainData });
    this.onnxruntime = new OnnxRuntimeLayer(this, 'OnnxRuntime', { architecture });
    this.learners = new Learners(this, 'Learners', {
      bucket: this.storage.bucket,
      table: this.storage.table,
      onnxruntime: this.onnxruntime.layer,
      architecture,
      reservedConcurrency: props.learnerReservedConcurrency,
    });
    new CfnOutput(this, 'BucketName', { value: this.storage.bucket.bucketName });
    new CfnOutput(this, 'TableName', { value: this.storage.table.tableName });
    new CfnOutput(this, 'LearnerFunctionName', { value: this.learners.function.functionName });
  }
}
