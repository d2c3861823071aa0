//! Process exit codes and their one table.

/// Process exit codes: the one table that `nodectl --help`, the README (a test compares them)
/// and [`Error::exit_code`] follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 0: success, including a deploy with no changes and a destroy of absent stacks.
    Success = 0,
    /// 1: any error not listed below: invalid configuration, an AWS API error, a declined prompt.
    Error = 1,
    /// 2: the command line could not be parsed (clap's usage errors).
    Usage = 2,
    /// 3: a stack operation failed and CloudFormation rolled it back (`ROLLBACK_COMPLETE`,
    /// `UPDATE_ROLLBACK_COMPLETE`): the stack is usable again or was never created.
    RolledBack = 3,
    /// 4: a stack operation failed and left the stack in a failed state that needs attention
    /// (`UPDATE_ROLLBACK_FAILED`, `DELETE_FAILED`, `CREATE_FAILED`, ...).
    FailedState = 4,
    /// 5: `--timeout` elapsed while CloudFormation was still working; the operation goes on.
    Timeout = 5,
    /// 6: `nodectl check` found violations, or `deploy` refused to deploy because of them
    /// (before any AWS request).
    ChecksFailed = 6,
    /// 7: `nodectl health` (or `restart`) found a node degraded: it works, but a check needs a
    /// look (no peers, a container restarting, no metrics).
    Degraded = 7,
    /// 8: `nodectl health` (or `restart`) found a node down: instance stopped, SSM agent
    /// offline, service or node software not answering.
    Down = 8,
    /// 130: interrupted (Ctrl-C, SIGINT); CloudFormation goes on with any operation already
    /// started.
    Interrupted = 130,
    /// 143: terminated (SIGTERM, as CI runners and `timeout` send); CloudFormation goes on.
    Terminated = 143,
}

/// Every exit code with its one-line meaning, in order: the source of the table in `nodectl
/// --help` ([`EXIT_CODES_HELP`]) and in the README.
pub const EXIT_CODES: &[(ExitCode, &str)] = &[
    (
        ExitCode::Success,
        "success, including a deploy with no changes and a destroy of stacks that do not exist",
    ),
    (
        ExitCode::Error,
        "error: invalid configuration, an AWS API error, a declined confirmation",
    ),
    (
        ExitCode::Usage,
        "usage error: the command line could not be parsed",
    ),
    (
        ExitCode::RolledBack,
        "a stack operation failed and was rolled back",
    ),
    (
        ExitCode::FailedState,
        "a stack operation failed and left the stack in a failed state that needs attention",
    ),
    (
        ExitCode::Timeout,
        "--timeout elapsed while CloudFormation was still working (the operation goes on)",
    ),
    (
        ExitCode::ChecksFailed,
        "check found violations, or deploy refused because of them (before any AWS request)",
    ),
    (
        ExitCode::Degraded,
        "health: a node is degraded (it works, but a check needs a look)",
    ),
    (
        ExitCode::Down,
        "health: a node is down (stopped, unreachable, or its software not answering)",
    ),
    (
        ExitCode::Interrupted,
        "interrupted (Ctrl-C); CloudFormation goes on with an operation already started",
    ),
    (
        ExitCode::Terminated,
        "terminated (SIGTERM, e.g. a cancelled CI job); CloudFormation goes on likewise",
    ),
];

/// The exit-code table as printed at the end of `nodectl --help`, built from [`EXIT_CODES`].
pub static EXIT_CODES_HELP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut text = String::from("Exit codes:");
    for (code, meaning) in EXIT_CODES {
        text.push_str(&format!("\n  {:<4} {meaning}", *code as i32));
    }
    text
});
