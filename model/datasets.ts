import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DatasetError, ShardFormatError } from './errors';
import { createRng, hashSeed, type Rng } from './random';

/**
 * Rows of features (row-major [n, features]) with their labels: class indices (at most 256
 * classes) or float32 regression targets. Treat as read-only: loaded splits are cached.
 */
export interface Split {
  readonly x: Float32Array;
  readonly y: Uint8Array | Float32Array;
  readonly n: number;
}

/** What a session consumes; a Split is a Batch. */
export interface Batch {
  readonly x: Float32Array;
  /** Class indices, or float32 regression targets. */
  readonly y: Int32Array | Uint8Array | Float32Array;
  readonly n: number;
}

export interface Dataset {
  readonly name: string;
  readonly features: number;
  readonly classes: number;
  readonly train: Split;
  readonly test: Split;
}

/** A generated dataset with the softmax-regression model that generated it, i.e. the optimum it converges to. */
export interface SyntheticDataset extends Dataset {
  /** weight is [classes, features] row-major (the zoo's `linear.weight` layout), bias is [classes]. */
  readonly generator: { readonly weight: Float32Array; readonly bias: Float32Array };
}

export const BUILTIN_DATASETS = ['mnist', 'synthetic', 'synthetic-binary'] as const;
export type BuiltinDatasetName = (typeof BUILTIN_DATASETS)[number];

const MNIST_SIDE = 28;
/**
 * The `mnist` package's 10,000 digits split 8,000 / 2,000, stratified: each digit gives 20% of
 * its rows to test (largest-remainder rounding so the total is exactly 2,000), chosen by a
 * per-digit shuffle seeded from `hashSeed(seed, digit)`; each split is then shuffled with
 * `hashSeed(seed, 'train' | 'test')` so any contiguous shard mixes all digits. Changing the
 * seed changes every downstream result, so it is versioned, never edited.
 */
export const MNIST_SPLIT = { seed: 'mnist-split-v1', testRows: 2000 } as const;

export interface SyntheticOptions {
  readonly seed: string | number;
  readonly features: number;
  readonly classes: number;
  readonly trainRows: number;
  readonly testRows: number;
  /** Scale of the generating weights: larger separates the classes more. */
  readonly weightScale: number;
}

/** x ~ N(0, I); y ~ softmax(W x + b) with W ~ N(0, scale^2 / features), b ~ N(0, 0.25). */
export const SYNTHETIC_PRESETS = {
  synthetic: {
    seed: 'synthetic-v1',
    features: 20,
    classes: 4,
    trainRows: 4000,
    testRows: 1000,
    weightScale: 3,
  },
  'synthetic-binary': {
    seed: 'synthetic-binary-v1',
    features: 10,
    classes: 2,
    trainRows: 2000,
    testRows: 500,
    weightScale: 3,
  },
} as const satisfies Record<string, SyntheticOptions>;

const cache = new Map<BuiltinDatasetName, Dataset>();

/** Loads (once per process) a built-in dataset with its fixed train/test split. */
export function loadBuiltinDataset(name: BuiltinDatasetName): Dataset {
  let dataset = cache.get(name);
  if (dataset === undefined) {
    switch (name) {
      case 'mnist':
        dataset = loadMnist();
        break;
      case 'synthetic':
      case 'synthetic-binary':
        dataset = { ...generateSynthetic(SYNTHETIC_PRESETS[name]), name };
        break;
      default:
        throw new DatasetError(
          `unknown dataset '${name as string}'; built-in: ${BUILTIN_DATASETS.join(', ')}`,
        );
    }
    cache.set(name, dataset);
  }
  return dataset;
}

function loadMnist(): Dataset {
  const features = MNIST_SIDE * MNIST_SIDE;
  const digitsDir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const pixelsByDigit = Array.from({ length: 10 }, (_, digit) => {
    const parsed = JSON.parse(readFileSync(join(digitsDir, `${digit}.json`), 'utf8')) as { data: number[] };
    return Float32Array.from(parsed.data);
  });
  const rowsByDigit = pixelsByDigit.map((pixels) => pixels.length / features);
  const totalRows = rowsByDigit.reduce((a, b) => a + b, 0);
  const testQuota = largestRemainder(
    rowsByDigit.map((rows) => (rows * MNIST_SPLIT.testRows) / totalRows),
    MNIST_SPLIT.testRows,
  );
  const train: [number, number][] = [];
  const test: [number, number][] = [];
  rowsByDigit.forEach((rows, digit) => {
    const order = createRng(hashSeed(MNIST_SPLIT.seed, digit)).shuffle(
      Array.from({ length: rows }, (_, i) => i),
    );
    order.forEach((row, rank) => {
      (rank < (testQuota[digit] as number) ? test : train).push([digit, row]);
    });
  });
  const gather = (rows: [number, number][], label: string): Split => {
    createRng(hashSeed(MNIST_SPLIT.seed, label)).shuffle(rows);
    const x = new Float32Array(rows.length * features);
    const y = new Uint8Array(rows.length);
    rows.forEach(([digit, row], i) => {
      x.set(
        (pixelsByDigit[digit] as Float32Array).subarray(row * features, (row + 1) * features),
        i * features,
      );
      y[i] = digit;
    });
    return { x, y, n: rows.length };
  };
  return { name: 'mnist', features, classes: 10, train: gather(train, 'train'), test: gather(test, 'test') };
}

/** Integer parts of `quotas` that sum to `total`, giving leftover units to the largest fractions. */
function largestRemainder(quotas: readonly number[], total: number): number[] {
  const counts = quotas.map(Math.floor);
  const leftover = total - counts.reduce((a, b) => a + b, 0);
  const byFraction = quotas.map((quota, i) => ({ i, fraction: quota - Math.floor(quota) }));
  byFraction.sort((a, b) => b.fraction - a.fraction || a.i - b.i);
  for (const { i } of byFraction.slice(0, leftover)) counts[i] = (counts[i] as number) + 1;
  return counts;
}

export function generateSynthetic(options: SyntheticOptions): SyntheticDataset {
  const { features, classes } = options;
  const rng = createRng(hashSeed(options.seed, 'generator'));
  const weightStd = options.weightScale / Math.sqrt(features);
  const weight = Float32Array.from({ length: classes * features }, () => rng.normal() * weightStd);
  const bias = Float32Array.from({ length: classes }, () => rng.normal() * 0.5);
  const sample = (rows: number, label: string): Split => {
    const sampler = createRng(hashSeed(options.seed, label));
    const x = Float32Array.from({ length: rows * features }, () => sampler.normal());
    const y = new Uint8Array(rows);
    const probabilities = new Float64Array(classes);
    for (let row = 0; row < rows; row++) {
      let max = -Infinity;
      for (let c = 0; c < classes; c++) {
        let logit = bias[c] as number;
        for (let f = 0; f < features; f++)
          logit += (weight[c * features + f] as number) * (x[row * features + f] as number);
        probabilities[c] = logit;
        max = Math.max(max, logit);
      }
      let total = 0;
      for (let c = 0; c < classes; c++) {
        probabilities[c] = Math.exp((probabilities[c] as number) - max);
        total += probabilities[c] as number;
      }
      let u = sampler.next() * total;
      let label = 0;
      while (label < classes - 1 && u >= (probabilities[label] as number))
        u -= probabilities[label++] as number;
      y[row] = label;
    }
    return { x, y, n: rows };
  };
  return {
    name: 'synthetic',
    features,
    classes,
    train: sample(options.trainRows, 'train'),
    test: sample(options.testRows, 'test'),
    generator: { weight, bias },
  };
}

function featuresOf(split: Batch): number {
  if (!Number.isInteger(split.n) || split.n < 1 || split.x.length % split.n !== 0) {
    throw new DatasetError(`a split of ${split.n} rows cannot hold ${split.x.length} feature values`);
  }
  return split.x.length / split.n;
}

/** Contiguous shards of at most `rowsPerShard` rows; views into `split`, not copies. */
export function shardSplit(split: Split, rowsPerShard: number): Split[] {
  if (!Number.isInteger(rowsPerShard) || rowsPerShard < 1)
    throw new DatasetError(`rowsPerShard must be a positive integer`);
  const features = featuresOf(split);
  const shards: Split[] = [];
  for (let start = 0; start < split.n; start += rowsPerShard) {
    const end = Math.min(split.n, start + rowsPerShard);
    shards.push({
      x: split.x.subarray(start * features, end * features),
      y: split.y.subarray(start, end),
      n: end - start,
    });
  }
  return shards;
}

/**
 * `batchSize` rows drawn uniformly with replacement. Pass `buffers` to reuse memory across
 * steps; the returned batch then aliases them.
 */
export function sampleBatch(
  split: Split,
  batchSize: number,
  rng: Rng,
  buffers?: { readonly x: Float32Array; readonly y: Uint8Array | Float32Array },
): Batch {
  const features = featuresOf(split);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new DatasetError(`batch size must be a positive integer, got ${batchSize}`);
  const x = buffers?.x ?? new Float32Array(batchSize * features);
  const y =
    buffers?.y ?? (split.y instanceof Float32Array ? new Float32Array(batchSize) : new Uint8Array(batchSize));
  if (x.length < batchSize * features || y.length < batchSize) {
    throw new DatasetError(`buffers are too small for a batch of ${batchSize} rows`);
  }
  if (y instanceof Float32Array !== split.y instanceof Float32Array) {
    throw new DatasetError('label buffer and split disagree on class labels versus regression targets');
  }
  for (let i = 0; i < batchSize; i++) {
    const row = rng.int(split.n);
    x.set(split.x.subarray(row * features, (row + 1) * features), i * features);
    y[i] = split.y[row] as number;
  }
  return { x: x.subarray(0, batchSize * features), y: y.subarray(0, batchSize), n: batchSize };
}

/**
 * Shard layout (little-endian):
 *   0  magic "KSHD" | 4 version u16 | 6 pixel encoding u8 | 7 label encoding u8
 *   8  n u32 | 12 features u32 | 16 palette size u32
 *   20 palette float32[palette size] | labels u8[n] or float32[n] | pixels
 * Labels are class indices u8 (label encoding 0, what shards before regression targets wrote
 * in the then reserved byte) or float32 regression targets (1).
 * Pixels are float32[n * features], or with the palette encoding one u8 index per value into
 * the palette. The palette stores exact float32 bit patterns, so it is lossless by
 * construction; it is used whenever a shard has at most 256 distinct values (MNIST has 256:
 * k/255 rounded to 3 decimals), which makes shards 4x smaller.
 */
const SHARD_MAGIC = 0x4448534b; // "KSHD" read as little-endian u32
const SHARD_VERSION = 1;
const HEADER_BYTES = 20;
const PixelEncoding = { float32: 0, palette8: 1 } as const;
const LabelEncoding = { classes8: 0, float32: 1 } as const;

export function encodeShard(split: Split): Uint8Array {
  const features = featuresOf(split);
  const values = split.x.subarray(0, split.n * features);
  const palette = findPalette(values);
  const pixelBytes = palette ? values.length : values.length * 4;
  const paletteSize = palette?.length ?? 0;
  const targets = split.y instanceof Float32Array;
  const labelBytes = targets ? split.n * 4 : split.n;
  const bytes = new Uint8Array(HEADER_BYTES + paletteSize * 4 + labelBytes + pixelBytes);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, SHARD_MAGIC, true);
  view.setUint16(4, SHARD_VERSION, true);
  view.setUint8(6, palette ? PixelEncoding.palette8 : PixelEncoding.float32);
  view.setUint8(7, targets ? LabelEncoding.float32 : LabelEncoding.classes8);
  view.setUint32(8, split.n, true);
  view.setUint32(12, features, true);
  view.setUint32(16, paletteSize, true);
  let offset = HEADER_BYTES;
  if (palette) {
    palette.forEach((bits, i) => {
      view.setUint32(offset + i * 4, bits, true);
    });
    offset += paletteSize * 4;
  }
  const labels = split.y.subarray(0, split.n);
  bytes.set(
    labels instanceof Float32Array ? new Uint8Array(labels.buffer, labels.byteOffset, labelBytes) : labels,
    offset,
  );
  offset += labelBytes;
  if (palette) {
    const indexOf = new Map(palette.map((bits, i) => [bits, i]));
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < bits.length; i++) bytes[offset + i] = indexOf.get(bits[i] as number) as number;
  } else {
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
  }
  return bytes;
}

/** Distinct float32 bit patterns, or undefined when there are more than 256. */
function findPalette(values: Float32Array): number[] | undefined {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const seen = new Set<number>();
  for (let i = 0; i < bits.length; i++) {
    seen.add(bits[i] as number);
    if (seen.size > 256) return undefined;
  }
  return [...seen].sort((a, b) => a - b);
}

export function decodeShard(bytes: Uint8Array): Split {
  if (bytes.byteLength < HEADER_BYTES)
    throw new ShardFormatError(`shard of ${bytes.byteLength} bytes has no header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== SHARD_MAGIC) throw new ShardFormatError('not a kasync shard (bad magic)');
  const version = view.getUint16(4, true);
  if (version !== SHARD_VERSION) throw new ShardFormatError(`unsupported shard version ${version}`);
  const encoding = view.getUint8(6);
  const labelEncoding = view.getUint8(7);
  const n = view.getUint32(8, true);
  const features = view.getUint32(12, true);
  const paletteSize = view.getUint32(16, true);
  if (encoding !== PixelEncoding.float32 && encoding !== PixelEncoding.palette8) {
    throw new ShardFormatError(`unknown pixel encoding ${encoding}`);
  }
  if (labelEncoding !== LabelEncoding.classes8 && labelEncoding !== LabelEncoding.float32) {
    throw new ShardFormatError(`unknown label encoding ${labelEncoding}`);
  }
  const palette8 = encoding === PixelEncoding.palette8;
  const targets = labelEncoding === LabelEncoding.float32;
  const values = n * features;
  const labelBytes = targets ? n * 4 : n;
  const expected = HEADER_BYTES + paletteSize * 4 + labelBytes + (palette8 ? values : values * 4);
  if (bytes.byteLength !== expected) {
    throw new ShardFormatError(
      `shard of ${n}x${features} should be ${expected} bytes, got ${bytes.byteLength}`,
    );
  }
  let offset = HEADER_BYTES;
  // Pixels move as u32 bit patterns, never through JS numbers, so even NaN payloads survive.
  const palette = new Uint32Array(paletteSize);
  for (let i = 0; i < paletteSize; i++) palette[i] = view.getUint32(offset + i * 4, true);
  offset += paletteSize * 4;
  const labels = bytes.slice(offset, offset + labelBytes);
  const y = targets ? new Float32Array(labels.buffer) : labels;
  offset += labelBytes;
  const x = new Float32Array(values);
  if (palette8) {
    const xBits = new Uint32Array(x.buffer);
    for (let i = 0; i < values; i++) {
      const index = bytes[offset + i] as number;
      if (index >= paletteSize)
        throw new ShardFormatError(`pixel index ${index} is outside the palette of ${paletteSize}`);
      xBits[i] = palette[index] as number;
    }
  } else {
    new Uint8Array(x.buffer).set(bytes.subarray(offset, offset + values * 4));
  }
  return { x, y, n };
}
