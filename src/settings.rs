//! Reading the `.env` file and resolving every key with its source.
//!
//! Precedence, highest first: a command-line flag (`--region` for `AWS_REGION`), the process
//! environment, the `.env` file, then the key's fallbacks when it is unset or empty there
//! (for `AWS_REGION`: `AWS_DEFAULT_REGION`, then the AWS profile's region, as the AWS CLI v2
//! resolves a region), then the blueprint default. The file is parsed with dotenvy's
//! iterator into a list: the process environment is never modified.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{ConfigIssue, Error, Result, Source};

/// One `KEY=value` entry of the `.env` file.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// The key.
    pub key: String,
    /// The value, unquoted as dotenvy parses it (multi-line values allowed in quotes).
    pub value: String,
    /// The 1-based line of `KEY=`.
    pub line: usize,
}

/// A resolved value with its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The raw value.
    pub value: String,
    /// Where it came from.
    pub source: Source,
}

/// The configuration inputs of one command: the `.env` file, a snapshot of the process
/// environment and the flags that stand for keys.
#[derive(Debug, Clone)]
pub struct Settings {
    env_file: PathBuf,
    entries: Vec<FileEntry>,
    process_env: HashMap<String, String>,
    flags: HashMap<String, (&'static str, String)>,
    fallbacks: Vec<(String, Setting)>,
    /// A fleet node's own file (`nodes/<name>.env`), layered over `entries`.
    overlay: Option<(PathBuf, Vec<FileEntry>)>,
}

impl Settings {
    /// Reads `env_file`. `process_env` is a snapshot of the environment (tests pass their own);
    /// `flags` maps keys to `(flag name, value)` for flags that override keys.
    ///
    /// Errors: the file cannot be read (with a hint to copy a sample when it is missing) or a
    /// line cannot be parsed (with its line number).
    pub fn load(
        env_file: &Path,
        process_env: HashMap<String, String>,
        flags: HashMap<String, (&'static str, String)>,
    ) -> Result<Self> {
        let text = match std::fs::read_to_string(env_file) {
            Ok(text) => text,
            Err(source) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::usage(
                    format!("the env file `{}` does not exist", env_file.display()),
                    format!(
                        "create it from a blueprint's sample with {}, or pass --env-file PATH",
                        crate::blueprint::init_commands()
                    ),
                ))
            }
            Err(source) => {
                return Err(Error::Io {
                    action: "read",
                    path: env_file.to_path_buf(),
                    source,
                })
            }
        };
        // A UTF-8 byte-order mark (as some Windows editors write) is not part of the first key.
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let entries = parse(env_file, text)?;
        Ok(Settings {
            env_file: env_file.to_path_buf(),
            entries,
            process_env,
            flags,
            fallbacks: Vec::new(),
            overlay: None,
        })
    }

    /// The settings of the fleet node `name` (`NODECTL_NODES`): these, with `overlay` (the
    /// node's own `.env` file, when it exists) layered over the `.env` file, and
    /// `NODECTL_NODE_NAME` set to `name` (source: `NODECTL_NODES`). The process environment and
    /// flags still win over both files. Errors: the overlay cannot be read or parsed.
    pub fn for_node(&self, name: &str, overlay: &Path) -> Result<Settings> {
        let mut node = self.clone();
        node.overlay = match std::fs::read_to_string(overlay) {
            Ok(text) => Some((overlay.to_path_buf(), parse(overlay, &text)?)),
            Err(source) if source.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(Error::Io {
                    action: "read",
                    path: overlay.to_path_buf(),
                    source,
                })
            }
        };
        node.flags.insert(
            "NODECTL_NODE_NAME".into(),
            ("NODECTL_NODES", name.to_string()),
        );
        Ok(node)
    }

    /// These settings with `key` given by `flag` as `value` (`None`: not given by a flag).
    pub fn with_flag(mut self, key: &str, flag: &'static str, value: Option<String>) -> Self {
        match value {
            Some(value) => {
                self.flags.insert(key.to_string(), (flag, value));
            }
            None => {
                self.flags.remove(key);
            }
        }
        self
    }

    /// The files the settings read, each with its entries: the `.env` file, then a fleet
    /// node's own file.
    pub fn files(&self) -> Vec<(&Path, &[FileEntry])> {
        let mut files = vec![(self.env_file.as_path(), self.entries.as_slice())];
        if let Some((path, entries)) = &self.overlay {
            files.push((path.as_path(), entries.as_slice()));
        }
        files
    }

    /// `key` as a fleet node's own file sets it, with its file and line.
    pub fn file_setting(&self, key: &str) -> Option<Setting> {
        let (path, entries) = self.overlay.as_ref()?;
        entries
            .iter()
            .rev()
            .find(|entry| entry.key == key)
            .map(|entry| Setting {
                value: entry.value.clone(),
                source: Source::EnvFile {
                    path: path.clone(),
                    line: entry.line,
                },
            })
    }

    /// Whether `key` comes from a fleet node's own file.
    pub fn from_overlay(&self, key: &str) -> bool {
        self.overlay
            .as_ref()
            .is_some_and(|(_, entries)| entries.iter().any(|entry| entry.key == key))
    }

    /// Adds a fallback for `key`, used when the key is unset or empty in the flags, the
    /// process environment and the file; fallbacks are tried in the order they were added.
    pub fn with_fallback(mut self, key: &str, setting: Setting) -> Self {
        self.fallbacks.push((key.to_string(), setting));
        self
    }

    /// Path of the `.env` file.
    pub fn env_file(&self) -> &Path {
        &self.env_file
    }

    /// The file's entries in file order (duplicates included).
    pub fn entries(&self) -> &[FileEntry] {
        &self.entries
    }

    /// The effective value of `key` (flag, then process environment, then file; the last
    /// occurrence in the file wins), or `None` when it is set nowhere.
    pub fn get(&self, key: &str) -> Option<Setting> {
        let primary = self.primary(key);
        if primary.as_ref().is_some_and(|s| !s.value.is_empty()) {
            return primary;
        }
        self.fallbacks
            .iter()
            .find(|(k, fallback)| k == key && !fallback.value.is_empty())
            .map(|(_, fallback)| fallback.clone())
            .or(primary)
    }

    /// The value of `key` from the flags, the process environment or the file.
    fn primary(&self, key: &str) -> Option<Setting> {
        if let Some((flag, value)) = self.flags.get(key) {
            return Some(Setting {
                value: value.clone(),
                source: Source::Flag(flag),
            });
        }
        if let Some(value) = self.process_env.get(key) {
            return Some(Setting {
                value: value.clone(),
                source: Source::ProcessEnv,
            });
        }
        if let Some((path, entries)) = &self.overlay {
            if let Some(entry) = entries.iter().rev().find(|entry| entry.key == key) {
                return Some(Setting {
                    value: entry.value.clone(),
                    source: Source::EnvFile {
                        path: path.clone(),
                        line: entry.line,
                    },
                });
            }
        }
        self.file_entry(key).map(|entry| Setting {
            value: entry.value.clone(),
            source: Source::EnvFile {
                path: self.env_file.clone(),
                line: entry.line,
            },
        })
    }

    /// The last file entry for `key`, if any.
    pub fn file_entry(&self, key: &str) -> Option<&FileEntry> {
        self.entries.iter().rev().find(|entry| entry.key == key)
    }

    /// Whether `key` is set by the process environment.
    pub fn in_process_env(&self, key: &str) -> bool {
        self.process_env.contains_key(key)
    }
}

/// Parses `.env` text with dotenvy and finds the line of every key. The lines come from
/// [`assignment_lines`], which follows quoted values across lines, so that a continuation line
/// of a multi-line value (`REGION="US"` inside `MODEL_ENV_VARS='...'`) is never taken for a
/// key of its own.
fn parse(path: &Path, text: &str) -> Result<Vec<FileEntry>> {
    let lines: Vec<&str> = text.lines().collect();
    let assignments = assignment_lines(&lines);
    let mut entries = Vec::new();
    let mut cursor = 0usize;
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        let (key, value) =
            item.map_err(|err| parse_error(path, &lines, assignments.get(cursor).copied(), err))?;
        let line = assignments[cursor.min(assignments.len())..]
            .iter()
            .position(|(k, _)| *k == key)
            .map(|offset| {
                let (_, line) = assignments[cursor + offset];
                cursor += offset + 1;
                line
            })
            .unwrap_or(0);
        entries.push(FileEntry { key, value, line });
    }
    Ok(entries)
}

/// `(key, 1-based line)` of every `KEY=` assignment, in order, skipping comments, blank lines
/// and the continuation lines of quoted values that span several lines.
fn assignment_lines<'a>(lines: &[&'a str]) -> Vec<(&'a str, usize)> {
    let mut found = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index].trim_start();
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        if let Some((key, rest)) = line.split_once('=') {
            let key = key.trim_end();
            let is_key = !key.is_empty()
                && !key.starts_with('#')
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            if is_key {
                found.push((key, index + 1));
                let rest = rest.trim_start();
                if let Some(quote) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
                    // Skip to the line that closes the quote (a backslash escapes `"`).
                    let mut open = !closes(&rest[1..], quote);
                    while open && index + 1 < lines.len() {
                        index += 1;
                        open = !closes(lines[index], quote);
                    }
                }
            }
        }
        index += 1;
    }
    found
}

/// Whether `text` contains an unescaped closing `quote`.
fn closes(text: &str, quote: char) -> bool {
    let mut escaped = false;
    for c in text.chars() {
        match c {
            '\\' if quote == '"' && !escaped => escaped = true,
            c if c == quote && !escaped => return true,
            _ => escaped = false,
        }
    }
    false
}

/// The issue for a line dotenvy cannot parse. `next` is the assignment after the last one
/// parsed (dotenvy reports the value, not the line): the key and line that failed.
fn parse_error(
    path: &Path,
    lines: &[&str],
    next: Option<(&str, usize)>,
    err: dotenvy::Error,
) -> Error {
    let general_hint = "each line is KEY=value, a comment starting with #, or blank; quote \
                        values with spaces or several lines";
    // The failure is in the next assignment when its line holds what dotenvy could not
    // parse; otherwise it is a line that is no assignment at all.
    let next = next.filter(|(_, line)| match &err {
        dotenvy::Error::LineParse(content, _) => {
            lines[line - 1].contains(content.lines().next().unwrap_or_default())
        }
        _ => false,
    });
    let issue = match (&err, next) {
        (dotenvy::Error::LineParse(content, index), Some((key, line))) => {
            if let Some(issue) = unclosed_quote(path, lines, line) {
                issue
            } else {
                let escape = content
                    .chars()
                    .nth(index.saturating_sub(1))
                    .filter(|c| *c == '\\')
                    .and(content.chars().nth(*index));
                match escape {
                    Some(c) => ConfigIssue::general(format!(
                        "{}:{line}: {key}: `\\{}` is not an escape sequence .env files know",
                        path.display(),
                        c.escape_default()
                    ))
                    .hint(
                        "inside double quotes, write \\\\ for a backslash; \\n, \\\", \\', \\$ \
                         are the only other escapes (or use single quotes)",
                    ),
                    None => ConfigIssue::general(format!(
                        "{}:{line}: {key}: cannot parse this line: expected KEY=value",
                        path.display()
                    ))
                    .hint(general_hint),
                }
            }
        }
        (dotenvy::Error::LineParse(content, _), None) => {
            let first = content.lines().next().unwrap_or_default();
            match lines.iter().position(|candidate| *candidate == first) {
                Some(index) => ConfigIssue::general(format!(
                    "{}:{}: cannot parse this line: expected KEY=value",
                    path.display(),
                    index + 1
                )),
                None => ConfigIssue::general(format!(
                    "{}: cannot parse the file: expected KEY=value",
                    path.display()
                )),
            }
            .hint(general_hint)
        }
        (other, _) => ConfigIssue::general(format!(
            "{}: cannot parse the file: {other}",
            path.display()
        ))
        .hint(general_hint),
    };
    Error::Config(vec![issue])
}

/// The issue for a quote opened on `line` (1-based) after `KEY=` and closed on no later line,
/// naming the key and the line (dotenvy reports the whole rest of the file as one bad line).
fn unclosed_quote(path: &Path, lines: &[&str], line: usize) -> Option<ConfigIssue> {
    let text = lines[line - 1].trim_start();
    let text = text.strip_prefix("export ").unwrap_or(text);
    let (key, rest) = text.split_once('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let kind = if quote == '"' { "double" } else { "single" };
    if closes(&rest[1..], quote) {
        return None;
    }
    // A value may span lines; but when the next quote is followed by more text on its line,
    // that quote opened the next value: this one was never closed.
    if let Some(offset) = lines[line..].iter().position(|l| closes(l, quote)) {
        let closing = lines[line + offset];
        let after = closing[closing.find(quote).map_or(0, |i| i + 1)..].trim();
        if after.is_empty() || after.starts_with('#') {
            return None;
        }
        return Some(
            ConfigIssue::general(format!(
                "{}:{line}: {}: the {kind} quote that opens the value on this line is never \
                 closed (the next one, on line {}, is followed by more text)",
                path.display(),
                key.trim_end(),
                line + offset + 1
            ))
            .hint(format!("end the value with {quote} on line {line}")),
        );
    }
    Some(
        ConfigIssue::general(format!(
            "{}:{line}: {}: the {kind} quote that opens the value on this line is never closed",
            path.display(),
            key.trim_end()
        ))
        .hint(format!(
            "end the value with {quote} (a value over several lines ends with {quote} on its \
             last line)"
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str, env: &[(&str, &str)]) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.env");
        std::fs::write(&path, text).unwrap();
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load(&path, env, HashMap::new()).unwrap()
    }

    #[test]
    fn lines_are_found_past_multi_line_values() {
        let s = settings(
            "# comment\nA=\"1\"\nMODEL_ENV_VARS='\nREGION=\"US\"\nB=2\n'\n\nREGION=\"us-east-1\"  # trailing\nB=\"3\"\n",
            &[],
        );
        let keys: Vec<_> = s
            .entries()
            .iter()
            .map(|e| (e.key.as_str(), e.line))
            .collect();
        assert_eq!(
            keys,
            vec![("A", 2), ("MODEL_ENV_VARS", 3), ("REGION", 8), ("B", 9)]
        );
        assert_eq!(s.get("REGION").unwrap().value, "us-east-1");
        assert_eq!(
            s.get("MODEL_ENV_VARS").unwrap().value,
            "\nREGION=\"US\"\nB=2\n"
        );
    }

    #[test]
    fn process_environment_beats_the_file_and_flags_beat_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.env");
        std::fs::write(&path, "AWS_REGION=us-east-1\n").unwrap();
        let env: HashMap<_, _> = [("AWS_REGION".to_string(), "eu-west-1".to_string())].into();
        let s = Settings::load(&path, env.clone(), HashMap::new()).unwrap();
        assert_eq!(s.get("AWS_REGION").unwrap().value, "eu-west-1");
        assert_eq!(s.get("AWS_REGION").unwrap().source, Source::ProcessEnv);
        let flags: HashMap<_, _> = [(
            "AWS_REGION".to_string(),
            ("--region", "ap-south-1".to_string()),
        )]
        .into();
        let s = Settings::load(&path, env, flags).unwrap();
        assert_eq!(
            s.get("AWS_REGION").unwrap().source,
            Source::Flag("--region")
        );
        assert_eq!(s.get("AWS_REGION").unwrap().value, "ap-south-1");
    }

    #[test]
    fn a_missing_file_says_how_to_create_one() {
        let err = Settings::load(
            Path::new("/nonexistent/.env"),
            HashMap::new(),
            HashMap::new(),
        )
        .unwrap_err();
        let (message, hint) = &err.reports()[0];
        assert_eq!(message, "the env file `/nonexistent/.env` does not exist");
        assert!(hint.as_deref().unwrap().contains(&format!(
            "`nodectl init {}`",
            crate::blueprint::BLUEPRINTS[0].name()
        )));
    }

    #[test]
    fn an_unparsable_line_is_reported_with_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.env");
        std::fs::write(&path, "A=1\nthis is not a setting\n").unwrap();
        let err = Settings::load(&path, HashMap::new(), HashMap::new()).unwrap_err();
        assert_eq!(
            err.reports()[0].0,
            format!(
                "{}:2: cannot parse this line: expected KEY=value",
                path.display()
            )
        );
    }
}
