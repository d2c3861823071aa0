//! `nodectl init`: a newcomer's first minutes. The documented sample of a blueprint is written
//! where the commands look for it (mode 0600: it will hold secrets), never over an existing
//! file unless `--force`, and the next commands work on it.

use std::os::unix::fs::PermissionsExt;

use crate::support::{repo, Workspace};

#[test]
fn init_writes_the_sample_and_the_next_commands_use_it() {
    for name in ["allora", "theta"] {
        let workspace = Workspace::new("");
        std::fs::remove_file(workspace.path(".env")).unwrap();
        let out = workspace.run(&["init", name]);
        out.success();
        assert_eq!(out.stdout, "");
        assert_eq!(
            out.stderr,
            format!(
                "wrote .env (the {name} blueprint's sample, mode 0600): set AWS_ACCOUNT_ID and \
                 AWS_REGION, read the comments, then run `nodectl check` and `nodectl deploy \
                 all`\n"
            )
        );
        let written = std::fs::read_to_string(workspace.path(".env")).unwrap();
        let sample =
            std::fs::read_to_string(repo().join(format!("sample-configs/{name}.env"))).unwrap();
        assert_eq!(written, sample);
        let mode = std::fs::metadata(workspace.path(".env"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
        workspace.run(&["render", "all"]).success();
    }
}

#[test]
fn init_never_replaces_a_file_unless_forced() {
    let workspace = Workspace::new("MY_SETTINGS=1\n");
    let out = workspace.run(&["init", "theta"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: .env exists already; nodectl init does not replace it\n\
         hint: pass --env-file NEW_PATH to write the sample elsewhere, or --force to replace \
         .env\n"
    );
    assert_eq!(
        std::fs::read_to_string(workspace.path(".env")).unwrap(),
        "MY_SETTINGS=1\n"
    );
    workspace.run(&["init", "theta", "--force"]).success();
    assert!(std::fs::read_to_string(workspace.path(".env"))
        .unwrap()
        .contains("EDGE_NODE_NETWORK"));
    workspace
        .run(&["init", "allora", "--env-file", "node-2.env"])
        .success();
    assert!(workspace.path("node-2.env").exists());
}

#[test]
fn init_without_a_blueprint_lists_them() {
    let out = Workspace::new("").run(&["init"]);
    out.success();
    assert_eq!(out.stdout, "allora\ntheta\ndynabench\n");
    assert_eq!(
        out.stderr,
        "start from a blueprint's sample .env with `nodectl init allora`, `nodectl init theta` \
         or `nodectl init dynabench`\n"
    );
    let unknown = Workspace::new("").run(&["init", "solana"]);
    unknown.expect_code(2);
    assert!(
        unknown
            .stderr
            .contains("[possible values: allora, theta, dynabench]"),
        "{}",
        unknown.stderr
    );
}
