import type { Split } from '../model/datasets';
import type { ParamManifest } from '../model/params';
import { createEvalSession, createTrainSession, type EvalSession, type TrainSession } from '../model/session';
import type { DatasetManifest } from './datasets';
import { loadSplit } from './datasets';
import { s3Keys } from './keys';
import type { JobSpec } from './spec';
import type { Stores } from './store';
import { WEIGHTS_RING, WeightsCache } from './weights-cache';

/** What `jobs/{job}/spec.json` holds: everything a cold learner needs besides the blobs. */
export interface JobDescriptor {
  readonly jobId: string;
  readonly spec: JobSpec;
  readonly params: ParamManifest;
  readonly dataset: DatasetManifest;
  readonly createdAt: number;
}

/**
 * A job as one process sees it: stores, the train session, the training data and a ring of
 * recent weights. Built once per process (the cold start) and reused by warm invocations.
 */
export class JobRuntime {
  readonly weights: WeightsCache;
  private evaluator?: Promise<{ session: EvalSession; test: Split }>;

  private constructor(
    readonly stores: Stores,
    readonly job: JobDescriptor,
    readonly train: TrainSession,
    readonly trainData: Split,
  ) {
    this.weights = new WeightsCache(WEIGHTS_RING, (version) => stores.blobs.getWeights(job.jobId, version));
  }

  static async load(stores: Stores, jobId: string): Promise<JobRuntime> {
    const job = await stores.blobs.getJson<JobDescriptor>(s3Keys.spec(jobId));
    const [trainOnnx, trainData] = await Promise.all([
      stores.blobs.get(s3Keys.trainModel(jobId)),
      loadSplit(stores.blobs, job.dataset.train.shards, job.dataset.features),
    ]);
    const train = await createTrainSession({ train: trainOnnx, manifest: job.params });
    return new JobRuntime(stores, job, train, trainData);
  }

  /** Loss and accuracy of `weights` on the held-out split (session and data loaded on first use). */
  async evaluate(weights: Float32Array): Promise<{ loss: number; accuracy: number }> {
    this.evaluator ??= (async () => {
      const { jobId, dataset } = this.job;
      const [forwardOnnx, test] = await Promise.all([
        this.stores.blobs.get(s3Keys.forwardModel(jobId)),
        loadSplit(this.stores.blobs, dataset.test.shards, dataset.features),
      ]);
      return { session: await createEvalSession({ forward: forwardOnnx, manifest: this.job.params }), test };
    })();
    const { session, test } = await this.evaluator;
    const { loss, accuracy } = await session.evaluate(weights, test);
    return { loss, accuracy };
  }

  async release(): Promise<void> {
    await this.train.release();
    if (this.evaluator) await (await this.evaluator).session.release();
  }
}
