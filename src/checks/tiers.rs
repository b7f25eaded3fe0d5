//! `tiers`: each tier admits only the tier in front of it. Groups carry a tier tag
//! (`tierTagKey`, e.g. `tier=app`); `tierRules` says which tiers may reach which, on which tcp
//! ports (`web<-lb:80,443; app<-web:8080; db<-app:5432`), where the reserved source `lb` means the
//! load balancers' groups (listed in `loadBalancerSecurityGroupIds`, or discovered through ELB
//! network interfaces, as in `web-tier`). A group of a tier with a rule is NON_COMPLIANT when an
//! inbound permission admits anything else (a CIDR outside `allowedSourceCidrs`, a prefix list, a
//! group of another tier, an untagged group, a group whose tags cannot be read), or when nothing of
//! a source tier reaches any of the rule's ports.
//!
//! Why: the web-tier check is the first link of a chain. Against lateral movement every service
//! admits only the services that call it, by security-group reference rather than IP ranges; a
//! database that also admits the web tier, an office range or an untagged group is one hop from
//! wherever those are.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;

use super::{Edge, Facts, Needs, Rule};
use crate::fix::{is_wide_public, plan_of, rules_of, Direction, Fix, Peer, RuleSpec};
use crate::model::{GroupId, Permission, Protocol, SecurityGroup};
use crate::params::{ParamError, ParamSpec, Params, RegionalGroups};
use crate::ports::{PortRange, PortSet};
use crate::verdict::{elide, Judgement, Verdict};

/// The reserved source name for load balancers' groups.
pub const LB: &str = "lb";

/// `check=tiers`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tiers {
    pub tag_key: String,
    /// Target tier → its rule.
    pub rules: BTreeMap<String, TierRule>,
    pub load_balancer_groups: Option<RegionalGroups>,
    pub allow_same_tier: bool,
    pub allowed_cidrs: Vec<IpNet>,
}

/// `TARGET<-SOURCE[|SOURCE...]:PORTS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TierRule {
    pub sources: BTreeSet<String>,
    pub ports: PortSet,
}

/// What a source of an inbound permission is, for the verdict.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SourceKind {
    /// A group of this tier (`lb` for load balancers' groups).
    Tier(String),
    Untagged,
    /// Its tags could not be read (another account or VPC, or not in the input).
    Unknown,
}

impl Rule for Tiers {
    const NAME: &'static str = "tiers";
    const SUMMARY: &'static str = "A tier-tagged group admits something other than the tiers its rule names (a CIDR, a prefix list, another tier's or an untagged group), or nothing of a source tier reaches the rule's ports.";
    const PARAMETERS: &'static [ParamSpec] = &[
        ParamSpec::required("tierTagKey"),
        ParamSpec::required("tierRules"),
        ParamSpec::optional("loadBalancerSecurityGroupIds", None),
        ParamSpec::optional("allowSameTier", Some("true")),
        ParamSpec::optional("allowedSourceCidrs", None),
    ];
    const READS_GROUP_INFO: bool = true;
    const DEPENDS_ON_OTHER_GROUPS: bool = true;

    fn parse(p: &Params<'_>) -> Result<Self, ParamError> {
        let text = p.required("tierRules")?;
        let rules = parse_rules(text).map_err(|why| p.invalid("tierRules", why))?;
        let mut allowed_cidrs = Vec::new();
        for c in p
            .text("allowedSourceCidrs")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            let net: IpNet = c.parse().map_err(|_| {
                p.invalid(
                    "allowedSourceCidrs",
                    format!("`{c}` is not a CIDR (e.g. 10.8.0.0/16 or 2001:db8::/48)"),
                )
            })?;
            allowed_cidrs.push(net.trunc());
        }
        Ok(Tiers {
            tag_key: p.required("tierTagKey")?.to_string(),
            rules,
            load_balancer_groups: p.regional_group_ids("loadBalancerSecurityGroupIds")?,
            allow_same_tier: match p
                .text("allowSameTier")
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                None | Some("true") => true,
                Some("false") => false,
                Some(_) => return Err(p.invalid("allowSameTier", "expected true or false")),
            },
            allowed_cidrs,
        })
    }

    fn needs(&self, groups: &[&SecurityGroup]) -> Needs {
        let referenced: BTreeSet<GroupId> = groups
            .iter()
            .filter(|g| self.rule_of(g).is_some())
            .flat_map(|g| g.ingress.iter().flat_map(|p| p.groups.iter()))
            .map(|r| r.group_id.clone())
            .collect();
        let mut needs = Needs {
            // The tags of every referenced group, and the groups in hand (fix candidates).
            info_of: referenced
                .iter()
                .cloned()
                .chain(groups.iter().map(|g| g.group_id.clone()))
                .collect(),
            ..Needs::default()
        };
        match &self.load_balancer_groups {
            Some(listed) => {
                needs.vpcs_of = listed
                    .anywhere
                    .iter()
                    .chain(listed.by_region.values().flatten())
                    .cloned()
                    .collect();
            }
            None => {
                // Referenced groups may be load balancers'; so may the tier groups themselves.
                needs.load_balancer_candidates = referenced
                    .into_iter()
                    .chain(
                        groups
                            .iter()
                            .filter(|g| self.tier_of_tags(g).is_some())
                            .map(|g| g.group_id.clone()),
                    )
                    .collect();
            }
        }
        needs
    }

    fn evaluate(&self, sg: &SecurityGroup, facts: &Facts) -> Verdict {
        let key = elide(&self.tag_key, 24);
        let lbs = self.load_balancers(facts);
        if lbs.contains(&sg.group_id) {
            return Verdict::not_applicable(
                "a load balancer's own security group: it counts as the `lb` source, not as a tier",
            );
        }
        let Some(tier) = self.tier_of_tags(sg) else {
            return Verdict::not_applicable(format!("not tagged {key}: not in a tier"));
        };
        let Some(rule) = self.rules.get(tier) else {
            return Verdict::not_applicable(format!(
                "tier {} has no rule in tierRules",
                elide(tier, 32)
            ));
        };
        let (problems, has_path) = self.inspect(sg, tier, rule, facts);
        let mut findings = problems;
        if !has_path {
            findings.insert(
                0,
                format!(
                    "no path from {} on tcp/{}",
                    join(rule.sources.iter().map(String::as_str)),
                    rule.ports
                ),
            );
        }
        Verdict::judge(Judgement {
            findings,
            headline: format!("tier {}", elide(tier, 32)),
            compliant: format!(
                "tier {} admits only {} (tcp/{})",
                elide(tier, 32),
                join(rule.sources.iter().map(String::as_str)),
                rule.ports
            ),
            unresolved: Vec::new(),
        })
    }

    fn source_candidates(&self) -> Vec<IpNet> {
        self.allowed_cidrs.clone()
    }

    fn tag_candidates(&self) -> Vec<(String, String)> {
        let mut tiers: BTreeSet<&String> = self.rules.keys().collect();
        for r in self.rules.values() {
            tiers.extend(r.sources.iter().filter(|s| s.as_str() != LB));
        }
        tiers
            .into_iter()
            .map(|t| (self.tag_key.clone(), t.clone()))
            .collect()
    }

    fn graph(&self, groups: &[&SecurityGroup], facts: &Facts) -> BTreeMap<Edge, usize> {
        self.edges(groups, facts)
    }

    /// Authorizes the rule's ports from the one source-tier group of the same VPC when no path
    /// exists; revokes wrong sources: wide public CIDRs safely, anything else only as an unsafe
    /// plan (it may cut real traffic: shown, applied only with `--unsafe`, never by the
    /// remediation function).
    fn fix(&self, sg: &SecurityGroup, facts: &Facts, _keep_lossy: bool) -> Fix {
        let Some(tier) = self.tier_of_tags(sg) else {
            return Fix::Nothing;
        };
        let Some(rule) = self.rules.get(tier) else {
            return Fix::Nothing;
        };
        let (_, has_path) = self.inspect(sg, tier, rule, facts);
        let existing = rules_of(&sg.ingress);
        let mut authorize = Vec::new();
        let mut manual = None;
        if !has_path {
            let same_vpc = |g: &GroupId| match (self.vpc_of(g, facts), &sg.vpc_id) {
                (Some(theirs), Some(ours)) => theirs == *ours,
                _ => false,
            };
            let lbs = self.load_balancers(facts);
            let mut candidates: BTreeSet<&GroupId> = BTreeSet::new();
            for source in &rule.sources {
                if source == LB {
                    candidates.extend(lbs.iter().filter(|g| same_vpc(g)));
                } else {
                    candidates.extend(
                        facts
                            .group_info
                            .iter()
                            .filter(|(id, info)| {
                                **id != sg.group_id
                                    && !lbs.contains(id)
                                    && info.tags.get(&self.tag_key) == Some(source)
                                    && same_vpc(id)
                            })
                            .map(|(id, _)| id),
                    );
                }
            }
            if candidates.len() == 1 {
                let from = candidates.into_iter().next().cloned();
                for range in rule.ports.ranges() {
                    if let Some(g) = &from {
                        let r = RuleSpec::ports(Protocol::Tcp, *range, Peer::Group(g.clone()));
                        if !existing.contains(&r) {
                            authorize.push(r);
                        }
                    }
                }
            } else {
                manual = Some(format!(
                    "authorize tcp/{} from the {} group of {}: {} candidates known",
                    rule.ports,
                    join(rule.sources.iter().map(String::as_str)),
                    sg.vpc_id.as_deref().unwrap_or("its VPC"),
                    candidates.len()
                ));
            }
        }
        let mut revoke = Vec::new();
        let mut risky = Vec::new();
        for r in &existing {
            if let Some(why) = self.wrong(sg, tier, rule, r, facts) {
                if !matches!(&r.peer, Peer::Cidr(n) if is_wide_public(n)) {
                    risky.push(format!("{} ({why})", r.peer));
                }
                revoke.push(r.clone());
            }
        }
        if authorize.is_empty() && revoke.is_empty() {
            return Fix::Manual(manual.unwrap_or_else(|| "nothing exact to change".into()));
        }
        let note = (!risky.is_empty()).then(|| {
            format!(
                "revoking {} may cut real traffic: check who uses it first",
                risky.join(", ")
            )
        });
        match plan_of(Direction::Ingress, authorize, revoke, note) {
            Some(plan) => Fix::Plan(plan),
            None => Fix::Manual(manual.unwrap_or_else(|| "nothing exact to change".into())),
        }
    }
}

impl Tiers {
    fn tier_of_tags<'a>(&self, sg: &'a SecurityGroup) -> Option<&'a String> {
        sg.tags.get(&self.tag_key)
    }

    fn rule_of(&self, sg: &SecurityGroup) -> Option<&TierRule> {
        self.tier_of_tags(sg).and_then(|t| self.rules.get(t))
    }

    /// The load balancers' groups: listed for the facts' region, or discovered.
    fn load_balancers<'a>(&self, facts: &'a Facts) -> std::borrow::Cow<'a, BTreeSet<GroupId>> {
        match &self.load_balancer_groups {
            Some(listed) => std::borrow::Cow::Owned(listed.for_region(facts.region.as_deref())),
            None => std::borrow::Cow::Borrowed(&facts.load_balancer_groups),
        }
    }

    fn vpc_of(&self, g: &GroupId, facts: &Facts) -> Option<String> {
        facts
            .group_vpcs
            .get(g)
            .cloned()
            .or_else(|| facts.group_info.get(g).and_then(|i| i.vpc_id.clone()))
    }

    /// What a referenced group is.
    pub fn source_kind(&self, g: &GroupId, sg: &SecurityGroup, facts: &Facts) -> SourceKind {
        if self.load_balancers(facts).contains(g) {
            return SourceKind::Tier(LB.to_string());
        }
        if *g == sg.group_id {
            return match self.tier_of_tags(sg) {
                Some(t) => SourceKind::Tier(t.clone()),
                None => SourceKind::Untagged,
            };
        }
        match facts.group_info.get(g) {
            None => SourceKind::Unknown,
            Some(info) => match info.tags.get(&self.tag_key) {
                Some(t) => SourceKind::Tier(t.clone()),
                None => SourceKind::Untagged,
            },
        }
    }

    /// Why one rule (one protocol, ports and peer) is not an allowed source, if it is not.
    fn wrong(
        &self,
        sg: &SecurityGroup,
        tier: &str,
        rule: &TierRule,
        r: &RuleSpec,
        facts: &Facts,
    ) -> Option<String> {
        match &r.peer {
            Peer::Cidr(n) => {
                if self.allowed_cidrs.iter().any(|a| a.contains(n)) {
                    None
                } else {
                    Some("CIDR not allowed".into())
                }
            }
            Peer::PrefixList(_) => Some("prefix list".into()),
            Peer::Group(g) => match self.source_kind(g, sg, facts) {
                SourceKind::Tier(t) if t == tier && self.allow_same_tier => None,
                SourceKind::Tier(t) if rule.sources.contains(&t) => {
                    // A source tier, on the rule's ports only.
                    let inside = r.protocol == Protocol::Tcp
                        && rule.ports.subtract_from(&r.port_range()).is_empty();
                    if inside {
                        None
                    } else {
                        Some(format!("tier {t}, allowed only on tcp/{}", rule.ports))
                    }
                }
                SourceKind::Tier(t) => {
                    Some(format!("tier {}, not a source of {tier}", elide(&t, 24)))
                }
                SourceKind::Untagged => Some("untagged".into()),
                // Another account or VPC, deleted, or not in the input.
                SourceKind::Unknown => Some("tags unreadable".into()),
            },
        }
    }

    /// The findings about wrong sources (grouped per source) and whether a source tier reaches
    /// any of the rule's ports.
    fn inspect(
        &self,
        sg: &SecurityGroup,
        tier: &str,
        rule: &TierRule,
        facts: &Facts,
    ) -> (Vec<String>, bool) {
        // Per source: what it reaches; then sources reaching the same thing in one finding.
        let mut by_source: BTreeMap<(String, String), Vec<(Protocol, PortRange)>> = BTreeMap::new();
        for r in rules_of(&sg.ingress) {
            if let Some(why) = self.wrong(sg, tier, rule, &r, facts) {
                by_source
                    .entry((r.peer.to_string(), why))
                    .or_default()
                    .push((r.protocol, r.port_range()));
            }
        }
        let mut by_what: Vec<(String, Vec<String>)> = Vec::new();
        for ((peer, why), what) in by_source {
            let mut parts: Vec<String> = Vec::new();
            for proto in [Protocol::All, Protocol::Tcp, Protocol::Udp] {
                let ranges: Vec<PortRange> = what
                    .iter()
                    .filter(|(p, _)| *p == proto)
                    .map(|(_, r)| *r)
                    .collect();
                if ranges.is_empty() {
                    continue;
                }
                parts.push(if proto.has_ports() {
                    format!("{proto}/{}", PortSet::from_ranges(ranges))
                } else {
                    proto.to_string()
                });
            }
            for (p, _) in what
                .iter()
                .filter(|(p, _)| !matches!(p, Protocol::All | Protocol::Tcp | Protocol::Udp))
            {
                let name = p.to_string();
                if !parts.contains(&name) {
                    parts.push(name);
                }
            }
            let what = parts.join(", ");
            let source = format!("{peer} ({why})");
            match by_what.iter_mut().find(|(w, _)| *w == what) {
                Some((_, sources)) => sources.push(source),
                None => by_what.push((what, vec![source])),
            }
        }
        let problems = by_what
            .into_iter()
            .map(|(what, sources)| format!("{what} from {}", sources.join(", ")))
            .collect();
        let has_path = sg.ingress.iter().any(|p: &Permission| {
            p.admits(Protocol::Tcp)
                && !rule.ports.intersect(&p.ports).is_empty()
                && p.groups.iter().any(|g| {
                    matches!(self.source_kind(&g.group_id, sg, facts), SourceKind::Tier(t) if rule.sources.contains(&t))
                })
        });
        (problems, has_path)
    }

    /// The references between tiers in `groups` (one edge per source tier → target tier with a
    /// count), and whether each breaks a rule; for the HTML report's tier map.
    fn edges(&self, groups: &[&SecurityGroup], facts: &Facts) -> BTreeMap<Edge, usize> {
        let mut out: BTreeMap<Edge, usize> = BTreeMap::new();
        for sg in groups {
            let Some(to) = self.tier_of_tags(sg) else {
                continue;
            };
            if self.load_balancers(facts).contains(&sg.group_id) {
                continue;
            }
            let rule = self.rules.get(to);
            for r in rules_of(&sg.ingress) {
                let Peer::Group(g) = &r.peer else { continue };
                let from = match self.source_kind(g, sg, facts) {
                    SourceKind::Tier(t) => t,
                    SourceKind::Untagged => "untagged".into(),
                    SourceKind::Unknown => "unknown".into(),
                };
                let allowed = rule.is_none_or(|rule| self.wrong(sg, to, rule, &r, facts).is_none());
                *out.entry(Edge {
                    from,
                    to: to.clone(),
                    allowed,
                })
                .or_default() += 1;
            }
        }
        out
    }
}

/// `web<-lb:80,443; app<-web:8080`: each rule's target once, sources and ports required.
fn parse_rules(text: &str) -> Result<BTreeMap<String, TierRule>, String> {
    let mut rules = BTreeMap::new();
    for raw in text.split(';').map(str::trim).filter(|r| !r.is_empty()) {
        let bad = |why: &str| {
            format!("rule `{raw}`: {why} (expected TARGET<-SOURCE[|SOURCE...]:PORTS, e.g. app<-web:8080)")
        };
        let (target, rest) = raw.split_once("<-").ok_or_else(|| bad("no `<-`"))?;
        let (sources, ports) = rest.rsplit_once(':').ok_or_else(|| bad("no `:PORTS`"))?;
        let target = target.trim();
        if target.is_empty() || target == LB {
            return Err(bad("the target must be a tier name (not empty, not `lb`)"));
        }
        let sources: BTreeSet<String> = sources.split('|').map(|s| s.trim().to_string()).collect();
        if sources.iter().any(String::is_empty) {
            return Err(bad("an empty source"));
        }
        let ports = PortSet::parse(ports.trim()).map_err(|e| bad(&e))?;
        if ports.is_empty() {
            return Err(bad("no ports"));
        }
        if rules
            .insert(target.to_string(), TierRule { sources, ports })
            .is_some()
        {
            return Err(bad(&format!("a second rule for {target}")));
        }
    }
    if rules.is_empty() {
        return Err("no rule (expected e.g. `web<-lb:80,443; app<-web:8080; db<-app:5432`)".into());
    }
    Ok(rules)
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join("|")
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_verdict, params, snapshot_name};
    use super::super::{Check, Facts};
    use crate::fix::{Fix, Safety};
    use crate::model::{from_config_item, GroupId, GroupInfo, SecurityGroup, Tags};
    use crate::verdict::Compliance;
    use rstest::rstest;
    use serde_json::{json, Value};

    const APP: &str = "sg-0aaaaaaaaaaaaaa02";
    const WEB: &str = "sg-0aaaaaaaaaaaaaa03";
    const UNTAGGED: &str = "sg-0aaaaaaaaaaaaaa04";
    const FOREIGN: &str = "sg-0aaaaaaaaaaaaaa05";
    const ALB: &str = "sg-0aaaaaaaaaaaaaa06";
    const DB: &str = "sg-0aaaaaaaaaaaaaa01";
    const RULES: &str = "web<-lb:80,443; app<-web:8080; db<-app:5432";

    fn check(extra: &[(&str, &str)]) -> Check {
        let mut p = vec![
            ("check", "tiers"),
            ("tierTagKey", "tier"),
            ("tierRules", RULES),
        ];
        p.extend_from_slice(extra);
        params(&p)
    }

    fn db(ingress: Value) -> SecurityGroup {
        from_config_item(
            &json!({"groupId": DB, "vpcId": "vpc-1", "ipPermissions": ingress}),
            &[("tier".to_string(), "db".to_string())].into(),
        )
        .unwrap()
    }

    fn info(tier: Option<&str>) -> GroupInfo {
        GroupInfo {
            vpc_id: Some("vpc-1".into()),
            owner_id: Some("111122223333".into()),
            tags: tier
                .map(|t| Tags::from([("tier".to_string(), t.to_string())]))
                .unwrap_or_default(),
        }
    }

    fn facts() -> Facts {
        let id = |s: &str| GroupId::parse(s).unwrap();
        Facts {
            load_balancer_groups: [id(ALB)].into(),
            group_info: [
                (id(APP), info(Some("app"))),
                (id(WEB), info(Some("web"))),
                (id(UNTAGGED), info(None)),
                (id(ALB), info(Some("web"))),
            ]
            .into(),
            ..Facts::default()
        }
    }

    fn from(proto: &str, from: i64, to: i64, group: &str) -> Value {
        json!({"ipProtocol": proto, "fromPort": from, "toPort": to, "userIdGroupPairs": [{"groupId": group}]})
    }

    fn cidr(from: i64, to: i64, net: &str) -> Value {
        json!({"ipProtocol": "tcp", "fromPort": from, "toPort": to, "ipRanges": [net]})
    }

    #[rstest]
    #[case::from_app("from app", &[], json!([from("tcp", 5432, 5432, APP)]), Compliance::Compliant, "tier db admits only app (tcp/5432)")]
    #[case::no_ingress("no ingress", &[], json!([]), Compliance::NonCompliant, "no path from app on tcp/5432")]
    #[case::wrong_tier("wrong tier", &[], json!([from("tcp", 5432, 5432, WEB)]), Compliance::NonCompliant, "tcp/5432 from sg-0aaaaaaaaaaaaaa03 (tier web, not a source of db)")]
    #[case::source_tier_on_other_ports("source tier on other ports", &[], json!([from("tcp", 5432, 5432, APP), from("tcp", 22, 22, APP)]), Compliance::NonCompliant, "tcp/22 from sg-0aaaaaaaaaaaaaa02 (tier app, allowed only on tcp/5432)")]
    #[case::all_traffic_from_app("all traffic from app", &[], json!([{"ipProtocol": "-1", "userIdGroupPairs": [{"groupId": APP}]}]), Compliance::NonCompliant, "all traffic from sg-0aaaaaaaaaaaaaa02 (tier app, allowed only on tcp/5432)")]
    #[case::private_cidr("private cidr", &[], json!([from("tcp", 5432, 5432, APP), cidr(22, 22, "10.0.0.0/8")]), Compliance::NonCompliant, "tcp/22 from 10.0.0.0/8 (CIDR not allowed)")]
    #[case::allowed_vpn_range("allowed vpn range", &[("allowedSourceCidrs", "10.8.0.0/16")], json!([from("tcp", 5432, 5432, APP), cidr(22, 22, "10.8.4.0/24")]), Compliance::Compliant, "admits only app")]
    #[case::prefix_list("prefix list", &[], json!([from("tcp", 5432, 5432, APP), {"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "prefixListIds": [{"prefixListId": "pl-0123"}]}]), Compliance::NonCompliant, "from pl-0123 (prefix list)")]
    #[case::untagged_group("untagged group", &[], json!([from("tcp", 5432, 5432, APP), from("tcp", 5432, 5432, UNTAGGED)]), Compliance::NonCompliant, "(untagged)")]
    #[case::unreadable_group("unreadable group", &[], json!([from("tcp", 5432, 5432, APP), from("tcp", 5432, 5432, FOREIGN)]), Compliance::NonCompliant, "(tags unreadable)")]
    #[case::same_tier_allowed("same tier allowed", &[], json!([from("tcp", 5432, 5432, APP), from("tcp", 0, 65535, DB)]), Compliance::Compliant, "admits only app")]
    #[case::same_tier_forbidden("same tier forbidden", &[("allowSameTier", "false")], json!([from("tcp", 5432, 5432, APP), from("tcp", 0, 65535, DB)]), Compliance::NonCompliant, "tier db, not a source of db")]
    fn db_table(
        #[case] name: &str,
        #[case] extra: &[(&str, &str)],
        #[case] ingress: Value,
        #[case] want: Compliance,
        #[case] needle: &str,
    ) {
        let annotation = assert_verdict(&check(extra), &db(ingress), &facts(), want, needle);
        insta::assert_snapshot!(snapshot_name("tiers", name), annotation);
    }

    #[test]
    fn load_balancers_count_as_lb_only_and_other_groups_are_not_applicable() {
        let c = check(&[]);
        let f = facts();
        let web = |ingress: Value, id: &str| {
            from_config_item(
                &json!({"groupId": id, "vpcId": "vpc-1", "ipPermissions": ingress}),
                &[("tier".to_string(), "web".to_string())].into(),
            )
            .unwrap()
        };
        // The web tier admits the ALB's group, which is tagged web but counts as `lb`.
        let v = c.evaluate(&web(json!([from("tcp", 443, 443, ALB)]), WEB), &f);
        assert_eq!(v.compliance(), Compliance::Compliant, "{}", v.annotation());
        let v = c.evaluate(&web(json!([]), ALB), &f);
        assert_eq!(
            v.compliance(),
            Compliance::NotApplicable,
            "{}",
            v.annotation()
        );
        let mut other = db(json!([]));
        other.tags = [("tier".to_string(), "cache".to_string())].into();
        assert!(c
            .evaluate(&other, &f)
            .annotation()
            .contains("tier cache has no rule"));
        other.tags = Tags::default();
        assert_eq!(
            c.evaluate(&other, &f).compliance(),
            Compliance::NotApplicable
        );
    }

    #[rstest]
    #[case::no_arrow("web<lb:80", "rule `web<lb:80`: no `<-`")]
    #[case::no_ports("web<-lb", "rule `web<-lb`: no `:PORTS`")]
    #[case::bad_port("web<-lb:http", "rule `web<-lb:http`")]
    #[case::twice(
        "db<-app:5432; db<-web:5432",
        "rule `db<-web:5432`: a second rule for db"
    )]
    #[case::lb_target("lb<-web:80", "the target must be a tier name")]
    #[case::empty(" ; ", "no rule")]
    fn malformed_rules_name_the_rule(#[case] rules: &str, #[case] needle: &str) {
        let err = Check::from_pairs(&[
            ("check", "tiers"),
            ("tierTagKey", "tier"),
            ("tierRules", rules),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains(needle), "{err}");
        assert!(err.starts_with("rule parameter `tierRules`"), "{err}");
    }

    #[test]
    fn the_fix_authorizes_the_path_and_revokes_wrong_sources_unsafely() {
        let c = check(&[]);
        let f = facts();
        // No path: the one app group of the VPC is authorized, safely.
        let Fix::Plan(plan) = c.fix(&db(json!([])), &f) else {
            panic!()
        };
        assert_eq!(plan.summary(), format!("authorize tcp/5432 from {APP}"));
        assert_eq!(plan.safety, Safety::Safe);
        // A wrong tier's reference is revoked only in an unsafe plan.
        let Fix::Plan(plan) = c.fix(
            &db(json!([
                from("tcp", 5432, 5432, APP),
                from("tcp", 5432, 5432, WEB)
            ])),
            &f,
        ) else {
            panic!()
        };
        assert_eq!(plan.summary(), format!("revoke tcp/5432 from {WEB}"));
        assert!(
            matches!(plan.safety, Safety::Unsafe(ref why) if why.contains("may cut real traffic"))
        );
        // A wide public source is revoked safely.
        let Fix::Plan(plan) = c.fix(
            &db(json!([
                from("tcp", 5432, 5432, APP),
                cidr(5432, 5432, "0.0.0.0/0")
            ])),
            &f,
        ) else {
            panic!()
        };
        assert_eq!(plan.safety, Safety::Safe);
    }
}
