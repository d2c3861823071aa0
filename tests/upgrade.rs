//! `nodectl upgrade`: moving a node to a new AMI, end to end with the real binary.
//!
//! The exact API sequence of a replacement that keeps the data volume is in `replace.rs`
//! (mocks). Here: the command's refusals (offline, no request), and against moto the whole
//! command: the AMI chosen (`--image`, or the latest of the public parameter), the change set,
//! the new `ImageId` on the stack. What moto cannot show: it updates the instance in place
//! instead of replacing it (issue 15, measured), so whether the volume really moves is shown
//! by the mocks only.

use aws_sdk_cloudformation::types::TemplateStage;

use crate::support::{read_json, runtime, theta_sample, Emulator, Workspace};

/// Every refusal is offline: before any request (no endpoint is configured, so a request
/// would fail differently), with its exact message and hint.
#[test]
fn upgrade_refuses_what_it_cannot_do_before_any_request() {
    let workspace = Workspace::new(&theta_sample("123456789012"));
    let out = workspace.run(&["upgrade", "common"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains(
            "error: `common` is not a node stack: `upgrade` moves node instances to a new AMI\n\
             hint: deploy a shared stack with `nodectl deploy`\n"
        ),
        "{}",
        out.stderr
    );
    // `all` is every node stack, not the shared one: it goes on to the account check.
    let out = workspace.run(&["upgrade", "all"]);
    assert!(
        !out.stderr.contains("is not a node stack"),
        "{}",
        out.stderr
    );
    let out = workspace.run(&["upgrade", "--node", "nope"]);
    out.expect_code(1);
    assert!(
        out.stderr
            .contains("error: `nope` is not a node of this theta plan\n"),
        "{}",
        out.stderr
    );
    let out = workspace.run(&["upgrade", "--image", "ami-12"]);
    out.expect_code(2);
    assert!(
        out.stderr.contains(
            "an AMI id is `ami-` and 8 or 17 lowercase hex digits, e.g. ami-0abcdef1234567890"
        ),
        "{}",
        out.stderr
    );
}

/// `--no-execute` leaves one change set for review, so it takes one node of a fleet; said
/// offline, with the flag that names one.
#[test]
fn upgrade_no_execute_takes_one_node_of_a_fleet() {
    let workspace = Workspace::new(
        &crate::support::allora_sample("123456789012")
            .replace("NODECTL_NODES=\"\"", "NODECTL_NODES=\"alpha,beta\""),
    );
    let out = workspace.run(&["upgrade", "--no-execute"]);
    out.expect_code(1);
    assert!(
        out.stderr.ends_with(
            "error: --no-execute works on one node at a time\nhint: name one node with --node \
             NAME\n"
        ),
        "{}",
        out.stderr
    );
}

/// An x86_64 Amazon image the emulator knows, other than `than`.
fn another_x86_image(
    rt: &tokio::runtime::Runtime,
    ec2: &aws_sdk_ec2::Client,
    than: &str,
) -> String {
    let images = rt
        .block_on(ec2.describe_images().owners("amazon").send())
        .unwrap();
    images
        .images()
        .iter()
        .filter(|i| i.architecture().map(|a| a.as_str()) == Some("x86_64"))
        .filter_map(|i| i.image_id())
        .find(|id| *id != than && matches!(id.len(), 12 | 21))
        .expect("the emulator knows another x86_64 image")
        .to_string()
}

/// The Theta sample (its node in the default VPC, which moto can delete) on `emulator`.
fn theta_on(emulator: &Emulator) -> Workspace {
    let mut workspace = Workspace::new(&theta_sample(emulator.account)).with_emulator(emulator);
    workspace.set("EDGE_NODE_PASSWORD", "a-long-enough-password");
    workspace
}

/// A node that is not deployed has nothing to upgrade: said after the account check, with
/// the command that deploys it; nothing is created.
#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn upgrade_of_a_node_that_is_not_deployed_is_refused() {
    let emulator = Emulator::moto();
    let workspace = theta_on(&emulator);
    let out = workspace.run(&["upgrade", "--yes"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains(
            "error: node stack `theta-edge-single-node-mainnet` is not deployed in `us-east-2`: \
             there is nothing to upgrade\nhint: deploy it with `nodectl deploy single-node`; a \
             new node gets the latest AMI\n"
        ),
        "{}",
        out.stderr
    );
}

/// The whole command on moto: a node on the latest image is left alone (said, no change);
/// `--image` moves it through a change set (the stack's `ImageId` parameter is the new AMI
/// afterwards, the template the same). One move only: after a change set was executed, moto
/// reports "no changes" for the next parameter-only change set (an emulator quirk; the
/// product's handling of "no changes" is the engine's, tested with mocks).
#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn upgrade_leaves_a_current_node_alone_and_moves_one_to_a_given_ami() {
    let emulator = Emulator::moto();
    let workspace = theta_on(&emulator);
    let out = workspace.run(&["deploy", "all", "--yes", "--method", "direct"]);
    out.success();
    let stack = "theta-edge-single-node-mainnet";
    let rt = runtime();
    let sdk = rt.block_on(emulator.sdk_in("us-east-2"));
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    let image_of = || {
        let described = rt
            .block_on(cfn.describe_stacks().stack_name(stack).send())
            .unwrap();
        described.stacks()[0]
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some("ImageId"))
            .and_then(|p| p.parameter_value())
            .unwrap()
            .to_string()
    };
    let latest = image_of();
    // Another x86_64 image moto knows.
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let other = another_x86_image(&rt, &ec2, &latest);

    // A node on the latest image: said, and nothing changes (the outputs are still written).
    let out = workspace.run(&["upgrade", "--yes", "-O", "out.json"]);
    out.success();
    assert!(
        out.stderr
            .contains(&format!("stack `{stack}` runs AMI {latest} (the latest ")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("no changes: stack `{stack}` is up to date")),
        "{}",
        out.stderr
    );
    assert!(read_json(&workspace.path("out.json"))[stack].is_object());

    // A node on the latest image: `status` has nothing to say about images.
    let out = workspace.run(&["status"]);
    out.success();
    assert!(!out.stderr.contains("the latest"), "{}", out.stderr);

    let out = workspace.run(&["upgrade", "--image", &other, "--yes"]);
    out.success();
    assert!(
        out.stderr.contains(&format!(
            "stack `{stack}`: AMI {latest} -> {other} (--image)\n"
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("creating change set"), "{}", out.stderr);
    assert_eq!(image_of(), other);
    // `status` says the node no longer runs the latest image, and how to move it.
    let out = workspace.run(&["status"]);
    out.success();
    assert!(
        out.stderr.contains(&format!(
            "note: stack `{stack}` runs AMI {other}; the latest \
             /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 is {latest}: \
             `nodectl upgrade --node single-node` moves it, keeping its data\n"
        )),
        "{}",
        out.stderr
    );
    // The template CloudFormation holds is the same: only the parameter moved.
    let template = rt
        .block_on(
            cfn.get_template()
                .stack_name(stack)
                .template_stage(TemplateStage::Original)
                .send(),
        )
        .unwrap();
    assert!(template.template_body().unwrap().contains("\"ImageId\""));
}

/// On LocalStack, whose change sets report the instance's replacement and whose update
/// replaces it: `upgrade --image` shows the change set with `Instance ... True`, the instance
/// id changes, and the stack keeps the new `ImageId`. What LocalStack cannot show: the data
/// volume (it never creates EBS volumes, its volume resource is a placeholder), so nodectl
/// says no EBS data volume was found and moves nothing; the mocks in `replace.rs` show the
/// volume's moves.
#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn upgrade_replaces_the_instance_on_localstack() {
    let emulator = Emulator::localstack();
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    let out = workspace.run(&["deploy", "all", "--yes", "-O", "out.json"]);
    out.success();
    let stack = "allora-single-node";
    let outputs = crate::support::current_outputs(&workspace);
    let before = outputs[stack]["InstanceId"].as_str().unwrap().to_string();
    let rt = runtime();
    let sdk = rt.block_on(emulator.sdk());
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let current = crate::support::describe_instance(&rt, &ec2, &before)
        .image_id()
        .unwrap()
        .to_string();
    let other = another_x86_image(&rt, &ec2, &current);

    // A node on the latest image: `status` has nothing to say about images.
    let out = workspace.run(&["status"]);
    out.success();
    assert!(!out.stderr.contains("the latest"), "{}", out.stderr);

    let out = workspace.run(&["upgrade", "--image", &other, "--yes"]);
    out.success();
    assert!(
        out.stderr.contains(&format!(
            "stack `{stack}`: AMI {current} -> {other} (--image)\n"
        )),
        "{}",
        out.stderr
    );
    let replaced = out
        .stderr
        .lines()
        .find(|l| l.contains(" Instance ") && l.contains("AWS::EC2::Instance"))
        .unwrap_or_else(|| panic!("no instance row:\n{}", out.stderr));
    assert!(replaced.trim_end().ends_with("True"), "{replaced}");
    assert!(
        out.stderr.contains(&format!(
            "warning: instance `Instance` of stack `{stack}` is replaced; it has no EBS data \
             volume, so what its own disks hold (root volume, instance store) is lost"
        )),
        "{}",
        out.stderr
    );
    let after = crate::support::current_outputs(&workspace)[stack]["InstanceId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(before, after, "the instance was replaced");
    assert_eq!(
        crate::support::describe_instance(&rt, &ec2, &after).image_id(),
        Some(other.as_str())
    );
}
