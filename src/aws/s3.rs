//! Amazon S3 (Amazon S3 API Reference): the artifacts a stack's resources read from a bucket
//! (a Lambda function's code), put there by nodectl before the stack is deployed.

use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;

use super::AwsError;

/// An S3 client.
#[derive(Debug, Clone)]
pub struct S3 {
    client: aws_sdk_s3::Client,
}

impl S3 {
    /// A client over `sdk`. Path-style addressing (`<endpoint>/<bucket>/<key>`) when an
    /// endpoint URL is configured (an emulator on 127.0.0.1 has no per-bucket host names);
    /// virtual-hosted style, S3's default, otherwise.
    pub fn new(sdk: &SdkConfig) -> Self {
        let path_style = sdk.endpoint_url().is_some();
        S3 {
            client: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(sdk)
                    .force_path_style(path_style)
                    .interceptor(super::CallCounter)
                    .build(),
            ),
        }
    }

    /// Whether object `key` is in `bucket` (HeadObject; `NotFound` is `false`).
    pub async fn exists(&self, bucket: &str, key: &str) -> Result<bool, AwsError> {
        match self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err) => {
                let not_found = err
                    .as_service_error()
                    .is_some_and(|service| service.is_not_found());
                if not_found {
                    Ok(false)
                } else {
                    Err(AwsError::from_sdk(err))
                }
            }
        }
    }

    /// Puts `bytes` as object `key` of `bucket` (PutObject; the bucket's default encryption
    /// applies).
    pub async fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) -> Result<(), AwsError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(AwsError::from_sdk)
    }
}
