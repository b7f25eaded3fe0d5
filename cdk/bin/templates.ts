#!/usr/bin/env node
/**
 * `make templates`: writes the CloudFormation templates for deployments without CDK to cdk/dist (lib/templates.ts).
 * Settings come from the same keys as the CDK context, given as environment variables by cdk/cdk.mk:
 *   RULES (JSON), ARCH, REGIONS + MEMBER_ROLE_NAME + LAMBDA_ACCOUNT_ID (member role template), ALERTS, ALERT_TOPIC_ARN,
 *   ORGANIZATION_REMEDIATION (member remediation and organization conformance pack templates);
 *   TEMPLATES_DIR (default cdk/dist).
 */
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { readSettings } from '../lib/app';
import { RuleConfigError } from '../lib/rules';
import { MAX_TEMPLATE_BODY_BYTES, buildTemplates, writeTemplates } from '../lib/templates';

const env = process.env;
const context: Record<string, string | undefined> = {
  rules: env.RULES || undefined,
  architecture: env.ARCH || undefined,
  regions: env.REGIONS || undefined,
  memberRoleName: env.MEMBER_ROLE_NAME || undefined,
  lambdaAccountId: env.LAMBDA_ACCOUNT_ID || undefined,
  alerts: env.ALERTS || undefined,
  alertTopicArn: env.ALERT_TOPIC_ARN || undefined,
  alertOnCompliant: env.ALERT_ON_COMPLIANT || undefined,
  organizationRemediation: env.ORGANIZATION_REMEDIATION || undefined,
  logRetentionDays: env.LOG_RETENTION_DAYS || undefined,
  logKmsKeyArn: env.LOG_KMS_KEY_ARN || undefined,
};
try {
  const settings = readSettings((key) => context[key], {});
  const outdir = env.TEMPLATES_DIR ? path.resolve(env.TEMPLATES_DIR) : path.join(__dirname, '..', 'dist');
  const templates = buildTemplates(new App({ outdir: path.join(outdir, '.cdk.out') }), {
    rules: settings.rules,
    architecture: settings.architecture,
    alerts: settings.alerts,
    memberRoleRegions: settings.regions,
    memberRoleName: settings.memberRoleName,
    lambdaAccountId: settings.lambdaAccountId,
    organizationRemediation: settings.organizationRemediation,
    logRetention: settings.logRetention,
    logKmsKeyArn: settings.logKmsKeyArn,
  });
  let tooLarge = false;
  for (const { path: p, bytes } of writeTemplates(outdir, templates)) {
    const over = bytes > MAX_TEMPLATE_BODY_BYTES;
    tooLarge ||= over;
    console.log(`templates: ${path.relative(process.cwd(), p)} (${bytes} bytes${over ? `, over the ${MAX_TEMPLATE_BODY_BYTES}-byte TemplateBody limit: deploy it with --s3-bucket` : ''})`);
  }
  if (tooLarge && env.TEMPLATES_STRICT === 'true') process.exit(1);
  if (settings.regions.length === 0) console.log('templates: no REGIONS, so no member role template (organization mode only)');
} catch (e) {
  if (e instanceof RuleConfigError) {
    console.error(`error: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
