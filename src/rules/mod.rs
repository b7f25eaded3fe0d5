//! The verdicts: pure, synchronous functions from a check's parameters, one security group and the
//! facts gathered for this invocation to COMPLIANT / NON_COMPLIANT / NOT_APPLICABLE with an
//! annotation that says why. No SDK types and no I/O here; each check is one module plus its tests.

mod broad_private;
mod public;
mod web_tier;

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::exposure::PrefixLists;
use crate::model::{GroupId, SecurityGroup};
use crate::params::Check;

pub use web_tier::candidate_load_balancer_groups;

/// The maximum annotation length `PutEvaluations` accepts.
pub const MAX_ANNOTATION_CHARS: usize = 256;

/// `ComplianceType` values a custom rule may report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Compliance {
    #[serde(rename = "COMPLIANT")]
    Compliant,
    #[serde(rename = "NON_COMPLIANT")]
    NonCompliant,
    #[serde(rename = "NOT_APPLICABLE")]
    NotApplicable,
}

impl Compliance {
    pub fn as_str(self) -> &'static str {
        match self {
            Compliance::Compliant => "COMPLIANT",
            Compliance::NonCompliant => "NON_COMPLIANT",
            Compliance::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

impl fmt::Display for Compliance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verdict with its annotation (always 1..=256 characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub compliance: Compliance,
    pub annotation: String,
}

impl Verdict {
    pub fn new(compliance: Compliance, annotation: impl Into<String>) -> Self {
        Verdict {
            compliance,
            annotation: truncate_annotation(annotation.into()),
        }
    }
}

/// Cuts an annotation to at most 256 characters, ending with a marker when cut; never empty.
pub fn truncate_annotation(text: String) -> String {
    const MARKER: &str = " …[truncated]";
    let text = if text.trim().is_empty() {
        "no details".to_string()
    } else {
        text
    };
    if text.chars().count() <= MAX_ANNOTATION_CHARS {
        return text;
    }
    let keep = MAX_ANNOTATION_CHARS - MARKER.chars().count();
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(MARKER);
    out
}

/// What the engine learned from AWS for this invocation.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// Groups attached to Elastic Load Balancing network interfaces (web-tier discovery).
    pub load_balancer_groups: BTreeSet<GroupId>,
    /// Resolved managed prefix lists; missing ones are unknown.
    pub prefix_lists: PrefixLists,
}

/// Evaluates one security group.
pub fn evaluate(check: &Check, sg: &SecurityGroup, facts: &Facts) -> Verdict {
    match check {
        Check::WebTier(p) => web_tier::evaluate(p, sg, facts),
        Check::PublicIngress(p) => public::ingress(p, sg, facts),
        Check::PublicEgress(p) => public::egress(p, sg, facts),
        Check::BroadPrivateIngress(p) => broad_private::evaluate(p, sg, facts),
    }
}

/// Prefix lists referenced anywhere in these groups (to resolve before evaluating).
pub fn referenced_prefix_lists<'a>(
    groups: impl IntoIterator<Item = &'a SecurityGroup>,
) -> BTreeSet<String> {
    groups
        .into_iter()
        .flat_map(|g| g.ingress.iter().chain(&g.egress))
        .flat_map(|p| p.prefix_lists.iter().cloned())
        .collect()
}

/// `; ` between parts, with an optional note about prefix lists that could not be resolved.
fn join_with_unresolved(parts: Vec<String>, unresolved: &[String]) -> String {
    let mut text = parts.join("; ");
    if !unresolved.is_empty() {
        text.push_str(&format!(
            "; prefix lists {} not resolved (run with --live or in Lambda): not counted",
            unresolved.join(", ")
        ));
    }
    text
}

/// Shared by the table tests of every check.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::model::from_config_item;
    use serde_json::{json, Value};
    use std::collections::BTreeMap;

    /// A table row: name, rule parameters, permissions, expected verdict, text the annotation contains.
    pub type Case<'a> = (
        &'a str,
        &'a Vec<(&'a str, &'a str)>,
        Value,
        Compliance,
        &'a str,
    );

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

    pub fn params(pairs: &[(&str, &str)]) -> Check {
        Check::from_pairs(pairs).unwrap()
    }

    /// Evaluates one table row and checks the verdict and the annotation.
    pub fn assert_verdict(
        name: &str,
        check: &Check,
        sg: &SecurityGroup,
        facts: &Facts,
        want: Compliance,
        needle: &str,
    ) {
        let v = evaluate(check, sg, facts);
        assert_eq!(v.compliance, want, "{name}: {}", v.annotation);
        assert!(
            v.annotation.contains(needle),
            "{name}: {} !~ {needle}",
            v.annotation
        );
        assert!(
            (1..=MAX_ANNOTATION_CHARS).contains(&v.annotation.chars().count()),
            "{name}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_are_cut_at_256_chars_with_a_marker() {
        let long = "x".repeat(1000);
        let cut = truncate_annotation(long);
        assert_eq!(cut.chars().count(), 256);
        assert!(cut.ends_with("…[truncated]"));
        let multibyte = "é".repeat(300);
        assert_eq!(truncate_annotation(multibyte).chars().count(), 256);
        assert_eq!(truncate_annotation("ok".into()), "ok");
        assert_eq!(truncate_annotation("".into()), "no details");
        assert_eq!(truncate_annotation("y".repeat(256)).chars().count(), 256);
    }
}
