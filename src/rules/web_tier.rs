//! Web-Tier Security Group: a group tagged with the web-tier tag must allow inbound TCP on one of
//! `ports` (80 and/or 443) from the security group of the web tier's load balancer.

use std::collections::BTreeSet;

use super::public::{internet_findings, PortPolicy};
use super::{Compliance, Facts, Verdict};
use crate::exposure::segments;
use crate::model::{GroupId, Protocol, SecurityGroup};
use crate::params::WebTier;
use crate::ports::PortSet;

fn is_tier_group(p: &WebTier, sg: &SecurityGroup) -> bool {
    match (sg.tags.get(&p.tag_key), &p.tag_value) {
        (Some(_), None) => true,
        (Some(v), Some(want)) => v == want,
        (None, _) => false,
    }
}

/// Ingress permissions that admit TCP on one of the tier ports, with the matching ports.
fn tier_permissions<'a>(
    p: &'a WebTier,
    sg: &'a SecurityGroup,
) -> impl Iterator<Item = (PortSet, &'a crate::model::Permission)> + 'a {
    sg.ingress
        .iter()
        .filter(|perm| perm.admits(Protocol::Tcp))
        .filter_map(move |perm| {
            let matched = PortSet::from_ranges(p.ports.intersect(&perm.ports));
            (!matched.is_empty()).then_some((matched, perm))
        })
}

/// The groups whose load-balancer status decides these groups' verdicts (for one batched look-up).
pub fn candidate_load_balancer_groups<'a>(
    p: &WebTier,
    groups: impl IntoIterator<Item = &'a SecurityGroup>,
) -> BTreeSet<GroupId> {
    groups
        .into_iter()
        .filter(|sg| is_tier_group(p, sg))
        .flat_map(|sg| {
            tier_permissions(p, sg)
                .flat_map(|(_, perm)| perm.groups.iter().map(|g| g.group_id.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `sg-a, sg-b` in sorted order.
fn join(ids: BTreeSet<&str>) -> String {
    ids.into_iter().collect::<Vec<_>>().join(", ")
}

pub(super) fn evaluate(p: &WebTier, sg: &SecurityGroup, facts: &Facts) -> Verdict {
    let tag = match &p.tag_value {
        Some(v) => format!("{}:{v}", p.tag_key),
        None => p.tag_key.clone(),
    };
    if !is_tier_group(p, sg) {
        return Verdict::new(
            Compliance::NotApplicable,
            format!("not tagged {tag}: not a web-tier security group"),
        );
    }
    let (lb_groups, not_lb) = match &p.load_balancer_groups {
        Some(listed) => (listed, "not in loadBalancerSecurityGroupIds"),
        None => (
            &facts.load_balancer_groups,
            "not attached to a load balancer",
        ),
    };
    let mut from_lb: Vec<(PortSet, &GroupId)> = Vec::new();
    let mut from_other: Vec<(PortSet, &GroupId)> = Vec::new();
    for (ports, perm) in tier_permissions(p, sg) {
        for g in &perm.groups {
            if lb_groups.contains(&g.group_id) {
                from_lb.push((ports.clone(), &g.group_id));
            } else {
                from_other.push((ports.clone(), &g.group_id));
            }
        }
    }
    let public: Vec<String> = if p.forbid_public_ingress {
        let segs = segments(&sg.ingress, &facts.prefix_lists);
        internet_findings(&segs, PortPolicy::Any, "from")
            .iter()
            .map(ToString::to_string)
            .collect()
    } else {
        Vec::new()
    };

    let mut problems = Vec::new();
    if from_lb.is_empty() {
        if !from_other.is_empty() {
            let ports =
                PortSet::from_ranges(from_other.iter().flat_map(|(p, _)| p.ranges().to_vec()));
            let ids: BTreeSet<&str> = from_other.iter().map(|(_, g)| g.as_str()).collect();
            let verb = if ids.len() == 1 {
                "which is"
            } else {
                "which are"
            };
            problems.push(format!(
                "tcp/{ports} only from {} {verb} {not_lb}",
                join(ids)
            ));
        } else {
            let elsewhere: BTreeSet<&str> = sg
                .ingress
                .iter()
                .flat_map(|perm| &perm.groups)
                .filter(|g| lb_groups.contains(&g.group_id))
                .map(|g| g.group_id.as_str())
                .collect();
            if elsewhere.is_empty() {
                problems.push(format!(
                    "no inbound tcp/{} from a load balancer security group",
                    p.ports
                ));
            } else {
                problems.push(format!(
                    "load balancer group {} is allowed, but not on tcp/{}",
                    join(elsewhere),
                    p.ports
                ));
            }
        }
    }
    if !public.is_empty() {
        problems.push(format!(
            "open to the internet ({}): web-tier instances must be reached only through the load balancer",
            public.join(", ")
        ));
    }
    if problems.is_empty() {
        let ports = PortSet::from_ranges(from_lb.iter().flat_map(|(p, _)| p.ranges().to_vec()));
        let ids: BTreeSet<&str> = from_lb.iter().map(|(_, g)| g.as_str()).collect();
        Verdict::new(
            Compliance::Compliant,
            format!(
                "web-tier group allows tcp/{ports} from load balancer group {}",
                join(ids)
            ),
        )
    } else {
        Verdict::new(
            Compliance::NonCompliant,
            format!("web-tier group ({tag}): {}", problems.join("; ")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_verdict, group, params};
    use super::super::{Compliance, Facts};
    use crate::model::GroupId;
    use serde_json::json;

    /// Name, rule parameters, tags, ingress, expected verdict, text the annotation contains.
    type Case<'a> = (
        &'a str,
        Vec<(&'a str, &'a str)>,
        Vec<(&'a str, &'a str)>,
        serde_json::Value,
        Compliance,
        &'a str,
    );

    const LB: &str = "sg-0bbbbbbbbbbbbbbb2";
    const OTHER: &str = "sg-0ccccccccccccccc3";

    fn facts() -> Facts {
        Facts {
            load_balancer_groups: [GroupId::parse(LB).unwrap()].into(),
            ..Default::default()
        }
    }

    fn from_group(proto: &str, from: Option<i64>, to: Option<i64>, sg: &str) -> serde_json::Value {
        json!({"ipProtocol": proto, "fromPort": from, "toPort": to, "userIdGroupPairs": [{"groupId": sg, "userId": "111122223333"}]})
    }

    #[test]
    fn table() {
        let tier = [("tier", "web")];
        let cases: Vec<Case> = vec![
            (
                "untagged",
                vec![("tierTagKey", "tier")],
                vec![],
                json!([from_group("tcp", Some(80), Some(80), LB)]),
                Compliance::NotApplicable,
                "not tagged tier",
            ),
            (
                "tag value differs",
                vec![("tierTagKey", "tier"), ("tierTagValue", "web")],
                vec![("tier", "app")],
                json!([]),
                Compliance::NotApplicable,
                "not tagged tier:web",
            ),
            (
                "tag keys are case-sensitive",
                vec![("tierTagKey", "Tier")],
                tier.to_vec(),
                json!([]),
                Compliance::NotApplicable,
                "not tagged Tier",
            ),
            (
                "80 from LB",
                vec![("tierTagKey", "tier")],
                tier.to_vec(),
                json!([from_group("tcp", Some(80), Some(80), LB)]),
                Compliance::Compliant,
                "allows tcp/80 from load balancer group sg-0bbbbbbbbbbbbbbb2",
            ),
            (
                "443 only, key and value",
                vec![("tierTagKey", "tier"), ("tierTagValue", "web")],
                tier.to_vec(),
                json!([from_group("6", Some(443), Some(443), LB)]),
                Compliance::Compliant,
                "tcp/443",
            ),
            (
                "range covering 80",
                vec![("tierTagKey", "tier")],
                tier.to_vec(),
                json!([from_group("tcp", Some(0), Some(1024), LB)]),
                Compliance::Compliant,
                "tcp/80,443",
            ),
            (
                "-1 from LB",
                vec![("tierTagKey", "tier")],
                tier.to_vec(),
                json!([from_group("-1", None, None, LB)]),
                Compliance::Compliant,
                "tcp/80,443",
            ),
            (
                "udp from LB",
                vec![("tierTagKey", "tier")],
                tier.to_vec(),
                json!([from_group("udp", Some(80), Some(80), LB)]),
                Compliance::NonCompliant,
                "is allowed, but not on tcp/80,443",
            ),
            (
                "wrong port",
                vec![("tierTagKey", "tier")],
                tier.to_vec(),
                json!([from_group("tcp", Some(8080), Some(8080), LB)]),
                Compliance::NonCompliant,
                "load balancer group sg-0bbbbbbbbbbbbbbb2 is allowed, but not on tcp/80,443",
            ),
            (
                "boundary 81-442",
                vec![("tierTagKey", "tier")],
                tier.to_vec(),
                json!([from_group("tcp", Some(81), Some(442), LB)]),
                Compliance::NonCompliant,
                "not on tcp/80,443",
            ),
            (
                "from non-LB group",
                vec![("tierTagKey", "tier")],
                tier.to_vec(),
                json!([from_group("tcp", Some(80), Some(80), OTHER)]),
                Compliance::NonCompliant,
                "tcp/80 only from sg-0ccccccccccccccc3 which is not attached to a load balancer",
            ),
            (
                "listed LB groups override discovery",
                vec![
                    ("tierTagKey", "tier"),
                    ("loadBalancerSecurityGroupIds", OTHER),
                ],
                tier.to_vec(),
                json!([from_group("tcp", Some(80), Some(80), LB)]),
                Compliance::NonCompliant,
                "which is not in loadBalancerSecurityGroupIds",
            ),
            (
                "listed LB group matches",
                vec![
                    ("tierTagKey", "tier"),
                    ("loadBalancerSecurityGroupIds", OTHER),
                ],
                tier.to_vec(),
                json!([from_group("tcp", Some(443), Some(443), OTHER)]),
                Compliance::Compliant,
                "sg-0ccccccccccccccc3",
            ),
            (
                "only CIDR ingress",
                vec![("tierTagKey", "tier")],
                tier.to_vec(),
                json!([{"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "ipRanges": ["0.0.0.0/0"]}]),
                Compliance::NonCompliant,
                "no inbound tcp/80,443",
            ),
            (
                "public allowed by default",
                vec![("tierTagKey", "tier")],
                tier.to_vec(),
                json!([from_group("tcp", Some(80), Some(80), LB), {"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "ipRanges": ["0.0.0.0/0"]}]),
                Compliance::Compliant,
                "tcp/80",
            ),
            (
                "public forbidden",
                vec![("tierTagKey", "tier"), ("forbidPublicIngress", "true")],
                tier.to_vec(),
                json!([from_group("tcp", Some(80), Some(80), LB), {"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "ipv4Ranges": [{"cidrIp": "0.0.0.0/1"}, {"cidrIp": "128.0.0.0/1"}]}]),
                Compliance::NonCompliant,
                "open to the internet (tcp/80 from 0.0.0.0/1 + 128.0.0.0/1 (= 0.0.0.0/0))",
            ),
            (
                "public v6 forbidden",
                vec![("tierTagKey", "tier"), ("forbidPublicIngress", "true")],
                tier.to_vec(),
                json!([from_group("tcp", Some(443), Some(443), LB), {"ipProtocol": "icmpv6", "ipv6Ranges": [{"cidrIpv6": "::/0"}]}]),
                Compliance::NonCompliant,
                "icmpv6 from ::/0",
            ),
            (
                "private CIDR fine with forbidPublicIngress",
                vec![("tierTagKey", "tier"), ("forbidPublicIngress", "true")],
                tier.to_vec(),
                json!([from_group("tcp", Some(443), Some(443), LB), {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["10.0.0.0/8"]}]),
                Compliance::Compliant,
                "tcp/443",
            ),
        ];
        for (name, p, tags, ingress, want, needle) in cases {
            assert_verdict(
                name,
                &params(&p),
                &group(&tags, ingress, json!([])),
                &facts(),
                want,
                needle,
            );
        }
    }

    #[test]
    fn candidates_are_groups_on_tier_ports_of_tier_groups() {
        let super::super::super::params::Check::WebTier(p) = params(&[("tierTagKey", "tier")])
        else {
            panic!()
        };
        let tier = group(
            &[("tier", "")],
            json!([
                from_group("tcp", Some(80), Some(80), LB),
                from_group("tcp", Some(22), Some(22), OTHER)
            ]),
            json!([]),
        );
        let untagged = group(
            &[],
            json!([from_group("tcp", Some(80), Some(80), OTHER)]),
            json!([]),
        );
        let got = super::candidate_load_balancer_groups(&p, [&tier, &untagged]);
        assert_eq!(got, [GroupId::parse(LB).unwrap()].into());
    }
}
