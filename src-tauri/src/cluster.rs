//! The cluster missions run on: the embedded one (default) or a kubeconfig context chosen in
//! Settings.
//!
//! The embedded cluster starts with the app and lives as long as it; its kubeconfig is written
//! (mode 0600) to the app's data folder so real `kubectl` reaches it. A chosen context is
//! checked against [`ConnectPolicy`] every time a client is built for it: a context whose
//! server is not on this machine is refused unless the learner allowed that context by name.
//!
//! One `kube::Client` serves every command and the running session; it is built on first use
//! and dropped when the chosen cluster changes.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use kq_engine::connect::{
    ConnectError, ConnectPolicy, ContextInfo, LoadedKubeconfig, list_contexts,
    load_kubeconfig_from_env,
};
use kq_engine::ipc::{ClusterClock, ClusterStatus, Settings, UiError};
use kq_engine::mission::Mission;
use kq_sim::{Cluster, ClusterConfig, RunningCluster};

use crate::error;

/// The context name the embedded cluster's kubeconfig uses.
pub const EMBEDDED_CONTEXT: &str = "kubequest";

/// The embedded cluster, if it started.
pub struct EmbeddedCluster {
    running: Result<RunningCluster, String>,
}

/// `KUBEQUEST_SPEED`: a clock speed for this launch (tests run the cluster faster with it).
pub fn speed_override() -> Option<f64> {
    let raw = std::env::var("KUBEQUEST_SPEED").ok()?;
    match raw.trim().parse::<f64>() {
        Ok(s) if valid_speed(s) => Some(s),
        _ => {
            log::warn!("KUBEQUEST_SPEED={raw:?} is not a speed between 0 and 100; ignored");
            None
        }
    }
}

/// Speeds the embedded clock accepts: above zero, at most 100× real time.
pub fn valid_speed(speed: f64) -> bool {
    speed.is_finite() && speed > 0.0 && speed <= 100.0
}

impl EmbeddedCluster {
    /// Starts the embedded cluster. Failure is not fatal: the mission map still works and the
    /// title bar says what to do.
    pub fn start(kubeconfig: Result<PathBuf, String>, speed: f64, roots: &[PathBuf]) -> Self {
        let running = kubeconfig.and_then(|path| {
            let config = ClusterConfig {
                kubeconfig_path: Some(path),
                speed,
                registry_yaml: root_registries(roots),
                ..ClusterConfig::default()
            };
            tauri::async_runtime::block_on(Cluster::start(config)).map_err(|e| {
                log::error!("embedded cluster failed to start: {e}");
                format!(
                    "The embedded cluster could not start: {e}. Restart KubeQuest; if it keeps \
                     failing, free up a loopback port or disk space."
                )
            })
        });
        EmbeddedCluster { running }
    }

    pub fn running(&self) -> Result<&RunningCluster, UiError> {
        self.running.as_ref().map_err(|m| error::cluster(m.clone()))
    }

    pub fn status(&self) -> ClusterStatus {
        match &self.running {
            Ok(r) => ClusterStatus::Ready {
                context: EMBEDDED_CONTEXT.into(),
                kubeconfig: r
                    .kubeconfig_path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                server: r.url().to_owned(),
            },
            Err(message) => ClusterStatus::Unavailable {
                message: message.clone(),
            },
        }
    }

    pub fn set_speed(&self, speed: f64) {
        if let Ok(r) = &self.running {
            r.set_speed(speed);
        }
    }

    /// The embedded cluster's clock, if it runs.
    pub fn clock(&self) -> Option<ClusterClock> {
        self.running.as_ref().ok().map(read_clock)
    }

    /// Adds the images a mission's `registry.yaml` (and its lessons root's) declare. Read at
    /// every start, so a teacher's edit counts without a restart.
    pub fn add_registries(&self, mission: &Mission) -> Result<(), UiError> {
        let Ok(r) = &self.running else { return Ok(()) };
        for (source, yaml) in mission.registry_sources() {
            r.runtime()
                .add_catalog_yaml(&yaml, &source)
                .map_err(|e| error::lessons(format!("{e}. Fix the file, then start again.")))?;
        }
        Ok(())
    }
}

/// The `registry.yaml` beside the mission folders of each lessons root, added at launch.
pub(crate) fn root_registries(roots: &[PathBuf]) -> Vec<(String, String)> {
    roots
        .iter()
        .filter(|r| r.is_dir())
        .filter_map(|r| {
            kq_engine::mission::root_registry(r)
                .inspect_err(|e| log::warn!("lessons root registry left out: {e}"))
                .ok()
                .flatten()
        })
        .collect()
}

fn read_clock(running: &RunningCluster) -> ClusterClock {
    let clock = running.clock();
    ClusterClock::at(clock.now(), clock.speed())
}

/// The wall clock at speed 1: a real cluster's.
fn wall_clock() -> ClusterClock {
    ClusterClock::at(Timestamp::now(), 1.0)
}

/// A client for the chosen cluster and what the mission screen says about it.
#[derive(Clone)]
pub struct Target {
    pub client: kube::Client,
    /// The context name shown to the learner (`kubequest` for the embedded cluster).
    pub context: String,
    /// `export KUBECONFIG=…` for the embedded cluster.
    pub kubeconfig_export: Option<String>,
    /// The cluster's clock: the embedded one runs at the chosen speed.
    pub clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    /// The same clock with its speed, as the UI receives it.
    pub cluster_clock: Arc<dyn Fn() -> ClusterClock + Send + Sync>,
    pub embedded: bool,
    /// The embedded API server's audit log (a real cluster's cannot be read: each session
    /// keeps its own log of what the app did for the learner).
    pub audit: Option<kq_engine::activity::AuditLog>,
    /// In a class: `(class, learner)` of the learner's seat (missions play as
    /// `ClusterKind::Classroom`, seated in the learner's namespaces).
    pub class: Option<(String, String)>,
}

/// The client in use, built on demand for the chosen cluster.
#[derive(Default)]
pub struct Targets {
    /// The client and the `Settings::context` it was built for.
    current: Mutex<Option<(Option<String>, Target)>>,
}

impl Targets {
    /// Forgets the client (the chosen cluster changed).
    pub fn invalidate(&self) {
        *lock(&self.current) = None;
    }

    /// The client for `settings.context`, built if needed.
    pub async fn get(
        &self,
        embedded: &EmbeddedCluster,
        settings: &Settings,
    ) -> Result<Target, UiError> {
        if let Some((for_context, t)) = lock(&self.current).as_ref()
            && *for_context == settings.context
        {
            return Ok(t.clone());
        }
        let target = match &settings.context {
            None => embedded_target(embedded.running()?).await?,
            Some(name) => context_target(name, settings).await?,
        };
        *lock(&self.current) = Some((settings.context.clone(), target.clone()));
        Ok(target)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn embedded_target(running: &RunningCluster) -> Result<Target, UiError> {
    let kc = kube::config::Kubeconfig::from_yaml(running.kubeconfig_yaml()).map_err(|e| {
        error::internal(format!(
            "The embedded cluster's kubeconfig is unreadable: {e}"
        ))
    })?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .map_err(|e| {
                error::internal(format!(
                    "The embedded cluster's kubeconfig is unusable: {e}"
                ))
            })?;
    let client = kq_engine::connect::app_client(config)
        .map_err(|e| error::cluster(format!("Cannot connect to the embedded cluster: {e}")))?;
    let clock = running.clock().clone();
    let with_speed = running.clock().clone();
    Ok(Target {
        client,
        context: EMBEDDED_CONTEXT.into(),
        kubeconfig_export: running
            .kubeconfig_path()
            .map(|p| format!("export KUBECONFIG={}", p.display())),
        clock: Arc::new(move || clock.now()),
        cluster_clock: Arc::new(move || ClusterClock::at(with_speed.now(), with_speed.speed())),
        embedded: true,
        audit: Some(running.audit()),
        class: None,
    })
}

/// The policy the learner's settings describe.
pub fn policy(settings: &Settings) -> ConnectPolicy {
    ConnectPolicy {
        allowed_remote: settings.allowed_remote_contexts.iter().cloned().collect(),
    }
}

/// Finds `name` in the learner's kubeconfig and checks it against the policy.
pub fn allowed_context(
    name: &str,
    settings: &Settings,
) -> Result<(LoadedKubeconfig, ContextInfo), UiError> {
    let loaded = load_kubeconfig_from_env().map_err(|e| error::from_connect(&e))?;
    let Some(info) = list_contexts(&loaded.config)
        .into_iter()
        .find(|c| c.name == name)
    else {
        return Err(error::from_connect(&ConnectError::UnknownContext {
            context: name.to_owned(),
        }));
    };
    policy(settings)
        .check(&info)
        .map_err(|e| error::from_connect(&e))?;
    Ok((loaded, info))
}

async fn context_target(name: &str, settings: &Settings) -> Result<Target, UiError> {
    let (loaded, _) = allowed_context(name, settings)?;
    let options = kube::config::KubeConfigOptions {
        context: Some(name.to_owned()),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(loaded.config, &options)
        .await
        .map_err(|e| error::cluster(format!("Cannot use the context `{name}`: {e}")))?;
    let client = kq_engine::connect::app_client(config)
        .map_err(|e| error::cluster(format!("Cannot connect to `{name}`: {e}")))?;
    Ok(Target {
        client,
        context: name.to_owned(),
        kubeconfig_export: None,
        clock: Arc::new(Timestamp::now),
        cluster_clock: Arc::new(wall_clock),
        embedded: false,
        audit: None,
        class: None,
    })
}

/// The title bar's view of the chosen cluster.
pub fn status(embedded: &EmbeddedCluster, settings: &Settings) -> ClusterStatus {
    let Some(name) = &settings.context else {
        return embedded.status();
    };
    match allowed_context(name, settings) {
        Ok((loaded, info)) => ClusterStatus::Ready {
            context: info.name,
            kubeconfig: std::env::join_paths(&loaded.files)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default(),
            server: info.server.unwrap_or_default(),
        },
        Err(e) => ClusterStatus::Unavailable { message: e.message },
    }
}
