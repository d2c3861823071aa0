//! AWS CloudFormation (AWS CloudFormation API Reference): stacks, change sets, events and
//! imports, each call mapping its SDK error into [`AwsError`] once, and the shapes nodectl reads
//! of them ([`StackInfo`], [`Event`], [`ChangeRow`]).

use aws_sdk_cloudformation::types::{Capability, ChangeSetType};
use aws_sdk_cloudformation::Client;

use super::{format_time, AwsError};

mod resources;
mod types;

pub use resources::StackResource;
pub use types::{ChangeRow, ChangeSetPage, Event, OutputValue, StackInfo, StackInput};

/// A CloudFormation client.
#[derive(Debug, Clone)]
pub struct CloudFormation {
    client: Client,
}

impl CloudFormation {
    /// A client over `client` (tests pass a mocked one).
    pub fn new(client: Client) -> Self {
        CloudFormation { client }
    }

    /// A client over `sdk`.
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        CloudFormation::new(Client::from_conf(
            aws_sdk_cloudformation::config::Builder::from(sdk)
                .interceptor(super::CallCounter)
                .build(),
        ))
    }

    /// Describes `stack` (name or id); `Ok(None)` when it does not exist (`ValidationError`
    /// "Stack with id X does not exist").
    pub async fn describe(&self, stack: &str) -> Result<Option<StackInfo>, AwsError> {
        let output = match self.client.describe_stacks().stack_name(stack).send().await {
            Ok(output) => output,
            Err(err) => return absent(err),
        };
        let Some(found) = output.stacks().first() else {
            return Ok(None);
        };
        let outputs = found
            .outputs()
            .iter()
            .filter_map(|o| {
                Some(OutputValue {
                    key: o.output_key()?.to_string(),
                    value: o.output_value()?.to_string(),
                    description: o.description().map(str::to_string),
                    export_name: o.export_name().map(str::to_string),
                })
            })
            .collect();
        Ok(Some(StackInfo {
            id: found.stack_id().unwrap_or(stack).to_string(),
            name: found.stack_name().unwrap_or(stack).to_string(),
            status: found
                .stack_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            reason: found.stack_status_reason().map(str::to_string),
            outputs,
            termination_protection: found.enable_termination_protection().unwrap_or(false),
            last_updated: found
                .last_updated_time()
                .or(found.creation_time())
                .map(format_time),
        }))
    }

    /// The status and parameters (`ResolvedValue`, else `ParameterValue`) of `stack`;
    /// `Ok(None)` when it does not exist.
    pub async fn parameters(
        &self,
        stack: &str,
    ) -> Result<Option<(String, Vec<(String, String)>)>, AwsError> {
        let output = match self.client.describe_stacks().stack_name(stack).send().await {
            Ok(output) => output,
            Err(err) => return absent(err),
        };
        Ok(output.stacks().first().map(|found| {
            let status = found
                .stack_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            let parameters = found
                .parameters()
                .iter()
                .filter_map(|p| {
                    Some((
                        p.parameter_key()?.to_string(),
                        p.resolved_value()
                            .or(p.parameter_value())
                            .unwrap_or_default()
                            .to_string(),
                    ))
                })
                .collect();
            (status, parameters)
        }))
    }

    /// The id of the newest event of `stack_id` (DescribeStackEvents, first page).
    pub async fn latest_event_id(&self, stack_id: &str) -> Result<Option<String>, AwsError> {
        let output = self
            .client
            .describe_stack_events()
            .stack_name(stack_id)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(output
            .stack_events()
            .first()
            .and_then(|e| e.event_id())
            .map(str::to_string))
    }

    /// Events of `stack_id` newer than `since` (all of the first page when `None`), oldest
    /// first. CloudFormation returns events newest first, in pages (DescribeStackEvents), so
    /// pages are read until `since` is met.
    pub async fn events_since(
        &self,
        stack_id: &str,
        since: Option<&str>,
    ) -> Result<Vec<Event>, AwsError> {
        let mut events = Vec::new();
        let mut next: Option<String> = None;
        'pages: loop {
            let output = self
                .client
                .describe_stack_events()
                .stack_name(stack_id)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(AwsError::from_sdk)?;
            for raw in output.stack_events() {
                let id = raw.event_id().unwrap_or_default();
                if Some(id) == since {
                    break 'pages;
                }
                events.push(Event {
                    id: id.to_string(),
                    time: raw.timestamp().map(format_time).unwrap_or_default(),
                    logical_id: raw.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: raw.resource_type().unwrap_or_default().to_string(),
                    physical_id: raw.physical_resource_id().map(str::to_string),
                    status: raw
                        .resource_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    reason: raw
                        .resource_status_reason()
                        .filter(|r| !r.is_empty())
                        .map(str::to_string),
                });
            }
            match output.next_token() {
                Some(token) if since.is_some() => next = Some(token.to_string()),
                // Without a marker, one page is the whole recent history we print.
                _ => break,
            }
        }
        events.reverse();
        Ok(events)
    }

    /// Creates the change set `name` (CreateChangeSet, `CAPABILITY_IAM`, `ClientToken`
    /// `name`); returns its id and the stack id.
    pub async fn create_change_set(
        &self,
        stack: &StackInput<'_>,
        name: &str,
        create: bool,
    ) -> Result<(String, String), AwsError> {
        let created = self
            .client
            .create_change_set()
            .stack_name(stack.name)
            .change_set_name(name)
            .change_set_type(if create {
                ChangeSetType::Create
            } else {
                ChangeSetType::Update
            })
            .template_body(stack.template)
            .set_parameters(Some(stack.sdk_parameters()))
            .capabilities(Capability::CapabilityIam)
            .set_tags(Some(stack.sdk_tags()))
            .set_role_arn(stack.role_arn.map(str::to_string))
            .description("nodectl deploy")
            .client_token(name)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok((
            created.id().unwrap_or(name).to_string(),
            created.stack_id().unwrap_or(stack.name).to_string(),
        ))
    }

    /// One page of the change set `id` (DescribeChangeSet).
    pub async fn describe_change_set(
        &self,
        id: &str,
        next: Option<String>,
    ) -> Result<ChangeSetPage, AwsError> {
        let output = self
            .client
            .describe_change_set()
            .change_set_name(id)
            .set_next_token(next)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        let rows = output
            .changes()
            .iter()
            .filter_map(|change| change.resource_change())
            .map(|rc| ChangeRow {
                action: rc
                    .action()
                    .map(|a| a.as_str())
                    .unwrap_or_default()
                    .to_string(),
                logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
                resource_type: rc.resource_type().unwrap_or_default().to_string(),
                replacement: rc
                    .replacement()
                    .map(|r| r.as_str())
                    .unwrap_or_default()
                    .to_string(),
            })
            .collect();
        Ok(ChangeSetPage {
            status: output
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            reason: output.status_reason().map(str::to_string),
            execution_status: output
                .execution_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            rows,
            next: output.next_token().map(str::to_string),
        })
    }

    /// The id and stack id of the change set `name` of `stack` (DescribeChangeSet by name), if
    /// it exists (`ChangeSetNotFound` otherwise).
    pub async fn change_set_by_name(
        &self,
        stack: &str,
        name: &str,
    ) -> Result<Option<(String, String)>, AwsError> {
        match self
            .client
            .describe_change_set()
            .stack_name(stack)
            .change_set_name(name)
            .send()
            .await
        {
            Ok(output) => Ok(Some((
                output.change_set_id().unwrap_or(name).to_string(),
                output.stack_id().unwrap_or(stack).to_string(),
            ))),
            Err(err) => {
                let err = AwsError::from_sdk(err);
                if err.code.as_deref() == Some("ChangeSetNotFound") {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// The stack id of the newest stack-level event of `stack` whose `ClientRequestToken` is
    /// `token` (DescribeStackEvents, first page): whether a CreateStack or UpdateStack with that
    /// token started an operation on it.
    pub async fn started_by(&self, stack: &str, token: &str) -> Result<Option<String>, AwsError> {
        let output = match self
            .client
            .describe_stack_events()
            .stack_name(stack)
            .send()
            .await
        {
            Ok(output) => output,
            Err(err) => return absent(err),
        };
        Ok(output
            .stack_events()
            .iter()
            .find(|event| event.client_request_token() == Some(token))
            .and_then(|event| event.stack_id())
            .map(str::to_string))
    }

    /// Executes the change set `id` (ExecuteChangeSet, with `token` as its
    /// `ClientRequestToken`; `disable_rollback`: `DisableRollback`, keep what a failed
    /// operation created).
    pub async fn execute_change_set(
        &self,
        id: &str,
        token: &str,
        disable_rollback: bool,
    ) -> Result<(), AwsError> {
        self.client
            .execute_change_set()
            .change_set_name(id)
            .client_request_token(token)
            .set_disable_rollback(disable_rollback.then_some(true))
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(())
    }

    /// Deletes the change set `id` (DeleteChangeSet).
    pub async fn delete_change_set(&self, id: &str) -> Result<(), AwsError> {
        self.client
            .delete_change_set()
            .change_set_name(id)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(())
    }

    /// Deletes the stack `id` (DeleteStack, with `token` as its `ClientRequestToken` if any,
    /// as the service role `role_arn` if any).
    pub async fn delete_stack(
        &self,
        id: &str,
        token: Option<&str>,
        role_arn: Option<&str>,
    ) -> Result<(), AwsError> {
        self.client
            .delete_stack()
            .stack_name(id)
            .set_client_request_token(token.map(str::to_string))
            .set_role_arn(role_arn.map(str::to_string))
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(())
    }

    /// Creates the stack (CreateStack, `CAPABILITY_IAM`); returns its id.
    pub async fn create_stack(
        &self,
        stack: &StackInput<'_>,
        token: &str,
    ) -> Result<String, AwsError> {
        let created = self
            .client
            .create_stack()
            .stack_name(stack.name)
            .template_body(stack.template)
            .set_parameters(Some(stack.sdk_parameters()))
            .capabilities(Capability::CapabilityIam)
            .set_tags(Some(stack.sdk_tags()))
            .set_role_arn(stack.role_arn.map(str::to_string))
            .set_disable_rollback(stack.disable_rollback.then_some(true))
            .client_request_token(token)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(created.stack_id().unwrap_or(stack.name).to_string())
    }

    /// Updates the stack `id` (UpdateStack, `CAPABILITY_IAM`). "No updates are to be
    /// performed." comes back as the `ValidationError` it is.
    pub async fn update_stack(
        &self,
        id: &str,
        stack: &StackInput<'_>,
        token: &str,
    ) -> Result<(), AwsError> {
        self.client
            .update_stack()
            .stack_name(id)
            .template_body(stack.template)
            .set_parameters(Some(stack.sdk_parameters()))
            .capabilities(Capability::CapabilityIam)
            .set_tags(Some(stack.sdk_tags()))
            .set_role_arn(stack.role_arn.map(str::to_string))
            .set_disable_rollback(stack.disable_rollback.then_some(true))
            .client_request_token(token)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(())
    }

    /// The template of the deployed stack `stack` as CloudFormation keeps it (GetTemplate,
    /// `TemplateStage` `Original`: the body as it was sent).
    pub async fn template(&self, stack: &str) -> Result<String, AwsError> {
        let output = self
            .client
            .get_template()
            .stack_name(stack)
            .template_stage(aws_sdk_cloudformation::types::TemplateStage::Original)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(output.template_body().unwrap_or_default().to_string())
    }

    /// The change sets of stack `stack` as `(name, id, execution status)` (ListChangeSets,
    /// all pages).
    pub async fn change_sets(
        &self,
        stack: &str,
    ) -> Result<Vec<(String, String, String)>, AwsError> {
        let mut found = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .list_change_sets()
                .stack_name(stack)
                .set_next_token(next)
                .send()
                .await
                .map_err(AwsError::from_sdk)?;
            for summary in page.summaries() {
                found.push((
                    summary.change_set_name().unwrap_or_default().to_string(),
                    summary.change_set_id().unwrap_or_default().to_string(),
                    summary
                        .execution_status()
                        .map(|status| status.as_str().to_string())
                        .unwrap_or_default(),
                ));
            }
            next = page.next_token().map(str::to_string);
            if next.is_none() {
                return Ok(found);
            }
        }
    }

    /// Turns termination protection on for stack `name` (UpdateTerminationProtection).
    pub async fn enable_termination_protection(&self, name: &str) -> Result<(), AwsError> {
        self.client
            .update_termination_protection()
            .stack_name(name)
            .enable_termination_protection(true)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(())
    }

    /// The stacks that import `export` (ListImports, all pages). ListImports answers
    /// `ValidationError` "Export 'X' is not imported by any stack." for an export nobody
    /// imports; that is no importer.
    pub async fn importers(&self, export: &str) -> Result<Vec<String>, AwsError> {
        let mut found = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let output = match self
                .client
                .list_imports()
                .export_name(export)
                .set_next_token(next.take())
                .send()
                .await
            {
                Ok(output) => output,
                Err(err) => {
                    let err = AwsError::from_sdk(err);
                    if err.code.as_deref() == Some("ValidationError")
                        && err.message.contains("is not imported by any stack")
                    {
                        return Ok(found);
                    }
                    return Err(err);
                }
            };
            found.extend(output.imports().iter().cloned());
            match output.next_token() {
                Some(token) => next = Some(token.to_string()),
                None => return Ok(found),
            }
        }
    }
}

/// `Ok(None)` when the SDK error says the stack does not exist (a `ValidationError` "Stack with
/// id ... does not exist"), the classified error otherwise: how the reads of a stack that may
/// be absent end.
fn absent<T, E, R>(
    err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> Result<Option<T>, AwsError>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let err = AwsError::from_sdk(err);
    if err.is_stack_not_found() {
        Ok(None)
    } else {
        Err(err)
    }
}
