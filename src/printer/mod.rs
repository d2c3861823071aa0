//! All terminal output goes through [`Printer`], which makes "stdout is data" hard to break:
//! [`Printer::data`] is the only way to stdout (templates, JSON, outputs); progress, warnings,
//! prompts and errors go to stderr. Every line passes a redactor that masks registered secret
//! values, so a secret that slips into an AWS message or a template is still never printed.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use console::Style;
use indicatif::ProgressBar;

use crate::error::{Error, Result};
use crate::observer::Prompt;
use crate::ops::Report;

mod live;
use crate::progress::Progress;

/// The `--output` format of data written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// JSON (one document per command).
    Json,
}

/// How much goes to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: warnings and errors only.
    Quiet,
    /// Default: progress lines, notes, warnings, errors.
    Normal,
    /// `-v` and more: also debug logs (through `tracing`).
    Verbose,
}

pub use crate::secrets::REDACTED;

#[derive(Clone)]
enum Sink {
    Stdout,
    Stderr,
    Buffer(Arc<Mutex<Vec<u8>>>),
}

impl Sink {
    fn write_all(&self, bytes: &[u8]) {
        // Output errors (a closed pipe) must not turn into panics; they are ignored like
        // `println!`-free tools such as ripgrep do when stdout goes away.
        let _ = match self {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes).and_then(|_| out.flush())
            }
            Sink::Stderr => {
                let mut err = std::io::stderr().lock();
                err.write_all(bytes).and_then(|_| err.flush())
            }
            Sink::Buffer(buffer) => {
                buffer.lock().expect("buffer lock").extend_from_slice(bytes);
                Ok(())
            }
        };
    }
}

/// Captured output of a [`Printer::buffered`] printer, for tests.
#[derive(Clone, Default)]
pub struct Captured {
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().expect("lock")).into_owned()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("lock")).into_owned()
    }
}

/// Writes data to stdout and everything else to stderr; see the module documentation.
pub struct Printer {
    format: OutputFormat,
    verbosity: Verbosity,
    stdout: Sink,
    stderr: Sink,
    interactive: bool,
    input: Input,
    secrets: Arc<Mutex<Vec<String>>>,
    spinner: Mutex<Option<ProgressBar>>,
    waiting: Mutex<Option<(String, String)>>,
    /// Whether stderr is a terminal that shows the status line and abbreviated event lines.
    live: bool,
    /// Whether stderr gets colour.
    colour: bool,
    /// The operation the status line shows.
    progress: Mutex<Option<Progress>>,
}

/// When stderr gets colour (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set (<https://no-color.org>).
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Where answers to prompts come from.
enum Input {
    /// The controlling terminal, `/dev/tty` (the question is written there too): prompts work
    /// when stderr goes to a pipe (`nodectl deploy ... 2>&1 | tee log`).
    Terminal,
    /// Canned answers (tests).
    Buffer(Mutex<std::io::Cursor<Vec<u8>>>),
}

/// The controlling terminal of the process.
const TERMINAL: &str = "/dev/tty";

impl Printer {
    /// A printer on the real stdout and stderr. Prompts are possible only when stdin is a
    /// terminal and the process has a controlling terminal (`/dev/tty`), where they are asked and
    /// answered; the status line and abbreviated event lines only when stderr is a terminal
    /// that can redraw a line (`TERM` set and not `dumb`, as indicatif requires).
    pub fn terminal(format: OutputFormat, verbosity: Verbosity, color: ColorChoice) -> Self {
        let on_terminal = std::io::stderr().is_terminal();
        let colour = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => on_terminal && std::env::var_os("NO_COLOR").is_none(),
        };
        let interactive = std::io::stdin().is_terminal()
            && std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(TERMINAL)
                .is_ok();
        Printer {
            format,
            verbosity,
            stdout: Sink::Stdout,
            stderr: Sink::Stderr,
            interactive,
            input: Input::Terminal,
            secrets: Arc::new(Mutex::new(Vec::new())),
            spinner: Mutex::new(None),
            waiting: Mutex::new(None),
            live: on_terminal && !console::is_dumb() && verbosity >= Verbosity::Normal,
            colour,
            progress: Mutex::new(None),
        }
    }

    /// A printer that writes into memory, for tests. `answers` is what a user would type at
    /// prompts; `None` behaves like a session without a terminal.
    pub fn buffered(format: OutputFormat, answers: Option<&str>) -> (Self, Captured) {
        let captured = Captured::default();
        let printer = Printer {
            format,
            verbosity: Verbosity::Normal,
            stdout: Sink::Buffer(captured.stdout.clone()),
            stderr: Sink::Buffer(captured.stderr.clone()),
            interactive: answers.is_some(),
            input: Input::Buffer(Mutex::new(std::io::Cursor::new(
                answers.unwrap_or_default().as_bytes().to_vec(),
            ))),
            secrets: Arc::new(Mutex::new(Vec::new())),
            spinner: Mutex::new(None),
            waiting: Mutex::new(None),
            live: false,
            colour: false,
            progress: Mutex::new(None),
        };
        (printer, captured)
    }

    /// The `--output` format.
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// Registers a secret value: from now on it is replaced by `****` in everything printed.
    /// Values shorter than 4 characters are not registered (they would mask ordinary text).
    pub fn register_secret(&self, value: &str) {
        let value = value.trim();
        if value.len() >= 4 {
            let mut secrets = self.secrets.lock().expect("lock");
            if !secrets.iter().any(|s| s == value) {
                secrets.push(value.to_string());
                // Longest first, so that a secret containing another is masked whole.
                secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
            }
        }
    }

    /// Masks every registered secret in `text`.
    pub fn redact(&self, text: &str) -> String {
        redact(&self.secrets, text)
    }

    /// A `tracing` writer to stderr that masks the registered secrets, so that debug logs
    /// obey the same rule as everything else printed.
    pub fn log_writer(&self) -> LogWriter {
        LogWriter {
            secrets: self.secrets.clone(),
        }
    }

    /// Writes data to stdout, with a trailing newline added if missing.
    pub fn data(&self, text: &str) {
        let mut text = self.redact(text);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        self.stdout.write_all(text.as_bytes());
    }

    /// Writes `text` to stdout as it is (a remote command's output, log lines), redacted.
    pub fn data_raw(&self, text: &str) {
        if !text.is_empty() {
            self.stdout.write_all(self.redact(text).as_bytes());
        }
    }

    /// Writes `text` to stderr as it is (a remote command's standard error), redacted; shown
    /// even with `-q`, since it is the command's own output.
    pub fn stderr_raw(&self, text: &str) {
        if !text.is_empty() {
            self.stderr.write_all(self.redact(text).as_bytes());
        }
    }

    /// Writes a JSON document to stdout, pretty-printed with 2-space indentation.
    pub fn data_json(&self, value: &serde_json::Value) {
        let text = serde_json::to_string_pretty(value).expect("JSON values always serialize");
        self.data(&text);
    }

    /// Writes an operation's report to stdout: as JSON with `--output json`, else its text
    /// form (nothing when that is empty).
    pub fn report<R: Report>(&self, report: &R) {
        match self.format {
            OutputFormat::Json => {
                self.data_json(&serde_json::to_value(report).expect("reports serialize to JSON"))
            }
            OutputFormat::Text => {
                let text = report.text();
                if !text.is_empty() {
                    self.data(&text);
                }
            }
        }
    }

    fn stderr_line(&self, line: &str) {
        let mut text = self.redact(line);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let spinner = self.spinner.lock().expect("lock");
        match spinner.as_ref() {
            Some(bar) => bar.suspend(|| self.stderr.write_all(text.as_bytes())),
            None => self.stderr.write_all(text.as_bytes()),
        }
    }

    /// A progress or information line on stderr (not shown with `-q`).
    pub fn info(&self, line: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.stderr_line(line);
        }
    }

    /// A warning on stderr, always shown: `warning: <message>`.
    pub fn warn(&self, message: &str) {
        self.stderr_line(&format!(
            "{} {message}",
            self.label("warning:", Style::new().yellow())
        ));
    }

    /// `text` in `style` when stderr gets colour.
    fn label(&self, text: &str, style: Style) -> String {
        if self.colour {
            style.bold().force_styling(true).apply_to(text).to_string()
        } else {
            text.to_string()
        }
    }

    /// The width of the terminal stderr shows, in columns (80 when unknown).
    fn width(&self) -> usize {
        console::Term::stderr()
            .size_checked()
            .map(|(_, columns)| usize::from(columns))
            .filter(|columns| *columns >= 20)
            .unwrap_or(80)
    }

    /// Prints an error (every problem it holds) with its hints on stderr.
    pub fn error(&self, error: &Error) {
        self.clear_spinner();
        if let Error::WithWarnings { warnings, .. } = error {
            for warning in warnings {
                self.warn(warning);
            }
        }
        let reports = error.reports();
        let count = reports.len();
        for (index, (message, hint)) in reports.into_iter().enumerate() {
            self.stderr_line(&format!(
                "{} {message}",
                self.label("error:", Style::new().red())
            ));
            if let Some(hint) = hint {
                self.stderr_line(&format!(
                    "{} {hint}",
                    self.label("hint:", Style::new().cyan())
                ));
            }
            if index + 1 < count {
                self.stderr_line("");
            }
        }
    }

    /// Asks a yes/no question on stderr and reads the answer. Only `y` or `yes` (any case)
    /// is yes; a bare Enter is no. Without a terminal it does not ask: it fails with a hint
    /// naming `flag` (e.g. `--yes`).
    pub fn confirm(&self, question: &str, flag: &str) -> Result<bool> {
        if !self.interactive {
            return Err(Error::usage(
                format!("cannot ask \"{question}\": stdin is not a terminal"),
                format!("pass {flag} to go ahead without a prompt (for CI and scripts)"),
            ));
        }
        self.clear_spinner();
        let prompt = format!("{} [y/N] ", self.redact(question));
        let mut answer = String::new();
        let io = |source| Error::Io {
            action: "ask on",
            path: TERMINAL.into(),
            source,
        };
        match &self.input {
            Input::Terminal => {
                let mut tty = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(TERMINAL)
                    .map_err(io)?;
                tty.write_all(prompt.as_bytes())
                    .and_then(|_| tty.flush())
                    .map_err(io)?;
                std::io::BufReader::new(tty)
                    .read_line(&mut answer)
                    .map_err(io)?;
            }
            Input::Buffer(answers) => {
                self.stderr.write_all(prompt.as_bytes());
                answers
                    .lock()
                    .expect("lock")
                    .read_line(&mut answer)
                    .map_err(io)?;
            }
        }
        Ok(is_yes(&answer))
    }
}

impl Prompt for Printer {
    fn confirm(&self, question: &str, flag: &str) -> Result<bool> {
        Printer::confirm(self, question, flag)
    }
}

fn redact(secrets: &Mutex<Vec<String>>, text: &str) -> String {
    let secrets = secrets.lock().expect("lock");
    let mut out = text.to_string();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    out
}

/// The [`Printer::log_writer`]: stderr with secrets masked.
#[derive(Clone)]
pub struct LogWriter {
    secrets: Arc<Mutex<Vec<String>>>,
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = redact(&self.secrets, &String::from_utf8_lossy(buf));
        std::io::stderr().lock().write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().lock().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Whether a prompt answer means yes: `y` or `yes`, any case, surrounding blanks ignored.
/// A bare Enter (empty answer) is no, unlike rain (aws-cloudformation/rain#727).
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_y_or_yes_is_yes() {
        assert!(is_yes("y\n"));
        assert!(is_yes(" YES "));
        assert!(!is_yes("\n"));
        assert!(!is_yes(""));
        assert!(!is_yes("yep"));
        assert!(!is_yes("n"));
    }

    #[test]
    fn registered_secrets_are_masked_on_both_streams() {
        let (printer, captured) = Printer::buffered(OutputFormat::Text, None);
        printer.register_secret("abandon ability able");
        printer.register_secret("ab"); // too short to register
        printer.data("value: abandon ability able");
        printer.warn("ab: abandon ability able!");
        assert_eq!(captured.stdout(), "value: ****\n");
        assert_eq!(captured.stderr(), "warning: ab: ****!\n");
    }

    #[test]
    fn confirm_without_terminal_fails_with_a_hint() {
        let (printer, _) = Printer::buffered(OutputFormat::Text, None);
        let err = printer.confirm("Deploy?", "--yes").unwrap_err();
        let reports = err.reports();
        assert_eq!(
            reports[0].0,
            "cannot ask \"Deploy?\": stdin is not a terminal"
        );
        assert_eq!(
            reports[0].1.as_deref(),
            Some("pass --yes to go ahead without a prompt (for CI and scripts)")
        );
    }

    #[test]
    fn bare_enter_at_the_prompt_is_no() {
        let (printer, captured) = Printer::buffered(OutputFormat::Text, Some("\n"));
        assert!(!printer.confirm("Deploy?", "--yes").unwrap());
        assert_eq!(captured.stderr(), "Deploy? [y/N] ");
        let (printer, _) = Printer::buffered(OutputFormat::Text, Some("y\n"));
        assert!(printer.confirm("Deploy?", "--yes").unwrap());
    }
}
