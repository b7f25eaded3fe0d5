//! Terraform plans (`terraform show -json PLANFILE`, format_version 1.x): the `aws_security_group`
//! entries of `resource_changes`, judged on `change.after` (a deleted group is NOT_APPLICABLE),
//! with their inline `ingress` / `egress` blocks (Terraform removes AWS's default egress: no block,
//! no egress) and the standalone `aws_security_group_rule`, `aws_vpc_security_group_ingress_rule`
//! and `aws_vpc_security_group_egress_rule` entries, joined by a known `security_group_id`, else
//! through the `configuration` expression references (module-relative, with `count` / `for_each`
//! keys). A rule the plan deletes does not count, even where the group's refreshed attribute still
//! lists it. A value known only after apply (`after_unknown`) is unknown, element by element.

use serde_json::Value;

use super::{Defined, Group, GroupPeer, Peer, Rule, TemplateError, Val};

/// The group resource types: a group, and the VPC's default group that Terraform adopts (whose
/// rules it also sets: no block, no rule).
const GROUPS: [&str; 2] = ["aws_security_group", "aws_default_security_group"];
const RULE: &str = "aws_security_group_rule";
const VPC_INGRESS: &str = "aws_vpc_security_group_ingress_rule";
const VPC_EGRESS: &str = "aws_vpc_security_group_egress_rule";
const LOAD_BALANCERS: [&str; 3] = ["aws_lb", "aws_alb", "aws_elb"];

/// The plan's groups by address (their place in the list) and by the ids they are known by
/// (before and after): every join looks a group up here once.
#[derive(Default)]
struct Index {
    positions: std::collections::HashMap<String, usize>,
    ids: std::collections::HashMap<String, String>,
}

impl Index {
    fn has(&self, address: &str) -> bool {
        self.positions.contains_key(address)
    }

    /// The address of the group of this plan with this id.
    fn by_id(&self, id: &str) -> Option<String> {
        self.ids.get(id).cloned()
    }
}

/// A parsed plan.
#[derive(Debug)]
pub struct Plan {
    path: String,
    /// The line of each `"address": "…"`, the first time it appears.
    lines: std::collections::HashMap<String, usize>,
    value: Value,
}

/// One resource change of interest.
struct Change<'a> {
    address: &'a str,
    module: Option<&'a str>,
    ty: &'a str,
    name: &'a str,
    index: Option<&'a Value>,
    actions: Vec<&'a str>,
    before: &'a Value,
    after: &'a Value,
    unknown: &'a Value,
}

impl Change<'_> {
    fn deletes(&self) -> bool {
        self.actions.contains(&"delete")
    }
    fn only_deletes(&self) -> bool {
        self.actions == ["delete"]
    }
}

impl Plan {
    pub fn new(path: &str, text: &str, value: Value) -> Result<Plan, TemplateError> {
        let version = value
            .get("format_version")
            .and_then(Value::as_str)
            .unwrap_or("");
        // 1.x since Terraform 1.1; 0.1 and 0.2 (Terraform 0.12 to 1.0) have the same fields.
        if !(version.starts_with("1.") || version.starts_with("0.") || version == "1") {
            return Err(TemplateError::Version {
                path: path.to_string(),
                version: if version.is_empty() {
                    value
                        .get("format_version")
                        .map(|v| v.to_string())
                        .unwrap_or_default()
                } else {
                    version.to_string()
                },
            });
        }
        if let Some(rc) = value.get("resource_changes") {
            if !rc.is_array() {
                return Err(TemplateError::Invalid {
                    path: path.to_string(),
                    field: "resource_changes".into(),
                    reason: "expected a list".into(),
                });
            }
        }
        Ok(Plan {
            path: path.to_string(),
            lines: address_lines(text),
            value,
        })
    }

    fn changes(&self) -> Result<Vec<Change<'_>>, TemplateError> {
        let mut out = Vec::new();
        let list = self
            .value
            .get("resource_changes")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (i, rc) in list.iter().enumerate() {
            if rc.get("mode").and_then(Value::as_str).unwrap_or("managed") != "managed" {
                continue;
            }
            let ty = rc.get("type").and_then(Value::as_str).unwrap_or("");
            if !GROUPS.contains(&ty)
                && ![RULE, VPC_INGRESS, VPC_EGRESS].contains(&ty)
                && !LOAD_BALANCERS.contains(&ty)
            {
                continue;
            }
            let field = |f: &str| format!("resource_changes[{i}].{f}");
            let address = rc
                .get("address")
                .and_then(Value::as_str)
                .ok_or_else(|| self.invalid(field("address"), "missing"))?;
            let change = rc
                .get("change")
                .ok_or_else(|| self.invalid(field("change"), "missing"))?;
            let actions: Vec<&str> = change
                .get("actions")
                .and_then(Value::as_array)
                .ok_or_else(|| self.invalid(field("change.actions"), "missing"))?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            out.push(Change {
                address,
                module: rc.get("module_address").and_then(Value::as_str),
                ty,
                name: rc.get("name").and_then(Value::as_str).unwrap_or(""),
                index: rc.get("index"),
                actions,
                before: change.get("before").unwrap_or(&Value::Null),
                after: change.get("after").unwrap_or(&Value::Null),
                unknown: change.get("after_unknown").unwrap_or(&Value::Null),
            });
        }
        Ok(out)
    }

    fn format_version(&self) -> &str {
        self.value
            .get("format_version")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Whether the plan's configuration shows inline blocks (Terraform 1.1 and later, plan
    /// format 1.x; hashicorp/terraform#29522).
    fn shows_blocks(&self) -> bool {
        !self.format_version().starts_with("0.")
    }

    fn invalid(&self, field: String, reason: &str) -> TemplateError {
        TemplateError::Invalid {
            path: self.path.clone(),
            field,
            reason: reason.to_string(),
        }
    }

    pub fn groups(&self) -> Result<Defined, TemplateError> {
        let changes = self.changes()?;
        let mut out = Defined::default();
        let mut groups: Vec<Group> = Vec::new();
        let mut index = Index::default();
        let targets = self.standalone_targets(&changes);
        for c in changes.iter().filter(|c| GROUPS.contains(&c.ty)) {
            let ids: Vec<String> = [c.after, c.before]
                .iter()
                .filter_map(|v| v.get("id").and_then(Value::as_str))
                .map(str::to_string)
                .collect();
            let mut g = Group {
                id: c.address.to_string(),
                line: self.lines.get(c.address).copied(),
                deleted: c.only_deletes(),
                name: c
                    .after
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                vpc_id: c
                    .after
                    .get("vpc_id")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                tags: Vec::new(),
                ingress: Vec::new(),
                egress: Vec::new(),
                load_balancer: false,
                conditions: Vec::new(),
            };
            if !g.deleted {
                g.tags = tags(c);
                for (key, ingress) in [("ingress", true), ("egress", false)] {
                    // Whether a standalone rule of this direction names the group (by an id, its
                    // address, or its address without the index).
                    let base = c
                        .address
                        .rsplit_once('[')
                        .filter(|(_, tail)| tail.ends_with(']'))
                        .map_or(c.address, |(head, _)| head);
                    let standalone = ids
                        .iter()
                        .map(String::as_str)
                        .chain([c.address, base])
                        .any(|k| targets.contains(&(k.to_string(), ingress)));
                    // A group whose blocks cannot be read gets the error, not a verdict.
                    match self.inline_rules(c, key, standalone) {
                        Ok(rules) if ingress => g.ingress = rules,
                        Ok(rules) => g.egress = rules,
                        Err(e) => out.errors.push((Some(g.id.clone()), e)),
                    }
                }
            }
            index.positions.insert(g.id.clone(), groups.len());
            for id in ids {
                index.ids.insert(id, g.id.clone());
            }
            groups.push(g);
        }
        // Rules the plan deletes leave the groups' refreshed attributes.
        for c in changes.iter().filter(|c| c.deletes() && is_rule(c.ty)) {
            let Some(id) = c.before.get("security_group_id").and_then(Value::as_str) else {
                continue;
            };
            let Some(address) = index.by_id(id) else {
                continue;
            };
            let Some(g) = index.positions.get(&address).map(|i| &mut groups[*i]) else {
                continue;
            };
            let gone = match self.rule_values(c, c.before, &Value::Null, None) {
                Ok(gone) => gone,
                Err(e) => {
                    out.errors.push((Some(address), e));
                    continue;
                }
            };
            for (ingress, r) in gone {
                let list = if ingress {
                    &mut g.ingress
                } else {
                    &mut g.egress
                };
                list.retain(|kept| !same_rule(kept, &r));
            }
        }
        for c in changes
            .iter()
            .filter(|c| !c.only_deletes() && is_rule(c.ty))
        {
            let target = match c.after.get("security_group_id").and_then(Value::as_str) {
                Some(id) => {
                    let found = index.by_id(id);
                    if found.is_none() {
                        // Known, but no group of this plan has it: a group defined elsewhere.
                        out.notes.push(format!(
                            "{}: {} adds a rule to {id}, which this plan does not define: no verdict (audit {id} itself, e.g. `sg-compliance audit --live`)",
                            self.path, c.address
                        ));
                    }
                    found
                }
                None if unknown_at(c.unknown, "security_group_id") => {
                    let found = self.referenced_group(c, "security_group_id", &index);
                    if found.is_none() {
                        out.notes.push(format!(
                            "{}: {} joins no group: its security_group_id is known only after apply and its configuration references no aws_security_group of this plan",
                            self.path, c.address
                        ));
                    }
                    found
                }
                None => None,
            };
            let Some(address) = target else { continue };
            let rules = match self.rule_values(c, c.after, c.unknown, Some((&address, &index))) {
                Ok(rules) => rules,
                Err(e) => {
                    out.errors.push((Some(address), e));
                    continue;
                }
            };
            if let Some(g) = index.positions.get(&address).map(|i| &mut groups[*i]) {
                if g.deleted {
                    continue;
                }
                for (ingress, r) in rules {
                    let list = if ingress {
                        &mut g.ingress
                    } else {
                        &mut g.egress
                    };
                    if !list.iter().any(|k| same_rule(k, &r)) {
                        list.push(r);
                    }
                }
            }
        }
        // Groups of load balancers.
        for c in changes
            .iter()
            .filter(|c| LOAD_BALANCERS.contains(&c.ty) && !c.only_deletes())
        {
            let ids: Vec<&str> = c
                .after
                .get("security_groups")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut marked: Vec<String> = Vec::new();
            for id in ids {
                match index.by_id(id) {
                    Some(a) => marked.push(a),
                    None => out.external_load_balancer_groups.push(id.to_string()),
                }
            }
            if unknown_at(c.unknown, "security_groups") || marked.is_empty() {
                marked.extend(self.all_references(c, "security_groups", &index));
            }
            for g in &mut groups {
                if marked.contains(&g.id) {
                    g.load_balancer = true;
                }
            }
        }
        // Resolve peers named by a known id of a group of this plan.
        for g in &mut groups {
            for r in g.ingress.iter_mut().chain(g.egress.iter_mut()) {
                if let Peer::Group {
                    group: GroupPeer::External(id),
                    ..
                } = &r.peer
                {
                    if let Some(address) = index.by_id(id) {
                        r.peer = Peer::Group {
                            group: GroupPeer::Defined(address),
                            owner: None,
                        };
                    }
                }
            }
        }
        let failed: std::collections::BTreeSet<String> =
            out.errors.iter().filter_map(|(g, _)| g.clone()).collect();
        out.groups = groups
            .into_iter()
            .filter(|g| !failed.contains(&g.id))
            .collect();
        Ok(out)
    }

    /// The inline `ingress` / `egress` blocks of a group.
    fn inline_rules(
        &self,
        c: &Change,
        key: &str,
        standalone: bool,
    ) -> Result<Vec<Rule>, TemplateError> {
        let at = format!("{}: {key}", c.address);
        if is_true(c.unknown.get(key)) {
            // Wholly unknown: either computed (no block configured: the group's rules are what
            // standalone rules add, and AWS's default egress is removed, so none here) or
            // configured with values known only after apply. The configuration tells, where it
            // shows blocks: Terraform before 1.1 (plan format 0.x) leaves inline blocks out of
            // it (hashicorp/terraform#29022); there a standalone rule of that direction says the
            // group's rules are kept apart.
            let expressions = self.config_of(c).and_then(|r| r.get("expressions"));
            let configured = expressions.is_some_and(|e| e.get(key).is_some());
            if !configured && (self.shows_blocks() && expressions.is_some() || standalone) {
                return Ok(Vec::new());
            }
            let why = if configured || self.shows_blocks() {
                format!("{at}: known only after apply")
            } else {
                format!(
                    "{at}: known only after apply, and this plan (format {}) does not show whether blocks are configured (Terraform before 1.1 leaves them out)",
                    self.format_version()
                )
            };
            return Ok(vec![all_unknown(&at, &why)]);
        }
        let blocks = c
            .after
            .get(key)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let masks = c.unknown.get(key);
        let mut out = Vec::new();
        for (i, b) in blocks.iter().enumerate() {
            let mask = masks.and_then(|m| m.get(i)).unwrap_or(&Value::Null);
            let here = format!("{at}[{i}]");
            if is_true(Some(mask)) {
                out.push(all_unknown(
                    &here,
                    &format!("{here}: known only after apply"),
                ));
                continue;
            }
            let protocol = text_field(b, mask, "protocol", &here)?;
            let from_port = port_field(b, mask, "from_port", &here);
            let to_port = port_field(b, mask, "to_port", &here);
            let description = description_of(b);
            let mut peers = list_peers(b, mask, &here);
            for v in list_field(b, mask, "security_groups", &here) {
                let group = match v {
                    Val::Known(id) => GroupPeer::External(id),
                    Val::Unknown(why) => {
                        // The configuration's references, when they name one group.
                        let refs = self.all_references_of_block(c, key);
                        match refs.as_slice() {
                            [one] => GroupPeer::Defined(one.clone()),
                            _ => GroupPeer::Unknown(why),
                        }
                    }
                };
                peers.push(Peer::Group { group, owner: None });
            }
            // `self` (true, or known only after apply): the group itself, never the internet.
            if b.get("self").and_then(Value::as_bool) == Some(true) || is_true(mask.get("self")) {
                peers.push(Peer::Group {
                    group: GroupPeer::Defined(c.address.to_string()),
                    owner: None,
                });
            }
            for peer in peers {
                out.push(Rule {
                    at: here.clone(),
                    protocol: protocol.clone(),
                    from_port: from_port.clone(),
                    to_port: to_port.clone(),
                    peer,
                    description: description.clone(),
                });
            }
        }
        Ok(out)
    }

    /// The rules of a standalone rule resource, with whether each is inbound.
    fn rule_values(
        &self,
        c: &Change,
        v: &Value,
        mask: &Value,
        own: Option<(&String, &Index)>,
    ) -> Result<Vec<(bool, Rule)>, TemplateError> {
        let at = c.address.to_string();
        let (ingress, protocol_key) = match c.ty {
            RULE => {
                let ty = v.get("type").and_then(Value::as_str).unwrap_or("");
                match ty {
                    "ingress" => (true, "protocol"),
                    "egress" => (false, "protocol"),
                    _ if is_true(mask.get("type")) => (true, "protocol"),
                    other => {
                        return Err(self.invalid(
                            format!("{at}: type"),
                            &format!("`{other}` is not ingress or egress"),
                        ))
                    }
                }
            }
            VPC_INGRESS => (true, "ip_protocol"),
            _ => (false, "ip_protocol"),
        };
        let protocol = text_field(v, mask, protocol_key, &at)?;
        let from_port = port_field(v, mask, "from_port", &at);
        let to_port = port_field(v, mask, "to_port", &at);
        let description = description_of(v);
        let mut peers = Vec::new();
        if c.ty == RULE {
            peers = list_peers(v, mask, &at);
            if v.get("self").and_then(Value::as_bool) == Some(true) {
                if let Some((own, _)) = own {
                    peers.push(Peer::Group {
                        group: GroupPeer::Defined(own.clone()),
                        owner: None,
                    });
                }
            }
            if let Some(p) = self.group_peer(c, v, mask, "source_security_group_id", own) {
                peers.push(p);
            }
        } else {
            for (key, v6) in [("cidr_ipv4", false), ("cidr_ipv6", true)] {
                if let Some(val) = opt_text(v, mask, key, &at) {
                    peers.push(if v6 { Peer::Ipv6(val) } else { Peer::Ipv4(val) });
                }
            }
            if let Some(val) = opt_text(v, mask, "prefix_list_id", &at) {
                peers.push(Peer::PrefixList(val));
            }
            if let Some(p) = self.group_peer(c, v, mask, "referenced_security_group_id", own) {
                peers.push(p);
            }
        }
        Ok(peers
            .into_iter()
            .map(|peer| {
                (
                    ingress,
                    Rule {
                        at: at.clone(),
                        protocol: protocol.clone(),
                        from_port: from_port.clone(),
                        to_port: to_port.clone(),
                        peer,
                        description: description.clone(),
                    },
                )
            })
            .collect())
    }

    fn group_peer(
        &self,
        c: &Change,
        v: &Value,
        mask: &Value,
        key: &str,
        own: Option<(&String, &Index)>,
    ) -> Option<Peer> {
        let group = match v.get(key).and_then(Value::as_str) {
            Some(id) => GroupPeer::External(id.to_string()),
            None if is_true(mask.get(key)) => {
                let none = Index::default();
                let index = own.map_or(&none, |(_, index)| index);
                match self.referenced_group(c, key, index) {
                    Some(a) => GroupPeer::Defined(a),
                    None => {
                        GroupPeer::Unknown(format!("{}: {key} known only after apply", c.address))
                    }
                }
            }
            None => return None,
        };
        Some(Peer::Group { group, owner: None })
    }

    /// What the standalone rules (not deleted) name as their group, with their direction: a known
    /// id, or the address their configuration references (without an index). One pass.
    fn standalone_targets(&self, changes: &[Change]) -> std::collections::HashSet<(String, bool)> {
        let mut out = std::collections::HashSet::new();
        for r in changes
            .iter()
            .filter(|r| is_rule(r.ty) && !r.only_deletes())
        {
            let ingress = match r.ty {
                RULE => r.after.get("type").and_then(Value::as_str) == Some("ingress"),
                VPC_INGRESS => true,
                _ => false,
            };
            match r.after.get("security_group_id").and_then(Value::as_str) {
                Some(id) => {
                    out.insert((id.to_string(), ingress));
                }
                None => {
                    for (base, _, _) in self
                        .expression_references(r, "security_group_id")
                        .iter()
                        .filter_map(|x| parse_reference(x))
                    {
                        let full = match r.module {
                            Some(m) => format!("{m}.{base}"),
                            None => base,
                        };
                        out.insert((full, ingress));
                    }
                }
            }
        }
        out
    }

    /// The configuration block of a change's resource.
    fn config_of(&self, c: &Change) -> Option<&Value> {
        let mut module = self.value.get("configuration")?.get("root_module")?;
        if let Some(m) = c.module {
            for seg in split_module(m) {
                module = module.get("module_calls")?.get(&seg)?.get("module")?;
            }
        }
        let local = format!("{}.{}", c.ty, c.name);
        module
            .get("resources")?
            .as_array()?
            .iter()
            .find(|r| r.get("address").and_then(Value::as_str) == Some(local.as_str()))
    }

    /// The group an attribute's expression references, resolved to an address of this plan.
    fn referenced_group(&self, c: &Change, key: &str, index: &Index) -> Option<String> {
        let refs = self
            .config_of(c)?
            .get("expressions")?
            .get(key)?
            .get("references")?
            .as_array()?;
        let refs: Vec<&str> = refs.iter().filter_map(Value::as_str).collect();
        resolve_reference(&refs, c, index)
            .or_else(|| self.through_module_output(&refs, c.module, index))
    }

    /// `module.NAME.OUTPUT`: the group the module's output expression references, in any
    /// instance of the module when exactly one has it.
    fn through_module_output(
        &self,
        refs: &[&str],
        module: Option<&str>,
        index: &Index,
    ) -> Option<String> {
        let mut config = self.value.get("configuration")?.get("root_module")?;
        if let Some(m) = module {
            for seg in split_module(m) {
                config = config.get("module_calls")?.get(&seg)?.get("module")?;
            }
        }
        for r in refs {
            let Some(rest) = r.strip_prefix("module.") else {
                continue;
            };
            let mut parts = rest.splitn(2, '.');
            let (Some(name), Some(output)) = (parts.next(), parts.next()) else {
                continue;
            };
            let name = name.split('[').next().unwrap_or(name);
            let output = output.split(['.', '[']).next().unwrap_or(output);
            let inner = config.get("module_calls")?.get(name)?.get("module")?;
            let Some(out_refs) = inner
                .get("outputs")
                .and_then(|o| o.get(output))
                .and_then(|o| o.get("expression"))
                .and_then(|e| e.get("references"))
                .and_then(Value::as_array)
            else {
                continue;
            };
            let prefix = match module {
                Some(m) => format!("{m}.module.{name}"),
                None => format!("module.{name}"),
            };
            for o in out_refs.iter().filter_map(Value::as_str) {
                let Some((base, key, _)) = parse_reference(o) else {
                    continue;
                };
                let tail = format!(".{base}{}", key.unwrap_or_default());
                let found: Vec<&String> = index
                    .positions
                    .keys()
                    .filter(|id| {
                        id.strip_prefix(&prefix).is_some_and(|rest| {
                            rest.ends_with(&tail) && {
                                let middle = &rest[..rest.len() - tail.len()];
                                middle.is_empty()
                                    || (middle.starts_with('[') && middle.ends_with(']'))
                            }
                        })
                    })
                    .collect();
                if let [one] = found.as_slice() {
                    return Some((*one).clone());
                }
            }
        }
        None
    }

    /// Every reference anywhere in an attribute's configuration expression (blocks included).
    fn expression_references(&self, c: &Change, key: &str) -> Vec<String> {
        let mut refs = Vec::new();
        if let Some(expr) = self
            .config_of(c)
            .and_then(|r| r.get("expressions"))
            .and_then(|e| e.get(key))
        {
            collect_references(expr, &mut refs);
        }
        refs
    }

    /// Every group an attribute's expression references (a list of groups).
    fn all_references(&self, c: &Change, key: &str, index: &Index) -> Vec<String> {
        let refs = self.expression_references(c, key);
        let mut out: Vec<String> = Vec::new();
        for r in &refs {
            if let Some(a) = resolve_reference(&[r.as_str()], c, index) {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
        out
    }

    /// The distinct groups referenced anywhere in a group's inline `key` blocks' configuration.
    fn all_references_of_block(&self, c: &Change, key: &str) -> Vec<String> {
        let refs = self.expression_references(c, key);
        let mut out: Vec<String> = Vec::new();
        for r in refs {
            if let Some((base, _, _)) = parse_reference(&r) {
                let full = match c.module {
                    Some(m) => format!("{m}.{base}"),
                    None => base,
                };
                if !out.contains(&full) {
                    out.push(full);
                }
            }
        }
        out
    }
}

/// The line of each `"address": "…"` in the plan's text, the first time it appears: one pass.
fn address_lines(text: &str) -> std::collections::HashMap<String, usize> {
    const KEY: &str = "\"address\"";
    let mut out = std::collections::HashMap::new();
    let (mut line, mut counted) = (1, 0);
    let mut from = 0;
    while let Some(pos) = text[from..].find(KEY) {
        let at = from + pos;
        from = at + KEY.len();
        let rest = text[from..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let rest = rest.trim_start();
        if !rest.starts_with('"') {
            continue;
        }
        let mut de = serde_json::Deserializer::from_str(rest);
        let Ok(address) = <String as serde::Deserialize>::deserialize(&mut de) else {
            continue;
        };
        line += text[counted..at].matches('\n').count();
        counted = at;
        out.entry(address).or_insert(line);
    }
    out
}

fn is_rule(ty: &str) -> bool {
    [RULE, VPC_INGRESS, VPC_EGRESS].contains(&ty)
}

/// `module.a[0].module.b` → `["a", "b"]`.
fn split_module(m: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = m;
    while let Some(r) = rest.strip_prefix("module.") {
        let end = r.find(['.', '[']).unwrap_or(r.len());
        out.push(r[..end].to_string());
        let mut after = &r[end..];
        if after.starts_with('[') {
            // Skip the index, which may contain dots inside quotes.
            let close = after.find("].").map(|p| p + 1).unwrap_or(after.len());
            after = &after[close..];
        }
        rest = after.strip_prefix('.').unwrap_or(after);
    }
    out
}

/// `aws_security_group.NAME[KEY].ATTR` → (`aws_security_group.NAME`, `[KEY]`, `ATTR`) (also of
/// `aws_default_security_group`).
fn parse_reference(r: &str) -> Option<(String, Option<String>, Option<String>)> {
    let (ty, rest) = GROUPS.iter().find_map(|ty| {
        r.strip_prefix(ty)
            .and_then(|rest| rest.strip_prefix('.'))
            .map(|rest| (*ty, rest))
    })?;
    let end = rest.find(['.', '[']).unwrap_or(rest.len());
    let name = &rest[..end];
    if name.is_empty() {
        return None;
    }
    let mut tail = &rest[end..];
    let mut key = None;
    if tail.starts_with('[') {
        let close = tail.find(']')?;
        key = Some(tail[..=close].to_string());
        tail = &tail[close + 1..];
    }
    let attr = tail.strip_prefix('.').map(str::to_string);
    Some((format!("{ty}.{name}"), key, attr))
}

fn resolve_reference(refs: &[&str], c: &Change, index: &Index) -> Option<String> {
    resolve_in(refs, c.module, c.index, index)
}

fn resolve_in(
    refs: &[&str],
    module: Option<&str>,
    own_index: Option<&Value>,
    groups: &Index,
) -> Option<String> {
    let own_key = own_index.map(|i| match i {
        Value::String(s) => format!("[{}]", serde_json::to_string(s).unwrap_or_default()),
        other => format!("[{other}]"),
    });
    let repeats = refs
        .iter()
        .any(|r| r.starts_with("each.") || r.starts_with("count.index"));
    // The most specific reference first (with a key, then with an attribute).
    let mut parsed: Vec<(String, Option<String>, Option<String>)> =
        refs.iter().filter_map(|r| parse_reference(r)).collect();
    parsed.sort_by_key(|(_, k, a)| (k.is_none(), a.is_none()));
    for (base, key, attr) in parsed {
        if attr.as_deref().is_some_and(|a| a != "id") {
            continue;
        }
        let prefix = module.map(|m| format!("{m}.")).unwrap_or_default();
        let candidates: Vec<String> = match (&key, repeats, &own_key) {
            (Some(k), _, _) => vec![format!("{prefix}{base}{k}")],
            (None, true, Some(k)) => vec![format!("{prefix}{base}{k}"), format!("{prefix}{base}")],
            _ => vec![format!("{prefix}{base}")],
        };
        for cand in candidates {
            if groups.has(&cand) {
                return Some(cand);
            }
        }
    }
    None
}

fn collect_references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Array(refs)) = o.get("references") {
                out.extend(refs.iter().filter_map(Value::as_str).map(str::to_string));
            }
            for (k, v) in o {
                if k != "references" {
                    collect_references(v, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}

fn is_true(v: Option<&Value>) -> bool {
    v == Some(&Value::Bool(true))
}

fn unknown_at(mask: &Value, key: &str) -> bool {
    is_true(mask.get(key))
}

fn all_unknown(at: &str, why: &str) -> Rule {
    Rule {
        at: at.to_string(),
        protocol: Val::Unknown(why.to_string()),
        from_port: Val::Unknown(why.to_string()),
        to_port: Val::Unknown(why.to_string()),
        peer: Peer::Unknown(why.to_string()),
        description: None,
    }
}

fn text_field(v: &Value, mask: &Value, key: &str, at: &str) -> Result<Val<String>, TemplateError> {
    if is_true(mask.get(key)) {
        return Ok(Val::Unknown(format!("{at}: {key} known only after apply")));
    }
    Ok(match v.get(key) {
        Some(Value::String(s)) => Val::Known(s.clone()),
        Some(Value::Number(n)) => Val::Known(n.to_string()),
        _ => Val::Unknown(format!("{at}: {key} not set")),
    })
}

fn opt_text(v: &Value, mask: &Value, key: &str, at: &str) -> Option<Val<String>> {
    if is_true(mask.get(key)) {
        return Some(Val::Unknown(format!("{at}: {key} known only after apply")));
    }
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| Val::Known(s.to_string()))
}

fn port_field(v: &Value, mask: &Value, key: &str, at: &str) -> Val<Option<i64>> {
    if is_true(mask.get(key)) {
        return Val::Unknown(format!("{at}: {key} known only after apply"));
    }
    match v.get(key) {
        Some(Value::Number(n)) => Val::Known(n.as_i64()),
        Some(Value::String(s)) => Val::Known(s.trim().parse().ok()),
        _ => Val::Known(None),
    }
}

/// The CIDR and prefix-list peers of an inline block or an `aws_security_group_rule`.
fn list_peers(v: &Value, mask: &Value, at: &str) -> Vec<Peer> {
    let mut peers: Vec<Peer> = list_field(v, mask, "cidr_blocks", at)
        .into_iter()
        .map(Peer::Ipv4)
        .collect();
    peers.extend(
        list_field(v, mask, "ipv6_cidr_blocks", at)
            .into_iter()
            .map(Peer::Ipv6),
    );
    peers.extend(
        list_field(v, mask, "prefix_list_ids", at)
            .into_iter()
            .map(Peer::PrefixList),
    );
    peers
}

fn description_of(v: &Value) -> Option<String> {
    v.get("description")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
}

/// A list attribute, element by element: an unknown list is one unknown element.
fn list_field(v: &Value, mask: &Value, key: &str, at: &str) -> Vec<Val<String>> {
    let why = || format!("{at}: {key} known only after apply");
    if is_true(mask.get(key)) {
        return vec![Val::Unknown(why())];
    }
    let items = v
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let masks = mask.get(key);
    let mut out = Vec::new();
    for (j, item) in items.iter().enumerate() {
        if is_true(masks.and_then(|m| m.get(j))) {
            out.push(Val::Unknown(why()));
        } else if let Some(s) = item.as_str() {
            out.push(Val::Known(s.to_string()));
        }
    }
    // Unknown elements appended after the known ones (a list that grows at apply).
    if let Some(Value::Array(m)) = masks {
        for j in items.len()..m.len() {
            if is_true(m.get(j)) {
                out.push(Val::Unknown(why()));
            }
        }
    }
    out
}

fn tags(c: &Change) -> Vec<(Val<String>, Val<String>)> {
    let mut out = Vec::new();
    if is_true(c.unknown.get("tags")) {
        let why = format!("{}: tags known only after apply", c.address);
        out.push((Val::Unknown(why.clone()), Val::Unknown(why)));
        return out;
    }
    if let Some(Value::Object(t)) = c.after.get("tags") {
        let masks = c.unknown.get("tags");
        for (k, v) in t {
            let value = if is_true(masks.and_then(|m| m.get(k))) {
                Val::Unknown(format!("{}: tags.{k} known only after apply", c.address))
            } else {
                match v.as_str() {
                    Some(s) => Val::Known(s.to_string()),
                    None => continue,
                }
            };
            out.push((Val::Known(k.clone()), value));
        }
    }
    out
}

/// The same rule (protocol, ports, peer), wherever it was written.
fn same_rule(a: &Rule, b: &Rule) -> bool {
    let norm = |p: &Val<String>| p.known().map(|s| s.to_ascii_lowercase());
    norm(&a.protocol) == norm(&b.protocol)
        && a.from_port.known() == b.from_port.known()
        && a.to_port.known() == b.to_port.known()
        && a.peer == b.peer
        && a.protocol.known().is_some()
}

#[cfg(test)]
mod tests;
