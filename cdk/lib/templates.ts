/**
 * `make templates`: CloudFormation for pipelines that do not run CDK.
 *
 *  - sg-compliance.template.json: self-contained single-account template (function, rules, invoke permission,
 *    opt-in remediation and alerts). The code location is the CodeS3Bucket/CodeS3Key parameters (the zip of
 *    `make package`): no CDK bootstrap, no assets. Region-agnostic: remediation configurations carry a condition
 *    that skips them where the resource type does not exist (lib/regions.ts).
 *  - sg-compliance-conformance-pack.template.json: a conformance-pack template with the Config rules only
 *    (AWS::Config::ConfigRule, CUSTOM_LAMBDA) referencing an existing function by the SgComplianceFunctionArn
 *    parameter. JSON is valid YAML: usable as TemplateBody as is.
 *  - sg-compliance-member-role.template.json (only with regions): the member role for StackSets.
 *  - with organization remediation: sg-compliance-member-remediation.template.json (StackSets, every region of the
 *    function: remediation functions, documents, automation role) and sg-compliance-organization-conformance-pack.template.json
 *    (the remediated rules and their remediation configurations, for an organization conformance pack).
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, DefaultStackSynthesizer, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AlertsOptions } from './alerts';
import { SgComplianceMemberRemediationStack } from './member-remediation-stack';
import { SgComplianceMemberRoleStack } from './member-role-stack';
import { DEFAULT_EXECUTION_FREQUENCY, ExecutionFrequency, RulesOptions, resolveRules } from './rules';
import { LambdaArchitecture } from './sg-compliance-function';
import { SgComplianceStack } from './sg-compliance-stack';
import { FUNCTION_ARN_PARAMETER, conformancePackTemplate } from './conformance-pack';

export const SELF_CONTAINED_TEMPLATE = 'sg-compliance.template.json';
export const CONFORMANCE_PACK_TEMPLATE = 'sg-compliance-conformance-pack.template.json';
export const MEMBER_ROLE_TEMPLATE = 'sg-compliance-member-role.template.json';
export const MEMBER_REMEDIATION_TEMPLATE = 'sg-compliance-member-remediation.template.json';
export const ORGANIZATION_CONFORMANCE_PACK_TEMPLATE = 'sg-compliance-organization-conformance-pack.template.json';
export { FUNCTION_ARN_PARAMETER, conformancePackTemplate };

export interface TemplatesOptions {
  readonly rules?: RulesOptions;
  readonly architecture?: LambdaArchitecture;
  readonly maximumExecutionFrequency?: ExecutionFrequency;
  readonly alerts?: AlertsOptions;
  readonly logRetention?: logs.RetentionDays;
  readonly logKmsKeyArn?: string;
  /** Regions of the organization-mode function: with them, the member role template is produced too. */
  readonly memberRoleRegions?: string[];
  readonly memberRoleName?: string;
  readonly lambdaAccountId?: string;
  /**
   * Organization remediation: also the member remediation template (StackSets) and the organization conformance pack
   * template (the remediated rules with their remediation configurations).
   */
  readonly organizationRemediation?: boolean;
}

export interface Templates {
  readonly [file: string]: Record<string, unknown>;
}

/** Builds the templates (cdk-nag checked for the CDK-made ones) and returns them by file name. */
export function buildTemplates(app: App, options: TemplatesOptions = {}): Templates {
  // No bootstrap version rule, no asset parameters, no CDK metadata: plain CloudFormation.
  const plain = { synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }), analyticsReporting: false };
  const selfContained = new SgComplianceStack(app, 'SgComplianceSelfContained', {
    ...plain,
    codeFromParameters: true,
    rules: options.rules,
    architecture: options.architecture,
    maximumExecutionFrequency: options.maximumExecutionFrequency,
    alerts: options.alerts,
    logRetention: options.logRetention,
    logKmsKeyArn: options.logKmsKeyArn,
    description: 'sg-compliance: AWS Config custom rules for EC2 security groups (single account, code from S3)',
  });
  const stacks: [string, Stack][] = [[SELF_CONTAINED_TEMPLATE, selfContained]];
  if (options.memberRoleRegions && options.memberRoleRegions.length > 0) {
    stacks.push([
      MEMBER_ROLE_TEMPLATE,
      new SgComplianceMemberRoleStack(app, 'SgComplianceMemberRoleTemplate', {
        regions: options.memberRoleRegions,
        memberRoleName: options.memberRoleName,
        lambdaAccountId: options.lambdaAccountId,
        description: 'sg-compliance: role assumed by the sg-compliance function in member accounts (deploy with StackSets)',
      }),
    ]);
  }
  if (options.organizationRemediation) {
    stacks.push([
      MEMBER_REMEDIATION_TEMPLATE,
      new SgComplianceMemberRemediationStack(app, 'SgComplianceMemberRemediationTemplate', {
        rules: options.rules,
        architecture: options.architecture,
        logRetention: options.logRetention,
        logKmsKeyArn: options.logKmsKeyArn,
        codeFromParameters: true,
        description: 'sg-compliance: remediation functions, documents and automation role of one account and region (organization remediation, deploy with StackSets)',
      }),
    ]);
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const out: Record<string, Record<string, unknown>> = {};
  for (const [file, stack] of stacks) out[file] = assembly.getStackByName(stack.stackName).template;
  out[CONFORMANCE_PACK_TEMPLATE] = conformancePackTemplate(
    resolveRules(withoutRemediation(options.rules), options.maximumExecutionFrequency ?? DEFAULT_EXECUTION_FREQUENCY),
  );
  if (options.organizationRemediation) {
    const rules = resolveRules(options.rules, options.maximumExecutionFrequency ?? DEFAULT_EXECUTION_FREQUENCY).filter((r) => r.remediation);
    out[ORGANIZATION_CONFORMANCE_PACK_TEMPLATE] = conformancePackTemplate(rules, { remediation: true });
  }
  return out;
}

function withoutRemediation(rules?: RulesOptions): RulesOptions | undefined {
  if (!rules) return rules;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rules)) out[k] = v && typeof v === 'object' ? { ...v, remediation: undefined } : v;
  return out as RulesOptions;
}

/** CloudFormation's limit for a template passed as TemplateBody (`--template-body`, `aws cloudformation deploy` without --s3-bucket). */
export const MAX_TEMPLATE_BODY_BYTES = 51200;

/** A template as written: minified JSON (no whitespace), so that it stays under MAX_TEMPLATE_BODY_BYTES. */
export function templateText(body: Record<string, unknown>): string {
  return JSON.stringify(body);
}

/** Writes the templates to `dir` (created if needed), minified; returns the paths and sizes in bytes. */
export function writeTemplates(dir: string, templates: Templates): { path: string; bytes: number }[] {
  fs.mkdirSync(dir, { recursive: true });
  return Object.entries(templates).map(([file, body]) => {
    const p = path.join(dir, file);
    const text = templateText(body);
    fs.writeFileSync(p, text);
    return { path: p, bytes: Buffer.byteLength(text) };
  });
}
