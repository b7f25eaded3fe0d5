//! Arbitrary security groups through every check, its fix and the fix's application.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sg_compliance::checks::{Check, Facts};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(sg) = sg_compliance::model::from_config_item(&value, &Default::default()) else {
        return;
    };
    let checks = [
        vec![("check", "public-ingress")],
        vec![("check", "public-ingress"), ("blockedTcpPorts", "22,3389")],
        vec![
            ("check", "public-egress"),
            ("authorizedEgressTcpPorts", "443"),
        ],
        vec![("check", "broad-private-ingress")],
        vec![
            ("tierTagKey", "tier"),
            ("forbidPublicIngress", "true"),
            ("loadBalancerSecurityGroupIds", "sg-0abc1234"),
        ],
    ];
    for pairs in checks {
        let Ok(check) = Check::from_pairs(&pairs) else {
            continue;
        };
        let facts = Facts::default();
        let (verdict, fix) = check.judge(&sg, &facts);
        assert!((1..=256).contains(&verdict.annotation().chars().count()));
        if let sg_compliance::fix::Fix::Plan(plan) = fix {
            // Every offered plan applies exactly and ends the violation (Check::fix verified it).
            let after = sg_compliance::fix::apply(&sg, &plan.calls).expect("exact plan");
            assert_ne!(
                check.evaluate(&after, &facts).compliance(),
                sg_compliance::verdict::Compliance::NonCompliant
            );
        }
    }
});
