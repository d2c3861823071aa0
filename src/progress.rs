//! What a person sees of a stack operation on a terminal: one status line (resources done out
//! of the expected total, what is still in progress and for how long, the boot-signal wait of
//! an instance named as such, the time so far) and event lines abbreviated to the terminal's
//! width, in colour unless `NO_COLOR` or `--color never`. Without a terminal nodectl prints
//! the plain event lines of [`Event::line`] instead (logs and CI keep every detail).
//!
//! The CDK prints `N/M` with each event line and rain a table of pending / in progress /
//! complete resources (`../shared/reference/cli-anchors.md`); this keeps the counts and adds
//! what is being waited for and since when, on one line that never wraps.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use console::{measure_text_width, truncate_str, Style};

use crate::aws::cloudformation::Event;

/// The state of one stack operation, fed with its events.
#[derive(Debug, Clone)]
pub struct Progress {
    stack: String,
    expected: Option<usize>,
    signalled: Vec<String>,
    started: Instant,
    resources: BTreeMap<String, Resource>,
}

#[derive(Debug, Clone)]
enum Resource {
    InProgress { since: Instant, kind: String },
    Done,
}

impl Progress {
    /// An operation on `stack` that will touch about `expected` resources (`None`: unknown),
    /// where the resources `signalled` (a `CreationPolicy`) wait for a boot signal.
    pub fn new(stack: &str, expected: Option<usize>, signalled: &[String]) -> Self {
        Progress {
            stack: stack.to_string(),
            expected,
            signalled: signalled.to_vec(),
            started: Instant::now(),
            resources: BTreeMap::new(),
        }
    }

    /// Takes in one event of the operation (the stack's own events are ignored).
    pub fn record(&mut self, event: &Event) {
        if event.logical_id == self.stack && event.resource_type == "AWS::CloudFormation::Stack" {
            return;
        }
        let state = if event.status.ends_with("_IN_PROGRESS") {
            let since = match self.resources.get(&event.logical_id) {
                Some(Resource::InProgress { since, .. }) => *since,
                _ => Instant::now(),
            };
            Resource::InProgress {
                since,
                kind: event.resource_type.clone(),
            }
        } else {
            Resource::Done
        };
        self.resources.insert(event.logical_id.clone(), state);
    }

    /// How many resources are done.
    pub fn done(&self) -> usize {
        self.resources
            .values()
            .filter(|r| matches!(r, Resource::Done))
            .count()
    }

    /// The status line, at most `width` columns: `stack 12/17 Instance: boot signal 3m 5s,
    /// Volume 4s (4m 2s)`, with `now` as the current time.
    pub fn line(&self, width: usize, now: Instant, colour: bool) -> String {
        let done = self.done();
        let count = match self.expected {
            Some(expected) => format!("{done}/{}", expected.max(done)),
            None => format!("{done} done"),
        };
        let mut busy: Vec<(&String, Duration, &str)> = self
            .resources
            .iter()
            .filter_map(|(id, r)| match r {
                Resource::InProgress { since, kind } => {
                    Some((id, now.saturating_duration_since(*since), kind.as_str()))
                }
                Resource::Done => None,
            })
            .collect();
        // The longest waits first: what the operation is really waiting for.
        busy.sort_by_key(|entry| std::cmp::Reverse(entry.1));
        let waits: Vec<String> = busy
            .iter()
            .map(|(id, waited, kind)| {
                let what = if self.signalled.contains(id) && kind.starts_with("AWS::EC2::Instance")
                {
                    format!("{id}: waiting for its boot signal")
                } else {
                    id.to_string()
                };
                format!("{what} {}", short(*waited))
            })
            .collect();
        let total = short(now.saturating_duration_since(self.started));
        let stack = if colour {
            Style::new().bold().apply_to(&self.stack).to_string()
        } else {
            self.stack.clone()
        };
        let head = format!("{stack} {count}");
        let tail = format!(" ({total})");
        let room = width.saturating_sub(measure_text_width(&head) + measure_text_width(&tail) + 1);
        let body = fit(&waits, room);
        let line = if body.is_empty() {
            format!("{head}{tail}")
        } else {
            format!("{head} {body}{tail}")
        };
        truncate_str(&line, width, "…").into_owned()
    }
}

/// The items joined with `, `, as many as fit in `room` columns, then `+N more`.
fn fit(items: &[String], room: usize) -> String {
    let mut out = String::new();
    for (index, item) in items.iter().enumerate() {
        let candidate = if out.is_empty() {
            item.clone()
        } else {
            format!("{out}, {item}")
        };
        let rest = items.len() - index - 1;
        let more = if rest > 0 {
            format!(" +{rest} more")
        } else {
            String::new()
        };
        if measure_text_width(&candidate) + measure_text_width(&more) > room {
            let left = items.len() - index;
            return if out.is_empty() {
                truncate_str(item, room, "…").into_owned()
            } else {
                format!("{out} +{left} more")
            };
        }
        out = candidate;
    }
    out
}

/// A duration as `4s`, `3m 5s`, `1h 2m`.
pub fn short(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {}s", secs / 60, secs % 60),
        _ => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
    }
}

/// An event line for a terminal `width` columns wide: `10:15:02 CREATE_COMPLETE Instance
/// EC2::Instance reason`, the type without `AWS::`, cut to fit (with `…`), the status in
/// colour (green: complete, red: failed, yellow: rollback or deletion, cyan: in progress) when
/// `colour`. A failure (`*_FAILED`) keeps its whole reason and wraps: it is the one line the
/// operator needs in full.
pub fn event_line(event: &Event, width: usize, colour: bool) -> String {
    let time = event
        .time
        .split('T')
        .nth(1)
        .map(|t| t.trim_end_matches('Z'))
        .unwrap_or(&event.time);
    let kind = event
        .resource_type
        .strip_prefix("AWS::")
        .unwrap_or(&event.resource_type);
    let status = format!("{:<19}", event.status);
    let status = if colour {
        let style = if event.status.ends_with("_FAILED") {
            Style::new().red()
        } else if event.status.ends_with("_COMPLETE") {
            if event.status.contains("ROLLBACK") || event.status.starts_with("DELETE") {
                Style::new().yellow()
            } else {
                Style::new().green()
            }
        } else {
            Style::new().cyan()
        };
        style.force_styling(true).apply_to(status).to_string()
    } else {
        status
    };
    let mut line = format!("{time} {status} {} {kind}", event.logical_id);
    if let Some(reason) = &event.reason {
        line.push_str("  ");
        line.push_str(reason);
    }
    if event.status.ends_with("_FAILED") {
        return line.trim_end().to_owned();
    }
    truncate_str(line.trim_end(), width, "…").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(logical: &str, kind: &str, status: &str, reason: Option<&str>) -> Event {
        Event {
            id: format!("{logical}-{status}"),
            time: "2026-11-30T10:15:02Z".into(),
            logical_id: logical.into(),
            resource_type: kind.into(),
            physical_id: None,
            status: status.into(),
            reason: reason.map(str::to_string),
        }
    }

    #[test]
    fn the_status_line_counts_and_names_the_boot_signal_within_the_width() {
        let mut progress = Progress::new("allora-single-node", Some(17), &["Instance".into()]);
        let start = progress.started;
        for id in ["Vpc", "Subnet", "RouteTable"] {
            progress.record(&event(id, "AWS::EC2::VPC", "CREATE_IN_PROGRESS", None));
            progress.record(&event(id, "AWS::EC2::VPC", "CREATE_COMPLETE", None));
        }
        progress.record(&event(
            "Instance",
            "AWS::EC2::Instance",
            "CREATE_IN_PROGRESS",
            None,
        ));
        progress.record(&event(
            "Dashboard",
            "AWS::CloudWatch::Dashboard",
            "CREATE_IN_PROGRESS",
            None,
        ));
        let now = start + Duration::from_secs(185);
        let line = progress.line(80, now, false);
        assert!(line.starts_with("allora-single-node 3/17 "), "{line}");
        assert!(
            line.contains("Instance: waiting for its boot signal"),
            "{line}"
        );
        assert!(line.ends_with("(3m 5s)"), "{line}");
        assert!(measure_text_width(&line) <= 80, "{line}");
        // Narrow: the list gives way, the counts stay.
        let narrow = progress.line(40, now, false);
        assert!(measure_text_width(&narrow) <= 40, "{narrow}");
        assert!(narrow.starts_with("allora-single-node 3/17"), "{narrow}");
        // A stack's own events do not count.
        progress.record(&event(
            "allora-single-node",
            "AWS::CloudFormation::Stack",
            "CREATE_IN_PROGRESS",
            None,
        ));
        assert_eq!(progress.done(), 3);
    }

    #[test]
    fn event_lines_fit_the_terminal() {
        let reason = "Resource handler returned message: \"The route table does not exist\" (Service: Ec2, Status Code: 400)";
        let long = event(
            "PublicSubnetRouteTableAssociation",
            "AWS::EC2::SubnetRouteTableAssociation",
            "CREATE_IN_PROGRESS",
            Some(reason),
        );
        let line = event_line(&long, 80, false);
        assert_eq!(measure_text_width(&line), 80, "{line}");
        assert!(
            line.starts_with(
                "10:15:02 CREATE_IN_PROGRESS  PublicSubnetRouteTableAssociation EC2::Subnet"
            ),
            "{line}"
        );
        assert!(line.ends_with('…'));
        let coloured = event_line(&long, 80, true);
        assert!(coloured.contains("\u{1b}[36m"), "{coloured:?}");
        assert!(measure_text_width(&coloured) <= 80);
        // A failure keeps its whole reason.
        let failed = event(
            "PublicSubnetRouteTableAssociation",
            "AWS::EC2::SubnetRouteTableAssociation",
            "CREATE_FAILED",
            Some(reason),
        );
        let line = event_line(&failed, 80, true);
        assert!(line.contains("\u{1b}[31m"), "{line:?}");
        assert!(line.ends_with("Status Code: 400)"), "{line}");
        assert_eq!(short(Duration::from_secs(3725)), "1h 2m");
    }
}
