//! `nodectl deploy`.

use serde_json::{Map, Value};

use super::{connect, engine, load_plan_with, secret_from_stdin};
use crate::blueprint::StackRole;
use crate::cli::{DeployArgs, GlobalArgs};
use crate::error::{Error, Result};
use crate::printer::{OutputFormat, Printer};
use crate::stack::deploy::{deploy, DeployOptions, DeployResult, Method};
use crate::stack::lookup;
use crate::stack::outputs::{merge_into_file, outputs_object};
use crate::template;

/// Deploys the selected stacks in order, writes the outputs file after each one, and prints
/// the outputs of every deployed stack to stdout.
pub async fn run(global: &GlobalArgs, printer: &Printer, args: &DeployArgs) -> Result<()> {
    let roles = args.stack.roles();
    if args.no_execute && args.method == Method::Direct {
        return Err(Error::usage(
            "--no-execute needs a change set, and --method direct deploys without one",
            "drop --method direct to review a change set, or drop --no-execute",
        ));
    }
    if args.no_execute && roles.len() > 1 {
        return Err(Error::usage(
            "--no-execute works on one stack at a time",
            "run `nodectl deploy common --no-execute` or `nodectl deploy single-node --no-execute`",
        ));
    }
    let flags = match &args.secret_stdin {
        Some(_) if !args.yes => {
            return Err(Error::usage(
                "--secret-stdin reads stdin, so nodectl cannot ask for confirmation there",
                "add --yes",
            ))
        }
        Some(key) => secret_from_stdin(key)?,
        None => Default::default(),
    };
    let plan = load_plan_with(global, printer, flags, true)?;
    let deploys_node = roles.contains(&StackRole::SingleNode) && !args.no_execute;
    // Every offline check that can still fail, reported together before any AWS request.
    let mut issues = Vec::new();
    if let Err(Error::Config(found)) = plan.require_account() {
        issues.extend(found);
    }
    if let (true, Some(secrets)) = (deploys_node, &plan.node_secrets) {
        if let Err(Error::Config(found)) = secrets.check() {
            issues.extend(found);
        }
    }
    if !issues.is_empty() {
        return Err(Error::Config(issues));
    }
    for role in &roles {
        let stack = plan.stack(*role);
        template::check_size(&stack.name, &stack.template)?;
    }
    super::check::before_deploy(&plan, &roles, args.skip_checks, printer)?;
    let connection = connect(global, &plan).await?;
    let engine = engine(&connection, &plan, printer, args.timeout);

    if roles == [StackRole::SingleNode] {
        let common = plan.stack(StackRole::Common);
        let info = engine.describe_for(&common.name, "read").await?;
        let usable = info.as_ref().is_some_and(|info| {
            info.status == "CREATE_COMPLETE"
                || info.status.starts_with("UPDATE_")
                || info.status.starts_with("IMPORT_")
        });
        if !usable {
            let state = info
                .map(|info| format!("is {}", info.status))
                .unwrap_or_else(|| "does not exist".into());
            return Err(Error::usage(
                format!(
                    "stack `{}` needs stack `{}`, which {state} in `{}`",
                    plan.stack(StackRole::SingleNode).name,
                    common.name,
                    plan.region
                ),
                "deploy it first: `nodectl deploy common`, or both with `nodectl deploy all`",
            ));
        }
    }

    let options = DeployOptions {
        method: args.method,
        yes: args.yes,
        no_execute: args.no_execute,
        account: connection.account.clone(),
    };
    let mut deployed = Map::new();
    let ec2 = aws_sdk_ec2::Client::new(&connection.sdk);
    for role in roles {
        let stack = &lookup::resolve(&engine, &ec2, plan.stack(role)).await?;
        if role == StackRole::SingleNode && deploys_node {
            if let Some(secrets) = &plan.node_secrets {
                let client = aws_sdk_secretsmanager::Client::new(&connection.sdk);
                let stored = crate::secrets::store(&client, &plan.region, secrets, |value| {
                    printer.register_secret(value)
                })
                .await?;
                let line = secrets.describe(&stored);
                if stored == crate::secrets::Stored::Replaced {
                    printer.warn(&line);
                } else {
                    printer.info(&line);
                }
            }
        }
        let info = match deploy(&engine, stack, &options).await? {
            DeployResult::Deployed(info) | DeployResult::NoChanges(info) => info,
            DeployResult::ChangeSetCreated { .. } => continue,
        };
        if let Some(path) = &args.outputs_file {
            merge_into_file(path, &info.name, &info.outputs)?;
            printer.info(&format!(
                "wrote the outputs of `{}` to {}",
                info.name,
                path.display()
            ));
        }
        deployed.insert(info.name.clone(), outputs_object(&info.outputs));
    }
    if !args.no_execute {
        print_outputs(printer, &deployed);
    }
    Ok(())
}

/// Prints `{"stack": {"Key": "value"}}` as JSON, or `stack.Key = value` lines as text.
pub fn print_outputs(printer: &Printer, outputs: &Map<String, Value>) {
    match printer.format() {
        OutputFormat::Json => printer.data_json(&Value::Object(outputs.clone())),
        OutputFormat::Text => {
            let lines: Vec<String> = outputs
                .iter()
                .flat_map(|(stack, values)| {
                    values
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(move |(key, value)| {
                            format!("{stack}.{key} = {}", value.as_str().unwrap_or_default())
                        })
                })
                .collect();
            if !lines.is_empty() {
                printer.data(&lines.join("\n"));
            }
        }
    }
}
