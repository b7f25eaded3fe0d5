//! `make bench`: how fast the pure engine decides, and how much memory a large sweep needs.
//! Targets: a periodic sweep of a region at EC2's default quota (2,500 security groups), each group
//! with 20 ingress and 20 egress permissions, evaluated by every check in well under a second and with
//! a peak RSS under 100 MB (the CDK app gives the function 256 MB). `BENCH_GROUPS=10000` measures a
//! region at the raised quota (about 210 MB peak on the reference machine).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::json;
use sg_compliance::checks::Check;
use sg_compliance::checks::{evaluate, Facts};
use sg_compliance::event::ConfigEvent;
use sg_compliance::model::{from_config_item, SecurityGroup};

const PERMS: usize = 20;

fn group(i: usize) -> SecurityGroup {
    let perms: Vec<_> = (0..PERMS)
        .map(|j| {
            let port = 1000 + (i * 7 + j * 13) % 5000;
            json!({"ipProtocol": if j % 5 == 0 { "udp" } else { "tcp" }, "fromPort": port, "toPort": port + j,
                   "ipRanges": [format!("{}.{}.0.0/{}", j % 2 * 128, i % 256, 1 + j % 24)],
                   "ipv6Ranges": [{"cidrIpv6": format!("{:x}::/{}", 0x2000 + j, 16 + j)}],
                   "userIdGroupPairs": [{"groupId": format!("sg-{:017x}", j)}]})
        })
        .collect();
    let conf = json!({"groupId": format!("sg-{i:017x}"), "ipPermissions": perms, "ipPermissionsEgress": perms,
                      "tags": [{"key": "tier", "value": "web"}]});
    from_config_item(&conf, &BTreeMap::new()).expect("bench group")
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

fn main() {
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
        "/fixtures/events/public-ingress-unauthorized.json"
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

    let p = |pairs: &[(&str, &str)]| Check::from_pairs(pairs).unwrap();
    let checks = [
        p(&[
            ("tierTagKey", "tier"),
            ("forbidPublicIngress", "true"),
            ("loadBalancerSecurityGroupIds", "sg-00000000000000001"),
        ]),
        p(&[("check", "public-ingress")]),
        p(&[("check", "public-ingress"), ("blockedTcpPorts", "22,3389")]),
        p(&[
            ("check", "public-egress"),
            ("authorizedEgressTcpPorts", "443"),
        ]),
        p(&[("check", "broad-private-ingress")]),
    ];
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
    if failed || rss > 100.0 {
        std::process::exit(1);
    }
}
