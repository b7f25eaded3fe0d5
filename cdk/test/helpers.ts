import * as fs from 'fs';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';

/** The feature flags of cdk.json, so tests synthesize exactly like `cdk synth`. */
const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8'),
).context;

/**
 * An App that never bundles (no Rust build). Its assembly goes to a temporary directory that
 * aws-cdk-lib/testhelpers/jest-autoclean removes after each test file.
 */
export function newApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } });
}

/** Violations in the app's validation report other than plain construct annotations (cdk-nag's findings). */
export function validationFindings(app: App): unknown[] {
  const report = JSON.parse(fs.readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'));
  return report.pluginReports
    .filter((p: { pluginName: string; conclusion: string }) => p.pluginName !== 'Construct Annotations' || p.conclusion !== 'success')
    .flatMap((p: { pluginName: string; violations: unknown[] }) => p.violations.map((v) => ({ plugin: p.pluginName, ...(v as object) })));
}

/**
 * Registers cdk-nag's AwsSolutions pack and synthesizes: cdk-nag v3 is a policy-validation plugin, so any
 * unacknowledged finding makes synth throw with the report. Also asserts the report has no findings.
 */
export function synthWithNag(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  app.synth();
  const findings = validationFindings(app);
  if (findings.length > 0) throw new Error(`cdk-nag findings: ${JSON.stringify(findings, null, 2)}`);
}

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Sid?: string; Condition?: unknown };

/** Every statement of every inline/attached AWS::IAM::Policy of the role with the given logical ID. */
export function roleStatements(template: Template, roleLogicalId: string): Statement[] {
  const out: Statement[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const roles: { Ref: string }[] = policy.Properties.Roles ?? [];
    if (roles.some((r) => r.Ref === roleLogicalId)) out.push(...policy.Properties.PolicyDocument.Statement);
  }
  const role = template.findResources('AWS::IAM::Role')[roleLogicalId];
  for (const p of role?.Properties?.Policies ?? []) out.push(...p.PolicyDocument.Statement);
  return out;
}

/** Sorted, de-duplicated list of the actions a role is allowed. */
export function roleActions(template: Template, roleLogicalId: string): string[] {
  const actions = roleStatements(template, roleLogicalId).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
  return [...new Set(actions)].sort();
}

/** The logical ID of the only resource of a type matching `props`. */
export function logicalId(template: Template, type: string, props?: Record<string, unknown>): string {
  const found = Object.keys(template.findResources(type, props ? { Properties: props } : undefined));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
}

/** The rule (evaluating) function's logical ID: the one function that is not a remediation function. */
export function ruleFunctionId(template: Template): string {
  const fns = Object.entries(template.findResources('AWS::Lambda::Function')).filter(
    ([, f]) => !String(f.Properties.Description).includes('remediation'),
  );
  if (fns.length !== 1) throw new Error(`expected one rule function, found ${fns.length}`);
  return fns[0][0];
}

/** The rule function's role logical ID (from the function's Role property). */
export function functionRoleId(template: Template): string {
  return template.findResources('AWS::Lambda::Function')[ruleFunctionId(template)].Properties.Role['Fn::GetAtt'][0];
}

export function stackTemplate(stack: Stack): Template {
  return Template.fromStack(stack);
}

export const LB_SG = 'sg-0123456789abcdef0';
