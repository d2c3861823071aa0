//! Change sets: [`Engine::prepare`] creates one (removing nodectl's stale ones first), waits
//! until it is ready and shows its changes; [`Engine::discard`] drops one that will not run.
//! CloudFormation API Reference: CreateChangeSet, DescribeChangeSet, ListChangeSets,
//! DeleteChangeSet.

use super::{Engine, StackInfo};
use crate::aws::cloudformation::ChangeRow;
use crate::aws::{token, AwsError, AwsErrorKind};
use crate::error::{Error, Result};
use crate::plan::StackSpec;

/// A created change set, ready to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    /// The stack name.
    pub stack: String,
    /// The change set id (ARN).
    pub id: String,
    /// The stack id (ARN).
    pub stack_id: String,
    /// Whether it creates the stack (CREATE change set): discarding it deletes the empty
    /// `REVIEW_IN_PROGRESS` stack too.
    pub creating: bool,
    /// The resource changes.
    pub rows: Vec<ChangeRow>,
}

/// What [`Engine::prepare`] found.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// The change set changes nothing (it was deleted); the stack as it is.
    NoChanges(StackInfo),
    /// The change set, shown to the user, to execute or discard.
    Ready(ChangeSet),
}

/// The texts CloudFormation uses for a change set or update that changes nothing
/// (CloudFormation API Reference, DescribeChangeSet `StatusReason`; UpdateStack).
pub fn is_no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

/// The change table as shown before confirmation.
pub fn change_table(rows: &[ChangeRow]) -> String {
    let headers = ["Action", "Logical ID", "Type", "Replacement"];
    let cells: Vec<[&str; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.action.as_str(),
                r.logical_id.as_str(),
                r.resource_type.as_str(),
                r.replacement.as_str(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |row: [&str; 4]| {
        format!(
            "  {:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )
        .trim_end()
        .to_string()
    };
    let mut out = vec![line(headers)];
    out.extend(cells.into_iter().map(line));
    out.join("\n")
}

impl Engine<'_> {
    /// Creates the change set of `stack` over `existing` (what [`Engine::settle`] returned),
    /// waits until it is ready and shows its changes. A change set without changes is deleted:
    /// [`Prepared::NoChanges`].
    pub async fn prepare(
        &self,
        stack: &StackSpec,
        existing: Option<StackInfo>,
        account: &str,
    ) -> Result<Prepared> {
        let name = stack.name.as_str();
        let creating = existing
            .as_ref()
            .is_none_or(|info| info.status == "REVIEW_IN_PROGRESS");
        if let Some(info) = &existing {
            self.remove_stale_change_sets(&info.id, name).await;
        }
        let change_set_name = token();
        self.observer.note(&format!(
            "creating change set {change_set_name} for stack `{name}` in `{}`",
            self.region
        ));
        let created = match self
            .cfn
            .create_change_set(&self.input(stack), &change_set_name, creating)
            .await
        {
            // A retry (after a lost reply) of a request CloudFormation carried out is refused
            // with AlreadyExistsException: the change set of this unique name is ours
            // (CloudFormation API Reference, CreateChangeSet `ClientToken`).
            Err(err) if err.code.as_deref() == Some("AlreadyExistsException") => {
                match self.cfn.change_set_by_name(name, &change_set_name).await {
                    Ok(Some(found)) => Ok(found),
                    _ => Err(err),
                }
            }
            other => other,
        };
        let (id, stack_id) = match created {
            Ok(created) => created,
            Err(err) => {
                if creating && existing.is_none() {
                    // A rejected CREATE change set may still leave an empty REVIEW_IN_PROGRESS
                    // stack behind; remove it so that a failed deploy leaves nothing.
                    if let Ok(Some(info)) = self.describe(name).await {
                        if info.status == "REVIEW_IN_PROGRESS" {
                            self.remove_review_stack(&info.id).await;
                        }
                    }
                }
                return Err(self.error("create a change set for", name, err));
            }
        };
        let (status, reason, rows) = self.wait_for_change_set(name, &id).await?;
        let change_set = ChangeSet {
            stack: name.to_string(),
            id,
            stack_id,
            creating,
            rows,
        };
        if status == "FAILED" {
            let reason = reason.unwrap_or_default();
            self.discard(&change_set).await;
            if let (true, Some(info)) = (is_no_changes(&reason), existing) {
                // Nothing changed, so the stack read before the change set is still current.
                self.observer
                    .note(&format!("no changes: stack `{name}` is up to date"));
                return Ok(Prepared::NoChanges(info));
            }
            return Err(Error::aws(
                format!(
                    "cannot create a change set for stack `{name}` in `{}`",
                    self.region
                ),
                AwsError {
                    code: Some("FAILED".into()),
                    message: reason,
                    kind: AwsErrorKind::Service,
                },
                Some("fix the template or parameters the reason names, then deploy again".into()),
            ));
        }
        self.observer.note(&format!(
            "changes to stack `{name}` (account {account}, region {}):\n{}",
            self.region,
            change_table(&change_set.rows)
        ));
        Ok(Prepared::Ready(change_set))
    }

    /// Polls the change set until it is created or failed; returns its status, reason and rows.
    async fn wait_for_change_set(
        &self,
        stack: &str,
        change_set_id: &str,
    ) -> Result<(String, Option<String>, Vec<ChangeRow>)> {
        let mut poller = crate::aws::poll::Poller::new(self.poll, self.timeout)
            .first_interval(self.poll.initial.min(std::time::Duration::from_secs(1)));
        loop {
            let mut rows = Vec::new();
            let mut next: Option<String> = None;
            let (status, reason) = loop {
                let token = next.take();
                let page = self
                    .read("reading the change set", || {
                        self.cfn.describe_change_set(change_set_id, token.clone())
                    })
                    .await
                    .map_err(|e| self.error("read the change set of", stack, e))?;
                rows.extend(page.rows);
                match page.next {
                    Some(token) if page.status == "CREATE_COMPLETE" => next = Some(token),
                    _ => break (page.status, page.reason),
                }
            };
            match status.as_str() {
                "CREATE_COMPLETE" | "FAILED" => return Ok((status, reason, rows)),
                "CREATE_PENDING" | "CREATE_IN_PROGRESS" => {}
                other => {
                    return Err(Error::usage(
                        format!("change set of stack `{stack}` is {other}"),
                        "deploy again to create a new change set",
                    ))
                }
            }
            if poller.timed_out() {
                return Err(Error::Timeout {
                    stack: stack.to_string(),
                    region: self.region.clone(),
                    status: format!("change set {status}"),
                    waited: poller.elapsed_secs(),
                });
            }
            self.observer
                .waiting(stack, &format!("change set {status}"));
            poller.sleep_exact().await;
            poller.doubled();
        }
    }

    /// Deletes a change set that will not be executed, and the empty `REVIEW_IN_PROGRESS`
    /// stack a CREATE change set made. Best effort: failures are warnings.
    pub async fn discard(&self, change_set: &ChangeSet) {
        if change_set.creating {
            // Deleting the REVIEW_IN_PROGRESS stack deletes its change sets with it.
            self.remove_review_stack(&change_set.stack_id).await;
            return;
        }
        match self.cfn.delete_change_set(&change_set.id).await {
            // Gone already: a retry of a deletion whose reply was lost.
            Ok(()) => {}
            Err(err) if err.code.as_deref() == Some("ChangeSetNotFound") => {}
            Err(err) => self.observer.warn(&format!(
                "could not delete change set {}: {err}",
                change_set.id
            )),
        }
    }

    /// Deletes the change sets an earlier nodectl run left on the stack (`--no-execute`, a
    /// declined or interrupted deploy: names starting `nodectl-`), so that they do not pile
    /// up; change sets of other tools are left alone. Failures only warn.
    async fn remove_stale_change_sets(&self, stack_id: &str, name: &str) {
        let found = match self.cfn.change_sets(stack_id).await {
            Ok(found) => found,
            Err(err) => {
                self.observer.warn(&format!(
                    "could not list the change sets of stack `{name}` to remove nodectl's old \
                     ones: {err}"
                ));
                return;
            }
        };
        let mut removed = Vec::new();
        for (change_set, id, execution) in found {
            if !change_set.starts_with("nodectl-") || execution == "EXECUTE_IN_PROGRESS" {
                continue;
            }
            match self.cfn.delete_change_set(&id).await {
                Ok(()) => removed.push(change_set),
                Err(err) if err.code.as_deref() == Some("ChangeSetNotFound") => {}
                Err(err) => self.observer.warn(&format!(
                    "could not delete the old change set {change_set} of stack `{name}`: {err}"
                )),
            }
        }
        if !removed.is_empty() {
            self.observer.note(&format!(
                "deleted {} change set{} an earlier nodectl run left on stack `{name}`: {}",
                removed.len(),
                if removed.len() == 1 { "" } else { "s" },
                removed.join(", ")
            ));
        }
    }

    /// Deletes the empty `REVIEW_IN_PROGRESS` stack a CREATE change set made. Best effort:
    /// a failure is a warning.
    async fn remove_review_stack(&self, stack_id: &str) {
        if let Err(err) = self
            .cfn
            .delete_stack(stack_id, None, self.role_arn.as_deref())
            .await
        {
            self.observer.warn(&format!(
                "could not delete the empty stack {stack_id}: {err}"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_change_table_is_aligned() {
        let rows = vec![
            ChangeRow {
                action: "Add".into(),
                logical_id: "Vpc".into(),
                resource_type: "AWS::EC2::VPC".into(),
                replacement: String::new(),
            },
            ChangeRow {
                action: "Modify".into(),
                logical_id: "Instance".into(),
                resource_type: "AWS::EC2::Instance".into(),
                replacement: "True".into(),
            },
        ];
        assert_eq!(
            change_table(&rows),
            "  Action  Logical ID  Type                Replacement\n  \
             Add     Vpc         AWS::EC2::VPC\n  \
             Modify  Instance    AWS::EC2::Instance  True"
        );
    }

    #[test]
    fn no_changes_texts() {
        assert!(is_no_changes("The submitted information didn't contain changes. Submit different information to create a change set."));
        assert!(is_no_changes("No updates are to be performed."));
        assert!(!is_no_changes("Template format error"));
    }
}
