//! The day-2 operations on one node: `health` (with `--wait`), `restart`, `exec` and `rpc`.
//! Each reaches the node through [`NodeOps`] and returns a report or a typed error
//! ([`Error::Unhealthy`], [`Error::Remote`]).

use std::time::Duration;

use serde::Serialize;

use super::health::{node_status, uptime_text, NodeStatus};
use super::node::{Located, NodeOps};
use super::Report;
use crate::aws::poll::Poller;
use crate::aws::ssm::INLINE_STDOUT_LIMIT;
use crate::error::{Error, Result};
use crate::node::{Health, NodeProfile};
use crate::plan::StackSpec;

/// `nodectl health`: the node's checks, terse (one line per check).
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct HealthReport(pub NodeStatus);

impl Report for HealthReport {
    fn text(&self) -> String {
        let status = &self.0;
        let width = status
            .checks
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(0);
        let mut lines = vec![format!("{}: {}", status.stack_name, status.health.as_str())];
        for check in &status.checks {
            lines.push(format!(
                "  {:<width$}  {:<8}  {}",
                check.name,
                check.health.as_str(),
                check.detail
            ));
        }
        lines.join("\n")
    }
}

impl HealthReport {
    /// The error for an unhealthy node (exit code 7 or 8), `None` when it is ok.
    pub fn verdict(&self) -> Option<Error> {
        let status = &self.0;
        let worst = status.worst()?;
        (status.health != Health::Ok).then(|| Error::Unhealthy {
            down: status.health == Health::Down,
            summary: format!(
                "`{}` is {}: {}: {}",
                status.stack_name,
                status.health.as_str(),
                worst.name,
                worst.detail
            ),
            hint: format!(
                "`nodectl logs --node ...` shows the node's logs; `nodectl status` the whole \
                 picture{}",
                if worst.name == "ssm-agent" || worst.name == "instance" {
                    ""
                } else {
                    "; `nodectl restart` restarts the service"
                }
            ),
        })
    }
}

/// The node's health now, or with `wait` until it is ok (at most `wait`; progress through the
/// observer): the last report either way.
pub async fn health(
    ops: &NodeOps<'_>,
    stack: &StackSpec,
    profile: &NodeProfile,
    wait: Option<Duration>,
) -> Result<HealthReport> {
    let Some(wait) = wait else {
        return Ok(HealthReport(node_status(ops, stack, profile).await?));
    };
    // Checks cost an SSM command each: every 10 s at most (the poller's interval below that).
    let mut poller = Poller::new(ops.poll, Some(wait));
    loop {
        let status = node_status(ops, stack, profile).await?;
        if status.health == Health::Ok || poller.timed_out() {
            ops.observer.done_waiting();
            return Ok(HealthReport(status));
        }
        if let Some(worst) = status.worst() {
            ops.observer.waiting(
                &stack.name,
                &format!(
                    "{}: {}: {}",
                    status.health.as_str(),
                    worst.name,
                    worst.detail
                ),
            );
        }
        let pause = ops
            .poll
            .max
            .max(Duration::from_millis(200))
            .min(Duration::from_secs(10));
        tokio::time::sleep(pause.min(poller.remaining().unwrap_or(pause))).await;
        poller.idle();
    }
}

/// How long `systemctl restart` may run on the node: the longest `TimeoutStartSec` of the
/// blueprints' services (20 minutes) and a margin.
const RESTART_TIMEOUT: Duration = Duration::from_secs(25 * 60);

/// `nodectl restart`: what was done and the health afterwards.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestartReport {
    /// `service` (systemctl restart) or `reboot` (`--hard`).
    pub action: String,
    /// The node's health when the wait ended.
    pub health: NodeStatus,
}

impl Report for RestartReport {
    fn text(&self) -> String {
        HealthReport(self.health.clone()).text()
    }
}

/// Restarts the node's service (`systemctl restart`, through SSM) or, `hard`, reboots the
/// instance (RebootInstances), then waits at most `wait` until `health` passes.
pub async fn restart(
    ops: &NodeOps<'_>,
    stack: &StackSpec,
    profile: &NodeProfile,
    hard: bool,
    wait: Duration,
) -> Result<RestartReport> {
    let node = ops.locate(stack).await?;
    ops.reachable(&node).await?;
    let action = if hard {
        // The uptime before, so that the wait below knows when the reboot has happened.
        let before = node_status(ops, stack, profile).await?.uptime_seconds;
        ops.observer.note(&format!(
            "rebooting instance {} ({})",
            node.instance_id, node.stack
        ));
        ops.ec2.reboot(&node.instance_id).await.map_err(|err| {
            let hint = err.generic_hint();
            Error::aws(
                format!("cannot reboot instance {}", node.instance_id),
                err,
                hint,
            )
        })?;
        if let Some(before) = before {
            rebooted(ops, stack, profile, before, wait).await?;
        }
        "reboot"
    } else {
        ops.observer.note(&format!(
            "restarting {} on instance {} ({})",
            profile.service, node.instance_id, node.stack
        ));
        let line = format!("systemctl restart {}", shell_words::quote(profile.service));
        // As long as a start may take: Allora's service builds and waits for the inference
        // server (TimeoutStartSec=20min in templates/allora/user-data.sh).
        let result = ops
            .run(&node, vec![line], RESTART_TIMEOUT, "nodectl restart")
            .await?;
        if result.exit_code != 0 {
            return Err(Error::usage(
                format!(
                    "`systemctl restart {}` failed on {} (exit code {}): {}",
                    profile.service,
                    node.instance_id,
                    result.exit_code,
                    result.stderr.trim()
                ),
                "see `nodectl logs --source node`",
            ));
        }
        "service"
    };
    ops.observer.note("waiting until the node is healthy");
    let report = health(ops, stack, profile, Some(wait)).await?;
    Ok(RestartReport {
        action: action.into(),
        health: report.0,
    })
}

/// Waits until the node reports an uptime below `before` (seconds): the reboot has happened.
/// Until then the old system may still answer, or the agent is offline; both mean "not yet".
/// Errors: not within `wait`.
async fn rebooted(
    ops: &NodeOps<'_>,
    stack: &StackSpec,
    profile: &NodeProfile,
    before: u64,
    wait: Duration,
) -> Result<()> {
    let mut poller = Poller::new(ops.poll, Some(wait));
    loop {
        tokio::time::sleep(ops.poll.max.max(Duration::from_millis(200))).await;
        let status = node_status(ops, stack, profile).await?;
        if status.uptime_seconds.is_some_and(|up| up < before) {
            ops.observer.done_waiting();
            return Ok(());
        }
        ops.observer.waiting(
            &stack.name,
            &format!("rebooting ({})", status.health.as_str()),
        );
        poller.idle();
        if poller.timed_out() {
            return Err(Error::usage(
                format!(
                    "`{}` did not come back from its reboot within {}",
                    stack.name,
                    humantime::format_duration(wait)
                ),
                "see `nodectl status`; the EC2 console's system log shows the boot",
            ));
        }
    }
}

/// The result of `nodectl exec`: the command's output and exit code.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecResult {
    /// The instance it ran on.
    pub instance_id: String,
    /// SSM's status: `Success`, `Failed`, `TimedOut`, `Cancelled`.
    pub status: String,
    /// The exit code.
    pub exit_code: i32,
    /// Standard output (at most 24,000 characters: SSM's inline limit).
    pub stdout: String,
    /// Standard error (at most 8,000 characters).
    pub stderr: String,
    /// Whether standard output reached SSM's limit and was cut.
    pub truncated: bool,
}

/// The shell line for `exec`'s `words`: one word is a shell command line as it is (pipes and
/// all, like `ssh host 'cmd | cmd'`); several are one command with each word quoted, so that
/// spaces and quotes reach the program unchanged.
pub fn command_line(words: &[String]) -> String {
    match words {
        [line] => line.clone(),
        _ => shell_words::join(words),
    }
}

/// Runs `words` ([`command_line`]) on the node as root, at most `timeout`.
pub async fn exec(
    ops: &NodeOps<'_>,
    stack: &StackSpec,
    words: &[String],
    timeout: Duration,
) -> Result<ExecResult> {
    let node: Located = ops.locate(stack).await?;
    ops.reachable(&node).await?;
    let result = ops
        .run(&node, vec![command_line(words)], timeout, "nodectl exec")
        .await?;
    Ok(ExecResult {
        instance_id: node.instance_id,
        truncated: result.stdout.chars().count() >= INLINE_STDOUT_LIMIT,
        status: result.status,
        exit_code: result.exit_code,
        stdout: result.stdout,
        stderr: result.stderr,
    })
}

/// Calls the node's JSON-RPC `method` with `params` (a JSON array or object; default `[]`)
/// on 127.0.0.1 of the instance, on the port that serves the method's prefix; returns the
/// `result`. Errors: no port serves the prefix, the node does not answer, an RPC error.
pub async fn rpc(
    ops: &NodeOps<'_>,
    stack: &StackSpec,
    profile: &NodeProfile,
    method: &str,
    params: Option<&str>,
) -> Result<serde_json::Value> {
    let prefix = method.split('.').next().unwrap_or_default();
    let port = profile
        .rpc
        .iter()
        .find(|port| port.prefix == prefix)
        .ok_or_else(|| {
            let known: Vec<String> = profile
                .rpc
                .iter()
                .map(|p| format!("{}.*", p.prefix))
                .collect();
            Error::usage(
                format!("no RPC port of this node serves `{method}`"),
                if known.is_empty() {
                    "this blueprint's node has no JSON-RPC port".to_string()
                } else {
                    format!("methods start with {}", known.join(", "))
                },
            )
        })?;
    let params: serde_json::Value = match params {
        None => serde_json::json!([]),
        Some(text) => serde_json::from_str(text).map_err(|err| {
            Error::usage(
                format!("PARAMS is not JSON: {err}"),
                r#"give a JSON array or object, e.g. '[{"type":"lavita","page":0,"num":10}]'"#,
            )
        })?,
    };
    let body = serde_json::json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
    let line = format!(
        "curl -sS -m 20 -H 'Content-Type: application/json' --data-binary {} http://127.0.0.1:{}/rpc",
        shell_words::quote(&body.to_string()),
        port.port
    );
    let node = ops.locate(stack).await?;
    ops.reachable(&node).await?;
    let result = ops
        .run(&node, vec![line], Duration::from_secs(60), "nodectl rpc")
        .await?;
    crate::node::parse::jsonrpc(&result.stdout).map_err(|reason| {
        Error::usage(
            format!(
                "`{method}` on port {} of {} ({}): {}",
                port.port,
                node.instance_id,
                node.stack,
                if result.stdout.trim().is_empty() {
                    result.stderr.trim().to_string()
                } else {
                    reason
                },
            ),
            "check that the node runs: nodectl health",
        )
    })
}

/// One line for the node's uptime and instance, for `status`.
pub fn summary_line(status: &NodeStatus) -> String {
    let mut parts = vec![format!("{}: {}", status.stack_name, status.health.as_str())];
    if let Some(instance) = &status.instance {
        parts.push(format!("{} {}", instance.id, instance.state));
        if let Some(kind) = &instance.instance_type {
            parts.push(kind.clone());
        }
        // The image the instance runs: pinned when the stack was created, moved only by an
        // explicit change (issue 15).
        if let Some(image) = &instance.image_id {
            parts.push(format!("image {image}"));
        }
        if let Some(ip) = &instance.public_ip {
            parts.push(ip.clone());
        }
    }
    if let Some(secs) = status.uptime_seconds {
        parts.push(format!("up {}", uptime_text(secs)));
    }
    parts.join("  ")
}
