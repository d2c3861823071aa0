//! Secrets Manager calls whose retry is refused because the first attempt did the work (issue
//! 11): the SDK retries a call whose reply was lost, and the retry is refused. Each case is the
//! exact API sequence (aws-smithy-mocks, written from the AWS Secrets Manager API Reference),
//! with SDK retries off so that the refused retry is what nodectl sees.

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_sdk_secretsmanager::operation::restore_secret::RestoreSecretOutput;
use aws_sdk_secretsmanager::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::DateTime;
use nodectl::aws::secretsmanager::{Deletion, SecretsManager};

const ID: &str = "allora-single-node/node-secret";
const VALUE: &str = r#"{"allora-single-node":{"ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC":"test"}}"#;

fn client(rules: &[&Rule]) -> SecretsManager {
    let client: Client = mock_client!(aws_sdk_secretsmanager, RuleMode::Sequential, rules);
    SecretsManager::from_client(client)
}

/// A Secrets Manager error reply (awsJson1_1: `__type` and `message`).
fn error(code: &str, message: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(400).expect("status"),
        SdkBody::from(format!(r#"{{"__type":"{code}","message":"{message}"}}"#)),
    )
}

fn present() -> Rule {
    mock!(Client::describe_secret).then_output(|| DescribeSecretOutput::builder().name(ID).build())
}

fn scheduled() -> Rule {
    mock!(Client::describe_secret).then_output(|| {
        DescribeSecretOutput::builder()
            .name(ID)
            .deleted_date(DateTime::from_secs(1_796_000_000))
            .build()
    })
}

fn absent() -> Rule {
    mock!(Client::describe_secret).then_http_response(|| {
        error(
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.",
        )
    })
}

/// DeleteSecret: "You can't perform this operation on the secret because it was marked for
/// deletion" (InvalidRequestException) when a retry finds the first attempt's work done.
fn delete_refused() -> Rule {
    mock!(Client::delete_secret).then_http_response(|| {
        error(
            "InvalidRequestException",
            "You can't perform this operation on the secret because it was marked for deletion.",
        )
    })
}

#[tokio::test]
async fn a_refused_retry_of_delete_secret_is_success_when_the_secret_is_scheduled() {
    let secrets = client(&[&present(), &delete_refused(), &scheduled()]);
    let deletion = secrets.schedule_deletion(ID, 7).await.expect("scheduled");
    // The read-back knows when the deletion was requested, not when the window ends.
    assert_eq!(deletion, Deletion::Scheduled(None));
}

#[tokio::test]
async fn a_refused_delete_secret_is_success_when_the_secret_is_gone() {
    let secrets = client(&[&present(), &delete_refused(), &absent()]);
    let deletion = secrets.schedule_deletion(ID, 7).await.expect("gone");
    assert_eq!(deletion, Deletion::Absent);
}

#[tokio::test]
async fn a_refused_delete_secret_of_a_secret_still_there_is_the_error() {
    let secrets = client(&[&present(), &delete_refused(), &present()]);
    let err = secrets.schedule_deletion(ID, 7).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InvalidRequestException"));
}

#[tokio::test]
async fn a_secret_already_scheduled_is_not_deleted_again() {
    // Sequential mode: a DeleteSecret call would find no rule and fail the test.
    let secrets = client(&[&scheduled()]);
    let deletion = secrets.schedule_deletion(ID, 7).await.expect("no call");
    assert_eq!(deletion, Deletion::AlreadyScheduled);
}

/// CreateSecret's retry after a lost reply: ResourceExistsException, and the secret holds what
/// the first attempt stored.
#[tokio::test]
async fn a_refused_retry_of_create_secret_is_success_when_the_secret_holds_the_value() {
    let exists = mock!(Client::create_secret).then_http_response(|| {
        error(
            "ResourceExistsException",
            "The operation failed because the secret allora-single-node/node-secret already exists.",
        )
    });
    let read = mock!(Client::get_secret_value)
        .then_output(|| GetSecretValueOutput::builder().secret_string(VALUE).build());
    let secrets = client(&[&exists, &read]);
    secrets
        .create(
            ID,
            "node secret",
            VALUE,
            &[],
            "nodectl-1796000000-0000000000000000",
        )
        .await
        .expect("the first attempt stored it");
}

#[tokio::test]
async fn create_secret_refused_for_a_secret_holding_something_else_is_the_error() {
    let exists = mock!(Client::create_secret)
        .then_http_response(|| error("ResourceExistsException", "The secret already exists."));
    let read = mock!(Client::get_secret_value).then_output(|| {
        GetSecretValueOutput::builder()
            .secret_string(r#"{"other-node":{}}"#)
            .build()
    });
    let secrets = client(&[&exists, &read]);
    let err = secrets
        .create(
            ID,
            "node secret",
            VALUE,
            &[],
            "nodectl-1796000000-0000000000000000",
        )
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("ResourceExistsException"));
}

/// RestoreSecret's retry finds the secret restored already (no DeletedDate).
#[tokio::test]
async fn a_refused_retry_of_restore_secret_is_success_when_the_secret_is_back() {
    let refused = mock!(Client::restore_secret).then_http_response(|| {
        error(
            "InvalidRequestException",
            "The secret is not scheduled for deletion.",
        )
    });
    let secrets = client(&[&refused, &present()]);
    secrets
        .restore(ID)
        .await
        .expect("restored by the first attempt");
    // The plain success path, for contrast: one call.
    let ok = mock!(Client::restore_secret).then_output(|| RestoreSecretOutput::builder().build());
    client(&[&ok]).restore(ID).await.expect("restored");
}
