import { Annotations, App, Tags, Validations } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AlertsOptions } from './alerts';
import { SgComplianceMemberRemediationStack } from './member-remediation-stack';
import { SgComplianceMemberRoleStack } from './member-role-stack';
import { hasResourceType, isRegionName } from './regions';
import { EXECUTION_FREQUENCIES, ExecutionFrequency, RuleConfigError, RulesOptions, perRegionGroupIdRegions } from './rules';
import { LambdaArchitecture, logRetentionOf } from './sg-compliance-function';
import * as logs from 'aws-cdk-lib/aws-logs';
import { INVOKE_PERMISSION_MODES, InvokePermissionMode, OrganizationOptions, SgComplianceStack } from './sg-compliance-stack';

/**
 * Environment variable that `npm run synth` (`make synth`) sets: skipBundling and synthAllModes are refused
 * without it, so a `cdk deploy` can never run with them. (Templates synthesized that way carry an always-false
 * CloudFormation rule as well, see markNotDeployable.)
 */
export const SYNTH_ONLY_ENV = 'SG_COMPLIANCE_SYNTH_ONLY';

/**
 * Context keys (cdk.json or `-c key=value`; values given with -c are strings, lists may be comma-separated,
 * objects JSON):
 *
 *   regions                   list of regions, one stack per region (default: CDK_DEFAULT_REGION)
 *   architecture              arm64 (default) | x86_64
 *   maximumExecutionFrequency One_Hour | Three_Hours | Six_Hours | Twelve_Hours | TwentyFour_Hours (default)
 *   rules                     JSON object: per-rule options (see lib/rules.ts RulesOptions); with several regions,
 *                             webTier.loadBalancerSecurityGroupIds must be a map {region: [ids]}
 *   organization              true: organization mode
 *   organizationId            o-... (required in organization mode)
 *   memberRoleName            default sg-compliance-member
 *   invokePermission          sourceOrgId (default) | accounts: how Config of member accounts may invoke the function
 *   memberAccountIds          accounts for invokePermission=accounts, and the fallback where
 *                             AWS::Lambda::ResourcePolicy does not exist
 *   excludedAccounts          accounts the organization rules skip
 *   lambdaAccountId           default of the member role stack's LambdaAccountId parameter
 *                             (default: CDK_DEFAULT_ACCOUNT)
 *   memberRoleStack           false: do not deploy SgComplianceMemberRole into the function's account (when your
 *                             StackSet already covers that account; default true, and the StackSet then excludes it)
 *   organizationRemediation   true: organization mode with remediation: the rules with remediation enabled are
 *                             deployed by an organization conformance pack with their remediation configurations,
 *                             and a SgComplianceMemberRemediation-<region> stack (remediation functions, documents,
 *                             automation role) goes into the function account (the StackSet template of
 *                             `make templates ORGANIZATION_REMEDIATION=true` covers the other accounts)
 *   alerts                    true: SNS topic, EventBridge rules, alarms and an on-failure queue (lib/alerts.ts)
 *   alertTopicArn             existing SNS topic for the alerts (implies alerts=true)
 *   logRetentionDays          retention of every log group, in days (a value CloudWatch Logs accepts; default 30)
 *   logKmsKeyArn              existing KMS key encrypting every log group (its key policy must allow
 *                             logs.<region>.amazonaws.com; one region per key)
 *   alertOnCompliant          true: also alert when a non-compliant group becomes compliant (implies alerts=true)
 *   skipBundling              true: do not build the Rust function (synth/test only; refused unless
 *                             SG_COMPLIANCE_SYNTH_ONLY=1, and the templates are undeployable)
 *   synthAllModes             true: synth single-account AND organization stacks together (implies
 *                             skipBundling; CI/lint only)
 */
export interface AppSettings {
  readonly regions: string[];
  readonly account?: string;
  readonly architecture?: LambdaArchitecture;
  readonly maximumExecutionFrequency?: ExecutionFrequency;
  readonly rules?: RulesOptions;
  readonly organization: boolean;
  readonly organizationId?: string;
  readonly memberRoleName?: string;
  readonly invokePermission?: InvokePermissionMode;
  readonly memberAccountIds?: string[];
  readonly excludedAccounts?: string[];
  readonly lambdaAccountId?: string;
  readonly memberRoleStack: boolean;
  readonly organizationRemediation: boolean;
  readonly logRetention?: logs.RetentionDays;
  readonly logKmsKeyArn?: string;
  readonly alerts?: AlertsOptions;
  readonly skipBundling: boolean;
  readonly synthAllModes: boolean;
}

type ContextReader = (key: string) => unknown;

function asBool(key: string, v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && ['true', 'false', ''].includes(v.trim().toLowerCase())) return v.trim().toLowerCase() === 'true';
  throw new RuleConfigError(`context ${key} must be true or false, got ${JSON.stringify(v)}`);
}

function asList(key: string, v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') {
    const s = v.trim();
    if (s.startsWith('[')) return asList(key, JSON.parse(s));
    return s.split(',').map((x) => x.trim()).filter((x) => x !== '');
  }
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.map((x) => String(x).trim());
  throw new RuleConfigError(`context ${key} must be a list (JSON array or comma-separated string)`);
}

function asString(key: string, v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new RuleConfigError(`context ${key} must be a string`);
  return v.trim();
}

function asNumber(key: string, v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (!Number.isInteger(n)) throw new RuleConfigError(`context ${key} must be a whole number, got ${JSON.stringify(v)}`);
  return n;
}

const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

function kmsKeyArn(arn: string | undefined): string | undefined {
  if (arn !== undefined && !KMS_KEY_ARN.test(arn)) throw new RuleConfigError(`context logKmsKeyArn must be a KMS key ARN, got ${JSON.stringify(arn)}`);
  return arn;
}

function asObject<T>(key: string, v: unknown): T | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const o = typeof v === 'string' ? JSON.parse(v) : v;
  if (typeof o !== 'object' || Array.isArray(o)) throw new RuleConfigError(`context ${key} must be a JSON object`);
  return o as T;
}

/** Reads the app settings from CDK context (and CDK_DEFAULT_* environment variables). */
export function readSettings(ctx: ContextReader, env: NodeJS.ProcessEnv = process.env): AppSettings {
  const regions = asList('regions', ctx('regions')) ?? (env.CDK_DEFAULT_REGION ? [env.CDK_DEFAULT_REGION] : []);
  for (const r of regions) {
    if (!isRegionName(r)) throw new RuleConfigError(`context regions: ${JSON.stringify(r)} is not a region`);
  }
  const architecture = asString('architecture', ctx('architecture')) as LambdaArchitecture | undefined;
  if (architecture !== undefined && architecture !== 'arm64' && architecture !== 'x86_64') {
    throw new RuleConfigError(`context architecture must be arm64 or x86_64, got ${JSON.stringify(architecture)}`);
  }
  const frequency = asString('maximumExecutionFrequency', ctx('maximumExecutionFrequency')) as ExecutionFrequency | undefined;
  if (frequency !== undefined && !EXECUTION_FREQUENCIES.includes(frequency)) {
    throw new RuleConfigError(`context maximumExecutionFrequency must be one of ${EXECUTION_FREQUENCIES.join(', ')}`);
  }
  const synthAllModes = asBool('synthAllModes', ctx('synthAllModes'));
  const skipBundling = synthAllModes || asBool('skipBundling', ctx('skipBundling'));
  if (skipBundling && env[SYNTH_ONLY_ENV] !== '1') {
    throw new RuleConfigError(
      'skipBundling/synthAllModes produce templates without the Lambda package, for synth and lint only: use `make synth` ' +
        '(which sets SG_COMPLIANCE_SYNTH_ONLY=1). For templates deployable without CDK use `make templates` (code from S3, ' +
        'needs neither option); to deploy with CDK, drop the option (`make deploy` builds the function).',
    );
  }
  const invokePermission = asString('invokePermission', ctx('invokePermission')) as InvokePermissionMode | undefined;
  if (invokePermission !== undefined && !INVOKE_PERMISSION_MODES.includes(invokePermission)) {
    throw new RuleConfigError(`context invokePermission must be one of ${INVOKE_PERMISSION_MODES.join(', ')}, got ${JSON.stringify(invokePermission)}`);
  }
  const alertTopicArn = asString('alertTopicArn', ctx('alertTopicArn'));
  const alertOnCompliant = asBool('alertOnCompliant', ctx('alertOnCompliant'));
  const alerts = alertTopicArn !== undefined || alertOnCompliant || asBool('alerts', ctx('alerts'));
  return {
    regions: [...new Set(regions)],
    account: env.CDK_DEFAULT_ACCOUNT,
    architecture,
    maximumExecutionFrequency: frequency,
    rules: asObject<RulesOptions>('rules', ctx('rules')),
    organization: asBool('organization', ctx('organization')),
    organizationId: asString('organizationId', ctx('organizationId')),
    memberRoleName: asString('memberRoleName', ctx('memberRoleName')),
    invokePermission,
    memberAccountIds: asList('memberAccountIds', ctx('memberAccountIds')),
    excludedAccounts: asList('excludedAccounts', ctx('excludedAccounts')),
    lambdaAccountId: asString('lambdaAccountId', ctx('lambdaAccountId')) ?? env.CDK_DEFAULT_ACCOUNT,
    memberRoleStack: ctx('memberRoleStack') === undefined || ctx('memberRoleStack') === null || asBool('memberRoleStack', ctx('memberRoleStack')),
    organizationRemediation: asBool('organizationRemediation', ctx('organizationRemediation')),
    logRetention: logRetentionOf(asNumber('logRetentionDays', ctx('logRetentionDays'))),
    logKmsKeyArn: kmsKeyArn(asString('logKmsKeyArn', ctx('logKmsKeyArn'))),
    alerts: alerts ? { topicArn: alertTopicArn, onCompliant: alertOnCompliant || undefined } : undefined,
    skipBundling,
    synthAllModes,
  };
}

export const SINGLE_STACK_PREFIX = 'SgCompliance';
export const ORG_STACK_PREFIX = 'SgComplianceOrg';
export const MEMBER_ROLE_STACK_NAME = 'SgComplianceMemberRole';
export const MEMBER_REMEDIATION_STACK_PREFIX = 'SgComplianceMemberRemediation';

/** Adds every stack the settings ask for to `app`, plus the cdk-nag AwsSolutions checks. */
export function buildApp(app: App, settings: AppSettings): void {
  if (settings.skipBundling) {
    // Same effect as the CLI's bundling-stacks selection, which is not settable from user context.
    app.node.setContext(cxapi.BUNDLING_STACKS, []);
  }
  const common = {
    logRetention: settings.logRetention,
    logKmsKeyArn: settings.logKmsKeyArn,
    architecture: settings.architecture,
    maximumExecutionFrequency: settings.maximumExecutionFrequency,
    rules: settings.rules,
    alerts: settings.alerts,
  };
  const ids = settings.rules?.webTier?.loadBalancerSecurityGroupIds;
  if (Array.isArray(ids) && ids.length > 0 && settings.regions.length > 1) {
    throw new RuleConfigError(
      `webTier.loadBalancerSecurityGroupIds is one list for ${settings.regions.length} regions, but security group ids are regional: ` +
        'give a map {"<region>": ["sg-..."]} so that each region gets its own ids',
    );
  }
  for (const r of perRegionGroupIdRegions(settings.rules) ?? []) {
    if (!isRegionName(r)) throw new RuleConfigError(`webTier.loadBalancerSecurityGroupIds: ${JSON.stringify(r)} is not a region`);
  }
  const regions: (string | undefined)[] = settings.regions.length > 0 ? settings.regions : [undefined];
  const stackName = (prefix: string, region?: string) => (region ? `${prefix}-${region}` : prefix);
  const env = (region?: string) => (region ? { account: settings.account, region } : undefined);

  if (settings.organizationRemediation && !settings.organization && !settings.synthAllModes) {
    throw new RuleConfigError('organizationRemediation needs organization mode (organization=true)');
  }
  if (!settings.organization || settings.synthAllModes) {
    for (const region of regions) {
      new SgComplianceStack(app, stackName(SINGLE_STACK_PREFIX, region), {
        ...common,
        // synthAllModes lints every resource type the app can produce, but a region without remediation support
        // would only fail (which the tests check): drop remediation there.
        rules:
          settings.synthAllModes && !hasResourceType(region, 'AWS::Config::RemediationConfiguration')
            ? withoutRemediation(settings.rules)
            : settings.rules,
        env: env(region),
        description: 'sg-compliance: AWS Config custom rules for EC2 security groups (single account)',
      });
    }
  }

  if (settings.organization || settings.synthAllModes) {
    const organizationId = settings.organizationId ?? (settings.synthAllModes ? 'o-exampleorg1' : undefined);
    if (!organizationId) throw new RuleConfigError('organization mode needs the organizationId context (o-...)');
    if (settings.regions.length === 0) {
      throw new RuleConfigError('organization mode needs the regions context (or CDK_DEFAULT_REGION)');
    }
    const rules = settings.synthAllModes ? forOrganization(settings.rules, settings.organizationRemediation) : settings.rules;
    const orgStacks: SgComplianceStack[] = [];
    settings.regions.forEach((region, i) => {
      const organization: OrganizationOptions = {
        organizationId,
        memberRoleName: settings.memberRoleName,
        invokePermission: settings.invokePermission,
        memberAccountIds: settings.memberAccountIds,
        excludedAccounts: settings.excludedAccounts,
        // One organization-wide aggregator (all regions) is enough: create it in the first region only.
        aggregator: i === 0,
        remediation: settings.organizationRemediation,
      };
      const orgStack = new SgComplianceStack(app, stackName(ORG_STACK_PREFIX, region), {
        ...common,
        rules,
        env: env(region),
        organization,
        description: 'sg-compliance: AWS Config organization rules for EC2 security groups',
      });
      orgStacks.push(orgStack);
      if (settings.organizationRemediation && (settings.memberRoleStack || settings.synthAllModes)) {
        const remediation = new SgComplianceMemberRemediationStack(app, stackName(MEMBER_REMEDIATION_STACK_PREFIX, region), {
          rules,
          architecture: settings.architecture,
          logRetention: settings.logRetention,
          logKmsKeyArn: settings.logKmsKeyArn,
          env: env(region),
          description: 'sg-compliance: remediation functions, documents and automation role of one account (organization remediation)',
        });
        orgStack.addStackDependency(remediation, "the conformance pack's remediation configurations name its documents and automation role");
      }
    });
    // The function assumes the member role in every account Config invokes it for, its own account included: this
    // stack deploys the role there (the StackSet excludes that account, see README), unless memberRoleStack=false.
    const memberRole =
      settings.memberRoleStack || settings.synthAllModes
        ? new SgComplianceMemberRoleStack(app, MEMBER_ROLE_STACK_NAME, {
            regions: settings.regions,
            memberRoleName: settings.memberRoleName,
            lambdaAccountId: settings.lambdaAccountId,
            description: 'sg-compliance: role assumed by the sg-compliance function in member accounts (deploy with StackSets)',
          })
        : undefined;
    // The rules invoke the function as soon as they exist: the member role of the function account first.
    for (const orgStack of orgStacks) if (memberRole) orgStack.addStackDependency(memberRole, 'the function assumes the member role in its own account too');
  }

  if (settings.skipBundling) {
    for (const stack of app.node.children.filter((c): c is SgComplianceStack => c instanceof SgComplianceStack)) {
      Annotations.of(stack).addWarningV2(
        'sg-compliance:bundling-skipped',
        'Rust bundling skipped (skipBundling/synthAllModes): placeholder code and an always-false CloudFormation rule; this template cannot be deployed.',
      );
    }
  }
  Tags.of(app).add('project', 'sg-compliance');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/**
 * synthAllModes reuses the single-account rule options for the organization stacks: fixed load-balancer group ids are
 * single-account only, and so is remediation unless organizationRemediation.
 */
function forOrganization(rules: RulesOptions | undefined, keepRemediation: boolean): RulesOptions | undefined {
  const out = keepRemediation ? rules : withoutRemediation(rules);
  if (!out?.webTier) return out;
  return { ...out, webTier: { ...out.webTier, loadBalancerSecurityGroupIds: undefined } };
}

function withoutRemediation(rules?: RulesOptions): RulesOptions | undefined {
  if (!rules) return rules;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rules)) {
    out[k] = v && typeof v === 'object' ? { ...v, remediation: undefined } : v;
  }
  return out as RulesOptions;
}
