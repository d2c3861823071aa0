//! What `destroy` would lose: each node stack's data volume (`AWS::EC2::Volume` among the
//! stack's resources, deleted with the stack), named before the deletion with what it holds
//! (the blueprint's `dataVolumeHolds` fact), and with `--snapshot` an EBS snapshot of it taken
//! and completed first, so that nothing is lost.

use std::time::Duration;

use serde::Serialize;

use crate::aws::ec2::Ec2;
use crate::aws::poll::Poller;
use crate::error::{Error, Result};
use crate::stack::Engine;

/// A data volume a destroy deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataVolume {
    /// Its stack's name.
    pub stack: String,
    /// `vol-...`.
    pub volume_id: String,
}

/// A snapshot taken before a destroy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotTaken {
    /// The stack whose volume it copies.
    pub stack_name: String,
    /// The volume, `vol-...`.
    pub volume_id: String,
    /// The snapshot, `snap-...`.
    pub snapshot_id: String,
}

/// Why a snapshot is taken (for its description and for what an error says was left alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `destroy --snapshot`: before the stack and its volume are deleted.
    Destroy,
    /// Before a deploy replaces the node's instance (the volume moves to the new one).
    Replace,
}

/// How long a snapshot may take before destroy gives up (the stack is then left as it is).
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// The data volumes of the deployed stack `stack` (DescribeStackResources). A read that fails
/// is a warning: the deletion still asks before it deletes.
pub async fn data_volumes(engine: &Engine<'_>, stack: &str) -> Vec<DataVolume> {
    match engine.cfn.resources(stack).await {
        Ok(resources) => resources
            .unwrap_or_default()
            .into_iter()
            // A volume id is `vol-` and hex; anything else is no volume (LocalStack's
            // placeholder resources report "unknown").
            .filter(|r| r.resource_type == "AWS::EC2::Volume" && r.physical_id.starts_with("vol-"))
            .map(|r| DataVolume {
                stack: stack.to_string(),
                volume_id: r.physical_id,
            })
            .collect(),
        Err(err) => {
            engine.observer.warn(&format!(
                "could not list the resources of stack `{stack}` to name its data volume: {err}"
            ));
            Vec::new()
        }
    }
}

/// Snapshots `volume` and waits until the snapshot is `completed`, with progress. Errors: EC2
/// refused the snapshot, it ended in `error`, or it took longer than 6 hours; the stack is then
/// not deleted.
pub async fn snapshot(
    engine: &Engine<'_>,
    ec2: &Ec2,
    volume: &DataVolume,
    purpose: Purpose,
) -> Result<SnapshotTaken> {
    let tags = vec![
        ("Name".to_string(), format!("{} data", volume.stack)),
        ("nodectl:stack".to_string(), volume.stack.clone()),
    ];
    let (command, untouched, without) = match purpose {
        Purpose::Destroy => ("destroy", "was not deleted", "destroy without --snapshot"),
        Purpose::Replace => (
            "deploy",
            "was not changed",
            "fix the permission: the snapshot is what makes a replacement safe",
        ),
    };
    let description = format!(
        "nodectl {command}: /data of {} ({})",
        volume.stack, volume.volume_id
    );
    let fail = |what: String, hint: &str| {
        Error::usage(
            format!("{what}; stack `{}` {untouched}", volume.stack),
            hint.to_string(),
        )
    };
    let snapshot_id = ec2
        .create_snapshot(&volume.volume_id, &description, &tags)
        .await
        .map_err(|err| {
            fail(
                format!("cannot snapshot data volume {}: {err}", volume.volume_id),
                format!("check ec2:CreateSnapshot permission, or {without}").as_str(),
            )
        })?;
    engine.observer.note(&format!(
        "snapshot {snapshot_id} of data volume {} ({}) started",
        volume.volume_id, volume.stack
    ));
    let mut poller = Poller::new(engine.poll, Some(SNAPSHOT_TIMEOUT));
    loop {
        match ec2.snapshot_state(&snapshot_id).await {
            Ok((state, _)) if state == "completed" => break,
            Ok((state, _)) if state == "error" => {
                return Err(fail(
                    format!("snapshot {snapshot_id} of {} failed", volume.volume_id),
                    "try again; the volume is untouched",
                ))
            }
            Ok((state, progress)) => {
                engine.observer.waiting(
                    &volume.stack,
                    &format!("snapshot {snapshot_id} {state} {progress}"),
                );
                poller.idle();
            }
            Err(err) if err.is_transient() => poller.throttled(),
            Err(err) => {
                return Err(fail(
                    format!("cannot read snapshot {snapshot_id}: {err}"),
                    "check ec2:DescribeSnapshots permission",
                ))
            }
        }
        if poller.timed_out() {
            return Err(fail(
                format!("snapshot {snapshot_id} did not complete within 6 hours"),
                &format!("run `nodectl {command}` again when it has completed (aws ec2 describe-snapshots)"),
            ));
        }
        poller.sleep().await;
    }
    engine.observer.done_waiting();
    engine.observer.note(&format!(
        "snapshot {snapshot_id} of data volume {} ({}) completed; to get the data back: `aws \
         ec2 create-volume --snapshot-id {snapshot_id} --availability-zone ZONE --volume-type \
         gp3 --region {}`, then attach it to an instance",
        volume.volume_id, volume.stack, engine.region
    ));
    Ok(SnapshotTaken {
        stack_name: volume.stack.clone(),
        volume_id: volume.volume_id.clone(),
        snapshot_id,
    })
}
