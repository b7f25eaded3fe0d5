//! Fixes: the smallest exact change that makes a group compliant, as EC2 API calls.
//!
//! A check says what its violation is ([`Violation`]: per family, the (protocol, ports) its
//! findings report and which of the sources reaching them are part of it); [`narrow`] turns that
//! into the rules to revoke and the pieces of them to authorize again, touching nothing else. A
//! [`Plan`] is the difference between the group's rules and the rules it should have
//! ([`plan_between`]), ordered so no step exceeds the rule quota ([`Quota`]) and no step loses
//! access that is not the violation: authorizations first when they fit, else rules that are
//! wholly the violation revoked first, each narrowed rule replaced one at a time, or reshaped in
//! place (`ModifySecurityGroupRules`). Each [`Call`] names single rules ([`RuleSpec`]: one
//! protocol, one port range, one peer) exactly as they exist, so EC2's all-or-nothing revoke never
//! fails with `InvalidPermission.NotFound` and authorizations never duplicate a rule. [`apply`]
//! applies a plan to the in-memory model with EC2's semantics, quota included; the planner
//! re-evaluates the result and refuses (with a reason) when the plan would not end the violation.
//! Fixes carry a [`Safety`] (ruff's applicability): `Safe` keeps every allowed (protocol, port,
//! source) that was not part of the violation; `Unsafe` would lose some and says which.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ipnet::IpNet;
use serde::Serialize;

use crate::exposure::{has_public, Family, PrefixLists, PublicReach, WidePublic};
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
/// them (ports for tcp/udp, ICMP type/code, absent for `-1`) and one peer. Its description is
/// carried along but is not part of its identity (EC2 matches a revoke without it).
#[derive(Clone, Debug)]
pub struct RuleSpec {
    pub protocol: Protocol,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub peer: Peer,
    pub description: Option<String>,
}

impl RuleSpec {
    fn key(&self) -> (Protocol, Option<i64>, Option<i64>, &Peer) {
        (self.protocol, self.from, self.to, &self.peer)
    }
}

impl PartialEq for RuleSpec {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for RuleSpec {}
impl PartialOrd for RuleSpec {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for RuleSpec {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}
impl std::hash::Hash for RuleSpec {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}

impl RuleSpec {
    /// A tcp or udp rule on `range`.
    pub fn ports(protocol: Protocol, range: PortRange, peer: Peer) -> RuleSpec {
        RuleSpec {
            protocol,
            from: Some(i64::from(range.from)),
            to: Some(i64::from(range.to)),
            peer,
            description: None,
        }
    }

    /// The same rule with this description.
    pub fn described(mut self, description: Option<String>) -> RuleSpec {
        self.description = description;
        self
    }

    /// The address family a CIDR peer belongs to (`None` for groups and prefix lists).
    pub fn family(&self) -> Option<Family> {
        match &self.peer {
            Peer::Cidr(n) => Some(Family::of(n)),
            _ => None,
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
            let description = p.description(&peer.to_string()).map(str::to_string);
            let rule = RuleSpec {
                protocol: p.protocol,
                from,
                to,
                peer,
                description,
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
                    descriptions: vec![],
                });
                out.len() - 1
            }
        };
        let p = &mut out[i];
        if let Some(d) = &r.description {
            p.descriptions.push((r.peer.to_string(), d.clone()));
        }
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

/// Authorize, revoke, or reshape one rule in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Action {
    Authorize,
    Revoke,
    /// `ModifySecurityGroupRules`: `replaces[i]` becomes `rules[i]`, keeping its rule id and
    /// description; the group's rule count does not change.
    Modify,
}

/// One EC2 API call on one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub action: Action,
    pub direction: Direction,
    pub rules: Vec<RuleSpec>,
    /// For [`Action::Modify`]: the existing rules, one per entry of `rules`; empty otherwise.
    pub replaces: Vec<RuleSpec>,
}

impl Call {
    /// An authorize or revoke call.
    pub fn new(action: Action, direction: Direction, rules: Vec<RuleSpec>) -> Call {
        Call {
            action,
            direction,
            rules,
            replaces: Vec::new(),
        }
    }

    /// `AuthorizeSecurityGroupIngress` and so on.
    pub fn operation(&self) -> &'static str {
        match (self.action, self.direction) {
            (Action::Authorize, Direction::Ingress) => "AuthorizeSecurityGroupIngress",
            (Action::Authorize, Direction::Egress) => "AuthorizeSecurityGroupEgress",
            (Action::Revoke, Direction::Ingress) => "RevokeSecurityGroupIngress",
            (Action::Revoke, Direction::Egress) => "RevokeSecurityGroupEgress",
            (Action::Modify, _) => "ModifySecurityGroupRules",
        }
    }

    /// The AWS CLI subcommand (`authorize-security-group-ingress`, …).
    pub fn cli_command(&self) -> &'static str {
        match (self.action, self.direction) {
            (Action::Authorize, Direction::Ingress) => "authorize-security-group-ingress",
            (Action::Authorize, Direction::Egress) => "authorize-security-group-egress",
            (Action::Revoke, Direction::Ingress) => "revoke-security-group-ingress",
            (Action::Revoke, Direction::Egress) => "revoke-security-group-egress",
            (Action::Modify, _) => "modify-security-group-rules",
        }
    }

    /// `IpPermissions` in the API's own shape (descriptions only when authorizing: a revoke
    /// matches rules without them).
    pub fn ip_permissions(&self) -> Vec<ApiPermission> {
        let with_descriptions = self.action == Action::Authorize;
        permissions_of(&self.rules)
            .iter()
            .map(|p| {
                let (from, to) = wire_range(p);
                let describe = |peer: String| {
                    if with_descriptions {
                        p.description(&peer).map(str::to_string)
                    } else {
                        None
                    }
                };
                ApiPermission {
                    ip_protocol: ip_protocol(p.protocol),
                    from_port: from,
                    to_port: to,
                    ip_ranges: p
                        .ipv4
                        .iter()
                        .map(|n| ApiCidr {
                            cidr_ip: n.to_string(),
                            description: describe(n.to_string()),
                        })
                        .collect(),
                    ipv6_ranges: p
                        .ipv6
                        .iter()
                        .map(|n| ApiCidr6 {
                            cidr_ipv6: n.to_string(),
                            description: describe(n.to_string()),
                        })
                        .collect(),
                    prefix_list_ids: p
                        .prefix_lists
                        .iter()
                        .map(|id| ApiPrefixList {
                            prefix_list_id: id.clone(),
                            description: describe(id.clone()),
                        })
                        .collect(),
                    user_id_group_pairs: p
                        .groups
                        .iter()
                        .map(|g| ApiGroupPair {
                            group_id: g.group_id.to_string(),
                            description: describe(g.group_id.to_string()),
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiCidr6 {
    pub cidr_ipv6: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiPrefixList {
    pub prefix_list_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiGroupPair {
    pub group_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
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
            if c.action == Action::Modify {
                let dir = match c.direction {
                    Direction::Ingress => "from",
                    Direction::Egress => "to",
                };
                for (k, (old, new)) in c.replaces.iter().zip(&c.rules).enumerate() {
                    if k > 0 {
                        out.push_str("; ");
                    }
                    let _ = write!(
                        out,
                        "reshape {} {dir} {} in place into {}",
                        rule_what(old),
                        old.peer,
                        rule_what(new)
                    );
                }
                continue;
            }
            out.push_str(match c.action {
                Action::Authorize => "authorize ",
                _ => "revoke ",
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

/// `tcp/0-65535`, `icmp`, `all traffic`.
fn rule_what(r: &RuleSpec) -> String {
    if r.protocol.has_ports() {
        format!("{}/{}", r.protocol, r.port_range())
    } else {
        r.protocol.to_string()
    }
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
    #[error("{operation}: {count} {direction} {family} rules would exceed the quota of {quota} (RulesPerSecurityGroupLimitExceeded)")]
    Quota {
        operation: &'static str,
        direction: &'static str,
        family: &'static str,
        count: usize,
        quota: usize,
    },
}

/// EC2's quota of rules per group: `rules` inbound and `rules` outbound, counted apart for IPv4
/// and IPv6; a rule that references a group counts once in each family, one that references a
/// prefix list counts its maximum entries in each (`prefix_list_sizes`, else its resolved
/// entries, else 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quota {
    pub rules: usize,
    pub prefix_list_sizes: BTreeMap<String, usize>,
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            rules: Quota::DEFAULT_RULES,
            prefix_list_sizes: BTreeMap::new(),
        }
    }
}

impl Quota {
    /// AWS's default "Inbound or outbound rules per security group" (adjustable).
    pub const DEFAULT_RULES: usize = 60;

    /// No quota: for applying plans to the model between planning steps.
    pub fn unlimited() -> Quota {
        Quota {
            rules: usize::MAX,
            prefix_list_sizes: BTreeMap::new(),
        }
    }

    /// The quota with prefix lists weighed by their resolved entries.
    pub fn new(rules: Option<usize>, prefix_lists: &PrefixLists) -> Quota {
        Quota {
            rules: rules.unwrap_or(Quota::DEFAULT_RULES),
            prefix_list_sizes: prefix_lists
                .iter()
                .map(|(id, e)| (id.clone(), e.len().max(1)))
                .collect(),
        }
    }

    /// Rules of one direction counted for (IPv4, IPv6).
    pub fn count(&self, rules: &[RuleSpec]) -> (usize, usize) {
        let (mut v4, mut v6) = (0, 0);
        for r in rules {
            match &r.peer {
                Peer::Cidr(IpNet::V4(_)) => v4 += 1,
                Peer::Cidr(IpNet::V6(_)) => v6 += 1,
                Peer::Group(_) => {
                    v4 += 1;
                    v6 += 1;
                }
                Peer::PrefixList(id) => {
                    let n = self.prefix_list_sizes.get(id).copied().unwrap_or(1);
                    v4 += n;
                    v6 += n;
                }
            }
        }
        (v4, v6)
    }
}

/// Applies `calls` to a copy of `sg` with EC2's semantics (each call all-or-nothing) and the
/// default quota.
pub fn apply(sg: &SecurityGroup, calls: &[Call]) -> Result<SecurityGroup, ApplyError> {
    apply_within(sg, calls, &Quota::default())
}

/// Applies `calls` with EC2's semantics: each call is all-or-nothing, and a call that leaves a
/// direction with more rules of a family than the quota (and more than it had) fails as EC2's
/// `RulesPerSecurityGroupLimitExceeded`.
pub fn apply_within(
    sg: &SecurityGroup,
    calls: &[Call],
    quota: &Quota,
) -> Result<SecurityGroup, ApplyError> {
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
        let before = quota.count(rules);
        let missing = |r: &RuleSpec| ApplyError::NotFound {
            operation: call.operation(),
            rule: r.to_string(),
        };
        let duplicate = |r: &RuleSpec| ApplyError::Duplicate {
            operation: call.operation(),
            rule: r.to_string(),
        };
        match call.action {
            Action::Authorize => {
                if let Some(r) = call.rules.iter().find(|r| rules.contains(r)) {
                    return Err(duplicate(r));
                }
                rules.extend(call.rules.iter().cloned());
            }
            Action::Revoke => {
                if let Some(r) = call.rules.iter().find(|r| !rules.contains(r)) {
                    return Err(missing(r));
                }
                rules.retain(|r| !call.rules.contains(r));
            }
            Action::Modify => {
                for (old, new) in call.replaces.iter().zip(&call.rules) {
                    let Some(i) = rules.iter().position(|r| r == old) else {
                        return Err(missing(old));
                    };
                    if rules.contains(new) {
                        return Err(duplicate(new));
                    }
                    // The rule keeps its id and its description.
                    let description = rules[i].description.clone();
                    rules[i] = new.clone().described(description);
                }
            }
        }
        let after = quota.count(rules);
        for (family, n, was) in [("IPv4", after.0, before.0), ("IPv6", after.1, before.1)] {
            if n > quota.rules && n > was && call.action == Action::Authorize {
                return Err(ApplyError::Quota {
                    operation: call.operation(),
                    direction: match call.direction {
                        Direction::Ingress => "inbound",
                        Direction::Egress => "outbound",
                    },
                    family,
                    count: n,
                    quota: quota.rules,
                });
            }
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

/// Which sources of a violation part are part of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sources {
    /// Every wide public source ([`is_wide_public`]): the union is the whole internet, and only
    /// wide sources can add up to it within EC2's quotas.
    WidePublic,
    /// The sources that make up these public blocks (`minPublicPrefixLength` findings).
    Within(Vec<IpNet>),
}

impl Sources {
    fn matches(&self, net: &IpNet) -> bool {
        match self {
            Sources::WidePublic => is_wide_public(net),
            Sources::Within(blocks) => {
                has_public(net) && blocks.iter().any(|b| b.contains(net) || net.contains(b))
            }
        }
    }
}

/// One reported (family, protocol, ports) with the sources that make it a violation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub family: Family,
    /// `Tcp`/`Udp` with ports; `Icmp`, `Icmpv6`, `Other` for the whole protocol; `All` for what
    /// `-1` rules open as such.
    pub protocol: Protocol,
    pub ports: PortSet,
    pub sources: Sources,
    /// For `All`: every protocol is part of the violation (a check that forbids any traffic from
    /// the internet); else protocols other than tcp, udp, icmp and icmpv6 are not.
    pub every_protocol: bool,
}

/// What a check's findings count as the violation: the fix removes exactly the (segment, source)
/// pairs of these parts and nothing else.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Violation {
    pub parts: Vec<Part>,
}

impl Violation {
    /// The segments the whole internet reaches (from [`crate::exposure::Exposure::public_all`]);
    /// `every_protocol` when the check forbids all traffic from the internet.
    pub fn add_public(&mut self, reach: &[PublicReach<'_>], every_protocol: bool) {
        for r in reach {
            self.parts.push(Part {
                family: r.family,
                protocol: r.protocol,
                ports: PortSet::from_ranges(r.ports.iter().copied()),
                sources: Sources::WidePublic,
                every_protocol,
            });
        }
    }

    /// Wide public blocks (from [`crate::exposure::Exposure::wide_public_all`]).
    pub fn add_wide(&mut self, hits: &[WidePublic<'_>]) {
        for h in hits {
            self.parts.push(Part {
                family: h.family,
                protocol: h.protocol,
                ports: PortSet::from_ranges(h.ports.iter().copied()),
                sources: Sources::Within(h.blocks.clone()),
                every_protocol: false,
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
}

/// A source in public address space broader than /24 (IPv4) or /48 (IPv6): narrower public
/// sources cannot add up to the internet within EC2's rule quotas. A source wholly inside
/// special-purpose space (loopback, link local, documentation, …) holds no public address.
pub fn is_wide_public(net: &IpNet) -> bool {
    let max = match net {
        IpNet::V4(_) => 24,
        IpNet::V6(_) => 48,
    };
    net.prefix_len() < max && has_public(net)
}

/// What [`narrow`] changes in one permission list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Narrowed {
    pub authorize: Vec<RuleSpec>,
    pub revoke: Vec<RuleSpec>,
    /// Sources of `-1` rules whose other protocols (esp, gre, …) would be lost.
    pub lost: Vec<String>,
    /// `-1` rules left alone because narrowing them would lose other protocols.
    pub skipped: usize,
}

impl Narrowed {
    /// Why the plan is unsafe, if it is.
    pub fn unsafe_note(&self) -> Option<String> {
        (!self.lost.is_empty()).then(|| {
            format!(
                "a -1 rule cannot be narrowed exactly: protocols other than tcp, udp, icmp and icmpv6 (esp, gre, …) of {} would be lost",
                self.lost.join(", ")
            )
        })
    }
}

/// Revokes, from the rules of `perms`, exactly the (protocol, ports, source) pairs of `violation`
/// and authorizes again the rest of each touched rule with its description: a tcp range loses
/// only the violating ports; a `-1` rule becomes tcp and udp (less the violating ports), icmp for
/// an IPv4 source and icmpv6 for an IPv6 one (unless they are part of the violation); other
/// protocols of a `-1` rule cannot be kept (unsafe). With `keep_lossy` such `-1` rules are left
/// alone instead (counted in [`Narrowed::skipped`]).
pub fn narrow(perms: &[Permission], violation: &Violation, keep_lossy: bool) -> Narrowed {
    let rules = rules_of(perms);
    let existing: BTreeSet<&RuleSpec> = rules.iter().collect();
    let mut out = Narrowed::default();
    let add = |r: RuleSpec, authorize: &mut Vec<RuleSpec>| {
        if !existing.contains(&r) && !authorize.contains(&r) {
            authorize.push(r);
        }
    };
    for rule in &rules {
        let Peer::Cidr(net) = rule.peer else { continue };
        let family = Family::of(&net);
        let parts: Vec<&Part> = violation
            .parts
            .iter()
            .filter(|p| p.family == family && p.sources.matches(&net))
            .collect();
        if parts.is_empty() {
            continue;
        }
        let ports_of = |proto: Protocol| {
            PortSet::from_ranges(
                parts
                    .iter()
                    .filter(|p| p.protocol == proto)
                    .flat_map(|p| p.ports.ranges().to_vec()),
            )
        };
        let whole = |proto: Protocol| parts.iter().any(|p| p.protocol == proto);
        let every = parts
            .iter()
            .any(|p| p.protocol == Protocol::All && p.every_protocol);
        let piece = |r: RuleSpec| r.described(rule.description.clone());
        match rule.protocol {
            Protocol::Tcp | Protocol::Udp => {
                let set = ports_of(rule.protocol);
                let range = rule.port_range();
                if set.intersect(&range).is_empty() {
                    continue;
                }
                for keep in set.subtract_from(&range) {
                    add(
                        piece(RuleSpec::ports(rule.protocol, keep, rule.peer.clone())),
                        &mut out.authorize,
                    );
                }
                out.revoke.push(rule.clone());
            }
            Protocol::All => {
                let lossy = !every;
                if lossy && keep_lossy {
                    out.skipped += 1;
                    continue;
                }
                let mut pieces = Vec::new();
                if !every {
                    for proto in [Protocol::Tcp, Protocol::Udp] {
                        for keep in ports_of(proto).subtract_from(&PortRange::ALL) {
                            pieces.push(RuleSpec::ports(proto, keep, rule.peer.clone()));
                        }
                    }
                    let icmp = match family {
                        Family::V4 => Protocol::Icmp,
                        Family::V6 => Protocol::Icmpv6,
                    };
                    if !whole(icmp) {
                        pieces.push(RuleSpec {
                            protocol: icmp,
                            from: Some(-1),
                            to: Some(-1),
                            peer: rule.peer.clone(),
                            description: None,
                        });
                    }
                    out.lost.push(net.to_string());
                }
                for p in pieces {
                    add(piece(p), &mut out.authorize);
                }
                out.revoke.push(rule.clone());
            }
            other => {
                if whole(other) || every {
                    out.revoke.push(rule.clone());
                }
            }
        }
    }
    out
}

/// The rules of one direction a plan goes from and to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub direction: Direction,
    pub before: Vec<RuleSpec>,
    pub after: Vec<RuleSpec>,
}

/// The plan from `before` to `after` (per direction): authorizations of what is new, revocations
/// of what is gone, ordered within `quota` so no step loses access that stays in `after`:
/// 1. everything authorized, then everything revoked, when that fits;
/// 2. else rules with no piece to keep are revoked first, then each narrowed source is replaced
///    (its pieces authorized, then it is revoked), then new access is authorized;
/// 3. a replacement that still does not fit reshapes one of its rules in place
///    (`ModifySecurityGroupRules`: the count does not change) when `modify` allows it.
///
/// Returns what blocks it when no order fits.
pub fn plan_between(
    changes: &[Change],
    quota: &Quota,
    modify: bool,
    safety: Safety,
) -> Result<Option<Plan>, String> {
    let mut calls = Vec::new();
    for ch in changes {
        let authorize: Vec<RuleSpec> = ch
            .after
            .iter()
            .filter(|r| !ch.before.contains(r))
            .cloned()
            .collect();
        let revoke: Vec<RuleSpec> = ch
            .before
            .iter()
            .filter(|r| !ch.after.contains(r))
            .cloned()
            .collect();
        calls.extend(order(ch, authorize, revoke, quota, modify)?);
    }
    Ok((!calls.is_empty()).then_some(Plan { calls, safety }))
}

/// Whether an authorization that leaves `rules` is within the quota.
fn fits(quota: &Quota, rules: &[RuleSpec], _start: (usize, usize)) -> bool {
    let (v4, v6) = quota.count(rules);
    v4 <= quota.rules && v6 <= quota.rules
}

fn order(
    ch: &Change,
    authorize: Vec<RuleSpec>,
    revoke: Vec<RuleSpec>,
    quota: &Quota,
    modify: bool,
) -> Result<Vec<Call>, String> {
    let d = ch.direction;
    let mut state: Vec<RuleSpec> = ch.before.clone();
    let start = quota.count(&state);
    let grown: Vec<RuleSpec> = state.iter().chain(&authorize).cloned().collect();
    if fits(quota, &grown, start) {
        let mut calls = Vec::new();
        if !authorize.is_empty() {
            calls.push(Call::new(Action::Authorize, d, authorize));
        }
        if !revoke.is_empty() {
            calls.push(Call::new(Action::Revoke, d, revoke));
        }
        return Ok(calls);
    }
    // Finer steps: pieces go with the revoked rule of the same peer they come from.
    let mut calls = Vec::new();
    let (pure, narrowed): (Vec<RuleSpec>, Vec<RuleSpec>) = revoke
        .into_iter()
        .partition(|r| !authorize.iter().any(|a| a.peer == r.peer));
    if !pure.is_empty() {
        state.retain(|r| !pure.contains(r));
        calls.push(Call::new(Action::Revoke, d, pure));
    }
    let peers: BTreeSet<&Peer> = narrowed.iter().map(|r| &r.peer).collect();
    let mut groups: Vec<(Vec<RuleSpec>, Vec<RuleSpec>)> = peers
        .iter()
        .map(|p| {
            (
                authorize
                    .iter()
                    .filter(|a| a.peer == **p)
                    .cloned()
                    .collect(),
                narrowed.iter().filter(|r| r.peer == **p).cloned().collect(),
            )
        })
        .collect();
    // Smallest growth first.
    groups.sort_by_key(|(a, r)| a.len() as i64 - r.len() as i64);
    let blocked = |state: &[RuleSpec], extra: &[RuleSpec]| {
        let (v4, v6) = quota.count(&[state, extra].concat());
        let dir = match d {
            Direction::Ingress => "inbound",
            Direction::Egress => "outbound",
        };
        let (fam, n) = if v4 > quota.rules {
            ("IPv4", v4)
        } else {
            ("IPv6", v6)
        };
        format!(
            "the fix needs {n} {dir} {fam} rules at once, over the quota of {} rules per group: free some rules (or raise the quota and pass it) and run it again",
            quota.rules
        )
    };
    for (pieces, old) in groups {
        let grown: Vec<RuleSpec> = state.iter().chain(&pieces).cloned().collect();
        if fits(quota, &grown, start) {
            state = grown;
            calls.push(Call::new(Action::Authorize, d, pieces));
            state.retain(|r| !old.contains(r));
            calls.push(Call::new(Action::Revoke, d, old));
            continue;
        }
        if !modify || pieces.is_empty() {
            return Err(blocked(&state, &pieces));
        }
        // Authorize all pieces but one, then reshape the old rule in place into the last one:
        // one rule fewer at the peak, and no step loses a piece.
        let (first_old, first_new) = (old[0].clone(), pieces[0].clone());
        let rest: Vec<RuleSpec> = pieces[1..].to_vec();
        let grown: Vec<RuleSpec> = state.iter().chain(&rest).cloned().collect();
        if !fits(quota, &grown, start) {
            return Err(blocked(&state, &rest));
        }
        state = grown;
        if !rest.is_empty() {
            calls.push(Call::new(Action::Authorize, d, rest));
        }
        if let Some(r) = state.iter_mut().find(|r| **r == first_old) {
            *r = first_new.clone();
        }
        calls.push(Call {
            action: Action::Modify,
            direction: d,
            rules: vec![first_new],
            replaces: vec![first_old],
        });
        let others: Vec<RuleSpec> = old[1..].to_vec();
        if !others.is_empty() {
            state.retain(|r| !others.contains(r));
            calls.push(Call::new(Action::Revoke, d, others));
        }
    }
    let new: Vec<RuleSpec> = authorize
        .iter()
        .filter(|a| !narrowed.iter().any(|r| r.peer == a.peer))
        .cloned()
        .collect();
    if !new.is_empty() {
        let grown: Vec<RuleSpec> = state.iter().chain(&new).cloned().collect();
        if !fits(quota, &grown, start) {
            return Err(blocked(&state, &new));
        }
        calls.push(Call::new(Action::Authorize, d, new));
    }
    Ok(calls)
}

/// The plan for one direction: authorizations first, then revocations (no quota ordering: the
/// per-group planner orders the final plan).
pub fn plan_of(
    direction: Direction,
    authorize: Vec<RuleSpec>,
    revoke: Vec<RuleSpec>,
    unsafe_note: Option<String>,
) -> Option<Plan> {
    let mut calls = Vec::new();
    if !authorize.is_empty() {
        calls.push(Call::new(Action::Authorize, direction, authorize));
    }
    if !revoke.is_empty() {
        calls.push(Call::new(Action::Revoke, direction, revoke));
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
        let revoke = |r: RuleSpec| Call::new(Action::Revoke, Direction::Ingress, vec![r]);
        let after = apply(&g, &[revoke(rules[0].clone())]).unwrap();
        assert_eq!(rules_of(&after.ingress).len(), 2);
        assert!(matches!(
            apply(&after, &[revoke(rules[0].clone())]),
            Err(ApplyError::NotFound { .. })
        ));
        assert_eq!(rules[2].from, Some(8), "icmp type kept exactly");
        let dup = Call::new(
            Action::Authorize,
            Direction::Ingress,
            vec![rules[1].clone()],
        );
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
            ("2001:db8::/32", false),
            ("2001:db8::/31", true),
            ("2001:db8::/48", false),
            ("127.0.0.0/8", false),
            ("169.254.0.0/16", false),
            ("198.18.0.0/15", false),
            ("224.0.0.0/3", false),
            ("fe80::/10", false),
            ("2600::/16", true),
            ("fd00::/8", false),
        ] {
            assert_eq!(is_wide_public(&cidr.parse().unwrap()), wide, "{cidr}");
        }
    }

    fn violation(protocol: Protocol, ports: &str, family: Family) -> Violation {
        Violation {
            parts: vec![Part {
                family,
                protocol,
                ports: PortSet::parse(ports).unwrap(),
                sources: Sources::WidePublic,
                every_protocol: false,
            }],
        }
    }

    #[test]
    fn a_public_range_is_narrowed_around_the_violating_port_with_its_description() {
        let g = sg(
            json!([{"ipProtocol": "tcp", "fromPort": 0, "toPort": 65535, "ipv4Ranges": [{"cidrIp": "0.0.0.0/0", "description": "legacy"}, {"cidrIp": "192.0.2.0/24"}]}]),
        );
        let n = narrow(
            &g.ingress,
            &violation(Protocol::Tcp, "22", Family::V4),
            false,
        );
        let note = n.unsafe_note();
        let plan = plan_of(Direction::Ingress, n.authorize, n.revoke, note).unwrap();
        assert_eq!(plan.safety, Safety::Safe);
        assert_eq!(
            plan.summary(),
            "authorize tcp/0-21,23-65535 from 0.0.0.0/0; revoke tcp/0-65535 from 0.0.0.0/0"
        );
        let after = apply(&g, &plan.calls).unwrap();
        assert_eq!(rules_of(&after.ingress).len(), 3, "the /24 stays");
        assert_eq!(
            serde_json::to_value(plan.calls[0].ip_permissions()).unwrap()[0]["IpRanges"][0],
            json!({"CidrIp": "0.0.0.0/0", "Description": "legacy"}),
            "the re-authorized pieces keep the description"
        );
        let api = serde_json::to_value(plan.calls[1].ip_permissions()).unwrap();
        assert_eq!(
            api,
            json!([{"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        );
    }

    #[test]
    fn a_narrowed_all_traffic_rule_gets_the_icmp_of_its_family() {
        let g = sg(
            json!([{"ipProtocol": "-1", "ipRanges": ["0.0.0.0/0"], "ipv6Ranges": [{"cidrIpv6": "::/0"}]}]),
        );
        let mut v = violation(Protocol::Tcp, "22", Family::V4);
        v.parts
            .extend(violation(Protocol::Tcp, "22", Family::V6).parts);
        let n = narrow(&g.ingress, &v, false);
        let icmp: Vec<String> = n
            .authorize
            .iter()
            .filter(|r| !r.protocol.has_ports())
            .map(ToString::to_string)
            .collect();
        assert_eq!(icmp, ["icmp 0.0.0.0/0", "icmpv6 ::/0"]);
        assert!(n.unsafe_note().is_some());
        let kept = narrow(&g.ingress, &v, true);
        assert_eq!((kept.skipped, kept.revoke.len()), (2, 0));
    }

    /// 57 other rules and tcp 0-65535 from 0.0.0.0/0 with 22 and 3389 blocked: authorizing the
    /// three remaining ranges first would make 61.
    #[test]
    fn plans_stay_within_the_quota() {
        let mut perms: Vec<serde_json::Value> = (0..57)
            .map(|i| json!({"ipProtocol": "tcp", "fromPort": 1000 + i, "toPort": 1000 + i, "ipRanges": ["10.0.0.0/16"]}))
            .collect();
        perms.push(
            json!({"ipProtocol": "tcp", "fromPort": 0, "toPort": 65535, "ipRanges": ["0.0.0.0/0"]}),
        );
        let g = sg(json!(perms));
        let n = narrow(
            &g.ingress,
            &violation(Protocol::Tcp, "22,3389", Family::V4),
            false,
        );
        let before = rules_of(&g.ingress);
        let after: Vec<RuleSpec> = before
            .iter()
            .filter(|r| !n.revoke.contains(r))
            .chain(&n.authorize)
            .cloned()
            .collect();
        let change = [Change {
            direction: Direction::Ingress,
            before,
            after,
        }];
        let quota = Quota::default();
        // Naively: 61 rules after the first call, as EC2 would refuse.
        let naive = plan_of(
            Direction::Ingress,
            n.authorize.clone(),
            n.revoke.clone(),
            None,
        )
        .unwrap();
        assert!(matches!(
            apply(&g, &naive.calls),
            Err(ApplyError::Quota { count: 61, .. })
        ));
        // Without ModifySecurityGroupRules no order fits: refused, naming the quota.
        let refused = plan_between(&change, &quota, false, Safety::Safe).unwrap_err();
        assert!(refused.contains("quota of 60"), "{refused}");
        // With it: authorize two pieces, then reshape the rule in place into the third.
        let plan = plan_between(&change, &quota, true, Safety::Safe)
            .unwrap()
            .unwrap();
        assert_eq!(plan.calls[1].action, Action::Modify);
        let fixed = apply(&g, &plan.calls).unwrap();
        assert_eq!(Quota::default().count(&rules_of(&fixed.ingress)), (60, 0));
        // A raised quota needs no reshaping.
        let roomy = Quota {
            rules: 100,
            ..Quota::default()
        };
        let plan = plan_between(&change, &roomy, false, Safety::Safe)
            .unwrap()
            .unwrap();
        assert_eq!(plan.calls.len(), 2);
        assert!(apply_within(&g, &plan.calls, &roomy).is_ok());
    }
}
