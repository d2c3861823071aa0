//! Deleting stacks: wait on the stack id, report what CloudFormation left behind
//! (`DELETE_SKIPPED`, e.g. a resource with `DeletionPolicy: Retain`), and find the stacks that
//! still import a stack's exports.

use super::status::{root_cause, StatusClass};
use super::{classify, Engine, StackInfo};
use crate::aws::{token, AwsError};
use crate::error::{Error, Result};

/// An export of one stack imported by another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The export name.
    pub export: String,
    /// The importing stack's name.
    pub importer: String,
}

/// The stacks that would still import `imports` after the stacks in `deleted_first` are gone,
/// sorted and without duplicates: a non-empty list means the exporting stack cannot go yet.
pub fn blocking_importers(imports: Vec<Import>, deleted_first: &[&str]) -> Vec<String> {
    let mut importers: Vec<String> = imports
        .into_iter()
        .map(|import| import.importer)
        .filter(|importer| !deleted_first.contains(&importer.as_str()))
        .collect();
    importers.sort();
    importers.dedup();
    importers
}

/// Deletes `info`'s stack and waits until it is gone. Returns what was left behind, one line
/// per skipped resource. A `DELETE_FAILED` end is an [`Error::StackFailed`] with the root
/// cause.
pub async fn delete(engine: &Engine<'_>, info: &StackInfo) -> Result<Vec<String>> {
    let aws = |err: AwsError| engine.error("delete", &info.name, err);
    let since = engine.latest_event_id(&info.id).await.map_err(aws)?;
    engine.observer.note(&format!(
        "deleting stack `{}` in `{}`",
        info.name, engine.region
    ));
    engine
        .cfn
        .delete_stack(&info.id, Some(&token()), engine.role_arn.as_deref())
        .await
        .map_err(aws)?;
    engine.observer.operation(&info.name, None, &[]);
    let outcome = engine.wait(&info.id, &info.name, since, false).await?;
    if classify(&outcome.status) == StatusClass::Deleted {
        engine
            .observer
            .note(&format!("stack `{}` is DELETE_COMPLETE", info.name));
        return Ok(outcome
            .events
            .iter()
            .filter(|e| e.status == "DELETE_SKIPPED")
            .map(|e| {
                format!(
                    "{} ({}) {}",
                    e.logical_id,
                    e.resource_type,
                    e.physical_id.as_deref().unwrap_or("")
                )
                .trim_end()
                .to_string()
            })
            .collect());
    }
    Err(Error::StackFailed {
        operation: "delete".into(),
        stack: info.name.clone(),
        region: engine.region.clone(),
        status: outcome.status.clone(),
        root_cause: root_cause(&outcome.events, &info.name).or(outcome.reason),
        rolled_back: false,
        hint: format!(
            "fix the cause above (or keep the resource with `aws cloudformation delete-stack \
             --stack-name {} --retain-resources <LogicalId>`), then run `nodectl destroy` again",
            info.name
        ),
    })
}

/// The stacks that import `info`'s exports (CloudFormation API Reference, ListExports and
/// ListImports), export by export.
pub async fn imports(
    engine: &Engine<'_>,
    info: &StackInfo,
) -> std::result::Result<Vec<Import>, AwsError> {
    let mut found = Vec::new();
    for export in info.outputs.iter().filter_map(|o| o.export_name.as_deref()) {
        found.extend(
            engine
                .cfn
                .importers(export)
                .await?
                .into_iter()
                .map(|importer| Import {
                    export: export.to_string(),
                    importer,
                }),
        );
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn importers_deleted_first_do_not_block() {
        let import = |importer: &str| Import {
            export: "shared-InstanceProfileName".into(),
            importer: importer.into(),
        };
        let found = vec![import("node-b"), import("node"), import("node-b")];
        assert_eq!(blocking_importers(found.clone(), &["node"]), vec!["node-b"]);
        assert!(blocking_importers(found, &["node", "node-b"]).is_empty());
    }
}
