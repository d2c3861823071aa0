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
pub mod profile;
pub mod s3;
pub mod secretsmanager;
pub mod ssm;
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
    /// The profile in use as read from the shared config files (for messages and hints).
    pub profile_info: Option<profile::ProfileInfo>,
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
    // No call of nodectl's takes long to answer: an endpoint that accepts and never answers (a
    // black-holed proxy) fails the attempt after a minute, and is retried, instead of hanging
    // the command (the SDK sets no read timeout by default).
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client.clone())
        .region(Region::new(options.region.clone()))
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(profile) = &options.profile {
        // An explicit profile beats credentials in the environment, as `aws --profile` does
        // (the default chain would try AWS_ACCESS_KEY_ID first): its own provider, which
        // handles static keys, SSO, role assumption, web identity and credential_process.
        let config = aws_config::provider_config::ProviderConfig::without_region()
            .with_http_client(http_client)
            .with_region(Some(Region::new(options.region.clone())))
            .with_behavior_version(Some(BehaviorVersion::latest()));
        loader = loader.profile_name(profile).credentials_provider(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .configure(&config)
                .profile_name(profile)
                .build(),
        );
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// The AWS API calls of this process by `Service.Operation`, each attempt counted (SDK
/// retries included).
static CALLS: std::sync::Mutex<std::collections::BTreeMap<String, u32>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// An SDK interceptor that counts every attempt of every call (`CALLS`), for [`report_calls`],
/// and logs each at trace level (`-vv`).
#[derive(Debug, Clone, Copy)]
pub struct CallCounter;

impl aws_smithy_runtime_api::client::interceptors::Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "nodectl-call-counter"
    }

    fn read_before_transmit(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if let Some(metadata) = cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
        {
            let key = format!("{}.{}", metadata.service(), metadata.name());
            tracing::trace!("AWS API call: {key}");
            *CALLS.lock().expect("lock").entry(key).or_default() += 1;
        }
        Ok(())
    }
}

/// The AWS API calls made so far: `(Service.Operation, attempts)`, sorted.
pub fn calls() -> Vec<(String, u32)> {
    CALLS
        .lock()
        .expect("lock")
        .iter()
        .map(|(name, count)| (name.clone(), *count))
        .collect()
}

/// Logs the AWS API calls of this command at debug level (`-v`): the total, then each
/// operation's count.
pub fn report_calls() {
    let calls = calls();
    if calls.is_empty() {
        return;
    }
    let total: u32 = calls.iter().map(|(_, count)| count).sum();
    let each = calls
        .iter()
        .map(|(name, count)| format!("{name} {count}"))
        .collect::<Vec<_>>()
        .join(", ");
    tracing::debug!("AWS API calls: {total} ({each})");
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
