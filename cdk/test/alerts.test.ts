import { Match, Template } from 'aws-cdk-lib/assertions';
import { SgComplianceStack } from '../lib/sg-compliance-stack';
import { LB_SG, functionRoleId, logicalId, newApp, roleActions, synthWithNag } from './helpers';

const TOPIC = 'arn:aws:sns:eu-west-1:999999999999:secops-alerts';

describe('alerts (single account, remediation on, own topic)', () => {
  let t: Template;
  beforeAll(() => {
    const app = newApp();
    const stack = new SgComplianceStack(app, 'Alerts', {
      env: { account: '111111111111', region: 'eu-west-1' },
      rules: {
        webTier: { loadBalancerSecurityGroupIds: [LB_SG], remediation: { enabled: true } },
        publicIngressSshRdp: { remediation: { enabled: true } },
      },
      alerts: {},
    });
    synthWithNag(app); // no unacknowledged cdk-nag findings with alerts on
    t = Template.fromStack(stack);
  });

  test('KMS-encrypted topic (key rotation), SSL-only', () => {
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      }),
    });
  });

  test('EventBridge: compliance changes of exactly these rules, failed remediation executions, to the topic', () => {
    const topic = { Ref: logicalId(t, 'AWS::SNS::Topic') };
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.config'],
        'detail-type': ['Config Rules Compliance Change'],
        // Only changes to NON_COMPLIANT: first evaluations to COMPLIANT / NOT_APPLICABLE (a first deploy) do not alert.
        detail: {
          configRuleName: ['web-tier-security-group', 'public-ingress-ssh-rdp', 'public-ingress'],
          newEvaluationResult: { complianceType: ['NON_COMPLIANT'] },
        },
      },
      Targets: [Match.objectLike({ Arn: topic })],
    });
    // No back-to-compliant rule unless asked for.
    expect(JSON.stringify(t.findResources('AWS::Events::Rule'))).not.toContain('oldEvaluationResult');
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ssm'],
        'detail-type': ['EC2 Automation Execution Status-change Notification'],
        detail: {
          // The two rules' own remediation documents (by generated name).
          Definition: Object.keys(t.findResources('AWS::SSM::Document')).map((id) => ({ Ref: id })),
          Status: ['Failed', 'TimedOut', 'Cancelled'],
        },
      },
      Targets: [Match.objectLike({ Arn: topic })],
    });
  });

  test('EventBridge publishes with its own role: trusted by events.amazonaws.com of this account, exact actions', () => {
    const roleId = logicalId(t, 'AWS::IAM::Role', { Description: Match.stringLikeRegexp('EventBridge rules publish') });
    for (const rule of Object.values(t.findResources('AWS::Events::Rule'))) {
      expect(rule.Properties.Targets[0].RoleArn).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
    }
    const role = t.findResources('AWS::IAM::Role')[roleId].Properties;
    expect(role.AssumeRolePolicyDocument.Statement[0]).toMatchObject({
      Principal: { Service: 'events.amazonaws.com' },
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    });
    expect(roleActions(t, roleId)).toEqual(['kms:Decrypt', 'kms:GenerateDataKey', 'sns:Publish']);
    // The topic policy does not open the topic to the events.amazonaws.com service principal.
    expect(JSON.stringify(t.findResources('AWS::SNS::TopicPolicy'))).not.toContain('events.amazonaws.com');
  });

  test('alarms on Errors, Throttles and the on-failure queue notify the topic', () => {
    const topic = { Ref: logicalId(t, 'AWS::SNS::Topic') };
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    expect(alarms.map((a) => a.MetricName).sort()).toEqual(['ApproximateNumberOfMessagesVisible', 'Errors', 'Throttles']);
    for (const a of alarms) {
      expect(a.AlarmActions).toEqual([topic]);
      expect(a).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
    }
  });

  test('asynchronous invocations: on-failure destination is an encrypted queue the function may send to', () => {
    const queue = logicalId(t, 'AWS::SQS::Queue');
    t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queue, 'Arn'] } } },
    });
    expect(roleActions(t, functionRoleId(t))).toContain('sqs:SendMessage');
  });
});

describe('alerts variants', () => {
  test('organization mode: OrgConfigRule-<name>- prefixes, no remediation rule; existing topic by ARN, no new topic', () => {
    const app = newApp();
    const stack = new SgComplianceStack(app, 'OrgAlerts', {
      env: { account: '999999999999', region: 'eu-west-1' },
      organization: { organizationId: 'o-a1b2c3d4e5', aggregator: false },
      alerts: { topicArn: TOPIC },
    });
    synthWithNag(app);
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::SNS::Topic', 0);
    t.resourceCountIs('AWS::KMS::Key', 0);
    t.resourceCountIs('AWS::Events::Rule', 1);
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        detail: {
          configRuleName: [
            { prefix: 'OrgConfigRule-web-tier-security-group-' },
            { prefix: 'OrgConfigRule-public-ingress-ssh-rdp-' },
            { prefix: 'OrgConfigRule-public-ingress-' },
          ],
        },
      }),
      Targets: [Match.objectLike({ Arn: TOPIC })],
    });
    for (const a of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) expect(a.Properties.AlarmActions).toEqual([TOPIC]);
  });

  test('no alerts by default; a bad topic ARN fails', () => {
    const t = Template.fromStack(new SgComplianceStack(newApp(), 'NoAlerts'));
    for (const type of ['AWS::SNS::Topic', 'AWS::Events::Rule', 'AWS::CloudWatch::Alarm', 'AWS::SQS::Queue', 'AWS::Lambda::EventInvokeConfig']) {
      t.resourceCountIs(type, 0);
    }
    expect(() => new SgComplianceStack(newApp(), 'Bad', { alerts: { topicArn: 'secops' } })).toThrow(/not an SNS topic ARN/);
    const env = { account: '111111111111', region: 'us-east-1' };
    expect(() => new SgComplianceStack(newApp(), 'Foreign', { env, alerts: { topicArn: TOPIC } })).toThrow(
      /own account and region \(111111111111\/us-east-1\), not 999999999999\/eu-west-1/,
    );
    // An environment-agnostic stack names no token in the message.
    expect(() => new SgComplianceStack(newApp(), 'Agnostic', { env: { region: 'us-east-1' }, alerts: { topicArn: TOPIC } })).toThrow(
      /own account and region \(the deploying account\/us-east-1\), not 999999999999\/eu-west-1/,
    );
  });

  test('onCompliant (alertOnCompliant=true): a second rule on NON_COMPLIANT -> COMPLIANT, to the same topic with the same role', () => {
    const app = newApp();
    const stack = new SgComplianceStack(app, 'OnCompliant', { env: { account: '111111111111', region: 'eu-west-1' }, alerts: { onCompliant: true } });
    synthWithNag(app);
    const t = Template.fromStack(stack);
    const patterns = Object.values(t.findResources('AWS::Events::Rule')).map((r) => r.Properties.EventPattern.detail);
    expect(patterns).toEqual([
      { configRuleName: ['web-tier-security-group', 'public-ingress-ssh-rdp', 'public-ingress'], newEvaluationResult: { complianceType: ['NON_COMPLIANT'] } },
      {
        configRuleName: ['web-tier-security-group', 'public-ingress-ssh-rdp', 'public-ingress'],
        newEvaluationResult: { complianceType: ['COMPLIANT'] },
        oldEvaluationResult: { complianceType: ['NON_COMPLIANT'] },
      },
    ]);
  });

  test('EventBridge matches the patterns as intended on sample Config compliance-change events', () => {
    // The event pattern semantics (exact string in list, nested objects; a missing key never matches) on events shaped
    // like AWS Config's compliance-change notifications.
    const matches = (pattern: Record<string, unknown>, event: Record<string, unknown>): boolean =>
      Object.entries(pattern).every(([k, v]) =>
        Array.isArray(v)
          ? v.includes(event[k])
          : typeof event[k] === 'object' && event[k] !== null && matches(v as Record<string, unknown>, event[k] as Record<string, unknown>),
      );
    const app = newApp();
    const stack = new SgComplianceStack(app, 'Semantics', { env: { account: '111111111111', region: 'eu-west-1' }, alerts: { onCompliant: true } });
    const [nonCompliant, backToCompliant] = Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule')).map(
      (r) => r.Properties.EventPattern.detail,
    );
    const event = (next: string, old?: string) => ({
      configRuleName: 'public-ingress',
      newEvaluationResult: { complianceType: next },
      ...(old ? { oldEvaluationResult: { complianceType: old } } : {}),
    });
    expect(matches(nonCompliant, event('COMPLIANT'))).toBe(false); // first evaluation: no alert
    expect(matches(nonCompliant, event('NOT_APPLICABLE'))).toBe(false);
    expect(matches(nonCompliant, event('NON_COMPLIANT'))).toBe(true);
    expect(matches(nonCompliant, event('NON_COMPLIANT', 'COMPLIANT'))).toBe(true);
    expect(matches(backToCompliant, event('COMPLIANT'))).toBe(false);
    expect(matches(backToCompliant, event('COMPLIANT', 'NOT_APPLICABLE'))).toBe(false);
    expect(matches(backToCompliant, event('COMPLIANT', 'NON_COMPLIANT'))).toBe(true);
  });
});
