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

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::template::eval::{Evaluator, Pseudo};
use crate::template::Template;

/// The evaluated document of `template` (see the module documentation), with `nodectl` as its
/// top-level `Nodectl` object.
pub(crate) fn document(template: &Template, pseudo: Pseudo, nodectl: Value) -> Value {
    let evaluator = Evaluator::new(template, pseudo);
    let mut document = match template.value() {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    document.insert("Resources".into(), Value::Object(evaluator.resources()));
    let used = parameters_in_outputs(template.value());
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

    #[test]
    fn outputs_mark_the_parameters_they_show() {
        let template = Template::from_value(json!({
            "Parameters": {
                "Secret": {"Type": "String", "NoEcho": true},
                "Cidr": {"Type": "String", "Default": "0.0.0.0/0"}
            },
            "Resources": {"Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"CidrIp": {"Ref": "Cidr"}}}},
            "Outputs": {
                "A": {"Value": {"Ref": "Secret"}},
                "B": {"Value": {"Fn::Sub": "${Secret}-${Sg.GroupId}"}},
                "C": {"Value": {"Fn::Sub": ["${Secret}", {"Secret": "x"}]}}
            }
        }));
        let pseudo = Pseudo {
            region: "us-east-1".into(),
            account: None,
            stack: "node".into(),
        };
        let document = document(&template, pseudo, json!({"Blueprint": "test"}));
        assert_eq!(
            document["Parameters"]["Secret"]["NodectlOutputs"],
            json!(["A", "B"])
        );
        assert!(document["Parameters"]["Cidr"]
            .get("NodectlOutputs")
            .is_none());
        assert_eq!(
            document["Resources"]["Sg"]["Properties"]["CidrIp"],
            "0.0.0.0/0"
        );
        assert_eq!(document["Nodectl"]["Blueprint"], "test");
    }
}
