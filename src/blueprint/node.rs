//! The plan shape that node blueprints share: a `common` stack (what the nodes share: the
//! NodeAccess managed policy; `common.json`) and a `single-node` stack that depends on it (the
//! node with its own instance role and profile; `single-node.json`). The node stack's secret,
//! `<node stack>/node-secret`, is written before the stack is deployed and its deletion
//! scheduled after the stack is destroyed.

use std::sync::Arc;

use serde_json::Value;

use super::Blueprint;
use crate::error::{ConfigIssue, Error, Result};
use crate::plan::{Lookup, StackSpec, Step};
use crate::secrets::{secret_name, NodeSecret, SecretContent};
use crate::template::render::{render, Request};
use crate::template::{parameter_problems, user_data_sizes, USER_DATA_LIMIT};

/// The id of the shared stack.
pub const COMMON: &str = "common";
/// The id of the node stack.
pub const SINGLE_NODE: &str = "single-node";
/// The ids of a node blueprint's stacks, in deploy order.
pub const STACK_IDS: &[&str] = &[COMMON, SINGLE_NODE];

/// What a node blueprint's two stacks are made of.
pub struct NodeStacks {
    /// The region both stacks deploy in (`AWS_REGION`).
    pub region: String,
    /// The common stack's name.
    pub common_stack: &'static str,
    /// This node stack's name.
    pub node_stack: String,
    /// The node stack's parameters.
    pub node_parameters: Vec<(String, String)>,
    /// The lists the node template's `repeat` markers name.
    pub lists: Vec<(&'static str, Vec<Value>)>,
    /// Tags on both stacks besides `nodectl:blueprint` and `nodectl:stack`.
    pub tags: Vec<(String, String)>,
    /// The node stack's deploy-time lookups.
    pub lookups: Vec<Lookup>,
    /// The hint when the rendered user data exceeds [`USER_DATA_LIMIT`].
    pub user_data_hint: &'static str,
    /// What the node keeps in its secret.
    pub secret: Arc<dyn SecretContent>,
}

/// Renders `request` for stack `stack` and checks the result: every parameter value against
/// the template's own constraints (a failure is a defect: nodectl's checks let the value
/// through; `what` names the template in the message), and the instances' user data against
/// EC2's [`USER_DATA_LIMIT`] (`user_data_hint` says what to do).
pub fn render_checked(
    request: &Request,
    what: &str,
    stack: &str,
    user_data_hint: &str,
) -> Result<crate::template::Template> {
    let template = render(request)?;
    let problems = parameter_problems(&template, request.parameters);
    if !problems.is_empty() {
        return Err(Error::Config(
            problems
                .into_iter()
                .map(|problem| {
                    ConfigIssue::general(format!(
                        "the {what} template's parameter {problem} (value not shown)"
                    ))
                    .hint(
                        "a value nodectl's own checks let through: report it, with the key \
                         you set",
                    )
                })
                .collect(),
        ));
    }
    for (_, size) in user_data_sizes(&template, stack) {
        if size > USER_DATA_LIMIT {
            return Err(Error::Config(vec![ConfigIssue::general(format!(
                "the instance's user data would be {size} bytes, more than the {USER_DATA_LIMIT} \
                 bytes EC2 accepts"
            ))
            .hint(user_data_hint.to_string())]));
        }
    }
    Ok(template)
}

/// Renders the common and the node stack of `blueprint`. Errors: the rendered user data
/// exceeds EC2's [`USER_DATA_LIMIT`], or a template file (from `NODECTL_TEMPLATES_DIR`) is
/// broken.
pub fn stacks(blueprint: &dyn Blueprint, inputs: NodeStacks) -> Result<Vec<StackSpec>> {
    let tags = |id: &str| {
        let mut tags = vec![
            (
                "nodectl:blueprint".to_string(),
                blueprint.name().to_string(),
            ),
            ("nodectl:stack".to_string(), id.to_string()),
        ];
        tags.extend(inputs.tags.iter().cloned());
        tags
    };
    let node_template = render_checked(
        &Request {
            files: blueprint.files(),
            file: "single-node.json",
            parameters: &inputs.node_parameters,
            lists: &inputs.lists,
        },
        "node",
        &inputs.node_stack,
        inputs.user_data_hint,
    )?;
    let common_template = render(&Request {
        files: blueprint.files(),
        file: "common.json",
        parameters: &[],
        lists: &[],
    })?;
    let mut common = StackSpec::new(COMMON, inputs.common_stack, &inputs.region, common_template);
    common.tags = tags(COMMON);
    let secret_id = secret_name(&inputs.node_stack);
    let mut node = StackSpec::new(
        SINGLE_NODE,
        &inputs.node_stack,
        &inputs.region,
        node_template,
    );
    node.kind = crate::plan::StackKind::Node;
    node.parameters = inputs.node_parameters;
    node.tags = tags(SINGLE_NODE);
    node.depends_on = vec![COMMON.to_string()];
    node.lookups = inputs.lookups;
    node.after_destroy = vec![Step::DeleteSecret {
        secret_id: secret_id.clone(),
        contents: inputs.secret.contents(),
    }];
    node.before_deploy = vec![Step::WriteSecret(NodeSecret {
        secret_id,
        tags: node.tags.clone(),
        node: inputs.node_stack,
        content: inputs.secret,
    })];
    Ok(vec![common, node])
}
