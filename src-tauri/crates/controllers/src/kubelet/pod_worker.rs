//! The pod worker: one per pod, it syncs the pod towards its spec — volumes, the sandbox and
//! its IP, then the init containers one by one and the app containers — restarts what exited
//! (with the crash back-off) and starts the pod's termination on delete. Kubernetes keeps it in
//! `pkg/kubelet/pod_workers.go` (one worker and one pending sync per pod) and `kubelet.go`'s
//! `SyncPod`, with `kuberuntime_manager.go`'s `computePodActions` deciding what to restart.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

use super::Regarding;
use super::add;
use super::container::Ctr;
use super::go_duration;
use super::{Ctx, Kubelet, Outcome, jitter};
use super::{Rng, Wake};

const RESYNC: Duration = Duration::from_secs(60);

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(super) enum Sandbox {
    None,
    Creating(Timestamp),
    Ready,
}

#[derive(Debug)]
pub(super) struct Worker {
    pub(super) uid: String,
    pub(super) ns: String,
    pub(super) name: String,
    pub(super) pod: Arc<Value>,
    pub(super) spec_fingerprint: String,
    pub(super) restart_policy: String,
    pub(super) ctrs: Vec<Ctr>,
    pub(super) start_time: Option<Timestamp>,
    pub(super) sandbox: Sandbox,
    pub(super) pod_ip: Option<String>,
    pub(super) deleting: bool,
    pub(super) finalize_at: Option<Timestamp>,
    pub(super) cond_times: HashMap<&'static str, (bool, String)>,
    pub(super) last_status: Option<Value>,
    /// A container exited or started since the last relist.
    pub(super) relist_pending: bool,
    /// When the pod worker syncs next. A pod has one pending sync, like the kubelet's work
    /// queue: an earlier request replaces a later one, and a timer that no longer matches is
    /// ignored when it fires.
    pub(super) sync_at: Option<Timestamp>,
}

/// Ask for a sync of `w` at `at` (kept only if it is the earliest pending one).
pub(super) fn plan_sync(w: &mut Worker, at: Timestamp, wakes: &mut Vec<(Timestamp, Wake)>) {
    if w.sync_at.is_some_and(|t| t <= at) {
        return;
    }
    w.sync_at = Some(at);
    wakes.push((at, Wake::Sync(w.uid.clone())));
}

impl Worker {
    pub(super) fn regarding(&self, field_path: Option<String>) -> Regarding {
        Regarding::pod(&self.pod, field_path)
    }

    /// `name_namespace(uid)`, the kubelet's `format.Pod`.
    pub(super) fn format_pod(&self) -> String {
        format!("{}_{}({})", self.name, self.ns, self.uid)
    }

    pub(super) fn has_init(&self) -> bool {
        self.ctrs.iter().any(|c| c.init)
    }
}

impl Kubelet {
    pub(super) fn sync(&mut self, uid: &str, cx: &mut Ctx<'_>) {
        let Some(mut w) = self.workers.remove(uid) else {
            return;
        };
        if w.sync_at.is_some_and(|t| t > cx.now) {
            // A timer from a plan that was replaced by an earlier sync.
            self.workers.insert(uid.to_string(), w);
            return;
        }
        w.sync_at = None;
        let outcome = self.sync_worker(&mut w, cx);
        self.write_status(&mut w, cx);
        if let Some(next) = outcome {
            plan_sync(&mut w, add(cx.now, next), cx.wakes);
        }
        self.workers.insert(uid.to_string(), w);
    }

    /// Returns when to sync again.
    pub(super) fn sync_worker(&mut self, w: &mut Worker, cx: &mut Ctx<'_>) -> Option<Duration> {
        if w.deleting {
            return None;
        }
        if w.start_time.is_none() {
            w.start_time = Some(cx.now);
            return Some(jitter(
                cx.rng,
                Duration::from_millis(700),
                Duration::from_millis(400),
            ));
        }
        let requeue =
            |rng: &mut Rng| Some(jitter(rng, Duration::from_secs(10), Duration::from_secs(5)));
        // Volumes are mounted before the sandbox exists.
        if let Err(msg) = super::volumes::wait_for_attach_and_mount(cx.store, &w.pod) {
            self.event(cx, &w.regarding(None), "Warning", "FailedMount", &msg);
            return requeue(cx.rng);
        }
        if let Some(msg) =
            self.runtime
                .missing_volume(&super::runtime::StoreObjects(cx.store), &w.ns, &w.pod)
        {
            self.event(cx, &w.regarding(None), "Warning", "FailedMount", &msg);
            return requeue(cx.rng);
        }
        match w.sandbox {
            Sandbox::None => {
                let ready_at = add(
                    cx.now,
                    jitter(
                        cx.rng,
                        Duration::from_millis(300),
                        Duration::from_millis(400),
                    ),
                );
                w.sandbox = Sandbox::Creating(ready_at);
                return Some(
                    Duration::try_from(ready_at.duration_since(cx.now)).unwrap_or_default(),
                );
            }
            Sandbox::Creating(at) if at > cx.now => {
                return Some(Duration::try_from(at.duration_since(cx.now)).unwrap_or_default());
            }
            Sandbox::Creating(_) => {
                w.sandbox = Sandbox::Ready;
                // A hostNetwork pod (the control plane's, kube-proxy) shares the node's
                // network namespace and so its address.
                w.pod_ip = Some(if w.pod["spec"]["hostNetwork"] == true {
                    self.node_ip.clone()
                } else {
                    self.alloc_ip()
                });
            }
            Sandbox::Ready => {}
        }
        let mut failed = false;
        let indices: Vec<usize> = (0..w.ctrs.len()).collect();
        let (inits, mains): (Vec<usize>, Vec<usize>) =
            indices.into_iter().partition(|i| w.ctrs[*i].init);
        let mut blocked = false;
        for i in inits {
            if w.ctrs[i].succeeded() {
                continue;
            }
            match self.sync_container(w, i, cx) {
                Outcome::Failed => failed = true,
                Outcome::Busy | Outcome::Ok => {}
            }
            blocked = true;
            break;
        }
        if !blocked {
            for i in mains {
                match self.sync_container(w, i, cx) {
                    Outcome::Ok => {}
                    Outcome::Busy => break,
                    Outcome::Failed => failed = true,
                }
            }
        }
        if failed {
            requeue(cx.rng)
        } else {
            Some(jitter(cx.rng, RESYNC, RESYNC / 2))
        }
    }

    pub(super) fn should_restart(&self, w: &Worker, c: &Ctr) -> bool {
        if c.ephemeral {
            return false;
        }
        let Some(t) = c.term() else { return true };
        if c.init {
            return t.exit_code != 0 && w.restart_policy != "Never";
        }
        match w.restart_policy.as_str() {
            "Never" => false,
            "OnFailure" => t.exit_code != 0,
            _ => true,
        }
    }

    pub(super) fn sync_container(&mut self, w: &mut Worker, i: usize, cx: &mut Ctx<'_>) -> Outcome {
        // A pull in progress finishes first.
        if let Some(pull) = &w.ctrs[i].pull {
            if pull.done_at > cx.now {
                let at = pull.done_at;
                plan_sync(w, at, cx.wakes);
                return Outcome::Busy;
            }
            let pulled = w.ctrs[i].pull.as_ref().map(|p| p.image.clone());
            let ok = self.finish_pull(w, i, cx);
            // The learner changed the image while the old one was being pulled: the update
            // waiting behind this sync goes for the new image straight away.
            if pulled != w.ctrs[i].spec.image {
                return match self.ensure_image(w, i, cx) {
                    Outcome::Ok => self.create_and_start(w, i, cx),
                    other => other,
                };
            }
            if !ok {
                return Outcome::Failed;
            }
            return self.create_and_start(w, i, cx);
        }
        if let Some(run) = w.ctrs[i].run() {
            // The kubelet restarts a container whose spec changed (the image, on a pod).
            let running_image = w.ctrs[i].image.as_ref().map(|im| im.requested.clone());
            let wanted = w.ctrs[i].spec.image.clone().unwrap_or_default();
            if run.stopping.is_none() && running_image.is_some_and(|r| r != wanted) {
                let name = w.ctrs[i].name().to_string();
                let reg = w.regarding(Some(w.ctrs[i].field_path()));
                self.event(
                    cx,
                    &reg,
                    "Normal",
                    "Killing",
                    &format!("Container {name} definition changed, will be restarted"),
                );
                let grace = w.pod["spec"]["terminationGracePeriodSeconds"]
                    .as_u64()
                    .unwrap_or(30);
                self.stop_container(w, i, grace, cx);
            }
            return Outcome::Ok;
        }
        if w.ctrs[i].term().is_some() {
            if !self.should_restart(w, &w.ctrs[i]) {
                return Outcome::Ok;
            }
            let key = format!("{}_{}", w.uid, w.ctrs[i].name());
            let finished = w.ctrs[i].term().map_or(cx.now, |t| t.finished_at);
            if self.crash_backoff.in_backoff_since(&key, finished, cx.now) {
                let name = w.ctrs[i].name().to_string();
                let reg = w.regarding(Some(w.ctrs[i].field_path()));
                self.event(
                    cx,
                    &reg,
                    "Warning",
                    "BackOff",
                    &format!(
                        "Back-off restarting failed container {name} in pod {}",
                        w.format_pod()
                    ),
                );
                let step = go_duration(self.crash_backoff.get(&key));
                let message = format!(
                    "back-off {step} restarting failed container={name} pod={}",
                    w.format_pod()
                );
                w.ctrs[i].wait_because("CrashLoopBackOff", message);
                return Outcome::Failed;
            }
            self.crash_backoff.next(&key, finished, cx.now);
        }
        match self.ensure_image(w, i, cx) {
            Outcome::Ok => self.create_and_start(w, i, cx),
            other => other,
        }
    }

    pub(super) fn begin_termination(&mut self, uid: &str, cx: &mut Ctx<'_>) {
        let Some(mut w) = self.workers.remove(uid) else {
            return;
        };
        let grace = w.pod["metadata"]["deletionGracePeriodSeconds"]
            .as_u64()
            .unwrap_or(30);
        let mut running = false;
        for i in 0..w.ctrs.len() {
            w.ctrs[i].pull = None;
            if w.ctrs[i].is_running() {
                running = true;
                let reg = w.regarding(Some(w.ctrs[i].field_path()));
                let name = w.ctrs[i].name().to_string();
                self.event(
                    cx,
                    &reg,
                    "Normal",
                    "Killing",
                    &format!("Stopping container {name}"),
                );
                self.stop_container(&mut w, i, grace, cx);
            }
        }
        if !running {
            w.finalize_at = Some(cx.now);
            cx.wakes.push((
                add(cx.now, Duration::from_millis(50)),
                Wake::Finalize(uid.to_string()),
            ));
        }
        self.workers.insert(uid.to_string(), w);
    }
}
