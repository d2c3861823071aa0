//! Layer 3: what was provisioned, end to end with the real binary and SDK against moto on
//! loopback. moto creates resources and lets the test describe them through EC2 and IAM, but
//! its CloudFormation is synchronous and registers outputs and exports only for stacks created
//! with CreateStack, so these tests deploy with `--method direct`
//! (`../shared/reference/moto.md` sections 3, 4). What moto drops (IMDSv2 settings, volume
//! encryption and type, managed policy attachments, the instance's security groups) is checked
//! in the template CloudFormation received instead (GetTemplate).

use aws_sdk_cloudformation::types::TemplateStage;
use serde_json::Value;

use crate::support::{describe_group, describe_instance, read_json, runtime, Emulator, Workspace};

#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn deploys_what_the_blueprint_declares() {
    let emulator = Emulator::moto();
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    workspace
        .run(&[
            "deploy", "common", "--yes", "--method", "direct", "-O", "out.json",
        ])
        .success();
    let out = workspace.run(&[
        "deploy",
        "single-node",
        "--yes",
        "--method",
        "direct",
        "-O",
        "out.json",
    ]);
    out.success();
    assert!(out
        .stderr
        .contains("creating stack `allora-single-node` in `us-east-1`\n"));
    assert!(out
        .stderr
        .contains("stack `allora-single-node` is CREATE_COMPLETE\n"));

    let file = read_json(&workspace.path("out.json"));
    let common = &file["allora-edge-common"];
    let node = &file["allora-single-node"];
    let text = |v: &Value| v.as_str().expect("a string output").to_string();

    let rt = runtime();
    let sdk = rt.block_on(emulator.sdk());
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);

    // The VPC of the node, 10.0.0.0/16, with the public /24 subnet (AWS_VPC_CIDR_MASK=24).
    let vpcs = rt
        .block_on(ec2.describe_vpcs().vpc_ids(text(&node["VpcId"])).send())
        .unwrap();
    assert_eq!(vpcs.vpcs()[0].cidr_block(), Some("10.0.0.0/16"));
    let subnets = rt
        .block_on(
            ec2.describe_subnets()
                .subnet_ids(text(&node["SubnetId"]))
                .send(),
        )
        .unwrap();
    assert_eq!(subnets.subnets()[0].cidr_block(), Some("10.0.0.0/24"));
    assert_eq!(
        subnets.subnets()[0].vpc_id(),
        Some(text(&node["VpcId"]).as_str())
    );
    let routes = rt
        .block_on(
            ec2.describe_route_tables()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("vpc-id")
                        .values(text(&node["VpcId"]))
                        .build(),
                )
                .send(),
        )
        .unwrap();
    assert!(
        routes
            .route_tables()
            .iter()
            .flat_map(|t| t.routes())
            .any(|r| {
                r.destination_cidr_block() == Some("0.0.0.0/0")
                    && r.gateway_id().is_some_and(|g| g.starts_with("igw-"))
            }),
        "a default route to an internet gateway"
    );

    // The security group: TCP 9010 from 0.0.0.0/0 (the seed's port), nothing else inbound;
    // no SSH.
    let (vpc, ingress) = describe_group(&rt, &ec2, &text(&node["SecurityGroupId"]));
    assert_eq!(vpc, text(&node["VpcId"]));
    assert_eq!(
        ingress,
        vec![("tcp".to_string(), 9010, 9010, vec!["0.0.0.0/0".to_string()])]
    );

    // The instance: the configured type, running, in the node's subnet, with the node's own
    // instance profile.
    let instance = &describe_instance(&rt, &ec2, &text(&node["InstanceId"]));
    assert_eq!(
        instance.instance_type().map(|t| t.as_str()),
        Some("t3.medium")
    );
    assert_eq!(
        instance.state().and_then(|s| s.name()).map(|n| n.as_str()),
        Some("running")
    );
    assert_eq!(instance.subnet_id(), Some(text(&node["SubnetId"]).as_str()));
    let profile_name = text(&node["InstanceProfileName"]);
    assert!(
        instance
            .iam_instance_profile()
            .and_then(|p| p.arn())
            .is_some_and(|arn| arn.ends_with(&format!("instance-profile/{profile_name}"))),
        "{:?}",
        instance.iam_instance_profile()
    );
    let root = instance
        .block_device_mappings()
        .iter()
        .find(|m| m.device_name() == Some("/dev/xvda"))
        .and_then(|m| m.ebs())
        .and_then(|e| e.volume_id())
        .expect("a root volume")
        .to_string();
    let volumes = rt
        .block_on(ec2.describe_volumes().volume_ids(root).send())
        .unwrap();
    assert_eq!(volumes.volumes()[0].size(), Some(46));
    assert_eq!(volumes.volumes()[0].encrypted(), Some(true));

    // The node's IAM role (EC2 may assume it), tagged with its stack, and the instance profile
    // that holds it.
    let role_name = text(&node["InstanceRoleARN"])
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let role = rt
        .block_on(iam.get_role().role_name(&role_name).send())
        .unwrap();
    let role = role.role().unwrap();
    let trust = urlencoding_decode(role.assume_role_policy_document().unwrap());
    assert!(trust.contains("ec2.amazonaws.com"), "{trust}");
    assert!(
        role.tags()
            .iter()
            .any(|t| t.key() == "NodectlNodeStack" && t.value() == "allora-single-node"),
        "{:?}",
        role.tags()
    );
    let profile = rt
        .block_on(
            iam.get_instance_profile()
                .instance_profile_name(&profile_name)
                .send(),
        )
        .unwrap();
    let roles: Vec<&str> = profile
        .instance_profile()
        .unwrap()
        .roles()
        .iter()
        .map(|r| r.role_name())
        .collect();
    assert_eq!(roles, vec![role_name.as_str()]);

    // The common stack's NodeAccess policy: a node reads its own secret and signals its own
    // stack, both named by its role's NodectlNodeStack tag.
    let policy_arn = text(&common["NodeAccessPolicyArn"]);
    let version = rt
        .block_on(iam.get_policy().policy_arn(&policy_arn).send())
        .unwrap()
        .policy()
        .and_then(|p| p.default_version_id())
        .unwrap()
        .to_string();
    let document = rt
        .block_on(
            iam.get_policy_version()
                .policy_arn(&policy_arn)
                .version_id(version)
                .send(),
        )
        .unwrap();
    let document = urlencoding_decode(document.policy_version().unwrap().document().unwrap());
    assert!(
        document.contains(
            ":secretsmanager:us-east-1:123456789012:secret:${aws:PrincipalTag/NodectlNodeStack}/node-secret-??????"
        ) && document.contains(
            ":cloudformation:us-east-1:123456789012:stack/${aws:PrincipalTag/NodectlNodeStack}/*"
        ) && !document.contains("secretsmanager:*"),
        "{document}"
    );

    // Exports namespaced by the common stack's name, imported by the node stack.
    let exports = rt.block_on(cfn.list_exports().send()).unwrap();
    let mut names: Vec<&str> = exports.exports().iter().filter_map(|e| e.name()).collect();
    names.sort();
    assert_eq!(names, vec!["allora-edge-common-NodeAccessPolicyArn"]);

    // What moto drops is checked in the templates CloudFormation received.
    let template = |stack: &str| -> Value {
        let body = rt
            .block_on(
                cfn.get_template()
                    .stack_name(stack)
                    .template_stage(TemplateStage::Original)
                    .send(),
            )
            .unwrap();
        serde_json::from_str(body.template_body().unwrap()).unwrap()
    };
    let node_template = template("allora-single-node");
    let resources = &node_template["Resources"];
    let role_properties = &resources["InstanceRole"]["Properties"];
    let managed = serde_json::to_string(&role_properties["ManagedPolicyArns"]).unwrap();
    assert!(managed.contains("AmazonSSMManagedInstanceCore"));
    assert!(managed.contains("CloudWatchAgentServerPolicy"));
    assert!(
        managed.contains("allora-edge-common-NodeAccessPolicyArn")
            || managed.contains("NodeAccessPolicyArn")
    );
    let instance = &resources["Instance"]["Properties"];
    assert_eq!(instance["MetadataOptions"]["HttpTokens"], "required");
    assert_eq!(instance["MetadataOptions"]["HttpPutResponseHopLimit"], 1);
    assert_eq!(instance["Monitoring"], true);
    assert_eq!(instance["BlockDeviceMappings"][0]["Ebs"]["Encrypted"], true);
    assert_eq!(instance["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"], 46);
    assert_eq!(resources["DataVolume"]["Properties"]["Encrypted"], true);
    assert_eq!(
        resources["Instance"]["CreationPolicy"]["ResourceSignal"]["Timeout"],
        "PT30M"
    );
    let ingress = &resources["SecurityGroup"]["Properties"]["SecurityGroupIngress"];
    assert_eq!(ingress.as_array().unwrap().len(), 1);
}

/// IAM returns policy documents URL-encoded.
fn urlencoding_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn another_account_is_refused_before_any_change() {
    let emulator = Emulator::moto();
    let workspace = Workspace::upstream("111111111111").with_emulator(&emulator);
    let out = workspace.run(&["deploy", "all", "--yes"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        crate::support::UPSTREAM_WARNINGS.to_string()
            + crate::support::UPSTREAM_NOTE
            + "error: the AWS credentials are for account 123456789012, but .env:6 sets AWS_ACCOUNT_ID=111111111111\n\
         hint: use credentials for the configured account (--profile, AWS_PROFILE), or correct AWS_ACCOUNT_ID; nothing was changed\n"
    );
    // Exactly one AWS request reached the emulator (moto logs one line per request): the
    // read-only STS GetCallerIdentity.
    let log = emulator.log();
    let requests: Vec<&str> = log.lines().filter(|l| l.contains("\"POST ")).collect();
    assert_eq!(requests.len(), 1, "{log}");
    let rt = runtime();
    let cfn = aws_sdk_cloudformation::Client::new(&rt.block_on(emulator.sdk()));
    let stacks = rt.block_on(cfn.list_stacks().send()).unwrap();
    assert!(stacks.stack_summaries().is_empty());
}

#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn single_node_needs_the_common_stack() {
    let emulator = Emulator::moto();
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    let out = workspace.run(&["deploy", "single-node", "--yes", "--method", "direct"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        crate::support::UPSTREAM_WARNINGS.to_string()
            + crate::support::UPSTREAM_NOTE
            + "error: stack `allora-single-node` needs stack `allora-edge-common`, which does not exist in `us-east-1`\n\
         hint: deploy it first: `nodectl deploy common`, or both with `nodectl deploy all`\n"
    );
}

#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn termination_protection_is_never_turned_off_silently() {
    let emulator = Emulator::moto();
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    let rt = runtime();
    let cfn = aws_sdk_cloudformation::Client::new(&rt.block_on(emulator.sdk()));
    rt.block_on(
        cfn.create_stack()
            .stack_name("allora-edge-common")
            .template_body(r#"{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}"#)
            .enable_termination_protection(true)
            .send(),
    )
    .unwrap();
    let out = workspace.run(&["destroy", "common", "--yes"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: stack `allora-edge-common` in `us-east-1` has termination protection enabled\n\
         hint: nodectl does not turn it off for you; if you really mean to delete the stack, run `aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name allora-edge-common` first\n"
    );
    let still = rt
        .block_on(
            cfn.describe_stacks()
                .stack_name("allora-edge-common")
                .send(),
        )
        .unwrap();
    assert_eq!(
        still.stacks()[0].stack_status().map(|s| s.as_str()),
        Some("CREATE_COMPLETE")
    );
}

#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn several_nodes_share_one_common_stack() {
    let emulator = Emulator::moto();
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    workspace
        .run(&["deploy", "common", "--yes", "--method", "direct", "-q"])
        .success();
    for node in ["", "node-2"] {
        let out = workspace.run_with(
            &[
                "deploy",
                "single-node",
                "--yes",
                "--method",
                "direct",
                "--output",
                "json",
            ],
            &[("NODECTL_NODE_NAME", node)],
        );
        out.success();
        let stack = if node.is_empty() {
            "allora-single-node".to_string()
        } else {
            format!("allora-single-node-{node}")
        };
        let outputs: Value = serde_json::from_str(&out.stdout).unwrap();
        assert!(outputs[&stack]["InstanceId"]
            .as_str()
            .is_some_and(|id| id.starts_with("i-")));
    }
    // Each node has its own secret, holding its own entry only.
    let rt = runtime();
    let secrets = aws_sdk_secretsmanager::Client::new(&rt.block_on(emulator.sdk()));
    for stack in ["allora-single-node", "allora-single-node-node-2"] {
        let stored = rt
            .block_on(
                secrets
                    .get_secret_value()
                    .secret_id(format!("{stack}/node-secret"))
                    .send(),
            )
            .unwrap();
        let stored: Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
        let entries: Vec<&str> = stored
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(entries, [stack]);
        assert_eq!(stored[stack]["mnemonic"], crate::support::TEST_MNEMONIC);
        assert_eq!(stored[stack]["modelEnv"]["CG_API_KEY"], "secret");
    }
    let out = workspace.run_with(&["status"], &[("NODECTL_NODE_NAME", "node-2")]);
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert!(
        lines[0].starts_with("allora-edge-common         CREATE_COMPLETE"),
        "{}",
        out.stdout
    );
    assert!(
        lines[1].starts_with("allora-single-node-node-2  CREATE_COMPLETE"),
        "{}",
        out.stdout
    );
}

#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn at_a_terminal_a_bare_enter_declines_and_leaves_nothing() {
    let emulator = Emulator::moto();
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    let out = workspace.run_at_terminal(&["deploy", "common"], "\n");
    assert_eq!(out.code, 1, "{}", out.stdout);
    let screen = out.stdout.replace('\r', "");
    assert!(
        screen.contains(
            "Execute these changes on stack `allora-edge-common` in account 123456789012, region us-east-1? [y/N] "
        ),
        "no prompt on the terminal:\n{screen}"
    );
    assert!(
        screen.contains(
            "error: aborted: stack `allora-edge-common` was not changed; the change set was deleted\n"
        ),
        "{screen}"
    );
    // The empty REVIEW_IN_PROGRESS stack of the CREATE change set is gone too.
    let rt = runtime();
    let cfn = aws_sdk_cloudformation::Client::new(&rt.block_on(emulator.sdk()));
    let err = rt
        .block_on(
            cfn.describe_stacks()
                .stack_name("allora-edge-common")
                .send(),
        )
        .expect_err("the stack must be gone");
    assert!(format!("{err:?}").contains("does not exist"), "{err:?}");
}

/// Regression (issue 15's hidden hazard): the AMI came from an `AWS::SSM::Parameter::Value`
/// parameter, which CloudFormation resolves again at every update, so a redeploy after Amazon
/// published a new image replaced the instance. nodectl now resolves the latest image once,
/// when the stack is created (Parameter Store GetParameter; moto carries the public
/// `/aws/service/ami-amazon-linux-latest/...` parameters), passes it as `ImageId`, and keeps it
/// on every later deploy. What moto cannot show: a real newer image being published.
#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn the_ami_is_resolved_once_and_kept_on_redeploy() {
    let emulator = Emulator::moto();
    let mut workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    let out = workspace.run(&[
        "deploy", "all", "--yes", "--method", "direct", "-O", "out.json",
    ]);
    out.success();
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("AMI ami-"))
        .unwrap_or_else(|| panic!("no AMI line:\n{}", out.stderr));
    assert!(
        line.ends_with(
            " (the latest /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64)"
        ),
        "{line}"
    );
    let image = line.split_whitespace().nth(1).unwrap().to_string();
    let outputs = crate::support::read_json(&workspace.path("out.json"));
    let instance = outputs["allora-single-node"]["InstanceId"]
        .as_str()
        .unwrap();
    let rt = runtime();
    let ec2 = aws_sdk_ec2::Client::new(&rt.block_on(emulator.sdk()));
    let described = crate::support::describe_instance(&rt, &ec2, instance);
    assert_eq!(described.image_id(), Some(image.as_str()));
    // A redeploy with another setting keeps the image.
    workspace.set("NODECTL_TAGS", "team=node-ops");
    let out = workspace.run(&["deploy", "single-node", "--yes", "--method", "direct"]);
    out.success();
    assert!(
        out.stderr.contains(&format!(
            "keeping the AMI of the deployed stack `allora-single-node`: ImageId={image}\n"
        )),
        "{}",
        out.stderr
    );
    // render stays offline: the parameter has no default there.
    let out = workspace.run(&["render", "single-node"]);
    let template: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        template["Parameters"]["ImageId"]["Type"],
        "AWS::EC2::Image::Id"
    );
    assert!(template["Parameters"]["ImageId"].get("Default").is_none());
}

/// Issue 15 (destroy says what is lost): the data volume and what it holds are named before
/// the deletion, and `--snapshot` takes an EBS snapshot, waits until it is complete, and lists
/// it with how to get the data back. moto keeps the volume and the snapshot; what it cannot
/// show is a snapshot that takes hours, or one that fails.
#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn destroy_names_the_data_volume_and_snapshots_it_first() {
    let emulator = Emulator::moto();
    // Theta: moto cannot delete the Allora node stack's own VPC (DependencyViolation), it
    // can delete a node in the default VPC.
    let mut workspace =
        Workspace::new(&crate::support::theta_sample(emulator.account)).with_emulator(&emulator);
    workspace.set("EDGE_NODE_PASSWORD", "a-long-enough-password");
    let out = workspace.run(&[
        "deploy", "all", "--yes", "--method", "direct", "-O", "out.json",
    ]);
    out.success();
    let outputs = read_json(&workspace.path("out.json"));
    let volume = outputs["theta-edge-single-node-mainnet"]["DataVolumeId"]
        .as_str()
        .unwrap()
        .to_string();
    let out = workspace.run(&["destroy", "--yes", "--snapshot", "--output", "json"]);
    out.success();
    assert!(
        out.stderr.contains(&format!(
            "warning: data volume {volume} of `theta-edge-single-node-mainnet` will be deleted with its \
             stack after a snapshot of it is complete\n"
        )),
        "{}",
        out.stderr
    );
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["dataVolumesDeleted"], serde_json::json!([volume]));
    let snapshot = report["snapshots"][0]["snapshotId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(report["snapshots"][0]["volumeId"], volume.as_str());
    assert!(out.stderr.contains(&format!(
        "snapshot {snapshot} of data volume {volume} (theta-edge-single-node-mainnet) completed; to get the \
         data back: `aws ec2 create-volume --snapshot-id {snapshot}"
    )));
    // The snapshot outlives the stack, tagged with it.
    let rt = runtime();
    let ec2 = aws_sdk_ec2::Client::new(&rt.block_on(emulator.sdk_in("us-east-2")));
    let found = rt
        .block_on(ec2.describe_snapshots().snapshot_ids(&snapshot).send())
        .unwrap();
    let tags: Vec<(&str, &str)> = found.snapshots()[0]
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?, t.value()?)))
        .collect();
    assert!(
        tags.contains(&("nodectl:stack", "theta-edge-single-node-mainnet")),
        "{tags:?}"
    );

    // Without --snapshot: what the volume holds, and how to keep a copy.
    let out = workspace.run(&["deploy", "all", "--yes", "--method", "direct"]);
    out.success();
    let out = workspace.run(&["destroy", "--yes"]);
    out.success();
    assert!(
        out.stderr.contains(
            "of `theta-edge-single-node-mainnet` will be deleted with its stack; it holds the Edge \
             Node's keystore (encrypted with its password) and its data under \
             /data/theta-edge-node; --snapshot keeps a copy\n"
        ),
        "{}",
        out.stderr
    );
}
