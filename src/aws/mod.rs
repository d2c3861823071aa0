//! The effects layer: every AWS call nodectl makes goes through one thin file per service,
//! which maps SDK errors into [`AwsError`] once, and one [`poll`] loop (backoff, jitter,
//! throttling tolerance, timeout) for everything that waits.
//!
//! [`load`] builds the one [`SdkConfig`] of a command (profile, region, endpoint override,
//! retries) on a single hyper 1 + rustls + ring HTTP client (see `../shared/reference/moto.md`
//! section 7 for why: no aws-lc C build, no legacy hyper 0.14).

pub mod cloudformation;
pub mod ec2;
mod error;
pub mod poll;
pub mod pricing;
pub mod secretsmanager;
pub mod sts;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

pub use error::{AwsError, AwsErrorKind};

/// Connection settings for the AWS SDK, resolved from flags, environment and `.env`.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// Named profile (`--profile`); `None` uses the standard chain (`AWS_PROFILE`, default).
    pub profile: Option<String>,
    /// Region every client talks to, e.g. `us-east-1`.
    pub region: String,
    /// Endpoint override (`--endpoint-url`); the SDK itself also honours `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
    /// Maximum attempts per API call, including the first (standard retry mode).
    pub max_attempts: u32,
}

/// Default attempts per API call: as the AWS CDK does for CloudFormation (7 attempts with a
/// backoff capped at 15 s, `toolkit-lib api/aws-auth/sdk.ts`, see
/// `../shared/reference/cli-anchors.md` section 1.3).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 7;

/// Loads the shared SDK configuration. Credentials come from aws-config's standard chain
/// (environment, profile files, SSO, process, IMDS); nothing is read from the `.env` file.
pub async fn load(options: &AwsOptions) -> SdkConfig {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let retry = RetryConfig::standard()
        .with_max_attempts(options.max_attempts.max(1))
        .with_max_backoff(Duration::from_secs(15));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .region(Region::new(options.region.clone()))
        .retry_config(retry);
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// RFC 3339 UTC with whole seconds, e.g. `2026-11-22T10:15:02Z`.
pub fn format_time(time: &aws_smithy_types::DateTime) -> String {
    use aws_smithy_types::date_time::Format;
    aws_smithy_types::DateTime::from_secs(time.secs())
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| time.secs().to_string())
}

/// A fresh idempotency token (a change set name, a `ClientRequestToken`):
/// `nodectl-<unix seconds>-<random>`, 26 characters.
pub fn token() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!("nodectl-{secs}-{:08x}", fastrand::u32(..))
}
