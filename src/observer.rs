//! How operations tell the person (or pipeline) running nodectl what is happening, and ask
//! them: the stack engine and the operations report through an [`Observer`] and ask through a
//! [`Prompt`]; they never print or read a terminal themselves. The printer implements both
//! (`crate::printer::Printer`); tests can record what an operation reports.

use crate::aws::cloudformation::Event;
use crate::error::Result;

/// Receives an operation's progress.
pub trait Observer: Sync {
    /// A line of progress or information (`creating change set ...`).
    fn note(&self, line: &str);

    /// A warning: something the user should know that does not stop the operation.
    fn warn(&self, message: &str);

    /// A new event of stack `stack`.
    fn event(&self, stack: &str, event: &Event) {
        let _ = stack;
        self.note(&event.line());
    }

    /// An operation on stack `stack` starts: it will touch about `expected` resources (`None`:
    /// unknown), and the resources `signalled` (with a `CreationPolicy`) wait for a boot signal.
    /// For the status line on a terminal.
    fn operation(&self, stack: &str, expected: Option<usize>, signalled: &[String]) {
        let _ = (stack, expected, signalled);
    }

    /// Stack `stack` is being waited for, in state `state` (`CREATE_IN_PROGRESS`, `change set
    /// CREATE_PENDING`): a spinner on a terminal, and what an interruption reports.
    fn waiting(&self, stack: &str, state: &str);

    /// The wait is over.
    fn done_waiting(&self);

    /// A secret value learnt during the operation (a generated password): never to be shown.
    fn secret(&self, value: &str);
}

/// Asks the user to confirm.
pub trait Prompt: Sync {
    /// Asks `question`; `true` only for an explicit yes. Errors when nobody can answer, with a
    /// hint naming `flag` (e.g. `--yes`).
    fn confirm(&self, question: &str, flag: &str) -> Result<bool>;
}
