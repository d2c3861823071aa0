//! Node secrets in AWS Secrets Manager: the wallet mnemonic and the secret-like
//! `MODEL_ENV_VARS` values (API keys) of each node, stored by nodectl in the one secret the
//! common stack owns (`<common stack>/node-secrets`), as a JSON object with one entry per node
//! stack: `{"<node stack>": {"mnemonic": "...", "modelEnv": {"CG_API_KEY": "..."}}}`. The
//! instance role may read that secret only; the instance picks its own entry at boot.
//!
//! Secret values never appear in a template, a parameter, user data, an output, a log line or
//! an error message: [`SecretValue`] has no `Display` and a `Debug` that prints `****`.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::Client;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::aws::AwsError;
use crate::error::{ConfigIssue, Error, Result, Source};
use crate::printer::REDACTED;

/// The name of the common stack's secret.
pub fn secret_name(common_stack: &str) -> String {
    format!("{common_stack}/node-secrets")
}

/// A secret string: `Debug` prints `****`, and there is no `Display`.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        SecretValue(value.into())
    }

    /// The value, for the one place that sends it to Secrets Manager.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

/// The wallet mnemonic setting, checked offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mnemonic {
    /// Not set anywhere.
    Missing,
    /// Still the upstream sample's placeholder.
    Placeholder(Source),
    /// Set, but not a BIP-39 mnemonic (wrong word count or characters).
    Invalid(Source, String),
    /// A plausible mnemonic.
    Value(SecretValue),
}

/// Checks a mnemonic's shape without ever printing it: 12, 15, 18, 21 or 24 lowercase words
/// (BIP-39, which Cosmos wallets such as Allora's use).
pub fn check_mnemonic(value: &str, source: Source) -> Mnemonic {
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.len() == 1 && words[0] == "xxxxxxxxxxx" {
        return Mnemonic::Placeholder(source);
    }
    if ![12, 15, 18, 21, 24].contains(&words.len()) {
        return Mnemonic::Invalid(
            source,
            format!(
                "has {} words; a BIP-39 mnemonic has 12, 15, 18, 21 or 24 (value hidden)",
                words.len()
            ),
        );
    }
    if !words
        .iter()
        .all(|w| w.chars().all(|c| c.is_ascii_lowercase()))
    {
        return Mnemonic::Invalid(
            source,
            "has characters other than lowercase letters and spaces (value hidden)".into(),
        );
    }
    Mnemonic::Value(SecretValue::new(words.join(" ")))
}

/// What one node stores in the common stack's secret.
#[derive(Debug, Clone)]
pub struct NodeSecrets {
    /// The secret's name (`<common stack>/node-secrets`).
    pub secret_id: String,
    /// The node's entry key: its stack name.
    pub node: String,
    /// The node's entry.
    pub content: SecretContent,
}

/// A node's entry in the common stack's secret, by blueprint.
#[derive(Debug, Clone)]
pub enum SecretContent {
    /// Allora: `{"mnemonic": "...", "modelEnv": {"CG_API_KEY": "..."}}`.
    Wallet {
        /// `ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC`.
        mnemonic: Mnemonic,
        /// The secret-like `MODEL_ENV_VARS` values, by name.
        model_env: BTreeMap<String, SecretValue>,
    },
    /// Theta: `{"password": "..."}`, the edge node's keystore password
    /// (`EDGE_NODE_PASSWORD`). `None`: keep the stored password, or generate one when there
    /// is none.
    Password(Option<SecretValue>),
}

/// What [`store`] did with a node's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// The stored entry already held these values.
    Unchanged,
    /// The entry was written (new, or with changed values).
    Written,
    /// A password was generated (none was configured or stored) and written.
    Generated,
    /// The configured password replaced a different stored one.
    Replaced,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    mnemonic: &'a SecretValue,
    model_env: &'a BTreeMap<String, SecretValue>,
}

/// The length of a generated password: 32 characters of `A-Za-z0-9`, about 190 bits.
pub const GENERATED_PASSWORD_LENGTH: usize = 32;

/// A password of [`GENERATED_PASSWORD_LENGTH`] letters and digits from the operating system's
/// random number generator (`getrandom`), without modulo bias.
pub fn generate_password() -> SecretValue {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut password = String::with_capacity(GENERATED_PASSWORD_LENGTH);
    let mut buffer = [0u8; 64];
    while password.len() < GENERATED_PASSWORD_LENGTH {
        getrandom::getrandom(&mut buffer).expect("the operating system's random number generator");
        // 248 = 4 × 62: bytes at or above it would favour the first letters.
        for byte in buffer.iter().filter(|&&b| b < 248) {
            if password.len() == GENERATED_PASSWORD_LENGTH {
                break;
            }
            password.push(ALPHABET[usize::from(*byte) % ALPHABET.len()] as char);
        }
    }
    SecretValue::new(password)
}

impl NodeSecrets {
    /// The offline check that stops a node deploy before any AWS request (a missing or
    /// invalid mnemonic).
    pub fn check(&self) -> Result<()> {
        match &self.content {
            SecretContent::Wallet { mnemonic, .. } => wallet_mnemonic(mnemonic).map(|_| ()),
            SecretContent::Password(_) => Ok(()),
        }
    }

    /// The entry to store, given the stored one (`current`), and what storing it means.
    /// A generated password is a new [`SecretValue`] inside the returned entry.
    pub fn entry(&self, current: Option<&Value>) -> Result<(Value, Stored)> {
        let changed = |entry: Value| {
            let stored = if current == Some(&entry) {
                Stored::Unchanged
            } else {
                Stored::Written
            };
            (entry, stored)
        };
        match &self.content {
            SecretContent::Wallet {
                mnemonic,
                model_env,
            } => {
                let mnemonic = wallet_mnemonic(mnemonic)?;
                let entry = serde_json::to_value(Entry {
                    mnemonic,
                    model_env,
                })
                .expect("serializes");
                Ok(changed(entry))
            }
            SecretContent::Password(configured) => {
                let stored = current
                    .and_then(|entry| entry.get("password"))
                    .and_then(Value::as_str)
                    .filter(|password| !password.is_empty());
                match (configured, stored) {
                    (Some(password), Some(old)) if password.expose() != old => {
                        Ok((json!({"password": password}), Stored::Replaced))
                    }
                    (Some(password), _) => Ok(changed(json!({"password": password}))),
                    (None, Some(_)) => Ok((current.cloned().expect("stored"), Stored::Unchanged)),
                    (None, None) => {
                        Ok((json!({"password": generate_password()}), Stored::Generated))
                    }
                }
            }
        }
    }

    /// What the secret holds, in words: "wallet mnemonics, model API keys" or "edge node
    /// passwords".
    pub fn contents(&self) -> &'static str {
        match self.content {
            SecretContent::Wallet { .. } => "wallet mnemonics, model API keys",
            SecretContent::Password(_) => "edge node passwords",
        }
    }

    /// One line for the user about what was stored (values never shown).
    pub fn describe(&self, stored: &Stored) -> String {
        let (id, node) = (&self.secret_id, &self.node);
        match &self.content {
            SecretContent::Wallet { model_env, .. } => format!(
                "{} the wallet mnemonic{} of `{node}` in the Secrets Manager secret `{id}` (values \
                 not shown)",
                if *stored == Stored::Unchanged {
                    "unchanged:"
                } else {
                    "stored"
                },
                match model_env.len() {
                    0 => String::new(),
                    1 => " and 1 model API key".to_string(),
                    n => format!(" and {n} model API keys"),
                },
            ),
            SecretContent::Password(_) => match stored {
                Stored::Unchanged => format!(
                    "unchanged: the edge node password of `{node}` in the Secrets Manager secret \
                     `{id}` (value not shown)"
                ),
                Stored::Written => format!(
                    "stored the edge node password of `{node}` in the Secrets Manager secret \
                     `{id}` (value not shown)"
                ),
                Stored::Generated => format!(
                    "generated a {GENERATED_PASSWORD_LENGTH}-character edge node password for \
                     `{node}` and stored it in the Secrets Manager secret `{id}`, entry \
                     `{node}`, key `password` (value not shown); read it with `aws \
                     secretsmanager get-secret-value --secret-id {id} --query SecretString \
                     --output text | jq -r '.\"{node}\".password'`"
                ),
                Stored::Replaced => format!(
                    "replaced the stored edge node password of `{node}` in the Secrets Manager \
                     secret `{id}` with EDGE_NODE_PASSWORD: a node whose keystore on /data was \
                     made with the old password cannot open it with the new one"
                ),
            },
        }
    }
}

/// The mnemonic, or the configuration error that stops a node deploy (offline).
fn wallet_mnemonic(mnemonic: &Mnemonic) -> Result<&SecretValue> {
    let hint = "set ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC in the .env file, in the \
                environment, or pipe it in with --secret-stdin \
                ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC (never as an argument)";
    let key = "ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC";
    match mnemonic {
        Mnemonic::Value(value) => Ok(value),
        Mnemonic::Missing => Err(Error::Config(vec![ConfigIssue::general(format!(
            "{key} is not set: the worker needs its wallet"
        ))
        .hint(hint)])),
        Mnemonic::Placeholder(source) => Err(Error::Config(vec![ConfigIssue::key(
            key,
            source,
            "`xxxxxxxxxxx` is the upstream sample's placeholder, not a mnemonic",
        )
        .hint(hint)])),
        Mnemonic::Invalid(source, message) => Err(Error::Config(vec![ConfigIssue::key(
            key,
            source,
            message.clone(),
        )
        .hint(hint)])),
    }
}

fn aws(action: String, err: AwsError) -> Error {
    let hint = err.generic_hint();
    Error::aws(action, err, hint)
}

/// Stores `secrets`' entry in the common stack's secret (GetSecretValue, then PutSecretValue
/// only when the entry changed; AWS Secrets Manager API Reference). Returns what it did; a
/// generated password is registered with `register` before anything else happens. The other
/// nodes' entries are kept.
pub async fn store(
    client: &Client,
    region: &str,
    secrets: &NodeSecrets,
    register: impl Fn(&str),
) -> Result<Stored> {
    let id = &secrets.secret_id;
    let current = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(AwsError::from_sdk);
    let current = match current {
        Ok(output) => output.secret_string().unwrap_or("{}").to_string(),
        Err(err) if err.code.as_deref() == Some("ResourceNotFoundException") => {
            return Err(Error::usage(
                format!("the secret `{id}` does not exist in `{region}`"),
                "the common stack creates it: run `nodectl deploy common` (or `nodectl deploy all`)",
            ))
        }
        Err(err) => return Err(aws(format!("cannot read the secret `{id}` in `{region}`"), err)),
    };
    let mut document: Map<String, Value> =
        match serde_json::from_str(&current) {
            Ok(Value::Object(map)) => map,
            _ => return Err(Error::usage(
                format!("the secret `{id}` in `{region}` does not hold a JSON object"),
                "it holds one entry per node stack, written by nodectl; restore it to `{}` and \
                 deploy each node again",
            )),
        };
    let (entry, stored) = secrets.entry(document.get(&secrets.node))?;
    if let Some(password) = entry.get("password").and_then(Value::as_str) {
        register(password);
    }
    if stored == Stored::Unchanged {
        return Ok(stored);
    }
    document.insert(secrets.node.clone(), entry);
    client
        .put_secret_value()
        .secret_id(id)
        .secret_string(Value::Object(document).to_string())
        .client_request_token(uuid_like())
        .send()
        .await
        .map_err(|e| {
            aws(
                format!("cannot store the node secrets in `{id}` in `{region}`"),
                AwsError::from_sdk(e),
            )
        })?;
    Ok(stored)
}

/// The recovery window of a deleted node secret, in days (DeleteSecret
/// `RecoveryWindowInDays`: 7 to 30).
pub const RECOVERY_WINDOW_DAYS: i64 = 7;

/// Schedules the secret's deletion with a [`RECOVERY_WINDOW_DAYS`] recovery window. Returns the
/// deletion date (RFC 3339), or `None` when there is no such secret (or it is already
/// scheduled).
pub async fn schedule_deletion(client: &Client, region: &str, id: &str) -> Result<Option<String>> {
    match client
        .delete_secret()
        .secret_id(id)
        .recovery_window_in_days(RECOVERY_WINDOW_DAYS)
        .send()
        .await
    {
        Ok(output) => Ok(Some(
            output
                .deletion_date()
                .map(crate::stack::format_time)
                .unwrap_or_else(|| format!("{RECOVERY_WINDOW_DAYS} days from now")),
        )),
        Err(err) => {
            let err = AwsError::from_sdk(err);
            match err.code.as_deref() {
                Some("ResourceNotFoundException") => Ok(None),
                Some("InvalidRequestException") if err.message.contains("deletion") => Ok(None),
                _ => Err(aws(
                    format!("cannot schedule the deletion of the secret `{id}` in `{region}`"),
                    err,
                )),
            }
        }
    }
}

/// A ClientRequestToken for PutSecretValue: 32 to 64 characters.
fn uuid_like() -> String {
    format!(
        "nodectl-{:016x}{:016x}",
        fastrand::u64(..),
        fastrand::u64(..)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORDS: &str =
        "abandon ability able about above absent absorb abstract absurd abuse access accident";

    #[test]
    fn mnemonics_are_checked_without_showing_them() {
        assert!(matches!(
            check_mnemonic(WORDS, Source::ProcessEnv),
            Mnemonic::Value(_)
        ));
        assert!(matches!(
            check_mnemonic("xxxxxxxxxxx", Source::ProcessEnv),
            Mnemonic::Placeholder(_)
        ));
        let Mnemonic::Invalid(_, message) = check_mnemonic("one two three", Source::ProcessEnv)
        else {
            panic!("invalid");
        };
        assert_eq!(
            message,
            "has 3 words; a BIP-39 mnemonic has 12, 15, 18, 21 or 24 (value hidden)"
        );
        assert!(!message.contains("one"));
        let upper = WORDS.replace("abandon", "Abandon");
        assert!(matches!(
            check_mnemonic(&upper, Source::ProcessEnv),
            Mnemonic::Invalid(..)
        ));
    }

    #[test]
    fn secret_values_do_not_debug_print() {
        let secrets = NodeSecrets {
            secret_id: "allora-edge-common/node-secrets".into(),
            node: "allora-single-node".into(),
            content: SecretContent::Wallet {
                mnemonic: check_mnemonic(WORDS, Source::ProcessEnv),
                model_env: [("CG_API_KEY".to_string(), SecretValue::new("cg-canary"))].into(),
            },
        };
        let debug = format!("{secrets:?}");
        assert!(
            !debug.contains("abandon") && !debug.contains("cg-canary"),
            "{debug}"
        );
        let (entry, stored) = secrets.entry(None).unwrap();
        assert_eq!(stored, Stored::Written);
        assert_eq!(entry["mnemonic"], WORDS);
        assert_eq!(entry["modelEnv"]["CG_API_KEY"], "cg-canary");
        assert_eq!(secrets.entry(Some(&entry)).unwrap().1, Stored::Unchanged);
    }

    #[test]
    fn passwords_are_kept_generated_or_replaced() {
        let node = |password: Option<&str>| NodeSecrets {
            secret_id: "theta-edge-common/node-secrets".into(),
            node: "theta-edge-single-node-mainnet".into(),
            content: SecretContent::Password(password.map(SecretValue::new)),
        };
        let (generated, stored) = node(None).entry(None).unwrap();
        assert_eq!(stored, Stored::Generated);
        let password = generated["password"].as_str().unwrap();
        assert_eq!(password.len(), GENERATED_PASSWORD_LENGTH);
        assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(password, generate_password().expose(), "random");
        assert_eq!(
            node(None).entry(Some(&generated)).unwrap(),
            (generated.clone(), Stored::Unchanged),
            "an absent password keeps the stored one"
        );
        assert_eq!(
            node(Some(password)).entry(Some(&generated)).unwrap().1,
            Stored::Unchanged
        );
        let (replaced, stored) = node(Some("another-password"))
            .entry(Some(&generated))
            .unwrap();
        assert_eq!(
            (replaced["password"].as_str(), stored),
            (Some("another-password"), Stored::Replaced)
        );
        assert!(!format!("{:?}", node(Some("canary-pw"))).contains("canary-pw"));
    }
}
