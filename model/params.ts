import { ShapeMismatchError } from './errors';

/**
 * Parameters travel as one flat Float32Array: the concatenation of every parameter tensor,
 * row-major, in manifest order. Weights in S3, gradients, and the flat vector a train step's
 * `grad/{parameter}` outputs are written into all use this layout.
 */

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** Index of the first element in the flat vector. */
  readonly offset: number;
  readonly size: number;
}

export interface ParamManifest {
  readonly params: readonly ParamSpec[];
  readonly totalSize: number;
}

export function createManifest(
  params: readonly { readonly name: string; readonly shape: readonly number[] }[],
): ParamManifest {
  const seen = new Set<string>();
  let offset = 0;
  const specs = params.map(({ name, shape }) => {
    if (seen.has(name)) throw new ShapeMismatchError(`parameter '${name}' is listed twice`);
    seen.add(name);
    if (!shape.every((dim) => Number.isInteger(dim) && dim > 0)) {
      throw new ShapeMismatchError(`parameter '${name}' has invalid shape [${shape.join(', ')}]`);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    const spec: ParamSpec = { name, shape: [...shape], offset, size };
    offset += size;
    return spec;
  });
  return { params: specs, totalSize: offset };
}

/** A view (no copy) of one parameter inside the flat vector. */
export function paramView(flat: Float32Array, spec: ParamSpec): Float32Array {
  return flat.subarray(spec.offset, spec.offset + spec.size);
}

export function checkFlatSize(manifest: ParamManifest, flat: Float32Array, what = 'parameter vector'): void {
  if (flat.length !== manifest.totalSize) {
    throw new ShapeMismatchError(
      `${what} has ${flat.length} values, the manifest needs ${manifest.totalSize}`,
    );
  }
}
