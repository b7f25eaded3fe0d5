//! The `sg-compliance` binary's contract: evaluations on stdout as JSON, and for bad input exit
//! status 2 with one line on stderr naming the field and the value — never a panic, never exit 0.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sg-compliance"))
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn fixture(name: &str) -> String {
    format!("{}/fixtures/events/{name}.json", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_change_fixture_gives_its_expected_evaluations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/expected");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let out = run(&["evaluate", "--event", &fixture(&name)], None);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        let want: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(got, want, "{name}");
        for e in got.as_array().unwrap() {
            let a = e["annotation"].as_str().unwrap();
            assert!((1..=256).contains(&a.chars().count()), "{name}: {a}");
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} expected files");
}

#[test]
fn reads_stdin_and_applies_param_overrides() {
    let event = std::fs::read_to_string(fixture("web-tier-compliant")).unwrap();
    let out = run(
        &["evaluate", "--event", "-", "--param", "ports=80"],
        Some(&event),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        got[0]["complianceType"], "NON_COMPLIANT",
        "443 no longer counts: {got}"
    );
    let out = run(
        &[
            "evaluate",
            "--event",
            &fixture("ssh-open-split-halves"),
            "--param",
            "blockedTcpPorts=3389",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        got[0]["complianceType"], "COMPLIANT",
        "22 is no longer blocked: {got}"
    );
}

#[test]
fn bad_input_exits_2_with_one_line_naming_field_and_value() {
    let web = std::fs::read_to_string(fixture("web-tier-compliant")).unwrap();
    let mut unknown_type: Value = serde_json::from_str(&web).unwrap();
    unknown_type["invokingEvent"] = Value::String(r#"{"messageType":"ComplianceChanged"}"#.into());
    let mut bad_invoking: Value = serde_json::from_str(&web).unwrap();
    bad_invoking["invokingEvent"] = Value::String("{oops".into());
    let mut bad_cidr: Value = serde_json::from_str(&web).unwrap();
    bad_cidr["invokingEvent"] = Value::String(
        bad_cidr["invokingEvent"]
            .as_str()
            .unwrap()
            .replace(r#""sg-0b1a2b3c4d5e6f708""#, r#""sg-zz""#),
    );
    let cases: Vec<(String, Vec<&str>, &str)> = vec![
        ("not json at all".into(), vec![], "the event is not JSON"),
        (bad_invoking.to_string(), vec![], "`invokingEvent` is not valid JSON"),
        (unknown_type.to_string(), vec![], "unknown `messageType` `ComplianceChanged`"),
        (web.clone(), vec!["check=web-teir"], "unknown check `web-teir`: valid checks are web-tier, public-ingress"),
        (web.clone(), vec!["tierTagKey="], "rule parameter `tierTagKey` is required"),
        (web.clone(), vec!["ports=8o"], "rule parameter `ports` = `8o`: `8o` is not a port number"),
        (web.clone(), vec!["ports=70000"], "rule parameter `ports` = `70000`: `70000` is out of range"),
        (web.clone(), vec!["loadBalancerSecurityGroupIds=not-a-group"], "`loadBalancerSecurityGroupIds` = `not-a-group`: `not-a-group` is not a security group id"),
        (bad_cidr.to_string(), vec![], "`sg-zz` is not a security group id"),
        (std::fs::read_to_string(fixture("scheduled")).unwrap(), vec![], "pass --live"),
        // The Lambda runtimes' example periodic event (a snapshot delivery): a sweep as well.
        (std::fs::read_to_string(fixture("snapshot-delivery")).unwrap(), vec![], "pass --live"),
        (std::fs::read_to_string(fixture("oversized")).unwrap(), vec![], "GetResourceConfigHistory: pass --live"),
        (web.replace("\"loadBalancerSecurityGroupIds", "\"unused").replace("\\\"unused\\\": \\\"sg-0b1a2b3c4d5e6f708\\\", ", ""), vec![], "unknown rule parameter `unused`"),
    ];
    for (event, params, needle) in cases {
        let mut args = vec!["evaluate", "--event", "-"];
        let params: Vec<String> = params.iter().map(|p| p.to_string()).collect();
        for p in &params {
            args.push("--param");
            args.push(p);
        }
        let out = run(&args, Some(&event));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{needle}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{needle}: printed {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{stderr} !~ {needle}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn missing_file_and_bad_flag_are_errors() {
    let out = run(&["evaluate", "--event", "/nonexistent/event.json"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("cannot read --event `/nonexistent/event.json`"));
    let out = run(
        &["evaluate", "--event", "-", "--param", "noequals"],
        Some("{}"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`noequals` is not KEY=VALUE"));
}

/// `remediate` offline (fixtures/remediate/groups.json, describe output): unsafe plans are
/// counted apart and their commands commented out unless `--unsafe`; egress reasons say "to"; an
/// unknown `--group-id` is an error; `--region` places region-scoped parameters.
#[test]
fn remediate_offline_marks_unsafe_plans_and_checks_its_arguments() {
    let file = format!(
        "{}/fixtures/remediate/groups.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let egress = [
        "remediate",
        "--input",
        &file,
        "--check",
        "public-egress",
        "--param",
        "authorizedEgressTcpPorts=443",
    ];
    let out = run(&egress, None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("#   public-egress: egress to the internet on unauthorized ports: all traffic to 0.0.0.0/0"), "{text}");
    assert!(
        text.contains(
            "\n# aws ec2 authorize-security-group-egress --group-id sg-0e0000000000000e1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "0 with a safe plan, 1 with an unsafe plan (commented out; --unsafe shows them)"
        ),
        "{text}"
    );
    let shown = run(&[&egress[..], &["--unsafe"]].concat(), None);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("\naws ec2 authorize-security-group-egress --group-id sg-0e0000000000000e1"),
        "{text}"
    );
    assert!(text.contains("\"IpProtocol\":\"icmp\""), "{text}");

    let unknown = run(
        &[
            "remediate",
            "--input",
            &file,
            "--group-id",
            "sg-0123456789abcdef0",
        ],
        None,
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr)
        .contains("sg-0123456789abcdef0: no such security group in"));

    // The load balancer listed for eu-west-1 applies only when the region is known.
    let web = [
        "remediate",
        "--input",
        &file,
        "--check",
        "web-tier",
        "--param",
        "tierTagKey=tier",
        "--param",
        "loadBalancerSecurityGroupIds=eu-west-1:sg-0e0000000000000e3",
        "--group-id",
        "sg-0e0000000000000e2",
    ];
    let without = String::from_utf8_lossy(&run(&web, None).stdout).to_string();
    assert!(
        without.contains("no automatic fix for web-tier"),
        "{without}"
    );
    let with = run(&[&web[..], &["--region", "eu-west-1"]].concat(), None);
    let text = String::from_utf8_lossy(&with.stdout);
    assert!(
        text.contains("aws ec2 authorize-security-group-ingress --region eu-west-1 --group-id sg-0e0000000000000e2 --ip-permissions '[{\"IpProtocol\":\"tcp\",\"FromPort\":80,\"ToPort\":80,\"UserIdGroupPairs\":[{\"GroupId\":\"sg-0e0000000000000e3\"}]}"),
        "{text}"
    );
}
