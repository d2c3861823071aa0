//! `nodectl deploy`.

use super::{aws_options, load_plan_with, secret_from_stdin};
use crate::cli::{DeployArgs, GlobalArgs, UpgradeArgs};
use crate::error::{Error, Result};
use crate::ops;
use crate::ops::deploy::{DeployReport, OutputsReport, Request};
use crate::ops::lookup::ImageChoice;
use crate::plan::{Plan, StackSpec};
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
    preflight(&plan, &selected, args.no_execute, args.skip_checks, printer)?;
    if let Some(path) = &args.outputs_file {
        // A file that cannot take the outputs is reported before any stack is touched.
        crate::stack::outputs::check_file(path)?;
    }
    let request = Request {
        concurrency: usize::from(args.concurrency),
        options: DeployOptions {
            method: args.method,
            yes: args.yes,
            no_execute: args.no_execute,
            account: String::new(),
            termination_protection: args.termination_protection,
        },
        outputs_file: args.outputs_file.clone(),
        image: ImageChoice::Keep,
    };
    let engine = EngineSettings {
        timeout: args.timeout,
        role_arn: args.role_arn.clone(),
        disable_rollback: args.no_rollback,
    };
    by_region(global, printer, &plan, &selected, &engine, request, false).await
}

/// Moves the selected node stacks to a new AMI through change sets that keep each node's
/// data volume; see `nodectl upgrade --help`. Errors: a selected stack is not a node stack or
/// is not deployed, or as `deploy`.
pub(super) async fn upgrade(
    global: &GlobalArgs,
    printer: &Printer,
    args: &UpgradeArgs,
) -> Result<()> {
    let plan = load_plan_with(global, printer, Default::default(), false)?;
    let selected: Vec<&StackSpec> = match &args.node {
        Some(name) => vec![plan
            .node(name)
            .ok_or_else(|| super::destroy::unknown_node(&plan, name))?],
        // `all`: every node stack (the shared stacks have no instance to move).
        None if args.stacks.is_empty() || args.stacks.iter().any(|id| id == crate::plan::ALL) => {
            plan.stacks.iter().filter(|stack| stack.is_node()).collect()
        }
        None => plan.select(&args.stacks)?,
    };
    if let Some(shared) = selected.iter().find(|stack| !stack.is_node()) {
        return Err(Error::usage(
            format!(
                "`{}` is not a node stack: `upgrade` moves node instances to a new AMI",
                shared.id
            ),
            "deploy a shared stack with `nodectl deploy`",
        ));
    }
    if args.no_execute && selected.len() > 1 {
        return Err(Error::usage(
            "--no-execute works on one node at a time",
            "name one node with --node NAME",
        ));
    }
    preflight(&plan, &selected, args.no_execute, false, printer)?;
    if let Some(path) = &args.outputs_file {
        crate::stack::outputs::check_file(path)?;
    }
    let request = Request {
        concurrency: usize::from(args.concurrency),
        options: DeployOptions {
            // The preview is what makes a replacement safe: never without a change set.
            method: Method::ChangeSet,
            yes: args.yes,
            no_execute: args.no_execute,
            account: String::new(),
            termination_protection: false,
        },
        outputs_file: args.outputs_file.clone(),
        image: match &args.image {
            Some(ami) => ImageChoice::Given(ami.clone()),
            None => ImageChoice::Latest,
        },
    };
    let engine = EngineSettings {
        timeout: args.timeout,
        role_arn: args.role_arn.clone(),
        disable_rollback: false,
    };
    by_region(global, printer, &plan, &selected, &engine, request, true).await
}

/// The stack engine's settings from the command line.
struct EngineSettings {
    timeout: std::time::Duration,
    role_arn: Option<String>,
    disable_rollback: bool,
}

/// Deploys `selected` region by region ([`Plan::split_by_region`]: one session each, the
/// `.env` file's region first) and prints the outputs of them all. With `deployed_only`
/// (`upgrade`), a stack that is not deployed is refused before its region changes. A failed
/// node does not stop the other regions: the error names every failed node, as in one region.
async fn by_region(
    global: &GlobalArgs,
    printer: &Printer,
    plan: &Plan,
    selected: &[&StackSpec],
    settings: &EngineSettings,
    mut request: Request,
    deployed_only: bool,
) -> Result<()> {
    let parts = plan.split_by_region(selected);
    // Every region connected (and, for `upgrade`, every stack found deployed) before the first
    // change anywhere.
    let mut sessions = Vec::new();
    for (part, ids) in &parts {
        let session = ops::connect(aws_options(global), part).await?;
        let mut engine = session.engine(printer, settings.timeout);
        engine.role_arn = settings.role_arn.clone();
        engine.disable_rollback = settings.disable_rollback;
        if deployed_only {
            for stack in part.with_ids(ids) {
                let info = engine.describe_for(&stack.name, "upgrade").await?;
                if info.is_none_or(|info| info.status == "REVIEW_IN_PROGRESS") {
                    return Err(Error::usage(
                        format!(
                            "node stack `{}` is not deployed in `{}`: there is nothing to \
                             upgrade",
                            stack.name, part.region
                        ),
                        format!(
                            "deploy it with `nodectl deploy {}`; a new node gets the latest AMI",
                            stack.id
                        ),
                    ));
                }
            }
        }
        sessions.push((session, engine));
    }
    let mut outputs = OutputsReport::default();
    let mut failed = Vec::new();
    let mut deployed = Vec::new();
    for ((part, ids), (session, engine)) in parts.iter().zip(&sessions) {
        let selected = part.with_ids(ids);
        request.options.account = session.account.clone();
        match ops::deploy::deploy(session, engine, printer, part, &selected, &request).await {
            Ok(DeployReport::Outputs(found)) => {
                deployed.extend(
                    selected
                        .iter()
                        .filter(|stack| stack.is_node())
                        .map(|stack| stack.name.clone()),
                );
                outputs.0.extend(found.0);
            }
            Ok(report @ DeployReport::ChangeSet(_)) => {
                // `--no-execute` is one stack: one region.
                printer.report(&report);
                return Ok(());
            }
            Err(Error::NodesFailed {
                failed: more,
                deployed: done,
            }) if parts.len() > 1 => {
                printer.warn(&format!(
                    "{} node stack(s) failed in `{}`; the other regions go on",
                    more.len(),
                    part.region
                ));
                failed.extend(more);
                deployed.extend(done);
            }
            Err(err) => return Err(err),
        }
    }
    if !failed.is_empty() {
        return Err(Error::NodesFailed { failed, deployed });
    }
    super::print_checklist(plan, &outputs.0, printer);
    printer.report(&DeployReport::Outputs(outputs));
    Ok(())
}

/// The offline checks of `deploy` and `upgrade`, all reported together before any AWS
/// request: the blueprint's warnings, the account, each node's secret, template sizes, the
/// rules (unless `skip_checks`), then the notes of what the nodes will run.
fn preflight(
    plan: &Plan,
    selected: &[&StackSpec],
    no_execute: bool,
    skip_checks: bool,
    printer: &Printer,
) -> Result<()> {
    super::print_warnings(plan, printer);
    // Every offline check that can still fail, reported together before any AWS request.
    let mut issues = Vec::new();
    if let Err(Error::Config(found)) = plan.require_account() {
        issues.extend(found);
    }
    if !no_execute {
        for secret in selected.iter().flat_map(|stack| stack.secrets()) {
            if let Err(Error::Config(found)) = secret.content.check() {
                issues.extend(found);
            }
        }
    }
    if !issues.is_empty() {
        return Err(Error::Config(issues));
    }
    for stack in selected {
        template::check_size(&stack.name, stack.template.body())?;
    }
    super::check::before_deploy(plan, selected, skip_checks, printer)?;
    if selected.iter().any(|stack| stack.is_node()) {
        for note in &plan.notes {
            printer.info(&format!("note: {note}"));
        }
    }
    Ok(())
}
