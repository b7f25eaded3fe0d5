//! Fixes: the smallest exact change that makes a group compliant, as EC2 API calls.
//!
//! A [`Plan`] is an ordered list of [`Call`]s (`AuthorizeSecurityGroupIngress/Egress`, then
//! `RevokeSecurityGroupIngress/Egress`), each naming single rules ([`RuleSpec`]: one protocol, one
//! port range, one peer) exactly as they exist, so EC2's all-or-nothing revoke never fails with
//! `InvalidPermission.NotFound` and authorizations never duplicate a rule. [`apply`] applies a plan
//! to the in-memory model with EC2's semantics; the planner itself re-evaluates the result and
//! refuses (with a reason) when the plan would not end the violation. Fixes carry a [`Safety`]
//! (ruff's applicability): `Safe` keeps every allowed (protocol, port, source) that was not part of
//! the violation; `Unsafe` would lose some and says which.

use std::collections::BTreeSet;
use std::fmt;

use ipnet::IpNet;
use serde::Serialize;

use crate::exposure::Family;
use crate::model::{GroupId, GroupRef, Permission, Protocol, SecurityGroup};
use crate::ports::{PortRange, PortSet};

/// Inbound or outbound rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Direction {
    Ingress,
    Egress,
}

/// The other end of a rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peer {
    Cidr(IpNet),
    PrefixList(String),
    Group(GroupId),
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Cidr(n) => write!(f, "{n}"),
            Peer::PrefixList(id) => f.write_str(id),
            Peer::Group(g) => write!(f, "{g}"),
        }
    }
}

/// One security-group rule as EC2 stores it: a protocol, `FromPort`/`ToPort` as the API spells
/// them (ports for tcp/udp, ICMP type/code, absent for `-1`) and one peer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleSpec {
    pub protocol: Protocol,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub peer: Peer,
}

impl RuleSpec {
    /// A tcp or udp rule on `range`.
    pub fn ports(protocol: Protocol, range: PortRange, peer: Peer) -> RuleSpec {
        RuleSpec {
            protocol,
            from: Some(i64::from(range.from)),
            to: Some(i64::from(range.to)),
            peer,
        }
    }

    /// The tcp/udp port range, if any.
    pub fn port_range(&self) -> PortRange {
        match (self.protocol.has_ports(), self.from, self.to) {
            (true, Some(a), Some(b)) => {
                PortRange::new(a.clamp(0, 65535) as u16, b.clamp(0, 65535) as u16)
                    .unwrap_or(PortRange::ALL)
            }
            _ => PortRange::ALL,
        }
    }

    /// The EC2 `IpProtocol` value.
    pub fn ip_protocol(&self) -> String {
        ip_protocol(self.protocol)
    }
}

impl fmt::Display for RuleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.protocol)?;
        if self.protocol.has_ports() {
            write!(f, "/{}", self.port_range())?;
        }
        write!(f, " {}", self.peer)
    }
}

/// The EC2 `IpProtocol` value of a protocol.
pub fn ip_protocol(protocol: Protocol) -> String {
    match protocol {
        Protocol::All => "-1".into(),
        Protocol::Tcp => "tcp".into(),
        Protocol::Udp => "udp".into(),
        Protocol::Icmp => "icmp".into(),
        Protocol::Icmpv6 => "icmpv6".into(),
        Protocol::Other(n) => n.to_string(),
    }
}

/// `FromPort`/`ToPort` of a permission as the API spells them.
fn wire_range(p: &Permission) -> (Option<i64>, Option<i64>) {
    match (p.protocol, p.wire_ports) {
        (Protocol::Tcp | Protocol::Udp, _) => {
            (Some(i64::from(p.ports.from)), Some(i64::from(p.ports.to)))
        }
        (Protocol::All, _) => (None, None),
        (_, Some((a, b))) => (Some(a), Some(b)),
        (_, None) => (Some(-1), Some(-1)),
    }
}

/// Every rule of a permission list, one per peer.
pub fn rules_of(perms: &[Permission]) -> Vec<RuleSpec> {
    let mut out = Vec::new();
    for p in perms {
        let (from, to) = wire_range(p);
        let peers = p
            .ipv4
            .iter()
            .map(|n| Peer::Cidr(IpNet::V4(*n)))
            .chain(p.ipv6.iter().map(|n| Peer::Cidr(IpNet::V6(*n))))
            .chain(p.prefix_lists.iter().map(|id| Peer::PrefixList(id.clone())))
            .chain(p.groups.iter().map(|g| Peer::Group(g.group_id.clone())));
        for peer in peers {
            let rule = RuleSpec {
                protocol: p.protocol,
                from,
                to,
                peer,
            };
            if !out.contains(&rule) {
                out.push(rule);
            }
        }
    }
    out
}

/// The permissions that hold exactly these rules (one permission per protocol and ports).
pub fn permissions_of(rules: &[RuleSpec]) -> Vec<Permission> {
    let mut out: Vec<Permission> = Vec::new();
    for r in rules {
        let wire_ports = match r.protocol {
            Protocol::Tcp | Protocol::Udp | Protocol::All => None,
            _ => Some((r.from.unwrap_or(-1), r.to.unwrap_or(-1))),
        };
        let ports = r.port_range();
        let i = match out.iter().position(|p| {
            p.protocol == r.protocol && p.ports == ports && p.wire_ports == wire_ports
        }) {
            Some(i) => i,
            None => {
                out.push(Permission {
                    protocol: r.protocol,
                    ports,
                    ipv4: vec![],
                    ipv6: vec![],
                    prefix_lists: vec![],
                    groups: vec![],
                    wire_ports,
                });
                out.len() - 1
            }
        };
        let p = &mut out[i];
        match &r.peer {
            Peer::Cidr(IpNet::V4(n)) => p.ipv4.push(*n),
            Peer::Cidr(IpNet::V6(n)) => p.ipv6.push(*n),
            Peer::PrefixList(id) => p.prefix_lists.push(id.clone()),
            Peer::Group(g) => p.groups.push(GroupRef {
                group_id: g.clone(),
                user_id: None,
            }),
        }
    }
    out
}

/// Authorize or revoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Action {
    Authorize,
    Revoke,
}

/// One EC2 API call on one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub action: Action,
    pub direction: Direction,
    pub rules: Vec<RuleSpec>,
}

impl Call {
    /// `AuthorizeSecurityGroupIngress` and so on.
    pub fn operation(&self) -> &'static str {
        match (self.action, self.direction) {
            (Action::Authorize, Direction::Ingress) => "AuthorizeSecurityGroupIngress",
            (Action::Authorize, Direction::Egress) => "AuthorizeSecurityGroupEgress",
            (Action::Revoke, Direction::Ingress) => "RevokeSecurityGroupIngress",
            (Action::Revoke, Direction::Egress) => "RevokeSecurityGroupEgress",
        }
    }

    /// The AWS CLI subcommand (`authorize-security-group-ingress`, …).
    pub fn cli_command(&self) -> &'static str {
        match (self.action, self.direction) {
            (Action::Authorize, Direction::Ingress) => "authorize-security-group-ingress",
            (Action::Authorize, Direction::Egress) => "authorize-security-group-egress",
            (Action::Revoke, Direction::Ingress) => "revoke-security-group-ingress",
            (Action::Revoke, Direction::Egress) => "revoke-security-group-egress",
        }
    }

    /// `IpPermissions` in the API's own shape.
    pub fn ip_permissions(&self) -> Vec<ApiPermission> {
        permissions_of(&self.rules)
            .iter()
            .map(|p| {
                let (from, to) = wire_range(p);
                ApiPermission {
                    ip_protocol: ip_protocol(p.protocol),
                    from_port: from,
                    to_port: to,
                    ip_ranges: p
                        .ipv4
                        .iter()
                        .map(|n| ApiCidr {
                            cidr_ip: n.to_string(),
                        })
                        .collect(),
                    ipv6_ranges: p
                        .ipv6
                        .iter()
                        .map(|n| ApiCidr6 {
                            cidr_ipv6: n.to_string(),
                        })
                        .collect(),
                    prefix_list_ids: p
                        .prefix_lists
                        .iter()
                        .map(|id| ApiPrefixList {
                            prefix_list_id: id.clone(),
                        })
                        .collect(),
                    user_id_group_pairs: p
                        .groups
                        .iter()
                        .map(|g| ApiGroupPair {
                            group_id: g.group_id.to_string(),
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

/// An `IpPermission` as the EC2 API and the AWS CLI's `--ip-permissions` spell it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiPermission {
    pub ip_protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ip_ranges: Vec<ApiCidr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ipv6_ranges: Vec<ApiCidr6>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prefix_list_ids: Vec<ApiPrefixList>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_id_group_pairs: Vec<ApiGroupPair>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiCidr {
    pub cidr_ip: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiCidr6 {
    pub cidr_ipv6: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiPrefixList {
    pub prefix_list_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiGroupPair {
    pub group_id: String,
}

/// Whether applying a plan keeps everything that was not part of the violation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Safety {
    Safe,
    /// Applied only on request: the plan also removes what this says.
    Unsafe(String),
}

/// The protocols and port ranges of one peer in a call.
type PortsByProtocol = Vec<(Protocol, Vec<PortRange>)>;

/// An exact plan for one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub calls: Vec<Call>,
    pub safety: Safety,
}

impl Plan {
    /// `revoke tcp/22 from 0.0.0.0/1, 128.0.0.0/1; re-authorize tcp/0-21,23-65535`.
    /// (Written into one string: every NON_COMPLIANT row of an audit carries one.)
    pub fn summary(&self) -> String {
        use fmt::Write;
        let mut out = String::new();
        for (n, c) in self.calls.iter().enumerate() {
            if n > 0 {
                out.push_str("; ");
            }
            out.push_str(match c.action {
                Action::Authorize => "authorize ",
                Action::Revoke => "revoke ",
            });
            // Per peer: its protocols and ports (`tcp/80,443`); then peers with the same list together.
            let mut by_peer: Vec<(&Peer, PortsByProtocol)> = Vec::new();
            for r in &c.rules {
                let i = match by_peer.iter().position(|(p, _)| **p == r.peer) {
                    Some(i) => i,
                    None => {
                        by_peer.push((&r.peer, Vec::new()));
                        by_peer.len() - 1
                    }
                };
                let protos = &mut by_peer[i].1;
                match protos.iter_mut().find(|(p, _)| *p == r.protocol) {
                    Some((_, ranges)) => ranges.push(r.port_range()),
                    None => protos.push((r.protocol, vec![r.port_range()])),
                }
            }
            let mut by_what: Vec<(String, Vec<&Peer>)> = Vec::new();
            for (peer, protos) in by_peer {
                let mut what = String::new();
                for (k, (p, ranges)) in protos.into_iter().enumerate() {
                    if k > 0 {
                        what.push_str(", ");
                    }
                    // Writing into a String cannot fail.
                    let _ = if p.has_ports() {
                        write!(what, "{p}/{}", PortSet::from_ranges(ranges))
                    } else {
                        write!(what, "{p}")
                    };
                }
                match by_what.iter_mut().find(|(w, _)| *w == what) {
                    Some((_, peers)) => peers.push(peer),
                    None => by_what.push((what, vec![peer])),
                }
            }
            let dir = match c.direction {
                Direction::Ingress => " from ",
                Direction::Egress => " to ",
            };
            for (k, (what, peers)) in by_what.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                out.push_str(what);
                out.push_str(dir);
                for (j, peer) in peers.iter().enumerate() {
                    if j > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "{peer}");
                }
            }
        }
        out
    }
}

/// What a check offers for a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fix {
    /// Nothing to fix (compliant or not applicable).
    Nothing,
    /// An exact plan.
    Plan(Plan),
    /// No safe automatic fix: what to do by hand.
    Manual(String),
}

/// Why a plan cannot be applied (EC2 would reject the call the same way).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApplyError {
    #[error("{operation}: rule {rule} does not exist (InvalidPermission.NotFound)")]
    NotFound {
        operation: &'static str,
        rule: String,
    },
    #[error("{operation}: rule {rule} already exists (InvalidPermission.Duplicate)")]
    Duplicate {
        operation: &'static str,
        rule: String,
    },
}

/// Applies `calls` to a copy of `sg` with EC2's semantics: each call is all-or-nothing.
pub fn apply(sg: &SecurityGroup, calls: &[Call]) -> Result<SecurityGroup, ApplyError> {
    // A direction no call touches keeps its permissions as they are.
    let touched = |d: Direction| calls.iter().any(|c| c.direction == d);
    let rules = |d: Direction, perms: &[Permission]| {
        if touched(d) {
            rules_of(perms)
        } else {
            Vec::new()
        }
    };
    let mut ingress = rules(Direction::Ingress, &sg.ingress);
    let mut egress = rules(Direction::Egress, &sg.egress);
    for call in calls {
        let rules = match call.direction {
            Direction::Ingress => &mut ingress,
            Direction::Egress => &mut egress,
        };
        for r in &call.rules {
            let present = rules.contains(r);
            match (call.action, present) {
                (Action::Authorize, true) => {
                    return Err(ApplyError::Duplicate {
                        operation: call.operation(),
                        rule: r.to_string(),
                    })
                }
                (Action::Revoke, false) => {
                    return Err(ApplyError::NotFound {
                        operation: call.operation(),
                        rule: r.to_string(),
                    })
                }
                _ => {}
            }
        }
        match call.action {
            Action::Authorize => rules.extend(call.rules.iter().cloned()),
            Action::Revoke => rules.retain(|r| !call.rules.contains(r)),
        }
    }
    Ok(SecurityGroup {
        group_id: sg.group_id.clone(),
        group_name: sg.group_name.clone(),
        vpc_id: sg.vpc_id.clone(),
        owner_id: sg.owner_id.clone(),
        tags: sg.tags.clone(),
        ingress: if touched(Direction::Ingress) {
            permissions_of(&ingress)
        } else {
            sg.ingress.clone()
        },
        egress: if touched(Direction::Egress) {
            permissions_of(&egress)
        } else {
            sg.egress.clone()
        },
    })
}

/// Which internet-reachable (protocol, port) a check counts as a violation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offending {
    pub tcp: PortSet,
    pub udp: PortSet,
    /// Explicit rules of other protocols (icmp, esp, …) from the internet are violations.
    pub other: bool,
    /// All traffic (`-1`) from the internet is a violation as such (not only its tcp/udp ports).
    pub all_traffic: bool,
}

impl Offending {
    /// Everything, of every protocol.
    pub fn everything() -> Offending {
        Offending {
            tcp: PortSet::from_ranges([PortRange::ALL]),
            udp: PortSet::from_ranges([PortRange::ALL]),
            other: true,
            all_traffic: true,
        }
    }
}

/// A source in public address space broader than /24 (IPv4) or /48 (IPv6): the only sources a
/// fix revokes. Narrower public sources cannot add up to the internet within EC2's rule quotas.
pub fn is_wide_public(net: &IpNet) -> bool {
    let (family, max) = match net {
        IpNet::V4(_) => (Family::V4, 24),
        IpNet::V6(_) => (Family::V6, 48),
    };
    net.prefix_len() < max && !family.private_blocks().iter().any(|b| b.contains(net))
}

/// Revokes the wide public sources of `perms` on offending ports and re-authorizes the rest of
/// each touched rule. Returns the authorize and revoke rules and what an unsafe plan would lose.
pub fn narrow_public(
    perms: &[Permission],
    offending: &Offending,
) -> (Vec<RuleSpec>, Vec<RuleSpec>, Option<String>) {
    let existing: BTreeSet<RuleSpec> = rules_of(perms).into_iter().collect();
    let mut authorize: Vec<RuleSpec> = Vec::new();
    let mut revoke: Vec<RuleSpec> = Vec::new();
    let mut lost: Vec<String> = Vec::new();
    let add = |r: RuleSpec, authorize: &mut Vec<RuleSpec>| {
        if !existing.contains(&r) && !authorize.contains(&r) {
            authorize.push(r);
        }
    };
    for rule in rules_of(perms) {
        let Peer::Cidr(net) = rule.peer else { continue };
        if !is_wide_public(&net) {
            continue;
        }
        let peer = Peer::Cidr(net);
        match rule.protocol {
            Protocol::Tcp | Protocol::Udp => {
                let set = if rule.protocol == Protocol::Tcp {
                    &offending.tcp
                } else {
                    &offending.udp
                };
                let range = rule.port_range();
                if set.intersect(&range).is_empty() {
                    continue;
                }
                for keep in set.subtract_from(&range) {
                    add(
                        RuleSpec::ports(rule.protocol, keep, peer.clone()),
                        &mut authorize,
                    );
                }
                revoke.push(rule);
            }
            Protocol::All => {
                let touches =
                    offending.all_traffic || !offending.tcp.is_empty() || !offending.udp.is_empty();
                if !touches {
                    continue;
                }
                if offending.other {
                    // Every protocol is a violation: nothing of the rule stays.
                    for (proto, set) in [
                        (Protocol::Tcp, &offending.tcp),
                        (Protocol::Udp, &offending.udp),
                    ] {
                        for keep in set.subtract_from(&PortRange::ALL) {
                            add(RuleSpec::ports(proto, keep, peer.clone()), &mut authorize);
                        }
                    }
                } else {
                    for (proto, set) in [
                        (Protocol::Tcp, &offending.tcp),
                        (Protocol::Udp, &offending.udp),
                    ] {
                        for keep in set.subtract_from(&PortRange::ALL) {
                            add(RuleSpec::ports(proto, keep, peer.clone()), &mut authorize);
                        }
                    }
                    for proto in [Protocol::Icmp, Protocol::Icmpv6] {
                        add(
                            RuleSpec {
                                protocol: proto,
                                from: Some(-1),
                                to: Some(-1),
                                peer: peer.clone(),
                            },
                            &mut authorize,
                        );
                    }
                    lost.push(net.to_string());
                }
                revoke.push(rule);
            }
            _ => {
                if offending.other {
                    revoke.push(rule);
                }
            }
        }
    }
    let unsafe_note = (!lost.is_empty()).then(|| {
        format!(
            "a -1 rule cannot be narrowed exactly: protocols other than tcp, udp, icmp and icmpv6 (esp, gre, …) from {} would be lost",
            lost.join(", ")
        )
    });
    (authorize, revoke, unsafe_note)
}

/// The plan for one direction: authorizations first, then revocations.
pub fn plan_of(
    direction: Direction,
    authorize: Vec<RuleSpec>,
    revoke: Vec<RuleSpec>,
    unsafe_note: Option<String>,
) -> Option<Plan> {
    let mut calls = Vec::new();
    if !authorize.is_empty() {
        calls.push(Call {
            action: Action::Authorize,
            direction,
            rules: authorize,
        });
    }
    if !revoke.is_empty() {
        calls.push(Call {
            action: Action::Revoke,
            direction,
            rules: revoke,
        });
    }
    let safety = match unsafe_note {
        Some(note) => Safety::Unsafe(note),
        None => Safety::Safe,
    };
    (!calls.is_empty()).then_some(Plan { calls, safety })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::from_config_item;
    use serde_json::json;

    fn sg(ingress: serde_json::Value) -> SecurityGroup {
        from_config_item(
            &json!({"groupId": "sg-0123abcd", "ipPermissions": ingress}),
            &Default::default(),
        )
        .unwrap()
    }

    #[test]
    fn rules_round_trip_and_apply_has_ec2_semantics() {
        let g = sg(json!([
            {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["0.0.0.0/0", "10.0.0.0/8"]},
            {"ipProtocol": "icmp", "fromPort": 8, "toPort": -1, "ipRanges": ["0.0.0.0/0"]}
        ]));
        let rules = rules_of(&g.ingress);
        assert_eq!(rules.len(), 3);
        assert_eq!(rules_of(&permissions_of(&rules)), rules);
        let revoke = |r: RuleSpec| Call {
            action: Action::Revoke,
            direction: Direction::Ingress,
            rules: vec![r],
        };
        let after = apply(&g, &[revoke(rules[0].clone())]).unwrap();
        assert_eq!(rules_of(&after.ingress).len(), 2);
        assert!(matches!(
            apply(&after, &[revoke(rules[0].clone())]),
            Err(ApplyError::NotFound { .. })
        ));
        assert_eq!(rules[2].from, Some(8), "icmp type kept exactly");
        let dup = Call {
            action: Action::Authorize,
            direction: Direction::Ingress,
            rules: vec![rules[1].clone()],
        };
        assert!(matches!(
            apply(&g, &[dup]),
            Err(ApplyError::Duplicate { .. })
        ));
    }

    #[test]
    fn wide_public_sources() {
        for (cidr, wide) in [
            ("0.0.0.0/0", true),
            ("0.0.0.0/1", true),
            ("203.0.113.0/24", false),
            ("198.51.0.0/16", true),
            ("10.0.0.0/8", false),
            ("::/0", true),
            ("2001:db8::/32", true),
            ("2001:db8::/48", false),
            ("fd00::/8", false),
        ] {
            assert_eq!(is_wide_public(&cidr.parse().unwrap()), wide, "{cidr}");
        }
    }

    #[test]
    fn a_public_range_is_narrowed_around_the_offending_port() {
        let g = sg(
            json!([{"ipProtocol": "tcp", "fromPort": 0, "toPort": 65535, "ipRanges": ["0.0.0.0/0", "192.0.2.0/24"]}]),
        );
        let off = Offending {
            tcp: PortSet::parse("22").unwrap(),
            udp: PortSet::empty(),
            other: false,
            all_traffic: false,
        };
        let (auth, revoke, lost) = narrow_public(&g.ingress, &off);
        let plan = plan_of(Direction::Ingress, auth, revoke, lost).unwrap();
        assert_eq!(plan.safety, Safety::Safe);
        assert_eq!(
            plan.summary(),
            "authorize tcp/0-21,23-65535 from 0.0.0.0/0; revoke tcp/0-65535 from 0.0.0.0/0"
        );
        let after = apply(&g, &plan.calls).unwrap();
        assert_eq!(rules_of(&after.ingress).len(), 3, "the /24 stays");
        let api = serde_json::to_value(plan.calls[1].ip_permissions()).unwrap();
        assert_eq!(
            api,
            json!([{"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        );
    }
}
