//! A stack's resources (DescribeStackResources, AWS CloudFormation API Reference): how the
//! day-2 commands find a node's instance, never by name guessing.

use super::CloudFormation;
use crate::aws::AwsError;

/// One resource of a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackResource {
    /// The logical id in the template, e.g. `Instance`.
    pub logical_id: String,
    /// The physical id, e.g. `i-0abc...`; empty until created.
    pub physical_id: String,
    /// The resource type, e.g. `AWS::EC2::Instance`.
    pub resource_type: String,
    /// The resource status, e.g. `CREATE_COMPLETE`.
    pub status: String,
}

impl CloudFormation {
    /// The resources of `stack` (DescribeStackResources: at most 100 per call, which every
    /// nodectl stack is far below); `None` when the stack does not exist.
    pub async fn resources(&self, stack: &str) -> Result<Option<Vec<StackResource>>, AwsError> {
        let output = match self
            .client
            .describe_stack_resources()
            .stack_name(stack)
            .send()
            .await
        {
            Ok(output) => output,
            Err(err) => return super::absent(err),
        };
        Ok(Some(
            output
                .stack_resources()
                .iter()
                .map(|r| StackResource {
                    logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                    physical_id: r.physical_resource_id().unwrap_or_default().to_string(),
                    resource_type: r.resource_type().unwrap_or_default().to_string(),
                    status: r
                        .resource_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                })
                .collect(),
        ))
    }
}
