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
    write(report, format, Shown::NonCompliant, &mut out)?;
    String::from_utf8(out).map_err(|e| render_error("text")(e.to_string()))
}

/// Writes `report` as `format` to `out`. JSON and CSV, the formats of large audits, are written
/// row by row (never the whole document in memory); the others are rendered, then written.
/// The table and the Markdown report show `rows`; the machine formats always every row.
pub fn write(
    report: &AuditReport,
    format: Format,
    rows: Shown,
    out: &mut dyn std::io::Write,
) -> Result<(), ReportError> {
    let text = match format {
        Format::Table => table(report, presets::UTF8_HORIZONTAL_ONLY, true, rows),
        Format::Markdown => table(report, presets::ASCII_MARKDOWN, false, rows),
        Format::Json => return json(report, out),
        Format::Csv => return csv(report, out),
        Format::Sarif => sarif(report)?,
        Format::Html => html(report)?,
    };
    out.write_all(text.as_bytes())
        .map_err(|e| render_error("the report")(e.to_string()))
}

/// `N insufficient data, ` when a scan had verdicts that depend on values known only at deploy.
fn insufficient(t: &crate::audit::Tally) -> String {
    if t.insufficient_data > 0 {
        format!("{} insufficient data, ", t.insufficient_data)
    } else {
        String::new()
    }
}

/// Rows that need someone's attention: NON_COMPLIANT, and (`scan`) INSUFFICIENT_DATA.
fn needs_action(c: Compliance) -> bool {
    matches!(c, Compliance::NonCompliant | Compliance::InsufficientData)
}

/// `file:line` (or the file) of a row from `scan`.
fn location_text(r: &Row) -> Option<String> {
    r.location.as_ref().map(|(file, line)| match line {
        Some(n) => format!("{file}:{n}"),
        None => file.to_string(),
    })
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
        "{} groups, {} checks: {} non-compliant, {}{} compliant, {} not applicable{}",
        report.group_count(),
        report.checks.len(),
        t.non_compliant,
        insufficient(&t),
        t.compliant,
        t.not_applicable,
        if report.errors.is_empty() {
            String::new()
        } else {
            format!(", {} errors", report.errors.len())
        }
    )
}

/// A cell of the Markdown table: text that renders as itself (a group named `[text](https://…)`
/// is not a link, `*` is not emphasis, `|` does not end the cell, `<b>` is not HTML).
fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A CSV cell a spreadsheet shows as text: a value starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return would be read as a formula (OWASP's CSV injection), so it gets a leading `'`.
fn csv_text(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// Which rows the table and the Markdown report show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// Only what needs action: the NON_COMPLIANT rows.
    NonCompliant,
    /// Every row, NON_COMPLIANT first (`--all`).
    All,
}

/// The rows people read first: NON_COMPLIANT ones, then the rest (each part in report order).
fn action_first(report: &AuditReport, which: Shown) -> Vec<&Row> {
    let mut rows: Vec<&Row> = report
        .rows
        .iter()
        .filter(|r| needs_action(r.compliance))
        .collect();
    // The most reachable first (internet, latent, unattached, then findings without facts).
    rows.sort_by_key(|r| r.exposure.as_ref().map_or(u8::MAX, |(l, _)| *l as u8));
    if which == Shown::All {
        rows.extend(report.rows.iter().filter(|r| !needs_action(r.compliance)));
    }
    rows
}

/// `web-tier: 2 non-compliant, 10 compliant, 16 not applicable`, one line per check.
fn totals_per_check(report: &AuditReport) -> String {
    let by_check = report.tally_by(|r| r.check.to_string());
    let mut out = String::new();
    for c in &report.checks {
        let t = by_check.get(c.name).cloned().unwrap_or_default();
        out.push_str(&format!(
            "{}: {} non-compliant, {}{} compliant, {} not applicable\n",
            c.name,
            t.non_compliant,
            insufficient(&t),
            t.compliant,
            t.not_applicable
        ));
    }
    out
}

/// The terminal table and the Markdown report: what needs action first, the reason (with its fix)
/// given most of the width, the group and its name in one cell, account and region only when the
/// report has more than one, then totals per check and overall.
fn table(report: &AuditReport, preset: &str, wrap: bool, which: Shown) -> String {
    let rows = action_first(report, which);
    let scopes: std::collections::BTreeSet<(Option<&str>, Option<&str>)> = report
        .rows
        .iter()
        .map(|r| (r.account_id.as_deref(), r.region.as_deref()))
        .collect();
    let with_scope = scopes.len() > 1;
    let with_verdict = which == Shown::All;
    let cell = |text: &str| -> String {
        if wrap {
            text.to_string()
        } else {
            markdown_text(text)
        }
    };
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str(if which == Shown::All {
            "no rows\n"
        } else {
            "nothing needs action: no (group, check) is NON_COMPLIANT\n"
        });
    } else {
        let mut t = Table::new();
        t.load_preset(preset);
        if wrap {
            t.set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(TABLE_WIDTH);
        }
        let mut header = Vec::new();
        if with_scope {
            header.extend(["account", "region"]);
        }
        header.extend(["group", "check"]);
        if with_verdict {
            header.push("verdict");
        }
        header.push("reason and fix");
        t.set_header(header);
        if wrap {
            for column in t.column_iter_mut() {
                column.set_padding((0, 1));
            }
            t.remove_style(comfy_table::TableComponent::HorizontalLines);
            t.remove_style(comfy_table::TableComponent::MiddleIntersections);
            t.remove_style(comfy_table::TableComponent::LeftBorderIntersections);
            t.remove_style(comfy_table::TableComponent::RightBorderIntersections);
            // Identifiers never wrap (the group's name goes under its id); the reason takes the rest.
            use comfy_table::{ColumnConstraint::LowerBoundary, Width::Fixed};
            let widest = |f: &dyn Fn(&Row) -> usize, min: usize| {
                let w = rows.iter().map(|r| f(r)).max().unwrap_or(0).max(min);
                LowerBoundary(Fixed(w as u16 + 1))
            };
            let mut constraints = Vec::new();
            if with_scope {
                constraints.push(widest(&|r| or_dash(&r.account_id).len(), 7));
                constraints.push(widest(&|r| or_dash(&r.region).len(), 6));
            }
            constraints.push(widest(
                &|r| {
                    r.group_id
                        .len()
                        .max(location_text(r).map_or(0, |l| l.chars().count().min(40)))
                },
                5,
            ));
            constraints.push(widest(&|r| r.check.len(), 5));
            if with_verdict {
                constraints.push(widest(&|r| r.compliance.as_str().len(), 7));
            }
            constraints.push(LowerBoundary(Fixed(40)));
            t.set_constraints(constraints);
        }
        for r in &rows {
            let mut group = match (&r.group_name, wrap) {
                (Some(name), true) => {
                    format!("{}\n{}", r.group_id, crate::verdict::elide(name, 19))
                }
                (Some(name), false) => format!("{} ({})", r.group_id, name),
                (None, _) => r.group_id.to_string(),
            };
            if let Some(at) = location_text(r) {
                group.push_str(if wrap { "\n" } else { " at " });
                group.push_str(&at);
            }
            let mut cells = Vec::new();
            if with_scope {
                cells.push(cell(or_dash(&r.account_id)));
                cells.push(cell(or_dash(&r.region)));
            }
            cells.push(cell(&group));
            cells.push(cell(r.check));
            if with_verdict {
                cells.push(cell(verdict_text(r.compliance)));
            }
            match &r.exposure {
                Some((level, path)) => cells.push(cell(&format!(
                    "{} [exposure: {level}: {path}]",
                    r.annotation
                ))),
                None => cells.push(cell(&r.annotation)),
            }
            t.add_row(cells);
        }
        out.push_str(&t.to_string());
        out.push('\n');
    }
    let hidden = report.rows.len() - rows.len();
    if hidden > 0 {
        out.push_str(&format!(
            "({hidden} compliant or not applicable rows not shown: --all shows every row)\n"
        ));
    }
    out.push('\n');
    out.push_str(&totals_per_check(report));
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
    /// Effective exposure of a NON_COMPLIANT inbound finding, when network facts were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    exposure: Option<crate::reach::Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exposure_path: Option<&'a str>,
    /// `scan`: the file that defines the group, and the line.
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
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
            exposure: r.exposure.as_ref().map(|(l, _)| *l),
            exposure_path: r.exposure.as_ref().map(|(_, p)| &**p),
            file: r.location.as_ref().map(|(f, _)| &**f),
            line: r.location.as_ref().and_then(|(_, l)| *l),
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
    // `scan` reports also say where each group is defined (two more columns at the end).
    let located = report.rows.iter().any(|r| r.location.is_some());
    let mut header = vec![
        "accountId",
        "region",
        "groupId",
        "groupName",
        "vpcId",
        "check",
        "complianceType",
        "annotation",
        "exposure",
        "exposurePath",
    ];
    if located {
        header.extend(["file", "line"]);
    }
    w.write_record(&header).map_err(|e| err(e.to_string()))?;
    for r in &report.rows {
        let mut cells = vec![
            csv_text(r.account_id.as_deref().unwrap_or("")),
            csv_text(r.region.as_deref().unwrap_or("")),
            csv_text(&r.group_id),
            csv_text(r.group_name.as_deref().unwrap_or("")),
            csv_text(r.vpc_id.as_deref().unwrap_or("")),
            csv_text(r.check),
            csv_text(r.compliance.as_str()),
            csv_text(&r.annotation),
            csv_text(r.exposure.as_ref().map_or("", |(l, _)| l.as_str())),
            csv_text(r.exposure.as_ref().map_or("", |(_, p)| &**p)),
        ];
        if located {
            cells.push(csv_text(r.location.as_ref().map_or("", |(f, _)| &**f)));
            cells.push(
                r.location
                    .as_ref()
                    .and_then(|(_, l)| *l)
                    .map_or(String::new(), |l| l.to_string())
                    .into(),
            );
        }
        w.write_record(cells.iter().map(|c| c.as_bytes()))
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
        .filter(|r| needs_action(r.compliance))
        .map(|r| {
            let fqn = format!(
                "{}/{}/{}",
                or_dash(&r.account_id),
                or_dash(&r.region),
                r.group_id
            );
            // Effective exposure grades the finding: reachable now is an error, a latent or
            // unattached exposure a warning or a note; without network facts, an error.
            let level = match r.exposure.as_ref().map(|(l, _)| *l) {
                // The verdict waits on a value known only at deploy.
                _ if r.compliance == Compliance::InsufficientData => s::ResultLevel::Warning,
                None
                | Some(crate::reach::Level::Internet)
                | Some(crate::reach::Level::InternetViaLoadBalancer) => s::ResultLevel::Error,
                Some(crate::reach::Level::Latent) => s::ResultLevel::Warning,
                Some(crate::reach::Level::Unattached) => s::ResultLevel::Note,
            };
            let text = match &r.exposure {
                Some((l, p)) => format!("{} [exposure: {l}: {p}]", r.annotation),
                None => r.annotation.to_string(),
            };
            // `scan`: many groups of a plan share its one line, so the alert's identity is the
            // file, the group and the check (code scanning matches alerts across runs by it).
            let fingerprints = r.location.as_ref().map(|(file, _)| {
                std::collections::BTreeMap::from([(
                    "sgComplianceResource/v1".to_string(),
                    format!("{file}#{}#{}", r.group_id, r.check),
                )])
            });
            let mut result = s::Result::builder()
                .rule_id(r.check)
                .level(level)
                .message(s::Message::builder().text(text).build())
                .locations(vec![match &r.location {
                    // `scan`: the file (and line) that defines the group, for code scanning.
                    Some((file, line)) => s::Location::builder()
                        .physical_location(match line {
                            Some(n) => s::PhysicalLocation::builder()
                                .artifact_location(
                                    s::ArtifactLocation::builder()
                                        .uri(artifact_uri(file))
                                        .build(),
                                )
                                .region(s::Region::builder().start_line(*n as i64).build())
                                .build(),
                            None => s::PhysicalLocation::builder()
                                .artifact_location(
                                    s::ArtifactLocation::builder()
                                        .uri(artifact_uri(file))
                                        .build(),
                                )
                                .build(),
                        })
                        .logical_locations(vec![s::LogicalLocation::builder()
                            .name(&*r.group_id)
                            .kind("resource")
                            .build()])
                        .build(),
                    None => s::Location::builder()
                        .logical_locations(vec![s::LogicalLocation::builder()
                            .name(&*r.group_id)
                            .fully_qualified_name(fqn)
                            .kind("resource")
                            .build()])
                        .build(),
                }])
                .build();
            result.partial_fingerprints = fingerprints;
            result
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

/// A file path as a SARIF artifact URI: relative paths stay relative (code scanning resolves them
/// against the repository), with `/` separators and spaces and `%` escaped.
fn artifact_uri(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path).replace('\\', "/");
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '%' => out.push_str("%25"),
            '#' => out.push_str("%23"),
            '?' => out.push_str("%3F"),
            c => out.push(c),
        }
    }
    out
}

/// What the HTML template sees.
#[derive(Serialize)]
struct HtmlContext<'a> {
    version: &'static str,
    /// When the report was made and from what, so a reader next month knows how old it is.
    made_at: Option<&'a str>,
    source: Option<&'a str>,
    /// The tier map, a self-contained SVG (empty without a check that draws one).
    tier_map: minijinja::Value,
    totals: Tally,
    groups: usize,
    by_check: Vec<(String, &'a str, Tally)>,
    by_account: BTreeMap<String, Tally>,
    by_region: BTreeMap<String, Tally>,
    findings: Vec<HtmlFinding<'a>>,
    /// Whether any finding carries an effective exposure (a column then).
    has_exposure: bool,
    errors: Vec<&'a str>,
}

/// A finding as the HTML report shows it.
#[derive(Serialize)]
struct HtmlFinding<'a> {
    #[serde(flatten)]
    row: &'a Row,
    exposure_level: Option<&'static str>,
    exposure_path: Option<&'a str>,
    /// `scan`: where the group is defined (`file:line`).
    location: Option<String>,
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
        made_at: report.made_at.as_deref(),
        source: report.source.as_deref(),
        tier_map: minijinja::Value::from_safe_string(tier_map(report)),
        totals: report.totals(),
        groups: report.group_count(),
        by_check,
        by_account: report.tally_by(|r| or_dash(&r.account_id).to_string()),
        by_region: report.tally_by(|r| or_dash(&r.region).to_string()),
        findings: action_first(report, Shown::NonCompliant)
            .into_iter()
            .map(|r| HtmlFinding {
                row: r,
                exposure_level: r.exposure.as_ref().map(|(l, _)| l.as_str()),
                exposure_path: r.exposure.as_ref().map(|(_, p)| &**p),
                location: location_text(r),
            })
            .collect(),
        has_exposure: report.rows.iter().any(|r| r.exposure.is_some()),
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

/// Text for an SVG text node or attribute.
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The tier map: kinds of groups (tiers, `lb`) as nodes left to right by how far they are from a
/// tier nothing references, the references found between them as arrows with counts, red where
/// they break a rule. Plain SVG: no script, no link, nothing fetched.
fn tier_map(report: &AuditReport) -> String {
    use std::collections::BTreeSet;
    use std::fmt::Write;
    if report.graph.is_empty() {
        return String::new();
    }
    let nodes: BTreeSet<&str> = report
        .graph
        .keys()
        .flat_map(|e| [e.from.as_str(), e.to.as_str()])
        .collect();
    // Rank: 0 for nodes no other node points at, else one more than the highest source (a bounded
    // relaxation, so cycles end).
    let mut rank: BTreeMap<&str, usize> = nodes.iter().map(|n| (*n, 0)).collect();
    for _ in 0..nodes.len() {
        let mut changed = false;
        for e in report.graph.keys().filter(|e| e.from != e.to) {
            let want = rank[e.from.as_str()] + 1;
            if rank[e.to.as_str()] < want && want < nodes.len() {
                rank.insert(e.to.as_str(), want);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut columns: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for (n, r) in &rank {
        columns.entry(*r).or_default().push(n);
    }
    let (w, h, gap_x, gap_y) = (120.0, 40.0, 110.0, 40.0);
    let mut pos: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for (c, names) in &columns {
        for (i, n) in names.iter().enumerate() {
            pos.insert(
                n,
                (
                    20.0 + *c as f64 * (w + gap_x),
                    30.0 + i as f64 * (h + gap_y),
                ),
            );
        }
    }
    let width = 40.0 + columns.len() as f64 * (w + gap_x) - gap_x;
    let rows = columns.values().map(Vec::len).max().unwrap_or(1) as f64;
    let height = 60.0 + rows * (h + gap_y);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="tier map" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="system-ui, sans-serif" font-size="13">"##
    );
    svg.push_str(r##"<defs><marker id="a-ok" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#5b6570"/></marker><marker id="a-bad" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#b3261e"/></marker></defs>"##);
    for (e, n) in &report.graph {
        let (color, marker) = if e.allowed {
            ("#5b6570", "a-ok")
        } else {
            ("#b3261e", "a-bad")
        };
        let (fx, fy) = pos[e.from.as_str()];
        let (tx, ty) = pos[e.to.as_str()];
        let label = format!("{n} {}", if e.allowed { "allowed" } else { "breaking" });
        if e.from == e.to {
            let (x, y) = (fx + w / 2.0, fy);
            let _ = write!(
                svg,
                r##"<path d="M{:.0},{:.0} C{:.0},{:.0} {:.0},{:.0} {:.0},{:.0}" fill="none" stroke="{color}" stroke-width="1.6" marker-end="url(#{marker})"><title>{} → {}: {label}</title></path><text x="{:.0}" y="{:.0}" fill="{color}" text-anchor="middle">{n}</text>"##,
                x - 15.0,
                y,
                x - 25.0,
                y - 28.0,
                x + 25.0,
                y - 28.0,
                x + 15.0,
                y,
                xml_text(&e.from),
                xml_text(&e.to),
                x,
                y - 24.0
            );
            continue;
        }
        // From the right edge of the source to the left edge of the target (or across, when the
        // target is not further right); a breaking edge drawn a little apart from an allowed one.
        let shift = if e.allowed { -5.0 } else { 5.0 };
        let (x1, y1) = (fx + w, fy + h / 2.0 + shift);
        let (x2, y2) = if tx > fx {
            (tx, ty + h / 2.0 + shift)
        } else {
            (tx + w / 2.0, ty + h)
        };
        let _ = write!(
            svg,
            r##"<line x1="{x1:.0}" y1="{y1:.0}" x2="{x2:.0}" y2="{y2:.0}" stroke="{color}" stroke-width="1.6" marker-end="url(#{marker})"><title>{} → {}: {label}</title></line><text x="{:.0}" y="{:.0}" fill="{color}" text-anchor="middle">{n}</text>"##,
            xml_text(&e.from),
            xml_text(&e.to),
            (x1 + x2) / 2.0,
            (y1 + y2) / 2.0 - 4.0
        );
    }
    for (n, (x, y)) in &pos {
        let _ = write!(
            svg,
            r##"<rect x="{x:.0}" y="{y:.0}" width="{w:.0}" height="{h:.0}" rx="8" fill="#f4f6f8" stroke="#8a949e"/><text x="{:.0}" y="{:.0}" text-anchor="middle" font-weight="600">{}</text>"##,
            x + w / 2.0,
            y + h / 2.0 + 5.0,
            xml_text(n)
        );
    }
    svg.push_str("</svg>");
    svg
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
                exposure: None,
                location: None,
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
        let e = write(
            &report,
            Format::Json,
            Shown::All,
            &mut Full { left: 100_000 },
        )
        .unwrap_err();
        assert!(e.to_string().contains("disk full"), "{e}");
    }
}
