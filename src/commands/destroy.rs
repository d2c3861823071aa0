//! `nodectl destroy`.

use serde_json::json;

use super::{connect, engine, load_plan_quietly as load_plan};
use crate::blueprint::StackRole;
use crate::cli::{DestroyArgs, GlobalArgs};
use crate::error::{Error, Result};
use crate::printer::{OutputFormat, Printer};
use crate::stack::destroy::{blocking_importers, delete, imports};
use crate::stack::status::{classify, StatusClass};

/// Deletes the selected stacks, node stack first; see `nodectl destroy --help`.
pub async fn run(global: &GlobalArgs, printer: &Printer, args: &DestroyArgs) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let connection = connect(global, &plan).await?;
    let engine = engine(&connection, &plan, printer, args.timeout);

    let mut roles = args.stack.roles();
    roles.reverse();
    let mut targets = Vec::new();
    let mut absent = Vec::new();
    for role in roles {
        let name = &plan.stack(role).name;
        match engine.describe_for(name, "read").await? {
            Some(info) => targets.push((role, info)),
            None => {
                printer.info(&format!(
                    "stack `{name}` does not exist in `{}`; nothing to delete",
                    plan.region
                ));
                absent.push(name.clone());
            }
        }
    }

    for (_, info) in &targets {
        if info.termination_protection {
            return Err(Error::usage(
                format!(
                    "stack `{}` in `{}` has termination protection enabled",
                    info.name, plan.region
                ),
                format!(
                    "nodectl does not turn it off for you; if you really mean to delete the stack, \
                     run `aws cloudformation update-termination-protection \
                     --no-enable-termination-protection --stack-name {}` first",
                    info.name
                ),
            ));
        }
    }

    if let Some((_, common)) = targets.iter().find(|(role, _)| *role == StackRole::Common) {
        let deleted_before: Vec<&str> = targets
            .iter()
            .filter(|(role, _)| *role != StackRole::Common)
            .map(|(_, info)| info.name.as_str())
            .collect();
        match imports(&engine, common).await {
            Ok(found) => {
                let importers = blocking_importers(found, &deleted_before);
                if !importers.is_empty() {
                    return Err(Error::usage(
                        format!(
                            "cannot delete stack `{}`: its exports are still imported by {}",
                            common.name,
                            importers
                                .iter()
                                .map(|s| format!("`{s}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        "delete the node stacks first (`nodectl destroy single-node` with each \
                         node's .env file), then destroy common",
                    ));
                }
            }
            Err(err) => printer.warn(&format!(
                "could not check which stacks import the exports of `{}` ({err}); \
                 CloudFormation refuses the deletion if any still does",
                common.name
            )),
        }
    }

    if targets.is_empty() {
        if printer.format() == OutputFormat::Json {
            printer.data_json(&json!({
                "deleted": [],
                "absent": absent,
                "leftBehind": [],
                "secretsScheduledForDeletion": [],
            }));
        }
        return Ok(());
    }

    if !args.yes {
        let names = targets
            .iter()
            .map(|(_, info)| format!("`{}`", info.name))
            .collect::<Vec<_>>()
            .join(" and ");
        let question = format!(
            "Delete stack {names} in account {}, region {}, with all their resources?",
            connection.account, plan.region
        );
        if !printer.confirm(&question, "--yes")? {
            return Err(Error::Aborted("nothing was deleted".into()));
        }
    }

    let mut deleted = Vec::new();
    let mut left_behind = Vec::new();
    let mut secrets_deleted: Vec<String> = Vec::new();
    for (role, info) in &targets {
        if classify(&info.status) == StatusClass::InProgress {
            printer.info(&format!(
                "stack `{}` is {}; waiting for that operation to finish",
                info.name, info.status
            ));
            engine.wait(&info.id, &info.name, None, false).await?;
        }
        let mut left = delete(&engine, info).await?;
        if *role == StackRole::Common {
            // The secret outlives the stack (DeletionPolicy Retain) so that nodectl deletes it
            // with a recovery window instead of at once.
            left.retain(|resource| !resource.starts_with("NodeSecrets "));
            if let Some(secrets) = &plan.node_secrets {
                let client = aws_sdk_secretsmanager::Client::new(&connection.sdk);
                if let Some(date) =
                    crate::secrets::schedule_deletion(&client, &plan.region, &secrets.secret_id)
                        .await?
                {
                    printer.info(&format!(
                        "the secret `{id}` ({contents}) is scheduled for \
                         deletion on {date}, after a {days}-day recovery window; restore it with \
                         `aws secretsmanager restore-secret --secret-id {id}`",
                        id = secrets.secret_id,
                        contents = secrets.contents(),
                        days = crate::secrets::RECOVERY_WINDOW_DAYS
                    ));
                    secrets_deleted.push(secrets.secret_id.clone());
                }
            }
        }
        if !left.is_empty() {
            printer.warn(&format!(
                "stack `{}` left these resources behind (DELETE_SKIPPED; they still exist and \
                 may cost money):\n  {}",
                info.name,
                left.join("\n  ")
            ));
        }
        deleted.push(info.name.clone());
        left_behind.extend(left);
    }
    if printer.format() == OutputFormat::Json {
        printer
            .data_json(&json!({"deleted": deleted, "absent": absent, "leftBehind": left_behind}));
    }
    Ok(())
}
