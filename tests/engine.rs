//! Layer 1: the stack engine (`src/stack/`) against `aws-smithy-mocks` response sequences
//! written from the AWS CloudFormation API Reference, for what no local emulator produces:
//! throttling, failed and rolled-back states, declined prompts, timeouts, imports.
//!
//! Conventions:
//! - Every test runs on a paused tokio clock (`start_paused`), so the engine's polling sleeps,
//!   the SDK's retry backoff and `--timeout` elapse in virtual time, instantly.
//! - Errors are served as the HTTP responses CloudFormation sends (awsQuery protocol: HTTP 400
//!   with an `<ErrorResponse>` XML body), so they go through the SDK's real error parser and
//!   retry classifier, as on the wire.
//! - The mock client's retry configuration is always set explicitly (the SDK default changed
//!   with `BehaviorVersion::v2026_01_12`, from no retries to 3 attempts): `RetryConfig::disabled()`
//!   so that each mocked response is exactly one engine call, or nodectl's production retry
//!   configuration (7 attempts, backoff capped at 15 s, see `nodectl::aws::load`) where the
//!   interaction of SDK retries and engine backoff is the subject. Each client gets its own retry
//!   partition, so parallel tests never share (and drain) a retry token bucket.
//! - Each test counts the calls of its important rules (`num_calls`), so it cannot pass by
//!   taking a path that never asked CloudFormation the question it is about.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudformation::config::retry::{RetryConfig, RetryPartition};
use aws_sdk_cloudformation::operation::create_change_set::{
    CreateChangeSetInput, CreateChangeSetOutput,
};
use aws_sdk_cloudformation::operation::create_stack::CreateStackOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::list_change_sets::ListChangeSetsOutput;
use aws_sdk_cloudformation::operation::list_imports::ListImportsOutput;
use aws_sdk_cloudformation::operation::update_stack::UpdateStackOutput;
use aws_sdk_cloudformation::types::{
    Capability, Change, ChangeAction, ChangeSetStatus, ChangeSetType, ChangeType, Output,
    Replacement, ResourceChange, ResourceStatus, Stack, StackEvent, StackStatus,
};
use aws_sdk_cloudformation::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::DateTime;

use nodectl::aws::cloudformation::CloudFormation;
use nodectl::aws::poll::PollConfig;
use nodectl::error::{Error, ExitCode};
use nodectl::ops::deploy::deploy_stack;
use nodectl::plan::StackSpec;
use nodectl::printer::{Captured, OutputFormat, Printer};
use nodectl::stack::deploy::{DeployOptions, DeployResult, Method};
use nodectl::stack::destroy::{delete, imports, Import};
use nodectl::stack::{Engine, OutputValue, StackInfo};
use nodectl::template::Template;

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const STACK: &str = "allora-single-node";
const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/allora-single-node/0f3c7a10-c84b-11f0-9a4e-0affd3a1b2c3";
/// The id of the stack created anew after the old one (`STACK_ID`) was deleted.
const NEW_STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/allora-single-node/1b2d8e20-c84c-11f0-8f1d-12ab34cd56ef";
const CHANGE_SET_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/nodectl-1795342500-0a1b2c3d/6c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f";
/// 2026-11-22T10:15:00Z: event `t` seconds later is printed as `10:15:<t>`.
const T0: i64 = 1_795_342_500;
const TEMPLATE: &str = r#"{"AWSTemplateFormatVersion":"2010-09-09","Parameters":{"InstanceType":{"Type":"String","Default":"t3.medium"}},"Resources":{"Instance":{"Type":"AWS::EC2::Instance","Properties":{"InstanceType":{"Ref":"InstanceType"},"ImageId":"ami-0123456789abcdef0"}}}}"#;
/// CloudFormation's DescribeChangeSet `StatusReason` for a change set without changes.
const NO_CHANGES: &str = "The submitted information didn't contain changes. Submit different information to create a change set.";
const INSTANCE_FAILURE: &str = "Resource handler returned message: \"The requested configuration is currently not supported. Please check the documentation for supported configurations. (Service: Ec2, Status Code: 400, Request ID: 7d6a1c4e-2f3b-4a5c-9d8e-0f1a2b3c4d5e)\" (RequestToken: 3f1e2d4c-5b6a-4789-8c0d-1e2f3a4b5c6d, HandlerErrorCode: GeneralServiceException)";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The single-node stack with a one-resource template.
fn plan() -> StackSpec {
    let mut stack = StackSpec::new(
        "single-node",
        STACK,
        REGION,
        Template::parse(TEMPLATE).expect("a template"),
    );
    stack.parameters = vec![("InstanceType".into(), "t3.medium".into())];
    stack.tags = vec![("nodectl:blueprint".into(), "allora".into())];
    stack
}

fn options(method: Method, yes: bool) -> DeployOptions {
    DeployOptions {
        method,
        yes,
        no_execute: false,
        account: ACCOUNT.into(),
        termination_protection: false,
    }
}

/// nodectl's production retry configuration (`nodectl::aws::load`).
fn production_retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(nodectl::aws::DEFAULT_MAX_ATTEMPTS)
        .with_max_backoff(Duration::from_secs(15))
}

/// A mocked client serving `rules` with the given SDK retry configuration, in its own retry
/// partition (own token bucket).
fn client_with(mode: RuleMode, retry: RetryConfig, rules: &[&Rule]) -> Client {
    // Before an update, nodectl lists the stack's change sets to remove its own old ones: by
    // default there are none (a test's own ListChangeSets rule comes first and wins).
    let no_change_sets =
        mock!(Client::list_change_sets).then_output(|| ListChangeSetsOutput::builder().build());
    let rules: Vec<&Rule> = rules
        .iter()
        .copied()
        .chain((mode == RuleMode::MatchAny).then_some(&no_change_sets))
        .collect();
    mock_client!(
        aws_sdk_cloudformation,
        mode,
        rules.iter().copied(),
        move |config| config
            .retry_config(retry.clone())
            .retry_partition(RetryPartition::custom("nodectl-engine-test").build())
    )
}

/// A mocked client without SDK retries: one mocked response is one engine call.
fn client(rules: &[&Rule]) -> Client {
    client_with(RuleMode::MatchAny, RetryConfig::disabled(), rules)
}

fn engine(cfn: Client, printer: &Printer) -> Engine<'_> {
    Engine {
        cfn: CloudFormation::new(cfn),
        observer: printer,
        region: REGION.into(),
        role_arn: None,
        disable_rollback: false,
        // The CDK's intervals (2 s to 15 s): the timings these sequences were written for.
        poll: PollConfig::CDK,
        timeout: None,
    }
}

/// A printer writing to memory; `answers` as in `Printer::buffered`.
fn printer(answers: Option<&str>) -> (Printer, Captured) {
    Printer::buffered(OutputFormat::Text, answers)
}

/// An error as CloudFormation sends it (awsQuery: HTTP 400, `<ErrorResponse>` XML).
fn aws_error(code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
         <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
         <RequestId>5ccc7dcd-744c-11e5-be70-0123456789ab</RequestId></ErrorResponse>"
    );
    Response::new(
        StatusCode::try_from(400).expect("valid status"),
        SdkBody::from(body),
    )
}

/// DescribeStacks on a stack name that does not exist: `ValidationError` "Stack with id X
/// does not exist" (CloudFormation API Reference, DescribeStacks).
fn stack_not_found() -> Response {
    aws_error(
        "ValidationError",
        &format!("Stack with id {STACK} does not exist"),
    )
}

/// Throttling as CloudFormation answers it: HTTP 400, `Throttling`, "Rate exceeded"
/// (AWS API Reference, Common Errors: ThrottlingException, HTTP 400).
fn throttled() -> Response {
    aws_error("Throttling", "Rate exceeded")
}

fn stack(id: &str, status: &str) -> Stack {
    stack_with(id, status, None, &[])
}

/// A `Stack` of DescribeStacks with `outputs` as (key, value, export name).
fn stack_with(
    id: &str,
    status: &str,
    reason: Option<&str>,
    outputs: &[(&str, &str, Option<&str>)],
) -> Stack {
    Stack::builder()
        .stack_id(id)
        .stack_name(STACK)
        .stack_status(StackStatus::from(status))
        .set_stack_status_reason(reason.map(str::to_string))
        .creation_time(DateTime::from_secs(T0 - 86_400))
        .enable_termination_protection(false)
        .set_outputs(Some(
            outputs
                .iter()
                .map(|(key, value, export)| {
                    Output::builder()
                        .output_key(*key)
                        .output_value(*value)
                        .set_export_name(export.map(str::to_string))
                        .build()
                })
                .collect(),
        ))
        .build()
}

fn described(stack: Stack) -> DescribeStacksOutput {
    DescribeStacksOutput::builder().stacks(stack).build()
}

fn resource_type(logical: &str) -> &'static str {
    match logical {
        STACK => "AWS::CloudFormation::Stack",
        "Instance" => "AWS::EC2::Instance",
        "SecurityGroup" => "AWS::EC2::SecurityGroup",
        "DataVolume" => "AWS::EC2::Volume",
        other => panic!("no resource type for {other}"),
    }
}

fn physical_id(logical: &str, stack_id: &str) -> String {
    match logical {
        STACK => stack_id.to_string(),
        "Instance" => "i-0a1b2c3d4e5f67890".into(),
        "SecurityGroup" => "sg-0a1b2c3d4e5f67890".into(),
        "DataVolume" => "vol-0a1b2c3d4e5f67890".into(),
        other => panic!("no physical id for {other}"),
    }
}

/// A stack event of `STACK_ID`, `t` seconds after `T0`.
fn event(id: &str, t: i64, logical: &str, status: &str, reason: Option<&str>) -> StackEvent {
    event_of(STACK_ID, id, t, logical, status, reason)
}

fn event_of(
    stack_id: &str,
    id: &str,
    t: i64,
    logical: &str,
    status: &str,
    reason: Option<&str>,
) -> StackEvent {
    StackEvent::builder()
        .stack_id(stack_id)
        .event_id(id)
        .stack_name(STACK)
        .logical_resource_id(logical)
        .physical_resource_id(physical_id(logical, stack_id))
        .resource_type(resource_type(logical))
        .timestamp(DateTime::from_secs(T0 + t))
        .resource_status(ResourceStatus::from(status))
        .set_resource_status_reason(reason.map(str::to_string))
        .build()
}

/// DescribeStackEvents: "Returns all stack related events for a specified stack in reverse
/// chronological order" (CloudFormation API Reference). `chronological` is oldest first.
fn history(chronological: &[StackEvent]) -> DescribeStackEventsOutput {
    DescribeStackEventsOutput::builder()
        .set_stack_events(Some(chronological.iter().rev().cloned().collect()))
        .build()
}

/// The progress line nodectl prints for an event (`status::Event::line`).
fn line(t: i64, logical: &str, status: &str, reason: Option<&str>) -> String {
    let time = DateTime::from_secs(T0 + t)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .expect("valid time");
    let mut line = format!(
        "{time}  {logical:<32} {:<36} {status:<20}",
        resource_type(logical)
    );
    if let Some(reason) = reason {
        line.push(' ');
        line.push_str(reason);
    }
    line.trim_end().to_string()
}

fn resource_change(
    action: ChangeAction,
    logical: &str,
    replacement: Option<Replacement>,
) -> Change {
    Change::builder()
        .r#type(ChangeType::Resource)
        .resource_change(
            ResourceChange::builder()
                .action(action)
                .logical_resource_id(logical)
                .resource_type(resource_type(logical))
                .set_replacement(replacement)
                .build(),
        )
        .build()
}

fn change_set(status: &str, reason: Option<&str>, changes: Vec<Change>) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .change_set_id(CHANGE_SET_ID)
        .stack_id(STACK_ID)
        .stack_name(STACK)
        .status(ChangeSetStatus::from(status))
        .set_status_reason(reason.map(str::to_string))
        .set_changes(Some(changes))
        .build()
}

fn change_set_created(stack_id: &'static str) -> CreateChangeSetOutput {
    CreateChangeSetOutput::builder()
        .id(CHANGE_SET_ID)
        .stack_id(stack_id)
        .build()
}

/// A DescribeStacks rule under construction.
type DescribeStacksRule = aws_smithy_mocks::RuleBuilder<
    aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksInput,
    DescribeStacksOutput,
    aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError,
>;

/// The DescribeStacks rule for the stack name (the engine's first look).
fn by_name() -> DescribeStacksRule {
    mock!(Client::describe_stacks).match_requests(|r| r.stack_name() == Some(STACK))
}

/// The DescribeStacks rule for one stack id (every look after the first).
fn by_id(id: &'static str) -> DescribeStacksRule {
    mock!(Client::describe_stacks).match_requests(move |r| r.stack_name() == Some(id))
}

/// Runs an engine operation with a generous limit of virtual time, so that a regression that
/// never settles (the mocks below answer some calls forever) fails the test instead of hanging
/// it.
async fn settled<T>(operation: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(24 * 3600), operation)
        .await
        .expect("the engine never settled (24 h of virtual time)")
}

/// `deploy_stack` of `plan()` with `options`, asking `printer` (the engine's observer too),
/// within [`settled`].
async fn deploy_plan(
    engine: &Engine<'_>,
    printer: &Printer,
    options: DeployOptions,
) -> Result<DeployResult, Error> {
    settled(deploy_stack(engine, printer, &plan(), &options)).await
}

fn lines(captured: &Captured) -> Vec<String> {
    captured.stderr().lines().map(str::to_string).collect()
}

fn count_lines(captured: &Captured, predicate: impl Fn(&str) -> bool) -> usize {
    captured.stderr().lines().filter(|l| predicate(l)).count()
}

fn expect_err(result: Result<DeployResult, Error>) -> Error {
    match result {
        Ok(other) => panic!("expected an error, got {other:?}"),
        Err(err) => err,
    }
}

/// The single (message, hint) report of an error.
fn report(err: &Error) -> (String, Option<String>) {
    let reports = err.reports();
    assert_eq!(reports.len(), 1, "one report expected: {reports:?}");
    reports.into_iter().next().expect("one report")
}

// ---------------------------------------------------------------------------------------------
// 1. Create through a change set
// ---------------------------------------------------------------------------------------------

/// The whole conversation of a first deploy, in order (`RuleMode::Sequential`: any other call
/// or order panics):
/// - DescribeStacks on a stack that does not exist → `ValidationError` "Stack with id X does
///   not exist".
/// - CreateChangeSet with `ChangeSetType=CREATE` → `Id` and `StackId` (the stack now exists in
///   `REVIEW_IN_PROGRESS`).
/// - DescribeChangeSet: `Status` goes `CREATE_PENDING` → `CREATE_COMPLETE`, `Changes` lists
///   the `ResourceChange`s (`Action=Add`, no `Replacement` for an Add).
/// - DescribeStackEvents (newest first) gives the marker event before executing.
/// - ExecuteChangeSet by change set ARN.
/// - DescribeStacks by stack id: `CREATE_IN_PROGRESS` then `CREATE_COMPLETE` with `Outputs`;
///   DescribeStackEvents after each, newest first.
#[tokio::test(start_paused = true)]
async fn create_through_a_change_set_follows_events_and_returns_the_outputs() {
    let not_found = by_name().then_http_response(stack_not_found);
    let seen_create: Arc<Mutex<Option<CreateChangeSetInput>>> = Arc::default();
    let seen = seen_create.clone();
    let create = mock!(Client::create_change_set).then_compute_output(move |input| {
        *seen.lock().expect("lock") = Some(input.clone());
        change_set_created(STACK_ID)
    });
    let pending = mock!(Client::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some(CHANGE_SET_ID))
        .then_output(|| change_set("CREATE_PENDING", None, vec![]));
    let complete = mock!(Client::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some(CHANGE_SET_ID))
        .then_output(|| {
            change_set(
                "CREATE_COMPLETE",
                None,
                vec![
                    resource_change(ChangeAction::Add, "SecurityGroup", None),
                    resource_change(ChangeAction::Add, "Instance", None),
                ],
            )
        });
    let e0 = event("e0", 0, STACK, "REVIEW_IN_PROGRESS", Some("User Initiated"));
    let e1 = event("e1", 5, STACK, "CREATE_IN_PROGRESS", Some("User Initiated"));
    let e2 = event("e2", 7, "SecurityGroup", "CREATE_IN_PROGRESS", None);
    let e3 = event("e3", 9, "SecurityGroup", "CREATE_COMPLETE", None);
    let e4 = event(
        "e4",
        10,
        "Instance",
        "CREATE_IN_PROGRESS",
        Some("Resource creation Initiated"),
    );
    let e5 = event("e5", 41, "Instance", "CREATE_COMPLETE", None);
    let e6 = event("e6", 42, STACK, "CREATE_COMPLETE", None);
    let marker = {
        let e0 = e0.clone();
        mock!(Client::describe_stack_events)
            .match_requests(|r| r.stack_name() == Some(STACK_ID))
            .then_output(move || history(std::slice::from_ref(&e0)))
    };
    let execute = mock!(Client::execute_change_set)
        .match_requests(|r| r.change_set_name() == Some(CHANGE_SET_ID))
        .then_output(|| ExecuteChangeSetOutput::builder().build());
    let in_progress =
        by_id(STACK_ID).then_output(|| described(stack(STACK_ID, "CREATE_IN_PROGRESS")));
    let first_events = {
        let list = [e0.clone(), e1.clone(), e2.clone()];
        mock!(Client::describe_stack_events).then_output(move || history(&list))
    };
    let outputs = [
        ("InstanceId", "i-0a1b2c3d4e5f67890", None),
        (
            "PublicIp",
            "203.0.113.10",
            Some("allora-single-node-PublicIp"),
        ),
    ];
    let created = by_id(STACK_ID)
        .then_output(move || described(stack_with(STACK_ID, "CREATE_COMPLETE", None, &outputs)));
    let all_events = {
        let list = [e0, e1, e2, e3, e4, e5, e6];
        mock!(Client::describe_stack_events).then_output(move || history(&list))
    };
    let rules = [
        &not_found,
        &create,
        &pending,
        &complete,
        &marker,
        &execute,
        &in_progress,
        &first_events,
        &created,
        &all_events,
    ];
    let cfn = client_with(RuleMode::Sequential, RetryConfig::disabled(), &rules);
    let (printer, captured) = printer(None);

    let result = deploy_plan(
        &engine(cfn, &printer),
        &printer,
        options(Method::ChangeSet, true),
    )
    .await;

    let DeployResult::Deployed(info) = result.expect("deployed") else {
        panic!("expected Deployed");
    };
    assert_eq!(
        info,
        StackInfo {
            id: STACK_ID.into(),
            name: STACK.into(),
            status: "CREATE_COMPLETE".into(),
            reason: None,
            outputs: vec![
                OutputValue {
                    key: "InstanceId".into(),
                    value: "i-0a1b2c3d4e5f67890".into(),
                    description: None,
                    export_name: None,
                },
                OutputValue {
                    key: "PublicIp".into(),
                    value: "203.0.113.10".into(),
                    description: None,
                    export_name: Some("allora-single-node-PublicIp".into()),
                },
            ],
            termination_protection: false,
            last_updated: Some("2026-11-21T10:15:00Z".into()),
        }
    );
    for rule in rules {
        assert_eq!(rule.num_calls(), 1, "every call happens exactly once");
    }

    // CreateChangeSet: a CREATE change set of the stack name with the template, the
    // parameters, CAPABILITY_IAM and the change set name as idempotency token.
    let input = seen_create
        .lock()
        .expect("lock")
        .clone()
        .expect("CreateChangeSet called");
    assert_eq!(input.stack_name(), Some(STACK));
    assert_eq!(input.change_set_type(), Some(&ChangeSetType::Create));
    assert_eq!(input.template_body(), Some(TEMPLATE));
    assert_eq!(input.capabilities(), [Capability::CapabilityIam]);
    let name = input.change_set_name().expect("a change set name");
    assert!(name.starts_with("nodectl-"), "{name}");
    assert_eq!(input.client_token(), Some(name));
    let parameters: Vec<_> = input
        .parameters()
        .iter()
        .map(|p| (p.parameter_key(), p.parameter_value()))
        .collect();
    assert_eq!(parameters, [(Some("InstanceType"), Some("t3.medium"))]);

    // stderr: the change set, the change table, one line per event of this operation (the
    // marker event e0 is not repeated), the end state; nothing on stdout.
    let expected = vec![
        format!("creating change set {name} for stack `{STACK}` in `{REGION}`"),
        format!("changes to stack `{STACK}` (account {ACCOUNT}, region {REGION}):"),
        "  Action  Logical ID     Type                     Replacement".to_string(),
        "  Add     SecurityGroup  AWS::EC2::SecurityGroup".to_string(),
        "  Add     Instance       AWS::EC2::Instance".to_string(),
        line(5, STACK, "CREATE_IN_PROGRESS", Some("User Initiated")),
        line(7, "SecurityGroup", "CREATE_IN_PROGRESS", None),
        line(9, "SecurityGroup", "CREATE_COMPLETE", None),
        line(
            10,
            "Instance",
            "CREATE_IN_PROGRESS",
            Some("Resource creation Initiated"),
        ),
        line(41, "Instance", "CREATE_COMPLETE", None),
        line(42, STACK, "CREATE_COMPLETE", None),
        format!("stack `{STACK}` is CREATE_COMPLETE"),
    ];
    assert_eq!(lines(&captured), expected);
    // One event line spelled out, independent of the `line` helper: RFC 3339 UTC time, logical
    // id padded to 32, type to 36, status last (trailing blanks trimmed).
    assert_eq!(
        lines(&captured)[6],
        format!(
            "2026-11-22T10:15:07Z  SecurityGroup{}AWS::EC2::SecurityGroup{}CREATE_IN_PROGRESS",
            " ".repeat(20),
            " ".repeat(14)
        )
    );
    assert_eq!(captured.stdout(), "");
}

// ---------------------------------------------------------------------------------------------
// 2. Throttling during the wait
// ---------------------------------------------------------------------------------------------

/// CloudFormation throttles API calls with `Throttling` "Rate exceeded" (HTTP 400). Without SDK
/// retries every throttle reaches the engine: DescribeStacks and DescribeStackEvents fail
/// mid-wait, the engine warns once, doubles its polling interval after each failure, loses and
/// repeats no event, and the create still succeeds.
///
/// Poll by poll (interval before jitter ±20 %): 1 ok (new event, 2 s) · 2 DescribeStacks
/// throttled (4 s) · 3 DescribeStackEvents throttled (8 s) · 4 DescribeStacks throttled (16 s)
/// · 5 ok (new event, 2 s) · 6 `CREATE_COMPLETE`. The sleeps add up to 25.6..38.4 s; growing
/// by the quiet factor 1.5 instead of backing off would stay under 22 s.
#[tokio::test(start_paused = true)]
async fn throttling_while_waiting_backs_off_warns_once_and_the_create_succeeds() {
    let not_found = by_name().then_http_response(stack_not_found);
    let create = mock!(Client::create_stack)
        .match_requests(|r| r.stack_name() == Some(STACK))
        .then_output(|| CreateStackOutput::builder().stack_id(STACK_ID).build());
    let status = by_id(STACK_ID)
        .sequence()
        .output(|| described(stack(STACK_ID, "CREATE_IN_PROGRESS")))
        .http_response(throttled)
        .output(|| described(stack(STACK_ID, "CREATE_IN_PROGRESS")))
        .http_response(throttled)
        .output(|| described(stack(STACK_ID, "CREATE_IN_PROGRESS")))
        .output(|| described(stack(STACK_ID, "CREATE_COMPLETE")))
        .times(2)
        .build();
    let e1 = event("e1", 0, STACK, "CREATE_IN_PROGRESS", Some("User Initiated"));
    let e2 = event("e2", 3, "Instance", "CREATE_IN_PROGRESS", None);
    let e3 = event("e3", 40, "Instance", "CREATE_COMPLETE", None);
    let e4 = event("e4", 41, STACK, "CREATE_COMPLETE", None);
    let events = {
        let (a, b) = ([e1.clone()], [e1.clone(), e2.clone()]);
        let c = [e1, e2, e3, e4];
        mock!(Client::describe_stack_events)
            .sequence()
            .output(move || history(&a))
            .http_response(throttled)
            .output(move || history(&b))
            .output(move || history(&c))
            .build()
    };
    let cfn = client(&[&not_found, &create, &status, &events]);
    let (printer, captured) = printer(None);
    let start = tokio::time::Instant::now();

    let result = deploy_plan(
        &engine(cfn, &printer),
        &printer,
        options(Method::Direct, true),
    )
    .await;

    let DeployResult::Deployed(info) = result.expect("throttling never fails a deploy") else {
        panic!("expected Deployed");
    };
    assert_eq!(info.status, "CREATE_COMPLETE");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(24) && elapsed <= Duration::from_secs(39),
        "the engine backs off after throttling: {elapsed:?}"
    );
    assert_eq!(not_found.num_calls(), 1);
    assert_eq!(create.num_calls(), 1);
    assert_eq!(
        status.num_calls(),
        6,
        "6 polls; the last one's outputs are the result"
    );
    assert_eq!(events.num_calls(), 4);
    let warning = format!(
        "warning: polling stack `{STACK}` failed (Throttling: Rate exceeded); retrying with \
         backoff"
    );
    assert_eq!(count_lines(&captured, |l| l.starts_with("warning:")), 1);
    assert_eq!(count_lines(&captured, |l| l == warning), 1);
    // Each event printed exactly once, in order, despite the failed polls in between.
    let event_lines: Vec<_> = lines(&captured)
        .into_iter()
        .filter(|l| l.starts_with("2026-"))
        .collect();
    assert_eq!(
        event_lines,
        [
            line(0, STACK, "CREATE_IN_PROGRESS", Some("User Initiated")),
            line(3, "Instance", "CREATE_IN_PROGRESS", None),
            line(40, "Instance", "CREATE_COMPLETE", None),
            line(41, STACK, "CREATE_COMPLETE", None),
        ]
    );
}

/// The same with nodectl's production SDK retries (7 attempts): a short burst of throttles
/// (3 on DescribeStackEvents) is absorbed by the SDK and the engine never sees it; a burst as
/// long as the SDK's attempts (7 on DescribeStacks) reaches the engine, which warns once, backs
/// off and goes on. `num_calls` counts SDK attempts, which is how the split is checked.
#[tokio::test(start_paused = true)]
async fn sdk_retries_absorb_short_throttling_and_the_engine_survives_the_rest() {
    let attempts = nodectl::aws::DEFAULT_MAX_ATTEMPTS as usize;
    assert_eq!(attempts, 7);
    let not_found = by_name().then_http_response(stack_not_found);
    let create = mock!(Client::create_stack)
        .then_output(|| CreateStackOutput::builder().stack_id(STACK_ID).build());
    let status = by_id(STACK_ID)
        .sequence()
        .output(|| described(stack(STACK_ID, "CREATE_IN_PROGRESS")))
        .http_response(throttled)
        .times(attempts)
        .output(|| described(stack(STACK_ID, "CREATE_COMPLETE")))
        .times(2)
        .build();
    let e1 = event("e1", 0, STACK, "CREATE_IN_PROGRESS", Some("User Initiated"));
    let e2 = event("e2", 40, "Instance", "CREATE_COMPLETE", None);
    let e3 = event("e3", 41, STACK, "CREATE_COMPLETE", None);
    let events = {
        let a = [e1.clone()];
        let b = [e1, e2, e3];
        mock!(Client::describe_stack_events)
            .sequence()
            .http_response(throttled)
            .times(3)
            .output(move || history(&a))
            .output(move || history(&b))
            .build()
    };
    let cfn = client_with(
        RuleMode::MatchAny,
        production_retries(),
        &[&not_found, &create, &status, &events],
    );
    let (printer, captured) = printer(None);

    let result = deploy_plan(
        &engine(cfn, &printer),
        &printer,
        options(Method::Direct, true),
    )
    .await;

    let DeployResult::Deployed(info) = result.expect("throttling never fails a deploy") else {
        panic!("expected Deployed");
    };
    assert_eq!(info.status, "CREATE_COMPLETE");
    // A ValidationError (not found) is not retried by the SDK.
    assert_eq!(not_found.num_calls(), 1);
    assert_eq!(create.num_calls(), 1);
    // One poll, the throttled ones, and the poll that sees CREATE_COMPLETE (whose outputs are
    // the result: nothing is read after it).
    assert_eq!(status.num_calls(), 1 + attempts + 1);
    assert_eq!(events.num_calls(), 3 + 2);
    assert_eq!(count_lines(&captured, |l| l.starts_with("warning:")), 1);
    assert_eq!(
        count_lines(&captured, |l| l
            == format!(
                "warning: polling stack `{STACK}` failed (Throttling: Rate exceeded); retrying \
                 with backoff"
            )),
        1
    );
    assert_eq!(count_lines(&captured, |l| l.starts_with("2026-")), 3);
}

/// Regression test: the engine used to read the stack once more after the wait had seen
/// `CREATE_COMPLETE`, and a DescribeStacks throttled longer than the SDK retries then turned
/// the successful create into exit 1. "Throttled polls back off and never turn a success into
/// a failure" (`../shared/design.md`): now the wait's last poll, which saw the final status,
/// is the result, and the throttled responses queued after it are never asked for.
#[tokio::test(start_paused = true)]
async fn throttling_after_the_stack_completed_does_not_fail_the_deploy() {
    let attempts = nodectl::aws::DEFAULT_MAX_ATTEMPTS as usize;
    let not_found = by_name().then_http_response(stack_not_found);
    let create = mock!(Client::create_stack)
        .then_output(|| CreateStackOutput::builder().stack_id(STACK_ID).build());
    let status = by_id(STACK_ID)
        .sequence()
        .output(|| described(stack(STACK_ID, "CREATE_COMPLETE")))
        .http_response(throttled)
        .times(attempts)
        .output(|| described(stack(STACK_ID, "CREATE_COMPLETE")))
        .repeatedly()
        .build();
    let e1 = event("e1", 0, STACK, "CREATE_IN_PROGRESS", Some("User Initiated"));
    let e2 = event("e2", 41, STACK, "CREATE_COMPLETE", None);
    let events = mock!(Client::describe_stack_events)
        .then_output(move || history(&[e1.clone(), e2.clone()]));
    let cfn = client_with(
        RuleMode::MatchAny,
        production_retries(),
        &[&not_found, &create, &status, &events],
    );
    let (printer, captured) = printer(None);

    let result = deploy_plan(
        &engine(cfn, &printer),
        &printer,
        options(Method::Direct, true),
    )
    .await;

    assert_eq!(
        status.num_calls(),
        1,
        "nothing is read after the poll that saw CREATE_COMPLETE"
    );
    match result {
        Ok(DeployResult::Deployed(info)) => assert_eq!(info.status, "CREATE_COMPLETE"),
        Ok(other) => panic!("expected Deployed, got {other:?}"),
        Err(err) => panic!(
            "a completed create failed with exit code {:?}: {:?}\n{}",
            err.exit_code(),
            err.reports(),
            captured.stderr()
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// 3. An update that fails and rolls back
// ---------------------------------------------------------------------------------------------

/// CreateChangeSet `ChangeSetType=UPDATE` on a `UPDATE_COMPLETE` stack, executed; the update
/// fails: one resource with a real reason, another "Resource update cancelled" (CloudFormation
/// cancels the resources in progress when one fails), and the stack ends
/// `UPDATE_ROLLBACK_COMPLETE` (the stack is back to its previous state). The cancellation is
/// listed first (both happen in the same second, and events of one second come in no
/// guaranteed order), so the root cause must skip it, not merely take the earliest failure.
#[tokio::test(start_paused = true)]
async fn an_update_that_rolls_back_is_exit_3_with_the_real_root_cause() {
    let existing = by_name().then_output(|| described(stack(STACK_ID, "UPDATE_COMPLETE")));
    let create = mock!(Client::create_change_set)
        .match_requests(|r| {
            r.stack_name() == Some(STACK) && r.change_set_type() == Some(&ChangeSetType::Update)
        })
        .then_output(|| change_set_created(STACK_ID));
    let describe_change_set = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            "CREATE_COMPLETE",
            None,
            vec![
                resource_change(ChangeAction::Modify, "Instance", Some(Replacement::True)),
                resource_change(ChangeAction::Modify, "DataVolume", Some(Replacement::False)),
            ],
        )
    });
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let status = by_id(STACK_ID)
        .sequence()
        .output(|| described(stack(STACK_ID, "UPDATE_IN_PROGRESS")))
        .output(|| described(stack(STACK_ID, "UPDATE_ROLLBACK_COMPLETE")))
        .build();
    let old = event("u0", -3600, STACK, "UPDATE_COMPLETE", None);
    let updating = [
        old.clone(),
        event("u1", 0, STACK, "UPDATE_IN_PROGRESS", Some("User Initiated")),
        event("u2", 2, "DataVolume", "UPDATE_IN_PROGRESS", None),
        event("u3", 2, "Instance", "UPDATE_IN_PROGRESS", None),
    ];
    let mut rolled_back = updating.to_vec();
    rolled_back.extend([
        event(
            "u4",
            30,
            "DataVolume",
            "UPDATE_FAILED",
            Some("Resource update cancelled"),
        ),
        event(
            "u5",
            30,
            "Instance",
            "UPDATE_FAILED",
            Some(INSTANCE_FAILURE),
        ),
        event(
            "u6",
            31,
            STACK,
            "UPDATE_ROLLBACK_IN_PROGRESS",
            Some("The following resource(s) failed to update: [DataVolume, Instance]."),
        ),
        event("u7", 60, "Instance", "UPDATE_COMPLETE", None),
        event(
            "u8",
            61,
            STACK,
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
            None,
        ),
        event("u9", 62, STACK, "UPDATE_ROLLBACK_COMPLETE", None),
    ]);
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output(move || history(std::slice::from_ref(&old)))
        .output(move || history(&updating))
        .output(move || history(&rolled_back))
        .build();
    let cfn = client(&[
        &existing,
        &create,
        &describe_change_set,
        &execute,
        &status,
        &events,
    ]);
    let (printer, captured) = printer(None);

    let err = expect_err(
        deploy_plan(
            &engine(cfn, &printer),
            &printer,
            options(Method::ChangeSet, true),
        )
        .await,
    );

    assert_eq!(err.exit_code(), ExitCode::RolledBack);
    assert_eq!(err.exit_code() as i32, 3);
    let (message, hint) = report(&err);
    assert_eq!(
        message,
        format!(
            "update of stack `{STACK}` in `{REGION}` failed: the stack is \
             UPDATE_ROLLBACK_COMPLETE\n  root cause: Instance (AWS::EC2::Instance) \
             UPDATE_FAILED: {INSTANCE_FAILURE}"
        )
    );
    assert!(!message.contains("cancelled"));
    assert_eq!(
        hint.as_deref(),
        Some(
            "the stack is back to its previous state; fix the cause above and run `nodectl \
             deploy single-node` again"
        )
    );
    assert_eq!(existing.num_calls(), 1);
    assert_eq!(create.num_calls(), 1);
    assert_eq!(execute.num_calls(), 1);
    assert_eq!(status.num_calls(), 2);
    assert_eq!(events.num_calls(), 3);
    // The events of this update only (not u0), each once.
    assert_eq!(count_lines(&captured, |l| l.starts_with("2026-")), 9);
    assert!(captured.stderr().contains(&line(
        30,
        "DataVolume",
        "UPDATE_FAILED",
        Some("Resource update cancelled")
    )));
    assert!(
        !captured
            .stderr()
            .contains(&line(-3600, STACK, "UPDATE_COMPLETE", None)),
        "the marker event (the previous update) is not printed again"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. A create that fails
// ---------------------------------------------------------------------------------------------

/// CreateStack (direct method) whose resource fails: CloudFormation rolls the create back and
/// the stack ends `ROLLBACK_COMPLETE`, a state that "can't be updated, only deleted"
/// (CloudFormation User Guide, stack status codes). Exit code 3, and the hint says the next
/// deploy deletes it and creates it anew.
#[tokio::test(start_paused = true)]
async fn a_create_that_rolls_back_is_exit_3_and_the_hint_says_it_is_recreated() {
    let not_found = by_name().then_http_response(stack_not_found);
    let create = mock!(Client::create_stack)
        .match_requests(|r| {
            r.stack_name() == Some(STACK)
                && r.template_body() == Some(TEMPLATE)
                && r.capabilities() == [Capability::CapabilityIam]
        })
        .then_output(|| CreateStackOutput::builder().stack_id(STACK_ID).build());
    let status = by_id(STACK_ID)
        .sequence()
        .output(|| described(stack(STACK_ID, "CREATE_IN_PROGRESS")))
        .output(|| {
            described(stack_with(
                STACK_ID,
                "ROLLBACK_COMPLETE",
                Some("The following resource(s) failed to create: [Instance]. Rollback requested by user."),
                &[],
            ))
        })
        .build();
    let creating = [
        event("c1", 0, STACK, "CREATE_IN_PROGRESS", Some("User Initiated")),
        event("c2", 2, "Instance", "CREATE_IN_PROGRESS", None),
    ];
    let mut failed = creating.to_vec();
    failed.extend([
        event("c3", 4, "Instance", "CREATE_FAILED", Some(INSTANCE_FAILURE)),
        event(
            "c4",
            5,
            STACK,
            "ROLLBACK_IN_PROGRESS",
            Some("The following resource(s) failed to create: [Instance]. Rollback requested by user."),
        ),
        event("c5", 9, "Instance", "DELETE_COMPLETE", None),
        event("c6", 10, STACK, "ROLLBACK_COMPLETE", None),
    ]);
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output(move || history(&creating))
        .output(move || history(&failed))
        .build();
    let cfn = client(&[&not_found, &create, &status, &events]);
    let (printer, captured) = printer(None);

    let err = expect_err(
        deploy_plan(
            &engine(cfn, &printer),
            &printer,
            options(Method::Direct, true),
        )
        .await,
    );

    assert_eq!(err.exit_code(), ExitCode::RolledBack);
    assert!(matches!(
        &err,
        Error::StackFailed { operation, status, rolled_back: true, .. }
            if operation == "create" && status == "ROLLBACK_COMPLETE"
    ));
    let (message, hint) = report(&err);
    assert_eq!(
        message,
        format!(
            "create of stack `{STACK}` in `{REGION}` failed: the stack is ROLLBACK_COMPLETE\n  \
             root cause: Instance (AWS::EC2::Instance) CREATE_FAILED: {INSTANCE_FAILURE}"
        )
    );
    assert_eq!(
        hint.as_deref(),
        Some(
            "fix the cause above and run `nodectl deploy single-node` again: the rolled-back \
             stack is deleted and created anew"
        )
    );
    assert_eq!(create.num_calls(), 1);
    assert_eq!(status.num_calls(), 2);
    assert_eq!(events.num_calls(), 2);
    assert_eq!(
        lines(&captured)[0],
        format!("creating stack `{STACK}` in `{REGION}`")
    );
    assert_eq!(count_lines(&captured, |l| l.starts_with("2026-")), 6);
}

// ---------------------------------------------------------------------------------------------
// 5. A stack left in ROLLBACK_COMPLETE is deleted, then created
// ---------------------------------------------------------------------------------------------

/// DescribeStacks by name finds `ROLLBACK_COMPLETE` (a failed first create, which "can only be
/// deleted"). The engine deletes it by stack id (DeleteStack), follows it by id until
/// `DELETE_COMPLETE` (DescribeStacks by id still answers for a deleted stack), then finds the
/// name free (`ValidationError` "does not exist") and creates a new stack (a new stack id)
/// through a CREATE change set.
#[tokio::test(start_paused = true)]
async fn a_rolled_back_stack_is_deleted_by_id_and_then_created() {
    let name = by_name()
        .sequence()
        .output(|| {
            described(stack_with(
                STACK_ID,
                "ROLLBACK_COMPLETE",
                Some("The following resource(s) failed to create: [Instance]. Rollback requested by user."),
                &[],
            ))
        })
        .http_response(stack_not_found)
        .build();
    let old_status = by_id(STACK_ID)
        .sequence()
        .output(|| described(stack(STACK_ID, "DELETE_IN_PROGRESS")))
        .output(|| described(stack(STACK_ID, "DELETE_COMPLETE")))
        .build();
    let r0 = event("r0", -600, STACK, "ROLLBACK_COMPLETE", None);
    let r1 = event("r1", 0, STACK, "DELETE_IN_PROGRESS", Some("User Initiated"));
    let r2 = event("r2", 20, STACK, "DELETE_COMPLETE", None);
    let old_events = mock!(Client::describe_stack_events)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .sequence()
        .output({
            let list = [r0.clone()];
            move || history(&list)
        })
        .output({
            let list = [r0.clone(), r1.clone()];
            move || history(&list)
        })
        .output(move || history(&[r0.clone(), r1.clone(), r2.clone()]))
        .build();
    let delete_stack = mock!(Client::delete_stack)
        .match_requests(|r| r.stack_name() == Some(STACK_ID) && r.client_request_token().is_some())
        .then_output(|| DeleteStackOutput::builder().build());
    let create = mock!(Client::create_change_set)
        .match_requests(|r| {
            r.stack_name() == Some(STACK) && r.change_set_type() == Some(&ChangeSetType::Create)
        })
        .then_output(|| change_set_created(NEW_STACK_ID));
    let describe_change_set = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            "CREATE_COMPLETE",
            None,
            vec![resource_change(ChangeAction::Add, "Instance", None)],
        )
    });
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let new_status =
        by_id(NEW_STACK_ID).then_output(|| described(stack(NEW_STACK_ID, "CREATE_COMPLETE")));
    let n0 = event_of(
        NEW_STACK_ID,
        "n0",
        30,
        STACK,
        "REVIEW_IN_PROGRESS",
        Some("User Initiated"),
    );
    let n1 = event_of(
        NEW_STACK_ID,
        "n1",
        35,
        STACK,
        "CREATE_IN_PROGRESS",
        Some("User Initiated"),
    );
    let n2 = event_of(NEW_STACK_ID, "n2", 70, STACK, "CREATE_COMPLETE", None);
    let new_events = mock!(Client::describe_stack_events)
        .match_requests(|r| r.stack_name() == Some(NEW_STACK_ID))
        .sequence()
        .output({
            let list = [n0.clone()];
            move || history(&list)
        })
        .output(move || history(&[n0.clone(), n1.clone(), n2.clone()]))
        .build();
    let cfn = client(&[
        &name,
        &old_status,
        &old_events,
        &delete_stack,
        &create,
        &describe_change_set,
        &execute,
        &new_status,
        &new_events,
    ]);
    let (printer, captured) = printer(None);

    let result = deploy_plan(
        &engine(cfn, &printer),
        &printer,
        options(Method::ChangeSet, true),
    )
    .await;

    let DeployResult::Deployed(info) = result.expect("deployed") else {
        panic!("expected Deployed");
    };
    assert_eq!(info.id, NEW_STACK_ID);
    assert_eq!(info.status, "CREATE_COMPLETE");
    assert_eq!(name.num_calls(), 2, "found, then gone");
    assert_eq!(delete_stack.num_calls(), 1);
    assert_eq!(old_status.num_calls(), 2, "followed until DELETE_COMPLETE");
    assert_eq!(old_events.num_calls(), 3);
    assert_eq!(create.num_calls(), 1);
    assert_eq!(execute.num_calls(), 1);
    assert_eq!(
        new_status.num_calls(),
        1,
        "one poll of the wait, by the new id (it holds the outputs)"
    );
    assert_eq!(new_events.num_calls(), 2);
    let stderr = lines(&captured);
    let position = |wanted: &str| {
        stderr
            .iter()
            .position(|l| l == wanted)
            .unwrap_or_else(|| panic!("no line {wanted:?} in {stderr:#?}"))
    };
    let said = position(&format!(
        "stack `{STACK}` is ROLLBACK_COMPLETE after a failed create and cannot be updated; \
         deleting it before creating it again"
    ));
    let deleting = position(&format!("deleting stack `{STACK}` in `{REGION}`"));
    let deleted = position(&format!("stack `{STACK}` is DELETE_COMPLETE"));
    let creating = stderr
        .iter()
        .position(|l| l.starts_with("creating change set "))
        .expect("a change set line");
    let created = position(&format!("stack `{STACK}` is CREATE_COMPLETE"));
    assert!(said < deleting && deleting < deleted && deleted < creating && creating < created);
}

// ---------------------------------------------------------------------------------------------
// 6. UPDATE_ROLLBACK_FAILED
// ---------------------------------------------------------------------------------------------

/// A stack in `UPDATE_ROLLBACK_FAILED` can be neither updated nor deleted until the rollback
/// is continued (CloudFormation API Reference, ContinueUpdateRollback). The deploy refuses
/// before creating a change set, and the hint names `continue-update-rollback`.
#[tokio::test(start_paused = true)]
async fn a_stack_in_update_rollback_failed_is_refused_before_any_change_set() {
    let existing = by_name().then_output(|| {
        described(stack_with(
            STACK_ID,
            "UPDATE_ROLLBACK_FAILED",
            Some("The following resource(s) failed to rollback: [DataVolume]."),
            &[],
        ))
    });
    let create = mock!(Client::create_change_set).then_output(|| change_set_created(STACK_ID));
    let update = mock!(Client::update_stack)
        .then_output(|| UpdateStackOutput::builder().stack_id(STACK_ID).build());
    let cfn = client(&[&existing, &create, &update]);
    let (printer, captured) = printer(Some("y\n"));

    let err = expect_err(
        deploy_plan(
            &engine(cfn, &printer),
            &printer,
            options(Method::ChangeSet, false),
        )
        .await,
    );

    assert_eq!(err.exit_code(), ExitCode::Error);
    let (message, hint) = report(&err);
    assert_eq!(
        message,
        format!("cannot deploy stack `{STACK}` in `{REGION}`: it is UPDATE_ROLLBACK_FAILED")
    );
    assert_eq!(
        hint.as_deref(),
        Some(
            "finish the rollback first: `aws cloudformation continue-update-rollback \
             --stack-name allora-single-node` (with --resources-to-skip for resources that \
             cannot roll back), then deploy again"
        )
    );
    assert_eq!(existing.num_calls(), 1);
    assert_eq!(create.num_calls(), 0, "no change set is created");
    assert_eq!(update.num_calls(), 0);
    assert_eq!(captured.stderr(), "", "nothing asked, nothing printed");
}

/// UpdateStack (direct method) whose update fails and whose rollback fails too: the stack ends
/// `UPDATE_ROLLBACK_FAILED`, a failed state that needs attention → exit code 4, the root cause
/// is the update's first real failure, and the hint says how to continue the rollback.
#[tokio::test(start_paused = true)]
async fn an_update_ending_in_update_rollback_failed_is_exit_4() {
    let existing = by_name().then_output(|| described(stack(STACK_ID, "UPDATE_COMPLETE")));
    let update = mock!(Client::update_stack)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .then_output(|| UpdateStackOutput::builder().stack_id(STACK_ID).build());
    let status = by_id(STACK_ID).then_output(|| {
        described(stack_with(
            STACK_ID,
            "UPDATE_ROLLBACK_FAILED",
            Some("The following resource(s) failed to rollback: [DataVolume]."),
            &[],
        ))
    });
    let old = event("u0", -3600, STACK, "UPDATE_COMPLETE", None);
    let mut all = vec![
        old.clone(),
        event("u1", 0, STACK, "UPDATE_IN_PROGRESS", Some("User Initiated")),
        event("u2", 2, "Instance", "UPDATE_IN_PROGRESS", None),
        event("u3", 30, "Instance", "UPDATE_FAILED", Some(INSTANCE_FAILURE)),
        event(
            "u4",
            31,
            STACK,
            "UPDATE_ROLLBACK_IN_PROGRESS",
            Some("The following resource(s) failed to update: [Instance]."),
        ),
        event(
            "u5",
            50,
            "DataVolume",
            "UPDATE_FAILED",
            Some("Resource handler returned message: \"Volume vol-0a1b2c3d4e5f67890 is currently attached to i-0a1b2c3d4e5f67890\""),
        ),
    ];
    all.push(event(
        "u6",
        51,
        STACK,
        "UPDATE_ROLLBACK_FAILED",
        Some("The following resource(s) failed to rollback: [DataVolume]."),
    ));
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output(move || history(std::slice::from_ref(&old)))
        .output(move || history(&all))
        .build();
    let cfn = client(&[&existing, &update, &status, &events]);
    let (printer, _captured) = printer(None);

    let err = expect_err(
        deploy_plan(
            &engine(cfn, &printer),
            &printer,
            options(Method::Direct, true),
        )
        .await,
    );

    assert_eq!(err.exit_code(), ExitCode::FailedState);
    assert_eq!(err.exit_code() as i32, 4);
    let (message, hint) = report(&err);
    assert_eq!(
        message,
        format!(
            "update of stack `{STACK}` in `{REGION}` failed: the stack is \
             UPDATE_ROLLBACK_FAILED\n  root cause: Instance (AWS::EC2::Instance) \
             UPDATE_FAILED: {INSTANCE_FAILURE}"
        )
    );
    let hint = hint.expect("a hint");
    assert!(
        hint.contains(
            "aws cloudformation continue-update-rollback --stack-name allora-single-node"
        ),
        "{hint}"
    );
    assert_eq!(update.num_calls(), 1);
    assert_eq!(status.num_calls(), 1);
    assert_eq!(events.num_calls(), 2);
}

// ---------------------------------------------------------------------------------------------
// 7, 8. No changes
// ---------------------------------------------------------------------------------------------

/// DescribeChangeSet of a change set that changes nothing: `Status=FAILED`, `StatusReason`
/// "The submitted information didn't contain changes. Submit different information to create
/// a change set." (CloudFormation API Reference, DescribeChangeSet / CreateChangeSet). That is
/// success: the failed change set is deleted (DeleteChangeSet, once), nothing is executed, the
/// stack is returned as it is.
#[tokio::test(start_paused = true)]
async fn a_change_set_without_changes_is_no_changes_and_is_deleted() {
    let existing = by_name().then_output(|| {
        described(stack_with(
            STACK_ID,
            "UPDATE_COMPLETE",
            None,
            &[("InstanceId", "i-0a1b2c3d4e5f67890", None)],
        ))
    });
    let create = mock!(Client::create_change_set)
        .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Update))
        .then_output(|| change_set_created(STACK_ID));
    let describe_change_set = mock!(Client::describe_change_set)
        .sequence()
        .output(|| change_set("CREATE_IN_PROGRESS", None, vec![]))
        .output(|| change_set("FAILED", Some(NO_CHANGES), vec![]))
        .build();
    let delete_change_set = mock!(Client::delete_change_set)
        .match_requests(|r| r.change_set_name() == Some(CHANGE_SET_ID))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let delete_stack =
        mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let cfn = client(&[
        &existing,
        &create,
        &describe_change_set,
        &delete_change_set,
        &delete_stack,
        &execute,
    ]);
    let (printer, captured) = printer(Some("y\n"));

    let result = deploy_plan(
        &engine(cfn, &printer),
        &printer,
        options(Method::ChangeSet, false),
    )
    .await;

    let DeployResult::NoChanges(info) = result.expect("no changes is success") else {
        panic!("expected NoChanges");
    };
    assert_eq!(info.status, "UPDATE_COMPLETE");
    assert_eq!(info.outputs.len(), 1);
    assert_eq!(describe_change_set.num_calls(), 2);
    assert_eq!(delete_change_set.num_calls(), 1);
    assert_eq!(delete_stack.num_calls(), 0);
    assert_eq!(execute.num_calls(), 0);
    assert_eq!(
        existing.num_calls(),
        1,
        "settle only: with no changes, the stack read then is still current"
    );
    let stderr = captured.stderr();
    assert!(stderr.contains(&format!("no changes: stack `{STACK}` is up to date\n")));
    assert!(!stderr.contains("[y/N]"), "nothing to confirm: {stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

/// UpdateStack that changes nothing answers `ValidationError` "No updates are to be
/// performed." (CloudFormation API Reference, UpdateStack): success, the stack as it is.
#[tokio::test(start_paused = true)]
async fn a_direct_update_without_changes_is_no_changes() {
    let existing = by_name().then_output(|| described(stack(STACK_ID, "UPDATE_COMPLETE")));
    let marker = mock!(Client::describe_stack_events)
        .then_output(|| history(&[event("u0", -60, STACK, "UPDATE_COMPLETE", None)]));
    let update = mock!(Client::update_stack)
        .match_requests(|r| r.stack_name() == Some(STACK_ID) && r.template_body() == Some(TEMPLATE))
        .then_http_response(|| aws_error("ValidationError", "No updates are to be performed."));
    let by_id_rule = by_id(STACK_ID).then_output(|| described(stack(STACK_ID, "UPDATE_COMPLETE")));
    let cfn = client(&[&existing, &marker, &update, &by_id_rule]);
    let (printer, captured) = printer(None);

    let result = deploy_plan(
        &engine(cfn, &printer),
        &printer,
        options(Method::Direct, true),
    )
    .await;

    let DeployResult::NoChanges(info) = result.expect("no changes is success") else {
        panic!("expected NoChanges");
    };
    assert_eq!(info.id, STACK_ID);
    assert_eq!(info.status, "UPDATE_COMPLETE");
    assert_eq!(update.num_calls(), 1);
    assert_eq!(by_id_rule.num_calls(), 0, "no wait");
    assert_eq!(
        lines(&captured),
        [
            format!("updating stack `{STACK}` in `{REGION}`"),
            format!("no changes: stack `{STACK}` is up to date"),
        ]
    );
}

/// A stack found in `UPDATE_IN_PROGRESS` (someone else's deploy): nodectl says so, follows that
/// operation's events until the stack settles, then decides again (CloudFormation API
/// Reference, UpdateStack: an update of a stack in an `*_IN_PROGRESS` state is refused, so
/// waiting first is the only way through).
#[tokio::test(start_paused = true)]
async fn a_stack_busy_with_another_operation_is_waited_for_then_deployed() {
    let existing = by_name()
        .sequence()
        .output(|| described(stack(STACK_ID, "UPDATE_IN_PROGRESS")))
        .output(|| described(stack(STACK_ID, "UPDATE_COMPLETE")))
        .repeatedly()
        .build();
    let followed = by_id(STACK_ID)
        .sequence()
        .output(|| described(stack(STACK_ID, "UPDATE_IN_PROGRESS")))
        .output(|| described(stack(STACK_ID, "UPDATE_COMPLETE")))
        .repeatedly()
        .build();
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| {
            history(&[event(
                "u0",
                0,
                STACK,
                "UPDATE_IN_PROGRESS",
                Some("User Initiated"),
            )])
        })
        .output(|| {
            history(&[
                event("u0", 0, STACK, "UPDATE_IN_PROGRESS", Some("User Initiated")),
                event("u1", 30, STACK, "UPDATE_COMPLETE", None),
            ])
        })
        .repeatedly()
        .build();
    let update = mock!(Client::update_stack)
        .then_http_response(|| aws_error("ValidationError", "No updates are to be performed."));
    let cfn = client(&[&existing, &followed, &events, &update]);
    let (printer, captured) = printer(None);

    let result = deploy_plan(
        &engine(cfn, &printer),
        &printer,
        options(Method::Direct, true),
    )
    .await;

    assert!(
        matches!(result, Ok(DeployResult::NoChanges(_))),
        "{result:?}"
    );
    assert_eq!(existing.num_calls(), 2, "before and after the wait");
    assert_eq!(
        update.num_calls(),
        1,
        "the update comes only after the wait"
    );
    assert_eq!(
        lines(&captured),
        [
            format!("stack `{STACK}` is UPDATE_IN_PROGRESS; waiting for that operation to finish"),
            line(30, STACK, "UPDATE_COMPLETE", None),
            format!("updating stack `{STACK}` in `{REGION}`"),
            format!("no changes: stack `{STACK}` is up to date"),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// 9. Declined confirmation, no terminal
// ---------------------------------------------------------------------------------------------

/// An UPDATE change set modifying the Instance (with `replacement`), that is then not executed:
/// the rules for DescribeStacks (the stack as it is), CreateChangeSet, DescribeChangeSet,
/// DeleteChangeSet (by id), DeleteStack and ExecuteChangeSet.
struct PendingUpdate {
    existing: Rule,
    create: Rule,
    describe_change_set: Rule,
    delete_change_set: Rule,
    delete_stack: Rule,
    execute: Rule,
}

impl PendingUpdate {
    fn new(replacement: Replacement) -> Self {
        PendingUpdate {
            existing: by_name().then_output(|| described(stack(STACK_ID, "UPDATE_COMPLETE"))),
            create: mock!(Client::create_change_set).then_output(|| change_set_created(STACK_ID)),
            describe_change_set: mock!(Client::describe_change_set).then_output(move || {
                change_set(
                    "CREATE_COMPLETE",
                    None,
                    vec![resource_change(
                        ChangeAction::Modify,
                        "Instance",
                        Some(replacement.clone()),
                    )],
                )
            }),
            delete_change_set: mock!(Client::delete_change_set)
                .match_requests(|r| r.change_set_name() == Some(CHANGE_SET_ID))
                .then_output(|| DeleteChangeSetOutput::builder().build()),
            delete_stack: mock!(Client::delete_stack)
                .then_output(|| DeleteStackOutput::builder().build()),
            execute: mock!(Client::execute_change_set)
                .then_output(|| ExecuteChangeSetOutput::builder().build()),
        }
    }

    fn client(&self) -> Client {
        client(&[
            &self.existing,
            &self.create,
            &self.describe_change_set,
            &self.delete_change_set,
            &self.delete_stack,
            &self.execute,
        ])
    }
}

/// A bare Enter at the prompt is no: the UPDATE change set is deleted (DeleteChangeSet), never
/// executed, and the stack is left alone.
#[tokio::test(start_paused = true)]
async fn declining_an_update_deletes_the_change_set() {
    let update = PendingUpdate::new(Replacement::True);
    let cfn = update.client();
    let (printer, captured) = printer(Some("\n"));

    let err = expect_err(
        deploy_plan(
            &engine(cfn, &printer),
            &printer,
            options(Method::ChangeSet, false),
        )
        .await,
    );

    assert!(matches!(err, Error::Aborted(_)), "{err:?}");
    assert_eq!(err.exit_code(), ExitCode::Error);
    assert_eq!(
        report(&err),
        (
            format!("aborted: stack `{STACK}` was not changed; the change set was deleted"),
            None
        )
    );
    assert_eq!(update.execute.num_calls(), 0);
    assert_eq!(update.delete_change_set.num_calls(), 1);
    assert_eq!(
        update.delete_stack.num_calls(),
        0,
        "an existing stack is never deleted"
    );
    let stderr = captured.stderr();
    assert!(
        stderr.contains("  Modify  Instance    AWS::EC2::Instance  True\n"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(&format!(
            "Execute these changes on stack `{STACK}` in account {ACCOUNT}, region {REGION}? \
             [y/N] "
        )),
        "{stderr}"
    );
}

/// Declining a CREATE change set: the stack CreateChangeSet made in `REVIEW_IN_PROGRESS` holds
/// no resources and is deleted (DeleteStack by id deletes its change sets with it).
#[tokio::test(start_paused = true)]
async fn declining_a_create_deletes_the_review_in_progress_stack() {
    let not_found = by_name().then_http_response(stack_not_found);
    let create = mock!(Client::create_change_set)
        .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Create))
        .then_output(|| change_set_created(STACK_ID));
    let describe_change_set = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            "CREATE_COMPLETE",
            None,
            vec![resource_change(ChangeAction::Add, "Instance", None)],
        )
    });
    let delete_change_set =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let delete_stack = mock!(Client::delete_stack)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .then_output(|| DeleteStackOutput::builder().build());
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let cfn = client(&[
        &not_found,
        &create,
        &describe_change_set,
        &delete_change_set,
        &delete_stack,
        &execute,
    ]);
    let (printer, _captured) = printer(Some("\n"));

    let err = expect_err(
        deploy_plan(
            &engine(cfn, &printer),
            &printer,
            options(Method::ChangeSet, false),
        )
        .await,
    );

    assert!(matches!(err, Error::Aborted(_)), "{err:?}");
    assert_eq!(err.exit_code(), ExitCode::Error);
    assert_eq!(execute.num_calls(), 0);
    assert_eq!(delete_stack.num_calls(), 1);
    assert_eq!(delete_change_set.num_calls(), 0);
}

/// No terminal and no `--yes`: nodectl never prompts; the usage error's hint names `--yes`,
/// and the change set is cleaned up.
#[tokio::test(start_paused = true)]
async fn without_a_terminal_and_without_yes_nothing_is_executed_and_yes_is_hinted() {
    let update = PendingUpdate::new(Replacement::False);
    let cfn = update.client();
    let (printer, captured) = printer(None);

    let err = expect_err(
        deploy_plan(
            &engine(cfn, &printer),
            &printer,
            options(Method::ChangeSet, false),
        )
        .await,
    );

    assert!(matches!(err, Error::Usage { .. }), "{err:?}");
    assert_eq!(err.exit_code(), ExitCode::Error);
    let (message, hint) = report(&err);
    assert_eq!(
        message,
        format!(
            "cannot ask \"Execute these changes on stack `{STACK}` in account {ACCOUNT}, region \
             {REGION}?\": stdin is not a terminal"
        )
    );
    assert_eq!(
        hint.as_deref(),
        Some("pass --yes to go ahead without a prompt (for CI and scripts)")
    );
    assert_eq!(update.execute.num_calls(), 0);
    assert_eq!(update.delete_change_set.num_calls(), 1);
    assert!(!captured.stderr().contains("[y/N]"));
}

// ---------------------------------------------------------------------------------------------
// 10. Timeout
// ---------------------------------------------------------------------------------------------

/// A stack that stays `CREATE_IN_PROGRESS` (CloudFormation waits up to its own timeouts, e.g.
/// a creation policy of hours): with `--timeout 30m` the engine gives up after about 30
/// minutes of (virtual) time with exit code 5, naming the last status; CloudFormation goes on.
#[tokio::test(start_paused = true)]
async fn a_stack_that_stays_in_progress_times_out_after_30_minutes() {
    let not_found = by_name().then_http_response(stack_not_found);
    let create = mock!(Client::create_stack)
        .then_output(|| CreateStackOutput::builder().stack_id(STACK_ID).build());
    let status = by_id(STACK_ID).then_output(|| described(stack(STACK_ID, "CREATE_IN_PROGRESS")));
    let events = mock!(Client::describe_stack_events).then_output(|| {
        history(&[
            event("c1", 0, STACK, "CREATE_IN_PROGRESS", Some("User Initiated")),
            event(
                "c2",
                2,
                "Instance",
                "CREATE_IN_PROGRESS",
                Some("Resource creation Initiated"),
            ),
        ])
    });
    let cfn = client(&[&not_found, &create, &status, &events]);
    let (printer, captured) = printer(None);
    let mut engine = engine(cfn, &printer);
    engine.timeout = Some(Duration::from_secs(30 * 60));
    let start = tokio::time::Instant::now();

    let err = expect_err(deploy_plan(&engine, &printer, options(Method::Direct, true)).await);

    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1800) && elapsed <= Duration::from_secs(1800 + 19),
        "{elapsed:?}"
    );
    assert_eq!(err.exit_code(), ExitCode::Timeout);
    assert_eq!(err.exit_code() as i32, 5);
    let Error::Timeout {
        stack,
        status: last,
        waited,
        ..
    } = &err
    else {
        panic!("expected a timeout: {err:?}");
    };
    assert_eq!(stack, STACK);
    assert_eq!(last, "CREATE_IN_PROGRESS");
    assert!(
        *waited >= Duration::from_secs(1800) && *waited <= Duration::from_secs(1800 + 18),
        "{waited:?}"
    );
    let (message, hint) = report(&err);
    assert!(message.starts_with("timed out after 30m"), "{message}");
    assert!(
        message.ends_with(&format!(
            "waiting for stack `{STACK}` in `{REGION}`; it is still CREATE_IN_PROGRESS"
        )),
        "{message}"
    );
    assert!(hint.expect("a hint").contains("nodectl status"));
    // Polls back off to at most 15 s ± 20 % (never a busy loop, never a hidden cap): 100 to 160
    // polls in 30 minutes; the last of them is the look after the timeout that decides between
    // the stack's end and "still in progress" (a stack and its events, like every poll).
    let polls = events.num_calls();
    assert!((100..=160).contains(&polls), "{polls} polls");
    assert_eq!(status.num_calls(), polls);
    // The two events once; then a "still in progress" note about once a minute.
    assert_eq!(count_lines(&captured, |l| l.starts_with("2026-")), 2);
    let notes = count_lines(&captured, |l| {
        l.starts_with(&format!("... {STACK} is still CREATE_IN_PROGRESS ("))
    });
    assert!((20..=30).contains(&notes), "{notes} notes");
}

// ---------------------------------------------------------------------------------------------
// 11. delete()
// ---------------------------------------------------------------------------------------------

fn info(status: &str, outputs: Vec<OutputValue>) -> StackInfo {
    StackInfo {
        id: STACK_ID.into(),
        name: STACK.into(),
        status: status.into(),
        reason: None,
        outputs,
        termination_protection: false,
        last_updated: None,
    }
}

/// DeleteStack whose deletion fails: the stack ends `DELETE_FAILED` with the resource's reason
/// in its event. Exit code 4, that root cause, and a hint with `--retain-resources`
/// (DeleteStack `RetainResources`, only for a stack in `DELETE_FAILED`).
#[tokio::test(start_paused = true)]
async fn a_delete_ending_in_delete_failed_is_exit_4_with_retain_resources_hinted() {
    let reason = "resource sg-0a1b2c3d4e5f67890 has a dependent object (Service: Ec2, Status Code: 400, Request ID: 1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809)";
    let delete_stack = mock!(Client::delete_stack)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .then_output(|| DeleteStackOutput::builder().build());
    let status = by_id(STACK_ID)
        .sequence()
        .output(|| described(stack(STACK_ID, "DELETE_IN_PROGRESS")))
        .output(|| {
            described(stack_with(
                STACK_ID,
                "DELETE_FAILED",
                Some("The following resource(s) failed to delete: [SecurityGroup]. "),
                &[],
            ))
        })
        .build();
    let d0 = event("d0", -60, STACK, "UPDATE_COMPLETE", None);
    let d1 = event("d1", 0, STACK, "DELETE_IN_PROGRESS", Some("User Initiated"));
    let d2 = event("d2", 2, "Instance", "DELETE_IN_PROGRESS", None);
    let d3 = event("d3", 60, "Instance", "DELETE_COMPLETE", None);
    let d4 = event("d4", 61, "SecurityGroup", "DELETE_IN_PROGRESS", None);
    let d5 = event("d5", 900, "SecurityGroup", "DELETE_FAILED", Some(reason));
    let d6 = event(
        "d6",
        901,
        STACK,
        "DELETE_FAILED",
        Some("The following resource(s) failed to delete: [SecurityGroup]. "),
    );
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output({
            let list = [d0.clone()];
            move || history(&list)
        })
        .output({
            let list = [d0.clone(), d1.clone(), d2.clone()];
            move || history(&list)
        })
        .output(move || {
            history(&[
                d0.clone(),
                d1.clone(),
                d2.clone(),
                d3.clone(),
                d4.clone(),
                d5.clone(),
                d6.clone(),
            ])
        })
        .build();
    let cfn = client(&[&delete_stack, &status, &events]);
    let (printer, captured) = printer(None);

    let result = settled(delete(
        &engine(cfn, &printer),
        &info("UPDATE_COMPLETE", vec![]),
    ))
    .await;

    let err = match result {
        Ok(left) => panic!("expected DELETE_FAILED, got Ok({left:?})"),
        Err(err) => err,
    };
    assert_eq!(err.exit_code(), ExitCode::FailedState);
    assert_eq!(err.exit_code() as i32, 4);
    let (message, hint) = report(&err);
    assert_eq!(
        message,
        format!(
            "delete of stack `{STACK}` in `{REGION}` failed: the stack is DELETE_FAILED\n  root \
             cause: SecurityGroup (AWS::EC2::SecurityGroup) DELETE_FAILED: {reason}"
        )
    );
    assert_eq!(
        hint.as_deref(),
        Some(
            "fix the cause above (or keep the resource with `aws cloudformation delete-stack \
             --stack-name allora-single-node --retain-resources <LogicalId>`), then run \
             `nodectl destroy` again"
        )
    );
    assert_eq!(delete_stack.num_calls(), 1);
    assert_eq!(status.num_calls(), 2);
    assert_eq!(events.num_calls(), 3);
    assert_eq!(
        lines(&captured)[0],
        format!("deleting stack `{STACK}` in `{REGION}`")
    );
    assert_eq!(count_lines(&captured, |l| l.starts_with("2026-")), 6);
}

/// A successful delete where CloudFormation kept a resource (`DeletionPolicy: Retain` gives a
/// `DELETE_SKIPPED` event): `delete()` returns it as left behind, with its physical id.
#[tokio::test(start_paused = true)]
async fn a_delete_with_a_skipped_resource_reports_it_as_left_behind() {
    let delete_stack = mock!(Client::delete_stack)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .then_output(|| DeleteStackOutput::builder().build());
    let status = by_id(STACK_ID)
        .sequence()
        .output(|| described(stack(STACK_ID, "DELETE_IN_PROGRESS")))
        .output(|| described(stack(STACK_ID, "DELETE_COMPLETE")))
        .build();
    let d0 = event("d0", -60, STACK, "CREATE_COMPLETE", None);
    let d1 = event("d1", 0, STACK, "DELETE_IN_PROGRESS", Some("User Initiated"));
    let d2 = event("d2", 1, "DataVolume", "DELETE_SKIPPED", None);
    let d3 = event("d3", 2, "Instance", "DELETE_IN_PROGRESS", None);
    let d4 = event("d4", 60, "Instance", "DELETE_COMPLETE", None);
    let d5 = event("d5", 61, STACK, "DELETE_COMPLETE", None);
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output({
            let list = [d0.clone()];
            move || history(&list)
        })
        .output({
            let list = [d0.clone(), d1.clone()];
            move || history(&list)
        })
        .output(move || {
            history(&[
                d0.clone(),
                d1.clone(),
                d2.clone(),
                d3.clone(),
                d4.clone(),
                d5.clone(),
            ])
        })
        .build();
    let cfn = client(&[&delete_stack, &status, &events]);
    let (printer, captured) = printer(None);

    let left = settled(delete(
        &engine(cfn, &printer),
        &info("CREATE_COMPLETE", vec![]),
    ))
    .await
    .expect("deleted");

    assert_eq!(
        left,
        ["DataVolume (AWS::EC2::Volume) vol-0a1b2c3d4e5f67890"]
    );
    assert_eq!(delete_stack.num_calls(), 1);
    assert_eq!(status.num_calls(), 2);
    assert_eq!(events.num_calls(), 3);
    assert!(captured
        .stderr()
        .ends_with(&format!("stack `{STACK}` is DELETE_COMPLETE\n")));
}

// ---------------------------------------------------------------------------------------------
// 12. imports()
// ---------------------------------------------------------------------------------------------

fn exporting() -> StackInfo {
    info(
        "CREATE_COMPLETE",
        vec![
            OutputValue {
                key: "InstanceId".into(),
                value: "i-0a1b2c3d4e5f67890".into(),
                description: None,
                export_name: None,
            },
            OutputValue {
                key: "InstanceProfile".into(),
                value: "allora-common-InstanceProfile-AbCdEf".into(),
                description: None,
                export_name: Some("allora-common-InstanceProfile".into()),
            },
        ],
    )
}

/// ListImports for an export nobody imports answers `ValidationError` "Export 'X' is not
/// imported by any stack." (CloudFormation API Reference, ListImports): no importers. Only the
/// exported output is asked about.
#[tokio::test(start_paused = true)]
async fn an_export_imported_by_no_stack_has_no_importers() {
    let list = mock!(Client::list_imports)
        .match_requests(|r| r.export_name() == Some("allora-common-InstanceProfile"))
        .then_http_response(|| {
            aws_error(
                "ValidationError",
                "Export 'allora-common-InstanceProfile' is not imported by any stack.",
            )
        });
    let cfn = client(&[&list]);
    let (printer, _captured) = printer(None);

    let found = settled(imports(&engine(cfn, &printer), &exporting()))
        .await
        .expect("not imported is not an error");

    assert_eq!(found, Vec::<Import>::new());
    assert_eq!(list.num_calls(), 1);
}

/// ListImports answering `Imports: ["allora-single-node"]` names that stack as importer.
#[tokio::test(start_paused = true)]
async fn an_imported_export_names_its_importer() {
    let list = mock!(Client::list_imports)
        .match_requests(|r| r.export_name() == Some("allora-common-InstanceProfile"))
        .then_output(|| ListImportsOutput::builder().imports(STACK).build());
    let cfn = client(&[&list]);
    let (printer, _captured) = printer(None);

    let found = settled(imports(&engine(cfn, &printer), &exporting()))
        .await
        .expect("imports listed");

    assert_eq!(
        found,
        [Import {
            export: "allora-common-InstanceProfile".into(),
            importer: STACK.into(),
        }]
    );
    assert_eq!(list.num_calls(), 1);
}

/// ListImports pages with `NextToken`; every page is read. Any other error (here
/// `AccessDenied`) is an error, not "no importers".
#[tokio::test(start_paused = true)]
async fn imports_are_read_across_pages_and_other_errors_are_errors() {
    let first = mock!(Client::list_imports)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            ListImportsOutput::builder()
                .imports(STACK)
                .next_token("page-2")
                .build()
        });
    let second = mock!(Client::list_imports)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            ListImportsOutput::builder()
                .imports("theta-single-node")
                .build()
        });
    let cfn = client(&[&first, &second]);
    let (printer, _captured) = printer(None);
    let found = settled(imports(&engine(cfn, &printer), &exporting()))
        .await
        .expect("imports listed");
    assert_eq!(
        found
            .iter()
            .map(|i| i.importer.as_str())
            .collect::<Vec<_>>(),
        [STACK, "theta-single-node"]
    );
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));

    let denied = mock!(Client::list_imports).then_http_response(|| {
        aws_error(
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudformation:ListImports",
        )
    });
    let cfn = client(&[&denied]);
    let err = settled(imports(&engine(cfn, &printer), &exporting()))
        .await
        .expect_err("access denied is an error");
    assert_eq!(err.code.as_deref(), Some("AccessDenied"));
    assert_eq!(denied.num_calls(), 1);
}

// ---------------------------------------------------------------------------------------------
// 12. Retries, refusals and the timeout (issue: the stack engine survives faults)
// ---------------------------------------------------------------------------------------------

/// DescribeChangeSet of the pending update with `ExecutionStatus` `execution`.
fn change_set_executing(execution: &'static str) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .change_set_id(CHANGE_SET_ID)
        .stack_id(STACK_ID)
        .stack_name(STACK)
        .status(ChangeSetStatus::CreateComplete)
        .execution_status(aws_sdk_cloudformation::types::ExecutionStatus::from(
            execution,
        ))
        .set_changes(Some(vec![resource_change(
            ChangeAction::Modify,
            "Instance",
            Some(Replacement::False),
        )]))
        .build()
}

/// The reply to a processed ExecuteChangeSet is lost; the SDK retries, and CloudFormation
/// refuses the retry with `InvalidChangeSetStatus` (the stack is already updating). nodectl
/// reads the change set back (`ExecutionStatus` `EXECUTE_IN_PROGRESS`: its own execution) and
/// follows the update to its end instead of failing while the stack updates.
#[tokio::test(start_paused = true)]
async fn a_refused_retry_of_an_executed_change_set_is_followed_to_success() {
    let existing = by_name().then_output(|| described(stack(STACK_ID, "UPDATE_COMPLETE")));
    let create = mock!(Client::create_change_set).then_output(|| change_set_created(STACK_ID));
    let describe_change_set = mock!(Client::describe_change_set)
        .sequence()
        .output(|| change_set_executing("AVAILABLE"))
        .output(|| change_set_executing("EXECUTE_IN_PROGRESS"))
        .build();
    let execute = mock!(Client::execute_change_set).then_http_response(|| {
        aws_error(
            "InvalidChangeSetStatus",
            "ChangeSet [arn] cannot be executed in its current status of [EXECUTE_IN_PROGRESS]",
        )
    });
    let status = by_id(STACK_ID)
        .sequence()
        .output(|| described(stack(STACK_ID, "UPDATE_IN_PROGRESS")))
        .output(|| described(stack(STACK_ID, "UPDATE_COMPLETE")))
        .build();
    let e1 = event("e1", 0, STACK, "UPDATE_IN_PROGRESS", Some("User Initiated"));
    let e2 = event("e2", 5, STACK, "UPDATE_COMPLETE", None);
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| history(&[]))
        .output({
            let e1 = e1.clone();
            move || history(std::slice::from_ref(&e1))
        })
        .output(move || history(&[e1.clone(), e2.clone()]))
        .build();
    let cfn = client(&[
        &existing,
        &create,
        &describe_change_set,
        &execute,
        &status,
        &events,
    ]);
    let (printer, _captured) = printer(None);

    let result = deploy_plan(
        &engine(cfn, &printer),
        &printer,
        options(Method::ChangeSet, true),
    )
    .await;

    let DeployResult::Deployed(info) = result.expect("the update went through") else {
        panic!("expected Deployed");
    };
    assert_eq!(info.status, "UPDATE_COMPLETE");
    assert_eq!(execute.num_calls(), 1);
    assert_eq!(
        describe_change_set.num_calls(),
        2,
        "once to review, once to read the refused execution back"
    );
}

/// A deploy of an existing stack whose ExecuteChangeSet is refused with `code` and `message`;
/// reading the change set back finds it `AVAILABLE`, then `later`. The deploy's error.
async fn refused_execution(
    later: &'static str,
    code: &'static str,
    message: &'static str,
) -> Error {
    let existing = by_name().then_output(|| described(stack(STACK_ID, "UPDATE_COMPLETE")));
    let create = mock!(Client::create_change_set).then_output(|| change_set_created(STACK_ID));
    let describe_change_set = mock!(Client::describe_change_set)
        .sequence()
        .output(|| change_set_executing("AVAILABLE"))
        .output(move || change_set_executing(later))
        .build();
    let execute =
        mock!(Client::execute_change_set).then_http_response(move || aws_error(code, message));
    let events = mock!(Client::describe_stack_events).then_output(|| history(&[]));
    let cfn = client(&[&existing, &create, &describe_change_set, &execute, &events]);
    let (printer, _captured) = printer(None);
    expect_err(
        deploy_plan(
            &engine(cfn, &printer),
            &printer,
            options(Method::ChangeSet, true),
        )
        .await,
    )
}

/// Regression: ExecuteChangeSet refused for a reason of its own (moto refuses a missing export
/// with a ValidationError) was reported as "another operation changed the stack" because the
/// change set was still AVAILABLE. It is the AWS error.
#[tokio::test(start_paused = true)]
async fn a_refused_execution_that_is_no_status_conflict_is_the_aws_error() {
    let err = refused_execution(
        "AVAILABLE",
        "ValidationError",
        "No export named theta-edge-common-NodeAccessPolicyArn found.",
    )
    .await;
    let (message, _) = report(&err);
    assert_eq!(
        message,
        format!(
            "cannot execute the change set of stack `{STACK}` in `{REGION}`: ValidationError: \
             No export named theta-edge-common-NodeAccessPolicyArn found."
        )
    );
}

/// Another deploy executed its own change set on the stack while this one waited at the
/// prompt: this change set is `OBSOLETE` and its execution refused. nodectl says so, and
/// executes nothing.
#[tokio::test(start_paused = true)]
async fn a_change_set_made_obsolete_by_another_deploy_is_a_clear_error() {
    let err = refused_execution(
        "OBSOLETE",
        "InvalidChangeSetStatus",
        "ChangeSet [arn] cannot be executed in its current status of [OBSOLETE]",
    )
    .await;

    assert_eq!(err.exit_code(), ExitCode::Error);
    assert_eq!(
        report(&err),
        (
            format!(
                "another operation changed stack `{STACK}` in `{REGION}` while this deploy \
                 waited; its change set was not executed (its change set is OBSOLETE: \
                 InvalidChangeSetStatus: ChangeSet [arn] cannot be executed in its current \
                 status of [OBSOLETE])"
            ),
            Some(
                "someone else deployed or changed the stack at the same time: see what it is \
                 doing with `nodectl status`, then run the deploy again"
                    .into()
            )
        )
    );
}

/// Every status poll is throttled until `--timeout` (20 s) elapses, while the stack completes
/// behind the throttling: the last look after the timeout sees `CREATE_COMPLETE`, and the
/// deploy succeeds instead of exiting 5 ("still in progress"). No poll runs past the timeout
/// (the SDK's own retries included).
#[tokio::test(start_paused = true)]
async fn a_stack_that_settles_behind_throttled_polls_is_a_success_not_a_timeout() {
    let start = tokio::time::Instant::now();
    let not_found = by_name().then_http_response(stack_not_found);
    let create = mock!(Client::create_stack)
        .match_requests(|r| r.stack_name() == Some(STACK))
        .then_output(|| CreateStackOutput::builder().stack_id(STACK_ID).build());
    let status = by_id(STACK_ID).then_http_response(move || {
        if start.elapsed() < Duration::from_secs(20) {
            throttled()
        } else {
            let body = "<DescribeStacksResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><DescribeStacksResult><Stacks><member><StackId>".to_string()
                + STACK_ID
                + "</StackId><StackName>"
                + STACK
                + "</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-11-21T10:15:00Z</CreationTime></member></Stacks></DescribeStacksResult></DescribeStacksResponse>";
            Response::new(StatusCode::try_from(200).unwrap(), SdkBody::from(body))
        }
    });
    let events = mock!(Client::describe_stack_events).then_output(|| history(&[]));
    // nodectl's production retries: 7 attempts with backoff, inside every poll.
    let cfn = client_with(
        RuleMode::MatchAny,
        production_retries(),
        &[&not_found, &create, &status, &events],
    );
    let (printer, _captured) = printer(None);
    let mut engine = engine(cfn, &printer);
    engine.timeout = Some(Duration::from_secs(20));

    let result = deploy_plan(&engine, &printer, options(Method::Direct, true)).await;

    let DeployResult::Deployed(info) = result.expect("the stack completed") else {
        panic!("expected Deployed");
    };
    assert_eq!(info.status, "CREATE_COMPLETE");
    assert!(
        start.elapsed() < Duration::from_secs(20 + 5),
        "decided right after the timeout: {:?}",
        start.elapsed()
    );
}

/// Issue 12: the change sets earlier nodectl runs left on a stack (`--no-execute`, a declined
/// or interrupted deploy) are deleted before the next one is created; another tool's change
/// set and one being executed are left alone (ListChangeSets, DeleteChangeSet).
#[tokio::test(start_paused = true)]
async fn nodectls_old_change_sets_are_deleted_before_the_next_deploy() {
    const OLD: &str =
        "arn:aws:cloudformation:us-east-1:123456789012:changeSet/nodectl-1795000000-00000001/1";
    let update = PendingUpdate::new(Replacement::False);
    let listed = mock!(Client::list_change_sets).then_output(|| {
        use aws_sdk_cloudformation::types::ExecutionStatus;
        let summary = |name: &str, id: &str, execution: ExecutionStatus| {
            aws_sdk_cloudformation::types::ChangeSetSummary::builder()
                .change_set_name(name)
                .change_set_id(id)
                .execution_status(execution)
                .build()
        };
        ListChangeSetsOutput::builder()
            .summaries(summary(
                "nodectl-1795000000-00000001",
                OLD,
                ExecutionStatus::Available,
            ))
            .summaries(summary(
                "cdk-deploy-change-set",
                "arn:other",
                ExecutionStatus::Available,
            ))
            .summaries(summary(
                "nodectl-1795000001-00000002",
                "arn:executing",
                ExecutionStatus::ExecuteInProgress,
            ))
            .build()
    });
    let delete_old = mock!(Client::delete_change_set)
        .match_requests(|r| r.change_set_name() == Some(OLD))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let cfn = client(&[
        &listed,
        &delete_old,
        &update.existing,
        &update.create,
        &update.describe_change_set,
        &update.delete_change_set,
        &update.delete_stack,
        &update.execute,
    ]);
    let (printer, captured) = printer(Some("\n"));
    let err = expect_err(
        deploy_plan(
            &engine(cfn, &printer),
            &printer,
            options(Method::ChangeSet, false),
        )
        .await,
    );
    assert!(matches!(err, Error::Aborted(_)), "{err:?}");
    assert_eq!(delete_old.num_calls(), 1);
    // The new change set, declined, is deleted too; nothing else is.
    assert_eq!(update.delete_change_set.num_calls(), 1);
    assert!(
        captured.stderr().contains(&format!(
            "deleted 1 change set an earlier nodectl run left on stack `{STACK}`: \
             nodectl-1795000000-00000001\n"
        )),
        "{}",
        captured.stderr()
    );
}

/// `--no-rollback`: ExecuteChangeSet carries DisableRollback.
#[tokio::test(start_paused = true)]
async fn no_rollback_is_sent_with_the_execution() {
    let update = PendingUpdate::new(Replacement::False);
    let execute = mock!(Client::execute_change_set)
        .match_requests(|r| r.disable_rollback() == Some(true))
        .then_output(|| ExecuteChangeSetOutput::builder().build());
    let done = by_id(STACK_ID).then_output(|| described(stack(STACK_ID, "UPDATE_COMPLETE")));
    let events = mock!(Client::describe_stack_events)
        .then_output(|| history(&[event("e1", 1, STACK, "UPDATE_COMPLETE", None)]));
    let cfn = client(&[
        &update.existing,
        &update.create,
        &update.describe_change_set,
        &execute,
        &done,
        &events,
    ]);
    let (printer, _captured) = printer(None);
    let mut engine = engine(cfn, &printer);
    engine.disable_rollback = true;
    settled(deploy_stack(
        &engine,
        &printer,
        &plan(),
        &options(Method::ChangeSet, true),
    ))
    .await
    .expect("deployed");
    assert_eq!(execute.num_calls(), 1);
}
