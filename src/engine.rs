//! The one engine behind the Lambda and the CLI: from a parsed event (or a list of groups) and the
//! checks to the evaluations to deliver. Everything outside goes through the [`Cloud`] port
//! (`aws::AwsCloud` calls AWS, [`crate::cloud::InMemory`] answers from data in hand); verdicts come
//! from the pure [`checks`](crate::checks).

use std::collections::{BTreeMap, BTreeSet};

use crate::checks::{Check, Facts, Needs};
use crate::cloud::{Cloud, CloudError, Evaluation};
use crate::event::{
    ConfigEvent, ConfigItem, EventError, ItemSummary, Message, ResultToken, Timestamp,
    SECURITY_GROUP_TYPE,
};
use crate::exposure::PrefixLists;
use crate::model::GroupInfo;
use crate::model::{self, GroupId, ModelError, SecurityGroup};
use crate::params::ParamError;
use crate::verdict::{Compliance, Verdict};

/// What an invocation decided.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The evaluations, when collected ([`evaluate_event`]); empty when they were delivered as
    /// they were made ([`evaluate_and_deliver`]), which keeps a sweep's memory to two pages.
    pub evaluations: Vec<Evaluation>,
    /// Resources that could not be evaluated (the others still are).
    pub failures: Vec<String>,
    /// Periodic runs: how clearing results of deleted groups went.
    pub stale_cleanup: Option<String>,
    /// Evaluations made, by compliance type.
    pub compliant: usize,
    pub non_compliant: usize,
    pub not_applicable: usize,
    /// Never made by the rule itself (only `scan` judges values unknown before deploy).
    pub insufficient_data: usize,
    /// Evaluations Config accepted ([`evaluate_and_deliver`]).
    pub delivered: usize,
    /// Evaluations Config kept rejecting, and the first of them.
    pub rejected: usize,
    pub first_rejected: Option<String>,
}

impl Outcome {
    /// All evaluations made.
    pub fn total(&self) -> usize {
        self.compliant + self.non_compliant + self.not_applicable + self.insufficient_data
    }

    /// Counts `evaluations`, then collects them (`token` = `None`) or delivers them right away.
    async fn emit<C: Cloud>(
        &mut self,
        cloud: &C,
        token: Option<&ResultToken>,
        evaluations: Vec<Evaluation>,
    ) -> Result<(), CloudError> {
        // Findings at INFO; the (many) compliant and not-applicable results of a sweep at DEBUG.
        for e in &evaluations {
            match e.compliance_type {
                Compliance::Compliant => self.compliant += 1,
                Compliance::NonCompliant => self.non_compliant += 1,
                Compliance::NotApplicable => self.not_applicable += 1,
                Compliance::InsufficientData => self.insufficient_data += 1,
            }
            if e.compliance_type == Compliance::NonCompliant {
                tracing::info!(resource = %e.compliance_resource_id, compliance = %e.compliance_type, annotation = %e.annotation, "evaluation");
            } else {
                tracing::debug!(resource = %e.compliance_resource_id, compliance = %e.compliance_type, annotation = %e.annotation, "evaluation");
            }
        }
        let Some(token) = token else {
            self.evaluations.extend(evaluations);
            return Ok(());
        };
        match cloud.put_evaluations(&evaluations, token).await {
            Ok(()) => self.delivered += evaluations.len(),
            // The other evaluations were delivered; the rejected ones fail the invocation at the end.
            Err(CloudError::FailedEvaluations { count, first }) => {
                self.delivered += evaluations.len() - count;
                self.rejected += count;
                self.first_rejected.get_or_insert(first);
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }
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

/// Decides the evaluations for one event and collects them (the CLI, tests).
pub async fn evaluate_event<C: Cloud>(
    cloud: &C,
    event: &ConfigEvent,
    check: &Check,
) -> Result<Outcome, EngineError> {
    run(cloud, event, check, None).await
}

/// Decides the evaluations for one event and delivers them as they are made (the Lambda): a
/// sweep evaluates and delivers page by page, each page while the next is fetched, holding at most
/// two pages and the ids it has seen.
/// Fails after delivering everything else when Config kept rejecting evaluations
/// (`FailedEvaluations`) or some groups could not be evaluated (`PartialFailure`).
pub async fn evaluate_and_deliver<C: Cloud>(
    cloud: &C,
    event: &ConfigEvent,
    check: &Check,
) -> Result<Outcome, EngineError> {
    let outcome = run(cloud, event, check, Some(&event.result_token)).await?;
    if let Some(first) = &outcome.first_rejected {
        return Err(CloudError::FailedEvaluations {
            count: outcome.rejected,
            first: first.clone(),
        }
        .into());
    }
    if !outcome.failures.is_empty() {
        return Err(EngineError::Partial {
            delivered: outcome.delivered,
            failures: outcome.failures,
        });
    }
    Ok(outcome)
}

async fn run<C: Cloud>(
    cloud: &C,
    event: &ConfigEvent,
    check: &Check,
    token: Option<&ResultToken>,
) -> Result<Outcome, EngineError> {
    let mut outcome = Outcome::default();
    // A load balancer in the rule's scope (an option of the CDK app): it is NOT_APPLICABLE itself,
    // and the groups referencing its groups, old and new, are judged again.
    if let Message::Change { item } = &event.message {
        if item.summary.resource_type == crate::event::LOAD_BALANCER_TYPE {
            let mut evaluations = vec![item_evaluation(
                &item.summary,
                Verdict::not_applicable(
                    "a load balancer: the groups that reference its security groups are evaluated instead",
                ),
            )];
            if check.depends_on_other_groups() {
                let at = item.summary.capture_time;
                for g in item.load_balancer_groups() {
                    let Ok(id) = GroupId::parse(&g) else { continue };
                    for e in dependents(cloud, check, &id, at, &mut outcome).await? {
                        if !evaluations
                            .iter()
                            .any(|x| x.compliance_resource_id == e.compliance_resource_id)
                        {
                            evaluations.push(e);
                        }
                    }
                }
            }
            outcome.emit(cloud, token, evaluations).await?;
            return Ok(outcome);
        }
    }
    let evaluation = match &event.message {
        Message::Change { item } => match not_applicable(&item.summary, event.event_left_scope) {
            Some(e) => e,
            None => evaluate_item(cloud, item, check).await?,
        },
        Message::Oversized { summary } => match not_applicable(summary, event.event_left_scope) {
            Some(e) => e,
            None => {
                let item = cloud.fetch_item(summary).await?;
                match not_applicable(&item.summary, false) {
                    Some(e) => e,
                    None => evaluate_item(cloud, &item, check).await?,
                }
            }
        },
        Message::Scheduled { notification_time } => {
            let rule = event.config_rule_name.as_deref();
            sweep(cloud, rule, check, *notification_time, token, &mut outcome).await?;
            return Ok(outcome);
        }
    };
    let mut evaluations = vec![evaluation];
    if check.depends_on_other_groups()
        && evaluations[0].compliance_resource_type == SECURITY_GROUP_TYPE
    {
        if let Ok(id) = GroupId::parse(&evaluations[0].compliance_resource_id) {
            let at = evaluations[0].ordering_timestamp;
            evaluations.extend(dependents(cloud, check, &id, at, &mut outcome).await?);
        }
    }
    outcome.emit(cloud, token, evaluations).await?;
    Ok(outcome)
}

/// At most this many groups that reference a changed group are re-evaluated in its invocation;
/// beyond them the periodic sweep takes over.
pub const DEPENDENTS_PER_INVOCATION: usize = 1000;

/// The groups whose verdict depends on `id` (they reference it) under a check that reads other
/// groups, re-evaluated now: one page of `DescribeSecurityGroups` filtered on
/// `ip-permission.group-id`, one batched fact look-up, evaluations at the trigger's time.
async fn dependents<C: Cloud>(
    cloud: &C,
    check: &Check,
    id: &GroupId,
    at: Timestamp,
    outcome: &mut Outcome,
) -> Result<Vec<Evaluation>, EngineError> {
    let ((page, _), more) = cloud
        .referencing_groups(id, DEPENDENTS_PER_INVOCATION)
        .await?;
    if more {
        tracing::info!(
            group = %id,
            max = DEPENDENTS_PER_INVOCATION,
            "more groups reference this group than one invocation re-evaluates; the periodic sweep evaluates the rest"
        );
    }
    let mut groups = Vec::with_capacity(page.len());
    for g in page {
        match g {
            Ok(g) => groups.push(g),
            Err(e) => outcome.failures.push(e.to_string()),
        }
    }
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let refs: Vec<&SecurityGroup> = groups.iter().collect();
    let facts = gather_facts(cloud, &[check], &refs).await?;
    Ok(groups
        .iter()
        .map(|g| {
            Evaluation::new(
                SECURITY_GROUP_TYPE,
                g.group_id.as_str(),
                check.judge(g, &facts).0,
                at,
            )
        })
        .collect())
}

/// The one evaluation of a configuration item, ordered at its capture time.
fn item_evaluation(s: &ItemSummary, verdict: Verdict) -> Evaluation {
    Evaluation::new(&s.resource_type, &s.resource_id, verdict, s.capture_time)
}

/// The verdict-independent NOT_APPLICABLE cases, so stale results clear.
fn not_applicable(s: &ItemSummary, left_scope: bool) -> Option<Evaluation> {
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
    verdict.map(|v| item_evaluation(s, v))
}

async fn evaluate_item<C: Cloud>(
    cloud: &C,
    item: &ConfigItem,
    check: &Check,
) -> Result<Evaluation, EngineError> {
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
    Ok(item_evaluation(s, check.judge(&sg, &facts).0))
}

/// One batched look-up per kind of fact for all the groups and checks of an invocation.
pub async fn gather_facts<C: Cloud>(
    cloud: &C,
    checks: &[&Check],
    groups: &[&SecurityGroup],
) -> Result<Facts, CloudError> {
    gather_facts_cached(cloud, checks, groups, &mut FactCache::default(), None).await
}

/// The VPC of any group of a larger set, by id.
pub type VpcOf<'a> = dyn Fn(&GroupId) -> Option<String> + Sync + 'a;

/// [`gather_facts`] for one page of a larger set whose VPCs are all known (`vpc_of` a group id),
/// so a load balancer's group on another page is still placed in its VPC.
pub async fn gather_page_facts<C: Cloud>(
    cloud: &C,
    checks: &[&Check],
    groups: &[&SecurityGroup],
    vpc_of: &VpcOf<'_>,
) -> Result<Facts, CloudError> {
    gather_facts_cached(
        cloud,
        checks,
        groups,
        &mut FactCache::default(),
        Some(vpc_of),
    )
    .await
}

/// What a sweep already learned on earlier pages, so each load-balancer candidate and prefix list
/// is looked up once per invocation, not once per page.
#[derive(Default)]
struct FactCache {
    checked: BTreeSet<GroupId>,
    load_balancers: BTreeSet<GroupId>,
    asked: BTreeSet<String>,
    prefix_lists: PrefixLists,
    vpcs_asked: BTreeSet<GroupId>,
    vpcs: BTreeMap<GroupId, String>,
    infos_asked: BTreeSet<GroupId>,
    infos: BTreeMap<GroupId, GroupInfo>,
    network_asked: bool,
    network: Option<std::sync::Arc<crate::reach::Network>>,
    /// A sweep reads the whole region's network once, not each page's.
    whole_region: bool,
}

async fn gather_facts_cached<C: Cloud>(
    cloud: &C,
    checks: &[&Check],
    groups: &[&SecurityGroup],
    cache: &mut FactCache,
    vpc_of: Option<&VpcOf<'_>>,
) -> Result<Facts, CloudError> {
    let mut needs = Needs::default();
    for check in checks {
        needs.merge(check.needs(groups));
    }
    let new_candidates: BTreeSet<GroupId> = needs
        .load_balancer_candidates
        .difference(&cache.checked)
        .cloned()
        .collect();
    if !new_candidates.is_empty() {
        let found = cloud.load_balancer_groups(&new_candidates).await?;
        cache.load_balancers.extend(found);
        cache.checked.extend(new_candidates);
    }
    let new_lists: BTreeSet<String> = needs
        .prefix_lists
        .difference(&cache.asked)
        .cloned()
        .collect();
    if !new_lists.is_empty() {
        cache
            .prefix_lists
            .extend(cloud.prefix_lists(&new_lists).await?);
        cache.asked.extend(new_lists);
    }
    // Tags, VPC and account of other groups: from the groups in hand, the rest in one batch.
    let mut group_info: BTreeMap<GroupId, GroupInfo> = groups
        .iter()
        .filter(|g| needs.info_of.contains(&g.group_id))
        .map(|g| (g.group_id.clone(), GroupInfo::of(g)))
        .collect();
    let missing: BTreeSet<GroupId> = needs
        .info_of
        .iter()
        .filter(|id| !group_info.contains_key(*id) && !cache.infos_asked.contains(*id))
        .cloned()
        .collect();
    if !missing.is_empty() {
        cache.infos.extend(cloud.group_infos(&missing).await?);
        cache.infos_asked.extend(missing);
    }
    for id in &needs.info_of {
        if let (false, Some(info)) = (group_info.contains_key(id), cache.infos.get(id)) {
            group_info.insert(id.clone(), info.clone());
        }
    }
    let group_vpcs = match vpc_of {
        Some(vpc_of) => needs
            .vpcs_of
            .iter()
            .filter_map(|id| Some((id.clone(), vpc_of(id)?)))
            .collect(),
        None => {
            let mut known: BTreeMap<GroupId, String> = groups
                .iter()
                .filter(|g| needs.vpcs_of.contains(&g.group_id))
                .filter_map(|g| Some((g.group_id.clone(), g.vpc_id.clone()?)))
                .collect();
            // Groups not in hand (listed load balancers, or ones discovered on another page):
            // only a fix compares VPCs, so they are looked up (one batched call, once) only when
            // a group here is NON_COMPLIANT.
            // Candidates found not to be load balancers need no VPC.
            let missing: BTreeSet<GroupId> = needs
                .vpcs_of
                .iter()
                .filter(|id| !known.contains_key(*id) && !cache.vpcs_asked.contains(*id))
                .filter(|id| !cache.checked.contains(*id) || cache.load_balancers.contains(*id))
                .cloned()
                .collect();
            let preliminary = Facts {
                rules_quota: None,
                network: None,
                group_info: group_info.clone(),
                region: cloud.region(),
                group_vpcs: known.clone(),
                load_balancer_groups: needs
                    .load_balancer_candidates
                    .intersection(&cache.load_balancers)
                    .cloned()
                    .collect(),
                prefix_lists: cache.prefix_lists.clone(),
            };
            let failing = || {
                groups.iter().any(|g| {
                    checks.iter().any(|c| {
                        c.evaluate(g, &preliminary).compliance()
                            == crate::verdict::Compliance::NonCompliant
                    })
                })
            };
            if !missing.is_empty() && failing() {
                cache.vpcs.extend(cloud.group_vpcs(&missing).await?);
                cache.vpcs_asked.extend(missing);
            }
            for id in &needs.vpcs_of {
                if let (false, Some(v)) = (known.contains_key(id), cache.vpcs.get(id)) {
                    known.insert(id.clone(), v.clone());
                }
            }
            known
        }
    };
    // The network around the groups whose verdict reads it (effective exposure), once.
    if !needs.network_of.is_empty() && !cache.network_asked {
        let network = if cache.whole_region {
            cloud.network().await?
        } else {
            cloud.network_for(&needs.network_of).await?
        };
        cache.network = network.map(std::sync::Arc::new);
        cache.network_asked = true;
    }
    Ok(Facts {
        network: if needs.network_of.is_empty() {
            None
        } else {
            cache.network.clone()
        },
        rules_quota: cloud.rules_quota(),
        region: cloud.region(),
        group_info,
        group_vpcs,
        load_balancer_groups: needs
            .load_balancer_candidates
            .intersection(&cache.load_balancers)
            .cloned()
            .collect(),
        prefix_lists: cache
            .prefix_lists
            .iter()
            .filter(|(id, _)| needs.prefix_lists.contains(*id))
            .map(|(id, e)| (id.clone(), e.clone()))
            .collect(),
    })
}

/// A periodic run: every group of the region, page by page (one batched fact look-up per page),
/// then NOT_APPLICABLE for groups that earlier results name but that no longer exist.
async fn sweep<C: Cloud>(
    cloud: &C,
    rule_name: Option<&str>,
    check: &Check,
    at: Timestamp,
    token: Option<&ResultToken>,
    outcome: &mut Outcome,
) -> Result<(), EngineError> {
    let mut seen = SeenIds::default();
    let mut cache = FactCache {
        whole_region: true,
        ..FactCache::default()
    };
    let mut fetched = cloud.security_group_page(None).await?;
    loop {
        let (page, next) = fetched;
        let mut groups = Vec::with_capacity(page.len());
        for listed in page {
            match listed {
                Ok(sg) => {
                    seen.insert(sg.group_id.as_str());
                    groups.push(sg);
                }
                Err(e) => {
                    if let ModelError::Invalid { group, .. } = &e {
                        seen.insert(group);
                    }
                    outcome.failures.push(e.to_string());
                }
            }
        }
        let refs: Vec<&SecurityGroup> = groups.iter().collect();
        let facts = gather_facts_cached(cloud, &[check], &refs, &mut cache, None).await?;
        let evaluations = groups
            .iter()
            .map(|sg| {
                let verdict = check.judge(sg, &facts).0;
                Evaluation::new(SECURITY_GROUP_TYPE, sg.group_id.as_str(), verdict, at)
            })
            .collect();
        drop(groups);
        // This page's batches go out while the next page is fetched: at most two pages in memory,
        // and the round trips overlap instead of adding up. A page that cannot be fetched fails
        // the sweep only after this page's verdicts are delivered.
        let Some(next) = next else {
            outcome.emit(cloud, token, evaluations).await?;
            break;
        };
        let (delivered, following) = tokio::join!(
            outcome.emit(cloud, token, evaluations),
            cloud.security_group_page(Some(next)),
        );
        delivered?;
        fetched = following?;
    }
    let mut stale = Vec::new();
    outcome.stale_cleanup = Some(match rule_name {
        None => "skipped: the event has no configRuleName".to_string(),
        Some(name) => match cloud.evaluated_resources(name).await {
            Ok(previous) => {
                for (rtype, id) in previous {
                    if rtype == SECURITY_GROUP_TYPE && !seen.contains(&id) {
                        let v = Verdict::not_applicable("the security group no longer exists");
                        stale.push(Evaluation::new(&rtype, &id, v, at));
                    }
                }
                format!("cleared {}", stale.len())
            }
            // Results of deleted groups stay until the next run; today's verdicts still go out.
            Err(e) => {
                tracing::warn!(error = %e, "stale-result clean-up skipped");
                format!("skipped: {e}")
            }
        },
    });
    if !stale.is_empty() {
        outcome.emit(cloud, token, stale).await?;
    }
    Ok(())
}

/// The ids a sweep has seen, for the stale-result clean-up: the one thing it keeps of every group.
/// An id as AWS writes it (`sg-` and 8 or 17 lowercase hex digits) is kept as a number, 16 bytes
/// and no allocation of its own; anything else as its text.
#[derive(Debug, Default)]
struct SeenIds {
    numbers: BTreeSet<u128>,
    other: BTreeSet<String>,
}

impl SeenIds {
    fn key(id: &str) -> Option<u128> {
        GroupId::parse(id).ok().and_then(|g| g.number())
    }

    fn insert(&mut self, id: &str) {
        match Self::key(id) {
            Some(n) => {
                self.numbers.insert(n);
            }
            None => {
                self.other.insert(id.to_string());
            }
        }
    }

    fn contains(&self, id: &str) -> bool {
        match Self::key(id) {
            Some(n) => self.numbers.contains(&n),
            None => self.other.contains(id),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::InMemory;
    use crate::model::from_config_item;
    use serde_json::json;
    use std::sync::Mutex;

    #[tokio::test]
    async fn facts_hold_the_vpcs_of_load_balancer_groups_only() {
        let group = |id: &str, vpc: &str, tier: bool| {
            from_config_item(
                &json!({"groupId": id, "vpcId": vpc, "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "userIdGroupPairs": [{"groupId": "sg-0000000f"}]}],
                        "tags": if tier { json!([{"key": "tier", "value": "web"}]) } else { json!([]) }}),
                &Default::default(),
            )
            .unwrap()
        };
        let groups = [
            group("sg-0000000a", "vpc-1", true),
            group("sg-0000000b", "vpc-1", false),
            group("sg-0000000f", "vpc-2", false),
        ];
        let refs: Vec<&SecurityGroup> = groups.iter().collect();
        let listed = Check::from_pairs(&[
            ("tierTagKey", "tier"),
            ("loadBalancerSecurityGroupIds", "sg-0000000f"),
        ])
        .unwrap();
        let facts = gather_facts(&InMemory::default(), &[&listed], &refs)
            .await
            .unwrap();
        assert_eq!(
            facts.group_vpcs,
            [(GroupId::parse("sg-0000000f").unwrap(), "vpc-2".to_string())].into()
        );
        let discovered = Check::from_pairs(&[("tierTagKey", "tier")]).unwrap();
        let cloud = InMemory {
            load_balancer_groups: Some([GroupId::parse("sg-0000000f").unwrap()].into()),
            ..InMemory::default()
        };
        let facts = gather_facts(&cloud, &[&discovered], &refs).await.unwrap();
        // The candidates: what the tier group references, and the tier group itself.
        assert_eq!(
            facts
                .group_vpcs
                .keys()
                .map(GroupId::as_str)
                .collect::<Vec<_>>(),
            ["sg-0000000a", "sg-0000000f"]
        );
    }

    #[tokio::test]
    async fn a_sweep_delivers_page_by_page_without_collecting() {
        let groups = (0..2_500)
            .map(|i| {
                from_config_item(
                    &json!({"groupId": format!("sg-{i:017x}"), "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": [if i % 2 == 0 { "0.0.0.0/0" } else { "10.0.0.0/8" }]}]}),
                    &Default::default(),
                )
            })
            .collect();
        let cloud = InMemory {
            groups: Some(groups),
            evaluated: Some(vec![(
                "AWS::EC2::SecurityGroup".into(),
                "sg-0ffffffffffffffff".into(),
            )]),
            delivered: Some(Mutex::new(Vec::new())),
            ..InMemory::default()
        };
        let event = crate::event::scheduled_event(
            json!({"check": "public-ingress", "blockedTcpPorts": "22"}),
        );
        let check = Check::from_params(&event.rule_parameters).unwrap();
        let outcome = evaluate_and_deliver(&cloud, &event, &check).await.unwrap();
        assert!(
            outcome.evaluations.is_empty(),
            "nothing held after delivery"
        );
        assert_eq!(
            (
                outcome.non_compliant,
                outcome.compliant,
                outcome.not_applicable
            ),
            (1_250, 1_250, 1)
        );
        assert_eq!(outcome.delivered, 2_501);
        assert_eq!(outcome.stale_cleanup.as_deref(), Some("cleared 1"));
        let delivered = cloud.deliveries();
        let ids: BTreeSet<&str> = delivered
            .iter()
            .map(|e| e.compliance_resource_id.as_str())
            .collect();
        assert_eq!(
            ids.len(),
            2_501,
            "every group exactly once, and the stale one"
        );
    }

    #[test]
    fn seen_ids_are_exact_whatever_their_shape() {
        let mut seen = SeenIds::default();
        for id in [
            "sg-0123abcd",
            "sg-0123456789abcdef0",
            "sg-0123ABCD",
            "not-an-id",
        ] {
            seen.insert(id);
        }
        for id in [
            "sg-0123abcd",
            "sg-0123456789abcdef0",
            "sg-0123ABCD",
            "not-an-id",
        ] {
            assert!(seen.contains(id), "{id}");
        }
        // Same digits, other length or case: another id.
        for id in [
            "sg-00000000123abcd",
            "sg-0123abce",
            "sg-0123Abcd",
            "sg-0123456789ABCDEF0",
        ] {
            assert!(!seen.contains(id), "{id}");
        }
        assert_eq!((seen.numbers.len(), seen.other.len()), (2, 2));
    }

    /// A cloud whose deliveries wait (up to a thousand yields) until the next page is asked for.
    struct Gated {
        inner: InMemory,
        pages_asked: std::sync::atomic::AtomicUsize,
    }

    impl Cloud for Gated {
        fn region(&self) -> Option<String> {
            None
        }
        async fn fetch_item(&self, s: &ItemSummary) -> Result<ConfigItem, CloudError> {
            self.inner.fetch_item(s).await
        }
        async fn security_group_page(
            &self,
            token: Option<String>,
        ) -> Result<crate::cloud::GroupPage, CloudError> {
            use std::sync::atomic::Ordering;
            self.pages_asked.fetch_add(1, Ordering::SeqCst);
            self.inner.security_group_page(token).await
        }
        async fn evaluated_resources(&self, r: &str) -> Result<Vec<(String, String)>, CloudError> {
            self.inner.evaluated_resources(r).await
        }
        async fn load_balancer_groups(
            &self,
            c: &BTreeSet<GroupId>,
        ) -> Result<BTreeSet<GroupId>, CloudError> {
            self.inner.load_balancer_groups(c).await
        }
        async fn prefix_lists(&self, ids: &BTreeSet<String>) -> Result<PrefixLists, CloudError> {
            self.inner.prefix_lists(ids).await
        }
        async fn security_group(
            &self,
            id: &GroupId,
        ) -> Result<Option<Result<SecurityGroup, ModelError>>, CloudError> {
            self.inner.security_group(id).await
        }
        async fn modify(
            &self,
            id: &GroupId,
            calls: &[crate::fix::Call],
            dry_run: bool,
        ) -> Result<(), CloudError> {
            self.inner.modify(id, calls, dry_run).await
        }
        async fn put_evaluations(
            &self,
            evaluations: &[Evaluation],
            token: &ResultToken,
        ) -> Result<(), CloudError> {
            use std::sync::atomic::Ordering;
            let first = evaluations
                .first()
                .map(|e| e.compliance_resource_id.clone());
            // The first page's delivery goes on only once the second page has been asked for.
            if first.as_deref() == Some("sg-00000000") {
                for _ in 0..1_000 {
                    if self.pages_asked.load(Ordering::SeqCst) >= 2 {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                if self.pages_asked.load(Ordering::SeqCst) < 2 {
                    return Err(CloudError::Offline(
                        "the next page was not fetched while this one was delivered",
                    ));
                }
            }
            self.inner.put_evaluations(evaluations, token).await
        }
    }

    /// A page's batches go out while the next page is fetched, and every group is delivered once.
    #[tokio::test]
    async fn a_sweep_delivers_a_page_while_the_next_is_fetched() {
        let groups: Vec<Result<SecurityGroup, ModelError>> = (0..1_500)
            .map(|i| {
                from_config_item(
                    &json!({"groupId": format!("sg-{i:08x}")}),
                    &Default::default(),
                )
            })
            .collect();
        let cloud = Gated {
            inner: InMemory {
                groups: Some(groups),
                evaluated: Some(vec![]),
                delivered: Some(Mutex::new(Vec::new())),
                ..InMemory::default()
            },
            pages_asked: Default::default(),
        };
        let event = crate::event::scheduled_event(json!({"check": "public-ingress"}));
        let check = Check::from_params(&event.rule_parameters).unwrap();
        let outcome = evaluate_and_deliver(&cloud, &event, &check).await.unwrap();
        assert_eq!((outcome.total(), outcome.delivered), (1_500, 1_500));
        let mut ids: Vec<String> = cloud
            .inner
            .deliveries()
            .into_iter()
            .map(|e| e.compliance_resource_id)
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 1_500, "each group once");
    }

    /// A load balancer in scope: NOT_APPLICABLE itself; the groups referencing its old and new
    /// groups (`configurationItemDiff`) judged again in the same delivery; others untouched.
    #[tokio::test]
    async fn a_load_balancer_change_re_evaluates_the_groups_referencing_its_groups() {
        use serde_json::json;
        let group = |id: &str, refs: &str| {
            crate::model::from_config_item(
                &json!({"groupId": id, "vpcId": "vpc-1", "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "userIdGroupPairs": [{"groupId": refs}]}]}),
                &[("tier".to_string(), "web".to_string())].into(),
            )
        };
        let (old, new) = ("sg-0000000000000000a", "sg-0000000000000000b");
        let cloud = InMemory {
            groups: Some(vec![
                group("sg-00000000000000001", old),
                group("sg-00000000000000002", new),
                group("sg-00000000000000003", "sg-0000000000000000c"),
            ]),
            load_balancer_groups: Some([GroupId::parse(new).unwrap()].into()),
            delivered: Some(std::sync::Mutex::new(Vec::new())),
            ..InMemory::default()
        };
        let invoking = json!({
            "messageType": "ConfigurationItemChangeNotification",
            "configurationItem": {
                "configurationItemCaptureTime": "2026-11-21T10:00:00.000Z", "configurationItemStatus": "OK",
                "resourceType": "AWS::ElasticLoadBalancingV2::LoadBalancer", "resourceId": "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/web/1",
                "configuration": {"securityGroups": [new], "scheme": "internet-facing"}
            },
            "configurationItemDiff": {"changeType": "UPDATE", "changedProperties": {
                "Configuration.SecurityGroups.0": {"previousValue": old, "updatedValue": new, "changeType": "UPDATE"}}}
        });
        let event = ConfigEvent::from_value(json!({
            "invokingEvent": invoking.to_string(), "ruleParameters": json!({"tierTagKey": "tier"}).to_string(),
            "resultToken": "TESTMODE", "accountId": "1"
        }))
        .unwrap();
        let check = Check::from_params(&event.rule_parameters).unwrap();
        evaluate_and_deliver(&cloud, &event, &check).await.unwrap();
        let got: Vec<(String, Compliance)> = cloud
            .deliveries()
            .into_iter()
            .map(|e| (e.compliance_resource_id, e.compliance_type))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/web/1".to_string(),
                    Compliance::NotApplicable
                ),
                ("sg-00000000000000002".to_string(), Compliance::Compliant),
                ("sg-00000000000000001".to_string(), Compliance::NonCompliant),
            ]
        );
    }
}
