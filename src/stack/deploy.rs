//! Deploying one stack: through a change set (the default: preview, confirm, execute) or
//! directly (CreateStack / UpdateStack, `--method direct`, as `cdk deploy --method direct`).
//!
//! The flow follows rain's deploy (`../shared/reference/cli-anchors.md` section 1.1): settle
//! the existing stack first (wait for a running operation; delete a stack left by a failed
//! create), create the change set, treat "no changes" as success, show the changes and
//! confirm, execute, follow the events until the stack settles, by stack id.

use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, Tag};
use serde_json::json;

use super::status::{pre_deploy, root_cause, PreDeploy, StatusClass};
use super::{classify, token, Engine, StackInfo};
use crate::aws::AwsError;
use crate::blueprint::StackPlan;
use crate::error::{Error, Result};
use crate::printer::OutputFormat;

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
    /// `--no-execute`: create the change set, print it, stop.
    pub no_execute: bool,
    /// The account id (for the confirmation text).
    pub account: String,
}

/// How a deploy ended, when it did not fail.
#[derive(Debug, Clone)]
pub enum DeployResult {
    /// The stack was created or updated.
    Deployed(StackInfo),
    /// Nothing to change; the stack as it is.
    NoChanges(StackInfo),
    /// `--no-execute`: the change set is left for review.
    ChangeSetCreated {
        /// The change set id (ARN).
        change_set_id: String,
    },
}

/// The texts CloudFormation uses for a change set or update that changes nothing
/// (CloudFormation API Reference, DescribeChangeSet `StatusReason`; UpdateStack).
fn is_no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

fn aws_error(engine: &Engine, action: &str, stack: &str, err: AwsError) -> Error {
    let hint = err.generic_hint();
    Error::aws(
        format!("cannot {action} stack `{stack}` in `{}`", engine.region),
        err,
        hint,
    )
}

/// Deploys `plan`'s stack. See the module documentation for the flow.
pub async fn deploy(
    engine: &Engine<'_>,
    plan: &StackPlan,
    options: &DeployOptions,
) -> Result<DeployResult> {
    let existing = settle(engine, plan, options.method).await?;
    match options.method {
        Method::ChangeSet => deploy_change_set(engine, plan, options, existing).await,
        Method::Direct => deploy_direct(engine, plan, existing).await,
    }
}

/// Brings the stack into a state it can be deployed from; returns it (`None`: create it).
async fn settle(
    engine: &Engine<'_>,
    plan: &StackPlan,
    method: Method,
) -> Result<Option<StackInfo>> {
    let stack = plan.name.as_str();
    loop {
        let info = engine.describe_for(stack, "deploy").await?;
        let status = info.as_ref().map(|i| i.status.as_str());
        match pre_deploy(stack, status) {
            PreDeploy::Create if method == Method::Direct && info.is_some() => {
                // A REVIEW_IN_PROGRESS stack blocks CreateStack; it holds no resources.
                let info = info.expect("checked");
                engine.printer.info(&format!(
                    "stack `{stack}` is REVIEW_IN_PROGRESS (an unexecuted change set); deleting it \
                     before creating it"
                ));
                super::destroy::delete(engine, &info).await?;
            }
            PreDeploy::Create | PreDeploy::Update => return Ok(info),
            PreDeploy::Wait => {
                let info = info.expect("a status means a stack");
                engine.printer.info(&format!(
                    "stack `{stack}` is {}; waiting for that operation to finish",
                    info.status
                ));
                let since = engine
                    .latest_event_id(&info.id)
                    .await
                    .map_err(|e| aws_error(engine, "deploy", stack, e))?;
                engine.wait(&info.id, stack, since, false).await?;
            }
            PreDeploy::DeleteThenCreate => {
                let info = info.expect("a status means a stack");
                engine.printer.info(&format!(
                    "stack `{stack}` is {} after a failed create and cannot be updated; deleting \
                     it before creating it again",
                    info.status
                ));
                super::destroy::delete(engine, &info).await?;
            }
            PreDeploy::Refuse(hint) => {
                return Err(Error::usage(
                    format!(
                        "cannot deploy stack `{stack}` in `{}`: it is {}",
                        engine.region,
                        status.unwrap_or_default()
                    ),
                    hint,
                ))
            }
        }
    }
}

fn parameters(plan: &StackPlan) -> Vec<Parameter> {
    plan.parameters
        .iter()
        .map(|(key, value)| {
            Parameter::builder()
                .parameter_key(key)
                .parameter_value(value)
                .build()
        })
        .collect()
}

fn tags(plan: &StackPlan) -> Vec<Tag> {
    plan.tags
        .iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

/// One row of a change set (CloudFormation API Reference, `ResourceChange`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub action: String,
    /// The logical id.
    pub logical_id: String,
    /// The resource type.
    pub resource_type: String,
    /// `True`, `False`, `Conditional`, or empty when not applicable.
    pub replacement: String,
}

/// The change table as printed before confirmation.
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

async fn deploy_change_set(
    engine: &Engine<'_>,
    plan: &StackPlan,
    options: &DeployOptions,
    existing: Option<StackInfo>,
) -> Result<DeployResult> {
    let stack = plan.name.as_str();
    let creating = existing
        .as_ref()
        .is_none_or(|info| info.status == "REVIEW_IN_PROGRESS");
    let change_set_type = if creating {
        ChangeSetType::Create
    } else {
        ChangeSetType::Update
    };
    let name = token();
    engine.printer.info(&format!(
        "creating change set {name} for stack `{stack}` in `{}`",
        engine.region
    ));
    let created = engine
        .cfn
        .create_change_set()
        .stack_name(stack)
        .change_set_name(&name)
        .change_set_type(change_set_type)
        .template_body(&plan.template)
        .set_parameters(Some(parameters(plan)))
        .capabilities(Capability::CapabilityIam)
        .set_tags(Some(tags(plan)))
        .description("nodectl deploy")
        .client_token(&name)
        .send()
        .await;
    let created = match created {
        Ok(created) => created,
        Err(err) => {
            let err = AwsError::from_sdk(err);
            if creating && existing.is_none() {
                // A rejected CREATE change set may still leave an empty REVIEW_IN_PROGRESS
                // stack behind; remove it so that a failed deploy leaves nothing.
                if let Ok(Some(info)) = engine.describe(stack).await {
                    if info.status == "REVIEW_IN_PROGRESS" {
                        cleanup(engine, "", Some(&info.id)).await;
                    }
                }
            }
            return Err(aws_error(engine, "create a change set for", stack, err));
        }
    };
    let change_set_id = created.id().unwrap_or(&name).to_string();
    let stack_id = created.stack_id().unwrap_or(stack).to_string();

    let (status, reason, rows) = wait_for_change_set(engine, stack, &change_set_id).await?;
    if status == "FAILED" {
        let reason = reason.unwrap_or_default();
        cleanup(
            engine,
            &change_set_id,
            creating.then_some(stack_id.as_str()),
        )
        .await;
        if let (true, Some(info)) = (is_no_changes(&reason), existing) {
            // Nothing changed, so the stack read before the change set is still current.
            engine
                .printer
                .info(&format!("no changes: stack `{stack}` is up to date"));
            return Ok(DeployResult::NoChanges(info));
        }
        return Err(Error::aws(
            format!(
                "cannot create a change set for stack `{stack}` in `{}`",
                engine.region
            ),
            AwsError {
                code: Some("FAILED".into()),
                message: reason,
                kind: crate::aws::AwsErrorKind::Service,
            },
            Some("fix the template or parameters the reason names, then deploy again".into()),
        ));
    }

    engine.printer.info(&format!(
        "changes to stack `{stack}` (account {}, region {}):\n{}",
        options.account,
        engine.region,
        change_table(&rows)
    ));

    if options.no_execute {
        match engine.printer.format() {
            OutputFormat::Json => engine.printer.data_json(&json!({
                "stackName": stack,
                "stackId": stack_id,
                "changeSetId": change_set_id,
                "changes": rows.iter().map(|r| json!({
                    "action": r.action,
                    "logicalResourceId": r.logical_id,
                    "resourceType": r.resource_type,
                    "replacement": r.replacement,
                })).collect::<Vec<_>>(),
            })),
            OutputFormat::Text => engine.printer.data(&change_set_id),
        }
        engine.printer.info(&format!(
            "change set left for review, not executed; execute it with `aws cloudformation \
             execute-change-set --change-set-name {change_set_id}`"
        ));
        return Ok(DeployResult::ChangeSetCreated { change_set_id });
    }

    if !options.yes {
        let question = format!(
            "Execute these changes on stack `{stack}` in account {}, region {}?",
            options.account, engine.region
        );
        let confirmed = match engine.printer.confirm(&question, "--yes") {
            Ok(answer) => answer,
            Err(err) => {
                cleanup(
                    engine,
                    &change_set_id,
                    creating.then_some(stack_id.as_str()),
                )
                .await;
                return Err(err);
            }
        };
        if !confirmed {
            cleanup(
                engine,
                &change_set_id,
                creating.then_some(stack_id.as_str()),
            )
            .await;
            return Err(Error::Aborted(format!(
                "stack `{stack}` was not changed; the change set was deleted"
            )));
        }
    }

    let since = engine
        .latest_event_id(&stack_id)
        .await
        .map_err(|e| aws_error(engine, "deploy", stack, e))?;
    engine
        .cfn
        .execute_change_set()
        .change_set_name(&change_set_id)
        .client_request_token(token())
        .send()
        .await
        .map_err(|e| {
            aws_error(
                engine,
                "execute the change set of",
                stack,
                AwsError::from_sdk(e),
            )
        })?;
    let operation = if creating { "create" } else { "update" };
    finish(engine, plan, &stack_id, since, true, operation).await
}

/// Polls the change set until it is created or failed; returns its status, reason and rows.
async fn wait_for_change_set(
    engine: &Engine<'_>,
    stack: &str,
    change_set_id: &str,
) -> Result<(String, Option<String>, Vec<ChangeRow>)> {
    let start = tokio::time::Instant::now();
    let mut interval = engine.poll.initial.min(std::time::Duration::from_secs(1));
    loop {
        let mut rows = Vec::new();
        let mut next: Option<String> = None;
        let (status, reason) = loop {
            let token = next.take();
            let output = engine
                .read("reading the change set", || {
                    let token = token.clone();
                    async move {
                        engine
                            .cfn
                            .describe_change_set()
                            .change_set_name(change_set_id)
                            .set_next_token(token)
                            .send()
                            .await
                            .map_err(AwsError::from_sdk)
                    }
                })
                .await
                .map_err(|e| aws_error(engine, "read the change set of", stack, e))?;
            for change in output.changes() {
                if let Some(rc) = change.resource_change() {
                    rows.push(ChangeRow {
                        action: rc
                            .action()
                            .map(|a| a.as_str())
                            .unwrap_or_default()
                            .to_string(),
                        logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
                        resource_type: rc.resource_type().unwrap_or_default().to_string(),
                        replacement: rc
                            .replacement()
                            .map(|r| r.as_str())
                            .unwrap_or_default()
                            .to_string(),
                    });
                }
            }
            let status = output
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            let reason = output.status_reason().map(str::to_string);
            match output.next_token() {
                Some(token) if status == "CREATE_COMPLETE" => next = Some(token.to_string()),
                _ => break (status, reason),
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
        if let Some(timeout) = engine.timeout {
            if start.elapsed() >= timeout {
                return Err(Error::Timeout {
                    stack: stack.to_string(),
                    region: engine.region.clone(),
                    status: format!("change set {status}"),
                    waited: std::time::Duration::from_secs(start.elapsed().as_secs()),
                });
            }
        }
        engine
            .printer
            .spinner(&format!("{stack}: change set {status}"));
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(engine.poll.max);
    }
}

/// Deletes a change set that will not be executed, and the empty `REVIEW_IN_PROGRESS` stack a
/// CREATE change set made. Best effort: failures are warnings.
async fn cleanup(engine: &Engine<'_>, change_set_id: &str, review_stack: Option<&str>) {
    if let Some(stack_id) = review_stack {
        // Deleting the REVIEW_IN_PROGRESS stack deletes its change sets with it.
        if let Err(err) = engine.cfn.delete_stack().stack_name(stack_id).send().await {
            engine.printer.warn(&format!(
                "could not delete the empty stack {stack_id}: {}",
                AwsError::from_sdk(err)
            ));
        }
        return;
    }
    if let Err(err) = engine
        .cfn
        .delete_change_set()
        .change_set_name(change_set_id)
        .send()
        .await
    {
        engine.printer.warn(&format!(
            "could not delete change set {change_set_id}: {}",
            AwsError::from_sdk(err)
        ));
    }
}

async fn deploy_direct(
    engine: &Engine<'_>,
    plan: &StackPlan,
    existing: Option<StackInfo>,
) -> Result<DeployResult> {
    let stack = plan.name.as_str();
    match existing {
        None => {
            engine
                .printer
                .info(&format!("creating stack `{stack}` in `{}`", engine.region));
            let created = engine
                .cfn
                .create_stack()
                .stack_name(stack)
                .template_body(&plan.template)
                .set_parameters(Some(parameters(plan)))
                .capabilities(Capability::CapabilityIam)
                .set_tags(Some(tags(plan)))
                .client_request_token(token())
                .send()
                .await
                .map_err(|e| aws_error(engine, "create", stack, AwsError::from_sdk(e)))?;
            let stack_id = created.stack_id().unwrap_or(stack).to_string();
            finish(engine, plan, &stack_id, None, false, "create").await
        }
        Some(info) => {
            engine
                .printer
                .info(&format!("updating stack `{stack}` in `{}`", engine.region));
            let since = engine
                .latest_event_id(&info.id)
                .await
                .map_err(|e| aws_error(engine, "update", stack, e))?;
            let result = engine
                .cfn
                .update_stack()
                .stack_name(&info.id)
                .template_body(&plan.template)
                .set_parameters(Some(parameters(plan)))
                .capabilities(Capability::CapabilityIam)
                .set_tags(Some(tags(plan)))
                .client_request_token(token())
                .send()
                .await;
            match result {
                Ok(_) => finish(engine, plan, &info.id, since, false, "update").await,
                Err(err) => {
                    let err = AwsError::from_sdk(err);
                    if err.is_no_updates() {
                        engine
                            .printer
                            .info(&format!("no changes: stack `{stack}` is up to date"));
                        Ok(DeployResult::NoChanges(info))
                    } else {
                        Err(aws_error(engine, "update", stack, err))
                    }
                }
            }
        }
    }
}

/// Waits for the operation started on `stack_id` and turns its end into a result.
async fn finish(
    engine: &Engine<'_>,
    plan: &StackPlan,
    stack_id: &str,
    since: Option<String>,
    executing: bool,
    operation: &str,
) -> Result<DeployResult> {
    let stack = plan.name.as_str();
    let outcome = engine.wait(stack_id, stack, since, executing).await?;
    match classify(&outcome.status) {
        StatusClass::Complete => {
            engine
                .printer
                .info(&format!("stack `{stack}` is {}", outcome.status));
            // The wait's last DescribeStacks already holds the outputs: no further read that a
            // throttled API could turn into a failure after the stack succeeded.
            let info = outcome
                .info
                .expect("a complete stack was described by the wait");
            Ok(DeployResult::Deployed(info))
        }
        class => {
            let rolled_back = class == StatusClass::RolledBack;
            let command = format!("nodectl deploy {}", plan.role.name());
            let hint = match (rolled_back, outcome.status.as_str()) {
                (true, "ROLLBACK_COMPLETE") => format!(
                    "fix the cause above and run `{command}` again: the rolled-back stack is \
                     deleted and created anew"
                ),
                (true, _) => format!(
                    "the stack is back to its previous state; fix the cause above and run \
                     `{command}` again"
                ),
                (false, status) => match pre_deploy(stack, Some(status)) {
                    PreDeploy::Refuse(hint) => hint,
                    _ => format!("fix the cause above and run `{command}` again"),
                },
            };
            Err(Error::StackFailed {
                operation: operation.to_string(),
                stack: stack.to_string(),
                region: engine.region.clone(),
                status: outcome.status.clone(),
                root_cause: root_cause(&outcome.events, stack).or(outcome.reason),
                rolled_back,
                hint,
            })
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
