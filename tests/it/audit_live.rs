//! The audit's live sources, end to end: `--live` over two regions and over every enabled region
//! (`--regions all`), and `--org` over the
//! organization's accounts run the real binary and SDK against moto; `--aggregator`'s
//! `SelectAggregateResourceConfig` paging against aws-smithy-mocks (moto has no aggregator queries);
//! an unreachable endpoint is exit 3.

use aws_sdk_config::operation::select_aggregate_resource_config::SelectAggregateResourceConfigOutput;
use aws_sdk_ec2::types::{IpPermission, IpRange, UserIdGroupPair};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use serde_json::{json, Value};
use sg_compliance::audit::audit_inventory;
use sg_compliance::checks::Check;
use sg_compliance::inventory::{Inventory, SELECT_QUERY};
use sg_compliance::verdict::Compliance;

use crate::support::{internet_facing_nlb_target, operation, security_group, vpc, Moto};

/// In one region: an ALB group (tier-tagged, on an `ELB app/…` interface), a web group fed by it,
/// and, where `ssh` is set, a group with SSH open to the world. Returns (alb, web, ssh).
async fn region_world(ec2: &aws_sdk_ec2::Client, ssh: bool) -> (String, String, Option<String>) {
    let vpc = vpc(ec2).await;
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.0.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    let alb = security_group(ec2, &vpc, "alb", true).await;
    let web = security_group(ec2, &vpc, "web", true).await;
    let tcp = |port: i32| {
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port)
    };
    ec2.authorize_security_group_ingress()
        .group_id(&web)
        .ip_permissions(
            tcp(443)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&alb).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    ec2.create_network_interface()
        .subnet_id(&subnet)
        .groups(&alb)
        .description("ELB app/web/50dc6c495c0c9188")
        .send()
        .await
        .unwrap();
    let ssh_group = if ssh {
        let id = security_group(ec2, &vpc, "bastion", false).await;
        ec2.authorize_security_group_ingress()
            .group_id(&id)
            .ip_permissions(
                tcp(22)
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        Some(id)
    } else {
        None
    };
    (alb, web, ssh_group)
}

/// The JSON rows of an audit that found something non-compliant (exit status 1).
fn non_compliant_rows(out: &std::process::Output) -> Vec<Value> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"))
}

fn verdict<'a>(rows: &'a [Value], id: &str, check: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["complianceResourceId"] == id && r["check"] == check)
        .unwrap_or_else(|| panic!("no {check} row for {id}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn live_audit_of_two_regions_against_moto() {
    let moto = Moto::start();
    let base = moto.sdk_config().await;
    let eu = aws_sdk_ec2::Client::new(&sg_compliance::aws::in_region(&base, "eu-west-1"));
    let us = aws_sdk_ec2::Client::new(&base);
    let (eu_alb, eu_web, eu_ssh) = region_world(&eu, true).await;
    let (_, us_web, _) = region_world(&us, false).await;
    moto.start_recording();
    let out = moto.cli(&[
        "audit",
        "--live",
        "--regions",
        "eu-west-1,us-east-1",
        "--format",
        "json",
    ]);
    let rows = non_compliant_rows(&out);
    assert_eq!(
        verdict(&rows, &eu_web, "web-tier")["complianceType"],
        "COMPLIANT"
    );
    assert_eq!(verdict(&rows, &eu_web, "web-tier")["region"], "eu-west-1");
    assert_eq!(
        verdict(&rows, &us_web, "web-tier")["complianceType"],
        "COMPLIANT"
    );
    assert_eq!(verdict(&rows, &us_web, "web-tier")["region"], "us-east-1");
    assert_eq!(
        verdict(&rows, &eu_alb, "web-tier")["complianceType"],
        "NOT_APPLICABLE"
    );
    let ssh = verdict(&rows, eu_ssh.as_deref().unwrap(), "public-ingress");
    assert_eq!(ssh["complianceType"], "NON_COMPLIANT");
    assert!(ssh["annotation"]
        .as_str()
        .unwrap()
        .contains("tcp/22 open to 0.0.0.0/0"));
    // Per region: one DescribeSecurityGroups, one batched DescribeNetworkInterfaces for the
    // load balancers, and the network facts for effective exposure (interfaces, subnets, route
    // tables, NACLs, load balancers, each read once; no internet-facing load balancer: no target
    // group read); nothing per group.
    let ops: Vec<String> = moto.recording().iter().map(operation).collect();
    let count = |op: &str| ops.iter().filter(|o| o.as_str() == op).count();
    assert_eq!(count("DescribeSecurityGroups"), 2, "{ops:?}");
    assert_eq!(count("DescribeNetworkInterfaces"), 4, "{ops:?}");
    for op in [
        "DescribeSubnets",
        "DescribeRouteTables",
        "DescribeNetworkAcls",
        "DescribeLoadBalancers",
    ] {
        assert_eq!(count(op), 2, "{op}: {ops:?}");
    }
    assert_eq!(ops.len(), 14, "{ops:?}");
}

/// `--regions all`: the regions `DescribeRegions` lists (the enabled ones), each audited once.
#[tokio::test(flavor = "multi_thread")]
async fn live_audit_of_all_enabled_regions_against_moto() {
    let moto = Moto::start();
    let base = moto.sdk_config().await;
    let mut open = Vec::new();
    for region in ["eu-west-1", "ap-southeast-2"] {
        let ec2 = aws_sdk_ec2::Client::new(&sg_compliance::aws::in_region(&base, region));
        let (_, _, ssh) = region_world(&ec2, true).await;
        open.push((region, ssh.unwrap()));
    }
    let listed = aws_sdk_ec2::Client::new(&base)
        .describe_regions()
        .send()
        .await
        .unwrap();
    let enabled: std::collections::BTreeSet<String> = listed
        .regions()
        .iter()
        .filter_map(|r| r.region_name().map(str::to_string))
        .collect();
    assert!(enabled.len() > 10, "{enabled:?}");
    moto.start_recording();
    let out = moto.cli(&[
        "audit",
        "--live",
        "--regions",
        "all",
        "--check",
        "public-ingress",
        "--param",
        "blockedTcpPorts=22",
        "--format",
        "json",
    ]);
    let rows = non_compliant_rows(&out);
    for (region, id) in &open {
        let ssh = verdict(&rows, id, "public-ingress");
        assert_eq!(ssh["complianceType"], "NON_COMPLIANT");
        assert_eq!(ssh["region"], *region);
    }
    // Every enabled region has at least its default VPC's default group.
    let audited: std::collections::BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r["region"].as_str().map(str::to_string))
        .collect();
    assert_eq!(audited, enabled);
    let ops: Vec<String> = moto.recording().iter().map(operation).collect();
    let count = |op: &str| ops.iter().filter(|o| o.as_str() == op).count();
    assert_eq!(count("DescribeRegions"), 1, "{ops:?}");
    // Per region: the groups, and the network facts for effective exposure (public-ingress
    // reports inbound exposure), each kind read once.
    for op in [
        "DescribeSecurityGroups",
        "DescribeNetworkInterfaces",
        "DescribeSubnets",
        "DescribeRouteTables",
        "DescribeNetworkAcls",
        "DescribeLoadBalancers",
    ] {
        assert_eq!(count(op), enabled.len(), "{op}: {ops:?}");
    }
    assert_eq!(ops.len(), 1 + 6 * enabled.len(), "{ops:?}");
}

/// `--live` reads the network around each group: an instance with a public address in a subnet
/// routed to an internet gateway, with the default NACL, makes tcp/22 `internet`; the same group
/// on an instance of a subnet without that route is `latent`. (moto models public addresses,
/// route tables and the default NACL faithfully; its Elastic IPs are in 127/8, so the instance's
/// auto-assigned address is used.)
#[tokio::test(flavor = "multi_thread")]
async fn live_audit_grades_findings_by_effective_exposure() {
    let moto = Moto::start();
    let base = moto.sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&base);
    let vpc = vpc(&ec2).await;
    let subnet = |cidr: &'static str| {
        let ec2 = ec2.clone();
        let vpc = vpc.clone();
        async move {
            let s = ec2
                .create_subnet()
                .vpc_id(&vpc)
                .cidr_block(cidr)
                .send()
                .await
                .unwrap();
            let id = s.subnet().unwrap().subnet_id().unwrap().to_string();
            ec2.modify_subnet_attribute()
                .subnet_id(&id)
                .map_public_ip_on_launch(
                    aws_sdk_ec2::types::AttributeBooleanValue::builder()
                        .value(true)
                        .build(),
                )
                .send()
                .await
                .unwrap();
            id
        }
    };
    let (public, private) = (subnet("10.0.1.0/24").await, subnet("10.0.2.0/24").await);
    let igw = ec2.create_internet_gateway().send().await.unwrap();
    let igw = igw
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_string();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let rtb = ec2.create_route_table().vpc_id(&vpc).send().await.unwrap();
    let rtb = rtb
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_string();
    ec2.create_route()
        .route_table_id(&rtb)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .unwrap();
    ec2.associate_route_table()
        .route_table_id(&rtb)
        .subnet_id(&public)
        .send()
        .await
        .unwrap();
    let open = |name: &'static str| {
        let ec2 = ec2.clone();
        let vpc = vpc.clone();
        async move {
            let id = security_group(&ec2, &vpc, name, false).await;
            ec2.authorize_security_group_ingress()
                .group_id(&id)
                .ip_permissions(
                    IpPermission::builder()
                        .ip_protocol("tcp")
                        .from_port(22)
                        .to_port(22)
                        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                        .build(),
                )
                .send()
                .await
                .unwrap();
            id
        }
    };
    let (bastion, hidden, behind) = (
        open("bastion").await,
        open("hidden").await,
        open("behind").await,
    );
    let mut instances = Vec::new();
    for (sg, subnet) in [
        (&bastion, &public),
        (&hidden, &private),
        (&behind, &private),
    ] {
        let run = ec2
            .run_instances()
            .image_id("ami-12c6146b")
            .min_count(1)
            .max_count(1)
            .subnet_id(subnet)
            .security_group_ids(sg)
            .send()
            .await
            .unwrap();
        instances.push(run.instances()[0].instance_id().unwrap().to_string());
    }
    // `behind`'s instance is a target on port 22 of an internet-facing network load balancer.
    internet_facing_nlb_target(&base, &vpc, &public, &instances[2]).await;
    let out = moto.cli(&[
        "audit",
        "--live",
        "--check",
        "public-ingress",
        "--param",
        "blockedTcpPorts=22",
        "--format",
        "json",
    ]);
    let rows = non_compliant_rows(&out);
    let b = verdict(&rows, &bastion, "public-ingress");
    assert_eq!(b["exposure"], "internet", "{b}");
    assert!(
        b["exposurePath"]
            .as_str()
            .unwrap()
            .contains(&format!("via {igw} ({rtb})")),
        "{b}"
    );
    let h = verdict(&rows, &hidden, "public-ingress");
    assert_eq!(h["exposure"], "latent", "{h}");
    assert!(
        h["exposurePath"]
            .as_str()
            .unwrap()
            .contains("has no route to an internet gateway"),
        "{h}"
    );
    let l = verdict(&rows, &behind, "public-ingress");
    assert_eq!(l["exposure"], "internet-via-load-balancer", "{l}");
    assert!(
        l["exposurePath"].as_str().unwrap().contains(&format!(
            "({}) is a target of internet-facing network load balancer edge (ssh port 22)",
            instances[2]
        )),
        "{l}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn organization_audit_assumes_a_role_in_every_active_account() {
    let moto = Moto::start();
    let base = moto.sdk_config().await;
    let org = aws_sdk_organizations::Client::new(&base);
    org.create_organization().send().await.unwrap();
    let mut members = Vec::new();
    for name in ["shop", "data"] {
        let created = org
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap();
        members.push(
            created
                .create_account_status()
                .unwrap()
                .account_id()
                .unwrap()
                .to_string(),
        );
    }
    let mut webs = Vec::new();
    for account in &members {
        let role = format!("arn:aws:iam::{account}:role/OrganizationAccountAccessRole");
        let assumed = sg_compliance::aws::assume_role(&base, &role).await.unwrap();
        let (_, web, _) = region_world(&aws_sdk_ec2::Client::new(&assumed), true).await;
        webs.push(web);
    }
    moto.start_recording();
    let out = moto.cli(&[
        "audit",
        "--org",
        "--regions",
        "us-east-1",
        "--format",
        "json",
    ]);
    // Roles are assumed in the member accounts only: the caller's own (management) account is
    // audited with its own credentials.
    let ops: Vec<String> = moto.recording().iter().map(operation).collect();
    assert_eq!(
        ops.iter().filter(|o| o.as_str() == "AssumeRole").count(),
        members.len(),
        "{ops:?}"
    );
    let rows = non_compliant_rows(&out);
    for (account, web) in members.iter().zip(&webs) {
        let row = verdict(&rows, web, "web-tier");
        assert_eq!(row["accountId"], account.as_str());
        assert_eq!(row["complianceType"], "COMPLIANT");
    }
    let audited: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter_map(|r| r["accountId"].as_str())
        .collect();
    assert!(audited.len() >= 2, "{audited:?}");
}

#[tokio::test]
async fn aggregator_results_are_read_page_by_page_into_the_audit() {
    let fixture: Value =
        serde_json::from_str(include_str!("../../fixtures/audit/organization.json")).unwrap();
    let results: Vec<String> = serde_json::from_value(fixture["Results"].clone()).unwrap();
    let (first, second) = results.split_at(20);
    let (first, second) = (first.to_vec(), second.to_vec());
    let page1 = mock!(aws_sdk_config::Client::select_aggregate_resource_config)
        .match_requests(|r| {
            r.configuration_aggregator_name() == Some("org")
                && r.expression() == Some(SELECT_QUERY)
                && r.next_token().is_none()
        })
        .then_output(move || {
            SelectAggregateResourceConfigOutput::builder()
                .set_results(Some(first.clone()))
                .next_token("page-2")
                .build()
        });
    let page2 = mock!(aws_sdk_config::Client::select_aggregate_resource_config)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(move || {
            SelectAggregateResourceConfigOutput::builder()
                .set_results(Some(second.clone()))
                .build()
        });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&page1, &page2]);
    let got = sg_compliance::aws::select_aggregate(&client, "org", SELECT_QUERY)
        .await
        .unwrap();
    assert_eq!(got.len(), results.len());
    assert_eq!((page1.num_calls(), page2.num_calls()), (1, 1));
    let mut inventory = Inventory::default();
    inventory
        .add_json("aggregator org", json!({ "Results": got }))
        .unwrap();
    let checks =
        vec![Check::from_pairs(&[("tierTagKey", "tier"), ("tierTagValue", "web")]).unwrap()];
    let report = audit_inventory(inventory, &checks).await;
    assert_eq!(report.group_count(), 28);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.tally_by(|_| String::new())[""].non_compliant, 4);
    assert!(report
        .rows
        .iter()
        .any(|r| r.compliance == Compliance::Compliant));
}

#[test]
fn unreachable_aws_is_exit_3_with_one_line_per_region() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sg-compliance"))
        .args([
            "audit",
            "--live",
            "--regions",
            "eu-west-1",
            "--format",
            "json",
        ])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("sg-compliance: error: -/eu-west-1: DescribeSecurityGroups failed"),
        "{err}"
    );
    assert!(err.contains("cannot reach the AWS endpoint"), "{err}");
}

#[test]
fn missing_credentials_say_so_and_how_to_provide_them() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sg-compliance"))
        .args(["audit", "--live", "--regions", "eu-west-1"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no AWS credentials found: run `aws configure`"),
        "{err}"
    );
    assert!(!err.contains("DispatchFailure"), "no Debug dump: {err}");
}

/// `--aggregator` partitions the query: one `COUNT(*) … GROUP BY accountId, awsRegion`, then one
/// paginated query per account and region (largest first), every request paced by one shared
/// rate; each partition's results are the fixture's rows of that account and region.
#[tokio::test]
async fn aggregator_is_read_in_account_and_region_partitions_at_a_shared_rate() {
    use sg_compliance::aws::{aggregate_partitions, select_partition, RateLimiter};
    let fixture: Value =
        serde_json::from_str(include_str!("../../fixtures/audit/organization.json")).unwrap();
    let results: Vec<String> = serde_json::from_value(fixture["Results"].clone()).unwrap();
    let scope_of = |text: &str| {
        let v: Value = serde_json::from_str(text).unwrap();
        (
            v["accountId"].as_str().unwrap().to_string(),
            v["awsRegion"].as_str().unwrap().to_string(),
        )
    };
    let mut by_scope: std::collections::BTreeMap<(String, String), Vec<String>> =
        Default::default();
    for r in &results {
        by_scope.entry(scope_of(r)).or_default().push(r.clone());
    }
    let counts: Vec<String> = by_scope
        .iter()
        .map(|((a, r), rows)| {
            json!({"accountId": a, "awsRegion": r, "COUNT(*)": rows.len()}).to_string()
        })
        .collect();
    let count_rule = mock!(aws_sdk_config::Client::select_aggregate_resource_config)
        .match_requests(|r| {
            r.expression().is_some_and(|e| {
                e.contains("COUNT(*)") && e.ends_with("GROUP BY accountId, awsRegion")
            }) && r.limit().is_none()
        })
        .then_output(move || {
            SelectAggregateResourceConfigOutput::builder()
                .set_results(Some(counts.clone()))
                .build()
        });
    // Each partition in pages of 3: the rule answers by the expression's account and region.
    let pages = by_scope.clone();
    let page_rule = mock!(aws_sdk_config::Client::select_aggregate_resource_config)
        .match_requests(|r| {
            r.expression()
                .is_some_and(|e| e.contains("AND accountId = '"))
                && r.limit() == Some(100)
        })
        .then_output(move || SelectAggregateResourceConfigOutput::builder().build());
    let _ = pages;
    let client = mock_client!(
        aws_sdk_config,
        RuleMode::MatchAny,
        [&count_rule, &page_rule]
    );
    let partitions = aggregate_partitions(&client, "org").await.unwrap();
    assert_eq!(partitions.len(), by_scope.len());
    assert!(
        partitions.windows(2).all(|w| w[0].count >= w[1].count),
        "largest first"
    );
    assert_eq!(
        partitions.iter().map(|p| p.count as usize).sum::<usize>(),
        results.len()
    );
    // Paced: N requests at R a second take at least (N - 1) / R.
    let limiter = RateLimiter::new(20.0);
    let start = std::time::Instant::now();
    for p in &partitions {
        select_partition(&client, "org", p, &limiter).await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let want = (partitions.len() - 1) as f64 / 20.0;
    assert!(elapsed >= want * 0.95, "{elapsed} < {want}");
    assert_eq!(page_rule.num_calls(), partitions.len());
    assert_eq!(count_rule.num_calls(), 1);
}

/// `audit --aggregator` end to end against a local stand-in of SelectAggregateResourceConfig
/// (bench/aggregator_stub.py): the partitions are queried once each (no parallel NextToken
/// chains), every group is judged once, and the request count is exactly the pages.
#[test]
fn aggregator_audit_against_a_stand_in_reads_each_partition_once() {
    let (groups, accounts, regions) = (1234, 3, 2);
    let stand_in = StandIn::start("aggregator_stub.py", groups, accounts, regions);
    let port = &stand_in.port;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sg-compliance"))
        .args([
            "audit",
            "--aggregator",
            "org",
            "--check",
            "public-ingress",
            "--param",
            "blockedTcpPorts=22",
            "--format",
            "json",
        ])
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("SG_COMPLIANCE_AGGREGATOR_RPS", "500")
        .output()
        .unwrap();
    let summary = stand_in.stop();
    stand_in_rows(&out, groups);
    let served: Value = serde_json::from_str(summary.trim()).unwrap();
    // One count query, and per partition ceil(n / 100) pages.
    let per = groups / (accounts * regions);
    let extra = groups % (accounts * regions);
    let pages: usize = (0..accounts * regions)
        .map(|k| (per + usize::from(k < extra)).div_ceil(100))
        .sum();
    assert_eq!(
        served["served"].as_u64().unwrap() as usize,
        1 + pages,
        "{summary}"
    );
    assert_eq!(served["throttled"], 0, "{summary}");
}

/// `audit --org` end to end against bench/org_stub.py (Organizations, STS, EC2, ELBv2): a role is
/// assumed in each member account, not in the caller's own; each account and region is read once
/// with the credentials of its account (the stand-in serves an account's groups only to them);
/// every group is judged once.
#[test]
fn organization_audit_against_a_stand_in_reads_each_account_region_once() {
    let (groups, accounts, regions) = (1234, 3, 2);
    let stand_in = StandIn::start("org_stub.py", groups, accounts, regions);
    let port = &stand_in.port;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sg-compliance"))
        .args([
            "audit",
            "--org",
            "--regions",
            "eu-west-1,us-east-1",
            "--check",
            "public-ingress",
            "--param",
            "blockedTcpPorts=22",
            "--format",
            "json",
        ])
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    let summary = stand_in.stop();
    let rows = stand_in_rows(&out, groups);
    let audited: std::collections::BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r["accountId"].to_string(), r["region"].to_string()))
        .collect();
    assert_eq!(audited.len(), accounts * regions, "{audited:?}");
    let served: Value = serde_json::from_str(summary.trim()).unwrap();
    let actions = &served["actions"];
    assert_eq!(actions["AssumeRole"], accounts - 1, "{summary}");
    assert_eq!(
        actions["DescribeSecurityGroups"],
        accounts * regions,
        "{summary}"
    );
    assert_eq!(served["unknown"], serde_json::json!([]), "{summary}");
    assert_eq!(served["throttled"], 0, "{summary}");
}

/// A bench stand-in (bench/*_stub.py) serving `groups` over `accounts` x `regions` at 500
/// requests a second, on the port it chose.
struct StandIn {
    child: std::process::Child,
    port: String,
    port_file: std::path::PathBuf,
}

impl StandIn {
    fn start(script: &str, groups: usize, accounts: usize, regions: usize) -> StandIn {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let python = std::env::var("SG_COMPLIANCE_PYTHON")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| root.join(".venv/bin/python"));
        let port_file =
            std::env::temp_dir().join(format!("sg-{script}-port-{}", std::process::id()));
        let _ = std::fs::remove_file(&port_file);
        let child = std::process::Command::new(&python)
            .arg(root.join("bench").join(script))
            .arg(&port_file)
            .args([
                "--groups",
                &groups.to_string(),
                "--accounts",
                &accounts.to_string(),
                "--regions",
                &regions.to_string(),
                "--rps",
                "500",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut port = String::new();
        for _ in 0..200 {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                if !p.is_empty() {
                    port = p;
                    break;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        assert!(!port.is_empty(), "the stand-in {script} did not start");
        StandIn {
            child,
            port,
            port_file,
        }
    }

    /// Stops it and returns the JSON summary of what it served.
    fn stop(mut self) -> String {
        use std::io::Read;
        terminate(&self.child);
        let mut s = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.port_file);
        s
    }
}

/// SIGTERM, so the stand-in prints what it served.
fn terminate(child: &std::process::Child) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

/// The JSON rows of an audit against a stand-in world of `groups` groups: one row each, and every
/// seventh group (the world's open ones) NON_COMPLIANT.
fn stand_in_rows(out: &std::process::Output, groups: usize) -> Vec<Value> {
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        rows.len(),
        groups,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let open = rows
        .iter()
        .filter(|r| r["complianceType"] == "NON_COMPLIANT")
        .count();
    assert_eq!(open, (0..groups).filter(|i| i % 7 == 0).count());
    rows
}
