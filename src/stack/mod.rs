//! The stack engine: deploy one stack (change set or direct), delete one, follow its events
//! until it settles, read it. It knows stacks, never blueprints: it takes a
//! [`StackSpec`](crate::plan::StackSpec), talks to CloudFormation through
//! [`crate::aws::cloudformation`], waits with [`crate::aws::poll`], and reports progress to an
//! [`Observer`]. Tests drive it with `aws-smithy-mocks` sequences or a local emulator.

pub mod change_set;
pub mod deploy;
pub mod destroy;
pub mod outputs;
pub mod status;

use std::time::Duration;

use crate::aws::cloudformation::CloudFormation;
use crate::aws::poll::{retry_transient, PollConfig, Poller};
use crate::aws::AwsError;
use crate::error::{Error, Result};
use crate::observer::Observer;
use status::{classify, StatusClass};

pub use crate::aws::cloudformation::{Event, OutputValue, StackInfo};

/// Everything a stack operation needs: the client, where to report, and how to wait.
pub struct Engine<'a> {
    /// The CloudFormation client.
    pub cfn: CloudFormation,
    /// Where progress goes.
    pub observer: &'a dyn Observer,
    /// The region (for messages).
    pub region: String,
    /// Polling intervals.
    pub poll: PollConfig,
    /// How long to wait for one stack operation; `None` waits as long as it takes.
    pub timeout: Option<Duration>,
    /// The CloudFormation service role (`--role-arn`) every stack operation runs as; `None`:
    /// the caller's credentials.
    pub role_arn: Option<String>,
    /// `--no-rollback`: a failed operation keeps what it created (`DisableRollback`), for
    /// debugging; the stack is then left in a `*_FAILED` state.
    pub disable_rollback: bool,
}

/// The end of a wait: the final status and this operation's events, oldest first.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The final stack status.
    pub status: String,
    /// The stack's status reason, if any.
    pub reason: Option<String>,
    /// The events of this operation, oldest first.
    pub events: Vec<Event>,
    /// The stack as last described (with its outputs); `None` once it is deleted.
    pub info: Option<StackInfo>,
}

impl<'a> Engine<'a> {
    /// The same engine polling with `poll` (the waits of a fleet's node stacks share one
    /// budget: [`PollConfig::shared_by`]).
    pub fn with_poll(&self, poll: PollConfig) -> Engine<'a> {
        Engine {
            cfn: self.cfn.clone(),
            observer: self.observer,
            region: self.region.clone(),
            poll,
            timeout: self.timeout,
            role_arn: self.role_arn.clone(),
            disable_rollback: self.disable_rollback,
        }
    }
}

impl Engine<'_> {
    /// Describes `stack` (name or id); `Ok(None)` when it does not exist.
    pub async fn describe(&self, stack: &str) -> std::result::Result<Option<StackInfo>, AwsError> {
        self.cfn.describe(stack).await
    }

    /// Describes `stack`, turning an API error into an [`Error::Aws`] about `action`.
    pub async fn describe_for(&self, stack: &str, action: &str) -> Result<Option<StackInfo>> {
        self.describe(stack)
            .await
            .map_err(|err| self.error(action, stack, err))
    }

    /// The error of a failed call while doing `action` to `stack`:
    /// "cannot <action> stack `<stack>` in `<region>`: <code>: <message>".
    pub fn error(&self, action: &str, stack: &str, err: AwsError) -> Error {
        let hint = err.generic_hint();
        Error::aws(
            format!("cannot {action} stack `{stack}` in `{}`", self.region),
            err,
            hint,
        )
    }

    /// Runs a read-only call until it succeeds or fails for a reason retrying cannot fix
    /// ([`retry_transient`], one warning naming `what`).
    pub async fn read<T, F, Fut>(&self, what: &str, call: F) -> std::result::Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, AwsError>>,
    {
        retry_transient(
            self.poll,
            self.timeout,
            |err| {
                self.observer
                    .warn(&format!("{what} failed ({err}); retrying with backoff"))
            },
            call,
        )
        .await
    }

    /// The id of the newest event of `stack_id`, to print only later events.
    pub async fn latest_event_id(
        &self,
        stack_id: &str,
    ) -> std::result::Result<Option<String>, AwsError> {
        self.read("reading the stack events", || {
            self.cfn.latest_event_id(stack_id)
        })
        .await
    }

    /// Waits until `stack_id` leaves its `*_IN_PROGRESS` state, reporting each new event
    /// (after `since`). With `executing`, `REVIEW_IN_PROGRESS` also counts as in progress (a
    /// change set was just executed and the status may lag). Throttling and other transient
    /// errors back the polling off and never end the wait; `--timeout` does, and then one last
    /// look at the stack decides between its end and [`Error::Timeout`]: a stack that settled
    /// while AWS throttled the polls is never reported as still in progress.
    pub async fn wait(
        &self,
        stack_id: &str,
        stack_name: &str,
        since: Option<String>,
        executing: bool,
    ) -> Result<Outcome> {
        let mut poller = Poller::new(self.poll, self.timeout);
        let mut last_seen = since;
        let mut events: Vec<Event> = Vec::new();
        let mut quiet_since = tokio::time::Instant::now();
        let mut warned = false;
        let settled = |status: &str| match classify(status) {
            StatusClass::InProgress => false,
            StatusClass::Review => !executing,
            _ => true,
        };
        loop {
            // A poll never runs past the timeout, whatever the SDK's retries would take.
            let poll = self.poll_once(stack_id, last_seen.as_deref());
            let polled = match poller.remaining() {
                Some(left) => tokio::time::timeout(left, poll).await.ok(),
                None => Some(poll.await),
            };
            match polled {
                Some(Ok((info, new))) => {
                    if let Some(last) = new.last() {
                        last_seen = Some(last.id.clone());
                        quiet_since = tokio::time::Instant::now();
                        poller.progressed();
                    } else {
                        poller.idle();
                    }
                    for event in &new {
                        self.observer.event(stack_name, event);
                    }
                    events.extend(new);
                    let (status, reason) = status_of(&info);
                    if settled(&status) {
                        self.observer.done_waiting();
                        return Ok(Outcome {
                            status,
                            reason,
                            events,
                            info,
                        });
                    }
                    self.observer.waiting(stack_name, &status);
                    if quiet_since.elapsed() >= Duration::from_secs(60) {
                        self.observer.note(&format!(
                            "... {stack_name} is still {status} ({} elapsed)",
                            humantime::format_duration(poller.elapsed_secs())
                        ));
                        quiet_since = tokio::time::Instant::now();
                    }
                }
                Some(Err(err)) if err.is_transient() => {
                    if !warned {
                        self.observer.warn(&format!(
                            "polling stack `{stack_name}` failed ({err}); retrying with backoff"
                        ));
                        warned = true;
                    }
                    poller.throttled();
                }
                Some(Err(err)) => {
                    self.observer.done_waiting();
                    return Err(self.error("follow", stack_name, err));
                }
                // The timeout elapsed during the poll.
                None => {}
            }
            if poller.timed_out() {
                self.observer.done_waiting();
                let last =
                    tokio::time::timeout(LAST_LOOK, self.poll_once(stack_id, last_seen.as_deref()))
                        .await;
                let status = match last {
                    Ok(Ok((info, new))) => {
                        for event in &new {
                            self.observer.event(stack_name, event);
                        }
                        events.extend(new);
                        let (status, reason) = status_of(&info);
                        if settled(&status) {
                            return Ok(Outcome {
                                status,
                                reason,
                                events,
                                info,
                            });
                        }
                        status
                    }
                    _ => "in progress (its status could not be read)".into(),
                };
                return Err(Error::Timeout {
                    stack: stack_name.to_string(),
                    region: self.region.clone(),
                    status,
                    waited: poller.elapsed_secs(),
                });
            }
            poller.sleep().await;
        }
    }

    /// One look at a stack: DescribeStacks, then the events after `since`.
    async fn poll_once(
        &self,
        stack_id: &str,
        since: Option<&str>,
    ) -> std::result::Result<(Option<StackInfo>, Vec<Event>), AwsError> {
        let info = self.cfn.describe(stack_id).await?;
        let new = self.cfn.events_since(stack_id, since).await?;
        Ok((info, new))
    }
}

/// How long the last look at a stack may take once `--timeout` has elapsed: 20 s.
const LAST_LOOK: Duration = Duration::from_secs(20);

/// The status and reason of a described stack; one described by id that is gone is deleted.
fn status_of(info: &Option<StackInfo>) -> (String, Option<String>) {
    match info {
        Some(info) => (info.status.clone(), info.reason.clone()),
        None => ("DELETE_COMPLETE".to_string(), None),
    }
}
