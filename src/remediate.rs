//! Remediation through the port: one fix per group across every selected check
//! ([`crate::checks::plan_group`]), applied exactly in its quota-safe order, then the group read
//! again and re-evaluated under every check. Used by `sg-compliance remediate` and by the
//! remediation Lambda function (`sg-compliance-remediate`).

use serde::Serialize;

use crate::checks::{plan_group, Check, Facts, GroupFix};
use crate::cloud::{Cloud, CloudError};
use crate::engine::gather_facts;
use crate::fix::{ApiPermission, Plan, Safety};
use crate::model::SecurityGroup;
use crate::verdict::Compliance;

/// One group NON_COMPLIANT under at least one check, with its one fix.
#[derive(Clone, Debug)]
pub struct Item {
    pub group: SecurityGroup,
    pub checks: Vec<Check>,
    pub fix: GroupFix,
}

impl Item {
    /// `web-tier, public-ingress`: the checks that found the group NON_COMPLIANT.
    pub fn check_names(&self) -> String {
        let names: Vec<&str> = self.fix.findings.iter().map(|(n, _)| *n).collect();
        names.join(", ")
    }

    /// Every check's reason, `check: annotation` joined by ` | ` when there are several.
    pub fn annotation(&self) -> String {
        match self.fix.findings.as_slice() {
            [(_, a)] => a.clone(),
            many => many
                .iter()
                .map(|(n, a)| format!("{n}: {a}"))
                .collect::<Vec<_>>()
                .join(" | "),
        }
    }
}

/// The NON_COMPLIANT groups among `groups`, each with one fix across `checks`; one batched fact
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
        let fix = plan_group(checks, sg, &facts);
        if !fix.findings.is_empty() {
            items.push(Item {
                group: sg.clone(),
                checks: checks.to_vec(),
                fix,
            });
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
        check: String,
        reason: String,
    },
    #[error(
        "{group}: the fix for {check} is unsafe ({reason}); apply it by hand or allow unsafe fixes"
    )]
    Unsafe {
        group: String,
        check: String,
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
    /// The checks that found the group NON_COMPLIANT (`a, b` when several).
    pub check: String,
    pub before: Compliance,
    pub calls: Vec<CallView>,
    pub dry_run: bool,
    /// After a real run: the verdict on the group as read again.
    pub after: Option<Compliance>,
    pub annotation: String,
}

/// Applies one group's plan through `cloud` (only a safe plan unless `allow_unsafe`; nothing
/// when a check has no automatic fix), then, unless `dry_run`, reads the group again and checks
/// that no selected check finds it NON_COMPLIANT.
pub async fn apply_item<C: Cloud>(
    cloud: &C,
    item: &Item,
    facts: &Facts,
    dry_run: bool,
    allow_unsafe: bool,
) -> Result<Applied, RemediateError> {
    let group = item.group.group_id.to_string();
    let check = item.check_names();
    if let Some((name, reason)) = item.fix.manual.first() {
        return Err(RemediateError::Manual {
            group,
            check: name.to_string(),
            reason: reason.clone(),
        });
    }
    let Some(plan) = &item.fix.plan else {
        return Ok(Applied {
            group_id: group,
            check,
            before: Compliance::Compliant,
            calls: vec![],
            dry_run,
            after: None,
            annotation: item.annotation(),
        });
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
        annotation: item.annotation(),
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
    let mut after = Compliance::NotApplicable;
    let mut notes = Vec::new();
    for check in &item.checks {
        let verdict = check.evaluate(&again, facts);
        if verdict.compliance() == Compliance::NonCompliant {
            return Err(RemediateError::StillNonCompliant {
                group,
                annotation: verdict.annotation().to_string(),
            });
        }
        if verdict.compliance() == Compliance::Compliant {
            after = Compliance::Compliant;
        }
        notes.push(verdict.annotation().to_string());
    }
    applied.after = Some(after);
    applied.annotation = notes.join(" | ");
    Ok(applied)
}

/// The AWS CLI commands a person would run for a plan (the seed's remediation steps, exact). A
/// rule reshaped in place is found by its shape (`describe-security-group-rules`) first.
pub fn cli_commands(group: &SecurityGroup, plan: &Plan, region: Option<&str>) -> Vec<String> {
    plan.calls
        .iter()
        .map(|c| {
            let perms = serde_json::to_string(&c.ip_permissions()).unwrap_or_default();
            let region = region.map(|r| format!(" --region {r}")).unwrap_or_default();
            if c.action == crate::fix::Action::Modify {
                return modify_commands(group, c, &region);
            }
            format!(
                "aws ec2 {}{region} --group-id {} --ip-permissions '{}'",
                c.cli_command(),
                group.group_id,
                perms
            )
        })
        .collect()
}

/// `aws ec2 modify-security-group-rules` for each reshaped rule, its id looked up by its shape.
fn modify_commands(group: &SecurityGroup, call: &crate::fix::Call, region: &str) -> String {
    use crate::fix::{Direction, Peer};
    let egress = call.direction == Direction::Egress;
    let mut out = Vec::new();
    for (old, new) in call.replaces.iter().zip(&call.rules) {
        let peer_field = |r: &crate::fix::RuleSpec| match &r.peer {
            Peer::Cidr(ipnet::IpNet::V4(n)) => ("CidrIpv4", n.to_string()),
            Peer::Cidr(ipnet::IpNet::V6(n)) => ("CidrIpv6", n.to_string()),
            Peer::PrefixList(id) => ("PrefixListId", id.clone()),
            Peer::Group(g) => ("ReferencedGroupInfo.GroupId", g.to_string()),
        };
        let (field, value) = peer_field(old);
        let query = format!(
            "SecurityGroupRules[?IsEgress==`{egress}` && IpProtocol==`{}` && FromPort==`{}` && ToPort==`{}` && {field}==`{value}`].SecurityGroupRuleId",
            old.ip_protocol(),
            old.from.unwrap_or(-1),
            old.to.unwrap_or(-1)
        );
        let (nfield, nvalue) = peer_field(new);
        let nfield = nfield.replace("ReferencedGroupInfo.GroupId", "ReferencedGroupId");
        out.push(format!(
            "aws ec2 modify-security-group-rules{region} --group-id {gid} --security-group-rules \"SecurityGroupRuleId=$(aws ec2 describe-security-group-rules{region} --filters Name=group-id,Values={gid} --query '{query}' --output text),SecurityGroupRule={{IpProtocol={},FromPort={},ToPort={},{nfield}={nvalue}}}\"",
            new.ip_protocol(),
            new.from.unwrap_or(-1),
            new.to.unwrap_or(-1),
            gid = group.group_id,
        ));
    }
    out.join("\n")
}
