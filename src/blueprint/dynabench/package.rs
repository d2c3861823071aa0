//! The Lambda deployment package of the `api` stack: one zip holding the three handlers
//! (`templates/dynabench/lambda/{authorizer,invoker,cors}.py`, at the root) and the `jwt`
//! package of PyJWT with its license, copied from the wheel vendored beside them
//! (`templates/dynabench/lambda/vendor/`, pinned in `requirements.txt`, sha256 in
//! [`PYJWT_WHEEL_SHA256`]). The Lambda Python runtime ships boto3, not PyJWT (Lambda Developer
//! Guide, "Building Lambda functions with Python"). PyJWT's HS256 needs no compiled code.
//!
//! The zip is built offline and deterministically (sorted entries, the zip epoch
//! 1980-01-01 as every timestamp, mode 0644), so its key, `lambda/<sha256>.zip`, changes
//! exactly when the code does, and a change of the code is a change of the `api` stack.

use std::io::{Cursor, Read, Write};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::error::{Error, Result};
use crate::template::{load, TemplateFiles};

/// The vendored PyJWT wheel (MIT license), as `pip download PyJWT==2.15.1` saves it.
pub(super) const PYJWT_WHEEL: &[u8] =
    include_bytes!("../../../templates/dynabench/lambda/vendor/pyjwt-2.15.1-py3-none-any.whl");

/// The wheel's sha256, as PyPI lists it for `pyjwt-2.15.1-py3-none-any.whl`.
pub(super) const PYJWT_WHEEL_SHA256: &str =
    "42d59d631f7768a1028a64c7ff581a9bf7519804daf91fc5b6c56e30eec5e193";

/// The handler files, in the zip's root.
const HANDLERS: &[&str] = &["authorizer.py", "invoker.py", "cors.py"];

/// A built package: its bytes and its content-addressed key.
pub(super) struct Package {
    /// `lambda/<sha256 of the bytes>.zip`.
    pub key: String,
    /// The zip.
    pub bytes: Vec<u8>,
}

fn broken(what: String) -> Error {
    Error::usage(
        format!("cannot build the Lambda package: {what}"),
        "a defect of the built-in files (or of NODECTL_TEMPLATES_DIR): report it",
    )
}

/// Builds the package from `files` (the handlers; `NODECTL_TEMPLATES_DIR` may replace them)
/// and the vendored wheel. Errors: a missing handler, a wheel that does not match its sha256 or
/// is not a zip (both defects).
pub(super) fn lambda_zip(files: &TemplateFiles) -> Result<Package> {
    let digest = hex(&Sha256::digest(PYJWT_WHEEL));
    if digest != PYJWT_WHEEL_SHA256 {
        return Err(broken(format!(
            "the vendored PyJWT wheel has sha256 {digest}, not {PYJWT_WHEEL_SHA256}"
        )));
    }
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for handler in HANDLERS {
        let file = format!("lambda/{handler}");
        let source = load(files.blueprint, &file, files.embedded(&file))?;
        entries.push((handler.to_string(), source.text.as_bytes().to_vec()));
    }
    let mut wheel = ZipArchive::new(Cursor::new(PYJWT_WHEEL))
        .map_err(|err| broken(format!("the PyJWT wheel: {err}")))?;
    for index in 0..wheel.len() {
        let mut file = wheel
            .by_index(index)
            .map_err(|err| broken(format!("the PyJWT wheel: {err}")))?;
        let name = file.name().to_string();
        let wanted = (name.starts_with("jwt/") && !file.is_dir())
            || (name.contains(".dist-info/") && name.to_ascii_lowercase().contains("license"));
        if !wanted {
            continue;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|err| broken(format!("the PyJWT wheel's {name}: {err}")))?;
        entries.push((name, bytes));
    }
    entries.sort();
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for (name, bytes) in &entries {
        zip.start_file(name.as_str(), options)
            .and_then(|()| zip.write_all(bytes).map_err(Into::into))
            .map_err(|err| broken(format!("{name}: {err}")))?;
    }
    let bytes = zip
        .finish()
        .map_err(|err| broken(err.to_string()))?
        .into_inner();
    let key = format!("lambda/{}.zip", hex(&Sha256::digest(&bytes)));
    Ok(Package { key, bytes })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_holds_the_handlers_and_pyjwt_and_is_deterministic() {
        let files = super::super::FILES;
        let one = lambda_zip(&files).unwrap();
        let two = lambda_zip(&files).unwrap();
        assert_eq!(one.bytes, two.bytes);
        assert_eq!(one.key, two.key);
        assert!(one.key.starts_with("lambda/") && one.key.ends_with(".zip"));
        let mut zip = ZipArchive::new(Cursor::new(one.bytes)).unwrap();
        let names: Vec<String> = (0..zip.len())
            .map(|i| zip.by_index(i).unwrap().name().to_string())
            .collect();
        for wanted in [
            "authorizer.py",
            "invoker.py",
            "cors.py",
            "jwt/__init__.py",
            "jwt/api_jwt.py",
        ] {
            assert!(
                names.iter().any(|n| n == wanted),
                "{wanted} missing: {names:?}"
            );
        }
        assert!(names.iter().any(|n| n.contains("LICENSE")), "{names:?}");
        assert!(!names
            .iter()
            .any(|n| n.ends_with(".pyc") || n.contains("RECORD")));
    }
}
