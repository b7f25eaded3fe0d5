//! The one engine behind the Lambda and the CLI: from a parsed event and check to the evaluations
//! to deliver. All AWS access goes through the [`Cloud`] trait: [`crate::aws::AwsCloud`] calls AWS,
//! [`Offline`] answers only what needs no AWS call.

use std::collections::BTreeSet;
use std::future::Future;

use serde::{Serialize, Serializer};

use crate::aws::CloudError;
use crate::event::{
    ConfigEvent, ConfigItem, EventError, ItemSummary, Message, ResultToken, Timestamp,
    SECURITY_GROUP_TYPE,
};
use crate::exposure::PrefixLists;
use crate::model::{self, GroupId, ModelError, SecurityGroup};
use crate::params::{Check, ParamError};
use crate::rules::{
    self, candidate_load_balancer_groups, referenced_prefix_lists, Compliance, Facts, Verdict,
};

/// One result to deliver with `PutEvaluations`; serialised with the API's field names.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    pub compliance_resource_type: String,
    pub compliance_resource_id: String,
    pub compliance_type: Compliance,
    pub annotation: String,
    #[serde(serialize_with = "as_text")]
    pub ordering_timestamp: Timestamp,
}

fn as_text<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

impl Evaluation {
    fn new(resource_type: &str, resource_id: &str, verdict: Verdict, at: Timestamp) -> Self {
        Evaluation {
            compliance_resource_type: resource_type.to_string(),
            compliance_resource_id: resource_id.to_string(),
            compliance_type: verdict.compliance,
            annotation: verdict.annotation,
            ordering_timestamp: at,
        }
    }
}

/// What an invocation decided.
#[derive(Debug, Default)]
pub struct Outcome {
    pub evaluations: Vec<Evaluation>,
    /// Resources that could not be evaluated (the others still are).
    pub failures: Vec<String>,
    /// Periodic runs: how clearing results of deleted groups went.
    pub stale_cleanup: Option<String>,
}

/// Everything that can stop an invocation. `kind()` is the stable Lambda error type.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Params(#[from] ParamError),
    #[error("{resource}: {source}")]
    Resource {
        resource: String,
        #[source]
        source: ModelError,
    },
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("{delivered} evaluations delivered, but {} resources could not be evaluated: {}", failures.len(), failures.join(" | "))]
    Partial {
        delivered: usize,
        failures: Vec<String>,
    },
}

impl EngineError {
    /// Stable error type names for Lambda diagnostics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::Event(_) => "InvalidEvent",
            EngineError::Params(_) => "InvalidRuleParameter",
            EngineError::Resource { .. } => "InvalidResource",
            EngineError::Cloud(CloudError::Offline(_)) => "NeedsLive",
            EngineError::Cloud(CloudError::FailedEvaluations { .. }) => "FailedEvaluations",
            EngineError::Cloud(_) => "AwsError",
            EngineError::Partial { .. } => "PartialFailure",
        }
    }

    /// Errors in what the caller gave us (CLI exit status 2), as opposed to AWS failures.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            EngineError::Event(_)
                | EngineError::Params(_)
                | EngineError::Resource { .. }
                | EngineError::Cloud(CloudError::Offline(_))
        )
    }
}

/// The AWS calls the engine needs, returning crate-owned types.
pub trait Cloud {
    /// The full item of an oversized notification (`GetResourceConfigHistory`).
    fn fetch_item(
        &self,
        summary: &ItemSummary,
    ) -> impl Future<Output = Result<ConfigItem, CloudError>> + Send;
    /// Every security group in the region (`DescribeSecurityGroups`); bad ones come back as errors.
    fn list_security_groups(
        &self,
    ) -> impl Future<Output = Result<Vec<Result<SecurityGroup, ModelError>>, CloudError>> + Send;
    /// Resource ids the rule has COMPLIANT/NON_COMPLIANT results for (`GetComplianceDetailsByConfigRule`).
    fn evaluated_resources(
        &self,
        rule_name: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, CloudError>> + Send;
    /// Which of `candidates` are attached to Elastic Load Balancing interfaces (`DescribeNetworkInterfaces`).
    fn load_balancer_groups(
        &self,
        candidates: &BTreeSet<GroupId>,
    ) -> impl Future<Output = Result<BTreeSet<GroupId>, CloudError>> + Send;
    /// Entries of managed prefix lists (`GetManagedPrefixListEntries`); unreadable ones are left out.
    fn prefix_lists(
        &self,
        ids: &BTreeSet<String>,
    ) -> impl Future<Output = Result<PrefixLists, CloudError>> + Send;
    /// Delivers evaluations (`PutEvaluations`, 100 a call, failed ones retried).
    fn put_evaluations(
        &self,
        evaluations: &[Evaluation],
        token: &ResultToken,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
}

/// No AWS access: answers what it can and says what needs `--live`.
pub struct Offline;

impl Cloud for Offline {
    async fn fetch_item(&self, _: &ItemSummary) -> Result<ConfigItem, CloudError> {
        Err(CloudError::Offline(
            "an oversized configuration item must be fetched with GetResourceConfigHistory",
        ))
    }
    async fn list_security_groups(
        &self,
    ) -> Result<Vec<Result<SecurityGroup, ModelError>>, CloudError> {
        Err(CloudError::Offline(
            "a scheduled evaluation lists the region's security groups with DescribeSecurityGroups",
        ))
    }
    async fn evaluated_resources(&self, _: &str) -> Result<Vec<(String, String)>, CloudError> {
        Err(CloudError::Offline(
            "clearing results of deleted groups reads GetComplianceDetailsByConfigRule",
        ))
    }
    async fn load_balancer_groups(
        &self,
        _: &BTreeSet<GroupId>,
    ) -> Result<BTreeSet<GroupId>, CloudError> {
        Err(CloudError::Offline(
            "the web-tier check looks up which source groups belong to load balancers (DescribeNetworkInterfaces); or set loadBalancerSecurityGroupIds",
        ))
    }
    async fn prefix_lists(&self, _: &BTreeSet<String>) -> Result<PrefixLists, CloudError> {
        Ok(PrefixLists::new())
    }
    async fn put_evaluations(&self, _: &[Evaluation], _: &ResultToken) -> Result<(), CloudError> {
        Err(CloudError::Offline(
            "delivering evaluations calls PutEvaluations",
        ))
    }
}

/// Decides the evaluations for one event.
pub async fn evaluate_event<C: Cloud>(
    cloud: &C,
    event: &ConfigEvent,
    check: &Check,
) -> Result<Outcome, EngineError> {
    match &event.message {
        Message::Change { item } => match not_applicable(&item.summary, event.event_left_scope) {
            Some(outcome) => Ok(outcome),
            None => evaluate_item(cloud, item, check).await,
        },
        Message::Oversized { summary } => {
            if let Some(outcome) = not_applicable(summary, event.event_left_scope) {
                return Ok(outcome);
            }
            let item = cloud.fetch_item(summary).await?;
            match not_applicable(&item.summary, false) {
                Some(outcome) => Ok(outcome),
                None => evaluate_item(cloud, &item, check).await,
            }
        }
        Message::Scheduled { notification_time } => {
            sweep(
                cloud,
                event.config_rule_name.as_deref(),
                check,
                *notification_time,
            )
            .await
        }
    }
}

/// The one evaluation of a configuration item, ordered at its capture time.
fn item_outcome(s: &ItemSummary, verdict: Verdict) -> Outcome {
    Outcome {
        evaluations: vec![Evaluation::new(
            &s.resource_type,
            &s.resource_id,
            verdict,
            s.capture_time,
        )],
        ..Default::default()
    }
}

/// The verdict-independent NOT_APPLICABLE cases, so stale results clear.
fn not_applicable(s: &ItemSummary, left_scope: bool) -> Option<Outcome> {
    let verdict = if left_scope {
        Some(Verdict::new(
            Compliance::NotApplicable,
            "the resource left the rule's scope",
        ))
    } else if s.resource_type != SECURITY_GROUP_TYPE {
        Some(Verdict::new(
            Compliance::NotApplicable,
            format!(
                "{} is not evaluated by this rule (only {SECURITY_GROUP_TYPE})",
                s.resource_type
            ),
        ))
    } else if s.status.is_gone() {
        Some(Verdict::new(
            Compliance::NotApplicable,
            format!("the security group is no longer recorded ({:?})", s.status),
        ))
    } else {
        None
    };
    verdict.map(|v| item_outcome(s, v))
}

async fn evaluate_item<C: Cloud>(
    cloud: &C,
    item: &ConfigItem,
    check: &Check,
) -> Result<Outcome, EngineError> {
    let s = &item.summary;
    let resource = |source| EngineError::Resource {
        resource: s.resource_id.clone(),
        source,
    };
    let conf = item
        .configuration
        .as_ref()
        .ok_or_else(|| resource(ModelError::Missing("configuration")))?;
    let sg = model::from_config_item(conf, &item.tags).map_err(resource)?;
    let facts = gather_facts(cloud, check, &[&sg]).await?;
    Ok(item_outcome(s, rules::evaluate(check, &sg, &facts)))
}

/// One batched look-up per kind of fact for all the groups of an invocation.
async fn gather_facts<C: Cloud>(
    cloud: &C,
    check: &Check,
    groups: &[&SecurityGroup],
) -> Result<Facts, CloudError> {
    let mut facts = Facts::default();
    let needs_prefix_lists = match check {
        Check::WebTier(p) => {
            if p.load_balancer_groups.is_none() {
                let candidates = candidate_load_balancer_groups(p, groups.iter().copied());
                if !candidates.is_empty() {
                    facts.load_balancer_groups = cloud.load_balancer_groups(&candidates).await?;
                }
            }
            p.forbid_public_ingress
        }
        _ => true,
    };
    if needs_prefix_lists {
        let ids = referenced_prefix_lists(groups.iter().copied());
        if !ids.is_empty() {
            facts.prefix_lists = cloud.prefix_lists(&ids).await?;
        }
    }
    Ok(facts)
}

async fn sweep<C: Cloud>(
    cloud: &C,
    rule_name: Option<&str>,
    check: &Check,
    at: Timestamp,
) -> Result<Outcome, EngineError> {
    let mut outcome = Outcome::default();
    let mut groups = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for listed in cloud.list_security_groups().await? {
        match listed {
            Ok(sg) => {
                seen.insert(sg.group_id.to_string());
                groups.push(sg);
            }
            Err(e) => {
                if let ModelError::Invalid { group, .. } = &e {
                    seen.insert(group.clone());
                }
                outcome.failures.push(e.to_string());
            }
        }
    }
    let refs: Vec<&SecurityGroup> = groups.iter().collect();
    let facts = gather_facts(cloud, check, &refs).await?;
    for sg in &groups {
        let verdict = rules::evaluate(check, sg, &facts);
        outcome.evaluations.push(Evaluation::new(
            SECURITY_GROUP_TYPE,
            sg.group_id.as_str(),
            verdict,
            at,
        ));
    }
    outcome.stale_cleanup = Some(match rule_name {
        None => "skipped: the event has no configRuleName".to_string(),
        Some(name) => match cloud.evaluated_resources(name).await {
            Ok(previous) => {
                let mut cleared = 0;
                for (rtype, id) in previous {
                    if rtype == SECURITY_GROUP_TYPE && !seen.contains(&id) {
                        cleared += 1;
                        let v = Verdict::new(
                            Compliance::NotApplicable,
                            "the security group no longer exists",
                        );
                        outcome
                            .evaluations
                            .push(Evaluation::new(&rtype, &id, v, at));
                    }
                }
                format!("cleared {cleared}")
            }
            // Results of deleted groups stay until the next run; today's verdicts still go out.
            Err(e) => format!("skipped: {e}"),
        },
    });
    Ok(outcome)
}

/// Delivers an outcome, then reports resources that could not be evaluated as an error so that
/// Config retries (every evaluation that could be made has been delivered first).
pub async fn deliver<C: Cloud>(
    cloud: &C,
    outcome: &Outcome,
    token: &ResultToken,
) -> Result<(), EngineError> {
    cloud.put_evaluations(&outcome.evaluations, token).await?;
    if outcome.failures.is_empty() {
        Ok(())
    } else {
        Err(EngineError::Partial {
            delivered: outcome.evaluations.len(),
            failures: outcome.failures.clone(),
        })
    }
}

/// Parses the event and its rule parameters (with optional overrides) into what the engine runs.
pub fn prepare(
    event_json: &str,
    overrides: &[(String, String)],
) -> Result<(ConfigEvent, Check), EngineError> {
    let mut event = ConfigEvent::from_json(event_json)?;
    for (k, v) in overrides {
        event.rule_parameters.insert(k.clone(), v.clone());
    }
    let check = Check::from_params(&event.rule_parameters)?;
    Ok((event, check))
}
