//! The controllers' work queue, on the cluster's virtual clock.
//!
//! Kubernetes keeps the same thing in client-go's `util/workqueue`: a delaying, rate-limited
//! queue of keys (`TypedRateLimitingInterface`). Three of its promises matter here:
//!
//! - **De-duplication**: a key is queued at most once. Adding a key that is already waiting
//!   moves it earlier when the new time is earlier and is otherwise a no-op
//!   (`delaying_queue.go`: "if the entry is already in the queue, update its readyAt if
//!   earlier").
//! - **Per-key back-off** after a failed reconcile: client-go's default item rate limiter,
//!   `NewItemExponentialFailureRateLimiter(5*time.Millisecond, 1000*time.Second)`
//!   (`default_rate_limiters.go`): `base * 2^failures`, capped, forgotten on success.
//! - **Requeue-after**: a key comes back at a given moment.
//!
//! Unlike client-go the queue never sleeps: time is the embedded cluster's virtual clock, and
//! whoever drives the controllers asks for the keys due at `now`. Keys due at the same moment
//! come out in the order they were queued (a sequence number breaks ties), so a run on a
//! paused clock is the same every time. Timers that are not object keys (a kubelet's next
//! probe) are keys of their own in the same queue, so they keep that one order too.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use jiff::Timestamp;

/// What the queue holds: a controller's name and the key of the object it reconciles.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueKey {
    /// The controller that reconciles the key.
    pub controller: &'static str,
    /// The object's key, as the controller maps objects to keys (`namespace/name`, a uid).
    pub key: String,
}

impl QueueKey {
    /// The key `key` of controller `controller`.
    pub fn new(controller: &'static str, key: impl Into<String>) -> Self {
        QueueKey {
            controller,
            key: key.into(),
        }
    }
}

/// client-go's `ItemExponentialFailureRateLimiter`: `base * 2^failures`, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemBackoff {
    /// The delay after the first failure.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for ItemBackoff {
    /// `DefaultControllerRateLimiter`'s per-item part: 5 ms doubling to 1000 s.
    fn default() -> Self {
        ItemBackoff {
            base: Duration::from_millis(5),
            max: Duration::from_secs(1000),
        }
    }
}

impl ItemBackoff {
    /// The delay after `failures` earlier failures (0 for the first failure).
    pub fn delay(&self, failures: u32) -> Duration {
        1u32.checked_shl(failures)
            .and_then(|factor| self.base.checked_mul(factor))
            .map_or(self.max, |d| d.min(self.max))
    }
}

/// `t + d` on the virtual clock (`t` itself when that would overflow).
pub fn at_after(t: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d).ok())
        .unwrap_or(t)
}

/// A de-duplicating, delaying, rate-limited queue of controller keys in virtual time.
#[derive(Debug, Default)]
pub struct WorkQueue {
    /// Waiting keys by (due time, sequence).
    due: BTreeMap<(Timestamp, u64), QueueKey>,
    /// Where each waiting key sits in `due`.
    waiting: HashMap<QueueKey, (Timestamp, u64)>,
    /// Failures since the key's last success.
    failures: HashMap<QueueKey, u32>,
    seq: u64,
    backoff: ItemBackoff,
}

impl WorkQueue {
    /// An empty queue with client-go's default per-key back-off.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty queue with another per-key back-off.
    pub fn with_backoff(backoff: ItemBackoff) -> Self {
        WorkQueue {
            backoff,
            ..Self::default()
        }
    }

    /// The next tie-breaking sequence number.
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Queue `key` to be due at `at`. A key already waiting moves earlier if `at` is earlier
    /// and otherwise stays where it is. Returns whether the key's due time changed.
    pub fn add_at(&mut self, key: QueueKey, at: Timestamp) -> bool {
        if let Some(&(t, seq)) = self.waiting.get(&key) {
            if t <= at {
                return false;
            }
            self.due.remove(&(t, seq));
        }
        let seq = self.next_seq();
        self.due.insert((at, seq), key.clone());
        self.waiting.insert(key, (at, seq));
        true
    }

    /// Queue `key` to be due `after` from `now` (`AddAfter`).
    pub fn add_after(&mut self, key: QueueKey, now: Timestamp, after: Duration) -> bool {
        self.add_at(key, at_after(now, after))
    }

    /// Queue `key` after its back-off and count the failure (`AddRateLimited`); returns the
    /// delay chosen.
    pub fn add_rate_limited(&mut self, key: QueueKey, now: Timestamp) -> Duration {
        let failures = self.failures.entry(key.clone()).or_insert(0);
        let delay = self.backoff.delay(*failures);
        *failures = failures.saturating_add(1);
        self.add_after(key, now, delay);
        delay
    }

    /// The key succeeded: its next failure starts the back-off over (`Forget`).
    pub fn forget(&mut self, key: &QueueKey) {
        self.failures.remove(key);
    }

    /// Failures since the key's last success (`NumRequeues`).
    pub fn num_requeues(&self, key: &QueueKey) -> u32 {
        self.failures.get(key).copied().unwrap_or(0)
    }

    /// Drop a waiting key (its object is gone); its failures are forgotten too.
    pub fn remove(&mut self, key: &QueueKey) {
        if let Some(at) = self.waiting.remove(key) {
            self.due.remove(&at);
        }
        self.failures.remove(key);
    }

    /// Whether `key` is waiting.
    pub fn contains(&self, key: &QueueKey) -> bool {
        self.waiting.contains_key(key)
    }

    /// When `key` is due, if it is waiting.
    pub fn due_at(&self, key: &QueueKey) -> Option<Timestamp> {
        self.waiting.get(key).map(|(t, _)| *t)
    }

    /// The (due time, sequence) of the first waiting key.
    pub fn peek(&self) -> Option<(Timestamp, u64)> {
        self.due.keys().next().copied()
    }

    /// When the first waiting key is due.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.peek().map(|(t, _)| t)
    }

    /// Take the first key due at or before `now` (`Get`).
    pub fn pop_due(&mut self, now: Timestamp) -> Option<QueueKey> {
        let (&(t, seq), _) = self.due.first_key_value()?;
        if t > now {
            return None;
        }
        let key = self.due.remove(&(t, seq))?;
        self.waiting.remove(&key);
        Some(key)
    }

    /// How many keys are waiting.
    pub fn len(&self) -> usize {
        self.due.len()
    }

    /// Whether no key is waiting.
    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_700_000_000_000 + ms).unwrap()
    }

    fn k(key: &str) -> QueueKey {
        QueueKey::new("test", key)
    }

    fn drain(q: &mut WorkQueue, now: Timestamp) -> Vec<String> {
        std::iter::from_fn(|| q.pop_due(now))
            .map(|k| k.key)
            .collect()
    }

    #[test]
    fn a_key_waits_once_and_moves_only_earlier() {
        let mut q = WorkQueue::new();
        assert!(q.add_at(k("a"), t(100)));
        assert!(!q.add_at(k("a"), t(100)));
        assert!(!q.add_at(k("a"), t(500)));
        assert_eq!(q.len(), 1);
        assert_eq!(q.due_at(&k("a")), Some(t(100)));
        assert!(q.add_at(k("a"), t(50)));
        assert_eq!(q.len(), 1);
        assert_eq!(q.next_deadline(), Some(t(50)));
        // The same key of another controller is another key.
        assert!(q.add_at(QueueKey::new("other", "a"), t(50)));
        assert_eq!(q.len(), 2);
        assert_eq!(drain(&mut q, t(49)), Vec::<String>::new());
        assert_eq!(drain(&mut q, t(50)), ["a", "a"]);
        assert!(q.is_empty());
        // Once taken, the key can be queued again.
        assert!(q.add_at(k("a"), t(60)));
    }

    #[test]
    fn backoff_doubles_from_5ms_to_the_1000s_cap_and_success_forgets_it() {
        let b = ItemBackoff::default();
        let first: Vec<u128> = (0..6).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(first, [5, 10, 20, 40, 80, 160]);
        // 5 ms * 2^17 = 655.36 s; 2^18 would be 1310.72 s, over the cap.
        assert_eq!(b.delay(17), Duration::from_millis(655_360));
        assert_eq!(b.delay(18), Duration::from_secs(1000));
        assert_eq!(b.delay(31), Duration::from_secs(1000));
        assert_eq!(b.delay(200), Duration::from_secs(1000));

        let mut q = WorkQueue::new();
        let mut now = t(0);
        let mut delays = Vec::new();
        for _ in 0..4 {
            delays.push(q.add_rate_limited(k("a"), now).as_millis());
            now = q.next_deadline().unwrap();
            assert_eq!(q.pop_due(now), Some(k("a")));
        }
        assert_eq!(delays, [5, 10, 20, 40]);
        assert_eq!(now, t(75));
        assert_eq!(q.num_requeues(&k("a")), 4);
        q.forget(&k("a"));
        assert_eq!(q.num_requeues(&k("a")), 0);
        assert_eq!(q.add_rate_limited(k("a"), now).as_millis(), 5);
        // Back-off is per key.
        assert_eq!(q.add_rate_limited(k("b"), now).as_millis(), 5);
    }

    #[test]
    fn requeue_after_is_due_at_its_virtual_moment() {
        let mut q = WorkQueue::new();
        q.add_after(k("a"), t(0), Duration::from_secs(30));
        assert_eq!(q.pop_due(t(29_999)), None);
        assert_eq!(q.next_deadline(), Some(t(30_000)));
        assert_eq!(q.pop_due(t(30_000)), Some(k("a")));
        assert_eq!(q.pop_due(t(40_000)), None);
    }

    #[test]
    fn keys_come_out_by_due_time_then_in_the_order_queued() {
        let mut q = WorkQueue::new();
        q.add_at(k("late"), t(20));
        q.add_at(k("b"), t(10));
        q.add_at(k("a"), t(10));
        q.add_at(k("c"), t(10));
        assert_eq!(q.next_deadline(), Some(t(10)));
        assert_eq!(drain(&mut q, t(100)), ["b", "a", "c", "late"]);
        // Moving a key earlier puts it behind keys already due at that moment.
        q.add_at(k("x"), t(5));
        q.add_at(k("y"), t(9));
        q.add_at(k("y"), t(5));
        assert_eq!(drain(&mut q, t(100)), ["x", "y"]);
    }

    #[test]
    fn removing_a_key_drops_it_and_its_failures() {
        let mut q = WorkQueue::new();
        q.add_rate_limited(k("a"), t(0));
        q.add_at(k("b"), t(1));
        q.remove(&k("a"));
        assert!(!q.contains(&k("a")));
        assert_eq!(q.num_requeues(&k("a")), 0);
        assert_eq!(drain(&mut q, t(100)), ["b"]);
    }
}
