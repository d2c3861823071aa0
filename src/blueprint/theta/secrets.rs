//! What a Theta Edge Node keeps in Secrets Manager: its keystore password, as the entry
//! `{"password": "..."}` of the common stack's secret (`EDGE_NODE_PASSWORD`, or generated).

use serde_json::{json, Value};

use crate::error::Result;
use crate::secrets::{
    generate_password, SecretContent, SecretValue, Stored, GENERATED_PASSWORD_LENGTH,
};

/// A Theta node's entry: the configured password, or `None` to keep the stored one (or
/// generate one when there is none).
#[derive(Debug, Clone)]
pub(super) struct Password(pub Option<SecretValue>);

impl SecretContent for Password {
    fn check(&self) -> Result<()> {
        Ok(())
    }

    fn entry(&self, current: Option<&Value>) -> Result<(Value, Stored)> {
        let stored = current
            .and_then(|entry| entry.get("password"))
            .and_then(Value::as_str)
            .filter(|password| !password.is_empty());
        Ok(match (&self.0, stored) {
            (Some(password), Some(old)) if password.expose() != old => {
                (json!({"password": password}), Stored::Replaced)
            }
            (Some(password), _) => {
                let entry = json!({"password": password});
                let stored = if current == Some(&entry) {
                    Stored::Unchanged
                } else {
                    Stored::Written
                };
                (entry, stored)
            }
            (None, Some(_)) => (current.cloned().expect("stored"), Stored::Unchanged),
            (None, None) => (json!({"password": generate_password()}), Stored::Generated),
        })
    }

    fn contents(&self) -> &'static str {
        "the edge node password"
    }

    fn describe(&self, id: &str, node: &str, stored: &Stored) -> String {
        match stored {
            Stored::Unchanged => format!(
                "unchanged: the edge node password of `{node}` in the Secrets Manager secret \
                 `{id}` (value not shown)"
            ),
            Stored::Written => format!(
                "stored the edge node password of `{node}` in the Secrets Manager secret `{id}` \
                 (value not shown)"
            ),
            Stored::Generated => format!(
                "generated a {GENERATED_PASSWORD_LENGTH}-character edge node password for \
                 `{node}` and stored it in the Secrets Manager secret `{id}`, entry `{node}`, key \
                 `password` (value not shown); read it with `aws secretsmanager \
                 get-secret-value --secret-id {id} --query SecretString --output text | jq -r \
                 '.\"{node}\".password'`"
            ),
            Stored::Replaced => format!(
                "replaced the stored edge node password of `{node}` in the Secrets Manager \
                 secret `{id}` with EDGE_NODE_PASSWORD: a node whose keystore on /data was made \
                 with the old password cannot open it with the new one"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_kept_generated_or_replaced() {
        let node = |password: Option<&str>| Password(password.map(SecretValue::new));
        let (generated, stored) = node(None).entry(None).unwrap();
        assert_eq!(stored, Stored::Generated);
        let password = generated["password"].as_str().unwrap();
        assert_eq!(password.len(), GENERATED_PASSWORD_LENGTH);
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
