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
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, DefaultStackSynthesizer, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Validations } from 'aws-cdk-lib';
import { AlertsOptions } from './alerts';
import { SgComplianceMemberRoleStack } from './member-role-stack';
import { DEFAULT_EXECUTION_FREQUENCY, ExecutionFrequency, RuleDefinition, RulesOptions, resolveRules } from './rules';
import { LambdaArchitecture } from './sg-compliance-function';
import { RESOURCE_TYPE, SgComplianceStack } from './sg-compliance-stack';

export const SELF_CONTAINED_TEMPLATE = 'sg-compliance.template.json';
export const CONFORMANCE_PACK_TEMPLATE = 'sg-compliance-conformance-pack.template.json';
export const MEMBER_ROLE_TEMPLATE = 'sg-compliance-member-role.template.json';
export const FUNCTION_ARN_PARAMETER = 'SgComplianceFunctionArn';

export interface TemplatesOptions {
  readonly rules?: RulesOptions;
  readonly architecture?: LambdaArchitecture;
  readonly maximumExecutionFrequency?: ExecutionFrequency;
  readonly alerts?: AlertsOptions;
  /** Regions of the organization-mode function: with them, the member role template is produced too. */
  readonly memberRoleRegions?: string[];
  readonly memberRoleName?: string;
  readonly lambdaAccountId?: string;
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
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const out: Record<string, Record<string, unknown>> = {};
  for (const [file, stack] of stacks) out[file] = assembly.getStackByName(stack.stackName).template;
  out[CONFORMANCE_PACK_TEMPLATE] = conformancePackTemplate(
    resolveRules(withoutRemediation(options.rules), options.maximumExecutionFrequency ?? DEFAULT_EXECUTION_FREQUENCY),
  );
  return out;
}

/**
 * The conformance pack: one custom Lambda rule per enabled check, the function given as a parameter. Remediation
 * is not included (the remediation functions, documents and roles are not conformance-pack resource types).
 */
export function conformancePackTemplate(rules: RuleDefinition[]): Record<string, unknown> {
  const resources: Record<string, unknown> = {};
  for (const rule of rules) {
    resources[rule.key.charAt(0).toUpperCase() + rule.key.slice(1) + 'Rule'] = {
      Type: 'AWS::Config::ConfigRule',
      Properties: {
        ConfigRuleName: rule.ruleName,
        Description: rule.description,
        Scope: { ComplianceResourceTypes: [RESOURCE_TYPE] },
        InputParameters: rule.inputParameters,
        Source: {
          Owner: 'CUSTOM_LAMBDA',
          SourceIdentifier: { Ref: FUNCTION_ARN_PARAMETER },
          SourceDetails: [
            { EventSource: 'aws.config', MessageType: 'ConfigurationItemChangeNotification' },
            { EventSource: 'aws.config', MessageType: 'OversizedConfigurationItemChangeNotification' },
            { EventSource: 'aws.config', MessageType: 'ScheduledNotification', MaximumExecutionFrequency: rule.maximumExecutionFrequency },
          ],
        },
      },
    };
  }
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description:
      'sg-compliance conformance pack: AWS Config custom Lambda rules for EC2 security groups. The function must allow ' +
      'config.amazonaws.com of this account to invoke it.',
    Parameters: {
      [FUNCTION_ARN_PARAMETER]: {
        Type: 'String',
        Description: 'ARN of the sg-compliance Lambda function (e.g. the FunctionArn output of sg-compliance.template.json)',
      },
    },
    Resources: resources,
  };
}

function withoutRemediation(rules?: RulesOptions): RulesOptions | undefined {
  if (!rules) return rules;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rules)) out[k] = v && typeof v === 'object' ? { ...v, remediation: undefined } : v;
  return out as RulesOptions;
}

/** Writes the templates to `dir` (created if needed); returns the paths. */
export function writeTemplates(dir: string, templates: Templates): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return Object.entries(templates).map(([file, body]) => {
    const p = path.join(dir, file);
    fs.writeFileSync(p, JSON.stringify(body, null, 2) + '\n');
    return p;
  });
}
