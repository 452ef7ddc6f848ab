import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadBuiltinDataset, sampleBatch } from '../model/datasets';
import { attr, Graph } from '../model/graph';
import { createRng } from '../model/random';
import { gradientFetches, paramFeeds } from '../model/session';
import { GRAPH_IO } from '../model/train-graph';
import { buildModel } from '../model/zoo';

/**
 * Where the train graphs' time goes (the figures docs/models.md "Benchmark" explains the model
 * ratios with): onnxruntime's profiler over 200 runs at batch 64, one thread, the median kernel
 * time of every node, largest first. Then the MLP's first-layer weight gradient alone, wall
 * clock per run, with its 400 KB output and with the output reduced away inside the graph.
 */
const BATCH = 64;
const RUNS = 200;
const data = loadBuiltinDataset('mnist');
const batch = sampleBatch(data.train, BATCH, createRng(1));
const directory = mkdtempSync(path.join(os.tmpdir(), 'kasync-profile-'));

async function profile(
  bytes: Uint8Array,
  feeds: ort.InferenceSession.FeedsType,
  fetches?: ort.InferenceSession.FetchesType,
) {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableProfiling: true,
    profileFilePrefix: path.join(directory, 'run'),
  });
  for (let i = 0; i < RUNS; i++) await (fetches ? session.run(feeds, fetches) : session.run(feeds));
  session.endProfiling();
  await session.release();
  const file = readdirSync(directory).find((name) => name.endsWith('.json')) as string;
  const events = JSON.parse(readFileSync(path.join(directory, file), 'utf8')) as {
    cat: string;
    name: string;
    dur: number;
    args: { op_name?: string };
  }[];
  rmSync(path.join(directory, file));
  const byNode = new Map<string, number[]>();
  for (const event of events) {
    if (event.cat !== 'Node' || !event.name.endsWith('_kernel_time')) continue;
    const key = `${event.args.op_name} ${event.name.replace(/_kernel_time$/, '')}`;
    byNode.set(key, [...(byNode.get(key) ?? []), event.dur]);
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1] as number;
  return [...byNode].map(([node, times]) => [node, median(times)] as const).sort((a, b) => b[1] - a[1]);
}

function print(label: string, rows: readonly (readonly [string, number])[], top: number): void {
  const total = rows.reduce((sum, [, us]) => sum + us, 0);
  process.stdout.write(`${label}: ${total} us over ${rows.length} nodes (medians of ${RUNS} runs)\n`);
  for (const [node, us] of rows.slice(0, top))
    process.stdout.write(`  ${String(us).padStart(6)} us  ${node}\n`);
}

async function main(): Promise<void> {
  for (const kind of ['mlp', 'cnn'] as const) {
    const model = buildModel({ kind }, data);
    const params = model.initParams(1);
    const x = new ort.Tensor('float32', batch.x, [BATCH, data.features]);
    const y = new ort.Tensor('int64', BigInt64Array.from(batch.y, BigInt), [BATCH]);
    const feeds = paramFeeds(model.manifest, params);
    const fetches = {
      [GRAPH_IO.loss]: new ort.Tensor('float32', new Float32Array(1), []),
      ...gradientFetches(model.manifest, new Float32Array(model.manifest.totalSize)),
    };
    print(`${kind} forward`, await profile(model.forward, { ...feeds, [GRAPH_IO.x]: x }), 6);
    print(
      `${kind} train`,
      await profile(model.train, { ...feeds, [GRAPH_IO.x]: x, [GRAPH_IO.y]: y }, fetches),
      16,
    );
  }

  const weightGradient = (reduced: boolean) => {
    const graph = new Graph('dW1', 17);
    graph.addInput('dz', 'float32', [BATCH, 128]);
    graph.addInput('x', 'float32', [BATCH, data.features]);
    const dW = graph.op('Gemm', ['dz', 'x'], { transA: attr.int(1) }, { name: 'dW1' });
    const output = reduced ? graph.op('ReduceSum', [dW], { keepdims: attr.int(0) }, { name: 'reduce' }) : dW;
    graph.addOutput(output, 'float32');
    return graph.toBytes();
  };
  const rng = createRng(2);
  const dz = new ort.Tensor(
    'float32',
    Float32Array.from({ length: BATCH * 128 }, () => rng.normal()),
    [BATCH, 128],
  );
  const x = new ort.Tensor('float32', batch.x, [BATCH, data.features]);
  for (const reduced of [false, true]) {
    const session = await ort.InferenceSession.create(weightGradient(reduced), {
      intraOpNumThreads: 1,
      executionMode: 'sequential',
    });
    const times: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const started = performance.now();
      await session.run({ dz, x });
      times.push(performance.now() - started);
    }
    await session.release();
    const median = times.sort((a, b) => a - b)[times.length >> 1] as number;
    process.stdout.write(
      `MLP dW1 = dz^T x ${reduced ? 'reduced to a scalar in the graph' : 'with its 128 x 784 output'}: ${(median * 1000).toFixed(0)} us per run (median of 2000, wall clock)\n`,
    );
  }
  rmSync(directory, { recursive: true, force: true });
}

void main();
