//! Node secrets in AWS Secrets Manager. A blueprint says what a node keeps there (a
//! [`SecretContent`]: a wallet mnemonic and API keys, a keystore password, ...); nodectl stores
//! it in the secret the common stack owns (`<common stack>/node-secrets`), as a JSON object
//! with one entry per node stack: `{"<node stack>": {...}}`. The instance role may read that
//! secret only; the instance picks its own entry at boot.
//!
//! Secret values never appear in a template, a parameter, user data, an output, a log line or
//! an error message: [`SecretValue`] has no `Display` and a `Debug` that prints `****`.

use std::fmt::Debug;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::aws::secretsmanager::{Deletion, SecretsManager};
use crate::aws::AwsError;
use crate::error::{Error, Result};
use crate::observer::Observer;

/// The replacement text for a redacted secret.
pub const REDACTED: &str = "****";

/// The name of the secret a common stack owns for its nodes.
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

impl Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

/// What [`store`] did with a node's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// The stored entry already held these values.
    Unchanged,
    /// The entry was written (new, or with changed values).
    Written,
    /// A value was generated (none was configured or stored) and written.
    Generated,
    /// The configured value replaced a different stored one.
    Replaced,
}

/// What one node keeps in Secrets Manager, as a blueprint defines it.
pub trait SecretContent: Debug + Send + Sync {
    /// The offline check that stops a deploy of the node before any AWS request (a missing
    /// mnemonic, say). Errors are [`Error::Config`].
    fn check(&self) -> Result<()>;

    /// The entry to store, given the stored one (`current`), and what storing it means. A
    /// generated value is new inside the returned entry.
    fn entry(&self, current: Option<&Value>) -> Result<(Value, Stored)>;

    /// What the secret holds, in words: "wallet mnemonics, model API keys".
    fn contents(&self) -> &'static str;

    /// One line for the user about what was stored in `secret_id` for `node` (values never
    /// shown).
    fn describe(&self, secret_id: &str, node: &str, stored: &Stored) -> String;

    /// The secret values of `entry` to register with the redactor (all string values by
    /// default).
    fn values<'a>(&self, entry: &'a Value) -> Vec<&'a str> {
        fn walk<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
            match value {
                Value::String(text) => out.push(text),
                Value::Array(items) => items.iter().for_each(|item| walk(item, out)),
                Value::Object(map) => map.values().for_each(|item| walk(item, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(entry, &mut out);
        out
    }
}

/// What one node stores, and where.
#[derive(Debug, Clone)]
pub struct NodeSecret {
    /// The secret's name (`<common stack>/node-secrets`).
    pub secret_id: String,
    /// The node's entry key: its stack name.
    pub node: String,
    /// The entry, as the blueprint defines it.
    pub content: Arc<dyn SecretContent>,
}

impl NodeSecret {
    /// The entry's line for the user (see [`SecretContent::describe`]).
    pub fn describe(&self, stored: &Stored) -> String {
        self.content.describe(&self.secret_id, &self.node, stored)
    }
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

fn aws(action: String, err: AwsError) -> Error {
    let hint = err.generic_hint();
    Error::aws(action, err, hint)
}

/// Stores `secret`'s entry in its secret (GetSecretValue, then PutSecretValue only when the
/// entry changed; AWS Secrets Manager API Reference). Returns what it did; every secret value
/// of the entry is registered with `observer` before anything is printed. The other nodes'
/// entries are kept.
pub async fn store(
    client: &SecretsManager,
    region: &str,
    secret: &NodeSecret,
    observer: &dyn Observer,
) -> Result<Stored> {
    let id = &secret.secret_id;
    let current = match client.get_string(id).await {
        Ok(Some(text)) => text,
        Ok(None) => return Err(Error::usage(
            format!("the secret `{id}` does not exist in `{region}`"),
            "the common stack creates it: run `nodectl deploy common` (or `nodectl deploy all`)",
        )),
        Err(err) => {
            return Err(aws(
                format!("cannot read the secret `{id}` in `{region}`"),
                err,
            ))
        }
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
    let (entry, stored) = secret.content.entry(document.get(&secret.node))?;
    for value in secret.content.values(&entry) {
        observer.secret(value);
    }
    if stored == Stored::Unchanged {
        return Ok(stored);
    }
    document.insert(secret.node.clone(), entry);
    client
        .put_string(id, &Value::Object(document).to_string(), &request_token())
        .await
        .map_err(|e| {
            aws(
                format!("cannot store the node secrets in `{id}` in `{region}`"),
                e,
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
pub async fn schedule_deletion(
    client: &SecretsManager,
    region: &str,
    id: &str,
) -> Result<Option<String>> {
    match client.schedule_deletion(id, RECOVERY_WINDOW_DAYS).await {
        Ok(Deletion::Scheduled(date)) => {
            Ok(Some(date.unwrap_or_else(|| {
                format!("{RECOVERY_WINDOW_DAYS} days from now")
            })))
        }
        Ok(Deletion::Absent | Deletion::AlreadyScheduled) => Ok(None),
        Err(err) => Err(aws(
            format!("cannot schedule the deletion of the secret `{id}` in `{region}`"),
            err,
        )),
    }
}

/// A ClientRequestToken for PutSecretValue: 32 to 64 characters.
fn request_token() -> String {
    format!(
        "nodectl-{:016x}{:016x}",
        fastrand::u64(..),
        fastrand::u64(..)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_random_letters_and_digits() {
        let password = generate_password();
        assert_eq!(password.expose().len(), GENERATED_PASSWORD_LENGTH);
        assert!(password.expose().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(password.expose(), generate_password().expose(), "random");
        assert_eq!(format!("{password:?}"), REDACTED);
    }
}
