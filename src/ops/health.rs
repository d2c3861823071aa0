//! A node's state and health, for `nodectl status` and `nodectl health`: the instance (state,
//! EC2 status checks, public IP), the SSM agent, and, in one SSM command, uptime, the node's
//! service, its containers and the blueprint's probes, each judged ok / degraded / down.

use std::time::Duration;

use serde::Serialize;

use super::node::{Located, NodeOps};
use crate::aws::ec2::Instance;
use crate::error::Result;
use crate::node::parse::{self, Container};
use crate::node::script::{self, Script};
use crate::node::{Check, Health, NodeProfile};
use crate::plan::StackSpec;

/// How long the status script may run on the node (each probe's curl has `-m 10`).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// One node's state, as `status` and `health` report it (`--output json`: this document, the
/// field names in camelCase; `health` is `ok`, `degraded` or `down`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// The node stack's name.
    pub stack_name: String,
    /// The worst of the checks.
    pub health: Health,
    /// The instance, if found.
    pub instance: Option<Instance>,
    /// EC2 status checks: `system` and `instance` (`ok`, `impaired`, `initializing`, ...).
    pub status_checks: Option<StatusChecks>,
    /// The SSM agent's ping status (`Online`, `ConnectionLost`, `Inactive`,
    /// `NotRegistered`).
    pub agent: Option<String>,
    /// Seconds since the instance booted.
    pub uptime_seconds: Option<u64>,
    /// The node's systemd unit and its state (`active`, `failed`, ...).
    pub service: Option<Service>,
    /// The containers on the instance.
    pub containers: Vec<Container>,
    /// Every check, in order: instance, ssm-agent, service, one per expected container, the
    /// blueprint's probes.
    pub checks: Vec<Check>,
}

/// EC2's two status checks.
#[derive(Debug, Clone, Serialize)]
pub struct StatusChecks {
    /// The system (host) check.
    pub system: String,
    /// The instance (operating system) check.
    pub instance: String,
}

/// A systemd unit's state.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// The unit, e.g. `theta-edge-node.service`.
    pub name: String,
    /// `systemctl is-active`: `active`, `activating`, `failed`, `inactive`, ...
    pub state: String,
    /// How often systemd restarted it (`NRestarts`), if known.
    pub restarts: Option<u32>,
}

impl NodeStatus {
    fn new(stack: &str) -> Self {
        NodeStatus {
            stack_name: stack.to_string(),
            health: Health::Ok,
            instance: None,
            status_checks: None,
            agent: None,
            uptime_seconds: None,
            service: None,
            containers: Vec::new(),
            checks: Vec::new(),
        }
    }

    fn push(&mut self, check: Check) {
        self.health = self.health.max(check.health);
        self.checks.push(check);
    }

    /// The first check that is as bad as the node, for one-line summaries.
    pub fn worst(&self) -> Option<&Check> {
        self.checks.iter().find(|check| check.health == self.health)
    }
}

/// The script `status` runs on the node: uptime, the service, the containers and their restart
/// counts, then each probe (template parameters of `stack` substituted).
fn status_script(profile: &NodeProfile, stack: &StackSpec) -> Vec<String> {
    let service = shell_words::quote(profile.service);
    let mut script = Script::new()
        .section("uptime", "cat /proc/uptime")
        .section(
            "service",
            &format!("systemctl is-active {service}; systemctl show -p NRestarts {service}"),
        )
        .section(
            "containers",
            "docker ps -a --no-trunc --format '{{json .}}'",
        )
        .section(
            "restarts",
            "docker ps -aq | xargs -r docker inspect --format '{{.Name}} {{.RestartCount}}'",
        );
    for probe in profile.probes {
        script = script.section(
            &format!("probe:{}", probe.name),
            &script::substitute(probe.script, &stack.parameters),
        );
    }
    script.lines()
}

/// The state of the node of `stack`: the AWS side first (a stopped instance or an offline
/// agent ends there, down), then one SSM command on the node.
pub async fn node_status(
    ops: &NodeOps<'_>,
    stack: &StackSpec,
    profile: &NodeProfile,
) -> Result<NodeStatus> {
    let mut status = NodeStatus::new(&stack.name);
    let node: Located = match ops.locate(stack).await {
        Ok(node) => node,
        Err(err) => {
            status.push(Check::new("instance", Health::Down, err.to_string()));
            return Ok(status);
        }
    };
    let instance = ops.instance(&node).await?;
    let running = instance.state == "running";
    status.instance = Some(instance.clone());
    if !running {
        status.push(Check::new(
            "instance",
            Health::Down,
            format!("{} is {}", instance.id, instance.state),
        ));
        return Ok(status);
    }
    let checks = ops
        .ec2
        .status_checks(&node.instance_id)
        .await
        .unwrap_or_default();
    status.push(match &checks {
        Some((system, os)) if system == "ok" && os == "ok" => Check::new(
            "instance",
            Health::Ok,
            format!("{} running, status checks ok", instance.id),
        ),
        Some((system, os)) => Check::new(
            "instance",
            Health::Degraded,
            format!(
                "{} running, status checks: system {system}, instance {os}",
                instance.id
            ),
        ),
        None => Check::new("instance", Health::Ok, format!("{} running", instance.id)),
    });
    status.status_checks = checks.map(|(system, instance)| StatusChecks { system, instance });
    let agent = ops.agent(&node).await?;
    let ping = agent
        .as_ref()
        .map(|agent| agent.ping_status.clone())
        .unwrap_or_else(|| "NotRegistered".into());
    status.agent = Some(ping.clone());
    if ping != "Online" {
        status.push(Check::new(
            "ssm-agent",
            Health::Down,
            format!("{ping}: no route to the SSM endpoints, a role without AmazonSSMManagedInstanceCore, or still booting"),
        ));
        return Ok(status);
    }
    status.push(Check::new("ssm-agent", Health::Ok, "online"));
    let invocation = ops
        .run(
            &node,
            status_script(profile, stack),
            SCRIPT_TIMEOUT,
            "nodectl status",
        )
        .await?;
    let sections = script::sections(&invocation.stdout);
    let section = |name: &str| sections.get(name).cloned().unwrap_or_default();
    status.uptime_seconds = parse::uptime(&section("uptime").output);
    let service_out = section("service").output;
    let state = service_out
        .lines()
        .next()
        .unwrap_or("unknown")
        .trim()
        .to_string();
    let restarts = parse::key_values(&service_out)
        .get("NRestarts")
        .and_then(|n| n.parse().ok());
    status.push(match state.as_str() {
        "active" => Check::new("service", Health::Ok, format!("{} active", profile.service)),
        "activating" | "reloading" => Check::new(
            "service",
            Health::Degraded,
            format!("{} {state}", profile.service),
        ),
        _ => Check::new(
            "service",
            Health::Down,
            format!("{} {state}", profile.service),
        ),
    });
    status.service = Some(Service {
        name: profile.service.to_string(),
        state,
        restarts,
    });
    let restart_counts = parse::restart_counts(&section("restarts").output);
    let mut containers = parse::docker_ps(&section("containers").output);
    for container in &mut containers {
        container.restarts = restart_counts.get(&container.name).copied().unwrap_or(0);
    }
    for expected in profile.containers {
        status.push(container_check(
            expected,
            containers.iter().find(|c| c.name == *expected),
        ));
    }
    status.containers = containers;
    for probe in profile.probes {
        let found = section(&format!("probe:{}", probe.name));
        status.push((probe.judge)(&found.output, found.exit_code.unwrap_or(-1)));
    }
    Ok(status)
}

/// An expected container: down if missing or not running, degraded while restarting or
/// unhealthy.
fn container_check(name: &str, container: Option<&Container>) -> Check {
    let Some(container) = container else {
        return Check::new(name, Health::Down, "no such container");
    };
    let detail = format!(
        "{} ({}{})",
        container.status,
        container.image,
        match container.restarts {
            0 => String::new(),
            n => format!(", {n} restarts"),
        }
    );
    match (container.state.as_str(), container.health()) {
        ("running", Some("unhealthy")) => Check::new(name, Health::Degraded, detail),
        ("running", _) => Check::new(name, Health::Ok, detail),
        ("restarting", _) => Check::new(name, Health::Degraded, detail),
        _ => Check::new(name, Health::Down, detail),
    }
}

/// `N d`, `N h`, `N min` since boot.
pub fn uptime_text(secs: u64) -> String {
    match secs {
        0..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d {} h", secs / 86_400, secs % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_judged_by_state_and_health() {
        let ps = include_str!("../../tests/data/node/docker-ps-allora.jsonl");
        let containers = parse::docker_ps(ps);
        assert_eq!(
            container_check("allora-inference-1", containers.get(1)).health,
            Health::Ok
        );
        assert_eq!(container_check("x", None).health, Health::Down);
        let mut exited = containers[0].clone();
        exited.state = "exited".into();
        exited.status = "Exited (1) 3 minutes ago".into();
        let check = container_check("allora-worker-1", Some(&exited));
        assert_eq!(check.health, Health::Down);
        assert!(
            check.detail.starts_with("Exited (1) 3 minutes ago"),
            "{}",
            check.detail
        );
        assert_eq!(uptime_text(200_000), "2 d 7 h");
    }
}
