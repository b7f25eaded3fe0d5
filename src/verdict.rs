//! What a check decides about one group: a [`Compliance`] and an annotation of 1..=256 characters
//! that says why. A [`Verdict`] is built only here, through [`Verdict::judge`] (findings → verdict)
//! or [`Verdict::not_applicable`], so every annotation has the same shape and length limit.

use std::fmt;

use serde::Serialize;

use crate::model::Protocol;
use crate::ports::{write_joined, PortRange};

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
    /// The verdict depends on a value nobody can know yet (`scan`: a template value known only at
    /// deploy). Config's own fourth compliance type.
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

impl Compliance {
    pub fn as_str(self) -> &'static str {
        match self {
            Compliance::Compliant => "COMPLIANT",
            Compliance::NonCompliant => "NON_COMPLIANT",
            Compliance::NotApplicable => "NOT_APPLICABLE",
            Compliance::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

impl fmt::Display for Compliance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of an annotation: a protocol, some ports and what reaches them
/// (`tcp/22,3389 open to 0.0.0.0/0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub protocol: Protocol,
    pub ports: Vec<PortRange>,
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.protocol)?;
        if self.protocol.has_ports() {
            f.write_str("/")?;
            write_joined(f, &self.ports, ",")?;
        }
        write!(f, " {}", self.detail)
    }
}

/// Merges findings of the same protocol and detail into one line with all their ports.
pub fn group_findings(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        match out
            .iter_mut()
            .find(|o| o.protocol == f.protocol && o.detail == f.detail)
        {
            Some(o) => o.ports.extend(f.ports),
            None => out.push(f),
        }
    }
    // Adjacent intervals of one finding read as one (`tcp/0-65535`, not `tcp/0-79,80,81-65535`).
    for f in &mut out {
        if f.ports.len() > 1 {
            f.ports = crate::ports::PortSet::from_ranges(f.ports.iter().copied())
                .ranges()
                .to_vec();
        }
    }
    out
}

/// A check's conclusion about one group, before it becomes an annotation.
pub struct Judgement<F> {
    /// Problems found; none means COMPLIANT.
    pub findings: Vec<F>,
    /// `headline: finding; finding` when there are findings.
    pub headline: String,
    /// The annotation when there are none.
    pub compliant: String,
    /// Prefix lists that could not be resolved and were therefore not counted.
    pub unresolved: Vec<String>,
}

/// A verdict with its annotation (always 1..=256 characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    compliance: Compliance,
    annotation: String,
    /// The whole reason when the annotation had to be cut (the limit is Config's, not a
    /// terminal's).
    full: Option<Box<str>>,
}

impl Verdict {
    /// The one path from findings to a verdict and its annotation.
    pub fn judge<F: fmt::Display>(j: Judgement<F>) -> Verdict {
        let (compliance, mut text) = if j.findings.is_empty() {
            (Compliance::Compliant, j.compliant)
        } else {
            use fmt::Write;
            let mut text = j.headline;
            for (i, finding) in j.findings.iter().enumerate() {
                // Writing into a String cannot fail.
                let _ = write!(text, "{}{finding}", if i == 0 { ": " } else { "; " });
            }
            (Compliance::NonCompliant, text)
        };
        if !j.unresolved.is_empty() {
            text.push_str(&format!(
                "; prefix lists {} not resolved: not counted",
                j.unresolved.join(", ")
            ));
        }
        let full = (text.chars().count() > MAX_ANNOTATION_CHARS).then(|| text.clone().into());
        Verdict {
            compliance,
            annotation: truncate_annotation(text),
            full,
        }
    }

    /// The whole reason, uncut.
    pub fn reason(&self) -> &str {
        self.full.as_deref().unwrap_or(&self.annotation)
    }

    /// The group is outside what the check is about (or no longer exists).
    pub fn not_applicable(reason: impl Into<String>) -> Verdict {
        Verdict {
            compliance: Compliance::NotApplicable,
            annotation: truncate_annotation(reason.into()),
            full: None,
        }
    }

    /// Appends `; note` (e.g. the fix in short), keeping the reason first: the note is cut first
    /// (down to 48 characters), then the reason, so both fit in 256 characters.
    pub fn with_note(self, note: &str) -> Verdict {
        if note.is_empty() {
            return self;
        }
        // The note gets what the reason leaves, but at least NOTE_MIN characters.
        const NOTE_MIN: usize = 48;
        let reason_len = self.annotation.chars().count();
        let room_for_note = MAX_ANNOTATION_CHARS
            .saturating_sub(reason_len + 2)
            .max(NOTE_MIN);
        let note: String = if note.chars().count() > room_for_note {
            let keep = room_for_note.saturating_sub(1);
            note.chars().take(keep).collect::<String>() + "…"
        } else {
            note.to_string()
        };
        let room_for_reason = MAX_ANNOTATION_CHARS - note.chars().count() - 2;
        let reason: String = if reason_len > room_for_reason {
            self.annotation
                .chars()
                .take(room_for_reason.saturating_sub(1))
                .collect::<String>()
                + "…"
        } else {
            self.annotation
        };
        Verdict {
            compliance: self.compliance,
            annotation: format!("{reason}; {note}"),
            full: self.full,
        }
    }

    pub fn compliance(&self) -> Compliance {
        self.compliance
    }

    pub fn annotation(&self) -> &str {
        &self.annotation
    }

    pub fn into_parts(self) -> (Compliance, String) {
        (self.compliance, self.annotation)
    }
}

/// A value for an annotation: at most `max` characters, long ones elided in the middle
/// (`abcdefghij…uvwxyz`), so a long tag value never pushes the reason out.
pub fn elide(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max || max < 3 {
        return text.to_string();
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    let mut out: String = text.chars().take(head).collect();
    out.push('…');
    out.extend(text.chars().skip(n - tail));
    out
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

    #[test]
    fn long_values_are_elided_in_the_middle() {
        assert_eq!(elide("short", 10), "short");
        let long = format!("{}{}", "a".repeat(100), "z");
        let e = elide(&long, 21);
        assert_eq!(e.chars().count(), 21);
        assert!(e.starts_with("aaaaaaaaaa…") && e.ends_with('z'), "{e}");
    }

    #[test]
    fn findings_group_by_detail() {
        let f = |p: u16| Finding {
            protocol: Protocol::Tcp,
            ports: vec![PortRange::single(p)],
            detail: "open to 0.0.0.0/0".into(),
        };
        let grouped = group_findings(vec![f(22), f(3389)]);
        assert_eq!(grouped.len(), 1);
        assert_eq!(grouped[0].to_string(), "tcp/22,3389 open to 0.0.0.0/0");
        let all = Finding {
            protocol: Protocol::All,
            ports: vec![PortRange::ALL],
            detail: "open to ::/0".into(),
        };
        assert_eq!(all.to_string(), "all traffic open to ::/0");
    }

    #[test]
    fn judge_is_the_one_path_to_an_annotation() {
        let j = |findings: Vec<&str>, unresolved: Vec<&str>| {
            Verdict::judge(Judgement {
                findings,
                headline: "bad".into(),
                compliant: "fine".into(),
                unresolved: unresolved.into_iter().map(String::from).collect(),
            })
        };
        let ok = j(vec![], vec![]);
        assert_eq!(
            (ok.compliance(), ok.annotation()),
            (Compliance::Compliant, "fine")
        );
        let bad = j(vec!["a", "b"], vec!["pl-1"]);
        assert_eq!(bad.compliance(), Compliance::NonCompliant);
        assert_eq!(
            bad.annotation(),
            "bad: a; b; prefix lists pl-1 not resolved: not counted"
        );
        let na = Verdict::not_applicable("");
        assert_eq!(na.annotation(), "no details");
    }
}
