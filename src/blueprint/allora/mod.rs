//! The Allora worker blueprint (`sample-configs/allora.env`, `templates/allora/`): an
//! allora-offchain-node worker (and optionally a reputer) next to an inference server built
//! from a model repository, on one EC2 instance in a VPC of its own.
//!
//! Stack naming rule: the common stack is `allora-edge-common` and the node stack
//! `allora-single-node`, the names the seed's `cdk deploy` commands use. To run several nodes
//! in one account and region, give each node's `.env` its own `NODECTL_NODE_NAME=<name>`: its
//! stack becomes `allora-single-node-<name>`, and all of them share the one common stack.
//! `AWS_RESOURCE_NAME_PREFIX` keeps its upstream meaning: the prefix of the resources' `Name`
//! tags.

mod config;
mod keys;
mod offchain;
mod probes;
mod sdk;
mod secrets;
mod values;
mod wallet;

use std::sync::{Arc, LazyLock};

use serde_json::Value;

use super::node::{self, NodeStacks};
use super::{Blueprint, KeySpec};
use crate::error::{ConfigIssue, Error, Result};
use crate::facts::Facts;
use crate::plan::{Lookup, Plan};
use crate::settings::Settings;
use crate::template::{TemplateFiles, PARAMETER_LIMIT};
use sdk::Runtime;

/// The common stack's name.
pub(super) const COMMON_STACK: &str = "allora-edge-common";
/// The node stack's name (and the prefix of every node stack's name).
pub(super) const SINGLE_NODE_STACK: &str = "allora-single-node";

/// The Allora worker blueprint.
pub(super) struct Allora;

static FACTS: LazyLock<Facts> = LazyLock::new(|| Facts::parse(include_str!("facts.json")));

static FILES: TemplateFiles = TemplateFiles {
    blueprint: "allora",
    files: &[
        (
            "common.json",
            include_str!("../../../templates/allora/common.json"),
        ),
        (
            "single-node.json",
            include_str!("../../../templates/allora/single-node.json"),
        ),
        (
            "user-data.sh",
            include_str!("../../../templates/allora/user-data.sh"),
        ),
        (
            "user-data-sdk.sh",
            include_str!("../../../templates/allora/user-data-sdk.sh"),
        ),
        (
            "node-secret.sh",
            include_str!("../../../templates/allora/node-secret.sh"),
        ),
        (
            "sdk-worker.py",
            include_str!("../../../templates/allora/sdk-worker.py"),
        ),
        (
            "sdk-model.py",
            include_str!("../../../templates/allora/sdk-model.py"),
        ),
        (
            "dashboard.json",
            include_str!("../../../templates/allora/dashboard.json"),
        ),
    ],
};

impl Blueprint for Allora {
    fn node(&self, parameters: &[(String, String)]) -> Option<&'static crate::node::NodeProfile> {
        let sdk = parameters
            .iter()
            .any(|(name, value)| name == "WorkerRuntime" && value == Runtime::Sdk.as_str());
        Some(if sdk {
            &probes::SDK_NODE
        } else {
            &probes::NODE
        })
    }

    fn name(&self) -> &'static str {
        "allora"
    }

    fn per_node_keys(&self) -> &'static [&'static str] {
        &[secrets::MNEMONIC_KEY]
    }

    fn sample(&self) -> &'static str {
        include_str!("../../../sample-configs/allora.env")
    }

    fn keys(&self) -> Vec<&'static KeySpec> {
        keys::all()
    }

    fn detects(&self, key: &str) -> bool {
        key.starts_with("ALLORA_") || key == "MODEL_REPO" || key == "MODEL_ENV_VARS"
    }

    fn detected_by(&self) -> &'static str {
        "ALLORA_*, MODEL_*"
    }

    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn files(&self) -> &'static TemplateFiles {
        &FILES
    }

    fn stack_ids(&self) -> &'static [&'static str] {
        node::STACK_IDS
    }

    fn plan(&self, settings: &Settings) -> Result<Plan> {
        plan(self, settings)
    }

    fn secrets(&self, settings: &Settings) -> Vec<String> {
        let mut found: Vec<String> = self
            .keys()
            .into_iter()
            .filter(|spec| spec.secret && spec.name != "MODEL_ENV_VARS")
            .filter_map(|spec| settings.get(spec.name))
            .map(|setting| setting.value)
            .collect();
        found.extend(secrets::model_env_secrets(settings));
        found
    }
}

/// Builds the plan: both stacks rendered with their parameters.
fn plan(blueprint: &Allora, settings: &Settings) -> Result<Plan> {
    let (config, warnings) = config::read(settings)?;
    let volume = config.data_volume;
    let node = &config.node;
    let base64 = |value: &Value| aws_smithy_types::base64::encode(value.to_string());
    // Each runtime's settings; the other's parameter stays `{}`.
    let empty = Value::Object(Default::default());
    let (offchain_config, sdk_worker, submit) = match &node.sdk {
        Some(sdk) => (base64(&empty), base64(&sdk.to_json()), true),
        None => (
            // gzip first: the user data carries it, within EC2's 16 KB.
            crate::template::gzip_base64(node.offchain_config.to_string().as_bytes()),
            base64(&empty),
            // The config.json the node runs with decides (`wallet.submitTx`).
            node.offchain_config["wallet"]["submitTx"]
                .as_bool()
                .unwrap_or(true),
        ),
    };
    let model_env = aws_smithy_types::base64::encode(
        node.model_env
            .iter()
            .map(|(name, value)| format!("{name}={}\n", Value::String(value.clone())))
            .collect::<String>(),
    );
    for (name, value) in [
        ("OffchainNodeConfig", &offchain_config),
        ("ModelEnv", &model_env),
    ] {
        if value.len() > PARAMETER_LIMIT {
            return Err(Error::Config(vec![ConfigIssue::general(format!(
                "the {name} template parameter would be {} bytes, more than CloudFormation's \
                 {PARAMETER_LIMIT}",
                value.len()
            ))
            .hint("configure fewer topics or shorter values")]));
        }
    }
    let node_parameters: Vec<(String, String)> = [
        ("CommonStackName", COMMON_STACK.to_string()),
        ("ResourceNamePrefix", config.resource_name_prefix.clone()),
        ("InstanceType", config.instance_type.to_string()),
        ("VpcCidr", config.vpc_cidr.to_string()),
        ("SubnetCidr", config.subnet_cidr.to_string()),
        ("IngressCidr", config.ingress_cidr.to_string()),
        ("DataVolumeType", volume.kind.as_str().to_string()),
        ("DataVolumeSize", volume.size_gib.to_string()),
        ("DataVolumeIops", volume.iops.to_string()),
        ("DataVolumeThroughput", volume.throughput_mibps.to_string()),
        ("WorkerRuntime", node.runtime.as_str().to_string()),
        ("SdkWorker", sdk_worker),
        ("OffchainNodeImage", node.image.clone()),
        ("OffchainNodeConfig", offchain_config.clone()),
        ("ModelRepo", node.model_repo.clone()),
        ("ModelRepoRef", node.model_repo_ref.clone()),
        ("ModelEnv", model_env),
        ("InferenceHealthUrl", node.health_url.clone()),
        ("InferenceHostAlias", node.host_alias.clone()),
        ("AlertEmail", config.alert_email.clone()),
        (
            "AutoRecovery",
            super::volume::auto_recovery(&config.instance_type, &volume).to_string(),
        ),
        ("SubmitTransactions", submit.to_string()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect();
    let ports = config
        .ingress_ports
        .iter()
        .map(|port| Value::from(*port))
        .collect();
    let stacks = node::stacks(
        blueprint,
        NodeStacks {
            region: config.region.clone(),
            common_stack: COMMON_STACK,
            node_stack: config.single_node_stack(),
            node_parameters,
            lists: vec![("IngressPorts", ports)],
            tags: Vec::new(),
            lookups: vec![Lookup::Ami {
                parameter: config.ami_parameter().to_string(),
            }],
            user_data_hint: "configure fewer topics or shorter MODEL_ENV_VARS values",
            secret: Arc::new(secrets::Wallet {
                mnemonic: config.node.mnemonic.clone(),
                model_env: config.node.model_env_secrets.clone(),
                api_key: config.node.api_key.clone(),
            }),
        },
    )?;
    let notes = vec![format!(
        "`{}` will run {}",
        config.single_node_stack(),
        node.roles
    )];
    Ok(Plan {
        blueprint: blueprint.name(),
        facts: blueprint.facts(),
        region: config.region,
        account: config.account,
        stacks,
        warnings,
        notes,
        secrets: super::secrets(settings),
    })
}
