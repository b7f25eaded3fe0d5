/**
 * Conformance-pack templates (the body of AWS::Config::ConformancePack / OrganizationConformancePack): one custom Lambda
 * rule per enabled check, the function given as the SgComplianceFunctionArn parameter, and, for organization
 * remediation, each remediated rule's AWS::Config::RemediationConfiguration. Conformance packs hold only Config rules and
 * remediation configurations: the remediation function, document and automation role of each member account come from
 * the member remediation template (lib/member-remediation-stack.ts), under fixed names the pack refers to.
 */
import { MEMBER_AUTOMATION_ROLE_PREFIX, remediationDocumentName } from './remediation';
import { regionsWithout } from './regions';
import { RuleDefinition } from './rules';

export const FUNCTION_ARN_PARAMETER = 'SgComplianceFunctionArn';
export const PACK_RESOURCE_TYPE = 'AWS::EC2::SecurityGroup';

export interface ConformancePackOptions {
  /** Add each remediated rule's RemediationConfiguration (organization remediation). @default false */
  readonly remediation?: boolean;
}

/** The automation role of the member account and region the pack runs in (pseudo parameters of the pack's stack). */
export const MEMBER_AUTOMATION_ROLE_ARN = {
  'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${MEMBER_AUTOMATION_ROLE_PREFIX}-\${AWS::Region}`,
};

function logicalId(rule: RuleDefinition, suffix: string): string {
  return rule.key.charAt(0).toUpperCase() + rule.key.slice(1) + suffix;
}

/** Condition of the remediation configurations: none in regions without AWS::Config::RemediationConfiguration. */
export const PACK_REMEDIATION_CONDITION = 'RemediationConfigurationSupported';

export function conformancePackTemplate(rules: RuleDefinition[], options: ConformancePackOptions = {}): Record<string, unknown> {
  const resources: Record<string, unknown> = {};
  let remediations = 0;
  for (const rule of rules) {
    resources[logicalId(rule, 'Rule')] = {
      Type: 'AWS::Config::ConfigRule',
      Properties: {
        ConfigRuleName: rule.ruleName,
        Description: rule.description,
        Scope: { ComplianceResourceTypes: [PACK_RESOURCE_TYPE] },
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
    const settings = rule.remediation;
    if (!options.remediation || !settings) continue;
    const staticValue = (values: unknown[]) => ({ StaticValue: { Values: values } });
    remediations++;
    resources[logicalId(rule, 'Remediation')] = {
      Type: 'AWS::Config::RemediationConfiguration',
      Condition: PACK_REMEDIATION_CONDITION,
      // The remediation configuration names its rule: it must exist first.
      DependsOn: [logicalId(rule, 'Rule')],
      Properties: {
        ConfigRuleName: rule.ruleName,
        TargetType: 'SSM_DOCUMENT',
        TargetId: remediationDocumentName(rule),
        ResourceType: PACK_RESOURCE_TYPE,
        Parameters: {
          GroupId: { ResourceValue: { Value: 'RESOURCE_ID' } },
          RuleParameters: staticValue([JSON.stringify(rule.inputParameters)]),
          DryRun: staticValue([settings.dryRun ? 'true' : 'false']),
          AutomationAssumeRole: staticValue([MEMBER_AUTOMATION_ROLE_ARN]),
        },
        Automatic: settings.automatic,
        MaximumAutomaticAttempts: settings.maximumAutomaticAttempts,
        RetryAttemptSeconds: settings.retryAttemptSeconds,
        ExecutionControls: {
          SsmControls: {
            ConcurrentExecutionRatePercentage: settings.concurrentExecutionRatePercentage,
            ErrorPercentage: settings.errorPercentage,
          },
        },
      },
    };
  }
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description:
      'sg-compliance conformance pack: AWS Config custom Lambda rules for EC2 security groups' +
      (options.remediation ? ' with their remediations (documents and automation role from the member remediation template)' : '') +
      '. The function must allow config.amazonaws.com of this account to invoke it.',
    Parameters: {
      [FUNCTION_ARN_PARAMETER]: {
        Type: 'String',
        Description: 'ARN of the sg-compliance Lambda function (e.g. the FunctionArn output of sg-compliance.template.json)',
      },
    },
    ...(remediations > 0 ? { Conditions: { [PACK_REMEDIATION_CONDITION]: remediationSupported() } } : {}),
    Resources: resources,
  };
}

function remediationSupported(): Record<string, unknown> {
  const equals = regionsWithout('AWS::Config::RemediationConfiguration').map((r) => ({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, r] }));
  return { 'Fn::Not': [equals.length === 1 ? equals[0] : { 'Fn::Or': equals }] };
}
