import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiClient } from '../../cli/client';
import { anchorLocalPaths, uploadLocalFiles } from '../../cli/spec-files';
import { createApp } from '../../functions/http/app';
import { type ServedApi, serveApp } from '../../functions/http/server';
import { type Embedded, startEmbedded } from '../../local/kasync';
import { exportedCnn } from '../unit/model/onnx-fixtures';

/**
 * `kasync train spec.yaml --endpoint URL` with a model and data on the user's disk: paths are
 * read relative to the spec file, the files go up through the API, the job names their URIs.
 */
describe('local files of a spec sent to an API', () => {
  let embedded: Embedded;
  let served: ServedApi;
  let dir: string;
  beforeAll(async () => {
    embedded = await startEmbedded();
    served = await serveApp(createApp(embedded), 0);
    dir = mkdtempSync(path.join(os.tmpdir(), 'kasync-spec-files-'));
  }, 60_000);
  afterAll(async () => {
    await served?.close();
    await embedded?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads them through the API and submits a spec that points at S3', async () => {
    mkdirSync(path.join(dir, 'data'));
    writeFileSync(path.join(dir, 'net.onnx'), exportedCnn({ opset: 17 }));
    const header = [...Array.from({ length: 784 }, (_, i) => `p${i}`), 'digit'].join(',');
    const rows = Array.from(
      { length: 40 },
      (_, r) => `${Array.from({ length: 784 }, () => (r % 7) / 7).join(',')},${r % 10}`,
    );
    writeFileSync(path.join(dir, 'data', 'digits.csv'), [header, ...rows].join('\n'));
    const specFile = path.join(dir, 'spec.yaml');
    const written = {
      model: { onnx: 'net.onnx', input: 'input', output: 'output', loss: 'cross-entropy' },
      dataset: { csv: './data/digits.csv', label: 'digit' },
      learners: 2,
      k: 1,
      stop: { maxUpdates: 3 },
    };

    const anchored = anchorLocalPaths(written, specFile) as typeof written;
    expect(anchored.model.onnx).toBe(path.join(dir, 'net.onnx'));
    expect(anchored.dataset.csv).toBe(path.join(dir, 'data', 'digits.csv'));

    const client = new ApiClient(served.url);
    const sent = (await uploadLocalFiles(client, anchored)) as typeof written;
    expect(sent.model.onnx).toMatch(/^s3:\/\/kasync-local\/uploads\/[0-9a-f]{64}\.onnx$/);
    expect(sent.dataset.csv).toMatch(/^s3:\/\/kasync-local\/uploads\/[0-9a-f]{64}\.csv$/);
    expect(sent.model.input).toBe('input');

    const { jobId } = await client.submit(sent);
    const state = await embedded.stores.jobs.getJob(jobId);
    expect(state.spec.model).toMatchObject({ onnx: sent.model.onnx });
    await embedded.stack.lambda.idle();
  }, 90_000);

  it('leaves specs without local files as they are', async () => {
    const spec = { model: 'mlp', dataset: 'mnist' };
    expect(anchorLocalPaths(spec, '/x/spec.yaml')).toBe(spec);
    expect(await uploadLocalFiles(new ApiClient(served.url), spec)).toBe(spec);
  });
});
