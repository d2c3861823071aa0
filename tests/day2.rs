//! Day-2 commands end to end (issue 13): `status`, `health`, `logs`, `exec`, `restart`, `rpc`
//! and `connect` through the real binary and SDK. CloudFormation and EC2 are moto (the stacks
//! are deployed for real; moto keeps the instance and its state); SSM is our own double
//! (`tests/support/ssm_double.py`), which runs the commands nodectl sends in a sandbox with
//! stub docker, systemctl, journalctl and curl printing recorded, real-format output. Neither
//! emulator runs an SSM command (both answer Success with empty output), so without the double
//! none of this could fail.
//!
//! The stacks are deployed with `--method direct`: moto's change sets do not resolve imports
//! (`ExecuteChangeSet` answers "No export named ..."), its CreateStack does.
//!
//! What these tests cannot show: a real SSM agent (root on Amazon Linux, its delivery delays),
//! a real node answering, EC2 status checks going bad (moto always reports ok), a reboot.

use crate::support::ssm::{Recorded, SsmDouble};
use crate::support::{filled, theta_sample, upstream_sample, Emulator, Workspace};

const THETA_NODE: &str = "theta-edge-single-node-mainnet";

fn theta(emulator: &Emulator, double: &SsmDouble) -> Workspace {
    let mut workspace = Workspace::new(&theta_sample(emulator.account))
        .with_emulator(emulator)
        .with_ssm(double);
    workspace.set("EDGE_NODE_PASSWORD", "a-long-enough-password");
    workspace
}

/// moto, and the SSM double playing a Theta node (its other SSM calls go to moto).
fn theta_emulators() -> (Emulator, SsmDouble) {
    let emulator = Emulator::moto();
    let double = SsmDouble::start(Recorded::Theta, &emulator);
    (emulator, double)
}

/// `workspace` after `deploy all` (`--method direct`: see the module documentation).
fn deployed(workspace: Workspace) -> Workspace {
    workspace
        .run(&["deploy", "all", "--yes", "--method", "direct"])
        .success();
    workspace
}

/// The instance id nodectl found, from `status --output json`.
fn instance_id(workspace: &Workspace) -> String {
    let out = workspace.run(&["status", "--output", "json"]);
    out.success();
    let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    status["nodes"][0]["instance"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn a_theta_node_is_operated_through_ssm() {
    let (emulator, double) = theta_emulators();
    let workspace = deployed(theta(&emulator, &double));

    // health: every check ok, exit 0.
    let out = workspace.run(&["health"]);
    out.success();
    assert!(
        out.stdout.starts_with(&format!("{THETA_NODE}: ok\n")),
        "{}",
        out.stdout
    );
    for expected in [
        "ssm-agent     ok        online",
        "service       ok        theta-edge-node.service active",
        "edgelauncher  ok        Up 2 days (thetalabsorg/edgelauncher_mainnet:latest)",
        "edgecore      ok        height 27318744",
        "peers         ok        3 peers",
        "edgelauncher  ok        answers (1 recent job)",
    ] {
        assert!(out.stdout.contains(expected), "{expected}\n{}", out.stdout);
    }

    // health --output json: the same document as a node of `status`.
    let out = workspace.run(&["health", "--output", "json"]);
    out.success();
    let health: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(health["stackName"], THETA_NODE);
    assert_eq!(health["health"], "ok");
    assert_eq!(health["checks"][0]["name"], "instance");
    // exec --output json: output and exit code as data.
    let out = workspace.run(&["exec", "--output", "json", "--", "echo hi; exit 2"]);
    out.expect_code(2);
    let result: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(result["stdout"], "hi\n");
    assert_eq!(result["exitCode"], 2);
    assert_eq!(result["status"], "Failed");

    // status --output json: the stacks and the node, in the documented shape.
    let out = workspace.run(&["status", "--output", "json"]);
    out.success();
    let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(status["stacks"][1]["stackName"], THETA_NODE);
    assert_eq!(status["stacks"][1]["status"], "CREATE_COMPLETE");
    let node = &status["nodes"][0];
    assert_eq!(node["health"], "ok");
    assert_eq!(node["instance"]["state"], "running");
    assert_eq!(node["agent"], "Online");
    assert_eq!(node["service"]["state"], "active");
    assert_eq!(node["containers"][0]["name"], "edgelauncher");
    assert_eq!(node["containers"][0]["state"], "running");
    assert!(node["uptimeSeconds"].as_u64().is_some(), "{node}");
    let instance = node["instance"]["id"].as_str().unwrap().to_string();
    // One SendCommand for the whole status (the double logs every request).
    let requests = double.file("requests.log");
    assert!(
        requests.contains(&format!("SendCommand {instance}")),
        "{requests}"
    );

    // exec: stdout, stderr and the exit code of the remote command; words quoted exactly.
    let out = workspace.run(&["exec", "--", "echo out; echo err >&2; exit 3"]);
    out.expect_code(3);
    assert_eq!(out.stdout, "out\n");
    assert!(out.stderr.ends_with("err\n"), "{}", out.stderr);
    let out = workspace.run(&["exec", "--", "printf", "%s\\n", "a b", "it's", "$HOME"]);
    out.success();
    assert_eq!(out.stdout, "a b\nit's\n$HOME\n");

    // Ctrl-C while a command runs on the node: nodectl cancels it (CancelCommand) and exits 130,
    // rather than leaving it running there.
    let child = workspace.spawn(&["exec", "--", "sleep 30"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !double.file("requests.log").contains("[\"sleep 30\"]") {
        assert!(
            std::time::Instant::now() < deadline,
            "the command was never sent"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("cancelled SSM command ") && stderr.contains(&instance),
        "{stderr}"
    );
    assert!(double.file("requests.log").contains("CancelCommand"));

    // --timeout: SSM stops the command (executionTimeout); exit 124, as timeout(1).
    let out = workspace.run(&["exec", "--timeout", "1s", "--", "sleep 5"]);
    out.expect_code(124);
    assert!(
        out.stderr.ends_with(&format!(
            "warning: the command on {instance} did not finish within 1s and SSM stopped it; \
             give it longer with --timeout, or run it in the background on the node\n"
        )),
        "{}",
        out.stderr
    );

    // rpc: the result as JSON; an RPC error and an unknown prefix say so.
    let out = workspace.run(&["rpc", "edgecore.GetStatus"]);
    out.success();
    let result: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(result["current_height"], "27318744");
    let out = workspace.run(&[
        "rpc",
        "edgelauncher.GetPastJobs",
        r#"[{"type":"lavita","page":0,"num":10}]"#,
    ]);
    out.success();
    let calls = double.file("state/calls");
    assert!(
        calls.contains(r#""params":[{"type":"lavita","page":0,"num":10}]"#),
        "{calls}"
    );
    let out = workspace.run(&["rpc", "edgecore.Nope"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains(&format!(
            "error: `edgecore.Nope` on port 17888 of {instance} ({THETA_NODE}): RPC error: rpc: can't find method edgecore.Nope\n"
        )),
        "{}",
        out.stderr
    );
    let out = workspace.run(&["rpc", "foo.Bar"]);
    out.expect_code(1);
    assert!(out.stderr.ends_with(
        "error: no RPC port of this node serves `foo.Bar`\n\
         hint: methods start with edgecore.*, edgelauncher.*, edgeencoder.*\n"
    ));
    let out = workspace.run(&["rpc", "edgecore.GetStatus", "[oops"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("error: PARAMS is not JSON: "),
        "{}",
        out.stderr
    );

    // logs: the cloud-init output as it is; the last N lines; the journal since a time.
    let cloud_init = std::fs::read_to_string(
        crate::support::repo().join("tests/data/node/cloud-init-output.log"),
    )
    .unwrap();
    let out = workspace.run(&["logs"]);
    out.success();
    assert_eq!(out.stdout, cloud_init);
    let out = workspace.run(&["logs", "-n", "2"]);
    out.success();
    let last_two: Vec<&str> = cloud_init.lines().rev().take(2).collect();
    assert_eq!(out.stdout, format!("{}\n{}\n", last_two[1], last_two[0]));
    double.write(
        "state/journal.log",
        "2026-11-30T10:00:00+0000 ip-10-0-0-157 docker[812]: started\n",
    );
    let out = workspace.run(&["logs", "--source", "node", "--since", "10m"]);
    out.success();
    assert_eq!(
        out.stdout,
        "2026-11-30T10:00:00+0000 ip-10-0-0-157 docker[812]: started\n"
    );
    assert!(double
        .file("state/calls")
        .contains("journalctl -u theta-edge-node.service --no-pager -o short-iso --since @"));
    let out = workspace.run(&["logs", "--since", "10m"]);
    out.expect_code(1);
    assert!(out.stderr.ends_with(
        "error: --since does not apply to the cloud-init log (its lines carry no time)\n\
         hint: use --lines N, or --source node / --source CONTAINER with --since\n"
    ));

    // --follow: the lines written after the start come too, once each, until Ctrl-C.
    let mut child = workspace.spawn(&["logs", "--follow", "-n", "1"]);
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line, format!("{}\n", cloud_init.lines().last().unwrap()));
    let mut grown = cloud_init.clone();
    grown.push_str("nodectl: one more line\nnodectl: and another\n");
    double.write("var/log/cloud-init-output.log", &grown);
    for expected in ["nodectl: one more line\n", "nodectl: and another\n"] {
        line.clear();
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        assert_eq!(line, expected);
    }
    assert!(std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "", "a line came twice");
    double.write("var/log/cloud-init-output.log", &cloud_init);

    // Degraded (no peers): exit 7, the reason on stderr.
    double.write(
        "state/rpc-edgecore.GetPeers.json",
        r#"{"jsonrpc":"2.0","id":1,"result":{"peers":[]}}"#,
    );
    let out = workspace.run(&["health"]);
    out.expect_code(7);
    assert!(out.stderr.contains(&format!(
        "error: `{THETA_NODE}` is degraded: peers: no peers\n"
    )));
    // Down (edgecore refuses connections): exit 8.
    double.write("state/down-17888", "");
    let out = workspace.run(&["health"]);
    out.expect_code(8);
    assert!(
        out.stderr.contains(&format!(
            "error: `{THETA_NODE}` is down: edgecore: 17888: not a JSON-RPC reply: curl: (7) Failed to connect"
        )),
        "{}",
        out.stderr
    );

    // restart: systemctl restart through SSM, then the wait until healthy (the stub's restart
    // brings the ports back; the peers come back here too).
    double.write(
        "state/rpc-edgecore.GetPeers.json",
        &std::fs::read_to_string(
            crate::support::repo().join("tests/data/node/edgecore-getpeers.json"),
        )
        .unwrap(),
    );
    let out = workspace.run(&["restart", "--wait", "2m"]);
    out.success();
    assert!(double
        .file("state/calls")
        .contains("systemctl restart theta-edge-node.service"));
    assert!(out.stdout.starts_with(&format!("{THETA_NODE}: ok\n")));
    assert!(out
        .stderr
        .contains("restarting theta-edge-node.service on instance"));

    // --hard: EC2 RebootInstances (moto), then a wait until the node's uptime is smaller than
    // before (the reboot happened; the double plays it by a smaller /proc/uptime), then health.
    double.write("state/uptime", "350735.47 234388.90\n");
    let mut child = workspace.spawn(&["restart", "--hard", "--wait", "2m"]);
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("rebooting instance ") {
        let mut line = String::new();
        assert!(
            std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0,
            "restart ended early:\n{seen}"
        );
        seen.push_str(&line);
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(
        child.try_wait().unwrap().is_none(),
        "restart --hard did not wait for the reboot"
    );
    double.write("state/uptime", "12.01 10.00\n");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(&format!("{THETA_NODE}: ok\n")));
    double.remove("state/uptime");

    // An agent that lost its connection: commands refuse with the usual causes; health is down.
    double.write(&format!("state/ping-{instance}"), "ConnectionLost");
    let out = workspace.run(&["exec", "--", "true"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains(&format!(
            "error: the SSM agent of instance {instance} ({THETA_NODE}) is ConnectionLost\n\
         hint: the usual causes: the instance has no route to the SSM endpoints"
        )),
        "{}",
        out.stderr
    );
    let out = workspace.run(&["health"]);
    out.expect_code(8);
    assert!(
        out.stderr.contains("is down: ssm-agent: ConnectionLost"),
        "{}",
        out.stderr
    );
    double.remove(&format!("state/ping-{instance}"));

    // status --stacks-only makes no EC2 or SSM request.
    let before = double.file("requests.log").lines().count();
    workspace.run(&["status", "--stacks-only"]).success();
    assert_eq!(double.file("requests.log").lines().count(), before);

    workspace.run(&["destroy", "--yes"]).success();
    // Without the stack: what to do.
    let out = workspace.run(&["exec", "--", "true"]);
    out.expect_code(1);
    assert!(
        out.stderr.ends_with(&format!(
            "error: stack `{THETA_NODE}` does not exist in `us-east-2`\n\
         hint: deploy it first: nodectl deploy single-node\n"
        )),
        "{}",
        out.stderr
    );
    let out = workspace.run(&["health"]);
    out.expect_code(8);
}

/// A node stack that is not in the plan is refused before any request, naming the ones there
/// are.
#[test]
fn an_unknown_node_is_refused_with_the_node_stacks_there_are() {
    let tripwire = crate::support::Tripwire::new();
    let mut workspace = Workspace::upstream("123456789012");
    workspace.set("AWS_ENDPOINT_URL", &tripwire.endpoint);
    for args in [
        &["health", "--node", "nope"][..],
        &["exec", "--node", "nope", "--", "true"],
        &["status", "--node", "nope"],
    ] {
        let out = workspace.run(args);
        out.expect_code(1);
        assert_eq!(
            out.stderr,
            "error: `nope` is not a node stack of this allora plan\n\
             hint: its node stacks: single-node\n",
            "{args:?}"
        );
    }
    assert_eq!(tripwire.connections(), 0, "an AWS request was made");
}

#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn a_long_log_is_read_in_pages_without_losing_a_line() {
    let (emulator, double) = theta_emulators();
    let workspace = deployed(theta(&emulator, &double));
    // 3,000 lines of 120 characters: 363,000 characters, 15 times SSM's inline limit; one line
    // of 30,000 characters, longer than a page can carry.
    let mut log = String::new();
    for n in 0..3000 {
        log.push_str(&format!("{n:06} {}\n", "x".repeat(113)));
    }
    let long_line = format!("{}\n", "y".repeat(30_000));
    log.push_str(&long_line);
    log.push_str("the end\n");
    double.write("var/log/cloud-init-output.log", &log);
    let out = workspace.run(&["logs", "-n", "0"]);
    out.success();
    let expected = log.replace(&long_line, &format!("{}…\n", "y".repeat(24_000)));
    assert_eq!(out.stdout.len(), expected.len());
    assert!(out.stdout == expected, "the pages do not add up to the log");
    let sent = double
        .file("requests.log")
        .lines()
        .filter(|line| line.starts_with("SendCommand"))
        .count();
    assert!(sent >= 16, "{sent} commands");
    // The file written on the node was removed.
    assert!(double
        .file("requests.log")
        .contains("rm -f /tmp/nodectl-logs."));
}

#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn an_allora_worker_reports_its_containers_and_metrics() {
    let emulator = Emulator::moto();
    let double = SsmDouble::start(Recorded::Allora, &emulator);
    let workspace = Workspace::new(&filled(&upstream_sample(), emulator.account))
        .with_emulator(&emulator)
        .with_ssm(&double);
    workspace
        .run(&["deploy", "all", "--yes", "--method", "direct"])
        .success();
    let out = workspace.run(&["health"]);
    out.success();
    for expected in [
        "allora-inference-1  ok        Up 2 days (healthy) (allora-inference)",
        "allora-worker-1     ok        Up 2 days (alloranetwork/allora-offchain-node:v0.8.0, 1 restarts)",
        "inference           ok        answers (HTTP 200)",
        "worker              ok        42 inference requests, 40 chain submissions",
    ] {
        assert!(out.stdout.contains(expected), "{expected}\n{}", out.stdout);
    }
    // The health URL of the .env file reached the probe, quoted.
    assert!(double
        .file("state/calls")
        .contains("curl -fsS -m 10 -o /dev/null -w HTTP %{http_code}\\n http"));
    // The worker container gone: down.
    let ps = double.file("state/docker-ps.jsonl");
    double.write(
        "state/docker-ps.jsonl",
        &ps.lines()
            .filter(|l| !l.contains("allora-worker-1"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let out = workspace.run(&["health"]);
    out.expect_code(8);
    assert!(out
        .stderr
        .contains("error: `allora-single-node` is down: allora-worker-1: no such container\n"));
    // A container's log that does not exist.
    let out = workspace.run(&["logs", "--source", "allora-worker-1"]);
    out.expect_code(1);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.ends_with(
            "error: reading the `allora-worker-1` container log failed (exit code 1): Error \
             response from daemon: No such container: allora-worker-1\n\
             hint: check the source: `nodectl status` lists the containers\n"
        ),
        "{}",
        out.stderr
    );
    let out = workspace.run(&["rpc", "edgecore.GetStatus"]);
    out.expect_code(1);
    assert!(
        out.stderr.ends_with(
            "error: no RPC port of this node serves `edgecore.GetStatus`\n\
         hint: this blueprint's node has no JSON-RPC port\n"
        ),
        "{}",
        out.stderr
    );
}

#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn connect_hands_over_to_the_session_manager_plugin_or_says_how() {
    let (emulator, double) = theta_emulators();
    let mut workspace = deployed(theta(&emulator, &double));
    let instance = instance_id(&workspace);
    // A PATH with a stub `aws` that records its arguments, and no plugin.
    let bin = workspace.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let record = workspace.path("aws-args");
    std::fs::write(
        bin.join("aws"),
        format!("#!/bin/sh\necho \"$@\" > '{}'\n", record.display()),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(bin.join("aws"))
        .status()
        .unwrap();
    workspace.set("PATH", &format!("{}:/usr/bin:/bin", bin.display()));
    let out = workspace.run(&["connect"]);
    out.expect_code(1);
    assert!(out.stderr.contains(&format!(
        "error: cannot open a session: session-manager-plugin not found on PATH; the command is:\n  \
         aws ssm start-session --target {instance} --region us-east-2\n\
         hint: install the AWS CLI v2 and the Session Manager plugin"
    )), "{}", out.stderr);
    std::fs::write(bin.join("session-manager-plugin"), "#!/bin/sh\n").unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(bin.join("session-manager-plugin"))
        .status()
        .unwrap();
    let out = workspace.run(&["connect"]);
    out.success();
    assert_eq!(
        std::fs::read_to_string(&record).unwrap(),
        format!("ssm start-session --target {instance} --region us-east-2\n")
    );
}

/// The alarms and the e-mail subscription are created with the node stack. LocalStack, not
/// moto: moto's CloudFormation skips alarms and subscriptions without a word (its
/// DescribeStackResources lists only the topic). What neither shows: an alarm going off, the
/// confirmation mail.
#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn the_node_stack_creates_its_alarms_and_the_email_subscription() {
    let emulator = Emulator::localstack();
    let mut workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    workspace.set("NODECTL_ALERT_EMAIL", "ops@example.com");
    let out = workspace.run(&["deploy", "all", "--yes", "-O", "out.json"]);
    out.success();
    let rt = crate::support::runtime();
    let cfn = aws_sdk_cloudformation::Client::new(&rt.block_on(emulator.sdk()));
    let resources = rt
        .block_on(
            cfn.describe_stack_resources()
                .stack_name("allora-single-node")
                .send(),
        )
        .unwrap();
    let mut created: Vec<(&str, &str)> = resources
        .stack_resources()
        .iter()
        .filter(|r| {
            r.resource_type().is_some_and(|t| {
                t.starts_with("AWS::CloudWatch::Alarm") || t.starts_with("AWS::SNS")
            })
        })
        .filter_map(|r| Some((r.logical_resource_id()?, r.resource_status()?.as_str())))
        .collect();
    created.sort();
    assert_eq!(
        created,
        [
            ("AlertSubscription", "CREATE_COMPLETE"),
            ("AlertTopic", "CREATE_COMPLETE"),
            ("InstanceStatusAlarm", "CREATE_COMPLETE"),
            ("RecoveryAlarm", "CREATE_COMPLETE"),
        ]
    );
    let outputs = crate::support::current_outputs(&workspace);
    assert!(outputs["allora-single-node"]["AlertTopicArn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:sns:us-east-1:"));
    workspace.run(&["destroy", "--yes"]).success();
}

/// An Allora SDK worker (issue 16; nodectl's sample, `WorkerRuntime` `sdk`): `health` checks
/// `allora-sdk-worker.service` and judges the worker's status file, with no containers. The
/// double's sandbox plays the instance's `/run`.
#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn an_allora_sdk_worker_reports_its_status_file() {
    let emulator = Emulator::moto();
    let double = SsmDouble::start(Recorded::Allora, &emulator);
    let sample = crate::support::allora_sample(emulator.account);
    let mut workspace = Workspace::new(&sample)
        .with_emulator(&emulator)
        .with_ssm(&double);
    workspace.set(
        "ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC",
        crate::support::TEST_MNEMONIC,
    );
    let workspace = deployed(workspace);
    double.write(
        "run/allora-sdk-worker/status.json",
        r#"{"sdk": "1.3.0", "chainId": "allora-testnet-1", "topics": [69], "submissions": 3,
            "failures": 0, "lastSubmission": "2026-11-30T12:00:00Z", "lastError": null}"#,
    );
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let out = workspace.run(&["health"]);
    out.success();
    assert!(
        words(&out.stdout).contains(
            "service ok allora-sdk-worker.service active worker ok allora-testnet-1: 3 \
             submissions, 0 failed, last at 2026-11-30T12:00:00Z"
        ),
        "{}",
        out.stdout
    );
    assert!(
        double
            .file("state/calls")
            .contains("systemctl is-active allora-sdk-worker.service"),
        "{}",
        double.file("state/calls")
    );
    // status shows what the instance runs: its type and the image pinned at create.
    let out = workspace.run(&["status"]);
    out.success();
    let first = out
        .stdout
        .lines()
        .find(|l| l.starts_with("allora-single-node: "))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(first.contains(" running  t3.medium  image ami-"), "{first}");
    // Failing submissions and none through: degraded, with the last error.
    double.write(
        "run/allora-sdk-worker/status.json",
        r#"{"chainId": "allora-testnet-1", "submissions": 0, "failures": 4,
            "lastError": "topic 69: account sequence mismatch"}"#,
    );
    let out = workspace.run(&["health"]);
    out.expect_code(7);
    assert!(
        words(&out.stdout).contains(
            "worker degraded allora-testnet-1: 0 submissions, 4 failed; last error: topic 69: \
             account sequence mismatch"
        ),
        "{}",
        out.stdout
    );
    // The service stopped (its RuntimeDirectory, and so the status file, gone): down.
    double.write("state/service-state", "inactive");
    double.remove("run/allora-sdk-worker/status.json");
    let out = workspace.run(&["health"]);
    out.expect_code(8);
}
