//! The controllers kube-controller-manager runs for the API server's own objects: the
//! namespace controller, the service account controller, the root CA publisher and the pod
//! garbage collector (for pods no kubelet will finish), on one [`Runner`] fed by the store's
//! watches.
//!
//! Two things set them apart from the node side ([`crate::Controllers`]):
//!
//! - They run whether or not the scheduler and kubelets do, and on the wall clock, not the
//!   cluster's virtual one: a paused cluster still empties a deleted namespace.
//! - The API server hands them a change before the write that made it returns
//!   ([`Store::set_control_plane`]), so a namespace has its `default` ServiceAccount and
//!   `kube-root-ca.crt` by the time its create answers, a pod created right after is
//!   admitted, and a pod deleted with nothing running is gone when its delete answers. Keys due later (a namespace's next cleanup pass) are reconciled by
//!   [`ControlPlane::run`].
//!
//! A controller's own writes can come back to the control plane on the same thread (deleting
//! a namespace's default ServiceAccount asks for it back); that nested call returns at once,
//! and the outer loop sees the change on its next drain of the watches.

use std::cell::Cell;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::Notify;

use crate::informer::{self, Informers};
use crate::kinds;
use crate::namespace::NamespaceController;
use crate::podgc::PodGc;
use crate::reconciler::Runner;
use crate::rootca::RootCaPublisher;
use crate::serviceaccount::ServiceAccountController;
use crate::store::{EventType, Store};

thread_local! {
    /// Whether this thread is inside the control plane's loop.
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Marks the thread as inside the loop until dropped (also on a panic).
struct Inside;

impl Inside {
    fn enter() -> Option<Inside> {
        if INSIDE.with(|i| i.replace(true)) {
            None
        } else {
            Some(Inside)
        }
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        INSIDE.with(|i| i.set(false));
    }
}

struct Inner {
    runner: Runner<Arc<Store>>,
    informers: Informers,
}

/// The API server's own controllers, attached to one store.
pub struct ControlPlane {
    store: Weak<Store>,
    inner: Mutex<Inner>,
    notify: Notify,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane").finish_non_exhaustive()
    }
}

impl Inner {
    /// Hand every pending watch event to the runner; returns whether there was any.
    fn drain(&mut self, store: &mut Arc<Store>, now: Timestamp) -> bool {
        let Inner { runner, informers } = self;
        let mut any = informers.drain(|resource, ev| {
            informer::observe(runner, resource, ev.kind, &ev.object, now, store);
        });
        if self.informers.take_lagged() {
            // Events were lost: every namespace is looked at again.
            any = true;
            self.runner.resync(now, store);
            for ns in store.list_raw(&kinds::namespace::KIND, None) {
                let resource = kinds::namespace::KIND.plural;
                informer::observe(
                    &mut self.runner,
                    resource,
                    EventType::Modified,
                    &ns,
                    now,
                    store,
                );
            }
        }
        any
    }
}

impl ControlPlane {
    /// Attach the namespace, service account, root CA and pod GC controllers to `store`: from now on
    /// the store hands them its changes. Call before the first namespace is created;
    /// [`ControlPlane::run`] reconciles what falls due later.
    pub fn attach(store: &Arc<Store>) -> Arc<ControlPlane> {
        let mut runner = Runner::new();
        // Adding a controller: one file with its `Controller` and one line here.
        runner.register(ServiceAccountController);
        runner.register(RootCaPublisher);
        runner.register(NamespaceController);
        runner.register(PodGc::default());
        runner.register(crate::clusterroleaggregation::ClusterRoleAggregation::default());
        let informers = Informers::start(store, &runner.watched());
        let cp = Arc::new(ControlPlane {
            store: Arc::downgrade(store),
            inner: Mutex::new(Inner { runner, informers }),
            notify: Notify::new(),
        });
        let hook = Arc::downgrade(&cp);
        store.set_control_plane(Arc::new(move || {
            if let Some(cp) = hook.upgrade() {
                cp.kick();
            }
        }));
        cp
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Take in every change and reconcile every key due now; returns the next deadline.
    /// A call from inside a reconcile on this thread returns `None` at once.
    fn step(&self) -> Option<Timestamp> {
        let _inside = Inside::enter()?;
        let mut store = self.store.upgrade()?;
        let mut inner = self.lock();
        for _ in 0..100_000 {
            let now = Timestamp::now();
            let changed = inner.drain(&mut store, now);
            if inner.runner.reconcile_next(now, &mut store).is_none() && !changed {
                break;
            }
        }
        inner.runner.next_deadline()
    }

    /// The store changed in a way the controllers must see before the write returns.
    pub fn kick(&self) {
        self.step();
        self.notify.notify_one();
    }

    /// Reconcile keys as they fall due (a namespace's next cleanup pass) until `stop` fires.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let wait = self.step().map_or(Duration::from_secs(86_400), |t| {
                Duration::try_from(t.duration_since(Timestamp::now())).unwrap_or_default()
            });
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.notify.notified() => {}
                _ = stop.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::store::{DeleteOptions, WriteOptions};
    use serde_json::json;

    fn store() -> Arc<Store> {
        // A paused cluster: the control plane works on the wall clock all the same.
        Store::new(Arc::new(Clock::new(0.0)), "CA".into(), 100)
    }

    fn create_namespace(store: &Store, name: &str) {
        store
            .create(
                &kinds::namespace::KIND,
                "",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
                &WriteOptions::default(),
            )
            .unwrap();
    }

    fn has(store: &Store, kind: &kinds::ResourceKind, ns: &str, name: &str) -> bool {
        store.get_raw(kind, ns, name).is_some()
    }

    #[test]
    fn a_namespace_has_its_default_objects_when_its_create_returns_and_gets_them_back() {
        let store = store();
        let _cp = ControlPlane::attach(&store);
        create_namespace(&store, "team");
        assert!(has(&store, &kinds::serviceaccount::KIND, "team", "default"));
        let ca = store
            .get_raw(&kinds::configmap::KIND, "team", "kube-root-ca.crt")
            .unwrap();
        assert_eq!(ca["data"]["ca.crt"], "CA");
        store
            .delete_typed::<k8s_openapi::api::core::v1::ServiceAccount>("team", "default")
            .unwrap();
        assert!(has(&store, &kinds::serviceaccount::KIND, "team", "default"));
        store
            .delete_typed::<k8s_openapi::api::core::v1::ConfigMap>("team", "kube-root-ca.crt")
            .unwrap();
        assert!(has(
            &store,
            &kinds::configmap::KIND,
            "team",
            "kube-root-ca.crt"
        ));
    }

    #[test]
    fn without_a_control_plane_a_namespace_is_bare() {
        let store = store();
        create_namespace(&store, "team");
        assert!(!has(
            &store,
            &kinds::serviceaccount::KIND,
            "team",
            "default"
        ));
    }

    #[tokio::test]
    async fn a_deleted_namespace_is_emptied_then_removed_on_the_wall_clock() {
        let store = store();
        let cp = ControlPlane::attach(&store);
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(cp.clone().run(stop_rx));
        create_namespace(&store, "team");
        store
            .delete(
                &kinds::namespace::KIND,
                "",
                "team",
                &DeleteOptions::default(),
            )
            .unwrap();
        // Terminating at first, and its default objects are not put back.
        let ns = store.get_raw(&kinds::namespace::KIND, "", "team").unwrap();
        assert_eq!(ns["status"]["phase"], "Terminating");
        let started = std::time::Instant::now();
        while has(&store, &kinds::namespace::KIND, "", "team") {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "namespace not removed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(started.elapsed() >= Duration::from_millis(150));
        assert!(!has(
            &store,
            &kinds::serviceaccount::KIND,
            "team",
            "default"
        ));
        assert!(!has(
            &store,
            &kinds::configmap::KIND,
            "team",
            "kube-root-ca.crt"
        ));
        stop.send(true).unwrap();
        task.await.unwrap();
    }
}
