/** @jest-environment ./test/unit/model/ort-environment.ts */

import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { GraphError } from '../../../model/errors';
import { attr, floatAttr, Graph, intAttr, intsAttr, stringAttr, tensor } from '../../../model/graph';

function sampleGraph(): Graph {
  const graph = new Graph('sample');
  graph.addInput('x', 'float32', ['N', 3]);
  graph.addInput('w', 'float32', [4, 3]);
  const bias = graph.constant(tensor.float('float32', [0.5, -1, 2, 0], [4]), 'bias');
  const y = graph.op('Gemm', ['x', 'w', bias], { transB: attr.int(1), alpha: attr.float(0.25) });
  const axes = graph.constant(tensor.int64([1]));
  const total = graph.op('ReduceSum', [y, axes], { keepdims: attr.int(0) }, { name: 'row_total' });
  graph.addOutput(total, 'float32', ['N']);
  return graph;
}

describe('Graph', () => {
  test('builds a model onnxruntime runs', async () => {
    const session = await ort.InferenceSession.create(sampleGraph().toBytes());
    expect(session.inputNames).toEqual(['x', 'w']);
    const x = Float32Array.of(1, 2, 3, -1, 0, 1);
    const w = Float32Array.from({ length: 12 }, (_, i) => i / 4);
    const result = await session.run({
      x: new ort.Tensor('float32', x, [2, 3]),
      w: new ort.Tensor('float32', w, [4, 3]),
    });
    await session.release();
    const bias = [0.5, -1, 2, 0];
    const expected = [0, 1].map((row) =>
      bias.reduce((total, b, out) => {
        let dot = 0;
        for (let k = 0; k < 3; k++) dot += (x[row * 3 + k] as number) * (w[out * 3 + k] as number);
        return total + 0.25 * dot + b;
      }, 0),
    );
    const output = result[session.outputNames[0] as string]?.data as Float32Array;
    expected.forEach((value, i) => {
      expect(output[i]).toBeCloseTo(value, 5);
    });
  });

  test('round-trips through bytes: nodes, attributes, initializers, shapes, opset', () => {
    const graph = sampleGraph();
    graph.op('Identity', ['x'], {
      label: attr.string('héllo'),
      sizes: attr.ints([1, -2, 3]),
      scales: attr.floats([0.5, 1.5]),
      fill: attr.tensor(tensor.int64([7, 8], [2])),
    });
    const decoded = Graph.fromBytes(graph.toBytes());
    expect(decoded.opset).toBe(17);
    expect(decoded.inputs).toEqual(graph.inputs);
    expect(decoded.outputs).toEqual(graph.outputs);
    expect(decoded.nodes).toEqual(graph.nodes);
    expect([...decoded.initializers]).toEqual([...graph.initializers]);
    expect(decoded.toBytes()).toEqual(graph.toBytes());
  });

  test('decodes tensors stored in typed fields and initializers listed as inputs', () => {
    const bytes = onnx.ModelProto.encode({
      irVersion: 7,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'exported',
        node: [{ opType: 'Add', input: ['x', 'b'], output: ['y'] }],
        input: [valueInfo('x', [2]), valueInfo('b', [2])],
        output: [valueInfo('y', [2])],
        initializer: [{ name: 'b', dataType: 1, dims: [2], floatData: [1.5, -2] }],
      },
    }).finish();
    const graph = Graph.fromBytes(bytes);
    expect(graph.opset).toBe(13);
    expect(graph.inputs.map((input) => input.name)).toEqual(['x']);
    expect(graph.initializers.get('b')).toEqual({
      type: 'float32',
      dims: [2],
      data: Float32Array.of(1.5, -2),
    });
    expect(graph.nodes[0]?.name).toBe('Add:y');
  });

  test('rejects bytes that are not a model', () => {
    expect(() => Graph.fromBytes(Uint8Array.of(0xff, 0xff, 0xff, 0x0f))).toThrow(GraphError);
  });

  test('fresh names never collide with existing tensors or nodes', () => {
    const graph = new Graph();
    graph.addInput('Relu_out', 'float32', [1]);
    const names = new Set<string>(['Relu_out']);
    for (let i = 0; i < 5; i++) {
      const output = graph.op('Relu', ['Relu_out']);
      expect(names.has(output)).toBe(false);
      names.add(output);
    }
    expect(new Set(graph.nodes.map((node) => node.name)).size).toBe(5);
  });

  test('keeps tensors single-assignment', () => {
    const graph = new Graph();
    graph.addInput('x', 'float32', [1]);
    expect(() => graph.addInput('x', 'float32', [1])).toThrow(GraphError);
    expect(() => graph.addInitializer('x', tensor.int64([1]))).toThrow(GraphError);
    graph.addNode({ opType: 'Relu', inputs: ['x'], outputs: ['y'] });
    expect(() => graph.addNode({ opType: 'Tanh', inputs: ['x'], outputs: ['y'] })).toThrow(/already defined/);
    expect(() =>
      graph.addInitializer('bad', { type: 'int64', dims: [3], data: BigInt64Array.of(1n) }),
    ).toThrow(/1 values for dims \[3\]/);
  });

  test('shares identical small constants', () => {
    const graph = new Graph();
    const a = graph.constant(tensor.int64([0, 1]));
    expect(graph.constant(tensor.int64([0, 1]))).toBe(a);
    expect(graph.constant(tensor.int64([0, 1], [1, 2]))).not.toBe(a);
    expect(graph.constant(tensor.float('float32', [0, 1], [2]))).not.toBe(a);
  });

  test('clones independently', () => {
    const graph = sampleGraph();
    const copy = graph.clone('copy');
    copy.op('Relu', ['x']);
    copy.clearOutputs();
    expect(copy.nodes.length).toBe(graph.nodes.length + 1);
    expect(graph.outputs.length).toBe(1);
    expect(() => copy.addInput('w', 'float32', [1])).toThrow(GraphError);
  });

  test('reads typed attributes with defaults and rejects the wrong kind', () => {
    const graph = sampleGraph();
    const gemm = graph.nodes[0];
    if (!gemm) throw new Error('no node');
    expect(intAttr(gemm, 'transB', 0)).toBe(1);
    expect(intAttr(gemm, 'transA', 0)).toBe(0);
    expect(floatAttr(gemm, 'alpha', 1)).toBe(0.25);
    expect(stringAttr(gemm, 'mode', 'none')).toBe('none');
    expect(intsAttr(gemm, 'perm')).toBeUndefined();
    expect(() => floatAttr(gemm, 'transB', 0)).toThrow(/is int, expected float/);
  });
});

function valueInfo(name: string, dims: number[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: 1, shape: { dim: dims.map((dimValue) => ({ dimValue })) } } },
  };
}
