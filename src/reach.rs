//! Effective exposure: whether a port a group opens to the internet is reachable from the internet
//! right now, from the facts AWS exposes about the network around the group's interfaces: public
//! addresses, the subnet's route table (its explicit association, else the VPC's main table) and
//! the subnet's network ACL (numbered rules, first match wins, stateless: the reply needs the
//! ephemeral ports outbound). Pure: a [`Network`] in, a [`Reachability`] out.
//!
//! Levels, most severe first: `internet` (an interface with a public address, a route to an
//! internet gateway for public destinations, and the NACL admits the port inbound from some public
//! address and the reply outbound), `latent` (attached, not reachable now: the reason says which
//! of the three is missing) and `unattached` (no interface uses the group).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use crate::exposure::{has_public, interval, Family, Interval};
use crate::model::{GroupId, Protocol};
use crate::ports::{PortRange, PortSet};

/// The ephemeral ports a reply goes to (the range covering every common OS).
pub const EPHEMERAL: PortRange = PortRange {
    from: 1024,
    to: 65535,
};

/// A network interface and where it sits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interface {
    pub id: String,
    pub subnet_id: Option<String>,
    pub vpc_id: Option<String>,
    pub groups: Vec<GroupId>,
    /// The public IPv4 address (`Association.PublicIp`: auto-assigned or an Elastic IP).
    pub public_ipv4: Option<IpAddr>,
    pub ipv6: Vec<IpAddr>,
    /// The instance it is attached to (a load balancer's `instance` targets).
    pub instance_id: Option<String>,
    /// Its private addresses (a load balancer's `ip` targets).
    pub private_ips: Vec<IpAddr>,
}

/// An Elastic Load Balancing (v2) load balancer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    /// `internet-facing` (else `internal`).
    pub internet_facing: bool,
    /// `application`, `network` or `gateway`.
    pub kind: String,
}

/// A target group and its registered targets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub port: Option<u16>,
    /// `HTTP`, `HTTPS`, `TCP`, `TLS`, `UDP`, `TCP_UDP`, …
    pub protocol: String,
    /// `instance`, `ip`, `lambda` or `alb`.
    pub target_type: String,
    pub load_balancers: Vec<String>,
    /// (target id, port): an instance id or an IP address; the port overrides the group's.
    pub targets: Vec<Target>,
}

/// One route: a destination and its target (`igw-…`, `nat-…`, `eigw-…`, `local`, `pcx-…`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub destination: IpNet,
    pub target: String,
}

impl Route {
    /// An internet gateway (not a NAT gateway, not an egress-only gateway).
    pub fn to_internet_gateway(&self) -> bool {
        self.target.starts_with("igw-")
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: Option<String>,
    /// The VPC's main table (subnets without an explicit association use it).
    pub main: bool,
    /// Subnets explicitly associated with it.
    pub subnets: Vec<String>,
    pub routes: Vec<Route>,
}

/// One NACL entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NaclEntry {
    pub number: i64,
    pub egress: bool,
    /// `None` = every protocol (`-1`).
    pub protocol: Option<Protocol>,
    /// For tcp/udp; `None` = every port.
    pub ports: Option<PortRange>,
    pub cidr: IpNet,
    pub allow: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nacl {
    pub id: String,
    pub vpc_id: Option<String>,
    /// The VPC's default NACL (subnets without an explicit association use it).
    pub default: bool,
    pub subnets: Vec<String>,
    pub entries: Vec<NaclEntry>,
}

/// What is known of one account's and region's network.
/// A registered target: instance id or IP address, and its port if registered with one.
pub type Target = (String, Option<u16>);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Network {
    pub interfaces: Vec<Interface>,
    /// Subnet id → VPC id.
    pub subnets: BTreeMap<String, String>,
    pub route_tables: Vec<RouteTable>,
    pub nacls: Vec<Nacl>,
    pub load_balancers: Vec<LoadBalancer>,
    pub target_groups: Vec<TargetGroup>,
    /// Targets read before their target group: (target group ARN, targets).
    pub pending_targets: Vec<(String, Vec<Target>)>,
}

impl Network {
    /// Every account's and file's facts as one network (ids are unique across accounts), with
    /// targets placed in their target groups.
    pub fn merge(parts: impl IntoIterator<Item = Network>) -> Network {
        let mut out = Network::default();
        for n in parts {
            out.interfaces.extend(n.interfaces);
            out.subnets.extend(n.subnets);
            out.route_tables.extend(n.route_tables);
            out.nacls.extend(n.nacls);
            out.load_balancers.extend(n.load_balancers);
            out.target_groups.extend(n.target_groups);
            out.pending_targets.extend(n.pending_targets);
        }
        for (arn, targets) in std::mem::take(&mut out.pending_targets) {
            match out.target_groups.iter_mut().find(|t| t.arn == arn) {
                Some(tg) => tg.targets.extend(targets),
                None => out.pending_targets.push((arn, targets)),
            }
        }
        out
    }
}

/// How reachable a flagged port is, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Level {
    #[serde(rename = "internet")]
    Internet,
    #[serde(rename = "internet-via-load-balancer")]
    InternetViaLoadBalancer,
    #[serde(rename = "latent")]
    Latent,
    #[serde(rename = "unattached")]
    Unattached,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Internet => "internet",
            Level::InternetViaLoadBalancer => "internet-via-load-balancer",
            Level::Latent => "latent",
            Level::Unattached => "unattached",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A level with the path (or the reason it is not reachable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reachability {
    pub level: Level,
    pub path: String,
}

/// What a check flagged: a protocol and its ports (`All` for all traffic).
pub type Flagged = Vec<(Protocol, PortSet)>;

impl Network {
    /// The table that routes `subnet`: its explicit association, else its VPC's main table.
    pub fn route_table(&self, subnet: &str) -> Option<&RouteTable> {
        self.route_tables
            .iter()
            .find(|t| t.subnets.iter().any(|s| s == subnet))
            .or_else(|| {
                let vpc = self.subnets.get(subnet)?;
                self.route_tables
                    .iter()
                    .find(|t| t.main && t.vpc_id.as_deref() == Some(vpc))
            })
    }

    /// The NACL of `subnet`: its explicit association, else its VPC's default NACL.
    pub fn nacl(&self, subnet: &str) -> Option<&Nacl> {
        self.nacls
            .iter()
            .find(|n| n.subnets.iter().any(|s| s == subnet))
            .or_else(|| {
                let vpc = self.subnets.get(subnet)?;
                self.nacls
                    .iter()
                    .find(|n| n.default && n.vpc_id.as_deref() == Some(vpc))
            })
    }

    /// The most severe reachability of `flagged` (ingress) over the interfaces using `group`.
    pub fn reachability(&self, group: &GroupId, flagged: &Flagged) -> Reachability {
        let mut best: Option<Reachability> = None;
        for eni in self.interfaces.iter().filter(|i| i.groups.contains(group)) {
            let r = self.interface_reachability(eni, flagged);
            if best.as_ref().is_none_or(|b| r.level < b.level) {
                best = Some(r);
            }
        }
        best.unwrap_or(Reachability {
            level: Level::Unattached,
            path: "no network interface uses the group".into(),
        })
    }

    fn interface_reachability(&self, eni: &Interface, flagged: &Flagged) -> Reachability {
        let direct = self.direct_reachability(eni, flagged);
        if direct.level == Level::Internet {
            return direct;
        }
        match self.via_load_balancer(eni, flagged) {
            Some(path) => Reachability {
                level: Level::InternetViaLoadBalancer,
                path,
            },
            None => direct,
        }
    }

    /// An internet-facing load balancer forwards a flagged port to this interface: it is a
    /// registered target (its instance, or one of its addresses) of a target group of such a load
    /// balancer, on a flagged port of the group's protocol.
    fn via_load_balancer(&self, eni: &Interface, flagged: &Flagged) -> Option<String> {
        for tg in &self.target_groups {
            let Some(lb) = self
                .load_balancers
                .iter()
                .find(|lb| lb.internet_facing && tg.load_balancers.contains(&lb.arn))
            else {
                continue;
            };
            let protocols: &[Protocol] = match tg.protocol.to_ascii_uppercase().as_str() {
                "UDP" => &[Protocol::Udp],
                "TCP_UDP" => &[Protocol::Tcp, Protocol::Udp],
                _ => &[Protocol::Tcp],
            };
            for (id, port) in &tg.targets {
                let ours = match tg.target_type.as_str() {
                    "ip" => eni.private_ips.iter().any(|a| a.to_string() == *id),
                    _ => eni.instance_id.as_deref() == Some(id.as_str()),
                };
                let Some(port) = port.or(tg.port) else {
                    continue;
                };
                let hit = ours
                    && flagged.iter().any(|(p, ports)| {
                        (*p == Protocol::All || protocols.contains(p)) && ports.contains(port)
                    });
                if hit {
                    return Some(format!(
                        "{}{} is a target of internet-facing {} load balancer {} ({} port {port})",
                        eni.id,
                        eni.instance_id
                            .as_deref()
                            .map(|i| format!(" ({i})"))
                            .unwrap_or_default(),
                        lb.kind,
                        lb.name,
                        tg.name
                    ));
                }
            }
        }
        None
    }

    fn direct_reachability(&self, eni: &Interface, flagged: &Flagged) -> Reachability {
        let latent = |why: String| Reachability {
            level: Level::Latent,
            path: format!("{}: {why}", eni.id),
        };
        let addresses: Vec<IpAddr> = eni
            .public_ipv4
            .iter()
            .chain(&eni.ipv6)
            .copied()
            .filter(|a| has_public(&IpNet::from(*a)))
            .collect();
        if addresses.is_empty() {
            return latent("no public address".into());
        }
        let Some(subnet) = eni.subnet_id.as_deref() else {
            return latent("its subnet is not known".into());
        };
        let Some(table) = self.route_table(subnet) else {
            return latent(format!("no route table of {subnet} is known"));
        };
        let mut reasons = Vec::new();
        for addr in addresses {
            let family = match addr {
                IpAddr::V4(_) => Family::V4,
                IpAddr::V6(_) => Family::V6,
            };
            let Some(route) = internet_route(table, family) else {
                reasons.push(format!(
                    "{addr} in {subnet}, but {} has no route to an internet gateway for {}",
                    table.id,
                    match family {
                        Family::V4 => "public IPv4 destinations",
                        Family::V6 => "public IPv6 destinations",
                    }
                ));
                continue;
            };
            let Some(nacl) = self.nacl(subnet) else {
                // Without a known NACL nothing can be said about it: not claimed reachable.
                reasons.push(format!(
                    "{addr} in {subnet} via {} ({}), but its network ACL is not known",
                    route.target, table.id
                ));
                continue;
            };
            match nacl_admits(nacl, family, flagged) {
                Ok(rule) => {
                    return Reachability {
                        level: Level::Internet,
                        path: format!(
                            "{} {addr} in {subnet} via {} ({}), nacl {} rule {rule}",
                            eni.id, route.target, table.id, nacl.id
                        ),
                    }
                }
                Err(why) => reasons.push(format!("{addr} in {subnet}: nacl {} {why}", nacl.id)),
            }
        }
        latent(reasons.join("; "))
    }
}

/// The route to an internet gateway that longest-prefix match selects for some public
/// destination of `family`, if any.
pub fn internet_route(table: &RouteTable, family: Family) -> Option<&Route> {
    let of_family = |r: &&Route| Family::of(&r.destination) == family;
    for r in table
        .routes
        .iter()
        .filter(of_family)
        .filter(|r| r.to_internet_gateway())
    {
        // Public addresses of its destination that no longer (more specific) route takes.
        let mut left = public_of(&r.destination);
        for longer in table.routes.iter().filter(of_family).filter(|o| {
            o.destination.prefix_len() > r.destination.prefix_len()
                && r.destination.contains(&o.destination)
                && !o.to_internet_gateway()
        }) {
            left = subtract(&left, &[interval(&longer.destination)]);
        }
        if !left.is_empty() {
            return Some(r);
        }
    }
    None
}

/// The route longest-prefix match selects for `addr` (the routes' own order breaks no ties:
/// destinations of one table are distinct).
pub fn route_for(table: &RouteTable, addr: IpAddr) -> Option<&Route> {
    table
        .routes
        .iter()
        .filter(|r| r.destination.contains(&addr))
        .max_by_key(|r| r.destination.prefix_len())
}

/// Whether the NACL admits some flagged (protocol, port) inbound from some public address and the
/// reply outbound to it on an ephemeral port: `Ok(the inbound rule number)`, or why not.
pub fn nacl_admits(nacl: &Nacl, family: Family, flagged: &Flagged) -> Result<i64, String> {
    let mut inbound_denied = true;
    for (protocol, ports) in flagged {
        // `All` (all traffic) is judged as tcp on every port.
        let (protocol, ports) = match protocol {
            Protocol::All => (Protocol::Tcp, PortSet::from_ranges([PortRange::ALL])),
            p => (*p, ports.clone()),
        };
        for port in representative_ports(nacl, false, &protocol, &ports) {
            let (admitted, rule) = first_match(nacl, false, family, protocol, port);
            if admitted.is_empty() {
                continue;
            }
            inbound_denied = false;
            let reply_ports = PortSet::from_ranges([EPHEMERAL]);
            for reply in representative_ports(nacl, true, &protocol, &reply_ports) {
                let (back, _) = first_match(nacl, true, family, protocol, reply);
                if !intersect(&admitted, &back).is_empty() {
                    return Ok(rule.unwrap_or(0));
                }
            }
        }
    }
    if inbound_denied {
        Err("denies the flagged ports inbound from every public address".into())
    } else {
        Err("admits them inbound but denies the replies on ephemeral ports outbound".into())
    }
}

/// One port per interval on which the NACL's entries of one direction do not change (every
/// entry's bounds cut the flagged ranges); for ICMP and other protocols, one value.
fn representative_ports(
    nacl: &Nacl,
    egress: bool,
    protocol: &Protocol,
    ports: &PortSet,
) -> Vec<Option<u16>> {
    if !protocol.has_ports() {
        return vec![None];
    }
    let mut out = Vec::new();
    for range in ports.ranges() {
        let mut cuts: Vec<u32> = vec![u32::from(range.from), u32::from(range.to) + 1];
        for e in nacl.entries.iter().filter(|e| e.egress == egress) {
            if let Some(p) = e.ports {
                for b in [u32::from(p.from), u32::from(p.to) + 1] {
                    if b > u32::from(range.from) && b <= u32::from(range.to) {
                        cuts.push(b);
                    }
                }
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        for w in cuts.windows(2) {
            out.push(Some(w[0] as u16));
        }
    }
    out
}

/// The public addresses of `family` the NACL's entries of one direction allow for `protocol` on
/// `port`, rules in number order, first match wins; and the number of the first allowing rule.
fn first_match(
    nacl: &Nacl,
    egress: bool,
    family: Family,
    protocol: Protocol,
    port: Option<u16>,
) -> (Vec<Interval>, Option<i64>) {
    let mut entries: Vec<&NaclEntry> = nacl
        .entries
        .iter()
        .filter(|e| e.egress == egress && Family::of(&e.cidr) == family)
        .collect();
    entries.sort_by_key(|e| e.number);
    let mut left = public_of(&family.internet());
    let mut allowed: Vec<Interval> = Vec::new();
    let mut first_allow = None;
    for e in entries {
        let proto_ok = match e.protocol {
            None => true,
            Some(p) => p == protocol,
        };
        let port_ok = match (e.ports, port) {
            (Some(r), Some(p)) => r.contains(p),
            _ => true,
        };
        if !proto_ok || !port_ok {
            continue;
        }
        let hit = intersect(&left, &[interval(&e.cidr)]);
        if hit.is_empty() {
            continue;
        }
        if e.allow {
            allowed = union(&allowed, &hit);
            first_allow.get_or_insert(e.number);
        }
        left = subtract(&left, &[interval(&e.cidr)]);
    }
    // Whatever no rule matched is denied (the implicit `*` rule).
    (allowed, first_allow)
}

fn public_of(net: &IpNet) -> Vec<Interval> {
    crate::exposure::public_intervals(net)
}

fn intersect(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    for &(a0, a1) in a {
        for &(b0, b1) in b {
            let (lo, hi) = (a0.max(b0), a1.min(b1));
            if lo <= hi {
                out.push((lo, hi));
            }
        }
    }
    out.sort_unstable();
    out
}

fn union(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let mut all: Vec<Interval> = a.iter().chain(b).copied().collect();
    all.sort_unstable();
    let mut out: Vec<Interval> = Vec::new();
    for (lo, hi) in all {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

fn subtract(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    for &(lo, hi) in a {
        let mut pieces = vec![(lo, hi)];
        for &(b0, b1) in b {
            let mut next = Vec::new();
            for (p0, p1) in pieces {
                if b1 < p0 || b0 > p1 {
                    next.push((p0, p1));
                    continue;
                }
                if b0 > p0 {
                    next.push((p0, b0 - 1));
                }
                if b1 < p1 {
                    next.push((b1 + 1, p1));
                }
            }
            pieces = next;
        }
        out.extend(pieces);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn entry(
        number: i64,
        egress: bool,
        proto: Option<Protocol>,
        ports: Option<(u16, u16)>,
        cidr: &str,
        allow: bool,
    ) -> NaclEntry {
        NaclEntry {
            number,
            egress,
            protocol: proto,
            ports: ports.map(|(a, b)| PortRange::new(a, b).unwrap()),
            cidr: net(cidr),
            allow,
        }
    }

    /// Brute force: the entries of one direction sorted by number, the first that matches decides;
    /// nothing matches = denied.
    fn brute(
        entries: &[NaclEntry],
        egress: bool,
        proto: Protocol,
        port: u16,
        addr: IpAddr,
    ) -> bool {
        let mut sorted: Vec<&NaclEntry> = entries.iter().filter(|e| e.egress == egress).collect();
        sorted.sort_by_key(|e| e.number);
        for e in sorted {
            let p = e.protocol.is_none_or(|p| p == proto);
            let q = e
                .ports
                .is_none_or(|r| !proto.has_ports() || r.contains(port));
            if p && q && e.cidr.contains(&addr) {
                return e.allow;
            }
        }
        false
    }

    fn contains(intervals: &[Interval], addr: IpAddr) -> bool {
        let a = match addr {
            IpAddr::V4(v) => u128::from(u32::from(v)),
            IpAddr::V6(v) => u128::from(v),
        };
        intervals.iter().any(|&(lo, hi)| lo <= a && a <= hi)
    }

    fn any_entry() -> impl Strategy<Value = NaclEntry> {
        (
            1i64..200,
            any::<bool>(),
            prop_oneof![
                Just(None),
                Just(Some(Protocol::Tcp)),
                Just(Some(Protocol::Udp))
            ],
            prop_oneof![
                Just(None),
                (0u16..2000, 0u16..2000).prop_map(|(a, b)| Some((a.min(b), a.max(b))))
            ],
            (0u8..=32, any::<u32>()),
            any::<bool>(),
        )
            .prop_map(|(n, egress, proto, ports, (len, addr), allow)| NaclEntry {
                number: n,
                egress,
                protocol: proto,
                ports: ports.map(|(a, b)| PortRange::new(a, b).unwrap()),
                cidr: IpNet::V4(ipnet::Ipv4Net::new(addr.into(), len).unwrap().trunc()),
                allow,
            })
    }

    proptest! {
        /// The interval evaluation of a NACL (first match by rule number, ranges, -1, the
        /// implicit deny) agrees with a per-address brute force on sampled public addresses.
        #[test]
        fn nacl_first_match_agrees_with_brute_force(
            entries in prop::collection::vec(any_entry(), 0..8),
            port in 0u16..2000,
            udp in any::<bool>(),
            probes in prop::collection::vec(any::<u32>(), 16),
        ) {
            let proto = if udp { Protocol::Udp } else { Protocol::Tcp };
            let nacl = Nacl { entries: entries.clone(), ..Nacl::default() };
            for egress in [false, true] {
                let (allowed, _) = first_match(&nacl, egress, Family::V4, proto, Some(port));
                let mut addrs: Vec<IpAddr> = probes.iter().map(|a| IpAddr::from(std::net::Ipv4Addr::from(*a))).collect();
                for e in &entries {
                    addrs.push(e.cidr.network());
                    addrs.push(e.cidr.broadcast());
                }
                for a in addrs.into_iter().filter(|a| has_public(&IpNet::from(*a))) {
                    prop_assert_eq!(contains(&allowed, a), brute(&entries, egress, proto, port, a), "{} {}/{}", a, proto, port);
                }
            }
        }

        /// Longest-prefix match against a brute force over prefix lengths, and an internet route
        /// exists exactly when some sampled public address is routed to an internet gateway
        /// (one direction: sampling cannot prove the absence).
        #[test]
        fn route_selection_agrees_with_brute_force(
            dests in prop::collection::vec((0u8..=32, any::<u32>(), any::<bool>()), 0..6),
            probes in prop::collection::vec(any::<u32>(), 24),
        ) {
            let mut table = RouteTable { id: "rtb-1".into(), ..RouteTable::default() };
            for (len, addr, igw) in dests {
                let d = IpNet::V4(ipnet::Ipv4Net::new(addr.into(), len).unwrap().trunc());
                if table.routes.iter().any(|r| r.destination == d) {
                    continue;
                }
                table.routes.push(Route { destination: d, target: if igw { "igw-1".into() } else { "nat-1".into() } });
            }
            let mut addrs: Vec<IpAddr> = probes.iter().map(|a| IpAddr::from(std::net::Ipv4Addr::from(*a))).collect();
            for r in &table.routes {
                addrs.push(r.destination.network());
                addrs.push(r.destination.broadcast());
            }
            let mut some_public_to_igw = false;
            for a in addrs {
                let brute = (0..=32u8).rev().find_map(|len| {
                    let key = IpNet::new(a, len).unwrap().trunc();
                    table.routes.iter().find(|r| r.destination == key)
                });
                prop_assert_eq!(route_for(&table, a), brute);
                if has_public(&IpNet::from(a)) && brute.is_some_and(|r| r.to_internet_gateway()) {
                    some_public_to_igw = true;
                }
            }
            if some_public_to_igw {
                prop_assert!(internet_route(&table, Family::V4).is_some());
            }
        }
    }

    fn network() -> Network {
        let g = GroupId::parse("sg-0aaaaaaaaaaaaaaa1").unwrap();
        Network {
            interfaces: vec![Interface {
                id: "eni-1".into(),
                subnet_id: Some("subnet-public".into()),
                vpc_id: Some("vpc-1".into()),
                groups: vec![g],
                public_ipv4: Some("54.10.20.30".parse().unwrap()),
                ipv6: vec![],
                instance_id: Some("i-1".into()),
                private_ips: vec!["10.0.1.5".parse().unwrap()],
            }],
            subnets: [
                ("subnet-public".to_string(), "vpc-1".to_string()),
                ("subnet-private".to_string(), "vpc-1".to_string()),
            ]
            .into(),
            route_tables: vec![
                RouteTable {
                    id: "rtb-main".into(),
                    vpc_id: Some("vpc-1".into()),
                    main: true,
                    subnets: vec![],
                    routes: vec![Route {
                        destination: net("10.0.0.0/16"),
                        target: "local".into(),
                    }],
                },
                RouteTable {
                    id: "rtb-public".into(),
                    vpc_id: Some("vpc-1".into()),
                    main: false,
                    subnets: vec!["subnet-public".into()],
                    routes: vec![
                        Route {
                            destination: net("10.0.0.0/16"),
                            target: "local".into(),
                        },
                        Route {
                            destination: net("0.0.0.0/0"),
                            target: "igw-1".into(),
                        },
                    ],
                },
            ],
            nacls: vec![Nacl {
                id: "acl-1".into(),
                vpc_id: Some("vpc-1".into()),
                default: true,
                subnets: vec![],
                entries: vec![
                    entry(100, false, None, None, "0.0.0.0/0", true),
                    entry(100, true, None, None, "0.0.0.0/0", true),
                ],
            }],
            load_balancers: vec![],
            target_groups: vec![],
            pending_targets: vec![],
        }
    }

    #[test]
    fn each_level_with_its_path_or_reason() {
        let g = GroupId::parse("sg-0aaaaaaaaaaaaaaa1").unwrap();
        let ssh: Flagged = vec![(Protocol::Tcp, PortSet::parse("22").unwrap())];
        let n = network();
        let r = n.reachability(&g, &ssh);
        assert_eq!(r.level, Level::Internet);
        assert_eq!(
            r.path,
            "eni-1 54.10.20.30 in subnet-public via igw-1 (rtb-public), nacl acl-1 rule 100"
        );
        // The main table (no explicit association) has no internet route.
        let mut private = n.clone();
        private.interfaces[0].subnet_id = Some("subnet-private".into());
        let r = private.reachability(&g, &ssh);
        assert_eq!(r.level, Level::Latent);
        assert!(
            r.path
                .contains("rtb-main has no route to an internet gateway"),
            "{}",
            r.path
        );
        // A NAT gateway is not an internet gateway.
        let mut nat = n.clone();
        nat.route_tables[1].routes[1].target = "nat-1".into();
        assert_eq!(nat.reachability(&g, &ssh).level, Level::Latent);
        // No public address.
        let mut no_ip = n.clone();
        no_ip.interfaces[0].public_ipv4 = None;
        assert!(no_ip
            .reachability(&g, &ssh)
            .path
            .ends_with("no public address"));
        // A NACL denying 22 first, then allowing everything.
        let mut deny = n.clone();
        deny.nacls[0].entries.insert(
            0,
            entry(
                90,
                false,
                Some(Protocol::Tcp),
                Some((22, 22)),
                "0.0.0.0/0",
                false,
            ),
        );
        let r = deny.reachability(&g, &ssh);
        assert!(
            r.path.contains("denies the flagged ports inbound"),
            "{}",
            r.path
        );
        // Stateless: the replies need the ephemeral ports outbound.
        let mut no_reply = n.clone();
        no_reply.nacls[0].entries[1] = entry(
            100,
            true,
            Some(Protocol::Tcp),
            Some((443, 443)),
            "0.0.0.0/0",
            true,
        );
        let r = no_reply.reachability(&g, &ssh);
        assert!(
            r.path.contains("denies the replies on ephemeral ports"),
            "{}",
            r.path
        );
        // No interface.
        let other = GroupId::parse("sg-0aaaaaaaaaaaaaaa2").unwrap();
        assert_eq!(n.reachability(&other, &ssh).level, Level::Unattached);
        // Behind an internet-facing network load balancer: an instance target on the flagged port.
        let mut behind = no_ip.clone();
        behind.load_balancers.push(LoadBalancer {
            arn: "arn:lb/net/edge/1".into(),
            name: "edge".into(),
            internet_facing: true,
            kind: "network".into(),
        });
        behind.target_groups.push(TargetGroup {
            arn: "arn:tg/ssh/1".into(),
            name: "ssh".into(),
            port: Some(22),
            protocol: "TCP".into(),
            target_type: "instance".into(),
            load_balancers: vec!["arn:lb/net/edge/1".into()],
            targets: vec![("i-1".into(), None)],
        });
        let r = behind.reachability(&g, &ssh);
        assert_eq!(r.level, Level::InternetViaLoadBalancer);
        assert_eq!(
            r.path,
            "eni-1 (i-1) is a target of internet-facing network load balancer edge (ssh port 22)"
        );
        // Another port, an internal load balancer, or another instance: not this level.
        let mut other_port = behind.clone();
        other_port.target_groups[0].targets[0].1 = Some(8080);
        assert_eq!(other_port.reachability(&g, &ssh).level, Level::Latent);
        let mut internal = behind.clone();
        internal.load_balancers[0].internet_facing = false;
        assert_eq!(internal.reachability(&g, &ssh).level, Level::Latent);
        let mut ip_target = behind.clone();
        ip_target.target_groups[0].target_type = "ip".into();
        ip_target.target_groups[0].targets[0].0 = "10.0.1.5".into();
        assert_eq!(
            ip_target.reachability(&g, &ssh).level,
            Level::InternetViaLoadBalancer
        );
        // An address that is not public (a moto Elastic IP in 127/8) is no public address.
        let mut loopback = n.clone();
        loopback.interfaces[0].public_ipv4 = Some("127.0.0.5".parse().unwrap());
        assert_eq!(loopback.reachability(&g, &ssh).level, Level::Latent);
    }
}
