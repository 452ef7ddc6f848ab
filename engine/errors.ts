/**
 * Every error kasync raises on purpose. Store adapters translate SDK failures into these where
 * they happen, so the protocol code reasons about domain outcomes (a stale gradient, a full
 * round), never about `ConditionalCheckFailedException`.
 */
export class KasyncError extends Error {
  override readonly name: string = 'KasyncError';
}

/** Bad user input; `field` is the dotted path of the offending field (e.g. `lr.eta`). */
export class ValidationError extends KasyncError {
  override readonly name = 'ValidationError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(field ? `${field}: ${message}` : message);
  }
}

export class NotFoundError extends KasyncError {
  override readonly name = 'NotFoundError';
}

/** A store (DynamoDB, S3, Lambda) did not answer; the message names the endpoint. */
export class StoreUnreachableError extends KasyncError {
  override readonly name = 'StoreUnreachableError';
  constructor(
    readonly service: string,
    readonly endpoint: string,
    options?: { cause?: unknown },
  ) {
    super(`${service} is unreachable at ${endpoint}`, options);
  }
}

/** The job is no longer RUNNING (done, stopped or failed): learners must exit. */
export class JobNotRunningError extends KasyncError {
  override readonly name = 'JobNotRunningError';
  constructor(
    readonly jobId: string,
    readonly status: string,
  ) {
    super(`job ${jobId} is ${status}`);
  }
}

/** The gradient was computed on a version a sync variant no longer accepts. */
export class StaleVersionError extends KasyncError {
  override readonly name = 'StaleVersionError';
  constructor(
    readonly computedOn: number,
    readonly current: number,
  ) {
    super(`gradient computed on version ${computedOn}, job is at version ${current}`);
  }
}

/** k-async takes one gradient per learner per round; this learner already has one pending. */
export class AlreadyInRoundError extends KasyncError {
  override readonly name = 'AlreadyInRoundError';
  constructor(readonly learner: string) {
    super(`learner ${learner} already has a gradient in the current round`);
  }
}

/**
 * Variants whose learners never wait (async, k-batch-async) would otherwise push faster than
 * rounds can be aggregated: past 2K pending gradients an arrival waits for the next version.
 */
export class BacklogFullError extends KasyncError {
  override readonly name = 'BacklogFullError';
  constructor(readonly pending: number) {
    super(`${pending} gradients are waiting to be aggregated`);
  }
}

/** Another aggregator committed this version first (or the round moved on); nothing to do. */
export class VersionAlreadyCommittedError extends KasyncError {
  override readonly name = 'VersionAlreadyCommittedError';
  constructor(readonly version: number) {
    super(`version ${version} was already committed`);
  }
}

/** Another invocation took this learner over (this one was presumed dead): stop at once. */
export class LearnerFencedError extends KasyncError {
  override readonly name = 'LearnerFencedError';
  constructor(readonly learner: string) {
    super(`learner ${learner} was taken over by another invocation`);
  }
}
