import * as path from 'path';
import { Annotations, Aws, CfnCondition, CfnParameter, CfnRule, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { RustFunction } from 'cargo-lambda-cdk';
import { RuleConfigError } from './rules';
import { Construct } from 'constructs';

/** The exact API actions the Rust function calls. The role that makes the calls grants these and nothing else (plus logs). */
export const LAMBDA_API_ACTIONS = [
  'config:PutEvaluations',
  'config:GetResourceConfigHistory',
  'config:GetComplianceDetailsByConfigRule',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeNetworkInterfaces',
  'ec2:GetManagedPrefixListEntries',
  // Effective exposure (a rule with exposureLevels): the network around the groups.
  'ec2:DescribeSubnets',
  'ec2:DescribeRouteTables',
  'ec2:DescribeNetworkAcls',
  // ... and the internet-facing load balancers whose targets use them (internet-via-load-balancer).
  'elasticloadbalancing:DescribeLoadBalancers',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetHealth',
];

/** Reads the results of one rule (the rule the function is invoked for): scoped to the rule ARNs where they are known. */
export const RULE_SCOPED_ACTION = 'config:GetComplianceDetailsByConfigRule';
/** The actions without resource-level permissions: granted on "*". */
export const UNSCOPED_API_ACTIONS = LAMBDA_API_ACTIONS.filter((a) => a !== RULE_SCOPED_ACTION);

/** Logical ID of the CloudFormation rule that makes a stack synthesized without the Rust build undeployable. */
export const NOT_DEPLOYABLE_RULE_ID = 'SynthOnlyNotDeployable';

/** Environment variable read by the Rust function in organization mode. */
export const ASSUME_ROLE_ENV = 'SG_COMPLIANCE_ASSUME_ROLE';

export const BINARY_NAME = 'sg-compliance-lambda';
export const DEFAULT_MANIFEST_PATH = path.join(__dirname, '..', '..', 'Cargo.toml');

export type LambdaArchitecture = 'arm64' | 'x86_64';

export interface SgComplianceFunctionProps {
  /** @default 'arm64' */
  readonly architecture?: LambdaArchitecture;
  /** @default 256 */
  readonly memorySize?: number;
  /** Periodic sweeps evaluate every group of the account. @default 5 minutes */
  readonly timeout?: Duration;
  /** @default ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** KMS key (ARN) encrypting the log group; its key policy must let logs.<region>.amazonaws.com use it. @default none */
  readonly logKmsKeyArn?: string;
  /** @default ../Cargo.toml (the repository root) */
  readonly manifestPath?: string;
  /** Physical role name (organization mode: member roles trust this exact role ARN). */
  readonly roleName?: string;
  /**
   * Organization mode: the member role NAME the function assumes in each account
   * (`SG_COMPLIANCE_ASSUME_ROLE`), granted as `sts:AssumeRole` on `arn:<partition>:iam::*:role/<name>`.
   * The function's own role then gets no other API action: every call goes through the member role.
   */
  readonly assumeRoleName?: string;
  /** Organization mode: `sts:AssumeRole` only on roles of this organization (`aws:ResourceOrgID`). */
  readonly organizationId?: string;
  /**
   * Code of the function instead of the Rust build (e.g. `Code.fromBucket` for the self-contained template).
   * @default the Rust crate built with cargo-lambda (RustFunction)
   */
  readonly code?: lambda.Code;
}

/**
 * The Rust Lambda function (provided.al2023) with its own least-privilege role and log group.
 */
export class SgComplianceFunction extends Construct {
  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: SgComplianceFunctionProps = {}) {
    super(scope, id);
    const architecture = props.architecture ?? 'arm64';
    if (architecture !== 'arm64' && architecture !== 'x86_64') {
      throw new Error(`sg-compliance: architecture must be arm64 or x86_64, got ${JSON.stringify(architecture)}`);
    }
    const memorySize = props.memorySize ?? 256;
    if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10240) {
      throw new Error('sg-compliance: memorySize must be an integer between 128 and 10240 MB');
    }

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: logKey(this, props.logKmsKeyArn),
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Own role instead of the default one: the default attaches AWSLambdaBasicExecutionRole (logs:* on every
    // log group). This one can only write to its log group and call the API actions (single account) or only
    // assume the member role (organization mode).
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'sg-compliance Config rule function',
    });
    this.logGroup.grantWrite(this.role);

    const environment: Record<string, string> = {};
    if (props.assumeRoleName !== undefined) {
      environment[ASSUME_ROLE_ENV] = props.assumeRoleName;
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'AssumeMemberRole',
          actions: ['sts:AssumeRole'],
          // Pseudo parameter (not the stack's resolved partition) so the ARN reads the same in every stack.
          resources: [`arn:${Aws.PARTITION}:iam::*:role/${props.assumeRoleName}`],
          conditions: props.organizationId ? { StringEquals: { 'aws:ResourceOrgID': props.organizationId } } : undefined,
        }),
      );
    } else {
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: 'EvaluateSecurityGroups', actions: UNSCOPED_API_ACTIONS, resources: ['*'] }),
      );
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'config:PutEvaluations, config:GetResourceConfigHistory and the EC2 Describe/Get actions do not support resource-level ' +
          'permissions; the rule evaluates any security group and prefix list (including AWS-owned prefix lists). ' +
          'Exact actions, no wildcards; config:GetComplianceDetailsByConfigRule is granted separately on the rule ARNs.',
      });
    }

    this.function = rustFunction(this, 'Function', {
      architecture,
      memorySize,
      timeout: props.timeout ?? Duration.minutes(5),
      role: this.role,
      logGroup: this.logGroup,
      environment,
      description: 'sg-compliance: AWS Config custom rule for EC2 security groups',
      binaryName: BINARY_NAME,
      code: props.code,
      manifestPath: props.manifestPath,
    });
    // Policies must exist before the function is invoked by Config.
    this.function.node.addDependency(this.role);

    if (props.assumeRoleName !== undefined) {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${props.assumeRoleName}]`,
        reason:
          'Organization mode: the function assumes the sg-compliance member role in whichever member account Config invokes it ' +
          'for; accounts are not known in advance. Only this one role name is allowed, and each member role trusts only this role.',
      });
    }
  }
}

export interface RustFunctionOptions {
  readonly architecture: LambdaArchitecture;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly role: iam.IRole;
  readonly logGroup: logs.ILogGroup;
  readonly environment?: Record<string, string>;
  readonly description: string;
  /** The crate's binary (`[[bin]]` of Cargo.toml) this function runs. */
  readonly binaryName: string;
  /** Code instead of the Rust build (self-contained template). */
  readonly code?: lambda.Code;
  readonly manifestPath?: string;
}

/**
 * A function running one binary of this crate (provided.al2023, JSON logs): built with cargo-lambda (RustFunction),
 * or from `code`, or, when bundling is skipped for the stack, placeholder code plus the always-false rule.
 */
export function rustFunction(scope: Construct, id: string, o: RustFunctionOptions): lambda.Function {
  const stack = Stack.of(scope);
  const lambdaArchitecture = o.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
  const common: lambda.FunctionOptions = {
    architecture: lambdaArchitecture,
    memorySize: o.memorySize,
    timeout: o.timeout,
    role: o.role,
    logGroup: o.logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
    systemLogLevelV2: lambda.SystemLogLevel.WARN,
    environment: o.environment ?? {},
    description: o.description,
  };
  if (o.code !== undefined) {
    const fn = new lambda.Function(scope, id, { ...common, code: o.code, handler: 'bootstrap', runtime: lambda.Runtime.PROVIDED_AL2023 });
    Validations.of(fn.node.defaultChild!).acknowledge({
      id: 'CloudFormation-Validate::W1030',
      reason:
        'Code.S3ObjectVersion is Fn::If [<version>Given, Ref <version>, AWS::NoValue]: the empty default is never used as a version ' +
        '(the validator does not evaluate the condition; cfn-lint does not report it).',
    });
    return fn;
  }
  if (!stack.bundlingRequired) {
    // Bundling skipped for this stack (tests, `npm run synth`, stacks not selected by `cdk deploy`): no cargo, and
    // no asset at all (RustFunction would point the asset at the repository root, which a deploy would upload).
    // The placeholder code plus an always-false CloudFormation rule make the template undeployable.
    const placeholder = s3.Bucket.fromBucketName(scope, `${id}NotDeployableCode`, 'sg-compliance-synth-only');
    Annotations.of(placeholder).acknowledgeWarning('@aws-cdk/aws-lambda:codeFromBucketObjectVersionNotSpecified', 'placeholder code');
    markNotDeployable(stack);
    return new lambda.Function(scope, id, {
      ...common,
      code: lambda.Code.fromBucket(placeholder, 'skip-bundling/not-deployable.zip'),
      handler: 'bootstrap',
      runtime: lambda.Runtime.PROVIDED_AL2023,
    });
  }
  return new RustFunction(scope, id, {
    ...common,
    manifestPath: o.manifestPath ?? DEFAULT_MANIFEST_PATH,
    binaryName: o.binaryName,
    runtime: 'provided.al2023',
    bundling: { architecture: lambdaArchitecture },
  });
}

/**
 * Adds a CloudFormation rule whose assertion is always false: CloudFormation refuses to create or update the stack
 * (at change-set creation, before any resource is touched).
 */
export function markNotDeployable(stack: Stack): void {
  if (stack.node.tryFindChild(NOT_DEPLOYABLE_RULE_ID)) return;
  new CfnRule(stack, NOT_DEPLOYABLE_RULE_ID, {
    assertions: [
      {
        assert: Fn.conditionContains(['deployable'], 'synthesized-without-the-rust-build'),
        assertDescription:
          'sg-compliance: this template was synthesized with skipBundling/synthAllModes (no Lambda package); it is for synth and lint only. Deploy with `make deploy`.',
      },
    ],
  });
}

/**
 * Lambda code from an S3 object given by template parameters: `keyParameter` and an optional object version
 * `<versionParameterId>` (empty = omitted through a condition, so the latest object is used). With a version, uploading a
 * new zip and updating the stack with its version id replaces the code; without one, CloudFormation sees no change.
 */
export function codeFromBucketParameters(
  scope: Construct,
  bucket: s3.IBucket,
  keyParameter: CfnParameter,
  versionParameterId: string,
  what: string,
): lambda.Code {
  const version = new CfnParameter(scope, versionParameterId, {
    type: 'String',
    description: `Optional S3 object version of ${what} (the VersionId of the upload, versioned bucket): set it on each upgrade so that CloudFormation updates the code; empty = the current object, read once at creation`,
    default: '',
  });
  const has = new CfnCondition(scope, `${versionParameterId}Given`, {
    expression: Fn.conditionNot(Fn.conditionEquals(version.valueAsString, '')),
  });
  return lambda.Code.fromBucket(bucket, keyParameter.valueAsString, Fn.conditionIf(has.logicalId, version.valueAsString, Aws.NO_VALUE).toString());
}

/** The log groups' KMS key (an existing key by ARN), or none. */
export function logKey(scope: Construct, arn?: string): kms.IKey | undefined {
  return arn ? kms.Key.fromKeyArn(scope, 'LogKey', arn) : undefined;
}

/** Log retention in days: the values CloudWatch Logs accepts. */
export function logRetentionOf(days: number | undefined): logs.RetentionDays | undefined {
  if (days === undefined) return undefined;
  if (!Object.values(logs.RetentionDays).includes(days as logs.RetentionDays)) {
    throw new RuleConfigError(
      `logRetentionDays must be one of ${Object.values(logs.RetentionDays).filter((v) => typeof v === 'number').join(', ')}, got ${days}`,
    );
  }
  return days as logs.RetentionDays;
}
