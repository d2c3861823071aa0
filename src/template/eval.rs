//! The one evaluator of CloudFormation's intrinsic functions that nodectl needs offline, used by
//! `check` (the document the rules see), `cost` (what a stack uses) and the size checks (the
//! user data as EC2 receives it).
//!
//! It decides what is known before deployment (CloudFormation User Guide, "Intrinsic function
//! reference" and "Pseudo parameters reference"):
//!
//! - `{"Ref": "<parameter>"}`: the parameter's value (its `Default`, which nodectl sets to the
//!   configured value; a list for `CommaDelimitedList` and `List<...>`); parameters without one
//!   (looked up at deploy time) stay `Ref`s;
//! - the pseudo parameters `AWS::Region`, `AWS::Partition`, `AWS::URLSuffix`,
//!   `AWS::StackName` and, when known, `AWS::AccountId`; `{"Ref": "AWS::NoValue"}` removes the
//!   property or list item;
//! - `Fn::If` whose condition can be decided (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`,
//!   `Condition`);
//! - `Fn::Sub` strings whose every `${Name}` is one of the above (`${!Literal}` gives
//!   `${Literal}`).
//!
//! Everything else (`Fn::GetAtt`, `Fn::ImportValue`, `Ref` to a resource, ...) stays as
//! written, its arguments evaluated.

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::model::{Resource, Template};

/// The values of the pseudo parameters nodectl knows offline.
#[derive(Debug, Clone)]
pub struct Pseudo {
    /// The stack's region, e.g. `us-east-1`.
    pub region: String,
    /// The account id, when the configuration has a valid one.
    pub account: Option<String>,
    /// The stack name.
    pub stack: String,
}

/// The AWS partition of `region` (`aws`, `aws-cn`, `aws-us-gov`).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// What an `Fn::If` whose condition cannot be decided offline evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undecided {
    /// Left as written (its arguments evaluated): what the `check` rules see.
    Keep,
    /// The first branch, as if the condition held: what `cost` prices (rather too much than
    /// too little).
    AssumeTrue,
}

/// Evaluates expressions of one template; see the module documentation.
pub struct Evaluator<'a> {
    template: &'a Template,
    pseudo: Pseudo,
    parameters: HashMap<String, Value>,
    undecided: Undecided,
    decided: RefCell<HashMap<String, Option<bool>>>,
}

impl<'a> Evaluator<'a> {
    /// An evaluator of `template` with its parameters' defaults and the pseudo parameters of
    /// `pseudo`; undecidable `Fn::If`s are kept.
    pub fn new(template: &'a Template, pseudo: Pseudo) -> Self {
        let parameters = template
            .parameters()
            .filter_map(|parameter| {
                let default = parameter.default()?;
                let value = match (default, parameter.is_list()) {
                    (Value::String(text), true) => Value::Array(
                        text.split(',')
                            .map(|item| Value::String(item.trim().to_string()))
                            .collect(),
                    ),
                    (value, _) => value.clone(),
                };
                Some((parameter.name.to_string(), value))
            })
            .collect();
        Evaluator {
            template,
            pseudo,
            parameters,
            undecided: Undecided::Keep,
            decided: RefCell::new(HashMap::new()),
        }
    }

    /// The same evaluator with `undecided` for conditions it cannot decide.
    pub fn undecided(mut self, undecided: Undecided) -> Self {
        self.undecided = undecided;
        self
    }

    /// The template evaluated.
    pub fn template(&self) -> &'a Template {
        self.template
    }

    /// `value` with what can be decided replaced; `None` for `AWS::NoValue`.
    pub fn value(&self, value: &Value) -> Option<Value> {
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

    /// `Some(result)` when `map` is an intrinsic function that can be decided.
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
                match (self.condition(condition.as_str()?), self.undecided) {
                    (Some(true), _) | (None, Undecided::AssumeTrue) => Some(self.value(then)),
                    (Some(false), _) => Some(self.value(otherwise)),
                    (None, Undecided::Keep) => None,
                }
            }
            "Fn::Sub" => self
                .substitute(argument.as_str()?, &Map::new(), &|_| None)
                .map(|text| Some(Value::String(text))),
            _ => None,
        }
    }

    /// The value of a parameter or pseudo parameter, when known offline.
    pub fn reference(&self, name: &str) -> Option<Value> {
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

    /// The text of an `Fn::Sub` with every `${Name}` replaced: by `locals` (the variable map of
    /// the list form, already evaluated), a parameter or pseudo parameter, or else by
    /// `fallback(name)`; `None` when a name stays unknown.
    pub fn substitute(
        &self,
        text: &str,
        locals: &Map<String, Value>,
        fallback: &dyn Fn(&str) -> Option<String>,
    ) -> Option<String> {
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
                let value = locals.get(name).cloned().or_else(|| self.reference(name));
                match value {
                    Some(Value::String(value)) => out.push_str(&value),
                    Some(Value::Number(value)) => out.push_str(&value.to_string()),
                    _ => out.push_str(&fallback(name)?),
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// The string an `Fn::Sub` (string or list form) gives, with `fallback` for what is only
    /// known at deploy time (resource ids, attributes); `None` when something stays unknown.
    pub fn sub(
        &self,
        argument: &Value,
        fallback: &dyn Fn(&str) -> Option<String>,
    ) -> Option<String> {
        match argument {
            Value::String(text) => self.substitute(text, &Map::new(), fallback),
            Value::Array(parts) => {
                let [Value::String(text), Value::Object(variables)] = parts.as_slice() else {
                    return None;
                };
                let locals: Map<String, Value> = variables
                    .iter()
                    .map(|(name, expression)| {
                        let value = match self.value(expression) {
                            Some(Value::Object(map)) => map
                                .get("Ref")
                                .and_then(Value::as_str)
                                .and_then(fallback)
                                .map(Value::String)
                                .unwrap_or(Value::Object(map)),
                            Some(other) => other,
                            None => Value::String(String::new()),
                        };
                        (name.clone(), value)
                    })
                    .collect();
                self.substitute(text, &locals, fallback)
            }
            _ => None,
        }
    }

    /// Whether the template's condition `name` holds, when it can be decided offline.
    pub fn condition(&self, name: &str) -> Option<bool> {
        if let Some(decided) = self.decided.borrow().get(name) {
            return *decided;
        }
        // Marked undecidable while it is being decided, so that a cycle ends.
        self.decided.borrow_mut().insert(name.to_string(), None);
        let result = self
            .template
            .conditions()
            .get(name)
            .and_then(|expression| self.decide(expression));
        self.decided.borrow_mut().insert(name.to_string(), result);
        result
    }

    fn decide(&self, expression: &Value) -> Option<bool> {
        let map = expression.as_object().filter(|map| map.len() == 1)?;
        let (name, argument) = map.iter().next()?;
        let operands = || argument.as_array().map(Vec::as_slice).unwrap_or_default();
        match name.as_str() {
            "Condition" => self.condition(argument.as_str()?),
            "Fn::Equals" => {
                let [left, right] = operands() else {
                    return None;
                };
                Some(scalar(&self.value(left)?)? == scalar(&self.value(right)?)?)
            }
            "Fn::Not" => {
                let [inner] = operands() else { return None };
                self.decide(inner).map(|value| !value)
            }
            "Fn::And" | "Fn::Or" => {
                let values: Vec<Option<bool>> =
                    operands().iter().map(|item| self.decide(item)).collect();
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

    /// Whether `resource` is created: it has no `Condition`, or one that is not known to be
    /// false.
    pub fn created(&self, resource: &Resource) -> bool {
        resource
            .condition()
            .is_none_or(|condition| self.condition(condition) != Some(false))
    }

    /// The created resources, each evaluated, in template order.
    pub fn resources(&self) -> Map<String, Value> {
        self.template
            .resources()
            .filter(|resource| self.created(resource))
            .filter_map(|resource| {
                self.value(resource.raw)
                    .map(|value| (resource.id.to_string(), value))
            })
            .collect()
    }
}

/// The EC2 instance types the created `AWS::EC2::Instance` resources of `template` launch (with
/// the parameters' defaults, which nodectl sends as the parameter values), deduplicated, in
/// template order; a type that cannot be resolved offline is left out.
pub fn instance_types(template: &Template, pseudo: Pseudo) -> Vec<String> {
    let evaluator = Evaluator::new(template, pseudo);
    let mut found: Vec<String> = Vec::new();
    for resource in template.resources() {
        if resource.kind() != "AWS::EC2::Instance" || !evaluator.created(&resource) {
            continue;
        }
        let instance_type = resource
            .property("InstanceType")
            .and_then(|value| evaluator.value(value))
            .as_ref()
            .and_then(scalar);
        if let Some(instance_type) = instance_type {
            if !found.contains(&instance_type) {
                found.push(instance_type);
            }
        }
    }
    found
}

/// A scalar as CloudFormation compares it in `Fn::Equals` (as text).
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pseudo() -> Pseudo {
        Pseudo {
            region: "us-east-1".into(),
            account: None,
            stack: "node".into(),
        }
    }

    fn template() -> Template {
        Template::from_value(json!({
            "Parameters": {
                "Cidr": {"Type": "String", "Default": "0.0.0.0/0"},
                "Kind": {"Type": "String", "Default": "instance-store"},
                "Zones": {"Type": "CommaDelimitedList", "Default": "a, b"},
                "Looked": {"Type": "AWS::EC2::VPC::Id"}
            },
            "Conditions": {
                "HasVolume": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Kind"}, "instance-store"]}]},
                "Both": {"Fn::And": [{"Condition": "HasVolume"}, {"Fn::Equals": ["a", "a"]}]},
                "Unknown": {"Fn::Equals": [{"Ref": "Looked"}, "vpc-1"]},
                "Loop": {"Condition": "Loop"}
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
                    "List": [1, {"Fn::If": ["Both", 2, {"Ref": "AWS::NoValue"}]}],
                    "Maybe": {"Fn::If": ["Unknown", "yes", "no"]},
                    "Zones": {"Ref": "Zones"}
                }}
            }
        }))
    }

    #[test]
    fn parameters_conditions_and_novalue_are_resolved() {
        let template = template();
        let eval = Evaluator::new(&template, pseudo());
        let resources = eval.resources();
        assert!(resources.get("Volume").is_none());
        let sg = &resources["Sg"]["Properties"];
        assert_eq!(sg["VpcId"], json!({"Ref": "Looked"}));
        assert_eq!(sg["Ingress"][0]["CidrIp"], "0.0.0.0/0");
        assert_eq!(sg["Arn"], "arn:aws:iam::aws:policy/X-instance-store");
        assert_eq!(sg["Unknown"], json!({"Fn::Sub": "${AWS::AccountId}"}));
        assert_eq!(sg["Escaped"], "${Literal}");
        assert!(sg.get("Volumes").is_none());
        assert_eq!(sg["List"], json!([1]));
        assert_eq!(sg["Maybe"], json!({"Fn::If": ["Unknown", "yes", "no"]}));
        assert_eq!(sg["Zones"], json!(["a", "b"]));
        assert_eq!(eval.condition("Loop"), None, "a cycle is undecidable");

        let eval = Evaluator::new(&template, pseudo()).undecided(Undecided::AssumeTrue);
        assert_eq!(eval.resources()["Sg"]["Properties"]["Maybe"], "yes");
    }

    #[test]
    fn the_list_form_of_sub_uses_its_variables_and_the_fallback() {
        let template = template();
        let eval = Evaluator::new(&template, pseudo());
        let argument = json!(["${Id} in ${AWS::Region} for ${Kind}: ${Vol}", {
            "Id": {"Fn::If": ["HasVolume", {"Ref": "Volume"}, ""]},
            "Vol": {"Ref": "Volume"}
        }]);
        assert_eq!(
            eval.sub(&argument, &|name| (name == "Volume")
                .then(|| "vol-1".to_string())),
            Some(" in us-east-1 for instance-store: vol-1".to_string())
        );
        assert_eq!(eval.sub(&argument, &|_| None), None);
    }

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(partition("eu-west-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }
}
