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

pub(crate) mod catalog;
pub(crate) mod document;
mod findings;
pub(crate) mod guard;
pub(crate) mod report;
mod rules;
pub(crate) mod suppress;

use std::collections::BTreeSet;

use serde_json::{json, Value};

use self::catalog::{RuleInfo, SUPPRESSION_RULE};
use self::suppress::Suppression;
use crate::error::{Error, Result};
use crate::facts::Facts;
use crate::template::eval::{partition, Pseudo};
use crate::template::Template;

use self::findings::{covers, findings};
pub(crate) use self::report::{Report, Row, Status};
pub(crate) use self::rules::{RuleFile, RuleSet};

/// One template to check.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The stack name (for a `--template` file: the file name).
    pub stack: String,
    /// The template.
    pub template: Template,
}

/// What the rules know about the deployment besides the template.
#[derive(Debug, Clone)]
pub(crate) struct Context {
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
pub(crate) fn check(rules: &RuleSet, context: &Context, targets: &[Target]) -> Result<Report> {
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
        // One cfn-guard evaluation per rules file, each on its own thread: they parse the
        // document and the rules independently, and a deploy waits for them.
        let outcomes: Vec<_> = std::thread::scope(|scope| {
            let running: Vec<_> = rules
                .files
                .iter()
                .map(|file| scope.spawn(|| guard::evaluate(&file.text, &text)))
                .collect();
            running
                .into_iter()
                .map(|thread| {
                    thread
                        .join()
                        .unwrap_or_else(|_| Err("cfn-guard panicked".to_string()))
                })
                .collect()
        });
        for (file, outcome) in rules.files.iter().zip(outcomes) {
            let outcome = outcome.map_err(|message| {
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
}
