//! The command line: global flags and one subcommand per verb (clap derive).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::EXIT_CODES_HELP;
use crate::plan::ALL;
use crate::printer::OutputFormat;
use crate::stack::deploy::Method;

/// nodectl turns one .env file into running, secure nodes of decentralized compute networks
/// on AWS: it renders CloudFormation templates, deploys them through change sets, writes the
/// stack outputs as JSON (the CDK --outputs-file format) and destroys them again.
///
/// stdout carries data only (templates, JSON, outputs); progress and errors go to stderr.
#[derive(Debug, Parser)]
#[command(name = "nodectl", version, after_help = EXIT_CODES_HELP.as_str())]
pub(crate) struct Cli {
    /// Flags that every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags that every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// The .env file with the node configuration (read, never written; the process
    /// environment overrides its keys).
    #[arg(long, global = true, value_name = "PATH", default_value = ".env")]
    pub env_file: PathBuf,

    /// AWS named profile for credentials and, when the .env file sets no AWS_REGION, the
    /// region; beats credentials in the environment (default: the standard chain, where
    /// environment keys come before AWS_PROFILE).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// AWS region. Precedence: --region, AWS_REGION in the environment, AWS_REGION in the .env
    /// file, AWS_DEFAULT_REGION, the profile's region; there is no default.
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// Send every AWS request to this endpoint instead of AWS (a local emulator, e.g.
    /// http://127.0.0.1:4566). Without it the SDK reads AWS_ENDPOINT_URL, and
    /// AWS_ENDPOINT_URL_<SERVICE> for one service (e.g. AWS_ENDPOINT_URL_SSM), which then wins.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Format of the data written to stdout (sarif: `check` only).
    #[arg(long, global = true, value_enum, default_value_t = OutputArg::Text)]
    pub output: OutputArg,

    /// More detail on stderr (-v: debug logs, -vv: trace logs).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only warnings and errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Colour on stderr: `auto` on a terminal unless NO_COLOR is set.
    #[arg(long, global = true, value_enum, default_value_t = crate::printer::ColorChoice::Auto)]
    pub color: crate::printer::ColorChoice,

    /// The AWS profile in use (`--profile`, else `AWS_PROFILE`, else `default`), read from the
    /// shared config files before the command runs; not a flag.
    #[arg(skip)]
    pub aws_profile: Option<crate::aws::profile::ProfileInfo>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Render the CloudFormation templates (offline: no credentials, no network).
    ///
    /// With --out-dir, writes <stack name>.template.json files and prints their paths;
    /// without, prints one stack's template, or for `all` a JSON object keyed by stack name.
    Render {
        /// Which stacks, by id (`common`, `single-node`, ...), or `all`.
        #[arg(value_name = "STACK", value_parser = stack_ids(), default_value = ALL)]
        stacks: Vec<String>,
        /// Directory to write the templates into (created if missing).
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },

    /// Deploy stacks (dependencies first), through a change set unless --method direct.
    Deploy(DeployArgs),

    /// Delete stacks, dependents before what they depend on (default: all).
    Destroy(DestroyArgs),

    /// Print the stack outputs (in the CDK --outputs-file format with --output json).
    Outputs,

    /// Print each stack's status and last update, and the node's state: instance (state, EC2
    /// status checks, public IP, uptime), SSM agent, service, containers (image, state,
    /// restarts) and the node's own checks, each ok / degraded / down.
    ///
    /// The node part is read through SSM Run Command (one command); --stacks-only skips it.
    /// With --output json: {"stacks": [{stackName, status, lastUpdated, reason}], "nodes":
    /// [{stackName, health, instance, statusChecks, agent, uptimeSeconds, service, containers,
    /// checks: [{name, health, detail}]}]}.
    Status(StatusArgs),

    /// Check the node's health: exit 0 when healthy, 7 when degraded, 8 when down (for cron
    /// and CI); --wait blocks until it is healthy.
    ///
    /// The checks: the instance runs and passes EC2's status checks, the SSM agent is online,
    /// the node's service is active, its containers run, and the node's own probes pass
    /// (Theta: edgecore.GetStatus and GetPeers on 17888, edgelauncher on 15888; Allora: the
    /// inference server's health URL and the worker's metrics on 2112).
    Health(HealthArgs),

    /// Print the node's logs: the cloud-init output (installation, first start), the node
    /// service's journal, or a container's log; --follow keeps printing new lines.
    ///
    /// Read through SSM Run Command, whose inline output stops at 24,000 characters: the log
    /// is written to a file on the node and read in pages of whole lines, so nothing is cut.
    Logs(LogsArgs),

    /// Run a shell command on the node as root, print its output and exit with its exit code.
    ///
    /// One word after -- is a shell command line as it is (`nodectl exec -- 'docker ps | head'`);
    /// several are one command with each word quoted (`nodectl exec -- ls -l "/data/my dir"`).
    /// Output beyond SSM's 24,000 characters is cut (said on stderr): page with `nodectl logs`
    /// or write to a file. No SSH port or key pair is involved.
    Exec(ExecArgs),

    /// Open an interactive shell on the node (Session Manager): runs `aws ssm start-session`,
    /// which needs the AWS CLI and the session-manager-plugin; without them, prints the command
    /// and how to install the plugin.
    Connect(NodeArg),

    /// Restart the node's service (or reboot the instance with --hard), then wait until the
    /// node is healthy; exits like `health` afterwards.
    Restart(RestartArgs),

    /// Call the node's JSON-RPC (Theta: edgecore.* on 17888, edgelauncher.* on 15888,
    /// edgeencoder.* on 17935) and print the result as JSON.
    ///
    /// Example: nodectl rpc edgelauncher.GetPastJobs '[{"type":"lavita","page":0,"num":10}]'
    Rpc(RpcArgs),

    /// Show what a deploy would change: each rendered template against the deployed one (a
    /// unified diff of the JSON) and the parameters that would change.
    ///
    /// Read-only: no change set is created. Parameters that deploy-time lookups fill (the
    /// default VPC) are not compared; a deployed stack keeps them.
    Diff {
        /// Which stacks, by id, or `all`.
        #[arg(value_name = "STACK", value_parser = stack_ids(), default_value = ALL)]
        stacks: Vec<String>,
    },

    /// Estimate the monthly on-demand cost of the stacks, line by line (offline).
    ///
    /// Reads what the rendered templates deploy (instance, EBS volumes, public IPv4, dashboard,
    /// metrics, secret) and prices it for 730 hours a month from the price table built into
    /// nodectl (pricing/on-demand.json, with its date and sources). No AWS request is made
    /// unless --price-list is given.
    Cost(CostArgs),

    /// Check the stacks against the security, cost and reliability rules (offline).
    ///
    /// Evaluates every rendered stack of the blueprint against the built-in AWS CloudFormation
    /// Guard rules (and the .guard files of --rules DIR) and prints one row per rule and
    /// finding: control, check, resource, pass / FAIL / suppressed / n/a, the reason, and the
    /// remark of the seed's Well-Architected checklist row. Exits 6 on a violation. `deploy`
    /// runs the same check first. See docs/checks.md.
    Check(CheckArgs),

    /// Write a blueprint's documented sample .env file to start from (`--env-file`, default
    /// .env), as `cdk init` starts a project; without a blueprint, list them.
    ///
    /// The file is created with mode 0600 (it will hold a wallet mnemonic or API keys) and an
    /// existing file is never replaced unless --force.
    Init {
        /// Which blueprint.
        #[arg(value_name = "BLUEPRINT", value_parser = blueprint_names())]
        blueprint: Option<String>,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },

    /// Write the manual pages (roff, from these command-line definitions): nodectl.1 and one
    /// nodectl-<command>.1 per command into DIR, or nodectl.1 alone on stdout.
    ///
    /// Install them with e.g. `nodectl man --out-dir ~/.local/share/man/man1`, then `man
    /// nodectl`.
    Man {
        /// Directory to write the pages into (created if missing).
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },

    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The values the `STACK` arguments take: the stack ids of every blueprint, and `all`. Which
/// of them the `.env` file's blueprint has is checked once its plan is read.
fn stack_ids() -> StackIdParser {
    let mut values: Vec<clap::builder::PossibleValue> = crate::blueprint::stack_ids()
        .into_iter()
        .map(clap::builder::PossibleValue::new)
        .collect();
    values.push(clap::builder::PossibleValue::new(ALL).help("every stack, dependencies first"));
    StackIdParser(values)
}

/// The blueprints' stack ids (the possible values, for help and completions), and a fleet's
/// node stack ids, `<id>-<node name>` (`single-node-beta`).
#[derive(Clone)]
struct StackIdParser(Vec<clap::builder::PossibleValue>);

impl clap::builder::TypedValueParser for StackIdParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let known = clap::builder::PossibleValuesParser::new(self.0.clone());
        known.parse_ref(cmd, arg, value).or_else(|err| {
            let text = value.to_str().unwrap_or_default();
            let fleet_node = crate::blueprint::stack_ids().into_iter().any(|id| {
                text.strip_prefix(id)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|name| crate::blueprint::validate::name_part(name).is_ok())
            });
            if fleet_node {
                Ok(text.to_string())
            } else {
                Err(err)
            }
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(self.0.iter().cloned()))
    }
}

/// The values `init` takes: the blueprints' names.
fn blueprint_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        crate::blueprint::BLUEPRINTS
            .iter()
            .map(|blueprint| blueprint.name()),
    )
}

fn parse_timeout(value: &str) -> Result<Duration, String> {
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

/// Which node (day-2 commands).
#[derive(Debug, Args)]
pub(crate) struct NodeArg {
    /// The node stack, by id, or in a fleet (`NODECTL_NODES`) by node name (default: the
    /// plan's only node stack, `single-node`).
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
}

/// Arguments of `status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Only the stacks: no EC2 or SSM request.
    #[arg(long)]
    pub stacks_only: bool,
    #[command(flatten)]
    pub node: NodeArg,
}

/// Arguments of `health`.
#[derive(Debug, Args)]
pub(crate) struct HealthArgs {
    #[command(flatten)]
    pub node: NodeArg,
    /// Wait until the node is healthy, at most this long (e.g. 20m), checking every 10 s;
    /// then exit as the last check says.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub wait: Option<Duration>,
}

/// Arguments of `logs`.
#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    #[command(flatten)]
    pub node: NodeArg,
    /// `cloud-init` (/var/log/cloud-init-output.log), `node` (the service's journal), or a
    /// container's name (`docker logs`; `nodectl status` lists them).
    #[arg(long, value_name = "SOURCE", default_value = "cloud-init")]
    pub source: crate::ops::logs::LogSource,
    /// Only entries newer than this (e.g. 10m, 2h); not for cloud-init.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub since: Option<Duration>,
    /// The last N lines (0: all).
    #[arg(long, short = 'n', value_name = "N", default_value_t = 200)]
    pub lines: usize,
    /// Keep printing new lines until Ctrl-C.
    #[arg(long, short = 'f')]
    pub follow: bool,
}

/// Arguments of `exec`.
#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    #[command(flatten)]
    pub node: NodeArg,
    /// Stop the command after this long (SSM `executionTimeout`; exit code 124).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// The command, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Arguments of `restart`.
#[derive(Debug, Args)]
pub(crate) struct RestartArgs {
    #[command(flatten)]
    pub node: NodeArg,
    /// Reboot the instance (EC2 RebootInstances) instead of restarting the service.
    #[arg(long)]
    pub hard: bool,
    /// How long to wait for the node to be healthy afterwards.
    #[arg(long, value_name = "DURATION", default_value = "20m", value_parser = parse_timeout)]
    pub wait: Duration,
}

/// Arguments of `rpc`.
#[derive(Debug, Args)]
pub(crate) struct RpcArgs {
    #[command(flatten)]
    pub node: NodeArg,
    /// The method, e.g. edgecore.GetStatus.
    pub method: String,
    /// The params as JSON (default []).
    pub params: Option<String>,
}

/// Arguments of `check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Also evaluate the AWS CloudFormation Guard rules files (*.guard) of this directory; a
    /// catalog.json in it describes them (control, check, remarks).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,

    /// Check this CloudFormation template (JSON) instead of the blueprint's rendered stacks;
    /// repeatable. The .env file still says which blueprint's declarations apply.
    #[arg(long, value_name = "FILE")]
    pub template: Vec<PathBuf>,
}

/// The values of `--output`: the printer's formats, and `sarif`, which only `check` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputArg {
    /// Human-readable text.
    Text,
    /// JSON (one document per command).
    Json,
    /// SARIF 2.1.0 (`check` only), for code scanning tools.
    Sarif,
}

impl OutputArg {
    /// The printer's format: SARIF is a JSON document.
    pub(crate) fn format(self) -> OutputFormat {
        match self {
            OutputArg::Text => OutputFormat::Text,
            OutputArg::Json | OutputArg::Sarif => OutputFormat::Json,
        }
    }
}

/// Arguments of `cost`.
#[derive(Debug, Args)]
pub(crate) struct CostArgs {
    /// Ask the AWS Price List API (pricing:GetProducts, in us-east-1) for the instance price,
    /// with the usual AWS credentials; on failure the built-in table is used, with a warning.
    #[arg(long)]
    pub price_list: bool,
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn timeouts_parse() {
        assert_eq!(parse_timeout("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_timeout("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_timeout("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_timeout("soon").is_err());
    }
}
