//! The audit's input sources, detected and parsed once into security groups (and load-balancer
//! interfaces) per account and region:
//!
//! - `aws ec2 describe-security-groups` output (`{"SecurityGroups": [...]}`, PascalCase);
//! - `aws ec2 describe-network-interfaces` output (`{"NetworkInterfaces": [...]}`), for `--network-interfaces`;
//! - AWS Config advanced-query output, `aws configservice select-resource-config` /
//!   `select-aggregate-resource-config` (`{"Results": ["<json>", ...]}`, each result a JSON string with
//!   `accountId`, `awsRegion`, `resourceType`, `configuration` and `tags`);
//! - configuration items: a JSON list of them, or `{"configurationItems": [...]}`
//!   (`get-resource-config-history`) or `{"baseConfigurationItems": [...]}` (`batch-get-resource-config`),
//!   with `configuration` as an object or as a JSON string.
//!
//! Each security group is validated on its own: a bad one becomes an error entry, never a lost file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ipnet::IpNet;
use serde::Deserialize;
use serde_json::Value;

use crate::model::{
    from_config_item, DescribeOutput, DescribedGroup, GroupId, ModelError, SecurityGroup,
};

/// The resource types the audit reads from Config.
pub const SECURITY_GROUP: &str = "AWS::EC2::SecurityGroup";
pub const NETWORK_INTERFACE: &str = "AWS::EC2::NetworkInterface";

/// The advanced query whose output `audit --input` reads (and `--aggregator` runs, once per
/// account and region).
pub const SELECT_QUERY: &str = "SELECT accountId, awsRegion, resourceId, resourceType, configuration, tags WHERE resourceType IN ('AWS::EC2::SecurityGroup', 'AWS::EC2::NetworkInterface', 'AWS::EC2::Subnet', 'AWS::EC2::RouteTable', 'AWS::EC2::NetworkAcl')";

/// The resource types of [`SELECT_QUERY`], as its `IN (…)` list.
pub const SELECTED_TYPES: &str = "'AWS::EC2::SecurityGroup', 'AWS::EC2::NetworkInterface', 'AWS::EC2::Subnet', 'AWS::EC2::RouteTable', 'AWS::EC2::NetworkAcl'";

/// The network resource types a Config item or query result may carry (effective exposure), with
/// the describe output key its configuration goes under.
const NETWORK_TYPES: [(&str, &str); 3] = [
    ("AWS::EC2::Subnet", "Subnets"),
    ("AWS::EC2::RouteTable", "RouteTables"),
    ("AWS::EC2::NetworkAcl", "NetworkAcls"),
];

/// A Config item's `configuration` of an EC2 resource is its describe output with camelCase keys:
/// the same keys with their first letter upper case.
fn pascal_keys(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let mut c = k.chars();
                    let key = match c.next() {
                        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                        None => String::new(),
                    };
                    (key, pascal_keys(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(pascal_keys).collect()),
        other => other.clone(),
    }
}

/// An input file could not be used. Each message says what was expected.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: no such file")]
    NoSuchFile { path: String },
    #[error("{path}: cannot read: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{path}: not JSON ({reason}); expected the JSON output of `aws ec2 describe-security-groups`, `aws configservice select-resource-config` or a list of configuration items")]
    NotJson { path: String, reason: String },
    #[error("{path}: not a recognised input ({found}); expected the JSON output of `aws ec2 describe-security-groups` (an object with `SecurityGroups`), of `aws configservice select-resource-config` / `select-aggregate-resource-config` (an object with `Results`), or a list of AWS::EC2::SecurityGroup configuration items")]
    Unrecognised { path: String, found: String },
    #[error("{path}: not `aws ec2 describe-network-interfaces` output ({found}); expected an object with `NetworkInterfaces`")]
    NotInterfaces { path: String, found: String },
    #[error("{path}: nothing to judge: {found}; expected security groups: the JSON output of `aws ec2 describe-security-groups` (or its `--query SecurityGroups` list), of `aws configservice select-resource-config` with `configuration` selected, or AWS::EC2::SecurityGroup configuration items")]
    NothingToJudge { path: String, found: String },
    #[error("{path}: {field}: {reason}")]
    BadRecord {
        path: String,
        field: String,
        reason: String,
    },
}

/// An account and region (either may be unknown, e.g. in `describe-security-groups` output).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    pub account_id: Option<String>,
    pub region: Option<String>,
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}",
            self.account_id.as_deref().unwrap_or("-"),
            self.region.as_deref().unwrap_or("-")
        )
    }
}

/// What is known about one account and region.
#[derive(Clone, Debug, Default)]
pub struct ScopeData {
    pub groups: Vec<Result<SecurityGroup, ModelError>>,
    /// Groups attached to load-balancer interfaces; `None` when no interfaces were given.
    pub load_balancer_groups: Option<BTreeSet<GroupId>>,
}

/// A group read from a configuration item or query result.
struct Found {
    scope: Scope,
    /// The resource id, to keep only the newest item of each group.
    id: Option<String>,
    /// The capture time, sortable text.
    time: Option<String>,
    group: Result<SecurityGroup, ModelError>,
}

/// The newest item of each group so far.
type Kept = Vec<Option<(Scope, Result<SecurityGroup, ModelError>, Option<String>)>>;

/// What one input file held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Read {
    /// Security groups to judge (valid or not).
    pub groups: usize,
    /// Network interfaces (Config items or query results).
    pub interfaces: usize,
    /// Items of deleted or not-recorded groups (no configuration: nothing to judge).
    pub deleted: usize,
    /// Items or results of other resource types.
    pub other_types: usize,
    /// Older configuration items of a group a newer item of the same file describes
    /// (`get-resource-config-history` lists every capture, newest first): not judged.
    pub older: usize,
    /// The file is `describe-security-groups` output (or its `--query SecurityGroups` list), where
    /// no group means an account without groups, not a wrong file.
    pub describe: bool,
    /// The file holds network facts (interfaces, subnets, route tables, NACLs): nothing to judge,
    /// and that is what it is for.
    pub network: bool,
}

impl Read {
    /// Refuses a file with nothing to judge, saying what it held. A describe output with no group
    /// is an account without groups: `Ok(true)` (the caller says so on stderr).
    pub fn nothing_to_judge(&self, path: &str) -> Result<bool, InputError> {
        if self.groups > 0 {
            return Ok(false);
        }
        if self.describe || self.network {
            return Ok(self.describe);
        }
        let mut held = Vec::new();
        if self.interfaces > 0 {
            held.push(format!("{} network interfaces", self.interfaces));
        }
        if self.deleted > 0 {
            held.push(format!(
                "{} items of deleted or not-recorded groups",
                self.deleted
            ));
        }
        if self.other_types > 0 {
            held.push(format!(
                "{} items of other resource types",
                self.other_types
            ));
        }
        let found = if held.is_empty() {
            "it holds no security group".to_string()
        } else {
            format!("it holds only {}", held.join(", "))
        };
        Err(InputError::NothingToJudge {
            path: path.to_string(),
            found,
        })
    }
}

/// Everything read from the inputs, per scope.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub scopes: BTreeMap<Scope, ScopeData>,
    /// Network facts (interfaces, subnets, route tables, NACLs) per account, for effective
    /// exposure; `None` key = files without an owner.
    pub networks: Networks,
}

/// Network facts per account.
pub type Networks = BTreeMap<Option<String>, crate::reach::Network>;

/// Each account's network with the facts that name no account (load balancers, target groups,
/// interfaces of outputs without an owner) added, and targets placed in their target groups.
pub fn finish_networks(networks: Networks) -> Networks {
    let mut networks = networks;
    let Some(shared) = networks.remove(&None) else {
        return networks;
    };
    if networks.is_empty() {
        return [(None, crate::reach::Network::merge([shared]))].into();
    }
    networks
        .into_iter()
        .map(|(k, n)| (k, crate::reach::Network::merge([n, shared.clone()])))
        .collect()
}

impl Inventory {
    /// Reads one `--input` file (any supported shape) and says what it held.
    pub fn read_file(&mut self, path: &Path) -> Result<Read, InputError> {
        let name = path.display().to_string();
        let bytes = read_bytes(path)?;
        // `describe-security-groups` output, the big one, is read in one typed pass: each group
        // becomes the model as soon as it is parsed (no JSON tree of the whole file).
        if let Some(groups) = describe_groups(&name, &bytes)? {
            let read = Read {
                groups: groups.len(),
                describe: true,
                ..Read::default()
            };
            for g in groups {
                let scope = Scope {
                    account_id: match &g {
                        Ok(g) => g.owner_id.clone(),
                        Err(_) => None,
                    },
                    region: None,
                };
                self.scope(scope).groups.push(g);
            }
            return Ok(read);
        }
        self.add_bytes(&name, &bytes)
    }

    /// Adds parsed input; `name` is used in error messages. Says what it held.
    pub fn add_json(&mut self, name: &str, value: Value) -> Result<Read, InputError> {
        // A recorded API response (Cloud Custodian's placebo files: `{"status_code": 200,
        // "data": {"SecurityGroups": [...]}}`): the response is in `data`.
        if let Value::Object(o) = &value {
            if o.contains_key("status_code") && o.get("data").is_some_and(Value::is_object) {
                let mut o = o.clone();
                let data = o.remove("data").unwrap_or_default();
                return self.add_json(name, data);
            }
        }
        match &value {
            Value::Object(o) if o.contains_key("SecurityGroups") => {
                let out = DescribeOutput::deserialize(&value)
                    .map_err(|e| bad(name, "SecurityGroups", e))?;
                Ok(self.add_described(out.security_groups))
            }
            // `aws ec2 describe-security-groups --query SecurityGroups`: the bare list.
            Value::Array(list) if list.iter().any(|v| v.get("GroupId").is_some()) => {
                let groups: Vec<DescribedGroup> = serde_path_to_error::deserialize(&value)
                    .map_err(|e| bad(name, &e.path().to_string(), e.inner()))?;
                Ok(self.add_described(groups))
            }
            Value::Array(list) if list.iter().any(|v| v.get("NetworkInterfaceId").is_some()) => {
                let n = add_network(
                    &mut self.networks,
                    name,
                    &serde_json::json!({ "NetworkInterfaces": value }),
                )?;
                Ok(Read {
                    interfaces: n,
                    network: true,
                    ..Read::default()
                })
            }
            Value::Object(o) if o.contains_key("Results") => {
                let results: Vec<String> = serde_json::from_value(o["Results"].clone())
                    .map_err(|e| bad(name, "Results", e))?;
                let mut records = Vec::with_capacity(results.len());
                for (i, text) in results.iter().enumerate() {
                    let field = format!("Results[{i}]");
                    let record: Value =
                        serde_json::from_str(text).map_err(|e| bad(name, &field, e))?;
                    records.push((field, record, true));
                }
                self.add_records(name, records)
            }
            Value::Object(o) if NETWORK_KEYS.iter().any(|k| o.contains_key(*k)) => {
                let n = add_network(&mut self.networks, name, &value)?;
                Ok(Read {
                    interfaces: n,
                    network: true,
                    ..Read::default()
                })
            }
            Value::Object(o) => {
                let key = ["configurationItems", "baseConfigurationItems"]
                    .into_iter()
                    .find(|k| o.contains_key(*k));
                match key {
                    Some(key) => self.add_items(name, key, &o[key]),
                    None => Err(InputError::Unrecognised {
                        path: name.to_string(),
                        found: describe_keys(&value),
                    }),
                }
            }
            // An empty list: no groups, as an account without any.
            Value::Array(list) if list.is_empty() => Ok(Read {
                describe: true,
                ..Read::default()
            }),
            Value::Array(_) => self.add_items(name, "", &value),
            other => Err(InputError::Unrecognised {
                path: name.to_string(),
                found: format!("a JSON {}", kind(other)),
            }),
        }
    }

    fn add_described(&mut self, groups: Vec<DescribedGroup>) -> Read {
        let read = Read {
            groups: groups.len(),
            describe: true,
            ..Read::default()
        };
        for g in groups {
            let scope = Scope {
                account_id: g.owner_id.as_deref().map(str::to_string),
                region: None,
            };
            self.scope(scope).groups.push(g.into_model());
        }
        read
    }

    fn add_items(&mut self, name: &str, key: &str, list: &Value) -> Result<Read, InputError> {
        let Value::Array(items) = list else {
            return Err(bad(name, key, "not a list"));
        };
        let records = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let field = if key.is_empty() {
                    format!("[{i}]")
                } else {
                    format!("{key}[{i}]")
                };
                (field, item.clone(), false)
            })
            .collect();
        self.add_records(name, records)
    }

    /// Configuration items or advanced-query results (`query` for the latter). Of several items
    /// of one group (`get-resource-config-history`), only the newest is judged.
    fn add_records(
        &mut self,
        name: &str,
        records: Vec<(String, Value, bool)>,
    ) -> Result<Read, InputError> {
        let mut read = Read::default();
        // The newest capture of each resource: index into `kept` by (scope, resource id).
        let mut newest: BTreeMap<(Scope, String), usize> = BTreeMap::new();
        let mut kept: Kept = Vec::new();
        for (field, record, query) in records {
            let Some(Found {
                scope,
                id,
                time,
                group,
            }) = self.add_record(name, &field, record, query, &mut read)?
            else {
                continue;
            };
            let key = id.map(|id| (scope.clone(), id));
            match key.as_ref().and_then(|k| newest.get(k).copied()) {
                Some(i) => {
                    read.older += 1;
                    let newer = match (&kept[i], &time) {
                        (Some((_, _, Some(old))), Some(new)) => new.as_str() > old.as_str(),
                        _ => false,
                    };
                    if newer {
                        kept[i] = Some((scope, group, time));
                    }
                }
                None => {
                    if let Some(k) = key {
                        newest.insert(k, kept.len());
                    }
                    kept.push(Some((scope, group, time)));
                }
            }
        }
        for (scope, group, _) in kept.into_iter().flatten() {
            read.groups += 1;
            self.scope(scope).groups.push(group);
        }
        Ok(read)
    }

    /// One configuration item or advanced-query result: a group (with its scope, resource id and
    /// capture time) to judge, or `None` (an interface, another type, a deleted group: counted).
    fn add_record(
        &mut self,
        name: &str,
        field: &str,
        record: Value,
        query: bool,
        read: &mut Read,
    ) -> Result<Option<Found>, InputError> {
        let rec: Record = serde_path_to_error::deserialize(&record)
            .map_err(|e| bad(name, &format!("{field}.{}", e.path()), e.inner()))?;
        let resource_type = rec.resource_type.as_deref().unwrap_or(SECURITY_GROUP);
        let network_key = NETWORK_TYPES
            .iter()
            .find(|(t, _)| *t == resource_type)
            .map(|(_, k)| *k);
        if resource_type != SECURITY_GROUP
            && resource_type != NETWORK_INTERFACE
            && network_key.is_none()
        {
            read.other_types += 1;
            return Ok(None);
        }
        let configuration = match rec.configuration {
            Some(Value::String(text)) => serde_json::from_str(&text)
                .map_err(|e| bad(name, &format!("{field}.configuration"), e))?,
            Some(v @ Value::Object(_)) => v,
            // Deleted / not-recorded items carry no configuration: nothing to audit.
            Some(Value::Null) | None if rec.is_gone() => {
                read.deleted += 1;
                return Ok(None);
            }
            None | Some(Value::Null) => {
                let what = if query {
                    "select `configuration` in the query (the README's: SELECT accountId, awsRegion, resourceId, resourceType, configuration, tags …)"
                } else {
                    "is this a configuration item? (`--query` output with fewer fields cannot be judged)"
                };
                return Err(bad(
                    name,
                    &format!("{field}.configuration"),
                    format!("is missing: {what}"),
                ));
            }
            Some(other) => {
                return Err(bad(
                    name,
                    &format!("{field}.configuration"),
                    format!(
                        "expected an object or a JSON string, got a {}",
                        kind(&other)
                    ),
                ))
            }
        };
        // `arn:aws:ec2:REGION:ACCOUNT:security-group/sg-…` when the item has no region (the Config
        // guide's own history example) or no account.
        let arn: Vec<&str> = rec.arn.as_deref().unwrap_or("").split(':').collect();
        let from_arn = |i: usize| {
            arn.get(i)
                .filter(|v| !v.is_empty() && arn.len() >= 6)
                .map(|v| v.to_string())
        };
        let scope = Scope {
            account_id: rec
                .account_id
                .or(rec.aws_account_id)
                .or_else(|| from_arn(4)),
            region: rec.aws_region.or_else(|| from_arn(3)),
        };
        // A network resource in its describe shape, under the item's account.
        let mut add_network_item = |key: &str| {
            let mut conf = pascal_keys(&configuration);
            if let (Value::Object(o), Some(account)) = (&mut conf, &scope.account_id) {
                o.entry("OwnerId")
                    .or_insert_with(|| Value::String(account.clone()));
            }
            add_network(
                &mut self.networks,
                name,
                &serde_json::json!({ key: [conf] }),
            )
            .map(|_| ())
            .map_err(|e| bad(name, field, e))
        };
        if let Some(key) = network_key {
            // Subnets, route tables, NACLs.
            add_network_item(key)?;
            read.network = true;
            return Ok(None);
        }
        if resource_type == NETWORK_INTERFACE {
            // Its network facts (effective exposure) as well as the load-balancer groups.
            add_network_item("NetworkInterfaces")?;
            let eni: ItemInterface =
                serde_path_to_error::deserialize(&configuration).map_err(|e| {
                    bad(
                        name,
                        &format!("{field}.configuration.{}", e.path()),
                        e.inner(),
                    )
                })?;
            read.interfaces += 1;
            let lb = self
                .scope(scope)
                .load_balancer_groups
                .get_or_insert_with(BTreeSet::new);
            if crate::model::is_load_balancer_interface(
                eni.requester_id.as_deref(),
                eni.description.as_deref(),
            ) {
                lb.extend(
                    eni.groups
                        .iter()
                        .filter_map(|g| g.group_id.as_deref())
                        .filter_map(|id| GroupId::parse(id).ok()),
                );
            }
            return Ok(None);
        }
        let tags = rec.tags.into_map();
        let group = from_config_item(&configuration, &tags);
        let id = rec.resource_id.or_else(|| {
            configuration
                .get("groupId")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        Ok(Some(Found {
            scope,
            id,
            time: rec.configuration_item_capture_time,
            group,
        }))
    }

    /// Reads a `--network-interfaces` file: the load-balancer groups apply to every scope.
    pub fn read_interfaces(&mut self, path: &Path) -> Result<(), InputError> {
        let lb = read_interface_groups(path)?;
        if self.scopes.is_empty() {
            self.scope(Scope::default());
        }
        for data in self.scopes.values_mut() {
            data.load_balancer_groups
                .get_or_insert_with(BTreeSet::new)
                .extend(lb.iter().cloned());
        }
        Ok(())
    }

    /// Adds the contents of an input file already read (any supported shape but
    /// `describe-security-groups` output, which [`Inventory::read_file`] reads).
    pub fn add_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<Read, InputError> {
        let value = serde_json::from_slice(bytes).map_err(|e| InputError::NotJson {
            path: name.to_string(),
            reason: e.to_string(),
        })?;
        self.add_json(name, value)
    }

    fn scope(&mut self, scope: Scope) -> &mut ScopeData {
        self.scopes.entry(scope).or_default()
    }

    /// How many groups (valid or not) were read.
    pub fn group_count(&self) -> usize {
        self.scopes.values().map(|s| s.groups.len()).sum()
    }
}

/// The groups attached to load-balancer interfaces in a `describe-network-interfaces` file.
pub fn read_interface_groups(path: &Path) -> Result<BTreeSet<GroupId>, InputError> {
    let name = path.display().to_string();
    let value = read_json(path)?;
    // The output, or its `--query NetworkInterfaces` list.
    let (list, prefix) = match &value {
        Value::Array(_) => (&value, ""),
        _ => match value.get("NetworkInterfaces") {
            Some(list) => (list, "NetworkInterfaces"),
            None => {
                return Err(InputError::NotInterfaces {
                    path: name,
                    found: describe_keys(&value),
                })
            }
        },
    };
    let enis: Vec<DescribedInterface> = serde_path_to_error::deserialize(list)
        .map_err(|e| bad(&name, &format!("{prefix}{}", e.path()), e.inner()))?;
    let lb: BTreeSet<GroupId> = enis
        .iter()
        .filter(|e| {
            crate::model::is_load_balancer_interface(
                e.requester_id.as_deref(),
                e.description.as_deref(),
            )
        })
        .flat_map(|e| e.groups.iter().filter_map(|g| g.group_id.as_deref()))
        .filter_map(|id| GroupId::parse(id).ok())
        .collect();
    Ok(lb)
}

/// A file's bytes; the error names the file.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, InputError> {
    let name = path.display().to_string();
    let err = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => InputError::NoSuchFile { path: name.clone() },
        _ => InputError::Unreadable {
            path: name.clone(),
            reason: e.to_string(),
        },
    };
    #[cfg(unix)]
    if let Some(bytes) = read_large(path).map_err(err)? {
        return Ok(bytes);
    }
    std::fs::read(path).map_err(err)
}

/// A large regular file read in two halves at once: from the page cache, most of a read's time is
/// the page faults of the new buffer, and two cores take them twice as fast. `None` for small files,
/// anything that is not a regular file, and a file that grew while it was read.
#[cfg(unix)]
fn read_large(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::os::unix::fs::FileExt;
    const LARGE: u64 = 16 << 20;
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    let Ok(len) = usize::try_from(meta.len()) else {
        return Ok(None);
    };
    if !meta.is_file() || meta.len() < LARGE {
        return Ok(None);
    }
    let mut bytes = vec![0u8; len];
    let (head, tail) = bytes.split_at_mut(len / 2);
    let (first, second) = std::thread::scope(|s| {
        let second = s.spawn(|| file.read_exact_at(tail, (len / 2) as u64));
        let first = file.read_exact_at(head, 0);
        (first, second.join())
    });
    first?;
    match second {
        Ok(read) => read?,
        Err(panic) => std::panic::resume_unwind(panic),
    }
    // Shorter than its size said (read_exact_at fails) or longer now: read it the usual way.
    let mut more = [0u8; 1];
    if file.read_at(&mut more, len as u64)? != 0 {
        return Ok(None);
    }
    Ok(Some(bytes))
}

fn read_json(path: &Path) -> Result<Value, InputError> {
    let name = path.display().to_string();
    serde_json::from_slice(&read_bytes(path)?).map_err(|e| InputError::NotJson {
        path: name,
        reason: e.to_string(),
    })
}

/// The groups of `describe-security-groups` output, each converted as it is parsed; `None` when
/// the bytes are some other shape.
fn describe_groups(
    name: &str,
    bytes: &[u8],
) -> Result<Option<Vec<Result<SecurityGroup, ModelError>>>, InputError> {
    let mut groups = Vec::new();
    let found = describe_pages(name, bytes, usize::MAX, &mut |page| groups.extend(page))?;
    Ok(found.then_some(groups))
}

/// A page of groups as parsed, each validated on its own.
pub type Page = Vec<Result<SecurityGroup, ModelError>>;

/// Reads `describe-security-groups` output (`{"SecurityGroups": [...]}`) in one pass, handing each
/// `page_size` groups to `on_page` as soon as they are parsed, so a large file is never held as
/// models. `Ok(false)` when the bytes are some other shape (nothing was handed over then). A
/// file that is not valid is read again to name the field that broke it.
pub fn describe_pages(
    name: &str,
    bytes: &[u8],
    page_size: usize,
    on_page: &mut dyn FnMut(Page),
) -> Result<bool, InputError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Ok(false);
    }
    let seen = std::cell::Cell::new(false);
    use serde::de::DeserializeSeed;
    let seed = DescribeSeed {
        page_size: page_size.max(1),
        on_page,
        seen: &seen,
    };
    match seed.deserialize(&mut serde_json::Deserializer::from_slice(bytes)) {
        Ok(found) => Ok(found),
        // Broken before any `SecurityGroups`: not this format; the caller's reader says why.
        Err(_) if !seen.get() => Ok(false),
        Err(first) => {
            let mut ignore = |_: Page| {};
            let mut track = serde_path_to_error::Track::new();
            let seed = DescribeSeed {
                page_size: usize::MAX,
                on_page: &mut ignore,
                seen: &seen,
            };
            let located = seed.deserialize(serde_path_to_error::Deserializer::new(
                &mut serde_json::Deserializer::from_slice(bytes),
                &mut track,
            ));
            Err(match located {
                Err(e) => bad(name, &track.path().to_string(), e),
                Ok(_) => bad(name, "SecurityGroups", first),
            })
        }
    }
}

/// The top-level object: `SecurityGroups` is read page by page, anything else skipped.
struct DescribeSeed<'a> {
    page_size: usize,
    on_page: &'a mut dyn FnMut(Page),
    /// Set once the `SecurityGroups` key is read.
    seen: &'a std::cell::Cell<bool>,
}

impl<'de> serde::de::DeserializeSeed<'de> for DescribeSeed<'_> {
    type Value = bool;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for DescribeSeed<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "SecurityGroups" && !found {
                found = true;
                self.seen.set(true);
                map.next_value_seed(GroupsSeed {
                    page_size: self.page_size,
                    on_page: &mut *self.on_page,
                })?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The `SecurityGroups` list, each entry turned into the model as it is read.
struct GroupsSeed<'a> {
    page_size: usize,
    on_page: &'a mut dyn FnMut(Page),
}

impl<'de> serde::de::DeserializeSeed<'de> for GroupsSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for GroupsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of security groups")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut page = Vec::new();
        while let Some(g) = seq.next_element::<DescribedGroup>()? {
            page.push(g.into_model());
            if page.len() >= self.page_size {
                (self.on_page)(std::mem::take(&mut page));
            }
        }
        if !page.is_empty() {
            (self.on_page)(page);
        }
        Ok(())
    }
}

/// The VPC of every group in `describe-security-groups` output, read in a quick pass that reads
/// nothing else, so groups judged page by page still know where a load balancer's group lives.
/// Compact: a group id is a number ([`GroupId::number`]; one with uppercase digits is kept as its
/// text) and each VPC id is stored once.
#[derive(Debug, Default)]
pub struct VpcIndex {
    by_group: std::collections::HashMap<u128, std::sync::Arc<str>>,
    by_text: std::collections::HashMap<String, std::sync::Arc<str>>,
}

impl VpcIndex {
    pub fn of_describe_output(bytes: &[u8]) -> VpcIndex {
        #[derive(Deserialize)]
        struct Ids<'a> {
            #[serde(rename = "SecurityGroups", borrow, default)]
            security_groups: Vec<Id<'a>>,
        }
        #[derive(Deserialize)]
        struct Id<'a> {
            #[serde(rename = "GroupId", borrow)]
            group_id: Option<std::borrow::Cow<'a, str>>,
            #[serde(rename = "VpcId", borrow)]
            vpc_id: Option<std::borrow::Cow<'a, str>>,
        }
        let mut index = VpcIndex::default();
        let mut vpcs: BTreeSet<std::sync::Arc<str>> = BTreeSet::new();
        // A file that does not parse has no groups to place (its errors are reported elsewhere).
        let Ok(ids) = serde_json::from_slice::<Ids>(bytes) else {
            return index;
        };
        for g in ids.security_groups {
            let (Some(id), Some(vpc)) = (g.group_id, g.vpc_id) else {
                continue;
            };
            let Ok(id) = GroupId::parse(&id) else {
                continue;
            };
            let vpc = match vpcs.get(vpc.as_ref()) {
                Some(shared) => shared.clone(),
                None => {
                    let shared: std::sync::Arc<str> = std::sync::Arc::from(vpc.as_ref());
                    vpcs.insert(shared.clone());
                    shared
                }
            };
            match id.number() {
                Some(key) => index.by_group.insert(key, vpc),
                None => index.by_text.insert(id.as_str().to_string(), vpc),
            };
        }
        index
    }

    pub fn get(&self, group: &GroupId) -> Option<String> {
        match group.number() {
            Some(key) => self.by_group.get(&key),
            None => self.by_text.get(group.as_str()),
        }
        .map(|v| v.to_string())
    }
}

fn bad(path: &str, field: &str, reason: impl std::fmt::Display) -> InputError {
    InputError::BadRecord {
        path: path.to_string(),
        field: field.to_string(),
        reason: reason.to_string(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

fn describe_keys(v: &Value) -> String {
    match v {
        Value::Object(o) => {
            let keys: Vec<&str> = o.keys().take(5).map(String::as_str).collect();
            format!("an object with keys {}", keys.join(", "))
        }
        other => format!("a JSON {}", kind(other)),
    }
}

/// A configuration item or an advanced-query result, in any of Config's spellings.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    resource_type: Option<String>,
    resource_id: Option<String>,
    account_id: Option<String>,
    aws_account_id: Option<String>,
    aws_region: Option<String>,
    arn: Option<String>,
    configuration_item_status: Option<String>,
    /// ISO 8601 text (`get-resource-config-history`) or epoch seconds (some exporters).
    #[serde(default, deserialize_with = "time_text")]
    configuration_item_capture_time: Option<String>,
    configuration: Option<Value>,
    #[serde(default)]
    tags: Tags,
}

impl Record {
    /// A deleted or not-recorded resource: its item carries no configuration.
    fn is_gone(&self) -> bool {
        matches!(
            self.configuration_item_status.as_deref(),
            Some("ResourceDeleted" | "ResourceNotRecorded" | "ResourceDeletedNotRecorded")
        )
    }
}

/// A capture time as sortable text: ISO 8601 as written, epoch seconds zero-padded.
fn time_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(format!("{:020.6}", n.as_f64().unwrap_or(0.0))),
        _ => None,
    })
}

/// Tags as a map (configuration items) or a list of `{key, value}` (advanced queries).
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Tags {
    #[default]
    None,
    Map(BTreeMap<String, Option<String>>),
    List(Vec<KeyValue>),
}

#[derive(Deserialize)]
struct KeyValue {
    key: String,
    value: Option<String>,
}

impl Tags {
    fn into_map(self) -> BTreeMap<String, String> {
        match self {
            Tags::None => BTreeMap::new(),
            Tags::Map(m) => m
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect(),
            Tags::List(l) => l
                .into_iter()
                .map(|t| (t.key, t.value.unwrap_or_default()))
                .collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemInterface {
    requester_id: Option<String>,
    description: Option<String>,
    #[serde(default)]
    groups: Vec<ItemGroup>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemGroup {
    group_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribedInterface {
    requester_id: Option<String>,
    description: Option<String>,
    #[serde(default)]
    groups: Vec<DescribedGroupRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribedGroupRef {
    group_id: Option<String>,
}

/// The top-level keys of network output: EC2's describe calls and ELBv2's.
const NETWORK_KEYS: [&str; 8] = [
    "NetworkInterfaces",
    "Subnets",
    "RouteTables",
    "NetworkAcls",
    "LoadBalancers",
    "TargetGroups",
    "TargetHealthDescriptions",
    "TargetHealth",
];

/// Whether the bytes are network output (`describe-network-interfaces`, `-subnets`,
/// `-route-tables`, `-network-acls`, the `--query NetworkInterfaces` list, or `elbv2`'s
/// load balancers, target groups and target health), from its first key
/// alone (a large `describe-security-groups` file is not parsed for it).
pub fn is_network_output(bytes: &[u8]) -> bool {
    let text = &bytes[..bytes.len().min(4096)];
    let Some(start) = text.iter().position(|b| !b.is_ascii_whitespace()) else {
        return false;
    };
    match text[start] {
        b'{' => {
            let rest = &text[start + 1..];
            let Some(q) = rest.iter().position(|b| *b == b'"') else {
                return false;
            };
            let key = &rest[q + 1..];
            // `describe-target-health` output with `TargetGroupArn` added in front.
            NETWORK_KEYS
                .iter()
                .chain(&["TargetGroupArn"])
                .any(|k| key.starts_with(format!("{k}\"").as_bytes()))
        }
        b'[' => {
            // A bare list: network interfaces carry `NetworkInterfaceId` (the first object shows it).
            let head = String::from_utf8_lossy(text);
            head.contains("\"NetworkInterfaceId\"") && !head.contains("\"GroupName\"")
        }
        _ => false,
    }
}

/// Reads `describe-network-interfaces`, `describe-subnets`, `describe-route-tables`,
/// `describe-network-acls` output (per owner account), or `elbv2 describe-load-balancers`,
/// `describe-target-groups`, `describe-target-health` output (shared: under `None`, merged into
/// each account by [`finish_networks`]); detected by its top-level key. Returns how many records
/// it held.
pub fn add_network(
    networks: &mut Networks,
    name: &str,
    value: &Value,
) -> Result<usize, InputError> {
    use crate::reach::{Interface, Nacl, NaclEntry, Route, RouteTable};
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Eni {
        network_interface_id: Option<String>,
        subnet_id: Option<String>,
        vpc_id: Option<String>,
        owner_id: Option<String>,
        #[serde(default)]
        groups: Vec<DescribedGroupRef>,
        association: Option<Assoc>,
        #[serde(default)]
        ipv6_addresses: Vec<V6>,
        attachment: Option<Attachment>,
        private_ip_address: Option<String>,
        #[serde(default)]
        private_ip_addresses: Vec<PrivateIp>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Attachment {
        instance_id: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct PrivateIp {
        private_ip_address: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Lb {
        load_balancer_arn: Option<String>,
        load_balancer_name: Option<String>,
        scheme: Option<String>,
        #[serde(rename = "Type")]
        kind: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Tg {
        target_group_arn: Option<String>,
        target_group_name: Option<String>,
        port: Option<i64>,
        protocol: Option<String>,
        target_type: Option<String>,
        #[serde(default)]
        load_balancer_arns: Vec<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Health {
        target_group_arn: Option<String>,
        #[serde(default)]
        target_health_descriptions: Vec<HealthDescription>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct HealthDescription {
        target: Option<TargetRecord>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct TargetRecord {
        id: Option<String>,
        port: Option<i64>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Assoc {
        public_ip: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct V6 {
        ipv6_address: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct SubnetRecord {
        subnet_id: Option<String>,
        vpc_id: Option<String>,
        owner_id: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Table {
        route_table_id: Option<String>,
        vpc_id: Option<String>,
        owner_id: Option<String>,
        #[serde(default)]
        associations: Vec<TableAssoc>,
        #[serde(default)]
        routes: Vec<RouteRecord>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct TableAssoc {
        #[serde(default)]
        main: bool,
        subnet_id: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct RouteRecord {
        destination_cidr_block: Option<String>,
        destination_ipv6_cidr_block: Option<String>,
        gateway_id: Option<String>,
        nat_gateway_id: Option<String>,
        egress_only_internet_gateway_id: Option<String>,
        transit_gateway_id: Option<String>,
        vpc_peering_connection_id: Option<String>,
        network_interface_id: Option<String>,
        instance_id: Option<String>,
        state: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Acl {
        network_acl_id: Option<String>,
        vpc_id: Option<String>,
        owner_id: Option<String>,
        #[serde(default)]
        is_default: bool,
        #[serde(default)]
        associations: Vec<AclAssoc>,
        #[serde(default)]
        entries: Vec<AclEntry>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct AclAssoc {
        subnet_id: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct AclEntry {
        rule_number: Option<i64>,
        protocol: Option<String>,
        rule_action: Option<String>,
        #[serde(default)]
        egress: bool,
        cidr_block: Option<String>,
        ipv6_cidr_block: Option<String>,
        port_range: Option<Ports>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Ports {
        from: Option<i64>,
        to: Option<i64>,
    }
    fn list<T: serde::de::DeserializeOwned>(
        name: &str,
        value: &Value,
        key: &str,
    ) -> Result<Vec<T>, InputError> {
        match value.get(key) {
            None => Ok(Vec::new()),
            Some(v) => serde_path_to_error::deserialize(v)
                .map_err(|e| bad(name, &format!("{key}{}", e.path()), e.inner())),
        }
    }
    let net = |s: &str, field: &str| -> Result<IpNet, InputError> {
        s.trim()
            .parse::<IpNet>()
            .map(|n| n.trunc())
            .map_err(|_| bad(name, field, format!("`{s}` is not a CIDR")))
    };
    let mut count = 0;
    for (i, e) in list::<Eni>(name, value, "NetworkInterfaces")?
        .into_iter()
        .enumerate()
    {
        count += 1;
        let field = |f: &str| format!("NetworkInterfaces[{i}].{f}");
        let addr = |s: &str, f: &str| -> Result<std::net::IpAddr, InputError> {
            s.trim()
                .parse()
                .map_err(|_| bad(name, &field(f), format!("`{s}` is not an IP address")))
        };
        let public_ipv4 = match e.association.and_then(|a| a.public_ip) {
            Some(ip) => Some(addr(&ip, "Association.PublicIp")?),
            None => None,
        };
        let mut ipv6 = Vec::new();
        for v in e
            .ipv6_addresses
            .iter()
            .filter_map(|v| v.ipv6_address.as_deref())
        {
            ipv6.push(addr(v, "Ipv6Addresses")?);
        }
        let mut private_ips = Vec::new();
        for v in e.private_ip_address.iter().map(String::as_str).chain(
            e.private_ip_addresses
                .iter()
                .filter_map(|p| p.private_ip_address.as_deref()),
        ) {
            let a = addr(v, "PrivateIpAddresses")?;
            if !private_ips.contains(&a) {
                private_ips.push(a);
            }
        }
        networks
            .entry(e.owner_id)
            .or_default()
            .interfaces
            .push(Interface {
                id: e.network_interface_id.unwrap_or_else(|| format!("[{i}]")),
                subnet_id: e.subnet_id,
                vpc_id: e.vpc_id,
                groups: e
                    .groups
                    .iter()
                    .filter_map(|g| g.group_id.as_deref())
                    .filter_map(|id| GroupId::parse(id).ok())
                    .collect(),
                public_ipv4,
                ipv6,
                instance_id: e.attachment.and_then(|a| a.instance_id),
                private_ips,
            });
    }
    // Elastic Load Balancing (v2): load balancers, target groups, and their targets
    // (`describe-target-health` output with the group's `TargetGroupArn` added, one object, or a
    // list of them under `TargetHealth`).
    let shared = networks.entry(None).or_default();
    for (i, lb) in list::<Lb>(name, value, "LoadBalancers")?
        .into_iter()
        .enumerate()
    {
        count += 1;
        shared.load_balancers.push(crate::reach::LoadBalancer {
            arn: lb.load_balancer_arn.unwrap_or_else(|| format!("[{i}]")),
            name: lb.load_balancer_name.unwrap_or_default(),
            internet_facing: lb.scheme.as_deref() == Some("internet-facing"),
            kind: lb.kind.unwrap_or_else(|| "application".into()),
        });
    }
    for (i, tg) in list::<Tg>(name, value, "TargetGroups")?
        .into_iter()
        .enumerate()
    {
        count += 1;
        let port = match tg.port {
            Some(p) => Some(u16::try_from(p).map_err(|_| {
                bad(
                    name,
                    &format!("TargetGroups[{i}].Port"),
                    format!("{p} is not a port"),
                )
            })?),
            None => None,
        };
        shared.target_groups.push(crate::reach::TargetGroup {
            arn: tg.target_group_arn.unwrap_or_else(|| format!("[{i}]")),
            name: tg.target_group_name.unwrap_or_default(),
            port,
            protocol: tg.protocol.unwrap_or_else(|| "TCP".into()),
            target_type: tg.target_type.unwrap_or_else(|| "instance".into()),
            load_balancers: tg.load_balancer_arns,
            targets: Vec::new(),
        });
    }
    let healths: Vec<Health> = match value.get("TargetHealthDescriptions") {
        Some(_) => vec![serde_path_to_error::deserialize(value)
            .map_err(|e| bad(name, &e.path().to_string(), e.inner()))?],
        None => list::<Health>(name, value, "TargetHealth")?,
    };
    for (i, h) in healths.into_iter().enumerate() {
        count += 1;
        let Some(arn) = h.target_group_arn else {
            return Err(bad(
                name,
                &format!("[{i}].TargetGroupArn"),
                "is missing: describe-target-health does not name its target group; add it (jq --arg a ARN '. + {TargetGroupArn: $a}')",
            ));
        };
        let mut targets = Vec::new();
        for (j, d) in h.target_health_descriptions.iter().enumerate() {
            let Some(t) = &d.target else { continue };
            let Some(id) = &t.id else { continue };
            let port = match t.port {
                Some(p) => Some(u16::try_from(p).map_err(|_| {
                    bad(
                        name,
                        &format!("TargetHealthDescriptions[{j}].Target.Port"),
                        format!("{p} is not a port"),
                    )
                })?),
                None => None,
            };
            targets.push((id.clone(), port));
        }
        shared.pending_targets.push((arn, targets));
    }
    for s in list::<SubnetRecord>(name, value, "Subnets")? {
        count += 1;
        if let (Some(id), Some(vpc)) = (s.subnet_id, s.vpc_id) {
            networks
                .entry(s.owner_id)
                .or_default()
                .subnets
                .insert(id, vpc);
        }
    }
    for (i, t) in list::<Table>(name, value, "RouteTables")?
        .into_iter()
        .enumerate()
    {
        count += 1;
        let mut routes = Vec::new();
        for (j, r) in t.routes.iter().enumerate() {
            if r.state.as_deref() == Some("blackhole") {
                continue;
            }
            let Some(dest) = r
                .destination_cidr_block
                .as_deref()
                .or(r.destination_ipv6_cidr_block.as_deref())
            else {
                continue; // a prefix-list destination: not a public default route
            };
            let target = [
                &r.gateway_id,
                &r.nat_gateway_id,
                &r.egress_only_internet_gateway_id,
                &r.transit_gateway_id,
                &r.vpc_peering_connection_id,
                &r.network_interface_id,
                &r.instance_id,
            ]
            .into_iter()
            .flatten()
            .next()
            .cloned()
            .unwrap_or_else(|| "unknown".into());
            routes.push(Route {
                destination: net(
                    dest,
                    &format!("RouteTables[{i}].Routes[{j}].DestinationCidrBlock"),
                )?,
                target,
            });
        }
        networks
            .entry(t.owner_id)
            .or_default()
            .route_tables
            .push(RouteTable {
                id: t.route_table_id.unwrap_or_else(|| format!("[{i}]")),
                vpc_id: t.vpc_id,
                main: t.associations.iter().any(|a| a.main),
                subnets: t
                    .associations
                    .into_iter()
                    .filter_map(|a| a.subnet_id)
                    .collect(),
                routes,
            });
    }
    for (i, a) in list::<Acl>(name, value, "NetworkAcls")?
        .into_iter()
        .enumerate()
    {
        count += 1;
        let mut entries = Vec::new();
        for (j, e) in a.entries.iter().enumerate() {
            let field = |f: &str| format!("NetworkAcls[{i}].Entries[{j}].{f}");
            let Some(cidr) = e.cidr_block.as_deref().or(e.ipv6_cidr_block.as_deref()) else {
                continue;
            };
            let protocol = match e.protocol.as_deref().map(str::trim) {
                None | Some("-1") | Some("all") => None,
                Some(p) => Some(
                    crate::model::Protocol::parse(p)
                        .map_err(|why| bad(name, &field("Protocol"), why))?,
                ),
            };
            let ports = match (&e.port_range, protocol.is_some_and(|p| p.has_ports())) {
                (
                    Some(Ports {
                        from: Some(f),
                        to: Some(t),
                    }),
                    true,
                ) => Some(
                    crate::ports::PortRange::new(
                        u16::try_from(*f).map_err(|_| {
                            bad(name, &field("PortRange.From"), format!("{f} is not a port"))
                        })?,
                        u16::try_from(*t).map_err(|_| {
                            bad(name, &field("PortRange.To"), format!("{t} is not a port"))
                        })?,
                    )
                    .ok_or_else(|| bad(name, &field("PortRange"), "From is greater than To"))?,
                ),
                _ => None,
            };
            entries.push(NaclEntry {
                number: e
                    .rule_number
                    .ok_or_else(|| bad(name, &field("RuleNumber"), "is missing"))?,
                egress: e.egress,
                protocol,
                ports,
                cidr: net(cidr, &field("CidrBlock"))?,
                allow: match e.rule_action.as_deref() {
                    Some("allow") => true,
                    Some("deny") => false,
                    other => {
                        return Err(bad(
                            name,
                            &field("RuleAction"),
                            format!("{other:?}: expected allow or deny"),
                        ))
                    }
                },
            });
        }
        networks.entry(a.owner_id).or_default().nacls.push(Nacl {
            id: a.network_acl_id.unwrap_or_else(|| format!("[{i}]")),
            vpc_id: a.vpc_id,
            default: a.is_default,
            subnets: a
                .associations
                .into_iter()
                .filter_map(|a| a.subnet_id)
                .collect(),
            entries,
        });
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    /// The quick pass places each group in its VPC, and an id that differs only in case is another
    /// group, not its lowercase twin.
    #[test]
    fn vpc_index_places_every_group_exactly() {
        let file = json!({"SecurityGroups": [
            {"GroupId": "sg-0123456789abcdef0", "VpcId": "vpc-1"},
            {"GroupId": "sg-0123456789ABCDEF0", "VpcId": "vpc-2"},
            {"GroupId": "sg-0123abcd", "VpcId": "vpc-1"},
            {"GroupId": "sg-00000000"},
            {"GroupId": "not-an-id", "VpcId": "vpc-3"},
        ]});
        let index = VpcIndex::of_describe_output(file.to_string().as_bytes());
        let vpc = |id: &str| index.get(&GroupId::parse(id).unwrap());
        assert_eq!(vpc("sg-0123456789abcdef0").as_deref(), Some("vpc-1"));
        assert_eq!(vpc("sg-0123456789ABCDEF0").as_deref(), Some("vpc-2"));
        assert_eq!(vpc("sg-0123abcd").as_deref(), Some("vpc-1"));
        assert_eq!(vpc("sg-00000000"), None, "no VpcId: no VPC");
        assert_eq!(vpc("sg-0123456789abcdef1"), None);
        assert_eq!(index.by_group.len() + index.by_text.len(), 3);
    }

    /// A large file is read in two halves at once: the same bytes as one read, to the last one;
    /// small files and what is not a regular file are read the usual way.
    #[test]
    fn large_files_read_in_halves_are_the_same_bytes() {
        let dir = std::env::temp_dir().join(format!("sg-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let large = dir.join("large.json");
        let bytes: Vec<u8> = (0..(17u32 << 20) + 3).map(|i| (i % 251) as u8).collect();
        std::fs::write(&large, &bytes).unwrap();
        assert_eq!(read_bytes(&large).unwrap(), bytes);
        let small = dir.join("small.json");
        std::fs::write(&small, b"{}").unwrap();
        assert_eq!(read_bytes(&small).unwrap(), b"{}");
        assert!(read_bytes(Path::new("/dev/null")).unwrap().is_empty());
        let gone = read_bytes(&dir.join("gone.json")).unwrap_err().to_string();
        assert!(gone.contains("gone.json"), "{gone}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn sg(id: &str) -> Value {
        json!({"groupId": id, "ipPermissions": [], "ipPermissionsEgress": []})
    }

    #[test]
    fn describe_output_is_one_scope_per_owner() {
        let mut inv = Inventory::default();
        inv.add_json(
            "f",
            json!({"SecurityGroups": [{"GroupId": "sg-0123abcd", "OwnerId": "1", "IpPermissionsEgress": []}, {"GroupId": "bad", "OwnerId": "1"}]}),
        )
        .unwrap();
        let data = &inv.scopes[&Scope {
            account_id: Some("1".into()),
            region: None,
        }];
        assert_eq!(data.groups.len(), 2);
        assert!(data.groups[0].is_ok());
        assert!(data.groups[1]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("`bad`"));
        assert_eq!(data.load_balancer_groups, None);
    }

    #[test]
    fn select_results_with_interfaces_per_account_and_region() {
        let results = vec![
            json!({"accountId": "1", "awsRegion": "eu-west-1", "resourceType": SECURITY_GROUP, "configuration": sg("sg-0123abcd"), "tags": [{"key": "tier", "value": "web"}]}).to_string(),
            json!({"accountId": "1", "awsRegion": "eu-west-1", "resourceType": NETWORK_INTERFACE, "configuration": {"requesterId": "amazon-elb", "description": "ELB app/a/1", "groups": [{"groupId": "sg-0abc1234"}]}}).to_string(),
            json!({"accountId": "2", "awsRegion": "us-east-1", "resourceType": SECURITY_GROUP, "configuration": sg("sg-0def5678").to_string()}).to_string(),
        ];
        let mut inv = Inventory::default();
        inv.add_json("f", json!({"Results": results, "QueryInfo": {}}))
            .unwrap();
        assert_eq!(inv.scopes.len(), 2);
        let eu = &inv.scopes[&Scope {
            account_id: Some("1".into()),
            region: Some("eu-west-1".into()),
        }];
        let g = eu.groups[0].as_ref().unwrap();
        assert_eq!(g.tags.get("tier").map(String::as_str), Some("web"));
        assert_eq!(
            eu.load_balancer_groups,
            Some([GroupId::parse("sg-0abc1234").unwrap()].into())
        );
        let us = &inv.scopes[&Scope {
            account_id: Some("2".into()),
            region: Some("us-east-1".into()),
        }];
        assert!(us.groups[0].is_ok(), "configuration as a JSON string");
    }

    #[test]
    fn configuration_items_in_list_and_history_shapes() {
        let item = json!({"awsAccountId": "1", "awsRegion": "eu-west-1", "resourceType": SECURITY_GROUP, "configuration": sg("sg-0123abcd"), "tags": {"tier": "web"}});
        let deleted = json!({"awsAccountId": "1", "awsRegion": "eu-west-1", "resourceType": SECURITY_GROUP, "configurationItemStatus": "ResourceDeleted", "configuration": null});
        let other = json!({"resourceType": "AWS::S3::Bucket", "configuration": {}});
        for input in [
            json!([item, deleted, other]),
            json!({"configurationItems": [item]}),
        ] {
            let mut inv = Inventory::default();
            inv.add_json("f", input).unwrap();
            assert_eq!(inv.group_count(), 1);
        }
    }

    /// What each kind of file held, and which ones have nothing to judge.
    #[rstest]
    // aws ec2 describe-security-groups --query SecurityGroups: the bare list is judged.
    #[case::bare_list(json!([{"GroupId": "sg-0123abcd", "OwnerId": "1", "IpPermissions": [], "IpPermissionsEgress": []}]), 1, Ok(false))]
    #[case::empty_describe(json!({"SecurityGroups": []}), 0, Ok(true))]
    // Cloud Custodian's recorded responses (placebo): the API response under `data`.
    #[case::placebo(json!({"status_code": 200, "data": {"SecurityGroups": [{"GroupId": "sg-0123abcd", "IpPermissions": []}], "ResponseMetadata": {}}}), 1, Ok(false))]
    #[case::empty_list(json!([]), 0, Ok(true))]
    // Network facts for effective exposure: nothing to judge, and that is their purpose.
    #[case::interfaces(json!({"NetworkInterfaces": []}), 0, Ok(false))]
    #[case::interface_list(json!([{"NetworkInterfaceId": "eni-1", "Groups": []}]), 0, Ok(false))]
    #[case::route_tables(json!({"RouteTables": [{"RouteTableId": "rtb-1", "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}]}]}), 0, Ok(false))]
    #[case::history_of_other_types(json!({"configurationItems": [{"resourceType": "AWS::EC2::Instance", "configuration": {}}]}), 0, Err("it holds only 1 items of other resource types"))]
    #[case::history_of_a_deleted_group(json!({"configurationItems": [{"resourceType": SECURITY_GROUP, "configurationItemStatus": "ResourceDeleted"}]}), 0, Err("it holds only 1 items of deleted or not-recorded groups"))]
    #[case::query_without_groups(json!({"Results": []}), 0, Err("it holds no security group"))]
    fn files_say_what_they_held(
        #[case] input: Value,
        #[case] groups: usize,
        #[case] want: Result<bool, &str>,
    ) {
        let mut inv = Inventory::default();
        let read = inv.add_json("f", input).unwrap();
        assert_eq!((read.groups, inv.group_count()), (groups, groups));
        match (read.nothing_to_judge("f"), want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(e), Err(needle)) => assert!(
                e.to_string().starts_with(&format!(
                    "f: nothing to judge: {needle}; expected security groups"
                )),
                "{e}"
            ),
            (got, want) => panic!("{got:?} vs {want:?}"),
        }
    }

    /// Network outputs are told from their first key alone (a large security-group file is never
    /// parsed for it).
    #[rstest]
    #[case::interfaces(r#"{"NetworkInterfaces": []}"#, true)]
    #[case::subnets("\n  {\n \"Subnets\": [{}]}", true)]
    #[case::route_tables(r#"{"RouteTables": []}"#, true)]
    #[case::acls(r#"{"NetworkAcls": []}"#, true)]
    #[case::interface_list(r#"[{"NetworkInterfaceId": "eni-1"}]"#, true)]
    #[case::groups(r#"{"SecurityGroups": [{"GroupId": "sg-0123abcd"}]}"#, false)]
    #[case::group_list(r#"[{"GroupId": "sg-0123abcd", "GroupName": "x"}]"#, false)]
    #[case::query(r#"{"Results": []}"#, false)]
    #[case::subnets_later(r#"{"SecurityGroups": [], "Subnets": []}"#, false)]
    #[case::load_balancers(r#"{"LoadBalancers": []}"#, true)]
    #[case::target_groups(r#"{"TargetGroups": []}"#, true)]
    #[case::target_health(
        r#"{"TargetGroupArn": "arn:tg", "TargetHealthDescriptions": []}"#,
        true
    )]
    #[case::target_health_jq(
        r#"{"TargetHealthDescriptions": [], "TargetGroupArn": "arn:tg"}"#,
        true
    )]
    #[case::target_health_list(r#"{"TargetHealth": [{"TargetGroupArn": "arn:tg"}]}"#, true)]
    fn network_outputs_by_their_first_key(#[case] text: &str, #[case] network: bool) {
        assert_eq!(is_network_output(text.as_bytes()), network, "{text}");
    }

    /// Load-balancer files in any order: targets read before their target group land in it; the
    /// health of several groups is a list under `TargetHealth`; health without its group's ARN
    /// is refused with the path and the fix; no file at all is no network (never an empty one).
    #[test]
    fn load_balancer_files_in_any_order() {
        let health = json!({"TargetHealth": [
            {"TargetGroupArn": "arn:tg/a", "TargetHealthDescriptions": [{"Target": {"Id": "i-1", "Port": 22}}]},
            {"TargetGroupArn": "arn:tg/b", "TargetHealthDescriptions": [{"Target": {"Id": "10.0.0.5"}}]},
        ]});
        let groups = json!({"TargetGroups": [
            {"TargetGroupArn": "arn:tg/a", "TargetGroupName": "a", "Port": 22, "Protocol": "TCP", "LoadBalancerArns": ["arn:lb"]},
            {"TargetGroupArn": "arn:tg/b", "TargetGroupName": "b", "Port": 443, "TargetType": "ip"},
        ]});
        let lbs = json!({"LoadBalancers": [{"LoadBalancerArn": "arn:lb", "LoadBalancerName": "edge", "Scheme": "internet-facing", "Type": "network"}]});
        let mut networks = Networks::new();
        assert_eq!(add_network(&mut networks, "h.json", &health).unwrap(), 2);
        assert_eq!(add_network(&mut networks, "g.json", &groups).unwrap(), 2);
        assert_eq!(add_network(&mut networks, "l.json", &lbs).unwrap(), 1);
        let n = &finish_networks(networks)[&None];
        assert!(n.pending_targets.is_empty());
        assert_eq!(
            n.target_groups[0].targets,
            vec![("i-1".to_string(), Some(22))]
        );
        assert_eq!(
            n.target_groups[1].targets,
            vec![("10.0.0.5".to_string(), None)]
        );
        assert_eq!(n.target_groups[1].target_type, "ip");
        assert!(n.load_balancers[0].internet_facing);
        let unnamed = json!({"TargetHealthDescriptions": [{"Target": {"Id": "i-1"}}]});
        let e = add_network(&mut Networks::new(), "h.json", &unnamed)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("h.json") && e.contains("TargetGroupArn") && e.contains("jq"),
            "{e}"
        );
        assert!(finish_networks(Networks::new()).is_empty());
    }

    /// `get-resource-config-history` lists every capture of one group, newest first (the Config
    /// guide's example item has no `awsRegion`: the ARN has it). Only the newest is judged.
    #[test]
    fn history_judges_the_newest_item_of_each_group() {
        let item = |time: &str, port: i64| {
            json!({"accountId": "123456789012", "arn": "arn:aws:ec2:us-west-2:123456789012:security-group/sg-6fbb3807",
                   "configurationItemCaptureTime": time, "configurationItemStatus": "OK", "resourceId": "sg-6fbb3807",
                   "resourceType": SECURITY_GROUP,
                   "configuration": {"groupId": "sg-6fbb3807", "ipPermissions": [{"ipProtocol": "tcp", "fromPort": port, "toPort": port, "ipRanges": ["0.0.0.0/0"]}]}})
        };
        let mut inv = Inventory::default();
        let read = inv
            .add_json("h", json!({"configurationItems": [item("2026-11-21T10:00:00.000Z", 443), item("2026-11-20T10:00:00.000Z", 22)]}))
            .unwrap();
        assert_eq!((read.groups, read.older), (1, 1));
        let (scope, data) = inv.scopes.iter().next().unwrap();
        assert_eq!(scope.region.as_deref(), Some("us-west-2"));
        assert_eq!(scope.account_id.as_deref(), Some("123456789012"));
        let g = data.groups[0].as_ref().unwrap();
        assert_eq!(g.ingress[0].ports.from, 443, "the newest capture");
    }

    #[rstest]
    #[case::event(json!({"invokingEvent": "{}"}), "not a recognised input (an object with keys invokingEvent)")]
    #[case::number(json!(5), "a JSON number")]
    #[case::bad_port(json!([{"resourceType": SECURITY_GROUP, "configuration": {"groupId": "sg-0123abcd", "ipPermissions": [{"ipProtocol": "tcp", "fromPort": "22", "toPort": 22}]}}]), "ipPermissions[0].fromPort")]
    #[case::bad_result(json!({"Results": ["{nope"]}), "f: Results[0]:")]
    // `select-resource-config` with fewer fields: rows without `configuration` are not groups.
    #[case::query_without_configuration(json!({"Results": ["{\"resourceId\":\"sg-0123abcd\",\"resourceType\":\"AWS::EC2::SecurityGroup\"}"]}), "f: Results[0].configuration: is missing: select `configuration` in the query")]
    // `describe-security-groups --query 'SecurityGroups[].{GroupId:GroupId,GroupName:GroupName}'`.
    #[case::describe_query_with_fewer_fields(json!([{"GroupId": "sg-0123abcd", "GroupName": "web"}]), "`IpPermissions` is missing (and IpPermissionsEgress too)")]
    // `--query 'SecurityGroups[].[GroupId,GroupName]'`: lists of strings.
    #[case::ids_and_names(json!([["sg-0123abcd", "web"]]), "f: [0]..: invalid length 2, expected struct Record")]
    // PascalCase input, PascalCase field names.
    #[case::describe_field_names(json!({"SecurityGroups": [{"GroupId": "sg-0123abcd", "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}, {"CidrIp": "10.0.0.0/33"}]}]}]}), "`IpPermissions[0].IpRanges[1].CidrIp` `10.0.0.0/33` is not an IPv4 CIDR")]
    #[case::describe_port_name(json!([{"GroupId": "sg-0123abcd", "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 70000, "ToPort": 22}]}]), "`IpPermissions[0].FromPort` 70000 is not a port")]
    #[case::item_field_names(json!([{"resourceType": SECURITY_GROUP, "configuration": {"groupId": "sg-0123abcd", "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["10.0.0.0/8"], "ipv4Ranges": [{"cidrIp": "nope"}]}]}}]), "`configuration.ipPermissions[0].ipv4Ranges[0].cidrIp` `nope`")]
    fn unusable_input_says_what_was_expected(#[case] input: Value, #[case] needle: &str) {
        let mut inv = Inventory::default();
        match inv.add_json("f", input) {
            Err(e) => assert!(e.to_string().contains(needle), "{e}"),
            Ok(_) => {
                // A bad group is an error entry of its own, not a failed file.
                let errors: Vec<String> = inv
                    .scopes
                    .values()
                    .flat_map(|s| s.groups.iter().filter_map(|g| g.as_ref().err()))
                    .map(ToString::to_string)
                    .collect();
                assert!(errors.iter().any(|e| e.contains(needle)), "{errors:?}");
            }
        }
    }
}
