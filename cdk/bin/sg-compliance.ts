#!/usr/bin/env node
/**
 * sg-compliance CDK app. Context keys are documented in lib/app.ts; examples:
 *
 *   npx cdk deploy --all -c regions=eu-west-1,us-east-1
 *   npx cdk deploy --all -c organization=true -c organizationId=o-abc123defg -c regions=eu-west-1
 *   npx cdk synth --all -c synthAllModes=true -c regions=eu-west-1,us-east-1   # no Rust build
 */
import { App } from 'aws-cdk-lib';
import { buildApp, readSettings } from '../lib/app';

const app = new App();
buildApp(app, readSettings((key) => app.node.tryGetContext(key)));
app.synth();
