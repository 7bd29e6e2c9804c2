//! `kq play MISSION`: a mission in the terminal.
//!
//! Without `--context` the embedded cluster starts in-process and its kubeconfig is written
//! (mode 0600) to a private temporary folder (randomly named, mode 0700, so nobody else can
//! predict, pre-create or read it), printed as an `export KUBECONFIG=…` line so the learner can
//! use real kubectl in another terminal. With `--context NAME` the mission runs on
//! that kubeconfig context; a context that is not on this machine is refused unless
//! `--allow-remote` is given, because missions create and break pods.
//!
//! In a class: when the context `kq play` would use (`--context`, else `KUBECONFIG`'s current
//! one) carries a learner's seat (the kubeconfig the teacher's `kq classroom prepare` or `serve`
//! wrote), the mission plays on the class's cluster in the learner's own namespace
//! (`kq-<learner>-<id>`, [`ClusterKind::Classroom`]), without `--context` and without the
//! remote-context consent: the teacher handing out the file is the consent. Only the class's
//! missions can be played (the `class` ConfigMap lists them), the learner's progress is
//! reported to the class as they play, and on leaving the namespace stays (the teacher made
//! it) while the class hears that the learner left. The teacher's own file is refused.
//!
//! The mission's broken state is applied, then the live status follows (see [`crate::term`]):
//! on a terminal one block redrawn in place (the `KUBECONFIG` line first, then the pods'
//! pipelines, the workloads and the objectives), with new events, nudges and hints printed above
//! it; in a pipe, each change as plain lines. Typing `h` and Enter reveals the next hint. The
//! command ends when the mission is solved (the learner's own debrief prints, rendered for the
//! terminal, and progress is recorded) or on Ctrl-C; both clean up the mission's namespace and
//! exit 0. A connection lost for good exits 1.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use kq_engine::classroom::Seat;
use kq_engine::connect::{ConnectPolicy, list_contexts, load_kubeconfig_from_env};
use kq_engine::ipc::{ConnectionState, SessionUpdate};
use kq_engine::mission::{Catalog, Mission, ObjectiveStatus};
use kq_engine::pipeline::PipelineChange;
use kq_engine::progress::{JsonFileStore, ProgressStore};
use kq_engine::session::class::{LAST_REPORT_WAIT, REPORT_EVERY};
use kq_engine::session::{
    ClassReporter, ClusterKind, SessionConfig, SessionOutcome, StoreRecorder, class_missions,
    cleanup_mission, new_event_rows, run_session, start_mission_with_progress,
};

use crate::progress_cmd::{fail, load};
use crate::term::{self, Entry, StatusScreen};

/// What `kq play` was asked to do.
pub struct PlayArgs {
    pub mission: String,
    pub lessons: Vec<PathBuf>,
    pub context: Option<String>,
    pub allow_remote: bool,
    pub speed: f64,
    pub progress: PathBuf,
}

/// The cluster a mission runs on.
struct Target {
    client: kube::Client,
    /// Kept alive for the embedded cluster.
    embedded: Option<kq_sim::RunningCluster>,
    /// The private folder (0700, unique name) holding the embedded cluster's kubeconfig;
    /// removed at exit.
    scratch: Option<tempfile::TempDir>,
    clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    context: String,
}

async fn embedded(speed: f64, registry_yaml: Vec<(String, String)>) -> Result<Target, String> {
    let scratch = scratch_dir()?;
    let config = kq_sim::ClusterConfig {
        speed,
        kubeconfig_path: Some(scratch.path().join("kubeconfig")),
        registry_yaml,
        ..Default::default()
    };
    let cluster = kq_sim::Cluster::start(config)
        .await
        .map_err(|e| format!("cannot start the embedded cluster: {e}"))?;
    let kc = kube::config::Kubeconfig::from_yaml(cluster.kubeconfig_yaml())
        .map_err(|e| format!("the embedded cluster's kubeconfig is unreadable: {e}"))?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .map_err(|e| format!("the embedded cluster's kubeconfig is unusable: {e}"))?;
    let client =
        kq_engine::connect::app_client(config).map_err(|e| format!("cannot connect: {e}"))?;
    let clock = cluster.clock().clone();
    Ok(Target {
        client,
        embedded: Some(cluster),
        scratch: Some(scratch),
        clock: Arc::new(move || clock.now()),
        context: "kubequest".into(),
    })
}

/// A new private folder for the embedded cluster's kubeconfig.
///
/// The shared temp dir is writable by every user: a predictable name there could be created
/// beforehand by someone else, who would then read the cluster's credentials. `tempfile` picks a
/// random name and creates the folder exclusively (failing if it exists); the folder is made
/// 0700 and checked, and anything short of that is an error rather than a warning.
fn scratch_dir() -> Result<tempfile::TempDir, String> {
    let dir = tempfile::Builder::new()
        .prefix("kubequest-play-")
        .tempdir()
        .map_err(|e| {
            format!(
                "cannot create a private folder for the kubeconfig in {}: {e}",
                std::env::temp_dir().display()
            )
        })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(|e| {
            format!(
                "cannot make {} private (mode 0700): {e}; the kubeconfig would be readable by \
                 others, so the embedded cluster was not started",
                path.display()
            )
        })?;
        let mode = std::fs::metadata(path)
            .map_err(|e| format!("cannot check {}: {e}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} is mode {:o}, not private (0700); the embedded cluster was not started",
                path.display(),
                mode & 0o777
            ));
        }
    }
    Ok(dir)
}

async fn from_context(name: &str, allow_remote: bool) -> Result<Target, String> {
    let loaded = load_kubeconfig_from_env().map_err(|e| e.to_string())?;
    let contexts = list_contexts(&loaded.config);
    let Some(ctx) = contexts.iter().find(|c| c.name == name) else {
        let known: Vec<&str> = contexts.iter().map(|c| c.name.as_str()).collect();
        return Err(format!(
            "the kubeconfig has no context named `{name}`; its contexts are: {}",
            if known.is_empty() {
                "(none)".to_owned()
            } else {
                known.join(", ")
            }
        ));
    };
    let mut policy = ConnectPolicy::default();
    if allow_remote {
        policy.allowed_remote.insert(name.to_owned());
    }
    if policy.check(ctx).is_err() {
        return Err(format!(
            "`{name}` ({}) is not a local cluster, and missions create and break pods. If it \
             is a practice cluster, run again with `--allow-remote` to allow it; otherwise pick \
             a local context (kind, minikube, k3d, …) or leave out --context to use the \
             embedded cluster",
            ctx.server.as_deref().unwrap_or("unknown server")
        ));
    }
    let options = kube::config::KubeConfigOptions {
        context: Some(name.to_owned()),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(loaded.config, &options)
        .await
        .map_err(|e| format!("cannot use context `{name}`: {e}"))?;
    let client =
        kq_engine::connect::app_client(config).map_err(|e| format!("cannot connect: {e}"))?;
    Ok(Target {
        client,
        embedded: None,
        scratch: None,
        clock: Arc::new(Timestamp::now),
        context: name.to_owned(),
    })
}

/// A learner's seat in a class, from their kubeconfig.
struct ClassSeat {
    class: String,
    learner: String,
    client: kube::Client,
    /// The kubeconfig context (the seat's).
    context: String,
    /// The class's missions, in curriculum order.
    missions: Vec<String>,
}

/// The seat of the kubeconfig context `kq play` would use (`--context`, else `KUBECONFIG`'s
/// current one), if it carries one. A kubeconfig that cannot be read is no class: solo play
/// goes on as before (and `--context` reports the problem itself).
fn seat_of(context: Option<&str>) -> Option<(Seat, kube::config::Kubeconfig, String)> {
    let loaded = load_kubeconfig_from_env().ok()?;
    let name = context
        .map(str::to_owned)
        .or_else(|| loaded.config.current_context.clone())?;
    let seat = Seat::from_kubeconfig(&loaded.config, Some(&name))?;
    Some((seat, loaded.config, name))
}

/// Connects with the learner's kubeconfig and reads the class's missions. The teacher handed
/// the file out for this class, so no remote-context consent is asked.
async fn class_seat(
    seat: Seat,
    config: kube::config::Kubeconfig,
    context: String,
) -> Result<ClassSeat, String> {
    let Some(learner) = seat.learner else {
        return Err(
            "this is the teacher's kubeconfig: use `kq classroom status` to follow the class              (learners play with their own files)"
                .into(),
        );
    };
    let options = kube::config::KubeConfigOptions {
        context: Some(context.clone()),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(config, &options)
        .await
        .map_err(|e| format!("cannot use your class kubeconfig (context `{context}`): {e}"))?;
    let client =
        kq_engine::connect::app_client(config).map_err(|e| format!("cannot connect: {e}"))?;
    let missions = class_missions(&client)
        .await
        .map_err(|e| format!("cannot read class {}: {e}", seat.class))?;
    Ok(ClassSeat {
        class: seat.class,
        learner,
        client,
        context,
        missions,
    })
}

/// The session's reporter for a learner in a class: it reads the saved progress for each
/// report and prints a failure once per outage.
fn class_reporter(seat: &ClassSeat, progress: &std::path::Path) -> ClassReporter {
    let store = JsonFileStore::new(progress);
    ClassReporter {
        client: seat.client.clone(),
        class: seat.class.clone(),
        learner: seat.learner.clone(),
        progress: Arc::new(move || {
            store
                .read()
                .map(|loaded| loaded.progress)
                .map_err(|e| e.to_string())
        }),
        every: REPORT_EVERY,
        warn: Arc::new(|message| eprintln!("warning: {message}")),
    }
}

/// What the live status shows, kept up to date from the session's updates.
struct Status {
    /// `export KUBECONFIG=…` (or the context line): first in the block, so it stays visible.
    connect_line: String,
    /// Each pod's pipeline as text, by `namespace/pod`.
    pods: BTreeMap<String, String>,
    /// Pods that have existed during the session (a missing one was deleted, not late).
    existed: BTreeSet<String>,
    workloads: Vec<String>,
    /// `(id, line)` per objective, in the lesson's order.
    objectives: Vec<(String, String)>,
    all_met: bool,
    /// The connection, when it is not simply connected.
    connection: Option<String>,
    seen_events: BTreeMap<(String, String, String, String), u32>,
    first_connection: bool,
}

/// The engine's words for a pod an objective cannot find. Before the mission's pod has ever
/// existed (a controller has not created it yet) that is no deletion, so it is not called one.
const DELETED_POD: &str = " (deleting it is not a fix)";

fn objective_reason(reason: &str, existed: &BTreeSet<String>) -> String {
    let missing = reason
        .strip_prefix("there is no pod named ")
        .and_then(|r| r.strip_suffix(DELETED_POD));
    match missing {
        Some(pod) if !existed.contains(pod) => format!("pod {pod} does not exist yet"),
        _ => reason.to_owned(),
    }
}

impl Status {
    fn new(connect_line: String, mission: &Mission) -> Self {
        Status {
            connect_line,
            pods: BTreeMap::new(),
            existed: BTreeSet::new(),
            workloads: Vec::new(),
            objectives: mission
                .objectives
                .iter()
                .map(|o| (o.id.clone(), format!("  [ ] {}", o.title)))
                .collect(),
            all_met: false,
            connection: None,
            seen_events: BTreeMap::new(),
            first_connection: true,
        }
    }

    fn entries(&self) -> Vec<Entry> {
        let mut out = vec![Entry::new("connect", self.connect_line.clone())];
        for (key, text) in &self.pods {
            out.push(Entry::new(format!("pod/{key}"), text.clone()));
        }
        for (i, w) in self.workloads.iter().enumerate() {
            out.push(Entry::new(format!("workload/{i}"), w.clone()));
        }
        let met = self
            .objectives
            .iter()
            .filter(|(_, l)| l.starts_with("  [x]"))
            .count();
        out.push(Entry::new(
            "objectives",
            format!(
                "objectives ({met} of {} met{}):",
                self.objectives.len(),
                if self.all_met { ", solved" } else { "" }
            ),
        ));
        for (id, line) in &self.objectives {
            out.push(Entry::new(format!("objective/{id}"), line.clone()));
        }
        if let Some(c) = &self.connection {
            out.push(Entry::new("connection", c.clone()));
        }
        out.push(Entry::new(
            "keys",
            "(type h and Enter for a hint; Ctrl-C to stop)",
        ));
        out
    }

    /// Applies an update; answers the story lines it adds (events, nudges, the solve).
    fn apply(&mut self, update: &SessionUpdate, styled: bool) -> Vec<String> {
        let mut story = Vec::new();
        match update {
            SessionUpdate::Pipeline { change } => match change {
                PipelineChange::Upserted { pipeline } => {
                    self.existed.insert(pipeline.pod.clone());
                    self.pods.insert(
                        format!("{}/{}", pipeline.namespace, pipeline.pod),
                        pipeline.render_text(),
                    );
                }
                PipelineChange::Recreated { pipeline, .. } => {
                    self.existed.insert(pipeline.pod.clone());
                    self.pods.insert(
                        format!("{}/{}", pipeline.namespace, pipeline.pod),
                        format!("(recreated) {}", pipeline.render_text()),
                    );
                }
                PipelineChange::Removed { namespace, pod, .. } => {
                    self.existed.insert(pod.clone());
                    self.pods.remove(&format!("{namespace}/{pod}"));
                    story.push(format!("{namespace}/{pod} removed"));
                }
            },
            SessionUpdate::Events { events } => {
                for e in new_event_rows(&mut self.seen_events, events) {
                    let count = if e.count > 1 {
                        format!(" (x{})", e.count)
                    } else {
                        String::new()
                    };
                    story.push(format!(
                        "event: {} {}{count} {} [{}]: {}",
                        e.type_, e.reason, e.object, e.from, e.message
                    ));
                }
            }
            SessionUpdate::Objectives { results, all_met } => {
                self.all_met = *all_met;
                for r in results {
                    let mark = match r.status {
                        ObjectiveStatus::Met => "[x]",
                        ObjectiveStatus::NotMet => "[ ]",
                        ObjectiveStatus::Waiting => "[~]",
                    };
                    let line = format!(
                        "  {mark} {} ({})",
                        r.title,
                        objective_reason(&r.reason, &self.existed)
                    );
                    match self.objectives.iter_mut().find(|(id, _)| *id == r.id) {
                        Some(slot) => slot.1 = line,
                        None => self.objectives.push((r.id.clone(), line)),
                    }
                }
            }
            SessionUpdate::Solved {
                next,
                progress,
                progress_error,
                ..
            } => {
                story.push(String::new());
                story.push(if styled {
                    "\x1b[1mMission solved!\x1b[0m".to_owned()
                } else {
                    "Mission solved!".to_owned()
                });
                if let Some(e) = progress_error {
                    eprintln!("error: {}", e.message);
                }
                if let Some(t) = progress.time_to_fix_seconds {
                    story.push(format!("best time to fix: {t} s"));
                }
                if let Some(n) = next {
                    story.push(format!(
                        "next mission: {} ({}): kq play {}",
                        n.title, n.id, n.id
                    ));
                }
            }
            // The terminal shows no ages, so the cluster's clock is of no use here.
            SessionUpdate::Clock { .. } => {}
            SessionUpdate::Workloads { workloads } => {
                self.workloads = workloads.iter().map(|w| w.render_text()).collect();
            }
            // The terminal shows workloads and pods as text; the graph is the window's.
            SessionUpdate::Graph { .. } => {}
            // Reacting hints: what the learner has not looked at yet.
            SessionUpdate::Nudges { nudges } => {
                for n in nudges {
                    story.push(format!("nudge: {}", n.text));
                }
            }
            // The window hides a diagnosis's explanation until it is unlocked; the terminal's
            // status lines carry no explanation.
            SessionUpdate::Unlocks { .. } => {}
            SessionUpdate::Connection { state } => match state {
                ConnectionState::Connected => {
                    if !self.first_connection {
                        story.push("connection: back".into());
                    }
                    self.first_connection = false;
                    self.connection = None;
                }
                ConnectionState::Reconnecting {
                    attempt,
                    message,
                    retry_at,
                } => {
                    self.connection = Some(format!(
                        "connection: lost ({message}); attempt {attempt}, retrying at {retry_at}"
                    ));
                }
                ConnectionState::Lost { failure } => {
                    eprintln!(
                        "error: the connection to the cluster is lost: {}",
                        failure.message
                    );
                }
            },
        }
        story
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Lines typed by the learner (for hints), read on a thread so a closed stdin costs nothing.
fn stdin_lines() -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn reveal_hint(
    mission: &Mission,
    store: &JsonFileStore,
    screen: &mut StatusScreen,
    revealed_to: &tokio::sync::watch::Sender<u32>,
) {
    let Ok(progress) = load(store) else {
        return;
    };
    let id = &mission.summary.id;
    let used = usize::try_from(progress.mission(id).hints_used).unwrap_or(usize::MAX);
    let mut ladder = mission.hint_ladder(used);
    match ladder.reveal_next() {
        Some(hint) => {
            screen.story(&format!(
                "\nhint {} of {}: {}",
                ladder.revealed_count(),
                mission.hints.len(),
                term::markdown(hint, screen.is_live()).trim_end()
            ));
            let revealed = u32::try_from(ladder.revealed_count()).unwrap_or(0);
            // One locked step, so a solve the app records meanwhile is kept. Saved first: in a
            // class the session reports the saved progress on each reveal.
            if let Err(e) = store.update(Timestamp::now(), &mut |p| p.hints_revealed(id, revealed))
            {
                eprintln!("warning: the hint count could not be saved: {e}");
            }
            // The session's reacting hints and diagnoses follow the reveal.
            revealed_to.send_replace(revealed);
        }
        None => screen.story(&format!(
            "\nno more hints: all {} are shown",
            mission.hints.len()
        )),
    }
}

/// `kq play`.
pub fn play(args: PlayArgs, default_roots: Vec<PathBuf>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let code = runtime.block_on(play_async(args, default_roots));
    // The stdin thread may still be blocked on a read; do not wait for it.
    runtime.shutdown_background();
    code
}

async fn play_async(args: PlayArgs, default_roots: Vec<PathBuf>) -> ExitCode {
    // Ctrl-C from the first moment on stops the mission cleanly: the namespace and the
    // scratch folder with its kubeconfig are removed, whatever has been printed so far.
    let signal = crate::stop_signal();
    let mut signal = std::pin::pin!(signal);
    let roots = if args.lessons.is_empty() {
        default_roots
    } else {
        args.lessons.clone()
    };
    let catalog = Catalog::load(&roots);
    // A learner's class kubeconfig: the class's missions, in the learner's namespaces.
    let seat = match seat_of(args.context.as_deref()) {
        None => None,
        Some((seat, config, context)) => {
            let seat = tokio::select! {
                s = class_seat(seat, config, context) => s,
                () = &mut signal => return ExitCode::SUCCESS,
            };
            match seat {
                Ok(s) => Some(s),
                Err(e) => return fail(&e),
            }
        }
    };
    let full = catalog;
    let catalog = match &seat {
        Some(s) => full.seated(&s.learner, &s.missions),
        None => full,
    };
    // The diagnosis texts, chosen once: the lessons folder's own, or the bundled ones.
    match kq_engine::mission::diagnosis_texts(&roots) {
        Ok(Some(texts)) => {
            texts.install();
        }
        Ok(None) => {}
        Err(e) => eprintln!("warning: the bundled diagnosis texts are used instead:\n{e}"),
    }
    let Some(mission) = catalog.get(&args.mission) else {
        let ids: Vec<&str> = catalog
            .missions
            .iter()
            .map(|m| m.summary.id.as_str())
            .collect();
        for p in &catalog.problems {
            eprintln!("warning: {p}");
        }
        if let Some(s) = &seat {
            return fail(&format!(
                "`{}` is not a mission of class {}; its missions are: {}",
                args.mission,
                s.class,
                if ids.is_empty() {
                    "(none of them is in your lessons folder)".to_owned()
                } else {
                    ids.join(", ")
                }
            ));
        }
        return fail(&format!(
            "there is no mission `{}`; the missions are: {} (`kq missions` lists them)",
            args.mission,
            if ids.is_empty() {
                "(none found)".to_owned()
            } else {
                ids.join(", ")
            }
        ));
    };
    let store = JsonFileStore::new(&args.progress);
    let progress = match load(&store) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    if !progress.is_unlocked(&mission.summary.all_requires()) {
        let missing: Vec<String> = mission
            .summary
            .all_requires()
            .into_iter()
            .filter(|id| !progress.is_unlocked(std::slice::from_ref(id)))
            .collect();
        println!(
            "note: this mission builds on {}, not solved yet; playing it anyway",
            missing.join(", ")
        );
    }

    let target = async {
        match (&seat, &args.context) {
            (Some(s), _) => Ok(Target {
                client: s.client.clone(),
                embedded: None,
                scratch: None,
                clock: Arc::new(Timestamp::now),
                context: s.context.clone(),
            }),
            (None, None) => embedded(args.speed, mission.registry_sources()).await,
            (None, Some(ctx)) => from_context(ctx, args.allow_remote).await,
        }
    };
    let target = tokio::select! {
        t = target => t,
        () = &mut signal => return ExitCode::SUCCESS,
    };
    let mut target = match target {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let namespace = mission.namespace();
    let on = if seat.is_some() {
        ClusterKind::Classroom
    } else if target.embedded.is_some() {
        ClusterKind::Embedded
    } else {
        ClusterKind::Real
    };
    let styled = term::live_terminal();
    println!("mission {}: {}", mission.summary.id, mission.summary.title);
    let connect_line = match (&seat, &target.scratch) {
        (Some(s), _) => {
            println!(
                "class {}, learner {}; in another terminal, with the same KUBECONFIG:\n  \
                 kubectl get pods -n {namespace}",
                s.class, s.learner
            );
            format!(
                "class {}, learner {}: kubectl -n {namespace}",
                s.class, s.learner
            )
        }
        (None, Some(dir)) => {
            let export = format!(
                "export KUBECONFIG={}",
                dir.path().join("kubeconfig").display()
            );
            println!(
                "embedded cluster running; in another terminal:\n  {export}\n  \
                 kubectl get pods -n {namespace}"
            );
            export
        }
        (None, None) => {
            println!(
                "context {}; in another terminal: kubectl --context {} get pods -n {namespace}",
                target.context, target.context
            );
            format!("kubectl --context {} -n {namespace}", target.context)
        }
    };

    let mut print_step = |step: kq_engine::session::StartStep| println!("  {step}");
    let started = tokio::select! {
        started = start_mission_with_progress(&target.client, mission, on, &mut print_step) => started,
        () = &mut signal => {
            println!("\nstopped; cleaning up {namespace}");
            if let Err(e) = cleanup_mission(&target.client, mission).await {
                eprintln!("warning: could not clean up namespace {namespace}: {e}");
            }
            shutdown(&mut target).await;
            return ExitCode::SUCCESS;
        }
    };
    if let Err(e) = started {
        shutdown(&mut target).await;
        return fail(&e.to_string());
    }
    let started_at = Timestamp::now();
    if let Err(e) = store.update(started_at, &mut |p| {
        p.start(&mission.summary.id, started_at)
    }) {
        eprintln!(
            "warning: progress could not be saved ({e}); this attempt will not be recorded. Make \
             sure that folder is writable, or pass --progress FILE"
        );
    }
    println!("\n{}", term::markdown(&mission.briefing, styled));
    // Shared by the session's updates and the hint key (never held across an await).
    let screen = Mutex::new(StatusScreen::new(styled));
    let status = Mutex::new(Status::new(connect_line, mission));
    lock(&screen).show(lock(&status).entries());

    let revealed = load(&store).map_or(0, |p| p.mission(&mission.summary.id).hints_used);
    let (hints_tx, hints_rx) = tokio::sync::watch::channel(revealed);
    let config = SessionConfig {
        clock: target.clock.clone(),
        missions: catalog.summaries(),
        stop_when_solved: true,
        cluster: on,
        // The embedded API server saw every kubectl command of the learner's: the reacting
        // hints and the personal debrief read them. On a real cluster the session keeps its own.
        audit: target
            .embedded
            .as_ref()
            .map(kq_sim::RunningCluster::audit)
            .unwrap_or_default(),
        hints_revealed: hints_rx,
        // In a class the teacher follows the learner's progress.
        class: seat.as_ref().map(|s| class_reporter(s, &args.progress)),
        ..SessionConfig::default()
    };
    let mut recorder = StoreRecorder {
        store: JsonFileStore::new(&args.progress),
    };
    // Set by the `Solved` update when the solve could not be stored: the end must not then
    // claim the progress was saved.
    let unsaved = std::sync::atomic::AtomicBool::new(false);
    // The learner's own debrief (their fix, their commands), from the `Solved` update; the
    // lesson's fixed debrief is printed only when there is none.
    let personal: Mutex<Option<String>> = Mutex::new(None);
    let session = run_session(
        target.client.clone(),
        mission,
        &namespace,
        config,
        &mut recorder,
        |u| {
            if matches!(
                &u,
                SessionUpdate::Solved {
                    progress_error: Some(_),
                    ..
                }
            ) {
                unsaved.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            if let SessionUpdate::Solved {
                debrief: Some(d), ..
            } = &u
            {
                *lock(&personal) = Some(d.to_markdown());
            }
            let mut status = lock(&status);
            let mut screen = lock(&screen);
            let story = status.apply(&u, styled);
            screen.update(&story, status.entries());
        },
    );
    let mut session = std::pin::pin!(session);
    let mut lines = stdin_lines();
    let mut stdin_open = true;
    let code = loop {
        tokio::select! {
            outcome = &mut session => {
                break match outcome {
                    SessionOutcome::Solved => {
                        lock(&screen).finish();
                        let debrief = lock(&personal).take();
                        let debrief = debrief.as_deref().unwrap_or(&mission.debrief);
                        println!("\n{}", term::markdown(debrief, styled));
                        if unsaved.load(std::sync::atomic::Ordering::Relaxed) {
                            eprintln!(
                                "error: the solve was NOT saved to {} (see above)",
                                args.progress.display()
                            );
                            ExitCode::FAILURE
                        } else {
                            println!("progress saved to {}", args.progress.display());
                            ExitCode::SUCCESS
                        }
                    }
                    SessionOutcome::Lost(_) => ExitCode::FAILURE,
                };
            }
            () = &mut signal => {
                println!("\nstopped; cleaning up {namespace}");
                break ExitCode::SUCCESS;
            }
            line = lines.recv(), if stdin_open => match line {
                Some(l) if matches!(l.trim(), "h" | "hint") => {
                    reveal_hint(mission, &store, &mut lock(&screen), &hints_tx);
                }
                Some(_) => lock(&screen).story("(type h and Enter for a hint; Ctrl-C to stop)"),
                None => stdin_open = false,
            },
        }
    };
    if let Err(e) = cleanup_mission(&target.client, mission).await {
        eprintln!("warning: could not clean up namespace {namespace}: {e}");
    }
    if let Some(s) = &seat {
        // The learner has left the mission: the teacher's view says so.
        let reporter = class_reporter(s, &args.progress);
        match tokio::time::timeout(LAST_REPORT_WAIT, reporter.report(None)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: could not tell class {} you left: {e}", s.class),
            Err(_) => eprintln!(
                "warning: could not tell class {} you left: the class server did not answer",
                s.class
            ),
        }
    }
    shutdown(&mut target).await;
    code
}

async fn shutdown(target: &mut Target) {
    if let Some(c) = target.embedded.take() {
        c.shutdown().await;
    }
    if let Some(dir) = target.scratch.take()
        && let Err(e) = dir.close()
    {
        eprintln!("warning: could not remove the temporary kubeconfig folder: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_pod_is_called_deleted_only_once_it_existed() {
        let reason = "there is no pod named web (deleting it is not a fix)";
        let mut existed = BTreeSet::new();
        assert_eq!(
            objective_reason(reason, &existed),
            "pod web does not exist yet",
            "before the pod was ever seen, nobody deleted it"
        );
        existed.insert("web".to_owned());
        assert_eq!(
            objective_reason(reason, &existed),
            reason,
            "once it existed, its absence is a deletion, and that is no fix"
        );
        assert_eq!(
            objective_reason("web is Pending (0/1 ready)", &BTreeSet::new()),
            "web is Pending (0/1 ready)"
        );
    }
}
