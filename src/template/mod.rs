//! Template rendering: pure and offline. A blueprint's template files under `templates/` are
//! valid CloudFormation on their own; rendering sets each configured parameter's `Default` to
//! the configured value and inserts text files (user data, dashboard body) at fixed JSON
//! pointers. The result is deterministic: same input, same bytes (key order is kept from the
//! file, output is 2-space indented JSON with a final newline).

use serde_json::Value;

/// The largest template body CloudFormation accepts inline: 51,200 bytes (CloudFormation API
/// Reference, CreateStack and CreateChangeSet, `TemplateBody`: "Maximum length of 51,200").
pub const TEMPLATE_BODY_LIMIT: usize = 51_200;

/// A template file embedded in the binary.
#[derive(Debug, Clone, Copy)]
pub struct TemplateSource {
    /// Path in the repository, for messages (e.g. `templates/allora/common.json`).
    pub path: &'static str,
    /// The file's text.
    pub text: &'static str,
}

/// Renders `source`: every `(name, value)` in `parameters` becomes that template parameter's
/// `Default` (a string, as CloudFormation models defaults), and every `(pointer, text)` in
/// `inserts` replaces the string at that JSON pointer (RFC 6901).
///
/// Panics when the embedded template is not JSON, lacks a parameter or an insertion point:
/// those are defects of the repository caught by the tests, not user errors.
pub fn render(
    source: &TemplateSource,
    parameters: &[(String, String)],
    inserts: &[(&str, &str)],
) -> String {
    let mut template: Value = serde_json::from_str(source.text)
        .unwrap_or_else(|err| panic!("{} is not valid JSON: {err}", source.path));
    for (name, value) in parameters {
        let parameter = template
            .pointer_mut(&format!("/Parameters/{name}"))
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("{} has no parameter {name}", source.path));
        parameter.insert("Default".into(), Value::String(value.clone()));
    }
    for (pointer, text) in inserts {
        let slot = template
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{} has nothing at {pointer}", source.path));
        assert!(slot.is_string(), "{}: {pointer} is not a string", source.path);
        *slot = Value::String((*text).to_string());
    }
    let mut body = serde_json::to_string_pretty(&template).expect("JSON values serialize");
    body.push('\n');
    body
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

    const SOURCE: TemplateSource = TemplateSource {
        path: "test.json",
        text: r#"{"Parameters": {"B": {"Type": "String", "Default": "x"}, "A": {"Type": "Number"}},
                 "Resources": {"R": {"Properties": {"UserData": {"Fn::Sub": "placeholder"}}}}}"#,
    };

    #[test]
    fn defaults_and_inserts_are_set_and_order_is_kept() {
        let body = render(
            &SOURCE,
            &[("A".into(), "9010".into()), ("B".into(), "y".into())],
            &[("/Resources/R/Properties/UserData/Fn::Sub", "#!/bin/bash\necho ${AWS::Region}\n")],
        );
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
    #[should_panic(expected = "test.json has no parameter C")]
    fn a_missing_parameter_is_a_defect() {
        render(&SOURCE, &[("C".into(), "1".into())], &[]);
    }
}
