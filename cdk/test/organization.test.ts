import { Match, Template } from 'aws-cdk-lib/assertions';
import { SgComplianceMemberRoleStack } from '../lib/member-role-stack';
import { SgComplianceStack } from '../lib/sg-compliance-stack';
import { LB_SG, functionRoleId, logicalId, newApp, roleActions, roleStatements, synthWithNag } from './helpers';

const ORG_ID = 'o-a1b2c3d4e5';
const SIX_ACTIONS = [
  'config:GetComplianceDetailsByConfigRule',
  'config:GetResourceConfigHistory',
  'config:PutEvaluations',
  'ec2:DescribeNetworkAcls',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeRouteTables',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSubnets',
  'ec2:GetManagedPrefixListEntries',
  'elasticloadbalancing:DescribeLoadBalancers',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetHealth',
];
const TRIGGERS = [
  'ConfigurationItemChangeNotification',
  'OversizedConfigurationItemChangeNotification',
  'ScheduledNotification',
];

describe('organization mode', () => {
  let org: Template;
  let member: Template;
  beforeAll(() => {
    const app = newApp();
    const stack = new SgComplianceStack(app, 'Org', {
      env: { account: '999999999999', region: 'eu-west-1' },
      organization: { organizationId: ORG_ID, excludedAccounts: ['222222222222'] },
      rules: { publicEgress: { enabled: true } },
    });
    const memberStack = new SgComplianceMemberRoleStack(app, 'Member', {
      regions: ['eu-west-1', 'us-east-1'],
      lambdaAccountId: '999999999999',
    });
    synthWithNag(app);
    org = Template.fromStack(stack);
    member = Template.fromStack(memberStack);
  });

  test('organization rules with custom rule metadata instead of account rules', () => {
    org.resourceCountIs('AWS::Config::ConfigRule', 0);
    org.resourceCountIs('AWS::Config::OrganizationConfigRule', 4);
    const fnArn = { 'Fn::GetAtt': [logicalId(org, 'AWS::Lambda::Function'), 'Arn'] };
    const expected: Record<string, Record<string, string>> = {
      'web-tier-security-group': { check: 'web-tier', tierTagKey: 'tier', tierTagValue: 'web' }, // discovery: no fixed ids
      'public-ingress-ssh-rdp': { check: 'public-ingress', blockedTcpPorts: '22,3389' },
      'public-ingress': { check: 'public-ingress' },
      'public-egress': { check: 'public-egress' },
    };
    const policyId = logicalId(org, 'AWS::Lambda::ResourcePolicy');
    for (const rule of Object.values(org.findResources('AWS::Config::OrganizationConfigRule'))) {
      const p = rule.Properties;
      const meta = p.OrganizationCustomRuleMetadata;
      expect(meta.LambdaFunctionArn).toEqual(fnArn);
      expect(meta.OrganizationConfigRuleTriggerTypes).toEqual(TRIGGERS);
      expect(meta.MaximumExecutionFrequency).toBe('TwentyFour_Hours');
      expect(meta.ResourceTypesScope).toEqual(['AWS::EC2::SecurityGroup']);
      expect(typeof meta.InputParameters).toBe('string'); // JSON string, not an object
      expect(JSON.parse(meta.InputParameters)).toEqual(expected[p.OrganizationConfigRuleName]);
      expect(p.ExcludedAccounts).toEqual(['222222222222']);
      expect(rule.DependsOn).toEqual([policyId]);
    }
  });

  test('resource policy lets Config of the organization invoke the function (aws:SourceOrgID), no Lambda::Permission', () => {
    org.resourceCountIs('AWS::Lambda::Permission', 0); // must not be mixed with AWS::Lambda::ResourcePolicy
    const fnArn = { 'Fn::GetAtt': [logicalId(org, 'AWS::Lambda::Function'), 'Arn'] };
    org.hasResourceProperties('AWS::Lambda::ResourcePolicy', {
      ResourceArn: fnArn,
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'ConfigRulesOfOrganization',
            Effect: 'Allow',
            Principal: { Service: 'config.amazonaws.com' },
            Action: 'lambda:InvokeFunction',
            Resource: fnArn,
            Condition: { StringEquals: { 'aws:SourceOrgID': ORG_ID } },
          },
        ],
      },
    });
  });

  test('function role: only sts:AssumeRole on the member role of this organization (plus its log group)', () => {
    org.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { SG_COMPLIANCE_ASSUME_ROLE: 'sg-compliance-member' } },
    });
    const roleId = functionRoleId(org);
    org.hasResourceProperties('AWS::IAM::Role', { RoleName: 'sg-compliance-lambda-eu-west-1' });
    expect(roleActions(org, roleId)).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 'sts:AssumeRole']);
    const assume = roleStatements(org, roleId).find((s) => s.Action === 'sts:AssumeRole')!;
    expect(assume.Resource).toEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::*:role/sg-compliance-member']] });
    expect(assume.Condition).toEqual({ StringEquals: { 'aws:ResourceOrgID': ORG_ID } });
  });

  test('organization aggregator with its AWSConfigRoleForOrganizations role', () => {
    org.resourceCountIs('AWS::Config::ConfigurationAggregator', 1);
    const roleId = logicalId(org, 'AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'config.amazonaws.com' } })] }),
    });
    org.hasResourceProperties('AWS::Config::ConfigurationAggregator', {
      ConfigurationAggregatorName: 'sg-compliance-organization',
      OrganizationAggregationSource: { RoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] }, AllAwsRegions: true },
    });
    const role = org.findResources('AWS::IAM::Role')[roleId].Properties;
    expect(role.AssumeRolePolicyDocument.Statement[0].Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: {
        'aws:SourceArn': {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':config:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':config-aggregator/*']],
        },
      },
    });
    expect(role.ManagedPolicyArns).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSConfigRoleForOrganizations']] },
    ]);
  });

  test('no remediation resources in organization mode', () => {
    org.resourceCountIs('AWS::Config::RemediationConfiguration', 0);
    org.resourceCountIs('AWS::SSM::Document', 0);
  });

  test('member role stack: sg-compliance-member with exactly the six actions, trusting the function roles', () => {
    member.resourceCountIs('AWS::IAM::Role', 1);
    const roleId = logicalId(member, 'AWS::IAM::Role');
    expect(roleActions(member, roleId)).toEqual(SIX_ACTIONS);
    // config:GetComplianceDetailsByConfigRule only on the Config rules of the member account in the function's regions
    // (rule ARNs carry rule IDs, not names); everything else on "*" (no resource-level permissions).
    const statements = roleStatements(member, roleId);
    expect(statements.map((s) => s.Sid)).toEqual(['EvaluateSecurityGroups', 'ReadRuleResults']);
    const [unscoped, scoped] = statements;
    expect(unscoped.Resource).toBe('*');
    expect([unscoped.Action].flat()).not.toContain('config:GetComplianceDetailsByConfigRule');
    expect(scoped.Action).toBe('config:GetComplianceDetailsByConfigRule');
    expect(scoped.Resource).toEqual(
      ['eu-west-1', 'us-east-1'].map((region) => ({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:config:${region}:`, { Ref: 'AWS::AccountId' }, ':config-rule/*']],
      })),
    );
    const role = member.findResources('AWS::IAM::Role')[roleId].Properties;
    expect(role.RoleName).toBe('sg-compliance-member');
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'LambdaAccountId' }, ':root']] } },
        Condition: {
          ArnEquals: {
            'aws:PrincipalArn': [
              { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${LambdaAccountId}:role/sg-compliance-lambda-eu-west-1' },
              { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${LambdaAccountId}:role/sg-compliance-lambda-us-east-1' },
            ],
          },
        },
      },
    ]);
  });

  test('member role template is StackSets-ready: one parameter, no bootstrap check, no assets', () => {
    const t = member.toJSON();
    expect(Object.keys(t.Parameters)).toEqual(['LambdaAccountId']);
    expect(t.Parameters.LambdaAccountId).toMatchObject({ Type: 'String', Default: '999999999999', AllowedPattern: '^\\d{12}$' });
    expect(t.Rules).toBeUndefined();
    expect(Object.values(t.Resources).map((r) => (r as { Type: string }).Type)).toEqual(['AWS::IAM::Role']);
  });

  test('invokePermission=accounts: the resource policy with aws:SourceAccount = the accounts, no Lambda::Permission; custom member role name flows through', () => {
    const app = newApp();
    const stack = new SgComplianceStack(app, 'OrgAccounts', {
      env: { region: 'us-east-1' },
      organization: {
        organizationId: ORG_ID,
        invokePermission: 'accounts',
        memberAccountIds: ['333333333333', '444444444444', '333333333333'],
        memberRoleName: 'secops-sg',
        aggregator: false,
      },
    });
    const memberStack = new SgComplianceMemberRoleStack(app, 'M', { regions: ['us-east-1'], memberRoleName: 'secops-sg' });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::Config::ConfigurationAggregator', 0);
    // One mechanism per region: switching sourceOrgId <-> accounts only updates this one resource.
    t.resourceCountIs('AWS::Lambda::Permission', 0);
    const policyId = logicalId(t, 'AWS::Lambda::ResourcePolicy');
    const fnArn = { 'Fn::GetAtt': [logicalId(t, 'AWS::Lambda::Function'), 'Arn'] };
    t.hasResourceProperties('AWS::Lambda::ResourcePolicy', {
      ResourceArn: fnArn,
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'ConfigRulesOfMemberAccounts',
            Effect: 'Allow',
            Principal: { Service: 'config.amazonaws.com' },
            Action: 'lambda:InvokeFunction',
            Resource: fnArn,
            Condition: { StringEquals: { 'aws:SourceAccount': ['333333333333', '444444444444'] } },
          },
        ],
      },
    });
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { SG_COMPLIANCE_ASSUME_ROLE: 'secops-sg' } } });
    for (const rule of Object.values(t.findResources('AWS::Config::OrganizationConfigRule'))) expect(rule.DependsOn).toEqual([policyId]);
    const member = Template.fromStack(memberStack);
    member.hasResourceProperties('AWS::IAM::Role', { RoleName: 'secops-sg' });
    expect(member.toJSON().Parameters.LambdaAccountId.Default).toBeUndefined();
  });

  test.each(['sourceOrgId', 'accounts'] as const)(
    'invokePermission=%s in me-central-1 (no AWS::Lambda::ResourcePolicy): one Lambda::Permission per account, nothing else',
    (invokePermission) => {
      const t = Template.fromStack(
        new SgComplianceStack(newApp(), 'NoPolicyRegion', {
          env: { region: 'me-central-1' },
          organization: { organizationId: ORG_ID, invokePermission, memberAccountIds: ['333333333333', '444444444444'], aggregator: false },
        }),
      );
      t.resourceCountIs('AWS::Lambda::ResourcePolicy', 0);
      const permissions = Object.entries(t.findResources('AWS::Lambda::Permission'));
      expect(permissions.map(([, p]) => p.Properties.SourceAccount)).toEqual(['333333333333', '444444444444']);
      for (const [, p] of permissions) expect(p.Properties).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'config.amazonaws.com' });
      for (const rule of Object.values(t.findResources('AWS::Config::OrganizationConfigRule'))) {
        expect(rule.DependsOn).toEqual(permissions.map(([id]) => id));
      }
    },
  );

  test.each(['cn-north-1', 'cn-northwest-1', 'me-central-1', 'us-gov-east-1', 'us-gov-west-1'])(
    'sourceOrgId in %s (no AWS::Lambda::ResourcePolicy) without memberAccountIds fails naming region and type',
    (region) => {
      const org = { organizationId: ORG_ID, aggregator: false };
      expect(() => new SgComplianceStack(newApp(), 'NoPolicy', { env: { region }, organization: org })).toThrow(
        new RegExp(`AWS::Lambda::ResourcePolicy, which does not exist in ${region}`),
      );
    },
  );

  test('sourceOrgId in me-central-1 with memberAccountIds falls back to one Lambda::Permission per account', () => {
    const app = newApp();
    const stack = new SgComplianceStack(app, 'Fallback', {
      env: { region: 'me-central-1' },
      organization: { organizationId: ORG_ID, aggregator: false, memberAccountIds: ['333333333333'] },
    });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::Lambda::ResourcePolicy', 0);
    t.hasResourceProperties('AWS::Lambda::Permission', { Principal: 'config.amazonaws.com', SourceAccount: '333333333333' });
  });

  test('sourceOrgId ignores memberAccountIds where AWS::Lambda::ResourcePolicy exists', () => {
    const t = Template.fromStack(
      new SgComplianceStack(newApp(), 'OrgPolicy', {
        env: { region: 'eu-west-1' },
        organization: { organizationId: ORG_ID, memberAccountIds: ['333333333333'], aggregator: false },
      }),
    );
    t.resourceCountIs('AWS::Lambda::Permission', 0);
    t.resourceCountIs('AWS::Lambda::ResourcePolicy', 1);
  });

  test.each([
    [
      'remediation without organizationRemediation',
      { organizationId: ORG_ID },
      { publicIngressSshRdp: { remediation: { enabled: true } } },
      /remediation in organization mode needs organizationRemediation=true.*or disable it for publicIngressSshRdp/,
    ],
    ['bad organization id', { organizationId: 'org-1' }, {}, /organizationId/],
    ['bad member role name', { organizationId: ORG_ID, memberRoleName: 'a role' }, {}, /memberRoleName/],
    ['bad excluded account', { organizationId: ORG_ID, excludedAccounts: ['123'] }, {}, /12-digit/],
    ['accounts mode without accounts', { organizationId: ORG_ID, invokePermission: 'accounts' }, {}, /needs memberAccountIds/],
    ['unknown invoke permission', { organizationId: ORG_ID, invokePermission: 'org' }, {}, /invokePermission must be one of/],
    [
      'fixed load balancer group ids (list)',
      { organizationId: ORG_ID },
      { webTier: { loadBalancerSecurityGroupIds: [LB_SG] } },
      /organization mode: webTier.loadBalancerSecurityGroupIds cannot be set/,
    ],
    [
      'fixed load balancer group ids (per region)',
      { organizationId: ORG_ID },
      { webTier: { loadBalancerSecurityGroupIds: { 'eu-west-1': [LB_SG] } } },
      /rely|discovers the load balancer groups/,
    ],
  ])('rejects %s', (_name, organization, rules, message) => {
    const app = newApp();
    expect(() => new SgComplianceStack(app, 'Bad', { env: { region: 'eu-west-1' }, organization: organization as never, rules })).toThrow(message);
  });

  test('organization mode needs a concrete region', () => {
    expect(() => new SgComplianceStack(newApp(), 'NoRegion', { organization: { organizationId: ORG_ID } })).toThrow(/concrete region/);
  });
});
