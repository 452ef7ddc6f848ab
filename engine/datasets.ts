import { decodeShard, encodeShard, loadBuiltinDataset, type Split, shardSplit } from '../model/datasets';
import { s3Keys } from './keys';
import type { BlobStore } from './store/blob-store';

export interface DatasetManifest {
  readonly name: string;
  readonly features: number;
  readonly classes: number;
  readonly train: { readonly n: number; readonly shards: readonly string[] };
  readonly test: { readonly n: number; readonly shards: readonly string[] };
}

const ROWS_PER_SHARD = 1000;

/**
 * Puts a built-in dataset's shards under `datasets/{name}/` unless they are there already.
 * The manifest is written last, so a manifest implies all its shards exist; two concurrent
 * uploads write identical bytes.
 */
export async function ensureDataset(blobs: BlobStore, name: 'mnist' | 'synthetic'): Promise<DatasetManifest> {
  const manifestKey = s3Keys.datasetManifest(name);
  if (await blobs.exists(manifestKey)) return blobs.getJson<DatasetManifest>(manifestKey);
  const dataset = loadBuiltinDataset(name);
  const upload = async (split: Split, label: 'train' | 'test') => {
    const shards = shardSplit(split, ROWS_PER_SHARD);
    const keys = shards.map((_, i) => s3Keys.datasetShard(name, label, i));
    await Promise.all(shards.map((shard, i) => blobs.put(keys[i], encodeShard(shard))));
    return { n: split.n, shards: keys };
  };
  const [train, test] = await Promise.all([upload(dataset.train, 'train'), upload(dataset.test, 'test')]);
  const manifest: DatasetManifest = {
    name,
    features: dataset.features,
    classes: dataset.classes,
    train,
    test,
  };
  await blobs.putJson(manifestKey, manifest);
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
  const y = new Uint8Array(n);
  let row = 0;
  for (const shard of shards) {
    x.set(shard.x, row * features);
    y.set(shard.y, row);
    row += shard.n;
  }
  return { x, y, n };
}
