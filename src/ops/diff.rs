//! `nodectl diff`: what a deploy would change, offline from the change set machinery: the
//! rendered template of each stack against the one CloudFormation keeps (GetTemplate), as a
//! unified diff of the pretty-printed JSON, and the parameters nodectl would send against the
//! deployed ones. Parameters that deploy-time lookups fill (the default VPC) are not compared:
//! a deployed stack keeps its values.

use serde::Serialize;
use similar::TextDiff;

use super::Report;
use crate::error::Result;
use crate::plan::StackSpec;
use crate::stack::Engine;

/// One parameter whose value would change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ParameterChange {
    /// The parameter.
    pub key: String,
    /// Its deployed value (`None`: the deployed stack has no such parameter).
    pub deployed: Option<String>,
    /// The value nodectl would send (`None`: the parameter is gone).
    pub rendered: Option<String>,
}

/// The differences of one stack.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackDiff {
    /// The stack name.
    pub stack_name: String,
    /// Whether the stack exists (if not, a deploy creates all of it).
    pub deployed: bool,
    /// The unified diff of the templates (deployed → rendered), empty when equal.
    pub template: String,
    /// The parameters that would change.
    pub parameters: Vec<ParameterChange>,
}

impl StackDiff {
    /// Whether a deploy would change nothing in the template or the parameters.
    pub fn is_empty(&self) -> bool {
        self.deployed && self.template.is_empty() && self.parameters.is_empty()
    }
}

/// Every selected stack's differences, in plan order.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct DiffReport(pub Vec<StackDiff>);

impl Report for DiffReport {
    fn text(&self) -> String {
        let mut out = String::new();
        for stack in &self.0 {
            if !stack.deployed {
                out.push_str(&format!(
                    "stack `{}` is not deployed: a deploy creates it\n",
                    stack.stack_name
                ));
                continue;
            }
            if stack.is_empty() {
                out.push_str(&format!("stack `{}`: no differences\n", stack.stack_name));
                continue;
            }
            out.push_str(&format!("stack `{}`:\n", stack.stack_name));
            for change in &stack.parameters {
                out.push_str(&format!(
                    "  parameter {}: {} -> {}\n",
                    change.key,
                    change.deployed.as_deref().unwrap_or("(none)"),
                    change.rendered.as_deref().unwrap_or("(none)")
                ));
            }
            out.push_str(&stack.template);
        }
        out
    }
}

/// The differences of the `selected` stacks.
///
/// Errors: an AWS error reading a stack or its template.
pub async fn diff(engine: &Engine<'_>, selected: &[&StackSpec]) -> Result<DiffReport> {
    let mut stacks = Vec::new();
    for stack in selected {
        let Some(info) = engine.describe_for(&stack.name, "read").await? else {
            stacks.push(StackDiff {
                stack_name: stack.name.clone(),
                deployed: false,
                template: String::new(),
                parameters: Vec::new(),
            });
            continue;
        };
        let deployed = engine
            .cfn
            .template(&info.id)
            .await
            .map_err(|err| engine.error("read the template of", &stack.name, err))?;
        let (_, deployed_parameters) = engine
            .cfn
            .parameters(&info.id)
            .await
            .map_err(|err| engine.error("read the parameters of", &stack.name, err))?
            .unwrap_or_default();
        stacks.push(StackDiff {
            stack_name: stack.name.clone(),
            deployed: true,
            template: template_diff(&stack.name, &deployed, stack.template.body()),
            parameters: parameter_changes(stack, &deployed_parameters),
        });
    }
    Ok(DiffReport(stacks))
}

/// A unified diff (3 lines of context) of the two templates pretty-printed, so that layout
/// differences (whitespace) do not count; empty when they are equal.
fn template_diff(stack: &str, deployed: &str, rendered: &str) -> String {
    let pretty = |text: &str| {
        serde_json::from_str::<serde_json::Value>(text)
            .and_then(|value| serde_json::to_string_pretty(&value))
            .map(|text| text + "\n")
            .unwrap_or_else(|_| text.to_string())
    };
    let (old, new) = (pretty(deployed), pretty(rendered));
    if old == new {
        return String::new();
    }
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("deployed/{stack}"), &format!("rendered/{stack}"))
        .to_string()
}

/// The parameters whose values differ; lookup parameters are left out.
fn parameter_changes(stack: &StackSpec, deployed: &[(String, String)]) -> Vec<ParameterChange> {
    let looked_up: Vec<&str> = stack
        .lookups
        .iter()
        .flat_map(|lookup| lookup.parameters())
        .collect();
    let mut changes = Vec::new();
    for (key, value) in &stack.parameters {
        let old = deployed.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        // An SSM parameter type (`AWS::SSM::Parameter::Value<...>`) is resolved again by every
        // deploy: its name is what nodectl sends and what AWS reports as the value (the
        // resolved one is `ResolvedValue`); a value that is no parameter name (LocalStack
        // reports the resolved one) cannot be compared.
        let ssm = stack
            .template
            .parameter(key)
            .is_some_and(|parameter| parameter.kind().starts_with("AWS::SSM::Parameter::Value<"));
        if ssm && old.is_some_and(|old| !old.starts_with('/')) {
            continue;
        }
        if old != Some(value) {
            changes.push(ParameterChange {
                key: key.clone(),
                deployed: old.cloned(),
                rendered: Some(value.clone()),
            });
        }
    }
    for (key, value) in deployed {
        let kept = stack.parameters.iter().any(|(k, _)| k == key);
        if !kept && !looked_up.contains(&key.as_str()) {
            changes.push(ParameterChange {
                key: key.clone(),
                deployed: Some(value.clone()),
                rendered: None,
            });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_does_not_count_and_changes_are_unified_diffs() {
        assert_eq!(template_diff("s", r#"{"a": 1}"#, "{\n  \"a\": 1\n}"), "");
        let diff = template_diff("s", r#"{"a": 1, "b": 2}"#, r#"{"a": 1, "b": 3}"#);
        assert_eq!(
            diff,
            "--- deployed/s\n+++ rendered/s\n@@ -1,4 +1,4 @@\n {\n   \"a\": 1,\n-  \"b\": 2\n+  \"b\": 3\n }\n"
        );
    }
}
