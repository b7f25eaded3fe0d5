import { Aws, CfnParameter, DefaultStackSynthesizer, Fn, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { RULE_SCOPED_ACTION, UNSCOPED_API_ACTIONS } from './sg-compliance-function';
import { DEFAULT_MEMBER_ROLE_NAME, lambdaRoleName } from './sg-compliance-stack';
import { RuleConfigError } from './rules';

export interface SgComplianceMemberRoleStackProps extends Omit<StackProps, 'synthesizer'> {
  /** Regions where the sg-compliance function runs (one function role per region). */
  readonly regions: string[];
  /** Name of the member role; must match the organization stacks' `memberRoleName`. @default 'sg-compliance-member' */
  readonly memberRoleName?: string;
  /**
   * Default of the `LambdaAccountId` parameter: the account that runs the function (management or
   * Config delegated-administrator account). Without it the parameter must be given at deploy time.
   */
  readonly lambdaAccountId?: string;
}

/**
 * The role the sg-compliance function assumes in each member account, with exactly the six API actions
 * the function calls (config:GetComplianceDetailsByConfigRule on the account's Config rules in the function's regions). The template is self-contained (no assets, no bootstrap version check, one
 * `LambdaAccountId` parameter) so it can be deployed with CloudFormation StackSets to every member
 * account. IAM is global: deploy it to ONE region per account.
 */
export class SgComplianceMemberRoleStack extends Stack {
  public readonly role: iam.Role;
  public readonly lambdaAccountId: CfnParameter;

  constructor(scope: Construct, id: string, props: SgComplianceMemberRoleStackProps) {
    super(scope, id, {
      ...props,
      // StackSet targets are not CDK-bootstrapped: no BootstrapVersion parameter/rule in the template.
      synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
      analyticsReporting: false,
    });
    if (props.regions.length === 0) {
      throw new RuleConfigError('the member role stack needs the list of regions the function runs in');
    }
    if (props.lambdaAccountId !== undefined && !/^\d{12}$/.test(props.lambdaAccountId)) {
      throw new RuleConfigError(`lambdaAccountId must be a 12-digit account ID, got ${JSON.stringify(props.lambdaAccountId)}`);
    }
    const memberRoleName = props.memberRoleName ?? DEFAULT_MEMBER_ROLE_NAME;

    this.lambdaAccountId = new CfnParameter(this, 'LambdaAccountId', {
      type: 'String',
      description: 'Account that runs the sg-compliance function (management or Config delegated administrator)',
      allowedPattern: '^\\d{12}$',
      constraintDescription: 'a 12-digit AWS account ID',
      default: props.lambdaAccountId,
    });
    const account = this.lambdaAccountId.valueAsString;
    const functionRoleArns = [...new Set(props.regions)].map((region) =>
      Fn.sub('arn:${AWS::Partition}:iam::${LambdaAccountId}:role/' + lambdaRoleName(region)),
    );

    this.role = new iam.Role(this, 'MemberRole', {
      roleName: memberRoleName,
      description: 'Assumed by the sg-compliance Config rule function to evaluate this account',
      // Trust the function's account, and within it only the function roles (aws:PrincipalArn is the role ARN
      // for assumed-role sessions). A condition instead of role-ARN principals keeps the trust valid when the
      // function stack is deployed after this one or its role is recreated.
      assumedBy: new iam.AccountPrincipal(account).withConditions({
        ArnEquals: { 'aws:PrincipalArn': functionRoleArns },
      }),
      inlinePolicies: {
        EvaluateSecurityGroups: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({ sid: 'EvaluateSecurityGroups', actions: UNSCOPED_API_ACTIONS, resources: ['*'] }),
            // Config rule ARNs carry the rule ID (config-rule/config-rule-a1b2c3), not the name (OrgConfigRule-<name>-<suffix>
            // for organization rules, <name>-conformance-pack-<suffix> for conformance packs): a name pattern cannot match
            // them. The rules of this account in the function's regions.
            new iam.PolicyStatement({
              sid: 'ReadRuleResults',
              actions: [RULE_SCOPED_ACTION],
              resources: memberRuleArns(props.regions),
            }),
          ],
        }),
      },
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'The read/evaluate actions the function calls; config:PutEvaluations, config:GetResourceConfigHistory and the EC2 ' +
        'Describe actions do not support resource-level permissions, and any group or prefix list of the account is evaluated.',
    });
    for (const region of new Set(props.regions)) {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:config:${region}:<AWS::AccountId>:config-rule/*]`,
        reason:
          'config:GetComplianceDetailsByConfigRule (read-only) on the Config rules of this account in the regions the function runs in: rule ARNs ' +
          'hold generated rule IDs, not names, so the organization and conformance-pack rules cannot be named in advance.',
      });
    }
  }
}

/** The Config rules of the account (the stack's) in each region, for config:GetComplianceDetailsByConfigRule. */
export function memberRuleArns(regions: string[]): string[] {
  return [...new Set(regions)].map((region) => `arn:${Aws.PARTITION}:config:${region}:${Aws.ACCOUNT_ID}:config-rule/*`);
}
