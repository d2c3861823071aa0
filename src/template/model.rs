//! The parsed template: a CloudFormation template read once into a value with typed views of
//! its sections (parameters, conditions, resources, outputs), and the exact text that is
//! deployed. `check`, `cost`, the size checks and the deploy all read this one value; nothing
//! parses a template body again.
//!
//! Sections as the CloudFormation User Guide, "Template anatomy", defines them; the views give
//! access to the fields nodectl reasons about and keep everything else as written.

use serde_json::{Map, Value};

/// A parsed CloudFormation template (JSON) with its body.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    value: Value,
    body: String,
}

static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();

fn empty() -> &'static Map<String, Value> {
    EMPTY.get_or_init(Map::new)
}

impl Template {
    /// Parses `text`. Errors (as one line for a message): not JSON, not an object, or no
    /// `Resources` object (CloudFormation requires one).
    pub fn parse(text: &str) -> Result<Template, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|err| format!("is not JSON: {err}"))?;
        if !value.get("Resources").is_some_and(Value::is_object) {
            return Err("is not a CloudFormation template: it has no Resources object".into());
        }
        Ok(Template {
            value,
            body: text.to_string(),
        })
    }

    /// The template of `value`, its body written the way nodectl writes templates: 2-space
    /// indented JSON, keys in document order, a final newline (same value, same bytes).
    pub fn from_value(value: Value) -> Template {
        let mut body = serde_json::to_string_pretty(&value).expect("JSON values serialize");
        body.push('\n');
        Template { value, body }
    }

    /// The text sent to CloudFormation (`TemplateBody`).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The whole document.
    pub fn value(&self) -> &Value {
        &self.value
    }

    fn section(&self, name: &str) -> &Map<String, Value> {
        self.value
            .get(name)
            .and_then(Value::as_object)
            .unwrap_or_else(|| empty())
    }

    /// The parameters, in template order.
    pub fn parameters(&self) -> impl Iterator<Item = Parameter<'_>> {
        self.section("Parameters")
            .iter()
            .map(|(name, raw)| Parameter { name, raw })
    }

    /// The parameter `name`, if declared.
    pub fn parameter(&self, name: &str) -> Option<Parameter<'_>> {
        self.section("Parameters")
            .get_key_value(name)
            .map(|(name, raw)| Parameter { name, raw })
    }

    /// The names of the parameters, in template order.
    pub fn parameter_names(&self) -> Vec<String> {
        self.parameters().map(|p| p.name.to_string()).collect()
    }

    /// The `Conditions` section: condition name → expression.
    pub fn conditions(&self) -> &Map<String, Value> {
        self.section("Conditions")
    }

    /// The resources, in template order.
    pub fn resources(&self) -> impl Iterator<Item = Resource<'_>> {
        self.section("Resources")
            .iter()
            .map(|(id, raw)| Resource { id, raw })
    }

    /// The resource with logical id `id`.
    pub fn resource(&self, id: &str) -> Option<Resource<'_>> {
        self.section("Resources")
            .get_key_value(id)
            .map(|(id, raw)| Resource { id, raw })
    }

    /// The `Outputs` section: output name → declaration.
    pub fn outputs(&self) -> &Map<String, Value> {
        self.section("Outputs")
    }
}

/// A view of one parameter declaration.
#[derive(Debug, Clone, Copy)]
pub struct Parameter<'a> {
    /// Its name.
    pub name: &'a str,
    /// The declaration as written.
    pub raw: &'a Value,
}

impl Parameter<'_> {
    /// `Type`, e.g. `String`, `Number`, `AWS::EC2::VPC::Id`, `CommaDelimitedList`.
    pub fn kind(&self) -> &str {
        self.raw.get("Type").and_then(Value::as_str).unwrap_or("")
    }

    /// Whether `Ref` gives a list (`CommaDelimitedList`, `List<...>`).
    pub fn is_list(&self) -> bool {
        let kind = self.kind();
        kind == "CommaDelimitedList" || kind.starts_with("List<")
    }

    /// `Default`, as written.
    pub fn default(&self) -> Option<&Value> {
        self.raw.get("Default")
    }

    /// `NoEcho: true`.
    pub fn no_echo(&self) -> bool {
        matches!(self.raw.get("NoEcho"), Some(Value::Bool(true)))
            || self.raw.get("NoEcho").and_then(Value::as_str) == Some("true")
    }

    /// `AllowedPattern`, if any.
    pub fn allowed_pattern(&self) -> Option<&str> {
        self.raw.get("AllowedPattern").and_then(Value::as_str)
    }
}

/// A view of one resource.
#[derive(Debug, Clone, Copy)]
pub struct Resource<'a> {
    /// The logical id.
    pub id: &'a str,
    /// The resource as written.
    pub raw: &'a Value,
}

impl<'a> Resource<'a> {
    /// `Type`, e.g. `AWS::EC2::Instance`.
    pub fn kind(&self) -> &'a str {
        self.raw.get("Type").and_then(Value::as_str).unwrap_or("")
    }

    /// The name of its `Condition`, if any.
    pub fn condition(&self) -> Option<&'a str> {
        self.raw.get("Condition").and_then(Value::as_str)
    }

    /// `Properties` (empty when absent).
    pub fn properties(&self) -> &'a Map<String, Value> {
        self.raw
            .get("Properties")
            .and_then(Value::as_object)
            .unwrap_or_else(|| empty())
    }

    /// The property `name`, as written.
    pub fn property(&self, name: &str) -> Option<&'a Value> {
        self.properties().get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_read_in_order_and_a_template_needs_resources() {
        let template = Template::parse(
            r#"{"Parameters": {"B": {"Type": "String", "NoEcho": true}, "A": {"Type": "CommaDelimitedList", "Default": "x"}},
                "Resources": {"R": {"Type": "AWS::EC2::Volume", "Condition": "C", "Properties": {"Size": 1}}}}"#,
        )
        .unwrap();
        assert_eq!(template.parameter_names(), ["B", "A"]);
        assert!(template.parameter("B").unwrap().no_echo());
        assert!(template.parameter("A").unwrap().is_list());
        let resource = template.resource("R").unwrap();
        assert_eq!(
            (resource.kind(), resource.condition()),
            ("AWS::EC2::Volume", Some("C"))
        );
        assert_eq!(resource.property("Size"), Some(&Value::from(1)));
        assert!(template.outputs().is_empty());
        assert_eq!(
            Template::parse("{}").unwrap_err(),
            "is not a CloudFormation template: it has no Resources object"
        );
        assert!(Template::parse("[")
            .unwrap_err()
            .starts_with("is not JSON: "));
    }
}
