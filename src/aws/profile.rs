//! The AWS profile a command uses, read from the shared config and credentials files as
//! aws-config reads them (`aws_config::profile::load`: `~/.aws/config`, `~/.aws/credentials`,
//! or `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE`): its name, its `region`, and what
//! kind of credentials it holds, so that a missing region can come from the profile (as the AWS
//! CLI v2 does) and a credential error can say what to do (`aws sso login --profile NAME`).

use std::borrow::Cow;

use aws_runtime::env_config::file::EnvConfigFiles;
use aws_types::os_shim_internal::{Env, Fs};

/// What kind of credentials a profile holds, from its keys (AWS CLI User Guide,
/// "Configuration and credential file settings").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileKind {
    /// IAM Identity Center: `sso_session` or `sso_start_url`; needs `aws sso login`.
    Sso,
    /// `web_identity_token_file` with `role_arn`.
    WebIdentity,
    /// `role_arn` with `source_profile` or `credential_source`.
    AssumeRole,
    /// `credential_process`.
    Process,
    /// `aws_access_key_id` and `aws_secret_access_key`.
    StaticKeys,
    /// None of the above (or the profile does not exist).
    Other,
}

/// The selected profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileInfo {
    /// Its name: `--profile`, else `AWS_PROFILE`, else `default`.
    pub name: String,
    /// Whether `--profile` named it (an explicit profile beats credentials in the environment,
    /// as in the AWS CLI v2).
    pub explicit: bool,
    /// Whether the files define it.
    pub exists: bool,
    /// Its `region`, if set.
    pub region: Option<String>,
    /// What kind of credentials it holds.
    pub kind: ProfileKind,
}

/// Reads the profile named by `explicit` (`--profile`), else the one the environment selects
/// (`AWS_PROFILE`, else `default`). Unreadable or malformed files give a profile that does not
/// exist: the SDK reports them when credentials are needed.
pub async fn load(explicit: Option<&str>) -> ProfileInfo {
    let env = Env::real();
    let selected = explicit.map(|name| Cow::Owned(name.to_string()));
    let loaded =
        aws_config::profile::load(&Fs::real(), &env, &EnvConfigFiles::default(), selected).await;
    let name = explicit
        .map(str::to_string)
        .or_else(|| env.get("AWS_PROFILE").ok())
        .unwrap_or_else(|| "default".to_string());
    let profile = loaded
        .as_ref()
        .ok()
        .and_then(|set| set.get_profile(&name).cloned());
    let get = |key: &str| {
        profile
            .as_ref()
            .and_then(|profile| profile.get(key))
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_string)
    };
    let kind = if get("sso_session").is_some() || get("sso_start_url").is_some() {
        ProfileKind::Sso
    } else if get("web_identity_token_file").is_some() {
        ProfileKind::WebIdentity
    } else if get("role_arn").is_some() {
        ProfileKind::AssumeRole
    } else if get("credential_process").is_some() {
        ProfileKind::Process
    } else if get("aws_access_key_id").is_some() {
        ProfileKind::StaticKeys
    } else {
        ProfileKind::Other
    };
    ProfileInfo {
        exists: profile.is_some(),
        region: get("region"),
        kind,
        name,
        explicit: explicit.is_some(),
    }
}

/// Why no credentials could be loaded, by the type of the provider's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialsProblem {
    /// No provider had credentials (`CredentialsNotLoaded`).
    NotFound,
    /// The provider took too long (`ProviderTimedOut`), in seconds.
    TimedOut(u64),
    /// The profile files are invalid (`InvalidConfiguration`): the provider's message.
    InvalidConfiguration(String),
    /// The provider failed (`ProviderError`, `Unhandled`): its message.
    Failed(String),
}

/// Loads the credentials of `sdk` once (they are cached for the calls that follow) and
/// returns where they came from (`environment variables`, `profile (SSO)`, ...), for `-v`.
///
/// Errors: a [`CredentialsProblem`], classified by the type of aws-credential-types'
/// `CredentialsError`, never by its text.
pub async fn credentials(sdk: &aws_config::SdkConfig) -> Result<String, CredentialsProblem> {
    use aws_credential_types::provider::error::CredentialsError;
    use aws_credential_types::provider::ProvideCredentials;
    let Some(provider) = sdk.credentials_provider() else {
        return Err(CredentialsProblem::NotFound);
    };
    match provider.provide_credentials().await {
        Ok(credentials) => Ok(source_of(&credentials)),
        Err(err) => Err(match &err {
            CredentialsError::CredentialsNotLoaded(_) => CredentialsProblem::NotFound,
            CredentialsError::ProviderTimedOut(timeout) => {
                CredentialsProblem::TimedOut(timeout.timeout_duration().as_secs())
            }
            CredentialsError::InvalidConfiguration(_) => {
                CredentialsProblem::InvalidConfiguration(sources(&err))
            }
            _ => CredentialsProblem::Failed(sources(&err)),
        }),
    }
}

/// The messages of `err`'s sources (the error's own text is its variant's name).
fn sources(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut next = err.source();
    while let Some(source) = next {
        let text = source.to_string();
        if !parts.iter().any(|part: &String| part.contains(&text)) {
            parts.push(text);
        }
        next = source.source();
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}

/// Where `credentials` came from, by the features their provider recorded on them
/// (aws-credential-types `AwsCredentialFeature`, the SDK's own credential-source tracking).
fn source_of(credentials: &aws_credential_types::Credentials) -> String {
    use aws_credential_types::credential_feature::AwsCredentialFeature as F;
    let features = credentials
        .get_property::<Vec<F>>()
        .cloned()
        .unwrap_or_default();
    let has = |feature: F| features.contains(&feature);
    let source = if has(F::CredentialsEnvVars) {
        "environment variables (AWS_ACCESS_KEY_ID)"
    } else if has(F::CredentialsProfileSso) || has(F::CredentialsSso) {
        "profile (IAM Identity Center)"
    } else if has(F::CredentialsProfileStsWebIdToken) || has(F::CredentialsEnvVarsStsWebIdToken) {
        "web identity token"
    } else if has(F::CredentialsProfileProcess) || has(F::CredentialsProcess) {
        "credential_process"
    } else if has(F::CredentialsStsAssumeRole) || has(F::CredentialsProfileSourceProfile) {
        "profile (assumed role)"
    } else if has(F::CredentialsProfile) {
        "profile (access keys)"
    } else if has(F::CredentialsImds) {
        "instance metadata (IMDS)"
    } else if has(F::CredentialsHttp) {
        "container credentials endpoint"
    } else {
        "the default credential chain"
    };
    source.to_string()
}
