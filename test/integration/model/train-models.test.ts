/** @jest-environment ./test/unit/model/ort-environment.ts */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ValidationError } from '../../../engine/errors';
import { submitJob } from '../../../engine/jobs';
import { s3Keys } from '../../../engine/keys';
import type { JobDescriptor } from '../../../engine/runtime';
import { type Embedded, LEARNER_FUNCTION, startEmbedded } from '../../../local/kasync';
import { loadBuiltinDataset, type Split } from '../../../model/datasets';
import { exportInferenceModel } from '../../../model/export';
import { attr, Graph, tensor } from '../../../model/graph';
import { GRAPH_IO } from '../../../model/train-graph';
import { exportedCnn } from '../../unit/model/onnx-fixtures';
import { runToEnd } from '../helpers/jobs';

/**
 * Models beyond the MLP train end to end on the embedded stack: learners in child processes
 * pull the generated train graphs and shards from S3, and the trained model comes back as a
 * plain ONNX file that scores what the job reported.
 */
describe('model zoo and bring-your-own models on the embedded stack', () => {
  let embedded: Embedded;
  let dir: string;

  beforeAll(async () => {
    embedded = await startEmbedded({ maxLearners: 8 });
    dir = mkdtempSync(path.join(tmpdir(), 'kasync-byo-'));
  });
  afterAll(async () => {
    await embedded?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Accuracy of the job's exported model (the forward graph with w[version] baked in) on `data`. */
  async function exportedAccuracy(jobId: string, version: number, data: Split): Promise<number> {
    const [descriptor, forward, weights] = await Promise.all([
      embedded.stores.blobs.getJson<JobDescriptor>(s3Keys.spec(jobId)),
      embedded.stores.blobs.get(s3Keys.forwardModel(jobId)),
      embedded.stores.blobs.getWeights(jobId, version),
    ]);
    const session = await ort.InferenceSession.create(
      exportInferenceModel({ forward, manifest: descriptor.params }, weights),
    );
    const features = data.x.length / data.n;
    const logits = (
      await session.run({ [GRAPH_IO.x]: new ort.Tensor('float32', data.x, [data.n, features]) })
    )[GRAPH_IO.logits];
    await session.release();
    const scores = logits?.data as Float32Array;
    const classes = scores.length / data.n;
    let correct = 0;
    for (let row = 0; row < data.n; row++) {
      const rowScores = scores.subarray(row * classes, (row + 1) * classes);
      if (rowScores.indexOf(Math.max(...rowScores)) === data.y[row]) correct++;
    }
    return correct / data.n;
  }

  test('a CNN job learns MNIST, and its exported model scores what the job reported', async () => {
    const { jobId, summary } = await runToEnd(
      embedded,
      {
        model: 'cnn',
        dataset: 'mnist',
        variant: 'k-async',
        learners: 4,
        k: 2,
        batchSize: 64,
        lr: { eta: 0.2 },
        stop: { maxUpdates: 200, maxSeconds: 150 },
        evalEvery: 50,
      },
      undefined,
      170_000,
    );
    console.log(
      `CNN on MNIST, k-async P=4 K=2, 200 updates of batch 64: test accuracy ${summary.testAccuracy}`,
    );
    expect(summary).toMatchObject({ status: 'DONE', version: 200, evaluatedVersion: 200 });
    expect(summary.testAccuracy).toBeGreaterThan(0.9);
    // Baked-in weights may take other float32 kernels: allow one borderline digit of 2,000.
    const exported = await exportedAccuracy(jobId, 200, loadBuiltinDataset('mnist').test);
    expect(Math.abs(exported - (summary.testAccuracy as number))).toBeLessThanOrEqual(1 / 2000);
    expect(embedded.stack.lambda.stats(LEARNER_FUNCTION).errors).toBe(0);
  }, 180_000);

  test('a PyTorch-style ONNX file and a CSV file given as local paths are uploaded and trained', async () => {
    const mnist = loadBuiltinDataset('mnist');
    const rows = 3000;
    const lines = [[...Array.from({ length: 784 }, (_, i) => `p${i}`), 'digit'].join(',')];
    for (let row = 0; row < rows; row++) {
      lines.push(
        `${Array.from(mnist.train.x.subarray(row * 784, (row + 1) * 784)).join(',')},${mnist.train.y[row]}`,
      );
    }
    const csv = path.join(dir, 'digits.csv');
    writeFileSync(csv, lines.join('\n'));
    const onnx = path.join(dir, 'net.onnx');
    writeFileSync(onnx, exportedCnn({ dropout: 0.25, opset: 17 }));

    const { jobId, summary } = await runToEnd(
      embedded,
      {
        model: { onnx, input: 'input', output: 'output', loss: 'cross-entropy' },
        dataset: { csv, label: 'digit', testFraction: 0.2 },
        variant: 'k-async',
        learners: 4,
        k: 2,
        batchSize: 32,
        lr: { eta: 0.05 },
        stop: { maxUpdates: 150, maxSeconds: 120 },
        evalEvery: 50,
      },
      undefined,
      150_000,
    );
    console.log(
      `PyTorch-style CNN on a 3,000-row MNIST CSV, 150 updates: test accuracy ${summary.testAccuracy}`,
    );
    const { spec } = await embedded.stores.jobs.getJob(jobId);
    expect(spec.model).toMatchObject({
      kind: 'onnx',
      onnx: expect.stringMatching(/^s3:\/\/.*\/uploads\/[0-9a-f]{64}\.onnx$/),
    });
    expect(spec.dataset).toMatchObject({
      csv: expect.stringMatching(/^s3:\/\/.*\/uploads\/[0-9a-f]{64}\.csv$/),
    });
    expect(summary).toMatchObject({ status: 'DONE', version: 150 });
    expect(summary.testAccuracy).toBeGreaterThan(0.8);
    expect(embedded.stack.lambda.stats(LEARNER_FUNCTION).errors).toBe(0);
  }, 160_000);

  test('a model with unsupported ops is refused before any learner starts, naming each op and node', async () => {
    const graph = new Graph('gelu_net', 17);
    graph.addInput('input', 'float32', ['batch', 784]);
    graph.addInitializer('fc.weight', tensor.float('float32', Array(7840).fill(0.01), [10, 784]));
    const hidden = graph.op('Gemm', ['input', 'fc.weight'], { transB: attr.int(1) }, { name: '/fc/Gemm' });
    graph.addNode({ opType: 'Erf', inputs: [hidden], outputs: ['output'], name: '/gelu/Erf' });
    graph.addOutput('output', 'float32', ['batch', 10]);
    const onnx = path.join(dir, 'gelu.onnx');
    writeFileSync(onnx, graph.toBytes());
    const invocations = embedded.stack.lambda.stats(LEARNER_FUNCTION).invocations;
    const submitted = submitJob(
      embedded.clients,
      embedded.resources,
      embedded.stores,
      { model: { onnx }, dataset: 'mnist' },
      { localPaths: true },
    );
    await expect(submitted).rejects.toThrow(ValidationError);
    await expect(submitted).rejects.toThrow(
      "model: cannot differentiate: unsupported op Erf (node '/gelu/Erf')",
    );
    expect(embedded.stack.lambda.stats(LEARNER_FUNCTION).invocations).toBe(invocations);
  });
});
