//! The live side of the printer on a terminal: the spinner with its status line
//! ([`crate::progress`]) and the [`Observer`] that feeds it from the stack engine.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::{Printer, Sink, Verbosity};
use crate::observer::Observer;
use crate::progress::{self, Progress};
use crate::stack::Event;

impl Printer {
    /// Shows (or updates) a spinner with `message` on stderr when stderr is a terminal and
    /// not `-q`; otherwise does nothing (plain progress lines carry the information then).
    pub fn spinner(&self, message: &str) {
        if self.verbosity < Verbosity::Normal || !matches!(self.stderr, Sink::Stderr) {
            return;
        }
        if !std::io::stderr().is_terminal() {
            return;
        }
        let mut spinner = self.spinner.lock().expect("lock");
        let bar = spinner.get_or_insert_with(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}").expect("valid spinner template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.set_message(self.redact(message));
    }

    /// Removes the spinner, if any.
    pub fn clear_spinner(&self) {
        if let Some(bar) = self.spinner.lock().expect("lock").take() {
            bar.finish_and_clear();
        }
    }

    /// Updates the spinner with the status line of `stack`'s operation, or with `stack: state`
    /// when no operation is followed (a change set being created).
    fn show_progress(&self, stack: &str, state: Option<&str>) {
        if !self.live {
            return;
        }
        let line = match self.progress.lock().expect("lock").as_ref() {
            // Two columns for the spinner and its space.
            Some(progress) => {
                progress.line(self.width().saturating_sub(2), Instant::now(), self.colour)
            }
            None => match state {
                Some(state) => format!("{stack}: {state}"),
                None => return,
            },
        };
        self.spinner(&line);
    }

    /// The stack being waited for and its state, while a wait is on: what an interruption
    /// reports.
    pub fn waiting_on(&self) -> Option<(String, String)> {
        self.waiting.lock().expect("lock").clone()
    }
}

impl Observer for Printer {
    fn note(&self, line: &str) {
        self.info(line);
    }

    fn warn(&self, message: &str) {
        Printer::warn(self, message);
    }

    fn operation(&self, stack: &str, expected: Option<usize>, signalled: &[String]) {
        *self.progress.lock().expect("lock") = Some(Progress::new(stack, expected, signalled));
    }

    fn event(&self, stack: &str, event: &Event) {
        if !self.live {
            self.info(&event.line());
            return;
        }
        if let Some(progress) = self.progress.lock().expect("lock").as_mut() {
            progress.record(event);
        }
        self.info(&progress::event_line(event, self.width(), self.colour));
        self.show_progress(stack, None);
    }

    fn waiting(&self, stack: &str, state: &str) {
        let now = Some((stack.to_string(), state.to_string()));
        let changed = {
            let mut waiting = self.waiting.lock().expect("lock");
            let changed = *waiting != now;
            *waiting = now;
            changed
        };
        if changed {
            tracing::debug!("waiting for stack `{stack}`: {state}");
        }
        self.show_progress(stack, Some(state));
    }

    fn done_waiting(&self) {
        *self.waiting.lock().expect("lock") = None;
        *self.progress.lock().expect("lock") = None;
        self.clear_spinner();
    }

    fn secret(&self, value: &str) {
        self.register_secret(value);
    }
}
