//! Fleets (issue 15): `NODECTL_NODES` plans one node stack per name over one common stack, each
//! node with its own `nodes/<name>.env`, secret, wallet and outputs entry. Offline: planning,
//! the refusals, which stacks a command selects. On LocalStack (whose stack lifecycle is
//! faithful): three nodes deployed by one command, one of them failing (its secret already holds
//! something nodectl did not write) while the others are deployed, the summary and exit code
//! naming it, and `destroy --node` removing one node only. LocalStack runs no instance: what the
//! nodes run is not shown here.

use crate::support::{runtime, Emulator, Workspace, TEST_MNEMONIC};

/// nodectl's Allora sample as a fleet of `nodes`, with `account`.
fn fleet_env(nodes: &str, account: &str) -> String {
    crate::support::allora_sample(account)
        .replace("NODECTL_NODES=\"\"", &format!("NODECTL_NODES=\"{nodes}\""))
}

fn write_node_file(workspace: &Workspace, name: &str, text: &str) {
    std::fs::create_dir_all(workspace.path("nodes")).unwrap();
    std::fs::write(workspace.path(&format!("nodes/{name}.env")), text).unwrap();
}

#[test]
fn a_fleet_plans_a_node_stack_per_name_with_its_own_overrides() {
    let workspace = Workspace::new(&fleet_env("alpha,beta", "123456789012"));
    write_node_file(&workspace, "beta", "ALLORA_WORKER_TOPIC_ID=\"77\"\n");
    let out = workspace.run(&["render"]);
    out.success();
    assert_eq!(out.stderr, "");
    let all: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        [
            "allora-edge-common",
            "allora-single-node-alpha",
            "allora-single-node-beta"
        ]
    );
    let topics = |stack: &str| {
        let raw = all[stack]["Parameters"]["SdkWorker"]["Default"]
            .as_str()
            .unwrap();
        let worker: serde_json::Value =
            serde_json::from_slice(&aws_smithy_types::base64::decode(raw).unwrap()).unwrap();
        worker["topics"].clone()
    };
    assert_eq!(topics("allora-single-node-alpha"), serde_json::json!([69]));
    assert_eq!(topics("allora-single-node-beta"), serde_json::json!([77]));
    // `single-node` selects every node; one node by its stack id.
    let out = workspace.run(&["render", "single-node-beta"]);
    out.success();
    let one: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(one["Parameters"]["SdkWorker"].is_object());
    let out = workspace.run(&["cost", "--output", "json"]);
    out.success();
    assert!(
        out.stdout.contains("allora-single-node-alpha")
            && out.stdout.contains("allora-single-node-beta")
    );
}

/// A node file that names another region: the nodes there get their own copy of the common
/// stack (the region appended to its id and name), which their stacks import from; each stack
/// is priced at its region's prices.
#[test]
fn a_node_in_another_region_gets_its_own_common_stack_there() {
    let workspace = Workspace::new(&fleet_env("alpha,beta,gamma,delta", "123456789012"));
    write_node_file(&workspace, "beta", "AWS_REGION=\"us-east-2\"\n");
    write_node_file(&workspace, "gamma", "AWS_REGION=\"us-east-2\"\n");
    write_node_file(&workspace, "delta", "AWS_REGION=\"eu-west-1\"\n");
    let out = workspace.run(&["render"]);
    out.success();
    let all: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        [
            "allora-edge-common",
            "allora-single-node-alpha",
            "allora-edge-common-us-east-2",
            "allora-single-node-beta",
            "allora-single-node-gamma",
            "allora-edge-common-eu-west-1",
            "allora-single-node-delta"
        ]
    );
    let common_of = |stack: &str| all[stack]["Parameters"]["CommonStackName"]["Default"].clone();
    assert_eq!(common_of("allora-single-node-alpha"), "allora-edge-common");
    assert_eq!(
        common_of("allora-single-node-beta"),
        "allora-edge-common-us-east-2"
    );
    assert_eq!(
        common_of("allora-single-node-gamma"),
        "allora-edge-common-us-east-2"
    );
    // The copy is the same template: exports are regional.
    assert_eq!(
        all["allora-edge-common"],
        all["allora-edge-common-us-east-2"]
    );
    let out = workspace.run(&["render", "common-us-east-2"]);
    out.success();
    // `common` selects every region's copy.
    let out = workspace.run(&["render", "common"]);
    out.success();
    let commons: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<&String> = commons.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        [
            "allora-edge-common",
            "allora-edge-common-us-east-2",
            "allora-edge-common-eu-west-1"
        ]
    );
    // Each stack at its region's prices: eu-west-1 is not in the built-in table.
    let out = workspace.run(&["cost", "--output", "json"]);
    out.success();
    assert!(
        out.stderr
            .starts_with("warning: region `eu-west-1` is not in the built-in price table"),
        "{}",
        out.stderr
    );
    let estimate: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let instance_price = |stack: &str| {
        estimate["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|line| line["stack"] == stack && line["category"] == "instance")
            .unwrap_or_else(|| panic!("no instance line for {stack}: {estimate}"))["unitPriceUsd"]
            .clone()
    };
    assert!(instance_price("allora-single-node-beta").is_number());
    assert!(instance_price("allora-single-node-alpha").is_number());
    assert!(instance_price("allora-single-node-delta").is_null());
}

#[test]
fn a_fleet_refuses_a_wallet_shared_by_every_node_and_bad_names() {
    let workspace = Workspace::new(&fleet_env("alpha,beta", "123456789012"));
    let out = workspace.run_with(
        &["render"],
        &[("ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC", TEST_MNEMONIC)],
    );
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC (from process environment): is set for the \
         whole fleet, and each node needs its own\n\
         hint: set it in each node's own file (nodes/<name>.env), or leave it unset and nodectl \
         generates one per node\n"
    );
    let out = workspace.run_with(&["render"], &[("NODECTL_NODES", "alpha,alpha")]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: NODECTL_NODES (from process environment): names `alpha` twice\n\
         hint: give each node its own name\n"
    );
    // A node file with another account; one with another region that the environment
    // overrides.
    write_node_file(&workspace, "beta", "AWS_ACCOUNT_ID=\"210987654321\"\n");
    let out = workspace.run(&["render"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: node `beta` would deploy to another account than the fleet's: one fleet is one \
         account\n\
         hint: set AWS_ACCOUNT_ID in the .env file only, not in nodes/beta.env\n"
    );
    write_node_file(&workspace, "beta", "AWS_REGION=\"eu-west-1\"\n");
    let out = workspace.run_with(&["render"], &[("AWS_REGION", "us-east-2")]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: nodes/beta.env:1: AWS_REGION: puts node `beta` in `eu-west-1`, but `us-east-2` \
         (process environment) wins for every node\n\
         hint: set the fleet's region in the .env file, not in the environment or with \
         --region, when node files name their own regions\n"
    );
    // A node file may not rename its node.
    write_node_file(&workspace, "beta", "NODECTL_NODE_NAME=\"gamma\"\n");
    let out = workspace.run(&["render"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: nodes/beta.env:1: NODECTL_NODE_NAME: is set in a node's own file; the fleet names \
         its nodes\n\
         hint: remove it from nodes/beta.env: the node is named `beta` by NODECTL_NODES\n"
    );
    // Per-node wallets on stdin, one NAME=value line each; anything else is refused, unshown.
    std::fs::remove_file(workspace.path("nodes/beta.env")).unwrap();
    let out = workspace.run_with_input(
        &[
            "deploy",
            "all",
            "--yes",
            "--secret-stdin",
            "ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC",
        ],
        "alpha=word word\nmy secret words\n",
        &[],
    );
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC (from --secret-stdin): line 2 of stdin is \
         not NAME=value for a node of NODECTL_NODES (value hidden)\n\
         hint: for a fleet, pipe one line per node: alpha=<value> (nodes without a line get a \
         generated one)\n"
    );
}

#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn a_fleet_deploys_every_node_and_one_failing_node_stops_no_other() {
    let emulator = Emulator::localstack();
    let workspace =
        Workspace::new(&fleet_env("alpha,beta,gamma", emulator.account)).with_emulator(&emulator);
    write_node_file(&workspace, "gamma", "ALLORA_WORKER_TOPIC_ID=\"77\"\n");
    // beta's secret already exists and holds something nodectl did not write.
    let rt = runtime();
    let sdk = rt.block_on(emulator.sdk());
    rt.block_on(
        aws_sdk_secretsmanager::Client::new(&sdk)
            .create_secret()
            .name("allora-single-node-beta/node-secret")
            .secret_string("not json")
            .send(),
    )
    .unwrap();

    let out = workspace.run(&["deploy", "all", "--yes", "--outputs-file", "out.json"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains(
            "error: `allora-single-node-beta`: the secret `allora-single-node-beta/node-secret` \
             in `us-east-1` does not hold a JSON object\n"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "error: 1 of 3 node stacks failed to deploy\n\
             hint: deployed and left as they are: allora-single-node-alpha, \
             allora-single-node-gamma; fix what failed and run the deploy again (deployed nodes \
             stay unchanged)\n"
        ),
        "{}",
        out.stderr
    );
    // The nodes deploy at once (--concurrency 8 by default): gamma's change set is created
    // before alpha's stack completes (with --concurrency 1 it is not).
    let line_of = |found: &dyn Fn(&str) -> bool| {
        out.stderr
            .lines()
            .position(found)
            .unwrap_or_else(|| panic!("a line missing:\n{}", out.stderr))
    };
    let gamma_starts = line_of(&|l| l.contains("for stack `allora-single-node-gamma`"));
    let alpha_done = line_of(&|l| {
        l.contains("allora-single-node-alpha")
            && l.contains("AWS::CloudFormation::Stack")
            && l.contains("CREATE_COMPLETE")
    });
    assert!(gamma_starts < alpha_done, "{}", out.stderr);
    // Each deployed node has its own generated wallet.
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("wallet of `allora-single-node-"))
            .count(),
        2,
        "{}",
        out.stderr
    );
    let outputs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(workspace.path("out.json")).unwrap())
            .unwrap();
    let mut deployed: Vec<&String> = outputs.as_object().unwrap().keys().collect();
    deployed.sort();
    assert_eq!(
        deployed,
        [
            "allora-edge-common",
            "allora-single-node-alpha",
            "allora-single-node-gamma"
        ]
    );
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    let status = |stack: &str| {
        rt.block_on(cfn.describe_stacks().stack_name(stack).send())
            .ok()
            .and_then(|d| {
                d.stacks()
                    .first()
                    .and_then(|s| s.stack_status().map(|s| s.as_str().to_string()))
            })
    };
    assert_eq!(
        status("allora-single-node-alpha").as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(
        status("allora-single-node-gamma").as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(status("allora-single-node-beta"), None);

    // One node destroyed; the other and the common stack stay.
    let out = workspace.run(&["destroy", "--node", "alpha", "--yes"]);
    out.success();
    assert!(status("allora-single-node-alpha").is_none_or(|s| s == "DELETE_COMPLETE"));
    assert_eq!(
        status("allora-single-node-gamma").as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(
        status("allora-edge-common").as_deref(),
        Some("CREATE_COMPLETE")
    );
    workspace.run(&["destroy", "--yes"]).success();
}

/// A fleet over two regions on LocalStack (multi-region, with a faithful stack lifecycle):
/// one command deploys the common stack and a node in each region, the outputs file holds all
/// four stacks, `status` names each stack's region, each node's secret is in its own region,
/// and `destroy` removes everything in both.
#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn a_fleet_spans_two_regions() {
    let emulator = Emulator::localstack();
    let workspace =
        Workspace::new(&fleet_env("alpha,beta", emulator.account)).with_emulator(&emulator);
    write_node_file(&workspace, "beta", "AWS_REGION=\"us-east-2\"\n");
    let out = workspace.run(&["deploy", "all", "--yes", "--outputs-file", "out.json"]);
    out.success();
    let outputs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(workspace.path("out.json")).unwrap())
            .unwrap();
    let names: Vec<&String> = outputs.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        [
            "allora-edge-common",
            "allora-single-node-alpha",
            "allora-edge-common-us-east-2",
            "allora-single-node-beta"
        ],
        "{}",
        out.stderr
    );
    assert_eq!(
        outputs["allora-edge-common-us-east-2"]["Region"],
        "us-east-2"
    );
    assert!(
        out.stderr
            .contains("for stack `allora-single-node-beta` in `us-east-2`\n"),
        "{}",
        out.stderr
    );
    let rt = runtime();
    let sdk = rt.block_on(emulator.sdk());
    let in_region = |region: &str| {
        sdk.to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build()
    };
    let exists = |region: &str, stack: &str| {
        let cfn = aws_sdk_cloudformation::Client::new(&in_region(region));
        rt.block_on(cfn.describe_stacks().stack_name(stack).send())
            .ok()
            .and_then(|d| {
                d.stacks()
                    .first()
                    .and_then(|s| s.stack_status().map(|s| s.as_str().to_string()))
            })
            .is_some_and(|status| status != "DELETE_COMPLETE")
    };
    assert!(exists("us-east-2", "allora-single-node-beta"));
    assert!(exists("us-east-2", "allora-edge-common-us-east-2"));
    assert!(!exists("us-east-1", "allora-single-node-beta"));
    assert!(exists("us-east-1", "allora-single-node-alpha"));
    let secret_in = |region: &str, id: &str| {
        let client = aws_sdk_secretsmanager::Client::new(&in_region(region));
        rt.block_on(client.describe_secret().secret_id(id).send())
            .is_ok()
    };
    assert!(secret_in(
        "us-east-2",
        "allora-single-node-beta/node-secret"
    ));
    assert!(!secret_in(
        "us-east-1",
        "allora-single-node-beta/node-secret"
    ));

    let out = workspace.run(&["status", "--stacks-only"]);
    out.success();
    let line = |stack: &str| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(stack))
            .unwrap_or_else(|| panic!("no line for {stack}:\n{}", out.stdout))
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        line("allora-single-node-beta"),
        ["allora-single-node-beta", "us-east-2", "CREATE_COMPLETE"]
    );
    assert_eq!(
        line("allora-edge-common"),
        ["allora-edge-common", "us-east-1", "CREATE_COMPLETE"]
    );

    let out = workspace.run(&["destroy", "--yes"]);
    out.success();
    for (region, stack) in [
        ("us-east-1", "allora-single-node-alpha"),
        ("us-east-1", "allora-edge-common"),
        ("us-east-2", "allora-single-node-beta"),
        ("us-east-2", "allora-edge-common-us-east-2"),
    ] {
        assert!(
            !exists(region, stack),
            "{stack} in {region}: {}",
            out.stderr
        );
    }
}

/// `status` of a fleet reads every node (a few at a time, region by region) and prints them in
/// the plan's order; `health --node beta` checks one, `--node gamma` one in another region. moto keeps the stacks and instances; SSM is our double,
/// which answers for any instance (see tests/day2.rs).
#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn status_covers_every_node_of_a_fleet_in_order() {
    use crate::support::ssm::{Recorded, SsmDouble};
    let emulator = Emulator::moto();
    let double = SsmDouble::start(Recorded::Allora, &emulator);
    let workspace = Workspace::new(&fleet_env("alpha,beta,gamma", emulator.account))
        .with_emulator(&emulator)
        .with_ssm(&double);
    // gamma in another region: read through a session there.
    write_node_file(&workspace, "gamma", "AWS_REGION=\"us-east-2\"\n");
    workspace
        .run(&["deploy", "all", "--yes", "--method", "direct"])
        .success();
    double.write(
        "run/allora-sdk-worker/status.json",
        r#"{"chainId": "allora-testnet-1", "submissions": 1, "failures": 0}"#,
    );
    let out = workspace.run(&["status"]);
    out.success();
    let nodes: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|line| line.split(':').next())
        .filter(|name| name.starts_with("allora-single-node-") && !name.contains(' '))
        .collect();
    assert_eq!(
        nodes,
        [
            "allora-single-node-alpha",
            "allora-single-node-beta",
            "allora-single-node-gamma"
        ],
        "{}",
        out.stdout
    );
    let out = workspace.run(&["health", "--node", "beta"]);
    out.success();
    assert!(
        out.stdout.starts_with("allora-single-node-beta: ok"),
        "{}",
        out.stdout
    );
    let out = workspace.run(&["health", "--node", "gamma"]);
    out.success();
    assert!(
        out.stdout.starts_with("allora-single-node-gamma: ok"),
        "{}",
        out.stdout
    );
}

/// The other fleet mistakes, each with its exact message, before any request.
#[test]
fn fleet_mistakes_are_refused_with_their_reason() {
    let workspace = Workspace::new(&fleet_env("alpha,beta", "123456789012"));
    let out = workspace.run_with(&["render"], &[("NODECTL_NODE_NAME", "solo")]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: .env:222: NODECTL_NODES: names the fleet's nodes, and NODECTL_NODE_NAME \
         names one node as well\n\
         hint: remove NODECTL_NODE_NAME: each node of NODECTL_NODES is named by its entry\n"
    );
    let many: Vec<String> = (1..=101).map(|n| format!("n{n}")).collect();
    let out = workspace.run_with(&["render"], &[("NODECTL_NODES", &many.join(","))]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: NODECTL_NODES (from process environment): names 101 nodes, more than the 100 one \
         fleet takes\n\
         hint: split the fleet into several .env files\n"
    );
    // A node file with tags (regression: they were ignored; tags are the fleet's).
    write_node_file(&workspace, "beta", "NODECTL_TAGS=\"team=b\"\n");
    let out = workspace.run(&["render"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: nodes/beta.env:1: NODECTL_TAGS: is set in a node's own file; the fleet's stacks \
         share their tags\n\
         hint: remove it from nodes/beta.env: set the tags in the .env file\n"
    );
    std::fs::remove_file(workspace.path("nodes/beta.env")).unwrap();
    let out = workspace.run(&["destroy", "--node", "gamma", "--yes"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: `gamma` is not a node of this allora plan\n\
         hint: its node stacks: single-node-alpha, single-node-beta\n"
    );
}
