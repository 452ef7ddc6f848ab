import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { auditJob } from '../../../engine/audit';
import { type Embedded, startEmbedded } from '../../../local/kasync';
import { runToEnd } from '../helpers/jobs';

/**
 * A job that diverges ends as FAILED, naming the version and learner, and never commits a
 * non-finite weight. The data carries values near float32's largest (3e38): one step on them
 * overflows, as a too-large learning rate would after a while.
 */
describe('non-finite losses and weights', () => {
  let embedded: Embedded;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kasync-nonfinite-'));
    embedded = await startEmbedded({ learnerTimeoutSeconds: 30 });
  });
  afterAll(async () => {
    await embedded.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fail the job with the version and learner named; every committed version is finite', async () => {
    const lines = ['a,b,c,label'];
    for (let row = 0; row < 400; row++) lines.push(`${row % 7},${(row * 3) % 5},3e38,${row % 2}`);
    const csv = path.join(dir, 'huge.csv');
    writeFileSync(csv, lines.join('\n'));
    const { jobId, summary } = await runToEnd(embedded, {
      model: 'softmax',
      dataset: { csv, label: 'label' },
      variant: 'k-async',
      learners: 2,
      k: 1,
      batchSize: 16,
      stop: { maxUpdates: 200, maxSeconds: 60 },
    });
    expect(summary.status).toBe('FAILED');
    expect(summary.reason).toMatch(
      /^non-finite (loss \(\S+\) on version \d+ from learner L\d|weights at version \d+ \(round of learners L\d)/,
    );
    for (let v = 0; v <= summary.version; v++) {
      const weights = await embedded.stores.blobs.getWeights(jobId, v);
      expect(weights.every(Number.isFinite)).toBe(true);
    }
    const audit = await auditJob(embedded.stores, jobId);
    expect(audit.problems).toEqual([]);
  }, 90_000);
});
