//! The live mission session: watch the namespace, push what changed.
//!
//! [`run_session`] watches the pods and events of the mission namespace with kube-runtime's
//! watcher (through [`merge_watch_streams`]), feeds a [`PipelineTracker`] and pushes
//! [`SessionUpdate`]s to a sink, in this order for each watch item:
//!
//! 1. `Pipeline` for every [`crate::pipeline::PipelineChange`];
//! 2. `Events`, the namespace's whole events table (it is short), when it changed;
//!    then `Workloads`, the namespace's workloads with their own stage and pods, when they
//!    changed (the Deployments, ReplicaSets, StatefulSets, DaemonSets and Jobs are watched too);
//!    then `Graph`, the namespace as one picture ([`crate::graph`]), when it changed (the
//!    ConfigMaps, Secrets, claims, ServiceAccounts, quotas, limit ranges and CronJobs are
//!    watched for it; a kind the credentials cannot read is left out of the picture and does
//!    not end the session);
//! 3. `Objectives`, re-evaluated on the tracker's state, when any result changed;
//! 4. `Solved`, once, when every objective is met: the [`SolveRecorder`] records it first, so the
//!    progress in the update is the stored one, and `next` is the mission to offer next.
//!
//! Objectives are evaluated only from what the watch reported, never by polling the API. A timed
//! objective ("stays up for 30 s") reports `waiting` while it counts; while any objective waits,
//! the session re-evaluates every [`SessionConfig::tick`] against [`SessionConfig::clock`] (the
//! cluster's clock, which runs faster than real time on a sped-up embedded cluster).
//!
//! Connection handling: the session starts `Connected` (the caller just started the mission on
//! this client). When a watch fails, the failure is classified: credentials or permissions
//! problems (`unauthorized`, `forbidden`, a rejected certificate, …) end the session with
//! `Lost` at once, since retrying cannot help; anything else is retried on the
//! [`ReconnectPolicy`] schedule, announced as `Reconnecting { attempt, retryAt }`, until the
//! policy gives up (`Lost`). The first watch item after a failure means the watch is back
//! (`Connected`); the pod watch re-lists on reconnect, so pods deleted meanwhile disappear.
//! A watch closed by the server or expired (`410 Gone`) is routine: the watcher re-lists or
//! resumes by itself, and the learner sees nothing.
//!
//! Cancel a session by dropping its future (abort the task or `select!` it against a signal).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, future};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::runtime::watcher::{self, watcher};

use crate::connect::{ConnectError, ReconnectPolicy, ReconnectState};
use crate::debrief::{BrokenFinding, DebriefInput, PersonalDebrief};
use crate::diagnose::{self, DiagnosisGate};
use crate::graph::objects::{ObjectInput, watch_objects};
use crate::graph::scheduling::{read_nodes_and_pods, scheduling_view};
use crate::graph::{GraphSources, SchedulingSource, SchedulingView, WorkloadGraph, build_graph};
use crate::ipc::{
    ClusterClock, ConnectionState, ErrorKind, EventRow, MissionSummary, SessionUpdate, UiError,
};
use crate::mission::reactions::{self, Investigated, Nudge};
use crate::mission::{
    Check, Mission, ObjectiveResult, ObjectiveStatus, Snapshot, all_met, evaluate_session,
    objectives::security,
};
use crate::pipeline::security_facts::{self, SharedSecurityFacts};
use crate::pipeline::service_http::{self, HttpResults, SharedHttpResults};
use crate::pipeline::{
    PipelineTracker, ServiceInput, TrackerInput, WatchInput, WorkloadView, merge_watch_streams,
    watch_services, watch_workloads,
};
use crate::progress::{MissionStatus, Progress, ProgressError, ProgressStore};
use crate::session::ClusterKind;
use crate::session::class::{ClassReporter, LAST_REPORT_WAIT, Outage, keep_reporting};

/// Records a solve. The desktop app implements it over its store; [`StoreRecorder`] does it for
/// any [`ProgressStore`].
pub trait SolveRecorder: Send {
    /// The mission was solved at `now`: record it and answer the whole progress afterwards.
    fn record_solved(
        &mut self,
        mission_id: &str,
        now: Timestamp,
    ) -> Result<Progress, ProgressError>;

    /// Records the solve with the learner's personal debrief, whose `hints_used` is set from
    /// the stored progress. The default records the solve alone (the debrief is not kept).
    fn record_solved_with_debrief(
        &mut self,
        mission_id: &str,
        now: Timestamp,
        debrief: &mut PersonalDebrief,
    ) -> Result<Progress, ProgressError> {
        let progress = self.record_solved(mission_id, now)?;
        debrief.hints_used = progress.mission(mission_id).hints_used;
        Ok(progress)
    }
}

/// A [`SolveRecorder`] that loads, updates and saves a [`ProgressStore`].
#[derive(Debug, Clone)]
pub struct StoreRecorder<S> {
    pub store: S,
}

impl<S: ProgressStore + Send> SolveRecorder for StoreRecorder<S> {
    fn record_solved(
        &mut self,
        mission_id: &str,
        now: Timestamp,
    ) -> Result<Progress, ProgressError> {
        // One locked load-change-save: a solve recorded meanwhile by the app or another `kq`
        // is merged, not overwritten.
        Ok(self
            .store
            .update(now, &mut |p| {
                p.solve(mission_id, now);
            })?
            .progress)
    }

    fn record_solved_with_debrief(
        &mut self,
        mission_id: &str,
        now: Timestamp,
        debrief: &mut PersonalDebrief,
    ) -> Result<Progress, ProgressError> {
        Ok(self
            .store
            .update(now, &mut |p| {
                p.solve(mission_id, now);
                debrief.hints_used = p.mission(mission_id).hints_used;
                p.debriefs.insert(mission_id.to_owned(), debrief.clone());
            })?
            .progress)
    }
}

/// The error a learner sees when a solve could not be stored: what was not saved, where (the
/// path is in the store's error), and the next step.
pub fn unsaved_solve(e: &ProgressError) -> UiError {
    UiError {
        kind: ErrorKind::Progress,
        message: format!(
            "Your solve was not saved: {e}. Make sure that folder exists, is writable and has free \
             space (or point KubeQuest at another progress file), then solve the mission again \
             to record it."
        ),
    }
}

/// Records the solve of `id` at `now` and builds the `Solved` update. A store that cannot be
/// written must not hide the success from the learner, nor pretend it was kept: the progress
/// shown is then the in-memory one, and `progress_error` says that it was not saved, where, and
/// what to do.
fn solved_update(
    recorder: &mut dyn SolveRecorder,
    id: &str,
    debrief_html: String,
    mut debrief: Option<PersonalDebrief>,
    missions: &[MissionSummary],
    now: Timestamp,
) -> SessionUpdate {
    let recorded = match debrief.as_mut() {
        Some(d) => recorder.record_solved_with_debrief(id, now, d),
        None => recorder.record_solved(id, now),
    };
    let (progress, progress_error) = match recorded {
        Ok(p) => (p, None),
        Err(e) => {
            let mut p = Progress::default();
            p.solve(id, now);
            (p, Some(unsaved_solve(&e)))
        }
    };
    let next = next_mission(missions, id, &progress);
    SessionUpdate::Solved {
        debrief_html,
        debrief,
        progress: progress.mission(id),
        next,
        progress_error,
    }
}

/// How a session runs.
#[derive(Clone)]
pub struct SessionConfig {
    /// The reconnect schedule.
    pub reconnect: ReconnectPolicy,
    /// The cluster's clock, for timed objectives (default: the wall clock; pass the embedded
    /// cluster's virtual clock when it runs sped up).
    pub clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    /// How often to re-evaluate while a timed objective is counting.
    pub tick: Duration,
    /// The curriculum in order, to pick the next mission after a solve.
    pub missions: Vec<MissionSummary>,
    /// End the session right after `Solved` (the CLI); the desktop app keeps watching.
    pub stop_when_solved: bool,
    /// The cluster the session watches: on the embedded one, the graph's scheduling tables
    /// are the embedded scheduler's own filters; elsewhere they are read from the FitError.
    pub cluster: ClusterKind,
    /// The cluster's audit log: on the embedded cluster, every request its API server answered
    /// (the learner's kubectl included); on a real cluster, a fresh log per session holding
    /// what the app did on the learner's behalf (the editor's Apply and Delete, Run in
    /// container). Reacting hints and the personal debrief read it.
    pub audit: kq_kube::audit::AuditLog,
    /// How many hints the learner has revealed in this mission; the app sends each reveal, so
    /// the reacting hints and the diagnoses' unlocking follow it (default: none, never changes).
    /// Send a reveal after saving it: a class report follows it.
    pub hints_revealed: tokio::sync::watch::Receiver<u32>,
    /// In a class, where the learner's progress is reported (at the start, on each hint, on
    /// the solve and every 30 s; see [`super::class`]). `None` (solo play) reports nothing.
    pub class: Option<ClassReporter>,
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("reconnect", &self.reconnect)
            .field("tick", &self.tick)
            .field("missions", &self.missions.len())
            .field("stop_when_solved", &self.stop_when_solved)
            .field("cluster", &self.cluster)
            .field("audit", &self.audit)
            .field("hints_revealed", &*self.hints_revealed.borrow())
            .field("class", &self.class)
            .finish_non_exhaustive()
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            reconnect: ReconnectPolicy::default(),
            clock: Arc::new(Timestamp::now),
            tick: Duration::from_secs(1),
            missions: Vec::new(),
            stop_when_solved: false,
            cluster: ClusterKind::Real,
            audit: kq_kube::audit::AuditLog::default(),
            hints_revealed: tokio::sync::watch::channel(0).1,
            class: None,
        }
    }
}

/// How a session ended (a session that is dropped does not end; it is cancelled).
#[derive(Debug, Clone, PartialEq)]
pub enum SessionOutcome {
    /// Every objective was met and `stop_when_solved` was set.
    Solved,
    /// The connection was lost for good (the `Lost` update was sent).
    Lost(crate::connect::ConnectFailure),
}

/// The mission to offer after solving `current`: the first later mission (in curriculum order)
/// that is open and not solved yet, else the first such mission anywhere.
pub fn next_mission(
    missions: &[MissionSummary],
    current: &str,
    progress: &Progress,
) -> Option<MissionSummary> {
    let open = |m: &&MissionSummary| {
        m.id != current
            && progress.mission(&m.id).status != MissionStatus::Solved
            && progress.is_unlocked(&m.all_requires())
    };
    let pos = missions.iter().position(|m| m.id == current);
    let later = pos.map_or(&missions[..0], |p| &missions[p + 1..]);
    later
        .iter()
        .find(open)
        .or_else(|| missions.iter().find(open))
        .cloned()
}

/// The events table as `kubectl describe` shows it (see [`crate::pipeline::event_rows`]).
pub fn event_rows(events: &[Event]) -> Vec<EventRow> {
    crate::pipeline::event_rows(events)
}

/// Failures retrying cannot fix.
fn is_fatal(e: &ConnectError) -> bool {
    matches!(
        e,
        ConnectError::Unauthorized { .. }
            | ConnectError::Forbidden { .. }
            | ConnectError::TlsRejected { .. }
            | ConnectError::VersionSkew { .. }
            | ConnectError::KubeconfigUnreadable { .. }
            | ConnectError::UnknownContext { .. }
            | ConnectError::NotLocalRefused { .. }
    )
}

/// A cheap jitter in `[0, 1)` from the sub-second clock (no RNG dependency for this).
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1000) / 1000.0
}

/// An expired watch (`410 Gone`) is not a connection problem: the watcher re-lists by itself.
fn not_expired<K>(item: &Result<watcher::Event<K>, watcher::Error>) -> future::Ready<bool> {
    future::ready(!matches!(item, Err(watcher::Error::WatchError(s)) if s.code == 410))
}

struct Driver<'a, F> {
    mission: &'a Mission,
    config: SessionConfig,
    recorder: &'a mut dyn SolveRecorder,
    sink: F,
    tracker: PipelineTracker,
    events: Vec<EventRow>,
    /// The workload views last sent, without ages.
    workloads: Vec<WorkloadView>,
    /// The graph last sent.
    graph: Option<WorkloadGraph>,
    /// The mission namespace.
    namespace: String,
    /// The cluster's nodes and pods, last read for the scheduling tables.
    cluster: Option<ClusterObjects>,
    /// Set while a pod waits for the scheduler, so the nodes and pods are read.
    scheduling_wanted: tokio::sync::watch::Sender<bool>,
    /// The watches that have delivered their first list (see [`first_list`]).
    listed: std::collections::BTreeSet<String>,
    /// When the first graph goes even if some watch has not listed yet.
    first_graph_by: tokio::time::Instant,
    results: Option<Vec<ObjectiveResult>>,
    solved: bool,
    /// For the personal debrief: what the session saw at its start and first saw stuck.
    debrief: DebriefFacts,
    /// The last answers of the `service-http` objectives' requests.
    http: SharedHttpResults,
    /// The last reads of quotas, claims, the namespace and permission reviews.
    security: SharedSecurityFacts,
    /// What the learner has done in this mission, from the audit log.
    investigated: Investigated,
    /// The last audit entry read (entries before the session started are not the learner's
    /// work on this mission: they include the app applying the broken state).
    audit_seq: u64,
    /// Hints revealed so far.
    hints: u32,
    /// The ids of the nudges last sent (`None` before the first).
    nudges: Option<Vec<String>>,
    /// The diagnoses' gates last sent (`None` before the first).
    gates: Option<Vec<DiagnosisGate>>,
    /// In a class: wakes the reporting task (a hint, the solve) with a new count.
    report_now: Option<tokio::sync::watch::Sender<u64>>,
}

/// What the personal debrief needs from the session's start.
struct DebriefFacts {
    /// On the cluster's clock.
    started_ms: i64,
    /// The audit log's last entry when the session started: the learner's entries follow.
    audit_from: u64,
    /// Each pod's first diagnosis.
    broken: Vec<BrokenFinding>,
    /// The mission's objects as first seen, by (kind, name).
    first_seen: BTreeMap<(String, String), serde_json::Value>,
}

/// The kinds whose objects the debrief compares (the ones the session's tracker holds whole).
const COMPARED_KINDS: [&str; 2] = ["Pod", "Service"];

/// The mission's objects the session watches, as they are now, by (kind, name), leaving out
/// those already in `known`.
fn watched_objects(
    tracker: &PipelineTracker,
    mission: &Mission,
    known: &BTreeMap<(String, String), serde_json::Value>,
) -> BTreeMap<(String, String), serde_json::Value> {
    let wanted = |kind: &str, name: &str| {
        !known.contains_key(&(kind.to_string(), name.to_string()))
            && mission
                .manifests
                .iter()
                .any(|m| m.kind == kind && m.name == name)
    };
    let mut out = BTreeMap::new();
    for p in tracker.pod_list().iter() {
        let name = p.metadata.name.clone().unwrap_or_default();
        if wanted("Pod", &name)
            && let Ok(v) = serde_json::to_value(p)
        {
            out.insert(("Pod".to_string(), name), v);
        }
    }
    for s in tracker.services().services() {
        let name = s.metadata.name.clone().unwrap_or_default();
        if wanted("Service", &name)
            && let Ok(v) = serde_json::to_value(&s)
        {
            out.insert(("Service".to_string(), name), v);
        }
    }
    out
}

/// How many first lists the session waits for before its first graph: the pods, the five
/// workload kinds, Services, EndpointSlices, and the seven kinds of
/// [`crate::graph::objects::ObjectKind`].
const LISTS_BEFORE_GRAPH: usize = 1 + 5 + 2 + 7;

/// How long the first graph waits for those lists at most.
const FIRST_GRAPH_WAIT: Duration = Duration::from_secs(2);

/// The watch a list comes from, when `input` is one (a refused kind counts: it will not list).
fn first_list(input: &TrackerInput) -> Option<String> {
    match input {
        TrackerInput::PodsListed(_) => Some("pods".into()),
        TrackerInput::WorkloadsListed(kind, _) => Some(format!("workloads:{kind:?}")),
        TrackerInput::Services(ServiceInput::ServicesListed(_)) => Some("services".into()),
        TrackerInput::Services(ServiceInput::SlicesListed(_)) => Some("slices".into()),
        TrackerInput::Objects(ObjectInput::Listed(kind, _) | ObjectInput::Unreadable(kind)) => {
            Some(format!("objects:{kind:?}"))
        }
        _ => None,
    }
}

/// Every Node and every pod of the cluster, as [`read_nodes_and_pods`] answers.
type ClusterObjects = (Vec<k8s_openapi::api::core::v1::Node>, Vec<Pod>);

/// How often the nodes and pods are read for the scheduling tables, at most.
const CLUSTER_READ_EVERY: Duration = Duration::from_secs(5);

/// Reads the cluster's nodes and pods while `wanted` is set, at most every
/// [`CLUSTER_READ_EVERY`], and sends each read to the session; it sleeps until it is set.
async fn read_cluster(
    client: kube::Client,
    mut wanted: tokio::sync::watch::Receiver<bool>,
    tx: tokio::sync::mpsc::Sender<ClusterObjects>,
) {
    loop {
        if wanted.wait_for(|w| *w).await.is_err() {
            return;
        }
        if let Some(read) = read_nodes_and_pods(&client).await
            && tx.send(read).await.is_err()
        {
            return;
        }
        tokio::time::sleep(CLUSTER_READ_EVERY).await;
    }
}

/// The task making the `service-http` requests; it ends with the session.
struct ProbeTask(tokio::task::JoinHandle<()>);

impl Drop for ProbeTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Asks every `service-http` objective's Service, again every [`service_http::PROBE_EVERY`].
async fn probe_services(
    client: kube::Client,
    namespace: String,
    checks: Vec<Check>,
    results: SharedHttpResults,
) {
    let probes: Vec<(String, Option<String>, String)> = checks
        .into_iter()
        .filter_map(|c| match c {
            Check::ServiceHttp {
                service,
                port,
                path,
                ..
            } => Some((service, port, path)),
            _ => None,
        })
        .collect();
    if probes.is_empty() {
        return;
    }
    loop {
        let mut fresh = HttpResults::default();
        for (service, port, path) in &probes {
            let outcome =
                service_http::probe(&client, &namespace, service, port.as_deref(), path).await;
            fresh.set(
                service_http::probe_key(service, port.as_deref(), path),
                outcome,
            );
        }
        match results.lock() {
            Ok(mut g) => *g = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
        tokio::time::sleep(service_http::PROBE_EVERY).await;
    }
}

impl<F: FnMut(SessionUpdate)> Driver<'_, F> {
    /// Feeds one input and pushes what changed. Returns true when the session should stop.
    fn feed(&mut self, input: TrackerInput) -> bool {
        if let Some(list) = first_list(&input) {
            self.listed.insert(list);
        }
        let events_may_change = matches!(
            input,
            TrackerInput::EventApplied(_)
                | TrackerInput::EventDeleted(_)
                | TrackerInput::PodsListed(_)
        );
        let now = (self.config.clock)();
        for change in self.tracker.apply(input, now) {
            if !self.solved {
                self.note_broken(&change);
            }
            (self.sink)(SessionUpdate::Pipeline { change });
        }
        let compared = self
            .mission
            .manifests
            .iter()
            .filter(|m| COMPARED_KINDS.contains(&m.kind.as_str()))
            .count();
        if !self.solved && self.debrief.first_seen.len() < compared {
            let seen = watched_objects(&self.tracker, self.mission, &self.debrief.first_seen);
            self.debrief.first_seen.extend(seen);
        }
        if events_may_change {
            // Only the current pods' events (and other objects'): a recreated pod starts clean.
            let rows = event_rows(&self.tracker.current_events());
            if rows != self.events {
                self.events = rows.clone();
                (self.sink)(SessionUpdate::Events { events: rows });
            }
        }
        let views = self.tracker.workload_views(now);
        let bare: Vec<WorkloadView> = views.iter().map(WorkloadView::without_ages).collect();
        self.send_graph(&views);
        if bare != self.workloads {
            self.workloads = bare;
            (self.sink)(SessionUpdate::Workloads { workloads: views });
        }
        let stop = self.evaluate(now);
        self.refresh_reactions();
        stop
    }

    /// Reads what the audit log recorded since the last read; re-evaluates the reactions when
    /// the learner did something new.
    fn audit_changed(&mut self) {
        let slice = self.config.audit.since(self.audit_seq);
        self.audit_seq = slice.last_seq;
        if self
            .investigated
            .record_all(&slice.entries, &self.namespace)
        {
            self.refresh_reactions();
        }
    }

    /// The learner revealed a hint.
    fn hints_changed(&mut self, hints: u32) {
        self.hints = hints;
        self.refresh_reactions();
        self.report();
    }

    /// Has the class told now (the reporting task reads the saved progress).
    fn report(&self) {
        if let Some(tx) = &self.report_now {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Sends the nudges that apply now and the diagnoses' gates, each when it changed.
    fn refresh_reactions(&mut self) {
        // Compared by id first: most watch items change nothing here, and rendering is not free.
        let applying: Vec<String> = if self.solved {
            Vec::new()
        } else {
            self.mission
                .reactions
                .iter()
                .filter(|r| r.applies(&self.investigated, self.hints))
                .map(|r| r.id.clone())
                .collect()
        };
        if self.nudges.as_ref() != Some(&applying) {
            let nudges: Vec<Nudge> =
                reactions::nudges(&self.mission.reactions, &self.investigated, self.hints)
                    .into_iter()
                    .filter(|n| applying.contains(&n.id))
                    .collect();
            self.nudges = Some(applying);
            (self.sink)(SessionUpdate::Nudges { nudges });
        }
        let mut gates: Vec<DiagnosisGate> = self
            .tracker
            .pipelines()
            .into_iter()
            .filter_map(|p| {
                let d = p.diagnosis.as_ref()?;
                Some(diagnose::gate(
                    &self.namespace,
                    diagnose::Subject::Pod(&p.pod),
                    d,
                    &self.investigated,
                    self.hints,
                ))
            })
            .collect();
        for w in &self.workloads {
            if let Some(d) = &w.diagnosis {
                gates.push(diagnose::gate(
                    &self.namespace,
                    diagnose::Subject::Workload {
                        resource: w.kind.resource(),
                        name: &w.name,
                    },
                    d,
                    &self.investigated,
                    self.hints,
                ));
            }
        }
        if self.gates.as_ref() != Some(&gates) {
            self.gates = Some(gates.clone());
            (self.sink)(SessionUpdate::Unlocks { gates });
        }
    }

    /// Rebuilds the graph and sends it when it changed (it holds nothing that moves with the
    /// clock, so an unchanged namespace sends nothing).
    fn send_graph(&mut self, views: &[WorkloadView]) {
        if !self.graph_may_start() {
            // Half a namespace (the Deployment before its Service) would make the layout
            // move as the rest arrives.
            return;
        }
        let pods = self.tracker.pod_list();
        let events = self.tracker.events();
        let pipelines = self.tracker.pipelines();
        let scheduling = self.scheduling_views(&pods, &events);
        let mut graph = build_graph(&GraphSources {
            namespace: &self.namespace,
            pods: &pods,
            events: &events,
            pipelines: &pipelines,
            workloads: self.tracker.workloads(),
            views,
            services: self.tracker.services(),
            objects: self.tracker.objects(),
        });
        graph.scheduling = scheduling;
        if self.graph.as_ref() != Some(&graph) {
            self.graph = Some(graph.clone());
            (self.sink)(SessionUpdate::Graph { graph });
        }
    }

    /// The scheduling table of each Pending pod the scheduler has refused (its latest
    /// `FailedScheduling` event), once the cluster's nodes and pods have been read.
    fn scheduling_views(&self, pods: &[Pod], events: &[Event]) -> Vec<SchedulingView> {
        let refused: Vec<(&Pod, String)> = pods
            .iter()
            .filter(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && p.spec
                        .as_ref()
                        .and_then(|s| s.node_name.as_deref())
                        .is_none()
                    && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending")
            })
            .filter_map(|p| {
                let latest = events
                    .iter()
                    .filter(|e| crate::pipeline::is_about(e, p))
                    .map(crate::pipeline::PodEvent::from_event)
                    .filter(|e| e.reason == "FailedScheduling")
                    .max_by_key(|e| (e.last_seen, e.first_seen))?;
                Some((p, latest.message))
            })
            .collect();
        let want = !refused.is_empty();
        self.scheduling_wanted
            .send_if_modified(|w| std::mem::replace(w, want) != want);
        let Some((nodes, all_pods)) = &self.cluster else {
            return Vec::new();
        };
        let source = match self.config.cluster {
            ClusterKind::Embedded => SchedulingSource::Filters,
            // A class's cluster may be a real one: its scheduler's own message is the source.
            ClusterKind::Real | ClusterKind::Classroom => SchedulingSource::FitError,
        };
        refused
            .into_iter()
            .map(|(p, message)| scheduling_view(p, nodes, all_pods, Some(&message), source))
            .collect()
    }

    /// A new read of the cluster's nodes and pods: the scheduling tables may have changed.
    fn cluster_read(&mut self, read: ClusterObjects) {
        self.cluster = Some(read);
        self.refresh_graph();
    }

    /// Rebuilds the graph from what the tracker holds and sends it if it changed.
    fn refresh_graph(&mut self) {
        let now = (self.config.clock)();
        let views = self.tracker.workload_views(now);
        self.send_graph(&views);
    }

    /// Whether the first graph may go: every watch has delivered its first list, or
    /// [`FIRST_GRAPH_WAIT`] has passed (a watch that keeps failing must not hide the graph).
    fn graph_may_start(&self) -> bool {
        self.graph.is_some()
            || self.listed.len() >= LISTS_BEFORE_GRAPH
            || tokio::time::Instant::now() >= self.first_graph_by
    }

    fn evaluate(&mut self, now: Timestamp) -> bool {
        let pods = self.tracker.pod_list();
        let events = self.tracker.events();
        let snap = Snapshot {
            pods: &pods,
            events: &events,
            now,
        };
        let http = match self.http.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let facts = match self.security.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let results = evaluate_session(
            &self.mission.objectives,
            &snap,
            self.tracker.workloads(),
            self.tracker.services(),
            &http,
            &facts,
        );
        if self.results.as_ref() == Some(&results) {
            return false;
        }
        let met = all_met(&results);
        self.results = Some(results.clone());
        (self.sink)(SessionUpdate::Objectives {
            results,
            all_met: met,
        });
        if met && !self.solved {
            self.solved = true;
            let debrief = self.personal_debrief(now);
            // The lesson's debrief with the learner's own commands in its commands section.
            let debrief_html = debrief.lesson_html();
            let update = solved_update(
                self.recorder,
                &self.mission.summary.id,
                debrief_html,
                Some(debrief),
                &self.config.missions,
                now,
            );
            (self.sink)(update);
            self.report();
            return self.config.stop_when_solved;
        }
        false
    }

    /// Keeps each pod's first diagnosis, for the debrief's "what was broken".
    fn note_broken(&mut self, change: &crate::pipeline::PipelineChange) {
        use crate::pipeline::PipelineChange;
        let (PipelineChange::Upserted { pipeline } | PipelineChange::Recreated { pipeline, .. }) =
            change
        else {
            return;
        };
        if self.debrief.broken.iter().any(|b| b.pod == pipeline.pod) {
            return;
        }
        let (Some(stage), Some(diagnosis)) = (pipeline.stuck_stage(), &pipeline.diagnosis) else {
            return;
        };
        self.debrief.broken.push(BrokenFinding {
            pod: pipeline.pod.clone(),
            stage: stage.label.clone(),
            reason: diagnosis.reason.clone(),
            title: diagnosis.title.clone(),
        });
    }

    /// The learner's personal debrief at the solve (`now`).
    fn personal_debrief(&self, now: Timestamp) -> PersonalDebrief {
        let entries = self.config.audit.since(self.debrief.audit_from).entries;
        let at_solve = watched_objects(&self.tracker, self.mission, &BTreeMap::new());
        PersonalDebrief::build(DebriefInput {
            mission: self.mission,
            broken: &self.debrief.broken,
            first_seen: &self.debrief.first_seen,
            at_solve: &at_solve,
            entries: &entries,
            started_ms: self.debrief.started_ms,
            solved_ms: now.as_millisecond(),
            hints_used: 0,
        })
    }

    fn waiting(&self) -> bool {
        self.results.as_ref().is_some_and(|r| {
            r.iter().any(|o| o.status == ObjectiveStatus::Waiting)
                // A `service-http` objective changes with answers no watch reports: look
                // again on every tick until it is met.
                || self.mission.objectives.iter().zip(r).any(|(obj, res)| {
                    (matches!(obj.check, Check::ServiceHttp { .. })
                        || security::reads_facts(&obj.check))
                        && res.status != ObjectiveStatus::Met
                })
        })
    }

    fn connection(&mut self, state: ConnectionState) {
        (self.sink)(SessionUpdate::Connection { state });
    }
}

/// Watches `namespace` for `mission` and pushes updates to `sink` until the mission is solved
/// (with `stop_when_solved`), the connection is lost for good, or the future is dropped.
pub async fn run_session<F>(
    client: kube::Client,
    mission: &Mission,
    namespace: &str,
    config: SessionConfig,
    recorder: &mut dyn SolveRecorder,
    sink: F,
) -> SessionOutcome
where
    F: FnMut(SessionUpdate) + Send,
{
    let pods: kube::Api<Pod> = kube::Api::namespaced(client.clone(), namespace);
    let events: kube::Api<Event> = kube::Api::namespaced(client.clone(), namespace);
    // No kube-runtime back-off: the session waits on its own schedule (by not polling) so it can
    // tell the learner when the next attempt is.
    let pods = watcher(pods, watcher::Config::default()).filter(not_expired);
    let events = watcher(events, watcher::Config::default()).filter(not_expired);
    // The workloads that own the pods (their ReplicaSets, revisions and own problems).
    let workloads = watch_workloads(client.clone(), namespace);
    // The Services and EndpointSlices the service objectives read.
    let http: SharedHttpResults = Default::default();
    let _probes = ProbeTask(tokio::spawn(probe_services(
        client.clone(),
        namespace.to_string(),
        mission.objectives.iter().map(|o| o.check.clone()).collect(),
        http.clone(),
    )));
    // Quotas, claims, the namespace and permission reviews for the security objectives.
    let security: SharedSecurityFacts = Default::default();
    let _reads = ProbeTask(tokio::spawn(security_facts::keep_reading(
        client.clone(),
        namespace.to_string(),
        security::facts_wanted(mission.objectives.iter().map(|o| &o.check)),
        security.clone(),
    )));
    // What pods use and what limits them, for the graph (a kind that cannot be read is left
    // out, not a lost connection).
    let objects = watch_objects(client.clone(), namespace);
    // The cluster's nodes and pods, for the scheduling tables of refused pods.
    let (scheduling_wanted, wanted_rx) = tokio::sync::watch::channel(false);
    let (cluster_tx, mut cluster_rx) = tokio::sync::mpsc::channel(1);
    let _cluster_reads = ProbeTask(tokio::spawn(read_cluster(
        client.clone(),
        wanted_rx,
        cluster_tx,
    )));
    let services = watch_services(client, namespace);
    let mut stream = std::pin::pin!(futures::stream::select(
        futures::stream::select(merge_watch_streams(pods, events), workloads),
        futures::stream::select(services, objects)
    ));

    let debrief = DebriefFacts {
        started_ms: (config.clock)().as_millisecond(),
        audit_from: config.audit.last_seq(),
        broken: Vec::new(),
        first_seen: BTreeMap::new(),
    };
    let first_graph_by = tokio::time::Instant::now() + FIRST_GRAPH_WAIT;
    let policy = config.reconnect;
    let tick = config.tick;
    // The audit log wakes the session when it records something (no polling); what came before
    // the session (the app applying the broken state) is not the learner's.
    let audit_seq = config.audit.last_seq();
    let (audit_tx, mut audit_rx) = tokio::sync::watch::channel(audit_seq);
    config.audit.set_listener(move |seq| {
        audit_tx.send_replace(seq);
    });
    let mut hints_rx = config.hints_revealed.clone();
    let hints = *hints_rx.borrow_and_update();
    // In a class: the reports, beside the session (the first one now: the mission started).
    let (report_now, report_rx) = tokio::sync::watch::channel(0_u64);
    let _reports = config.class.clone().map(|reporter| {
        ProbeTask(tokio::spawn(keep_reporting(
            reporter,
            mission.summary.id.clone(),
            report_rx,
        )))
    });
    let report_now = config.class.is_some().then_some(report_now);
    let mut driver = Driver {
        mission,
        config,
        recorder,
        sink,
        tracker: PipelineTracker::new(),
        events: Vec::new(),
        workloads: Vec::new(),
        graph: None,
        namespace: namespace.to_owned(),
        cluster: None,
        scheduling_wanted,
        listed: Default::default(),
        first_graph_by,
        results: None,
        solved: false,
        debrief,
        http,
        security,
        investigated: Investigated::default(),
        audit_seq,
        hints,
        nudges: None,
        gates: None,
        report_now,
    };
    let mut reconnect = ReconnectState::default();
    policy.on_connected(&mut reconnect, Timestamp::now());
    let mut connected = true;
    // Both watches fail in one outage; count attempts on the one that failed first.
    let mut outage_stream: Option<&'static str> = None;
    driver.connection(ConnectionState::Connected);
    // What applies before the learner did anything (a rule with an empty `done`).
    driver.refresh_reactions();

    loop {
        let waiting = driver.waiting();
        let item = tokio::select! {
            item = stream.next() => item,
            () = tokio::time::sleep(tick), if waiting => {
                if driver.feed(TrackerInput::Tick) {
                    return solved_and_reported(driver.config.class.clone(), &mission.summary.id).await;
                }
                continue;
            }
            Some(read) = cluster_rx.recv() => {
                driver.cluster_read(read);
                continue;
            }
            Ok(()) = audit_rx.changed() => {
                driver.audit_changed();
                continue;
            }
            Ok(()) = hints_rx.changed() => {
                let hints = *hints_rx.borrow_and_update();
                driver.hints_changed(hints);
                continue;
            }
            () = tokio::time::sleep_until(first_graph_by), if driver.graph.is_none() => {
                driver.refresh_graph();
                continue;
            }
        };
        let Some(item) = item else {
            let failure = ConnectError::Other {
                detail: "the watch ended unexpectedly".into(),
            }
            .to_failure();
            driver.connection(ConnectionState::Lost {
                failure: failure.clone(),
            });
            return SessionOutcome::Lost(failure);
        };
        match item {
            WatchInput::Input(input) => {
                if !connected {
                    connected = true;
                    outage_stream = None;
                    policy.on_connected(&mut reconnect, Timestamp::now());
                    driver.connection(ConnectionState::Connected);
                }
                if driver.feed(input) {
                    return solved_and_reported(driver.config.class.clone(), &mission.summary.id)
                        .await;
                }
            }
            WatchInput::Failed {
                stream: which,
                error,
            } => {
                if is_fatal(&error) {
                    let failure = error.to_failure();
                    driver.connection(ConnectionState::Lost {
                        failure: failure.clone(),
                    });
                    return SessionOutcome::Lost(failure);
                }
                if outage_stream.is_some_and(|s| s != which) {
                    // The same outage seen by the other watch: not another attempt, but do not
                    // let that watch retry in a tight loop either.
                    tokio::time::sleep(policy.initial.unsigned_abs()).await;
                    continue;
                }
                outage_stream = Some(which);
                connected = false;
                let now = Timestamp::now();
                let Some(retry_at) = policy.on_failure(&mut reconnect, now, jitter()) else {
                    let failure = error.to_failure();
                    driver.connection(ConnectionState::Lost {
                        failure: failure.clone(),
                    });
                    return SessionOutcome::Lost(failure);
                };
                driver.connection(ConnectionState::Reconnecting {
                    attempt: reconnect.failures,
                    message: error.to_string(),
                    retry_at: retry_at.to_string(),
                });
                let wait = retry_at.duration_since(now).unsigned_abs();
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// The session ends with the solve: in a class the solve is reported first (the reporting task
/// ends with the session, so it is not left to it), waiting at most [`LAST_REPORT_WAIT`]; a
/// report that fails is told, and the solve stays saved locally.
async fn solved_and_reported(class: Option<ClassReporter>, mission: &str) -> SessionOutcome {
    if let Some(reporter) = class {
        let report = reporter.report(Some(mission));
        let result = tokio::time::timeout(LAST_REPORT_WAIT, report)
            .await
            .unwrap_or_else(|_| Err("the class server did not answer in time".into()));
        Outage::default().note(&reporter, result);
    }
    SessionOutcome::Solved
}

/// Sends [`SessionUpdate::Clock`] with `read()` to `sink` every `every` (the first one after a
/// full period: the session's start already carries the clock), until the future is dropped.
/// Run it next to [`run_session`] (`select!` the two) so the UI's estimate of the cluster's time
/// stays close even when the two clocks drift.
pub async fn resync_clock<R, F>(every: Duration, read: R, mut sink: F)
where
    R: Fn() -> ClusterClock,
    F: FnMut(SessionUpdate),
{
    let every = every.max(Duration::from_millis(1));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    // After a suspend, one update is enough: there is nothing to catch up on.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        sink(SessionUpdate::Clock { clock: read() });
    }
}

/// Keeps rows unique by their identity, for callers that print only new events.
pub fn new_event_rows<'a>(
    seen: &mut BTreeMap<(String, String, String, String), u32>,
    rows: &'a [EventRow],
) -> Vec<&'a EventRow> {
    rows.iter()
        .filter(|r| {
            let key = (
                r.object.clone(),
                r.reason.clone(),
                r.message.clone(),
                r.container.clone().unwrap_or_default(),
            );
            let prev = seen.insert(key, r.count);
            prev != Some(r.count)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_solve_that_cannot_be_saved_says_so_with_the_path_instead_of_passing_as_saved() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A file where the progress folder should be: no user (not even root) can write there.
        let blocker = dir.path().join("not-a-folder");
        std::fs::write(&blocker, "").expect("write");
        let file = blocker.join("progress.json");
        let mut recorder = StoreRecorder {
            store: crate::progress::JsonFileStore::new(&file),
        };
        let now = Timestamp::from_second(1_740_000_000).expect("valid");
        let update = solved_update(&mut recorder, "m", String::new(), None, &[], now);
        let SessionUpdate::Solved {
            progress,
            progress_error,
            ..
        } = update
        else {
            panic!("a solve is still announced: {update:?}")
        };
        assert_eq!(
            progress.status,
            MissionStatus::Solved,
            "the learner still sees their success"
        );
        let error = progress_error.expect("an unsaved solve must be reported, not passed as saved");
        assert_eq!(
            error.kind,
            ErrorKind::Progress,
            "the UI branches on the kind"
        );
        assert!(
            error.message.contains(&blocker.display().to_string())
                && error.message.contains("not saved")
                && error.message.contains("writable"),
            "the message says what was not saved, where, and the next step: {}",
            error.message
        );

        let mut ok = StoreRecorder {
            store: crate::progress::JsonFileStore::new(dir.path().join("progress.json")),
        };
        let SessionUpdate::Solved { progress_error, .. } =
            solved_update(&mut ok, "m", String::new(), None, &[], now)
        else {
            panic!("solved")
        };
        assert_eq!(progress_error, None, "a saved solve carries no error");
    }

    #[tokio::test]
    async fn resync_clock_sends_the_clock_every_period_and_not_at_once() {
        let sent = std::sync::Mutex::new(Vec::new());
        let started = std::time::Instant::now();
        let read = || ClusterClock::at(Timestamp::UNIX_EPOCH, 8.0);
        let run = resync_clock(Duration::from_millis(40), read, |u| {
            sent.lock().unwrap().push((started.elapsed(), u));
        });
        // Dropping the future is how a session stops it.
        let _ = tokio::time::timeout(Duration::from_millis(150), run).await;
        let sent = sent.into_inner().unwrap();
        assert!(
            (2..=4).contains(&sent.len()),
            "about three updates in 150 ms at a 40 ms period, got {}",
            sent.len()
        );
        assert!(
            sent[0].0 >= Duration::from_millis(40),
            "none before the first period"
        );
        for (_, u) in &sent {
            assert_eq!(
                *u,
                SessionUpdate::Clock {
                    clock: ClusterClock::at(Timestamp::UNIX_EPOCH, 8.0)
                }
            );
        }
    }
}
