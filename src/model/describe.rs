//! Source 2: `aws ec2 describe-security-groups` output (PascalCase JSON), into the one model. The SDK
//! adapter maps its types onto these structs too, so both share one validation path.

use serde::Deserialize;

use super::{build_all, own_group_id, ModelError, RawPermission, SecurityGroup};
/// `aws ec2 describe-security-groups` output.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeOutput {
    #[serde(default)]
    pub security_groups: Vec<DescribedGroup>,
}

/// One `SecurityGroups[]` entry.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribedGroup {
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub vpc_id: Option<String>,
    pub owner_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<DescribedTag>,
    #[serde(default)]
    pub ip_permissions: Vec<DescribedPermission>,
    #[serde(default)]
    pub ip_permissions_egress: Vec<DescribedPermission>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribedTag {
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribedPermission {
    pub ip_protocol: Option<String>,
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    #[serde(default)]
    pub ip_ranges: Vec<DescribedIpRange>,
    #[serde(default)]
    pub ipv6_ranges: Vec<DescribedIpv6Range>,
    #[serde(default)]
    pub prefix_list_ids: Vec<DescribedPrefixList>,
    #[serde(default)]
    pub user_id_group_pairs: Vec<DescribedGroupPair>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribedIpRange {
    pub cidr_ip: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribedIpv6Range {
    pub cidr_ipv6: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribedPrefixList {
    pub prefix_list_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribedGroupPair {
    pub group_id: Option<String>,
    pub user_id: Option<String>,
}

impl DescribedGroup {
    /// Validates and normalises into the model.
    pub fn into_model(self) -> Result<SecurityGroup, ModelError> {
        let id = self.group_id.ok_or(ModelError::Missing("GroupId"))?;
        let group_id = own_group_id(&id, "GroupId")?;
        let perms = |list: &[DescribedPermission], field: &str| {
            build_all(list, &id, field, |p| RawPermission {
                protocol: p.ip_protocol.as_deref(),
                from_port: p.from_port,
                to_port: p.to_port,
                ipv4: p
                    .ip_ranges
                    .iter()
                    .filter_map(|r| r.cidr_ip.as_deref())
                    .collect(),
                ipv6: p
                    .ipv6_ranges
                    .iter()
                    .filter_map(|r| r.cidr_ipv6.as_deref())
                    .collect(),
                prefix_lists: p
                    .prefix_list_ids
                    .iter()
                    .filter_map(|r| r.prefix_list_id.as_deref())
                    .collect(),
                groups: p
                    .user_id_group_pairs
                    .iter()
                    .filter_map(|g| g.group_id.as_deref().map(|id| (id, g.user_id.as_deref())))
                    .collect(),
            })
        };
        Ok(SecurityGroup {
            ingress: perms(&self.ip_permissions, "IpPermissions")?,
            egress: perms(&self.ip_permissions_egress, "IpPermissionsEgress")?,
            group_id,
            group_name: self.group_name,
            vpc_id: self.vpc_id,
            owner_id: self.owner_id,
            tags: self
                .tags
                .into_iter()
                .filter_map(|t| t.key.map(|k| (k, t.value.unwrap_or_default())))
                .collect(),
        })
    }
}
