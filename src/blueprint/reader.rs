//! Reading a blueprint's keys into typed values, collecting every problem instead of stopping
//! at the first, so that one run reports all mistakes in a file.

use std::ops::RangeInclusive;

use super::keys::{KeySpec, IGNORED};
use super::validate;
use crate::error::{ConfigIssue, Error, Result, Source};
use crate::plan::AccountSetting;
use crate::settings::{Setting, Settings};

/// The upstream samples' placeholder for `AWS_ACCOUNT_ID` (and Allora's mnemonic).
pub const PLACEHOLDER: &str = "xxxxxxxxxxx";

/// Reads typed values for a blueprint, collecting every problem instead of stopping at the
/// first, so that one run reports all mistakes in a file.
pub struct Reader<'a> {
    settings: &'a Settings,
    specs: Vec<&'static KeySpec>,
    issues: Vec<ConfigIssue>,
    warnings: Vec<String>,
}

impl<'a> Reader<'a> {
    /// A reader over `settings` for the keys in `specs`.
    /// Every set value (flag, environment or file) gets [`super::shape::check`] first: its
    /// size, control characters and URL syntax.
    pub fn new(settings: &'a Settings, specs: Vec<&'static KeySpec>) -> Self {
        let mut issues = Vec::new();
        for spec in &specs {
            let Some(setting) = settings.get(spec.name) else {
                continue;
            };
            if let Err((message, hint)) = super::shape::check(spec, &setting.value) {
                issues.push(ConfigIssue::key(spec.name, &setting.source, message).hint(hint));
            }
        }
        Reader {
            settings,
            specs,
            issues,
            warnings: Vec::new(),
        }
    }

    /// Whether `key` failed [`super::shape::check`] (its other checks are then skipped, so
    /// that one mistake is reported once).
    fn malformed(&self, key: &str) -> bool {
        self.issues
            .iter()
            .any(|issue| issue.key.as_deref() == Some(key))
    }

    /// The settings being read.
    pub fn settings(&self) -> &Settings {
        self.settings
    }

    fn spec(&self, key: &str) -> &'static KeySpec {
        self.specs
            .iter()
            .copied()
            .find(|spec| spec.name == key)
            .unwrap_or_else(|| panic!("key {key} has no KeySpec"))
    }

    /// The effective setting of `key` with its default applied; `None` when unset and
    /// without default. An empty value counts as unset for keys that have a default, and so
    /// does a value that failed the shape check (already reported: the later checks see the
    /// default, so one mistake gives one message).
    pub fn setting(&self, key: &str) -> Option<Setting> {
        let spec = self.spec(key);
        match self.settings.get(key).filter(|_| !self.malformed(key)) {
            Some(setting) if !(setting.value.is_empty() && spec.default.is_some()) => Some(setting),
            _ => spec.default.map(|default| Setting {
                value: default.to_string(),
                source: Source::Default,
            }),
        }
    }

    /// `AWS_REGION`, checked; when it is set nowhere (nor `AWS_DEFAULT_REGION`, nor the AWS
    /// profile's `region`), an issue: nodectl never picks a region for the user.
    pub fn region(&mut self) -> Option<String> {
        if self
            .setting("AWS_REGION")
            .is_none_or(|setting| setting.value.is_empty())
        {
            self.issues.push(
                ConfigIssue::general(format!(
                    "no AWS region: AWS_REGION is not set in {}, the environment or \
                     AWS_DEFAULT_REGION, and the AWS profile has no region",
                    self.settings.env_file().display()
                ))
                .hint(
                    "set AWS_REGION in the .env file (e.g. AWS_REGION=\"us-east-1\"), pass \
                     --region, or give your profile one (`aws configure set region us-east-1`)",
                ),
            );
            return None;
        }
        self.checked("AWS_REGION", validate::region)
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

    /// Records that a required key without default is not set (`message` names the key).
    pub fn missing(&mut self, message: &str, hint: &str) {
        self.issues
            .push(ConfigIssue::general(message.to_string()).hint(hint.to_string()));
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
    /// key. [`IGNORED`] keys are known to nodectl but not read from the file (with the reason).
    pub fn warn_unknown_keys(&mut self) {
        let ignored = IGNORED;
        let mut warnings = Vec::new();
        for (path, entries) in self.settings.files() {
            let path = path.display().to_string();
            let mut seen = std::collections::HashSet::new();
            for entry in entries {
                if !seen.insert(entry.key.clone()) {
                    let last = entries
                        .iter()
                        .rev()
                        .find(|e| e.key == entry.key)
                        .map(|e| e.line)
                        .unwrap_or(entry.line);
                    warnings.push(format!(
                        "{path}:{}: {} is set more than once; the last one (line {last}) wins",
                        entry.line, entry.key
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
                    Some((distance, name)) if distance <= 3 => {
                        format!(" (did you mean {name}?)")
                    }
                    _ => String::new(),
                };
                warnings.push(format!(
                    "{path}:{}: unknown key {}{suggestion}; it is ignored",
                    entry.line, entry.key
                ));
            }
        }
        self.warnings.extend(warnings);
    }

    /// Reads `AWS_ACCOUNT_ID` (validated only by commands that talk to AWS).
    pub fn account(&self) -> AccountSetting {
        match self.setting("AWS_ACCOUNT_ID") {
            None => AccountSetting::Missing,
            Some(s) if s.value == PLACEHOLDER => AccountSetting::Placeholder(s.source),
            Some(s) => match validate::account_id(&s.value) {
                Ok(id) => AccountSetting::Id(id, s.source),
                Err((message, hint)) => AccountSetting::Invalid {
                    source: s.source,
                    message,
                    hint,
                },
            },
        }
    }

    /// Reads `NODECTL_NODE_NAME`: `None` when unset or empty.
    pub fn node_name(&mut self) -> Option<String> {
        match self.setting("NODECTL_NODE_NAME") {
            Some(s) if !s.value.is_empty() => {
                self.checked("NODECTL_NODE_NAME", validate::name_part)
            }
            _ => None,
        }
    }

    /// Ends reading: every issue as one [`Error::Config`], or the warnings, plus a warning when
    /// the template files come from `NODECTL_TEMPLATES_DIR`.
    pub fn finish(self) -> Result<Vec<String>> {
        if !self.issues.is_empty() {
            let error = Error::Config(self.issues);
            if self.warnings.is_empty() {
                return Err(error);
            }
            return Err(Error::WithWarnings {
                warnings: self.warnings,
                error: Box::new(error),
            });
        }
        let mut warnings = self.warnings;
        if let Some(dir) = std::env::var_os(crate::template::TEMPLATES_DIR_ENV) {
            warnings.push(format!(
                "using the template files in {} ({}), not the built-in ones",
                std::path::Path::new(&dir).display(),
                crate::template::TEMPLATES_DIR_ENV
            ));
        }
        Ok(warnings)
    }
}
