/** @jest-environment ./test/unit/model/ort-environment.ts */

import * as ort from 'onnxruntime-node';
import { differentiate } from '../../../model/autodiff';
import { DifferentiationError, GraphError } from '../../../model/errors';
import { attr, Graph, tensor } from '../../../model/graph';
import { gradientCheck } from './gradcheck';
import { unsupportedOps } from './unsupported-ops';

/** x [2, 3] (a parameter) through `body`, summed to a scalar loss. */
function graphWith(
  body: (graph: Graph, x: string) => string,
  opset?: number,
): { graph: Graph; loss: string } {
  const graph = new Graph('test', opset);
  graph.addInput('x', 'float32', [2, 3]);
  const loss = graph.op('ReduceSum', [body(graph, 'x')], { keepdims: attr.int(0) });
  graph.addOutput(loss, 'float32', []);
  return { graph, loss };
}

describe('unsupported ops', () => {
  test('are all reported at once, by op type and node name', () => {
    const { graph, loss } = graphWith((g, x) => {
      const erf = g.addNode({ opType: 'Erf', inputs: [x], outputs: ['erf_out'], name: 'gelu_erf' });
      const custom = g.addNode({
        opType: 'FancyActivation',
        domain: 'com.example',
        inputs: [erf.outputs[0] as string],
        outputs: ['fancy_out'],
        name: 'block1/fancy',
      });
      return custom.outputs[0] as string;
    });
    const error = unsupportedOps(() => differentiate(graph, { loss, params: ['x'] }));
    expect(error.name).toBe('UnsupportedOpError');
    expect(error.ops).toEqual([
      { opType: 'Erf', nodeName: 'gelu_erf', reason: undefined },
      { opType: 'com.example.FancyActivation', nodeName: 'block1/fancy', reason: undefined },
    ]);
    expect(error.message).toContain("Erf (node 'gelu_erf')");
    expect(error.message).toContain("com.example.FancyActivation (node 'block1/fancy')");
  });

  test('off the path from the parameters to the loss are fine', () => {
    const { graph, loss } = graphWith((g, x) => {
      g.addInput('other', 'float32', [2, 3]);
      const constantBranch = g.op('Erf', ['other']);
      return g.op('Add', [g.op('Tanh', [x]), constantBranch]);
    });
    const unusedOutput = graph.op('Erf', ['x']);
    graph.addOutput(unusedOutput, 'float32');
    expect(() => differentiate(graph, { loss, params: ['x'] })).not.toThrow();
  });

  test('supported ops used in an unsupported way say why', () => {
    const graph = new Graph('loss');
    graph.addInput('scores', 'float32', ['N', 3]);
    graph.addInput('labels', 'int64', ['N']);
    const [loss, logProb] = graph.opMulti('SoftmaxCrossEntropyLoss', ['scores', 'labels'], 2, {
      ignore_index: attr.int(-1),
    }) as [string, string];
    const total = graph.op('Add', [loss, graph.op('ReduceSum', [logProb], { keepdims: attr.int(0) })]);
    graph.addOutput(total, 'float32', []);
    const error = unsupportedOps(() => differentiate(graph, { loss: total, params: ['scores'] }));
    expect(error.ops.map((op) => op.reason)).toEqual([
      'ignore_index is not supported',
      expect.stringContaining(`output 1 ('${logProb}') feeds the loss`),
    ]);
  });

  test('1-D MatMul operands are rejected up front', () => {
    const graph = new Graph('matvec');
    graph.addInput('w', 'float32', [3, 4]);
    graph.addInput('v', 'float32', [4]);
    const loss = graph.op('ReduceSum', [graph.op('MatMul', ['w', 'v'], undefined, { name: 'matvec' })]);
    graph.addOutput(loss, 'float32', []);
    const error = unsupportedOps(() => differentiate(graph, { loss, params: ['w'] }));
    expect(error.ops[0]).toMatchObject({ opType: 'MatMul', reason: '1-D operands are not supported' });
  });
});

describe('differentiate', () => {
  test('shape arithmetic on activations (as exporters emit for flatten) carries no gradient', async () => {
    const { maxRelativeError } = await gradientCheck({
      inputs: [{ name: 'x', shape: [2, 3, 4] }],
      build: (graph) => {
        const batch = graph.op('Gather', [graph.op('Shape', ['x']), graph.constant(tensor.int64([0]))], {
          axis: attr.int(0),
        });
        const shape = graph.op('Concat', [batch, graph.constant(tensor.int64([-1]))], { axis: attr.int(0) });
        return graph.op('Tanh', [graph.op('Reshape', ['x', shape])]);
      },
    });
    expect(maxRelativeError).toBeLessThan(1e-6);
  });

  test('sums the gradients of a tensor used several times', async () => {
    const { maxRelativeError } = await gradientCheck({
      inputs: [{ name: 'a', shape: [2, 3] }],
      build: (graph) => graph.op('Add', [graph.op('Mul', ['a', 'a']), graph.op('Tanh', ['a'])]),
    });
    expect(maxRelativeError).toBeLessThan(1e-6);
  });

  test('gives zeros for a parameter the loss does not depend on, and treats a vector loss as its sum', async () => {
    const graph = new Graph('partial');
    graph.addInput('x', 'float32', [3]);
    graph.addInput('unused', 'float32', [2, 2]);
    const loss = graph.op('Tanh', ['x']);
    graph.addOutput(loss, 'float32', [3]);
    const { graph: train, gradients } = differentiate(graph, { loss, params: ['x', 'unused'] });
    const session = await ort.InferenceSession.create(train.toBytes());
    const x = Float32Array.of(0.5, -1, 2);
    const result = await session.run({
      x: new ort.Tensor('float32', x, [3]),
      unused: new ort.Tensor('float32', new Float32Array(4).fill(7), [2, 2]),
    });
    await session.release();
    const dx = result[gradients.get('x') as string];
    const dUnused = result[gradients.get('unused') as string];
    const expected = Array.from(x, (v) => 1 - Math.tanh(v) ** 2);
    Array.from(dx?.data as Float32Array).forEach((value, i) => {
      expect(value).toBeCloseTo(expected[i] as number, 6);
    });
    expect(dUnused?.dims).toEqual([2, 2]);
    expect(Array.from(dUnused?.data as Float32Array)).toEqual([0, 0, 0, 0]);
  });

  test('tiling MaxPool splits the gradient of a window with equal maxima among them', async () => {
    const graph = new Graph('ties');
    graph.addInput('x', 'float32', [1, 1, 2, 4]);
    const pooled = graph.op('MaxPool', ['x'], {
      kernel_shape: attr.ints([2, 2]),
      strides: attr.ints([2, 2]),
    });
    const loss = graph.op('ReduceSum', [pooled], { keepdims: attr.int(0) });
    graph.addOutput(loss, 'float32', []);
    const { graph: train, gradients } = differentiate(graph, { loss, params: ['x'] });
    const session = await ort.InferenceSession.create(train.toBytes());
    const x = Float32Array.of(1, 1, 0, 3, 0, 0, 3, 3);
    const result = await session.run({ x: new ort.Tensor('float32', x, [1, 1, 2, 4]) });
    await session.release();
    const dx = Array.from(result[gradients.get('x') as string]?.data as Float32Array);
    const third = 1 / 3;
    expect(dx.map((value) => Number(value.toFixed(6)))).toEqual(
      [0.5, 0.5, 0, third, 0, 0, third, third].map((value) => Number(value.toFixed(6))),
    );
  });

  test('leaves the forward graph untouched and names gradients after parameters', () => {
    const { graph, loss } = graphWith((g, x) => g.op('Tanh', [x]));
    const before = graph.toBytes();
    const { graph: train, gradients } = differentiate(graph, { loss, params: ['x'] });
    expect(graph.toBytes()).toEqual(before);
    expect(gradients.get('x')).toBe('x_grad');
    expect(train.outputs.map((output) => output.name)).toEqual([loss, 'x_grad']);
    expect(train.outputs[1]?.shape).toEqual([2, 3]);

    // Chosen names are taken before any backward tensor is named, so none can take them.
    const named = differentiate(graph, { loss, params: ['x'], gradientName: (param) => `grad/${param}` });
    expect(named.graph.outputs.map((output) => output.name)).toEqual([loss, 'grad/x']);
    expect(() => differentiate(graph, { loss, params: ['x'], gradientName: () => loss })).toThrow(
      /gradient output '.*' would clash with a tensor of graph 'test'/,
    );
  });

  test('rejects impossible requests with named errors', () => {
    const { graph, loss } = graphWith((g, x) => g.op('Tanh', [x]));
    expect(() => differentiate(graph, { loss, params: ['nope'] })).toThrow(GraphError);
    expect(() => differentiate(graph, { loss: 'missing', params: ['x'] })).toThrow(GraphError);
    expect(() => differentiate(graph, { loss, params: [] })).toThrow(DifferentiationError);

    const old = graphWith((g, x) => g.op('Tanh', [x]), 12);
    expect(() => differentiate(old.graph, { loss: old.loss, params: ['x'] })).toThrow(/opset 12/);

    graph.addInput('steps', 'int64', [1]);
    expect(() => differentiate(graph, { loss, params: ['steps'] })).toThrow(DifferentiationError);
    graph.addInput('precise', 'float64', [1]);
    expect(() => differentiate(graph, { loss, params: ['x', 'precise'] })).toThrow(/mix float types/);
  });
});
