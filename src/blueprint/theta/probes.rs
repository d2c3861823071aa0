//! The Theta Edge Node for the day-2 commands: `theta-edge-node.service` runs the
//! `edgelauncher` container, whose JSON-RPC ports are bound to 127.0.0.1 of the instance
//! (`../shared/reference/node-software.md`, "RPC ports"; the seed's FAQ,
//! `../shared/seeds/theta-edge-node-runner.md`): edgecore on 17888 (`edgecore.GetStatus`,
//! `GetPeers`, `GetVersion`), edgelauncher on 15888 (`edgelauncher.GetPastJobs`), edgeencoder
//! on 17935 (`edgeencoder.GetTVAStatus`).

use crate::node::parse::{jsonrpc, number};
use crate::node::{Check, Health, NodeProfile, Probe, RpcPort};

/// The probe script that calls JSON-RPC `$method` with `$params` (JSON text) on `$port` of
/// 127.0.0.1, at most 10 s.
macro_rules! rpc_probe {
    ($port:literal, $method:literal, $params:literal) => {
        concat!(
            "curl -sS -m 10 -H 'Content-Type: application/json' -d '{\"jsonrpc\":\"2.0\",\"method\":\"",
            $method,
            "\",\"params\":",
            $params,
            ",\"id\":1}' http://127.0.0.1:",
            $port,
            "/rpc"
        )
    };
}

/// What `status`, `health`, `logs` and `rpc` know about a Theta Edge Node.
pub(super) static NODE: NodeProfile = NodeProfile {
    service: "theta-edge-node.service",
    containers: &["edgelauncher"],
    probes: &[
        Probe {
            name: "edgecore",
            script: rpc_probe!(17888, "edgecore.GetStatus", "[]"),
            judge: edgecore,
        },
        Probe {
            name: "peers",
            script: rpc_probe!(17888, "edgecore.GetPeers", "[]"),
            judge: peers,
        },
        Probe {
            name: "edgelauncher",
            script: rpc_probe!(
                15888,
                "edgelauncher.GetPastJobs",
                r#"[{"type":"lavita","page":0,"num":1}]"#
            ),
            judge: launcher,
        },
    ],
    rpc: &[
        RpcPort {
            prefix: "edgecore",
            port: 17888,
        },
        RpcPort {
            prefix: "edgelauncher",
            port: 15888,
        },
        RpcPort {
            prefix: "edgeencoder",
            port: 17935,
        },
    ],
    about: "edgecore: edgecore.GetStatus on 17888 answers with the block height; peers: \
            edgecore.GetPeers has at least one peer; edgelauncher: edgelauncher.GetPastJobs on \
            15888 answers. The node needs about 10 minutes after boot to start (the seed's FAQ).",
};

/// `edgecore.GetStatus`: the height (down without an answer).
fn edgecore(output: &str, _exit_code: i32) -> Check {
    match jsonrpc(output) {
        Ok(result) => match number(&result["current_height"]) {
            Some(height) => Check::new("edgecore", Health::Ok, format!("height {height}")),
            None => Check::new(
                "edgecore",
                Health::Degraded,
                "answers, without a current_height (still starting?)",
            ),
        },
        Err(reason) => Check::new("edgecore", Health::Down, format!("17888: {reason}")),
    }
}

/// `edgecore.GetPeers`: degraded with no peer.
fn peers(output: &str, _exit_code: i32) -> Check {
    match jsonrpc(output) {
        Ok(result) => {
            let count = result["peers"].as_array().map_or(0, Vec::len);
            if count == 0 {
                Check::new("peers", Health::Degraded, "no peers")
            } else {
                Check::new("peers", Health::Ok, format!("{count} peers"))
            }
        }
        Err(reason) => Check::new("peers", Health::Down, format!("17888: {reason}")),
    }
}

/// `edgelauncher.GetPastJobs`: answers (the number of jobs it lists is shown).
fn launcher(output: &str, _exit_code: i32) -> Check {
    match jsonrpc(output) {
        Ok(result) => {
            let jobs = result["body"].as_array().map_or(0, Vec::len);
            Check::new(
                "edgelauncher",
                Health::Ok,
                format!(
                    "answers ({jobs} recent job{})",
                    if jobs == 1 { "" } else { "s" }
                ),
            )
        }
        Err(reason) => Check::new("edgelauncher", Health::Down, format!("15888: {reason}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_scripts_call_the_rpc_ports() {
        assert_eq!(
            NODE.probes[0].script,
            "curl -sS -m 10 -H 'Content-Type: application/json' -d \
             '{\"jsonrpc\":\"2.0\",\"method\":\"edgecore.GetStatus\",\"params\":[],\"id\":1}' \
             http://127.0.0.1:17888/rpc"
        );
        assert!(NODE.probes[2].script.ends_with(
            r#""params":[{"type":"lavita","page":0,"num":1}],"id":1}' http://127.0.0.1:15888/rpc"#
        ));
    }

    #[test]
    fn recorded_replies_are_judged() {
        let status = include_str!("../../../tests/data/node/edgecore-getstatus.json");
        assert_eq!(edgecore(status, 0).detail, "height 27318744");
        let peers_reply = include_str!("../../../tests/data/node/edgecore-getpeers.json");
        assert_eq!(peers(peers_reply, 0).detail, "3 peers");
        assert_eq!(
            peers(r#"{"jsonrpc":"2.0","id":1,"result":{"peers":[]}}"#, 0).health,
            Health::Degraded
        );
        let jobs = include_str!("../../../tests/data/node/edgelauncher-getpastjobs.json");
        assert_eq!(launcher(jobs, 0).detail, "answers (1 recent job)");
        let refused = "curl: (7) Failed to connect to 127.0.0.1 port 17888 after 0 ms: Couldn't connect to server\n";
        let check = edgecore(refused, 7);
        assert_eq!(check.health, Health::Down);
        assert!(
            check
                .detail
                .starts_with("17888: not a JSON-RPC reply: curl: (7)"),
            "{}",
            check.detail
        );
    }
}
