//! The kubelet of the embedded node: the pod lifecycle with real reasons, messages, events,
//! conditions and timings (SPEC §4; `pkg/kubelet` in kubernetes/kubernetes).
//!
//! Each pod gets a worker with a small set of timers: the pod sync (first status, sandbox,
//! pulls, starts, back-offs, the 10–15 s requeue after a failed sync, the one-minute resync),
//! the PLEG relist that notices container starts and exits about a second later, the
//! container's own program (what it prints, when it sleeps, when it exits), probes, and the
//! stop of a container being killed. A change to the pod (an edit, a delete) re-evaluates the
//! worker at once; stale timers are simply ignored.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, Pod, Probe};
use serde_json::{Value, json};

use super::backoff::Backoff;
use super::recorder::{Recorder, Regarding};
use super::runtime::{ImageInfo, Program, Runtime, Step};
use super::scheduler::add;
use super::{Rng, Wake};
use crate::clock::rfc3339;
use crate::kinds;
use crate::store::Store;

const CONTAINER_BACKOFF: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
const RESYNC: Duration = Duration::from_secs(60);

/// One terminated container.
#[derive(Debug, Clone)]
struct Term {
    exit_code: i32,
    reason: String,
    message: Option<String>,
    started_at: Option<Timestamp>,
    finished_at: Timestamp,
    container_id: String,
}

impl Term {
    fn to_json(&self) -> Value {
        let mut t = json!({
            "exitCode": self.exit_code,
            "reason": self.reason,
            "startedAt": self.started_at.map_or_else(|| "1970-01-01T00:00:00Z".to_string(), rfc3339),
            "finishedAt": rfc3339(self.finished_at),
            "containerID": self.container_id,
        });
        if let Some(m) = &self.message {
            t["message"] = json!(m);
        }
        t
    }
}

#[derive(Debug)]
struct Run {
    program: Box<dyn Program>,
    started_at: Timestamp,
    container_id: String,
    /// A kill in progress: when the process is gone and with which code.
    stopping: Option<(Timestamp, i32)>,
    oom_at: Option<Timestamp>,
    liveness_failures: u32,
    readiness_failures: u32,
    /// Bumped per run so probe and program timers of an earlier run are ignored.
    epoch: u64,
}

#[derive(Debug)]
struct Pull {
    image: String,
    started: Timestamp,
    done_at: Timestamp,
    result: Result<ImageInfo, String>,
}

#[derive(Debug)]
struct Ctr {
    spec: Container,
    init: bool,
    run: Option<Run>,
    pull: Option<Pull>,
    /// The latest exited container while none runs.
    term: Option<Term>,
    /// `lastState.terminated`.
    last_term: Option<Term>,
    /// The waiting reason and message of the last failed sync (`reasonCache`).
    reason: Option<(String, String)>,
    image: Option<ImageInfo>,
    attempts: u32,
    restart_count: i32,
    ready: bool,
    epoch: u64,
}

impl Ctr {
    fn new(spec: Container, init: bool) -> Self {
        Ctr {
            spec,
            init,
            run: None,
            pull: None,
            term: None,
            last_term: None,
            reason: None,
            image: None,
            attempts: 0,
            restart_count: 0,
            ready: false,
            epoch: 0,
        }
    }

    fn name(&self) -> &str {
        &self.spec.name
    }

    fn field_path(&self) -> String {
        if self.init {
            format!("spec.initContainers{{{}}}", self.spec.name)
        } else {
            format!("spec.containers{{{}}}", self.spec.name)
        }
    }

    fn succeeded(&self) -> bool {
        self.run.is_none() && self.term.as_ref().is_some_and(|t| t.exit_code == 0)
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Sandbox {
    None,
    Creating(Timestamp),
    Ready,
}

#[derive(Debug)]
struct Worker {
    uid: String,
    ns: String,
    name: String,
    pod: Arc<Value>,
    spec_fingerprint: String,
    restart_policy: String,
    ctrs: Vec<Ctr>,
    start_time: Option<Timestamp>,
    sandbox: Sandbox,
    pod_ip: Option<String>,
    deleting: bool,
    finalize_at: Option<Timestamp>,
    cond_times: HashMap<&'static str, (bool, String)>,
    last_status: Option<Value>,
    /// A container exited or started since the last relist.
    relist_pending: bool,
    /// When the pod worker syncs next. A pod has one pending sync, like the kubelet's work
    /// queue: an earlier request replaces a later one, and a timer that no longer matches is
    /// ignored when it fires.
    sync_at: Option<Timestamp>,
}

/// Ask for a sync of `w` at `at` (kept only if it is the earliest pending one).
fn plan_sync(w: &mut Worker, at: Timestamp, wakes: &mut Vec<(Timestamp, Wake)>) {
    if w.sync_at.is_some_and(|t| t <= at) {
        return;
    }
    w.sync_at = Some(at);
    wakes.push((at, Wake::Sync(w.uid.clone())));
}

impl Worker {
    fn regarding(&self, field_path: Option<String>) -> Regarding {
        Regarding::pod(&self.pod, field_path)
    }

    /// `name_namespace(uid)`, the kubelet's `format.Pod`.
    fn format_pod(&self) -> String {
        format!("{}_{}({})", self.name, self.ns, self.uid)
    }

    fn has_init(&self) -> bool {
        self.ctrs.iter().any(|c| c.init)
    }
}

/// What every step of the kubelet works with besides the pod itself: the moment, jitter, the
/// timers it sets, the event recorder and the store.
pub(crate) struct Ctx<'a> {
    pub now: Timestamp,
    pub rng: &'a mut Rng,
    pub wakes: &'a mut Vec<(Timestamp, Wake)>,
    pub rec: &'a mut Recorder,
    pub store: &'a Arc<Store>,
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
    images: HashMap<String, ImageInfo>,
    image_backoff: Backoff,
    crash_backoff: Backoff,
    last_pull_error: HashMap<String, String>,
    runtime: Arc<Runtime>,
}

fn jitter(rng: &mut Rng, base: Duration, spread: Duration) -> Duration {
    base + spread.mul_f64(rng.unit())
}

fn probe_port(p: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString, c: &Container) -> i32 {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    match p {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => c
            .ports
            .iter()
            .flatten()
            .find(|cp| cp.name.as_deref() == Some(name.as_str()))
            .map_or(0, |cp| cp.container_port),
    }
}

/// Container memory limit in bytes, if any.
fn memory_limit(c: &Container) -> Option<u64> {
    let q = c.resources.as_ref()?.limits.as_ref()?.get("memory")?;
    let v = crate::quantity::Quantity::parse(&q.0)?.value();
    u64::try_from(v).ok()
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
            images: HashMap::new(),
            image_backoff: Backoff::new(Duration::from_secs(10), MAX_BACKOFF),
            crash_backoff: Backoff::new(CONTAINER_BACKOFF, MAX_BACKOFF),
            last_pull_error: HashMap::new(),
            runtime,
        }
    }

    /// A kubelet event from this node.
    fn event(&self, cx: &mut Ctx<'_>, reg: &Regarding, type_: &str, reason: &str, message: &str) {
        cx.rec
            .kubelet(cx.store, cx.now, &self.node, reg, type_, reason, message);
    }

    /// Images already on the node (a fresh node has the pause image).
    pub(crate) fn preload(&mut self, info: ImageInfo) {
        self.images.insert(info.image.clone(), info);
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
    /// (`gone`). Returns wakes to schedule.
    pub(crate) fn observe(&mut self, pod: &Arc<Value>, gone: bool, cx: &mut Ctx<'_>) {
        let uid = kinds::str_at(pod, "/metadata/uid").to_string();
        if gone {
            if self.workers.remove(&uid).is_some() {
                let prefix = format!("{uid}_");
                self.crash_backoff.forget_prefix(&prefix);
                self.image_backoff.forget_prefix(&prefix);
                cx.rec.forget(&uid);
            }
            return;
        }
        if kinds::str_at(pod, "/spec/nodeName") != self.node {
            return;
        }
        let typed: Pod = match serde_json::from_value((**pod).clone()) {
            Ok(p) => p,
            Err(_) => return,
        };
        let spec = typed.spec.clone().unwrap_or_default();
        let deleting = pod.pointer("/metadata/deletionTimestamp").is_some();
        let fingerprint = format!(
            "{}|{}",
            serde_json::to_string(&pod["spec"]).unwrap_or_default(),
            deleting
        );
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
                w.pod = pod.clone();
                if w.spec_fingerprint == fingerprint {
                    return;
                }
                w.spec_fingerprint = fingerprint;
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
            Wake::Schedule(_) | Wake::SeriesRefresh => {}
        }
    }

    // ----- sync ---------------------------------------------------------------------------

    fn sync(&mut self, uid: &str, cx: &mut Ctx<'_>) {
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
    fn sync_worker(&mut self, w: &mut Worker, cx: &mut Ctx<'_>) -> Option<Duration> {
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
        if let Some(msg) = self.runtime.missing_volume(cx.store, &w.ns, &w.pod) {
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
                w.pod_ip = Some(self.alloc_ip());
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

    fn should_restart(&self, w: &Worker, c: &Ctr) -> bool {
        let Some(t) = &c.term else { return true };
        if c.init {
            return t.exit_code != 0 && w.restart_policy != "Never";
        }
        match w.restart_policy.as_str() {
            "Never" => false,
            "OnFailure" => t.exit_code != 0,
            _ => true,
        }
    }

    fn sync_container(&mut self, w: &mut Worker, i: usize, cx: &mut Ctx<'_>) -> Outcome {
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
        if let Some(run) = &w.ctrs[i].run {
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
        if w.ctrs[i].term.is_some() {
            if !self.should_restart(w, &w.ctrs[i]) {
                return Outcome::Ok;
            }
            let key = format!("{}_{}", w.uid, w.ctrs[i].name());
            let finished = w.ctrs[i].term.as_ref().map_or(cx.now, |t| t.finished_at);
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
                let step = crate::duration::go_duration(self.crash_backoff.get(&key));
                w.ctrs[i].reason = Some((
                    "CrashLoopBackOff".into(),
                    format!(
                        "back-off {step} restarting failed container={name} pod={}",
                        w.format_pod()
                    ),
                ));
                return Outcome::Failed;
            }
            self.crash_backoff.next(&key, finished, cx.now);
        }
        match self.ensure_image(w, i, cx) {
            Outcome::Ok => self.create_and_start(w, i, cx),
            other => other,
        }
    }

    fn ensure_image(&mut self, w: &mut Worker, i: usize, cx: &mut Ctx<'_>) -> Outcome {
        let image = w.ctrs[i].spec.image.clone().unwrap_or_default();
        let reg = w.regarding(Some(w.ctrs[i].field_path()));
        let normalized = match self.runtime.normalize(&image) {
            Ok(n) => n,
            Err(msg) => {
                self.event(cx, &reg, "Warning", "InspectFailed", &msg);
                self.event(cx, &reg, "Warning", "Failed", "Error: InvalidImageName");
                w.ctrs[i].reason = Some(("InvalidImageName".into(), msg));
                return Outcome::Failed;
            }
        };
        let policy = w.ctrs[i]
            .spec
            .image_pull_policy
            .clone()
            .unwrap_or_else(|| kinds::pod::default_pull_policy(&image).to_string());
        let present = self.images.get(&normalized).cloned();
        if let Some(info) = &present
            && policy != "Always"
        {
            self.event(
                cx,
                &reg,
                "Normal",
                "Pulled",
                &format!("Container image \"{image}\" already present on machine"),
            );
            w.ctrs[i].image = Some(info.for_request(&image));
            return Outcome::Ok;
        }
        if policy == "Never" {
            let msg =
                format!("Container image \"{image}\" is not present with pull policy of Never");
            self.event(cx, &reg, "Warning", "ErrImageNeverPull", &msg);
            self.event(cx, &reg, "Warning", "Failed", "Error: ErrImageNeverPull");
            w.ctrs[i].reason = Some(("ErrImageNeverPull".into(), msg));
            return Outcome::Failed;
        }
        let key = format!("{}_{image}", w.uid);
        if self.image_backoff.in_backoff_since_update(&key, cx.now) {
            let msg = format!("Back-off pulling image \"{image}\"");
            self.event(cx, &reg, "Normal", "BackOff", &msg);
            self.event(cx, &reg, "Warning", "Failed", "Error: ImagePullBackOff");
            let detail = self.last_pull_error.get(&key).cloned().unwrap_or_default();
            w.ctrs[i].reason = Some((
                "ImagePullBackOff".into(),
                format!("{msg}: ErrImagePull: {detail}"),
            ));
            return Outcome::Failed;
        }
        self.event(
            cx,
            &reg,
            "Normal",
            "Pulling",
            &format!("Pulling image \"{image}\""),
        );
        let creds = self.runtime.pull_credentials(cx.store, &w.ns, &w.pod);
        let result = self.runtime.resolve(&image, &creds);
        let took = match (&result, &present) {
            (Ok(_), Some(_)) => jitter(
                cx.rng,
                Duration::from_millis(300),
                Duration::from_millis(500),
            ),
            (Ok(info), None) => self.runtime.pull_time(info.size),
            (Err(_), _) => jitter(
                cx.rng,
                Duration::from_millis(400),
                Duration::from_millis(800),
            ),
        };
        let done_at = add(cx.now, took);
        w.ctrs[i].pull = Some(Pull {
            image,
            started: cx.now,
            done_at,
            result,
        });
        plan_sync(w, done_at, cx.wakes);
        Outcome::Busy
    }

    /// Returns whether the image is now there.
    fn finish_pull(&mut self, w: &mut Worker, i: usize, cx: &mut Ctx<'_>) -> bool {
        let Some(pull) = w.ctrs[i].pull.take() else {
            return false;
        };
        let reg = w.regarding(Some(w.ctrs[i].field_path()));
        let key = format!("{}_{}", w.uid, pull.image);
        match pull.result {
            Ok(info) => {
                let took =
                    Duration::try_from(cx.now.duration_since(pull.started)).unwrap_or_default();
                let took = crate::duration::go_duration_ms(took);
                self.event(cx, &reg, "Normal", "Pulled", &format!(
                    "Successfully pulled image \"{}\" in {took} ({took} including waiting). Image size: {} bytes.",
                    pull.image, info.size
                ));
                self.images.insert(info.image.clone(), info.clone());
                self.image_backoff.gc(cx.now);
                self.last_pull_error.remove(&key);
                w.ctrs[i].image = Some(info.for_request(&pull.image));
                true
            }
            Err(msg) => {
                self.event(
                    cx,
                    &reg,
                    "Warning",
                    "Failed",
                    &format!("Failed to pull image \"{}\": {msg}", pull.image),
                );
                self.event(cx, &reg, "Warning", "Failed", "Error: ErrImagePull");
                self.image_backoff.next(&key, cx.now, cx.now);
                self.last_pull_error.insert(key, msg.clone());
                w.ctrs[i].reason = Some(("ErrImagePull".into(), msg));
                false
            }
        }
    }

    fn create_and_start(&mut self, w: &mut Worker, i: usize, cx: &mut Ctx<'_>) -> Outcome {
        let reg = w.regarding(Some(w.ctrs[i].field_path()));
        let name = w.ctrs[i].name().to_string();
        let Some(image) = w.ctrs[i].image.clone() else {
            return Outcome::Failed;
        };
        let env = match self
            .runtime
            .container_env(cx.store, &w.ns, &w.pod, &w.ctrs[i].spec, &image)
        {
            Ok(env) => env,
            Err(msg) => {
                self.event(cx, &reg, "Warning", "Failed", &format!("Error: {msg}"));
                w.ctrs[i].reason = Some(("CreateContainerConfigError".into(), msg));
                return Outcome::Failed;
            }
        };
        let files = self
            .runtime
            .mounted_files(cx.store, &w.ns, &w.pod, &w.ctrs[i].spec);
        // A new container: the previous one becomes `lastState` and its log `--previous`.
        let c = &mut w.ctrs[i];
        if c.attempts > 0 {
            c.restart_count += 1;
            if let Some(t) = c.term.take() {
                c.last_term = Some(t);
            }
            cx.store.logs().restart(&w.uid, &name);
        }
        c.attempts += 1;
        c.epoch += 1;
        let container_id = format!("containerd://{}", cx.rng.hex(64));
        self.event(
            cx,
            &reg,
            "Normal",
            "Created",
            &format!("Created container: {name}"),
        );
        let pod_ip = w.pod_ip.clone().unwrap_or_default();
        let launched = self
            .runtime
            .launch(&image, &c.spec, env, files, cx.now, &pod_ip);
        match launched {
            Err(msg) => {
                self.event(cx, &reg, "Warning", "Failed", &format!("Error: {msg}"));
                c.term = Some(Term {
                    exit_code: 128,
                    reason: "StartError".into(),
                    message: Some(msg.clone()),
                    started_at: None,
                    finished_at: cx.now,
                    container_id,
                });
                c.reason = Some(("RunContainerError".into(), msg));
                cx.store.logs().finish(&w.uid, &name);
                Outcome::Failed
            }
            Ok(program) => {
                self.event(
                    cx,
                    &reg,
                    "Normal",
                    "Started",
                    &format!("Started container {name}"),
                );
                let oom_at = match (memory_limit(&c.spec), program.memory_bytes()) {
                    (Some(limit), used) if used > limit => Some(add(
                        cx.now,
                        jitter(
                            cx.rng,
                            Duration::from_millis(500),
                            Duration::from_millis(1500),
                        ),
                    )),
                    _ => None,
                };
                c.reason = None;
                c.term = None;
                c.run = Some(Run {
                    program,
                    started_at: cx.now,
                    container_id,
                    stopping: None,
                    oom_at,
                    liveness_failures: 0,
                    readiness_failures: 0,
                    epoch: c.epoch,
                });
                c.ready = false;
                let epoch = c.epoch;
                cx.wakes
                    .push((cx.now, Wake::Program(w.uid.clone(), i, epoch)));
                if let Some(at) = oom_at {
                    cx.wakes.push((at, Wake::Program(w.uid.clone(), i, epoch)));
                }
                for (probe, liveness) in [
                    (&c.spec.readiness_probe, false),
                    (&c.spec.liveness_probe, true),
                ] {
                    if let Some(p) = probe {
                        let delay =
                            Duration::from_secs(p.initial_delay_seconds.unwrap_or(0).max(0) as u64);
                        cx.wakes.push((
                            add(cx.now, delay),
                            Wake::Probe(w.uid.clone(), i, epoch, liveness),
                        ));
                    }
                }
                w.relist_pending = true;
                cx.wakes.push((
                    add(
                        cx.now,
                        jitter(
                            cx.rng,
                            Duration::from_millis(400),
                            Duration::from_millis(600),
                        ),
                    ),
                    Wake::Relist(w.uid.clone()),
                ));
                Outcome::Ok
            }
        }
    }

    // ----- programs, exits, stops ---------------------------------------------------------

    fn step_program(&mut self, uid: &str, i: usize, epoch: u64, cx: &mut Ctx<'_>) {
        let Some(w) = self.workers.get_mut(uid) else {
            return;
        };
        let store_logs = cx.store.logs();
        let Some(c) = w.ctrs.get_mut(i) else { return };
        let Some(run) = c.run.as_mut().filter(|r| r.epoch == epoch) else {
            return;
        };
        if let Some((at, code)) = run.stopping {
            if at <= cx.now {
                let reason = if code == 0 { "Completed" } else { "Error" };
                exit(w, i, code, reason, cx);
            }
            return;
        }
        if let Some(at) = run.oom_at
            && at <= cx.now
        {
            exit(w, i, 137, "OOMKilled", cx);
            return;
        }
        let name = c.spec.name.clone();
        for _ in 0..10_000 {
            match run.program.next_step() {
                Step::Out(text) => store_logs.append(uid, &name, &text, cx.now),
                Step::Sleep(d) => {
                    if d < Duration::from_secs(86_400 * 365 * 10) {
                        cx.wakes
                            .push((add(cx.now, d), Wake::Program(uid.to_string(), i, epoch)));
                    }
                    return;
                }
                Step::Exit(code) => {
                    let reason = if code == 0 { "Completed" } else { "Error" };
                    exit(w, i, code, reason, cx);
                    return;
                }
            }
        }
        cx.wakes.push((
            add(cx.now, Duration::from_millis(10)),
            Wake::Program(uid.to_string(), i, epoch),
        ));
    }

    fn stop_container(&mut self, w: &mut Worker, i: usize, grace_secs: u64, cx: &mut Ctx<'_>) {
        let Some(run) = w.ctrs[i].run.as_mut() else {
            return;
        };
        if run.stopping.is_some() {
            return;
        }
        let (after, code) = if run.program.handles_sigterm() {
            (
                jitter(
                    cx.rng,
                    Duration::from_millis(100),
                    Duration::from_millis(400),
                ),
                0,
            )
        } else {
            // PID 1 ignores SIGTERM without a handler: SIGKILL when the grace period ends.
            (Duration::from_secs(grace_secs), 137)
        };
        let at = add(cx.now, after);
        run.stopping = Some((at, code));
        cx.wakes
            .push((at, Wake::Program(w.uid.clone(), i, run.epoch)));
    }

    fn begin_termination(&mut self, uid: &str, cx: &mut Ctx<'_>) {
        let Some(mut w) = self.workers.remove(uid) else {
            return;
        };
        let grace = w.pod["metadata"]["deletionGracePeriodSeconds"]
            .as_u64()
            .unwrap_or(30);
        let mut running = false;
        for i in 0..w.ctrs.len() {
            w.ctrs[i].pull = None;
            if w.ctrs[i].run.is_some() {
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

    // ----- relist and probes ----------------------------------------------------------------

    fn relist(&mut self, uid: &str, cx: &mut Ctx<'_>) {
        let Some(mut w) = self.workers.remove(uid) else {
            return;
        };
        if !w.relist_pending {
            self.workers.insert(uid.to_string(), w);
            return;
        }
        w.relist_pending = false;
        // A running container without a readiness probe is ready once the relist sees it.
        for c in &mut w.ctrs {
            if c.run.as_ref().is_some_and(|r| r.stopping.is_none())
                && c.spec.readiness_probe.is_none()
                && !c.init
            {
                c.ready = true;
            }
        }
        self.write_status(&mut w, cx);
        let all_stopped = w.ctrs.iter().all(|c| c.run.is_none());
        if w.deleting {
            if all_stopped {
                cx.wakes.push((
                    add(cx.now, Duration::from_millis(100)),
                    Wake::Finalize(uid.to_string()),
                ));
            }
            self.workers.insert(uid.to_string(), w);
            return;
        }
        w.sync_at = None;
        self.workers.insert(uid.to_string(), w);
        // A container died: the pod worker syncs at once (restart or back-off).
        self.sync(uid, cx);
    }

    fn probe(&mut self, uid: &str, i: usize, epoch: u64, liveness: bool, cx: &mut Ctx<'_>) {
        let Some(mut w) = self.workers.remove(uid) else {
            return;
        };
        let pod_ip = w.pod_ip.clone().unwrap_or_default();
        let grace = w.pod["spec"]["terminationGracePeriodSeconds"]
            .as_u64()
            .unwrap_or(30);
        let reg = w.regarding(Some(w.ctrs[i].field_path()));
        let spec = w.ctrs[i].spec.clone();
        let probe: Option<Probe> = if liveness {
            spec.liveness_probe.clone()
        } else {
            spec.readiness_probe.clone()
        };
        let mut status_changed = false;
        let mut kill = false;
        if let (Some(p), Some(run)) = (
            probe,
            w.ctrs[i]
                .run
                .as_mut()
                .filter(|r| r.epoch == epoch && r.stopping.is_none()),
        ) {
            let result = run_probe(&p, &spec, run.program.as_mut(), &pod_ip);
            let threshold = p.failure_threshold.unwrap_or(3).max(1) as u32;
            let period = Duration::from_secs(p.period_seconds.unwrap_or(10).max(1) as u64);
            let kind = if liveness { "Liveness" } else { "Readiness" };
            match result {
                Ok(()) => {
                    if liveness {
                        run.liveness_failures = 0;
                    } else {
                        run.readiness_failures = 0;
                        if !w.ctrs[i].ready {
                            w.ctrs[i].ready = true;
                            status_changed = true;
                        }
                    }
                }
                Err(msg) => {
                    self.event(
                        cx,
                        &reg,
                        "Warning",
                        "Unhealthy",
                        &format!("{kind} probe failed: {msg}"),
                    );
                    if liveness {
                        run.liveness_failures += 1;
                        if run.liveness_failures >= threshold {
                            kill = true;
                        }
                    } else {
                        run.readiness_failures += 1;
                        if run.readiness_failures >= threshold && w.ctrs[i].ready {
                            w.ctrs[i].ready = false;
                            status_changed = true;
                        }
                    }
                }
            }
            if !kill {
                cx.wakes.push((
                    add(cx.now, period),
                    Wake::Probe(uid.to_string(), i, epoch, liveness),
                ));
            }
        }
        if kill {
            let name = spec.name.clone();
            self.event(
                cx,
                &reg,
                "Normal",
                "Killing",
                &format!("Container {name} failed liveness probe, will be restarted"),
            );
            self.stop_container(&mut w, i, grace, cx);
        }
        if status_changed {
            self.write_status(&mut w, cx);
        }
        self.workers.insert(uid.to_string(), w);
    }

    // ----- status -----------------------------------------------------------------------------

    fn container_status(&self, w: &Worker, c: &Ctr) -> Value {
        let default_waiting = if w.has_init() {
            "PodInitializing"
        } else {
            "ContainerCreating"
        };
        let image = c.image.as_ref();
        let mut s = json!({
            "name": c.spec.name,
            "image": image.map_or_else(|| c.spec.image.clone().unwrap_or_default(), |i| i.image.clone()),
            "imageID": image.map_or_else(String::new, |i| i.image_id.clone()),
            "ready": c.ready && c.run.is_some(),
            "restartCount": c.restart_count,
            "started": c.run.is_some(),
            "lastState": c.last_term.as_ref().map_or_else(|| json!({}), |t| json!({"terminated": t.to_json()})),
        });
        if let Some(run) = &c.run {
            s["state"] = json!({"running": {"startedAt": rfc3339(run.started_at)}});
            s["containerID"] = json!(run.container_id);
        } else if let Some(t) = &c.term {
            if let Some((reason, message)) = &c.reason {
                s["state"] = json!({"waiting": {"reason": reason, "message": message}});
                s["lastState"] = json!({"terminated": t.to_json()});
            } else {
                s["state"] = json!({"terminated": t.to_json()});
            }
            s["containerID"] = json!(t.container_id);
            s["started"] = json!(false);
        } else {
            match &c.reason {
                Some((reason, message)) => {
                    s["state"] = json!({"waiting": {"reason": reason, "message": message}});
                }
                None => s["state"] = json!({"waiting": {"reason": default_waiting}}),
            }
            if let Some(t) = &c.last_term {
                s["containerID"] = json!(t.container_id);
            }
        }
        if c.image.is_none() {
            s.as_object_mut().map(|o| o.remove("imageID"));
            s["imageID"] = json!("");
        }
        if let Some(res) = &c.spec.resources
            && (res.requests.is_some() || res.limits.is_some())
        {
            s["resources"] = serde_json::to_value(res).unwrap_or_default();
        }
        let mounts: Vec<Value> = c
            .spec
            .volume_mounts
            .iter()
            .flatten()
            .map(|m| {
                let mut v = json!({"name": m.name, "mountPath": m.mount_path});
                if m.read_only == Some(true) {
                    v["readOnly"] = json!(true);
                    v["recursiveReadOnly"] = json!("Disabled");
                }
                v
            })
            .collect();
        if !mounts.is_empty() {
            s["volumeMounts"] = json!(mounts);
        }
        s
    }

    fn is_ready(c: &Ctr) -> bool {
        c.ready && c.run.is_some()
    }

    fn phase(w: &Worker) -> &'static str {
        let policy = w.restart_policy.as_str();
        let mut pending_init = 0;
        let mut failed_init = false;
        for c in w.ctrs.iter().filter(|c| c.init) {
            if c.succeeded() {
                continue;
            }
            if c.run.is_some() {
                pending_init += 1;
            } else if c.term.as_ref().is_some_and(|t| t.exit_code != 0) {
                if policy == "Never" {
                    failed_init = true;
                } else {
                    pending_init += 1;
                }
            } else {
                pending_init += 1;
            }
        }
        if failed_init {
            return "Failed";
        }
        if pending_init > 0 {
            return "Pending";
        }
        let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
        for c in w.ctrs.iter().filter(|c| !c.init) {
            if c.run.is_some() {
                running += 1;
            } else if let Some(t) = &c.term {
                stopped += 1;
                if t.exit_code == 0 {
                    succeeded += 1;
                }
            } else if c.last_term.is_some() {
                stopped += 1;
            } else {
                waiting += 1;
            }
        }
        if waiting > 0 {
            "Pending"
        } else if running > 0 {
            "Running"
        } else if stopped > 0 {
            match policy {
                "Always" => "Running",
                _ if stopped == succeeded => "Succeeded",
                "OnFailure" => "Running",
                _ => "Failed",
            }
        } else {
            "Pending"
        }
    }

    fn write_status(&self, w: &mut Worker, cx: &mut Ctx<'_>) {
        if w.start_time.is_none() {
            return;
        }
        let phase = Self::phase(w);
        let terminal = phase == "Succeeded" || phase == "Failed";
        let cond = |w: &mut Worker,
                    ty: &'static str,
                    ok: bool,
                    reason: Option<&str>,
                    message: Option<String>| {
            let status = if ok { "True" } else { "False" };
            let entry = w.cond_times.entry(ty).or_insert((ok, rfc3339(cx.now)));
            if entry.0 != ok {
                *entry = (ok, rfc3339(cx.now));
            }
            let mut c = json!({"type": ty, "status": status, "lastProbeTime": null, "lastTransitionTime": entry.1});
            if !ok {
                if let Some(r) = reason {
                    c["reason"] = json!(r);
                }
                if let Some(m) = message {
                    c["message"] = json!(m);
                }
            }
            c
        };
        let incomplete: Vec<&str> = w
            .ctrs
            .iter()
            .filter(|c| c.init && !c.succeeded())
            .map(Ctr::name)
            .collect();
        let unready: Vec<&str> = w
            .ctrs
            .iter()
            .filter(|c| !c.init && !Self::is_ready(c))
            .map(Ctr::name)
            .collect();
        let incomplete_msg = format!(
            "containers with incomplete status: [{}]",
            incomplete.join(" ")
        );
        let unready_msg = format!("containers with unready status: [{}]", unready.join(" "));
        let (init_ok, ready_ok) = (incomplete.is_empty(), unready.is_empty());
        let sandbox_ok = w.sandbox == Sandbox::Ready && !(terminal && w.deleting);
        let mut conditions = vec![
            cond(w, "PodReadyToStartContainers", sandbox_ok, None, None),
            cond(
                w,
                "Initialized",
                init_ok,
                Some("ContainersNotInitialized"),
                Some(incomplete_msg),
            ),
        ];
        let (ready_reason, ready_msg) = match phase {
            "Succeeded" => ("PodCompleted", None),
            "Failed" => ("PodFailed", None),
            _ => ("ContainersNotReady", Some(unready_msg)),
        };
        let ready_ok = ready_ok && !terminal;
        conditions.push(cond(
            w,
            "Ready",
            ready_ok,
            Some(ready_reason),
            ready_msg.clone(),
        ));
        conditions.push(cond(
            w,
            "ContainersReady",
            ready_ok,
            Some(ready_reason),
            ready_msg,
        ));
        let scheduled = w.pod["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "PodScheduled").cloned())
            .unwrap_or_else(|| json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": rfc3339(cx.now)}));
        conditions.push(scheduled);
        let inits: Vec<Value> = w
            .ctrs
            .iter()
            .filter(|c| c.init)
            .map(|c| self.container_status(w, c))
            .collect();
        let mains: Vec<Value> = w
            .ctrs
            .iter()
            .filter(|c| !c.init)
            .map(|c| self.container_status(w, c))
            .collect();
        let mut status = json!({
            "phase": phase,
            "conditions": conditions,
            "hostIP": self.node_ip,
            "hostIPs": [{"ip": self.node_ip}],
            "startTime": w.start_time.map(rfc3339),
            "containerStatuses": mains,
        });
        if !inits.is_empty() {
            status["initContainerStatuses"] = json!(inits);
        }
        if let Some(ip) = &w.pod_ip {
            status["podIP"] = json!(ip);
            status["podIPs"] = json!([{"ip": ip}]);
        }
        if w.last_status.as_ref() == Some(&status) {
            return;
        }
        let result = cx.store.update_status::<Pod>(&w.ns, &w.name, |p| {
            let qos = p.status.as_ref().and_then(|s| s.qos_class.clone());
            if let Ok(mut s) =
                serde_json::from_value::<k8s_openapi::api::core::v1::PodStatus>(status.clone())
            {
                s.qos_class = qos;
                p.status = Some(s);
            }
        });
        if let Ok(p) = result
            && p.metadata.uid.as_deref() == Some(w.uid.as_str())
        {
            w.last_status = Some(status);
        }
    }
}

fn exit(w: &mut Worker, i: usize, code: i32, reason: &str, cx: &mut Ctx<'_>) {
    let c = &mut w.ctrs[i];
    let Some(run) = c.run.take() else { return };
    cx.store.logs().finish(&w.uid, &c.spec.name);
    c.term = Some(Term {
        exit_code: code,
        reason: reason.to_string(),
        message: None,
        started_at: Some(run.started_at),
        finished_at: cx.now,
        container_id: run.container_id,
    });
    c.ready = false;
    w.relist_pending = true;
    cx.wakes.push((
        add(
            cx.now,
            jitter(
                cx.rng,
                Duration::from_millis(300),
                Duration::from_millis(700),
            ),
        ),
        Wake::Relist(w.uid.clone()),
    ));
}

fn run_probe(
    p: &Probe,
    c: &Container,
    program: &mut dyn Program,
    pod_ip: &str,
) -> Result<(), String> {
    if let Some(h) = &p.http_get {
        let port = probe_port(&h.port, c);
        let path = h.path.clone().unwrap_or_else(|| "/".into());
        let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_lowercase();
        return match program.http(port, &path) {
            None => Err(format!(
                "Get \"{scheme}://{pod_ip}:{port}{path}\": dial tcp {pod_ip}:{port}: connect: connection refused"
            )),
            Some(code) if (200..400).contains(&code) => Ok(()),
            Some(code) => Err(format!("HTTP probe failed with statuscode: {code}")),
        };
    }
    if let Some(t) = &p.tcp_socket {
        let port = probe_port(&t.port, c);
        return if program.listens(port) {
            Ok(())
        } else {
            Err(format!(
                "dial tcp {pod_ip}:{port}: connect: connection refused"
            ))
        };
    }
    if let Some(e) = &p.exec {
        let argv = e.command.clone().unwrap_or_default();
        let (code, output) = program.exec(&argv);
        return if code == 0 { Ok(()) } else { Err(output) };
    }
    Ok(())
}
