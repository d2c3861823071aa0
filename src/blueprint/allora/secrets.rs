//! What an Allora node keeps in Secrets Manager: its wallet mnemonic and the secret-like
//! `MODEL_ENV_VARS` values (API keys), as the entry
//! `{"mnemonic": "...", "modelEnv": {"CG_API_KEY": "..."}}` of the common stack's secret.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::wallet;
use crate::error::{ConfigIssue, Error, Result, Source};
use crate::secrets::{SecretContent, SecretValue, Stored};
use crate::settings::Settings;

/// The key of the wallet mnemonic.
pub(super) const MNEMONIC_KEY: &str = "ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC";

/// The wallet mnemonic setting, checked offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Mnemonic {
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
pub(super) fn check_mnemonic(value: &str, source: Source) -> Mnemonic {
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.len() == 1 && words[0] == crate::blueprint::PLACEHOLDER {
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

/// The key that lists the `MODEL_ENV_VARS` names whose values are not secret.
pub(super) const PUBLIC_MODEL_ENV_KEY: &str = "NODECTL_PUBLIC_MODEL_ENV";

/// Its default: the settings of the default model repository,
/// allora-network/basic-coin-prediction-node (its `.env.example`), none of which is a
/// credential. Every other `MODEL_ENV_VARS` value is secret.
pub(super) const PUBLIC_MODEL_ENV_DEFAULT: &str =
    "TOKEN,TRAINING_DAYS,TIMEFRAME,MODEL,REGION,DATA_PROVIDER";

/// The `MODEL_ENV_VARS` names whose values are public: `NODECTL_PUBLIC_MODEL_ENV` when set
/// (empty: none), else [`PUBLIC_MODEL_ENV_DEFAULT`]. Every other value is secret: stored in
/// Secrets Manager, never in a template, and masked in everything nodectl prints.
pub(super) fn public_model_env(settings: &Settings) -> Vec<String> {
    let list = settings
        .get(PUBLIC_MODEL_ENV_KEY)
        .map(|setting| setting.value)
        .unwrap_or_else(|| PUBLIC_MODEL_ENV_DEFAULT.to_string());
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

/// The secret values of `MODEL_ENV_VARS` (all but the public ones), for redaction.
pub(super) fn model_env_secrets(settings: &Settings) -> Vec<String> {
    let public = public_model_env(settings);
    let Some(setting) = settings.get("MODEL_ENV_VARS") else {
        return Vec::new();
    };
    dotenvy::from_read_iter(setting.value.as_bytes())
        .filter_map(|item| item.ok())
        .filter(|(name, _)| !public.contains(name))
        .map(|(_, value)| value)
        .collect()
}

/// An Allora node's entry.
#[derive(Debug, Clone)]
pub(super) struct Wallet {
    /// `ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC`.
    pub mnemonic: Mnemonic,
    /// The secret-like `MODEL_ENV_VARS` values, by name.
    pub model_env: BTreeMap<String, SecretValue>,
    /// `ALLORA_API_KEY` (the SDK worker's testnet faucet key), when set.
    pub api_key: Option<SecretValue>,
}

/// The node's entry in its secret: `{"mnemonic", "modelEnv", "apiKey"?}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    mnemonic: &'a SecretValue,
    model_env: &'a BTreeMap<String, SecretValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<&'a SecretValue>,
}

impl Wallet {
    /// The configured mnemonic (`None`: not set, nodectl keeps the stored one or generates
    /// one), or the configuration error that stops a node deploy (offline).
    fn mnemonic(&self) -> Result<Option<&SecretValue>> {
        let hint = format!(
            "set {MNEMONIC_KEY} in the .env file, in the environment, or pipe it in with \
             --secret-stdin {MNEMONIC_KEY} (never as an argument); or leave it unset, and \
             nodectl generates the node a wallet"
        );
        match &self.mnemonic {
            Mnemonic::Value(value) => Ok(Some(value)),
            Mnemonic::Missing => Ok(None),
            Mnemonic::Placeholder(source) => Err(Error::Config(vec![ConfigIssue::key(
                MNEMONIC_KEY,
                source,
                "`xxxxxxxxxxx` is the upstream sample's placeholder, not a mnemonic",
            )
            .hint(hint)])),
            Mnemonic::Invalid(source, message) => Err(Error::Config(vec![ConfigIssue::key(
                MNEMONIC_KEY,
                source,
                message.clone(),
            )
            .hint(hint)])),
        }
    }
}

impl SecretContent for Wallet {
    fn check(&self) -> Result<()> {
        self.mnemonic().map(|_| ())
    }

    fn entry(&self, current: Option<&Value>) -> Result<(Value, Stored)> {
        // Unset: the stored wallet stays the node's; with none stored, a new one.
        let stored_mnemonic = current
            .and_then(|entry| entry["mnemonic"].as_str())
            .filter(|words| !words.trim().is_empty())
            .map(SecretValue::new);
        let (mnemonic, generated) = match (self.mnemonic()?, stored_mnemonic) {
            (Some(configured), _) => (configured.clone(), false),
            (None, Some(kept)) => (kept, false),
            (None, None) => (wallet::generate_mnemonic(), true),
        };
        let entry = serde_json::to_value(Entry {
            mnemonic: &mnemonic,
            model_env: &self.model_env,
            api_key: self.api_key.as_ref(),
        })
        .expect("serializes");
        let stored = if generated {
            Stored::Generated
        } else if current == Some(&entry) {
            Stored::Unchanged
        } else {
            Stored::Written
        };
        Ok((entry, stored))
    }

    fn public_lines(&self, node: &str, entry: Option<&Value>) -> Vec<String> {
        let mnemonic = match (entry, &self.mnemonic) {
            (Some(entry), _) => entry["mnemonic"].as_str().map(str::to_string),
            (None, Mnemonic::Value(value)) => Some(value.expose().to_string()),
            _ => None,
        };
        let Some(mnemonic) = mnemonic else {
            return Vec::new();
        };
        vec![match wallet::address(&mnemonic) {
            Ok(address) => format!(
                "wallet of `{node}`: {address} (fund it for gas; the worker registers it on its \
                 topics)"
            ),
            Err(reason) => format!(
                "the wallet mnemonic of `{node}` is not a BIP-39 mnemonic ({reason}): the node \
                 software will refuse it"
            ),
        }]
    }

    fn contents(&self) -> &'static str {
        "the wallet mnemonic and API keys"
    }

    fn describe(&self, secret_id: &str, node: &str, stored: &Stored) -> String {
        let generated = *stored == Stored::Generated;
        let mut parts = vec![if generated {
            "its mnemonic".to_string()
        } else {
            "the wallet mnemonic".to_string()
        }];
        if self.api_key.is_some() {
            parts.push("the Allora API key".into());
        }
        match self.model_env.len() {
            0 => {}
            1 => parts.push("1 model API key".into()),
            n => parts.push(format!("{n} model API keys")),
        }
        let last = parts.pop().expect("the mnemonic");
        let what = if parts.is_empty() {
            last
        } else {
            format!("{} and {last}", parts.join(", "))
        };
        format!(
            "{} {what} of `{node}` in the Secrets Manager secret `{secret_id}` (values not shown)",
            match stored {
                Stored::Unchanged => "unchanged:",
                Stored::Generated => "generated a new wallet and stored",
                _ => "stored",
            },
        )
    }
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
    fn an_unset_mnemonic_keeps_the_stored_wallet_or_generates_one() {
        let unset = Wallet {
            mnemonic: Mnemonic::Missing,
            model_env: BTreeMap::new(),
            api_key: None,
        };
        unset.check().unwrap();
        let (entry, stored) = unset.entry(None).unwrap();
        assert_eq!(stored, Stored::Generated);
        let words = entry["mnemonic"].as_str().unwrap();
        assert_eq!(words.split(' ').count(), 24);
        let lines = unset.public_lines("allora-single-node", Some(&entry));
        assert!(
            lines[0].starts_with("wallet of `allora-single-node`: allo1"),
            "{lines:?}"
        );
        assert!(!lines[0].contains(words));
        // Deployed again without a mnemonic: the stored one stays, nothing is written.
        let (again, stored) = unset.entry(Some(&entry)).unwrap();
        assert_eq!(stored, Stored::Unchanged);
        assert_eq!(again, entry);
        assert_eq!(
            unset.describe("s", "n", &Stored::Generated),
            "generated a new wallet and stored its mnemonic of `n` in the Secrets Manager secret \
             `s` (values not shown)"
        );
        // A configured mnemonic replaces it, and its address is known offline.
        let set = Wallet {
            mnemonic: check_mnemonic(WORDS, Source::ProcessEnv),
            ..unset
        };
        assert_eq!(set.entry(Some(&entry)).unwrap().1, Stored::Written);
        assert_eq!(set.public_lines("n", None).len(), 1);
    }

    #[test]
    fn secret_values_do_not_debug_print() {
        let wallet = Wallet {
            mnemonic: check_mnemonic(WORDS, Source::ProcessEnv),
            model_env: [("CG_API_KEY".to_string(), SecretValue::new("cg-canary"))].into(),
            api_key: Some(SecretValue::new("UP-canary")),
        };
        let debug = format!("{wallet:?}");
        assert!(
            !debug.contains("abandon") && !debug.contains("cg-canary") && !debug.contains("UP-"),
            "{debug}"
        );
        let (entry, stored) = wallet.entry(None).unwrap();
        assert_eq!(stored, Stored::Written);
        assert_eq!(entry["mnemonic"], WORDS);
        assert_eq!(entry["modelEnv"]["CG_API_KEY"], "cg-canary");
        assert_eq!(entry["apiKey"], "UP-canary");
        assert_eq!(wallet.entry(Some(&entry)).unwrap().1, Stored::Unchanged);
    }

    #[test]
    fn every_model_env_value_is_secret_unless_public() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        let text = "MODEL_ENV_VARS='\nTOKEN=\"ETH\"\nCOINGECKO_APIKEY=\"k1\"\nHF_TOKEN_READ=\"k2\"\nSEED_PHRASE=\"k3\"\nDB_PASS=\"k4\"\nAUTH=\"k5\"\nINTERVAL=\"5m\"\n'\n";
        std::fs::write(&path, text).unwrap();
        let settings = |extra: &[(&str, &str)]| {
            let env = extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Settings::load(&path, env, Default::default()).unwrap()
        };
        assert_eq!(
            model_env_secrets(&settings(&[])),
            ["k1", "k2", "k3", "k4", "k5", "5m"]
        );
        assert_eq!(
            model_env_secrets(&settings(&[(PUBLIC_MODEL_ENV_KEY, "TOKEN,INTERVAL")])),
            ["k1", "k2", "k3", "k4", "k5"]
        );
        assert_eq!(
            model_env_secrets(&settings(&[(PUBLIC_MODEL_ENV_KEY, "")])).len(),
            7
        );
    }
}
