//! `public-ingress`: which ports the whole internet (0.0.0.0/0, ::/0, as the union of sources) can
//! reach, against an allow-list (default) or a deny-list of ports.
//!
//! Why: a port open to the internet is scanned within minutes; SSH/RDP open to the world is the
//! most common way into an instance. Allow-list mode has the parameter names of AWS's managed rule
//! `vpc-sg-open-only-to-authorized-ports`; deny-list mode (`blockedTcpPorts=22,3389`) is the SSH/RDP rule.

use super::{describe_ports, public_findings, wide_public_findings, Facts, Needs, Rule};
use crate::exposure::{Exposure, Family, PortPolicy};
use crate::fix::{narrow, plan_of, Direction, Fix, Violation};
use crate::model::SecurityGroup;
use crate::params::{ParamError, ParamSpec, Params};
use crate::ports::PortSet;
use crate::verdict::{Judgement, Verdict};

/// `check=public-ingress`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicIngress {
    pub ports: PortMode,
    /// Public sources broader than this (IPv4, `minPublicPrefixLength`, 0-24) on a checked port are
    /// findings too, not only the whole internet; 0 = only the whole internet.
    pub min_public_v4: u8,
    /// The same for IPv6 (`minPublicPrefixLengthIpv6`, 0-48).
    pub min_public_v6: u8,
    /// Only findings reachable at these effective-exposure levels are NON_COMPLIANT
    /// (`exposureLevels`); `None` = every level (no network facts needed).
    pub exposure_levels: Option<std::collections::BTreeSet<crate::reach::Level>>,
}

/// Which ports the check is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortMode {
    /// Only these ports may be reachable from the internet (`authorizedTcpPorts`, `authorizedUdpPorts`).
    AllowList { tcp: PortSet, udp: PortSet },
    /// These ports must not be reachable from the internet (`blockedTcpPorts`, `blockedUdpPorts`).
    DenyList { tcp: PortSet, udp: PortSet },
}

impl Rule for PublicIngress {
    const NAME: &'static str = "public-ingress";
    const SUMMARY: &'static str = "The whole internet (0.0.0.0/0 or ::/0, as a union of sources) reaches a tcp/udp port outside the allow-list, or all traffic; in deny-list mode, a blocked port.";
    const PARAMETERS: &'static [ParamSpec] = &[
        ParamSpec::optional("authorizedTcpPorts", Some("80,443")),
        ParamSpec::optional("authorizedUdpPorts", None),
        ParamSpec::optional("blockedTcpPorts", None),
        ParamSpec::optional("blockedUdpPorts", None),
        ParamSpec::optional("minPublicPrefixLength", Some("0")),
        ParamSpec::optional("minPublicPrefixLengthIpv6", Some("0")),
        ParamSpec::optional(
            "exposureLevels",
            Some("internet,internet-via-load-balancer,latent,unattached"),
        ),
    ];
    const INGRESS_EXPOSURE: bool = true;

    fn parse(p: &Params<'_>) -> Result<Self, ParamError> {
        Ok(PublicIngress {
            ports: Self::port_mode(p)?,
            // Up to /24 (/48): a fix revokes public sources broader than that, so it always ends
            // such a finding.
            min_public_v4: p.prefix("minPublicPrefixLength", 24)?,
            min_public_v6: p.prefix("minPublicPrefixLengthIpv6", 48)?,
            exposure_levels: Self::levels(p)?,
        })
    }

    fn needs(&self, groups: &[&SecurityGroup]) -> Needs {
        let mut needs = Needs::prefix_lists_of(groups);
        if self.exposure_levels.is_some() {
            needs.network_of = groups.iter().map(|g| g.group_id.clone()).collect();
        }
        needs
    }

    fn evaluate(&self, sg: &SecurityGroup, facts: &Facts) -> Verdict {
        let verdict = self.evaluate_exposure(sg, facts);
        let Some(levels) = &self.exposure_levels else {
            return verdict;
        };
        if verdict.compliance() != crate::verdict::Compliance::NonCompliant {
            return verdict;
        }
        // Graded by effective exposure: only the chosen levels are NON_COMPLIANT.
        let Some(network) = &facts.network else {
            return verdict.with_note("effective exposure unknown (no network facts)");
        };
        let r = network.reachability(&sg.group_id, &self.flagged(sg, facts));
        if levels.contains(&r.level) {
            verdict.with_note(&format!("exposure {}: {}", r.level, r.path))
        } else {
            Verdict::judge(Judgement::<String> {
                findings: Vec::new(),
                headline: String::new(),
                unresolved: Vec::new(),
                compliant: format!(
                    "open to the internet but only {} ({}): not an exposure level this rule flags ({})",
                    r.level,
                    r.path,
                    levels.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(",")
                ),
            })
        }
    }
    /// Revokes exactly what the findings report: on each reported (protocol, ports), the wide
    /// public sources (and with `minPublicPrefixLength` the sources of the wide blocks), and
    /// re-authorizes the rest of each touched rule (`tcp 0-65535 0.0.0.0/0` with 80,443
    /// authorized becomes `tcp 80` and `tcp 443`).
    fn flagged(&self, sg: &SecurityGroup, facts: &Facts) -> crate::reach::Flagged {
        super::flagged_of(&self.violation(sg, facts))
    }

    fn fix(&self, sg: &SecurityGroup, facts: &Facts, keep_lossy: bool) -> Fix {
        let violation = self.violation(sg, facts);
        let n = narrow(&sg.ingress, &violation, keep_lossy);
        let note = n.unsafe_note();
        match plan_of(Direction::Ingress, n.authorize, n.revoke, note) {
            Some(plan) => Fix::Plan(plan),
            None => Fix::Manual("no wide public source to revoke: the internet is reached through prefix lists or narrow sources; edit them by hand".into()),
        }
    }
}

impl PublicIngress {
    /// The verdict without effective exposure.
    fn evaluate_exposure(&self, sg: &SecurityGroup, facts: &Facts) -> Verdict {
        let exposure = Exposure::of(&sg.ingress, &facts.prefix_lists);
        let policy = self.policy();
        let (headline, compliant) = match &self.ports {
            PortMode::AllowList { tcp, udp } => (
                "open to the internet on unauthorized ports",
                format!(
                    "no ingress from the internet outside authorized ports ({})",
                    describe_ports(tcp, udp)
                ),
            ),
            PortMode::DenyList { tcp, udp } => (
                "blocked ports open to the internet",
                format!(
                    "blocked ports ({}) are not reachable from the internet",
                    describe_ports(tcp, udp)
                ),
            ),
        };
        let mut findings = public_findings(exposure.public(policy), "open to");
        findings.extend(wide_public_findings(
            exposure.wide_public(policy, |f| self.min_public(f)),
            "open to",
        ));
        Verdict::judge(Judgement {
            findings,
            headline: headline.to_string(),
            compliant,
            unresolved: exposure.unresolved().to_vec(),
        })
    }
}

impl PublicIngress {
    fn levels(
        p: &Params<'_>,
    ) -> Result<Option<std::collections::BTreeSet<crate::reach::Level>>, ParamError> {
        use crate::reach::Level;
        let mut levels = std::collections::BTreeSet::new();
        for l in p
            .text("exposureLevels")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            levels.insert(match l {
                "internet" => Level::Internet,
                "internet-via-load-balancer" => Level::InternetViaLoadBalancer,
                "latent" => Level::Latent,
                "unattached" => Level::Unattached,
                other => {
                    return Err(p.invalid(
                        "exposureLevels",
                        format!("`{other}` is not a level (internet, internet-via-load-balancer, latent, unattached)"),
                    ))
                }
            });
        }
        if levels.is_empty() {
            return Err(p.invalid(
                "exposureLevels",
                "no level given (internet, latent, unattached)",
            ));
        }
        Ok((levels.len() < 3).then_some(levels))
    }
}

impl PublicIngress {
    /// What the findings report: the segments the internet reaches, and the broad public blocks.
    fn violation(&self, sg: &SecurityGroup, facts: &Facts) -> Violation {
        let exposure = Exposure::of(&sg.ingress, &facts.prefix_lists);
        let policy = self.policy();
        let mut violation = Violation::default();
        violation.add_public(&exposure.public_all(policy), false);
        violation.add_wide(&exposure.wide_public_all(policy, |f| self.min_public(f)));
        violation
    }

    fn policy(&self) -> PortPolicy<'_> {
        match &self.ports {
            PortMode::AllowList { tcp, udp } => PortPolicy::Allow { tcp, udp },
            PortMode::DenyList { tcp, udp } => PortPolicy::Deny { tcp, udp },
        }
    }

    fn min_public(&self, family: Family) -> u8 {
        match family {
            Family::V4 => self.min_public_v4,
            Family::V6 => self.min_public_v6,
        }
    }

    fn port_mode(p: &Params<'_>) -> Result<PortMode, ParamError> {
        let blocked = ["blockedTcpPorts", "blockedUdpPorts"];
        if blocked.iter().all(|k| p.given(k).is_none()) {
            return Ok(PortMode::AllowList {
                tcp: p.ports("authorizedTcpPorts")?,
                udp: p.ports("authorizedUdpPorts")?,
            });
        }
        if let Some(k) = ["authorizedTcpPorts", "authorizedUdpPorts"]
            .into_iter()
            .find(|k| p.given(k).is_some())
        {
            return Err(p.invalid(k, "cannot be combined with blockedTcpPorts/blockedUdpPorts: use either the allow-list or the deny-list mode"));
        }
        Ok(PortMode::DenyList {
            tcp: p.ports("blockedTcpPorts")?,
            udp: p.ports("blockedUdpPorts")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_verdict, group, params, snapshot_name};
    use super::super::Facts;
    use crate::verdict::Compliance;
    use rstest::rstest;
    use serde_json::{json, Value};

    const ALLOW: &[(&str, &str)] = &[("check", "public-ingress")];
    const SSH_RDP: &[(&str, &str)] = &[("check", "public-ingress"), ("blockedTcpPorts", "22,3389")];

    fn tcp(from: i64, to: i64, v4: &[&str]) -> Value {
        json!({"ipProtocol": "tcp", "fromPort": from, "toPort": to, "ipRanges": v4})
    }

    #[rstest]
    #[case::no_ingress("no ingress", ALLOW, json!([]), Compliance::Compliant, "outside authorized ports (tcp 80,443, udp none)")]
    #[case::c_443_public_is_authorized("443 public is authorized", ALLOW, json!([tcp(443, 443, &["0.0.0.0/0"])]), Compliance::Compliant, "no ingress")]
    #[case::c_22_public("22 public", ALLOW, json!([tcp(22, 22, &["0.0.0.0/0"])]), Compliance::NonCompliant, "tcp/22 open to 0.0.0.0/0")]
    #[case::c_22_from_halves("22 from halves", ALLOW, json!([tcp(22, 22, &["0.0.0.0/1"]), tcp(22, 22, &["128.0.0.0/1"])]), Compliance::NonCompliant, "tcp/22 open to 0.0.0.0/1 + 128.0.0.0/1 (= 0.0.0.0/0)")]
    #[case::c_22_from_a_private_range("22 from a private range", ALLOW, json!([tcp(22, 22, &["10.0.0.0/8"])]), Compliance::Compliant, "no ingress")]
    #[case::range_around_443("range around 443", ALLOW, json!([tcp(440, 450, &["0.0.0.0/0"])]), Compliance::NonCompliant, "tcp/440-442,444-450 open to")]
    #[case::range_80_443("range 80-443", ALLOW, json!([tcp(80, 443, &["0.0.0.0/0"])]), Compliance::NonCompliant, "tcp/81-442 open")]
    #[case::all_traffic("all traffic", ALLOW, json!([{"ipProtocol": "-1", "ipRanges": ["0.0.0.0/0"]}]), Compliance::NonCompliant, "all traffic open to 0.0.0.0/0")]
    #[case::ipv6_all_ports("ipv6 all ports", ALLOW, json!([{"ipProtocol": "6", "fromPort": 0, "toPort": 65535, "ipv6Ranges": [{"cidrIpv6": "::/0"}]}]), Compliance::NonCompliant, "tcp/0-79,81-442,444-65535 open to ::/0")]
    #[case::ipv6_halves("ipv6 halves", ALLOW, json!([{"ipProtocol": "tcp", "fromPort": 8080, "toPort": 8080, "ipv6Ranges": [{"cidrIpv6": "2000::/4"}, {"cidrIpv6": "3000::/4"}]}]), Compliance::NonCompliant, "tcp/8080 open to 2000::/4 + 3000::/4 (= every public IPv6 address)")]
    #[case::udp_not_authorized("udp not authorized", ALLOW, json!([{"ipProtocol": "udp", "fromPort": 53, "toPort": 53, "ipRanges": ["0.0.0.0/0"]}]), Compliance::NonCompliant, "udp/53 open")]
    #[case::icmp_is_not_a_port("icmp is not a port", ALLOW, json!([{"ipProtocol": "icmp", "fromPort": 8, "toPort": -1, "ipRanges": ["0.0.0.0/0"]}]), Compliance::Compliant, "no ingress")]
    #[case::ssh_from_anywhere("ssh from anywhere", SSH_RDP, json!([tcp(22, 22, &["0.0.0.0/0"])]), Compliance::NonCompliant, "blocked ports open to the internet: tcp/22 open to 0.0.0.0/0")]
    #[case::rdp_inside_a_range("rdp inside a range", SSH_RDP, json!([tcp(3000, 4000, &["0.0.0.0/0"])]), Compliance::NonCompliant, "tcp/3389 open")]
    #[case::range_ending_at_21("range ending at 21", SSH_RDP, json!([tcp(0, 21, &["0.0.0.0/0"])]), Compliance::Compliant, "not reachable")]
    #[case::range_starting_at_23("range starting at 23", SSH_RDP, json!([tcp(23, 3388, &["0.0.0.0/0"])]), Compliance::Compliant, "not reachable")]
    #[case::c_1_reaches_ssh("-1 reaches ssh", SSH_RDP, json!([{"ipProtocol": "-1", "ipRanges": ["0.0.0.0/0"]}]), Compliance::NonCompliant, "tcp/22,3389 open to 0.0.0.0/0")]
    #[case::c_1_half_tcp_half("-1 half + tcp half", SSH_RDP, json!([{"ipProtocol": "-1", "ipRanges": ["0.0.0.0/1"]}, tcp(22, 22, &["128.0.0.0/1"])]), Compliance::NonCompliant, "tcp/22 open to 0.0.0.0/1 + 128.0.0.0/1")]
    #[case::c_443_public_allowed_by_deny_list("443 public allowed by deny-list", SSH_RDP, json!([tcp(443, 443, &["0.0.0.0/0"])]), Compliance::Compliant, "tcp 22,3389, udp none")]
    #[case::unresolved_prefix_list("unresolved prefix list", SSH_RDP, json!([{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "prefixListIds": [{"prefixListId": "pl-0123"}]}]), Compliance::Compliant, "prefix lists pl-0123 not resolved")]
    #[case::wide_public_source_with_min_24("wide public source with min /24", &[("check", "public-ingress"), ("blockedTcpPorts", "22"), ("minPublicPrefixLength", "24")], json!([tcp(22, 22, &["198.51.0.0/16", "203.0.113.0/24", "10.0.0.0/8"])]), Compliance::NonCompliant, "blocked ports open to the internet: tcp/22 open to 198.51.0.0/16 (public, broader than /24)")]
    #[case::internet_but_a_public_6_with_min_24("internet but a public /6 with min /24", &[("check", "public-ingress"), ("blockedTcpPorts", "22"), ("minPublicPrefixLength", "24")], json!([tcp(22, 22, &["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/4", "208.0.0.0/5", "216.0.0.0/6"])]), Compliance::NonCompliant, "(public, broader than /24)")]
    #[case::internet_but_a_public_6_by_default("internet but a public /6 by default", SSH_RDP, json!([tcp(22, 22, &["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/4", "208.0.0.0/5", "216.0.0.0/6"])]), Compliance::Compliant, "not reachable")]
    #[case::internet_less_private_space("internet less private space", SSH_RDP, json!([tcp(22, 22, &["0.0.0.0/5", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/3", "160.0.0.0/5", "168.0.0.0/6", "172.0.0.0/12", "172.32.0.0/11", "172.64.0.0/10", "172.128.0.0/9", "173.0.0.0/8", "174.0.0.0/7", "176.0.0.0/4", "192.0.0.0/9", "192.128.0.0/11", "192.160.0.0/13", "192.169.0.0/16", "192.170.0.0/15", "192.172.0.0/14", "192.176.0.0/12", "192.192.0.0/10", "193.0.0.0/8", "194.0.0.0/7", "196.0.0.0/6", "200.0.0.0/5", "208.0.0.0/4", "224.0.0.0/3"])]), Compliance::NonCompliant, "(= every public IPv4 address)")]
    #[case::special_purpose_only("special-purpose only", SSH_RDP, json!([tcp(22, 22, &["127.0.0.0/8", "169.254.0.0/16", "198.18.0.0/15", "192.0.2.0/24"]), {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipv6Ranges": [{"cidrIpv6": "fe80::/10"}, {"cidrIpv6": "2001:db8::/32"}]}]), Compliance::Compliant, "not reachable")]
    #[case::sixteen_24s_are_a_20("sixteen /24s are a /20", &[("check", "public-ingress"), ("blockedTcpPorts", "22"), ("minPublicPrefixLength", "24")], json!([tcp(22, 22, &["198.51.0.0/24", "198.51.1.0/24", "198.51.2.0/24", "198.51.3.0/24", "198.51.4.0/24", "198.51.5.0/24", "198.51.6.0/24", "198.51.7.0/24", "198.51.8.0/24", "198.51.9.0/24", "198.51.10.0/24", "198.51.11.0/24", "198.51.12.0/24", "198.51.13.0/24", "198.51.14.0/24", "198.51.15.0/24"])]), Compliance::NonCompliant, "(together 198.51.0.0/20)")]
    #[case::one_fact_once("one fact once", &[("check", "public-ingress"), ("blockedTcpPorts", "22"), ("minPublicPrefixLength", "24")], json!([tcp(22, 22, &["0.0.0.0/0"])]), Compliance::NonCompliant, "blocked ports open to the internet: tcp/22 open to 0.0.0.0/0")]
    #[case::narrow_public_source_with_min_24("narrow public source with min /24", &[("check", "public-ingress"), ("blockedTcpPorts", "22"), ("minPublicPrefixLength", "24"), ("minPublicPrefixLengthIpv6", "48")], json!([tcp(22, 22, &["203.0.113.0/24"]), {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipv6Ranges": [{"cidrIpv6": "2001:db8::/48"}]}]), Compliance::Compliant, "not reachable")]
    fn table(
        #[case] name: &str,
        #[case] p: &[(&str, &str)],
        #[case] ingress: Value,
        #[case] want: Compliance,
        #[case] needle: &str,
    ) {
        let annotation = assert_verdict(
            &params(p),
            &group(&[], ingress, json!([])),
            &Facts::default(),
            want,
            needle,
        );
        insta::assert_snapshot!(snapshot_name("public_ingress", name), annotation);
    }

    #[test]
    fn resolved_prefix_list_counts() {
        let sg = group(
            &[],
            json!([{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["0.0.0.0/1"], "prefixListIds": [{"prefixListId": "pl-0123"}]}]),
            json!([]),
        );
        let mut facts = Facts::default();
        facts.prefix_lists.insert(
            "pl-0123".into(),
            vec![
                "128.0.0.0/1".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ],
        );
        let annotation = assert_verdict(
            &params(&[("check", "public-ingress"), ("blockedTcpPorts", "22")]),
            &sg,
            &facts,
            Compliance::NonCompliant,
            "tcp/22 open to 0.0.0.0/1 + pl-0123 (= 0.0.0.0/0)",
        );
        insta::assert_snapshot!(annotation);
    }

    #[rstest]
    #[case::combined(&[("check", "public-ingress"), ("blockedTcpPorts", "22"), ("authorizedTcpPorts", "443")], "rule parameter `authorizedTcpPorts` = `443`: cannot be combined")]
    #[case::bad_port(&[("check", "public-ingress"), ("blockedUdpPorts", "5x")], "rule parameter `blockedUdpPorts` = `5x`: `5x` is not a port")]
    #[case::min_public_too_long(&[("check", "public-ingress"), ("minPublicPrefixLength", "25")], "rule parameter `minPublicPrefixLength` = `25`: expected a prefix length 0-24")]
    fn parameter_errors(#[case] pairs: &[(&str, &str)], #[case] needle: &str) {
        let err = crate::checks::Check::from_pairs(pairs)
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{err}");
    }

    /// `exposureLevels`: only the chosen levels are NON_COMPLIANT; the others COMPLIANT with the
    /// reason; without network facts the finding stands and says so.
    #[test]
    fn exposure_levels_grade_findings() {
        use crate::reach::{Interface, Nacl, NaclEntry, Network, Route, RouteTable};
        let check = params(&[
            ("check", "public-ingress"),
            ("blockedTcpPorts", "22"),
            ("exposureLevels", "internet"),
        ]);
        let sg = group(&[], json!([tcp(22, 22, &["0.0.0.0/0"])]), json!([]));
        let net = |public: bool| Network {
            interfaces: vec![Interface {
                id: "eni-1".into(),
                subnet_id: Some("subnet-1".into()),
                vpc_id: Some("vpc-1".into()),
                groups: vec![sg.group_id.clone()],
                public_ipv4: public.then(|| "54.1.2.3".parse().unwrap()),
                ipv6: vec![],
                instance_id: None,
                private_ips: vec![],
            }],
            subnets: [("subnet-1".to_string(), "vpc-1".to_string())].into(),
            route_tables: vec![RouteTable {
                id: "rtb-1".into(),
                vpc_id: Some("vpc-1".into()),
                main: true,
                subnets: vec![],
                routes: vec![Route {
                    destination: "0.0.0.0/0".parse().unwrap(),
                    target: "igw-1".into(),
                }],
            }],
            nacls: vec![Nacl {
                id: "acl-1".into(),
                vpc_id: Some("vpc-1".into()),
                default: true,
                subnets: vec![],
                entries: [false, true]
                    .into_iter()
                    .map(|egress| NaclEntry {
                        number: 100,
                        egress,
                        protocol: None,
                        ports: None,
                        cidr: "0.0.0.0/0".parse().unwrap(),
                        allow: true,
                    })
                    .collect(),
            }],
            load_balancers: vec![],
            target_groups: vec![],
            pending_targets: vec![],
        };
        let with = |public: bool| Facts {
            network: Some(std::sync::Arc::new(net(public))),
            ..Facts::default()
        };
        let v = check.evaluate(&sg, &with(true));
        assert_eq!(v.compliance(), Compliance::NonCompliant);
        assert!(
            v.annotation().contains("exposure internet: eni-1 54.1.2.3"),
            "{}",
            v.annotation()
        );
        let v = check.evaluate(&sg, &with(false));
        assert_eq!(v.compliance(), Compliance::Compliant);
        assert!(
            v.annotation()
                .starts_with("open to the internet but only latent (eni-1: no public address)"),
            "{}",
            v.annotation()
        );
        let v = check.evaluate(&sg, &Facts::default());
        assert_eq!(v.compliance(), Compliance::NonCompliant);
        assert!(
            v.annotation().contains("effective exposure unknown"),
            "{}",
            v.annotation()
        );
        // Every level is the default: no network needed.
        let all = params(&[
            ("check", "public-ingress"),
            ("exposureLevels", "unattached,internet,latent"),
        ]);
        assert!(all.needs(&[&sg]).network_of.is_empty());
        assert!(!check.needs(&[&sg]).network_of.is_empty());
        let err = crate::checks::Check::from_pairs(&[
            ("check", "public-ingress"),
            ("exposureLevels", "internet,everywhere"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("`everywhere` is not a level"), "{err}");
    }
}
