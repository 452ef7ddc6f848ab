import { App } from 'aws-cdk-lib';
import { KasyncStack } from './kasync-stack';

const app = new App();
new KasyncStack(app, 'Kasync', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
