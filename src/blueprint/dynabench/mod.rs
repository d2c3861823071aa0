//! The Dynabench decentralized task blueprint (`sample-configs/dynabench.env`,
//! `templates/dynabench/`): the task owner's runbook of `../shared/seeds/dynabench-decentralized-task.md`
//! as three stacks.
//!
//! - `task` (`dynabench-<task>-task`): the build and evaluation SQS queues with their policies
//!   for the Dynabench production account, the model, dataset and artifact S3 buckets, and the
//!   SageMaker execution role.
//! - `api` (`dynabench-<task>-api`, after `task`): the REST API (stage `predict`) with its token
//!   authorizer, SageMaker invoker and CORS Lambda functions, whose code nodectl packages
//!   ([`package`]) and uploads to the artifact bucket; its secret
//!   `<api stack>/endpoint-secret` holds the model endpoint secret.
//! - `server` (`dynabench-<task>-server`, after both, a node stack): the build and evaluation
//!   server, an EC2 instance running both upstream servers as systemd services; its secret
//!   `<server stack>/node-secret` holds the task's `decen_eaas_secret`.
//!
//! The stack names carry the task code (lowercase, `_` as `-`): one `.env` file per task.
//! There are no fleets: one server serves one task.

mod config;
mod package;
mod probes;
mod secrets;

use std::sync::{Arc, LazyLock};

use super::keys::KeySpec;
use super::node::render_checked;
use super::Blueprint;
use crate::error::Result;
use crate::facts::Facts;
use crate::plan::{Artifact, Lookup, Plan, StackKind, StackSpec, Step};
use crate::secrets::NodeSecret;
use crate::settings::Settings;
use crate::template::render::Request;
use crate::template::TemplateFiles;
use config::{all_keys, read, DynabenchConfig};

/// The ids of the blueprint's stacks, in deploy order.
pub(super) const STACK_IDS: &[&str] = &[TASK, API, SERVER];
const TASK: &str = "task";
const API: &str = "api";
const SERVER: &str = "server";

/// The Parameter Store name of the server's AMI: the latest Amazon Linux 2023 for x86_64 (the
/// upstream build images are x86_64 only: `api/builder/dockerfiles`).
const AMI_PARAMETER: &str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

/// The Dynabench blueprint.
pub(super) struct Dynabench;

static FACTS: LazyLock<Facts> = LazyLock::new(|| Facts::parse(include_str!("facts.json")));

static FILES: TemplateFiles = TemplateFiles {
    blueprint: "dynabench",
    files: &[
        (
            "task.json",
            include_str!("../../../templates/dynabench/task.json"),
        ),
        (
            "api.json",
            include_str!("../../../templates/dynabench/api.json"),
        ),
        (
            "server.json",
            include_str!("../../../templates/dynabench/server.json"),
        ),
        (
            "user-data.sh",
            include_str!("../../../templates/dynabench/user-data.sh"),
        ),
        (
            "server-requirements.txt",
            include_str!("../../../templates/dynabench/server-requirements.txt"),
        ),
        (
            "lambda/authorizer.py",
            include_str!("../../../templates/dynabench/lambda/authorizer.py"),
        ),
        (
            "lambda/invoker.py",
            include_str!("../../../templates/dynabench/lambda/invoker.py"),
        ),
        (
            "lambda/cors.py",
            include_str!("../../../templates/dynabench/lambda/cors.py"),
        ),
    ],
};

impl Blueprint for Dynabench {
    fn name(&self) -> &'static str {
        "dynabench"
    }

    fn keys(&self) -> Vec<&'static KeySpec> {
        all_keys()
    }

    fn sample(&self) -> &'static str {
        include_str!("../../../sample-configs/dynabench.env")
    }

    fn detects(&self, key: &str) -> bool {
        key.starts_with("DYNABENCH_")
    }

    fn detected_by(&self) -> &'static str {
        "DYNABENCH_*"
    }

    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn files(&self) -> &'static TemplateFiles {
        &FILES
    }

    fn stack_ids(&self) -> &'static [&'static str] {
        STACK_IDS
    }

    fn node(&self, _: &[(String, String)]) -> Option<&'static crate::node::NodeProfile> {
        Some(&probes::SERVER)
    }

    fn fleets(&self) -> bool {
        false
    }

    fn checklist(
        &self,
        plan: &Plan,
        outputs: &serde_json::Map<String, serde_json::Value>,
    ) -> Vec<String> {
        checklist(plan, outputs)
    }

    fn plan(&self, settings: &Settings) -> Result<Plan> {
        plan(self, settings)
    }
}

/// The last section of the runbook ("navigate to your task on dynabench.org and navigate to
/// the task settings"), filled in from the task stack's outputs, and the model API's URL.
fn checklist(plan: &Plan, outputs: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let output = |id: &str, key: &str| -> Option<String> {
        let stack = plan.stack(id)?;
        outputs
            .get(&stack.name)?
            .get(key)?
            .as_str()
            .map(str::to_string)
    };
    let (Some(build), Some(eval), Some(account)) = (
        output(TASK, "BuildQueueName"),
        output(TASK, "EvalQueueName"),
        output(TASK, "TaskOwnerAccountId"),
    ) else {
        return Vec::new();
    };
    let task = plan
        .stack(TASK)
        .and_then(|stack| stack.parameters.iter().find(|(k, _)| k == "TaskCode"))
        .map(|(_, code)| code.clone())
        .unwrap_or_default();
    let mut lines = vec![
        format!("next, in the settings of task `{task}` on https://dynabench.org:"),
        "  1. check \"Is this a Decentralized Task?\"".into(),
        format!("  2. Build queues: {build}"),
        format!("  3. Eval queues: {eval}"),
        format!("  4. Task Owner AWS Account ID: {account}"),
        "  5. Save".into(),
    ];
    if let Some(url) = output(API, "GatewayUrl") {
        lines.push(format!(
            "the model API is {url} (models are called as {url}?model=<endpoint>)"
        ));
    }
    lines
}

/// Renders `file` with `parameters`. Errors: a broken template file, or a value the template's
/// own constraints refuse (a defect: nodectl's checks let it through).
fn stack(
    blueprint: &Dynabench,
    config: &DynabenchConfig,
    id: &str,
    file: &str,
    parameters: Vec<(String, String)>,
) -> Result<StackSpec> {
    let name = config.stack(id);
    let template = render_checked(
        &Request {
            files: blueprint.files(),
            file,
            parameters: &parameters,
            lists: &[],
        },
        id,
        &name,
        "a defect of the built-in template: report it",
    )?;
    let mut spec = StackSpec::new(id, &name, &config.region, template);
    spec.parameters = parameters;
    spec.tags = vec![
        ("nodectl:blueprint".into(), "dynabench".into()),
        ("nodectl:stack".into(), id.into()),
        ("dynabench:task".into(), config.task_code.clone()),
    ];
    Ok(spec)
}

/// `template` (the api stack's) with its `Deployment` renamed `Deployment<hash>`, the hash of
/// the REST API's body and the parameter values: CloudFormation deploys a REST API only when
/// its `AWS::ApiGateway::Deployment` is created, so a changed body (a new allowed origin) would
/// otherwise never reach the stage (CloudFormation User Guide, `AWS::ApiGateway::Deployment`:
/// "To update a deployment, you must create a new one"). The stage follows the new name.
fn redeploying(
    template: &crate::template::Template,
    parameters: &[(String, String)],
) -> crate::template::Template {
    use sha2::{Digest, Sha256};
    let mut value = template.value().clone();
    let body = value
        .pointer("/Resources/Api/Properties/Body")
        .map(|body| body.to_string())
        .unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(body.as_bytes());
    for (name, parameter) in parameters {
        hasher.update(format!("\n{name}={parameter}").as_bytes());
    }
    let hash: String = hasher
        .finalize()
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    let renamed = format!("Deployment{hash}");
    if let Some(resources) = value
        .get_mut("Resources")
        .and_then(serde_json::Value::as_object_mut)
    {
        let entries: Vec<(String, serde_json::Value)> =
            std::mem::take(resources).into_iter().collect();
        for (key, resource) in entries {
            let key = if key == "Deployment" {
                renamed.clone()
            } else {
                key
            };
            resources.insert(key, resource);
        }
    }
    if let Some(reference) = value.pointer_mut("/Resources/Stage/Properties/DeploymentId") {
        *reference = serde_json::json!({ "Ref": renamed });
    }
    crate::template::Template::from_value(value)
}

fn pairs(values: &[(&str, String)]) -> Vec<(String, String)> {
    values
        .iter()
        .map(|(name, value)| (name.to_string(), value.clone()))
        .collect()
}

/// Builds the plan: the three stacks with their parameters, lookups and steps.
fn plan(blueprint: &Dynabench, settings: &Settings) -> Result<Plan> {
    let (config, warnings) = read(settings)?;
    let task_name = config.stack(TASK);
    let api_name = config.stack(API);
    let server_name = config.stack(SERVER);
    let output = |parameter: &str, stack: &str, output: &str| Lookup::Output {
        parameter: parameter.into(),
        stack: stack.into(),
        output: output.into(),
    };

    let task = stack(
        blueprint,
        &config,
        TASK,
        "task.json",
        pairs(&[
            ("TaskCode", config.task_code.clone()),
            ("DynabenchAccountId", config.dynabench_account.clone()),
            ("BuildQueueName", config.build_queue.clone()),
            ("EvalQueueName", config.eval_queue.clone()),
        ]),
    )?;

    let code = package::lambda_zip(blueprint.files())?;
    let mut api = stack(
        blueprint,
        &config,
        API,
        "api.json",
        pairs(&[
            ("CodeKey", code.key.clone()),
            ("AllowedOrigin", config.allowed_origin.clone()),
            ("ApiGatewayCloudWatchRole", config.apigateway_role.clone()),
        ]),
    )?;
    api.template = redeploying(&api.template, &api.parameters);
    api.depends_on = vec![TASK.into()];
    api.lookups = vec![output("CodeBucket", &task_name, "ArtifactBucketName")];
    let endpoint_secret_id = format!("{api_name}/endpoint-secret");
    api.before_deploy = vec![
        Step::Upload(Artifact {
            bucket: (task_name.clone(), "ArtifactBucketName".into()),
            key: code.key,
            bytes: Arc::new(code.bytes),
            what: "the Lambda functions' code",
        }),
        Step::WriteSecret(NodeSecret {
            secret_id: endpoint_secret_id.clone(),
            node: api_name.clone(),
            content: Arc::new(secrets::OneSecret::endpoint(config.endpoint_secret.clone())),
            tags: api.tags.clone(),
        }),
    ];
    api.after_destroy = vec![Step::DeleteSecret {
        secret_id: endpoint_secret_id,
        contents: "the model endpoint secret",
    }];

    let mut server = stack(
        blueprint,
        &config,
        SERVER,
        "server.json",
        pairs(&[
            ("InstanceType", config.instance_type.to_string()),
            ("RootVolumeSize", config.disk_gib.to_string()),
            ("TaskCode", config.task_code.clone()),
            ("DynabenchApiUrl", config.api_url.clone()),
            ("BuildQueueName", config.build_queue.clone()),
            ("EvalQueueName", config.eval_queue.clone()),
            ("MaxSubmission", config.max_submission.to_string()),
            ("EvalServerId", config.eval_server_id.clone()),
            (
                "ComputeMetricProcesses",
                config.compute_metric_processes.to_string(),
            ),
            ("SagemakerRegion", config.sagemaker_region.clone()),
            ("CodeRepository", config.code_repository.clone()),
            ("CodeCommit", config.code_commit.clone()),
        ]),
    )?;
    server.kind = StackKind::Node;
    server.depends_on = vec![TASK.into(), API.into()];
    server.lookups = vec![
        Lookup::Ami {
            parameter: AMI_PARAMETER.into(),
        },
        output("ModelBucketName", &task_name, "ModelBucketName"),
        output("DatasetBucketName", &task_name, "DatasetBucketName"),
        output("SageMakerRoleArn", &task_name, "SageMakerRoleArn"),
        output("GatewayUrl", &api_name, "GatewayUrl"),
    ];
    let server_secret = crate::secrets::secret_name(&server_name);
    server.before_deploy = vec![Step::WriteSecret(NodeSecret {
        secret_id: server_secret.clone(),
        node: server_name.clone(),
        content: Arc::new(secrets::OneSecret::decen(config.decen_secret.clone())),
        tags: server.tags.clone(),
    })];
    server.after_destroy = vec![Step::DeleteSecret {
        secret_id: server_secret,
        contents: "the task's decen_eaas_secret",
    }];

    let notes = vec![format!(
        "`{server_name}` will build and evaluate the models of Dynabench task `{}` (code {} at \
         {}); Dynabench account {} sends to the queues `{}` and `{}`",
        config.task_code,
        config.code_repository,
        &config.code_commit[..12],
        config.dynabench_account,
        config.build_queue,
        config.eval_queue
    )];
    Ok(Plan {
        blueprint: blueprint.name(),
        facts: blueprint.facts(),
        region: config.region,
        account: config.account,
        stacks: vec![task, api, server],
        warnings,
        notes,
        secrets: super::secrets(settings),
    })
}
