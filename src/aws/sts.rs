//! AWS STS: who the credentials belong to (AWS STS API Reference, GetCallerIdentity).

use aws_config::SdkConfig;

use super::AwsError;

/// The account id of the caller (GetCallerIdentity, a read-only call that needs no
/// permission).
pub async fn caller_account(sdk: &SdkConfig) -> Result<String, AwsError> {
    let identity = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(AwsError::from_sdk)?;
    Ok(identity.account().unwrap_or_default().to_string())
}
