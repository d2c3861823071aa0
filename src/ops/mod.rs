//! Operations: what a command does with a [`Plan`] once it is validated. Each one walks the
//! plan's stack graph (deploy in dependency order, destroy in reverse), calls AWS through
//! [`crate::aws`] and the stack engine, reports progress to an
//! [`Observer`](crate::observer::Observer), asks through a [`Prompt`](crate::observer::Prompt),
//! and returns a report ([`Report`]: `Serialize` plus a text form) for the command to print.

pub mod day2;
pub mod deploy;
pub mod destroy;
pub mod diff;
pub mod health;
pub mod inspect;
pub mod logs;
pub mod lookup;
pub mod node;
pub mod replace;
pub mod volumes;
pub mod writer;

use std::time::Duration;

use aws_config::SdkConfig;
use serde::Serialize;

use crate::aws::poll::PollConfig;
use crate::aws::profile::{CredentialsProblem, ProfileInfo, ProfileKind};
use crate::aws::{self, AwsError, AwsOptions};
use crate::error::{Error, Result};
use crate::observer::Observer;
use crate::plan::Plan;
use crate::stack::Engine;

/// A result an operation hands back to its command: printed as JSON with `--output json`, and
/// as [`Report::text`] otherwise (nothing when the text is empty).
pub trait Report: Serialize {
    /// The text form for stdout.
    fn text(&self) -> String;
}

/// A connection to AWS for one command: the SDK configuration and the checked account.
pub struct Session {
    /// Shared SDK configuration.
    pub sdk: SdkConfig,
    /// The caller's account, equal to `AWS_ACCOUNT_ID`.
    pub account: String,
    /// The region every client talks to.
    pub region: String,
}

impl Session {
    /// A stack engine reporting to `observer`, with `timeout` (zero: no limit) and the polling
    /// of [`PollConfig::from_env`].
    pub fn engine<'a>(&self, observer: &'a dyn Observer, timeout: Duration) -> Engine<'a> {
        Engine {
            cfn: aws::cloudformation::CloudFormation::from_sdk(&self.sdk),
            observer,
            region: self.region.clone(),
            poll: PollConfig::from_env(),
            timeout: (!timeout.is_zero()).then_some(timeout),
            role_arn: None,
            disable_rollback: false,
        }
    }
}

/// Checks `AWS_ACCOUNT_ID` offline, then against the credentials' account (STS
/// GetCallerIdentity, a read-only call) before anything else is sent to AWS. `options` gives
/// the profile and endpoint; the region is the plan's.
pub async fn connect(options: AwsOptions, plan: &Plan) -> Result<Session> {
    let (expected, source) = plan.require_account()?;
    let profile = options.profile_info.clone();
    if let Some(info) = profile
        .as_ref()
        .filter(|info| info.explicit && !info.exists)
    {
        return Err(Error::usage(
            format!(
                "the AWS profile `{}` does not exist in the shared config or credentials file",
                info.name
            ),
            format!(
                "create it with `aws configure --profile {0}` (or `aws configure sso --profile \
                 {0}`), or check AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE",
                info.name
            ),
        ));
    }
    let sdk = aws::load(&AwsOptions {
        region: plan.region.clone(),
        ..options
    })
    .await;
    match aws::profile::credentials(&sdk).await {
        Ok(source) => tracing::debug!(
            "credentials from {source}{}",
            match &profile {
                Some(profile) if source.starts_with("profile") => format!(": `{}`", profile.name),
                _ => String::new(),
            }
        ),
        Err(problem) => return Err(credentials_error(problem, profile.as_ref())),
    }
    let actual = aws::sts::caller_account(&sdk)
        .await
        .map_err(|err: AwsError| {
            let hint = err.generic_hint();
            Error::aws(
                format!(
                    "cannot check the AWS account (STS GetCallerIdentity in `{}`)",
                    plan.region
                ),
                err,
                hint,
            )
        })?;
    if actual != expected {
        return Err(Error::AccountMismatch {
            expected: expected.to_string(),
            actual,
            configured_at: source.clone(),
        });
    }
    tracing::debug!(account = %actual, region = %plan.region, "credentials checked");
    Ok(Session {
        sdk,
        account: actual,
        region: plan.region.clone(),
    })
}

/// The error for credentials that could not be loaded, with what to do: `aws sso login` for
/// an IAM Identity Center profile, the network for a timeout, the files for a bad profile.
fn credentials_error(problem: CredentialsProblem, profile: Option<&ProfileInfo>) -> Error {
    let named = profile
        .map(|p| p.name.clone())
        .unwrap_or_else(|| "default".into());
    let sso = profile.filter(|p| p.kind == ProfileKind::Sso);
    match (problem, sso) {
        (CredentialsProblem::TimedOut(secs), _) => Error::usage(
            format!("loading AWS credentials timed out after {secs} s"),
            "check the network; for an SSO or role profile, check that its endpoints are reachable",
        ),
        (CredentialsProblem::InvalidConfiguration(message), _) => Error::usage(
            format!("the AWS profile `{named}` is not valid: {message}"),
            "fix the profile in ~/.aws/config (or AWS_CONFIG_FILE); `aws configure list \
             --profile NAME` shows what the AWS CLI reads",
        ),
        (_, Some(profile)) => Error::usage(
            format!(
                "the AWS profile `{}` uses IAM Identity Center (SSO), and its sign-in is \
                 missing or expired",
                profile.name
            ),
            format!("aws sso login --profile {}", profile.name),
        ),
        (CredentialsProblem::NotFound, _) => Error::usage(
            format!(
                "no AWS credentials found (looked in the environment, profile `{named}`, the \
                 container and the instance metadata)"
            ),
            "configure credentials: `aws configure`, `aws configure sso`, --profile NAME, or \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ),
        (CredentialsProblem::Failed(message), _) => Error::usage(
            format!("loading AWS credentials (profile `{named}`) failed: {message}"),
            "check the profile with `aws sts get-caller-identity --profile NAME`",
        ),
    }
}
