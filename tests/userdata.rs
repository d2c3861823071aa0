//! The instance user data, `templates/<blueprint>/user-data.sh` with the `# nodectl:include`
//! lines expanded from `templates/shared/`: rendered the way CloudFormation's `Fn::Sub` renders
//! it (every `${Name}` replaced by a realistic value), it is shellcheck clean, fits EC2's 16 KiB
//! limit and uses only names its `single-node.json` provides. Parts between marker lines run with
//! bash against a fake AWS CLI (`tests/data/userdata/aws`): Allora's `write_node_config` (the
//! node's files, under a temporary root `NODECTL_ROOT`) and Theta's `write_password_env` (the
//! launcher's env file). No docker and no AWS here: the rest of the scripts (packages, `/data`,
//! NVIDIA driver, containers, systemd) only runs on an instance.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::repo;

/// The node stack whose entry the Allora tests put in the secret.
const STACK: &str = "allora-single-node-eth";
/// The Theta node stack.
const THETA_STACK: &str = "theta-edge-single-node-mainnet";
/// The secret the Theta node reads its password from.
const THETA_SECRET: &str = "theta-edge-single-node-mainnet/node-secret";
pub(crate) const REGION: &str = "ap-southeast-2";
const IMAGE: &str = "alloranetwork/allora-offchain-node:v0.6.0";
/// Not the service name, so that the override's alias is really checked.
const ALIAS: &str = "source";
/// EC2's limit on raw (not yet base64-encoded) user data.
const USER_DATA_LIMIT: usize = 16 * 1024;
const BEGIN: &str = "# --- begin write_node_config";
const END: &str = "# --- end write_node_config";
const THETA_BEGIN: &str = "# --- begin write_password_env";
const THETA_END: &str = "# --- end write_password_env";
/// The uid:gid the worker container runs as, owner of its files.
const NODE_UID: u32 = 10001;
/// Pseudo parameters `Fn::Sub` resolves in any template.
const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

pub(crate) fn data(name: &str) -> PathBuf {
    repo().join("tests/data/userdata").join(name)
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The offchain-node config nodectl generates (mnemonic empty), as a JSON value.
fn node_config() -> serde_json::Value {
    serde_json::from_str(&read(&data("offchain-config.json"))).expect("offchain-config.json")
}

/// Standard base64 with padding, as nodectl and `base64 -d` use it.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A blueprint's user data with the value of every name it may use in a dollar-brace (the
/// Fn::Sub contract with its single-node.json), realistic in size.
pub(crate) struct UserData {
    /// The directory under `templates/`.
    pub(crate) blueprint: &'static str,
    /// The script's file in it (`user-data.sh`, or a variant such as `user-data-sdk.sh`).
    pub(crate) file: &'static str,
    pub(crate) values: Vec<(&'static str, String)>,
}

pub(crate) fn allora() -> UserData {
    let config = serde_json::to_string(&node_config()).unwrap();
    UserData {
        blueprint: "allora",
        file: "user-data.sh",
        values: vec![
            ("AWS::StackName", STACK.to_string()),
            ("AWS::Region", REGION.to_string()),
            ("DataVolumeId", "vol-0123456789abcdef0".to_string()),
            ("DataVolumeType", "gp3".to_string()),
            ("CommonStackName", "allora-edge-common".to_string()),
            ("OffchainNodeImage", IMAGE.to_string()),
            (
                "OffchainNodeConfig",
                nodectl::template::gzip_base64(config.as_bytes()),
            ),
            (
                "ModelRepo",
                "https://github.com/allora-network/basic-coin-prediction-node.git".to_string(),
            ),
            (
                "ModelRepoRef",
                "e04614201a8e3c1c7e7f2b2d6b8f0c5a9d3e1f27".to_string(),
            ),
            ("ModelEnv", base64(read(&data("model.env")).as_bytes())),
            (
                "InferenceHealthUrl",
                "http://127.0.0.1:8000/inference/ETH".to_string(),
            ),
            ("InferenceHostAlias", ALIAS.to_string()),
        ],
    }
}

/// Theta with `EdgeNodeGpu` `enabled` or `disabled`.
pub(crate) fn theta(gpu: &str) -> UserData {
    UserData {
        blueprint: "theta",
        file: "user-data.sh",
        values: vec![
            ("AWS::StackName", THETA_STACK.to_string()),
            ("AWS::Region", REGION.to_string()),
            ("DataVolumeType", "gp3".to_string()),
            ("DataVolumeId", "vol-0123456789abcdef0".to_string()),
            ("DataDeviceName", "nvme2n1".to_string()),
            ("CommonStackName", "theta-edge-common".to_string()),
            ("EdgeNetwork", "mainnet".to_string()),
            (
                "EdgeLauncherImage",
                "thetalabsorg/edgelauncher_mainnet:v1.1.0".to_string(),
            ),
            ("EdgeNodeGpu", gpu.to_string()),
        ],
    }
}

/// Every `${Name}` in `text`, in order; panics on the Fn::Sub escape.
pub(crate) fn dollar_brace_names(text: &str, what: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}').expect("an unterminated dollar-brace");
        let name = &after[..end];
        assert!(
            !name.starts_with('!'),
            "{what} uses the Fn::Sub escape `${{{name}}}`: LocalStack rejects it (templates/allora/README.md)"
        );
        names.push(name.to_string());
        rest = &after[end + 1..];
    }
    names
}

impl UserData {
    pub(crate) fn path(&self) -> String {
        format!("templates/{}/{}", self.blueprint, self.file)
    }

    /// The script as nodectl inserts it: the shared parts included.
    pub(crate) fn script(&self) -> String {
        let source = nodectl::template::TemplateSource {
            path: self.path(),
            text: Cow::Owned(read(&repo().join(self.path()))),
        };
        let files = nodectl::blueprint::find(self.blueprint).unwrap().files();
        let expanded = nodectl::template::expand_includes_from(&source, Some(files))
            .unwrap_or_else(|e| panic!("expand the includes of {}: {e}", self.path()));
        assert!(
            !expanded
                .text
                .contains(nodectl::template::INCLUDE_PREFIX.trim_end()),
            "{} still has an include line after expansion",
            self.path()
        );
        // As nodectl inserts it into the template: without its comment lines.
        nodectl::template::strip_comments(&expanded.text)
    }

    /// The user data as the instance receives it: `Fn::Sub` applied to the script.
    pub(crate) fn rendered(&self) -> String {
        let script = self.script();
        let mut out = String::new();
        let mut rest = script.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').expect("an unterminated dollar-brace");
            let name = &after[..end];
            assert!(
                !name.starts_with('!'),
                "{} uses the Fn::Sub escape `${{{name}}}`: LocalStack rejects it (templates/allora/README.md)",
                self.path()
            );
            let value = self
                .values
                .iter()
                .find(|(known, _)| *known == name)
                .unwrap_or_else(|| {
                    panic!(
                        "{} uses `${{{name}}}`, which the test has no value for",
                        self.path()
                    )
                });
            out.push_str(&value.1);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// The part of the rendered script from the `begin` marker line to the `end` one.
    pub(crate) fn part(&self, begin: &str, end: &str) -> String {
        let script = self.rendered();
        let from = script
            .find(begin)
            .unwrap_or_else(|| panic!("{} has no `{begin}` line", self.path()));
        let to = script
            .find(end)
            .unwrap_or_else(|| panic!("{} has no `{end}` line", self.path()));
        assert!(from < to, "the markers are in the wrong order");
        script[from..to].to_string()
    }

    /// The names `single-node.json` provides to the user data's `Fn::Sub`: its parameters, the
    /// variables of the `Fn::Sub` map and the pseudo parameters.
    pub(crate) fn provided_names(&self) -> BTreeSet<String> {
        let files = nodectl::blueprint::find(self.blueprint).unwrap().files();
        let (_, template) = nodectl::template::render::with_fragments(files, "single-node.json")
            .expect("single-node.json with its fragments");
        let mut names: BTreeSet<String> = template["Parameters"]
            .as_object()
            .expect("single-node.json has Parameters")
            .keys()
            .cloned()
            .collect();
        let variables = template
            .pointer("/Resources/Instance/Properties/UserData/Fn::Base64/Fn::Sub/1")
            .and_then(serde_json::Value::as_object)
            .expect("single-node.json's user data is an Fn::Sub with a variable map");
        names.extend(variables.keys().cloned());
        names.extend(PSEUDO_PARAMETERS.iter().map(|name| name.to_string()));
        names
    }
}

#[track_caller]
pub(crate) fn assert_shellcheck_clean(user_data: &UserData, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("user-data.sh");
    std::fs::write(&path, user_data.rendered()).unwrap();
    let output = match Command::new("shellcheck")
        .args(["--shell=bash", "--severity=style"])
        .arg(&path)
        .output()
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("shellcheck is missing: install shellcheck (apt-get install shellcheck)")
        }
        Err(e) => panic!("run shellcheck: {e}"),
    };
    assert!(
        output.status.success() && output.stdout.is_empty(),
        "shellcheck reported problems in the rendered {what} user data:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[track_caller]
pub(crate) fn assert_fits(user_data: &UserData, what: &str) {
    let size = user_data.rendered().len();
    eprintln!(
        "rendered {what} user data: {size} bytes ({} left of {USER_DATA_LIMIT})",
        USER_DATA_LIMIT.saturating_sub(size)
    );
    assert!(
        size < USER_DATA_LIMIT,
        "the rendered {what} user data is {size} bytes, EC2 accepts at most {USER_DATA_LIMIT}: shorten {}",
        user_data.path()
    );
}

#[test]
#[ignore = "full suite: needs shellcheck (scripts/test installs it)"]
fn the_rendered_user_data_is_shellcheck_clean() {
    assert_shellcheck_clean(&allora(), "Allora");
}

#[test]
fn the_rendered_user_data_fits_the_16_kib_limit() {
    let allora = allora();
    let config = &allora
        .values
        .iter()
        .find(|(name, _)| *name == "OffchainNodeConfig")
        .unwrap()
        .1;
    let json = crate::support::gunzip_base64(config);
    assert!(
        json.len() >= 1100,
        "the test config should be realistic (~1.1 KB of JSON), it is {} bytes",
        json.len()
    );
    assert_fits(&allora, "Allora");
}

#[test]
#[ignore = "full suite: needs shellcheck (scripts/test installs it)"]
fn the_rendered_theta_user_data_is_shellcheck_clean_with_and_without_gpu() {
    for gpu in ["enabled", "disabled"] {
        assert_shellcheck_clean(&theta(gpu), &format!("Theta (EdgeNodeGpu {gpu})"));
    }
}

#[test]
fn the_rendered_theta_user_data_fits_the_16_kib_limit() {
    for gpu in ["enabled", "disabled"] {
        assert_fits(&theta(gpu), &format!("Theta (EdgeNodeGpu {gpu})"));
    }
}

/// Every dollar-brace of the script (shared parts included) is a name its single-node.json
/// gives the `Fn::Sub`: no `Fn::Sub` failure ("Unresolved resource dependencies") at deploy.
#[test]
fn the_user_data_uses_only_names_its_template_provides() {
    for user_data in [allora(), theta("enabled")] {
        let provided = user_data.provided_names();
        let used: BTreeSet<String> = dollar_brace_names(&user_data.script(), &user_data.path())
            .into_iter()
            .collect();
        let unknown: Vec<&String> = used.difference(&provided).collect();
        assert!(
            unknown.is_empty(),
            "{} uses {unknown:?}, which single-node.json does not provide (it provides {provided:?})",
            user_data.path()
        );
    }
}

/// The setting reaches the script; the GPU part and the unprivileged launcher are there; nothing
/// of Amazon Linux 2 (yum, amazon-linux-extras) or cron, and no command tracing.
#[test]
fn the_theta_user_data_sets_up_the_gpu_and_an_unprivileged_launcher() {
    for gpu in ["enabled", "disabled"] {
        let script = theta(gpu).rendered();
        assert!(
            script.contains(&format!("EDGE_NODE_GPU='{gpu}'")),
            "EdgeNodeGpu is not set to {gpu}"
        );
    }
    let script = theta("enabled").rendered();
    for needle in [
        "GPUS=\"--gpus all\"",
        "nvidia-ctk runtime configure --runtime=docker",
        "nvidia-smi",
        "--user 1002:1002",
        "-p 127.0.0.1:17888:17888",
        "User=bcuser",
    ] {
        assert!(
            script.contains(needle),
            "the Theta user data lacks `{needle}`"
        );
    }
    for line in script.lines().map(str::trim_start) {
        let code = line.split(" #").next().unwrap_or_default();
        if line.starts_with('#') {
            continue;
        }
        for forbidden in ["yum ", "amazon-linux-extras", "set -x", "crontab"] {
            assert!(
                !code.contains(forbidden),
                "the Theta user data runs `{forbidden}`: {line}"
            );
        }
    }
}

pub(crate) fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// One run of a part of the user data.
pub(crate) struct Run {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// The root the script wrote under (its `/`).
    pub(crate) fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// A path under the node directory, `/data/allora` on the instance.
    fn node(&self, path: &str) -> PathBuf {
        self.root().join("data/allora").join(path)
    }

    /// A path under the node's runtime directory, `/run/allora` (tmpfs) on the instance.
    fn runtime(&self, path: &str) -> PathBuf {
        self.root().join("run/allora").join(path)
    }

    /// The secret's temporary files left in the runtime directory (there must be none).
    fn secret_leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.runtime(""))
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|name| name.starts_with(".secret") || name.ends_with(".new"))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The fake AWS CLI's calls, one line each.
    pub(crate) fn aws_calls(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("aws.log")).unwrap_or_default()
    }

    /// The owner (`uid:gid`) the script last gave `path` with the fake chown, if any.
    fn chowned(&self, path: &Path) -> Option<String> {
        let log = std::fs::read_to_string(self.dir.path().join("chown.log")).unwrap_or_default();
        log.lines()
            .rev()
            .filter_map(|line| line.split_once(' '))
            .find(|(_, file)| Path::new(file) == path)
            .map(|(owner, _)| owner.to_string())
    }

    pub(crate) fn output(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
    }
}

/// Runs `part` of the user data then `call` with bash in a temporary directory (also the working
/// directory), `secret` as the fake Secrets Manager's SecretString, `NODECTL_ROOT` =
/// `<dir>/root`. `prepare` sets the directory up first.
pub(crate) fn run_part(
    part: &str,
    call: &str,
    secret: &str,
    args: &[&str],
    prepare: impl FnOnce(&Path),
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path());
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let mut fakes = vec![("aws", read(&data("aws")))];
    if !is_root() {
        // Not root: chown cannot change owners, so a fake records what it was asked, and
        // `assert_owner` checks that instead of the files' owners.
        fakes.push((
            "chown",
            "#!/bin/sh\nowner=$1\nshift\nfor f in \"$@\"; do printf '%s %s\\n' \"$owner\" \"$f\" >>\"$FAKE_CHOWN_LOG\"; done\n"
                .to_string(),
        ));
    }
    for (name, text) in fakes {
        let path = bin.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(dir.path().join("secret.json"), secret).unwrap();
    let harness = dir.path().join("harness.sh");
    std::fs::write(&harness, format!("{part}\n{call}\n")).unwrap();

    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .arg(&harness)
        .args(args)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("NODECTL_ROOT", dir.path().join("root"))
        .env("FAKE_AWS_LOG", dir.path().join("aws.log"))
        .env("FAKE_CHOWN_LOG", dir.path().join("chown.log"))
        .env("FAKE_AWS_SECRET", dir.path().join("secret.json"))
        // Should a real AWS CLI be reached, it finds no credentials.
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run bash");
    Run {
        dir,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs the extracted `prepare_node_dirs` and `write_node_config` with bash as the user data
/// does, `secret` as the secret's SecretString, after a fake clone of the model repo (which
/// ships a non-empty `worker-data/env_file`, as basic-coin-prediction-node once did).
fn run_write_node_config(secret: &str) -> Run {
    run_part(
        &allora().part(BEGIN, END),
        "prepare_node_dirs\nerr=$(write_node_config 2>&1) || fail \"$err\"",
        secret,
        &[],
        |dir| {
            let model = dir.join("root/data/allora/model");
            std::fs::create_dir_all(model.join("worker-data")).unwrap();
            std::fs::write(model.join("docker-compose.yml"), "services: {}\n").unwrap();
            std::fs::write(
                model.join("worker-data/env_file"),
                "ALLORA_OFFCHAIN_NODE_CONFIG_JSON='{}'\n",
            )
            .unwrap();
        },
    )
}

/// A marker unique to this run, to find where secrets end up.
pub(crate) fn canary(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("canary{tag}{}x{nanos}", std::process::id())
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[track_caller]
pub(crate) fn assert_mode(path: &Path, mode: u32) {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        meta.mode() & 0o7777,
        mode,
        "{} has mode {:o}, expected {mode:o}",
        path.display(),
        meta.mode() & 0o7777
    );
}

/// Checks that the script left `path` owned by `uid` (and `gid`): as root, the file's owner;
/// otherwise what the script asked the fake chown (uid 0 meaning: not chowned, so owned by
/// whoever runs the script, root on the instance).
#[track_caller]
pub(crate) fn assert_owner(run: &Run, path: &Path, uid: u32, gid: Option<u32>) {
    if !is_root() {
        match run.chowned(path) {
            Some(owner) => {
                let (owner_uid, owner_gid) = owner.split_once(':').unwrap_or((&owner, ""));
                assert_eq!(owner_uid, uid.to_string(), "owner of {}", path.display());
                if let Some(gid) = gid {
                    assert_eq!(owner_gid, gid.to_string(), "group of {}", path.display());
                }
            }
            None => assert_eq!(uid, 0, "{} was never chowned", path.display()),
        }
        return;
    }
    let meta = std::fs::metadata(path).unwrap();
    assert_eq!(meta.uid(), uid, "owner of {}", path.display());
    if let Some(gid) = gid {
        assert_eq!(meta.gid(), gid, "group of {}", path.display());
    }
}

#[test]
fn the_config_writing_part_writes_the_files_with_their_modes_and_owners() {
    let mnemonic = format!(
        "abandon ability able about above absent absorb abstract absurd abuse access {}",
        canary("mnemonic")
    );
    let cg_api_key = canary("cgkey");
    let other_mnemonic = canary("othernode");
    // Quote, dollar, backslash and newline: escaped for compose's double-quoted .env values.
    let odd = "a\"b$HOME\\c\nd";
    let secret = serde_json::json!({
        STACK: {"mnemonic": mnemonic, "modelEnv": {"CG_API_KEY": cg_api_key, "ODD_VALUE": odd}},
        "allora-single-node-other": {"mnemonic": other_mnemonic, "modelEnv": {}}
    });
    let run = run_write_node_config(&secret.to_string());
    assert_eq!(
        run.code,
        Some(0),
        "write_node_config failed\n{}",
        run.output()
    );

    // One call to the AWS CLI, for this node's own secret and region.
    assert_eq!(
        run.aws_calls(),
        format!(
            "secretsmanager get-secret-value --secret-id {STACK}/node-secret \
             --query SecretString --output text --region {REGION}\n"
        )
    );
    // The secret's temporary file is gone; the runtime directory is the root's only.
    assert_eq!(run.secret_leftovers(), Vec::<String>::new());
    assert_mode(&run.runtime(""), 0o700);

    // /data/allora: root only.
    assert_mode(&run.node(""), 0o700);
    assert_owner(&run, &run.node(""), 0, None);

    // config.json: the generated config with the mnemonic, readable by the worker only, in the
    // runtime directory (tmpfs), never under /data.
    assert!(!run.node("config.json").exists());
    let config_path = run.runtime("config.json");
    let config: serde_json::Value =
        serde_json::from_str(&read(&config_path)).expect("config.json is JSON");
    let mut expected = node_config();
    expected["wallet"]["addressRestoreMnemonic"] = serde_json::Value::String(mnemonic.clone());
    assert_eq!(config, expected);
    assert_mode(&config_path, 0o600);
    assert_owner(&run, &config_path, NODE_UID, Some(NODE_UID));

    // The keyring (alloraHomeDir, HOME of the worker) and worker-data belong to the worker.
    assert!(run.node("keyring").is_dir());
    assert_mode(&run.node("keyring"), 0o700);
    assert_owner(&run, &run.node("keyring"), NODE_UID, Some(NODE_UID));
    let worker_data = run.node("model/worker-data");
    assert_mode(&worker_data, 0o700);
    assert_owner(&run, &worker_data, NODE_UID, None);

    // The env_file the model compose's worker references: empty (no config in the environment).
    let env_file = worker_data.join("env_file");
    assert_eq!(read(&env_file), "", "worker-data/env_file must be empty");
    assert_mode(&env_file, 0o600);

    // The model's .env: a link to the runtime file with the public lines, then the secret ones.
    let link = run.node("model/.env");
    assert_eq!(std::fs::read_link(&link).unwrap(), run.runtime("model.env"));
    let env_path = run.runtime("model.env");
    let env = read(&env_path);
    let lines: Vec<&str> = env.lines().collect();
    for line in read(&data("model.env")).lines() {
        assert!(lines.contains(&line), "{line} is missing from .env:\n{env}");
    }
    let cg_line = format!("CG_API_KEY=\"{cg_api_key}\"");
    assert!(
        lines.contains(&cg_line.as_str()),
        "{cg_line} is missing from .env:\n{env}"
    );
    let odd_line = r#"ODD_VALUE="a\"b\$HOME\\c\nd""#;
    assert!(
        lines.contains(&odd_line),
        "{odd_line} is missing from .env:\n{env}"
    );
    assert_mode(&env_path, 0o600);
    assert_owner(&run, &env_path, 0, None);

    // The compose override.
    let override_path = run.node("compose.override.yaml");
    let yaml = read(&override_path);
    let config_mount = format!("{}:/config/config.json:ro", config_path.display());
    let keyring_mount = format!("{}:/keyring", run.node("keyring").display());
    for needle in [
        format!("image: \"{IMAGE}\""),
        config_mount,
        keyring_mount,
        "ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH: /config/config.json".to_string(),
        "HOME: /keyring".to_string(),
        format!("user: \"{NODE_UID}:{NODE_UID}\""),
        "restart: unless-stopped".to_string(),
        format!("aliases: [\"{ALIAS}\"]"),
    ] {
        assert!(
            yaml.contains(&needle),
            "the override lacks `{needle}`:\n{yaml}"
        );
    }
    assert!(
        !yaml.contains("ALLORA_OFFCHAIN_NODE_CONFIG_JSON"),
        "the override must leave ALLORA_OFFCHAIN_NODE_CONFIG_JSON unset:\n{yaml}"
    );
    assert_mode(&override_path, 0o644);

    // The secrets are only in config.json and .env; the other node's nowhere.
    let allowed = [config_path.clone(), env_path.clone(), link.clone()];
    for file in files(run.dir.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        if file == run.dir.path().join("secret.json") {
            continue; // the fake Secrets Manager
        }
        assert!(
            !text.contains(&other_mnemonic),
            "another node's mnemonic is in {}",
            file.display()
        );
        if !allowed.contains(&file) {
            for secret in [&mnemonic, &cg_api_key] {
                assert!(
                    !text.contains(secret.as_str()),
                    "a secret is in {}",
                    file.display()
                );
            }
        }
    }
    for secret in [&mnemonic, &cg_api_key, &other_mnemonic] {
        assert!(
            !run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()),
            "a secret is in the script's output\n{}",
            run.output()
        );
    }
}

/// Runs write_node_config with a secret that lacks what this node needs: it fails, names the
/// stack, signals the failure, and leaves no secret behind.
#[track_caller]
fn rejects(secret: serde_json::Value, reason: &str) {
    let run = run_write_node_config(&secret.to_string());
    assert_eq!(run.code, Some(1), "expected a failure\n{}", run.output());
    let expected = format!("FAILED: secret {STACK}/node-secret: {reason}");
    assert!(
        run.stdout.contains(&expected),
        "expected `{expected}`\n{}",
        run.output()
    );
    assert!(run.stdout.contains(STACK), "the reason names the stack");
    // SignalResource has no reason field: the reason travels as the UniqueId (sanitized, at
    // most 64 characters), which CloudFormation shows in the failure event.
    let unique_id: String = format!("secret {STACK}/node-secret: {reason}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._:/=-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    assert!(
        run.aws_calls().contains(&format!(
            "cloudformation signal-resource --stack-name {STACK} --logical-resource-id Instance \
             --unique-id {unique_id} --status FAILURE"
        )),
        "no failure signal carrying the reason `{unique_id}`: {}",
        run.aws_calls()
    );
    assert!(
        !run.runtime("config.json").exists(),
        "config.json was written"
    );
    assert_eq!(
        run.secret_leftovers(),
        Vec::<String>::new(),
        "the secret's temporary file is left"
    );
    assert!(
        !run.stdout.contains("canary") && !run.stderr.contains("canary"),
        "a secret is in the output\n{}",
        run.output()
    );
}

#[test]
fn a_secret_without_this_nodes_entry_fails_naming_the_stack() {
    rejects(
        serde_json::json!({"allora-single-node-other": {"mnemonic": canary("other")}}),
        &format!("not JSON or no entry for node stack {STACK}"),
    );
}

#[test]
fn an_entry_without_a_mnemonic_fails_naming_the_stack() {
    rejects(
        serde_json::json!({STACK: {"modelEnv": {"CG_API_KEY": canary("cgkey")}}}),
        &format!("no mnemonic for node stack {STACK}"),
    );
}

/// Runs Theta's `write_password_env` with bash, `secret` as the secret's SecretString, writing
/// `<dir>/run/edgelauncher.env` (the service's runtime directory: mode 0700).
fn run_write_password_env(secret: &str) -> Run {
    let part = theta("enabled").part(THETA_BEGIN, THETA_END);
    run_part(
        &part,
        "write_password_env \"$@\"",
        secret,
        &[THETA_SECRET, THETA_STACK, REGION, "run/edgelauncher.env"],
        |dir| {
            let run = dir.join("run");
            std::fs::create_dir(&run).unwrap();
            std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
        },
    )
}

impl Run {
    /// The files the Theta password part left in the runtime directory, by name.
    fn runtime_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path().join("run"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

#[test]
fn the_password_part_writes_a_0600_env_file_with_this_nodes_password() {
    // Spaces, quotes, dollar, backslash, equals and non-ASCII: docker's env file takes the rest of
    // the line as it is.
    let password = format!("{} a'b\"c $HOME \\d=e ü", canary("password"));
    let other = canary("othernode");
    let secret = serde_json::json!({
        THETA_STACK: {"password": password},
        "theta-edge-single-node-mainnet-two": {"password": other}
    });
    let run = run_write_password_env(&secret.to_string());
    assert_eq!(
        run.code,
        Some(0),
        "write_password_env failed\n{}",
        run.output()
    );
    assert_eq!(
        run.aws_calls(),
        format!(
            "secretsmanager get-secret-value --secret-id {THETA_SECRET} --query SecretString \
             --output text --region {REGION}\n"
        )
    );
    let env_file = run.dir.path().join("run/edgelauncher.env");
    assert_eq!(read(&env_file), format!("PASSWORD={password}\n"));
    assert_mode(&env_file, 0o600);
    assert_eq!(
        run.runtime_files(),
        ["edgelauncher.env"],
        "temporary files are left in the runtime directory"
    );
    for secret in [&password, &other] {
        assert!(
            !run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()),
            "a password is in the output\n{}",
            run.output()
        );
    }
    assert!(
        !read(&env_file).contains(&other),
        "another node's password is in the env file"
    );
}

/// Runs write_password_env with a secret that has no usable password for this node: it fails
/// with `reason` on stderr and leaves no file.
#[track_caller]
fn password_rejected(secret: &str, reason: &str) {
    let run = run_write_password_env(secret);
    assert_eq!(run.code, Some(1), "expected a failure\n{}", run.output());
    assert!(
        run.stderr.contains(reason),
        "expected `{reason}` on stderr\n{}",
        run.output()
    );
    assert_eq!(
        run.runtime_files(),
        Vec::<String>::new(),
        "files are left in the runtime directory"
    );
    assert!(
        !run.stdout.contains("canary") && !run.stderr.contains("canary"),
        "a secret is in the output\n{}",
        run.output()
    );
}

#[test]
fn the_password_part_fails_naming_the_stack_without_a_usable_password() {
    let reason = format!(
        "secret {THETA_SECRET}: no password for node stack {THETA_STACK} (one-line string)"
    );
    // An entry without a password, no entry, an empty password, a multi-line one, not JSON.
    for secret in [
        serde_json::json!({THETA_STACK: {"mnemonic": canary("other")}}).to_string(),
        serde_json::json!({"theta-edge-single-node-mainnet-two": {"password": canary("other")}})
            .to_string(),
        serde_json::json!({THETA_STACK: {"password": ""}}).to_string(),
        serde_json::json!({THETA_STACK: {"password": format!("{}\nX=1", canary("nl"))}})
            .to_string(),
        "not json".to_string(),
    ] {
        password_rejected(&secret, &reason);
    }
}

/// The node's password is checked at boot, and the service's helper is the same function: the
/// user data writes it out with `declare -f`.
#[test]
fn the_launcher_helper_is_the_tested_function() {
    let script = theta("enabled").rendered();
    assert!(
        script.contains("declare -f write_password_env"),
        "the helper script is not written from write_password_env"
    );
    assert!(
        script.contains(
            "ExecStartPre=/usr/local/sbin/theta-edge-password-env $SECRET_ID $STACK_NAME $REGION $ENV_FILE"
        ),
        "theta-edge-node.service does not write its env file with the helper"
    );
}

/// Regression: the CloudWatch agent ignores a global `append_dimensions` whose value is not its
/// own `${aws:InstanceId}` placeholder, and adds a `host` dimension by default, so the
/// dashboards' `InstanceId` metrics stayed empty. Every plugin carries the instance id instead.
#[test]
fn the_cloudwatch_agent_config_puts_the_instance_id_on_every_plugin() {
    let script = repo().join("templates/shared/cloudwatch-agent.sh");
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!(
            ". '{}'; cw_agent_config '{{\"mem\": {{\"measurement\": [\"used_percent\"]}}, \
             \"disk\": {{\"resources\": [\"/data\"]}}}}' i-0123456789abcdef0",
            script.display()
        ))
        .output()
        .expect("run bash");
    assert!(output.status.success(), "{output:?}");
    let config: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(config["agent"]["omit_hostname"], true, "{config}");
    assert!(
        config["metrics"].get("append_dimensions").is_none(),
        "{config}"
    );
    let plugins = config["metrics"]["metrics_collected"].as_object().unwrap();
    assert_eq!(plugins.len(), 2);
    for (name, plugin) in plugins {
        assert_eq!(
            plugin["append_dimensions"],
            serde_json::json!({"InstanceId": "i-0123456789abcdef0"}),
            "{name}"
        );
    }
    assert_eq!(plugins["disk"]["resources"], serde_json::json!(["/data"]));
    for user_data in [allora(), theta("enabled")] {
        let text = user_data.rendered();
        assert_eq!(
            text.matches("append_dimensions: {").count(),
            1,
            "the agent is configured only through start_cw_agent"
        );
        assert!(!text.contains("\"append_dimensions\""));
        assert!(text.contains("\nstart_cw_agent "));
    }
}

/// The Allora worker's metrics publisher (the stack's SubmissionAlarm reads what it sends), run
/// as the rendered user data writes it, with stub curl (IMDSv2 and the recorded `:2112/metrics`
/// of `tests/data/node/allora-metrics.txt`), docker and aws: it publishes the sum of
/// `allora_worker_chain_submission_count` over its labels, with the instance id.
#[test]
fn the_allora_metrics_publisher_sends_the_submission_count() {
    let part = allora().part(
        "cat >/usr/local/bin/allora-node-metrics <<'EOF'\n",
        "\nchmod 0755 /usr/local/bin/allora-node-metrics",
    );
    let body = part
        .split_once('\n')
        .unwrap()
        .1
        .trim_end()
        .strip_suffix("EOF")
        .expect("the script ends its heredoc");
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path();
    let metrics = data("../node/allora-metrics.txt");
    let stub = |name: &str, text: String| {
        let path = bin.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    };
    stub(
        "curl",
        format!(
            "#!/bin/bash\ncase \"$*\" in\n  *api/token*) echo token ;;\n  *placement/region*) echo \
             us-east-1 ;;\n  *instance-id*) echo i-0abc ;;\n  *172.18.0.3:2112/metrics*) cat '{}' ;;\n  \
             *) exit 7 ;;\nesac\n",
            metrics.display()
        ),
    );
    stub("docker", "#!/bin/sh\necho 172.18.0.3\n".into());
    stub(
        "aws",
        format!("#!/bin/sh\necho \"$@\" > '{}/aws-args'\n", bin.display()),
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(body)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(bin.join("aws-args")).unwrap(),
        "cloudwatch put-metric-data --region us-east-1 --namespace CWAgent --metric-name \
         allora_worker_chain_submission_count --unit Count --value 40 --dimensions \
         InstanceId=i-0abc\n"
    );
}
