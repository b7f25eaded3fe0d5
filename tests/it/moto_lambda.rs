//! End to end: the real `sg-compliance-lambda` binary, driven through a Lambda Runtime API, calling
//! the real AWS SDK against a moto server on 127.0.0.1. Groups, tags and an ELB-owned network
//! interface are created in moto; what reached the emulator is read back from moto's recorder.

use crate::support::{
    body_text, header, internet_facing_nlb_target, operation, put_evaluations, Function, Moto,
};
use aws_sdk_ec2::types::{
    IpPermission, IpRange, ResourceType, SecurityGroup, Tag, TagSpecification, UserIdGroupPair,
};
use serde_json::{json, Value};

const ACCOUNT: &str = "123456789012";

struct World {
    moto: Moto,
    ec2: aws_sdk_ec2::Client,
    alb: String,
    app: String,
    web_good: String,
    web_bad: String,
    ssh_open: String,
    rdp_private: String,
    https_egress: String,
}

fn tcp(port: i32) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
}

async fn group(ec2: &aws_sdk_ec2::Client, vpc: &str, name: &str, tags: &[(&str, &str)]) -> String {
    let mut req = ec2
        .create_security_group()
        .group_name(name)
        .description(name)
        .vpc_id(vpc);
    if !tags.is_empty() {
        let mut spec = TagSpecification::builder().resource_type(ResourceType::SecurityGroup);
        for (k, v) in tags {
            spec = spec.tags(Tag::builder().key(*k).value(*v).build());
        }
        req = req.tag_specifications(spec.build());
    }
    req.send().await.unwrap().group_id().unwrap().to_string()
}

async fn allow(ec2: &aws_sdk_ec2::Client, id: &str, perm: IpPermission) {
    ec2.authorize_security_group_ingress()
        .group_id(id)
        .ip_permissions(perm)
        .send()
        .await
        .unwrap();
}

/// A VPC with an ALB's group (attached to an `ELB app/...` interface), an app group attached to an
/// ordinary instance interface, web-tier groups fed by each, and groups for the exposure checks.
async fn world() -> World {
    let moto = Moto::start();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.0.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();

    let alb = group(&ec2, &vpc, "web-alb", &[]).await;
    let app = group(&ec2, &vpc, "app", &[]).await;
    for (desc, sg) in [
        ("ELB app/web-alb/50dc6c495c0c9188", &alb),
        ("Primary network interface", &app),
    ] {
        ec2.create_network_interface()
            .subnet_id(&subnet)
            .description(desc)
            .groups(sg)
            .send()
            .await
            .unwrap();
    }
    let web_good = group(&ec2, &vpc, "web-good", &[("tier", "web")]).await;
    allow(
        &ec2,
        &web_good,
        tcp(443)
            .user_id_group_pairs(UserIdGroupPair::builder().group_id(&alb).build())
            .build(),
    )
    .await;
    let web_bad = group(&ec2, &vpc, "web-bad", &[("tier", "web")]).await;
    allow(
        &ec2,
        &web_bad,
        tcp(80)
            .user_id_group_pairs(UserIdGroupPair::builder().group_id(&app).build())
            .build(),
    )
    .await;
    let ssh_open = group(&ec2, &vpc, "ssh-open", &[]).await;
    allow(
        &ec2,
        &ssh_open,
        tcp(22)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/1").build())
            .ip_ranges(IpRange::builder().cidr_ip("128.0.0.0/1").build())
            .build(),
    )
    .await;
    let rdp_private = group(&ec2, &vpc, "rdp-private", &[]).await;
    allow(
        &ec2,
        &rdp_private,
        tcp(3389)
            .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
            .build(),
    )
    .await;
    let https_egress = group(&ec2, &vpc, "https-egress", &[]).await;
    ec2.revoke_security_group_egress()
        .group_id(&https_egress)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    ec2.authorize_security_group_egress()
        .group_id(&https_egress)
        .ip_permissions(
            tcp(443)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    World {
        moto,
        ec2,
        alb,
        app,
        web_good,
        web_bad,
        ssh_open,
        rdp_private,
        https_egress,
    }
}

async fn describe(ec2: &aws_sdk_ec2::Client, id: &str) -> SecurityGroup {
    ec2.describe_security_groups()
        .group_ids(id)
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .clone()
}

/// The configuration item AWS Config would record for a group (camelCase, both range shapes).
fn config_item(sg: &SecurityGroup, capture_time: &str) -> Value {
    let perms = |ps: &[IpPermission]| -> Vec<Value> {
        ps.iter()
            .map(|p| {
                json!({
                    "ipProtocol": p.ip_protocol(), "fromPort": p.from_port(), "toPort": p.to_port(),
                    "ipRanges": p.ip_ranges().iter().map(|r| r.cidr_ip()).collect::<Vec<_>>(),
                    "ipv4Ranges": p.ip_ranges().iter().map(|r| json!({"cidrIp": r.cidr_ip()})).collect::<Vec<_>>(),
                    "ipv6Ranges": p.ipv6_ranges().iter().map(|r| json!({"cidrIpv6": r.cidr_ipv6()})).collect::<Vec<_>>(),
                    "prefixListIds": p.prefix_list_ids().iter().map(|r| json!({"prefixListId": r.prefix_list_id()})).collect::<Vec<_>>(),
                    "userIdGroupPairs": p.user_id_group_pairs().iter().map(|g| json!({"groupId": g.group_id(), "userId": g.user_id()})).collect::<Vec<_>>(),
                })
            })
            .collect()
    };
    let tags: serde_json::Map<String, Value> = sg
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap().to_string(),
                json!(t.value().unwrap_or_default()),
            )
        })
        .collect();
    json!({
        "configurationItemVersion": "1.3", "configurationItemCaptureTime": capture_time, "configurationItemStatus": "OK",
        "awsAccountId": ACCOUNT, "resourceType": "AWS::EC2::SecurityGroup", "resourceId": sg.group_id(),
        "resourceName": sg.group_name(), "awsRegion": "us-east-1", "tags": tags, "relationships": [], "relatedEvents": [],
        "configuration": {
            "ownerId": sg.owner_id(), "groupName": sg.group_name(), "groupId": sg.group_id(), "vpcId": sg.vpc_id(),
            "description": sg.description(), "ipPermissions": perms(sg.ip_permissions()),
            "ipPermissionsEgress": perms(sg.ip_permissions_egress()),
            "tags": sg.tags().iter().map(|t| json!({"key": t.key(), "value": t.value()})).collect::<Vec<_>>()
        },
        "supplementaryConfiguration": {}
    })
}

fn rule_event(invoking: Value, params: Value, rule: &str) -> Value {
    json!({
        "version": "1.0", "invokingEvent": invoking.to_string(), "ruleParameters": params.to_string(),
        "resultToken": "TESTMODE", "eventLeftScope": false, "configRuleName": rule, "accountId": ACCOUNT,
        "executionRoleArn": format!("arn:aws:iam::{ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"),
        "configRuleArn": format!("arn:aws:config:us-east-1:{ACCOUNT}:config-rule/config-rule-0123ab"),
    })
}

fn change(item: Value, params: Value) -> Value {
    rule_event(
        json!({"configurationItem": item, "messageType": "ConfigurationItemChangeNotification", "notificationCreationTime": "2026-11-21T10:00:01.000Z", "recordVersion": "1.3"}),
        params,
        "web-tier-security-group",
    )
}

fn scheduled(params: Value, rule: &str) -> Value {
    rule_event(
        json!({"awsAccountId": ACCOUNT, "messageType": "ScheduledNotification", "notificationCreationTime": "2026-11-21T12:00:00.000Z", "recordVersion": "1.0"}),
        params,
        rule,
    )
}

fn verdict<'a>(evals: &'a [Value], id: &str) -> &'a Value {
    evals
        .iter()
        .rev()
        .find(|e| e["ComplianceResourceId"] == id)
        .unwrap_or_else(|| panic!("no evaluation for {id} in {evals:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn web_tier_change_and_periodic_against_moto() {
    let w = world().await;
    let function = Function::start(&w.moto, &[]);
    let params = json!({"tierTagKey": "tier", "tierTagValue": "web"});
    // Let the init warm-up finish before recording.
    let (kind, _) = function.invoke(&json!({"invokingEvent": "{}"}));
    assert_eq!(kind, "error");
    w.moto.start_recording();

    let good = config_item(
        &describe(&w.ec2, &w.web_good).await,
        "2026-11-21T09:30:12.418Z",
    );
    let (kind, summary) = function.invoke(&change(good, params.clone()));
    assert_eq!(kind, "response", "{summary}");
    assert_eq!(summary["compliant"], 1, "{summary}");
    let bad = config_item(
        &describe(&w.ec2, &w.web_bad).await,
        "2026-11-21T09:31:00.000Z",
    );
    let (kind, summary) = function.invoke(&change(bad, params.clone()));
    assert_eq!(
        (kind.as_str(), &summary["nonCompliant"]),
        ("response", &json!(1)),
        "{summary}"
    );
    let (kind, summary) = function.invoke(&scheduled(params, "web-tier-security-group"));
    assert_eq!(kind, "response", "{summary}");
    // moto 5.2 has no GetComplianceDetailsByConfigRule: the clean-up is skipped, verdicts still go out.
    assert!(
        summary["staleCleanup"]
            .as_str()
            .unwrap()
            .starts_with("skipped: GetComplianceDetailsByConfigRule failed"),
        "{summary}"
    );

    let recording = w.moto.recording();
    let (evals, calls) = put_evaluations(&recording);
    assert_eq!(calls.len(), 3);
    assert!(calls
        .iter()
        .all(|c| c["TestMode"] == true && c["ResultToken"] == "TESTMODE"));
    // Change: ordering timestamp is the capture time; the ELB interface made the ALB group count.
    let first = &calls[0]["Evaluations"][0];
    assert_eq!(first["ComplianceResourceId"], w.web_good.as_str());
    assert_eq!(first["ComplianceType"], "COMPLIANT", "{first}");
    assert_eq!(first["OrderingTimestamp"].as_f64(), Some(1_795_253_412.418));
    assert!(first["Annotation"].as_str().unwrap().contains(&w.alb));
    let second = &calls[1]["Evaluations"][0];
    assert_eq!(second["ComplianceType"], "NON_COMPLIANT");
    let annotation = second["Annotation"].as_str().unwrap();
    assert!(
        annotation.starts_with(&format!("web-tier group (tier:web): tcp/80 only from {} which is not attached to a load balancer; fix by hand: no load balancer group of its VPC is known", w.app)),
        "{annotation}"
    );
    assert_eq!(
        annotation.chars().count(),
        256,
        "cut to the limit: {annotation}"
    );
    // Periodic: every group in the region, ordered at the notification time.
    let sweep = calls[2]["Evaluations"].as_array().unwrap();
    assert!(sweep
        .iter()
        .all(|e| e["OrderingTimestamp"].as_f64() == Some(1_795_262_400.0)));
    assert_eq!(verdict(sweep, &w.web_good)["ComplianceType"], "COMPLIANT");
    assert_eq!(
        verdict(sweep, &w.web_bad)["ComplianceType"],
        "NON_COMPLIANT"
    );
    assert_eq!(
        verdict(sweep, &w.ssh_open)["ComplianceType"],
        "NOT_APPLICABLE"
    );
    assert!(
        sweep.len() >= 8,
        "includes the default groups: {}",
        sweep.len()
    );
    assert_eq!(evals.len(), 2 + sweep.len());
    // One batched ENI look-up per invocation, filtered by the candidate groups.
    let eni_calls: Vec<String> = recording
        .iter()
        .filter(|r| operation(r) == "DescribeNetworkInterfaces")
        .map(body_text)
        .collect();
    assert_eq!(eni_calls.len(), 3, "{eni_calls:?}");
    assert!(
        eni_calls
            .iter()
            .all(|b| b.contains("Filter.1.Name=group-id")),
        "{eni_calls:?}"
    );

    let logs = function.logs();
    assert!(
        logs.iter()
            .any(|l| l["fields"]["message"] == "evaluation" && l["level"] == "INFO"),
        "JSON logs: {logs:?}"
    );
    assert!(logs
        .iter()
        .any(|l| l["level"] == "ERROR" && l["fields"]["error_type"] == "InvalidEvent"));
}

#[tokio::test(flavor = "multi_thread")]
async fn exposure_checks_periodic_against_moto() {
    let w = world().await;
    let function = Function::start(&w.moto, &[]);
    w.moto.start_recording();

    let (kind, summary) = function.invoke(&scheduled(
        json!({"check": "public-ingress", "blockedTcpPorts": "22,3389"}),
        "public-ingress-ssh-rdp",
    ));
    assert_eq!(kind, "response", "{summary}");
    assert_eq!(summary["nonCompliant"], 1, "only the ssh group: {summary}");
    let (kind, summary) = function.invoke(&scheduled(
        json!({"check": "public-egress", "authorizedEgressTcpPorts": "443"}),
        "public-egress",
    ));
    assert_eq!(kind, "response", "{summary}");

    let (_, calls) = put_evaluations(&w.moto.recording());
    assert_eq!(calls.len(), 2);
    let ingress = calls[0]["Evaluations"].as_array().unwrap();
    let ssh = verdict(ingress, &w.ssh_open);
    assert_eq!(ssh["ComplianceType"], "NON_COMPLIANT");
    assert_eq!(
        ssh["Annotation"],
        "blocked ports open to the internet: tcp/22 open to 0.0.0.0/1 + 128.0.0.0/1 (= 0.0.0.0/0); fix: revoke tcp/22 from 0.0.0.0/1, 128.0.0.0/1"
    );
    assert_eq!(
        verdict(ingress, &w.rdp_private)["ComplianceType"],
        "COMPLIANT"
    );
    let egress = calls[1]["Evaluations"].as_array().unwrap();
    assert_eq!(
        verdict(egress, &w.https_egress)["ComplianceType"],
        "COMPLIANT",
        "{egress:#?}"
    );
    let default_egress = verdict(egress, &w.web_good);
    assert_eq!(default_egress["ComplianceType"], "NON_COMPLIANT");
    assert_eq!(
        default_egress["Annotation"],
        "egress to the internet on unauthorized ports: all traffic to 0.0.0.0/0; unsafe fix: authorize tcp/443, icmp to 0.0.0.0/0; revoke all traffic to 0.0.0.0/0"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn organization_mode_assumes_the_member_role_and_bad_input_is_a_typed_error() {
    let w = world().await;
    let function = Function::start(
        &w.moto,
        &[("SG_COMPLIANCE_ASSUME_ROLE", "sg-compliance-member")],
    );
    let (kind, _) = function.invoke(&json!({"invokingEvent": "{}"}));
    assert_eq!(kind, "error");
    w.moto.start_recording();

    let (kind, err) = function.invoke(&scheduled(
        json!({"check": "public-ingress", "blockedTcpPorts": "8o"}),
        "r",
    ));
    assert_eq!(kind, "error");
    assert_eq!(err["errorType"], "InvalidRuleParameter");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("rule parameter `blockedTcpPorts` = `8o`"),
        "{err}"
    );

    let (kind, summary) = function.invoke(&scheduled(
        json!({"check": "public-ingress", "blockedTcpPorts": "22"}),
        "r",
    ));
    assert_eq!(kind, "response", "{summary}");
    assert_eq!(summary["nonCompliant"], 1);

    let recording = w.moto.recording();
    let assume: Vec<String> = recording
        .iter()
        .filter(|r| operation(r) == "AssumeRole")
        .map(body_text)
        .collect();
    assert_eq!(assume.len(), 1, "assumed once, then cached");
    assert!(
        assume[0]
            .contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fsg-compliance-member"),
        "{}",
        assume[0]
    );
    let puts: Vec<&Value> = recording
        .iter()
        .filter(|r| operation(r) == "PutEvaluations")
        .collect();
    assert_eq!(puts.len(), 1);
    let auth = header(puts[0], "Authorization").unwrap();
    assert!(
        !auth.contains("Credential=testing/"),
        "PutEvaluations must use the member role's credentials: {auth}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_live_and_deliver_against_moto() {
    let w = world().await;
    w.moto.start_recording();
    let event = scheduled(
        json!({"check": "public-ingress", "blockedTcpPorts": "22"}),
        "public-ingress-ssh-rdp",
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sg-compliance"))
        .args(["evaluate", "--event", "-", "--deliver"])
        .env("AWS_ENDPOINT_URL", w.moto.endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(event.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // moto 5.2 has no GetComplianceDetailsByConfigRule: the CLI says the clean-up was skipped.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(
            "sg-compliance: warning: stale-result clean-up skipped: GetComplianceDetailsByConfigRule failed"
        ) && stderr.lines().count() == 1,
        "{stderr}"
    );
    let printed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let ssh = printed
        .iter()
        .find(|e| e["complianceResourceId"] == w.ssh_open.as_str())
        .unwrap();
    assert_eq!(ssh["complianceType"], "NON_COMPLIANT");
    assert_eq!(ssh["orderingTimestamp"], "2026-11-21T12:00:00Z");
    let (delivered, calls) = put_evaluations(&w.moto.recording());
    assert_eq!(calls.len(), 1);
    assert_eq!(
        delivered.len(),
        printed.len(),
        "--deliver sent what it printed"
    );
}

/// A periodic sweep of a region with 10,000 groups (half of them web-tier) and 10 load balancers'
/// groups, through the real binary and SDK: every group gets exactly one evaluation, with the
/// verdict the seeder expects, and the calls stay batched. moto ignores `MaxResults`, so the
/// groups come in one DescribeSecurityGroups page here (against EC2: one call per 1,000).
#[tokio::test(flavor = "multi_thread")]
async fn periodic_sweep_of_10000_groups_evaluates_each_once_with_batched_calls() {
    let (moto, seeded) = Moto::start_seeded(10_000, 10);
    let expected: std::collections::BTreeMap<String, String> =
        serde_json::from_value(seeded["expected"].clone()).unwrap();
    let function = Function::start(&moto, &[]);
    let (kind, _) = function.invoke(&json!({"invokingEvent": "{}"}));
    assert_eq!(kind, "error", "the warm-up invocation is rejected");
    moto.start_recording();

    let (kind, summary) = function.invoke(&scheduled(
        json!({"tierTagKey": "tier", "tierTagValue": "web"}),
        "web-tier-security-group",
    ));
    assert_eq!(kind, "response", "{summary}");
    let count = |c: &str| expected.values().filter(|v| *v == c).count();
    assert_eq!(
        (
            &summary["compliant"],
            &summary["nonCompliant"],
            &summary["notApplicable"]
        ),
        (
            &json!(count("COMPLIANT")),
            &json!(count("NON_COMPLIANT")),
            &json!(count("NOT_APPLICABLE"))
        ),
        "{summary}"
    );

    let recording = moto.recording();
    let (evals, calls) = put_evaluations(&recording);
    let mut got: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for e in &evals {
        got.entry(e["ComplianceResourceId"].as_str().unwrap().to_string())
            .or_default()
            .push(e["ComplianceType"].as_str().unwrap().to_string());
    }
    assert_eq!(got.len(), expected.len(), "every group of the region");
    for (id, want) in &expected {
        assert_eq!(
            got[id],
            std::slice::from_ref(want),
            "{id}: exactly one evaluation"
        );
    }
    // The calls: batches of 100, one describe, ENI look-ups of up to 200 candidate groups (the
    // 5,000 web groups and the 11 groups they reference), the stale-result read, nothing per group.
    assert_eq!(calls.len(), expected.len().div_ceil(100));
    assert!(calls
        .iter()
        .all(|c| c["Evaluations"].as_array().unwrap().len() <= 100));
    let mut operations: std::collections::BTreeMap<String, usize> = Default::default();
    for r in &recording {
        *operations.entry(operation(r)).or_default() += 1;
    }
    assert_eq!(
        operations,
        [
            ("DescribeSecurityGroups".to_string(), 1),
            (
                "DescribeNetworkInterfaces".to_string(),
                5_011usize.div_ceil(200)
            ),
            ("GetComplianceDetailsByConfigRule".to_string(), 1),
            ("PutEvaluations".to_string(), calls.len()),
        ]
        .into(),
    );
}

/// Init opens Config's connection with one read-only call (the README's promise), and
/// `SG_COMPLIANCE_WARMUP=false` makes none.
#[tokio::test(flavor = "multi_thread")]
async fn init_warms_up_configs_connection_with_one_read_only_call() {
    let moto = Moto::start();
    for (env, want) in [
        (&[][..], &["GetResourceConfigHistory"][..]),
        (&[("SG_COMPLIANCE_WARMUP", "false")][..], &[][..]),
    ] {
        moto.start_recording();
        let function = Function::start(&moto, env);
        // Answered after init: the warm-up is over.
        let (kind, _) = function.invoke(&json!({"invokingEvent": "{}"}));
        assert_eq!(kind, "error", "an empty event is rejected");
        let calls: Vec<String> = moto.recording().iter().map(operation).collect();
        assert_eq!(calls, want, "{env:?}");
    }
}

/// Verdicts follow their dependencies: the tier tag of a source group changes (app becomes web),
/// and the invocation for that change also re-evaluates the groups that reference it (one
/// DescribeSecurityGroups filtered on `ip-permission.group-id`): the database tier turns
/// NON_COMPLIANT in the same invocation; an unrelated group gets no evaluation.
#[tokio::test(flavor = "multi_thread")]
async fn a_tag_change_on_a_source_group_re_evaluates_its_dependents() {
    let moto = Moto::start();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let vpc = crate::support::vpc(&ec2).await;
    let app = group(&ec2, &vpc, "app", &[("tier", "app")]).await;
    let db = group(&ec2, &vpc, "db", &[("tier", "db")]).await;
    let other = group(&ec2, &vpc, "other-db", &[("tier", "db")]).await;
    allow(
        &ec2,
        &db,
        tcp(5432)
            .user_id_group_pairs(UserIdGroupPair::builder().group_id(&app).build())
            .build(),
    )
    .await;
    let function = Function::start(&moto, &[]);
    let params = json!({"check": "tiers", "tierTagKey": "tier", "tierRules": "db<-app:5432; app<-web:8080",
                        "loadBalancerSecurityGroupIds": "sg-0fffffffffffffff0"});
    let (kind, _) = function.invoke(&json!({"invokingEvent": "{}"}));
    assert_eq!(kind, "error");
    // The app group is re-tagged web.
    ec2.create_tags()
        .resources(&app)
        .tags(Tag::builder().key("tier").value("web").build())
        .send()
        .await
        .unwrap();
    moto.start_recording();
    let item = config_item(&describe(&ec2, &app).await, "2026-11-21T10:00:00.000Z");
    let (kind, summary) = function.invoke(&change(item, params));
    assert_eq!(kind, "response", "{summary}");
    let recording = moto.recording();
    let (evals, calls) = put_evaluations(&recording);
    assert_eq!(
        calls.len(),
        1,
        "one PutEvaluations for the group and its dependents"
    );
    let db_verdict = verdict(&evals, &db);
    assert_eq!(
        db_verdict["ComplianceType"], "NON_COMPLIANT",
        "{db_verdict}"
    );
    assert!(
        db_verdict["Annotation"]
            .as_str()
            .unwrap()
            .contains(&format!(
                "tcp/5432 from {app} (tier web, not a source of db)"
            )),
        "{db_verdict}"
    );
    assert!(evals
        .iter()
        .any(|e| e["ComplianceResourceId"] == app.as_str()));
    assert!(
        !evals
            .iter()
            .any(|e| e["ComplianceResourceId"] == other.as_str()),
        "unrelated groups untouched: {evals:#?}"
    );
    let lookups: Vec<String> = recording
        .iter()
        .filter(|r| operation(r) == "DescribeSecurityGroups")
        .map(body_text)
        .collect();
    assert!(
        lookups.iter().any(|b| b.contains("ip-permission.group-id")),
        "{lookups:?}"
    );
}

/// `exposureLevels=internet` in the Lambda: a group open on tcp/22 used only by an instance in a
/// subnet without a route to an internet gateway is COMPLIANT ("only latent"); the function read
/// the network around that group only (interfaces by `group-id`, the rest by `vpc-id`).
#[tokio::test(flavor = "multi_thread")]
async fn exposure_levels_in_the_rule_read_the_network_around_the_group() {
    let moto = Moto::start();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let vpc = crate::support::vpc(&ec2).await;
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.0.7.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    let ssh = group(&ec2, &vpc, "private-ssh", &[]).await;
    allow(
        &ec2,
        &ssh,
        tcp(22)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build(),
    )
    .await;
    let run = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .subnet_id(&subnet)
        .security_group_ids(&ssh)
        .send()
        .await
        .unwrap();
    let instance = run.instances()[0].instance_id().unwrap().to_string();
    let function = Function::start(&moto, &[]);
    let (kind, _) = function.invoke(&json!({"invokingEvent": "{}"}));
    assert_eq!(kind, "error");
    moto.start_recording();
    let params =
        json!({"check": "public-ingress", "blockedTcpPorts": "22", "exposureLevels": "internet"});
    let item = config_item(&describe(&ec2, &ssh).await, "2026-11-21T10:00:00.000Z");
    let (kind, summary) = function.invoke(&change(item, params));
    assert_eq!(kind, "response", "{summary}");
    let recording = moto.recording();
    let (evals, _) = put_evaluations(&recording);
    let v = verdict(&evals, &ssh);
    assert_eq!(v["ComplianceType"], "COMPLIANT", "{v}");
    assert!(
        v["Annotation"]
            .as_str()
            .unwrap()
            .starts_with("open to the internet but only latent"),
        "{v}"
    );
    let bodies = |op: &str| -> Vec<String> {
        recording
            .iter()
            .filter(|r| operation(r) == op)
            .map(body_text)
            .collect()
    };
    assert!(
        bodies("DescribeNetworkInterfaces")
            .iter()
            .all(|b| b.contains("group-id")),
        "{:?}",
        bodies("DescribeNetworkInterfaces")
    );
    // Load balancers once (none is internet-facing here: no target group is read).
    assert_eq!(bodies("DescribeLoadBalancers").len(), 1);
    assert!(bodies("DescribeTargetGroups").is_empty());
    for op in [
        "DescribeSubnets",
        "DescribeRouteTables",
        "DescribeNetworkAcls",
    ] {
        let b = bodies(op);
        assert_eq!(b.len(), 1, "{op}");
        assert!(
            b[0].contains("vpc-id") && b[0].contains(&vpc),
            "{op}: {b:?}"
        );
    }
    // The instance becomes a target on port 22 of an internet-facing network load balancer: with
    // `internet-via-load-balancer` among the levels the same group is NON_COMPLIANT, and the
    // annotation names the load balancer.
    internet_facing_nlb_target(&moto.sdk_config().await, &vpc, &subnet, &instance).await;
    moto.start_recording();
    let params = json!({"check": "public-ingress", "blockedTcpPorts": "22",
                        "exposureLevels": "internet,internet-via-load-balancer"});
    let item = config_item(&describe(&ec2, &ssh).await, "2026-11-21T10:05:00.000Z");
    let (kind, summary) = function.invoke(&change(item, params));
    assert_eq!(kind, "response", "{summary}");
    let recording = moto.recording();
    let (evals, _) = put_evaluations(&recording);
    let v = verdict(&evals, &ssh);
    assert_eq!(v["ComplianceType"], "NON_COMPLIANT", "{v}");
    assert!(
        v["Annotation"]
            .as_str()
            .unwrap()
            .contains("internet-facing network load balancer edge"),
        "{v}"
    );
}
