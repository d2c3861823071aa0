//! Progress a person can read (issue 12), on a real pseudo-terminal 80 columns wide: while a
//! stack is created, one status line says how many resources are done out of how many, what is
//! still in progress and for how long; it and the event lines are abbreviated to the width, so
//! that none wraps (prose such as warnings wraps as a terminal wraps it; failure reasons stay
//! whole); colour comes on a terminal unless NO_COLOR or --color never. Without a
//! terminal the plain, complete event lines stay (every other test reads them).
//!
//! A terminal without `TERM` (or `TERM=dumb`) cannot redraw a line: nodectl prints the plain
//! lines there, as without a terminal; the tests set `TERM=xterm` as terminal emulators do.
//!
//! LocalStack creates the stacks in about a second: polling every second keeps the status line
//! on screen long enough to be drawn. What it cannot show is a boot-signal wait (no instance
//! boots there); src/progress.rs tests that line.

use console::measure_text_width;

use crate::support::{Emulator, Workspace};

/// The lines as a terminal shows them: split at line feeds and carriage returns.
fn segments(raw: &str) -> Vec<String> {
    raw.split(['\n', '\r'])
        .map(|segment| console::strip_ansi_codes(segment).into_owned())
        .collect()
}

#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn a_deploy_on_an_80_column_terminal_shows_a_status_line_and_never_wraps() {
    let emulator = Emulator::localstack();
    let mut workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    workspace.set("NODECTL_POLL_INTERVAL_MS", "1000");
    let terminal = workspace
        .terminal("export TERM=xterm; stty cols 80 rows 24; \"$NODECTL\" deploy all --yes");
    let (code, raw) = terminal.finish_raw();
    assert_eq!(code, 0, "{raw}");
    let lines = segments(&raw);
    // Event lines start with the time of day; the status line with the spinner (braille).
    let live = lines.iter().filter(|line| {
        line.get(..8)
            .is_some_and(|t| t.bytes().filter(|b| *b == b':').count() == 2)
            || line.starts_with(|c: char| !c.is_ascii())
    });
    for line in live {
        assert!(
            measure_text_width(line) <= 80,
            "a line wider than 80 columns: {line:?}"
        );
    }
    // The status line: the stack, resources done of the total, the time so far.
    let status = lines
        .iter()
        .find(|line| {
            line.contains("allora-single-node ")
                && line.split_whitespace().any(|word| {
                    word.split_once('/').is_some_and(|(done, total)| {
                        done.parse::<u32>().is_ok() && total.parse::<u32>().is_ok()
                    })
                })
        })
        .unwrap_or_else(|| panic!("no status line in:\n{}", lines.join("\n")));
    assert!(status.trim_end().ends_with("s)"), "{status}");
    // Abbreviated event lines: the time of day, the status, the type without `AWS::`.
    assert!(
        lines.iter().any(|line| line.contains(" CREATE_COMPLETE ")
            && line.contains(" EC2::VPC")
            && !line.contains("AWS::EC2::VPC")),
        "{}",
        lines.join("\n")
    );
    // NO_COLOR (the workspace sets it) means no colour.
    assert!(!raw.contains("\u{1b}[32m"), "colour despite NO_COLOR");
    workspace.run(&["destroy", "--yes"]).success();
}

#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn colour_comes_on_a_terminal_unless_told_otherwise() {
    let emulator = Emulator::localstack();
    let workspace = Workspace::upstream(emulator.account).with_emulator(&emulator);
    let terminal = workspace.terminal(
        "export TERM=xterm; unset NO_COLOR; stty cols 100; \"$NODECTL\" deploy common --yes",
    );
    let (code, raw) = terminal.finish_raw();
    assert_eq!(code, 0, "{raw}");
    assert!(raw.contains("\u{1b}[32mCREATE_COMPLETE"), "{raw:?}");
    let terminal =
        workspace.terminal("unset NO_COLOR; \"$NODECTL\" deploy common --yes --color never");
    let (code, raw) = terminal.finish_raw();
    assert_eq!(code, 0, "{raw}");
    assert!(!raw.contains("\u{1b}[32m"), "{raw:?}");
}
