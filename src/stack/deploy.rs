//! Deploying one stack: through a change set (the default: [`Engine::prepare`] creates it and
//! shows it, the caller confirms, [`Engine::execute`] runs it or [`Engine::discard`] drops it)
//! or directly ([`Engine::deploy_direct`]: CreateStack / UpdateStack, `--method direct`, as
//! `cdk deploy --method direct`).
//!
//! The flow follows rain's deploy (`../shared/reference/cli-anchors.md` section 1.1): settle
//! the existing stack first (wait for a running operation; delete a stack left by a failed
//! create), create the change set, treat "no changes" as success, show the changes, execute,
//! follow the events until the stack settles, by stack id.

use super::status::{pre_deploy, root_cause, PreDeploy, StatusClass};
use super::{classify, Engine, StackInfo};
use crate::aws::cloudformation::{ChangeRow, StackInput};
use crate::aws::{token, AwsError, AwsErrorKind};
use crate::error::{Error, Result};
use crate::plan::StackSpec;

/// How to deploy (`--method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// Create a change set, show it, ask, execute it.
    ChangeSet,
    /// CreateStack / UpdateStack with no preview (for pipelines that want speed).
    Direct,
}

/// Options of one deploy.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// `--method`.
    pub method: Method,
    /// `--yes`: do not ask before executing.
    pub yes: bool,
    /// `--no-execute`: create the change set, show it, stop.
    pub no_execute: bool,
    /// The account id (for the change table and the confirmation text).
    pub account: String,
    /// `--termination-protection`: turn it on for every deployed stack.
    pub termination_protection: bool,
}

/// How a deploy ended, when it did not fail.
#[derive(Debug, Clone)]
pub enum DeployResult {
    /// The stack was created or updated.
    Deployed(StackInfo),
    /// Nothing to change; the stack as it is.
    NoChanges(StackInfo),
    /// `--no-execute`: the change set is left for review.
    ChangeSetCreated(ChangeSet),
}

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
    /// What CloudFormation is sent for `stack`, with the engine's role and rollback setting.
    fn input<'s>(&'s self, stack: &'s StackSpec) -> StackInput<'s> {
        StackInput {
            name: &stack.name,
            template: stack.template.body(),
            parameters: &stack.parameters,
            tags: &stack.tags,
            role_arn: self.role_arn.as_deref(),
            disable_rollback: self.disable_rollback,
        }
    }
}

impl Engine<'_> {
    /// Brings the stack into a state it can be deployed from; returns it (`None`: create it).
    pub async fn settle(&self, stack: &StackSpec, method: Method) -> Result<Option<StackInfo>> {
        let name = stack.name.as_str();
        loop {
            let info = self.describe_for(name, "deploy").await?;
            let status = info.as_ref().map(|i| i.status.as_str());
            match pre_deploy(name, status) {
                PreDeploy::Create if method == Method::Direct && info.is_some() => {
                    // A REVIEW_IN_PROGRESS stack blocks CreateStack; it holds no resources.
                    let info = info.expect("checked");
                    self.observer.note(&format!(
                        "stack `{name}` is REVIEW_IN_PROGRESS (an unexecuted change set); deleting \
                         it before creating it"
                    ));
                    super::destroy::delete(self, &info).await?;
                }
                PreDeploy::Create | PreDeploy::Update => return Ok(info),
                PreDeploy::Wait => {
                    let info = info.expect("a status means a stack");
                    self.observer.note(&format!(
                        "stack `{name}` is {}; waiting for that operation to finish",
                        info.status
                    ));
                    let since = self
                        .latest_event_id(&info.id)
                        .await
                        .map_err(|e| self.error("deploy", name, e))?;
                    self.wait(&info.id, name, since, false).await?;
                }
                PreDeploy::DeleteThenCreate => {
                    let info = info.expect("a status means a stack");
                    self.observer.note(&format!(
                        "stack `{name}` is {} after a failed create and cannot be updated; \
                         deleting it before creating it again",
                        info.status
                    ));
                    super::destroy::delete(self, &info).await?;
                }
                PreDeploy::Refuse(hint) => {
                    return Err(Error::StackState {
                        stack: name.to_string(),
                        region: self.region.clone(),
                        status: status.unwrap_or_default().to_string(),
                        hint,
                    })
                }
            }
        }
    }

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

    /// Executes `change_set` of `stack` and waits until the stack settles.
    pub async fn execute(&self, stack: &StackSpec, change_set: &ChangeSet) -> Result<DeployResult> {
        let since = self
            .latest_event_id(&change_set.stack_id)
            .await
            .map_err(|e| self.error("deploy", &stack.name, e))?;
        if let Err(err) = self
            .cfn
            .execute_change_set(&change_set.id, &token(), self.disable_rollback)
            .await
        {
            self.executed_anyway(stack, change_set, err).await?;
        }
        let operation = if change_set.creating {
            "create"
        } else {
            "update"
        };
        self.finish(stack, &change_set.stack_id, since, true, operation)
            .await
    }

    /// Decides what a refused ExecuteChangeSet means by reading the change set back (its
    /// `ExecutionStatus`; CloudFormation API Reference, DescribeChangeSet): a retry of a request
    /// CloudFormation had carried out (the reply was lost) is refused with
    /// `InvalidChangeSetStatus`, and the change set then executes: that is success. An
    /// `OBSOLETE` change set, or one still `AVAILABLE` while the stack is busy, means another
    /// operation changed the stack since the change set was made ([`Error::ConcurrentChange`]).
    async fn executed_anyway(
        &self,
        stack: &StackSpec,
        change_set: &ChangeSet,
        err: AwsError,
    ) -> Result<()> {
        let page = self
            .read("reading the change set", || {
                self.cfn.describe_change_set(&change_set.id, None)
            })
            .await;
        match page.as_ref().map(|p| p.execution_status.as_str()) {
            Ok("EXECUTE_IN_PROGRESS" | "EXECUTE_COMPLETE" | "EXECUTE_FAILED") => {
                tracing::debug!("ExecuteChangeSet was refused ({err}), but the change set runs");
                Ok(())
            }
            Ok(status @ ("OBSOLETE" | "AVAILABLE")) => Err(Error::ConcurrentChange {
                stack: stack.name.clone(),
                region: self.region.clone(),
                detail: format!("its change set is {status}: {err}"),
            }),
            _ => Err(self.error("execute the change set of", &stack.name, err)),
        }
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

    /// Deploys `stack` over `existing` with CreateStack / UpdateStack, no preview.
    pub async fn deploy_direct(
        &self,
        stack: &StackSpec,
        existing: Option<StackInfo>,
    ) -> Result<DeployResult> {
        let name = stack.name.as_str();
        match existing {
            None => {
                self.observer
                    .note(&format!("creating stack `{name}` in `{}`", self.region));
                let token = token();
                let stack_id = match self.cfn.create_stack(&self.input(stack), &token).await {
                    Ok(id) => id,
                    // A retried CreateStack whose first attempt created the stack is refused
                    // with AlreadyExistsException; the stack's first event carries the
                    // request's ClientRequestToken (CloudFormation API Reference, CreateStack,
                    // DescribeStackEvents).
                    Err(err) if err.code.as_deref() == Some("AlreadyExistsException") => {
                        match self.cfn.started_by(name, &token).await {
                            Ok(Some(id)) => id,
                            _ => return Err(self.error("create", name, err)),
                        }
                    }
                    Err(err) => return Err(self.error("create", name, err)),
                };
                self.finish(stack, &stack_id, None, false, "create").await
            }
            Some(info) => {
                self.observer
                    .note(&format!("updating stack `{name}` in `{}`", self.region));
                let since = self
                    .latest_event_id(&info.id)
                    .await
                    .map_err(|e| self.error("update", name, e))?;
                let token = token();
                let updated = match self
                    .cfn
                    .update_stack(&info.id, &self.input(stack), &token)
                    .await
                {
                    // A retried UpdateStack whose first attempt started the update is refused
                    // (the stack is UPDATE_IN_PROGRESS); the update's events carry the request's
                    // ClientRequestToken (CloudFormation API Reference, UpdateStack).
                    Err(err)
                        if !err.is_no_updates()
                            && err.code.as_deref() == Some("ValidationError") =>
                    {
                        match self.cfn.started_by(&info.id, &token).await {
                            Ok(Some(_)) => Ok(()),
                            _ => Err(err),
                        }
                    }
                    other => other,
                };
                match updated {
                    Ok(()) => self.finish(stack, &info.id, since, false, "update").await,
                    Err(err) if err.is_no_updates() => {
                        self.observer
                            .note(&format!("no changes: stack `{name}` is up to date"));
                        Ok(DeployResult::NoChanges(info))
                    }
                    Err(err) => Err(self.error("update", name, err)),
                }
            }
        }
    }

    /// Waits for the operation started on `stack_id` and turns its end into a result.
    async fn finish(
        &self,
        stack: &StackSpec,
        stack_id: &str,
        since: Option<String>,
        executing: bool,
        operation: &str,
    ) -> Result<DeployResult> {
        let name = stack.name.as_str();
        let outcome = self.wait(stack_id, name, since, executing).await?;
        match classify(&outcome.status) {
            StatusClass::Complete => {
                self.observer
                    .note(&format!("stack `{name}` is {}", outcome.status));
                // The wait's last DescribeStacks already holds the outputs: no further read
                // that a throttled API could turn into a failure after the stack succeeded.
                let info = outcome
                    .info
                    .expect("a complete stack was described by the wait");
                Ok(DeployResult::Deployed(info))
            }
            class => {
                let rolled_back = class == StatusClass::RolledBack;
                let command = format!("nodectl deploy {}", stack.id);
                let hint = match (rolled_back, outcome.status.as_str()) {
                    (true, "ROLLBACK_COMPLETE") => format!(
                        "fix the cause above and run `{command}` again: the rolled-back stack is \
                         deleted and created anew"
                    ),
                    (true, _) => format!(
                        "the stack is back to its previous state; fix the cause above and run \
                         `{command}` again"
                    ),
                    (false, status) => match pre_deploy(name, Some(status)) {
                        PreDeploy::Refuse(hint) => hint,
                        _ => format!("fix the cause above and run `{command}` again"),
                    },
                };
                Err(Error::StackFailed {
                    operation: operation.to_string(),
                    stack: name.to_string(),
                    region: self.region.clone(),
                    status: outcome.status.clone(),
                    root_cause: root_cause(&outcome.events, name).or(outcome.reason),
                    rolled_back,
                    hint,
                })
            }
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
