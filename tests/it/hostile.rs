//! Hostile input: a verdict or one clear error, never a panic or a hang.

use std::time::Instant;

use serde_json::{json, Value};
use sg_compliance::checks::Check;
use sg_compliance::cloud::InMemory;
use sg_compliance::engine::{evaluate_event, prepare};
use sg_compliance::event::ConfigEvent;

fn change_event(configuration: Value, tags: Value, params: Value) -> String {
    json!({
        "invokingEvent": json!({
            "messageType": "ConfigurationItemChangeNotification",
            "configurationItem": {
                "resourceType": "AWS::EC2::SecurityGroup",
                "resourceId": "sg-0123abcd",
                "configurationItemStatus": "OK",
                "configurationItemCaptureTime": "2026-11-21T09:30:12.418Z",
                "configuration": configuration,
                "tags": tags,
            }
        }).to_string(),
        "ruleParameters": params.to_string(),
        "resultToken": "TESTMODE",
    })
    .to_string()
}

async fn judge(event: &str) -> Result<(String, String), String> {
    let (event, check) = prepare(event, &[]).map_err(|e| e.to_string())?;
    let outcome = evaluate_event(&InMemory::offline(), &event, &check)
        .await
        .map_err(|e| e.to_string())?;
    let e = &outcome.evaluations[0];
    Ok((e.compliance_type.to_string(), e.annotation.clone()))
}

#[tokio::test]
async fn ten_thousand_permissions_on_one_group_get_a_verdict_quickly() {
    let perms: Vec<Value> = (0..10_000)
        .map(|i| json!({"ipProtocol": "tcp", "fromPort": i % 60_000, "toPort": i % 60_000 + 5, "ipRanges": [format!("10.{}.{}.0/24", i / 256 % 256, i % 256)]}))
        .chain([json!({"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["0.0.0.0/1", "128.0.0.0/1"]})])
        .collect();
    let event = change_event(
        json!({"groupId": "sg-0123abcd", "ipPermissions": perms}),
        json!({}),
        json!({"check": "public-ingress", "blockedTcpPorts": "22"}),
    );
    assert!(event.len() > 500_000, "a large item: {} bytes", event.len());
    let started = Instant::now();
    let (verdict, annotation) = judge(&event).await.unwrap();
    assert_eq!(verdict, "NON_COMPLIANT");
    assert!(
        annotation.contains("tcp/22 open to 0.0.0.0/1 + 128.0.0.0/1"),
        "{annotation}"
    );
    assert!(annotation.chars().count() <= 256);
    // Not a timing target (those live in `make bench`): a bound against accidental quadratic blow-ups.
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_megabyte_invoking_event_and_deep_nesting_are_clear_errors_or_verdicts() {
    // 1 MB of tag data: still a verdict.
    let event = change_event(
        json!({"groupId": "sg-0123abcd", "ipPermissions": []}),
        json!({"blob": "x".repeat(1 << 20), "tier": "wéb ✓"}),
        json!({"tierTagKey": "tier", "tierTagValue": "wéb ✓", "loadBalancerSecurityGroupIds": "sg-0abc1234"}),
    );
    let (verdict, annotation) = judge(&event).await.unwrap();
    assert_eq!(verdict, "NON_COMPLIANT", "{annotation}");
    assert!(
        annotation.contains("tier:wéb ✓"),
        "Unicode tags: {annotation}"
    );
    // 10,000 levels of nesting: serde's recursion limit, reported as an error.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let event = change_event(
        json!({"groupId": "sg-0123abcd", "ipPermissions": []}),
        json!({}),
        json!({"check": "public-ingress"}),
    )
    .replace(
        "\"resultToken\"",
        &format!("\"deep\": {deep}, \"resultToken\""),
    );
    let err = judge(&event).await.unwrap_err();
    assert!(err.contains("recursion limit"), "{err}");
}

#[tokio::test]
async fn nulls_and_out_of_range_values_name_the_field() {
    let cases = [
        (
            json!({"groupId": "sg-0123abcd", "ipPermissions": null, "ipPermissionsEgress": null, "tags": null}),
            Ok("COMPLIANT"),
        ),
        (
            json!({"groupId": "sg-0123abcd", "ipPermissions": [{"ipProtocol": "tcp", "fromPort": null, "toPort": null, "ipRanges": ["0.0.0.0/0"]}]}),
            Err("configuration.ipPermissions[0].fromPort` is missing"),
        ),
        (
            json!({"groupId": "sg-0123abcd", "ipPermissions": [{"ipProtocol": null, "fromPort": 22, "toPort": 22}]}),
            Err("ipPermissions[0].ipProtocol` is missing"),
        ),
        (
            json!({"groupId": "sg-0123abcd", "ipPermissions": [{"ipProtocol": "tcp", "fromPort": -5, "toPort": 99999}]}),
            Err("fromPort` -5 is not a port"),
        ),
        (
            json!({"groupId": "sg-0123abcd", "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": [null]}]}),
            Err("configuration.ipPermissions[0].ipRanges[0]: invalid type: null"),
        ),
        (json!({"groupId": null}), Err("no `configuration.groupId`")),
        (
            json!({"groupId": "sg-0123abcd", "ipPermissions": [{"ipProtocol": "999"}]}),
            Err("`999` is not an IP protocol"),
        ),
    ];
    for (configuration, want) in cases {
        let event = change_event(
            configuration.clone(),
            json!({}),
            json!({"check": "public-ingress"}),
        );
        match (judge(&event).await, want) {
            (Ok((verdict, _)), Ok(v)) => assert_eq!(verdict, v, "{configuration}"),
            (Err(e), Err(needle)) => {
                assert!(e.contains(needle), "{configuration}: {e}");
                assert_eq!(e.lines().count(), 1, "{e}");
            }
            (got, want) => panic!("{configuration}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn every_event_field_of_the_wrong_type_is_named() {
    for (event, needle) in [
        (
            json!({"invokingEvent": 5, "resultToken": "t"}),
            "invokingEvent",
        ),
        (
            json!({"invokingEvent": "{}", "ruleParameters": "[1]", "resultToken": "t"}),
            "ruleParameters",
        ),
        (
            json!({"invokingEvent": "{\"messageType\": 7}", "resultToken": "t"}),
            "messageType",
        ),
        (
            json!({"invokingEvent": "{\"messageType\": \"ScheduledNotification\"}", "resultToken": 3}),
            "resultToken",
        ),
    ] {
        let err = ConfigEvent::from_value(event.clone())
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{event}: {err}");
    }
    let _ = Check::NAMES;
}
