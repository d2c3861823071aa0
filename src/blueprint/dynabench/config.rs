//! The keys of the Dynabench blueprint and their validation: the task, the Dynabench account,
//! the queues and evaluation settings, the server, the code to run, the API's origin, and the
//! two secrets (never from the `.env` file).

use super::super::keys::{self, key, secret, KeySpec};
use super::super::validate::{self, InstanceType};
use super::super::Reader;
use crate::error::{Result, Source};
use crate::plan::AccountSetting;
use crate::secrets::SecretValue;
use crate::settings::Settings;

/// The seed's placeholder for the Dynabench account id ("WIP", `api/evaluation/instructions.md`).
const ACCOUNT_PLACEHOLDER: &str = "WIP";

/// The keys of the blueprint besides the shared key sets, with their defaults.
/// `sample-configs/dynabench.env` documents each of them (a test checks that).
pub(super) const OWN_KEYS: &[KeySpec] = &[
    key(
        "DYNABENCH_TASK_CODE",
        None,
        "the task code: the last path segment of the task's page on dynabench.org",
    )
    .max(64, "a task code"),
    key(
        "DYNABENCH_ACCOUNT_ID",
        None,
        "the Dynabench production AWS account id (12 digits), from the Dynabench admins",
    )
    .max(12, "an AWS account id"),
    key(
        "DYNABENCH_API_URL",
        Some("https://api.dynabench.org"),
        "the Dynabench API the servers report to",
    ),
    key(
        "DYNABENCH_BUILD_QUEUE",
        Some("dev-build"),
        "build queue name",
    ),
    key(
        "DYNABENCH_EVAL_QUEUE",
        Some("dev-eval"),
        "evaluation queue name",
    ),
    key(
        "DYNABENCH_MAX_SUBMISSION",
        Some("20"),
        "concurrent SageMaker batch transform jobs",
    ),
    key(
        "DYNABENCH_EVAL_SERVER_ID",
        Some("default"),
        "the task's eval_server_id",
    ),
    key(
        "DYNABENCH_COMPUTE_METRIC_PROCESSES",
        Some("1"),
        "metric processes of the evaluation server",
    ),
    key(
        "DYNABENCH_INSTANCE_TYPE",
        Some(DEFAULT_INSTANCE_TYPE),
        "EC2 instance type of the server",
    ),
    key("DYNABENCH_DISK_GIB", Some("128"), "GiB, the server's disk"),
    key(
        "DYNABENCH_SAGEMAKER_REGION",
        None,
        "region of the SageMaker endpoints; default: AWS_REGION",
    )
    .max(32, "a region code"),
    key(
        "DYNABENCH_CODE_REPOSITORY",
        Some("https://github.com/mlcommons/dynabench.git"),
        "git repository of the servers' code (https)",
    ),
    key(
        "DYNABENCH_CODE_COMMIT",
        Some(DEFAULT_COMMIT),
        "the commit of it to run (40 hex digits)",
    ),
    key(
        "DYNABENCH_ALLOWED_ORIGIN",
        Some("https://dynabench.org"),
        "the web origin the model API answers (CORS)",
    ),
    key(
        "DYNABENCH_APIGATEWAY_CLOUDWATCH_ROLE",
        Some("create"),
        "create, or existing: the region's API Gateway CloudWatch Logs role",
    ),
];

/// The server's default instance type: 8 vCPU and 32 GiB as the seed's t2.2xlarge, of the
/// current burstable generation (t2 is previous-generation); `nodectl cost` prices it.
pub(super) const DEFAULT_INSTANCE_TYPE: &str = "t3.2xlarge";

/// The default code: mlcommons/dynabench at the commit nodectl's fixes were written against
/// (`../shared/reference/upstream-2026.md` section 4; the decentralized servers unchanged
/// since 2023-07-07).
pub(super) const DEFAULT_COMMIT: &str = "e1394ce39d3dc8924fd9b65661dfeddc1b7357a0";

/// The two secrets: from the environment or `--secret-stdin`, never the `.env` file.
pub(super) const SECRET_KEYS: &[KeySpec] = &[
    secret(
        "DYNABENCH_DECEN_EAAS_SECRET",
        "the task's decen_eaas_secret, from its settings page on dynabench.org",
    ),
    secret(
        "DYNABENCH_ENDPOINT_SECRET",
        "the model endpoint secret, from the Dynabench admins",
    ),
];

/// Every key the blueprint reads, in the order `sample-configs/dynabench.env` documents them.
pub(super) fn all_keys() -> Vec<&'static KeySpec> {
    keys::compose(&[
        keys::BLUEPRINT,
        keys::ACCOUNT_REGION,
        OWN_KEYS,
        keys::STACK_TAGS,
        SECRET_KEYS,
    ])
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub(super) struct DynabenchConfig {
    pub(super) account: AccountSetting,
    pub(super) region: String,
    pub(super) task_code: String,
    pub(super) dynabench_account: String,
    pub(super) api_url: String,
    pub(super) build_queue: String,
    pub(super) eval_queue: String,
    pub(super) max_submission: i64,
    pub(super) eval_server_id: String,
    pub(super) compute_metric_processes: i64,
    pub(super) instance_type: InstanceType,
    pub(super) disk_gib: i64,
    pub(super) sagemaker_region: String,
    pub(super) code_repository: String,
    pub(super) code_commit: String,
    pub(super) allowed_origin: String,
    pub(super) apigateway_role: String,
    pub(super) decen_secret: Option<SecretValue>,
    pub(super) endpoint_secret: Option<SecretValue>,
}

impl DynabenchConfig {
    /// `dynabench-<task code, lowercase, `_` as `-`>-<id>`: a stack name.
    pub(super) fn stack(&self, id: &str) -> String {
        format!(
            "dynabench-{}-{id}",
            self.task_code.to_ascii_lowercase().replace('_', "-")
        )
    }
}

/// A task code: 1 to 64 letters, digits, `_` or `-` (a path segment of a dynabench.org task
/// URL, and part of the stack names).
fn task_code(value: &str) -> std::result::Result<String, validate::Problem> {
    let ok = (1..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        Ok(value.to_string())
    } else {
        Err((
            format!("`{value}` is not a task code"),
            "use the last path segment of the task's page on dynabench.org, e.g. `nli` for \
             https://dynabench.org/tasks/nli (letters, digits, `_`, `-`; at most 64)"
                .into(),
        ))
    }
}

/// The Dynabench account id: 12 digits, not the seed's "WIP".
fn dynabench_account(value: &str) -> std::result::Result<String, validate::Problem> {
    if value.eq_ignore_ascii_case(ACCOUNT_PLACEHOLDER) {
        return Err((
            "`WIP` is the runbook's placeholder, not an account id".into(),
            "ask the Dynabench admins for the production account id that sends to the task \
             owner's queues (12 digits)"
                .into(),
        ));
    }
    if value.len() == 12 && value.chars().all(|c| c.is_ascii_digit()) {
        Ok(value.to_string())
    } else {
        Err((
            format!("`{value}` is not a 12-digit AWS account id"),
            "ask the Dynabench admins for the production account id (12 digits)".into(),
        ))
    }
}

/// An SQS queue name: 1 to 80 letters, digits, `_` or `-` (Amazon SQS API Reference,
/// CreateQueue, `QueueName`; standard queues).
fn queue_name(value: &str) -> std::result::Result<String, validate::Problem> {
    if (1..=80).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Ok(value.to_string())
    } else {
        Err((
            format!("`{value}` is not an SQS queue name"),
            "use 1 to 80 letters, digits, `_` or `-`, e.g. `dev-build`".into(),
        ))
    }
}

/// An `https://host[:port][/path]` URL without query or credentials.
fn https_url(value: &str) -> std::result::Result<String, validate::Problem> {
    match url::Url::parse(value) {
        Ok(url)
            if url.scheme() == "https"
                && url.host_str().is_some()
                && url.query().is_none()
                && url.username().is_empty()
                && url.password().is_none() =>
        {
            Ok(value.trim_end_matches('/').to_string())
        }
        _ => Err((
            format!("`{value}` is not an https:// URL"),
            "use https://host[/path], without query or credentials".into(),
        )),
    }
}

/// A web origin: `https://host[:port]` (or `http://` for a local test page).
fn origin(value: &str) -> std::result::Result<String, validate::Problem> {
    match url::Url::parse(value) {
        Ok(url)
            if matches!(url.scheme(), "https" | "http")
                && url.host_str().is_some()
                && url.path() == "/"
                && !value.ends_with('/')
                && url.query().is_none() =>
        {
            Ok(value.to_string())
        }
        _ => Err((
            format!("`{value}` is not a web origin"),
            "use scheme://host[:port] with no path, e.g. `https://dynabench.org`".into(),
        )),
    }
}

/// A git commit id: 40 lowercase hex digits (a branch or tag would move under the server).
fn commit(value: &str) -> std::result::Result<String, validate::Problem> {
    if value.len() == 40 && value.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err((
            format!("`{value}` is not a 40-digit commit id"),
            format!(
                "pin the code to a commit (`git rev-parse HEAD` in a checkout), e.g. \
                 {DEFAULT_COMMIT}: a branch or tag could change under a running server"
            ),
        ))
    }
}

/// Reads a secret key: from the environment or stdin (never the `.env` file), one line.
fn read_secret(r: &mut Reader, key: &str) -> Option<Option<SecretValue>> {
    let Some(setting) = r.setting(key).filter(|s| !s.value.is_empty()) else {
        return Some(None);
    };
    if matches!(setting.source, Source::EnvFile { .. }) {
        r.issue(
            key,
            &setting.source,
            "is read from the environment or stdin, not from the .env file, which is easily \
             shared or committed (value hidden)"
                .into(),
            format!(
                "remove the line; export {key}, or pipe it in with `nodectl deploy \
                 --secret-stdin {key} --yes`"
            ),
        );
        return None;
    }
    Some(Some(SecretValue::new(setting.value)))
}

/// Reads and validates every key; returns the configuration and warnings, or every problem
/// found as one [`Error::Config`]. Makes no AWS request.
pub(super) fn read(settings: &Settings) -> Result<(DynabenchConfig, Vec<String>)> {
    let mut r = Reader::new(settings, all_keys());
    r.warn_unknown_keys();
    let account = r.account();
    let region = r.region();
    let task_code = match r.setting("DYNABENCH_TASK_CODE") {
        Some(s) if !s.value.is_empty() => r.checked("DYNABENCH_TASK_CODE", task_code),
        _ => {
            r.missing(
                "DYNABENCH_TASK_CODE is not set: the stacks and the servers are for one task",
                "set it to the last path segment of the task's page on dynabench.org, e.g. \
                 DYNABENCH_TASK_CODE=\"nli\"",
            );
            None
        }
    };
    let dynabench_account = match r.setting("DYNABENCH_ACCOUNT_ID") {
        Some(s) if !s.value.is_empty() => r.checked("DYNABENCH_ACCOUNT_ID", dynabench_account),
        _ => {
            r.missing(
                "DYNABENCH_ACCOUNT_ID is not set: the queues' policies let that account send the \
                 task's messages",
                "ask the Dynabench admins for the production account id (12 digits)",
            );
            None
        }
    };
    let api_url = r.checked("DYNABENCH_API_URL", https_url);
    let build_queue = r.checked("DYNABENCH_BUILD_QUEUE", queue_name);
    let eval_queue = r.checked("DYNABENCH_EVAL_QUEUE", queue_name);
    let max_submission = r.integer("DYNABENCH_MAX_SUBMISSION", 1..=1000, "");
    let eval_server_id = r.checked("DYNABENCH_EVAL_SERVER_ID", |value| {
        if (1..=64).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            Ok(value.to_string())
        } else {
            Err((
                format!("`{value}` is not an eval server id"),
                "use the task's eval_server_id (letters, digits, `_`, `.`, `-`), usually \
                 `default`"
                    .into(),
            ))
        }
    });
    let compute_metric_processes = r.integer("DYNABENCH_COMPUTE_METRIC_PROCESSES", 1..=64, "");
    let instance_type = r.checked("DYNABENCH_INSTANCE_TYPE", validate::instance_type);
    let disk_gib = r.integer("DYNABENCH_DISK_GIB", 30..=16384, " GiB");
    let sagemaker_region = match r.setting("DYNABENCH_SAGEMAKER_REGION") {
        Some(s) if !s.value.is_empty() => r.checked("DYNABENCH_SAGEMAKER_REGION", validate::region),
        // Empty: the servers use AWS_REGION (`sagemaker_region` must be present, even empty:
        // `api/evaluation/datasets/common.py`).
        _ => Some(String::new()),
    };
    let code_repository = r.checked("DYNABENCH_CODE_REPOSITORY", https_url);
    let code_commit = r.checked("DYNABENCH_CODE_COMMIT", commit);
    let allowed_origin = r.checked("DYNABENCH_ALLOWED_ORIGIN", origin);
    let apigateway_role = r.choice(
        "DYNABENCH_APIGATEWAY_CLOUDWATCH_ROLE",
        &["create", "existing"],
    );
    let decen_secret = read_secret(&mut r, "DYNABENCH_DECEN_EAAS_SECRET");
    let endpoint_secret = read_secret(&mut r, "DYNABENCH_ENDPOINT_SECRET");
    if let Some(itype) = &instance_type {
        if itype.is_graviton() {
            let source = r
                .setting("DYNABENCH_INSTANCE_TYPE")
                .map(|s| s.source)
                .unwrap_or(Source::Default);
            r.issue(
                "DYNABENCH_INSTANCE_TYPE",
                &source,
                format!(
                    "{itype} is an AWS Graviton (arm64) instance type; the model build images \
                     are x86_64 only"
                ),
                format!("use an x86_64 type such as {DEFAULT_INSTANCE_TYPE}"),
            );
        }
    }
    let warnings = r.finish()?;
    Ok((
        DynabenchConfig {
            account,
            region: region.expect("checked"),
            task_code: task_code.expect("checked"),
            dynabench_account: dynabench_account.expect("checked"),
            api_url: api_url.expect("checked"),
            build_queue: build_queue.expect("checked"),
            eval_queue: eval_queue.expect("checked"),
            max_submission: max_submission.expect("checked"),
            eval_server_id: eval_server_id.expect("checked"),
            compute_metric_processes: compute_metric_processes.expect("checked"),
            instance_type: instance_type.expect("checked"),
            disk_gib: disk_gib.expect("checked"),
            sagemaker_region: sagemaker_region.expect("checked"),
            code_repository: code_repository.expect("checked"),
            code_commit: code_commit.expect("checked"),
            allowed_origin: allowed_origin.expect("checked"),
            apigateway_role: apigateway_role.expect("checked"),
            decen_secret: decen_secret.expect("checked"),
            endpoint_secret: endpoint_secret.expect("checked"),
        },
        warnings,
    ))
}
