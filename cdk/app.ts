import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configFromContext } from './config';
import { KasyncStack } from './kasync-stack';

/**
 * `npx cdk synth|deploy [-c key=value ...]`: one stack, configured from CDK context (keys in
 * cdk/config.ts: architecture, retainData, learnerMaxConcurrency, apiAuth, ...). cdk-nag's
 * AwsSolutions pack runs on every synth; an unsuppressed finding fails it.
 */
const app = new App();
const config = configFromContext((key) => app.node.tryGetContext(key));
new KasyncStack(app, app.node.tryGetContext('stackName') ?? 'Kasync', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  config,
});
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
