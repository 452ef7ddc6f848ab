import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ASSET_LIMITS, uploadKey } from '../../../engine/assets';
import { loadSplit } from '../../../engine/datasets';
import { NotFoundError, ValidationError } from '../../../engine/errors';
import { resolveJobModel, uploadDatasetAsset, uploadModelAsset } from '../../../engine/models';
import { parseJobSpec } from '../../../engine/spec';
import type { BlobStore } from '../../../engine/store/blob-store';
import { attr, Graph, tensor } from '../../../model/graph';
import { exportedCnn, exportedEmbeddingModel } from './onnx-fixtures';

/** The BlobStore methods model resolution uses, in memory. */
class MemoryBlobs {
  readonly bucket = 'kasync-test';
  readonly objects = new Map<string, Uint8Array>();
  async put(key: string, body: Uint8Array | string) {
    this.objects.set(key, typeof body === 'string' ? new TextEncoder().encode(body) : body.slice());
  }
  async get(key: string) {
    const body = this.objects.get(key);
    if (body === undefined) throw new NotFoundError(`no object ${key}`);
    return body;
  }
  async exists(key: string) {
    return this.objects.has(key);
  }
  async putJson(key: string, value: unknown) {
    await this.put(key, JSON.stringify(value));
  }
  async getJson<T>(key: string): Promise<T> {
    return JSON.parse(new TextDecoder().decode(await this.get(key))) as T;
  }
}

const memoryBlobs = () => new MemoryBlobs();
const asStore = (blobs: MemoryBlobs) => blobs as unknown as BlobStore;

async function validationError(run: () => Promise<unknown>): Promise<ValidationError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kasync-model-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: Uint8Array | string): string {
  const location = path.join(dir, name);
  writeFileSync(location, content);
  return location;
}

/** 4 token-id features; `labels` gives the label column's values per row index. */
function tokenCsv(rows: number, label: (row: number, ids: number[]) => string): string {
  const lines = ['t1,t2,t3,t4,label'];
  for (let row = 0; row < rows; row++) {
    const ids = [row % 20, (row * 7) % 20, (row * 3) % 20, (row * 11) % 20];
    lines.push(`${ids.join(',')},${label(row, ids)}`);
  }
  return lines.join('\n');
}

describe('job spec: model and dataset fields', () => {
  test('accept built-in names and options, ONNX models and CSV datasets', () => {
    const spec = (model: unknown, dataset: unknown = 'mnist') => parseJobSpec({ model, dataset });
    expect(spec('cnn').model).toEqual({ kind: 'cnn' });
    expect(spec({ kind: 'cnn', channels: [4, 8], activation: 'tanh' }).model).toEqual({
      kind: 'cnn',
      channels: [4, 8],
      activation: 'tanh',
    });
    expect(spec({ onnx: 'net.onnx', input: 'input' }).model).toEqual({
      kind: 'onnx',
      onnx: 'net.onnx',
      input: 'input',
      loss: 'cross-entropy',
    });
    // The stored (parsed) form parses again to itself.
    const byo = spec({ onnx: 's3://b/k.onnx', loss: 'mse' }, { csv: 'data.csv', label: 'y' });
    expect(parseJobSpec(byo)).toEqual(byo);
    expect(byo.dataset).toEqual({ csv: 'data.csv', label: 'y', testFraction: 0.2 });
    expect(spec('logreg', 'synthetic-binary').dataset).toBe('synthetic-binary');
  });

  test.each<[unknown, unknown, string, RegExp]>([
    ['resnet', 'mnist', 'model', /built-in model \(softmax, logreg, mlp, cnn\)/],
    [{ onnx: 'a.onnx', loss: 'l1' }, 'mnist', 'model', /model: loss: .*cross-entropy/],
    [{ kind: 'rnn' }, 'mnist', 'model', /built-in model/],
    [{ onnx: '' }, 'mnist', 'model', /model: onnx: /],
    [{ kind: 'cnn', channels: [0] }, 'mnist', 'model.channels.0', /./],
    [{ kind: 'cnn', kernel: 5 }, 'mnist', 'model.kernel', /Unrecognized key/],
    ['mlp', 'iris', 'dataset', /built-in dataset \(mnist, synthetic, synthetic-binary\)/],
    ['mlp', { csv: 'a.csv' }, 'dataset', /dataset: label: /],
    ['mlp', { csv: 'a.csv', label: 'y', testFraction: 1 }, 'dataset.testFraction', /./],
  ])('model %j with dataset %j is refused naming %s', (model, dataset, field, message) => {
    let error: unknown;
    try {
      parseJobSpec({ model, dataset });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ field });
    expect((error as Error).message).toMatch(message);
  });
});

describe('resolveJobModel', () => {
  test('a built-in CNN on MNIST', async () => {
    const blobs = memoryBlobs();
    const spec = parseJobSpec({ model: 'cnn', dataset: 'mnist' });
    const { model, dataset, spec: stored } = await resolveJobModel(asStore(blobs), spec);
    expect(stored).toEqual(spec);
    expect(dataset).toMatchObject({ name: 'mnist', features: 784, classes: 10, labels: 'classes' });
    expect(model.manifest.params[0]).toMatchObject({ name: 'conv1.weight', shape: [8, 1, 3, 3] });
  });

  test('local ONNX and CSV files are uploaded under content hashes and the spec points at them', async () => {
    const blobs = memoryBlobs();
    const onnx = exportedEmbeddingModel(2);
    const csv = tokenCsv(50, (_, ids) => String((ids[0] as number) % 2));
    const spec = parseJobSpec({
      model: { onnx: file('bag.onnx', onnx), input: 'tokens' },
      dataset: { csv: file('tokens.csv', csv), label: 'label' },
    });
    const {
      spec: stored,
      model,
      dataset,
    } = await resolveJobModel(asStore(blobs), spec, { localPaths: true });
    expect(stored.model).toMatchObject({ kind: 'onnx', onnx: `s3://kasync-test/${uploadKey('onnx', onnx)}` });
    expect(stored.dataset).toMatchObject({
      csv: `s3://kasync-test/${uploadKey('csv', new TextEncoder().encode(csv))}`,
    });
    expect(blobs.objects.get(uploadKey('onnx', onnx))).toEqual(onnx);
    expect(dataset).toMatchObject({
      features: 4,
      classes: 2,
      labels: 'classes',
      train: { n: 40 },
      test: { n: 10 },
    });
    expect(model.manifest.params.map((param) => param.name)).toEqual([
      'embedding.weight',
      'head.weight',
      'head.bias',
    ]);
    const train = await loadSplit(asStore(blobs), dataset.train.shards, dataset.features);
    expect(train.n).toBe(40);

    // The stored spec resolves again without any local file, to the same shards.
    const again = await resolveJobModel(asStore(blobs), stored, { localPaths: false });
    expect(again.dataset).toEqual(dataset);
  });

  test('an MSE model with one output reads the label column as regression targets', async () => {
    const blobs = memoryBlobs();
    const spec = parseJobSpec({
      model: { onnx: file('regression.onnx', exportedEmbeddingModel(1)), loss: 'mse' },
      dataset: {
        csv: file(
          'prices.csv',
          tokenCsv(30, (row) => (row / 7).toFixed(3)),
        ),
        label: 'label',
      },
    });
    const { dataset } = await resolveJobModel(asStore(blobs), spec, { localPaths: true });
    expect(dataset).toMatchObject({ classes: 0, labels: 'targets' });
    const test = await loadSplit(asStore(blobs), dataset.test.shards, 4);
    expect(test.y).toBeInstanceOf(Float32Array);
  });

  test.each<
    [
      string,
      () => [MemoryBlobs, unknown, { localPaths?: boolean; limits?: { modelBytes?: number } }],
      string,
      RegExp,
    ]
  >([
    [
      'a local path where there is no filesystem',
      () => [
        memoryBlobs(),
        { model: { onnx: file('m1.onnx', exportedCnn()) }, dataset: 'mnist' },
        { localPaths: false },
      ],
      'model.onnx',
      /local path, which only the CLI reads .* give an s3:\/\/ URI/,
    ],
    [
      'a missing local file',
      () => [
        memoryBlobs(),
        { model: { onnx: path.join(dir, 'nope.onnx') }, dataset: 'mnist' },
        { localPaths: true },
      ],
      'model.onnx',
      /no file at .*nope.onnx/,
    ],
    [
      'an object in another bucket',
      () => [memoryBlobs(), { model: { onnx: 's3://elsewhere/m.onnx' }, dataset: 'mnist' }, {}],
      'model.onnx',
      /outside the job bucket 'kasync-test'/,
    ],
    [
      'a missing object',
      () => [memoryBlobs(), { model: { onnx: 's3://kasync-test/uploads/none.onnx' }, dataset: 'mnist' }, {}],
      'model.onnx',
      /no object at s3:\/\/kasync-test\/uploads\/none.onnx/,
    ],
    [
      'a model file over the size limit',
      () => [
        memoryBlobs(),
        { model: { onnx: file('m2.onnx', exportedCnn()) }, dataset: 'mnist' },
        { localPaths: true, limits: { modelBytes: 1000 } },
      ],
      'model.onnx',
      /the model file is 0\.0 MB, over the 0\.0 MB limit/,
    ],
    [
      'a built-in model whose parameters exceed the limit',
      () => [memoryBlobs(), { model: { kind: 'mlp', hidden: [4096, 4096] }, dataset: 'mnist' }, {}],
      'model',
      /20\d{6} parameters take \d+\.\d MB as float32, over the 64\.0 MB limit/,
    ],
    [
      'a model whose input does not fit the dataset rows',
      () => [
        memoryBlobs(),
        { model: { onnx: file('m3.onnx', exportedCnn()) }, dataset: 'synthetic' },
        { localPaths: true },
      ],
      'model',
      /\[1, 28, 28\] = 784 values per row; the dataset has 20 features/,
    ],
    [
      'a regression model on a built-in dataset',
      () => [
        memoryBlobs(),
        { model: { onnx: file('m4.onnx', exportedEmbeddingModel(1)), loss: 'mse' }, dataset: 'mnist' },
        { localPaths: true },
      ],
      'dataset',
      /needs regression targets/,
    ],
    [
      'a CSV with malformed rows',
      () => [
        memoryBlobs(),
        {
          model: 'softmax',
          dataset: { csv: file('bad.csv', 'a,b,label\n1,2,0\n1,x,1\n3,4\n'), label: 'label' },
        },
        { localPaths: true },
      ],
      'dataset',
      /2 malformed row\(s\) in the CSV file: line 3: column 'b' is 'x', not a number; line 4: 2 fields, the header has 3/,
    ],
  ])('refuses %s', async (_label, setup, field, message) => {
    const [blobs, input, options] = setup();
    const error = await validationError(() => resolveJobModel(asStore(blobs), parseJobSpec(input), options));
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  test('lists every unsupported op and its node', async () => {
    const graph = new Graph('gelu', 17);
    graph.addInput('input', 'float32', ['batch', 784]);
    graph.addInitializer('fc.weight', tensor.float('float32', Array(7840).fill(0.01), [10, 784]));
    const hidden = graph.op('Gemm', ['input', 'fc.weight'], { transB: attr.int(1) }, { name: '/fc/Gemm' });
    const erf = graph.op('Erf', [hidden], undefined, { name: '/gelu/Erf' });
    graph.addNode({ opType: 'Mish', inputs: [erf], outputs: ['out'], name: '/act/Mish' });
    graph.addOutput('out', 'float32', ['batch', 10]);
    const error = await validationError(() =>
      resolveJobModel(
        asStore(memoryBlobs()),
        parseJobSpec({ model: { onnx: file('gelu.onnx', graph.toBytes()) }, dataset: 'mnist' }),
        {
          localPaths: true,
        },
      ),
    );
    expect(error.field).toBe('model');
    expect(error.message).toBe(
      "model: cannot differentiate: unsupported op Erf (node '/gelu/Erf'); unsupported op Mish (node '/act/Mish')",
    );
  });
});

describe('uploads for the API', () => {
  test('uploadModelAsset stores an ONNX file by content hash and refuses anything else', async () => {
    const blobs = memoryBlobs();
    const onnx = exportedCnn();
    expect(await uploadModelAsset(asStore(blobs), onnx)).toBe(`s3://kasync-test/${uploadKey('onnx', onnx)}`);
    const error = await validationError(() =>
      uploadModelAsset(asStore(blobs), new TextEncoder().encode('not onnx')),
    );
    expect(error).toMatchObject({ field: 'model' });
    const big = await validationError(() =>
      uploadModelAsset(asStore(blobs), new Uint8Array(ASSET_LIMITS.modelBytes + 1)),
    );
    expect(big.message).toMatch(/over the 64\.0 MB limit/);
  });

  test('uploadDatasetAsset stores a CSV file', async () => {
    const blobs = memoryBlobs();
    const csv = new TextEncoder().encode('a,label\n1,0\n2,1\n');
    expect(await uploadDatasetAsset(asStore(blobs), csv)).toBe(`s3://kasync-test/${uploadKey('csv', csv)}`);
  });
});
