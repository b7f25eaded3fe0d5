//! The Lambda side of the engine: clients built once at init, optional role assumption for
//! organization rules, and one `handle` per invocation that evaluates and delivers.

use std::collections::HashMap;

use aws_config::SdkConfig;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::aws::{assume_role, load_sdk_config, AwsCloud};
use crate::checks::Check;
use crate::cloud::CloudError;
use crate::engine::{evaluate_and_deliver, EngineError};
use crate::event::{ConfigEvent, EventError};

/// The environment variable that turns on organization mode.
pub const ASSUME_ROLE_ENV: &str = "SG_COMPLIANCE_ASSUME_ROLE";

/// Whose credentials an invocation uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssumeMode {
    /// The function's own role (single account).
    None,
    /// The event's `executionRoleArn`.
    EventRole,
    /// `arn:<partition>:iam::<event accountId>:role/<name>`.
    RoleName(String),
}

impl AssumeMode {
    /// From `SG_COMPLIANCE_ASSUME_ROLE`: unset/empty, `event`, or a role name.
    pub fn from_setting(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            None | Some("") => AssumeMode::None,
            Some("event") => AssumeMode::EventRole,
            Some(name) => AssumeMode::RoleName(name.to_string()),
        }
    }

    /// The role to assume for `event`, if any.
    pub fn role_arn(&self, event: &ConfigEvent) -> Result<Option<String>, EngineError> {
        match self {
            AssumeMode::None => Ok(None),
            AssumeMode::EventRole => event.execution_role_arn.clone().map(Some).ok_or_else(|| {
                EventError::Missing(format!(
                    "executionRoleArn (needed because {ASSUME_ROLE_ENV}=event)"
                ))
                .into()
            }),
            AssumeMode::RoleName(name) => {
                let account = event.account_id.as_deref().ok_or_else(|| {
                    EventError::Missing(format!("accountId (needed to assume role {name})"))
                })?;
                let partition = event
                    .execution_role_arn
                    .as_deref()
                    .and_then(|arn| arn.split(':').nth(1))
                    .filter(|p| !p.is_empty())
                    .unwrap_or("aws");
                Ok(Some(format!("arn:{partition}:iam::{account}:role/{name}")))
            }
        }
    }
}

/// State kept across invocations of one Lambda execution environment.
pub struct Handler {
    base: SdkConfig,
    home: AwsCloud,
    mode: AssumeMode,
    assumed: Mutex<HashMap<String, AwsCloud>>,
}

impl Handler {
    /// Builds the clients from the default configuration and opens Config's connection
    /// ([`AwsCloud::warm_up`]; skipped when `SG_COMPLIANCE_WARMUP=false`).
    pub async fn init() -> Self {
        let base = load_sdk_config().await;
        let handler = Handler::with_config(
            base,
            AssumeMode::from_setting(std::env::var(ASSUME_ROLE_ENV).ok().as_deref()),
        );
        if std::env::var("SG_COMPLIANCE_WARMUP")
            .map(|v| v != "false")
            .unwrap_or(true)
        {
            handler.home.warm_up().await;
        }
        handler
    }

    pub fn with_config(base: SdkConfig, mode: AssumeMode) -> Self {
        Handler {
            home: AwsCloud::new(&base),
            base,
            mode,
            assumed: Mutex::new(HashMap::new()),
        }
    }

    async fn cloud_for(&self, event: &ConfigEvent) -> Result<AwsCloud, EngineError> {
        let Some(role_arn) = self.mode.role_arn(event)? else {
            return Ok(self.home.clone());
        };
        let mut cache = self.assumed.lock().await;
        if let Some(cloud) = cache.get(&role_arn) {
            return Ok(cloud.clone());
        }
        let config = assume_role(&self.base, &role_arn).await?;
        let cloud = AwsCloud::new(&config);
        cache.insert(role_arn.clone(), cloud.clone());
        tracing::info!(role_arn = %role_arn, "assumed member account role");
        Ok(cloud)
    }

    /// One invocation: parse, evaluate, deliver. Returns a summary for the invocation's response.
    pub async fn handle(&self, payload: Value) -> Result<Value, EngineError> {
        let event = ConfigEvent::from_value(payload)?;
        let check = Check::from_params(&event.rule_parameters)?;
        let cloud = self.cloud_for(&event).await?;
        let outcome = evaluate_and_deliver(&cloud, &event, &check).await?;
        let summary = json!({
            "check": check.name(),
            "rule": event.config_rule_name,
            "evaluations": outcome.total(),
            "compliant": outcome.compliant,
            "nonCompliant": outcome.non_compliant,
            "notApplicable": outcome.not_applicable,
            "delivered": outcome.delivered,
            "failures": outcome.failures.len(),
            "staleCleanup": outcome.stale_cleanup,
            "testMode": event.result_token.is_test_mode(),
        });
        tracing::info!(summary = %summary, "delivered");
        Ok(summary)
    }
}

impl From<CloudError> for lambda_runtime::Diagnostic {
    fn from(e: CloudError) -> Self {
        EngineError::from(e).into()
    }
}

impl From<EngineError> for lambda_runtime::Diagnostic {
    fn from(e: EngineError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.kind().to_string(),
            error_message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(account: Option<&str>, role: Option<&str>) -> ConfigEvent {
        let mut v = json!({
            "invokingEvent": json!({"messageType": "ScheduledNotification", "notificationCreationTime": "2026-11-21T00:00:00Z"}).to_string(),
            "resultToken": "t",
        });
        if let Some(a) = account {
            v["accountId"] = json!(a);
        }
        if let Some(r) = role {
            v["executionRoleArn"] = json!(r);
        }
        ConfigEvent::from_value(v).unwrap()
    }

    #[test]
    fn assume_modes() {
        assert_eq!(AssumeMode::from_setting(None), AssumeMode::None);
        assert_eq!(AssumeMode::from_setting(Some(" ")), AssumeMode::None);
        assert_eq!(
            AssumeMode::from_setting(Some("event")),
            AssumeMode::EventRole
        );
        let named = AssumeMode::from_setting(Some("sg-compliance-member"));
        assert_eq!(
            named
                .role_arn(&event(Some("111122223333"), None))
                .unwrap()
                .as_deref(),
            Some("arn:aws:iam::111122223333:role/sg-compliance-member")
        );
        assert_eq!(
            named
                .role_arn(&event(Some("1"), Some("arn:aws-cn:iam::1:role/x")))
                .unwrap()
                .as_deref(),
            Some("arn:aws-cn:iam::1:role/sg-compliance-member")
        );
        assert!(named
            .role_arn(&event(None, None))
            .unwrap_err()
            .to_string()
            .contains("accountId"));
        assert_eq!(
            AssumeMode::EventRole
                .role_arn(&event(None, Some("arn:aws:iam::2:role/r")))
                .unwrap()
                .as_deref(),
            Some("arn:aws:iam::2:role/r")
        );
        assert!(AssumeMode::EventRole
            .role_arn(&event(None, None))
            .unwrap_err()
            .to_string()
            .contains("executionRoleArn"));
        assert_eq!(AssumeMode::None.role_arn(&event(None, None)).unwrap(), None);
    }
}

/// The remediation function (`sg-compliance-remediate`), invoked by the SSM Automation document
/// of Config auto-remediation with `{"groupId", "ruleParameters", "dryRun"}`. It computes the fix
/// with the same engine as the rule, applies a safe plan exactly (authorizations first), reads the
/// group again and fails unless it is no longer NON_COMPLIANT. Unsafe plans and checks without an
/// automatic fix fail with the reason, so the automation (and its alert) shows what to do by hand.
pub struct RemediationHandler {
    cloud: AwsCloud,
}

/// A remediation request could not be carried out. `kind()` is the stable Lambda error type.
#[derive(Debug, thiserror::Error)]
pub enum RemediationError {
    #[error("remediation event: {0}")]
    Event(String),
    #[error(transparent)]
    Params(#[from] crate::params::ParamError),
    #[error("{0}: no such security group in this account and region")]
    NoSuchGroup(String),
    #[error("{0}")]
    Group(crate::model::ModelError),
    #[error(transparent)]
    Remediate(#[from] crate::remediate::RemediateError),
    #[error(transparent)]
    Cloud(#[from] CloudError),
}

impl RemediationError {
    pub fn kind(&self) -> &'static str {
        use crate::remediate::RemediateError as R;
        match self {
            RemediationError::Event(_) => "InvalidEvent",
            RemediationError::Params(_) => "InvalidRuleParameter",
            RemediationError::NoSuchGroup(_) => "NoSuchGroup",
            RemediationError::Group(_) => "InvalidResource",
            RemediationError::Remediate(R::Manual { .. }) => "NoAutomaticFix",
            RemediationError::Remediate(R::Unsafe { .. }) => "UnsafeFix",
            RemediationError::Remediate(R::StillNonCompliant { .. }) => "StillNonCompliant",
            RemediationError::Remediate(_) | RemediationError::Cloud(_) => "AwsError",
        }
    }
}

impl From<RemediationError> for lambda_runtime::Diagnostic {
    fn from(e: RemediationError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.kind().to_string(),
            error_message: e.to_string(),
        }
    }
}

/// `"true"`/`"false"`/`true`/`false`; absent means a dry run (the safe default).
fn dry_run_of(v: Option<&Value>) -> Result<bool, RemediationError> {
    match v {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(RemediationError::Event(format!(
            "`dryRun` = `{other}`: expected true or false"
        ))),
    }
}

/// `ruleParameters` as a JSON string (what Config and SSM pass) or an object.
fn rule_parameters_of(
    v: Option<&Value>,
) -> Result<std::collections::BTreeMap<String, String>, RemediationError> {
    let bad = |why: String| RemediationError::Event(format!("`ruleParameters`: {why}"));
    let value = match v {
        Some(Value::String(text)) => {
            serde_json::from_str::<Value>(text).map_err(|e| bad(format!("not JSON ({e})")))?
        }
        Some(obj @ Value::Object(_)) => obj.clone(),
        None => return Err(bad("missing; pass the rule's input parameters".into())),
        Some(other) => {
            return Err(bad(format!(
                "expected a JSON string or object, got `{other}`"
            )))
        }
    };
    let Value::Object(map) = value else {
        return Err(bad("expected a JSON object".into()));
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Bool(b) => Ok((k, b.to_string())),
            Value::Number(n) => Ok((k, n.to_string())),
            other => Err(bad(format!("`{k}` = `{other}`: expected a string"))),
        })
        .collect()
}

impl RemediationHandler {
    pub async fn init() -> Self {
        RemediationHandler {
            cloud: AwsCloud::new(&load_sdk_config().await),
        }
    }

    pub fn with_cloud(cloud: AwsCloud) -> Self {
        RemediationHandler { cloud }
    }

    pub async fn handle(&self, payload: Value) -> Result<Value, RemediationError> {
        use crate::cloud::Cloud;
        let group_id = payload
            .get("groupId")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                RemediationError::Event("`groupId` is missing or not a string".into())
            })?;
        let group_id = crate::model::GroupId::parse(group_id)
            .map_err(|e| RemediationError::Event(format!("`groupId`: {e}")))?;
        let params = rule_parameters_of(payload.get("ruleParameters"))?;
        let dry_run = dry_run_of(payload.get("dryRun"))?;
        let check = Check::from_params(&params)?;
        let sg = match self.cloud.security_group(&group_id).await? {
            None => return Err(RemediationError::NoSuchGroup(group_id.to_string())),
            Some(Err(e)) => return Err(RemediationError::Group(e)),
            Some(Ok(sg)) => sg,
        };
        let checks = [check];
        let (items, facts) =
            crate::remediate::plan(&self.cloud, &checks, std::slice::from_ref(&sg)).await?;
        let Some(item) = items.first() else {
            let verdict = checks[0].evaluate(&sg, &facts);
            tracing::info!(group = %group_id, check = checks[0].name(), "nothing to fix");
            return Ok(json!({
                "groupId": group_id.to_string(),
                "check": checks[0].name(),
                "before": verdict.compliance(),
                "calls": [],
                "dryRun": dry_run,
                "annotation": verdict.annotation(),
            }));
        };
        let applied =
            crate::remediate::apply_item(&self.cloud, item, &facts, dry_run, false).await?;
        tracing::info!(group = %group_id, check = %applied.check, dry_run, calls = applied.calls.len(), "remediated");
        serde_json::to_value(&applied).map_err(|e| RemediationError::Event(e.to_string()))
    }
}
