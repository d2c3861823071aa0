//! The Dynabench server for the day-2 commands: two systemd services run the upstream
//! servers, `dynabench-builder.service` (`api/builder/build_server_decen.py`) and
//! `dynabench-evaluator.service` (`api/evaluation/eval_server_decen.py`); both poll their SQS
//! queue and have no port. `status` and `health` read the builder as the node's service and
//! the evaluator through a probe; `logs` reads the builder's journal.

use crate::node::{Check, Health, NodeProfile, Probe};

/// What `status`, `health`, `logs` and `restart` know about the server.
pub(super) static SERVER: NodeProfile = NodeProfile {
    service: "dynabench-builder.service",
    containers: &[],
    probes: &[Probe {
        name: "evaluator",
        script: "systemctl is-active dynabench-evaluator.service",
        judge: evaluator,
    }],
    rpc: &[],
    about: "service: dynabench-builder.service (the build server) is active; evaluator: \
            dynabench-evaluator.service (the evaluation server) is active. The first boot \
            installs Python and the servers' packages: about 20 minutes.",
};

/// `systemctl is-active`: `active` is ok, `activating` (a restart) degraded, else down.
fn evaluator(output: &str, _: i32) -> Check {
    let state = output.trim();
    let health = match state {
        "active" => Health::Ok,
        "activating" | "reloading" => Health::Degraded,
        _ => Health::Down,
    };
    let detail = if state.is_empty() { "no answer" } else { state };
    Check::new(
        "evaluator",
        health,
        format!("dynabench-evaluator.service {detail}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_evaluator_is_judged_by_its_state() {
        assert_eq!(evaluator("active\n", 0).health, Health::Ok);
        assert_eq!(evaluator("activating\n", 3).health, Health::Degraded);
        let down = evaluator("failed\n", 3);
        assert_eq!(down.health, Health::Down);
        assert_eq!(down.detail, "dynabench-evaluator.service failed");
    }
}
