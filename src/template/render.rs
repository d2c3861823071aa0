//! Rendering a template file into the [`Template`] nodectl deploys: pure and offline, same
//! input, same bytes. The steps, each driven by an explicit marker in the template file (see
//! `templates/README.md`):
//!
//! 1. **Fragments.** The top-level `Metadata.nodectl.fragments` lists files of
//!    `templates/shared/` (partial templates) merged into the template: their `Parameters`,
//!    `Conditions`, `Resources` and `Outputs` entries are added after the template's own, and
//!    where the template has the same entry, the two are merged key by key with the template's
//!    values winning (so a template refines a shared resource, e.g. the data volume's
//!    Availability Zone).
//! 2. **Inserts.** A resource's `Metadata.nodectl.insert` entries `{"file", "at"}` replace the
//!    string at `at` (a path inside the resource, `/`-separated) by a file of the blueprint's
//!    folder, its `# nodectl:include` lines expanded and, for shell scripts, its comment lines
//!    dropped ([`super::strip_comments`]): user data, dashboard bodies. An include names a
//!    file of the blueprint's folder or of `templates/shared/`. With `"by": "<Parameter>"` and
//!    `"files": {"<value>": "<file>"}` the marker inserts the file named for the parameter's
//!    configured value instead (a variant: Allora's user data per `WorkerRuntime`).
//! 3. **Repeats.** A resource's `Metadata.nodectl.repeat` entries `{"list", "at", "as", "item"}`
//!    replace the list at `at` by one copy of `item` per value of the named list the blueprint
//!    gives, with `${<as>}` in `item`'s strings replaced by the value (a string that is only
//!    `${<as>}` becomes the value itself, e.g. a port number).
//! 4. **Defaults.** Every configured parameter's `Default` becomes the configured value (a
//!    string, as CloudFormation models defaults).
//!
//! The directives are removed from the result; other `Metadata.nodectl` content (the `check`
//! suppressions) stays.

use serde_json::{Map, Value};

use super::model::Template;
use super::{expand_includes_from, load, TemplateFiles};
use crate::error::{Error, Result};

/// What to render: one template file of a blueprint and the values that go into it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The blueprint's template files.
    pub files: &'a TemplateFiles,
    /// The template file, e.g. `single-node.json`.
    pub file: &'a str,
    /// Parameter values, by name.
    pub parameters: &'a [(String, String)],
    /// The lists that `repeat` markers name, by name.
    pub lists: &'a [(&'a str, Vec<Value>)],
}

/// Renders `request` (see the module documentation). Errors, only possible with a broken
/// template file (the built-in ones are tested): not JSON, an unknown fragment or file, a
/// marker pointing at nothing, a list without value, an unknown parameter.
pub fn render(request: &Request) -> Result<Template> {
    let files = request.files;
    let (path, mut template) = with_fragments(files, request.file)?;
    let defect = |problem: String| Error::TemplateDefect {
        path: path.clone(),
        problem,
    };

    let ids: Vec<String> = template
        .get("Resources")
        .and_then(Value::as_object)
        .map(|resources| resources.keys().cloned().collect())
        .unwrap_or_default();
    for id in ids {
        let resource = &mut template["Resources"][&id];
        for insert in take_directive(resource, "insert") {
            let (Some(file), Some(at)) = (insert["file"].as_str(), insert["at"].as_str()) else {
                return Err(defect(format!(
                    "resource {id}: an insert marker needs \"file\" and \"at\""
                )));
            };
            let file = chosen_file(request, &insert, file)
                .map_err(|problem| defect(format!("resource {id}: an insert marker {problem}")))?;
            let text = expand_includes_from(
                &load(files.blueprint, file, files.embedded(file))?,
                Some(files),
            )?;
            let text = if file.ends_with(".sh") {
                super::strip_comments(&text.text)
            } else {
                text.text.into_owned()
            };
            match resource.pointer_mut(&format!("/{at}")) {
                Some(slot @ Value::String(_)) => *slot = Value::String(text),
                _ => {
                    return Err(defect(format!(
                        "resource {id}: no string at {at} to insert {file}"
                    )))
                }
            }
        }
        for repeat in take_directive(resource, "repeat") {
            let (Some(list), Some(at), Some(name)) = (
                repeat["list"].as_str(),
                repeat["at"].as_str(),
                repeat["as"].as_str(),
            ) else {
                return Err(defect(format!(
                    "resource {id}: a repeat marker needs \"list\", \"at\", \"as\" and \"item\""
                )));
            };
            let values = request
                .lists
                .iter()
                .find(|(known, _)| *known == list)
                .map(|(_, values)| values)
                .ok_or_else(|| defect(format!("resource {id}: nodectl gives no list `{list}`")))?;
            let items: Vec<Value> = values
                .iter()
                .map(|value| fill(&repeat["item"], &format!("${{{name}}}"), value))
                .collect();
            match resource.pointer_mut(&format!("/{at}")) {
                Some(slot @ Value::Array(_)) => *slot = Value::Array(items),
                _ => {
                    return Err(defect(format!(
                        "resource {id}: no list at {at} to repeat {list}"
                    )))
                }
            }
        }
    }

    for (name, value) in request.parameters {
        let parameter = template
            .pointer_mut(&format!("/Parameters/{name}"))
            .and_then(Value::as_object_mut)
            .ok_or_else(|| defect(format!("has no parameter {name}")))?;
        parameter.insert("Default".into(), Value::String(value.clone()));
    }
    Ok(Template::from_value(template))
}

/// The file an insert marker inserts: `file`, or, when the marker has `"by": "<Parameter>"` and
/// `"files": {"<value>": "<file>"}`, the file named for the configured value of that parameter
/// (a variant of the user data, e.g. Allora's `WorkerRuntime`). Errors: `by` without `files`, or
/// a value of `files` that is not a file name.
fn chosen_file<'a>(
    request: &Request,
    insert: &'a Value,
    file: &'a str,
) -> std::result::Result<&'a str, String> {
    let Some(by) = insert.get("by") else {
        return Ok(file);
    };
    let (Some(by), Some(files)) = (by.as_str(), insert["files"].as_object()) else {
        return Err("with \"by\" needs a parameter name and a \"files\" object".into());
    };
    let value = request
        .parameters
        .iter()
        .find(|(name, _)| name == by)
        .map(|(_, value)| value.as_str());
    match value.and_then(|value| files.get(value)) {
        None => Ok(file),
        Some(Value::String(chosen)) => Ok(chosen),
        Some(other) => Err(format!("names a file that is not a string: {other}")),
    }
}

/// The template file `file` of `files` with its fragments merged (step 1 of [`render`]), and
/// the path it was read from: what a template file means on its own, as cfn-lint checks it.
pub fn with_fragments(files: &TemplateFiles, file: &str) -> Result<(String, Value)> {
    let source = load(files.blueprint, file, files.embedded(file))?;
    let path = source.path.clone();
    let defect = |problem: String| Error::TemplateDefect {
        path: path.clone(),
        problem,
    };
    let mut template: Value = serde_json::from_str(&source.text)
        .map_err(|err| defect(format!("is not valid JSON: {err}")))?;
    if !template.is_object() {
        return Err(defect("is not a JSON object".into()));
    }

    for fragment in take_directive(&mut template, "fragments") {
        let name = fragment.as_str().ok_or_else(|| {
            defect(format!(
                "names a fragment that is not a file name: {fragment}"
            ))
        })?;
        let embedded = super::shared(name).ok_or_else(|| {
            defect(format!(
                "names the fragment `{name}`, which is not in templates/shared"
            ))
        })?;
        let source = load("shared", name, Some(embedded))?;
        let fragment: Value =
            serde_json::from_str(&source.text).map_err(|err| Error::TemplateDefect {
                path: source.path.clone(),
                problem: format!("is not valid JSON: {err}"),
            })?;
        template = merge(template, fragment);
    }
    Ok((path, template))
}

/// Removes the directive `name` from `value`'s `Metadata.nodectl` (and `nodectl`, then
/// `Metadata`, when nothing else is left in them) and returns its entries.
fn take_directive(value: &mut Value, name: &str) -> Vec<Value> {
    let Some(metadata) = value.get_mut("Metadata").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    let Some(nodectl) = metadata.get_mut("nodectl").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    let taken = match nodectl.shift_remove(name) {
        Some(Value::Array(items)) => items,
        Some(other) => vec![other],
        None => return Vec::new(),
    };
    if nodectl.is_empty() {
        metadata.shift_remove("nodectl");
    }
    if metadata.is_empty() {
        value
            .as_object_mut()
            .expect("has Metadata")
            .shift_remove("Metadata");
    }
    taken
}

/// `template` with `fragment` merged in: objects key by key, recursively, the template's keys
/// first and in its order, then the fragment's other keys; where both have a value that is not
/// an object, the template's wins.
pub fn merge(template: Value, fragment: Value) -> Value {
    match (template, fragment) {
        (Value::Object(mut template), Value::Object(fragment)) => {
            for (key, value) in fragment {
                match template.get_mut(&key) {
                    Some(existing) => {
                        let own = std::mem::take(existing);
                        *existing = merge(own, value);
                    }
                    None => {
                        template.insert(key, value);
                    }
                }
            }
            Value::Object(template)
        }
        (template, _) => template,
    }
}

/// `item` with every `placeholder` replaced by `value`: a string that is exactly the
/// placeholder becomes `value`, others get its text.
fn fill(item: &Value, placeholder: &str, value: &Value) -> Value {
    match item {
        Value::String(text) if text == placeholder => value.clone(),
        Value::String(text) => {
            let shown = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            Value::String(text.replace(placeholder, &shown))
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| fill(item, placeholder, value))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), fill(item, placeholder, value)))
                .collect::<Map<String, Value>>(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merging_keeps_the_template_order_and_lets_the_template_win() {
        let fragment = json!({"Resources": {"V": {"Type": "AWS::EC2::Volume", "Properties": {"Size": 1, "Az": "a"}}}, "Parameters": {"P": {}}});
        let template = json!({"Description": "d", "Resources": {"I": {}, "V": {"Type": "AWS::EC2::Volume", "Properties": {"Az": "b"}}}});
        assert_eq!(
            merge(template, fragment),
            json!({"Description": "d", "Resources": {"I": {}, "V": {"Type": "AWS::EC2::Volume", "Properties": {"Az": "b", "Size": 1}}}, "Parameters": {"P": {}}})
        );
    }

    #[test]
    fn repeated_items_take_the_value() {
        let item = json!({"FromPort": "${Port}", "Description": "TCP ${Port}"});
        assert_eq!(
            fill(&item, "${Port}", &json!(9010)),
            json!({"FromPort": 9010, "Description": "TCP 9010"})
        );
    }

    #[test]
    fn directives_are_taken_and_empty_metadata_removed() {
        let mut resource =
            json!({"Metadata": {"nodectl": {"insert": [{"file": "a"}], "suppress": []}}});
        assert_eq!(
            take_directive(&mut resource, "insert"),
            [json!({"file": "a"})]
        );
        assert_eq!(resource, json!({"Metadata": {"nodectl": {"suppress": []}}}));
        let mut resource = json!({"Metadata": {"nodectl": {"repeat": {"list": "x"}}}, "Type": "T"});
        assert_eq!(take_directive(&mut resource, "repeat").len(), 1);
        assert_eq!(resource, json!({"Type": "T"}));
    }
}
