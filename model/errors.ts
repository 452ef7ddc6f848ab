/**
 * Errors raised by `model/`. Every class sets `name` explicitly so it survives bundling
 * (esbuild may rename classes) and can be matched by callers in logs and API responses.
 */

export class ModelError extends Error {
  override readonly name: string = 'ModelError';
}

/** A graph is malformed: a dangling tensor name, a duplicate name, a bad attribute type. */
export class GraphError extends ModelError {
  override readonly name: string = 'GraphError';
}

export interface UnsupportedOp {
  readonly opType: string;
  readonly nodeName: string;
  /** Set when the op type has a rule but this particular use of it is not differentiable. */
  readonly reason?: string;
}

/** Nodes on the path from the parameters to the loss that autodiff cannot differentiate. */
export class UnsupportedOpError extends ModelError {
  override readonly name: string = 'UnsupportedOpError';
  readonly ops: readonly UnsupportedOp[];

  constructor(ops: readonly UnsupportedOp[], options?: ErrorOptions) {
    super(`cannot differentiate: ${ops.map(describeUnsupported).join('; ')}`, options);
    this.ops = ops;
  }
}

function describeUnsupported(op: UnsupportedOp): string {
  const where = `${op.opType} (node '${op.nodeName}')`;
  return op.reason === undefined ? `unsupported op ${where}` : `${where}: ${op.reason}`;
}

/** The graph is fine but asks autodiff for something impossible, e.g. a non-float parameter. */
export class DifferentiationError extends ModelError {
  override readonly name: string = 'DifferentiationError';
}

/** A model configuration that cannot be built, e.g. logistic regression with 3 classes. */
export class ModelConfigError extends ModelError {
  override readonly name: string = 'ModelConfigError';
}

/** A flat parameter vector, batch or tensor does not match the shapes it is used with. */
export class ShapeMismatchError extends ModelError {
  override readonly name: string = 'ShapeMismatchError';
}

/** Bytes that do not decode as a dataset shard. */
export class ShardFormatError extends ModelError {
  override readonly name: string = 'ShardFormatError';
}

export class DatasetError extends ModelError {
  override readonly name: string = 'DatasetError';
}
