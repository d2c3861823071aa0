//! What the day-2 commands know about a blueprint's node: its systemd service, its containers,
//! its health probes and its RPC (a [`NodeProfile`], which each blueprint declares), and how a
//! check is judged ([`Check`], [`Health`]). Nothing here talks to AWS: the probes are shell
//! snippets that `crate::ops::node` runs on the instance through SSM Run Command in one
//! script, and whose output the judges here read (parsers in [`parse`]).

pub mod parse;
pub mod script;

use serde::Serialize;

/// How healthy something is; the worst of a node's checks is the node's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Working as it should.
    Ok,
    /// Working, but something needs a look (no peers, a container restarting, no metrics).
    Degraded,
    /// Not working (stopped instance, agent offline, service down, RPC not answering).
    Down,
}

impl Health {
    /// `ok`, `degraded`, `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Degraded => "degraded",
            Health::Down => "down",
        }
    }
}

/// One judged check: what was checked, how it is, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The check's name, e.g. `instance`, `ssm-agent`, `service`, `edgecore`.
    pub name: String,
    /// Its health.
    pub health: Health,
    /// What was found, e.g. `height 24581230, 12 peers`, or why it is not ok.
    pub detail: String,
}

impl Check {
    /// A check named `name`.
    pub fn new(name: &str, health: Health, detail: impl Into<String>) -> Self {
        Check {
            name: name.to_string(),
            health,
            detail: detail.into(),
        }
    }
}

/// A health probe run on the node: a shell snippet whose standard output (and exit code,
/// appended as a last line `exit=N` by [`script::Script`]) a judge reads.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// The check's name, e.g. `edgecore`.
    pub name: &'static str,
    /// The snippet, run as root with bash. `${Name}` is replaced by the node stack's template
    /// parameter `Name`, shell-quoted (e.g. `${InferenceHealthUrl}`).
    pub script: &'static str,
    /// Reads the output (without the `exit=N` line) and the exit code.
    pub judge: fn(output: &str, exit_code: i32) -> Check,
}

/// A JSON-RPC port of the node, for `nodectl rpc` (Theta: edgecore on 17888, ...).
#[derive(Debug, Clone, Copy)]
pub struct RpcPort {
    /// The method prefix it serves, e.g. `edgecore` (methods `edgecore.GetStatus`, ...).
    pub prefix: &'static str,
    /// The port on 127.0.0.1 of the instance.
    pub port: u16,
}

/// What the day-2 commands know about one blueprint's node.
#[derive(Debug, Clone, Copy)]
pub struct NodeProfile {
    /// The systemd unit that runs the node, e.g. `theta-edge-node.service`: `restart` restarts
    /// it, `logs --source node` reads its journal.
    pub service: &'static str,
    /// The containers the node runs (names as `docker ps` shows them); a missing or exited
    /// one makes the node down.
    pub containers: &'static [&'static str],
    /// The node's own health probes.
    pub probes: &'static [Probe],
    /// JSON-RPC ports for `nodectl rpc` (empty: the blueprint has none).
    pub rpc: &'static [RpcPort],
    /// Extra lines of `nodectl health --help`-style explanation of what the probes mean.
    pub about: &'static str,
}
