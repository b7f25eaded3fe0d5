//! The `sg-compliance` command line: the same engine as the Lambda, on an event file
//! (`evaluate`), on a whole account's or organization's security groups (`audit`), and the exact
//! fixes (`remediate`).

mod audit;
mod printing;
mod remediate;
mod scan;

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use std::collections::BTreeMap;

use clap::{Parser, Subcommand};

use crate::audit::AuditReport;
use crate::checks::Check;
use crate::params::ParamError;

use crate::cloud::InMemory;
use crate::cloud::{Cloud, CloudError};
use crate::engine::{evaluate_and_deliver, prepare, EngineError};
use crate::event::ConfigEvent;

#[derive(Parser)]
#[command(
    name = "sg-compliance",
    version,
    about = "AWS Config custom rule for EC2 security groups"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate a Config rule Lambda event and print the evaluations it would deliver.
    Evaluate {
        /// The event exactly as AWS Config sends it to the Lambda; `-` reads stdin.
        #[arg(long, value_name = "FILE")]
        event: String,
        /// Override a rule parameter (repeatable), e.g. --param ports=443.
        #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
        params: Vec<(String, String)>,
        /// Call AWS (default credential chain, honours AWS_ENDPOINT_URL) for oversized and scheduled
        /// events, load balancer and prefix-list look-ups.
        #[arg(long)]
        live: bool,
        /// Also deliver the evaluations with PutEvaluations (implies --live).
        #[arg(long)]
        deliver: bool,
    },
    /// Check every security group of files, a live account, an aggregator or an organization, and
    /// report (exit 0 all compliant, 1 some non-compliant, 2 bad input, 3 AWS failure).
    Audit(audit::AuditArgs),
    /// Print (or with --apply, perform) the exact fix of every non-compliant group: AWS CLI
    /// commands or API calls; exit 0 nothing to fix, 1 fixes pending or failed, 2 bad input, 3 AWS failure.
    Remediate(remediate::RemediateArgs),
    /// Check the security groups CloudFormation templates (JSON or YAML, `cdk synth` output) and
    /// Terraform plans (`terraform show -json PLANFILE`) define, before deploy; exit codes as
    /// the audit's. INSUFFICIENT_DATA: the verdict depends on a value known only at deploy.
    Scan(scan::ScanArgs),
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

/// Runs the CLI. `evaluate`: exit 0 on success, 2 on bad input, 1 when AWS fails; `audit`: see
/// [`audit::AuditArgs`]. Every error is one line on stderr.
pub async fn main() -> ExitCode {
    main_with(std::env::args_os()).await
}

/// [`main`] with the given command line (the program name first): for benchmarks and embedding.
pub async fn main_with<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let command = match cli.command {
        Command::Audit(args) => return audit::run(args).await,
        Command::Remediate(args) => return remediate::run(args).await,
        Command::Scan(args) => return scan::run(args),
        other => other,
    };
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sg-compliance: error: {e}");
            if e.is_input_error() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Help and version print as usual; a usage error is one line (`sg-compliance: error: …`), exit 2.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let text = e.render().to_string();
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ");
    eprintln!("sg-compliance: error: {first} (see --help)");
    ExitCode::from(2)
}

async fn run(command: Command) -> Result<(), EngineError> {
    let Command::Evaluate {
        event,
        params,
        live,
        deliver: send,
    } = command
    else {
        return Ok(());
    };
    let text = read_input(&event)?;
    let (event, check) = prepare(&text, &params)?;
    if live || send {
        #[cfg(feature = "aws")]
        {
            use crate::aws::{load_sdk_config, AwsCloud};
            let cloud = AwsCloud::new(&load_sdk_config().await);
            streamed(&cloud, send, &event, &check).await?;
        }
        #[cfg(not(feature = "aws"))]
        return Err(EngineError::NoAws);
    } else {
        streamed(&InMemory::offline(), false, &event, &check).await?;
    }
    Ok(())
}

/// Prints the evaluations as they are made (a sweep page by page), delivering them too with
/// `deliver`; the JSON list is closed whatever happens.
async fn streamed<C: Cloud>(
    cloud: &C,
    deliver: bool,
    event: &ConfigEvent,
    check: &Check,
) -> Result<(), EngineError> {
    let out = std::io::BufWriter::new(std::io::stdout());
    let printing = printing::Printing::new(cloud, deliver, out);
    let outcome = evaluate_and_deliver(&printing, event, check).await;
    printing
        .finish(outcome.is_ok())
        .map_err(|e| CloudError::Output(e.to_string()))?;
    let outcome = outcome?;
    // A sweep could not clear results of deleted groups: they stay until the next run.
    if let Some(why) = outcome
        .stale_cleanup
        .as_deref()
        .and_then(|s| s.strip_prefix("skipped: "))
    {
        eprintln!("sg-compliance: warning: stale-result clean-up skipped: {why}");
    }
    Ok(())
}

fn read_input(path: &str) -> Result<String, EngineError> {
    let mut text = String::new();
    let res = if path == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    res.map_err(|e| {
        crate::event::EventError::NotJson(format!("cannot read --event `{path}`: {e}")).into()
    })
    .map(|_| text)
}

/// The checks the CDK app enables by default (its SSH/RDP rule is `public-ingress` in deny-list
/// mode, whose findings the allow-list mode includes).
pub const DEFAULT_CHECKS: [&str; 2] = ["web-tier", "public-ingress"];
/// The web-tier tag the CDK app uses by default.
pub const DEFAULT_TIER_TAG: (&str, &str) = ("tier", "web");

/// The checks to run: `--check` names (default [`DEFAULT_CHECKS`]), each with the `--param`s it
/// declares. A parameter no selected check declares is an error.
pub fn build_checks(
    names: &[String],
    params: &[(String, String)],
) -> Result<Vec<Check>, ParamError> {
    let names: Vec<&str> = if names.is_empty() {
        DEFAULT_CHECKS.to_vec()
    } else {
        names.iter().map(String::as_str).collect()
    };
    let mut checks = Vec::new();
    let mut used = vec![false; params.len()];
    for name in &names {
        let Some((specs, _)) = Check::spec(name) else {
            return Err(ParamError::UnknownCheck {
                name: name.to_string(),
                valid: Check::NAMES.join(", "),
            });
        };
        let mut values = BTreeMap::from([("check".to_string(), name.to_string())]);
        for (i, (k, v)) in params.iter().enumerate() {
            if specs.iter().any(|s| s.name == k) {
                values.insert(k.clone(), v.clone());
                used[i] = true;
            }
        }
        if *name == "web-tier" && !values.contains_key("tierTagKey") {
            values.insert("tierTagKey".into(), DEFAULT_TIER_TAG.0.into());
            values
                .entry("tierTagValue".into())
                .or_insert_with(|| DEFAULT_TIER_TAG.1.into());
        }
        checks.push(Check::from_params(&values)?);
    }
    if let Some(i) = used.iter().position(|u| !u) {
        let valid: Vec<&str> = names
            .iter()
            .filter_map(|n| Check::spec(n))
            .flat_map(|(specs, _)| specs.iter().map(|s| s.name))
            .collect();
        let key = params[i].0.clone();
        let hint = Check::NAMES
            .iter()
            .find(|n| Check::spec(n).is_some_and(|(specs, _)| specs.iter().any(|s| s.name == key)))
            .map(|owner| {
                format!(" (`{key}` is a parameter of check `{owner}`: add --check {owner})")
            })
            .unwrap_or_default();
        return Err(ParamError::Unknown {
            key,
            check: "the selected checks",
            valid: valid.join(", "),
            hint,
        });
    }
    Ok(checks)
}

/// Writes the report to `output` (or stdout) in `format` (default: table on a terminal, JSON
/// otherwise); `all` shows every row of the table and Markdown reports.
pub(crate) fn write_report(
    report: &AuditReport,
    format: Option<crate::report::Format>,
    output: Option<&std::path::Path>,
    all: bool,
) -> Result<(), String> {
    let rows = if all {
        crate::report::Shown::All
    } else {
        crate::report::Shown::NonCompliant
    };
    let format = format.unwrap_or({
        if output.is_none() && std::io::stdout().is_terminal() {
            crate::report::Format::Table
        } else {
            crate::report::Format::Json
        }
    });
    match output {
        Some(path) => std::fs::File::create(path)
            .map_err(|e| e.to_string())
            .and_then(|file| emit(report, format, rows, file))
            .map_err(|e| format!("cannot write --output {}: {e}", path.display())),
        None => emit(report, format, rows, std::io::stdout().lock())
            .map_err(|e| format!("cannot write the report: {e}")),
    }
}

/// The current time as RFC 3339 (UTC), e.g. `2026-12-02T14:30:00Z`; `SOURCE_DATE_EPOCH` (the
/// reproducible-builds convention) fixes it for a reproducible report.
pub(crate) fn now_rfc3339() -> String {
    use aws_smithy_types::date_time::Format as DateTimeFormat;
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(now.secs());
    let whole = aws_smithy_types::DateTime::from_secs(secs);
    whole
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| format!("{} seconds after 1970", now.secs()))
}

/// Streams the report through a buffer.
fn emit(
    report: &AuditReport,
    format: crate::report::Format,
    rows: crate::report::Shown,
    out: impl Write,
) -> Result<(), String> {
    let mut out = std::io::BufWriter::new(out);
    crate::report::write(report, format, rows, &mut out).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())
}

#[cfg(test)]
mod checks_tests {
    use super::*;
    use rstest::rstest;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn default_checks_follow_the_cdk_defaults() {
        let checks = build_checks(&[], &[]).unwrap();
        let names: Vec<&str> = checks.iter().map(Check::name).collect();
        assert_eq!(names, DEFAULT_CHECKS);
        let Check::WebTier(w) = &checks[0] else {
            panic!()
        };
        assert_eq!(
            (w.tag_key.as_str(), w.tag_value.as_deref()),
            ("tier", Some("web"))
        );
        let custom = build_checks(&[], &p(&[("tierTagKey", "Tier")])).unwrap();
        let Check::WebTier(w) = &custom[0] else {
            panic!()
        };
        assert_eq!((w.tag_key.as_str(), w.tag_value.as_deref()), ("Tier", None));
    }

    #[rstest]
    #[case::unknown_param(&[], &[("tierTagkey", "x")], "unknown rule parameter `tierTagkey` for check `the selected checks`")]
    #[case::param_of_another_check(&["public-ingress"], &[("tierTagKey", "x")], "valid parameters are authorizedTcpPorts")]
    #[case::unknown_check(&["nope"], &[], "unknown check `nope`")]
    #[case::bad_value(&["public-ingress"], &[("blockedTcpPorts", "22x")], "`blockedTcpPorts` = `22x`")]
    fn bad_selections_are_errors(
        #[case] names: &[&str],
        #[case] params: &[(&str, &str)],
        #[case] needle: &str,
    ) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let err = build_checks(&names, &p(params)).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }
}
