/**
 * AWS service limits on the simulator's virtual clock (seconds), for the discrete-event
 * simulator to plug in: DynamoDB capacity units and per-partition throttling, the SDK's retry
 * backoff, S3 request rates per prefix and request latency, Lambda concurrency and scaling.
 * Pure and dependency-free: no AWS SDK, no I/O; randomness comes in as `{ next(): number }`
 * (model/random's Rng fits). Each limit's number and its source are documented where it is defined.
 */
export * from './aws/dynamodb-table';
export * from './aws/dynamodb-units';
export * from './aws/lambda';
export * from './aws/retry';
export * from './aws/s3';
export * from './aws/token-bucket';
