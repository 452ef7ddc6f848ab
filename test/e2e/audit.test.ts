import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbedded } from '../../local/kasync';

const CLI = path.resolve(__dirname, '../../bin/kasync.js');

function kasync(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 150_000 });
  const lines = result.stdout.trim().split('\n');
  return { code: result.status, last: lines[lines.length - 1], stderr: result.stderr };
}

/** `kasync train --data-dir` keeps a job's data; `kasync audit` replays it later, and notices tampering. */
describe('kasync audit', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kasync-audit-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('replays a finished job bit for bit, and fails (exit 1) once a stored version is altered', async () => {
    const spec = path.join(dir, 'spec.yaml');
    writeFileSync(spec, 'model: softmax\ndataset: mnist\nlearners: 3\nk: 2\nstop: {maxUpdates: 30}\n');
    const data = path.join(dir, 'data');
    const trained = kasync('train', spec, '--json', '--data-dir', data, '--audit');
    expect(trained.code).toBe(0);
    const { jobId, version, audit } = JSON.parse(trained.last);
    expect(version).toBe(30);
    expect(audit).toMatchObject({ ok: true, versionsVerified: 30 });

    const clean = kasync('audit', jobId, '--json', '--data-dir', data);
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.last)).toMatchObject({ ok: true, versionsVerified: 30, problems: [] });

    const embedded = await startEmbedded({ dataDir: data });
    try {
      const weights = await embedded.stores.blobs.getWeights(jobId, 17);
      weights[0] += 1e-3;
      await embedded.stores.blobs.putWeights(jobId, 17, weights);
    } finally {
      await embedded.stop();
    }
    const tampered = kasync('audit', jobId, '--json', '--data-dir', data);
    expect(tampered.code).toBe(1);
    expect(JSON.parse(tampered.last)).toMatchObject({
      ok: false,
      problems: expect.arrayContaining(['replayed weights of version 17 differ from the stored ones']),
    });
  }, 200_000);
});
