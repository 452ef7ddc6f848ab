/** @jest-environment ./test/unit/model/ort-environment.ts */

import { type GradientRule, gradientRules } from '../../../model/autodiff';
import { attr, type Graph } from '../../../model/graph';
import { type CheckCase, type CheckInput, gradientCheck } from './gradcheck';

/** float64 central differences with h = 1e-6 are accurate to ~1e-9; a wrong rule is off by O(1). */
const TOLERANCE = 1e-6;

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

const cases: Record<string, Record<string, CheckCase>> = {
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
};

describe('gradient rules match central finite differences (float64)', () => {
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
        expect(maxRelativeError).toBeLessThan(TOLERANCE);
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
