/**
 * Region coverage: the table of resource types missing per region (lib/regions.ts) against cfn-lint's own
 * per-region schemas, and what the stacks do in those regions.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MISSING_RESOURCE_TYPES, hasResourceType, isRegionName } from '../lib/regions';
import { SgComplianceStack } from '../lib/sg-compliance-stack';
import { LB_SG, newApp } from './helpers';

const CFN_LINT = path.join(__dirname, '..', '..', '.venv', 'bin', 'cfn-lint');
const haveCfnLint = fs.existsSync(CFN_LINT);

/** Every resource type the app and `make templates` can produce (checked against real stacks below). */
const APP_RESOURCE_TYPES = [
  'AWS::CloudWatch::Alarm',
  'AWS::Config::ConfigRule',
  'AWS::Config::ConfigurationAggregator',
  'AWS::Config::OrganizationConfigRule',
  'AWS::Config::OrganizationConformancePack',
  'AWS::Config::RemediationConfiguration',
  'AWS::Events::Rule',
  'AWS::IAM::Policy',
  'AWS::IAM::Role',
  'AWS::KMS::Key',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::Lambda::Function',
  'AWS::Lambda::Permission',
  'AWS::Lambda::ResourcePolicy',
  'AWS::Logs::LogGroup',
  'AWS::SNS::Topic',
  'AWS::SNS::TopicPolicy',
  'AWS::SQS::Queue',
  'AWS::SQS::QueuePolicy',
  'AWS::SSM::Document',
];

describe('region table', () => {
  test('APP_RESOURCE_TYPES covers every type of the stacks (all modes, remediation, alerts)', () => {
    const app = newApp();
    const single = new SgComplianceStack(app, 'S', {
      env: { region: 'eu-west-1' },
      rules: { webTier: { loadBalancerSecurityGroupIds: [LB_SG], remediation: { enabled: true } } },
      alerts: {},
    });
    const org = new SgComplianceStack(app, 'O', {
      env: { region: 'eu-west-1' },
      organization: { organizationId: 'o-a1b2c3d4e5', remediation: true },
      rules: { publicIngressSshRdp: { remediation: { enabled: true } } },
      alerts: {},
    });
    const accounts = new SgComplianceStack(app, 'A', {
      env: { region: 'me-central-1' },
      organization: { organizationId: 'o-a1b2c3d4e5', memberAccountIds: ['111111111111'] },
    });
    const types = new Set<string>();
    const assembly = app.synth();
    for (const s of [single, org, accounts]) {
      for (const r of Object.values(assembly.getStackByName(s.stackName).template.Resources)) types.add((r as { Type: string }).Type);
    }
    types.delete('AWS::CDK::Metadata');
    expect([...types].sort()).toEqual(APP_RESOURCE_TYPES);
  });

  (haveCfnLint ? test : test.skip)("matches cfn-lint's E3006 (resource type not in region) for every region cfn-lint knows", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-regions-'));
    const file = path.join(dir, 'probe.json');
    const resources = Object.fromEntries(APP_RESOURCE_TYPES.map((type, i) => [`R${i}`, { Type: type, Properties: {} }]));
    fs.writeFileSync(file, JSON.stringify({ AWSTemplateFormatVersion: '2010-09-09', Resources: resources }));
    const r = spawnSync(CFN_LINT, ['--regions', 'ALL_REGIONS', '--format', 'json', '--', file], { encoding: 'utf8' });
    fs.rmSync(dir, { recursive: true, force: true });
    const findings: { Rule: { Id: string }; Message: string }[] = JSON.parse(r.stdout);
    const missing: Record<string, string[]> = {};
    for (const f of findings.filter((x) => x.Rule.Id === 'E3006')) {
      const m = /Resource type '([^']+)' does not exist in '([^']+)'/.exec(f.Message);
      expect(m).not.toBeNull();
      (missing[m![1]] ??= []).push(m![2]);
    }
    const sorted = (o: Readonly<Record<string, readonly string[]>>) =>
      Object.fromEntries(Object.keys(o).sort().map((k) => [k, [...o[k]].sort()]));
    expect(sorted(missing)).toEqual(sorted(MISSING_RESOURCE_TYPES));
  });

  test('region names: every region of the table is a valid name; lookups', () => {
    for (const regions of Object.values(MISSING_RESOURCE_TYPES)) for (const r of regions) expect(isRegionName(r)).toBe(true);
    expect(hasResourceType('me-central-1', 'AWS::Lambda::ResourcePolicy')).toBe(false);
    expect(hasResourceType('eu-west-1', 'AWS::Lambda::ResourcePolicy')).toBe(true);
    expect(hasResourceType(undefined, 'AWS::Config::RemediationConfiguration')).toBe(true);
  });
});

describe('remediation per region', () => {
  test.each(['ap-east-2', 'ap-southeast-6', 'ap-southeast-7', 'mx-central-1'])(
    'remediation in %s (no AWS::Config::RemediationConfiguration) fails naming the region and the type',
    (region) => {
      const rules = { publicIngressSshRdp: { remediation: { enabled: true } } };
      expect(() => new SgComplianceStack(newApp(), 'R', { env: { region }, rules })).toThrow(
        new RegExp(`remediation \\(publicIngressSshRdp\\) needs AWS::Config::RemediationConfiguration, which does not exist in ${region}`),
      );
      // Without remediation the region is fine.
      expect(() => new SgComplianceStack(newApp(), 'R', { env: { region } })).not.toThrow();
    },
  );
});
