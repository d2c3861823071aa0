//! The Allora blueprint's keys: those of the upstream `sample-configs/.env-sample-full`
//! (aws-blueprint-node-runners PRs #88, #158 and #170, see `../shared/reference/node-runners.md`
//! section 1.5) plus nodectl's own `NODECTL_*` keys.

use crate::blueprint::keys::{self, key, secret, KeySpec, Shape};

/// The schemes of the node's HTTP endpoints (the chain's RPC, the inference and truth servers).
const HTTP: &[&str] = &["http", "https"];

/// The schemes a gRPC endpoint may carry (it is usually written `host:port`).
const GRPC: &[&str] = &["http", "https", "grpc", "grpcs"];

/// Every key the blueprint reads, in the order `sample-configs/allora.env` documents them.
pub(super) fn all() -> Vec<&'static KeySpec> {
    keys::compose(&[
        keys::BLUEPRINT,
        keys::ACCOUNT_REGION,
        OWN_KEYS,
        keys::NODE_NAMING,
        keys::STACK_TAGS,
        keys::DATA_VOLUME,
        keys::ALERTS,
        NODE_KEYS,
    ])
}

/// The instance and network keys of the Allora blueprint, with their defaults.
pub(super) const OWN_KEYS: &[KeySpec] = &[
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
    key(
        "NODECTL_INGRESS_PORTS",
        Some("9010"),
        "inbound TCP ports, comma-separated; empty for none (sdk runtime: none unless set)",
    ),
];

/// The keys of the node software: the model repository and the allora-offchain-node's wallet,
/// worker and reputer settings.
pub(super) const NODE_KEYS: &[KeySpec] = &[
    key(
        "ALLORA_WORKER_RUNTIME",
        None,
        "sdk or offchain-node; unset: offchain-node when the file configures it, else sdk",
    ),
    key(
        "ALLORA_SDK_VERSION",
        None,
        "allora_sdk version (sdk runtime); unset: 1.3.0 on testnet, 1.0.6 on mainnet",
    ),
    key(
        "ALLORA_SDK_MODEL",
        Some("model:predict"),
        "module:function of the model code in MODEL_REPO (sdk runtime)",
    ),
    key(
        "ALLORA_SDK_FEE_TIER",
        Some("standard"),
        "eco, standard or priority (sdk runtime)",
    ),
    key(
        "ALLORA_SDK_POLLING_INTERVAL",
        Some("120"),
        "seconds between submission-window polls (sdk runtime)",
    ),
    secret(
        "ALLORA_API_KEY",
        "Allora API key (UP-...) for the testnet faucet (sdk runtime)",
    ),
    key(
        "MODEL_REPO",
        Some("https://github.com/allora-network/basic-coin-prediction-node"),
        "git URL of the inference server (offchain-node) or of the model code (sdk; unset: \
         the example model)",
    ),
    key(
        "MODEL_REPO_REF",
        Some(""),
        "branch, tag or commit of MODEL_REPO",
    ),
    key(
        "ALLORA_OFFCHAIN_NODE_TAG",
        Some("v0.12.0"),
        "pinned allora-offchain-node image tag",
    ),
    secret(
        "MODEL_ENV_VARS",
        "KEY=\"value\" lines for the inference server",
    )
    .shape(Shape::Lines),
    key(
        "NODECTL_PUBLIC_MODEL_ENV",
        Some(super::secrets::PUBLIC_MODEL_ENV_DEFAULT),
        "MODEL_ENV_VARS names whose values are not secret, comma-separated",
    ),
    key(
        "ALLORA_WALLET_ADDRESS_KEY_NAME",
        Some("worker"),
        "wallet key name",
    ),
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
    )
    .shape(Shape::Urls(HTTP)),
    key(
        "ALLORA_WALLET_NODE_GRPC",
        Some("allora-grpc.testnet.allora.network:443"),
        "chain gRPC host:port (v0.9+)",
    )
    .shape(Shape::Endpoints(GRPC)),
    key(
        "ALLORA_WALLET_CHAIN_ID",
        Some("allora-testnet-1"),
        "chain id (v0.9+)",
    ),
    key("ALLORA_WALLET_MAX_RETRIES", Some("1"), "whole number"),
    key(
        "ALLORA_WALLET_DELAY",
        Some("1"),
        "seconds (deprecated upstream)",
    ),
    key("ALLORA_WALLET_SUBMIT_TX", Some("true"), "true or false"),
    key(
        "ALLORA_WORKER_TOPIC_ID",
        Some("1"),
        "topic ids, comma-separated",
    ),
    key(
        "ALLORA_WORKER_INFERENCE_ENTRYPOINT_NAME",
        Some("api-worker-reputer"),
        "adapter name",
    ),
    key(
        "ALLORA_WORKER_INFERENCE_ENDPOINT",
        Some("http://source:8000/inference/{Token}"),
        "inference URL",
    )
    .shape(Shape::Urls(HTTP)),
    key(
        "ALLORA_REPUTER_LOSS_FUNCTION_SERVICE",
        Some("http://localhost:5000"),
        "loss function URL",
    )
    .shape(Shape::Urls(HTTP)),
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
    key(
        "ALLORA_REPUTER_TOPIC_ID",
        None,
        "topic ids; a reputer only when set",
    ),
    key(
        "ALLORA_REPUTER_ENTRYPOINT_NAME",
        Some("api-worker-reputer"),
        "adapter name",
    ),
    key(
        "ALLORA_REPUTER_SOURCE_OF_TRUTH_ENDPOINT",
        Some("http://source:8888/truth/{Token}/{BlockHeight}"),
        "ground truth URL",
    )
    .shape(Shape::Urls(HTTP)),
    key(
        "ALLORA_REPUTER_LOOP_SECONDS",
        Some("30"),
        "seconds (deprecated upstream)",
    ),
    key("ALLORA_REPUTER_TOKEN", Some("ethereum"), "token"),
    key("ALLORA_REPUTER_MIN_STAKE", Some("100000"), "whole number"),
];
