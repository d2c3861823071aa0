//! Suppressions: in a template, a resource's (or the template's) `Metadata` may say that a rule
//! does not apply to it, and why:
//!
//! ```json
//! "Metadata": {"nodectl": {"suppress": [
//!   {"rule": "sg_no_undeclared_world_open_port", "ports": [9010], "reason": "..."}
//! ]}}
//! ```
//!
//! `rule` and `reason` are required; `ports` narrows a suppression to the security group
//! ingress rules of exactly those ports, `sid` to the IAM policy statement with that `Sid`. A
//! suppression on the template's own `Metadata` covers the whole stack. A suppression without a
//! reason, or malformed, suppresses nothing and is itself a failure (rule
//! [`SUPPRESSION_RULE`]).

use serde_json::Value;

use super::catalog::SUPPRESSION_RULE;

/// One valid suppression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Suppression {
    /// The resource's logical id; `None` for the template's own metadata (the whole stack).
    pub resource: Option<String>,
    /// The rule it suppresses.
    pub rule: String,
    /// Why.
    pub reason: String,
    /// Only ingress rules of these ports, if given.
    pub ports: Option<Vec<u16>>,
    /// Only the policy statement with this `Sid`, if given.
    pub sid: Option<String>,
}

/// A suppression that is not valid: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// The resource's logical id; `None` for the template's own metadata.
    pub resource: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Every suppression in `document` (an evaluated template), valid or not.
pub(crate) fn read(document: &Value) -> (Vec<Suppression>, Vec<Invalid>) {
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    let mut places: Vec<(Option<String>, &Value)> = vec![(None, document)];
    if let Some(resources) = document.get("Resources").and_then(Value::as_object) {
        places.extend(
            resources
                .iter()
                .map(|(id, resource)| (Some(id.clone()), resource)),
        );
    }
    for (resource, holder) in places {
        let Some(nodectl) = holder.get("Metadata").and_then(|m| m.get("nodectl")) else {
            continue;
        };
        let mut problem = |message: String| {
            invalid.push(Invalid {
                resource: resource.clone(),
                message,
            })
        };
        let Some(entries) = nodectl.get("suppress") else {
            continue;
        };
        let Some(entries) = entries.as_array() else {
            problem("Metadata nodectl suppress is not a list of suppressions".into());
            continue;
        };
        for entry in entries {
            match suppression(entry) {
                Ok((rule, reason, ports, sid)) => valid.push(Suppression {
                    resource: resource.clone(),
                    rule,
                    reason,
                    ports,
                    sid,
                }),
                Err(message) => problem(message),
            }
        }
    }
    (valid, invalid)
}

type Parsed = (String, String, Option<Vec<u16>>, Option<String>);

fn suppression(entry: &Value) -> Result<Parsed, String> {
    let Some(map) = entry.as_object() else {
        return Err(format!("a suppression is not an object: {entry}"));
    };
    if let Some(unknown) = map
        .keys()
        .find(|key| !["rule", "reason", "ports", "sid"].contains(&key.as_str()))
    {
        return Err(format!(
            "a suppression has the unknown key `{unknown}` (known: rule, reason, ports, sid)"
        ));
    }
    let rule = match map.get("rule").and_then(Value::as_str).map(str::trim) {
        Some(rule) if !rule.is_empty() => rule.to_string(),
        _ => return Err("a suppression names no rule (\"rule\": \"<rule name>\")".into()),
    };
    if rule == SUPPRESSION_RULE {
        return Err(format!("`{SUPPRESSION_RULE}` cannot be suppressed"));
    }
    let reason = match map.get("reason").and_then(Value::as_str).map(str::trim) {
        Some(reason) if !reason.is_empty() => reason.to_string(),
        _ => {
            return Err(format!(
                "the suppression of `{rule}` has no reason: every suppression says why"
            ))
        }
    };
    let ports = match map.get("ports") {
        None => None,
        Some(Value::Array(items)) if !items.is_empty() => Some(
            items
                .iter()
                .map(|item| {
                    item.as_u64()
                        .and_then(|port| u16::try_from(port).ok())
                        .ok_or_else(|| {
                            format!("the suppression of `{rule}` has a port that is not 0 to 65535: {item}")
                        })
                })
                .collect::<Result<Vec<u16>, String>>()?,
        ),
        Some(other) => {
            return Err(format!(
                "the suppression of `{rule}` has \"ports\" {other}, not a list of port numbers"
            ))
        }
    };
    let sid = match map.get("sid") {
        None => None,
        Some(Value::String(sid)) if !sid.trim().is_empty() => Some(sid.trim().to_string()),
        Some(other) => {
            return Err(format!(
                "the suppression of `{rule}` has \"sid\" {other}, not a statement Sid"
            ))
        }
    };
    Ok((rule, reason, ports, sid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn suppressions_are_read_and_checked() {
        let document = json!({
            "Metadata": {"nodectl": {"suppress": [{"rule": "a", "reason": "stack-wide"}]}},
            "Resources": {
                "Sg": {"Metadata": {"nodectl": {"suppress": [
                    {"rule": "b", "ports": [9010], "reason": "the seed's port"},
                    {"rule": "c", "reason": "  "},
                    {"rule": "d", "reason": "x", "port": 1},
                    {"rule": "suppression_reason", "reason": "no"},
                    {"rule": "e", "reason": "x", "ports": [70000]}
                ]}}},
                "Role": {"Metadata": {"nodectl": {"suppress": {"rule": "x"}}}},
                "Other": {"Metadata": {"cfn-lint": {}}}
            }
        });
        let (valid, invalid) = read(&document);
        assert_eq!(valid.len(), 2);
        assert_eq!(valid[0].resource, None);
        assert_eq!(valid[1].ports, Some(vec![9010]));
        let messages: Vec<&str> = invalid.iter().map(|i| i.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "the suppression of `c` has no reason: every suppression says why",
                "a suppression has the unknown key `port` (known: rule, reason, ports, sid)",
                "`suppression_reason` cannot be suppressed",
                "the suppression of `e` has a port that is not 0 to 65535: 70000",
                "Metadata nodectl suppress is not a list of suppressions",
            ]
        );
        assert_eq!(invalid[4].resource.as_deref(), Some("Role"));
    }
}
