//! Source 4 (shift-left): security groups *defined* in infrastructure code, before anything is
//! deployed: CloudFormation templates (JSON or YAML with short-form tags, `cdk synth` output;
//! [`cfn`]) and Terraform plans (`terraform show -json PLANFILE`; [`terraform`]), detected by
//! content.
//!
//! A template is not a configuration item: some values exist only at deploy time (a parameter
//! without a value, a pseudo parameter, `Fn::ImportValue`, an attribute of another resource, a
//! Terraform value "known after apply"). They are kept as [`Val::Unknown`] with what they are, and
//! CloudFormation conditions stay open: [`Source::groups`] gives the groups under one assignment
//! of the conditions. `scan` (the engine layer) turns them into the model, world by world.

pub mod cfn;
pub mod terraform;

use std::collections::BTreeMap;
use std::path::Path;

/// A value that is either known now or only at deploy time (with what it is, for the reason).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Val<T> {
    Known(T),
    Unknown(String),
}

impl<T> Val<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Val::Known(v) => Some(v),
            Val::Unknown(_) => None,
        }
    }
}

/// The group a rule names as its peer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GroupPeer {
    /// A group defined in the same file (its logical id or address).
    Defined(String),
    /// A group the file only names: an `sg-…` id (or, for `SourceSecurityGroupName`, a name).
    External(String),
    /// A group whose id is known only at deploy time.
    Unknown(String),
}

/// The peer (source of an inbound rule, destination of an outbound one).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    Ipv4(Val<String>),
    Ipv6(Val<String>),
    PrefixList(Val<String>),
    Group {
        group: GroupPeer,
        owner: Option<String>,
    },
    /// Not even the kind of peer is known (a whole Terraform rule block known after apply).
    Unknown(String),
}

/// One rule with one peer, as the file defines it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Where it is written (`Resources.Web.Properties.SecurityGroupIngress[0]`,
    /// `aws_security_group_rule.ssh`), for error messages and reasons.
    pub at: String,
    pub protocol: Val<String>,
    /// `FromPort` / `ToPort` (absent: `None`).
    pub from_port: Val<Option<i64>>,
    pub to_port: Val<Option<i64>>,
    pub peer: Peer,
    pub description: Option<String>,
}

/// A security group as defined by the file, under one assignment of the conditions.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Group {
    /// The CloudFormation logical id or the Terraform resource address.
    pub id: String,
    /// The line where the file defines it, when known.
    pub line: Option<usize>,
    /// Terraform plans to delete it (NOT_APPLICABLE, as the rule does for deleted groups).
    pub deleted: bool,
    pub name: Option<String>,
    pub vpc_id: Option<String>,
    /// Tags; an unknown key or value stays unknown.
    pub tags: Vec<(Val<String>, Val<String>)>,
    pub ingress: Vec<Rule>,
    pub egress: Vec<Rule>,
    /// A load balancer of the file uses it.
    pub load_balancer: bool,
    /// The conditions (with their values) its existence and rules depend on.
    pub conditions: Vec<(String, bool)>,
}

/// What one file holds under one assignment of its conditions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Defined {
    pub groups: Vec<Group>,
    /// Groups a load balancer of the file uses that the file does not define (ids).
    pub external_load_balancer_groups: Vec<String>,
    /// Conditions met that no assignment settled yet (CloudFormation): judge again with them.
    pub open_conditions: Vec<String>,
    /// What the reader should know (a rule joined to no group, an unknown reference).
    pub notes: Vec<String>,
    /// Resources that could not be read, with the group that therefore gets no verdict.
    pub errors: Vec<(Option<String>, TemplateError)>,
}

/// A parsed file: CloudFormation or Terraform.
#[derive(Debug)]
pub enum Source {
    CloudFormation(Box<cfn::Template>),
    Terraform(terraform::Plan),
}

impl Source {
    /// The groups under `conditions` (CloudFormation condition name → value; Terraform has none).
    pub fn groups(&self, conditions: &BTreeMap<String, bool>) -> Result<Defined, TemplateError> {
        match self {
            Source::CloudFormation(t) => t.groups(conditions),
            Source::Terraform(p) => p.groups(),
        }
    }

    /// Every group the file defines under some assignment (CloudFormation: whatever the
    /// conditions).
    pub fn group_ids(&self) -> Vec<String> {
        match self {
            Source::CloudFormation(t) => t.group_ids(),
            Source::Terraform(_) => Vec::new(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Source::CloudFormation(_) => "CloudFormation template",
            Source::Terraform(_) => "Terraform plan",
        }
    }
}

/// A file `scan` cannot use. Each message names the file and, where it applies, the field path.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("{path}: cannot read: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{path}: neither JSON nor YAML ({reason}); expected a CloudFormation template or `terraform show -json PLANFILE` output")]
    NotParsed { path: String, reason: String },
    #[error("{path}: not a CloudFormation template nor a Terraform plan ({found}); expected a template (an object with `Resources`) or `terraform show -json PLANFILE` output (an object with `format_version` and `resource_changes`)")]
    Unrecognised { path: String, found: String },
    #[error("{path}: Terraform plan format_version {version} is not supported (expected 1.x, or 0.x of Terraform 0.12-1.0, from `terraform show -json PLANFILE`)")]
    Version { path: String, version: String },
    #[error("{path}: {field}: {reason}")]
    Invalid {
        path: String,
        field: String,
        reason: String,
    },
    #[error("{path}: parameters file: {reason}")]
    Parameters { path: String, reason: String },
}

/// Reads one file and tells a template from a plan by its content.
pub fn read(path: &Path, parameters: &BTreeMap<String, String>) -> Result<Source, TemplateError> {
    let name = path.display().to_string();
    // `-`: standard input (`terraform show -json tf.plan | sg-compliance scan -`).
    if name == "-" {
        use std::io::Read;
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| TemplateError::Unreadable {
                path: "standard input".into(),
                reason: e.to_string(),
            })?;
        return parse("-", &text, parameters);
    }
    if path.is_dir() {
        return Err(TemplateError::Unreadable {
            path: name,
            reason: "a directory: pass its templates or plans (e.g. cdk.out/*.template.json)"
                .into(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| TemplateError::Unreadable {
        path: name.clone(),
        reason: if e.kind() == std::io::ErrorKind::NotFound {
            "no such file".into()
        } else {
            e.to_string()
        },
    })?;
    parse(&name, &text, parameters)
}

/// [`read`] of text in hand; `name` is used in messages and as the SARIF location.
pub fn parse(
    name: &str,
    text: &str,
    parameters: &BTreeMap<String, String>,
) -> Result<Source, TemplateError> {
    // A byte-order mark (editors on Windows write one) is not part of the document.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(TemplateError::Unrecognised {
            path: name.to_string(),
            found: "an empty file".into(),
        });
    }
    let value = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => v,
        Err(json) => {
            let looks_like_json = text.trim_start().starts_with(['{', '[']);
            match cfn::from_yaml(text) {
                Ok(v) => v,
                Err(yaml) => {
                    return Err(TemplateError::NotParsed {
                        path: name.to_string(),
                        reason: if looks_like_json {
                            format!("JSON: {json}")
                        } else {
                            format!("YAML: {yaml}")
                        },
                    })
                }
            }
        }
    };
    let serde_json::Value::Object(top) = &value else {
        return Err(TemplateError::Unrecognised {
            path: name.to_string(),
            found: format!("a JSON {}", kind_of(&value)),
        });
    };
    if top.contains_key("format_version")
        && (top.contains_key("resource_changes")
            || top.contains_key("planned_values")
            || top.contains_key("terraform_version"))
    {
        return terraform::Plan::new(name, text, value).map(Source::Terraform);
    }
    if top.contains_key("Resources") {
        return cfn::Template::new(name, text, value, parameters)
            .map(|t| Source::CloudFormation(Box::new(t)));
    }
    let keys: Vec<&str> = top.keys().map(String::as_str).take(6).collect();
    Err(TemplateError::Unrecognised {
        path: name.to_string(),
        found: if keys.is_empty() {
            "an empty object".into()
        } else {
            format!("an object with {}", keys.join(", "))
        },
    })
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "list",
        serde_json::Value::Object(_) => "object",
    }
}

/// Reads a parameters file: the AWS CLI's `[{"ParameterKey": …, "ParameterValue": …}]` (also
/// inside `{"Parameters": [...]}`), or CodePipeline's template configuration
/// `{"Parameters": {"Key": "Value"}}`.
pub fn read_parameters(path: &Path) -> Result<BTreeMap<String, String>, TemplateError> {
    let name = path.display().to_string();
    let bad = |reason: String| TemplateError::Parameters {
        path: name.clone(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let list = match &value {
        serde_json::Value::Object(o) => match o.get("Parameters") {
            Some(serde_json::Value::Object(map)) => {
                let mut out = BTreeMap::new();
                for (k, v) in map {
                    let v = scalar_text(v).ok_or_else(|| {
                        bad(format!("Parameters.{k}: expected a string, number or list"))
                    })?;
                    out.insert(k.clone(), v);
                }
                return Ok(out);
            }
            Some(l @ serde_json::Value::Array(_)) => l.clone(),
            _ => return Err(bad("expected a list of {\"ParameterKey\", \"ParameterValue\"} (the AWS CLI's --parameters file) or {\"Parameters\": {\"Key\": \"Value\"}}".into())),
        },
        l @ serde_json::Value::Array(_) => l.clone(),
        _ => return Err(bad("expected a list of {\"ParameterKey\", \"ParameterValue\"} (the AWS CLI's --parameters file)".into())),
    };
    let mut out = BTreeMap::new();
    for (i, item) in list.as_array().into_iter().flatten().enumerate() {
        let key = item
            .get("ParameterKey")
            .and_then(|k| k.as_str())
            .ok_or_else(|| bad(format!("[{i}].ParameterKey: missing or not a string")))?;
        if item.get("UsePreviousValue").and_then(|u| u.as_bool()) == Some(true) {
            // The previous value lives in the deployed stack: unknown here.
            continue;
        }
        let value = item
            .get("ParameterValue")
            .and_then(scalar_text)
            .ok_or_else(|| bad(format!("[{i}].ParameterValue: missing or not a string")))?;
        out.insert(key.to_string(), value);
    }
    Ok(out)
}

/// A scalar (or a list of them, joined with commas, as CloudFormation passes list parameters)
/// as text.
pub(crate) fn scalar_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Array(items) => items
            .iter()
            .map(scalar_text)
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(",")),
        _ => None,
    }
}
