import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CLI = path.resolve(__dirname, '../../bin/kasync.js');
const OUTPUT = path.resolve(__dirname, '../../test-output');

interface Run {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stdout(): string;
}

function kasync(args: string[]): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done, stdout: () => stdout };
}

const lastJsonLine = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1) ?? '');

const processesMentioning = (text: string) =>
  execFileSync('ps', ['-eo', 'pid,args'])
    .toString()
    .split('\n')
    .filter((line) => line.includes(text) && !line.includes('ps -eo'));

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/**
 * End to end over HTTP: `kasync up` serves the embedded stack, the API and the dashboard; the
 * other commands reach it with `--endpoint`; Ctrl-C stops everything it started.
 */
describe('kasync up', () => {
  let dir: string;
  let up: Run;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kasync-up-'));
    up = kasync(['up', '--port', '0', '--data-dir', path.join(dir, 'data')]);
    const deadline = Date.now() + 60_000;
    let match: RegExpMatchArray | null = null;
    while (!match) {
      if (Date.now() > deadline || up.child.exitCode !== null)
        throw new Error(`kasync up did not start: ${up.stdout()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      match = up.stdout().match(/http:\/\/127\.0\.0\.1:\d+/);
    }
    url = match[0];
  }, 90_000);

  afterAll(() => {
    if (up.child.exitCode === null) up.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('trains a job submitted with train --endpoint; the other commands see it; GET /jobs/{id} stays fast meanwhile', async () => {
    expect((await fetch(`${url}/`)).headers.get('content-type')).toMatch(/^text\/html/);
    const specFile = path.join(dir, 'spec.yaml');
    writeFileSync(
      specFile,
      'model: softmax\ndataset: mnist\nvariant: k-async\nlearners: 4\nk: 2\nbatchSize: 32\nstop: {maxUpdates: 150}\nevalEvery: 50\n',
    );
    const train = kasync(['train', specFile, '--endpoint', url, '--json']);

    let jobId: string | undefined;
    while (!jobId) {
      const { jobs } = (await (await fetch(`${url}/jobs`)).json()) as { jobs: { jobId: string }[] };
      jobId = jobs[0]?.jobId;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Latency of the summary under a running job: one request at a time, 20 ms apart.
    const latencies: number[] = [];
    for (;;) {
      const started = performance.now();
      const summary = (await (await fetch(`${url}/jobs/${jobId}`)).json()) as { status: string };
      if (summary.status !== 'RUNNING') break;
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const latency = {
      requests: sorted.length,
      medianMs: Number(quantile(sorted, 0.5).toFixed(1)),
      p95Ms: Number(quantile(sorted, 0.95).toFixed(1)),
      maxMs: Number(sorted[sorted.length - 1].toFixed(1)),
    };
    mkdirSync(OUTPUT, { recursive: true });
    writeFileSync(
      path.join(OUTPUT, 'api-latency.json'),
      `${JSON.stringify({ route: 'GET /jobs/{id}', ...latency }, null, 2)}\n`,
    );
    expect(latency.requests).toBeGreaterThan(20);
    expect(latency.p95Ms).toBeLessThan(1000);

    const trained = await train.done;
    expect({ code: trained.code, stderr: trained.code === 0 ? '' : trained.stderr }).toEqual({
      code: 0,
      stderr: '',
    });
    const summary = lastJsonLine(trained.stdout);
    expect(summary).toMatchObject({
      jobId,
      status: 'DONE',
      version: 150,
      variant: 'k-async',
      learners: 4,
      k: 2,
    });
    expect(summary.testAccuracy).toBeGreaterThan(0.7);
    expect(summary.coldStarts).toBeGreaterThanOrEqual(1);

    const jobs = await kasync(['jobs', '--endpoint', url, '--json']).done;
    expect(lastJsonLine(jobs.stdout).jobs).toEqual([
      expect.objectContaining({ jobId, status: 'DONE', version: 150 }),
    ]);
    const status = await kasync(['status', jobId, '--endpoint', url, '--json']).done;
    expect(lastJsonLine(status.stdout)).toMatchObject({ jobId, status: 'DONE', version: 150 });

    const modelFile = path.join(dir, 'model.onnx');
    const model = await kasync(['model', jobId, '--endpoint', url, '--out', modelFile, '--json']).done;
    const written = lastJsonLine(model.stdout);
    expect(written).toMatchObject({ jobId, version: 150, file: modelFile });
    expect(readFileSync(modelFile).byteLength).toBe(written.bytes);
  }, 120_000);

  it('names the problem when the API refuses or cannot be reached', async () => {
    const missing = await kasync(['status', 'job-nosuch-000000', '--endpoint', url]).done;
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({
      code: 1,
      stderr: 'kasync: job job-nosuch-000000 not found\n',
    });
    const badId = await kasync(['stop', '../x', '--endpoint', url]).done;
    expect({ code: badId.code, stderr: badId.stderr }).toEqual({
      code: 2,
      stderr: 'kasync: jobId: "../x" is not a job id\n',
    });
    const { port } = new URL(url);
    const nobody = await kasync(['jobs', '--endpoint', `http://127.0.0.1:${Number(port) === 1 ? 2 : 1}`])
      .done;
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(
      /^kasync: no kasync API answers at http:\/\/127\.0\.0\.1:\d+ \(start one with `kasync up`/,
    );
  }, 60_000);

  it('Ctrl-C stops the API and every process of the stack', async () => {
    up.child.kill('SIGINT');
    const { code, stderr } = await up.done;
    expect(code).toBe(0);
    expect(stderr).toContain('SIGINT: stopping the API and the embedded stack');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(processesMentioning(dir)).toEqual([]);
    await expect(fetch(`${url}/jobs`)).rejects.toThrow();
  }, 60_000);
});
