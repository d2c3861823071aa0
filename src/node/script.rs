//! One shell script for one SSM command: named sections, each run in a subshell with its
//! standard error folded into its output and its exit code recorded, so that `status` and
//! `health` cost one SendCommand whatever the number of checks.

use std::collections::BTreeMap;

/// The line that opens a section's output: `@@nodectl:<name>`.
const OPEN: &str = "@@nodectl:";
/// The line that closes it: `@@nodectl-exit:<code>`.
const EXIT: &str = "@@nodectl-exit:";

/// A script made of named sections.
#[derive(Debug, Clone, Default)]
pub struct Script {
    lines: Vec<String>,
}

impl Script {
    /// An empty script (bash, `set -u` off: each section is on its own).
    pub fn new() -> Self {
        Script::default()
    }

    /// Adds a section `name` running `snippet` (any bash, several lines allowed) in a subshell.
    pub fn section(mut self, name: &str, snippet: &str) -> Self {
        self.lines.push(format!("echo '{OPEN}{name}'"));
        self.lines.push(format!("( {snippet}\n) 2>&1"));
        // A newline first, in case the output did not end with one; sections() removes it.
        self.lines.push(format!("printf '\\n{EXIT}%s\\n' \"$?\""));
        self
    }

    /// The lines for SendCommand's `commands` parameter.
    pub fn lines(self) -> Vec<String> {
        self.lines
    }
}

/// One section's output and exit code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    /// What it printed (standard output and error).
    pub output: String,
    /// Its exit code; `None` if the output was cut before its end (SSM's 24,000 characters).
    pub exit_code: Option<i32>,
}

/// The sections of a script's output, by name.
pub fn sections(output: &str) -> BTreeMap<String, Section> {
    let mut found = BTreeMap::new();
    let mut current: Option<(String, Section)> = None;
    for line in output.lines() {
        if let Some(name) = line.strip_prefix(OPEN) {
            if let Some((name, section)) = current.take() {
                found.insert(name, section);
            }
            current = Some((name.to_string(), Section::default()));
        } else if let Some(code) = line.strip_prefix(EXIT) {
            if let Some((name, mut section)) = current.take() {
                section.exit_code = code.trim().parse().ok();
                section.output.pop();
                found.insert(name, section);
            }
        } else if let Some((_, section)) = current.as_mut() {
            section.output.push_str(line);
            section.output.push('\n');
        }
    }
    if let Some((name, section)) = current {
        found.insert(name, section);
    }
    found
}

/// `snippet` with each `${Name}` replaced by the template parameter `Name` of `parameters`,
/// shell-quoted; an unknown name is left as it is (bash then expands it as a variable).
pub fn substitute(snippet: &str, parameters: &[(String, String)]) -> String {
    let mut out = snippet.to_string();
    for (name, value) in parameters {
        let placeholder = format!("${{{name}}}");
        if out.contains(&placeholder) {
            out = out.replace(&placeholder, &shell_words::quote(value));
        }
    }
    out
}

/// `text` cut to `max` characters with `…`.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_round_trip_through_bash() {
        let script = Script::new()
            .section("one", "echo hello; echo oops >&2")
            .section("two", "exit 3")
            .section("three", "printf 'a\\nb\\n'")
            .section("four", "printf 'no newline'");
        let output = std::process::Command::new("bash")
            .arg("-c")
            .arg(script.lines().join("\n"))
            .output()
            .expect("bash");
        let found = sections(&String::from_utf8_lossy(&output.stdout));
        assert_eq!(found["one"].output, "hello\noops\n");
        assert_eq!(found["one"].exit_code, Some(0));
        assert_eq!(found["two"].exit_code, Some(3));
        assert_eq!(found["three"].output, "a\nb\n");
        assert_eq!(found["four"].output, "no newline");
        assert_eq!(found["four"].exit_code, Some(0));
    }

    #[test]
    fn a_cut_section_has_no_exit_code() {
        let found = sections("@@nodectl:logs\nline 1\nline 2");
        assert_eq!(found["logs"].exit_code, None);
        assert_eq!(found["logs"].output, "line 1\nline 2\n");
    }

    #[test]
    fn parameters_are_quoted() {
        let params = vec![("Url".to_string(), "http://x/a b'c".to_string())];
        assert_eq!(
            substitute("curl ${Url} ${Other}", &params),
            "curl 'http://x/a b'\\''c' ${Other}"
        );
    }
}
