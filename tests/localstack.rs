//! Layer 2: the stack lifecycle, end to end with the real binary and SDK against LocalStack on
//! loopback. LocalStack models the lifecycle faithfully (asynchronous states, per-resource
//! events, change-set outputs, the real empty-change-set reason, ROLLBACK_COMPLETE through
//! change sets, clean deletes) but drops most resource properties
//! (`../shared/reference/localstack.md`): nothing here asserts what was provisioned; the moto
//! tests do that.

use aws_sdk_cloudformation::Client;

use crate::support::{read_json, Emulator, Workspace};

fn keys(value: &serde_json::Value) -> Vec<&str> {
    value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn deploy_redeploy_update_and_destroy() {
    let emulator = Emulator::localstack();
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    let runtime = crate::support::runtime();
    let cfn = Client::new(&runtime.block_on(emulator.sdk()));

    let pending_change_sets = || {
        runtime
            .block_on(
                cfn.list_change_sets()
                    .stack_name("allora-single-node")
                    .send(),
            )
            .unwrap()
            .summaries()
            .len()
    };

    // deploy common: a change set, live events, the outputs on stdout and in the file.
    let out = workspace.run(&["deploy", "common", "--yes", "--outputs-file", "out.json"]);
    out.success();
    // Under load LocalStack can report CREATE_COMPLETE in a DescribeStacks answer whose Outputs
    // are not filled in yet (seen twice in the full suite on two cores, never alone); nodectl
    // takes the outputs from that answer, as CloudFormation fills them in before it reports the
    // status. When that happens, a second deploy (no changes: the outputs read again) shows the
    // outputs instead; the change-set assertions below still use the first run.
    let outputs_run = if out.stdout.contains("allora-edge-common.Region = ") {
        None
    } else {
        eprintln!("LocalStack gave no outputs with CREATE_COMPLETE; deploying common again");
        let again = workspace.run(&["deploy", "common", "--yes", "--outputs-file", "out.json"]);
        again.success();
        Some(again)
    };
    assert!(out.stderr.contains("creating change set nodectl-"));
    assert!(out.stderr.contains(
        "changes to stack `allora-edge-common` (account 000000000000, region us-east-1):"
    ));
    assert!(out.stderr.lines().any(|l| l.contains("NodeAccess")
        && l.contains("AWS::IAM::ManagedPolicy")
        && l.ends_with("CREATE_COMPLETE")));
    assert!(
        out.stderr
            .contains("stack `allora-edge-common` is CREATE_COMPLETE\n"),
        "{}",
        out.stderr
    );
    let stdout = outputs_run
        .as_ref()
        .map_or(&out.stdout, |again| &again.stdout);
    assert!(
        stdout.contains("allora-edge-common.Region = us-east-1\n"),
        "{stdout}"
    );
    let file = read_json(&workspace.path("out.json"));
    assert_eq!(keys(&file), ["allora-edge-common"]);
    assert_eq!(
        keys(&file["allora-edge-common"]),
        ["NodeAccessPolicyArn", "Region"]
    );

    // deploy single-node: merged into the same file.
    let out = workspace.run(&[
        "deploy",
        "single-node",
        "--yes",
        "--outputs-file",
        "out.json",
    ]);
    out.success();
    assert!(out.stderr.lines().any(|l| l.contains("Instance ")
        && l.contains("AWS::EC2::Instance")
        && l.ends_with("CREATE_COMPLETE")));
    let mut file = read_json(&workspace.path("out.json"));
    if file["allora-single-node"]
        .as_object()
        .is_some_and(|outputs| outputs.is_empty())
    {
        // LocalStack's race (see deploy common above): the outputs again, from a no-change
        // deploy.
        eprintln!("LocalStack gave no outputs with CREATE_COMPLETE; deploying single-node again");
        workspace
            .run(&[
                "deploy",
                "single-node",
                "--yes",
                "--outputs-file",
                "out.json",
            ])
            .success();
        file = read_json(&workspace.path("out.json"));
    }
    assert_eq!(keys(&file), ["allora-edge-common", "allora-single-node"]);
    let node = &file["allora-single-node"];
    assert_eq!(
        keys(node),
        [
            "AlertTopicArn",
            "AvailabilityZone",
            "DashboardName",
            "DataVolumeId",
            "InstanceId",
            "InstanceProfileName",
            "InstanceRoleARN",
            "NodeSecretName",
            "PublicIp",
            "Region",
            "SecurityGroupId",
            "SubnetId",
            "VpcId",
            "nodeinstanceid"
        ]
    );
    assert!(node["InstanceId"].as_str().unwrap().starts_with("i-"));
    assert_eq!(node["nodeinstanceid"], node["InstanceId"]);
    assert!(node["VpcId"].as_str().unwrap().starts_with("vpc-"));
    assert!(node["SecurityGroupId"].as_str().unwrap().starts_with("sg-"));
    assert_eq!(node["Region"], "us-east-1");

    // A redeploy changes nothing, exits 0, and still writes the outputs file.
    std::fs::remove_file(workspace.path("out.json")).unwrap();
    let out = workspace.run(&["deploy", "all", "--yes", "--outputs-file", "out.json"]);
    out.success();
    assert!(out
        .stderr
        .contains("no changes: stack `allora-edge-common` is up to date\n"));
    assert!(out
        .stderr
        .contains("no changes: stack `allora-single-node` is up to date\n"));
    assert_eq!(
        keys(&read_json(&workspace.path("out.json"))),
        ["allora-edge-common", "allora-single-node"]
    );
    // The empty change sets were deleted, not left behind.
    assert_eq!(pending_change_sets(), 0);

    // An instance type change is an in-place modification of the instance. LocalStack cannot
    // execute it (its instance provider fails every update, localstack.md section 2c), so the
    // change set is only reviewed here; executing updates is covered by the engine tests.
    let out = workspace.run_with(
        &["deploy", "single-node", "--no-execute", "--output", "json"],
        &[("AWS_INSTANCE_TYPE", "t3.large")],
    );
    out.success();
    let review: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        review["changes"],
        serde_json::json!([{
            "action": "Modify",
            "logicalResourceId": "Instance",
            "resourceType": "AWS::EC2::Instance",
            "replacement": "False"
        }])
    );
    let change_set = review["changeSetId"].as_str().unwrap();
    assert!(out.stderr.contains(&format!(
        "change set left for review, not executed; execute it with `aws cloudformation execute-change-set --change-set-name {change_set}`"
    )));
    runtime
        .block_on(cfn.delete_change_set().change_set_name(change_set).send())
        .unwrap();

    // Without a terminal and without --yes, nodectl does not prompt: it fails with a hint and
    // removes the change set it made.
    let out = workspace.run_with(
        &["deploy", "single-node"],
        &[("NODECTL_INGRESS_CIDR", "203.0.113.0/24")],
    );
    out.expect_code(1);
    assert!(out.stderr.ends_with(
        "error: cannot ask \"Execute these changes on stack `allora-single-node` in account 000000000000, region us-east-1?\": stdin is not a terminal\n\
         hint: pass --yes to go ahead without a prompt (for CI and scripts)\n"
    ));
    assert_eq!(pending_change_sets(), 0);

    // status and outputs read the stacks back.
    // (The node part needs SSM, which LocalStack does not run: tests/day2.rs has it.)
    let out = workspace.run(&["status", "--stacks-only", "--output", "json"]);
    out.success();
    let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let stacks = &status["stacks"];
    assert_eq!(stacks[0]["stackName"], "allora-edge-common");
    assert_eq!(stacks[0]["status"], "CREATE_COMPLETE");
    assert_eq!(stacks[1]["status"], "CREATE_COMPLETE");
    assert_eq!(status["nodes"], serde_json::json!([]));
    let out = workspace.run(&["outputs", "--output", "json"]);
    out.success();
    let outputs: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(outputs["allora-single-node"], *node);

    // common cannot go while single-node uses it (LocalStack does not track imports, so
    // CloudFormation's own refusal cannot be seen here; `destroy all` deletes in order).
    let out = workspace.run(&["destroy", "--yes"]);
    out.success();
    let single = out
        .stderr
        .find("deleting stack `allora-single-node`")
        .expect("single-node deleted");
    let common = out
        .stderr
        .find("deleting stack `allora-edge-common`")
        .expect("common deleted");
    assert!(single < common, "single-node must be deleted first");
    assert!(out
        .stderr
        .contains("stack `allora-single-node` is DELETE_COMPLETE\n"));
    assert!(out
        .stderr
        .contains("stack `allora-edge-common` is DELETE_COMPLETE\n"));

    let out = workspace.run(&["status"]);
    out.success();
    assert_eq!(
        out.stdout,
        "allora-edge-common  NOT_DEPLOYED              -\n\
         allora-single-node  NOT_DEPLOYED              -\n"
    );
    // LocalStack lists deleted stacks in DescribeStacks (AWS does not); none may be alive.
    let stacks = runtime.block_on(cfn.describe_stacks().send()).unwrap();
    let alive: Vec<_> = stacks
        .stacks()
        .iter()
        .filter(|s| s.stack_status().map(|s| s.as_str()) != Some("DELETE_COMPLETE"))
        .collect();
    assert!(alive.is_empty(), "stacks left: {alive:?}");

    // Destroying what does not exist succeeds with a message.
    let out = workspace.run(&["destroy", "--yes"]);
    out.success();
    assert_eq!(
        out.stderr,
        "stack `allora-single-node` does not exist in `us-east-1`; nothing to delete\n\
         stack `allora-edge-common` does not exist in `us-east-1`; nothing to delete\n"
    );
}

#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn a_failed_create_names_its_root_cause_and_the_next_deploy_recovers() {
    let emulator = Emulator::localstack();
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    workspace
        .run(&["deploy", "common", "--yes", "--quiet"])
        .success();

    // A template with a subnet outside its VPC (through NODECTL_TEMPLATES_DIR, the
    // template-development override) fails at the subnet; everything after it is cancelled.
    let broken = workspace.path("templates");
    copy_dir(&crate::support::repo().join("templates"), &broken);
    let path = broken.join("allora/single-node.json");
    let mut template: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    template["Resources"]["PublicSubnet"]["Properties"]["CidrBlock"] = "192.168.1.0/24".into();
    std::fs::write(&path, serde_json::to_string_pretty(&template).unwrap()).unwrap();

    let out = workspace.run_with(
        &["deploy", "single-node", "--yes"],
        &[("NODECTL_TEMPLATES_DIR", broken.to_str().unwrap())],
    );
    out.expect_code(3);
    assert!(
        out.stderr.ends_with(
            "error: create of stack `allora-single-node` in `us-east-1` failed: the stack is ROLLBACK_COMPLETE\n\
             \x20 root cause: PublicSubnet (AWS::EC2::Subnet) CREATE_FAILED: Resource provider operation failed: An error occurred (InvalidSubnet.Range) when calling the CreateSubnet operation: The CIDR '192.168.1.0/24' is invalid.\n\
             hint: fix the cause above and run `nodectl deploy single-node` again: the rolled-back stack is deleted and created anew\n"
        ),
        "stderr:\n{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");

    // The next deploy, with the good template, deletes the dead stack and creates it anew.
    let out = workspace.run(&["deploy", "single-node", "--yes"]);
    assert!(out.stderr.contains(
        "stack `allora-single-node` is ROLLBACK_COMPLETE after a failed create and cannot be updated; deleting it before creating it again\n"
    ));
    // LocalStack's "rollback" leaves the half-created resources in place (localstack.md
    // section 2e), and its delete of such a stack can pass through a transient DELETE_FAILED
    // (for resources it never created) before it ends DELETE_COMPLETE. nodectl treats
    // DELETE_FAILED as final, as CloudFormation does; then the recovery takes one more deploy.
    let out = if out.code == 4 {
        assert!(
            out.stderr.contains("failed: the stack is DELETE_FAILED"),
            "{}",
            out.stderr
        );
        workspace.run(&["deploy", "single-node", "--yes"])
    } else {
        out
    };
    out.success();
    assert!(out
        .stderr
        .contains("stack `allora-single-node` is CREATE_COMPLETE\n"));
    workspace.run(&["destroy", "--yes", "--quiet"]).success();
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
