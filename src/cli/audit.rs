//! `sg-compliance audit`: the audit command's arguments, the checks it runs, its inputs (files,
//! a live account, a Config aggregator, an organization) and its output.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::audit::{audit_files, AuditReport};
use crate::checks::Check;
use crate::report::Format;

use super::{build_checks, now_rfc3339, write_report};

#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// A file to audit (repeatable): `aws ec2 describe-security-groups` output, `aws configservice
    /// select-resource-config` / `select-aggregate-resource-config` output, or a list of configuration items.
    #[arg(long, value_name = "FILE")]
    input: Vec<PathBuf>,
    /// `aws ec2 describe-network-interfaces` output, to tell load-balancer groups offline (repeatable).
    #[arg(long = "network-interfaces", value_name = "FILE")]
    network_interfaces: Vec<PathBuf>,
    /// A check to run (repeatable); default: web-tier and public-ingress.
    #[arg(long = "check", value_name = "CHECK")]
    checks: Vec<String>,
    /// A rule parameter for every selected check that has it (repeatable), e.g. --param tierTagKey=Tier.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = super::parse_param)]
    params: Vec<(String, String)>,
    /// Output format; default: table on a terminal, json otherwise.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Audit the account of the default credential chain (honours AWS_ENDPOINT_URL).
    #[arg(long)]
    live: bool,
    /// With --live or --org: comma-separated regions, or `all` (default: the configured region).
    #[arg(long, value_name = "REGIONS")]
    regions: Option<String>,
    /// Read every account's and region's groups from this AWS Config aggregator.
    #[arg(long, value_name = "NAME")]
    aggregator: Option<String>,
    /// Audit every active account of the organization, assuming --role-name in each.
    #[arg(long)]
    org: bool,
    /// In the table and Markdown reports, every row (NON_COMPLIANT first); by default only the
    /// NON_COMPLIANT ones. JSON, CSV, SARIF and HTML are not affected.
    #[arg(long)]
    all: bool,
    /// With --org: the role to assume in each member account.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "OrganizationAccountAccessRole"
    )]
    role_name: String,
}

/// Where the groups come from.
enum Source {
    Files,
    Live,
    Aggregator(String),
    Org,
}

/// Runs the audit; every error is one line on stderr.
pub async fn run(args: AuditArgs) -> ExitCode {
    match audit(args).await {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("sg-compliance: error: {message}");
            ExitCode::from(2)
        }
    }
}

async fn audit(args: AuditArgs) -> Result<u8, String> {
    let source = source(&args)?;
    let checks = build_checks(&args.checks, &args.params).map_err(|e| e.to_string())?;
    let (mut report, from) = match source {
        Source::Files => {
            let names: Vec<String> = args
                .input
                .iter()
                .chain(&args.network_interfaces)
                .map(|p| p.display().to_string())
                .collect();
            (
                audit_files(&args.input, &args.network_interfaces, &checks)
                    .await
                    .map_err(|e| e.to_string())?,
                format!("the files {}", names.join(", ")),
            )
        }
        Source::Live => (
            live::regions(&checks, args.regions.as_deref()).await?,
            format!(
                "the live account (regions: {})",
                args.regions.as_deref().unwrap_or("the configured region")
            ),
        ),
        Source::Aggregator(name) => (
            live::aggregator(&checks, &name).await?,
            format!("the AWS Config aggregator {name}"),
        ),
        Source::Org => (
            live::organization(&checks, args.regions.as_deref(), &args.role_name).await?,
            format!(
                "every account of the organization through {} (regions: {})",
                args.role_name,
                args.regions.as_deref().unwrap_or("the configured region")
            ),
        ),
    };
    let checks_run: Vec<&str> = report.checks.iter().map(|c| c.name).collect();
    report.source = Some(format!("{from}, checks {}", checks_run.join(", ")));
    report.made_at = Some(now_rfc3339());
    write(&report, &args)?;
    for note in &report.notes {
        eprintln!("sg-compliance: {note}");
    }
    for e in &report.errors {
        eprintln!("sg-compliance: error: {}", e.message);
    }
    let code = report.exit_code();
    // The process ends next: freeing every row one by one (200,000 of them take 25 ms) is left
    // to the end of the process.
    std::mem::forget(report);
    Ok(code)
}

fn source(args: &AuditArgs) -> Result<Source, String> {
    let mut sources = Vec::new();
    if !args.input.is_empty() {
        sources.push("--input");
    }
    if args.live {
        sources.push("--live");
    }
    if args.aggregator.is_some() {
        sources.push("--aggregator");
    }
    if args.org {
        sources.push("--org");
    }
    match sources.as_slice() {
        [] => Err("nothing to audit: pass --input FILE (e.g. the output of `aws ec2 describe-security-groups`), --live, --aggregator NAME or --org".into()),
        [_] => {
            if args.regions.is_some() && !(args.live || args.org) {
                return Err("--regions needs --live or --org".into());
            }
            if !args.network_interfaces.is_empty() && args.input.is_empty() {
                return Err("--network-interfaces needs --input (live audits look load balancers up themselves)".into());
            }
            Ok(if args.live {
                Source::Live
            } else if let Some(name) = &args.aggregator {
                Source::Aggregator(name.clone())
            } else if args.org {
                Source::Org
            } else {
                Source::Files
            })
        }
        many => Err(format!("{} cannot be combined: choose one source", many.join(" and "))),
    }
}

fn write(report: &AuditReport, args: &AuditArgs) -> Result<(), String> {
    write_report(report, args.format, args.output.as_deref(), args.all)
}

/// Without the `aws` feature, the live sources say how to get them.
#[cfg(not(feature = "aws"))]
mod live {
    use super::*;

    const NO_AWS: &str = "this build has no AWS access (built without the `aws` feature): install the full CLI with `make install` or `cargo install --path .`";

    pub async fn regions(_: &[Check], _: Option<&str>) -> Result<AuditReport, String> {
        Err(NO_AWS.into())
    }
    pub async fn aggregator(_: &[Check], _: &str) -> Result<AuditReport, String> {
        Err(NO_AWS.into())
    }
    pub async fn organization(
        _: &[Check],
        _: Option<&str>,
        _: &str,
    ) -> Result<AuditReport, String> {
        Err(NO_AWS.into())
    }
}

#[cfg(feature = "aws")]
mod live {
    //! The live sources: regions of one account concurrently, a Config aggregator, or every
    //! active account of the organization through an assumed role.

    use super::*;
    use crate::audit::{audit_scope, scope_error, AuditError, ErrorKind};
    use crate::aws::{self, AwsCloud};
    use crate::inventory::Scope;
    use aws_config::SdkConfig;
    use futures::stream::{self, StreamExt};
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use std::io::IsTerminal;

    /// At most this many regions or accounts are audited at once.
    const CONCURRENCY: usize = 4;

    /// With --org, at most this many accounts at once, each with CONCURRENCY regions: EC2 meters
    /// each account and region apart, so more accounts add no throttling, and the round trips of
    /// some overlap the others' judging.
    const ACCOUNTS_AT_ONCE: usize = 6;

    /// Requests a second to a Config aggregator, shared by every partition
    /// (`SG_COMPLIANCE_AGGREGATOR_RPS` overrides it). AWS does not publish this quota in its
    /// reference; throttling beyond it is retried by the SDK's adaptive mode.
    const AGGREGATOR_REQUESTS_PER_SECOND: f64 = 5.0;

    /// Partitions in flight at once: enough that one judging its results never leaves the shared
    /// request rate unused; each holds at most its own results (a few MB).
    const AGGREGATOR_PARTITIONS_AT_ONCE: usize = 16;

    fn progress(len: usize, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(
            Some(len as u64),
            if std::io::stderr().is_terminal() {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        if let Ok(style) =
            ProgressStyle::with_template(&format!("{{bar:30}} {{pos}}/{{len}} {what} {{msg}}"))
        {
            bar.set_style(style);
        }
        bar
    }

    async fn region_list(base: &SdkConfig, regions: Option<&str>) -> Result<Vec<String>, String> {
        match regions.map(str::trim) {
            Some("all") => aws::enabled_regions(base).await.map_err(|e| e.to_string()),
            Some(list) => {
                let list: Vec<String> = list
                    .split(',')
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty())
                    .collect();
                if list.is_empty() {
                    return Err(
                        "--regions is empty: name regions (eu-west-1,us-east-1) or `all`".into(),
                    );
                }
                Ok(list)
            }
            None => base.region().map(|r| vec![r.to_string()]).ok_or_else(|| {
                "no AWS region configured: pass --regions eu-west-1,… or set AWS_REGION".to_string()
            }),
        }
    }

    /// Audits `regions` of one account (the credentials' own, or `account` when assumed).
    async fn audit_regions(
        base: &SdkConfig,
        account: Option<&str>,
        regions: &[String],
        checks: &[Check],
        bar: &ProgressBar,
    ) -> AuditReport {
        let parts: Vec<AuditReport> = stream::iter(regions.iter().cloned())
            .map(|region| async move {
                let cloud = AwsCloud::new(&aws::in_region(base, &region));
                let scope = Scope {
                    account_id: account.map(str::to_string),
                    region: Some(region),
                };
                let mut part = AuditReport::new(checks);
                if let Err(e) = audit_scope(&cloud, &scope, checks, &mut part).await {
                    part.errors.push(scope_error(&scope, &e));
                }
                bar.inc(1);
                part
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut report = AuditReport::new(checks);
        for p in parts {
            report.absorb(p);
        }
        report
    }

    pub async fn regions(checks: &[Check], regions: Option<&str>) -> Result<AuditReport, String> {
        let base = aws::load_sdk_config().await;
        let regions = region_list(&base, regions).await?;
        let bar = progress(regions.len(), "regions");
        let mut report = audit_regions(&base, None, &regions, checks, &bar).await;
        bar.finish_and_clear();
        report.sort();
        Ok(report)
    }

    pub async fn aggregator(checks: &[Check], name: &str) -> Result<AuditReport, String> {
        let base = aws::load_sdk_config().await;
        // Throttling is answered by the SDK's adaptive retry (client-side rate limiting).
        let config = aws_sdk_config::config::Builder::from(&base)
            .retry_config(aws_config::retry::RetryConfig::adaptive().with_max_attempts(8))
            .build();
        let client = aws_sdk_config::Client::from_conf(config);
        let partitions = aws::aggregate_partitions(&client, name)
            .await
            .map_err(|e| e.to_string())?;
        let rate: f64 = std::env::var("SG_COMPLIANCE_AGGREGATOR_RPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|r: &f64| *r > 0.0)
            .unwrap_or(AGGREGATOR_REQUESTS_PER_SECOND);
        let limiter = aws::RateLimiter::new(rate);
        let bar = progress(partitions.len(), "accounts and regions");
        // Each partition is read, judged and dropped as it completes: memory holds the rows and
        // at most CONCURRENCY partitions' results.
        let parts: Vec<Result<AuditReport, String>> = stream::iter(partitions.iter())
            .map(|p| {
                let (client, limiter, bar) = (&client, &limiter, &bar);
                async move {
                    let results = aws::select_partition(client, name, p, limiter)
                        .await
                        .map_err(|e| format!("{}/{}: {e}", p.account_id, p.region))?;
                    // Judged off the request tasks' threads, so a partition's judging never
                    // holds back another's next request.
                    let label = format!("aggregator {name} {}/{}", p.account_id, p.region);
                    let owned = checks.to_vec();
                    let report = tokio::task::spawn_blocking(move || {
                        let mut inventory = crate::inventory::Inventory::default();
                        inventory
                            .add_json(&label, serde_json::json!({ "Results": results }))
                            .map_err(|e| e.to_string())?;
                        Ok::<_, String>(futures::executor::block_on(crate::audit::audit_inventory(
                            inventory, &owned,
                        )))
                    })
                    .await
                    .map_err(|e| e.to_string())??;
                    bar.inc(1);
                    Ok(report)
                }
            })
            .buffer_unordered(AGGREGATOR_PARTITIONS_AT_ONCE)
            .collect()
            .await;
        bar.finish_and_clear();
        let mut report = AuditReport::new(checks);
        for part in parts {
            match part {
                Ok(p) => report.absorb(p),
                Err(message) => report.errors.push(AuditError {
                    kind: ErrorKind::Aws,
                    message,
                }),
            }
        }
        report.sort();
        Ok(report)
    }

    pub async fn organization(
        checks: &[Check],
        regions: Option<&str>,
        role_name: &str,
    ) -> Result<AuditReport, String> {
        let base = aws::load_sdk_config().await;
        let regions = region_list(&base, regions).await?;
        let accounts = aws::active_accounts(&base)
            .await
            .map_err(|e| e.to_string())?;
        let own = aws::own_account(&base).await.map_err(|e| e.to_string())?;
        let own = own.as_str();
        let bar = progress(accounts.len() * regions.len(), "account regions");
        // Each account is its own task, so accounts are read and judged on every core.
        let checks: std::sync::Arc<[Check]> = checks.into();
        let parts: Vec<AuditReport> = stream::iter(accounts)
            .map(|account| {
                let (base, regions, bar) = (base.clone(), regions.clone(), bar.clone());
                let (own, role_name) = (own.to_string(), role_name.to_string());
                let (checks, all) = (checks.clone(), checks.clone());
                let task = tokio::spawn(async move {
                    let (base, regions, bar, checks) = (&base, &regions, &bar, &checks[..]);
                    // The credentials' own account (the management or delegated-administrator
                    // account) is audited as it is: the member role is not deployed there.
                    if account == own {
                        return audit_regions(base, Some(&account), regions, checks, bar).await;
                    }
                    let role = format!("arn:aws:iam::{account}:role/{role_name}");
                    match aws::assume_role(base, &role).await {
                        Ok(assumed) => {
                            audit_regions(&assumed, Some(&account), regions, checks, bar).await
                        }
                        Err(e) => {
                            bar.inc(regions.len() as u64);
                            let mut part = AuditReport::new(checks);
                            part.errors.push(AuditError {
                                kind: ErrorKind::Aws,
                                message: format!("account {account} skipped: {e}"),
                            });
                            part
                        }
                    }
                });
                async move {
                    task.await.unwrap_or_else(|e| {
                        let mut part = AuditReport::new(&all);
                        part.errors.push(AuditError {
                            kind: ErrorKind::Aws,
                            message: format!("an account's audit stopped: {e}"),
                        });
                        part
                    })
                }
            })
            .buffer_unordered(ACCOUNTS_AT_ONCE)
            .collect()
            .await;
        bar.finish_and_clear();
        let mut report = AuditReport::new(&checks);
        for p in parts {
            report.absorb(p);
        }
        report.sort();
        Ok(report)
    }
}
