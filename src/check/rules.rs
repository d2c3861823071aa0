//! The rules `check` evaluates: the built-in rules files (`rules/*.guard`, embedded in the
//! binary) and the user's (`--rules DIR`), with their catalogs.

use std::path::{Path, PathBuf};

use super::catalog::{Catalog, RuleInfo};
use super::guard;
use crate::error::{Error, Result};

/// The built-in rules files, embedded in the binary, in report order.
pub(crate) const BUILT_IN_RULES: &[(&str, &str)] = &[
    ("network.guard", include_str!("../../rules/network.guard")),
    ("compute.guard", include_str!("../../rules/compute.guard")),
    ("iam.guard", include_str!("../../rules/iam.guard")),
    ("secrets.guard", include_str!("../../rules/secrets.guard")),
    ("s3.guard", include_str!("../../rules/s3.guard")),
    (
        "serverless.guard",
        include_str!("../../rules/serverless.guard"),
    ),
    ("cost.guard", include_str!("../../rules/cost.guard")),
    (
        "reliability.guard",
        include_str!("../../rules/reliability.guard"),
    ),
];

/// One rules file.
#[derive(Debug, Clone)]
pub(crate) struct RuleFile {
    /// `rules/<name>` for the built-in files, the path for the user's.
    pub name: String,
    /// The rules (Guard language).
    pub text: String,
}

/// The rules to evaluate and their descriptions.
#[derive(Debug, Clone)]
pub(crate) struct RuleSet {
    /// The files, built-in ones first.
    pub files: Vec<RuleFile>,
    /// The built-in catalog (rule descriptions and blueprint declarations).
    pub catalog: Catalog,
    /// Descriptions of the user's rules (`catalog.json` in `--rules DIR`).
    pub user_catalog: Catalog,
}

impl RuleSet {
    /// The built-in rules.
    pub(crate) fn built_in() -> RuleSet {
        RuleSet {
            files: BUILT_IN_RULES
                .iter()
                .map(|(name, text)| RuleFile {
                    name: format!("rules/{name}"),
                    text: text.to_string(),
                })
                .collect(),
            catalog: Catalog::built_in(),
            user_catalog: Catalog::default(),
        }
    }

    /// Adds every `*.guard` file of `dir` (in name order), and `dir/catalog.json` if present.
    /// Each file must parse.
    pub(crate) fn add_dir(&mut self, dir: &Path) -> Result<()> {
        let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
            action: "read the rules directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "guard") && path.is_file())
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(Error::usage(
                format!("--rules {}: the directory has no .guard files", dir.display()),
                "put AWS CloudFormation Guard rules files (NAME.guard) in it; docs/checks.md has an example",
            ));
        }
        for path in paths {
            let text = read(&path)?;
            let name = path.display().to_string();
            guard::parse(&name, &text).map_err(|message| {
                Error::usage(
                    format!("cannot parse the rules file {name}: {message}"),
                    "fix the rule (the AWS CloudFormation Guard language; docs/checks.md has an example)",
                )
            })?;
            self.files.push(RuleFile { name, text });
        }
        let catalog = dir.join("catalog.json");
        if catalog.is_file() {
            let parsed = Catalog::parse(&read(&catalog)?).map_err(|message| {
                Error::usage(
                    format!("{} is not a rule catalog: {message}", catalog.display()),
                    "write {\"rules\": {\"<rule>\": {\"control\": \"...\", \"check\": \"...\", \"remarks\": {\"<blueprint>\": \"...\"}}}} (docs/checks.md)",
                )
            })?;
            if parsed.blueprints.is_some() {
                return Err(Error::usage(
                    format!("{} declares blueprints", catalog.display()),
                    "only the built-in catalog declares what a blueprint needs; describe your rules under \"rules\"",
                ));
            }
            self.user_catalog = parsed;
        }
        Ok(())
    }

    /// The description of `rule`: the built-in catalog's, else the user catalog's.
    pub(crate) fn describe(&self, rule: &str) -> Option<&RuleInfo> {
        self.catalog
            .rule(rule)
            .or_else(|| self.user_catalog.rule(rule))
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })
}
