import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { build, type Message } from 'esbuild';
import { LAMBDA_BUNDLE_EXTERNALS, nodeModulesSearchPath } from '../local/lambda/bundle';
import { buildModel } from '../model/zoo';

/**
 * The learner's cold-start budget (issue 6): the bundle CDK deploys, without the onnxruntime
 * layer (goal <= 2 MB), and its init time on this machine (goal <= 300 ms): module load of that
 * bundle plus creating the onnxruntime session of the demo's train graph (MLP 784-128-10), in
 * fresh processes, as a cold Lambda does. Lambda adds its own runtime start and the S3 reads
 * of the graph and weights; neither is measured here.
 */

const REPO = path.resolve(__dirname, '..');
const RUNS = 7;
const GOALS = { bundleBytes: 2 * 2 ** 20, initMs: 300 };

/** As cdk/bundling.ts: the local runtime's externals, plus packages only require.resolve'd. */
const DEPLOYED_EXTERNALS: string[] = [...LAMBDA_BUNDLE_EXTERNALS];
/** The alternative: the AWS SDK bundled (tree-shaken) instead of loaded from the Lambda runtime. */
const SDK_BUNDLED_EXTERNALS = DEPLOYED_EXTERNALS.filter((name) => name !== '@aws-sdk/*');

async function bundle(
  entry: { file: string } | { contents: string },
  outfile: string,
  external: string[] = DEPLOYED_EXTERNALS,
) {
  const result = await build({
    ...('file' in entry
      ? { entryPoints: [entry.file] }
      : { stdin: { contents: entry.contents, resolveDir: REPO, loader: 'ts' as const } }),
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    external,
    logLevel: 'silent',
  });
  return result.warnings;
}

const CHILD = `
const { performance } = require('node:perf_hooks');
const fs = require('node:fs');
const [learner, session, graph, manifest, runtimeSdk] = process.argv.slice(1);
const started = performance.now();
require('onnxruntime-node');
const ort = performance.now();
if (runtimeSdk === '1') for (const sdk of ['client-dynamodb', 'client-s3', 'client-lambda', 'lib-dynamodb']) require('@aws-sdk/' + sdk);
const sdk = performance.now();
require(learner);
const loaded = performance.now();
const { createTrainSession } = require(session);
createTrainSession({ train: fs.readFileSync(graph), manifest: JSON.parse(fs.readFileSync(manifest, 'utf8')) })
  .then(() => {
    const ready = performance.now();
    process.stdout.write(JSON.stringify({ boot: started, ort: ort - started, sdk: sdk - ort, bundle: loaded - sdk, session: ready - loaded }));
  });
`;

interface Sample {
  /** Process start to the first line of the child (Node's own start). */
  boot: number;
  ort: number;
  /** The AWS SDK clients (for the SDK-bundled variant: only what the bundle does not replace). */
  sdk: number;
  bundle: number;
  session: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const ms = (x: number) => `${x.toFixed(0)} ms`;

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kasync-coldstart-'));
  try {
    const learnerJs = path.join(dir, 'learner', 'index.js');
    const sessionJs = path.join(dir, 'session', 'index.js');
    const warnings: Message[] = await bundle({ file: path.join(REPO, 'functions/learner.ts') }, learnerJs);
    await bundle({ contents: "export { createTrainSession } from './model/session';" }, sessionJs);
    const code = readFileSync(learnerJs);
    const bytes = statSync(learnerJs).size;

    const model = buildModel({ kind: 'mlp', hidden: [128] }, { features: 784, classes: 10 });
    const graph = path.join(dir, 'train.onnx');
    const manifest = path.join(dir, 'manifest.json');
    writeFileSync(graph, model.train);
    writeFileSync(manifest, JSON.stringify(model.manifest));
    mkdirSync(path.join(dir, 'child'), { recursive: true });
    const bundledJs = path.join(dir, 'learner-sdk-bundled', 'index.js');
    await bundle({ file: path.join(REPO, 'functions/learner.ts') }, bundledJs, SDK_BUNDLED_EXTERNALS);

    const measure = (learner: string, runtimeSdk: boolean) => {
      const runs: Sample[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(coldStart(learner, runtimeSdk));
      return runs;
    };
    const coldStart = (learner: string, runtimeSdk: boolean) => {
      const args = ['-e', CHILD, learner, sessionJs, graph, manifest, runtimeSdk ? '1' : '0'];
      const child = spawnSync(process.execPath, args, {
        cwd: path.join(dir, 'child'),
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          NODE_PATH: nodeModulesSearchPath(REPO).join(path.delimiter),
          AWS_REGION: 'us-east-1',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          KASYNC_BUCKET: 'bench',
          KASYNC_TABLE: 'bench',
          KASYNC_LEARNER_FUNCTION: 'bench',
        },
      });
      if (child.status !== 0) throw new Error(`cold start child failed: ${child.stderr}`);
      return JSON.parse(child.stdout) as Sample;
    };
    // Alternating would be fairer on a busy machine; each set is still taken in fresh processes.
    const samples = measure(learnerJs, true);
    const bundled = measure(bundledJs, false);
    const initOf = (s: Sample) => s.ort + s.sdk + s.bundle + s.session;
    const init = samples.map(initOf);

    const rows: [string, string, string][] = [
      [
        'learner bundle (index.js, without the layer)',
        kb(bytes),
        `goal <= ${kb(GOALS.bundleBytes)}: ${bytes <= GOALS.bundleBytes ? 'met' : 'MISSED'}`,
      ],
      ['  deflated (about its share of the zip)', kb(deflateRawSync(code, { level: 9 }).byteLength), ''],
      [
        '  esbuild warnings with the CDK externals',
        String(warnings.length),
        warnings.map((w) => w.text).join('; '),
      ],
      [
        `init, median of ${RUNS} fresh processes`,
        ms(median(init)),
        `goal <= ${GOALS.initMs} ms: ${median(init) <= GOALS.initMs ? 'met' : 'MISSED'}`,
      ],
      ['  require onnxruntime-node (native library)', ms(median(samples.map((s) => s.ort))), ''],
      ['  load the AWS SDK clients (from the Lambda runtime)', ms(median(samples.map((s) => s.sdk))), ''],
      ['  load the rest of the bundle (engine, model, zod)', ms(median(samples.map((s) => s.bundle))), ''],
      ['  create the train session (MLP 784-128-10)', ms(median(samples.map((s) => s.session))), ''],
      ['  range of init', `${ms(Math.min(...init))} - ${ms(Math.max(...init))}`, ''],
      ['node start before the handler code (not counted)', ms(median(samples.map((s) => s.boot))), ''],
      ['alternative: AWS SDK bundled too', kb(statSync(bundledJs).size), 'not deployed (see docs/deploy.md)'],
      [
        '  its init, median',
        ms(median(bundled.map(initOf))),
        `SDK + bundle load ${ms(median(bundled.map((s) => s.bundle)))} (above: ${ms(median(samples.map((s) => s.sdk + s.bundle)))})`,
      ],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    for (const [name, value, note] of rows)
      process.stdout.write(`${name.padEnd(width)}  ${value.padStart(10)}  ${note}\n`);
    process.stdout.write(
      `(node ${process.version}, ${os.cpus().length} cores ${os.cpus()[0]?.model ?? ''}, load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}; AWS SDK from node_modules, as the Lambda runtime provides it)\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
