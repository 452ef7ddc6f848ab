import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Architecture, Code, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

const PACKAGES_DIR = path.resolve(__dirname, '../node_modules');

/**
 * Copies onnxruntime-node (package.json, dist, the native binaries of linux-`arch` only) and
 * onnxruntime-common into `nodeModules`: a layer's `nodejs/node_modules`, or a function zip's
 * own `node_modules` where layers are not available (LocalStack's free tier).
 */
export function stageOnnxRuntime(nodeModules: string, arch: 'x64' | 'arm64'): void {
  const ort = path.join(PACKAGES_DIR, 'onnxruntime-node');
  const napi = path.join('bin', 'napi-v6', 'linux', arch);
  for (const file of ['package.json', 'dist', napi]) {
    mkdirSync(path.dirname(path.join(nodeModules, 'onnxruntime-node', file)), { recursive: true });
    cpSync(path.join(ort, file), path.join(nodeModules, 'onnxruntime-node', file), { recursive: true });
  }
  cpSync(path.join(PACKAGES_DIR, 'onnxruntime-common'), path.join(nodeModules, 'onnxruntime-common'), {
    recursive: true,
  });
}

/**
 * The layer's content for one architecture, staged once per onnxruntime version in the temp
 * directory and reused by later syntheses (CDK copies it into cdk.out; 45 MB per synth would
 * pile up). Staged under a temporary name and renamed, so a half-staged directory is never used.
 */
function stagedLayer(arch: 'x64' | 'arm64'): string {
  const { version } = JSON.parse(
    readFileSync(path.join(PACKAGES_DIR, 'onnxruntime-node', 'package.json'), 'utf8'),
  );
  const dir = path.join(os.tmpdir(), `kasync-ort-layer-${version}-linux-${arch}`);
  if (existsSync(dir)) return dir;
  const staging = mkdtempSync(`${dir}.staging-`);
  // A Node.js layer's packages live in nodejs/node_modules (on the runtime's NODE_PATH).
  stageOnnxRuntime(path.join(staging, 'nodejs', 'node_modules'), arch);
  try {
    renameSync(staging, dir);
  } catch (error) {
    // Another synthesis staged it first.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(dir)) throw error;
  }
  return dir;
}

/**
 * onnxruntime-node as a Lambda layer, with only the native binaries of one architecture (the
 * npm package ships every platform's, about 200 MB; linux-x64 alone is about 46 MB).
 */
export class OnnxRuntimeLayer extends Construct {
  readonly layer: LayerVersion;
  /** Where the layer's content was staged, for size checks. */
  readonly stagingDir: string;

  constructor(scope: Construct, id: string, props: { architecture: Architecture }) {
    super(scope, id);
    const arch = props.architecture === Architecture.ARM_64 ? 'arm64' : 'x64';
    this.stagingDir = stagedLayer(arch);
    this.layer = new LayerVersion(this, 'Layer', {
      code: Code.fromAsset(this.stagingDir),
      compatibleArchitectures: [props.architecture],
      compatibleRuntimes: [Runtime.NODEJS_22_X],
      description: `onnxruntime-node (linux-${arch} only)`,
    });
  }
}
