//! The report of `nodectl check`: one row per stack, rule and finding, printed as a text table,
//! as JSON, or as SARIF 2.1.0 (for code scanning tools).

use serde_json::{json, Map, Value};

/// The result of one rule at one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// The rule holds.
    Pass,
    /// The rule fails here.
    Fail,
    /// The rule fails here, and the template suppresses it with a reason.
    Suppressed,
    /// Nothing in the stack is of the kind the rule checks.
    NotApplicable,
}

impl Status {
    /// How the status is written: `pass`, `FAIL`, `suppressed`, `n/a`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::Suppressed => "suppressed",
            Status::NotApplicable => "n/a",
        }
    }

    /// The status in JSON: `pass`, `fail`, `suppressed`, `notApplicable`.
    pub(crate) fn json(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Suppressed => "suppressed",
            Status::NotApplicable => "notApplicable",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// Stack name (or `--template` file name).
    pub stack: String,
    /// Rule name.
    pub rule: String,
    /// The rules file that holds the rule (`rules/network.guard`, a user path, or `nodectl`).
    pub source: String,
    /// Well-Architected pillar.
    pub pillar: String,
    /// The seed checklist's control.
    pub control: String,
    /// The seed checklist's question or check.
    pub check: String,
    /// What the rule verifies.
    pub summary: String,
    /// The seed checklist row's remark for the blueprint (empty: no such row).
    pub remark: String,
    /// The resource's logical id, when the finding is in a resource.
    pub resource: Option<String>,
    /// Where: the logical id, `parameter X`, `output X`, or empty for the whole stack.
    pub location: String,
    /// What inside the resource, e.g. `ingress tcp 9010 from 0.0.0.0/0`.
    pub detail: Option<String>,
    /// The result.
    pub status: Status,
    /// What failed (for failed and suppressed rows).
    pub message: String,
    /// The reason shown: the failure message, the suppression's reason, or why the rule did
    /// not apply.
    pub reason: String,
}

impl Row {
    /// `location (detail)`, or `-` for the whole stack.
    pub(crate) fn place(&self) -> String {
        match (&self.detail, self.location.is_empty()) {
            (_, true) => "-".into(),
            (Some(detail), false) => format!("{} ({detail})", self.location),
            (None, false) => self.location.clone(),
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, Default)]
pub(crate) struct Report {
    /// The blueprint's name.
    pub blueprint: String,
    /// Every row: per stack, rules in report order.
    pub rows: Vec<Row>,
    /// Problems that are not failures (a suppression of a rule nodectl does not know).
    pub warnings: Vec<String>,
}

impl Report {
    /// An empty report for `blueprint`.
    pub(crate) fn new(blueprint: &str) -> Self {
        Report {
            blueprint: blueprint.to_string(),
            ..Report::default()
        }
    }

    /// How many rows have `status`.
    pub(crate) fn count(&self, status: Status) -> usize {
        self.rows.iter().filter(|row| row.status == status).count()
    }

    /// The failed rows.
    pub(crate) fn failures(&self) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|row| row.status == Status::Fail)
            .collect()
    }

    /// `N passed, N failed, N suppressed, N not applicable`.
    pub(crate) fn summary(&self) -> String {
        format!(
            "{} passed, {} failed, {} suppressed, {} not applicable",
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::Suppressed),
            self.count(Status::NotApplicable)
        )
    }

    /// The table: one line per row, columns aligned (the last one, the remark, is not padded).
    pub(crate) fn to_text(&self) -> String {
        let header = [
            "STACK", "STATUS", "CONTROL", "CHECK", "RULE", "RESOURCE", "REASON", "REMARK",
        ];
        let cells: Vec<[String; 8]> = self
            .rows
            .iter()
            .map(|row| {
                [
                    row.stack.clone(),
                    row.status.label().to_string(),
                    row.control.clone(),
                    row.check.clone(),
                    row.rule.clone(),
                    row.place(),
                    or_dash(&row.reason),
                    or_dash(&row.remark),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for line in &cells {
            for (width, cell) in widths.iter_mut().zip(line) {
                *width = (*width).max(cell.chars().count());
            }
        }
        // A long reason (a suppression's) would push every remark far right: the column is
        // aligned up to REASON_WIDTH, and a longer reason overflows its own line only.
        widths[6] = widths[6].min(REASON_WIDTH);
        let format_line = |line: &[String]| {
            let mut text = String::new();
            for (index, cell) in line.iter().enumerate() {
                text.push_str(cell);
                if index + 1 < line.len() {
                    let pad = widths[index].saturating_sub(cell.chars().count()) + 2;
                    text.extend(std::iter::repeat_n(' ', pad));
                }
            }
            text.trim_end().to_string()
        };
        let mut lines = vec![format_line(&header.map(str::to_string))];
        lines.extend(cells.iter().map(|line| format_line(line)));
        lines.join("\n")
    }

    /// The report as JSON: `{"blueprint", "passed", "summary", "rows", "warnings"}`.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "blueprint": self.blueprint,
            "passed": self.count(Status::Fail) == 0,
            "summary": {
                "pass": self.count(Status::Pass),
                "fail": self.count(Status::Fail),
                "suppressed": self.count(Status::Suppressed),
                "notApplicable": self.count(Status::NotApplicable),
            },
            "rows": self.rows.iter().map(|row| json!({
                "stack": row.stack,
                "rule": row.rule,
                "source": row.source,
                "pillar": row.pillar,
                "control": row.control,
                "check": row.check,
                "summary": row.summary,
                "resource": row.resource,
                "location": row.location,
                "detail": row.detail,
                "status": row.status.json(),
                "message": row.message,
                "reason": row.reason,
                "remark": row.remark,
            })).collect::<Vec<_>>(),
            "warnings": self.warnings,
        })
    }

    /// The report as a SARIF 2.1.0 log: one run, the rules in `tool.driver.rules`, one result
    /// per row (`kind` pass, fail or notApplicable; a suppressed failure carries an in-source
    /// suppression with its reason), located by logical locations (stack, resource).
    pub(crate) fn to_sarif(&self, version: &str) -> Value {
        let mut rules: Vec<Value> = Vec::new();
        let mut index = Map::new();
        for row in &self.rows {
            if index.contains_key(&row.rule) {
                continue;
            }
            index.insert(row.rule.clone(), json!(rules.len()));
            let mut description = row.summary.clone();
            if !row.remark.is_empty() {
                description.push_str(&format!(" Seed checklist remark: {}", row.remark));
            }
            rules.push(json!({
                "id": row.rule,
                "name": row.rule,
                "shortDescription": {"text": format!("{}: {}", row.control, row.check)},
                "fullDescription": {"text": if description.is_empty() { row.check.clone() } else { description }},
                "defaultConfiguration": {"level": "error"},
                "properties": {
                    "pillar": row.pillar,
                    "control": row.control,
                    "check": row.check,
                    "remark": row.remark,
                    "source": row.source,
                },
            }));
        }
        let results: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let (kind, level) = match row.status {
                    Status::Pass => ("pass", "none"),
                    Status::NotApplicable => ("notApplicable", "none"),
                    Status::Fail | Status::Suppressed => ("fail", "error"),
                };
                let text = match row.status {
                    Status::Pass => format!("{} holds in {}", row.rule, row.stack),
                    Status::NotApplicable => format!("{}: {}", row.rule, row.reason),
                    Status::Fail | Status::Suppressed => {
                        format!("{}: {}", row.place(), row.message)
                    }
                };
                let mut locations = vec![json!({
                    "name": row.stack,
                    "fullyQualifiedName": row.stack,
                    "kind": "module",
                })];
                if !row.location.is_empty() {
                    locations.push(json!({
                        "name": row.location,
                        "fullyQualifiedName": format!("{}/{}", row.stack, row.location),
                        "kind": "resource",
                    }));
                }
                let mut result = json!({
                    "ruleId": row.rule,
                    "ruleIndex": index[&row.rule],
                    "kind": kind,
                    "level": level,
                    "message": {"text": text},
                    "locations": [{"logicalLocations": locations}],
                });
                if row.status == Status::Suppressed {
                    result["suppressions"] = json!([{
                        "kind": "inSource",
                        "justification": row.reason,
                    }]);
                }
                result
            })
            .collect();
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "nodectl",
                    "version": version,
                    "informationUri": "https://github.com/aws-samples/aws-blockchain-node-runners",
                    "rules": rules,
                }},
                "properties": {"blueprint": self.blueprint},
                "results": results,
            }],
        })
    }
}

/// The widest the REASON column is padded to.
const REASON_WIDTH: usize = 48;

fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".into()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: Status) -> Row {
        Row {
            stack: "s".into(),
            rule: "r".into(),
            source: "rules/x.guard".into(),
            pillar: "Security".into(),
            control: "C".into(),
            check: "K".into(),
            summary: "S".into(),
            remark: String::new(),
            resource: Some("Sg".into()),
            location: "Sg".into(),
            detail: Some("ingress tcp 9010 from 0.0.0.0/0".into()),
            status,
            message: "open".into(),
            reason: "why".into(),
        }
    }

    #[test]
    fn the_table_aligns_its_columns() {
        let report = Report {
            blueprint: "test".into(),
            rows: vec![row(Status::Suppressed), row(Status::Pass)],
            warnings: vec![],
        };
        assert_eq!(
            report.to_text(),
            "STACK  STATUS      CONTROL  CHECK  RULE  RESOURCE                              REASON  REMARK\n\
             s      suppressed  C        K      r     Sg (ingress tcp 9010 from 0.0.0.0/0)  why     -\n\
             s      pass        C        K      r     Sg (ingress tcp 9010 from 0.0.0.0/0)  why     -"
        );
    }

    #[test]
    fn sarif_results_carry_kind_level_and_suppressions() {
        let report = Report {
            blueprint: "test".into(),
            rows: vec![row(Status::Suppressed), row(Status::Fail)],
            warnings: vec![],
        };
        let sarif = report.to_sarif("0.1.0");
        assert_eq!(sarif["version"], "2.1.0");
        let run = &sarif["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "r");
        assert_eq!(run["results"][0]["suppressions"][0]["justification"], "why");
        assert!(run["results"][1].get("suppressions").is_none());
        assert_eq!(run["results"][1]["level"], "error");
        assert_eq!(
            run["results"][1]["locations"][0]["logicalLocations"][1]["fullyQualifiedName"],
            "s/Sg"
        );
    }
}
