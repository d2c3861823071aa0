//! What a configuration problem is made of: the key, where its value came from, the message and
//! the hint.

use std::path::PathBuf;

/// Where a configuration value came from: the `.env` file and line, the process environment,
/// a command-line flag, or the blueprint's default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag, e.g. `--region`.
    Flag(&'static str),
    /// The process environment.
    ProcessEnv,
    /// A line of the `.env` file (1-based).
    EnvFile {
        /// Path of the `.env` file as given on the command line.
        path: PathBuf,
        /// 1-based line number of the `KEY=` line.
        line: usize,
    },
    /// The blueprint's default value.
    Default,
    /// A process environment variable other than the key itself (`AWS_DEFAULT_REGION` for
    /// `AWS_REGION`).
    EnvVar(&'static str),
    /// The `region` of an AWS profile (`~/.aws/config`).
    Profile(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "{flag}"),
            Source::ProcessEnv => write!(f, "process environment"),
            Source::EnvFile { path, line } => write!(f, "{}:{line}", path.display()),
            Source::Default => write!(f, "default"),
            Source::EnvVar(name) => write!(f, "{name} in the environment"),
            Source::Profile(name) => write!(f, "the region of AWS profile `{name}`"),
        }
    }
}

/// One problem with the configuration: where, which key, what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Where the offending value came from, when a single key is at fault.
    pub source: Option<Source>,
    /// The `.env` key at fault, if any.
    pub key: Option<String>,
    /// What is wrong. Never contains the value of a secret key.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl ConfigIssue {
    /// An issue about `key`, whose value came from `source`.
    pub fn key(key: &str, source: &Source, message: impl Into<String>) -> Self {
        ConfigIssue {
            source: Some(source.clone()),
            key: Some(key.to_string()),
            message: message.into(),
            hint: None,
        }
    }

    /// An issue not tied to one key.
    pub fn general(message: impl Into<String>) -> Self {
        ConfigIssue {
            source: None,
            key: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.source, &self.key) {
            (Some(Source::EnvFile { path, line }), Some(key)) => {
                write!(f, "{}:{line}: {key}: {}", path.display(), self.message)
            }
            (Some(Source::Default), Some(key)) => write!(f, "{key} (default): {}", self.message),
            (Some(source), Some(key)) => write!(f, "{key} (from {source}): {}", self.message),
            _ => write!(f, "{}", self.message),
        }
    }
}
