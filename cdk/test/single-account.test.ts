import { Match, Template } from 'aws-cdk-lib/assertions';
import { SgComplianceStack } from '../lib/sg-compliance-stack';
import { functionRoleId, logicalId, newApp, roleActions, roleStatements, synthWithNag } from './helpers';

const LAMBDA_ACTIONS = [
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
  'logs:CreateLogStream',
  'logs:PutLogEvents',
];

const SOURCE_DETAILS = (frequency: string) => [
  { EventSource: 'aws.config', MessageType: 'ConfigurationItemChangeNotification' },
  { EventSource: 'aws.config', MessageType: 'OversizedConfigurationItemChangeNotification' },
  { EventSource: 'aws.config', MessageType: 'ScheduledNotification', MaximumExecutionFrequency: frequency },
];

describe('single-account stack with defaults', () => {
  let template: Template;
  beforeAll(() => {
    const app = newApp();
    const stack = new SgComplianceStack(app, 'Default', { env: { account: '111111111111', region: 'eu-west-1' } });
    synthWithNag(app); // zero unacknowledged AwsSolutions findings
    template = Template.fromStack(stack);
  });

  test('one Rust function: provided.al2023, arm64, 256 MB, 5 min, JSON logs to its own log group', () => {
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'provided.al2023',
      Handler: 'bootstrap',
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 300,
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: logicalId(template, 'AWS::Logs::LogGroup') } },
      Environment: Match.absent(), // single account: SG_COMPLIANCE_ASSUME_ROLE unset
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('the function role grants exactly the six API actions plus writing to its log group', () => {
    const roleId = functionRoleId(template);
    expect(roleActions(template, roleId)).toEqual(LAMBDA_ACTIONS);
    const statements = roleStatements(template, roleId);
    const logs = statements.find((s) => Array.isArray(s.Action) && s.Action.includes('logs:PutLogEvents'));
    expect(logs!.Resource).toEqual({ 'Fn::GetAtt': [logicalId(template, 'AWS::Logs::LogGroup'), 'Arn'] });
    for (const s of statements) {
      for (const a of [s.Action].flat()) expect(a).not.toContain('*');
    }
    // The only rule-scoped action: reading results of exactly this stack's rules.
    const scoped = statements.find((s) => s.Sid === 'ReadOwnRuleResults')!;
    expect(scoped.Action).toBe('config:GetComplianceDetailsByConfigRule');
    const arnOf = (r: unknown) => (r as { 'Fn::GetAtt': string[] })['Fn::GetAtt'];
    expect((scoped.Resource as unknown[]).map(arnOf).sort()).toEqual(
      Object.keys(template.findResources('AWS::Config::ConfigRule')).map((id) => [id, 'Arn']).sort(),
    );
    const unscoped = statements.find((s) => s.Sid === 'EvaluateSecurityGroups')!;
    expect(unscoped.Resource).toBe('*');
    expect(unscoped.Action).not.toContain('config:GetComplianceDetailsByConfigRule');
    // No managed policies (e.g. AWSLambdaBasicExecutionRole / AWSConfigRulesExecutionRole).
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] }),
      ManagedPolicyArns: Match.absent(),
    });
  });

  test('Lambda permission for config.amazonaws.com limited by SourceAccount and SourceArn (Config rules of the account and region)', () => {
    template.resourceCountIs('AWS::Lambda::Permission', 1);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'config.amazonaws.com',
      SourceAccount: '111111111111',
      SourceArn: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':config:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':config-rule/*']],
      },
      FunctionName: { 'Fn::GetAtt': [logicalId(template, 'AWS::Lambda::Function'), 'Arn'] },
    });
    // The rules wait for the permission (PutConfigRule checks that Config may invoke the function).
    const permissionId = logicalId(template, 'AWS::Lambda::Permission');
    for (const rule of Object.values(template.findResources('AWS::Config::ConfigRule'))) expect(rule.DependsOn).toContain(permissionId);
    template.resourceCountIs('AWS::Lambda::ResourcePolicy', 0);
  });

  test('three custom Lambda rules, scoped to security groups, with change, oversized and periodic triggers', () => {
    template.resourceCountIs('AWS::Config::ConfigRule', 3);
    const fnArn = { 'Fn::GetAtt': [logicalId(template, 'AWS::Lambda::Function'), 'Arn'] };
    const expected: Record<string, Record<string, string>> = {
      'web-tier-security-group': { check: 'web-tier', tierTagKey: 'tier', tierTagValue: 'web' },
      'public-ingress-ssh-rdp': { check: 'public-ingress', blockedTcpPorts: '22,3389' },
      'public-ingress': { check: 'public-ingress' },
    };
    const rules = template.findResources('AWS::Config::ConfigRule');
    for (const [id, rule] of Object.entries(rules)) {
      const p = rule.Properties;
      expect(p.InputParameters).toEqual(expected[p.ConfigRuleName]); // exact parameters, nothing else
      expect(p.Scope).toEqual({ ComplianceResourceTypes: ['AWS::EC2::SecurityGroup'] });
      expect(p.Source).toEqual({ Owner: 'CUSTOM_LAMBDA', SourceIdentifier: fnArn, SourceDetails: SOURCE_DETAILS('TwentyFour_Hours') });
      // Created after the permission (Config validates it can invoke the function).
      expect(rule.DependsOn).toEqual([logicalId(template, 'AWS::Lambda::Permission')]);
      expect(id).toBeDefined();
    }
    expect(Object.values(rules).map((r) => r.Properties.ConfigRuleName).sort()).toEqual(Object.keys(expected).sort());
  });

  test('no remediation, organization or aggregator resources by default', () => {
    for (const type of [
      'AWS::Config::RemediationConfiguration',
      'AWS::SSM::Document',
      'AWS::Config::OrganizationConfigRule',
      'AWS::Config::ConfigurationAggregator',
    ]) {
      template.resourceCountIs(type, 0);
    }
    template.resourceCountIs('AWS::IAM::Role', 1);
  });
});

describe('single-account stack options', () => {
  test('x86_64, memory, frequency, and the optional checks with exact parameters', () => {
    const app = newApp();
    const stack = new SgComplianceStack(app, 'Options', {
      architecture: 'x86_64',
      memorySize: 512,
      maximumExecutionFrequency: 'Twelve_Hours',
      rules: {
        webTier: { enabled: false },
        publicIngressSshRdp: { enabled: false },
        publicIngress: { enabled: false },
        publicEgress: { enabled: true, authorizedEgressTcpPorts: [443], maximumExecutionFrequency: 'One_Hour' },
        broadPrivateIngress: { enabled: true, minPrefixLengthIpv4: 24 },
      },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', { Architectures: ['x86_64'], MemorySize: 512 });
    template.resourceCountIs('AWS::Config::ConfigRule', 2);
    template.hasResourceProperties('AWS::Config::ConfigRule', {
      ConfigRuleName: 'public-egress',
      InputParameters: { check: 'public-egress', authorizedEgressTcpPorts: '443' },
      Source: Match.objectLike({ SourceDetails: SOURCE_DETAILS('One_Hour') }),
    });
    template.hasResourceProperties('AWS::Config::ConfigRule', {
      ConfigRuleName: 'broad-private-ingress',
      InputParameters: { check: 'broad-private-ingress', minPrefixLengthIpv4: '24' },
      Source: Match.objectLike({ SourceDetails: SOURCE_DETAILS('Twelve_Hours') }),
    });
    // Env-agnostic stack: SourceAccount is the deploying account.
    template.hasResourceProperties('AWS::Lambda::Permission', { SourceAccount: { Ref: 'AWS::AccountId' } });
  });
});
