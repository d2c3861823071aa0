//! Blueprints: which `.env` keys a kind of node takes, their defaults and validation, and the
//! stacks (names, templates, template parameters) that deploy it.

pub mod allora;
pub mod offchain;
pub mod validate;
pub mod volume;

use std::ops::RangeInclusive;

use crate::error::{ConfigIssue, Error, Result, Source};
use crate::settings::{Setting, Settings};

/// The blueprints nodectl knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlueprintKind {
    /// Allora worker node (`sample-configs/allora.env`).
    Allora,
}

impl BlueprintKind {
    /// The name used in `NODECTL_BLUEPRINT` and in tags.
    pub fn name(self) -> &'static str {
        match self {
            BlueprintKind::Allora => "allora",
        }
    }
}

/// The role of a stack in a blueprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StackRole {
    /// What all nodes of an account and region share (IAM role, instance profile).
    Common,
    /// One node (network, security group, instance, volumes).
    SingleNode,
}

impl StackRole {
    /// `common` or `single-node`, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            StackRole::Common => "common",
            StackRole::SingleNode => "single-node",
        }
    }
}

/// Documentation and default of one `.env` key.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// The key, e.g. `AWS_INSTANCE_TYPE`.
    pub name: &'static str,
    /// The default when the key is set nowhere.
    pub default: Option<&'static str>,
    /// Whether the value is a secret (never printed, never put in a template).
    pub secret: bool,
    /// One line: meaning, unit and allowed values.
    pub help: &'static str,
}

/// The `AWS_ACCOUNT_ID` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountSetting {
    /// Not set anywhere.
    Missing,
    /// Still the upstream sample's placeholder `xxxxxxxxxxx`.
    Placeholder(Source),
    /// Set, but not 12 digits (checked only by commands that talk to AWS).
    Invalid(String, Source),
    /// A 12-digit account id.
    Id(String, Source),
}

/// One stack to render and deploy.
#[derive(Debug, Clone)]
pub struct StackPlan {
    /// Its role in the blueprint.
    pub role: StackRole,
    /// The CloudFormation stack name.
    pub name: String,
    /// The rendered template body (JSON).
    pub template: String,
    /// Template parameters, in template order: the same values the template carries as
    /// defaults, sent explicitly on deploy so that change sets show parameter changes.
    pub parameters: Vec<(String, String)>,
    /// Stack tags (propagated by CloudFormation to the resources).
    pub tags: Vec<(String, String)>,
}

/// Everything one `.env` file resolves to: the validated stacks and the account and region.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Which blueprint.
    pub blueprint: BlueprintKind,
    /// The region to deploy into.
    pub region: String,
    /// The configured account.
    pub account: AccountSetting,
    /// The stacks in deploy order (common first).
    pub stacks: Vec<StackPlan>,
    /// Non-fatal findings (unknown keys, ignored keys), to print as warnings.
    pub warnings: Vec<String>,
    /// Secret values found in the configuration, to register with the printer's redactor.
    pub secrets: Vec<String>,
    /// What the node stack's instance reads from Secrets Manager at boot, if anything.
    pub node_secrets: Option<crate::secrets::NodeSecrets>,
}

impl Plan {
    /// The stack with `role`.
    pub fn stack(&self, role: StackRole) -> &StackPlan {
        self.stacks
            .iter()
            .find(|stack| stack.role == role)
            .expect("every blueprint has a common and a single-node stack")
    }

    /// The account id for commands that talk to AWS: errors when `AWS_ACCOUNT_ID` is missing
    /// or still the placeholder (no AWS request is made before this check).
    pub fn require_account(&self) -> Result<(&str, &Source)> {
        match &self.account {
            AccountSetting::Id(id, source) => Ok((id, source)),
            AccountSetting::Placeholder(source) => Err(Error::Config(vec![ConfigIssue::key(
                "AWS_ACCOUNT_ID",
                source,
                "`xxxxxxxxxxx` is the upstream sample's placeholder, not an account id",
            )
            .hint(
                "set it to the 12-digit id of the account to deploy into: `aws sts \
                 get-caller-identity --query Account`",
            )])),
            AccountSetting::Invalid(value, source) => {
                let (message, hint) = validate::account_id(value)
                    .expect_err("an invalid account id fails validation");
                Err(Error::Config(vec![ConfigIssue::key(
                    "AWS_ACCOUNT_ID",
                    source,
                    message,
                )
                .hint(hint)]))
            }
            AccountSetting::Missing => Err(Error::Config(vec![ConfigIssue::general(
                "AWS_ACCOUNT_ID is not set: nodectl checks it against the credentials' account \
                 before it changes anything",
            )
            .hint(
                "add AWS_ACCOUNT_ID=\"<12-digit id>\" to the .env file (`aws sts \
                 get-caller-identity --query Account` prints it)",
            )])),
        }
    }
}

/// Decides which blueprint a configuration is for: `NODECTL_BLUEPRINT`, else the keys present.
pub fn detect(settings: &Settings) -> Result<BlueprintKind> {
    if let Some(setting) = settings.get("NODECTL_BLUEPRINT") {
        return match setting.value.as_str() {
            "allora" => Ok(BlueprintKind::Allora),
            "theta" | "dynabench" => Err(Error::Config(vec![ConfigIssue::key(
                "NODECTL_BLUEPRINT",
                &setting.source,
                format!("the `{}` blueprint is not available yet", setting.value),
            )
            .hint("this version of nodectl deploys the allora blueprint only")])),
            other => Err(Error::Config(vec![ConfigIssue::key(
                "NODECTL_BLUEPRINT",
                &setting.source,
                format!("unknown blueprint `{other}`"),
            )
            .hint("set NODECTL_BLUEPRINT=allora")])),
        };
    }
    let keys: Vec<&str> = settings.entries().iter().map(|e| e.key.as_str()).collect();
    let allora = keys
        .iter()
        .any(|k| k.starts_with("ALLORA_") || *k == "MODEL_REPO" || *k == "MODEL_ENV_VARS");
    let theta = keys.iter().any(|k| {
        k.starts_with("EDGE_NODE_") || *k == "EDGE_LAUNCHER_VERSION" || *k == "EDGE_CLUSTER"
    });
    match (allora, theta) {
        (true, false) => Ok(BlueprintKind::Allora),
        (false, true) => Err(Error::Config(vec![ConfigIssue::general(format!(
            "{} is a Theta Edge Node configuration; the theta blueprint is not available yet",
            settings.env_file().display()
        ))
        .hint("this version of nodectl deploys the allora blueprint only")])),
        (true, true) => Err(Error::Config(vec![ConfigIssue::general(format!(
            "{} has keys of both the allora and the theta blueprint",
            settings.env_file().display()
        ))
        .hint("add NODECTL_BLUEPRINT=allora to say which one it is for")])),
        (false, false) => Err(Error::Config(vec![ConfigIssue::general(format!(
            "cannot tell which blueprint {} is for: it has no ALLORA_* or MODEL_* keys",
            settings.env_file().display()
        ))
        .hint("add NODECTL_BLUEPRINT=allora, or start from sample-configs/allora.env")])),
    }
}

/// Reads typed values for a blueprint, collecting every problem instead of stopping at the
/// first, so that one run reports all mistakes in a file.
pub struct Reader<'a> {
    settings: &'a Settings,
    specs: &'static [KeySpec],
    issues: Vec<ConfigIssue>,
    warnings: Vec<String>,
}

impl<'a> Reader<'a> {
    /// A reader over `settings` for the keys in `specs`.
    pub fn new(settings: &'a Settings, specs: &'static [KeySpec]) -> Self {
        Reader {
            settings,
            specs,
            issues: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The settings being read.
    pub fn settings(&self) -> &Settings {
        self.settings
    }

    fn spec(&self, key: &str) -> &'static KeySpec {
        self.specs
            .iter()
            .find(|spec| spec.name == key)
            .unwrap_or_else(|| panic!("key {key} has no KeySpec"))
    }

    /// The effective setting of `key` with its default applied; `None` when unset and
    /// without default. An empty value counts as unset for keys that have a default.
    pub fn setting(&self, key: &str) -> Option<Setting> {
        let spec = self.spec(key);
        match self.settings.get(key) {
            Some(setting) if !(setting.value.is_empty() && spec.default.is_some()) => Some(setting),
            _ => spec.default.map(|default| Setting {
                value: default.to_string(),
                source: Source::Default,
            }),
        }
    }

    /// Whether `key` is set explicitly (flag, environment or file) to a non-empty value.
    pub fn is_set(&self, key: &str) -> bool {
        self.settings
            .get(key)
            .is_some_and(|setting| !setting.value.is_empty())
    }

    /// Records a problem with `key`.
    pub fn issue(&mut self, key: &str, source: &Source, message: String, hint: String) {
        self.issues
            .push(ConfigIssue::key(key, source, message).hint(hint));
    }

    /// Records a warning.
    pub fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    /// How a value is shown in messages: quoted, or hidden for secrets.
    fn shown(&self, key: &str, value: &str) -> String {
        if self.spec(key).secret {
            "(value hidden)".into()
        } else {
            format!("`{value}`")
        }
    }

    /// A text value.
    pub fn text(&mut self, key: &str) -> Option<String> {
        self.setting(key).map(|setting| setting.value)
    }

    /// A value checked by `check`, which returns `(message, hint)` on failure.
    pub fn checked<T>(
        &mut self,
        key: &str,
        check: impl FnOnce(&str) -> std::result::Result<T, validate::Problem>,
    ) -> Option<T> {
        let setting = self.setting(key)?;
        match check(&setting.value) {
            Ok(value) => Some(value),
            Err((message, hint)) => {
                self.issue(key, &setting.source, message, hint);
                None
            }
        }
    }

    /// A whole number in `range`; `unit` (e.g. " GiB") is appended to the numbers in messages.
    pub fn integer(&mut self, key: &str, range: RangeInclusive<i64>, unit: &str) -> Option<i64> {
        let setting = self.setting(key)?;
        let shown = self.shown(key, &setting.value);
        let example = self.spec(key).default.unwrap_or("1");
        match setting.value.trim().parse::<i64>() {
            Err(_) => {
                self.issue(
                    key,
                    &setting.source,
                    format!("{shown} is not a whole number"),
                    format!("use digits only, e.g. {key}=\"{example}\""),
                );
                None
            }
            Ok(value) if !range.contains(&value) => {
                self.issue(
                    key,
                    &setting.source,
                    format!(
                        "{value}{unit} is out of range: {key} takes {}{unit} to {}{unit}",
                        range.start(),
                        range.end()
                    ),
                    format!("use a value from {} to {}", range.start(), range.end()),
                );
                None
            }
            Ok(value) => Some(value),
        }
    }

    /// A decimal number (e.g. `0.8`).
    pub fn decimal(&mut self, key: &str) -> Option<f64> {
        let setting = self.setting(key)?;
        let shown = self.shown(key, &setting.value);
        let example = self.spec(key).default.unwrap_or("1.0");
        match setting.value.trim().parse::<f64>() {
            Ok(value) if value.is_finite() => Some(value),
            _ => {
                self.issue(
                    key,
                    &setting.source,
                    format!("{shown} is not a number"),
                    format!("use a decimal number, e.g. {key}=\"{example}\""),
                );
                None
            }
        }
    }

    /// `true` or `false` (any case).
    pub fn boolean(&mut self, key: &str) -> Option<bool> {
        let setting = self.setting(key)?;
        match setting.value.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                let shown = self.shown(key, &setting.value);
                self.issue(
                    key,
                    &setting.source,
                    format!("{shown} is not true or false"),
                    format!("write {key}=\"true\" or {key}=\"false\""),
                );
                None
            }
        }
    }

    /// One of `allowed`.
    pub fn choice(&mut self, key: &str, allowed: &[&str]) -> Option<String> {
        let setting = self.setting(key)?;
        if allowed.contains(&setting.value.as_str()) {
            return Some(setting.value);
        }
        let shown = self.shown(key, &setting.value);
        let list = allowed
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ");
        self.issue(
            key,
            &setting.source,
            format!("{shown} is not one of {list}"),
            format!("set {key} to one of {list}"),
        );
        None
    }

    /// Warns about keys in the file that no blueprint key matches, naming the closest known
    /// key. `ignored` keys are known to nodectl but not read from the file (with the reason).
    pub fn warn_unknown_keys(&mut self, ignored: &[(&str, &str)]) {
        let path = self.settings.env_file().display().to_string();
        let mut warnings = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for entry in self.settings.entries() {
            if !seen.insert(entry.key.clone()) {
                warnings.push(format!(
                    "{path}:{}: {} is set more than once; the last one (line {}) wins",
                    entry.line,
                    entry.key,
                    self.settings
                        .file_entry(&entry.key)
                        .map(|e| e.line)
                        .unwrap_or(entry.line)
                ));
                continue;
            }
            if self.specs.iter().any(|spec| spec.name == entry.key) {
                continue;
            }
            if let Some((_, reason)) = ignored.iter().find(|(key, _)| *key == entry.key) {
                warnings.push(format!(
                    "{path}:{}: {} is ignored: {reason}",
                    entry.line, entry.key
                ));
                continue;
            }
            let closest = self
                .specs
                .iter()
                .map(|spec| (strsim::levenshtein(spec.name, &entry.key), spec.name))
                .min();
            let suggestion = match closest {
                Some((distance, name)) if distance <= 3 => format!(" (did you mean {name}?)"),
                _ => String::new(),
            };
            warnings.push(format!(
                "{path}:{}: unknown key {}{suggestion}; it is ignored",
                entry.line, entry.key
            ));
        }
        self.warnings.extend(warnings);
    }

    /// Ends reading: every issue as one [`Error::Config`], or the warnings.
    pub fn finish(self) -> Result<Vec<String>> {
        if self.issues.is_empty() {
            Ok(self.warnings)
        } else {
            Err(Error::Config(self.issues))
        }
    }
}
