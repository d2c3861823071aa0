//! The destroy operation: the selected stacks in reverse dependency order, after checking that
//! none is protected and that no stack outside the ones deleted first still imports what a
//! stack exports; then each stack's after-destroy steps (a secret's scheduled deletion).

use serde::Serialize;

use super::{Report, Session};
use crate::aws::secretsmanager::SecretsManager;
use crate::error::{Error, Result};
use crate::observer::Prompt;
use crate::plan::{Plan, StackSpec, Step};
use crate::secrets::{self, RECOVERY_WINDOW_DAYS};
use crate::stack::destroy::{blocking_importers, delete, imports};
use crate::stack::status::{classify, StatusClass};
use crate::stack::{Engine, StackInfo};

/// What `destroy` reports (as JSON; nothing on stdout as text).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestroyReport {
    /// The stacks deleted, in order.
    pub deleted: Vec<String>,
    /// The selected stacks that did not exist.
    pub absent: Vec<String>,
    /// What CloudFormation left behind (`DELETE_SKIPPED`), one line per resource.
    pub left_behind: Vec<String>,
    /// The secrets whose deletion was scheduled (with a recovery window).
    pub secrets_scheduled_for_deletion: Vec<String>,
}

impl Report for DestroyReport {
    fn text(&self) -> String {
        String::new()
    }
}

/// Deletes `selected` (stacks of `plan`, in deploy order: they are deleted in reverse),
/// asking through `prompt` unless `yes`.
pub async fn destroy(
    session: &Session,
    engine: &Engine<'_>,
    prompt: &dyn Prompt,
    plan: &Plan,
    selected: &[&StackSpec],
    yes: bool,
) -> Result<DestroyReport> {
    let mut report = DestroyReport::default();
    let mut targets: Vec<(&StackSpec, StackInfo)> = Vec::new();
    for stack in selected.iter().rev() {
        match engine.describe_for(&stack.name, "read").await? {
            Some(info) => targets.push((stack, info)),
            None => {
                engine.observer.note(&format!(
                    "stack `{}` does not exist in `{}`; nothing to delete",
                    stack.name, plan.region
                ));
                report.absent.push(stack.name.clone());
            }
        }
    }
    if let Some((_, info)) = targets.iter().find(|(_, info)| info.termination_protection) {
        return Err(Error::TerminationProtected {
            stack: info.name.clone(),
            region: plan.region.clone(),
        });
    }
    for (index, (stack, info)) in targets.iter().enumerate() {
        if !info
            .outputs
            .iter()
            .any(|output| output.export_name.is_some())
        {
            continue;
        }
        let deleted_before: Vec<&str> = targets[..index]
            .iter()
            .map(|(_, info)| info.name.as_str())
            .collect();
        match imports(engine, info).await {
            Ok(found) => {
                let importers = blocking_importers(found, &deleted_before);
                if !importers.is_empty() {
                    return Err(Error::StillImported {
                        stack: info.name.clone(),
                        id: stack.id.clone(),
                        dependents: plan
                            .dependents(stack)
                            .iter()
                            .map(|s| s.id.clone())
                            .collect(),
                        importers,
                    });
                }
            }
            Err(err) => engine.observer.warn(&format!(
                "could not check which stacks import the exports of `{}` ({err}); \
                 CloudFormation refuses the deletion if any still does",
                info.name
            )),
        }
    }
    if targets.is_empty() {
        return Ok(report);
    }
    if !yes {
        let names = targets
            .iter()
            .map(|(_, info)| format!("`{}`", info.name))
            .collect::<Vec<_>>()
            .join(" and ");
        let question = format!(
            "Delete stack {names} in account {}, region {}, with all their resources?",
            session.account, plan.region
        );
        if !prompt.confirm(&question, "--yes")? {
            return Err(Error::Aborted("nothing was deleted".into()));
        }
    }
    let secrets_client = SecretsManager::new(&session.sdk);
    for (stack, info) in &targets {
        if classify(&info.status) == StatusClass::InProgress {
            engine.observer.note(&format!(
                "stack `{}` is {}; waiting for that operation to finish",
                info.name, info.status
            ));
            engine.wait(&info.id, &info.name, None, false).await?;
        }
        let mut left = delete(engine, info).await?;
        for step in &stack.after_destroy {
            let Step::DeleteSecret {
                secret_id,
                contents,
            } = step
            else {
                continue;
            };
            // The secret outlives its stack (DeletionPolicy Retain) so that nodectl deletes it
            // with a recovery window instead of at once.
            left.retain(|resource| !resource.contains("(AWS::SecretsManager::Secret)"));
            if let Some(date) =
                secrets::schedule_deletion(&secrets_client, &plan.region, secret_id).await?
            {
                engine.observer.note(&format!(
                    "the secret `{secret_id}` ({contents}) is scheduled for deletion on {date}, \
                     after a {RECOVERY_WINDOW_DAYS}-day recovery window; restore it with `aws \
                     secretsmanager restore-secret --secret-id {secret_id}`"
                ));
                report
                    .secrets_scheduled_for_deletion
                    .push(secret_id.clone());
            }
        }
        if !left.is_empty() {
            engine.observer.warn(&format!(
                "stack `{}` left these resources behind (DELETE_SKIPPED; they still exist and \
                 may cost money):\n  {}",
                info.name,
                left.join("\n  ")
            ));
        }
        report.deleted.push(info.name.clone());
        report.left_behind.extend(left);
    }
    Ok(report)
}
