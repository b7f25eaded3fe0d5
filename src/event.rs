//! The AWS Config rule event, parsed once into typed values: the Lambda payload whose
//! `invokingEvent` and `ruleParameters` are JSON *strings*, and the three message types.

use std::collections::BTreeMap;
use std::fmt;

use aws_smithy_types::date_time::Format as DateTimeFormat;
use aws_smithy_types::DateTime;
use serde::Deserialize;
use serde_json::Value;

/// The one resource type these checks evaluate.
pub const SECURITY_GROUP_TYPE: &str = "AWS::EC2::SecurityGroup";

/// The event could not be understood. Each message names the field and the value.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error(
        "the event is not JSON: {0}; pass the rule's Lambda event exactly as AWS Config sends it"
    )]
    NotJson(String),
    #[error("`{field}` is not valid JSON: {reason}")]
    EmbeddedNotJson { field: &'static str, reason: String },
    #[error("the event has no `{0}`; AWS Config rule events always carry it")]
    Missing(String),
    #[error("`{field}` has the wrong type: {reason}")]
    WrongType { field: String, reason: String },
    #[error("unknown `messageType` `{0}`: expected ConfigurationItemChangeNotification, OversizedConfigurationItemChangeNotification, ScheduledNotification or ConfigurationSnapshotDeliveryCompleted")]
    UnknownMessageType(String),
    #[error("`{field}` value `{value}` is not an ISO-8601 time such as 2026-11-21T10:00:00.000Z")]
    BadTime { field: String, value: String },
}

/// A UTC instant, kept both as the SDK's time type and as text for output.
#[derive(Clone, Copy, PartialEq)]
pub struct Timestamp(DateTime);

impl Timestamp {
    pub fn parse(field: &str, text: &str) -> Result<Self, EventError> {
        DateTime::from_str(text, DateTimeFormat::DateTimeWithOffset)
            .map(Timestamp)
            .map_err(|_| EventError::BadTime {
                field: field.to_string(),
                value: text.to_string(),
            })
    }

    pub fn as_datetime(&self) -> DateTime {
        self.0
    }

    pub fn from_datetime(dt: DateTime) -> Self {
        Timestamp(dt)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.fmt(DateTimeFormat::DateTime) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{}", self.0.secs()),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

/// The `resultToken`. Never printed in full: `Debug`/`Display` show only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct ResultToken(String);

impl ResultToken {
    pub fn new(token: impl Into<String>) -> Self {
        ResultToken(token.into())
    }

    /// `TESTMODE` tokens make `PutEvaluations` validate without storing (`TestMode=true`).
    pub fn is_test_mode(&self) -> bool {
        self.0 == "TESTMODE"
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ResultToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_test_mode() {
            f.write_str("ResultToken(TESTMODE)")
        } else {
            write!(f, "ResultToken(<{} chars redacted>)", self.0.len())
        }
    }
}

/// `configurationItemStatus`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemStatus {
    Ok,
    ResourceDiscovered,
    ResourceNotRecorded,
    ResourceDeleted,
    ResourceDeletedNotRecorded,
    Other(String),
}

impl ItemStatus {
    pub fn parse(text: &str) -> Self {
        match text {
            "OK" => ItemStatus::Ok,
            "ResourceDiscovered" => ItemStatus::ResourceDiscovered,
            "ResourceNotRecorded" => ItemStatus::ResourceNotRecorded,
            "ResourceDeleted" => ItemStatus::ResourceDeleted,
            "ResourceDeletedNotRecorded" => ItemStatus::ResourceDeletedNotRecorded,
            other => ItemStatus::Other(other.to_string()),
        }
    }

    /// Deleted or not recorded: there is nothing to evaluate, and the result must be cleared.
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            ItemStatus::ResourceNotRecorded
                | ItemStatus::ResourceDeleted
                | ItemStatus::ResourceDeletedNotRecorded
        )
    }
}

/// The identifying part of a configuration item (all an oversized notification carries).
#[derive(Clone, Debug, PartialEq)]
pub struct ItemSummary {
    pub resource_type: String,
    pub resource_id: String,
    pub status: ItemStatus,
    pub capture_time: Timestamp,
}

/// A full configuration item.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigItem {
    pub summary: ItemSummary,
    pub tags: BTreeMap<String, String>,
    /// `configuration`; absent/null for deleted resources.
    pub configuration: Option<Value>,
    /// Security groups the change removed from the resource (`configurationItemDiff`'s previous
    /// values of `SecurityGroups` properties): a load balancer's old groups.
    pub previous_groups: Vec<String>,
}

impl ConfigItem {
    /// The security groups of a load balancer's item (`configuration.securityGroups`), with the
    /// ones the change removed.
    pub fn load_balancer_groups(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .configuration
            .as_ref()
            .and_then(|c| c.get("securityGroups"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        for g in &self.previous_groups {
            if !out.contains(g) {
                out.push(g.clone());
            }
        }
        out
    }
}

/// The load balancer resource type a rule may also be scoped to (re-evaluating the groups that
/// reference its groups when they change).
pub const LOAD_BALANCER_TYPE: &str = "AWS::ElasticLoadBalancingV2::LoadBalancer";

/// What the rule is asked to evaluate.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Change { item: ConfigItem },
    Oversized { summary: ItemSummary },
    Scheduled { notification_time: Timestamp },
}

/// The whole rule event, validated.
#[derive(Clone, Debug)]
pub struct ConfigEvent {
    pub message: Message,
    /// `ruleParameters`, values as strings (Config always sends strings).
    pub rule_parameters: BTreeMap<String, String>,
    pub result_token: ResultToken,
    pub event_left_scope: bool,
    pub execution_role_arn: Option<String>,
    pub config_rule_name: Option<String>,
    pub account_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    invoking_event: Option<Value>,
    rule_parameters: Option<Value>,
    result_token: Option<String>,
    event_left_scope: Option<bool>,
    execution_role_arn: Option<String>,
    config_rule_name: Option<String>,
    account_id: Option<String>,
}

impl ConfigEvent {
    pub fn from_json(text: &str) -> Result<Self, EventError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| EventError::NotJson(e.to_string()))?;
        Self::from_value(value)
    }

    pub fn from_value(value: Value) -> Result<Self, EventError> {
        if !value.is_object() {
            return Err(EventError::WrongType {
                field: "event".into(),
                reason: "expected a JSON object".into(),
            });
        }
        let raw: RawEvent =
            serde_path_to_error::deserialize(&value).map_err(|e| EventError::WrongType {
                field: e.path().to_string(),
                reason: e.inner().to_string(),
            })?;
        let invoking = embedded(raw.invoking_event, "invokingEvent")?
            .ok_or_else(|| EventError::Missing("invokingEvent".into()))?;
        let rule_parameters = match embedded(raw.rule_parameters, "ruleParameters")? {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(map)) => {
                let mut out = BTreeMap::new();
                for (k, v) in map {
                    let text = match v {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        other => {
                            return Err(EventError::WrongType {
                                field: format!("ruleParameters.{k}"),
                                reason: format!("expected a string, got `{other}`"),
                            })
                        }
                    };
                    out.insert(k, text);
                }
                out
            }
            Some(other) => {
                return Err(EventError::WrongType {
                    field: "ruleParameters".into(),
                    reason: format!("expected a JSON object, got `{other}`"),
                })
            }
        };
        Ok(ConfigEvent {
            message: parse_message(&invoking)?,
            rule_parameters,
            result_token: ResultToken::new(raw.result_token.unwrap_or_default()),
            event_left_scope: raw.event_left_scope.unwrap_or(false),
            execution_role_arn: raw.execution_role_arn.filter(|s| !s.is_empty()),
            config_rule_name: raw.config_rule_name.filter(|s| !s.is_empty()),
            account_id: raw.account_id.filter(|s| !s.is_empty()),
        })
    }
}

/// `invokingEvent`/`ruleParameters` are JSON strings; hand-written events sometimes inline them.
fn embedded(value: Option<Value>, field: &'static str) -> Result<Option<Value>, EventError> {
    match value {
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => {
            serde_json::from_str(&s)
                .map(Some)
                .map_err(|e| EventError::EmbeddedNotJson {
                    field,
                    reason: e.to_string(),
                })
        }
        other => Ok(other),
    }
}

fn str_field<'a>(obj: &'a Value, path: &str, key: &str) -> Result<&'a str, EventError> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(EventError::Missing(format!("{path}.{key}"))),
        Some(other) => Err(EventError::WrongType {
            field: format!("{path}.{key}"),
            reason: format!("expected a string, got `{other}`"),
        }),
    }
}

fn time_field(obj: &Value, path: &str, key: &str) -> Result<Timestamp, EventError> {
    Timestamp::parse(&format!("{path}.{key}"), str_field(obj, path, key)?)
}

fn parse_message(invoking: &Value) -> Result<Message, EventError> {
    let kind = str_field(invoking, "invokingEvent", "messageType")?;
    match kind {
        "ConfigurationItemChangeNotification" => {
            let path = "invokingEvent.configurationItem";
            let item = invoking
                .get("configurationItem")
                .filter(|v| !v.is_null())
                .ok_or_else(|| EventError::Missing(path.into()))?;
            let mut item = parse_item(item, path)?;
            item.previous_groups = previous_groups(invoking.get("configurationItemDiff"));
            Ok(Message::Change { item })
        }
        "OversizedConfigurationItemChangeNotification" => {
            let path = "invokingEvent.configurationItemSummary";
            let summary = invoking
                .get("configurationItemSummary")
                .filter(|v| !v.is_null())
                .ok_or_else(|| EventError::Missing(path.into()))?;
            Ok(Message::Oversized {
                summary: parse_summary(summary, path)?,
            })
        }
        // Config's other periodic trigger: a configuration snapshot was delivered (the Rust and
        // Go runtimes' example Config event). Judged as a scheduled sweep.
        "ScheduledNotification" | "ConfigurationSnapshotDeliveryCompleted" => {
            Ok(Message::Scheduled {
                notification_time: time_field(
                    invoking,
                    "invokingEvent",
                    "notificationCreationTime",
                )?,
            })
        }
        other => Err(EventError::UnknownMessageType(other.to_string())),
    }
}

fn parse_summary(v: &Value, path: &str) -> Result<ItemSummary, EventError> {
    Ok(ItemSummary {
        resource_type: str_field(v, path, "resourceType")?.to_string(),
        resource_id: str_field(v, path, "resourceId")?.to_string(),
        status: ItemStatus::parse(str_field(v, path, "configurationItemStatus")?),
        capture_time: time_field(v, path, "configurationItemCaptureTime")?,
    })
}

fn parse_item(v: &Value, path: &str) -> Result<ConfigItem, EventError> {
    let tags = match v.get("tags") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect(),
        Some(other) => {
            return Err(EventError::WrongType {
                field: format!("{path}.tags"),
                reason: format!("expected an object of key to value, got `{other}`"),
            })
        }
    };
    Ok(ConfigItem {
        summary: parse_summary(v, path)?,
        tags,
        configuration: v.get("configuration").filter(|c| !c.is_null()).cloned(),
        previous_groups: Vec::new(),
    })
}

/// The previous values of `SecurityGroups` properties in a `configurationItemDiff`
/// (`{"changedProperties": {"Configuration.SecurityGroups.0": {"previousValue": "sg-…", …}}}`).
fn previous_groups(diff: Option<&Value>) -> Vec<String> {
    let Some(props) = diff
        .and_then(|d| d.get("changedProperties"))
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, change) in props {
        if !key.to_ascii_lowercase().contains("securitygroups") {
            continue;
        }
        let mut take = |v: &Value| match v {
            Value::String(s) if s.starts_with("sg-") => out.push(s.clone()),
            Value::Array(a) => out.extend(
                a.iter()
                    .filter_map(Value::as_str)
                    .filter(|s| s.starts_with("sg-"))
                    .map(str::to_string),
            ),
            _ => {}
        };
        if let Some(prev) = change.get("previousValue") {
            take(prev);
        }
    }
    out
}

/// A periodic notification for rule `r` with these rule parameters (tests across modules).
#[cfg(test)]
pub(crate) fn scheduled_event(rule_parameters: serde_json::Value) -> ConfigEvent {
    ConfigEvent::from_value(serde_json::json!({
        "invokingEvent": serde_json::json!({"messageType": "ScheduledNotification", "notificationCreationTime": "2026-11-21T12:00:00.000Z"}).to_string(),
        "ruleParameters": rule_parameters.to_string(),
        "resultToken": "t", "configRuleName": "r",
    }))
    .expect("a valid scheduled event")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wrap(invoking: Value, params: Value) -> Value {
        json!({
            "invokingEvent": invoking.to_string(),
            "ruleParameters": params.to_string(),
            "resultToken": "secret-token-123",
            "eventLeftScope": false,
            "configRuleName": "web-tier-security-group",
            "accountId": "111122223333",
            "version": "1.0"
        })
    }

    fn change(status: &str) -> Value {
        json!({
            "messageType": "ConfigurationItemChangeNotification",
            "notificationCreationTime": "2026-11-21T10:00:01.000Z",
            "configurationItem": {
                "resourceType": "AWS::EC2::SecurityGroup", "resourceId": "sg-0123abcd",
                "configurationItemStatus": status,
                "configurationItemCaptureTime": "2026-11-21T10:00:00.418Z",
                "tags": {"tier": "web"},
                "configuration": {"groupId": "sg-0123abcd"}
            }
        })
    }

    #[test]
    fn parses_change_event_with_string_fields() {
        let ev = ConfigEvent::from_value(wrap(
            change("OK"),
            json!({"tierTagKey": "tier", "n": 5, "b": true}),
        ))
        .unwrap();
        let Message::Change { item } = &ev.message else {
            panic!("{:?}", ev.message)
        };
        assert_eq!(item.summary.resource_id, "sg-0123abcd");
        assert_eq!(item.summary.status, ItemStatus::Ok);
        assert_eq!(
            item.summary.capture_time.to_string(),
            "2026-11-21T10:00:00.418Z"
        );
        assert_eq!(item.tags["tier"], "web");
        assert_eq!(ev.rule_parameters["tierTagKey"], "tier");
        assert_eq!(ev.rule_parameters["n"], "5");
        assert_eq!(ev.rule_parameters["b"], "true");
        assert!(!ev.event_left_scope);
    }

    #[test]
    fn deleted_items_have_no_configuration() {
        let mut inv = change("ResourceDeleted");
        inv["configurationItem"]["configuration"] = Value::Null;
        let ev = ConfigEvent::from_value(wrap(inv, json!({}))).unwrap();
        let Message::Change { item } = ev.message else {
            panic!()
        };
        assert!(item.summary.status.is_gone());
        assert!(item.configuration.is_none());
    }

    #[test]
    fn event_left_scope_defaults_to_false_and_reads_true() {
        let mut ev = wrap(change("OK"), json!({}));
        ev.as_object_mut().unwrap().remove("eventLeftScope");
        assert!(
            !ConfigEvent::from_value(ev.clone())
                .unwrap()
                .event_left_scope
        );
        ev["eventLeftScope"] = json!(true);
        assert!(ConfigEvent::from_value(ev).unwrap().event_left_scope);
    }

    #[test]
    fn scheduled_and_oversized() {
        let ev = ConfigEvent::from_value(wrap(
            json!({"messageType": "ScheduledNotification", "notificationCreationTime": "2026-11-21T00:00:00.000Z", "awsAccountId": "1"}),
            json!({}),
        ))
        .unwrap();
        assert!(matches!(ev.message, Message::Scheduled { .. }));
        let snapshot =
            ConfigEvent::from_json(include_str!("../fixtures/events/snapshot-delivery.json"))
                .unwrap();
        assert!(matches!(snapshot.message, Message::Scheduled { .. }));
        let ev = ConfigEvent::from_value(wrap(
            json!({"messageType": "OversizedConfigurationItemChangeNotification",
                   "configurationItemSummary": {"resourceType": "AWS::EC2::SecurityGroup", "resourceId": "sg-0123abcd",
                     "configurationItemStatus": "OK", "configurationItemCaptureTime": "2026-11-21T00:00:00.000Z"}}),
            json!({}),
        ))
        .unwrap();
        assert!(matches!(ev.message, Message::Oversized { .. }));
    }

    #[test]
    fn errors_name_the_field_and_value() {
        let cases: Vec<(Value, &str)> = vec![
            (
                json!({"invokingEvent": "{not json", "resultToken": "x"}),
                "`invokingEvent` is not valid JSON",
            ),
            (json!({"resultToken": "x"}), "no `invokingEvent`"),
            (
                wrap(json!({"messageType": "Bogus"}), json!({})),
                "unknown `messageType` `Bogus`",
            ),
            (
                wrap(
                    json!({"messageType": "ScheduledNotification", "notificationCreationTime": "yesterday"}),
                    json!({}),
                ),
                "`invokingEvent.notificationCreationTime` value `yesterday`",
            ),
            (
                wrap(
                    json!({"messageType": "ConfigurationItemChangeNotification"}),
                    json!({}),
                ),
                "`invokingEvent.configurationItem`",
            ),
            (
                json!({"invokingEvent": change("OK").to_string(), "ruleParameters": "[1]"}),
                "`ruleParameters` has the wrong type",
            ),
            (
                json!({"invokingEvent": change("OK").to_string(), "ruleParameters": "{\"ports\": [80]}"}),
                "`ruleParameters.ports`",
            ),
            (json!([1, 2]), "`event` has the wrong type"),
        ];
        for (ev, needle) in cases {
            let err = ConfigEvent::from_value(ev).unwrap_err().to_string();
            assert!(err.contains(needle), "{err} !~ {needle}");
        }
        assert!(ConfigEvent::from_json("nope")
            .unwrap_err()
            .to_string()
            .contains("not JSON"));
    }

    #[test]
    fn result_token_is_redacted() {
        let ev = ConfigEvent::from_value(wrap(change("OK"), json!({}))).unwrap();
        let shown = format!("{ev:?}");
        assert!(!shown.contains("secret-token-123"), "{shown}");
        assert!(shown.contains("16 chars redacted"));
        assert!(ResultToken::new("TESTMODE").is_test_mode());
    }

    /// A load balancer's old groups come from `configurationItemDiff`'s previous values.
    #[test]
    fn previous_groups_of_a_diff() {
        let diff = json!({"changeType": "UPDATE", "changedProperties": {
            "Configuration.SecurityGroups.0": {"previousValue": "sg-0aaa", "updatedValue": "sg-0bbb", "changeType": "UPDATE"},
            "Configuration.SecurityGroups": {"previousValue": ["sg-0ccc"], "changeType": "UPDATE"},
            "Configuration.Scheme": {"previousValue": "internal", "changeType": "UPDATE"}
        }});
        let mut got = previous_groups(Some(&diff));
        got.sort();
        assert_eq!(got, ["sg-0aaa", "sg-0ccc"]);
        assert!(previous_groups(None).is_empty());
    }
}
