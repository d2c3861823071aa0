//! An Allora wallet from its mnemonic, as the node software derives it, and a new one when the
//! operator has none.
//!
//! Derivation, as allora_sdk does it: `LocalWallet.from_mnemonic(mnemonic, "allo")` in cosmpy
//! (`cosmpy/aerial/wallet.py`), which derives the secp256k1 key at BIP-44 path
//! `m/44'/118'/0'/0/0` (`COSMOS_HD_PATH`, `cosmpy/mnemonic/__init__.py`: Cosmos coin type 118)
//! from the BIP-39 seed with an empty passphrase. The address is the bech32 encoding, with
//! prefix `allo` (`AlloraWalletConfig.prefix`, `allora_sdk/rpc_client/config.py`), of
//! RIPEMD-160(SHA-256(compressed public key)), the Cosmos SDK account address.

use bip32::{DerivationPath, XPrv};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

use crate::secrets::SecretValue;

/// The BIP-44 path of an Allora account key (Cosmos coin type 118).
pub(super) const DERIVATION_PATH: &str = "m/44'/118'/0'/0/0";

/// The bech32 prefix of Allora account addresses.
pub(super) const ADDRESS_PREFIX: &str = "allo";

/// A new 24-word BIP-39 mnemonic (English word list) from 256 bits of the operating system's
/// random number generator (`getrandom`).
pub(super) fn generate_mnemonic() -> SecretValue {
    let mut entropy = [0u8; 32];
    getrandom::getrandom(&mut entropy).expect("the operating system's random number generator");
    let mnemonic = bip39::Mnemonic::from_entropy(&entropy).expect("32 bytes are valid entropy");
    entropy.fill(0);
    SecretValue::new(mnemonic.to_string())
}

/// The `allo1...` address of `mnemonic` (words separated by single spaces). Errors: not a
/// BIP-39 mnemonic of the English word list (unknown word or bad checksum), with a message
/// that never shows the words.
pub(super) fn address(mnemonic: &str) -> Result<String, String> {
    let parsed = bip39::Mnemonic::parse_in_normalized(bip39::Language::English, mnemonic).map_err(
        |err| match err {
            bip39::Error::UnknownWord(index) => {
                format!("word {} is not in the BIP-39 English word list", index + 1)
            }
            bip39::Error::BadWordCount(count) => format!("{count} words is not a BIP-39 length"),
            bip39::Error::InvalidChecksum => "its BIP-39 checksum does not match".to_string(),
            _ => "it is not a BIP-39 mnemonic".to_string(),
        },
    )?;
    let seed = parsed.to_seed("");
    let path: DerivationPath = DERIVATION_PATH.parse().expect("a valid path");
    let key = XPrv::derive_from_path(seed, &path).map_err(|err| err.to_string())?;
    let public = key.public_key().to_bytes();
    let hash = Ripemd160::digest(Sha256::digest(public));
    let hrp = bech32::Hrp::parse(ADDRESS_PREFIX).expect("a valid prefix");
    bech32::encode::<bech32::Bech32>(hrp, &hash).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 12-word test mnemonic of BIP-39's test vectors ("abandon" × 11, "about").
    const ABANDON: &str = "abandon abandon abandon abandon abandon abandon abandon abandon \
                           abandon abandon abandon about";

    #[test]
    fn the_published_vector_derives_to_its_address() {
        // The Cosmos address of this mnemonic at m/44'/118'/0'/0/0 is
        // cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4 (cosmjs's test vector); with the allo
        // prefix the same 20 bytes read as below, which is also what cosmpy 0.11.1 (allora_sdk's
        // wallet library) prints for `LocalWallet.from_mnemonic(ABANDON, "allo").address()`.
        assert_eq!(
            address(ABANDON).unwrap(),
            "allo19rl4cm2hmr8afy4kldpxz3fka4jguq0ajnh7gv"
        );
        let hash = {
            let (_, data) =
                bech32::decode("cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4").unwrap();
            data
        };
        let (_, ours) = bech32::decode(&address(ABANDON).unwrap()).unwrap();
        assert_eq!(hash, ours);
    }

    #[test]
    fn a_generated_mnemonic_has_24_words_and_an_address() {
        let first = generate_mnemonic();
        let second = generate_mnemonic();
        assert_eq!(first.expose().split(' ').count(), 24);
        assert_ne!(first.expose(), second.expose());
        assert!(address(first.expose()).unwrap().starts_with("allo1"));
    }

    #[test]
    fn a_wrong_mnemonic_is_refused_without_its_words() {
        let error = address(
            "abandon abandon abandon abandon abandon abandon abandon abandon \
                             abandon abandon abandon abandon",
        )
        .unwrap_err();
        assert_eq!(error, "its BIP-39 checksum does not match");
        let error = address(
            "qzjxw abandon abandon abandon abandon abandon abandon abandon \
                             abandon abandon abandon about",
        )
        .unwrap_err();
        assert_eq!(error, "word 1 is not in the BIP-39 English word list");
        assert!(!error.contains("qzjxw"));
    }
}
