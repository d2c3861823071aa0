//! The allora-offchain-node `config.json`, generated as typed JSON for the schema of the pinned
//! image tag (never by text substitution: the upstream blueprint's `sed` chain produced invalid
//! JSON, `../shared/reference/node-software.md` section 4.2).
//!
//! Schemas, from `../shared/reference/node-software.md` section 1.4.3 (allora-offchain-node
//! `lib/domain_config.go` across versions; field names are matched case-insensitively by the
//! node and unknown fields are ignored, so only the fields of the schema are written):
//!
//! | schema | tags | differences |
//! |---|---|---|
//! | [`Schema::V06`] | v0.6.x | `nodeRpc` (string), `gasPrices` a number, adapter `api-worker-reputer`, per-entry `loopSeconds` |
//! | [`Schema::V07`] | v0.7.x, v0.8.x | `gasPrices` a string (`auto` or a number), `gasPriceUpdateInterval`, adapter `apiAdapter` |
//! | [`Schema::V09`] | v0.9.0 and later | `chainId` required, `nodeRpcs`/`nodeGrpcs` lists, `keyringBackend`, `minStake` a string |
//!
//! The wallet mnemonic is never part of the generated config: `addressRestoreMnemonic` is empty,
//! and the instance fills it in at boot from Secrets Manager.

use serde::Serialize;
use serde_json::Value;

use crate::blueprint::validate::Problem;

/// A config.json schema generation of allora-offchain-node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Schema {
    /// v0.6.x.
    V06,
    /// v0.7.x and v0.8.x.
    V07,
    /// v0.9.0 and later.
    V09,
}

/// The schema of an image tag such as `v0.8.0`. Errors: a tag that is not a version (e.g.
/// `latest`, whose schema cannot be known) or one older than v0.6.0.
pub(super) fn schema_for_tag(tag: &str) -> Result<Schema, Problem> {
    let not_pinned = || {
        (
            format!("`{tag}` is not a pinned version tag"),
            "set a version tag such as v0.12.0: the config.json nodectl writes depends on it"
                .into(),
        )
    };
    let version = tag.strip_prefix('v').ok_or_else(not_pinned)?;
    let version = version.split(['-', '+']).next().unwrap_or_default();
    let mut parts = version.split('.').map(|p| p.parse::<u32>());
    let (Some(Ok(major)), Some(Ok(minor))) = (parts.next(), parts.next()) else {
        return Err(not_pinned());
    };
    match (major, minor) {
        (0, 0..=5) => Err((
            format!(
                "allora-offchain-node {tag} is older than v0.6.0, which nodectl does not support"
            ),
            "use v0.6.0 or later, e.g. v0.12.0".into(),
        )),
        (0, 6) => Ok(Schema::V06),
        (0, 7..=8) => Ok(Schema::V07),
        _ => Ok(Schema::V09),
    }
}

/// The adapter name for `schema`: the one adapter was renamed from `api-worker-reputer` to
/// `apiAdapter` in v0.7; either spelling maps to the schema's. Other names pass unchanged.
pub(super) fn adapter_name(schema: Schema, name: &str) -> String {
    match (schema, name) {
        (Schema::V06, "apiAdapter") => "api-worker-reputer".into(),
        (Schema::V07 | Schema::V09, "api-worker-reputer") => "apiAdapter".into(),
        _ => name.into(),
    }
}

/// What the `ALLORA_WALLET_*` keys hold, typed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct WalletInputs {
    /// `ALLORA_WALLET_ADDRESS_KEY_NAME`.
    pub key_name: String,
    /// `ALLORA_WALLET_HOME_DIR` (empty: `/keyring`, the worker container's mounted keyring).
    pub home_dir: String,
    /// `ALLORA_WALLET_GAS`: `auto` or a whole number.
    pub gas: String,
    /// `ALLORA_WALLET_GAS_ADJUSTMENT`.
    pub gas_adjustment: f64,
    /// `ALLORA_WALLET_GAS_PRICES`: `auto` or a number.
    pub gas_prices: String,
    /// `ALLORA_WALLET_GAS_PRICE_INTERVAL`, seconds.
    pub gas_price_interval: i64,
    /// `ALLORA_WALLET_RETRY_DELAY`, seconds.
    pub retry_delay: i64,
    /// `ALLORA_WALLET_BLOCK_DURATION_ESTIMATED`, seconds.
    pub block_duration: i64,
    /// `ALLORA_WALLET_WINDOW_CORRECTION_FACTOR`.
    pub window_correction: f64,
    /// `ALLORA_WALLET_MAX_FEES`, uallo.
    pub max_fees: i64,
    /// `ALLORA_WALLET_ACCOUNT_SEQUENCE_RETRY_DELAY`, seconds.
    pub account_sequence_retry_delay: i64,
    /// `ALLORA_WALLET_NODE_RPC`, comma-separated.
    pub node_rpcs: Vec<String>,
    /// `ALLORA_WALLET_NODE_GRPC`, comma-separated (v0.9+).
    pub node_grpcs: Vec<String>,
    /// `ALLORA_WALLET_CHAIN_ID` (v0.9+).
    pub chain_id: String,
    /// `ALLORA_WALLET_MAX_RETRIES`.
    pub max_retries: i64,
    /// `ALLORA_WALLET_SUBMIT_TX`.
    pub submit_tx: bool,
}

/// What the `ALLORA_WORKER_*` keys hold: one worker entry per topic.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct WorkerInputs {
    /// `ALLORA_WORKER_TOPIC_ID`, comma-separated.
    pub topics: Vec<u64>,
    /// `ALLORA_WORKER_INFERENCE_ENTRYPOINT_NAME`.
    pub entrypoint: String,
    /// `ALLORA_WORKER_INFERENCE_ENDPOINT` (with `{Token}` etc.).
    pub endpoint: String,
    /// The token the inference server answers for.
    pub token: String,
    /// `ALLORA_WORKER_LOOP_SECONDS` (v0.6 only).
    pub loop_seconds: i64,
}

/// What the `ALLORA_REPUTER_*` keys hold: one reputer entry per topic.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ReputerInputs {
    /// `ALLORA_REPUTER_TOPIC_ID`, comma-separated.
    pub topics: Vec<u64>,
    /// `ALLORA_REPUTER_ENTRYPOINT_NAME`.
    pub entrypoint: String,
    /// `ALLORA_REPUTER_SOURCE_OF_TRUTH_ENDPOINT`.
    pub truth_endpoint: String,
    /// `ALLORA_REPUTER_TOKEN`.
    pub token: String,
    /// `ALLORA_REPUTER_LOSS_FUNCTION_SERVICE`.
    pub loss_service: String,
    /// `ALLORA_REPUTER_LOSS_METHOD_OPTIONS_LOSS_METHOD`.
    pub loss_method: String,
    /// `ALLORA_REPUTER_LOOP_SECONDS` (v0.6 only).
    pub loop_seconds: i64,
    /// `ALLORA_REPUTER_MIN_STAKE`, uallo.
    pub min_stake: i64,
}

#[derive(Serialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(f64),
    Text(String),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Wallet {
    address_key_name: String,
    address_restore_mnemonic: String,
    allora_home_dir: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    chain_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keyring_backend: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gas: Option<String>,
    gas_adjustment: f64,
    gas_prices: NumberOrText,
    #[serde(skip_serializing_if = "Option::is_none")]
    gas_price_update_interval: Option<i64>,
    max_fees: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    node_rpc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    node_rpcs: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    node_grpcs: Option<Vec<String>>,
    max_retries: i64,
    retry_delay: i64,
    account_sequence_retry_delay: i64,
    submit_tx: bool,
    block_duration_estimated: i64,
    window_correction_factor: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Worker {
    topic_id: u64,
    inference_entrypoint_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    loop_seconds: Option<i64>,
    parameters: WorkerParameters,
}

#[derive(Serialize)]
struct WorkerParameters {
    #[serde(rename = "InferenceEndpoint")]
    inference_endpoint: String,
    #[serde(rename = "Token")]
    token: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Reputer {
    topic_id: u64,
    ground_truth_entrypoint_name: String,
    loss_function_entrypoint_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    loop_seconds: Option<i64>,
    min_stake: NumberOrText,
    ground_truth_parameters: GroundTruthParameters,
    loss_function_parameters: LossFunctionParameters,
}

#[derive(Serialize)]
struct GroundTruthParameters {
    #[serde(rename = "GroundTruthEndpoint")]
    ground_truth_endpoint: String,
    #[serde(rename = "Token")]
    token: String,
}

#[derive(Serialize)]
struct LossFunctionParameters {
    #[serde(rename = "LossFunctionService")]
    loss_function_service: String,
    #[serde(rename = "LossMethodOptions")]
    loss_method_options: LossMethodOptions,
}

#[derive(Serialize)]
struct LossMethodOptions {
    loss_method: String,
}

#[derive(Serialize)]
struct Config {
    wallet: Wallet,
    worker: Vec<Worker>,
    reputer: Vec<Reputer>,
}

/// The config.json for `schema`, without the mnemonic. `gas_prices` must be a number for
/// [`Schema::V06`] (the caller validates with [`check`]).
pub(super) fn config(
    schema: Schema,
    wallet: &WalletInputs,
    worker: Option<&WorkerInputs>,
    reputer: Option<&ReputerInputs>,
) -> Value {
    let v06 = schema == Schema::V06;
    let v09 = schema == Schema::V09;
    let home = if wallet.home_dir.is_empty() {
        "/keyring".to_string()
    } else {
        wallet.home_dir.clone()
    };
    let gas_prices = match (v06, wallet.gas_prices.parse::<f64>()) {
        (true, Ok(number)) => NumberOrText::Number(number),
        _ => NumberOrText::Text(wallet.gas_prices.clone()),
    };
    let config = Config {
        wallet: Wallet {
            address_key_name: wallet.key_name.clone(),
            address_restore_mnemonic: String::new(),
            allora_home_dir: home,
            chain_id: v09.then(|| wallet.chain_id.clone()),
            keyring_backend: v09.then(|| "test".to_string()),
            gas: (!v09).then(|| wallet.gas.clone()),
            gas_adjustment: wallet.gas_adjustment,
            gas_prices,
            gas_price_update_interval: (!v06).then_some(wallet.gas_price_interval),
            max_fees: wallet.max_fees,
            node_rpc: (!v09).then(|| wallet.node_rpcs.first().cloned().unwrap_or_default()),
            node_rpcs: v09.then(|| wallet.node_rpcs.clone()),
            node_grpcs: v09.then(|| wallet.node_grpcs.clone()),
            max_retries: wallet.max_retries,
            retry_delay: wallet.retry_delay,
            account_sequence_retry_delay: wallet.account_sequence_retry_delay,
            submit_tx: wallet.submit_tx,
            block_duration_estimated: wallet.block_duration,
            window_correction_factor: wallet.window_correction,
        },
        worker: worker
            .map(|w| {
                w.topics
                    .iter()
                    .map(|&topic| Worker {
                        topic_id: topic,
                        inference_entrypoint_name: adapter_name(schema, &w.entrypoint),
                        loop_seconds: v06.then_some(w.loop_seconds),
                        parameters: WorkerParameters {
                            inference_endpoint: w.endpoint.clone(),
                            token: w.token.clone(),
                        },
                    })
                    .collect()
            })
            .unwrap_or_default(),
        reputer: reputer
            .map(|r| {
                r.topics
                    .iter()
                    .map(|&topic| Reputer {
                        topic_id: topic,
                        ground_truth_entrypoint_name: adapter_name(schema, &r.entrypoint),
                        loss_function_entrypoint_name: adapter_name(schema, &r.entrypoint),
                        loop_seconds: v06.then_some(r.loop_seconds),
                        min_stake: if v09 {
                            NumberOrText::Text(r.min_stake.to_string())
                        } else {
                            NumberOrText::Number(r.min_stake as f64)
                        },
                        ground_truth_parameters: GroundTruthParameters {
                            ground_truth_endpoint: r.truth_endpoint.clone(),
                            token: r.token.clone(),
                        },
                        loss_function_parameters: LossFunctionParameters {
                            loss_function_service: r.loss_service.clone(),
                            loss_method_options: LossMethodOptions {
                                loss_method: r.loss_method.clone(),
                            },
                        },
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    serde_json::to_value(config).expect("the config serializes")
}

/// The node's own start-up checks for `schema` (v0.7+ `lib/domain_config.go` validation,
/// fatal at start), as `(key, message, hint)`, so that they fail before deploying instead.
pub(super) fn check(schema: Schema, wallet: &WalletInputs) -> Vec<(&'static str, String, String)> {
    let mut problems = Vec::new();
    let auto = wallet.gas_prices == "auto";
    if schema == Schema::V06 && auto {
        problems.push((
            "ALLORA_WALLET_GAS_PRICES",
            "`auto` needs allora-offchain-node v0.7.0 or later; v0.6 takes a number".into(),
            "set a price such as ALLORA_WALLET_GAS_PRICES=\"10\", or ALLORA_OFFCHAIN_NODE_TAG=\"v0.12.0\""
                .into(),
        ));
    }
    if schema >= Schema::V07 {
        let minimum = |key, value: f64, min: f64, unit: &str| {
            (value < min).then(|| {
                (
                    key,
                    format!("{value}{unit} is below the node's minimum of {min}{unit}"),
                    format!("allora-offchain-node refuses to start with less: set {key} to at least {min}"),
                )
            })
        };
        problems.extend(
            [
                minimum(
                    "ALLORA_WALLET_WINDOW_CORRECTION_FACTOR",
                    wallet.window_correction,
                    0.5,
                    "",
                ),
                minimum(
                    "ALLORA_WALLET_BLOCK_DURATION_ESTIMATED",
                    wallet.block_duration as f64,
                    1.0,
                    " s",
                ),
                minimum(
                    "ALLORA_WALLET_RETRY_DELAY",
                    wallet.retry_delay as f64,
                    1.0,
                    " s",
                ),
                minimum(
                    "ALLORA_WALLET_ACCOUNT_SEQUENCE_RETRY_DELAY",
                    wallet.account_sequence_retry_delay as f64,
                    1.0,
                    " s",
                ),
                if auto {
                    minimum(
                        "ALLORA_WALLET_GAS_PRICE_INTERVAL",
                        wallet.gas_price_interval as f64,
                        5.0,
                        " s",
                    )
                } else {
                    None
                },
            ]
            .into_iter()
            .flatten(),
        );
    }
    problems
}

#[cfg(test)]
mod tests;

/// What an offchain node runs, in words: tag, chain, the worker's topics, a dry run, the
/// reputer's topics and stake, and that the wallet pays gas.
pub(super) fn roles(
    tag: &str,
    chain_id: &str,
    worker: &WorkerInputs,
    reputer: Option<&ReputerInputs>,
    submit_tx: bool,
) -> String {
    let mut text = format!(
        "allora-offchain-node {tag} on {chain_id}: a worker on {}",
        super::sdk::topics(&worker.topics)
    );
    if !submit_tx {
        text.push_str(" (a dry run: it submits nothing)");
    }
    if let Some(reputer) = reputer {
        text.push_str(&format!(
            ", and a reputer on {} that stakes {} from the wallet",
            super::sdk::topics(&reputer.topics),
            reputer.min_stake
        ));
    }
    text.push_str("; fund the wallet for gas");
    text
}
