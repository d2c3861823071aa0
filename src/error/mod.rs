//! The one error type of nodectl: what failed, while doing what, the AWS code and message, a
//! `hint:` for what to do next, and the process exit code.
//!
//! Every message is printed by [`crate::printer::Printer::error`] in the shape
//!
//! ```text
//! error: cannot deploy stack `node-1` in `us-east-1`: ValidationError: <AWS message>
//! hint: <what to do next>
//! ```

use std::path::PathBuf;
use std::time::Duration;

use crate::aws::AwsError;

mod exit;
mod issue;

pub use exit::{ExitCode, EXIT_CODES, EXIT_CODES_HELP};
pub use issue::{ConfigIssue, Source};

/// Everything that can make a nodectl command fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration failed local validation; no AWS request was made.
    #[error("invalid configuration")]
    Config(Vec<ConfigIssue>),

    /// The request could not be carried out as asked (bad flag combination, missing TTY, ...).
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to do about it.
        hint: Option<String>,
    },

    /// An AWS API call failed.
    #[error("{action}: {source}")]
    Aws {
        /// What nodectl was doing, e.g. "cannot deploy stack `x` in `us-east-1`".
        action: String,
        /// The classified SDK error (code and message).
        #[source]
        source: AwsError,
        /// What to do about it.
        hint: Option<String>,
    },

    /// The credentials belong to another account than `AWS_ACCOUNT_ID` says.
    #[error("the AWS credentials are for account {actual}, but {configured_at} sets AWS_ACCOUNT_ID={expected}")]
    AccountMismatch {
        /// The configured account id.
        expected: String,
        /// The caller's account id from STS GetCallerIdentity.
        actual: String,
        /// Where the configured value came from.
        configured_at: Source,
    },

    /// A CloudFormation stack operation ended in failure.
    #[error("{operation} of stack `{stack}` in `{region}` failed: the stack is {status}")]
    StackFailed {
        /// "create", "update", "delete", ...
        operation: String,
        /// Stack name.
        stack: String,
        /// Region.
        region: String,
        /// The final stack status, e.g. `ROLLBACK_COMPLETE`.
        status: String,
        /// The earliest real failure: `LogicalId (Type) STATUS: reason`.
        root_cause: Option<String>,
        /// Whether CloudFormation rolled the stack back to a usable (or absent) state.
        rolled_back: bool,
        /// What to do about it.
        hint: String,
    },

    /// `--timeout` elapsed while the stack was still in progress.
    #[error("timed out after {} waiting for stack `{stack}` in `{region}`; it is still {status}", humantime::format_duration(*.waited))]
    Timeout {
        /// Stack name.
        stack: String,
        /// Region.
        region: String,
        /// The last seen status.
        status: String,
        /// How long nodectl waited, in seconds precision.
        waited: Duration,
    },

    /// A template file (built in, or from `NODECTL_TEMPLATES_DIR`) is broken.
    #[error("template `{path}` {problem}")]
    TemplateDefect {
        /// The file, e.g. `templates/<blueprint>/single-node.json`.
        path: String,
        /// What is wrong, e.g. "has no parameter X".
        problem: String,
    },

    /// A rendered template is larger than CloudFormation accepts inline.
    #[error("the template of stack `{stack}` is {bytes} bytes, more than the {limit} bytes CloudFormation accepts inline", limit = crate::template::TEMPLATE_BODY_LIMIT)]
    TemplateTooLarge {
        /// The stack.
        stack: String,
        /// The template's size in bytes.
        bytes: usize,
    },

    /// The command line names a stack the blueprint does not have.
    #[error("the {blueprint} blueprint has no stack `{id}`")]
    UnknownStack {
        /// The id given.
        id: String,
        /// The blueprint.
        blueprint: &'static str,
        /// The ids it has.
        known: Vec<String>,
        /// The closest id, if one is close.
        closest: Option<String>,
    },

    /// A stack is in a state nodectl will not deploy over.
    #[error("cannot deploy stack `{stack}` in `{region}`: it is {status}")]
    StackState {
        /// The stack.
        stack: String,
        /// The region.
        region: String,
        /// Its status.
        status: String,
        /// How to get it out of that state.
        hint: String,
    },

    /// Another operation changed a stack while nodectl waited to execute its change set.
    #[error("another operation changed stack `{stack}` in `{region}` while this deploy waited; its change set was not executed ({detail})")]
    ConcurrentChange {
        /// The stack.
        stack: String,
        /// The region.
        region: String,
        /// What CloudFormation said.
        detail: String,
    },

    /// A stack to deploy needs a stack that is not deployed (or not usable).
    #[error("stack `{stack}` needs stack `{needs}`, which {state} in `{region}`")]
    NeedsStack {
        /// The stack to deploy.
        stack: String,
        /// The stack it needs.
        needs: String,
        /// The id of the stack it needs, for the hint.
        needs_id: String,
        /// "does not exist", "is ROLLBACK_COMPLETE", ...
        state: String,
        /// The region.
        region: String,
    },

    /// A stack to delete has termination protection enabled.
    #[error("stack `{stack}` in `{region}` has termination protection enabled")]
    TerminationProtected {
        /// The stack.
        stack: String,
        /// The region.
        region: String,
    },

    /// A stack to delete still has its exports imported by other stacks.
    #[error("cannot delete stack `{stack}`: its exports are still imported by {}", importers.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "))]
    StillImported {
        /// The stack.
        stack: String,
        /// Its id in the plan.
        id: String,
        /// The ids of the plan's stacks that depend on it.
        dependents: Vec<String>,
        /// The importing stacks.
        importers: Vec<String>,
    },

    /// The user declined the confirmation prompt.
    #[error("aborted: {0}")]
    Aborted(String),

    /// `error` found while reading a configuration that also has `warnings` (unknown keys,
    /// ...): printed together, the warnings first, so that a typo'd key is seen beside the
    /// error it may explain.
    #[error("{error}")]
    WithWarnings {
        /// The warnings, one line each.
        warnings: Vec<String>,
        /// The error.
        error: Box<Error>,
    },

    /// Ctrl-C (SIGINT) or SIGTERM.
    #[error("{}{}", if *.terminated { "terminated (SIGTERM)" } else { "interrupted" }, match .waiting { Some((stack, state)) => format!(" while waiting for stack `{stack}` ({state})"), None => String::new() })]
    Interrupted {
        /// SIGTERM rather than SIGINT.
        terminated: bool,
        /// The stack being waited for and its state, if any.
        waiting: Option<(String, String)>,
    },

    /// Some node stacks of a fleet failed to deploy; the others were deployed (and are in the
    /// outputs file).
    #[error("{} of {} node stacks failed to deploy", .failed.len(), .failed.len() + .deployed.len())]
    NodesFailed {
        /// Each failed node stack's name and error.
        failed: Vec<(String, Box<Error>)>,
        /// The node stacks that were deployed.
        deployed: Vec<String>,
    },

    /// `nodectl check` (or the check before a deploy) found violations.
    #[error("{summary}")]
    ChecksFailed {
        /// E.g. "refusing to deploy: 2 checks failed".
        summary: String,
        /// One line per failure: rule, stack and resource, message.
        details: Vec<String>,
        /// What to do about it.
        hint: String,
    },

    /// `nodectl exec`: the command ran on the node and exited with `code` (not 0); its output
    /// is already printed, so this error prints nothing more.
    #[error("the command on the node exited with {code}")]
    Remote {
        /// The remote exit code (SSM `ResponseCode`), also nodectl's.
        code: i32,
    },

    /// `nodectl health` (or `restart`): a node is not healthy; its checks are already printed.
    #[error("{summary}")]
    Unhealthy {
        /// Down rather than degraded.
        down: bool,
        /// E.g. "`theta-single-node` is down: edgecore: no answer".
        summary: String,
        /// What to do next.
        hint: String,
    },

    /// A local file could not be read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// "read", "write", ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// This error with more configuration `issues`: added to a configuration error (also
    /// one with warnings), else the error as it is.
    pub fn with_issues(self, issues: Vec<ConfigIssue>) -> Error {
        match self {
            Error::Config(mut found) => {
                found.extend(issues);
                Error::Config(found)
            }
            Error::WithWarnings { warnings, error } => Error::WithWarnings {
                warnings,
                error: Box::new(error.with_issues(issues)),
            },
            other => other,
        }
    }

    /// A usage error with a hint.
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// An AWS call error with context and an optional hint.
    pub fn aws(action: impl Into<String>, source: AwsError, hint: Option<String>) -> Self {
        Error::Aws {
            action: action.into(),
            source,
            hint,
        }
    }

    /// The exit code this error maps to (see [`ExitCode`]).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::WithWarnings { error, .. } => error.exit_code(),
            Error::NodesFailed { failed, .. } => failed
                .iter()
                .map(|(_, error)| error.exit_code())
                .max_by_key(|code| *code as i32)
                .unwrap_or(ExitCode::Error),
            Error::StackFailed {
                rolled_back: true, ..
            } => ExitCode::RolledBack,
            Error::StackFailed { .. } => ExitCode::FailedState,
            Error::Timeout { .. } => ExitCode::Timeout,
            Error::ChecksFailed { .. } => ExitCode::ChecksFailed,
            Error::Interrupted {
                terminated: true, ..
            } => ExitCode::Terminated,
            Error::Interrupted { .. } => ExitCode::Interrupted,
            Error::Unhealthy { down: true, .. } => ExitCode::Down,
            Error::Unhealthy { .. } => ExitCode::Degraded,
            _ => ExitCode::Error,
        }
    }

    /// The process exit code: [`Error::exit_code`], or the remote command's for
    /// [`Error::Remote`] (an exit code that does not fit 0..=255 is 1).
    pub fn process_code(&self) -> i32 {
        match self {
            Error::Remote { code } if (1..=255).contains(code) => *code,
            _ => self.exit_code() as i32,
        }
    }

    /// The (message, hint) pairs to print, one pair per problem. Configuration errors list
    /// every issue found; other errors are one pair, with extra detail lines in the message.
    pub fn reports(&self) -> Vec<(String, Option<String>)> {
        match self {
            Error::WithWarnings { error, .. } => error.reports(),
            Error::Remote { .. } => Vec::new(),
            Error::NodesFailed { failed, deployed } => {
                let mut reports: Vec<(String, Option<String>)> = failed
                    .iter()
                    .flat_map(|(stack, error)| {
                        error
                            .reports()
                            .into_iter()
                            .map(move |(message, hint)| (format!("`{stack}`: {message}"), hint))
                    })
                    .collect();
                reports.push((
                    format!("{self}"),
                    Some(if deployed.is_empty() {
                        "fix what failed and run the deploy again".into()
                    } else {
                        format!(
                            "deployed and left as they are: {}; fix what failed and run the \
                             deploy again (deployed nodes stay unchanged)",
                            deployed.join(", ")
                        )
                    }),
                ));
                reports
            }
            Error::Unhealthy { summary, hint, .. } => vec![(summary.clone(), Some(hint.clone()))],
            Error::Config(issues) => issues
                .iter()
                .map(|issue| (issue.to_string(), issue.hint.clone()))
                .collect(),
            Error::Usage { message, hint } => vec![(message.clone(), hint.clone())],
            Error::TemplateDefect { .. } => vec![(
                self.to_string(),
                Some(format!(
                    "fix the template file, or unset {} to use the built-in ones",
                    crate::template::TEMPLATES_DIR_ENV
                )),
            )],
            Error::TemplateTooLarge { .. } => vec![(
                self.to_string(),
                Some(format!(
                    "shorten the template (with {}), or report it: the built-in templates stay \
                     under the limit",
                    crate::template::TEMPLATES_DIR_ENV
                )),
            )],
            Error::UnknownStack { known, closest, .. } => {
                let list = format!("{}, or all", known.join(", "));
                let hint = match closest {
                    Some(closest) => format!("did you mean `{closest}`? its stacks are {list}"),
                    None => format!("its stacks are {list}"),
                };
                vec![(self.to_string(), Some(hint))]
            }
            Error::StackState { hint, .. } => vec![(self.to_string(), Some(hint.clone()))],
            Error::ConcurrentChange { .. } => vec![(
                self.to_string(),
                Some(
                    "someone else deployed or changed the stack at the same time: see what it \
                     is doing with `nodectl status`, then run the deploy again"
                        .into(),
                ),
            )],
            Error::NeedsStack { needs_id, .. } => vec![(
                self.to_string(),
                Some(format!(
                    "deploy it first: `nodectl deploy {needs_id}`, or both with `nodectl deploy all`"
                )),
            )],
            Error::TerminationProtected { stack, .. } => vec![(
                self.to_string(),
                Some(format!(
                    "nodectl does not turn it off for you; if you really mean to delete the \
                     stack, run `aws cloudformation update-termination-protection \
                     --no-enable-termination-protection --stack-name {stack}` first"
                )),
            )],
            Error::StillImported { id, dependents, .. } => vec![(
                self.to_string(),
                Some(format!(
                    "delete the stacks that import them first (`nodectl destroy {}` with each \
                     node's .env file), then destroy {id}",
                    dependents.join(" ")
                )),
            )],
            Error::Aws { hint, .. } => vec![(self.to_string(), hint.clone())],
            Error::AccountMismatch { .. } => vec![(
                self.to_string(),
                Some(
                    "use credentials for the configured account (--profile, AWS_PROFILE), or \
                     correct AWS_ACCOUNT_ID; nothing was changed"
                        .into(),
                ),
            )],
            Error::StackFailed {
                root_cause, hint, ..
            } => {
                let mut message = self.to_string();
                if let Some(cause) = root_cause {
                    message.push_str("\n  root cause: ");
                    message.push_str(cause);
                }
                vec![(message, Some(hint.clone()))]
            }
            Error::Timeout { .. } => vec![(
                self.to_string(),
                Some(
                    "CloudFormation goes on without nodectl: run `nodectl status` to check, or \
                     run the same command again to keep waiting (raise --timeout, 0 means no limit)"
                        .into(),
                ),
            )],
            Error::Aborted(_) => vec![(self.to_string(), None)],
            Error::Interrupted { waiting: None, .. } => vec![(
                self.to_string(),
                Some(
                    "CloudFormation goes on with any stack operation already started; run \
                     `nodectl status` to follow it"
                        .into(),
                ),
            )],
            Error::Interrupted {
                waiting: Some((stack, _)),
                ..
            } => vec![(
                self.to_string(),
                Some(format!(
                    "CloudFormation goes on with stack `{stack}`: follow it with `nodectl \
                     status`, or run the same command again to wait for it and finish (what \
                     is already deployed is kept)"
                )),
            )],
            Error::Io { .. } => vec![(self.to_string(), None)],
            Error::ChecksFailed { details, hint, .. } => {
                let mut message = self.to_string();
                for detail in details {
                    message.push_str("\n  ");
                    message.push_str(detail);
                }
                vec![(message, Some(hint.clone()))]
            }
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
