//! `sg-compliance remediate`: the exact fix of every NON_COMPLIANT group, as AWS CLI commands or
//! API calls, and with `--apply` performed through the SDK, then verified by reading each group
//! again. Exit status: 0 nothing (left) to fix, 1 fixes pending or not all groups compliant
//! afterwards, 2 bad input, 3 AWS failure.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use super::build_checks;
use crate::checks::Check;
use crate::cloud::{CloudError, InMemory};
use crate::fix::Safety;
use crate::inventory::Inventory;
use crate::model::SecurityGroup;
use crate::remediate::{call_views, cli_commands, plan, CallView, Item};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanFormat {
    /// AWS CLI commands, one per API call, with the reason above them.
    Text,
    /// The API calls (`Operation`, `GroupId`, `IpPermissions`) per group and check.
    Json,
}

#[derive(clap::Args, Debug)]
pub struct RemediateArgs {
    /// Groups to plan fixes for, from a file (as `audit --input`); offline, plans only.
    #[arg(long, value_name = "FILE")]
    input: Vec<PathBuf>,
    /// `aws ec2 describe-network-interfaces` output, to tell load-balancer groups offline.
    #[arg(long = "network-interfaces", value_name = "FILE")]
    network_interfaces: Vec<PathBuf>,
    /// The groups of the credentials' account in the configured region (honours AWS_ENDPOINT_URL).
    #[arg(long)]
    live: bool,
    /// A check to fix (repeatable); default: web-tier and public-ingress.
    #[arg(long = "check", value_name = "CHECK")]
    checks: Vec<String>,
    /// A rule parameter for every selected check that has it (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = super::parse_param)]
    params: Vec<(String, String)>,
    /// Only these groups (repeatable).
    #[arg(long = "group-id", value_name = "ID")]
    group_ids: Vec<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: PlanFormat,
    /// Perform the plans (needs --live), after a confirmation; then re-read and re-evaluate.
    #[arg(long)]
    apply: bool,
    /// With --apply: do not ask.
    #[arg(long)]
    yes: bool,
    /// With --apply: EC2 DryRun, so missing permissions show up and nothing changes.
    #[arg(long = "dry-run")]
    dry_run: bool,
    /// Also show (and with --apply, apply) unsafe fixes: they drop what their note says. Without
    /// it their commands are printed commented out.
    #[arg(long = "unsafe")]
    allow_unsafe: bool,
    /// The region of offline inputs that carry none (describe output), for region-scoped
    /// parameters such as `loadBalancerSecurityGroupIds=eu-west-1:sg-…`.
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// The account's "rules per security group" quota, if raised from AWS's default 60.
    #[arg(long = "rules-quota", value_name = "N")]
    rules_quota: Option<usize>,
}

pub async fn run(args: RemediateArgs) -> ExitCode {
    match remediate(args).await {
        Ok(code) => ExitCode::from(code),
        Err((code, message)) => {
            eprintln!("sg-compliance: error: {message}");
            ExitCode::from(code)
        }
    }
}

type Failure = (u8, String);

fn input_error(e: impl std::fmt::Display) -> Failure {
    (2, e.to_string())
}

fn cloud_error(e: CloudError) -> Failure {
    match e {
        CloudError::Offline(_) => (
            2,
            format!(
                "{e} (or pass --network-interfaces FILE / --param loadBalancerSecurityGroupIds=…)"
            ),
        ),
        other => (3, other.to_string()),
    }
}

async fn remediate(args: RemediateArgs) -> Result<u8, Failure> {
    if args.input.is_empty() != args.live {
        return Err(input_error(
            "choose one source: --input FILE (plans only) or --live",
        ));
    }
    if (args.yes || args.dry_run) && !args.apply {
        return Err(input_error("--yes and --dry-run go with --apply"));
    }
    if let Some(q) = args.rules_quota {
        if q == 0 {
            return Err(input_error(
                "--rules-quota: expected a number of rules above 0",
            ));
        }
        // The port reads it from here (as the Lambda functions read their environment).
        std::env::set_var("SG_COMPLIANCE_RULES_QUOTA", q.to_string());
    }
    if args.apply && !args.live {
        return Err(input_error(
            "--apply needs --live: fixes are applied through the EC2 API",
        ));
    }
    if args.apply && !args.yes && !std::io::stdin().is_terminal() {
        return Err(input_error(
            "--apply asks for confirmation on a terminal: pass --yes to apply without a prompt",
        ));
    }
    let checks = build_checks(&args.checks, &args.params).map_err(input_error)?;
    if args.live {
        return live(&args, &checks).await;
    }
    let mut inventory = Inventory::default();
    for path in &args.input {
        let name = path.display().to_string();
        let read = inventory.read_file(path).map_err(input_error)?;
        if read.nothing_to_judge(&name).map_err(input_error)? {
            eprintln!("sg-compliance: no security groups in {name}");
        }
        if read.older > 0 {
            eprintln!("sg-compliance: {name}: judged the newest configuration item of each group; skipped {} older ones", read.older);
        }
    }
    for path in &args.network_interfaces {
        inventory.read_interfaces(path).map_err(input_error)?;
    }
    let mut items = Vec::new();
    let mut bad = 0;
    let mut seen: Vec<String> = Vec::new();
    for (scope, data) in inventory.scopes {
        let groups = select(data.groups.iter().cloned(), &args.group_ids, &mut bad);
        seen.extend(groups.iter().map(|g| g.group_id.to_string()));
        let region = scope.region.clone().or_else(|| args.region.clone());
        let cloud = InMemory {
            load_balancer_groups: data.load_balancer_groups,
            region: region.clone(),
            // Every group of the file, so a listed group's VPC is known.
            groups: Some(data.groups.clone()),
            ..InMemory::default()
        };
        let (found, _) = plan(&cloud, &checks, &groups).await.map_err(cloud_error)?;
        items.extend(found.into_iter().map(|i| (region.clone(), i)));
    }
    if let Some(id) = args.group_ids.iter().find(|id| !seen.contains(id)) {
        return Err(input_error(format!(
            "{id}: no such security group in {}",
            args.input
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    print_plans(&items, args.format, args.allow_unsafe)?;
    Ok(if bad > 0 {
        2
    } else if items.is_empty() {
        0
    } else {
        1
    })
}

/// Valid groups (limited to `ids` when given); invalid ones are reported and counted.
fn select(
    groups: impl Iterator<Item = Result<SecurityGroup, crate::model::ModelError>>,
    ids: &[String],
    bad: &mut usize,
) -> Vec<SecurityGroup> {
    groups
        .filter_map(|g| match g {
            Ok(g) => Some(g),
            Err(e) => {
                eprintln!("sg-compliance: error: {e}");
                *bad += 1;
                None
            }
        })
        .filter(|g| ids.is_empty() || ids.iter().any(|id| id == g.group_id.as_str()))
        .collect()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Reason<'a> {
    check: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanJson<'a> {
    group_id: String,
    group_name: Option<&'a str>,
    region: Option<&'a str>,
    /// The checks that found it NON_COMPLIANT, with their reasons.
    findings: Vec<Reason<'a>>,
    safe: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    unsafe_reason: Option<&'a str>,
    /// Checks the plan does not fix, with what to do by hand.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    manual: Vec<Reason<'a>>,
    calls: Vec<CallView>,
}

fn print_plans(
    items: &[(Option<String>, Item)],
    format: PlanFormat,
    show_unsafe: bool,
) -> Result<(), Failure> {
    let mut out = String::new();
    match format {
        PlanFormat::Json => {
            let rows: Vec<PlanJson> = items
                .iter()
                .map(|(region, i)| {
                    let plan = i.fix.plan.as_ref().filter(|_| i.fix.manual.is_empty());
                    PlanJson {
                        group_id: i.group.group_id.to_string(),
                        group_name: i.group.group_name.as_deref(),
                        region: region.as_deref(),
                        findings: i
                            .fix
                            .findings
                            .iter()
                            .map(|(c, a)| Reason {
                                check: c,
                                annotation: Some(a),
                                reason: None,
                            })
                            .collect(),
                        safe: plan.is_some_and(|p| p.safety == Safety::Safe),
                        unsafe_reason: plan.and_then(|p| match &p.safety {
                            Safety::Unsafe(r) => Some(r.as_str()),
                            Safety::Safe => None,
                        }),
                        manual: i
                            .fix
                            .manual
                            .iter()
                            .map(|(c, r)| Reason {
                                check: c,
                                annotation: None,
                                reason: Some(r),
                            })
                            .collect(),
                        calls: plan.map(|p| call_views(&i.group, p)).unwrap_or_default(),
                    }
                })
                .collect();
            out = serde_json::to_string_pretty(&rows).map_err(|e| (2, e.to_string()))?;
            out.push('\n');
        }
        PlanFormat::Text => {
            let (mut safe, mut risky, mut by_hand) = (0, 0, 0);
            for (region, i) in items {
                let name = i
                    .group
                    .group_name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                out.push_str(&format!("# {}{name}\n", i.group.group_id));
                for (check, reason) in &i.fix.findings {
                    out.push_str(&format!("#   {check}: {reason}\n"));
                }
                for (check, why) in &i.fix.manual {
                    out.push_str(&format!("# no automatic fix for {check}: {why}\n"));
                }
                match (&i.fix.plan, i.fix.manual.is_empty()) {
                    (Some(p), true) => {
                        let hidden = match &p.safety {
                            Safety::Unsafe(reason) => {
                                risky += 1;
                                out.push_str(&format!("# unsafe: {reason}\n"));
                                if !show_unsafe {
                                    out.push_str("# (commented out: pass --unsafe to use it)\n");
                                }
                                !show_unsafe
                            }
                            Safety::Safe => {
                                safe += 1;
                                false
                            }
                        };
                        for cmd in cli_commands(&i.group, p, region.as_deref()) {
                            for line in cmd.lines() {
                                if hidden {
                                    out.push_str("# ");
                                }
                                out.push_str(line);
                                out.push('\n');
                            }
                        }
                    }
                    _ => by_hand += 1,
                }
                out.push('\n');
            }
            out.push_str(&format!(
                "{} non-compliant groups: {safe} with a safe plan, {risky} with an unsafe plan{}, {by_hand} to fix by hand\n",
                items.len(),
                if risky > 0 && !show_unsafe {
                    " (commented out; --unsafe shows them)"
                } else {
                    ""
                }
            ));
        }
    }
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(|e| (2, format!("cannot write the plan: {e}")))
}

#[cfg(feature = "aws")]
fn confirm(count: usize) -> Result<(), Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(input_error(
            "--apply asks for confirmation on a terminal: pass --yes to apply without a prompt",
        ));
    }
    eprint!("Apply {count} fixes? [y/N] ");
    let mut answer = String::new();
    std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut answer)
        .map_err(|e| (2, e.to_string()))?;
    if answer.trim().eq_ignore_ascii_case("y") || answer.trim().eq_ignore_ascii_case("yes") {
        Ok(())
    } else {
        Err((1, "nothing applied".into()))
    }
}

#[cfg(not(feature = "aws"))]
async fn live(_: &RemediateArgs, _: &[Check]) -> Result<u8, Failure> {
    Err(input_error("this build has no AWS access (built without the `aws` feature): install the full CLI with `make install` or `cargo install --path .`"))
}

#[cfg(feature = "aws")]
async fn live(args: &RemediateArgs, checks: &[Check]) -> Result<u8, Failure> {
    use crate::aws::{load_sdk_config, AwsCloud};
    use crate::cloud::Cloud;
    use crate::remediate::{apply_item, RemediateError};
    let base = load_sdk_config().await;
    let region = base.region().map(|r| r.to_string());
    let cloud = AwsCloud::new(&base);
    let mut bad = 0;
    let listed = if args.group_ids.is_empty() {
        cloud.list_security_groups().await.map_err(cloud_error)?
    } else {
        let mut found = Vec::new();
        for id in &args.group_ids {
            let gid = crate::model::GroupId::parse(id).map_err(input_error)?;
            match cloud.security_group(&gid).await.map_err(cloud_error)? {
                Some(g) => found.push(g),
                None => {
                    return Err(input_error(format!(
                        "{id}: no such security group in {}",
                        region.as_deref().unwrap_or("this region")
                    )))
                }
            }
        }
        found
    };
    let groups = select(listed.into_iter(), &args.group_ids, &mut bad);
    let (items, facts) = plan(&cloud, checks, &groups).await.map_err(cloud_error)?;
    let tagged: Vec<(Option<String>, Item)> =
        items.iter().cloned().map(|i| (region.clone(), i)).collect();
    print_plans(&tagged, args.format, args.allow_unsafe)?;
    if !args.apply {
        return Ok(if bad > 0 {
            2
        } else if items.is_empty() {
            0
        } else {
            1
        });
    }
    let applicable: Vec<&Item> = items
        .iter()
        .filter(|i| i.fix.plan.is_some() && i.fix.manual.is_empty())
        .collect();
    if !args.yes && !applicable.is_empty() {
        confirm(applicable.len())?;
    }
    let mut failed = 0;
    let mut aws_failed = false;
    for item in &items {
        match apply_item(&cloud, item, &facts, args.dry_run, args.allow_unsafe).await {
            Ok(done) => {
                let what = if done.dry_run {
                    "dry run passed"
                } else {
                    "fixed"
                };
                eprintln!(
                    "sg-compliance: {} {}: {what}: {}",
                    done.group_id, done.check, done.annotation
                );
            }
            Err(e) => {
                aws_failed |= matches!(e, RemediateError::Cloud(_));
                failed += 1;
                eprintln!("sg-compliance: error: {e}");
            }
        }
    }
    Ok(if aws_failed {
        3
    } else if bad > 0 {
        2
    } else if failed > 0 {
        1
    } else {
        0
    })
}
