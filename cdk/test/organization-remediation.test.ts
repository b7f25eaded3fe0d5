/**
 * Organization remediation (context organizationRemediation=true): the remediated rules and their remediation
 * configurations in an organization conformance pack; each member account's remediation functions, documents and
 * automation role from the member remediation stack (StackSet template, and a CDK stack in the function account).
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { MEMBER_REMEDIATION_STACK_PREFIX, MEMBER_ROLE_STACK_NAME, buildApp, readSettings } from '../lib/app';
import { FUNCTION_ARN_PARAMETER } from '../lib/conformance-pack';
import { SgComplianceMemberRemediationStack } from '../lib/member-remediation-stack';
import { REMEDIATION_READ_ACTIONS, REMEDIATION_WRITE_ACTIONS } from '../lib/remediation';
import { ORGANIZATION_CONFORMANCE_PACK_NAME, SgComplianceStack } from '../lib/sg-compliance-stack';
import { logicalId, newApp, roleActions, roleStatements, synthWithNag } from './helpers';

const ORG_ID = 'o-a1b2c3d4e5';
const RULES = {
  publicIngressSshRdp: { remediation: { enabled: true } },
  publicEgress: { enabled: true, remediation: { enabled: true, dryRun: false } },
};
const MAX_TEMPLATE_BODY = 51200;

describe('organization stack with organizationRemediation', () => {
  let t: Template;
  let pack: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  let body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  beforeAll(() => {
    const app = newApp();
    const stack = new SgComplianceStack(app, 'OrgRemediation', {
      env: { account: '999999999999', region: 'eu-west-1' },
      organization: { organizationId: ORG_ID, excludedAccounts: ['222222222222'], remediation: true },
      rules: RULES,
      alerts: {},
    });
    synthWithNag(app);
    t = Template.fromStack(stack);
    pack = Object.values(t.findResources('AWS::Config::OrganizationConformancePack'))[0];
    body = JSON.parse(pack.Properties.TemplateBody);
  });

  test('remediated rules go to one organization conformance pack; the others stay organization rules', () => {
    t.resourceCountIs('AWS::Config::OrganizationConformancePack', 1);
    expect(
      Object.values(t.findResources('AWS::Config::OrganizationConfigRule')).map((r) => r.Properties.OrganizationConfigRuleName).sort(),
    ).toEqual(['public-ingress', 'web-tier-security-group']);
    t.resourceCountIs('AWS::Config::RemediationConfiguration', 0); // in the pack only
    t.resourceCountIs('AWS::SSM::Document', 0); // member remediation stack
    const fnArn = { 'Fn::GetAtt': [logicalId(t, 'AWS::Lambda::Function'), 'Arn'] };
    expect(pack.Properties).toEqual({
      OrganizationConformancePackName: ORGANIZATION_CONFORMANCE_PACK_NAME,
      TemplateBody: expect.any(String),
      ConformancePackInputParameters: [{ ParameterName: FUNCTION_ARN_PARAMETER, ParameterValue: fnArn }],
      ExcludedAccounts: ['222222222222'],
    });
    // Config of the member accounts must be allowed to invoke the function before the pack's rules are created.
    expect(pack.DependsOn).toEqual([logicalId(t, 'AWS::Lambda::ResourcePolicy')]);
    expect(Buffer.byteLength(pack.Properties.TemplateBody)).toBeLessThan(MAX_TEMPLATE_BODY);
  });

  test('pack body: custom Lambda rules on the central function and their remediation configurations (fixed document and role names)', () => {
    const types = Object.entries(body.Resources).map(([id, r]) => [id, (r as { Type: string }).Type]);
    expect(types).toEqual([
      ['PublicIngressSshRdpRule', 'AWS::Config::ConfigRule'],
      ['PublicIngressSshRdpRemediation', 'AWS::Config::RemediationConfiguration'],
      ['PublicEgressRule', 'AWS::Config::ConfigRule'],
      ['PublicEgressRemediation', 'AWS::Config::RemediationConfiguration'],
    ]);
    expect(body.Resources.PublicEgressRule.Properties.Source).toMatchObject({ Owner: 'CUSTOM_LAMBDA', SourceIdentifier: { Ref: FUNCTION_ARN_PARAMETER } });
    // Region-agnostic body: no remediation configuration where the resource type does not exist.
    expect(body.Conditions).toEqual({
      RemediationConfigurationSupported: {
        'Fn::Not': [{ 'Fn::Or': ['ap-east-2', 'ap-southeast-6', 'ap-southeast-7', 'mx-central-1'].map((r) => ({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, r] })) }],
      },
    });
    expect(body.Resources.PublicEgressRemediation).toEqual({
      Type: 'AWS::Config::RemediationConfiguration',
      Condition: 'RemediationConfigurationSupported',
      DependsOn: ['PublicEgressRule'],
      Properties: {
        ConfigRuleName: 'public-egress',
        TargetType: 'SSM_DOCUMENT',
        TargetId: 'sg-compliance-remediate-public-egress',
        ResourceType: 'AWS::EC2::SecurityGroup',
        Parameters: {
          GroupId: { ResourceValue: { Value: 'RESOURCE_ID' } },
          RuleParameters: { StaticValue: { Values: [JSON.stringify({ check: 'public-egress' })] } },
          DryRun: { StaticValue: { Values: ['false'] } },
          AutomationAssumeRole: {
            StaticValue: { Values: [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/sg-compliance-remediation-automation-${AWS::Region}' }] },
          },
        },
        Automatic: true,
        MaximumAutomaticAttempts: 5,
        RetryAttemptSeconds: 60,
        ExecutionControls: { SsmControls: { ConcurrentExecutionRatePercentage: 10, ErrorPercentage: 10 } },
      },
    });
    expect(body.Resources.PublicIngressSshRdpRemediation.Properties.Parameters.DryRun).toEqual({ StaticValue: { Values: ['true'] } });
  });

  test('alerts: pack rule names (<name>-conformance-pack-) next to OrgConfigRule- prefixes; failed executions of the fixed documents', () => {
    const rules = Object.values(t.findResources('AWS::Events::Rule')).map((r) => r.Properties.EventPattern);
    const compliance = rules.find((p) => p.source[0] === 'aws.config');
    expect(compliance.detail.configRuleName).toEqual(
      expect.arrayContaining([
        { prefix: 'OrgConfigRule-public-ingress-' },
        { prefix: 'public-ingress-ssh-rdp-conformance-pack-' },
        { prefix: 'public-egress-conformance-pack-' },
      ]),
    );
    const failed = rules.find((p) => p.source[0] === 'aws.ssm');
    expect(failed.detail.Definition).toEqual(['sg-compliance-remediate-public-ingress-ssh-rdp', 'sg-compliance-remediate-public-egress']);
  });
});

describe('member remediation stack (StackSet template)', () => {
  let t: Template;
  beforeAll(() => {
    const app = newApp();
    const stack = new SgComplianceMemberRemediationStack(app, 'MemberRemediation', { rules: RULES, codeFromParameters: true });
    synthWithNag(app);
    t = Template.fromStack(stack);
  });

  test('StackSets-ready: code parameters only, no bootstrap rule, no assets', () => {
    const json = t.toJSON();
    expect(Object.keys(json.Parameters).sort()).toEqual(['RemediationCodeS3Bucket', 'RemediationCodeS3Key', 'RemediationCodeS3ObjectVersion']);
    expect(json.Rules).toBeUndefined();
    expect(JSON.stringify(json)).not.toMatch(/cdk-hnb659fds|BootstrapVersion|aws:asset/);
    for (const f of Object.values(t.findResources('AWS::Lambda::Function'))) {
      expect(f.Properties.Code).toEqual({
        S3Bucket: { Ref: 'RemediationCodeS3Bucket' },
        S3Key: { Ref: 'RemediationCodeS3Key' },
        S3ObjectVersion: { 'Fn::If': ['RemediationCodeS3ObjectVersionGiven', { Ref: 'RemediationCodeS3ObjectVersion' }, { Ref: 'AWS::NoValue' }] },
      });
    }
  });

  test('per remediated rule a function (own role, exact actions) and a document under the fixed name; no Config resources', () => {
    expect(Object.values(t.findResources('AWS::SSM::Document')).map((d) => d.Properties.Name).sort()).toEqual([
      'sg-compliance-remediate-public-egress',
      'sg-compliance-remediate-public-ingress-ssh-rdp',
    ]);
    t.resourceCountIs('AWS::Lambda::Function', 2);
    for (const type of ['AWS::Config::ConfigRule', 'AWS::Config::RemediationConfiguration', 'AWS::Lambda::Permission']) t.resourceCountIs(type, 0);
    for (const f of Object.values(t.findResources('AWS::Lambda::Function'))) {
      expect(roleActions(t, f.Properties.Role['Fn::GetAtt'][0])).toEqual(
        [...REMEDIATION_READ_ACTIONS, ...REMEDIATION_WRITE_ACTIONS, 'logs:CreateLogStream', 'logs:PutLogEvents'].sort(),
      );
    }
  });

  test('automation role sg-compliance-remediation-automation-<region>: SSM Automation of this account, invokes only these functions', () => {
    const roleId = logicalId(t, 'AWS::IAM::Role', { Description: Match.stringLikeRegexp('SSM Automation') });
    const role = t.findResources('AWS::IAM::Role')[roleId].Properties;
    expect(role.RoleName).toEqual({ 'Fn::Join': ['', ['sg-compliance-remediation-automation-', { Ref: 'AWS::Region' }]] });
    expect(role.AssumeRolePolicyDocument.Statement[0]).toMatchObject({
      Principal: { Service: 'ssm.amazonaws.com' },
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    });
    expect(roleActions(t, roleId)).toEqual(['lambda:InvokeFunction']);
    const fnArns = Object.keys(t.findResources('AWS::Lambda::Function')).map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] }));
    const resources = roleStatements(t, roleId)[0].Resource as unknown[];
    expect(resources).toHaveLength(2);
    expect(resources).toEqual(expect.arrayContaining(fnArns));
  });

  test('no remediated rule: refused', () => {
    expect(() => new SgComplianceMemberRemediationStack(newApp(), 'None', { rules: {} })).toThrow(/at least one rule with "remediation"/);
  });
});

describe('buildApp with organizationRemediation', () => {
  const ctx = (values: Record<string, unknown>) => (key: string) => values[key];
  const settings = (extra: Record<string, unknown> = {}) =>
    readSettings(
      ctx({ regions: 'eu-west-1,us-east-1', organization: 'true', organizationId: ORG_ID, organizationRemediation: 'true', rules: JSON.stringify(RULES), ...extra }),
      { CDK_DEFAULT_ACCOUNT: '999999999999' },
    );

  test('a member remediation stack per region in the function account; organization stacks depend on it and on the member role stack', () => {
    const app = newApp();
    buildApp(app, settings());
    const stacks = app.node.children.filter((c): c is Stack => c instanceof Stack);
    expect(stacks.map((s) => s.stackName)).toEqual([
      'SgComplianceOrg-eu-west-1',
      `${MEMBER_REMEDIATION_STACK_PREFIX}-eu-west-1`,
      'SgComplianceOrg-us-east-1',
      `${MEMBER_REMEDIATION_STACK_PREFIX}-us-east-1`,
      MEMBER_ROLE_STACK_NAME,
    ]);
    for (const region of ['eu-west-1', 'us-east-1']) {
      const org = stacks.find((s) => s.stackName === `SgComplianceOrg-${region}`)!;
      expect(org.dependencies.map((d) => d.stackName).sort()).toEqual([`${MEMBER_REMEDIATION_STACK_PREFIX}-${region}`, MEMBER_ROLE_STACK_NAME].sort());
      expect(stacks.find((s) => s.stackName === `${MEMBER_REMEDIATION_STACK_PREFIX}-${region}`)!.region).toBe(region);
    }
  });

  test('memberRoleStack=false: neither member stack in the function account', () => {
    const app = newApp();
    buildApp(app, settings({ memberRoleStack: 'false' }));
    expect(app.node.children.filter((c): c is Stack => c instanceof Stack).map((s) => s.stackName)).toEqual([
      'SgComplianceOrg-eu-west-1',
      'SgComplianceOrg-us-east-1',
    ]);
  });

  test('refusals: without organization mode, without a remediated rule, in a region without RemediationConfiguration', () => {
    expect(() => buildApp(newApp(), readSettings(ctx({ regions: 'eu-west-1', organizationRemediation: 'true' }), {}))).toThrow(
      /organizationRemediation needs organization mode/,
    );
    expect(() => buildApp(newApp(), settings({ rules: '{}' }))).toThrow(/at least one rule with "remediation"/);
    expect(() => buildApp(newApp(), settings({ regions: 'mx-central-1' }))).toThrow(
      /organization remediation \(publicIngressSshRdp, publicEgress\) needs AWS::Config::RemediationConfiguration, which does not exist in mx-central-1/,
    );
  });
});
