//! The SSM test double (`tests/support/ssm_double.py`, our own code, loopback only) with its
//! sandbox: stub `docker`, `systemctl`, `journalctl`, `curl` and `cat` that print recorded,
//! real-format output from `state/` (copied from `tests/data/node/`), and `var/log/` for the
//! instance's logs. Neither moto nor LocalStack runs an SSM command; this double runs them for
//! real, so that `exec`, `logs`, `status`, `health` and `restart` are tested end to end
//! through the real binary and SDK (`AWS_ENDPOINT_URL_SSM`), while CloudFormation and EC2 stay
//! on the emulator. What it cannot show is said in `ssm_double.py`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, repo};

/// Which recorded node the sandbox plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A Theta Edge Node: edgelauncher container, edgecore and edgelauncher JSON-RPC.
    Theta,
    /// An Allora worker: inference and worker containers, worker metrics.
    Allora,
}

/// A running SSM double, stopped (process group, by PID) when dropped.
pub struct SsmDouble {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl SsmDouble {
    /// Starts the double on a free loopback port with a sandbox playing `recorded`; the SSM
    /// calls it does not model (GetParameter) go on to `emulator`.
    pub fn start(recorded: Recorded, emulator: &super::Emulator) -> SsmDouble {
        let dir = tempfile::tempdir().expect("temp dir");
        let sandbox = dir.path();
        for sub in ["bin", "state", "var/log"] {
            std::fs::create_dir_all(sandbox.join(sub)).expect("sandbox dirs");
        }
        let stubs = repo().join("tests/support/node-stubs");
        for entry in std::fs::read_dir(&stubs).expect("stubs") {
            let path = entry.expect("stub").path();
            std::fs::copy(&path, sandbox.join("bin").join(path.file_name().unwrap()))
                .expect("copy stub");
        }
        let data = repo().join("tests/data/node");
        let copy = |from: &str, to: &str| {
            std::fs::copy(data.join(from), sandbox.join(to)).expect("copy recorded output");
        };
        copy("cloud-init-output.log", "var/log/cloud-init-output.log");
        match recorded {
            Recorded::Theta => {
                copy("docker-ps-theta.jsonl", "state/docker-ps.jsonl");
                copy(
                    "edgecore-getstatus.json",
                    "state/rpc-edgecore.GetStatus.json",
                );
                copy("edgecore-getpeers.json", "state/rpc-edgecore.GetPeers.json");
                copy(
                    "edgelauncher-getpastjobs.json",
                    "state/rpc-edgelauncher.GetPastJobs.json",
                );
                std::fs::write(sandbox.join("state/docker-restarts"), "/edgelauncher 0\n").unwrap();
            }
            Recorded::Allora => {
                copy("docker-ps-allora.jsonl", "state/docker-ps.jsonl");
                copy("allora-metrics.txt", "state/metrics.txt");
                std::fs::write(
                    sandbox.join("state/docker-restarts"),
                    "/allora-worker-1 1\n/allora-inference-1 0\n",
                )
                .unwrap();
            }
        }
        std::fs::write(sandbox.join("state/service-state"), "active\n").unwrap();
        std::fs::write(sandbox.join("state/journal.log"), "").unwrap();
        let port = free_port();
        let log = std::fs::File::create(sandbox.join("double.log")).expect("log");
        let child = Command::new("python3")
            .arg(repo().join("tests/support/ssm_double.py"))
            .args(["--port", &port.to_string(), "--sandbox"])
            .arg(sandbox)
            .args(["--forward", &emulator.endpoint])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start the SSM double (python3)");
        let double = SsmDouble {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the SSM double did not listen within 20 s: {}",
                double.file("double.log")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        double
    }

    /// The sandbox directory.
    pub fn sandbox(&self) -> &Path {
        self.dir.path()
    }

    /// A file of the sandbox (`state/calls`, `requests.log`, ...), empty if absent.
    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// Writes a file of the sandbox (`state/service-state`, `state/down-17888`, ...), with its
    /// directories.
    pub fn write(&self, name: &str, text: &str) {
        let path: PathBuf = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create sandbox directory");
        }
        std::fs::write(path, text).expect("write sandbox file");
    }

    /// Removes a file of the sandbox.
    pub fn remove(&self, name: &str) {
        let _ = std::fs::remove_file(self.dir.path().join(name));
    }
}

impl Drop for SsmDouble {
    fn drop(&mut self) {
        // The whole process group: the double and any script it still runs.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}
