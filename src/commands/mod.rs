//! CLI glue: one function per verb. Each parses what it needs, loads the plan (offline
//! validation first), calls one operation, and prints its report through the [`Printer`].

mod check;
mod cost;
mod deploy;
mod destroy;
mod init;
mod inspect;
mod man;
mod node;
mod render;

use std::collections::HashMap;

use clap::CommandFactory;

use crate::aws::{self, AwsOptions};
use crate::blueprint;
use crate::cli::{Cli, Command, GlobalArgs, OutputArg};
use crate::error::Source;
use crate::error::{ConfigIssue, Error, Result};
use crate::plan::Plan;
use crate::printer::Printer;
use crate::settings::{Setting, Settings};

/// Runs the parsed command.
pub(crate) async fn dispatch(cli: &Cli, printer: &Printer) -> Result<()> {
    if cli.global.output == OutputArg::Sarif && !matches!(cli.command, Command::Check(_)) {
        return Err(Error::usage(
            "--output sarif is the format of `nodectl check` reports only",
            "use --output text or --output json with this command",
        ));
    }
    match &cli.command {
        Command::Render { stacks, out_dir } => {
            render::run(&cli.global, printer, stacks, out_dir.as_deref())
        }
        Command::Deploy(args) => deploy::run(&cli.global, printer, args).await,
        Command::Upgrade(args) => deploy::upgrade(&cli.global, printer, args).await,
        Command::Destroy(args) => destroy::run(&cli.global, printer, args).await,
        Command::Outputs => inspect::outputs(&cli.global, printer).await,
        Command::Status(args) => node::status(&cli.global, printer, args).await,
        Command::Health(args) => node::health(&cli.global, printer, args).await,
        Command::Logs(args) => node::logs(&cli.global, printer, args).await,
        Command::Exec(args) => node::exec(&cli.global, printer, args).await,
        Command::Connect(args) => node::connect_shell(&cli.global, printer, args).await,
        Command::Restart(args) => node::restart(&cli.global, printer, args).await,
        Command::Rpc(args) => node::rpc(&cli.global, printer, args).await,
        Command::Diff { stacks } => inspect::diff(&cli.global, printer, stacks).await,
        Command::Cost(args) => cost::run(&cli.global, printer, args).await,
        Command::Check(args) => check::run(&cli.global, printer, args),
        Command::Init { blueprint, force } => {
            init::run(&cli.global, printer, blueprint.as_deref(), *force)
        }
        Command::Man { out_dir } => man::run(printer, out_dir.as_deref()),
        Command::Completions { shell } => {
            let mut buffer = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "nodectl", &mut buffer);
            printer.data(&String::from_utf8_lossy(&buffer));
            Ok(())
        }
    }
}

/// Reads the `.env` file and builds the validated plan. No AWS request is made. Registers the
/// configuration's secrets with the printer and prints the warnings.
pub(crate) fn load_plan(global: &GlobalArgs, printer: &Printer) -> Result<Plan> {
    load_plan_with(global, printer, HashMap::new(), true)
}

/// [`load_plan`] for commands that do not render or deploy (`status`, `outputs`, `destroy`):
/// the configuration is validated the same way, but its warnings (about what would be
/// deployed) are not repeated.
pub(crate) fn load_plan_quietly(global: &GlobalArgs, printer: &Printer) -> Result<Plan> {
    load_plan_with(global, printer, HashMap::new(), false)
}

/// [`load_plan`] with extra keys given by flags (`--secret-stdin`), as `key → (flag, value)`.
pub(crate) fn load_plan_with(
    global: &GlobalArgs,
    printer: &Printer,
    mut flags: HashMap<String, (&'static str, String)>,
    warn: bool,
) -> Result<Plan> {
    for (_, value) in flags.values() {
        printer.register_secret(value);
    }
    let process_env: HashMap<String, String> = std::env::vars().collect();
    if let Some(region) = &global.region {
        flags.insert("AWS_REGION".to_string(), ("--region", region.clone()));
    }
    let default_region = process_env.get("AWS_DEFAULT_REGION").cloned();
    let mut settings = Settings::load(&global.env_file, process_env, flags)?;
    // Where the AWS CLI v2 finds a region when AWS_REGION is set nowhere.
    if let Some(region) = default_region {
        settings = settings.with_fallback(
            "AWS_REGION",
            Setting {
                value: region,
                source: Source::EnvVar("AWS_DEFAULT_REGION"),
            },
        );
    }
    if let Some(profile) = &global.aws_profile {
        if let Some(region) = &profile.region {
            settings = settings.with_fallback(
                "AWS_REGION",
                Setting {
                    value: region.clone(),
                    source: Source::Profile(profile.name.clone()),
                },
            );
        }
    }
    for secret in blueprint::secrets(&settings) {
        printer.register_secret(&secret);
    }
    // NODECTL_TAGS is every blueprint's; its problems join the blueprint's.
    let tags = blueprint::tags::from_settings(&settings);
    let blueprint = blueprint::detect(&settings)?;
    let planned = match crate::fleet::names(&settings)? {
        Some(_) if !blueprint.fleets() => Err(Error::Config(vec![ConfigIssue::key(
            crate::fleet::NODES_KEY,
            &settings
                .get(crate::fleet::NODES_KEY)
                .expect("named nodes")
                .source,
            format!(
                "names a fleet, and a {} plan has one node",
                blueprint.name()
            ),
        )
        .hint("remove NODECTL_NODES; deploy another .env file for another one")])),
        Some(names) => crate::fleet::plan(blueprint, &settings, &names),
        None => blueprint.plan(&settings),
    };
    if let Ok(plan) = &planned {
        for secret in &plan.secrets {
            printer.register_secret(secret);
        }
    }
    let plan = match (planned, tags) {
        (Ok(mut plan), Ok(tags)) => {
            plan.add_tags(&tags)?;
            plan
        }
        (Ok(plan), Err(issues)) if plan.warnings.is_empty() => return Err(Error::Config(issues)),
        (Ok(plan), Err(issues)) => {
            return Err(Error::WithWarnings {
                warnings: plan.warnings,
                error: Box::new(Error::Config(issues)),
            })
        }
        (Err(err), Ok(_)) => return Err(err),
        (Err(err), Err(issues)) => return Err(err.with_issues(issues)),
    };
    debug_assert_eq!(plan.check_graph(), Ok(()));
    if warn {
        print_warnings(&plan, printer);
    }
    if let Some(region) = settings.get("AWS_REGION") {
        tracing::debug!("region {} (from {})", region.value, region.source);
    }
    tracing::debug!(
        blueprint = plan.blueprint,
        region = %plan.region,
        stacks = ?plan.stacks.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        "configuration loaded from {}",
        global.env_file.display()
    );
    Ok(plan)
}

/// Prints on stderr what the user does next with the deployed stacks' `outputs`
/// ([`blueprint::Blueprint::checklist`]).
pub(crate) fn print_checklist(
    plan: &Plan,
    outputs: &serde_json::Map<String, serde_json::Value>,
    printer: &Printer,
) {
    if let Some(blueprint) = blueprint::find(plan.blueprint) {
        for line in blueprint.checklist(plan, outputs) {
            printer.info(&line);
        }
    }
}

/// Prints the plan's warnings (unknown keys, ignored keys, ...).
pub(crate) fn print_warnings(plan: &Plan, printer: &Printer) {
    for warning in &plan.warnings {
        printer.warn(warning);
    }
}

/// Reads the value of `key` from stdin for `--secret-stdin`: the whole input, without the
/// trailing newline. Only keys a blueprint marks secret are accepted.
pub(crate) fn secret_from_stdin(key: &str) -> Result<HashMap<String, (&'static str, String)>> {
    let known = blueprint::secret_keys();
    if !known.contains(&key) {
        return Err(Error::usage(
            format!("--secret-stdin takes a secret key, and `{key}` is not one"),
            format!("use one of {}", known.join(", ")),
        ));
    }
    let mut value = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut value).map_err(|source| {
        Error::Io {
            action: "read the secret from",
            path: "stdin".into(),
            source,
        }
    })?;
    let value = value.trim_end_matches(['\n', '\r']).to_string();
    if value.trim().is_empty() {
        return Err(Error::usage(
            format!("--secret-stdin {key}: stdin was empty"),
            format!(
                "pipe the value in, e.g. `nodectl deploy all --yes --secret-stdin {key} < file`"
            ),
        ));
    }
    Ok(HashMap::from([(
        key.to_string(),
        ("--secret-stdin", value),
    )]))
}

/// The SDK options of the global flags: profile, endpoint, and the attempts per call
/// (`NODECTL_MAX_ATTEMPTS`, else [`aws::DEFAULT_MAX_ATTEMPTS`]); the region is the plan's.
pub(crate) fn aws_options(global: &GlobalArgs) -> AwsOptions {
    AwsOptions {
        profile: global.profile.clone(),
        region: String::new(),
        endpoint_url: global.endpoint_url.clone(),
        max_attempts: std::env::var("NODECTL_MAX_ATTEMPTS")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(aws::DEFAULT_MAX_ATTEMPTS),
        profile_info: global.aws_profile.clone(),
    }
}
