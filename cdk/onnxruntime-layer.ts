import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Architecture, Code, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

const PACKAGES_DIR = path.resolve(__dirname, '../node_modules');

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
    this.stagingDir = mkdtempSync(path.join(os.tmpdir(), 'kasync-ort-layer-'));
    const target = path.join(this.stagingDir, 'nodejs', 'node_modules');
    const ort = path.join(PACKAGES_DIR, 'onnxruntime-node');
    const napi = path.join('bin', 'napi-v6', 'linux', arch);
    for (const file of ['package.json', 'dist', napi]) {
      mkdirSync(path.dirname(path.join(target, 'onnxruntime-node', file)), { recursive: true });
      cpSync(path.join(ort, file), path.join(target, 'onnxruntime-node', file), { recursive: true });
    }
    cpSync(path.join(PACKAGES_DIR, 'onnxruntime-common'), path.join(target, 'onnxruntime-common'), {
      recursive: true,
    });
    this.layer = new LayerVersion(this, 'Layer', {
      code: Code.fromAsset(this.stagingDir),
      compatibleArchitectures: [props.architecture],
      compatibleRuntimes: [Runtime.NODEJS_22_X],
      description: `onnxruntime-node (linux-${arch} only)`,
    });
  }
}
