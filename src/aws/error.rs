//! Classification of AWS SDK errors, done once: the error code and message of a service error,
//! and whether a failure is throttling, a network problem, missing credentials, "not found" or
//! CloudFormation's "no changes".

use std::error::Error as StdError;
use std::fmt;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What kind of failure an [`AwsError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    /// The service answered with an error code (validation, access denied, ...).
    Service,
    /// The service throttled the request (`Throttling`, `RequestLimitExceeded`, "Rate exceeded").
    Throttling,
    /// The service failed (HTTP 5xx) or answered with something that is not an AWS response.
    ServerError,
    /// No credentials could be loaded, or they could not sign the request.
    Credentials,
    /// The endpoint could not be reached or the connection failed.
    Network,
    /// The request timed out.
    Timeout,
}

/// A classified AWS SDK error: the AWS error code (e.g. `ValidationError`) and message.
#[derive(Debug, Clone)]
pub struct AwsError {
    /// The AWS error code, for service errors.
    pub code: Option<String>,
    /// The AWS error message, or a description of the client-side failure.
    pub message: String,
    /// The kind of failure.
    pub kind: AwsErrorKind,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl StdError for AwsError {}

impl AwsError {
    /// Classifies an SDK error.
    pub fn from_sdk<E, R>(err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        let context = chain(&err);
        // By type: the credential provider's error somewhere in the source chain.
        let credentials = credentials_error(&err).is_some();
        match &err {
            SdkError::ServiceError(service) => {
                let inner = service.err();
                let code = inner.code().map(str::to_string);
                let message = inner
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| context.clone());
                let kind = if is_throttling(code.as_deref(), &message) {
                    AwsErrorKind::Throttling
                } else if code.is_none() {
                    AwsErrorKind::ServerError
                } else {
                    AwsErrorKind::Service
                };
                AwsError {
                    code,
                    message,
                    kind,
                }
            }
            SdkError::TimeoutError(_) => AwsError {
                code: None,
                message: format!("request timed out: {context}"),
                kind: AwsErrorKind::Timeout,
            },
            SdkError::DispatchFailure(_) if credentials => AwsError {
                code: None,
                message: format!("no AWS credentials: {context}"),
                kind: AwsErrorKind::Credentials,
            },
            SdkError::DispatchFailure(_) => AwsError {
                code: None,
                message: format!("could not reach the AWS endpoint: {context}"),
                kind: AwsErrorKind::Network,
            },
            SdkError::ConstructionFailure(_) => AwsError {
                code: None,
                message: format!("could not build the request: {context}"),
                kind: if credentials {
                    AwsErrorKind::Credentials
                } else {
                    AwsErrorKind::ServerError
                },
            },
            _ => AwsError {
                code: None,
                message: format!("unexpected response: {context}"),
                kind: AwsErrorKind::ServerError,
            },
        }
    }

    /// CloudFormation's answer for a stack that does not exist (`ValidationError`
    /// "Stack with id X does not exist", CloudFormation API Reference, DescribeStacks).
    pub fn is_stack_not_found(&self) -> bool {
        self.code.as_deref() == Some("ValidationError") && self.message.contains("does not exist")
    }

    /// CloudFormation's answer to an UpdateStack that changes nothing (`ValidationError`
    /// "No updates are to be performed.", CloudFormation API Reference, UpdateStack).
    pub fn is_no_updates(&self) -> bool {
        self.code.as_deref() == Some("ValidationError")
            && self.message.contains("No updates are to be performed")
    }

    /// Whether retrying the same read later may succeed (throttling, 5xx, network, timeout).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            AwsErrorKind::Throttling
                | AwsErrorKind::ServerError
                | AwsErrorKind::Network
                | AwsErrorKind::Timeout
        )
    }

    /// A hint for the client-side kinds of failure, if there is a generic one.
    pub fn generic_hint(&self) -> Option<String> {
        match self.kind {
            AwsErrorKind::Credentials => Some(
                "configure AWS credentials: `aws configure`, --profile or AWS_PROFILE, or \
                 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                    .into(),
            ),
            AwsErrorKind::Network | AwsErrorKind::Timeout => Some(
                "check the network and --endpoint-url / AWS_ENDPOINT_URL (unset it to use AWS \
                 itself)"
                    .into(),
            ),
            AwsErrorKind::Throttling => {
                Some("AWS is throttling this account's API calls; try again in a minute".into())
            }
            _ => None,
        }
    }
}

/// The credential provider's error (aws-credential-types `CredentialsError`) in the source
/// chain of `err`, if there is one.
fn credentials_error<'e>(
    err: &'e (dyn StdError + 'static),
) -> Option<&'e aws_credential_types::provider::error::CredentialsError> {
    let mut next: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(current) = next {
        if let Some(found) =
            current.downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
        {
            return Some(found);
        }
        next = current.source();
    }
    None
}

/// The error and its sources as one line of `Display` texts, `: `-separated (no `Debug` dumps);
/// a source whose text its predecessor already contains is skipped.
fn chain(err: &dyn StdError) -> String {
    let mut parts = vec![err.to_string()];
    let mut next = err.source();
    while let Some(source) = next {
        let text = source.to_string();
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        next = source.source();
    }
    parts.join(": ")
}

fn is_throttling(code: Option<&str>, message: &str) -> bool {
    matches!(
        code,
        Some(
            "Throttling"
                | "ThrottlingException"
                | "ThrottledException"
                | "RequestLimitExceeded"
                | "TooManyRequestsException"
                | "RequestThrottled"
                | "SlowDown"
        )
    ) || message.contains("Rate exceeded")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_recognised_by_code_or_message() {
        assert!(is_throttling(Some("Throttling"), "whatever"));
        assert!(is_throttling(Some("ValidationError"), "Rate exceeded"));
        assert!(!is_throttling(Some("ValidationError"), "bad template"));
    }

    #[test]
    fn not_found_and_no_updates_follow_the_cloudformation_texts() {
        let not_found = AwsError {
            code: Some("ValidationError".into()),
            message: "Stack with id shared does not exist".into(),
            kind: AwsErrorKind::Service,
        };
        assert!(not_found.is_stack_not_found());
        assert!(!not_found.is_no_updates());
        let no_updates = AwsError {
            code: Some("ValidationError".into()),
            message: "No updates are to be performed.".into(),
            kind: AwsErrorKind::Service,
        };
        assert!(no_updates.is_no_updates());
        assert!(!no_updates.is_transient());
    }
}
