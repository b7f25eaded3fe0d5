import * as fs from 'fs';
import * as path from 'path';
import { Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MEMBER_ROLE_STACK_NAME, buildApp, readSettings } from '../lib/app';
import { SgComplianceStack } from '../lib/sg-compliance-stack';
import { newApp, validationFindings } from './helpers';

const ctx = (values: Record<string, unknown>) => (key: string) => values[key];

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
    expect(readSettings(ctx({ synthAllModes: 'true' }), {}).skipBundling).toBe(true);
  });

  test.each([
    [{ regions: 'eu-west-1,mars' }, /not a region/],
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

  test('organization mode without organizationId or regions fails with a clear message', () => {
    expect(() => buildApp(newApp(), readSettings(ctx({ organization: true, regions: 'eu-west-1' }), {}))).toThrow(/organizationId/);
    expect(() => buildApp(newApp(), readSettings(ctx({ organization: true, organizationId: 'o-a1b2c3d4e5' }), {}))).toThrow(/regions/);
  });
});

describe('cdk-nag', () => {
  test('the whole app as `npm run synth` builds it (all modes, every rule, remediations) has no findings', () => {
    const app = newApp();
    const rules = fs.readFileSync(path.join(__dirname, '..', 'scripts', 'synth-rules.json'), 'utf8');
    buildApp(app, readSettings(ctx({ synthAllModes: 'true', regions: 'eu-west-1,us-east-1', rules }), {}));
    expect(stacks(app)).toHaveLength(5);
    // The only expected annotations: "bundling skipped" warnings on the four function stacks.
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      app.synth(); // AwsSolutionsChecks registered by buildApp: throws on any unacknowledged finding
      expect(validationFindings(app)).toEqual([]);
      const warnings = Annotations.fromStack(stacks(app)[0]).findWarning('*', Match.stringLikeRegexp('bundling skipped'));
      expect(warnings).toHaveLength(1);
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
