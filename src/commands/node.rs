//! `nodectl status`, `health`, `logs`, `exec`, `connect`, `restart`, `rpc`: the day-2
//! commands, through SSM (see `crate::ops::node`).

use futures_util::StreamExt;
use std::time::Duration;

use super::{aws_options, load_plan_quietly as load_plan};
use crate::cli::{
    ExecArgs, GlobalArgs, HealthArgs, LogsArgs, NodeArg, RestartArgs, RpcArgs, StatusArgs,
};
use crate::error::{Error, Result};
use crate::ops::day2::{self, HealthReport};
use crate::ops::health::node_status;
use crate::ops::inspect::{StatusReport, NOT_DEPLOYED};
use crate::ops::logs::LogRequest;
use crate::ops::node::{self, NodeOps};
use crate::ops::{self, Session};
use crate::plan::{Plan, StackSpec};
use crate::printer::{OutputFormat, Printer};

/// Loads the plan, connects, and picks the node stack.
async fn connect<'p>(
    global: &GlobalArgs,
    plan: &'p Plan,
    which: &NodeArg,
) -> Result<(Session, &'p StackSpec, &'static crate::node::NodeProfile)> {
    let (stack, profile) = node::select(plan, which.node.as_deref())?;
    let session = ops::connect(aws_options(global), &plan.in_region(&stack.region)).await?;
    Ok((session, stack, profile))
}

/// Prints each stack's status and, unless `--stacks-only`, each deployed node's state. A node
/// that cannot be read is a warning; the stacks are printed anyway.
pub(super) async fn status(
    global: &GlobalArgs,
    printer: &Printer,
    args: &StatusArgs,
) -> Result<()> {
    let plan = load_plan(global, printer)?;
    // --node is checked before any request.
    let nodes: Vec<&StackSpec> = match &args.node.node {
        Some(_) => vec![node::select(&plan, args.node.node.as_deref())?.0],
        None => node::node_stacks(&plan),
    };
    let mut report = StatusReport {
        stacks: Vec::new(),
        nodes: Vec::new(),
    };
    let all: Vec<&StackSpec> = plan.stacks.iter().collect();
    for (part, _) in plan.split_by_region(&all) {
        let nodes: Vec<&StackSpec> = nodes
            .iter()
            .copied()
            .filter(|stack| stack.region == part.region)
            .collect();
        let found = status_in(global, printer, &part, nodes, args.stacks_only).await?;
        report.stacks.extend(found.stacks);
        report.nodes.extend(found.nodes);
    }
    printer.report(&report);
    Ok(())
}

/// [`status`] in the region of `part`, for its stacks and the node stacks `nodes`.
async fn status_in(
    global: &GlobalArgs,
    printer: &Printer,
    part: &Plan,
    nodes: Vec<&StackSpec>,
    stacks_only: bool,
) -> Result<StatusReport> {
    let plan = part;
    let session = ops::connect(aws_options(global), plan).await?;
    let engine = session.engine(printer, Duration::ZERO);
    let mut report = ops::inspect::status(&engine, plan).await?;
    if !stacks_only {
        // Whether each node runs the latest image (Parameter Store): part of the node, so
        // --stacks-only stays CloudFormation only.
        let ssm = crate::aws::ssm::Ssm::new(&session.sdk);
        for line in ops::lookup::newer_images(&engine, &ssm, &nodes).await {
            printer.info(&format!("note: {line}"));
        }
        let blueprint = crate::blueprint::find(plan.blueprint);
        let ops = NodeOps::new(&session, printer);
        let readable: Vec<_> = nodes
            .into_iter()
            .filter(|stack| {
                report.stacks.iter().any(|row| {
                    row.stack_name == stack.name
                        && row.status != NOT_DEPLOYED
                        && !row.status.starts_with("DELETE")
                })
            })
            .filter_map(|stack| Some((stack, blueprint?.node(&stack.parameters)?)))
            .collect();
        // A fleet's nodes are read a few at a time (each is an SSM command), printed in order.
        let read: Vec<_> =
            futures_util::stream::iter(readable.into_iter().map(|(stack, profile)| {
                let ops = &ops;
                async move { (stack, node_status(ops, stack, profile).await) }
            }))
            .buffered(STATUS_CONCURRENCY)
            .collect()
            .await;
        for (stack, result) in read {
            match result {
                Ok(found) => report.nodes.push(found),
                Err(err) => printer.warn(&format!(
                    "could not read the node of stack `{}`: {}",
                    stack.name,
                    err.reports()
                        .into_iter()
                        .map(|(message, _)| message)
                        .collect::<Vec<_>>()
                        .join("; ")
                )),
            }
        }
    }
    Ok(report)
}

/// How many nodes `status` reads at once.
const STATUS_CONCURRENCY: usize = 8;

/// `nodectl health`: prints the checks; exits 7 (degraded) or 8 (down) when not healthy.
pub(super) async fn health(
    global: &GlobalArgs,
    printer: &Printer,
    args: &HealthArgs,
) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let (session, stack, profile) = connect(global, &plan, &args.node).await?;
    let ops = NodeOps::new(&session, printer);
    let report = day2::health(&ops, stack, profile, args.wait).await?;
    printer.report(&report);
    match report.verdict() {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// `nodectl restart`: restarts, waits, prints the health; exits like `health`.
pub(super) async fn restart(
    global: &GlobalArgs,
    printer: &Printer,
    args: &RestartArgs,
) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let (session, stack, profile) = connect(global, &plan, &args.node).await?;
    let ops = NodeOps::new(&session, printer);
    let report = day2::restart(&ops, stack, profile, args.hard, args.wait).await?;
    printer.report(&report);
    match HealthReport(report.health).verdict() {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// `nodectl logs`: prints the log's lines on stdout as they come.
pub(super) async fn logs(global: &GlobalArgs, printer: &Printer, args: &LogsArgs) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let (session, stack, profile) = connect(global, &plan, &args.node).await?;
    let ops = NodeOps::new(&session, printer);
    let node = ops.locate(stack).await?;
    let request = LogRequest {
        source: args.source.clone(),
        since: args.since,
        lines: args.lines,
        follow: args.follow,
    };
    ops::logs::logs(&ops, &node, profile, &request, &|line| {
        printer.data_raw(line)
    })
    .await
}

/// `nodectl exec`: the command's stdout on stdout, its stderr on stderr, its exit code.
pub(super) async fn exec(global: &GlobalArgs, printer: &Printer, args: &ExecArgs) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let (session, stack, _) = connect(global, &plan, &args.node).await?;
    let ops = NodeOps::new(&session, printer);
    let result = day2::exec(&ops, stack, &args.command, args.timeout).await?;
    if printer.format() == OutputFormat::Json {
        printer.data_json(&serde_json::to_value(&result).unwrap_or_default());
    } else {
        printer.data_raw(&result.stdout);
        printer.stderr_raw(&result.stderr);
    }
    if result.truncated {
        printer.warn("the output was cut at 24,000 characters (SSM's inline limit); write it to a file on the node and read it with `nodectl exec -- tail -c ...`, or page a log with `nodectl logs`");
    }
    match (result.status.as_str(), result.exit_code) {
        // SSM stopped it at `executionTimeout`: exit 124, as timeout(1) does.
        ("TimedOut", _) => {
            printer.warn(&format!(
                "the command on {} did not finish within {} and SSM stopped it; give it longer \
                 with --timeout, or run it in the background on the node",
                result.instance_id,
                humantime::format_duration(args.timeout)
            ));
            Err(Error::Remote { code: 124 })
        }
        (_, 0) => Ok(()),
        (_, code) => Err(Error::Remote { code }),
    }
}

/// `nodectl rpc`: the result as JSON on stdout.
pub(super) async fn rpc(global: &GlobalArgs, printer: &Printer, args: &RpcArgs) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let (session, stack, profile) = connect(global, &plan, &args.node).await?;
    let ops = NodeOps::new(&session, printer);
    let result = day2::rpc(&ops, stack, profile, &args.method, args.params.as_deref()).await?;
    printer.data_json(&result);
    Ok(())
}

/// `nodectl connect`: hands over to `aws ssm start-session` when the AWS CLI and the
/// session-manager-plugin are on PATH; otherwise says how.
pub(super) async fn connect_shell(
    global: &GlobalArgs,
    printer: &Printer,
    which: &NodeArg,
) -> Result<()> {
    let plan = load_plan(global, printer)?;
    let (session, stack, _) = connect(global, &plan, which).await?;
    let ops = NodeOps::new(&session, printer);
    let node = ops.locate(stack).await?;
    ops.reachable(&node).await?;
    let mut args = vec![
        "ssm".to_string(),
        "start-session".into(),
        "--target".into(),
        node.instance_id.clone(),
        "--region".into(),
        session.region.clone(),
    ];
    if let Some(profile) = &global.profile {
        args.extend(["--profile".to_string(), profile.clone()]);
    }
    let command = format!("aws {}", shell_words::join(&args));
    let missing: Vec<&str> = ["aws", "session-manager-plugin"]
        .into_iter()
        .filter(|program| which::which(program).is_err())
        .collect();
    if !missing.is_empty() {
        return Err(Error::usage(
            format!(
                "cannot open a session: {} not found on PATH; the command is:\n  {command}",
                missing.join(" and ")
            ),
            "install the AWS CLI v2 and the Session Manager plugin \
             (https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html), \
             then run the command above or `nodectl connect` again",
        ));
    }
    printer.info(&format!(
        "starting a session on {} ({}): {command}",
        node.instance_id, node.stack
    ));
    let status = std::process::Command::new("aws")
        .args(&args)
        .status()
        .map_err(|source| Error::Io {
            action: "run",
            path: "aws".into(),
            source,
        })?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(Error::Remote { code }),
        None => Err(Error::Remote { code: 1 }),
    }
}
