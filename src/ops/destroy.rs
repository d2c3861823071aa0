//! The destroy operation: the selected stacks in reverse dependency order, after checking that
//! none is protected and that no stack outside the ones deleted first still imports what a
//! stack exports; then each stack's after-destroy steps (a secret's scheduled deletion).

use serde::Serialize;

use super::volumes::{self, DataVolume, SnapshotTaken};
use super::{Report, Session};
use crate::aws::ec2::Ec2;
use crate::aws::secretsmanager::{SecretState, SecretsManager};
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
    /// The data volumes deleted with their stacks, `vol-...`.
    pub data_volumes_deleted: Vec<String>,
    /// The snapshots taken first (`--snapshot`).
    pub snapshots: Vec<SnapshotTaken>,
}

impl DestroyReport {
    /// Adds `other` (another region's) to this report.
    pub fn merge(&mut self, other: DestroyReport) {
        self.deleted.extend(other.deleted);
        self.absent.extend(other.absent);
        self.left_behind.extend(other.left_behind);
        self.secrets_scheduled_for_deletion
            .extend(other.secrets_scheduled_for_deletion);
        self.data_volumes_deleted.extend(other.data_volumes_deleted);
        self.snapshots.extend(other.snapshots);
    }
}

impl Report for DestroyReport {
    fn text(&self) -> String {
        String::new()
    }
}

/// Deletes `selected` (stacks of `plan`, in deploy order: they are deleted in reverse),
/// asking through `prompt` unless `yes` (the question names each data volume and what it
/// holds), then runs each stack's after-destroy steps; also those of selected stacks that are
/// already gone but left a secret (an interrupted destroy), so that running destroy again
/// always converges. With `snapshot`, each data volume is snapshotted (and the snapshot
/// completed) before its stack is deleted.
pub async fn destroy(
    session: &Session,
    engine: &Engine<'_>,
    prompt: &dyn Prompt,
    plan: &Plan,
    selected: &[&StackSpec],
    yes: bool,
    snapshot: bool,
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
    // Secrets of stacks that are gone but whose deletion was never scheduled: a destroy that
    // was interrupted after the stack was deleted. Destroying again converges.
    let secrets_client = SecretsManager::new(&session.sdk);
    let mut leftovers: Vec<&Step> = Vec::new();
    for stack in selected.iter().filter(|s| report.absent.contains(&s.name)) {
        for step in &stack.after_destroy {
            if let Step::DeleteSecret { secret_id, .. } = step {
                let state = secrets_client.state(secret_id).await.map_err(|err| {
                    let hint = err.generic_hint();
                    Error::aws(
                        format!("cannot read the secret `{secret_id}` in `{}`", plan.region),
                        err,
                        hint,
                    )
                })?;
                if state == SecretState::Present {
                    leftovers.push(step);
                }
            }
        }
    }
    if targets.is_empty() && leftovers.is_empty() {
        return Ok(report);
    }
    let mut data: Vec<DataVolume> = Vec::new();
    for (_, info) in &targets {
        data.extend(volumes::data_volumes(engine, &info.name).await);
    }
    let holds = &plan.facts.data_volume_holds;
    let lost = data
        .iter()
        .map(|v| format!("data volume {} of `{}`", v.volume_id, v.stack))
        .collect::<Vec<_>>()
        .join(", ");
    if !data.is_empty() {
        engine.observer.warn(&format!(
            "{lost} will be deleted with {}{}",
            if data.len() == 1 {
                "its stack"
            } else {
                "their stacks"
            },
            match (snapshot, holds.is_empty()) {
                (true, _) => " after a snapshot of it is complete".to_string(),
                (false, true) => "; --snapshot keeps a copy".to_string(),
                (false, false) => format!("; it holds {holds}; --snapshot keeps a copy"),
            }
        ));
    }
    if !yes {
        let mut what = Vec::new();
        if !targets.is_empty() {
            let names = targets
                .iter()
                .map(|(_, info)| format!("`{}`", info.name))
                .collect::<Vec<_>>()
                .join(" and ");
            what.push(format!("Delete stack {names}"));
        }
        for step in &leftovers {
            if let Step::DeleteSecret { secret_id, .. } = step {
                what.push(format!(
                    "{} the secret `{secret_id}` of a stack already deleted",
                    if what.is_empty() { "Delete" } else { "delete" }
                ));
            }
        }
        let question = format!(
            "{} in account {}, region {}{}?",
            what.join(" and "),
            session.account,
            plan.region,
            if targets.is_empty() {
                ""
            } else {
                ", with all their resources"
            }
        );
        let question = if data.is_empty() {
            question
        } else {
            format!(
                "{}, including {lost}{}?",
                question.trim_end_matches('?'),
                if snapshot { " (snapshot first)" } else { "" }
            )
        };
        if !prompt.confirm(&question, "--yes")? {
            return Err(Error::Aborted("nothing was deleted".into()));
        }
    }
    for step in leftovers {
        delete_secret(engine, &secrets_client, plan, step, &mut report).await?;
    }
    for (stack, info) in &targets {
        if classify(&info.status) == StatusClass::InProgress {
            engine.observer.note(&format!(
                "stack `{}` is {}; waiting for that operation to finish",
                info.name, info.status
            ));
            engine.wait(&info.id, &info.name, None, false).await?;
        }
        if snapshot {
            let ec2 = Ec2::new(&session.sdk);
            for volume in data.iter().filter(|v| v.stack == info.name) {
                report.snapshots.push(
                    volumes::snapshot(engine, &ec2, volume, volumes::Purpose::Destroy).await?,
                );
            }
        }
        let left = delete(engine, info).await?;
        report.data_volumes_deleted.extend(
            data.iter()
                .filter(|v| v.stack == info.name)
                .map(|v| v.volume_id.clone()),
        );
        for step in &stack.after_destroy {
            delete_secret(engine, &secrets_client, plan, step, &mut report).await?;
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

/// Runs a [`Step::DeleteSecret`]: schedules the secret's deletion with a recovery window and
/// says how to get it back.
async fn delete_secret(
    engine: &Engine<'_>,
    client: &SecretsManager,
    plan: &Plan,
    step: &Step,
    report: &mut DestroyReport,
) -> Result<()> {
    let Step::DeleteSecret {
        secret_id,
        contents,
    } = step
    else {
        return Ok(());
    };
    if let Some(date) = secrets::schedule_deletion(client, &plan.region, secret_id).await? {
        engine.observer.note(&format!(
            "the secret `{secret_id}` ({contents}) is scheduled for deletion on {date}, after a \
             {RECOVERY_WINDOW_DAYS}-day recovery window; restore it with `aws secretsmanager \
             restore-secret --secret-id {secret_id} --region {}`, or deploy the node again: \
             nodectl restores and reuses it",
            plan.region
        ));
        report
            .secrets_scheduled_for_deletion
            .push(secret_id.clone());
    }
    Ok(())
}
