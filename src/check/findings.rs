//! Where a failed rule points: the resource, parameter or output of each failing clause, what
//! inside it (an ingress rule, a policy statement, a managed policy, a block device), and
//! whether a suppression covers it.

use serde_json::Value;

use super::guard::Clause;
use super::suppress::Suppression;

/// A failing place: the resource (or parameter, or the stack), what in it, and the message.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Finding {
    pub(super) resource: Option<String>,
    pub(super) location: String,
    pub(super) detail: Option<String>,
    pub(super) message: String,
    pub(super) ingress: Option<(i64, i64)>,
    pub(super) sid: Option<String>,
}

/// The distinct findings of a failed rule's clauses. When some clauses carry the rule author's
/// message, only those count: the others are the unmessaged halves of a disjunction or a
/// filter's non-matches, which Guard reports too.
pub(super) fn findings(clauses: &[Clause], document: &Value) -> Vec<Finding> {
    let with_message = clauses.iter().any(|clause| clause.custom_message.is_some());
    let mut found: Vec<Finding> = Vec::new();
    for clause in clauses
        .iter()
        .filter(|clause| !with_message || clause.custom_message.is_some())
    {
        let message = clause
            .custom_message
            .clone()
            .or_else(|| clause.error_message.as_deref().map(clean_guard_message))
            .unwrap_or_else(|| "the rule failed".into());
        let finding = locate(document, clause, message);
        if !found.contains(&finding) {
            found.push(finding);
        }
    }
    if found.is_empty() {
        found.push(Finding {
            resource: None,
            location: String::new(),
            detail: None,
            message: "the rule failed".into(),
            ingress: None,
            sid: None,
        });
    }
    found
}

/// Guard's message without its `[L:0,C:0]` positions (of the evaluated document, meaningless
/// to the user), cut to a readable length.
pub(super) fn clean_guard_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find("[L:") {
        out.push_str(&rest[..start]);
        match rest[start..].find(']') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    if out.chars().count() > 240 {
        out = out.chars().take(239).collect::<String>() + "…";
    }
    out
}

/// Where in the template a clause points.
fn locate(document: &Value, clause: &Clause, message: String) -> Finding {
    let mut segments: Vec<String> = clause
        .path
        .split('/')
        .skip(1)
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect();
    // A captured key (`Resources[ id | ... ]`) is reported as the map's path with the key as
    // the value.
    if let (Some(Value::String(key)), Some(Value::Object(map))) =
        (&clause.value, pointer(document, &segments))
    {
        if map.contains_key(key) {
            segments.push(key.clone());
        }
    }
    let mut finding = Finding {
        resource: None,
        location: String::new(),
        detail: None,
        message,
        ingress: None,
        sid: None,
    };
    match segments.first().map(String::as_str) {
        Some("Resources") if segments.len() > 1 => {
            let id = segments[1].clone();
            finding.location = id.clone();
            let resource = document["Resources"].get(&id);
            finding.resource = Some(id);
            if let Some(resource) = resource {
                describe(resource, &segments[2..], &mut finding);
            }
        }
        Some("Parameters") if segments.len() > 1 => {
            finding.location = format!("parameter {}", segments[1]);
        }
        Some("Outputs") if segments.len() > 1 => {
            finding.location = format!("output {}", segments[1]);
        }
        _ => {}
    }
    finding
}

fn pointer<'a>(document: &'a Value, segments: &[String]) -> Option<&'a Value> {
    segments
        .iter()
        .try_fold(document, |value, segment| match value {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

/// Fills in what inside the resource a finding is about: an ingress rule, a policy statement,
/// a managed policy or a block device.
fn describe(resource: &Value, path: &[String], finding: &mut Finding) {
    let index_after = |name: &str| -> Option<usize> {
        let at = path.iter().position(|segment| segment == name)?;
        path.get(at + 1)?.parse::<usize>().ok().map(|_| at + 2)
    };
    let ingress = if resource["Type"] == "AWS::EC2::SecurityGroupIngress" {
        resource.get("Properties")
    } else {
        index_after("SecurityGroupIngress").and_then(|end| pointer(resource, &path[..end]))
    };
    if let Some(entry) = ingress {
        let protocol = match &entry["IpProtocol"] {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            _ => "?".into(),
        };
        let source = entry["CidrIp"]
            .as_str()
            .or_else(|| entry["CidrIpv6"].as_str())
            .unwrap_or("a source not known before deployment");
        let ports = (entry["FromPort"].as_i64(), entry["ToPort"].as_i64());
        finding.detail = Some(match (protocol.as_str(), ports) {
            ("-1", _) => format!("ingress of all traffic from {source}"),
            (_, (Some(from), Some(to))) if from == to => {
                format!("ingress {protocol} {from} from {source}")
            }
            (_, (Some(from), Some(to))) => format!("ingress {protocol} {from}-{to} from {source}"),
            _ => format!("ingress {protocol} from {source}"),
        });
        if protocol != "-1" {
            if let (Some(from), Some(to)) = ports {
                finding.ingress = Some((from, to));
            }
        }
        return;
    }
    if let Some(at) = path.iter().position(|segment| segment == "Statement") {
        let (statement, end) = match path.get(at + 1).and_then(|s| s.parse::<usize>().ok()) {
            Some(index) => (pointer(resource, &path[..at + 2]), Some(index)),
            None => (pointer(resource, &path[..at + 1]), None),
        };
        let sid = statement
            .and_then(|s| s["Sid"].as_str())
            .map(str::to_string);
        let policy = path
            .iter()
            .position(|segment| segment == "Policies")
            .and_then(|p| pointer(resource, &path[..(p + 2).min(path.len())]))
            .and_then(|policy| policy["PolicyName"].as_str());
        let mut detail = match (&sid, end) {
            (Some(sid), _) => format!("statement {sid}"),
            (None, Some(index)) => format!("statement {} (no Sid)", index + 1),
            (None, None) => "statement (no Sid)".to_string(),
        };
        if let Some(policy) = policy {
            detail = format!("policy {policy}, {detail}");
        }
        finding.detail = Some(detail);
        finding.sid = sid;
        return;
    }
    if let Some(end) = index_after("ManagedPolicyArns") {
        finding.detail = pointer(resource, &path[..end]).map(|arn| match arn {
            Value::String(arn) => format!("managed policy {arn}"),
            other => format!("managed policy {other}"),
        });
        return;
    }
    if let Some(end) = index_after("BlockDeviceMappings") {
        finding.detail = pointer(resource, &path[..end])
            .and_then(|mapping| mapping["DeviceName"].as_str())
            .map(|device| format!("block device {device}"));
    }
}

/// Whether `suppression` covers `finding` of `rule`.
pub(super) fn covers(suppression: &Suppression, rule: &str, finding: &Finding) -> bool {
    if suppression.rule != rule {
        return false;
    }
    if suppression.resource.is_some() && suppression.resource != finding.resource {
        return false;
    }
    if let Some(ports) = &suppression.ports {
        match finding.ingress {
            Some((from, to)) if from >= 0 && to >= from && to - from < 1024 => {
                if !(from..=to).all(|port| ports.iter().any(|p| i64::from(*p) == port)) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    if let Some(sid) = &suppression.sid {
        if finding.sid.as_deref() != Some(sid.as_str()) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_positions_are_dropped_from_messages() {
        assert_eq!(
            clean_guard_message("property [/Resources/A[L:3,C:4]] is missing [L:0,C:0]"),
            "property [/Resources/A] is missing "
        );
    }

    #[test]
    fn port_suppressions_cover_exactly_their_ports() {
        let suppression = Suppression {
            resource: Some("Sg".into()),
            rule: "r".into(),
            reason: "why".into(),
            ports: Some(vec![9010]),
            sid: None,
        };
        let finding = |ingress| Finding {
            resource: Some("Sg".into()),
            location: "Sg".into(),
            detail: None,
            message: String::new(),
            ingress,
            sid: None,
        };
        assert!(covers(&suppression, "r", &finding(Some((9010, 9010)))));
        assert!(!covers(&suppression, "r", &finding(Some((9010, 9011)))));
        assert!(!covers(&suppression, "r", &finding(None)));
        assert!(!covers(&suppression, "other", &finding(Some((9010, 9010)))));
    }
}
