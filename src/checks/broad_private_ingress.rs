//! `broad-private-ingress` (lateral movement): inbound sources that cover a private range (RFC 1918,
//! RFC 6598 shared space, fc00::/7) broader than the minimum prefix length. The sources are unioned
//! per protocol and port first, so splitting 10.0.0.0/8 into halves does not hide it.
//!
//! Why: `10.0.0.0/8` on tcp/5432 lets every host of the network reach the database; a compromised
//! web server is one hop away. Reference the client tier's security group instead.

use super::{Facts, Needs, Rule};
use crate::exposure::{Exposure, Family};
use crate::fix::Fix;
use crate::model::SecurityGroup;
use crate::params::{ParamError, ParamSpec, Params};
use crate::verdict::{group_findings, Finding, Judgement, Verdict};

/// `check=broad-private-ingress`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadPrivateIngress {
    pub min_prefix_v4: u8,
    pub min_prefix_v6: u8,
}

impl Rule for BroadPrivateIngress {
    const NAME: &'static str = "broad-private-ingress";
    const SUMMARY: &'static str = "An inbound private range (RFC 1918, RFC 6598, fc00::/7) is broader than the minimum prefix length: lateral movement.";
    const PARAMETERS: &'static [ParamSpec] = &[
        ParamSpec::optional("minPrefixLengthIpv4", Some("16")),
        ParamSpec::optional("minPrefixLengthIpv6", Some("48")),
    ];

    fn parse(p: &Params<'_>) -> Result<Self, ParamError> {
        Ok(BroadPrivateIngress {
            min_prefix_v4: p.prefix("minPrefixLengthIpv4", 32)?,
            min_prefix_v6: p.prefix("minPrefixLengthIpv6", 128)?,
        })
    }

    fn needs(&self, groups: &[&SecurityGroup]) -> Needs {
        Needs::prefix_lists_of(groups)
    }

    fn evaluate(&self, sg: &SecurityGroup, facts: &Facts) -> Verdict {
        let exposure = Exposure::of(&sg.ingress, &facts.prefix_lists);
        let min = |family| match family {
            Family::V4 => self.min_prefix_v4,
            Family::V6 => self.min_prefix_v6,
        };
        let findings = exposure
            .broad_private(min)
            .into_iter()
            .map(|b| {
                let sources = b.sources();
                let from = if sources.len() == 1 && sources[0].to_string() == b.block.to_string() {
                    String::new()
                } else {
                    let names: Vec<String> = sources.iter().map(ToString::to_string).collect();
                    format!(" from {}", names.join(" + "))
                };
                Finding {
                    protocol: b.segment.protocol,
                    ports: vec![b.segment.ports],
                    detail: format!(
                        "open to private {}{from} (broader than /{})",
                        b.block,
                        min(b.family)
                    ),
                }
            })
            .collect();
        Verdict::judge(Judgement {
            findings: group_findings(findings),
            headline:
                "broad private ingress allows lateral movement, reference security groups instead"
                    .to_string(),
            compliant: format!(
                "no inbound private range broader than /{} (IPv4) or /{} (IPv6)",
                self.min_prefix_v4, self.min_prefix_v6
            ),
            unresolved: exposure.unresolved().to_vec(),
        })
    }

    /// No safe automatic fix: nobody knows which narrower sources are meant.
    fn fix(&self, sg: &SecurityGroup, facts: &Facts, _: bool) -> Fix {
        let exposure = Exposure::of(&sg.ingress, &facts.prefix_lists);
        let min = |family| match family {
            Family::V4 => self.min_prefix_v4,
            Family::V6 => self.min_prefix_v6,
        };
        let hits = exposure.broad_private(min);
        if hits.is_empty() {
            return Fix::Nothing;
        }
        // Every block on every segment: following the advice must end the finding.
        let mut by_block: Vec<(ipnet::IpNet, Vec<String>)> = Vec::new();
        for b in &hits {
            let what = if b.segment.protocol.has_ports() {
                format!("{}/{}", b.segment.protocol, b.segment.ports)
            } else {
                b.segment.protocol.to_string()
            };
            match by_block.iter_mut().find(|(blk, _)| *blk == b.block) {
                Some((_, w)) if w.contains(&what) => {}
                Some((_, w)) => w.push(what),
                None => by_block.push((b.block, vec![what])),
            }
        }
        let parts: Vec<String> = by_block
            .iter()
            .map(|(b, w)| format!("{b} on {}", w.join(", ")))
            .collect();
        Fix::Manual(format!(
            "reference the client tier's security group instead of {}",
            parts.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_verdict, group, params, snapshot_name};
    use super::super::Facts;
    use crate::verdict::Compliance;
    use rstest::rstest;
    use serde_json::{json, Value};

    const DEFAULT: &[(&str, &str)] = &[("check", "broad-private-ingress")];
    const STRICT: &[(&str, &str)] = &[
        ("check", "broad-private-ingress"),
        ("minPrefixLengthIpv4", "24"),
        ("minPrefixLengthIpv6", "64"),
    ];

    fn tcp(port: i64, v4: &[&str]) -> Value {
        json!({"ipProtocol": "tcp", "fromPort": port, "toPort": port, "ipRanges": v4})
    }

    #[rstest]
    #[case::none("none", DEFAULT, json!([]), Compliance::Compliant, "no inbound private range broader than /16 (IPv4) or /48 (IPv6)")]
    #[case::c_10_8("10/8", DEFAULT, json!([tcp(22, &["10.0.0.0/8"])]), Compliance::NonCompliant, "tcp/22 open to private 10.0.0.0/8 (broader than /16)")]
    #[case::c_16_is_not_broader("/16 is not broader", DEFAULT, json!([tcp(22, &["10.1.0.0/16"])]), Compliance::Compliant, "no inbound")]
    #[case::c_15_is("/15 is", DEFAULT, json!([tcp(22, &["10.0.0.0/15"])]), Compliance::NonCompliant, "10.0.0.0/15")]
    #[case::halves_union("halves union", DEFAULT, json!([tcp(22, &["10.0.0.0/9"]), tcp(22, &["10.128.0.0/9"])]), Compliance::NonCompliant, "10.0.0.0/8 from 10.0.0.0/9 + 10.128.0.0/9")]
    #[case::halves_on_different_ports("halves on different ports", DEFAULT, json!([tcp(22, &["10.0.0.0/17"]), tcp(23, &["10.0.128.0/17"])]), Compliance::Compliant, "no inbound")]
    #[case::shared_space("shared space", DEFAULT, json!([tcp(443, &["100.64.0.0/10"])]), Compliance::NonCompliant, "100.64.0.0/10")]
    #[case::c_172_16_12("172.16/12", DEFAULT, json!([{"ipProtocol": "-1", "ipRanges": ["172.16.0.0/12"]}]), Compliance::NonCompliant, "all traffic open to private 172.16.0.0/12")]
    #[case::public_is_not_private("public is not private", DEFAULT, json!([tcp(22, &["8.8.0.0/8"])]), Compliance::Compliant, "no inbound")]
    #[case::c_0_0_covers_private_space("0/0 covers private space", DEFAULT, json!([tcp(22, &["0.0.0.0/0"])]), Compliance::NonCompliant, "10.0.0.0/8 from 0.0.0.0/0")]
    #[case::strict_24("strict /24", STRICT, json!([tcp(22, &["192.168.0.0/23"])]), Compliance::NonCompliant, "broader than /24")]
    #[case::ula_v6("ula v6", DEFAULT, json!([{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "ipv6Ranges": [{"cidrIpv6": "fd00::/8"}]}]), Compliance::NonCompliant, "tcp/5432 open to private fd00::/8 (broader than /48)")]
    #[case::v6_56_ok_by_default("v6 /56 ok by default", DEFAULT, json!([{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "ipv6Ranges": [{"cidrIpv6": "fd00::/56"}]}]), Compliance::Compliant, "no inbound")]
    #[case::v6_56_strict("v6 /56 strict", STRICT, json!([{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "ipv6Ranges": [{"cidrIpv6": "fd00::/56"}]}]), Compliance::NonCompliant, "broader than /64")]
    #[case::group_references_are_fine("group references are fine", DEFAULT, json!([{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "userIdGroupPairs": [{"groupId": "sg-0123abcd"}]}]), Compliance::Compliant, "no inbound")]
    #[case::adjacent_16s_form_a_15("adjacent /16s form a /15", DEFAULT, json!([tcp(5432, &["10.0.0.0/16", "10.1.0.0/16"])]), Compliance::NonCompliant, "open to private 10.0.0.0/15 from 10.0.0.0/16 + 10.1.0.0/16")]
    #[case::unaligned_16s_stay_two("unaligned /16s stay two", DEFAULT, json!([tcp(5432, &["10.1.0.0/16", "10.2.0.0/16"])]), Compliance::Compliant, "no inbound")]
    #[case::internet_with_min_8("internet with min /8", &[("check", "broad-private-ingress"), ("minPrefixLengthIpv4", "8"), ("minPrefixLengthIpv6", "7")], json!([tcp(22, &["0.0.0.0/0"])]), Compliance::Compliant, "no inbound private range broader than /8")]
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
        insta::assert_snapshot!(snapshot_name("broad_private_ingress", name), annotation);
    }

    /// The hand fix names every broad block on every segment: following it ends the finding.
    #[test]
    fn the_hand_fix_names_every_block() {
        let check = params(DEFAULT);
        let sg = group(
            &[],
            json!([tcp(5432, &["10.0.0.0/8"]), {"ipProtocol": "-1", "ipRanges": ["172.16.0.0/12"]}]),
            json!([]),
        );
        let crate::fix::Fix::Manual(why) = check.fix(&sg, &Facts::default()) else {
            panic!("no hand fix")
        };
        assert!(why.contains("10.0.0.0/8 on tcp/5432"), "{why}");
        assert!(why.contains("172.16.0.0/12 on all traffic"), "{why}");
    }
}
