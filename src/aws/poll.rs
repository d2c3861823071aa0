//! The one polling loop of nodectl: how long to wait between two looks at something that takes
//! time (a stack operation, a change set, later an SSM command), with backoff while nothing
//! happens, jitter so that many processes do not poll in lockstep, a longer backoff while AWS
//! throttles or fails, and the `--timeout`. [`retry_transient`] uses it for single reads that
//! must survive throttling.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::AwsError;

/// The longest interval while AWS throttles or fails: 60 s.
pub const TRANSIENT_CAP: Duration = Duration::from_secs(60);

/// How often to poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollConfig {
    /// The first interval, and the interval right after something changed.
    pub initial: Duration,
    /// The longest interval while nothing happens (throttling may back off further, to
    /// [`TRANSIENT_CAP`]).
    pub max: Duration,
}

impl Default for PollConfig {
    /// 100 ms growing (by half, with jitter) to 5 s while nothing happens, and back to 100 ms
    /// after every new event: while resources complete, the end of a stack operation is noticed
    /// within 100 to 200 ms; a 20-minute wait costs about one DescribeStacks and one
    /// DescribeStackEvents every 5 s (the tests below simulate both).
    /// (The CDK polls every 2 s and backs off to 15 s, [`PollConfig::CDK`], which adds up to
    /// 15 s after a long wait ends.)
    fn default() -> Self {
        PollConfig {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

impl PollConfig {
    /// The CDK's intervals: 2 s growing to 15 s (`stack-activity-monitor.ts`,
    /// `../shared/reference/cli-anchors.md`).
    pub const CDK: PollConfig = PollConfig {
        initial: Duration::from_secs(2),
        max: Duration::from_secs(15),
    };

    /// The intervals for one of `waiters` waits that run at once (a fleet's node stacks): each
    /// starts `waiters` times slower, so that together they poll about as often as one wait
    /// does (the maximum grows to at least that initial interval). Measured on LocalStack with
    /// 10 nodes 8 at a time: the describe calls of eight 100 ms pollers slowed LocalStack itself
    /// by about a quarter (`scripts/bench-fleet`); on AWS it keeps a fleet's DescribeStacks and
    /// DescribeStackEvents calls within CloudFormation's request rate, whatever its size.
    pub fn shared_by(self, waiters: usize) -> Self {
        let waiters = u32::try_from(waiters.max(1)).unwrap_or(u32::MAX);
        let initial = self.initial.saturating_mul(waiters);
        PollConfig {
            initial,
            max: self.max.max(initial),
        }
    }

    /// The default, or `NODECTL_POLL_INTERVAL_MS` as the initial interval and four times it as
    /// the maximum (used by the test suite against local emulators, where stacks settle in
    /// about a second).
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

/// One wait: the elapsed time, the timeout and the current interval.
#[derive(Debug, Clone)]
pub struct Poller {
    config: PollConfig,
    timeout: Option<Duration>,
    start: Instant,
    interval: Duration,
}

impl Poller {
    /// A wait that starts now, polling at `config.initial` first; `timeout` `None` waits as
    /// long as it takes.
    pub fn new(config: PollConfig, timeout: Option<Duration>) -> Self {
        Poller {
            config,
            timeout,
            start: Instant::now(),
            interval: config.initial,
        }
    }

    /// The same wait with a first interval of `interval`.
    pub fn first_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// How long the wait has lasted.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// How long the wait has lasted, in whole seconds (for messages).
    pub fn elapsed_secs(&self) -> Duration {
        Duration::from_secs(self.elapsed().as_secs())
    }

    /// Whether the timeout has elapsed.
    pub fn timed_out(&self) -> bool {
        self.timeout.is_some_and(|limit| self.elapsed() >= limit)
    }

    /// The time left before the timeout (`None`: no timeout).
    pub fn remaining(&self) -> Option<Duration> {
        self.timeout
            .map(|limit| limit.saturating_sub(self.elapsed()))
    }

    /// Something changed: poll at the initial interval again.
    pub fn progressed(&mut self) {
        self.interval = self.config.initial;
    }

    /// Nothing changed: back off by half, up to the maximum.
    pub fn idle(&mut self) {
        self.interval = (self.interval * 3 / 2).min(self.config.max);
    }

    /// Nothing yet: double the interval, up to the maximum.
    pub fn doubled(&mut self) {
        self.interval = (self.interval * 2).min(self.config.max);
    }

    /// AWS throttled or failed: double the interval, up to [`TRANSIENT_CAP`].
    pub fn throttled(&mut self) {
        self.interval = (self.interval * 2).min(TRANSIENT_CAP);
    }

    /// Sleeps for the interval ± 20 %, never past the timeout.
    pub async fn sleep(&self) {
        tokio::time::sleep(self.bounded(jitter(self.interval))).await;
    }

    /// Sleeps for exactly the interval, never past the timeout.
    pub async fn sleep_exact(&self) {
        tokio::time::sleep(self.bounded(self.interval)).await;
    }

    fn bounded(&self, wait: Duration) -> Duration {
        match self.remaining() {
            Some(left) => wait.min(left),
            None => wait,
        }
    }
}

/// `interval` ± 20 %, so that many nodectl processes do not poll in lockstep.
fn jitter(interval: Duration) -> Duration {
    interval.mul_f64(0.8 + 0.4 * fastrand::f64())
}

/// Runs a read-only `call` until it succeeds or fails for a reason retrying cannot fix.
/// Transient failures (throttling, 5xx, network) that outlast the SDK's own retries back off
/// from `config.initial` to [`TRANSIENT_CAP`], within `timeout`; `on_first_retry` is told of the
/// first one (a warning), so that a throttled read never turns a deployment into a failure.
pub async fn retry_transient<T, F, Fut>(
    config: PollConfig,
    timeout: Option<Duration>,
    on_first_retry: impl FnOnce(&AwsError),
    mut call: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let mut poller = Poller::new(config, timeout);
    let mut on_first_retry = Some(on_first_retry);
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(err) if err.is_transient() && !poller.timed_out() => {
                if let Some(tell) = on_first_retry.take() {
                    tell(&err);
                }
                poller.sleep().await;
                poller.throttled();
            }
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn concurrent_waits_share_one_polling_budget() {
        let one = PollConfig::default();
        assert_eq!(one.shared_by(1), one);
        assert_eq!(one.shared_by(0), one);
        let eight = one.shared_by(8);
        assert_eq!(eight.initial, Duration::from_millis(800));
        assert_eq!(eight.max, Duration::from_secs(5));
        let many = one.shared_by(80);
        assert_eq!(many.initial, Duration::from_secs(8));
        assert_eq!(many.max, Duration::from_secs(8));
    }

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn intervals_back_off_and_reset() {
        let config = PollConfig {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(15),
        };
        let mut poller = Poller::new(config, Some(Duration::from_secs(10)));
        for _ in 0..10 {
            poller.idle();
        }
        assert_eq!(poller.interval, Duration::from_secs(15));
        poller.throttled();
        poller.throttled();
        assert_eq!(poller.interval, TRANSIENT_CAP);
        poller.progressed();
        assert_eq!(poller.interval, Duration::from_secs(2));
        assert!(!poller.timed_out());
        poller.sleep_exact().await;
        tokio::time::advance(Duration::from_secs(8)).await;
        assert!(poller.timed_out());
    }

    /// A simulated wait with the default intervals, as `Engine::wait` polls: one look at once,
    /// then one after each sleep; each look is 2 describe calls. Events arrive at `events`
    /// (seconds after the start) and the stack settles at `settles`. Returns the number of
    /// looks and the time the settled stack was noticed.
    async fn simulate(events: &[f64], settles: f64) -> (u32, f64) {
        let mut poller = Poller::new(PollConfig::default(), None);
        let start = Instant::now();
        let mut seen = 0;
        let mut looks = 0;
        loop {
            looks += 1;
            let now = start.elapsed().as_secs_f64();
            if now >= settles {
                return (looks, now);
            }
            let arrived = events.iter().filter(|at| **at <= now).count();
            if arrived > seen {
                seen = arrived;
                poller.progressed();
            } else {
                poller.idle();
            }
            poller.sleep().await;
        }
    }

    /// While resources complete (an event every 100 ms, as on LocalStack), the end is noticed
    /// within one or two intervals (a look just before an event backs off once: at most
    /// 150 ms +20 % jitter); after a quiet spell, within the interval
    /// reached by then, at most about 3/4 of the quiet time (plus the first intervals).
    #[tokio::test(start_paused = true)]
    async fn a_quick_stack_is_noticed_within_an_interval() {
        for settles in [0.05, 0.3, 0.8, 2.0] {
            let busy: Vec<f64> = (0..=(settles * 10.0) as u32)
                .map(|i| f64::from(i) / 10.0)
                .collect();
            let (_, noticed) = simulate(&busy, settles).await;
            assert!(
                noticed - settles <= 0.181,
                "busy: settled at {settles} s, noticed at {noticed} s"
            );
            let (_, noticed) = simulate(&[0.0], settles).await;
            assert!(
                noticed - settles <= 0.75 * settles + 0.2,
                "quiet: settled at {settles} s, noticed at {noticed} s"
            );
        }
    }

    /// Issue 11: "on long waits no more than about 1 describe call per second on average". A
    /// node stack on AWS: 30 resource events over the first 5 minutes, then a 20-minute boot
    /// with no events; and the end is noticed within the 5 s maximum (+20 % jitter).
    #[tokio::test(start_paused = true)]
    async fn a_long_wait_costs_under_one_describe_call_per_second() {
        let events: Vec<f64> = (0..30).map(|i| f64::from(i) * 10.0).collect();
        let settles = 25.0 * 60.0;
        let (looks, noticed) = simulate(&events, settles).await;
        let calls_per_second = f64::from(looks * 2) / noticed;
        assert!(calls_per_second <= 1.0, "{calls_per_second} calls/s");
        assert!(
            noticed - settles <= 6.0,
            "noticed {} s late",
            noticed - settles
        );
    }
}
