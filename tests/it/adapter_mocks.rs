//! The AWS adapter and engine against `aws-smithy-mocks`: paging, batching, retries of failed
//! evaluations, throttling, oversized items, stale-result clean-up and ELB discovery — the paths the
//! local emulator cannot exercise.

use std::sync::{Arc, Mutex};

use aws_sdk_config::config::retry::RetryConfig;
use aws_sdk_config::error::ErrorMetadata;
use aws_sdk_config::operation::get_compliance_details_by_config_rule::{
    GetComplianceDetailsByConfigRuleError, GetComplianceDetailsByConfigRuleOutput,
};
use aws_sdk_config::operation::get_resource_config_history::GetResourceConfigHistoryOutput;
use aws_sdk_config::operation::put_evaluations::{PutEvaluationsError, PutEvaluationsOutput};
use aws_sdk_config::primitives::DateTime;
use aws_sdk_config::types::{
    ConfigurationItem, ConfigurationItemStatus, EvaluationResult, EvaluationResultIdentifier,
    EvaluationResultQualifier, ResourceType,
};
use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput;
use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
use aws_sdk_ec2::operation::get_managed_prefix_list_entries::{
    GetManagedPrefixListEntriesError, GetManagedPrefixListEntriesOutput,
};
use aws_sdk_ec2::types::{
    GroupIdentifier, IpPermission, IpRange, NetworkInterface, PrefixListEntry, PrefixListId, Tag,
    UserIdGroupPair,
};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use serde_json::json;
use sg_compliance::aws::AwsCloud;
use sg_compliance::checks::Check;
use sg_compliance::cloud::CloudError;
use sg_compliance::engine::{deliver, evaluate_event, EngineError};
use sg_compliance::event::ConfigEvent;
use sg_compliance::verdict::Compliance;

const LB: &str = "sg-0b1a2b3c4d5e6f708";
const OTHER: &str = "sg-0c0ffee0c0ffee001";

fn cloud(config_rules: &[&Rule], ec2_rules: &[&Rule]) -> AwsCloud {
    let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, config_rules, |c| c
        .retry_config(RetryConfig::disabled()));
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, ec2_rules, |c| c
        .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
    AwsCloud::from_clients(config, ec2)
}

pub(crate) fn scheduled(params: serde_json::Value) -> (ConfigEvent, Check) {
    let ev = ConfigEvent::from_value(json!({
        "invokingEvent": json!({"messageType": "ScheduledNotification", "notificationCreationTime": "2026-11-21T12:00:00.000Z"}).to_string(),
        "ruleParameters": params.to_string(),
        "resultToken": "real-token",
        "configRuleName": "my-rule",
        "accountId": "111122223333"
    }))
    .unwrap();
    let check = Check::from_params(&ev.rule_parameters).unwrap();
    (ev, check)
}

pub(crate) fn sg_id(i: usize) -> String {
    format!("sg-{i:017x}")
}

fn ssh_group(i: usize) -> aws_sdk_ec2::types::SecurityGroup {
    let mut perm = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22);
    if i % 2 == 0 {
        perm = perm.ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build());
    }
    aws_sdk_ec2::types::SecurityGroup::builder()
        .group_id(sg_id(i))
        .ip_permissions(perm.build())
        .build()
}

/// `GetComplianceDetailsByConfigRule` with no earlier results.
pub(crate) fn no_previous_results() -> Rule {
    mock!(aws_sdk_config::Client::get_compliance_details_by_config_rule)
        .then_output(|| GetComplianceDetailsByConfigRuleOutput::builder().build())
}

fn ok_put(sizes: Arc<Mutex<Vec<usize>>>) -> Rule {
    mock!(aws_sdk_config::Client::put_evaluations).then_compute_output(move |req| {
        sizes.lock().unwrap().push(req.evaluations().len());
        assert_eq!(req.test_mode(), Some(false));
        assert_eq!(req.result_token(), Some("real-token"));
        PutEvaluationsOutput::builder().build()
    })
}

/// A periodic public-ingress run over one page of `groups` with no earlier results, delivered
/// through `put`.
async fn sweep_and_deliver(
    groups: Vec<aws_sdk_ec2::types::SecurityGroup>,
    put: &Rule,
) -> Result<(), EngineError> {
    let page = mock!(aws_sdk_ec2::Client::describe_security_groups).then_output(move || {
        DescribeSecurityGroupsOutput::builder()
            .set_security_groups(Some(groups.clone()))
            .build()
    });
    let previous = no_previous_results();
    let cloud = cloud(&[&previous, put], &[&page]);
    let (ev, check) = scheduled(json!({"check": "public-ingress"}));
    let outcome = evaluate_event(&cloud, &ev, &check).await.unwrap();
    deliver(&cloud, &outcome, &ev.result_token).await
}

#[tokio::test]
async fn sweep_pages_clears_stale_results_and_delivers_in_batches_of_100() {
    let page1 = mock!(aws_sdk_ec2::Client::describe_security_groups)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            DescribeSecurityGroupsOutput::builder()
                .set_security_groups(Some((0..125).map(ssh_group).collect()))
                .next_token("page-2")
                .build()
        });
    let page2 = mock!(aws_sdk_ec2::Client::describe_security_groups)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            DescribeSecurityGroupsOutput::builder()
                .set_security_groups(Some((125..249).map(ssh_group).collect()))
                .build()
        });
    let previous = mock!(aws_sdk_config::Client::get_compliance_details_by_config_rule)
        .match_requests(|r| r.config_rule_name() == Some("my-rule"))
        .then_output(|| {
            let result = |id: &str| {
                EvaluationResult::builder()
                    .evaluation_result_identifier(
                        EvaluationResultIdentifier::builder()
                            .evaluation_result_qualifier(
                                EvaluationResultQualifier::builder()
                                    .resource_type("AWS::EC2::SecurityGroup")
                                    .resource_id(id)
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            };
            GetComplianceDetailsByConfigRuleOutput::builder()
                .evaluation_results(result(&sg_id(3)))
                .evaluation_results(result("sg-0deadbeefdeadbeef"))
                .build()
        });
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let put = ok_put(sizes.clone());
    let cloud = cloud(&[&previous, &put], &[&page1, &page2]);
    let (ev, check) = scheduled(json!({"check": "public-ingress", "blockedTcpPorts": "22"}));

    let outcome = evaluate_event(&cloud, &ev, &check).await.unwrap();
    assert_eq!(page1.num_calls() + page2.num_calls(), 2, "both pages read");
    assert_eq!(outcome.evaluations.len(), 250);
    assert_eq!(outcome.stale_cleanup.as_deref(), Some("cleared 1"));
    let stale = outcome
        .evaluations
        .iter()
        .find(|e| e.compliance_resource_id == "sg-0deadbeefdeadbeef")
        .unwrap();
    assert_eq!(stale.compliance_type, Compliance::NotApplicable);
    let non_compliant = outcome
        .evaluations
        .iter()
        .filter(|e| e.compliance_type == Compliance::NonCompliant)
        .count();
    assert_eq!(non_compliant, 125);
    assert!(outcome
        .evaluations
        .iter()
        .all(|e| e.ordering_timestamp.to_string() == "2026-11-21T12:00:00Z"));

    deliver(&cloud, &outcome, &ev.result_token).await.unwrap();
    assert_eq!(*sizes.lock().unwrap(), vec![100, 100, 50]);
}

#[tokio::test]
async fn failed_evaluations_are_sent_again_until_accepted() {
    let calls = Arc::new(Mutex::new(Vec::<Vec<String>>::new()));
    let seen = calls.clone();
    let put = mock!(aws_sdk_config::Client::put_evaluations).then_compute_output(move |req| {
        let ids: Vec<String> = req
            .evaluations()
            .iter()
            .map(|e| e.compliance_resource_id().to_string())
            .collect();
        let first = seen.lock().unwrap().is_empty();
        seen.lock().unwrap().push(ids.clone());
        let mut out = PutEvaluationsOutput::builder();
        if first {
            for e in &req.evaluations()[..2] {
                out = out.failed_evaluations(e.clone());
            }
        }
        out.build()
    });
    sweep_and_deliver((0..5).map(ssh_group).collect(), &put)
        .await
        .unwrap();
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].len(), 5);
    assert_eq!(
        calls[1],
        calls[0][..2].to_vec(),
        "only the failed ones are sent again"
    );
}

#[tokio::test]
async fn evaluations_that_keep_failing_fail_the_invocation() {
    let put = mock!(aws_sdk_config::Client::put_evaluations).then_compute_output(|req| {
        PutEvaluationsOutput::builder()
            .failed_evaluations(req.evaluations()[0].clone())
            .build()
    });
    let err = sweep_and_deliver(vec![ssh_group(0), ssh_group(1)], &put)
        .await
        .unwrap_err();
    assert_eq!(put.num_calls(), 3);
    assert_eq!(err.kind(), "FailedEvaluations");
    assert!(
        err.to_string()
            .contains("1 evaluations still failed after 3 PutEvaluations attempts"),
        "{err}"
    );
}

#[tokio::test]
async fn throttling_is_surfaced_not_swallowed() {
    let put = mock!(aws_sdk_config::Client::put_evaluations).then_error(|| {
        PutEvaluationsError::generic(
            ErrorMetadata::builder()
                .code("ThrottlingException")
                .message("Rate exceeded")
                .build(),
        )
    });
    let err = sweep_and_deliver(vec![ssh_group(0)], &put)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::Cloud(CloudError::Api { code, operation: "PutEvaluations", .. }) if code == "ThrottlingException"),
        "{err:?}"
    );
    assert_eq!(err.kind(), "AwsError");
}

#[tokio::test]
async fn stale_cleanup_failure_does_not_block_todays_verdicts() {
    let page = mock!(aws_sdk_ec2::Client::describe_security_groups).then_output(|| {
        DescribeSecurityGroupsOutput::builder()
            .set_security_groups(Some(vec![ssh_group(0)]))
            .build()
    });
    let previous =
        mock!(aws_sdk_config::Client::get_compliance_details_by_config_rule).then_error(|| {
            GetComplianceDetailsByConfigRuleError::generic(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("no")
                    .build(),
            )
        });
    let cloud = cloud(&[&previous], &[&page]);
    let (ev, check) = scheduled(json!({"check": "public-ingress"}));
    let outcome = evaluate_event(&cloud, &ev, &check).await.unwrap();
    assert_eq!(outcome.evaluations.len(), 1);
    assert!(outcome
        .stale_cleanup
        .unwrap()
        .contains("skipped: GetComplianceDetailsByConfigRule failed (AccessDeniedException)"));
}

fn oversized_event() -> (ConfigEvent, Check) {
    let ev = ConfigEvent::from_json(include_str!("../../fixtures/events/oversized.json")).unwrap();
    let check = Check::from_params(&ev.rule_parameters).unwrap();
    (ev, check)
}

#[tokio::test]
async fn oversized_items_are_fetched_from_history() {
    let item = json!(include_str!(
        "../../fixtures/events/web-tier-compliant.json"
    ));
    let full: serde_json::Value = serde_json::from_str(item.as_str().unwrap()).unwrap();
    let invoking: serde_json::Value =
        serde_json::from_str(full["invokingEvent"].as_str().unwrap()).unwrap();
    let configuration = invoking["configurationItem"]["configuration"].to_string();
    let history = mock!(aws_sdk_config::Client::get_resource_config_history)
        .match_requests(|r| {
            r.resource_type() == Some(&ResourceType::SecurityGroup)
                && r.resource_id() == Some("sg-0a1b2c3d4e5f60718")
                && r.limit() == Some(1)
                && r.later_time()
                    == Some(
                        &DateTime::from_str(
                            "2026-11-21T09:30:12.418Z",
                            aws_sdk_config::primitives::DateTimeFormat::DateTime,
                        )
                        .unwrap(),
                    )
        })
        .then_output(move || {
            GetResourceConfigHistoryOutput::builder()
                .configuration_items(
                    ConfigurationItem::builder()
                        .resource_type(ResourceType::SecurityGroup)
                        .resource_id("sg-0a1b2c3d4e5f60718")
                        .configuration_item_status(ConfigurationItemStatus::Ok)
                        .configuration_item_capture_time(DateTime::from_secs(1_763_717_412))
                        .configuration(configuration.clone())
                        .tags("tier", "web")
                        .build(),
                )
                .build()
        });
    let dependents = mock!(aws_sdk_ec2::Client::describe_security_groups)
        .then_output(|| DescribeSecurityGroupsOutput::builder().build());
    let cloud = cloud(&[&history], &[&dependents]);
    let (ev, check) = oversized_event();
    let outcome = evaluate_event(&cloud, &ev, &check).await.unwrap();
    assert_eq!(history.num_calls(), 1);
    assert_eq!(
        outcome.evaluations[0].compliance_type,
        Compliance::Compliant,
        "{:?}",
        outcome.evaluations
    );
    assert_eq!(
        outcome.evaluations[0].ordering_timestamp.to_string(),
        "2025-11-21T09:30:12Z"
    );
}

#[tokio::test]
async fn oversized_item_missing_from_history_is_an_error_that_says_why() {
    let history = mock!(aws_sdk_config::Client::get_resource_config_history)
        .then_output(|| GetResourceConfigHistoryOutput::builder().build());
    let dependents = mock!(aws_sdk_ec2::Client::describe_security_groups)
        .then_output(|| DescribeSecurityGroupsOutput::builder().build());
    let cloud = cloud(&[&history], &[&dependents]);
    let (ev, check) = oversized_event();
    let err = evaluate_event(&cloud, &ev, &check).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("is AWS Config recording AWS::EC2::SecurityGroup?"),
        "{err}"
    );
}

fn web_group(id: &str, source: &str) -> aws_sdk_ec2::types::SecurityGroup {
    aws_sdk_ec2::types::SecurityGroup::builder()
        .group_id(id)
        .tags(Tag::builder().key("tier").value("web").build())
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(source).build())
                .build(),
        )
        .build()
}

#[tokio::test]
async fn load_balancer_groups_are_discovered_with_one_batched_lookup() {
    let page = mock!(aws_sdk_ec2::Client::describe_security_groups).then_output(|| {
        DescribeSecurityGroupsOutput::builder()
            .security_groups(web_group("sg-0000000000000000a", LB))
            .security_groups(web_group("sg-0000000000000000b", OTHER))
            .security_groups(
                aws_sdk_ec2::types::SecurityGroup::builder()
                    .group_id(LB)
                    .build(),
            )
            .build()
    });
    let enis = mock!(aws_sdk_ec2::Client::describe_network_interfaces)
        .match_requests(|r| {
            let f = &r.filters()[0];
            // The sources on the tier ports and the tier groups themselves, in one filter.
            f.name() == Some("group-id")
                && f.values()
                    == [
                        "sg-0000000000000000a".to_string(),
                        "sg-0000000000000000b".to_string(),
                        LB.to_string(),
                        OTHER.to_string(),
                    ]
        })
        .then_output(|| {
            let eni = |desc: &str, group: &str| {
                NetworkInterface::builder()
                    .description(desc)
                    .groups(GroupIdentifier::builder().group_id(group).build())
                    .build()
            };
            DescribeNetworkInterfacesOutput::builder()
                .network_interfaces(eni("ELB app/web/50dc6c495c0c9188", LB))
                .network_interfaces(eni("Primary network interface", OTHER))
                .build()
        });
    let previous = no_previous_results();
    let cloud = cloud(&[&previous], &[&page, &enis]);
    let (ev, check) = scheduled(json!({"tierTagKey": "tier"}));
    let outcome = evaluate_event(&cloud, &ev, &check).await.unwrap();
    assert_eq!(enis.num_calls(), 1);
    let verdict = |id: &str| {
        outcome
            .evaluations
            .iter()
            .find(|e| e.compliance_resource_id == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        verdict("sg-0000000000000000a").compliance_type,
        Compliance::Compliant
    );
    let bad = verdict("sg-0000000000000000b");
    assert_eq!(bad.compliance_type, Compliance::NonCompliant);
    assert!(
        bad.annotation
            .contains("which is not attached to a load balancer"),
        "{}",
        bad.annotation
    );
    assert_eq!(verdict(LB).compliance_type, Compliance::NotApplicable);
}

#[tokio::test]
async fn prefix_lists_resolve_live_and_unreadable_ones_stay_unknown() {
    let page = mock!(aws_sdk_ec2::Client::describe_security_groups).then_output(|| {
        let perm = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(22)
            .to_port(22)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/1").build())
            .prefix_list_ids(PrefixListId::builder().prefix_list_id("pl-0aaa").build())
            .prefix_list_ids(PrefixListId::builder().prefix_list_id("pl-0bbb").build())
            .build();
        DescribeSecurityGroupsOutput::builder()
            .security_groups(
                aws_sdk_ec2::types::SecurityGroup::builder()
                    .group_id(sg_id(1))
                    .ip_permissions(perm)
                    .build(),
            )
            .build()
    });
    let readable = mock!(aws_sdk_ec2::Client::get_managed_prefix_list_entries)
        .match_requests(|r| r.prefix_list_id() == Some("pl-0aaa"))
        .then_output(|| {
            GetManagedPrefixListEntriesOutput::builder()
                .entries(PrefixListEntry::builder().cidr("128.0.0.0/1").build())
                .build()
        });
    let unreadable = mock!(aws_sdk_ec2::Client::get_managed_prefix_list_entries)
        .match_requests(|r| r.prefix_list_id() == Some("pl-0bbb"))
        .then_error(|| {
            GetManagedPrefixListEntriesError::generic(
                ErrorMetadata::builder()
                    .code("InvalidPrefixListID.NotFound")
                    .build(),
            )
        });
    let previous = no_previous_results();
    let cloud = cloud(&[&previous], &[&page, &readable, &unreadable]);
    let (ev, check) = scheduled(json!({"check": "public-ingress", "blockedTcpPorts": "22"}));
    let outcome = evaluate_event(&cloud, &ev, &check).await.unwrap();
    let e = &outcome.evaluations[0];
    assert_eq!(
        e.compliance_type,
        Compliance::NonCompliant,
        "{}",
        e.annotation
    );
    assert!(
        e.annotation
            .contains("tcp/22 open to 0.0.0.0/1 + pl-0aaa (= 0.0.0.0/0)"),
        "{}",
        e.annotation
    );
    assert!(
        e.annotation.contains("prefix lists pl-0bbb not resolved"),
        "{}",
        e.annotation
    );
}

#[tokio::test]
async fn one_bad_group_does_not_lose_the_others() {
    let bad = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(IpRange::builder().cidr_ip("300.0.0.0/8").build())
        .build();
    let groups = vec![
        ssh_group(0),
        aws_sdk_ec2::types::SecurityGroup::builder()
            .group_id(sg_id(1))
            .ip_permissions(bad)
            .build(),
        ssh_group(2),
    ];
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let put = ok_put(sizes.clone());
    let err = sweep_and_deliver(groups, &put).await.unwrap_err();
    assert_eq!(
        *sizes.lock().unwrap(),
        vec![2],
        "the two good groups were delivered"
    );
    assert_eq!(err.kind(), "PartialFailure");
    assert!(
        err.to_string()
            .contains("`300.0.0.0/8` is not an IPv4 CIDR"),
        "{err}"
    );
}
