//! AWS STS: who the credentials belong to (AWS STS API Reference, GetCallerIdentity).

use aws_config::SdkConfig;

use super::AwsError;

/// The account id of the caller (GetCallerIdentity, a read-only call that needs no
/// permission).
pub async fn caller_account(sdk: &SdkConfig) -> Result<String, AwsError> {
    let client = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(sdk)
            .interceptor(super::CallCounter)
            .build(),
    );
    let identity = client
        .get_caller_identity()
        .send()
        .await
        .map_err(AwsError::from_sdk)?;
    Ok(identity.account().unwrap_or_default().to_string())
}
