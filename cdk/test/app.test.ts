import * as fs from 'fs';
import * as path from 'path';
import { Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MEMBER_ROLE_STACK_NAME, buildApp, readSettings } from '../lib/app';
import { NOT_DEPLOYABLE_RULE_ID } from '../lib/sg-compliance-function';
import { SgComplianceStack } from '../lib/sg-compliance-stack';
import { newApp, validationFindings } from './helpers';

const ctx = (values: Record<string, unknown>) => (key: string) => values[key];
/** What `npm run synth` sets; without it skipBundling/synthAllModes are refused. */
const SYNTH_ONLY = { SG_COMPLIANCE_SYNTH_ONLY: '1' };

describe('context', () => {
  test('-c strings: comma lists, booleans and JSON rules', () => {
    const s = readSettings(
      ctx({
        regions: 'eu-west-1, us-east-1',
        organization: 'true',
        organizationId: 'o-a1b2c3d4e5',
        excludedAccounts: '["222222222222"]',
        architecture: 'x86_64',
        maximumExecutionFrequency: 'Six_Hours',
        rules: '{"publicEgress":{"enabled":true}}',
      }),
      { CDK_DEFAULT_ACCOUNT: '999999999999' },
    );
    expect(s).toMatchObject({
      regions: ['eu-west-1', 'us-east-1'],
      organization: true,
      organizationId: 'o-a1b2c3d4e5',
      excludedAccounts: ['222222222222'],
      architecture: 'x86_64',
      maximumExecutionFrequency: 'Six_Hours',
      rules: { publicEgress: { enabled: true } },
      lambdaAccountId: '999999999999',
      skipBundling: false,
    });
  });

  test('cdk.json values (arrays, booleans) and defaults', () => {
    expect(readSettings(ctx({ regions: ['ap-south-1'], organization: false }), {})).toMatchObject({
      regions: ['ap-south-1'],
      organization: false,
      synthAllModes: false,
    });
    expect(readSettings(ctx({}), { CDK_DEFAULT_REGION: 'eu-central-1' }).regions).toEqual(['eu-central-1']);
    expect(readSettings(ctx({ synthAllModes: 'true' }), SYNTH_ONLY).skipBundling).toBe(true);
  });

  test('skipBundling and synthAllModes are refused outside `npm run synth` (a deploy can never use them)', () => {
    expect(() => readSettings(ctx({ skipBundling: 'true' }), {})).toThrow(/for synth and lint only: use `make synth` \(which sets SG_COMPLIANCE_SYNTH_ONLY=1\)/);
    expect(() => readSettings(ctx({ synthAllModes: true }), { SG_COMPLIANCE_SYNTH_ONLY: 'yes' })).toThrow(/`make templates` \(code from S3, needs neither option\)/);
    expect(readSettings(ctx({ skipBundling: 'false' }), {}).skipBundling).toBe(false);
  });

  test('every current region name form is accepted', () => {
    const regions = ['us-east-1', 'eusc-de-east-1', 'us-gov-west-1', 'cn-north-1', 'ap-southeast-7', 'mx-central-1', 'us-isob-east-1', 'eu-isoe-west-1'];
    expect(readSettings(ctx({ regions: regions.join(',') }), {}).regions).toEqual(regions);
  });

  test('invokePermission, alerts and alertTopicArn', () => {
    expect(readSettings(ctx({ invokePermission: 'accounts', memberAccountIds: '111111111111' }), {})).toMatchObject({
      invokePermission: 'accounts',
      memberAccountIds: ['111111111111'],
      alerts: undefined,
    });
    expect(readSettings(ctx({ alerts: 'true' }), {}).alerts).toEqual({ topicArn: undefined });
    const arn = 'arn:aws:sns:eu-west-1:111111111111:secops';
    expect(readSettings(ctx({ alertTopicArn: arn }), {}).alerts).toEqual({ topicArn: arn });
  });

  test('logRetentionDays and logKmsKeyArn reach every log group (function, remediation); bad values are refused', () => {
    const key = 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const s = readSettings(
      ctx({ regions: 'eu-west-1', logRetentionDays: '365', logKmsKeyArn: key, rules: '{"publicIngressSshRdp":{"remediation":{"enabled":true}}}' }),
      { CDK_DEFAULT_ACCOUNT: '111111111111' },
    );
    expect(s).toMatchObject({ logRetention: 365, logKmsKeyArn: key });
    const app = newApp();
    buildApp(app, s);
    const t = Template.fromStack(stacks(app)[0]);
    const groups = Object.values(t.findResources('AWS::Logs::LogGroup')).map((g) => g.Properties);
    expect(groups).toHaveLength(2);
    for (const g of groups) expect(g).toMatchObject({ RetentionInDays: 365, KmsKeyId: key });
    expect(() => readSettings(ctx({ logRetentionDays: '100' }), {})).toThrow(/logRetentionDays must be one of .*365/);
    expect(() => readSettings(ctx({ logKmsKeyArn: 'alias/logs' }), {})).toThrow(/KMS key ARN/);
  });

  test.each([
    [{ regions: 'eu-west-1,mars' }, /not a region/],
    [{ regions: 'EU-WEST-1' }, /not a region/],
    [{ regions: 'eu-west' }, /not a region/],
    [{ invokePermission: 'everyone' }, /invokePermission/],
    [{ architecture: 'arm' }, /architecture/],
    [{ organization: 'yes' }, /true or false/],
    [{ maximumExecutionFrequency: 'Daily' }, /maximumExecutionFrequency/],
  ])('rejects %j', (values, message) => {
    expect(() => readSettings(ctx(values), {})).toThrow(message);
  });
});

describe('buildApp', () => {
  test('one single-account stack per region, env account from CDK_DEFAULT_ACCOUNT', () => {
    const app = newApp();
    buildApp(app, readSettings(ctx({ regions: 'eu-west-1,us-east-1' }), { CDK_DEFAULT_ACCOUNT: '111111111111' }));
    const s = stacks(app);
    expect(s.map((x) => x.stackName)).toEqual(['SgCompliance-eu-west-1', 'SgCompliance-us-east-1']);
    expect(s.map((x) => [x.account, x.region])).toEqual([
      ['111111111111', 'eu-west-1'],
      ['111111111111', 'us-east-1'],
    ]);
    expect(s.every((x) => x instanceof SgComplianceStack && x.configRules.webTier !== undefined)).toBe(true);
  });

  test('organization mode: organization stacks per region, aggregator once, member role stack', () => {
    const app = newApp();
    buildApp(
      app,
      readSettings(ctx({ regions: 'eu-west-1,us-east-1', organization: 'true', organizationId: 'o-a1b2c3d4e5' }), {
        CDK_DEFAULT_ACCOUNT: '999999999999',
      }),
    );
    const s = stacks(app);
    expect(s.map((x) => x.stackName)).toEqual(['SgComplianceOrg-eu-west-1', 'SgComplianceOrg-us-east-1', MEMBER_ROLE_STACK_NAME]);
    expect(s.map((x) => Template.fromStack(x).findResources('AWS::Config::ConfigurationAggregator')).map((r) => Object.keys(r).length)).toEqual([
      1, 0, 0,
    ]);
  });

  test('loadBalancerSecurityGroupIds per region: each region stack gets only its own ids; one list for several regions fails', () => {
    const rules = { webTier: { loadBalancerSecurityGroupIds: { 'eu-west-1': ['sg-0aaaaaaaaaaaaaaaa'], 'us-east-1': ['sg-0bbbbbbbbbbbbbbbb'] } } };
    const app = newApp();
    buildApp(app, readSettings(ctx({ regions: 'eu-west-1,us-east-1,ap-south-1', rules: JSON.stringify(rules) }), {}));
    const ids = stacks(app).map((x) => (x as SgComplianceStack).rules.find((r) => r.key === 'webTier')!.inputParameters.loadBalancerSecurityGroupIds);
    expect(ids).toEqual(['sg-0aaaaaaaaaaaaaaaa', 'sg-0bbbbbbbbbbbbbbbb', undefined]); // ap-south-1: discovery

    const list = JSON.stringify({ webTier: { loadBalancerSecurityGroupIds: ['sg-0aaaaaaaaaaaaaaaa'] } });
    expect(() => buildApp(newApp(), readSettings(ctx({ regions: 'eu-west-1,us-east-1', rules: list }), {}))).toThrow(/regional: give a map/);
    expect(() => buildApp(newApp(), readSettings(ctx({ regions: 'eu-west-1', rules: list }), {}))).not.toThrow();
    // A map may name regions deployed another time (one cdk.json for all regions); its keys must be region names.
    expect(() => buildApp(newApp(), readSettings(ctx({ regions: 'eu-west-2', rules: JSON.stringify(rules) }), {}))).not.toThrow();
    const typo = JSON.stringify({ webTier: { loadBalancerSecurityGroupIds: { 'eu-west1': ['sg-0aaaaaaaaaaaaaaaa'] } } });
    expect(() => buildApp(newApp(), readSettings(ctx({ regions: 'eu-west-1', rules: typo }), {}))).toThrow(/"eu-west1" is not a region/);
  });

  test('organization mode with memberRoleStack=false: no member role stack (the StackSet covers the function account)', () => {
    const app = newApp();
    buildApp(app, readSettings(ctx({ regions: 'eu-west-1', organization: 'true', organizationId: 'o-a1b2c3d4e5', memberRoleStack: 'false' }), {}));
    expect(stacks(app).map((x) => x.stackName)).toEqual(['SgComplianceOrg-eu-west-1']);
    expect(readSettings(ctx({}), {}).memberRoleStack).toBe(true);
  });

  test('organization mode without organizationId or regions fails with a clear message', () => {
    expect(() => buildApp(newApp(), readSettings(ctx({ organization: true, regions: 'eu-west-1' }), {}))).toThrow(/organizationId/);
    expect(() => buildApp(newApp(), readSettings(ctx({ organization: true, organizationId: 'o-a1b2c3d4e5' }), {}))).toThrow(/regions/);
  });
});

describe('cdk-nag', () => {
  test('the whole app as `npm run synth` builds it (all modes, every rule, remediations, alerts, fallback region) has no findings', () => {
    const app = newApp();
    const rules = fs.readFileSync(path.join(__dirname, '..', 'scripts', 'synth-rules.json'), 'utf8');
    buildApp(
      app,
      readSettings(
        ctx({
          synthAllModes: 'true',
          regions: 'eu-west-1,us-east-1,me-central-1',
          rules,
          alerts: 'true',
          organizationRemediation: 'true',
          memberAccountIds: '111111111111,222222222222',
        }),
        SYNTH_ONLY,
      ),
    );
    expect(stacks(app)).toHaveLength(10); // 3 single-account, 3 organization, 3 member remediation, the member role
    // The only expected annotations: "bundling skipped" warnings on the function stacks.
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      app.synth(); // AwsSolutionsChecks registered by buildApp: throws on any unacknowledged finding
      expect(validationFindings(app)).toEqual([]);
      const warnings = Annotations.fromStack(stacks(app)[0]).findWarning('*', Match.stringLikeRegexp('bundling skipped'));
      expect(warnings).toHaveLength(1);
      // Synth-only templates cannot be deployed: an always-false CloudFormation rule, and no file asset but the templates.
      const assembly = app.synth();
      for (const stack of stacks(app).filter((x) => x instanceof SgComplianceStack)) {
        const artifact = assembly.getStackByName(stack.stackName);
        expect(artifact.template.Rules[NOT_DEPLOYABLE_RULE_ID]).toBeDefined();
        const assets = JSON.parse(fs.readFileSync(path.join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8'));
        expect(Object.values(assets.files).map((f) => (f as { source: { path: string } }).source.path)).toEqual([artifact.templateFile]);
      }
    } finally {
      printed.mockRestore();
    }
  });

  test('is really active: an unacknowledged wildcard fails synthesis', () => {
    const app = newApp();
    const stack = new Stack(app, 'Nag');
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeSecurityGroups'], resources: ['*'] }));
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::\*\]/);
    } finally {
      printed.mockRestore();
    }
  });
});

const stacks = (app: ReturnType<typeof newApp>) => app.node.children.filter((c): c is Stack => c instanceof Stack);
