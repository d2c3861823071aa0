//! Template rendering: pure and offline. A blueprint's template files under `templates/` are
//! valid CloudFormation on their own; rendering sets each configured parameter's `Default` to
//! the configured value and inserts text files (user data, dashboard body) at fixed JSON
//! pointers. The result is deterministic: same input, same bytes (key order is kept from the
//! file, output is 2-space indented JSON with a final newline).

use std::borrow::Cow;
use std::path::PathBuf;

use serde_json::Value;

use crate::error::{Error, Result};

/// The largest template body CloudFormation accepts inline: 51,200 bytes (CloudFormation API
/// Reference, CreateStack and CreateChangeSet, `TemplateBody`: "Maximum length of 51,200").
pub const TEMPLATE_BODY_LIMIT: usize = 51_200;

/// The environment variable that makes nodectl read its template files from a directory
/// (laid out as `templates/`: `<dir>/<blueprint>/<file>`) instead of the copies embedded in
/// the binary: for template development without rebuilding.
pub const TEMPLATES_DIR_ENV: &str = "NODECTL_TEMPLATES_DIR";

/// A template file: embedded in the binary, or read from `NODECTL_TEMPLATES_DIR`.
#[derive(Debug, Clone)]
pub struct TemplateSource {
    /// Where it comes from, for messages (e.g. `templates/allora/common.json`).
    pub path: String,
    /// The file's text.
    pub text: Cow<'static, str>,
}

/// The file `<blueprint>/<file>`: from `NODECTL_TEMPLATES_DIR` when that is set, else the
/// embedded copy. Errors: the override file cannot be read.
pub fn load(blueprint: &str, file: &str, embedded: &'static str) -> Result<TemplateSource> {
    match std::env::var_os(TEMPLATES_DIR_ENV) {
        Some(dir) => {
            let path = PathBuf::from(dir).join(blueprint).join(file);
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
        None => Ok(TemplateSource {
            path: format!("templates/{blueprint}/{file}"),
            text: Cow::Borrowed(embedded),
        }),
    }
}

/// The line prefix that pulls a file of `templates/shared/` into a user data script:
/// `# nodectl:include <file>` on a line of its own.
pub const INCLUDE_PREFIX: &str = "# nodectl:include ";

/// The shell parts that several blueprints' user data scripts share (`templates/shared/`).
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
];

/// Replaces every `# nodectl:include <file>` line of `source` with the text of
/// `templates/shared/<file>` (from `NODECTL_TEMPLATES_DIR/shared/` when that is set). Included
/// files are not expanded again. Errors: an unknown file, or an override that cannot be read.
pub fn expand_includes(source: &TemplateSource) -> Result<TemplateSource> {
    if !source.text.contains(INCLUDE_PREFIX) {
        return Ok(source.clone());
    }
    let mut out = String::with_capacity(source.text.len() * 2);
    for line in source.text.split_inclusive('\n') {
        let Some(file) = line.trim_end().strip_prefix(INCLUDE_PREFIX) else {
            out.push_str(line);
            continue;
        };
        let embedded = SHARED
            .iter()
            .find(|(name, _)| *name == file)
            .map(|(_, text)| *text)
            .ok_or_else(|| {
                Error::usage(
                    format!("template `{}` includes `{file}`, which is not in templates/shared", source.path),
                    format!("fix the template file, or unset {TEMPLATES_DIR_ENV} to use the built-in ones"),
                )
            })?;
        let included = load("shared", file, embedded)?;
        out.push_str(&included.text);
        if !included.text.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(TemplateSource {
        path: source.path.clone(),
        text: Cow::Owned(out),
    })
}

/// Renders `source`: every `(name, value)` in `parameters` becomes that template parameter's
/// `Default` (a string, as CloudFormation models defaults), and every `(pointer, value)` in
/// `inserts` replaces the value at that JSON pointer (RFC 6901), which must exist and be of
/// the same JSON type (a string by a string, a list by a list).
///
/// Errors (only possible with `NODECTL_TEMPLATES_DIR`; the embedded templates are checked by
/// the tests): the template is not JSON, lacks a parameter, or has no string at a pointer.
pub fn render(
    source: &TemplateSource,
    parameters: &[(String, String)],
    inserts: &[(&str, Value)],
) -> Result<String> {
    let defect = |what: String| {
        Error::usage(
            format!("template `{}` {what}", source.path),
            format!("fix the template file, or unset {TEMPLATES_DIR_ENV} to use the built-in ones"),
        )
    };
    let mut template: Value = serde_json::from_str(&source.text)
        .map_err(|err| defect(format!("is not valid JSON: {err}")))?;
    for (name, value) in parameters {
        let parameter = template
            .pointer_mut(&format!("/Parameters/{name}"))
            .and_then(Value::as_object_mut)
            .ok_or_else(|| defect(format!("has no parameter {name}")))?;
        parameter.insert("Default".into(), Value::String(value.clone()));
    }
    for (pointer, value) in inserts {
        match template.pointer_mut(pointer) {
            Some(slot) if std::mem::discriminant(slot) == std::mem::discriminant(value) => {
                *slot = value.clone();
            }
            _ => {
                let kind = if value.is_array() { "list" } else { "string" };
                return Err(defect(format!("has no {kind} at {pointer}")));
            }
        }
    }
    let mut body = serde_json::to_string_pretty(&template).expect("JSON values serialize");
    body.push('\n');
    Ok(body)
}

/// Checks that `body`, the template of stack `stack`, fits CloudFormation's inline limit
/// ([`TEMPLATE_BODY_LIMIT`]); nodectl does not upload templates to S3.
pub fn check_size(stack: &str, body: &str) -> Result<()> {
    if body.len() <= TEMPLATE_BODY_LIMIT {
        return Ok(());
    }
    Err(Error::usage(
        format!(
            "the template of stack `{stack}` is {} bytes, more than the {TEMPLATE_BODY_LIMIT} bytes \
             CloudFormation accepts inline",
            body.len()
        ),
        format!(
            "shorten the template (with {TEMPLATES_DIR_ENV}), or report it: the built-in \
             templates stay under the limit"
        ),
    ))
}

/// The names of the template's parameters, in template order.
pub fn parameter_names(body: &str) -> Vec<String> {
    let template: Value = serde_json::from_str(body).expect("rendered templates are JSON");
    template
        .get("Parameters")
        .and_then(Value::as_object)
        .map(|parameters| parameters.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> TemplateSource {
        TemplateSource {
            path: "test.json".into(),
            text: r#"{"Parameters": {"B": {"Type": "String", "Default": "x"}, "A": {"Type": "Number"}},
                 "Resources": {"R": {"Properties": {"UserData": {"Fn::Sub": "placeholder"}}}}}"#
                .into(),
        }
    }

    #[test]
    fn defaults_and_inserts_are_set_and_order_is_kept() {
        let body = render(
            &source(),
            &[("A".into(), "9010".into()), ("B".into(), "y".into())],
            &[(
                "/Resources/R/Properties/UserData/Fn::Sub",
                Value::String("#!/bin/bash\necho ${AWS::Region}\n".into()),
            )],
        )
        .unwrap();
        let expected = r##"{
  "Parameters": {
    "B": {
      "Type": "String",
      "Default": "y"
    },
    "A": {
      "Type": "Number",
      "Default": "9010"
    }
  },
  "Resources": {
    "R": {
      "Properties": {
        "UserData": {
          "Fn::Sub": "#!/bin/bash\necho ${AWS::Region}\n"
        }
      }
    }
  }
}
"##;
        assert_eq!(body, expected);
        assert_eq!(parameter_names(&body), vec!["B", "A"]);
    }

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
    fn a_missing_parameter_or_insertion_point_is_an_error() {
        let err = render(&source(), &[("C".into(), "1".into())], &[]).unwrap_err();
        assert_eq!(
            err.reports()[0].0,
            "template `test.json` has no parameter C"
        );
        let err = render(
            &source(),
            &[],
            &[("/Resources/X", Value::String("text".into()))],
        )
        .unwrap_err();
        assert_eq!(
            err.reports()[0].0,
            "template `test.json` has no string at /Resources/X"
        );
    }
}
