#!/usr/bin/env node
/**
 * sg-compliance CDK app. Context keys are documented in lib/app.ts; examples:
 *
 *   npx cdk deploy --all -c regions=eu-west-1,us-east-1
 *   npx cdk deploy --all -c organization=true -c organizationId=o-abc123defg -c regions=eu-west-1
 *   npm run synth     # every stack, both modes, no Rust build (synthAllModes)
 */
import { App } from 'aws-cdk-lib';
import { buildApp, readSettings } from '../lib/app';
import { RuleConfigError } from '../lib/rules';

const app = new App();
try {
  buildApp(app, readSettings((key) => app.node.tryGetContext(key)));
} catch (e) {
  if (e instanceof RuleConfigError) {
    // Configuration mistakes: a clear message instead of a stack trace.
    console.error(`error: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
app.synth();
