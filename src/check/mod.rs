//! `nodectl check`: evaluates the rendered stacks against policy rules written in AWS
//! CloudFormation Guard (`rules/*.guard`, embedded in the binary, plus the user's `--rules DIR`)
//! and reports, for every stack and rule, pass, fail, suppressed or not applicable, with the
//! Well-Architected control and check the rule implements (`rules/catalog.json`) and the remark
//! of that row in the blueprint's seed checklist (the blueprint's facts).
//!
//! The flow: [`document::document`] turns a template into what CloudFormation would deploy plus
//! the blueprint's declarations (its facts), [`guard::evaluate`] runs one rules file on it, and the failing
//! clauses become [`Row`]s at the resource they point to, suppressed where the resource's
//! metadata says so with a reason ([`suppress`]). Everything is offline.

pub mod catalog;
pub mod document;
pub mod guard;
pub mod report;
pub mod suppress;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use self::catalog::{Catalog, RuleInfo, SUPPRESSION_RULE};
use self::guard::Clause;
use self::suppress::Suppression;
use crate::error::{Error, Result};
use crate::facts::Facts;
use crate::template::eval::{partition, Pseudo};
use crate::template::Template;

pub use self::report::{Report, Row, Status};

/// The built-in rules files, embedded in the binary, in report order.
pub const BUILT_IN_RULES: &[(&str, &str)] = &[
    ("network.guard", include_str!("../../rules/network.guard")),
    ("compute.guard", include_str!("../../rules/compute.guard")),
    ("iam.guard", include_str!("../../rules/iam.guard")),
    ("secrets.guard", include_str!("../../rules/secrets.guard")),
    ("s3.guard", include_str!("../../rules/s3.guard")),
    ("cost.guard", include_str!("../../rules/cost.guard")),
    (
        "reliability.guard",
        include_str!("../../rules/reliability.guard"),
    ),
];

/// One rules file.
#[derive(Debug, Clone)]
pub struct RuleFile {
    /// `rules/<name>` for the built-in files, the path for the user's.
    pub name: String,
    /// Whether it is one of [`BUILT_IN_RULES`].
    pub built_in: bool,
    /// The rules (Guard language).
    pub text: String,
}

/// The rules to evaluate and their descriptions.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// The files, built-in ones first.
    pub files: Vec<RuleFile>,
    /// The built-in catalog (rule descriptions and blueprint declarations).
    pub catalog: Catalog,
    /// Descriptions of the user's rules (`catalog.json` in `--rules DIR`).
    pub user_catalog: Catalog,
}

impl RuleSet {
    /// The built-in rules.
    pub fn built_in() -> RuleSet {
        RuleSet {
            files: BUILT_IN_RULES
                .iter()
                .map(|(name, text)| RuleFile {
                    name: format!("rules/{name}"),
                    built_in: true,
                    text: text.to_string(),
                })
                .collect(),
            catalog: Catalog::built_in(),
            user_catalog: Catalog::default(),
        }
    }

    /// Adds every `*.guard` file of `dir` (in name order), and `dir/catalog.json` if present.
    /// Each file must parse.
    pub fn add_dir(&mut self, dir: &Path) -> Result<()> {
        let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
            action: "read the rules directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "guard") && path.is_file())
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(Error::usage(
                format!("--rules {}: the directory has no .guard files", dir.display()),
                "put AWS CloudFormation Guard rules files (NAME.guard) in it; docs/checks.md has an example",
            ));
        }
        for path in paths {
            let text = read(&path)?;
            let name = path.display().to_string();
            guard::parse(&name, &text).map_err(|message| {
                Error::usage(
                    format!("cannot parse the rules file {name}: {message}"),
                    "fix the rule (the AWS CloudFormation Guard language; docs/checks.md has an example)",
                )
            })?;
            self.files.push(RuleFile {
                name,
                built_in: false,
                text,
            });
        }
        let catalog = dir.join("catalog.json");
        if catalog.is_file() {
            let parsed = Catalog::parse(&read(&catalog)?).map_err(|message| {
                Error::usage(
                    format!("{} is not a rule catalog: {message}", catalog.display()),
                    "write {\"rules\": {\"<rule>\": {\"control\": \"...\", \"check\": \"...\", \"remarks\": {\"<blueprint>\": \"...\"}}}} (docs/checks.md)",
                )
            })?;
            if parsed.blueprints.is_some() {
                return Err(Error::usage(
                    format!("{} declares blueprints", catalog.display()),
                    "only the built-in catalog declares what a blueprint needs; describe your rules under \"rules\"",
                ));
            }
            self.user_catalog = parsed;
        }
        Ok(())
    }

    /// The description of `rule`: the built-in catalog's, else the user catalog's.
    pub fn describe(&self, rule: &str) -> Option<&RuleInfo> {
        self.catalog
            .rule(rule)
            .or_else(|| self.user_catalog.rule(rule))
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })
}

/// One template to check.
#[derive(Debug, Clone)]
pub struct Target {
    /// The stack name (for a `--template` file: the file name).
    pub stack: String,
    /// The template.
    pub template: Template,
    /// The file it was read from, for `--template`.
    pub file: Option<PathBuf>,
}

/// What the rules know about the deployment besides the template.
#[derive(Debug, Clone)]
pub struct Context {
    /// The blueprint's name.
    pub blueprint: String,
    /// What the blueprint declares (families, managed policies, checklist remarks).
    pub facts: &'static Facts,
    /// The region the stacks go to.
    pub region: String,
    /// The account id, when the configuration has a valid one.
    pub account: Option<String>,
}

/// Evaluates every rule on every target and builds the report.
pub fn check(rules: &RuleSet, context: &Context, targets: &[Target]) -> Result<Report> {
    let mut report = Report::new(&context.blueprint);
    let nodectl_base = blueprint_declarations(context);
    for target in targets {
        let pseudo = Pseudo {
            region: context.region.clone(),
            account: context.account.clone(),
            stack: target.stack.clone(),
        };
        let mut nodectl = nodectl_base.clone();
        nodectl["Stack"] = Value::String(target.stack.clone());
        let document = document::document(&target.template, pseudo, nodectl);
        let text = document.to_string();
        let (suppressions, invalid) = suppress::read(&document);
        let mut known_rules = BTreeSet::new();
        let mut rows = Vec::new();
        for file in &rules.files {
            let outcome = guard::evaluate(&file.text, &text).map_err(|message| {
                Error::usage(
                    format!(
                        "cannot evaluate {} on `{}`: {message}",
                        file.name, target.stack
                    ),
                    "run with -v for details; a rule that cfn-guard cannot evaluate is a bug in the rule",
                )
            })?;
            for name in rule_order(&file.text, &outcome) {
                if !known_rules.insert(name.clone()) || name == SUPPRESSION_RULE {
                    return Err(Error::usage(
                        format!(
                            "rule `{name}` of {} has the same name as another rule",
                            file.name
                        ),
                        "give every rule its own name",
                    ));
                }
                let base = RowBase::new(rules, context, &target.stack, &name, file);
                rows.extend(rows_of(&base, &name, &outcome, &document, &suppressions));
            }
        }
        let info = rules
            .describe(SUPPRESSION_RULE)
            .cloned()
            .unwrap_or_default();
        let base = RowBase {
            stack: target.stack.clone(),
            source: "nodectl".into(),
            remark: remark(context, SUPPRESSION_RULE, &info),
            info,
        };
        rows.extend(suppression_rows(&base, &suppressions, &invalid));
        report.rows.extend(order_rows(rules, rows));
        for suppression in &suppressions {
            if !known_rules.contains(&suppression.rule) {
                report.warnings.push(format!(
                    "{}: the suppression of `{}` on {} names no rule nodectl knows; it suppresses nothing",
                    target.stack,
                    suppression.rule,
                    suppression.resource.as_deref().unwrap_or("the template"),
                ));
            }
        }
    }
    Ok(report)
}

/// The `Nodectl` object of the evaluated document, without the stack name.
fn blueprint_declarations(context: &Context) -> Value {
    let facts = context.facts;
    let partition = partition(&context.region);
    json!({
        "Blueprint": context.blueprint,
        "Region": context.region,
        "RecommendedInstanceFamilies": facts.recommended_instance_families.families,
        "DeclaredManagedPolicyArns": facts
            .declared_managed_policies
            .iter()
            .map(|policy| format!("arn:{partition}:iam::aws:policy/{}", policy.name))
            .collect::<Vec<_>>(),
    })
}

/// The rules of a file in the order the file defines them (Guard reports them sorted).
fn rule_order(text: &str, outcome: &guard::Outcome) -> Vec<String> {
    let mut reported: BTreeSet<String> = outcome.passed.iter().cloned().collect();
    reported.extend(outcome.not_applicable.iter().map(|(name, _)| name.clone()));
    reported.extend(outcome.failed.iter().map(|(name, _)| name.clone()));
    let mut ordered = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix("rule ") else {
            continue;
        };
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if reported.remove(&name) {
            ordered.push(name);
        }
    }
    ordered.extend(reported);
    ordered
}

/// What every row of one rule on one stack shares.
struct RowBase {
    stack: String,
    source: String,
    info: RuleInfo,
    remark: String,
}

/// The seed checklist's remark on `rule`: the blueprint's facts, or for the user's rules what
/// their catalog says for the blueprint.
fn remark(context: &Context, rule: &str, info: &RuleInfo) -> String {
    match context.facts.remark(rule) {
        "" => info.remark(&context.blueprint).to_string(),
        remark => remark.to_string(),
    }
}

impl RowBase {
    fn new(rules: &RuleSet, context: &Context, stack: &str, rule: &str, file: &RuleFile) -> Self {
        let info = rules.describe(rule).cloned().unwrap_or_else(|| RuleInfo {
            control: "(custom rule)".into(),
            check: rule.to_string(),
            ..RuleInfo::default()
        });
        RowBase {
            stack: stack.to_string(),
            source: file.name.clone(),
            remark: remark(context, rule, &info),
            info,
        }
    }

    fn row(&self, rule: &str, status: Status) -> Row {
        Row {
            stack: self.stack.clone(),
            rule: rule.to_string(),
            source: self.source.clone(),
            pillar: self.info.pillar.clone(),
            control: self.info.control.clone(),
            check: self.info.check.clone(),
            summary: self.info.summary.clone(),
            remark: self.remark.clone(),
            resource: None,
            location: String::new(),
            detail: None,
            status,
            message: String::new(),
            reason: String::new(),
        }
    }
}

/// A failing place: the resource (or parameter, or the stack), what in it, and the message.
#[derive(Debug, Clone, PartialEq)]
struct Finding {
    resource: Option<String>,
    location: String,
    detail: Option<String>,
    message: String,
    ingress: Option<(i64, i64)>,
    sid: Option<String>,
}

fn rows_of(
    base: &RowBase,
    rule: &str,
    outcome: &guard::Outcome,
    document: &Value,
    suppressions: &[Suppression],
) -> Vec<Row> {
    if outcome.passed.iter().any(|name| name == rule) {
        return vec![base.row(rule, Status::Pass)];
    }
    if let Some((_, reason)) = outcome.not_applicable.iter().find(|(name, _)| name == rule) {
        let mut row = base.row(rule, Status::NotApplicable);
        row.reason = reason
            .clone()
            .unwrap_or_else(|| "nothing in the stack that the rule checks".into());
        return vec![row];
    }
    let clauses = outcome
        .failed
        .iter()
        .find(|(name, _)| name == rule)
        .map(|(_, clauses)| clauses.as_slice())
        .unwrap_or_default();
    findings(clauses, document)
        .into_iter()
        .map(|finding| {
            let suppression = suppressions
                .iter()
                .find(|suppression| covers(suppression, rule, &finding));
            let mut row = base.row(
                rule,
                if suppression.is_some() {
                    Status::Suppressed
                } else {
                    Status::Fail
                },
            );
            row.reason = match suppression {
                Some(suppression) => suppression.reason.clone(),
                None => finding.message.clone(),
            };
            row.resource = finding.resource;
            row.location = finding.location;
            row.detail = finding.detail;
            row.message = finding.message;
            row
        })
        .collect()
}

/// The distinct findings of a failed rule's clauses. When some clauses carry the rule author's
/// message, only those count: the others are the unmessaged halves of a disjunction or a
/// filter's non-matches, which Guard reports too.
fn findings(clauses: &[Clause], document: &Value) -> Vec<Finding> {
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
fn clean_guard_message(message: &str) -> String {
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
fn covers(suppression: &Suppression, rule: &str, finding: &Finding) -> bool {
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

/// The rows of [`SUPPRESSION_RULE`]: a failure per invalid suppression, else pass (or not
/// applicable when the stack suppresses nothing).
fn suppression_rows(
    base: &RowBase,
    suppressions: &[Suppression],
    invalid: &[suppress::Invalid],
) -> Vec<Row> {
    if invalid.is_empty() {
        let status = if suppressions.is_empty() {
            Status::NotApplicable
        } else {
            Status::Pass
        };
        let mut row = base.row(SUPPRESSION_RULE, status);
        if suppressions.is_empty() {
            row.reason = "the template suppresses nothing".into();
        }
        return vec![row];
    }
    invalid
        .iter()
        .map(|problem| {
            let mut row = base.row(SUPPRESSION_RULE, Status::Fail);
            row.resource = problem.resource.clone();
            row.location = problem
                .resource
                .clone()
                .unwrap_or_else(|| "template Metadata".into());
            row.message = problem.message.clone();
            row.reason = problem.message.clone();
            row
        })
        .collect()
}

/// Rows in report order: built-in rules in catalog order, then the user's in file order.
fn order_rows(rules: &RuleSet, rows: Vec<Row>) -> Vec<Row> {
    let position = |rule: &str| {
        rules
            .catalog
            .rules
            .iter()
            .position(|(name, _)| name == rule)
            .unwrap_or(usize::MAX)
    };
    let mut indexed: Vec<(usize, usize, Row)> = rows
        .into_iter()
        .enumerate()
        .map(|(index, row)| (position(&row.rule), index, row))
        .collect();
    indexed.sort_by_key(|(position, index, _)| (*position, *index));
    indexed.into_iter().map(|(_, _, row)| row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_rule_parses_and_is_in_the_catalog() {
        let rules = RuleSet::built_in();
        let mut names = BTreeSet::new();
        for file in &rules.files {
            guard::parse(&file.name, &file.text).unwrap();
            let outcome = guard::evaluate(&file.text, r#"{"Resources": {}}"#).unwrap();
            for name in rule_order(&file.text, &outcome) {
                let info = rules.describe(&name).unwrap_or_else(|| panic!("{name}"));
                assert_eq!(
                    info.file.as_deref(),
                    file.name.strip_prefix("rules/"),
                    "{name}"
                );
                names.insert(name);
            }
        }
        let catalogued: BTreeSet<String> = rules
            .catalog
            .rules
            .iter()
            .map(|(name, _)| name.clone())
            .filter(|name| name != SUPPRESSION_RULE)
            .collect();
        assert_eq!(names, catalogued);
    }

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
