import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CLI = path.resolve(__dirname, '../../../bin/kasync.js');

function kasync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const lastLine = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop() as string);

describe('kasync simulate', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kasync-sim-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('simulates each requested variant and writes the error-against-time CSV and SVG', async () => {
    const spec = path.join(dir, 'spec.yaml');
    writeFileSync(
      spec,
      [
        'model: softmax',
        'dataset: synthetic',
        'learners: 8',
        'k: 2',
        'batchSize: 8',
        'lr: { eta: 0.5 }',
        'evalEvery: 10',
        'sim:',
        '  iterations: 300',
        '  computeTime: { distribution: shifted-exp, shift: 0.1, rate: 5 }',
        '  variants: [k-sync, k-async, k-batch-async]',
        '  schedules: [constant, staleness]',
      ].join('\n'),
    );
    const { code, stdout, stderr } = await kasync([
      'simulate',
      spec,
      '--json',
      '--out',
      path.join(dir, 'out'),
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const { results, csv, svg } = lastLine(stdout);
    expect(results).toHaveLength(6);
    for (const r of results) {
      expect(Object.keys(r)).toEqual(
        expect.arrayContaining(['variant', 'k', 'meanIterationTime', 'closedForm', 'finalLoss']),
      );
      expect(r.finalLoss).toBeLessThan(1.5);
    }
    const kSync = results.find((r: { variant: string }) => r.variant === 'k-sync');
    expect(kSync.closedForm).toBeCloseTo(0.1 + (1 / 7 + 1 / 8) / 5, 10);
    expect(results.find((r: { variant: string }) => r.variant === 'k-async').closedFormKind).toBe(
      'upper-bound',
    );
    expect(csv).toBe(path.join(dir, 'out.csv'));
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('run,seconds,version,loss,accuracy');
    expect(rows).toHaveLength(1 + 6 * 31); // versions 0, 10, ..., 300 per run
    const drawing = readFileSync(svg, 'utf8');
    expect(drawing.match(/<polyline/g)).toHaveLength(6);
    expect(drawing).toContain('k-batch-async K=2 staleness');
  }, 30_000);

  it('exits 2 naming the field of a bad spec', async () => {
    const spec = path.join(dir, 'bad.json');
    writeFileSync(
      spec,
      JSON.stringify({
        model: 'softmax',
        dataset: 'synthetic',
        sim: { computeTime: { distribution: 'exp' } },
      }),
    );
    const { code, stderr } = await kasync(['simulate', spec]);
    expect(code).toBe(2);
    expect(stderr).toContain('sim.computeTime.rate');
    expect(existsSync(path.join(dir, 'bad.sim.csv'))).toBe(false);
  }, 30_000);

  it('--check exits 1 on a mismatch beyond tolerance, 0 otherwise', async () => {
    const failing = await kasync([
      'simulate',
      '--check',
      '--learners',
      '4',
      '--tolerance',
      '0.00001',
      '--max-iterations',
      '500',
      '--json',
    ]);
    expect(failing.code).toBe(1);
    expect(lastLine(failing.stdout).ok).toBe(false);
    const passing = await kasync(['simulate', '--check', '--learners', '3', '--max-iterations', '20000']);
    expect(passing.code).toBe(0);
    expect(passing.stdout).toMatch(/0 mismatches/);
  }, 60_000);
});
