import * as ort from 'onnxruntime-node';
import type { Batch } from './datasets';
import { ModelError, ShapeMismatchError } from './errors';
import { checkFlatSize, type ParamManifest } from './params';
import { GRAPH_IO } from './train-graph';

export interface SessionOptions {
  /**
   * Intra-op threads. Defaults to 1: learners are many processes sharing few cores, where
   * extra threads only add contention.
   */
  readonly threads?: number;
}

export interface EvalSessionOptions extends SessionOptions {
  /** Rows per forward run, bounding memory for large evaluation sets. */
  readonly chunkRows?: number;
}

export interface StepResult {
  /** Mean loss over the batch. */
  readonly loss: number;
  /** Gradient of the mean loss, flat in manifest order. */
  readonly grad: Float32Array;
}

export interface Evaluation {
  /** Mean cross-entropy. */
  readonly loss: number;
  readonly accuracy: number;
  readonly n: number;
}

export interface TrainSession {
  step(params: Float32Array, batch: Batch): Promise<StepResult>;
  release(): Promise<void>;
}

export interface EvalSession {
  evaluate(params: Float32Array, data: Batch): Promise<Evaluation>;
  release(): Promise<void>;
}

const DEFAULT_CHUNK_ROWS = 1000;

/** A model's train graph as built by the zoo or downloaded from S3 by a cold learner. */
export async function createTrainSession(
  model: { readonly train: Uint8Array; readonly manifest: ParamManifest },
  options?: SessionOptions,
): Promise<TrainSession> {
  const session = await openSession(model.train, options, 'train');
  const features = featureCount(session);
  return {
    async step(params, batch) {
      checkFlatSize(model.manifest, params);
      const rows = checkBatch(batch, features);
      const feeds = {
        ...paramFeeds(model.manifest, params),
        [GRAPH_IO.x]: new ort.Tensor('float32', rows, [batch.n, features]),
        [GRAPH_IO.y]: new ort.Tensor('int64', BigInt64Array.from(batch.y.subarray(0, batch.n), BigInt), [
          batch.n,
        ]),
      };
      const outputs = await run(session, feeds, 'train step');
      return {
        loss: outputTensor(outputs, GRAPH_IO.loss).data[0] as number,
        grad: outputTensor(outputs, GRAPH_IO.grad).data,
      };
    },
    release: () => session.release(),
  };
}

/** Loss and accuracy from the forward graph's logits, computed in float64 chunk by chunk. */
export async function createEvalSession(
  model: { readonly forward: Uint8Array; readonly manifest: ParamManifest },
  options?: EvalSessionOptions,
): Promise<EvalSession> {
  const session = await openSession(model.forward, options, 'forward');
  const features = featureCount(session);
  const chunkRows = options?.chunkRows ?? DEFAULT_CHUNK_ROWS;
  return {
    async evaluate(params, data) {
      checkFlatSize(model.manifest, params);
      const rows = checkBatch(data, features);
      const feeds = paramFeeds(model.manifest, params);
      let lossSum = 0;
      let correct = 0;
      for (let start = 0; start < data.n; start += chunkRows) {
        const count = Math.min(chunkRows, data.n - start);
        const x = new ort.Tensor('float32', rows.subarray(start * features, (start + count) * features), [
          count,
          features,
        ]);
        const logits = outputTensor(
          await run(session, { ...feeds, [GRAPH_IO.x]: x }, 'evaluation'),
          GRAPH_IO.logits,
        );
        const classes = logits.dims[1] as number;
        const values = logits.data;
        for (let row = 0; row < count; row++) {
          const label = data.y[start + row] as number;
          if (!(label < classes))
            throw new ShapeMismatchError(`label ${label} is not one of the model's ${classes} classes`);
          const scores = values.subarray(row * classes, (row + 1) * classes);
          let best = 0;
          for (let c = 1; c < classes; c++) if ((scores[c] as number) > (scores[best] as number)) best = c;
          const max = scores[best] as number;
          let sumExp = 0;
          for (let c = 0; c < classes; c++) sumExp += Math.exp((scores[c] as number) - max);
          lossSum += max + Math.log(sumExp) - (scores[label] as number);
          if (best === label) correct++;
        }
      }
      return { loss: lossSum / data.n, accuracy: correct / data.n, n: data.n };
    },
    release: () => session.release(),
  };
}

async function openSession(
  bytes: Uint8Array,
  options: SessionOptions | undefined,
  what: string,
): Promise<ort.InferenceSession> {
  const threads = options?.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1)
    throw new ModelError(`threads must be a positive integer, got ${threads}`);
  try {
    return await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (cause) {
    throw new ModelError(`onnxruntime could not load the ${what} graph`, { cause });
  }
}

async function run(
  session: ort.InferenceSession,
  feeds: ort.InferenceSession.FeedsType,
  what: string,
): Promise<ort.InferenceSession.ReturnType> {
  try {
    return await session.run(feeds);
  } catch (cause) {
    const detail = cause instanceof Error ? `: ${cause.message.split('\n')[0]}` : '';
    throw new ModelError(`onnxruntime failed during ${what}${detail}`, { cause });
  }
}

function outputTensor(outputs: ort.InferenceSession.ReturnType, name: string): ort.TypedTensor<'float32'> {
  const output = outputs[name];
  if (!(output instanceof ort.Tensor) || output.type !== 'float32') {
    throw new ModelError(`graph output '${name}' is missing or not float32`);
  }
  return output as ort.TypedTensor<'float32'>;
}

function featureCount(session: ort.InferenceSession): number {
  const x = session.inputMetadata.find((input) => input.name === GRAPH_IO.x);
  const features = x?.isTensor ? x.shape[1] : undefined;
  if (typeof features !== 'number')
    throw new ModelError(`graph input '${GRAPH_IO.x}' must be float32 [N, features]`);
  return features;
}

/** The parameters as views into the flat vector: onnxruntime reads them in place, no copies. */
function paramFeeds(manifest: ParamManifest, params: Float32Array): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const spec of manifest.params) {
    feeds[spec.name] = new ort.Tensor(
      'float32',
      params.subarray(spec.offset, spec.offset + spec.size),
      spec.shape,
    );
  }
  return feeds;
}

/** The batch's feature rows, exactly n x features long. */
function checkBatch(batch: Batch, features: number): Float32Array {
  if (!Number.isInteger(batch.n) || batch.n < 1)
    throw new ShapeMismatchError(`batch needs n >= 1 rows, got ${batch.n}`);
  if (batch.x.length < batch.n * features || batch.y.length < batch.n) {
    throw new ShapeMismatchError(
      `batch of ${batch.n} rows needs ${batch.n * features} features and ${batch.n} labels, got ${batch.x.length} and ${batch.y.length}`,
    );
  }
  return batch.x.subarray(0, batch.n * features);
}
