//! Reading and validating the Allora blueprint's keys into an [`AlloraConfig`], offline.

use super::values::{
    git_ref, health_url, is_env_name, model_repo, parse_ports, parse_topics, plain,
};
use std::collections::BTreeMap;

use super::keys;
use super::offchain;
use super::sdk::{self, Runtime, SdkWorker};
use super::secrets::{self, check_mnemonic, Mnemonic, MNEMONIC_KEY};
use crate::blueprint::validate::{self, InstanceType, Ipv4Cidr};
use crate::blueprint::volume::{self, DataVolume};
use crate::blueprint::Reader;
use crate::error::Result;
use crate::plan::AccountSetting;
use crate::secrets::SecretValue;
use crate::settings::Settings;

/// The validated Allora configuration.
#[derive(Debug, Clone)]
pub(super) struct AlloraConfig {
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
    /// `NODECTL_ALERT_EMAIL`, or empty.
    pub alert_email: String,
    /// `NODECTL_INGRESS_PORTS`: inbound TCP ports from `ingress_cidr`.
    pub ingress_ports: Vec<u16>,
    /// The node software: offchain node, inference server, secrets.
    pub node: NodeConfig,
}

/// The node software's configuration: the allora-offchain-node image and config, the inference
/// server, and the secrets the instance reads at boot.
#[derive(Debug, Clone)]
pub(super) struct NodeConfig {
    /// `ALLORA_WORKER_RUNTIME`, or the one chosen for the file ([`sdk::read_runtime`]).
    pub runtime: Runtime,
    /// The SDK worker's settings (the `sdk` runtime only).
    pub sdk: Option<SdkWorker>,
    /// `ALLORA_API_KEY` (the `sdk` runtime only).
    pub api_key: Option<SecretValue>,
    /// `alloranetwork/allora-offchain-node:<ALLORA_OFFCHAIN_NODE_TAG>`.
    pub image: String,
    /// The offchain node's config.json for the tag's schema, without the mnemonic.
    pub offchain_config: serde_json::Value,
    /// `MODEL_REPO`.
    pub model_repo: String,
    /// `MODEL_REPO_REF` (empty: the default branch).
    pub model_repo_ref: String,
    /// The non-secret `MODEL_ENV_VARS` entries, in order.
    pub model_env: Vec<(String, String)>,
    /// The secret-like `MODEL_ENV_VARS` entries (stored in Secrets Manager).
    pub model_env_secrets: BTreeMap<String, SecretValue>,
    /// What the instance polls before it signals success (the inference endpoint from the host).
    pub health_url: String,
    /// The inference server's host name in the worker's endpoint (a network alias on the node).
    pub host_alias: String,
    /// `ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC`.
    pub mnemonic: Mnemonic,
    /// What the node will run, in words: roles, network, topics, funds and stake.
    pub roles: String,
}

impl AlloraConfig {
    /// The node stack name: `allora-single-node`, or `allora-single-node-<NODECTL_NODE_NAME>`.
    pub(super) fn single_node_stack(&self) -> String {
        match &self.node_name {
            Some(name) => format!("{}-{name}", super::SINGLE_NODE_STACK),
            None => super::SINGLE_NODE_STACK.to_string(),
        }
    }

    /// The public SSM parameter of the Amazon Linux 2023 AMI for the CPU type (Amazon Linux
    /// 2023 User Guide, "Get the latest AL2023 AMI ID using Systems Manager").
    pub(super) fn ami_parameter(&self) -> &'static str {
        if self.arm64 {
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
        } else {
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
        }
    }
}

/// Reads and validates every key; returns the configuration and warnings, or every problem
/// found as one [`crate::error::Error::Config`]. Makes no AWS request.
pub(super) fn read(settings: &Settings) -> Result<(AlloraConfig, Vec<String>)> {
    let mut r = Reader::new(settings, keys::all());
    r.warn_unknown_keys();

    let account = r.account();
    let region = r.region();
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
    let node_name = r.node_name();
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
    let alert_email = crate::blueprint::alerts::read(&mut r);

    let node = read_node(&mut r);
    // The SDK worker opens no port (upstream-2026.md section 1.5): none unless set.
    let ingress_ports = match &node {
        Some(node) if node.runtime == Runtime::Sdk && !r.is_set("NODECTL_INGRESS_PORTS") => {
            Some(Vec::new())
        }
        _ => r.checked("NODECTL_INGRESS_PORTS", parse_ports),
    };

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
        volume::check_instance_type(&mut r, itype, volume);
    }

    let warnings = r.finish()?;
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
        alert_email,
        ingress_ports: ingress_ports.expect("checked"),
        node: node.expect("checked"),
    };
    Ok((config, warnings))
}

/// Reads the node software's keys: the offchain node's wallet, worker and reputer, the
/// inference server, and the secrets. Checked now so that a mistake is found before anything
/// is deployed, including the node's own start-up checks for the pinned tag.
fn read_node(r: &mut Reader) -> Option<NodeConfig> {
    let runtime = sdk::read_runtime(r);
    let tag = r.text("ALLORA_OFFCHAIN_NODE_TAG").unwrap_or_default();
    let schema = r.checked("ALLORA_OFFCHAIN_NODE_TAG", offchain::schema_for_tag);
    let int = |r: &mut Reader, key: &str| r.integer(key, 0..=i64::MAX, "");
    let gas_price_interval = int(r, "ALLORA_WALLET_GAS_PRICE_INTERVAL");
    let retry_delay = int(r, "ALLORA_WALLET_RETRY_DELAY");
    let block_duration = int(r, "ALLORA_WALLET_BLOCK_DURATION_ESTIMATED");
    let max_fees = int(r, "ALLORA_WALLET_MAX_FEES");
    let sequence_delay = int(r, "ALLORA_WALLET_ACCOUNT_SEQUENCE_RETRY_DELAY");
    let max_retries = int(r, "ALLORA_WALLET_MAX_RETRIES");
    let worker_loop = int(r, "ALLORA_WORKER_LOOP_SECONDS");
    let reputer_loop = int(r, "ALLORA_REPUTER_LOOP_SECONDS");
    let min_stake = int(r, "ALLORA_REPUTER_MIN_STAKE");
    int(r, "ALLORA_WALLET_DELAY");
    let gas_adjustment = r.decimal("ALLORA_WALLET_GAS_ADJUSTMENT");
    let window = r.decimal("ALLORA_WALLET_WINDOW_CORRECTION_FACTOR");
    let submit_tx = r.boolean("ALLORA_WALLET_SUBMIT_TX");
    let gas = r.checked("ALLORA_WALLET_GAS", |value| {
        if value == "auto" || value.parse::<u64>().is_ok() {
            Ok(value.to_string())
        } else {
            Err((
                format!("`{value}` is neither `auto` nor a whole number"),
                "write ALLORA_WALLET_GAS=\"auto\" or a gas limit such as \"1000000\"".into(),
            ))
        }
    });
    let gas_prices = r.checked("ALLORA_WALLET_GAS_PRICES", |value| {
        if value == "auto" || value.parse::<f64>().is_ok_and(f64::is_finite) {
            Ok(value.to_string())
        } else {
            Err((
                format!("`{value}` is neither `auto` nor a number"),
                "write ALLORA_WALLET_GAS_PRICES=\"auto\" or a price such as \"10\"".into(),
            ))
        }
    });
    let list = |value: Option<String>| -> Vec<String> {
        value
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    };
    let node_rpcs = list(r.text("ALLORA_WALLET_NODE_RPC"));
    let node_grpcs = list(r.text("ALLORA_WALLET_NODE_GRPC"));

    // MODEL_ENV_VARS: KEY="value" lines, parsed as dotenv; every value is secret (Secrets
    // Manager) except those NODECTL_PUBLIC_MODEL_ENV names, which go into the template.
    let public = secrets::public_model_env(r.settings());
    let mut model_env = Vec::new();
    let mut model_env_secrets = BTreeMap::new();
    if let Some(setting) = r.setting("MODEL_ENV_VARS") {
        for item in dotenvy::from_read_iter(setting.value.as_bytes()) {
            match item {
                Ok((name, value)) if !public.contains(&name) => {
                    model_env_secrets.insert(name, SecretValue::new(value));
                }
                Ok((name, value)) => model_env.push((name, value)),
                Err(_) => {
                    r.issue(
                        "MODEL_ENV_VARS",
                        &setting.source,
                        "a line is not KEY=\"value\" (value hidden)".into(),
                        "write one KEY=\"value\" per line inside the quotes".into(),
                    );
                    break;
                }
            }
        }
    }

    r.checked("NODECTL_PUBLIC_MODEL_ENV", |value| {
        match value
            .split(',')
            .map(str::trim)
            .find(|name| !name.is_empty() && !is_env_name(name))
        {
            Some(name) => Err((
                format!("`{name}` is not a variable name"),
                "list MODEL_ENV_VARS names separated by commas, e.g. \"TOKEN,TIMEFRAME\"".into(),
            )),
            None => Ok(()),
        }
    });
    // These values reach the user data script in single quotes and the compose override in
    // double quotes: no quotes, backslashes or whitespace.
    for key in [
        "ALLORA_OFFCHAIN_NODE_TAG",
        "ALLORA_WORKER_INFERENCE_ENDPOINT",
        "ALLORA_WORKER_TOKEN",
    ] {
        r.checked(key, |value| plain(key, value));
    }
    r.checked("MODEL_REPO", |value| {
        plain("MODEL_REPO", value)?;
        model_repo(value)
    });
    r.checked("MODEL_REPO_REF", |value| {
        plain("MODEL_REPO_REF", value)?;
        if value.is_empty() || git_ref(value) {
            Ok(())
        } else {
            Err((
                format!("`{value}` is not a branch, tag or commit"),
                "use letters, digits, `.`, `_`, `/` and `-` (at most 128), e.g. main, v1.2.0 or \
                 a commit id"
                    .into(),
            ))
        }
    });
    let worker_topics = r.checked("ALLORA_WORKER_TOPIC_ID", parse_topics);
    let reputer_topics = match r.setting("ALLORA_REPUTER_TOPIC_ID") {
        Some(s) if !s.value.trim().is_empty() => {
            r.checked("ALLORA_REPUTER_TOPIC_ID", parse_topics).map(Some)
        }
        _ => Some(None),
    };
    let endpoint = r
        .text("ALLORA_WORKER_INFERENCE_ENDPOINT")
        .unwrap_or_default();
    let mut token = r.text("ALLORA_WORKER_TOKEN").unwrap_or_default();
    if let Some((_, model_token)) = model_env.iter().find(|(k, _)| k == "TOKEN") {
        if !r.is_set("ALLORA_WORKER_TOKEN") {
            // Unset: the token the inference server was started for.
            token = model_token.clone();
        } else if !model_token.eq_ignore_ascii_case(&token) {
            r.warn(format!(
                "ALLORA_WORKER_TOKEN=\"{token}\" does not match TOKEN=\"{model_token}\" in \
                 MODEL_ENV_VARS, the only token the inference server answers for; the worker \
                 asks for \"{model_token}\""
            ));
            token = model_token.clone();
        }
    }
    let first_topic = worker_topics
        .as_ref()
        .and_then(|t| t.first().copied())
        .unwrap_or(1);
    let endpoint_parts = health_url(&endpoint, &token, first_topic);
    if endpoint_parts.is_none() {
        let source = r
            .setting("ALLORA_WORKER_INFERENCE_ENDPOINT")
            .expect("has a default")
            .source;
        r.issue(
            "ALLORA_WORKER_INFERENCE_ENDPOINT",
            &source,
            format!("`{endpoint}` is not an http://HOST:PORT/PATH URL"),
            "use the inference server's compose service name as HOST, e.g. \
             http://inference:8000/inference/{Token}"
                .into(),
        );
    }
    // No surprise roles: the upstream samples set a reputer topic, and a reputer stakes.
    let offchain = runtime == Some(Runtime::OffchainNode);
    if let (true, Some(Some(reputers)), Some(workers)) = (offchain, &reputer_topics, &worker_topics)
    {
        let list = |topics: &[u64]| {
            topics
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        r.warn(format!(
            "ALLORA_REPUTER_TOPIC_ID is set: this node runs a reputer on topic {} as well as the \
             worker on topic {}; the reputer stakes ALLORA_REPUTER_MIN_STAKE ({}) from the \
             wallet, which must hold it; leave ALLORA_REPUTER_TOPIC_ID empty for a worker only",
            list(reputers),
            list(workers),
            min_stake
                .map(|v| v.to_string())
                .unwrap_or_else(|| "unset".into())
        ));
    }
    if offchain && submit_tx == Some(false) {
        r.warn(
            "ALLORA_WALLET_SUBMIT_TX=false: the worker computes inferences but submits nothing \
             to the chain (a dry run)"
                .into(),
        );
    }
    let mnemonic = match r.settings().get(MNEMONIC_KEY) {
        Some(s) if !s.value.is_empty() => check_mnemonic(&s.value, s.source),
        _ => Mnemonic::Missing,
    };

    let (sdk_worker, api_key) = match (runtime, &worker_topics, &reputer_topics, submit_tx) {
        (Some(Runtime::Sdk), Some(topics), Some(reputer), Some(submit_tx)) => {
            let chain_id = r.text("ALLORA_WALLET_CHAIN_ID").unwrap_or_default();
            let inputs = sdk::Inputs {
                topics,
                chain_id: &chain_id,
                reputer: reputer.is_some(),
                submit_tx,
            };
            match sdk::read(r, &inputs) {
                Some((worker, key)) => (Some(worker), key),
                None => (None, None),
            }
        }
        _ => (None, None),
    };
    let wallet = offchain::WalletInputs {
        key_name: r.text("ALLORA_WALLET_ADDRESS_KEY_NAME").unwrap_or_default(),
        home_dir: r.text("ALLORA_WALLET_HOME_DIR").unwrap_or_default(),
        gas: gas?,
        gas_adjustment: gas_adjustment?,
        gas_prices: gas_prices?,
        gas_price_interval: gas_price_interval?,
        retry_delay: retry_delay?,
        block_duration: block_duration?,
        window_correction: window?,
        max_fees: max_fees?,
        account_sequence_retry_delay: sequence_delay?,
        node_rpcs,
        node_grpcs,
        chain_id: r.text("ALLORA_WALLET_CHAIN_ID").unwrap_or_default(),
        max_retries: max_retries?,
        submit_tx: submit_tx?,
    };
    let schema = schema?;
    for (key, message, hint) in offchain::check(schema, &wallet) {
        let source = r.setting(key).expect("has a default").source;
        r.issue(key, &source, message, hint);
    }
    let worker = offchain::WorkerInputs {
        topics: worker_topics?,
        entrypoint: r
            .text("ALLORA_WORKER_INFERENCE_ENTRYPOINT_NAME")
            .unwrap_or_default(),
        endpoint,
        token,
        loop_seconds: worker_loop?,
    };
    let reputer = match reputer_topics? {
        Some(topics) => Some(offchain::ReputerInputs {
            topics,
            entrypoint: r.text("ALLORA_REPUTER_ENTRYPOINT_NAME").unwrap_or_default(),
            truth_endpoint: r
                .text("ALLORA_REPUTER_SOURCE_OF_TRUTH_ENDPOINT")
                .unwrap_or_default(),
            token: r.text("ALLORA_REPUTER_TOKEN").unwrap_or_default(),
            loss_service: r
                .text("ALLORA_REPUTER_LOSS_FUNCTION_SERVICE")
                .unwrap_or_default(),
            loss_method: r
                .text("ALLORA_REPUTER_LOSS_METHOD_OPTIONS_LOSS_METHOD")
                .unwrap_or_default(),
            loop_seconds: reputer_loop?,
            min_stake: min_stake?,
        }),
        None => None,
    };
    let (host_alias, health_url) = endpoint_parts?;
    let runtime = runtime?;
    let chain_id = r.text("ALLORA_WALLET_CHAIN_ID").unwrap_or_default();
    let roles = match &sdk_worker {
        Some(sdk) => sdk::roles(sdk, api_key.is_some()),
        None => offchain::roles(&tag, &chain_id, &worker, reputer.as_ref(), submit_tx?),
    };
    if runtime == Runtime::Sdk && sdk_worker.is_none() {
        return None;
    }
    // Under the SDK runtime an unset MODEL_REPO means the example model, not the default
    // inference server (a compose project the SDK does not run).
    let model_repo = match runtime {
        Runtime::Sdk if !r.is_set("MODEL_REPO") => String::new(),
        _ => r.text("MODEL_REPO").unwrap_or_default(),
    };
    Some(NodeConfig {
        runtime,
        sdk: sdk_worker,
        api_key,
        image: format!("alloranetwork/allora-offchain-node:{tag}"),
        offchain_config: offchain::config(schema, &wallet, Some(&worker), reputer.as_ref()),
        model_repo,
        model_repo_ref: r.text("MODEL_REPO_REF").unwrap_or_default(),
        model_env,
        model_env_secrets,
        health_url,
        host_alias,
        mnemonic,
        roles,
    })
}
