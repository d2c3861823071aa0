//! The SDK worker runner, `templates/allora/sdk-worker.py`, run with `python3` as systemd runs
//! it (`python sdk-worker.py worker.json`, cwd the model directory, `RUNTIME_DIRECTORY` holding
//! the secret files, `LOGS_DIRECTORY`, `NOTIFY_SOCKET` a datagram socket the test binds), both as
//! it is in `templates/` and as nodectl ships it (`strip_python_docs`).
//!
//! It imports a FAKE `allora_sdk`, `tests/data/sdk/fake/allora_sdk` (on `PYTHONPATH`), with the
//! names and signatures the runner uses from the real wheels (1.3.0: `AlloraWorker.inferer(...,
//! lock)`, `client.raise_for_chain_id_mismatch()`, the model called with a `RunContext`; 1.0.6:
//! `AlloraWorker(...)`, `client.is_connected()`, the model called with the nonce, and no
//! `AlloraWalletConfig` exported from the package). Like the real `allora_sdk.worker.worker`, its
//! `run()` installs SIGINT/SIGTERM handlers with `signal.signal`, replacing the one before. The
//! fake records every call in `FAKE_SDK_LOG` (one JSON line each, the wallet as its
//! `mnemonic_file`, the API key's value) and is driven by `FAKE_SDK_VERSION`, `FAKE_CHAIN_ID`,
//! `FAKE_RESULTS` (what `run()` yields: `ok`, or `error` for an `Exception`) and `FAKE_STOP`
//! (`run()` returns by itself, as the real one does when the wallet is not whitelisted).
//!
//! The tests: ready only after the chain id check, with the wallet as its file, the API key,
//! topic, fee tier and polling interval passed on, the model seeing `model-env.json`, the
//! counts in `status.json`, no secret in the output or log, and exit 0 on SIGTERM (also for
//! the program as shipped); exit 2 and no READY on a chain id mismatch; two topics with one
//! lock, both stopped by one SIGTERM (`share_signals`); the 1.0 constructor API; exit 3 when a
//! worker's `run()` returns by itself; a SIGTERM during start-up stops the runner; both Python
//! templates compile with and without their documentation.
//!
//! What the fake cannot show: it talks to no chain, signs and submits nothing, and reads no
//! wallet beyond the file; what the real SDK does (its signal handlers, what it yields, when its
//! `run()` returns, what 1.0.6 exports) is read from the wheels, not run. Whether the pinned
//! wheels install, and systemd starting the unit, only an instance shows.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{read_json, repo, TEST_MNEMONIC};

/// The testnet API key in `$RUNTIME_DIRECTORY/api-key`.
const API_KEY: &str = "UP-fake-api-key-5f1c0e";
/// How long the runner may take to report ready, stop or exit.
const WITHIN: Duration = Duration::from_secs(20);

/// The model: the length of `TOKEN` (from `model-env.json`), 3.0 for ETH; a KeyError without it.
const MODEL: &str =
    "import os\n\ndef predict(context):\n    return float(len(os.environ[\"TOKEN\"]))\n";

/// The settings nodectl writes for testnet (`SdkWorker`), with `topics`.
fn testnet(topics: &[u64]) -> Value {
    json!({"sdk": "1.3.0", "api": "factory", "network": "testnet", "chainId": "allora-testnet-1",
        "topics": topics, "feeTier": "standard", "pollingInterval": 120, "model": "model:predict"})
}

/// The runner as it is in `templates/`.
fn runner() -> PathBuf {
    repo().join("templates/allora/sdk-worker.py")
}

/// A node's directories (a temporary directory): the model directory (cwd) with `model.py` and
/// `worker.json`, `run/` (`RUNTIME_DIRECTORY`: wallet, api-key, model-env.json), `logs/`
/// (`LOGS_DIRECTORY`), the fake SDK's log, and the notify socket.
struct Node {
    dir: tempfile::TempDir,
    socket: UnixDatagram,
}

impl Node {
    fn new(config: &Value, api_key: Option<&str>) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        fs::create_dir(&run).unwrap();
        fs::create_dir(dir.path().join("logs")).unwrap();
        // As the unit's ExecStartPre writes it: the mnemonic without a newline (jq -j).
        fs::write(run.join("wallet"), TEST_MNEMONIC).unwrap();
        if let Some(key) = api_key {
            fs::write(run.join("api-key"), key).unwrap();
        }
        fs::write(run.join("model-env.json"), r#"{"TOKEN": "ETH"}"#).unwrap();
        fs::write(dir.path().join("model.py"), MODEL).unwrap();
        fs::write(dir.path().join("worker.json"), config.to_string()).unwrap();
        let socket = UnixDatagram::bind(dir.path().join("notify")).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Node { dir, socket }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `python3 program worker.json` with the unit's environment, the fake SDK and `extra`.
    fn start(&self, program: &Path, extra: &[(&str, &str)]) -> Running {
        let mut command = Command::new("python3");
        command
            .arg(program)
            .arg(self.path("worker.json"))
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PYTHONPATH", repo().join("tests/data/sdk/fake"))
            // No __pycache__ in tests/data.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("RUNTIME_DIRECTORY", self.path("run"))
            .env("LOGS_DIRECTORY", self.path("logs"))
            .env("NOTIFY_SOCKET", self.path("notify"))
            .env("FAKE_SDK_LOG", self.path("sdk.log"))
            .stdin(Stdio::null())
            .stdout(File::create(self.path("stdout")).unwrap())
            .stderr(File::create(self.path("stderr")).unwrap());
        for (name, value) in extra {
            command.env(name, value);
        }
        Running {
            child: command.spawn().expect("python3"),
        }
    }

    /// The fake SDK's calls, in order.
    fn calls(&self) -> Vec<Value> {
        fs::read_to_string(self.path("sdk.log"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The fake SDK's calls named `call`.
    fn calls_of(&self, call: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| c["call"] == call)
            .collect()
    }

    fn status(&self) -> Value {
        read_json(&self.path("run/status.json"))
    }

    /// The runner's stderr, status file and the fake's calls: what a failing assertion shows.
    fn diagnostics(&self) -> String {
        format!(
            "stderr:\n{}\nstatus.json: {}\nfake SDK calls:\n{}",
            fs::read_to_string(self.path("stderr")).unwrap_or_default(),
            fs::read_to_string(self.path("run/status.json")).unwrap_or_default(),
            fs::read_to_string(self.path("sdk.log")).unwrap_or_default()
        )
    }

    /// The first notification with READY=1, within [`WITHIN`]; None when the runner exits or
    /// the time is up first.
    fn wait_ready(&self, running: &mut Running) -> Option<String> {
        let deadline = Instant::now() + WITHIN;
        let mut buffer = [0u8; 4096];
        while Instant::now() < deadline {
            let exited = running.child.try_wait().unwrap().is_some();
            match self.socket.recv(&mut buffer) {
                Ok(n) => {
                    let state = String::from_utf8_lossy(&buffer[..n]).into_owned();
                    if state.split('\n').any(|line| line == "READY=1") {
                        return Some(state);
                    }
                }
                Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if exited {
                        return None;
                    }
                }
                Err(err) => panic!("notify socket: {err}"),
            }
        }
        None
    }

    /// Waits for READY=1, or fails with the diagnostics.
    fn expect_ready(&self, running: &mut Running) -> String {
        self.wait_ready(running).unwrap_or_else(|| {
            panic!(
                "no READY=1 within {WITHIN:?} (the runner's exit status: {:?})\n{}",
                running
                    .child
                    .try_wait()
                    .unwrap()
                    .map(|status| status.code()),
                self.diagnostics()
            )
        })
    }

    /// The notifications not read yet.
    fn pending_notifications(&self) -> Vec<String> {
        self.socket.set_nonblocking(true).unwrap();
        let mut buffer = [0u8; 4096];
        let mut states = Vec::new();
        while let Ok(n) = self.socket.recv(&mut buffer) {
            states.push(String::from_utf8_lossy(&buffer[..n]).into_owned());
        }
        self.socket.set_nonblocking(false).unwrap();
        states
    }

    /// Waits until `done` holds (polling every 50 ms), or fails naming `what`.
    fn wait_until(&self, what: &str, done: impl Fn(&Node) -> bool) {
        let deadline = Instant::now() + WITHIN;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "not within {WITHIN:?}: {what}\n{}",
                self.diagnostics()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the runner to exit, or kills it and fails.
    fn expect_exit(&self, running: &mut Running, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = running.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = running.child.kill();
                let _ = running.child.wait();
                panic!(
                    "the runner did not exit within {within:?} (killed)\n{}",
                    self.diagnostics()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The exit code, or a failure showing how the runner ended.
    fn expect_code(&self, status: ExitStatus, code: i32) {
        assert_eq!(
            status.code(),
            Some(code),
            "exit status {status:?}\n{}",
            self.diagnostics()
        );
    }
}

/// The runner's process, killed (by its pid) if a test fails before it exits.
struct Running {
    child: Child,
}

impl Running {
    fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM {}", self.child.id());
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Asserts the calls of the worker of `topic` built with `call` (`inferer`, `constructor`).
fn assert_built(node: &Node, call: &str, topic: u64, expected: &Value) -> Value {
    let built: Vec<Value> = node
        .calls_of(call)
        .into_iter()
        .filter(|c| c["topic_id"] == topic)
        .collect();
    assert_eq!(
        built.len(),
        1,
        "one {call} for topic {topic}\n{}",
        node.diagnostics()
    );
    let built = built[0].clone();
    let wallet = node.path("run/wallet");
    assert_eq!(
        built["wallet"],
        json!({"type": "AlloraWalletConfig", "mnemonic_file": wallet.to_str().unwrap(),
            "mnemonic_given": false, "private_key_given": false}),
        "the wallet is the file, never the mnemonic"
    );
    for (field, value) in expected.as_object().unwrap() {
        assert_eq!(&built[field], value, "{call} {field}: {built}");
    }
    built
}

/// The model calls of `topic`: what the model got, and returned.
fn model_calls(node: &Node, topic: u64) -> Vec<Value> {
    node.calls_of("model")
        .into_iter()
        .filter(|c| c["topic_id"] == topic)
        .collect()
}

/// The ready scenario on `program`: one testnet topic, results ok, error, ok; ready after the
/// chain check; counts in status.json; no secret in the output or log; exit 0 on SIGTERM.
fn ready_scenario(program: &Path) {
    let node = Node::new(&testnet(&[69]), Some(API_KEY));
    let mut running = node.start(program, &[("FAKE_RESULTS", "ok,error,ok")]);
    let ready = node.expect_ready(&mut running);
    assert!(
        ready.starts_with("READY=1\nSTATUS=chain allora-testnet-1 checked"),
        "{ready:?}"
    );
    // READY came after the chain id check, which found the preset's chain.
    let checks = node.calls_of("raise_for_chain_id_mismatch");
    assert!(
        !checks.is_empty(),
        "READY before the chain id check\n{}",
        node.diagnostics()
    );
    assert_eq!(checks[0]["reported"], "allora-testnet-1");
    assert_eq!(checks[0]["configured"], "allora-testnet-1");

    assert_built(
        &node,
        "inferer",
        69,
        &json!({"network": "allora-testnet-1", "api_key": API_KEY, "fee_tier": "STANDARD",
            "polling_interval": 120, "polling_interval_type": "int", "lock_type": "Lock"}),
    );
    node.wait_until("3 results counted in status.json", |n| {
        let status = n.status();
        status["submissions"].as_u64().unwrap_or(0) + status["failures"].as_u64().unwrap_or(0) == 3
    });
    let models = model_calls(&node, 69);
    assert_eq!(models.len(), 3, "{}", node.diagnostics());
    for call in &models {
        assert_eq!(call["argument"], "RunContext", "{call}");
        assert_eq!(call["argument_topic"], 69, "{call}");
        // 3.0 = len("ETH"): the model saw model-env.json's TOKEN in os.environ.
        assert_eq!(call["returned"], 3.0, "{call}");
    }
    let status = node.status();
    assert_eq!(status["submissions"], 2, "{status}");
    assert_eq!(status["failures"], 1, "{status}");
    assert_eq!(
        status["lastError"], "topic 69: fake submission of nonce 1001 failed",
        "{status}"
    );
    assert!(status["lastSubmission"].is_string(), "{status}");
    assert_eq!(status["chainId"], "allora-testnet-1");
    assert_eq!(status["sdk"], "1.3.0");
    assert_eq!(status["topics"], json!([69]));
    assert!(
        status["address"]
            .as_str()
            .unwrap_or("")
            .starts_with("allo1fake"),
        "the fake's address, from the wallet file: {status}"
    );

    running.terminate();
    let exit = node.expect_exit(&mut running, WITHIN);
    node.expect_code(exit, 0);
    let handled = node.calls_of("handler");
    assert_eq!(handled.len(), 1, "{}", node.diagnostics());
    assert_eq!(handled[0]["signum"], 15);

    let log = fs::read_to_string(node.path("logs/worker.log")).unwrap();
    assert!(
        log.contains("chain allora-testnet-1 checked; wallet allo1fake"),
        "{log}"
    );
    assert!(log.contains("topic 69: submission failed"), "{log}");
    for file in [
        "stdout",
        "stderr",
        "logs/worker.log",
        "run/status.json",
        "sdk.log",
    ] {
        let text = fs::read_to_string(node.path(file)).unwrap();
        assert!(!text.contains(TEST_MNEMONIC), "the mnemonic is in {file}");
        if file != "sdk.log" {
            assert!(!text.contains(API_KEY), "the API key is in {file}");
        }
    }
}

#[test]
fn sdk_worker_reports_ready_after_the_chain_check_counts_results_and_exits_0_on_sigterm() {
    ready_scenario(&runner());
}

#[test]
fn sdk_worker_exits_2_without_ready_on_a_chain_id_mismatch() {
    let node = Node::new(&testnet(&[69]), Some(API_KEY));
    let mut running = node.start(
        &runner(),
        &[("FAKE_CHAIN_ID", "other"), ("FAKE_RESULTS", "ok")],
    );
    let exit = node.expect_exit(&mut running, WITHIN);
    node.expect_code(exit, 2);
    assert_eq!(node.pending_notifications(), Vec::<String>::new());
    let status = node.status();
    let error = status["lastError"].as_str().unwrap_or("");
    assert!(error.starts_with("cannot start:"), "{status}");
    assert!(
        error.contains("allora-testnet-1") && error.contains("other"),
        "names both chain ids: {status}\n{}",
        node.diagnostics()
    );
    assert_eq!(status["submissions"], 0);
    assert!(node.calls_of("model").is_empty(), "{}", node.diagnostics());
    assert!(
        node.calls_of("signal.signal").is_empty(),
        "{}",
        node.diagnostics()
    );
}

#[test]
fn sdk_worker_runs_two_topics_with_one_lock_and_one_sigterm_stops_both() {
    let node = Node::new(&testnet(&[69, 70]), Some(API_KEY));
    let mut running = node.start(&runner(), &[("FAKE_RESULTS", "ok")]);
    node.expect_ready(&mut running);
    let expected = json!({"api_key": API_KEY, "fee_tier": "STANDARD", "lock_type": "Lock"});
    let first = assert_built(&node, "inferer", 69, &expected);
    let second = assert_built(&node, "inferer", 70, &expected);
    assert!(first["lock"].is_u64(), "{first}");
    assert_eq!(first["lock"], second["lock"], "one lock for one wallet");
    node.wait_until(
        "both workers' run() installed their handlers and ran the model",
        |n| {
            n.calls_of("signal.signal").len() == 2
                && model_calls(n, 69).len() == 1
                && model_calls(n, 70).len() == 1
        },
    );
    node.wait_until("2 submissions counted", |n| n.status()["submissions"] == 2);

    running.terminate();
    let exit = node.expect_exit(&mut running, WITHIN);
    node.expect_code(exit, 0);
    let mut handled: Vec<Value> = node
        .calls_of("handler")
        .iter()
        .map(|c| json!([c["topic_id"], c["signum"]]))
        .collect();
    handled.sort_by_key(|v| v.to_string());
    assert_eq!(
        handled,
        vec![json!([69, 15]), json!([70, 15])],
        "both workers' SIGTERM handlers ran\n{}",
        node.diagnostics()
    );
}

#[test]
fn sdk_worker_builds_1_0_workers_with_the_constructor_and_passes_the_model_the_nonce() {
    let config = json!({"sdk": "1.0.6", "api": "constructor", "network": "mainnet",
        "chainId": "allora-mainnet-1", "topics": [69], "feeTier": "eco", "pollingInterval": 60,
        "model": "model:predict"});
    // No api-key file: the key is optional (mainnet has no faucet).
    let node = Node::new(&config, None);
    let mut running = node.start(
        &runner(),
        &[("FAKE_SDK_VERSION", "1.0.6"), ("FAKE_RESULTS", "ok")],
    );
    let ready = node.expect_ready(&mut running);
    assert!(
        ready.starts_with("READY=1\nSTATUS=chain allora-mainnet-1 checked"),
        "{ready:?}"
    );
    assert!(node.calls_of("inferer").is_empty());
    assert_built(
        &node,
        "constructor",
        69,
        &json!({"network": "allora-mainnet-1", "api_key": null, "fee_tier": "ECO",
            "polling_interval": 60, "polling_interval_type": "int"}),
    );
    let checks = node.calls_of("is_connected");
    assert_eq!(checks.len(), 1, "{}", node.diagnostics());
    assert_eq!(checks[0]["reported"], "allora-mainnet-1");
    node.wait_until("the model ran", |n| model_calls(n, 69).len() == 1);
    let model = &model_calls(&node, 69)[0];
    assert_eq!(model["argument"], "int", "{model}");
    assert_eq!(model["argument_nonce"], 1000, "{model}");
    assert_eq!(model["returned"], 3.0, "{model}");
    node.wait_until("1 submission counted", |n| n.status()["submissions"] == 1);

    running.terminate();
    let exit = node.expect_exit(&mut running, WITHIN);
    node.expect_code(exit, 0);
}

#[test]
fn sdk_worker_exits_3_when_a_worker_stops_by_itself() {
    let node = Node::new(&testnet(&[69]), Some(API_KEY));
    let mut running = node.start(&runner(), &[("FAKE_RESULTS", "ok"), ("FAKE_STOP", "1")]);
    node.expect_ready(&mut running);
    let exit = node.expect_exit(&mut running, WITHIN);
    node.expect_code(exit, 3);
    assert_eq!(node.calls_of("stopped")[0]["by"], "stop");
    let status = node.status();
    assert_eq!(status["submissions"], 1, "{status}");
    let error = status["lastError"].as_str().unwrap_or("");
    assert!(error.contains("stopped"), "{status}");
    assert!(error.contains("69"), "names the topic: {status}");
}

/// A SIGTERM while the runner starts (here: while the model module imports, as a large model
/// library does) must stop it, as it stops a Python program by default: systemd sends it on
/// `systemctl stop` at any time, and waits TimeoutStopSec (60 s) before SIGKILL.
#[test]
fn sdk_worker_stops_on_a_sigterm_before_the_workers_run() {
    let node = Node::new(&testnet(&[69]), Some(API_KEY));
    fs::write(
        node.path("model.py"),
        format!("import time\nopen('importing', 'w').close()\ntime.sleep(3)\n{MODEL}"),
    )
    .unwrap();
    let mut running = node.start(&runner(), &[("FAKE_RESULTS", "ok")]);
    node.wait_until("the model module is importing", |n| {
        n.path("importing").exists()
    });
    running.terminate();
    let exit = node.expect_exit(&mut running, Duration::from_secs(10));
    assert!(
        exit.code() == Some(0) || exit.signal() == Some(15),
        "exit status {exit:?}\n{}",
        node.diagnostics()
    );
    let states = node.pending_notifications();
    assert!(
        !states.iter().any(|s| s.contains("READY=1")),
        "READY after SIGTERM: {states:?}"
    );
}

/// nodectl ships the runner without comments and docstrings (`strip_python_docs`): the shipped
/// program passes the ready scenario too.
#[test]
fn sdk_worker_as_shipped_without_docs_runs_the_same() {
    let source = fs::read_to_string(runner()).unwrap();
    let stripped = nodectl::template::strip_python_docs(&source);
    assert!(stripped.len() < source.len() && !stripped.contains("\"\"\""));
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("sdk-worker.py");
    fs::write(&program, stripped).unwrap();
    ready_scenario(&program);
}

#[test]
fn sdk_worker_and_model_compile_with_and_without_docs() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["sdk-worker.py", "sdk-model.py"] {
        let source = fs::read_to_string(repo().join("templates/allora").join(name)).unwrap();
        let stripped = nodectl::template::strip_python_docs(&source);
        assert_ne!(stripped, source, "{name} has documentation to strip");
        // Copies, so that py_compile writes its __pycache__ in the temporary directory.
        for (label, text) in [
            ("unstripped", source.as_str()),
            ("stripped", stripped.as_str()),
        ] {
            let file = dir.path().join(format!("{label}-{name}"));
            fs::write(&file, text).unwrap();
            let compiled = Command::new("python3")
                .args(["-m", "py_compile"])
                .arg(&file)
                .output()
                .expect("python3");
            assert!(
                compiled.status.success(),
                "{label} {name}: {}",
                String::from_utf8_lossy(&compiled.stderr)
            );
        }
    }
}
