//! Fault injection with aws-smithy-mocks: each test asserts what AWS Config finally receives —
//! every group exactly one evaluation, or an error so that Config retries; never a silent loss.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_config::error::ErrorMetadata;
use aws_sdk_config::operation::get_resource_config_history::GetResourceConfigHistoryError;
use aws_sdk_config::operation::put_evaluations::PutEvaluationsOutput;
use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesError;
use aws_sdk_ec2::operation::describe_security_groups::{
    DescribeSecurityGroupsError, DescribeSecurityGroupsOutput,
};
use aws_sdk_ec2::types::{IpPermission, IpRange, Tag, UserIdGroupPair};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use serde_json::json;
use sg_compliance::aws::AwsCloud;

use crate::adapter_mocks::{no_previous_results, scheduled, sg_id};
use sg_compliance::checks::Check;
use sg_compliance::engine::{evaluate_and_deliver, evaluate_event, EngineError};
use sg_compliance::event::ConfigEvent;

fn group(i: usize) -> aws_sdk_ec2::types::SecurityGroup {
    aws_sdk_ec2::types::SecurityGroup::builder()
        .group_id(sg_id(i))
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(
                    IpRange::builder()
                        .cidr_ip(if i % 2 == 0 {
                            "0.0.0.0/0"
                        } else {
                            "10.0.0.0/8"
                        })
                        .build(),
                )
                .build(),
        )
        .build()
}

/// Clients with the SDK's standard retry (3 attempts), backoff shortened for the test.
fn cloud(config_rules: &[&Rule], ec2_rules: &[&Rule]) -> AwsCloud {
    cloud_with(3, config_rules, ec2_rules)
}

fn cloud_with(attempts: u32, config_rules: &[&Rule], ec2_rules: &[&Rule]) -> AwsCloud {
    let retry = aws_sdk_config::config::retry::RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(std::time::Duration::from_millis(1))
        .with_max_backoff(std::time::Duration::from_millis(2));
    let ec2_retry = aws_sdk_ec2::config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(std::time::Duration::from_millis(1))
        .with_max_backoff(std::time::Duration::from_millis(2));
    let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, config_rules, |c| c
        .retry_config(retry.clone()));
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, ec2_rules, |c| c
        .retry_config(ec2_retry.clone()));
    AwsCloud::from_clients(config, ec2)
}

fn one_page(n: usize) -> Rule {
    mock!(aws_sdk_ec2::Client::describe_security_groups).then_output(move || {
        DescribeSecurityGroupsOutput::builder()
            .set_security_groups(Some((0..n).map(group).collect()))
            .build()
    })
}

/// What Config accepted, per resource id (how many times).
type Received = Arc<Mutex<BTreeMap<String, usize>>>;

async fn sweep(config: &[&Rule], ec2: &[&Rule]) -> Result<(), EngineError> {
    sweep_with(3, config, ec2).await
}

/// The Lambda's path: evaluated and delivered page by page.
async fn sweep_with(attempts: u32, config: &[&Rule], ec2: &[&Rule]) -> Result<(), EngineError> {
    let cloud = cloud_with(attempts, config, ec2);
    let (ev, check) = scheduled(json!({"check": "public-ingress", "blockedTcpPorts": "22"}));
    evaluate_and_deliver(&cloud, &ev, &check).await.map(|_| ())
}

#[tokio::test]
async fn one_rejected_evaluation_does_not_keep_the_other_batches_from_config() {
    let received: Received = Arc::default();
    let r = received.clone();
    // Config rejects sg 5 (first batch) every time; everything else is accepted.
    let put = mock!(aws_sdk_config::Client::put_evaluations).then_compute_output(move |req| {
        let mut failed = Vec::new();
        for e in req.evaluations() {
            let id = e.compliance_resource_id().to_string();
            if id == sg_id(5) {
                failed.push(e.clone());
            } else {
                *r.lock().unwrap().entry(id).or_default() += 1;
            }
        }
        PutEvaluationsOutput::builder()
            .set_failed_evaluations(Some(failed))
            .build()
    });
    let previous = no_previous_results();
    let page = one_page(250);
    let err = sweep(&[&previous, &put], &[&page]).await.unwrap_err();
    assert_eq!(err.kind(), "FailedEvaluations");
    assert!(err.to_string().contains(&sg_id(5)), "{err}");
    let got = received.lock().unwrap();
    assert_eq!(got.len(), 249, "every other group delivered");
    assert!(got.values().all(|n| *n == 1), "exactly once each");
    // Batches of 100, 100, 50, and two retries of the rejected one.
    assert_eq!(put.num_calls(), 5);
}

#[tokio::test]
async fn throttling_and_5xx_are_retried_by_the_sdk_and_every_batch_arrives() {
    // Raw HTTP answers, so the SDK's own error parsing and retry classification run: the first
    // batch is throttled, then gets a 500, then goes through; the other two batches go straight in.
    let put = mock!(aws_sdk_config::Client::put_evaluations)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
        )
        .http_status(
            500,
            Some(r#"{"__type":"InternalFailure","message":"try again"}"#.into()),
        )
        .output(|| PutEvaluationsOutput::builder().build())
        .repeatedly()
        .build();
    let previous = no_previous_results();
    let page = one_page(250);
    sweep_with(3, &[&previous, &put], &[&page]).await.unwrap();
    assert_eq!(put.num_calls(), 5, "2 retried attempts + 3 batches");
}

#[tokio::test]
async fn access_denied_on_the_load_balancer_lookup_fails_the_invocation() {
    let page = mock!(aws_sdk_ec2::Client::describe_security_groups).then_output(|| {
        DescribeSecurityGroupsOutput::builder()
            .security_groups(
                aws_sdk_ec2::types::SecurityGroup::builder()
                    .group_id(sg_id(1))
                    .tags(Tag::builder().key("tier").value("web").build())
                    .ip_permissions(
                        IpPermission::builder()
                            .ip_protocol("tcp")
                            .from_port(443)
                            .to_port(443)
                            .user_id_group_pairs(
                                UserIdGroupPair::builder().group_id(sg_id(2)).build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let enis = mock!(aws_sdk_ec2::Client::describe_network_interfaces).then_error(|| {
        DescribeNetworkInterfacesError::generic(
            ErrorMetadata::builder()
                .code("UnauthorizedOperation")
                .message("not allowed")
                .build(),
        )
    });
    let put = mock!(aws_sdk_config::Client::put_evaluations)
        .then_output(|| PutEvaluationsOutput::builder().build());
    let previous = no_previous_results();
    let cloud = cloud(&[&previous, &put], &[&page, &enis]);
    let (ev, check) = scheduled(json!({"tierTagKey": "tier"}));
    let err = evaluate_event(&cloud, &ev, &check).await.unwrap_err();
    assert_eq!(err.kind(), "AwsError");
    assert!(
        err.to_string()
            .contains("DescribeNetworkInterfaces failed (UnauthorizedOperation)"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("the credentials lack this permission"),
        "{err}"
    );
    assert_eq!(
        put.num_calls(),
        0,
        "no verdict without the facts: Config retries"
    );
}

#[tokio::test]
async fn a_failing_second_page_fails_the_sweep_so_config_retries_it() {
    let page1 = mock!(aws_sdk_ec2::Client::describe_security_groups)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            DescribeSecurityGroupsOutput::builder()
                .set_security_groups(Some((0..10).map(group).collect()))
                .next_token("page-2")
                .build()
        });
    let page2 = mock!(aws_sdk_ec2::Client::describe_security_groups)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_error(|| {
            DescribeSecurityGroupsError::generic(
                ErrorMetadata::builder()
                    .code("InternalError")
                    .message("boom")
                    .build(),
            )
        });
    let put = mock!(aws_sdk_config::Client::put_evaluations)
        .then_output(|| PutEvaluationsOutput::builder().build());
    let previous = no_previous_results();
    let err = sweep(&[&previous, &put], &[&page1, &page2])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "AwsError");
    assert!(page2.num_calls() >= 1);
    // The first page's verdicts went out as they were made; the error makes Config retry the sweep.
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn an_oversized_item_whose_history_call_fails_is_an_error() {
    let history = mock!(aws_sdk_config::Client::get_resource_config_history).then_error(|| {
        GetResourceConfigHistoryError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("no")
                .build(),
        )
    });
    let cloud = cloud(&[&history], &[]);
    let ev = ConfigEvent::from_json(include_str!("../../fixtures/events/oversized.json")).unwrap();
    let check = Check::from_params(&ev.rule_parameters).unwrap();
    let err = evaluate_event(&cloud, &ev, &check).await.unwrap_err();
    assert_eq!(err.kind(), "AwsError");
    assert!(
        err.to_string()
            .contains("GetResourceConfigHistory failed (AccessDeniedException)"),
        "{err}"
    );
}

/// The calls a periodic sweep makes: per 1,000-group page one `DescribeSecurityGroups` and at most
/// one batched `DescribeNetworkInterfaces`; `PutEvaluations` per 100; one stale-result read; no
/// call per group. (moto ignores `MaxResults`, so the pages are mocked here.)
#[tokio::test]
async fn a_sweep_of_2500_groups_makes_the_minimal_calls() {
    use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput;
    let web = |i: usize| {
        aws_sdk_ec2::types::SecurityGroup::builder()
            .group_id(sg_id(i))
            .tags(Tag::builder().key("tier").value("web").build())
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(443)
                    .to_port(443)
                    .user_id_group_pairs(
                        UserIdGroupPair::builder()
                            .group_id(sg_id(100_000 + i % 10))
                            .build(),
                    )
                    .build(),
            )
            .build()
    };
    let page = |from: usize, to: usize, next: Option<&'static str>| {
        let token = match from {
            0 => None,
            1000 => Some("p2"),
            _ => Some("p3"),
        };
        mock!(aws_sdk_ec2::Client::describe_security_groups)
            .match_requests(move |r| r.next_token() == token && r.max_results() == Some(1000))
            .then_output(move || {
                DescribeSecurityGroupsOutput::builder()
                    .set_security_groups(Some((from..to).map(web).collect()))
                    .set_next_token(next.map(str::to_string))
                    .build()
            })
    };
    let (p1, p2, p3) = (
        page(0, 1000, Some("p2")),
        page(1000, 2000, Some("p3")),
        page(2000, 2500, None),
    );
    let enis = mock!(aws_sdk_ec2::Client::describe_network_interfaces)
        .then_output(|| DescribeNetworkInterfacesOutput::builder().build());
    let put = mock!(aws_sdk_config::Client::put_evaluations)
        .then_output(|| PutEvaluationsOutput::builder().build());
    let previous = no_previous_results();
    let cloud = cloud(&[&previous, &put], &[&p1, &p2, &p3, &enis]);
    let (ev, check) = scheduled(json!({"tierTagKey": "tier"}));
    let outcome = evaluate_and_deliver(&cloud, &ev, &check).await.unwrap();
    assert_eq!(outcome.total(), 2_500);
    assert_eq!((p1.num_calls(), p2.num_calls(), p3.num_calls()), (1, 1, 1));
    // Candidates, 200 filter values a call: page 1 has 1,000 groups + the 10 load balancers (6
    // calls), pages 2 and 3 only their new groups (5 + 3): the 10 are not asked about again.
    assert!(enis.num_calls() <= 3 * 6);
    assert_eq!(enis.num_calls(), 6 + 5 + 3);
    assert_eq!(put.num_calls(), 25);
    assert_eq!(previous.num_calls(), 1);
}

/// A change event with `loadBalancerSecurityGroupIds` makes no fact look-up: one
/// `DescribeSecurityGroups` for the groups that reference it (their web-tier verdict may depend on
/// it: none here) and one `PutEvaluations` (the EC2 client answers nothing else, so any other EC2
/// call would fail the test).
#[tokio::test]
async fn a_change_event_with_listed_load_balancers_makes_one_call() {
    let put = mock!(aws_sdk_config::Client::put_evaluations)
        .then_output(|| PutEvaluationsOutput::builder().build());
    let dependents = mock!(aws_sdk_ec2::Client::describe_security_groups)
        .match_requests(|r| {
            r.filters().first().and_then(|f| f.name()) == Some("ip-permission.group-id")
                && r.filters()[0].values() == ["sg-0a1b2c3d4e5f60718"]
        })
        .then_output(|| DescribeSecurityGroupsOutput::builder().build());
    let cloud = cloud(&[&put], &[&dependents]);
    let ev = ConfigEvent::from_json(include_str!(
        "../../fixtures/events/web-tier-compliant.json"
    ))
    .unwrap();
    let check = Check::from_params(&ev.rule_parameters).unwrap();
    assert!(ev
        .rule_parameters
        .contains_key("loadBalancerSecurityGroupIds"));
    let outcome = evaluate_and_deliver(&cloud, &ev, &check).await.unwrap();
    assert_eq!((outcome.total(), outcome.delivered), (1, 1));
    assert_eq!((put.num_calls(), dependents.num_calls()), (1, 1));
}
