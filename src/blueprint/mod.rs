//! Blueprints: which `.env` keys a kind of node takes, their defaults and validation, and the
//! stacks (names, templates, template parameters) that deploy it.

pub mod allora;
pub mod offchain;
pub mod theta;
pub mod validate;
pub mod volume;

use std::ops::RangeInclusive;

use crate::error::{ConfigIssue, Error, Result, Source};
use serde_json::Value;

use crate::settings::{Setting, Settings};
use crate::template;

/// The blueprints nodectl knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlueprintKind {
    /// Allora worker node (`sample-configs/allora.env`).
    Allora,
    /// Theta Edge Node (`sample-configs/theta.env`).
    Theta,
}

impl BlueprintKind {
    /// The name used in `NODECTL_BLUEPRINT` and in tags.
    pub fn name(self) -> &'static str {
        match self {
            BlueprintKind::Allora => "allora",
            BlueprintKind::Theta => "theta",
        }
    }

    /// The keys the blueprint reads.
    pub fn keys(self) -> &'static [KeySpec] {
        match self {
            BlueprintKind::Allora => allora::KEYS,
            BlueprintKind::Theta => theta::KEYS,
        }
    }

    /// The blueprint's template files, embedded in the binary from `templates/<name>/`.
    pub fn files(self) -> TemplateFiles {
        macro_rules! files {
            ($dir:literal) => {
                TemplateFiles {
                    common: include_str!(concat!("../../templates/", $dir, "/common.json")),
                    single_node: include_str!(concat!(
                        "../../templates/",
                        $dir,
                        "/single-node.json"
                    )),
                    user_data: include_str!(concat!("../../templates/", $dir, "/user-data.sh")),
                    dashboard: include_str!(concat!("../../templates/", $dir, "/dashboard.json")),
                }
            };
        }
        match self {
            BlueprintKind::Allora => files!("allora"),
            BlueprintKind::Theta => files!("theta"),
        }
    }

    /// Reads, validates and renders the plan for `settings` (offline).
    pub fn plan(self, settings: &Settings) -> Result<Plan> {
        match self {
            BlueprintKind::Allora => allora::plan(settings),
            BlueprintKind::Theta => theta::plan(settings),
        }
    }
}

/// Every blueprint.
pub const BLUEPRINTS: &[BlueprintKind] = &[BlueprintKind::Allora, BlueprintKind::Theta];

/// The role of a stack in a blueprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StackRole {
    /// What all nodes of an account and region share (IAM role, instance profile).
    Common,
    /// One node (network, security group, instance, volumes).
    SingleNode,
}

impl StackRole {
    /// `common` or `single-node`, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            StackRole::Common => "common",
            StackRole::SingleNode => "single-node",
        }
    }
}

/// Documentation and default of one `.env` key.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// The key, e.g. `AWS_INSTANCE_TYPE`.
    pub name: &'static str,
    /// The default when the key is set nowhere.
    pub default: Option<&'static str>,
    /// Whether the value is a secret (never printed, never put in a template).
    pub secret: bool,
    /// One line: meaning, unit and allowed values.
    pub help: &'static str,
}

/// A key that is not secret, with its default and help line (for the blueprints' `KEYS`).
pub const fn key(name: &'static str, default: Option<&'static str>, help: &'static str) -> KeySpec {
    KeySpec {
        name,
        default,
        secret: false,
        help,
    }
}

/// A secret key (no default; never printed, never put in a template).
pub const fn secret(name: &'static str, help: &'static str) -> KeySpec {
    KeySpec {
        name,
        default: None,
        secret: true,
        help,
    }
}

/// The `AWS_ACCOUNT_ID` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountSetting {
    /// Not set anywhere.
    Missing,
    /// Still the upstream sample's placeholder `xxxxxxxxxxx`.
    Placeholder(Source),
    /// Set, but not 12 digits (checked only by commands that talk to AWS).
    Invalid(String, Source),
    /// A 12-digit account id.
    Id(String, Source),
}

/// One stack to render and deploy.
#[derive(Debug, Clone)]
pub struct StackPlan {
    /// Its role in the blueprint.
    pub role: StackRole,
    /// The CloudFormation stack name.
    pub name: String,
    /// The rendered template body (JSON).
    pub template: String,
    /// Template parameters, in template order: the same values the template carries as
    /// defaults, sent explicitly on deploy so that change sets show parameter changes.
    pub parameters: Vec<(String, String)>,
    /// Stack tags (propagated by CloudFormation to the resources).
    pub tags: Vec<(String, String)>,
    /// Template parameters whose values come from the account at deploy time.
    pub lookups: Vec<Lookup>,
}

/// Template parameter values that a stack takes from the account at deploy time rather than
/// from the `.env` file; resolved by [`crate::stack::lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The region's default VPC: parameters `VpcId`, `VpcCidr` (its primary IPv4 block),
    /// `SubnetId` (a default subnet) and `AvailabilityZone` (that subnet's zone, the first by
    /// name that offers `instance_type`).
    DefaultVpc {
        /// The instance type the subnet's zone must offer.
        instance_type: String,
    },
}

impl Lookup {
    /// The template parameters this lookup provides.
    pub fn parameters(&self) -> &'static [&'static str] {
        match self {
            Lookup::DefaultVpc { .. } => &["VpcId", "VpcCidr", "SubnetId", "AvailabilityZone"],
        }
    }
}

/// Everything one `.env` file resolves to: the validated stacks and the account and region.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Which blueprint.
    pub blueprint: BlueprintKind,
    /// The region to deploy into.
    pub region: String,
    /// The configured account.
    pub account: AccountSetting,
    /// The stacks in deploy order (common first).
    pub stacks: Vec<StackPlan>,
    /// Non-fatal findings (unknown keys, ignored keys), to print as warnings.
    pub warnings: Vec<String>,
    /// Secret values found in the configuration, to register with the printer's redactor.
    pub secrets: Vec<String>,
    /// What the node stack's instance reads from Secrets Manager at boot, if anything.
    pub node_secrets: Option<crate::secrets::NodeSecrets>,
}

impl Plan {
    /// The stack with `role`.
    pub fn stack(&self, role: StackRole) -> &StackPlan {
        self.stacks
            .iter()
            .find(|stack| stack.role == role)
            .expect("every blueprint has a common and a single-node stack")
    }

    /// The account id for commands that talk to AWS: errors when `AWS_ACCOUNT_ID` is missing
    /// or still the placeholder (no AWS request is made before this check).
    pub fn require_account(&self) -> Result<(&str, &Source)> {
        match &self.account {
            AccountSetting::Id(id, source) => Ok((id, source)),
            AccountSetting::Placeholder(source) => Err(Error::Config(vec![ConfigIssue::key(
                "AWS_ACCOUNT_ID",
                source,
                "`xxxxxxxxxxx` is the upstream sample's placeholder, not an account id",
            )
            .hint(
                "set it to the 12-digit id of the account to deploy into: `aws sts \
                 get-caller-identity --query Account`",
            )])),
            AccountSetting::Invalid(value, source) => {
                let (message, hint) = validate::account_id(value)
                    .expect_err("an invalid account id fails validation");
                Err(Error::Config(vec![ConfigIssue::key(
                    "AWS_ACCOUNT_ID",
                    source,
                    message,
                )
                .hint(hint)]))
            }
            AccountSetting::Missing => Err(Error::Config(vec![ConfigIssue::general(
                "AWS_ACCOUNT_ID is not set: nodectl checks it against the credentials' account \
                 before it changes anything",
            )
            .hint(
                "add AWS_ACCOUNT_ID=\"<12-digit id>\" to the .env file (`aws sts \
                 get-caller-identity --query Account` prints it)",
            )])),
        }
    }
}

/// Decides which blueprint a configuration is for: `NODECTL_BLUEPRINT`, else the keys present
/// (`ALLORA_*`, `MODEL_*`: allora; `EDGE_NODE_*`, `EDGE_LAUNCHER_VERSION`, `EDGE_CLUSTER`:
/// theta; the shared `EDGE_DATA_VOL_*` keys decide nothing).
pub fn detect(settings: &Settings) -> Result<BlueprintKind> {
    let names = "allora or theta";
    if let Some(setting) = settings.get("NODECTL_BLUEPRINT") {
        return match setting.value.as_str() {
            "allora" => Ok(BlueprintKind::Allora),
            "theta" => Ok(BlueprintKind::Theta),
            "dynabench" => Err(Error::Config(vec![ConfigIssue::key(
                "NODECTL_BLUEPRINT",
                &setting.source,
                "the `dynabench` blueprint is not available yet",
            )
            .hint(format!("this version of nodectl deploys {names}"))])),
            other => Err(Error::Config(vec![ConfigIssue::key(
                "NODECTL_BLUEPRINT",
                &setting.source,
                format!("unknown blueprint `{other}`"),
            )
            .hint(format!("set NODECTL_BLUEPRINT to {names}"))])),
        };
    }
    let keys: Vec<&str> = settings.entries().iter().map(|e| e.key.as_str()).collect();
    let allora = keys
        .iter()
        .any(|k| k.starts_with("ALLORA_") || *k == "MODEL_REPO" || *k == "MODEL_ENV_VARS");
    let theta = keys.iter().any(|k| {
        k.starts_with("EDGE_NODE_") || *k == "EDGE_LAUNCHER_VERSION" || *k == "EDGE_CLUSTER"
    });
    match (allora, theta) {
        (true, false) => Ok(BlueprintKind::Allora),
        (false, true) => Ok(BlueprintKind::Theta),
        (true, true) => Err(Error::Config(vec![ConfigIssue::general(format!(
            "{} has keys of both the allora and the theta blueprint",
            settings.env_file().display()
        ))
        .hint("add NODECTL_BLUEPRINT=allora or NODECTL_BLUEPRINT=theta to say which one it is for")])),
        (false, false) => Err(Error::Config(vec![ConfigIssue::general(format!(
            "cannot tell which blueprint {} is for: it has no ALLORA_*, MODEL_* or EDGE_NODE_* keys",
            settings.env_file().display()
        ))
        .hint("add NODECTL_BLUEPRINT=allora or NODECTL_BLUEPRINT=theta, or start from a file in sample-configs/")])),
    }
}

/// Keys nodectl knows but does not read from the `.env` file, with the reason.
pub const IGNORED: &[(&str, &str)] = &[
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

/// The upstream samples' placeholder for `AWS_ACCOUNT_ID` (and Allora's mnemonic).
pub const PLACEHOLDER: &str = "xxxxxxxxxxx";

/// Values that are placeholders, not secrets: masking them would garble messages.
const NOT_SECRETS: &[&str] = &[PLACEHOLDER, "secret", ""];

/// Reads `AWS_ACCOUNT_ID` (validated only by commands that talk to AWS).
pub fn read_account(r: &Reader) -> AccountSetting {
    match r.setting("AWS_ACCOUNT_ID") {
        None => AccountSetting::Missing,
        Some(s) if s.value == PLACEHOLDER => AccountSetting::Placeholder(s.source),
        Some(s) => match validate::account_id(&s.value) {
            Ok(id) => AccountSetting::Id(id, s.source),
            Err(_) => AccountSetting::Invalid(s.value, s.source),
        },
    }
}

/// Ends a blueprint's reading: every issue as one error, or the warnings, plus a warning when
/// the template files come from `NODECTL_TEMPLATES_DIR`.
pub fn finish(r: Reader) -> Result<Vec<String>> {
    let mut warnings = r.finish()?;
    if let Some(dir) = std::env::var_os(crate::template::TEMPLATES_DIR_ENV) {
        warnings.push(format!(
            "using the template files in {} ({}), not the built-in ones",
            std::path::Path::new(&dir).display(),
            crate::template::TEMPLATES_DIR_ENV
        ));
    }
    Ok(warnings)
}

/// The secret values of the configuration, for redaction: every blueprint's secret keys (the
/// mnemonic, the edge node password), the `MODEL_ENV_VARS` values of secret-like names such as
/// `CG_API_KEY`, and credentials put in the file by mistake.
pub fn secrets(settings: &Settings) -> Vec<String> {
    let mut secrets = Vec::new();
    let mut add = |value: &str| {
        let value = value.trim().trim_matches('"').trim_matches('\'');
        if !NOT_SECRETS.contains(&value) {
            secrets.push(value.to_string());
        }
    };
    let keys = BLUEPRINTS
        .iter()
        .flat_map(|blueprint| blueprint.keys())
        .filter(|spec| spec.secret && spec.name != "MODEL_ENV_VARS")
        .map(|spec| spec.name)
        .chain(["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]);
    for key in keys {
        if let Some(setting) = settings.get(key) {
            add(&setting.value);
        }
    }
    if let Some(setting) = settings.get("MODEL_ENV_VARS") {
        for line in setting.value.lines() {
            if let Some((name, value)) = line.split_once('=') {
                if allora::is_secret_name(name) {
                    add(value);
                }
            }
        }
    }
    secrets
}

/// EC2's limit on user data: 16 KB in raw form, before base64 encoding (Amazon EC2 User Guide,
/// "Run commands when you launch an EC2 instance with user data input").
pub const USER_DATA_LIMIT: usize = 16 * 1024;

/// The size of the user data EC2 receives: the script after CloudFormation's `Fn::Sub` has put
/// in the parameters, the stack name, the region and a data volume id.
pub fn user_data_size(script: &str, parameters: &[(String, String)], stack: &str) -> usize {
    let mut rendered = script
        .replace("${AWS::StackName}", stack)
        .replace("${AWS::Region}", "ap-southeast-4")
        .replace("${DataVolumeId}", "vol-0123456789abcdef0");
    for (name, value) in parameters {
        rendered = rendered.replace(&format!("${{{name}}}"), value);
    }
    rendered.len()
}

/// A blueprint's template files (`templates/<blueprint>/`), embedded in the binary.
#[derive(Debug, Clone, Copy)]
pub struct TemplateFiles {
    /// `common.json`.
    pub common: &'static str,
    /// `single-node.json`.
    pub single_node: &'static str,
    /// `user-data.sh`, inserted at [`USER_DATA_POINTER`] (its includes expanded).
    pub user_data: &'static str,
    /// `dashboard.json`, inserted at [`DASHBOARD_POINTER`].
    pub dashboard: &'static str,
}

/// Where rendering inserts the user data script in every `single-node.json`.
pub const USER_DATA_POINTER: &str = "/Resources/Instance/Properties/UserData/Fn::Base64/Fn::Sub/0";
/// Where rendering inserts the dashboard body in every `single-node.json`.
pub const DASHBOARD_POINTER: &str = "/Resources/Dashboard/Properties/DashboardBody/Fn::Sub";

/// What a blueprint's two stacks are made of; [`render_stacks`] checks and renders them.
pub struct StackInputs {
    /// The blueprint (its name tags the stacks; its template files are rendered).
    pub blueprint: BlueprintKind,
    /// The common stack's name.
    pub common_stack: &'static str,
    /// The prefix of the node stacks' names (the common stack's `NodeStackNamePrefix`: its
    /// role may signal those stacks only).
    pub node_stack_prefix: &'static str,
    /// This node stack's name.
    pub node_stack: String,
    /// The node stack's parameters, in template order.
    pub node_parameters: Vec<(String, String)>,
    /// Further insertions into the node template, as `(pointer, value)`.
    pub node_inserts: Vec<(&'static str, Value)>,
    /// Tags on both stacks besides `nodectl:blueprint` and `nodectl:stack`.
    pub tags: Vec<(String, String)>,
    /// The node stack's deploy-time lookups.
    pub lookups: Vec<Lookup>,
    /// The hint when the rendered user data exceeds [`USER_DATA_LIMIT`].
    pub user_data_hint: &'static str,
}

/// Renders the common and the node stack of `inputs`. Errors: the rendered user data exceeds
/// EC2's [`USER_DATA_LIMIT`], or a template file from `NODECTL_TEMPLATES_DIR` is broken.
pub fn render_stacks(inputs: StackInputs) -> Result<Vec<StackPlan>> {
    let name = inputs.blueprint.name();
    let files = inputs.blueprint.files();
    let tags = |role: StackRole| {
        let mut tags = vec![
            ("nodectl:blueprint".to_string(), name.to_string()),
            ("nodectl:stack".to_string(), role.name().to_string()),
        ];
        tags.extend(inputs.tags.iter().cloned());
        tags
    };
    let user_data =
        template::expand_includes(&template::load(name, "user-data.sh", files.user_data)?)?;
    let size = user_data_size(&user_data.text, &inputs.node_parameters, &inputs.node_stack);
    if size > USER_DATA_LIMIT {
        return Err(Error::Config(vec![ConfigIssue::general(format!(
            "the instance's user data would be {size} bytes, more than the {USER_DATA_LIMIT} \
             bytes EC2 accepts"
        ))
        .hint(inputs.user_data_hint)]));
    }
    let common_template = template::load(name, "common.json", files.common)?;
    let node_template = template::load(name, "single-node.json", files.single_node)?;
    let dashboard = template::load(name, "dashboard.json", files.dashboard)?;
    let common_parameters = vec![(
        "NodeStackNamePrefix".to_string(),
        inputs.node_stack_prefix.to_string(),
    )];
    let mut inserts = vec![
        (USER_DATA_POINTER, Value::String(user_data.text.to_string())),
        (DASHBOARD_POINTER, Value::String(dashboard.text.to_string())),
    ];
    inserts.extend(inputs.node_inserts);
    Ok(vec![
        StackPlan {
            role: StackRole::Common,
            name: inputs.common_stack.to_string(),
            template: template::render(&common_template, &common_parameters, &[])?,
            parameters: common_parameters,
            tags: tags(StackRole::Common),
            lookups: Vec::new(),
        },
        StackPlan {
            role: StackRole::SingleNode,
            name: inputs.node_stack,
            template: template::render(&node_template, &inputs.node_parameters, &inserts)?,
            parameters: inputs.node_parameters,
            tags: tags(StackRole::SingleNode),
            lookups: inputs.lookups,
        },
    ])
}

/// Reads typed values for a blueprint, collecting every problem instead of stopping at the
/// first, so that one run reports all mistakes in a file.
pub struct Reader<'a> {
    settings: &'a Settings,
    specs: &'static [KeySpec],
    issues: Vec<ConfigIssue>,
    warnings: Vec<String>,
}

impl<'a> Reader<'a> {
    /// A reader over `settings` for the keys in `specs`.
    pub fn new(settings: &'a Settings, specs: &'static [KeySpec]) -> Self {
        Reader {
            settings,
            specs,
            issues: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The settings being read.
    pub fn settings(&self) -> &Settings {
        self.settings
    }

    fn spec(&self, key: &str) -> &'static KeySpec {
        self.specs
            .iter()
            .find(|spec| spec.name == key)
            .unwrap_or_else(|| panic!("key {key} has no KeySpec"))
    }

    /// The effective setting of `key` with its default applied; `None` when unset and
    /// without default. An empty value counts as unset for keys that have a default.
    pub fn setting(&self, key: &str) -> Option<Setting> {
        let spec = self.spec(key);
        match self.settings.get(key) {
            Some(setting) if !(setting.value.is_empty() && spec.default.is_some()) => Some(setting),
            _ => spec.default.map(|default| Setting {
                value: default.to_string(),
                source: Source::Default,
            }),
        }
    }

    /// Whether `key` is set explicitly (flag, environment or file) to a non-empty value.
    pub fn is_set(&self, key: &str) -> bool {
        self.settings
            .get(key)
            .is_some_and(|setting| !setting.value.is_empty())
    }

    /// Records a problem with `key`.
    pub fn issue(&mut self, key: &str, source: &Source, message: String, hint: String) {
        self.issues
            .push(ConfigIssue::key(key, source, message).hint(hint));
    }

    /// Records a warning.
    pub fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    /// How a value is shown in messages: quoted, or hidden for secrets.
    fn shown(&self, key: &str, value: &str) -> String {
        if self.spec(key).secret {
            "(value hidden)".into()
        } else {
            format!("`{value}`")
        }
    }

    /// A text value.
    pub fn text(&mut self, key: &str) -> Option<String> {
        self.setting(key).map(|setting| setting.value)
    }

    /// A value checked by `check`, which returns `(message, hint)` on failure.
    pub fn checked<T>(
        &mut self,
        key: &str,
        check: impl FnOnce(&str) -> std::result::Result<T, validate::Problem>,
    ) -> Option<T> {
        let setting = self.setting(key)?;
        match check(&setting.value) {
            Ok(value) => Some(value),
            Err((message, hint)) => {
                self.issue(key, &setting.source, message, hint);
                None
            }
        }
    }

    /// A whole number in `range`; `unit` (e.g. " GiB") is appended to the numbers in messages.
    pub fn integer(&mut self, key: &str, range: RangeInclusive<i64>, unit: &str) -> Option<i64> {
        let setting = self.setting(key)?;
        let shown = self.shown(key, &setting.value);
        let example = self.spec(key).default.unwrap_or("1");
        match setting.value.trim().parse::<i64>() {
            Err(_) => {
                self.issue(
                    key,
                    &setting.source,
                    format!("{shown} is not a whole number"),
                    format!("use digits only, e.g. {key}=\"{example}\""),
                );
                None
            }
            Ok(value) if !range.contains(&value) => {
                self.issue(
                    key,
                    &setting.source,
                    format!(
                        "{value}{unit} is out of range: {key} takes {}{unit} to {}{unit}",
                        range.start(),
                        range.end()
                    ),
                    format!("use a value from {} to {}", range.start(), range.end()),
                );
                None
            }
            Ok(value) => Some(value),
        }
    }

    /// A decimal number (e.g. `0.8`).
    pub fn decimal(&mut self, key: &str) -> Option<f64> {
        let setting = self.setting(key)?;
        let shown = self.shown(key, &setting.value);
        let example = self.spec(key).default.unwrap_or("1.0");
        match setting.value.trim().parse::<f64>() {
            Ok(value) if value.is_finite() => Some(value),
            _ => {
                self.issue(
                    key,
                    &setting.source,
                    format!("{shown} is not a number"),
                    format!("use a decimal number, e.g. {key}=\"{example}\""),
                );
                None
            }
        }
    }

    /// `true` or `false` (any case).
    pub fn boolean(&mut self, key: &str) -> Option<bool> {
        let setting = self.setting(key)?;
        match setting.value.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                let shown = self.shown(key, &setting.value);
                self.issue(
                    key,
                    &setting.source,
                    format!("{shown} is not true or false"),
                    format!("write {key}=\"true\" or {key}=\"false\""),
                );
                None
            }
        }
    }

    /// One of `allowed`.
    pub fn choice(&mut self, key: &str, allowed: &[&str]) -> Option<String> {
        let setting = self.setting(key)?;
        if allowed.contains(&setting.value.as_str()) {
            return Some(setting.value);
        }
        let shown = self.shown(key, &setting.value);
        let list = allowed
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ");
        self.issue(
            key,
            &setting.source,
            format!("{shown} is not one of {list}"),
            format!("set {key} to one of {list}"),
        );
        None
    }

    /// Warns about keys in the file that no blueprint key matches, naming the closest known
    /// key. `ignored` keys are known to nodectl but not read from the file (with the reason).
    pub fn warn_unknown_keys(&mut self, ignored: &[(&str, &str)]) {
        let path = self.settings.env_file().display().to_string();
        let mut warnings = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for entry in self.settings.entries() {
            if !seen.insert(entry.key.clone()) {
                warnings.push(format!(
                    "{path}:{}: {} is set more than once; the last one (line {}) wins",
                    entry.line,
                    entry.key,
                    self.settings
                        .file_entry(&entry.key)
                        .map(|e| e.line)
                        .unwrap_or(entry.line)
                ));
                continue;
            }
            if self.specs.iter().any(|spec| spec.name == entry.key) {
                continue;
            }
            if let Some((_, reason)) = ignored.iter().find(|(key, _)| *key == entry.key) {
                warnings.push(format!(
                    "{path}:{}: {} is ignored: {reason}",
                    entry.line, entry.key
                ));
                continue;
            }
            let closest = self
                .specs
                .iter()
                .map(|spec| (strsim::levenshtein(spec.name, &entry.key), spec.name))
                .min();
            let suggestion = match closest {
                Some((distance, name)) if distance <= 3 => format!(" (did you mean {name}?)"),
                _ => String::new(),
            };
            warnings.push(format!(
                "{path}:{}: unknown key {}{suggestion}; it is ignored",
                entry.line, entry.key
            ));
        }
        self.warnings.extend(warnings);
    }

    /// Ends reading: every issue as one [`Error::Config`], or the warnings.
    pub fn finish(self) -> Result<Vec<String>> {
        if self.issues.is_empty() {
            Ok(self.warnings)
        } else {
            Err(Error::Config(self.issues))
        }
    }
}
