//! The pod pipeline: where a pod is on its way from `kubectl apply` to Ready, and why it stopped.
//!
//! [`build_pipeline`] is a pure reducer from one Pod, the namespace's Events and the current time
//! to a [`PodPipeline`]: the stages **Applied → Scheduled → (Init: …) → Image pulled → Container
//! created → Running → Ready**, each `pending | active | done | stuck | failed`, with the reason,
//! the evidence that proves it (a status field path and its value, plus the latest matching
//! event), the `kubectl get` cells (STATUS, READY, RESTARTS), a [`Diagnosis`] of the first stuck
//! stage, and the time of the kubelet's next retry when a back-off is running.
//!
//! How stages are derived (never from `status.phase` alone: a crash-looping pod is `Running`):
//!
//! - *Scheduled* comes from `spec.nodeName` and the `PodScheduled` condition; an `Unschedulable`
//!   condition makes it stuck, with the scheduler's FitError parsed.
//! - One *Init* stage per init container, in order; each is done when it exited 0 (or, for a
//!   restartable sidecar, when it has started). Later stages wait for all of them.
//! - *Image pulled*, *Container created* and *Running* are computed per app container from its
//!   `state` (waiting reason, running, terminated) and then combined: the stage takes the worst
//!   state over all containers (failed > stuck > active > pending > done), and its reason and
//!   evidence come from the first container in spec order in that state, which is the container
//!   `kubectl get` reports too.
//! - While a container still waits in `ContainerCreating`, events refine the picture: `Pulling`
//!   means the pull is under way, `Pulled` means it finished, a pod-level `FailedMount` newer than
//!   any pull means the kubelet is stuck mounting volumes (which it does before pulling).
//! - *Ready* is done when the pod's `Ready` condition is True; a running container with recent
//!   `Readiness probe failed` events makes it stuck.
//! - An image pull failure whose status still names an older image than the spec is treated as
//!   a fix in progress (the kubelet pulls the new image on its next sync), not as stuck.
//!
//! Retry times:
//!
//! - **CrashLoopBackOff**: `lastState.terminated.finishedAt` plus the back-off in the waiting
//!   message (`back-off 20s restarting failed container=…`), which the kubelet writes from its
//!   own back-off entry, so this is exact up to the kubelet's 10–15 s sync jitter.
//! - **ImagePullBackOff / ErrImagePull**: the status carries no duration, so it is *inferred*.
//!   Every real pull attempt emits a `Pulling image "<image>"` event, aggregated into one event
//!   whose `count` is the number of attempts `n`. The kubelet's image back-off starts at 10 s and
//!   doubles after each failure up to 300 s, so after `n` failed attempts the window is
//!   `min(10 s × 2^(n−1), 300 s)`, measured from the last failure: the latest `Failed` event
//!   (`Failed to pull image …` or `Error: ErrImagePull`, falling back to the latest `BackOff`).
//!   This is an estimate: events can be dropped by the recorder's spam filter, and the kubelet
//!   resets an entry after 10 idle minutes.
//!
//! [`PipelineTracker`] keeps the last pipeline per pod uid and reports only changes.

pub mod claims;
mod events;
pub mod security_facts;
pub mod service_http;
pub mod services;
mod tracker;
mod watch;
pub mod workload;

pub use events::{EventLog, EventRow, PodEvent, event_rows, events_for, is_about};
pub use kq_kube::printers::{PodRow, print_pod};
pub use services::{ServiceInput, ServiceObjects, watch_services};
pub use tracker::{PipelineChange, PipelineTracker, TrackerInput};
pub use watch::{
    WatchInput, merge_watch_streams, watch_namespace, watch_workloads, workload_inputs,
};
pub use workload::{
    PodOwner, RevisionRole, WorkloadKind, WorkloadObject, WorkloadView, Workloads, workload_views,
};

pub use crate::stage::StageKind;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Event, Pod};
use serde::Serialize;
use ts_rs::TS;

use crate::diagnose::{self, Diagnosis, Symptom, Termination};
use crate::stage::ReasonKind;
use kq_kube::{duration, reference};

/// Where a stage stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum StageState {
    /// Not reached yet.
    Pending,
    /// In progress right now.
    Active,
    /// Finished.
    Done,
    /// Blocked; Kubernetes keeps retrying, so a fix takes effect without recreating the pod
    /// (unless the fix needs a field that cannot change).
    Stuck,
    /// Finished unsuccessfully for good (restartPolicy Never, evicted).
    Failed,
}

impl StageState {
    /// Badness, for combining containers: failed > stuck > active > pending > done.
    fn rank(self) -> u8 {
        match self {
            StageState::Done => 0,
            StageState::Pending => 1,
            StageState::Active => 2,
            StageState::Stuck => 3,
            StageState::Failed => 4,
        }
    }

    /// The wire name (`pending`, `stuck`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            StageState::Pending => "pending",
            StageState::Active => "active",
            StageState::Done => "done",
            StageState::Stuck => "stuck",
            StageState::Failed => "failed",
        }
    }
}

/// A status field and its value, e.g. `status.containerStatuses[0].state.waiting.reason` =
/// `ImagePullBackOff`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct FieldFact {
    pub path: String,
    pub value: String,
}

/// The latest event that supports a stage's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EventFact {
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    pub message: String,
    pub count: u32,
    #[ts(type = "string | null")]
    pub last_seen: Option<Timestamp>,
    /// How long ago it was last seen at the time the pipeline was built, as `kubectl describe`
    /// prints it (`2m30s`); the UI may recompute it from `lastSeen`.
    pub age: String,
}

impl EventFact {
    fn from_event(e: &PodEvent, now: Timestamp) -> EventFact {
        EventFact {
            type_: e.type_.clone(),
            reason: e.reason.clone(),
            message: e.message.clone(),
            count: e.count,
            last_seen: e.last_seen,
            age: e
                .last_seen
                .map(|t| duration::since(t, now))
                .unwrap_or_else(|| "<unknown>".into()),
        }
    }
}

/// What proves a stage's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
pub struct Evidence {
    pub fields: Vec<FieldFact>,
    pub event: Option<EventFact>,
}

/// One stage of the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    /// Stable id: `applied`, `scheduled`, `init:<container>`, `pulled`, `created`, `running`,
    /// `ready`.
    pub id: String,
    pub kind: StageKind,
    pub label: String,
    /// For init stages (and the stuck container of container stages), the container.
    pub container: Option<String>,
    pub state: StageState,
    /// The Kubernetes reason behind the state (`ImagePullBackOff`, `Pulling`, `Unschedulable`).
    pub reason: Option<String>,
    pub message: Option<String>,
    pub evidence: Evidence,
}

/// One container's own position, for the per-container view under the rail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ContainerView {
    pub name: String,
    /// Init container (`spec.initContainers`), including sidecars.
    pub init: bool,
    /// The image the spec asks for.
    pub image: String,
    /// The furthest stage this container has to deal with now.
    pub stage: StageKind,
    pub state: StageState,
    pub reason: Option<String>,
    pub ready: bool,
    pub restart_count: u32,
}

/// What kind of back-off is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum RetryKind {
    /// The kubelet waits before pulling the image again.
    ImagePull,
    /// The kubelet waits before restarting the crashed container.
    CrashLoop,
}

/// When the kubelet will try again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Retry {
    pub kind: RetryKind,
    pub container: String,
    /// The earliest time of the next attempt (the kubelet's 10–15 s sync jitter comes on top).
    #[ts(type = "string")]
    pub at: Timestamp,
    /// The current back-off step in seconds (10, 20, 40 … 300).
    pub backoff_seconds: u64,
    /// How `at` was obtained, for the tooltip.
    pub basis: String,
}

/// A pod's pipeline: everything the UI's rail shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PodPipeline {
    pub namespace: String,
    pub pod: String,
    /// The pod's uid: a recreated pod with the same name is a new pipeline.
    pub uid: String,
    /// `status.phase` (shown for reference only).
    pub phase: String,
    /// The `kubectl get pods` STATUS cell.
    pub status: String,
    /// The READY cell (`0/1`).
    pub ready: String,
    pub restarts: u32,
    /// The RESTARTS cell (`3 (12s ago)`).
    pub restarts_text: String,
    /// The pod has a deletionTimestamp.
    pub terminating: bool,
    pub node: Option<String>,
    #[ts(type = "string | null")]
    pub created_at: Option<Timestamp>,
    /// The workload the pod belongs to (a Deployment through its ReplicaSet, with the
    /// revision and whether it is the new or an old one), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub owner: Option<PodOwner>,
    pub stages: Vec<Stage>,
    pub containers: Vec<ContainerView>,
    /// The first stuck or failed stage, explained.
    pub diagnosis: Option<Diagnosis>,
    pub next_retry: Option<Retry>,
}

impl PodPipeline {
    /// The first stage that is stuck or failed.
    pub fn stuck_stage(&self) -> Option<&Stage> {
        self.stages
            .iter()
            .find(|s| matches!(s.state, StageState::Stuck | StageState::Failed))
    }

    /// The stage with this id.
    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    /// A copy with every "time ago" text blanked, so two pipelines built at different moments
    /// compare equal when nothing but the clock moved.
    pub fn without_ages(&self) -> PodPipeline {
        let mut p = self.clone();
        p.restarts_text = p.restarts.to_string();
        for s in &mut p.stages {
            if let Some(e) = &mut s.evidence.event {
                e.age.clear();
            }
        }
        p
    }

    /// A compact text form: one line per stage. Used by `kq` and as test snapshots.
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "{}/{} {}  READY {}  RESTARTS {}{}\n",
            self.namespace,
            self.pod,
            self.status,
            self.ready,
            self.restarts_text,
            if self.terminating {
                "  (terminating)"
            } else {
                ""
            }
        );
        for s in &self.stages {
            let mut line = format!("  {:<16} {:<7}", s.id, s.state.as_str());
            if let Some(r) = &s.reason {
                line.push_str(&format!(" {r}"));
            }
            for f in &s.evidence.fields {
                line.push_str(&format!(" [{} = {}]", f.path, f.value));
            }
            if let Some(e) = &s.evidence.event {
                line.push_str(&format!(" <{} {} x{}>", e.type_, e.reason, e.count));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        if let Some(d) = &self.diagnosis {
            out.push_str(&format!(
                "  diagnosis: {} at {} -> {}\n",
                d.reason,
                d.stage.lesson_name(),
                d.commands.first().map(String::as_str).unwrap_or("-")
            ));
        }
        if let Some(r) = &self.next_retry {
            out.push_str(&format!(
                "  next retry: {} {} at {} (back-off {}s)\n",
                match r.kind {
                    RetryKind::ImagePull => "pull",
                    RetryKind::CrashLoop => "restart",
                },
                r.container,
                r.at,
                r.backoff_seconds
            ));
        }
        out
    }
}

/// Everything the per-container rules need.
struct Ctx<'a> {
    pod: &'a Pod,
    namespace: &'a str,
    name: &'a str,
    log: EventLog<'a>,
    now: Timestamp,
    restart_policy: &'a str,
    multi_container: bool,
}

impl Ctx<'_> {
    fn event(&self, e: Option<&PodEvent>) -> Option<EventFact> {
        e.map(|e| EventFact::from_event(e, self.now))
    }

    fn symptom<'s>(
        &'s self,
        container: Option<&'s str>,
        init: bool,
        reason: &'s str,
    ) -> Symptom<'s> {
        Symptom {
            namespace: self.namespace,
            pod: self.name,
            container,
            multi_container: self.multi_container,
            init,
            reason,
            restart_policy: Some(self.restart_policy),
            ..Symptom::default()
        }
    }
}

/// One container's state at one stage.
#[derive(Debug, Clone)]
struct Step {
    state: StageState,
    reason: Option<String>,
    message: Option<String>,
    evidence: Evidence,
    diagnosis: Option<Diagnosis>,
}

impl Step {
    fn new(state: StageState) -> Step {
        Step {
            state,
            reason: None,
            message: None,
            evidence: Evidence::default(),
            diagnosis: None,
        }
    }
    fn reason(mut self, r: impl Into<String>) -> Step {
        self.reason = Some(r.into());
        self
    }
    fn message(mut self, m: Option<impl Into<String>>) -> Step {
        self.message = m.map(Into::into).filter(|m: &String| !m.is_empty());
        self
    }
    fn field(mut self, path: impl Into<String>, value: impl ToString) -> Step {
        self.evidence.fields.push(FieldFact {
            path: path.into(),
            value: value.to_string(),
        });
        self
    }
    fn event(mut self, e: Option<EventFact>) -> Step {
        self.evidence.event = e;
        self
    }
    fn diagnosis(mut self, d: Diagnosis) -> Step {
        self.diagnosis = Some(d);
        self
    }
}

/// The four container-level stages of one container.
#[derive(Debug, Clone)]
struct Assessment {
    pulled: Step,
    created: Step,
    running: Step,
    ready: Step,
    retry: Option<Retry>,
}

impl Assessment {
    fn all(state: StageState) -> Assessment {
        Assessment {
            pulled: Step::new(state),
            created: Step::new(state),
            running: Step::new(state),
            ready: Step::new(state),
            retry: None,
        }
    }

    fn steps(&self) -> [(StageKind, &Step); 4] {
        [
            (StageKind::ImagePulled, &self.pulled),
            (StageKind::ContainerCreated, &self.created),
            (StageKind::Running, &self.running),
            (StageKind::Ready, &self.ready),
        ]
    }

    /// The step a learner should look at: the first that is not done.
    fn current(&self) -> (StageKind, &Step) {
        self.steps()
            .into_iter()
            .find(|(_, s)| s.state != StageState::Done)
            .unwrap_or((StageKind::Ready, &self.ready))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    App,
    Init,
    Sidecar,
}

fn mentions_image(e: &PodEvent, image: &str) -> bool {
    !image.is_empty() && e.message.contains(&format!("\"{image}\""))
}

fn image_backoff_step(pulls: u32) -> u64 {
    let exp = pulls.saturating_sub(1).min(10);
    (10u64 << exp).min(300)
}

/// Infers the next image pull (see the module docs for the rule).
fn image_retry(ctx: &Ctx<'_>, container: &str, image: &str) -> Option<Retry> {
    let pulls = ctx
        .log
        .latest(|e| {
            e.container.as_deref() == Some(container)
                && e.reason == "Pulling"
                && mentions_image(e, image)
        })?
        .count;
    let anchor = ctx
        .log
        .latest(|e| {
            e.container.as_deref() == Some(container)
                && e.reason == "Failed"
                && (e.message == "Error: ErrImagePull"
                    || (e.message.starts_with("Failed to pull image") && mentions_image(e, image)))
        })
        .or_else(|| ctx.log.latest_for(container, &["BackOff"]))?
        .last_seen?;
    let step = image_backoff_step(pulls);
    Some(Retry {
        kind: RetryKind::ImagePull,
        container: container.to_owned(),
        at: anchor
            .checked_add(SignedDuration::from_secs(step as i64))
            .ok()?,
        backoff_seconds: step,
        basis: format!(
            "{pulls} pull attempt{} so far (Pulling x{pulls}); the image back-off doubles from 10s \
             to at most 300s, so the window after the last failure is {step}s",
            if pulls == 1 { "" } else { "s" }
        ),
    })
}

/// Reads `back-off 20s restarting failed container=…`.
fn crash_backoff(message: &str) -> Option<SignedDuration> {
    let rest = &message[message.find("back-off ")? + "back-off ".len()..];
    duration::parse_go_duration(rest.split_whitespace().next()?)
}

fn last_terminated(
    cs: &ContainerStatus,
) -> Option<&k8s_openapi::api::core::v1::ContainerStateTerminated> {
    cs.last_state.as_ref()?.terminated.as_ref()
}

fn probe_failure<'a>(
    ctx: &Ctx<'a>,
    container: &str,
    probe: &str,
    since: Option<Timestamp>,
) -> Option<&'a PodEvent> {
    let prefix = format!("{probe} probe failed");
    ctx.log.latest(|e| {
        e.container.as_deref() == Some(container)
            && e.reason == "Unhealthy"
            && e.message.starts_with(&prefix)
            && match (since, e.last_seen) {
                (Some(s), Some(t)) => t >= s,
                _ => true,
            }
    })
}

/// Assesses one container. `gate_open` is false until the pod is scheduled and, for app
/// containers, initialised.
fn assess(
    ctx: &Ctx<'_>,
    role: Role,
    spec: &Container,
    status: Option<(usize, &ContainerStatus)>,
    gate_open: bool,
) -> Assessment {
    use StageState::*;
    if !gate_open {
        return Assessment::all(Pending);
    }
    let c = spec.name.as_str();
    let init = role != Role::App;
    let image = spec.image.as_deref().unwrap_or_default();
    let spec_index = if init {
        ctx.pod
            .spec
            .as_ref()
            .and_then(|s| s.init_containers.as_ref())
            .and_then(|v| v.iter().position(|x| x.name == c))
    } else {
        ctx.pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.iter().position(|x| x.name == c))
    }
    .unwrap_or(0);
    let spec_path = format!(
        "spec.{}[{spec_index}].image",
        if init { "initContainers" } else { "containers" }
    );
    let base = status.map(|(i, _)| {
        format!(
            "status.{}[{i}]",
            if init {
                "initContainerStatuses"
            } else {
                "containerStatuses"
            }
        )
    });
    let base = base.as_deref().unwrap_or("status");
    let cs = status.map(|(_, cs)| cs);
    let state = cs.and_then(|cs| cs.state.as_ref());
    let log = ctx.log;

    let pulled_event = log.latest(|e| {
        e.container.as_deref() == Some(c) && e.reason == "Pulled" && mentions_image(e, image)
    });
    let image_id = cs.map(|cs| cs.image_id.as_str()).filter(|i| !i.is_empty());
    let pulled_done = || {
        let mut s = Step::new(Done).event(ctx.event(pulled_event));
        if let Some(id) = image_id {
            s = s.field(format!("{base}.imageID"), id);
        }
        s
    };
    let created_done = || Step::new(Done).event(ctx.event(log.latest_for(c, &["Created"])));

    let mut a = Assessment::all(Pending);
    let waiting = state.and_then(|s| s.waiting.as_ref());
    let running = state.and_then(|s| s.running.as_ref());
    let terminated = state.and_then(|s| s.terminated.as_ref());
    let waiting_reason = waiting
        .and_then(|w| w.reason.as_deref())
        .unwrap_or_default();

    if let Some(t) = terminated {
        a.pulled = pulled_done();
        a.created = created_done();
        let term = Termination::from_state(t);
        let shown = match (
            t.reason.as_deref().filter(|r| !r.is_empty()),
            t.signal.filter(|s| *s != 0),
        ) {
            (Some(r), _) => r.to_owned(),
            (None, Some(sig)) => format!("Signal:{sig}"),
            (None, None) => format!("ExitCode:{}", t.exit_code),
        };
        let restarts = match role {
            Role::App => match ctx.restart_policy {
                "Never" => false,
                "OnFailure" => t.exit_code != 0,
                _ => true,
            },
            Role::Init => t.exit_code != 0 && ctx.restart_policy != "Never",
            Role::Sidecar => true,
        };
        let pod_terminal = matches!(
            ctx.pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        );
        let finished_ok = t.exit_code == 0 && (role == Role::Init || !restarts);
        let step = Step::new(Done)
            .reason(shown.clone())
            .message(t.message.clone())
            .field(format!("{base}.state.terminated.reason"), &shown)
            .field(format!("{base}.state.terminated.exitCode"), t.exit_code);
        if finished_ok {
            a.running = step.event(ctx.event(log.latest_for(c, &["Started"])));
            if role == Role::App {
                a.ready = Step::new(Pending)
                    .reason("Completed")
                    .message(Some("a container that has finished is never Ready"));
            } else {
                a.ready = Step::new(Done);
            }
        } else {
            let mut sym = ctx.symptom(Some(c), init, &shown);
            sym.message = t.message.as_deref();
            sym.last_termination = Some(term);
            sym.image = Some(image);
            let diag = diagnose::diagnose(&sym);
            let state = if restarts && !pod_terminal {
                Stuck
            } else {
                Failed
            };
            a.running = Step { state, ..step }
                .event(ctx.event(log.latest_for(c, &["BackOff", "Killing", "Failed"])))
                .diagnosis(diag);
        }
        return a;
    }

    if let Some(r) = running {
        a.pulled = pulled_done();
        a.created = created_done();
        let started_at = r.started_at.as_ref().map(|t| t.0);
        let started_field = (
            format!("{base}.state.running.startedAt"),
            started_at.map(|t| t.to_string()).unwrap_or_default(),
        );
        if role == Role::Init {
            a.running = Step::new(Active)
                .reason("Running")
                .message(Some(
                    "an init container must finish before the next stage starts",
                ))
                .field(started_field.0, started_field.1);
            return a;
        }
        if let Some(ev) = probe_failure(ctx, c, "Liveness", started_at) {
            let mut sym = ctx.symptom(Some(c), init, "LivenessProbeFailed");
            sym.event_message = Some(&ev.message);
            a.running = Step::new(Stuck)
                .reason("LivenessProbeFailed")
                .message(Some(ev.message.clone()))
                .field(started_field.0, started_field.1)
                .event(ctx.event(Some(ev)))
                .diagnosis(diagnose::diagnose(&sym));
            return a;
        }
        if cs.and_then(|cs| cs.started) == Some(false) {
            let ev = probe_failure(ctx, c, "Startup", started_at);
            let mut step = Step::new(if ev.is_some() { Stuck } else { Active })
                .reason(if ev.is_some() {
                    "StartupProbeFailed"
                } else {
                    "Starting"
                })
                .field(format!("{base}.started"), false)
                .event(ctx.event(ev));
            if let Some(ev) = ev {
                let mut sym = ctx.symptom(Some(c), init, "StartupProbeFailed");
                sym.event_message = Some(&ev.message);
                step = step
                    .message(Some(ev.message.clone()))
                    .diagnosis(diagnose::diagnose(&sym));
            }
            a.running = step;
            return a;
        }
        a.running = Step::new(Done)
            .field(started_field.0, started_field.1)
            .event(ctx.event(log.latest_for(c, &["Started"])));
        let ready = cs.is_some_and(|cs| cs.ready);
        a.ready = if ready {
            Step::new(Done).field(format!("{base}.ready"), true)
        } else if let Some(ev) = probe_failure(ctx, c, "Readiness", started_at) {
            let mut sym = ctx.symptom(Some(c), init, "ReadinessProbeFailed");
            sym.event_message = Some(&ev.message);
            Step::new(Stuck)
                .reason("ReadinessProbeFailed")
                .message(Some(ev.message.clone()))
                .field(format!("{base}.ready"), false)
                .event(ctx.event(Some(ev)))
                .diagnosis(diagnose::diagnose(&sym))
        } else {
            Step::new(Active)
                .reason("WaitingForReadiness")
                .field(format!("{base}.ready"), false)
        };
        return a;
    }

    // Waiting (or no status yet).
    let kind = ReasonKind::from_reason(waiting_reason);
    let message = waiting.and_then(|w| w.message.clone());
    let reason_field = format!("{base}.state.waiting.reason");
    if !matches!(waiting_reason, "" | "ContainerCreating" | "PodInitializing") {
        let stage = diagnose::stage_of(kind);
        let mut sym = ctx.symptom(Some(c), init, waiting_reason);
        sym.message = message.as_deref();
        sym.image = Some(image);
        if let Some(t) = cs.and_then(last_terminated) {
            sym.last_termination = Some(Termination::from_state(t));
        }
        let killing = log.latest_for(c, &["Killing"]);
        if killing.is_some_and(|k| k.message.contains("failed liveness probe")) {
            sym.killed_by_liveness = true;
            sym.event_message = probe_failure(ctx, c, "Liveness", None).map(|e| e.message.as_str());
        }
        let stuck = Step::new(Stuck)
            .reason(waiting_reason)
            .message(message.clone())
            .field(reason_field, waiting_reason);
        match stage {
            StageKind::ImagePulled => {
                let status_image = cs.map(|cs| cs.image.as_str()).unwrap_or_default();
                if !status_image.is_empty()
                    && !image.is_empty()
                    && reference::normalize(status_image) != reference::normalize(image)
                {
                    // The spec names a new image; the status still describes the old one until
                    // the kubelet's next sync pulls the new image.
                    let pulling = log.latest(|e| {
                        e.container.as_deref() == Some(c)
                            && e.reason == "Pulling"
                            && mentions_image(e, image)
                    });
                    a.pulled = Step::new(Active)
                        .reason(if pulling.is_some() {
                            "Pulling"
                        } else {
                            "ImageChanged"
                        })
                        .message(Some(format!(
                            "the image changed to {image}; the kubelet pulls it on its next sync"
                        )))
                        .field(spec_path, image)
                        .event(ctx.event(pulling));
                    return a;
                }
                let ev = log.latest(|e| {
                    e.container.as_deref() == Some(c)
                        && matches!(
                            e.reason.as_str(),
                            "BackOff" | "Failed" | "InspectFailed" | "ErrImageNeverPull"
                        )
                        && e.message != "Error: ImagePullBackOff"
                        && e.message != "Error: ErrImagePull"
                        && e.message != format!("Error: {waiting_reason}")
                });
                // Before 1.32 the waiting message carries no registry error; the event does.
                sym.event_message = log
                    .latest(|e| {
                        e.container.as_deref() == Some(c)
                            && e.reason == "Failed"
                            && e.message.starts_with("Failed to pull image")
                    })
                    .map(|e| e.message.as_str());
                a.pulled = stuck
                    .field(spec_path, image)
                    .event(ctx.event(ev))
                    .diagnosis(diagnose::diagnose(&sym));
                if matches!(
                    kind,
                    ReasonKind::ImagePullBackOff | ReasonKind::ErrImagePull
                ) {
                    a.retry = image_retry(ctx, c, image);
                }
            }
            StageKind::Running => {
                a.pulled = pulled_done();
                a.created = created_done();
                let mut step = stuck;
                if let Some(t) = cs.and_then(last_terminated) {
                    let term = Termination::from_state(t);
                    step = step
                        .field(format!("{base}.lastState.terminated.reason"), &term.reason)
                        .field(
                            format!("{base}.lastState.terminated.exitCode"),
                            term.exit_code,
                        );
                    if kind == ReasonKind::CrashLoopBackOff
                        && let (Some(finished), Some(backoff)) = (
                            t.finished_at.as_ref().map(|f| f.0),
                            message.as_deref().and_then(crash_backoff),
                        )
                        && let Ok(at) = finished.checked_add(backoff)
                    {
                        let secs = u64::try_from(backoff.as_secs()).unwrap_or(0);
                        a.retry = Some(Retry {
                            kind: RetryKind::CrashLoop,
                            container: c.to_owned(),
                            at,
                            backoff_seconds: secs,
                            basis: format!(
                                "lastState.terminated.finishedAt + the {} back-off in the \
                                 waiting message",
                                duration::format_go_duration(secs)
                            ),
                        });
                    }
                }
                a.running = step
                    .event(ctx.event(log.latest_for(c, &["BackOff", "Failed", "Killing"])))
                    .diagnosis(diagnose::diagnose(&sym));
            }
            _ => {
                a.pulled = pulled_done();
                let ev = log.latest_for(c, &["Failed"]);
                sym.event_message = ev.map(|e| e.message.as_str());
                a.created = stuck
                    .event(ctx.event(ev))
                    .diagnosis(diagnose::diagnose(&sym));
            }
        }
        return a;
    }

    // ContainerCreating / PodInitializing / no status: refine with events.
    let pulling = log.latest(|e| {
        e.container.as_deref() == Some(c) && e.reason == "Pulling" && mentions_image(e, image)
    });
    let pull_finished = image_id.is_some()
        || match (pulled_event, pulling) {
            (Some(done), Some(start)) => done.last_seen >= start.last_seen,
            (Some(_), None) => true,
            _ => false,
        };
    let volume_problem = log.latest_pod_level(&[
        "FailedMount",
        "FailedAttachVolume",
        "FailedCreatePodSandBox",
    ]);
    let latest_progress = log.latest(|e| {
        matches!(
            e.reason.as_str(),
            "Pulling" | "Pulled" | "Created" | "Started"
        )
    });
    let blocked_before_pull = match (volume_problem, latest_progress) {
        (Some(v), Some(p)) => v.last_seen > p.last_seen,
        (Some(_), None) => true,
        _ => false,
    };
    if let Some(v) = volume_problem.filter(|_| blocked_before_pull && !pull_finished) {
        let mut sym = ctx.symptom(None, false, &v.reason);
        sym.event_message = Some(&v.message);
        a.pulled = Step::new(Pending)
            .reason("WaitingForVolumes")
            .message(Some("the kubelet mounts volumes before it pulls images"));
        a.created = Step::new(Stuck)
            .reason(v.reason.clone())
            .message(Some(v.message.clone()))
            .field(
                reason_field,
                if waiting_reason.is_empty() {
                    "ContainerCreating"
                } else {
                    waiting_reason
                },
            )
            .event(ctx.event(Some(v)))
            .diagnosis(diagnose::diagnose(&sym));
        return a;
    }
    if pull_finished {
        a.pulled = pulled_done();
        a.created = Step::new(Active)
            .reason(if waiting_reason.is_empty() {
                "ContainerCreating"
            } else {
                waiting_reason
            })
            .event(ctx.event(log.latest_for(c, &["Created"])));
    } else {
        let mut step = Step::new(Active)
            .reason(if pulling.is_some() {
                "Pulling"
            } else if waiting_reason.is_empty() {
                "ContainerCreating"
            } else {
                waiting_reason
            })
            .event(ctx.event(pulling));
        if !waiting_reason.is_empty() {
            step = step.field(reason_field, waiting_reason);
        }
        a.pulled = step;
    }
    a
}

/// Collapses an init container's steps into its one stage.
fn collapse(a: &Assessment) -> Step {
    let steps = a.steps();
    for bad in [StageState::Failed, StageState::Stuck] {
        if let Some((_, s)) = steps.iter().find(|(_, s)| s.state == bad) {
            return (*s).clone();
        }
    }
    if steps[..3].iter().all(|(_, s)| s.state == StageState::Done) {
        return a.running.clone();
    }
    steps
        .iter()
        .find(|(_, s)| s.state == StageState::Active)
        .map(|(_, s)| (*s).clone())
        .unwrap_or_else(|| Step::new(StageState::Pending))
}

fn find_condition<'a>(
    pod: &'a Pod,
    kind: &str,
) -> Option<(usize, &'a k8s_openapi::api::core::v1::PodCondition)> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .enumerate()
        .find(|(_, c)| c.type_ == kind)
}

fn stage(kind: StageKind, container: Option<&str>, step: Step) -> Stage {
    let (id, label) = match (kind, container) {
        (StageKind::Init, Some(c)) => (format!("init:{c}"), format!("Init: {c}")),
        _ => (kind.id().to_owned(), kind.label().to_owned()),
    };
    Stage {
        id,
        kind,
        label,
        container: container.map(str::to_owned),
        state: step.state,
        reason: step.reason,
        message: step.message,
        evidence: step.evidence,
    }
}

/// Builds the pipeline of `pod` from the namespace's `events` at time `now`.
pub fn build_pipeline(pod: &Pod, events: &[Event], now: Timestamp) -> PodPipeline {
    use StageState::*;
    let pod_events = events_for(pod, events);
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let containers = spec.map(|s| s.containers.as_slice()).unwrap_or_default();
    let inits = spec
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or_default();
    let ctx = Ctx {
        pod,
        namespace,
        name,
        log: EventLog {
            events: &pod_events,
        },
        now,
        restart_policy: spec
            .and_then(|s| s.restart_policy.as_deref())
            .unwrap_or("Always"),
        multi_container: containers.len() + inits.len() > 1,
    };
    let row = print_pod(pod);
    let mut stages = Vec::new();
    let mut diagnoses: Vec<Option<Diagnosis>> = Vec::new();
    let mut retries: Vec<Retry> = Vec::new();
    let mut views = Vec::new();

    // Applied.
    let created_at = pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let mut applied = Step::new(Done);
    if let Some(t) = created_at {
        applied = applied.field("metadata.creationTimestamp", t);
    }
    stages.push(stage(StageKind::Applied, None, applied));
    diagnoses.push(None);

    // Scheduled.
    let node = spec
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty());
    let sched_cond = find_condition(pod, "PodScheduled");
    let scheduled = node.is_some() || sched_cond.is_some_and(|(_, c)| c.status == "True");
    let failed_scheduling = ctx.log.latest_pod_level(&["FailedScheduling"]);
    let sched_step = if scheduled {
        let mut s = Step::new(Done).event(ctx.event(ctx.log.latest_pod_level(&["Scheduled"])));
        if let Some(n) = &node {
            s = s.field("spec.nodeName", n);
        }
        s
    } else if let Some((i, c)) = sched_cond.filter(|(_, c)| {
        c.status == "False"
            && matches!(
                c.reason.as_deref(),
                Some("Unschedulable" | "SchedulingGated")
            )
    }) {
        let reason = c.reason.clone().unwrap_or_default();
        let message = c
            .message
            .clone()
            .or_else(|| failed_scheduling.map(|e| e.message.clone()));
        let claim_event = claims::claim_event(pod, events);
        let mut sym = ctx.symptom(None, false, &reason);
        sym.message = message.as_deref();
        sym.claim_event = claim_event.as_deref();
        Step::new(Stuck)
            .reason(reason.clone())
            .message(message.clone())
            .field(format!("status.conditions[{i}].reason"), &reason)
            .event(ctx.event(failed_scheduling))
            .diagnosis(diagnose::diagnose(&sym))
    } else if let Some(e) = failed_scheduling {
        let claim_event = claims::claim_event(pod, events);
        let mut sym = ctx.symptom(None, false, "Unschedulable");
        sym.message = Some(&e.message);
        sym.claim_event = claim_event.as_deref();
        Step::new(Stuck)
            .reason("Unschedulable")
            .message(Some(e.message.clone()))
            .event(ctx.event(Some(e)))
            .diagnosis(diagnose::diagnose(&sym))
    } else {
        Step::new(Active).reason("WaitingForScheduler")
    };
    diagnoses.push(sched_step.diagnosis.clone());
    stages.push(stage(StageKind::Scheduled, None, sched_step));

    // Init containers, in order.
    let initialized = find_condition(pod, "Initialized").is_some_and(|(_, c)| c.status == "True");
    let init_statuses = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or_default();
    let mut gate = scheduled;
    for spec_c in inits {
        let st = init_statuses
            .iter()
            .enumerate()
            .find(|(_, s)| s.name == spec_c.name);
        let role = if spec_c.restart_policy.as_deref() == Some("Always") {
            Role::Sidecar
        } else {
            Role::Init
        };
        let a = assess(&ctx, role, spec_c, st, gate);
        let mut step = collapse(&a);
        if role == Role::Sidecar && st.is_some_and(|(_, s)| s.started == Some(true)) {
            step = Step::new(Done).field(
                format!(
                    "status.initContainerStatuses[{}].started",
                    st.map_or(0, |(i, _)| i)
                ),
                true,
            );
        }
        if initialized && step.state != Done && step.state != Stuck && step.state != Failed {
            step = Step::new(Done);
        }
        gate = gate && step.state == Done;
        if let Some(r) = &a.retry {
            retries.push(r.clone());
        }
        views.push(ContainerView {
            name: spec_c.name.clone(),
            init: true,
            image: spec_c.image.clone().unwrap_or_default(),
            stage: StageKind::Init,
            state: step.state,
            reason: step.reason.clone(),
            ready: st.is_some_and(|(_, s)| s.ready),
            restart_count: st.map_or(0, |(_, s)| u32::try_from(s.restart_count).unwrap_or(0)),
        });
        diagnoses.push(step.diagnosis.clone());
        stages.push(stage(StageKind::Init, Some(&spec_c.name), step));
    }
    let app_gate = scheduled && (gate || initialized);

    // App containers.
    let statuses = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let assessments: Vec<(&Container, Assessment)> = containers
        .iter()
        .map(|c| {
            let st = statuses.iter().enumerate().find(|(_, s)| s.name == c.name);
            (c, assess(&ctx, Role::App, c, st, app_gate))
        })
        .collect();
    for (c, a) in &assessments {
        let st = statuses.iter().find(|s| s.name == c.name);
        let (kind, step) = a.current();
        views.push(ContainerView {
            name: c.name.clone(),
            init: false,
            image: c.image.clone().unwrap_or_default(),
            stage: kind,
            state: step.state,
            reason: step.reason.clone(),
            ready: st.is_some_and(|s| s.ready),
            restart_count: st.map_or(0, |s| u32::try_from(s.restart_count).unwrap_or(0)),
        });
        if let Some(r) = &a.retry {
            retries.push(r.clone());
        }
    }
    for kind in [
        StageKind::ImagePulled,
        StageKind::ContainerCreated,
        StageKind::Running,
        StageKind::Ready,
    ] {
        let pick = |a: &Assessment| -> Step {
            match kind {
                StageKind::ImagePulled => a.pulled.clone(),
                StageKind::ContainerCreated => a.created.clone(),
                StageKind::Running => a.running.clone(),
                _ => a.ready.clone(),
            }
        };
        let mut worst: Option<(&str, Step)> = None;
        for (c, a) in &assessments {
            let s = pick(a);
            if worst
                .as_ref()
                .is_none_or(|(_, w)| s.state.rank() > w.state.rank())
            {
                worst = Some((c.name.as_str(), s));
            }
        }
        let (container, mut step) = match worst {
            Some((c, s)) => (Some(c), s),
            None => (None, Step::new(if app_gate { Done } else { Pending })),
        };
        if kind == StageKind::Ready
            && let Some((i, cond)) = find_condition(pod, "Ready")
        {
            if cond.status == "True" {
                step = Step::new(Done).field(format!("status.conditions[{i}].status"), "True");
            } else if step.state == Done {
                // Every container is ready but the pod is not: readiness gates or a lagging
                // status update.
                step = Step::new(Active)
                    .reason(cond.reason.clone().unwrap_or_else(|| "NotReady".into()))
                    .message(cond.message.clone())
                    .field(format!("status.conditions[{i}].status"), &cond.status);
            }
        }
        // Pod-level failure (evicted, deadline exceeded) overrides what containers say.
        if kind == StageKind::Running
            && status.and_then(|s| s.phase.as_deref()) == Some("Failed")
            && let Some(reason) = status
                .and_then(|s| s.reason.clone())
                .filter(|r| !r.is_empty())
        {
            let message = status.and_then(|s| s.message.clone());
            let mut sym = ctx.symptom(None, false, &reason);
            sym.message = message.as_deref();
            step = Step::new(Failed)
                .reason(reason.clone())
                .message(message.clone())
                .field("status.reason", &reason)
                .diagnosis(diagnose::diagnose(&sym));
        }
        let show_container = matches!(step.state, Stuck | Failed | Active) && containers.len() > 1;
        diagnoses.push(step.diagnosis.clone());
        stages.push(stage(kind, container.filter(|_| show_container), step));
    }

    let first_bad = stages
        .iter()
        .position(|s| matches!(s.state, Stuck | Failed));
    let diagnosis = first_bad.and_then(|i| diagnoses.get(i).cloned().flatten());
    let next_retry = diagnosis
        .as_ref()
        .and_then(|d| {
            retries
                .iter()
                .find(|r| Some(&r.container) == d.container.as_ref())
        })
        .or(retries.first())
        .cloned();

    PodPipeline {
        namespace: namespace.to_owned(),
        pod: name.to_owned(),
        uid: pod.metadata.uid.clone().unwrap_or_default(),
        phase: status.and_then(|s| s.phase.clone()).unwrap_or_default(),
        status: row.status.clone(),
        ready: row.ready.clone(),
        // kubectl sums restart counts as a Go int; a negative sum (no kubelet writes a negative
        // restartCount) shows as 0 here.
        restarts: u32::try_from(row.restarts).unwrap_or(0),
        restarts_text: row.restarts_text(now),
        terminating: pod.metadata.deletion_timestamp.is_some(),
        node,
        created_at,
        owner: None,
        stages,
        containers: views,
        diagnosis,
        next_retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_backoff_doubles_from_ten_seconds_to_five_minutes() {
        let steps: Vec<u64> = (1..=8).map(image_backoff_step).collect();
        assert_eq!(steps, [10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(image_backoff_step(0), 10, "no count means the first window");
        assert_eq!(
            image_backoff_step(u32::MAX),
            300,
            "huge counts must not overflow"
        );
    }

    #[test]
    fn crash_backoff_reads_the_kubelet_message() {
        let msg = "back-off 1m20s restarting failed container=greeter pod=greeter_kq(1234)";
        assert_eq!(crash_backoff(msg), Some(SignedDuration::from_secs(80)));
        assert_eq!(crash_backoff("something else"), None);
    }
}
