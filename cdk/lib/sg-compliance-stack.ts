import { Annotations, Aws, CfnCondition, CfnOutput, CfnParameter, CfnResource, Duration, Fn, Stack, StackProps, Token, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as config from 'aws-cdk-lib/aws-config';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';

type CfnResourceLike = IConstruct;
import {
  DEFAULT_EXECUTION_FREQUENCY,
  ExecutionFrequency,
  RuleConfigError,
  RuleDefinition,
  RulesOptions,
  resolveRules,
  rulesForRegion,
} from './rules';
import { hasResourceType, regionsWithout, requireResourceType } from './regions';
import { AlertsOptions, SgComplianceAlerts } from './alerts';
import { LambdaArchitecture, RULE_SCOPED_ACTION, SgComplianceFunction, codeFromBucketParameters } from './sg-compliance-function';
import { SgComplianceRemediation, createAutomationRole, remediationDocumentName } from './remediation';
import { FUNCTION_ARN_PARAMETER, conformancePackTemplate } from './conformance-pack';

export const RESOURCE_TYPE = 'AWS::EC2::SecurityGroup';
export const DEFAULT_MEMBER_ROLE_NAME = 'sg-compliance-member';
export const DEFAULT_AGGREGATOR_NAME = 'sg-compliance-organization';

/** Physical name of the function's role in organization mode; member roles trust exactly this ARN. */
export function lambdaRoleName(region: string): string {
  return `sg-compliance-lambda-${region}`;
}

/**
 * Who may invoke the function in organization mode:
 *  - `sourceOrgId`: one `AWS::Lambda::ResourcePolicy` statement for config.amazonaws.com with
 *    `aws:SourceOrgID` = the organization (new accounts are covered without a redeploy);
 *  - `accounts`: the same statement with `aws:SourceAccount` = the accounts of `memberAccountIds`; accounts added
 *    later need a redeploy.
 * Where AWS::Lambda::ResourcePolicy does not exist: one `AWS::Lambda::Permission` per `memberAccountIds` account.
 */
export type InvokePermissionMode = 'sourceOrgId' | 'accounts';
export const INVOKE_PERMISSION_MODES: readonly InvokePermissionMode[] = ['sourceOrgId', 'accounts'];

export interface OrganizationOptions {
  /** Organization ID (`o-...`): invocations are allowed for Config in accounts of this organization. */
  readonly organizationId: string;
  /** Role the function assumes in each member account (deployed by `SgComplianceMemberRoleStack`). @default 'sg-compliance-member' */
  readonly memberRoleName?: string;
  /** Accounts the organization rules are not deployed to. */
  readonly excludedAccounts?: string[];
  /** @default 'sourceOrgId' */
  readonly invokePermission?: InvokePermissionMode;
  /**
   * Accounts whose Config may invoke the function with `invokePermission: 'accounts'`, and the fallback
   * list in regions without `AWS::Lambda::ResourcePolicy` (see lib/regions.ts). Generate it from
   * Organizations (`aws organizations list-accounts`).
   */
  readonly memberAccountIds?: string[];
  /** Create the organization-wide Config aggregator (deploy it in one region only). @default true */
  readonly aggregator?: boolean;
  /** @default 'sg-compliance-organization' */
  readonly aggregatorName?: string;
  /**
   * Organization remediation: the rules with remediation enabled are deployed by an organization conformance pack (their
   * Config rules and remediation configurations) instead of organization rules; each member account needs the member
   * remediation stack (lib/member-remediation-stack.ts) in this region. @default false
   */
  readonly remediation?: boolean;
}

/** Name of the organization conformance pack of organization remediation. */
export const ORGANIZATION_CONFORMANCE_PACK_NAME = 'sg-compliance-remediation';

export interface SgComplianceStackProps extends StackProps {
  /** Lambda architecture. @default 'arm64' */
  readonly architecture?: LambdaArchitecture;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default 5 minutes */
  readonly timeout?: Duration;
  /** @default ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** KMS key (ARN) encrypting every log group of the stack. @default none (CloudWatch Logs' own encryption) */
  readonly logKmsKeyArn?: string;
  /** Periodic evaluation frequency of every rule (overridable per rule). @default 'TwentyFour_Hours' */
  readonly maximumExecutionFrequency?: ExecutionFrequency;
  /** Which rules to deploy and their parameters. */
  readonly rules?: RulesOptions;
  /** Organization mode: organization rules, member-role assumption and an aggregator. */
  readonly organization?: OrganizationOptions;
  /** Path to Cargo.toml. @default the repository's Cargo.toml */
  readonly manifestPath?: string;
  /** Opt-in alerts (SNS topic, EventBridge rules, alarms, on-failure destination). @default none */
  readonly alerts?: AlertsOptions;
  /**
   * Self-contained template: the function code comes from the `CodeS3Bucket`/`CodeS3Key` parameters (the zip of
   * `make package`) instead of the Rust build, so the template needs no CDK bootstrap or assets.
   * @default false
   */
  readonly codeFromParameters?: boolean;
}

/** Default of the CodeS3Key parameter: where `make package` puts the zip, relative to dist/. */
export const DEFAULT_CODE_S3_KEY = 'sg-compliance-lambda/bootstrap.zip';
/** Default of the RemediationCodeS3Key parameter (remediation on): the remediation function's zip, relative to dist/. */
export const DEFAULT_REMEDIATION_CODE_S3_KEY = 'sg-compliance-remediate/bootstrap.zip';

const ORG_ID = /^o-[a-z0-9]{10,32}$/;
const ACCOUNT_ID = /^\d{12}$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/**
 * sg-compliance in one region: the Rust Lambda, one Config rule per enabled check and the opt-in
 * remediations (single-account mode), or organization rules plus aggregator (organization mode).
 */
export class SgComplianceStack extends Stack {
  public readonly checkFunction: SgComplianceFunction;
  public readonly rules: RuleDefinition[];
  /** Single-account mode only. */
  public readonly configRules: Record<string, config.CfnConfigRule> = {};
  /** Organization mode only. */
  public readonly organizationRules: Record<string, config.CfnOrganizationConfigRule> = {};
  /** Organization remediation: the organization conformance pack of the remediated rules. */
  public organizationConformancePack?: config.CfnOrganizationConformancePack;
  /** Single-account mode with at least one remediation enabled. */
  public automationRole?: iam.Role;
  /** Single-account mode: the remediation function and document of each rule with remediation enabled, by rule key. */
  public readonly remediations: Record<string, SgComplianceRemediation> = {};
  /** With `alerts`. */
  public alerts?: SgComplianceAlerts;
  /** The concrete region, or undefined for an environment-agnostic stack. */
  private readonly concreteRegion?: string;
  /** Self-contained template: the DeployRules parameter (false: function only, for the conformance pack). */
  private deployRules?: CfnCondition;
  /** Self-contained template: the CodeS3Bucket parameter's bucket. */
  private codeBucket?: s3.IBucket;

  constructor(scope: Construct, id: string, props: SgComplianceStackProps = {}) {
    super(scope, id, props);
    this.concreteRegion = Token.isUnresolved(this.region) ? undefined : this.region;
    const org = props.organization;
    if (org) validateOrganization(org);

    if (org && this.concreteRegion === undefined) {
      throw new RuleConfigError('organization mode needs a concrete region (set the `regions` context or CDK_DEFAULT_REGION)');
    }
    if (org) refuseFixedGroupIds(props.rules);
    this.rules = resolveRules(
      rulesForRegion(props.rules, this.concreteRegion),
      props.maximumExecutionFrequency ?? DEFAULT_EXECUTION_FREQUENCY,
    );
    const memberRoleName = org ? org.memberRoleName ?? DEFAULT_MEMBER_ROLE_NAME : undefined;

    let code: lambda.Code | undefined;
    if (props.codeFromParameters) {
      if (org) throw new RuleConfigError('codeFromParameters (self-contained template) is single-account only');
      const deployRules = new CfnParameter(this, 'DeployRules', {
        type: 'String',
        description:
          'true: the Config rules (and remediations) of this template; false: the function only, for the rules of the conformance pack template',
        allowedValues: ['true', 'false'],
        default: 'true',
      });
      this.deployRules = new CfnCondition(this, 'DeployRulesCondition', {
        expression: Fn.conditionEquals(deployRules.valueAsString, 'true'),
      });
      const bucket = new CfnParameter(this, 'CodeS3Bucket', {
        type: 'String',
        description: 'S3 bucket (same region as the stack) holding the Lambda zip built by `make package`',
        minLength: 3,
      });
      const key = new CfnParameter(this, 'CodeS3Key', {
        type: 'String',
        description: 'Key of the zip (dist/sg-compliance-lambda/bootstrap.zip of `make package`) in CodeS3Bucket',
        default: DEFAULT_CODE_S3_KEY,
        minLength: 1,
      });
      const codeBucket = s3.Bucket.fromBucketName(this, 'CodeBucket', bucket.valueAsString);
      code = codeFromBucketParameters(this, codeBucket, key, 'CodeS3ObjectVersion', 'the function zip (CodeS3Key)');
      this.codeBucket = codeBucket;
    }

    this.checkFunction = new SgComplianceFunction(this, 'SgCompliance', {
      code,
      architecture: props.architecture,
      memorySize: props.memorySize,
      timeout: props.timeout,
      logRetention: props.logRetention,
      logKmsKeyArn: props.logKmsKeyArn,
      manifestPath: props.manifestPath,
      roleName: org ? lambdaRoleName(this.region) : undefined,
      assumeRoleName: memberRoleName,
      organizationId: org?.organizationId,
    });
    const fn = this.checkFunction.function;
    if (props.codeFromParameters) {
      new CfnOutput(this, 'FunctionArn', { value: fn.functionArn, description: 'For the conformance pack template (SgComplianceFunctionArn)' });
    }

    if (org) {
      this.deployOrganizationMode(fn, org);
    } else {
      this.deploySingleAccountMode(fn, props);
    }
    if (props.alerts) {
      this.alerts = new SgComplianceAlerts(this, 'Alerts', {
        ...props.alerts,
        function: this.checkFunction,
        ruleNames: this.rules.filter((r) => !(org?.remediation && r.remediation)).map((r) => r.ruleName),
        organizationPackRuleNames: org?.remediation ? this.rules.filter((r) => r.remediation).map((r) => r.ruleName) : undefined,
        organization: org !== undefined,
        conformancePackRuleNames: this.deployRules !== undefined,
        remediationDocuments: this.remediationDocuments(),
        remediationCondition: this.concreteRegion === undefined && this.automationRole ? this.remediationCondition() : undefined,
      });
    }
  }

  private remediationDocuments(): string[] {
    // Organization remediation: the fixed document names of the member remediation stack (in this account too).
    if (this.organizationConformancePack) return this.rules.filter((r) => r.remediation).map(remediationDocumentName);
    return Object.values(this.remediations).map((r) => r.documentName);
  }

  private deploySingleAccountMode(fn: lambda.IFunction, props: SgComplianceStackProps) {
    // Config invokes the function as config.amazonaws.com; SourceAccount keeps other accounts' Config rules out, SourceArn
    // limits it to Config rules of this account and region. Not a rule's exact ARN: rule ARNs hold generated rule IDs and
    // exist only after PutConfigRule, which fails unless Config may already invoke the function (and, DeployRules=false,
    // the conformance pack's rules are unknown here).
    const permission = new lambda.CfnPermission(this, 'ConfigInvokePermission', {
      action: 'lambda:InvokeFunction',
      functionName: fn.functionArn,
      principal: 'config.amazonaws.com',
      sourceAccount: this.account,
      sourceArn: configRulesArn(),
    });

    const remediated = this.rules.filter((r) => r.remediation !== undefined);
    if (remediated.length > 0) {
      requireResourceType(
        this.concreteRegion,
        'AWS::Config::RemediationConfiguration',
        `remediation (${remediated.map((r) => r.key).join(', ')})`,
        'disable remediation for this region or deploy to another region',
      );
    }
    let remediationCode: lambda.Code | undefined;
    if (remediated.length > 0 && this.codeBucket) {
      const key = new CfnParameter(this, 'RemediationCodeS3Key', {
        type: 'String',
        description: 'Key of the remediation zip (dist/sg-compliance-remediate/bootstrap.zip) in CodeS3Bucket',
        default: DEFAULT_REMEDIATION_CODE_S3_KEY,
        minLength: 1,
      });
      remediationCode = codeFromBucketParameters(this, this.codeBucket, key, 'RemediationCodeS3ObjectVersion', 'the remediation zip (RemediationCodeS3Key)');
    }
    for (const rule of remediated) {
      this.remediations[rule.key] = new SgComplianceRemediation(this, `${pascal(rule.key)}Remediator`, {
        rule,
        architecture: props.architecture,
        logRetention: props.logRetention,
        logKmsKeyArn: props.logKmsKeyArn,
        manifestPath: props.manifestPath,
        code: remediationCode,
      });
    }
    const automationRole = remediated.length > 0 ? this.createAutomationRole(Object.values(this.remediations)) : undefined;
    this.automationRole = automationRole;
    if (automationRole && this.concreteRegion === undefined) {
      // Region-agnostic template: the functions, documents and role exist only where the remediation configurations do
      // (and, self-contained template, with DeployRules=true), so the remediation zip is needed only then.
      const condition = this.remediationCondition();
      for (const scope of [automationRole, ...Object.values(this.remediations)]) {
        for (const c of scope.node.findAll()) if (c instanceof CfnResource) c.cfnOptions.condition = condition;
      }
    }

    for (const rule of this.rules) {
      const cfnRule = new config.CfnConfigRule(this, `${pascal(rule.key)}Rule`, {
        configRuleName: rule.ruleName,
        description: rule.description,
        scope: { complianceResourceTypes: rule.resourceTypes },
        inputParameters: rule.inputParameters,
        source: {
          owner: 'CUSTOM_LAMBDA',
          sourceIdentifier: fn.functionArn,
          sourceDetails: [
            { eventSource: 'aws.config', messageType: 'ConfigurationItemChangeNotification' },
            { eventSource: 'aws.config', messageType: 'OversizedConfigurationItemChangeNotification' },
            {
              eventSource: 'aws.config',
              messageType: 'ScheduledNotification',
              maximumExecutionFrequency: rule.maximumExecutionFrequency,
            },
          ],
        },
      });
      // Config checks at creation that it may invoke the function.
      cfnRule.node.addDependency(permission);
      if (this.deployRules) cfnRule.cfnOptions.condition = this.deployRules;
      this.configRules[rule.key] = cfnRule;

      if (rule.remediation) {
        this.createRemediation(rule, cfnRule, this.remediations[rule.key], automationRole!);
      }
    }
    this.grantReadRuleResults(Object.values(this.configRules).map((r) => r.attrArn));
  }

  /**
   * config:GetComplianceDetailsByConfigRule on exactly the rules of this stack. A separate policy (not the
   * role's default policy, which the function depends on): the rules depend on the function, so the policy
   * can only be created after them.
   */
  private grantReadRuleResults(ruleArns: string[]) {
    if (ruleArns.length === 0) return;
    const own = new iam.Policy(this, 'ReadRuleResults', {
      roles: [this.checkFunction.role],
      statements: [new iam.PolicyStatement({ sid: 'ReadOwnRuleResults', actions: [RULE_SCOPED_ACTION], resources: ruleArns })],
    });
    if (!this.deployRules) return;
    (own.node.defaultChild as iam.CfnPolicy).cfnOptions.condition = this.deployRules;
    // DeployRules=false: the rules come from the conformance pack, whose rule ARNs (generated rule IDs) are unknown
    // here: the rules of this account and region.
    const packRules = configRulesArn();
    const pack = new iam.Policy(this, 'ReadConformancePackRuleResults', {
      roles: [this.checkFunction.role],
      statements: [new iam.PolicyStatement({ sid: 'ReadConformancePackRuleResults', actions: [RULE_SCOPED_ACTION], resources: [packRules] })],
    });
    (pack.node.defaultChild as iam.CfnPolicy).cfnOptions.condition = new CfnCondition(this, 'ConformancePackRulesCondition', {
      expression: Fn.conditionNot(this.deployRules),
    });
    Validations.of(pack).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:config:<AWS::Region>:<AWS::AccountId>:config-rule/*]',
      reason:
        'Only with DeployRules=false (rules deployed by the conformance pack, whose rule IDs are generated): reading compliance results ' +
        'of the rules of this account and region, one read-only action.',
    });
  }

  /** Assumed by SSM Automation: may only invoke the remediation functions (exact ARNs). */
  private createAutomationRole(remediations: SgComplianceRemediation[]): iam.Role {
    return createAutomationRole(this, 'RemediationAutomationRole', remediations.map((r) => r.function));
  }

  private createRemediation(rule: RuleDefinition, cfnRule: config.CfnConfigRule, remediation: SgComplianceRemediation, role: iam.Role) {
    const settings = rule.remediation!;
    // `Parameters` is untyped JSON in CloudFormation: keys must be written in CloudFormation casing.
    const staticValue = (values: string[]) => ({ StaticValue: { Values: values } });
    const remediationConfiguration = new config.CfnRemediationConfiguration(this, `${pascal(rule.key)}Remediation`, {
      configRuleName: cfnRule.ref,
      targetType: 'SSM_DOCUMENT',
      targetId: remediation.documentName,
      resourceType: RESOURCE_TYPE,
      parameters: {
        GroupId: { ResourceValue: { Value: 'RESOURCE_ID' } },
        RuleParameters: staticValue([JSON.stringify(rule.inputParameters)]),
        DryRun: staticValue([settings.dryRun ? 'true' : 'false']),
        AutomationAssumeRole: staticValue([role.roleArn]),
      },
      automatic: settings.automatic,
      maximumAutomaticAttempts: settings.maximumAutomaticAttempts,
      retryAttemptSeconds: settings.retryAttemptSeconds,
      executionControls: {
        ssmControls: {
          concurrentExecutionRatePercentage: settings.concurrentExecutionRatePercentage,
          errorPercentage: settings.errorPercentage,
        },
      },
    });
    // The automation role and its policy (lambda:InvokeFunction) exist before Config can start the first automatic run.
    remediationConfiguration.node.addDependency(role);
    if (this.concreteRegion === undefined) {
      // Region-agnostic template: no remediation where CloudFormation lacks the resource type (lib/regions.ts).
      remediationConfiguration.cfnOptions.condition = this.remediationCondition();
    }
  }

  /** Remediation supported in the region, and (self-contained template) the rules deployed. */
  private remediationCondition(): CfnCondition {
    const supported = this.remediationSupportedCondition();
    if (!this.deployRules) return supported;
    const id = 'DeployRemediationCondition';
    return (
      (this.node.tryFindChild(id) as CfnCondition | undefined) ??
      new CfnCondition(this, id, { expression: Fn.conditionAnd(this.deployRules, supported) })
    );
  }

  private remediationSupportedCondition(): CfnCondition {
    const id = 'RemediationConfigurationSupported';
    const existing = this.node.tryFindChild(id) as CfnCondition | undefined;
    if (existing) return existing;
    const equalsRegion = regionsWithout('AWS::Config::RemediationConfiguration').map((r) => Fn.conditionEquals(Aws.REGION, r));
    return new CfnCondition(this, id, {
      expression: Fn.conditionNot(equalsRegion.length === 1 ? equalsRegion[0] : Fn.conditionOr(...equalsRegion)),
    });
  }

  private deployOrganizationMode(fn: lambda.IFunction, org: OrganizationOptions) {
    const remediated = this.rules.filter((r) => r.remediation !== undefined);
    if (remediated.length > 0 && !org.remediation) {
      // Organization rules cannot carry a remediation configuration (they get generated names in member accounts,
      // OrgConfigRule-<name>-<suffix>); an organization conformance pack can.
      throw new RuleConfigError(
        `remediation in organization mode needs organizationRemediation=true (an organization conformance pack, see README); ` +
          `or disable it for ${remediated.map((r) => r.key).join(', ')}`,
      );
    }
    if (org.remediation) {
      if (remediated.length === 0) {
        throw new RuleConfigError('organizationRemediation needs at least one rule with "remediation": {"enabled": true}');
      }
      requireResourceType(
        this.concreteRegion,
        'AWS::Config::RemediationConfiguration',
        `organization remediation (${remediated.map((r) => r.key).join(', ')})`,
        'disable remediation for this region or deploy to another region',
      );
    }
    const excludedAccounts = org.excludedAccounts && org.excludedAccounts.length > 0 ? [...new Set(org.excludedAccounts)] : undefined;

    const invokePermission = this.organizationInvokePermission(fn, org);
    if (org.remediation) {
      // The remediated rules and their remediation configurations, in every account of the organization (but the
      // excluded ones); the documents and the automation role they name come from the member remediation stack.
      const pack = new config.CfnOrganizationConformancePack(this, 'RemediationConformancePack', {
        organizationConformancePackName: ORGANIZATION_CONFORMANCE_PACK_NAME,
        templateBody: JSON.stringify(conformancePackTemplate(remediated, { remediation: true })),
        conformancePackInputParameters: [{ parameterName: FUNCTION_ARN_PARAMETER, parameterValue: fn.functionArn }],
        excludedAccounts,
      });
      pack.node.addDependency(...invokePermission);
      this.organizationConformancePack = pack;
    }
    for (const rule of this.rules.filter((r) => !(org.remediation && r.remediation))) {
      const orgRule = new config.CfnOrganizationConfigRule(this, `${pascal(rule.key)}OrganizationRule`, {
        organizationConfigRuleName: rule.ruleName,
        excludedAccounts,
        organizationCustomRuleMetadata: {
          description: rule.description,
          lambdaFunctionArn: fn.functionArn,
          organizationConfigRuleTriggerTypes: [
            'ConfigurationItemChangeNotification',
            'OversizedConfigurationItemChangeNotification',
            'ScheduledNotification',
          ],
          maximumExecutionFrequency: rule.maximumExecutionFrequency,
          resourceTypesScope: rule.resourceTypes,
          inputParameters: JSON.stringify(rule.inputParameters),
        },
      });
      orgRule.node.addDependency(...invokePermission);
      this.organizationRules[rule.key] = orgRule;
    }

    if (org.aggregator ?? true) {
      const aggregatorRole = new iam.Role(this, 'AggregatorRole', {
        description: 'Lets AWS Config aggregate sg-compliance results of the whole organization',
        // Confused-deputy protection: only Config aggregators of this account may assume the role.
        assumedBy: new iam.ServicePrincipal('config.amazonaws.com').withConditions({
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:config:${Aws.REGION}:${Aws.ACCOUNT_ID}:config-aggregator/*` },
        }),
        managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSConfigRoleForOrganizations')],
      });
      Validations.of(aggregatorRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSConfigRoleForOrganizations]',
        reason:
          'AWS documents this managed policy as the one for organization aggregators (organizations:Describe*/List* read access); ' +
          'AWS maintains it as Organizations evolves.',
      });
      const aggregator = new config.CfnConfigurationAggregator(this, 'OrganizationAggregator', {
        configurationAggregatorName: org.aggregatorName ?? DEFAULT_AGGREGATOR_NAME,
        organizationAggregationSource: { roleArn: aggregatorRole.roleArn, allAwsRegions: true },
      });
      aggregator.node.addDependency(aggregatorRole);
    }
  }

  /**
   * Who may invoke the function: organization custom rules (and the organization conformance pack's rules) run in each
   * member account, and that account's Config invokes this function as the service principal config.amazonaws.com
   * (aws:SourceAccount = member account).
   *  - AWS::Lambda::Permission's PrincipalOrgID adds aws:PrincipalOrgID, which describes the calling IAM principal
   *    and is absent for service principals: never matches config.amazonaws.com, not usable.
   *  - `sourceOrgId`: aws:SourceOrgID (a service acting for a resource owned by an organization member). Whether Config
   *    sets it on these invocations is not verified (README: check it on a one-OU rollout).
   *  - `accounts`: aws:SourceAccount in the listed accounts.
   * One mechanism per region: where AWS::Lambda::ResourcePolicy exists it carries either condition (it replaces the
   * function's whole policy, and its delete handler would remove AWS::Lambda::Permission grants too, so the two are never
   * mixed, and switching modes only updates the one resource); elsewhere one AWS::Lambda::Permission per account
   * (SourceAccount), which `sourceOrgId` cannot express, so it needs memberAccountIds there.
   */
  private organizationInvokePermission(fn: lambda.IFunction, org: OrganizationOptions): CfnResourceLike[] {
    const accounts = [...new Set(org.memberAccountIds ?? [])];
    const mode = org.invokePermission ?? 'sourceOrgId';
    if (hasResourceType(this.concreteRegion, 'AWS::Lambda::ResourcePolicy')) {
      const condition =
        mode === 'accounts' ? { StringEquals: { 'aws:SourceAccount': accounts } } : { StringEquals: { 'aws:SourceOrgID': org.organizationId } };
      return [
        new lambda.CfnResourcePolicy(this, 'ConfigInvokeResourcePolicy', {
          resourceArn: fn.functionArn,
          policyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: mode === 'accounts' ? 'ConfigRulesOfMemberAccounts' : 'ConfigRulesOfOrganization',
                Effect: 'Allow',
                Principal: { Service: 'config.amazonaws.com' },
                Action: 'lambda:InvokeFunction',
                Resource: fn.functionArn,
                Condition: condition,
              },
            ],
          },
        }),
      ];
    }
    if (accounts.length === 0) {
      throw new RuleConfigError(
        `organization mode with invokePermission=sourceOrgId needs AWS::Lambda::ResourcePolicy, which does not exist in ${this.region}; ` +
          'set invokePermission=accounts (or just memberAccountIds) to grant one AWS::Lambda::Permission per account, or run the function in another region',
      );
    }
    if (mode === 'sourceOrgId') {
      Annotations.of(this).addInfo(
        `sg-compliance: AWS::Lambda::ResourcePolicy does not exist in ${this.region}: one AWS::Lambda::Permission per memberAccountIds account instead of aws:SourceOrgID`,
      );
    }
    return accounts.map(
      (account) =>
        new lambda.CfnPermission(this, `ConfigInvokePermission${account}`, {
          action: 'lambda:InvokeFunction',
          functionName: fn.functionArn,
          principal: 'config.amazonaws.com',
          sourceAccount: account,
        }),
    );
  }
}

/** Organization mode refuses fixed load-balancer group ids: they are per account and region. */
function refuseFixedGroupIds(rules?: RulesOptions) {
  const ids = rules?.webTier?.loadBalancerSecurityGroupIds;
  const set = Array.isArray(ids) ? ids.length > 0 : ids !== undefined && ids !== null;
  if (set) {
    throw new RuleConfigError(
      'organization mode: webTier.loadBalancerSecurityGroupIds cannot be set. Security group ids belong to one account and ' +
        'region, and organization rules run in every account; leave it unset so the rule discovers the load balancer groups.',
    );
  }
}

function validateOrganization(org: OrganizationOptions) {
  if (!ORG_ID.test(org.organizationId ?? '')) {
    throw new RuleConfigError(`organizationId must look like o-xxxxxxxxxx, got ${JSON.stringify(org.organizationId)}`);
  }
  const memberRoleName = org.memberRoleName ?? DEFAULT_MEMBER_ROLE_NAME;
  if (!ROLE_NAME.test(memberRoleName)) {
    throw new RuleConfigError(`memberRoleName ${JSON.stringify(memberRoleName)} is not a valid IAM role name`);
  }
  if (org.invokePermission !== undefined && !INVOKE_PERMISSION_MODES.includes(org.invokePermission)) {
    throw new RuleConfigError(`invokePermission must be one of ${INVOKE_PERMISSION_MODES.join(', ')}, got ${JSON.stringify(org.invokePermission)}`);
  }
  if (org.invokePermission === 'accounts' && (org.memberAccountIds ?? []).length === 0) {
    throw new RuleConfigError('invokePermission=accounts needs memberAccountIds (every account the organization rules run in)');
  }
  for (const [name, list] of [
    ['excludedAccounts', org.excludedAccounts],
    ['memberAccountIds', org.memberAccountIds],
  ] as const) {
    for (const a of list ?? []) {
      if (!ACCOUNT_ID.test(a)) throw new RuleConfigError(`${name}: ${JSON.stringify(a)} is not a 12-digit account ID`);
    }
  }
}

/** The Config rules of the stack's account and region (`config-rule/*`: rule ARNs carry generated rule IDs). */
export function configRulesArn(): string {
  return `arn:${Aws.PARTITION}:config:${Aws.REGION}:${Aws.ACCOUNT_ID}:config-rule/*`;
}

function pascal(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}
