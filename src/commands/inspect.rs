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
    let session = ops::connect(aws_options(global), &plan).await?;
    let engine = session.engine(printer, Duration::ZERO);
    printer.report(&ops::inspect::outputs(&engine, &plan).await?);
    Ok(())
}

/// Prints what a deploy of `stacks` would change (see `nodectl diff --help`).
pub(super) async fn diff(global: &GlobalArgs, printer: &Printer, stacks: &[String]) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let selected = plan.select(stacks)?;
    let session = ops::connect(aws_options(global), &plan).await?;
    let engine = session.engine(printer, Duration::ZERO);
    printer.report(&ops::diff::diff(&engine, &selected).await?);
    Ok(())
}
