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
use serde_json::{Map, Value};

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
    /// `ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC`.
    pub mnemonic: Mnemonic,
    /// The secret-like `MODEL_ENV_VARS` values, by name.
    pub model_env: BTreeMap<String, SecretValue>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    mnemonic: &'a SecretValue,
    model_env: &'a BTreeMap<String, SecretValue>,
}

impl NodeSecrets {
    /// The entry to store, or the configuration error that stops a node deploy (offline).
    pub fn entry(&self) -> Result<Value> {
        let hint = "set ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC in the .env file, in the \
                    environment, or pipe it in with --secret-stdin \
                    ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC (never as an argument)";
        let key = "ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC";
        let mnemonic = match &self.mnemonic {
            Mnemonic::Value(value) => value,
            Mnemonic::Missing => {
                return Err(Error::Config(vec![ConfigIssue::general(format!(
                    "{key} is not set: the worker needs its wallet"
                ))
                .hint(hint)]))
            }
            Mnemonic::Placeholder(source) => {
                return Err(Error::Config(vec![ConfigIssue::key(
                    key,
                    source,
                    "`xxxxxxxxxxx` is the upstream sample's placeholder, not a mnemonic",
                )
                .hint(hint)]))
            }
            Mnemonic::Invalid(source, message) => {
                return Err(Error::Config(vec![ConfigIssue::key(
                    key,
                    source,
                    message.clone(),
                )
                .hint(hint)]))
            }
        };
        Ok(serde_json::to_value(Entry {
            mnemonic,
            model_env: &self.model_env,
        })
        .expect("serializes"))
    }
}

fn aws(action: String, err: AwsError) -> Error {
    let hint = err.generic_hint();
    Error::aws(action, err, hint)
}

/// Stores `secrets`' entry in the common stack's secret (GetSecretValue, then PutSecretValue
/// only when the entry changed; AWS Secrets Manager API Reference). Returns whether it changed.
/// The other nodes' entries are kept.
pub async fn store(client: &Client, region: &str, secrets: &NodeSecrets) -> Result<bool> {
    let entry = secrets.entry()?;
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
    if document.get(&secrets.node) == Some(&entry) {
        return Ok(false);
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
    Ok(true)
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
            mnemonic: check_mnemonic(WORDS, Source::ProcessEnv),
            model_env: [("CG_API_KEY".to_string(), SecretValue::new("cg-canary"))].into(),
        };
        let debug = format!("{secrets:?}");
        assert!(
            !debug.contains("abandon") && !debug.contains("cg-canary"),
            "{debug}"
        );
        let entry = secrets.entry().unwrap();
        assert_eq!(entry["mnemonic"], WORDS);
        assert_eq!(entry["modelEnv"]["CG_API_KEY"], "cg-canary");
    }
}
