import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { s3Keys } from '../engine/keys';

/**
 * Who may touch which S3 prefixes (engine/keys.ts, docs/architecture.md "Storage"):
 * - `jobs/` spec, graphs and weights: the API writes w[0] and the graphs, learners read them
 *   and write each committed w[v+1]; the API reads them to export a model.
 * - `datasets/` shards: the API writes them when a job first names a dataset; learners read.
 * - `grads/` gradient blobs: learners only (the aggregator reads its round's gradients).
 * - `uploads/` files a spec names as s3:// (ONNX models, CSV datasets): the API only; a job
 *   is laid out from them at submission, so learners never read them.
 */
export const S3_ACCESS = {
  learner: { read: ['jobs/', 'datasets/', s3Keys.gradientPrefix], write: ['jobs/', s3Keys.gradientPrefix] },
  api: { read: ['jobs/', 'datasets/', 'uploads/'], write: ['jobs/', 'datasets/', 'uploads/'] },
} as const;

/**
 * The DynamoDB actions each function needs, from the commands the stores send
 * (engine/store/*.ts: Get, Put, Update, Query; BatchGet reads the job items the job index lists
 * for `GET /jobs`). Nothing scans, and nothing deletes items: commit records are the audit log.
 */
export const DYNAMODB_ACTIONS = {
  learner: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
  /** engine/watchdog.ts: the job index and job items (Query, BatchGet), learner items (Query), finish (Update). */
  watchdog: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
  api: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:Query',
    'dynamodb:BatchGetItem',
  ],
} as const;

export function grantStorage(
  grantee: IGrantable,
  bucket: IBucket,
  table: ITableV2,
  access: { read: readonly string[]; write: readonly string[] },
  dynamoActions: readonly string[],
): void {
  const objects = (prefixes: readonly string[]) =>
    prefixes.map((prefix) => bucket.arnForObjects(`${prefix}*`));
  const principal = grantee.grantPrincipal;
  // HeadObject/GetObject need s3:GetObject.
  principal.addToPrincipalPolicy(
    new PolicyStatement({ actions: ['s3:GetObject'], resources: objects(access.read) }),
  );
  principal.addToPrincipalPolicy(
    new PolicyStatement({ actions: ['s3:PutObject'], resources: objects(access.write) }),
  );
  // Without ListBucket, S3 answers a HEAD or GET of a missing key with 403 instead of 404, and
  // BlobStore.exists() (a dataset already uploaded?) could not tell "absent" from "denied".
  // A prefix condition would not apply to that implicit check, so it is granted on the bucket.
  principal.addToPrincipalPolicy(
    new PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }),
  );
  table.grant(grantee, ...dynamoActions);
}
