//! The generated inputs of `make bench`, shared by its table (src/main.rs) and its criterion
//! benchmarks (benches/per_group.rs).

use std::collections::BTreeMap;

use serde_json::json;
use sg_compliance::checks::Check;
use sg_compliance::model::{from_config_item, SecurityGroup};

/// Ingress (and egress) permissions of a generated group.
pub const PERMS: usize = 20;

/// A generated group of [`PERMS`] ingress and egress permissions, tagged `tier=web`.
pub fn group(i: usize) -> SecurityGroup {
    let perms: Vec<_> = (0..PERMS)
        .map(|j| {
            let port = 1000 + (i * 7 + j * 13) % 5000;
            json!({"ipProtocol": if j % 5 == 0 { "udp" } else { "tcp" }, "fromPort": port, "toPort": port + j,
                   "ipRanges": [format!("{}.{}.0.0/{}", j % 2 * 128, i % 256, 1 + j % 24)],
                   "ipv6Ranges": [{"cidrIpv6": format!("{:x}::/{}", 0x2000 + j, 16 + j)}],
                   "userIdGroupPairs": [{"groupId": format!("sg-{:017x}", j)}]})
        })
        .collect();
    let conf = json!({"groupId": format!("sg-{i:017x}"), "ipPermissions": perms, "ipPermissionsEgress": perms,
                      "tags": [{"key": "tier", "value": "web"}]});
    from_config_item(&conf, &BTreeMap::new()).expect("bench group")
}

/// The engine's checks as the bench runs them, with a label each.
pub fn checks() -> Vec<(&'static str, Check)> {
    let p = |pairs: &[(&str, &str)]| Check::from_pairs(pairs).expect("bench parameters");
    vec![
        (
            "web-tier",
            p(&[
                ("tierTagKey", "tier"),
                ("forbidPublicIngress", "true"),
                ("loadBalancerSecurityGroupIds", "sg-00000000000000001"),
            ]),
        ),
        (
            "public-ingress, allow-list",
            p(&[("check", "public-ingress")]),
        ),
        (
            "public-ingress, blocked 22,3389",
            p(&[("check", "public-ingress"), ("blockedTcpPorts", "22,3389")]),
        ),
        (
            "public-egress",
            p(&[
                ("check", "public-egress"),
                ("authorizedEgressTcpPorts", "443"),
            ]),
        ),
        (
            "broad-private-ingress",
            p(&[("check", "broad-private-ingress")]),
        ),
    ]
}

/// `describe-security-groups` output of `n` groups as AWS writes it (every list present, even
/// empty; user ids on group pairs; descriptions on some sources; the group ARN): web groups behind
/// one load balancer, public SSH (some as split halves), ranges, IPv6 and `-1` rules, 3.5 ingress
/// permissions a group on average.
pub fn snapshot(n: usize) -> serde_json::Value {
    let lb = "sg-0000000000000000f";
    let owner = "111122223333";
    let perm = |protocol: &str,
                ports: Option<(u16, u16)>,
                pairs: Vec<serde_json::Value>,
                v4: Vec<serde_json::Value>,
                v6: Vec<serde_json::Value>| {
        let mut p = json!({"IpProtocol": protocol, "UserIdGroupPairs": pairs, "IpRanges": v4, "Ipv6Ranges": v6, "PrefixListIds": []});
        if let Some((from, to)) = ports {
            p["FromPort"] = json!(from);
            p["ToPort"] = json!(to);
        }
        p
    };
    let cidr = |c: &str, d: Option<&str>| match d {
        Some(d) => json!({"CidrIp": c, "Description": d}),
        None => json!({"CidrIp": c}),
    };
    let groups: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let source = if i % 3 == 0 { lb } else { "sg-0000000000000000e" };
            let mut perms = vec![perm(
                "tcp",
                Some((443, 443)),
                vec![json!({"GroupId": source, "UserId": owner, "Description": "from the load balancer"})],
                vec![],
                vec![],
            )];
            perms.push(match i % 5 {
                0 => perm("tcp", Some((22, 22)), vec![], vec![cidr("0.0.0.0/1", Some("ops")), cidr("128.0.0.0/1", Some("ops"))], vec![]),
                1 => perm("tcp", Some((0, 1024)), vec![], vec![cidr("0.0.0.0/0", None)], vec![]),
                2 => perm("-1", None, vec![], vec![], vec![json!({"CidrIpv6": "::/0"})]),
                3 => perm("tcp", Some((22, 22)), vec![], vec![cidr("10.0.0.0/8", Some("office VPN"))], vec![]),
                _ => perm("udp", Some((53, 53)), vec![], vec![cidr("0.0.0.0/0", None)], vec![]),
            });
            perms.push(perm("tcp", Some((8080, 8090)), vec![], vec![cidr(&format!("10.{}.0.0/16", i % 256), Some("app subnets"))], vec![]));
            if i % 2 == 1 {
                perms.push(perm("icmp", Some((8, 0)), vec![], vec![cidr("192.168.0.0/16", None)], vec![]));
            }
            json!({"GroupId": format!("sg-{i:017x}"), "GroupName": format!("group-{i}"), "OwnerId": owner,
                   "VpcId": "vpc-0123456789abcdef0", "Description": format!("bench group {i}"),
                   "SecurityGroupArn": format!("arn:aws:ec2:eu-west-1:{owner}:security-group/sg-{i:017x}"),
                   "Tags": [{"Key": "tier", "Value": if i % 2 == 0 { "web" } else { "app" }}, {"Key": "Name", "Value": format!("group-{i}")}],
                   "IpPermissions": perms,
                   "IpPermissionsEgress": [perm("-1", None, vec![], vec![cidr("0.0.0.0/0", None)], vec![])]})
        })
        .collect();
    json!({ "SecurityGroups": groups })
}
