//! The stack engine: deploy (change set or direct), destroy, follow stack events until a stack
//! settles, read outputs and write the outputs file. Everything here takes a CloudFormation
//! client, so tests drive it with `aws-smithy-mocks` sequences or a local emulator.

pub mod deploy;
pub mod destroy;
pub mod lookup;
pub mod outputs;
pub mod status;

use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

use crate::aws::AwsError;
use crate::error::{Error, Result};
use crate::printer::Printer;
use status::{classify, Event, StatusClass};

/// How often the engine polls CloudFormation while it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollConfig {
    /// The first interval, and the interval right after new events arrive.
    pub initial: Duration,
    /// The longest interval while nothing happens (throttling may back off further, to 60 s).
    pub max: Duration,
}

impl Default for PollConfig {
    /// 2 s growing to 15 s, as the CDK polls stack events every 2 s
    /// (`stack-activity-monitor.ts`) and backs off to 15 s (`../shared/reference/cli-anchors.md`).
    fn default() -> Self {
        PollConfig {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(15),
        }
    }
}

impl PollConfig {
    /// The default, or `NODECTL_POLL_INTERVAL_MS` as the initial and maximum interval (used by
    /// the test suite against local emulators, where stacks settle in about a second).
    pub fn from_env() -> Self {
        match std::env::var("NODECTL_POLL_INTERVAL_MS")
            .ok()
            .and_then(|ms| ms.parse::<u64>().ok())
        {
            Some(ms) => PollConfig {
                initial: Duration::from_millis(ms),
                max: Duration::from_millis(ms.max(1) * 4),
            },
            None => PollConfig::default(),
        }
    }
}

/// A stack output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputValue {
    /// `OutputKey`.
    pub key: String,
    /// `OutputValue`.
    pub value: String,
    /// `Description`, if any.
    pub description: Option<String>,
    /// `ExportName`, if exported.
    pub export_name: Option<String>,
}

/// What nodectl reads of a stack (CloudFormation API Reference, DescribeStacks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackInfo {
    /// The stack id (ARN); operations after the first describe use it, never the name, so a
    /// deleted and recreated stack of the same name is never confused with the old one.
    pub id: String,
    /// The stack name.
    pub name: String,
    /// `StackStatus`.
    pub status: String,
    /// `StackStatusReason`, if any.
    pub reason: Option<String>,
    /// The outputs, in the order CloudFormation returns them.
    pub outputs: Vec<OutputValue>,
    /// `EnableTerminationProtection`.
    pub termination_protection: bool,
    /// `LastUpdatedTime`, else `CreationTime`, RFC 3339.
    pub last_updated: Option<String>,
}

/// RFC 3339 UTC with whole seconds, e.g. `2026-11-22T10:15:02Z`.
pub fn format_time(time: &DateTime) -> String {
    DateTime::from_secs(time.secs())
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| time.secs().to_string())
}

/// A fresh idempotency token / change set name suffix: `nodectl-<unix seconds>-<random>`.
pub fn token() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!("nodectl-{secs}-{:08x}", fastrand::u32(..))
}

/// Everything a stack operation needs: the client, where to report, and how to wait.
pub struct Engine<'a> {
    /// The CloudFormation client.
    pub cfn: Client,
    /// Where progress goes.
    pub printer: &'a Printer,
    /// The region (for messages).
    pub region: String,
    /// Polling intervals.
    pub poll: PollConfig,
    /// How long to wait for one stack operation; `None` waits as long as it takes.
    pub timeout: Option<Duration>,
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

impl Engine<'_> {
    /// Describes `stack` (name or id); `Ok(None)` when it does not exist.
    pub async fn describe(&self, stack: &str) -> std::result::Result<Option<StackInfo>, AwsError> {
        let output = match self.cfn.describe_stacks().stack_name(stack).send().await {
            Ok(output) => output,
            Err(err) => {
                let err = AwsError::from_sdk(err);
                return if err.is_stack_not_found() {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        let Some(found) = output.stacks().first() else {
            return Ok(None);
        };
        let outputs = found
            .outputs()
            .iter()
            .filter_map(|o| {
                Some(OutputValue {
                    key: o.output_key()?.to_string(),
                    value: o.output_value()?.to_string(),
                    description: o.description().map(str::to_string),
                    export_name: o.export_name().map(str::to_string),
                })
            })
            .collect();
        Ok(Some(StackInfo {
            id: found.stack_id().unwrap_or(stack).to_string(),
            name: found.stack_name().unwrap_or(stack).to_string(),
            status: found
                .stack_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            reason: found.stack_status_reason().map(str::to_string),
            outputs,
            termination_protection: found.enable_termination_protection().unwrap_or(false),
            last_updated: found
                .last_updated_time()
                .or(found.creation_time())
                .map(format_time),
        }))
    }

    /// Describes `stack`, turning an API error into an [`Error::Aws`] about `action`.
    pub async fn describe_for(&self, stack: &str, action: &str) -> Result<Option<StackInfo>> {
        self.describe(stack).await.map_err(|err| {
            let hint = err.generic_hint();
            Error::aws(
                format!("cannot {action} stack `{stack}` in `{}`", self.region),
                err,
                hint,
            )
        })
    }

    /// Runs a read-only call until it succeeds or fails for a reason retrying cannot fix.
    /// Transient failures (throttling, 5xx, network) that outlast the SDK's own retries back
    /// off like the wait loop (one warning), within `--timeout`: a throttled read must never
    /// turn a deployment into a failure.
    pub async fn read<T, F, Fut>(&self, what: &str, mut call: F) -> std::result::Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, AwsError>>,
    {
        let start = tokio::time::Instant::now();
        let mut interval = self.poll.initial;
        let mut warned = false;
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(err)
                    if err.is_transient()
                        && self.timeout.is_none_or(|limit| start.elapsed() < limit) =>
                {
                    if !warned {
                        self.printer
                            .warn(&format!("{what} failed ({err}); retrying with backoff"));
                        warned = true;
                    }
                    tokio::time::sleep(jitter(interval)).await;
                    interval = (interval * 2).min(Duration::from_secs(60));
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// The id of the newest event of `stack_id`, to print only later events.
    pub async fn latest_event_id(
        &self,
        stack_id: &str,
    ) -> std::result::Result<Option<String>, AwsError> {
        self.read("reading the stack events", || async {
            let output = self
                .cfn
                .describe_stack_events()
                .stack_name(stack_id)
                .send()
                .await
                .map_err(AwsError::from_sdk)?;
            Ok(output
                .stack_events()
                .first()
                .and_then(|e| e.event_id())
                .map(str::to_string))
        })
        .await
    }

    /// Events of `stack_id` newer than `since` (all when `None`), oldest first. CloudFormation
    /// returns events newest first, in pages (CloudFormation API Reference,
    /// DescribeStackEvents), so pages are read until `since` is met.
    async fn events_since(
        &self,
        stack_id: &str,
        since: Option<&str>,
    ) -> std::result::Result<Vec<Event>, AwsError> {
        let mut events = Vec::new();
        let mut next: Option<String> = None;
        'pages: loop {
            let output = self
                .cfn
                .describe_stack_events()
                .stack_name(stack_id)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(AwsError::from_sdk)?;
            for raw in output.stack_events() {
                let id = raw.event_id().unwrap_or_default();
                if Some(id) == since {
                    break 'pages;
                }
                events.push(Event {
                    id: id.to_string(),
                    time: raw.timestamp().map(format_time).unwrap_or_default(),
                    logical_id: raw.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: raw.resource_type().unwrap_or_default().to_string(),
                    physical_id: raw.physical_resource_id().map(str::to_string),
                    status: raw
                        .resource_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    reason: raw
                        .resource_status_reason()
                        .filter(|r| !r.is_empty())
                        .map(str::to_string),
                });
            }
            match output.next_token() {
                Some(token) if since.is_some() => next = Some(token.to_string()),
                // Without a marker, one page is the whole recent history we print.
                _ => break,
            }
        }
        events.reverse();
        Ok(events)
    }

    /// Waits until `stack_id` leaves its `*_IN_PROGRESS` state, printing one line per new
    /// event (after `since`). With `executing`, `REVIEW_IN_PROGRESS` also counts as in
    /// progress (a change set was just executed and the status may lag). Throttling and other
    /// transient errors back the polling off and never end the wait; `--timeout` does.
    pub async fn wait(
        &self,
        stack_id: &str,
        stack_name: &str,
        since: Option<String>,
        executing: bool,
    ) -> Result<Outcome> {
        let start = tokio::time::Instant::now();
        let mut interval = self.poll.initial;
        let mut last_seen = since;
        let mut events: Vec<Event> = Vec::new();
        let mut quiet_since = start;
        let mut warned = false;
        loop {
            let polled = async {
                let info = self.describe(stack_id).await?;
                let new = self.events_since(stack_id, last_seen.as_deref()).await?;
                Ok::<_, AwsError>((info, new))
            }
            .await;
            match polled {
                Ok((info, new)) => {
                    if let Some(last) = new.last() {
                        last_seen = Some(last.id.clone());
                        quiet_since = tokio::time::Instant::now();
                        interval = self.poll.initial;
                    } else {
                        interval = (interval * 3 / 2).min(self.poll.max);
                    }
                    for event in &new {
                        self.printer.info(&event.line());
                    }
                    events.extend(new);
                    let (status, reason) = match &info {
                        Some(info) => (info.status.clone(), info.reason.clone()),
                        // A deleted stack described by id may already be gone.
                        None => ("DELETE_COMPLETE".to_string(), None),
                    };
                    let settled = match classify(&status) {
                        StatusClass::InProgress => false,
                        StatusClass::Review => !executing,
                        _ => true,
                    };
                    if settled {
                        self.printer.clear_spinner();
                        return Ok(Outcome {
                            status,
                            reason,
                            events,
                            info,
                        });
                    }
                    self.printer.spinner(&format!("{stack_name}: {status}"));
                    if quiet_since.elapsed() >= Duration::from_secs(60) {
                        self.printer.info(&format!(
                            "... {stack_name} is still {status} ({} elapsed)",
                            humantime::format_duration(Duration::from_secs(
                                start.elapsed().as_secs()
                            ))
                        ));
                        quiet_since = tokio::time::Instant::now();
                    }
                }
                Err(err) if err.is_transient() => {
                    if !warned {
                        self.printer.warn(&format!(
                            "polling stack `{stack_name}` failed ({err}); retrying with backoff"
                        ));
                        warned = true;
                    }
                    interval = (interval * 2).min(Duration::from_secs(60));
                }
                Err(err) => {
                    self.printer.clear_spinner();
                    let hint = err.generic_hint();
                    return Err(Error::aws(
                        format!("cannot follow stack `{stack_name}` in `{}`", self.region),
                        err,
                        hint,
                    ));
                }
            }
            if let Some(timeout) = self.timeout {
                if start.elapsed() >= timeout {
                    self.printer.clear_spinner();
                    let status = self
                        .describe(stack_id)
                        .await
                        .ok()
                        .flatten()
                        .map(|info| info.status)
                        .unwrap_or_else(|| "in progress".into());
                    return Err(Error::Timeout {
                        stack: stack_name.to_string(),
                        region: self.region.clone(),
                        status,
                        waited: Duration::from_secs(start.elapsed().as_secs()),
                    });
                }
            }
            tokio::time::sleep(jitter(interval)).await;
        }
    }
}

/// `interval` ± 20 %, so that many nodectl processes do not poll in lockstep.
fn jitter(interval: Duration) -> Duration {
    interval.mul_f64(0.8 + 0.4 * fastrand::f64())
}
