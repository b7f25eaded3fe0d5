//! The fix contract, property-tested over random groups (protocols tcp/udp/icmp/-1, port ranges
//! incl. 0-65535, IPv4/IPv6 CIDRs of every prefix length, split unions, group references). For
//! every NON_COMPLIANT verdict with a plan:
//! 1. applied to the group (with EC2's all-or-nothing semantics), the check is no longer NON_COMPLIANT;
//! 2. nothing else changes: a (protocol, port, address) is allowed afterwards exactly when a rule
//!    allowed it before that was not a wide public source on an offending port (safe plans; unsafe
//!    plans may only lose protocols other than tcp and udp);
//! 3. only wide public sources (broader than /24 or /48, outside private space) are revoked;
//! 4. authorizations come before revocations;
//! 5. every call is exact (applying never hits NotFound/Duplicate) and a second plan is empty.

use std::net::IpAddr;

use ipnet::{Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use sg_compliance::checks::{Check, Facts};
use sg_compliance::fix::{apply, is_wide_public, rules_of, Action, Fix, Peer, RuleSpec, Safety};
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

/// Sample addresses: the ends of every CIDR in the group, and fixed probes.
fn addresses(rules: &[RuleSpec]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = [
        "8.8.8.8",
        "10.1.2.3",
        "203.0.113.7",
        "2001:db8::1",
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn every_plan_keeps_the_fix_contract(
        ingress in prop::collection::vec(permission(), 0..5),
        egress in prop::collection::vec(permission(), 0..4),
    ) {
        let sg = group(ingress, egress);
        let facts = Facts::default();
        for (check, inbound, offending) in cases() {
            let (verdict, fix) = check.judge(&sg, &facts);
            if verdict.compliance() != Compliance::NonCompliant {
                prop_assert_eq!(&fix, &Fix::Nothing);
                continue;
            }
            let plan = match &fix {
                Fix::Plan(plan) => plan,
                // Without prefix lists, revoking wide public sources always ends the violation.
                other => return Err(TestCaseError::fail(format!("{}: no plan: {other:?} for {}", check.name(), verdict.annotation()))),
            };
            // 4. authorizations first.
            let first_revoke = plan.calls.iter().position(|c| c.action == Action::Revoke).unwrap_or(plan.calls.len());
            prop_assert!(plan.calls[first_revoke..].iter().all(|c| c.action == Action::Revoke));
            // 3. only wide public sources are revoked.
            for c in plan.calls.iter().filter(|c| c.action == Action::Revoke) {
                for r in &c.rules {
                    prop_assert!(matches!(&r.peer, Peer::Cidr(n) if is_wide_public(n)), "{} revokes {}", check.name(), r);
                }
            }
            // 5. exact: EC2 would accept every call; 1. the check is satisfied.
            let after = apply(&sg, &plan.calls).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_ne!(check.evaluate(&after, &facts).compliance(), Compliance::NonCompliant);
            prop_assert_eq!(check.fix(&after, &facts), Fix::Nothing, "a second plan is empty");
            // 2. nothing else changes.
            let (before_rules, after_rules) = if inbound {
                (rules_of(&sg.ingress), rules_of(&after.ingress))
            } else {
                (rules_of(&sg.egress), rules_of(&after.egress))
            };
            let protocols: &[Protocol] = match plan.safety {
                Safety::Safe => &[Protocol::Tcp, Protocol::Udp, Protocol::Icmp],
                Safety::Unsafe(_) => &[Protocol::Tcp, Protocol::Udp],
            };
            for addr in addresses(&before_rules) {
                for &proto in protocols {
                    for port in PORTS {
                        let kept = before_rules.iter().any(|r| {
                            admits(r, proto, port, &addr)
                                && !(matches!(&r.peer, Peer::Cidr(n) if is_wide_public(n)) && offending(proto, port))
                        });
                        let now = after_rules.iter().any(|r| admits(r, proto, port, &addr));
                        prop_assert_eq!(now, kept, "{}: {} {}/{} from {}; plan {}", check.name(), verdict.annotation(), proto, port, addr, plan.summary());
                    }
                }
            }
            // Group references are never touched.
            let refs = |rules: &[RuleSpec]| rules.iter().filter(|r| matches!(r.peer, Peer::Group(_))).count();
            prop_assert!(refs(&after_rules) >= refs(&before_rules));
        }
    }
}
