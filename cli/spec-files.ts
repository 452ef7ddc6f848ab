import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ApiClient } from './client';

/** A spec's references to user files: `model.onnx` and `dataset.csv`, a local path or an s3:// URI. */
interface FileRefs {
  model?: { onnx?: unknown };
  dataset?: { csv?: unknown };
}

const isLocal = (location: unknown): location is string =>
  typeof location === 'string' && !location.startsWith('s3://');

function refsOf(spec: unknown): { model?: { onnx: string }; dataset?: { csv: string } } {
  const { model, dataset } = (typeof spec === 'object' && spec !== null ? spec : {}) as FileRefs;
  return {
    model: model && isLocal(model.onnx) ? { onnx: model.onnx } : undefined,
    dataset: dataset && isLocal(dataset.csv) ? { csv: dataset.csv } : undefined,
  };
}

/** Makes a spec file's relative paths relative to the spec file's folder, not the shell's. */
export function anchorLocalPaths(spec: unknown, specFile: string): unknown {
  const { model, dataset } = refsOf(spec);
  if (!model && !dataset) return spec;
  const base = path.dirname(path.resolve(specFile));
  const s = spec as Record<string, Record<string, unknown>>;
  return {
    ...s,
    ...(model ? { model: { ...s.model, onnx: path.resolve(base, model.onnx) } } : {}),
    ...(dataset ? { dataset: { ...s.dataset, csv: path.resolve(base, dataset.csv) } } : {}),
  };
}

/** Uploads a spec's local files through the API and points the spec at their s3:// URIs. */
export async function uploadLocalFiles(client: ApiClient, spec: unknown): Promise<unknown> {
  const { model, dataset } = refsOf(spec);
  if (!model && !dataset) return spec;
  const s = spec as Record<string, Record<string, unknown>>;
  const [modelUri, datasetUri] = await Promise.all([
    model ? client.upload('model', await readFile(model.onnx)) : undefined,
    dataset ? client.upload('dataset', await readFile(dataset.csv)) : undefined,
  ]);
  return {
    ...s,
    ...(modelUri ? { model: { ...s.model, onnx: modelUri } } : {}),
    ...(datasetUri ? { dataset: { ...s.dataset, csv: datasetUri } } : {}),
  };
}
