//! The document the rules are evaluated against: the template as CloudFormation would deploy
//! it with the stack's parameter values, plus what nodectl knows about the blueprint.
//!
//! In `Resources`, nodectl replaces what it can decide offline:
//!
//! - `{"Ref": "<parameter>"}` by the parameter's `Default` (the rendered templates carry the
//!   `.env` values as defaults; parameters without one, looked up at deploy time, stay `Ref`s),
//!   and the pseudo parameters `AWS::Region`, `AWS::Partition`, `AWS::URLSuffix`,
//!   `AWS::StackName` and (when known) `AWS::AccountId`;
//! - `Fn::If` whose condition can be decided, and `{"Ref": "AWS::NoValue"}` (the property or
//!   list item is left out);
//! - `Fn::Sub` strings whose every `${Name}` is one of the above;
//! - resources whose `Condition` is false are left out.
//!
//! Everything else (`Fn::GetAtt`, `Fn::ImportValue`, the list form of `Fn::Sub`, ...) stays as
//! written. `Parameters` and `Outputs` stay as written, except that each parameter an output
//! uses gets `NodectlOutputs`: the names of those outputs. The top-level `Nodectl` object holds
//! the blueprint's declarations (see `docs/checks.md`).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Map, Value};

/// The values of the pseudo parameters nodectl knows offline.
#[derive(Debug, Clone)]
pub struct Pseudo {
    /// The stack's region.
    pub region: String,
    /// The account id, when the configuration has a valid one.
    pub account: Option<String>,
    /// The stack name.
    pub stack: String,
}

/// The AWS partition of `region`.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The evaluated document of `template` (see the module documentation), with `nodectl` as its
/// top-level `Nodectl` object.
pub fn document(template: &Value, pseudo: &Pseudo, nodectl: Value) -> Value {
    let empty = Map::new();
    let parameters = template
        .get("Parameters")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let resolver = Resolver {
        parameters: parameters
            .iter()
            .filter_map(|(name, spec)| default_value(spec).map(|value| (name.clone(), value)))
            .collect(),
        conditions: template
            .get("Conditions")
            .and_then(Value::as_object)
            .unwrap_or(&empty),
        pseudo,
        decided: RefCell::new(HashMap::new()),
    };
    let mut document = match template {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    if let Some(resources) = template.get("Resources").and_then(Value::as_object) {
        let resolved: Map<String, Value> = resources
            .iter()
            .filter(|(_, resource)| {
                resource
                    .get("Condition")
                    .and_then(Value::as_str)
                    .is_none_or(|condition| resolver.condition_named(condition) != Some(false))
            })
            .filter_map(|(id, resource)| resolver.value(resource).map(|value| (id.clone(), value)))
            .collect();
        document.insert("Resources".into(), Value::Object(resolved));
    }
    let used = parameters_in_outputs(template);
    if let Some(Value::Object(parameters)) = document.get_mut("Parameters") {
        for (name, outputs) in used {
            if let Some(Value::Object(spec)) = parameters.get_mut(&name) {
                spec.insert("NodectlOutputs".into(), json!(outputs));
            }
        }
    }
    document.insert("Nodectl".into(), nodectl);
    Value::Object(document)
}

/// The value a parameter's `Ref` gives when the stack is created with its default.
fn default_value(spec: &Value) -> Option<Value> {
    let default = spec.get("Default")?;
    let kind = spec.get("Type").and_then(Value::as_str).unwrap_or_default();
    let is_list = kind == "CommaDelimitedList" || kind.starts_with("List<");
    Some(match (default, is_list) {
        (Value::String(text), true) => Value::Array(
            text.split(',')
                .map(|item| Value::String(item.trim().to_string()))
                .collect(),
        ),
        (value, _) => value.clone(),
    })
}

struct Resolver<'a> {
    parameters: HashMap<String, Value>,
    conditions: &'a Map<String, Value>,
    pseudo: &'a Pseudo,
    /// Conditions decided so far (`None`: cannot be decided, or being decided).
    decided: RefCell<HashMap<String, Option<bool>>>,
}

impl Resolver<'_> {
    /// `value` with what can be decided replaced; `None` for `AWS::NoValue`.
    fn value(&self, value: &Value) -> Option<Value> {
        match value {
            Value::Object(map) => {
                if let Some(resolved) = self.intrinsic(map) {
                    return resolved;
                }
                Some(Value::Object(
                    map.iter()
                        .filter_map(|(key, item)| self.value(item).map(|item| (key.clone(), item)))
                        .collect(),
                ))
            }
            Value::Array(items) => Some(Value::Array(
                items.iter().filter_map(|item| self.value(item)).collect(),
            )),
            other => Some(other.clone()),
        }
    }

    /// `Some(result)` when `map` is an intrinsic function nodectl decides.
    fn intrinsic(&self, map: &Map<String, Value>) -> Option<Option<Value>> {
        if map.len() != 1 {
            return None;
        }
        let (name, argument) = map.iter().next()?;
        match name.as_str() {
            "Ref" => {
                let target = argument.as_str()?;
                if target == "AWS::NoValue" {
                    return Some(None);
                }
                self.reference(target).map(Some)
            }
            "Fn::If" => {
                let [condition, then, otherwise] = argument.as_array()?.as_slice() else {
                    return None;
                };
                match self.condition_named(condition.as_str()?)? {
                    true => Some(self.value(then)),
                    false => Some(self.value(otherwise)),
                }
            }
            "Fn::Sub" => self
                .substitute(argument.as_str()?)
                .map(|text| Some(Value::String(text))),
            _ => None,
        }
    }

    /// The value of a parameter or pseudo parameter, when known offline.
    fn reference(&self, name: &str) -> Option<Value> {
        let pseudo = match name {
            "AWS::Region" => Some(self.pseudo.region.clone()),
            "AWS::Partition" => Some(partition(&self.pseudo.region).to_string()),
            "AWS::URLSuffix" => Some(if self.pseudo.region.starts_with("cn-") {
                "amazonaws.com.cn".to_string()
            } else {
                "amazonaws.com".to_string()
            }),
            "AWS::StackName" => Some(self.pseudo.stack.clone()),
            "AWS::AccountId" => self.pseudo.account.clone(),
            _ => None,
        };
        match pseudo {
            Some(value) => Some(Value::String(value)),
            None => self.parameters.get(name).cloned(),
        }
    }

    /// The text of `Fn::Sub` with every `${Name}` replaced, or `None` when one is not known.
    fn substitute(&self, text: &str) -> Option<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}')?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else {
                match self.reference(name)? {
                    Value::String(value) => out.push_str(&value),
                    Value::Number(value) => out.push_str(&value.to_string()),
                    _ => return None,
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// Whether the template's condition `name` holds, when it can be decided offline.
    fn condition_named(&self, name: &str) -> Option<bool> {
        if let Some(decided) = self.decided.borrow().get(name) {
            return *decided;
        }
        // Marked undecidable while it is being decided, so that a cycle ends.
        self.decided.borrow_mut().insert(name.to_string(), None);
        let result = self
            .conditions
            .get(name)
            .and_then(|expression| self.condition(expression));
        self.decided.borrow_mut().insert(name.to_string(), result);
        result
    }

    fn condition(&self, expression: &Value) -> Option<bool> {
        let map = expression.as_object().filter(|map| map.len() == 1)?;
        let (name, argument) = map.iter().next()?;
        let operands = || argument.as_array().map(Vec::as_slice).unwrap_or_default();
        match name.as_str() {
            "Condition" => self.condition_named(argument.as_str()?),
            "Fn::Equals" => {
                let [left, right] = operands() else {
                    return None;
                };
                Some(scalar(&self.value(left)?)? == scalar(&self.value(right)?)?)
            }
            "Fn::Not" => {
                let [inner] = operands() else { return None };
                self.condition(inner).map(|value| !value)
            }
            "Fn::And" | "Fn::Or" => {
                let values: Vec<Option<bool>> =
                    operands().iter().map(|item| self.condition(item)).collect();
                let decisive = name == "Fn::Or";
                if values.contains(&Some(decisive)) {
                    Some(decisive)
                } else if values.iter().all(Option::is_some) {
                    Some(!decisive)
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

/// A scalar as CloudFormation compares it in `Fn::Equals` (as text).
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// The parameters each output uses (by `Ref` or in an `Fn::Sub` text), as parameter name →
/// output names.
fn parameters_in_outputs(template: &Value) -> Vec<(String, Vec<String>)> {
    let Some(parameters) = template.get("Parameters").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut used: Vec<(String, Vec<String>)> = Vec::new();
    for (output, spec) in template
        .get("Outputs")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let mut names = BTreeSet::new();
        referenced_names(spec, &mut names);
        for name in names
            .into_iter()
            .filter(|name| parameters.contains_key(name))
        {
            match used.iter_mut().find(|(parameter, _)| *parameter == name) {
                Some((_, outputs)) => outputs.push(output.clone()),
                None => used.push((name, vec![output.clone()])),
            }
        }
    }
    used
}

/// Every name `value` refers to by `Ref` or `${Name}` in an `Fn::Sub` text.
fn referenced_names(value: &Value, names: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item) {
                    ("Ref", Value::String(name)) => {
                        names.insert(name.clone());
                    }
                    ("Fn::Sub", Value::String(text)) => sub_names(text, names),
                    ("Fn::Sub", Value::Array(parts)) => {
                        if let Some(Value::String(text)) = parts.first() {
                            let locals: Vec<&String> = parts
                                .get(1)
                                .and_then(Value::as_object)
                                .map(|vars| vars.keys().collect())
                                .unwrap_or_default();
                            let mut found = BTreeSet::new();
                            sub_names(text, &mut found);
                            names.extend(found.into_iter().filter(|name| !locals.contains(&name)));
                        }
                        for part in parts.iter().skip(1) {
                            referenced_names(part, names);
                        }
                    }
                    _ => referenced_names(item, names),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| referenced_names(item, names)),
        _ => {}
    }
}

fn sub_names(text: &str, names: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { return };
        let name = &after[..end];
        if !name.starts_with('!') {
            let name = name.split('.').next().unwrap_or(name);
            names.insert(name.to_string());
        }
        rest = &after[end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo() -> Pseudo {
        Pseudo {
            region: "us-east-1".into(),
            account: None,
            stack: "node".into(),
        }
    }

    #[test]
    fn parameters_conditions_and_novalue_are_resolved() {
        let template = json!({
            "Parameters": {
                "Cidr": {"Type": "String", "Default": "0.0.0.0/0"},
                "Kind": {"Type": "String", "Default": "instance-store"},
                "Looked": {"Type": "AWS::EC2::VPC::Id"},
                "Secret": {"Type": "String", "NoEcho": true}
            },
            "Conditions": {
                "HasVolume": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Kind"}, "instance-store"]}]},
                "Both": {"Fn::And": [{"Condition": "HasVolume"}, {"Fn::Equals": ["a", "a"]}]}
            },
            "Resources": {
                "Volume": {"Type": "AWS::EC2::Volume", "Condition": "HasVolume"},
                "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
                    "VpcId": {"Ref": "Looked"},
                    "Ingress": [{"CidrIp": {"Ref": "Cidr"}}],
                    "Arn": {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/X-${Kind}"},
                    "Unknown": {"Fn::Sub": "${AWS::AccountId}"},
                    "Escaped": {"Fn::Sub": "${!Literal}"},
                    "Volumes": {"Fn::If": ["HasVolume", [1], {"Ref": "AWS::NoValue"}]},
                    "List": [1, {"Fn::If": ["Both", 2, {"Ref": "AWS::NoValue"}]}]
                }}
            },
            "Outputs": {
                "A": {"Value": {"Ref": "Secret"}},
                "B": {"Value": {"Fn::Sub": "${Secret}-${Sg.GroupId}"}},
                "C": {"Value": {"Fn::Sub": ["${Secret}", {"Secret": "x"}]}}
            }
        });
        let document = document(&template, &pseudo(), json!({"Blueprint": "allora"}));
        assert!(document["Resources"].get("Volume").is_none());
        let sg = &document["Resources"]["Sg"]["Properties"];
        assert_eq!(sg["VpcId"], json!({"Ref": "Looked"}));
        assert_eq!(sg["Ingress"][0]["CidrIp"], "0.0.0.0/0");
        assert_eq!(sg["Arn"], "arn:aws:iam::aws:policy/X-instance-store");
        assert_eq!(sg["Unknown"], json!({"Fn::Sub": "${AWS::AccountId}"}));
        assert_eq!(sg["Escaped"], "${Literal}");
        assert!(sg.get("Volumes").is_none());
        assert_eq!(sg["List"], json!([1]));
        assert_eq!(
            document["Parameters"]["Secret"]["NodectlOutputs"],
            json!(["A", "B"])
        );
        assert!(document["Parameters"]["Cidr"]
            .get("NodectlOutputs")
            .is_none());
        assert_eq!(document["Nodectl"]["Blueprint"], "allora");
    }

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(partition("eu-west-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }
}
