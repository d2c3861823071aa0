//! AWS Secrets Manager (AWS Secrets Manager API Reference): reading, writing and deleting the
//! secrets nodectl keeps for nodes.

use aws_config::SdkConfig;

use super::{format_time, AwsError};

/// A Secrets Manager client.
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

/// What DescribeSecret says of a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretState {
    /// No such secret.
    Absent,
    /// It exists.
    Present,
    /// Its deletion is scheduled (since the RFC 3339 date given).
    ScheduledForDeletion(String),
}

/// What a deletion request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// Deletion scheduled; the date (RFC 3339) after which it is gone.
    Scheduled(Option<String>),
    /// No such secret.
    Absent,
    /// The secret was already scheduled for deletion.
    AlreadyScheduled,
}

impl SecretsManager {
    /// A client over `sdk`.
    pub fn new(sdk: &SdkConfig) -> Self {
        SecretsManager {
            client: aws_sdk_secretsmanager::Client::from_conf(
                aws_sdk_secretsmanager::config::Builder::from(sdk)
                    .interceptor(super::CallCounter)
                    .build(),
            ),
        }
    }

    /// A wrapper of an already built `client` (tests hand in a mocked one).
    pub fn from_client(client: aws_sdk_secretsmanager::Client) -> Self {
        SecretsManager { client }
    }

    /// The `SecretString` of secret `id` (GetSecretValue), or `None` when there is no such
    /// secret (`ResourceNotFoundException`).
    pub async fn get_string(&self, id: &str) -> Result<Option<String>, AwsError> {
        match self.client.get_secret_value().secret_id(id).send().await {
            Ok(output) => Ok(Some(output.secret_string().unwrap_or("{}").to_string())),
            Err(err) => {
                let err = AwsError::from_sdk(err);
                if err.code.as_deref() == Some("ResourceNotFoundException") {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// Whether secret `id` exists, and whether its deletion is scheduled (DescribeSecret:
    /// `DeletedDate` is set from DeleteSecret until the recovery window ends).
    pub async fn state(&self, id: &str) -> Result<SecretState, AwsError> {
        match self.client.describe_secret().secret_id(id).send().await {
            Ok(output) => Ok(match output.deleted_date() {
                Some(date) => SecretState::ScheduledForDeletion(format_time(date)),
                None => SecretState::Present,
            }),
            Err(err) => {
                let err = AwsError::from_sdk(err);
                if err.code.as_deref() == Some("ResourceNotFoundException") {
                    Ok(SecretState::Absent)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// Creates secret `id` with `value` (CreateSecret, with `token` as its
    /// `ClientRequestToken`: a retried request creates no second version) and `tags`.
    /// `ResourceExistsException` comes back as the error it is.
    pub async fn create(
        &self,
        id: &str,
        description: &str,
        value: &str,
        tags: &[(String, String)],
        token: &str,
    ) -> Result<(), AwsError> {
        let tags = tags
            .iter()
            .map(|(key, value)| {
                aws_sdk_secretsmanager::types::Tag::builder()
                    .key(key)
                    .value(value)
                    .build()
            })
            .collect();
        match self
            .client
            .create_secret()
            .name(id)
            .description(description)
            .secret_string(value)
            .set_tags(Some(tags))
            .client_request_token(token)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // A retry after a lost reply: the secret exists with what this call stored
            // (CreateSecret `ClientRequestToken`; AWS Secrets Manager API Reference).
            Err(err) => self.holds(id, value, AwsError::from_sdk(err)).await,
        }
    }

    /// `Ok` when secret `id` holds `value` (read back after `err`), else `err`.
    async fn holds(&self, id: &str, value: &str, err: AwsError) -> Result<(), AwsError> {
        match self.get_string(id).await {
            Ok(Some(current)) if current == value => Ok(()),
            _ => Err(err),
        }
    }

    /// Cancels the scheduled deletion of secret `id` (RestoreSecret); restoring a secret that
    /// is not scheduled for deletion changes nothing.
    pub async fn restore(&self, id: &str) -> Result<(), AwsError> {
        match self.client.restore_secret().secret_id(id).send().await {
            Ok(_) => Ok(()),
            // A retry after a lost reply finds the secret restored already.
            Err(err) => match self.state(id).await {
                Ok(SecretState::Present) => Ok(()),
                _ => Err(AwsError::from_sdk(err)),
            },
        }
    }

    /// Stores `value` as the new current version of secret `id` (PutSecretValue, with `token`
    /// as its `ClientRequestToken`: 32 to 64 characters).
    pub async fn put_string(&self, id: &str, value: &str, token: &str) -> Result<(), AwsError> {
        match self
            .client
            .put_secret_value()
            .secret_id(id)
            .secret_string(value)
            .client_request_token(token)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // A retry after a lost reply: the version with this token holds the value already
            // (PutSecretValue `ClientRequestToken`).
            Err(err) => self.holds(id, value, AwsError::from_sdk(err)).await,
        }
    }

    /// Schedules the deletion of secret `id` after `recovery_days` (DeleteSecret
    /// `RecoveryWindowInDays`: 7 to 30), unless it is already scheduled
    /// ([`Deletion::AlreadyScheduled`]) or absent.
    pub async fn schedule_deletion(
        &self,
        id: &str,
        recovery_days: i64,
    ) -> Result<Deletion, AwsError> {
        match self.state(id).await? {
            SecretState::Absent => return Ok(Deletion::Absent),
            SecretState::ScheduledForDeletion(_) => return Ok(Deletion::AlreadyScheduled),
            SecretState::Present => {}
        }
        match self
            .client
            .delete_secret()
            .secret_id(id)
            .recovery_window_in_days(recovery_days)
            .send()
            .await
        {
            Ok(output) => Ok(Deletion::Scheduled(output.deletion_date().map(format_time))),
            // Refusals are decided by reading the secret back (DescribeSecret), not by their
            // text: gone, or scheduled for deletion (by a retry of this very call whose reply
            // was lost, or earlier).
            Err(err) => match self.state(id).await {
                Ok(SecretState::Absent) => Ok(Deletion::Absent),
                // DescribeSecret's `DeletedDate` is when the deletion was requested, not
                // DeleteSecret's `DeletionDate` (the end of the recovery window): no date.
                Ok(SecretState::ScheduledForDeletion(_)) => Ok(Deletion::Scheduled(None)),
                _ => Err(AwsError::from_sdk(err)),
            },
        }
    }
}
