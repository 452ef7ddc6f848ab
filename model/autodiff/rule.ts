import type { Attributes, Dim, FloatType, Graph, GraphNode, TensorData } from '../graph';

/**
 * One reverse-mode rule per ONNX op type, in the spirit of tfjs-core's gradient files: given
 * the forward node and the gradient of its output(s), emit ONNX nodes computing the
 * gradient of each differentiable input.
 */
export interface GradientRule {
  readonly opType: string;
  /**
   * Input indices a gradient flows into. The others (shapes, axes, labels, any integer input)
   * get none, so an op listing no inputs stops gradient flow, e.g. Shape or ArgMax. A function
   * when it depends on the node, e.g. Cast to an integer type stops the gradient.
   */
  readonly differentiableInputs: readonly number[] | ((node: GraphNode) => readonly number[]);
  /** Output indices whose incoming gradient the rule uses; defaults to [0]. */
  readonly differentiableOutputs?: readonly number[];
  /**
   * Why this particular node cannot be differentiated (an attribute value, a rank, a parameter
   * reaching an input the rule treats as constant), if so. `carriesGradient` tells whether a
   * tensor depends on a parameter.
   */
  readonly unsupportedReason?: (
    node: GraphNode,
    graph: Graph,
    carriesGradient: (tensor: string) => boolean,
  ) => string | undefined;
  /**
   * Per input index, a thunk emitting that input's gradient. Thunks run only for inputs that
   * depend on a parameter, so e.g. a weight-only gradient never builds the data gradient.
   */
  readonly gradients: (node: GraphNode, ctx: GradientContext) => InputGradients;
}

export type InputGradients = readonly ((() => string) | undefined)[];

/** What a rule may do while emitting backward nodes. */
export interface GradientContext {
  /** Element type of the parameters, and so of every gradient. */
  readonly floatType: FloatType;
  /** Gradient of the loss with respect to output `index` of the node, summed over consumers. */
  outputGrad(index?: number): string;
  /** Appends a single-output backward node; returns its output tensor name. */
  op(opType: string, inputs: readonly string[], attributes?: Attributes): string;
  /** Appends a backward node with `outputCount` outputs; returns their names. */
  opMulti(opType: string, inputs: readonly string[], outputCount: number, attributes?: Attributes): string[];
  /** A scalar constant of `floatType`. */
  scalar(value: number): string;
  /** An initializer holding `value` (small identical constants are shared). */
  constant(value: TensorData): string;
  /** An int64 constant, e.g. axes; `dims` defaults to a 1-D tensor of `values.length`. */
  int64(values: readonly number[], dims?: readonly number[]): string;
  /** Declared shape of a graph input, initializer or value_info entry, if any. */
  staticShape(tensor: string): readonly Dim[] | undefined;
}
