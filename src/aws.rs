//! The AWS adapter: the only module that talks to AWS (Config and EC2 through the official SDK, STS
//! for organization mode). It implements the [`Cloud`] port and maps SDK types onto crate-owned
//! ones; it imports nothing from the engine. Behind the `aws` cargo feature (on by default).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_config::error::ProvideErrorMetadata;
use aws_sdk_config::types::{ComplianceType, ResourceType};
use aws_sdk_ec2::types::Filter;

use crate::cloud::{Cloud, CloudError, Evaluation, PUT_ATTEMPTS, PUT_BATCH};
use crate::event::{ConfigItem, ItemStatus, ItemSummary, ResultToken, Timestamp};
use crate::exposure::PrefixLists;
use crate::fix::{Action, Call, Direction};
use crate::model::{
    parse_cidr, DescribedGroup, DescribedGroupPair, DescribedIpRange, DescribedIpv6Range,
    DescribedPermission, DescribedPrefixList, DescribedTag, GroupId, ModelError, SecurityGroup,
};

/// One `PutEvaluations` batch in flight: the ids Config kept rejecting.
type BatchFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Vec<String>, CloudError>> + Send + 'a>,
>;

/// At most this many `PutEvaluations` calls at once (Config's default rate is about 10 a second).
const PUT_CONCURRENCY: usize = 4;
/// `DescribeNetworkInterfaces` filter values per call.
const FILTER_VALUES: usize = 200;

fn api<E, R>(
    operation: &'static str,
) -> impl Fn(aws_sdk_config::error::SdkError<E, R>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    move |err| {
        let code = err.code().unwrap_or("no error code").to_string();
        let message = match err.message() {
            Some(m) => m.to_string(),
            None => one_line(&err),
        };
        let message = if message.contains("no credentials found") {
            "no credentials found in the default chain (environment, profile, web identity, container, instance metadata)".to_string()
        } else {
            message
        };
        let hint = hint(&code, &message);
        CloudError::Api {
            operation,
            code,
            message,
            hint,
        }
    }
}

/// An error and its sources as one line of their `Display` texts (never a `Debug` dump).
fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        let text = e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// What to do about a failed call, from its error code and message.
fn hint(code: &str, message: &str) -> &'static str {
    if message.contains("no credentials")
        || message.contains("credentials provider was not enabled")
    {
        "; no AWS credentials found: run `aws configure`, set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    } else if code.starts_with("AccessDenied")
        || code == "UnauthorizedOperation"
        || code == "AuthFailure"
    {
        "; the credentials lack this permission: grant the action to the role or user"
    } else if code.contains("Throttl")
        || code == "RequestLimitExceeded"
        || code == "TooManyRequestsException"
    {
        "; AWS throttled the calls: retry later or raise AWS_MAX_ATTEMPTS"
    } else if message.contains("Connect")
        || message.contains("dns error")
        || message.contains("timed out")
    {
        "; cannot reach the AWS endpoint: check the network, the region and AWS_ENDPOINT_URL"
    } else {
        ""
    }
}

/// The same configuration in another region.
pub fn in_region(base: &SdkConfig, region: &str) -> SdkConfig {
    base.to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .build()
}

/// The regions enabled for the account (`DescribeRegions`).
pub async fn enabled_regions(base: &SdkConfig) -> Result<Vec<String>, CloudError> {
    let out = aws_sdk_ec2::Client::new(base)
        .describe_regions()
        .send()
        .await
        .map_err(api("DescribeRegions"))?;
    let mut regions: Vec<String> = out
        .regions()
        .iter()
        .filter_map(|r| r.region_name().map(str::to_string))
        .collect();
    regions.sort();
    Ok(regions)
}

/// Every result of an advanced query over a Config aggregator (`SelectAggregateResourceConfig`).
pub async fn select_aggregate(
    config: &aws_sdk_config::Client,
    aggregator: &str,
    query: &str,
) -> Result<Vec<String>, CloudError> {
    let pages: Vec<_> = config
        .select_aggregate_resource_config()
        .configuration_aggregator_name(aggregator)
        .expression(query)
        .limit(100)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(api("SelectAggregateResourceConfig"))?;
    Ok(pages
        .into_iter()
        .flat_map(|p| p.results.unwrap_or_default())
        .collect())
}

/// One (account, region) of an aggregator with how many of the audited resources it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    pub account_id: String,
    pub region: String,
    pub count: u64,
}

/// The aggregator's (account, region) partitions of the audited resource types, with counts:
/// one aggregation query (`COUNT(*) … GROUP BY accountId, awsRegion`, 500 rows a page).
pub async fn aggregate_partitions(
    config: &aws_sdk_config::Client,
    aggregator: &str,
) -> Result<Vec<Partition>, CloudError> {
    let query = format!(
        "SELECT accountId, awsRegion, COUNT(*) WHERE resourceType IN ({}) GROUP BY accountId, awsRegion",
        crate::inventory::SELECTED_TYPES
    );
    let rows = select_aggregate_with(config, aggregator, &query, None).await?;
    let mut out = Vec::with_capacity(rows.len());
    for text in rows {
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| CloudError::Api {
            operation: "SelectAggregateResourceConfig",
            code: "UnreadableResult".into(),
            message: format!("{e}: {text}"),
            hint: "",
        })?;
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let count = v
            .get("COUNT(*)")
            .and_then(|c| {
                c.as_u64()
                    .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(0);
        if let (Some(account_id), Some(region)) = (field("accountId"), field("awsRegion")) {
            out.push(Partition {
                account_id,
                region,
                count,
            });
        }
    }
    // Largest first: the long partitions start early and the tail is short.
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.account_id.cmp(&b.account_id)));
    Ok(out)
}

/// The audited resources of one partition (100 a page), each request waiting for `limiter`.
pub async fn select_partition(
    config: &aws_sdk_config::Client,
    aggregator: &str,
    partition: &Partition,
    limiter: &RateLimiter,
) -> Result<Vec<String>, CloudError> {
    let quote = |s: &str| s.replace('\'', "");
    let query = format!(
        "{} AND accountId = '{}' AND awsRegion = '{}'",
        crate::inventory::SELECT_QUERY,
        quote(&partition.account_id),
        quote(&partition.region)
    );
    select_aggregate_with(config, aggregator, &query, Some(limiter)).await
}

/// A request rate shared by every concurrent partition: one request a `1/per_second` interval,
/// in order of asking (concurrency comes from partitions, never from parallel NextToken chains).
pub struct RateLimiter {
    interval: Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl RateLimiter {
    pub fn new(per_second: f64) -> RateLimiter {
        RateLimiter {
            interval: Duration::from_secs_f64(1.0 / per_second.max(0.01)),
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits for this request's turn.
    pub async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let now = tokio::time::Instant::now();
            let at = (*next).max(now);
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

async fn select_aggregate_with(
    config: &aws_sdk_config::Client,
    aggregator: &str,
    query: &str,
    limiter: Option<&RateLimiter>,
) -> Result<Vec<String>, CloudError> {
    let aggregation = query.contains("GROUP BY");
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        if let Some(l) = limiter {
            l.wait().await;
        }
        let mut req = config
            .select_aggregate_resource_config()
            .configuration_aggregator_name(aggregator)
            .expression(query)
            .set_next_token(token.take());
        if !aggregation {
            req = req.limit(100);
        }
        let page = req
            .send()
            .await
            .map_err(api("SelectAggregateResourceConfig"))?;
        out.extend(page.results.unwrap_or_default());
        match page.next_token.filter(|t| !t.is_empty()) {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// The account of the credentials (`GetCallerIdentity`).
pub async fn own_account(base: &SdkConfig) -> Result<String, CloudError> {
    let out = aws_sdk_sts::Client::new(base)
        .get_caller_identity()
        .send()
        .await
        .map_err(api("GetCallerIdentity"))?;
    Ok(out.account().unwrap_or_default().to_string())
}

/// The organization's active accounts (`ListAccounts`).
pub async fn active_accounts(base: &SdkConfig) -> Result<Vec<String>, CloudError> {
    let pages: Vec<_> = aws_sdk_organizations::Client::new(base)
        .list_accounts()
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(api("ListAccounts"))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.accounts())
        .filter(|a| {
            a.state()
                .map(|s| s.as_str() == "ACTIVE")
                .unwrap_or_else(|| a.status().is_some_and(|s| s.as_str() == "ACTIVE"))
        })
        .filter_map(|a| a.id().map(str::to_string))
        .collect())
}

/// Loads the default SDK configuration (credential chain, region, `AWS_ENDPOINT_URL`, `AWS_MAX_ATTEMPTS`).
///
/// Credentials in the environment (a Lambda function always has its role's there) are what the
/// default chain takes first, so then they are used as they are and the chain's other providers are
/// not built: one of them (web identity) builds an STS client with an HTTPS connector of its own,
/// which a function would pay for in every cold start.
pub async fn load_sdk_config() -> SdkConfig {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_credential_types::provider::ProvideCredentials;
    let loader = aws_config::defaults(BehaviorVersion::latest());
    let env = EnvironmentVariableCredentialsProvider::new();
    let loader = if env.provide_credentials().await.is_ok() {
        loader.credentials_provider(env)
    } else {
        loader
    };
    loader.load().await
}

/// The same configuration with credentials of `role_arn` (organization mode). Credentials are fetched
/// once here, so a role that cannot be assumed fails with a clear error instead of on the first call;
/// those first credentials are then used, and the provider refreshes them when they expire.
pub async fn assume_role(base: &SdkConfig, role_arn: &str) -> Result<SdkConfig, CloudError> {
    use aws_config::sts::AssumeRoleProvider;
    use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
    let provider = AssumeRoleProvider::builder(role_arn)
        .session_name("sg-compliance")
        .configure(base)
        .build()
        .await;
    let first = provider
        .provide_credentials()
        .await
        .map_err(|e| CloudError::AssumeRole {
            role_arn: role_arn.to_string(),
            message: one_line(&e),
        })?;
    let primed = Primed {
        first: std::sync::Mutex::new(Some(first)),
        inner: provider,
    };
    Ok(base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(primed))
        .build())
}

/// Hands out already-fetched credentials once, then delegates to the real provider.
#[derive(Debug)]
struct Primed {
    first: std::sync::Mutex<Option<aws_credential_types::Credentials>>,
    inner: aws_config::sts::AssumeRoleProvider,
}

impl aws_credential_types::provider::ProvideCredentials for Primed {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        match self.first.lock().ok().and_then(|mut first| first.take()) {
            Some(creds) => {
                aws_credential_types::provider::future::ProvideCredentials::ready(Ok(creds))
            }
            None => self.inner.provide_credentials(),
        }
    }
}

/// Config, EC2 and ELBv2 clients of one account and region.
#[derive(Clone, Debug)]
pub struct AwsCloud {
    pub config: aws_sdk_config::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
}

impl AwsCloud {
    /// The region's network facts, or (with `groups`) only around those groups: their
    /// interfaces, the subnets of those, and the route tables and NACLs of their VPCs.
    async fn network_where(
        &self,
        groups: Option<&BTreeSet<GroupId>>,
    ) -> Result<Option<crate::reach::Network>, CloudError> {
        use serde_json::{json, Value};
        let filter = |name: &str, values: Vec<String>| {
            Filter::builder()
                .name(name)
                .set_values(Some(values))
                .build()
        };
        // Interfaces: all, or those of the groups (200 filter values a call).
        let mut raw_enis = Vec::new();
        match groups {
            None => raw_enis.extend(
                self.ec2
                    .describe_network_interfaces()
                    .into_paginator()
                    .items()
                    .send()
                    .collect::<Result<Vec<_>, _>>()
                    .await
                    .map_err(api("DescribeNetworkInterfaces"))?,
            ),
            Some(groups) => {
                let ids: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
                for chunk in ids.chunks(FILTER_VALUES) {
                    raw_enis.extend(
                        self.ec2
                            .describe_network_interfaces()
                            .filters(filter("group-id", chunk.to_vec()))
                            .into_paginator()
                            .items()
                            .send()
                            .collect::<Result<Vec<_>, _>>()
                            .await
                            .map_err(api("DescribeNetworkInterfaces"))?,
                    );
                }
            }
        }
        let vpcs: Vec<String> = raw_enis
            .iter()
            .filter_map(|e| e.vpc_id().map(str::to_string))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if groups.is_some() && vpcs.is_empty() {
            // No interface uses these groups: nothing else to read.
            return Ok(Some(crate::reach::Network::default()));
        }
        let by_vpc = |name: &'static str| groups.map(|_| filter(name, vpcs.clone()));
        let enis: Vec<Value> = raw_enis
            .iter()
            .map(|e| {
                json!({
                    "NetworkInterfaceId": e.network_interface_id(), "SubnetId": e.subnet_id(),
                    "VpcId": e.vpc_id(), "OwnerId": e.owner_id(),
                    "Groups": e.groups().iter().map(|g| json!({"GroupId": g.group_id()})).collect::<Vec<_>>(),
                    "Association": e.association().map(|a| json!({"PublicIp": a.public_ip()})),
                    "Ipv6Addresses": e.ipv6_addresses().iter().map(|a| json!({"Ipv6Address": a.ipv6_address()})).collect::<Vec<_>>(),
                    "Attachment": e.attachment().map(|a| json!({"InstanceId": a.instance_id()})),
                    "PrivateIpAddresses": e.private_ip_addresses().iter().map(|a| json!({"PrivateIpAddress": a.private_ip_address()})).collect::<Vec<_>>(),
                })
            })
            .collect();
        let subnets = async {
            Ok::<_, CloudError>(self
            .ec2
            .describe_subnets()
            .set_filters(by_vpc("vpc-id").map(|f| vec![f]))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(api("DescribeSubnets"))?
            .iter()
            .map(|s| json!({"SubnetId": s.subnet_id(), "VpcId": s.vpc_id(), "OwnerId": s.owner_id()}))
            .collect::<Vec<Value>>())
        };
        let tables = async {
            Ok::<_, CloudError>(self
            .ec2
            .describe_route_tables()
            .set_filters(by_vpc("vpc-id").map(|f| vec![f]))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(api("DescribeRouteTables"))?
            .iter()
            .map(|t| {
                json!({
                    "RouteTableId": t.route_table_id(), "VpcId": t.vpc_id(), "OwnerId": t.owner_id(),
                    "Associations": t.associations().iter().map(|a| json!({"Main": a.main().unwrap_or(false), "SubnetId": a.subnet_id()})).collect::<Vec<_>>(),
                    "Routes": t.routes().iter().map(|r| json!({
                        "DestinationCidrBlock": r.destination_cidr_block(),
                        "DestinationIpv6CidrBlock": r.destination_ipv6_cidr_block(),
                        "GatewayId": r.gateway_id(), "NatGatewayId": r.nat_gateway_id(),
                        "EgressOnlyInternetGatewayId": r.egress_only_internet_gateway_id(),
                        "TransitGatewayId": r.transit_gateway_id(),
                        "VpcPeeringConnectionId": r.vpc_peering_connection_id(),
                        "NetworkInterfaceId": r.network_interface_id(), "InstanceId": r.instance_id(),
                        "State": r.state().map(|s| s.as_str()),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect::<Vec<Value>>())
        };
        let acls = async {
            Ok::<_, CloudError>(self
            .ec2
            .describe_network_acls()
            .set_filters(by_vpc("vpc-id").map(|f| vec![f]))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(api("DescribeNetworkAcls"))?
            .iter()
            .map(|a| {
                json!({
                    "NetworkAclId": a.network_acl_id(), "VpcId": a.vpc_id(), "OwnerId": a.owner_id(),
                    "IsDefault": a.is_default().unwrap_or(false),
                    "Associations": a.associations().iter().map(|s| json!({"SubnetId": s.subnet_id()})).collect::<Vec<_>>(),
                    "Entries": a.entries().iter().map(|e| json!({
                        "RuleNumber": e.rule_number(), "Protocol": e.protocol(),
                        "RuleAction": e.rule_action().map(|r| r.as_str()),
                        "Egress": e.egress().unwrap_or(false),
                        "CidrBlock": e.cidr_block(), "Ipv6CidrBlock": e.ipv6_cidr_block(),
                        "PortRange": e.port_range().map(|p| json!({"From": p.from(), "To": p.to()})),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect::<Vec<Value>>())
        };
        // The four kinds at once: one round trip in series, not four.
        let (subnets, tables, acls, (lbs, tgs, health)) = futures::try_join!(
            subnets,
            tables,
            acls,
            self.load_balancer_targets(groups.map(|_| &vpcs))
        )?;
        let mut networks = crate::inventory::Networks::new();
        let value = json!({"NetworkInterfaces": enis, "Subnets": subnets, "RouteTables": tables, "NetworkAcls": acls,
                           "LoadBalancers": lbs, "TargetGroups": tgs, "TargetHealth": health});
        crate::inventory::add_network(&mut networks, "the region's network", &value).map_err(
            |e| CloudError::Api {
                operation: "DescribeNetworkAcls",
                code: "Unreadable".into(),
                message: e.to_string(),
                hint: "",
            },
        )?;
        // One account: every record's owner is the credentials' account (or a sharer's).
        Ok(Some(crate::reach::Network::merge(networks.into_values())))
    }

    /// The internet-facing load balancers (of `vpcs`, else all), their target groups, and each
    /// such target group's registered targets: `DescribeLoadBalancers` and `DescribeTargetGroups`
    /// (paginated), then one `DescribeTargetHealth` per target group of an internet-facing load
    /// balancer. Internal load balancers' target groups are never read.
    async fn load_balancer_targets(
        &self,
        vpcs: Option<&Vec<String>>,
    ) -> Result<
        (
            Vec<serde_json::Value>,
            Vec<serde_json::Value>,
            Vec<serde_json::Value>,
        ),
        CloudError,
    > {
        use aws_sdk_elasticloadbalancingv2::types::LoadBalancerSchemeEnum;
        use serde_json::json;
        let in_scope = |vpc: Option<&str>| match vpcs {
            None => true,
            Some(v) => vpc.is_some_and(|vpc| v.iter().any(|x| x == vpc)),
        };
        let mut facing = BTreeSet::new();
        let mut lbs = Vec::new();
        let mut pages = self.elbv2.describe_load_balancers().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(api("DescribeLoadBalancers"))?;
            for lb in page.load_balancers() {
                if lb.scheme() != Some(&LoadBalancerSchemeEnum::InternetFacing)
                    || !in_scope(lb.vpc_id())
                {
                    continue;
                }
                let Some(arn) = lb.load_balancer_arn() else {
                    continue;
                };
                facing.insert(arn.to_string());
                lbs.push(json!({"LoadBalancerArn": arn, "LoadBalancerName": lb.load_balancer_name(),
                                "Scheme": "internet-facing", "Type": lb.r#type().map(|t| t.as_str()),
                                "VpcId": lb.vpc_id()}));
            }
        }
        if facing.is_empty() {
            return Ok((lbs, Vec::new(), Vec::new()));
        }
        let mut tgs = Vec::new();
        let mut health = Vec::new();
        let mut pages = self.elbv2.describe_target_groups().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(api("DescribeTargetGroups"))?;
            for tg in page.target_groups() {
                let Some(arn) = tg.target_group_arn() else {
                    continue;
                };
                if !tg.load_balancer_arns().iter().any(|a| facing.contains(a)) {
                    continue;
                }
                tgs.push(
                    json!({"TargetGroupArn": arn, "TargetGroupName": tg.target_group_name(),
                                "Port": tg.port(), "Protocol": tg.protocol().map(|p| p.as_str()),
                                "TargetType": tg.target_type().map(|t| t.as_str()),
                                "LoadBalancerArns": tg.load_balancer_arns()}),
                );
                let out = self
                    .elbv2
                    .describe_target_health()
                    .target_group_arn(arn)
                    .send()
                    .await
                    .map_err(api("DescribeTargetHealth"))?;
                let targets: Vec<_> = out
                    .target_health_descriptions()
                    .iter()
                    .filter_map(|d| d.target())
                    .map(|t| json!({"Target": {"Id": t.id(), "Port": t.port()}}))
                    .collect();
                health.push(json!({"TargetGroupArn": arn, "TargetHealthDescriptions": targets}));
            }
        }
        Ok((lbs, tgs, health))
    }

    /// `ModifySecurityGroupRules`: each replaced rule found by its exact shape among the group's
    /// rules (`DescribeSecurityGroupRules`), reshaped in place (same id and description).
    async fn modify_in_place(
        &self,
        group: &GroupId,
        call: &Call,
        dry_run: bool,
    ) -> Result<(), CloudError> {
        use crate::fix::Peer;
        use aws_sdk_ec2::types::{SecurityGroupRuleRequest, SecurityGroupRuleUpdate};
        let existing: Vec<aws_sdk_ec2::types::SecurityGroupRule> = self
            .ec2
            .describe_security_group_rules()
            .filters(
                Filter::builder()
                    .name("group-id")
                    .values(group.as_str())
                    .build(),
            )
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(api("DescribeSecurityGroupRules"))?;
        let egress = call.direction == Direction::Egress;
        let wire = |r: &crate::fix::RuleSpec| {
            (
                r.ip_protocol(),
                r.from.unwrap_or(-1) as i32,
                r.to.unwrap_or(-1) as i32,
            )
        };
        let mut updates = Vec::new();
        for (old, new) in call.replaces.iter().zip(&call.rules) {
            let (proto, from, to) = wire(old);
            let found = existing.iter().find(|e| {
                e.is_egress() == Some(egress)
                    && e.ip_protocol() == Some(proto.as_str())
                    && (proto == "-1" || (e.from_port() == Some(from) && e.to_port() == Some(to)))
                    && match &old.peer {
                        Peer::Cidr(ipnet::IpNet::V4(n)) => {
                            e.cidr_ipv4() == Some(n.to_string().as_str())
                        }
                        Peer::Cidr(ipnet::IpNet::V6(n)) => {
                            e.cidr_ipv6() == Some(n.to_string().as_str())
                        }
                        Peer::PrefixList(id) => e.prefix_list_id() == Some(id.as_str()),
                        Peer::Group(g) => {
                            e.referenced_group_info().and_then(|r| r.group_id()) == Some(g.as_str())
                        }
                    }
            });
            let Some(id) = found.and_then(|e| e.security_group_rule_id()) else {
                return Err(CloudError::Api {
                    operation: "DescribeSecurityGroupRules",
                    code: "InvalidPermission.NotFound".into(),
                    message: format!("{group} has no rule {old} to reshape"),
                    hint: "; read the group again and plan anew",
                });
            };
            let (nproto, nfrom, nto) = wire(new);
            let req = SecurityGroupRuleRequest::builder()
                .ip_protocol(nproto)
                .from_port(nfrom)
                .to_port(nto)
                .set_description(found.and_then(|e| e.description()).map(str::to_string));
            let req = match &new.peer {
                Peer::Cidr(ipnet::IpNet::V4(n)) => req.cidr_ipv4(n.to_string()),
                Peer::Cidr(ipnet::IpNet::V6(n)) => req.cidr_ipv6(n.to_string()),
                Peer::PrefixList(id) => req.prefix_list_id(id),
                Peer::Group(g) => req.referenced_group_id(g.as_str()),
            };
            updates.push(
                SecurityGroupRuleUpdate::builder()
                    .security_group_rule_id(id)
                    .security_group_rule(req.build())
                    .build(),
            );
        }
        let result = self
            .ec2
            .modify_security_group_rules()
            .group_id(group.as_str())
            .set_security_group_rules(Some(updates))
            .dry_run(dry_run)
            .send()
            .await
            .map(|_| ())
            .map_err(api("ModifySecurityGroupRules"));
        match result {
            Err(CloudError::Api { code, .. }) if dry_run && code == "DryRunOperation" => Ok(()),
            other => other,
        }
    }

    pub fn new(sdk: &SdkConfig) -> Self {
        AwsCloud {
            config: aws_sdk_config::Client::new(sdk),
            ec2: aws_sdk_ec2::Client::new(sdk),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(sdk),
        }
    }

    /// Config and EC2 clients made elsewhere (tests); the ELBv2 client has the EC2 client's
    /// region and no credentials, so a load-balancer look-up fails loudly rather than guessing.
    pub fn from_clients(config: aws_sdk_config::Client, ec2: aws_sdk_ec2::Client) -> Self {
        let mut conf = aws_sdk_elasticloadbalancingv2::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest());
        conf.set_region(ec2.config().region().cloned());
        let elbv2 = aws_sdk_elasticloadbalancingv2::Client::from_conf(conf.build());
        AwsCloud { config, ec2, elbv2 }
    }

    /// Opens the connection to Config's endpoint (the TLS handshake) ahead of the first invocation,
    /// with one read-only call the function's role already allows; its answer does not matter.
    /// Config only: every invocation ends with `PutEvaluations`, while EC2 is called by periodic
    /// sweeps and load-balancer look-ups only, where one more handshake is a small part of the run.
    pub async fn warm_up(&self) {
        let config = self
            .config
            .get_resource_config_history()
            .resource_type(ResourceType::SecurityGroup)
            .resource_id("sg-00000000")
            .limit(1)
            .send()
            .await;
        tracing::debug!(config_ok = config.is_ok(), "connection warmed");
    }
}

/// SDK security group to the PascalCase shape the model parses (one validation path for both).
fn described<'a>(g: &'a aws_sdk_ec2::types::SecurityGroup) -> DescribedGroup<'a> {
    let perms = |list: &'a [aws_sdk_ec2::types::IpPermission]| -> Vec<DescribedPermission<'a>> {
        list.iter()
            .map(|p| DescribedPermission {
                ip_protocol: p.ip_protocol().map(Cow::Borrowed),
                from_port: p.from_port().map(i64::from),
                to_port: p.to_port().map(i64::from),
                ip_ranges: p
                    .ip_ranges()
                    .iter()
                    .map(|r| DescribedIpRange {
                        cidr_ip: r.cidr_ip().map(Cow::Borrowed),
                        description: r.description().map(Cow::Borrowed),
                    })
                    .collect(),
                ipv6_ranges: p
                    .ipv6_ranges()
                    .iter()
                    .map(|r| DescribedIpv6Range {
                        cidr_ipv6: r.cidr_ipv6().map(Cow::Borrowed),
                        description: r.description().map(Cow::Borrowed),
                    })
                    .collect(),
                prefix_list_ids: p
                    .prefix_list_ids()
                    .iter()
                    .map(|r| DescribedPrefixList {
                        prefix_list_id: r.prefix_list_id().map(Cow::Borrowed),
                        description: r.description().map(Cow::Borrowed),
                    })
                    .collect(),
                user_id_group_pairs: p
                    .user_id_group_pairs()
                    .iter()
                    .map(|r| DescribedGroupPair {
                        group_id: r.group_id().map(Cow::Borrowed),
                        user_id: r.user_id().map(Cow::Borrowed),
                        description: r.description().map(Cow::Borrowed),
                    })
                    .collect(),
            })
            .collect()
    };
    DescribedGroup {
        group_id: g.group_id().map(Cow::Borrowed),
        group_name: g.group_name().map(Cow::Borrowed),
        vpc_id: g.vpc_id().map(Cow::Borrowed),
        owner_id: g.owner_id().map(Cow::Borrowed),
        tags: g
            .tags()
            .iter()
            .map(|t| DescribedTag {
                key: t.key().map(Cow::Borrowed),
                value: t.value().map(Cow::Borrowed),
            })
            .collect(),
        ip_permissions: Some(perms(g.ip_permissions())),
        ip_permissions_egress: Some(perms(g.ip_permissions_egress())),
    }
}

fn is_load_balancer_interface(eni: &aws_sdk_ec2::types::NetworkInterface) -> bool {
    crate::model::is_load_balancer_interface(eni.requester_id(), eni.description())
}

impl Cloud for AwsCloud {
    fn region(&self) -> Option<String> {
        self.ec2.config().region().map(|r| r.to_string())
    }

    async fn fetch_item(&self, summary: &ItemSummary) -> Result<ConfigItem, CloudError> {
        let out = self
            .config
            .get_resource_config_history()
            .resource_type(ResourceType::from(summary.resource_type.as_str()))
            .resource_id(&summary.resource_id)
            .later_time(summary.capture_time.as_datetime())
            .limit(1)
            .send()
            .await
            .map_err(api("GetResourceConfigHistory"))?;
        let item = out
            .configuration_items()
            .first()
            .ok_or_else(|| CloudError::ItemNotFound(summary.resource_id.clone()))?;
        let bad = |reason: String| CloudError::BadItem {
            resource: summary.resource_id.clone(),
            reason,
        };
        let configuration = match item.configuration() {
            Some(text) if !text.trim().is_empty() && text != "null" => Some(
                serde_json::from_str(text)
                    .map_err(|e| bad(format!("configuration is not JSON: {e}")))?,
            ),
            _ => None,
        };
        Ok(ConfigItem {
            summary: ItemSummary {
                resource_type: item
                    .resource_type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_else(|| summary.resource_type.clone()),
                resource_id: item
                    .resource_id()
                    .unwrap_or(&summary.resource_id)
                    .to_string(),
                status: item
                    .configuration_item_status()
                    .map(|s| ItemStatus::parse(s.as_str()))
                    .unwrap_or(ItemStatus::Ok),
                capture_time: item
                    .configuration_item_capture_time()
                    .map(|t| Timestamp::from_datetime(*t))
                    .unwrap_or(summary.capture_time),
            },
            tags: item
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            configuration,
            previous_groups: Vec::new(),
        })
    }

    async fn security_group(
        &self,
        id: &GroupId,
    ) -> Result<Option<Result<SecurityGroup, ModelError>>, CloudError> {
        let out = self
            .ec2
            .describe_security_groups()
            .group_ids(id.as_str())
            .send()
            .await;
        match out {
            Ok(out) => Ok(out
                .security_groups()
                .first()
                .map(|g| described(g).into_model())),
            Err(e) if e.code() == Some("InvalidGroup.NotFound") => Ok(None),
            Err(e) => Err(api("DescribeSecurityGroups")(e)),
        }
    }

    async fn network(&self) -> Result<Option<crate::reach::Network>, CloudError> {
        self.network_where(None).await
    }

    async fn network_for(
        &self,
        groups: &BTreeSet<GroupId>,
    ) -> Result<Option<crate::reach::Network>, CloudError> {
        self.network_where(Some(groups)).await
    }

    async fn referencing_groups(
        &self,
        id: &GroupId,
        max: usize,
    ) -> Result<(crate::cloud::GroupPage, bool), CloudError> {
        let out = self
            .ec2
            .describe_security_groups()
            .filters(
                Filter::builder()
                    .name("ip-permission.group-id")
                    .values(id.as_str())
                    .build(),
            )
            .max_results(max.clamp(5, 1000) as i32)
            .send()
            .await
            .map_err(api("DescribeSecurityGroups"))?;
        let groups: Vec<_> = out
            .security_groups()
            .iter()
            .filter(|g| g.group_id() != Some(id.as_str()))
            .map(|g| described(g).into_model())
            .collect();
        let more = out.next_token().is_some_and(|t| !t.is_empty());
        Ok(((groups, None), more))
    }

    async fn group_infos(
        &self,
        ids: &BTreeSet<GroupId>,
    ) -> Result<BTreeMap<GroupId, crate::model::GroupInfo>, CloudError> {
        let mut out = BTreeMap::new();
        // A filter takes up to 200 values.
        let ids: Vec<&GroupId> = ids.iter().collect();
        for chunk in ids.chunks(200) {
            let groups: Vec<aws_sdk_ec2::types::SecurityGroup> = self
                .ec2
                .describe_security_groups()
                .filters(
                    Filter::builder()
                        .name("group-id")
                        .set_values(Some(chunk.iter().map(|g| g.to_string()).collect()))
                        .build(),
                )
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(api("DescribeSecurityGroups"))?;
            for g in groups {
                let Some(Ok(id)) = g.group_id().map(GroupId::parse) else {
                    continue;
                };
                out.insert(
                    id,
                    crate::model::GroupInfo {
                        vpc_id: g.vpc_id().map(str::to_string),
                        owner_id: g.owner_id().map(str::to_string),
                        tags: g
                            .tags()
                            .iter()
                            .filter_map(|t| {
                                Some((
                                    t.key()?.to_string(),
                                    t.value().unwrap_or_default().to_string(),
                                ))
                            })
                            .collect(),
                    },
                );
            }
        }
        Ok(out)
    }

    async fn modify(
        &self,
        group: &GroupId,
        calls: &[Call],
        dry_run: bool,
    ) -> Result<(), CloudError> {
        for call in calls {
            if call.action == Action::Modify {
                self.modify_in_place(group, call, dry_run).await?;
                continue;
            }
            let perms = sdk_permissions(call);
            let op = call.operation();
            // The four operations take the same input; only the builder differs.
            macro_rules! send {
                ($builder:expr) => {
                    $builder
                        .group_id(group.as_str())
                        .set_ip_permissions(Some(perms))
                        .dry_run(dry_run)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(api(op))
                };
            }
            let result = match (call.action, call.direction) {
                (Action::Authorize, Direction::Ingress) => {
                    send!(self.ec2.authorize_security_group_ingress())
                }
                (Action::Authorize, Direction::Egress) => {
                    send!(self.ec2.authorize_security_group_egress())
                }
                (Action::Revoke, Direction::Ingress) => {
                    send!(self.ec2.revoke_security_group_ingress())
                }
                (Action::Revoke, Direction::Egress) => {
                    send!(self.ec2.revoke_security_group_egress())
                }
                (Action::Modify, _) => unreachable!("handled above"),
            };
            match result {
                // EC2's answer to a DryRun that would have succeeded.
                Err(CloudError::Api { code, .. }) if dry_run && code == "DryRunOperation" => {}
                other => other?,
            }
        }
        Ok(())
    }

    async fn security_group_page(
        &self,
        token: Option<String>,
    ) -> Result<crate::cloud::GroupPage, CloudError> {
        let out = self
            .ec2
            .describe_security_groups()
            .max_results(1000)
            .set_next_token(token)
            .send()
            .await
            .map_err(api("DescribeSecurityGroups"))?;
        let groups = out
            .security_groups()
            .iter()
            .map(|g| described(g).into_model())
            .collect();
        Ok((
            groups,
            out.next_token()
                .map(str::to_string)
                .filter(|t| !t.is_empty()),
        ))
    }

    async fn evaluated_resources(
        &self,
        rule_name: &str,
    ) -> Result<Vec<(String, String)>, CloudError> {
        let results: Vec<_> = self
            .config
            .get_compliance_details_by_config_rule()
            .config_rule_name(rule_name)
            .compliance_types(ComplianceType::Compliant)
            .compliance_types(ComplianceType::NonCompliant)
            .limit(100)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(api("GetComplianceDetailsByConfigRule"))?;
        Ok(results
            .iter()
            .filter_map(|r| {
                r.evaluation_result_identifier()?
                    .evaluation_result_qualifier()
            })
            .filter_map(|q| Some((q.resource_type()?.to_string(), q.resource_id()?.to_string())))
            .collect())
    }

    async fn load_balancer_groups(
        &self,
        candidates: &BTreeSet<GroupId>,
    ) -> Result<BTreeSet<GroupId>, CloudError> {
        let ids: Vec<String> = candidates.iter().map(|g| g.as_str().to_string()).collect();
        let mut found = BTreeSet::new();
        for chunk in ids.chunks(FILTER_VALUES) {
            let enis: Vec<_> = self
                .ec2
                .describe_network_interfaces()
                .filters(
                    Filter::builder()
                        .name("group-id")
                        .set_values(Some(chunk.to_vec()))
                        .build(),
                )
                // Only Elastic Load Balancing's interfaces ("ELB app/…", "ELB net/…", "ELB <name>"):
                // the instances' interfaces of the same groups are not needed and can be many.
                .filters(
                    Filter::builder()
                        .name("description")
                        .values("ELB *")
                        .build(),
                )
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(api("DescribeNetworkInterfaces"))?;
            for eni in enis.iter().filter(|e| is_load_balancer_interface(e)) {
                for g in eni.groups() {
                    if let Some(id) = g.group_id().and_then(|id| GroupId::parse(id).ok()) {
                        if candidates.contains(&id) {
                            found.insert(id);
                        }
                    }
                }
            }
        }
        Ok(found)
    }

    async fn prefix_lists(&self, ids: &BTreeSet<String>) -> Result<PrefixLists, CloudError> {
        let mut out = BTreeMap::new();
        for id in ids {
            let entries = self
                .ec2
                .get_managed_prefix_list_entries()
                .prefix_list_id(id)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await;
            match entries {
                Ok(entries) => {
                    let cidrs: Result<Vec<_>, _> = entries
                        .iter()
                        .filter_map(|e| e.cidr())
                        .map(parse_cidr)
                        .collect();
                    match cidrs {
                        Ok(cidrs) => {
                            out.insert(id.clone(), cidrs);
                        }
                        Err(e) => {
                            tracing::warn!(prefix_list = %id, error = %e, "prefix list left unresolved")
                        }
                    }
                }
                // Unreadable lists (e.g. shared from another account) stay unknown and are named in
                // the annotation instead of failing every other group's evaluation.
                Err(e) => {
                    tracing::warn!(prefix_list = %id, error = %api("GetManagedPrefixListEntries")(e), "prefix list left unresolved")
                }
            }
        }
        Ok(out)
    }

    async fn put_evaluations(
        &self,
        evaluations: &[Evaluation],
        token: &ResultToken,
    ) -> Result<(), CloudError> {
        // Batches go out up to PUT_CONCURRENCY at a time; every batch is sent even when another keeps
        // failing: one evaluation that Config rejects must not leave the others stale. The rejected
        // ones fail the invocation at the end.
        use futures::stream::{self, StreamExt};
        let batches: Vec<BatchFuture<'_>> = evaluations
            .chunks(PUT_BATCH)
            .map(|batch| Box::pin(self.put_batch(batch, token)) as _)
            .collect();
        let results: Vec<Result<Vec<String>, CloudError>> = stream::iter(batches)
            .buffer_unordered(PUT_CONCURRENCY)
            .collect()
            .await;
        let mut rejected: Vec<String> = Vec::new();
        for r in results {
            rejected.extend(r?);
        }
        match rejected.first() {
            None => Ok(()),
            Some(first) => Err(CloudError::FailedEvaluations {
                count: rejected.len(),
                first: first.clone(),
            }),
        }
    }
}

impl AwsCloud {
    /// One `PutEvaluations` batch, failed evaluations sent again; returns those Config kept rejecting.
    async fn put_batch(
        &self,
        batch: &[Evaluation],
        token: &ResultToken,
    ) -> Result<Vec<String>, CloudError> {
        let mut pending: Vec<&Evaluation> = batch.iter().collect();
        for attempt in 1..=PUT_ATTEMPTS {
            let sdk: Vec<aws_sdk_config::types::Evaluation> = pending
                .iter()
                .map(|e| to_sdk(e))
                .collect::<Result<_, _>>()?;
            let out = self
                .config
                .put_evaluations()
                .set_evaluations(Some(sdk))
                .result_token(token.expose())
                .test_mode(token.is_test_mode())
                .send()
                .await
                .map_err(api("PutEvaluations"))?;
            let failed = out.failed_evaluations();
            if failed.is_empty() {
                return Ok(Vec::new());
            }
            pending.retain(|e| {
                failed.iter().any(|f| {
                    f.compliance_resource_id() == e.compliance_resource_id
                        && f.compliance_resource_type() == e.compliance_resource_type
                })
            });
            tracing::warn!(
                attempt,
                failed = pending.len(),
                "PutEvaluations reported failed evaluations"
            );
            if attempt == PUT_ATTEMPTS || pending.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200 * attempt as u64)).await;
        }
        Ok(pending
            .iter()
            .map(|e| e.compliance_resource_id.clone())
            .collect())
    }
}

/// A call's rules as SDK `IpPermission`s (the same shape as [`Call::ip_permissions`]).
fn sdk_permissions(call: &Call) -> Vec<aws_sdk_ec2::types::IpPermission> {
    use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, PrefixListId, UserIdGroupPair};
    call.ip_permissions()
        .into_iter()
        .map(|p| {
            IpPermission::builder()
                .ip_protocol(p.ip_protocol)
                .set_from_port(p.from_port.map(|v| v as i32))
                .set_to_port(p.to_port.map(|v| v as i32))
                .set_ip_ranges(Some(
                    p.ip_ranges
                        .into_iter()
                        .map(|r| {
                            IpRange::builder()
                                .cidr_ip(r.cidr_ip)
                                .set_description(r.description)
                                .build()
                        })
                        .collect(),
                ))
                .set_ipv6_ranges(Some(
                    p.ipv6_ranges
                        .into_iter()
                        .map(|r| {
                            Ipv6Range::builder()
                                .cidr_ipv6(r.cidr_ipv6)
                                .set_description(r.description)
                                .build()
                        })
                        .collect(),
                ))
                .set_prefix_list_ids(Some(
                    p.prefix_list_ids
                        .into_iter()
                        .map(|r| {
                            PrefixListId::builder()
                                .prefix_list_id(r.prefix_list_id)
                                .set_description(r.description)
                                .build()
                        })
                        .collect(),
                ))
                .set_user_id_group_pairs(Some(
                    p.user_id_group_pairs
                        .into_iter()
                        .map(|r| {
                            UserIdGroupPair::builder()
                                .group_id(r.group_id)
                                .set_description(r.description)
                                .build()
                        })
                        .collect(),
                ))
                .build()
        })
        .collect()
}

fn to_sdk(e: &Evaluation) -> Result<aws_sdk_config::types::Evaluation, CloudError> {
    aws_sdk_config::types::Evaluation::builder()
        .compliance_resource_type(&e.compliance_resource_type)
        .compliance_resource_id(&e.compliance_resource_id)
        .compliance_type(ComplianceType::from(e.compliance_type.as_str()))
        .annotation(&e.annotation)
        .ordering_timestamp(e.ordering_timestamp.as_datetime())
        .build()
        .map_err(|err| CloudError::BadItem {
            resource: e.compliance_resource_id.clone(),
            reason: err.to_string(),
        })
}
