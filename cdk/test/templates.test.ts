import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  CONFORMANCE_PACK_TEMPLATE,
  FUNCTION_ARN_PARAMETER,
  MAX_TEMPLATE_BODY_BYTES,
  MEMBER_REMEDIATION_TEMPLATE,
  MEMBER_ROLE_TEMPLATE,
  ORGANIZATION_CONFORMANCE_PACK_TEMPLATE,
  SELF_CONTAINED_TEMPLATE,
  Templates,
  buildTemplates,
  writeTemplates,
} from '../lib/templates';
import { LB_SG, newApp } from './helpers';

type Resource = { Type: string; Properties: Record<string, unknown>; Condition?: string };
const resources = (t: Record<string, unknown>) => Object.entries(t.Resources as Record<string, Resource>);
const ofType = (t: Record<string, unknown>, type: string) => resources(t).filter(([, r]) => r.Type === type);

describe('make templates', () => {
  let templates: Templates;
  beforeAll(() => {
    // buildTemplates registers cdk-nag and synthesizes: any unacknowledged finding throws here.
    templates = buildTemplates(newApp(), {
      rules: {
        webTier: { loadBalancerSecurityGroupIds: [LB_SG], remediation: { enabled: true } },
        publicIngressSshRdp: { remediation: { enabled: true } },
        publicEgress: { enabled: true, authorizedEgressTcpPorts: [443] },
      },
      alerts: {},
      memberRoleRegions: ['eu-west-1'],
      lambdaAccountId: '999999999999',
    });
  });

  test('three templates', () => {
    expect(Object.keys(templates).sort()).toEqual([CONFORMANCE_PACK_TEMPLATE, SELF_CONTAINED_TEMPLATE, MEMBER_ROLE_TEMPLATE].sort());
  });

  test('self-contained: code from CodeS3Bucket/CodeS3Key, no bootstrap, no assets, no CDK metadata', () => {
    const t = templates[SELF_CONTAINED_TEMPLATE];
    // RemediationCodeS3Key: remediation is on in these options.
    expect(Object.keys(t.Parameters as object).sort()).toEqual([
      'CodeS3Bucket',
      'CodeS3Key',
      'CodeS3ObjectVersion',
      'DeployRules',
      'RemediationCodeS3Key',
      'RemediationCodeS3ObjectVersion',
    ]);
    expect(t.Rules).toBeUndefined(); // no BootstrapVersion check, not the synth-only rule either
    const json = JSON.stringify(t);
    expect(json).not.toMatch(/cdk-hnb659fds|BootstrapVersion|AssetParameters|aws:asset/);
    expect(ofType(t, 'AWS::CDK::Metadata')).toEqual([]);
    const functions = ofType(t, 'AWS::Lambda::Function');
    const isRemediation = (f: Resource) => String(f.Properties.Description).includes('remediation');
    const [[, fn]] = functions.filter(([, f]) => !isRemediation(f));
    expect(fn.Properties).toMatchObject({
      Code: { S3Bucket: { Ref: 'CodeS3Bucket' }, S3Key: { Ref: 'CodeS3Key' } },
      Handler: 'bootstrap',
      Runtime: 'provided.al2023',
      Architectures: ['arm64'],
    });
    expect((t.Outputs as Record<string, unknown>).FunctionArn).toBeDefined();
    // The remediation functions (one per remediated rule) run the sg-compliance-remediate zip from the same bucket.
    const remediation = functions.filter(([, f]) => isRemediation(f));
    expect(remediation).toHaveLength(2);
    for (const [, f] of remediation) {
      expect(f.Properties).toMatchObject({
        Code: { S3Bucket: { Ref: 'CodeS3Bucket' }, S3Key: { Ref: 'RemediationCodeS3Key' } },
        Runtime: 'provided.al2023',
        Architectures: ['arm64'],
      });
    }
    expect((t.Parameters as Record<string, { Default: string }>).RemediationCodeS3Key.Default).toBe('sg-compliance-remediate/bootstrap.zip');
  });

  test('self-contained: optional object versions (CodeS3ObjectVersion, RemediationCodeS3ObjectVersion): empty = omitted', () => {
    const t = templates[SELF_CONTAINED_TEMPLATE];
    const params = t.Parameters as Record<string, { Type: string; Default: string }>;
    const conditions = t.Conditions as Record<string, unknown>;
    for (const [param, key] of [
      ['CodeS3ObjectVersion', 'CodeS3Key'],
      ['RemediationCodeS3ObjectVersion', 'RemediationCodeS3Key'],
    ]) {
      expect(params[param]).toMatchObject({ Type: 'String', Default: '' });
      expect(conditions[`${param}Given`]).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: param }, ''] }] });
      const fns = ofType(t, 'AWS::Lambda::Function').filter(([, f]) => JSON.stringify(f.Properties.Code).includes(`"${key}"`));
      expect(fns.length).toBeGreaterThan(0);
      for (const [, f] of fns) {
        expect((f.Properties.Code as Record<string, unknown>).S3ObjectVersion).toEqual({
          'Fn::If': [`${param}Given`, { Ref: param }, { Ref: 'AWS::NoValue' }],
        });
      }
    }
  });

  test('self-contained: rules, permission, alerts; remediation only where the region has RemediationConfiguration', () => {
    const t = templates[SELF_CONTAINED_TEMPLATE];
    expect(ofType(t, 'AWS::Config::ConfigRule').map(([, r]) => r.Properties.ConfigRuleName).sort()).toEqual(
      ['public-egress', 'public-ingress', 'public-ingress-ssh-rdp', 'web-tier-security-group'],
    );
    expect(ofType(t, 'AWS::Lambda::Permission')).toHaveLength(1);
    expect(ofType(t, 'AWS::SNS::Topic')).toHaveLength(1);
    const remediations = ofType(t, 'AWS::Config::RemediationConfiguration');
    expect(remediations).toHaveLength(2);
    for (const [, r] of remediations) expect(r.Condition).toBe('DeployRemediationCondition');
    // The remediation functions, their roles, policies and log groups, the documents, the automation role and the
    // failed-remediation alert exist only together with the remediation configurations (no remediation zip needed otherwise).
    const remediationResources = resources(t).filter(
      ([id, r]) =>
        /Remediat/.test(id) || (r.Type === 'AWS::Events::Rule' && JSON.stringify(r.Properties.EventPattern).includes('aws.ssm')),
    );
    expect(remediationResources.map(([, r]) => r.Type).sort()).toEqual(
      [
        ...Array(2).fill(['AWS::Lambda::Function', 'AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::Logs::LogGroup', 'AWS::SSM::Document']).flat(),
        ...Array(2).fill('AWS::Config::RemediationConfiguration'),
        'AWS::IAM::Role', // automation role
        'AWS::IAM::Policy',
        'AWS::Events::Rule',
      ].sort(),
    );
    for (const [, r] of remediationResources) expect(r.Condition).toBe('DeployRemediationCondition');
    // The rule function and its role are unconditioned.
    for (const [id, r] of resources(t).filter(([, x]) => x.Type === 'AWS::Lambda::Function' && !String(x.Properties.Description).includes('remediation'))) {
      expect([id, r.Condition]).toEqual([id, undefined]);
    }
    // Each remediation configuration waits for the automation role and its policy (DependsOn), as in the CDK stacks.
    const [[automationRoleId]] = ofType(t, 'AWS::IAM::Role').filter(([, r]) => String(r.Properties.Description).includes('SSM Automation'));
    const [[automationPolicyId]] = ofType(t, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(automationRoleId));
    for (const [, r] of remediations) {
      expect((r as { DependsOn?: string[] }).DependsOn).toEqual(expect.arrayContaining([automationRoleId, automationPolicyId]));
    }
    const regions = ['ap-east-2', 'ap-southeast-6', 'ap-southeast-7', 'mx-central-1'];
    const conditions = t.Conditions as Record<string, unknown>;
    expect(conditions.RemediationConfigurationSupported).toEqual({
      'Fn::Not': [{ 'Fn::Or': regions.map((r) => ({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, r] })) }],
    });
    expect(conditions.DeployRemediationCondition).toEqual({
      'Fn::And': [{ Condition: 'DeployRulesCondition' }, { Condition: 'RemediationConfigurationSupported' }],
    });
  });

  test('self-contained: DeployRules=false leaves the function for the conformance pack (its rules readable, own rules skipped)', () => {
    const t = templates[SELF_CONTAINED_TEMPLATE];
    expect((t.Parameters as Record<string, unknown>).DeployRules).toMatchObject({ AllowedValues: ['true', 'false'], Default: 'true' });
    for (const [, r] of ofType(t, 'AWS::Config::ConfigRule')) expect(r.Condition).toBe('DeployRulesCondition');
    const policies = Object.fromEntries(
      ofType(t, 'AWS::IAM::Policy').map(([, p]) => [(p.Properties.PolicyDocument as { Statement: { Sid?: string }[] }).Statement[0].Sid, p]),
    );
    expect(policies.ReadOwnRuleResults.Condition).toBe('DeployRulesCondition');
    expect(policies.ReadConformancePackRuleResults.Condition).toBe('ConformancePackRulesCondition');
    expect(JSON.stringify(policies.ReadConformancePackRuleResults.Properties)).toContain(':config-rule/*');
    const [[, permission]] = ofType(t, 'AWS::Lambda::Permission');
    expect(permission.Condition).toBeUndefined(); // the pack's rules need it too
    const [compliance] = ofType(t, 'AWS::Events::Rule').filter(([, r]) => JSON.stringify(r).includes('Compliance Change'));
    expect(JSON.stringify(compliance[1].Properties.EventPattern)).toContain('{"prefix":"public-egress-conformance-pack-"}');
  });

  test('conformance pack: only Config rules, custom Lambda with the function ARN parameter, exact parameters', () => {
    const t = templates[CONFORMANCE_PACK_TEMPLATE];
    expect(t.Parameters).toEqual({ [FUNCTION_ARN_PARAMETER]: expect.objectContaining({ Type: 'String' }) });
    expect(new Set(resources(t).map(([, r]) => r.Type))).toEqual(new Set(['AWS::Config::ConfigRule']));
    const rules: Record<string, Record<string, unknown>> = Object.fromEntries(
      ofType(t, 'AWS::Config::ConfigRule').map(([, r]) => [r.Properties.ConfigRuleName as string, r.Properties]),
    );
    expect(Object.keys(rules).sort()).toEqual(['public-egress', 'public-ingress', 'public-ingress-ssh-rdp', 'web-tier-security-group']);
    expect(rules['web-tier-security-group'].InputParameters).toEqual({
      check: 'web-tier',
      tierTagKey: 'tier',
      tierTagValue: 'web',
      loadBalancerSecurityGroupIds: LB_SG,
    });
    for (const r of Object.values(rules)) {
      expect(r.Scope).toEqual({ ComplianceResourceTypes: ['AWS::EC2::SecurityGroup'] });
      expect(r.Source).toMatchObject({ Owner: 'CUSTOM_LAMBDA', SourceIdentifier: { Ref: FUNCTION_ARN_PARAMETER } });
    }
  });

  test('member role template: StackSets-ready, trusts the regional function roles', () => {
    const t = templates[MEMBER_ROLE_TEMPLATE];
    expect(Object.keys(t.Parameters as object)).toEqual(['LambdaAccountId']);
    expect(resources(t).map(([, r]) => r.Type)).toEqual(['AWS::IAM::Role']);
    expect(JSON.stringify(t)).toContain('sg-compliance-lambda-eu-west-1');
  });

  test('per-region group ids are refused in the region-agnostic template', () => {
    expect(() =>
      buildTemplates(newApp(), { rules: { webTier: { loadBalancerSecurityGroupIds: { 'eu-west-1': [LB_SG] } } } }),
    ).toThrow(/per-region map/);
  });

  test('every option on (all five rules, remediation wherever it exists, alerts, member role, organization remediation): every written template is minified and under 51,200 bytes', () => {
    const all = buildTemplates(newApp(), {
      rules: {
        webTier: { loadBalancerSecurityGroupIds: [LB_SG], forbidPublicIngress: true, remediation: { enabled: true } },
        publicIngressSshRdp: { remediation: { enabled: true } },
        publicIngress: { authorizedTcpPorts: [443], remediation: { enabled: true } },
        publicEgress: { enabled: true, authorizedEgressTcpPorts: [443], remediation: { enabled: true } },
        broadPrivateIngress: { enabled: true },
      },
      alerts: {},
      memberRoleRegions: ['eu-west-1', 'us-east-1'],
      lambdaAccountId: '999999999999',
      organizationRemediation: true,
    });
    expect(Object.keys(all).sort()).toEqual(
      [CONFORMANCE_PACK_TEMPLATE, SELF_CONTAINED_TEMPLATE, MEMBER_ROLE_TEMPLATE, MEMBER_REMEDIATION_TEMPLATE, ORGANIZATION_CONFORMANCE_PACK_TEMPLATE].sort(),
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-templates-'));
    try {
      const written = writeTemplates(dir, all);
      expect(written).toHaveLength(5);
      for (const { path: p, bytes } of written) {
        const text = fs.readFileSync(p, 'utf8');
        expect(text).not.toMatch(/\n/); // minified
        expect(JSON.parse(text)).toEqual(all[path.basename(p)]);
        expect([path.basename(p), bytes]).toEqual([path.basename(p), Buffer.byteLength(text)]);
        expect([path.basename(p), bytes < MAX_TEMPLATE_BODY_BYTES]).toEqual([path.basename(p), true]);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // The organization conformance pack template: the four remediated rules and their remediation configurations.
    const pack = all[ORGANIZATION_CONFORMANCE_PACK_TEMPLATE] as { Resources: Record<string, { Type: string }> };
    expect(Object.values(pack.Resources).map((r) => r.Type).sort()).toEqual(
      [...Array(4).fill('AWS::Config::ConfigRule'), ...Array(4).fill('AWS::Config::RemediationConfiguration')].sort(),
    );
  });
});
