//! Signals and the prompt, through the real binary: SIGTERM while a stack is being created
//! says which stack CloudFormation is still working on and exits 143, and running the deploy
//! again finishes it; Ctrl-C at the confirmation prompt acts at once (exit 130); the prompt is
//! asked on the terminal when stderr goes to a pipe (`2>&1 | tee log`).

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use crate::support::{Emulator, Workspace};

#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn sigterm_while_waiting_names_the_stack_and_a_second_deploy_finishes_it() {
    let emulator = Emulator::localstack();
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    workspace.run(&["deploy", "common", "--yes"]).success();

    // Poll slowly, so that the stack is still being created when the signal comes; the debug
    // log says when nodectl waits for it.
    let mut child = workspace.spawn_with(
        &["deploy", "single-node", "--yes", "-v"],
        &[("NODECTL_POLL_INTERVAL_MS", "20000")],
    );
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "nodectl ended early:\n{seen}"
        );
        seen.push_str(&line);
        if line.contains("waiting for stack `allora-single-node`: CREATE_IN_PROGRESS") {
            break;
        }
    }
    let sent = Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(sent.elapsed() < Duration::from_secs(5), "not at once");
    assert_eq!(status.code(), Some(143), "{seen}{rest}");
    assert!(
        rest.ends_with(
            "error: terminated (SIGTERM) while waiting for stack `allora-single-node` \
             (CREATE_IN_PROGRESS)\n\
             hint: CloudFormation goes on with stack `allora-single-node`: follow it with \
             `nodectl status`, or run the same command again to wait for it and finish (what is \
             already deployed is kept)\n"
        ),
        "{rest}"
    );

    // Running the same command again waits for that operation and finishes the deploy.
    let out = workspace.run(&["deploy", "single-node", "--yes"]);
    out.success();
    assert!(
        out.stderr
            .contains("stack `allora-single-node` is CREATE_COMPLETE\n")
            || out
                .stderr
                .contains("no changes: stack `allora-single-node` is up to date\n"),
        "{}",
        out.stderr
    );
}

#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn ctrl_c_at_the_prompt_acts_at_once() {
    let emulator = Emulator::moto();
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    let mut terminal = workspace.terminal("\"$NODECTL\" deploy common");
    terminal.wait_for("[y/N] ");
    let typed = Instant::now();
    terminal.type_text("\x03");
    let (code, screen) = terminal.finish();
    assert!(typed.elapsed() < Duration::from_secs(5), "not at once");
    assert_eq!(code, 130, "{screen}");
    assert!(
        screen.contains("error: interrupted\n"),
        "the interruption is said on the terminal:\n{screen}"
    );
}

#[test]
#[ignore = "full suite: needs moto (scripts/test installs it)"]
fn the_prompt_is_asked_on_the_terminal_when_stderr_goes_to_a_pipe() {
    let emulator = Emulator::moto();
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    let mut terminal = workspace.terminal("\"$NODECTL\" deploy common 2>&1 | tee deploy.log");
    terminal.wait_for(
        "Execute these changes on stack `allora-edge-common` in account 123456789012, region \
         us-east-1? [y/N] ",
    );
    terminal.type_text("y\n");
    let (code, screen) = terminal.finish();
    assert_eq!(code, 0, "{screen}");
    let log = std::fs::read_to_string(workspace.path("deploy.log")).unwrap();
    assert!(
        log.contains("stack `allora-edge-common` is CREATE_COMPLETE\n"),
        "{log}"
    );
    assert!(
        !log.contains("[y/N]"),
        "the question goes to the terminal, not the pipe"
    );
}
