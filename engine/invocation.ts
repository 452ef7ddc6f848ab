import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DuplicateInvocationError } from './errors';
import { type LearnerInvocation, type LearnerOptions, runLearner } from './learner';
import type { JobRuntime } from './runtime';
import { storeCall } from './store/translate';

/** Starts (or continues) a learner with an asynchronous Lambda invocation. */
export async function invokeLearner(
  lambda: LambdaClient,
  endpoint: string,
  functionName: string,
  invocation: LearnerInvocation,
): Promise<void> {
  await storeCall('Lambda', endpoint, `function ${functionName}`, () =>
    lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(invocation)),
      }),
    ),
  );
}

export interface InvocationResult {
  readonly duplicate: boolean;
  readonly pushed: number;
  readonly rejected: number;
  readonly continued: boolean;
}

/**
 * The whole of one learner invocation: claim the epoch (a duplicate delivery stops here), run
 * the learner loop, record its counters, and hand over to the next epoch while the job runs.
 */
export async function handleLearnerInvocation(
  runtime: JobRuntime,
  invocation: LearnerInvocation,
  options: LearnerOptions,
  reinvoke: (next: LearnerInvocation) => Promise<void>,
): Promise<InvocationResult> {
  const { jobs } = runtime.stores;
  const start = Date.now();
  try {
    await jobs.claimEpoch(invocation.jobId, invocation.learner, invocation.epoch);
  } catch (error) {
    if (error instanceof DuplicateInvocationError) return { duplicate: true, pushed: 0, rejected: 0, continued: false };
    throw error;
  }
  const outcome = await runLearner(runtime, invocation, options);
  const initMs = options.coldStart ? Math.round(options.initMs) : 0;
  await jobs.addLearnerCounters(
    invocation.jobId,
    invocation.learner,
    {
      pushed: outcome.pushed,
      rejected: outcome.rejected,
      coldStarts: options.coldStart ? 1 : 0,
      initMs,
      busyMs: outcome.busyMs,
      idleMs: outcome.idleMs,
      invocations: 1,
    },
    {
      epoch: invocation.epoch,
      start,
      end: Date.now(),
      coldStart: options.coldStart,
      initMs,
      busyMs: outcome.busyMs,
      idleMs: outcome.idleMs,
      pushed: outcome.pushed,
    },
  );
  if (outcome.continueJob) await reinvoke({ ...invocation, epoch: invocation.epoch + 1 });
  return { duplicate: false, pushed: outcome.pushed, rejected: outcome.rejected, continued: outcome.continueJob };
}
