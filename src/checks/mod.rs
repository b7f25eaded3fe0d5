//! The checks, one module each, and the registry that lists them once.
//!
//! A check module owns everything about its check: its name, a one-line summary, its parameters
//! ([`ParamSpec`]s, parsed by [`Rule::parse`] into its own struct), the facts it needs from AWS
//! ([`Rule::needs`]) and its verdict ([`Rule::evaluate`]). Verdicts are pure and synchronous: no
//! SDK types, no I/O. The [`registry!`] line below generates [`Check`] and every `match` over it,
//! so the compiler finds whatever a new check forgets. `ARCHITECTURE.md` says how to add one.

use std::collections::{BTreeMap, BTreeSet};

use crate::exposure::{PrefixLists, PublicReach, WidePublic};
use crate::fix::{apply, Fix, Safety};
use crate::model::{GroupId, SecurityGroup};
use crate::params::{ParamError, ParamSpec, Params};
use crate::ports::PortSet;
use crate::verdict::{group_findings, Compliance, Finding, Verdict};

pub mod broad_private_ingress;
pub mod public_egress;
pub mod public_ingress;
pub mod web_tier;

/// What every check module provides.
pub trait Rule: Sized {
    /// The `check` rule-parameter value that selects it.
    const NAME: &'static str;
    /// One sentence: what NON_COMPLIANT means (reports, SARIF rule help).
    const SUMMARY: &'static str;
    /// Every parameter it accepts, with defaults.
    const PARAMETERS: &'static [ParamSpec];
    /// Validates the parameters (unknown keys are already rejected).
    fn parse(p: &Params<'_>) -> Result<Self, ParamError>;
    /// The facts to gather before evaluating these groups (one batched look-up per kind).
    fn needs(&self, groups: &[&SecurityGroup]) -> Needs;
    /// The verdict on one group.
    fn evaluate(&self, sg: &SecurityGroup, facts: &Facts) -> Verdict;
    /// The smallest exact change that makes a NON_COMPLIANT group compliant, computed from the
    /// same analysis as the verdict. Called only for groups the check found NON_COMPLIANT;
    /// [`Check::fix`] checks every plan by applying it to the model and evaluating again.
    fn fix(&self, sg: &SecurityGroup, facts: &Facts) -> Fix;
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
                    let p = Params::new(values, <$rule as Rule>::NAME, <$rule as Rule>::PARAMETERS)?;
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

            fn raw_fix(&self, sg: &SecurityGroup, facts: &Facts) -> Fix {
                match self {
                    $(Check::$variant(c) => c.fix(sg, facts),)*
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

    /// The fix of a group already found NON_COMPLIANT, verified on the model.
    fn verified_fix(&self, sg: &SecurityGroup, facts: &Facts) -> Fix {
        match self.raw_fix(sg, facts) {
            Fix::Plan(plan) => match apply(sg, &plan.calls) {
                Err(e) => Fix::Manual(format!("no exact plan: {e}")),
                Ok(after) => {
                    let v = self.evaluate(&after, facts);
                    if v.compliance() == Compliance::NonCompliant {
                        Fix::Manual(format!(
                            "revoking wide public sources is not enough ({}): edit the prefix lists or narrow the remaining sources by hand",
                            v.annotation()
                        ))
                    } else {
                        Fix::Plan(plan)
                    }
                }
            },
            other => other,
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
            Fix::Plan(plan) => match plan.safety {
                Safety::Safe => format!("fix: {}", plan.summary()),
                Safety::Unsafe(_) => format!("unsafe fix: {}", plan.summary()),
            },
            Fix::Manual(why) => format!("fix by hand: {why}"),
            Fix::Nothing => String::new(),
        };
        (verdict.with_note(&note), fix)
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
            .map(|h| {
                let names: Vec<String> = h.sources.iter().map(ToString::to_string).collect();
                Finding {
                    protocol: h.protocol,
                    detail: format!(
                        "{verb} {} (public, broader than /{})",
                        names.join(" + "),
                        h.min
                    ),
                    ports: h.ports,
                }
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
                pairs.push((s.name, "x"));
            }
            let check = Check::from_pairs(&pairs).unwrap();
            assert_eq!(check.name(), *name);
        }
        assert_eq!(Check::spec("nope"), None);
    }

    #[test]
    fn unknown_check_lists_the_registry() {
        assert_eq!(
            Check::from_pairs(&[("check", "nope")]).unwrap_err().to_string(),
            "unknown check `nope`: valid checks are web-tier, public-ingress, public-egress, broad-private-ingress"
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
