import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, configFromContext, type KasyncConfig } from './config';
import { KasyncStack } from './kasync-stack';

/**
 * `npx cdk synth|deploy [-c key=value ...]`: one stack, configured from CDK context (keys in
 * cdk/config.ts: architecture, retainData, learnerMaxConcurrency, apiAuth, ...). cdk-nag's
 * AwsSolutions pack runs on every synth; an unsuppressed finding fails it.
 */
const app = new App();
let config: KasyncConfig;
try {
  config = configFromContext((key) => app.node.tryGetContext(key));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
new KasyncStack(app, app.node.tryGetContext('stackName') ?? 'Kasync', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  config,
});
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
