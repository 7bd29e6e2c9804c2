//! The node side of the embedded cluster: the scheduler and the kubelet, driven by the
//! cluster clock.
//!
//! One [`Controllers`] value owns both. It learns about changes from the store's watch
//! channels and acts on them in [`Controllers::tick`]: it binds or rejects pending pods, runs
//! the pod lifecycle, and writes statuses and events back through the store, exactly as a
//! client of the API would see a real scheduler and kubelet do. A background task ticks
//! whenever something changes or the next timer is due; with a paused clock (speed 0) tests
//! step virtual time themselves with [`Controllers::advance`], so a five-minute back-off
//! sequence runs in milliseconds and always the same way.
//!
//! On a real cluster these are separate processes (kube-scheduler, and a kubelet per node);
//! here they share one lock so that a paused clock replays them in one exact order.
//!
//! The scheduler and the event recorder's series refresh are controllers on the reconciler
//! runtime ([`Runner`]): changes are handed to them as watch events, and their keys wait in
//! its work queue. The kubelet is the one part still driven by its own timers ([`Wake`]: pod
//! sync, PLEG relist, a container's program, probes, finalize), kept in `World::timers`
//! beside that queue and ordered with it by one sequence, so keys and timers due at the same
//! moment run in the order they were set. That is the seam for moving the kubelet onto the
//! runtime: its timers are not de-duplicated keys (a pod may have several syncs planned).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use serde_json::Value;
use tokio::sync::{Notify, broadcast};

use crate::kinds;
use crate::kubelet::{Ctx, Kubelet};
use crate::recorder::{self, Recorder, Regarding};
use crate::series_refresh::SeriesRefresh;
use crate::shared::Shared;
use crate::store::{EventType, Store, WatchEvent, WatchStart};
use crate::timers::{Rng, Wake};
use crate::{Change, ChangeType, Runner};
use crate::{NodeTemplate, quantity};
use crate::{runtime, scheduler};
use scheduler::add;

struct Watches {
    pods: broadcast::Receiver<WatchEvent>,
    nodes: broadcast::Receiver<WatchEvent>,
}

struct World {
    watches: Watches,
    /// The kubelets' timers, by (due time, sequence from the runner's queue).
    timers: BTreeMap<(Timestamp, u64), Wake>,
    /// The controllers on the reconciler runtime (the scheduler, the series refresh).
    runner: Runner<Shared>,
    shared: Shared,
    /// One kubelet per node.
    kubelets: Vec<Kubelet>,
    runtime: Arc<runtime::Runtime>,
    /// Whether the full state must be re-read (a watch channel lagged).
    resync: bool,
}

/// The scheduler and kubelets of the embedded cluster.
pub struct Controllers {
    world: Mutex<World>,
    store: Arc<Store>,
    notify: Notify,
}

impl std::fmt::Debug for Controllers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controllers").finish_non_exhaustive()
    }
}

impl World {
    fn push(&mut self, at: Timestamp, wake: Wake) {
        let seq = self.runner.queue_mut().next_seq();
        self.timers.insert((at, seq), wake);
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        let timer = self.timers.keys().next().map(|(t, _)| *t);
        match (timer, self.runner.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn reload_nodes(&mut self) {
        self.register_new_nodes();
        let sh = &mut self.shared;
        sh.nodes = sh.store.list::<Node>(None);
        // A node registered later (a mission adds one) gets its own kubelet.
        let now = sh.store.clock().now();
        for n in sh.nodes.clone() {
            let name = n.metadata.name.clone().unwrap_or_default();
            if self.kubelets.iter().any(|k| k.node == name) {
                continue;
            }
            let store = sh.store.clone();
            let k = new_kubelet(&store, &mut sh.recorder, &self.runtime, &n, now);
            self.kubelets.push(k);
        }
    }

    /// A Node object created through the API (a mission's manifest) has no kubelet report yet:
    /// this node's kubelet registers it, with the capacity its annotations ask for
    /// (`kubequest.dev/cpu`, `kubequest.dev/memory`, `kubequest.dev/pods`) or the default node's.
    fn register_new_nodes(&mut self) {
        let store = self.shared.store.clone();
        let now = store.clock().now();
        for n in store.list::<Node>(None) {
            let registered = n
                .status
                .as_ref()
                .and_then(|s| s.allocatable.as_ref())
                .is_some_and(|a| !a.is_empty());
            if registered {
                continue;
            }
            let name = n.metadata.name.clone().unwrap_or_default();
            let ann = n.metadata.annotations.clone().unwrap_or_default();
            let index = self.shared.nodes.len() + 1;
            let mut template = NodeTemplate {
                name: name.clone(),
                internal_ip: format!("192.168.49.{}", 2 + index),
                pod_cidr: format!("10.244.{index}.0/24"),
                ..NodeTemplate::default()
            };
            if let Some(cpu) = ann.get("kubequest.dev/cpu") {
                template.cpu = cpu.clone();
            }
            if let Some(mem) = ann.get("kubequest.dev/memory")
                && let Some(q) = quantity::Quantity::parse(mem)
            {
                template.memory = format!("{}Ki", q.value() / 1024);
            }
            if let Some(pods) = ann.get("kubequest.dev/pods").and_then(|p| p.parse().ok()) {
                template.pods = pods;
            }
            let full = template.to_value(now);
            let cidr = template.pod_cidr.clone();
            let _ = store.update_with::<Node>("", &name, |node| {
                let spec = node.spec.get_or_insert_with(Default::default);
                if spec.pod_cidr.is_none() {
                    spec.pod_cidr = Some(cidr.clone());
                    spec.pod_cidrs = Some(vec![cidr.clone()]);
                }
            });
            let _ = store.update_status::<Node>("", &name, |node| {
                if let Ok(status) = serde_json::from_value(full["status"].clone()) {
                    node.status = Some(status);
                }
                let labels = node.metadata.labels.get_or_insert_with(Default::default);
                for (k, v) in full["metadata"]["labels"].as_object().into_iter().flatten() {
                    labels
                        .entry(k.clone())
                        .or_insert_with(|| v.as_str().unwrap_or_default().to_string());
                }
            });
        }
    }

    fn full_resync(&mut self, now: Timestamp) {
        self.reload_nodes();
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
            self.on_pod(EventType::Deleted, p, now);
        }
        for (_, p) in current {
            self.on_pod(EventType::Modified, p, now);
        }
    }

    fn drain(&mut self, now: Timestamp) -> bool {
        let mut any = false;
        loop {
            match self.watches.nodes.try_recv() {
                Ok(ev) => {
                    any = true;
                    self.reload_nodes();
                    let change = Change {
                        resource: kinds::node::KIND.plural,
                        change: change_type(ev.kind),
                        object: &ev.object,
                    };
                    self.runner.observe(&change, now, &mut self.shared);
                }
                Err(broadcast::error::TryRecvError::Lagged(_)) => self.resync = true,
                Err(_) => break,
            }
        }
        loop {
            match self.watches.pods.try_recv() {
                Ok(ev) => {
                    any = true;
                    self.on_pod(ev.kind, ev.object, now);
                }
                Err(broadcast::error::TryRecvError::Lagged(_)) => self.resync = true,
                Err(_) => break,
            }
        }
        if self.resync {
            self.resync = false;
            any = true;
            self.full_resync(now);
        }
        any
    }

    fn on_pod(&mut self, kind: EventType, pod: Arc<Value>, now: Timestamp) {
        let uid = kinds::str_at(&pod, "/metadata/uid").to_string();
        let gone = kind == EventType::Deleted;
        if gone {
            self.shared.pods.remove(&uid);
        } else {
            self.shared.pods.insert(uid.clone(), pod.clone());
        }
        // The controllers on the runtime hear first (the scheduler queues a new pending pod,
        // or gives unschedulable pods another look when a deletion freed room), then the
        // kubelets.
        let change = Change {
            resource: kinds::pod::KIND.plural,
            change: change_type(kind),
            object: &pod,
        };
        self.runner.observe(&change, now, &mut self.shared);
        let mut wakes = Vec::new();
        let sh = &mut self.shared;
        let mut cx = Ctx {
            now,
            rng: &mut sh.rng,
            wakes: &mut wakes,
            rec: &mut sh.recorder,
            store: &sh.store,
        };
        for k in &mut self.kubelets {
            if gone || k.node == kinds::str_at(&pod, "/spec/nodeName") || k.has(&uid) {
                k.observe(&pod, gone, &mut cx);
            }
        }
        for (at, w) in wakes {
            self.push(at, w);
        }
    }

    /// Process changes and every key and timer due at `now`.
    fn tick(&mut self, now: Timestamp) {
        for _ in 0..100_000 {
            let changed = self.drain(now);
            // The earliest of the runner's first key and the first kubelet timer, by (due
            // time, sequence): both take their sequence from the runner's queue.
            let timer = match self.timers.first_key_value() {
                Some((&(t, seq), _)) if t <= now => Some((t, seq)),
                _ => None,
            };
            let key = self.runner.queue().peek().filter(|(t, _)| *t <= now);
            match (timer, key) {
                (None, None) => {
                    if !changed {
                        return;
                    }
                    continue;
                }
                (Some(timer), Some(key)) if key < timer => {
                    self.runner.reconcile_next(now, &mut self.shared);
                }
                (None, Some(_)) => {
                    self.runner.reconcile_next(now, &mut self.shared);
                }
                (Some(timer), _) => {
                    let Some(wake) = self.timers.remove(&timer) else {
                        continue;
                    };
                    self.fire(wake, now);
                }
            }
            // Series that went quiet are finished on the recorder's own schedule; checking
            // after every key and timer keeps it simple and cheap.
            let sh = &mut self.shared;
            sh.recorder.flush_series(&sh.store, now, false);
        }
    }

    fn fire(&mut self, wake: Wake, now: Timestamp) {
        let mut wakes = Vec::new();
        let sh = &mut self.shared;
        let mut cx = Ctx {
            now,
            rng: &mut sh.rng,
            wakes: &mut wakes,
            rec: &mut sh.recorder,
            store: &sh.store,
        };
        for k in &mut self.kubelets {
            k.fire(&wake, &mut cx);
        }
        for (at, w) in wakes {
            self.push(at, w);
        }
    }
}

/// A store watch event's type as the runtime knows it.
fn change_type(kind: EventType) -> ChangeType {
    match kind {
        EventType::Added => ChangeType::Added,
        EventType::Deleted => ChangeType::Deleted,
        _ => ChangeType::Modified,
    }
}

impl Controllers {
    /// Attach a scheduler and one kubelet per node to `store`, and start driving them.
    pub fn start(store: Arc<Store>, runtime: Arc<runtime::Runtime>) -> Arc<Controllers> {
        let pods = store
            .subscribe(
                &kinds::pod::KIND,
                WatchStart::After(store.resource_version()),
            )
            .map(|s| s.rx);
        let nodes = store
            .subscribe(
                &kinds::node::KIND,
                WatchStart::After(store.resource_version()),
            )
            .map(|s| s.rx);
        let (Ok(pods), Ok(nodes)) = (pods, nodes) else {
            unreachable!("pods and nodes are always served")
        };
        store.set_kubelet_attached(true);
        let now = store.clock().now();
        let node_list = store.list::<Node>(None);
        let mut recorder = Recorder::default();
        let kubelets = node_list
            .iter()
            .map(|n| new_kubelet(&store, &mut recorder, &runtime, n, now))
            .collect();
        // Adding a controller: one file with its `Controller` and one line here.
        let mut runner = Runner::new();
        runner.register(scheduler::Scheduler::default());
        runner.register(SeriesRefresh);
        runner.enqueue(
            SeriesRefresh::NAME,
            SeriesRefresh::KEY,
            add(now, recorder::SERIES_REFRESH),
        );
        let world = World {
            watches: Watches { pods, nodes },
            timers: BTreeMap::new(),
            runner,
            shared: Shared {
                store: store.clone(),
                rng: Rng::new(0x6b75_6265_7175_6573),
                recorder,
                pods: HashMap::new(),
                nodes: node_list,
            },
            kubelets,
            runtime,
            resync: true,
        };
        let ctrl = Arc::new(Controllers {
            world: Mutex::new(world),
            store: store.clone(),
            notify: Notify::new(),
        });
        ctrl.tick();
        ctrl
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        match self.world.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Act on every change and due timer now; returns the next deadline.
    pub fn tick(&self) -> Option<Timestamp> {
        let now = self.store.clock().now();
        let mut w = self.lock();
        w.tick(now);
        w.next_deadline()
    }

    /// Move virtual time forward by `by`, firing every timer on the way at its own moment
    /// (deterministic with a paused clock).
    pub fn advance(&self, by: Duration) {
        let clock = self.store.clock().clone();
        let target = add(clock.now(), by);
        let mut w = self.lock();
        loop {
            let now = clock.now();
            w.tick(now);
            match w.next_deadline() {
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

    /// Re-plan the next wake-up (after the clock's speed changed).
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// Drive the controllers until `stop` fires: tick on every change and at every deadline.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let wake_pods = self.store.subscribe(
            &kinds::pod::KIND,
            WatchStart::After(self.store.resource_version()),
        );
        let wake_nodes = self.store.subscribe(
            &kinds::node::KIND,
            WatchStart::After(self.store.resource_version()),
        );
        let (Ok(mut wake_pods), Ok(mut wake_nodes)) =
            (wake_pods.map(|s| s.rx), wake_nodes.map(|s| s.rx))
        else {
            return;
        };
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
                r = wake_pods.recv() => if matches!(r, Err(broadcast::error::RecvError::Closed)) { return },
                r = wake_nodes.recv() => if matches!(r, Err(broadcast::error::RecvError::Closed)) { return },
                _ = self.notify.notified() => {}
                _ = stop.changed() => return,
            }
        }
    }
}

fn new_kubelet(
    store: &Arc<Store>,
    recorder: &mut Recorder,
    runtime: &Arc<runtime::Runtime>,
    n: &Node,
    now: Timestamp,
) -> Kubelet {
    let name = n.metadata.name.clone().unwrap_or_default();
    let ip = n
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
        .map(|a| a.address.clone())
        .unwrap_or_else(|| "192.168.49.2".into());
    let cidr = n
        .spec
        .as_ref()
        .and_then(|s| s.pod_cidr.clone())
        .unwrap_or_else(|| "10.244.0.0/24".into());
    let mut k = Kubelet::new(&name, &ip, &cidr, runtime.clone());
    if let Some(pause) = runtime.pause_image() {
        k.preload(pause);
    }
    node_events(store, recorder, n, now);
    k
}

/// What a freshly registered node reports about itself.
fn node_events(store: &Arc<Store>, rec: &mut Recorder, node: &Node, now: Timestamp) {
    let name = node.metadata.name.clone().unwrap_or_default();
    let reg = Regarding {
        kind: "Node",
        namespace: String::new(),
        name: name.clone(),
        uid: node.metadata.uid.clone().unwrap_or_else(|| name.clone()),
        api_version: "v1",
        resource_version: String::new(),
        field_path: None,
    };
    let kubelet_events = [
        ("Starting", "Starting kubelet.".to_string()),
        (
            "NodeAllocatableEnforced",
            "Updated Node Allocatable limit across pods".to_string(),
        ),
        (
            "NodeHasSufficientMemory",
            format!("Node {name} status is now: NodeHasSufficientMemory"),
        ),
        (
            "NodeHasNoDiskPressure",
            format!("Node {name} status is now: NodeHasNoDiskPressure"),
        ),
        (
            "NodeHasSufficientPID",
            format!("Node {name} status is now: NodeHasSufficientPID"),
        ),
        ("NodeReady", format!("Node {name} status is now: NodeReady")),
    ];
    for (reason, message) in kubelet_events {
        rec.kubelet(store, now, &name, &reg, "Normal", reason, &message);
    }
    rec.legacy_event(
        store,
        now,
        "node-controller",
        "",
        &reg,
        "Normal",
        "RegisteredNode",
        &format!("Node {name} event: Registered Node {name} in Controller"),
    );
}
