/** @jest-environment ./test/unit/model/ort-environment.ts */

import { type GradientRule, gradientRules } from '../../../model/autodiff';
import { attr, type Graph, tensor } from '../../../model/graph';
import { createRng } from '../../../model/random';
import { type CheckCase, type CheckInput, gradientCheck } from './gradcheck';

/** float64 central differences with h = 1e-6 are accurate to ~1e-9; a wrong rule is off by O(1). */
const TOLERANCE = 1e-6;
/**
 * onnxruntime runs Conv, ConvTranspose and the average pools in float32 only. Their outputs are
 * linear in each checked input, so a large step keeps central differences exact up to float32
 * rounding; what remains is float32 accumulation in both gradients, ~1e-4 relative on the
 * smallest entries. A misplaced window or pad is off by O(1).
 */
const FLOAT32_LINEAR = { floatType: 'float32', step: 2 } as const;
const FLOAT32_TOLERANCE = 1e-3;
/**
 * Piecewise linear ops in float32 get inputs whose values are all at least 0.1 apart (see
 * `separated`), so a step of 0.04 never changes which element is a window's maximum.
 */
const FLOAT32_PIECEWISE_LINEAR = { floatType: 'float32', step: 0.04, tolerance: FLOAT32_TOLERANCE } as const;

type RuleCase = CheckCase & { readonly tolerance?: number };

const float = (name: string, shape: readonly number[], extra?: Partial<CheckInput>): CheckInput => ({
  name,
  shape,
  ...extra,
});
const labels = (name: string, values: readonly number[]): CheckInput => ({
  name,
  shape: [values.length],
  type: 'int64',
  values,
});
const unary = (
  opType: string,
  shape: readonly number[],
  attributes?: Parameters<Graph['op']>[2],
  extra?: Partial<CheckInput>,
): CheckCase => ({
  inputs: [float('x', shape, extra)],
  build: (graph) => graph.op(opType, ['x'], attributes),
});
const binary = (
  opType: string,
  aShape: readonly number[],
  bShape: readonly number[],
  extra?: Partial<CheckInput>,
): CheckCase => ({
  inputs: [float('a', aShape, extra), float('b', bShape, extra)],
  build: (graph) => graph.op(opType, ['a', 'b']),
});
const gemm = (
  aShape: readonly number[],
  bShape: readonly number[],
  cShape: readonly number[] | undefined,
  attributes: { transA?: number; transB?: number; alpha?: number; beta?: number },
): CheckCase => ({
  inputs: [float('a', aShape), float('b', bShape), ...(cShape ? [float('c', cShape)] : [])],
  build: (graph) =>
    graph.op('Gemm', cShape ? ['a', 'b', 'c'] : ['a', 'b'], {
      ...(attributes.transA !== undefined && { transA: attr.int(attributes.transA) }),
      ...(attributes.transB !== undefined && { transB: attr.int(attributes.transB) }),
      ...(attributes.alpha !== undefined && { alpha: attr.float(attributes.alpha) }),
      ...(attributes.beta !== undefined && { beta: attr.float(attributes.beta) }),
    }),
});
const crossEntropy = (reduction: string, withLogProb: boolean): CheckCase => ({
  inputs: [float('scores', [5, 4]), labels('labels', [0, 3, 1, 3, 2])],
  build: (graph) =>
    graph.opMulti('SoftmaxCrossEntropyLoss', ['scores', 'labels'], withLogProb ? 2 : 1, {
      reduction: attr.string(reduction),
    })[0] as string,
});
const reduce = (opType: string, axes: readonly number[] | undefined, keepdims: number): CheckCase => ({
  inputs: [float('x', [2, 3, 4])],
  build: (graph) => {
    const keep = { keepdims: attr.int(keepdims) };
    if (axes === undefined) return graph.op(opType, ['x'], keep);
    // Opset 17: ReduceSum takes axes as an input, ReduceMean still as an attribute.
    return opType === 'ReduceSum'
      ? graph.op(
          opType,
          [
            'x',
            graph.constant({ type: 'int64', dims: [axes.length], data: BigInt64Array.from(axes, BigInt) }),
          ],
          keep,
        )
      : graph.op(opType, ['x'], { ...keep, axes: attr.ints(axes) });
  },
});

const windowed = (
  opType: string,
  inputs: readonly CheckInput[],
  attributes: Record<string, readonly number[] | number | string>,
  extra?: Partial<RuleCase>,
): RuleCase => ({
  inputs,
  build: (graph) =>
    graph.op(
      opType,
      inputs.map((input) => input.name),
      Object.fromEntries(
        Object.entries(attributes).map(([name, value]) => [
          name,
          typeof value === 'number'
            ? attr.int(value)
            : typeof value === 'string'
              ? attr.string(value)
              : attr.ints(value),
        ]),
      ),
    ),
  ...extra,
});
const conv = (
  xShape: readonly number[],
  wShape: readonly number[],
  withBias: boolean,
  attributes: Record<string, readonly number[] | number | string> = {},
): RuleCase =>
  windowed(
    'Conv',
    [float('x', xShape), float('w', wShape), ...(withBias ? [float('b', [wShape[0] as number])] : [])],
    attributes,
    { ...FLOAT32_LINEAR, tolerance: FLOAT32_TOLERANCE },
  );
const pool = (
  opType: string,
  xShape: readonly number[],
  attributes: Record<string, readonly number[] | number | string>,
  extra?: Partial<RuleCase>,
  input?: Partial<CheckInput>,
): RuleCase => windowed(opType, [float('x', xShape, input)], attributes, extra);
/** Distinct values 0.1 apart in a seeded random order. */
const separated = (shape: readonly number[]): Partial<CheckInput> => {
  const count = shape.reduce((a, b) => a * b, 1);
  return { values: createRng(count).shuffle(Array.from({ length: count }, (_, i) => (i - count / 2) / 10)) };
};
const batchNorm = (xShape: readonly number[], training: boolean): RuleCase => {
  const channels = xShape[1] as number;
  return {
    inputs: [
      float('x', xShape),
      float('scale', [channels]),
      float('bias', [channels]),
      float('mean', [channels], { constant: true }),
      float('variance', [channels], { constant: true, positive: true }),
    ],
    build: (graph) =>
      graph.opMulti('BatchNormalization', ['x', 'scale', 'bias', 'mean', 'variance'], training ? 3 : 1, {
        epsilon: attr.float(1e-3),
        ...(training && { training_mode: attr.int(1), momentum: attr.float(0.9) }),
      })[0] as string,
  };
};
const int64 = (graph: Graph, values: readonly number[], dims?: readonly number[]) =>
  graph.constant(tensor.int64(values, dims));

const cases: Record<string, Record<string, RuleCase>> = {
  Gemm: {
    'plain with bias [N]': gemm([3, 4], [4, 5], [5], {}),
    transA: gemm([4, 3], [4, 5], [5], { transA: 1 }),
    'transB (PyTorch Linear layout)': gemm([3, 4], [5, 4], [5], { transB: 1 }),
    'transA and transB, alpha, beta, bias [M, N]': gemm([4, 3], [5, 4], [3, 5], {
      transA: 1,
      transB: 1,
      alpha: 0.7,
      beta: -1.3,
    }),
    'bias [1, N] (dynamic unbroadcast)': gemm([3, 4], [4, 5], [1, 5], { beta: 2 }),
    'bias [M, 1]': gemm([3, 4], [4, 5], [3, 1], {}),
    'scalar bias': gemm([3, 4], [4, 5], [], { alpha: 0.5 }),
    'no bias': gemm([3, 4], [4, 5], undefined, { transB: 0 }),
  },
  MatMul: {
    '2-D x 2-D': binary('MatMul', [3, 4], [4, 5]),
    '3-D x 2-D (batch broadcast)': binary('MatMul', [2, 3, 4], [4, 5]),
    '2-D x 3-D': binary('MatMul', [3, 4], [2, 4, 5]),
    '3-D x 3-D with size-1 batch': binary('MatMul', [2, 3, 4], [1, 4, 5]),
  },
  Add: {
    'same shape': binary('Add', [2, 3], [2, 3]),
    '[2,3,4] + [4] (static unbroadcast)': binary('Add', [2, 3, 4], [4]),
    '[3,1] + [1,4] (dynamic unbroadcast)': binary('Add', [3, 1], [1, 4]),
    'scalar operand': binary('Add', [2, 3], []),
    // Symbolic dims hide the static shapes, so sumToShapeOf takes its run-time path.
    'symbolic shapes': {
      inputs: [float('a', [2, 3], { declaredShape: ['M', 'N'] }), float('b', [3], { declaredShape: ['N'] })],
      build: (graph) => graph.op('Add', ['a', 'b']),
    },
  },
  Sub: {
    '[2,3] - [3]': binary('Sub', [2, 3], [3]),
    '[3,1] - [2,1,4]': binary('Sub', [3, 1], [2, 1, 4]),
  },
  Mul: {
    'same shape': binary('Mul', [2, 3], [2, 3]),
    '[2,3,4] * [3,1]': binary('Mul', [2, 3, 4], [3, 1]),
  },
  Relu: { '[3,4]': unary('Relu', [3, 4], undefined, { awayFromZero: 0.05 }) },
  Tanh: { '[3,4]': unary('Tanh', [3, 4]) },
  Sigmoid: { '[3,4]': unary('Sigmoid', [3, 4]) },
  Softmax: {
    'default axis': unary('Softmax', [3, 4]),
    'axis 0': unary('Softmax', [3, 4], { axis: attr.int(0) }),
    '3-D, axis 1': unary('Softmax', [2, 3, 4], { axis: attr.int(1) }),
  },
  LogSoftmax: {
    'default axis': unary('LogSoftmax', [3, 4]),
    '3-D, axis 1': unary('LogSoftmax', [2, 3, 4], { axis: attr.int(1) }),
  },
  SoftmaxCrossEntropyLoss: {
    'mean, log_prob output reused': crossEntropy('mean', true),
    'mean, loss output only': crossEntropy('mean', false),
    sum: crossEntropy('sum', true),
    none: crossEntropy('none', false),
  },
  ReduceSum: {
    'axes [1], keepdims': reduce('ReduceSum', [1], 1),
    'axes [0, 2], no keepdims': reduce('ReduceSum', [0, 2], 0),
    'negative axis, no keepdims': reduce('ReduceSum', [-1], 0),
    'all axes': reduce('ReduceSum', undefined, 0),
  },
  ReduceMean: {
    'axes [1], keepdims': reduce('ReduceMean', [1], 1),
    'axes [0, 2], no keepdims': reduce('ReduceMean', [0, 2], 0),
    'all axes': reduce('ReduceMean', undefined, 1),
  },
  Reshape: {
    '[2,3,4] -> [6,4]': {
      inputs: [float('x', [2, 3, 4])],
      build: (graph) =>
        graph.op('Reshape', [
          'x',
          graph.constant({ type: 'int64', dims: [2], data: BigInt64Array.of(6n, -1n) }),
        ]),
    },
  },
  Flatten: {
    'axis 1': unary('Flatten', [2, 3, 4]),
    'axis 2': unary('Flatten', [2, 3, 4], { axis: attr.int(2) }),
  },
  Identity: { '[3]': unary('Identity', [3]) },
  Div: {
    'same shape': binary('Div', [2, 3], [2, 3], { awayFromZero: 0.3 }),
    '[2,3] / [3] (broadcast divisor)': binary('Div', [2, 3], [3], { awayFromZero: 0.3 }),
  },
  Neg: { '[3,4]': unary('Neg', [3, 4]) },
  LeakyRelu: {
    'default alpha': unary('LeakyRelu', [3, 4], undefined, { awayFromZero: 0.05 }),
    'alpha 0.2': unary('LeakyRelu', [3, 4], { alpha: attr.float(0.2) }, { awayFromZero: 0.05 }),
  },
  Exp: { '[3,4]': unary('Exp', [3, 4]) },
  Log: { '[3,4]': unary('Log', [3, 4], undefined, { positive: true, awayFromZero: 0.2 }) },
  Sqrt: { '[3,4]': unary('Sqrt', [3, 4], undefined, { positive: true, awayFromZero: 0.2 }) },
  Pow: {
    'cubed, float64 exponent': {
      inputs: [float('x', [3, 4])],
      build: (graph) => graph.op('Pow', ['x', graph.constant(tensor.float('float64', [3], []))]),
    },
    'x^-1.5, float32 exponent cast to the base type': {
      inputs: [float('x', [3, 4], { positive: true, awayFromZero: 0.3 })],
      build: (graph) => graph.op('Pow', ['x', graph.constant(tensor.float('float32', [-1.5], []))]),
    },
  },
  Squeeze: {
    'axes [1]': {
      inputs: [float('x', [2, 1, 3])],
      build: (graph) => graph.op('Squeeze', ['x', int64(graph, [1])]),
    },
  },
  Unsqueeze: {
    'axes [0, 3]': {
      inputs: [float('x', [2, 3])],
      build: (graph) => graph.op('Unsqueeze', ['x', int64(graph, [0, 3])]),
    },
  },
  Transpose: {
    'perm [2, 0, 1]': unary('Transpose', [2, 3, 4], { perm: attr.ints([2, 0, 1]) }),
    'default perm (reverse)': unary('Transpose', [2, 3, 4]),
  },
  Concat: {
    'axis 1, three inputs, one constant': {
      inputs: [float('a', [2, 1, 3]), float('b', [2, 4, 3], { constant: true }), float('c', [2, 2, 3])],
      build: (graph) => graph.op('Concat', ['a', 'b', 'c'], { axis: attr.int(1) }),
    },
    'axis -1': {
      inputs: [float('a', [2, 3]), float('b', [2, 2])],
      build: (graph) => graph.op('Concat', ['a', 'b'], { axis: attr.int(-1) }),
    },
  },
  Slice: {
    'starts and ends, axes omitted': {
      inputs: [float('x', [4, 5])],
      build: (graph) => graph.op('Slice', ['x', int64(graph, [1, 0]), int64(graph, [3, 4])]),
    },
    'negative bounds, clamped end, negative and strided steps': {
      inputs: [float('x', [4, 6, 3])],
      build: (graph) =>
        graph.op('Slice', [
          'x',
          int64(graph, [-1, 1]),
          int64(graph, [-100, 100]),
          int64(graph, [1, 0]),
          int64(graph, [-2, 2]),
        ]),
    },
  },
  Gather: {
    'axis 0 (embedding rows), repeated and negative indices': {
      inputs: [float('table', [5, 3])],
      build: (graph) => graph.op('Gather', ['table', int64(graph, [0, 4, 4, -1, 2, 0], [2, 3])]),
    },
    'axis 0, scalar index': {
      inputs: [float('table', [5, 3])],
      build: (graph) => graph.op('Gather', ['table', int64(graph, [3], [])]),
    },
    'axis 1, repeated indices': {
      inputs: [float('x', [2, 4, 3])],
      build: (graph) => graph.op('Gather', ['x', int64(graph, [3, 0, 3])], { axis: attr.int(1) }),
    },
  },
  Cast: {
    'float64 -> float32 -> float64 (step large against float32 rounding)': {
      inputs: [float('x', [3, 4])],
      build: (graph) =>
        graph.op('Cast', [graph.op('Cast', ['x'], { to: attr.int(1) })], { to: attr.int(11) }),
      step: 0.25,
      tolerance: 1e-5,
    },
    'to int64 stops the gradient': {
      inputs: [float('x', [3, 4], { awayFromZero: 0.1 })],
      build: (graph) => {
        const truncated = graph.op('Cast', [graph.op('Cast', ['x'], { to: attr.int(7) })], {
          to: attr.int(11),
        });
        return graph.op('Mul', ['x', truncated]);
      },
    },
  },
  Expand: {
    '[3,1] -> [2,3,4]': {
      inputs: [float('x', [3, 1])],
      build: (graph) => graph.op('Expand', ['x', int64(graph, [2, 3, 4])]),
    },
  },
  NegativeLogLikelihoodLoss: {
    'mean, after LogSoftmax (PyTorch cross_entropy)': {
      inputs: [float('scores', [5, 4]), labels('labels', [0, 3, 1, 3, 2])],
      build: (graph) => graph.op('NegativeLogLikelihoodLoss', [graph.op('LogSoftmax', ['scores']), 'labels']),
    },
    sum: {
      inputs: [float('logp', [5, 4]), labels('labels', [0, 3, 1, 3, 2])],
      build: (graph) =>
        graph.op('NegativeLogLikelihoodLoss', ['logp', 'labels'], { reduction: attr.string('sum') }),
    },
    none: {
      inputs: [float('logp', [5, 4]), labels('labels', [0, 3, 1, 3, 2])],
      build: (graph) =>
        graph.op('NegativeLogLikelihoodLoss', ['logp', 'labels'], { reduction: attr.string('none') }),
    },
  },
  Conv: {
    '2-D with bias': conv([2, 3, 5, 5], [4, 3, 3, 3], true),
    'same padding (pads 1, stride 1), as the zoo CNN': conv([2, 3, 6, 6], [4, 3, 3, 3], true, {
      pads: [1, 1, 1, 1],
    }),
    'asymmetric pads that still land on the input grid': conv([1, 2, 6, 5], [2, 2, 3, 2], false, {
      pads: [2, 0, 0, 1],
    }),
    'asymmetric pads, strides leaving trailing input unread, dilations': conv(
      [2, 2, 8, 7],
      [3, 2, 3, 2],
      false,
      {
        pads: [1, 0, 2, 1],
        strides: [2, 3],
        dilations: [2, 1],
      },
    ),
    'groups 2, stride 2, pads 1, bias': conv([2, 4, 5, 5], [6, 2, 3, 3], true, {
      group: 2,
      strides: [2, 2],
      pads: [1, 1, 1, 1],
    }),
    'depthwise (group = channels)': conv([1, 3, 6, 6], [3, 1, 3, 3], false, { group: 3 }),
    'auto_pad VALID, kernel_shape given': conv([1, 2, 5, 4], [2, 2, 2, 2], true, {
      auto_pad: 'VALID',
      kernel_shape: [2, 2],
    }),
    '1-D, stride 2': conv([2, 3, 9], [2, 3, 4], true, { strides: [2] }),
    // Undeclared spatial sizes make the rule fit dX to the input at run time.
    'input of symbolic shape': {
      ...conv([2, 2, 6, 6], [3, 2, 3, 3], false, { pads: [1, 1, 1, 1] }),
      inputs: [float('x', [2, 2, 6, 6], { declaredShape: ['N', 'C', 'H', 'W'] }), float('w', [3, 2, 3, 3])],
    },
  },
  MaxPool: {
    'float32 tiling 2x2 windows (compare-and-upsample path)': pool(
      'MaxPool',
      [2, 3, 4, 6],
      { kernel_shape: [2, 2], strides: [2, 2] },
      FLOAT32_PIECEWISE_LINEAR,
      separated([2, 3, 4, 6]),
    ),
    'float32 tiling 2x3 windows, trailing input unread': pool(
      'MaxPool',
      [2, 2, 5, 7],
      { kernel_shape: [2, 3], strides: [2, 3] },
      FLOAT32_PIECEWISE_LINEAR,
      separated([2, 2, 5, 7]),
    ),
    'float32 tiling, input of symbolic shape': pool(
      'MaxPool',
      [2, 3, 4, 6],
      { kernel_shape: [2, 2], strides: [2, 2] },
      FLOAT32_PIECEWISE_LINEAR,
      { ...separated([2, 3, 4, 6]), declaredShape: ['N', 'C', 'H', 'W'] },
    ),
    'float32, auto_pad SAME_UPPER (implicit end padding: Indices path)': pool(
      'MaxPool',
      [1, 2, 5, 5],
      { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'SAME_UPPER' },
      FLOAT32_PIECEWISE_LINEAR,
      separated([1, 2, 5, 5]),
    ),
    'float32 tiling, 1-D': pool(
      'MaxPool',
      [2, 3, 9],
      { kernel_shape: [3], strides: [3] },
      FLOAT32_PIECEWISE_LINEAR,
      separated([2, 3, 9]),
    ),
    '2x2, stride 2 (float64: Indices path)': pool('MaxPool', [2, 3, 4, 4], {
      kernel_shape: [2, 2],
      strides: [2, 2],
    }),
    'overlapping 3x3 windows, stride 1, pads 1 (elements picked twice)': pool('MaxPool', [1, 2, 5, 5], {
      kernel_shape: [3, 3],
      pads: [1, 1, 1, 1],
    }),
    'ceil_mode, dilations, strides': pool('MaxPool', [1, 2, 7, 6], {
      kernel_shape: [2, 2],
      strides: [2, 2],
      dilations: [2, 1],
      ceil_mode: 1,
    }),
    'Indices output present in the forward graph': {
      inputs: [float('x', [2, 2, 4, 4])],
      build: (graph) =>
        graph.opMulti('MaxPool', ['x'], 2, {
          kernel_shape: attr.ints([2, 2]),
          strides: attr.ints([2, 2]),
        })[0] as string,
    },
  },
  AveragePool: {
    '2x2, stride 2': pool(
      'AveragePool',
      [2, 3, 4, 4],
      { kernel_shape: [2, 2], strides: [2, 2] },
      { ...FLOAT32_LINEAR, tolerance: FLOAT32_TOLERANCE },
    ),
    'pads excluded from the count, stride leaving a tail unread': pool(
      'AveragePool',
      [2, 2, 8, 7],
      { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 0] },
      { ...FLOAT32_LINEAR, tolerance: FLOAT32_TOLERANCE },
    ),
    'pads included in the count': pool(
      'AveragePool',
      [1, 2, 5, 5],
      { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 },
      { ...FLOAT32_LINEAR, tolerance: FLOAT32_TOLERANCE },
    ),
    '1-D': pool(
      'AveragePool',
      [2, 3, 7],
      { kernel_shape: [3], strides: [2] },
      { ...FLOAT32_LINEAR, tolerance: FLOAT32_TOLERANCE },
    ),
  },
  GlobalAveragePool: {
    '[2,3,4,5]': pool(
      'GlobalAveragePool',
      [2, 3, 4, 5],
      {},
      { ...FLOAT32_LINEAR, tolerance: FLOAT32_TOLERANCE },
    ),
  },
  BatchNormalization: {
    'training mode (batch statistics), [N, C, H, W]': batchNorm([4, 3, 2, 2], true),
    'training mode, [N, C]': batchNorm([6, 3], true),
    'inference mode (running statistics)': batchNorm([4, 3, 2, 2], false),
  },
  Dropout: {
    'training mode: the seeded mask of the same run, scaled by 1 / (1 - ratio)': {
      inputs: [float('x', [4, 5])],
      build: (graph) =>
        graph.opMulti(
          'Dropout',
          [
            'x',
            graph.constant(tensor.float('float64', [0.3], [])),
            graph.constant({ type: 'bool', dims: [], data: Uint8Array.of(1) }),
          ],
          2,
          { seed: attr.int(7) },
        )[0] as string,
      freshSessions: true,
    },
    'training_mode false at run time': {
      inputs: [float('x', [4, 5])],
      build: (graph) =>
        graph.opMulti(
          'Dropout',
          [
            'x',
            graph.constant(tensor.float('float64', [0.3], [])),
            graph.constant({ type: 'bool', dims: [], data: Uint8Array.of(0) }),
          ],
          2,
        )[0] as string,
    },
    'inference form (no training_mode input)': unary('Dropout', [4, 5]),
  },
};

describe('gradient rules match central finite differences', () => {
  const worst = new Map<string, number>();
  afterAll(() => {
    console.log(
      `max relative error per rule: ${[...worst].map(([op, error]) => `${op} ${error.toExponential(1)}`).join(', ')}`,
    );
  });

  for (const [opType, opCases] of Object.entries(cases)) {
    describe(opType, () => {
      test.each(Object.entries(opCases))('%s', async (_label, testCase) => {
        const { maxRelativeError, checked } = await gradientCheck(testCase);
        worst.set(opType, Math.max(worst.get(opType) ?? 0, maxRelativeError));
        expect(checked).toBeGreaterThan(0);
        expect(maxRelativeError).toBeLessThan(testCase.tolerance ?? TOLERANCE);
      });
    });
  }

  test('every rule that lets a gradient through is checked above', () => {
    const differentiable = [...gradientRules.values()].filter((rule) => rule.differentiableInputs.length > 0);
    expect(differentiable.map((rule) => rule.opType).sort()).toEqual(Object.keys(cases).sort());
  });
});

test('the checker catches a wrong rule', async () => {
  const tanh = gradientRules.get('Tanh') as GradientRule;
  // Pretend tanh' = 1.
  const broken: GradientRule = { ...tanh, gradients: (_node, ctx) => [() => ctx.outputGrad()] };
  const { maxRelativeError } = await gradientCheck({
    ...unary('Tanh', [3, 4]),
    rules: new Map(gradientRules).set('Tanh', broken),
  });
  expect(maxRelativeError).toBeGreaterThan(0.1);
});
