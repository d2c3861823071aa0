//! The shapes nodectl reads of CloudFormation's answers (stacks, outputs, events, change set
//! rows) and the input of a stack operation.

use aws_sdk_cloudformation::types::{Parameter, Tag};

/// A stack output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputValue {
    /// `OutputKey`.
    pub key: String,
    /// `OutputValue`.
    pub value: String,
    /// `Description`, if any.
    pub description: Option<String>,
    /// `ExportName`, if exported.
    pub export_name: Option<String>,
}

/// What nodectl reads of a stack (DescribeStacks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackInfo {
    /// The stack id (ARN); operations after the first describe use it, never the name, so a
    /// deleted and recreated stack of the same name is never confused with the old one.
    pub id: String,
    /// The stack name.
    pub name: String,
    /// `StackStatus`.
    pub status: String,
    /// `StackStatusReason`, if any.
    pub reason: Option<String>,
    /// The outputs, in the order CloudFormation returns them.
    pub outputs: Vec<OutputValue>,
    /// `EnableTerminationProtection`.
    pub termination_protection: bool,
    /// `LastUpdatedTime`, else `CreationTime`, RFC 3339.
    pub last_updated: Option<String>,
}

/// One stack event, reduced to what nodectl prints and reasons about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `EventId`.
    pub id: String,
    /// Timestamp, RFC 3339 UTC (`2026-11-22T10:15:02Z`).
    pub time: String,
    /// `LogicalResourceId` (the stack name for stack-level events).
    pub logical_id: String,
    /// `ResourceType`, e.g. `AWS::EC2::Instance`.
    pub resource_type: String,
    /// `PhysicalResourceId`, if any.
    pub physical_id: Option<String>,
    /// `ResourceStatus`, e.g. `CREATE_FAILED`.
    pub status: String,
    /// `ResourceStatusReason`, if any.
    pub reason: Option<String>,
}

impl Event {
    /// The progress line: time, logical id, type, status, reason.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{}  {:<32} {:<36} {:<20}",
            self.time, self.logical_id, self.resource_type, self.status
        );
        if let Some(reason) = &self.reason {
            line.push(' ');
            line.push_str(reason);
        }
        line.trim_end().to_string()
    }
}

/// One row of a change set (`ResourceChange`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRow {
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub action: String,
    /// The logical id.
    #[serde(rename = "logicalResourceId")]
    pub logical_id: String,
    /// The resource type.
    pub resource_type: String,
    /// `True`, `False`, `Conditional`, or empty when not applicable.
    pub replacement: String,
}

/// One page of DescribeChangeSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetPage {
    /// `Status`, e.g. `CREATE_COMPLETE`, `FAILED`.
    pub status: String,
    /// `StatusReason`, if any.
    pub reason: Option<String>,
    /// `ExecutionStatus`: `AVAILABLE`, `EXECUTE_IN_PROGRESS`, `EXECUTE_COMPLETE`,
    /// `EXECUTE_FAILED`, `OBSOLETE`, `UNAVAILABLE`.
    pub execution_status: String,
    /// The resource changes of this page.
    pub rows: Vec<ChangeRow>,
    /// `NextToken`, when there are more changes.
    pub next: Option<String>,
}

/// What a stack is deployed with: name, template body, parameters and tags.
#[derive(Debug, Clone, Copy)]
pub struct StackInput<'a> {
    /// The stack name.
    pub name: &'a str,
    /// The template body (JSON).
    pub template: &'a str,
    /// Template parameters.
    pub parameters: &'a [(String, String)],
    /// Stack tags.
    pub tags: &'a [(String, String)],
    /// The service role CloudFormation uses (`RoleARN`), if any.
    pub role_arn: Option<&'a str>,
    /// Keep the resources of a failed operation (`DisableRollback`) for debugging.
    pub disable_rollback: bool,
}

impl StackInput<'_> {
    /// The parameters as the SDK takes them.
    pub(super) fn sdk_parameters(&self) -> Vec<Parameter> {
        self.parameters
            .iter()
            .map(|(key, value)| {
                Parameter::builder()
                    .parameter_key(key)
                    .parameter_value(value)
                    .build()
            })
            .collect()
    }

    /// The tags as the SDK takes them.
    pub(super) fn sdk_tags(&self) -> Vec<Tag> {
        self.tags
            .iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect()
    }
}
