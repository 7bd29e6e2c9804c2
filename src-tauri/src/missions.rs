//! Missions: the curriculum, a mission's live session, the editor's actions and hints.
//!
//! One mission plays at a time. `start_mission` puts the broken state on the cluster and spawns
//! the engine's session on Tauri's async runtime; its [`SessionUpdate`]s go over the window's
//! `Channel`, those of one wake-up of the session as one message. Starting any mission,
//! stopping this one, or switching cluster in Settings cancels the session (the task is
//! aborted, which drops the engine's watches). A reset
//! re-applies the broken state and starts a fresh session on the same channel, so a second fix
//! is noticed and celebrated again.
//!
//! Lessons are read from disk on Tauri's blocking pool, never on the main thread: a lesson
//! folder is a teacher's input, and however the engine guards its reads (regular files only,
//! size-capped, no FIFOs), a slow or network-mounted folder must not freeze the window.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use kq_engine::activity::{self, AuditLog};
use kq_engine::ipc::CLOCK_RESYNC;
use kq_engine::ipc::{
    ActionResult, DebriefView, HintReveal, ManifestFile, MissionDetail, MissionList,
    MissionSession, SessionUpdate, UiError,
};
use kq_engine::mission::{Catalog, Mission, render_markdown};
use kq_engine::session::{self, SessionConfig, resync_clock, run_session};
use tauri::Manager;
use tauri::async_runtime::JoinHandle;
use tauri::ipc::Channel;

use crate::cluster::{EmbeddedCluster, Target, Targets};
use crate::error;
use crate::progress::{AppRecorder, ProgressBook};
use crate::settings::SettingsBook;

/// Where lessons are read from: `KUBEQUEST_LESSONS` if set (teachers and tests), then the
/// lessons bundled as a resource, then (in development builds) the source tree's `lessons/`.
pub fn lesson_roots(app: &tauri::AppHandle) -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os("KUBEQUEST_LESSONS") {
        return vec![PathBuf::from(dir)];
    }
    let mut roots = Vec::new();
    if let Ok(res) = app.path().resource_dir() {
        let bundled = res.join("lessons");
        if bundled.is_dir() {
            roots.push(bundled);
        }
    }
    if roots.is_empty() && cfg!(debug_assertions) {
        roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../lessons"));
    }
    roots
}

/// Chooses the diagnosis texts once, at start: the first lessons folder's own `diagnoses.yaml`
/// (read and checked like a lesson), else the bundled texts. A file with errors is logged and
/// left out, so the learner still sees a diagnosis.
pub fn install_diagnosis_texts(roots: &[PathBuf]) {
    match kq_engine::mission::diagnosis_texts(roots) {
        Ok(Some(texts)) => {
            texts.install();
        }
        Ok(None) => {}
        Err(e) => log::warn!("diagnoses.yaml left out, the bundled diagnosis texts apply:\n{e}"),
    }
}

/// The curriculum as the learner plays it: in a class, seated for them over the class's
/// missions (see [`crate::classroom`]).
async fn catalog(app: &tauri::AppHandle) -> Result<(Catalog, Vec<PathBuf>), UiError> {
    let (catalog, roots) = catalog_of(app).await?;
    let catalog = app
        .state::<crate::classroom::Classroom>()
        .seated(catalog)
        .await;
    Ok((catalog, roots))
}

/// The whole curriculum, read afresh on the blocking pool (see the module docs).
pub(crate) async fn catalog_of(app: &tauri::AppHandle) -> Result<(Catalog, Vec<PathBuf>), UiError> {
    let roots = lesson_roots(app);
    if roots.is_empty() {
        return Err(error::lessons(
            "No lesson folder was found. Reinstall KubeQuest, or set KUBEQUEST_LESSONS to a \
             folder of missions.",
        ));
    }
    let read = roots.clone();
    let catalog = tauri::async_runtime::spawn_blocking(move || Catalog::load(&read))
        .await
        .map_err(|e| error::internal(format!("Reading the lessons stopped unexpectedly: {e}")))?;
    Ok((catalog, roots))
}

/// The mission `id`, read afresh from the lessons.
async fn mission(app: &tauri::AppHandle, id: &str) -> Result<(Catalog, Mission), UiError> {
    let (catalog, roots) = catalog(app).await?;
    let Some(m) = catalog.get(id).cloned() else {
        return Err(error::lessons(format!(
            "There is no mission `{id}` in {}. Its lesson folder may have been removed or may \
             not load: go back to the mission map to see what is wrong.",
            roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    Ok((catalog, m))
}

/// Async, so Tauri runs it off the main thread (sync commands run on it).
#[tauri::command]
pub async fn list_missions(app: tauri::AppHandle) -> Result<MissionList, UiError> {
    let (catalog, _) = catalog(&app).await?;
    Ok(MissionList {
        missions: catalog.summaries(),
        problems: catalog.problems.iter().map(ToString::to_string).collect(),
    })
}

/// The mission being played and its session task.
#[derive(Default)]
pub struct Sessions {
    slot: Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    /// Bumped by every start and stop, so a start that finishes after being overtaken does not
    /// install its session.
    generation: u64,
    mission: Option<String>,
    channel: Option<Channel<Vec<SessionUpdate>>>,
    task: Option<JoinHandle<()>>,
    /// The session's audit log: the embedded cluster's, or this session's own on a real
    /// cluster (what the app did for the learner).
    audit: Option<AuditLog>,
    /// Tells the running session how many hints are revealed (reacting hints and the
    /// diagnoses' unlocking follow it).
    hints: Option<tokio::sync::watch::Sender<u32>>,
}

impl Slot {
    fn cancel(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Sessions {
    /// Cancels whatever runs and claims the slot for `id`; answers the claim's generation.
    fn claim(&self, id: &str, channel: Channel<Vec<SessionUpdate>>) -> u64 {
        let mut slot = lock(&self.slot);
        slot.cancel();
        slot.generation += 1;
        slot.mission = Some(id.to_owned());
        slot.channel = Some(channel);
        slot.generation
    }

    /// Stops the session of `id` (and only that one).
    fn stop(&self, id: &str) {
        let mut slot = lock(&self.slot);
        if slot.mission.as_deref() == Some(id) {
            slot.cancel();
            slot.generation += 1;
            slot.mission = None;
            slot.channel = None;
        }
    }

    /// Stops any session (the cluster changed).
    pub fn stop_all(&self) {
        let mut slot = lock(&self.slot);
        slot.cancel();
        slot.generation += 1;
        slot.mission = None;
        slot.channel = None;
    }

    /// Sends `update` to the running mission's window, if a mission runs.
    pub fn notify(&self, update: SessionUpdate) {
        if let Some(channel) = lock(&self.slot).channel.clone() {
            let _ = channel.send(vec![update]);
        }
    }

    /// The audit log of the session of `id`, if it runs.
    fn audit_of(&self, id: &str) -> Option<AuditLog> {
        let slot = lock(&self.slot);
        (slot.mission.as_deref() == Some(id))
            .then(|| slot.audit.clone())
            .flatten()
    }

    /// Tells the session of `id`, if it runs, that `count` hints are now revealed.
    fn hints_revealed(&self, id: &str, count: u32) {
        let slot = lock(&self.slot);
        if slot.mission.as_deref() == Some(id)
            && let Some(tx) = &slot.hints
        {
            tx.send_replace(count);
        }
    }

    fn channel_of(&self, id: &str) -> Option<Channel<Vec<SessionUpdate>>> {
        let slot = lock(&self.slot);
        (slot.mission.as_deref() == Some(id))
            .then(|| slot.channel.clone())
            .flatten()
    }
}

async fn target(app: &tauri::AppHandle) -> Result<Target, UiError> {
    if let Some(class) = app.state::<crate::classroom::Classroom>().target().await {
        return class;
    }
    let settings = app.state::<SettingsBook>().get();
    app.state::<Targets>()
        .get(&app.state::<EmbeddedCluster>(), &settings)
        .await
}

/// Puts the broken state on the cluster, records the attempt and starts streaming updates.
async fn begin(
    app: &tauri::AppHandle,
    id: &str,
    generation: u64,
) -> Result<MissionSession, UiError> {
    let (catalog, mission) = mission(app, id).await?;
    let target = target(app).await?;
    if target.embedded {
        app.state::<EmbeddedCluster>().add_registries(&mission)?;
    }
    // On a kubeconfig context nothing outside the mission namespace may be touched: the engine
    // refuses a mission that needs cluster-scoped objects there.
    let on = if target.class.is_some() {
        session::ClusterKind::Classroom
    } else if target.embedded {
        session::ClusterKind::Embedded
    } else {
        session::ClusterKind::Real
    };
    session::start_mission(&target.client, &mission, on)
        .await
        .map_err(|e| error::from_session(&e))?;
    let book = app.state::<ProgressBook>();
    let (progress, ()) = book.update(|p| p.start(id, Timestamp::now()))?;
    let record = progress.mission(id);
    let revealed = usize::try_from(record.hints_used).unwrap_or(usize::MAX);
    let hints = mission
        .hint_ladder(revealed)
        .revealed()
        .iter()
        .map(|h| render_markdown(h))
        .collect();
    let reply = MissionSession {
        detail: MissionDetail::from(&mission),
        manifests: manifest_files(&mission),
        kubeconfig_export: target.kubeconfig_export.clone(),
        context: target.context.clone(),
        hints,
        progress: record,
        clock: (target.cluster_clock)(),
    };

    // In a class, the session reports the learner's progress to it.
    let class = if target.class.is_some() {
        app.state::<crate::classroom::Classroom>()
            .reporter(app)
            .await
    } else {
        None
    };
    let sessions = app.state::<Sessions>();
    let mut slot = lock(&sessions.slot);
    if slot.generation != generation {
        // Stopped or overtaken while starting: the window no longer listens.
        return Ok(reply);
    }
    let Some(channel) = slot.channel.clone() else {
        return Ok(reply);
    };
    let audit = target.audit.clone().unwrap_or_default();
    slot.audit = Some(audit.clone());
    let (hints_tx, hints_revealed) =
        tokio::sync::watch::channel(u32::try_from(revealed).unwrap_or(u32::MAX));
    slot.hints = Some(hints_tx);
    let config = SessionConfig {
        clock: target.clock.clone(),
        missions: catalog.summaries(),
        stop_when_solved: false,
        cluster: on,
        audit,
        hints_revealed,
        reconnect: reconnect_policy(class.is_some()),
        class,
        ..SessionConfig::default()
    };
    let mut recorder = AppRecorder { app: app.clone() };
    let client = target.client.clone();
    let read_clock = target.cluster_clock.clone();
    let clock_channel = channel.clone();
    slot.task = Some(tauri::async_runtime::spawn(async move {
        let namespace = mission.namespace();
        let outbox = Arc::new(Mutex::new(Vec::new()));
        let session = run_session(client, &mission, &namespace, config, &mut recorder, {
            let outbox = Arc::clone(&outbox);
            move |u| lock(&outbox).push(u)
        });
        let session = in_batches(session, outbox, channel);
        let clock = resync_clock(
            CLOCK_RESYNC,
            move || read_clock(),
            move |u| {
                let _ = clock_channel.send(vec![u]);
            },
        );
        tokio::select! {
            outcome = session => {
                log::info!("mission session {} ended: {outcome:?}", mission.summary.id);
            }
            () = clock => {}
        }
    }));
    Ok(reply)
}

/// Runs `session` and sends what it put in `outbox` during each of its wake-ups as one message.
///
/// One watch event changes several things at once (a new pod's pipeline, the graph, the
/// workloads, the events), and the session hands them over one by one. Sent one by one, each
/// is a message of its own for the window, which renders between them: measured in the release
/// app, a new pod's graph arrived a rendered frame (about 90 ms under Xvfb) after its pipeline.
/// As one message, the window applies them together and renders once. A closed window is not
/// an error: the session ends with the app or the next start.
///
/// The graph and the events table carry their whole subject, so an earlier one of either in
/// the same batch is stale: only the last is sent, in its place (see [`without_superseded`]).
async fn in_batches<F: Future>(
    session: F,
    outbox: Arc<Mutex<Vec<SessionUpdate>>>,
    channel: Channel<Vec<SessionUpdate>>,
) -> F::Output {
    let mut session = std::pin::pin!(session);
    std::future::poll_fn(|cx| {
        let polled = session.as_mut().poll(cx);
        let batch = without_superseded(std::mem::take(&mut *lock(&outbox)));
        if !batch.is_empty() {
            let _ = channel.send(batch);
        }
        polled
    })
    .await
}

/// The batch without the graphs and events tables a later one replaces. The session can feed
/// several watch items in one wake-up (a new pod's ADDED, its `Scheduled` event and its
/// binding arrive together) and rebuild the graph for each: with 50 pods each graph is about
/// 80 kB of JSON the window would parse and lay out only to replace at once. Every other
/// update (a pod's pipeline, the connection, the objectives, a solve) is kept, in order. Clock
/// readings never pass through here: they are sent on their own.
fn without_superseded(batch: Vec<SessionUpdate>) -> Vec<SessionUpdate> {
    let (mut graph_later, mut events_later) = (false, false);
    let mut kept: Vec<SessionUpdate> = batch
        .into_iter()
        .rev()
        .filter(|u| match u {
            SessionUpdate::Graph { .. } => !std::mem::replace(&mut graph_later, true),
            SessionUpdate::Events { .. } => !std::mem::replace(&mut events_later, true),
            _ => true,
        })
        .collect();
    kept.reverse();
    kept
}

/// How many times in a row a class session tries to reconnect before it gives up: seven
/// tries over about 80 s of the class server not answering (0.8 s doubling, at most 30 s
/// apart), so a Wi-Fi hiccup is ridden out but a class server that is gone is not waited for
/// all lesson. The window then falls
/// back to the embedded cluster (see [`crate::classroom`]). Any other cluster is retried for
/// as long as the learner stays on the mission.
const CLASS_RECONNECT_ATTEMPTS: u32 = 7;

/// `KUBEQUEST_CLASS_RECONNECT_TRIES` (1–30) changes [`CLASS_RECONNECT_ATTEMPTS`]: a classroom
/// whose Wi-Fi drops for minutes at a time raises it; tests lower it so a fall-back happens in
/// seconds. Anything else is ignored with a warning.
fn class_reconnect_attempts() -> u32 {
    let Ok(raw) = std::env::var("KUBEQUEST_CLASS_RECONNECT_TRIES") else {
        return CLASS_RECONNECT_ATTEMPTS;
    };
    match raw.trim().parse::<u32>() {
        Ok(n) if (1..=30).contains(&n) => n,
        _ => {
            log::warn!(
                "KUBEQUEST_CLASS_RECONNECT_TRIES={raw:?} is not a number from 1 to 30; ignored"
            );
            CLASS_RECONNECT_ATTEMPTS
        }
    }
}

fn reconnect_policy(in_class: bool) -> kq_engine::connect::ReconnectPolicy {
    kq_engine::connect::ReconnectPolicy {
        max_attempts: in_class.then(class_reconnect_attempts),
        ..Default::default()
    }
}

/// The mission's manifest files as the editor opens them, in the lesson's order: the texts
/// the loader read (safely, once), never a second read of a file that may have changed kind.
fn manifest_files(mission: &Mission) -> Vec<ManifestFile> {
    mission
        .manifest_sources
        .iter()
        .map(|(file, yaml)| ManifestFile {
            name: file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            yaml: yaml.clone(),
        })
        .collect()
}

#[tauri::command]
pub async fn start_mission(
    app: tauri::AppHandle,
    id: String,
    on_update: Channel<Vec<SessionUpdate>>,
) -> Result<MissionSession, UiError> {
    let generation = app.state::<Sessions>().claim(&id, on_update);
    app.state::<crate::terminal::Terminals>().close_others(&id);
    begin(&app, &id, generation).await
}

#[tauri::command]
pub fn stop_mission(
    id: String,
    sessions: tauri::State<'_, Sessions>,
    terminals: tauri::State<'_, crate::terminal::Terminals>,
) {
    sessions.stop(&id);
    terminals.close_mission(&id);
}

#[tauri::command]
pub async fn reset_mission(app: tauri::AppHandle, id: String) -> Result<MissionSession, UiError> {
    let sessions = app.state::<Sessions>();
    let Some(channel) = sessions.channel_of(&id) else {
        return Err(error::internal(
            "This mission is not running any more, so it cannot be reset. Go back to the \
             mission map and start it again.",
        ));
    };
    let generation = sessions.claim(&id, channel);
    begin(&app, &id, generation).await
}

/// The namespace of a mission that exists (actions never reach other namespaces).
pub(crate) async fn namespace_of(app: &tauri::AppHandle, id: &str) -> Result<String, UiError> {
    mission(app, id).await.map(|(_, m)| m.namespace())
}

#[tauri::command]
pub async fn apply_manifest(
    app: tauri::AppHandle,
    id: String,
    file: String,
    yaml: String,
) -> Result<ActionResult, UiError> {
    let namespace = namespace_of(&app, &id).await?;
    let target = target(&app).await?;
    let (log, now) = editor_log(&app, &id, &target);
    Ok(activity::apply_in_editor(&target.client, &log, now, &namespace, &file, &yaml).await)
}

#[tauri::command]
pub async fn delete_manifest(
    app: tauri::AppHandle,
    id: String,
    file: String,
    yaml: String,
) -> Result<ActionResult, UiError> {
    let namespace = namespace_of(&app, &id).await?;
    let target = target(&app).await?;
    let (log, now) = editor_log(&app, &id, &target);
    Ok(activity::delete_in_editor(&target.client, &log, now, &namespace, &file, &yaml).await)
}

/// Where the editor's actions on mission `id` are recorded (the running session's log; a log
/// nobody reads when the mission is not running) and the clock they are recorded by.
fn editor_log(
    app: &tauri::AppHandle,
    id: &str,
    target: &Target,
) -> (AuditLog, impl Fn() -> i64 + use<>) {
    let log = app
        .state::<Sessions>()
        .audit_of(id)
        .or_else(|| target.audit.clone())
        .unwrap_or_default();
    let clock = target.clock.clone();
    (log, move || clock().as_millisecond())
}

/// How long "Delete and re-apply" waits for a deleted object to be gone (a pod's default grace
/// period is 30 s, so twice that, plus the apply).
const REAPPLY_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// "Delete and re-apply" for a change that cannot be made in place (the UI asks first).
#[tauri::command]
pub async fn reapply_manifest(
    app: tauri::AppHandle,
    id: String,
    file: String,
    yaml: String,
) -> Result<ActionResult, UiError> {
    let namespace = namespace_of(&app, &id).await?;
    let target = target(&app).await?;
    let (log, now) = editor_log(&app, &id, &target);
    Ok(activity::reapply_in_editor(
        &target.client,
        &log,
        now,
        &namespace,
        &file,
        &yaml,
        REAPPLY_WAIT,
    )
    .await)
}

/// A solved mission's debrief, to read again from the map: the learner's personal debrief of
/// their latest solve (if one was kept) and the lesson's. Refused for a mission not solved yet,
/// whose debrief (and reference fix) stays hidden.
#[tauri::command]
pub async fn mission_debrief(app: tauri::AppHandle, id: String) -> Result<DebriefView, UiError> {
    let (_, mission) = mission(&app, &id).await?;
    let progress = app.state::<ProgressBook>().load()?;
    if progress.mission(&id).status != kq_engine::progress::MissionStatus::Solved {
        return Err(error::internal(format!(
            "The debrief of \"{}\" opens once the mission is solved.",
            mission.summary.title
        )));
    }
    let personal = progress.debriefs.get(&id).cloned();
    Ok(DebriefView::new(&mission, personal))
}

/// The next hint of the mission's ladder, counted in progress. Async, so the lessons are read
/// off the main thread.
#[tauri::command]
pub async fn reveal_hint(app: tauri::AppHandle, id: String) -> Result<HintReveal, UiError> {
    let (_, mission) = mission(&app, &id).await?;
    let total = mission.hints.len();
    let book = app.state::<ProgressBook>();
    let (_, revealed) = book.update(|p| {
        let used = usize::try_from(p.mission(&id).hints_used).unwrap_or(usize::MAX);
        let mut ladder = mission.hint_ladder(used);
        let hint = ladder.reveal_next().map(ToOwned::to_owned);
        let count = ladder.revealed_count();
        p.hints_revealed(&id, u32::try_from(count).unwrap_or(u32::MAX));
        hint.map(|h| (count, h))
    })?;
    let Some((count, hint)) = revealed else {
        return Err(error::internal(format!(
            "All {total} hints of this mission are already shown."
        )));
    };
    let as_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    app.state::<Sessions>().hints_revealed(&id, as_u32(count));
    Ok(HintReveal {
        index: as_u32(count - 1),
        html: render_markdown(&hint),
        remaining: as_u32(total - count),
        hints_used: as_u32(count),
    })
}

/// "Run in container": one command in a pod of the running mission's namespace, through the
/// same `kube` client (WebSocket exec) on the embedded cluster and on a real one. The namespace
/// comes from the mission, never from the window, and the engine checks it is KubeQuest's.
#[tauri::command]
pub async fn run_in_container(
    app: tauri::AppHandle,
    id: String,
    pod: String,
    container: Option<String>,
    argv: Vec<String>,
) -> Result<kq_engine::inspect::ContainerOutput, UiError> {
    use kq_engine::inspect::{ExecLimits, InspectError};
    let namespace = namespace_of(&app, &id).await?;
    let target = target(&app).await?;
    let (log, now) = editor_log(&app, &id, &target);
    let result = kq_engine::inspect::run_in_container(
        &target.client,
        &namespace,
        &pod,
        container.as_deref(),
        argv.clone(),
        ExecLimits::default(),
    )
    .await;
    activity::record_run_in_container(
        &log,
        now(),
        &namespace,
        &pod,
        container.as_deref(),
        &argv,
        result.is_ok(),
    );
    result.map_err(|e| match e {
        InspectError::Cluster(c) => error::from_connect(&c),
        InspectError::NoCommand => {
            error::internal("There is no command to run: type one, e.g. ls /etc/config".to_owned())
        }
        // The server's own words (`pods "web" not found`), as kubectl would print them.
        InspectError::Refused { message } => error::cluster(message),
        InspectError::NotOurs { .. } => error::cluster(format!(
            "KubeQuest runs commands only in pods of its own namespaces: {e}."
        )),
    })
}

/// A graph node's object as `kubectl get -o yaml` prints it (without `managedFields`; a
/// Secret's values hidden by the engine), read through the mission's client in the mission's
/// namespace: the window names only the kind and the name.
#[tauri::command]
pub async fn object_yaml(
    app: tauri::AppHandle,
    id: String,
    kind: kq_engine::graph::GraphKind,
    name: String,
) -> Result<String, UiError> {
    use kq_engine::graph::YamlError;
    let namespace = namespace_of(&app, &id).await?;
    let target = target(&app).await?;
    kq_engine::graph::object_yaml(&target.client, &namespace, kind, &name)
        .await
        .map_err(|e| match e {
            YamlError::Cluster(c) => error::from_connect(&c),
            // The server's own words (`deployments.apps "web" not found`).
            YamlError::Refused { message } => error::cluster(message),
            YamlError::Render(_) => error::internal(e.to_string()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tauri::ipc::InvokeResponseBody;

    #[test]
    fn what_a_session_hands_over_in_one_wake_up_goes_to_the_window_as_one_message() {
        let messages = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = Arc::clone(&messages);
        let channel: Channel<Vec<SessionUpdate>> = Channel::new(move |body| {
            if let InvokeResponseBody::Json(json) = body {
                lock(&seen).push(json);
            }
            Ok(())
        });
        let outbox = Arc::new(Mutex::new(Vec::new()));
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        // Watch events that change three things, then, woken again, one that changes one.
        let removed = |pod: &str| SessionUpdate::Pipeline {
            change: kq_engine::pipeline::PipelineChange::Removed {
                uid: format!("uid-{pod}"),
                namespace: "kq-x".into(),
                pod: pod.into(),
            },
        };
        let graph = |namespace: &str| SessionUpdate::Graph {
            graph: kq_engine::graph::WorkloadGraph {
                namespace: namespace.into(),
                ..Default::default()
            },
        };
        let session = {
            let outbox = Arc::clone(&outbox);
            async move {
                lock(&outbox).extend([
                    removed("a"),
                    graph("first"),
                    SessionUpdate::Events { events: Vec::new() },
                    removed("b"),
                    graph("second"),
                ]);
                let _ = wait.await;
                lock(&outbox).push(SessionUpdate::Nudges { nudges: Vec::new() });
                "ended"
            }
        };
        let outcome = tauri::async_runtime::block_on(async {
            let release = async {
                tokio::task::yield_now().await;
                let _ = go.send(());
            };
            let (outcome, ()) = tokio::join!(in_batches(session, outbox, channel), release);
            outcome
        });
        assert_eq!(outcome, "ended", "the session's own outcome comes through");
        let messages = lock(&messages).clone();
        let batches: Vec<Vec<serde_json::Value>> = messages
            .iter()
            .map(|m| serde_json::from_str(m).expect("a JSON array"))
            .collect();
        let kinds: Vec<Vec<&str>> = batches
            .iter()
            .map(|b| b.iter().filter_map(|u| u["kind"].as_str()).collect())
            .collect();
        assert_eq!(
            kinds,
            vec![
                vec!["pipeline", "events", "pipeline", "graph"],
                vec!["nudges"]
            ],
            "one message per wake-up, in order, none empty, each pod change kept and only the \
             last graph"
        );
        assert_eq!(
            batches[0][3]["graph"]["namespace"], "second",
            "the graph sent is the latest one"
        );
        assert_eq!(
            (
                batches[0][0]["change"]["pod"].as_str(),
                batches[0][2]["change"]["pod"].as_str()
            ),
            (Some("a"), Some("b"))
        );
    }
}
