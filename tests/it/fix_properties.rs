//! The fix contract, property-tested over random groups (protocols tcp/udp/icmp/-1, port ranges
//! incl. 0-65535, IPv4/IPv6 CIDRs of every prefix length, split unions, group references, groups
//! near the 60-rule quota), for each check alone and for all of them at once. "The violation" is
//! computed here, independently of the planner and of `exposure`: for each sampled (protocol,
//! port) the check counts as offending, whether the rules admitting it add up to every public
//! address (a sweep over interval boundaries against this file's own table of IANA
//! special-purpose blocks); the violation is the (protocol, port, rule) triples where that holds
//! and the rule's source is wide (broader than /24 or /48) and holds a public address. For every
//! NON_COMPLIANT verdict with a plan:
//! 1. applied (with EC2's all-or-nothing semantics and the quota), no check is NON_COMPLIANT;
//! 2. nothing else changes: every (protocol, port, address) a rule allowed before that was not
//!    part of the violation is still allowed, and nothing new is (a plan may leave part of the
//!    violation when removing the rest ends it: the safe choice); unsafe plans may only lose
//!    protocols other than tcp, udp, icmp and icmpv6, which are not sampled;
//! 3. the same holds after every step: no intermediate state loses what stays;
//! 4. every call is exact (never NotFound/Duplicate/over the quota) and a second plan is empty.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use sg_compliance::checks::{plan_group, Check, Facts};
use sg_compliance::fix::{apply, rules_of, Fix, Peer, RuleSpec};
use sg_compliance::model::{GroupId, GroupRef, Permission, Protocol, SecurityGroup};
use sg_compliance::ports::{PortRange, PortSet};
use sg_compliance::verdict::Compliance;

const PORTS: [u16; 10] = [0, 21, 22, 23, 80, 443, 444, 3389, 8080, 65535];
const LB: &str = "sg-0bbbbbbbbbbbbbbb2";

fn ports() -> impl Strategy<Value = PortRange> {
    prop_oneof![
        Just(PortRange::ALL),
        (0..PORTS.len(), 0..PORTS.len()).prop_map(|(a, b)| PortRange::new(
            PORTS[a.min(b)],
            PORTS[a.max(b)]
        )
        .unwrap()),
    ]
}

fn v4() -> impl Strategy<Value = Ipv4Net> {
    prop_oneof![
        Just("0.0.0.0/0".parse().unwrap()),
        Just("0.0.0.0/1".parse().unwrap()),
        Just("128.0.0.0/1".parse().unwrap()),
        Just("10.0.0.0/8".parse().unwrap()),
        Just("203.0.113.0/24".parse().unwrap()),
        (0u8..=32, any::<u32>()).prop_map(|(l, a)| Ipv4Net::new(a.into(), l).unwrap().trunc()),
    ]
}

fn v6() -> impl Strategy<Value = Ipv6Net> {
    prop_oneof![
        Just("::/0".parse().unwrap()),
        Just("::/1".parse().unwrap()),
        Just("8000::/1".parse().unwrap()),
        Just("fd00::/8".parse().unwrap()),
        (0u8..=128, any::<u128>()).prop_map(|(l, a)| Ipv6Net::new(a.into(), l).unwrap().trunc()),
    ]
}

fn permission() -> impl Strategy<Value = Permission> {
    (
        prop_oneof![
            3 => Just(Protocol::Tcp),
            1 => Just(Protocol::Udp),
            1 => Just(Protocol::All),
            1 => Just(Protocol::Icmp)
        ],
        ports(),
        prop::collection::vec(v4(), 0..3),
        prop::collection::vec(v6(), 0..2),
        any::<bool>(),
    )
        .prop_map(|(protocol, ports, ipv4, ipv6, lb)| Permission {
            protocol,
            ports: if protocol.has_ports() {
                ports
            } else {
                PortRange::ALL
            },
            ipv4,
            ipv6,
            prefix_lists: vec![],
            groups: if lb {
                vec![GroupRef {
                    group_id: GroupId::parse(LB).unwrap(),
                    user_id: None,
                }]
            } else {
                vec![]
            },
            wire_ports: (protocol == Protocol::Icmp).then_some((-1, -1)),
            descriptions: vec![],
        })
}

/// Up to 58 narrow private rules, so some groups sit near the quota.
fn filler() -> impl Strategy<Value = Vec<Permission>> {
    prop_oneof![3 => Just(0usize), 1 => 50usize..=58].prop_map(|n| {
        (0..n)
            .map(|i| Permission {
                protocol: Protocol::Tcp,
                ports: PortRange::new(10_000 + i as u16, 10_000 + i as u16).unwrap(),
                ipv4: vec![format!("10.9.{i}.0/24").parse().unwrap()],
                ipv6: vec![],
                prefix_lists: vec![],
                groups: vec![],
                wire_ports: None,
                descriptions: vec![],
            })
            .collect()
    })
}

fn group(ingress: Vec<Permission>, egress: Vec<Permission>) -> SecurityGroup {
    // Through the rules, so every permission is in EC2's normal form (one rule per peer).
    SecurityGroup {
        group_id: GroupId::parse("sg-0aaaaaaaaaaaaaaa1").unwrap(),
        group_name: None,
        vpc_id: Some("vpc-1".into()),
        owner_id: None,
        tags: [("tier".to_string(), "web".to_string())].into(),
        ingress: sg_compliance::fix::permissions_of(&rules_of(&ingress)),
        egress: sg_compliance::fix::permissions_of(&rules_of(&egress)),
    }
}

/// Which (protocol, port) a check counts as a violation.
type Offends = Box<dyn Fn(Protocol, u16) -> bool>;

/// The checks with a fix, whether they judge ingress, and what they count as a violation.
fn cases() -> Vec<(Check, bool, Offends)> {
    let p = |pairs: &[(&str, &str)]| Check::from_pairs(pairs).unwrap();
    let allow = PortSet::parse("80,443").unwrap();
    let egress = PortSet::parse("443").unwrap();
    let deny = PortSet::parse("22,3389").unwrap();
    vec![
        (
            p(&[("check", "public-ingress")]),
            true,
            Box::new(move |proto, port| match proto {
                Protocol::Tcp => !allow.contains(port),
                Protocol::Udp => true,
                _ => false,
            }),
        ),
        (
            p(&[("check", "public-ingress"), ("blockedTcpPorts", "22,3389")]),
            true,
            Box::new(move |proto, port| proto == Protocol::Tcp && deny.contains(port)),
        ),
        (
            p(&[
                ("check", "public-egress"),
                ("authorizedEgressTcpPorts", "443"),
            ]),
            false,
            Box::new(move |proto, port| match proto {
                Protocol::Tcp => !egress.contains(port),
                Protocol::Udp => true,
                _ => false,
            }),
        ),
        (
            p(&[
                ("tierTagKey", "tier"),
                ("forbidPublicIngress", "true"),
                ("loadBalancerSecurityGroupIds", LB),
            ]),
            true,
            Box::new(|_, _| true),
        ),
    ]
}

fn admits(r: &RuleSpec, proto: Protocol, port: u16, addr: &IpAddr) -> bool {
    let proto_ok = r.protocol == Protocol::All || r.protocol == proto;
    let port_ok =
        !proto.has_ports() || r.protocol == Protocol::All || r.port_range().contains(port);
    let addr_ok = match &r.peer {
        Peer::Cidr(n) => n.contains(addr),
        _ => false,
    };
    proto_ok && port_ok && addr_ok
}

// ---- The oracle's own view of public address space (IANA special-purpose registries). ----

const NOT_PUBLIC_V4: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/3",
];
const PUBLIC_INSIDE_V4: &[&str] = &["192.0.0.9/32", "192.0.0.10/32"];
const NOT_PUBLIC_V6: &[&str] = &[
    "::/3",
    "4000::/2",
    "8000::/1",
    "2001::/23",
    "2001:db8::/32",
    "2002::/16",
    "3fff::/20",
];
const PUBLIC_INSIDE_V6: &[&str] = &[
    "2001:1::1/128",
    "2001:1::2/128",
    "2001:1::3/128",
    "2001:3::/32",
    "2001:4:112::/48",
    "2001:20::/28",
    "2001:30::/28",
];

fn span(n: &IpNet) -> (u128, u128) {
    match n {
        IpNet::V4(n) => (
            u32::from(n.network()).into(),
            u32::from(n.broadcast()).into(),
        ),
        IpNet::V6(n) => (n.network().into(), n.broadcast().into()),
    }
}

fn nets(list: &[&str]) -> Vec<IpNet> {
    list.iter().map(|c| c.parse().unwrap()).collect()
}

fn is_public_point(v6: bool, a: u128) -> bool {
    let (not, inside) = if v6 {
        (nets(NOT_PUBLIC_V6), nets(PUBLIC_INSIDE_V6))
    } else {
        (nets(NOT_PUBLIC_V4), nets(PUBLIC_INSIDE_V4))
    };
    let within = |list: &[IpNet]| {
        list.iter().any(|n| {
            let (lo, hi) = span(n);
            lo <= a && a <= hi
        })
    };
    within(&inside) || !within(&not)
}

/// Every stretch of one family's address space between the boundaries of `extra` and of the
/// table, as (first address, last address).
fn stretches(v6: bool, extra: &[IpNet]) -> Vec<(u128, u128)> {
    let top: u128 = if v6 { u128::MAX } else { u32::MAX.into() };
    let table = if v6 {
        [nets(NOT_PUBLIC_V6), nets(PUBLIC_INSIDE_V6)].concat()
    } else {
        [nets(NOT_PUBLIC_V4), nets(PUBLIC_INSIDE_V4)].concat()
    };
    let mut cuts: Vec<u128> = vec![0];
    for n in table.iter().chain(extra) {
        let (lo, hi) = span(n);
        cuts.push(lo);
        if hi < top {
            cuts.push(hi + 1);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts.iter()
        .enumerate()
        .map(|(i, &lo)| (lo, cuts.get(i + 1).map_or(top, |next| next - 1)))
        .collect()
}

/// Whether `sources` (one family) together hold every public address.
pub(crate) fn covers_internet(v6: bool, sources: &[IpNet]) -> bool {
    stretches(v6, sources).into_iter().all(|(lo, _)| {
        !is_public_point(v6, lo)
            || sources.iter().any(|n| {
                let (a, b) = span(n);
                a <= lo && lo <= b
            })
    })
}

/// Whether a source is wide (broader than /24, /48) and holds a public address.
fn wide_public(n: &IpNet) -> bool {
    let v6 = matches!(n, IpNet::V6(_));
    let wide = n.prefix_len() < if v6 { 48 } else { 24 };
    let (a, b) = span(n);
    wide && stretches(v6, &[*n])
        .into_iter()
        .any(|(lo, hi)| lo >= a && hi <= b && is_public_point(v6, lo))
}

/// The sampled cells: (protocol, port, IPv6?); icmp goes with IPv4, icmpv6 with IPv6.
fn cells() -> Vec<(Protocol, u16, bool)> {
    let mut out = Vec::new();
    for v6 in [false, true] {
        for p in [Protocol::Tcp, Protocol::Udp] {
            for port in PORTS {
                out.push((p, port, v6));
            }
        }
        out.push((if v6 { Protocol::Icmpv6 } else { Protocol::Icmp }, 0, v6));
    }
    out
}

/// The violation of one check on `rules`: the (cell, rule) pairs the fix may remove.
fn violation(rules: &[RuleSpec], offending: &Offends) -> Vec<((Protocol, u16, bool), RuleSpec)> {
    let mut out = Vec::new();
    for cell in cells() {
        let (proto, port, v6) = cell;
        if !offending(proto, port) {
            continue;
        }
        let through: Vec<&RuleSpec> = rules
            .iter()
            .filter(|r| {
                let proto_ok = r.protocol == Protocol::All || r.protocol == proto;
                let port_ok = !proto.has_ports()
                    || r.protocol == Protocol::All
                    || r.port_range().contains(port);
                proto_ok
                    && port_ok
                    && matches!(&r.peer, Peer::Cidr(n) if matches!(n, IpNet::V6(_)) == v6)
            })
            .collect();
        let sources: Vec<IpNet> = through
            .iter()
            .filter_map(|r| match &r.peer {
                Peer::Cidr(n) => Some(*n),
                _ => None,
            })
            .collect();
        if !covers_internet(v6, &sources) {
            continue;
        }
        for r in through {
            if matches!(&r.peer, Peer::Cidr(n) if wide_public(n)) {
                out.push((cell, r.clone()));
            }
        }
    }
    out
}

/// Sample addresses: the ends of every CIDR in the group, and fixed probes.
fn addresses(rules: &[RuleSpec]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = [
        "8.8.8.8",
        "10.1.2.3",
        "203.0.113.7",
        "2001:db8::1",
        "2600::5",
        "fd00::5",
        "0.0.0.0",
        "255.255.255.255",
    ]
    .iter()
    .map(|a| a.parse().unwrap())
    .collect();
    for r in rules {
        if let Peer::Cidr(n) = &r.peer {
            out.push(n.network());
            out.push(n.broadcast());
        }
    }
    out
}

/// Checks on every sampled (cell, address) that `kept ⊆ now ⊆ before`, where kept = admitted
/// before by a rule whose (cell, rule) pair is not in `violation`: nothing beyond the violation
/// is lost (a plan may leave part of the violation when the rest already ends it, the safer
/// choice) and nothing is added.
fn same_access(
    before: &[RuleSpec],
    now: &[RuleSpec],
    violation: &[((Protocol, u16, bool), RuleSpec)],
) -> Result<(), String> {
    for addr in addresses(before) {
        for cell in cells() {
            let (proto, port, v6) = cell;
            if addr.is_ipv6() != v6 {
                continue;
            }
            let was = before.iter().any(|r| admits(r, proto, port, &addr));
            let kept = before.iter().any(|r| {
                admits(r, proto, port, &addr)
                    && !violation.iter().any(|(c, v)| *c == cell && v == r)
            });
            let after = now.iter().any(|r| admits(r, proto, port, &addr));
            if (kept && !after) || (after && !was) {
                return Err(format!(
                    "{proto}/{port} from {addr}: before {was}, kept {kept}, after {after}"
                ));
            }
        }
    }
    Ok(())
}

fn rules(sg: &SecurityGroup, inbound: bool) -> Vec<RuleSpec> {
    rules_of(if inbound { &sg.ingress } else { &sg.egress })
}

/// The contract for one plan over `checks` (their violations united).
fn holds(
    sg: &SecurityGroup,
    plan: &sg_compliance::fix::Plan,
    checks: &[(&Check, bool, &Offends)],
) -> Result<(), TestCaseError> {
    holds_with(sg, plan, checks, &facts())
}

fn holds_with(
    sg: &SecurityGroup,
    plan: &sg_compliance::fix::Plan,
    checks: &[(&Check, bool, &Offends)],
    facts: &Facts,
) -> Result<(), TestCaseError> {
    let facts = facts.clone();
    let after = apply(sg, &plan.calls)
        .map_err(|e| TestCaseError::fail(format!("{e}; plan {}", plan.summary())))?;
    for (check, _, _) in checks {
        prop_assert_ne!(
            check.evaluate(&after, &facts).compliance(),
            Compliance::NonCompliant,
            "{}: {}",
            check.name(),
            plan.summary()
        );
        prop_assert_eq!(
            check.fix(&after, &facts),
            Fix::Nothing,
            "a second plan is empty"
        );
    }
    for inbound in [true, false] {
        let before = rules(sg, inbound);
        let mut v = Vec::new();
        for (_, dir, off) in checks {
            if *dir == inbound {
                v.extend(violation(&before, off));
            }
        }
        same_access(&before, &rules(&after, inbound), &v)
            .map_err(|e| TestCaseError::fail(format!("{e}; plan {}", plan.summary())))?;
        // No step loses what stays.
        for k in 1..plan.calls.len() {
            let mid =
                apply(sg, &plan.calls[..k]).map_err(|e| TestCaseError::fail(e.to_string()))?;
            same_access(&before, &rules(&mid, inbound), &v).map_err(|e| {
                TestCaseError::fail(format!("step {k}: {e}; plan {}", plan.summary()))
            })?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: crate::support::cases(200), ..ProptestConfig::default() })]

    #[test]
    fn every_plan_changes_only_the_violation(
        ingress in prop::collection::vec(permission(), 0..5),
        egress in prop::collection::vec(permission(), 0..4),
        fill in filler(),
    ) {
        let sg = group([ingress, fill].concat(), egress);
        // EC2 never holds more rules than the quota.
        let count = |perms: &[Permission]| sg_compliance::fix::Quota::default().count(&rules_of(perms));
        let (i4, i6) = count(&sg.ingress);
        let (e4, e6) = count(&sg.egress);
        prop_assume!(i4.max(i6).max(e4).max(e6) <= 60);
        let facts = facts();
        let cases = cases();
        for (check, inbound, offending) in &cases {
            let (verdict, fix) = check.judge(&sg, &facts);
            if verdict.compliance() != Compliance::NonCompliant {
                prop_assert_eq!(&fix, &Fix::Nothing);
                continue;
            }
            match &fix {
                Fix::Plan(plan) => holds(&sg, plan, &[(check, *inbound, offending)])?,
                // Only the quota may stand in the way (no prefix lists here).
                Fix::Manual(why) => prop_assert!(why.contains("quota"), "{}: {why} for {}", check.name(), verdict.annotation()),
                Fix::Nothing => prop_assert!(false, "no fix for a NON_COMPLIANT verdict"),
            }
        }
        // All the checks at once: one plan that ends every violation.
        let all: Vec<Check> = cases.iter().map(|(c, _, _)| c.clone()).collect();
        let fix = plan_group(&all, &sg, &facts);
        if let (Some(plan), true) = (&fix.plan, fix.manual.is_empty()) {
            let with: Vec<(&Check, bool, &Offends)> = cases.iter().map(|(c, i, o)| (c, *i, o)).collect();
            holds(&sg, plan, &with)?;
        } else if !fix.findings.is_empty() {
            prop_assert!(fix.manual.iter().all(|(_, why)| why.contains("quota")), "{:?}", fix.manual);
        }
    }
}

/// The load balancer's group is in the judged group's VPC.
fn facts() -> Facts {
    Facts {
        group_vpcs: [(GroupId::parse(LB).unwrap(), "vpc-1".to_string())].into(),
        ..Facts::default()
    }
}

/// The cases, each a plan that must keep the access named.
#[test]
fn plans_keep_what_is_not_the_finding() {
    let facts = facts();
    let p = |pairs: &[(&str, &str)]| Check::from_pairs(pairs).unwrap();
    let tcp = |port: i64, cidr: &str| serde_json::json!({"ipProtocol": "tcp", "fromPort": port, "toPort": port, "ipRanges": [cidr]});
    let sg = |perms: serde_json::Value| {
        sg_compliance::model::from_config_item(&serde_json::json!({"groupId": "sg-0aaaaaaaaaaaaaaa1", "vpcId": "vpc-1", "ipPermissions": perms}), &[("tier".to_string(), "web".to_string())].into()).unwrap()
    };
    let summary = |check: &Check, g: &SecurityGroup| match check.fix(g, &facts) {
        Fix::Plan(plan) => format!("{:?}: {}", plan.safety, plan.summary()),
        other => format!("{other:?}"),
    };
    // The partner's /16 on 9000 is not the finding.
    let g = sg(serde_json::json!([
        tcp(22, "0.0.0.0/0"),
        tcp(9000, "198.51.0.0/16")
    ]));
    assert_eq!(
        summary(&p(&[("check", "public-ingress")]), &g),
        "Safe: revoke tcp/22 from 0.0.0.0/0"
    );
    // AWS's sg-6fbb3807 example: 1433 from the internet; 3389 from 207.171.160.0/19 stays.
    let g = sg(serde_json::json!([
        tcp(1433, "0.0.0.0/0"),
        tcp(3389, "207.171.160.0/19")
    ]));
    assert_eq!(
        summary(&p(&[("check", "public-ingress")]), &g),
        "Safe: revoke tcp/1433 from 0.0.0.0/0"
    );
    // Deny-list: 22 from the internet less one /32 is not a finding; 3389 is.
    let mut less_one: Vec<serde_json::Value> = Vec::new();
    let ranges: Vec<String> = (1..=32u8)
        .map(|len| {
            let bit = 1u32 << (32 - len);
            let base = u32::from(std::net::Ipv4Addr::new(8, 8, 8, 8)) ^ bit;
            Ipv4Net::new(base.into(), len).unwrap().trunc().to_string()
        })
        .collect();
    for r in &ranges {
        less_one.push(tcp(22, r));
    }
    less_one.push(tcp(3389, "0.0.0.0/0"));
    let g = sg(serde_json::json!(less_one));
    let deny = p(&[("check", "public-ingress"), ("blockedTcpPorts", "22,3389")]);
    assert_eq!(summary(&deny, &g), "Safe: revoke tcp/3389 from 0.0.0.0/0");
    // web-tier forbidPublicIngress: icmp and esp from the internet; the office /16 on 22 stays.
    let g = sg(serde_json::json!([
        {"ipProtocol": "icmp", "fromPort": -1, "toPort": -1, "ipRanges": ["0.0.0.0/0"]},
        {"ipProtocol": "50", "ipRanges": ["0.0.0.0/0"]},
        tcp(22, "203.128.0.0/16"),
        {"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "userIdGroupPairs": [{"groupId": LB}]}
    ]));
    let web = p(&[
        ("tierTagKey", "tier"),
        ("forbidPublicIngress", "true"),
        ("loadBalancerSecurityGroupIds", LB),
    ]);
    let s = summary(&web, &g);
    assert!(!s.contains("203.128.0.0/16"), "{s}");
    assert!(s.starts_with("Safe: revoke"), "{s}");
    // Prefer the safe plan: revoking tcp/22 from 128.0.0.0/1 alone ends it.
    let g = sg(
        serde_json::json!([{"ipProtocol": "-1", "ipRanges": ["0.0.0.0/1"]}, tcp(22, "128.0.0.0/1")]),
    );
    let ssh = p(&[("check", "public-ingress"), ("blockedTcpPorts", "22")]);
    assert_eq!(summary(&ssh, &g), "Safe: revoke tcp/22 from 128.0.0.0/1");
    // The internet less private space is the internet.
    let halves: Vec<serde_json::Value> = [
        "0.0.0.0/5",
        "8.0.0.0/7",
        "11.0.0.0/8",
        "12.0.0.0/6",
        "16.0.0.0/4",
        "32.0.0.0/3",
        "64.0.0.0/2",
        "128.0.0.0/3",
        "160.0.0.0/5",
        "168.0.0.0/6",
        "172.0.0.0/12",
        "172.32.0.0/11",
        "172.64.0.0/10",
        "172.128.0.0/9",
        "173.0.0.0/8",
        "174.0.0.0/7",
        "176.0.0.0/4",
        "192.0.0.0/9",
        "192.128.0.0/11",
        "192.160.0.0/13",
        "192.169.0.0/16",
        "192.170.0.0/15",
        "192.172.0.0/14",
        "192.176.0.0/12",
        "192.192.0.0/10",
        "193.0.0.0/8",
        "194.0.0.0/7",
        "196.0.0.0/6",
        "200.0.0.0/5",
        "208.0.0.0/4",
        "224.0.0.0/3",
    ]
    .iter()
    .map(|c| tcp(22, c))
    .collect();
    let g = sg(serde_json::json!(halves));
    let v = ssh.evaluate(&g, &facts);
    assert_eq!(
        v.compliance(),
        Compliance::NonCompliant,
        "{}",
        v.annotation()
    );
    assert!(
        v.annotation().contains("every public IPv4 address"),
        "{}",
        v.annotation()
    );
    // A source wholly in special-purpose space is not public.
    let g = sg(serde_json::json!([
        tcp(22, "169.254.0.0/16"),
        tcp(22, "127.0.0.0/8")
    ]));
    assert_eq!(ssh.evaluate(&g, &facts).compliance(), Compliance::Compliant);
}

/// Several checks on one group: one plan, applied in order, ends both.
#[test]
fn one_plan_across_checks() {
    let facts = facts();
    let web = Check::from_pairs(&[
        ("tierTagKey", "tier"),
        ("forbidPublicIngress", "true"),
        ("loadBalancerSecurityGroupIds", LB),
    ])
    .unwrap();
    let public = Check::from_pairs(&[("check", "public-ingress")]).unwrap();
    let g = sg_compliance::model::from_config_item(
        &serde_json::json!({"groupId": "sg-0aaaaaaaaaaaaaaa1", "vpcId": "vpc-1", "ipPermissions": [
            {"ipProtocol": "tcp", "fromPort": 0, "toPort": 65535, "ipRanges": ["0.0.0.0/0"]},
            {"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "userIdGroupPairs": [{"groupId": LB}]}
        ]}),
        &[("tier".to_string(), "web".to_string())].into(),
    )
    .unwrap();
    for order in [[web.clone(), public.clone()], [public.clone(), web.clone()]] {
        let fix = plan_group(&order, &g, &facts);
        assert!(fix.manual.is_empty(), "{:?}", fix.manual);
        let plan = fix.plan.unwrap();
        assert_eq!(plan.summary(), "revoke tcp/0-65535 from 0.0.0.0/0");
        let after = apply(&g, &plan.calls).unwrap();
        for c in &order {
            assert_eq!(
                c.evaluate(&after, &facts).compliance(),
                Compliance::Compliant
            );
        }
    }
}

/// Every bundled fixture: one plan per group across every check with a fix, applied in order
/// with EC2's semantics, ends every violation it plans for and loses nothing else (the same
/// independent oracle).
#[test]
fn remediating_every_fixture_ends_the_violations_and_keeps_the_rest() {
    use sg_compliance::inventory::Inventory;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let cases = cases();
    let checks: Vec<Check> = cases.iter().map(|(c, _, _)| c.clone()).collect();
    let mut planned = 0;
    for file in [
        "audit/organization.json",
        "audit/describe-security-groups.json",
        "describe/seed-example.json",
        "remediate/groups.json",
    ] {
        let mut inv = Inventory::default();
        inv.read_file(&root.join(file)).unwrap();
        for data in inv.scopes.values() {
            for sg in data.groups.iter().flatten() {
                let mut facts = facts();
                if let Some(vpc) = &sg.vpc_id {
                    facts.group_vpcs = [(GroupId::parse(LB).unwrap(), vpc.clone())].into();
                }
                let fix = plan_group(&checks, sg, &facts);
                let Some(plan) = &fix.plan else { continue };
                if !fix.manual.is_empty() {
                    continue;
                }
                planned += 1;
                let with: Vec<(&Check, bool, &Offends)> =
                    cases.iter().map(|(c, i, o)| (c, *i, o)).collect();
                if let Err(e) = holds_with(sg, plan, &with, &facts) {
                    panic!("{file} {}: {e}", sg.group_id);
                }
            }
        }
    }
    assert!(planned >= 5, "only {planned} groups had a plan");
}
