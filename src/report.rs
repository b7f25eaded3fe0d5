//! Renders an [`AuditReport`] in the formats people already read: a terminal table (comfy-table),
//! JSON (the `evaluate` keys plus `check`, `accountId`, `region`), CSV (csv), Markdown
//! (comfy-table's Markdown preset), SARIF 2.1.0 (serde-sarif types) and one self-contained HTML
//! page for stakeholders (minijinja). Pure: a report in, text out.

use std::collections::BTreeMap;

use comfy_table::{presets, ContentArrangement, Table};

use serde::Serialize;

use crate::audit::{AuditReport, Row, Tally};
use crate::event::SECURITY_GROUP_TYPE;
use crate::verdict::Compliance;

/// An output format of `sg-compliance audit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
    Markdown,
    Sarif,
    Html,
}

/// A report could not be rendered (a bug, not bad input).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {format}: {reason}")]
    Render {
        format: &'static str,
        reason: String,
    },
}

fn render_error(format: &'static str) -> impl Fn(String) -> ReportError {
    move |reason| ReportError::Render { format, reason }
}

/// The terminal width the table fits.
pub const TABLE_WIDTH: u16 = 120;

/// Renders `report` as `format`.
pub fn render(report: &AuditReport, format: Format) -> Result<String, ReportError> {
    let mut out = Vec::new();
    write(report, format, &mut out)?;
    String::from_utf8(out).map_err(|e| render_error("text")(e.to_string()))
}

/// Writes `report` as `format` to `out`. JSON and CSV, the formats of large audits, are written
/// row by row (never the whole document in memory); the others are rendered, then written.
pub fn write(
    report: &AuditReport,
    format: Format,
    out: &mut dyn std::io::Write,
) -> Result<(), ReportError> {
    let text = match format {
        Format::Table => table(report, presets::UTF8_HORIZONTAL_ONLY, true),
        Format::Markdown => table(report, presets::ASCII_MARKDOWN, false),
        Format::Json => return json(report, out),
        Format::Csv => return csv(report, out),
        Format::Sarif => sarif(report)?,
        Format::Html => html(report)?,
    };
    out.write_all(text.as_bytes())
        .map_err(|e| render_error("the report")(e.to_string()))
}

fn verdict_text(c: Compliance) -> &'static str {
    c.as_str()
}

fn or_dash(v: &Option<crate::audit::Shared>) -> &str {
    v.as_deref().unwrap_or("-")
}

fn totals_line(report: &AuditReport) -> String {
    let t = report.totals();
    format!(
        "{} groups, {} checks: {} non-compliant, {} compliant, {} not applicable{}",
        report.group_count(),
        report.checks.len(),
        t.non_compliant,
        t.compliant,
        t.not_applicable,
        if report.errors.is_empty() {
            String::new()
        } else {
            format!(", {} errors", report.errors.len())
        }
    )
}

fn table(report: &AuditReport, preset: &str, wrap: bool) -> String {
    let mut t = Table::new();
    t.load_preset(preset);
    if wrap {
        t.set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(TABLE_WIDTH);
    }
    t.set_header([
        "account", "region", "group", "name", "check", "verdict", "reason",
    ]);
    if wrap {
        for column in t.column_iter_mut() {
            column.set_padding((0, 1));
        }
        t.remove_style(comfy_table::TableComponent::HorizontalLines);
        t.remove_style(comfy_table::TableComponent::MiddleIntersections);
        t.remove_style(comfy_table::TableComponent::LeftBorderIntersections);
        t.remove_style(comfy_table::TableComponent::RightBorderIntersections);
        // Identifiers never wrap; the name and the reason take what is left.
        use comfy_table::{ColumnConstraint::LowerBoundary, Width::Fixed};
        let widest = |f: &dyn Fn(&Row) -> usize, min: usize| {
            let w = report.rows.iter().map(f).max().unwrap_or(0).max(min);
            LowerBoundary(Fixed(w as u16 + 1))
        };
        t.set_constraints([
            widest(&|r| or_dash(&r.account_id).len(), 7),
            widest(&|r| or_dash(&r.region).len(), 6),
            widest(&|r| r.group_id.len(), 5),
            widest(&|r| or_dash(&r.group_name).chars().count().min(16), 4),
            widest(&|r| r.check.len(), 5),
            widest(&|r| r.compliance.as_str().len(), 7),
            LowerBoundary(Fixed(25)),
        ]);
    }
    for r in &report.rows {
        t.add_row([
            or_dash(&r.account_id),
            or_dash(&r.region),
            &*r.group_id,
            or_dash(&r.group_name),
            r.check,
            verdict_text(r.compliance),
            &*r.annotation,
        ]);
    }
    let mut out = t.to_string();
    out.push_str("\n\n");
    out.push_str(&totals_line(report));
    out.push('\n');
    out
}

/// One JSON object per group and check.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonRow<'a> {
    compliance_resource_type: &'static str,
    compliance_resource_id: &'a str,
    compliance_type: Compliance,
    annotation: &'a str,
    check: &'a str,
    account_id: Option<&'a str>,
    region: Option<&'a str>,
}

impl<'a> From<&'a Row> for JsonRow<'a> {
    fn from(r: &'a Row) -> Self {
        JsonRow {
            compliance_resource_type: SECURITY_GROUP_TYPE,
            compliance_resource_id: &r.group_id,
            compliance_type: r.compliance,
            annotation: &r.annotation,
            check: r.check,
            account_id: r.account_id.as_deref(),
            region: r.region.as_deref(),
        }
    }
}

fn json(report: &AuditReport, out: &mut dyn std::io::Write) -> Result<(), ReportError> {
    let err = |e: &dyn std::fmt::Display| render_error("json")(e.to_string());
    if report.rows.is_empty() {
        return out.write_all(b"[]\n").map_err(|e| err(&e));
    }
    // Rows are serialized in chunks on every core while this thread writes the chunks in order.
    // Each chunk is a pretty JSON list of its own, `[\n  {…},\n  {…}\n]`: its inside is exactly
    // what the whole list has for those rows, so the chunks joined with `,` are the whole list,
    // byte for byte. Worker `w` serializes chunks w, w + n, w + 2n, … into a queue of its own, two
    // deep, so memory holds a few chunks whatever the size of the report.
    const CHUNK: usize = 2_048;
    let chunks: Vec<&[Row]> = report.rows.chunks(CHUNK).collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(chunks.len());
    let chunk = |rows: &[Row]| -> Result<Vec<u8>, serde_json::Error> {
        let mut buf = Vec::with_capacity(rows.len() * 384);
        serde_json::to_writer_pretty(&mut buf, &Rows(rows))?;
        buf.truncate(buf.len() - 2); // the closing `\n]`
        Ok(buf)
    };
    std::thread::scope(|s| {
        let queues: Vec<_> = (0..workers)
            .map(|w| {
                let (tx, rx) = std::sync::mpsc::sync_channel(2);
                let mine = chunks.iter().skip(w).step_by(workers);
                s.spawn(move || {
                    for rows in mine {
                        // The writer stopped (a write failed): so does this worker.
                        if tx.send(chunk(rows)).is_err() {
                            break;
                        }
                    }
                });
                rx
            })
            .collect();
        for i in 0..chunks.len() {
            let part = queues[i % workers]
                .recv()
                .map_err(|e| err(&e))?
                .map_err(|e| err(&e))?;
            // `[` opens the first chunk and the list; `,` joins the others.
            out.write_all(if i == 0 { b"[" } else { b"," })
                .and_then(|()| out.write_all(&part[1..]))
                .map_err(|e| err(&e))?;
        }
        out.write_all(b"\n]\n").map_err(|e| err(&e))?;
        out.flush().map_err(|e| err(&e))
    })
}

/// Rows as a JSON list, serialized one by one.
struct Rows<'a>(&'a [Row]);

impl Serialize for Rows<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(JsonRow::from))
    }
}

fn csv(report: &AuditReport, out: &mut dyn std::io::Write) -> Result<(), ReportError> {
    let err = render_error("csv");
    let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 16, out));
    w.write_record([
        "accountId",
        "region",
        "groupId",
        "groupName",
        "vpcId",
        "check",
        "complianceType",
        "annotation",
    ])
    .map_err(|e| err(e.to_string()))?;
    for r in &report.rows {
        w.write_record([
            r.account_id.as_deref().unwrap_or(""),
            r.region.as_deref().unwrap_or(""),
            &r.group_id,
            r.group_name.as_deref().unwrap_or(""),
            r.vpc_id.as_deref().unwrap_or(""),
            r.check,
            r.compliance.as_str(),
            &r.annotation,
        ])
        .map_err(|e| err(e.to_string()))?;
    }
    w.flush().map_err(|e| err(e.to_string()))
}

fn sarif(report: &AuditReport) -> Result<String, ReportError> {
    use serde_sarif::sarif as s;
    let rules: Vec<s::ReportingDescriptor> = report
        .checks
        .iter()
        .map(|c| {
            s::ReportingDescriptor::builder()
                .id(c.name)
                .name(c.name)
                .short_description(
                    s::MultiformatMessageString::builder()
                        .text(c.summary)
                        .build(),
                )
                .full_description(
                    s::MultiformatMessageString::builder()
                        .text(c.summary)
                        .build(),
                )
                .help(
                    s::MultiformatMessageString::builder()
                        .text(format!(
                            "{} See the README section of `{}` for its parameters and fix.",
                            c.summary, c.name
                        ))
                        .build(),
                )
                .build()
        })
        .collect();
    let results: Vec<s::Result> = report
        .rows
        .iter()
        .filter(|r| r.compliance == Compliance::NonCompliant)
        .map(|r| {
            let fqn = format!(
                "{}/{}/{}",
                or_dash(&r.account_id),
                or_dash(&r.region),
                r.group_id
            );
            s::Result::builder()
                .rule_id(r.check)
                .level(s::ResultLevel::Error)
                .message(s::Message::builder().text(&*r.annotation).build())
                .locations(vec![s::Location::builder()
                    .logical_locations(vec![s::LogicalLocation::builder()
                        .name(&*r.group_id)
                        .fully_qualified_name(fqn)
                        .kind("resource")
                        .build()])
                    .build()])
                .build()
        })
        .collect();
    let driver = s::ToolComponent::builder()
        .name("sg-compliance")
        .version(env!("CARGO_PKG_VERSION"))
        .rules(rules)
        .build();
    let run = s::Run::builder()
        .tool(s::Tool::builder().driver(driver).build())
        .results(results)
        .build();
    let log = s::Sarif::builder()
        .version(s::Version::V2_1_0.to_string())
        .schema(s::SCHEMA_URL)
        .runs(vec![run])
        .build();
    let mut out =
        serde_json::to_string_pretty(&log).map_err(|e| render_error("sarif")(e.to_string()))?;
    out.push('\n');
    Ok(out)
}

/// What the HTML template sees.
#[derive(Serialize)]
struct HtmlContext<'a> {
    version: &'static str,
    totals: Tally,
    groups: usize,
    by_check: Vec<(String, &'a str, Tally)>,
    by_account: BTreeMap<String, Tally>,
    by_region: BTreeMap<String, Tally>,
    findings: Vec<&'a Row>,
    errors: Vec<&'a str>,
}

const HTML_TEMPLATE: &str = include_str!("report.html.j2");

fn html(report: &AuditReport) -> Result<String, ReportError> {
    let err = render_error("html");
    let by_check_map = report.tally_by(|r| r.check.to_string());
    let by_check = report
        .checks
        .iter()
        .map(|c| {
            (
                c.name.to_string(),
                c.summary,
                by_check_map.get(c.name).cloned().unwrap_or_default(),
            )
        })
        .collect();
    let ctx = HtmlContext {
        version: env!("CARGO_PKG_VERSION"),
        totals: report.totals(),
        groups: report.group_count(),
        by_check,
        by_account: report.tally_by(|r| or_dash(&r.account_id).to_string()),
        by_region: report.tally_by(|r| or_dash(&r.region).to_string()),
        findings: report
            .rows
            .iter()
            .filter(|r| r.compliance == Compliance::NonCompliant)
            .collect(),
        errors: report.errors.iter().map(|e| e.message.as_str()).collect(),
    };
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_filter("pct", |part: usize, total: usize| -> f64 {
        if total == 0 {
            0.0
        } else {
            (part as f64 * 1000.0 / total as f64).round() / 10.0
        }
    });
    env.add_template("report.html", HTML_TEMPLATE)
        .map_err(|e| err(e.to_string()))?;
    let tmpl = env
        .get_template("report.html")
        .map_err(|e| err(e.to_string()))?;
    tmpl.render(minijinja::Value::from_serialize(&ctx))
        .map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::sync::Arc;

    fn rows(n: usize) -> Vec<Row> {
        (0..n)
            .map(|i| Row {
                account_id: (i % 3 != 0).then(|| Arc::from("111122223333")),
                region: Some(Arc::from("eu-west-1")),
                group_id: Arc::from(format!("sg-{i:017x}")),
                group_name: None,
                vpc_id: None,
                check: "public-ingress",
                compliance: if i % 2 == 0 {
                    Compliance::NonCompliant
                } else {
                    Compliance::Compliant
                },
                annotation: Arc::from(format!("tag \"Ünïcode\\{i}\" <b>")),
            })
            .collect()
    }

    /// The chunked, parallel JSON writer gives exactly what one pretty serializer gives, across
    /// chunk boundaries and workers.
    #[rstest]
    #[case(0)]
    #[case(1)]
    #[case(2_048)]
    #[case(2_049)]
    #[case(9_000)]
    fn json_in_chunks_is_the_whole_list_byte_for_byte(#[case] n: usize) {
        let report = AuditReport {
            rows: rows(n),
            ..AuditReport::default()
        };
        let whole = serde_json::to_string_pretty(&Rows(&report.rows)).unwrap() + "\n";
        assert_eq!(render(&report, Format::Json).unwrap(), whole);
    }

    /// A writer that fails after `left` bytes.
    struct Full {
        left: usize,
    }

    impl std::io::Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.left == 0 {
                return Err(std::io::Error::other("disk full"));
            }
            let n = buf.len().min(self.left);
            self.left -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A write that fails mid-report is an error (the serializing threads stop), not a hang.
    #[test]
    fn json_write_failure_is_an_error() {
        let report = AuditReport {
            rows: rows(20_000),
            ..AuditReport::default()
        };
        let e = write(&report, Format::Json, &mut Full { left: 100_000 }).unwrap_err();
        assert!(e.to_string().contains("disk full"), "{e}");
    }
}
