//! The command line: global flags and one subcommand per verb (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::EXIT_CODES_HELP;
use crate::plan::ALL;
use crate::printer::OutputFormat;

mod stacks;

use stacks::parse_timeout;
pub(crate) use stacks::{DeployArgs, DestroyArgs, UpgradeArgs};
use std::time::Duration;

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

    /// Move the nodes to a new AMI (the latest Amazon Linux, or --image), keeping their data.
    ///
    /// A node stack runs the AMI it was created with until this command moves it (a routine
    /// deploy never does). The new AMI replaces the instance: the change set is shown with
    /// "instance i-... replaced, data volume vol-... kept"; once confirmed, the data volume is
    /// snapshotted (the snapshot is listed and kept), the old instance stopped and the volume
    /// detached; the new instance mounts it. If the update fails, CloudFormation rolls back and
    /// the old instance gets its volume back and starts: the node is as it was. Any changed
    /// `.env` setting is deployed with it.
    Upgrade(UpgradeArgs),

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
    /// inference server's health URL and the worker's metrics on 2112; Dynabench: the
    /// evaluation server's service besides the build server's).
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
