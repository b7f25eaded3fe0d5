import * as path from 'path';
import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';

// cargo-lambda-cdk's internal Bundling class: its constructor runs `cargo lambda --version` even when bundling
// is skipped. Pre-seeding its static cache in that case keeps tests and `npm run synth` from starting cargo.
const { Bundling } = require('cargo-lambda-cdk/lib/bundling') as { Bundling: { runsLocally?: boolean } };

/** The exact API actions the Rust function calls. Its role grants these and nothing else (plus logs). */
export const LAMBDA_API_ACTIONS = [
  'config:PutEvaluations',
  'config:GetResourceConfigHistory',
  'config:GetComplianceDetailsByConfigRule',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeNetworkInterfaces',
  'ec2:GetManagedPrefixListEntries',
];

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
  /** @default ../Cargo.toml (the repository root) */
  readonly manifestPath?: string;
  /** Physical role name (organization mode: member roles trust this exact role ARN). */
  readonly roleName?: string;
  /**
   * Organization mode: the member role NAME the function assumes in each account
   * (`SG_COMPLIANCE_ASSUME_ROLE`), granted as `sts:AssumeRole` on `arn:<partition>:iam::*:role/<name>`.
   */
  readonly assumeRoleName?: string;
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
    const stack = Stack.of(this);
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
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Own role instead of the default one: the default attaches AWSLambdaBasicExecutionRole (logs:* on every
    // log group). This one can only write to its log group and call the six API actions.
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'sg-compliance Config rule function',
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EvaluateSecurityGroups',
        actions: LAMBDA_API_ACTIONS,
        resources: ['*'],
      }),
    );
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
        }),
      );
    }

    const lambdaArchitecture = architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
    const bundlingSkipped = !stack.bundlingRequired;
    const previous = Bundling.runsLocally;
    if (bundlingSkipped && previous === undefined) {
      // Bundling is skipped for this stack (tests, `npm run synth`): no need to probe for cargo-lambda.
      Bundling.runsLocally = true;
    }
    try {
      this.function = new RustFunction(this, 'Function', {
        manifestPath: props.manifestPath ?? DEFAULT_MANIFEST_PATH,
        binaryName: BINARY_NAME,
        runtime: 'provided.al2023',
        architecture: lambdaArchitecture,
        bundling: { architecture: lambdaArchitecture },
        memorySize,
        timeout: props.timeout ?? Duration.minutes(5),
        role: this.role,
        logGroup: this.logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
        systemLogLevelV2: lambda.SystemLogLevel.WARN,
        environment,
        description: 'sg-compliance: AWS Config custom rule for EC2 security groups',
      });
    } finally {
      if (bundlingSkipped && previous === undefined) Bundling.runsLocally = undefined;
    }
    // Policies must exist before the function is invoked by Config.
    this.function.node.addDependency(this.role);

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'config:PutEvaluations, config:GetResourceConfigHistory, ec2:DescribeSecurityGroups and ec2:DescribeNetworkInterfaces ' +
        'do not support resource-level permissions; the rule evaluates any security group and prefix list (including AWS-owned ' +
        'prefix lists) and reads results of any rule of the account. Actions are the exact six the function calls, no wildcards.',
    });
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
