//! `public-ingress` and `public-egress`: which ports the whole internet (0.0.0.0/0, ::/0, as the
//! union of sources) can reach, against an allow-list or a deny-list of ports.

use super::{join_with_unresolved, Compliance, Facts, Verdict};
use crate::exposure::{
    describe_union, group_findings, internet, segments, unresolved, Family, Finding, Segment,
};
use crate::model::{Protocol, SecurityGroup};
use crate::params::{PublicEgress, PublicIngress};
use crate::ports::{PortRange, PortSet};

/// Which internet-reachable ports count as findings.
#[derive(Clone, Copy)]
pub(super) enum PortPolicy<'a> {
    /// Any tcp/udp port outside these, and all traffic (`-1`).
    Allow { tcp: &'a PortSet, udp: &'a PortSet },
    /// Only these tcp/udp ports.
    Deny { tcp: &'a PortSet, udp: &'a PortSet },
    /// Anything at all, of any protocol.
    Any,
}

/// Findings of the form `tcp/22 <verb> 0.0.0.0/1 + 128.0.0.0/1 (= 0.0.0.0/0)`.
pub(super) fn internet_findings(
    segs: &[Segment],
    policy: PortPolicy<'_>,
    verb: &str,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for family in [Family::V4, Family::V6] {
        let all_public = segs
            .iter()
            .any(|s| s.protocol == Protocol::All && s.is_public(family));
        for seg in segs.iter().filter(|s| s.is_public(family)) {
            let ports: Vec<PortRange> = match (seg.protocol, policy) {
                (Protocol::All, PortPolicy::Deny { .. }) => continue,
                (Protocol::All, _) => vec![PortRange::ALL],
                // Everything is already reported as "all traffic".
                (_, PortPolicy::Allow { .. } | PortPolicy::Any) if all_public => continue,
                (Protocol::Tcp, PortPolicy::Allow { tcp, .. }) => tcp.subtract_from(&seg.ports),
                (Protocol::Udp, PortPolicy::Allow { udp, .. }) => udp.subtract_from(&seg.ports),
                (Protocol::Tcp, PortPolicy::Deny { tcp, .. }) => tcp.intersect(&seg.ports),
                (Protocol::Udp, PortPolicy::Deny { udp, .. }) => udp.intersect(&seg.ports),
                (_, PortPolicy::Any) => vec![seg.ports],
                // Other protocols (icmp, esp, ...) are outside the port lists' reach.
                _ => continue,
            };
            if !ports.is_empty() {
                out.push(Finding {
                    protocol: seg.protocol,
                    ports,
                    detail: format!(
                        "{verb} {}",
                        describe_union(seg.sources(family), internet(family))
                    ),
                });
            }
        }
    }
    group_findings(out)
}

fn verdict(findings: Vec<Finding>, segs: &[Segment], headline: &str, compliant: String) -> Verdict {
    let unresolved = unresolved(segs);
    if findings.is_empty() {
        Verdict::new(
            Compliance::Compliant,
            join_with_unresolved(vec![compliant], &unresolved),
        )
    } else {
        let parts: Vec<String> = findings.iter().map(ToString::to_string).collect();
        Verdict::new(
            Compliance::NonCompliant,
            join_with_unresolved(
                vec![format!("{headline}: {}", parts.join("; "))],
                &unresolved,
            ),
        )
    }
}

fn describe_ports(tcp: &PortSet, udp: &PortSet) -> String {
    let show = |s: &PortSet| {
        if s.is_empty() {
            "none".to_string()
        } else {
            s.to_string()
        }
    };
    format!("tcp {}, udp {}", show(tcp), show(udp))
}

pub(super) fn ingress(p: &PublicIngress, sg: &SecurityGroup, facts: &Facts) -> Verdict {
    let segs = segments(&sg.ingress, &facts.prefix_lists);
    let (policy, headline, compliant) = match p {
        PublicIngress::AllowList { tcp, udp } => (
            PortPolicy::Allow { tcp, udp },
            "open to the internet on unauthorized ports".to_string(),
            format!(
                "no ingress from the internet outside authorized ports ({})",
                describe_ports(tcp, udp)
            ),
        ),
        PublicIngress::DenyList { tcp, udp } => (
            PortPolicy::Deny { tcp, udp },
            "blocked ports open to the internet".to_string(),
            format!(
                "blocked ports ({}) are not reachable from the internet",
                describe_ports(tcp, udp)
            ),
        ),
    };
    verdict(
        internet_findings(&segs, policy, "open to"),
        &segs,
        &headline,
        compliant,
    )
}

pub(super) fn egress(p: &PublicEgress, sg: &SecurityGroup, facts: &Facts) -> Verdict {
    let segs = segments(&sg.egress, &facts.prefix_lists);
    let policy = PortPolicy::Allow {
        tcp: &p.tcp,
        udp: &p.udp,
    };
    verdict(
        internet_findings(&segs, policy, "to"),
        &segs,
        "egress to the internet on unauthorized ports",
        format!(
            "no egress to the internet outside authorized ports ({})",
            describe_ports(&p.tcp, &p.udp)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_verdict, group, params, Case};
    use super::super::{evaluate, Compliance, Facts};
    use serde_json::{json, Value};

    fn tcp(from: i64, to: i64, v4: &[&str]) -> Value {
        json!({"ipProtocol": "tcp", "fromPort": from, "toPort": to, "ipRanges": v4})
    }

    #[test]
    fn public_ingress_table() {
        let allow = vec![("check", "public-ingress")];
        let ssh_rdp = vec![("check", "public-ingress"), ("blockedTcpPorts", "22,3389")];
        let cases: Vec<Case> = vec![
            (
                "no ingress",
                &allow,
                json!([]),
                Compliance::Compliant,
                "outside authorized ports (tcp 80,443, udp none)",
            ),
            (
                "443 public is authorized",
                &allow,
                json!([tcp(443, 443, &["0.0.0.0/0"])]),
                Compliance::Compliant,
                "no ingress",
            ),
            (
                "22 public",
                &allow,
                json!([tcp(22, 22, &["0.0.0.0/0"])]),
                Compliance::NonCompliant,
                "tcp/22 open to 0.0.0.0/0",
            ),
            (
                "22 from halves",
                &allow,
                json!([tcp(22, 22, &["0.0.0.0/1"]), tcp(22, 22, &["128.0.0.0/1"])]),
                Compliance::NonCompliant,
                "tcp/22 open to 0.0.0.0/1 + 128.0.0.0/1 (= 0.0.0.0/0)",
            ),
            (
                "22 from a private range",
                &allow,
                json!([tcp(22, 22, &["10.0.0.0/8"])]),
                Compliance::Compliant,
                "no ingress",
            ),
            (
                "range around 443",
                &allow,
                json!([tcp(440, 450, &["0.0.0.0/0"])]),
                Compliance::NonCompliant,
                "tcp/440-442,444-450 open to",
            ),
            (
                "range 80-443",
                &allow,
                json!([tcp(80, 443, &["0.0.0.0/0"])]),
                Compliance::NonCompliant,
                "tcp/81-442 open",
            ),
            (
                "all traffic",
                &allow,
                json!([{"ipProtocol": "-1", "ipRanges": ["0.0.0.0/0"]}]),
                Compliance::NonCompliant,
                "all traffic open to 0.0.0.0/0",
            ),
            (
                "ipv6 all ports",
                &allow,
                json!([{"ipProtocol": "6", "ipv6Ranges": [{"cidrIpv6": "::/0"}]}]),
                Compliance::NonCompliant,
                "tcp/0-79,81-442,444-65535 open to ::/0",
            ),
            (
                "ipv6 halves",
                &allow,
                json!([{"ipProtocol": "tcp", "fromPort": 8080, "toPort": 8080, "ipv6Ranges": [{"cidrIpv6": "::/1"}, {"cidrIpv6": "8000::/1"}]}]),
                Compliance::NonCompliant,
                "tcp/8080 open to ::/1 + 8000::/1 (= ::/0)",
            ),
            (
                "udp not authorized",
                &allow,
                json!([{"ipProtocol": "udp", "fromPort": 53, "toPort": 53, "ipRanges": ["0.0.0.0/0"]}]),
                Compliance::NonCompliant,
                "udp/53 open",
            ),
            (
                "icmp is not a port",
                &allow,
                json!([{"ipProtocol": "icmp", "fromPort": 8, "toPort": -1, "ipRanges": ["0.0.0.0/0"]}]),
                Compliance::Compliant,
                "no ingress",
            ),
            (
                "ssh from anywhere",
                &ssh_rdp,
                json!([tcp(22, 22, &["0.0.0.0/0"])]),
                Compliance::NonCompliant,
                "blocked ports open to the internet: tcp/22 open to 0.0.0.0/0",
            ),
            (
                "rdp inside a range",
                &ssh_rdp,
                json!([tcp(3000, 4000, &["0.0.0.0/0"])]),
                Compliance::NonCompliant,
                "tcp/3389 open",
            ),
            (
                "range ending at 21",
                &ssh_rdp,
                json!([tcp(0, 21, &["0.0.0.0/0"])]),
                Compliance::Compliant,
                "not reachable",
            ),
            (
                "range starting at 23",
                &ssh_rdp,
                json!([tcp(23, 3388, &["0.0.0.0/0"])]),
                Compliance::Compliant,
                "not reachable",
            ),
            (
                "-1 reaches ssh",
                &ssh_rdp,
                json!([{"ipProtocol": "-1", "ipRanges": ["0.0.0.0/0"]}]),
                Compliance::NonCompliant,
                "tcp/22,3389 open to 0.0.0.0/0",
            ),
            (
                "-1 half + tcp half",
                &ssh_rdp,
                json!([{"ipProtocol": "-1", "ipRanges": ["0.0.0.0/1"]}, tcp(22, 22, &["128.0.0.0/1"])]),
                Compliance::NonCompliant,
                "tcp/22 open to 0.0.0.0/1 + 128.0.0.0/1",
            ),
            (
                "443 public allowed by deny-list",
                &ssh_rdp,
                json!([tcp(443, 443, &["0.0.0.0/0"])]),
                Compliance::Compliant,
                "tcp 22,3389, udp none",
            ),
            (
                "unresolved prefix list",
                &ssh_rdp,
                json!([{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "prefixListIds": [{"prefixListId": "pl-0123"}]}]),
                Compliance::Compliant,
                "prefix lists pl-0123 not resolved",
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

    #[test]
    fn resolved_prefix_list_counts() {
        let sg = group(
            &[],
            json!([{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["0.0.0.0/1"], "prefixListIds": [{"prefixListId": "pl-0123"}]}]),
            json!([]),
        );
        let mut facts = Facts::default();
        facts.prefix_lists.insert(
            "pl-0123".into(),
            vec![
                "128.0.0.0/1".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ],
        );
        let v = evaluate(
            &params(&[("check", "public-ingress"), ("blockedTcpPorts", "22")]),
            &sg,
            &facts,
        );
        assert_eq!(v.compliance, Compliance::NonCompliant, "{}", v.annotation);
        assert!(
            v.annotation
                .contains("tcp/22 open to 0.0.0.0/1 + pl-0123 (= 0.0.0.0/0)"),
            "{}",
            v.annotation
        );
    }

    #[test]
    fn public_egress_table() {
        let none = vec![("check", "public-egress")];
        let https = vec![
            ("check", "public-egress"),
            ("authorizedEgressTcpPorts", "443"),
            ("authorizedEgressUdpPorts", "53,123"),
        ];
        let cases: Vec<Case> = vec![
            (
                "default egress",
                &none,
                json!([{"ipProtocol": "-1", "ipRanges": ["0.0.0.0/0"]}]),
                Compliance::NonCompliant,
                "egress to the internet on unauthorized ports: all traffic to 0.0.0.0/0",
            ),
            (
                "no egress",
                &none,
                json!([]),
                Compliance::Compliant,
                "no egress",
            ),
            (
                "vpc only",
                &none,
                json!([{"ipProtocol": "-1", "ipRanges": ["10.0.0.0/16"]}]),
                Compliance::Compliant,
                "no egress",
            ),
            (
                "https allowed",
                &https,
                json!([tcp(443, 443, &["0.0.0.0/0"]), {"ipProtocol": "udp", "fromPort": 53, "toPort": 53, "ipRanges": ["0.0.0.0/0"]}]),
                Compliance::Compliant,
                "tcp 443, udp 53,123",
            ),
            (
                "http not allowed",
                &https,
                json!([tcp(80, 80, &["0.0.0.0/0"])]),
                Compliance::NonCompliant,
                "tcp/80 to 0.0.0.0/0",
            ),
            (
                "split v6",
                &https,
                json!([{"ipProtocol": "tcp", "fromPort": 25, "toPort": 25, "ipv6Ranges": [{"cidrIpv6": "::/1"}]}, {"ipProtocol": "-1", "ipv6Ranges": [{"cidrIpv6": "8000::/1"}]}]),
                Compliance::NonCompliant,
                "tcp/25 to ::/1 + 8000::/1 (= ::/0)",
            ),
        ];
        for (name, p, egress, want, needle) in cases {
            assert_verdict(
                name,
                &params(p),
                &group(&[], json!([]), egress),
                &Facts::default(),
                want,
                needle,
            );
        }
    }
}
