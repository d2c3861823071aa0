//! The SDK worker's user data, `templates/allora/user-data-sdk.sh` (Allora with
//! `WorkerRuntime` `sdk`), rendered as `Fn::Sub` renders it: shellcheck clean, within EC2's 16 KiB,
//! using only names `single-node.json` provides, and shipping `templates/allora/sdk-worker.py`
//! (gzip, base64) as the program nodectl tested. Its `write_worker_secrets` part runs with bash
//! against the fake AWS CLI (`tests/data/userdata/aws`) under a temporary root. What only an
//! instance shows (dnf, pip, systemd starting the unit, the CloudWatch agent) is not run here.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::userdata::{
    assert_fits, assert_mode, assert_owner, assert_shellcheck_clean, base64, canary,
    dollar_brace_names, run_part, Run, UserData, REGION,
};

const STACK: &str = "allora-single-node-sdk";
/// The uid of `allora-sdk-worker`, owner of its secret files.
const WORKER_UID: u32 = 10002;
const BEGIN: &str = "# --- begin write_worker_secrets";
const END: &str = "# --- end write_worker_secrets";

/// The worker settings nodectl generates for testnet (as `SdkWorker` carries them).
const WORKER: &str = r#"{"sdk":"1.3.0","api":"factory","network":"testnet","chainId":"allora-testnet-1","topics":[69,77],"feeTier":"standard","pollingInterval":120,"model":"model:predict"}"#;

/// The public MODEL_ENV_VARS lines as nodectl writes them (`NAME=<JSON string>`).
const MODEL_ENV: &str = "TOKEN=\"ETH\"\nTIMEFRAME=\"4h \\\"quoted\\\"\"\n";

pub(crate) fn sdk() -> UserData {
    UserData {
        blueprint: "allora",
        file: "user-data-sdk.sh",
        values: vec![
            ("AWS::StackName", STACK.to_string()),
            ("AWS::Region", REGION.to_string()),
            ("DataVolumeId", "vol-0123456789abcdef0".to_string()),
            ("DataVolumeType", "gp3".to_string()),
            ("SdkWorker", base64(WORKER.as_bytes())),
            ("ModelRepo", String::new()),
            ("ModelRepoRef", String::new()),
            ("ModelEnv", base64(MODEL_ENV.as_bytes())),
            (
                "WorkerLogGroupName",
                format!("/nodectl/{STACK}/allora-sdk-worker"),
            ),
        ],
    }
}

#[test]
#[ignore = "full suite: needs shellcheck (scripts/test installs it)"]
fn the_rendered_sdk_user_data_is_shellcheck_clean() {
    assert_shellcheck_clean(&sdk(), "Allora SDK");
}

#[test]
fn the_rendered_sdk_user_data_fits_and_uses_only_provided_names() {
    let user_data = sdk();
    assert_fits(&user_data, "Allora SDK");
    let provided = user_data.provided_names();
    let used: BTreeSet<String> = dollar_brace_names(&user_data.script(), &user_data.path())
        .into_iter()
        .collect();
    let unknown: Vec<&String> = used.difference(&provided).collect();
    assert!(unknown.is_empty(), "unknown names {unknown:?}");
    // The SDK user data runs no docker and installs a Python that allora_sdk supports (>= 3.10).
    let script = user_data.rendered();
    assert!(
        !script.contains("dnf install -y docker") && !script.contains("docker compose"),
        "the SDK node runs no docker"
    );
    assert!(script.contains("dnf install -y python3.11 "));
    assert!(script.contains("Type=notify"));
    assert!(script.contains("User=allora-sdk-worker"));
    assert!(script.contains("ExecStartPre=+/usr/local/sbin/allora-sdk-worker-secrets"));
    assert!(!script.contains("set -x"));
}

/// The program in the user data (`base64 -d | gunzip`) is `templates/allora/sdk-worker.py`
/// without its comments and docstrings, and Python compiles it.
#[test]
fn the_shipped_worker_program_is_the_tested_one_and_compiles() {
    let script = sdk().rendered();
    let start = script
        .find("base64 -d <<'EOF' | gunzip >\"$APP_DIR/sdk-worker.py\"\n")
        .expect("the program's heredoc");
    let body = &script[start..];
    let payload = body.lines().nth(1).expect("the payload line");
    let dir = tempfile::tempdir().unwrap();
    let shipped = dir.path().join("sdk-worker.py");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "printf '%s' \"$1\" | base64 -d | gunzip >'{}'",
            shipped.display()
        ))
        .arg("-")
        .arg(payload)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let source =
        std::fs::read_to_string(crate::support::repo().join("templates/allora/sdk-worker.py"))
            .unwrap();
    assert_eq!(
        std::fs::read_to_string(&shipped).unwrap(),
        nodectl::template::strip_python_docs(&source)
    );
    let compiled = std::process::Command::new("python3")
        .args(["-m", "py_compile"])
        .arg(&shipped)
        .output()
        .expect("python3");
    assert!(
        compiled.status.success(),
        "{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
}

fn run_write_worker_secrets(secret: &str) -> Run {
    run_part(
        &sdk().part(BEGIN, END),
        "write_worker_secrets",
        secret,
        &[],
        |_| {},
    )
}

fn runtime(run: &Run, name: &str) -> PathBuf {
    run.root().join("run/allora-sdk-worker").join(name)
}

#[test]
fn the_secret_part_writes_the_wallet_key_and_model_env_for_the_worker_only() {
    let mnemonic = format!(
        "abandon ability able about above absent {}",
        canary("mnemonic")
    );
    let api_key = format!("UP-{}", canary("apikey"));
    let cg_key = canary("cgkey");
    let secret = serde_json::json!({
        STACK: {"mnemonic": mnemonic, "apiKey": api_key, "modelEnv": {"CG_API_KEY": cg_key}},
        "allora-single-node-other": {"mnemonic": canary("other"), "modelEnv": {}}
    });
    let run = run_write_worker_secrets(&secret.to_string());
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert_eq!(
        run.aws_calls(),
        format!(
            "secretsmanager get-secret-value --secret-id {STACK}/node-secret \
             --query SecretString --output text --region {REGION}\n"
        )
    );
    // Exactly the three files, 0600, the worker's; no temporary file left.
    let mut names: Vec<String> = std::fs::read_dir(runtime(&run, ""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["api-key", "model-env.json", "wallet"]);
    assert_mode(&runtime(&run, ""), 0o700);
    for name in &names {
        let path = runtime(&run, name);
        assert_mode(&path, 0o600);
        assert_owner(&run, &path, WORKER_UID, Some(WORKER_UID));
    }
    // The wallet file is the mnemonic alone (the SDK reads it whole), and the key likewise.
    assert_eq!(
        std::fs::read_to_string(runtime(&run, "wallet")).unwrap(),
        mnemonic
    );
    assert_eq!(
        std::fs::read_to_string(runtime(&run, "api-key")).unwrap(),
        api_key
    );
    // MODEL_ENV_VARS: the public lines of the template, then the secret values.
    let env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runtime(&run, "model-env.json")).unwrap())
            .unwrap();
    assert_eq!(
        env,
        serde_json::json!({"TOKEN": "ETH", "TIMEFRAME": "4h \"quoted\"", "CG_API_KEY": cg_key})
    );
    // Nothing of the secret reached the output.
    let output = run.output();
    for value in [&mnemonic, &api_key, &cg_key] {
        assert!(!output.contains(value.as_str()), "{output}");
    }
}

#[test]
fn without_an_api_key_no_key_file_is_left() {
    let secret = serde_json::json!({STACK: {"mnemonic": "abandon about", "modelEnv": {}}});
    let run = run_write_worker_secrets(&secret.to_string());
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert!(runtime(&run, "wallet").exists());
    assert!(!runtime(&run, "api-key").exists());
}

#[test]
fn a_secret_without_a_mnemonic_or_entry_fails_naming_the_stack() {
    for (secret, reason) in [
        (
            serde_json::json!({"allora-single-node-other": {"mnemonic": "x"}}),
            format!("not JSON or no entry for node stack {STACK}"),
        ),
        (
            serde_json::json!({STACK: {"mnemonic": " "}}),
            format!("no mnemonic for node stack {STACK}"),
        ),
        (
            serde_json::json!({STACK: {"mnemonic": "a b", "apiKey": 7}}),
            format!("apiKey of {STACK} must be a string"),
        ),
    ] {
        let run = run_write_worker_secrets(&secret.to_string());
        assert_eq!(run.code, Some(1), "{}", run.output());
        assert_eq!(
            run.stderr,
            format!("secret {STACK}/node-secret: {reason}\n"),
            "{}",
            run.output()
        );
        assert!(!runtime(&run, "wallet").exists());
    }
}
