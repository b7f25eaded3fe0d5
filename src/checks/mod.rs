//! The checks, one module each, and the registry that lists them once.
//!
//! A check module owns everything about its check: its name, a one-line summary, its parameters
//! ([`ParamSpec`]s, parsed by [`Rule::parse`] into its own struct), the facts it needs from AWS
//! ([`Rule::needs`]) and its verdict ([`Rule::evaluate`]). Verdicts are pure and synchronous: no
//! SDK types, no I/O. The [`registry!`] line below generates [`Check`] and every `match` over it,
//! so the compiler finds whatever a new check forgets. `ARCHITECTURE.md` says how to add one.

use std::collections::{BTreeMap, BTreeSet};

use crate::exposure::{PrefixLists, PublicReach, WidePublic};
use crate::fix::{
    apply_within, plan_between, rules_of, Change, Direction, Fix, Plan, Quota, Safety,
};
use crate::model::{GroupId, GroupInfo, SecurityGroup};
use crate::params::{ParamError, ParamSpec, Params};
use crate::ports::PortSet;
use crate::verdict::{group_findings, Compliance, Finding, Verdict, MAX_ANNOTATION_CHARS};

pub mod broad_private_ingress;
pub mod public_egress;
pub mod public_ingress;
pub mod tiers;
pub mod web_tier;

/// What every check module provides.
pub trait Rule: Sized {
    /// The `check` rule-parameter value that selects it.
    const NAME: &'static str;
    /// One sentence: what NON_COMPLIANT means (reports, SARIF rule help).
    const SUMMARY: &'static str;
    /// Every parameter it accepts, with defaults.
    const PARAMETERS: &'static [ParamSpec];
    /// Whether it reports inbound ports open to the internet ([`Rule::flagged`]): the live audit
    /// then reads the network facts for effective exposure.
    const INGRESS_EXPOSURE: bool = false;
    /// Whether a verdict reads the group's outbound rules (else only its inbound ones): `scan`
    /// names only the unknowns of the rules a check reads.
    const READS_EGRESS: bool = false;
    /// Whether a verdict reads other groups' tags ([`Needs::info_of`]): the audit then keeps every
    /// group of a scope in hand.
    const READS_GROUP_INFO: bool = false;
    /// Whether a group's verdict depends on other groups (their tags, or whether they are a load
    /// balancer's): a change to a group then re-evaluates the groups that reference it.
    const DEPENDS_ON_OTHER_GROUPS: bool = false;
    /// Validates the parameters (unknown keys are already rejected).
    fn parse(p: &Params<'_>) -> Result<Self, ParamError>;
    /// The facts to gather before evaluating these groups (one batched look-up per kind).
    fn needs(&self, groups: &[&SecurityGroup]) -> Needs;
    /// The verdict on one group.
    fn evaluate(&self, sg: &SecurityGroup, facts: &Facts) -> Verdict;
    /// The smallest exact change that makes a NON_COMPLIANT group compliant, computed from the
    /// same analysis as the verdict: it removes only what the findings report. Called only for
    /// groups the check found NON_COMPLIANT; [`Check::fix`] checks every plan by applying it to
    /// the model and evaluating again. With `keep_lossy`, rules whose narrowing would lose more
    /// than the violation (a `-1` rule's other protocols) are left alone: [`Check::fix`] offers
    /// that plan when it still ends the violation.
    fn fix(&self, sg: &SecurityGroup, facts: &Facts, keep_lossy: bool) -> Fix;
    /// The inbound (protocol, ports) whose exposure to the internet this check reports for a group
    /// (effective exposure asks whether they are reachable right now); empty for checks that are
    /// not about inbound internet exposure.
    fn flagged(&self, sg: &SecurityGroup, facts: &Facts) -> crate::reach::Flagged {
        let _ = (sg, facts);
        Vec::new()
    }
    /// The tags (key, value) that put a group in this check's scope or give it a role (a tier):
    /// `scan` tries them for tags and referenced groups whose values are known only at deploy.
    /// Most checks read no tags.
    fn tag_candidates(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// The sources this check admits by CIDR (`tiers`' `allowedSourceCidrs`): `scan` tries them
    /// for sources known only at deploy. Most checks admit none by name.
    fn source_candidates(&self) -> Vec<ipnet::IpNet> {
        Vec::new()
    }
    /// The references this check sees between kinds of groups (tiers), with whether each breaks
    /// a rule; the HTML report draws them. Most checks have none.
    fn graph(&self, groups: &[&SecurityGroup], facts: &Facts) -> BTreeMap<Edge, usize> {
        let _ = (groups, facts);
        BTreeMap::new()
    }
}

/// A reference between two kinds of groups (e.g. tiers) found in the groups judged.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// Whether the rules allow it.
    pub allowed: bool,
}

/// What a check needs to learn from AWS for a set of groups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// Source groups whose load-balancer status decides a verdict (`DescribeNetworkInterfaces`).
    pub load_balancer_candidates: BTreeSet<GroupId>,
    /// Managed prefix lists to resolve (`GetManagedPrefixListEntries`).
    pub prefix_lists: BTreeSet<String>,
    /// Groups whose VPC a verdict compares with the judged group's ([`Facts::group_vpcs`]).
    pub vpcs_of: BTreeSet<GroupId>,
    /// Groups whose tags, VPC and account a verdict reads ([`Facts::group_info`]): taken from the
    /// groups in hand, the others looked up in one batch.
    pub info_of: BTreeSet<GroupId>,
    /// Groups whose network (interfaces, subnets, route tables, NACLs) a verdict reads
    /// ([`Facts::network`]: effective exposure).
    pub network_of: BTreeSet<GroupId>,
}

impl Needs {
    /// The prefix lists referenced anywhere in these groups.
    pub fn prefix_lists_of(groups: &[&SecurityGroup]) -> Needs {
        Needs {
            prefix_lists: groups
                .iter()
                .flat_map(|g| g.ingress.iter().chain(&g.egress))
                .flat_map(|p| p.prefix_lists.iter().cloned())
                .collect(),
            ..Needs::default()
        }
    }

    pub fn merge(&mut self, other: Needs) {
        self.load_balancer_candidates
            .extend(other.load_balancer_candidates);
        self.prefix_lists.extend(other.prefix_lists);
        self.vpcs_of.extend(other.vpcs_of);
        self.info_of.extend(other.info_of);
        self.network_of.extend(other.network_of);
    }
}

/// What the engine learned from AWS for this invocation.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// Groups attached to Elastic Load Balancing network interfaces (web-tier discovery).
    pub load_balancer_groups: BTreeSet<GroupId>,
    /// Resolved managed prefix lists; missing ones are unknown.
    pub prefix_lists: PrefixLists,
    /// The VPC of each group in hand (a fix authorizes only load-balancer groups of the same VPC).
    pub group_vpcs: BTreeMap<GroupId, String>,
    /// The region the groups are in, when known (for region-limited parameters).
    pub region: Option<String>,
    /// The account's "rules per security group" quota, when known (default 60).
    pub rules_quota: Option<usize>,
    /// Tags, VPC and account of the groups [`Needs::info_of`] named; a group missing here could
    /// not be read (another account or region, deleted, not in the input).
    pub group_info: BTreeMap<GroupId, GroupInfo>,
    /// The network around the groups [`Needs::network_of`] named, when it could be read.
    pub network: Option<std::sync::Arc<crate::reach::Network>>,
}

impl Facts {
    /// The rule quota plans must stay within.
    pub fn quota(&self) -> Quota {
        Quota::new(self.rules_quota, &self.prefix_lists)
    }
}

/// Generates [`Check`] (one variant per check module) and its exhaustive dispatch.
macro_rules! registry {
    ($($variant:ident => $rule:ty,)*) => {
        /// The check a rule runs, with its validated parameters.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Check {
            $($variant($rule),)*
        }

        impl Check {
            /// Every check's name, in registry order.
            pub const NAMES: &'static [&'static str] = &[$(<$rule as Rule>::NAME,)*];

            pub fn name(&self) -> &'static str {
                match self {
                    $(Check::$variant(_) => <$rule as Rule>::NAME,)*
                }
            }

            /// See [`Rule::INGRESS_EXPOSURE`].
            pub fn ingress_exposure(&self) -> bool {
                match self {
                    $(Check::$variant(_) => <$rule as Rule>::INGRESS_EXPOSURE,)*
                }
            }

            /// See [`Rule::READS_EGRESS`].
            pub fn reads_egress(&self) -> bool {
                match self {
                    $(Check::$variant(_) => <$rule as Rule>::READS_EGRESS,)*
                }
            }

            /// See [`Rule::READS_GROUP_INFO`].
            pub fn reads_group_info(&self) -> bool {
                match self {
                    $(Check::$variant(_) => <$rule as Rule>::READS_GROUP_INFO,)*
                }
            }

            /// See [`Rule::DEPENDS_ON_OTHER_GROUPS`].
            pub fn depends_on_other_groups(&self) -> bool {
                match self {
                    $(Check::$variant(_) => <$rule as Rule>::DEPENDS_ON_OTHER_GROUPS,)*
                }
            }

            pub fn summary(&self) -> &'static str {
                match self {
                    $(Check::$variant(_) => <$rule as Rule>::SUMMARY,)*
                }
            }

            /// The parameters and summary of the check called `name`.
            pub fn spec(name: &str) -> Option<(&'static [ParamSpec], &'static str)> {
                $(if name == <$rule as Rule>::NAME {
                    return Some((<$rule as Rule>::PARAMETERS, <$rule as Rule>::SUMMARY));
                })*
                None
            }

            fn parse_named(name: &str, values: &BTreeMap<String, String>) -> Result<Check, ParamError> {
                $(if name == <$rule as Rule>::NAME {
                    let p = Params::new(values, <$rule as Rule>::NAME, <$rule as Rule>::PARAMETERS)
                        .map_err(Check::with_owner_hint)?;
                    return <$rule as Rule>::parse(&p).map(Check::$variant);
                })*
                Err(ParamError::UnknownCheck {
                    name: name.to_string(),
                    valid: Check::NAMES.join(", "),
                })
            }

            /// The facts this check needs for these groups.
            pub fn needs(&self, groups: &[&SecurityGroup]) -> Needs {
                match self {
                    $(Check::$variant(c) => c.needs(groups),)*
                }
            }

            /// The verdict on one group.
            pub fn evaluate(&self, sg: &SecurityGroup, facts: &Facts) -> Verdict {
                match self {
                    $(Check::$variant(c) => c.evaluate(sg, facts),)*
                }
            }

            /// See [`Rule::flagged`].
            pub fn flagged(&self, sg: &SecurityGroup, facts: &Facts) -> crate::reach::Flagged {
                match self {
                    $(Check::$variant(c) => c.flagged(sg, facts),)*
                }
            }

            /// See [`Rule::tag_candidates`].
            pub fn tag_candidates(&self) -> Vec<(String, String)> {
                match self {
                    $(Check::$variant(c) => c.tag_candidates(),)*
                }
            }

            /// See [`Rule::source_candidates`].
            pub fn source_candidates(&self) -> Vec<ipnet::IpNet> {
                match self {
                    $(Check::$variant(c) => c.source_candidates(),)*
                }
            }

            /// See [`Rule::graph`].
            pub fn graph(&self, groups: &[&SecurityGroup], facts: &Facts) -> BTreeMap<Edge, usize> {
                match self {
                    $(Check::$variant(c) => c.graph(groups, facts),)*
                }
            }

            fn raw_fix(&self, sg: &SecurityGroup, facts: &Facts, keep_lossy: bool) -> Fix {
                match self {
                    $(Check::$variant(c) => c.fix(sg, facts, keep_lossy),)*
                }
            }
        }
    };
}

// The registry: one line per check.
registry! {
    WebTier => web_tier::WebTier,
    PublicIngress => public_ingress::PublicIngress,
    PublicEgress => public_egress::PublicEgress,
    BroadPrivateIngress => broad_private_ingress::BroadPrivateIngress,
    Tiers => tiers::Tiers,
}

impl Check {
    /// The fix for one group, verified: a plan is returned only if applying it to the model
    /// (with EC2's all-or-nothing semantics) leaves the group compliant under this check.
    pub fn fix(&self, sg: &SecurityGroup, facts: &Facts) -> Fix {
        if self.evaluate(sg, facts).compliance() != Compliance::NonCompliant {
            return Fix::Nothing;
        }
        self.verified_fix(sg, facts)
    }

    /// The fix of a group already found NON_COMPLIANT, verified on the model: the plan that
    /// leaves alone what narrowing would lose (a `-1` rule's other protocols) when it ends the
    /// violation, else the full one; ordered within the rule quota.
    fn verified_fix(&self, sg: &SecurityGroup, facts: &Facts) -> Fix {
        let quota = facts.quota();
        let careful = self.raw_fix(sg, facts, true);
        let first = match self.check_plan(sg, facts, careful, &quota) {
            Ok(Fix::Plan(plan)) if plan.safety == Safety::Safe => return Fix::Plan(plan),
            other => other,
        };
        match self.check_plan(sg, facts, self.raw_fix(sg, facts, false), &quota) {
            Ok(fix) => fix,
            Err(why) => match first {
                Ok(Fix::Plan(plan)) => Fix::Plan(plan),
                _ => Fix::Manual(why),
            },
        }
    }

    /// A raw plan applied to the model, the group evaluated again, and the plan ordered within
    /// the quota; `Err` with the reason when it does not end the violation.
    fn check_plan(
        &self,
        sg: &SecurityGroup,
        facts: &Facts,
        fix: Fix,
        quota: &Quota,
    ) -> Result<Fix, String> {
        let Fix::Plan(plan) = fix else {
            return Ok(fix);
        };
        let after = apply_within(sg, &plan.calls, &Quota::unlimited())
            .map_err(|e| format!("no exact plan: {e}"))?;
        let v = self.evaluate(&after, facts);
        if v.compliance() == Compliance::NonCompliant {
            return Err(format!(
                "revoking wide public sources is not enough ({}): edit the prefix lists or narrow the remaining sources by hand",
                v.annotation()
            ));
        }
        match within_quota(sg, &after, quota, plan.safety) {
            Ok(Some(plan)) => Ok(Fix::Plan(plan)),
            Ok(None) => Ok(Fix::Nothing),
            Err(why) => Err(why),
        }
    }

    /// The verdict, with the fix in short at the end of a NON_COMPLIANT annotation.
    pub fn judge(&self, sg: &SecurityGroup, facts: &Facts) -> (Verdict, Fix) {
        let verdict = self.evaluate(sg, facts);
        if verdict.compliance() != Compliance::NonCompliant {
            return (verdict, Fix::Nothing);
        }
        let fix = self.verified_fix(sg, facts);
        let note = match &fix {
            Fix::Plan(plan) => {
                let label = match plan.safety {
                    Safety::Safe => "fix",
                    Safety::Unsafe(_) => "unsafe fix",
                };
                let whole = format!("{label}: {}", plan.summary());
                let room =
                    MAX_ANNOTATION_CHARS.saturating_sub(verdict.annotation().chars().count() + 2);
                if whole.chars().count() <= room {
                    whole
                } else {
                    // Never half a call: how many calls, and where to see them.
                    let calls = match plan.calls.len() {
                        1 => "1 EC2 call".to_string(),
                        n => format!("{n} EC2 calls"),
                    };
                    format!("{label}: {calls}, see remediate")
                }
            }
            Fix::Manual(why) => format!("fix by hand: {why}"),
            Fix::Nothing => String::new(),
        };
        (verdict.with_note(&note), fix)
    }

    /// An unknown parameter that another check declares names that check (`authorizedTcpPorts`
    /// while `check` is unset is public-ingress's).
    fn with_owner_hint(e: ParamError) -> ParamError {
        match e {
            ParamError::Unknown {
                key,
                check,
                valid,
                hint,
            } => {
                let owner = Check::NAMES.iter().find(|n| {
                    **n != check
                        && Check::spec(n)
                            .is_some_and(|(specs, _)| specs.iter().any(|s| s.name == key))
                });
                let hint = match owner {
                    Some(owner) => {
                        format!(" (`{key}` is a parameter of check `{owner}`: set check={owner})")
                    }
                    None => hint,
                };
                ParamError::Unknown {
                    key,
                    check,
                    valid,
                    hint,
                }
            }
            other => other,
        }
    }

    /// The check when `ruleParameters` has no `check` key.
    pub const DEFAULT: &'static str = web_tier::WebTier::NAME;

    /// Parses parameters given as pairs, e.g. `&[("check", "public-ingress")]`.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<Check, ParamError> {
        Check::from_params(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// Parses `ruleParameters`. `check` selects the check (default `web-tier`).
    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Check, ParamError> {
        let name = params
            .get("check")
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .unwrap_or(Check::DEFAULT);
        Check::parse_named(name, params)
    }
}

/// The plan from `before` to `after`, ordered within `quota`.
fn within_quota(
    before: &SecurityGroup,
    after: &SecurityGroup,
    quota: &Quota,
    safety: Safety,
) -> Result<Option<Plan>, String> {
    let changes = [
        Change {
            direction: Direction::Ingress,
            before: rules_of(&before.ingress),
            after: rules_of(&after.ingress),
        },
        Change {
            direction: Direction::Egress,
            before: rules_of(&before.egress),
            after: rules_of(&after.egress),
        },
    ];
    plan_between(&changes, quota, true, safety)
}

/// One group's fix across every selected check: each check's plan is made on the result of the
/// previous ones (until none changes anything), then one plan goes from the group's rules to the
/// final rules, ordered within the quota. Checks without a plan keep their reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupFix {
    /// The checks that found the group NON_COMPLIANT, with their annotations.
    pub findings: Vec<(&'static str, String)>,
    /// The one plan for all of them (`None` when nothing can be changed automatically).
    pub plan: Option<Plan>,
    /// Checks the plan does not fix, with why.
    pub manual: Vec<(&'static str, String)>,
}

/// Plans one group's fix across `checks` (see [`GroupFix`]).
pub fn plan_group(checks: &[Check], sg: &SecurityGroup, facts: &Facts) -> GroupFix {
    let mut findings = Vec::new();
    for check in checks {
        let v = check.evaluate(sg, facts);
        if v.compliance() == Compliance::NonCompliant {
            findings.push((check.name(), v.reason().to_string()));
        }
    }
    let mut state = sg.clone();
    let mut unsafe_notes: Vec<String> = Vec::new();
    let mut manual: BTreeMap<&'static str, String> = BTreeMap::new();
    // A later check's plan can reopen what an earlier one closed; a few passes reach the fixed point.
    for _ in 0..3 {
        let mut changed = false;
        for check in checks {
            if check.evaluate(&state, facts).compliance() != Compliance::NonCompliant {
                continue;
            }
            match check.verified_fix(&state, facts) {
                Fix::Plan(plan) => match apply_within(&state, &plan.calls, &Quota::unlimited()) {
                    Ok(next) => {
                        if let Safety::Unsafe(note) = plan.safety {
                            if !unsafe_notes.contains(&note) {
                                unsafe_notes.push(note);
                            }
                        }
                        manual.remove(check.name());
                        state = next;
                        changed = true;
                    }
                    Err(e) => {
                        manual.insert(check.name(), format!("no exact plan: {e}"));
                    }
                },
                Fix::Manual(why) => {
                    manual.insert(check.name(), why);
                }
                Fix::Nothing => {}
            }
        }
        if !changed {
            break;
        }
    }
    for check in checks {
        let v = check.evaluate(&state, facts);
        if v.compliance() == Compliance::NonCompliant && !manual.contains_key(check.name()) {
            manual.insert(
                check.name(),
                format!(
                    "the plans of the selected checks conflict: {}",
                    v.annotation()
                ),
            );
        }
    }
    let safety = if unsafe_notes.is_empty() {
        Safety::Safe
    } else {
        Safety::Unsafe(unsafe_notes.join("; "))
    };
    let plan = match within_quota(sg, &state, &facts.quota(), safety) {
        Ok(plan) => plan,
        Err(why) => {
            for (name, _) in &findings {
                manual.entry(name).or_insert_with(|| why.clone());
            }
            None
        }
    };
    GroupFix {
        findings,
        plan,
        manual: manual.into_iter().collect(),
    }
}

/// The (protocol, ports) of a violation's parts, merged per protocol.
pub fn flagged_of(violation: &crate::fix::Violation) -> crate::reach::Flagged {
    let mut out: crate::reach::Flagged = Vec::new();
    for part in &violation.parts {
        match out.iter_mut().find(|(p, _)| *p == part.protocol) {
            Some((_, ports)) => {
                *ports =
                    PortSet::from_ranges(ports.ranges().iter().chain(part.ports.ranges()).copied())
            }
            None => out.push((part.protocol, part.ports.clone())),
        }
    }
    out
}

/// `tcp/22 <verb> 0.0.0.0/1 + 128.0.0.0/1 (= 0.0.0.0/0)`, grouped by protocol and sources.
/// Shared by the checks that report internet reach.
pub fn public_findings(reach: Vec<PublicReach<'_>>, verb: &str) -> Vec<Finding> {
    group_findings(
        reach
            .into_iter()
            .map(|r| Finding {
                protocol: r.protocol,
                detail: format!("{verb} {}", r.sources()),
                ports: r.ports,
            })
            .collect(),
    )
}

/// `tcp/22 open to 198.51.0.0/16 (public, broader than /24)`, grouped like [`public_findings`].
pub fn wide_public_findings(hits: Vec<WidePublic<'_>>, verb: &str) -> Vec<Finding> {
    group_findings(
        hits.into_iter()
            .map(|h| Finding {
                protocol: h.protocol,
                detail: format!("{verb} {} (public, broader than /{})", h.describe(), h.min),
                ports: h.ports,
            })
            .collect(),
    )
}

/// `tcp 80,443, udp none`.
pub fn describe_ports(tcp: &PortSet, udp: &PortSet) -> String {
    let show = |s: &PortSet| {
        if s.is_empty() {
            "none".to_string()
        } else {
            s.to_string()
        }
    };
    format!("tcp {}, udp {}", show(tcp), show(udp))
}

/// Evaluates one security group (the same as [`Check::evaluate`]).
pub fn evaluate(check: &Check, sg: &SecurityGroup, facts: &Facts) -> Verdict {
    check.evaluate(sg, facts)
}

/// Shared by the table tests of every check.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::model::from_config_item;
    use crate::verdict::{Compliance, MAX_ANNOTATION_CHARS};
    use serde_json::{json, Value};

    /// A group from camelCase item permissions.
    pub fn group(tags: &[(&str, &str)], ingress: Value, egress: Value) -> SecurityGroup {
        let tags: BTreeMap<String, String> = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_config_item(
            &json!({"groupId": "sg-0aaaaaaaaaaaaaaa1", "ipPermissions": ingress, "ipPermissionsEgress": egress}),
            &tags,
        )
        .unwrap()
    }

    /// `web_tier__80_from_lb` for the case "80 from LB" of `web_tier`.
    pub fn snapshot_name(check: &str, case: &str) -> String {
        let slug: String = case
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!("{check}__{slug}")
    }

    pub fn params(pairs: &[(&str, &str)]) -> Check {
        Check::from_pairs(pairs).unwrap()
    }

    /// Evaluates one table row, checks the verdict and that the annotation contains `needle`,
    /// and returns the annotation (for a snapshot).
    pub fn assert_verdict(
        check: &Check,
        sg: &SecurityGroup,
        facts: &Facts,
        want: Compliance,
        needle: &str,
    ) -> String {
        let v = check.evaluate(sg, facts);
        assert_eq!(v.compliance(), want, "{}", v.annotation());
        assert!(
            v.annotation().contains(needle),
            "{} !~ {needle}",
            v.annotation()
        );
        assert!((1..=MAX_ANNOTATION_CHARS).contains(&v.annotation().chars().count()));
        v.annotation().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_check_parses_with_its_defaults_alone() {
        for name in Check::NAMES {
            let (specs, summary) = Check::spec(name).unwrap();
            assert!(!summary.is_empty());
            let mut pairs = vec![("check", *name)];
            for s in specs.iter().filter(|s| s.required) {
                // A value of the parameter's grammar (tier rules have one).
                let value = if s.name == "tierRules" {
                    "web<-lb:443"
                } else {
                    "x"
                };
                pairs.push((s.name, value));
            }
            let check = Check::from_pairs(&pairs).unwrap();
            assert_eq!(check.name(), *name);
        }
        assert_eq!(Check::spec("nope"), None);
    }

    /// A fix too long for the annotation is counted, never cut in half.
    #[test]
    fn a_long_fix_is_a_call_count() {
        let check =
            Check::from_pairs(&[("check", "public-ingress"), ("blockedTcpPorts", "1-65535")])
                .unwrap();
        let perms: Vec<serde_json::Value> = (0..20)
            .map(|i| serde_json::json!({"ipProtocol": "tcp", "fromPort": 1000 + 2 * i, "toPort": 1000 + 2 * i, "ipRanges": ["0.0.0.0/0"]}))
            .collect();
        let sg = test_support::group(&[], serde_json::json!(perms), serde_json::json!([]));
        let (v, fix) = check.judge(&sg, &Facts::default());
        assert!(matches!(fix, Fix::Plan(_)));
        assert!(
            v.annotation().ends_with("fix: 1 EC2 call, see remediate"),
            "{}",
            v.annotation()
        );
    }

    #[test]
    fn a_parameter_of_another_check_names_it() {
        let err = Check::from_pairs(&[("authorizedTcpPorts", "443")])
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("(`authorizedTcpPorts` is a parameter of check `public-ingress`: set check=public-ingress)"),
            "{err}"
        );
        let err = Check::from_pairs(&[("check", "public-ingress"), ("nope", "1")])
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("minPublicPrefixLengthIpv6, exposureLevels"),
            "{err}"
        );
    }

    #[test]
    fn unknown_check_lists_the_registry() {
        assert_eq!(
            Check::from_pairs(&[("check", "nope")]).unwrap_err().to_string(),
            "unknown check `nope`: valid checks are web-tier, public-ingress, public-egress, broad-private-ingress, tiers"
        );
    }
}

/// The hand-written parameter tables (README, CDK app) agree with the registry.
#[cfg(test)]
mod docs_agree {
    use super::*;

    fn read(rel: &str) -> String {
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
    }

    /// `` `name` (`default`) ``, `` `name` (required) `` or `` `name` (none…) `` from a table cell.
    fn documented(cell: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = cell;
        while let Some(start) = rest.find('`') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('`') else { break };
            let name = &after[..end];
            let tail = after[end + 1..].trim_start();
            let meaning = if let Some(t) = tail.strip_prefix("(`") {
                t.split('`').next().unwrap_or("").to_string()
            } else if tail.starts_with("(required)") {
                "required".to_string()
            } else if tail.starts_with("(none") {
                "none".to_string()
            } else {
                "?".to_string()
            };
            out.push((name.to_string(), meaning));
            rest = &after[end + 1..];
            if let Some(skip) = rest.find(')') {
                rest = &rest[skip..];
            }
        }
        out
    }

    fn expected(spec: &ParamSpec) -> String {
        match (spec.required, spec.default) {
            (true, _) => "required".to_string(),
            (false, Some(d)) => d.to_string(),
            (false, None) => "none".to_string(),
        }
    }

    #[test]
    fn readme_table_matches_the_registry() {
        let readme = read("README.md");
        let mut seen = Vec::new();
        // The parameter table: from its header to the first line that is not a table row.
        let table = readme
            .lines()
            .skip_while(|l| !l.starts_with("| `check` (rule parameter)"))
            .take_while(|l| l.starts_with('|'));
        for line in table.filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = line.split(" | ").collect();
            let name = cells[0]
                .trim_start_matches("| `")
                .split('`')
                .next()
                .unwrap();
            let Some((specs, _)) = Check::spec(name) else {
                continue;
            };
            seen.push(name.to_string());
            let want: Vec<(String, String)> = specs
                .iter()
                .map(|s| (s.name.to_string(), expected(s)))
                .collect();
            assert_eq!(documented(cells[2]), want, "README row of `{name}`");
        }
        assert_eq!(seen, Check::NAMES, "one README row per registered check");
    }

    #[test]
    fn cdk_rule_options_name_every_parameter() {
        let rules = read("cdk/lib/rules.ts");
        for name in Check::NAMES {
            let (specs, _) = Check::spec(name).unwrap();
            for spec in specs {
                let key = format!("(`{}`)", spec.name);
                let line = rules
                    .lines()
                    .find(|l| l.contains(&key))
                    .unwrap_or_else(|| panic!("cdk/lib/rules.ts documents no {key}"));
                if let Some(default) = line.split("Rust default: ").nth(1) {
                    let default = default.trim_end_matches(" */").trim_end_matches('.');
                    assert_eq!(default, expected(spec), "{key} in cdk/lib/rules.ts");
                }
            }
        }
    }
}
