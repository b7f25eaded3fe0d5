//! Property tests of the set semantics: splitting a CIDR into sub-prefixes never changes a verdict,
//! adding a permission never turns NON_COMPLIANT into COMPLIANT for the public checks, and the
//! public verdict agrees with an independent interval oracle over prefixes of every length.

use ipnet::{Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use sg_compliance::checks::Check;
use sg_compliance::checks::{evaluate, Facts};
use sg_compliance::model::{GroupId, Permission, Protocol, SecurityGroup};
use sg_compliance::ports::PortRange;
use sg_compliance::verdict::Compliance;

const PORTS: [u16; 12] = [0, 21, 22, 23, 79, 80, 81, 442, 443, 444, 3389, 65535];

fn v4() -> impl Strategy<Value = Ipv4Net> {
    // Short prefixes are where unions become the internet; every length must still appear.
    (prop_oneof![0u8..=3, 0u8..=32], any::<u32>())
        .prop_map(|(len, addr)| Ipv4Net::new(addr.into(), len).unwrap().trunc())
}

fn v6() -> impl Strategy<Value = Ipv6Net> {
    (prop_oneof![0u8..=3, 0u8..=128], any::<u128>())
        .prop_map(|(len, addr)| Ipv6Net::new(addr.into(), len).unwrap().trunc())
}

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

fn permission() -> impl Strategy<Value = Permission> {
    (
        prop_oneof![
            Just(Protocol::Tcp),
            Just(Protocol::Udp),
            Just(Protocol::All),
            Just(Protocol::Icmp)
        ],
        ports(),
        prop::collection::vec(v4(), 0..3),
        prop::collection::vec(v6(), 0..2),
    )
        .prop_map(|(protocol, ports, ipv4, ipv6)| Permission {
            protocol,
            ports: if protocol.has_ports() {
                ports
            } else {
                PortRange::ALL
            },
            ipv4,
            ipv6,
            prefix_lists: vec![],
            groups: vec![],
            wire_ports: None,
            descriptions: vec![],
        })
}

fn group(perms: Vec<Permission>) -> SecurityGroup {
    SecurityGroup {
        group_id: GroupId::parse("sg-0123456789abcdef0").unwrap(),
        group_name: None,
        vpc_id: None,
        owner_id: None,
        tags: Default::default(),
        egress: perms.clone(),
        ingress: perms,
    }
}

fn checks() -> Vec<Check> {
    let p = |pairs: &[(&str, &str)]| Check::from_pairs(pairs).unwrap();
    vec![
        p(&[("check", "public-ingress")]),
        p(&[
            ("check", "public-ingress"),
            ("blockedTcpPorts", "22,3389"),
            ("blockedUdpPorts", "53"),
        ]),
        p(&[
            ("check", "public-egress"),
            ("authorizedEgressTcpPorts", "443"),
        ]),
        p(&[("check", "broad-private-ingress")]),
    ]
}

/// Splits `net` into sub-prefixes, guided by `choices` (each bit: split this piece further or not).
fn split4(net: Ipv4Net, choices: &mut impl Iterator<Item = bool>, depth: u8) -> Vec<Ipv4Net> {
    if depth == 0 || net.prefix_len() >= 32 || !choices.next().unwrap_or(false) {
        return vec![net];
    }
    net.subnets(net.prefix_len() + 1)
        .unwrap()
        .flat_map(|h| split4(h, choices, depth - 1))
        .collect()
}

fn split6(net: Ipv6Net, choices: &mut impl Iterator<Item = bool>, depth: u8) -> Vec<Ipv6Net> {
    if depth == 0 || net.prefix_len() >= 128 || !choices.next().unwrap_or(false) {
        return vec![net];
    }
    net.subnets(net.prefix_len() + 1)
        .unwrap()
        .flat_map(|h| split6(h, choices, depth - 1))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: crate::support::cases(300), ..ProptestConfig::default() })]

    #[test]
    fn splitting_a_cidr_never_changes_a_verdict(
        perms in prop::collection::vec(permission(), 1..5),
        which in any::<prop::sample::Index>(),
        choices in prop::collection::vec(any::<bool>(), 0..64),
        spread in any::<bool>(),
    ) {
        let i = which.index(perms.len());
        let mut split = perms.clone();
        let mut bits = choices.into_iter();
        let target = &perms[i];
        let pieces4: Vec<Ipv4Net> = target.ipv4.iter().flat_map(|n| split4(*n, &mut bits, 5)).collect();
        let pieces6: Vec<Ipv6Net> = target.ipv6.iter().flat_map(|n| split6(*n, &mut bits, 5)).collect();
        if spread {
            // One permission per piece, as a user splitting rules would write it.
            split.remove(i);
            for n in pieces4 {
                split.push(Permission { ipv4: vec![n], ipv6: vec![], ..target.clone() });
            }
            for n in pieces6 {
                split.push(Permission { ipv4: vec![], ipv6: vec![n], ..target.clone() });
            }
        } else {
            split[i].ipv4 = pieces4;
            split[i].ipv6 = pieces6;
        }
        for check in checks() {
            let before = evaluate(&check, &group(perms.clone()), &Facts::default());
            let after = evaluate(&check, &group(split.clone()), &Facts::default());
            prop_assert_eq!(before.compliance(), after.compliance(), "{}: {} vs {}", check.name(), before.annotation(), after.annotation());
        }
    }

    #[test]
    fn adding_a_permission_never_makes_a_public_check_compliant(
        perms in prop::collection::vec(permission(), 0..4),
        extra in permission(),
    ) {
        for check in checks().into_iter().filter(|c| c.name() != "broad-private-ingress") {
            let before = evaluate(&check, &group(perms.clone()), &Facts::default());
            let mut more = perms.clone();
            more.push(extra.clone());
            let after = evaluate(&check, &group(more), &Facts::default());
            if before.compliance() == Compliance::NonCompliant {
                prop_assert_eq!(after.compliance(), Compliance::NonCompliant, "{}: {}", check.name(), after.annotation());
            }
            prop_assert!(after.annotation().chars().count() <= 256);
        }
    }
}

/// A random tiling of the whole space into prefixes of every length (guided by `choices`), of
/// which `keep` decides which pieces stay: sometimes everything, often almost everything.
fn tiling4(choices: &[bool], keep: &[bool]) -> Vec<Ipv4Net> {
    let mut bits = choices.iter().copied().chain(std::iter::repeat(false));
    let pieces = split4(Ipv4Net::default(), &mut bits, 32);
    pieces
        .into_iter()
        .zip(keep.iter().copied().chain(std::iter::repeat(true)))
        .filter(|(_, k)| *k)
        .map(|(p, _)| p)
        .collect()
}

fn tiling6(choices: &[bool], keep: &[bool]) -> Vec<Ipv6Net> {
    let mut bits = choices.iter().copied().chain(std::iter::repeat(false));
    let pieces = split6(Ipv6Net::default(), &mut bits, 128);
    pieces
        .into_iter()
        .zip(keep.iter().copied().chain(std::iter::repeat(true)))
        .filter(|(_, k)| *k)
        .map(|(p, _)| p)
        .collect()
}

fn any_v4() -> impl Strategy<Value = Ipv4Net> {
    (0u8..=32, any::<u32>()).prop_map(|(len, addr)| Ipv4Net::new(addr.into(), len).unwrap().trunc())
}

fn any_v6() -> impl Strategy<Value = Ipv6Net> {
    (0u8..=128, any::<u128>())
        .prop_map(|(len, addr)| Ipv6Net::new(addr.into(), len).unwrap().trunc())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: crate::support::cases(400), ..ProptestConfig::default() })]

    /// The deny-list verdict on one port agrees with the oracle: NON_COMPLIANT exactly when the
    /// sources of the permissions covering that port add up to every public IPv4 or IPv6 address.
    #[test]
    fn public_verdict_matches_an_interval_oracle(
        choices4 in prop::collection::vec(any::<bool>(), 0..40),
        keep4 in prop::collection::vec(prop::bool::weighted(0.9), 0..40),
        choices6 in prop::collection::vec(any::<bool>(), 0..40),
        keep6 in prop::collection::vec(prop::bool::weighted(0.9), 0..40),
        noise4 in prop::collection::vec(any_v4(), 0..4),
        noise6 in prop::collection::vec(any_v6(), 0..3),
        spread in prop::collection::vec((0usize..4, ports()), 1..5),
        port in 0usize..PORTS.len(),
    ) {
        let port = PORTS[port];
        let v4: Vec<Ipv4Net> = tiling4(&choices4, &keep4).into_iter().chain(noise4).collect();
        let v6: Vec<Ipv6Net> = tiling6(&choices6, &keep6).into_iter().chain(noise6).collect();
        // Deal the sources out over up to four tcp permissions with random port ranges.
        let mut perms: Vec<Permission> = spread
            .iter()
            .map(|(_, ports)| Permission {
                protocol: Protocol::Tcp,
                ports: *ports,
                ipv4: vec![],
                ipv6: vec![],
                prefix_lists: vec![],
                groups: vec![],
                wire_ports: None,
            descriptions: vec![],
            })
            .collect();
        for (i, n) in v4.iter().enumerate() {
            let k = spread[i % spread.len()].0 % perms.len();
            perms[k].ipv4.push(*n);
        }
        for (i, n) in v6.iter().enumerate() {
            let k = spread[i % spread.len()].0 % perms.len();
            perms[k].ipv6.push(*n);
        }
        let covering: Vec<&Permission> = perms.iter().filter(|p| p.ports.contains(port)).collect();
        // The whole internet: every public address (the fix contract's own table and sweep).
        let n4: Vec<ipnet::IpNet> = covering.iter().flat_map(|p| p.ipv4.iter().map(|n| ipnet::IpNet::V4(*n))).collect();
        let n6: Vec<ipnet::IpNet> = covering.iter().flat_map(|p| p.ipv6.iter().map(|n| ipnet::IpNet::V6(*n))).collect();
        let oracle = crate::fix_properties::covers_internet(false, &n4)
            || crate::fix_properties::covers_internet(true, &n6);
        let check = Check::from_pairs(&[("check", "public-ingress"), ("blockedTcpPorts", &port.to_string())]).unwrap();
        let verdict = evaluate(&check, &group(perms), &Facts::default());
        prop_assert_eq!(
            verdict.compliance() == Compliance::NonCompliant,
            oracle,
            "port {}: {}", port, verdict.annotation()
        );
    }
}
