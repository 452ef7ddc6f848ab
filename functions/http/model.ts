import { checkJobId } from '../../engine/jobs';
import { s3Keys } from '../../engine/keys';
import type { JobDescriptor } from '../../engine/runtime';
import type { Stores } from '../../engine/store';
import { exportInferenceModel } from '../../model/export';

/**
 * The job's latest committed weights baked into its forward graph: a plain ONNX inference model
 * with one input, `x`. A running job exports the version committed when it is asked.
 */
export async function exportJobModel(
  stores: Stores,
  jobId: string,
): Promise<{ bytes: Uint8Array; version: number }> {
  checkJobId(jobId);
  const { version } = await stores.jobs.getJob(jobId);
  const [descriptor, forward, weights] = await Promise.all([
    stores.blobs.getJson<JobDescriptor>(s3Keys.spec(jobId)),
    stores.blobs.get(s3Keys.forwardModel(jobId)),
    stores.blobs.getWeights(jobId, version),
  ]);
  return { bytes: exportInferenceModel({ forward, manifest: descriptor.params }, weights), version };
}
