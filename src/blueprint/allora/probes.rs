//! The Allora worker for the day-2 commands: `allora-node.service` runs the docker compose
//! project `allora` (`templates/allora/user-data.sh`), whose containers are
//! `allora-inference-1` (the model's inference server, with a health check) and
//! `allora-worker-1` (allora-offchain-node). The worker's Prometheus metrics are on port 2112
//! of its container (`metrics.StartMetricsServer(":2112")` in allora-offchain-node's main.go;
//! counters `allora_worker_inference_request_count` and `allora_worker_chain_submission_count`,
//! `../shared/reference/node-software.md`); the port is not published, so the probe reads it
//! at the container's address on the compose network.

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
}
