//! `.env` keys: how each is documented and defaulted ([`KeySpec`]), and the key sets that
//! several blueprints share, so that a blueprint composes its keys instead of copying them.
//! Every key a blueprint reads is documented in its sample config (a test checks that).

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

/// A key that is not secret, with its default and help line.
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

/// `NODECTL_BLUEPRINT`: which blueprint a file is for.
pub const BLUEPRINT: &[KeySpec] = &[key(
    "NODECTL_BLUEPRINT",
    None,
    "the blueprint's name; optional when the file's keys say which",
)];

/// The account and region every blueprint deploys into.
pub const ACCOUNT_REGION: &[KeySpec] = &[
    key(
        "AWS_ACCOUNT_ID",
        None,
        "12-digit account id, checked against the credentials",
    ),
    key(
        "AWS_REGION",
        None,
        "region code (else AWS_DEFAULT_REGION, else the AWS profile's region)",
    ),
];

/// Node naming: several nodes of a blueprint in one account and region.
pub const NODE_NAMING: &[KeySpec] = &[key(
    "NODECTL_NODE_NAME",
    None,
    "suffix of the node stack name",
)];

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
