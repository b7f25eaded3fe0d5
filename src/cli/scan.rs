//! `sg-compliance scan`: the checks on the security groups that templates and plans define, before
//! anything is deployed (shift-left), in the audit's report formats and exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::report::Format;
use crate::scan::scan_files;
use crate::template::read_parameters;

use super::{build_checks, now_rfc3339, write_report};

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// CloudFormation templates (JSON or YAML, e.g. cdk.out/*.template.json) and Terraform plans
    /// (`terraform show -json PLANFILE > plan.json`), told apart by their content; `-` reads
    /// standard input.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// A check to run (repeatable); default: web-tier and public-ingress.
    #[arg(long = "check", value_name = "CHECK")]
    checks: Vec<String>,
    /// A rule parameter for every selected check that has it (repeatable), e.g. --param tierTagKey=Tier.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = super::parse_param)]
    params: Vec<(String, String)>,
    /// CloudFormation parameter values: the AWS CLI's `--parameters file://…` JSON
    /// (`[{"ParameterKey": …, "ParameterValue": …}]`). Without it a parameter takes its Default.
    #[arg(long, value_name = "FILE")]
    parameters: Option<PathBuf>,
    /// Output format; default: table on a terminal, json otherwise. SARIF locates each finding
    /// in its file and line, for code scanning.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// In the table and Markdown reports, every row; by default only NON_COMPLIANT and
    /// INSUFFICIENT_DATA ones.
    #[arg(long)]
    all: bool,
}

/// Runs the scan; every error is one line on stderr. Exit 0 nothing NON_COMPLIANT, 1 some, 2 bad
/// input.
pub fn run(args: ScanArgs) -> ExitCode {
    match scan(args) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("sg-compliance: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn scan(args: ScanArgs) -> Result<u8, String> {
    let checks = build_checks(&args.checks, &args.params).map_err(|e| e.to_string())?;
    let parameters = match &args.parameters {
        Some(p) => read_parameters(p).map_err(|e| e.to_string())?,
        None => Default::default(),
    };
    let mut report = scan_files(&args.files, &parameters, &checks);
    let names: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
    let run: Vec<&str> = report.checks.iter().map(|c| c.name).collect();
    report.source = Some(format!(
        "the templates and plans {}, checks {}",
        names.join(", "),
        run.join(", ")
    ));
    report.made_at = Some(now_rfc3339());
    write_report(&report, args.format, args.output.as_deref(), args.all)?;
    for note in &report.notes {
        eprintln!("sg-compliance: {note}");
    }
    for e in &report.errors {
        eprintln!("sg-compliance: error: {}", e.message);
    }
    Ok(report.exit_code())
}
