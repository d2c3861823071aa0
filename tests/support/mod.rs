//! Test support: run the real `nodectl` binary with a clean environment, and start local AWS
//! emulators (moto, LocalStack) on free loopback ports, stopped by PID when dropped.
//!
//! The emulators come from the virtual environments `scripts/setup-emulators` creates under
//! `.venv/` (override the directory with `NODECTL_TEST_VENVS`). A missing emulator fails the
//! test with that hint: tests never skip silently.

#![allow(dead_code)]

pub mod faults;
pub mod ssm;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding the emulator virtual environments.
pub fn venvs() -> PathBuf {
    std::env::var_os("NODECTL_TEST_VENVS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv"))
}

/// A program inside a venv, or a panic that says how to install it.
pub fn venv_program(venv: &str, program: &str) -> PathBuf {
    let path = venvs().join(venv).join("bin").join(program);
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup-emulators first",
        path.display()
    );
    path
}

/// An upstream file copied into `tests/data` (from `../shared/upstream-configs`).
pub fn upstream(name: &str) -> String {
    std::fs::read_to_string(repo().join("tests/data").join(name)).expect("an upstream file")
}

/// The upstream sample `.env` of the Allora blueprint (PR #158), as users have it.
pub fn upstream_sample() -> String {
    upstream("allora-pr158.env-sample-full")
}

/// A well-formed BIP-39 test mnemonic (12 words of the English word list; no funds anywhere).
pub const TEST_MNEMONIC: &str =
    "abandon ability able about above absent absorb abstract absurd abuse access accident";

/// The warning of a file that configures allora-offchain-node and does not set
/// `ALLORA_WORKER_RUNTIME`, with `ALLORA_OFFCHAIN_NODE_TAG` unset (the upstream samples).
macro_rules! runtime_warning {
    () => {
        "warning: this file configures allora-offchain-node (ALLORA_WORKER_INFERENCE_ENDPOINT, ALLORA_WORKER_INFERENCE_ENTRYPOINT_NAME, ALLORA_REPUTER_TOPIC_ID, MODEL_REPO), so the worker runs on it (ALLORA_OFFCHAIN_NODE_TAG is unset: v0.12.0, nodectl's default tag, which was v0.8.0; its config.json schema is the v0.9+ one); Allora now recommends its Python SDK for workers: set ALLORA_WORKER_RUNTIME=\"sdk\" to use it, or ALLORA_WORKER_RUNTIME=\"offchain-node\" to keep this and silence this warning\n"
    };
}

/// The warnings of the upstream PR #158 sample after the runtime's: its worker token, its
/// reputer and its dry-run setting.
macro_rules! sample_warnings {
    () => {
        "warning: ALLORA_WORKER_TOKEN=\"ethereum\" does not match TOKEN=\"ETH\" in MODEL_ENV_VARS, the only token the inference server answers for; the worker asks for \"ETH\"\n\
warning: ALLORA_REPUTER_TOPIC_ID is set: this node runs a reputer on topic 1 as well as the worker on topic 1; the reputer stakes ALLORA_REPUTER_MIN_STAKE (100000) from the wallet, which must hold it; leave ALLORA_REPUTER_TOPIC_ID empty for a worker only\n\
warning: ALLORA_WALLET_SUBMIT_TX=false: the worker computes inferences but submits nothing to the chain (a dry run)\n"
    };
}

/// The warning of a file that keeps allora-offchain-node without saying so (see
/// [`runtime_warning`]).
pub const RUNTIME_WARNING: &str = runtime_warning!();

/// The warnings every run of the upstream PR #158 sample prints (the runtime it keeps, its
/// worker token, its reputer and its dry-run setting), in order.
pub const UPSTREAM_WARNINGS: &str = concat!(runtime_warning!(), sample_warnings!());

/// What `deploy` says of the upstream PR #158 sample's node before its first request (after
/// [`UPSTREAM_WARNINGS`]).
pub const UPSTREAM_NOTE: &str = "note: `allora-single-node` will run allora-offchain-node v0.12.0 on allora-testnet-1: a worker on topic 1 (a dry run: it submits nothing), and a reputer on topic 1 that stakes 100000 from the wallet; fund the wallet for gas\n";

/// [`UPSTREAM_WARNINGS`] with `ALLORA_WORKER_RUNTIME=offchain-node` set: all but the runtime's.
pub const OFFCHAIN_WARNINGS: &str = sample_warnings!();

/// nodectl's Allora sample (`sample-configs/allora.env`: the SDK worker, a generated wallet)
/// with `account` as its account id.
pub fn allora_sample(account: &str) -> String {
    std::fs::read_to_string(repo().join("sample-configs/allora.env"))
        .expect("the Allora sample")
        .replace(
            "AWS_ACCOUNT_ID=\"123456789012\"",
            &format!("AWS_ACCOUNT_ID=\"{account}\""),
        )
}

/// The stacks' outputs as `nodectl outputs --output json` reads them now. Tests on LocalStack
/// read outputs this way rather than from a deploy's outputs file: under load LocalStack can
/// answer CREATE_COMPLETE before it fills in a stack's Outputs (CloudFormation fills them
/// first), and a deploy takes the outputs from that answer.
pub fn current_outputs(workspace: &Workspace) -> serde_json::Value {
    let out = workspace.run(&["outputs", "--output", "json"]);
    out.success();
    serde_json::from_str(&out.stdout).expect("outputs as JSON")
}

/// `text` (an upstream sample) with its account id and mnemonic placeholders filled in.
pub fn filled(text: &str, account: &str) -> String {
    text.replace(
        "AWS_ACCOUNT_ID=\"xxxxxxxxxxx\"",
        &format!("AWS_ACCOUNT_ID=\"{account}\""),
    )
    .replace(
        "ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC=\"xxxxxxxxxxx\"",
        &format!("ALLORA_WALLET_ADDRESS_RESTORE_MNEMONIC=\"{TEST_MNEMONIC}\""),
    )
}

/// The result of one run of the binary.
#[derive(Debug)]
pub struct Output {
    /// Exit code.
    pub code: i32,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl Output {
    /// Panics with both streams unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code {} (expected {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Panics unless the run succeeded.
    #[track_caller]
    pub fn success(&self) -> &Self {
        self.expect_code(0)
    }
}

impl From<std::process::Output> for Output {
    fn from(output: std::process::Output) -> Self {
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// A temporary working directory with a `.env` file, and the environment to run nodectl in.
pub struct Workspace {
    /// The directory (deleted on drop).
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Workspace {
    /// A workspace whose `.env` is `env_text`, with an empty AWS configuration (so that a
    /// developer's `~/.aws` never leaks in) and no endpoint.
    pub fn new(env_text: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(".env"), env_text).expect("write .env");
        std::fs::write(dir.path().join("aws-config"), "").expect("aws config");
        std::fs::write(dir.path().join("aws-credentials"), "").expect("aws credentials");
        let env = vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("HOME".into(), dir.path().display().to_string()),
            (
                "AWS_CONFIG_FILE".into(),
                dir.path().join("aws-config").display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE".into(),
                dir.path().join("aws-credentials").display().to_string(),
            ),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("NO_COLOR".into(), "1".into()),
        ];
        Workspace { dir, env }
    }

    /// The upstream sample with the placeholders filled for `account`: the account id and a
    /// (well-formed, unfunded) test mnemonic, as a user would fill them in.
    pub fn upstream(account: &str) -> Self {
        Workspace::new(&filled(&upstream_sample(), account))
    }

    /// Points the workspace at an emulator: endpoint, dummy credentials, fast polling.
    pub fn with_emulator(mut self, emulator: &Emulator) -> Self {
        self.set("AWS_ENDPOINT_URL", &emulator.endpoint);
        self.set("AWS_ACCESS_KEY_ID", emulator.access_key);
        self.set("AWS_SECRET_ACCESS_KEY", "test");
        self.set("NODECTL_POLL_INTERVAL_MS", "150");
        self.set("NODECTL_MAX_ATTEMPTS", "2");
        self
    }

    /// Points SSM (only) at the test double (`AWS_ENDPOINT_URL_SSM`).
    pub fn with_ssm(mut self, double: &ssm::SsmDouble) -> Self {
        self.set("AWS_ENDPOINT_URL_SSM", &double.endpoint);
        self
    }

    /// Sets an environment variable for every later run.
    pub fn set(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
    }

    /// A path inside the workspace.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Replaces the `.env` file.
    pub fn write_env(&self, text: &str) {
        std::fs::write(self.path(".env"), text).expect("write .env");
    }

    /// Runs nodectl with `args` in the workspace, stdin closed (not a terminal).
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    /// `program` with `args` in the workspace, with its environment only (plus `extra`),
    /// stdin closed, stdout and stderr captured.
    fn process(&self, program: &str, args: &[&str], extra: &[(&str, &str)]) -> Command {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(extra.iter().copied())
        {
            command.env(key, value);
        }
        command
    }

    fn command(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        self.process(env!("CARGO_BIN_EXE_nodectl"), args, extra)
    }

    /// Starts `command`, types `input` on its stdin, and waits for it.
    fn typing(mut command: Command, input: &str) -> Output {
        let mut child = command
            .stdin(Stdio::piped())
            .spawn()
            .expect("start the command");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("run the command").into()
    }

    /// Runs nodectl with `args`, `input` on stdin and extra environment variables.
    pub fn run_with_input(&self, args: &[&str], input: &str, extra: &[(&str, &str)]) -> Output {
        Self::typing(self.command(args, extra), input)
    }

    /// Runs nodectl with `args` on a pseudo-terminal (util-linux `script`), typing `input`:
    /// what a person at a terminal sees (stdout and stderr interleaved) and the exit code.
    pub fn run_at_terminal(&self, args: &[&str], input: &str) -> Output {
        let command_line = std::iter::once(env!("CARGO_BIN_EXE_nodectl"))
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let script = self.process(
            "script",
            &[
                "--quiet",
                "--return",
                "--command",
                &command_line,
                "/dev/null",
            ],
            &[],
        );
        Self::typing(script, input)
    }

    /// Starts `shell_command` (run by `sh -c`, with `$NODECTL` the binary) on a
    /// pseudo-terminal (util-linux `script`), to type into it while it runs.
    pub fn terminal(&self, shell_command: &str) -> Terminal {
        let command_line = format!(
            "NODECTL='{}' sh -c '{}'",
            env!("CARGO_BIN_EXE_nodectl"),
            shell_command.replace('\'', "'\\''")
        );
        let mut child = self
            .process(
                "script",
                &[
                    "--quiet",
                    "--return",
                    "--command",
                    &command_line,
                    "/dev/null",
                ],
                &[],
            )
            .stdin(Stdio::piped())
            .spawn()
            .expect("start script");
        let screen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut stdout = child.stdout.take().expect("stdout");
        let shared = screen.clone();
        let reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                shared
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        Terminal {
            child,
            screen,
            reader: Some(reader),
        }
    }

    /// Starts nodectl with `args` without waiting for it.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args, &[]).spawn().expect("start nodectl")
    }

    /// Starts nodectl with `args` and extra environment variables, without waiting for it.
    pub fn spawn_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Child {
        self.command(args, extra).spawn().expect("start nodectl")
    }

    /// The environment nodectl runs in here, as `(key, value)`.
    pub fn environment(&self) -> Vec<(String, String)> {
        self.env.clone()
    }

    /// Runs nodectl with `args` and extra environment variables for this run only.
    pub fn run_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        self.command(args, extra)
            .output()
            .expect("run nodectl")
            .into()
    }
}

/// A command running on a pseudo-terminal ([`Workspace::terminal`]).
pub struct Terminal {
    child: Child,
    screen: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Terminal {
    /// Everything written to the terminal so far, as written (carriage returns and escape
    /// sequences included).
    pub fn raw(&self) -> String {
        self.screen.lock().unwrap().clone()
    }

    /// Everything the terminal showed so far, without carriage returns.
    pub fn screen(&self) -> String {
        self.screen.lock().unwrap().replace('\r', "")
    }

    /// Waits until the terminal shows `text` (at most 60 s); panics with the screen otherwise.
    pub fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.screen().contains(text) {
            assert!(
                Instant::now() < deadline,
                "the terminal never showed `{text}`:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `text` (`\x03` is Ctrl-C).
    pub fn type_text(&mut self, text: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        stdin.write_all(text.as_bytes()).expect("type");
        stdin.flush().expect("flush");
    }

    /// Waits for the command to end (at most 60 s); its exit code and the whole screen.
    pub fn finish(self) -> (i32, String) {
        let (code, raw) = self.finish_raw();
        (code, raw.replace('\r', ""))
    }

    /// [`Terminal::finish`] with the output as written ([`Terminal::raw`]).
    pub fn finish_raw(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the command did not end:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(self.child.stdin.take());
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        (status.code().unwrap_or(-1), self.raw())
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// Which emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// moto 5.2.5 server mode.
    Moto,
    /// LocalStack (localstack-core 2026.3.0) on the host.
    LocalStack,
}

/// A running emulator, stopped (process group, by PID) when dropped.
pub struct Emulator {
    /// Which one.
    pub kind: Kind,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The access key id to use; LocalStack maps a 12-digit key id to that account.
    pub access_key: &'static str,
    /// The account id the emulator reports for `access_key`.
    pub account: &'static str,
    child: Child,
    /// Where its output goes.
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Emulator {
    /// Starts moto on a free loopback port.
    pub fn moto() -> Emulator {
        let program = venv_program("moto", "moto_server");
        let port = free_port();
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("moto.log");
        let mut command = Command::new(program);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true");
        Emulator::start(
            Kind::Moto,
            command,
            port,
            "/moto-api/",
            dir,
            log,
            "testing",
            "123456789012",
        )
    }

    /// Starts LocalStack on a free loopback port (hypercorn, so that it binds 127.0.0.1 only;
    /// see `../shared/reference/localstack.md` section 1).
    pub fn localstack() -> Emulator {
        let python = venv_program("localstack", "python");
        let port = free_port();
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("localstack.log");
        for sub in ["tmp", "vol", "cache"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("dirs");
        }
        let mut command = Command::new(python);
        command
            .args(["-m", "localstack.runtime.main"])
            .env_remove("LOCALSTACK_AUTH_TOKEN")
            .env_remove("LOCALSTACK_API_KEY")
            .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
            .env("GATEWAY_SERVER", "hypercorn")
            .env("DNS_ADDRESS", "0")
            .env("PERSISTENCE", "0")
            .env("DISABLE_EVENTS", "1")
            .env("SKIP_SSL_CERT_DOWNLOAD", "1")
            .env("TMPDIR", dir.path().join("tmp"))
            .env("LOCALSTACK_VOLUME_DIR", dir.path().join("vol"))
            .env("XDG_CACHE_HOME", dir.path().join("cache"));
        Emulator::start(
            Kind::LocalStack,
            command,
            port,
            "/_localstack/health",
            dir,
            log,
            "test",
            "000000000000",
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn start(
        kind: Kind,
        mut command: Command,
        port: u16,
        health: &str,
        dir: tempfile::TempDir,
        log: PathBuf,
        access_key: &'static str,
        account: &'static str,
    ) -> Emulator {
        let log_file = std::fs::File::create(&log).expect("log file");
        command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file)
            .process_group(0);
        let child = command.spawn().expect("start the emulator");
        let emulator = Emulator {
            kind,
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key,
            account,
            child,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if http_get(port, health).is_some_and(|status| status == 200) {
                return emulator;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "{kind:?} did not answer on port {port} within 90 s; log:\n{}",
            std::fs::read_to_string(&emulator.log).unwrap_or_default()
        );
    }

    /// The emulator's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.endpoint
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .expect("an endpoint with a port")
    }

    /// The emulator's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// An SDK configuration for checks made by the test itself (not through nodectl).
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        self.sdk_in("us-east-1").await
    }

    /// [`Emulator::sdk`] in `region`.
    pub async fn sdk_in(&self, region: &str) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
                self.access_key,
                "test",
                None,
                None,
                "tests",
            ))
            .http_client(
                aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https(),
            )
            .load()
            .await
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        // The emulator runs in its own process group (process_group(0)): signal the group, so
        // that any child process it started stops too. First SIGTERM, then SIGKILL.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pid}")])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status();
        let _ = self.child.wait();
    }
}

/// GET `path` on 127.0.0.1:`port`; the HTTP status, or `None` if nothing answers.
fn http_get(port: u16, path: &str) -> Option<u16> {
    let mut stream =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.split_whitespace().nth(1)?.parse().ok()
}

/// A loopback TCP listener that counts connections, to prove that no AWS request was made. It
/// never answers: accepted connections are kept open, so a client waits on them.
pub struct Tripwire {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    listener: TcpListener,
    accepted: std::sync::Mutex<Vec<TcpStream>>,
}

impl Tripwire {
    /// Listens on a free port.
    pub fn new() -> Tripwire {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        Tripwire {
            endpoint: format!("http://127.0.0.1:{port}"),
            listener,
            accepted: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// How many connections were made so far.
    pub fn connections(&self) -> usize {
        let mut accepted = self.accepted.lock().expect("lock");
        while let Ok((stream, _)) = self.listener.accept() {
            accepted.push(stream);
        }
        accepted.len()
    }

    /// Waits until a client has connected (at most 30 s); panics otherwise.
    pub fn wait_for_connection(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.connections() == 0 {
            assert!(Instant::now() < deadline, "nothing connected within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read JSON file")).expect("JSON")
}

/// A runtime for the test's own SDK calls.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The upstream Theta sample (`lib/theta/sample-configs/.env-sample-full`, branch v1) with its
/// account placeholder filled in: the only change a user makes.
pub fn theta_sample(account: &str) -> String {
    upstream("theta-v1.env-sample-full").replace(
        "AWS_ACCOUNT_ID=\"xxxxxxxxxxx\"",
        &format!("AWS_ACCOUNT_ID=\"{account}\""),
    )
}

/// An ingress rule as moto describes it: protocol, from port, to port, IPv4 sources.
pub type IngressRule = (String, i32, i32, Vec<String>);

/// The VPC and the ingress rules (sorted) of security group `id`.
pub fn describe_group(
    rt: &tokio::runtime::Runtime,
    ec2: &aws_sdk_ec2::Client,
    id: &str,
) -> (String, Vec<IngressRule>) {
    let groups = rt
        .block_on(ec2.describe_security_groups().group_ids(id).send())
        .unwrap();
    let group = &groups.security_groups()[0];
    let mut rules: Vec<IngressRule> = group
        .ip_permissions()
        .iter()
        .map(|p| {
            (
                p.ip_protocol().unwrap_or_default().to_string(),
                p.from_port().unwrap_or(-1),
                p.to_port().unwrap_or(-1),
                p.ip_ranges()
                    .iter()
                    .filter_map(|r| r.cidr_ip().map(str::to_string))
                    .collect(),
            )
        })
        .collect();
    rules.sort();
    (group.vpc_id().unwrap_or_default().to_string(), rules)
}

/// The instance `id`, described.
pub fn describe_instance(
    rt: &tokio::runtime::Runtime,
    ec2: &aws_sdk_ec2::Client,
    id: &str,
) -> aws_sdk_ec2::types::Instance {
    let reservations = rt
        .block_on(ec2.describe_instances().instance_ids(id).send())
        .unwrap();
    reservations.reservations()[0].instances()[0].clone()
}

/// What `base64 -d | gunzip` makes of `text` (a parameter nodectl compresses for the user
/// data, such as `OffchainNodeConfig`).
pub fn gunzip_base64(text: &str) -> Vec<u8> {
    use std::io::Read;
    let compressed = aws_smithy_types::base64::decode(text).expect("base64");
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice())
        .read_to_end(&mut out)
        .expect("gzip");
    out
}
