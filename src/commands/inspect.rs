//! `nodectl outputs` and `diff`: read-only views of the deployed stacks.

use std::time::Duration;

use super::{aws_options, load_plan_quietly as load_plan};
use crate::cli::GlobalArgs;
use crate::error::Result;
use crate::ops;
use crate::printer::Printer;

/// Prints the outputs of the deployed stacks (CDK outputs-file format with `--output json`).
pub(super) async fn outputs(global: &GlobalArgs, printer: &Printer) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let mut all = ops::deploy::OutputsReport::default();
    for (part, _) in plan.split_by_region(&plan.stacks.iter().collect::<Vec<_>>()) {
        let session = ops::connect(aws_options(global), &part).await?;
        let engine = session.engine(printer, Duration::ZERO);
        all.0.extend(ops::inspect::outputs(&engine, &part).await?.0);
    }
    super::print_checklist(&plan, &all.0, printer);
    printer.report(&all);
    Ok(())
}

/// Prints what a deploy of `stacks` would change (see `nodectl diff --help`).
pub(super) async fn diff(global: &GlobalArgs, printer: &Printer, stacks: &[String]) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let selected = plan.select(stacks)?;
    let mut all = ops::diff::DiffReport(Vec::new());
    for (part, ids) in plan.split_by_region(&selected) {
        let session = ops::connect(aws_options(global), &part).await?;
        let engine = session.engine(printer, Duration::ZERO);
        all.0
            .extend(ops::diff::diff(&engine, &part.with_ids(&ids)).await?.0);
    }
    printer.report(&all);
    Ok(())
}
