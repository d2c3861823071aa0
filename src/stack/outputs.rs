//! The outputs file in the AWS CDK `--outputs-file` format:
//! `{"<stack name>": {"<OutputKey>": "<OutputValue>"}}`, 2-space indented (as
//! `cdk-toolkit.ts` `writeOutputs` writes it). Unlike the CDK, the file is merged, not
//! overwritten: deploying one stack keeps the other stacks' entries (aws/aws-cdk#16437).
//!
//! Writers never lose each other's entries: read, merge and write happen under an exclusive
//! advisory lock (`flock`) on a lock file beside the outputs file (`.<name>.lock`, left in
//! place), and the write is atomic (a temporary file in the same directory, synced, renamed over
//! the old one). The file keeps its permissions, and when it is a symbolic link, the file it
//! points to is updated and the link stays.

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

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

/// The file that `path` names, following symbolic links (also one to a file that does not
/// exist yet).
fn target(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current).map_err(|source| Error::Io {
                    action: "read the link",
                    path: current.clone(),
                    source,
                })?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(Error::usage(
        format!("`{}` is a loop of symbolic links", path.display()),
        "pass another --outputs-file",
    ))
}

/// The document in the outputs file at `path` (empty when the file does not exist or is empty).
/// Errors: it is not a JSON object (nothing is written over it), or it cannot be read.
fn read(path: &Path, shown: &Path) -> Result<Map<String, Value>> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(Map::new()),
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(Error::usage(
                format!(
                    "cannot merge outputs into `{}`: it is not a JSON object",
                    shown.display()
                ),
                "it was left as it is; move it away or pass another --outputs-file",
            )),
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(source) => Err(Error::Io {
            action: "read",
            path: shown.to_path_buf(),
            source,
        }),
    }
}

/// Checks, before any stack is deployed, that the outputs file at `path` can be merged into:
/// it is absent, empty or a JSON object.
pub fn check_file(path: &Path) -> Result<()> {
    read(&target(path)?, path).map(|_| ())
}

/// Holds the exclusive lock of an outputs file while it is read, merged and written.
struct Lock {
    _file: File,
}

impl Lock {
    /// Waits for the lock of `file` (`flock` on `.<name>.lock` in its directory).
    fn acquire(file: &Path) -> Result<Lock> {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "outputs".into());
        let path = directory(file).join(format!(".{name}.lock"));
        let io = |source| Error::Io {
            action: "lock",
            path: path.clone(),
            source,
        };
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        lock.lock().map_err(io)?;
        Ok(Lock { _file: lock })
    }
}

fn directory(file: &Path) -> &Path {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Sets `stack`'s entry in the outputs file at `path` to `outputs`, keeping every other entry
/// (see the module documentation for the lock, the atomic write, permissions and links).
///
/// Errors: the existing file is not a JSON object (it is left untouched, so nothing is
/// lost), or the file cannot be written.
pub fn merge_into_file(path: &Path, stack: &str, outputs: &[OutputValue]) -> Result<()> {
    let file = target(path)?;
    let _lock = Lock::acquire(&file)?;
    let mut document = read(&file, path)?;
    document.insert(stack.to_string(), outputs_object(outputs));
    let mut text = serde_json::to_string_pretty(&Value::Object(document)).expect("serializes");
    text.push('\n');
    let io = |source| Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let mode = std::fs::metadata(&file)
        .map(|meta| meta.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    let mut temp = tempfile::NamedTempFile::new_in(directory(&file)).map_err(io)?;
    temp.write_all(text.as_bytes()).map_err(io)?;
    temp.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .map_err(io)?;
    temp.as_file().sync_all().map_err(io)?;
    temp.persist(&file).map_err(|err| io(err.error))?;
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
        let expected = format!(
            "cannot merge outputs into `{}`: it is not a JSON object",
            path.display()
        );
        assert_eq!(check_file(&path).unwrap_err().reports()[0].0, expected);
        let err = merge_into_file(&path, "a", &[output("K", "v")]).unwrap_err();
        assert_eq!(err.reports()[0].0, expected);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[1, 2]");
        assert!(check_file(&dir.path().join("absent.json")).is_ok());
    }

    #[test]
    fn the_file_keeps_its_mode_and_a_link_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "{}").unwrap();
        std::fs::set_permissions(&real, Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("out.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        merge_into_file(&link, "a", &[output("K", "v")]).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(std::fs::read_to_string(&real)
            .unwrap()
            .contains("\"K\": \"v\""));
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        // A new file is world-readable, as files written with the usual umask.
        let new = dir.path().join("new.json");
        merge_into_file(&new, "a", &[]).unwrap();
        let mode = std::fs::metadata(&new).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o644);
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        let writers: Vec<_> = (0..8)
            .map(|writer| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for round in 0..10 {
                        merge_into_file(
                            &path,
                            &format!("stack-{writer}"),
                            &[output("Round", &round.to_string())],
                        )
                        .unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let document: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(document.as_object().unwrap().len(), 8, "{document}");
        for writer in 0..8 {
            assert_eq!(document[format!("stack-{writer}")]["Round"], "9");
        }
    }
}
