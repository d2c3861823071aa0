//! Reaching a node and waiting for an SSM command (issue 13), as exact API sequences
//! (aws-smithy-mocks, written from the AWS Systems Manager and Amazon EC2 API References): what
//! neither emulator nor our SSM double produces on cue. SendCommand is followed by
//! GetCommandInvocation answering `InvocationDoesNotExist` for a moment, then `InProgress`,
//! then a final status; a command that never ends is cancelled; throttling backs off; a stopped
//! instance and an agent that never registered are refused with what to do.

use std::time::Duration;

use aws_sdk_ec2::types::{Instance, InstanceState, InstanceStateName, Reservation};
use aws_sdk_ssm::operation::describe_instance_information::DescribeInstanceInformationOutput;
use aws_sdk_ssm::operation::get_command_invocation::GetCommandInvocationOutput;
use aws_sdk_ssm::operation::send_command::SendCommandOutput;
use aws_sdk_ssm::types::{Command, CommandInvocationStatus, InstanceInformation, PingStatus};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use nodectl::aws::cloudformation::CloudFormation;
use nodectl::aws::ec2::Ec2;
use nodectl::aws::poll::PollConfig;
use nodectl::aws::ssm::Ssm;
use nodectl::ops::node::{Located, NodeOps};
use nodectl::printer::{OutputFormat, Printer};

const INSTANCE: &str = "i-0123456789abcdef0";

fn node() -> Located {
    Located {
        stack: "theta-edge-single-node-mainnet".into(),
        instance_id: INSTANCE.into(),
    }
}

fn ops<'a>(ssm: &[&Rule], ec2: &[&Rule], printer: &'a Printer) -> NodeOps<'a> {
    ops_in(RuleMode::Sequential, ssm, ec2, printer)
}

/// [`ops`] with the SSM rules matched in `mode` (MatchAny: each call takes the first rule
/// for its operation, for a rule that repeats forever).
fn ops_in<'a>(mode: RuleMode, ssm: &[&Rule], ec2: &[&Rule], printer: &'a Printer) -> NodeOps<'a> {
    let ssm: aws_sdk_ssm::Client = mock_client!(aws_sdk_ssm, mode, ssm);
    let ec2: aws_sdk_ec2::Client = mock_client!(aws_sdk_ec2, RuleMode::Sequential, ec2);
    let cfn: aws_sdk_cloudformation::Client =
        mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, &[]);
    NodeOps {
        cfn: CloudFormation::new(cfn),
        ec2: Ec2::from_client(ec2),
        ssm: Ssm::from_client(ssm),
        observer: printer,
        poll: PollConfig {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        },
        region: "us-east-1".into(),
    }
}

/// An SSM error reply (awsJson1_1: `__type` and `message`).
fn error(code: &str, message: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(400).expect("status"),
        SdkBody::from(format!(r#"{{"__type":"{code}","message":"{message}"}}"#)),
    )
}

fn sent() -> Rule {
    mock!(aws_sdk_ssm::Client::send_command).then_output(|| {
        SendCommandOutput::builder()
            .command(Command::builder().command_id("cmd-1").build())
            .build()
    })
}

fn invocation(
    status: CommandInvocationStatus,
    code: i32,
    stdout: &str,
) -> GetCommandInvocationOutput {
    GetCommandInvocationOutput::builder()
        .command_id("cmd-1")
        .instance_id(INSTANCE)
        .status(status)
        .response_code(code)
        .standard_output_content(stdout)
        .standard_error_content("")
        .build()
}

fn running_instance(state: InstanceStateName) -> Rule {
    mock!(aws_sdk_ec2::Client::describe_instances).then_output(move || {
        aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput::builder()
            .reservations(
                Reservation::builder()
                    .instances(
                        Instance::builder()
                            .instance_id(INSTANCE)
                            .state(InstanceState::builder().name(state.clone()).build())
                            .build(),
                    )
                    .build(),
            )
            .build()
    })
}

#[tokio::test(start_paused = true)]
async fn a_command_is_followed_from_unknown_through_in_progress_to_its_result() {
    let send = sent();
    let get = mock!(aws_sdk_ssm::Client::get_command_invocation)
        .sequence()
        .http_response(|| error("InvocationDoesNotExist", ""))
        .output(|| invocation(CommandInvocationStatus::InProgress, -1, ""))
        .times(3)
        .http_response(|| error("ThrottlingException", "Rate exceeded"))
        .output(|| invocation(CommandInvocationStatus::Failed, 3, "partial\n"))
        .build();
    let (printer, _) = Printer::buffered(OutputFormat::Text, None);
    let ops = ops(&[&send, &get], &[], &printer);
    let result = ops
        .run(
            &node(),
            vec!["exit 3".into()],
            Duration::from_secs(60),
            "test",
        )
        .await
        .expect("a result");
    assert_eq!(result.status, "Failed");
    assert_eq!(result.exit_code, 3);
    assert_eq!(result.stdout, "partial\n");
    assert_eq!(get.num_calls(), 6);
}

#[tokio::test(start_paused = true)]
async fn a_command_that_never_ends_is_cancelled_after_its_timeout_and_the_delivery() {
    let send = sent();
    let get = mock!(aws_sdk_ssm::Client::get_command_invocation)
        .sequence()
        .output(|| invocation(CommandInvocationStatus::InProgress, -1, ""))
        .repeatedly()
        .build();
    let cancel = mock!(aws_sdk_ssm::Client::cancel_command).then_output(|| {
        aws_sdk_ssm::operation::cancel_command::CancelCommandOutput::builder().build()
    });
    let (printer, _) = Printer::buffered(OutputFormat::Text, None);
    let ops = ops_in(RuleMode::MatchAny, &[&send, &get, &cancel], &[], &printer);
    let start = tokio::time::Instant::now();
    let err = ops
        .run(
            &node(),
            vec!["sleep 999".into()],
            Duration::from_secs(30),
            "test",
        )
        .await
        .expect_err("a timeout");
    let waited = start.elapsed().as_secs();
    assert!((90..=96).contains(&waited), "waited {waited} s");
    assert_eq!(cancel.num_calls(), 1);
    let (message, hint) = err.reports().remove(0);
    assert_eq!(
        message,
        format!("SSM command cmd-1 on instance {INSTANCE} did not finish within 90 s")
    );
    assert_eq!(
        hint.as_deref(),
        Some("it was cancelled; try again with a longer --timeout")
    );
    // At most one GetCommandInvocation every 5 s once nothing happens.
    assert!(get.num_calls() <= 30, "{} polls", get.num_calls());
}

#[tokio::test]
async fn a_stopped_instance_is_refused_with_how_to_start_it() {
    let described = running_instance(InstanceStateName::Stopped);
    let (printer, _) = Printer::buffered(OutputFormat::Text, None);
    let ops = ops(&[], &[&described], &printer);
    let err = ops.reachable(&node()).await.expect_err("refused");
    assert_eq!(
        err.reports(),
        vec![(
            format!("instance {INSTANCE} of stack `theta-edge-single-node-mainnet` is stopped"),
            Some(format!(
                "start it: aws ec2 start-instances --instance-ids {INSTANCE} --region us-east-1"
            ))
        )]
    );
}

#[tokio::test]
async fn an_agent_that_never_registered_is_refused_with_the_usual_causes() {
    let described = running_instance(InstanceStateName::Running);
    let none = mock!(aws_sdk_ssm::Client::describe_instance_information)
        .then_output(|| DescribeInstanceInformationOutput::builder().build());
    let (printer, _) = Printer::buffered(OutputFormat::Text, None);
    let ops = ops(&[&none], &[&described], &printer);
    let (message, hint) = ops
        .reachable(&node())
        .await
        .expect_err("refused")
        .reports()
        .remove(0);
    assert_eq!(
        message,
        format!(
            "the SSM agent of instance {INSTANCE} (theta-edge-single-node-mainnet) is not \
             registered with Systems Manager"
        )
    );
    assert!(hint.unwrap().contains("AmazonSSMManagedInstanceCore"));
    // Online is reachable.
    let described = running_instance(InstanceStateName::Running);
    let online = mock!(aws_sdk_ssm::Client::describe_instance_information).then_output(|| {
        DescribeInstanceInformationOutput::builder()
            .instance_information_list(
                InstanceInformation::builder()
                    .instance_id(INSTANCE)
                    .ping_status(PingStatus::Online)
                    .build(),
            )
            .build()
    });
    let ops = self::ops(&[&online], &[&described], &printer);
    ops.reachable(&node()).await.expect("reachable");
}
