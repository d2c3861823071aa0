//! The Theta Edge Node blueprint (`sample-configs/theta.env`, `templates/theta/`): the keys of
//! the upstream `lib/theta/sample-configs/.env-sample-full` (aws-blockchain-node-runners branch
//! `v1`, see `../shared/reference/node-runners.md` section 2) plus nodectl's own `NODECTL_*`
//! keys, and the two stacks it deploys.
//!
//! Stack naming rule: the common stack is `theta-edge-common` (the seed's `cdk deploy` name) and
//! the node stack `theta-edge-single-node-<network>` (upstream's CloudFormation name, with the
//! network suffix: `theta-edge-single-node-mainnet`). `NODECTL_NODE_NAME=<name>` makes it
//! `theta-edge-single-node-<network>-<name>` for further nodes, which share the common stack.
//! The node goes into the account's default VPC, looked up at deploy time.

mod probes;
mod secrets;

use std::sync::{Arc, LazyLock};

use super::keys::{self, key, secret, KeySpec};
use super::node::{self, NodeStacks};
use super::validate::{self, InstanceType};
use super::volume::{self, DataVolume};
use super::{Blueprint, Reader};
use crate::error::Result;
use crate::facts::Facts;
use crate::plan::{AccountSetting, Lookup, Plan};
use crate::secrets::SecretValue;
use crate::settings::Settings;
use crate::template::TemplateFiles;

/// The common stack's name.
pub(super) const COMMON_STACK: &str = "theta-edge-common";
/// The prefix of every node stack's name (followed by `-<network>`).
pub(super) const SINGLE_NODE_STACK: &str = "theta-edge-single-node";
/// The Theta networks the edge launcher image exists for (`thetalabsorg/edgelauncher_<network>`;
/// upstream `edgeConfig.interface.ts`: `EdgeNetwork = "mainnet"`).
pub(super) const NETWORKS: &[&str] = &["mainnet"];
/// The `Project` tag upstream put on every resource (`lib/theta/app.ts`).
pub(super) const PROJECT_TAG: &str = "AWS_THETA_EDGE";
/// The default instance type with `EDGE_NODE_GPU=enabled`: the seed's g4dn.xlarge (NVIDIA T4,
/// 4 vCPU, 16 GiB).
pub(super) const GPU_INSTANCE_TYPE: &str = "g4dn.xlarge";
/// The default instance type with `EDGE_NODE_GPU=disabled`: 4 vCPU and 16 GiB, the seed's
/// recommended configuration, without a GPU.
pub(super) const CPU_INSTANCE_TYPE: &str = "m6i.xlarge";
/// The password the upstream README uses as its example (`EDGE_NODE_PASSWORD=letscompute`).
pub(super) const EXAMPLE_PASSWORD: &str = "letscompute";
/// The shortest `EDGE_NODE_PASSWORD` accepted, in characters.
pub(super) const MIN_PASSWORD_LENGTH: usize = 12;

/// The keys of the Theta blueprint besides the shared key sets, with their defaults.
/// `sample-configs/theta.env` documents each of them (a test checks that).
pub(super) const OWN_KEYS: &[KeySpec] = &[
    key(
        "EDGE_LAUNCHER_VERSION",
        Some("latest"),
        "tag of the thetalabsorg/edgelauncher_<network> image",
    ),
    key("EDGE_NODE_NETWORK", Some("mainnet"), "mainnet"),
    key(
        "EDGE_CLUSTER",
        None,
        "what upstream's code read instead of EDGE_NODE_NETWORK",
    ),
    key(
        "EDGE_NODE_INSTANCE_TYPE",
        None,
        "EC2 instance type; default g4dn.xlarge (GPU) or m6i.xlarge",
    ),
    key(
        "EDGE_NODE_CPU_TYPE",
        Some("x86_64"),
        "x86_64 (the edge node has no arm64 build)",
    ),
    key("EDGE_NODE_GPU", Some("enabled"), "enabled or disabled"),
];

/// The edge node's keystore password.
pub(super) const PASSWORD_KEYS: &[KeySpec] = &[secret(
    "EDGE_NODE_PASSWORD",
    "keystore password; from the environment or --secret-stdin; generated when unset",
)];

/// Every key the blueprint reads, in the order `sample-configs/theta.env` documents them.
pub(super) fn all_keys() -> Vec<&'static KeySpec> {
    keys::compose(&[
        keys::BLUEPRINT,
        keys::ACCOUNT_REGION,
        OWN_KEYS,
        keys::DATA_VOLUME,
        keys::NODE_NAMING,
        keys::STACK_TAGS,
        keys::ALERTS,
        PASSWORD_KEYS,
    ])
}

/// The validated Theta configuration.
#[derive(Debug, Clone)]
pub(super) struct ThetaConfig {
    /// `AWS_ACCOUNT_ID`.
    pub account: AccountSetting,
    /// `AWS_REGION` (or `--region`).
    pub region: String,
    /// `EDGE_NODE_NETWORK` (or upstream's `EDGE_CLUSTER`).
    pub network: String,
    /// `EDGE_LAUNCHER_VERSION`: the image tag.
    pub launcher_version: String,
    /// `EDGE_NODE_INSTANCE_TYPE`.
    pub instance_type: InstanceType,
    /// `EDGE_NODE_GPU=enabled`.
    pub gpu: bool,
    /// `EDGE_DATA_VOL_*`.
    pub data_volume: DataVolume,
    /// `NODECTL_NODE_NAME`.
    pub node_name: Option<String>,
    /// `NODECTL_ALERT_EMAIL`, or empty.
    pub alert_email: String,
    /// `EDGE_NODE_PASSWORD`, when configured.
    pub password: Option<SecretValue>,
}

impl ThetaConfig {
    /// `theta-edge-single-node-<network>`, plus `-<NODECTL_NODE_NAME>` when set.
    pub(super) fn single_node_stack(&self) -> String {
        let base = format!("{SINGLE_NODE_STACK}-{}", self.network);
        match &self.node_name {
            Some(name) => format!("{base}-{name}"),
            None => base,
        }
    }

    /// The launcher image, `thetalabsorg/edgelauncher_<network>:<version>` (upstream node.sh).
    pub(super) fn image(&self) -> String {
        format!(
            "thetalabsorg/edgelauncher_{}:{}",
            self.network, self.launcher_version
        )
    }
}

/// A docker image tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` (Docker reference, `docker image
/// tag`).
fn image_tag(value: &str) -> std::result::Result<String, validate::Problem> {
    let ok = (1..=128).contains(&value.len())
        && !value.starts_with(['.', '-'])
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(value.to_string())
    } else {
        Err((
            format!("`{value}` is not a docker image tag"),
            "use a tag of thetalabsorg/edgelauncher_mainnet such as `latest` or `v1.1.0` \
             (letters, digits, `_`, `.`, `-`; at most 128)"
                .into(),
        ))
    }
}

/// Reads the network from `EDGE_NODE_NETWORK`, or from `EDGE_CLUSTER` (what upstream's
/// `edgeConfig.ts` read) when only that is set; warns when both are set and differ.
fn read_network(r: &mut Reader) -> Option<String> {
    let legacy = r
        .settings()
        .get("EDGE_CLUSTER")
        .filter(|s| !s.value.is_empty());
    match legacy {
        Some(legacy) if r.is_set("EDGE_NODE_NETWORK") => {
            let documented = r.text("EDGE_NODE_NETWORK").unwrap_or_default();
            if documented != legacy.value {
                r.warn(format!(
                    "EDGE_NODE_NETWORK=\"{documented}\" and EDGE_CLUSTER=\"{}\" (from {}) differ; \
                     nodectl uses EDGE_NODE_NETWORK, the key of the upstream sample \
                     (EDGE_CLUSTER is what the upstream code read): remove EDGE_CLUSTER",
                    legacy.value, legacy.source
                ));
            }
            r.choice("EDGE_NODE_NETWORK", NETWORKS)
        }
        Some(_) => r.choice("EDGE_CLUSTER", NETWORKS),
        None => r.choice("EDGE_NODE_NETWORK", NETWORKS),
    }
}

/// Reads the password: unset means "keep the stored one, or generate one".
fn read_password(r: &mut Reader) -> Option<Option<SecretValue>> {
    // `setting` is `None` also when the value failed the shape check (a control character).
    let Some(setting) = r.setting("EDGE_NODE_PASSWORD") else {
        return Some(None);
    };
    if setting.value.is_empty() {
        return Some(None);
    }
    let hint = format!(
        "unset EDGE_NODE_PASSWORD to have nodectl generate a strong one and store it in Secrets \
         Manager, or use at least {MIN_PASSWORD_LENGTH} characters on one line"
    );
    if matches!(setting.source, crate::error::Source::EnvFile { .. }) {
        r.issue(
            "EDGE_NODE_PASSWORD",
            &setting.source,
            "is read from the environment or stdin, not from the .env file, which is easily \
             shared or committed (value hidden)"
                .into(),
            "remove the line; export EDGE_NODE_PASSWORD, or pipe it in with `--secret-stdin \
             EDGE_NODE_PASSWORD`, or leave it unset to have nodectl generate one"
                .into(),
        );
        return None;
    }
    let problem = if setting.value == EXAMPLE_PASSWORD {
        Some("is the upstream README's example password (value hidden)".to_string())
    } else if setting.value.chars().count() < MIN_PASSWORD_LENGTH {
        Some(format!(
            "is shorter than {MIN_PASSWORD_LENGTH} characters (value hidden)"
        ))
    } else {
        None
    };
    match problem {
        Some(message) => {
            r.issue("EDGE_NODE_PASSWORD", &setting.source, message, hint);
            None
        }
        None => Some(Some(SecretValue::new(setting.value))),
    }
}

/// Reads and validates every key; returns the configuration and warnings, or every problem
/// found as one [`crate::error::Error::Config`]. Makes no AWS request.
pub(super) fn read(settings: &Settings) -> Result<(ThetaConfig, Vec<String>)> {
    let mut r = Reader::new(settings, all_keys());
    r.warn_unknown_keys();

    let account = r.account();
    let region = r.region();
    let network = read_network(&mut r);
    let launcher_version = r.checked("EDGE_LAUNCHER_VERSION", image_tag);
    let gpu = r
        .choice("EDGE_NODE_GPU", &["enabled", "disabled"])
        .map(|value| value == "enabled");
    let instance_type = match r.setting("EDGE_NODE_INSTANCE_TYPE") {
        Some(s) if !s.value.is_empty() => {
            r.checked("EDGE_NODE_INSTANCE_TYPE", validate::instance_type)
        }
        _ => Some(
            validate::instance_type(if gpu == Some(false) {
                CPU_INSTANCE_TYPE
            } else {
                GPU_INSTANCE_TYPE
            })
            .expect("valid default"),
        ),
    };
    let cpu = r.checked("EDGE_NODE_CPU_TYPE", |value| {
        match value.to_ascii_lowercase().as_str() {
            "x86_64" => Ok(()),
            "arm64" | "arm_64" | "aarch64" => Err((
                format!("`{value}` is not supported: the Theta Edge Node runs on x86_64 only"),
                "set EDGE_NODE_CPU_TYPE=\"x86_64\" and use an x86_64 instance type such as \
                 g4dn.xlarge (the edge launcher image has no arm64 build; upstream \
                 .env-sample-full: \"Theta Edge Node does not support ARM_64\")"
                    .into(),
            )),
            _ => Err((
                format!("`{value}` is not one of `x86_64`"),
                "set EDGE_NODE_CPU_TYPE to `x86_64`".into(),
            )),
        }
    });
    let node_name = r.node_name();
    let data_volume = volume::read(&mut r);
    let alert_email = super::alerts::read(&mut r);
    let password = read_password(&mut r);

    let instance_source = r
        .setting("EDGE_NODE_INSTANCE_TYPE")
        .map(|s| s.source)
        .unwrap_or(crate::error::Source::Default);
    if let (Some(itype), Some(())) = (&instance_type, &cpu) {
        if itype.is_graviton() {
            r.issue(
                "EDGE_NODE_INSTANCE_TYPE",
                &instance_source,
                format!(
                    "{itype} is an AWS Graviton (arm64) instance type; the Theta Edge Node runs \
                     on x86_64 only"
                ),
                "use an x86_64 type such as g4dn.xlarge (GPU) or m6i.xlarge".into(),
            );
        }
    }
    if let (Some(itype), Some(gpu)) = (&instance_type, gpu) {
        let gpu_source = r.setting("EDGE_NODE_GPU").expect("has a default").source;
        if gpu && !itype.has_nvidia_gpu() {
            let message = if itype.family == "g4ad" {
                format!(
                    "`enabled` needs an instance type with an NVIDIA GPU; {itype} has AMD GPUs, \
                     which the edge node's GPU jobs (CUDA) cannot use"
                )
            } else {
                format!("`enabled` needs an instance type with an NVIDIA GPU, and {itype} has none")
            };
            r.issue(
                "EDGE_NODE_GPU",
                &gpu_source,
                message,
                "use a GPU instance type such as g4dn.xlarge (NVIDIA T4) in \
                 EDGE_NODE_INSTANCE_TYPE, or set EDGE_NODE_GPU=\"disabled\" to run without GPU \
                 jobs"
                    .into(),
            );
        } else if !gpu && itype.has_nvidia_gpu() {
            r.warn(format!(
                "EDGE_NODE_GPU=disabled on {itype}: the instance's GPU is paid for but the edge \
                 node cannot use it (no NVIDIA driver is installed)"
            ));
        }
    }
    if let (Some(itype), Some(volume)) = (&instance_type, &data_volume) {
        volume::check_instance_type(&mut r, itype, volume);
    }

    let warnings = r.finish()?;
    let config = ThetaConfig {
        account,
        region: region.expect("checked"),
        network: network.expect("checked"),
        launcher_version: launcher_version.expect("checked"),
        instance_type: instance_type.expect("checked"),
        gpu: gpu.expect("checked"),
        data_volume: data_volume.expect("checked"),
        node_name,
        alert_email,
        password: password.expect("checked"),
    };
    Ok((config, warnings))
}

/// The Theta Edge Node blueprint.
pub(super) struct Theta;

static FACTS: LazyLock<Facts> = LazyLock::new(|| Facts::parse(include_str!("facts.json")));

static FILES: TemplateFiles = TemplateFiles {
    blueprint: "theta",
    files: &[
        (
            "common.json",
            include_str!("../../../templates/theta/common.json"),
        ),
        (
            "single-node.json",
            include_str!("../../../templates/theta/single-node.json"),
        ),
        (
            "user-data.sh",
            include_str!("../../../templates/theta/user-data.sh"),
        ),
        (
            "dashboard.json",
            include_str!("../../../templates/theta/dashboard.json"),
        ),
    ],
};

impl Blueprint for Theta {
    fn per_node_keys(&self) -> &'static [&'static str] {
        &["EDGE_NODE_PASSWORD"]
    }

    fn node(&self, _: &[(String, String)]) -> Option<&'static crate::node::NodeProfile> {
        Some(&probes::NODE)
    }

    fn name(&self) -> &'static str {
        "theta"
    }

    fn sample(&self) -> &'static str {
        include_str!("../../../sample-configs/theta.env")
    }

    fn keys(&self) -> Vec<&'static KeySpec> {
        all_keys()
    }

    fn detects(&self, key: &str) -> bool {
        key.starts_with("EDGE_NODE_") || key == "EDGE_LAUNCHER_VERSION" || key == "EDGE_CLUSTER"
    }

    fn detected_by(&self) -> &'static str {
        "EDGE_NODE_*"
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
}

/// Builds the plan: both stacks rendered with their parameters. The node stack's network
/// parameters (`VpcId`, `VpcCidr`, `SubnetId`, `AvailabilityZone`) are a [`Lookup`] resolved at
/// deploy time; rendered templates leave them without a default.
fn plan(blueprint: &Theta, settings: &Settings) -> Result<Plan> {
    let (config, warnings) = read(settings)?;
    let volume = config.data_volume;
    let node_parameters: Vec<(String, String)> = [
        ("CommonStackName", COMMON_STACK.to_string()),
        ("InstanceType", config.instance_type.to_string()),
        ("DataVolumeType", volume.kind.as_str().to_string()),
        ("DataVolumeSize", volume.size_gib.to_string()),
        ("DataVolumeIops", volume.iops.to_string()),
        ("DataVolumeThroughput", volume.throughput_mibps.to_string()),
        (
            "DataDeviceName",
            volume::device_name(&config.instance_type, volume.kind).to_string(),
        ),
        ("EdgeNetwork", config.network.clone()),
        ("EdgeLauncherImage", config.image()),
        (
            "EdgeNodeGpu",
            if config.gpu { "enabled" } else { "disabled" }.to_string(),
        ),
        ("AlertEmail", config.alert_email.clone()),
        (
            "AutoRecovery",
            super::volume::auto_recovery(&config.instance_type, &volume).to_string(),
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect();
    let stacks = node::stacks(
        blueprint,
        NodeStacks {
            region: config.region.clone(),
            common_stack: COMMON_STACK,
            node_stack: config.single_node_stack(),
            node_parameters,
            lists: Vec::new(),
            tags: vec![("Project".to_string(), PROJECT_TAG.to_string())],
            lookups: vec![
                Lookup::DefaultVpc {
                    instance_type: config.instance_type.to_string(),
                },
                Lookup::Ami {
                    parameter:
                        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
                            .to_string(),
                },
            ],
            user_data_hint: "a defect of the built-in template: report it (or shorten the script \
                             with NODECTL_TEMPLATES_DIR)",
            secret: Arc::new(secrets::Password(config.password.clone())),
        },
    )?;
    Ok(Plan {
        notes: Vec::new(),
        blueprint: blueprint.name(),
        facts: blueprint.facts(),
        region: config.region,
        account: config.account,
        stacks,
        warnings,
        secrets: super::secrets(settings),
    })
}
