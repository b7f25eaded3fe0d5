//! `make bench`, per group (criterion): what one group costs the engine, check by check, with the
//! statistics a single timing in the table cannot give. Parsing one change event; each check's
//! verdict on a group of 20 ingress + 20 egress permissions, and its verdict with the verified fix
//! (what the audit and `remediate` pay for a NON_COMPLIANT group); and reading
//! `describe-security-groups` output into the model, per group.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sg_compliance::checks::Facts;
use sg_compliance::event::ConfigEvent;
use sg_compliance_bench::{checks, group, snapshot};

/// The allocator of the `sg-compliance` command and the Lambda functions.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn per_group(c: &mut Criterion) {
    let event = include_str!("../../fixtures/events/public-ingress-unauthorized.json");
    c.bench_function("parse one change event", |b| {
        b.iter(|| ConfigEvent::from_json(black_box(event)).expect("fixture"))
    });

    let g = group(7);
    let facts = Facts::default();
    let mut verdicts = c.benchmark_group("one group of 20+20 permissions");
    for (label, check) in checks() {
        let verdict = check.evaluate(&g, &facts).compliance().as_str();
        verdicts.bench_function(format!("{label}: verdict ({verdict})"), |b| {
            b.iter(|| check.evaluate(black_box(&g), &facts))
        });
        if verdict == "NON_COMPLIANT" {
            verdicts.bench_function(format!("{label}: verdict + verified fix"), |b| {
                b.iter(|| check.judge(black_box(&g), &facts))
            });
        }
    }
    verdicts.finish();

    const GROUPS: usize = 1_000;
    let bytes = serde_json::to_vec(&snapshot(GROUPS)).expect("snapshot");
    let mut read = c.benchmark_group("describe-security-groups output");
    read.throughput(Throughput::Elements(GROUPS as u64));
    read.bench_function("1,000 groups into the model", |b| {
        b.iter(|| {
            let mut n = 0;
            sg_compliance::inventory::describe_pages(
                "bench",
                black_box(&bytes),
                GROUPS,
                &mut |p| n += p.len(),
            )
            .expect("snapshot");
            n
        })
    });
    read.finish();
}

criterion_group! {
    name = benches;
    // Short: `make bench` runs this after the table; the statistics hold at this sample size.
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2)).sample_size(50);
    targets = per_group
}
criterion_main!(benches);
