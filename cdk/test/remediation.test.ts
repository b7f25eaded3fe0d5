/**
 * Config auto-remediation wiring: per remediated rule an SSM Automation document whose single step invokes that
 * rule's remediation function (binary sg-compliance-remediate), the RemediationConfiguration, and the roles.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import {
  REMEDIATION_READ_ACTIONS,
  REMEDIATION_SCRIPT,
  REMEDIATION_STEP_NAME,
  REMEDIATION_WRITE_ACTIONS,
} from '../lib/remediation';
import { SgComplianceStack } from '../lib/sg-compliance-stack';
import { functionRoleId, logicalId, newApp, roleActions, roleStatements, ruleFunctionId, synthWithNag } from './helpers';

const ENV = { account: '111111111111', region: 'eu-west-1' };
const SECURITY_GROUPS = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':security-group/*']] };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Resource = Record<string, any>;

/** Rule name -> the rule's logical ID, its remediation configuration, document and function. */
function wiring(t: Template) {
  const rules = t.findResources('AWS::Config::ConfigRule');
  const docs = t.findResources('AWS::SSM::Document');
  const fns = t.findResources('AWS::Lambda::Function');
  const out: Record<string, { ruleId: string; rule: Resource; config: Resource; docId: string; doc: Resource; fnId: string; fn: Resource }> = {};
  for (const config of Object.values(t.findResources('AWS::Config::RemediationConfiguration'))) {
    const ruleId = config.Properties.ConfigRuleName.Ref;
    const docId = config.Properties.TargetId.Ref;
    const fnId = docs[docId].Properties.Content.mainSteps[0].inputs.InputPayload.FunctionName['Fn::GetAtt'][0];
    out[rules[ruleId].Properties.ConfigRuleName] = { ruleId, rule: rules[ruleId], config, docId, doc: docs[docId], fnId, fn: fns[fnId] };
  }
  return out;
}

describe('remediation on for every check with an automatic fix', () => {
  let t: Template;
  let w: ReturnType<typeof wiring>;
  beforeAll(() => {
    const app = newApp();
    const stack = new SgComplianceStack(app, 'Remediation', {
      env: ENV,
      rules: {
        webTier: { tierTagKey: 'Tier', tierTagValue: 'frontend', remediation: { enabled: true } },
        publicIngressSshRdp: { remediation: { enabled: true } },
        publicIngress: { authorizedTcpPorts: [443], remediation: { enabled: true } },
        publicEgress: { enabled: true, authorizedEgressTcpPorts: [443], remediation: { enabled: true } },
        broadPrivateIngress: { enabled: true }, // no automatic fix: no remediation
      },
    });
    synthWithNag(app); // zero unacknowledged AwsSolutions findings
    t = Template.fromStack(stack);
    w = wiring(t);
  });

  test('one remediation configuration, document and function per remediated rule; none for broad-private-ingress', () => {
    expect(Object.keys(w).sort()).toEqual(['public-egress', 'public-ingress', 'public-ingress-ssh-rdp', 'web-tier-security-group']);
    t.resourceCountIs('AWS::SSM::Document', 4);
    t.resourceCountIs('AWS::Lambda::Function', 5); // the rule function + 4 remediation functions
    expect(new Set(Object.values(w).map((x) => x.fnId)).size).toBe(4);
    expect(Object.values(w).map((x) => x.fnId)).not.toContain(ruleFunctionId(t));
    // AWS's runbook is not used; the document's script only invokes the function (no EC2 call of its own).
    const json = JSON.stringify(t.toJSON());
    expect(json).not.toMatch(/AWS-DisablePublicAccessForSecurityGroup/);
    expect(REMEDIATION_SCRIPT).not.toMatch(/ec2/i);
  });

  test('document: schema 0.3, one aws:executeScript step invoking the remediation function with the agreed payload', () => {
    for (const { rule, doc, fnId } of Object.values(w)) {
      const p = doc.Properties;
      expect(p.DocumentType).toBe('Automation');
      expect(p.DocumentFormat).toBe('JSON');
      expect(p.Name).toBeUndefined(); // generated: content updates replace the document cleanly
      const c = p.Content;
      expect(c.schemaVersion).toBe('0.3');
      expect(c.assumeRole).toBe('{{ AutomationAssumeRole }}');
      expect(Object.keys(c.parameters).sort()).toEqual(['AutomationAssumeRole', 'DryRun', 'GroupId', 'RuleParameters']);
      expect(c.parameters.DryRun).toMatchObject({ type: 'Boolean', default: true });
      expect(c.parameters.GroupId).toMatchObject({ type: 'String', allowedPattern: '^sg-[0-9a-f]{8,17}$' });
      expect(c.parameters.GroupId.default).toBeUndefined();
      // Manual runs default to the rule's own parameters (a JSON string, `check` included).
      expect(c.parameters.RuleParameters.type).toBe('String');
      expect(JSON.parse(c.parameters.RuleParameters.default)).toEqual(rule.Properties.InputParameters);
      expect(c.mainSteps).toHaveLength(1);
      expect(c.mainSteps[0]).toEqual({
        name: REMEDIATION_STEP_NAME,
        action: 'aws:executeScript',
        description: expect.any(String),
        timeoutSeconds: 300,
        maxAttempts: 1,
        onFailure: 'Abort',
        isEnd: true,
        inputs: {
          Runtime: 'python3.11',
          Handler: 'handler',
          Script: REMEDIATION_SCRIPT,
          InputPayload: {
            FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
            GroupId: '{{ GroupId }}',
            RuleParameters: '{{ RuleParameters }}',
            DryRun: '{{ DryRun }}',
          },
        },
        outputs: [{ Name: 'Payload', Selector: '$.Payload.Payload', Type: 'String' }],
      });
      expect(c.outputs).toEqual([`${REMEDIATION_STEP_NAME}.Payload`]);
    }
  });

  test('remediation configurations depend on the automation role and its policy (first automatic run has the permission)', () => {
    const roleId = logicalId(t, 'AWS::IAM::Role', { Description: Match.stringLikeRegexp('SSM Automation') });
    const policyId = Object.entries(t.findResources('AWS::IAM::Policy')).find(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))![0];
    for (const config of Object.values(t.findResources('AWS::Config::RemediationConfiguration'))) {
      expect(config.DependsOn).toEqual(expect.arrayContaining([roleId, policyId]));
    }
  });

  test("remediation configuration: the rule's group and parameters, DryRun=true, execution controls, automatic with retries", () => {
    const roleId = logicalId(t, 'AWS::IAM::Role', { Description: Match.stringLikeRegexp('SSM Automation') });
    for (const { rule, config } of Object.values(w)) {
      const p = config.Properties;
      expect(p).toEqual({
        ConfigRuleName: expect.anything(),
        TargetId: expect.anything(),
        TargetType: 'SSM_DOCUMENT',
        ResourceType: 'AWS::EC2::SecurityGroup',
        Automatic: true,
        MaximumAutomaticAttempts: 5,
        RetryAttemptSeconds: 60,
        ExecutionControls: { SsmControls: { ConcurrentExecutionRatePercentage: 10, ErrorPercentage: 10 } },
        Parameters: {
          GroupId: { ResourceValue: { Value: 'RESOURCE_ID' } },
          RuleParameters: { StaticValue: { Values: [expect.any(String)] } },
          DryRun: { StaticValue: { Values: ['true'] } },
          AutomationAssumeRole: { StaticValue: { Values: [{ 'Fn::GetAtt': [roleId, 'Arn'] }] } },
        },
      });
      // Exactly the rule's input parameters, `check` included.
      const params = JSON.parse(p.Parameters.RuleParameters.StaticValue.Values[0]);
      expect(params).toEqual(rule.Properties.InputParameters);
      expect(params.check).toBeDefined();
    }
    expect(JSON.parse(w['web-tier-security-group'].config.Properties.Parameters.RuleParameters.StaticValue.Values[0])).toEqual({
      check: 'web-tier',
      tierTagKey: 'Tier',
      tierTagValue: 'frontend',
    });
  });

  test('remediation functions: the Rust runtime, own role and own log group with retention, JSON logs', () => {
    const logGroups = new Set<string>();
    for (const { fn } of Object.values(w)) {
      const p = fn.Properties;
      expect(p).toMatchObject({ Runtime: 'provided.al2023', Handler: 'bootstrap', Architectures: ['arm64'], Timeout: 120 });
      expect(p.Description).toMatch(/^sg-compliance: remediation of /);
      expect(p.LoggingConfig.LogFormat).toBe('JSON');
      const lg = p.LoggingConfig.LogGroup.Ref;
      logGroups.add(lg);
      expect(t.findResources('AWS::Logs::LogGroup')[lg].Properties.RetentionInDays).toBe(30);
      expect(fn.DependsOn).toEqual(expect.arrayContaining([p.Role['Fn::GetAtt'][0]]));
    }
    expect(logGroups.size).toBe(4);
  });

  test('remediation roles: exactly the read and Authorize/Revoke actions; writes on security groups only, web tier conditioned on the tier tag', () => {
    for (const [name, { fn }] of Object.entries(w)) {
      const roleId = fn.Properties.Role['Fn::GetAtt'][0];
      expect(roleActions(t, roleId)).toEqual(
        [...REMEDIATION_READ_ACTIONS, ...REMEDIATION_WRITE_ACTIONS, 'logs:CreateLogStream', 'logs:PutLogEvents'].sort(),
      );
      expect(roleActions(t, roleId)).toEqual([
        'ec2:AuthorizeSecurityGroupEgress',
        'ec2:AuthorizeSecurityGroupIngress',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSecurityGroupRules',
        'ec2:DescribeSecurityGroups',
        'ec2:GetManagedPrefixListEntries',
        'ec2:ModifySecurityGroupRules',
        'ec2:RevokeSecurityGroupEgress',
        'ec2:RevokeSecurityGroupIngress',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ]);
      const statements = roleStatements(t, roleId);
      const read = statements.find((s) => s.Sid === 'ReadSecurityGroups')!;
      expect(read.Resource).toBe('*');
      expect(read.Condition).toBeUndefined();
      const write = statements.find((s) => s.Sid === 'FixSecurityGroups')!;
      expect([write.Action].flat().sort()).toEqual(REMEDIATION_WRITE_ACTIONS);
      expect(write.Resource).toEqual(SECURITY_GROUPS);
      if (name === 'web-tier-security-group') {
        expect(write.Condition).toEqual({ StringEquals: { 'ec2:ResourceTag/Tier': 'frontend' } });
      } else {
        expect(write.Condition).toBeUndefined();
      }
      // Lambda trust only, no managed policies.
      const role = t.findResources('AWS::IAM::Role')[roleId].Properties;
      expect(role.AssumeRolePolicyDocument.Statement).toEqual([expect.objectContaining({ Principal: { Service: 'lambda.amazonaws.com' } })]);
      expect(role.ManagedPolicyArns).toBeUndefined();
    }
  });

  test('the rule (evaluating) function stays read-only: no Authorize/Revoke or other security group write action', () => {
    const actions = roleActions(t, functionRoleId(t));
    for (const a of REMEDIATION_WRITE_ACTIONS) expect(actions).not.toContain(a);
    expect(actions.filter((a) => /^ec2:(Authorize|Revoke|Modify|Create|Delete|Update)/.test(a))).toEqual([]);
    expect(actions.filter((a) => a.startsWith('lambda:'))).toEqual([]);
  });

  test('automation role: trusted by SSM Automation of this account, may only invoke the four remediation functions', () => {
    const roleId = logicalId(t, 'AWS::IAM::Role', { Description: Match.stringLikeRegexp('SSM Automation') });
    const role = t.findResources('AWS::IAM::Role')[roleId].Properties;
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'ssm.amazonaws.com' },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: { 'aws:SourceArn': expect.objectContaining({ 'Fn::Join': expect.anything() }) },
        },
      }),
    ]);
    expect(JSON.stringify(role.AssumeRolePolicyDocument)).toContain(':automation-execution/*');
    expect(roleActions(t, roleId)).toEqual(['lambda:InvokeFunction']);
    const [invoke] = roleStatements(t, roleId);
    const arns = [invoke.Resource].flat() as unknown[];
    expect(arns).toHaveLength(4);
    expect(arns).toEqual(expect.arrayContaining(Object.values(w).map((x) => ({ 'Fn::GetAtt': [x.fnId, 'Arn'] }))));
  });
});

describe('remediation options and refusals', () => {
  test('dryRun false, manual, retries and execution controls are passed as set', () => {
    const stack = new SgComplianceStack(newApp(), 'Options', {
      env: ENV,
      rules: {
        webTier: { enabled: false },
        publicIngress: { enabled: false },
        publicIngressSshRdp: {
          remediation: {
            enabled: true,
            dryRun: false,
            automatic: false,
            maximumAutomaticAttempts: 3,
            retryAttemptSeconds: 120,
            concurrentExecutionRatePercentage: 25,
            errorPercentage: 5,
          },
        },
      },
    });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::Config::RemediationConfiguration', 1);
    t.hasResourceProperties('AWS::Config::RemediationConfiguration', {
      Automatic: false,
      MaximumAutomaticAttempts: 3,
      RetryAttemptSeconds: 120,
      ExecutionControls: { SsmControls: { ConcurrentExecutionRatePercentage: 25, ErrorPercentage: 5 } },
      Parameters: Match.objectLike({
        DryRun: { StaticValue: { Values: ['false'] } },
        RuleParameters: { StaticValue: { Values: [JSON.stringify({ check: 'public-ingress', blockedTcpPorts: '22,3389' })] } },
      }),
    });
    // The document's own default stays DryRun=true for manual runs.
    const doc = Object.values(t.findResources('AWS::SSM::Document'))[0].Properties.Content;
    expect(doc.parameters.DryRun.default).toBe(true);
  });

  test('broad-private-ingress has no automatic fix: enabling its remediation fails at synth with the reason', () => {
    expect(
      () => new SgComplianceStack(newApp(), 'Broad', { env: ENV, rules: { broadPrivateIngress: { enabled: true, remediation: { enabled: true } } } }),
    ).toThrow(/broad-private-ingress has no automatic fix.*leave remediation disabled/);
  });

  test('no remediation by default: one function, no document, no automation role', () => {
    const t = Template.fromStack(new SgComplianceStack(newApp(), 'Default', { env: ENV }));
    t.resourceCountIs('AWS::Lambda::Function', 1);
    t.resourceCountIs('AWS::SSM::Document', 0);
    t.resourceCountIs('AWS::Config::RemediationConfiguration', 0);
    expect(Object.keys(t.findResources('AWS::IAM::Role', { Properties: { Description: Match.stringLikeRegexp('SSM Automation') } }))).toEqual([]);
  });

  test('region-agnostic stack: remediation configurations carry the region condition', () => {
    const t = Template.fromStack(new SgComplianceStack(newApp(), 'Agnostic', { rules: { publicIngressSshRdp: { remediation: { enabled: true } } } }));
    t.hasResource('AWS::Config::RemediationConfiguration', { Condition: 'RemediationConfigurationSupported' });
    // The remediation function, log group and document too; the rule function and its log group are unconditioned.
    const conditions = (type: string) => Object.values(t.findResources(type)).map((r) => r.Condition ?? 'none').sort();
    expect(conditions('AWS::Lambda::Function')).toEqual(['RemediationConfigurationSupported', 'none']);
    expect(conditions('AWS::Logs::LogGroup')).toEqual(['RemediationConfigurationSupported', 'none']);
    expect(conditions('AWS::SSM::Document')).toEqual(['RemediationConfigurationSupported']);
  });
});

/**
 * The document's script, run with python3 against a stand-in boto3 (the real one is preinstalled in aws:executeScript):
 * a function error (FunctionError) must raise, so the step and the execution fail.
 */
describe('remediation script (python3)', () => {
  const python = spawnSync('python3', ['--version']).status === 0 ? 'python3' : undefined;
  const run = (response: { FunctionError?: string; Payload: string }) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-remediation-'));
    fs.mkdirSync(path.join(dir, 'botocore'));
    fs.writeFileSync(path.join(dir, 'botocore', '__init__.py'), '');
    fs.writeFileSync(path.join(dir, 'botocore', 'config.py'), 'class Config:\n    def __init__(self, **kw):\n        self.kw = kw\n');
    fs.writeFileSync(
      path.join(dir, 'boto3.py'),
      [
        'import io, json, os',
        'calls = []',
        'class _Lambda:',
        '    def invoke(self, **kw):',
        '        calls.append(dict(kw, Payload=json.loads(kw["Payload"].decode("utf-8"))))',
        '        r = json.loads(os.environ["FAKE_RESPONSE"])',
        '        r["Payload"] = io.BytesIO(r["Payload"].encode("utf-8"))',
        '        return r',
        'def client(name, config=None):',
        '    calls.append({"client": name, "config": config.kw})',
        '    return _Lambda()',
      ].join('\n'),
    );
    fs.writeFileSync(path.join(dir, 'script.py'), REMEDIATION_SCRIPT);
    const main = [
      'import json, sys, boto3, script',
      'event = {"FunctionName": "arn:aws:lambda:eu-west-1:111111111111:function:fix", "GroupId": "sg-0123456789abcdef0", "RuleParameters": "{\\"check\\": \\"public-ingress\\"}", "DryRun": True}',
      'try:',
      '    out = script.handler(event, None)',
      '    print(json.dumps({"ok": out, "calls": boto3.calls}, default=str))',
      'except Exception as e:',
      '    print(json.dumps({"error": str(e), "calls": boto3.calls}, default=str))',
    ].join('\n');
    const r = spawnSync(python!, ['-c', main], { cwd: dir, env: { ...process.env, FAKE_RESPONSE: JSON.stringify(response) }, encoding: 'utf8' });
    fs.rmSync(dir, { recursive: true, force: true });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout);
  };

  (python ? test : test.skip)('success: one synchronous invocation with the agreed payload, the result as output', () => {
    const out = run({ Payload: '{"groupId":"sg-0123456789abcdef0","calls":[]}' });
    expect(out.ok).toEqual({ Payload: '{"groupId":"sg-0123456789abcdef0","calls":[]}' });
    expect(out.calls[0]).toEqual({ client: 'lambda', config: { connect_timeout: 10, read_timeout: 150, retries: { total_max_attempts: 1 } } });
    expect(out.calls[1]).toMatchObject({ FunctionName: 'arn:aws:lambda:eu-west-1:111111111111:function:fix', InvocationType: 'RequestResponse' });
    expect(out.calls[1].Payload).toEqual({
      groupId: 'sg-0123456789abcdef0',
      ruleParameters: '{"check": "public-ingress"}',
      dryRun: true,
    });
  });

  (python ? test : test.skip).each(['Handled', 'Unhandled'])('FunctionError %s: the step raises with the function\'s error', (kind) => {
    const out = run({ FunctionError: kind, Payload: '{"errorType":"UnsafeFix","errorMessage":"default egress rule"}' });
    expect(out.ok).toBeUndefined();
    expect(out.error).toBe(`sg-compliance remediation failed (${kind}): {"errorType":"UnsafeFix","errorMessage":"default egress rule"}`);
    expect(out.calls).toHaveLength(2); // one invocation, no retry
  });
});
