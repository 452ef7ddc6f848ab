import path from 'node:path';
import { type BundlingOptions, LogLevel, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LAMBDA_BUNDLE_EXTERNALS } from '../local/lambda/bundle';

/** The repository root: function entries, the dashboard and node_modules are found from here. */
export const REPO_ROOT = path.resolve(__dirname, '..');

/** Files copied beside a bundle: `from` (relative to the repo) to `to` (relative to the bundle). */
export interface BundleCopy {
  readonly from: string;
  readonly to: string;
}

const quote = (p: string) => `'${p.replace(/'/g, `'\\''`)}'`;

/**
 * esbuild on this machine (never Docker), with the externals the local Lambda runtime uses
 * (`local/lambda/bundle.ts`), so the bundle that runs on AWS is the one the tests run: the AWS
 * SDK comes from the Lambda runtime, onnxruntime-node from the layer. Extra files (the
 * dashboard, data a handler reads from disk) are copied in after bundling.
 */
export function functionBundling(copies: readonly BundleCopy[] = []): BundlingOptions {
  return {
    format: OutputFormat.CJS,
    minify: true,
    sourceMap: true,
    externalModules: [...LAMBDA_BUNDLE_EXTERNALS],
    forceDockerBundling: false,
    logLevel: LogLevel.ERROR,
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir: string, outputDir: string) =>
        copies.flatMap(({ from, to }) => {
          const target = path.posix.join(outputDir, to);
          return [
            `mkdir -p ${quote(path.posix.dirname(target))}`,
            `cp -R ${quote(path.join(REPO_ROOT, from))} ${quote(target)}`,
          ];
        }),
    },
  };
}
