//! Node secrets in AWS Secrets Manager. A blueprint says what a node keeps there (a
//! [`SecretContent`]: a wallet mnemonic and API keys, a keystore password, ...); nodectl stores
//! it in the node's own secret, `<node stack>/node-secret`, as `{"<node stack>": {...}}`. Only
//! that node's role can read it (the common stack's NodeAccess policy names the secret by the
//! role's own stack tag), and no two nodes share one, so deploying nodes at the same time never
//! loses an entry.
//!
//! nodectl writes a secret only after the user confirmed the deploy (or gave `--yes`). A secret
//! whose deletion was scheduled (by `nodectl destroy`) is restored and reused by the next
//! deploy. Secret values never appear in a template, a parameter, user data, an output, a log
//! line or an error message: [`SecretValue`] has no `Display` and a `Debug` that prints `****`.

use std::fmt::Debug;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::aws::secretsmanager::{Deletion, SecretState, SecretsManager};
use crate::aws::AwsError;
use crate::error::{Error, Result};
use crate::observer::Observer;

/// The replacement text for a redacted secret.
pub const REDACTED: &str = "****";

/// Values that are placeholders of the upstream samples, not secrets (the account id and
/// mnemonic placeholder, `CG_API_KEY="secret"`): masking them would garble messages.
pub const NOT_SECRETS: &[&str] = &["xxxxxxxxxxx", "secret", ""];

/// The name of a node's secret: `<node stack>/node-secret` (the name the common stack's
/// NodeAccess policy lets that node's role read).
pub fn secret_name(node_stack: &str) -> String {
    format!("{node_stack}/node-secret")
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

    /// What the secret holds, in words: "the wallet mnemonic and API keys".
    fn contents(&self) -> &'static str;

    /// One line for the user about what was stored in `secret_id` for `node` (values never
    /// shown).
    fn describe(&self, secret_id: &str, node: &str, stored: &Stored) -> String;

    /// Public facts about `node`'s entry to tell the user after it is stored (`entry`), or
    /// when it is unchanged (`None`: from the configuration alone): an Allora wallet's address.
    /// None by default.
    fn public_lines(&self, node: &str, entry: Option<&Value>) -> Vec<String> {
        let _ = (node, entry);
        Vec::new()
    }

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
    /// The secret's name ([`secret_name`] of the node stack).
    pub secret_id: String,
    /// The node's entry key: its stack name.
    pub node: String,
    /// The entry, as the blueprint defines it.
    pub content: Arc<dyn SecretContent>,
    /// Tags of the secret when nodectl creates it.
    pub tags: Vec<(String, String)>,
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

/// What writing a node's secret will do, known before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// The secret holds these values already: nothing to write.
    Unchanged,
    /// It will be created.
    Create,
    /// It exists; its entry will change.
    Update,
    /// Its deletion was scheduled (since the date given): it will be restored and reused.
    Restore(String),
}

impl Pending {
    /// Whether anything will be written.
    pub fn writes(&self) -> bool {
        *self != Pending::Unchanged
    }
}

/// The node's entry in the secret's JSON `text`, if any; an error when it is not an object.
fn current_entry(secret: &NodeSecret, region: &str, text: &str) -> Result<Option<Value>> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map.get(&secret.node).cloned()),
        _ => Err(Error::usage(
            format!(
                "the secret `{}` in `{region}` does not hold a JSON object",
                secret.secret_id
            ),
            format!(
                "it holds {{\"{}\": {{...}}}}, written by nodectl: delete it (`aws secretsmanager \
                 delete-secret --secret-id {}`) and deploy again",
                secret.node, secret.secret_id
            ),
        )),
    }
}

/// Reads what writing `secret` would do (DescribeSecret, and GetSecretValue when it exists;
/// read-only calls, made before the user confirms). Errors: the entry cannot be made (a
/// secret that must be configured is not, and none is stored), or an AWS error.
pub async fn pending(
    client: &SecretsManager,
    region: &str,
    secret: &NodeSecret,
) -> Result<Pending> {
    let id = &secret.secret_id;
    let read = |err| aws(format!("cannot read the secret `{id}` in `{region}`"), err);
    match client.state(id).await.map_err(read)? {
        // What a new secret would hold: a value nothing can generate must be configured, and
        // is asked for now, before the user confirms anything.
        SecretState::Absent => secret.content.entry(None).map(|_| Pending::Create),
        SecretState::ScheduledForDeletion(date) => Ok(Pending::Restore(date)),
        SecretState::Present => {
            let text = client
                .get_string(id)
                .await
                .map_err(read)?
                .unwrap_or_default();
            let current = current_entry(secret, region, &text)?;
            let (_, stored) = secret.content.entry(current.as_ref())?;
            Ok(if stored == Stored::Unchanged {
                Pending::Unchanged
            } else {
                Pending::Update
            })
        }
    }
}

/// Writes `secret` (after the user confirmed): creates it, or restores it when its deletion was
/// scheduled and then updates it, or updates it when its entry changed (CreateSecret,
/// RestoreSecret, GetSecretValue, PutSecretValue; AWS Secrets Manager API Reference). Every
/// secret value of the entry is registered with `observer` before anything is printed. Returns
/// what it did, whether the secret was restored, and the entry's public lines
/// ([`SecretContent::public_lines`]).
pub async fn write(
    client: &SecretsManager,
    region: &str,
    secret: &NodeSecret,
    observer: &dyn Observer,
) -> Result<(Stored, bool, Vec<String>)> {
    let id = &secret.secret_id;
    let failed = |what: &str, err| {
        aws(
            format!("cannot {what} the secret `{id}` in `{region}`"),
            err,
        )
    };
    let mut restored = false;
    let current = match client.state(id).await.map_err(|e| failed("read", e))? {
        SecretState::Absent => None,
        SecretState::ScheduledForDeletion(_) => {
            client.restore(id).await.map_err(|e| failed("restore", e))?;
            restored = true;
            Some(client.get_string(id).await.map_err(|e| failed("read", e))?)
        }
        SecretState::Present => Some(client.get_string(id).await.map_err(|e| failed("read", e))?),
    };
    let current = match current.flatten() {
        Some(text) => Some(current_entry(secret, region, &text)?),
        None => None,
    };
    let (entry, stored) = secret
        .content
        .entry(current.as_ref().and_then(Option::as_ref))?;
    for value in secret.content.values(&entry) {
        if !NOT_SECRETS.contains(&value) {
            observer.secret(value);
        }
    }
    let document = serde_json::json!({ &secret.node: entry }).to_string();
    match current {
        None => {
            let description = format!(
                "Secrets of the node stack {}: {}. Written by nodectl, read by that node's \
                 instance only.",
                secret.node,
                secret.content.contents()
            );
            client
                .create(id, &description, &document, &secret.tags, &request_token())
                .await
                .map_err(|e| failed("create", e))?;
        }
        Some(_) if stored == Stored::Unchanged => {}
        Some(_) => client
            .put_string(id, &document, &request_token())
            .await
            .map_err(|e| failed("store", e))?,
    }
    let public = secret.content.public_lines(&secret.node, Some(&entry));
    Ok((stored, restored, public))
}

/// The recovery window of a deleted node secret, in days (DeleteSecret
/// `RecoveryWindowInDays`: 7 to 30).
pub const RECOVERY_WINDOW_DAYS: i64 = 7;

/// Schedules the secret's deletion with a [`RECOVERY_WINDOW_DAYS`] recovery window (never a
/// deletion without one: a wallet mnemonic or a keystore password must not vanish without a
/// way back). Returns the deletion date (RFC 3339), or `None` when there is no such secret (or
/// it is already scheduled).
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
