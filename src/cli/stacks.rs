//! The arguments of the commands that change stacks: `deploy`, `upgrade`, `destroy`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::stack_ids;
use crate::plan::ALL;
use crate::stack::deploy::Method;

pub(super) fn parse_timeout(value: &str) -> Result<Duration, String> {
    if value.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(value).map_err(|err| format!("{err} (use e.g. 90s, 30m, 2h, or 0)"))
}

/// Arguments of `deploy`.
#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// Which stacks, by id, or `all`: a stack needs the stacks it depends on deployed first
    /// (`single-node` needs `common`); several are deployed dependencies first.
    #[arg(value_name = "STACK", value_parser = stack_ids(), required = true)]
    pub stacks: Vec<String>,

    /// Write the outputs to this JSON file ({"<stack>": {"<OutputKey>": "<value>"}}, as
    /// `cdk deploy --outputs-file`), merged into the file if it exists; also on no-op deploys.
    #[arg(long, short = 'O', value_name = "FILE")]
    pub outputs_file: Option<PathBuf>,

    /// Execute without asking (required when stdin is not a terminal, e.g. in CI).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// How many node stacks of a fleet (`NODECTL_NODES`) deploy at once, with `--yes` or
    /// `--method direct` (otherwise one at a time, each confirmed); 1 to 32. The shared stacks
    /// deploy first, alone.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,

    /// Create the change set and print it, but do not execute it (one stack at a time).
    #[arg(long)]
    pub no_execute: bool,

    /// `change-set`: preview, confirm, execute. `direct`: CreateStack/UpdateStack with no
    /// preview, as `cdk deploy --method direct`.
    #[arg(long, value_enum, default_value_t = Method::ChangeSet)]
    pub method: Method,

    /// Give up waiting for one stack operation after this long (e.g. 45m; 0: no limit). The
    /// operation itself goes on in CloudFormation.
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Read the value of the secret key KEY (a wallet mnemonic, a node password: the keys the
    /// sample configs mark secret) from stdin instead of the .env file or the environment;
    /// secrets are never arguments. Needs --yes, since stdin then cannot answer a prompt.
    #[arg(long, value_name = "KEY")]
    pub secret_stdin: Option<String>,

    /// Deploy even if `nodectl check` finds violations (said loudly on stderr).
    #[arg(long)]
    pub skip_checks: bool,

    /// A tag for every stack and the node's secret, KEY=VALUE (repeatable); added to
    /// NODECTL_TAGS of the .env file, and wins for the same key.
    #[arg(long = "tags", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,

    /// The CloudFormation service role the stack operations run as (`RoleARN`), as `cdk
    /// deploy --role-arn`; your credentials then need only iam:PassRole on it.
    #[arg(long, value_name = "ARN", value_parser = parse_role_arn)]
    pub role_arn: Option<String>,

    /// Turn termination protection on for every deployed stack (never turned off by nodectl;
    /// `destroy` then refuses until you turn it off).
    #[arg(long)]
    pub termination_protection: bool,

    /// Keep what a failed operation created (no rollback), to debug it; the stack is left in
    /// a *_FAILED state, which the next deploy (create: deleted and created again) or
    /// `aws cloudformation rollback-stack` resolves.
    #[arg(long)]
    pub no_rollback: bool,
}

fn parse_tag(value: &str) -> Result<(String, String), String> {
    crate::blueprint::tags::parse_one(value)
        .map_err(|(message, hint)| format!("{message} ({hint})"))
}

/// An IAM role ARN, `arn:<partition>:iam::<12 digits>:role/<path and name>`.
fn parse_role_arn(value: &str) -> Result<String, String> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|name| !name.is_empty());
    if ok {
        Ok(value.to_string())
    } else {
        Err("not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)".into())
    }
}

/// Arguments of `destroy`.
#[derive(Debug, Args)]
pub(crate) struct DestroyArgs {
    /// Which stacks, by id, or `all` (the default); deleted in reverse dependency order, and
    /// a stack is refused while another stack still imports its exports.
    #[arg(value_name = "STACK", value_parser = stack_ids(), default_value = ALL)]
    pub stacks: Vec<String>,

    /// Delete without asking (required when stdin is not a terminal, e.g. in CI).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Give up waiting for one deletion after this long (e.g. 45m; 0: no limit).
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// The CloudFormation service role the deletions run as (`RoleARN`).
    #[arg(long, value_name = "ARN", value_parser = parse_role_arn)]
    pub role_arn: Option<String>,

    /// Only this node stack: by id, or in a fleet (`NODECTL_NODES`) by node name; the shared
    /// stacks stay.
    #[arg(long, value_name = "NODE", conflicts_with = "stacks")]
    pub node: Option<String>,

    /// Snapshot each node's data volume (EBS CreateSnapshot) and wait until the snapshot is
    /// complete before deleting its stack; the snapshot ids are printed with how to restore.
    #[arg(long)]
    pub snapshot: bool,
}

/// Arguments of `upgrade`.
#[derive(Debug, Args)]
pub(crate) struct UpgradeArgs {
    /// Which node stacks, by id (`single-node`, or in a fleet `single-node-beta`); default and
    /// `all`: every node stack.
    #[arg(value_name = "STACK", value_parser = stack_ids())]
    pub stacks: Vec<String>,

    /// Only this node, by name in a fleet (`NODECTL_NODES`) or by stack id.
    #[arg(long, value_name = "NODE", conflicts_with = "stacks")]
    pub node: Option<String>,

    /// The AMI to move to, `ami-` and 8 or 17 hex digits (default: the latest of the
    /// blueprint's public SSM parameter, e.g. Amazon Linux 2023). Its architecture must match
    /// the instance type.
    #[arg(long, value_name = "AMI", value_parser = parse_image_id)]
    pub image: Option<String>,

    /// Execute without asking (required when stdin is not a terminal, e.g. in CI).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Create each node's change set and print it, but do not execute it (one node).
    #[arg(long)]
    pub no_execute: bool,

    /// How many nodes of a fleet upgrade at once, with --yes; 1 to 32 (default 1: one node
    /// at a time, so a bad image stops at the first node).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,

    /// Write the outputs to this JSON file, as `deploy --outputs-file`.
    #[arg(long, short = 'O', value_name = "FILE")]
    pub outputs_file: Option<PathBuf>,

    /// Give up waiting for one stack operation after this long (e.g. 45m; 0: no limit).
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// The CloudFormation service role the stack operations run as (`RoleARN`).
    #[arg(long, value_name = "ARN", value_parser = parse_role_arn)]
    pub role_arn: Option<String>,
}

/// An AMI id: `ami-` and 8 or 17 lowercase hex digits (Amazon EC2 API Reference, Image).
fn parse_image_id(value: &str) -> Result<String, String> {
    let hex = value.strip_prefix("ami-").unwrap_or_default();
    if matches!(hex.len(), 8 | 17)
        && hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        Ok(value.to_string())
    } else {
        Err(
            "an AMI id is `ami-` and 8 or 17 lowercase hex digits, e.g. ami-0abcdef1234567890"
                .into(),
        )
    }
}
