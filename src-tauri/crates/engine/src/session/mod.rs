//! A mission being played: starting it on a cluster, the editor's actions, and the live session.
//!
//! - [`start_mission`] (and [`reset_mission`], the same thing) puts the mission's broken state
//!   into its namespace `kq-<id>`; [`cleanup_mission`] deletes the namespace.
//! - [`apply_yaml`] and [`delete_yaml`] are the editor's Apply and Delete buttons: kubectl's
//!   client-side `apply -f` / `delete -f` on the edited text, answering kubectl's output
//!   ([`apply`] explains the details).
//! - [`run_session`] watches the namespace and pushes [`crate::ipc::SessionUpdate`]s: pipeline
//!   changes, the events table, objectives, the solve and the connection state ([`driver`]);
//!   [`resync_clock`], run next to it, keeps the UI's idea of the cluster's time current.
//!
//! # Starting over
//!
//! A learner who presses Start (or Reset) on a mission played before wants the broken state
//! back *now*, not a 30-second wait for a crash-looping pod's graceful shutdown, and not a
//! leftover "fixed" pod that makes the mission look solved. So a start:
//!
//! 1. waits for a namespace still being deleted (after [`cleanup_mission`]) to be gone;
//! 2. creates or re-labels the namespace (`app.kubernetes.io/managed-by=kubequest`,
//!    `kubequest.dev/mission=<id>`) with server-side apply;
//! 3. deletes what the manifests name (any kind) and every pod in the namespace **with a grace
//!    period of 0** (the pods are the learner's broken practice pods; nothing is lost), then
//!    waits until the pods are really gone, reporting each step through a callback, so the UI
//!    can show "removing 2 leftover pods…" in the rare case this takes a moment;
//! 4. server-side applies each manifest with field manager `kubequest` (forced), plus kubectl's
//!    last-applied annotation so a learner's `kubectl apply -f` on the unchanged file says
//!    `unchanged` instead of warning about a missing annotation.

pub mod apply;
pub mod driver;

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::json;

pub use apply::{EditedObject, LAST_APPLIED, apply_yaml, delete_yaml, parse_edited_yaml};
pub use driver::{
    SessionConfig, SessionOutcome, SolveRecorder, StoreRecorder, event_rows, new_event_rows,
    next_mission, resync_clock, run_session,
};

use crate::connect::{ConnectError, classify_kube_error};
use crate::mission::{Manifest, Mission};

/// The field manager the engine's server-side applies write as.
pub const FIELD_MANAGER: &str = "kubequest";
/// The label marking namespaces KubeQuest manages.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The label naming the mission a namespace belongs to.
pub const MISSION_LABEL: &str = "kubequest.dev/mission";

/// How long a start waits for leftovers (or a terminating namespace) to disappear.
const CLEAR_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

/// Why a mission could not be started or cleaned up.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// A cluster request failed.
    #[error("{0}")]
    Cluster(#[from] ConnectError),
    /// A manifest was refused by the cluster.
    #[error(
        "{file}:{line}: the cluster refused {kind} `{name}`: {message}. The lesson's manifest \
         needs fixing (`kq lessons check` validates it)"
    )]
    Manifest {
        file: String,
        line: usize,
        kind: String,
        name: String,
        message: String,
    },
    /// Leftovers did not go away in time.
    #[error(
        "{what} in namespace {namespace} did not go away within {seconds} s; check \
         `kubectl get pods -n {namespace}` (a finalizer may hold them) and try again"
    )]
    StillThere {
        namespace: String,
        what: String,
        seconds: u64,
    },
}

impl SessionError {
    /// `{kind, message}` for the UI, when the cause is the cluster connection.
    pub fn connect_error(&self) -> Option<&ConnectError> {
        match self {
            SessionError::Cluster(e) => Some(e),
            _ => None,
        }
    }
}

fn cluster(e: kube::Error) -> SessionError {
    SessionError::Cluster(classify_kube_error(&e))
}

/// What a start is doing, for a status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartStep {
    /// A namespace from an earlier cleanup is still being deleted.
    WaitingForNamespace { namespace: String },
    /// The namespace exists from an earlier attempt: clearing its workloads.
    ClearingLeftovers { namespace: String },
    /// Waiting for these pods to be gone.
    WaitingForPods { pods: Vec<String> },
    /// Applying one manifest (`pod/web`).
    Applying { object: String },
}

impl std::fmt::Display for StartStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartStep::WaitingForNamespace { namespace } => {
                write!(
                    f,
                    "waiting for the old namespace {namespace} to be deleted…"
                )
            }
            StartStep::ClearingLeftovers { namespace } => {
                write!(f, "removing what an earlier attempt left in {namespace}…")
            }
            StartStep::WaitingForPods { pods } => {
                write!(
                    f,
                    "waiting for {} to go: {}",
                    plural(pods.len()),
                    pods.join(", ")
                )
            }
            StartStep::Applying { object } => write!(f, "applying {object}"),
        }
    }
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 pod".into()
    } else {
        format!("{n} pods")
    }
}

/// What a start did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedMission {
    pub namespace: String,
    /// Whether the namespace existed from an earlier attempt (and was cleared).
    pub replaced_leftovers: bool,
    /// The objects applied, as kubectl names them (`pod/web`).
    pub applied: Vec<String>,
}

async fn api_for_manifest(
    client: &kube::Client,
    namespace: &str,
    m: &Manifest,
) -> Result<Api<DynamicObject>, SessionError> {
    let edited = EditedObject {
        line: u32::try_from(m.line).unwrap_or(u32::MAX),
        api_version: m.api_version.clone(),
        kind: m.kind.clone(),
        name: m.name.clone(),
        object: m.object.clone(),
    };
    let file = m.file.display().to_string();
    let (ar, caps) = apply::resolve(client, namespace, &file, &edited)
        .await
        .map_err(|message| SessionError::Manifest {
            file: file.clone(),
            line: m.line,
            kind: m.kind.clone(),
            name: m.name.clone(),
            message,
        })?;
    // A mission may declare cluster-scoped objects (extra nodes); the learner's editor may
    // not (see `apply::api_for`).
    Ok(match caps.scope {
        kube::discovery::Scope::Cluster => Api::all_with(client.clone(), &ar),
        kube::discovery::Scope::Namespaced => Api::namespaced_with(client.clone(), namespace, &ar),
    })
}

async fn wait_namespace_gone(
    client: &kube::Client,
    namespace: &str,
    progress: &mut (dyn FnMut(StartStep) + Send),
) -> Result<(), SessionError> {
    let api: Api<Namespace> = Api::all(client.clone());
    let start = std::time::Instant::now();
    let mut told = false;
    loop {
        match api.get_opt(namespace).await.map_err(cluster)? {
            Some(ns) if ns.metadata.deletion_timestamp.is_some() => {
                if !told {
                    progress(StartStep::WaitingForNamespace {
                        namespace: namespace.to_owned(),
                    });
                    told = true;
                }
            }
            _ => return Ok(()),
        }
        if start.elapsed() > CLEAR_TIMEOUT {
            return Err(SessionError::StillThere {
                namespace: namespace.to_owned(),
                what: "the namespace".into(),
                seconds: CLEAR_TIMEOUT.as_secs(),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn clear_leftovers(
    client: &kube::Client,
    mission: &Mission,
    namespace: &str,
    progress: &mut (dyn FnMut(StartStep) + Send),
) -> Result<(), SessionError> {
    progress(StartStep::ClearingLeftovers {
        namespace: namespace.to_owned(),
    });
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::background()
    };
    for m in &mission.manifests {
        let api = api_for_manifest(client, namespace, m).await?;
        match api.delete(&m.name, &now).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(cluster(e)),
        }
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    for p in pods.list(&ListParams::default()).await.map_err(cluster)? {
        let name = p.metadata.name.unwrap_or_default();
        match pods.delete(&name, &now).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(cluster(e)),
        }
    }
    let start = std::time::Instant::now();
    let mut last: Vec<String> = Vec::new();
    loop {
        let left: Vec<String> = pods
            .list(&ListParams::default())
            .await
            .map_err(cluster)?
            .into_iter()
            .filter_map(|p| p.metadata.name)
            .collect();
        if left.is_empty() {
            return Ok(());
        }
        if left != last {
            progress(StartStep::WaitingForPods { pods: left.clone() });
            last = left;
        }
        if start.elapsed() > CLEAR_TIMEOUT {
            return Err(SessionError::StillThere {
                namespace: namespace.to_owned(),
                what: plural(last.len()),
                seconds: CLEAR_TIMEOUT.as_secs(),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Puts the mission's broken state into `kq-<id>` (see the module docs for leftovers).
pub async fn start_mission(
    client: &kube::Client,
    mission: &Mission,
) -> Result<StartedMission, SessionError> {
    start_mission_with_progress(client, mission, &mut |_| {}).await
}

/// [`start_mission`], reporting each step (for a status line while leftovers are cleared).
pub async fn start_mission_with_progress(
    client: &kube::Client,
    mission: &Mission,
    progress: &mut (dyn FnMut(StartStep) + Send),
) -> Result<StartedMission, SessionError> {
    let namespace = mission.namespace();
    wait_namespace_gone(client, &namespace, progress).await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let existed = namespaces
        .get_opt(&namespace)
        .await
        .map_err(cluster)?
        .is_some();
    let ns_body = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace,
            "labels": {
                MANAGED_BY_LABEL: "kubequest",
                MISSION_LABEL: mission.summary.id,
            }
        }
    });
    let ssa = PatchParams::apply(FIELD_MANAGER).force();
    namespaces
        .patch(&namespace, &ssa, &Patch::Apply(&ns_body))
        .await
        .map_err(cluster)?;
    if existed {
        clear_leftovers(client, mission, &namespace, progress).await?;
    }
    let mut applied = Vec::new();
    for m in &mission.manifests {
        let api = api_for_manifest(client, &namespace, m).await?;
        let object = format!("{}/{}", m.kind.to_ascii_lowercase(), m.name);
        progress(StartStep::Applying {
            object: object.clone(),
        });
        let mut body = apply::with_last_applied(&m.object);
        body["metadata"]["namespace"] = json!(namespace);
        api.patch(&m.name, &ssa, &Patch::Apply(&body))
            .await
            .map_err(|e| SessionError::Manifest {
                file: m.file.display().to_string(),
                line: m.line,
                kind: m.kind.clone(),
                name: m.name.clone(),
                message: match &e {
                    kube::Error::Api(s) => s.message.clone(),
                    other => classify_kube_error(other).to_string(),
                },
            })?;
        applied.push(object);
    }
    Ok(StartedMission {
        namespace,
        replaced_leftovers: existed,
        applied,
    })
}

/// Puts the broken state back: the same as [`start_mission`].
pub async fn reset_mission(
    client: &kube::Client,
    mission: &Mission,
) -> Result<StartedMission, SessionError> {
    start_mission(client, mission).await
}

/// Deletes the mission's namespace (and so everything in it). Returns as soon as the deletion
/// is accepted; a later start waits for it to finish. A namespace that is already gone is fine.
pub async fn cleanup_mission(client: &kube::Client, mission: &Mission) -> Result<(), SessionError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    match namespaces
        .delete(&mission.namespace(), &DeleteParams::background())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(cluster(e)),
    }
}
