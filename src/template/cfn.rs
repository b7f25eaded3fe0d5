//! CloudFormation templates (JSON, or YAML with short-form tags; `cdk synth` output is JSON):
//! `AWS::EC2::SecurityGroup` resources with their inline rules, joined with the standalone
//! `AWS::EC2::SecurityGroupIngress` / `AWS::EC2::SecurityGroupEgress` resources that name them
//! (`GroupId: !Ref X`, `!GetAtt X.GroupId`, or `GroupName`), as CloudFormation would create them.
//!
//! Intrinsic functions are resolved where their inputs are known: `Ref` of a parameter takes the
//! `--parameters` value, else its `Default`; `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`,
//! `Fn::FindInMap` and `Fn::If` evaluate. Pseudo parameters, `Fn::ImportValue`, other resources'
//! ids and attributes (except a group's `GroupId`, which *is* that group) are unknown before
//! deploy. `AWS::NoValue` removes the item. Conditions are settled by the `--parameters` values
//! and literals only; the others stay open and `scan` judges every combination.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::{scalar_text, Defined, Group, GroupPeer, Peer, Rule, TemplateError, Val};

const SECURITY_GROUP: &str = "AWS::EC2::SecurityGroup";
const INGRESS: &str = "AWS::EC2::SecurityGroupIngress";
const EGRESS: &str = "AWS::EC2::SecurityGroupEgress";
const LOAD_BALANCERS: [&str; 2] = [
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancing::LoadBalancer",
];

/// A YAML template as the JSON CloudFormation reads: short-form tags (`!Ref X`, `!GetAtt X.Y`,
/// `!Sub …`) become their long forms (`{"Ref": "X"}`, `{"Fn::GetAtt": ["X", "Y"]}`).
pub fn from_yaml(text: &str) -> Result<Value, String> {
    let mut yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    // `<<: *base` merge keys, as CloudFormation's YAML reader expands them.
    yaml.apply_merge().map_err(|e| e.to_string())?;
    yaml_to_json(yaml)
}

fn yaml_to_json(v: serde_yaml_ng::Value) -> Result<Value, String> {
    use serde_yaml_ng::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).map_err(|e| e.to_string())?,
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(format!("a mapping key that is not text: {other:?}")),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            let name = tagged.tag.to_string();
            let name = name.trim_start_matches('!');
            let inner = yaml_to_json(tagged.value)?;
            match name {
                "Ref" => single("Ref", inner),
                "Condition" => single("Condition", inner),
                "GetAtt" => match inner {
                    // `!GetAtt Logical.Attribute` (the attribute may itself contain dots).
                    Value::String(s) => match s.split_once('.') {
                        Some((r, a)) => {
                            single("Fn::GetAtt", Value::Array(vec![r.into(), a.into()]))
                        }
                        None => single("Fn::GetAtt", Value::String(s)),
                    },
                    other => single("Fn::GetAtt", other),
                },
                other => single(&format!("Fn::{other}"), inner),
            }
        }
    })
}

fn single(key: &str, v: Value) -> Value {
    Value::Object(Map::from_iter([(key.to_string(), v)]))
}

/// A parsed template.
#[derive(Debug)]
pub struct Template {
    path: String,
    resources: Map<String, Value>,
    parameters: Map<String, Value>,
    mappings: Map<String, Value>,
    conditions: Map<String, Value>,
    /// `--parameters` values: they settle conditions and override defaults.
    given: BTreeMap<String, String>,
    /// Line of each resource's logical id.
    lines: BTreeMap<String, usize>,
}

/// A resolved value.
#[derive(Clone, Debug, PartialEq)]
enum R {
    Null,
    Bool(bool),
    Num(serde_json::Number),
    Str(String),
    List(Vec<R>),
    Map(Vec<(String, R)>),
    /// Known only at deploy time: what it is.
    Unknown(String),
    /// The id of a group this template defines.
    Group(String),
    /// `AWS::NoValue`: the item is removed.
    NoValue,
}

impl R {
    fn get(&self, key: &str) -> Option<&R> {
        match self {
            R::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// The state of one resolution: the conditions' assignment, and which of them were read.
struct Ctx<'a> {
    assign: &'a BTreeMap<String, bool>,
    /// Conditions read (with the value used), for the reason.
    read: BTreeSet<(String, bool)>,
    /// Open conditions met that `assign` does not settle.
    open: BTreeSet<String>,
    /// Resolving a condition: only `--parameters` values and literals count.
    strict: bool,
    /// What the reader should know about what was read (a single rule where a list belongs).
    notes: Vec<String>,
    depth: usize,
}

impl Template {
    pub fn new(
        path: &str,
        text: &str,
        value: Value,
        given: &BTreeMap<String, String>,
    ) -> Result<Template, TemplateError> {
        let invalid = |field: &str, reason: &str| TemplateError::Invalid {
            path: path.to_string(),
            field: field.to_string(),
            reason: reason.to_string(),
        };
        let Value::Object(mut top) = value else {
            return Err(invalid("(top level)", "expected an object"));
        };
        let mut section = |key: &str| -> Result<Map<String, Value>, TemplateError> {
            match top.remove(key) {
                None | Some(Value::Null) => Ok(Map::new()),
                Some(Value::Object(m)) => Ok(m),
                Some(_) => Err(invalid(key, "expected an object")),
            }
        };
        let resources = section("Resources")?;
        let parameters = section("Parameters")?;
        let mappings = section("Mappings")?;
        let conditions = section("Conditions")?;
        for (id, r) in &resources {
            if id.starts_with("Fn::ForEach::") {
                return Err(invalid(
                    &format!("Resources.{id}"),
                    "Fn::ForEach (the AWS::LanguageExtensions transform) is not expanded here: scan the processed template (`aws cloudformation get-template --template-stage Processed`) instead",
                ));
            }
            if !r.is_object() {
                return Err(invalid(&format!("Resources.{id}"), "expected an object"));
            }
        }
        let lines = resource_lines(text, &resources);
        Ok(Template {
            path: path.to_string(),
            resources,
            parameters,
            mappings,
            conditions,
            given: given.clone(),
            lines,
        })
    }

    /// The logical ids of the groups it defines, whatever the conditions.
    pub fn group_ids(&self) -> Vec<String> {
        self.resources
            .iter()
            .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(SECURITY_GROUP))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Whether the template declares this parameter.
    pub fn declares(&self, parameter: &str) -> bool {
        self.parameters.contains_key(parameter)
    }

    fn invalid(&self, field: String, reason: impl Into<String>) -> TemplateError {
        TemplateError::Invalid {
            path: self.path.clone(),
            field,
            reason: reason.into(),
        }
    }

    fn type_of(&self, id: &str) -> Option<&str> {
        self.resources.get(id)?.get("Type")?.as_str()
    }

    /// The groups under `assign` (condition → value).
    pub fn groups(&self, assign: &BTreeMap<String, bool>) -> Result<Defined, TemplateError> {
        let mut out = Defined::default();
        let mut open = BTreeSet::new();
        let mut groups: Vec<Group> = Vec::new();
        // (group it names, ingress?, rule, conditions read)
        let mut standalone: Vec<Standalone> = Vec::new();
        let mut lb_groups: Vec<R> = Vec::new();
        for (id, resource) in &self.resources {
            let ty = resource.get("Type").and_then(Value::as_str).unwrap_or("");
            let relevant = ty == SECURITY_GROUP
                || ty == INGRESS
                || ty == EGRESS
                || LOAD_BALANCERS.contains(&ty);
            if !relevant {
                continue;
            }
            let mut ctx = Ctx {
                assign,
                read: BTreeSet::new(),
                open: BTreeSet::new(),
                strict: false,
                notes: Vec::new(),
                depth: 0,
            };
            if let Some(c) = resource.get("Condition") {
                let Some(c) = c.as_str() else {
                    out.errors.push((
                        Some(id.clone()).filter(|_| ty == SECURITY_GROUP),
                        self.invalid(
                            format!("Resources.{id}.Condition"),
                            "expected a condition name",
                        ),
                    ));
                    continue;
                };
                if !self.condition(c, &mut ctx) {
                    open.extend(ctx.open);
                    continue;
                }
            }
            let at = format!("Resources.{id}.Properties");
            let props = match resource.get("Properties") {
                None => R::Map(Vec::new()),
                Some(p) => self.resolve(p, &mut ctx),
            };
            match ty {
                // A resource that cannot be read costs its own group's verdict, not the file's.
                SECURITY_GROUP => match self.group(id, &at, &props, &mut ctx) {
                    Ok(g) => groups.push(g),
                    Err(e) => out.errors.push((Some(id.clone()), e)),
                },
                INGRESS | EGRESS => {
                    let ingress = ty == INGRESS;
                    let target = match (props.get("GroupId"), props.get("GroupName")) {
                        (Some(R::Group(g)), _) => Target::Defined(g.clone()),
                        (Some(R::Str(other)), _) => Target::Other(other.clone()),
                        (Some(R::Unknown(why)), _) => Target::Unknown(why.clone()),
                        (None, Some(R::Str(name))) if ingress => Target::Name(name.clone()),
                        (None, Some(R::Unknown(why))) if ingress => Target::Unknown(why.clone()),
                        (None, Some(R::Group(g))) if ingress => Target::Defined(g.clone()),
                        _ => {
                            out.errors.push((
                                None,
                                self.invalid(
                                    format!("{at}.GroupId"),
                                    if ingress {
                                        "missing: a standalone ingress rule names its group with GroupId (or GroupName)"
                                    } else {
                                        "missing: a standalone egress rule names its group with GroupId"
                                    },
                                ),
                            ));
                            continue;
                        }
                    };
                    let rules = match self.rules_of(&at, &props, ingress, None) {
                        Ok(rules) => rules,
                        Err(e) => {
                            // Its group's rules are not all known: that group gets the error.
                            let group = match &target {
                                Target::Defined(g) => Some(g.clone()),
                                Target::Name(n) => self.group_named(n),
                                _ => None,
                            };
                            out.errors.push((group, e));
                            continue;
                        }
                    };
                    standalone.push(Standalone {
                        target,
                        ingress,
                        rules,
                        read: ctx.read.clone(),
                    });
                }
                _ => match props.get("SecurityGroups") {
                    Some(R::List(items)) => lb_groups.extend(items.iter().cloned()),
                    Some(other @ (R::Unknown(_) | R::Group(_) | R::Str(_))) => {
                        lb_groups.push(other.clone())
                    }
                    _ => {}
                },
            }
            open.extend(ctx.open);
            for note in ctx.notes {
                if !out.notes.contains(&note) {
                    out.notes.push(note);
                }
            }
        }
        // The default egress (all traffic to 0.0.0.0/0) stays only where no egress rule is
        // defined at all, inline or standalone: CloudFormation removes it as soon as one is.
        let index: std::collections::HashMap<String, usize> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.clone(), i))
            .collect();
        for Standalone {
            target,
            ingress,
            rules,
            read,
        } in standalone
        {
            let at = rules
                .first()
                .map(|r| r.at.as_str())
                .unwrap_or("a standalone rule");
            let found = match &target {
                Target::Defined(id) => index.get(id).map(|i| &mut groups[*i]),
                Target::Name(name) => {
                    let found = groups
                        .iter_mut()
                        .find(|g| g.name.as_deref() == Some(name.as_str()));
                    if found.is_none() {
                        out.notes.push(format!(
                            "{}: {} adds a rule to the group named {name}, which this file does not define: no verdict",
                            self.path, at
                        ));
                    }
                    found
                }
                Target::Other(group) => {
                    out.notes.push(format!(
                        "{}: {} adds a rule to {group}, which this file does not define: no verdict (audit {group} itself, e.g. `sg-compliance audit --live`)",
                        self.path, at
                    ));
                    None
                }
                Target::Unknown(why) => {
                    out.notes.push(format!(
                        "{}: {} joins no group: its group is known only at deploy ({why})",
                        self.path, at
                    ));
                    None
                }
            };
            let Some(g) = found else { continue };
            for (c, v) in read {
                if !g.conditions.contains(&(c.clone(), v)) {
                    g.conditions.push((c, v));
                }
            }
            if ingress {
                g.ingress.extend(rules);
            } else {
                if g.egress.len() == 1 && g.egress[0].at.ends_with("(default egress)") {
                    g.egress.clear();
                }
                g.egress.extend(rules);
            }
        }
        for r in lb_groups {
            match r {
                R::Group(id) => {
                    if let Some(g) = index.get(&id).map(|i| &mut groups[*i]) {
                        g.load_balancer = true;
                    }
                }
                R::Str(s) => out.external_load_balancer_groups.push(s),
                _ => {}
            }
        }
        for g in &mut groups {
            g.conditions.sort();
        }
        // A group whose own or standalone rules could not be read gets the error, not a verdict.
        let failed: BTreeSet<&str> = out
            .errors
            .iter()
            .filter_map(|(g, _)| g.as_deref())
            .collect();
        groups.retain(|g| !failed.contains(g.id.as_str()));
        out.groups = groups;
        out.open_conditions = open
            .into_iter()
            .filter(|c| !assign.contains_key(c))
            .collect();
        Ok(out)
    }

    fn group(&self, id: &str, at: &str, props: &R, ctx: &mut Ctx) -> Result<Group, TemplateError> {
        let text_of = |key: &str| match props.get(key) {
            Some(R::Str(s)) => Some(s.clone()),
            _ => None,
        };
        let mut tags = Vec::new();
        match props.get("Tags") {
            None | Some(R::Null) => {}
            Some(R::List(items)) => {
                for (i, t) in items.iter().enumerate() {
                    let field = format!("{at}.Tags[{i}]");
                    let key = self.text_val(t.get("Key"), &format!("{field}.Key"))?;
                    let value = self.text_val(t.get("Value"), &format!("{field}.Value"))?;
                    tags.push((key, value));
                }
            }
            Some(R::Unknown(why)) => tags.push((
                Val::Unknown(format!("{at}.Tags: {why}")),
                Val::Unknown(format!("{at}.Tags: {why}")),
            )),
            Some(_) => {
                return Err(self.invalid(format!("{at}.Tags"), "expected a list of {Key, Value}"))
            }
        }
        // A single rule object where the schema has a list (cfn-lint E3012; cfn_nag accepts it):
        // judged as a one-item list, and said.
        let mut listed = |key: &str| -> R {
            match props.get(key) {
                Some(one @ R::Map(_)) => {
                    ctx.notes.push(format!(
                        "{}: {at}.{key} is a single rule where CloudFormation's schema has a list (cfn-lint E3012): judged as a one-item list",
                        self.path
                    ));
                    R::List(vec![one.clone()])
                }
                Some(other) => other.clone(),
                None => R::Null,
            }
        };
        let (ingress_value, egress_value) = (
            listed("SecurityGroupIngress"),
            listed("SecurityGroupEgress"),
        );
        let ingress = self.rules_of(
            &format!("{at}.SecurityGroupIngress"),
            &ingress_value,
            true,
            Some(()),
        )?;
        let egress_given = !matches!(egress_value, R::Null) && egress_value != R::List(Vec::new());
        let egress = if egress_given {
            self.rules_of(
                &format!("{at}.SecurityGroupEgress"),
                &egress_value,
                false,
                Some(()),
            )?
        } else {
            vec![Rule {
                at: format!("{at} (default egress)"),
                protocol: Val::Known("-1".into()),
                from_port: Val::Known(None),
                to_port: Val::Known(None),
                peer: Peer::Ipv4(Val::Known("0.0.0.0/0".into())),
                description: None,
            }]
        };
        Ok(Group {
            id: id.to_string(),
            line: self.lines.get(id).copied(),
            deleted: false,
            name: text_of("GroupName"),
            vpc_id: text_of("VpcId"),
            tags,
            ingress,
            egress,
            load_balancer: false,
            conditions: ctx.read.iter().cloned().collect(),
        })
    }

    /// Rules of an inline list (`list` = Some) or of one standalone resource's properties.
    fn rules_of(
        &self,
        at: &str,
        value: &R,
        ingress: bool,
        list: Option<()>,
    ) -> Result<Vec<Rule>, TemplateError> {
        let items: Vec<(String, &R)> = match (list, value) {
            (None, v) => vec![(at.to_string(), v)],
            (Some(()), R::Null) => Vec::new(),
            (Some(()), R::List(items)) => items
                .iter()
                .enumerate()
                .map(|(i, r)| (format!("{at}[{i}]"), r))
                .collect(),
            (Some(()), R::Unknown(why)) => {
                return Ok(vec![Rule {
                    at: at.to_string(),
                    protocol: Val::Unknown(format!("{at}: {why}")),
                    from_port: Val::Unknown(format!("{at}: {why}")),
                    to_port: Val::Unknown(format!("{at}: {why}")),
                    peer: Peer::Unknown(format!("{at}: {why}")),
                    description: None,
                }])
            }
            (Some(()), _) => return Err(self.invalid(at.to_string(), "expected a list of rules")),
        };
        let mut out = Vec::new();
        for (field, item) in items {
            let R::Map(_) = item else {
                if let R::Unknown(why) = item {
                    out.push(Rule {
                        at: field.clone(),
                        protocol: Val::Unknown(format!("{field}: {why}")),
                        from_port: Val::Unknown(format!("{field}: {why}")),
                        to_port: Val::Unknown(format!("{field}: {why}")),
                        peer: Peer::Unknown(format!("{field}: {why}")),
                        description: None,
                    });
                    continue;
                }
                return Err(self.invalid(field, "expected a rule (an object with IpProtocol)"));
            };
            let protocol = match item.get("IpProtocol") {
                None | Some(R::Null) => {
                    return Err(self.invalid(
                        format!("{field}.IpProtocol"),
                        "missing (expected tcp, udp, icmp, icmpv6, -1 or a protocol number)",
                    ))
                }
                Some(p) => self.text_val(Some(p), &format!("{field}.IpProtocol"))?,
            };
            let port = |key: &str| -> Result<Val<Option<i64>>, TemplateError> {
                let f = format!("{field}.{key}");
                Ok(match item.get(key) {
                    None | Some(R::Null) => Val::Known(None),
                    Some(R::Num(n)) => Val::Known(Some(n.as_i64().ok_or_else(|| {
                        self.invalid(f.clone(), format!("{n} is not a whole number"))
                    })?)),
                    Some(R::Str(s)) => Val::Known(Some(s.trim().parse::<i64>().map_err(|_| {
                        self.invalid(f.clone(), format!("`{s}` is not a port number"))
                    })?)),
                    Some(R::Unknown(why)) => Val::Unknown(format!("{f}: {why}")),
                    Some(_) => return Err(self.invalid(f, "expected a port number")),
                })
            };
            let (from_port, to_port) = (port("FromPort")?, port("ToPort")?);
            let keys: &[(&str, PeerKind)] = if ingress {
                &[
                    ("CidrIp", PeerKind::V4),
                    ("CidrIpv6", PeerKind::V6),
                    ("SourcePrefixListId", PeerKind::PrefixList),
                    ("SourceSecurityGroupId", PeerKind::GroupId),
                    ("SourceSecurityGroupName", PeerKind::GroupName),
                ]
            } else {
                &[
                    ("CidrIp", PeerKind::V4),
                    ("CidrIpv6", PeerKind::V6),
                    ("DestinationPrefixListId", PeerKind::PrefixList),
                    ("DestinationSecurityGroupId", PeerKind::GroupId),
                ]
            };
            let present: Vec<&(&str, PeerKind)> = keys
                .iter()
                .filter(|(k, _)| !matches!(item.get(k), None | Some(R::Null)))
                .collect();
            let owner = match item.get("SourceSecurityGroupOwnerId") {
                Some(R::Str(s)) => Some(s.clone()),
                _ => None,
            };
            let peer = match present.as_slice() {
                [(key, kind)] => {
                    let f = format!("{field}.{key}");
                    let v = item.get(key).unwrap_or(&R::Null);
                    match kind {
                        PeerKind::V4 => Peer::Ipv4(self.text_val(Some(v), &f)?),
                        PeerKind::V6 => Peer::Ipv6(self.text_val(Some(v), &f)?),
                        PeerKind::PrefixList => Peer::PrefixList(self.text_val(Some(v), &f)?),
                        PeerKind::GroupId | PeerKind::GroupName => Peer::Group {
                            group: match v {
                                R::Group(g) => GroupPeer::Defined(g.clone()),
                                R::Str(s) if *kind == PeerKind::GroupName => {
                                    match self.group_named(s) {
                                        Some(g) => GroupPeer::Defined(g),
                                        None => GroupPeer::External(s.clone()),
                                    }
                                }
                                R::Str(s) => GroupPeer::External(s.clone()),
                                R::Unknown(why) => GroupPeer::Unknown(format!("{f}: {why}")),
                                _ => return Err(self.invalid(f, "expected a security group id")),
                            },
                            owner,
                        },
                    }
                }
                [] => {
                    let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
                    return Err(self.invalid(
                        field,
                        format!("names no peer: expected one of {}", names.join(", ")),
                    ));
                }
                many => {
                    let names: Vec<&str> = many.iter().map(|(k, _)| *k).collect();
                    return Err(self.invalid(
                        field,
                        format!(
                            "names several peers ({}): CloudFormation takes exactly one",
                            names.join(", ")
                        ),
                    ));
                }
            };
            let description = match item.get("Description") {
                Some(R::Str(s)) => Some(s.clone()),
                _ => None,
            };
            out.push(Rule {
                at: field,
                protocol,
                from_port,
                to_port,
                peer,
                description,
            });
        }
        Ok(out)
    }

    /// The group this template defines with this `GroupName` (a literal).
    fn group_named(&self, name: &str) -> Option<String> {
        self.resources.iter().find_map(|(id, r)| {
            (r.get("Type").and_then(Value::as_str) == Some(SECURITY_GROUP)
                && r.get("Properties")
                    .and_then(|p| p.get("GroupName"))
                    .and_then(Value::as_str)
                    == Some(name))
            .then(|| id.clone())
        })
    }

    fn text_val(&self, r: Option<&R>, field: &str) -> Result<Val<String>, TemplateError> {
        match r {
            Some(R::Str(s)) => Ok(Val::Known(s.clone())),
            Some(R::Num(n)) => Ok(Val::Known(n.to_string())),
            Some(R::Bool(b)) => Ok(Val::Known(b.to_string())),
            Some(R::Unknown(why)) => Ok(Val::Unknown(format!("{field}: {why}"))),
            Some(R::Group(g)) => Ok(Val::Unknown(format!(
                "{field}: the id of group {g}, known after deploy"
            ))),
            None | Some(R::Null) | Some(R::NoValue) => {
                Err(self.invalid(field.to_string(), "missing"))
            }
            Some(R::List(_)) | Some(R::Map(_)) => Err(self.invalid(
                field.to_string(),
                "expected text, found a list or an object",
            )),
        }
    }

    /// A condition's value under the assignment; an open one reads as false and is noted.
    fn condition(&self, name: &str, ctx: &mut Ctx) -> bool {
        match self.eval_condition(name, ctx.assign, 0) {
            Ok(v) => {
                ctx.read.insert((name.to_string(), v));
                v
            }
            Err(leaf) => {
                ctx.open.insert(leaf);
                false
            }
        }
    }

    /// `Err(leaf)`: the condition `leaf` (this one or one it reads) is not settled.
    fn eval_condition(
        &self,
        name: &str,
        assign: &BTreeMap<String, bool>,
        depth: usize,
    ) -> Result<bool, String> {
        if let Some(v) = assign.get(name) {
            return Ok(*v);
        }
        let Some(def) = self.conditions.get(name) else {
            return Err(name.to_string());
        };
        if depth > 32 {
            return Err(name.to_string());
        }
        self.eval_expr(def, name, assign, depth + 1)
    }

    fn eval_expr(
        &self,
        e: &Value,
        me: &str,
        assign: &BTreeMap<String, bool>,
        depth: usize,
    ) -> Result<bool, String> {
        let Value::Object(o) = e else {
            return match e {
                Value::Bool(b) => Ok(*b),
                Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
                Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
                _ => Err(me.to_string()),
            };
        };
        let Some((k, arg)) = o.iter().next().filter(|_| o.len() == 1) else {
            return Err(me.to_string());
        };
        let args = arg.as_array().map(Vec::as_slice).unwrap_or_default();
        match k.as_str() {
            "Condition" => match arg.as_str() {
                Some(n) => self.eval_condition(n, assign, depth),
                None => Err(me.to_string()),
            },
            "Fn::Not" => args.first().map_or(Err(me.to_string()), |a| {
                self.eval_expr(a, me, assign, depth).map(|v| !v)
            }),
            "Fn::And" | "Fn::Or" => {
                let mut vals = Vec::new();
                for a in args {
                    vals.push(self.eval_expr(a, me, assign, depth)?);
                }
                Ok(if k == "Fn::And" {
                    vals.iter().all(|v| *v)
                } else {
                    vals.iter().any(|v| *v)
                })
            }
            "Fn::Equals" => {
                let [a, b] = args else {
                    return Err(me.to_string());
                };
                let mut ctx = Ctx {
                    assign,
                    read: BTreeSet::new(),
                    open: BTreeSet::new(),
                    strict: true,
                    notes: Vec::new(),
                    depth,
                };
                let (a, b) = (self.resolve(a, &mut ctx), self.resolve(b, &mut ctx));
                match (scalar(&a), scalar(&b)) {
                    (Some(a), Some(b)) => Ok(a == b),
                    _ => match (&a, &b) {
                        (R::List(_), R::List(_)) if known(&a) && known(&b) => Ok(a == b),
                        _ => Err(me.to_string()),
                    },
                }
            }
            _ => Err(me.to_string()),
        }
    }

    /// Resolves intrinsic functions everywhere in `v`; `AWS::NoValue` items leave their list or
    /// object.
    fn resolve(&self, v: &Value, ctx: &mut Ctx) -> R {
        ctx.depth += 1;
        let out = if ctx.depth > 64 {
            R::Unknown("intrinsic functions nested too deep".into())
        } else {
            self.resolve_inner(v, ctx)
        };
        ctx.depth -= 1;
        out
    }

    fn resolve_inner(&self, v: &Value, ctx: &mut Ctx) -> R {
        match v {
            Value::Null => R::Null,
            Value::Bool(b) => R::Bool(*b),
            Value::Number(n) => R::Num(n.clone()),
            Value::String(s) => R::Str(s.clone()),
            Value::Array(items) => R::List(
                items
                    .iter()
                    .map(|i| self.resolve(i, ctx))
                    .filter(|r| *r != R::NoValue)
                    .collect(),
            ),
            Value::Object(o) => {
                if o.len() == 1 {
                    if let Some((k, arg)) = o.iter().next() {
                        if k == "Ref" || k.starts_with("Fn::") {
                            return self.intrinsic(k, arg, ctx);
                        }
                    }
                }
                R::Map(
                    o.iter()
                        .map(|(k, v)| (k.clone(), self.resolve(v, ctx)))
                        .filter(|(_, r)| *r != R::NoValue)
                        .collect(),
                )
            }
        }
    }

    fn intrinsic(&self, name: &str, arg: &Value, ctx: &mut Ctx) -> R {
        match name {
            "Ref" => match arg.as_str() {
                Some(n) => self.reference(n, ctx),
                None => R::Unknown("Ref of something that is not a name".into()),
            },
            "Fn::GetAtt" => {
                let (res, attr) = match arg {
                    Value::Array(a) if a.len() == 2 => (
                        a[0].as_str().unwrap_or(""),
                        a[1].as_str().map(str::to_string).unwrap_or_default(),
                    ),
                    Value::String(s) => s
                        .split_once('.')
                        .map(|(r, a)| (r, a.to_string()))
                        .unwrap_or((s.as_str(), String::new())),
                    _ => ("", String::new()),
                };
                self.attribute(res, &attr)
            }
            "Fn::If" => {
                let Some([c, yes, no]) = arg
                    .as_array()
                    .map(Vec::as_slice)
                    .and_then(|a| <&[Value; 3]>::try_from(a).ok())
                else {
                    return R::Unknown("Fn::If without [condition, then, else]".into());
                };
                let Some(c) = c.as_str() else {
                    return R::Unknown("Fn::If of something that is not a condition name".into());
                };
                if self.condition(c, ctx) {
                    self.resolve(yes, ctx)
                } else {
                    self.resolve(no, ctx)
                }
            }
            "Fn::Sub" => self.sub(arg, ctx),
            "Fn::Join" => {
                let r = self.resolve(arg, ctx);
                let R::List(a) = &r else {
                    return unknown_or(r, "Fn::Join without [delimiter, list]");
                };
                let [d, list] = a.as_slice() else {
                    return R::Unknown("Fn::Join without [delimiter, list]".into());
                };
                let Some(d) = scalar(d) else {
                    return unknown_or(d.clone(), "Fn::Join delimiter");
                };
                let R::List(items) = list else {
                    return unknown_or(list.clone(), "Fn::Join of something that is not a list");
                };
                let mut parts = Vec::new();
                for i in items {
                    match scalar(i) {
                        Some(s) => parts.push(s),
                        None => return unknown_or(i.clone(), "Fn::Join of a list or object"),
                    }
                }
                R::Str(parts.join(&d))
            }
            "Fn::Select" => {
                let r = self.resolve(arg, ctx);
                let R::List(a) = &r else {
                    return unknown_or(r, "Fn::Select without [index, list]");
                };
                let [i, list] = a.as_slice() else {
                    return R::Unknown("Fn::Select without [index, list]".into());
                };
                let Some(i) = scalar(i).and_then(|i| i.parse::<usize>().ok()) else {
                    return unknown_or(i.clone(), "Fn::Select index");
                };
                match list {
                    R::List(items) => items.get(i).cloned().unwrap_or_else(|| {
                        R::Unknown(format!("Fn::Select index {i} is past the list's end"))
                    }),
                    other => {
                        unknown_or(other.clone(), "Fn::Select of something that is not a list")
                    }
                }
            }
            "Fn::Split" => {
                let r = self.resolve(arg, ctx);
                let R::List(a) = &r else {
                    return unknown_or(r, "Fn::Split without [delimiter, text]");
                };
                let [d, s] = a.as_slice() else {
                    return R::Unknown("Fn::Split without [delimiter, text]".into());
                };
                match (scalar(d), scalar(s)) {
                    (Some(d), Some(s)) if !d.is_empty() => {
                        R::List(s.split(d.as_str()).map(|p| R::Str(p.to_string())).collect())
                    }
                    (Some(_), Some(_)) => R::Unknown("Fn::Split with an empty delimiter".into()),
                    (None, _) => unknown_or(d.clone(), "Fn::Split delimiter"),
                    (_, None) => unknown_or(s.clone(), "Fn::Split text"),
                }
            }
            "Fn::FindInMap" => {
                let r = self.resolve(arg, ctx);
                let R::List(a) = &r else {
                    return unknown_or(r, "Fn::FindInMap without [map, key, key]");
                };
                let keys: Vec<Option<String>> = a.iter().take(3).map(scalar).collect();
                if keys.len() < 3 {
                    return R::Unknown("Fn::FindInMap without [map, key, key]".into());
                }
                if let Some(pos) = keys.iter().position(Option::is_none) {
                    return unknown_or(a[pos].clone(), "Fn::FindInMap key");
                }
                let k: Vec<String> = keys.into_iter().flatten().collect();
                match self
                    .mappings
                    .get(&k[0])
                    .and_then(|m| m.get(&k[1]))
                    .and_then(|m| m.get(&k[2]))
                {
                    Some(v) => self.resolve(v, ctx),
                    None => match a.get(3).and_then(|d| d.get("DefaultValue")) {
                        Some(d) => d.clone(),
                        None => {
                            R::Unknown(format!("Fn::FindInMap: {} has no {}.{}", k[0], k[1], k[2]))
                        }
                    },
                }
            }
            "Fn::Cidr" => {
                // [ipBlock, count, cidrBits]: the first `count` subnets with `cidrBits` host bits.
                let r = self.resolve(arg, ctx);
                let R::List(a) = &r else {
                    return unknown_or(r, "Fn::Cidr without [ipBlock, count, cidrBits]");
                };
                let texts: Vec<Option<String>> = a.iter().map(scalar).collect();
                let [Some(block), Some(count), Some(bits)] = texts.as_slice() else {
                    return a
                        .iter()
                        .find(|x| scalar(x).is_none())
                        .map(|x| unknown_or(x.clone(), "Fn::Cidr argument"))
                        .unwrap_or_else(|| {
                            R::Unknown("Fn::Cidr without [ipBlock, count, cidrBits]".into())
                        });
                };
                match cidr_function(block, count, bits) {
                    Some(nets) => R::List(nets.into_iter().map(R::Str).collect()),
                    None => R::Unknown(format!(
                        "Fn::Cidr [{block}, {count}, {bits}] is not a valid split"
                    )),
                }
            }
            "Fn::ImportValue" => {
                let r = self.resolve(arg, ctx);
                R::Unknown(match scalar(&r) {
                    Some(n) => {
                        format!("Fn::ImportValue {n}: another stack's export, known only at deploy")
                    }
                    None => "Fn::ImportValue: another stack's export, known only at deploy".into(),
                })
            }
            other => R::Unknown(format!("{other} is not evaluated before deploy")),
        }
    }

    fn reference(&self, name: &str, ctx: &mut Ctx) -> R {
        if name == "AWS::NoValue" {
            return R::NoValue;
        }
        if name.starts_with("AWS::") {
            return R::Unknown(format!("pseudo parameter {name}, known only at deploy"));
        }
        if let Some(p) = self.parameters.get(name) {
            let text = match self.given.get(name) {
                Some(v) => v.clone(),
                None if ctx.strict => {
                    return R::Unknown(format!("parameter {name} is not in --parameters"));
                }
                None => match p.get("Default") {
                    Some(d) => match scalar_text(d) {
                        Some(t) => t,
                        None => {
                            return R::Unknown(format!("parameter {name}: its Default is not text"))
                        }
                    },
                    None => {
                        return R::Unknown(format!(
                            "parameter {name} (no Default, no --parameters value)"
                        ))
                    }
                },
            };
            let ty = p.get("Type").and_then(Value::as_str).unwrap_or("String");
            if ty.starts_with("AWS::SSM::Parameter::Value") {
                return R::Unknown(format!(
                    "parameter {name}: an SSM parameter, read at deploy"
                ));
            }
            if ty.starts_with("List<") || ty == "CommaDelimitedList" {
                return R::List(
                    text.split(',')
                        .map(|s| R::Str(s.trim().to_string()))
                        .collect(),
                );
            }
            return R::Str(text);
        }
        match self.type_of(name) {
            Some(SECURITY_GROUP) => R::Group(name.to_string()),
            Some(ty) => R::Unknown(format!("the id of {ty} {name}, known after deploy")),
            None => R::Unknown(format!("Ref {name}: no such parameter or resource")),
        }
    }

    fn attribute(&self, resource: &str, attr: &str) -> R {
        match self.type_of(resource) {
            Some(SECURITY_GROUP) if attr == "GroupId" => R::Group(resource.to_string()),
            Some(ty) => R::Unknown(format!("{resource}.{attr} of {ty}, known after deploy")),
            None => R::Unknown(format!("Fn::GetAtt {resource}.{attr}: no such resource")),
        }
    }

    fn sub(&self, arg: &Value, ctx: &mut Ctx) -> R {
        let (text, vars) = match arg {
            Value::String(s) => (s.clone(), Vec::new()),
            Value::Array(a) if !a.is_empty() => {
                let t = match self.resolve(&a[0], ctx) {
                    R::Str(s) => s,
                    other => return unknown_or(other, "Fn::Sub of something that is not text"),
                };
                let vars = match a.get(1).map(|m| self.resolve(m, ctx)) {
                    Some(R::Map(m)) => m,
                    _ => Vec::new(),
                };
                (t, vars)
            }
            _ => return R::Unknown("Fn::Sub of something that is not text".into()),
        };
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let var = &after[..end];
            rest = &after[end + 1..];
            if let Some(literal) = var.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
                continue;
            }
            let value = match vars.iter().find(|(k, _)| k == var) {
                Some((_, v)) => v.clone(),
                None => match var.split_once('.') {
                    Some((r, a)) if self.resources.contains_key(r) => self.attribute(r, a),
                    _ => self.reference(var, ctx),
                },
            };
            match scalar(&value) {
                Some(s) => out.push_str(&s),
                None => return unknown_or(value, "Fn::Sub variable"),
            }
        }
        out.push_str(rest);
        R::Str(out)
    }
}

/// A standalone rule resource: its group, direction, rules and the conditions it read.
struct Standalone {
    target: Target,
    ingress: bool,
    rules: Vec<Rule>,
    read: BTreeSet<(String, bool)>,
}

/// What a standalone rule names as its group.
enum Target {
    Defined(String),
    Name(String),
    /// A group the template does not define (`sg-…`): no verdict for it.
    Other(String),
    Unknown(String),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PeerKind {
    V4,
    V6,
    PrefixList,
    GroupId,
    GroupName,
}

/// `Fn::Cidr`: the first `count` subnets of `block` with `bits` host bits each.
fn cidr_function(block: &str, count: &str, bits: &str) -> Option<Vec<String>> {
    let net: ipnet::IpNet = block.trim().parse().ok()?;
    let count: usize = count.trim().parse().ok()?;
    let bits: u8 = bits.trim().parse().ok()?;
    let prefix = net.max_prefix_len().checked_sub(bits)?;
    if count == 0 || count > 256 || prefix < net.prefix_len() {
        return None;
    }
    let subnets: Vec<String> = net
        .trunc()
        .subnets(prefix)
        .ok()?
        .take(count)
        .map(|n| n.to_string())
        .collect();
    (subnets.len() == count).then_some(subnets)
}

fn scalar(r: &R) -> Option<String> {
    match r {
        R::Str(s) => Some(s.clone()),
        R::Num(n) => Some(n.to_string()),
        R::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn known(r: &R) -> bool {
    match r {
        R::Unknown(_) | R::Group(_) => false,
        R::List(items) => items.iter().all(known),
        R::Map(m) => m.iter().all(|(_, v)| known(v)),
        _ => true,
    }
}

/// An unknown value passes its reason on; anything else that does not fit is unknown for `what`.
fn unknown_or(r: R, what: &str) -> R {
    match r {
        R::Unknown(why) => R::Unknown(why),
        R::Group(g) => R::Unknown(format!("the id of group {g}, known after deploy")),
        _ => R::Unknown(what.to_string()),
    }
}

/// The line of each resource's logical id: the first line after `Resources:` whose key (`Id:`,
/// `"Id":`) names it. One pass over the text.
fn resource_lines(text: &str, resources: &Map<String, Value>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let mut in_resources = false;
    for (i, line) in text.lines().enumerate() {
        let Some(key) = key_of(line) else { continue };
        if !in_resources {
            in_resources = key == "Resources";
            continue;
        }
        if resources.contains_key(key) && !out.contains_key(key) {
            out.insert(key.to_string(), i + 1);
            if out.len() == resources.len() {
                break;
            }
        }
    }
    out
}

/// The key a line starts (YAML `Id:`, JSON `"Id":`), if it starts one.
fn key_of(line: &str) -> Option<&str> {
    let t = line
        .trim_start()
        .trim_start_matches(['{', ','])
        .trim_start();
    let (key, rest) = match t.chars().next()? {
        q @ ('"' | '\'') => {
            let end = t[1..].find(q)? + 1;
            (&t[1..end], &t[end + 1..])
        }
        _ => {
            let end = t.find(':')?;
            (t[..end].trim_end(), &t[end..])
        }
    };
    rest.trim_start().starts_with(':').then_some(key)
}

#[cfg(test)]
mod tests;
