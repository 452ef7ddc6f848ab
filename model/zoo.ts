import { ModelConfigError } from './errors';
import { attr, type FloatType, Graph, tensor } from './graph';
import { createManifest, type ParamManifest, paramView } from './params';
import { createRng, hashSeed, type Rng } from './random';
import { buildLossGraph, buildTrainGraph, GRAPH_IO } from './train-graph';

export const ACTIVATIONS = { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid' } as const;
export type Activation = keyof typeof ACTIVATIONS;

export type ModelConfig =
  | { readonly kind: 'softmax' }
  /**
   * Binary logistic regression: one score z = w.x + b per row, emitted as the two logits
   * [-z/2, z/2]. Softmax over those is [1 - sigmoid(z), sigmoid(z)], so the shared two-class
   * cross-entropy is exactly the logistic loss, with features + 1 parameters and the same
   * `logits` contract as every other model.
   */
  | { readonly kind: 'logreg' }
  | { readonly kind: 'mlp'; readonly hidden?: readonly number[]; readonly activation?: Activation }
  /**
   * Per entry of `channels`: 3x3 convolution (pads 1), 2x2 max pooling, activation (ReLU by
   * default); then one dense layer to the classes. Rows are images [C, H, W] given by `image`, by default one channel
   * of side sqrt(features) (MNIST: [1, 28, 28]).
   */
  | {
      readonly kind: 'cnn';
      readonly channels?: readonly number[];
      readonly activation?: Activation;
      readonly image?: readonly [number, number, number];
    };

export const MLP_DEFAULTS = { hidden: [128], activation: 'relu' } as const;
export const CNN_DEFAULTS = { channels: [8, 16], activation: 'relu' } as const;

export interface DataShape {
  readonly features: number;
  readonly classes: number;
}

/**
 * A model ready to train: the ONNX graphs (see GRAPH_IO for their tensor names) and the
 * layout of its flat parameter vector. Parameters are graph inputs, not initializers, so
 * a new flat vector can be fed every step.
 */
export interface BuiltModel extends DataShape {
  readonly manifest: ParamManifest;
  /** Inputs: each parameter by name and `x` [N, features]; output `logits` [N, classes]. */
  readonly forward: Uint8Array;
  /** Inputs: parameters, `x`, `y` int64 [N]; outputs `loss` (batch mean), then `grad/{parameter}` each. */
  readonly train: Uint8Array;
  /**
   * Initial parameters. Built-in models: deterministic in the seed, He-normal weights before
   * ReLU, Glorot-uniform elsewhere, zero biases. Imported models: the file's own weights.
   */
  initParams(seed: number): Float32Array;
}

export type Init = 'he-normal' | 'glorot-uniform' | 'zeros';

export function buildModel(config: ModelConfig, data: DataShape): BuiltModel {
  const { forward, loss, manifest, inits } = buildModelGraphs(config, data);
  const train = buildTrainGraph(loss, { manifest });
  return {
    features: data.features,
    classes: data.classes,
    manifest,
    forward: forward.toBytes(),
    train: train.toBytes(),
    initParams: (seed) => initParams(manifest, inits, createRng(hashSeed('init', seed))),
  };
}

export interface ModelGraphs {
  readonly forward: Graph;
  /** The forward graph plus input `y` and the scalar mean cross-entropy `loss`. */
  readonly loss: Graph;
  readonly manifest: ParamManifest;
  /** Initializer of each parameter, in manifest order. */
  readonly inits: readonly Init[];
}

/**
 * The graphs behind buildModel, before differentiation and serialization. A float64 build
 * has the same structure and parameter names, which lets tests check float32 gradients
 * against precise finite differences.
 */
export function buildModelGraphs(
  config: ModelConfig,
  data: DataShape,
  floatType: FloatType = 'float32',
): ModelGraphs {
  checkDataShape(config, data);
  const forward = new Graph(`kasync_${config.kind}`);
  const params: { name: string; shape: readonly number[] }[] = [];
  const inits: Init[] = [];
  /** Gemm with a PyTorch-layout weight [out, in] (transB = 1), so exported weights match nn.Linear. */
  const dense = (input: string, name: string, inFeatures: number, outFeatures: number, weightInit: Init) => {
    const weight = forward.addInput(`${name}.weight`, floatType, [outFeatures, inFeatures]);
    const bias = forward.addInput(`${name}.bias`, floatType, [outFeatures]);
    params.push({ name: weight, shape: [outFeatures, inFeatures] }, { name: bias, shape: [outFeatures] });
    inits.push(weightInit, 'zeros');
    return forward.op('Gemm', [input, weight, bias], { transB: attr.int(1) }, { name });
  };
  const x = forward.addInput(GRAPH_IO.x, floatType, ['N', data.features]);

  let logits: string;
  switch (config.kind) {
    case 'softmax':
      logits = dense(x, 'linear', data.features, data.classes, 'glorot-uniform');
      break;
    case 'logreg': {
      const score = dense(x, 'linear', data.features, 1, 'glorot-uniform');
      logits = forward.op('Mul', [score, forward.constant(tensor.float(floatType, [-0.5, 0.5], [2]))]);
      break;
    }
    case 'mlp': {
      const hidden = config.hidden ?? MLP_DEFAULTS.hidden;
      const activation = config.activation ?? MLP_DEFAULTS.activation;
      let current = x;
      let width = data.features;
      hidden.forEach((units, i) => {
        const layer = `fc${i + 1}`;
        const preActivation = dense(
          current,
          layer,
          width,
          units,
          activation === 'relu' ? 'he-normal' : 'glorot-uniform',
        );
        current = forward.op(ACTIVATIONS[activation], [preActivation], undefined, {
          name: `${layer}.${activation}`,
        });
        width = units;
      });
      logits = dense(current, `fc${hidden.length + 1}`, width, data.classes, 'glorot-uniform');
      break;
    }
    case 'cnn': {
      const [channels, height, width] = cnnImage(config, data);
      // Declared shapes let the gradient rules skip run-time cropping and padding.
      const declared = (name: string, dims: readonly number[]) => {
        forward.declareValueInfo(name, floatType, ['N', ...dims]);
        return name;
      };
      const imageShape = forward.constant(tensor.int64([-1, channels, height, width]));
      let current = declared(forward.op('Reshape', [x, imageShape], undefined, { name: 'image' }), [
        channels,
        height,
        width,
      ]);
      let [depth, rows, columns] = [channels, height, width];
      const activation = config.activation ?? CNN_DEFAULTS.activation;
      (config.channels ?? CNN_DEFAULTS.channels).forEach((filters, i) => {
        const layer = `conv${i + 1}`;
        const weight = forward.addInput(`${layer}.weight`, floatType, [filters, depth, 3, 3]);
        const bias = forward.addInput(`${layer}.bias`, floatType, [filters]);
        params.push({ name: weight, shape: [filters, depth, 3, 3] }, { name: bias, shape: [filters] });
        inits.push(activation === 'relu' ? 'he-normal' : 'glorot-uniform', 'zeros');
        const samePadding = { pads: attr.ints([1, 1, 1, 1]) };
        const convolved = declared(
          forward.op('Conv', [current, weight, bias], samePadding, { name: layer }),
          [filters, rows, columns],
        );
        [depth, rows, columns] = [filters, Math.floor(rows / 2), Math.floor(columns / 2)];
        // Pooling before the activation computes the same function (every activation here is
        // monotone, so it commutes with max), with the activation and its gradient on a quarter
        // of the values.
        const halving = { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) };
        const pooled = forward.op('MaxPool', [convolved], halving, { name: `pool${i + 1}` });
        current = declared(
          forward.op(ACTIVATIONS[activation], [pooled], undefined, { name: `pool${i + 1}.${activation}` }),
          [depth, rows, columns],
        );
      });
      const flat = forward.op('Flatten', [current], { axis: attr.int(1) }, { name: 'flatten' });
      logits = dense(flat, 'fc', depth * rows * columns, data.classes, 'glorot-uniform');
      break;
    }
  }
  forward.addNode({ opType: 'Identity', inputs: [logits], outputs: [GRAPH_IO.logits] });
  forward.addOutput(GRAPH_IO.logits, floatType, ['N', data.classes]);

  const loss = buildLossGraph(forward, { loss: 'cross-entropy', labels: 'classes', floatType });
  return { forward, loss, manifest: createManifest(params), inits };
}

function checkDataShape(config: ModelConfig, data: DataShape): void {
  if (!Number.isInteger(data.features) || data.features < 1) {
    throw new ModelConfigError(`features must be a positive integer, got ${data.features}`);
  }
  if (!Number.isInteger(data.classes) || data.classes < 2) {
    throw new ModelConfigError(`classes must be an integer >= 2, got ${data.classes}`);
  }
  if (config.kind === 'logreg' && data.classes !== 2) {
    throw new ModelConfigError(`logreg is binary: the dataset must have 2 classes, it has ${data.classes}`);
  }
  if (config.kind === 'cnn') {
    cnnImage(config, data);
    const channels = config.channels ?? CNN_DEFAULTS.channels;
    if (channels.length === 0 || !channels.every((filters) => Number.isInteger(filters) && filters > 0)) {
      throw new ModelConfigError(`cnn channels must be positive integers, got [${channels.join(', ')}]`);
    }
  }
  if (config.kind === 'mlp') {
    const hidden = config.hidden ?? MLP_DEFAULTS.hidden;
    if (!hidden.every((units) => Number.isInteger(units) && units > 0)) {
      throw new ModelConfigError(`mlp hidden sizes must be positive integers, got [${hidden.join(', ')}]`);
    }
  }
  if ((config.kind === 'mlp' || config.kind === 'cnn') && config.activation !== undefined) {
    if (!(config.activation in ACTIVATIONS)) {
      throw new ModelConfigError(
        `unknown activation '${config.activation}'; expected one of ${Object.keys(ACTIVATIONS).join(', ')}`,
      );
    }
  }
}

/** [C, H, W] of a CNN's input rows; each of the layers must leave at least one pixel. */
function cnnImage(
  config: Extract<ModelConfig, { kind: 'cnn' }>,
  data: DataShape,
): readonly [number, number, number] {
  const side = Math.round(Math.sqrt(data.features));
  const image = config.image ?? [1, side, side];
  if (
    !image.every((dim) => Number.isInteger(dim) && dim > 0) ||
    image.reduce((a, b) => a * b, 1) !== data.features
  ) {
    throw new ModelConfigError(
      config.image
        ? `cnn image [${image.join(', ')}] does not hold the dataset's ${data.features} features`
        : `cnn needs square one-channel images (features = side^2), got ${data.features} features; give image [C, H, W]`,
    );
  }
  const layers = (config.channels ?? CNN_DEFAULTS.channels).length;
  if (Math.min(image[1], image[2]) < 2 ** layers) {
    throw new ModelConfigError(
      `cnn image ${image[1]}x${image[2]} is too small for ${layers} pooling layers (each halves it)`,
    );
  }
  return image;
}

function initParams(manifest: ParamManifest, inits: readonly Init[], rng: Rng): Float32Array {
  const flat = new Float32Array(manifest.totalSize);
  manifest.params.forEach((spec, i) => {
    const values = paramView(flat, spec);
    // PyTorch's fans: a weight is [out, in, kernel...], and each kernel position counts.
    const [outputs = 1, inputs = 1, ...kernel] = spec.shape;
    const receptiveField = kernel.reduce((a, b) => a * b, 1);
    const [fanOut, fanIn] = [outputs * receptiveField, inputs * receptiveField];
    if (inits[i] === 'he-normal') {
      const std = Math.sqrt(2 / fanIn);
      for (let j = 0; j < values.length; j++) values[j] = rng.normal() * std;
    } else if (inits[i] === 'glorot-uniform') {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let j = 0; j < values.length; j++) values[j] = (2 * rng.next() - 1) * limit;
    }
  });
  return flat;
}
