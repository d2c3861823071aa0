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

/// The server's entry: the task's `decen_eaas_secret` (`DYNABENCH_DECEN_EAAS_SECRET`).
#[derive(Debug, Clone)]
pub(super) struct DecenSecret(pub Option<SecretValue>);

impl SecretContent for DecenSecret {
    fn check(&self) -> Result<()> {
        Ok(())
    }

    fn entry(&self, current: Option<&Value>) -> Result<(Value, Stored)> {
        entry(
            &self.0,
            current,
            "decen_eaas_secret",
            "DYNABENCH_DECEN_EAAS_SECRET",
            "copy it from the task's settings page on dynabench.org (\"Is this a Decentralized \
             Task?\")",
        )
    }

    fn contents(&self) -> &'static str {
        "the task's decen_eaas_secret"
    }

    fn describe(&self, id: &str, node: &str, stored: &Stored) -> String {
        describe(
            "the task's decen_eaas_secret",
            "DYNABENCH_DECEN_EAAS_SECRET",
            id,
            node,
            stored,
        )
    }
}

/// The API's entry: the model endpoint secret (`DYNABENCH_ENDPOINT_SECRET`).
#[derive(Debug, Clone)]
pub(super) struct EndpointSecret(pub Option<SecretValue>);

impl SecretContent for EndpointSecret {
    fn check(&self) -> Result<()> {
        Ok(())
    }

    fn entry(&self, current: Option<&Value>) -> Result<(Value, Stored)> {
        entry(
            &self.0,
            current,
            "endpointSecret",
            "DYNABENCH_ENDPOINT_SECRET",
            "ask the Dynabench admins for the model endpoint secret",
        )
    }

    fn contents(&self) -> &'static str {
        "the model endpoint secret"
    }

    fn describe(&self, id: &str, node: &str, stored: &Stored) -> String {
        describe(
            "the model endpoint secret",
            "DYNABENCH_ENDPOINT_SECRET",
            id,
            node,
            stored,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_kept_written_replaced_or_required() {
        let stored = json!({"decen_eaas_secret": "old"});
        let none = DecenSecret(None);
        assert_eq!(
            none.entry(Some(&stored)).unwrap(),
            (stored.clone(), Stored::Unchanged)
        );
        let err = none.entry(None).unwrap_err();
        assert_eq!(
            err.reports()[0].0,
            "DYNABENCH_DECEN_EAAS_SECRET is not set, and no value is stored yet"
        );
        let new = DecenSecret(Some(SecretValue::new("new")));
        assert_eq!(
            new.entry(Some(&stored)).unwrap(),
            (json!({"decen_eaas_secret": "new"}), Stored::Replaced)
        );
        assert_eq!(
            new.entry(None).unwrap(),
            (json!({"decen_eaas_secret": "new"}), Stored::Written)
        );
        let endpoint = EndpointSecret(Some(SecretValue::new("k")));
        assert_eq!(
            endpoint.entry(None).unwrap().0,
            json!({"endpointSecret": "k"})
        );
    }
}
