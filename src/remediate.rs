//! Remediation through the port: the fixes the checks compute for a set of groups, and applying
//! one exactly (authorizations first), then reading the group again and re-evaluating it. Used by
//! `sg-compliance remediate` and by the remediation Lambda function (`sg-compliance-remediate`).

use serde::Serialize;

use crate::checks::{Check, Facts};
use crate::cloud::{Cloud, CloudError};
use crate::engine::gather_facts;
use crate::fix::{ApiPermission, Fix, Plan, Safety};
use crate::model::SecurityGroup;
use crate::verdict::Compliance;

/// One NON_COMPLIANT group under one check, with what to do about it.
#[derive(Clone, Debug)]
pub struct Item {
    pub group: SecurityGroup,
    pub check: Check,
    pub annotation: String,
    pub fix: Fix,
}

/// The NON_COMPLIANT (group, check) pairs among `groups`, with their fixes; one batched fact
/// look-up for all of them. Also returns the facts (to re-evaluate after applying).
pub async fn plan<C: Cloud>(
    cloud: &C,
    checks: &[Check],
    groups: &[SecurityGroup],
) -> Result<(Vec<Item>, Facts), CloudError> {
    let refs: Vec<&SecurityGroup> = groups.iter().collect();
    let check_refs: Vec<&Check> = checks.iter().collect();
    let facts = gather_facts(cloud, &check_refs, &refs).await?;
    let mut items = Vec::new();
    for sg in groups {
        for check in checks {
            let (verdict, fix) = check.judge(sg, &facts);
            if verdict.compliance() == Compliance::NonCompliant {
                items.push(Item {
                    group: sg.clone(),
                    check: check.clone(),
                    annotation: verdict.annotation().to_string(),
                    fix,
                });
            }
        }
    }
    Ok((items, facts))
}

/// Why a fix was not applied, or did not work.
#[derive(Debug, thiserror::Error)]
pub enum RemediateError {
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("{group}: no safe automatic fix for {check}: {reason}")]
    Manual {
        group: String,
        check: &'static str,
        reason: String,
    },
    #[error(
        "{group}: the fix for {check} is unsafe ({reason}); apply it by hand or allow unsafe fixes"
    )]
    Unsafe {
        group: String,
        check: &'static str,
        reason: String,
    },
    #[error("{group} no longer exists")]
    Gone { group: String },
    #[error("{group}: still NON_COMPLIANT after the fix: {annotation}")]
    StillNonCompliant { group: String, annotation: String },
    #[error("{group}: cannot be read after the fix: {reason}")]
    Unreadable { group: String, reason: String },
}

/// One API call as `remediate --format json` and the remediation function report it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallView {
    pub operation: &'static str,
    pub group_id: String,
    pub ip_permissions: Vec<ApiPermission>,
}

/// The calls of a plan for one group.
pub fn call_views(group: &SecurityGroup, plan: &Plan) -> Vec<CallView> {
    plan.calls
        .iter()
        .map(|c| CallView {
            operation: c.operation(),
            group_id: group.group_id.to_string(),
            ip_permissions: c.ip_permissions(),
        })
        .collect()
}

/// What applying one item did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub group_id: String,
    pub check: &'static str,
    pub before: Compliance,
    pub calls: Vec<CallView>,
    pub dry_run: bool,
    /// After a real run: the verdict on the group as read again.
    pub after: Option<Compliance>,
    pub annotation: String,
}

/// Applies one item's plan through `cloud` (only a safe plan unless `allow_unsafe`), then, unless
/// `dry_run`, reads the group again and checks it is no longer NON_COMPLIANT.
pub async fn apply_item<C: Cloud>(
    cloud: &C,
    item: &Item,
    facts: &Facts,
    dry_run: bool,
    allow_unsafe: bool,
) -> Result<Applied, RemediateError> {
    let group = item.group.group_id.to_string();
    let check = item.check.name();
    let plan = match &item.fix {
        Fix::Plan(plan) => plan,
        Fix::Manual(reason) => {
            return Err(RemediateError::Manual {
                group,
                check,
                reason: reason.clone(),
            })
        }
        Fix::Nothing => {
            return Ok(Applied {
                group_id: group,
                check,
                before: Compliance::Compliant,
                calls: vec![],
                dry_run,
                after: None,
                annotation: item.annotation.clone(),
            })
        }
    };
    if let (Safety::Unsafe(reason), false) = (&plan.safety, allow_unsafe) {
        return Err(RemediateError::Unsafe {
            group,
            check,
            reason: reason.clone(),
        });
    }
    cloud
        .modify(&item.group.group_id, &plan.calls, dry_run)
        .await?;
    let mut applied = Applied {
        group_id: group.clone(),
        check,
        before: Compliance::NonCompliant,
        calls: call_views(&item.group, plan),
        dry_run,
        after: None,
        annotation: item.annotation.clone(),
    };
    if dry_run {
        return Ok(applied);
    }
    let again = match cloud.security_group(&item.group.group_id).await? {
        None => return Err(RemediateError::Gone { group }),
        Some(Err(e)) => {
            return Err(RemediateError::Unreadable {
                group,
                reason: e.to_string(),
            })
        }
        Some(Ok(g)) => g,
    };
    let verdict = item.check.evaluate(&again, facts);
    if verdict.compliance() == Compliance::NonCompliant {
        return Err(RemediateError::StillNonCompliant {
            group,
            annotation: verdict.annotation().to_string(),
        });
    }
    applied.after = Some(verdict.compliance());
    applied.annotation = verdict.annotation().to_string();
    Ok(applied)
}

/// The AWS CLI commands a person would run for a plan (the seed's remediation steps, exact).
pub fn cli_commands(group: &SecurityGroup, plan: &Plan, region: Option<&str>) -> Vec<String> {
    plan.calls
        .iter()
        .map(|c| {
            let perms = serde_json::to_string(&c.ip_permissions()).unwrap_or_default();
            let region = region.map(|r| format!(" --region {r}")).unwrap_or_default();
            format!(
                "aws ec2 {}{region} --group-id {} --ip-permissions '{}'",
                c.cli_command(),
                group.group_id,
                perms
            )
        })
        .collect()
}
