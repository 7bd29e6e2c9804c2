//! The cluster's one clock.
//!
//! Every timestamp the embedded cluster writes and every timer its controllers wait on comes
//! from here, so a speed factor makes missions (back-offs, grace periods) run faster without
//! changing any logic, and tests can jump time forward deterministically with
//! [`Clock::advance`].
//!
//! Virtual time starts at the wall clock when the cluster starts and then runs `speed` times
//! as fast, plus whatever was added with `advance`. At speed 1 (the default) timestamps match
//! the learner's clock, which keeps `kubectl describe` ages (computed client-side) honest.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

/// A virtual clock with a speed factor.
#[derive(Debug)]
pub struct Clock {
    start_wall: Timestamp,
    start_instant: Instant,
    speed: f64,
    offset: Mutex<Duration>,
}

impl Clock {
    /// A clock starting now that runs `speed` times as fast as real time. Speed 0 is a paused
    /// clock that moves only by [`Clock::advance`] (deterministic tests); values that are not
    /// finite or are negative mean 1.
    pub fn new(speed: f64) -> Self {
        let speed = if speed.is_finite() && speed >= 0.0 {
            speed
        } else {
            1.0
        };
        // A paused clock starts an hour back, so tests can move it forward without stamping
        // objects in the future (kubectl renders future times as `<invalid>`).
        let start_wall = if speed == 0.0 {
            Timestamp::now()
                .checked_sub(SignedDuration::from_hours(1))
                .unwrap_or_else(|_| Timestamp::now())
        } else {
            Timestamp::now()
        };
        Clock {
            start_wall,
            start_instant: Instant::now(),
            speed,
            offset: Mutex::new(Duration::ZERO),
        }
    }

    /// The speed factor.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    fn offset(&self) -> Duration {
        match self.offset.lock() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        }
    }

    /// Current virtual time.
    pub fn now(&self) -> Timestamp {
        let elapsed = self.start_instant.elapsed().mul_f64(self.speed) + self.offset();
        let elapsed = SignedDuration::try_from(elapsed).unwrap_or(SignedDuration::MAX);
        self.start_wall
            .checked_add(elapsed)
            .unwrap_or(self.start_wall)
    }

    /// Jump virtual time forward (tests, and "skip ahead" in lessons).
    pub fn advance(&self, by: Duration) {
        let mut g = match self.offset.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g += by;
    }

    /// Whether time moves only by [`Clock::advance`].
    pub fn is_paused(&self) -> bool {
        self.speed == 0.0
    }

    /// How long to really wait for `virtual_duration` of cluster time to pass (a paused clock
    /// never gets there on its own: a day stands in for "until woken").
    pub fn real_duration(&self, virtual_duration: Duration) -> Duration {
        if self.is_paused() {
            return Duration::from_secs(86_400);
        }
        let secs = (virtual_duration.as_secs_f64() / self.speed).min(86_400.0 * 365.0);
        Duration::from_secs_f64(secs)
    }

    /// Sleep for a span of virtual time.
    pub async fn sleep(&self, virtual_duration: Duration) {
        tokio::time::sleep(self.real_duration(virtual_duration)).await;
    }
}

/// Format a timestamp the way `metav1.Time` serialises (second precision, `Z`).
pub fn rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Format a timestamp the way `metav1.MicroTime` serialises (microseconds, `Z`).
pub fn rfc3339_micro(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()
}

/// Parse a `metav1.Time` / `MicroTime` string.
pub fn parse_time(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now() {
        let c = Clock::new(1.0);
        let before = c.now();
        c.advance(Duration::from_secs(90));
        let after = c.now();
        assert!(after.duration_since(before).as_secs() >= 90);
    }

    #[test]
    fn formats_like_metav1() {
        let ts: Timestamp = "2025-01-02T03:04:05.123456789Z".parse().unwrap();
        assert_eq!(rfc3339(ts), "2025-01-02T03:04:05Z");
        assert_eq!(rfc3339_micro(ts), "2025-01-02T03:04:05.123456Z");
    }
}
