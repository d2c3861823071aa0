//! nodectl: turns one `.env` file into running, secure nodes of decentralized compute
//! networks on AWS. It renders CloudFormation templates, deploys them through the AWS SDK for
//! Rust, writes the stack outputs as JSON and destroys them again.
//!
//! The flow of one command (see `../shared/design.md`): [`cli`] parses the arguments,
//! [`settings`] reads the `.env` file with each value's source, a [`blueprint`] validates it
//! into a [`plan::Plan`] (a graph of stacks with their rendered [`template`]s), an operation of
//! [`ops`] walks the graph through the [`stack`] engine and the effects layer [`aws`],
//! reporting progress to an [`observer::Observer`], and the command prints the operation's
//! report through the [`printer::Printer`], which keeps data on stdout and everything else on
//! stderr. The day-2 commands reach a running node through [`ops::node`] (SSM Run Command)
//! with what its blueprint declares in a [`node::NodeProfile`].

pub mod aws;
pub mod blueprint;
pub(crate) mod check;
pub(crate) mod cli;
mod commands;
pub mod cost;
pub mod error;
pub mod facts;
pub mod fleet;
pub mod node;
pub mod observer;
pub mod ops;
pub mod plan;
pub mod printer;
pub mod progress;
pub mod secrets;
pub mod settings;
pub mod stack;
pub mod template;

use std::ffi::OsString;
use std::io::IsTerminal;

use clap::Parser;

use crate::cli::Cli;
use crate::error::Error;
use crate::printer::{Printer, Verbosity};

/// Runs nodectl with `args` (the first one is the program name) and returns the process exit
/// code (see [`error::ExitCode`]).
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return err.exit_code();
        }
    };
    let verbosity = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => Verbosity::Quiet,
        (false, 0) => Verbosity::Normal,
        _ => Verbosity::Verbose,
    };
    let printer = Printer::terminal(cli.global.output.format(), verbosity, cli.global.color);
    init_logging(&printer, cli.global.verbose);

    let printer = std::sync::Arc::new(printer);
    // Two workers: the command runs on this thread (a prompt may block it), the signal
    // handler on a worker, so Ctrl-C and SIGTERM act at once, even at a prompt.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(source) => {
            printer.error(&Error::Io {
                action: "start the async runtime for",
                path: "nodectl".into(),
                source,
            });
            return error::ExitCode::Error as i32;
        }
    };
    runtime.spawn(exit_on_signal(printer.clone()));
    cli.global.aws_profile =
        Some(runtime.block_on(aws::profile::load(cli.global.profile.as_deref())));
    let result = runtime.block_on(commands::dispatch(&cli, &printer));
    let code = match result {
        Ok(()) => error::ExitCode::Success as i32,
        Err(err) => {
            printer.error(&err);
            err.process_code()
        }
    };
    aws::report_calls();
    code
}

/// On SIGINT (Ctrl-C) or SIGTERM (what CI runners and `timeout` send): cancels the SSM command
/// nodectl waits for, if any, says what CloudFormation is still doing and how to resume, then
/// exits with 130 or 143. CloudFormation goes on with
/// any operation already started; files nodectl writes are replaced atomically, so none is
/// left half written.
async fn exit_on_signal(printer: std::sync::Arc<Printer>) {
    let terminated = wait_for_signal().await;
    // A command running on a node (exec, logs, restart) stops with us.
    if let Ok(Some(cancelled)) = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        ops::node::cancel_running(),
    )
    .await
    {
        printer.info(&cancelled);
    }
    let err = Error::Interrupted {
        terminated,
        waiting: printer.waiting_on(),
    };
    printer.error(&err);
    std::process::exit(err.exit_code() as i32);
}

/// Waits for SIGINT (`false`) or SIGTERM (`true`).
async fn wait_for_signal() -> bool {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => false,
            _ = term.recv() => true,
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            false
        }
    }
}

/// Debug logs of nodectl itself with `-v`, trace with `-vv`. The AWS SDK's own logs only with
/// `-v` and only at `warn` (without it, its credential-chain warnings would precede nodectl's
/// own error about the same failure), so request bodies (which may carry secrets) are never
/// logged.
fn init_logging(printer: &Printer, verbose: u8) {
    let filter = match verbose {
        0 => "off,nodectl=warn",
        1 => "warn,nodectl=debug",
        _ => "warn,nodectl=trace",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(printer.log_writer())
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .without_time()
        .with_target(false)
        .try_init();
}
