//! The kubelet of the embedded node: the pod lifecycle with real reasons, messages, events,
//! conditions and timings (SPEC §4; `pkg/kubelet` in kubernetes/kubernetes).
//!
//! Each pod gets a worker with a small set of timers: the pod sync (first status, sandbox,
//! pulls, starts, back-offs, the 10–15 s requeue after a failed sync, the one-minute resync),
//! the PLEG relist that notices container starts and exits about a second later, the
//! container's own program (what it prints, when it sleeps, when it exits), probes, and the
//! stop of a container being killed. A change to the pod (an edit, a delete) re-evaluates the
//! worker at once; stale timers are simply ignored.
//!
//! The files follow `pkg/kubelet`: [`pod_worker`] (the per-pod sync, `pod_workers.go`),
//! [`container`] (a container's state and its start, exit and stop, `kuberuntime_container.go`),
//! [`images`] (pulls and their back-off, `images/`), [`probes`] (`prober/`), [`pleg`] (the
//! relist, `pleg/generic.go`) and [`status`] (the API's pod status, `status/` and
//! `kubelet_pods.go`), with [`node_status`] (registering a node, `kubelet_node_status.go`) and
//! [`sync_loop`], which runs every node's kubelet as one controller on the reconciler runtime
//! and keeps their timers as its keys (`kubelet.go`'s `syncLoop`). This file holds the kubelet
//! itself and its entry points: a pod observed, a timer fired. The child modules import the
//! rest of the cluster through this one.

mod container;
mod ephemeral;
mod images;
mod lease;
mod node_status;
mod pleg;
mod pod_worker;
mod probes;
mod pty;
mod status;
pub(crate) mod streams;
mod sync_loop;
mod volumes;

pub(crate) use lease::NodeLeases;
pub(crate) use streams::Containers;
pub(crate) use sync_loop::Kubelets;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

use container::Ctr;
use images::Images;
use pod_worker::{Sandbox, Worker, plan_sync};

use super::backoff::Backoff;
use super::recorder::{Recorder, Regarding};
use super::runtime::{self, ImageInfo, Runtime};
use super::scheduler::add;
use super::shared::Rng;
use crate::clock::rfc3339;
use crate::duration::{go_duration, go_duration_ms};
use crate::kinds;
use crate::quantity::Quantity;
use crate::store::Store;
use sync_loop::Wake;

const CONTAINER_BACKOFF: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What every step of the kubelet works with besides the pod itself: the moment, jitter, the
/// timers it sets, the event recorder and the store.
pub(crate) struct Ctx<'a> {
    pub now: Timestamp,
    pub rng: &'a mut Rng,
    pub wakes: &'a mut Vec<(Timestamp, Wake)>,
    pub rec: &'a mut Recorder,
    pub store: &'a Arc<Store>,
    /// The running containers exec and attach reach.
    pub containers: &'a Arc<streams::Containers>,
}

/// What a sync of one container came to.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Running, done, or nothing to do.
    Ok,
    /// A pull or a start is in progress: later containers wait.
    Busy,
    /// An error (back-off, pull failure, config error): requeue in 10–15 s.
    Failed,
}

/// The node agent of one node.
#[derive(Debug)]
pub(crate) struct Kubelet {
    pub node: String,
    node_ip: String,
    ip_prefix: String,
    next_ip: u32,
    workers: HashMap<String, Worker>,
    images: Images,
    crash_backoff: Backoff,
    runtime: Arc<Runtime>,
    /// The node's emptyDir, hostPath and claim volumes (`kubelet/volumes.rs`).
    volumes: kq_shell::fs::Volumes,
}

fn jitter(rng: &mut Rng, base: Duration, spread: Duration) -> Duration {
    base + spread.mul_f64(rng.unit())
}

impl Kubelet {
    pub(crate) fn new(node: &str, node_ip: &str, pod_cidr: &str, runtime: Arc<Runtime>) -> Self {
        let prefix = pod_cidr
            .split('/')
            .next()
            .and_then(|a| a.rsplit_once('.').map(|(p, _)| format!("{p}.")))
            .unwrap_or_else(|| "10.244.0.".into());
        Kubelet {
            node: node.to_string(),
            node_ip: node_ip.to_string(),
            ip_prefix: prefix,
            next_ip: 2,
            workers: HashMap::new(),
            images: Images::new(MAX_BACKOFF),
            crash_backoff: Backoff::new(CONTAINER_BACKOFF, MAX_BACKOFF),
            runtime,
            volumes: Default::default(),
        }
    }

    /// A kubelet event from this node.
    fn event(&self, cx: &mut Ctx<'_>, reg: &Regarding, type_: &str, reason: &str, message: &str) {
        cx.rec
            .kubelet(cx.store, cx.now, &self.node, reg, type_, reason, message);
    }

    /// Images already on the node (a fresh node has the pause image).
    pub(crate) fn preload(&mut self, info: ImageInfo) {
        self.images.preload(info);
    }

    fn alloc_ip(&mut self) -> String {
        let n = self.next_ip;
        self.next_ip = if self.next_ip >= 254 {
            2
        } else {
            self.next_ip + 1
        };
        format!("{}{n}", self.ip_prefix)
    }

    /// A pod bound to this node was added or changed (`pod` is its current state), or deleted
    /// (`gone`). Returns wakes to schedule. A deleted pod's running containers are dropped from
    /// the shared [`Containers`] by the caller, once for all nodes.
    pub(crate) fn observe(&mut self, pod: &Arc<Value>, gone: bool, cx: &mut Ctx<'_>) {
        let uid = kinds::str_at(pod, "/metadata/uid").to_string();
        if gone {
            volumes::forget_pod(&self.volumes, &uid);
            if self.workers.remove(&uid).is_some() {
                let prefix = format!("{uid}_");
                self.crash_backoff.forget_prefix(&prefix);
                self.images.backoff.forget_prefix(&prefix);
                cx.rec.forget(&uid);
            }
            return;
        }
        if kinds::str_at(pod, "/spec/nodeName") != self.node {
            return;
        }
        let deleting = pod.pointer("/metadata/deletionTimestamp").is_some();
        let fingerprint = format!(
            "{}|{}",
            serde_json::to_string(&pod["spec"]).unwrap_or_default(),
            deleting
        );
        // Most changes are status writes: a worker whose pod keeps its spec and deletion
        // state only takes the new version, without reading the pod as a typed object.
        if let Some(w) = self.workers.get_mut(&uid)
            && w.spec_fingerprint == fingerprint
        {
            w.pod = pod.clone();
            return;
        }
        let typed: Pod = match serde_json::from_value((**pod).clone()) {
            Ok(p) => p,
            Err(_) => return,
        };
        let spec = typed.spec.unwrap_or_default();
        match self.workers.get_mut(&uid) {
            None => {
                if deleting {
                    let _ = cx.store.finalize_pod_deletion(
                        kinds::namespace_of(pod),
                        kinds::name_of(pod),
                        &uid,
                    );
                    return;
                }
                let phase = kinds::str_at(pod, "/status/phase");
                if phase == "Succeeded" || phase == "Failed" {
                    return;
                }
                let mut ctrs: Vec<Ctr> = spec
                    .init_containers
                    .iter()
                    .flatten()
                    .map(|c| Ctr::new(c.clone(), true))
                    .collect();
                ctrs.extend(spec.containers.iter().map(|c| Ctr::new(c.clone(), false)));
                ephemeral::add_new(&mut ctrs, &spec);
                let w = Worker {
                    uid: uid.clone(),
                    ns: kinds::namespace_of(pod).to_string(),
                    name: kinds::name_of(pod).to_string(),
                    pod: pod.clone(),
                    spec_fingerprint: fingerprint,
                    restart_policy: spec
                        .restart_policy
                        .clone()
                        .unwrap_or_else(|| "Always".into()),
                    ctrs,
                    start_time: None,
                    sandbox: Sandbox::None,
                    pod_ip: None,
                    deleting: false,
                    finalize_at: None,
                    cond_times: HashMap::new(),
                    last_status: None,
                    relist_pending: false,
                    sync_at: None,
                };
                let mut w = w;
                plan_sync(&mut w, add(cx.now, Duration::from_millis(80)), cx.wakes);
                self.workers.insert(uid.clone(), w);
            }
            Some(w) => {
                // The spec or the deletion state changed (the same ones returned above).
                w.pod = pod.clone();
                w.spec_fingerprint = fingerprint;
                ephemeral::add_new(&mut w.ctrs, &spec);
                // Containers whose spec changed (an image edit) take the new spec; a running
                // one is restarted by the sync below, as the kubelet does on a hash change.
                for c in &mut w.ctrs {
                    let new = spec
                        .containers
                        .iter()
                        .chain(spec.init_containers.iter().flatten())
                        .find(|s| s.name == c.spec.name);
                    if let Some(new) = new {
                        c.spec = new.clone();
                    }
                }
                if deleting && !w.deleting {
                    w.deleting = true;
                    self.begin_termination(&uid, cx);
                } else {
                    plan_sync(w, cx.now, cx.wakes);
                }
            }
        }
    }

    /// Whether a worker exists for a pod.
    pub(crate) fn has(&self, uid: &str) -> bool {
        self.workers.contains_key(uid)
    }

    /// Handle one due timer.
    pub(crate) fn fire(&mut self, wake: &Wake, cx: &mut Ctx<'_>) {
        match wake {
            Wake::Sync(uid) => self.sync(uid, cx),
            Wake::Relist(uid) => self.relist(uid, cx),
            Wake::Program(uid, i, epoch) => self.step_program(uid, *i, *epoch, cx),
            Wake::Probe(uid, i, epoch, liveness) => self.probe(uid, *i, *epoch, *liveness, cx),
            Wake::Finalize(uid) => {
                if let Some(w) = self.workers.get(uid) {
                    let _ = cx.store.finalize_pod_deletion(&w.ns, &w.name, &w.uid);
                }
            }
        }
    }
}
