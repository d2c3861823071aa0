//! Every configuration mistake gets an exact message, exits 1, and makes no AWS request
//! (a tripwire listener stands in for the AWS endpoint and must see no connection).

use crate::support::{
    upstream_sample, Tripwire, Workspace, OFFCHAIN_WARNINGS, RUNTIME_WARNING, UPSTREAM_WARNINGS,
};

/// The upstream sample with the account filled in and `edits` applied (whole-line
/// replacements `from` → `to`).
fn sample_with(edits: &[(&str, &str)]) -> String {
    let mut text = crate::support::filled(&upstream_sample(), "123456789012");
    for (from, to) in edits {
        assert!(text.contains(from), "the sample has no `{from}`");
        text = text.replacen(from, to, 1);
    }
    text
}

/// Runs `deploy all --yes` on `env_text` (plus `process_env`) and checks the exact stderr.
#[track_caller]
pub fn rejects(env_text: &str, process_env: &[(&str, &str)], expected_stderr: &str) {
    let tripwire = Tripwire::new();
    let mut workspace = Workspace::new(env_text);
    workspace.set("AWS_ENDPOINT_URL", &tripwire.endpoint);
    workspace.set("AWS_ACCESS_KEY_ID", "testing");
    workspace.set("AWS_SECRET_ACCESS_KEY", "testing");
    let out = workspace.run_with(&["deploy", "all", "--yes"], process_env);
    out.expect_code(1);
    assert_eq!(out.stderr, expected_stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(tripwire.connections(), 0, "an AWS request was made");
}

/// [`rejects`] for a sample whose warnings (its worker token and dry run, see
/// [`UPSTREAM_WARNINGS`]) are printed before the errors, as every warning is.
#[track_caller]
pub fn rejects_warned(env_text: &str, process_env: &[(&str, &str)], expected_errors: &str) {
    rejects(
        env_text,
        process_env,
        &format!("{UPSTREAM_WARNINGS}{expected_errors}"),
    );
}

#[test]
fn region_format() {
    rejects_warned(
        &sample_with(&[("AWS_REGION=\"us-east-1\"", "AWS_REGION=\"US East\"")]),
        &[],
        "error: .env:20: AWS_REGION: `US East` is not an AWS region code\n\
         hint: use a region code such as us-east-1, eu-west-2 or ap-southeast-1\n",
    );
}

#[test]
fn region_from_the_process_environment_names_its_source() {
    rejects_warned(
        &sample_with(&[]),
        &[("AWS_REGION", "nowhere")],
        "error: AWS_REGION (from process environment): `nowhere` is not an AWS region code\n\
         hint: use a region code such as us-east-1, eu-west-2 or ap-southeast-1\n",
    );
}

#[test]
fn instance_type_syntax() {
    rejects_warned(
        &sample_with(&[("AWS_INSTANCE_TYPE=\"t3.medium\"", "AWS_INSTANCE_TYPE=\"t3medium\"")]),
        &[],
        "error: .env:21: AWS_INSTANCE_TYPE: `t3medium` is not an EC2 instance type: expected FAMILY.SIZE\n\
         hint: use an EC2 instance type such as t3.medium, t3.large or m6i.large\n",
    );
}

#[test]
fn instance_type_and_cpu_type_must_agree() {
    rejects_warned(
        &sample_with(&[("AWS_INSTANCE_TYPE=\"t3.medium\"", "AWS_INSTANCE_TYPE=\"t4g.medium\"")]),
        &[],
        "error: AWS_INSTANCE_CPU_TYPE (default): t4g.medium is an AWS Graviton (arm64) instance type, not x86_64\n\
         hint: set AWS_INSTANCE_CPU_TYPE=\"ARM_64\", or use an x86_64 type such as t3.medium\n",
    );
}

#[test]
fn volume_type() {
    rejects_warned(
        &sample_with(&[("EDGE_DATA_VOL_TYPE=\"gp3\"", "EDGE_DATA_VOL_TYPE=\"gp2\"")]),
        &[],
        "error: .env:27: EDGE_DATA_VOL_TYPE: `gp2` is not one of `gp3`, `io1`, `io2`, `instance-store`\n\
         hint: set EDGE_DATA_VOL_TYPE to one of `gp3`, `io1`, `io2`, `instance-store`\n",
    );
}

#[test]
fn instance_store_needs_an_instance_type_with_instance_storage() {
    rejects_warned(
        &sample_with(&[("EDGE_DATA_VOL_TYPE=\"gp3\"", "EDGE_DATA_VOL_TYPE=\"instance-store\"")]),
        &[],
        "error: .env:27: EDGE_DATA_VOL_TYPE: instance-store needs an instance type with instance store volumes, and t3.medium has none\n\
         hint: use an EBS type (gp3, io1, io2), or an instance type with NVMe instance storage such as m6id.large, c6id.large or i4i.large\n",
    );
}

#[test]
fn gp3_size_range() {
    rejects_warned(
        &sample_with(&[("EDGE_DATA_VOL_SIZE=\"256\"", "EDGE_DATA_VOL_SIZE=\"70000\"")]),
        &[],
        "error: .env:28: EDGE_DATA_VOL_SIZE: 70000 GiB is out of range for gp3: gp3 volumes take 1 to 65536 GiB\n\
         hint: use a size from 1 to 65536 GiB (Amazon EC2 API Reference, CreateVolume, Size)\n",
    );
}

#[test]
fn gp3_iops_range() {
    rejects_warned(
        &sample_with(&[("EDGE_DATA_VOL_IOPS=\"3000\"", "EDGE_DATA_VOL_IOPS=\"2000\"")]),
        &[],
        "error: .env:29: EDGE_DATA_VOL_IOPS: 2000 IOPS is out of range for gp3: gp3 volumes take 3000 to 80000 IOPS\n\
         hint: use a value from 3000 to 80000 (Amazon EC2 API Reference, CreateVolume, Iops)\n",
    );
}

#[test]
fn gp3_iops_per_gib() {
    rejects_warned(
        &sample_with(&[
            ("EDGE_DATA_VOL_SIZE=\"256\"", "EDGE_DATA_VOL_SIZE=\"20\""),
            ("EDGE_DATA_VOL_IOPS=\"3000\"", "EDGE_DATA_VOL_IOPS=\"12000\""),
        ]),
        &[],
        "error: .env:29: EDGE_DATA_VOL_IOPS: 12000 IOPS is too many for a 20 GiB gp3 volume: at most 500 IOPS per GiB, so at most 10000 IOPS\n\
         hint: raise EDGE_DATA_VOL_SIZE to at least 24 GiB or lower EDGE_DATA_VOL_IOPS (Amazon EBS User Guide, volume types: 500 IOPS per GiB for gp3)\n",
    );
}

#[test]
fn io1_iops_per_gib() {
    rejects_warned(
        &sample_with(&[
            ("EDGE_DATA_VOL_TYPE=\"gp3\"", "EDGE_DATA_VOL_TYPE=\"io1\""),
            ("EDGE_DATA_VOL_IOPS=\"3000\"", "EDGE_DATA_VOL_IOPS=\"20000\""),
        ]),
        &[],
        "error: .env:29: EDGE_DATA_VOL_IOPS: 20000 IOPS is too many for a 256 GiB io1 volume: at most 50 IOPS per GiB, so at most 12800 IOPS\n\
         hint: raise EDGE_DATA_VOL_SIZE to at least 400 GiB or lower EDGE_DATA_VOL_IOPS (Amazon EBS User Guide, volume types: 50 IOPS per GiB for io1)\n",
    );
}

#[test]
fn gp3_throughput_range() {
    rejects_warned(
        &sample_with(&[("EDGE_DATA_VOL_THROUGHPUT=\"125\"", "EDGE_DATA_VOL_THROUGHPUT=\"3000\"")]),
        &[],
        "error: .env:30: EDGE_DATA_VOL_THROUGHPUT: 3000 MiB/s is out of range for gp3: gp3 volumes take 125 to 2000 MiB/s\n\
         hint: use a value from 125 to 2000 (Amazon EC2 API Reference, CreateVolume, Throughput)\n",
    );
}

#[test]
fn gp3_throughput_per_iops() {
    rejects_warned(
        &sample_with(&[("EDGE_DATA_VOL_THROUGHPUT=\"125\"", "EDGE_DATA_VOL_THROUGHPUT=\"1000\"")]),
        &[],
        "error: .env:30: EDGE_DATA_VOL_THROUGHPUT: 1000 MiB/s is too much for 3000 IOPS: gp3 allows at most 0.25 MiB/s per provisioned IOPS, so at most 750 MiB/s\n\
         hint: raise EDGE_DATA_VOL_IOPS to at least 4000 or lower EDGE_DATA_VOL_THROUGHPUT (Amazon EBS User Guide, volume types: gp3)\n",
    );
}

#[test]
fn subnet_mask_range() {
    rejects_warned(
        &sample_with(&[("AWS_VPC_CIDR_MASK=\"24\"", "AWS_VPC_CIDR_MASK=\"30\"")]),
        &[],
        "error: .env:24: AWS_VPC_CIDR_MASK: 30 is out of range: AWS_VPC_CIDR_MASK takes 16 to 28\n\
         hint: use a value from 16 to 28\n",
    );
}

#[test]
fn subnet_mask_larger_than_the_vpc() {
    rejects_warned(
        &sample_with(&[("AWS_VPC_CIDR_MASK=\"24\"", "AWS_VPC_CIDR_MASK=\"16\"")]),
        &[("NODECTL_VPC_CIDR", "10.1.0.0/20")],
        "error: .env:24: AWS_VPC_CIDR_MASK: /16 is larger than the VPC block 10.1.0.0/20\n\
         hint: use a mask from 20 to 28\n",
    );
}

#[test]
fn vpc_cidr_with_host_bits() {
    rejects_warned(
        &sample_with(&[]),
        &[("NODECTL_VPC_CIDR", "10.0.0.1/16")],
        "error: NODECTL_VPC_CIDR (from process environment): `10.0.0.1/16` has host bits set\n\
         hint: use the network address: 10.0.0.0/16\n",
    );
}

#[test]
fn a_number_that_is_not_a_number() {
    rejects_warned(
        &sample_with(&[("EDGE_DATA_VOL_SIZE=\"256\"", "EDGE_DATA_VOL_SIZE=\"big\"")]),
        &[],
        "error: .env:28: EDGE_DATA_VOL_SIZE: `big` is not a whole number\n\
         hint: use digits only, e.g. EDGE_DATA_VOL_SIZE=\"256\"\n",
    );
}

#[test]
fn every_mistake_is_reported_in_one_run() {
    rejects(
        &sample_with(&[
            (
                "ALLORA_WALLET_GAS_ADJUSTMENT=\"1.0\"",
                "ALLORA_WALLET_GAS_ADJUSTMENT=\"lots\"",
            ),
            (
                "ALLORA_WALLET_SUBMIT_TX=\"false\"",
                "ALLORA_WALLET_SUBMIT_TX=\"maybe\"",
            ),
        ]),
        &[],
        // The dry-run warning cannot be decided while ALLORA_WALLET_SUBMIT_TX is invalid.
        &format!("{RUNTIME_WARNING}{}", "warning: ALLORA_WORKER_TOKEN=\"ethereum\" does not match TOKEN=\"ETH\" in MODEL_ENV_VARS, the only token the inference server answers for; the worker asks for \"ETH\"\n\
         warning: ALLORA_REPUTER_TOPIC_ID is set: this node runs a reputer on topic 1 as well as the worker on topic 1; the reputer stakes ALLORA_REPUTER_MIN_STAKE (100000) from the wallet, which must hold it; leave ALLORA_REPUTER_TOPIC_ID empty for a worker only\n\
         error: .env:39: ALLORA_WALLET_GAS_ADJUSTMENT: `lots` is not a number\n\
         hint: use a decimal number, e.g. ALLORA_WALLET_GAS_ADJUSTMENT=\"1.0\"\n\
         \n\
         error: .env:52: ALLORA_WALLET_SUBMIT_TX: `maybe` is not true or false\n\
         hint: write ALLORA_WALLET_SUBMIT_TX=\"true\" or ALLORA_WALLET_SUBMIT_TX=\"false\"\n"),
    );
}

#[test]
fn the_upstream_placeholders_are_refused_together_before_any_request() {
    rejects(
        &upstream_sample(),
        &[],
        &format!(
            "{UPSTREAM_WARNINGS}\
             error: .env:6: AWS_ACCOUNT_ID: `xxxxxxxxxxx` is the upstream sample's placeholder, not an account id\n\
             hint: set it to the 12-digit id of the account to deploy into: `aws sts get-caller-identity --query Account`\n\
             \n\
             error: .env:5: ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC: `xxxxxxxxxxx` is the upstream sample's placeholder, not a mnemonic\n\
             hint: set ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC in the .env file, in the environment, or pipe it in with --secret-stdin ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC (never as an argument); or leave it unset, and nodectl generates the node a wallet\n"
        ),
    );
}

#[test]
fn an_account_id_that_is_not_12_digits() {
    rejects(
        &sample_with(&[("AWS_ACCOUNT_ID=\"123456789012\"", "AWS_ACCOUNT_ID=\"12345\"")]),
        &[],
        &format!("{UPSTREAM_WARNINGS}error: .env:6: AWS_ACCOUNT_ID: `12345` is not an AWS account id (12 digits)\n\
         hint: set it to the id of the account to deploy into: `aws sts get-caller-identity --query Account`\n"),
    );
}

#[test]
fn a_file_for_no_known_blueprint() {
    rejects(
        "AWS_ACCOUNT_ID=\"123456789012\"\nAWS_REGION=\"us-east-1\"\n",
        &[],
        "error: cannot tell which blueprint .env is for: it has no ALLORA_*, MODEL_*, \
         EDGE_NODE_* or DYNABENCH_* keys\n\
         hint: add NODECTL_BLUEPRINT=allora, NODECTL_BLUEPRINT=theta or \
         NODECTL_BLUEPRINT=dynabench, or start from a sample: `nodectl init allora`, `nodectl \
         init theta` or `nodectl init dynabench`\n",
    );
}

#[test]
fn a_missing_env_file_says_how_to_make_one() {
    let workspace = Workspace::new("");
    std::fs::remove_file(workspace.path(".env")).unwrap();
    let out = workspace.run(&["render"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: the env file `.env` does not exist\n\
         hint: create it from a blueprint's sample with `nodectl init allora`, `nodectl init theta` or `nodectl init dynabench`, or pass --env-file PATH\n"
    );
}

#[test]
fn unknown_keys_are_warnings_with_the_closest_known_key() {
    let text = sample_with(&[]) + "AWS_INSTNCE_TYPE=\"t3.large\"\nAWS_PROFILE=\"dev\"\n";
    let workspace = Workspace::new(&text);
    let out = workspace.run(&["render", "common"]);
    out.success();
    assert_eq!(
        out.stderr,
        format!(
            "warning: .env:72: unknown key AWS_INSTNCE_TYPE (did you mean AWS_INSTANCE_TYPE?); it is ignored\n\
             warning: .env:73: AWS_PROFILE is ignored: credentials come from --profile or the environment, not from the .env file\n\
             {UPSTREAM_WARNINGS}"
        )
    );
}

#[test]
fn no_execute_with_direct_is_a_usage_error() {
    let tripwire = Tripwire::new();
    let mut workspace = Workspace::new(&sample_with(&[]));
    workspace.set("AWS_ENDPOINT_URL", &tripwire.endpoint);
    let out = workspace.run(&["deploy", "common", "--no-execute", "--method", "direct"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: --no-execute needs a change set, and --method direct deploys without one\n\
         hint: drop --method direct to review a change set, or drop --no-execute\n"
    );
    assert_eq!(tripwire.connections(), 0);
}

#[test]
fn no_execute_works_on_one_stack_at_a_time() {
    rejects_args(
        &sample_with(&[]),
        &["deploy", "all", "--no-execute"],
        "error: --no-execute works on one stack at a time\n\
         hint: run `nodectl deploy common --no-execute` or `nodectl deploy single-node --no-execute`\n",
    );
}

#[test]
fn an_unknown_blueprint() {
    rejects(
        &(sample_with(&[]) + "NODECTL_BLUEPRINT=\"solana\"\n"),
        &[],
        "error: .env:72: NODECTL_BLUEPRINT: unknown blueprint `solana`\n\
         hint: set NODECTL_BLUEPRINT to allora, theta or dynabench\n",
    );
}

#[test]
fn a_node_name_that_cannot_be_part_of_a_stack_name() {
    rejects_warned(
        &sample_with(&[]),
        &[("NODECTL_NODE_NAME", "Node_2")],
        "error: NODECTL_NODE_NAME (from process environment): `Node_2` is not a valid node name\n\
         hint: use 1 to 32 lowercase letters, digits and hyphens, e.g. node-2\n",
    );
}

#[test]
fn arm64_needs_a_graviton_instance_type() {
    rejects_warned(
        &sample_with(&[]),
        &[("AWS_INSTANCE_CPU_TYPE", "ARM_64")],
        "error: AWS_INSTANCE_CPU_TYPE (from process environment): ARM_64 needs an AWS Graviton instance type, and t3.medium is x86_64\n\
         hint: use a Graviton type such as t4g.medium, or AWS_INSTANCE_CPU_TYPE=\"x86_64\"\n",
    );
}

#[test]
fn a_missing_account_id() {
    rejects(
        &sample_with(&[("AWS_ACCOUNT_ID=\"123456789012\"\n", "")]),
        &[],
        &format!("{UPSTREAM_WARNINGS}error: AWS_ACCOUNT_ID is not set: nodectl checks it against the credentials' account before it changes anything\n\
         hint: add AWS_ACCOUNT_ID=\"<12-digit id>\" to the .env file (`aws sts get-caller-identity --query Account` prints it)\n"),
    );
}

#[test]
fn a_template_over_the_inline_limit_is_refused_before_any_request() {
    let workspace = Workspace::new("");
    let templates = workspace.path("templates/allora");
    std::fs::create_dir_all(&templates).unwrap();
    let repo = crate::support::repo().join("templates/allora");
    for entry in std::fs::read_dir(&repo).unwrap() {
        let from = entry.unwrap().path();
        if from.is_file() {
            std::fs::copy(&from, templates.join(from.file_name().unwrap())).unwrap();
        }
    }
    let shared = workspace.path("templates/shared");
    std::fs::create_dir_all(&shared).unwrap();
    for entry in std::fs::read_dir(crate::support::repo().join("templates/shared")).unwrap() {
        let from = entry.unwrap().path();
        std::fs::copy(&from, shared.join(from.file_name().unwrap())).unwrap();
    }
    // The dashboard body is part of the template but not of the user data: pad it (trailing
    // whitespace keeps it valid JSON).
    let padded = format!(
        "{}{}",
        std::fs::read_to_string(repo.join("dashboard.json")).unwrap(),
        " ".repeat(50_000)
    );
    std::fs::write(templates.join("dashboard.json"), padded).unwrap();
    let dir = workspace.path("templates");
    let text = sample_with(&[]);
    let size_of = {
        let workspace = Workspace::new(&text);
        let out = workspace.run_with(
            &["render", "single-node"],
            &[("NODECTL_TEMPLATES_DIR", dir.to_str().unwrap())],
        );
        out.success();
        out.stdout.len()
    };
    rejects_with_env(
        &text,
        &["deploy", "all", "--yes"],
        &[("NODECTL_TEMPLATES_DIR", dir.to_str().unwrap())],
        &format!(
            "{UPSTREAM_WARNINGS}warning: using the template files in {} (NODECTL_TEMPLATES_DIR), not the built-in ones\n\
             error: the template of stack `allora-single-node` is {size_of} bytes, more than the 51200 bytes CloudFormation accepts inline\n\
             hint: shorten the template (with NODECTL_TEMPLATES_DIR), or report it: the built-in templates stay under the limit\n",
            dir.display()
        ),
    );
}

/// Like [`rejects`], with other arguments.
#[track_caller]
fn rejects_args(env_text: &str, args: &[&str], expected_stderr: &str) {
    rejects_with_env(env_text, args, &[], expected_stderr);
}

#[track_caller]
fn rejects_with_env(env_text: &str, args: &[&str], env: &[(&str, &str)], expected_stderr: &str) {
    let tripwire = Tripwire::new();
    let mut workspace = Workspace::new(env_text);
    workspace.set("AWS_ENDPOINT_URL", &tripwire.endpoint);
    workspace.set("AWS_ACCESS_KEY_ID", "testing");
    workspace.set("AWS_SECRET_ACCESS_KEY", "testing");
    let out = workspace.run_with(args, env);
    out.expect_code(1);
    assert_eq!(out.stderr, expected_stderr);
    assert_eq!(tripwire.connections(), 0, "an AWS request was made");
}

#[test]
fn values_that_reach_the_setup_script_must_be_plain() {
    rejects_warned(
        &sample_with(&[(
            "MODEL_REPO=\"https://github.com/allora-network/basic-coin-prediction-node\"",
            "MODEL_REPO=\"https://example.com/repo'; rm -rf /\"",
        )]),
        &[],
        "error: .env:7: MODEL_REPO: `https://example.com/repo'; rm -rf /` contains a quote, backslash, dollar sign or whitespace\n\
         hint: MODEL_REPO reaches the instance's setup script: use a plain value\n",
    );
}

#[test]
fn user_data_over_the_ec2_limit_is_refused_before_any_request() {
    let topics: Vec<String> = (1..=12).map(|t| t.to_string()).collect();
    // Many topics and a long public model setting: each template parameter stays within
    // CloudFormation's 4,096 bytes, together they overflow the user data.
    let text = sample_with(&[
        (
            "ALLORA_WORKER_TOPIC_ID=\"1\"",
            &format!("ALLORA_WORKER_TOPIC_ID=\"{}\"", topics.join(",")),
        ),
        (
            "TIMEFRAME=\"4h\"",
            &format!("TIMEFRAME=\"{}\"", "4h,".repeat(900)),
        ),
    ]);
    let tripwire = Tripwire::new();
    let mut workspace = Workspace::new(&text);
    workspace.set("AWS_ENDPOINT_URL", &tripwire.endpoint);
    let out = workspace.run(&["deploy", "all", "--yes"]);
    out.expect_code(1);
    assert!(
        out.stderr
            .starts_with("error: the instance's user data would be ")
            && out.stderr.ends_with(
                " bytes, more than the 16384 bytes EC2 accepts\n\
                 hint: configure fewer topics or shorter MODEL_ENV_VARS values\n"
            ),
        "{}",
        out.stderr
    );
    assert_eq!(tripwire.connections(), 0);
}

#[test]
fn a_tag_that_is_not_a_version() {
    rejects(
        &sample_with(&[]),
        &[
            ("ALLORA_OFFCHAIN_NODE_TAG", "latest"),
            ("ALLORA_WORKER_RUNTIME", "offchain-node"),
        ],
        &format!(
            "{OFFCHAIN_WARNINGS}error: ALLORA_OFFCHAIN_NODE_TAG (from process environment): \
             `latest` is not a pinned version tag\n\
             hint: set a version tag such as v0.12.0: the config.json nodectl writes depends on it\n"
        ),
    );
}

#[test]
fn gas_prices_auto_needs_v0_7() {
    rejects(
        &sample_with(&[]),
        &[
            ("ALLORA_OFFCHAIN_NODE_TAG", "v0.6.0"),
            ("ALLORA_WORKER_RUNTIME", "offchain-node"),
        ],
        &format!(
            "{OFFCHAIN_WARNINGS}error: .env:41: ALLORA_WALLET_GAS_PRICES: `auto` needs \
             allora-offchain-node v0.7.0 or later; v0.6 takes a number\n\
             hint: set a price such as ALLORA_WALLET_GAS_PRICES=\"10\", or \
             ALLORA_OFFCHAIN_NODE_TAG=\"v0.12.0\"\n"
        ),
    );
}

#[test]
fn a_parameter_over_the_cloudformation_limit_is_refused_before_any_request() {
    // 1,000 topics: the config is gzip-compressed, so it takes many to pass the limit.
    let topics: Vec<String> = (1..=1000).map(|t| t.to_string()).collect();
    rejects(
        &sample_with(&[(
            "ALLORA_WORKER_TOPIC_ID=\"1\"",
            &format!("ALLORA_WORKER_TOPIC_ID=\"{}\"", topics.join(",")),
        )]),
        &[],
        "error: the OffchainNodeConfig template parameter would be 4888 bytes, more than CloudFormation's 4096\n\
         hint: configure fewer topics or shorter values\n",
    );
}

#[test]
fn an_outputs_file_that_is_not_a_json_object_is_refused_before_any_request() {
    let tripwire = Tripwire::new();
    let mut workspace = Workspace::new(&sample_with(&[]));
    workspace.set("AWS_ENDPOINT_URL", &tripwire.endpoint);
    workspace.set("AWS_ACCESS_KEY_ID", "testing");
    workspace.set("AWS_SECRET_ACCESS_KEY", "testing");
    std::fs::write(workspace.path("out.json"), "[\"not\", \"an object\"]").unwrap();
    let out = workspace.run(&["deploy", "all", "--yes", "--outputs-file", "out.json"]);
    out.expect_code(1);
    assert!(
        out.stderr.ends_with(
            "error: cannot merge outputs into `out.json`: it is not a JSON object\n\
             hint: it was left as it is; move it away or pass another --outputs-file\n"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(tripwire.connections(), 0, "an AWS request was made");
    assert_eq!(
        std::fs::read_to_string(workspace.path("out.json")).unwrap(),
        "[\"not\", \"an object\"]"
    );
}
