//! The Allora worker blueprint: the keys of the upstream `sample-configs/.env-sample-full`
//! (aws-blueprint-node-runners PRs #88, #158 and #170, see `../shared/reference/node-runners.md`
//! section 1.5) plus nodectl's own `NODECTL_*` keys, and the two stacks it deploys.
//!
//! Stack naming rule: the common stack is `allora-edge-common` and the node stack
//! `allora-single-node`, the names the seed's `cdk deploy` commands use. To run several nodes
//! in one account and region, give each node's `.env` its own `NODECTL_NODE_NAME=<name>`: its
//! stack becomes `allora-single-node-<name>`, and all of them share the one common stack.
//! `AWS_RESOURCE_NAME_PREFIX` keeps its upstream meaning: the prefix of the resources' `Name`
//! tags.

use super::validate::{self, InstanceType, Ipv4Cidr};
use super::volume::{self, DataVolume, VolumeType};
use super::{AccountSetting, BlueprintKind, KeySpec, Plan, Reader, StackPlan, StackRole};
use crate::error::Result;
use crate::settings::Settings;
use crate::template;

/// The common stack's name.
pub const COMMON_STACK: &str = "allora-edge-common";
/// The node stack's name (and the prefix of every node stack's name).
pub const SINGLE_NODE_STACK: &str = "allora-single-node";
/// The upstream sample's placeholder for `AWS_ACCOUNT_ID` and the mnemonic.
pub const PLACEHOLDER: &str = "xxxxxxxxxxx";
/// The port the seed opens for inference requests from the Allora head nodes (TCP).
pub const INGRESS_PORT: u16 = 9010;

const COMMON_TEMPLATE: &str = include_str!("../../templates/allora/common.json");
const SINGLE_NODE_TEMPLATE: &str = include_str!("../../templates/allora/single-node.json");
const USER_DATA: &str = include_str!("../../templates/allora/user-data.sh");
const DASHBOARD: &str = include_str!("../../templates/allora/dashboard.json");

/// Where rendering inserts the user data script in `single-node.json`.
pub const USER_DATA_POINTER: &str = "/Resources/Instance/Properties/UserData/Fn::Base64/Fn::Sub/0";
/// Where rendering inserts the dashboard body in `single-node.json`.
pub const DASHBOARD_POINTER: &str = "/Resources/Dashboard/Properties/DashboardBody/Fn::Sub";

const fn key(name: &'static str, default: Option<&'static str>, help: &'static str) -> KeySpec {
    KeySpec {
        name,
        default,
        secret: false,
        help,
    }
}

const fn secret(name: &'static str, help: &'static str) -> KeySpec {
    KeySpec {
        name,
        default: None,
        secret: true,
        help,
    }
}

/// Every key the Allora blueprint reads, with its default. `sample-configs/allora.env`
/// documents each of them (a test checks that).
pub const KEYS: &[KeySpec] = &[
    key(
        "NODECTL_BLUEPRINT",
        None,
        "allora; optional when the file has ALLORA_* keys",
    ),
    key(
        "AWS_ACCOUNT_ID",
        None,
        "12-digit account id, checked against the credentials",
    ),
    key("AWS_REGION", Some("us-east-1"), "region code"),
    key("AWS_INSTANCE_TYPE", Some("t3.medium"), "EC2 instance type"),
    key("AWS_INSTANCE_CPU_TYPE", Some("x86_64"), "x86_64 or ARM_64"),
    key(
        "AWS_RESOURCE_NAME_PREFIX",
        Some("AlloraWorkerx"),
        "Name tag prefix",
    ),
    key(
        "AWS_VPC_MAX_AZS",
        Some("1"),
        "availability zones (nodectl uses 1)",
    ),
    key(
        "AWS_VPC_NAT_GATEWAYS",
        Some("0"),
        "NAT gateways (nodectl creates none)",
    ),
    key(
        "AWS_VPC_CIDR_MASK",
        Some("24"),
        "public subnet prefix length, 16 to 28",
    ),
    key(
        "NODECTL_VPC_CIDR",
        Some("10.0.0.0/16"),
        "VPC CIDR block, /16 to /28",
    ),
    key(
        "NODECTL_INGRESS_CIDR",
        Some("0.0.0.0/0"),
        "source CIDR allowed to TCP 9010",
    ),
    key("NODECTL_NODE_NAME", None, "suffix of the node stack name"),
    key(
        "EDGE_DATA_VOL_TYPE",
        Some("gp3"),
        "gp3, io1, io2 or instance-store",
    ),
    key("EDGE_DATA_VOL_SIZE", Some("256"), "GiB"),
    key("EDGE_DATA_VOL_IOPS", Some("3000"), "IOPS"),
    key("EDGE_DATA_VOL_THROUGHPUT", Some("125"), "MiB/s, gp3 only"),
    key(
        "MODEL_REPO",
        Some("https://github.com/allora-network/basic-coin-prediction-node"),
        "git URL of the inference server",
    ),
    secret(
        "MODEL_ENV_VARS",
        "KEY=\"value\" lines for the inference server",
    ),
    key("ALLORA_WALLET_ADDRESS_KEY_NAME", None, "wallet key name"),
    secret("ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC", "wallet mnemonic"),
    key("ALLORA_WORKER_NAME", Some("aws"), "worker name"),
    key("ALLORA_ENV", Some("dev"), "allora-offchain-node git ref"),
    key("ALLORA_WALLET_HOME_DIR", Some(""), "wallet home directory"),
    key(
        "ALLORA_WALLET_GAS",
        Some("1000000"),
        "auto or a whole number",
    ),
    key("ALLORA_WALLET_GAS_ADJUSTMENT", Some("1.0"), "decimal"),
    key(
        "ALLORA_WALLET_GAS_PRICES",
        Some("auto"),
        "auto or a decimal",
    ),
    key("ALLORA_WALLET_GAS_PRICE_INTERVAL", Some("60"), "seconds"),
    key("ALLORA_WALLET_RETRY_DELAY", Some("3"), "seconds"),
    key(
        "ALLORA_WALLET_BLOCK_DURATION_ESTIMATED",
        Some("10"),
        "seconds",
    ),
    key(
        "ALLORA_WALLET_WINDOW_CORRECTION_FACTOR",
        Some("0.8"),
        "decimal",
    ),
    key("ALLORA_WALLET_MAX_FEES", Some("500000"), "whole number"),
    key(
        "ALLORA_WALLET_ACCOUNT_SEQUENCE_RETRY_DELAY",
        Some("5"),
        "seconds",
    ),
    key(
        "ALLORA_WALLET_NODE_RPC",
        Some("https://allora-rpc.testnet.allora.network"),
        "chain RPC URL",
    ),
    key("ALLORA_WALLET_MAX_RETRIES", Some("1"), "whole number"),
    key(
        "ALLORA_WALLET_DELAY",
        Some("1"),
        "seconds (deprecated upstream)",
    ),
    key("ALLORA_WALLET_SUBMIT_TX", Some("false"), "true or false"),
    key("ALLORA_WORKER_TOPIC_ID", Some("1"), "topic id"),
    key(
        "ALLORA_WORKER_INFERENCE_ENTRYPOINT_NAME",
        Some("api-worker-reputer"),
        "adapter name",
    ),
    key(
        "ALLORA_WORKER_INFERENCE_ENDPOINT",
        Some("http://source:8000/inference/{Token}"),
        "inference URL",
    ),
    key(
        "ALLORA_REPUTER_LOSS_FUNCTION_SERVICE",
        Some("http://localhost:5000"),
        "loss function URL",
    ),
    key(
        "ALLORA_REPUTER_LOSS_METHOD_OPTIONS_LOSS_METHOD",
        Some("sqe"),
        "loss method",
    ),
    key(
        "ALLORA_WORKER_LOOP_SECONDS",
        Some("30"),
        "seconds (deprecated upstream)",
    ),
    key("ALLORA_WORKER_TOKEN", Some("ethereum"), "token"),
    key("ALLORA_REPUTER_TOPIC_ID", Some("1"), "topic id"),
    key(
        "ALLORA_REPUTER_ENTRYPOINT_NAME",
        Some("api-worker-reputer"),
        "adapter name",
    ),
    key(
        "ALLORA_REPUTER_SOURCE_OF_TRUTH_ENDPOINT",
        Some("http://source:8888/truth/{Token}/{BlockHeight}"),
        "ground truth URL",
    ),
    key(
        "ALLORA_REPUTER_LOOP_SECONDS",
        Some("30"),
        "seconds (deprecated upstream)",
    ),
    key("ALLORA_REPUTER_TOKEN", Some("ethereum"), "token"),
    key("ALLORA_REPUTER_MIN_STAKE", Some("100000"), "whole number"),
];

/// Keys nodectl knows but does not read from the `.env` file, with the reason.
const IGNORED: &[(&str, &str)] = &[
    (
        "AWS_PROFILE",
        "credentials come from --profile or the environment, not from the .env file",
    ),
    (
        "AWS_ACCESS_KEY_ID",
        "credentials come from --profile or the environment, not from the .env file",
    ),
    (
        "AWS_SECRET_ACCESS_KEY",
        "credentials come from --profile or the environment, not from the .env file",
    ),
    (
        "AWS_SESSION_TOKEN",
        "credentials come from --profile or the environment, not from the .env file",
    ),
    (
        "AWS_ENDPOINT_URL",
        "use --endpoint-url or the AWS_ENDPOINT_URL environment variable",
    ),
    ("AWS_DEFAULT_REGION", "nodectl reads AWS_REGION"),
];

/// Values that are placeholders, not secrets: masking them would garble messages.
const NOT_SECRETS: &[&str] = &[PLACEHOLDER, "secret", ""];

/// The validated Allora configuration.
#[derive(Debug, Clone)]
pub struct AlloraConfig {
    /// `AWS_ACCOUNT_ID`.
    pub account: AccountSetting,
    /// `AWS_REGION` (or `--region`).
    pub region: String,
    /// `AWS_INSTANCE_TYPE`.
    pub instance_type: InstanceType,
    /// Whether `AWS_INSTANCE_CPU_TYPE` is `ARM_64`.
    pub arm64: bool,
    /// `AWS_RESOURCE_NAME_PREFIX`.
    pub resource_name_prefix: String,
    /// `NODECTL_NODE_NAME`.
    pub node_name: Option<String>,
    /// `NODECTL_VPC_CIDR`.
    pub vpc_cidr: Ipv4Cidr,
    /// The public subnet: the first `AWS_VPC_CIDR_MASK` block of the VPC.
    pub subnet_cidr: Ipv4Cidr,
    /// `NODECTL_INGRESS_CIDR`.
    pub ingress_cidr: Ipv4Cidr,
    /// `EDGE_DATA_VOL_*`.
    pub data_volume: DataVolume,
}

impl AlloraConfig {
    /// The node stack name: `allora-single-node`, or `allora-single-node-<NODECTL_NODE_NAME>`.
    pub fn single_node_stack(&self) -> String {
        match &self.node_name {
            Some(name) => format!("{SINGLE_NODE_STACK}-{name}"),
            None => SINGLE_NODE_STACK.to_string(),
        }
    }

    /// The public SSM parameter of the Amazon Linux 2023 AMI for the CPU type (Amazon Linux
    /// 2023 User Guide, "Get the latest AL2023 AMI ID using Systems Manager").
    pub fn ami_parameter(&self) -> &'static str {
        if self.arm64 {
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
        } else {
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
        }
    }
}

/// Reads and validates every key; returns the configuration and warnings, or every problem
/// found as one [`crate::error::Error::Config`]. Makes no AWS request.
pub fn read(settings: &Settings) -> Result<(AlloraConfig, Vec<String>)> {
    let mut r = Reader::new(settings, KEYS);
    r.warn_unknown_keys(IGNORED);

    let account = match r.setting("AWS_ACCOUNT_ID") {
        None => AccountSetting::Missing,
        Some(s) if s.value == PLACEHOLDER => AccountSetting::Placeholder(s.source),
        Some(s) => match validate::account_id(&s.value) {
            Ok(id) => AccountSetting::Id(id, s.source),
            Err(_) => AccountSetting::Invalid(s.value, s.source),
        },
    };
    let region = r.checked("AWS_REGION", validate::region);
    let instance_type = r.checked("AWS_INSTANCE_TYPE", validate::instance_type);
    let cpu = r.choice("AWS_INSTANCE_CPU_TYPE", &["x86_64", "ARM_64"]);
    let prefix = r.checked("AWS_RESOURCE_NAME_PREFIX", |value| {
        let ok = (1..=64).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(value.to_string())
        } else {
            Err((
                format!("`{value}` is not a valid name prefix"),
                "use 1 to 64 letters, digits, hyphens and underscores, e.g. AlloraWorkerx".into(),
            ))
        }
    });
    let node_name = match r.setting("NODECTL_NODE_NAME") {
        Some(s) if !s.value.is_empty() => r.checked("NODECTL_NODE_NAME", validate::name_part),
        _ => None,
    };
    let max_azs = r.integer("AWS_VPC_MAX_AZS", 1..=32, "");
    let nat_gateways = r.integer("AWS_VPC_NAT_GATEWAYS", 0..=32, "");
    let subnet_mask = r.integer("AWS_VPC_CIDR_MASK", 16..=28, "");
    let vpc_cidr = r.checked("NODECTL_VPC_CIDR", |value| {
        let cidr = validate::ipv4_cidr(value)?;
        if (16..=28).contains(&cidr.prefix) {
            Ok(cidr)
        } else {
            Err((
                format!("`{value}` is not a valid VPC block: the prefix must be /16 to /28"),
                "use a block from /16 to /28, e.g. 10.0.0.0/16 (Amazon VPC User Guide, VPC \
                 CIDR blocks)"
                    .into(),
            ))
        }
    });
    let ingress_cidr = r.checked("NODECTL_INGRESS_CIDR", validate::ipv4_cidr);
    let data_volume = volume::read(&mut r);

    read_allora_node_keys(&mut r);

    if let Some(count) = max_azs.filter(|&n| n > 1) {
        r.warn(format!(
            "AWS_VPC_MAX_AZS={count} is ignored: nodectl puts the node in one public subnet in \
             one availability zone"
        ));
    }
    if let Some(count) = nat_gateways.filter(|&n| n > 0) {
        r.warn(format!(
            "AWS_VPC_NAT_GATEWAYS={count} is ignored: the node's subnet is public and needs no \
             NAT gateway"
        ));
    }
    let subnet_cidr = match (vpc_cidr, subnet_mask) {
        (Some(vpc), Some(mask)) if (mask as u8) < vpc.prefix => {
            let source = r
                .setting("AWS_VPC_CIDR_MASK")
                .expect("has a default")
                .source;
            r.issue(
                "AWS_VPC_CIDR_MASK",
                &source,
                format!("/{mask} is larger than the VPC block {vpc}"),
                format!("use a mask from {} to 28", vpc.prefix),
            );
            None
        }
        (Some(vpc), Some(mask)) => Some(vpc.first_subnet(mask as u8)),
        _ => None,
    };
    let arm64 = cpu.as_deref() == Some("ARM_64");
    if let (Some(itype), Some(_)) = (&instance_type, &cpu) {
        if itype.is_graviton() != arm64 {
            let source = r
                .setting("AWS_INSTANCE_CPU_TYPE")
                .expect("has a default")
                .source;
            let (message, hint) = if arm64 {
                (
                    format!("ARM_64 needs an AWS Graviton instance type, and {itype} is x86_64"),
                    "use a Graviton type such as t4g.medium, or AWS_INSTANCE_CPU_TYPE=\"x86_64\"",
                )
            } else {
                (
                    format!("{itype} is an AWS Graviton (arm64) instance type, not x86_64"),
                    "set AWS_INSTANCE_CPU_TYPE=\"ARM_64\", or use an x86_64 type such as t3.medium",
                )
            };
            r.issue("AWS_INSTANCE_CPU_TYPE", &source, message, hint.into());
        }
    }
    if let (Some(itype), Some(volume)) = (&instance_type, &data_volume) {
        if volume.kind == VolumeType::InstanceStore && itype.is_burstable() {
            let source = r
                .setting("EDGE_DATA_VOL_TYPE")
                .expect("has a default")
                .source;
            r.issue(
                "EDGE_DATA_VOL_TYPE",
                &source,
                format!("instance-store needs an instance type with instance store volumes, and {itype} has none"),
                "use an EBS type (gp3, io1, io2), or an instance type with NVMe instance storage \
                 such as m6id.large, c6id.large or i4i.large"
                    .into(),
            );
        }
    }

    let mut warnings = r.finish()?;
    if let Some(dir) = std::env::var_os(template::TEMPLATES_DIR_ENV) {
        warnings.push(format!(
            "using the template files in {} ({}), not the built-in ones",
            std::path::Path::new(&dir).display(),
            template::TEMPLATES_DIR_ENV
        ));
    }
    let config = AlloraConfig {
        account,
        region: region.expect("checked"),
        instance_type: instance_type.expect("checked"),
        arm64,
        resource_name_prefix: prefix.expect("checked"),
        node_name,
        vpc_cidr: vpc_cidr.expect("checked"),
        subnet_cidr: subnet_cidr.expect("checked"),
        ingress_cidr: ingress_cidr.expect("checked"),
        data_volume: data_volume.expect("checked"),
    };
    Ok((config, warnings))
}

/// Type checks of the keys the node software reads (used by the payload; checked now so
/// that a mistake is found before anything is deployed).
fn read_allora_node_keys(r: &mut Reader) {
    for key in [
        "ALLORA_WALLET_GAS_PRICE_INTERVAL",
        "ALLORA_WALLET_RETRY_DELAY",
        "ALLORA_WALLET_BLOCK_DURATION_ESTIMATED",
        "ALLORA_WALLET_MAX_FEES",
        "ALLORA_WALLET_ACCOUNT_SEQUENCE_RETRY_DELAY",
        "ALLORA_WALLET_MAX_RETRIES",
        "ALLORA_WALLET_DELAY",
        "ALLORA_WORKER_TOPIC_ID",
        "ALLORA_WORKER_LOOP_SECONDS",
        "ALLORA_REPUTER_TOPIC_ID",
        "ALLORA_REPUTER_LOOP_SECONDS",
        "ALLORA_REPUTER_MIN_STAKE",
    ] {
        r.integer(key, 0..=i64::MAX, "");
    }
    for key in [
        "ALLORA_WALLET_GAS_ADJUSTMENT",
        "ALLORA_WALLET_WINDOW_CORRECTION_FACTOR",
    ] {
        r.decimal(key);
    }
    r.boolean("ALLORA_WALLET_SUBMIT_TX");
    r.checked("ALLORA_WALLET_GAS", |value| {
        if value == "auto" || value.parse::<u64>().is_ok() {
            Ok(())
        } else {
            Err((
                format!("`{value}` is neither `auto` nor a whole number"),
                "write ALLORA_WALLET_GAS=\"auto\" or a gas limit such as \"1000000\"".into(),
            ))
        }
    });
    r.checked("ALLORA_WALLET_GAS_PRICES", |value| {
        if value == "auto" || value.parse::<f64>().is_ok_and(f64::is_finite) {
            Ok(())
        } else {
            Err((
                format!("`{value}` is neither `auto` nor a number"),
                "write ALLORA_WALLET_GAS_PRICES=\"auto\" or a price such as \"10\"".into(),
            ))
        }
    });
}

/// The secret values of the configuration (mnemonic, `MODEL_ENV_VARS` values of secret-like
/// names such as `CG_API_KEY`, credentials put in the file by mistake), for redaction.
pub fn secrets(settings: &Settings) -> Vec<String> {
    let mut secrets = Vec::new();
    let mut add = |value: &str| {
        let value = value.trim().trim_matches('"').trim_matches('\'');
        if !NOT_SECRETS.contains(&value) {
            secrets.push(value.to_string());
        }
    };
    for key in [
        "ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        if let Some(setting) = settings.get(key) {
            add(&setting.value);
        }
    }
    if let Some(setting) = settings.get("MODEL_ENV_VARS") {
        for line in setting.value.lines() {
            if let Some((name, value)) = line.split_once('=') {
                if is_secret_name(name) {
                    add(value);
                }
            }
        }
    }
    secrets
}

/// Whether a `MODEL_ENV_VARS` variable name looks like a credential: `CG_API_KEY`,
/// `*_TOKEN`, anything with SECRET, PASSWORD, MNEMONIC or PRIVATE. A bare `TOKEN` (the coin,
/// `TOKEN="ETH"` in the upstream sample) is not.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.trim().to_ascii_uppercase();
    name.ends_with("_KEY")
        || name.ends_with("_TOKEN")
        || ["SECRET", "PASSWORD", "MNEMONIC", "PRIVATE"]
            .iter()
            .any(|word| name.contains(word))
}

/// Builds the plan: both stacks rendered with their parameters.
pub fn plan(settings: &Settings) -> Result<Plan> {
    let (config, warnings) = read(settings)?;
    let single_node = config.single_node_stack();
    let common_parameters = vec![(
        "NodeStackNamePrefix".to_string(),
        SINGLE_NODE_STACK.to_string(),
    )];
    let volume = config.data_volume;
    let single_node_parameters: Vec<(String, String)> = [
        ("CommonStackName", COMMON_STACK.to_string()),
        ("ResourceNamePrefix", config.resource_name_prefix.clone()),
        ("LatestAmiId", config.ami_parameter().to_string()),
        ("InstanceType", config.instance_type.to_string()),
        ("VpcCidr", config.vpc_cidr.to_string()),
        ("SubnetCidr", config.subnet_cidr.to_string()),
        ("IngressCidr", config.ingress_cidr.to_string()),
        ("IngressPort", INGRESS_PORT.to_string()),
        ("DataVolumeType", volume.kind.as_str().to_string()),
        ("DataVolumeSize", volume.size_gib.to_string()),
        ("DataVolumeIops", volume.iops.to_string()),
        ("DataVolumeThroughput", volume.throughput_mibps.to_string()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect();
    let tags = |role: StackRole| {
        vec![
            ("nodectl:blueprint".to_string(), "allora".to_string()),
            ("nodectl:stack".to_string(), role.name().to_string()),
        ]
    };
    let common_template = template::load("allora", "common.json", COMMON_TEMPLATE)?;
    let single_node_template = template::load("allora", "single-node.json", SINGLE_NODE_TEMPLATE)?;
    let user_data = template::load("allora", "user-data.sh", USER_DATA)?;
    let dashboard = template::load("allora", "dashboard.json", DASHBOARD)?;
    let stacks = vec![
        StackPlan {
            role: StackRole::Common,
            name: COMMON_STACK.to_string(),
            template: template::render(&common_template, &common_parameters, &[])?,
            parameters: common_parameters,
            tags: tags(StackRole::Common),
        },
        StackPlan {
            role: StackRole::SingleNode,
            name: single_node,
            template: template::render(
                &single_node_template,
                &single_node_parameters,
                &[
                    (USER_DATA_POINTER, &user_data.text),
                    (DASHBOARD_POINTER, &dashboard.text),
                ],
            )?,
            parameters: single_node_parameters,
            tags: tags(StackRole::SingleNode),
        },
    ];
    Ok(Plan {
        blueprint: BlueprintKind::Allora,
        region: config.region,
        account: config.account,
        stacks,
        warnings,
        secrets: secrets(settings),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "CG_API_KEY",
            "HF_TOKEN",
            "DB_PASSWORD",
            "WALLET_MNEMONIC",
            "PRIVATE_KEY",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["TOKEN", "MODEL", "REGION", "KEYRING_BACKEND", "TIMEFRAME"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }
}
