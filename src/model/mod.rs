//! The crate's one security-group model. Each input source has its own parser in a submodule
//! ([`config_item`]: AWS Config items, camelCase; [`describe`]: `describe-security-groups` output,
//! PascalCase, also the target of the SDK adapter), and all of them validate through
//! [`RawPermission::build`] here. Everything downstream sees only these types.

mod config_item;
mod describe;

pub use config_item::from_config_item;
pub use describe::{
    DescribeOutput, DescribedGroup, DescribedGroupPair, DescribedIpRange, DescribedIpv6Range,
    DescribedPermission, DescribedPrefixList, DescribedTag,
};

use std::fmt;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::ports::PortRange;

/// A security-group id that has been checked to look like one (`sg-` and 8 or 17 hex digits).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupId(String);

impl GroupId {
    pub fn parse(text: &str) -> Result<Self, String> {
        let hex = text.strip_prefix("sg-").unwrap_or("");
        if (hex.len() == 8 || hex.len() == 17) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(GroupId(text.to_string()))
        } else {
            Err(format!(
                "`{text}` is not a security group id (expected sg- and 8 or 17 hex digits, e.g. sg-0123456789abcdef0)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A stand-in id for a group that has none yet (`scan`: a group a template defines), 17 hex
    /// digits that read as not AWS's: `sg-5ca9e000000000007`.
    pub fn synthetic(n: usize) -> GroupId {
        GroupId(format!("sg-5ca9e{:012x}", n as u64 & 0xffff_ffff_ffff))
    }

    /// The id as a number, for compact indexes: its hex digits, with their count (8 or 17) in the
    /// top bits, so `sg-0000000a` and `sg-0000000000000000a` stay apart. `None` for an id with
    /// uppercase digits (AWS writes lowercase): as a number it would meet its lowercase twin, which
    /// is another id; such an id is indexed by its text.
    pub fn number(&self) -> Option<u128> {
        let hex = self.0.get(3..).unwrap_or_default();
        if hex.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        // `parse` checked the digits: 17 hex digits fit in 68 bits.
        let digits = u128::from_str_radix(hex, 16).ok()?;
        Some(digits | (hex.len() as u128) << 120)
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The IP protocol of a permission. `All` is `-1`: every protocol and every port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    All,
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    Other(u8),
}

impl Protocol {
    /// Accepts names (`tcp`, `udp`, `icmp`, `icmpv6`, `-1`, `all`) and protocol numbers (`6`, `17`, ...).
    pub fn parse(text: &str) -> Result<Self, String> {
        let lower = text.trim().to_ascii_lowercase();
        Ok(match lower.as_str() {
            "-1" | "all" => Protocol::All,
            "tcp" | "6" => Protocol::Tcp,
            "udp" | "17" => Protocol::Udp,
            "icmp" | "1" => Protocol::Icmp,
            "icmpv6" | "58" => Protocol::Icmpv6,
            n => match n.parse::<u8>() {
                Ok(n) => Protocol::Other(n),
                Err(_) => return Err(format!("`{text}` is not an IP protocol (expected tcp, udp, icmp, icmpv6, -1 or a number 0-255)")),
            },
        })
    }

    /// Whether ports mean anything for this protocol.
    pub fn has_ports(self) -> bool {
        matches!(self, Protocol::Tcp | Protocol::Udp)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::All => f.write_str("all traffic"),
            Protocol::Tcp => f.write_str("tcp"),
            Protocol::Udp => f.write_str("udp"),
            Protocol::Icmp => f.write_str("icmp"),
            Protocol::Icmpv6 => f.write_str("icmpv6"),
            Protocol::Other(n) => write!(f, "protocol {n}"),
        }
    }
}

/// A security group referenced as a source or destination.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupRef {
    pub group_id: GroupId,
    pub user_id: Option<String>,
}

/// One ingress or egress permission, normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permission {
    pub protocol: Protocol,
    /// For tcp/udp the ports it opens (absent ports = all); `PortRange::ALL` for other protocols.
    pub ports: PortRange,
    pub ipv4: Vec<Ipv4Net>,
    pub ipv6: Vec<Ipv6Net>,
    pub prefix_lists: Vec<String>,
    pub groups: Vec<GroupRef>,
    /// `FromPort`/`ToPort` as written, for protocols whose "ports" are not ports (ICMP type and
    /// code): a fix must name the rule exactly. `None` for tcp, udp and `-1`.
    pub wire_ports: Option<(i64, i64)>,
    /// Rule descriptions by peer (the CIDR, prefix-list id or group id as written here), for the
    /// peers that have one: a fix that re-authorizes part of a rule keeps its description.
    pub descriptions: Vec<(String, String)>,
}

impl Permission {
    /// The description of the rule with this peer (`peer` as [`std::fmt::Display`] writes it).
    pub fn description(&self, peer: &str) -> Option<&str> {
        self.descriptions
            .iter()
            .find(|(p, _)| p == peer)
            .map(|(_, d)| d.as_str())
    }

    /// Whether this permission lets `protocol` through (a `-1` permission lets everything through).
    pub fn admits(&self, protocol: Protocol) -> bool {
        self.protocol == Protocol::All || self.protocol == protocol
    }
}

/// A group's tags: key to value, each key once (the last value given wins). A sorted list: most
/// groups have a handful of tags, and a large audit holds every group's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags(Vec<(String, String)>);

impl Tags {
    pub fn get(&self, key: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<const N: usize> From<[(String, String); N]> for Tags {
    fn from(tags: [(String, String); N]) -> Self {
        tags.into_iter().collect()
    }
}

impl FromIterator<(String, String)> for Tags {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut tags: Vec<(String, String)> = iter.into_iter().collect();
        // Stable sort keeps the order given among equal keys; keep the last of each.
        tags.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, String)> = Vec::with_capacity(tags.len());
        for (k, v) in tags {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        out.shrink_to_fit();
        Tags(out)
    }
}

/// A security group as the checks see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityGroup {
    pub group_id: GroupId,
    pub group_name: Option<String>,
    pub vpc_id: Option<String>,
    pub owner_id: Option<String>,
    pub tags: Tags,
    pub ingress: Vec<Permission>,
    pub egress: Vec<Permission>,
}

/// What a verdict may need to know about another group (its tier tag, its VPC, its account).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupInfo {
    pub vpc_id: Option<String>,
    pub owner_id: Option<String>,
    pub tags: Tags,
}

impl GroupInfo {
    pub fn of(sg: &SecurityGroup) -> GroupInfo {
        GroupInfo {
            vpc_id: sg.vpc_id.clone(),
            owner_id: sg.owner_id.clone(),
            tags: sg.tags.clone(),
        }
    }
}

/// A security group's data did not make sense.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("security group {group}: `{field}` {reason}")]
    Invalid {
        group: String,
        field: String,
        reason: String,
    },
    #[error("security group data has no `{0}`; is this really an AWS::EC2::SecurityGroup item?")]
    Missing(&'static str),
    #[error("security group data is not the expected JSON: {0}")]
    Shape(String),
}

/// The fields of one permission as any source spells them, before validation.
#[derive(Default)]
pub(crate) struct RawPermission<'a> {
    pub protocol: Option<&'a str>,
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    pub ipv4: Vec<&'a str>,
    pub ipv6: Vec<&'a str>,
    pub prefix_lists: Vec<&'a str>,
    pub groups: Vec<(&'a str, Option<&'a str>)>,
    /// (peer as written, description) for the peers that carry a description.
    pub descriptions: Vec<(&'a str, &'a str)>,
    /// How many of `ipv4` come first from a Config item's legacy `ipRanges` strings (error paths).
    pub legacy_ipv4: usize,
}

impl RawPermission<'_> {
    /// Validates and normalises. `field` says where the permission came from, for error messages.
    pub(crate) fn build(self, group: &str, field: &str) -> Result<Permission, ModelError> {
        // Named as the input spells it: describe output (and the SDK) is PascalCase
        // (`IpPermissions[0].IpRanges[1].CidrIp`), Config items camelCase
        // (`configuration.ipPermissions[0].ipv4Ranges[1].cidrIp`, legacy `ipRanges[0]`).
        let pascal = field
            .rsplit('.')
            .next()
            .is_some_and(|last| last.starts_with(|c: char| c.is_ascii_uppercase()));
        let spelled = |what: &str| -> String {
            if !pascal {
                return what.to_string();
            }
            let mut c = what.chars();
            match c.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        };
        let invalid = |what: &str, reason: String| ModelError::Invalid {
            group: group.to_string(),
            field: format!("{field}.{}", spelled(what)),
            reason,
        };
        let legacy = self.legacy_ipv4;
        let cidr_field = |i: usize, v6: bool| -> String {
            match (pascal, v6) {
                (true, false) => format!("IpRanges[{i}].CidrIp"),
                (true, true) => format!("Ipv6Ranges[{i}].CidrIpv6"),
                (false, true) => format!("ipv6Ranges[{i}].cidrIpv6"),
                (false, false) if i < legacy => format!("ipRanges[{i}]"),
                (false, false) => format!("ipv4Ranges[{}].cidrIp", i - legacy),
            }
        };
        let at = |what: String, reason: String| ModelError::Invalid {
            group: group.to_string(),
            field: format!("{field}.{what}"),
            reason,
        };
        // A permission without a protocol, or a tcp/udp one without ports, is malformed: guessing
        // "all traffic" or "all ports" would turn a broken item into a verdict.
        let protocol = match self.protocol {
            None => {
                return Err(invalid(
                    "ipProtocol",
                    "is missing (expected tcp, udp, icmp, icmpv6, -1 or a protocol number)".into(),
                ))
            }
            Some(text) => Protocol::parse(text).map_err(|e| invalid("ipProtocol", e))?,
        };
        let ports = if protocol.has_ports() {
            let port = |field: &str, p: Option<i64>| match p {
                Some(p) => u16::try_from(p).map_err(|_| {
                    invalid(
                        field,
                        format!("{p} is not a port ({protocol} needs 0-65535)"),
                    )
                }),
                None => Err(invalid(
                    field,
                    format!("is missing: a {protocol} permission needs a port range (0-65535)"),
                )),
            };
            let (from, to) = (
                port("fromPort", self.from_port)?,
                port("toPort", self.to_port)?,
            );
            PortRange::new(from, to)
                .ok_or_else(|| invalid("fromPort", format!("{from} is greater than toPort {to}")))?
        } else {
            PortRange::ALL
        };
        let mut ipv4 = Vec::new();
        for (i, cidr) in self.ipv4.into_iter().enumerate() {
            let net = cidr.trim().parse::<Ipv4Net>().map_err(|_| {
                at(
                    cidr_field(i, false),
                    format!("`{cidr}` is not an IPv4 CIDR"),
                )
            })?;
            if !ipv4.contains(&net) {
                ipv4.push(net);
            }
        }
        let mut ipv6 = Vec::new();
        for (i, cidr) in self.ipv6.into_iter().enumerate() {
            let net = cidr
                .trim()
                .parse::<Ipv6Net>()
                .map_err(|_| at(cidr_field(i, true), format!("`{cidr}` is not an IPv6 CIDR")))?;
            if !ipv6.contains(&net) {
                ipv6.push(net);
            }
        }
        let mut groups = Vec::new();
        for (i, (id, user)) in self.groups.into_iter().enumerate() {
            let group_id = GroupId::parse(id).map_err(|e| {
                let pairs = if pascal {
                    "UserIdGroupPairs"
                } else {
                    "userIdGroupPairs"
                };
                at(format!("{pairs}[{i}].{}", spelled("groupId")), e)
            })?;
            groups.push(GroupRef {
                group_id,
                user_id: user.map(str::to_string),
            });
        }
        let wire_ports = match (protocol, self.from_port, self.to_port) {
            (Protocol::Tcp | Protocol::Udp | Protocol::All, _, _) => None,
            (_, Some(from), Some(to)) => Some((from, to)),
            (_, Some(from), None) => Some((from, -1)),
            (_, None, _) => None,
        };
        // Keyed by the normalised peer, as a fix names it.
        let descriptions = self
            .descriptions
            .into_iter()
            .filter(|(_, d)| !d.is_empty())
            .map(|(peer, d)| {
                let peer = peer.trim();
                let key = match peer.parse::<IpNet>() {
                    Ok(n) => n.to_string(),
                    Err(_) => peer.to_string(),
                };
                (key, d.to_string())
            })
            .collect();
        Ok(Permission {
            protocol,
            ports,
            ipv4,
            ipv6,
            prefix_lists: self.prefix_lists.into_iter().map(str::to_string).collect(),
            groups,
            wire_ports,
            descriptions,
        })
    }
}

/// Validates a group's own id; `field` names where it came from.
fn own_group_id(id: &str, field: &str) -> Result<GroupId, ModelError> {
    GroupId::parse(id).map_err(|reason| ModelError::Invalid {
        group: id.to_string(),
        field: field.to_string(),
        reason,
    })
}

/// Builds every permission of a list, naming each by `field[i]` in errors.
fn build_all<'a, T>(
    list: &'a [T],
    group: &str,
    field: &str,
    raw: impl Fn(&'a T) -> RawPermission<'a>,
) -> Result<Vec<Permission>, ModelError> {
    list.iter()
        .enumerate()
        .map(|(i, p)| raw(p).build(group, &format!("{field}[{i}]")))
        .collect()
}

/// Whether a network interface belongs to Elastic Load Balancing: requested by `amazon-elb`, or
/// described the way ELB describes its interfaces (`ELB app/...`, `ELB net/...`, `ELB <name>`).
pub fn is_load_balancer_interface(requester_id: Option<&str>, description: Option<&str>) -> bool {
    requester_id == Some("amazon-elb") || description.is_some_and(|d| d.starts_with("ELB "))
}

/// Parses a CIDR of either family (used for prefix-list entries).
pub fn parse_cidr(text: &str) -> Result<IpNet, String> {
    text.trim()
        .parse::<IpNet>()
        .map_err(|_| format!("`{text}` is not a CIDR"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn group_ids_as_numbers_keep_their_length() {
        let n = |t: &str| GroupId::parse(t).unwrap().number();
        assert!(n("sg-0000000a").is_some());
        assert_eq!(
            n("sg-0000000A"),
            None,
            "uppercase digits are indexed by their text"
        );
        assert_ne!(n("sg-0000000a"), n("sg-0000000000000000a"));
        assert_ne!(n("sg-0000000a"), n("sg-0000000b"));
        assert_ne!(n("sg-0000000000000000f"), n("sg-1000000000000000f"));
    }

    #[test]
    fn group_ids() {
        assert!(GroupId::parse("sg-0123abcd").is_ok());
        assert!(GroupId::parse("sg-0123456789abcdef0").is_ok());
        for bad in [
            "not-a-group",
            "sg-",
            "sg-xyz12345",
            "sg-0123456789abcdef",
            "SG-0123abcd",
        ] {
            let err = GroupId::parse(bad).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn protocols() {
        let cases = [
            ("-1", Protocol::All),
            ("tcp", Protocol::Tcp),
            ("6", Protocol::Tcp),
            ("TCP", Protocol::Tcp),
            ("17", Protocol::Udp),
            ("icmp", Protocol::Icmp),
            ("58", Protocol::Icmpv6),
            ("50", Protocol::Other(50)),
        ];
        for (text, want) in cases {
            assert_eq!(Protocol::parse(text).unwrap(), want, "{text}");
        }
        assert!(Protocol::parse("sctp-ish")
            .unwrap_err()
            .contains("`sctp-ish`"));
    }

    #[test]
    fn both_item_shapes_give_the_same_model() {
        let legacy = json!({
            "groupId": "sg-0123abcd", "groupName": "web", "vpcId": "vpc-1", "ownerId": "111122223333",
            "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 80, "toPort": 80,
                "ipRanges": ["10.0.0.0/16"], "ipv6Ranges": [], "prefixListIds": [], "userIdGroupPairs": []}],
            "ipPermissionsEgress": [], "tags": []
        });
        let modern = json!({
            "groupId": "sg-0123abcd", "groupName": "web", "vpcId": "vpc-1", "ownerId": "111122223333",
            "ipPermissions": [{"ipProtocol": "6", "fromPort": 80, "toPort": 80,
                "ipRanges": ["10.0.0.0/16"], "ipv4Ranges": [{"cidrIp": "10.0.0.0/16"}]}],
            "ipPermissionsEgress": null
        });
        let a = from_config_item(&legacy, &BTreeMap::new()).unwrap();
        let b = from_config_item(&modern, &BTreeMap::new()).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.ingress[0].ipv4,
            vec!["10.0.0.0/16".parse::<Ipv4Net>().unwrap()]
        );
        assert_eq!(a.ingress[0].ports, PortRange::single(80));
    }

    #[test]
    fn item_and_describe_shapes_agree() {
        let item = json!({
            "groupId": "sg-0123abcd", "groupName": "web", "vpcId": "vpc-1", "ownerId": "1",
            "ipPermissions": [
                {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                 "userIdGroupPairs": [{"groupId": "sg-0abc1234", "userId": "1"}],
                 "ipv6Ranges": [{"cidrIpv6": "::/0"}], "prefixListIds": [{"prefixListId": "pl-1"}]},
                {"ipProtocol": "-1", "fromPort": null, "toPort": null, "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]}
            ],
            "ipPermissionsEgress": [{"ipProtocol": "-1", "ipRanges": ["0.0.0.0/0"]}],
            "tags": [{"key": "tier", "value": "web"}]
        });
        let value = json!({
            "GroupId": "sg-0123abcd", "GroupName": "web", "VpcId": "vpc-1", "OwnerId": "1",
            "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                 "UserIdGroupPairs": [{"GroupId": "sg-0abc1234", "UserId": "1"}],
                 "Ipv6Ranges": [{"CidrIpv6": "::/0"}], "PrefixListIds": [{"PrefixListId": "pl-1"}]},
                {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
            ],
            "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
            "Tags": [{"Key": "tier", "Value": "web"}]
        });
        let described = DescribedGroup::deserialize(&value).unwrap();
        let a = from_config_item(&item, &BTreeMap::new()).unwrap();
        let b = described.into_model().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.ingress[1].protocol, Protocol::All);
        assert_eq!(a.ingress[1].ports, PortRange::ALL);
        assert_eq!(a.tags.get("tier").map(String::as_str), Some("web"));
    }

    #[test]
    fn bad_data_names_field_and_value() {
        let cases = [
            // Malformed permissions are errors, never a guess (a missing protocol is not "-1").
            (
                json!({"groupId": "sg-0123abcd", "ipPermissions": [{"fromPort": 8080, "toPort": 8080, "userIdGroupPairs": [{"groupId": "sg-0abc1234"}]}]}),
                "`configuration.ipPermissions[0].ipProtocol` is missing",
            ),
            (
                json!({"groupId": "sg-0123abcd", "ipPermissions": [{"ipProtocol": "tcp", "ipRanges": ["0.0.0.0/0"]}]}),
                "`configuration.ipPermissions[0].fromPort` is missing: a tcp permission needs a port range",
            ),
            (
                json!({"groupId": "sg-0123abcd", "ipPermissionsEgress": [{"ipProtocol": "udp", "fromPort": -1, "toPort": -1}]}),
                "`configuration.ipPermissionsEgress[0].fromPort` -1 is not a port",
            ),
            (
                json!({"groupId": "sg-0123abcd", "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 70000}]}),
                "`configuration.ipPermissions[0].toPort` 70000 is not a port",
            ),
            (
                json!({"groupId": "sg-0123abcd", "ipPermissions": [{"ipProtocol": "tcp", "fromPort": "22", "toPort": 22}]}),
                "configuration.ipPermissions[0].fromPort: invalid type: string \"22\"",
            ),
            (
                json!({"groupId": "sg-0123abcd", "tags": {"tier": "web"}}),
                "configuration.tags: invalid type: map",
            ),
            (
                json!({"groupId": "sg-0123abcd", "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["0.0.0.0/33"]}]}),
                "configuration.ipPermissions[0].ipRanges[0]` `0.0.0.0/33` is not an IPv4 CIDR",
            ),
            (
                json!({"groupId": "sg-0123abcd", "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 90, "toPort": 80}]}),
                "90 is greater than toPort 80",
            ),
            (
                json!({"groupId": "sg-0123abcd", "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 70000, "toPort": 70000}]}),
                "70000 is not a port",
            ),
            (
                json!({"groupId": "bogus"}),
                "`bogus` is not a security group id",
            ),
            (json!({"groupName": "x"}), "no `configuration.groupId`"),
            (
                json!({"groupId": "sg-0123abcd", "ipPermissions": "nope"}),
                "not the expected JSON",
            ),
        ];
        for (conf, needle) in cases {
            let err = from_config_item(&conf, &BTreeMap::new())
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn item_tags_merge_with_configuration_tags() {
        let conf = json!({"groupId": "sg-0123abcd", "tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]});
        let item_tags = BTreeMap::from([("b".to_string(), "3".to_string())]);
        let sg = from_config_item(&conf, &item_tags).unwrap();
        assert_eq!(sg.tags.get("a").map(String::as_str), Some("1"));
        assert_eq!(sg.tags.get("b").map(String::as_str), Some("3"));
    }

    #[test]
    fn icmp_ports_are_not_ports() {
        let conf = json!({"groupId": "sg-0123abcd", "ipPermissions": [{"ipProtocol": "icmp", "fromPort": 8, "toPort": -1, "ipRanges": ["0.0.0.0/0"]}]});
        let sg = from_config_item(&conf, &BTreeMap::new()).unwrap();
        assert_eq!(sg.ingress[0].ports, PortRange::ALL);
    }
}
