//! Source 1: AWS Config configuration items (camelCase JSON), both the legacy `ipRanges: ["cidr"]`
//! and the `ipv4Ranges: [{cidrIp}]` shapes, into the one model. Type errors name the full field path
//! (`configuration.ipPermissions[0].fromPort`) and the value.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{build_all, own_group_id, ModelError, RawPermission, SecurityGroup};
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemConfiguration {
    group_id: Option<String>,
    group_name: Option<String>,
    vpc_id: Option<String>,
    owner_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    ip_permissions: Vec<ItemPermission>,
    #[serde(default, deserialize_with = "null_as_default")]
    ip_permissions_egress: Vec<ItemPermission>,
    #[serde(default, deserialize_with = "null_as_default")]
    tags: Vec<ItemTag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemPermission {
    ip_protocol: Option<String>,
    from_port: Option<i64>,
    to_port: Option<i64>,
    /// Legacy shape: a list of CIDR strings.
    #[serde(default, deserialize_with = "null_as_default")]
    ip_ranges: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    ipv4_ranges: Vec<ItemIpv4Range>,
    #[serde(default, deserialize_with = "null_as_default")]
    ipv6_ranges: Vec<ItemIpv6Range>,
    #[serde(default, deserialize_with = "null_as_default")]
    prefix_list_ids: Vec<ItemPrefixList>,
    #[serde(default, deserialize_with = "null_as_default")]
    user_id_group_pairs: Vec<ItemGroupPair>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemIpv4Range {
    cidr_ip: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemIpv6Range {
    cidr_ipv6: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemPrefixList {
    prefix_list_id: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemGroupPair {
    group_id: Option<String>,
    user_id: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct ItemTag {
    key: String,
    #[serde(default)]
    value: Option<String>,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Builds the model from a configuration item's `configuration` object and its `tags` map.
/// Tags from both places are merged (the item map wins on conflicts).
pub fn from_config_item(
    configuration: &Value,
    item_tags: &BTreeMap<String, String>,
) -> Result<SecurityGroup, ModelError> {
    let conf: ItemConfiguration = serde_path_to_error::deserialize(configuration)
        .map_err(|e| ModelError::Shape(format!("configuration.{}: {}", e.path(), e.inner())))?;
    let id = conf
        .group_id
        .ok_or(ModelError::Missing("configuration.groupId"))?;
    let group_id = own_group_id(&id, "configuration.groupId")?;
    let perms =
        |list: &[ItemPermission], field: &str| {
            build_all(list, &id, &format!("configuration.{field}"), |p| {
                RawPermission {
                    protocol: p.ip_protocol.as_deref(),
                    from_port: p.from_port,
                    to_port: p.to_port,
                    ipv4: p
                        .ip_ranges
                        .iter()
                        .map(String::as_str)
                        .chain(p.ipv4_ranges.iter().map(|r| r.cidr_ip.as_str()))
                        .collect(),
                    ipv6: p.ipv6_ranges.iter().map(|r| r.cidr_ipv6.as_str()).collect(),
                    legacy_ipv4: p.ip_ranges.len(),
                    prefix_lists: p
                        .prefix_list_ids
                        .iter()
                        .map(|r| r.prefix_list_id.as_str())
                        .collect(),
                    groups: p
                        .user_id_group_pairs
                        .iter()
                        .filter_map(|g| g.group_id.as_deref().map(|id| (id, g.user_id.as_deref())))
                        .collect(),
                    descriptions: p
                        .ipv4_ranges
                        .iter()
                        .filter_map(|r| Some((r.cidr_ip.as_str(), r.description.as_deref()?)))
                        .chain(p.ipv6_ranges.iter().filter_map(|r| {
                            Some((r.cidr_ipv6.as_str(), r.description.as_deref()?))
                        }))
                        .chain(p.prefix_list_ids.iter().filter_map(|r| {
                            Some((r.prefix_list_id.as_str(), r.description.as_deref()?))
                        }))
                        .chain(p.user_id_group_pairs.iter().filter_map(|r| {
                            Some((r.group_id.as_deref()?, r.description.as_deref()?))
                        }))
                        .collect(),
                }
            })
        };
    // The item's own tags map comes last, so it wins over the configuration's list.
    let tags = conf
        .tags
        .into_iter()
        .map(|t| (t.key, t.value.unwrap_or_default()))
        .chain(item_tags.iter().map(|(k, v)| (k.clone(), v.clone())))
        .collect();
    Ok(SecurityGroup {
        ingress: perms(&conf.ip_permissions, "ipPermissions")?,
        egress: perms(&conf.ip_permissions_egress, "ipPermissionsEgress")?,
        group_id,
        group_name: conf.group_name,
        vpc_id: conf.vpc_id,
        owner_id: conf.owner_id,
        tags,
    })
}
