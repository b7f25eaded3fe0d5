//! `evaluate`'s output, written as the engine makes it: a cloud wrapper whose `PutEvaluations`
//! prints each batch (and, with `--deliver`, sends it on), so a sweep of a whole region prints a
//! JSON list page by page instead of holding every evaluation and one big string.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Mutex;

use crate::cloud::{Cloud, CloudError, Evaluation, GroupPage};
use crate::event::{ConfigItem, ItemSummary, ResultToken};
use crate::exposure::PrefixLists;
use crate::fix::Call;
use crate::model::{GroupId, ModelError, SecurityGroup};

/// Wraps `inner`; what it would deliver is printed to `out` as one pretty JSON list.
pub struct Printing<'a, C, W: Write + Send> {
    pub inner: &'a C,
    /// Also deliver to `inner` (`--deliver`), or print only.
    pub deliver: bool,
    out: Mutex<(W, usize)>,
}

impl<'a, C: Cloud, W: Write + Send> Printing<'a, C, W> {
    pub fn new(inner: &'a C, deliver: bool, out: W) -> Self {
        Printing {
            inner,
            deliver,
            out: Mutex::new((out, 0)),
        }
    }

    fn print(&self, evaluations: &[Evaluation]) -> std::io::Result<()> {
        let mut guard = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let (out, printed) = &mut *guard;
        for e in evaluations {
            let text = serde_json::to_string_pretty(e).map_err(std::io::Error::other)?;
            out.write_all(if *printed == 0 { b"[\n" } else { b",\n" })?;
            // Indented one level, as inside a pretty-printed list.
            for (i, line) in text.lines().enumerate() {
                if i > 0 {
                    out.write_all(b"\n")?;
                }
                write!(out, "  {line}")?;
            }
            *printed += 1;
        }
        out.flush()
    }

    /// Closes the list whatever the engine returned, so what was printed stays valid JSON. With
    /// nothing printed: `[]` after a success, nothing after a failure.
    pub fn finish(&self, succeeded: bool) -> std::io::Result<()> {
        let mut guard = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let (out, printed) = &mut *guard;
        match (*printed, succeeded) {
            (0, false) => return Ok(()),
            (0, true) => out.write_all(b"[]\n")?,
            _ => out.write_all(b"\n]\n")?,
        }
        out.flush()
    }
}

impl<C: Cloud, W: Write + Send> Cloud for Printing<'_, C, W> {
    fn region(&self) -> Option<String> {
        self.inner.region()
    }
    async fn fetch_item(&self, summary: &ItemSummary) -> Result<ConfigItem, CloudError> {
        self.inner.fetch_item(summary).await
    }
    async fn security_group_page(&self, token: Option<String>) -> Result<GroupPage, CloudError> {
        self.inner.security_group_page(token).await
    }
    async fn evaluated_resources(&self, rule: &str) -> Result<Vec<(String, String)>, CloudError> {
        self.inner.evaluated_resources(rule).await
    }
    async fn load_balancer_groups(
        &self,
        candidates: &BTreeSet<GroupId>,
    ) -> Result<BTreeSet<GroupId>, CloudError> {
        self.inner.load_balancer_groups(candidates).await
    }
    async fn prefix_lists(&self, ids: &BTreeSet<String>) -> Result<PrefixLists, CloudError> {
        self.inner.prefix_lists(ids).await
    }
    async fn referencing_groups(
        &self,
        id: &GroupId,
        max: usize,
    ) -> Result<(crate::cloud::GroupPage, bool), CloudError> {
        self.inner.referencing_groups(id, max).await
    }
    async fn group_infos(
        &self,
        ids: &BTreeSet<GroupId>,
    ) -> Result<std::collections::BTreeMap<GroupId, crate::model::GroupInfo>, CloudError> {
        self.inner.group_infos(ids).await
    }
    fn rules_quota(&self) -> Option<usize> {
        self.inner.rules_quota()
    }
    async fn put_evaluations(
        &self,
        evaluations: &[Evaluation],
        token: &ResultToken,
    ) -> Result<(), CloudError> {
        self.print(evaluations)
            .map_err(|e| CloudError::Output(e.to_string()))?;
        if self.deliver {
            self.inner.put_evaluations(evaluations, token).await
        } else {
            Ok(())
        }
    }
    async fn security_group(
        &self,
        id: &GroupId,
    ) -> Result<Option<Result<SecurityGroup, ModelError>>, CloudError> {
        self.inner.security_group(id).await
    }
    async fn modify(
        &self,
        group: &GroupId,
        calls: &[Call],
        dry_run: bool,
    ) -> Result<(), CloudError> {
        self.inner.modify(group, calls, dry_run).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Check;
    use crate::cloud::InMemory;
    use crate::engine::evaluate_and_deliver;
    use crate::model::from_config_item;
    use serde_json::json;

    #[tokio::test]
    async fn a_sweep_prints_one_json_list_batch_by_batch_without_delivering() {
        let groups = (0..250)
            .map(|i| {
                from_config_item(
                    &json!({"groupId": format!("sg-{i:017x}"), "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["0.0.0.0/0"]}]}),
                    &Default::default(),
                )
            })
            .collect();
        let cloud = InMemory {
            groups: Some(groups),
            evaluated: Some(vec![]),
            ..InMemory::default()
        };
        let event = crate::event::scheduled_event(
            json!({"check": "public-ingress", "blockedTcpPorts": "22"}),
        );
        let check = Check::from_params(&event.rule_parameters).unwrap();
        let printing = Printing::new(&cloud, false, Vec::new());
        let outcome = evaluate_and_deliver(&printing, &event, &check)
            .await
            .unwrap();
        printing.finish(true).unwrap();
        assert_eq!(outcome.non_compliant, 250);
        let text = String::from_utf8(printing.out.into_inner().unwrap().0).unwrap();
        let printed: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(printed.len(), 250);
        // The same layout as pretty-printing the whole list at once.
        assert_eq!(text, serde_json::to_string_pretty(&printed).unwrap() + "\n");
    }

    #[test]
    fn nothing_printed_is_an_empty_list_after_a_success_and_nothing_after_a_failure() {
        let offline = InMemory::offline();
        for (succeeded, want) in [(true, &b"[]\n"[..]), (false, &b""[..])] {
            let printing = Printing::new(&offline, false, Vec::new());
            printing.finish(succeeded).unwrap();
            assert_eq!(printing.out.into_inner().unwrap().0, want);
        }
    }
}
