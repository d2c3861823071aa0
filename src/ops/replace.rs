//! A deploy that replaces a node's instance keeps the node's data volume.
//!
//! The node templates attach the data volume through the instance's `Volumes` property. When
//! an update replaces the instance (a new AMI: `ImageId` is "Update requires: Replacement",
//! AWS::EC2::Instance in the CloudFormation User Guide), CloudFormation creates the new
//! instance first and attaches the same volume to it, which fails while the old instance still
//! holds it (`VolumeInUse`); the old instance is deleted only in the cleanup after the update
//! succeeded. So, once the change set is confirmed and before it executes, nodectl:
//!
//! 1. snapshots the data volume and waits until the snapshot completes (listed, kept);
//! 2. stops the old instance (StopInstances) and waits until it is `stopped`, so the
//!    filesystem is clean;
//! 3. detaches the volume (DetachVolume) and waits until it is `available`.
//!
//! CloudFormation then attaches it to the new instance, whose user data mounts it without
//! formatting (`templates/shared/data-volume.sh` formats only a blank device). After the
//! operation, [`finish`] reads which instance the stack holds: the new one means the volume
//! moved; the old one (the update failed and rolled back, or a `Conditional` replacement did
//! not happen) gets its volume attached again and is started: the node is as it was, with its
//! data. Every step is idempotent, so a deploy interrupted half-way is resumed by running it
//! again.

use std::time::Duration;

use crate::aws::cloudformation::ChangeRow;
use crate::aws::ec2::Ec2;
use crate::aws::poll::Poller;
use crate::aws::AwsError;
use crate::error::{Error, Result};
use crate::stack::Engine;

use super::volumes::{self, DataVolume, Purpose, SnapshotTaken};

/// The device the node templates attach the data volume as (`Volumes[].Device`).
const DATA_DEVICE: &str = "/dev/sdf";

/// How long stopping or starting an instance, or detaching or attaching a volume, may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// A planned replacement of a node's instance whose data volume is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// The stack name.
    pub stack: String,
    /// The logical id of the instance (`Instance`).
    pub logical_id: String,
    /// The instance being replaced, `i-...`.
    pub instance_id: String,
    /// The data volume that moves to the new instance, `vol-...`.
    pub volume_id: String,
    /// The device the volume is attached as (`/dev/sdf`).
    pub device: String,
    /// The change set says `Conditional`: CloudFormation may or may not replace it.
    pub conditional: bool,
}

/// The instance rows of a change set that replace it (`Replacement` `True`, or `Conditional`:
/// CloudFormation may replace it; CloudFormation API Reference, ResourceChange).
pub fn replaced_instances(rows: &[ChangeRow]) -> Vec<&ChangeRow> {
    rows.iter()
        .filter(|row| {
            row.resource_type == "AWS::EC2::Instance"
                && row.action == "Modify"
                && matches!(row.replacement.as_str(), "True" | "Conditional")
        })
        .collect()
}

/// The line shown for instance rows updated in place (`Replacement` `False`): CloudFormation
/// stops and starts the instance for a changed user data or instance type, and the user data's
/// per-boot script (`templates/shared/prelude.sh`) runs the changed user data again at that boot.
pub fn in_place_notes(rows: &[ChangeRow], stack: &str) -> Vec<String> {
    rows.iter()
        .filter(|row| {
            row.resource_type == "AWS::EC2::Instance"
                && row.action == "Modify"
                && row.replacement == "False"
        })
        .map(|row| {
            format!(
                "instance `{}` of stack `{stack}` is updated in place: a changed user data or \
                 instance type stops and starts it, and at that boot the node's set-up runs \
                 again with the new settings (/data kept)",
                row.logical_id
            )
        })
        .collect()
}

/// What replacing the instance of `row` in the deployed stack `stack` means for its data:
/// `Some` when the stack has an EBS data volume to keep, `None` when it has none (an
/// instance-store node: its disk is erased, as on any stop). Errors: DescribeStackResources or
/// DescribeVolumes failed.
pub async fn plan(
    engine: &Engine<'_>,
    ec2: &Ec2,
    stack: &str,
    row: &ChangeRow,
) -> Result<Option<Replacement>> {
    let resources = engine
        .cfn
        .resources(stack)
        .await
        .map_err(|err| engine.error("read the resources of", stack, err))?
        .unwrap_or_default();
    let Some(instance) = resources
        .iter()
        .find(|r| r.logical_id == row.logical_id && r.physical_id.starts_with("i-"))
    else {
        return Ok(None);
    };
    let Some(volume) = volumes::data_volumes(engine, stack)
        .await
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let described = ec2
        .volume(&volume.volume_id)
        .await
        .map_err(|err| step_error(stack, "describe", &volume.volume_id, err))?;
    let device = described
        .iter()
        .flat_map(|v| &v.attachments)
        .find(|a| a.instance_id == instance.physical_id)
        .map(|a| a.device.clone())
        .unwrap_or_else(|| DATA_DEVICE.to_string());
    Ok(Some(Replacement {
        stack: stack.to_string(),
        logical_id: row.logical_id.clone(),
        instance_id: instance.physical_id.clone(),
        volume_id: volume.volume_id,
        device,
        conditional: row.replacement == "Conditional",
    }))
}

/// The lines shown with the change set before confirmation: what is replaced and what is
/// kept (`holds`: what the volume holds, the blueprint's `dataVolumeHolds` fact).
pub fn preview(replacement: &Replacement, holds: &str) -> Vec<String> {
    let holds = if holds.is_empty() {
        String::new()
    } else {
        format!(" ({holds})")
    };
    vec![
        format!(
            "instance {} {}replaced, data volume {} kept{holds}",
            replacement.instance_id,
            if replacement.conditional {
                "may be "
            } else {
                ""
            },
            replacement.volume_id
        ),
        format!(
            "before the change set runs, nodectl snapshots {}, stops {} and detaches the volume; \
             the new instance mounts it; if the update fails, {} gets it back and starts again",
            replacement.volume_id, replacement.instance_id, replacement.instance_id
        ),
    ]
}

/// Steps 1 to 3: snapshot, stop, detach. On an error the old instance is given its volume
/// back and started (best effort), and the error says the change set was not executed.
pub async fn prepare(
    engine: &Engine<'_>,
    ec2: &Ec2,
    replacement: &Replacement,
) -> Result<SnapshotTaken> {
    let volume = DataVolume {
        stack: replacement.stack.clone(),
        volume_id: replacement.volume_id.clone(),
    };
    let snapshot = volumes::snapshot(engine, ec2, &volume, Purpose::Replace).await?;
    if let Err(err) = stop_and_detach(engine, ec2, replacement).await {
        if let Err(again) = restore(engine, ec2, replacement).await {
            engine.observer.warn(&format!(
                "could not give instance {} its data volume back: {again}",
                replacement.instance_id
            ));
        }
        return Err(err);
    }
    Ok(snapshot)
}

/// After the change set ran (whether it succeeded or not): the old instance, if the stack
/// still holds it, gets its volume back and is started. Returns the instance the stack holds.
/// Errors: reading the stack, or the steps of putting the old instance back.
pub async fn finish(
    engine: &Engine<'_>,
    ec2: &Ec2,
    replacement: &Replacement,
    snapshot: &SnapshotTaken,
) -> Result<String> {
    let resources = engine
        .cfn
        .resources(&replacement.stack)
        .await
        .map_err(|err| engine.error("read the resources of", &replacement.stack, err))?
        .unwrap_or_default();
    let current = resources
        .iter()
        .find(|r| r.logical_id == replacement.logical_id)
        .map(|r| r.physical_id.clone())
        .unwrap_or_default();
    if current == replacement.instance_id {
        restore(engine, ec2, replacement).await?;
        engine.observer.note(&format!(
            "instance {} was not replaced: it runs again with data volume {} (snapshot {} kept)",
            replacement.instance_id, replacement.volume_id, snapshot.snapshot_id
        ));
    } else {
        engine.observer.note(&format!(
            "instance {} replaced by {current}; data volume {} moved to it; snapshot {} of it \
             from before is kept (delete it with `aws ec2 delete-snapshot --snapshot-id {} \
             --region {}` once the node is healthy)",
            replacement.instance_id,
            replacement.volume_id,
            snapshot.snapshot_id,
            snapshot.snapshot_id,
            engine.region
        ));
    }
    Ok(current)
}

/// Stops the old instance and detaches the volume, each only when needed.
async fn stop_and_detach(engine: &Engine<'_>, ec2: &Ec2, r: &Replacement) -> Result<()> {
    let state = instance_state(ec2, r).await?;
    if state != "stopped" {
        engine
            .observer
            .note(&format!("stopping instance {} ({state})", r.instance_id));
        if state != "stopping" {
            ec2.stop(&r.instance_id)
                .await
                .map_err(|err| step_error(&r.stack, "stop", &r.instance_id, err))?;
        }
        wait_for(engine, ec2, r, "instance stopped", |ec2, r| async move {
            Ok(instance_state(ec2, r).await? == "stopped")
        })
        .await?;
    }
    if attached_to(ec2, r).await?.is_some() {
        engine.observer.note(&format!(
            "detaching data volume {} from {}",
            r.volume_id, r.instance_id
        ));
        ec2.detach_volume(&r.volume_id, &r.instance_id)
            .await
            .map_err(|err| step_error(&r.stack, "detach", &r.volume_id, err))?;
    }
    wait_for(engine, ec2, r, "volume available", |ec2, r| async move {
        Ok(volume_state(ec2, r).await? == "available")
    })
    .await
}

/// Gives the old instance its volume back (once the volume is free) and starts it.
async fn restore(engine: &Engine<'_>, ec2: &Ec2, r: &Replacement) -> Result<()> {
    if attached_to(ec2, r).await?.is_none() {
        // The new instance of a rolled-back update may still be letting go of it.
        wait_for(engine, ec2, r, "volume available", |ec2, r| async move {
            Ok(volume_state(ec2, r).await? == "available")
        })
        .await?;
        engine.observer.note(&format!(
            "attaching data volume {} to {} as {}",
            r.volume_id, r.instance_id, r.device
        ));
        ec2.attach_volume(&r.volume_id, &r.instance_id, &r.device)
            .await
            .map_err(|err| step_error(&r.stack, "attach", &r.volume_id, err))?;
        wait_for(engine, ec2, r, "volume attached", |ec2, r| async move {
            Ok(attached_to(ec2, r).await?.as_deref() == Some("attached"))
        })
        .await?;
    }
    let state = instance_state(ec2, r).await?;
    if state != "running" {
        engine
            .observer
            .note(&format!("starting instance {} ({state})", r.instance_id));
        if state != "pending" {
            ec2.start(&r.instance_id)
                .await
                .map_err(|err| step_error(&r.stack, "start", &r.instance_id, err))?;
        }
        wait_for(engine, ec2, r, "instance running", |ec2, r| async move {
            Ok(instance_state(ec2, r).await? == "running")
        })
        .await?;
    }
    Ok(())
}

async fn instance_state(ec2: &Ec2, r: &Replacement) -> Result<String> {
    Ok(ec2
        .instance(&r.instance_id)
        .await
        .map_err(|err| step_error(&r.stack, "describe", &r.instance_id, err))?
        .map(|i| i.state)
        .unwrap_or_else(|| "terminated".into()))
}

async fn volume_state(ec2: &Ec2, r: &Replacement) -> Result<String> {
    Ok(ec2
        .volume(&r.volume_id)
        .await
        .map_err(|err| step_error(&r.stack, "describe", &r.volume_id, err))?
        .map(|v| v.state)
        .unwrap_or_else(|| "deleted".into()))
}

/// The state of the volume's attachment to the old instance, if it has one.
async fn attached_to(ec2: &Ec2, r: &Replacement) -> Result<Option<String>> {
    Ok(ec2
        .volume(&r.volume_id)
        .await
        .map_err(|err| step_error(&r.stack, "describe", &r.volume_id, err))?
        .and_then(|v| {
            v.attachments
                .into_iter()
                .find(|a| a.instance_id == r.instance_id && a.state != "detached")
                .map(|a| a.state)
        }))
}

/// Polls `done` until it holds, with progress; errors after [`STEP_TIMEOUT`].
async fn wait_for<'a, F, Fut>(
    engine: &Engine<'_>,
    ec2: &'a Ec2,
    r: &'a Replacement,
    what: &str,
    done: F,
) -> Result<()>
where
    F: Fn(&'a Ec2, &'a Replacement) -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let mut poller = Poller::new(engine.poll, Some(STEP_TIMEOUT));
    loop {
        if done(ec2, r).await? {
            engine.observer.done_waiting();
            return Ok(());
        }
        if poller.timed_out() {
            engine.observer.done_waiting();
            return Err(Error::usage(
                format!(
                    "stack `{}`: waited 15 minutes for \"{what}\" ({}, {})",
                    r.stack, r.instance_id, r.volume_id
                ),
                "look at the instance and volume in the EC2 console; run the deploy again \
                 once they are stopped/available (every step is resumed)",
            ));
        }
        engine
            .observer
            .waiting(&r.stack, &format!("waiting: {what}"));
        poller.idle();
        poller.sleep().await;
    }
}

fn step_error(stack: &str, action: &str, id: &str, err: AwsError) -> Error {
    Error::usage(
        format!("stack `{stack}`: cannot {action} {id} while keeping the node's data: {err}"),
        format!(
            "check the ec2:{} permission; nothing was deleted, and running the deploy again \
             resumes",
            match action {
                "stop" => "StopInstances",
                "start" => "StartInstances",
                "detach" => "DetachVolume",
                "attach" => "AttachVolume",
                _ => "Describe*",
            }
        ),
    )
}
