//! The kubelet's back-off bookkeeping, with client-go's `flowcontrol.Backoff` semantics.
//!
//! `next` starts an entry at the initial step or doubles it up to the cap; an entry whose last
//! update is more than twice the cap old starts over. The kubelet asks two different questions:
//! the container restart path asks whether `now - finishedAt` is still inside the step
//! ([`Backoff::in_backoff_since`]), the image pull path whether the time since the entry's last
//! update is ([`Backoff::in_backoff_since_update`]).

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;

#[derive(Debug, Clone, Copy)]
struct Entry {
    step: Duration,
    last_update: Timestamp,
}

/// Per-key exponential back-off (10 s doubling to 300 s for both kubelet uses).
#[derive(Debug)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    entries: HashMap<String, Entry>,
}

fn elapsed(from: Timestamp, to: Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or(Duration::ZERO)
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            entries: HashMap::new(),
        }
    }

    fn expired(&self, e: &Entry, at: Timestamp) -> bool {
        elapsed(e.last_update, at) > self.max * 2
    }

    /// Record a failure at `event_time`: start or double the entry.
    pub(crate) fn next(&mut self, key: &str, event_time: Timestamp, now: Timestamp) {
        let step = match self.entries.get(key) {
            Some(e) if !self.expired(e, event_time) => (e.step * 2).min(self.max),
            _ => self.initial,
        };
        self.entries.insert(
            key.to_string(),
            Entry {
                step,
                last_update: now,
            },
        );
    }

    /// The current step for a key (the initial one when there is none).
    pub(crate) fn get(&self, key: &str) -> Duration {
        self.entries.get(key).map_or(self.initial, |e| e.step)
    }

    /// `now - event_time < step`, for an entry that has not expired.
    pub(crate) fn in_backoff_since(
        &self,
        key: &str,
        event_time: Timestamp,
        now: Timestamp,
    ) -> bool {
        match self.entries.get(key) {
            Some(e) if !self.expired(e, now) => elapsed(event_time, now) < e.step,
            _ => false,
        }
    }

    /// `now - lastUpdate < step`.
    pub(crate) fn in_backoff_since_update(&self, key: &str, now: Timestamp) -> bool {
        match self.entries.get(key) {
            Some(e) if !self.expired(e, now) => elapsed(e.last_update, now) < e.step,
            _ => false,
        }
    }

    /// Forget entries that have expired (after a successful pull).
    pub(crate) fn gc(&mut self, now: Timestamp) {
        let max = self.max;
        self.entries
            .retain(|_, e| elapsed(e.last_update, now) <= max * 2);
    }

    /// Forget every entry whose key starts with `prefix` (a pod that is gone).
    pub(crate) fn forget_prefix(&mut self, prefix: &str) {
        self.entries.retain(|k, _| !k.starts_with(prefix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn doubles_to_the_cap_and_resets_after_twice_the_cap() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(300));
        let mut now = 0;
        let mut steps = Vec::new();
        for _ in 0..8 {
            b.next("k", t(now), t(now));
            steps.push(b.get("k").as_secs());
            now += 1;
        }
        assert_eq!(steps, [10, 20, 40, 80, 160, 300, 300, 300]);
        // Ten minutes and a second later the entry starts over.
        b.next("k", t(now + 601), t(now + 601));
        assert_eq!(b.get("k").as_secs(), 10);
    }

    #[test]
    fn the_two_window_questions() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(300));
        assert!(!b.in_backoff_since_update("img", t(0)));
        b.next("img", t(0), t(0));
        assert!(b.in_backoff_since_update("img", t(9)));
        assert!(!b.in_backoff_since_update("img", t(10)));
        // The crash path measures from the container's finish time.
        assert!(b.in_backoff_since("img", t(5), t(14)));
        assert!(!b.in_backoff_since("img", t(5), t(15)));
    }
}
