//! The reconciler runtime: controllers that turn object changes into keys and reconcile keys
//! into "what next", on one [`WorkQueue`] in virtual time.
//!
//! The shape is kube-runtime's `Controller` (and controller-runtime's `Reconciler`): watches
//! feed a queue of object keys; `reconcile(key, ctx)` brings the world closer to the object's
//! spec and returns an [`Action`] (`Action::requeue(d)` or `Action::await_change()`); an error
//! goes through the controller's `error_policy`, by default client-go's per-key exponential
//! back-off. Kubernetes runs each controller of `kube-controller-manager` this way
//! (`pkg/controller/*`, each a `syncHandler(key)` on a rate-limited work queue).
//!
//! Adding a controller is one file with one [`Controller`] implementation plus one
//! [`Runner::register`] line. The runner is driven by whoever owns the clock: changes go in
//! with [`Runner::observe`], due keys are reconciled with [`Runner::reconcile_next`] or
//! [`Runner::run_due`]. Everything is in registration and queue order, so the same changes
//! at the same virtual moments always reconcile the same way.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

use crate::error::Error;
use crate::queue::{QueueKey, WorkQueue};

/// What a reconcile asks for next (kube-runtime's `Action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    next: Next,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    AwaitChange,
    Requeue(Duration),
    Backoff,
}

impl Action {
    /// Reconcile the key again after `after` (virtual time), change or not.
    pub fn requeue(after: Duration) -> Self {
        Action {
            next: Next::Requeue(after),
        }
    }

    /// Nothing to do until the object (or something mapped to it) changes.
    pub fn await_change() -> Self {
        Action {
            next: Next::AwaitChange,
        }
    }

    /// Retry after the key's exponential back-off (client-go's `AddRateLimited`); the default
    /// error policy.
    pub fn backoff() -> Self {
        Action {
            next: Next::Backoff,
        }
    }

    /// The delay asked for by [`Action::requeue`].
    pub fn requeue_after(&self) -> Option<Duration> {
        match self.next {
            Next::Requeue(d) => Some(d),
            _ => None,
        }
    }
}

/// How an object changed (a watch event's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    /// The object was created.
    Added,
    /// The object was updated.
    Modified,
    /// The object was deleted.
    Deleted,
}

/// One change to one object, as a watch delivers it.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// The resource (plural, as in the API path: `pods`, `nodes`, `namespaces`).
    pub resource: &'a str,
    /// What happened to it.
    pub change: ChangeType,
    /// The object (its last state, for a deletion).
    pub object: &'a Value,
}

impl Change<'_> {
    /// The object's `namespace/name`, or `name` for a cluster-scoped one (client-go's
    /// `MetaNamespaceKeyFunc`).
    pub fn key(&self) -> String {
        object_key(self.object)
    }
}

/// `namespace/name`, or `name` when the object has no namespace (`MetaNamespaceKeyFunc`).
pub fn object_key(object: &Value) -> String {
    let field = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or("");
    let (ns, name) = (field("/metadata/namespace"), field("/metadata/name"));
    if ns.is_empty() {
        name.to_string()
    } else {
        format!("{ns}/{name}")
    }
}

/// What a controller's change handler may queue: its own keys, now or later.
#[derive(Debug)]
pub struct Enqueue<'q> {
    queue: &'q mut WorkQueue,
    controller: &'static str,
    now: Timestamp,
}

impl Enqueue<'_> {
    /// The moment of the change.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Queue `key` now.
    pub fn key(&mut self, key: impl Into<String>) {
        let now = self.now;
        self.key_at(key, now);
    }

    /// Queue `key` at `at` (or earlier if it already waits for an earlier moment).
    pub fn key_at(&mut self, key: impl Into<String>, at: Timestamp) {
        self.queue.add_at(QueueKey::new(self.controller, key), at);
    }

    /// Drop `key` from the queue (its object is gone).
    pub fn remove(&mut self, key: impl Into<String>) {
        self.queue
            .remove(&QueueKey::new(self.controller, key.into()));
    }
}

/// One controller on the runtime. `C` is what every reconcile works with (the store, the
/// event recorder, shared caches), built by whoever drives the runner.
pub trait Controller<C>: Send {
    /// The controller's name (kube-controller-manager's `--controllers` name).
    fn name(&self) -> &'static str;

    /// The resources whose changes this controller hears about.
    fn watches(&self) -> &'static [&'static str];

    /// Map a change to the keys to reconcile (the informer's event handler). The default
    /// queues the changed object's own `namespace/name` now.
    fn on_change(&mut self, change: &Change<'_>, ctx: &mut C, queue: &mut Enqueue<'_>) {
        let _ = ctx;
        queue.key(change.key());
    }

    /// Bring the world in line with the object `key` names, at virtual time `now`. `queue`
    /// takes further keys of this controller (a related object to look at, or a timer that is
    /// not the key itself: a kubelet plans a pod's next sync, probe and program step this way);
    /// the key itself comes back by the returned [`Action`].
    fn reconcile(
        &mut self,
        key: &str,
        now: Timestamp,
        ctx: &mut C,
        queue: &mut Enqueue<'_>,
    ) -> Result<Action, Error>;

    /// The informers re-listed (at start, or after a watch fell behind): whatever a controller
    /// keeps beside its keys must be brought up to date. The driver then hands the objects it
    /// re-listed to [`Controller::on_change`]; by default this does nothing.
    fn resync(&mut self, ctx: &mut C, queue: &mut Enqueue<'_>) {
        let _ = (ctx, queue);
    }

    /// What to do after a failed reconcile; by default retry after the key's back-off.
    fn error_policy(&mut self, key: &str, error: &Error, ctx: &mut C) -> Action {
        let _ = (key, error, ctx);
        Action::backoff()
    }
}

/// The controllers and their shared work queue.
pub struct Runner<C> {
    controllers: Vec<Box<dyn Controller<C>>>,
    queue: WorkQueue,
}

impl<C> std::fmt::Debug for Runner<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.controllers.iter().map(|c| c.name()).collect();
        f.debug_struct("Runner")
            .field("controllers", &names)
            .field("queue", &self.queue)
            .finish()
    }
}

impl<C> Default for Runner<C> {
    fn default() -> Self {
        Runner {
            controllers: Vec::new(),
            queue: WorkQueue::new(),
        }
    }
}

impl<C> Runner<C> {
    /// A runner with no controllers and an empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a controller. Changes reach controllers in registration order.
    pub fn register(&mut self, controller: impl Controller<C> + 'static) {
        debug_assert!(
            self.controllers
                .iter()
                .all(|c| c.name() != controller.name()),
            "controller names are unique"
        );
        self.controllers.push(Box::new(controller));
    }

    /// The shared queue.
    pub fn queue(&self) -> &WorkQueue {
        &self.queue
    }

    /// Queue `key` of `controller` at `at`.
    pub fn enqueue(&mut self, controller: &'static str, key: impl Into<String>, at: Timestamp) {
        self.queue.add_at(QueueKey::new(controller, key), at);
    }

    /// Every resource some controller watches, once each, in registration order (what the
    /// driver subscribes to).
    pub fn watched(&self) -> Vec<&'static str> {
        let mut all: Vec<&'static str> = Vec::new();
        for r in self.controllers.iter().flat_map(|c| c.watches()) {
            if !all.contains(r) {
                all.push(r);
            }
        }
        all
    }

    /// Tell every controller that the informers re-listed ([`Controller::resync`]).
    pub fn resync(&mut self, now: Timestamp, ctx: &mut C) {
        for c in &mut self.controllers {
            let mut queue = Enqueue {
                queue: &mut self.queue,
                controller: c.name(),
                now,
            };
            c.resync(ctx, &mut queue);
        }
    }

    /// Hand a change to every controller that watches its resource.
    pub fn observe(&mut self, change: &Change<'_>, now: Timestamp, ctx: &mut C) {
        for c in &mut self.controllers {
            if !c.watches().contains(&change.resource) {
                continue;
            }
            let mut queue = Enqueue {
                queue: &mut self.queue,
                controller: c.name(),
                now,
            };
            c.on_change(change, ctx, &mut queue);
        }
    }

    /// When the first queued key is due.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.queue.next_deadline()
    }

    /// Reconcile the first key due at `now`, if any; returns the key reconciled.
    pub fn reconcile_next(&mut self, now: Timestamp, ctx: &mut C) -> Option<QueueKey> {
        let key = self.queue.pop_due(now)?;
        let Some(c) = self
            .controllers
            .iter_mut()
            .find(|c| c.name() == key.controller)
        else {
            return Some(key);
        };
        let span = tracing::debug_span!("reconcile", controller = key.controller, key = %key.key);
        let _entered = span.enter();
        let mut queue = Enqueue {
            queue: &mut self.queue,
            controller: c.name(),
            now,
        };
        let action = match c.reconcile(&key.key, now, ctx, &mut queue) {
            Ok(action) => {
                // A reconcile that asks to back off failed to make progress (a refused create,
                // say): its key keeps its failure count so the next delay grows, as client-go's
                // workqueue does until the controller calls Forget after a success.
                if !matches!(action.next, Next::Backoff) {
                    self.queue.forget(&key);
                }
                action
            }
            Err(error) => {
                tracing::debug!(%error, "reconcile failed");
                c.error_policy(&key.key, &error, ctx)
            }
        };
        match action.next {
            Next::AwaitChange => {}
            Next::Requeue(after) => {
                self.queue.add_after(key.clone(), now, after);
            }
            Next::Backoff => {
                let delay = self.queue.add_rate_limited(key.clone(), now);
                tracing::debug!(?delay, "backing off");
            }
        }
        Some(key)
    }

    /// Reconcile every key due at `now` (including keys requeued for `now` on the way);
    /// returns how many reconciles ran.
    pub fn run_due(&mut self, now: Timestamp, ctx: &mut C) -> usize {
        let mut n = 0;
        while self.reconcile_next(now, ctx).is_some() {
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_700_000_000_000 + ms).unwrap()
    }

    /// The inverse of [`t`]: milliseconds since the tests' epoch.
    fn ms(now: Timestamp) -> i64 {
        now.as_millisecond() - 1_700_000_000_000
    }

    /// What the test controllers saw, in order.
    #[derive(Default)]
    struct Log(Vec<String>);

    struct Echo {
        name: &'static str,
        fail: u32,
        then: Action,
    }

    impl Controller<Log> for Echo {
        fn name(&self) -> &'static str {
            self.name
        }
        fn watches(&self) -> &'static [&'static str] {
            &["pods"]
        }
        fn reconcile(
            &mut self,
            key: &str,
            now: Timestamp,
            ctx: &mut Log,
            _: &mut Enqueue<'_>,
        ) -> Result<Action, Error> {
            let ms = ms(now);
            ctx.0.push(format!("{} {key} @{ms}", self.name));
            if self.fail > 0 {
                self.fail -= 1;
                return Err(Error::Invalid(format!("{key} not ready")));
            }
            Ok(self.then)
        }
    }

    struct Nodes;

    impl Controller<Log> for Nodes {
        fn name(&self) -> &'static str {
            "nodes"
        }
        fn watches(&self) -> &'static [&'static str] {
            &["nodes"]
        }
        fn on_change(&mut self, change: &Change<'_>, _: &mut Log, queue: &mut Enqueue<'_>) {
            // A node change asks for one cluster-wide key, a little later.
            let at = crate::queue::at_after(queue.now(), Duration::from_millis(10));
            queue.key_at(format!("all:{}", change.key()), at);
        }
        fn reconcile(
            &mut self,
            key: &str,
            now: Timestamp,
            ctx: &mut Log,
            _: &mut Enqueue<'_>,
        ) -> Result<Action, Error> {
            let ms = ms(now);
            ctx.0.push(format!("nodes {key} @{ms}"));
            Ok(Action::await_change())
        }
    }

    fn pod(ns: &str, name: &str) -> Value {
        json!({"metadata": {"namespace": ns, "name": name}})
    }

    fn change<'a>(resource: &'a str, object: &'a Value) -> Change<'a> {
        Change {
            resource,
            change: ChangeType::Modified,
            object,
        }
    }

    fn run_until(r: &mut Runner<Log>, log: &mut Log, end: Timestamp) {
        while let Some(at) = r.next_deadline().filter(|at| *at <= end) {
            r.run_due(at, log);
        }
    }

    #[test]
    fn changes_reach_the_watching_controllers_in_registration_order_once_per_key() {
        let mut r = Runner::new();
        r.register(Echo {
            name: "first",
            fail: 0,
            then: Action::await_change(),
        });
        r.register(Nodes);
        r.register(Echo {
            name: "second",
            fail: 0,
            then: Action::await_change(),
        });
        let mut log = Log::default();
        let (a, b) = (pod("default", "a"), pod("default", "b"));
        for obj in [&a, &b, &a] {
            r.observe(&change("pods", obj), t(0), &mut log);
        }
        let node = json!({"metadata": {"name": "node-1"}});
        r.observe(&change("nodes", &node), t(0), &mut log);
        run_until(&mut r, &mut log, t(1000));
        assert_eq!(
            log.0,
            [
                "first default/a @0",
                "second default/a @0",
                "first default/b @0",
                "second default/b @0",
                "nodes all:node-1 @10",
            ]
        );
    }

    #[test]
    fn requeue_comes_back_at_its_virtual_moment_and_await_change_does_not() {
        let mut r = Runner::new();
        r.register(Echo {
            name: "periodic",
            fail: 0,
            then: Action::requeue(Duration::from_secs(30)),
        });
        let mut log = Log::default();
        r.enqueue("periodic", "k", t(0));
        run_until(&mut r, &mut log, t(95_000));
        assert_eq!(
            log.0,
            [
                "periodic k @0",
                "periodic k @30000",
                "periodic k @60000",
                "periodic k @90000"
            ]
        );
        assert_eq!(r.next_deadline(), Some(t(120_000)));
        assert_eq!(
            Action::requeue(Duration::from_secs(3)).requeue_after(),
            Some(Duration::from_secs(3))
        );
        assert_eq!(Action::await_change().requeue_after(), None);
    }

    #[test]
    fn errors_back_off_per_key_and_success_forgets_the_failures() {
        let mut r = Runner::new();
        r.register(Echo {
            name: "flaky",
            fail: 3,
            then: Action::await_change(),
        });
        let mut log = Log::default();
        r.enqueue("flaky", "k", t(0));
        run_until(&mut r, &mut log, t(1000));
        // 5, 10, 20 ms after each failure, then success.
        assert_eq!(
            log.0,
            ["flaky k @0", "flaky k @5", "flaky k @15", "flaky k @35"]
        );
        assert!(r.queue().is_empty());
        assert_eq!(r.queue().num_requeues(&QueueKey::new("flaky", "k")), 0);
    }

    /// A reconcile that returns `Action::backoff()` (a refused create) backs off like an
    /// error: 5, 10, 20, 40 ms …, not every 5 ms for ever.
    #[test]
    fn a_reconcile_that_backs_off_keeps_growing_its_delay() {
        let mut r = Runner::new();
        r.register(Echo {
            name: "refused",
            fail: 0,
            then: Action::backoff(),
        });
        let mut log = Log::default();
        r.enqueue("refused", "k", t(0));
        run_until(&mut r, &mut log, t(200));
        assert_eq!(
            log.0,
            [
                "refused k @0",
                "refused k @5",
                "refused k @15",
                "refused k @35",
                "refused k @75",
                "refused k @155"
            ]
        );
        assert_eq!(r.queue().num_requeues(&QueueKey::new("refused", "k")), 6);
    }

    /// A controller whose keys are one-shot timers, as a kubelet's are: each fires once, and
    /// the first ones plan two more under keys of their own.
    struct Ticker {
        planned: u32,
    }

    impl Controller<Log> for Ticker {
        fn name(&self) -> &'static str {
            "ticker"
        }
        fn watches(&self) -> &'static [&'static str] {
            &[]
        }
        fn reconcile(
            &mut self,
            key: &str,
            now: Timestamp,
            ctx: &mut Log,
            queue: &mut Enqueue<'_>,
        ) -> Result<Action, Error> {
            let ms = ms(now);
            ctx.0.push(format!("ticker {key} @{ms}"));
            if self.planned < 4 {
                for _ in 0..2 {
                    self.planned += 1;
                    let at = crate::queue::at_after(now, Duration::from_millis(10));
                    queue.key_at(format!("sync #{}", self.planned), at);
                }
            }
            Ok(Action::await_change())
        }
    }

    #[test]
    fn keys_queued_by_a_reconcile_keep_the_order_they_were_set_in_among_other_keys() {
        let mut r = Runner::new();
        r.register(Ticker { planned: 0 });
        r.register(Echo {
            name: "echo",
            fail: 0,
            then: Action::requeue(Duration::from_millis(10)),
        });
        let mut log = Log::default();
        r.enqueue("ticker", "start", t(0));
        r.enqueue("echo", "k", t(0));
        run_until(&mut r, &mut log, t(25));
        assert_eq!(
            log.0,
            [
                "ticker start @0",
                "echo k @0",
                // Both timers were set before echo requeued itself.
                "ticker sync #1 @10",
                "ticker sync #2 @10",
                "echo k @10",
                "ticker sync #3 @20",
                "ticker sync #4 @20",
                "echo k @20",
            ]
        );
    }

    #[test]
    fn object_keys_are_namespace_slash_name() {
        assert_eq!(object_key(&pod("kube-system", "dns")), "kube-system/dns");
        assert_eq!(
            object_key(&json!({"metadata": {"name": "node-1"}})),
            "node-1"
        );
    }
}
