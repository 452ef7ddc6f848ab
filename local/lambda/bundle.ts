import { existsSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

/**
 * Packages left out of a function bundle, as CDK's NodejsFunction leaves them out: the
 * Node.js 20 runtime provides the AWS SDK v3, onnxruntime comes from a layer, and the
 * emulators and esbuild are native or heavy and never part of a handler's real graph.
 */
export const LAMBDA_BUNDLE_EXTERNALS = [
  '@aws-sdk/*',
  'onnxruntime-node',
  'dynalite',
  's3rver',
  'esbuild',
  // Found with require.resolve for their files (the MNIST digits, uPlot for the dashboard), never
  // required: external says so and silences esbuild's warning; a bundle that needs the files
  // gets them copied beside it (cdk/bundling.ts).
  'mnist',
  'uplot',
] as const;

export class BundleError extends Error {
  override readonly name = 'BundleError';
}

/** Bundles `entry` into `outDir/index.js` (+ source map), the layout of a Lambda task root. */
export async function bundleFunction(entry: string, outDir: string): Promise<void> {
  if (!existsSync(entry)) throw new BundleError(`function entry ${entry} does not exist`);
  await bundle(entry, path.join(outDir, 'index.js'), [...LAMBDA_BUNDLE_EXTERNALS]);
}

/** Bundles the runtime bootstrap children run (see runtime.ts). */
export async function bundleRuntime(outFile: string): Promise<void> {
  // Same extension as this module, so it works from sources (ts-jest, tsx) and compiled output.
  await bundle(path.join(__dirname, `runtime${path.extname(__filename)}`), outFile, []);
}

async function bundle(entry: string, outfile: string, external: string[]): Promise<void> {
  try {
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: true,
      external,
      logLevel: 'silent',
    });
  } catch (err) {
    throw new BundleError(`esbuild failed to bundle ${entry}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The node_modules directories Node would search from `dir`: NODE_PATH for a child running a
 * bundle placed outside the source tree, so its externals resolve as they would from the source.
 */
export function nodeModulesSearchPath(dir: string): string[] {
  const found: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const candidate = path.join(current, 'node_modules');
    if (existsSync(candidate)) found.push(candidate);
    if (path.dirname(current) === current) return found;
  }
}
