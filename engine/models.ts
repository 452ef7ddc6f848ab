import { ModelError } from '../model/errors';
import { Graph } from '../model/graph';
import { importOnnxModel } from '../model/onnx-import';
import type { LabelKind } from '../model/train-graph';
import { type BuiltModel, buildModel } from '../model/zoo';
import { type AssetOptions, assetLimit, megabytes, readAsset, uploadAsset } from './assets';
import { type DatasetManifest, resolveDataset } from './datasets';
import { ValidationError } from './errors';
import type { JobSpec } from './spec';
import type { BlobStore } from './store/blob-store';

export interface ResolvedJobModel {
  /** The spec as it will be stored: local paths replaced by the S3 URIs they were uploaded to. */
  readonly spec: JobSpec;
  /** Train and forward graphs, parameter manifest and initial weights. */
  readonly model: BuiltModel;
  readonly dataset: DatasetManifest;
}

/**
 * Resolves a spec's model and dataset into what a job needs in S3, checking everything a
 * learner would otherwise trip over, before any learner starts: an ONNX model is read
 * (uploaded first if it is a local path), its ops checked against the gradient rules, its
 * input against the dataset's rows; the dataset is sharded (a CSV parsed, malformed rows
 * reported by line); the parameter vector must fit the model size limit. Every problem is a
 * ValidationError on `model` or `dataset` (HTTP 4xx, CLI exit 2).
 */
export async function resolveJobModel(
  blobs: BlobStore,
  spec: JobSpec,
  options: AssetOptions = {},
): Promise<ResolvedJobModel> {
  let build: (data: DatasetManifest) => BuiltModel;
  let labels: LabelKind = 'classes';
  let modelSpec = spec.model;
  if (spec.model.kind === 'onnx') {
    const onnx = spec.model;
    const { bytes, uri } = await readAsset(blobs, 'onnx', onnx.onnx, 'model.onnx', options);
    const imported = asModelValidation(() =>
      importOnnxModel(bytes, { input: onnx.input, output: onnx.output, loss: onnx.loss }),
    );
    labels = imported.labels;
    modelSpec = { ...onnx, onnx: uri };
    build = (data) => imported.build(data);
  } else {
    const config = spec.model;
    build = (data) => buildModel(config, data);
  }
  const dataset = await resolveDataset(blobs, spec.dataset, labels, options);
  const model = asModelValidation(() => build(dataset.manifest));
  const parameterBytes = model.manifest.totalSize * 4;
  const limit = assetLimit('onnx', options);
  if (parameterBytes > limit) {
    throw new ValidationError(
      'model',
      `${model.manifest.totalSize} parameters take ${megabytes(parameterBytes)} as float32, over the ${megabytes(limit)} limit`,
    );
  }
  return { spec: { ...spec, model: modelSpec, dataset: dataset.spec }, model, dataset: dataset.manifest };
}

/**
 * For an API upload of a model file: checks that the bytes are an ONNX model within the size
 * limit, stores them in the job bucket and returns the `s3://` URI to give as `model.onnx`.
 */
export async function uploadModelAsset(
  blobs: BlobStore,
  bytes: Uint8Array,
  options: AssetOptions = {},
): Promise<string> {
  if (bytes.byteLength <= assetLimit('onnx', options)) asModelValidation(() => Graph.fromBytes(bytes));
  return uploadAsset(blobs, 'onnx', bytes, 'model.onnx', options);
}

/** For an API upload of a CSV dataset: stores it and returns the `s3://` URI to give as `dataset.csv`. */
export async function uploadDatasetAsset(
  blobs: BlobStore,
  bytes: Uint8Array,
  options: AssetOptions = {},
): Promise<string> {
  return uploadAsset(blobs, 'csv', bytes, 'dataset.csv', options);
}

/** model/ errors (unsupported ops, bad shapes, configurations) become ValidationError('model', ...). */
function asModelValidation<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof ModelError) throw new ValidationError('model', error.message);
    throw error;
  }
}
