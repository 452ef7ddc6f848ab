import * as ort from 'onnxruntime-node';
import type { Batch } from './datasets';
import { ModelError, ShapeMismatchError } from './errors';
import { checkFlatSize, type ParamManifest } from './params';
import { GRAPH_IO, gradientOutput } from './train-graph';

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
  /** The model's loss on the data: mean cross-entropy, or mean squared error. */
  readonly loss: number;
  /**
   * Fraction of rows whose largest output is the label. For regression targets, where there
   * is no right class, the coefficient of determination R^2 = 1 - SSE / SST instead: 1 is a
   * perfect fit, 0 no better than predicting the mean.
   */
  readonly accuracy: number;
  readonly n: number;
}

export interface TrainSession {
  /**
   * One forward and backward pass. The gradient is written into `into` when given (of the
   * manifest's total size; reusing one buffer saves allocating it every step), else into a new
   * vector.
   */
  step(params: Float32Array, batch: Batch, into?: Float32Array): Promise<StepResult>;
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
  const labels = session.inputMetadata.find((input) => input.name === GRAPH_IO.y);
  const wantsTargets = labels?.isTensor === true && labels.type === 'float32';
  // Tensors over the same vectors are reused: onnxruntime spends microseconds on each new one,
  // and learners step many times on one weights vector into one gradient buffer.
  const feedsFor = lastOf((params: Float32Array) => paramFeeds(model.manifest, params));
  const fetchesFor = lastOf((grad: Float32Array) => gradientFetches(model.manifest, grad));
  return {
    async step(params, batch, into) {
      checkFlatSize(model.manifest, params);
      if (into) checkFlatSize(model.manifest, into, 'gradient buffer');
      const rows = checkBatch(batch, features);
      const feeds = {
        ...feedsFor(params),
        [GRAPH_IO.x]: new ort.Tensor('float32', rows, [batch.n, features]),
        [GRAPH_IO.y]: labelTensor(batch, wantsTargets),
      };
      const loss = new Float32Array(1);
      const grad = into ?? new Float32Array(model.manifest.totalSize);
      const fetches = { [GRAPH_IO.loss]: new ort.Tensor('float32', loss, []), ...fetchesFor(grad) };
      await run(session, feeds, 'train step', fetches);
      return { loss: loss[0] as number, grad };
    },
    release: () => session.release(),
  };
}

/**
 * Loss and accuracy from the forward graph's output, computed in float64 chunk by chunk. The
 * output's name tells the loss: `logits` (cross-entropy) or `prediction` (mean squared error,
 * against targets or against one-hot class labels).
 */
export async function createEvalSession(
  model: { readonly forward: Uint8Array; readonly manifest: ParamManifest },
  options?: EvalSessionOptions,
): Promise<EvalSession> {
  const session = await openSession(model.forward, options, 'forward');
  const features = featureCount(session);
  const chunkRows = options?.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const output = session.outputNames.includes(GRAPH_IO.logits) ? GRAPH_IO.logits : GRAPH_IO.prediction;
  return {
    async evaluate(params, data) {
      checkFlatSize(model.manifest, params);
      const rows = checkBatch(data, features);
      const feeds = paramFeeds(model.manifest, params);
      const metrics = createMetrics(output, data);
      for (let start = 0; start < data.n; start += chunkRows) {
        const count = Math.min(chunkRows, data.n - start);
        const x = new ort.Tensor('float32', rows.subarray(start * features, (start + count) * features), [
          count,
          features,
        ]);
        const values = outputTensor(await run(session, { ...feeds, [GRAPH_IO.x]: x }, 'evaluation'), output);
        const width = values.data.length / count;
        for (let row = 0; row < count; row++) {
          metrics.add(values.data.subarray(row * width, (row + 1) * width), start + row);
        }
      }
      return { ...metrics.result(), n: data.n };
    },
    release: () => session.release(),
  };
}

interface Metrics {
  add(outputs: Float32Array, row: number): void;
  result(): { loss: number; accuracy: number };
}

function createMetrics(output: string, data: Batch): Metrics {
  if (data.y instanceof Float32Array) return regressionMetrics(data.y, data.n);
  const labels = data.y;
  let lossSum = 0;
  let correct = 0;
  const crossEntropy = output === GRAPH_IO.logits;
  return {
    add(scores, row) {
      const classes = scores.length;
      const label = labels[row] as number;
      if (!(label < classes))
        throw new ShapeMismatchError(`label ${label} is not one of the model's ${classes} classes`);
      let best = 0;
      for (let c = 1; c < classes; c++) if ((scores[c] as number) > (scores[best] as number)) best = c;
      if (best === label) correct++;
      if (crossEntropy) {
        const max = scores[best] as number;
        let sumExp = 0;
        for (let c = 0; c < classes; c++) sumExp += Math.exp((scores[c] as number) - max);
        lossSum += max + Math.log(sumExp) - (scores[label] as number);
      } else {
        // Mean over the row's entries of (output - onehot)^2, as the train graph's MSE averages.
        let squared = 0;
        for (let c = 0; c < classes; c++) squared += ((scores[c] as number) - (c === label ? 1 : 0)) ** 2;
        lossSum += squared / classes;
      }
    },
    result: () => ({ loss: lossSum / data.n, accuracy: correct / data.n }),
  };
}

function regressionMetrics(targets: Float32Array, n: number): Metrics {
  let squaredError = 0;
  let targetSum = 0;
  let targetSquares = 0;
  return {
    add(prediction, row) {
      if (prediction.length !== 1) {
        throw new ShapeMismatchError(
          `regression targets need one output per row, the model gives ${prediction.length}`,
        );
      }
      const target = targets[row] as number;
      squaredError += ((prediction[0] as number) - target) ** 2;
      targetSum += target;
      targetSquares += target * target;
    },
    result: () => {
      const totalSquares = targetSquares - (targetSum * targetSum) / n;
      return { loss: squaredError / n, accuracy: totalSquares > 0 ? 1 - squaredError / totalSquares : 0 };
    },
  };
}

/** int64 class indices, or the float32 targets of a regression model, as the train graph's `y` expects. */
function labelTensor(batch: Batch, wantsTargets: boolean): ort.Tensor {
  const labels = batch.y.subarray(0, batch.n);
  if (wantsTargets !== labels instanceof Float32Array) {
    throw new ShapeMismatchError(
      wantsTargets
        ? 'this model is trained on regression targets, the batch has class labels'
        : 'this model is trained on class labels, the batch has regression targets',
    );
  }
  if (labels instanceof Float32Array) return new ort.Tensor('float32', labels, [batch.n]);
  // A plain loop: BigInt64Array.from(labels, BigInt) takes five times as long.
  const indices = new BigInt64Array(batch.n);
  for (let i = 0; i < batch.n; i++) indices[i] = BigInt(labels[i] as number);
  return new ort.Tensor('int64', indices, [batch.n]);
}

/** `make` memoized for the most recent key only. */
function lastOf<Key, Value>(make: (key: Key) => Value): (key: Key) => Value {
  let last: { key: Key; value: Value } | undefined;
  return (key) => {
    if (last?.key !== key) last = { key, value: make(key) };
    return last.value;
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
  fetches?: ort.InferenceSession.FetchesType,
): Promise<ort.InferenceSession.ReturnType> {
  try {
    return await (fetches ? session.run(feeds, fetches) : session.run(feeds));
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

/** One tensor per parameter, each a view of the flat vector: onnxruntime reads them in place. */
export function paramFeeds(manifest: ParamManifest, params: Float32Array): Record<string, ort.Tensor> {
  return parameterViews(manifest, params, (name) => name);
}

/**
 * Preallocated train outputs: each parameter's gradient bound to its view of the flat `grad`,
 * so onnxruntime writes the flat vector in place.
 */
export function gradientFetches(manifest: ParamManifest, grad: Float32Array): Record<string, ort.Tensor> {
  return parameterViews(manifest, grad, gradientOutput);
}

function parameterViews(
  manifest: ParamManifest,
  flat: Float32Array,
  key: (parameter: string) => string,
): Record<string, ort.Tensor> {
  const views: Record<string, ort.Tensor> = {};
  for (const spec of manifest.params) {
    views[key(spec.name)] = new ort.Tensor(
      'float32',
      flat.subarray(spec.offset, spec.offset + spec.size),
      spec.shape,
    );
  }
  return views;
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
