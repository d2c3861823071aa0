//! `nodectl outputs` and `nodectl status`: read-only views of the deployed stacks.

use serde_json::{json, Map, Value};

use super::deploy::print_outputs;
use super::{connect, engine, load_plan_quietly as load_plan};
use crate::cli::GlobalArgs;
use crate::error::Result;
use crate::printer::{OutputFormat, Printer};
use crate::stack::outputs::outputs_object;

/// Prints the outputs of the deployed stacks (CDK outputs-file format with `--output json`).
pub async fn outputs(global: &GlobalArgs, printer: &Printer) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let connection = connect(global, &plan).await?;
    let engine = engine(&connection, &plan, printer, std::time::Duration::ZERO);
    let mut all = Map::new();
    for stack in &plan.stacks {
        match engine.describe_for(&stack.name, "read").await? {
            Some(info) => {
                all.insert(info.name.clone(), outputs_object(&info.outputs));
            }
            None => printer.info(&format!(
                "stack `{}` does not exist in `{}`",
                stack.name, plan.region
            )),
        }
    }
    print_outputs(printer, &all);
    Ok(())
}

/// The status marker printed for a stack that does not exist.
pub const NOT_DEPLOYED: &str = "NOT_DEPLOYED";

/// Prints each stack's status, last update time and status reason.
pub async fn status(global: &GlobalArgs, printer: &Printer) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let connection = connect(global, &plan).await?;
    let engine = engine(&connection, &plan, printer, std::time::Duration::ZERO);
    let mut rows = Vec::new();
    for stack in &plan.stacks {
        let info = engine.describe_for(&stack.name, "read").await?;
        rows.push(match info {
            Some(info) => json!({
                "stackName": info.name,
                "status": info.status,
                "lastUpdated": info.last_updated,
                "reason": info.reason,
            }),
            None => json!({
                "stackName": stack.name,
                "status": NOT_DEPLOYED,
                "lastUpdated": Value::Null,
                "reason": Value::Null,
            }),
        });
    }
    match printer.format() {
        OutputFormat::Json => printer.data_json(&Value::from(rows)),
        OutputFormat::Text => {
            let width = rows
                .iter()
                .map(|r| r["stackName"].as_str().unwrap_or_default().len())
                .max()
                .unwrap_or(0);
            let lines: Vec<String> = rows
                .iter()
                .map(|r| {
                    let mut line = format!(
                        "{:<width$}  {:<24}  {}",
                        r["stackName"].as_str().unwrap_or_default(),
                        r["status"].as_str().unwrap_or_default(),
                        r["lastUpdated"].as_str().unwrap_or("-"),
                    );
                    if let Some(reason) = r["reason"].as_str() {
                        line.push_str("  ");
                        line.push_str(reason);
                    }
                    line.trim_end().to_string()
                })
                .collect();
            printer.data(&lines.join("\n"));
        }
    }
    Ok(())
}
