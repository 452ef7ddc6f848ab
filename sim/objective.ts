import type { Batch, Dataset, Split } from '../model/datasets';
import { sampleBatch } from '../model/datasets';
import type { Rng } from '../model/random';

/** What the simulator trains: loss and gradient of one mini-batch, and a held-out evaluation. */
export interface Objective {
  /** w[0]. */
  readonly initial: Float32Array;
  /** Samples a mini-batch with `rng` (as a learner does) and returns its mean loss and gradient. */
  gradient(weights: Float32Array, rng: Rng): { readonly loss: number; readonly grad: Float32Array };
  /** Mean cross-entropy and accuracy on the held-out split. */
  evaluate(weights: Float32Array): { readonly loss: number; readonly accuracy: number };
}

/** The zoo's linear models: `softmax` (one score per class) and `logreg` (one score z, logits [-z/2, z/2]). */
export type LinearModel = 'softmax' | 'logreg';

type Data = Pick<Dataset, 'features' | 'classes' | 'train' | 'test'>;

/**
 * Softmax and logistic regression in plain TypeScript: the zoo's `softmax` and `logreg` models
 * (scores = x W^T + b, mean cross-entropy over the logits) with their flat parameter layout
 * (`linear.weight` [outputs, features] row-major, then `linear.bias` [outputs]). They are the
 * same objectives as the onnxruntime train graphs (a test compares them) and far cheaper per
 * call, which is what lets the simulator train at P = 1000. Accumulates in float64.
 */
export function linearObjective(
  model: LinearModel,
  data: Data,
  batchSize: number,
  initial: Float32Array,
): Objective {
  const { features, classes } = data;
  if (model === 'logreg' && classes !== 2) {
    throw new RangeError(`logreg is binary: the dataset must have 2 classes, it has ${classes}`);
  }
  const outputs = model === 'softmax' ? classes : 1;
  const size = outputs * features + outputs;
  if (initial.length !== size) {
    throw new RangeError(`${model} on ${features} features has ${size} parameters, got ${initial.length}`);
  }
  const buffers = { x: new Float32Array(batchSize * features), y: new Uint8Array(batchSize) };
  const probabilities = new Float64Array(classes);
  const delta = new Float64Array(outputs);
  const gradient64 = new Float64Array(size);
  const biasOffset = outputs * features;
  return {
    initial,
    gradient(weights, rng) {
      const batch = sampleBatch(data.train, batchSize, rng, buffers);
      gradient64.fill(0);
      let loss = 0;
      for (let row = 0; row < batch.n; row++) {
        const label = batch.y[row] as number;
        loss += forwardRow(model, weights, batch.x, row, label, features, classes, probabilities);
        // d loss / d logit_c = p_c - [c = label]; for logreg, d loss / d z = p_1 - [label = 1].
        if (model === 'softmax') {
          for (let c = 0; c < classes; c++)
            delta[c] = ((probabilities[c] as number) - (c === label ? 1 : 0)) / batch.n;
        } else {
          delta[0] = ((probabilities[1] as number) - label) / batch.n;
        }
        const rows = batch.x;
        const x = row * features;
        for (let o = 0; o < outputs; o++) {
          const d = delta[o] as number;
          const w = o * features;
          for (let f = 0; f < features; f++)
            gradient64[w + f] = (gradient64[w + f] as number) + d * (rows[x + f] as number);
          gradient64[biasOffset + o] = (gradient64[biasOffset + o] as number) + d;
        }
      }
      return { loss: loss / batch.n, grad: new Float32Array(gradient64) };
    },
    evaluate(weights) {
      return evaluateLinear(model, weights, data.test, features, classes);
    },
  };
}

export function softmaxObjective(data: Data, batchSize: number, initial: Float32Array): Objective {
  return linearObjective('softmax', data, batchSize, initial);
}

/** Mean cross-entropy and accuracy of a linear model's `weights` on `split`. */
export function evaluateLinear(
  model: LinearModel,
  weights: Float32Array,
  split: Split | Batch,
  features: number,
  classes: number,
): { loss: number; accuracy: number } {
  const probabilities = new Float64Array(classes);
  let loss = 0;
  let correct = 0;
  for (let row = 0; row < split.n; row++) {
    const label = split.y[row] as number;
    loss += forwardRow(model, weights, split.x, row, label, features, classes, probabilities);
    let best = 0;
    for (let c = 1; c < classes; c++)
      if ((probabilities[c] as number) > (probabilities[best] as number)) best = c;
    if (best === label) correct++;
  }
  return { loss: loss / split.n, accuracy: correct / split.n };
}

/** Writes the class probabilities of one row into `out` and returns that row's cross-entropy for `label`. */
function forwardRow(
  model: LinearModel,
  weights: Float32Array,
  x: Float32Array,
  row: number,
  label: number,
  features: number,
  classes: number,
  out: Float64Array,
): number {
  const offset = row * features;
  const outputs = model === 'softmax' ? classes : 1;
  const biasOffset = outputs * features;
  for (let o = 0; o < outputs; o++) {
    let z = weights[biasOffset + o] as number;
    const w = o * features;
    for (let f = 0; f < features; f++) z += (weights[w + f] as number) * (x[offset + f] as number);
    out[o] = z;
  }
  if (model === 'logreg') {
    const z = out[0] as number;
    out[0] = -z / 2;
    out[1] = z / 2;
  }
  let max = -Infinity;
  for (let c = 0; c < classes; c++) max = Math.max(max, out[c] as number);
  const target = out[label] as number;
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    const e = Math.exp((out[c] as number) - max);
    out[c] = e;
    sum += e;
  }
  for (let c = 0; c < classes; c++) out[c] = (out[c] as number) / sum;
  return max + Math.log(sum) - target;
}
