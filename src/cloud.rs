//! The port: everything the engine needs from outside itself (group look-up, load-balancer
//! interfaces, prefix lists, configuration history, delivering evaluations), as one trait with
//! crate-owned types. `aws::AwsCloud` implements it with the SDK; [`InMemory`] implements it from
//! data already in hand, for tests, the CLI's offline mode, the audit of files and benchmarks.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Mutex;

use serde::{Serialize, Serializer};

use crate::event::{ConfigItem, ItemSummary, ResultToken, Timestamp};
use crate::exposure::PrefixLists;
use crate::fix::Call;
use crate::model::{GroupId, GroupInfo, ModelError, SecurityGroup};
use crate::verdict::{Compliance, Verdict};

/// `PutEvaluations` accepts at most this many evaluations per call.
pub const PUT_BATCH: usize = 100;
/// How often evaluations that `PutEvaluations` reports as failed are sent again.
pub const PUT_ATTEMPTS: usize = 3;

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
    pub fn new(resource_type: &str, resource_id: &str, verdict: Verdict, at: Timestamp) -> Self {
        let (compliance_type, annotation) = verdict.into_parts();
        Evaluation {
            compliance_resource_type: resource_type.to_string(),
            compliance_resource_id: resource_id.to_string(),
            compliance_type,
            annotation,
            ordering_timestamp: at,
        }
    }
}

/// A call outside the engine failed, or cannot be made in this mode.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("{operation} failed ({code}): {message}{hint}")]
    Api {
        operation: &'static str,
        code: String,
        message: String,
        /// What to do next (`; …`), or empty.
        hint: &'static str,
    },
    #[error("{count} evaluations still failed after {PUT_ATTEMPTS} PutEvaluations attempts (first: {first}); the invocation fails so AWS Config retries it")]
    FailedEvaluations { count: usize, first: String },
    #[error("GetResourceConfigHistory returned no configuration item for {0}; is AWS Config recording AWS::EC2::SecurityGroup?")]
    ItemNotFound(String),
    #[error("configuration item of {resource} is unusable: {reason}")]
    BadItem { resource: String, reason: String },
    #[error("could not assume role {role_arn}: {message}; check the role exists in the member account and trusts this function's role")]
    AssumeRole { role_arn: String, message: String },
    #[error("{0}: pass --live to call AWS")]
    Offline(&'static str),
    #[error("cannot write the evaluations: {0}")]
    Output(String),
}

/// One page of groups (each validated on its own) and the token of the next page.
pub type GroupPage = (Vec<Result<SecurityGroup, ModelError>>, Option<String>);

/// What the engine asks of a cloud, with crate-owned types.
pub trait Cloud: Sync {
    /// The region the calls go to, when known (for region-limited rule parameters).
    fn region(&self) -> Option<String>;
    /// The account's "rules per security group" quota when known (`SG_COMPLIANCE_RULES_QUOTA`
    /// or `--rules-quota`); plans assume AWS's default 60 otherwise.
    fn rules_quota(&self) -> Option<usize> {
        std::env::var("SG_COMPLIANCE_RULES_QUOTA")
            .ok()
            .and_then(|v| v.trim().parse().ok())
    }
    /// The full item of an oversized notification (`GetResourceConfigHistory`).
    fn fetch_item(
        &self,
        summary: &ItemSummary,
    ) -> impl Future<Output = Result<ConfigItem, CloudError>> + Send;
    /// Every security group in the region, page by page through [`Cloud::security_group_page`];
    /// bad ones come back as errors.
    fn list_security_groups(
        &self,
    ) -> impl Future<Output = Result<Vec<Result<SecurityGroup, ModelError>>, CloudError>> + Send
    {
        async move {
            let mut groups = Vec::new();
            let mut token = None;
            loop {
                let (page, next) = self.security_group_page(token).await?;
                groups.extend(page);
                match next {
                    Some(t) => token = Some(t),
                    None => return Ok(groups),
                }
            }
        }
    }
    /// One page of the region's security groups (`DescribeSecurityGroups`, 1000 a page) and the
    /// token of the next page, if any.
    fn security_group_page(
        &self,
        token: Option<String>,
    ) -> impl Future<Output = Result<GroupPage, CloudError>> + Send;
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
    /// Tags, VPC and account of these groups (`DescribeSecurityGroups` filtered on `group-id`,
    /// one batched call); groups that do not exist or cannot be read are left out.
    fn group_infos(
        &self,
        ids: &BTreeSet<GroupId>,
    ) -> impl Future<Output = Result<BTreeMap<GroupId, GroupInfo>, CloudError>> + Send {
        let _ = ids;
        async { Ok(BTreeMap::new()) }
    }
    /// The region's network facts for effective exposure (interfaces, subnets, route tables,
    /// network ACLs); `None` when this cloud cannot read them.
    fn network(
        &self,
    ) -> impl Future<Output = Result<Option<crate::reach::Network>, CloudError>> + Send {
        async { Ok(None) }
    }
    /// The network around these groups only: their interfaces (`group-id` filter), those
    /// interfaces' subnets, and the route tables and NACLs of their VPCs; one call per kind per
    /// batch. Defaults to the whole region's [`Cloud::network`].
    fn network_for(
        &self,
        groups: &BTreeSet<GroupId>,
    ) -> impl Future<Output = Result<Option<crate::reach::Network>, CloudError>> + Send {
        let _ = groups;
        self.network()
    }
    /// One page (at most `max`) of the region's groups whose ingress references `id`
    /// (`DescribeSecurityGroups` filtered on `ip-permission.group-id`), and whether there are more.
    /// Nothing when the cloud cannot tell (offline).
    fn referencing_groups(
        &self,
        id: &GroupId,
        max: usize,
    ) -> impl Future<Output = Result<(GroupPage, bool), CloudError>> + Send {
        let _ = (id, max);
        async { Ok(((Vec::new(), None), false)) }
    }
    /// The VPCs of these groups (through [`Cloud::group_infos`]).
    fn group_vpcs(
        &self,
        ids: &BTreeSet<GroupId>,
    ) -> impl Future<Output = Result<BTreeMap<GroupId, String>, CloudError>> + Send {
        async move {
            Ok(self
                .group_infos(ids)
                .await?
                .into_iter()
                .filter_map(|(id, info)| Some((id, info.vpc_id?)))
                .collect())
        }
    }
    /// Delivers evaluations (`PutEvaluations`, 100 a call, failed ones retried).
    fn put_evaluations(
        &self,
        evaluations: &[Evaluation],
        token: &ResultToken,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// One group by id (`DescribeSecurityGroups` with `GroupIds`); `None` when it does not exist.
    fn security_group(
        &self,
        id: &GroupId,
    ) -> impl Future<Output = Result<Option<Result<SecurityGroup, ModelError>>, CloudError>> + Send;
    /// Applies a fix's calls in order (`Authorize…`/`Revoke…SecurityGroupIngress/Egress`); with
    /// `dry_run`, EC2 only checks permissions (`DryRun`) and nothing changes.
    fn modify(
        &self,
        group: &GroupId,
        calls: &[Call],
        dry_run: bool,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
}

/// A cloud made of data in hand. What it was not given, it cannot answer (the error says which AWS
/// call would be needed), except prefix lists, which stay unresolved and are named in annotations.
#[derive(Debug, Default)]
pub struct InMemory {
    /// The region's groups, for scheduled sweeps.
    pub groups: Option<Vec<Result<SecurityGroup, ModelError>>>,
    /// Groups attached to load-balancer interfaces, when known.
    pub load_balancer_groups: Option<BTreeSet<GroupId>>,
    pub prefix_lists: PrefixLists,
    /// Full configuration items by resource id, for oversized notifications.
    pub items: BTreeMap<String, ConfigItem>,
    /// Resources with earlier results, for the stale-result clean-up.
    pub evaluated: Option<Vec<(String, String)>>,
    /// `Some` to accept deliveries (recorded here); `None` refuses them.
    pub delivered: Option<Mutex<Vec<Evaluation>>>,
    /// The region the data is from, when known.
    pub region: Option<String>,
    /// The network facts, when known (effective exposure).
    pub network: Option<crate::reach::Network>,
}

impl InMemory {
    /// Knows nothing: the CLI's offline mode.
    pub fn offline() -> Self {
        InMemory::default()
    }

    /// What was delivered so far.
    pub fn deliveries(&self) -> Vec<Evaluation> {
        self.delivered
            .as_ref()
            .and_then(|d| d.lock().ok().map(|d| d.clone()))
            .unwrap_or_default()
    }
}

impl Cloud for InMemory {
    fn region(&self) -> Option<String> {
        self.region.clone()
    }

    async fn fetch_item(&self, summary: &ItemSummary) -> Result<ConfigItem, CloudError> {
        self.items
            .get(&summary.resource_id)
            .cloned()
            .ok_or(CloudError::Offline(
                "an oversized configuration item must be fetched with GetResourceConfigHistory",
            ))
    }

    async fn security_group_page(&self, token: Option<String>) -> Result<GroupPage, CloudError> {
        const PAGE: usize = 1000;
        let groups = self.groups.as_ref().ok_or(CloudError::Offline(
            "a scheduled evaluation lists the region's security groups with DescribeSecurityGroups",
        ))?;
        let start: usize = match token {
            None => 0,
            Some(t) => t.parse().map_err(|_| CloudError::BadItem {
                resource: "page token".into(),
                reason: format!("`{t}` is not a page token of this in-memory cloud"),
            })?,
        };
        let end = (start + PAGE).min(groups.len());
        let next = (end < groups.len()).then(|| end.to_string());
        Ok((groups[start.min(end)..end].to_vec(), next))
    }

    async fn evaluated_resources(&self, _: &str) -> Result<Vec<(String, String)>, CloudError> {
        self.evaluated.clone().ok_or(CloudError::Offline(
            "clearing results of deleted groups reads GetComplianceDetailsByConfigRule",
        ))
    }

    async fn load_balancer_groups(
        &self,
        candidates: &BTreeSet<GroupId>,
    ) -> Result<BTreeSet<GroupId>, CloudError> {
        match &self.load_balancer_groups {
            Some(known) => Ok(known.intersection(candidates).cloned().collect()),
            None => Err(CloudError::Offline(
                "the web-tier check looks up which source groups belong to load balancers (DescribeNetworkInterfaces); or set loadBalancerSecurityGroupIds",
            )),
        }
    }

    async fn network(&self) -> Result<Option<crate::reach::Network>, CloudError> {
        Ok(self.network.clone())
    }

    async fn referencing_groups(
        &self,
        id: &GroupId,
        max: usize,
    ) -> Result<(GroupPage, bool), CloudError> {
        let referencing: Vec<Result<SecurityGroup, ModelError>> = self
            .groups
            .iter()
            .flatten()
            .filter_map(|g| g.as_ref().ok())
            .filter(|g| g.group_id != *id)
            .filter(|g| {
                g.ingress
                    .iter()
                    .any(|p| p.groups.iter().any(|r| r.group_id == *id))
            })
            .cloned()
            .map(Ok)
            .collect();
        let more = referencing.len() > max;
        Ok(((referencing.into_iter().take(max).collect(), None), more))
    }

    async fn group_infos(
        &self,
        ids: &BTreeSet<GroupId>,
    ) -> Result<BTreeMap<GroupId, GroupInfo>, CloudError> {
        Ok(self
            .groups
            .iter()
            .flatten()
            .filter_map(|g| g.as_ref().ok())
            .filter(|g| ids.contains(&g.group_id))
            .map(|g| (g.group_id.clone(), GroupInfo::of(g)))
            .collect())
    }

    async fn prefix_lists(&self, ids: &BTreeSet<String>) -> Result<PrefixLists, CloudError> {
        Ok(self
            .prefix_lists
            .iter()
            .filter(|(id, _)| ids.contains(*id))
            .map(|(id, e)| (id.clone(), e.clone()))
            .collect())
    }

    async fn security_group(
        &self,
        id: &GroupId,
    ) -> Result<Option<Result<SecurityGroup, ModelError>>, CloudError> {
        let groups = self.groups.as_ref().ok_or(CloudError::Offline(
            "reading a security group calls DescribeSecurityGroups",
        ))?;
        Ok(groups
            .iter()
            .find(|g| match g {
                Ok(g) => &g.group_id == id,
                Err(ModelError::Invalid { group, .. }) => group == id.as_str(),
                Err(_) => false,
            })
            .cloned())
    }

    async fn modify(&self, _: &GroupId, _: &[Call], _: bool) -> Result<(), CloudError> {
        Err(CloudError::Offline(
            "applying a fix calls AuthorizeSecurityGroupIngress/RevokeSecurityGroupIngress",
        ))
    }

    async fn put_evaluations(
        &self,
        evaluations: &[Evaluation],
        _: &ResultToken,
    ) -> Result<(), CloudError> {
        match &self.delivered {
            Some(d) => {
                if let Ok(mut d) = d.lock() {
                    d.extend_from_slice(evaluations);
                }
                Ok(())
            }
            None => Err(CloudError::Offline(
                "delivering evaluations calls PutEvaluations",
            )),
        }
    }
}
