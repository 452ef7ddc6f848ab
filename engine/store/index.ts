import type { AwsClients, Resources } from '../aws';
import { BlobStore } from './blob-store';
import { JobStore } from './job-store';
import { LearnerStore } from './learner-store';

export interface Stores {
  readonly jobs: JobStore;
  readonly learners: LearnerStore;
  readonly blobs: BlobStore;
}

export function createStores(clients: AwsClients, resources: Pick<Resources, 'bucket' | 'table'>): Stores {
  return {
    jobs: new JobStore(clients.dynamo, resources.table, clients.endpoints.dynamodb),
    learners: new LearnerStore(clients.dynamo, resources.table, clients.endpoints.dynamodb),
    blobs: new BlobStore(clients.s3, resources.bucket, clients.endpoints.s3),
  };
}
