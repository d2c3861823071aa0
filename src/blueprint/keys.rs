//! `.env` keys: how each is documented and defaulted ([`KeySpec`]), and the key sets that
//! several blueprints share, so that a blueprint composes its keys instead of copying them.
//! Every key a blueprint reads is documented in its sample config (a test checks that).

/// What a value looks like, checked for every key before the blueprint reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One line of text: no control characters (no line breaks, tabs, NUL or escapes).
    Line,
    /// Several lines allowed (line breaks and tabs), no other control characters.
    Lines,
    /// One URL or a comma-separated list of URLs, each with one of the given schemes and a
    /// host (parsed by the `url` crate, WHATWG URL Standard).
    Urls(&'static [&'static str]),
    /// One or a comma-separated list of gRPC endpoints: `host:port`, or a URL with one of the
    /// given schemes and a host.
    Endpoints(&'static [&'static str]),
}

/// Documentation, default and limits of one `.env` key.
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
    /// What the value looks like.
    pub shape: Shape,
    /// The longest value accepted, in bytes (UTF-8).
    pub max_bytes: usize,
    /// Where the value ends up, which sets [`KeySpec::max_bytes`].
    pub limit: &'static str,
}

/// The longest CloudFormation template parameter value: 4,096 bytes (AWS CloudFormation User
/// Guide, "CloudFormation quotas"). Every non-secret value reaches the stacks as a parameter
/// (or inside one), so this is the default limit.
pub const PARAMETER_MAX_BYTES: usize = 4096;

/// The longest Secrets Manager `SecretString`: 65,536 bytes (AWS Secrets Manager API
/// Reference, CreateSecret); a node's secret holds all its secret values.
pub const SECRET_MAX_BYTES: usize = 65_536;

/// What [`PARAMETER_MAX_BYTES`] limits.
const PARAMETER_LIMIT: &str = "a CloudFormation parameter value";

/// A key that is not secret, with its default and help line: one line of text, at most
/// [`PARAMETER_MAX_BYTES`].
pub const fn key(name: &'static str, default: Option<&'static str>, help: &'static str) -> KeySpec {
    KeySpec {
        name,
        default,
        secret: false,
        help,
        shape: Shape::Line,
        max_bytes: PARAMETER_MAX_BYTES,
        limit: PARAMETER_LIMIT,
    }
}

/// A secret key (no default; never printed, never put in a template): one line, at most
/// [`SECRET_MAX_BYTES`] (it is stored in the node's secret).
pub const fn secret(name: &'static str, help: &'static str) -> KeySpec {
    KeySpec {
        name,
        default: None,
        secret: true,
        help,
        shape: Shape::Line,
        max_bytes: SECRET_MAX_BYTES,
        limit: "the node's Secrets Manager secret",
    }
}

impl KeySpec {
    /// The same key with another shape.
    pub const fn shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }

    /// The same key with a smaller limit: at most `bytes`, because the value ends up in
    /// `limit` (e.g. "a tag value").
    pub const fn max(mut self, bytes: usize, limit: &'static str) -> Self {
        self.max_bytes = bytes;
        self.limit = limit;
        self
    }
}

/// `NODECTL_BLUEPRINT`: which blueprint a file is for.
pub const BLUEPRINT: &[KeySpec] = &[key(
    "NODECTL_BLUEPRINT",
    None,
    "the blueprint's name; optional when the file's keys say which",
)
.max(32, "a blueprint name")];

/// The account and region every blueprint deploys into.
pub const ACCOUNT_REGION: &[KeySpec] = &[
    key(
        "AWS_ACCOUNT_ID",
        None,
        "12-digit account id, checked against the credentials",
    )
    .max(12, "an AWS account id"),
    key(
        "AWS_REGION",
        None,
        "region code (else AWS_DEFAULT_REGION, else the AWS profile's region)",
    )
    .max(32, "a region code"),
];

/// Node naming: several nodes of a blueprint in one account and region.
pub const NODE_NAMING: &[KeySpec] = &[
    key("NODECTL_NODE_NAME", None, "suffix of the node stack name")
        .max(32, "part of the node stack's name"),
    key(
        "NODECTL_NODES",
        None,
        "a fleet: node names, comma-separated (nodes/<name>.env overrides)",
    ),
];

/// Stack tags the user adds to every stack ([`super::tags`]).
pub const STACK_TAGS: &[KeySpec] = &[key(
    "NODECTL_TAGS",
    None,
    "stack tags, KEY=VALUE,KEY=VALUE (also deploy --tags)",
)];

/// Where the node's CloudWatch alarms are sent ([`super::alerts`]): an e-mail address
/// subscribed to the node's SNS topic (at most 254 bytes, RFC 5321's limit on a path).
pub const ALERTS: &[KeySpec] = &[key(
    "NODECTL_ALERT_EMAIL",
    None,
    "e-mail address for the node's CloudWatch alarms (AWS sends a confirmation mail first)",
)
.max(254, "an e-mail address (RFC 5321)")];

/// The data volume of a node (the upstream blueprints' `EDGE_DATA_VOL_*` keys), checked by
/// [`super::volume::read`].
pub const DATA_VOLUME: &[KeySpec] = &[
    key(
        "EDGE_DATA_VOL_TYPE",
        Some("gp3"),
        "gp3, io1, io2 or instance-store",
    ),
    key("EDGE_DATA_VOL_SIZE", Some("256"), "GiB"),
    key("EDGE_DATA_VOL_IOPS", Some("3000"), "IOPS"),
    key("EDGE_DATA_VOL_THROUGHPUT", Some("125"), "MiB/s, gp3 only"),
];

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

/// A blueprint's keys: its key sets, in order, flattened.
pub fn compose(sets: &[&'static [KeySpec]]) -> Vec<&'static KeySpec> {
    sets.iter().flat_map(|set| set.iter()).collect()
}
