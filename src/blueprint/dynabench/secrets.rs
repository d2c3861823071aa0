//! What the Dynabench stacks keep in Secrets Manager. Neither secret can be generated: both
//! come from Dynabench (the task settings page, the admins), through the environment or
//! `--secret-stdin`, and a redeploy without them keeps the stored ones.
//!
//! - The server's `<server stack>/node-secret`: `{"<server stack>": {"decen_eaas_secret": ...}}`,
//!   read by the server's services at start (`templates/dynabench/user-data.sh`).
//! - The API's `<api stack>/endpoint-secret`: `{"<api stack>": {"endpointSecret": ...}}`, read
//!   by the token authorizer (`templates/dynabench/lambda/authorizer.py`, entry named by its
//!   `ENDPOINT_SECRET_ENTRY`).

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::secrets::{SecretContent, SecretValue, Stored};

/// One secret value under `field`: the configured one, or `None` to keep the stored one.
fn entry(
    configured: &Option<SecretValue>,
    current: Option<&Value>,
    field: &str,
    key: &str,
    hint: &str,
) -> Result<(Value, Stored)> {
    let stored = current
        .and_then(|entry| entry.get(field))
        .and_then(Value::as_str)
        .filter(|value| !value.is_empty());
    Ok(match (configured, stored) {
        (Some(value), Some(old)) if value.expose() != old => {
            (json!({ field: value }), Stored::Replaced)
        }
        (Some(value), _) => {
            let entry = json!({ field: value });
            let stored = if current == Some(&entry) {
                Stored::Unchanged
            } else {
                Stored::Written
            };
            (entry, stored)
        }
        (None, Some(_)) => (current.cloned().expect("stored"), Stored::Unchanged),
        (None, None) => {
            return Err(Error::usage(
                format!("{key} is not set, and no value is stored yet"),
                format!(
                    "{hint}; give it through the environment (`export {key}`) or `nodectl \
                     deploy --secret-stdin {key} --yes`, never in the .env file"
                ),
            ))
        }
    })
}

fn describe(what: &str, key: &str, id: &str, node: &str, stored: &Stored) -> String {
    match stored {
        Stored::Unchanged => {
            format!("unchanged: {what} of `{node}` in the Secrets Manager secret `{id}` (value not shown)")
        }
        Stored::Written | Stored::Generated => {
            format!(
                "stored {what} of `{node}` in the Secrets Manager secret `{id}` (value not shown)"
            )
        }
        Stored::Replaced => format!(
            "replaced {what} of `{node}` in the Secrets Manager secret `{id}` with {key} (value \
             not shown)"
        ),
    }
}

/// One secret value under `field` of a stack's entry: the configured one (`key`), or `None`
/// to keep the stored one.
#[derive(Debug, Clone)]
pub(super) struct OneSecret {
    /// The configured value.
    pub value: Option<SecretValue>,
    /// Its field in the entry.
    pub field: &'static str,
    /// The key that configures it.
    pub key: &'static str,
    /// Where the user gets it, for the error when it is missing.
    pub hint: &'static str,
    /// What it is, in words.
    pub what: &'static str,
}

impl OneSecret {
    /// The server's entry: the task's `decen_eaas_secret` (`DYNABENCH_DECEN_EAAS_SECRET`).
    pub(super) fn decen(value: Option<SecretValue>) -> Self {
        OneSecret {
            value,
            field: "decen_eaas_secret",
            key: "DYNABENCH_DECEN_EAAS_SECRET",
            hint: "copy it from the task's settings page on dynabench.org (\"Is this a \
                   Decentralized Task?\")",
            what: "the task's decen_eaas_secret",
        }
    }

    /// The api stack's entry: the model endpoint secret (`DYNABENCH_ENDPOINT_SECRET`).
    pub(super) fn endpoint(value: Option<SecretValue>) -> Self {
        OneSecret {
            value,
            field: "endpointSecret",
            key: "DYNABENCH_ENDPOINT_SECRET",
            hint: "ask the Dynabench admins for the model endpoint secret",
            what: "the model endpoint secret",
        }
    }
}

impl SecretContent for OneSecret {
    fn check(&self) -> Result<()> {
        Ok(())
    }

    fn entry(&self, current: Option<&Value>) -> Result<(Value, Stored)> {
        entry(&self.value, current, self.field, self.key, self.hint)
    }

    fn contents(&self) -> &'static str {
        self.what
    }

    fn describe(&self, id: &str, node: &str, stored: &Stored) -> String {
        describe(self.what, self.key, id, node, stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_kept_written_replaced_or_required() {
        let stored = json!({"decen_eaas_secret": "old"});
        let none = OneSecret::decen(None);
        assert_eq!(
            none.entry(Some(&stored)).unwrap(),
            (stored.clone(), Stored::Unchanged)
        );
        let err = none.entry(None).unwrap_err();
        assert_eq!(
            err.reports()[0].0,
            "DYNABENCH_DECEN_EAAS_SECRET is not set, and no value is stored yet"
        );
        let new = OneSecret::decen(Some(SecretValue::new("new")));
        assert_eq!(
            new.entry(Some(&stored)).unwrap(),
            (json!({"decen_eaas_secret": "new"}), Stored::Replaced)
        );
        assert_eq!(
            new.entry(None).unwrap(),
            (json!({"decen_eaas_secret": "new"}), Stored::Written)
        );
        let endpoint = OneSecret::endpoint(Some(SecretValue::new("k")));
        assert_eq!(
            endpoint.entry(None).unwrap().0,
            json!({"endpointSecret": "k"})
        );
    }
}
