//! Secrets stay secret: a unique canary mnemonic (piped in with `--secret-stdin`) and a canary
//! API key (in MODEL_ENV_VARS) go through render, deploy, outputs, status and destroy with
//! `-v` against LocalStack, and appear in none of stdout, stderr, the outputs file, the
//! rendered templates, or the stacks' templates and parameters read back from the emulator.
//! They do reach the common stack's Secrets Manager secret (the positive control that makes
//! the test able to fail).

use crate::support::{runtime, upstream_sample, Emulator, Workspace};

/// Twelve lowercase words, each carrying the marker `qzjxw`.
const MNEMONIC: &str = "qzjxwone qzjxwtwo qzjxwthree qzjxwfour qzjxwfive qzjxwsix qzjxwseven \
                        qzjxweight qzjxwnine qzjxwten qzjxweleven qzjxwtwelve";
const MARKER: &str = "qzjxw";
const API_KEY: &str = "cg-canary-7f3a9c51e0";

#[track_caller]
fn clean(what: &str, text: &str) {
    assert!(
        !text.contains(MARKER),
        "the mnemonic leaked into {what}:\n{text}"
    );
    assert!(
        !text.contains(API_KEY),
        "the API key leaked into {what}:\n{text}"
    );
}

/// `deploy all --yes -v --outputs-file out.json` with the canary mnemonic on stdin
/// (`--secret-stdin`) and `env`.
fn deploy_with_canary_mnemonic(
    workspace: &Workspace,
    env: &[(&str, &str)],
) -> crate::support::Output {
    workspace.run_with_input(
        &[
            "deploy",
            "all",
            "--yes",
            "-v",
            "--secret-stdin",
            "ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC",
            "--outputs-file",
            "out.json",
        ],
        &format!("{MNEMONIC}\n"),
        env,
    )
}

/// The JSON document the Secrets Manager secret `id` holds.
fn stored_secret(
    rt: &tokio::runtime::Runtime,
    sdk: &aws_config::SdkConfig,
    id: &str,
) -> serde_json::Value {
    let stored = rt
        .block_on(
            aws_sdk_secretsmanager::Client::new(sdk)
                .get_secret_value()
                .secret_id(id)
                .send(),
        )
        .unwrap();
    serde_json::from_str(stored.secret_string().unwrap()).unwrap()
}

/// Checks the templates, parameters and outputs of `stacks` as CloudFormation holds them.
fn stacks_are_clean(
    rt: &tokio::runtime::Runtime,
    cfn: &aws_sdk_cloudformation::Client,
    stacks: &[&str],
) {
    for stack in stacks {
        let template = rt
            .block_on(cfn.get_template().stack_name(*stack).send())
            .unwrap();
        clean(
            &format!("{stack}'s template"),
            template.template_body().unwrap(),
        );
        let described = rt
            .block_on(cfn.describe_stacks().stack_name(*stack).send())
            .unwrap();
        clean(
            &format!("{stack}'s parameters and outputs"),
            &format!(
                "{:?} {:?}",
                described.stacks()[0].parameters(),
                described.stacks()[0].outputs()
            ),
        );
    }
}

#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn canary_secrets_reach_secrets_manager_and_nothing_else() {
    let emulator = Emulator::localstack();
    let text = upstream_sample()
        .replace(
            "AWS_ACCOUNT_ID=\"xxxxxxxxxxx\"",
            &format!("AWS_ACCOUNT_ID=\"{}\"", emulator.account),
        )
        .replace(
            "CG_API_KEY=\"secret\"",
            &format!("CG_API_KEY=\"{API_KEY}\""),
        );
    let workspace = Workspace::upstream("000000000000").with_emulator(&emulator);
    workspace.write_env(&text);
    let check = |what: &str, out: &crate::support::Output| {
        clean(&format!("{what} stdout"), &out.stdout);
        clean(&format!("{what} stderr"), &out.stderr);
    };

    // The mnemonic through the process environment for render, then through stdin.
    let env = [("ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC", MNEMONIC)];
    let out = workspace.run_with(&["render", "-v", "--out-dir", "rendered"], &env);
    out.success();
    check("render", &out);
    for entry in std::fs::read_dir(workspace.path("rendered")).unwrap() {
        let path = entry.unwrap().path();
        clean(
            &path.display().to_string(),
            &std::fs::read_to_string(&path).unwrap(),
        );
    }

    let out = deploy_with_canary_mnemonic(&workspace, &[]);
    out.success();
    check("deploy", &out);
    assert!(out.stderr.contains(
        "stored the wallet mnemonic and 1 model API key of `allora-single-node` in the Secrets Manager secret `allora-single-node/node-secret` (values not shown)\n"
    ), "{}", out.stderr);
    clean(
        "the outputs file",
        &std::fs::read_to_string(workspace.path("out.json")).unwrap(),
    );

    for args in [
        ["outputs", "-v", "--output", "json"],
        ["status", "-v", "--output", "json"],
    ] {
        let out = workspace.run_with(&args, &env);
        out.success();
        check(args[0], &out);
    }

    let rt = runtime();
    let sdk = rt.block_on(emulator.sdk());
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    stacks_are_clean(&rt, &cfn, &["allora-edge-common", "allora-single-node"]);
    // The positive control: the canaries are where they belong.
    let stored = stored_secret(&rt, &sdk, "allora-single-node/node-secret");
    assert_eq!(
        stored["allora-single-node"]["mnemonic"].as_str().unwrap(),
        MNEMONIC.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    assert_eq!(
        stored["allora-single-node"]["modelEnv"]["CG_API_KEY"],
        API_KEY
    );

    // A redeploy with the same secrets does not write a new secret version.
    let out = workspace.run_with(&["deploy", "single-node", "--yes", "-v"], &env);
    out.success();
    check("redeploy", &out);
    assert!(out.stderr.contains(
        "unchanged: the wallet mnemonic and 1 model API key of `allora-single-node` in the Secrets Manager secret `allora-single-node/node-secret` (values not shown)\n"
    ), "{}", out.stderr);

    let out = workspace.run_with(&["destroy", "--yes", "-v"], &env);
    out.success();
    check("destroy", &out);
    assert!(
        out.stderr.contains(
            "the secret `allora-single-node/node-secret` (the wallet mnemonic and API keys) is scheduled for deletion on "
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(
        "after a 7-day recovery window; restore it with `aws secretsmanager restore-secret --secret-id allora-single-node/node-secret --region us-east-1`, or deploy the node again: nodectl restores and reuses it\n"
    ));
    assert!(
        !out.stderr.contains("left these resources behind"),
        "{}",
        out.stderr
    );
}

/// The Theta blueprint's password, the same way: piped in with `--secret-stdin`, then kept on a
/// redeploy without it, through the whole lifecycle on LocalStack (which also exercises the
/// default VPC lookup and the lifecycle of both Theta stacks).
#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn the_theta_password_reaches_secrets_manager_and_nothing_else() {
    const PASSWORD: &str = "qzjxw-theta-canary-password";
    let emulator = Emulator::localstack();
    let workspace =
        Workspace::new(&crate::support::theta_sample(emulator.account)).with_emulator(&emulator);
    let check = |what: &str, out: &crate::support::Output| {
        clean(&format!("{what} stdout"), &out.stdout);
        clean(&format!("{what} stderr"), &out.stderr);
    };
    let out = workspace.run_with_input(
        &[
            "deploy",
            "all",
            "--yes",
            "-v",
            "--secret-stdin",
            "EDGE_NODE_PASSWORD",
            "-O",
            "out.json",
        ],
        &format!("{PASSWORD}\n"),
        &[],
    );
    out.success();
    check("deploy", &out);
    for expected in [
        "stack `theta-edge-common` is CREATE_COMPLETE\n",
        "default VPC vpc-",
        "stored the edge node password of `theta-edge-single-node-mainnet` in the Secrets \
         Manager secret `theta-edge-single-node-mainnet/node-secret` (value not shown)\n",
        "stack `theta-edge-single-node-mainnet` is CREATE_COMPLETE\n",
    ] {
        assert!(out.stderr.contains(expected), "{expected}\n{}", out.stderr);
    }
    let file = std::fs::read_to_string(workspace.path("out.json")).unwrap();
    clean("the outputs file", &file);
    let outputs: serde_json::Value = serde_json::from_str(&file).unwrap();
    assert!(
        outputs["theta-edge-single-node-mainnet"]["singleinstanceid"]
            .as_str()
            .is_some_and(|id| id.starts_with("i-"))
    );

    for args in [
        ["outputs", "-v", "--output", "json"],
        ["status", "-v", "--output", "json"],
    ] {
        let out = workspace.run(&args);
        out.success();
        check(args[0], &out);
    }
    let rt = runtime();
    let sdk = rt.block_on(emulator.sdk_in("us-east-2"));
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    stacks_are_clean(
        &rt,
        &cfn,
        &["theta-edge-common", "theta-edge-single-node-mainnet"],
    );
    // The positive control.
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let stored = || {
        let value = rt
            .block_on(
                secrets
                    .get_secret_value()
                    .secret_id("theta-edge-single-node-mainnet/node-secret")
                    .send(),
            )
            .unwrap();
        serde_json::from_str::<serde_json::Value>(value.secret_string().unwrap()).unwrap()
    };
    assert_eq!(
        stored()["theta-edge-single-node-mainnet"]["password"],
        PASSWORD
    );

    // A redeploy without the password keeps the stored one, and the network.
    let out = workspace.run(&["deploy", "single-node", "--yes", "-v"]);
    out.success();
    check("redeploy", &out);
    assert!(out.stderr.contains(
        "unchanged: the edge node password of `theta-edge-single-node-mainnet` in the Secrets \
         Manager secret `theta-edge-single-node-mainnet/node-secret` (value not shown)\n"
    ));
    assert!(out.stderr.contains(
        "keeping the network of the deployed stack `theta-edge-single-node-mainnet`: VpcId=vpc-"
    ));
    assert_eq!(
        stored()["theta-edge-single-node-mainnet"]["password"],
        PASSWORD
    );

    let out = workspace.run(&["destroy", "--yes", "-v", "--output", "json"]);
    out.success();
    check("destroy", &out);
    assert!(out.stderr.contains(
        "the secret `theta-edge-single-node-mainnet/node-secret` (the edge node password) is \
         scheduled for deletion on "
    ));
    // Regression: the JSON report lists the secret whose deletion was scheduled.
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        report,
        serde_json::json!({
            "deleted": ["theta-edge-single-node-mainnet", "theta-edge-common"],
            "absent": [],
            "leftBehind": [],
            "secretsScheduledForDeletion": ["theta-edge-single-node-mainnet/node-secret"],
            // LocalStack creates no EBS volume (its DataVolume is a placeholder, physical id
            // "unknown"): none to name. tests/moto.rs has the data volume case.
            "dataVolumesDeleted": [],
            "snapshots": [],
        })
    );
    assert!(
        !out.stderr.contains("left these resources behind"),
        "{}",
        out.stderr
    );
}

#[test]
fn secret_stdin_needs_yes_and_a_secret_key() {
    let workspace = Workspace::upstream("123456789012");
    let out = workspace.run_with_input(
        &[
            "deploy",
            "all",
            "--secret-stdin",
            "ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC",
        ],
        MNEMONIC,
        &[],
    );
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: --secret-stdin reads stdin, so nodectl cannot ask for confirmation there\nhint: add --yes\n"
    );
    let out = workspace.run_with_input(
        &["deploy", "all", "--yes", "--secret-stdin", "AWS_REGION"],
        "us-east-1",
        &[],
    );
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: --secret-stdin takes a secret key, and `AWS_REGION` is not one\n\
         hint: use one of ALLORA_API_KEY, MODEL_ENV_VARS, ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC, EDGE_NODE_PASSWORD, DYNABENCH_DECEN_EAAS_SECRET, DYNABENCH_ENDPOINT_SECRET\n"
    );
}

#[test]
fn a_malformed_mnemonic_is_refused_without_showing_it() {
    let workspace = Workspace::upstream("123456789012");
    let out = workspace.run_with_input(
        &[
            "deploy",
            "all",
            "--yes",
            "--secret-stdin",
            "ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC",
        ],
        "qzjxwone qzjxwtwo qzjxwthree\n",
        &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")],
    );
    out.expect_code(1);
    assert!(out.stderr.ends_with(
        "error: ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC (from --secret-stdin): has 3 words; a BIP-39 mnemonic has 12, 15, 18, 21 or 24 (value hidden)\n\
         hint: set ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC in the .env file, in the environment, or pipe it in with --secret-stdin ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC (never as an argument); or leave it unset, and nodectl generates the node a wallet\n"
    ), "{}", out.stderr);
    clean("stderr", &out.stderr);
}

/// An SDK worker node (issue 16, nodectl's sample: `ALLORA_WORKER_RUNTIME="sdk"`) through its
/// lifecycle on LocalStack: the canary mnemonic (stdin) and a canary Allora API key (process
/// environment) reach the node's Secrets Manager secret and nothing else: not stdout, stderr,
/// the outputs file, the templates or parameters read back. The stack has the worker's log
/// group. LocalStack runs no instance, so the SDK worker itself is not started here
/// (tests/sdk_worker.rs runs it against a fake SDK).
#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn an_sdk_worker_node_keeps_its_mnemonic_and_api_key_in_secrets_manager_only() {
    const ALLORA_KEY: &str = "UP-qzjxw-canary-api-key";
    let emulator = Emulator::localstack();
    let sample = crate::support::allora_sample(emulator.account);
    let workspace = Workspace::new(&sample).with_emulator(&emulator);
    let env = [("ALLORA_API_KEY", ALLORA_KEY)];
    let check = |what: &str, out: &crate::support::Output| {
        clean(&format!("{what} stdout"), &out.stdout);
        clean(&format!("{what} stderr"), &out.stderr);
    };
    let out = deploy_with_canary_mnemonic(&workspace, &env);
    out.success();
    check("deploy", &out);
    assert!(out.stderr.contains(
        "stored the wallet mnemonic, the Allora API key and 1 model API key of `allora-single-node` in the Secrets Manager secret `allora-single-node/node-secret` (values not shown)\n"
    ), "{}", out.stderr);
    clean(
        "the outputs file",
        &std::fs::read_to_string(workspace.path("out.json")).unwrap(),
    );
    let outputs = crate::support::current_outputs(&workspace).to_string();
    clean("the outputs", &outputs);
    assert!(
        outputs.contains("/nodectl/allora-single-node/allora-sdk-worker"),
        "the outputs name the worker's log group: {outputs}"
    );

    let rt = runtime();
    let sdk = rt.block_on(emulator.sdk());
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    stacks_are_clean(&rt, &cfn, &["allora-edge-common", "allora-single-node"]);
    let described = rt
        .block_on(
            cfn.describe_stacks()
                .stack_name("allora-single-node")
                .send(),
        )
        .unwrap();
    let runtime_parameter = described.stacks()[0]
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some("WorkerRuntime"))
        .and_then(|p| p.parameter_value());
    assert_eq!(runtime_parameter, Some("sdk"));
    let stored = stored_secret(&rt, &sdk, "allora-single-node/node-secret");
    assert_eq!(stored["allora-single-node"]["apiKey"], ALLORA_KEY);
    assert_eq!(
        stored["allora-single-node"]["mnemonic"].as_str().unwrap(),
        MNEMONIC.split_whitespace().collect::<Vec<_>>().join(" ")
    );

    let out = workspace.run_with(&["destroy", "--yes", "-v"], &env);
    out.success();
    check("destroy", &out);
}

/// A node deployed without a mnemonic gets a new wallet (issue 15): nodectl generates a 24-word
/// BIP-39 mnemonic, stores it only in the node's secret and prints the wallet's `allo1...`
/// address; a redeploy keeps that wallet; the same mnemonic given explicitly derives the same
/// address. On LocalStack.
#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn a_node_without_a_mnemonic_gets_a_generated_wallet_kept_on_redeploy() {
    let emulator = Emulator::localstack();
    let sample = crate::support::allora_sample(emulator.account);
    let workspace = Workspace::new(&sample).with_emulator(&emulator);
    let address_in = |stderr: &str| -> String {
        let line = stderr
            .lines()
            .find(|line| line.starts_with("wallet of `allora-single-node`: allo1"))
            .unwrap_or_else(|| panic!("no wallet line:\n{stderr}"));
        line.split_whitespace().nth(3).unwrap().to_string()
    };
    let out = workspace.run(&["deploy", "all", "--yes"]);
    out.success();
    assert!(
        out.stderr.contains(
            "generated a new wallet and stored its mnemonic and 1 model API key of \
             `allora-single-node` in the Secrets Manager secret `allora-single-node/node-secret` \
             (values not shown)\n"
        ),
        "{}",
        out.stderr
    );
    let address = address_in(&out.stderr);
    assert_eq!(address.len(), 43, "{address}");

    let rt = runtime();
    let sdk = rt.block_on(emulator.sdk());
    let stored = stored_secret(&rt, &sdk, "allora-single-node/node-secret");
    let mnemonic = stored["allora-single-node"]["mnemonic"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(mnemonic.split(' ').count(), 24);
    assert!(!out.stderr.contains(&mnemonic) && !out.stdout.contains(&mnemonic));
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    let template = rt
        .block_on(cfn.get_template().stack_name("allora-single-node").send())
        .unwrap();
    assert!(!template.template_body().unwrap().contains(&mnemonic));

    // Redeployed without a mnemonic: the same wallet, nothing written.
    let out = workspace.run(&["deploy", "single-node", "--yes"]);
    out.success();
    assert!(
        out.stderr
            .contains("unchanged: the wallet mnemonic and 1 model API key of"),
        "{}",
        out.stderr
    );
    // The stored mnemonic given explicitly: unchanged, and its address is the one printed.
    let out = workspace.run_with(
        &["deploy", "single-node", "--yes"],
        &[("ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC", &mnemonic)],
    );
    out.success();
    assert_eq!(address_in(&out.stderr), address);
    assert!(!out.stderr.contains(&mnemonic), "{}", out.stderr);
    workspace.run(&["destroy", "--yes"]).success();
}
