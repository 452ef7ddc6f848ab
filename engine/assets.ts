import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError, ValidationError } from './errors';
import type { BlobStore } from './store/blob-store';

/**
 * User files a job spec points at: an ONNX model (`model.onnx`) or a CSV dataset
 * (`dataset.csv`), given as `s3://bucket/key` or as a local path.
 *
 * Where local paths are read: only where the caller says the spec comes from the machine's own
 * user (`localPaths: true`), i.e. the CLI running a spec file on its embedded stack, which
 * uploads the file and rewrites the spec to the S3 URI before the spec is stored. Everywhere
 * else — a Lambda function, an HTTP API (which must never read server files a client names,
 * also when `kasync up` serves it from the user's machine) — local paths are refused.
 */

/** Largest files accepted; a learner downloads the model graphs and its weights every cold start. */
export const ASSET_LIMITS = {
  /** An ONNX file, and also the float32 parameter vector of any model (built-in or not). */
  modelBytes: 64 * 1024 * 1024,
  csvBytes: 256 * 1024 * 1024,
} as const;

export type AssetKind = 'onnx' | 'csv';

export interface AssetOptions {
  /** Whether local paths may be read (see above); only the CLI's own specs say yes. */
  readonly localPaths?: boolean;
  /** Overrides ASSET_LIMITS, e.g. for an installation with larger models. */
  readonly limits?: Partial<Record<'modelBytes' | 'csvBytes', number>>;
}

export function localPathsAllowed(options: AssetOptions = {}): boolean {
  return options.localPaths === true;
}

export function assetLimit(kind: AssetKind, options: AssetOptions = {}): number {
  return kind === 'onnx'
    ? (options.limits?.modelBytes ?? ASSET_LIMITS.modelBytes)
    : (options.limits?.csvBytes ?? ASSET_LIMITS.csvBytes);
}

/** Content-addressed, so uploading the same file twice writes the same key (keys are never overwritten). */
export function uploadKey(kind: AssetKind, bytes: Uint8Array): string {
  return `uploads/${createHash('sha256').update(bytes).digest('hex')}.${kind}`;
}

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/**
 * Stores an uploaded file (an API upload, or a local path the CLI read) in the job bucket and
 * returns its `s3://` URI, to put in the spec as `model.onnx` or `dataset.csv`.
 */
export async function uploadAsset(
  blobs: BlobStore,
  kind: AssetKind,
  bytes: Uint8Array,
  field: string,
  options: AssetOptions = {},
): Promise<string> {
  checkSize(kind, bytes.byteLength, field, options);
  const key = uploadKey(kind, bytes);
  if (!(await blobs.exists(key))) await blobs.put(key, bytes);
  return s3Uri(blobs.bucket, key);
}

export interface ReadAsset {
  readonly bytes: Uint8Array;
  /** Where the file now lives in S3: the given URI, or where a local file was uploaded to. */
  readonly uri: string;
}

/** Reads a spec's file reference, uploading a local file first (so the spec can point at S3). */
export async function readAsset(
  blobs: BlobStore,
  kind: AssetKind,
  location: string,
  field: string,
  options: AssetOptions = {},
): Promise<ReadAsset> {
  if (location.startsWith('s3://')) {
    const { bucket, key } = parseS3Uri(location, field);
    if (bucket !== blobs.bucket) {
      throw new ValidationError(
        field,
        `${location} is outside the job bucket '${blobs.bucket}'; upload the file (a local path with the CLI, or the API upload) or copy it to s3://${blobs.bucket}/...`,
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = await blobs.get(key);
    } catch (error) {
      if (error instanceof NotFoundError)
        throw new ValidationError(field, `there is no object at ${location}`);
      throw error;
    }
    checkSize(kind, bytes.byteLength, field, options);
    return { bytes, uri: location };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new ValidationError(field, `'${location}' is neither an s3:// URI nor a local path`);
  }
  if (!localPathsAllowed(options)) {
    throw new ValidationError(
      field,
      `'${location}' is a local path, which only the CLI reads (it uploads the file); here give an s3:// URI of an uploaded file`,
    );
  }
  const file = path.resolve(location);
  const size = await stat(file).then(
    (info) => (info.isFile() ? info.size : undefined),
    () => undefined,
  );
  if (size === undefined) throw new ValidationError(field, `no file at ${file}`);
  checkSize(kind, size, field, options);
  const bytes = new Uint8Array(await readFile(file));
  return { bytes, uri: await uploadAsset(blobs, kind, bytes, field, options) };
}

function parseS3Uri(uri: string, field: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new ValidationError(field, `'${uri}' is not an s3://bucket/key URI`);
  return { bucket: match[1] as string, key: match[2] as string };
}

function checkSize(kind: AssetKind, bytes: number, field: string, options: AssetOptions): void {
  const limit = assetLimit(kind, options);
  if (bytes > limit) {
    throw new ValidationError(
      field,
      `the ${kind === 'onnx' ? 'model' : 'CSV'} file is ${megabytes(bytes)}, over the ${megabytes(limit)} limit`,
    );
  }
}

export function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
