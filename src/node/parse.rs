//! Parsers of what the node's tools print, each tested on recorded real output
//! (`tests/data/node/`): `docker ps --format '{{json .}}'`, `docker inspect --format`,
//! `systemctl show`, `/proc/uptime`, Prometheus text exposition, JSON-RPC 2.0 replies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One container as `docker ps -a --no-trunc --format '{{json .}}'` prints it (one JSON object
/// per line; the keys are Docker's, `docker ps` reference "Formatting").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// The container name (`Names`; the first, if several).
    #[serde(rename(deserialize = "Names"))]
    pub name: String,
    /// The image (`Image`), e.g. `thetalabsorg/edgelauncher_mainnet:v1.1.1`.
    #[serde(rename(deserialize = "Image"))]
    pub image: String,
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead` (`State`).
    #[serde(rename(deserialize = "State"))]
    pub state: String,
    /// Docker's status text, e.g. `Up 2 hours (healthy)` (`Status`).
    #[serde(rename(deserialize = "Status"))]
    pub status: String,
    /// Restarts by Docker's restart policy (`RestartCount` of `docker inspect`).
    #[serde(default, skip_deserializing)]
    pub restarts: u32,
}

impl Container {
    /// The health check's state from the status text: `healthy`, `unhealthy`, `starting`, or
    /// `None` without a health check.
    pub fn health(&self) -> Option<&str> {
        if self.status.contains("(unhealthy)") {
            Some("unhealthy")
        } else if self.status.contains("(healthy)") {
            Some("healthy")
        } else if self.status.contains("(health: starting)") {
            Some("starting")
        } else {
            None
        }
    }
}

/// The containers of `docker ps --format '{{json .}}'` output; lines that are not such JSON
/// are skipped.
pub fn docker_ps(output: &str) -> Vec<Container> {
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<Container>(line.trim()).ok())
        .map(|mut container| {
            if let Some((first, _)) = container.name.split_once(',') {
                container.name = first.to_string();
            }
            container
        })
        .collect()
}

/// Restart counts from `docker inspect --format '{{.Name}} {{.RestartCount}}'` lines
/// (`/edgelauncher 2`), by name without the leading `/`.
pub fn restart_counts(output: &str) -> BTreeMap<String, u32> {
    output
        .lines()
        .filter_map(|line| {
            let (name, count) = line.trim().rsplit_once(' ')?;
            Some((
                name.trim_start_matches('/').to_string(),
                count.parse().ok()?,
            ))
        })
        .collect()
}

/// `KEY=VALUE` lines (`systemctl show -p ...`).
pub fn key_values(output: &str) -> BTreeMap<String, String> {
    output
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
        .collect()
}

/// Seconds since boot from `/proc/uptime` (`350735.47 234388.90`).
pub fn uptime(output: &str) -> Option<u64> {
    output
        .split_whitespace()
        .next()?
        .parse::<f64>()
        .ok()
        .map(|secs| secs as u64)
}

/// The samples of Prometheus text exposition format 0.0.4, summed by metric name over their
/// labels (`allora_worker_chain_submission_count{topic="1"} 3`); comments skipped.
pub fn prometheus(output: &str) -> BTreeMap<String, f64> {
    let mut metrics = BTreeMap::new();
    for line in output.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(at) => line.split_at(at),
            None => continue,
        };
        let value_part = match rest.strip_prefix('{') {
            Some(labels) => labels.split_once('}').map(|(_, v)| v).unwrap_or(""),
            None => rest,
        };
        if let Some(value) = value_part
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        {
            *metrics.entry(name.to_string()).or_insert(0.0) += value;
        }
    }
    metrics
}

/// The `result` of a JSON-RPC 2.0 reply, or the reason there is none (its `error`, or why the
/// text is not a reply).
pub fn jsonrpc(output: &str) -> Result<serde_json::Value, String> {
    let text = output.trim();
    if text.is_empty() {
        return Err("no answer".into());
    }
    let reply: serde_json::Value = serde_json::from_str(text).map_err(|_| {
        let first = text.lines().next().unwrap_or_default();
        format!(
            "not a JSON-RPC reply: {}",
            crate::node::script::clip(first, 120)
        )
    })?;
    if let Some(error) = reply.get("error").filter(|e| !e.is_null()) {
        let message = error
            .get("message")
            .and_then(|m| m.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| error.to_string());
        return Err(format!("RPC error: {message}"));
    }
    reply
        .get("result")
        .cloned()
        .ok_or_else(|| "a JSON-RPC reply without a result".into())
}

/// A JSON number or a string holding one (Theta answers heights as strings).
pub fn number(value: &serde_json::Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER_PS: &str = include_str!("../../tests/data/node/docker-ps-allora.jsonl");

    #[test]
    fn docker_ps_lines_give_name_image_state_and_health() {
        let containers = docker_ps(DOCKER_PS);
        assert_eq!(containers.len(), 2, "{containers:?}");
        assert_eq!(containers[0].name, "allora-worker-1");
        assert_eq!(containers[0].state, "running");
        assert_eq!(containers[0].health(), None);
        assert_eq!(containers[1].name, "allora-inference-1");
        assert_eq!(containers[1].health(), Some("healthy"));
        assert!(docker_ps("Cannot connect to the Docker daemon").is_empty());
    }

    #[test]
    fn restart_counts_by_name() {
        let counts = restart_counts("/allora-worker-1 3\n/allora-inference-1 0\n");
        assert_eq!(counts["allora-worker-1"], 3);
        assert_eq!(counts["allora-inference-1"], 0);
    }

    #[test]
    fn prometheus_samples_are_summed_over_labels() {
        let text = include_str!("../../tests/data/node/allora-metrics.txt");
        let metrics = prometheus(text);
        assert_eq!(metrics["allora_worker_inference_request_count"], 42.0);
        assert_eq!(metrics["allora_worker_chain_submission_count"], 40.0);
        assert!(metrics.contains_key("go_goroutines"));
    }

    #[test]
    fn jsonrpc_results_and_errors() {
        let status = include_str!("../../tests/data/node/edgecore-getstatus.json");
        let result = jsonrpc(status).unwrap();
        assert_eq!(number(&result["current_height"]), Some(27_318_744));
        assert_eq!(
            jsonrpc(
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"method not found"}}"#
            ),
            Err("RPC error: method not found".into())
        );
        assert_eq!(jsonrpc(""), Err("no answer".into()));
        assert!(jsonrpc("curl: (7) Failed to connect")
            .unwrap_err()
            .starts_with("not a JSON-RPC reply: curl: (7)"));
    }

    #[test]
    fn uptime_and_key_values() {
        assert_eq!(uptime("350735.47 234388.90\n"), Some(350_735));
        let show = key_values("ActiveState=active\nNRestarts=2\n");
        assert_eq!(show["NRestarts"], "2");
    }
}
