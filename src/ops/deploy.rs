//! The deploy operation: the selected stacks in dependency order, each with its lookups and
//! secret steps, through the stack engine; the outputs file written after each stack.

use std::path::PathBuf;

use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value};

use super::writer::pending_lines;
pub use super::writer::SecretWriter;
use super::{lookup, replace, Report, Session};
use crate::aws::cloudformation::ChangeRow;
use crate::aws::ec2::Ec2;
use crate::aws::s3::S3;
use crate::aws::secretsmanager::SecretsManager;
use crate::error::{Error, Result};
use crate::observer::Prompt;
use crate::plan::{Plan, StackSpec, Step};
use crate::secrets::Stored;
use crate::stack::deploy::{DeployOptions, DeployResult, Method, Prepared};
use crate::stack::outputs::{merge_into_file, outputs_object};
use crate::stack::Engine;

/// What `deploy` reports on stdout.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum DeployReport {
    /// The outputs of every deployed stack, in the CDK `--outputs-file` format.
    Outputs(OutputsReport),
    /// `--no-execute`: the change set left for review.
    ChangeSet(ChangeSetReport),
}

impl Report for DeployReport {
    fn text(&self) -> String {
        match self {
            DeployReport::Outputs(outputs) => outputs.text(),
            DeployReport::ChangeSet(change_set) => change_set.text(),
        }
    }
}

/// Stack outputs: `{"<stack>": {"<OutputKey>": "<value>"}}`; as text, `stack.Key = value`
/// lines.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct OutputsReport(pub Map<String, Value>);

impl Report for OutputsReport {
    fn text(&self) -> String {
        self.0
            .iter()
            .flat_map(|(stack, values)| {
                values
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(move |(key, value)| {
                        format!("{stack}.{key} = {}", value.as_str().unwrap_or_default())
                    })
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A change set left for review; as text, its id.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeSetReport {
    /// The stack name.
    pub stack_name: String,
    /// The stack id (ARN).
    pub stack_id: String,
    /// The change set id (ARN).
    pub change_set_id: String,
    /// The resource changes.
    pub changes: Vec<ChangeRow>,
}

impl Report for ChangeSetReport {
    fn text(&self) -> String {
        self.change_set_id.clone()
    }
}

/// What one deploy does besides the stack engine's options.
#[derive(Debug, Clone)]
pub struct Request {
    /// The engine's options (method, `--yes`, `--no-execute`, the account).
    pub options: DeployOptions,
    /// `--outputs-file`.
    pub outputs_file: Option<PathBuf>,
    /// `--concurrency`: node stacks deployed at once (with `--yes` or `--method direct`).
    pub concurrency: usize,
    /// Which AMI the node stacks run: the deployed one (deploy) or a new one (`upgrade`).
    pub image: lookup::ImageChoice,
}

/// What a deploy needs to keep a node's data volume when the instance is replaced
/// ([`replace`]).
pub struct Keeper<'a> {
    /// The EC2 client.
    pub ec2: &'a Ec2,
    /// What the data volume holds (the blueprint's `dataVolumeHolds` fact), for the preview.
    pub holds: &'a str,
}

/// Deploys `selected` (stacks of `plan`, in deploy order). Before any change: every
/// dependency that is not selected must be deployed and usable. Errors stop the walk; what was
/// deployed stays deployed (and in the outputs file).
pub async fn deploy(
    session: &Session,
    engine: &Engine<'_>,
    prompt: &dyn Prompt,
    plan: &Plan,
    selected: &[&StackSpec],
    request: &Request,
) -> Result<DeployReport> {
    for stack in selected {
        for dependency in plan.dependencies(stack) {
            if selected.iter().any(|s| s.id == dependency.id) {
                continue;
            }
            let info = engine.describe_for(&dependency.name, "read").await?;
            let usable = info.as_ref().is_some_and(|info| {
                info.status == "CREATE_COMPLETE"
                    || info.status.starts_with("UPDATE_")
                    || info.status.starts_with("IMPORT_")
            });
            if !usable {
                return Err(Error::NeedsStack {
                    stack: stack.name.clone(),
                    needs: dependency.name.clone(),
                    needs_id: dependency.id.clone(),
                    state: info
                        .map(|info| format!("is {}", info.status))
                        .unwrap_or_else(|| "does not exist".into()),
                    region: plan.region.clone(),
                });
            }
        }
    }
    let ec2 = Ec2::new(&session.sdk);
    let ssm = crate::aws::ssm::Ssm::new(&session.sdk);
    // Every selected stack's instance types, before the first stack is touched.
    lookup::check_offerings(&ec2, plan, selected).await?;
    let uploads = selected.iter().any(|stack| {
        stack
            .before_deploy
            .iter()
            .any(|step| matches!(step, Step::Upload(_)))
    });
    let writer = SecretWriter {
        client: SecretsManager::new(&session.sdk),
        s3: uploads.then(|| S3::new(&session.sdk)),
        region: plan.region.clone(),
    };
    let clients = Clients {
        ec2: &ec2,
        ssm: &ssm,
        writer: &writer,
        holds: plan.facts.data_volume_holds.as_str(),
    };
    let mut outputs = Map::new();
    // The shared stacks first, one by one: a failure stops the deploy (the nodes need them).
    let (nodes, shared): (Vec<&StackSpec>, Vec<&StackSpec>) =
        selected.iter().copied().partition(|stack| stack.is_node());
    for stack in shared {
        match deploy_one(engine, &clients, prompt, stack, request).await? {
            Deployed::Outputs(name, value) => {
                outputs.insert(name, value);
            }
            Deployed::ChangeSet(report) => return Ok(DeployReport::ChangeSet(report)),
        }
    }
    // Then the node stacks, `--concurrency` at a time when nothing asks for confirmation. In a
    // fleet, a node stack that fails does not stop the others (they depend only on the shared
    // stacks); an interruption stops everything.
    let fleet = nodes.len() > 1;
    let unattended = request.options.yes || request.options.method == Method::Direct;
    let concurrency = if unattended {
        request.concurrency.max(1)
    } else {
        1
    };
    // Node stacks waited for at once share one polling budget (`PollConfig::shared_by`).
    let fleet_engine = engine.with_poll(engine.poll.shared_by(concurrency.min(nodes.len())));
    let fleet_engine = &fleet_engine;
    let mut results = futures_util::stream::iter(nodes.iter().map(|stack| {
        let clients = &clients;
        async move {
            let result = deploy_one(fleet_engine, clients, prompt, stack, request).await;
            (*stack, result)
        }
    }))
    .buffer_unordered(concurrency);
    let mut failed: Vec<(String, Box<Error>)> = Vec::new();
    let mut deployed: Vec<String> = Vec::new();
    while let Some((stack, result)) = results.next().await {
        match result {
            Ok(Deployed::Outputs(name, value)) => {
                deployed.push(name.clone());
                outputs.insert(name, value);
            }
            Ok(Deployed::ChangeSet(report)) => return Ok(DeployReport::ChangeSet(report)),
            Err(err) if fleet && !matches!(err, Error::Interrupted { .. }) => {
                engine.observer.warn(&format!(
                    "node stack `{}` failed; the other nodes go on",
                    stack.name
                ));
                failed.push((stack.name.clone(), Box::new(err)));
            }
            Err(err) => return Err(err),
        }
    }
    if !failed.is_empty() {
        // In the plan's order, whichever finished first.
        let order = |name: &String| nodes.iter().position(|stack| &stack.name == name);
        deployed.sort_by_key(order);
        failed.sort_by_key(|(name, _)| order(name));
        return Err(Error::NodesFailed { failed, deployed });
    }
    Ok(DeployReport::Outputs(OutputsReport(outputs)))
}

/// What [`deploy_one`] works with.
#[derive(Clone, Copy)]
struct Clients<'a> {
    ec2: &'a Ec2,
    ssm: &'a crate::aws::ssm::Ssm,
    writer: &'a SecretWriter,
    holds: &'a str,
}

/// What deploying one stack gave.
enum Deployed {
    /// The stack's name and its outputs (as the outputs file holds them).
    Outputs(String, Value),
    /// A change set left for review (`--no-execute`).
    ChangeSet(ChangeSetReport),
}

/// Deploys one stack of [`deploy`]: its lookups resolved, its secrets written, the stack
/// deployed, termination protection turned on when asked, its outputs merged into the outputs
/// file.
async fn deploy_one(
    engine: &Engine<'_>,
    clients: &Clients<'_>,
    prompt: &dyn Prompt,
    stack: &StackSpec,
    request: &Request,
) -> Result<Deployed> {
    let Clients {
        ec2,
        ssm,
        writer,
        holds,
    } = *clients;
    let stack = lookup::resolve(engine, ec2, ssm, stack, &request.image).await?;
    let keeper = Keeper { ec2, holds };
    match deploy_stack_with(
        engine,
        prompt,
        &stack,
        &request.options,
        Some(writer),
        Some(&keeper),
    )
    .await?
    {
        DeployResult::Deployed(info) | DeployResult::NoChanges(info) => {
            if request.options.termination_protection && !info.termination_protection {
                engine
                    .cfn
                    .enable_termination_protection(&info.name)
                    .await
                    .map_err(|err| {
                        engine.error("turn termination protection on for", &info.name, err)
                    })?;
                engine.observer.note(&format!(
                    "turned termination protection on for stack `{}`",
                    info.name
                ));
            }
            if let Some(path) = &request.outputs_file {
                merge_into_file(path, &info.name, &info.outputs)?;
                engine.observer.note(&format!(
                    "wrote the outputs of `{}` to {}",
                    info.name,
                    path.display()
                ));
            }
            Ok(Deployed::Outputs(
                info.name.clone(),
                outputs_object(&info.outputs),
            ))
        }
        DeployResult::ChangeSetCreated(change_set) => Ok(Deployed::ChangeSet(ChangeSetReport {
            stack_name: change_set.stack,
            stack_id: change_set.stack_id,
            change_set_id: change_set.id,
            changes: change_set.rows,
        })),
    }
}

/// Deploys one stack that has no secrets to write: see [`deploy_stack_with`].
pub async fn deploy_stack(
    engine: &Engine<'_>,
    prompt: &dyn Prompt,
    stack: &StackSpec,
    options: &DeployOptions,
) -> Result<DeployResult> {
    deploy_stack_with(engine, prompt, stack, options, None, None).await
}

/// Deploys one stack: settle it, then through a change set (prepare, confirm through `prompt`
/// unless `--yes`, write the stack's secrets with `secrets`, execute; `--no-execute` stops
/// after prepare and writes nothing) or directly (secrets first, no prompt). Nothing is
/// written before the user confirms; a declined change set is deleted. With `keeper`, a
/// change set that replaces the node's instance keeps its data volume ([`replace`]).
pub async fn deploy_stack_with(
    engine: &Engine<'_>,
    prompt: &dyn Prompt,
    stack: &StackSpec,
    options: &DeployOptions,
    secrets: Option<&SecretWriter>,
    keeper: Option<&Keeper<'_>>,
) -> Result<DeployResult> {
    let existing = engine.settle(stack, options.method).await?;
    let pending = match secrets {
        Some(writer) if !options.no_execute => writer.pending(stack).await?,
        _ => Vec::new(),
    };
    for (secret, _) in pending.iter().filter(|(_, what)| !what.writes()) {
        engine.observer.note(&secret.describe(&Stored::Unchanged));
        for line in secret.content.public_lines(&secret.node, None) {
            engine.observer.note(&line);
        }
    }
    let writes = pending.iter().any(|(_, what)| what.writes());
    let uploads = match secrets {
        Some(writer) if !options.no_execute => writer.missing_uploads(engine, stack).await?,
        _ => Vec::new(),
    };
    if options.method == Method::Direct {
        if let Some(writer) = secrets {
            writer.write(&pending, engine.observer).await?;
            writer.upload(&uploads, engine.observer).await?;
        }
        return engine.deploy_direct(stack, existing).await;
    }
    let question = |what: &str| {
        format!(
            "{what} on stack `{}` in account {}, region {}?",
            stack.name, options.account, engine.region
        )
    };
    let change_set = match engine.prepare(stack, existing, &options.account).await? {
        Prepared::NoChanges(info) if !writes => return Ok(DeployResult::NoChanges(info)),
        Prepared::NoChanges(info) => {
            let lines = pending_lines(&pending);
            engine.observer.note(&format!(
                "the stack has no changes, but its secret does:\n  {}",
                lines.join("\n  ")
            ));
            if !options.yes && !prompt.confirm(&question("Store the changed secret"), "--yes")? {
                return Err(Error::Aborted(format!(
                    "stack `{}` and its secret were not changed",
                    stack.name
                )));
            }
            if let Some(writer) = secrets {
                writer.write(&pending, engine.observer).await?;
            }
            return Ok(DeployResult::NoChanges(info));
        }
        Prepared::Ready(change_set) => change_set,
    };
    let mut replacements = Vec::new();
    if let Some(keeper) = keeper.filter(|_| !change_set.creating) {
        for line in replace::in_place_notes(&change_set.rows, &stack.name) {
            engine.observer.note(&line);
        }
        for row in replace::replaced_instances(&change_set.rows) {
            match replace::plan(engine, keeper.ec2, &stack.name, row).await {
                Ok(Some(found)) => {
                    for line in replace::preview(&found, keeper.holds) {
                        engine.observer.note(&line);
                    }
                    replacements.push(found);
                }
                Ok(None) => engine.observer.warn(&format!(
                    "instance `{}` of stack `{}` is replaced; it has no EBS data volume, so \
                     what its own disks hold (root volume, instance store) is lost",
                    row.logical_id, stack.name
                )),
                Err(err) => {
                    engine.discard(&change_set).await;
                    return Err(err);
                }
            }
        }
    }
    if options.no_execute {
        engine.observer.note(&format!(
            "change set left for review, not executed; execute it with `aws cloudformation \
             execute-change-set --change-set-name {}`",
            change_set.id
        ));
        return Ok(DeployResult::ChangeSetCreated(change_set));
    }
    for line in pending_lines(&pending) {
        engine.observer.note(&format!("  {line}"));
    }
    for (artifact, bucket) in &uploads {
        engine.observer.note(&format!(
            "  and upload {} to s3://{bucket}/{}",
            artifact.what, artifact.key
        ));
    }
    if !options.yes {
        match prompt.confirm(&question("Execute these changes"), "--yes") {
            Ok(true) => {}
            Ok(false) => {
                engine.discard(&change_set).await;
                let secret = if writes { " and its secret" } else { "" };
                return Err(Error::Aborted(format!(
                    "stack `{}`{secret} {} not changed; the change set was deleted",
                    stack.name,
                    if writes { "were" } else { "was" }
                )));
            }
            Err(err) => {
                engine.discard(&change_set).await;
                return Err(err);
            }
        }
    }
    if let Some(writer) = secrets {
        let written = match writer.write(&pending, engine.observer).await {
            Ok(()) => writer.upload(&uploads, engine.observer).await,
            Err(err) => Err(err),
        };
        if let Err(err) = written {
            engine.discard(&change_set).await;
            return Err(err);
        }
    }
    let Some(keeper) = keeper.filter(|_| !replacements.is_empty()) else {
        return engine.execute(stack, &change_set).await;
    };
    let mut snapshots = Vec::new();
    for replacement in &replacements {
        match replace::prepare(engine, keeper.ec2, replacement).await {
            Ok(snapshot) => snapshots.push(snapshot),
            Err(err) => {
                engine.discard(&change_set).await;
                return Err(err);
            }
        }
    }
    let result = engine.execute(stack, &change_set).await;
    if let Err(Error::Interrupted { .. } | Error::Timeout { .. }) = &result {
        // The operation goes on in CloudFormation: putting the volume back now would race it.
        for replacement in &replacements {
            engine.observer.warn(&format!(
                "instance {} is stopped and data volume {} detached while the update goes on; \
                 run the same command again once it ends: it moves the volume or gives it \
                 back",
                replacement.instance_id, replacement.volume_id
            ));
        }
        return result;
    }
    for (replacement, snapshot) in replacements.iter().zip(&snapshots) {
        if let Err(err) = replace::finish(engine, keeper.ec2, replacement, snapshot).await {
            // The deploy's own error, if any, says more; this one is said beside it.
            if result.is_err() {
                engine.observer.warn(&err.to_string());
            } else {
                return Err(err);
            }
        }
    }
    result
}
