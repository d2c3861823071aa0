//! `nodectl destroy`.

use super::{aws_options, load_plan_quietly as load_plan};
use crate::cli::{DestroyArgs, GlobalArgs};
use crate::error::{Error, Result};
use crate::ops;
use crate::ops::destroy::DestroyReport;
use crate::plan::Plan;
use crate::printer::Printer;

/// Deletes the selected stacks, dependents first; see `nodectl destroy --help`.
pub(super) async fn run(global: &GlobalArgs, printer: &Printer, args: &DestroyArgs) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let selected = match &args.node {
        Some(name) => vec![plan.node(name).ok_or_else(|| unknown_node(&plan, name))?],
        None => plan.select(&args.stacks)?,
    };
    // Region by region, the .env file's last (the other regions' nodes are independent of it).
    let mut merged = DestroyReport::default();
    for (part, ids) in plan.split_by_region(&selected).iter().rev() {
        let selected = part.with_ids(ids);
        let session = ops::connect(aws_options(global), part).await?;
        let mut engine = session.engine(printer, args.timeout);
        engine.role_arn = args.role_arn.clone();
        let report = ops::destroy::destroy(
            &session,
            &engine,
            printer,
            part,
            &selected,
            args.yes,
            args.snapshot,
        )
        .await?;
        merged.merge(report);
    }
    printer.report(&merged);
    Ok(())
}

/// The error for `--node NAME` that names no node stack of `plan`, with the ones there are.
pub(super) fn unknown_node(plan: &Plan, name: &str) -> Error {
    let nodes: Vec<&str> = plan
        .stacks
        .iter()
        .filter(|stack| stack.is_node())
        .map(|stack| stack.id.as_str())
        .collect();
    Error::usage(
        format!("`{name}` is not a node of this {} plan", plan.blueprint),
        format!("its node stacks: {}", nodes.join(", ")),
    )
}
