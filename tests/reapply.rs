//! The user data runs again when CloudFormation changed it (issue 15: software settings reach
//! a running node). CloudFormation applies a changed `UserData` by stopping and starting the
//! instance ("Some interruptions", AWS::EC2::Instance), and cloud-init runs user data at the
//! first boot only, so `templates/shared/prelude.sh` installs a cloud-init per-boot script that
//! fetches the user data from the instance metadata service (IMDSv2) and runs it with
//! `NODECTL_REAPPLY=1` when it differs from the last one applied.
//!
//! Here the per-boot script, cut from the rendered user data of every blueprint, runs with its
//! `/var/lib` paths moved into a temporary directory and a fake `curl` serving the metadata
//! service from a file. What this cannot show: cloud-init running it at boot, and the real
//! IMDS; and that the whole user data is safe to run twice on a real instance (its parts that
//! could not be, formatting and first-start steps, are tested where they are: `data-volume.sh`
//! formats only a blank device).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::userdata::{allora, theta, UserData};

/// The per-boot script as the rendered user data writes it.
fn hook(user_data: &UserData) -> String {
    let rendered = user_data.rendered();
    let start = rendered
        .find("cat >$h <<'EOF'\n")
        .unwrap_or_else(|| panic!("{} writes no per-boot script", user_data.path()))
        + "cat >$h <<'EOF'\n".len();
    let end = start + rendered[start..].find("\nEOF\n").unwrap();
    rendered[start..=end].to_string()
}

struct Boot {
    dir: tempfile::TempDir,
    script: std::path::PathBuf,
}

impl Boot {
    /// A machine whose first boot ran `first` (cloud-init's user-data.txt), with the hook.
    fn new(hook: &str, first: &str) -> Boot {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("var/lib/cloud/instance")).unwrap();
        fs::create_dir_all(root.join("bin")).unwrap();
        fs::write(root.join("var/lib/cloud/instance/user-data.txt"), first).unwrap();
        let moved = hook.replace("/var/lib/", &format!("{}/var/lib/", root.display()));
        assert_ne!(moved, hook, "the hook keeps its state under /var/lib");
        let script = root.join("nodectl-reapply");
        fs::write(&script, moved).unwrap();
        // curl: the token request prints a token; the user-data request writes the file
        // `imds-user-data` to the -o path, or fails (exit 7) when there is none.
        let curl = format!(
            "#!/bin/bash\nout=''\nwhile [ $# -gt 0 ]; do case $1 in -o) out=$2; shift;; esac; shift; done\n\
             if [ -z \"$out\" ]; then echo token; exit 0; fi\n\
             [ -e {root}/imds-user-data ] || exit 7\ncp {root}/imds-user-data \"$out\"\n",
            root = root.display()
        );
        let fake = root.join("bin/curl");
        fs::write(&fake, curl).unwrap();
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
        Boot { dir, script }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// What the metadata service serves as user data now (`None`: unreachable).
    fn imds(&self, user_data: Option<&str>) {
        let path = self.root().join("imds-user-data");
        match user_data {
            Some(text) => fs::write(path, text).unwrap(),
            None => {
                let _ = fs::remove_file(path);
            }
        }
    }

    /// One boot: runs the per-boot script; returns its exit status.
    fn boot(&self) -> i32 {
        let path = format!(
            "{}:{}",
            self.root().join("bin").display(),
            std::env::var("PATH").unwrap()
        );
        let status = Command::new("bash")
            .arg(&self.script)
            .env("PATH", path)
            .current_dir(self.root())
            .status()
            .unwrap();
        status.code().unwrap_or(-1)
    }

    /// The runs of the user data so far, one line each (what the test user data logs).
    fn runs(&self) -> Vec<String> {
        fs::read_to_string(self.root().join("runs"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// A user data that logs its version and `NODECTL_REAPPLY` to `runs`, and exits `code`.
fn user_data(root: &Path, version: &str, code: i32) -> String {
    format!(
        "#!/bin/bash\necho \"{version} reapply=$NODECTL_REAPPLY\" >>{}/runs\nexit {code}\n",
        root.display()
    )
}

fn scenario(user_data_of: &UserData) {
    let hook = hook(user_data_of);
    let boot = Boot::new(&hook, "placeholder");
    let root = boot.root().to_path_buf();
    let v1 = user_data(&root, "v1", 0);
    fs::write(root.join("var/lib/cloud/instance/user-data.txt"), &v1).unwrap();

    // A reboot with the same user data runs nothing.
    boot.imds(Some(&v1));
    assert_eq!(boot.boot(), 0);
    assert!(boot.runs().is_empty(), "{:?}", boot.runs());

    // The metadata service unreachable: nothing runs, the boot goes on.
    boot.imds(None);
    assert_eq!(boot.boot(), 0);
    assert!(boot.runs().is_empty());

    // CloudFormation changed the user data: it runs once, with NODECTL_REAPPLY=1.
    let v2 = user_data(&root, "v2", 0);
    boot.imds(Some(&v2));
    assert_eq!(boot.boot(), 0);
    assert_eq!(boot.runs(), ["v2 reapply=1"]);
    assert_eq!(boot.boot(), 0);
    assert_eq!(boot.runs(), ["v2 reapply=1"], "applied once");

    // A re-apply that fails runs again at the next boot, until it succeeds.
    let v3 = user_data(&root, "v3", 1);
    boot.imds(Some(&v3));
    boot.boot();
    boot.boot();
    assert_eq!(
        boot.runs(),
        ["v2 reapply=1", "v3 reapply=1", "v3 reapply=1"]
    );
    let v4 = user_data(&root, "v4", 0);
    boot.imds(Some(&v4));
    boot.boot();
    boot.boot();
    assert_eq!(
        boot.runs(),
        [
            "v2 reapply=1",
            "v3 reapply=1",
            "v3 reapply=1",
            "v4 reapply=1"
        ]
    );
}

#[test]
fn the_allora_user_data_runs_again_when_it_changed() {
    scenario(&allora());
}

#[test]
fn the_theta_user_data_runs_again_when_it_changed() {
    scenario(&theta("false"));
}

/// In a re-apply, the prelude sends no signal (CloudFormation waits for none after a
/// stop/start) and `signal` returns its code; at the first boot it calls SignalResource.
#[test]
fn a_reapply_sends_no_signal() {
    let prelude =
        fs::read_to_string(crate::support::repo().join("templates/shared/prelude.sh")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let calls = dir.path().join("aws-calls");
    fs::write(
        bin.join("aws"),
        format!("#!/bin/bash\necho \"$*\" >>{}\n", calls.display()),
    )
    .unwrap();
    fs::set_permissions(bin.join("aws"), fs::Permissions::from_mode(0o755)).unwrap();
    // The part before the per-boot script (which writes under /var/lib).
    let functions = &prelude[..prelude.find("if [ -z \"$REAPPLY\" ]; then").unwrap()];
    let run = |reapply: Option<&str>, body: &str| {
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(format!("STACK_NAME=s REGION=r\n{functions}\n{body}"))
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env_remove("NODECTL_REAPPLY");
        if let Some(value) = reapply {
            command.env("NODECTL_REAPPLY", value);
        }
        command.output().unwrap()
    };
    let out = run(
        Some("1"),
        "signal 0 ok; echo rc=$?; signal 1 bad || echo rc=$?",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "rc=0\nrc=1\n");
    assert!(!calls.exists(), "a re-apply signalled");
    let out = run(None, "signal 0 ok");
    assert!(out.status.success());
    let sent = fs::read_to_string(&calls).unwrap();
    assert!(
        sent.starts_with(
            "cloudformation signal-resource --stack-name s --logical-resource-id Instance"
        ),
        "{sent}"
    );
}

#[test]
fn the_allora_sdk_user_data_runs_again_when_it_changed() {
    scenario(&crate::userdata_sdk::sdk());
}
