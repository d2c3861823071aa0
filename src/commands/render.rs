//! `nodectl render`: the templates, offline.

use std::path::Path;

use serde_json::{Map, Value};

use super::load_plan;
use crate::cli::GlobalArgs;
use crate::error::{Error, Result};
use crate::printer::{OutputFormat, Printer};

/// Prints or writes the rendered templates of the selected stacks.
pub(super) fn run(
    global: &GlobalArgs,
    printer: &Printer,
    requested: &[String],
    out_dir: Option<&Path>,
) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let stacks = plan.select(requested)?;
    match out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                action: "create the directory",
                path: dir.to_path_buf(),
                source,
            })?;
            let mut written = Vec::new();
            for stack in &stacks {
                let path = dir.join(format!("{}.template.json", stack.name));
                std::fs::write(&path, stack.template.body()).map_err(|source| Error::Io {
                    action: "write",
                    path: path.clone(),
                    source,
                })?;
                written.push(path.display().to_string());
            }
            match printer.format() {
                OutputFormat::Json => printer.data_json(&Value::from(written)),
                OutputFormat::Text => printer.data(&written.join("\n")),
            }
        }
        None if stacks.len() == 1 => printer.data(stacks[0].template.body()),
        None => {
            let all: Map<String, Value> = stacks
                .iter()
                .map(|stack| (stack.name.clone(), stack.template.value().clone()))
                .collect();
            printer.data_json(&Value::Object(all));
        }
    }
    Ok(())
}
