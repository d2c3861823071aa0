//! The Dynabench blueprint (issue 14): the runbook's task resources, model API and build and
//! evaluation server as three stacks.
//!
//! Offline: the plan (stack names, the content-addressed Lambda package, user data within
//! EC2's limit), the refusals of the configuration, and canaries for both secrets that never
//! reach a template, a parameter or an output. The server's user data is tested by its own
//! Python suite (`templates/dynabench/tests`: the secret file, the generated config files
//! imported by Python, the fixes of the upstream code, shellcheck), run here.
//!
//! On LocalStack, which builds queues with cross-account policies, buckets with encryption,
//! public access blocks and policies, and the SageMaker role faithfully: the `task` stack. The
//! `api` stack cannot be created there: LocalStack's Lambda needs Docker and downloads its
//! runtime (`aws-lambda-rie` from GitHub, the runtime image from public ECR) when the first
//! function is created (`localstack/services/lambda_/invocation/docker_runtime_executor.py`,
//! `prepare_version`), none of which is a package registry; the test shows what nodectl does
//! before CloudFormation (the package uploaded, the endpoint secret stored) and that the stack
//! then fails on the functions. moto would create the functions but ignores the REST API's
//! OpenAPI body, so its Deployment never completes. The `server` stack then deploys on
//! LocalStack over a stand-in `api` stack that has the one output it reads (`GatewayUrl`);
//! LocalStack runs no user data, so what the server runs is the Python suite's to show.
//! `health` and `restart` reach the server through our SSM double (stub systemctl).

use std::process::Command;

use crate::support::ssm::{Recorded, SsmDouble};
use crate::support::{repo, runtime, venv_program, Emulator, Workspace};

/// nodectl's Dynabench sample for `account` in `region`.
fn sample(account: &str, region: &str) -> String {
    std::fs::read_to_string(repo().join("sample-configs/dynabench.env"))
        .unwrap()
        .replace(
            "AWS_ACCOUNT_ID=\"123456789012\"",
            &format!("AWS_ACCOUNT_ID=\"{account}\""),
        )
        .replace(
            "AWS_REGION=\"us-west-1\"",
            &format!("AWS_REGION=\"{region}\""),
        )
}

const DECEN_CANARY: &str = "decen-canary-7Q2fWx9Lp4";
const ENDPOINT_CANARY: &str = "endpoint-canary-Z8mK3vR1";

#[test]
fn the_plan_has_three_stacks_and_a_content_addressed_lambda_package() {
    let workspace = Workspace::new(&sample("123456789012", "us-west-1"));
    let out = workspace.run_with(
        &["render", "all"],
        &[
            ("DYNABENCH_DECEN_EAAS_SECRET", DECEN_CANARY),
            ("DYNABENCH_ENDPOINT_SECRET", ENDPOINT_CANARY),
        ],
    );
    out.success();
    assert_eq!(out.stderr, "");
    for canary in [DECEN_CANARY, ENDPOINT_CANARY] {
        assert!(!out.stdout.contains(canary));
    }
    let all: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        [
            "dynabench-my-task-task",
            "dynabench-my-task-api",
            "dynabench-my-task-server"
        ]
    );
    let default =
        |stack: &str, parameter: &str| all[stack]["Parameters"][parameter]["Default"].clone();
    let key = default("dynabench-my-task-api", "CodeKey");
    let key = key.as_str().unwrap();
    assert!(
        key.starts_with("lambda/") && key.ends_with(".zip") && key.len() == 7 + 64 + 4,
        "{key}"
    );
    // The REST API's deployment is named by a hash of its body and settings, so that a changed
    // origin creates a new deployment (the stage follows).
    let resources = all["dynabench-my-task-api"]["Resources"]
        .as_object()
        .unwrap();
    let deployment = resources
        .keys()
        .find(|key| key.starts_with("Deployment"))
        .unwrap()
        .clone();
    assert_eq!(deployment.len(), "Deployment".len() + 8, "{deployment}");
    assert_eq!(
        resources["Stage"]["Properties"]["DeploymentId"]["Ref"],
        deployment.as_str()
    );
    let out = workspace.run_with(
        &["render", "api"],
        &[("DYNABENCH_ALLOWED_ORIGIN", "https://example.org")],
    );
    out.success();
    let other: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(other["Resources"][&deployment].is_null());
    // Filled at deploy time from the task and api stacks' outputs.
    assert!(default("dynabench-my-task-api", "CodeBucket").is_null());
    assert!(default("dynabench-my-task-server", "GatewayUrl").is_null());
    assert!(default("dynabench-my-task-server", "ImageId").is_null());
    assert_eq!(
        default("dynabench-my-task-task", "DynabenchAccountId"),
        "111111111111"
    );
    assert_eq!(default("dynabench-my-task-server", "SagemakerRegion"), "");
    // A task code with `_` and capitals: the stack names stay valid, the code itself is kept.
    let out = workspace.run_with(
        &["render", "task"],
        &[("DYNABENCH_TASK_CODE", "Flores_Small1")],
    );
    out.success();
    let task: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(task["Parameters"]["TaskCode"]["Default"], "Flores_Small1");
    let out = workspace.run_with(&["outputs", "--help"], &[]);
    out.success();
}

/// Each mistake of a task owner's configuration, with its message, before any request.
#[test]
fn dynabench_mistakes_are_refused_with_their_reason() {
    let workspace = Workspace::new(&sample("123456789012", "us-west-1"));
    let out = workspace.run_with(&["render"], &[("DYNABENCH_ACCOUNT_ID", "WIP")]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: DYNABENCH_ACCOUNT_ID (from process environment): `WIP` is the runbook's \
         placeholder, not an account id\n\
         hint: ask the Dynabench admins for the production account id that sends to the task \
         owner's queues (12 digits)\n"
    );
    let out = workspace.run_with(
        &["render"],
        &[
            ("DYNABENCH_TASK_CODE", "nli/tasks"),
            ("DYNABENCH_CODE_COMMIT", "main"),
        ],
    );
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: DYNABENCH_TASK_CODE (from process environment): `nli/tasks` is not a task code\n\
         hint: use the last path segment of the task's page on dynabench.org, e.g. `nli` for \
         https://dynabench.org/tasks/nli (letters, digits, `_`, `-`; at most 64)\n\n\
         error: DYNABENCH_CODE_COMMIT (from process environment): `main` is not a 40-digit \
         commit id\n\
         hint: pin the code to a commit (`git rev-parse HEAD` in a checkout), e.g. \
         e1394ce39d3dc8924fd9b65661dfeddc1b7357a0: a branch or tag could change under a running \
         server\n"
    );
    // Required keys left empty; values of the wrong shape.
    let out = workspace.run_with(
        &["render"],
        &[("DYNABENCH_TASK_CODE", ""), ("DYNABENCH_ACCOUNT_ID", "")],
    );
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: DYNABENCH_TASK_CODE is not set: the stacks and the servers are for one task\n\
         hint: set it to the last path segment of the task's page on dynabench.org, e.g. \
         DYNABENCH_TASK_CODE=\"nli\"\n\n\
         error: DYNABENCH_ACCOUNT_ID is not set: the queues' policies let that account send the \
         task's messages\n\
         hint: ask the Dynabench admins for the production account id (12 digits)\n"
    );
    for (key, value, message) in [
        (
            "DYNABENCH_BUILD_QUEUE",
            "dev.build",
            "`dev.build` is not an SQS queue name\n\
             hint: use 1 to 80 letters, digits, `_` or `-`, e.g. `dev-build`\n",
        ),
        (
            "DYNABENCH_ALLOWED_ORIGIN",
            "https://dynabench.org/",
            "`https://dynabench.org/` is not a web origin\n\
             hint: use scheme://host[:port] with no path, e.g. `https://dynabench.org`\n",
        ),
        (
            "DYNABENCH_API_URL",
            "http://api.dynabench.org",
            "`http://api.dynabench.org` is not an https:// URL\n\
             hint: use https://host[/path], without query or credentials\n",
        ),
        (
            "DYNABENCH_INSTANCE_TYPE",
            "m7g.2xlarge",
            "m7g.2xlarge is an AWS Graviton (arm64) instance type; the model build images are \
             x86_64 only\n\
             hint: use an x86_64 type such as t3.2xlarge\n",
        ),
    ] {
        let out = workspace.run_with(&["render"], &[(key, value)]);
        out.expect_code(1);
        assert_eq!(
            out.stderr,
            format!("error: {key} (from process environment): {message}")
        );
    }
    // The line appended after the sample's.
    let appended = sample("123456789012", "us-west-1").lines().count() + 1;
    workspace.write_env(&format!(
        "{}DYNABENCH_DECEN_EAAS_SECRET=\"in-the-file\"\n",
        sample("123456789012", "us-west-1")
    ));
    let out = workspace.run(&["render"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        format!(
            "error: .env:{appended}: DYNABENCH_DECEN_EAAS_SECRET: is read from the environment \
             or stdin, not from the .env file, which is easily shared or committed (value \
             hidden)\n\
             hint: remove the line; export DYNABENCH_DECEN_EAAS_SECRET, or pipe it in with \
             `nodectl deploy --secret-stdin DYNABENCH_DECEN_EAAS_SECRET --yes`\n"
        )
    );
    workspace.write_env(&format!(
        "{}NODECTL_NODES=\"a,b\"\n",
        sample("123456789012", "us-west-1")
    ));
    let out = workspace.run(&["render"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        format!(
            "error: .env:{appended}: NODECTL_NODES: names a fleet, and a dynabench plan has one \
             node\n\
             hint: remove NODECTL_NODES; deploy another .env file for another one\n"
        )
    );
}

/// The server's user data, by its own suite (stdlib Python, bash, jq, shellcheck): the secret
/// written to a 0600 file and never on a command line, the generated `build_config.py`,
/// `eval_config.py` and `api/common/config.py` imported by Python with exactly the expected
/// keys (no access keys; `model_s3_bucket` and `sagemaker_region` present), each fix of the
/// upstream code applied or failing loudly, the script shellcheck-clean and within 16 KB.
#[test]
#[ignore = "full suite: needs .venv/dynabench-lambda and shellcheck (scripts/test installs them)"]
fn the_server_user_data_passes_its_tests() {
    let report = crate::dynabench_lambda::python_suite(
        "templates/dynabench/tests",
        "templates/dynabench/tests",
        40,
    );
    assert!(!report.contains("shellcheck is not installed"), "{report}");
}

/// The three stacks on LocalStack (see the module documentation for what it cannot show).
#[test]
#[ignore = "full suite: needs LocalStack (scripts/test installs it)"]
fn the_task_deploys_its_secrets_stay_in_secrets_manager_and_the_server_follows() {
    let emulator = Emulator::localstack();
    // SSM through the double, which runs the day-2 commands' scripts in a sandbox with stub
    // systemctl and journalctl (the services active) and passes the AMI lookup on.
    let double = SsmDouble::start(Recorded::Allora, &emulator);
    let mut workspace = Workspace::new(&sample(emulator.account, "us-east-1"))
        .with_emulator(&emulator)
        .with_ssm(&double);
    workspace.set("DYNABENCH_DECEN_EAAS_SECRET", DECEN_CANARY);
    workspace.set("DYNABENCH_ENDPOINT_SECRET", ENDPOINT_CANARY);
    let rt = runtime();
    let sdk = rt.block_on(emulator.sdk());
    let mut seen = String::new();

    // The task: queues with the Dynabench account's policy, hardened buckets, SageMaker role.
    let out = workspace.run(&["deploy", "task", "--yes", "--outputs-file", "out.json"]);
    out.success();
    seen.push_str(&out.stdout);
    seen.push_str(&out.stderr);
    let outputs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(workspace.path("out.json")).unwrap())
            .unwrap();
    let task = &outputs["dynabench-my-task-task"];
    assert_eq!(task["BuildQueueName"], "dev-build");
    assert_eq!(task["TaskOwnerAccountId"], emulator.account);
    assert!(
        out.stderr.contains("  2. Build queues: dev-build\n")
            && out.stderr.contains(&format!(
                "  4. Task Owner AWS Account ID: {}\n",
                emulator.account
            )),
        "{}",
        out.stderr
    );
    // SQS through the AWS CLI that comes with LocalStack (nodectl never calls SQS).
    let policy = Command::new(venv_program("localstack", "aws"))
        .args(["sqs", "get-queue-attributes", "--attribute-names", "Policy"])
        .args(["--queue-url", task["BuildQueueUrl"].as_str().unwrap()])
        .args([
            "--endpoint-url",
            &emulator.endpoint,
            "--region",
            "us-east-1",
        ])
        .args(["--query", "Attributes.Policy", "--output", "text"])
        .env("AWS_ACCESS_KEY_ID", emulator.access_key)
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .expect("run aws sqs");
    let policy = String::from_utf8_lossy(&policy.stdout).to_string();
    assert!(
        policy.contains("arn:aws:iam::111111111111:root"),
        "{policy}"
    );
    assert!(
        policy.contains("sqs:SendMessage") && !policy.contains("SQS:*"),
        "{policy}"
    );
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let artifacts = task["ArtifactBucketName"].as_str().unwrap().to_string();
    let block = rt
        .block_on(s3.get_public_access_block().bucket(&artifacts).send())
        .unwrap();
    assert_eq!(
        block
            .public_access_block_configuration()
            .and_then(|c| c.restrict_public_buckets()),
        Some(true)
    );

    // Without its secret, nothing of the api is created: asked for before any change.
    let out = workspace.run_with(
        &["deploy", "api", "--yes"],
        &[("DYNABENCH_ENDPOINT_SECRET", "")],
    );
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "error: DYNABENCH_ENDPOINT_SECRET is not set, and no value is stored yet\n\
         hint: ask the Dynabench admins for the model endpoint secret; give it through the \
         environment (`export DYNABENCH_ENDPOINT_SECRET`) or `nodectl deploy --secret-stdin \
         DYNABENCH_ENDPOINT_SECRET --yes`, never in the .env file\n"
    );

    // The api: the package uploaded and the endpoint secret stored, then LocalStack fails on
    // the Lambda functions.
    let out = workspace.run(&["deploy", "api", "--yes"]);
    seen.push_str(&out.stdout);
    seen.push_str(&out.stderr);
    assert_ne!(
        out.code, 0,
        "LocalStack created Lambda functions offline?\n{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("uploaded the Lambda functions' code to s3://"),
        "{}",
        out.stderr
    );
    let objects = rt
        .block_on(s3.list_objects_v2().bucket(&artifacts).send())
        .unwrap();
    let keys: Vec<&str> = objects.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("lambda/") && keys[0].ends_with(".zip"));
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let stored = rt
        .block_on(
            secrets
                .get_secret_value()
                .secret_id("dynabench-my-task-api/endpoint-secret")
                .send(),
        )
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
    assert_eq!(
        stored["dynabench-my-task-api"]["endpointSecret"],
        ENDPOINT_CANARY
    );
    // LocalStack's delete of a stack whose functions failed reports DELETE_FAILED on the way
    // (a leaked function: emulators-next.md, "LocalStack delete after the Lambda failure"),
    // which nodectl takes at its word; LocalStack then finishes the delete by itself.
    let out = workspace.run(&["destroy", "api", "--yes"]);
    assert!(out.code == 0 || out.code == 4, "{}", out.stderr);
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    let gone = |stack: &str| {
        rt.block_on(cfn.describe_stacks().stack_name(stack).send())
            .map(|d| d.stacks()[0].stack_status().map(|s| s.as_str()) == Some("DELETE_COMPLETE"))
            .unwrap_or(true)
    };
    for _ in 0..300 {
        if gone("dynabench-my-task-api") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(gone("dynabench-my-task-api"));

    // A stand-in api stack without outputs: the server needs its GatewayUrl, and says so
    // before anything of it is created.
    rt.block_on(
        cfn.create_stack()
            .stack_name("dynabench-my-task-api")
            .template_body(r#"{"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}"#)
            .send(),
    )
    .unwrap();
    let settled = |stack: &str, status: &str| {
        for _ in 0..100 {
            let found = rt
                .block_on(cfn.describe_stacks().stack_name(stack).send())
                .unwrap();
            if found.stacks()[0].stack_status().map(|s| s.as_str()) == Some(status) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("{stack} never {status}");
    };
    settled("dynabench-my-task-api", "CREATE_COMPLETE");
    let out = workspace.run(&["deploy", "server", "--yes"]);
    out.expect_code(1);
    assert!(
        out.stderr.ends_with(
            "error: stack `dynabench-my-task-server` needs the output GatewayUrl of stack \
             `dynabench-my-task-api`, which does not have it in `us-east-1`\n\
             hint: deploy `dynabench-my-task-api` first (`nodectl deploy all` deploys both in \
             order)\n"
        ),
        "{}",
        out.stderr
    );
    assert!(gone("dynabench-my-task-server"));

    // The stand-in with the one output the server reads (not an execute-api host name, which
    // LocalStack rewrites in outputs).
    rt.block_on(
        cfn.update_stack()
            .stack_name("dynabench-my-task-api")
            .template_body(
                r#"{"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                    "Outputs": {"GatewayUrl": {"Value": "https://models.example.org/predict"}}}"#,
            )
            .send(),
    )
    .unwrap();
    settled("dynabench-my-task-api", "UPDATE_COMPLETE");

    let out = workspace.run(&["deploy", "server", "--yes", "--outputs-file", "out.json"]);
    out.success();
    seen.push_str(&out.stdout);
    seen.push_str(&out.stderr);
    let stored = rt
        .block_on(
            secrets
                .get_secret_value()
                .secret_id("dynabench-my-task-server/node-secret")
                .send(),
        )
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
    assert_eq!(
        stored["dynabench-my-task-server"]["decen_eaas_secret"],
        DECEN_CANARY
    );
    let parameters = rt
        .block_on(
            cfn.describe_stacks()
                .stack_name("dynabench-my-task-server")
                .send(),
        )
        .unwrap();
    let parameters = parameters.stacks()[0].parameters();
    let value = |key: &str| {
        parameters
            .iter()
            .find(|p| p.parameter_key() == Some(key))
            .and_then(|p| p.parameter_value())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(value("GatewayUrl"), "https://models.example.org/predict");
    assert_eq!(
        value("ModelBucketName"),
        task["ModelBucketName"].as_str().unwrap()
    );
    for parameter in parameters {
        seen.push_str(parameter.parameter_value().unwrap_or_default());
    }
    for stack in ["dynabench-my-task-task", "dynabench-my-task-server"] {
        let template = rt
            .block_on(cfn.get_template().stack_name(stack).send())
            .unwrap();
        seen.push_str(template.template_body().unwrap_or_default());
    }
    // The server is the plan's node: health reads both services.
    let out = workspace.run(&["health"]);
    out.success();
    for expected in [
        "dynabench-my-task-server: ok\n",
        "  ssm-agent  ok        online\n",
        "  service    ok        dynabench-builder.service active\n",
        "  evaluator  ok        dynabench-evaluator.service active\n",
    ] {
        assert!(out.stdout.contains(expected), "{expected}\n{}", out.stdout);
    }
    let out = workspace.run(&["restart", "--node", "server"]);
    out.success();
    assert!(
        double
            .file("state/calls")
            .contains("systemctl restart dynabench-builder.service"),
        "{}",
        double.file("state/calls")
    );

    let out = workspace.run(&["outputs", "--output", "json"]);
    out.success();
    seen.push_str(&out.stdout);
    seen.push_str(&out.stderr);
    for canary in [DECEN_CANARY, ENDPOINT_CANARY] {
        assert!(!seen.contains(canary), "{canary} leaked");
    }

    let out = workspace.run(&["destroy", "all", "--yes"]);
    out.success();
    for stack in [
        "dynabench-my-task-server",
        "dynabench-my-task-api",
        "dynabench-my-task-task",
    ] {
        assert!(gone(stack), "{stack}");
    }
}
