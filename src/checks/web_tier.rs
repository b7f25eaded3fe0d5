//! `web-tier` (the flagship): Web-Tier Security Group. A group tagged with the web-tier tag must
//! allow inbound TCP on one of `ports` (80 and/or 443) from the security group of the web tier's
//! load balancer.
//!
//! Why: backend web instances should be reached only through the load balancer; a web-tier group
//! that admits its ports from anything else (or from nothing) is mis-wired. Replaces the Conformity
//! "Web-Tier Security Group" rule (`<web_tier_tag>:<web_tier_tag_value>`).

use std::collections::BTreeSet;

use super::{public_findings, Facts, Needs, Rule};
use crate::exposure::{Exposure, PortPolicy};
use crate::fix::{narrow, plan_of, rules_of, Direction, Fix, Peer, RuleSpec, Violation};
use crate::model::{GroupId, Permission, Protocol, SecurityGroup};
use crate::params::{ParamError, ParamSpec, Params, RegionalGroups};
use crate::ports::PortSet;
use crate::verdict::{elide, Judgement, Verdict};

/// `check=web-tier`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebTier {
    pub tag_key: String,
    pub tag_value: Option<String>,
    pub ports: PortSet,
    /// Groups that count as the load balancer's (`sg-…` or `region:sg-…`); `None` = discover them
    /// from ELB network interfaces.
    pub load_balancer_groups: Option<RegionalGroups>,
    pub forbid_public_ingress: bool,
}

impl Rule for WebTier {
    const NAME: &'static str = "web-tier";
    const SUMMARY: &'static str = "A group tagged with the web-tier tag does not allow inbound TCP on the web ports from the web tier's load balancer security group.";
    const PARAMETERS: &'static [ParamSpec] = &[
        ParamSpec::required("tierTagKey"),
        ParamSpec::optional("tierTagValue", None),
        ParamSpec::optional("ports", Some("80,443")),
        ParamSpec::optional("loadBalancerSecurityGroupIds", None),
        ParamSpec::optional("forbidPublicIngress", Some("false")),
    ];
    const DEPENDS_ON_OTHER_GROUPS: bool = true;
    const INGRESS_EXPOSURE: bool = true;

    fn tag_candidates(&self) -> Vec<(String, String)> {
        vec![(
            self.tag_key.clone(),
            self.tag_value.clone().unwrap_or_else(|| "true".into()),
        )]
    }

    fn parse(p: &Params<'_>) -> Result<Self, ParamError> {
        Ok(WebTier {
            tag_key: p.required("tierTagKey")?.to_string(),
            tag_value: p.text("tierTagValue").map(str::to_string),
            ports: p.ports("ports")?,
            load_balancer_groups: p.regional_group_ids("loadBalancerSecurityGroupIds")?,
            forbid_public_ingress: p.bool("forbidPublicIngress")?,
        })
    }

    fn needs(&self, groups: &[&SecurityGroup]) -> Needs {
        let mut needs = if self.forbid_public_ingress {
            Needs::prefix_lists_of(groups)
        } else {
            Needs::default()
        };
        if let Some(listed) = &self.load_balancer_groups {
            needs.vpcs_of = listed
                .anywhere
                .iter()
                .chain(listed.by_region.values().flatten())
                .cloned()
                .collect();
        } else {
            // Every group a tier group references (on any port: a load balancer allowed on the
            // wrong port is still the one to authorize), and the tier groups themselves: a load
            // balancer's own group carries the tier tag too and is not judged as a backend group.
            needs.load_balancer_candidates = groups
                .iter()
                .filter(|sg| self.is_tier_group(sg))
                .flat_map(|sg| {
                    sg.ingress
                        .iter()
                        .flat_map(|perm| perm.groups.iter().map(|g| g.group_id.clone()))
                        .chain([sg.group_id.clone()])
                        .collect::<Vec<_>>()
                })
                .collect();
            needs.vpcs_of = needs.load_balancer_candidates.clone();
        }
        needs
    }

    fn evaluate(&self, sg: &SecurityGroup, facts: &Facts) -> Verdict {
        // Tag keys and values are up to 128 and 256 characters: elided so the reason stays.
        let tag = match &self.tag_value {
            Some(v) => format!("{}:{}", elide(&self.tag_key, 24), elide(v, 32)),
            None => elide(&self.tag_key, 24),
        };
        if !self.is_tier_group(sg) {
            return Verdict::not_applicable(format!(
                "not tagged {tag}: not a web-tier security group"
            ));
        }
        let listed = self.listed(facts);
        let (lb_groups, not_lb) = match &listed {
            Some(listed) => (listed, "not in loadBalancerSecurityGroupIds"),
            None => (
                &facts.load_balancer_groups,
                "not attached to a load balancer",
            ),
        };
        if lb_groups.contains(&sg.group_id) {
            return Verdict::not_applicable(format!(
                "tagged {tag}, but it is a load balancer's own security group, not a web-tier backend group"
            ));
        }
        let mut from_lb: Vec<(PortSet, &GroupId)> = Vec::new();
        let mut from_other: Vec<(PortSet, &GroupId)> = Vec::new();
        for (ports, perm) in self.tier_permissions(sg) {
            for g in &perm.groups {
                if lb_groups.contains(&g.group_id) {
                    from_lb.push((ports.clone(), &g.group_id));
                } else {
                    from_other.push((ports.clone(), &g.group_id));
                }
            }
        }

        let mut problems = Vec::new();
        if from_lb.is_empty() {
            problems.push(self.no_load_balancer_path(sg, lb_groups, &from_other, not_lb));
        }
        if self.forbid_public_ingress {
            let exposure = Exposure::of(&sg.ingress, &facts.prefix_lists);
            let public: Vec<String> = public_findings(exposure.public(PortPolicy::Any), "from")
                .iter()
                .map(ToString::to_string)
                .collect();
            if !public.is_empty() {
                problems.push(format!(
                    "open to the internet ({}): web-tier instances must be reached only through the load balancer",
                    public.join(", ")
                ));
            }
        }
        let ports = PortSet::from_ranges(from_lb.iter().flat_map(|(p, _)| p.ranges().to_vec()));
        let ids: BTreeSet<&str> = from_lb.iter().map(|(_, g)| g.as_str()).collect();
        Verdict::judge(Judgement {
            findings: problems,
            headline: format!("web-tier group ({tag})"),
            compliant: format!(
                "web-tier group allows tcp/{ports} from load balancer group {}",
                join(ids)
            ),
            unresolved: Vec::new(),
        })
    }

    fn flagged(&self, sg: &SecurityGroup, facts: &Facts) -> crate::reach::Flagged {
        if !self.forbid_public_ingress {
            return Vec::new();
        }
        let exposure = Exposure::of(&sg.ingress, &facts.prefix_lists);
        let mut violation = Violation::default();
        violation.add_public(&exposure.public_all(PortPolicy::Any), true);
        super::flagged_of(&violation)
    }

    /// Authorizes the tier ports from the one load-balancer group known to front this group (same
    /// VPC; listed, or discovered and already referenced by it), and with `forbidPublicIngress`
    /// revokes wide public sources. Refuses, saying why, when that group is not known exactly.
    fn fix(&self, sg: &SecurityGroup, facts: &Facts, keep_lossy: bool) -> Fix {
        let listed = self.listed(facts);
        let lb_groups = listed.as_ref().unwrap_or(&facts.load_balancer_groups);
        let has_path = self
            .tier_permissions(sg)
            .any(|(_, perm)| perm.groups.iter().any(|g| lb_groups.contains(&g.group_id)));
        let existing = rules_of(&sg.ingress);
        let mut authorize = Vec::new();
        if !has_path {
            // An unknown VPC is never "the same VPC": EC2 rejects references across VPCs.
            let same_vpc = |g: &GroupId| match (facts.group_vpcs.get(g), &sg.vpc_id) {
                (Some(theirs), Some(ours)) => theirs == ours,
                _ => false,
            };
            let all: BTreeSet<&GroupId> = match &listed {
                Some(listed) => listed.iter().collect(),
                None => sg
                    .ingress
                    .iter()
                    .flat_map(|p| &p.groups)
                    .map(|g| &g.group_id)
                    .filter(|g| facts.load_balancer_groups.contains(*g))
                    .collect(),
            };
            let candidates: BTreeSet<&GroupId> =
                all.iter().copied().filter(|g| same_vpc(g)).collect();
            let unknown: BTreeSet<&str> = all
                .iter()
                .filter(|g| !facts.group_vpcs.contains_key(**g))
                .map(|g| g.as_str())
                .collect();
            if candidates.is_empty() && !unknown.is_empty() {
                return Fix::Manual(format!(
                    "authorize tcp/{} from {} if it is in {} (its VPC is unknown; EC2 rejects references across VPCs)",
                    self.ports,
                    join(unknown),
                    sg.vpc_id.as_deref().unwrap_or("this group's VPC")
                ));
            }
            let lb = match candidates.len() {
                1 => candidates.into_iter().next().cloned(),
                0 => None,
                _ => {
                    return Fix::Manual(format!(
                        "several load balancer groups ({}) could front it: authorize tcp/{} from the right one",
                        join(candidates.iter().map(|g| g.as_str()).collect()),
                        self.ports
                    ))
                }
            };
            let Some(lb) = lb else {
                return Fix::Manual(format!(
                    "no load balancer group of its VPC is known: authorize tcp/{} from the load balancer's group, or list it in loadBalancerSecurityGroupIds",
                    self.ports
                ));
            };
            for range in self.ports.ranges() {
                let rule = RuleSpec::ports(Protocol::Tcp, *range, Peer::Group(lb.clone()));
                if !existing.contains(&rule) {
                    authorize.push(rule);
                }
            }
        }
        let (mut revoke, mut lost) = (Vec::new(), None);
        if self.forbid_public_ingress {
            let exposure = Exposure::of(&sg.ingress, &facts.prefix_lists);
            let mut violation = Violation::default();
            violation.add_public(&exposure.public_all(PortPolicy::Any), true);
            let n = narrow(&sg.ingress, &violation, keep_lossy);
            lost = n.unsafe_note();
            authorize.extend(n.authorize);
            revoke = n.revoke;
        }
        match plan_of(Direction::Ingress, authorize, revoke, lost) {
            Some(plan) => Fix::Plan(plan),
            None => Fix::Manual("nothing exact to change".into()),
        }
    }
}

impl WebTier {
    /// The listed load-balancer groups that apply in the facts' region.
    fn listed(&self, facts: &Facts) -> Option<BTreeSet<GroupId>> {
        self.load_balancer_groups
            .as_ref()
            .map(|g| g.for_region(facts.region.as_deref()))
    }

    fn is_tier_group(&self, sg: &SecurityGroup) -> bool {
        match (sg.tags.get(&self.tag_key), &self.tag_value) {
            (Some(_), None) => true,
            (Some(v), Some(want)) => v == want,
            (None, _) => false,
        }
    }

    /// Ingress permissions that admit TCP on one of the tier ports, with the matching ports.
    fn tier_permissions<'a>(
        &'a self,
        sg: &'a SecurityGroup,
    ) -> impl Iterator<Item = (PortSet, &'a Permission)> + 'a {
        sg.ingress
            .iter()
            .filter(|perm| perm.admits(Protocol::Tcp))
            .filter_map(move |perm| {
                let matched = PortSet::from_ranges(self.ports.intersect(&perm.ports));
                (!matched.is_empty()).then_some((matched, perm))
            })
    }

    /// Why no load balancer reaches the tier ports.
    fn no_load_balancer_path(
        &self,
        sg: &SecurityGroup,
        lb_groups: &BTreeSet<GroupId>,
        from_other: &[(PortSet, &GroupId)],
        not_lb: &str,
    ) -> String {
        if !from_other.is_empty() {
            let ports =
                PortSet::from_ranges(from_other.iter().flat_map(|(p, _)| p.ranges().to_vec()));
            let ids: BTreeSet<&str> = from_other.iter().map(|(_, g)| g.as_str()).collect();
            let verb = if ids.len() == 1 {
                "which is"
            } else {
                "which are"
            };
            return format!("tcp/{ports} only from {} {verb} {not_lb}", join(ids));
        }
        let elsewhere: BTreeSet<&str> = sg
            .ingress
            .iter()
            .flat_map(|perm| &perm.groups)
            .filter(|g| lb_groups.contains(&g.group_id))
            .map(|g| g.group_id.as_str())
            .collect();
        if elsewhere.is_empty() {
            format!(
                "no inbound tcp/{} from a load balancer security group",
                self.ports
            )
        } else {
            format!(
                "load balancer group {} is allowed, but not on tcp/{}",
                join(elsewhere),
                self.ports
            )
        }
    }
}

/// `sg-a, sg-b` in sorted order.
fn join(ids: BTreeSet<&str>) -> String {
    ids.into_iter().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_verdict, group, params, snapshot_name};
    use super::super::{Check, Facts};
    use crate::model::GroupId;
    use crate::verdict::Compliance;
    use rstest::rstest;
    use serde_json::{json, Value};

    const LB: &str = "sg-0bbbbbbbbbbbbbbb2";
    const OTHER: &str = "sg-0ccccccccccccccc3";
    const TIER: &[(&str, &str)] = &[("tier", "web")];

    fn facts() -> Facts {
        Facts {
            load_balancer_groups: [GroupId::parse(LB).unwrap()].into(),
            ..Default::default()
        }
    }

    fn from_group(proto: &str, from: Option<i64>, to: Option<i64>, sg: &str) -> Value {
        json!({"ipProtocol": proto, "fromPort": from, "toPort": to, "userIdGroupPairs": [{"groupId": sg, "userId": "111122223333"}]})
    }

    #[rstest]
    #[case::untagged("untagged", &[("tierTagKey", "tier")], &[], json!([from_group("tcp", Some(80), Some(80), LB)]), Compliance::NotApplicable, "not tagged tier")]
    #[case::tag_value_differs("tag value differs", &[("tierTagKey", "tier"), ("tierTagValue", "web")], &[("tier", "app")], json!([]), Compliance::NotApplicable, "not tagged tier:web")]
    #[case::tag_keys_are_case_sensitive("tag keys are case-sensitive", &[("tierTagKey", "Tier")], TIER, json!([]), Compliance::NotApplicable, "not tagged Tier")]
    #[case::c_80_from_lb("80 from LB", &[("tierTagKey", "tier")], TIER, json!([from_group("tcp", Some(80), Some(80), LB)]), Compliance::Compliant, "allows tcp/80 from load balancer group sg-0bbbbbbbbbbbbbbb2")]
    #[case::c_443_only_key_and_value("443 only, key and value", &[("tierTagKey", "tier"), ("tierTagValue", "web")], TIER, json!([from_group("6", Some(443), Some(443), LB)]), Compliance::Compliant, "tcp/443")]
    #[case::range_covering_80("range covering 80", &[("tierTagKey", "tier")], TIER, json!([from_group("tcp", Some(0), Some(1024), LB)]), Compliance::Compliant, "tcp/80,443")]
    #[case::c_1_from_lb("-1 from LB", &[("tierTagKey", "tier")], TIER, json!([from_group("-1", None, None, LB)]), Compliance::Compliant, "tcp/80,443")]
    #[case::udp_from_lb("udp from LB", &[("tierTagKey", "tier")], TIER, json!([from_group("udp", Some(80), Some(80), LB)]), Compliance::NonCompliant, "is allowed, but not on tcp/80,443")]
    #[case::wrong_port("wrong port", &[("tierTagKey", "tier")], TIER, json!([from_group("tcp", Some(8080), Some(8080), LB)]), Compliance::NonCompliant, "load balancer group sg-0bbbbbbbbbbbbbbb2 is allowed, but not on tcp/80,443")]
    #[case::boundary_81_442("boundary 81-442", &[("tierTagKey", "tier")], TIER, json!([from_group("tcp", Some(81), Some(442), LB)]), Compliance::NonCompliant, "not on tcp/80,443")]
    #[case::from_non_lb_group("from non-LB group", &[("tierTagKey", "tier")], TIER, json!([from_group("tcp", Some(80), Some(80), OTHER)]), Compliance::NonCompliant, "tcp/80 only from sg-0ccccccccccccccc3 which is not attached to a load balancer")]
    #[case::listed_lb_groups_override_discovery("listed LB groups override discovery", &[
                    ("tierTagKey", "tier"),
                    ("loadBalancerSecurityGroupIds", OTHER),
                ], TIER, json!([from_group("tcp", Some(80), Some(80), LB)]), Compliance::NonCompliant, "which is not in loadBalancerSecurityGroupIds")]
    #[case::listed_lb_group_matches("listed LB group matches", &[
                    ("tierTagKey", "tier"),
                    ("loadBalancerSecurityGroupIds", OTHER),
                ], TIER, json!([from_group("tcp", Some(443), Some(443), OTHER)]), Compliance::Compliant, "sg-0ccccccccccccccc3")]
    #[case::only_cidr_ingress("only CIDR ingress", &[("tierTagKey", "tier")], TIER, json!([{"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "ipRanges": ["0.0.0.0/0"]}]), Compliance::NonCompliant, "no inbound tcp/80,443")]
    #[case::public_allowed_by_default("public allowed by default", &[("tierTagKey", "tier")], TIER, json!([from_group("tcp", Some(80), Some(80), LB), {"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "ipRanges": ["0.0.0.0/0"]}]), Compliance::Compliant, "tcp/80")]
    #[case::public_forbidden("public forbidden", &[("tierTagKey", "tier"), ("forbidPublicIngress", "true")], TIER, json!([from_group("tcp", Some(80), Some(80), LB), {"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "ipv4Ranges": [{"cidrIp": "0.0.0.0/1"}, {"cidrIp": "128.0.0.0/1"}]}]), Compliance::NonCompliant, "open to the internet (tcp/80 from 0.0.0.0/1 + 128.0.0.0/1 (= 0.0.0.0/0))")]
    #[case::public_v6_forbidden("public v6 forbidden", &[("tierTagKey", "tier"), ("forbidPublicIngress", "true")], TIER, json!([from_group("tcp", Some(443), Some(443), LB), {"ipProtocol": "icmpv6", "ipv6Ranges": [{"cidrIpv6": "::/0"}]}]), Compliance::NonCompliant, "icmpv6 from ::/0")]
    #[case::private_cidr_fine_with_forbidpublicingress("private CIDR fine with forbidPublicIngress", &[("tierTagKey", "tier"), ("forbidPublicIngress", "true")], TIER, json!([from_group("tcp", Some(443), Some(443), LB), {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["10.0.0.0/8"]}]), Compliance::Compliant, "tcp/443")]
    #[case::long_tag_value("long tag value", &[("tierTagKey", "tier"), ("tierTagValue", "web-frontend-of-the-storefront-application-in-the-production-account-of-the-retail-business-unit-managed-by-the-platform-team-with-extra-words-to-make-it-really-long-0123456789")], &[("tier", "web-frontend-of-the-storefront-application-in-the-production-account-of-the-retail-business-unit-managed-by-the-platform-team-with-extra-words-to-make-it-really-long-0123456789")], json!([from_group("tcp", Some(8080), Some(8080), LB)]), Compliance::NonCompliant, "is allowed, but not on tcp/80,443")]
    #[case::load_balancer_s_own_group("load balancer's own group", &[("tierTagKey", "tier"), ("loadBalancerSecurityGroupIds", "sg-0aaaaaaaaaaaaaaa1")], TIER, json!([{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": ["0.0.0.0/0"]}]), Compliance::NotApplicable, "it is a load balancer's own security group")]
    fn table(
        #[case] name: &str,
        #[case] p: &[(&str, &str)],
        #[case] tags: &[(&str, &str)],
        #[case] ingress: Value,
        #[case] want: Compliance,
        #[case] needle: &str,
    ) {
        let annotation = assert_verdict(
            &params(p),
            &group(tags, ingress, json!([])),
            &facts(),
            want,
            needle,
        );
        insta::assert_snapshot!(snapshot_name("web_tier", name), annotation);
    }

    #[test]
    fn candidates_are_the_groups_tier_groups_reference_and_the_tier_groups() {
        let check = params(&[("tierTagKey", "tier")]);
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
            json!([from_group(
                "tcp",
                Some(80),
                Some(80),
                "sg-0ddddddddddddddd4"
            )]),
            json!([]),
        );
        let needs = check.needs(&[&tier, &untagged]);
        assert_eq!(
            needs.load_balancer_candidates,
            [
                GroupId::parse(LB).unwrap(),
                GroupId::parse(OTHER).unwrap(),
                tier.group_id.clone()
            ]
            .into()
        );
        assert!(needs.prefix_lists.is_empty());
        let listed = params(&[("tierTagKey", "tier"), ("loadBalancerSecurityGroupIds", LB)]);
        assert!(listed.needs(&[&tier]).load_balancer_candidates.is_empty());
    }

    #[rstest]
    #[case::defaults(&[("tierTagKey", "tier")], None, "80,443", None, false)]
    #[case::full(&[("check", "web-tier"), ("tierTagKey", "tier"), ("tierTagValue", "web"), ("ports", "443"), ("loadBalancerSecurityGroupIds", "sg-0123abcd, sg-0abc1234"), ("forbidPublicIngress", "TRUE")], Some("web"), "443", Some(2), true)]
    fn parameters(
        #[case] pairs: &[(&str, &str)],
        #[case] value: Option<&str>,
        #[case] ports: &str,
        #[case] listed: Option<usize>,
        #[case] forbid: bool,
    ) {
        let Check::WebTier(w) = params(pairs) else {
            panic!("not web-tier")
        };
        assert_eq!(w.tag_key, "tier");
        assert_eq!(w.tag_value.as_deref(), value);
        assert_eq!(w.ports.to_string(), ports);
        assert_eq!(
            w.load_balancer_groups.map(|g| g.for_region(None).len()),
            listed
        );
        assert_eq!(w.forbid_public_ingress, forbid);
    }

    #[test]
    fn load_balancer_ids_per_region() {
        let check = params(&[
            ("tierTagKey", "tier"),
            (
                "loadBalancerSecurityGroupIds",
                &format!("eu-west-1:{LB}, us-east-1:{OTHER}"),
            ),
        ]);
        let mut sg = group(
            &[("tier", "web")],
            json!([from_group("tcp", Some(443), Some(443), LB)]),
            json!([]),
        );
        sg.vpc_id = Some("vpc-1".into());
        let in_region = |region: &str| Facts {
            region: Some(region.into()),
            group_vpcs: [LB, OTHER]
                .iter()
                .map(|g| (GroupId::parse(g).unwrap(), "vpc-1".to_string()))
                .collect(),
            ..Facts::default()
        };
        assert_eq!(
            check.evaluate(&sg, &in_region("eu-west-1")).compliance(),
            Compliance::Compliant
        );
        let other = check.evaluate(&sg, &in_region("us-east-1"));
        assert_eq!(
            other.compliance(),
            Compliance::NonCompliant,
            "{}",
            other.annotation()
        );
        // In us-east-1 the fix authorizes that region's load balancer group, not eu-west-1's.
        let (_, fix) = check.judge(&sg, &in_region("us-east-1"));
        let crate::fix::Fix::Plan(plan) = fix else {
            panic!("{fix:?}")
        };
        assert_eq!(plan.summary(), format!("authorize tcp/80,443 from {OTHER}"));
    }

    #[rstest]
    #[case::missing_key(&[], "`tierTagKey` is required")]
    #[case::bad_port(&[("tierTagKey", "t"), ("ports", "8o")], "`ports` = `8o`: `8o` is not a port")]
    #[case::port_range(&[("tierTagKey", "t"), ("ports", "70000")], "`ports` = `70000`: `70000` is out of range")]
    #[case::bad_group(&[("tierTagKey", "t"), ("loadBalancerSecurityGroupIds", "not-a-group")], "`loadBalancerSecurityGroupIds` = `not-a-group`")]
    #[case::bad_bool(&[("tierTagKey", "t"), ("forbidPublicIngress", "yes")], "`forbidPublicIngress` = `yes`: expected true or false")]
    #[case::typo(&[("tierTagKey", "t"), ("tierTagkey", "t")], "unknown rule parameter `tierTagkey` for check `web-tier`")]
    fn parameter_errors(#[case] pairs: &[(&str, &str)], #[case] needle: &str) {
        let err = Check::from_pairs(pairs).unwrap_err().to_string();
        assert!(err.contains(needle), "{err} !~ {needle}");
    }
}
