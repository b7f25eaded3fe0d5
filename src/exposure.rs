//! Who can reach what, as a value: for each protocol and each elementary port interval, the
//! *union* of the sources (CIDRs and resolved prefix lists) of every permission that admits it,
//! with the permissions that contribute. This is how `0.0.0.0/1` + `128.0.0.0/1` on tcp/22 is
//! recognised as the whole internet, and how a check asks "is a private range wider than /16
//! reachable?". Checks turn an [`Exposure`] into findings; nothing here knows about checks.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::model::{Permission, Protocol};
use crate::ports::{PortRange, PortSet};

/// Resolved managed prefix lists: id to entries. A list missing here is unknown.
pub type PrefixLists = BTreeMap<String, Vec<IpNet>>;

/// IPv4 or IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub const BOTH: [Family; 2] = [Family::V4, Family::V6];

    /// The whole address space of the family.
    pub fn internet(self) -> IpNet {
        match self {
            Family::V4 => IpNet::V4(Ipv4Net::default()),
            Family::V6 => IpNet::V6(Ipv6Net::default()),
        }
    }

    /// Private space: RFC 1918 and RFC 6598 shared space for IPv4, unique local fc00::/7 for IPv6.
    pub fn private_blocks(self) -> &'static [IpNet] {
        use std::net::{Ipv4Addr, Ipv6Addr};
        const V4: [IpNet; 4] = [
            IpNet::V4(v4net(Ipv4Addr::new(10, 0, 0, 0), 8)),
            IpNet::V4(v4net(Ipv4Addr::new(100, 64, 0, 0), 10)),
            IpNet::V4(v4net(Ipv4Addr::new(172, 16, 0, 0), 12)),
            IpNet::V4(v4net(Ipv4Addr::new(192, 168, 0, 0), 16)),
        ];
        const V6: [IpNet; 1] = [IpNet::V6(v6net(
            Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
            7,
        ))];
        match self {
            Family::V4 => &V4,
            Family::V6 => &V6,
        }
    }
}

const fn v4net(addr: std::net::Ipv4Addr, len: u8) -> Ipv4Net {
    match Ipv4Net::new(addr, len) {
        Ok(n) => n,
        Err(_) => panic!("constant prefix length"),
    }
}

const fn v6net(addr: std::net::Ipv6Addr, len: u8) -> Ipv6Net {
    match Ipv6Net::new(addr, len) {
        Ok(n) => n,
        Err(_) => panic!("constant prefix length"),
    }
}

/// A source as a permission names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Cidr(IpNet),
    /// A managed prefix list (`pl-…`), counted with its resolved entries.
    PrefixList(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Cidr(n) => write!(f, "{n}"),
            Source::PrefixList(id) => f.write_str(id),
        }
    }
}

/// The sources of one family that reach a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reach {
    /// The union, aggregated (merged and de-duplicated).
    pub union: Vec<IpNet>,
    /// The sources as written, in order, once each.
    pub sources: Vec<Source>,
    /// Every network with the index (into `sources`) of the source it came from.
    nets: Vec<(IpNet, usize)>,
}

impl Reach {
    fn new() -> Self {
        Reach {
            union: Vec::new(),
            sources: Vec::new(),
            nets: Vec::new(),
        }
    }

    fn add(&mut self, source: Source, net: IpNet) {
        let i = match self.sources.iter().position(|s| *s == source) {
            Some(i) => i,
            None => {
                self.sources.push(source);
                self.sources.len() - 1
            }
        };
        self.nets.push((net, i));
    }

    fn finish(&mut self) {
        // Most segments have one source or none: their union is that source (`aggregate` of one
        // network is the network, truncated).
        self.union = match self.nets.as_slice() {
            [] => Vec::new(),
            [(n, _)] => vec![n.trunc()],
            nets => IpNet::aggregate(&nets.iter().map(|(n, _)| *n).collect()),
        };
    }

    /// Whether the union is the whole address space.
    pub fn is_everything(&self) -> bool {
        self.union.iter().any(|n| n.prefix_len() == 0)
    }

    /// The sources with a network overlapping `block`.
    pub fn contributing(&self, block: &IpNet) -> Vec<&Source> {
        let mut idx: Vec<usize> = self
            .nets
            .iter()
            .filter(|(n, _)| n.contains(block) || block.contains(n))
            .map(|(_, i)| *i)
            .collect();
        idx.sort_unstable();
        idx.dedup();
        idx.into_iter().map(|i| &self.sources[i]).collect()
    }

    /// `0.0.0.0/1 + 128.0.0.0/1 (= 0.0.0.0/0)`, or just `0.0.0.0/0` when one source is the block.
    /// Names the widest sources that together make up the block (not every source inside it).
    pub fn describe(&self, block: &IpNet) -> String {
        let from = self.covering(block);
        if from.len() == 1 && from[0] == &Source::Cidr(*block) {
            block.to_string()
        } else {
            let names: Vec<String> = from.iter().map(ToString::to_string).collect();
            format!("{} (= {block})", names.join(" + "))
        }
    }

    /// The sources overlapping `block`, widest first, until together they cover it (all of them
    /// when they never do), in the order they were written.
    pub fn covering(&self, block: &IpNet) -> Vec<&Source> {
        let mut candidates: Vec<(u8, usize)> = self
            .nets
            .iter()
            .filter(|(n, _)| n.contains(block) || block.contains(n))
            .map(|(n, i)| (n.prefix_len(), *i))
            .collect();
        candidates.sort_unstable();
        let mut chosen: Vec<usize> = Vec::new();
        let mut nets: Vec<IpNet> = Vec::new();
        for (_, i) in candidates {
            if !chosen.contains(&i) {
                chosen.push(i);
                nets.extend(self.nets.iter().filter(|(_, j)| *j == i).map(|(n, _)| *n));
                // One network covering the block is the common case; the union only otherwise.
                if nets.iter().any(|n| n.contains(block))
                    || IpNet::aggregate(&nets).iter().any(|n| n.contains(block))
                {
                    break;
                }
            }
        }
        chosen.sort_unstable();
        chosen.into_iter().map(|i| &self.sources[i]).collect()
    }

    /// The parts of the union inside private space, aggregated.
    pub fn private_parts(&self, family: Family) -> Vec<IpNet> {
        let mut parts = Vec::new();
        for n in &self.union {
            for b in family.private_blocks() {
                if b.contains(n) {
                    parts.push(*n);
                } else if n.contains(b) {
                    parts.push(*b);
                }
            }
        }
        IpNet::aggregate(&parts)
    }
}

/// One protocol and port interval with everything that reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// `Tcp`/`Udp` with real port intervals; other protocols with `PortRange::ALL`;
    /// `All` for what `-1` permissions alone open (every protocol).
    pub protocol: Protocol,
    pub ports: PortRange,
    pub v4: Reach,
    pub v6: Reach,
    /// Prefix lists whose entries are not known: not counted in the unions.
    pub unresolved: Vec<String>,
    /// Indices (into the analysed permission list) of the permissions that reach this segment.
    pub permissions: Vec<usize>,
}

impl Segment {
    pub fn reach(&self, family: Family) -> &Reach {
        match family {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        }
    }

    /// Whether the union of this family's sources is the whole address space.
    pub fn is_public(&self, family: Family) -> bool {
        self.reach(family).is_everything()
    }
}

/// Which internet-reachable ports matter to a question.
#[derive(Clone, Copy, Debug)]
pub enum PortPolicy<'a> {
    /// Any tcp/udp port outside these, and all traffic (`-1`).
    Allow { tcp: &'a PortSet, udp: &'a PortSet },
    /// Only these tcp/udp ports.
    Deny { tcp: &'a PortSet, udp: &'a PortSet },
    /// Anything at all, of any protocol.
    Any,
}

/// The whole internet of one family reaches these ports of one protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicReach<'a> {
    pub family: Family,
    pub protocol: Protocol,
    pub ports: Vec<PortRange>,
    pub segment: &'a Segment,
}

impl PublicReach<'_> {
    /// `0.0.0.0/1 + 128.0.0.0/1 (= 0.0.0.0/0)`.
    pub fn sources(&self) -> String {
        self.segment
            .reach(self.family)
            .describe(&self.family.internet())
    }
}

/// Public sources broader than allowed reach these ports of one protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WidePublic<'a> {
    pub family: Family,
    pub min: u8,
    pub protocol: Protocol,
    pub ports: Vec<PortRange>,
    pub sources: Vec<&'a Source>,
}

/// The ports of `seg` that `policy` asks about (all of it for `-1` except in deny-list mode,
/// which asks only about the tcp/udp segments `-1` also opens).
fn policy_ports(seg: &Segment, policy: PortPolicy<'_>) -> Vec<PortRange> {
    match (seg.protocol, policy) {
        (Protocol::All, PortPolicy::Deny { .. }) => vec![],
        (Protocol::All, _) => vec![PortRange::ALL],
        (Protocol::Tcp, PortPolicy::Allow { tcp, .. }) => tcp.subtract_from(&seg.ports),
        (Protocol::Udp, PortPolicy::Allow { udp, .. }) => udp.subtract_from(&seg.ports),
        (Protocol::Tcp, PortPolicy::Deny { tcp, .. }) => tcp.intersect(&seg.ports),
        (Protocol::Udp, PortPolicy::Deny { udp, .. }) => udp.intersect(&seg.ports),
        (_, PortPolicy::Any) => vec![seg.ports],
        // Other protocols (icmp, esp, ...) are outside the port lists' reach.
        _ => vec![],
    }
}

/// A private block broader than allowed reaches one segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadPrivate<'a> {
    pub family: Family,
    pub block: IpNet,
    pub segment: &'a Segment,
}

impl BroadPrivate<'_> {
    /// The sources that make up the block.
    pub fn sources(&self) -> Vec<&Source> {
        self.segment.reach(self.family).contributing(&self.block)
    }
}

/// The exposure of one permission list (a group's ingress or its egress).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exposure {
    segments: Vec<Segment>,
    unresolved: Vec<String>,
}

impl Exposure {
    /// Analyses `perms`, counting the entries of resolved prefix lists.
    pub fn of(perms: &[Permission], prefix_lists: &PrefixLists) -> Exposure {
        let segments = segments(perms, prefix_lists);
        let unresolved: BTreeSet<&String> = segments.iter().flat_map(|s| &s.unresolved).collect();
        let unresolved = unresolved.into_iter().cloned().collect();
        Exposure {
            segments,
            unresolved,
        }
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Every prefix list that could not be resolved, once each, sorted.
    pub fn unresolved(&self) -> &[String] {
        &self.unresolved
    }

    /// Where the whole internet reaches ports that `policy` cares about. When all traffic (`-1`)
    /// is public, the per-port segments are not repeated (except in deny-list mode, which asks
    /// only about its ports).
    pub fn public(&self, policy: PortPolicy<'_>) -> Vec<PublicReach<'_>> {
        let mut out = Vec::new();
        for family in Family::BOTH {
            let all_public = self
                .segments
                .iter()
                .any(|s| s.protocol == Protocol::All && s.is_public(family));
            for seg in self.segments.iter().filter(|s| s.is_public(family)) {
                let skip = seg.protocol != Protocol::All
                    && all_public
                    && matches!(policy, PortPolicy::Allow { .. } | PortPolicy::Any);
                if skip {
                    // Everything is already reported as "all traffic".
                    continue;
                }
                let ports = policy_ports(seg, policy);
                if !ports.is_empty() {
                    out.push(PublicReach {
                        family,
                        protocol: seg.protocol,
                        ports,
                        segment: seg,
                    });
                }
            }
        }
        out
    }

    /// Public sources (outside private space) broader than `min_prefix(family)` that reach ports
    /// `policy` cares about, even when their union is not the whole internet.
    pub fn wide_public(
        &self,
        policy: PortPolicy<'_>,
        min_prefix: impl Fn(Family) -> u8,
    ) -> Vec<WidePublic<'_>> {
        let mut out = Vec::new();
        for family in Family::BOTH {
            let min = min_prefix(family);
            for seg in &self.segments {
                let reach = seg.reach(family);
                let mut idx: Vec<usize> = reach
                    .nets
                    .iter()
                    .filter(|(n, _)| {
                        n.prefix_len() < min
                            && !family.private_blocks().iter().any(|b| b.contains(n))
                    })
                    .map(|(_, i)| *i)
                    .collect();
                idx.sort_unstable();
                idx.dedup();
                if idx.is_empty() {
                    continue;
                }
                let ports = policy_ports(seg, policy);
                if !ports.is_empty() {
                    out.push(WidePublic {
                        family,
                        min,
                        protocol: seg.protocol,
                        ports,
                        sources: idx.into_iter().map(|i| &reach.sources[i]).collect(),
                    });
                }
            }
        }
        out
    }

    /// Private blocks broader (shorter prefix) than `min_prefix(family)` that reach a segment.
    /// When all traffic (`-1`) already reaches such a block, per-protocol segments are skipped.
    pub fn broad_private(&self, min_prefix: impl Fn(Family) -> u8) -> Vec<BroadPrivate<'_>> {
        let mut out = Vec::new();
        for family in Family::BOTH {
            let min = min_prefix(family);
            let broad = |seg: &Segment| -> Vec<IpNet> {
                seg.reach(family)
                    .private_parts(family)
                    .into_iter()
                    .filter(|n| n.prefix_len() < min)
                    .collect()
            };
            let all_flagged = self
                .segments
                .iter()
                .any(|s| s.protocol == Protocol::All && !broad(s).is_empty());
            for seg in &self.segments {
                if all_flagged && seg.protocol != Protocol::All {
                    continue;
                }
                for block in broad(seg) {
                    out.push(BroadPrivate {
                        family,
                        block,
                        segment: seg,
                    });
                }
            }
        }
        out
    }
}

/// Splits `perms` into segments. Protocols without ports get one segment each; tcp and udp get
/// one per elementary interval (adjacent intervals with identical reach are merged).
fn segments(perms: &[Permission], prefix_lists: &PrefixLists) -> Vec<Segment> {
    let mut protocols: Vec<Protocol> = Vec::with_capacity(perms.len() + 2);
    for p in perms {
        match p.protocol {
            Protocol::All => protocols.extend([Protocol::All, Protocol::Tcp, Protocol::Udp]),
            other => protocols.push(other),
        }
    }
    protocols.sort_unstable();
    protocols.dedup();
    let mut out = Vec::new();
    for protocol in protocols {
        let admitting: Vec<(usize, &Permission)> = perms
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                if protocol == Protocol::All {
                    p.protocol == Protocol::All
                } else {
                    p.admits(protocol)
                }
            })
            .collect();
        if !protocol.has_ports() {
            out.push(segment(protocol, PortRange::ALL, &admitting, prefix_lists));
            continue;
        }
        let mut bounds: Vec<u32> = Vec::with_capacity(2 * admitting.len());
        for (_, p) in &admitting {
            bounds.push(u32::from(p.ports.from));
            bounds.push(u32::from(p.ports.to) + 1);
        }
        bounds.sort_unstable();
        bounds.dedup();
        let mut last: Option<Segment> = None;
        for w in bounds.windows(2) {
            let interval = PortRange {
                from: w[0] as u16,
                to: (w[1] - 1) as u16,
            };
            let covering: Vec<(usize, &Permission)> = admitting
                .iter()
                .copied()
                .filter(|(_, p)| p.ports.covers(&interval))
                .collect();
            if covering.is_empty() {
                out.extend(last.take());
                continue;
            }
            let seg = segment(protocol, interval, &covering, prefix_lists);
            last = match last.take() {
                Some(mut prev)
                    if u32::from(prev.ports.to) + 1 == u32::from(seg.ports.from)
                        && (
                            &prev.v4.union,
                            &prev.v4.sources,
                            &prev.v6.union,
                            &prev.v6.sources,
                            &prev.unresolved,
                        ) == (
                            &seg.v4.union,
                            &seg.v4.sources,
                            &seg.v6.union,
                            &seg.v6.sources,
                            &seg.unresolved,
                        ) =>
                {
                    prev.ports.to = seg.ports.to;
                    prev.permissions.extend(seg.permissions);
                    prev.permissions.sort_unstable();
                    prev.permissions.dedup();
                    Some(prev)
                }
                Some(prev) => {
                    out.push(prev);
                    Some(seg)
                }
                None => Some(seg),
            };
        }
        out.extend(last);
    }
    out
}

fn segment(
    protocol: Protocol,
    ports: PortRange,
    perms: &[(usize, &Permission)],
    prefix_lists: &PrefixLists,
) -> Segment {
    let mut v4 = Reach::new();
    let mut v6 = Reach::new();
    let mut unresolved: Vec<String> = Vec::new();
    for (_, p) in perms {
        for n in &p.ipv4 {
            v4.add(Source::Cidr(IpNet::V4(*n)), IpNet::V4(*n));
        }
        for n in &p.ipv6 {
            v6.add(Source::Cidr(IpNet::V6(*n)), IpNet::V6(*n));
        }
        for pl in &p.prefix_lists {
            match prefix_lists.get(pl) {
                Some(entries) => {
                    for e in entries {
                        let reach = match e {
                            IpNet::V4(_) => &mut v4,
                            IpNet::V6(_) => &mut v6,
                        };
                        reach.add(Source::PrefixList(pl.clone()), *e);
                    }
                }
                None => {
                    if !unresolved.contains(pl) {
                        unresolved.push(pl.clone());
                    }
                }
            }
        }
    }
    v4.finish();
    v6.finish();
    Segment {
        protocol,
        ports,
        v4,
        v6,
        unresolved,
        permissions: perms.iter().map(|(i, _)| *i).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RawPermission;
    use rstest::rstest;

    fn perm(proto: &str, ports: Option<(i64, i64)>, v4: &[&str], v6: &[&str]) -> Permission {
        RawPermission {
            protocol: Some(proto),
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
            ipv4: v4.to_vec(),
            ipv6: v6.to_vec(),
            ..Default::default()
        }
        .build("sg-0123abcd", "test")
        .unwrap()
    }

    fn public_tcp(perms: &[Permission]) -> Vec<(PortRange, Family)> {
        let exposure = Exposure::of(perms, &PrefixLists::new());
        exposure
            .segments()
            .iter()
            .filter(|s| s.protocol == Protocol::Tcp)
            .flat_map(|s| {
                Family::BOTH
                    .into_iter()
                    .filter(|f| s.is_public(*f))
                    .map(move |f| (s.ports, f))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn r(from: u16, to: u16) -> PortRange {
        PortRange::new(from, to).unwrap()
    }

    #[rstest]
    #[case::split_halves(vec![perm("tcp", Some((22, 22)), &["0.0.0.0/1"], &[]), perm("6", Some((22, 22)), &["128.0.0.0/1"], &[])], vec![(r(22, 22), Family::V4)])]
    // 0.0.0.0/1 on 20-25 and 128.0.0.0/1 on 22-30: only 22-25 is public.
    #[case::union_is_per_port_interval(vec![perm("tcp", Some((20, 25)), &["0.0.0.0/1"], &[]), perm("tcp", Some((22, 30)), &["128.0.0.0/1"], &[])], vec![(r(22, 25), Family::V4)])]
    #[case::all_protocols_admit_tcp_and_ipv6_halves(vec![perm("-1", None, &[], &["::/1"]), perm("tcp", Some((443, 443)), &[], &["8000::/1"])], vec![(r(443, 443), Family::V6)])]
    #[case::hole_remains(vec![perm("tcp", Some((22, 22)), &["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3"], &[])], vec![])]
    #[case::adjacent_identical_intervals_merge(vec![perm("tcp", Some((0, 99)), &["0.0.0.0/0"], &[]), perm("tcp", Some((100, 65535)), &["0.0.0.0/0"], &[])], vec![(PortRange::ALL, Family::V4)])]
    fn public_tcp_segments(#[case] perms: Vec<Permission>, #[case] want: Vec<(PortRange, Family)>) {
        assert_eq!(public_tcp(&perms), want);
    }

    #[test]
    fn sources_are_described_and_permissions_tracked() {
        let perms = [
            perm("tcp", Some((22, 22)), &["0.0.0.0/1"], &[]),
            perm("icmp", None, &["10.0.0.0/8"], &[]),
            perm("6", Some((0, 100)), &["128.0.0.0/1"], &[]),
        ];
        let e = Exposure::of(&perms, &PrefixLists::new());
        let public = e.public(PortPolicy::Any);
        assert_eq!(public.len(), 1);
        assert_eq!(public[0].ports, vec![r(22, 22)]);
        assert_eq!(public[0].sources(), "0.0.0.0/1 + 128.0.0.0/1 (= 0.0.0.0/0)");
        assert_eq!(public[0].segment.permissions, vec![0, 2]);
        let all = Exposure::of(&[perm("-1", None, &[], &["::/1"])], &PrefixLists::new());
        assert!(all
            .segments()
            .iter()
            .any(|s| s.protocol == Protocol::All && !s.is_public(Family::V6)));
    }

    #[test]
    fn prefix_lists_count_when_resolved_and_are_reported_when_not() {
        let mut p = perm("tcp", Some((22, 22)), &["0.0.0.0/1"], &[]);
        p.prefix_lists = vec!["pl-1".into(), "pl-2".into()];
        let lists = PrefixLists::from([("pl-1".to_string(), vec!["128.0.0.0/1".parse().unwrap()])]);
        let e = Exposure::of(std::slice::from_ref(&p), &lists);
        let seg = &e.segments()[0];
        assert!(seg.is_public(Family::V4));
        let names: Vec<String> = seg.v4.sources.iter().map(ToString::to_string).collect();
        assert_eq!(names, vec!["0.0.0.0/1", "pl-1"]);
        assert_eq!(e.unresolved(), ["pl-2"]);
        assert!(!Exposure::of(&[p], &PrefixLists::new()).segments()[0].is_public(Family::V4));
    }

    #[test]
    fn broad_private_blocks_with_their_sources() {
        let perms = [
            perm(
                "tcp",
                Some((5432, 5432)),
                &["10.0.0.0/9", "10.128.0.0/9"],
                &[],
            ),
            perm("tcp", Some((22, 22)), &["10.1.0.0/16"], &["fd00::/8"]),
        ];
        let e = Exposure::of(&perms, &PrefixLists::new());
        let broad = e.broad_private(|f| if f == Family::V4 { 16 } else { 48 });
        let got: Vec<(String, Vec<String>)> = broad
            .iter()
            .map(|b| {
                (
                    format!("{}/{}", b.segment.ports, b.block),
                    b.sources().iter().map(ToString::to_string).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "5432/10.0.0.0/8".to_string(),
                    vec!["10.0.0.0/9".to_string(), "10.128.0.0/9".to_string()]
                ),
                ("22/fd00::/8".to_string(), vec!["fd00::/8".to_string()]),
            ]
        );
        assert_eq!(Family::V4.private_blocks().len(), 4);
    }
}
