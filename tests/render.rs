//! `nodectl render`: offline, deterministic, valid CloudFormation (cfn-lint clean for every
//! stack and data volume variant), every upstream sample accepted, no secret in any template.

use std::process::Command;

use crate::support::{upstream, upstream_sample, venv_program, Workspace};

fn sample(account: &str) -> String {
    crate::support::filled(&upstream_sample(), account)
}

/// Runs cfn-lint (from `.venv/moto`) on `paths`; panics with its report unless it is clean
/// (exit 0: no error, no warning).
pub fn cfn_lint(paths: &[std::path::PathBuf]) {
    let output = Command::new(venv_program("moto", "cfn-lint"))
        .args(paths)
        .output()
        .expect("run cfn-lint");
    assert!(
        output.status.success(),
        "cfn-lint reported problems:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn render_needs_no_credentials_and_is_deterministic() {
    // No AWS variables at all, and an unreachable endpoint: render must not care.
    let mut workspace = Workspace::new(&upstream_sample());
    workspace.set("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let first = workspace.run(&["render"]);
    first.success();
    assert_eq!(first.stderr, crate::support::UPSTREAM_WARNINGS);
    let second = workspace.run(&["render"]);
    assert_eq!(first.stdout, second.stdout, "same input, same bytes");
    let all: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    let names: Vec<&str> = all
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, ["allora-edge-common", "allora-single-node"]);

    let one = workspace.run(&["render", "single-node"]);
    one.success();
    let template: serde_json::Value = serde_json::from_str(&one.stdout).unwrap();
    assert_eq!(template, all["allora-single-node"]);
    assert_eq!(
        template["Parameters"]["InstanceType"]["Default"], "t3.medium",
        "configured values become the parameter defaults"
    );
}

#[test]
#[ignore = "full suite: needs cfn-lint and checkov (scripts/test installs them)"]
fn every_stack_and_volume_variant_is_cfn_lint_clean() {
    let variants: &[(&str, &[(&str, &str)])] = &[
        ("gp3", &[]),
        (
            "io1",
            &[
                ("EDGE_DATA_VOL_TYPE", "io1"),
                ("EDGE_DATA_VOL_IOPS", "10000"),
            ],
        ),
        (
            "io2",
            &[
                ("EDGE_DATA_VOL_TYPE", "io2"),
                ("EDGE_DATA_VOL_IOPS", "64000"),
            ],
        ),
        (
            "instance-store",
            &[
                ("EDGE_DATA_VOL_TYPE", "instance-store"),
                ("AWS_INSTANCE_TYPE", "m6id.large"),
            ],
        ),
        (
            "arm64-named-node",
            &[
                ("AWS_INSTANCE_TYPE", "t4g.medium"),
                ("AWS_INSTANCE_CPU_TYPE", "ARM_64"),
                ("NODECTL_NODE_NAME", "node-2"),
                ("NODECTL_INGRESS_CIDR", "203.0.113.0/24"),
            ],
        ),
    ];
    let workspace = Workspace::new(&sample("123456789012"));
    let mut paths = Vec::new();
    for (name, env) in variants {
        let dir = workspace.path(name);
        let out = workspace.run_with(&["render", "--out-dir", dir.to_str().unwrap()], env);
        out.success();
        assert_eq!(out.stderr, crate::support::UPSTREAM_WARNINGS, "{name}");
        let written: Vec<_> = out.stdout.lines().map(std::path::PathBuf::from).collect();
        assert_eq!(written.len(), 2, "{name}: {}", out.stdout);
        paths.extend(written);
    }
    assert!(paths[9]
        .display()
        .to_string()
        .ends_with("arm64-named-node/allora-single-node-node-2.template.json"));
    cfn_lint(&paths);
    // The repository's templates are valid on their own too (with their shared fragments).
    cfn_lint(&template_files(&workspace, "allora"));
}

/// `templates/<blueprint>/common.json` and `single-node.json` with their shared fragments
/// merged (what each file means on its own), written into `workspace`.
pub fn template_files(workspace: &Workspace, blueprint: &str) -> Vec<std::path::PathBuf> {
    let files = nodectl::blueprint::find(blueprint).unwrap().files();
    ["common.json", "single-node.json"]
        .iter()
        .map(|file| {
            let (_, template) = nodectl::template::render::with_fragments(files, file).unwrap();
            let path = workspace.path(&format!("{blueprint}-{file}"));
            std::fs::write(&path, serde_json::to_string_pretty(&template).unwrap()).unwrap();
            path
        })
        .collect()
}

#[test]
fn every_upstream_allora_sample_renders() {
    // PR #88 and #158 set ALLORA_WORKER_TOKEN="ethereum" (the inference server answers for
    // "ETH") and a dry run; PR #170 comments those keys out.
    let dry_run = "warning: ALLORA_WALLET_SUBMIT_TX=false: the worker computes inferences but submits nothing to the chain (a dry run)\n";
    let token = "warning: ALLORA_WORKER_TOKEN=\"ethereum\" does not match TOKEN=\"ETH\" in MODEL_ENV_VARS, the only token the inference server answers for; the worker asks for \"ETH\"\n";
    // And they run a reputer beside the worker (issue 16: no surprise roles), said before
    // anything is deployed.
    let reputer = "warning: ALLORA_REPUTER_TOPIC_ID is set: this node runs a reputer on topic 1 as well as the worker on topic 1; the reputer stakes ALLORA_REPUTER_MIN_STAKE (100000) from the wallet, which must hold it; leave ALLORA_REPUTER_TOPIC_ID empty for a worker only\n";
    // All but PR #170 configure the offchain node's worker: they keep running it, and say so
    // (issue 16).
    let runtime = crate::support::RUNTIME_WARNING;
    for (name, warnings) in [
        (
            "allora-pr88.env-sample-full",
            format!("{runtime}{token}{reputer}{dry_run}"),
        ),
        (
            "allora-pr158.env-sample-full",
            format!("{runtime}{token}{reputer}{dry_run}"),
        ),
        (
            "allora-pr158.env-test",
            format!("{runtime}{reputer}{dry_run}"),
        ),
        (
            "allora-pr170.env-sample-full",
            runtime.replace(
                "ALLORA_WORKER_INFERENCE_ENDPOINT, ALLORA_WORKER_INFERENCE_ENTRYPOINT_NAME, \
                 ALLORA_REPUTER_TOPIC_ID, MODEL_REPO",
                "MODEL_REPO",
            ),
        ),
    ] {
        let workspace = Workspace::new(&upstream(name));
        let out = workspace.run(&["render"]);
        out.success();
        assert_eq!(out.stderr, warnings, "{name}");
        let all: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let parameters = &all["allora-single-node"]["Parameters"];
        let config = crate::support::gunzip_base64(
            parameters["OffchainNodeConfig"]["Default"]
                .as_str()
                .unwrap(),
        );
        let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
        assert_eq!(
            config["worker"][0]["parameters"]["Token"],
            if name.ends_with("env-test") {
                "ethereum"
            } else {
                "ETH"
            },
            "{name}"
        );
        assert_eq!(config["wallet"]["addressRestoreMnemonic"], "", "{name}");
    }
}

#[test]
fn secrets_never_reach_a_template() {
    const MNEMONIC: &str = "canary-mnemonic-7f3a9c word word word";
    const API_KEY: &str = "canary-api-key-51e0b2";
    let text = sample("123456789012")
        .replace(
            "ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC=\"xxxxxxxxxxx\"",
            &format!("ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC=\"{MNEMONIC}\""),
        )
        .replace(
            "CG_API_KEY=\"secret\"",
            &format!("CG_API_KEY=\"{API_KEY}\""),
        );
    let workspace = Workspace::new(&text);
    let out = workspace.run(&["render", "-v"]);
    out.success();
    for canary in ["canary-mnemonic-7f3a9c", API_KEY] {
        assert!(!out.stdout.contains(canary), "{canary} in a template");
        assert!(!out.stderr.contains(canary), "{canary} on stderr");
    }
}

#[test]
fn the_sample_config_documents_every_key() {
    documents_every_key("sample-configs/allora.env", "allora");
}

/// Checks that the sample file `path` has a `KEY=` line (or a commented-out `# KEY=` line, for
/// keys that must not be set in the file) with a comment right above it for every key of
/// `blueprint`, and that the sample renders without a warning.
pub fn documents_every_key(path: &str, blueprint: &str) {
    let keys = nodectl::blueprint::find(blueprint)
        .expect("a blueprint")
        .keys();
    let sample = std::fs::read_to_string(crate::support::repo().join(path)).unwrap();
    let lines: Vec<&str> = sample.lines().collect();
    for spec in keys {
        let line = lines
            .iter()
            .position(|l| {
                l.starts_with(&format!("{}=", spec.name))
                    || l.starts_with(&format!("# {}=", spec.name))
            })
            .unwrap_or_else(|| panic!("{path} lacks {}", spec.name));
        assert!(
            line > 0 && lines[line - 1].starts_with("# "),
            "{} has no comment right above it",
            spec.name
        );
    }
    // And the sample itself is valid and quiet.
    let workspace = Workspace::new(&sample);
    let out = workspace.run(&["render"]);
    out.success();
    assert_eq!(out.stderr, "");
}

/// Regression: the `SubmissionAlarm` counted a worker restart as a period without submissions
/// (its counter starts again at 0, so `DIFF` went negative). The expression now takes the count
/// itself in the period after a reset. CloudWatch metric math does not run here: this applies
/// the two expression forms nodectl has used, `DIFF(m)` and `IF(DIFF(m) < 0, m, DIFF(m))`
/// (CloudWatch User Guide, "Metric math syntax and functions": `DIFF`, `IF`), to a counter with a
/// restart, and fails on any other form.
#[test]
fn the_submission_alarm_survives_a_worker_restart() {
    let workspace = Workspace::new(&crate::support::allora_sample("123456789012"));
    let out = workspace.run(&["render", "single-node"]);
    out.success();
    let template: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let metrics = template["Resources"]["SubmissionAlarm"]["Properties"]["Metrics"]
        .as_array()
        .expect("the SubmissionAlarm's metric math");
    let expression = metrics
        .iter()
        .find(|m| m["ReturnData"] == true)
        .and_then(|m| m["Expression"].as_str())
        .unwrap();
    // The counter per 5-minute period (Maximum): 10, 14, then a restart: 3, 7.
    let counts = [10.0, 14.0, 3.0, 7.0_f64];
    let diff: Vec<f64> = counts.windows(2).map(|w| w[1] - w[0]).collect();
    let per_period: Vec<f64> = match expression {
        "DIFF(submissions)" => diff,
        "IF(DIFF(submissions) < 0, submissions, DIFF(submissions))" => diff
            .iter()
            .zip(&counts[1..])
            .map(|(d, m)| if *d < 0.0 { *m } else { *d })
            .collect(),
        other => panic!("an expression this test does not know: {other}"),
    };
    // The alarm breaches at <= 0: a period with submissions must be above it.
    assert_eq!(per_period, [4.0, 3.0, 4.0], "{expression}");
}
