//! The Allora worker for the day-2 commands: `allora-node.service` runs the docker compose
//! project `allora` (`templates/allora/user-data.sh`), whose containers are
//! `allora-inference-1` (the model's inference server, with a health check) and
//! `allora-worker-1` (allora-offchain-node). The worker's Prometheus metrics are on port 2112
//! of its container (`metrics.StartMetricsServer(":2112")` in allora-offchain-node's main.go;
//! counters `allora_worker_inference_request_count` and `allora_worker_chain_submission_count`,
//! `../shared/reference/node-software.md`); the port is not published, so the probe reads it
//! at the container's address on the compose network.
//!
//! With `WorkerRuntime` `sdk` the node is `allora-sdk-worker.service` (no container), and the
//! worker (`templates/allora/sdk-worker.py`) keeps its counts in
//! `/run/allora-sdk-worker/status.json`: the SDK itself opens no port and exposes no metrics
//! (`../shared/reference/upstream-2026.md` section 1.5).

use crate::node::parse::prometheus;
use crate::node::script::clip;
use crate::node::{Check, Health, NodeProfile, Probe};

/// What `status`, `health` and `logs` know about an Allora worker node.
pub(super) static NODE: NodeProfile = NodeProfile {
    service: "allora-node.service",
    containers: &["allora-inference-1", "allora-worker-1"],
    probes: &[
        Probe {
            name: "inference",
            script: "curl -fsS -m 10 -o /dev/null -w 'HTTP %{http_code}\\n' ${InferenceHealthUrl}",
            judge: inference,
        },
        Probe {
            name: "worker",
            script:
                "ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' \
                     allora-worker-1) && curl -fsS -m 10 \"http://$ip:2112/metrics\"",
            judge: worker,
        },
    ],
    rpc: &[],
    about: "inference: the inference server's health URL (INFERENCE_ENDPOINT) answers; worker: \
            the worker's metrics on port 2112 answer, with its inference requests and chain \
            submissions.",
};

/// What `status`, `health` and `logs` know about an Allora SDK worker node.
pub(super) static SDK_NODE: NodeProfile = NodeProfile {
    service: "allora-sdk-worker.service",
    containers: &[],
    probes: &[Probe {
        name: "worker",
        script: "cat /run/allora-sdk-worker/status.json",
        judge: sdk_worker,
    }],
    rpc: &[],
    about: "worker: the SDK worker's status file (chain id checked, submissions, the last \
            error).",
};

/// The SDK worker's status file: `{"chainId", "topics", "submissions", "failures",
/// "lastSubmission", "lastError"}`. Degraded when it is missing, or when submissions failed
/// and none succeeded.
fn sdk_worker(output: &str, exit_code: i32) -> Check {
    let status: Option<serde_json::Value> = serde_json::from_str(output.trim()).ok();
    let Some(status) = status.filter(|_| exit_code == 0) else {
        let reason = output.trim().lines().last().unwrap_or("no output");
        return Check::new(
            "worker",
            Health::Degraded,
            format!("no status file: {}", clip(reason, 120)),
        );
    };
    let count = |key: &str| status[key].as_u64().unwrap_or(0);
    let (submissions, failures) = (count("submissions"), count("failures"));
    let chain = status["chainId"].as_str().unwrap_or("?");
    let detail = format!("{chain}: {submissions} submissions, {failures} failed");
    match (submissions, failures, status["lastError"].as_str()) {
        (0, 1.., Some(error)) => Check::new(
            "worker",
            Health::Degraded,
            format!("{detail}; last error: {}", clip(error, 120)),
        ),
        (0, _, _) => Check::new(
            "worker",
            Health::Ok,
            format!("{detail} (waiting for a submission window)"),
        ),
        _ => Check::new(
            "worker",
            Health::Ok,
            match status["lastSubmission"].as_str() {
                Some(at) => format!("{detail}, last at {at}"),
                None => detail,
            },
        ),
    }
}

/// The inference server's health URL: down unless it answers with success.
fn inference(output: &str, exit_code: i32) -> Check {
    let text = output.trim();
    if exit_code == 0 {
        Check::new("inference", Health::Ok, format!("answers ({text})"))
    } else {
        let reason = text.lines().last().unwrap_or("no answer");
        Check::new("inference", Health::Down, clip(reason, 160))
    }
}

/// The worker's metrics: degraded when they do not answer, or when the worker made inference
/// requests but submitted nothing to the chain.
fn worker(output: &str, exit_code: i32) -> Check {
    let metrics = prometheus(output);
    let requests = metrics
        .get("allora_worker_inference_request_count")
        .copied();
    if exit_code != 0 || requests.is_none() && metrics.is_empty() {
        let reason = output.trim().lines().last().unwrap_or("no answer");
        return Check::new(
            "worker",
            Health::Degraded,
            format!("metrics on 2112 do not answer: {}", clip(reason, 120)),
        );
    }
    let requests = requests.unwrap_or(0.0) as u64;
    let submissions = metrics
        .get("allora_worker_chain_submission_count")
        .copied()
        .unwrap_or(0.0) as u64;
    let detail = format!("{requests} inference requests, {submissions} chain submissions");
    if requests > 0 && submissions == 0 {
        Check::new(
            "worker",
            Health::Degraded,
            format!("{detail} (none submitted: ALLORA_WALLET_SUBMIT_TX=false, or see `nodectl logs --source allora-worker-1`)"),
        )
    } else {
        Check::new("worker", Health::Ok, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_metrics_are_judged() {
        let text = include_str!("../../../tests/data/node/allora-metrics.txt");
        let check = worker(text, 0);
        assert_eq!(check.health, Health::Ok);
        assert_eq!(check.detail, "42 inference requests, 40 chain submissions");
        let none = "allora_worker_inference_request_count{topic=\"1\"} 5\n";
        assert_eq!(worker(none, 0).health, Health::Degraded);
        let refused = "curl: (7) Failed to connect to 172.18.0.3 port 2112 after 0 ms: Couldn't connect to server\n";
        assert!(worker(refused, 7)
            .detail
            .starts_with("metrics on 2112 do not answer: curl: (7)"));
        assert_eq!(inference("HTTP 200\n", 0).detail, "answers (HTTP 200)");
        assert_eq!(
            inference("curl: (22) The requested URL returned error: 503\n", 22).health,
            Health::Down
        );
    }

    #[test]
    fn the_sdk_workers_status_file_is_judged() {
        let ok = r#"{"chainId": "allora-testnet-1", "topics": [69], "submissions": 3,
            "failures": 1, "lastSubmission": "2026-11-30T12:00:00Z", "lastError": "timeout"}"#;
        let check = sdk_worker(ok, 0);
        assert_eq!(check.health, Health::Ok);
        assert_eq!(
            check.detail,
            "allora-testnet-1: 3 submissions, 1 failed, last at 2026-11-30T12:00:00Z"
        );
        let failing = r#"{"chainId": "allora-testnet-1", "submissions": 0, "failures": 2,
            "lastError": "account sequence mismatch"}"#;
        let check = sdk_worker(failing, 0);
        assert_eq!(check.health, Health::Degraded);
        assert_eq!(
            check.detail,
            "allora-testnet-1: 0 submissions, 2 failed; last error: account sequence mismatch"
        );
        let waiting = r#"{"chainId": "allora-testnet-1", "submissions": 0, "failures": 0}"#;
        assert_eq!(sdk_worker(waiting, 0).health, Health::Ok);
        let missing = "cat: /run/allora-sdk-worker/status.json: No such file or directory\n";
        assert_eq!(
            sdk_worker(missing, 1).detail,
            "no status file: cat: /run/allora-sdk-worker/status.json: No such file or directory"
        );
    }
}
