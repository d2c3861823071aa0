//! The life of a node's secret across deploys and destroys, on LocalStack (whose stack
//! lifecycle and Secrets Manager are faithful enough: scheduled deletions, restores, versions)
//! and moto (for the prompt at a terminal): destroy then deploy again at once, for both
//! blueprints; a destroy interrupted while the node stack is deleted, then destroy again, then
//! deploy; nodes deployed at the same time, each keeping its own secret; a declined prompt that
//! leaves no secret.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{runtime, theta_sample, Emulator, Workspace, TEST_MNEMONIC};

/// A second well-formed test mnemonic (BIP-39 words; no funds anywhere).
const OTHER_MNEMONIC: &str = "zoo zero youth young yellow year wrong write world worth wrist wreck";

/// The `SecretString` of secret `id` as JSON, and whether its deletion is scheduled.
fn secret(emulator: &Emulator, region: &str, id: &str) -> (Option<Value>, bool) {
    let rt = runtime();
    let client = aws_sdk_secretsmanager::Client::new(&rt.block_on(emulator.sdk_in(region)));
    let Ok(described) = rt.block_on(client.describe_secret().secret_id(id).send()) else {
        return (None, false);
    };
    if described.deleted_date().is_some() {
        return (None, true);
    }
    let value = rt
        .block_on(client.get_secret_value().secret_id(id).send())
        .unwrap();
    (
        serde_json::from_str(value.secret_string().unwrap()).ok(),
        false,
    )
}

#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn destroy_then_deploy_again_restores_and_reuses_the_secret() {
    let emulator = Emulator::localstack();
    // Allora: the mnemonic comes back with the restored secret.
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    workspace.run(&["deploy", "all", "--yes"]).success();
    workspace.run(&["destroy", "--yes"]).success();
    let id = "allora-single-node/node-secret";
    assert_eq!(secret(&emulator, "us-east-1", id), (None, true));
    let out = workspace.run(&["deploy", "all", "--yes"]);
    out.success();
    assert!(
        out.stderr.contains(&format!(
            "restored the secret `{id}`, which was scheduled for deletion, and reused it\n"
        )),
        "{}",
        out.stderr
    );
    let (stored, scheduled) = secret(&emulator, "us-east-1", id);
    assert!(!scheduled);
    assert_eq!(
        stored.unwrap()["allora-single-node"]["mnemonic"],
        TEST_MNEMONIC
    );

    // Theta: the generated password is kept through destroy and deploy (the keystore on a
    // restored volume needs the same one).
    let theta = Workspace::new(&theta_sample(emulator.account)).with_emulator(&emulator);
    theta.run(&["deploy", "all", "--yes"]).success();
    let id = "theta-edge-single-node-mainnet/node-secret";
    let (first, _) = secret(&emulator, "us-east-2", id);
    let password = first.unwrap()["theta-edge-single-node-mainnet"]["password"].clone();
    assert_eq!(password.as_str().unwrap().len(), 32);
    theta.run(&["destroy", "--yes"]).success();
    let out = theta.run(&["deploy", "all", "--yes"]);
    out.success();
    for expected in [
        format!("restored the secret `{id}`, which was scheduled for deletion, and reused it\n"),
        "unchanged: the edge node password of `theta-edge-single-node-mainnet`".to_string(),
    ] {
        assert!(out.stderr.contains(&expected), "{expected}\n{}", out.stderr);
    }
    let (again, _) = secret(&emulator, "us-east-2", id);
    assert_eq!(
        again.unwrap()["theta-edge-single-node-mainnet"]["password"],
        password
    );
}

/// Runs `nodectl destroy single-node --yes` and interrupts it (SIGINT) once it has asked
/// CloudFormation to delete the node stack, before it could schedule the secret's deletion.
fn interrupt_destroy_while_deleting(workspace: &Workspace) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nodectl"));
    command
        .args(["destroy", "single-node", "--yes"])
        .current_dir(workspace.dir.path())
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in workspace.environment() {
        command.env(key, value);
    }
    // The first look at the stack after DeleteStack waits 10 s: the signal arrives before.
    command.env("NODECTL_POLL_INTERVAL_MS", "10000");
    let mut child = command.spawn().expect("start nodectl");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "nodectl ended before deleting:\n{seen}"
        );
        seen.push_str(&line);
        if line.starts_with("deleting stack `allora-single-node`") {
            break;
        }
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
}

#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn an_interrupted_destroy_converges_when_run_again() {
    let emulator = Emulator::localstack();
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    workspace.run(&["deploy", "all", "--yes"]).success();
    let id = "allora-single-node/node-secret";

    interrupt_destroy_while_deleting(&workspace);
    // CloudFormation went on deleting the stack; the secret is still there, not scheduled.
    let (stored, scheduled) = secret(&emulator, "us-east-1", id);
    assert!(stored.is_some() && !scheduled);

    // Destroy again: the stack is gone, and its secret's deletion is scheduled now.
    let out = workspace.run(&["destroy", "single-node", "--yes", "--output", "json"]);
    out.success();
    assert!(
        out.stderr.contains(&format!(
            "the secret `{id}` (the wallet mnemonic and API keys) is scheduled for deletion"
        )),
        "{}",
        out.stderr
    );
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        report["secretsScheduledForDeletion"],
        serde_json::json!([id])
    );
    assert_eq!(secret(&emulator, "us-east-1", id), (None, true));
    // Once more: nothing left to do.
    let out = workspace.run(&["destroy", "single-node", "--yes", "--output", "json"]);
    out.success();
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["secretsScheduledForDeletion"], serde_json::json!([]));

    // And the node deploys again at once, with its secret restored.
    let out = workspace.run(&["deploy", "single-node", "--yes"]);
    out.success();
    assert!(out.stderr.contains("restored the secret"), "{}", out.stderr);
}

#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn nodes_deployed_at_the_same_time_each_keep_their_own_secret() {
    let emulator = Emulator::localstack();
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    workspace.run(&["deploy", "common", "--yes"]).success();
    // Three rounds of two nodes at once, with different wallets: with one shared secret read
    // and written back by both, one node's entry was lost in 3 of 7 runs.
    for round in 0..3 {
        let nodes = [
            (format!("a{round}"), TEST_MNEMONIC),
            (format!("b{round}"), OTHER_MNEMONIC),
        ];
        let children: Vec<_> = nodes
            .iter()
            .map(|(name, mnemonic)| {
                workspace.spawn_with(
                    &["deploy", "single-node", "--yes"],
                    &[
                        ("NODECTL_NODE_NAME", name),
                        ("ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC", mnemonic),
                    ],
                )
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for (name, mnemonic) in &nodes {
            let stack = format!("allora-single-node-{name}");
            let (stored, _) = secret(&emulator, "us-east-1", &format!("{stack}/node-secret"));
            let stored = stored.unwrap_or_else(|| panic!("{stack} has no secret"));
            assert_eq!(stored.as_object().unwrap().len(), 1);
            assert_eq!(stored[&stack]["mnemonic"], *mnemonic, "{stack}");
        }
    }
}

#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn declining_at_the_prompt_writes_no_secret() {
    let emulator = Emulator::moto();
    let workspace = Workspace::new(&theta_sample(emulator.account)).with_emulator(&emulator);
    workspace
        .run(&["deploy", "common", "--yes", "--method", "direct"])
        .success();
    let out = workspace.run_at_terminal(&["deploy", "single-node"], "n\n");
    assert_eq!(out.code, 1, "{}", out.stdout);
    let screen = out.stdout.replace('\r', "");
    for expected in [
        "  and create the secret `theta-edge-single-node-mainnet/node-secret` (values not shown)\n",
        "Execute these changes on stack `theta-edge-single-node-mainnet` in account \
         123456789012, region us-east-2? [y/N] ",
        "error: aborted: stack `theta-edge-single-node-mainnet` and its secret were not \
         changed; the change set was deleted\n",
    ] {
        assert!(screen.contains(expected), "{expected}\n{screen}");
    }
    assert_eq!(
        secret(
            &emulator,
            "us-east-2",
            "theta-edge-single-node-mainnet/node-secret"
        ),
        (None, false),
        "no secret was written"
    );
}
