//! The outputs file in the AWS CDK `--outputs-file` format:
//! `{"<stack name>": {"<OutputKey>": "<OutputValue>"}}`, 2-space indented (as
//! `cdk-toolkit.ts` `writeOutputs` writes it). Unlike the CDK, the file is merged, not
//! overwritten: deploying one stack keeps the other stacks' entries (aws/aws-cdk#16437). The
//! write is atomic: a temporary file in the same directory, renamed over the old one.

use std::io::Write;
use std::path::Path;

use serde_json::{Map, Value};

use super::OutputValue;
use crate::error::{Error, Result};

/// The outputs of one stack as a JSON object, keys sorted.
pub fn outputs_object(outputs: &[OutputValue]) -> Value {
    let mut sorted: Vec<&OutputValue> = outputs.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    Value::Object(
        sorted
            .into_iter()
            .map(|o| (o.key.clone(), Value::String(o.value.clone())))
            .collect(),
    )
}

/// Sets `stack`'s entry in the outputs file at `path` to `outputs`, keeping every other entry.
///
/// Errors: the existing file is not a JSON object (it is left untouched, so nothing is
/// lost), or the file cannot be written.
pub fn merge_into_file(path: &Path, stack: &str, outputs: &[OutputValue]) -> Result<()> {
    let mut document = match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Map::new(),
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(Error::usage(
                    format!(
                        "cannot merge outputs into `{}`: it is not a JSON object",
                        path.display()
                    ),
                    "it was left as it is; move it away or pass another --outputs-file",
                ))
            }
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Map::new(),
        Err(source) => {
            return Err(Error::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            })
        }
    };
    document.insert(stack.to_string(), outputs_object(outputs));
    let mut text = serde_json::to_string_pretty(&Value::Object(document)).expect("serializes");
    text.push('\n');
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let io = |source| Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    temp.write_all(text.as_bytes()).map_err(io)?;
    temp.as_file().sync_all().map_err(io)?;
    temp.persist(path).map_err(|err| io(err.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(key: &str, value: &str) -> OutputValue {
        OutputValue {
            key: key.into(),
            value: value.into(),
            description: None,
            export_name: None,
        }
    }

    #[test]
    fn merges_and_keeps_other_stacks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        merge_into_file(&path, "a", &[output("Z", "1"), output("B", "2")]).unwrap();
        merge_into_file(&path, "b", &[output("K", "v")]).unwrap();
        merge_into_file(&path, "a", &[output("Z", "3")]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n  \"a\": {\n    \"Z\": \"3\"\n  },\n  \"b\": {\n    \"K\": \"v\"\n  }\n}\n"
        );
    }

    #[test]
    fn a_file_that_is_not_an_object_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "[1, 2]").unwrap();
        let err = merge_into_file(&path, "a", &[output("K", "v")]).unwrap_err();
        assert_eq!(
            err.reports()[0].0,
            format!(
                "cannot merge outputs into `{}`: it is not a JSON object",
                path.display()
            )
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[1, 2]");
    }
}
