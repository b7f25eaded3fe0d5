//! `sg-compliance remediate --live --apply` end to end: flagged groups of each check created in
//! moto, the real binary plans and applies the fixes through the SDK, then the groups are described
//! again: compliant, and every unrelated rule intact. `--dry-run` changes nothing.

use aws_sdk_ec2::types::{IpPermission, SecurityGroup};
use serde_json::Value;

use crate::support::{allow, security_group, tcp_from as tcp, vpc, Moto};

/// Every (protocol, from, to, source) rule of a described group, sorted.
fn rules(g: &SecurityGroup) -> Vec<String> {
    let mut out = Vec::new();
    for p in g.ip_permissions() {
        let head = format!(
            "{} {}-{}",
            p.ip_protocol().unwrap_or("?"),
            p.from_port().unwrap_or(-1),
            p.to_port().unwrap_or(-1)
        );
        for r in p.ip_ranges() {
            out.push(format!("{head} {}", r.cidr_ip().unwrap_or("?")));
        }
        for r in p.user_id_group_pairs() {
            out.push(format!("{head} {}", r.group_id().unwrap_or("?")));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn remediate_apply_fixes_each_check_and_keeps_unrelated_rules() {
    let moto = Moto::start();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let vpc = vpc(&ec2).await;
    let group = |name: &'static str, web: bool| security_group(&ec2, &vpc, name, web);
    let allow = |id: String, perms: Vec<IpPermission>| {
        let ec2 = &ec2;
        async move { allow(ec2, &id, perms).await }
    };

    // SSH from the world next to rules that must survive.
    let ssh = group("ssh", false).await;
    allow(
        ssh.clone(),
        vec![
            tcp(22, 22, "0.0.0.0/0"),
            tcp(22, 22, "10.0.0.0/8"),
            tcp(443, 443, "0.0.0.0/0"),
        ],
    )
    .await;
    // A whole-range rule: revoke it, re-authorize everything but 22.
    let range = group("range", false).await;
    allow(range.clone(), vec![tcp(0, 65535, "0.0.0.0/0")]).await;
    // A web-tier group with no path from the load balancer.
    let lb = group("alb", false).await;
    let web = group("web", true).await;
    allow(web.clone(), vec![tcp(8080, 8080, "10.0.0.0/16")]).await;

    let args = [
        "remediate",
        "--live",
        "--check",
        "public-ingress",
        "--param",
        "blockedTcpPorts=22",
        "--check",
        "web-tier",
        "--param",
        "tierTagKey=tier",
        "--param",
    ];
    let lb_param = format!("loadBalancerSecurityGroupIds={lb}");
    let describe = |ids: Vec<String>| {
        let req = ec2.describe_security_groups().set_group_ids(Some(ids));
        async move { req.send().await.unwrap().security_groups().to_vec() }
    };
    let before = describe(vec![ssh.clone(), range.clone(), web.clone()]).await;

    // Plans only: exit 1 (fixes pending), exact AWS CLI commands.
    let plan = moto.cli(&[&args[..], &[lb_param.as_str()]].concat());
    let text = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(
        plan.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    assert!(text.contains(&format!("aws ec2 revoke-security-group-ingress --region us-east-1 --group-id {ssh} --ip-permissions '[{{\"IpProtocol\":\"tcp\",\"FromPort\":22,\"ToPort\":22,\"IpRanges\":[{{\"CidrIp\":\"0.0.0.0/0\"}}]}}]'")), "{text}");

    // A dry run changes nothing.
    let dry = moto.cli(
        &[
            &args[..],
            &[lb_param.as_str(), "--apply", "--yes", "--dry-run"],
        ]
        .concat(),
    );
    assert_eq!(
        dry.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let after_dry = describe(vec![ssh.clone(), range.clone(), web.clone()]).await;
    assert_eq!(
        after_dry.iter().map(rules).collect::<Vec<_>>(),
        before.iter().map(rules).collect::<Vec<_>>()
    );

    // Apply: every group compliant, unrelated rules intact.
    let applied = moto.cli(
        &[
            &args[..],
            &[lb_param.as_str(), "--apply", "--yes", "--format", "json"],
        ]
        .concat(),
    );
    let err = String::from_utf8_lossy(&applied.stderr);
    assert_eq!(applied.status.code(), Some(0), "{err}");
    let planned: Vec<Value> = serde_json::from_slice(&applied.stdout).unwrap();
    assert_eq!(planned.len(), 3, "{planned:?}");
    let after = describe(vec![ssh.clone(), range.clone(), web.clone()]).await;
    assert_eq!(
        rules(&after[0]),
        vec!["tcp 22-22 10.0.0.0/8", "tcp 443-443 0.0.0.0/0"]
    );
    assert_eq!(
        rules(&after[1]),
        vec!["tcp 0-21 0.0.0.0/0", "tcp 23-65535 0.0.0.0/0"]
    );
    assert_eq!(
        rules(&after[2]),
        vec![
            format!("tcp 443-443 {lb}"),
            format!("tcp 80-80 {lb}"),
            "tcp 8080-8080 10.0.0.0/16".to_string()
        ]
    );
    // Nothing left to fix.
    let again = moto.cli(&[&args[..], &[lb_param.as_str()]].concat());
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}

#[test]
fn apply_without_live_or_confirmation_is_refused() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (args, needle) in [
        (
            vec![
                "remediate",
                "--input",
                "fixtures/audit/organization.json",
                "--apply",
                "--yes",
            ],
            "--apply needs --live",
        ),
        (
            vec!["remediate", "--live", "--apply"],
            "pass --yes to apply without a prompt",
        ),
        (
            vec![
                "remediate",
                "--input",
                "fixtures/audit/organization.json",
                "--dry-run",
            ],
            "go with --apply",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sg-compliance"))
            .args(&args)
            .current_dir(root)
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_MAX_ATTEMPTS", "1")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// The Config auto-remediation function: the real binary under the Lambda runtime harness, the
/// real SDK against moto.
#[tokio::test(flavor = "multi_thread")]
async fn remediation_function_fixes_the_group_it_is_given() {
    use crate::support::Function;
    use serde_json::json;
    let moto = Moto::start();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let vpc = vpc(&ec2).await;
    let ssh = security_group(&ec2, &vpc, "ssh", false).await;
    ec2.authorize_security_group_ingress()
        .group_id(&ssh)
        .set_ip_permissions(Some(vec![
            tcp(0, 65535, "0.0.0.0/0"),
            tcp(5432, 5432, "10.0.0.0/8"),
        ]))
        .send()
        .await
        .unwrap();
    let describe = || {
        let req = ec2.describe_security_groups().group_ids(&ssh);
        async move { rules(&req.send().await.unwrap().security_groups()[0]) }
    };
    let before = describe().await;
    let f = Function::start_binary(&moto, env!("CARGO_BIN_EXE_sg-compliance-remediate"), &[]);
    let params = json!({"check": "public-ingress", "blockedTcpPorts": "22,3389"}).to_string();

    // Dry run (the CDK default): nothing changes, the calls are reported.
    let (kind, body) =
        f.invoke(&json!({"groupId": ssh, "ruleParameters": params, "dryRun": "true"}));
    assert_eq!(kind, "response", "{body}");
    assert_eq!(body["dryRun"], true);
    assert_eq!(body["calls"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(describe().await, before);

    let (kind, body) =
        f.invoke(&json!({"groupId": ssh, "ruleParameters": params, "dryRun": "false"}));
    assert_eq!(kind, "response", "{body}");
    assert_eq!(body["after"], "COMPLIANT", "{body}");
    assert_eq!(
        describe().await,
        vec![
            "tcp 0-21 0.0.0.0/0",
            "tcp 23-3388 0.0.0.0/0",
            "tcp 3390-65535 0.0.0.0/0",
            "tcp 5432-5432 10.0.0.0/8"
        ]
    );
    // Again: nothing to do.
    let (kind, body) =
        f.invoke(&json!({"groupId": ssh, "ruleParameters": params, "dryRun": false}));
    assert_eq!(kind, "response", "{body}");
    assert_eq!(body["calls"].as_array().unwrap().len(), 0);

    // No automatic fix for broad private ranges: the error says what to do.
    let broad = json!({"check": "broad-private-ingress"}).to_string();
    let (kind, body) =
        f.invoke(&json!({"groupId": ssh, "ruleParameters": broad, "dryRun": "false"}));
    assert_eq!(kind, "error", "{body}");
    assert_eq!(body["errorType"], "NoAutomaticFix", "{body}");
    assert!(
        body["errorMessage"].as_str().unwrap().contains(
            "no safe automatic fix for broad-private-ingress: reference the client tier's security group instead of 10.0.0.0/8"
        ),
        "{body}"
    );

    let (kind, body) = f.invoke(&json!({"groupId": "sg-00000000", "ruleParameters": params}));
    assert_eq!(
        (kind.as_str(), body["errorType"].as_str()),
        ("error", Some("NoSuchGroup")),
        "{body}"
    );
}

/// The remediation function plans from one group: the listed load balancer group's VPC is looked
/// up (one batched DescribeSecurityGroups), so a group of another VPC is never authorized.
#[tokio::test(flavor = "multi_thread")]
async fn remediation_function_authorizes_only_a_load_balancer_of_the_same_vpc() {
    use crate::support::Function;
    use serde_json::json;
    let moto = Moto::start();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let (ours, theirs) = (vpc(&ec2).await, vpc(&ec2).await);
    let web = security_group(&ec2, &ours, "web", true).await;
    let lb_here = security_group(&ec2, &ours, "alb-here", false).await;
    let lb_there = security_group(&ec2, &theirs, "alb-there", false).await;
    let f = Function::start_binary(&moto, env!("CARGO_BIN_EXE_sg-compliance-remediate"), &[]);
    let describe = || {
        let req = ec2.describe_security_groups().group_ids(&web);
        async move { rules(&req.send().await.unwrap().security_groups()[0]) }
    };
    // Only the other VPC's group listed: no plan, nothing authorized.
    let params =
        json!({"tierTagKey": "tier", "loadBalancerSecurityGroupIds": lb_there}).to_string();
    let (kind, body) =
        f.invoke(&json!({"groupId": web, "ruleParameters": params, "dryRun": false}));
    assert_eq!(
        (kind.as_str(), body["errorType"].as_str()),
        ("error", Some("NoAutomaticFix")),
        "{body}"
    );
    assert!(describe().await.is_empty());
    // Both listed: the one in the group's own VPC, without "several load balancer groups".
    let both = format!("{lb_there},{lb_here}");
    let params = json!({"tierTagKey": "tier", "loadBalancerSecurityGroupIds": both}).to_string();
    let (kind, body) =
        f.invoke(&json!({"groupId": web, "ruleParameters": params, "dryRun": false}));
    assert_eq!(kind, "response", "{body}");
    assert_eq!(body["after"], "COMPLIANT", "{body}");
    assert_eq!(
        describe().await,
        vec![
            format!("tcp 443-443 {lb_here}"),
            format!("tcp 80-80 {lb_here}")
        ]
    );
}

/// One plan per group across checks, and a plan at the rule quota: 57 rules plus tcp 0-65535
/// from the internet with 22 and 3389 blocked reshapes the wide rule in place
/// (DescribeSecurityGroupRules + ModifySecurityGroupRules) so no step holds 61 rules; the
/// re-authorized pieces keep the rule's description.
#[tokio::test(flavor = "multi_thread")]
async fn remediate_apply_plans_once_per_group_and_within_the_quota() {
    use aws_sdk_ec2::types::IpRange;
    let moto = Moto::start();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let vpc = vpc(&ec2).await;
    let full = security_group(&ec2, &vpc, "full", false).await;
    let mut perms: Vec<IpPermission> = (0..57)
        .map(|i| tcp(10_000 + i, 10_000 + i, "10.0.0.0/16"))
        .collect();
    perms.push(
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(0)
            .to_port(65535)
            .ip_ranges(
                IpRange::builder()
                    .cidr_ip("0.0.0.0/0")
                    .description("legacy app")
                    .build(),
            )
            .build(),
    );
    allow(&ec2, &full, perms).await;
    // Two checks on one group: web-tier forbids public ingress, public-ingress allows 80,443.
    let lb = security_group(&ec2, &vpc, "alb", false).await;
    let web = security_group(&ec2, &vpc, "web", true).await;
    allow(
        &ec2,
        &web,
        vec![tcp(0, 65535, "0.0.0.0/0"), tcp(80, 80, "10.0.0.0/16")],
    )
    .await;
    ec2.authorize_security_group_ingress()
        .group_id(&web)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .user_id_group_pairs(
                    aws_sdk_ec2::types::UserIdGroupPair::builder()
                        .group_id(&lb)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let lb_param = format!("loadBalancerSecurityGroupIds={lb}");
    let ssh = [
        "remediate",
        "--live",
        "--check",
        "public-ingress",
        "--param",
        "blockedTcpPorts=22,3389",
    ];
    let plan = moto.cli(&[&ssh[..], &["--group-id", full.as_str()]].concat());
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(text.contains("modify-security-group-rules"), "{text}");
    let applied =
        moto.cli(&[&ssh[..], &["--group-id", full.as_str(), "--apply", "--yes"]].concat());
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let g = ec2
        .describe_security_groups()
        .group_ids(&full)
        .send()
        .await
        .unwrap();
    let g = &g.security_groups()[0];
    let got = rules(g);
    assert_eq!(got.len(), 60, "{got:?}");
    for piece in [
        "tcp 0-21 0.0.0.0/0",
        "tcp 23-3388 0.0.0.0/0",
        "tcp 3390-65535 0.0.0.0/0",
    ] {
        assert!(got.contains(&piece.to_string()), "{got:?}");
    }
    let described: Vec<&str> = g
        .ip_permissions()
        .iter()
        .flat_map(|p| p.ip_ranges())
        .filter(|r| r.cidr_ip() == Some("0.0.0.0/0"))
        .filter_map(|r| r.description())
        .collect();
    assert_eq!(described, ["legacy app"; 3], "{:?}", g.ip_permissions());

    let both = [
        "remediate",
        "--live",
        "--check",
        "web-tier",
        "--param",
        "tierTagKey=tier",
        "--param",
        "forbidPublicIngress=true",
        "--param",
        lb_param.as_str(),
        "--check",
        "public-ingress",
        "--group-id",
        web.as_str(),
    ];
    let plan = moto.cli(&both);
    let text = String::from_utf8_lossy(&plan.stdout);
    // One revoke ends both: public-ingress's narrowing is not applied on top of it.
    assert_eq!(text.matches("aws ec2 ").count(), 1, "one plan: {text}");
    let applied = moto.cli(&[&both[..], &["--apply", "--yes"]].concat());
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let after = ec2
        .describe_security_groups()
        .group_ids(&web)
        .send()
        .await
        .unwrap();
    assert_eq!(
        rules(&after.security_groups()[0]),
        vec![
            format!("tcp 443-443 {lb}"),
            "tcp 80-80 10.0.0.0/16".to_string()
        ]
    );
}
