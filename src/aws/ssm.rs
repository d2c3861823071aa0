//! AWS Systems Manager (AWS Systems Manager API Reference): Run Command with the
//! `AWS-RunShellScript` document (SendCommand, GetCommandInvocation, CancelCommand) and the
//! agent's registration (DescribeInstanceInformation); Parameter Store (GetParameter) for
//! the latest AMI at deploy time. Waiting is the caller's: see
//! [`crate::ops::node`], which polls through [`super::poll`].

use aws_config::SdkConfig;
use aws_sdk_ssm::types::{CommandInvocationStatus, InstanceInformationStringFilter};

use super::AwsError;

/// The document that runs shell lines on Linux instances (as root, with `/bin/sh`; Amazon
/// Linux's `sh` is bash).
pub const RUN_SHELL_SCRIPT: &str = "AWS-RunShellScript";

/// How much standard output GetCommandInvocation returns inline: 24,000 characters; the rest is
/// cut (`StandardOutputContent`, AWS Systems Manager API Reference). Standard error: 8,000.
pub const INLINE_STDOUT_LIMIT: usize = 24_000;

/// A Run Command client.
#[derive(Debug, Clone)]
pub struct Ssm {
    client: aws_sdk_ssm::Client,
}

/// One command's result on one instance, as GetCommandInvocation reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// `Pending`, `InProgress`, `Delayed`, `Success`, `Cancelled`, `TimedOut`, `Failed`,
    /// `Cancelling`.
    pub status: String,
    /// Whether the status is final (not pending, in progress, delayed or cancelling).
    pub finished: bool,
    /// The script's exit code (`ResponseCode`; -1 while it runs).
    pub exit_code: i32,
    /// Standard output, at most [`INLINE_STDOUT_LIMIT`] characters.
    pub stdout: String,
    /// Standard error, at most 8,000 characters.
    pub stderr: String,
}

/// The SSM agent of an instance, as DescribeInstanceInformation reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// `Online`, `ConnectionLost` or `Inactive`.
    pub ping_status: String,
    /// The agent's version, e.g. `3.3.1142.0`.
    pub version: Option<String>,
    /// The last ping (RFC 3339), if any.
    pub last_ping: Option<String>,
}

impl Ssm {
    /// A client over `sdk` (the SDK also honours `AWS_ENDPOINT_URL_SSM`).
    pub fn new(sdk: &SdkConfig) -> Self {
        Ssm::from_client(aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(sdk)
                .interceptor(super::CallCounter)
                .build(),
        ))
    }

    /// A wrapper around an existing client (tests use mocked ones).
    pub fn from_client(client: aws_sdk_ssm::Client) -> Self {
        Ssm { client }
    }

    /// Runs `lines` as one shell script on `instance_id` (SendCommand, document
    /// [`RUN_SHELL_SCRIPT`], parameter `executionTimeout` = `timeout_secs`, at least 1); returns
    /// the command id. `comment` (at most 100 characters) shows in the console's history.
    pub async fn send_shell(
        &self,
        instance_id: &str,
        lines: Vec<String>,
        timeout_secs: u64,
        comment: &str,
    ) -> Result<String, AwsError> {
        let output = self
            .client
            .send_command()
            .instance_ids(instance_id)
            .document_name(RUN_SHELL_SCRIPT)
            .parameters("commands", lines)
            .parameters("executionTimeout", vec![timeout_secs.max(1).to_string()])
            .comment(comment.chars().take(100).collect::<String>())
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(output
            .command()
            .and_then(|command| command.command_id())
            .unwrap_or_default()
            .to_string())
    }

    /// The command's invocation on `instance_id` (GetCommandInvocation); `None` while SSM does
    /// not know it yet (`InvocationDoesNotExist`, which SSM answers for a moment after
    /// SendCommand).
    pub async fn invocation(
        &self,
        command_id: &str,
        instance_id: &str,
    ) -> Result<Option<Invocation>, AwsError> {
        let output = match self
            .client
            .get_command_invocation()
            .command_id(command_id)
            .instance_id(instance_id)
            .send()
            .await
            .map_err(AwsError::from_sdk)
        {
            Ok(output) => output,
            Err(err) if err.code.as_deref() == Some("InvocationDoesNotExist") => return Ok(None),
            Err(err) => return Err(err),
        };
        let status = output
            .status()
            .cloned()
            .unwrap_or(CommandInvocationStatus::Pending);
        let finished = !matches!(
            status,
            CommandInvocationStatus::Pending
                | CommandInvocationStatus::InProgress
                | CommandInvocationStatus::Delayed
                | CommandInvocationStatus::Cancelling
        );
        Ok(Some(Invocation {
            status: status.as_str().to_string(),
            finished,
            exit_code: output.response_code(),
            stdout: output.standard_output_content().unwrap_or_default().into(),
            stderr: output.standard_error_content().unwrap_or_default().into(),
        }))
    }

    /// Cancels a command (CancelCommand); best effort for an interrupted or timed-out wait.
    pub async fn cancel(&self, command_id: &str, instance_id: &str) -> Result<(), AwsError> {
        self.client
            .cancel_command()
            .command_id(command_id)
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(())
    }

    /// The value of the Parameter Store parameter `name` (GetParameter), `None` if there is
    /// none (`ParameterNotFound`). The public `/aws/service/...` parameters name the latest
    /// AMIs (Amazon EC2 User Guide, "Query for the latest Amazon Linux AMI IDs using Systems
    /// Manager Parameter Store").
    pub async fn parameter(&self, name: &str) -> Result<Option<String>, AwsError> {
        match self
            .client
            .get_parameter()
            .name(name)
            .send()
            .await
            .map_err(AwsError::from_sdk)
        {
            Ok(output) => Ok(output
                .parameter()
                .and_then(|p| p.value())
                .map(str::to_string)),
            Err(err) if err.code.as_deref() == Some("ParameterNotFound") => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The SSM agent registered for `instance_id`, if any (DescribeInstanceInformation with the
    /// `InstanceIds` filter). `None`: the agent never registered (no route to the SSM
    /// endpoints, or a role without `AmazonSSMManagedInstanceCore`).
    pub async fn agent(&self, instance_id: &str) -> Result<Option<Agent>, AwsError> {
        let filter = InstanceInformationStringFilter::builder()
            .key("InstanceIds")
            .values(instance_id)
            .build()
            .map_err(|err| AwsError {
                code: None,
                message: err.to_string(),
                kind: super::AwsErrorKind::Service,
            })?;
        let output = self
            .client
            .describe_instance_information()
            .filters(filter)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        Ok(output
            .instance_information_list()
            .iter()
            .find(|info| info.instance_id() == Some(instance_id))
            .map(|info| Agent {
                ping_status: info
                    .ping_status()
                    .map(|status| status.as_str().to_string())
                    .unwrap_or_else(|| "Unknown".into()),
                version: info.agent_version().map(str::to_string),
                last_ping: info.last_ping_date_time().map(|time| time.to_string()),
            }))
    }
}
