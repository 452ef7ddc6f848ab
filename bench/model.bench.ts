import * as ort from 'onnxruntime-node';
import { type Batch, loadBuiltinDataset, sampleBatch } from '../model/datasets';
import type { ParamManifest } from '../model/params';
import { createRng } from '../model/random';
import { createTrainSession, gradientFetches, paramFeeds } from '../model/session';
import { GRAPH_IO } from '../model/train-graph';
import { type BuiltModel, buildModel, type ModelConfig } from '../model/zoo';

/**
 * Issue 4, part 7, at batch 64 on MNIST, one intra-op thread as learners run:
 * (a) train-graph step time / forward-graph time on the same batch, for the MLP and the CNN
 *     (goal <= 3.0);
 * (b) speedup of the MLP train graph over a plain-TypeScript step of the same MLP, forward and
 *     backward (goal >= 50x).
 * All timings of one ratio are interleaved in one process so load on the machine hits both
 * sides alike; each ratio is of medians, with the interquartile range of the per-round ratios.
 */
const BATCH = 64;
const ROUNDS = 200;
const TYPESCRIPT_ROUNDS = 100;
const WARMUP = 20;

const sessionOptions: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

const data = loadBuiltinDataset('mnist');
const batch = sampleBatch(data.train, BATCH, createRng(1));

/**
 * Runs `steps` in turn, BLOCK calls of each per round, and returns each one's times in ms.
 * Blocks keep each side warm (a plain step evicts the train graph's weights from cache, which a
 * learner running train steps back to back never suffers); alternating blocks spreads changes
 * in machine load over both sides, and the order rotates every round so that each side follows
 * each other side equally often.
 */
const BLOCK = 5;
async function interleaved(steps: readonly (() => Promise<unknown>)[], rounds: number): Promise<number[][]> {
  const times = steps.map(() => [] as number[]);
  for (let round = -WARMUP / BLOCK; round < rounds / BLOCK; round++) {
    for (let turn = 0; turn < steps.length; turn++) {
      const i = (turn + Math.max(round, 0)) % steps.length;
      for (let call = 0; call < BLOCK; call++) {
        const started = performance.now();
        await (steps[i] as () => Promise<unknown>)();
        if (round >= 0) times[i]?.push(performance.now() - started);
      }
    }
  }
  return times;
}

const median = (values: readonly number[]) => quantile(values, 0.5);
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function report(
  label: string,
  numerator: readonly number[],
  denominator: readonly number[],
  goal: string,
): number {
  const ratio = median(numerator) / median(denominator);
  // Call i of one side against call i of the other: the same position in neighbouring blocks.
  const perRound = numerator.map((value, i) => value / (denominator[i] as number));
  process.stdout.write(
    `${label.padEnd(64)} ${ratio.toFixed(2).padStart(7)}  (${median(numerator).toFixed(3)} / ${median(denominator).toFixed(3)} ms; ` +
      `per-pair IQR ${quantile(perRound, 0.25).toFixed(2)}-${quantile(perRound, 0.75).toFixed(2)}; goal ${goal})\n`,
  );
  return ratio;
}

/**
 * The graphs run bare, as the issue compares them: the train graph with its gradient outputs
 * bound to one flat vector as TrainSession binds them, the forward graph as is. A learner's
 * whole step (TrainSession.step: input checks, label conversion, new input tensors) is timed
 * too and printed beside each ratio.
 */
async function sessions(model: BuiltModel, params: Float32Array) {
  const [graph, learner, forward] = await Promise.all([
    ort.InferenceSession.create(model.train, sessionOptions),
    createTrainSession(model),
    ort.InferenceSession.create(model.forward, sessionOptions),
  ]);
  const x = new ort.Tensor('float32', batch.x, [BATCH, data.features]);
  const y = new ort.Tensor('int64', BigInt64Array.from(batch.y, BigInt), [BATCH]);
  const feeds = paramFeeds(model.manifest, params);
  const grad = new Float32Array(model.manifest.totalSize);
  const fetches = {
    [GRAPH_IO.loss]: new ort.Tensor('float32', new Float32Array(1), []),
    ...gradientFetches(model.manifest, grad),
  };
  return {
    trainGraph: async () => {
      await graph.run({ ...feeds, [GRAPH_IO.x]: x, [GRAPH_IO.y]: y }, fetches);
      return grad;
    },
    learnerStep: () => learner.step(params, batch, grad),
    forwardPass: () => forward.run({ ...feeds, [GRAPH_IO.x]: x }),
    release: () => Promise.all([graph.release(), learner.release(), forward.release()]),
  };
}

/**
 * One SGD step of the 784-128-10 ReLU MLP with mean softmax cross-entropy in plain TypeScript:
 * Float32Array buffers, loops ordered for sequential memory access (i-k-j), no allocation per
 * step. Returns the loss and writes the gradient in the train graph's flat layout.
 */
function typescriptMlp(manifest: ParamManifest) {
  const [w1Spec, b1Spec, w2Spec, b2Spec] = manifest.params as [
    (typeof manifest.params)[0],
    (typeof manifest.params)[0],
    (typeof manifest.params)[0],
    (typeof manifest.params)[0],
  ];
  const [hidden, inputs] = w1Spec.shape as [number, number];
  const classes = w2Spec.shape[0] as number;
  const h = new Float32Array(BATCH * hidden);
  const logits = new Float32Array(BATCH * classes);
  const dLogits = new Float32Array(BATCH * classes);
  const dh = new Float32Array(BATCH * hidden);
  return (params: Float32Array, input: Batch, grad: Float32Array): number => {
    const w1 = params.subarray(w1Spec.offset, w1Spec.offset + w1Spec.size);
    const b1 = params.subarray(b1Spec.offset, b1Spec.offset + b1Spec.size);
    const w2 = params.subarray(w2Spec.offset, w2Spec.offset + w2Spec.size);
    const b2 = params.subarray(b2Spec.offset, b2Spec.offset + b2Spec.size);
    const x = input.x;
    // h = relu(x W1^T + b1); W1 is [hidden, inputs] (PyTorch layout), so rows of W1 are dotted with rows of x.
    for (let n = 0; n < BATCH; n++) {
      for (let j = 0; j < hidden; j++) {
        let sum = b1[j] as number;
        const row = j * inputs;
        const xRow = n * inputs;
        for (let i = 0; i < inputs; i++) sum += (x[xRow + i] as number) * (w1[row + i] as number);
        h[n * hidden + j] = sum > 0 ? sum : 0;
      }
    }
    let loss = 0;
    for (let n = 0; n < BATCH; n++) {
      let max = -Infinity;
      for (let c = 0; c < classes; c++) {
        let sum = b2[c] as number;
        for (let j = 0; j < hidden; j++)
          sum += (h[n * hidden + j] as number) * (w2[c * hidden + j] as number);
        logits[n * classes + c] = sum;
        max = Math.max(max, sum);
      }
      let total = 0;
      for (let c = 0; c < classes; c++) total += Math.exp((logits[n * classes + c] as number) - max);
      const label = input.y[n] as number;
      loss += max + Math.log(total) - (logits[n * classes + label] as number);
      for (let c = 0; c < classes; c++) {
        const probability = Math.exp((logits[n * classes + c] as number) - max) / total;
        dLogits[n * classes + c] = (probability - (c === label ? 1 : 0)) / BATCH;
      }
    }
    grad.fill(0);
    dh.fill(0);
    for (let n = 0; n < BATCH; n++) {
      for (let c = 0; c < classes; c++) {
        const d = dLogits[n * classes + c] as number;
        grad[b2Spec.offset + c] = (grad[b2Spec.offset + c] as number) + d;
        for (let j = 0; j < hidden; j++) {
          grad[w2Spec.offset + c * hidden + j] =
            (grad[w2Spec.offset + c * hidden + j] as number) + d * (h[n * hidden + j] as number);
          dh[n * hidden + j] = (dh[n * hidden + j] as number) + d * (w2[c * hidden + j] as number);
        }
      }
    }
    for (let n = 0; n < BATCH; n++) {
      for (let j = 0; j < hidden; j++) {
        if ((h[n * hidden + j] as number) <= 0) continue;
        const d = dh[n * hidden + j] as number;
        grad[b1Spec.offset + j] = (grad[b1Spec.offset + j] as number) + d;
        const row = w1Spec.offset + j * inputs;
        const xRow = n * inputs;
        for (let i = 0; i < inputs; i++)
          grad[row + i] = (grad[row + i] as number) + d * (x[xRow + i] as number);
      }
    }
    return loss / BATCH;
  };
}

async function main(): Promise<void> {
  process.stdout.write(
    `MNIST, batch ${BATCH}, 1 intra-op thread; ${ROUNDS} timed calls per side (${TYPESCRIPT_ROUNDS} for plain TypeScript) in alternating blocks of ${BLOCK}, after ${WARMUP} warm-up\n`,
  );
  const configs: [string, ModelConfig][] = [
    ['MLP 784-128-10', { kind: 'mlp' }],
    ['CNN (conv 8, conv 16, dense)', { kind: 'cnn' }],
  ];
  for (const [label, config] of configs) {
    const model = buildModel(config, data);
    const run = await sessions(model, model.initParams(1));
    const [train, step, forward] = await interleaved(
      [run.trainGraph, run.learnerStep, run.forwardPass],
      ROUNDS,
    );
    report(`(a) ${label}: train graph / forward graph`, train as number[], forward as number[], '<= 3.0');
    report(
      '    learner step (TrainSession.step) / forward graph',
      step as number[],
      forward as number[],
      '-',
    );
    await run.release();
  }

  const mlp = buildModel({ kind: 'mlp' }, data);
  const params = mlp.initParams(1);
  const run = await sessions(mlp, params);
  const step = typescriptMlp(mlp.manifest);
  const grad = new Float32Array(mlp.manifest.totalSize);
  // The plain step computes what the train graph computes.
  const reference = Float32Array.from(await run.trainGraph());
  step(params, batch, grad);
  const largest = reference.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
  const difference = grad.reduce(
    (worst, value, i) => Math.max(worst, Math.abs(value - (reference[i] as number))),
    0,
  );
  const [typescript, train, learnerStep] = await interleaved(
    [async () => step(params, batch, grad), run.trainGraph, run.learnerStep],
    TYPESCRIPT_ROUNDS,
  );
  report('(b) MLP: plain TypeScript step / train graph', typescript as number[], train as number[], '>= 50');
  report('    plain TypeScript step / learner step', typescript as number[], learnerStep as number[], '-');
  process.stdout.write(
    `    (plain step's gradient equals the train graph's to ${(difference / largest).toExponential(1)} of its largest entry)\n`,
  );
  await run.release();
}

void main();
