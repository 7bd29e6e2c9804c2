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
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy)]
struct State {
    /// Virtual time at `anchor`.
    virtual_at_anchor: Timestamp,
    anchor: Instant,
    speed: f64,
}

fn sanitize(speed: f64) -> f64 {
    if speed.is_finite() && speed >= 0.0 {
        speed
    } else {
        1.0
    }
}

impl State {
    fn now(&self) -> Timestamp {
        let elapsed = self.anchor.elapsed().mul_f64(self.speed);
        let elapsed = SignedDuration::try_from(elapsed).unwrap_or(SignedDuration::MAX);
        self.virtual_at_anchor
            .checked_add(elapsed)
            .unwrap_or(self.virtual_at_anchor)
    }
}

impl Clock {
    /// A clock starting now that runs `speed` times as fast as real time. Speed 0 is a paused
    /// clock that moves only by [`Clock::advance`] (deterministic tests); values that are not
    /// finite or are negative mean 1.
    pub fn new(speed: f64) -> Self {
        let speed = sanitize(speed);
        // A paused clock starts an hour back, so tests can move it forward without stamping
        // objects in the future (kubectl renders future times as `<invalid>`).
        let start = if speed == 0.0 {
            Timestamp::now()
                .checked_sub(SignedDuration::from_hours(1))
                .unwrap_or_else(|_| Timestamp::now())
        } else {
            Timestamp::now()
        };
        Clock {
            state: Mutex::new(State {
                virtual_at_anchor: start,
                anchor: Instant::now(),
                speed,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The speed factor.
    pub fn speed(&self) -> f64 {
        self.lock().speed
    }

    /// Change the speed from now on (time already passed stays as it was).
    pub fn set_speed(&self, speed: f64) {
        let mut g = self.lock();
        let now = g.now();
        *g = State {
            virtual_at_anchor: now,
            anchor: Instant::now(),
            speed: sanitize(speed),
        };
    }

    /// Current virtual time.
    pub fn now(&self) -> Timestamp {
        self.lock().now()
    }

    /// Jump virtual time forward (tests, and "skip ahead" in lessons).
    pub fn advance(&self, by: Duration) {
        let mut g = self.lock();
        let by = SignedDuration::try_from(by).unwrap_or(SignedDuration::ZERO);
        g.virtual_at_anchor = g
            .virtual_at_anchor
            .checked_add(by)
            .unwrap_or(g.virtual_at_anchor);
    }

    /// Whether time moves only by [`Clock::advance`].
    pub fn is_paused(&self) -> bool {
        self.speed() == 0.0
    }

    /// How long to really wait for `virtual_duration` of cluster time to pass (a paused clock
    /// never gets there on its own: a day stands in for "until woken").
    pub fn real_duration(&self, virtual_duration: Duration) -> Duration {
        if self.is_paused() {
            return Duration::from_secs(86_400);
        }
        let secs = (virtual_duration.as_secs_f64() / self.speed()).min(86_400.0 * 365.0);
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
    fn speed_changes_keep_time_continuous() {
        let c = Clock::new(0.0);
        let t0 = c.now();
        c.advance(Duration::from_secs(10));
        c.set_speed(0.0);
        assert_eq!(c.now().duration_since(t0).as_secs(), 10);
        c.set_speed(1000.0);
        std::thread::sleep(Duration::from_millis(20));
        assert!(c.now().duration_since(t0).as_secs() >= 20);
    }

    #[test]
    fn formats_like_metav1() {
        let ts: Timestamp = "2025-01-02T03:04:05.123456789Z".parse().unwrap();
        assert_eq!(rfc3339(ts), "2025-01-02T03:04:05Z");
        assert_eq!(rfc3339_micro(ts), "2025-01-02T03:04:05.123456Z");
    }
}
