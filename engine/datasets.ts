import { createHash } from 'node:crypto';
import { parseCsvDataset } from '../model/csv';
import {
  type BuiltinDatasetName,
  type Dataset,
  decodeShard,
  encodeShard,
  loadBuiltinDataset,
  type Split,
  shardSplit,
} from '../model/datasets';
import { ModelError } from '../model/errors';
import type { LabelKind } from '../model/train-graph';
import { type AssetOptions, readAsset } from './assets';
import { ValidationError } from './errors';
import { s3Keys } from './keys';
import type { DatasetSpec } from './spec';
import type { BlobStore } from './store/blob-store';

export interface DatasetManifest {
  readonly name: string;
  readonly features: number;
  /** Number of classes; 0 for regression targets. */
  readonly classes: number;
  /** Absent in manifests written before regression targets existed: class labels. */
  readonly labels?: LabelKind;
  readonly train: { readonly n: number; readonly shards: readonly string[] };
  readonly test: { readonly n: number; readonly shards: readonly string[] };
}

const ROWS_PER_SHARD = 1000;

/**
 * Puts a built-in dataset's shards under `datasets/{name}/` unless they are there already.
 * The manifest is written last, so a manifest implies all its shards exist; two concurrent
 * uploads write identical bytes.
 */
export async function ensureDataset(blobs: BlobStore, name: BuiltinDatasetName): Promise<DatasetManifest> {
  const manifestKey = s3Keys.datasetManifest(name);
  if (await blobs.exists(manifestKey)) return blobs.getJson<DatasetManifest>(manifestKey);
  return uploadDataset(blobs, loadBuiltinDataset(name), 'classes');
}

export interface ResolvedDataset {
  readonly manifest: DatasetManifest;
  /** The spec's dataset with a local CSV path replaced by the S3 URI it was uploaded to. */
  readonly spec: DatasetSpec;
}

/**
 * The shards a job trains on: a built-in dataset, or a CSV file parsed into shards named by a
 * hash of its bytes and of how it is read (label column, label kind, held-out fraction), so the
 * same file and options map to the same shards. Malformed rows are a ValidationError naming
 * their lines; `labels` is what the model needs (class indices or regression targets).
 */
export async function resolveDataset(
  blobs: BlobStore,
  spec: DatasetSpec,
  labels: LabelKind,
  options: AssetOptions = {},
): Promise<ResolvedDataset> {
  if (typeof spec === 'string') {
    if (labels === 'targets') {
      throw new ValidationError(
        'dataset',
        `'${spec}' has class labels; this model needs regression targets (a CSV dataset)`,
      );
    }
    return { manifest: await ensureDataset(blobs, spec), spec };
  }
  const { bytes, uri } = await readAsset(blobs, 'csv', spec.csv, 'dataset.csv', options);
  const name = `csv-${createHash('sha256')
    .update(bytes)
    .update(JSON.stringify([spec.label, labels, spec.testFraction]))
    .digest('hex')
    .slice(0, 24)}`;
  const rewritten = { ...spec, csv: uri };
  const manifestKey = s3Keys.datasetManifest(name);
  if (await blobs.exists(manifestKey))
    return { manifest: await blobs.getJson<DatasetManifest>(manifestKey), spec: rewritten };
  let dataset: Dataset;
  try {
    dataset = parseCsvDataset(new TextDecoder().decode(bytes), {
      name,
      label: spec.label,
      labels,
      testFraction: spec.testFraction,
      seed: name,
    });
  } catch (error) {
    if (error instanceof ModelError) throw new ValidationError('dataset', error.message);
    throw error;
  }
  return { manifest: await uploadDataset(blobs, dataset, labels), spec: rewritten };
}

async function uploadDataset(
  blobs: BlobStore,
  dataset: Dataset,
  labels: LabelKind,
): Promise<DatasetManifest> {
  const { name } = dataset;
  const upload = async (split: Split, label: 'train' | 'test') => {
    const shards = shardSplit(split, ROWS_PER_SHARD);
    const keys = shards.map((_, i) => s3Keys.datasetShard(name, label, i));
    await Promise.all(shards.map((shard, i) => blobs.put(keys[i] as string, encodeShard(shard))));
    return { n: split.n, shards: keys };
  };
  const [train, test] = await Promise.all([upload(dataset.train, 'train'), upload(dataset.test, 'test')]);
  const manifest: DatasetManifest = {
    name,
    features: dataset.features,
    classes: dataset.classes,
    labels,
    train,
    test,
  };
  await blobs.putJson(s3Keys.datasetManifest(name), manifest);
  return manifest;
}

/** Reads one split's shards in parallel and joins them into one in-memory split. */
export async function loadSplit(
  blobs: BlobStore,
  shardKeys: readonly string[],
  features: number,
): Promise<Split> {
  const shards = (await Promise.all(shardKeys.map((key) => blobs.get(key)))).map(decodeShard);
  const n = shards.reduce((total, shard) => total + shard.n, 0);
  const x = new Float32Array(n * features);
  const y = shards[0]?.y instanceof Float32Array ? new Float32Array(n) : new Uint8Array(n);
  let row = 0;
  for (const shard of shards) {
    x.set(shard.x, row * features);
    y.set(shard.y, row);
    row += shard.n;
  }
  return { x, y, n };
}
