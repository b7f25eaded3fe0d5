//! The Terraform plan reader: groups of `resource_changes`, inline blocks, standalone rules joined
//! by id or by configuration references (modules, `count`, `for_each`), deletions, and values
//! known only after apply, element by element.

use super::super::{parse, Source};
use super::*;
use serde_json::json;

fn plan(v: Value) -> Plan {
    match parse(
        "plan.json",
        &serde_json::to_string_pretty(&v).unwrap(),
        &Default::default(),
    )
    .unwrap()
    {
        Source::Terraform(p) => p,
        other => panic!("not a plan: {other:?}"),
    }
}

fn change(
    address: &str,
    ty: &str,
    name: &str,
    actions: &[&str],
    after: Value,
    unknown: Value,
) -> Value {
    let module = address
        .rfind(&format!(".{ty}."))
        .map(|i| address[..i].to_string());
    let local = match &module {
        Some(m) => &address[m.len() + 1..],
        None => address,
    };
    let index: Option<Value> = local.find('[').map(|i| {
        let k = &local[i + 1..local.len() - 1];
        serde_json::from_str(k).unwrap_or(Value::String(k.to_string()))
    });
    let mut rc = json!({
        "address": address,
        "mode": "managed",
        "type": ty,
        "name": name,
        "change": {"actions": actions, "before": null, "after": after, "after_unknown": unknown}
    });
    if let Some(m) = module {
        rc["module_address"] = json!(m);
    }
    if let Some(i) = index {
        rc["index"] = i;
    }
    rc
}

fn block(cidrs: &[&str], from: i64, to: i64) -> Value {
    json!({"cidr_blocks": cidrs, "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": false, "from_port": from, "to_port": to, "protocol": "tcp", "description": ""})
}

fn the_plan() -> Plan {
    let mut deleted_ssh = change(
        "aws_security_group_rule.old_ssh",
        "aws_security_group_rule",
        "old_ssh",
        &["delete"],
        Value::Null,
        Value::Null,
    );
    deleted_ssh["change"]["before"] = json!({"type": "ingress", "security_group_id": "sg-0aaaaaaaaaaaaaaaa", "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"], "self": false});
    plan(json!({
        "format_version": "1.2",
        "terraform_version": "1.9.5",
        "resource_changes": [
            // Inline blocks; the second CIDR of the first block is known only after apply.
            change("aws_security_group.web", "aws_security_group", "web", &["create"],
                json!({"name": "web", "ingress": [block(&["0.0.0.0/0", "x"], 443, 443)], "egress": [], "tags": {"tier": "web"}}),
                json!({"id": true, "ingress": [{"cidr_blocks": [false, true]}], "egress": [], "tags": {}})),
            // No block configured: ingress and egress are computed, and empty here.
            change("aws_security_group.db[0]", "aws_security_group", "db", &["create"],
                json!({"name": "db", "tags": null}),
                json!({"id": true, "ingress": true, "egress": true})),
            change("module.net.aws_security_group.tier[\"app\"]", "aws_security_group", "tier", &["create"],
                json!({"name": "app", "tags": {"tier": "app"}}),
                json!({"id": true, "ingress": true, "egress": true})),
            // An existing group, refreshed: its attribute still lists the rule the plan deletes.
            change("aws_security_group.old", "aws_security_group", "old", &["update"],
                json!({"id": "sg-0aaaaaaaaaaaaaaaa", "name": "old", "ingress": [block(&["0.0.0.0/0"], 22, 22), block(&["10.0.0.0/8"], 80, 80)], "egress": []}),
                json!({})),
            change("aws_security_group.gone", "aws_security_group", "gone", &["delete"], Value::Null, Value::Null),
            // Joined through the configuration: count index.
            change("aws_security_group_rule.db_in[0]", "aws_security_group_rule", "db_in", &["create"],
                json!({"type": "ingress", "protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidr_blocks": null, "source_security_group_id": null, "self": false}),
                json!({"security_group_id": true, "source_security_group_id": true, "id": true})),
            // Module-relative, for_each key.
            change("module.net.aws_vpc_security_group_ingress_rule.app[\"app\"]", "aws_vpc_security_group_ingress_rule", "app", &["create"],
                json!({"ip_protocol": "tcp", "from_port": 8080, "to_port": 8080, "cidr_ipv4": "10.1.0.0/16"}),
                json!({"security_group_id": true, "id": true})),
            // Joined by a known id.
            change("aws_security_group_rule.old_rdp", "aws_security_group_rule", "old_rdp", &["create"],
                json!({"type": "ingress", "security_group_id": "sg-0aaaaaaaaaaaaaaaa", "protocol": "tcp", "from_port": 3389, "to_port": 3389, "cidr_blocks": ["0.0.0.0/0"], "self": false}),
                json!({"id": true})),
            // The same rule as the refreshed attribute lists: counted once.
            change("aws_security_group_rule.old_http", "aws_security_group_rule", "old_http", &["no-op"],
                json!({"type": "ingress", "security_group_id": "sg-0aaaaaaaaaaaaaaaa", "protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": ["10.0.0.0/8"], "self": false}),
                json!({})),
            // The rule the plan deletes.
            deleted_ssh,
            // A rule on a group of no one here: ignored.
            change("aws_security_group_rule.theirs", "aws_security_group_rule", "theirs", &["create"],
                json!({"type": "ingress", "security_group_id": "sg-0bbbbbbbbbbbbbbbb", "protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}),
                json!({})),
            change("aws_lb.front", "aws_lb", "front", &["create"], json!({"security_groups": null}), json!({"security_groups": true})),
        ],
        "configuration": {"root_module": {
            "resources": [
                {"address": "aws_security_group.web", "type": "aws_security_group", "name": "web", "expressions": {"ingress": {"constant_value": []}}},
                {"address": "aws_security_group.db", "type": "aws_security_group", "name": "db", "expressions": {"name": {"constant_value": "db"}}, "count_expression": {"constant_value": 1}},
                {"address": "aws_security_group_rule.db_in", "type": "aws_security_group_rule", "name": "db_in", "expressions": {
                    "security_group_id": {"references": ["aws_security_group.db[count.index].id", "aws_security_group.db", "count.index"]},
                    "source_security_group_id": {"references": ["module.net.app_group_id", "module.net"]}}},
                {"address": "aws_lb.front", "type": "aws_lb", "name": "front", "expressions": {"security_groups": {"references": ["aws_security_group.web.id", "aws_security_group.web"]}}}
            ],
            "module_calls": {"net": {"module": {
                "outputs": {"app_group_id": {"expression": {"references": ["aws_security_group.tier[\"app\"].id", "aws_security_group.tier[\"app\"]", "aws_security_group.tier"]}}},
                "resources": [
                    {"address": "aws_security_group.tier", "type": "aws_security_group", "name": "tier", "expressions": {"name": {"references": ["each.key"]}}, "for_each_expression": {"constant_value": {"app": 1}}},
                    {"address": "aws_vpc_security_group_ingress_rule.app", "type": "aws_vpc_security_group_ingress_rule", "name": "app", "expressions": {
                        "security_group_id": {"references": ["aws_security_group.tier[each.key].id", "aws_security_group.tier", "each.key"]}}}
                ]
            }}}
        }}
    }))
}

fn group<'a>(d: &'a Defined, id: &str) -> &'a Group {
    d.groups
        .iter()
        .find(|g| g.id == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

#[test]
fn groups_are_the_aws_security_group_changes_by_address() {
    let d = the_plan().groups().unwrap();
    let ids: Vec<&str> = d.groups.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "aws_security_group.web",
            "aws_security_group.db[0]",
            "module.net.aws_security_group.tier[\"app\"]",
            "aws_security_group.old",
            "aws_security_group.gone"
        ]
    );
    assert!(group(&d, "aws_security_group.gone").deleted);
    assert!(!group(&d, "aws_security_group.old").deleted);
    assert!(group(&d, "aws_security_group.web").line.is_some());
    // A rule on a group the plan does not define: no verdict, but said.
    assert!(
        d.notes.contains(&"plan.json: aws_security_group_rule.theirs adds a rule to sg-0bbbbbbbbbbbbbbbb, which this plan does not define: no verdict (audit sg-0bbbbbbbbbbbbbbbb itself, e.g. `sg-compliance audit --live`)".to_string()),
        "{:?}",
        d.notes
    );
}

#[test]
fn unknown_list_elements_stay_unknown_one_by_one() {
    let d = the_plan().groups().unwrap();
    let web = group(&d, "aws_security_group.web");
    let peers: Vec<&Peer> = web.ingress.iter().map(|r| &r.peer).collect();
    assert_eq!(peers[0], &Peer::Ipv4(Val::Known("0.0.0.0/0".into())));
    assert!(
        matches!(peers[1], Peer::Ipv4(Val::Unknown(w)) if w.contains("cidr_blocks known only after apply"))
    );
    // No egress block: none (Terraform removes AWS's default egress).
    assert!(web.egress.is_empty());
    assert_eq!(
        web.tags,
        vec![(Val::Known("tier".into()), Val::Known("web".into()))]
    );
    // The load balancer's groups, from its configuration references.
    assert!(web.load_balancer);
}

#[test]
fn standalone_rules_join_through_count_for_each_modules_and_outputs() {
    let d = the_plan().groups().unwrap();
    let db = group(&d, "aws_security_group.db[0]");

    assert!(db.egress.is_empty());
    assert_eq!(db.ingress.len(), 1);
    assert_eq!(db.ingress[0].from_port, Val::Known(Some(5432)));
    // Its source is the module's output: the app group of module.net.
    assert_eq!(
        db.ingress[0].peer,
        Peer::Group {
            group: GroupPeer::Defined("module.net.aws_security_group.tier[\"app\"]".into()),
            owner: None
        }
    );
    let app = group(&d, "module.net.aws_security_group.tier[\"app\"]");
    assert_eq!(app.ingress.len(), 1, "{:#?}", app.ingress);
    assert_eq!(
        app.ingress[0].peer,
        Peer::Ipv4(Val::Known("10.1.0.0/16".into()))
    );
}

#[test]
fn a_rule_the_plan_deletes_does_not_count() {
    let d = the_plan().groups().unwrap();
    let old = group(&d, "aws_security_group.old");
    let ports: Vec<Option<i64>> = old
        .ingress
        .iter()
        .map(|r| *r.from_port.known().unwrap())
        .collect();
    // 22 is deleted (though the refreshed attribute lists it), 80 counts once, 3389 is added by id.
    assert_eq!(ports, [Some(80), Some(3389)]);
}

#[test]
fn a_plan_without_changes_holds_no_groups() {
    let d = plan(json!({"format_version": "1.0", "planned_values": {}}))
        .groups()
        .unwrap();
    assert!(d.groups.is_empty());
}

#[test]
fn a_change_without_actions_names_its_field() {
    let err = plan(json!({"format_version": "1.2", "resource_changes": [{"address": "aws_security_group.x", "mode": "managed", "type": "aws_security_group", "name": "x", "change": {}}]}))
        .groups()
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "plan.json: resource_changes[0].change.actions: missing"
    );
}

#[test]
fn an_unknown_rule_set_is_empty_only_when_no_block_is_configured() {
    let rc = change(
        "aws_security_group.x",
        "aws_security_group",
        "x",
        &["create"],
        json!({}),
        json!({"ingress": true, "egress": true}),
    );
    let configured = |expressions: Value| {
        let d = plan(json!({"format_version": "1.2", "resource_changes": [rc.clone()], "configuration": {"root_module": {"resources": [
            {"address": "aws_security_group.x", "type": "aws_security_group", "name": "x", "expressions": expressions}]}}}))
        .groups()
        .unwrap();
        (d.groups[0].ingress.len(), d.groups[0].egress.len())
    };
    assert_eq!(configured(json!({"name": {"constant_value": "x"}})), (0, 0));
    // Dynamic blocks known only after apply: one rule that could be anything.
    assert_eq!(
        configured(json!({"ingress": [{"cidr_blocks": {"references": ["var.cidrs"]}}]})),
        (1, 0)
    );
    // Without a configuration nobody can tell.
    let d = plan(json!({"format_version": "1.2", "resource_changes": [rc]}))
        .groups()
        .unwrap();
    assert!(matches!(d.groups[0].ingress[0].peer, Peer::Unknown(_)));
}

#[test]
fn the_adopted_default_group_is_a_group_too() {
    let d = plan(json!({"format_version": "1.2", "resource_changes": [
        change("aws_default_security_group.default", "aws_default_security_group", "default", &["update"],
            json!({"id": "sg-0ddddddddddddddd0", "ingress": [block(&["0.0.0.0/0"], 22, 22)], "egress": []}), json!({}))
    ]}))
    .groups()
    .unwrap();
    assert_eq!(d.groups[0].id, "aws_default_security_group.default");
    assert_eq!(
        d.groups[0].ingress[0].peer,
        Peer::Ipv4(Val::Known("0.0.0.0/0".into()))
    );
}
