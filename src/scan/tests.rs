//! The verdict rules of `scan` on small templates: unknown values, conditions, group and
//! prefix-list sources, tags, deleted groups.

use super::*;
use rstest::rstest;

/// Rows as (id, check, verdict, annotation), and the errors.
type Scanned = (Vec<(String, String, Compliance, String)>, Vec<String>);

/// Scans `text` (a template or plan) with these checks and parameters; rows as
/// (id, check, verdict, annotation), and the errors.
pub(crate) fn scan_text(
    text: &str,
    checks: &[&str],
    params: &[(&str, &str)],
    parameters: &[(&str, &str)],
) -> Scanned {
    let checks = checks_of(checks, params);
    let parameters: BTreeMap<String, String> = parameters
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut report = AuditReport::new(&checks);
    match template::parse("t.yaml", text, &parameters) {
        Ok(source) => scan_source("t.yaml", &source, &checks, &mut report),
        Err(e) => report.errors.push(input_error(e)),
    }
    (
        report
            .rows
            .iter()
            .map(|r| {
                (
                    r.group_id.to_string(),
                    r.check.to_string(),
                    r.compliance,
                    r.annotation.to_string(),
                )
            })
            .collect(),
        report.errors.iter().map(|e| e.message.clone()).collect(),
    )
}

/// The checks with the parameters each declares.
fn checks_of(names: &[&str], params: &[(&str, &str)]) -> Vec<Check> {
    names
        .iter()
        .map(|name| {
            let (specs, _) = Check::spec(name).unwrap();
            let mut pairs = vec![("check", *name)];
            pairs.extend(
                params
                    .iter()
                    .filter(|(k, _)| specs.iter().any(|s| s.name == *k)),
            );
            Check::from_pairs(&pairs).unwrap()
        })
        .collect()
}

/// One group `G` with these ingress rules (YAML list items) and extra template text.
fn one_group(ingress: &str, extra: &str) -> String {
    format!(
        "Parameters:\n  Cidr: {{Type: String}}\n  Port: {{Type: String}}\n  Proto: {{Type: String}}\n  Peer: {{Type: AWS::EC2::SecurityGroup::Id}}\n  Pl: {{Type: String}}\n  Env: {{Type: String, Default: dev}}\nConditions:\n  Prod: !Equals [!Ref Env, prod]\nResources:\n  G:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: g\n      SecurityGroupIngress:\n{ingress}\n{extra}"
    )
}

fn verdict_of(text: &str, check: &str, params: &[(&str, &str)]) -> (Compliance, String) {
    let (rows, errors) = scan_text(text, &[check], params, &[]);
    assert!(errors.is_empty(), "{errors:?}");
    let row = rows.iter().find(|r| r.0 == "G").expect("a row for G");
    (row.2, row.3.clone())
}

#[rstest]
// Known values decide.
#[case::known_finding(
    "        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}",
    "public-ingress",
    Compliance::NonCompliant,
    "tcp/22 open to 0.0.0.0/0"
)]
// A finding of the known values holds whatever the unknown ones are.
#[case::known_finding_beside_unknown("        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}\n        - {IpProtocol: tcp, FromPort: 5432, ToPort: 5432, CidrIp: !Ref Cidr}", "public-ingress", Compliance::NonCompliant, "tcp/22 open to 0.0.0.0/0")]
// The verdict depends on an unknown source: named.
#[case::unknown_source(
    "        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !Ref Cidr}",
    "public-ingress",
    Compliance::InsufficientData,
    "G.SecurityGroupIngress[0].CidrIp: parameter Cidr (no Default, no --parameters value)"
)]
#[case::unknown_ipv6_source(
    "        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIpv6: !ImportValue office-v6}",
    "public-ingress",
    Compliance::InsufficientData,
    "Fn::ImportValue office-v6"
)]
#[case::unknown_port(
    "        - {IpProtocol: tcp, FromPort: !Ref Port, ToPort: !Ref Port, CidrIp: 0.0.0.0/0}",
    "public-ingress",
    Compliance::InsufficientData,
    "FromPort: parameter Port"
)]
#[case::unknown_protocol(
    "        - {IpProtocol: !Ref Proto, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}",
    "public-ingress",
    Compliance::InsufficientData,
    "IpProtocol: parameter Proto"
)]
#[case::unknown_pseudo(
    "        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !Sub '${AWS::Region}'}",
    "public-ingress",
    Compliance::InsufficientData,
    "pseudo parameter AWS::Region"
)]
// Unknown values no check reads do not matter.
#[case::unknown_description("        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0, Description: !Ref Cidr}", "public-ingress", Compliance::Compliant, "no ingress from the internet")]
// Group and prefix-list sources are never the internet nor a private range, known or not.
#[case::unknown_group_source(
    "        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, SourceSecurityGroupId: !Ref Peer}",
    "public-ingress",
    Compliance::Compliant,
    "no ingress from the internet"
)]
#[case::external_group_source("        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, SourceSecurityGroupId: sg-0123456789abcdef0}", "broad-private-ingress", Compliance::Compliant, "")]
#[case::unknown_prefix_list(
    "        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, SourcePrefixListId: !Ref Pl}",
    "public-ingress",
    Compliance::Compliant,
    "no ingress from the internet"
)]
#[case::unknown_prefix_list_private(
    "        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, SourcePrefixListId: !Ref Pl}",
    "broad-private-ingress",
    Compliance::Compliant,
    ""
)]
// A private range as the unknown: broad-private-ingress depends on it.
#[case::unknown_source_private(
    "        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !Ref Cidr}",
    "broad-private-ingress",
    Compliance::InsufficientData,
    "G.SecurityGroupIngress[0].CidrIp"
)]
// Parameters: the Default.
#[case::parameter_default(
    "        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !Ref Open}",
    "public-ingress",
    Compliance::NonCompliant,
    "tcp/22 open to 0.0.0.0/0"
)]
// Host bits are cleared as EC2 does: 192.168.1.0/0 is the internet.
#[case::host_bits(
    "        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 192.168.1.0/0}",
    "public-ingress",
    Compliance::NonCompliant,
    "tcp/22 open to 0.0.0.0/0"
)]
// Protocol numbers, ports as text.
#[case::protocol_number_ports_text(
    "        - {IpProtocol: 6, FromPort: '3389', ToPort: '3389', CidrIp: 0.0.0.0/0}",
    "public-ingress",
    Compliance::NonCompliant,
    "tcp/3389"
)]
// Fn::If: every combination of the conditions, NON_COMPLIANT if any is, and which.
#[case::condition_any_branch("        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !If [Prod, 0.0.0.0/0, 10.0.0.0/8]}", "public-ingress", Compliance::NonCompliant, "when Prod=true: ")]
#[case::condition_no_value("        - !If [Prod, {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}, !Ref AWS::NoValue]", "public-ingress", Compliance::NonCompliant, "when Prod=true")]
#[case::condition_compliant_both("        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: !If [Prod, 0.0.0.0/0, 10.0.0.0/8]}", "public-ingress", Compliance::Compliant, "no ingress from the internet")]
#[case::condition_unknown_branch("        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !If [Prod, !Ref Cidr, 10.0.0.0/8]}", "public-ingress", Compliance::InsufficientData, "when Prod=true: known only at deploy")]
fn unknown_values_and_conditions(
    #[case] ingress: &str,
    #[case] check: &str,
    #[case] expected: Compliance,
    #[case] needle: &str,
) {
    let text = one_group(ingress, "").replace(
        "  Env: {Type: String, Default: dev}",
        "  Env: {Type: String, Default: dev}\n  Open: {Type: String, Default: 0.0.0.0/0}",
    );
    let (c, why) = verdict_of(&text, check, &[]);
    assert_eq!(c, expected, "{why}");
    assert!(why.contains(needle), "{why}");
}

#[test]
fn parameters_settle_values_and_conditions() {
    let text = one_group(
        "        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !If [Prod, 0.0.0.0/0, !Ref Cidr]}",
        "",
    );
    let run = |parameters: &[(&str, &str)]| {
        let (rows, errors) = scan_text(&text, &["public-ingress"], &[], parameters);
        assert!(errors.is_empty(), "{errors:?}");
        (rows[0].2, rows[0].3.clone())
    };
    // Env=dev from --parameters settles Prod; the Cidr value decides.
    assert_eq!(
        run(&[("Env", "dev"), ("Cidr", "198.51.100.0/24")]).0,
        Compliance::Compliant
    );
    let (c, why) = run(&[("Env", "dev"), ("Cidr", "0.0.0.0/0")]);
    assert_eq!(c, Compliance::NonCompliant);
    // Settled conditions are not named.
    assert!(!why.contains("Prod="), "{why}");
    // Without --parameters the Default does not settle the condition: both branches are judged.
    let (c, why) = run(&[("Cidr", "198.51.100.0/24")]);
    assert_eq!(c, Compliance::NonCompliant);
    assert!(why.starts_with("when Prod=true"), "{why}");
}

#[test]
fn a_parameter_no_template_declares_is_an_error() {
    let text = one_group(
        "        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}",
        "",
    );
    let dir = std::env::temp_dir().join(format!("sg-scan-param-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("t.yaml");
    std::fs::write(&file, text).unwrap();
    let checks = checks_of(&["public-ingress"], &[]);
    let report = scan_files(
        &[&file],
        &BTreeMap::from([("Cdir".to_string(), "x".to_string())]),
        &checks,
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(report.exit_code(), 2);
    assert!(
        report.errors[0]
            .message
            .contains("Cdir declared by no template"),
        "{:?}",
        report.errors
    );
}

#[test]
fn a_group_that_exists_only_under_a_condition_is_judged_when_it_does() {
    let text = "Parameters:\n  Env: {Type: String, Default: dev}\nConditions:\n  Prod: !Equals [!Ref Env, prod]\n  NotProd: !Not [!Condition Prod]\nResources:\n  G:\n    Type: AWS::EC2::SecurityGroup\n    Condition: NotProd\n    Properties:\n      GroupDescription: g\n      SecurityGroupIngress:\n        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !If [Prod, 0.0.0.0/0, 10.0.0.0/8]}\n";
    let (rows, errors) = scan_text(text, &["public-ingress"], &[], &[]);
    assert!(errors.is_empty(), "{errors:?}");
    // NotProd reads Prod: the combination Prod=true has no G, so the open branch never deploys.
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].2, Compliance::Compliant, "{}", rows[0].3);
    // Settled false by --parameters: no group, no verdict; a note says so.
    let checks = checks_of(&["public-ingress"], &[]);
    let parameters = BTreeMap::from([("Env".to_string(), "prod".to_string())]);
    let mut report = AuditReport::new(&checks);
    let source = template::parse("t.yaml", text, &parameters).unwrap();
    scan_source("t.yaml", &source, &checks, &mut report);
    assert!(report.rows.is_empty(), "{:?}", report.rows);
    assert_eq!(
        report.notes,
        ["t.yaml: G not created under the conditions settled by --parameters: no verdict"]
    );
}

#[test]
fn too_many_open_conditions_are_refused_with_what_to_do() {
    let mut text = String::from("Parameters:\n  P: {Type: String}\nConditions:\n");
    for i in 0..=MAX_OPEN_CONDITIONS {
        text.push_str(&format!("  C{i}: !Equals [!Ref P, v{i}]\n"));
    }
    text.push_str("Resources:\n  G:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: g\n      SecurityGroupIngress:\n");
    for i in 0..=MAX_OPEN_CONDITIONS {
        text.push_str(&format!(
            "        - {{IpProtocol: tcp, FromPort: {i}, ToPort: {i}, CidrIp: !If [C{i}, 0.0.0.0/0, 10.0.0.0/8]}}\n"
        ));
    }
    let (rows, errors) = scan_text(&text, &["public-ingress"], &[], &[]);
    assert!(rows.is_empty());
    assert!(errors[0].contains("pass --parameters"), "{errors:?}");
}

/// Tags and groups the checks read: an unknown tag value, a group the files do not define.
#[rstest]
#[case::unknown_tier_tag(
    "      Tags: [{Key: tier, Value: !Ref Cidr}]",
    "        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 10.0.0.0/8}",
    "tiers",
    Compliance::InsufficientData,
    "tier=db"
)]
#[case::known_tier_wrong_source(
    "      Tags: [{Key: tier, Value: db}]",
    "        - {IpProtocol: tcp, FromPort: 5432, ToPort: 5432, CidrIp: 10.0.0.0/8}",
    "tiers",
    Compliance::NonCompliant,
    "10.0.0.0/8"
)]
#[case::external_source_group_tags_unknown(
    "      Tags: [{Key: tier, Value: db}]",
    "        - {IpProtocol: tcp, FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: sg-0123456789abcdef0}",
    "tiers",
    Compliance::InsufficientData,
    "the tags of sg-0123456789abcdef0 (not defined in these files)"
)]
#[case::unknown_web_tag(
    "      Tags: [{Key: tier, Value: !Ref Cidr}]",
    "        - {IpProtocol: tcp, FromPort: 80, ToPort: 80, SourceSecurityGroupId: !Ref Peer}",
    "web-tier",
    Compliance::InsufficientData,
    "Tags[0].Value"
)]
fn tags_and_groups_known_only_at_deploy(
    #[case] tags: &str,
    #[case] ingress: &str,
    #[case] check: &str,
    #[case] expected: Compliance,
    #[case] needle: &str,
) {
    let text = one_group(ingress, tags);
    let params: &[(&str, &str)] = if check == "tiers" {
        &[("tierTagKey", "tier"), ("tierRules", "db<-app:5432")]
    } else {
        &[("tierTagKey", "tier"), ("tierTagValue", "web")]
    };
    let (c, why) = verdict_of(&text, check, params);
    assert_eq!(c, expected, "{why}");
    assert!(why.contains(needle), "{why}");
}

#[test]
fn groups_of_one_template_see_each_other_and_its_load_balancers() {
    let text = "Resources:\n  Lb:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: lb\n      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}]\n  App:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: app\n      Tags: [{Key: tier, Value: app}]\n  Web:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: web\n      Tags: [{Key: tier, Value: web}]\n      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 80, ToPort: 80, SourceSecurityGroupId: !GetAtt Lb.GroupId}]\n  AppFromWeb:\n    Type: AWS::EC2::SecurityGroupIngress\n    Properties:\n      GroupId: !Ref App\n      IpProtocol: tcp\n      FromPort: 8080\n      ToPort: 8080\n      SourceSecurityGroupId: !GetAtt Lb.GroupId\n  Alb:\n    Type: AWS::ElasticLoadBalancingV2::LoadBalancer\n    Properties:\n      SecurityGroups: [!GetAtt Lb.GroupId]\n";
    let (rows, errors) = scan_text(
        text,
        &["web-tier", "tiers"],
        &[
            ("tierTagKey", "tier"),
            ("tierTagValue", "web"),
            ("tierRules", "web<-lb:80; app<-web:8080"),
        ],
        &[],
    );
    assert!(errors.is_empty(), "{errors:?}");
    let get = |id: &str, check: &str| {
        rows.iter()
            .find(|r| r.0 == id && r.1 == check)
            .map(|r| (r.2, r.3.clone()))
            .unwrap()
    };
    assert_eq!(get("Web", "web-tier").0, Compliance::Compliant);
    assert_eq!(get("Web", "tiers").0, Compliance::Compliant);
    // App admits the load balancer, not the web tier: named by its logical id.
    let (c, why) = get("App", "tiers");
    assert_eq!(c, Compliance::NonCompliant);
    assert!(why.contains("Lb"), "{why}");
    assert!(!why.contains("sg-5ca9e"), "{why}");
}

#[test]
fn a_bad_known_value_names_its_field_and_spares_the_other_groups() {
    let text = "Resources:\n  Bad:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: b\n      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 10.0.0.300/8}]\n  Good:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: g\n      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}]\n";
    let (rows, errors) = scan_text(text, &["public-ingress"], &[], &[]);
    assert_eq!(
        errors,
        ["t.yaml: Resources.Bad.Properties.SecurityGroupIngress[0]: `10.0.0.300/8` is not an IPv4 CIDR (e.g. 203.0.113.0/24)"]
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].2),
        ("Good", Compliance::NonCompliant)
    );
    let text = text
        .replace("10.0.0.300/8", "10.0.0.0/8")
        .replace("FromPort: 22, ToPort: 22, CidrIp: 10", "CidrIp: 10");
    let (_, errors) = scan_text(&text, &["public-ingress"], &[], &[]);
    assert_eq!(
        errors,
        ["t.yaml: Resources.Bad.Properties.SecurityGroupIngress[0].FromPort: is missing: a tcp permission needs a port range (0-65535)"]
    );
}

#[test]
fn a_reason_names_the_unknowns_its_verdict_depends_on() {
    let text = one_group(
        "        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !Ref Cidr}\n        - {IpProtocol: tcp, FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: sg-0123456789abcdef0}",
        "      Tags: [{Key: tier, Value: db}]",
    );
    let (rows, _) = scan_text(
        &text,
        &["public-ingress", "tiers"],
        &[("tierTagKey", "tier"), ("tierRules", "db<-app:5432")],
        &[],
    );
    let public = &rows.iter().find(|r| r.1 == "public-ingress").unwrap().3;
    assert!(public.contains("CidrIp"), "{public}");
    assert!(!public.contains("the tags of"), "{public}");
    // tiers: the CIDR source is wrong whatever it is, and the path from app depends on the
    // referenced group's tags.
    let (c, tiers) = rows
        .iter()
        .find(|r| r.1 == "tiers")
        .map(|r| (r.2, &r.3))
        .unwrap();
    assert_eq!(c, Compliance::NonCompliant, "{tiers}");
}

#[rstest]
#[case::no_cidr_is_allowed(&[], Compliance::NonCompliant)]
#[case::some_cidr_is_allowed(&[("allowedSourceCidrs", "172.16.0.0/12")], Compliance::InsufficientData)]
fn an_unknown_cidr_is_a_source_a_tier_refuses_unless_some_cidr_is_allowed(
    #[case] extra: &[(&str, &str)],
    #[case] expected: Compliance,
) {
    let text = one_group(
        "        - {IpProtocol: tcp, FromPort: 5432, ToPort: 5432, CidrIp: !Ref Cidr}\n        - {IpProtocol: tcp, FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: !GetAtt App.GroupId}",
        "      Tags: [{Key: tier, Value: db}]\n  App:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: app\n      Tags: [{Key: tier, Value: app}]",
    );
    let mut params = vec![("tierTagKey", "tier"), ("tierRules", "db<-app:5432")];
    params.extend(extra);
    let (c, why) = verdict_of(&text, "tiers", &params);
    assert_eq!(c, expected, "{why}");
}

mod properties {
    //! `scan` against brute force: a template whose sources are parameters without a value is
    //! judged as the verdicts of its instantiations say (each parameter given every value of a
    //! set through `--parameters`, independently): NON_COMPLIANT if all are, COMPLIANT if all are,
    //! else INSUFFICIENT_DATA. And no input makes it panic.
    use super::*;
    use proptest::prelude::*;

    const PORTS: [u16; 4] = [22, 80, 443, 3389];
    const KNOWN: [&str; 5] = [
        "0.0.0.0/0",
        "10.0.0.0/8",
        "203.0.113.0/24",
        "0.0.0.0/1",
        "128.0.0.0/1",
    ];
    /// Values the brute force gives each unknown source: nobody, the internet, a private range,
    /// half the internet, one public /24.
    const VALUES: [&str; 5] = [
        "192.0.2.1/32",
        "0.0.0.0/0",
        "10.0.0.0/8",
        "128.0.0.0/1",
        "198.51.100.0/24",
    ];

    /// `PROPTEST_CASES` when set (a longer run), else the test's own.
    fn cases(default: u32) -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    fn text(known: &[(usize, usize)], unknown: &[usize]) -> String {
        let mut params = String::new();
        let mut rules = String::new();
        for (p, c) in known {
            rules.push_str(&format!(
                "        - {{IpProtocol: tcp, FromPort: {0}, ToPort: {0}, CidrIp: '{1}'}}\n",
                PORTS[*p], KNOWN[*c]
            ));
        }
        for (i, p) in unknown.iter().enumerate() {
            params.push_str(&format!("  U{i}: {{Type: String}}\n"));
            rules.push_str(&format!(
                "        - {{IpProtocol: tcp, FromPort: {0}, ToPort: {0}, CidrIp: !Ref U{i}}}\n",
                PORTS[*p]
            ));
        }
        if rules.is_empty() {
            rules.push_str("        []\n");
        }
        format!("Parameters:\n  Unused: {{Type: String, Default: x}}\n{params}Resources:\n  G:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: g\n      SecurityGroupIngress:\n{rules}")
    }

    fn verdict(text: &str, check: &str, parameters: &[(&str, &str)]) -> Compliance {
        let (rows, errors) = scan_text(text, &[check], &[], parameters);
        assert!(errors.is_empty(), "{errors:?}");
        rows[0].2
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases(48)))]

        #[test]
        fn unknown_sources_are_judged_as_their_instantiations_say(
            known in prop::collection::vec((0..PORTS.len(), 0..KNOWN.len()), 0..3),
            unknown in prop::collection::vec(0..PORTS.len(), 1..3),
            check in prop::sample::select(vec!["public-ingress", "broad-private-ingress"]),
        ) {
            let template = text(&known, &unknown);
            let scanned = verdict(&template, check, &[]);
            let names: Vec<String> = (0..unknown.len()).map(|i| format!("U{i}")).collect();
            let mut seen = BTreeSet::new();
            for combo in 0..VALUES.len().pow(unknown.len() as u32) {
                let mut c = combo;
                let given: Vec<(&str, &str)> = names
                    .iter()
                    .map(|n| {
                        let v = VALUES[c % VALUES.len()];
                        c /= VALUES.len();
                        (n.as_str(), v)
                    })
                    .collect();
                seen.insert(verdict(&template, check, &given));
            }
            let expected = if seen.len() == 1 {
                *seen.iter().next().unwrap()
            } else {
                Compliance::InsufficientData
            };
            prop_assert_eq!(scanned, expected, "{}\n{:?}", template, seen);
        }

        /// Whatever the document, scan answers with rows or errors, never a panic.
        #[test]
        fn no_document_makes_it_panic(document in any_document()) {
            let text = serde_json::to_string(&document).unwrap();
            let (rows, errors) = scan_text(&text, &["public-ingress", "tiers"], &[("tierTagKey", "t"), ("tierRules", "a<-b:1")], &[]);
            prop_assert!(rows.len() % 2 == 0 || !errors.is_empty());
        }
    }

    /// JSON documents made of the words templates and plans use.
    fn any_document() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::{json, Value};
        let word = prop::sample::select(vec![
            "Resources",
            "Type",
            "Properties",
            "AWS::EC2::SecurityGroup",
            "AWS::EC2::SecurityGroupIngress",
            "AWS::EC2::SecurityGroupEgress",
            "SecurityGroupIngress",
            "SecurityGroupEgress",
            "IpProtocol",
            "FromPort",
            "ToPort",
            "CidrIp",
            "CidrIpv6",
            "GroupId",
            "SourceSecurityGroupId",
            "Ref",
            "Fn::If",
            "Fn::GetAtt",
            "Fn::Sub",
            "Fn::Join",
            "Fn::Select",
            "Fn::FindInMap",
            "Condition",
            "Conditions",
            "Parameters",
            "Default",
            "AWS::NoValue",
            "G",
            "tcp",
            "-1",
            "0.0.0.0/0",
            "${G}",
            "Tags",
            "Key",
            "Value",
            "format_version",
            "resource_changes",
            "aws_security_group",
            "change",
            "actions",
            "after",
            "after_unknown",
            "ingress",
            "cidr_blocks",
            "from_port",
            "address",
            "create",
            "delete",
        ]);
        let leaf = prop_oneof![
            word.clone().prop_map(|w| json!(w)),
            any::<i64>().prop_map(|n| json!(n % 70_000)),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ];
        leaf.prop_recursive(5, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((word.clone(), inner), 0..4).prop_map(|kv| {
                    Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                }),
            ]
        })
        .prop_map(|v| match v {
            Value::Object(_) => json!({"Resources": {"G": {"Type": "AWS::EC2::SecurityGroup", "Properties": v}}, "Extra": 1}),
            other => json!({"Resources": {"G": other}}),
        })
    }
}

#[test]
fn a_group_the_plan_deletes_is_not_applicable_and_others_are_judged() {
    let plan = serde_json::json!({
        "format_version": "1.2",
        "resource_changes": [
            {"address": "aws_security_group.old", "mode": "managed", "type": "aws_security_group", "name": "old",
             "change": {"actions": ["delete"], "before": {"id": "sg-0aaaaaaaaaaaaaaaa", "ingress": [{"cidr_blocks": ["0.0.0.0/0"], "from_port": 22, "to_port": 22, "protocol": "tcp"}]}, "after": null, "after_unknown": {}}},
            {"address": "aws_security_group.new", "mode": "managed", "type": "aws_security_group", "name": "new",
             "change": {"actions": ["create"], "before": null, "after": {"ingress": [{"cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": false, "from_port": 22, "to_port": 22, "protocol": "tcp"}], "egress": []}, "after_unknown": {"id": true}}}
        ]
    });
    let (rows, errors) = scan_text(&plan.to_string(), &["public-ingress"], &[], &[]);
    assert!(errors.is_empty(), "{errors:?}");
    let got: Vec<(&str, Compliance, &str)> = rows
        .iter()
        .map(|r| (r.0.as_str(), r.2, r.3.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "aws_security_group.old",
                Compliance::NotApplicable,
                "the plan deletes this group"
            ),
            (
                "aws_security_group.new",
                Compliance::NonCompliant,
                "open to the internet on unauthorized ports: tcp/22 open to 0.0.0.0/0"
            ),
        ]
    );
}

#[test]
fn an_error_in_one_combination_names_it_and_the_verdict_names_the_other() {
    let text = "Parameters:\n  X: {Type: String, Default: a}\nConditions:\n  C: !Equals [!Ref X, b]\nResources:\n  SG:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: g\n      SecurityGroupEgress:\n        - !If [C, {IpProtocol: '-1', CidrIp: 0.0.0.0/0}, {}]\n";
    let (rows, errors) = scan_text(text, &["public-egress"], &[], &[]);
    assert_eq!(
        errors,
        ["t.yaml: Resources.SG.Properties.SecurityGroupEgress[0].IpProtocol: missing (expected tcp, udp, icmp, icmpv6, -1 or a protocol number) (when C=false)"]
    );
    assert_eq!(rows[0].2, Compliance::NonCompliant);
    assert_eq!(
        rows[0].3,
        "when C=true: egress to the internet on unauthorized ports: all traffic to 0.0.0.0/0"
    );
}
