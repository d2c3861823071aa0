//! The CloudWatch custom metrics the nodes publish, which no template resource declares: the
//! instance's user data configures them. CloudWatch bills each metric (one metric name with
//! one set of dimension values) per month, as it bills the metrics of EC2 detailed monitoring
//! (Amazon CloudWatch pricing page, "Metrics").
//!
//! A publisher counts for an instance when its `marker` appears in that instance's user data,
//! so a publisher removed from the user data stops being billed here; the tests check that
//! every marker is in the rendered user data of its blueprint, so a changed one is noticed.

/// A program on the instance that publishes custom metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publisher {
    /// The blueprint whose user data runs it (`theta`).
    pub blueprint: &'static str,
    /// What it is, as printed: `CloudWatch agent`.
    pub name: &'static str,
    /// Text of the user data that shows the publisher is configured.
    pub marker: &'static str,
    /// The metric names it publishes, each with how many dimension sets (one per disk path or
    /// device, for example), so the number of billed metrics is the sum of the counts.
    pub metrics: &'static [(&'static str, i64)],
    /// Where in the user data the metrics are configured.
    pub configured_in: &'static str,
}

impl Publisher {
    /// The number of billed metrics (metric names × dimension sets).
    pub fn count(&self) -> i64 {
        self.metrics.iter().map(|(_, n)| n).sum()
    }
}

/// Every publisher nodectl's blueprints configure.
pub const PUBLISHERS: &[Publisher] = &[
    Publisher {
        blueprint: "allora",
        name: "CloudWatch agent",
        marker: "mem_used_percent",
        metrics: &[
            ("mem_used_percent", 1),
            // disk: used_percent for "/" and "/data" (dimension path).
            ("disk_used_percent", 2),
        ],
        configured_in: "templates/allora/user-data.sh, CloudWatch agent configuration",
    },
    Publisher {
        blueprint: "theta",
        name: "CloudWatch agent",
        marker: "iops_in_progress",
        metrics: &[
            // cpu: the total of all CPUs only (totalcpu, no per-CPU resources).
            ("cpu_usage_idle", 1),
            ("cpu_usage_iowait", 1),
            ("cpu_usage_user", 1),
            ("cpu_usage_system", 1),
            // disk: "/" and "/data".
            ("disk_used_percent", 2),
            // diskio: the /data device (one device when it is the expected one).
            ("diskio_io_time", 1),
            ("diskio_read_bytes", 1),
            ("diskio_write_bytes", 1),
            ("diskio_reads", 1),
            ("diskio_writes", 1),
            ("diskio_read_time", 1),
            ("diskio_write_time", 1),
            ("diskio_iops_in_progress", 1),
            ("mem_used_percent", 1),
            ("mem_cached", 1),
            ("netstat_tcp_established", 1),
            ("netstat_tcp_time_wait", 1),
            ("swap_used_percent", 1),
        ],
        configured_in: "templates/theta/user-data.sh, CloudWatch agent configuration",
    },
    Publisher {
        blueprint: "theta",
        name: "theta-edge-metrics timer",
        marker: "theta_peer_count",
        metrics: &[("theta_current_block_height", 1), ("theta_peer_count", 1)],
        configured_in: "templates/theta/user-data.sh, /usr/local/bin/theta-edge-metrics",
    },
];

/// The publishers of `blueprint` whose marker is in `user_data`.
pub fn publishers(blueprint: &str, user_data: &str) -> Vec<&'static Publisher> {
    PUBLISHERS
        .iter()
        .filter(|p| p.blueprint == blueprint && user_data.contains(p.marker))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        let count = |blueprint, name| {
            PUBLISHERS
                .iter()
                .find(|p| p.blueprint == blueprint && p.name == name)
                .map(Publisher::count)
        };
        assert_eq!(count("allora", "CloudWatch agent"), Some(3));
        assert_eq!(count("theta", "CloudWatch agent"), Some(19));
        assert_eq!(count("theta", "theta-edge-metrics timer"), Some(2));
    }

    #[test]
    fn only_publishers_whose_marker_is_in_the_user_data_count() {
        let found = publishers("theta", "... theta_peer_count ...");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "theta-edge-metrics timer");
        assert!(publishers("allora", "... theta_peer_count ...").is_empty());
    }
}
