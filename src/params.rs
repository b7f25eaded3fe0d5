//! Rule input parameters (`ruleParameters`, strings as Config passes them), validated into the
//! typed configuration of exactly one check. Unknown keys are errors, so typos never pass silently.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::GroupId;
use crate::ports::PortSet;

/// A rule parameter was wrong. Each message names the key and the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamError {
    #[error("unknown check `{0}`: valid checks are {valid}", valid = Check::NAMES.join(", "))]
    UnknownCheck(String),
    #[error("rule parameter `{0}` is required for check `{1}`")]
    Missing(&'static str, &'static str),
    #[error("rule parameter `{field}` = `{value}`: {reason}")]
    Invalid {
        field: String,
        value: String,
        reason: String,
    },
    #[error("unknown rule parameter `{key}` for check `{check}`: valid parameters are {valid}")]
    Unknown {
        key: String,
        check: &'static str,
        valid: String,
    },
}

/// `check=web-tier`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebTier {
    pub tag_key: String,
    pub tag_value: Option<String>,
    pub ports: PortSet,
    /// Groups that count as the load balancer's; `None` = discover them from ELB network interfaces.
    pub load_balancer_groups: Option<BTreeSet<GroupId>>,
    pub forbid_public_ingress: bool,
}

/// `check=public-ingress`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicIngress {
    /// Only these ports may be reachable from the internet (`authorizedTcpPorts`, `authorizedUdpPorts`).
    AllowList { tcp: PortSet, udp: PortSet },
    /// These ports must not be reachable from the internet (`blockedTcpPorts`, `blockedUdpPorts`).
    DenyList { tcp: PortSet, udp: PortSet },
}

/// `check=public-egress`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicEgress {
    pub tcp: PortSet,
    pub udp: PortSet,
}

/// `check=broad-private-ingress`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadPrivateIngress {
    pub min_prefix_v4: u8,
    pub min_prefix_v6: u8,
}

/// The check a rule runs, with its validated parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    WebTier(WebTier),
    PublicIngress(PublicIngress),
    PublicEgress(PublicEgress),
    BroadPrivateIngress(BroadPrivateIngress),
}

impl Check {
    pub const NAMES: [&'static str; 4] = [
        "web-tier",
        "public-ingress",
        "public-egress",
        "broad-private-ingress",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Check::WebTier(_) => "web-tier",
            Check::PublicIngress(_) => "public-ingress",
            Check::PublicEgress(_) => "public-egress",
            Check::BroadPrivateIngress(_) => "broad-private-ingress",
        }
    }

    /// Parses parameters given as pairs, e.g. `&[("check", "public-ingress")]`.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<Check, ParamError> {
        Check::from_params(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// Parses `ruleParameters`. `check` selects the check (default `web-tier`).
    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Check, ParamError> {
        let p = Params(params);
        let check = p.get("check").unwrap_or("web-tier");
        let (name, keys): (&'static str, &[&str]) = match check {
            "web-tier" => (
                "web-tier",
                &[
                    "tierTagKey",
                    "tierTagValue",
                    "ports",
                    "loadBalancerSecurityGroupIds",
                    "forbidPublicIngress",
                ],
            ),
            "public-ingress" => (
                "public-ingress",
                &[
                    "authorizedTcpPorts",
                    "authorizedUdpPorts",
                    "blockedTcpPorts",
                    "blockedUdpPorts",
                ],
            ),
            "public-egress" => (
                "public-egress",
                &["authorizedEgressTcpPorts", "authorizedEgressUdpPorts"],
            ),
            "broad-private-ingress" => (
                "broad-private-ingress",
                &["minPrefixLengthIpv4", "minPrefixLengthIpv6"],
            ),
            other => return Err(ParamError::UnknownCheck(other.to_string())),
        };
        let unknown = |k: &&String| {
            k.as_str() != "check" && !keys.contains(&k.as_str()) && p.get(k).is_some()
        };
        if let Some(key) = params.keys().find(unknown) {
            return Err(ParamError::Unknown {
                key: key.clone(),
                check: name,
                valid: keys.join(", "),
            });
        }
        Ok(match name {
            "web-tier" => Check::WebTier(WebTier {
                tag_key: p
                    .get("tierTagKey")
                    .ok_or(ParamError::Missing("tierTagKey", "web-tier"))?
                    .to_string(),
                tag_value: p.get("tierTagValue").map(str::to_string),
                ports: p.ports("ports", "80,443")?,
                load_balancer_groups: p.group_ids("loadBalancerSecurityGroupIds")?,
                forbid_public_ingress: p.bool("forbidPublicIngress", false)?,
            }),
            "public-ingress" => {
                if p.get("blockedTcpPorts").is_some() || p.get("blockedUdpPorts").is_some() {
                    if let Some(k) = ["authorizedTcpPorts", "authorizedUdpPorts"]
                        .iter()
                        .find(|k| p.get(k).is_some())
                    {
                        return Err(ParamError::Invalid {
                            field: k.to_string(),
                            value: p.get(k).unwrap_or_default().to_string(),
                            reason: "cannot be combined with blockedTcpPorts/blockedUdpPorts: use either the allow-list or the deny-list mode".into(),
                        });
                    }
                    Check::PublicIngress(PublicIngress::DenyList {
                        tcp: p.ports("blockedTcpPorts", "")?,
                        udp: p.ports("blockedUdpPorts", "")?,
                    })
                } else {
                    Check::PublicIngress(PublicIngress::AllowList {
                        tcp: p.ports("authorizedTcpPorts", "80,443")?,
                        udp: p.ports("authorizedUdpPorts", "")?,
                    })
                }
            }
            "public-egress" => Check::PublicEgress(PublicEgress {
                tcp: p.ports("authorizedEgressTcpPorts", "")?,
                udp: p.ports("authorizedEgressUdpPorts", "")?,
            }),
            _ => Check::BroadPrivateIngress(BroadPrivateIngress {
                min_prefix_v4: p.prefix("minPrefixLengthIpv4", 16, 32)?,
                min_prefix_v6: p.prefix("minPrefixLengthIpv6", 48, 128)?,
            }),
        })
    }
}

struct Params<'a>(&'a BTreeMap<String, String>);

impl Params<'_> {
    /// A parameter's trimmed value; empty counts as absent.
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn invalid(&self, field: &str, reason: impl Into<String>) -> ParamError {
        ParamError::Invalid {
            field: field.to_string(),
            value: self.0.get(field).cloned().unwrap_or_default(),
            reason: reason.into(),
        }
    }

    fn ports(&self, key: &str, default: &str) -> Result<PortSet, ParamError> {
        PortSet::parse(self.get(key).unwrap_or(default)).map_err(|reason| self.invalid(key, reason))
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool, ParamError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(self.invalid(key, "expected true or false")),
        }
    }

    fn prefix(&self, key: &str, default: u8, max: u8) -> Result<u8, ParamError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| self.invalid(key, format!("expected a prefix length 0-{max}"))),
        }
    }

    fn group_ids(&self, key: &str) -> Result<Option<BTreeSet<GroupId>>, ParamError> {
        let Some(text) = self.get(key) else {
            return Ok(None);
        };
        let ids = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|id| GroupId::parse(id).map_err(|reason| self.invalid(key, reason)))
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(Some(ids))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Check, ParamError> {
        Check::from_pairs(pairs)
    }

    #[test]
    fn web_tier_defaults() {
        let Check::WebTier(w) = parse(&[("tierTagKey", "tier")]).unwrap() else {
            panic!()
        };
        assert_eq!(w.tag_key, "tier");
        assert_eq!(w.tag_value, None);
        assert_eq!(w.ports, PortSet::parse("80,443").unwrap());
        assert_eq!(w.load_balancer_groups, None);
        assert!(!w.forbid_public_ingress);
    }

    #[test]
    fn web_tier_full() {
        let Check::WebTier(w) = parse(&[
            ("check", "web-tier"),
            ("tierTagKey", "tier"),
            ("tierTagValue", "web"),
            ("ports", "443"),
            ("loadBalancerSecurityGroupIds", "sg-0123abcd, sg-0abc1234"),
            ("forbidPublicIngress", "TRUE"),
        ])
        .unwrap() else {
            panic!()
        };
        assert_eq!(w.tag_value.as_deref(), Some("web"));
        assert_eq!(w.load_balancer_groups.unwrap().len(), 2);
        assert!(w.forbid_public_ingress);
    }

    #[test]
    fn public_ingress_modes() {
        assert_eq!(
            parse(&[("check", "public-ingress")]).unwrap(),
            Check::PublicIngress(PublicIngress::AllowList {
                tcp: PortSet::parse("80,443").unwrap(),
                udp: PortSet::empty()
            })
        );
        assert_eq!(
            parse(&[("check", "public-ingress"), ("blockedTcpPorts", "22,3389")]).unwrap(),
            Check::PublicIngress(PublicIngress::DenyList {
                tcp: PortSet::parse("22,3389").unwrap(),
                udp: PortSet::empty()
            })
        );
    }

    #[test]
    fn other_checks_defaults() {
        assert_eq!(
            parse(&[("check", "public-egress")]).unwrap(),
            Check::PublicEgress(PublicEgress {
                tcp: PortSet::empty(),
                udp: PortSet::empty()
            })
        );
        assert_eq!(
            parse(&[
                ("check", "broad-private-ingress"),
                ("minPrefixLengthIpv4", "20")
            ])
            .unwrap(),
            Check::BroadPrivateIngress(BroadPrivateIngress {
                min_prefix_v4: 20,
                min_prefix_v6: 48
            })
        );
    }

    #[test]
    fn errors_name_key_and_value() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "`tierTagKey` is required"),
            (&[("tierTagKey", "t"), ("ports", "8o")], "`ports` = `8o`: `8o` is not a port"),
            (&[("tierTagKey", "t"), ("ports", "70000")], "`ports` = `70000`: `70000` is out of range"),
            (&[("tierTagKey", "t"), ("loadBalancerSecurityGroupIds", "not-a-group")], "`loadBalancerSecurityGroupIds` = `not-a-group`"),
            (&[("tierTagKey", "t"), ("forbidPublicIngress", "yes")], "`forbidPublicIngress` = `yes`: expected true or false"),
            (&[("check", "nope")], "unknown check `nope`: valid checks are web-tier, public-ingress, public-egress, broad-private-ingress"),
            (&[("tierTagKey", "t"), ("tierTagkey", "t")], "unknown rule parameter `tierTagkey` for check `web-tier`"),
            (&[("check", "broad-private-ingress"), ("minPrefixLengthIpv4", "33")], "`minPrefixLengthIpv4` = `33`"),
            (&[("check", "public-ingress"), ("blockedTcpPorts", "22"), ("authorizedTcpPorts", "443")], "cannot be combined"),
        ];
        for (pairs, needle) in cases {
            let err = parse(pairs).unwrap_err().to_string();
            assert!(err.contains(needle), "{err} !~ {needle}");
        }
    }
}
