//! The one engine behind the Lambda and the CLI: from a parsed event (or a list of groups) and the
//! checks to the evaluations to deliver. Everything outside goes through the [`Cloud`] port
//! (`aws::AwsCloud` calls AWS, [`crate::cloud::InMemory`] answers from data in hand); verdicts come
//! from the pure [`checks`](crate::checks).

use std::collections::BTreeSet;

use crate::checks::{Check, Facts, Needs};
use crate::cloud::{Cloud, CloudError, Evaluation};
use crate::event::{
    ConfigEvent, ConfigItem, EventError, ItemSummary, Message, ResultToken, Timestamp,
    SECURITY_GROUP_TYPE,
};
use crate::model::{self, ModelError, SecurityGroup};
use crate::params::ParamError;
use crate::verdict::Verdict;

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
    #[error("this build has no AWS access: rebuild with the `aws` feature (`make install`, or `cargo install --path . --features aws`)")]
    NoAws,
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
            EngineError::NoAws => "NeedsLive",
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
                | EngineError::NoAws
        )
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
        Some(Verdict::not_applicable(
            "the resource left the rule's scope",
        ))
    } else if s.resource_type != SECURITY_GROUP_TYPE {
        Some(Verdict::not_applicable(format!(
            "{} is not evaluated by this rule (only {SECURITY_GROUP_TYPE})",
            s.resource_type
        )))
    } else if s.status.is_gone() {
        Some(Verdict::not_applicable(format!(
            "the security group is no longer recorded ({:?})",
            s.status
        )))
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
    let facts = gather_facts(cloud, &[check], &[&sg]).await?;
    Ok(item_outcome(s, check.judge(&sg, &facts).0))
}

/// One batched look-up per kind of fact for all the groups and checks of an invocation.
pub async fn gather_facts<C: Cloud>(
    cloud: &C,
    checks: &[&Check],
    groups: &[&SecurityGroup],
) -> Result<Facts, CloudError> {
    let mut needs = Needs::default();
    for check in checks {
        needs.merge(check.needs(groups));
    }
    let mut facts = Facts {
        group_vpcs: groups
            .iter()
            .filter_map(|g| Some((g.group_id.clone(), g.vpc_id.clone()?)))
            .collect(),
        ..Facts::default()
    };
    if !needs.load_balancer_candidates.is_empty() {
        facts.load_balancer_groups = cloud
            .load_balancer_groups(&needs.load_balancer_candidates)
            .await?;
    }
    if !needs.prefix_lists.is_empty() {
        facts.prefix_lists = cloud.prefix_lists(&needs.prefix_lists).await?;
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
    let facts = gather_facts(cloud, &[check], &refs).await?;
    for sg in &groups {
        let verdict = check.judge(sg, &facts).0;
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
                        let v = Verdict::not_applicable("the security group no longer exists");
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
