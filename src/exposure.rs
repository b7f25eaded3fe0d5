//! Who can reach what, as sets: for each protocol and each elementary port interval, the *union*
//! of the CIDR sources (and resolved prefix lists) of every permission that admits it. This is how
//! `0.0.0.0/1` + `128.0.0.0/1` on tcp/22 is recognised as the whole internet.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::model::{Permission, Protocol};
use crate::ports::{write_joined, PortRange};

/// Resolved managed prefix lists: id to entries. A list missing here is unknown.
pub type PrefixLists = BTreeMap<String, Vec<IpNet>>;

/// IPv4 or IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

/// The sources of one family that reach a segment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reach<N> {
    /// The union, aggregated (merged and de-duplicated).
    pub union: Vec<N>,
    /// The sources as written (CIDRs and prefix-list ids), in order, for annotations.
    pub sources: Vec<String>,
}

/// One protocol and port interval with everything that reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// `Tcp`/`Udp` with real port intervals; other protocols with `PortRange::ALL`;
    /// `All` for what `-1` permissions alone open (every protocol).
    pub protocol: Protocol,
    pub ports: PortRange,
    pub v4: Reach<Ipv4Net>,
    pub v6: Reach<Ipv6Net>,
    /// Prefix lists whose entries are not known (offline): not counted in the unions.
    pub unresolved: Vec<String>,
}

impl Segment {
    /// Whether the union of this family's sources is the whole address space.
    pub fn is_public(&self, family: Family) -> bool {
        match family {
            Family::V4 => self.v4.union.iter().any(|n| n.prefix_len() == 0),
            Family::V6 => self.v6.union.iter().any(|n| n.prefix_len() == 0),
        }
    }

    pub fn sources(&self, family: Family) -> &[String] {
        match family {
            Family::V4 => &self.v4.sources,
            Family::V6 => &self.v6.sources,
        }
    }
}

/// `0.0.0.0/1 + 128.0.0.0/1 (= 0.0.0.0/0)`, or just `0.0.0.0/0`.
pub fn describe_union(sources: &[String], union: &str) -> String {
    if sources.len() == 1 && sources[0] == union {
        union.to_string()
    } else {
        format!("{} (= {union})", sources.join(" + "))
    }
}

/// The address of the whole internet for a family.
pub fn internet(family: Family) -> &'static str {
    match family {
        Family::V4 => "0.0.0.0/0",
        Family::V6 => "::/0",
    }
}

/// Splits `perms` into segments. Protocols without ports get one segment each; tcp and udp get
/// one per elementary interval (adjacent intervals with identical reach are merged).
pub fn segments(perms: &[Permission], prefix_lists: &PrefixLists) -> Vec<Segment> {
    let protocols: BTreeSet<Protocol> = perms
        .iter()
        .flat_map(|p| match p.protocol {
            Protocol::All => vec![Protocol::All, Protocol::Tcp, Protocol::Udp],
            other => vec![other],
        })
        .collect();
    let mut out = Vec::new();
    for protocol in protocols {
        let admitting: Vec<&Permission> = perms
            .iter()
            .filter(|p| {
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
        let mut bounds: BTreeSet<u32> = BTreeSet::new();
        for p in &admitting {
            bounds.insert(u32::from(p.ports.from));
            bounds.insert(u32::from(p.ports.to) + 1);
        }
        let bounds: Vec<u32> = bounds.into_iter().collect();
        let mut last: Option<Segment> = None;
        for w in bounds.windows(2) {
            let interval = PortRange {
                from: w[0] as u16,
                to: (w[1] - 1) as u16,
            };
            let covering: Vec<&Permission> = admitting
                .iter()
                .copied()
                .filter(|p| p.ports.covers(&interval))
                .collect();
            if covering.is_empty() {
                out.extend(last.take());
                continue;
            }
            let seg = segment(protocol, interval, &covering, prefix_lists);
            last = match last.take() {
                Some(mut prev)
                    if u32::from(prev.ports.to) + 1 == u32::from(seg.ports.from)
                        && (&prev.v4, &prev.v6, &prev.unresolved)
                            == (&seg.v4, &seg.v6, &seg.unresolved) =>
                {
                    prev.ports.to = seg.ports.to;
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
    perms: &[&Permission],
    prefix_lists: &PrefixLists,
) -> Segment {
    let mut v4 = Reach::<Ipv4Net>::default();
    let mut v6 = Reach::<Ipv6Net>::default();
    let mut unresolved = Vec::new();
    fn add(sources: &mut Vec<String>, s: String) {
        if !sources.contains(&s) {
            sources.push(s);
        }
    }
    for p in perms {
        for n in &p.ipv4 {
            v4.union.push(*n);
            add(&mut v4.sources, n.to_string());
        }
        for n in &p.ipv6 {
            v6.union.push(*n);
            add(&mut v6.sources, n.to_string());
        }
        for pl in &p.prefix_lists {
            match prefix_lists.get(pl) {
                Some(entries) => {
                    for e in entries {
                        match e {
                            IpNet::V4(n) => {
                                v4.union.push(*n);
                                add(&mut v4.sources, pl.clone());
                            }
                            IpNet::V6(n) => {
                                v6.union.push(*n);
                                add(&mut v6.sources, pl.clone());
                            }
                        }
                    }
                }
                None => add(&mut unresolved, pl.clone()),
            }
        }
    }
    v4.union = Ipv4Net::aggregate(&v4.union);
    v6.union = Ipv6Net::aggregate(&v6.union);
    Segment {
        protocol,
        ports,
        v4,
        v6,
        unresolved,
    }
}

/// One line of an annotation: a protocol, some ports and what reaches them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub protocol: Protocol,
    pub ports: Vec<PortRange>,
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.protocol)?;
        if self.protocol.has_ports() {
            f.write_str("/")?;
            write_joined(f, &self.ports, ",")?;
        }
        write!(f, " {}", self.detail)
    }
}

/// Merges findings of the same protocol and detail into one line with all their ports.
pub fn group_findings(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        match out
            .iter_mut()
            .find(|o| o.protocol == f.protocol && o.detail == f.detail)
        {
            Some(o) => o.ports.extend(f.ports),
            None => out.push(f),
        }
    }
    out
}

/// Every prefix list the segments could not resolve, once each.
pub fn unresolved(segments: &[Segment]) -> Vec<String> {
    let set: BTreeSet<&String> = segments.iter().flat_map(|s| &s.unresolved).collect();
    set.into_iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RawPermission;

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
        segments(perms, &PrefixLists::new())
            .into_iter()
            .filter(|s| s.protocol == Protocol::Tcp)
            .flat_map(|s| {
                [Family::V4, Family::V6]
                    .into_iter()
                    .filter(|f| s.is_public(*f))
                    .map(move |f| (s.ports, f))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn split_halves_are_the_internet() {
        let perms = [
            perm("tcp", Some((22, 22)), &["0.0.0.0/1"], &[]),
            perm("6", Some((22, 22)), &["128.0.0.0/1"], &[]),
        ];
        assert_eq!(
            public_tcp(&perms),
            vec![(PortRange::single(22), Family::V4)]
        );
        let segs = segments(&perms, &PrefixLists::new());
        assert_eq!(
            describe_union(segs[0].sources(Family::V4), "0.0.0.0/0"),
            "0.0.0.0/1 + 128.0.0.0/1 (= 0.0.0.0/0)"
        );
    }

    #[test]
    fn union_is_per_port_interval() {
        // 0.0.0.0/1 on 20-25 and 128.0.0.0/1 on 22-30: only 22-25 is public.
        let perms = [
            perm("tcp", Some((20, 25)), &["0.0.0.0/1"], &[]),
            perm("tcp", Some((22, 30)), &["128.0.0.0/1"], &[]),
        ];
        assert_eq!(
            public_tcp(&perms),
            vec![(PortRange::new(22, 25).unwrap(), Family::V4)]
        );
    }

    #[test]
    fn all_protocols_admit_tcp_and_ipv6_halves() {
        let perms = [
            perm("-1", None, &[], &["::/1"]),
            perm("tcp", Some((443, 443)), &[], &["8000::/1"]),
        ];
        assert_eq!(
            public_tcp(&perms),
            vec![(PortRange::single(443), Family::V6)]
        );
        let all = segments(&perms, &PrefixLists::new());
        assert!(all
            .iter()
            .any(|s| s.protocol == Protocol::All && !s.is_public(Family::V6)));
    }

    #[test]
    fn not_public_when_a_hole_remains() {
        let perms = [perm(
            "tcp",
            Some((22, 22)),
            &["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3"],
            &[],
        )];
        assert_eq!(public_tcp(&perms), vec![]);
    }

    #[test]
    fn prefix_lists_count_when_resolved_and_are_reported_when_not() {
        let mut p = perm("tcp", Some((22, 22)), &["0.0.0.0/1"], &[]);
        p.prefix_lists = vec!["pl-1".into(), "pl-2".into()];
        let lists = PrefixLists::from([("pl-1".to_string(), vec!["128.0.0.0/1".parse().unwrap()])]);
        let segs = segments(std::slice::from_ref(&p), &lists);
        assert!(segs[0].is_public(Family::V4));
        assert_eq!(segs[0].v4.sources, vec!["0.0.0.0/1", "pl-1"]);
        assert_eq!(unresolved(&segs), vec!["pl-2"]);
        assert!(!segments(&[p], &PrefixLists::new())[0].is_public(Family::V4));
    }

    #[test]
    fn adjacent_identical_intervals_merge() {
        let perms = [
            perm("tcp", Some((0, 99)), &["0.0.0.0/0"], &[]),
            perm("tcp", Some((100, 65535)), &["0.0.0.0/0"], &[]),
        ];
        assert_eq!(public_tcp(&perms), vec![(PortRange::ALL, Family::V4)]);
    }

    #[test]
    fn findings_group_by_detail() {
        let f = |p: u16| Finding {
            protocol: Protocol::Tcp,
            ports: vec![PortRange::single(p)],
            detail: "open to 0.0.0.0/0".into(),
        };
        let grouped = group_findings(vec![f(22), f(3389)]);
        assert_eq!(grouped.len(), 1);
        assert_eq!(grouped[0].to_string(), "tcp/22,3389 open to 0.0.0.0/0");
        let all = Finding {
            protocol: Protocol::All,
            ports: vec![PortRange::ALL],
            detail: "open to ::/0".into(),
        };
        assert_eq!(all.to_string(), "all traffic open to ::/0");
    }
}
