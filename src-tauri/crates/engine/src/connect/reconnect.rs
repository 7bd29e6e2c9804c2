//! The reconnect schedule, as a pure policy object.
//!
//! Delays grow exponentially from `initial` to `max`; a connection that stayed up for
//! `reset_after` counts as healthy, so the next failure starts again from `initial` (the same
//! shape as kube-runtime's default watcher back-off: 800 ms → 30 s, reset after 120 s).
//! Jitter is passed in (a number in `[0, 1)`) rather than drawn here, so tests are exact.

use jiff::{SignedDuration, Timestamp};

/// The schedule's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    pub initial: SignedDuration,
    pub max: SignedDuration,
    /// How long a connection must stay up before the schedule resets.
    pub reset_after: SignedDuration,
    /// At most this fraction of each delay is added as jitter (0.0 disables jitter).
    pub jitter_fraction_percent: u32,
    /// Give up after this many consecutive failures (`None`: never; the embedded cluster is
    /// always worth retrying).
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial: SignedDuration::from_millis(800),
            max: SignedDuration::from_secs(30),
            reset_after: SignedDuration::from_secs(120),
            jitter_fraction_percent: 20,
            max_attempts: None,
        }
    }
}

/// Where a reconnect loop stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconnectState {
    /// Consecutive failures since the last healthy connection.
    pub failures: u32,
    /// When the current connection came up.
    pub connected_since: Option<Timestamp>,
}

impl ReconnectPolicy {
    /// The delay before attempt number `failures + 1`, without jitter.
    pub fn base_delay(&self, failures: u32) -> SignedDuration {
        let exp = failures.saturating_sub(1).min(30);
        let nanos = self.initial.as_nanos().saturating_mul(1i128 << exp);
        let max = self.max.as_nanos();
        SignedDuration::from_nanos(i64::try_from(nanos.min(max)).unwrap_or(i64::MAX))
    }

    /// Records a successful connection at `now`.
    pub fn on_connected(&self, state: &mut ReconnectState, now: Timestamp) {
        state.connected_since = Some(now);
    }

    /// Records a failure at `now` and returns when to try again, or `None` to give up.
    /// `jitter` is a number in `[0, 1)` from the caller's random source.
    pub fn on_failure(
        &self,
        state: &mut ReconnectState,
        now: Timestamp,
        jitter: f64,
    ) -> Option<Timestamp> {
        if let Some(since) = state.connected_since.take()
            && now.duration_since(since) >= self.reset_after
        {
            state.failures = 0;
        }
        state.failures = state.failures.saturating_add(1);
        if self.max_attempts.is_some_and(|m| state.failures > m) {
            return None;
        }
        let base = self.base_delay(state.failures);
        let jitter = jitter.clamp(0.0, 1.0) * f64::from(self.jitter_fraction_percent) / 100.0;
        let extra = SignedDuration::from_secs_f64(base.as_secs_f64() * jitter);
        now.checked_add(base.checked_add(extra).unwrap_or(base))
            .ok()
    }
}
