//! `nodectl deploy`.

use super::{aws_options, load_plan_with, secret_from_stdin};
use crate::cli::{DeployArgs, GlobalArgs};
use crate::error::{Error, Result};
use crate::ops::{self, deploy::Request};
use crate::printer::Printer;
use crate::stack::deploy::{DeployOptions, Method};
use crate::template;

/// Deploys the selected stacks in dependency order, writes the outputs file after each one,
/// and prints the outputs of every deployed stack to stdout.
pub(super) async fn run(global: &GlobalArgs, printer: &Printer, args: &DeployArgs) -> Result<()> {
    if args.no_execute && args.method == Method::Direct {
        return Err(Error::usage(
            "--no-execute needs a change set, and --method direct deploys without one",
            "drop --method direct to review a change set, or drop --no-execute",
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
    let mut plan = load_plan_with(global, printer, flags, false)?;
    plan.add_tags(&args.tags)?;
    let selected = plan.select(&args.stacks)?;
    if args.no_execute && selected.len() > 1 {
        return Err(Error::usage(
            "--no-execute works on one stack at a time",
            format!(
                "run {}",
                selected
                    .iter()
                    .map(|stack| format!("`nodectl deploy {} --no-execute`", stack.id))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ));
    }
    super::print_warnings(&plan, printer);
    // Every offline check that can still fail, reported together before any AWS request.
    let mut issues = Vec::new();
    if let Err(Error::Config(found)) = plan.require_account() {
        issues.extend(found);
    }
    if !args.no_execute {
        for secret in selected.iter().filter_map(|stack| stack.node_secret()) {
            if let Err(Error::Config(found)) = secret.content.check() {
                issues.extend(found);
            }
        }
    }
    if !issues.is_empty() {
        return Err(Error::Config(issues));
    }
    if let Some(path) = &args.outputs_file {
        // A file that cannot take the outputs is reported before any stack is touched.
        crate::stack::outputs::check_file(path)?;
    }
    for stack in &selected {
        template::check_size(&stack.name, stack.template.body())?;
    }
    super::check::before_deploy(&plan, &selected, args.skip_checks, printer)?;
    if selected.iter().any(|stack| stack.node_secret().is_some()) {
        for note in &plan.notes {
            printer.info(&format!("note: {note}"));
        }
    }
    let session = ops::connect(aws_options(global), &plan).await?;
    let mut engine = session.engine(printer, args.timeout);
    engine.role_arn = args.role_arn.clone();
    engine.disable_rollback = args.no_rollback;
    let request = Request {
        concurrency: usize::from(args.concurrency),
        options: DeployOptions {
            method: args.method,
            yes: args.yes,
            no_execute: args.no_execute,
            account: session.account.clone(),
            termination_protection: args.termination_protection,
        },
        outputs_file: args.outputs_file.clone(),
    };
    let report =
        ops::deploy::deploy(&session, &engine, printer, &plan, &selected, &request).await?;
    printer.report(&report);
    Ok(())
}
