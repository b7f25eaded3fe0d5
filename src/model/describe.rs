//! Source 2: `aws ec2 describe-security-groups` output (PascalCase JSON), into the one model. The SDK
//! adapter maps its types onto these structs too, so both share one validation path.

use std::borrow::Cow;

use serde::Deserialize;

use super::{build_all, own_group_id, ModelError, RawPermission, SecurityGroup};
/// `aws ec2 describe-security-groups` output.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeOutput<'a> {
    #[serde(default)]
    #[serde(borrow)]
    pub security_groups: Vec<DescribedGroup<'a>>,
}

/// One `SecurityGroups[]` entry.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribedGroup<'a> {
    #[serde(borrow)]
    pub group_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub group_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub vpc_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub owner_id: Option<Cow<'a, str>>,
    #[serde(default)]
    #[serde(borrow)]
    pub tags: Vec<DescribedTag<'a>>,
    #[serde(default)]
    #[serde(borrow)]
    pub ip_permissions: Option<Vec<DescribedPermission<'a>>>,
    #[serde(default)]
    #[serde(borrow)]
    pub ip_permissions_egress: Option<Vec<DescribedPermission<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribedTag<'a> {
    #[serde(borrow)]
    pub key: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub value: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribedPermission<'a> {
    #[serde(borrow)]
    pub ip_protocol: Option<Cow<'a, str>>,
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    #[serde(default)]
    #[serde(borrow)]
    pub ip_ranges: Vec<DescribedIpRange<'a>>,
    #[serde(default)]
    #[serde(borrow)]
    pub ipv6_ranges: Vec<DescribedIpv6Range<'a>>,
    #[serde(default)]
    #[serde(borrow)]
    pub prefix_list_ids: Vec<DescribedPrefixList<'a>>,
    #[serde(default)]
    #[serde(borrow)]
    pub user_id_group_pairs: Vec<DescribedGroupPair<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribedIpRange<'a> {
    #[serde(borrow)]
    pub cidr_ip: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub description: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribedIpv6Range<'a> {
    #[serde(borrow)]
    pub cidr_ipv6: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub description: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribedPrefixList<'a> {
    #[serde(borrow)]
    pub prefix_list_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub description: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribedGroupPair<'a> {
    #[serde(borrow)]
    pub group_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub user_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub description: Option<Cow<'a, str>>,
}

impl DescribedGroup<'_> {
    /// Validates and normalises into the model.
    pub fn into_model(self) -> Result<SecurityGroup, ModelError> {
        let id = self.group_id.ok_or(ModelError::Missing("GroupId"))?;
        let group_id = own_group_id(&id, "GroupId")?;
        // describe-security-groups always lists both (maybe empty): a group without either is
        // `--query` output with fewer fields, and judging it would call it open to nobody.
        if self.ip_permissions.is_none() && self.ip_permissions_egress.is_none() {
            return Err(ModelError::Invalid {
                group: id.to_string(),
                field: "IpPermissions".into(),
                reason: "is missing (and IpPermissionsEgress too): `--query` output with fewer fields cannot be judged; pass the whole describe-security-groups output".into(),
            });
        }
        let perms =
            |list: &[DescribedPermission], field: &str| {
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
                    legacy_ipv4: 0,
                    descriptions: p
                        .ip_ranges
                        .iter()
                        .filter_map(|r| Some((r.cidr_ip.as_deref()?, r.description.as_deref()?)))
                        .chain(p.ipv6_ranges.iter().filter_map(|r| {
                            Some((r.cidr_ipv6.as_deref()?, r.description.as_deref()?))
                        }))
                        .chain(p.prefix_list_ids.iter().filter_map(|r| {
                            Some((r.prefix_list_id.as_deref()?, r.description.as_deref()?))
                        }))
                        .chain(p.user_id_group_pairs.iter().filter_map(|r| {
                            Some((r.group_id.as_deref()?, r.description.as_deref()?))
                        }))
                        .collect(),
                })
            };
        Ok(SecurityGroup {
            ingress: perms(
                self.ip_permissions.as_deref().unwrap_or_default(),
                "IpPermissions",
            )?,
            egress: perms(
                self.ip_permissions_egress.as_deref().unwrap_or_default(),
                "IpPermissionsEgress",
            )?,
            group_id,
            group_name: self.group_name.map(Cow::into_owned),
            vpc_id: self.vpc_id.map(Cow::into_owned),
            owner_id: self.owner_id.map(Cow::into_owned),
            tags: self
                .tags
                .into_iter()
                .filter_map(|t| {
                    let value = t.value.map(Cow::into_owned).unwrap_or_default();
                    t.key.map(|k| (k.into_owned(), value))
                })
                .collect(),
        })
    }
}
