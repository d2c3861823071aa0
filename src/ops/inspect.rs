//! Read-only views of the deployed stacks: their outputs and their status.

use serde::Serialize;
use serde_json::Map;

use super::deploy::OutputsReport;
use super::Report;
use crate::error::Result;
use crate::plan::Plan;
use crate::stack::outputs::outputs_object;
use crate::stack::Engine;

/// The outputs of the plan's deployed stacks; a stack that does not exist is said on stderr.
pub async fn outputs(engine: &Engine<'_>, plan: &Plan) -> Result<OutputsReport> {
    let mut all = Map::new();
    for stack in &plan.stacks {
        match engine.describe_for(&stack.name, "read").await? {
            Some(info) => {
                all.insert(info.name.clone(), outputs_object(&info.outputs));
            }
            None => engine.observer.note(&format!(
                "stack `{}` does not exist in `{}`",
                stack.name, plan.region
            )),
        }
    }
    Ok(OutputsReport(all))
}

/// The status printed for a stack that does not exist.
pub const NOT_DEPLOYED: &str = "NOT_DEPLOYED";

/// One stack's status.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackStatus {
    /// The stack name.
    pub stack_name: String,
    /// Its region.
    pub region: String,
    /// `StackStatus`, or [`NOT_DEPLOYED`].
    pub status: String,
    /// `LastUpdatedTime`, else `CreationTime` (RFC 3339), if deployed.
    pub last_updated: Option<String>,
    /// `StackStatusReason`, if any.
    pub reason: Option<String>,
}

/// Every stack's status, in plan order, and the state of each deployed node; as text,
/// aligned columns, then one block per node.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The stacks.
    pub stacks: Vec<StackStatus>,
    /// The deployed nodes (empty with `--stacks-only`).
    pub nodes: Vec<super::health::NodeStatus>,
}

impl Report for StatusReport {
    fn text(&self) -> String {
        let mut text = stacks_text(&self.stacks);
        for node in &self.nodes {
            text.push_str("\n\n");
            text.push_str(&super::day2::summary_line(node));
            if let Some(service) = &node.service {
                text.push_str(&format!("\n  service  {}  {}", service.name, service.state));
            }
            for container in &node.containers {
                text.push_str(&format!(
                    "\n  container  {}  {}  {}  {} restarts",
                    container.name, container.image, container.status, container.restarts
                ));
            }
            let body = super::day2::HealthReport(node.clone()).text();
            for line in body.lines().skip(1) {
                text.push('\n');
                text.push_str(line);
            }
        }
        text
    }
}

/// The stacks as aligned columns: name, status, last update, reason; with the region after
/// the name when they are in more than one.
fn stacks_text(stacks: &[StackStatus]) -> String {
    let regions = stacks.iter().any(|row| row.region != stacks[0].region);
    let region_width = stacks.iter().map(|row| row.region.len()).max().unwrap_or(0);
    {
        let width = stacks
            .iter()
            .map(|row| row.stack_name.len())
            .max()
            .unwrap_or(0);
        stacks
            .iter()
            .map(|row| {
                let mut line = format!(
                    "{:<width$}  {}{:<24}  {}",
                    row.stack_name,
                    if regions {
                        format!("{:<region_width$}  ", row.region)
                    } else {
                        String::new()
                    },
                    row.status,
                    row.last_updated.as_deref().unwrap_or("-"),
                );
                if let Some(reason) = &row.reason {
                    line.push_str("  ");
                    line.push_str(reason);
                }
                line.trim_end().to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The status, last update and status reason of every stack of the plan.
pub async fn status(engine: &Engine<'_>, plan: &Plan) -> Result<StatusReport> {
    let mut rows = Vec::new();
    for stack in &plan.stacks {
        rows.push(match engine.describe_for(&stack.name, "read").await? {
            Some(info) => StackStatus {
                stack_name: info.name,
                region: plan.region.clone(),
                status: info.status,
                last_updated: info.last_updated,
                reason: info.reason,
            },
            None => StackStatus {
                stack_name: stack.name.clone(),
                region: plan.region.clone(),
                status: NOT_DEPLOYED.into(),
                last_updated: None,
                reason: None,
            },
        });
    }
    Ok(StatusReport {
        stacks: rows,
        nodes: Vec::new(),
    })
}
