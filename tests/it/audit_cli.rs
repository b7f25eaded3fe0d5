//! `sg-compliance audit` on the bundled fixtures, as a user runs it: every format compared with a
//! golden file (insta), SARIF validated against the SARIF 2.1.0 schema, the HTML parsed, and the
//! exit-status contract (0 compliant, 1 non-compliant, 2 bad input, 3 AWS failure).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rstest::rstest;
use serde_json::Value;

pub(super) fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn audit_fixture(name: &str) -> String {
    root()
        .join("fixtures/audit")
        .join(name)
        .display()
        .to_string()
}

fn sg_compliance(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sg-compliance"))
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap()
}

pub(super) fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub(super) fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

pub(super) fn python() -> PathBuf {
    std::env::var("SG_COMPLIANCE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join(".venv/bin/python"))
}

#[rstest]
#[case::table("table")]
#[case::json("json")]
#[case::csv("csv")]
#[case::markdown("markdown")]
#[case::sarif("sarif")]
#[case::html("html")]
fn organization_snapshot_in_every_format(#[case] format: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_sg-compliance"))
        .args([
            "audit",
            "--input",
            "fixtures/audit/organization.json",
            "--format",
            format,
        ])
        .current_dir(root())
        .env_remove("AWS_ENDPOINT_URL")
        .env("SOURCE_DATE_EPOCH", "1764680400")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    insta::assert_snapshot!(format!("audit_organization_{format}"), text);
}

#[test]
fn json_rows_carry_the_evaluate_keys_and_counts_add_up() {
    let out = sg_compliance(&[
        "audit",
        "--input",
        &audit_fixture("organization.json"),
        "--format",
        "json",
    ]);
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    // 28 groups x 2 default checks.
    assert_eq!(rows.len(), 56);
    for r in &rows {
        for key in [
            "complianceResourceType",
            "complianceResourceId",
            "complianceType",
            "annotation",
            "check",
            "accountId",
            "region",
        ] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
    }
    let non_compliant: Vec<&Value> = rows
        .iter()
        .filter(|r| r["complianceType"] == "NON_COMPLIANT")
        .collect();
    assert_eq!(non_compliant.len(), 6);
    let accounts: std::collections::BTreeSet<&str> = rows
        .iter()
        .map(|r| r["accountId"].as_str().unwrap())
        .collect();
    let regions: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["region"].as_str().unwrap()).collect();
    assert_eq!((accounts.len(), regions.len()), (2, 2));
    // The table fits a 120-column terminal.
    let table = stdout(&sg_compliance(&[
        "audit",
        "--input",
        &audit_fixture("organization.json"),
        "--format",
        "table",
    ]));
    let widest = table.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 120, "table is {widest} columns wide");
    assert!(
        table.contains("28 groups, 2 checks: 6 non-compliant"),
        "{table}"
    );
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let out = sg_compliance(&[
        "audit",
        "--input",
        &audit_fixture("organization.json"),
        "--format",
        "sarif",
    ]);
    let sarif: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 6);
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_valid_sarif(&stdout(&out));
}

/// Validates a SARIF log against the SARIF 2.1.0 schema (Python's jsonschema in the venv).
pub(super) fn assert_valid_sarif(text: &str) {
    let file = std::env::temp_dir().join(format!(
        "sg-compliance-{}-{:?}.sarif",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&file, text).unwrap();
    let check = Command::new(python())
        .args([
            "-c",
            "import json, sys, jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))); print('valid')",
            &file.display().to_string(),
            &audit_fixture("sarif-2.1.0.schema.json"),
        ])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}: run `make venv`", python().display()));
    let _ = std::fs::remove_file(&file);
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).trim(),
        "valid",
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn html_report_parses_and_names_every_finding() {
    let out = sg_compliance(&[
        "audit",
        "--input",
        &audit_fixture("organization.json"),
        "--format",
        "html",
    ]);
    let html = stdout(&out);
    // A strict tag-balance parse with Python's html.parser: every opened element is closed in order.
    let parse = Command::new(python())
        .args([
            "-c",
            r#"
import sys
from html.parser import HTMLParser
VOID = {"meta", "br", "img", "hr", "input", "link"}
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.stack = []; self.rows = 0; self.title = ""; self.in_title = False
    def handle_starttag(self, tag, attrs):
        if tag == "title": self.in_title = True
        if tag == "tr": self.rows += 1
        if tag not in VOID: self.stack.append(tag)
    def handle_endtag(self, tag):
        top = self.stack.pop() if self.stack else None
        if top != tag: sys.exit(f"</{tag}> closes <{top}>")
        if tag == "title": self.in_title = False
    def handle_data(self, data):
        if self.in_title: self.title += data
p = P(); p.feed(sys.stdin.read()); p.close()
if p.stack: sys.exit(f"unclosed: {p.stack}")
print(p.rows, p.title)
"#,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(html.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(
        parse.status.success(),
        "{}",
        String::from_utf8_lossy(&parse.stderr)
    );
    let summary = String::from_utf8_lossy(&parse.stdout).to_string();
    // Header rows of 4 tables, 2 checks, 2 accounts, 2 regions and 6 findings.
    assert_eq!(summary.trim(), "16 Security group compliance report");
    assert!(!html.contains("<script"), "self-contained, no scripts");
    let text = html
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    for needle in [
        "tcp/22 open to 0.0.0.0/1 + 128.0.0.0/1 (= 0.0.0.0/0)",
        "tcp/3389 open to 0.0.0.0/0",
        "web-canary",
    ] {
        assert!(text.contains(needle), "{needle}");
    }
}

#[test]
fn describe_output_with_network_interfaces_as_a_new_user_has_it() {
    let out = sg_compliance(&[
        "audit",
        "--input",
        &audit_fixture("describe-security-groups.json"),
        "--network-interfaces",
        &audit_fixture("network-interfaces.json"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let web = |name: &str, check: &str| {
        rows.iter()
            .find(|r| r["check"] == check && r["annotation"].as_str().unwrap().contains(name))
            .cloned()
    };
    assert!(
        web("allows tcp/443 from load balancer group", "web-tier").is_some(),
        "{rows:?}"
    );
    assert!(
        rows.iter().all(|r| r["region"].is_null()),
        "describe output has no region"
    );
    // The same groups from Config (first account and region of the organization snapshot) agree.
    let org = sg_compliance(&[
        "audit",
        "--input",
        &audit_fixture("organization.json"),
        "--format",
        "json",
    ]);
    let org_rows: Vec<Value> = serde_json::from_str(&stdout(&org)).unwrap();
    let key = |r: &Value| {
        (
            r["complianceResourceId"].clone(),
            r["check"].clone(),
            r["complianceType"].clone(),
            r["annotation"].clone(),
        )
    };
    let from_config: Vec<_> = org_rows
        .iter()
        .filter(|r| r["region"] == "eu-west-1" && r["accountId"] == "111122223333")
        .map(key)
        .collect();
    let from_describe: Vec<_> = rows.iter().map(key).collect();
    assert_eq!(from_describe, from_config);
}

#[rstest]
#[case::no_such_file(&["audit", "--input", "/nonexistent/sgs.json"], "/nonexistent/sgs.json: no such file")]
#[case::lambda_event(&["audit", "--input", "fixtures/events/web-tier-compliant.json"], "not a recognised input (an object with keys")]
#[case::not_json(&["audit", "--input", "README.md"], "README.md: not JSON")]
#[case::no_source(&["audit"], "nothing to audit: pass --input FILE")]
#[case::two_sources(&["audit", "--input", "x.json", "--live"], "--input and --live cannot be combined")]
#[case::unknown_param(&["audit", "--input", "fixtures/audit/organization.json", "--param", "tierTagkey=x"], "unknown rule parameter `tierTagkey`")]
#[case::parameter_of_an_unselected_check(&["audit", "--input", "fixtures/audit/organization.json", "--check", "web-tier", "--param", "authorizedTcpPorts=443"], "(`authorizedTcpPorts` is a parameter of check `public-ingress`: add --check public-ingress)")]
#[case::web_tier_without_load_balancers(&["audit", "--input", "fixtures/audit/describe-security-groups.json"], "pass --network-interfaces FILE")]
#[case::usage_error(&["audit", "--format", "pdf"], "sg-compliance: error: invalid value 'pdf' for '--format <FORMAT>'")]
fn bad_input_is_one_line_and_exit_2(#[case] args: &[&str], #[case] needle: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_sg-compliance"))
        .args(args)
        .current_dir(root())
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(needle), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("Usage:"),
        "{err}"
    );
    let first = err.lines().next().unwrap_or("");
    assert!(first.starts_with("sg-compliance: error: "), "{err}");
}

#[test]
fn exit_0_when_nothing_is_non_compliant_and_output_goes_to_a_file() {
    let file = std::env::temp_dir().join(format!("sg-compliance-audit-{}.csv", std::process::id()));
    let out = sg_compliance(&[
        "audit",
        "--input",
        &audit_fixture("describe-security-groups.json"),
        "--check",
        "public-egress",
        "--param",
        "authorizedEgressTcpPorts=0-65535",
        "--param",
        "authorizedEgressUdpPorts=0-65535",
        "--check",
        "broad-private-ingress",
        "--format",
        "csv",
        "--output",
        &file.display().to_string(),
    ]);
    let csv = std::fs::read_to_string(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    // The default egress rule is all traffic (-1): still non-compliant with every port authorized.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    assert!(csv
        .starts_with("accountId,region,groupId,groupName,vpcId,check,complianceType,annotation,exposure,exposurePath\n"));
    let compliant = sg_compliance(&[
        "audit",
        "--input",
        &audit_fixture("describe-security-groups.json"),
        "--check",
        "broad-private-ingress",
        "--param",
        "minPrefixLengthIpv4=8",
        "--param",
        "minPrefixLengthIpv6=7",
        "--format",
        "json",
    ]);
    assert_eq!(compliant.status.code(), Some(0), "{}", stdout(&compliant));
}

/// Every input shape a user has (fixtures/inputs/README.md says where each comes from): judged,
/// or refused with one line that says what the file holds; never "0 groups, all fine".
#[rstest]
#[case::bare_list_is_judged(
    "query-security-groups.json",
    1,
    1,
    "",
    "\"complianceResourceId\": \"sg-903004f8\""
)]
#[case::ids_and_names("query-ids-and-names.json", 2, 0, "query-ids-and-names.json: [0]", "")]
#[case::id_objects(
    "query-id-objects.json",
    2,
    0,
    "query-id-objects.json: [0].configuration: is missing",
    ""
)]
#[case::query_without_configuration(
    "select-without-configuration.json",
    2,
    0,
    "Results[0].configuration: is missing: select `configuration` in the query",
    ""
)]
#[case::history_newest_only("history-sg-6fbb3807.json", 0, 1, "history-sg-6fbb3807.json: judged the newest configuration item of each group; skipped 1 older ones", "\"region\": \"us-west-2\"")]
#[case::history_without_groups(
    "history-of-an-instance.json",
    2,
    0,
    "history-of-an-instance.json: nothing to judge: it holds only 1 items of other resource types",
    ""
)]
#[case::account_without_groups(
    "empty-account.json",
    0,
    0,
    "sg-compliance: no security groups in ",
    "[]"
)]
fn every_input_shape_is_judged_or_refused(
    #[case] file: &str,
    #[case] code: i32,
    #[case] rows: usize,
    #[case] err_needle: &str,
    #[case] out_needle: &str,
) {
    let path = root().join("fixtures/inputs").join(file);
    let out = sg_compliance(&[
        "audit",
        "--input",
        &path.display().to_string(),
        "--check",
        "public-ingress",
        "--param",
        "blockedTcpPorts=22,1433,3389",
        "--format",
        "json",
    ]);
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(code), "{err}{text}");
    assert!(err.contains(err_needle), "{err}");
    assert!(text.contains(out_needle), "{text}");
    if code != 2 {
        let got: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(got.len(), rows, "{text}");
    } else {
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
    // The guide's history example: the newest capture closed 1433 (the older one had it open).
    if file.starts_with("history-sg") {
        assert!(text.contains("\"complianceType\": \"COMPLIANT\""), "{text}");
    }
}

/// The table and Markdown lead with what needs action (`--all` adds the rest after it); reports
/// escape what they print: group names are user-controlled.
#[test]
fn reports_lead_with_findings_and_escape_user_text() {
    let dir = std::env::temp_dir().join(format!("sg-compliance-escape-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("groups.json");
    std::fs::write(
        &file,
        serde_json::json!({"SecurityGroups": [
            {"GroupId": "sg-0000000a", "GroupName": "[click](https://example.com) *x* <b>|", "OwnerId": "1",
             "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]},
            {"GroupId": "sg-0000000b", "GroupName": "=HYPERLINK(\"https://example.com\")", "OwnerId": "1", "IpPermissions": []}
        ]})
        .to_string(),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "audit",
            "--input",
            file.to_str().unwrap(),
            "--check",
            "public-ingress",
        ];
        args.extend_from_slice(extra);
        stdout(&sg_compliance(&args))
    };
    let md = run(&["--format", "markdown"]);
    assert!(
        md.contains("\\[click\\](https://example.com) \\*x\\* \\<b\\>\\|"),
        "{md}"
    );
    assert!(
        !md.contains("sg-0000000b"),
        "only what needs action by default: {md}"
    );
    assert!(
        md.contains("(1 compliant or not applicable rows not shown: --all shows every row)"),
        "{md}"
    );
    assert!(
        md.contains("public-ingress: 1 non-compliant, 1 compliant, 0 not applicable"),
        "{md}"
    );
    let all = run(&["--format", "markdown", "--all"]);
    let (a, b) = (
        all.find("sg-0000000a").unwrap(),
        all.find("sg-0000000b").unwrap(),
    );
    assert!(a < b, "NON_COMPLIANT first: {all}");
    let csv = run(&["--format", "csv"]);
    assert!(
        csv.contains(",\"'=HYPERLINK(\"\"https://example.com\"\")\","),
        "{csv}"
    );
    let html = run(&["--format", "html"]);
    assert!(html.contains("Made <time datetime=\""), "{html}");
    assert!(html.contains("checks public-ingress."), "{html}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--network-interfaces` takes the `--query NetworkInterfaces` list as it takes the whole output.
#[test]
fn interfaces_as_a_bare_list_read_as_the_whole_output() {
    let run = |enis: &str| {
        stdout(&sg_compliance(&[
            "audit",
            "--input",
            &audit_fixture("describe-security-groups.json"),
            "--network-interfaces",
            enis,
            "--format",
            "json",
        ]))
    };
    let whole = run(&audit_fixture("network-interfaces.json"));
    let list = run(&root()
        .join("fixtures/inputs/query-network-interfaces.json")
        .display()
        .to_string());
    assert!(
        whole.contains("NON_COMPLIANT") && whole.contains("load balancer"),
        "{whole}"
    );
    assert_eq!(list, whole);
}

/// The `tiers` check on a three-tier account (fixtures/tiers/README.md): every kind of wrong
/// source is named, the rest judged, and the HTML report draws the tier map.
#[test]
fn tiers_on_a_three_tier_account() {
    let file = root().join("fixtures/tiers/three-tier.json");
    let args = |format: &str| {
        vec![
            "audit".to_string(),
            "--input".into(),
            file.display().to_string(),
            "--check".into(),
            "tiers".into(),
            "--param".into(),
            "tierTagKey=tier".into(),
            "--param".into(),
            "tierRules=web<-lb:80,443; app<-web:8080; db<-app:5432".into(),
            "--param".into(),
            "loadBalancerSecurityGroupIds=sg-0a1b0000000000001".into(),
            "--format".into(),
            format.into(),
        ]
    };
    let run = |format: &str| {
        let a = args(format);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        sg_compliance(&refs)
    };
    let out = run("json");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let row = |id: &str| {
        rows.iter()
            .find(|r| r["complianceResourceId"] == id)
            .unwrap_or_else(|| panic!("{id}"))
            .clone()
    };
    let verdict = |id: &str| row(id)["complianceType"].as_str().unwrap().to_string();
    let reason = |id: &str| row(id)["annotation"].as_str().unwrap().to_string();
    assert_eq!(
        verdict("sg-0a1b0000000000001"),
        "NOT_APPLICABLE",
        "the load balancer's own group"
    );
    assert_eq!(verdict("sg-0a1b0000000000002"), "COMPLIANT");
    assert!(reason("sg-0a1b0000000000007").contains("tcp/22 from 0.0.0.0/0 (CIDR not allowed)"));
    assert!(reason("sg-0a1b0000000000003").contains("tcp/22 from 10.0.0.0/8 (CIDR not allowed)"));
    let db = reason("sg-0a1b0000000000004");
    for needle in [
        "tier db: tcp/5432 from ",
        "sg-0a1b0000000000002 (tier web, not a source of db)",
        "pl-0123456789abcdef0 (prefix list)",
        "sg-0a1b0000000000006 (untagged)",
        "sg-0f0f0000000000009 (tags unreadable)",
    ] {
        assert!(db.contains(needle), "{needle}: {db}");
    }
    assert!(reason("sg-0a1b0000000000005").contains("tier cache has no rule"));
    assert_eq!(verdict("sg-0a1b0000000000006"), "NOT_APPLICABLE");
    // The tier map: a self-contained SVG, edges with counts, the rule-breaking ones red.
    let html = stdout(&run("html"));
    let svg_start = html.find("<svg").expect("an SVG tier map");
    let svg = &html[svg_start..html[svg_start..].find("</svg>").unwrap() + svg_start + 6];
    assert!(!svg.contains("<script") && !svg.contains("href"), "{svg}");
    for node in [">lb<", ">web<", ">app<", ">db<", ">untagged<", ">unknown<"] {
        assert!(svg.contains(node), "{node}: {svg}");
    }
    insta::assert_snapshot!("tiers_map_svg", svg);
}

/// Effective exposure from `describe-*` files (fixtures/exposure/README.md): each level with its
/// path or reason, in JSON, CSV, SARIF (level as severity) and the table (internet first).
#[test]
fn exposure_levels_from_network_files() {
    let dir = root().join("fixtures/exposure");
    let file = |n: &str| dir.join(n).display().to_string();
    let run = |format: &str| {
        let mut args = vec!["audit".to_string()];
        // The network files in any order around the groups.
        for n in [
            "describe-network-acls.json",
            "describe-security-groups.json",
            "describe-network-interfaces.json",
            "describe-subnets.json",
            "describe-route-tables.json",
            "describe-load-balancers.json",
            "describe-target-groups.json",
            "target-health-ssh.json",
        ] {
            args.push("--input".into());
            args.push(file(n));
        }
        for a in [
            "--check",
            "public-ingress",
            "--param",
            "blockedTcpPorts=22",
            "--format",
            format,
        ] {
            args.push(a.into());
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        sg_compliance(&refs)
    };
    let out = run("json");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let level = |id: &str| {
        let r = rows
            .iter()
            .find(|r| r["complianceResourceId"] == id)
            .unwrap();
        (
            r["exposure"].as_str().unwrap().to_string(),
            r["exposurePath"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(
        level("sg-0e000000000000001"),
        ("internet".into(), "eni-0e000000000000001 54.210.1.10 in subnet-0e0000000000000p1 via igw-0e0000000000000a1 (rtb-0e0000000000000p1), nacl acl-0e0000000000000d1 rule 100".into())
    );
    assert_eq!(
        level("sg-0e000000000000002"),
        (
            "latent".into(),
            "eni-0e000000000000002: no public address".into()
        )
    );
    let (l, why) = level("sg-0e000000000000003");
    assert_eq!(l, "latent");
    assert!(
        why.contains("nacl acl-0e0000000000000b1 denies the flagged ports inbound"),
        "{why}"
    );
    assert_eq!(level("sg-0e000000000000004").0, "unattached");
    assert_eq!(
        level("sg-0e000000000000005"),
        ("internet-via-load-balancer".into(), "eni-0e000000000000005 (i-0e000000000000005) is a target of internet-facing network load balancer edge (ssh port 22)".into())
    );
    let csv = stdout(&run("csv"));
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",exposure,exposurePath"),
        "{csv}"
    );
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&run("sarif"))).unwrap();
    let levels: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["level"].as_str().unwrap())
        .collect();
    assert_eq!(
        levels.iter().filter(|l| **l == "error").count(),
        2,
        "{levels:?}"
    );
    assert_eq!(
        levels.iter().filter(|l| **l == "note").count(),
        1,
        "{levels:?}"
    );
    let table = stdout(&run("markdown"));
    let first = table.find("sg-0e000000000000001").unwrap();
    for later in [
        "sg-0e000000000000002",
        "sg-0e000000000000003",
        "sg-0e000000000000004",
    ] {
        assert!(
            first < table.find(later).unwrap(),
            "internet first: {table}"
        );
    }
    // Without network files the level is absent, never guessed.
    let bare = sg_compliance(&[
        "audit",
        "--input",
        &file("describe-security-groups.json"),
        "--check",
        "public-ingress",
        "--format",
        "json",
    ]);
    assert!(!stdout(&bare).contains("exposure"));
}
