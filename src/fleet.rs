//! Fleets: one `.env` file, N nodes. `NODECTL_NODES=alpha,beta,gamma` plans one node stack per
//! name, all depending on the one common stack. Each node reads the `.env` file with its own
//! `nodes/<name>.env` (next to the `.env` file, optional) layered over it, and
//! `NODECTL_NODE_NAME=<name>`: its stack is `<node stack>-<name>`, with its own secret and its
//! own outputs entry. Every node is planned (and so validated) before anything is deployed.
//!
//! What must be the same for every node stays in the `.env` file: a node file that would change
//! the shared common stack (its account, tags or settings) is refused. A node file may name
//! another region (`AWS_REGION`): the nodes there share their own copy of the shared stacks,
//! named with the region appended (`allora-edge-common-us-west-2`, id `common-us-west-2`), and
//! every command works region by region ([`Plan::in_region`]). A key that holds a node's
//! own identity ([`crate::blueprint::Blueprint::per_node_keys`], such as a wallet mnemonic) may
//! not come from the `.env` file, the environment or a flag for the whole fleet: each node needs
//! its own, in its node file, or nodectl generates one per node.

use std::path::PathBuf;

use crate::blueprint::validate;
use crate::blueprint::Blueprint;
use crate::error::{ConfigIssue, Error, Result};
use crate::plan::Plan;
use crate::settings::Settings;

/// The key that names a fleet's nodes.
pub const NODES_KEY: &str = "NODECTL_NODES";

/// The most nodes one fleet plans (each is a stack; CloudFormation's default quota is 2,000
/// stacks per region, and a fleet this size deploys in bounded batches).
pub const MAX_NODES: usize = 100;

/// The fleet's node names, or `None` when `NODECTL_NODES` is unset or empty. Errors: a name
/// that cannot be part of a stack name, a name given twice, more than [`MAX_NODES`], or
/// `NODECTL_NODE_NAME` set as well.
pub fn names(settings: &Settings) -> Result<Option<Vec<String>>> {
    let Some(setting) = settings
        .get(NODES_KEY)
        .filter(|s| !s.value.trim().is_empty())
    else {
        return Ok(None);
    };
    let issue = |message: String, hint: &str| {
        Error::Config(vec![
            ConfigIssue::key(NODES_KEY, &setting.source, message).hint(hint.to_string())
        ])
    };
    if settings
        .get("NODECTL_NODE_NAME")
        .is_some_and(|s| !s.value.is_empty())
    {
        return Err(issue(
            "names the fleet's nodes, and NODECTL_NODE_NAME names one node as well".into(),
            "remove NODECTL_NODE_NAME: each node of NODECTL_NODES is named by its entry",
        ));
    }
    let mut names: Vec<String> = Vec::new();
    for name in setting.value.split(',').map(str::trim) {
        let name = validate::name_part(name).map_err(|(message, hint)| issue(message, &hint))?;
        if names.contains(&name) {
            return Err(issue(
                format!("names `{name}` twice"),
                "give each node its own name",
            ));
        }
        names.push(name);
    }
    if names.len() > MAX_NODES {
        return Err(issue(
            format!(
                "names {} nodes, more than the {MAX_NODES} one fleet takes",
                names.len()
            ),
            "split the fleet into several .env files",
        ));
    }
    Ok(Some(names))
}

/// Where node `name` of the fleet of `settings` keeps its own keys: `nodes/<name>.env` next to
/// the `.env` file.
pub fn node_file(settings: &Settings, name: &str) -> PathBuf {
    settings
        .env_file()
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."))
        .join("nodes")
        .join(format!("{name}.env"))
}

/// Plans the fleet `names` of `blueprint`: each node planned with its own settings, their node
/// stacks (ids `<id>-<name>`) after the shared stacks, warnings once each, every node's notes and
/// secrets. Errors: every node's configuration problems together (a problem of the `.env` file
/// is reported once), a node file that changes a shared stack, a per-node key set for the
/// whole fleet.
pub fn plan(blueprint: &dyn Blueprint, settings: &Settings, names: &[String]) -> Result<Plan> {
    let mut issues: Vec<ConfigIssue> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let piped = piped_per_node(blueprint, settings, names)?;
    let mut fleet: Option<Plan> = None;
    // The .env file's region (or the environment's, or the profile's): a node file may name (Unset there: the first node's, e.g. the blueprint's default.)
    let mut home = settings.get("AWS_REGION").map(|setting| setting.value);
    for name in names {
        let mut node_settings = settings.for_node(name, &node_file(settings, name))?;
        for (key, values) in &piped {
            node_settings =
                node_settings.with_flag(key, "--secret-stdin", values.get(name).cloned());
        }
        // Keys that are the fleet's, not a node's (tags are added to every stack, the shared
        // ones included, from the .env file).
        for (key, why, hint) in [
            (
                "NODECTL_NODE_NAME",
                "the fleet names its nodes",
                format!("the node is named `{name}` by NODECTL_NODES"),
            ),
            (
                NODES_KEY,
                "the fleet names its nodes",
                "set it in the .env file".into(),
            ),
            (
                "NODECTL_TAGS",
                "the fleet's stacks share their tags",
                "set the tags in the .env file".into(),
            ),
        ] {
            if let Some(setting) = node_settings.file_setting(key) {
                push_issue(
                    ConfigIssue::key(
                        key,
                        &setting.source,
                        format!("is set in a node's own file; {why}"),
                    )
                    .hint(format!(
                        "remove it from {}: {hint}",
                        node_file(settings, name).display()
                    )),
                    &mut issues,
                );
            }
        }
        // A node file's region that the environment or a flag would override: refused, not
        // silently deployed elsewhere.
        if let (Some(own), Some(winner)) = (
            node_settings.file_setting("AWS_REGION"),
            node_settings.get("AWS_REGION"),
        ) {
            if winner.source != own.source && winner.value != own.value {
                push_issue(
                    ConfigIssue::key(
                        "AWS_REGION",
                        &own.source,
                        format!(
                            "puts node `{name}` in `{}`, but `{}` ({}) wins for every node",
                            own.value, winner.value, winner.source
                        ),
                    )
                    .hint(
                        "set the fleet's region in the .env file, not in the environment or \
                         with --region, when node files name their own regions",
                    ),
                    &mut issues,
                );
            }
        }
        for key in blueprint.per_node_keys() {
            if piped.iter().any(|(piped_key, _)| piped_key == key) {
                continue;
            }
            if let Some(shared) = node_settings
                .get(key)
                .filter(|s| !s.value.is_empty() && !node_settings.from_overlay(key))
            {
                push_issue(
                    ConfigIssue::key(
                        key,
                        &shared.source,
                        "is set for the whole fleet, and each node needs its own",
                    )
                    .hint(format!(
                        "set it in each node's own file ({}), or leave it unset and nodectl \
                         generates one per node",
                        node_file(settings, "<name>").display()
                    )),
                    &mut issues,
                );
            }
        }
        let plan = match blueprint.plan(&node_settings) {
            Ok(plan) => plan,
            Err(Error::Config(found)) => {
                found.into_iter().for_each(|i| push_issue(i, &mut issues));
                continue;
            }
            Err(Error::WithWarnings { warnings: w, error }) => {
                for warning in w {
                    if !warnings.contains(&warning) {
                        warnings.push(warning);
                    }
                }
                match *error {
                    Error::Config(found) => {
                        found.into_iter().for_each(|i| push_issue(i, &mut issues))
                    }
                    other => return Err(other),
                }
                continue;
            }
            Err(other) => return Err(other),
        };
        for warning in &plan.warnings {
            if !warnings.contains(warning) {
                warnings.push(warning.clone());
            }
        }
        let plan = rename_nodes(plan, name);
        // A node elsewhere than the .env file's region gets its own shared stacks there.
        let plan = if *home.get_or_insert_with(|| plan.region.clone()) != plan.region {
            elsewhere(plan)
        } else {
            plan
        };
        fleet = Some(match fleet {
            None => plan,
            Some(mut fleet) => {
                if plan.account != fleet.account {
                    return Err(Error::Config(vec![ConfigIssue::general(format!(
                        "node `{name}` would deploy to another account than the fleet's: one \
                         fleet is one account"
                    ))
                    .hint(format!(
                        "set AWS_ACCOUNT_ID in the .env file only, not in {}",
                        node_file(settings, name).display()
                    ))]));
                }
                for stack in plan.stacks {
                    let known = fleet.stacks.iter().find(|known| known.id == stack.id);
                    let Some(known) = known.filter(|_| !stack.is_node()) else {
                        // A node stack, or the first node's copy of the shared stacks in its
                        // region.
                        fleet.stacks.push(stack);
                        continue;
                    };
                    let same = known.name == stack.name
                        && known.template.body() == stack.template.body()
                        && known.parameters == stack.parameters
                        && known.tags == stack.tags;
                    if !same {
                        return Err(Error::Config(vec![ConfigIssue::general(format!(
                            "node `{name}` would change the shared stack `{}`: its node file \
                             sets a key that every node of a region must share (tags, or a \
                             setting of the shared stack)",
                            stack.name
                        ))
                        .hint(format!(
                            "move that key from {} to the .env file",
                            node_file(settings, name).display()
                        ))]));
                    }
                }
                fleet.notes.extend(plan.notes);
                for secret in plan.secrets {
                    if !fleet.secrets.contains(&secret) {
                        fleet.secrets.push(secret);
                    }
                }
                fleet
            }
        });
    }
    if !issues.is_empty() {
        return Err(if warnings.is_empty() {
            Error::Config(issues)
        } else {
            Error::WithWarnings {
                warnings,
                error: Box::new(Error::Config(issues)),
            }
        });
    }
    let mut fleet = fleet.expect("at least one node, and none failed");
    fleet.warnings = warnings;
    if let Some(home) = home {
        fleet.region = home;
    }
    Ok(fleet)
}

/// The per-node keys given on stdin (`--secret-stdin KEY`) as `NAME=value` lines, one per node,
/// by key and node name. Errors: a line that is not `NAME=value` for a node of the fleet (the
/// value is never shown).
fn piped_per_node(
    blueprint: &dyn Blueprint,
    settings: &Settings,
    names: &[String],
) -> Result<Vec<(&'static str, std::collections::HashMap<String, String>)>> {
    let mut piped = Vec::new();
    for key in blueprint.per_node_keys() {
        let Some(setting) = settings.get(key) else {
            continue;
        };
        if setting.source != crate::error::Source::Flag("--secret-stdin") {
            continue;
        }
        let mut values = std::collections::HashMap::new();
        for (index, line) in setting.value.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match line.split_once('=') {
                Some((name, value)) if names.iter().any(|n| n == name.trim()) => {
                    values.insert(name.trim().to_string(), value.trim().to_string());
                }
                _ => {
                    return Err(Error::Config(vec![ConfigIssue::key(
                        key,
                        &setting.source,
                        format!(
                            "line {} of stdin is not NAME=value for a node of NODECTL_NODES \
                             (value hidden)",
                            index + 1
                        ),
                    )
                    .hint(format!(
                        "for a fleet, pipe one line per node: {}=<value> (nodes without a \
                         line get a generated one)",
                        names[0]
                    ))]))
                }
            }
        }
        piped.push((*key, values));
    }
    Ok(piped)
}

/// Adds `issue` to `issues` unless the same problem is there (a `.env` problem, found once per
/// node).
fn push_issue(issue: ConfigIssue, issues: &mut Vec<ConfigIssue>) {
    if !issues
        .iter()
        .any(|known| known.to_string() == issue.to_string())
    {
        issues.push(issue);
    }
}

/// The plan of a node whose file names another region than the `.env` file's: its shared
/// stacks get their own copies there, with the region appended to their ids and names
/// (`common-us-west-2`, `allora-edge-common-us-west-2`), so that the outputs file, keyed by
/// stack name, stays unambiguous. The node stack follows: its dependencies, and every
/// parameter whose value is a renamed stack's name (how a node stack names the stack whose
/// exports it imports, e.g. `CommonStackName`; exports are regional).
fn elsewhere(mut plan: Plan) -> Plan {
    let region = plan.region.clone();
    let renamed: Vec<(String, String, String)> = plan
        .stacks
        .iter()
        .filter(|stack| !stack.is_node())
        .map(|stack| {
            (
                stack.id.clone(),
                stack.name.clone(),
                format!("{}-{region}", stack.name),
            )
        })
        .collect();
    for stack in &mut plan.stacks {
        if !stack.is_node() {
            stack.id = format!("{}-{region}", stack.id);
            stack.name = format!("{}-{region}", stack.name);
            continue;
        }
        for dependency in &mut stack.depends_on {
            if renamed.iter().any(|(id, _, _)| id == dependency) {
                *dependency = format!("{dependency}-{region}");
            }
        }
        let mut body = stack.template.value().clone();
        for (parameter, value) in &mut stack.parameters {
            if let Some((_, _, new)) = renamed.iter().find(|(_, old, _)| old == value) {
                *value = new.clone();
                // The rendered template carries each value as its parameter's default.
                if let Some(default) = body
                    .pointer_mut(&format!("/Parameters/{parameter}/Default"))
                    .filter(|default| default.is_string())
                {
                    *default = serde_json::Value::String(new.clone());
                }
            }
        }
        stack.template = crate::template::Template::from_value(body);
    }
    plan
}

/// `plan` with its node stacks' ids suffixed with `-<name>` (their stack names already are).
fn rename_nodes(mut plan: Plan, name: &str) -> Plan {
    for stack in &mut plan.stacks {
        if stack.is_node() {
            stack.id = format!("{}-{name}", stack.id);
        }
    }
    plan
}
