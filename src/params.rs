//! Rule input parameters (`ruleParameters`, strings as Config passes them): the declared
//! parameters of a check ([`ParamSpec`]), a reader that validates values against them
//! ([`Params`]), and the error that names the key and the value. Which parameters exist is each
//! check's business (see `checks`); unknown keys are errors, so typos never pass silently.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::GroupId;
use crate::ports::PortSet;

/// A rule parameter was wrong. Each message names the key and the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamError {
    #[error("unknown check `{name}`: valid checks are {valid}")]
    UnknownCheck { name: String, valid: String },
    #[error("rule parameter `{0}` is required for check `{1}`")]
    Missing(&'static str, &'static str),
    #[error("rule parameter `{field}` = `{value}`: {reason}")]
    Invalid {
        field: String,
        value: String,
        reason: String,
    },
    #[error(
        "unknown rule parameter `{key}` for check `{check}`: valid parameters are {valid}{hint}"
    )]
    Unknown {
        key: String,
        check: &'static str,
        valid: String,
        /// Which other check declares the key, when one does.
        hint: String,
    },
}

/// One parameter a check accepts, as documented in the README and the CDK app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: &'static str,
    /// The value used when the parameter is absent or empty; `None` = no default.
    pub default: Option<&'static str>,
    pub required: bool,
}

impl ParamSpec {
    pub const fn optional(name: &'static str, default: Option<&'static str>) -> Self {
        ParamSpec {
            name,
            default,
            required: false,
        }
    }

    pub const fn required(name: &'static str) -> Self {
        ParamSpec {
            name,
            default: None,
            required: true,
        }
    }
}

/// The parameters of one check, checked against its specs.
pub struct Params<'a> {
    values: &'a BTreeMap<String, String>,
    check: &'static str,
    specs: &'static [ParamSpec],
}

impl<'a> Params<'a> {
    /// Rejects keys that are neither `check` nor one of `specs`.
    pub fn new(
        values: &'a BTreeMap<String, String>,
        check: &'static str,
        specs: &'static [ParamSpec],
    ) -> Result<Self, ParamError> {
        let p = Params {
            values,
            check,
            specs,
        };
        let unknown = |k: &&String| {
            k.as_str() != "check"
                && !specs.iter().any(|s| s.name == k.as_str())
                && p.given(k).is_some()
        };
        if let Some(key) = values.keys().find(unknown) {
            return Err(ParamError::Unknown {
                key: key.clone(),
                check,
                valid: specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
                hint: String::new(),
            });
        }
        // An empty value never silently means "the default" (nor "nothing"): say which was meant.
        if let Some(spec) = specs
            .iter()
            .find(|s| values.get(s.name).is_some_and(|v| v.trim().is_empty()))
        {
            if spec.required {
                return Err(ParamError::Missing(spec.name, check));
            }
            let default = match spec.default {
                Some(d) => format!("omit it for the default ({d})"),
                None => "omit it".to_string(),
            };
            let none = if spec.name.to_ascii_lowercase().ends_with("ports") {
                ", or write `none` for an empty port list"
            } else {
                ""
            };
            return Err(ParamError::Invalid {
                field: spec.name.to_string(),
                value: String::new(),
                reason: format!("is empty: {default}{none}"),
            });
        }
        Ok(p)
    }

    /// The trimmed value as given; empty counts as absent.
    pub fn given(&self, key: &str) -> Option<&'a str> {
        self.values
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn spec(&self, key: &str) -> Option<&'static ParamSpec> {
        self.specs.iter().find(|s| s.name == key)
    }

    /// The value as given, else the spec's default.
    pub fn text(&self, key: &str) -> Option<&'a str> {
        self.given(key)
            .or_else(|| self.spec(key).and_then(|s| s.default))
    }

    /// A required value.
    pub fn required(&self, key: &'static str) -> Result<&'a str, ParamError> {
        self.text(key).ok_or(ParamError::Missing(key, self.check))
    }

    pub fn invalid(&self, field: &str, reason: impl Into<String>) -> ParamError {
        ParamError::Invalid {
            field: field.to_string(),
            value: self.values.get(field).cloned().unwrap_or_default(),
            reason: reason.into(),
        }
    }

    pub fn ports(&self, key: &str) -> Result<PortSet, ParamError> {
        PortSet::parse(self.text(key).unwrap_or("")).map_err(|reason| self.invalid(key, reason))
    }

    pub fn bool(&self, key: &str) -> Result<bool, ParamError> {
        match self.text(key).map(str::to_ascii_lowercase).as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(self.invalid(key, "expected true or false")),
        }
    }

    pub fn prefix(&self, key: &str, max: u8) -> Result<u8, ParamError> {
        let text = self.text(key).unwrap_or("0");
        text.parse::<u8>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| self.invalid(key, format!("expected a prefix length 0-{max}")))
    }
}

/// Security-group ids that may be limited to a region (`eu-west-1:sg-…`), so one rule set serves
/// every region: ids are per account and region.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegionalGroups {
    /// Ids without a region: valid everywhere.
    pub anywhere: BTreeSet<GroupId>,
    /// Ids given as `region:sg-…`.
    pub by_region: BTreeMap<String, BTreeSet<GroupId>>,
}

impl RegionalGroups {
    /// The ids that apply in `region` (only the unprefixed ones when the region is unknown).
    pub fn for_region(&self, region: Option<&str>) -> BTreeSet<GroupId> {
        let mut out = self.anywhere.clone();
        if let Some(ids) = region.and_then(|r| self.by_region.get(r)) {
            out.extend(ids.iter().cloned());
        }
        out
    }
}

/// `eu-west-1`, `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`: lowercase words and a number.
fn is_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

impl Params<'_> {
    /// A comma-separated list of `sg-…` or `region:sg-…`; `None` when absent.
    pub fn regional_group_ids(&self, key: &str) -> Result<Option<RegionalGroups>, ParamError> {
        let Some(text) = self.text(key) else {
            return Ok(None);
        };
        let mut out = RegionalGroups::default();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item.split_once(':') {
                None => {
                    let id = GroupId::parse(item).map_err(|reason| self.invalid(key, reason))?;
                    out.anywhere.insert(id);
                }
                Some((region, id)) => {
                    if !is_region(region) {
                        return Err(self.invalid(
                            key,
                            format!("`{region}` is not a region name (expected e.g. eu-west-1:sg-0123456789abcdef0)"),
                        ));
                    }
                    let id = GroupId::parse(id).map_err(|reason| self.invalid(key, reason))?;
                    out.by_region
                        .entry(region.to_string())
                        .or_default()
                        .insert(id);
                }
            }
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: &[ParamSpec] = &[ParamSpec::required("key"), ParamSpec::optional("ids", None)];

    #[test]
    fn group_ids_per_region() {
        let m = map(&[
            ("key", "k"),
            (
                "ids",
                "eu-west-1:sg-0123abcd, sg-0abc1234, eusc-de-east-1:sg-0fff0000",
            ),
        ]);
        let p = Params::new(&m, "demo", IDS).unwrap();
        let ids = p.regional_group_ids("ids").unwrap().unwrap();
        assert_eq!(ids.for_region(Some("eu-west-1")).len(), 2);
        assert_eq!(ids.for_region(Some("us-east-1")).len(), 1);
        assert_eq!(ids.for_region(None).len(), 1);
        assert_eq!(ids.for_region(Some("eusc-de-east-1")).len(), 2);
        for bad in ["EU:sg-0123abcd", "eu-west:sg-0123abcd", "eu-west-1:nope"] {
            let m = map(&[("key", "k"), ("ids", bad)]);
            let p = Params::new(&m, "demo", IDS).unwrap();
            let err = p.regional_group_ids("ids").unwrap_err().to_string();
            assert!(err.contains(&format!("`ids` = `{bad}`")), "{err}");
        }
    }

    const SPECS: &[ParamSpec] = &[
        ParamSpec::required("key"),
        ParamSpec::optional("ports", Some("80,443")),
        ParamSpec::optional("flag", Some("false")),
        ParamSpec::optional("len", Some("16")),
    ];

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_come_from_the_spec() {
        let m = map(&[("key", "k")]);
        let p = Params::new(&m, "demo", SPECS).unwrap();
        assert_eq!(p.required("key").unwrap(), "k");
        assert_eq!(p.ports("ports").unwrap(), PortSet::parse("80,443").unwrap());
        assert!(!p.bool("flag").unwrap());
        assert_eq!(p.prefix("len", 32).unwrap(), 16);
    }

    #[test]
    fn empty_values_are_errors_and_none_is_the_empty_list() {
        let m = map(&[("key", "k"), ("ports", " ")]);
        assert_eq!(
            Params::new(&m, "demo", SPECS).err().unwrap().to_string(),
            "rule parameter `ports` = ``: is empty: omit it for the default (80,443), or write `none` for an empty port list"
        );
        let m = map(&[("key", "k"), ("ports", "none")]);
        let p = Params::new(&m, "demo", SPECS).unwrap();
        assert!(p.ports("ports").unwrap().is_empty());
    }

    #[test]
    fn unknown_and_missing_keys() {
        let m = map(&[("Key", "k")]);
        let err = Params::new(&m, "demo", SPECS).err().unwrap().to_string();
        assert_eq!(
            err,
            "unknown rule parameter `Key` for check `demo`: valid parameters are key, ports, flag, len"
        );
        let m = map(&[]);
        let p = Params::new(&m, "demo", SPECS).unwrap();
        assert_eq!(
            p.required("key").unwrap_err().to_string(),
            "rule parameter `key` is required for check `demo`"
        );
    }
}
