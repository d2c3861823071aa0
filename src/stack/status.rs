//! Pure classification of CloudFormation stack statuses and events (statuses as listed in the
//! CloudFormation API Reference, `Stack.StackStatus`): what a deploy does with a stack it
//! finds, whether a wait is over, and which failure event is the root cause.

use crate::aws::cloudformation::Event;

/// What a stack status means for someone waiting on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// An operation is running (`*_IN_PROGRESS` except `REVIEW_IN_PROGRESS`).
    InProgress,
    /// `REVIEW_IN_PROGRESS`: created by a CREATE change set that was never executed.
    Review,
    /// A successful end state (`CREATE_COMPLETE`, `UPDATE_COMPLETE`, `IMPORT_COMPLETE`).
    Complete,
    /// Rolled back (`ROLLBACK_COMPLETE`, `UPDATE_ROLLBACK_COMPLETE`, `IMPORT_ROLLBACK_COMPLETE`).
    RolledBack,
    /// A failed state that needs attention (`*_FAILED`).
    Failed,
    /// `DELETE_COMPLETE`.
    Deleted,
}

/// Classifies a stack status string.
pub fn classify(status: &str) -> StatusClass {
    match status {
        "REVIEW_IN_PROGRESS" => StatusClass::Review,
        "DELETE_COMPLETE" => StatusClass::Deleted,
        "ROLLBACK_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" | "IMPORT_ROLLBACK_COMPLETE" => {
            StatusClass::RolledBack
        }
        s if s.ends_with("_IN_PROGRESS") => StatusClass::InProgress,
        s if s.ends_with("_COMPLETE") => StatusClass::Complete,
        _ => StatusClass::Failed,
    }
}

/// What `deploy` does with the stack it finds, by status (the flow of rain's `CheckStack` and
/// the CDK's `deploy-stack.ts`, see `../shared/reference/cli-anchors.md` sections 1.1, 1.3, 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreDeploy {
    /// No stack, or an empty `REVIEW_IN_PROGRESS` one: create it.
    Create,
    /// A failed first create (`ROLLBACK_COMPLETE`, `CREATE_FAILED`, `ROLLBACK_FAILED`) holds
    /// nothing worth keeping and cannot be updated: delete it, then create it.
    DeleteThenCreate,
    /// A usable stack: update it.
    Update,
    /// Another operation is running: wait for it, then decide again.
    Wait,
    /// A state nodectl will not touch; the hint says how to get out of it.
    Refuse(String),
}

/// Decides what to do with a stack in `status` (`None`: it does not exist).
pub fn pre_deploy(stack: &str, status: Option<&str>) -> PreDeploy {
    let Some(status) = status else {
        return PreDeploy::Create;
    };
    match status {
        "REVIEW_IN_PROGRESS" => PreDeploy::Create,
        "ROLLBACK_COMPLETE" | "CREATE_FAILED" | "ROLLBACK_FAILED" => PreDeploy::DeleteThenCreate,
        "UPDATE_ROLLBACK_FAILED" => PreDeploy::Refuse(format!(
            "finish the rollback first: `aws cloudformation continue-update-rollback --stack-name \
             {stack}` (with --resources-to-skip for resources that cannot roll back), then deploy \
             again"
        )),
        "UPDATE_FAILED" => PreDeploy::Refuse(format!(
            "roll the failed update back first: `aws cloudformation rollback-stack --stack-name \
             {stack}`, then deploy again"
        )),
        "DELETE_FAILED" => PreDeploy::Refuse(format!(
            "the stack could not be deleted: fix the cause, run `nodectl destroy` for it, then \
             deploy again (stack `{stack}`)"
        )),
        s => match classify(s) {
            StatusClass::InProgress => PreDeploy::Wait,
            StatusClass::Complete | StatusClass::RolledBack => PreDeploy::Update,
            _ => PreDeploy::Refuse(format!(
                "stack `{stack}` is {s}; resolve that in the CloudFormation console, then deploy \
                 again"
            )),
        },
    }
}

fn is_cancellation(reason: &str) -> bool {
    // "Resource creation cancelled", "Resource update cancelled", ... are consequences of
    // another resource's failure, never the cause.
    reason.starts_with("Resource ") && reason.contains(" cancelled")
}

/// The root cause of a failed operation: the earliest `*_FAILED` event of a resource whose
/// reason is not a cancellation; else the earliest failed event with a reason (which may be
/// the stack's own). `events` are in chronological order.
pub fn root_cause(events: &[Event], stack: &str) -> Option<String> {
    let failed = |e: &&Event| e.status.ends_with("_FAILED") && e.reason.is_some();
    let event = events
        .iter()
        .filter(failed)
        .find(|e| e.logical_id != stack && !is_cancellation(e.reason.as_deref().unwrap_or("")))
        .or_else(|| events.iter().find(failed))?;
    Some(format!(
        "{} ({}) {}: {}",
        event.logical_id,
        event.resource_type,
        event.status,
        event.reason.as_deref().unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(logical: &str, status: &str, reason: Option<&str>) -> Event {
        Event {
            id: format!("{logical}-{status}"),
            time: "2026-11-22T10:00:00Z".into(),
            logical_id: logical.into(),
            resource_type: if logical == "stack" {
                "AWS::CloudFormation::Stack".into()
            } else {
                "AWS::EC2::Instance".into()
            },
            physical_id: None,
            status: status.into(),
            reason: reason.map(str::to_string),
        }
    }

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify("CREATE_IN_PROGRESS"), StatusClass::InProgress);
        assert_eq!(
            classify("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            StatusClass::InProgress
        );
        assert_eq!(classify("REVIEW_IN_PROGRESS"), StatusClass::Review);
        assert_eq!(
            classify("UPDATE_ROLLBACK_COMPLETE"),
            StatusClass::RolledBack
        );
        assert_eq!(classify("CREATE_COMPLETE"), StatusClass::Complete);
        assert_eq!(classify("DELETE_FAILED"), StatusClass::Failed);
        assert_eq!(classify("DELETE_COMPLETE"), StatusClass::Deleted);
    }

    #[test]
    fn pre_deploy_follows_the_state_table() {
        assert_eq!(pre_deploy("s", None), PreDeploy::Create);
        assert_eq!(
            pre_deploy("s", Some("REVIEW_IN_PROGRESS")),
            PreDeploy::Create
        );
        assert_eq!(
            pre_deploy("s", Some("ROLLBACK_COMPLETE")),
            PreDeploy::DeleteThenCreate
        );
        assert_eq!(
            pre_deploy("s", Some("CREATE_FAILED")),
            PreDeploy::DeleteThenCreate
        );
        assert_eq!(pre_deploy("s", Some("UPDATE_IN_PROGRESS")), PreDeploy::Wait);
        assert_eq!(pre_deploy("s", Some("DELETE_IN_PROGRESS")), PreDeploy::Wait);
        assert_eq!(
            pre_deploy("s", Some("UPDATE_ROLLBACK_COMPLETE")),
            PreDeploy::Update
        );
        assert_eq!(pre_deploy("s", Some("CREATE_COMPLETE")), PreDeploy::Update);
        assert!(
            matches!(pre_deploy("s", Some("UPDATE_ROLLBACK_FAILED")), PreDeploy::Refuse(h) if h.contains("continue-update-rollback --stack-name s"))
        );
        assert!(
            matches!(pre_deploy("s", Some("UPDATE_FAILED")), PreDeploy::Refuse(h) if h.contains("rollback-stack"))
        );
    }

    #[test]
    fn the_root_cause_skips_cancellations_and_stack_events() {
        let events = vec![
            event("stack", "CREATE_IN_PROGRESS", Some("User Initiated")),
            event(
                "Volume",
                "CREATE_FAILED",
                Some("Resource creation cancelled"),
            ),
            event(
                "Instance",
                "CREATE_FAILED",
                Some("Received FAILURE signal with UniqueId i-1"),
            ),
            event(
                "stack",
                "ROLLBACK_IN_PROGRESS",
                Some("The following resource(s) failed to create: [Instance, Volume]."),
            ),
            event("Other", "CREATE_FAILED", Some("later failure")),
        ];
        assert_eq!(
            root_cause(&events, "stack").unwrap(),
            "Instance (AWS::EC2::Instance) CREATE_FAILED: Received FAILURE signal with UniqueId i-1"
        );
        let only_stack = vec![event("stack", "UPDATE_FAILED", Some("stack reason"))];
        assert_eq!(
            root_cause(&only_stack, "stack").unwrap(),
            "stack (AWS::CloudFormation::Stack) UPDATE_FAILED: stack reason"
        );
        assert_eq!(root_cause(&[], "stack"), None);
    }
}
