//! Blueprints: a kind of node nodectl deploys. A blueprint owns everything about itself in its
//! folder (`src/blueprint/<name>/`, with `templates/<name>/` beside it): its `.env` keys
//! (composed from the shared [`keys`] sets), how a file is recognised as its own, its facts
//! (`facts.json`: instance families, managed policies, checklist remarks, metric publishers),
//! its secrets, and its [`Plan`]: the stacks it deploys as a graph.
//!
//! Adding a blueprint is a folder here, a folder under `templates/`, and one line in
//! [`BLUEPRINTS`]. Nothing outside this module names a blueprint.

pub mod alerts;
pub mod instance_types;
pub mod keys;
pub mod node;
pub mod reader;
pub mod reference;
pub mod shape;
pub mod tags;
pub mod validate;
pub mod volume;

mod allora;
mod dynabench;
mod theta;

use crate::error::{ConfigIssue, Error, Result};
use crate::facts::Facts;
use crate::plan::Plan;
use crate::settings::Settings;
use crate::template::TemplateFiles;
pub use keys::KeySpec;
pub use reader::{Reader, PLACEHOLDER};

/// A kind of node nodectl deploys; see the module documentation.
pub trait Blueprint: Sync {
    /// Its name, in `NODECTL_BLUEPRINT`, in tags and under `templates/`: `theta`.
    fn name(&self) -> &'static str;

    /// Every key it reads, each once, in documentation order.
    fn keys(&self) -> Vec<&'static KeySpec>;

    /// Its documented sample `.env` file (`sample-configs/<name>.env`, embedded), which
    /// `nodectl init <name>` writes.
    fn sample(&self) -> &'static str;

    /// Whether a file that sets `key` is for this blueprint (when `NODECTL_BLUEPRINT` does not
    /// say). Keys several blueprints share say nothing.
    fn detects(&self, key: &str) -> bool;

    /// The keys that [`Blueprint::detects`], for messages: `EDGE_NODE_*`.
    fn detected_by(&self) -> &'static str;

    /// What it declares for `check` and `cost` (its `facts.json`).
    fn facts(&self) -> &'static Facts;

    /// Its files under `templates/<name>/`, embedded in the binary.
    fn files(&self) -> &'static TemplateFiles;

    /// The ids of the stacks its plans hold (the command line takes them).
    fn stack_ids(&self) -> &'static [&'static str];

    /// Reads and validates `settings` and renders the stacks (offline). Errors: every
    /// problem of the configuration at once, as [`Error::Config`].
    fn plan(&self, settings: &Settings) -> Result<Plan>;

    /// What the day-2 commands (`status`, `health`, `logs`, `restart`, `rpc`) know about its
    /// node stack with these template `parameters` (a blueprint may run its node in more than
    /// one way, e.g. Allora's `WorkerRuntime`): service, containers, probes, RPC ports.
    /// `None`: it runs no node.
    fn node(&self, parameters: &[(String, String)]) -> Option<&'static crate::node::NodeProfile> {
        let _ = parameters;
        None
    }

    /// What the user does next with the deployed stacks' `outputs` (the outputs file's
    /// format, stacks of `plan`), one line each, printed on stderr after `deploy` and
    /// `outputs`: Dynabench's task settings, say. None by default, and none when the outputs
    /// it needs are missing.
    fn checklist(
        &self,
        plan: &Plan,
        outputs: &serde_json::Map<String, serde_json::Value>,
    ) -> Vec<String> {
        let _ = (plan, outputs);
        Vec::new()
    }

    /// Whether a `.env` file of it may name a fleet (`NODECTL_NODES`): several nodes over its
    /// shared stacks.
    fn fleets(&self) -> bool {
        true
    }

    /// The keys that hold a node's own identity (a wallet mnemonic, a node password): in a
    /// fleet ([`crate::fleet`]) each node needs its own, so they may not be set for all nodes.
    fn per_node_keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// The secret values of `settings` under this blueprint's keys, for redaction (every
    /// secret key's value by default).
    fn secrets(&self, settings: &Settings) -> Vec<String> {
        self.keys()
            .into_iter()
            .filter(|spec| spec.secret)
            .filter_map(|spec| settings.get(spec.name))
            .map(|setting| setting.value)
            .collect()
    }
}

/// `` `nodectl init allora` or `nodectl init theta` ``: how to start from a sample, for hints.
pub fn init_commands() -> String {
    or_list(
        &BLUEPRINTS
            .iter()
            .map(|b| format!("`nodectl init {}`", b.name()))
            .collect::<Vec<_>>(),
    )
}

/// Every blueprint, one line each.
pub static BLUEPRINTS: &[&dyn Blueprint] = &[&allora::Allora, &theta::Theta, &dynabench::Dynabench];

/// The blueprint named `name`.
pub fn find(name: &str) -> Option<&'static dyn Blueprint> {
    BLUEPRINTS
        .iter()
        .copied()
        .find(|blueprint| blueprint.name() == name)
}

/// Every stack id some blueprint has, each once (for the command line's possible values).
pub fn stack_ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = Vec::new();
    for id in BLUEPRINTS
        .iter()
        .flat_map(|b| b.stack_ids().iter().copied())
    {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// The secret keys of every blueprint, each once (what `--secret-stdin` takes).
pub fn secret_keys() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for spec in BLUEPRINTS.iter().flat_map(|b| b.keys()) {
        if spec.secret && !names.contains(&spec.name) {
            names.push(spec.name);
        }
    }
    names
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// Decides which blueprint a configuration is for: `NODECTL_BLUEPRINT`, else the keys present.
pub fn detect(settings: &Settings) -> Result<&'static dyn Blueprint> {
    let names = or_list(
        &BLUEPRINTS
            .iter()
            .map(|b| b.name().to_string())
            .collect::<Vec<_>>(),
    );
    if let Some(setting) = settings.get("NODECTL_BLUEPRINT") {
        let name = setting.value.as_str();
        if let Some(blueprint) = find(name) {
            return Ok(blueprint);
        }
        let (message, hint) = (
            format!("unknown blueprint `{name}`"),
            format!("set NODECTL_BLUEPRINT to {names}"),
        );
        return Err(Error::Config(vec![ConfigIssue::key(
            "NODECTL_BLUEPRINT",
            &setting.source,
            message,
        )
        .hint(hint)]));
    }
    let matching: Vec<&'static dyn Blueprint> = BLUEPRINTS
        .iter()
        .copied()
        .filter(|blueprint| {
            settings
                .entries()
                .iter()
                .any(|entry| blueprint.detects(&entry.key))
        })
        .collect();
    let setting_for = |blueprints: &[&'static dyn Blueprint]| {
        or_list(
            &blueprints
                .iter()
                .map(|b| format!("NODECTL_BLUEPRINT={}", b.name()))
                .collect::<Vec<_>>(),
        )
    };
    match matching.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::Config(vec![ConfigIssue::general(format!(
            "cannot tell which blueprint {} is for: it has no {} keys",
            settings.env_file().display(),
            or_list(
                &BLUEPRINTS
                    .iter()
                    .map(|b| b.detected_by().to_string())
                    .collect::<Vec<_>>()
            )
        ))
        .hint(format!(
            "add {}, or start from a sample: {}",
            setting_for(BLUEPRINTS),
            init_commands()
        ))])),
        several => Err(Error::Config(vec![ConfigIssue::general(format!(
            "{} has keys of both {}",
            settings.env_file().display(),
            several
                .iter()
                .map(|b| format!("the {} blueprint", b.name()))
                .collect::<Vec<_>>()
                .join(" and ")
                .replacen(" blueprint and the ", " and the ", several.len() - 1)
        ))
        .hint(format!(
            "add {} to say which one it is for",
            setting_for(several)
        ))])),
    }
}

/// The secret values of the configuration, for redaction: every blueprint's secrets (so that
/// nothing leaks before the blueprint is known) and credentials put in the file by mistake.
pub fn secrets(settings: &Settings) -> Vec<String> {
    let mut found = Vec::new();
    let values = BLUEPRINTS
        .iter()
        .flat_map(|blueprint| blueprint.secrets(settings))
        .chain(
            ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
                .iter()
                .filter_map(|key| settings.file_entry(key))
                .map(|entry| entry.value.clone()),
        );
    for value in values {
        let value = value.trim().trim_matches('"').trim_matches('\'');
        if !crate::secrets::NOT_SECRETS.contains(&value)
            && !found.iter().any(|known| known == value)
        {
            found.push(value.to_string());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_blueprint_has_its_facts_files_and_unique_keys() {
        let catalog = crate::check::catalog::Catalog::built_in();
        for blueprint in BLUEPRINTS {
            let facts = blueprint.facts();
            assert!(!facts.recommended_instance_families.families.is_empty());
            assert!(!facts.declared_managed_policies.is_empty());
            for rule in facts.checklist.keys() {
                assert!(catalog.rule(rule).is_some(), "{}: {rule}", blueprint.name());
            }
            let keys = blueprint.keys();
            for (index, spec) in keys.iter().enumerate() {
                assert!(
                    !keys[..index].iter().any(|other| other.name == spec.name),
                    "{}: {} twice",
                    blueprint.name(),
                    spec.name
                );
            }
            assert_eq!(blueprint.files().blueprint, blueprint.name());
            assert!(!blueprint.stack_ids().is_empty());
        }
    }

    /// Credentials are masked when they were put in the `.env` file by mistake; those of the
    /// environment (where they belong, and where an emulator's is a word like `test`) are not
    /// masked in every text nodectl prints (regression: `LatestAmiId` came out `La****AmiId`).
    #[test]
    fn only_credentials_in_the_file_are_masked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "AWS_SESSION_TOKEN=\"FwoGZXIvYXdzEJr-token\"\n").unwrap();
        let env = std::collections::HashMap::from([(
            "AWS_SECRET_ACCESS_KEY".to_string(),
            "test".to_string(),
        )]);
        let settings = Settings::load(&path, env, Default::default()).unwrap();
        assert_eq!(secrets(&settings), ["FwoGZXIvYXdzEJr-token"]);
    }

    #[test]
    fn lists_read_naturally() {
        let list =
            |items: &[&str]| or_list(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(list(&["a"]), "a");
        assert_eq!(list(&["a", "b"]), "a or b");
        assert_eq!(list(&["a", "b", "c"]), "a, b or c");
    }
}
