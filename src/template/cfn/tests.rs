//! The CloudFormation reader: short-form tags, intrinsic functions, standalone rules joined to
//! their groups, the default egress, conditions, and errors that name their field.

use super::super::{parse, Source};
use super::*;
use rstest::rstest;

fn template(text: &str, given: &[(&str, &str)]) -> Template {
    let given: BTreeMap<String, String> = given
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match parse("t.yaml", text, &given).unwrap() {
        Source::CloudFormation(t) => *t,
        other => panic!("not a template: {other:?}"),
    }
}

fn groups(text: &str, given: &[(&str, &str)]) -> Defined {
    template(text, given).groups(&BTreeMap::new()).unwrap()
}

fn known(s: &str) -> Val<String> {
    Val::Known(s.to_string())
}

const PARAMS: &str = "Parameters:\n  Office: {Type: String, Default: 198.51.100.0/24}\n  Nets: {Type: CommaDelimitedList, Default: '10.0.0.0/8,192.0.2.0/24'}\n  Env: {Type: String, Default: dev}\n  Bare: {Type: String}\n  Ssm: {Type: 'AWS::SSM::Parameter::Value<String>', Default: /office/cidr}\nMappings:\n  Cidrs:\n    dev: {ssh: 10.1.0.0/16}\n    prod: {ssh: 0.0.0.0/0}\n";

/// The CIDR of the only ingress rule of `G`, given as YAML.
fn cidr_of(value: &str, given: &[(&str, &str)]) -> Val<String> {
    let text = format!("{PARAMS}Resources:\n  Vpc: {{Type: AWS::EC2::VPC}}\n  G:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: g\n      SecurityGroupIngress:\n        - IpProtocol: tcp\n          FromPort: 22\n          ToPort: 22\n          CidrIp: {value}\n");
    let d = groups(&text, given);
    match &d.groups[0].ingress[0].peer {
        Peer::Ipv4(v) => v.clone(),
        other => panic!("{other:?}"),
    }
}

#[rstest]
#[case::literal("203.0.113.0/24", &[], known("203.0.113.0/24"))]
#[case::ref_default("!Ref Office", &[], known("198.51.100.0/24"))]
#[case::ref_given("!Ref Office", &[("Office", "203.0.113.7/32")], known("203.0.113.7/32"))]
#[case::long_form_ref("{Ref: Office}", &[], known("198.51.100.0/24"))]
#[case::sub("!Sub '${Office}'", &[], known("198.51.100.0/24"))]
#[case::sub_with_map("!Sub ['${A}.0/24', {A: 203.0.113}]", &[], known("203.0.113.0/24"))]
#[case::sub_literal_dollar("!Sub '${!Literal}'", &[], known("${Literal}"))]
#[case::join("!Join ['', ['10.2', '.0.0/16']]", &[], known("10.2.0.0/16"))]
#[case::select_list_param("!Select [1, !Ref Nets]", &[], known("192.0.2.0/24"))]
#[case::select_split("!Select [0, !Split [',', 'a/1,b/2']]", &[], known("a/1"))]
#[case::find_in_map("!FindInMap [Cidrs, !Ref Env, ssh]", &[], known("10.1.0.0/16"))]
#[case::cidr_function("!Select [1, !Cidr [10.0.0.0/16, 6, 8]]", &[], known("10.0.1.0/24"))]
#[case::cidr_function_ipv6("!Select [2, !Cidr ['2001:db8::/56', 4, 64]]", &[], known("2001:db8:0:2::/64"))]
#[case::find_in_map_given("!FindInMap [Cidrs, !Ref Env, ssh]", &[("Env", "prod")], known("0.0.0.0/0"))]
fn intrinsic_functions_resolve_when_their_inputs_are_known(
    #[case] value: &str,
    #[case] given: &[(&str, &str)],
    #[case] expected: Val<String>,
) {
    assert_eq!(cidr_of(value, given), expected);
}

#[rstest]
#[case::no_default("!Ref Bare", "parameter Bare (no Default, no --parameters value)")]
#[case::pseudo(
    "!Ref AWS::AccountId",
    "pseudo parameter AWS::AccountId, known only at deploy"
)]
#[case::import(
    "!ImportValue shared-office",
    "Fn::ImportValue shared-office: another stack's export"
)]
#[case::attribute(
    "!GetAtt Vpc.CidrBlock",
    "Vpc.CidrBlock of AWS::EC2::VPC, known after deploy"
)]
#[case::other_resource("!Ref Vpc", "the id of AWS::EC2::VPC Vpc, known after deploy")]
#[case::sub_of_unknown("!Sub '${Vpc.CidrBlock}'", "Vpc.CidrBlock of AWS::EC2::VPC")]
#[case::join_of_unknown("!Join ['', [!Ref Bare, '/32']]", "parameter Bare")]
#[case::find_in_map_pseudo(
    "!FindInMap [Cidrs, !Ref AWS::Region, ssh]",
    "pseudo parameter AWS::Region"
)]
#[case::get_azs("!Select [0, !GetAZs '']", "Fn::GetAZs is not evaluated before deploy")]
#[case::cidr_of_unknown(
    "!Select [0, !Cidr [!GetAtt Vpc.CidrBlock, 2, 8]]",
    "Vpc.CidrBlock of AWS::EC2::VPC"
)]
#[case::cidr_too_many(
    "!Select [0, !Cidr [10.0.0.0/24, 2, 9]]",
    "Fn::Cidr [10.0.0.0/24, 2, 9] is not a valid split"
)]
#[case::ssm_parameter("!Ref Ssm", "parameter Ssm: an SSM parameter, read at deploy")]
fn values_known_only_at_deploy_say_what_they_are(#[case] value: &str, #[case] why: &str) {
    match cidr_of(value, &[]) {
        Val::Unknown(text) => assert!(text.contains(why), "{text}"),
        other => panic!("{other:?}"),
    }
}

const JOINED: &str = r#"
Resources:
  A:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: a
      GroupName: alpha
  B:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: b
      SecurityGroupEgress:
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}
  InByRef:
    Type: AWS::EC2::SecurityGroupIngress
    Properties: {GroupId: !Ref A, IpProtocol: tcp, FromPort: 80, ToPort: 80, SourceSecurityGroupId: !GetAtt B.GroupId}
  InByName:
    Type: AWS::EC2::SecurityGroupIngress
    Properties: {GroupName: alpha, IpProtocol: "6", FromPort: "22", ToPort: "22", CidrIp: 10.0.0.0/8}
  OutByGetAtt:
    Type: AWS::EC2::SecurityGroupEgress
    Properties: {GroupId: !GetAtt A.GroupId, IpProtocol: tcp, FromPort: 5432, ToPort: 5432, DestinationSecurityGroupId: !Ref B}
  OnSomeoneElses:
    Type: AWS::EC2::SecurityGroupIngress
    Properties: {GroupId: sg-0123456789abcdef0, IpProtocol: tcp, FromPort: 1, ToPort: 1, CidrIp: 0.0.0.0/0}
"#;

#[test]
fn standalone_rules_join_their_group_and_remove_the_default_egress() {
    let d = groups(JOINED, &[]);
    let ids: Vec<&str> = d.groups.iter().map(|g| g.id.as_str()).collect();
    // One verdict per group defined: none for rules, none for the group only referenced.
    assert_eq!(ids, ["A", "B"]);
    let a = &d.groups[0];
    let peers: Vec<&Peer> = a.ingress.iter().map(|r| &r.peer).collect();
    assert_eq!(
        peers,
        [
            &Peer::Group {
                group: GroupPeer::Defined("B".into()),
                owner: None
            },
            &Peer::Ipv4(known("10.0.0.0/8"))
        ]
    );
    assert_eq!(a.ingress[1].protocol, known("6"));
    assert_eq!(a.ingress[1].from_port, Val::Known(Some(22)));
    // A's only egress is the standalone one: CloudFormation removed the default.
    assert_eq!(a.egress.len(), 1);
    assert_eq!(a.egress[0].at, "Resources.OutByGetAtt.Properties");
    // B's inline egress replaced the default.
    assert_eq!(d.groups[1].egress[0].from_port, Val::Known(Some(443)));
    assert_eq!(d.groups[1].egress.len(), 1);
}

#[test]
fn a_group_without_egress_rules_keeps_aws_default_all_traffic_egress() {
    let d = groups(
        "Resources:\n  G:\n    Type: AWS::EC2::SecurityGroup\n    Properties: {GroupDescription: g}\n",
        &[],
    );
    let e = &d.groups[0].egress;
    assert_eq!(e.len(), 1);
    assert_eq!(
        (e[0].protocol.clone(), e[0].peer.clone()),
        (known("-1"), Peer::Ipv4(known("0.0.0.0/0")))
    );
}

#[test]
fn cdk_disallow_all_marker_is_an_ordinary_rule() {
    let d = groups(
        r#"{"Resources": {"G": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "g", "SecurityGroupEgress": [{"CidrIp": "255.255.255.255/32", "Description": "Disallow all traffic", "FromPort": 252, "IpProtocol": "icmp", "ToPort": 86}]}}}}"#,
        &[],
    );
    let e = &d.groups[0].egress;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].peer, Peer::Ipv4(known("255.255.255.255/32")));
    assert_eq!(
        (e[0].from_port.clone(), e[0].to_port.clone()),
        (Val::Known(Some(252)), Val::Known(Some(86)))
    );
}

const CONDITIONAL: &str = r#"
Parameters:
  Env: {Type: String, Default: dev}
Conditions:
  Prod: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition Prod]
  Literal: !Equals [a, a]
Resources:
  G:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: g
      SecurityGroupIngress:
        - !If [Prod, {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}, !Ref AWS::NoValue]
        - !If [Literal, {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}, !Ref AWS::NoValue]
  OnlyInProd:
    Type: AWS::EC2::SecurityGroupIngress
    Condition: Prod
    Properties: {GroupId: !Ref G, IpProtocol: tcp, FromPort: 3389, ToPort: 3389, CidrIp: 0.0.0.0/0}
  OnlyOutsideProd:
    Type: AWS::EC2::SecurityGroupIngress
    Condition: NotProd
    Properties: {GroupId: !Ref G, IpProtocol: tcp, FromPort: 8080, ToPort: 8080, CidrIp: 0.0.0.0/0}
"#;

#[test]
fn conditions_open_unless_parameters_settle_them() {
    let t = template(CONDITIONAL, &[]);
    let first = t.groups(&BTreeMap::new()).unwrap();
    // Prod depends on a Default only: open. NotProd follows Prod; Literal is settled.
    assert_eq!(first.open_conditions, ["Prod"]);
    let ports = |d: &Defined| -> Vec<Option<i64>> {
        d.groups[0]
            .ingress
            .iter()
            .map(|r| *r.from_port.known().unwrap())
            .collect()
    };
    let prod = t.groups(&BTreeMap::from([("Prod".into(), true)])).unwrap();
    assert_eq!(ports(&prod), [Some(22), Some(443), Some(3389)]);
    assert!(prod.open_conditions.is_empty());
    assert!(prod.groups[0].conditions.contains(&("Prod".into(), true)));
    let dev = t.groups(&BTreeMap::from([("Prod".into(), false)])).unwrap();
    assert_eq!(ports(&dev), [Some(443), Some(8080)]);
    // --parameters settles it.
    let settled = template(CONDITIONAL, &[("Env", "prod")]);
    let d = settled.groups(&BTreeMap::new()).unwrap();
    assert!(d.open_conditions.is_empty());
    assert_eq!(ports(&d), [Some(22), Some(443), Some(3389)]);
}

#[test]
fn json_and_yaml_give_the_same_groups_and_lines_are_found() {
    let yaml = "Resources:\n  Web:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: w\n      VpcId: !ImportValue vpc\n      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIpv6: '::/0'}]\n      Tags: [{Key: tier, Value: web}]\n";
    let json = r#"{
  "Resources": {
    "Web": {
      "Type": "AWS::EC2::SecurityGroup",
      "Properties": {
        "GroupDescription": "w",
        "VpcId": {"Fn::ImportValue": "vpc"},
        "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIpv6": "::/0"}],
        "Tags": [{"Key": "tier", "Value": "web"}]
      }
    }
  }
}"#;
    let (y, j) = (groups(yaml, &[]), groups(json, &[]));
    assert_eq!(y.groups[0].ingress, j.groups[0].ingress);
    assert_eq!(y.groups[0].tags, vec![(known("tier"), known("web"))]);
    assert_eq!(y.groups[0].tags, j.groups[0].tags);
    assert_eq!((y.groups[0].line, j.groups[0].line), (Some(2), Some(3)));
    // An unknown VPC is no VPC.
    assert_eq!(y.groups[0].vpc_id, None);
}

#[rstest]
#[case::no_protocol(
    "[{FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}]",
    "t.yaml: Resources.G.Properties.SecurityGroupIngress[0].IpProtocol: missing"
)]
#[case::no_peer("[{IpProtocol: tcp, FromPort: 22, ToPort: 22}]", "t.yaml: Resources.G.Properties.SecurityGroupIngress[0]: names no peer: expected one of CidrIp, CidrIpv6, SourcePrefixListId, SourceSecurityGroupId, SourceSecurityGroupName")]
#[case::two_peers(
    "[{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0, CidrIpv6: '::/0'}]",
    "names several peers (CidrIp, CidrIpv6)"
)]
#[case::port_not_a_number(
    "[{IpProtocol: tcp, FromPort: ssh, ToPort: 22, CidrIp: 0.0.0.0/0}]",
    "t.yaml: Resources.G.Properties.SecurityGroupIngress[0].FromPort: `ssh` is not a port number"
)]
#[case::not_a_list(
    "hello22",
    "t.yaml: Resources.G.Properties.SecurityGroupIngress: expected a list of rules"
)]
fn bad_rules_name_their_field(#[case] ingress: &str, #[case] needle: &str) {
    let text = format!("Resources:\n  G:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: g\n      SecurityGroupIngress: {ingress}\n  Fine:\n    Type: AWS::EC2::SecurityGroup\n    Properties: {{GroupDescription: f}}\n");
    let d = template(&text, &[]).groups(&BTreeMap::new()).unwrap();
    // The bad group gets the error; the other is still judged.
    let ids: Vec<&str> = d.groups.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, ["Fine"]);
    let [(Some(group), e)] = d.errors.as_slice() else {
        panic!("{:?}", d.errors)
    };
    assert_eq!(group, "G");
    assert!(e.to_string().contains(needle), "{e}");
}

#[test]
fn a_bad_standalone_rule_costs_its_group_and_rules_on_other_groups_are_noted() {
    let text = "Resources:\n  G:\n    Type: AWS::EC2::SecurityGroup\n    Properties: {GroupDescription: g}\n  Other:\n    Type: AWS::EC2::SecurityGroup\n    Properties: {GroupDescription: o}\n  Bad:\n    Type: AWS::EC2::SecurityGroupIngress\n    Properties: {GroupId: !Ref G, IpProtocol: tcp, FromPort: 22, ToPort: 22}\n  Theirs:\n    Type: AWS::EC2::SecurityGroupIngress\n    Properties: {GroupId: sg-12341234, IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}\n";
    let d = groups(text, &[]);
    let ids: Vec<&str> = d.groups.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, ["Other"]);
    assert_eq!(d.errors[0].0.as_deref(), Some("G"));
    assert_eq!(
        d.notes,
        ["t.yaml: Resources.Theirs.Properties adds a rule to sg-12341234, which this file does not define: no verdict (audit sg-12341234 itself, e.g. `sg-compliance audit --live`)"]
    );
}

#[rstest]
#[case::not_yaml("Resources: [unclosed", "t.yaml: neither JSON nor YAML (YAML: ")]
#[case::not_json("{\"Resources\": ", "t.yaml: neither JSON nor YAML (JSON: ")]
#[case::neither(
    "{\"SecurityGroups\": []}",
    "not a CloudFormation template nor a Terraform plan (an object with SecurityGroups)"
)]
#[case::a_list("[1, 2]", "(a JSON list)")]
#[case::for_each("Transform: AWS::LanguageExtensions\nResources:\n  Fn::ForEach::Groups: [G, [a, b], {'SG${G}': {Type: AWS::EC2::SecurityGroup}}]\n", "t.yaml: Resources.Fn::ForEach::Groups: Fn::ForEach (the AWS::LanguageExtensions transform) is not expanded here")]
#[case::empty(
    "  \n",
    "t.yaml: not a CloudFormation template nor a Terraform plan (an empty file)"
)]
#[case::resources_not_an_object("Resources: 3", "t.yaml: Resources: expected an object")]
#[case::old_plan(
    "{\"format_version\": \"2.0\", \"resource_changes\": []}",
    "format_version 2.0 is not supported"
)]
fn files_that_are_neither_are_refused_with_what_they_hold(
    #[case] text: &str,
    #[case] needle: &str,
) {
    let err = parse("t.yaml", text, &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains(needle), "{err}");
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_document() {
    let d = groups("\u{feff}{\"Resources\": {\"G\": {\"Type\": \"AWS::EC2::SecurityGroup\", \"Properties\": {}}}}", &[]);
    assert_eq!(d.groups[0].id, "G");
}

#[test]
fn yaml_merge_keys_are_expanded() {
    let d = groups("Resources:\n  G:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: g\n      SecurityGroupIngress:\n        - &ssh {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 10.0.0.0/8}\n        - <<: *ssh\n          CidrIp: 0.0.0.0/0\n", &[]);
    let peers: Vec<&Peer> = d.groups[0].ingress.iter().map(|r| &r.peer).collect();
    assert_eq!(
        peers,
        [
            &Peer::Ipv4(known("10.0.0.0/8")),
            &Peer::Ipv4(known("0.0.0.0/0"))
        ]
    );
    assert_eq!(d.groups[0].ingress[1].from_port, Val::Known(Some(22)));
}

#[test]
fn a_single_rule_where_a_list_belongs_is_judged_as_one_and_said() {
    let d = groups("Resources:\n  G:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: g\n      SecurityGroupIngress: {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}\n", &[]);
    assert_eq!(d.groups[0].ingress.len(), 1);
    assert_eq!(
        d.groups[0].ingress[0].at,
        "Resources.G.Properties.SecurityGroupIngress[0]"
    );
    assert_eq!(
        d.notes,
        ["t.yaml: Resources.G.Properties.SecurityGroupIngress is a single rule where CloudFormation's schema has a list (cfn-lint E3012): judged as a one-item list"]
    );
}
