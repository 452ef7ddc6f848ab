import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CLI = path.resolve(__dirname, '../../bin/kasync.js');

function run(args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

const processesMentioning = (text: string) =>
  execFileSync('ps', ['-eo', 'pid,args'])
    .toString()
    .split('\n')
    .filter((line) => line.includes(text) && !line.includes('ps -eo'));

describe('kasync CLI', () => {
  it('demo --json trains the MNIST MLP to >= 0.88 test accuracy within 120 s, summary on the last line', async () => {
    const { done } = run(['demo', '--json']);
    const { code, stdout, stderr } = await done;
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1]);
    expect(summary).toMatchObject({ status: 'DONE', variant: 'k-async', learners: 4, k: 2 });
    expect(summary.testAccuracy).toBeGreaterThanOrEqual(0.88);
    expect(summary.elapsedSeconds).toBeLessThanOrEqual(120);
    expect(summary.coldStarts).toBeGreaterThanOrEqual(4);
    expect(summary.gradients.applied).toBe(summary.version * 2);
    for (const field of ['jobId', 'version', 'loss', 'staleness', 'updatesPerSecond', 'gradients'])
      expect(summary).toHaveProperty(field);
  }, 180_000);

  it('Ctrl-C stops every child process and server it started', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kasync-sigint-'));
    try {
      const spec = path.join(dir, 'spec.json');
      writeFileSync(
        spec,
        JSON.stringify({ model: 'softmax', dataset: 'mnist', learners: 3, k: 2, stop: { maxSeconds: 300 } }),
      );
      const { child, done } = run(['train', spec, '--data-dir', path.join(dir, 'data')]);
      // Wait until learner processes run from the stack's data dir.
      const deadline = Date.now() + 60_000;
      while (processesMentioning(dir).filter((line) => !line.includes(CLI)).length < 3) {
        if (Date.now() > deadline) throw new Error('learners did not start');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      child.kill('SIGINT');
      const { code, stderr } = await done;
      expect(code).toBe(130);
      expect(stderr).toContain('interrupted');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(processesMentioning(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses an invalid spec naming the field, exit code 2', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kasync-bad-'));
    try {
      const spec = path.join(dir, 'spec.yaml');
      writeFileSync(spec, 'model: mlp\ndataset: mnist\nlearners: 4\nk: 9\n');
      const { code, stderr } = await run(['train', spec]).done;
      expect(code).toBe(2);
      expect(stderr).toContain('k: k (9) must not exceed learners (4)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
