import { isFinished, jobSummary, submitJob } from '../../../engine/jobs';
import type { JobSummary } from '../../../engine/summary';
import { type Embedded, LEARNER_FUNCTION } from '../../../local/kasync';

/**
 * Submits a job and polls until it ends and every learner invocation has returned. A job that
 * does not end in time fails with what the stores and the Lambda pool looked like.
 */
export async function runToEnd(
  embedded: Embedded,
  spec: object,
  during?: (jobId: string, summary: JobSummary) => Promise<void>,
  timeoutMs = 90_000,
): Promise<{ jobId: string; summary: JobSummary }> {
  const { jobId } = await submitJob(embedded.clients, embedded.resources, embedded.stores, spec, {
    localPaths: true,
  });
  const deadline = Date.now() + timeoutMs;
  let summary = await jobSummary(embedded.stores, jobId);
  while (!isFinished(summary)) {
    if (Date.now() > deadline) {
      const [state, learners] = await Promise.all([
        embedded.stores.jobs.getJob(jobId),
        embedded.stores.jobs.listLearners(jobId),
      ]);
      const pool = embedded.stack.lambda.workers(LEARNER_FUNCTION);
      const stats = embedded.stack.lambda.stats(LEARNER_FUNCTION);
      throw new Error(
        `job ${jobId} did not end in ${timeoutMs} ms: ${JSON.stringify({ summary, pending: state.pending, learners, pool, stats })}\n` +
          `learner log: ${embedded.stack.lambda.logFile(LEARNER_FUNCTION)}`,
      );
    }
    await during?.(jobId, summary);
    await new Promise((resolve) => setTimeout(resolve, 200));
    summary = await jobSummary(embedded.stores, jobId);
  }
  await embedded.stack.lambda.idle();
  return { jobId, summary: await jobSummary(embedded.stores, jobId) };
}
