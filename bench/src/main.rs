//! `make bench`: how fast the pure engine decides, how much memory a large sweep needs, and the
//! offline audit of a 100,000-group snapshot against its parse floor and the Python peer
//! (`bench/peer.py`), in one table.
//! Targets: a periodic sweep of a region at EC2's default quota (2,500 security groups), each group
//! with 20 ingress and 20 egress permissions, evaluated by every check in well under a second and with
//! a peak RSS under 100 MB (the CDK app gives the function 256 MB). `BENCH_GROUPS=10000` measures a
//! region at the raised quota (about 210 MB peak on the reference machine).

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::json;
use sg_compliance::checks::Check;
use sg_compliance::checks::{evaluate, Facts};
use sg_compliance::event::ConfigEvent;
use sg_compliance::model::SecurityGroup;
use sg_compliance_bench::{checks, group, snapshot, PERMS};

/// Resets the peak RSS counter (Linux `clear_refs` 5), so each phase reports its own peak.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// The allocator of the `sg-compliance` command (src/bin/sg-compliance.rs), so the audit measured
/// here is the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Each phase runs in its own process (`BENCH_ONLY=phase`), so each peak RSS is its own and not
/// what an earlier phase left in the allocator.
fn main() {
    let failed = match std::env::var("BENCH_ONLY").as_deref() {
        Ok("engine") => engine(),
        Ok("sweeps") => streaming_sweeps(),
        Ok("audit") => offline_audit(),
        Ok("audit-command") => audit_command(),
        Ok(other) => {
            eprintln!("bench: unknown BENCH_ONLY={other} (engine, sweeps or audit)");
            true
        }
        Err(_) => {
            let exe = std::env::current_exe().expect("own path");
            let mut failed = false;
            for phase in ["engine", "sweeps", "audit"] {
                let status = std::process::Command::new(&exe)
                    .env("BENCH_ONLY", phase)
                    .status();
                failed |= !status.is_ok_and(|s| s.success());
            }
            failed
        }
    };
    std::process::exit(i32::from(failed));
}

/// Events parsed and every check evaluated on a region of generated groups.
fn engine() -> bool {
    let groups_n: usize = std::env::var("BENCH_GROUPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_500);
    let mut failed = false;
    let mut report = |name: &str, took: Duration, target: Duration| {
        let ok = took <= target;
        failed |= !ok;
        println!(
            "{name:<48} {:>9.1} ms  (target {:>6} ms) {}",
            took.as_secs_f64() * 1e3,
            target.as_millis(),
            if ok { "ok" } else { "OVER" }
        );
    };

    let event = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/events/public-ingress-unauthorized.json"
    ))
    .unwrap();
    let start = Instant::now();
    for _ in 0..10_000 {
        black_box(ConfigEvent::from_json(black_box(&event)).unwrap());
    }
    report(
        "parse 10,000 change events",
        start.elapsed(),
        Duration::from_millis(1500),
    );

    let start = Instant::now();
    let groups: Vec<SecurityGroup> = (0..groups_n).map(group).collect();
    report(
        &format!("build {groups_n} groups x {PERMS} permissions"),
        start.elapsed(),
        Duration::from_millis(1000),
    );

    let checks: Vec<Check> = checks().into_iter().map(|(_, c)| c).collect();
    for check in &checks {
        let start = Instant::now();
        let mut non_compliant = 0;
        for g in &groups {
            let v = evaluate(check, g, &Facts::default());
            non_compliant +=
                usize::from(v.compliance() == sg_compliance::verdict::Compliance::NonCompliant);
        }
        black_box(non_compliant);
        report(
            &format!("evaluate {groups_n} groups: {}", check.name()),
            start.elapsed(),
            Duration::from_millis(500),
        );
    }
    let rss = peak_rss_mb();
    println!(
        "{:<48} {rss:>9.1} MB  (target    100 MB) {}",
        "peak RSS",
        if rss <= 100.0 { "ok" } else { "OVER" }
    );
    drop(groups);
    failed | (rss > 100.0)
}

/// A cloud that makes up its groups page by page (nothing held), and counts deliveries.
struct Generated {
    groups: usize,
    delivered: std::sync::atomic::AtomicUsize,
}

impl sg_compliance::cloud::Cloud for Generated {
    fn region(&self) -> Option<String> {
        None
    }
    async fn fetch_item(
        &self,
        _: &sg_compliance::event::ItemSummary,
    ) -> Result<sg_compliance::event::ConfigItem, sg_compliance::cloud::CloudError> {
        Err(sg_compliance::cloud::CloudError::Offline("not used"))
    }
    async fn security_group_page(
        &self,
        token: Option<String>,
    ) -> Result<sg_compliance::cloud::GroupPage, sg_compliance::cloud::CloudError> {
        let start: usize = token.and_then(|t| t.parse().ok()).unwrap_or(0);
        let end = (start + 1000).min(self.groups);
        let page = (start..end).map(|i| Ok(group(i))).collect();
        Ok((page, (end < self.groups).then(|| end.to_string())))
    }
    async fn evaluated_resources(
        &self,
        _: &str,
    ) -> Result<Vec<(String, String)>, sg_compliance::cloud::CloudError> {
        Ok(vec![])
    }
    async fn load_balancer_groups(
        &self,
        _: &std::collections::BTreeSet<sg_compliance::model::GroupId>,
    ) -> Result<
        std::collections::BTreeSet<sg_compliance::model::GroupId>,
        sg_compliance::cloud::CloudError,
    > {
        Ok(Default::default())
    }
    async fn prefix_lists(
        &self,
        _: &std::collections::BTreeSet<String>,
    ) -> Result<sg_compliance::exposure::PrefixLists, sg_compliance::cloud::CloudError> {
        Ok(Default::default())
    }
    async fn put_evaluations(
        &self,
        evaluations: &[sg_compliance::cloud::Evaluation],
        _: &sg_compliance::event::ResultToken,
    ) -> Result<(), sg_compliance::cloud::CloudError> {
        self.delivered
            .fetch_add(evaluations.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
    async fn security_group(
        &self,
        _: &sg_compliance::model::GroupId,
    ) -> Result<
        Option<Result<SecurityGroup, sg_compliance::model::ModelError>>,
        sg_compliance::cloud::CloudError,
    > {
        Ok(None)
    }
    async fn modify(
        &self,
        _: &sg_compliance::model::GroupId,
        _: &[sg_compliance::fix::Call],
        _: bool,
    ) -> Result<(), sg_compliance::cloud::CloudError> {
        Ok(())
    }
}

/// A periodic sweep evaluated and delivered page by page: peak memory must not grow with the
/// number of groups (target 64 MB for 10,000 and for 100,000 groups of 20+20 permissions).
fn streaming_sweeps() -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let event = ConfigEvent::from_value(json!({
        "invokingEvent": json!({"messageType": "ScheduledNotification", "notificationCreationTime": "2026-11-21T12:00:00.000Z"}).to_string(),
        "ruleParameters": json!({"check": "public-ingress", "blockedTcpPorts": "22,3389"}).to_string(),
        "resultToken": "t", "configRuleName": "r",
    }))
    .expect("event");
    let check = Check::from_params(&event.rule_parameters).expect("check");
    let mut failed = false;
    for n in [10_000, 100_000] {
        reset_peak_rss();
        let cloud = Generated {
            groups: n,
            delivered: Default::default(),
        };
        let start = Instant::now();
        let outcome = rt
            .block_on(sg_compliance::engine::evaluate_and_deliver(
                &cloud, &event, &check,
            ))
            .expect("sweep");
        let took = start.elapsed();
        let rss = peak_rss_mb();
        assert_eq!(cloud.delivered.into_inner(), n);
        assert_eq!(outcome.total(), n);
        let ok = rss <= 64.0;
        failed |= !ok;
        println!(
            "{:<48} {:>9.1} ms  {rss:>7.1} MB peak (target 64 MB) {}",
            format!("sweep + deliver {n} groups (streamed)"),
            took.as_secs_f64() * 1e3,
            if ok { "ok" } else { "OVER" }
        );
    }
    failed
}

/// One `sg-compliance audit` of BENCH_SNAPSHOT into BENCH_REPORT, its code in this process: prints
/// its time (ms) and peak RSS (MB).
fn audit_command() -> bool {
    let path = std::env::var_os("BENCH_SNAPSHOT").expect("BENCH_SNAPSHOT");
    let out = std::env::var_os("BENCH_REPORT").expect("BENCH_REPORT");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    reset_peak_rss();
    let start = Instant::now();
    let code = rt.block_on(sg_compliance::cli::main_with([
        "sg-compliance".as_ref(),
        "audit".as_ref(),
        "--input".as_ref(),
        path.as_os_str(),
        "--param".as_ref(),
        "tierTagKey=tier".as_ref(),
        "--param".as_ref(),
        "tierTagValue=web".as_ref(),
        "--param".as_ref(),
        "loadBalancerSecurityGroupIds=sg-0000000000000000f".as_ref(),
        "--param".as_ref(),
        "blockedTcpPorts=22".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        "--output".as_ref(),
        out.as_os_str(),
    ]
        as [&std::ffi::OsStr; 16]));
    let took = start.elapsed();
    black_box(code); // 1 (some groups non-compliant); the peer comparison checks the verdicts
    println!("{:.1} ms {:.1} MB", took.as_secs_f64() * 1e3, peak_rss_mb());
    false
}

/// The offline audit of a 100,000-group snapshot: the parse floor, the audit, and the Python peer.
fn offline_audit() -> bool {
    let n = 100_000;
    let dir = std::env::temp_dir().join(format!("sg-compliance-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // BENCH_SNAPSHOT=FILE keeps the snapshot between runs (for profiling the audit alone).
    let path =
        std::env::var_os("BENCH_SNAPSHOT").map_or_else(|| dir.join("snapshot.json"), Into::into);
    if !path.exists() {
        std::fs::write(&path, serde_json::to_vec(&snapshot(n)).expect("json")).expect("write");
        // On disk before anything is timed: the kernel's write-back would share the two cores.
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .expect("sync");
    }
    let size_mb = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;

    // Once untimed, so every measure reads the file from the page cache.
    drop(std::fs::read(&path).expect("read"));
    reset_peak_rss();
    let start = Instant::now();
    let bytes = std::fs::read(&path).expect("read");
    let _: serde::de::IgnoredAny = serde_json::from_slice(&bytes).expect("parse");
    drop(bytes);
    let floor = start.elapsed();

    // The command itself, as `sg-compliance audit` runs it, RUNS times, each in a process of its
    // own (so each peak RSS is its own): the median time, the highest peak.
    const RUNS: usize = 3;
    let out = dir.join("report.json");
    let exe = std::env::current_exe().expect("own path");
    let mut runs: Vec<(f64, f64)> = (0..RUNS)
        .map(|_| {
            // A new report each time, as in a fresh checkout (truncating the last run's 69 MB
            // file costs the kernel about 40 ms).
            let _ = std::fs::remove_file(&out);
            let run = std::process::Command::new(&exe)
                .env("BENCH_ONLY", "audit-command")
                .env("BENCH_SNAPSHOT", &path)
                .env("BENCH_REPORT", &out)
                .output()
                .expect("bench: run the audit");
            let text = String::from_utf8_lossy(&run.stdout);
            let mut figures = text
                .split_whitespace()
                .filter_map(|v| v.parse::<f64>().ok());
            match (run.status.success(), figures.next(), figures.next()) {
                (true, Some(ms), Some(mb)) => (ms, mb),
                _ => panic!(
                    "bench: the audit failed: {text} {}",
                    String::from_utf8_lossy(&run.stderr)
                ),
            }
        })
        .collect();
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let cli = Duration::from_secs_f64(runs[RUNS / 2].0 / 1e3);
    let cli_rss = runs.iter().map(|r| r.1).fold(0.0, f64::max);
    let spread = format!(
        "{:.0}-{:.0} ms over {RUNS} runs",
        runs[0].0,
        runs[RUNS - 1].0
    );
    let report_mb = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;

    // The parse alone: every group read into the model, page by page, nothing judged.
    let start = Instant::now();
    let bytes = std::fs::read(&path).expect("read");
    let mut parsed = 0;
    sg_compliance::inventory::describe_pages("snapshot", &bytes, 1_000, &mut |page| {
        parsed += page.len()
    })
    .expect("parse");
    assert_eq!(parsed, n);
    drop(bytes);
    let model = start.elapsed();

    // The report the command wrote, for the peer comparison.
    let text = std::fs::read_to_string(&out).expect("report");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).expect("report JSON");
    drop(text);
    let count = |name: &str| {
        rows.iter()
            .filter(|r| r["check"] == name && r["complianceType"] == "NON_COMPLIANT")
            .count()
    };
    let (web, ssh) = (count("web-tier"), count("public-ingress"));
    drop(rows);

    let start = Instant::now();
    let peer = std::process::Command::new("python3")
        .args([
            concat!(env!("CARGO_MANIFEST_DIR"), "/peer.py"),
            &path.display().to_string(),
            "sg-0000000000000000f",
        ])
        .output();
    let peer_time = start.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    let mut failed = false;
    println!(
        "{:<48} {:>9.1} ms  ({size_mb:.0} MB of JSON)",
        format!("parse floor: {n} groups into IgnoredAny"),
        floor.as_secs_f64() * 1e3
    );
    let rss_ok = cli_rss <= 2.0 * size_mb;
    let time_ok = cli <= Duration::from_secs(1);
    failed |= !(rss_ok && time_ok);
    println!(
        "{:<48} {:>9.1} ms  {cli_rss:>7.1} MB peak (median; {spread}, the highest peak; {:.1}x the floor; {report_mb:.0} MB report) (targets 1000 ms, {:.0} MB) {}",
        format!("sg-compliance audit: {n} groups, 2 checks, JSON"),
        cli.as_secs_f64() * 1e3,
        cli.as_secs_f64() / floor.as_secs_f64(),
        2.0 * size_mb,
        if rss_ok && time_ok { "ok" } else { "OVER" }
    );
    println!(
        "{:<48} {:>9.1} ms  (parse into the model only, nothing judged)",
        "  of which reading the snapshot",
        model.as_secs_f64() * 1e3,
    );
    match peer {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let counts: Vec<usize> = text
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            let agree = counts.get(1) == Some(&web) && counts.get(2) == Some(&ssh);
            failed |= !agree;
            println!(
                "{:<48} {:>9.1} ms  ours is {:.1}x faster; verdicts agree: {}",
                "python peer (bench/peer.py), same snapshot",
                peer_time.as_secs_f64() * 1e3,
                peer_time.as_secs_f64() / cli.as_secs_f64(),
                if agree {
                    "yes".to_string()
                } else {
                    format!("NO (ours {web} {ssh}, peer {text})")
                }
            );
        }
        other => println!("python peer: could not run ({other:?})"),
    }
    failed
}
