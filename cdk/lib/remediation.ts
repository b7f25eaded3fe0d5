/**
 * Config auto-remediation: per remediated rule, a remediation function (the crate's `sg-compliance-remediate`
 * binary, same engine as the rule) with its own role and log group, and an SSM Automation document whose single step
 * (aws:executeScript) invokes it and fails on a function error. The function computes the fix for the group, applies it (EC2 `DryRun` while DryRun is true), re-reads
 * the group and fails when the group is still non-compliant or no safe fix exists; it logs the outcome.
 *
 * One function per rule: the web tier's role is conditioned on the tier tag, which a function shared with a rule that
 * may fix any group could not be.
 */
import { Aws, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { RuleDefinition } from './rules';
import { LambdaArchitecture, logKey, rustFunction } from './sg-compliance-function';

export const REMEDIATION_BINARY_NAME = 'sg-compliance-remediate';

/**
 * Read actions of the remediation function, granted on "*": the Describe actions have no resource-level permissions;
 * GetManagedPrefixListEntries resolves the prefix lists a group references exactly as the rule function does (the
 * engine gathers the same facts; AWS-managed lists belong to AWS's account), so the plan and the re-evaluation
 * after applying it see what the rule saw.
 */
export const REMEDIATION_READ_ACTIONS = [
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSecurityGroupRules',
  'ec2:DescribeSecurityGroups',
  'ec2:GetManagedPrefixListEntries',
];
/**
 * Write actions of the remediation function, on security groups of the account and region only. A plan that would
 * exceed the rules-per-group quota reshapes a rule in place (ModifySecurityGroupRules, its id found with the read
 * action DescribeSecurityGroupRules).
 */
export const REMEDIATION_WRITE_ACTIONS = [
  'ec2:AuthorizeSecurityGroupEgress',
  'ec2:AuthorizeSecurityGroupIngress',
  'ec2:ModifySecurityGroupRules',
  'ec2:RevokeSecurityGroupEgress',
  'ec2:RevokeSecurityGroupIngress',
];

/** Name of the document's only step; its output `<step>.Payload` is the function's result. */
export const REMEDIATION_STEP_NAME = 'RemediateSecurityGroup';

/** aws:executeScript runtime of the step (the Python runtime SSM recommends since 3.6-3.8 were retired). */
export const REMEDIATION_SCRIPT_RUNTIME = 'python3.11';

/**
 * The step's script: invokes the remediation function synchronously with boto3 (one attempt, a read timeout above the
 * function's 2-minute timeout) and raises when the response carries `FunctionError` (`Handled`/`Unhandled`), so a
 * refused or failed fix fails the step and the execution. (Whether aws:invokeLambdaFunction fails its step on a
 * function error is not documented; this does not depend on it.)
 */
export const REMEDIATION_SCRIPT = [
  'import json',
  '',
  'import boto3',
  'from botocore.config import Config',
  '',
  '',
  'def handler(event, context):',
  '    client = boto3.client("lambda", config=Config(connect_timeout=10, read_timeout=150, retries={"total_max_attempts": 1}))',
  '    request = {"groupId": event["GroupId"], "ruleParameters": event["RuleParameters"], "dryRun": event["DryRun"]}',
  '    response = client.invoke(FunctionName=event["FunctionName"], InvocationType="RequestResponse", Payload=json.dumps(request).encode("utf-8"))',
  '    payload = response["Payload"].read().decode("utf-8")',
  '    if response.get("FunctionError"):',
  '        raise RuntimeError("sg-compliance remediation failed (" + response["FunctionError"] + "): " + payload)',
  '    return {"Payload": payload}',
  '',
].join('\n');

const GROUP_ID_PATTERN = '^sg-[0-9a-f]{8,17}$';
const ROLE_ARN_PATTERN = '^arn:aws[a-z0-9-]*:iam::\\d{12}:role/[\\w+=,.@/-]+$';

/**
 * The Automation document (schemaVersion 0.3) for one rule: one aws:executeScript step that invokes `functionArn` and
 * fails when the function returns an error.
 */
export function remediationDocumentContent(rule: RuleDefinition, functionArn: string): Record<string, unknown> {
  return {
    schemaVersion: '0.3',
    description: [
      `# sg-compliance: fix a security group flagged by the ${rule.check} rule ${rule.ruleName}`,
      '',
      'Invokes the sg-compliance remediation function: it computes the exact fix with the same engine as the rule',
      '(authorizations before revocations; only wide public sources on offending ports are revoked, everything else stays),',
      'applies it, re-reads the group and fails if the group is still non-compliant or no safe fix exists (the error says why).',
      'A function error fails this step and the execution.',
      '',
      '`DryRun` defaults to `true`: EC2 calls are made with DryRun (permissions are checked, nothing changes) and the plan is logged.',
    ].join('\n'),
    assumeRole: '{{ AutomationAssumeRole }}',
    parameters: {
      GroupId: {
        type: 'String',
        description: '(Required) The security group to fix.',
        allowedPattern: GROUP_ID_PATTERN,
      },
      RuleParameters: {
        type: 'String',
        description: "(Optional) The rule's input parameters as a JSON object (including `check`).",
        default: JSON.stringify(rule.inputParameters),
      },
      DryRun: {
        type: 'Boolean',
        description: '(Optional) Call EC2 with DryRun: report the plan and check permissions, change nothing.',
        default: true,
      },
      AutomationAssumeRole: {
        type: 'String',
        description: '(Required) ARN of the role Automation assumes to invoke the remediation function.',
        allowedPattern: ROLE_ARN_PATTERN,
      },
    },
    mainSteps: [
      {
        name: REMEDIATION_STEP_NAME,
        action: 'aws:executeScript',
        description: 'Compute, apply and verify the fix; fails when the function returns an error (FunctionError).',
        timeoutSeconds: 300,
        maxAttempts: 1, // Config retries (MaximumAutomaticAttempts): no retries within one execution
        onFailure: 'Abort',
        isEnd: true,
        inputs: {
          Runtime: REMEDIATION_SCRIPT_RUNTIME,
          Handler: 'handler',
          Script: REMEDIATION_SCRIPT,
          InputPayload: {
            FunctionName: functionArn,
            GroupId: '{{ GroupId }}',
            RuleParameters: '{{ RuleParameters }}',
            DryRun: '{{ DryRun }}',
          },
        },
        outputs: [{ Name: 'Payload', Selector: '$.Payload.Payload', Type: 'String' }],
      },
    ],
    outputs: [`${REMEDIATION_STEP_NAME}.Payload`],
  };
}

export interface SgComplianceRemediationProps {
  readonly rule: RuleDefinition;
  /** @default 'arm64' */
  readonly architecture?: LambdaArchitecture;
  /** @default ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** KMS key (ARN) encrypting the log group. @default none */
  readonly logKmsKeyArn?: string;
  readonly manifestPath?: string;
  /** Code instead of the Rust build (self-contained template). */
  readonly code?: lambda.Code;
  /**
   * Fixed document name (organization remediation: the conformance pack's remediation configurations name the document
   * of each member account). @default generated by CloudFormation
   */
  readonly documentName?: string;
}

/** Fixed name of a rule's document in member accounts (organization remediation). */
export function remediationDocumentName(rule: RuleDefinition): string {
  return `sg-compliance-remediate-${rule.ruleName}`;
}

/** Name prefix of the automation role in member accounts (organization remediation): `<prefix>-<region>`. */
export const MEMBER_AUTOMATION_ROLE_PREFIX = 'sg-compliance-remediation-automation';

/**
 * The automation role: assumed by SSM Automation of this account only (confused-deputy protection), may only invoke the
 * given remediation functions (exact ARNs, not fn.grantInvoke's `<arn>:*` versions and aliases: the documents invoke the
 * unqualified ARN).
 */
export function createAutomationRole(scope: Construct, id: string, functions: lambda.IFunction[], roleName?: string): iam.Role {
  const role = new iam.Role(scope, id, {
    roleName,
    description: 'Assumed by SSM Automation to run the sg-compliance remediation functions',
    assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com').withConditions({
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:ssm:${Aws.REGION}:${Aws.ACCOUNT_ID}:automation-execution/*` },
    }),
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'InvokeRemediationFunctions',
      actions: ['lambda:InvokeFunction'],
      resources: functions.map((f) => f.functionArn),
    }),
  );
  return role;
}

/** The remediation function (own role and log group) and the Automation document of one rule. */
export class SgComplianceRemediation extends Construct {
  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  public readonly document: ssm.CfnDocument;
  /** Document name (Ref; generated by CloudFormation, so that content updates replace it cleanly, unless `documentName`). */
  public readonly documentName: string;

  constructor(scope: Construct, id: string, props: SgComplianceRemediationProps) {
    super(scope, id);
    const rule = props.rule;
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: logKey(this, props.logKmsKeyArn),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `sg-compliance remediation function (${rule.ruleName})`,
    });
    this.logGroup.grantWrite(this.role);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ReadSecurityGroups', actions: REMEDIATION_READ_ACTIONS, resources: ['*'] }),
    );
    // Pseudo parameters keep the ARN (and its cdk-nag acknowledgment) identical in every stack.
    const securityGroups = `arn:${Aws.PARTITION}:ec2:${Aws.REGION}:${Aws.ACCOUNT_ID}:security-group/*`;
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'FixSecurityGroups',
        actions: REMEDIATION_WRITE_ACTIONS,
        resources: [securityGroups],
        conditions: tierTagCondition(rule),
      }),
    );
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ec2:DescribeSecurityGroups and ec2:DescribeNetworkInterfaces do not support resource-level permissions; ec2:GetManagedPrefixListEntries ' +
        'reads any prefix list a group references (AWS-managed lists included), as the rule function does. Read-only, the only actions on "*".',
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:security-group/*]',
      reason:
        'Remediation fixes whichever security group Config found non-compliant; groups are not known at deploy time. Scoped to security ' +
        'groups of this account and region (web tier: only groups carrying the tier tag), exact Authorize/Revoke actions.',
    });

    this.function = rustFunction(this, 'Function', {
      architecture: props.architecture ?? 'arm64',
      memorySize: 256,
      timeout: Duration.minutes(2),
      role: this.role,
      logGroup: this.logGroup,
      description: `sg-compliance: remediation of ${rule.ruleName} (SSM Automation)`,
      binaryName: REMEDIATION_BINARY_NAME,
      code: props.code,
      manifestPath: props.manifestPath,
    });
    this.function.node.addDependency(this.role);

    this.document = new ssm.CfnDocument(this, 'Document', {
      name: props.documentName,
      documentType: 'Automation',
      documentFormat: 'JSON',
      content: remediationDocumentContent(rule, this.function.functionArn),
    });
    this.documentName = this.document.ref;
  }
}

/** Web tier: writes only on groups carrying the tier tag (the same tag the rule selects web-tier groups by). */
export function tierTagCondition(rule: RuleDefinition): Record<string, Record<string, string>> | undefined {
  if (rule.check !== 'web-tier') return undefined;
  const { tierTagKey, tierTagValue } = rule.inputParameters;
  if (tierTagKey === undefined || tierTagValue === undefined) {
    throw new Error(`sg-compliance: ${rule.ruleName}: web-tier rule without tierTagKey/tierTagValue`);
  }
  return { StringEquals: { [`ec2:ResourceTag/${tierTagKey}`]: tierTagValue } };
}
