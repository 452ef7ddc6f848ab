import { DifferentiationError, GraphError, type UnsupportedOp, UnsupportedOpError } from '../errors';
import {
  type Attributes,
  attr,
  type FloatType,
  type Graph,
  type GraphNode,
  isFloatType,
  tensor,
} from '../graph';
import type { GradientContext, GradientRule } from './rule';
import { gradientRules } from './rules';

/** The rules assume opset >= 13 semantics (single-axis Softmax, ReduceSum axes as an input). */
const OPSET_RANGE = { min: 13, max: 21 } as const;
/**
 * Backward nodes use ScatterElements/ScatterND with reduction 'add' (opset 16) and CastLike
 * (opset 15), so a train graph is at least opset 16. Lifting a forward graph from 13..15 to 16
 * changes no semantics of the ops the rules differentiate: opsets 14-16 only widen type
 * constraints, add attributes with backward-compatible defaults (Reshape allowzero, Shape
 * start/end, BatchNormalization training_mode) or change ops kasync cannot train (RoiAlign).
 */
const MIN_TRAIN_OPSET = 16;

export interface DifferentiateOptions {
  /** Tensor to differentiate; usually a scalar. A non-scalar loss is treated as its sum. */
  readonly loss: string;
  /** Graph inputs to differentiate with respect to, all of one float type. */
  readonly params: readonly string[];
  /** Rule set; defaults to every built-in rule. */
  readonly rules?: ReadonlyMap<string, GradientRule>;
  /**
   * The output name of each parameter's gradient; it must not name a tensor of the forward
   * graph. Default `{param}_grad` (suffixed if taken).
   */
  readonly gradientName?: (param: string) => string;
}

export interface Differentiated {
  /** The forward graph plus backward nodes; outputs are the loss, then one gradient per parameter. */
  readonly graph: Graph;
  /** Parameter name to the name of its gradient tensor (same shape as the parameter). */
  readonly gradients: ReadonlyMap<string, string>;
}

/**
 * Reverse-mode differentiation over ONNX nodes. Only nodes on a path from a parameter to the
 * loss are differentiated; everything the rules cannot handle there is reported at once in
 * one UnsupportedOpError before anything is emitted. The forward graph is left untouched.
 */
export function differentiate(forward: Graph, options: DifferentiateOptions): Differentiated {
  const rules = options.rules ?? gradientRules;
  if (forward.opset < OPSET_RANGE.min || forward.opset > OPSET_RANGE.max) {
    throw new DifferentiationError(
      `graph opset ${forward.opset} is outside ${OPSET_RANGE.min}..${OPSET_RANGE.max}, the range the gradient rules are written for`,
    );
  }
  const floatType = parameterFloatType(forward, options.params);
  const { carriesGradient, reachesLoss } = analyse(forward, options, rules);
  const activeNodes = forward.nodes.filter(
    (node) =>
      node.outputs.some((output) => reachesLoss.has(output)) &&
      differentiableInputs(node, rules).some((index) => carriesGradient.has(node.inputs[index] ?? '')),
  );
  checkSupported(activeNodes, forward, rules, reachesLoss, carriesGradient);

  const graph = forward.clone(`${forward.name}_train`, Math.max(forward.opset, MIN_TRAIN_OPSET));
  // Taken before any backward node is named, so none can take them.
  const outputNames = new Map(
    options.params.map((param) => {
      const wanted = options.gradientName?.(param) ?? `${param}_grad`;
      const name = graph.freshName(wanted);
      if (options.gradientName && name !== wanted) {
        throw new GraphError(
          `gradient output '${wanted}' would clash with a tensor of graph '${forward.name}'`,
        );
      }
      return [param, name];
    }),
  );
  const contributions = new Map<string, string[]>();
  const contribute = (tensorName: string, gradient: string) => {
    const existing = contributions.get(tensorName);
    if (existing) existing.push(gradient);
    else contributions.set(tensorName, [gradient]);
  };
  const accumulated = new Map<string, string>();
  const totalGradient = (tensorName: string, outputName?: string): string | undefined => {
    const cached = accumulated.get(tensorName);
    if (cached !== undefined) return cached;
    const parts = contributions.get(tensorName);
    if (parts === undefined) return undefined;
    const total =
      parts.length === 1 && outputName === undefined
        ? (parts[0] as string)
        : emit(graph, parts.length === 1 ? 'Identity' : 'Sum', parts, `grad/${tensorName}`, outputName);
    accumulated.set(tensorName, total);
    return total;
  };

  // The seed is d loss / d loss = 1 everywhere, whatever the loss's shape.
  const lossShape = graph.op('Shape', [options.loss], undefined, { name: 'grad/seed_shape' });
  contribute(
    options.loss,
    graph.op(
      'ConstantOfShape',
      [lossShape],
      { value: attr.tensor(tensor.float(floatType, [1], [1])) },
      { name: 'grad/seed' },
    ),
  );

  for (const node of [...activeNodes].reverse()) {
    const rule = rules.get(node.opType) as GradientRule;
    const ctx = createContext(graph, node, floatType, (index) => {
      const output = node.outputs[index] ?? '';
      const gradient = totalGradient(output);
      if (gradient === undefined) {
        throw new DifferentiationError(
          `rule for ${node.opType} asked for the gradient of output '${output}', which has none`,
        );
      }
      return gradient;
    });
    const thunks = rule.gradients(node, ctx);
    for (const index of differentiableInputs(node, rules)) {
      const input = node.inputs[index] ?? '';
      if (!carriesGradient.has(input)) continue;
      const thunk = thunks[index];
      if (thunk === undefined) {
        throw new DifferentiationError(
          `rule for ${node.opType} gives no gradient for input ${index} of node '${node.name}'`,
        );
      }
      contribute(input, thunk());
    }
  }

  const gradients = new Map<string, string>();
  graph.clearOutputs();
  graph.addOutput(options.loss, floatType, forward.valueInfo(options.loss)?.shape);
  for (const param of options.params) {
    const outputName = outputNames.get(param) as string;
    const gradient =
      totalGradient(param, outputName) ??
      // The loss does not depend on this parameter.
      emit(graph, 'ConstantOfShape', [graph.op('Shape', [param])], `grad/${param}`, outputName, {
        value: attr.tensor(tensor.float(floatType, [0], [1])),
      });
    gradients.set(param, gradient);
    graph.addOutput(gradient, floatType, forward.valueInfo(param)?.shape);
  }
  return { graph, gradients };
}

function emit(
  graph: Graph,
  opType: string,
  inputs: readonly string[],
  namePrefix: string,
  outputName: string | undefined,
  attributes?: Attributes,
): string {
  if (outputName === undefined) return graph.op(opType, inputs, attributes, { name: namePrefix });
  graph.addNode({ opType, inputs, outputs: [outputName], attributes, name: graph.freshName(namePrefix) });
  return outputName;
}

function parameterFloatType(graph: Graph, params: readonly string[]): FloatType {
  if (params.length === 0) throw new DifferentiationError('no parameters to differentiate with respect to');
  const types = new Set(
    params.map((param) => {
      const input = graph.inputs.find((candidate) => candidate.name === param);
      if (input === undefined)
        throw new GraphError(`parameter '${param}' is not an input of graph '${graph.name}'`);
      if (!isFloatType(input.type)) {
        throw new DifferentiationError(
          `parameter '${param}' is ${input.type}; only float32 and float64 can be differentiated`,
        );
      }
      return input.type;
    }),
  );
  if (types.size > 1) throw new DifferentiationError(`parameters mix float types: ${[...types].join(', ')}`);
  return [...types][0] as FloatType;
}

/** Inputs a gradient flows into; for an op without a rule, conservatively all of them. */
function differentiableInputs(node: GraphNode, rules: ReadonlyMap<string, GradientRule>): readonly number[] {
  const rule = node.domain === '' ? rules.get(node.opType) : undefined;
  if (rule === undefined) return node.inputs.map((_, index) => index);
  const { differentiableInputs: inputs } = rule;
  return typeof inputs === 'function' ? inputs(node) : inputs;
}

/** Which tensors carry a gradient from a parameter, and which ones the loss depends on. */
function analyse(graph: Graph, options: DifferentiateOptions, rules: ReadonlyMap<string, GradientRule>) {
  const defined = new Set([...graph.inputs.map((input) => input.name), ...graph.initializers.keys()]);
  const carriesGradient = new Set(options.params);
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      if (input !== '' && !defined.has(input)) {
        throw new GraphError(
          `node '${node.name}' reads '${input}' before it is defined (graph not topologically sorted?)`,
        );
      }
    }
    for (const output of node.outputs) defined.add(output);
    if (differentiableInputs(node, rules).some((index) => carriesGradient.has(node.inputs[index] ?? ''))) {
      for (const output of node.outputs) if (output !== '') carriesGradient.add(output);
    }
  }
  if (!defined.has(options.loss))
    throw new GraphError(`loss '${options.loss}' is not a tensor of graph '${graph.name}'`);
  const reachesLoss = new Set([options.loss]);
  for (const node of [...graph.nodes].reverse()) {
    if (node.outputs.some((output) => reachesLoss.has(output))) {
      for (const input of node.inputs) if (input !== '') reachesLoss.add(input);
    }
  }
  return { carriesGradient, reachesLoss };
}

function checkSupported(
  activeNodes: readonly GraphNode[],
  graph: Graph,
  rules: ReadonlyMap<string, GradientRule>,
  reachesLoss: ReadonlySet<string>,
  carriesGradient: ReadonlySet<string>,
): void {
  const problems: UnsupportedOp[] = [];
  for (const node of activeNodes) {
    const report = (reason?: string) =>
      problems.push({ opType: qualifiedOpType(node), nodeName: node.name, reason });
    const rule = node.domain === '' ? rules.get(node.opType) : undefined;
    if (rule === undefined) {
      report();
      continue;
    }
    const reason = rule.unsupportedReason?.(node, graph, (tensorName) => carriesGradient.has(tensorName));
    if (reason !== undefined) report(reason);
    const differentiableOutputs = rule.differentiableOutputs ?? [0];
    node.outputs.forEach((output, index) => {
      if (reachesLoss.has(output) && !differentiableOutputs.includes(index)) {
        report(`output ${index} ('${output}') feeds the loss but has no gradient rule`);
      }
    });
  }
  if (problems.length > 0) throw new UnsupportedOpError(problems);
}

function qualifiedOpType(node: GraphNode): string {
  return node.domain === '' ? node.opType : `${node.domain}.${node.opType}`;
}

function createContext(
  graph: Graph,
  node: GraphNode,
  floatType: FloatType,
  outputGrad: (index: number) => string,
): GradientContext {
  const prefix = `grad/${node.name}`;
  return {
    floatType,
    outputGrad: (index = 0) => outputGrad(index),
    op: (opType, inputs, attributes) => graph.op(opType, inputs, attributes, { name: `${prefix}/${opType}` }),
    opMulti: (opType, inputs, outputCount, attributes) =>
      graph.opMulti(opType, inputs, outputCount, attributes, { name: `${prefix}/${opType}` }),
    scalar: (value) => graph.constant(tensor.float(floatType, [value], []), 'grad/const'),
    int64: (values, dims) => graph.constant(tensor.int64(values, dims), 'grad/const'),
    constant: (value) => graph.constant(value, 'grad/const'),
    staticShape: (tensorName) => graph.valueInfo(tensorName)?.shape,
  };
}
