//! The Theta Edge Node blueprint: the upstream sample file works unmodified (account filled
//! in), every Theta-specific mistake has an exact message and makes no AWS request, and
//! rendering is cfn-lint clean for every volume type and GPU setting. End to end against the
//! emulators: `moto` for what is provisioned, `localstack` for the lifecycle.

use crate::config::rejects;
use crate::support::{theta_sample, Workspace};

/// The upstream Theta sample (account filled in) with whole-line replacements applied.
fn sample_with(edits: &[(&str, &str)]) -> String {
    let mut text = theta_sample("123456789012");
    for (from, to) in edits {
        assert!(text.contains(from), "the sample has no `{from}`");
        text = text.replacen(from, to, 1);
    }
    text
}

/// The sample's line of `key`, for replacement.
fn line(text: &str, key: &str) -> String {
    text.lines()
        .find(|l| l.starts_with(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} line"))
        .to_string()
}

/// The sample with `key` set to `value` in the file.
fn sample_set(pairs: &[(&str, &str)]) -> String {
    let base = theta_sample("123456789012");
    let edits: Vec<(String, String)> = pairs
        .iter()
        .map(|(key, value)| (line(&base, key), format!("{key}=\"{value}\"")))
        .collect();
    let edits: Vec<(&str, &str)> = edits
        .iter()
        .map(|(from, to)| (from.as_str(), to.as_str()))
        .collect();
    sample_with(&edits)
}

/// The 1-based line of `key` in the upstream sample.
fn line_no(key: &str) -> usize {
    theta_sample("123456789012")
        .lines()
        .position(|l| l.starts_with(&format!("{key}=")))
        .expect("a key of the sample")
        + 1
}

mod config {
    use super::*;

    #[test]
    fn arm64_is_refused_with_the_reason() {
        rejects(
            &sample_set(&[("EDGE_NODE_CPU_TYPE", "ARM_64")]),
            &[],
            &format!(
                "error: .env:{}: EDGE_NODE_CPU_TYPE: `ARM_64` is not supported: the Theta Edge \
                 Node runs on x86_64 only\n\
                 hint: set EDGE_NODE_CPU_TYPE=\"x86_64\" and use an x86_64 instance type such as \
                 g4dn.xlarge (the edge launcher image has no arm64 build; upstream \
                 .env-sample-full: \"Theta Edge Node does not support ARM_64\")\n",
                line_no("EDGE_NODE_CPU_TYPE")
            ),
        );
    }

    #[test]
    fn a_graviton_instance_type_is_refused() {
        rejects(
            &sample_set(&[("EDGE_NODE_INSTANCE_TYPE", "g5g.xlarge")]),
            &[],
            &format!(
                "error: .env:{}: EDGE_NODE_INSTANCE_TYPE: g5g.xlarge is an AWS Graviton (arm64) \
                 instance type; the Theta Edge Node runs on x86_64 only\n\
                 hint: use an x86_64 type such as g4dn.xlarge (GPU) or m6i.xlarge\n",
                line_no("EDGE_NODE_INSTANCE_TYPE")
            ),
        );
    }

    #[test]
    fn gpu_enabled_needs_an_nvidia_gpu() {
        let hint = "hint: use a GPU instance type such as g4dn.xlarge (NVIDIA T4) in \
                    EDGE_NODE_INSTANCE_TYPE, or set EDGE_NODE_GPU=\"disabled\" to run without \
                    GPU jobs\n";
        rejects(
            &sample_set(&[("EDGE_NODE_INSTANCE_TYPE", "m6i.xlarge")]),
            &[],
            &format!(
                "error: .env:{}: EDGE_NODE_GPU: `enabled` needs an instance type with an NVIDIA \
                 GPU, and m6i.xlarge has none\n{hint}",
                line_no("EDGE_NODE_GPU")
            ),
        );
        rejects(
            &sample_set(&[("EDGE_NODE_INSTANCE_TYPE", "g4ad.xlarge")]),
            &[],
            &format!(
                "error: .env:{}: EDGE_NODE_GPU: `enabled` needs an instance type with an NVIDIA \
                 GPU; g4ad.xlarge has AMD GPUs, which the edge node's GPU jobs (CUDA) cannot \
                 use\n{hint}",
                line_no("EDGE_NODE_GPU")
            ),
        );
    }

    #[test]
    fn instance_store_needs_an_instance_type_with_instance_storage() {
        rejects(
            &sample_set(&[
                ("EDGE_NODE_INSTANCE_TYPE", "m6i.xlarge"),
                ("EDGE_NODE_GPU", "disabled"),
                ("EDGE_DATA_VOL_TYPE", "instance-store"),
            ]),
            &[],
            &format!(
                "error: .env:{}: EDGE_DATA_VOL_TYPE: instance-store needs an instance type with \
                 instance store volumes, and m6i.xlarge has none\n\
                 hint: use an EBS type (gp3, io1, io2), or an instance type with NVMe instance \
                 storage such as m6id.large, c6id.large or i4i.large\n",
                line_no("EDGE_DATA_VOL_TYPE")
            ),
        );
    }

    #[test]
    fn the_network_must_be_one_the_launcher_exists_for() {
        rejects(
            &sample_set(&[("EDGE_NODE_NETWORK", "testnet")]),
            &[],
            &format!(
                "error: .env:{}: EDGE_NODE_NETWORK: `testnet` is not one of `mainnet`\n\
                 hint: set EDGE_NODE_NETWORK to one of `mainnet`\n",
                line_no("EDGE_NODE_NETWORK")
            ),
        );
    }

    #[test]
    fn upstream_codes_edge_cluster_is_read_when_edge_node_network_is_absent() {
        let network = line(&theta_sample("123456789012"), "EDGE_NODE_NETWORK");
        let text = sample_with(&[(&network, "EDGE_CLUSTER=\"testnet\"")]);
        rejects(
            &text,
            &[],
            &format!(
                "error: .env:{}: EDGE_CLUSTER: `testnet` is not one of `mainnet`\n\
                 hint: set EDGE_CLUSTER to one of `mainnet`\n",
                line_no("EDGE_NODE_NETWORK")
            ),
        );
        let text = sample_with(&[(&network, "EDGE_CLUSTER=\"mainnet\"")]);
        let out = Workspace::new(&text).run(&["render", "single-node"]);
        out.success();
        assert_eq!(out.stderr, "");
        assert!(out
            .stdout
            .contains("thetalabsorg/edgelauncher_mainnet:latest"));
    }

    #[test]
    fn a_conflicting_edge_cluster_is_a_warning_and_edge_node_network_wins() {
        let mut workspace = Workspace::new(&theta_sample("123456789012"));
        workspace.set("EDGE_CLUSTER", "testnet");
        let out = workspace.run(&["render", "all"]);
        out.success();
        assert_eq!(
            out.stderr,
            "warning: EDGE_NODE_NETWORK=\"mainnet\" and EDGE_CLUSTER=\"testnet\" (from process \
             environment) differ; nodectl uses EDGE_NODE_NETWORK, the key of the upstream sample \
             (EDGE_CLUSTER is what the upstream code read): remove EDGE_CLUSTER\n"
        );
        assert!(out.stdout.contains("\"theta-edge-single-node-mainnet\""));
    }

    #[test]
    fn a_launcher_version_that_is_no_image_tag() {
        rejects(
            &sample_set(&[("EDGE_LAUNCHER_VERSION", "v1 beta")]),
            &[],
            &format!(
                "error: .env:{}: EDGE_LAUNCHER_VERSION: `v1 beta` is not a docker image tag\n\
                 hint: use a tag of thetalabsorg/edgelauncher_mainnet such as `latest` or \
                 `v1.1.0` (letters, digits, `_`, `.`, `-`; at most 128)\n",
                line_no("EDGE_LAUNCHER_VERSION")
            ),
        );
    }

    #[test]
    fn the_password_is_never_read_from_the_env_file() {
        let text = format!(
            "{}EDGE_NODE_PASSWORD=\"a-long-enough-password\"\n",
            theta_sample("123456789012")
        );
        let line = text.lines().count();
        rejects(
            &text,
            &[],
            &format!(
                "error: .env:{line}: EDGE_NODE_PASSWORD: is read from the environment or stdin, \
                 not from the .env file, which is easily shared or committed (value hidden)\n\
                 hint: remove the line; export EDGE_NODE_PASSWORD, or pipe it in with \
                 `--secret-stdin EDGE_NODE_PASSWORD`, or leave it unset to have nodectl generate \
                 one\n"
            ),
        );
    }

    #[test]
    fn weak_passwords_are_refused_without_showing_them() {
        let hint = "hint: unset EDGE_NODE_PASSWORD to have nodectl generate a strong one and \
                    store it in Secrets Manager, or use at least 12 characters on one line\n";
        rejects(
            &theta_sample("123456789012"),
            &[("EDGE_NODE_PASSWORD", "letscompute")],
            &format!(
                "error: EDGE_NODE_PASSWORD (from process environment): is the upstream README's \
                 example password (value hidden)\n{hint}"
            ),
        );
        rejects(
            &theta_sample("123456789012"),
            &[("EDGE_NODE_PASSWORD", "first-line-7c1e\nsecond-line-7c1e")],
            // The shape check every value gets; it never shows the value either.
            "error: EDGE_NODE_PASSWORD (from process environment): the value contains a line \
             break (character 16)\nhint: put the value on one line\n",
        );
        rejects(
            &theta_sample("123456789012"),
            &[("EDGE_NODE_PASSWORD", "pw-7c1e")],
            &format!(
                "error: EDGE_NODE_PASSWORD (from process environment): is shorter than 12 \
                 characters (value hidden)\n{hint}"
            ),
        );
    }

    #[test]
    fn every_theta_mistake_is_reported_in_one_run() {
        let out = {
            let tripwire = crate::support::Tripwire::new();
            let mut workspace = Workspace::new(&sample_set(&[
                ("EDGE_NODE_CPU_TYPE", "arm64"),
                ("EDGE_NODE_GPU", "on"),
                ("EDGE_DATA_VOL_SIZE", "lots"),
            ]));
            workspace.set("AWS_ENDPOINT_URL", &tripwire.endpoint);
            let out = workspace.run(&["deploy", "all", "--yes"]);
            assert_eq!(tripwire.connections(), 0);
            out
        };
        out.expect_code(1);
        let errors: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 3, "{}", out.stderr);
    }

    #[test]
    fn disabling_the_gpu_on_a_gpu_type_is_a_warning() {
        let out = Workspace::new(&sample_set(&[("EDGE_NODE_GPU", "disabled")]))
            .run(&["render", "single-node"]);
        out.success();
        assert_eq!(
            out.stderr,
            "warning: EDGE_NODE_GPU=disabled on g4dn.xlarge: the instance's GPU is paid for but \
             the edge node cannot use it (no NVIDIA driver is installed)\n"
        );
    }
}

mod render {
    use super::*;
    use serde_json::Value;

    fn rendered(text: &str) -> Value {
        let out = Workspace::new(text).run(&["render", "single-node"]);
        out.success();
        serde_json::from_str(&out.stdout).expect("a JSON template")
    }

    fn default(template: &Value, parameter: &str) -> String {
        template["Parameters"][parameter]["Default"]
            .as_str()
            .unwrap_or_else(|| panic!("{parameter} has no default"))
            .to_string()
    }

    #[test]
    fn the_upstream_samples_render_unmodified() {
        for (file, instance_type, iops, throughput) in [
            ("theta-v1.env-sample-full", "g4dn.xlarge", "3000", "125"),
            ("theta-v1.env-test", "g4dn.2xlarge", "10000", "700"),
        ] {
            let text = crate::support::upstream(file);
            let out = Workspace::new(&text).run(&["render"]);
            out.success();
            assert_eq!(out.stderr, "", "{file} renders without a warning");
            let all: Value = serde_json::from_str(&out.stdout).unwrap();
            let names: Vec<&String> = all.as_object().unwrap().keys().collect();
            assert_eq!(
                names,
                ["theta-edge-common", "theta-edge-single-node-mainnet"]
            );
            let node = &all["theta-edge-single-node-mainnet"];
            assert_eq!(default(node, "InstanceType"), instance_type);
            assert_eq!(default(node, "DataVolumeIops"), iops);
            assert_eq!(default(node, "DataVolumeThroughput"), throughput);
            assert_eq!(default(node, "EdgeNodeGpu"), "enabled");
            assert_eq!(default(node, "DataDeviceName"), "nvme2n1");
            assert_eq!(
                default(node, "EdgeLauncherImage"),
                "thetalabsorg/edgelauncher_mainnet:latest"
            );
            for looked_up in ["VpcId", "SubnetId", "AvailabilityZone", "VpcCidr"] {
                assert!(
                    node["Parameters"][looked_up].get("Default").is_none(),
                    "{looked_up} is looked up at deploy time, not rendered"
                );
            }
        }
    }

    #[test]
    fn the_data_device_follows_the_instance_type_and_volume_type() {
        for (edits, device) in [
            (vec![("EDGE_NODE_INSTANCE_TYPE", "g4dn.xlarge")], "nvme2n1"),
            (
                vec![
                    ("EDGE_NODE_INSTANCE_TYPE", "g4dn.xlarge"),
                    ("EDGE_DATA_VOL_TYPE", "instance-store"),
                ],
                "nvme1n1",
            ),
            (
                vec![
                    ("EDGE_NODE_INSTANCE_TYPE", "m6i.xlarge"),
                    ("EDGE_NODE_GPU", "disabled"),
                ],
                "nvme1n1",
            ),
            (
                vec![
                    ("EDGE_NODE_INSTANCE_TYPE", "c4.xlarge"),
                    ("EDGE_NODE_GPU", "disabled"),
                ],
                "xvdf",
            ),
        ] {
            let template = rendered(&sample_set(&edits));
            assert_eq!(default(&template, "DataDeviceName"), device, "{edits:?}");
        }
    }

    #[test]
    #[ignore = "full suite: needs cfn-lint and checkov (scripts/test installs them)"]
    fn every_volume_type_and_gpu_setting_is_cfn_lint_clean() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        let variants: &[(&str, &[(&str, &str)])] = &[
            ("gp3", &[]),
            (
                "io1",
                &[
                    ("EDGE_DATA_VOL_TYPE", "io1"),
                    ("EDGE_DATA_VOL_IOPS", "3000"),
                ],
            ),
            (
                "io2",
                &[
                    ("EDGE_DATA_VOL_TYPE", "io2"),
                    ("EDGE_DATA_VOL_IOPS", "10000"),
                ],
            ),
            (
                "instance-store",
                &[("EDGE_DATA_VOL_TYPE", "instance-store")],
            ),
            (
                "cpu",
                &[
                    ("EDGE_NODE_INSTANCE_TYPE", "m6i.xlarge"),
                    ("EDGE_NODE_GPU", "disabled"),
                ],
            ),
        ];
        for (name, edits) in variants {
            let out = Workspace::new(&sample_set(edits)).run(&["render"]);
            out.success();
            let all: Value = serde_json::from_str(&out.stdout).unwrap();
            for (stack, template) in all.as_object().unwrap() {
                let path = dir.path().join(format!("{name}-{stack}.json"));
                std::fs::write(&path, serde_json::to_string_pretty(template).unwrap()).unwrap();
                paths.push(path);
            }
        }
        crate::render::cfn_lint(&paths);
    }

    #[test]
    fn io_volumes_get_iops_and_no_throughput() {
        let template = rendered(&sample_set(&[
            ("EDGE_DATA_VOL_TYPE", "io2"),
            ("EDGE_DATA_VOL_IOPS", "10000"),
        ]));
        assert_eq!(default(&template, "DataVolumeType"), "io2");
        let volume = &template["Resources"]["DataVolume"]["Properties"];
        assert_eq!(volume["Iops"], serde_json::json!({"Ref": "DataVolumeIops"}));
        assert!(
            volume["Throughput"].to_string().contains("AWS::NoValue"),
            "throughput only for gp3: {}",
            volume["Throughput"]
        );
    }

    #[test]
    fn the_sample_config_documents_every_key() {
        crate::render::documents_every_key("sample-configs/theta.env", "theta");
    }
}

/// End to end against moto: the upstream sample (account filled in, a password from the
/// environment) deploys into moto's default VPC, one node stack per data volume type
/// (`NODECTL_NODE_NAME`), and what was provisioned is checked with describe calls. moto's
/// CloudFormation is synchronous and registers outputs only for CreateStack, hence
/// `--method direct` (`../shared/reference/moto.md` sections 3, 4).
mod moto {
    use aws_sdk_ec2::types::Filter;
    use serde_json::Value;

    use crate::support::{
        describe_group, describe_instance, read_json, runtime, theta_sample, Emulator, Workspace,
    };

    const PASSWORD: &str = "canary-edge-password-5d2b";
    /// The upstream sample's region.
    const REGION: &str = "us-east-2";

    /// (NODECTL_NODE_NAME, volume type, IOPS, throughput): one node stack each.
    const VARIANTS: &[(&str, &str, i32, i32)] = &[
        ("", "gp3", 3000, 125),
        ("io1", "io1", 3000, 0),
        ("io2", "io2", 10000, 0),
        ("store", "instance-store", 0, 0),
    ];

    /// The template and parameter values CloudFormation received for `stack`.
    fn received(
        rt: &tokio::runtime::Runtime,
        cfn: &aws_sdk_cloudformation::Client,
        stack: &str,
    ) -> (Value, serde_json::Map<String, Value>) {
        let template = rt
            .block_on(cfn.get_template().stack_name(stack).send())
            .unwrap();
        let template: Value = serde_json::from_str(template.template_body().unwrap()).unwrap();
        let described = rt
            .block_on(cfn.describe_stacks().stack_name(stack).send())
            .unwrap();
        let parameters = described.stacks()[0]
            .parameters()
            .iter()
            .map(|p| {
                (
                    p.parameter_key().unwrap().to_string(),
                    Value::String(p.parameter_value().unwrap_or_default().to_string()),
                )
            })
            .collect();
        (template, parameters)
    }

    fn stack(name: &str) -> String {
        if name.is_empty() {
            "theta-edge-single-node-mainnet".into()
        } else {
            format!("theta-edge-single-node-mainnet-{name}")
        }
    }

    #[test]
    #[ignore = "full suite: needs moto (scripts/test installs it)"]
    fn deploys_into_the_default_vpc_and_destroy_leaves_nothing() {
        let emulator = Emulator::moto();
        let mut workspace =
            Workspace::new(&theta_sample(emulator.account)).with_emulator(&emulator);
        let out = workspace.run(&[
            "deploy", "common", "--yes", "--method", "direct", "-O", "out.json",
        ]);
        out.success();
        for (name, kind, iops, _) in VARIANTS {
            let iops = iops.max(&3000).to_string();
            let mut env = vec![
                ("NODECTL_NODE_NAME", *name),
                ("EDGE_DATA_VOL_TYPE", *kind),
                ("EDGE_DATA_VOL_IOPS", iops.as_str()),
            ];
            if name.is_empty() {
                env.push(("EDGE_NODE_PASSWORD", PASSWORD));
            }
            let out = workspace.run_with(
                &[
                    "deploy",
                    "single-node",
                    "--yes",
                    "--method",
                    "direct",
                    "-O",
                    "out.json",
                    "-v",
                ],
                &env,
            );
            out.success();
            assert!(!out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD));
            let expected = if name.is_empty() {
                "stored the edge node password of `theta-edge-single-node-mainnet`".to_string()
            } else {
                format!(
                    "generated a 32-character edge node password for `{}`",
                    stack(name)
                )
            };
            assert!(out.stderr.contains(&expected), "{}", out.stderr);
        }

        let file = read_json(&workspace.path("out.json"));
        let text = |v: &Value| v.as_str().expect("a string output").to_string();
        let rt = runtime();
        let sdk = rt.block_on(emulator.sdk_in(REGION));
        let ec2 = aws_sdk_ec2::Client::new(&sdk);
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let cfn = aws_sdk_cloudformation::Client::new(&sdk);

        let default_vpc = rt
            .block_on(
                ec2.describe_vpcs()
                    .filters(Filter::builder().name("isDefault").values("true").build())
                    .send(),
            )
            .unwrap();
        let default_vpc = &default_vpc.vpcs()[0];
        let (vpc_id, vpc_cidr) = (
            default_vpc.vpc_id().unwrap().to_string(),
            default_vpc.cidr_block().unwrap().to_string(),
        );

        for (name, kind, iops, throughput) in VARIANTS {
            let outputs = &file[stack(name).as_str()];
            assert_eq!(text(&outputs["VpcId"]), vpc_id, "{kind}: the default VPC");
            assert_eq!(
                text(&outputs["singleinstanceid"]),
                text(&outputs["InstanceId"])
            );

            // The security group: 15888, 17888, 17935 from the VPC's CIDR only; no SSH.
            let (vpc, ingress) = describe_group(&rt, &ec2, &text(&outputs["SecurityGroupId"]));
            assert_eq!(vpc, vpc_id);
            assert_eq!(
                ingress,
                [15888, 17888, 17935]
                    .map(|port| ("tcp".to_string(), port, port, vec![vpc_cidr.clone()]))
                    .to_vec(),
                "{kind}: only the three RPC ports, from the VPC"
            );

            // The instance: type, subnet of the default VPC, its own instance profile, tags.
            let profile = text(&outputs["InstanceProfileName"]);
            let instance = &describe_instance(&rt, &ec2, &text(&outputs["InstanceId"]));
            assert_eq!(
                instance.instance_type().map(|t| t.as_str()),
                Some("g4dn.xlarge")
            );
            assert_eq!(
                instance.subnet_id(),
                Some(text(&outputs["SubnetId"]).as_str())
            );
            assert_eq!(instance.vpc_id(), Some(vpc_id.as_str()));
            assert!(instance
                .iam_instance_profile()
                .and_then(|p| p.arn())
                .is_some_and(|arn| arn.ends_with(&format!("/{profile}"))));
            let tags: Vec<(&str, &str)> = instance
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?, t.value()?)))
                .collect();
            assert!(tags.contains(&("Project", "AWS_THETA_EDGE")), "{tags:?}");
            assert!(tags.contains(&("Name", stack(name).as_str())), "{tags:?}");

            // The data volume, per type; none for instance-store.
            if *kind == "instance-store" {
                assert!(outputs.get("DataVolumeId").is_none(), "no EBS data volume");
                let attached = rt
                    .block_on(
                        ec2.describe_volumes()
                            .filters(
                                Filter::builder()
                                    .name("attachment.instance-id")
                                    .values(text(&outputs["InstanceId"]))
                                    .build(),
                            )
                            .send(),
                    )
                    .unwrap();
                assert!(
                    attached.volumes().iter().all(|v| v.size() == Some(46)),
                    "only the root volume"
                );
            } else {
                let volumes = rt
                    .block_on(
                        ec2.describe_volumes()
                            .volume_ids(text(&outputs["DataVolumeId"]))
                            .send(),
                    )
                    .unwrap();
                let volume = &volumes.volumes()[0];
                assert_eq!(volume.size(), Some(256), "{kind}");
                assert_eq!(
                    volume.availability_zone(),
                    Some(text(&outputs["AvailabilityZone"]).as_str())
                );
                // moto drops the type, IOPS, throughput, encryption and attachment (the
                // instance's Volumes property) of a volume it creates from a template: check what
                // CloudFormation received instead.
                let (template, parameters) = received(&rt, &cfn, &stack(name));
                assert_eq!(
                    template["Resources"]["Instance"]["Properties"]["Volumes"]["Fn::If"][1],
                    serde_json::json!([{"Device": "/dev/sdf", "VolumeId": {"Ref": "DataVolume"}}]),
                    "{kind}: attached at /dev/sdf"
                );
                let properties = &template["Resources"]["DataVolume"]["Properties"];
                assert_eq!(properties["Encrypted"], true, "{kind}");
                assert_eq!(parameters["DataVolumeType"], *kind);
                assert_eq!(parameters["DataVolumeIops"], iops.to_string());
                assert_eq!(
                    properties["Iops"],
                    serde_json::json!({"Ref": "DataVolumeIops"})
                );
                let throughput_ref = &properties["Throughput"]["Fn::If"];
                assert_eq!(
                    throughput_ref[1],
                    serde_json::json!({"Ref": "DataVolumeThroughput"})
                );
                if *throughput > 0 {
                    assert_eq!(parameters["DataVolumeThroughput"], throughput.to_string());
                }
                assert_eq!(
                    template["Resources"]["DataVolume"]["DeletionPolicy"], "Delete",
                    "destroy deletes the data volume"
                );
                assert_eq!(
                    template["Resources"]["DataVolume"]["UpdateReplacePolicy"], "Snapshot",
                    "an update that replaces the volume keeps a snapshot of the node's keystore"
                );
            }

            // The dashboard: moto 5.2.5 has no route for the RPC v2 CBOR protocol that
            // aws-sdk-cloudwatch speaks (and answers DescribeStackResources for it with a 500),
            // so its name is the one CloudFormation resolved (`Ref`), and its body is the one the
            // stack received, for this instance's data device.
            assert_eq!(
                text(&outputs["DashboardName"]),
                format!("{}-{}", stack(name), text(&outputs["InstanceId"]))
            );
            let (template, parameters) = received(&rt, &cfn, &stack(name));
            let body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
                .as_str()
                .unwrap()
                .to_string();
            let device = if *kind == "instance-store" {
                "nvme1n1"
            } else {
                "nvme2n1"
            };
            assert_eq!(parameters["DataDeviceName"], device, "{kind}");
            for needle in [
                "theta_current_block_height",
                "theta_peer_count",
                "${Instance}",
                "${DataDeviceName}",
            ] {
                assert!(body.contains(needle), "{kind}: dashboard lacks {needle}");
            }
        }

        // The secrets: one per node, each with its own entry; the configured password,
        // generated ones elsewhere.
        let entry = |name: &str| -> Value {
            let secret = rt
                .block_on(
                    secrets
                        .get_secret_value()
                        .secret_id(format!("{}/node-secret", stack(name)))
                        .send(),
                )
                .unwrap();
            let document: Value = serde_json::from_str(secret.secret_string().unwrap()).unwrap();
            assert_eq!(document.as_object().unwrap().len(), 1, "{name}: one entry");
            document[stack(name).as_str()].clone()
        };
        assert_eq!(entry("")["password"], PASSWORD);
        for name in ["io1", "io2", "store"] {
            let generated = entry(name)["password"].as_str().unwrap().to_string();
            assert_eq!(generated.len(), 32);
            assert_ne!(generated, PASSWORD);
        }

        // Destroy: the node stacks, then the common stack; nothing is left.
        for (name, _, _, _) in VARIANTS {
            workspace.set("NODECTL_NODE_NAME", name);
            let out = workspace.run(&["destroy", "single-node", "--yes"]);
            out.success();
            assert!(
                out.stderr.contains(&format!(
                    "the secret `{}/node-secret` (the edge node password) is scheduled for \
                     deletion",
                    stack(name)
                )),
                "{}",
                out.stderr
            );
        }
        workspace.set("NODECTL_NODE_NAME", "");
        let out = workspace.run(&["destroy", "common", "--yes"]);
        out.success();
        for (name, _, _, _) in VARIANTS {
            let outputs = &file[stack(name).as_str()];
            let state = describe_instance(&rt, &ec2, &text(&outputs["InstanceId"]))
                .state()
                .and_then(|s| s.name())
                .map(|s| s.as_str().to_string());
            assert_eq!(state.as_deref(), Some("terminated"));
            let groups = rt.block_on(
                ec2.describe_security_groups()
                    .group_ids(text(&outputs["SecurityGroupId"]))
                    .send(),
            );
            assert!(
                groups.is_err(),
                "the security group of {} is gone",
                stack(name)
            );
        }
        for (name, _, _, _) in VARIANTS {
            let described = rt
                .block_on(
                    secrets
                        .describe_secret()
                        .secret_id(format!("{}/node-secret", stack(name)))
                        .send(),
                )
                .unwrap();
            assert!(
                described.deleted_date().is_some(),
                "{name}: scheduled for deletion"
            );
        }
        let status = workspace.run(&["status", "--output", "json"]);
        status.success();
        let rows: Value = serde_json::from_str(&status.stdout).unwrap();
        assert_eq!(
            rows["nodes"],
            serde_json::json!([]),
            "no node left to report"
        );
        let states: Vec<&str> = rows["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["status"].as_str().unwrap())
            .collect();
        assert!(
            states
                .iter()
                .all(|s| *s == "NOT_DEPLOYED" || *s == "DELETE_COMPLETE"),
            "{states:?}"
        );
    }
}

/// The default VPC lookup's user-facing failure, against moto with its default VPC deleted.
mod no_default_vpc {
    use aws_sdk_ec2::types::Filter;

    use crate::support::{runtime, theta_sample, Emulator, Workspace};

    /// moto with the common stack deployed: the workspace, a runtime, an EC2 client in the
    /// sample's region, and the id of moto's default VPC there.
    fn with_common_stack() -> (
        Emulator,
        Workspace,
        tokio::runtime::Runtime,
        aws_sdk_ec2::Client,
        String,
    ) {
        let emulator = Emulator::moto();
        let workspace = Workspace::new(&theta_sample(emulator.account)).with_emulator(&emulator);
        workspace
            .run(&["deploy", "common", "--yes", "--method", "direct"])
            .success();
        let rt = runtime();
        let ec2 = aws_sdk_ec2::Client::new(&rt.block_on(emulator.sdk_in("us-east-2")));
        let vpcs = rt
            .block_on(
                ec2.describe_vpcs()
                    .filters(filter("isDefault", "true"))
                    .send(),
            )
            .unwrap();
        let vpc = vpcs.vpcs()[0].vpc_id().unwrap().to_string();
        (emulator, workspace, rt, ec2, vpc)
    }

    fn filter(name: &str, value: &str) -> Filter {
        Filter::builder().name(name).values(value).build()
    }

    #[test]
    #[ignore = "full suite: needs moto (scripts/test installs it)"]
    fn a_missing_default_subnet_or_vpc_gets_the_command_that_creates_it() {
        let (_emulator, workspace, rt, ec2, vpc) = with_common_stack();
        // Delete the default VPC the way `aws ec2 delete-vpc` needs it: subnets and internet
        // gateway first.
        let subnets = rt
            .block_on(
                ec2.describe_subnets()
                    .filters(filter("vpc-id", &vpc))
                    .send(),
            )
            .unwrap();
        for subnet in subnets.subnets() {
            rt.block_on(
                ec2.delete_subnet()
                    .subnet_id(subnet.subnet_id().unwrap())
                    .send(),
            )
            .unwrap();
        }
        let out = workspace.run(&["deploy", "single-node", "--yes", "--method", "direct"]);
        out.expect_code(1);
        assert_eq!(
            out.stderr,
            format!(
                "error: the default VPC {vpc} in `us-east-2` has no default subnet\n\
                 hint: create one with `aws ec2 create-default-subnet --availability-zone \
                 us-east-2a --region us-east-2`, then deploy again\n"
            )
        );
        let gateways = rt
            .block_on(
                ec2.describe_internet_gateways()
                    .filters(filter("attachment.vpc-id", &vpc))
                    .send(),
            )
            .unwrap();
        for gateway in gateways.internet_gateways() {
            let id = gateway.internet_gateway_id().unwrap();
            rt.block_on(
                ec2.detach_internet_gateway()
                    .internet_gateway_id(id)
                    .vpc_id(&vpc)
                    .send(),
            )
            .unwrap();
            rt.block_on(ec2.delete_internet_gateway().internet_gateway_id(id).send())
                .unwrap();
        }
        rt.block_on(ec2.delete_vpc().vpc_id(&vpc).send()).unwrap();

        let out = workspace.run(&["deploy", "single-node", "--yes", "--method", "direct"]);
        out.expect_code(1);
        assert_eq!(
            out.stderr,
            "error: there is no default VPC in `us-east-2`, and stack \
             `theta-edge-single-node-mainnet` puts the node in it\n\
             hint: create it with `aws ec2 create-default-vpc --region us-east-2`, then deploy \
             again\n"
        );
        assert_eq!(out.stdout, "");
    }

    #[test]
    #[ignore = "full suite: needs moto (scripts/test installs it)"]
    fn an_instance_type_offered_in_no_zone_of_the_default_vpc_is_an_error() {
        let (_emulator, workspace, rt, ec2, vpc) = with_common_stack();
        // moto's offerings data has trn1.2xlarge in us-east-2c only (as AWS had): without the
        // default subnet of us-east-2c, the region offers the type but no zone of the VPC does.
        let subnets = rt
            .block_on(
                ec2.describe_subnets()
                    .filters(filter("vpc-id", &vpc))
                    .filters(filter("availability-zone", "us-east-2c"))
                    .send(),
            )
            .unwrap();
        for subnet in subnets.subnets() {
            rt.block_on(
                ec2.delete_subnet()
                    .subnet_id(subnet.subnet_id().unwrap())
                    .send(),
            )
            .unwrap();
        }
        let out = workspace.run_with(
            &[
                "deploy",
                "single-node",
                "--yes",
                "--method",
                "direct",
                "--skip-checks",
            ],
            &[
                ("EDGE_NODE_INSTANCE_TYPE", "trn1.2xlarge"),
                ("EDGE_NODE_GPU", "disabled"),
            ],
        );
        out.expect_code(1);
        assert!(
            out.stderr.ends_with(&format!(
                "error: instance type trn1.2xlarge is offered in none of the zones of the \
                 default VPC {vpc} in `us-east-2` (it is offered in us-east-2c)\n\
                 hint: choose an instance type offered in the region (`aws ec2 \
                 describe-instance-type-offerings --location-type availability-zone`), or create \
                 a default subnet in a zone that offers it\n"
            )),
            "{}",
            out.stderr
        );
    }
}
