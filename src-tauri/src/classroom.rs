//! The classroom in the desktop app: a teacher serves a class from this computer (or watches a
//! class prepared on a real cluster), a learner joins one.
//!
//! **Serving** starts a second embedded cluster, the class server, on the address the teacher
//! chose (127.0.0.1 unless they confirmed a network address in the window) with a node per
//! four learners, creates the cluster-wide objects the class's missions need as the teacher
//! (each lesson node copied per learner), as `kq classroom serve` does, runs the engine's
//! [`prepare`] (accounts, namespaces, RBAC, tokens that end with the class, kubeconfigs and the
//! join sheet in the chosen folder), and hands the join codes to the class server. Stopping
//! the class clears the codes and shuts the class server down, so neither codes nor tokens work
//! any more. The teacher's own missions keep playing on the app's embedded cluster meanwhile.
//!
//! **Watching** reads a class with its `teacher.kubeconfig` (the served class's, or one a
//! teacher opens for a class `kq classroom prepare` made on a real cluster); the live view is
//! the engine's [`read_class`], and exports are its CSV and Markdown, saved through the native
//! save dialog as progress exports are.
//!
//! **Joining** takes a learner kubeconfig (a file the teacher gave, or fetched from the class
//! server with a join code) whose context carries the class [`Seat`]. It is kept in the app's
//! data folder (`class.kubeconfig`, mode 0600) so a restart rejoins; while joined, missions come
//! from the catalog seated for the learner and play on the class cluster as
//! [`ClusterKind::Classroom`](kq_engine::session::ClusterKind::Classroom), reporting progress to
//! the class. When the class server stops answering and the session's reconnect gives up, the
//! window asks to fall back: missions play on the embedded cluster (progress stays on this
//! computer) until the learner tries the class again.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use kq_engine::classroom::{
    self, ClassError, ClassPlan, ClassView, Roster, Seat, export_csv, export_markdown, read_class,
};
use kq_engine::ipc::{ClusterStatus, UiError};
use kq_engine::mission::{Catalog, Mission};
use kq_engine::session::ClassReporter;
use kq_sim::{Cluster, ClusterConfig, JoinEntry, RunningCluster};
use serde::{Deserialize, Serialize};
use tauri::Manager;
use tauri::ipc::Channel;
use tauri_plugin_opener::OpenerExt;

use crate::cluster::{Target, Targets};
use crate::dialogs::{self, Dialog};
use crate::error;
use crate::missions::Sessions;
use crate::progress::ProgressBook;

/// The largest roster file the app reads (a class of a few hundred names fits many times).
const MAX_ROSTER_BYTES: u64 = 64 * 1024;
/// The largest kubeconfig file the app reads.
const MAX_KUBECONFIG_BYTES: u64 = 256 * 1024;

// ---- what the window receives (hand-written in ui/src/lib/classroom.ts) -----------------

/// The serve form's starting values.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServeDefaults {
    /// `~/KubeQuest/class-<date>`.
    pub out: String,
    /// This computer's addresses other computers may reach it on (never loopback).
    pub addresses: Vec<String>,
}

/// What the teacher sends to start a class.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServeRequest {
    pub roster: String,
    /// The file name roster errors name (`names.txt` when pasted).
    pub roster_file: String,
    pub class: String,
    pub hours: f64,
    pub out: String,
    pub listen: String,
}

/// A class this app serves, as the window shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServingClass {
    pub class: String,
    pub server: String,
    pub folder: String,
    pub sheet: String,
    pub learners: Vec<String>,
    pub ends_at: String,
    pub left_out: Vec<(String, String)>,
}

/// The class this app's learner joined.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinedClass {
    pub class: String,
    pub learner: String,
    pub server: String,
    /// The class server stopped answering: missions play on the embedded cluster.
    pub fallback: bool,
}

/// The classroom as the app holds it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassroomState {
    pub serving: Option<ServingClass>,
    pub joined: Option<JoinedClass>,
    pub watching: Option<String>,
}

/// A roster opened from a file.
#[derive(Debug, Clone, Serialize)]
pub struct RosterFile {
    pub file: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Markdown,
}

// ---- state ----------------------------------------------------------------------------

/// A class served from this computer.
struct Serving {
    info: ServingClass,
    /// The class server; `None` only while it is being shut down.
    server: Option<RunningCluster>,
    /// The teacher's identity on it (its `teacher.kubeconfig`).
    teacher: kube::Client,
}

/// A class watched with a teacher kubeconfig opened from a file.
struct Watching {
    class: String,
    teacher: kube::Client,
}

/// The learner's class.
struct Joined {
    info: JoinedClass,
    /// The learner kubeconfig (kept in the data folder).
    config: kube::config::Kubeconfig,
    /// Its context (`kq-class-<class>-<learner>`).
    context: String,
    /// Built on first use; dropped on fall-back so a retry connects afresh.
    client: Option<kube::Client>,
    /// The class's missions (its `class` ConfigMap), read on first use.
    missions: Option<Vec<String>>,
}

#[derive(Default)]
struct State {
    serving: Option<Serving>,
    watching: Option<Watching>,
    joined: Option<Joined>,
}

/// The classroom, managed by Tauri.
pub struct Classroom {
    state: Mutex<State>,
    /// `class.kubeconfig` in the app's data folder.
    seat_file: Result<PathBuf, String>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn class_error(e: &ClassError) -> UiError {
    let text = e.to_string();
    let mut chars = text.chars();
    let message = match (e, chars.next()) {
        // They start with the roster's file name (`names.txt:4: …`), kept as it is: the window
        // shows each line beside the line it names.
        (ClassError::Roster { .. } | ClassError::EmptyRoster { .. }, _) | (_, None) => text,
        (_, Some(first)) => first.to_uppercase().chain(chars).collect(),
    };
    match e {
        ClassError::Cluster { .. }
        | ClassError::NoServer { .. }
        | ClassError::JoinRefused { .. }
        | ClassError::TooManyAttempts { .. }
        | ClassError::JoinFailed { .. }
        | ClassError::NoClass { .. } => error::cluster(message),
        _ => error::internal(message),
    }
}

impl Classroom {
    /// The classroom, rejoining the class whose kubeconfig a previous run kept.
    pub fn open(seat_file: Result<PathBuf, String>) -> Self {
        let mut state = State::default();
        if let Ok(path) = &seat_file
            && path.is_file()
        {
            match dialogs::read_picked(path, MAX_KUBECONFIG_BYTES)
                .and_then(|yaml| joined_from_yaml(&yaml))
            {
                Ok(joined) => state.joined = Some(joined),
                Err(e) => log::warn!(
                    "the class kubeconfig {} is left out: {}",
                    path.display(),
                    e.message
                ),
            }
        }
        Classroom {
            state: Mutex::new(state),
            seat_file,
        }
    }

    pub fn snapshot(&self) -> ClassroomState {
        let state = lock(&self.state);
        ClassroomState {
            serving: state.serving.as_ref().map(|s| s.info.clone()),
            joined: state.joined.as_ref().map(|j| j.info.clone()),
            watching: state.watching.as_ref().map(|w| w.class.clone()),
        }
    }

    /// The title bar's view of the class cluster, while playing in a class.
    pub fn status(&self) -> Option<ClusterStatus> {
        let state = lock(&self.state);
        let j = state.joined.as_ref().filter(|j| !j.info.fallback)?;
        Some(ClusterStatus::Ready {
            context: j.context.clone(),
            kubeconfig: self
                .seat_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            server: j.info.server.clone(),
        })
    }

    /// The learner kubeconfig and its context, for the terminal, while playing in a class.
    pub fn kubeconfig(&self) -> Option<(kube::config::Kubeconfig, String)> {
        let state = lock(&self.state);
        let j = state.joined.as_ref().filter(|j| !j.info.fallback)?;
        Some((j.config.clone(), j.context.clone()))
    }

    /// The class's client, built once.
    async fn learner_client(&self) -> Option<Result<(kube::Client, String, String), UiError>> {
        let (config, context, class, learner) = {
            let state = lock(&self.state);
            let j = state.joined.as_ref().filter(|j| !j.info.fallback)?;
            if let Some(client) = &j.client {
                return Some(Ok((
                    client.clone(),
                    j.info.class.clone(),
                    j.info.learner.clone(),
                )));
            }
            (
                j.config.clone(),
                j.context.clone(),
                j.info.class.clone(),
                j.info.learner.clone(),
            )
        };
        let client = match client_for(config, &context).await {
            Ok(c) => c,
            Err(e) => return Some(Err(e)),
        };
        if let Some(j) = lock(&self.state).joined.as_mut() {
            j.client = Some(client.clone());
        }
        Some(Ok((client, class, learner)))
    }

    /// The target missions play on while in a class: the learner's credentials on the class
    /// cluster, through the real-cluster code path.
    pub async fn target(&self) -> Option<Result<Target, UiError>> {
        let (client, class, learner) = match self.learner_client().await? {
            Ok(found) => found,
            Err(e) => return Some(Err(e)),
        };
        let context = self.kubeconfig().map(|(_, c)| c).unwrap_or_default();
        Some(Ok(Target {
            client,
            context,
            kubeconfig_export: self
                .seat_file
                .as_ref()
                .ok()
                .map(|p| format!("export KUBECONFIG={}", p.display())),
            clock: Arc::new(Timestamp::now),
            cluster_clock: Arc::new(|| kq_engine::ipc::ClusterClock::at(Timestamp::now(), 1.0)),
            embedded: false,
            audit: None,
            class: Some((class, learner)),
        }))
    }

    /// The catalog seated for the learner over the class's missions, while in a class. A
    /// class that cannot be read (its server gone since the app last ran) falls back to the
    /// embedded cluster, as a lost connection does, rather than leaving an empty map.
    pub async fn seated(&self, catalog: Catalog) -> Catalog {
        match self.class_catalog(&catalog).await {
            Ok(Some(seated)) => seated,
            Ok(None) => catalog,
            Err(e) => {
                log::warn!(
                    "the class cannot be read ({}); missions play on the embedded cluster",
                    e.message
                );
                if let Some(j) = lock(&self.state).joined.as_mut() {
                    j.info.fallback = true;
                    j.client = None;
                }
                catalog
            }
        }
    }

    async fn class_catalog(&self, catalog: &Catalog) -> Result<Option<Catalog>, UiError> {
        let Some(found) = self.learner_client().await else {
            return Ok(None);
        };
        let (client, _, learner) = found?;
        let cached = lock(&self.state)
            .joined
            .as_ref()
            .and_then(|j| j.missions.clone());
        let missions = match cached {
            Some(m) => m,
            None => {
                let m = kq_engine::session::class_missions(&client)
                    .await
                    .map_err(|e| class_error(&e))?;
                if let Some(j) = lock(&self.state).joined.as_mut() {
                    j.missions = Some(m.clone());
                }
                m
            }
        };
        Ok(Some(catalog.seated(&learner, &missions)))
    }

    /// Where a learner's session reports, while in a class.
    pub async fn reporter(&self, app: &tauri::AppHandle) -> Option<ClassReporter> {
        let (client, class, learner) = self.learner_client().await?.ok()?;
        let reader = app.clone();
        Some(ClassReporter {
            client,
            class,
            learner,
            progress: Arc::new(move || {
                reader.state::<ProgressBook>().load().map_err(|e| e.message)
            }),
            every: kq_engine::session::class::REPORT_EVERY,
            warn: Arc::new(|m| log::warn!("class report: {m}")),
        })
    }

    /// The teacher's client for the live view: the served class's, else the watched one's.
    fn teacher(&self) -> Result<(kube::Client, Option<Timestamp>), UiError> {
        let state = lock(&self.state);
        if let Some(s) = &state.serving {
            let now = s.server.as_ref().map(|r| r.clock().now());
            return Ok((s.teacher.clone(), now));
        }
        if let Some(w) = &state.watching {
            return Ok((w.teacher.clone(), None));
        }
        Err(error::internal(
            "No class is served or watched. Serve a class, or open a class's teacher.kubeconfig.",
        ))
    }
}

/// A learner's class from their kubeconfig: its current context must carry a learner seat.
fn joined_from_yaml(yaml: &str) -> Result<Joined, UiError> {
    let config = kube::config::Kubeconfig::from_yaml(yaml).map_err(|e| {
        error::internal(format!(
            "This is not a kubeconfig file ({e}). Open the .kubeconfig file your teacher gave you."
        ))
    })?;
    let Some(seat) = Seat::from_kubeconfig(&config, None) else {
        return Err(error::internal(
            "This kubeconfig is not a KubeQuest class's (its context has no class seat). Open \
             the .kubeconfig file your teacher gave you, or join with your code.",
        ));
    };
    let Some(learner) = seat.learner.clone() else {
        return Err(error::internal(
            "This is the teacher's kubeconfig. Learners join with their own file; a teacher \
             opens it under Classroom → Watch a class.",
        ));
    };
    let context = config
        .current_context
        .clone()
        .unwrap_or_else(|| seat.context_name());
    let server = server_of(&config, &context).unwrap_or_default();
    Ok(Joined {
        info: JoinedClass {
            class: seat.class,
            learner,
            server,
            fallback: false,
        },
        config,
        context,
        client: None,
        missions: None,
    })
}

fn server_of(config: &kube::config::Kubeconfig, context: &str) -> Option<String> {
    let ctx = config.contexts.iter().find(|c| c.name == context)?;
    let cluster_name = &ctx.context.as_ref()?.cluster;
    let cluster = config.clusters.iter().find(|c| &c.name == cluster_name)?;
    cluster.cluster.as_ref()?.server.clone()
}

async fn client_for(
    config: kube::config::Kubeconfig,
    context: &str,
) -> Result<kube::Client, UiError> {
    let options = kube::config::KubeConfigOptions {
        context: Some(context.to_owned()),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(config, &options)
        .await
        .map_err(|e| error::cluster(format!("The class kubeconfig cannot be used: {e}")))?;
    kq_engine::connect::app_client(config)
        .map_err(|e| error::cluster(format!("Cannot connect to the class: {e}")))
}

async fn client_from_yaml(yaml: &str) -> Result<(kube::Client, String), UiError> {
    let config = kube::config::Kubeconfig::from_yaml(yaml)
        .map_err(|e| error::internal(format!("The kubeconfig is unreadable: {e}")))?;
    let context = config.current_context.clone().unwrap_or_default();
    Ok((client_for(config, &context).await?, context))
}

/// This computer's addresses learners on its networks could reach (loopback and IPv6
/// link-local ones left out: the latter need an interface name a URL cannot carry).
fn network_addresses() -> Vec<String> {
    let mut found: Vec<IpAddr> = match if_addrs::get_if_addrs() {
        Ok(ifaces) => ifaces
            .into_iter()
            .map(|i| i.ip())
            .filter(|ip| !ip.is_loopback())
            .filter(|ip| match ip {
                IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
                IpAddr::V4(_) => true,
            })
            .collect(),
        Err(e) => {
            log::warn!("cannot list this computer's network addresses: {e}");
            Vec::new()
        }
    };
    found.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    found.dedup();
    found.into_iter().map(|ip| ip.to_string()).collect()
}

fn date_stamp() -> String {
    Timestamp::now().strftime("%Y-%m-%d").to_string()
}

// ---- commands -----------------------------------------------------------------------------

#[tauri::command]
pub fn classroom_state(classroom: tauri::State<'_, Classroom>) -> ClassroomState {
    classroom.snapshot()
}

#[tauri::command]
pub fn classroom_defaults(app: tauri::AppHandle) -> ServeDefaults {
    let home = app
        .path()
        .home_dir()
        .unwrap_or_else(|_| std::env::temp_dir());
    ServeDefaults {
        out: home
            .join("KubeQuest")
            .join(format!("class-{}", date_stamp()))
            .display()
            .to_string(),
        addresses: network_addresses(),
    }
}

#[tauri::command]
pub async fn classroom_open_roster(app: tauri::AppHandle) -> Result<Option<RosterFile>, UiError> {
    let Some(path) = dialogs::pick(
        &app,
        Dialog {
            title: "Open a class roster (one learner name per line)".into(),
            filter: "Roster",
            extensions: &["txt", "csv", "md"],
        },
    )
    .await?
    else {
        return Ok(None);
    };
    let text = dialogs::read_picked(&path, MAX_ROSTER_BYTES)?;
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "names.txt".into());
    Ok(Some(RosterFile { file, text }))
}

#[tauri::command]
pub async fn classroom_serve(
    app: tauri::AppHandle,
    request: ServeRequest,
    on_progress: Channel<String>,
) -> Result<ServingClass, UiError> {
    let classroom = app.state::<Classroom>();
    if lock(&classroom.state).serving.is_some() {
        return Err(error::internal(
            "A class is already served from this computer. Stop it first.",
        ));
    }
    let listen: IpAddr = request.listen.parse().map_err(|_| {
        error::internal(format!(
            "\"{}\" is not an address of this computer. Choose one from the list.",
            request.listen
        ))
    })?;
    if !listen.is_loopback() && !network_addresses().contains(&listen.to_string()) {
        return Err(error::internal(format!(
            "{listen} is not one of this computer's network addresses any more. Choose one \
             from the list."
        )));
    }
    let out = PathBuf::from(request.out.trim());
    if !out.is_absolute() {
        return Err(error::internal(format!(
            "The class folder must be a full path (such as {}), not \"{}\".",
            classroom_defaults(app.clone()).out,
            request.out
        )));
    }
    let (catalog, roots) = crate::missions::catalog_of(&app).await?;
    let mut say = |step: &str| {
        let _ = on_progress.send(step.to_owned());
    };
    let serving = serve_class(&catalog, &roots, &request, listen, &out, &mut say).await?;
    let info = serving.info.clone();
    let refused = {
        let mut state = lock(&classroom.state);
        if state.serving.is_some() {
            // Another Start won the race: this class server goes again.
            Some(serving)
        } else {
            state.watching = None;
            state.serving = Some(serving);
            None
        }
    };
    if let Some(mut extra) = refused {
        if let Some(server) = extra.server.take() {
            server.shutdown().await;
        }
        return Err(error::internal(
            "A class is already served from this computer. Stop it first.",
        ));
    }
    Ok(info)
}

/// Starts the class server on `listen` and prepares `request`'s class on it into `out`,
/// telling `say` each step; the class server shuts down again if anything fails.
async fn serve_class(
    catalog: &Catalog,
    roots: &[PathBuf],
    request: &ServeRequest,
    listen: IpAddr,
    out: &Path,
    say: &mut (dyn FnMut(&str) + Send),
) -> Result<Serving, UiError> {
    let roster =
        Roster::parse(&request.roster_file, &request.roster).map_err(|e| class_error(&e))?;
    let plan = ClassPlan::new(
        &request.class,
        roster,
        catalog,
        request.hours,
        true,
        Timestamp::now(),
    )
    .map_err(|e| class_error(&e))?;
    let running = Cluster::start(ClusterConfig {
        listen,
        // Enough default-sized nodes for the class's pods.
        nodes: kq_sim::class_nodes(plan.roster.learners.len()),
        registry_yaml: crate::cluster::root_registries(roots),
        ..ClusterConfig::default()
    })
    .await
    .map_err(|e| {
        error::cluster(format!(
            "The class server could not start on {listen}: {e}. Choose another address, or \
             free the port."
        ))
    })?;
    say(&format!("Class server listening at {}", running.url()));
    let result = async {
        let (admin, _) = client_from_yaml(running.kubeconfig_yaml()).await?;
        let missions: Vec<&Mission> = plan
            .missions
            .iter()
            .filter_map(|id| catalog.get(id))
            .collect();
        for mission in &missions {
            for (source, yaml) in mission.registry_sources() {
                running
                    .runtime()
                    .add_catalog_yaml(&yaml, &source)
                    .map_err(|e| error::lessons(format!("{e}. Fix the file, then start again.")))?;
            }
        }
        // The lessons' extra nodes, one copy per learner (as `kq classroom serve` makes them).
        classroom::server::create_cluster_objects(
            &admin,
            &plan.class,
            &missions,
            plan.roster.learners.len(),
            say,
        )
        .await
        .map_err(|e| class_error(&e))?;
        let prepared = classroom::prepare(&admin, &plan, running.url(), running.ca_pem(), out, say)
            .await
            .map_err(|e| class_error(&e))?;
        let mut codes = Vec::new();
        let mut teacher = None;
        for (who, path) in &prepared.kubeconfigs {
            let yaml = dialogs::read_picked(path, MAX_KUBECONFIG_BYTES)?;
            if who == classroom::TEACHER_ACCOUNT {
                teacher = Some(yaml);
            } else if let Some((_, code)) = prepared.join_codes.iter().find(|(l, _)| l == who) {
                codes.push(JoinEntry {
                    code: code.clone(),
                    learner: who.clone(),
                    kubeconfig: yaml,
                    expires_at: plan.ends_at,
                });
            }
        }
        running.set_join_codes(codes);
        let teacher = teacher.ok_or_else(|| {
            error::internal("The class was prepared without a teacher kubeconfig.")
        })?;
        let (teacher, _) = client_from_yaml(&teacher).await?;
        let sheet = prepared.sheet.with_extension("html");
        Ok::<_, UiError>((teacher, sheet))
    }
    .await;
    let (teacher, sheet) = match result {
        Ok(found) => found,
        Err(e) => {
            running.shutdown().await;
            return Err(e);
        }
    };
    say(&format!("Join sheet written to {}", sheet.display()));
    let info = ServingClass {
        class: plan.class.clone(),
        server: running.url().to_owned(),
        folder: out.display().to_string(),
        sheet: sheet.display().to_string(),
        learners: plan.roster.learners.clone(),
        ends_at: plan.ends_at.to_string(),
        left_out: plan.left_out.clone(),
    };
    Ok(Serving {
        info,
        server: Some(running),
        teacher,
    })
}

/// Ends the served class (codes and tokens stop working with its server), or stops watching.
#[tauri::command]
pub async fn classroom_stop(classroom: tauri::State<'_, Classroom>) -> Result<(), UiError> {
    let server = {
        let mut state = lock(&classroom.state);
        state.watching = None;
        state.serving.take().and_then(|mut s| s.server.take())
    };
    if let Some(server) = server {
        server.clear_join_codes();
        server.shutdown().await;
    }
    Ok(())
}

#[tauri::command]
pub fn classroom_open_folder(
    app: tauri::AppHandle,
    classroom: tauri::State<'_, Classroom>,
) -> Result<(), UiError> {
    let folder = lock(&classroom.state)
        .serving
        .as_ref()
        .map(|s| s.info.folder.clone())
        .ok_or_else(|| error::internal("No class is served, so there is no folder to open."))?;
    app.opener()
        .open_path(&folder, None::<&str>)
        .map_err(|e| error::internal(format!("Cannot open {folder}: {e}")))
}

async fn read_view(app: &tauri::AppHandle) -> Result<ClassView, UiError> {
    let (client, clock) = app.state::<Classroom>().teacher()?;
    let (catalog, _) = crate::missions::catalog_of(app).await?;
    read_class(&client, &catalog, clock.unwrap_or_else(Timestamp::now))
        .await
        .map_err(|e| class_error(&e))
}

/// The live class view, without each learner's whole report (the window never needs it).
#[tauri::command]
pub async fn classroom_view(app: tauri::AppHandle) -> Result<ClassView, UiError> {
    let mut view = read_view(&app).await?;
    for row in &mut view.learners {
        row.export = None;
    }
    Ok(view)
}

#[tauri::command]
pub async fn classroom_open_teacher(app: tauri::AppHandle) -> Result<Option<String>, UiError> {
    let Some(path) = dialogs::pick(
        &app,
        Dialog {
            title: "Open the class's teacher.kubeconfig".into(),
            filter: "Kubeconfig",
            extensions: &["kubeconfig", "yaml", "yml"],
        },
    )
    .await?
    else {
        return Ok(None);
    };
    let yaml = dialogs::read_picked(&path, MAX_KUBECONFIG_BYTES)?;
    let config = kube::config::Kubeconfig::from_yaml(&yaml)
        .map_err(|e| error::internal(format!("{} is not a kubeconfig: {e}", path.display())))?;
    let Some(seat) = Seat::from_kubeconfig(&config, None) else {
        return Err(error::internal(format!(
            "{} is not a KubeQuest class's kubeconfig. Open the teacher.kubeconfig that `kq \
             classroom prepare` wrote.",
            path.display()
        )));
    };
    if seat.learner.is_some() {
        return Err(error::internal(
            "This is a learner's kubeconfig: it cannot see the class. Open teacher.kubeconfig.",
        ));
    }
    let (teacher, _) = client_from_yaml(&yaml).await?;
    let (catalog, _) = crate::missions::catalog_of(&app).await?;
    // Read once now, so a wrong or expired file says so here rather than in the view.
    read_class(&teacher, &catalog, Timestamp::now())
        .await
        .map_err(|e| class_error(&e))?;
    let classroom = app.state::<Classroom>();
    lock(&classroom.state).watching = Some(Watching {
        class: seat.class.clone(),
        teacher,
    });
    Ok(Some(seat.class))
}

/// Saves the class table (the same columns as `kq progress report`) through the save dialog.
#[tauri::command]
pub async fn classroom_export(
    app: tauri::AppHandle,
    format: ExportFormat,
) -> Result<Option<String>, UiError> {
    let view = read_view(&app).await?;
    let (text, ext, label) = match format {
        ExportFormat::Csv => (export_csv(&view), "csv", "CSV"),
        ExportFormat::Markdown => (export_markdown(&view), "md", "Markdown"),
    };
    dialogs::save_text(
        &app,
        Dialog {
            title: format!("Export the class table ({label})"),
            filter: label,
            extensions: &[ext],
        },
        format!("class-{}-{}.{ext}", view.class, date_stamp()),
        text,
    )
    .await
}

/// Joins the class of learner kubeconfig `yaml`: checks it reaches its class, keeps it in the
/// data folder (0600), and makes missions play there.
async fn join(app: &tauri::AppHandle, yaml: &str) -> Result<JoinedClass, UiError> {
    let mut joined = joined_from_yaml(yaml)?;
    let client = client_for(joined.config.clone(), &joined.context).await?;
    let missions = kq_engine::session::class_missions(&client)
        .await
        .map_err(|e| class_error(&e))?;
    let classroom = app.state::<Classroom>();
    let path = classroom.seat_file.clone().map_err(error::internal)?;
    classroom::write_kubeconfig(&path, yaml).map_err(|e| class_error(&e))?;
    joined.client = Some(client);
    joined.missions = Some(missions);
    let info = joined.info.clone();
    lock(&classroom.state).joined = Some(joined);
    switched(app);
    Ok(info)
}

/// The cluster missions play on changed: forget the client and stop the running mission.
fn switched(app: &tauri::AppHandle) {
    app.state::<Targets>().invalidate();
    app.state::<Sessions>().stop_all();
}

#[tauri::command]
pub async fn classroom_join_file(app: tauri::AppHandle) -> Result<Option<JoinedClass>, UiError> {
    let Some(path) = dialogs::pick(
        &app,
        Dialog {
            title: "Open your class file".into(),
            filter: "Kubeconfig",
            extensions: &["kubeconfig", "yaml", "yml"],
        },
    )
    .await?
    else {
        return Ok(None);
    };
    let yaml = dialogs::read_picked(&path, MAX_KUBECONFIG_BYTES)?;
    join(&app, &yaml).await.map(Some)
}

#[tauri::command]
pub async fn classroom_join_code(
    app: tauri::AppHandle,
    server: String,
    code: String,
) -> Result<JoinedClass, UiError> {
    let (_, yaml) = classroom::join_with_code(&server, &code)
        .await
        .map_err(|e| class_error(&e))?;
    join(&app, &yaml).await
}

#[tauri::command]
pub fn classroom_leave(app: tauri::AppHandle) -> Result<(), UiError> {
    let classroom = app.state::<Classroom>();
    lock(&classroom.state).joined = None;
    if let Ok(path) = &classroom.seat_file
        && let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        return Err(error::internal(format!(
            "Cannot remove the class file {}: {e}",
            path.display()
        )));
    }
    switched(&app);
    Ok(())
}

#[tauri::command]
pub fn classroom_fall_back(app: tauri::AppHandle) -> Result<JoinedClass, UiError> {
    let classroom = app.state::<Classroom>();
    let info = {
        let mut state = lock(&classroom.state);
        let Some(j) = state.joined.as_mut() else {
            return Err(error::internal("You are not in a class."));
        };
        j.info.fallback = true;
        j.client = None;
        j.info.clone()
    };
    log::warn!(
        "the class server of {} stopped answering; missions play on the embedded cluster",
        info.class
    );
    switched(&app);
    Ok(info)
}

#[tauri::command]
pub async fn classroom_retry(app: tauri::AppHandle) -> Result<JoinedClass, UiError> {
    let classroom = app.state::<Classroom>();
    let (config, context, server) = {
        let state = lock(&classroom.state);
        let Some(j) = state.joined.as_ref() else {
            return Err(error::internal("You are not in a class."));
        };
        (j.config.clone(), j.context.clone(), j.info.server.clone())
    };
    let client = client_for(config, &context).await?;
    let missions = kq_engine::session::class_missions(&client)
        .await
        .map_err(|e| {
            error::cluster(format!(
                "The class server at {server} still does not answer ({e}). Try again when your \
                 teacher says the class is back."
            ))
        })?;
    let info = {
        let mut state = lock(&classroom.state);
        let Some(j) = state.joined.as_mut() else {
            return Err(error::internal("You are not in a class."));
        };
        j.info.fallback = false;
        j.client = Some(client);
        j.missions = Some(missions);
        j.info.clone()
    };
    switched(&app);
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lessons() -> (Catalog, Vec<PathBuf>) {
        let roots = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../lessons")];
        (Catalog::load(&roots), roots)
    }

    fn request(roster: &str, out: &Path) -> ServeRequest {
        ServeRequest {
            roster: roster.into(),
            roster_file: "names.txt".into(),
            class: "year-10".into(),
            hours: 2.0,
            out: out.display().to_string(),
            listen: "127.0.0.1".into(),
        }
    }

    /// The code on the Markdown join sheet for `learner` (`| ada | `ABCD-EFGH` |`).
    fn code_of(sheet: &str, learner: &str) -> String {
        let row = sheet
            .lines()
            .find(|l| l.starts_with(&format!("| {learner} |")))
            .unwrap_or_else(|| panic!("the sheet lists {learner}:\n{sheet}"));
        row.split('`')
            .nth(1)
            .expect("the code is quoted")
            .to_owned()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_served_class_lets_a_learner_join_with_a_code_and_the_teacher_read_the_class() {
        let (catalog, roots) = lessons();
        let dir = tempfile::tempdir().expect("a temporary folder");
        let out = dir.path().join("class");
        let mut steps = Vec::new();
        let mut say = |s: &str| steps.push(s.to_owned());
        let mut serving = serve_class(
            &catalog,
            &roots,
            &request("# the front row\nada\ngrace\n", &out),
            "127.0.0.1".parse().unwrap(),
            &out,
            &mut say,
        )
        .await
        .expect("the class is served");
        let server = serving.server.take().expect("the class server runs");
        assert!(
            steps[0].starts_with("Class server listening at https://127.0.0.1:"),
            "the first step names the server: {steps:?}"
        );
        assert!(
            steps
                .iter()
                .any(|s| s.starts_with("created node ")
                    && s.contains("copies of it, one per learner")),
            "the extra nodes of the class's missions are the teacher's to create: {steps:?}"
        );
        assert_eq!(serving.info.learners, ["ada", "grace"]);
        assert_eq!(serving.info.server, server.url());
        assert!(
            serving
                .info
                .left_out
                .iter()
                .any(|(id, _)| id == "drain-blocked-by-pdb"),
            "a drain would evict the whole class's pods"
        );
        assert!(Path::new(&serving.info.sheet).is_file());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(out.join("ada.kubeconfig"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o777,
                0o600,
                "a learner's credentials are theirs only"
            );
        }

        // A learner joins with the code from the sheet, typed in lower case without the dash.
        let sheet = std::fs::read_to_string(out.join("join-sheet.md")).unwrap();
        let typed = code_of(&sheet, "grace").to_lowercase().replace('-', "");
        let (learner, yaml) = classroom::join_with_code(server.url(), &typed)
            .await
            .expect("the class server answers the code");
        assert_eq!(learner, "grace");
        let joined = joined_from_yaml(&yaml).expect("the answer is grace's class kubeconfig");
        assert_eq!(
            (
                joined.info.class.as_str(),
                joined.info.learner.as_str(),
                joined.info.server.as_str()
            ),
            ("year-10", "grace", server.url())
        );
        let client = client_for(joined.config.clone(), &joined.context)
            .await
            .unwrap();
        let missions = kq_engine::session::class_missions(&client)
            .await
            .expect("grace reads the class's missions with her own token");
        assert!(missions.iter().any(|m| m == "crash-loop-backoff"));
        assert!(!missions.iter().any(|m| m == "drain-blocked-by-pdb"));

        // The teacher's view lists both learners, neither on a mission yet.
        let view = read_class(&serving.teacher, &catalog, server.clock().now())
            .await
            .expect("the teacher reads the class");
        let rows: Vec<(&str, Option<&str>)> = view
            .learners
            .iter()
            .map(|r| (r.learner.as_str(), r.mission.as_deref()))
            .collect();
        assert_eq!(rows, [("ada", None), ("grace", None)]);

        // Stopped: the code no longer works.
        server.clear_join_codes();
        let refused = classroom::join_with_code(server.url(), &typed).await;
        assert!(
            matches!(refused, Err(ClassError::JoinRefused { .. })),
            "{refused:?}"
        );
        server.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bad_roster_starts_nothing_and_names_each_line() {
        let (catalog, roots) = lessons();
        let dir = tempfile::tempdir().expect("a temporary folder");
        let out = dir.path().join("class");
        let mut steps = Vec::new();
        let mut say = |s: &str| steps.push(s.to_owned());
        let Err(e) = serve_class(
            &catalog,
            &roots,
            &request("ada\nAda Lovelace\nada\n", &out),
            "127.0.0.1".parse().unwrap(),
            &out,
            &mut say,
        )
        .await
        else {
            panic!("a roster with a bad name and a repeat is refused");
        };
        let lines: Vec<&str> = e.message.lines().collect();
        assert_eq!(lines.len(), 2, "{}", e.message);
        assert!(lines[0].starts_with("names.txt:2: "), "{}", e.message);
        assert!(lines[1].starts_with("names.txt:3: "), "{}", e.message);
        assert!(steps.is_empty(), "no class server was started: {steps:?}");
        assert!(!out.exists(), "nothing was written");
    }

    #[test]
    fn only_a_learners_class_kubeconfig_joins() {
        let learner = Seat {
            class: "year-10".into(),
            learner: Some("ada".into()),
        };
        let yaml =
            classroom::render_kubeconfig("https://192.168.1.20:40123", "", "token", &learner);
        let joined = joined_from_yaml(&yaml).expect("a learner's file joins");
        assert_eq!(joined.info.learner, "ada");
        assert_eq!(joined.info.server, "https://192.168.1.20:40123");
        assert_eq!(joined.context, "kq-class-year-10-ada");

        let teacher = Seat {
            class: "year-10".into(),
            learner: None,
        };
        let yaml = classroom::render_kubeconfig("https://192.168.1.20:40123", "", "t", &teacher);
        let e = joined_from_yaml(&yaml)
            .err()
            .expect("the teacher's file is refused");
        assert!(e.message.contains("teacher's kubeconfig"), "{}", e.message);

        let plain = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n";
        let e = joined_from_yaml(plain)
            .err()
            .expect("a plain kubeconfig is refused");
        assert!(e.message.contains("not a KubeQuest class"), "{}", e.message);
    }

    #[test]
    fn a_class_kept_from_the_last_run_is_rejoined_and_a_damaged_file_left_out() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let kept = dir.path().join("class.kubeconfig");
        let none = Classroom::open(Ok(kept.clone()));
        assert!(none.snapshot().joined.is_none(), "no file, no class");

        let seat = Seat {
            class: "monday".into(),
            learner: Some("ada".into()),
        };
        let yaml = classroom::render_kubeconfig("https://127.0.0.1:40123", "", "token", &seat);
        classroom::write_kubeconfig(&kept, &yaml).expect("the kubeconfig is written");
        let again = Classroom::open(Ok(kept.clone()));
        let joined = again.snapshot().joined.expect("the class is rejoined");
        assert_eq!(
            (joined.class.as_str(), joined.learner.as_str()),
            ("monday", "ada")
        );
        assert!(!joined.fallback);
        let Some(ClusterStatus::Ready {
            context,
            kubeconfig,
            ..
        }) = again.status()
        else {
            panic!("the title bar shows the class's context");
        };
        assert_eq!(context, "kq-class-monday-ada");
        assert_eq!(kubeconfig, kept.display().to_string());

        std::fs::write(&kept, "not: [a kubeconfig").unwrap();
        let damaged = Classroom::open(Ok(kept));
        assert!(
            damaged.snapshot().joined.is_none(),
            "a damaged file is left out, and the app plays on its own cluster"
        );
    }

    #[test]
    fn the_serve_form_never_offers_loopback() {
        for address in network_addresses() {
            let ip: IpAddr = address.parse().expect("an IP address");
            assert!(!ip.is_loopback(), "{address} is this computer only");
        }
    }
}
