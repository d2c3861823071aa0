//! `nodectl destroy`.

use super::{aws_options, load_plan_quietly as load_plan};
use crate::cli::{DestroyArgs, GlobalArgs};
use crate::error::Result;
use crate::ops;
use crate::printer::Printer;

/// Deletes the selected stacks, dependents first; see `nodectl destroy --help`.
pub(super) async fn run(global: &GlobalArgs, printer: &Printer, args: &DestroyArgs) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let selected = plan.select(&args.stacks)?;
    let session = ops::connect(aws_options(global), &plan).await?;
    let mut engine = session.engine(printer, args.timeout);
    engine.role_arn = args.role_arn.clone();
    let report = ops::destroy::destroy(
        &session,
        &engine,
        printer,
        &plan,
        &selected,
        args.yes,
        args.snapshot,
    )
    .await?;
    printer.report(&report);
    Ok(())
}
