//! Allora's worker runtime (`ALLORA_WORKER_RUNTIME`, issue 16), offline: which runtime a file
//! gets, the `allora_sdk` release pinned per network and the refusals with their reasons, all
//! before any AWS request (a tripwire endpoint counts connections), and what the rendered SDK
//! node holds (its own user data, no port, no secret).

use crate::config::rejects;
use crate::support::{filled, Workspace, TEST_MNEMONIC};

const ACCOUNT: &str = "123456789012";

/// nodectl's sample (`ALLORA_WORKER_RUNTIME="sdk"`, testnet, topic 69, the example model) with
/// its placeholders filled.
fn sdk_sample() -> String {
    let text =
        std::fs::read_to_string(crate::support::repo().join("sample-configs/allora.env")).unwrap();
    filled(&text, ACCOUNT)
}

/// Renders `env_text` with `process_env`; returns the node stack's template and stderr.
fn render(env_text: &str, process_env: &[(&str, &str)]) -> (serde_json::Value, String) {
    let workspace = Workspace::new(env_text);
    let out = workspace.run_with(&["render", "single-node"], process_env);
    out.success();
    (serde_json::from_str(&out.stdout).unwrap(), out.stderr)
}

fn parameter(template: &serde_json::Value, name: &str) -> String {
    template["Parameters"][name]["Default"]
        .as_str()
        .unwrap_or_else(|| panic!("no parameter {name}"))
        .to_string()
}

/// The SdkWorker parameter, decoded.
fn sdk_worker(template: &serde_json::Value) -> serde_json::Value {
    let raw = aws_smithy_types::base64::decode(parameter(template, "SdkWorker")).unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[test]
fn the_sample_runs_the_sdk_worker_on_testnet_with_no_port_and_no_secret() {
    let api_key = "UP-canary-apikey-5f1c";
    let (template, stderr) = render(&sdk_sample(), &[("ALLORA_API_KEY", api_key)]);
    assert_eq!(stderr, "");
    assert_eq!(parameter(&template, "WorkerRuntime"), "sdk");
    assert_eq!(
        sdk_worker(&template),
        serde_json::json!({"sdk": "1.3.0", "api": "factory", "network": "testnet",
            "chainId": "allora-testnet-1", "topics": [69], "feeTier": "standard",
            "pollingInterval": 120, "model": "model:predict"})
    );
    // The offchain node's config is not shipped; the example model runs (no MODEL_REPO).
    assert_eq!(parameter(&template, "OffchainNodeConfig"), "e30=");
    assert_eq!(parameter(&template, "ModelRepo"), "");
    assert_eq!(
        template["Resources"]["SecurityGroup"]["Properties"]["SecurityGroupIngress"],
        serde_json::json!([])
    );
    let user_data = template["Resources"]["Instance"]["Properties"]["UserData"]["Fn::Base64"]
        ["Fn::Sub"][0]
        .as_str()
        .unwrap();
    assert!(user_data.contains("allora-sdk-worker.service"));
    assert!(!user_data.contains("docker compose"));
    assert!(template["Resources"]["WorkerLogGroup"].is_object());
    let text = template.to_string();
    assert!(!text.contains(api_key) && !text.contains(TEST_MNEMONIC));
}

#[test]
fn mainnet_gets_the_release_that_signs_emissions_v9() {
    let (template, _) = render(
        &sdk_sample(),
        &[("ALLORA_WALLET_CHAIN_ID", "allora-mainnet-1")],
    );
    let worker = sdk_worker(&template);
    assert_eq!(worker["sdk"], "1.0.6");
    assert_eq!(worker["api"], "constructor");
    assert_eq!(worker["network"], "mainnet");
}

#[test]
fn the_offchain_runtime_keeps_its_config_and_port() {
    let (template, stderr) = render(
        &sdk_sample(),
        &[
            ("ALLORA_WORKER_RUNTIME", "offchain-node"),
            ("MODEL_REPO", ""),
        ],
    );
    assert_eq!(stderr, "");
    assert_eq!(parameter(&template, "WorkerRuntime"), "offchain-node");
    assert_eq!(parameter(&template, "SdkWorker"), "e30=");
    // The sample's empty NODECTL_INGRESS_PORTS is the key's default, the seed's 9010.
    assert_eq!(
        template["Resources"]["SecurityGroup"]["Properties"]["SecurityGroupIngress"][0]["FromPort"],
        9010
    );
    assert_eq!(
        parameter(&template, "OffchainNodeImage"),
        "alloranetwork/allora-offchain-node:v0.12.0"
    );
    let config = crate::support::gunzip_base64(&parameter(&template, "OffchainNodeConfig"));
    let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
    // v0.12.0 takes the v0.9+ schema: a chain id and endpoint lists.
    assert_eq!(config["wallet"]["chainId"], "allora-testnet-1");
    assert!(config["wallet"]["nodeRpcs"].is_array());
    assert_eq!(
        parameter(&template, "ModelRepo"),
        "https://github.com/allora-network/basic-coin-prediction-node"
    );
}

/// `rejects` for the SDK sample with `process_env`: the exact error, no request.
#[track_caller]
fn refused(process_env: &[(&str, &str)], expected: &str) {
    rejects(&sdk_sample(), process_env, expected);
}

#[test]
fn a_release_that_signs_for_the_other_network_is_refused() {
    refused(
        &[
            ("ALLORA_WALLET_CHAIN_ID", "allora-mainnet-1"),
            ("ALLORA_SDK_VERSION", "1.3.0"),
            ("ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC", TEST_MNEMONIC),
        ],
        "error: ALLORA_SDK_VERSION (from process environment): allora_sdk 1.3.0 signs emissions \
         v10 messages, and mainnet (allora-mainnet-1) runs emissions v9: its registration and \
         submissions would be rejected\n\
         hint: use allora_sdk 1.0.6 on mainnet, or leave ALLORA_SDK_VERSION unset\n",
    );
}

#[test]
fn a_release_nodectl_has_not_checked_is_refused() {
    refused(
        &[("ALLORA_SDK_VERSION", "1.4.0rc4")],
        "error: ALLORA_SDK_VERSION (from process environment): allora_sdk 1.4.0rc4 is not a \
         release nodectl has checked\n\
         hint: use one of 1.3.0 (testnet), 1.0.6 (mainnet), or leave ALLORA_SDK_VERSION unset \
         for the one that matches the network\n",
    );
}

#[test]
fn a_chain_without_an_sdk_preset_is_refused() {
    refused(
        &[("ALLORA_WALLET_CHAIN_ID", "allora-devnet-7")],
        "error: ALLORA_WALLET_CHAIN_ID (from process environment): `allora-devnet-7` is not a \
         network the SDK worker has a preset for\n\
         hint: use allora-testnet-1 or allora-mainnet-1, or \
         ALLORA_WORKER_RUNTIME=\"offchain-node\" for another chain\n",
    );
}

#[test]
fn a_reputer_needs_the_offchain_runtime() {
    refused(
        &[("ALLORA_REPUTER_TOPIC_ID", "1")],
        "error: ALLORA_REPUTER_TOPIC_ID (from process environment): a reputer runs on \
         allora-offchain-node, and ALLORA_WORKER_RUNTIME=\"sdk\" runs the worker on the Python \
         SDK\n\
         hint: set ALLORA_WORKER_RUNTIME=\"offchain-node\" to run both on the offchain node, or \
         deploy the reputer as its own node (its own .env with NODECTL_NODE_NAME and \
         ALLORA_WORKER_RUNTIME=\"offchain-node\")\n",
    );
}

#[test]
fn the_sdk_worker_has_no_dry_run() {
    refused(
        &[("ALLORA_WALLET_SUBMIT_TX", "false")],
        "error: ALLORA_WALLET_SUBMIT_TX (from process environment): the SDK worker has no dry \
         run: it always submits to the chain\n\
         hint: set ALLORA_WALLET_SUBMIT_TX=\"true\", or ALLORA_WORKER_RUNTIME=\"offchain-node\" \
         for a dry run\n",
    );
}

#[test]
fn several_topics_need_a_release_with_a_shared_lock() {
    refused(
        &[
            ("ALLORA_WALLET_CHAIN_ID", "allora-mainnet-1"),
            ("ALLORA_WORKER_TOPIC_ID", "1,2"),
        ],
        "error: ALLORA_WORKER_TOPIC_ID (from process environment): allora_sdk 1.0.6 runs one \
         topic per wallet, and 2 topics are set\n\
         hint: set one topic, or deploy a node per topic (NODECTL_NODE_NAME)\n",
    );
}

#[test]
fn a_model_entrypoint_and_fee_tier_are_checked() {
    refused(
        &[
            ("ALLORA_SDK_MODEL", "my-model.py"),
            ("ALLORA_SDK_FEE_TIER", "cheap"),
            ("ALLORA_WORKER_RUNTIME", "SDK"),
        ],
        "error: ALLORA_WORKER_RUNTIME (from process environment): `SDK` is not one of `sdk`, \
         `offchain-node`\n\
         hint: set ALLORA_WORKER_RUNTIME to one of `sdk`, `offchain-node`\n",
    );
    refused(
        &[
            ("ALLORA_SDK_MODEL", "my-model.py"),
            ("ALLORA_SDK_FEE_TIER", "cheap"),
        ],
        "error: ALLORA_SDK_FEE_TIER (from process environment): `cheap` is not one of `eco`, \
         `standard`, `priority`\n\
         hint: set ALLORA_SDK_FEE_TIER to one of `eco`, `standard`, `priority`\n\
         \n\
         error: ALLORA_SDK_MODEL (from process environment): `my-model.py` is not \
         module:function\n\
         hint: name the Python module of the model repository and its function, e.g. \
         model:predict (the function takes the SDK's run context and returns the prediction)\n",
    );
}

/// The upstream sample, told to run the SDK: its reputer topic is refused with the reason, and
/// the runtime warning is gone (the choice is explicit).
#[test]
fn an_upstream_sample_told_to_use_the_sdk_says_why_it_cannot() {
    let text = filled(&crate::support::upstream_sample(), ACCOUNT);
    let workspace = Workspace::new(&text);
    let out = workspace.run_with(&["render"], &[("ALLORA_WORKER_RUNTIME", "sdk")]);
    out.expect_code(1);
    assert!(
        !out.stderr
            .contains("this file configures allora-offchain-node"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("ALLORA_REPUTER_TOPIC_ID: a reputer runs on allora-offchain-node"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("ALLORA_WALLET_SUBMIT_TX: the SDK worker has no dry run"),
        "{}",
        out.stderr
    );
}

/// Regression: a security group with an empty ingress list (the SDK worker opens no port)
/// failed `sg_no_world_ssh_rdp` and `sg_no_undeclared_world_open_port` ("property [[*]] is
/// missing"), so `deploy` refused the sample.
#[test]
fn the_sdk_sample_passes_the_checks_with_no_port_open() {
    let workspace = Workspace::new(&sdk_sample());
    let out = workspace.run(&["check"]);
    out.success();
    assert!(
        out.stderr
            .contains("checks: 14 passed, 0 failed, 0 suppressed"),
        "{}",
        out.stderr
    );
}

/// Deploys `env_text` against a closed loopback port (the deploy fails at its first request)
/// and returns stderr: what nodectl said before any request.
fn said_before_deploying(env_text: &str) -> String {
    let mut workspace = Workspace::new(env_text);
    let endpoint = format!("http://127.0.0.1:{}", crate::support::free_port());
    workspace.set("AWS_ENDPOINT_URL", &endpoint);
    workspace.set("AWS_ACCESS_KEY_ID", "testing");
    workspace.set("AWS_SECRET_ACCESS_KEY", "testing");
    workspace.set("NODECTL_MAX_ATTEMPTS", "1");
    workspace.set("ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC", TEST_MNEMONIC);
    let out = workspace.run(&["deploy", "all", "--yes"]);
    assert_ne!(out.code, 0, "{}", out.stderr);
    out.stderr
}

/// No surprise roles (issue 16): before it deploys, nodectl says what the node will run, on
/// which network and topics, and what the wallet needs.
#[test]
fn deploy_says_which_roles_will_run_and_what_they_need() {
    let stderr = said_before_deploying(&sdk_sample());
    assert!(
        stderr.contains(
            "note: `allora-single-node` will run an Allora SDK worker (allora_sdk 1.3.0) on \
             testnet (allora-testnet-1), topic 69; it registers itself on the topic; fund its \
             wallet for gas at https://faucet.testnet.allora.network/ (or set ALLORA_API_KEY)\n"
        ),
        "{stderr}"
    );
    let stderr = said_before_deploying(&filled(&crate::support::upstream_sample(), ACCOUNT));
    assert!(
        stderr.contains(
            "note: `allora-single-node` will run allora-offchain-node v0.12.0 on \
             allora-testnet-1: a worker on topic 1 (a dry run: it submits nothing), and a \
             reputer on topic 1 that stakes 100000 from the wallet; fund the wallet for gas\n"
        ),
        "{stderr}"
    );
}

/// Self-healing (issue 15): the node stack's `RecoveryAlarm` has EC2 recover the instance onto
/// other hardware after two minutes of failed system status checks, and alerts; nodectl turns it
/// off where EC2 cannot recover (instance store volumes).
#[test]
fn ec2_recovers_the_node_when_its_volumes_allow() {
    let (template, _) = render(&sdk_sample(), &[]);
    assert_eq!(parameter(&template, "AutoRecovery"), "true");
    let alarm = &template["Resources"]["RecoveryAlarm"];
    assert_eq!(alarm["Condition"], "RecoversInstance");
    assert_eq!(
        alarm["Properties"]["MetricName"],
        "StatusCheckFailed_System"
    );
    assert_eq!(
        alarm["Properties"]["AlarmActions"][0]["Fn::Sub"],
        "arn:${AWS::Partition}:automate:${AWS::Region}:ec2:recover"
    );
    let (template, _) = render(
        &sdk_sample(),
        &[
            ("EDGE_DATA_VOL_TYPE", "instance-store"),
            ("AWS_INSTANCE_TYPE", "m6id.large"),
        ],
    );
    assert_eq!(parameter(&template, "AutoRecovery"), "false");
    let (template, _) = render(&sdk_sample(), &[("AWS_INSTANCE_TYPE", "m6id.large")]);
    assert_eq!(parameter(&template, "AutoRecovery"), "false");
}

/// An API key on mainnet is said to be unused (the SDK uses it only for the testnet faucet).
#[test]
fn an_api_key_on_mainnet_is_a_warning() {
    let (_, stderr) = render(
        &sdk_sample(),
        &[
            ("ALLORA_WALLET_CHAIN_ID", "allora-mainnet-1"),
            ("ALLORA_API_KEY", "UP-canary-key"),
        ],
    );
    assert_eq!(
        stderr,
        "warning: ALLORA_API_KEY is set, and mainnet has no faucet: the SDK worker uses the key \
         only for the testnet faucet\n"
    );
}
