import { Aws, CfnParameter, DefaultStackSynthesizer, Stack, StackProps, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  MEMBER_AUTOMATION_ROLE_PREFIX,
  SgComplianceRemediation,
  createAutomationRole,
  remediationDocumentName,
} from './remediation';
import { DEFAULT_EXECUTION_FREQUENCY, RuleConfigError, RuleDefinition, RulesOptions, resolveRules, rulesForRegion } from './rules';
import { LambdaArchitecture, codeFromBucketParameters } from './sg-compliance-function';
import { DEFAULT_REMEDIATION_CODE_S3_KEY } from './sg-compliance-stack';

export interface SgComplianceMemberRemediationStackProps extends Omit<StackProps, 'synthesizer'> {
  /** The rule options of the organization stacks: every rule with remediation enabled gets its function and document. */
  readonly rules?: RulesOptions;
  /** @default 'arm64' */
  readonly architecture?: LambdaArchitecture;
  readonly logRetention?: logs.RetentionDays;
  readonly logKmsKeyArn?: string;
  readonly manifestPath?: string;
  /**
   * StackSet template: the remediation code from the `RemediationCodeS3Bucket`/`RemediationCodeS3Key` parameters, no
   * CDK bootstrap or assets. @default false (the Rust build, as a CDK stack of the function account)
   */
  readonly codeFromParameters?: boolean;
}

/**
 * Organization remediation, the part each member account needs in each region (deployed with a StackSet, and by the app
 * into the function account): per remediated rule the remediation function (`sg-compliance-remediate`, writes only in
 * this account) and its Automation document under a fixed name (`sg-compliance-remediate-<rule name>`), plus the
 * automation role `sg-compliance-remediation-automation-<region>`. The organization conformance pack's remediation
 * configurations refer to the document and the role by those names. Nothing here is reachable from another account.
 */
export class SgComplianceMemberRemediationStack extends Stack {
  public readonly rules: RuleDefinition[];
  public readonly remediations: Record<string, SgComplianceRemediation> = {};
  public readonly automationRole: iam.Role;

  constructor(scope: Construct, id: string, props: SgComplianceMemberRemediationStackProps) {
    super(scope, id, {
      ...props,
      // StackSet targets are not CDK-bootstrapped: no BootstrapVersion parameter/rule in the template.
      synthesizer: props.codeFromParameters ? new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }) : undefined,
      analyticsReporting: props.codeFromParameters ? false : undefined,
    });
    const region = this.resolvedRegion();
    this.rules = resolveRules(rulesForRegion(props.rules, region), DEFAULT_EXECUTION_FREQUENCY).filter((r) => r.remediation !== undefined);
    if (this.rules.length === 0) {
      throw new RuleConfigError('organization remediation needs at least one rule with "remediation": {"enabled": true}');
    }

    let code: lambda.Code | undefined;
    if (props.codeFromParameters) {
      const bucket = new CfnParameter(this, 'RemediationCodeS3Bucket', {
        type: 'String',
        description:
          'S3 bucket in this region holding the remediation zip (dist/sg-compliance-remediate/bootstrap.zip), readable by the accounts of the organization',
        minLength: 3,
      });
      const key = new CfnParameter(this, 'RemediationCodeS3Key', {
        type: 'String',
        description: 'Key of the remediation zip in RemediationCodeS3Bucket',
        default: DEFAULT_REMEDIATION_CODE_S3_KEY,
        minLength: 1,
      });
      code = codeFromBucketParameters(
        this,
        s3.Bucket.fromBucketName(this, 'CodeBucket', bucket.valueAsString),
        key,
        'RemediationCodeS3ObjectVersion',
        'the remediation zip (RemediationCodeS3Key)',
      );
    }
    for (const rule of this.rules) {
      this.remediations[rule.key] = new SgComplianceRemediation(this, `${rule.key.charAt(0).toUpperCase()}${rule.key.slice(1)}Remediator`, {
        rule,
        architecture: props.architecture,
        logRetention: props.logRetention,
        logKmsKeyArn: props.logKmsKeyArn,
        manifestPath: props.manifestPath,
        code,
        documentName: remediationDocumentName(rule),
      });
    }
    this.automationRole = createAutomationRole(
      this,
      'RemediationAutomationRole',
      Object.values(this.remediations).map((r) => r.function),
      `${MEMBER_AUTOMATION_ROLE_PREFIX}-${Aws.REGION}`,
    );
  }

  private resolvedRegion(): string | undefined {
    return Token.isUnresolved(this.region) ? undefined : this.region;
  }
}
