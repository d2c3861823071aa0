//! `nodectl check`, and the same check before `deploy`.

use std::path::Path;

use super::load_plan;
use crate::check::{self, Context, Report, RuleSet, Target};
use crate::cli::{CheckArgs, GlobalArgs, OutputArg};
use crate::error::{Error, Result};
use crate::plan::{Plan, StackSpec};
use crate::printer::Printer;
use crate::template::Template;

/// Checks the blueprint's rendered stacks (or the `--template` files) against the built-in
/// rules and the `--rules DIR` files; prints the report on stdout and the summary on stderr.
/// Violations are an [`Error::ChecksFailed`].
pub(super) fn run(global: &GlobalArgs, printer: &Printer, args: &CheckArgs) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let mut rules = RuleSet::built_in();
    if let Some(dir) = &args.rules {
        rules.add_dir(dir)?;
    }
    let targets = if args.template.is_empty() {
        targets(&plan.stacks.iter().collect::<Vec<_>>())
    } else {
        args.template
            .iter()
            .map(|path| template_file(path))
            .collect::<Result<Vec<_>>>()?
    };
    let mut report = check::check(&rules, &context(&plan), &targets)?;
    if args.template.is_empty() {
        add_estimate(&mut report, &plan);
    }
    for warning in &report.warnings {
        printer.warn(warning);
    }
    match global.output {
        OutputArg::Text => printer.data(&report.to_text()),
        OutputArg::Json => printer.data_json(&report.to_json()),
        OutputArg::Sarif => printer.data_json(&report.to_sarif(env!("CARGO_PKG_VERSION"))),
    }
    printer.info(&format!("checks: {}", report.summary()));
    match failed(&report, "check found violations") {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// The check `deploy` runs on the stacks it deploys, before any AWS request: built-in rules
/// only. With `skip`, says loudly that it is skipped and returns.
pub(super) fn before_deploy(
    plan: &Plan,
    stacks: &[&StackSpec],
    skip: bool,
    printer: &Printer,
) -> Result<()> {
    if skip {
        printer.warn(
            "checks SKIPPED (--skip-checks): deploying without the security, cost and reliability \
             checks of `nodectl check`",
        );
        return Ok(());
    }
    let report = check::check(&RuleSet::built_in(), &context(plan), &targets(stacks))?;
    for warning in &report.warnings {
        printer.warn(warning);
    }
    tracing::debug!("checks before deploy: {}", report.summary());
    match failed(&report, "refusing to deploy") {
        Some(Error::ChecksFailed {
            summary, details, ..
        }) => Err(Error::ChecksFailed {
            summary,
            details,
            hint: "fix what failed (`nodectl check` prints the whole report), add a suppression \
                   with a reason to the resource's Metadata if the blueprint really needs the \
                   exception (docs/checks.md), or pass --skip-checks to deploy anyway"
                .into(),
        }),
        Some(other) => Err(other),
        None => Ok(()),
    }
}

/// The rule of the cost control's instance families.
const COST_RULE: &str = "instance_family_recommended";

/// Adds the stacks' monthly on-demand estimate (`nodectl cost`, offline, from the built-in
/// price table) to the reason of the cost rule's rows that apply: the instance family check
/// comes with the estimate.
fn add_estimate(report: &mut Report, plan: &Plan) {
    let estimate = crate::cost::estimate(
        plan,
        &crate::cost::table::PriceTable::embedded(),
        &Default::default(),
    );
    let estimate = format!(
        "about {:.2} USD/month on demand for all stacks{} (`nodectl cost` for the lines)",
        estimate.total_cents() as f64 / 100.0,
        if estimate.warnings.is_empty() {
            ""
        } else {
            ", some prices unknown"
        }
    );
    for row in report
        .rows
        .iter_mut()
        .filter(|row| row.rule == COST_RULE && row.status != check::Status::NotApplicable)
    {
        row.reason = if row.reason.is_empty() {
            estimate.clone()
        } else {
            format!("{}; {estimate}", row.reason)
        };
    }
}

/// `stacks` as check targets.
fn targets(stacks: &[&StackSpec]) -> Vec<Target> {
    stacks
        .iter()
        .map(|stack| Target {
            stack: stack.name.clone(),
            template: stack.template.clone(),
        })
        .collect()
}

fn template_file(path: &Path) -> Result<Target> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        action: "read the template",
        path: path.to_path_buf(),
        source,
    })?;
    let template = Template::parse(&text).map_err(|problem| {
        Error::usage(
            format!("{} {problem}", path.display()),
            "check JSON CloudFormation templates (nodectl render writes them)",
        )
    })?;
    Ok(Target {
        stack: path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string()),
        template,
    })
}

fn context(plan: &Plan) -> Context {
    Context {
        blueprint: plan.blueprint.to_string(),
        facts: plan.facts,
        region: plan.region.clone(),
        account: plan.account.id().map(str::to_string),
    }
}

/// The error for a report with failures: `what: N check(s) failed`, one detail line per
/// failure.
fn failed(report: &Report, what: &str) -> Option<Error> {
    let failures = report.failures();
    if failures.is_empty() {
        return None;
    }
    let count = failures.len();
    Some(Error::ChecksFailed {
        summary: format!(
            "{what}: {count} check{} failed",
            if count == 1 { "" } else { "s" }
        ),
        details: failures
            .iter()
            .map(|row| match row.location.is_empty() {
                true => format!("{} on {}: {}", row.rule, row.stack, row.message),
                false => format!(
                    "{} on {}/{}: {}",
                    row.rule,
                    row.stack,
                    row.place(),
                    row.message
                ),
            })
            .collect(),
        hint: "fix what failed, or add a suppression with a reason to the resource's Metadata \
               where the blueprint really needs the exception (docs/checks.md)"
            .into(),
    })
}
