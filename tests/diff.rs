//! `nodectl diff` (issue 12) on LocalStack, whose GetTemplate returns the template as it was
//! sent: nothing deployed, then no differences, then a changed parameter and a changed
//! template, each shown; nothing is changed by looking.

use serde_json::Value;

use crate::support::{Emulator, Workspace};

#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn diff_shows_what_a_deploy_would_change() {
    let emulator = Emulator::localstack();
    let mut workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    let out = workspace.run(&["diff"]);
    out.success();
    assert_eq!(
        out.stdout,
        "stack `allora-edge-common` is not deployed: a deploy creates it\n\
         stack `allora-single-node` is not deployed: a deploy creates it\n"
    );
    workspace.run(&["deploy", "all", "--yes"]).success();
    let out = workspace.run(&["diff"]);
    out.success();
    assert_eq!(
        out.stdout,
        "stack `allora-edge-common`: no differences\nstack `allora-single-node`: no differences\n"
    );
    // The configuration's warnings are said once by commands that deploy, not by diff.
    assert!(!out.stderr.contains("error"), "{}", out.stderr);

    // A parameter (the instance type) and the template (the ingress ports) change.
    workspace.set("AWS_INSTANCE_TYPE", "t3.large");
    workspace.set("NODECTL_INGRESS_PORTS", "9010,9011");
    let out = workspace.run(&["diff", "single-node"]);
    out.success();
    assert!(
        out.stdout.starts_with(
            "stack `allora-single-node`:\n  parameter InstanceType: t3.medium -> t3.large\n\
             --- deployed/allora-single-node\n+++ rendered/allora-single-node\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .any(|line| line.starts_with('+') && line.contains("\"FromPort\": 9011,")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("-      \"Default\": \"t3.medium\"\n"));
    let json = workspace.run(&["diff", "single-node", "--output", "json"]);
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json[0]["parameters"][0]["key"], "InstanceType");
    assert_eq!(json[0]["parameters"][0]["deployed"], "t3.medium");
    // Looking changed nothing.
    workspace.set("AWS_INSTANCE_TYPE", "t3.medium");
    workspace.set("NODECTL_INGRESS_PORTS", "9010");
    let out = workspace.run(&["diff", "single-node"]);
    assert_eq!(out.stdout, "stack `allora-single-node`: no differences\n");
}
