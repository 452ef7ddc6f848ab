import { type AuditReport, auditJob } from '../engine/audit';
import { jobSummary, submitJob } from '../engine/jobs';
import { parseJobSpec } from '../engine/spec';
import type { JobSummary } from '../engine/summary';
import { type EmbeddedOptions, startEmbedded } from '../local/kasync';
import type { ApiClient } from './client';
import { followJob } from './follow';
import { uploadLocalFiles } from './spec-files';

export interface RunOptions extends EmbeddedOptions {
  readonly progress: boolean;
  /** Audit the finished job before the stack stops and add the report to the summary. */
  readonly audit?: boolean;
}

/** How long finished learners get to record their counters before the stack stops. */
const DRAIN_MS = 15_000;

/**
 * Starts an embedded stack, runs one job on it to the end, and stops everything it started,
 * also on Ctrl-C (the stack's children die with it).
 */
export async function runOnEmbeddedStack(
  spec: unknown,
  options: RunOptions,
): Promise<JobSummary & { audit?: AuditReport }> {
  parseJobSpec(spec); // a bad spec fails before anything starts
  const embedded = await startEmbedded(options);
  const interrupted = () => {
    process.stderr.write('\ninterrupted: stopping the embedded stack\n');
    void embedded.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const { jobId, spec: parsed } = await submitJob(
      embedded.clients,
      embedded.resources,
      embedded.stores,
      spec,
      // The spec file is the user's own: its local paths may be read and uploaded.
      { localPaths: true },
    );
    await followJob(() => jobSummary(embedded.stores, jobId), parsed, options.progress);
    await Promise.race([
      embedded.stack.lambda.idle(),
      new Promise((resolve) => setTimeout(resolve, DRAIN_MS)),
    ]);
    const summary = await jobSummary(embedded.stores, jobId);
    return options.audit ? { ...summary, audit: await auditJob(embedded.stores, jobId) } : summary;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await embedded.stop();
  }
}

/**
 * Submits a job to a kasync API and follows it to the end. Ctrl-C detaches: the job belongs to
 * the API's stack and keeps running there.
 */
export async function runOnEndpoint(
  client: ApiClient,
  spec: unknown,
  options: { progress: boolean },
): Promise<JobSummary> {
  const parsed = parseJobSpec(spec); // the API would refuse it too; this fails before any request
  // The API reads no files of the client's machine: local files go up first.
  const { jobId } = await client.submit(await uploadLocalFiles(client, spec));
  const detach = () => {
    process.stderr.write(
      `\njob ${jobId} keeps running at ${client.endpoint}; \`kasync stop ${jobId}\` stops it\n`,
    );
    process.exit(130);
  };
  process.once('SIGINT', detach);
  try {
    await followJob(() => client.summary(jobId), parsed, options.progress);
    await waitForLearnersToRecord(client, jobId);
    return await client.summary(jobId);
  } finally {
    process.off('SIGINT', detach);
  }
}

/** Finished learners record their last invocation as they exit; the summary counts them after. */
async function waitForLearnersToRecord(client: ApiClient, jobId: string): Promise<void> {
  const deadline = Date.now() + DRAIN_MS;
  while (Date.now() < deadline) {
    const { learners } = await client.metrics(jobId);
    if (learners.every((l) => l.invocations.some((inv) => inv.epoch === l.epoch))) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
