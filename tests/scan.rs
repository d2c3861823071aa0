//! The CI gate of the templates: every blueprint rendered for every sample config (ours and the
//! upstream ones) and a matrix of data volume types, then cfn-lint (clean) and checkov (no
//! failed check; a skipped one only through a suppression with a reason in the template's
//! metadata, listed in docs/suppressions.md). checkov runs with `--skip-download`: it makes no
//! network request.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{repo, venv_program, Workspace};

/// The sample configs: ours and the upstream ones, as users have them (placeholders included:
/// rendering needs no account).
const SAMPLES: &[&str] = &[
    "sample-configs/allora.env",
    "sample-configs/theta.env",
    "tests/data/allora-pr88.env-sample-full",
    "tests/data/allora-pr158.env-sample-full",
    "tests/data/allora-pr158.env-test",
    "tests/data/allora-pr170.env-sample-full",
    "tests/data/theta-v1.env-sample-full",
    "tests/data/theta-v1.env-test",
];

/// Samples of blueprints without a data volume, rendered once each (no volume matrix), with
/// how many stacks they render.
const OTHER_SAMPLES: &[(&str, usize)] = &[("sample-configs/dynabench.env", 3)];

/// Data volume variants, as process environment overrides. instance-store needs an instance
/// type with instance store volumes: the Allora samples' t3 types have none.
const VOLUMES: &[(&str, &[(&str, &str)])] = &[
    ("gp3", &[]),
    (
        "io1",
        &[
            ("EDGE_DATA_VOL_TYPE", "io1"),
            ("EDGE_DATA_VOL_IOPS", "3000"),
        ],
    ),
    (
        "io2",
        &[
            ("EDGE_DATA_VOL_TYPE", "io2"),
            ("EDGE_DATA_VOL_IOPS", "10000"),
        ],
    ),
    (
        "instance-store",
        &[
            ("EDGE_DATA_VOL_TYPE", "instance-store"),
            ("AWS_INSTANCE_TYPE", "m6id.large"),
        ],
    ),
];

/// Renders the whole matrix into `dir` (one subdirectory per sample and volume type) and
/// returns the template files.
fn render_matrix(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for sample in SAMPLES {
        let text = std::fs::read_to_string(repo().join(sample)).unwrap();
        let workspace = Workspace::new(&text);
        for (volume, env) in VOLUMES {
            let name = format!(
                "{}-{volume}",
                Path::new(sample).file_name().unwrap().to_string_lossy()
            );
            let out_dir = dir.join(&name);
            let out = workspace.run_with(&["render", "--out-dir", out_dir.to_str().unwrap()], env);
            out.success();
            for entry in std::fs::read_dir(&out_dir).unwrap() {
                files.push(entry.unwrap().path());
            }
        }
    }
    let mut others = 0;
    for (sample, stacks) in OTHER_SAMPLES {
        let text = std::fs::read_to_string(repo().join(sample)).unwrap();
        let out_dir = dir.join(Path::new(sample).file_name().unwrap());
        let out = Workspace::new(&text).run(&["render", "--out-dir", out_dir.to_str().unwrap()]);
        out.success();
        assert_eq!(
            out.stderr
                .lines()
                .filter(|l| l.starts_with("warning"))
                .count(),
            0
        );
        for entry in std::fs::read_dir(&out_dir).unwrap() {
            files.push(entry.unwrap().path());
        }
        others += stacks;
    }
    files.sort();
    assert_eq!(files.len(), SAMPLES.len() * VOLUMES.len() * 2 + others);
    files
}

/// checkov's results for `dir`: (check id, result, file, resource, suppress comment).
fn checkov(dir: &Path) -> Vec<(String, String, String, String, Option<String>)> {
    let output = Command::new(venv_program("checkov", "checkov"))
        .args(["-d", dir.to_str().unwrap()])
        .args([
            "--framework",
            "cloudformation",
            "--skip-download",
            "--compact",
        ])
        .args(["-o", "json"])
        .output()
        .expect("run checkov");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "checkov printed no JSON ({err}):\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let reports = match report {
        Value::Array(reports) => reports,
        one => vec![one],
    };
    let mut results = Vec::new();
    for report in reports {
        assert_eq!(
            report["summary"]["parsing_errors"], 0,
            "{}",
            report["summary"]
        );
        for kind in ["passed_checks", "failed_checks", "skipped_checks"] {
            for check in report["results"][kind].as_array().unwrap() {
                let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
                results.push((
                    text(&check["check_id"]),
                    text(&check["check_result"]["result"]),
                    text(&check["file_path"]),
                    text(&check["resource"]),
                    check["check_result"]["suppress_comment"]
                        .as_str()
                        .map(str::to_string),
                ));
            }
        }
    }
    results
}

#[test]
#[ignore = "full suite: needs cfn-lint and checkov (scripts/test installs them)"]
fn every_sample_and_volume_type_passes_cfn_lint_and_checkov() {
    let dir = tempfile::tempdir().unwrap();
    let files = render_matrix(dir.path());
    crate::render::cfn_lint(&files);

    let results = checkov(dir.path());
    let failed: Vec<String> = results
        .iter()
        .filter(|(_, result, ..)| result == "FAILED")
        .map(|(id, _, file, resource, _)| format!("{id} {resource} in {file}"))
        .collect();
    assert!(
        failed.is_empty(),
        "checkov failed checks (fix the template, or suppress with a reason in the resource's \
         Metadata.checkov.skip and docs/suppressions.md):\n  {}",
        failed.join("\n  ")
    );
    assert!(
        results.iter().filter(|(_, r, ..)| r == "PASSED").count() > 100,
        "checkov checked the templates"
    );
    let suppressions = std::fs::read_to_string(repo().join("docs/suppressions.md")).unwrap();
    for (id, _, file, resource, comment) in results.iter().filter(|(_, r, ..)| r == "SKIPPED") {
        assert!(
            comment.as_deref().is_some_and(|c| c.len() >= 40),
            "{id} on {resource} in {file} is skipped without a reason"
        );
        let logical_id = resource.rsplit('.').next().unwrap();
        assert!(
            suppressions.contains(&format!("`{id}`")) && suppressions.contains(logical_id),
            "docs/suppressions.md does not list {id} on {resource}"
        );
    }
}
