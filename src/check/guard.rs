//! AWS CloudFormation Guard (the `cfn-guard` crate) as a library: parse a rules file, evaluate
//! it against one in-memory document, and read back which rules passed, did not apply, or
//! failed, with each failing clause's path and message.
//!
//! Two entry points of the crate are used, for what each does right in 3.2:
//!
//! - `cfn_guard::run_checks` to parse a rules file: it returns the parser's error with line and
//!   column. Its report is not used: it returns only what is left in an 8 KiB `BufWriter`'s
//!   buffer (`BufWriter::buffer()` instead of the written bytes), so a longer report comes back
//!   cut off at the front.
//! - `ValidateBuilder` with `payload` (rules and data as strings, read from an in-memory reader)
//!   and `structured` JSON output into an in-memory writer, for the evaluation: the whole report,
//!   one `FileReport` per document, with `compliant`, `not_applicable` (and
//!   `not_applicable_reasons`) and `not_compliant` (a tree of rule, disjunction, block and clause
//!   reports).
//!
//! The crate evaluates with `Rc` values: everything here is synchronous and keeps nothing, so it
//! runs inside the async command as plain code. A panic inside the crate becomes an error.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use cfn_guard::commands::validate::{OutputFormatType, ShowSummaryType};
use cfn_guard::commands::Executable;
use cfn_guard::utils::reader::{ReadBuffer, Reader};
use cfn_guard::utils::writer::{WriteBuffer, Writer};
use cfn_guard::{CommandBuilder, ValidateBuilder, ValidateInput};
use serde_json::Value;

/// One failing clause of a rule: where it looked and what it says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Clause {
    /// JSON pointer into the evaluated document of the value the clause failed on (`""`: the
    /// document's root).
    pub path: String,
    /// The value at `path`, as Guard reports it.
    pub value: Option<Value>,
    /// The rule author's `<< message >>` of the clause, if any.
    pub custom_message: Option<String>,
    /// Guard's own explanation.
    pub error_message: Option<String>,
}

/// The outcome of one rules file on one document.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    /// Rules that passed.
    pub passed: Vec<String>,
    /// Rules that did not apply, with Guard's reason when it gives one.
    pub not_applicable: Vec<(String, Option<String>)>,
    /// Rules that failed, with their failing clauses.
    pub failed: Vec<(String, Vec<Clause>)>,
}

/// Checks that `text` parses as a Guard rules file; `Err` carries Guard's message.
pub(crate) fn parse(file_name: &str, text: &str) -> Result<(), String> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        cfn_guard::run_checks(
            ValidateInput {
                content: "{}",
                file_name: "empty.json",
            },
            ValidateInput {
                content: text,
                file_name,
            },
            false,
        )
    }));
    match result {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err("cfn-guard panicked while parsing it".into()),
    }
}

/// Evaluates the rules `text` against `document` (JSON text).
pub(crate) fn evaluate(text: &str, document: &str) -> Result<Outcome, String> {
    let payload = serde_json::json!({ "rules": [text], "data": [document] }).to_string();
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<String, String> {
        let mut reader = Reader::new(ReadBuffer::Cursor(Cursor::new(payload.into_bytes())));
        let mut writer =
            Writer::new_with_err(WriteBuffer::Vec(Vec::new()), WriteBuffer::Vec(Vec::new()))
                .map_err(|err| err.to_string())?;
        let command = ValidateBuilder::default()
            .payload(true)
            .structured(true)
            .output_format(OutputFormatType::JSON)
            .show_summary(vec![ShowSummaryType::None])
            .try_build()
            .map_err(|err| err.to_string())?;
        let code = command
            .execute(&mut writer, &mut reader)
            .map_err(|err| err.to_string())?;
        // 0: every rule passed or did not apply; 19: a rule failed; anything else (5) is an
        // error the report does not carry.
        if code != 0 && code != 19 {
            return Err(format!("cfn-guard validate ended with status {code}"));
        }
        writer.into_string().map_err(|err| err.to_string())
    }));
    let output = match result {
        Ok(output) => output?,
        Err(_) => return Err("cfn-guard panicked while evaluating the rules".into()),
    };
    let reports: Value = serde_json::from_str(&output)
        .map_err(|err| format!("cannot read cfn-guard's report: {err}"))?;
    let report = reports
        .get(0)
        .ok_or_else(|| "cfn-guard's report is empty".to_string())?;
    Ok(outcome(report))
}

/// Reads one `FileReport`.
fn outcome(report: &Value) -> Outcome {
    let names = |key: &str| -> Vec<String> {
        report[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|name| name.as_str().map(str::to_string))
            .collect()
    };
    let reasons = report.get("not_applicable_reasons");
    let mut outcome = Outcome {
        passed: names("compliant"),
        not_applicable: names("not_applicable")
            .into_iter()
            .map(|name| {
                let reason = reasons
                    .and_then(|reasons| reasons.get(&name))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                (name, reason)
            })
            .collect(),
        failed: Vec::new(),
    };
    for failure in report["not_compliant"].as_array().into_iter().flatten() {
        let Some(rule) = failure.get("Rule") else {
            continue;
        };
        let name = rule["name"].as_str().unwrap_or("default").to_string();
        let mut clauses = Vec::new();
        collect(failure, &mut clauses);
        match outcome.failed.iter_mut().find(|(known, _)| *known == name) {
            Some((_, known)) => known.extend(clauses),
            None => outcome.failed.push((name, clauses)),
        }
    }
    outcome
}

/// Collects the leaf clauses of a `ClauseReport` tree.
fn collect(node: &Value, out: &mut Vec<Clause>) {
    let Some(map) = node.as_object() else {
        return;
    };
    for (kind, inner) in map {
        match kind.as_str() {
            "Rule" | "Disjunctions" => {
                for check in inner["checks"].as_array().into_iter().flatten() {
                    collect(check, out);
                }
            }
            "Clause" => {
                if let Some(report) = inner.get("Binary").or_else(|| inner.get("Unary")) {
                    let (path, value) = checked(&report["check"]);
                    out.push(Clause {
                        path,
                        value,
                        custom_message: text(&report["messages"]["custom_message"]),
                        error_message: text(&report["messages"]["error_message"]),
                    });
                }
            }
            "Block" => {
                let traversed = &inner["unresolved"]["traversed_to"];
                out.push(Clause {
                    path: traversed["path"].as_str().unwrap_or_default().to_string(),
                    value: traversed.get("value").cloned(),
                    custom_message: text(&inner["messages"]["custom_message"]),
                    error_message: text(&inner["messages"]["error_message"]),
                });
            }
            _ => {}
        }
    }
}

/// The path and value a clause's check was about.
fn checked(check: &Value) -> (String, Option<Value>) {
    let target = check
        .get("Resolved")
        .and_then(|resolved| resolved.get("from").or_else(|| resolved.get("value")))
        .or_else(|| {
            check
                .get("InResolved")
                .and_then(|resolved| resolved.get("from"))
        })
        .or_else(|| {
            check
                .get("UnResolved")
                .and_then(|unresolved| unresolved["value"].get("traversed_to"))
        });
    match target {
        Some(target) => (
            target["path"].as_str().unwrap_or_default().to_string(),
            target.get("value").cloned(),
        ),
        None => (String::new(), None),
    }
}

fn text(value: &Value) -> Option<String> {
    value
        .as_str()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_is_reported_with_its_place() {
        let err = parse("bad.guard", "rule broken {\n  Resources.*[ Type == ]\n}\n").unwrap_err();
        assert!(err.contains("bad.guard"), "{err}");
    }

    #[test]
    fn rules_pass_skip_and_fail_with_paths_and_messages() {
        let rules = "rule pass_me { Resources.*.Type exists }\n\
                     rule skip_me { Resources.*[ Type == 'AWS::S3::Bucket' ] { Properties exists } }\n\
                     rule fail_me {\n  Resources.*[ Type == 'AWS::EC2::Volume' ] {\n    Properties.Encrypted == true\n    <<not encrypted>>\n  }\n}\n";
        let document = r#"{"Resources": {"V": {"Type": "AWS::EC2::Volume", "Properties": {"Encrypted": false}}}}"#;
        let outcome = evaluate(rules, document).unwrap();
        assert_eq!(outcome.passed, ["pass_me"]);
        assert_eq!(outcome.not_applicable[0].0, "skip_me");
        let (name, clauses) = &outcome.failed[0];
        assert_eq!(name, "fail_me");
        assert_eq!(clauses[0].path, "/Resources/V/Properties/Encrypted");
        assert_eq!(clauses[0].custom_message.as_deref(), Some("not encrypted"));
    }

    #[test]
    fn a_long_report_comes_back_whole() {
        // Past the 8 KiB that `run_checks` would cut off.
        let volumes: serde_json::Map<String, Value> = (0..200)
            .map(|i| {
                (
                    format!("Volume{i}"),
                    serde_json::json!({"Type": "AWS::EC2::Volume", "Properties": {}}),
                )
            })
            .collect();
        let document = serde_json::json!({ "Resources": volumes }).to_string();
        let rules = "rule enc { Resources.*[ Type == 'AWS::EC2::Volume' ] { Properties.Encrypted == true <<no>> } }";
        let outcome = evaluate(rules, &document).unwrap();
        assert_eq!(outcome.failed[0].1.len(), 200);
    }
}
