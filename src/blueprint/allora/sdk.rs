//! The Allora Python SDK worker runtime (`ALLORA_WORKER_RUNTIME=sdk`): which `allora_sdk`
//! release runs on which network, and the worker's settings as the JSON document
//! `templates/allora/sdk-worker.py` reads on the instance.
//!
//! Facts, read from the PyPI wheels themselves (`pip download allora_sdk==<v> --no-deps`; see
//! `../shared/reference/upstream-2026.md` section 1):
//! - 1.3.0 (2026-08-03, the latest stable) signs `/emissions.v10.*` messages
//!   (`allora_sdk/rpc_client/client_emissions.py`) and builds an inferer with the factory
//!   `AlloraWorker.inferer(run, wallet, network, api_key, topic_id, fee_tier,
//!   polling_interval, lock=...)` (`allora_sdk/worker/worker.py`), whose `lock` lets several
//!   workers share one wallet.
//! - 1.0.6 (2025-10-08) signs `/emissions.v9.*` messages and builds a worker with the
//!   constructor `AlloraWorker(run, wallet, network, api_key, topic_id, fee_tier,
//!   polling_interval)`, one per wallet (no shared lock).
//! - Allora's networks page lists testnet (`allora-testnet-1`) on allora-chain v0.17
//!   (emissions v10) and mainnet (`allora-mainnet-1`) on v0.16 (emissions v9)
//!   (docs.allora.network/api/networks.json, updated 2026-07-31): a release signs for one of
//!   them only, so nodectl pins the release per network and refuses a release that signs for
//!   the other one.

use serde::Serialize;
use serde_json::Value;

use crate::blueprint::validate::Problem;
use crate::blueprint::Reader;
use crate::secrets::SecretValue;

/// The keys that configure allora-offchain-node's worker, its reputer or the inference server
/// it calls: when the file sets one and not `ALLORA_WORKER_RUNTIME`, the node keeps running the
/// offchain node, as the upstream sample files mean (PR #88 and #158 set the inference endpoint
/// and a reputer topic; PR #170 only MODEL_REPO, basic-coin-prediction-node, an inference
/// server).
const OFFCHAIN_KEYS: &[&str] = &[
    "ALLORA_OFFCHAIN_NODE_TAG",
    "ALLORA_WORKER_INFERENCE_ENDPOINT",
    "ALLORA_WORKER_INFERENCE_ENTRYPOINT_NAME",
    "ALLORA_REPUTER_TOPIC_ID",
    "MODEL_REPO",
];

/// The default `allora-offchain-node` tag before nodectl moved to v0.12.0, named in the
/// warning that says what changed for files written for it.
const PREVIOUS_OFFCHAIN_TAG: &str = "v0.8.0";

/// Reads `ALLORA_WORKER_RUNTIME`: the value when set; unset, `offchain-node` when the file
/// configures the offchain node (with a warning that says so and what Allora recommends now),
/// else `sdk`.
pub(super) fn read_runtime(r: &mut Reader) -> Option<Runtime> {
    if r.is_set("ALLORA_WORKER_RUNTIME") {
        return match r
            .choice("ALLORA_WORKER_RUNTIME", &["sdk", "offchain-node"])?
            .as_str()
        {
            "sdk" => Some(Runtime::Sdk),
            _ => Some(Runtime::OffchainNode),
        };
    }
    let configured: Vec<&str> = OFFCHAIN_KEYS
        .iter()
        .copied()
        .filter(|key| r.is_set(key))
        .collect();
    if configured.is_empty() {
        return Some(Runtime::Sdk);
    }
    let tag = if r.is_set("ALLORA_OFFCHAIN_NODE_TAG") {
        String::new()
    } else {
        format!(
            " (ALLORA_OFFCHAIN_NODE_TAG is unset: {}, nodectl's default tag, which was \
             {PREVIOUS_OFFCHAIN_TAG}; its config.json schema is the v0.9+ one)",
            r.text("ALLORA_OFFCHAIN_NODE_TAG").unwrap_or_default()
        )
    };
    r.warn(format!(
        "this file configures allora-offchain-node ({}), so the worker runs on it{tag}; Allora \
         now recommends its Python SDK for workers: set ALLORA_WORKER_RUNTIME=\"sdk\" to use it, \
         or ALLORA_WORKER_RUNTIME=\"offchain-node\" to keep this and silence this warning",
        configured.join(", ")
    ));
    Some(Runtime::OffchainNode)
}

/// What the offchain-node keys mean to the SDK runtime, already read by the caller.
pub(super) struct Inputs<'a> {
    /// `ALLORA_WORKER_TOPIC_ID`.
    pub topics: &'a [u64],
    /// `ALLORA_WALLET_CHAIN_ID`.
    pub chain_id: &'a str,
    /// Whether `ALLORA_REPUTER_TOPIC_ID` is set.
    pub reputer: bool,
    /// `ALLORA_WALLET_SUBMIT_TX`.
    pub submit_tx: bool,
}

/// Reads the SDK runtime's keys into the worker's settings and its API key; records every
/// problem on `r` (a chain without a preset, a release that does not match it, several topics
/// on a release without a shared lock, a reputer, a dry run) and returns `None` then.
pub(super) fn read(r: &mut Reader, inputs: &Inputs) -> Option<(SdkWorker, Option<SecretValue>)> {
    let fee_tier = r.choice("ALLORA_SDK_FEE_TIER", &["eco", "standard", "priority"]);
    let polling = r.integer("ALLORA_SDK_POLLING_INTERVAL", 5..=86_400, " seconds");
    let model = r.checked("ALLORA_SDK_MODEL", model_entrypoint);
    let api_key = r
        .setting("ALLORA_API_KEY")
        .filter(|s| !s.value.is_empty())
        .map(|s| SecretValue::new(s.value));
    let mut ok = true;
    let mut problem = |r: &mut Reader, key: &str, (message, hint): Problem| {
        let source = r.setting(key).expect("has a default or is set").source;
        r.issue(key, &source, message, hint);
        ok = false;
    };
    if inputs.reputer {
        problem(
            r,
            "ALLORA_REPUTER_TOPIC_ID",
            (
                "a reputer runs on allora-offchain-node, and ALLORA_WORKER_RUNTIME=\"sdk\" runs \
                 the worker on the Python SDK"
                    .into(),
                "set ALLORA_WORKER_RUNTIME=\"offchain-node\" to run both on the offchain node, \
                 or deploy the reputer as its own node (its own .env with NODECTL_NODE_NAME and \
                 ALLORA_WORKER_RUNTIME=\"offchain-node\")"
                    .into(),
            ),
        );
    }
    if !inputs.submit_tx {
        problem(
            r,
            "ALLORA_WALLET_SUBMIT_TX",
            (
                "the SDK worker has no dry run: it always submits to the chain".into(),
                "set ALLORA_WALLET_SUBMIT_TX=\"true\", or ALLORA_WORKER_RUNTIME=\"offchain-node\" \
                 for a dry run"
                    .into(),
            ),
        );
    }
    let network = Network::of_chain(inputs.chain_id);
    if network.is_none() {
        problem(
            r,
            "ALLORA_WALLET_CHAIN_ID",
            (
                format!(
                    "`{}` is not a network the SDK worker has a preset for",
                    inputs.chain_id
                ),
                "use allora-testnet-1 or allora-mainnet-1, or ALLORA_WORKER_RUNTIME=\
                 \"offchain-node\" for another chain"
                    .into(),
            ),
        );
    }
    let release = match (network, r.text("ALLORA_SDK_VERSION")) {
        (None, _) => None,
        (Some(network), Some(version)) if !version.is_empty() => {
            match release(version.trim(), network) {
                Ok(found) => Some(found),
                Err(found) => {
                    problem(r, "ALLORA_SDK_VERSION", found);
                    None
                }
            }
        }
        (Some(network), _) => Some(default_release(network)),
    };
    if let Some(release) = release {
        if release.api == Api::Constructor && inputs.topics.len() > 1 {
            problem(
                r,
                "ALLORA_WORKER_TOPIC_ID",
                (
                    format!(
                        "allora_sdk {} runs one topic per wallet, and {} topics are set",
                        release.version,
                        inputs.topics.len()
                    ),
                    "set one topic, or deploy a node per topic (NODECTL_NODE_NAME)".into(),
                ),
            );
        }
    }
    if inputs.topics.is_empty() {
        problem(
            r,
            "ALLORA_WORKER_TOPIC_ID",
            (
                "the SDK worker needs a topic".into(),
                "set ALLORA_WORKER_TOPIC_ID, e.g. \"69\" (the testnet sandbox topic)".into(),
            ),
        );
    }
    if network == Some(Network::Mainnet) && api_key.is_some() {
        r.warn(
            "ALLORA_API_KEY is set, and mainnet has no faucet: the SDK worker uses the key only \
             for the testnet faucet"
                .into(),
        );
    }
    let (network, release) = (network?, release?);
    if !ok {
        return None;
    }
    let worker = SdkWorker {
        sdk: release.version,
        api: release.api,
        network,
        chain_id: network.chain_id(),
        topics: inputs.topics.to_vec(),
        fee_tier: fee_tier?,
        polling_interval: polling? as u64,
        model: model?,
    };
    Some((worker, api_key))
}

/// The `ALLORA_WORKER_RUNTIME` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Runtime {
    /// The Python SDK worker (`allora_sdk`), a systemd service.
    Sdk,
    /// allora-offchain-node in docker compose, next to the model's inference server.
    OffchainNode,
}

impl Runtime {
    /// `sdk` or `offchain-node`: the key's value and the `WorkerRuntime` template parameter.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Runtime::Sdk => "sdk",
            Runtime::OffchainNode => "offchain-node",
        }
    }
}

/// An Allora network the SDK has a preset for (`AlloraNetworkConfig.testnet()`, `.mainnet()`
/// in `allora_sdk/rpc_client/config.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Network {
    /// `allora-testnet-1`, allora-chain v0.17, emissions v10.
    Testnet,
    /// `allora-mainnet-1`, allora-chain v0.16, emissions v9.
    Mainnet,
}

impl Network {
    /// The network of a chain id (`ALLORA_WALLET_CHAIN_ID`), if it is one of the presets.
    pub(super) fn of_chain(chain_id: &str) -> Option<Network> {
        match chain_id {
            "allora-testnet-1" => Some(Network::Testnet),
            "allora-mainnet-1" => Some(Network::Mainnet),
            _ => None,
        }
    }

    /// `testnet` or `mainnet`.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Network::Testnet => "testnet",
            Network::Mainnet => "mainnet",
        }
    }

    /// The chain's emissions module version, which the SDK's messages must match.
    fn emissions(self) -> &'static str {
        match self {
            Network::Testnet => "v10",
            Network::Mainnet => "v9",
        }
    }

    /// The chain id.
    pub(super) fn chain_id(self) -> &'static str {
        match self {
            Network::Testnet => "allora-testnet-1",
            Network::Mainnet => "allora-mainnet-1",
        }
    }
}

/// How a release builds a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Api {
    /// 1.3.x: `AlloraWorker.inferer(...)`, several topics with one shared lock.
    Factory,
    /// 1.0.x: `AlloraWorker(...)`, one topic per wallet.
    Constructor,
}

/// An `allora_sdk` release nodectl knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Release {
    /// The PyPI version.
    pub version: &'static str,
    /// The emissions module version its messages carry.
    pub emissions: &'static str,
    /// How it builds a worker.
    pub api: Api,
    /// The network it is the default for.
    pub default_for: Network,
}

/// The releases nodectl runs, newest first (each read from its wheel, see the module docs).
pub(super) const RELEASES: &[Release] = &[
    Release {
        version: "1.3.0",
        emissions: "v10",
        api: Api::Factory,
        default_for: Network::Testnet,
    },
    Release {
        version: "1.0.6",
        emissions: "v9",
        api: Api::Constructor,
        default_for: Network::Mainnet,
    },
];

/// The release nodectl pins for `network` when `ALLORA_SDK_VERSION` is unset.
pub(super) fn default_release(network: Network) -> &'static Release {
    RELEASES
        .iter()
        .find(|release| release.default_for == network)
        .expect("a release per network")
}

/// The release `version` for `network`. Errors: a version nodectl does not know (its worker
/// API and chain messages are unchecked), or one whose messages the network's chain rejects.
pub(super) fn release(version: &str, network: Network) -> Result<&'static Release, Problem> {
    let known = || {
        RELEASES
            .iter()
            .map(|r| format!("{} ({})", r.version, r.default_for.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(release) = RELEASES.iter().find(|r| r.version == version) else {
        return Err((
            format!("allora_sdk {version} is not a release nodectl has checked"),
            format!(
                "use one of {}, or leave ALLORA_SDK_VERSION unset for the one that matches \
                 the network",
                known()
            ),
        ));
    };
    if release.emissions != network.emissions() {
        let right = default_release(network);
        return Err((
            format!(
                "allora_sdk {version} signs emissions {} messages, and {} ({}) runs emissions \
                 {}: its registration and submissions would be rejected",
                release.emissions,
                network.as_str(),
                network.chain_id(),
                network.emissions()
            ),
            format!(
                "use allora_sdk {} on {}, or leave ALLORA_SDK_VERSION unset",
                right.version,
                network.as_str()
            ),
        ));
    }
    Ok(release)
}

/// The SDK worker's settings: what the instance's `sdk-worker.py` reads from
/// `/etc/allora-sdk-worker/worker.json` (the `SdkWorker` template parameter, base64).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SdkWorker {
    /// The pinned `allora_sdk` version, installed with pip.
    pub sdk: &'static str,
    /// How that version builds a worker.
    pub api: Api,
    /// The network preset.
    pub network: Network,
    /// Its chain id, which the worker checks against the chain's before it reports ready.
    pub chain_id: &'static str,
    /// `ALLORA_WORKER_TOPIC_ID`: one inferer per topic.
    pub topics: Vec<u64>,
    /// `ALLORA_SDK_FEE_TIER`: `eco`, `standard` or `priority` (`FeeTier` in
    /// `allora_sdk/rpc_client/tx_manager.py`).
    pub fee_tier: String,
    /// `ALLORA_SDK_POLLING_INTERVAL`, seconds.
    pub polling_interval: u64,
    /// `ALLORA_SDK_MODEL`: `module:function` of the model code, imported from the model
    /// directory; called with the SDK's run context, it returns the prediction.
    pub model: String,
}

impl SdkWorker {
    /// The document, as JSON.
    pub(super) fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("serializes")
    }
}

/// `topic 69` or `topics 1, 7`.
pub(super) fn topics(topics: &[u64]) -> String {
    let list = topics
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if topics.len() == 1 {
        format!("topic {list}")
    } else {
        format!("topics {list}")
    }
}

/// What an SDK worker node runs, in words: the release, network, topics and how its wallet gets
/// gas (the testnet faucet with the API key, the human faucet, or ALLO on mainnet).
pub(super) fn roles(worker: &SdkWorker, api_key: bool) -> String {
    let funds = match (worker.network, api_key) {
        (Network::Testnet, true) => {
            "the worker asks the testnet faucet for gas with ALLORA_API_KEY"
        }
        (Network::Testnet, false) => {
            "fund its wallet for gas at https://faucet.testnet.allora.network/ (or set \
             ALLORA_API_KEY)"
        }
        (Network::Mainnet, _) => "fund its wallet with ALLO for gas",
    };
    format!(
        "an Allora SDK worker (allora_sdk {}) on {} ({}), {}; it registers itself on the topic; \
         {funds}",
        worker.sdk,
        worker.network.as_str(),
        worker.chain_id,
        topics(&worker.topics)
    )
}

/// Checks an `ALLORA_SDK_MODEL` value: `module:function`, Python identifiers (the module may be
/// dotted).
pub(super) fn model_entrypoint(value: &str) -> Result<String, Problem> {
    let identifier = |part: &str| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    match value.split_once(':') {
        Some((module, function))
            if module.split('.').all(identifier) && identifier(function) && value.len() <= 128 =>
        {
            Ok(value.to_string())
        }
        _ => Err((
            format!("`{value}` is not module:function"),
            "name the Python module of the model repository and its function, e.g. \
             model:predict (the function takes the SDK's run context and returns the \
             prediction)"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_network_gets_the_release_that_signs_its_messages() {
        assert_eq!(default_release(Network::Testnet).version, "1.3.0");
        assert_eq!(default_release(Network::Mainnet).version, "1.0.6");
        assert_eq!(
            release("1.3.0", Network::Testnet).unwrap().api,
            Api::Factory
        );
        assert_eq!(
            release("1.0.6", Network::Mainnet).unwrap().api,
            Api::Constructor
        );
        let (message, hint) = release("1.3.0", Network::Mainnet).unwrap_err();
        assert_eq!(
            message,
            "allora_sdk 1.3.0 signs emissions v10 messages, and mainnet (allora-mainnet-1) runs \
             emissions v9: its registration and submissions would be rejected"
        );
        assert_eq!(
            hint,
            "use allora_sdk 1.0.6 on mainnet, or leave ALLORA_SDK_VERSION unset"
        );
        let (message, hint) = release("1.4.0rc4", Network::Testnet).unwrap_err();
        assert_eq!(
            message,
            "allora_sdk 1.4.0rc4 is not a release nodectl has checked"
        );
        assert!(hint.starts_with("use one of 1.3.0 (testnet), 1.0.6 (mainnet)"));
        assert!(release("1.0.6", Network::Testnet).is_err());
    }

    #[test]
    fn model_entrypoints_are_module_colon_function() {
        assert_eq!(model_entrypoint("model:predict").unwrap(), "model:predict");
        assert!(model_entrypoint("models.eth:run_1").is_ok());
        for bad in [
            "model",
            "model:",
            ":predict",
            "my-model:predict",
            "a:b:c",
            "1x:f",
        ] {
            assert!(model_entrypoint(bad).is_err(), "{bad}");
        }
    }
}
