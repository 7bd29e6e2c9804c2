//! The node side of the embedded cluster: the scheduler, the kubelets and the event
//! recorder's refresh on one reconciler runtime, driven by the cluster clock.
//!
//! One [`Controllers`] value owns the [`Runner`] they are registered on, the informer caches
//! they share ([`Shared`]) and the watches that feed them. It acts in [`Controllers::tick`]:
//! every change goes to the controllers that watch its resource, then every key due on the
//! virtual clock is reconciled (a pod to schedule, a kubelet's timer, the series refresh), in
//! (due time, order queued) order. The scheduler binds or rejects pending pods, the kubelets
//! run the pod lifecycle, and both write statuses and events back through the store, exactly
//! as a client of the API would see a real scheduler and kubelet do. A background task ticks
//! whenever something changes or the next key is due; with a paused clock (speed 0) tests
//! step virtual time themselves with [`Controllers::advance`], so a five-minute back-off
//! sequence runs in milliseconds and always the same way.
//!
//! On a real cluster these are separate processes (kube-scheduler, and a kubelet per node);
//! here they share one lock so that a paused clock replays them in one exact order.
//!
//! Adding a controller here is one file with its [`crate::Controller`] and one
//! [`Runner::register`] line in [`Controllers::start`]; the resources it watches are
//! subscribed to from its `watches()`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use serde_json::Value;
use tokio::sync::Notify;

use crate::Runner;
use crate::informer::{self, Informers};
use crate::kinds;
use crate::kubelet::Kubelets;
use crate::recorder::{self, Recorder};
use crate::runtime;
use crate::scheduler::{self, add};
use crate::series_refresh::SeriesRefresh;
use crate::shared::{Rng, Shared};
use crate::store::{EventType, Store};

/// What the lock guards: the runner, what its controllers share, and the watches.
struct NodeSide {
    informers: Informers,
    runner: Runner<Shared>,
    shared: Shared,
    /// Whether the full state must be re-read (at start, and after a watch fell behind).
    resync: bool,
}

/// The scheduler and kubelets of the embedded cluster.
pub struct Controllers {
    side: Mutex<NodeSide>,
    store: Arc<Store>,
    notify: Notify,
    /// The running containers exec and attach reach without `side`'s lock.
    containers: Arc<crate::kubelet::Containers>,
    /// The simulated network (cluster DNS, Services, pod connections).
    net: Arc<crate::network::ClusterNet>,
}

impl std::fmt::Debug for Controllers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controllers").finish_non_exhaustive()
    }
}

impl NodeSide {
    /// Re-read everything: the controllers bring their own state up to date, then every pod
    /// is handed over again (and pods that vanished meanwhile as deleted).
    fn full_resync(&mut self, now: Timestamp) {
        self.runner.resync(now, &mut self.shared);
        self.shared.nodes = self.shared.store.list::<Node>(None);
        let current: HashMap<String, Arc<Value>> = self
            .shared
            .store
            .list_raw(&kinds::pod::KIND, None)
            .into_iter()
            .map(|p| (kinds::str_at(&p, "/metadata/uid").to_string(), p))
            .collect();
        let gone: Vec<Arc<Value>> = self
            .shared
            .pods
            .iter()
            .filter(|(uid, _)| !current.contains_key(*uid))
            .map(|(_, p)| p.clone())
            .collect();
        for p in gone {
            on_change(
                &mut self.runner,
                &mut self.shared,
                "pods",
                EventType::Deleted,
                p,
                now,
            );
        }
        for (_, p) in current {
            on_change(
                &mut self.runner,
                &mut self.shared,
                "pods",
                EventType::Modified,
                p,
                now,
            );
        }
        // Every other watched object is handed over again too, as a re-listing informer
        // delivers its whole cache: a Deployment created before the controllers started (the
        // cluster's own CoreDNS) or changed while a watch was behind is acted on like any other.
        for resource in self.runner.watched() {
            if resource == "pods" {
                continue;
            }
            let Some(kind) = informer::kind_of(resource) else {
                continue;
            };
            for obj in self.shared.store.list_raw(kind, None) {
                on_change(
                    &mut self.runner,
                    &mut self.shared,
                    resource,
                    EventType::Modified,
                    obj,
                    now,
                );
            }
        }
    }

    /// Take every waiting watch event, resource by resource (a controller's own writes made
    /// meanwhile, such as a node's registration, are taken in the same pass); returns whether
    /// there was any.
    fn drain(&mut self, now: Timestamp) -> bool {
        let NodeSide {
            informers,
            runner,
            shared,
            ..
        } = self;
        let mut any = informers.drain(|resource, ev| {
            on_change(runner, shared, resource, ev.kind, ev.object.arc(), now);
        });
        if self.informers.take_lagged() || self.resync {
            self.resync = false;
            any = true;
            self.full_resync(now);
        }
        any
    }

    /// Process changes and every key due at `now`.
    fn tick(&mut self, now: Timestamp) {
        for _ in 0..100_000 {
            let changed = self.drain(now);
            if self.runner.reconcile_next(now, &mut self.shared).is_none() {
                if !changed {
                    return;
                }
                continue;
            }
            // Series that went quiet are finished on the recorder's own schedule; checking
            // after every key keeps it simple and cheap.
            let sh = &mut self.shared;
            sh.recorder.flush_series(&sh.store, now, false);
        }
    }
}

/// Keep the informer caches current, then hand the change to the controllers that watch
/// `resource`.
fn on_change(
    runner: &mut Runner<Shared>,
    sh: &mut Shared,
    resource: &'static str,
    kind: EventType,
    object: Arc<Value>,
    now: Timestamp,
) {
    if resource == "pods" {
        let uid = kinds::str_at(&object, "/metadata/uid").to_string();
        if kind == EventType::Deleted {
            sh.pods.remove(&uid);
        } else {
            sh.pods.insert(uid, object.clone());
        }
    }
    informer::observe(runner, resource, kind, &object, now, sh);
    if resource == "nodes" {
        sh.nodes = sh.store.list::<Node>(None);
    }
}

impl Controllers {
    /// Attach a scheduler and one kubelet per node to `store`, and start driving them.
    pub fn start(store: Arc<Store>, runtime: Arc<runtime::Runtime>) -> Arc<Controllers> {
        store.set_kubelet_attached(true);
        let now = store.clock().now();
        let nodes = store.list::<Node>(None);
        let mut shared = Shared {
            store: store.clone(),
            rng: Rng::new(0x6b75_6265_7175_6573),
            recorder: Recorder::default(),
            pods: HashMap::new(),
            nodes: nodes.clone(),
        };
        // Adding a controller: one file with its `Controller` and one line here. Changes
        // reach them in this order.
        let mut runner = Runner::new();
        runner.register(scheduler::Scheduler::default());
        runner.register(SeriesRefresh);
        let containers = Arc::new(crate::kubelet::Containers::new(runtime.clone()));
        let net = crate::network::ClusterNet::new(store.clone(), runtime.listeners());
        runtime.set_network(net.clone());
        runtime.set_api_client(Arc::new(crate::api_client::StoreApiClient::new(&store)));
        runner.register(Kubelets::start(
            &mut shared,
            runtime,
            &nodes,
            containers.clone(),
        ));
        // kube-controller-manager's workload controllers and the garbage collector.
        runner.register(crate::resourcequota::ResourceQuotaController);
        runner.register(crate::deployment::DeploymentController::default());
        runner.register(crate::replicaset::ReplicaSetController::default());
        runner.register(crate::statefulset::StatefulSetController);
        runner.register(crate::daemonset::DaemonSetController::default());
        runner.register(crate::job::JobController::default());
        runner.register(crate::cronjob::CronJobController::default());
        runner.register(crate::endpointslice::EndpointSliceController);
        runner.register(crate::endpoints::EndpointsController);
        runner.register(crate::disruption::DisruptionController);
        runner.register(crate::kubelet::NodeLeases::default());
        runner.register(crate::garbagecollector::GarbageCollector::default());
        runner.register(crate::persistentvolume::PersistentVolumeController::default());
        runner.register(crate::pvcprotection::PvcProtectionController);
        runner.enqueue(
            SeriesRefresh::NAME,
            SeriesRefresh::KEY,
            add(now, recorder::SERIES_REFRESH),
        );
        let side = NodeSide {
            informers: Informers::start(&store, &runner.watched()),
            runner,
            shared,
            resync: true,
        };
        let ctrl = Arc::new(Controllers {
            side: Mutex::new(side),
            store: store.clone(),
            notify: Notify::new(),
            containers,
            net,
        });
        ctrl.tick();
        ctrl
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, NodeSide> {
        match self.side.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Act on every change and every key due now; returns the next deadline.
    pub fn tick(&self) -> Option<Timestamp> {
        let now = self.store.clock().now();
        let mut w = self.lock();
        w.tick(now);
        w.runner.next_deadline()
    }

    /// Move virtual time forward by `by`, reconciling every key on the way at its own moment
    /// (deterministic with a paused clock).
    pub fn advance(&self, by: Duration) {
        let clock = self.store.clock().clone();
        let target = add(clock.now(), by);
        let mut w = self.lock();
        loop {
            let now = clock.now();
            w.tick(now);
            match w.runner.next_deadline() {
                Some(t) if t <= target => {
                    if t > now {
                        clock
                            .advance(Duration::try_from(t.duration_since(now)).unwrap_or_default());
                    }
                }
                _ => break,
            }
        }
        let now = clock.now();
        if target > now {
            clock.advance(Duration::try_from(target.duration_since(now)).unwrap_or_default());
        }
        w.tick(clock.now());
        drop(w);
        self.notify.notify_one();
    }

    /// The simulated network of the cluster.
    pub(crate) fn network(&self) -> &Arc<crate::network::ClusterNet> {
        &self.net
    }

    /// The store the node side works on.
    pub(crate) fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The running containers, for exec and attach.
    pub(crate) fn containers(&self) -> &Arc<crate::kubelet::Containers> {
        &self.containers
    }

    /// Input arrived for a main process blocked on stdin (an attach): the kubelet steps it
    /// through its sync loop, at once, as it handles its own timers.
    pub(crate) fn wake_kubelet_input(&self, uid: String, index: usize, epoch: u64) {
        self.containers.push_wake(uid, index, epoch);
        let now = self.store.clock().now();
        self.lock()
            .runner
            .enqueue(Kubelets::NAME, Kubelets::INPUT_KEY, now);
        self.notify.notify_one();
    }

    /// Re-plan the next wake-up (after the clock's speed changed).
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// Drive the controllers until `stop` fires: tick on every change and at every deadline.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        // A second set of watches, only to wake up: the controllers' own are drained under
        // the lock.
        let watched = self.lock().runner.watched();
        let mut wake = Informers::start(&self.store, &watched);
        loop {
            let next = self.tick();
            let clock = self.store.clock();
            let wait = next.map_or(Duration::from_secs(86_400), |t| {
                let now = clock.now();
                if t <= now {
                    Duration::ZERO
                } else {
                    clock.real_duration(
                        Duration::try_from(t.duration_since(now)).unwrap_or_default(),
                    )
                }
            });
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                open = wake.changed() => if !open { return },
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
    use crate::store::WriteOptions;
    use serde_json::json;

    /// A Deployment that exists before the controllers start (kubeadm's CoreDNS, or one
    /// created while a watch was behind) gets its ReplicaSet from the start-up re-list.
    #[test]
    fn objects_that_exist_before_the_controllers_start_are_acted_on() {
        let store = Store::new(Arc::new(Clock::new(0.0)), String::new(), 1000);
        let opts = WriteOptions::default();
        store
            .create(
                &kinds::namespace::KIND,
                "",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "early"}}),
                &opts,
            )
            .expect("namespace");
        store
            .create(
                &kinds::deployment::KIND,
                "early",
                json!({
                    "apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "web"},
                    "spec": {
                        "replicas": 1,
                        "selector": {"matchLabels": {"app": "web"}},
                        "template": {
                            "metadata": {"labels": {"app": "web"}},
                            "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}
                        }
                    }
                }),
                &opts,
            )
            .expect("deployment");
        let _controllers = Controllers::start(store.clone(), Arc::new(runtime::Runtime::new()));
        let sets = store.list_raw(&kinds::replicaset::KIND, Some("early"));
        assert_eq!(
            sets.len(),
            1,
            "the Deployment created before start has its ReplicaSet"
        );
    }
}
