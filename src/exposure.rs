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

    /// The family of a network.
    pub fn of(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }

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

/// Address space as closed intervals of integers (IPv4 addresses in the low 32 bits).
pub type Interval = (u128, u128);

/// The closed interval of addresses of a network.
pub fn interval(net: &IpNet) -> Interval {
    match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

/// Address space that is not public, from IANA's special-purpose address registries (every
/// block whose "Globally Reachable" is False or N/A) plus multicast (never a source address).
/// The globally reachable exceptions inside those blocks (192.0.0.9, 192.0.0.10, 2001:1::1-3,
/// 2001:3::/32, 2001:4:112::/48, 2001:20::/28, 2001:30::/28) stay public. IPv6 public space is
/// the global unicast block 2000::/3 less these; 64:ff9b::/96 (NAT64) is judged as the IPv4
/// addresses it translates, not as IPv6.
const NON_PUBLIC_V4: &[(&str, &str)] = &[
    ("0.0.0.0", "0.255.255.255"),       // 0.0.0.0/8 "this network"
    ("10.0.0.0", "10.255.255.255"),     // RFC 1918
    ("100.64.0.0", "100.127.255.255"),  // RFC 6598 shared space
    ("127.0.0.0", "127.255.255.255"),   // loopback
    ("169.254.0.0", "169.254.255.255"), // link local
    ("172.16.0.0", "172.31.255.255"),   // RFC 1918
    ("192.0.0.0", "192.0.0.8"),         // IETF protocol assignments, less .9 and .10
    ("192.0.0.11", "192.0.0.255"),
    ("192.0.2.0", "192.0.2.255"),       // TEST-NET-1
    ("192.88.99.0", "192.88.99.255"),   // deprecated 6to4 relay anycast
    ("192.168.0.0", "192.168.255.255"), // RFC 1918
    ("198.18.0.0", "198.19.255.255"),   // benchmarking
    ("198.51.100.0", "198.51.100.255"), // TEST-NET-2
    ("203.0.113.0", "203.0.113.255"),   // TEST-NET-3
    ("224.0.0.0", "255.255.255.255"),   // multicast, reserved, limited broadcast
];

/// The IPv6 public space: 2000::/3 less its special-purpose blocks (see [`NON_PUBLIC_V4`]).
const PUBLIC_V6_BASE: (&str, &str) = ("2000::", "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
const NON_PUBLIC_V6: &[(&str, &str)] = &[
    // 2001::/23 (IETF protocol assignments) less its globally reachable entries.
    ("2001::", "2001:1::"),
    ("2001:1::4", "2001:2:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("2001:4::", "2001:4:111:ffff:ffff:ffff:ffff:ffff"),
    ("2001:4:113::", "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("2001:40::", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), // documentation
    ("2002::", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),    // 6to4
    ("3fff::", "3fff:0fff:ffff:ffff:ffff:ffff:ffff:ffff"),    // documentation (RFC 9637)
];

fn public_space(family: Family) -> &'static [Interval] {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use std::sync::OnceLock;
    static V4: OnceLock<Vec<Interval>> = OnceLock::new();
    static V6: OnceLock<Vec<Interval>> = OnceLock::new();
    let addr = |a: &str| -> u128 {
        match a.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => u128::from(u32::from(a)),
            Ok(IpAddr::V6(a)) => u128::from(a),
            Err(_) => unreachable!("constant address {a}"),
        }
    };
    let build = |base: Interval, holes: &[(&str, &str)]| -> Vec<Interval> {
        let mut holes: Vec<Interval> = holes.iter().map(|(a, b)| (addr(a), addr(b))).collect();
        holes.sort_unstable();
        subtract(&[base], &holes)
    };
    match family {
        Family::V4 => V4.get_or_init(|| {
            build(
                (0, u128::from(u32::from(Ipv4Addr::BROADCAST))),
                NON_PUBLIC_V4,
            )
        }),
        Family::V6 => V6.get_or_init(|| {
            let _ = Ipv6Addr::UNSPECIFIED;
            build(
                (addr(PUBLIC_V6_BASE.0), addr(PUBLIC_V6_BASE.1)),
                NON_PUBLIC_V6,
            )
        }),
    }
}

/// `a` less `b`; both sorted and disjoint.
fn subtract(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    for &(mut lo, hi) in a {
        let mut done = false;
        for &(blo, bhi) in b {
            if bhi < lo || blo > hi {
                continue;
            }
            if blo > lo {
                out.push((lo, blo - 1));
            }
            if bhi >= hi {
                done = true;
                break;
            }
            lo = bhi + 1;
        }
        if !done {
            out.push((lo, hi));
        }
    }
    out
}

/// Sorted, merged intervals of networks.
fn merged(nets: &[IpNet]) -> Vec<Interval> {
    let mut iv: Vec<Interval> = nets.iter().map(interval).collect();
    iv.sort_unstable();
    let mut out: Vec<Interval> = Vec::with_capacity(iv.len());
    for (lo, hi) in iv {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// The public addresses of one network, as intervals.
pub fn public_intervals(net: &IpNet) -> Vec<Interval> {
    let (lo, hi) = interval(net);
    public_space(Family::of(net))
        .iter()
        .filter_map(|&(a, b)| {
            let (s, e) = (lo.max(a), hi.min(b));
            (s <= e).then_some((s, e))
        })
        .collect()
}

/// Whether a network holds at least one public address (a source wholly inside special-purpose
/// space, such as 127.0.0.0/8, 169.254.0.0/16 or 2001:db8::/32, is not public).
pub fn has_public(net: &IpNet) -> bool {
    let (lo, hi) = interval(net);
    public_space(Family::of(net))
        .iter()
        .any(|&(a, b)| a <= hi && lo <= b)
}

/// Whether the union of `nets` (one family) holds every public address of `family`.
pub fn covers_public(nets: &[IpNet], family: Family) -> bool {
    if nets.iter().any(|n| n.prefix_len() == 0) {
        return true;
    }
    if nets.is_empty() {
        return false;
    }
    let union = merged(nets);
    public_space(family)
        .iter()
        .all(|&(a, b)| union.iter().any(|&(lo, hi)| lo <= a && b <= hi))
}

/// The public addresses of the union of `nets`, as the fewest CIDR blocks (sixteen adjacent
/// aligned /24s are one /20).
pub fn public_parts(nets: &[IpNet], family: Family) -> Vec<IpNet> {
    let union = merged(nets);
    let public = public_space(family);
    let mut out = Vec::new();
    for &(lo, hi) in &union {
        for &(a, b) in public {
            let (s, e) = (lo.max(a), hi.min(b));
            if s <= e {
                cidrs(s, e, family, &mut out);
            }
        }
    }
    out
}

/// The fewest CIDR blocks that make up the closed interval `lo..=hi`.
fn cidrs(mut lo: u128, hi: u128, family: Family, out: &mut Vec<IpNet>) {
    let bits: u32 = match family {
        Family::V4 => 32,
        Family::V6 => 128,
    };
    loop {
        // The largest aligned block starting at `lo` that ends at or before `hi`.
        let mut size_log = if lo == 0 {
            bits
        } else {
            lo.trailing_zeros().min(bits)
        };
        while size_log > 0 {
            let last = if size_log >= 128 {
                u128::MAX
            } else {
                lo + ((1u128 << size_log) - 1)
            };
            if last <= hi {
                break;
            }
            size_log -= 1;
        }
        let prefix = (bits - size_log) as u8;
        out.push(match family {
            Family::V4 => IpNet::V4(v4net_dyn(lo as u32, prefix)),
            Family::V6 => IpNet::V6(Ipv6Net::new(lo.into(), prefix).unwrap_or_default()),
        });
        let last = if size_log >= 128 {
            u128::MAX
        } else {
            lo + ((1u128 << size_log) - 1)
        };
        if last >= hi {
            return;
        }
        lo = last + 1;
    }
}

fn v4net_dyn(addr: u32, prefix: u8) -> Ipv4Net {
    Ipv4Net::new(addr.into(), prefix).unwrap_or_default()
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

    /// Whether the union holds every public address of `family`: the whole internet, even when
    /// it leaves out private or special-purpose space.
    pub fn is_internet(&self, family: Family) -> bool {
        covers_public(&self.union, family)
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

    /// The sources that make up the internet here: `0.0.0.0/0`, `0.0.0.0/1 + 128.0.0.0/1
    /// (= 0.0.0.0/0)`, or for a union that leaves out non-public space only
    /// `0.0.0.0/5 + 8.0.0.0/7 + … + 27 more (= every public IPv4 address)`.
    pub fn describe_internet(&self, family: Family) -> String {
        let from = self.covering_internet(family);
        let whole = family.internet();
        if from.len() == 1 && from[0] == &Source::Cidr(whole) {
            return whole.to_string();
        }
        let nets: Vec<IpNet> = self
            .nets
            .iter()
            .filter(|(_, i)| from.contains(&&self.sources[*i]))
            .map(|(n, _)| *n)
            .collect();
        let all = IpNet::aggregate(&nets).iter().any(|n| n.prefix_len() == 0);
        const SHOWN: usize = 4;
        let mut names: Vec<String> = from.iter().take(SHOWN).map(ToString::to_string).collect();
        if from.len() > SHOWN {
            names.push(format!("{} more", from.len() - SHOWN));
        }
        let what = match (all, family) {
            (true, _) => whole.to_string(),
            (false, Family::V4) => "every public IPv4 address".to_string(),
            (false, Family::V6) => "every public IPv6 address".to_string(),
        };
        format!("{} (= {what})", names.join(" + "))
    }

    /// The sources, widest first, until together they hold every public address (all of them
    /// when they never do), in the order they were written.
    pub fn covering_internet(&self, family: Family) -> Vec<&Source> {
        let mut order: Vec<(u8, usize)> = self
            .nets
            .iter()
            .filter(|(n, _)| has_public(n))
            .map(|(n, i)| (n.prefix_len(), *i))
            .collect();
        order.sort_unstable();
        let mut chosen: Vec<usize> = Vec::new();
        let mut nets: Vec<IpNet> = Vec::new();
        for (_, i) in order {
            if chosen.contains(&i) {
                continue;
            }
            chosen.push(i);
            nets.extend(self.nets.iter().filter(|(_, j)| *j == i).map(|(n, _)| *n));
            if covers_public(&nets, family) {
                break;
            }
        }
        chosen.sort_unstable();
        chosen.into_iter().map(|i| &self.sources[i]).collect()
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

    /// Whether the union of this family's sources holds every public address (the internet).
    pub fn is_public(&self, family: Family) -> bool {
        self.reach(family).is_internet(family)
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
            .describe_internet(self.family)
    }
}

/// Public sources broader than allowed reach these ports of one protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WidePublic<'a> {
    pub family: Family,
    pub min: u8,
    pub protocol: Protocol,
    pub ports: Vec<PortRange>,
    /// The sources that make up the wide blocks.
    pub sources: Vec<&'a Source>,
    /// The public blocks of the union broader than `min`.
    pub blocks: Vec<IpNet>,
    pub segment: &'a Segment,
}

impl WidePublic<'_> {
    /// `198.51.0.0/16`, or `203.0.112.0/24 + 203.0.113.0/24 + … (together 203.0.112.0/20)`.
    pub fn describe(&self) -> String {
        const SHOWN: usize = 4;
        let mut names: Vec<String> = self
            .sources
            .iter()
            .take(SHOWN)
            .map(ToString::to_string)
            .collect();
        if self.sources.len() > SHOWN {
            names.push(format!("{} more", self.sources.len() - SHOWN));
        }
        // Each source wide on its own: the sources say it all.
        let alone = self.sources.iter().all(|s| match s {
            Source::Cidr(n) => public_parts(&[*n], self.family)
                .iter()
                .any(|b| b.prefix_len() < self.min),
            Source::PrefixList(_) => false,
        });
        if alone {
            names.join(" + ")
        } else {
            format!("{} (together {})", names.join(" + "), self.blocks[0])
        }
    }
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
        self.public_reach(policy, true)
    }

    /// Every segment and family where the whole internet reaches ports `policy` cares about,
    /// including those `-1` already covers (what a fix must close).
    pub fn public_all(&self, policy: PortPolicy<'_>) -> Vec<PublicReach<'_>> {
        self.public_reach(policy, false)
    }

    fn public_reach(&self, policy: PortPolicy<'_>, skip_covered: bool) -> Vec<PublicReach<'_>> {
        let mut out = Vec::new();
        for family in Family::BOTH {
            let all_public = self
                .segments
                .iter()
                .any(|s| s.protocol == Protocol::All && s.is_public(family));
            for seg in self.segments.iter().filter(|s| s.is_public(family)) {
                let skip = skip_covered
                    && seg.protocol != Protocol::All
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

    /// Public address blocks broader than `min_prefix(family)` in the union of the sources that
    /// reach ports `policy` cares about, even when the union is not the whole internet (sixteen
    /// adjacent /24s are a /20). Segments the internet already reaches are left to
    /// [`Exposure::public`], so one fact is reported once; so are segments whose wide sources all
    /// reach them through `-1` when all traffic is already reported.
    pub fn wide_public(
        &self,
        policy: PortPolicy<'_>,
        min_prefix: impl Fn(Family) -> u8,
    ) -> Vec<WidePublic<'_>> {
        self.wide_reach(policy, min_prefix, true)
    }

    /// [`Exposure::wide_public`] including the segments `-1` already covers (what a fix must close).
    pub fn wide_public_all(
        &self,
        policy: PortPolicy<'_>,
        min_prefix: impl Fn(Family) -> u8,
    ) -> Vec<WidePublic<'_>> {
        self.wide_reach(policy, min_prefix, false)
    }

    fn wide_reach(
        &self,
        policy: PortPolicy<'_>,
        min_prefix: impl Fn(Family) -> u8,
        skip_covered: bool,
    ) -> Vec<WidePublic<'_>> {
        let mut out: Vec<WidePublic<'_>> = Vec::new();
        for family in Family::BOTH {
            let min = min_prefix(family);
            if min == 0 {
                continue;
            }
            let mut all_sources: Vec<&Source> = Vec::new();
            let mut segs: Vec<&Segment> = self.segments.iter().collect();
            // `-1` first, so the segments it already covers can be skipped.
            segs.sort_by_key(|s| s.protocol != Protocol::All);
            for seg in segs {
                if seg.is_public(family) {
                    continue;
                }
                let reach = seg.reach(family);
                let blocks: Vec<IpNet> = public_parts(&reach.union, family)
                    .into_iter()
                    .filter(|b| b.prefix_len() < min)
                    .collect();
                if blocks.is_empty() {
                    continue;
                }
                let mut idx: Vec<usize> = reach
                    .nets
                    .iter()
                    .filter(|(n, _)| {
                        has_public(n) && blocks.iter().any(|b| b.contains(n) || n.contains(b))
                    })
                    .map(|(_, i)| *i)
                    .collect();
                idx.sort_unstable();
                idx.dedup();
                let sources: Vec<&Source> = idx.into_iter().map(|i| &reach.sources[i]).collect();
                let ports = policy_ports(seg, policy);
                if ports.is_empty() {
                    continue;
                }
                if seg.protocol == Protocol::All {
                    all_sources.extend(sources.iter().copied());
                } else if skip_covered
                    && matches!(policy, PortPolicy::Allow { .. } | PortPolicy::Any)
                    && sources.iter().all(|s| all_sources.contains(s))
                {
                    continue;
                }
                out.push(WidePublic {
                    family,
                    min,
                    protocol: seg.protocol,
                    ports,
                    sources,
                    blocks,
                    segment: seg,
                });
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
            // What all traffic (`-1`) already reaches is reported once, on `-1`; a block that
            // only a tcp/udp permission adds is reported on its own segment.
            let by_all: Vec<IpNet> = self
                .segments
                .iter()
                .filter(|s| s.protocol == Protocol::All)
                .flat_map(broad)
                .collect();
            for seg in &self.segments {
                for block in broad(seg) {
                    if seg.protocol != Protocol::All && by_all.iter().any(|a| a.contains(&block)) {
                        continue;
                    }
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
    #[case::all_protocols_admit_tcp_and_ipv6_halves(vec![perm("-1", None, &[], &["2000::/4"]), perm("tcp", Some((443, 443)), &[], &["3000::/4"])], vec![(r(443, 443), Family::V6)])]
    #[case::hole_remains(vec![perm("tcp", Some((22, 22)), &["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/4"], &[])], vec![])]
    // 224.0.0.0/3 is multicast and reserved: the rest is every public address.
    #[case::no_public_hole(vec![perm("tcp", Some((22, 22)), &["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3"], &[])], vec![(r(22, 22), Family::V4)])]
    #[case::ipv6_global_unicast(vec![perm("tcp", Some((22, 22)), &[], &["2000::/3"])], vec![(r(22, 22), Family::V6)])]
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
        let all = Exposure::of(&[perm("-1", None, &[], &["2000::/4"])], &PrefixLists::new());
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
