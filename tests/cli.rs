//! The command line itself: help, exit codes, completions, usage errors.

use crate::support::Workspace;

#[test]
fn help_documents_the_exit_codes() {
    let out = Workspace::new("").run(&["--help"]);
    out.success();
    assert!(out.stdout.contains("Exit codes:\n  0    success"));
    assert!(out
        .stdout
        .contains("  3    a stack operation failed and was rolled back\n"));
    for command in [
        "render",
        "deploy",
        "destroy",
        "outputs",
        "status",
        "completions",
    ] {
        assert!(out.stdout.contains(&format!("  {command}")), "{command}");
    }
}

#[test]
fn deploy_help_names_every_flag() {
    let out = Workspace::new("").run(&["deploy", "--help"]);
    out.success();
    for flag in [
        "--outputs-file",
        "--yes",
        "--no-execute",
        "--method",
        "--timeout",
        "--env-file",
        "--profile",
        "--region",
        "--endpoint-url",
        "--output",
    ] {
        assert!(out.stdout.contains(flag), "{flag}");
    }
}

#[test]
fn a_usage_error_exits_2() {
    let out = Workspace::new("").run(&["deploy"]);
    out.expect_code(2);
    assert!(out
        .stderr
        .starts_with("error: the following required arguments were not provided:"));
    let out = Workspace::new("").run(&["deploy", "everything"]);
    out.expect_code(2);
    assert!(out.stderr.contains("invalid value 'everything'"));
    let out = Workspace::new("").run(&["deploy", "all", "--timeout", "soon"]);
    out.expect_code(2);
    assert!(out.stderr.contains("(use e.g. 90s, 30m, 2h, or 0)"));
}

#[test]
fn completions_are_printed_on_stdout() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Workspace::new("").run(&["completions", shell]);
        out.success();
        assert!(out.stdout.contains("nodectl"), "{shell}");
        assert!(out.stdout.contains("outputs-file"), "{shell}");
        assert_eq!(out.stderr, "");
    }
}

#[test]
fn version() {
    let out = Workspace::new("").run(&["--version"]);
    out.success();
    assert_eq!(
        out.stdout,
        format!("nodectl {}\n", env!("CARGO_PKG_VERSION"))
    );
}
