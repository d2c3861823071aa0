//! CloudFormation templates: the files under `templates/` (embedded in the binary, or read from
//! `NODECTL_TEMPLATES_DIR` for development), rendered into a parsed [`Template`]
//! ([`render`]), evaluated offline by one evaluator ([`eval`]), and checked against the limits
//! CloudFormation and EC2 set on what nodectl sends.

pub mod eval;
pub mod model;
pub mod render;

use std::borrow::Cow;
use std::path::PathBuf;

use serde_json::Value;

use crate::error::{Error, Result};
pub use model::Template;

/// The largest template body CloudFormation accepts inline: 51,200 bytes (CloudFormation API
/// Reference, CreateStack and CreateChangeSet, `TemplateBody`: "Maximum length of 51,200").
pub const TEMPLATE_BODY_LIMIT: usize = 51_200;

/// EC2's limit on user data: 16 KB in raw form, before base64 encoding (Amazon EC2 User Guide,
/// "Run commands when you launch an EC2 instance with user data input").
pub const USER_DATA_LIMIT: usize = 16 * 1024;

/// The longest template parameter value CloudFormation accepts: 4,096 bytes (CloudFormation
/// User Guide, "CloudFormation quotas": parameter value).
pub const PARAMETER_LIMIT: usize = 4096;

/// The environment variable that makes nodectl read its template files from a directory
/// (laid out as `templates/`: `<dir>/<blueprint>/<file>`) instead of the copies embedded in
/// the binary: for template development without rebuilding.
pub const TEMPLATES_DIR_ENV: &str = "NODECTL_TEMPLATES_DIR";

/// A template file: embedded in the binary, or read from `NODECTL_TEMPLATES_DIR`.
#[derive(Debug, Clone)]
pub struct TemplateSource {
    /// Where it comes from, for messages (e.g. `templates/shared/common.json`).
    pub path: String,
    /// The file's text.
    pub text: Cow<'static, str>,
}

/// A blueprint's files under `templates/<blueprint>/`, embedded in the binary.
#[derive(Debug, Clone, Copy)]
pub struct TemplateFiles {
    /// The folder name under `templates/`: the blueprint's name.
    pub blueprint: &'static str,
    /// `(file name, text)` of every file rendering may read.
    pub files: &'static [(&'static str, &'static str)],
}

impl TemplateFiles {
    /// The embedded text of `file`, if the blueprint has it.
    pub fn embedded(&self, file: &str) -> Option<&'static str> {
        self.files
            .iter()
            .find(|(name, _)| *name == file)
            .map(|(_, text)| *text)
    }
}

/// The file `<folder>/<file>`: from `NODECTL_TEMPLATES_DIR` when that is set, else the
/// embedded copy. Errors: the override file cannot be read, or there is no such file.
pub fn load(folder: &str, file: &str, embedded: Option<&'static str>) -> Result<TemplateSource> {
    match std::env::var_os(TEMPLATES_DIR_ENV) {
        Some(dir) => {
            let path = PathBuf::from(dir).join(folder).join(file);
            let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
                action: "read the template",
                path: path.clone(),
                source,
            })?;
            Ok(TemplateSource {
                path: path.display().to_string(),
                text: Cow::Owned(text),
            })
        }
        None => match embedded {
            Some(text) => Ok(TemplateSource {
                path: format!("templates/{folder}/{file}"),
                text: Cow::Borrowed(text),
            }),
            None => Err(Error::TemplateDefect {
                path: format!("templates/{folder}"),
                problem: format!("has no file {file}"),
            }),
        },
    }
}

/// The line prefix that pulls a file of `templates/shared/` into a user data script:
/// `# nodectl:include <file>` on a line of its own.
pub const INCLUDE_PREFIX: &str = "# nodectl:include ";

/// The line that [`expand_includes_from`] replaces with a file gzip-compressed and base64-encoded
/// on one line ([`gzip_base64`]), for a program the user data writes with `base64 -d | gunzip`:
/// EC2 takes at most 16 KB of user data.
pub const INCLUDE_GZIP_PREFIX: &str = "# nodectl:include-gzip ";

/// The files of `templates/shared/`: shell parts for user data scripts and partial templates
/// (fragments) for template files.
const SHARED: &[(&str, &str)] = &[
    (
        "prelude.sh",
        include_str!("../../templates/shared/prelude.sh"),
    ),
    (
        "data-volume.sh",
        include_str!("../../templates/shared/data-volume.sh"),
    ),
    (
        "docker.sh",
        include_str!("../../templates/shared/docker.sh"),
    ),
    (
        "cloudwatch-agent.sh",
        include_str!("../../templates/shared/cloudwatch-agent.sh"),
    ),
    (
        "common.json",
        include_str!("../../templates/shared/common.json"),
    ),
    (
        "data-volume.json",
        include_str!("../../templates/shared/data-volume.json"),
    ),
    (
        "node-identity.json",
        include_str!("../../templates/shared/node-identity.json"),
    ),
    (
        "node-alarms.json",
        include_str!("../../templates/shared/node-alarms.json"),
    ),
];

/// The embedded text of `templates/shared/<name>`.
pub fn shared(name: &str) -> Option<&'static str> {
    SHARED
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(_, text)| *text)
}

/// Replaces every `# nodectl:include <file>` line of `source` with the text of
/// `templates/shared/<file>` (from `NODECTL_TEMPLATES_DIR/shared/` when that is set). Included
/// files are not expanded again. Errors: an unknown file, or an override that cannot be read.
pub fn expand_includes(source: &TemplateSource) -> Result<TemplateSource> {
    expand_includes_from(source, None)
}

/// [`expand_includes`], where `<file>` is first looked up among `files`, the blueprint's own
/// template files (e.g. `templates/allora/sdk-worker.py`, a program the user data writes), then
/// in `templates/shared/`.
pub fn expand_includes_from(
    source: &TemplateSource,
    files: Option<&TemplateFiles>,
) -> Result<TemplateSource> {
    if !source.text.contains(INCLUDE_PREFIX.trim_end()) {
        return Ok(source.clone());
    }
    let mut out = String::with_capacity(source.text.len() * 2);
    for line in source.text.split_inclusive('\n') {
        let line_text = line.trim_end();
        let (file, gzip) = match (
            line_text.strip_prefix(INCLUDE_PREFIX),
            line_text.strip_prefix(INCLUDE_GZIP_PREFIX),
        ) {
            (Some(file), _) => (file, false),
            (_, Some(file)) => (file, true),
            _ => {
                out.push_str(line);
                continue;
            }
        };
        let own = files.and_then(|files| Some((files.blueprint, files.embedded(file)?)));
        let (folder, embedded) = match own {
            Some(found) => found,
            None => (
                "shared",
                shared(file).ok_or_else(|| Error::TemplateDefect {
                    path: source.path.clone(),
                    problem: format!("includes `{file}`, which is not in templates/shared"),
                })?,
            ),
        };
        let included = load(folder, file, Some(embedded))?;
        let included = if file.ends_with(".py") {
            Cow::Owned(strip_python_docs(&included.text))
        } else {
            included.text
        };
        if gzip {
            out.push_str(&gzip_base64(included.as_bytes()));
        } else {
            out.push_str(&included);
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(TemplateSource {
        path: source.path.clone(),
        text: Cow::Owned(out),
    })
}

/// `bytes` compressed with gzip (level 9, no file name, modification time 0: the same bytes for
/// the same input), then base64, on one line: what `base64 -d | gunzip` turns back into
/// `bytes` on the instance.
pub fn gzip_base64(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("writes to memory");
    let compressed = encoder.finish().expect("writes to memory");
    aws_smithy_types::base64::encode(compressed)
}

/// `source` (a Python program the user data writes) without its documentation: comment lines
/// and docstrings (a line that starts with three double quotes, to the line that ends with
/// them), so that the 16 KB EC2 allows for user data carry code. The file in `templates/`
/// keeps them; `tests/userdata.rs` compiles the stripped program.
pub fn strip_python_docs(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut in_docstring = false;
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim();
        if in_docstring {
            in_docstring = !trimmed.ends_with("\"\"\"");
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("\"\"\"") {
            in_docstring = !rest.ends_with("\"\"\"");
            continue;
        }
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        out.push_str(line);
    }
    out
}

/// `script` (a user data shell script) without its comment lines, so that the 16 KB EC2 allows
/// carry code, not documentation: lines whose first non-blank character is `#`, except the
/// shebang, `# shellcheck` directives and `# ---` part markers, outside heredocs (whose lines
/// are data). Trailing comments are kept (a `#` inside a line may be data).
pub fn strip_comments(script: &str) -> String {
    let mut out = String::with_capacity(script.len());
    let mut heredoc: Option<String> = None;
    for (index, line) in script.split_inclusive('\n').enumerate() {
        let trimmed = line.trim();
        if let Some(end) = &heredoc {
            if trimmed == end {
                heredoc = None;
            }
            out.push_str(line);
            continue;
        }
        let shebang = index == 0 && trimmed.starts_with("#!");
        let comment = trimmed.starts_with('#')
            && !shebang
            && !trimmed.starts_with("# shellcheck")
            && !trimmed.starts_with("# ---");
        if comment {
            continue;
        }
        if let Some(at) = line.find("<<") {
            let marker: String = line[at + 2..]
                .trim_start_matches('-')
                .trim_start()
                .trim_matches(|c| c == '\'' || c == '"')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !marker.is_empty() && !line[at..].starts_with("<<<") {
                heredoc = Some(marker);
            }
        }
        out.push_str(line);
    }
    out
}

/// Checks that `body`, the template of stack `stack`, fits CloudFormation's inline limit
/// ([`TEMPLATE_BODY_LIMIT`]); nodectl does not upload templates to S3.
pub fn check_size(stack: &str, body: &str) -> Result<()> {
    if body.len() <= TEMPLATE_BODY_LIMIT {
        return Ok(());
    }
    Err(Error::TemplateTooLarge {
        stack: stack.to_string(),
        bytes: body.len(),
    })
}

/// The constraints of `template`'s parameters (`AllowedPattern`, `AllowedValues`, `MinLength`,
/// `MaxLength`; CloudFormation User Guide, "Parameters") that `values` break: one line per
/// broken constraint, naming the parameter, never its value. CloudFormation checks these when
/// the stack is deployed; nodectl checks them before, as the backstop of its own validation.
pub fn parameter_problems(template: &Template, values: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, value) in values {
        let Some(parameter) = template.parameter(name) else {
            continue;
        };
        let length = value.chars().count() as u64;
        let raw = parameter.raw;
        if raw
            .get("MaxLength")
            .and_then(Value::as_u64)
            .is_some_and(|max| length > max)
        {
            problems.push(format!("{name} is longer than its MaxLength"));
        }
        if raw
            .get("MinLength")
            .and_then(Value::as_u64)
            .is_some_and(|min| length < min)
        {
            problems.push(format!("{name} is shorter than its MinLength"));
        }
        if let Some(pattern) = parameter.allowed_pattern() {
            let anchored = format!("^(?:{pattern})$");
            match regex::Regex::new(&anchored) {
                Ok(regex) if !regex.is_match(value) => problems.push(format!(
                    "{name} does not match its AllowedPattern {pattern}"
                )),
                Ok(_) => {}
                Err(_) => {
                    problems.push(format!("{name} has an AllowedPattern nodectl cannot read"))
                }
            }
        }
        if let Some(Value::Array(allowed)) = raw.get("AllowedValues") {
            if !allowed
                .iter()
                .any(|a| eval::scalar(a).as_deref() == Some(value.as_str()))
            {
                problems.push(format!("{name} is not one of its AllowedValues"));
            }
        }
    }
    problems
}

/// A representative physical id of a resource of `kind`, as long as the real ones: what a
/// `Ref` to a resource stands for when a user data's size is measured before deployment.
fn placeholder_id(kind: &str) -> String {
    match kind {
        "AWS::EC2::Volume" => "vol-0123456789abcdef0".into(),
        "AWS::EC2::SecurityGroup" => "sg-0123456789abcdef0".into(),
        "AWS::EC2::Instance" => "i-0123456789abcdef0".into(),
        _ => "x".repeat(64),
    }
}

/// The size in bytes of each instance's user data as EC2 receives it (`Fn::Base64` of an
/// `Fn::Sub` evaluated with the stack's parameters, the stack name, the longest region name
/// and representative resource ids), by logical id. Instances whose user data cannot be
/// evaluated offline are left out.
pub fn user_data_sizes(template: &Template, stack: &str) -> Vec<(String, usize)> {
    let evaluator = eval::Evaluator::new(
        template,
        eval::Pseudo {
            region: "ap-southeast-4".into(),
            account: Some("123456789012".into()),
            stack: stack.to_string(),
        },
    );
    let fallback = |name: &str| template.resource(name).map(|r| placeholder_id(r.kind()));
    template
        .resources()
        .filter(|resource| resource.kind() == "AWS::EC2::Instance")
        .filter_map(|resource| {
            let user_data = resource.property("UserData")?;
            let text = match user_data.get("Fn::Base64")? {
                Value::String(text) => Some(text.clone()),
                Value::Object(map) => evaluator.sub(map.get("Fn::Sub")?, &fallback),
                _ => None,
            }?;
            Some((resource.id.to_string(), text.len()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_are_expanded_once_and_unknown_ones_are_errors() {
        let script = TemplateSource {
            path: "x.sh".into(),
            text: "a\n# nodectl:include prelude.sh\nb\n".into(),
        };
        let expanded = expand_includes(&script).unwrap();
        let prelude = SHARED[0].1;
        assert_eq!(expanded.text, format!("a\n{prelude}b\n"));
        let bad = TemplateSource {
            path: "x.sh".into(),
            text: "# nodectl:include nope.sh\n".into(),
        };
        assert_eq!(
            expand_includes(&bad).unwrap_err().reports()[0].0,
            "template `x.sh` includes `nope.sh`, which is not in templates/shared"
        );
    }

    #[test]
    fn comments_go_but_directives_markers_and_heredocs_stay() {
        let script = "#!/bin/bash\n# shellcheck disable=SC2016\n# a comment\n  # indented\necho a # kept\n# --- begin part\ncat >f <<'EOF'\n# data\nEOF\n# gone\n";
        assert_eq!(
            strip_comments(script),
            "#!/bin/bash\n# shellcheck disable=SC2016\necho a # kept\n# --- begin part\ncat >f <<'EOF'\n# data\nEOF\n"
        );
    }

    #[test]
    fn parameter_constraints_are_checked_without_showing_values() {
        let template = Template::from_value(serde_json::json!({
            "Parameters": {
                "Repo": {"Type": "String", "AllowedPattern": "^https://[a-z./]+$", "MaxLength": 30},
                "Kind": {"Type": "String", "AllowedValues": ["gp3", "io2"]},
                "Name": {"Type": "String", "MinLength": 2}
            },
            "Resources": {}
        }));
        let values = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(parameter_problems(
            &template,
            &values(&[("Repo", "https://a.b/c"), ("Kind", "gp3"), ("Name", "ab")])
        )
        .is_empty());
        assert_eq!(
            parameter_problems(
                &template,
                &values(&[("Repo", "http://x'y"), ("Kind", "gp2"), ("Name", "a")])
            ),
            [
                "Repo does not match its AllowedPattern ^https://[a-z./]+$",
                "Kind is not one of its AllowedValues",
                "Name is shorter than its MinLength"
            ]
        );
    }

    #[test]
    fn user_data_is_measured_as_ec2_receives_it() {
        let template = Template::from_value(serde_json::json!({
            "Parameters": {"Image": {"Type": "String", "Default": "img:1"}},
            "Resources": {
                "Volume": {"Type": "AWS::EC2::Volume"},
                "Instance": {"Type": "AWS::EC2::Instance", "Properties": {"UserData": {"Fn::Base64": {"Fn::Sub": [
                    "${AWS::StackName} ${AWS::Region} ${Image} ${Id}", {"Id": {"Ref": "Volume"}}
                ]}}}}
            }
        }));
        let expected = "node ap-southeast-4 img:1 vol-0123456789abcdef0".len();
        assert_eq!(
            user_data_sizes(&template, "node"),
            [("Instance".to_string(), expected)]
        );
    }
}
