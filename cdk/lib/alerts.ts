import { Aws, CfnCondition, CfnResource, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RuleConfigError } from './rules';
import { SgComplianceFunction } from './sg-compliance-function';

export const COMPLIANCE_CHANGE_DETAIL_TYPE = 'Config Rules Compliance Change';
export const AUTOMATION_EXECUTION_DETAIL_TYPE = 'EC2 Automation Execution Status-change Notification';
export const FAILED_AUTOMATION_STATUSES = ['Failed', 'TimedOut', 'Cancelled'];
/** Prefix of the names organization rules get in member accounts (`OrgConfigRule-<name>-<suffix>`). */
export const ORGANIZATION_RULE_NAME_PREFIX = 'OrgConfigRule-';

/** Config names the rules of a conformance pack `<name>-conformance-pack-<suffix>`. */
export const CONFORMANCE_PACK_RULE_NAME_INFIX = '-conformance-pack-';

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

export interface AlertsOptions {
  /**
   * Existing SNS topic (same account and region) to notify. EventBridge publishes with a role of the stack (identity
   * policy, no topic policy change); if the topic is encrypted with a customer managed key, that key must let the
   * role and cloudwatch.amazonaws.com use it.
   * @default a new KMS-encrypted topic (subscribe to it after the deploy)
   */
  readonly topicArn?: string;
  /**
   * Also alert when a group goes back from NON_COMPLIANT to COMPLIANT (a second EventBridge rule).
   * @default false: only changes to NON_COMPLIANT
   */
  readonly onCompliant?: boolean;
}

/** The compliance types that alert: a group (re)evaluated NON_COMPLIANT, including its first evaluation. */
export const ALERT_COMPLIANCE_TYPES = ['NON_COMPLIANT'];

export interface SgComplianceAlertsProps extends AlertsOptions {
  readonly function: SgComplianceFunction;
  /** Rule names as deployed (organization mode: the organization rule names). */
  readonly ruleNames: string[];
  readonly organization: boolean;
  /** Also match the names conformance packs give the rules (`<name>-conformance-pack-<suffix>`). */
  readonly conformancePackRuleNames?: boolean;
  /** Organization remediation: rules deployed by the organization conformance pack (`<name>-conformance-pack-<suffix>`). */
  readonly organizationPackRuleNames?: string[];
  /** SSM documents run by remediations (single-account mode): failed executions are reported. */
  readonly remediationDocuments: string[];
  /** Region-agnostic template: the condition the remediation resources carry (the failure rule gets it too). */
  readonly remediationCondition?: CfnCondition;
}

/**
 * Opt-in operator alerts around the rules, all to one SNS topic:
 *  - EventBridge rule on "Config Rules Compliance Change" to NON_COMPLIANT for these rules (optionally a second one on
 *    NON_COMPLIANT -> COMPLIANT; this account and region; in organization
 *    mode the deploying account's own copies `OrgConfigRule-<name>-*`: member accounts' events stay in those accounts);
 *  - EventBridge rule on failed/timed-out/cancelled SSM Automation executions of the remediation documents;
 *  - CloudWatch alarms on the function's Errors and Throttles, and on the on-failure queue;
 *  - an SQS on-failure destination for asynchronous invocations (how Config invokes the function), kept 14 days.
 */
export class SgComplianceAlerts extends Construct {
  public readonly topic: sns.ITopic;
  /** The key of the topic this construct creates (none with `topicArn`). */
  public readonly topicKey?: kms.Key;
  public readonly onFailureQueue: sqs.Queue;
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly complianceChangeRule: events.Rule;
  /** With `onCompliant`. */
  public backToCompliantRule?: events.Rule;
  public readonly remediationFailureRule?: events.Rule;

  constructor(scope: Construct, id: string, props: SgComplianceAlertsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const fn = props.function.function;

    if (props.topicArn !== undefined) {
      if (!TOPIC_ARN.test(props.topicArn)) throw new RuleConfigError(`alertTopicArn ${JSON.stringify(props.topicArn)} is not an SNS topic ARN`);
      const [, , , topicRegion, topicAccount] = props.topicArn.split(':');
      const foreign = (ours: string, theirs: string) => !Token.isUnresolved(ours) && ours !== theirs;
      if (foreign(stack.region, topicRegion) || foreign(stack.account, topicAccount)) {
        throw new RuleConfigError(
          `alertTopicArn must be a topic of the stack's own account and region (${shown(stack.account, 'the deploying account')}/` +
            `${shown(stack.region, 'the deploying region')}), not ${topicAccount}/${topicRegion}: EventBridge rules ` +
            'and alarms notify topics of their own account and region. Give one topic per region (alertTopicArn per deploy) or let the app create it.',
        );
      }
      this.topic = sns.Topic.fromTopicArn(this, 'Topic', props.topicArn);
    } else {
      const key = new kms.Key(this, 'TopicKey', {
        description: 'sg-compliance alerts topic encryption',
        enableKeyRotation: true,
      });
      // CloudWatch alarms publish to the encrypted topic as cloudwatch.amazonaws.com and need the key (the topic
      // policy below limits them to this account's alarms). EventBridge publishes with its own role (below).
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'CloudWatchAlarms',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
        }),
      );
      const topic = new sns.Topic(this, 'Topic', {
        displayName: 'sg-compliance alerts',
        masterKey: key,
        enforceSSL: true,
      });
      // CloudWatch alarms publish as cloudwatch.amazonaws.com (EventBridge gets its statement from the rule target).
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'CloudWatchAlarms',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: {
            StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
            ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
          },
        }),
      );
      this.topic = topic;
      this.topicKey = key;
    }
    // EventBridge publishes with a role of this stack (not the service principal in the topic policy): an existing
    // topic needs no policy change, and the role trusts EventBridge of this account only.
    const publishRole = new iam.Role(this, 'EventsPublishRole', {
      description: 'sg-compliance: EventBridge rules publish alerts to the topic',
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
    });
    publishRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }));
    if (this.topicKey) {
      // What SNS needs from a publisher to an encrypted topic, without the kms:GenerateDataKey* wildcard of grantPublish.
      publishRole.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [this.topicKey.keyArn] }),
      );
    }
    const topicArn = this.topic.topicArn;
    const toTopic: events.IRuleTarget = { bind: () => ({ arn: topicArn, role: publishRole }) };

    // Failed asynchronous invocations (after Lambda's retries) land here with the Config event that failed.
    this.onFailureQueue = new sqs.Queue(this, 'OnFailureQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.onFailureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter destination (Lambda on-failure destination) of the function; it has no DLQ of its own.',
    });
    fn.configureAsyncInvoke({
      onFailure: new destinations.SqsDestination(this.onFailureQueue),
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
    });

    const ruleNames = props.ruleNames.flatMap((name): (string | { prefix: string })[] => {
      if (props.organization) return [{ prefix: `${ORGANIZATION_RULE_NAME_PREFIX}${name}-` }];
      return props.conformancePackRuleNames ? [name, { prefix: `${name}${CONFORMANCE_PACK_RULE_NAME_INFIX}` }] : [name];
    });
    for (const name of props.organizationPackRuleNames ?? []) ruleNames.push({ prefix: `${name}${CONFORMANCE_PACK_RULE_NAME_INFIX}` });
    // Only changes to NON_COMPLIANT: a first evaluation (no old result) to COMPLIANT or NOT_APPLICABLE, which every group
    // gets on a first deploy, does not alert. EventBridge cannot aggregate a burst into one message (no windowing in
    // patterns or input transformers), so each group that becomes non-compliant is one message.
    this.complianceChangeRule = new events.Rule(this, 'ComplianceChange', {
      description: 'sg-compliance: a security group became non-compliant',
      eventPattern: {
        source: ['aws.config'],
        detailType: [COMPLIANCE_CHANGE_DETAIL_TYPE],
        detail: { configRuleName: ruleNames, newEvaluationResult: { complianceType: ALERT_COMPLIANCE_TYPES } },
      },
      targets: [toTopic],
    });
    this.complianceChangeRule.node.addDependency(publishRole);
    if (props.onCompliant) {
      this.backToCompliantRule = new events.Rule(this, 'BackToCompliant', {
        description: 'sg-compliance: a non-compliant security group became compliant',
        eventPattern: {
          source: ['aws.config'],
          detailType: [COMPLIANCE_CHANGE_DETAIL_TYPE],
          detail: {
            configRuleName: ruleNames,
            newEvaluationResult: { complianceType: ['COMPLIANT'] },
            oldEvaluationResult: { complianceType: ['NON_COMPLIANT'] },
          },
        },
        targets: [toTopic],
      });
      this.backToCompliantRule.node.addDependency(publishRole);
    }

    if (props.remediationDocuments.length > 0) {
      this.remediationFailureRule = new events.Rule(this, 'RemediationFailed', {
        description: 'sg-compliance: a remediation (SSM Automation execution) failed, timed out or was cancelled',
        eventPattern: {
          source: ['aws.ssm'],
          detailType: [AUTOMATION_EXECUTION_DETAIL_TYPE],
          detail: { Definition: props.remediationDocuments, Status: FAILED_AUTOMATION_STATUSES },
        },
        targets: [toTopic],
      });
      this.remediationFailureRule.node.addDependency(publishRole);
      if (props.remediationCondition) {
        (this.remediationFailureRule.node.defaultChild as CfnResource).cfnOptions.condition = props.remediationCondition;
      }
    }

    const alarm = (alarmId: string, metric: cloudwatch.IMetric, description: string) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(new cwActions.SnsAction(this.topic));
      this.alarms.push(a);
    };
    const fiveMinutes = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
    alarm('ErrorsAlarm', fn.metricErrors(fiveMinutes), `sg-compliance function errors (${stack.region})`);
    alarm('ThrottlesAlarm', fn.metricThrottles(fiveMinutes), `sg-compliance function throttles (${stack.region})`);
    alarm(
      'OnFailureAlarm',
      this.onFailureQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      `sg-compliance evaluations that failed after retries are waiting in the on-failure queue (${stack.region})`,
    );
  }
}

/** A value for a message: the value itself, or `unresolved` when it is a token (environment-agnostic stack). */
function shown(value: string, unresolved: string): string {
  return Token.isUnresolved(value) ? unresolved : value;
}
