//! `sg-compliance scan` as a user runs it: the held-out Config-item cases re-expressed as
//! templates give the rule's verdicts; real `cdk synth` output, AWS's sample templates and real
//! `terraform show -json` plans give the verdicts in their golden files (insta); SARIF is
//! validated against the SARIF 2.1.0 schema and locates findings in their file and line; exit
//! codes are the audit's.

use std::process::{Command, Output};

use super::audit_cli::{assert_valid_sarif, root, stderr, stdout};

use rstest::rstest;
use serde_json::Value;

fn sg_compliance(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sg-compliance"))
        .args(args)
        .current_dir(root())
        .env_remove("AWS_ENDPOINT_URL")
        .env("SOURCE_DATE_EPOCH", "1764680400")
        .output()
        .unwrap()
}

/// `--check`/`--param` arguments for a Config rule's parameters (`check` selects; web-tier is the
/// default check).
fn rule_arguments(parameters: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut args = vec![
        "--check".to_string(),
        parameters
            .get("check")
            .and_then(Value::as_str)
            .unwrap_or("web-tier")
            .to_string(),
    ];
    for (k, v) in parameters {
        if k != "check" {
            args.push("--param".into());
            args.push(format!("{k}={}", v.as_str().unwrap()));
        }
    }
    args
}

/// Every held-out case: the template's group gets the verdict the rule gives the item, for the
/// same reason.
#[test]
fn held_out_cases_as_templates_get_the_rules_verdicts() {
    let dir = root().join("fixtures/scan/held-out");
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    assert!(cases.len() >= 18, "{}", cases.len());
    for case in &cases {
        let template = dir.join(case["template"].as_str().unwrap());
        let parameters = case["parameters"].as_object().unwrap();
        let mut args = vec![
            "scan".to_string(),
            template.display().to_string(),
            "--format".into(),
            "json".into(),
        ];
        args.extend(rule_arguments(parameters));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = sg_compliance(&args);
        let rows: Vec<Value> = serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|e| panic!("{template:?}: {e}: {}", stderr(&out)));
        assert_eq!(rows.len(), 1, "{template:?}: {rows:?}");
        let row = &rows[0];
        assert_eq!(row["complianceResourceId"], "Group");
        assert_eq!(
            row["complianceType"], case["expected"],
            "{template:?}: {}",
            row["annotation"]
        );
        let expected_code = if case["expected"] == "NON_COMPLIANT" {
            1
        } else {
            0
        };
        assert_eq!(out.status.code(), Some(expected_code), "{}", stderr(&out));
        let scanned = row["annotation"].as_str().unwrap();
        if let Some(needle) = case
            .get("expected_annotation_contains")
            .and_then(Value::as_str)
        {
            // The fix half is the rule's (scan offers no fix): the reason half must be there.
            let reason = needle
                .split("fix:")
                .next()
                .unwrap()
                .trim_end_matches(['(', ' ', ';']);
            assert!(
                reason.is_empty() || scanned.contains(reason),
                "{template:?}: {scanned} vs {needle}"
            );
        }
        // The same reason as the rule's own verdict on the item (its annotation adds the fix).
        if let Some(event) = case["event"].as_str() {
            let out = sg_compliance(&["evaluate", "--event", event]);
            let evaluations: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
            assert_eq!(
                evaluations[0]["complianceType"], row["complianceType"],
                "{event}"
            );
            let rule = evaluations[0]["annotation"].as_str().unwrap();
            let reason = rule.split("; fix").next().unwrap().trim_end_matches('…');
            assert!(
                scanned.starts_with(reason)
                    || reason.starts_with(scanned.trim_end_matches("…[truncated]")),
                "{event}:\n rule: {rule}\n scan: {scanned}"
            );
        }
    }
}

/// The real fixtures of each shape, with the checks a team would run: golden rows.
#[rstest]
#[case::cdk_synth("cdk/template.json", &["--param", "tierTagKey=Tier", "--check", "web-tier", "--check", "public-ingress", "--check", "public-egress"])]
#[case::aws_sample_json("cloudformation/EC2InstanceWithSecurityGroupSample.json", &["--check", "public-ingress", "--check", "public-egress"])]
#[case::aws_sample_elb("cloudformation/ELBWithLockedDownAutoScaledInstances.yaml", &["--check", "public-ingress", "--check", "broad-private-ingress"])]
#[case::aws_sample_ecs("cloudformation/ECS_Schedule_Example.yaml", &["--check", "public-ingress", "--check", "broad-private-ingress"])]
#[case::aws_sample_gitlab("cloudformation/GitLabServer-pkg.yaml", &["--check", "public-ingress", "--check", "public-egress"])]
#[case::aws_sample_rds("cloudformation/RDS_MySQL_With_Read_Replica.yaml", &["--check", "public-ingress", "--check", "broad-private-ingress"])]
#[case::terraform_module_for_each("terraform/checkov-module-for-each.tfplan.json", &["--check", "public-ingress", "--check", "public-egress"])]
#[case::terraform_nested_modules("terraform/policy-engine-nested-modules-tf1.0.plan.json", &["--check", "public-ingress", "--check", "public-egress"])]
#[case::terraform_unknown_group_ids("terraform/terraform-compliance-test_issue-234-egress.plan.out.json", &["--check", "public-ingress", "--check", "public-egress", "--check", "tiers", "--param", "tierTagKey=tier", "--param", "tierRules=ecs<-lb:80"])]
#[case::terraform_updates_and_outputs("terraform/terraform-compliance-test_issue-249.plan.out.json", &["--check", "public-ingress", "--check", "public-egress"])]
fn real_fixtures_give_their_golden_verdicts(#[case] file: &str, #[case] checks: &[&str]) {
    let path = format!("fixtures/scan/{file}");
    let mut args = vec!["scan", &path, "--format", "json"];
    args.extend(checks);
    let out = sg_compliance(&args);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(!rows.is_empty());
    let name = file.replace(['/', '.'], "_");
    insta::assert_snapshot!(
        format!("scan_{name}"),
        serde_json::to_string_pretty(&rows).unwrap()
    );
}

#[test]
fn sarif_locates_each_finding_in_its_file_and_line_and_is_valid() {
    let out = sg_compliance(&[
        "scan",
        "fixtures/scan/cdk/template.json",
        "fixtures/scan/cloudformation/ECS_Schedule_Example.yaml",
        "fixtures/scan/terraform/checkov-module-for-each.tfplan.json",
        "--check",
        "public-ingress",
        "--check",
        "public-egress",
        "--format",
        "sarif",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let sarif: Value = serde_json::from_str(&text).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let first = &results[0]["locations"][0];
    assert_eq!(
        first["physicalLocation"]["artifactLocation"]["uri"],
        "fixtures/scan/cdk/template.json"
    );
    // The line of the group's logical id in the file.
    let line = first["physicalLocation"]["region"]["startLine"]
        .as_u64()
        .unwrap() as usize;
    let name = first["logicalLocations"][0]["name"].as_str().unwrap();
    let template = std::fs::read_to_string(root().join("fixtures/scan/cdk/template.json")).unwrap();
    assert!(
        template
            .lines()
            .nth(line - 1)
            .unwrap()
            .contains(&format!("\"{name}\"")),
        "line {line} of the template does not define {name}"
    );
    // Code scanning tells alerts apart by file, group and check (a plan's groups share its line).
    assert_eq!(
        results[0]["partialFingerprints"]["sgComplianceResource/v1"],
        format!("fixtures/scan/cdk/template.json#{name}#public-ingress")
    );
    insta::assert_snapshot!("scan_sarif", text);
    assert_valid_sarif(&text);
}

/// Exit codes as the audit's: 0 nothing NON_COMPLIANT (INSUFFICIENT_DATA included), 1 some, 2 bad
/// input; every error one line naming the file (and field).
#[rstest]
#[case::non_compliant(&["fixtures/scan/cloudformation/EC2InstanceWithSecurityGroupSample.json", "--check", "public-ingress"], 1, "")]
#[case::only_insufficient_data(&["tests/it/scan/unknown-office.yaml", "--check", "public-ingress"], 0, "")]
#[case::no_such_file(&["tests/it/scan/missing.yaml"], 2, "sg-compliance: error: tests/it/scan/missing.yaml: cannot read: no such file")]
#[case::not_a_template(&["fixtures/audit/describe-security-groups.json"], 2, "not a CloudFormation template nor a Terraform plan (an object with SecurityGroups)")]
#[case::bad_field(&["tests/it/scan/bad-port.yaml", "--check", "public-ingress"], 2, "tests/it/scan/bad-port.yaml: Resources.Ssh.Properties.SecurityGroupIngress[0].ToPort: `twenty-two` is not a port number")]
#[case::parameters_file(&["tests/it/scan/unknown-office.yaml", "--check", "public-ingress", "--parameters", "tests/it/scan/office-is-the-internet.json"], 1, "")]
#[case::parameters_unknown_key(&["tests/it/scan/unknown-office.yaml", "--check", "public-ingress", "--parameters", "tests/it/scan/misspelt.json"], 2, "--parameters: Ofice declared by no template scanned")]
#[case::a_directory(&["fixtures/scan/cdk"], 2, "fixtures/scan/cdk: cannot read: a directory: pass its templates or plans (e.g. cdk.out/*.template.json)")]
#[case::nothing_defined(&["tests/it/scan/no-groups.yaml"], 0, "defines no security group (CloudFormation template): nothing to judge")]
fn exit_codes_and_messages(#[case] args: &[&str], #[case] code: i32, #[case] needle: &str) {
    let mut all = vec!["scan"];
    all.extend(args);
    all.extend(["--format", "json"]);
    let out = sg_compliance(&all);
    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    assert!(stderr(&out).contains(needle), "{}", stderr(&out));
    if needle.contains("error") {
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }
}

#[test]
fn the_table_shows_what_needs_action_with_where_it_is_defined() {
    let out = sg_compliance(&[
        "scan",
        "tests/it/scan/unknown-office.yaml",
        "--check",
        "public-ingress",
        "--format",
        "table",
    ]);
    let text = stdout(&out);
    assert!(text.contains("Office"), "{text}");
    assert!(
        text.contains("tests/it/scan/unknown-office.yaml:"),
        "{text}"
    );
    assert!(text.contains("1 insufficient data"), "{text}");
}

/// The README's example, as it says: Office INSUFFICIENT_DATA, InstanceSecurityGroup NON_COMPLIANT,
/// exit 1; CSV carries the file and the line too.
#[test]
fn the_readme_example() {
    let out = sg_compliance(&[
        "scan",
        "tests/it/scan/unknown-office.yaml",
        "fixtures/scan/cloudformation/EC2InstanceWithSecurityGroupSample.json",
        "--check",
        "public-ingress",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let verdict = |id: &str| {
        rows.iter()
            .find(|r| r["complianceResourceId"] == id)
            .map(|r| r["complianceType"].as_str().unwrap().to_string())
    };
    assert_eq!(verdict("Office").as_deref(), Some("INSUFFICIENT_DATA"));
    assert_eq!(
        verdict("InstanceSecurityGroup").as_deref(),
        Some("NON_COMPLIANT")
    );
    let office = rows
        .iter()
        .find(|r| r["complianceResourceId"] == "Office")
        .unwrap();
    assert!(office["annotation"].as_str().unwrap().starts_with(
        "known only at deploy: Office.SecurityGroupIngress[0].CidrIp: parameter Office (no Default, no --parameters value); NON_COMPLIANT if the unknown sources are the internet: "
    ));
    assert_eq!(
        (office["file"].as_str(), office["line"].as_u64()),
        (Some("tests/it/scan/unknown-office.yaml"), Some(7))
    );
    let csv = sg_compliance(&[
        "scan",
        "tests/it/scan/unknown-office.yaml",
        "--check",
        "public-ingress",
        "--format",
        "csv",
    ]);
    let text = stdout(&csv);
    let mut lines = text.lines();
    assert!(lines.next().unwrap().ends_with(",file,line"), "{text}");
    assert!(
        lines
            .next()
            .unwrap()
            .ends_with(",tests/it/scan/unknown-office.yaml,7"),
        "{text}"
    );
}

/// The CI examples the README points to: they parse, run `scan` to SARIF, upload it (GitHub) or
/// keep it (CodeBuild), and fail on findings only after that; their scan command line works on
/// `cdk synth` output and a plan.
#[test]
fn ci_examples_scan_to_sarif_and_fail_on_findings_after_the_upload() {
    let read = |p: &str| -> serde_yaml_ng::Value {
        serde_yaml_ng::from_str(&std::fs::read_to_string(root().join(p)).unwrap()).unwrap()
    };
    let gha = read("docs/ci/github-actions-scan.yml");
    assert_eq!(
        gha["permissions"]["security-events"].as_str(),
        Some("write")
    );
    let steps = gha["jobs"]["scan"]["steps"].as_sequence().unwrap();
    let position =
        |pred: &dyn Fn(&serde_yaml_ng::Value) -> bool| steps.iter().position(pred).unwrap();
    let scan = position(&|s| {
        s["run"].as_str().is_some_and(|r| {
            r.contains("sg-compliance scan") && r.contains("--format sarif > scan.sarif")
        })
    });
    let upload = position(&|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
    });
    let fail = position(&|s| s["if"].as_str() == Some("steps.scan.outputs.status == '1'"));
    assert!(scan < upload && upload < fail);
    assert_eq!(
        steps[upload]["with"]["sarif_file"].as_str(),
        Some("scan.sarif")
    );
    let codebuild = read("docs/ci/buildspec-scan.yml");
    let build = format!("{:?}", codebuild["phases"]["build"]["commands"]);
    assert!(build.contains("--format sarif > scan.sarif"), "{build}");
    assert_eq!(
        codebuild["artifacts"]["files"][0].as_str(),
        Some("scan.sarif")
    );
    // The command line, on the fixtures of the shapes it is given.
    let out = sg_compliance(&[
        "scan",
        "fixtures/scan/cdk/template.json",
        "fixtures/scan/terraform/checkov-module-for-each.tfplan.json",
        "--check",
        "public-ingress",
        "--format",
        "sarif",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let sarif: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 4);
}

#[test]
fn html_names_where_each_group_is_defined_and_counts_insufficient_data() {
    let out = sg_compliance(&[
        "scan",
        "tests/it/scan/unknown-office.yaml",
        "--check",
        "public-ingress",
        "--format",
        "html",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = stdout(&out);
    // minijinja escapes `/` in HTML.
    assert!(
        html.contains("<small>tests&#x2f;it&#x2f;scan&#x2f;unknown-office.yaml:7</small>"),
        "{html}"
    );
    assert!(
        html.contains("insufficient data (known only at deploy)"),
        "{html}"
    );
    assert!(
        html.contains("Non-compliant or insufficient data (1)"),
        "{html}"
    );
}

/// Peers' own test suites (checkov, cfn_nag; `fixtures/scan/peers/`): every verdict we give on
/// their templates is theirs, or a difference `cases.json` explains (`we_differ`); a file we
/// refuse exits 2 with one line per bad resource, never a panic.
#[test]
fn peers_test_suites_agree_or_differ_for_a_stated_reason() {
    let dir = root().join("fixtures/scan/peers");
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let (mut agree, mut differ) = (0, 0);
    for case in &cases {
        let file = case["file"].as_str().unwrap();
        let mut args = vec!["scan".to_string(), file.to_string()];
        args.extend(
            case["our_args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string()),
        );
        args.extend(["--format".into(), "json".into()]);
        if let Some(parameters) = case["parameters"].as_str() {
            args.extend(["--parameters".into(), parameters.into()]);
        }
        let out = Command::new(env!("CARGO_BIN_EXE_sg-compliance"))
            .args(&args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0..=2)),
            "{file}: {}",
            stderr(&out)
        );
        let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
        for (id, expected) in case["expected"].as_object().unwrap() {
            let Some(row) = rows
                .iter()
                .find(|r| r["complianceResourceId"] == id.as_str())
            else {
                continue;
            };
            let ours = match row["complianceType"].as_str().unwrap() {
                "NON_COMPLIANT" => "FAIL",
                "COMPLIANT" => "PASS",
                other => other,
            };
            if ours == expected {
                agree += 1;
            } else {
                assert!(
                    case["we_differ"][id].is_string(),
                    "{file} {id}: the peer says {expected}, we say {} ({})",
                    row["complianceType"],
                    row["annotation"]
                );
                differ += 1;
            }
        }
    }
    assert_eq!((agree, differ), (45, 10));
}

/// `tiers` on a template: the load balancer the template defines is the `lb` source, the tiers'
/// references are drawn in the HTML tier map, and the wrong source is named by logical id.
#[test]
fn tiers_on_a_template_with_its_load_balancer_and_tier_map() {
    let tiers = [
        "--check",
        "tiers",
        "--param",
        "tierTagKey=tier",
        "--param",
        "tierRules=web<-lb:443; app<-web:8080; db<-app:5432",
    ];
    let mut args = vec!["scan", "tests/it/scan/three-tier.yaml", "--format", "json"];
    args.extend(tiers);
    let out = sg_compliance(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let verdict = |id: &str| {
        rows.iter()
            .find(|r| r["complianceResourceId"] == id)
            .map(|r| {
                (
                    r["complianceType"].as_str().unwrap().to_string(),
                    r["annotation"].as_str().unwrap().to_string(),
                )
            })
            .unwrap()
    };
    assert_eq!(verdict("Web").0, "COMPLIANT", "{:?}", verdict("Web"));
    assert_eq!(verdict("App").0, "COMPLIANT", "{:?}", verdict("App"));
    let (db, why) = verdict("Db");
    assert_eq!(db, "NON_COMPLIANT");
    assert!(why.contains("198.51.100.0/24"), "{why}");
    let mut args = vec!["scan", "tests/it/scan/three-tier.yaml", "--format", "html"];
    args.extend(tiers);
    let html = stdout(&sg_compliance(&args));
    assert!(html.contains("<h2>Tier map</h2>"), "{html}");
}

/// `-` reads standard input: `terraform show -json tf.plan | sg-compliance scan -`.
#[test]
fn a_plan_on_standard_input() {
    use std::io::Write;
    let plan =
        std::fs::read(root().join("fixtures/scan/terraform/checkov-module-for-each.tfplan.json"))
            .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sg-compliance"))
        .args(["scan", "-", "--check", "public-ingress", "--format", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&plan).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["file"], "-");
}
