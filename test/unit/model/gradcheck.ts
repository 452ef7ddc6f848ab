import * as ort from 'onnxruntime-node';
import { differentiate, type GradientRule } from '../../../model/autodiff';
import { attr, type FloatType, Graph } from '../../../model/graph';
import { createRng } from '../../../model/random';

/**
 * Finite-difference gradient checks run through onnxruntime: the op under test is wrapped
 * in loss = sum(out * probe) with a random probe, so every output element carries a
 * distinct weight; the differentiated graph's gradients are compared with central
 * differences of that loss.
 */

export interface CheckInput {
  readonly name: string;
  readonly shape: readonly number[];
  /** Float inputs are differentiated unless `constant`; int64 inputs are fed `values`. */
  readonly type?: 'float' | 'int64';
  readonly values?: readonly number[];
  readonly constant?: boolean;
  /** Keep random values at least this far from zero (away from kinks such as Relu's). */
  readonly awayFromZero?: number;
  /** Random values in (awayFromZero, 2) only, for inputs of Log, Sqrt or Pow. */
  readonly positive?: boolean;
  /** Declared graph shape; defaults to `shape`. Symbolic dims force the rules' dynamic paths. */
  readonly declaredShape?: readonly (number | string)[];
}

export interface CheckCase {
  readonly inputs: readonly CheckInput[];
  /** Adds the op(s) under test to `graph` and returns the output to check. */
  readonly build: (graph: Graph) => string;
  /** float64 by default; ops onnxruntime implements only for float32 (Conv, pools) need float32. */
  readonly floatType?: FloatType;
  /**
   * Finite-difference step; defaults to 1e-6 (float64) or 1e-2 (float32). For an output linear
   * in the input checked (Conv in X or W, pools), a large step loses no accuracy and keeps
   * float32 rounding small relative to the difference.
   */
  readonly step?: number;
  /**
   * Open new sessions for every run, so a seeded random op (Dropout) draws the same mask in the
   * gradient run and in every finite-difference run.
   */
  readonly freshSessions?: boolean;
  readonly seed?: number;
  readonly rules?: ReadonlyMap<string, GradientRule>;
}

export interface CheckResult {
  /**
   * max |analytic - numeric| / max(|analytic|, |numeric|, floor) over all checked elements. The
   * floor is 1e-3 in float64 and 1e-2 in float32, where the loss's own rounding (~1e-7 of it)
   * divided by the step swamps the relative error of near-zero entries.
   */
  readonly maxRelativeError: number;
  readonly checked: number;
}

export async function gradientCheck(testCase: CheckCase): Promise<CheckResult> {
  const floatType = testCase.floatType ?? 'float64';
  const rng = createRng(testCase.seed ?? 1);
  const values = new Map<string, Float64Array | BigInt64Array>();
  const graph = new Graph('gradcheck');
  for (const input of testCase.inputs) {
    const size = input.shape.reduce((a, b) => a * b, 1);
    if (input.type === 'int64') {
      graph.addInput(input.name, 'int64', input.declaredShape ?? input.shape);
      values.set(
        input.name,
        BigInt64Array.from(input.values ?? [], (v) => BigInt(v)),
      );
    } else {
      graph.addInput(input.name, floatType, input.declaredShape ?? input.shape);
      const floor = input.awayFromZero ?? 0;
      const random = () => {
        const magnitude = floor + (2 - floor) * rng.next();
        return input.positive || rng.next() < 0.5 ? magnitude : -magnitude;
      };
      values.set(input.name, Float64Array.from(input.values ?? Array.from({ length: size }, random)));
    }
  }
  const output = testCase.build(graph);
  const shapes = new Map(testCase.inputs.map((input) => [input.name, input.shape]));
  const feeds = (overrides?: ReadonlyMap<string, Float64Array>) => {
    const result: Record<string, ort.Tensor> = {};
    for (const [name, data] of values) {
      const shape = shapes.get(name) as readonly number[];
      if (data instanceof BigInt64Array) result[name] = new ort.Tensor('int64', data, shape);
      else {
        const chosen = overrides?.get(name) ?? data;
        result[name] =
          floatType === 'float64'
            ? new ort.Tensor('float64', chosen, shape)
            : new ort.Tensor('float32', Float32Array.from(chosen), shape);
      }
    }
    return result;
  };

  // Learn the output shape by running the op alone, then weight the output by a random probe.
  const probeShape = await outputDims(graph, output, floatType, feeds());
  const probe = Float64Array.from(
    { length: probeShape.reduce((a, b) => a * b, 1) },
    () => rng.next() * 2 - 1,
  );
  graph.addInput('probe', floatType, probeShape);
  values.set('probe', probe);
  shapes.set('probe', probeShape);
  const loss = graph.op('ReduceSum', [graph.op('Mul', [output, 'probe'])], { keepdims: attr.int(0) });
  graph.addOutput(loss, floatType, []);

  const params = testCase.inputs
    .filter((input) => input.type !== 'int64' && !input.constant)
    .map((input) => input.name);
  const { graph: trainGraph, gradients } = differentiate(graph, { loss, params, rules: testCase.rules });
  const consumed = new Set(trainGraph.nodes.flatMap((node) => node.inputs));
  expect([...trainGraph.initializers.keys()].filter((name) => !consumed.has(name))).toEqual([]);
  const runOnce = async (bytes: Uint8Array, inputs: Record<string, ort.Tensor>) => {
    const session = await ort.InferenceSession.create(bytes);
    const result = await session.run(inputs);
    await session.release();
    return result;
  };
  const train = await ort.InferenceSession.create(trainGraph.toBytes());
  const forwardBytes = graph.toBytes();
  const forward = await ort.InferenceSession.create(forwardBytes);
  const analytic = testCase.freshSessions
    ? await runOnce(trainGraph.toBytes(), feeds())
    : await train.run(feeds());
  const lossAt = async (name: string, data: Float64Array) => {
    const inputs = feeds(new Map([[name, data]]));
    const result = testCase.freshSessions ? await runOnce(forwardBytes, inputs) : await forward.run(inputs);
    return Number(result[loss]?.data[0]);
  };

  const step = testCase.step ?? (floatType === 'float64' ? 1e-6 : 1e-2);
  const floor = floatType === 'float64' ? 1e-3 : 1e-2;
  let maxRelativeError = 0;
  let checked = 0;
  for (const name of params) {
    const base = values.get(name) as Float64Array;
    const gradient = analytic[gradients.get(name) as string]?.data as Float64Array | Float32Array;
    expect(gradient.length).toBe(base.length);
    for (let i = 0; i < base.length; i++) {
      const shifted = Float64Array.from(base);
      shifted[i] = (base[i] as number) + step;
      const up = await lossAt(name, shifted);
      shifted[i] = (base[i] as number) - step;
      const down = await lossAt(name, shifted);
      const numeric = (up - down) / (2 * step);
      const exact = gradient[i] as number;
      const error = Math.abs(exact - numeric) / Math.max(Math.abs(exact), Math.abs(numeric), floor);
      maxRelativeError = Math.max(maxRelativeError, Number.isNaN(error) ? Infinity : error);
      checked++;
    }
  }
  await Promise.all([train.release(), forward.release()]);
  return { maxRelativeError, checked };
}

async function outputDims(
  graph: Graph,
  output: string,
  floatType: FloatType,
  feeds: Record<string, ort.Tensor>,
): Promise<number[]> {
  const probeGraph = graph.clone();
  probeGraph.addOutput(output, floatType);
  const session = await ort.InferenceSession.create(probeGraph.toBytes());
  const result = await session.run(feeds);
  await session.release();
  return [...(result[output]?.dims ?? [])];
}
