//! `nodectl logs`: the cloud-init output, the node service's journal or a container's log,
//! read through SSM Run Command. SSM returns at most 24,000 characters of a command's output
//! inline, so the log is first written to a file on the node (`mktemp` under /tmp, removed at
//! the end) and then read in pages of whole lines, each page within the limit; `--follow`
//! asks again every few seconds for the lines after the last one seen. (CloudWatch Logs would
//! avoid the paging but needs the agent configured for each source; Run Command needs
//! nothing beyond the SSM agent.)

use std::str::FromStr;
use std::time::Duration;

use super::node::{Located, NodeOps};
use crate::aws::ssm::INLINE_STDOUT_LIMIT;
use crate::error::{Error, Result};
use crate::node::NodeProfile;

/// The cloud-init output log on the instance (Amazon Linux).
pub const CLOUD_INIT_LOG: &str = "/var/log/cloud-init-output.log";

/// Lines asked for per page; a page that comes back cut is shortened to its whole lines.
const PAGE_LINES: usize = 1000;

/// Which log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    /// `/var/log/cloud-init-output.log`: the user data's run (installation, first start).
    CloudInit,
    /// The journal of the node's systemd service.
    Node,
    /// `docker logs` of one container.
    Container(String),
}

impl FromStr for LogSource {
    type Err = String;

    fn from_str(value: &str) -> std::result::Result<Self, String> {
        match value {
            "cloud-init" => Ok(LogSource::CloudInit),
            "node" => Ok(LogSource::Node),
            name if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) =>
            {
                Ok(LogSource::Container(name.to_string()))
            }
            _ => Err("use cloud-init, node, or a container name ([A-Za-z0-9_.-])".into()),
        }
    }
}

/// The shell command that prints `source`, from `since` if given: a shell expression for
/// seconds since the epoch (a number, or `$((now - 600))`; never user text).
fn source_command(source: &LogSource, profile: &NodeProfile, since: Option<&str>) -> String {
    match source {
        LogSource::CloudInit => format!("cat {CLOUD_INIT_LOG}"),
        LogSource::Node => format!(
            "journalctl -u {} --no-pager -o short-iso{}",
            shell_words::quote(profile.service),
            since.map(|t| format!(" --since @{t}")).unwrap_or_default()
        ),
        LogSource::Container(name) => format!(
            "docker logs --timestamps{} {} 2>&1",
            since.map(|t| format!(" --since {t}")).unwrap_or_default(),
            shell_words::quote(name)
        ),
    }
}

/// What `logs` asks for.
#[derive(Debug, Clone)]
pub struct LogRequest {
    /// The log.
    pub source: LogSource,
    /// Only entries newer than this (not for cloud-init, whose lines carry no time).
    pub since: Option<Duration>,
    /// The last N lines (0: all).
    pub lines: usize,
    /// Keep reading new lines until interrupted.
    pub follow: bool,
}

/// Prints the log through `print` (whole lines, in order), then with `follow` keeps printing
/// new lines until the process is interrupted.
pub async fn logs(
    ops: &NodeOps<'_>,
    node: &Located,
    profile: &NodeProfile,
    request: &LogRequest,
    print: &dyn Fn(&str),
) -> Result<()> {
    if request.since.is_some() && request.source == LogSource::CloudInit {
        return Err(Error::usage(
            "--since does not apply to the cloud-init log (its lines carry no time)",
            "use --lines N, or --source node / --source CONTAINER with --since",
        ));
    }
    ops.reachable(node).await?;
    // 1. The node's clock, then the log into a file: its exit code, line count and path.
    let since = request.since.map(|d| format!("$((now - {}))", d.as_secs()));
    let dump = format!(
        "now=$(date +%s); echo \"$now\"; f=$(mktemp /tmp/nodectl-logs.XXXXXX) || exit 1; \
         {{ {}; }} >\"$f\" 2>&1; echo $?; wc -l <\"$f\"; echo \"$f\"",
        source_command(&request.source, profile, since.as_deref())
    );
    let result = ops
        .run(node, vec![dump], Duration::from_secs(300), "nodectl logs")
        .await?;
    let head: Vec<&str> = result.stdout.lines().collect();
    let (Some(start_time), Some(code), Some(total), Some(path)) = (
        head.first().and_then(|t| t.trim().parse::<u64>().ok()),
        head.get(1).and_then(|c| c.trim().parse::<i32>().ok()),
        head.get(2).and_then(|n| n.trim().parse::<usize>().ok()),
        head.get(3).map(|p| p.trim().to_string()),
    ) else {
        return Err(Error::usage(
            format!(
                "could not read the log on {} ({}): {}",
                node.instance_id,
                node.stack,
                result.stderr.trim()
            ),
            "try `nodectl exec -- df -h /tmp` (a full disk?)",
        ));
    };
    let file = shell_words::quote(&path).into_owned();
    // A source that failed (no such container, no journal) is an error with what it said, not
    // a log.
    if code != 0 {
        let said = ops
            .run(
                node,
                vec![format!("head -c 2000 {file}; rm -f {file}")],
                Duration::from_secs(60),
                "nodectl logs",
            )
            .await
            .map(|r| r.stdout.trim().to_string())
            .unwrap_or_default();
        return Err(Error::usage(
            format!(
                "reading the {} log failed (exit code {code}){}",
                label(&request.source),
                if said.is_empty() {
                    String::new()
                } else {
                    format!(": {said}")
                }
            ),
            "check the source: `nodectl status` lists the containers",
        ));
    }
    // 2. The asked lines, page by page, then the file removed.
    let mut next = if request.lines == 0 {
        1
    } else {
        total.saturating_sub(request.lines) + 1
    };
    while next <= total {
        let got = page(
            ops,
            node,
            &format!("cat {file}"),
            next,
            total - next + 1,
            print,
        )
        .await?;
        next += got.max(1);
    }
    let _ = ops
        .run(
            node,
            vec![format!("rm -f {file}")],
            Duration::from_secs(60),
            "nodectl logs",
        )
        .await;
    if !request.follow {
        return Ok(());
    }
    // 3. --follow: the lines since the start, after those already seen (a line written while
    // the file above was being written may show twice, none is lost).
    let stream = match &request.source {
        LogSource::CloudInit => format!("cat {CLOUD_INIT_LOG}"),
        other => source_command(other, profile, Some(&start_time.to_string())),
    };
    let mut seen = match request.source {
        LogSource::CloudInit => total,
        _ => 0,
    };
    let pause = ops
        .poll
        .max
        .clamp(Duration::from_millis(200), Duration::from_secs(5));
    loop {
        tokio::time::sleep(pause).await;
        let got = page(ops, node, &stream, seen + 1, PAGE_LINES, print).await?;
        seen += got;
    }
}

fn label(source: &LogSource) -> String {
    match source {
        LogSource::CloudInit => "cloud-init".into(),
        LogSource::Node => "node service".into(),
        LogSource::Container(name) => format!("`{name}` container"),
    }
}

/// Prints lines `start..start+count` of `stream`'s output (at most [`PAGE_LINES`]), only
/// whole lines when SSM cut the page; returns how many lines it printed (a single line longer
/// than the limit is printed cut, ending in `…`, and counts as one).
async fn page(
    ops: &NodeOps<'_>,
    node: &Located,
    stream: &str,
    start: usize,
    count: usize,
    print: &dyn Fn(&str),
) -> Result<usize> {
    let count = count.min(PAGE_LINES);
    let line = format!("{{ {stream}; }} 2>&1 | tail -n +{start} | head -n {count}");
    let result = ops
        .run(node, vec![line], Duration::from_secs(120), "nodectl logs")
        .await?;
    let text = result.stdout;
    let cut = text.chars().count() >= INLINE_STDOUT_LIMIT;
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    if cut {
        if lines.len() > 1 {
            lines.pop();
        } else if let Some(only) = lines.first() {
            print(&format!("{}…\n", only.trim_end_matches('\n')));
            return Ok(1);
        }
    }
    for line in &lines {
        print(line);
    }
    Ok(lines.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_refuse_shell_text() {
        assert_eq!("cloud-init".parse::<LogSource>(), Ok(LogSource::CloudInit));
        assert_eq!("node".parse::<LogSource>(), Ok(LogSource::Node));
        assert_eq!(
            "allora-worker-1".parse::<LogSource>(),
            Ok(LogSource::Container("allora-worker-1".into()))
        );
        assert!("x; rm -rf /".parse::<LogSource>().is_err());
    }
}
