//! `broad-private-ingress` (lateral movement): inbound sources that cover a private range (RFC 1918,
//! RFC 6598 shared space, fc00::/7) broader than the minimum prefix length. The sources are unioned
//! per protocol and port first, so splitting 10.0.0.0/8 into halves does not hide it.

use ipnet::IpNet;

use super::{join_with_unresolved, Compliance, Facts, Verdict};
use crate::exposure::{group_findings, segments, unresolved, Family, Finding, Segment};
use crate::model::{Protocol, SecurityGroup};
use crate::params::BroadPrivateIngress;

const PRIVATE_V4: [&str; 4] = [
    "10.0.0.0/8",
    "100.64.0.0/10",
    "172.16.0.0/12",
    "192.168.0.0/16",
];
const PRIVATE_V6: [&str; 1] = ["fc00::/7"];

/// The parts of `union` inside private space, aggregated.
fn private_parts(union: &[IpNet], private: &[&str]) -> Vec<IpNet> {
    let blocks: Vec<IpNet> = private.iter().filter_map(|b| b.parse().ok()).collect();
    let mut parts = Vec::new();
    for n in union {
        for b in &blocks {
            if b.contains(n) {
                parts.push(*n);
            } else if n.contains(b) {
                parts.push(*b);
            }
        }
    }
    IpNet::aggregate(&parts)
}

fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(b) || b.contains(a)
}

/// The segment's sources (CIDRs and resolved prefix lists) that overlap `block`.
fn contributing(seg: &Segment, family: Family, block: &IpNet, facts: &Facts) -> Vec<String> {
    seg.sources(family)
        .iter()
        .filter(|s| match s.parse::<IpNet>() {
            Ok(n) => overlaps(&n, block),
            Err(_) => facts
                .prefix_lists
                .get(*s)
                .is_some_and(|es| es.iter().any(|e| overlaps(e, block))),
        })
        .cloned()
        .collect()
}

pub(super) fn evaluate(p: &BroadPrivateIngress, sg: &SecurityGroup, facts: &Facts) -> Verdict {
    let segs = segments(&sg.ingress, &facts.prefix_lists);
    let mut findings = Vec::new();
    for family in [Family::V4, Family::V6] {
        let (min, private): (u8, &[&str]) = match family {
            Family::V4 => (p.min_prefix_v4, &PRIVATE_V4),
            Family::V6 => (p.min_prefix_v6, &PRIVATE_V6),
        };
        let broad = |seg: &Segment| -> Vec<IpNet> {
            let union: Vec<IpNet> = match family {
                Family::V4 => seg.v4.union.iter().copied().map(IpNet::from).collect(),
                Family::V6 => seg.v6.union.iter().copied().map(IpNet::from).collect(),
            };
            private_parts(&union, private)
                .into_iter()
                .filter(|n| n.prefix_len() < min)
                .collect()
        };
        let all_flagged = segs
            .iter()
            .any(|s| s.protocol == Protocol::All && !broad(s).is_empty());
        for seg in &segs {
            if all_flagged && seg.protocol != Protocol::All {
                continue;
            }
            for block in broad(seg) {
                let from = contributing(seg, family, &block, facts);
                let from = if from.len() == 1 && from[0] == block.to_string() {
                    String::new()
                } else {
                    format!(" from {}", from.join(" + "))
                };
                findings.push(Finding {
                    protocol: seg.protocol,
                    ports: vec![seg.ports],
                    detail: format!("open to private {block}{from} (broader than /{min})"),
                });
            }
        }
    }
    let findings = group_findings(findings);
    let unresolved = unresolved(&segs);
    if findings.is_empty() {
        return Verdict::new(
            Compliance::Compliant,
            join_with_unresolved(
                vec![format!(
                    "no inbound private range broader than /{} (IPv4) or /{} (IPv6)",
                    p.min_prefix_v4, p.min_prefix_v6
                )],
                &unresolved,
            ),
        );
    }
    let parts: Vec<String> = findings.iter().map(ToString::to_string).collect();
    Verdict::new(
        Compliance::NonCompliant,
        join_with_unresolved(
            vec![format!(
                "broad private ingress allows lateral movement, reference security groups instead: {}",
                parts.join("; ")
            )],
            &unresolved,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_verdict, group, params, Case};
    use super::super::{Compliance, Facts};
    use serde_json::{json, Value};

    fn tcp(port: i64, v4: &[&str]) -> Value {
        json!({"ipProtocol": "tcp", "fromPort": port, "toPort": port, "ipRanges": v4})
    }

    #[test]
    fn table() {
        let default = vec![("check", "broad-private-ingress")];
        let strict = vec![
            ("check", "broad-private-ingress"),
            ("minPrefixLengthIpv4", "24"),
            ("minPrefixLengthIpv6", "64"),
        ];
        let cases: Vec<Case> = vec![
            (
                "none",
                &default,
                json!([]),
                Compliance::Compliant,
                "no inbound private range broader than /16 (IPv4) or /48 (IPv6)",
            ),
            (
                "10/8",
                &default,
                json!([tcp(22, &["10.0.0.0/8"])]),
                Compliance::NonCompliant,
                "tcp/22 open to private 10.0.0.0/8 (broader than /16)",
            ),
            (
                "/16 is not broader",
                &default,
                json!([tcp(22, &["10.1.0.0/16"])]),
                Compliance::Compliant,
                "no inbound",
            ),
            (
                "/15 is",
                &default,
                json!([tcp(22, &["10.0.0.0/15"])]),
                Compliance::NonCompliant,
                "10.0.0.0/15",
            ),
            (
                "halves union",
                &default,
                json!([tcp(22, &["10.0.0.0/9"]), tcp(22, &["10.128.0.0/9"])]),
                Compliance::NonCompliant,
                "10.0.0.0/8 from 10.0.0.0/9 + 10.128.0.0/9",
            ),
            (
                "halves on different ports",
                &default,
                json!([tcp(22, &["10.0.0.0/17"]), tcp(23, &["10.0.128.0/17"])]),
                Compliance::Compliant,
                "no inbound",
            ),
            (
                "shared space",
                &default,
                json!([tcp(443, &["100.64.0.0/10"])]),
                Compliance::NonCompliant,
                "100.64.0.0/10",
            ),
            (
                "172.16/12",
                &default,
                json!([{"ipProtocol": "-1", "ipRanges": ["172.16.0.0/12"]}]),
                Compliance::NonCompliant,
                "all traffic open to private 172.16.0.0/12",
            ),
            (
                "public is not private",
                &default,
                json!([tcp(22, &["8.8.0.0/8"])]),
                Compliance::Compliant,
                "no inbound",
            ),
            (
                "0/0 covers private space",
                &default,
                json!([tcp(22, &["0.0.0.0/0"])]),
                Compliance::NonCompliant,
                "10.0.0.0/8 from 0.0.0.0/0",
            ),
            (
                "strict /24",
                &strict,
                json!([tcp(22, &["192.168.0.0/23"])]),
                Compliance::NonCompliant,
                "broader than /24",
            ),
            (
                "ula v6",
                &default,
                json!([{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "ipv6Ranges": [{"cidrIpv6": "fd00::/8"}]}]),
                Compliance::NonCompliant,
                "tcp/5432 open to private fd00::/8 (broader than /48)",
            ),
            (
                "v6 /56 ok by default",
                &default,
                json!([{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "ipv6Ranges": [{"cidrIpv6": "fd00::/56"}]}]),
                Compliance::Compliant,
                "no inbound",
            ),
            (
                "v6 /56 strict",
                &strict,
                json!([{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "ipv6Ranges": [{"cidrIpv6": "fd00::/56"}]}]),
                Compliance::NonCompliant,
                "broader than /64",
            ),
            (
                "group references are fine",
                &default,
                json!([{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "userIdGroupPairs": [{"groupId": "sg-0123abcd"}]}]),
                Compliance::Compliant,
                "no inbound",
            ),
        ];
        for (name, p, ingress, want, needle) in cases {
            assert_verdict(
                name,
                &params(p),
                &group(&[], ingress, json!([])),
                &Facts::default(),
                want,
                needle,
            );
        }
    }
}
