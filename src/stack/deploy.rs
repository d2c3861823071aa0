//! Deploying one stack: through a change set (the default: [`Engine::prepare`] creates it and
//! shows it, the caller confirms, [`Engine::execute`] runs it or [`Engine::discard`] drops it)
//! or directly ([`Engine::deploy_direct`]: CreateStack / UpdateStack, `--method direct`, as
//! `cdk deploy --method direct`).
//!
//! The flow follows rain's deploy (`../shared/reference/cli-anchors.md` section 1.1): settle
//! the existing stack first (wait for a running operation; delete a stack left by a failed
//! create), create the change set, treat "no changes" as success, show the changes, execute,
//! follow the events until the stack settles, by stack id.

pub use super::change_set::{change_table, is_no_changes, ChangeSet, Prepared};
use super::status::{pre_deploy, root_cause, PreDeploy, StatusClass};
use super::{classify, Engine, StackInfo};
use crate::aws::cloudformation::StackInput;
use crate::aws::{token, AwsError};
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

/// The resources of `stack` that wait for a signal (`CreationPolicy`): a node's boot.
fn signalled(stack: &StackSpec) -> Vec<String> {
    stack
        .template
        .resources()
        .filter(|resource| resource.raw.get("CreationPolicy").is_some())
        .map(|resource| resource.id.to_string())
        .collect()
}

impl Engine<'_> {
    /// What CloudFormation is sent for `stack`, with the engine's role and rollback setting.
    pub(super) fn input<'s>(&'s self, stack: &'s StackSpec) -> StackInput<'s> {
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
        self.observer
            .operation(&stack.name, Some(change_set.rows.len()), &signalled(stack));
        self.finish(stack, &change_set.stack_id, since, true, operation)
            .await
    }

    /// Decides what a refused ExecuteChangeSet means by reading the change set back (its
    /// `ExecutionStatus`; CloudFormation API Reference, DescribeChangeSet): a retry of a request
    /// CloudFormation had carried out (the reply was lost) is refused with
    /// `InvalidChangeSetStatus`, and the change set then executes: that is success. An
    /// `OBSOLETE` change set, or one still `AVAILABLE` while the stack is busy, means another
    /// operation changed the stack since the change set was made ([`Error::ConcurrentChange`]).
    /// Any other refusal (a `ValidationError` about the template, e.g. a missing export) is
    /// that error, whatever the change set's state.
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
            Ok(status @ ("OBSOLETE" | "AVAILABLE"))
                if err.code.as_deref() == Some("InvalidChangeSetStatus") =>
            {
                Err(Error::ConcurrentChange {
                    stack: stack.name.clone(),
                    region: self.region.clone(),
                    detail: format!("its change set is {status}: {err}"),
                })
            }
            _ => Err(self.error("execute the change set of", &stack.name, err)),
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
                let resources = stack.template.resources().count();
                self.observer
                    .operation(name, Some(resources), &signalled(stack));
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
                    Ok(()) => {
                        self.observer.operation(name, None, &signalled(stack));
                        self.finish(stack, &info.id, since, false, "update").await
                    }
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
