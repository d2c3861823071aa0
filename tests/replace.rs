//! A deploy that replaces a node's instance keeps its data volume (`nodectl::ops::replace`):
//! the exact sequence of CloudFormation and EC2 calls, against `aws-smithy-mocks` rules
//! written from the AWS CloudFormation and Amazon EC2 API References.
//!
//! Why mocks: no emulator models this. LocalStack replaces an instance but never creates EBS
//! volumes or attachments; moto reports an update complete without replacing the instance
//! (issue 15, measured). Here a small stateful EC2 "world" answers DescribeInstances and
//! DescribeVolumes from what StopInstances, DetachVolume, AttachVolume and StartInstances did,
//! and the mocked ExecuteChangeSet plays CloudFormation's part: it attaches the volume to the
//! new instance, which fails with `VolumeInUse` while the old instance still holds it (the
//! failure nodectl's sequence exists to avoid). One shared log records every call of both
//! services in order, so each test asserts the whole conversation.
//!
//! What this cannot show: the real timings, and that the new instance's user data mounts the
//! volume without formatting it (`tests/userdata.rs` runs `data-volume.sh` against a device
//! that has a filesystem).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudformation::config::retry::{RetryConfig, RetryPartition};
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stack_resources::DescribeStackResourcesOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::list_change_sets::ListChangeSetsOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeType, Replacement, ResourceChange, ResourceStatus,
    Stack, StackEvent, StackResource, StackStatus,
};
use aws_sdk_ec2::operation::attach_volume::AttachVolumeOutput;
use aws_sdk_ec2::operation::create_snapshot::CreateSnapshotOutput;
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::operation::describe_snapshots::DescribeSnapshotsOutput;
use aws_sdk_ec2::operation::describe_volumes::DescribeVolumesOutput;
use aws_sdk_ec2::operation::detach_volume::DetachVolumeOutput;
use aws_sdk_ec2::operation::start_instances::StartInstancesOutput;
use aws_sdk_ec2::operation::stop_instances::StopInstancesOutput;
use aws_sdk_ec2::types::{
    Instance, InstanceState, InstanceStateName, Reservation, Snapshot, SnapshotState, Volume,
    VolumeAttachment, VolumeAttachmentState, VolumeState,
};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::DateTime;

use nodectl::aws::cloudformation::CloudFormation;
use nodectl::aws::ec2::Ec2;
use nodectl::aws::poll::PollConfig;
use nodectl::error::{Error, ExitCode};
use nodectl::ops::deploy::{deploy_stack_with, Keeper};
use nodectl::plan::StackSpec;
use nodectl::printer::{Captured, OutputFormat, Printer};
use nodectl::stack::deploy::{DeployOptions, DeployResult, Method};
use nodectl::stack::Engine;
use nodectl::template::Template;

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const STACK: &str = "allora-single-node";
const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/allora-single-node/0f3c7a10-c84b-11f0-9a4e-0affd3a1b2c3";
const CHANGE_SET_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/nodectl-1795342500-0a1b2c3d/6c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f";
const OLD: &str = "i-0aaaaaaaaaaaaaaa1";
const NEW: &str = "i-0bbbbbbbbbbbbbbb2";
const VOLUME: &str = "vol-0ccccccccccccccc3";
const SNAPSHOT: &str = "snap-0ddddddddddddddd4";
const HOLDS: &str = "the worker's keyring";
const T0: i64 = 1_795_342_500;
const TEMPLATE: &str = r#"{"AWSTemplateFormatVersion":"2010-09-09","Parameters":{"ImageId":{"Type":"String"}},"Resources":{"DataVolume":{"Type":"AWS::EC2::Volume","Properties":{"Size":8,"AvailabilityZone":"us-east-1a"}},"Instance":{"Type":"AWS::EC2::Instance","Properties":{"ImageId":{"Ref":"ImageId"},"Volumes":[{"Device":"/dev/sdf","VolumeId":{"Ref":"DataVolume"}}]}}}}"#;

/// What the mocked services hold, and every call in order.
#[derive(Debug)]
struct World {
    /// (instance id, state) of the old and, once created, the new instance.
    instances: Vec<(String, String)>,
    /// The instance the volume is attached to, and its device.
    attached: Option<(String, String)>,
    /// Whether the update CloudFormation runs succeeds (else it rolls back).
    update_succeeds: bool,
    /// Whether the change set's replacement happens (a `Conditional` one may not).
    replaces: bool,
    /// A stopping instance never reaches `stopped`.
    stuck_stopping: bool,
    /// The update never ends (the stack stays `UPDATE_IN_PROGRESS`).
    update_hangs: bool,
    /// The engine's `--timeout`.
    timeout: Option<Duration>,
    /// Every call, `Service.Operation args`.
    log: Vec<String>,
}

type Shared = Arc<Mutex<World>>;

fn world(update_succeeds: bool) -> Shared {
    Arc::new(Mutex::new(World {
        instances: vec![(OLD.into(), "running".into())],
        attached: Some((OLD.into(), "/dev/sdf".into())),
        update_succeeds,
        replaces: true,
        stuck_stopping: false,
        update_hangs: false,
        timeout: None,
        log: Vec::new(),
    }))
}

fn log(world: &Shared, entry: String) {
    world.lock().unwrap().log.push(entry);
}

fn the_log(world: &Shared) -> Vec<String> {
    world.lock().unwrap().log.clone()
}

fn set_state(world: &Shared, id: &str, state: &str) {
    let mut w = world.lock().unwrap();
    if let Some(entry) = w.instances.iter_mut().find(|(i, _)| i == id) {
        entry.1 = state.to_string();
    }
}

/// The instance the stack holds after the operation: CloudFormation's view.
fn current_instance(world: &Shared) -> String {
    let w = world.lock().unwrap();
    if w.update_succeeds && w.replaces {
        NEW.into()
    } else {
        OLD.into()
    }
}

// ---------------------------------------------------------------------------------------------
// EC2
// ---------------------------------------------------------------------------------------------

/// An error as EC2 sends it (ec2Query: HTTP 400, `<Response><Errors>` XML).
fn ec2_error(code: &str, message: &str) -> Response {
    let body = format!(
        "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error>\
         </Errors><RequestID>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestID></Response>"
    );
    Response::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body))
}

fn ec2_rules(world: &Shared, stop_refused: bool) -> Vec<Rule> {
    let w = world.clone();
    let describe_instances =
        mock!(aws_sdk_ec2::Client::describe_instances).then_compute_output(move |input| {
            let id = input.instance_ids()[0].clone();
            let mut state = w
                .lock()
                .unwrap()
                .instances
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, s)| s.clone())
                .unwrap_or_else(|| "terminated".into());
            // A stop or start is seen in progress once, then done.
            let stuck = w.lock().unwrap().stuck_stopping;
            let settled = match state.as_str() {
                "stopping" if stuck => None,
                "stopping" => Some("stopped"),
                "pending" => Some("running"),
                _ => None,
            };
            if let Some(next) = settled {
                set_state(&w, &id, next);
                state = state.clone();
            }
            DescribeInstancesOutput::builder()
                .reservations(
                    Reservation::builder()
                        .instances(
                            Instance::builder()
                                .instance_id(&id)
                                .image_id("ami-0123456789abcdef0")
                                .state(
                                    InstanceState::builder()
                                        .name(InstanceStateName::from(state.as_str()))
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let w = world.clone();
    let describe_volumes =
        mock!(aws_sdk_ec2::Client::describe_volumes).then_compute_output(move |_| {
            let attached = w.lock().unwrap().attached.clone();
            let mut volume = Volume::builder()
                .volume_id(VOLUME)
                .state(if attached.is_some() {
                    VolumeState::InUse
                } else {
                    VolumeState::Available
                });
            if let Some((instance, device)) = attached {
                volume = volume.attachments(
                    VolumeAttachment::builder()
                        .instance_id(instance)
                        .device(device)
                        .volume_id(VOLUME)
                        .state(VolumeAttachmentState::Attached)
                        .build(),
                );
            }
            DescribeVolumesOutput::builder()
                .volumes(volume.build())
                .build()
        });
    let w = world.clone();
    let create_snapshot =
        mock!(aws_sdk_ec2::Client::create_snapshot).then_compute_output(move |input| {
            log(
                &w,
                format!(
                    "EC2.CreateSnapshot {}",
                    input.volume_id().unwrap_or_default()
                ),
            );
            CreateSnapshotOutput::builder()
                .snapshot_id(SNAPSHOT)
                .build()
        });
    let describe_snapshots = mock!(aws_sdk_ec2::Client::describe_snapshots)
        .sequence()
        .output(|| snapshot(SnapshotState::Pending, "40%"))
        .output(|| snapshot(SnapshotState::Completed, "100%"))
        .repeatedly()
        .build();
    let w = world.clone();
    let stop = if stop_refused {
        mock!(aws_sdk_ec2::Client::stop_instances).then_http_response(|| {
            ec2_error(
                "UnauthorizedOperation",
                "You are not authorized to perform this operation.",
            )
        })
    } else {
        mock!(aws_sdk_ec2::Client::stop_instances).then_compute_output(move |input| {
            let id = input.instance_ids()[0].clone();
            log(&w, format!("EC2.StopInstances {id}"));
            set_state(&w, &id, "stopping");
            StopInstancesOutput::builder().build()
        })
    };
    let w = world.clone();
    let start = mock!(aws_sdk_ec2::Client::start_instances).then_compute_output(move |input| {
        let id = input.instance_ids()[0].clone();
        log(&w, format!("EC2.StartInstances {id}"));
        set_state(&w, &id, "pending");
        StartInstancesOutput::builder().build()
    });
    let w = world.clone();
    let detach = mock!(aws_sdk_ec2::Client::detach_volume).then_compute_output(move |input| {
        let instance = input.instance_id().unwrap_or_default().to_string();
        let mut world = w.lock().unwrap();
        world.log.push(format!(
            "EC2.DetachVolume {} from {instance}",
            input.volume_id().unwrap_or_default()
        ));
        let running = world
            .instances
            .iter()
            .any(|(i, s)| *i == instance && s == "running");
        assert!(!running, "the volume was detached from a running instance");
        world.attached = None;
        DetachVolumeOutput::builder().build()
    });
    let w = world.clone();
    let attach = mock!(aws_sdk_ec2::Client::attach_volume).then_compute_output(move |input| {
        let instance = input.instance_id().unwrap_or_default().to_string();
        let device = input.device().unwrap_or_default().to_string();
        let mut world = w.lock().unwrap();
        world.log.push(format!(
            "EC2.AttachVolume {} to {instance} as {device}",
            input.volume_id().unwrap_or_default()
        ));
        assert!(world.attached.is_none(), "attached an in-use volume");
        world.attached = Some((instance, device));
        AttachVolumeOutput::builder().build()
    });
    vec![
        describe_instances,
        describe_volumes,
        create_snapshot,
        describe_snapshots,
        stop,
        start,
        detach,
        attach,
    ]
}

fn snapshot(state: SnapshotState, progress: &str) -> DescribeSnapshotsOutput {
    DescribeSnapshotsOutput::builder()
        .snapshots(
            Snapshot::builder()
                .snapshot_id(SNAPSHOT)
                .state(state)
                .progress(progress)
                .build(),
        )
        .build()
}

// ---------------------------------------------------------------------------------------------
// CloudFormation
// ---------------------------------------------------------------------------------------------

fn stack(status: &str) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_id(STACK_ID)
                .stack_name(STACK)
                .stack_status(StackStatus::from(status))
                .creation_time(DateTime::from_secs(T0 - 86_400))
                .enable_termination_protection(false)
                .build(),
        )
        .build()
}

fn event(id: &str, t: i64, logical: &str, status: &str, reason: Option<&str>) -> StackEvent {
    StackEvent::builder()
        .stack_id(STACK_ID)
        .event_id(id)
        .stack_name(STACK)
        .logical_resource_id(logical)
        .physical_resource_id(if logical == STACK { STACK_ID } else { NEW })
        .resource_type(if logical == STACK {
            "AWS::CloudFormation::Stack"
        } else {
            "AWS::EC2::Instance"
        })
        .timestamp(DateTime::from_secs(T0 + t))
        .resource_status(ResourceStatus::from(status))
        .set_resource_status_reason(reason.map(str::to_string))
        .build()
}

fn history(chronological: &[StackEvent]) -> DescribeStackEventsOutput {
    DescribeStackEventsOutput::builder()
        .set_stack_events(Some(chronological.iter().rev().cloned().collect()))
        .build()
}

const VOLUME_IN_USE: &str = "Resource handler returned message: \"vol-0ccccccccccccccc3 is already attached to an instance (Service: Ec2, Status Code: 400)\" (HandlerErrorCode: ResourceConflict)";
const BAD_IMAGE: &str = "Resource handler returned message: \"The architecture 'arm64' of the specified instance type does not match the architecture 'x86_64' of the specified AMI. (Service: Ec2, Status Code: 400)\" (HandlerErrorCode: InvalidRequest)";

fn cfn_rules(world: &Shared, replacement: Replacement) -> Vec<Rule> {
    let existing = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .match_requests(|r| r.stack_name() == Some(STACK))
        .then_output(|| stack("UPDATE_COMPLETE"));
    let create = mock!(aws_sdk_cloudformation::Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id(CHANGE_SET_ID)
            .stack_id(STACK_ID)
            .build()
    });
    let describe_change_set = mock!(aws_sdk_cloudformation::Client::describe_change_set)
        .then_output(move || {
            DescribeChangeSetOutput::builder()
                .change_set_id(CHANGE_SET_ID)
                .stack_id(STACK_ID)
                .stack_name(STACK)
                .status(ChangeSetStatus::CreateComplete)
                .changes(
                    Change::builder()
                        .r#type(ChangeType::Resource)
                        .resource_change(
                            ResourceChange::builder()
                                .action(ChangeAction::Modify)
                                .logical_resource_id("Instance")
                                .resource_type("AWS::EC2::Instance")
                                .replacement(replacement.clone())
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let list = mock!(aws_sdk_cloudformation::Client::list_change_sets)
        .then_output(|| ListChangeSetsOutput::builder().build());
    let w = world.clone();
    let delete_change_set = mock!(aws_sdk_cloudformation::Client::delete_change_set)
        .then_compute_output(move |_| {
            log(&w, "CloudFormation.DeleteChangeSet".into());
            DeleteChangeSetOutput::builder().build()
        });
    let w = world.clone();
    let resources = mock!(aws_sdk_cloudformation::Client::describe_stack_resources)
        .then_compute_output(move |_| {
            let instance = {
                let executed = w
                    .lock()
                    .unwrap()
                    .log
                    .iter()
                    .any(|l| l.starts_with("CloudFormation.ExecuteChangeSet"));
                if executed {
                    current_instance(&w)
                } else {
                    OLD.into()
                }
            };
            let resource = |logical: &str, kind: &str, id: &str| {
                StackResource::builder()
                    .logical_resource_id(logical)
                    .resource_type(kind)
                    .physical_resource_id(id)
                    .resource_status(ResourceStatus::UpdateComplete)
                    .timestamp(DateTime::from_secs(T0))
                    .build()
            };
            DescribeStackResourcesOutput::builder()
                .stack_resources(resource("DataVolume", "AWS::EC2::Volume", VOLUME))
                .stack_resources(resource("Instance", "AWS::EC2::Instance", &instance))
                .build()
        });
    // ExecuteChangeSet plays CloudFormation: create the new instance, attach the volume to it
    // (VolumeInUse while the old one holds it), and on failure roll back (delete the new one,
    // which lets go of the volume).
    let w = world.clone();
    let execute =
        mock!(aws_sdk_cloudformation::Client::execute_change_set).then_compute_output(move |_| {
            let mut world = w.lock().unwrap();
            world.log.push("CloudFormation.ExecuteChangeSet".into());
            if world.replaces {
                if world.attached.is_some() {
                    world.update_succeeds = false;
                    world.log.push(format!("(VolumeInUse: {VOLUME})"));
                } else if world.update_succeeds {
                    world.instances.push((NEW.into(), "running".into()));
                    world.attached = Some((NEW.into(), "/dev/sdf".into()));
                }
            }
            ExecuteChangeSetOutput::builder().build()
        });
    let w = world.clone();
    let status = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .then_compute_output(move |_| {
            let w = w.lock().unwrap();
            stack(if w.update_hangs {
                "UPDATE_IN_PROGRESS"
            } else if w.update_succeeds {
                "UPDATE_COMPLETE"
            } else {
                "UPDATE_ROLLBACK_COMPLETE"
            })
        });
    let w = world.clone();
    let events = mock!(aws_sdk_cloudformation::Client::describe_stack_events).then_compute_output(
        move |_| {
            let world = w.lock().unwrap();
            let executed = world
                .log
                .iter()
                .any(|l| l.starts_with("CloudFormation.ExecuteChangeSet"));
            let old = event("e0", -3600, STACK, "UPDATE_COMPLETE", None);
            if !executed {
                return history(&[old]);
            }
            let reason = if world.log.iter().any(|l| l.starts_with("(VolumeInUse")) {
                VOLUME_IN_USE
            } else {
                BAD_IMAGE
            };
            let mut all = vec![
                old,
                event("e1", 0, STACK, "UPDATE_IN_PROGRESS", Some("User Initiated")),
                event("e2", 2, "Instance", "UPDATE_IN_PROGRESS", None),
            ];
            if world.update_succeeds {
                all.push(event("e3", 40, "Instance", "UPDATE_COMPLETE", None));
                all.push(event("e4", 60, STACK, "UPDATE_COMPLETE", None));
            } else {
                all.push(event("e3", 40, "Instance", "UPDATE_FAILED", Some(reason)));
                all.push(event("e4", 60, STACK, "UPDATE_ROLLBACK_COMPLETE", None));
            }
            history(&all)
        },
    );
    vec![
        existing,
        create,
        describe_change_set,
        list,
        delete_change_set,
        resources,
        execute,
        status,
        events,
    ]
}

// ---------------------------------------------------------------------------------------------
// Running a deploy
// ---------------------------------------------------------------------------------------------

fn plan() -> StackSpec {
    let mut stack = StackSpec::new(
        "single-node",
        STACK,
        "us-east-1",
        Template::parse(TEMPLATE).unwrap(),
    );
    stack.parameters = vec![("ImageId".into(), "ami-0fedcba9876543210".into())];
    stack
}

/// Deploys `plan()` over the mocked services; `answers` as in `Printer::buffered` (`None`:
/// `--yes`).
async fn deploy(
    world: &Shared,
    replacement: Replacement,
    stop_refused: bool,
    answers: Option<&str>,
) -> (Result<DeployResult, Error>, Captured) {
    deploy_with(world, replacement, stop_refused, answers, true).await
}

/// [`deploy`], with or without the data-keeping steps (`keep`).
async fn deploy_with(
    world: &Shared,
    replacement: Replacement,
    stop_refused: bool,
    answers: Option<&str>,
    keep: bool,
) -> (Result<DeployResult, Error>, Captured) {
    let cfn_rules = cfn_rules(world, replacement);
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        cfn_rules.iter(),
        |config| config
            .retry_config(RetryConfig::disabled())
            .retry_partition(RetryPartition::custom("nodectl-replace-test").build())
    );
    let ec2_rules = ec2_rules(world, stop_refused);
    let ec2 = Ec2::from_client(mock_client!(
        aws_sdk_ec2,
        RuleMode::MatchAny,
        ec2_rules.iter(),
        |config| config.retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled())
    ));
    let (printer, captured) = Printer::buffered(OutputFormat::Text, answers);
    let engine = Engine {
        cfn: CloudFormation::new(cfn),
        observer: &printer,
        region: REGION.into(),
        role_arn: None,
        disable_rollback: false,
        poll: PollConfig::CDK,
        timeout: world.lock().unwrap().timeout,
    };
    let options = DeployOptions {
        method: Method::ChangeSet,
        yes: answers.is_none(),
        no_execute: false,
        account: ACCOUNT.into(),
        termination_protection: false,
    };
    let keeper = Keeper {
        ec2: &ec2,
        holds: HOLDS,
    };
    let result = tokio::time::timeout(
        Duration::from_secs(24 * 3600),
        deploy_stack_with(
            &engine,
            &printer,
            &plan(),
            &options,
            None,
            keep.then_some(&keeper),
        ),
    )
    .await
    .expect("the deploy never settled (24 h of virtual time)");
    (result, captured)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// The data volume moves: snapshot (completed) → stop the old instance → detach → execute;
/// CloudFormation attaches the volume to the new instance. The preview says what is replaced
/// and what is kept before anything happens; the snapshot is listed.
#[tokio::test(start_paused = true)]
async fn a_replacement_snapshots_stops_and_detaches_before_the_change_set_runs() {
    let world = world(true);

    let (result, captured) = deploy(&world, Replacement::True, false, None).await;

    assert!(
        matches!(result, Ok(DeployResult::Deployed(_))),
        "{result:?}\n{}",
        captured.stderr()
    );
    assert_eq!(
        the_log(&world),
        [
            format!("EC2.CreateSnapshot {VOLUME}"),
            format!("EC2.StopInstances {OLD}"),
            format!("EC2.DetachVolume {VOLUME} from {OLD}"),
            "CloudFormation.ExecuteChangeSet".to_string(),
        ]
    );
    assert_eq!(
        world.lock().unwrap().attached,
        Some((NEW.to_string(), "/dev/sdf".to_string()))
    );
    let stderr = captured.stderr();
    assert!(
        stderr.contains(&format!(
            "instance {OLD} replaced, data volume {VOLUME} kept ({HOLDS})"
        )),
        "{stderr}"
    );
    let preview = stderr.find("replaced, data volume").unwrap();
    let snapshot = stderr.find(&format!("snapshot {SNAPSHOT}")).unwrap();
    assert!(preview < snapshot, "the preview comes first:\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "instance {OLD} replaced by {NEW}; data volume {VOLUME} moved to it; snapshot \
             {SNAPSHOT} of it from before is kept"
        )),
        "{stderr}"
    );
}

/// Without nodectl's steps (no keeper: what a deploy did before) CloudFormation cannot
/// attach the volume the old instance holds: the update fails with `VolumeInUse` and rolls
/// back. The test world enforces this, so a sequence that executed first fails the tests above.
#[tokio::test(start_paused = true)]
async fn without_the_steps_the_update_fails_with_volume_in_use() {
    let world = world(true);

    let (result, _captured) = deploy_with(&world, Replacement::True, false, None, false).await;

    let err = result.expect_err("VolumeInUse");
    assert!(
        format!("{:?}", err.reports()).contains("already attached"),
        "{:?}",
        err.reports()
    );
    assert_eq!(
        the_log(&world),
        [
            "CloudFormation.ExecuteChangeSet".to_string(),
            format!("(VolumeInUse: {VOLUME})"),
        ]
    );
}

/// A failed update (an AMI of the wrong architecture) rolls back: the stack keeps the old
/// instance, which gets its volume back at the same device and is started. The deploy fails
/// with the update's root cause (exit 3), and the node is as it was.
#[tokio::test(start_paused = true)]
async fn a_failed_replacement_gives_the_old_instance_its_volume_back_and_starts_it() {
    let world = world(false);

    let (result, captured) = deploy(&world, Replacement::True, false, None).await;

    let err = result.expect_err("the update fails");
    assert_eq!(err.exit_code(), ExitCode::RolledBack, "{err}");
    assert!(
        format!("{:?}", err.reports()).contains("architecture"),
        "{:?}",
        err.reports()
    );
    assert_eq!(
        the_log(&world),
        [
            format!("EC2.CreateSnapshot {VOLUME}"),
            format!("EC2.StopInstances {OLD}"),
            format!("EC2.DetachVolume {VOLUME} from {OLD}"),
            "CloudFormation.ExecuteChangeSet".to_string(),
            format!("EC2.AttachVolume {VOLUME} to {OLD} as /dev/sdf"),
            format!("EC2.StartInstances {OLD}"),
        ]
    );
    let w = world.lock().unwrap();
    assert_eq!(w.attached, Some((OLD.to_string(), "/dev/sdf".to_string())));
    assert_eq!(w.instances[0], (OLD.to_string(), "running".to_string()));
    drop(w);
    assert!(
        captured.stderr().contains(&format!(
            "instance {OLD} was not replaced: it runs again with data volume {VOLUME} \
             (snapshot {SNAPSHOT} kept)"
        )),
        "{}",
        captured.stderr()
    );
}

/// A `Conditional` replacement that CloudFormation decides not to make leaves the old
/// instance in the stack: it gets its volume back and starts, and the deploy succeeds.
#[tokio::test(start_paused = true)]
async fn a_conditional_replacement_that_does_not_happen_restores_the_node() {
    let world = world(true);
    world.lock().unwrap().replaces = false;

    let (result, captured) = deploy(&world, Replacement::Conditional, false, None).await;
    assert!(
        captured.stderr().contains(&format!(
            "instance {OLD} may be replaced, data volume {VOLUME} kept"
        )),
        "{}",
        captured.stderr()
    );

    assert!(
        matches!(result, Ok(DeployResult::Deployed(_))),
        "{result:?}"
    );
    let log = the_log(&world);
    assert_eq!(
        log[log.len() - 2..],
        [
            format!("EC2.AttachVolume {VOLUME} to {OLD} as /dev/sdf"),
            format!("EC2.StartInstances {OLD}"),
        ]
    );
}

/// Declining at the prompt touches nothing: no snapshot, no stop; the change set is deleted.
#[tokio::test(start_paused = true)]
async fn declining_a_replacement_touches_nothing() {
    let world = world(true);

    let (result, captured) = deploy(&world, Replacement::True, false, Some("n\n")).await;

    assert!(matches!(result, Err(Error::Aborted(_))), "{result:?}");
    assert_eq!(the_log(&world), ["CloudFormation.DeleteChangeSet"]);
    assert!(captured.stderr().contains(&format!(
        "instance {OLD} replaced, data volume {VOLUME} kept"
    )));
}

/// A refused StopInstances stops the deploy before the change set runs: the change set is
/// deleted, the node keeps running with its volume, and the error names the call, the AWS
/// code and the permission.
#[tokio::test(start_paused = true)]
async fn a_refused_stop_leaves_the_node_running_and_the_change_set_unexecuted() {
    let world = world(true);

    let (result, _captured) = deploy(&world, Replacement::True, true, None).await;

    let err = result.expect_err("the stop is refused");
    let reports = err.reports();
    let (message, hint) = &reports[0];
    assert!(
        message.starts_with(&format!(
            "stack `{STACK}`: cannot stop {OLD} while keeping the node's data: "
        )),
        "{message}"
    );
    assert!(message.contains("UnauthorizedOperation"), "{message}");
    assert_eq!(
        hint.as_deref(),
        Some(
            "check the ec2:StopInstances permission; nothing was deleted, and running the \
             deploy again resumes"
        )
    );
    assert_eq!(
        the_log(&world),
        [
            format!("EC2.CreateSnapshot {VOLUME}"),
            "CloudFormation.DeleteChangeSet".to_string(),
        ]
    );
    let w = world.lock().unwrap();
    assert_eq!(w.attached, Some((OLD.to_string(), "/dev/sdf".to_string())));
    assert_eq!(w.instances[0].1, "running");
}

/// An instance updated in place (a changed user data: "Some interruptions") is said to be
/// stopped and started, with its set-up run again; nothing is snapshotted or detached.
#[tokio::test(start_paused = true)]
async fn an_in_place_update_says_the_node_is_set_up_again_and_moves_nothing() {
    let world = world(true);
    world.lock().unwrap().replaces = false;

    let (result, captured) = deploy(&world, Replacement::False, false, None).await;

    assert!(
        matches!(result, Ok(DeployResult::Deployed(_))),
        "{result:?}"
    );
    assert_eq!(the_log(&world), ["CloudFormation.ExecuteChangeSet"]);
    assert!(
        captured.stderr().contains(&format!(
            "instance `Instance` of stack `{STACK}` is updated in place: a changed user data or \
             instance type stops and starts it, and at that boot the node's set-up runs again \
             with the new settings (/data kept)"
        )),
        "{}",
        captured.stderr()
    );
}

/// An old instance that never stops: after 15 minutes the deploy gives up before the change
/// set runs, saying what it waited for and that running it again resumes; the change set is
/// deleted and the instance is left stopping (EC2 finishes it).
#[tokio::test(start_paused = true)]
async fn an_instance_that_never_stops_is_given_up_on_before_the_change_set_runs() {
    let world = world(true);
    world.lock().unwrap().stuck_stopping = true;

    let (result, _captured) = deploy(&world, Replacement::True, false, None).await;

    let err = result.expect_err("the wait times out");
    let (message, hint) = err.reports().into_iter().next().unwrap();
    assert_eq!(
        message,
        format!("stack `{STACK}`: waited 15 minutes for \"instance stopped\" ({OLD}, {VOLUME})")
    );
    assert_eq!(
        hint.as_deref(),
        Some(
            "look at the instance and volume in the EC2 console; run the deploy again once \
             they are stopped/available (every step is resumed)"
        )
    );
    let log = the_log(&world);
    assert!(
        !log.iter().any(|l| l == "CloudFormation.ExecuteChangeSet"),
        "{log:?}"
    );
    assert_eq!(log.last().unwrap(), "CloudFormation.DeleteChangeSet");
}

/// `--timeout` elapses while the replacement update goes on: nodectl does not touch the
/// volume (CloudFormation may be attaching it to the new instance) and says what state the
/// node is in and to run the command again once the update ends.
#[tokio::test(start_paused = true)]
async fn a_timeout_during_the_update_leaves_the_volume_alone_and_says_so() {
    let world = world(true);
    {
        let mut w = world.lock().unwrap();
        w.update_hangs = true;
        w.timeout = Some(Duration::from_secs(600));
    }

    let (result, captured) = deploy(&world, Replacement::True, false, None).await;

    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    let log = the_log(&world);
    assert_eq!(
        log.last().unwrap(),
        "CloudFormation.ExecuteChangeSet",
        "{log:?}"
    );
    assert!(
        captured.stderr().contains(&format!(
            "warning: instance {OLD} is stopped and data volume {VOLUME} detached while the \
             update goes on; run the same command again once it ends: it moves the volume or \
             gives it back\n"
        )),
        "{}",
        captured.stderr()
    );
}
