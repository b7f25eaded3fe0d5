//! `public-egress`: outbound traffic to the whole internet (as the union of destinations) on a
//! tcp/udp port outside the authorized lists, or all traffic.
//!
//! Why: unrestricted egress is how data leaves and how malware calls home. Every group's default
//! egress rule (all traffic to 0.0.0.0/0) is NON_COMPLIANT with the default (empty) lists.

use super::{describe_ports, public_findings, Facts, Needs, Rule};
use crate::exposure::{Exposure, PortPolicy};
use crate::fix::{narrow, plan_of, Direction, Fix, Violation};
use crate::model::SecurityGroup;
use crate::params::{ParamError, ParamSpec, Params};
use crate::ports::PortSet;
use crate::verdict::{Judgement, Verdict};

/// `check=public-egress`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicEgress {
    pub tcp: PortSet,
    pub udp: PortSet,
}

impl Rule for PublicEgress {
    const NAME: &'static str = "public-egress";
    const SUMMARY: &'static str = "Outbound traffic reaches the whole internet on a tcp/udp port outside the authorized egress ports, or all traffic does.";
    const PARAMETERS: &'static [ParamSpec] = &[
        ParamSpec::optional("authorizedEgressTcpPorts", None),
        ParamSpec::optional("authorizedEgressUdpPorts", None),
    ];
    const READS_EGRESS: bool = true;

    fn parse(p: &Params<'_>) -> Result<Self, ParamError> {
        Ok(PublicEgress {
            tcp: p.ports("authorizedEgressTcpPorts")?,
            udp: p.ports("authorizedEgressUdpPorts")?,
        })
    }

    fn needs(&self, groups: &[&SecurityGroup]) -> Needs {
        Needs::prefix_lists_of(groups)
    }

    fn evaluate(&self, sg: &SecurityGroup, facts: &Facts) -> Verdict {
        let exposure = Exposure::of(&sg.egress, &facts.prefix_lists);
        let policy = PortPolicy::Allow {
            tcp: &self.tcp,
            udp: &self.udp,
        };
        Verdict::judge(Judgement {
            findings: public_findings(exposure.public(policy), "to"),
            headline: "egress to the internet on unauthorized ports".to_string(),
            compliant: format!(
                "no egress to the internet outside authorized ports ({})",
                describe_ports(&self.tcp, &self.udp)
            ),
            unresolved: exposure.unresolved().to_vec(),
        })
    }

    /// Revokes wide public destinations on the reported ports, re-authorizing the rest of each
    /// touched rule (`-1` to 0.0.0.0/0 with 443 authorized becomes tcp/443 and icmp: unsafe).
    fn fix(&self, sg: &SecurityGroup, facts: &Facts, keep_lossy: bool) -> Fix {
        let exposure = Exposure::of(&sg.egress, &facts.prefix_lists);
        let mut violation = Violation::default();
        violation.add_public(
            &exposure.public_all(PortPolicy::Allow {
                tcp: &self.tcp,
                udp: &self.udp,
            }),
            false,
        );
        let n = narrow(&sg.egress, &violation, keep_lossy);
        let note = n.unsafe_note();
        match plan_of(Direction::Egress, n.authorize, n.revoke, note) {
            Some(plan) => Fix::Plan(plan),
            None => Fix::Manual("no wide public destination to revoke: the internet is reached through prefix lists or narrow destinations; edit them by hand".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_verdict, group, params, snapshot_name};
    use super::super::Facts;
    use crate::verdict::Compliance;
    use rstest::rstest;
    use serde_json::{json, Value};

    const NONE: &[(&str, &str)] = &[("check", "public-egress")];
    const HTTPS: &[(&str, &str)] = &[
        ("check", "public-egress"),
        ("authorizedEgressTcpPorts", "443"),
        ("authorizedEgressUdpPorts", "53,123"),
    ];

    fn tcp(from: i64, to: i64, v4: &[&str]) -> Value {
        json!({"ipProtocol": "tcp", "fromPort": from, "toPort": to, "ipRanges": v4})
    }

    #[rstest]
    #[case::default_egress("default egress", NONE, json!([{"ipProtocol": "-1", "ipRanges": ["0.0.0.0/0"]}]), Compliance::NonCompliant, "egress to the internet on unauthorized ports: all traffic to 0.0.0.0/0")]
    #[case::no_egress("no egress", NONE, json!([]), Compliance::Compliant, "no egress")]
    #[case::vpc_only("vpc only", NONE, json!([{"ipProtocol": "-1", "ipRanges": ["10.0.0.0/16"]}]), Compliance::Compliant, "no egress")]
    #[case::https_allowed("https allowed", HTTPS, json!([tcp(443, 443, &["0.0.0.0/0"]), {"ipProtocol": "udp", "fromPort": 53, "toPort": 53, "ipRanges": ["0.0.0.0/0"]}]), Compliance::Compliant, "tcp 443, udp 53,123")]
    #[case::http_not_allowed("http not allowed", HTTPS, json!([tcp(80, 80, &["0.0.0.0/0"])]), Compliance::NonCompliant, "tcp/80 to 0.0.0.0/0")]
    #[case::split_v6("split v6", HTTPS, json!([{"ipProtocol": "tcp", "fromPort": 25, "toPort": 25, "ipv6Ranges": [{"cidrIpv6": "2000::/4"}]}, {"ipProtocol": "-1", "ipv6Ranges": [{"cidrIpv6": "3000::/4"}]}]), Compliance::NonCompliant, "tcp/25 to 2000::/4 + 3000::/4 (= every public IPv6 address)")]
    fn table(
        #[case] name: &str,
        #[case] p: &[(&str, &str)],
        #[case] egress: Value,
        #[case] want: Compliance,
        #[case] needle: &str,
    ) {
        let annotation = assert_verdict(
            &params(p),
            &group(&[], json!([]), egress),
            &Facts::default(),
            want,
            needle,
        );
        insta::assert_snapshot!(snapshot_name("public_egress", name), annotation);
    }
}
