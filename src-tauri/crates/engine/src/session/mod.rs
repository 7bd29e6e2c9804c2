//! A mission being played: starting it on a cluster, the editor's actions, and the live session.
//!
//! - [`start_mission`] (and [`reset_mission`], the same thing) puts the mission's broken state
//!   into its namespace `kq-<id>` (`kq-<learner>-<id>` in a class); [`cleanup_mission`] deletes
//!   the namespace (in a class, only what the mission put there).
//! - [`apply_yaml`] and [`delete_yaml`] are the editor's Apply and Delete buttons: kubectl's
//!   client-side `apply -f` / `delete -f` on the edited text, answering kubectl's output
//!   ([`apply`] explains the details).
//! - [`run_session`] watches the namespace and pushes [`crate::ipc::SessionUpdate`]s: pipeline
//!   changes, the events table, objectives, the solve and the connection state ([`driver`]);
//!   [`resync_clock`], run next to it, keeps the UI's idea of the cluster's time current.
//!
//! # What KubeQuest may touch
//!
//! A mission runs on the embedded cluster or on a learner's or classroom's real cluster
//! ([`ClusterKind`]), and KubeQuest only ever changes what it created:
//!
//! - the mission namespace is created by KubeQuest and carries
//!   `app.kubernetes.io/managed-by=kubequest`; a `kq-<id>` namespace without that label belongs
//!   to someone else, and a start, a reset and a cleanup all refuse it with
//!   [`SessionError::NamespaceNotOurs`], before changing anything;
//! - a mission's cluster-scoped objects (the extra nodes the embedded cluster simulates) are
//!   applied on the embedded cluster only, labelled managed-by, and deleted on a replay only when
//!   they carry that label. On a real cluster a mission that declares any is refused with
//!   [`SessionError::ClusterScopedRefused`] before anything is applied: a forced server-side
//!   apply would take over a real node or namespace, and a replay would then delete it.
//!
//! # In a class
//!
//! On [`ClusterKind::Classroom`] the learner plays with the credentials the teacher handed out,
//! which reach only their own mission namespaces (`kq-<learner>-<id>`). The teacher's prepare
//! created those namespaces, labelled managed-by and with each mission's own namespace labels, so
//! a start never creates, patches or deletes the namespace: it checks that it is there (a missing
//! or unreadable one is [`SessionError::NoClassNamespace`]: only the teacher can make it), clears
//! the leftovers of an earlier attempt and applies the manifests. A mission's cluster-scoped
//! objects (extra nodes) are the class server's: they must already exist and carry the managed-by
//! label ([`SessionError::ClassObjectMissing`] otherwise), and the learner never applies or deletes
//! them. [`cleanup_mission`] on a seated mission deletes what the manifests name and the pods, and
//! leaves the namespace for the next attempt.
//!
//! # Starting over
//!
//! A learner who presses Start (or Reset) on a mission played before wants the broken state
//! back *now*, not a 30-second wait for a crash-looping pod's graceful shutdown, and not a
//! leftover "fixed" pod that makes the mission look solved. So a start:
//!
//! 1. checks every manifest's kind (refusing cluster-scoped ones on a real cluster) and that the
//!    namespace and any existing cluster-scoped object it would change are KubeQuest's;
//! 2. waits for a namespace still being deleted (after [`cleanup_mission`]) to be gone;
//! 3. creates the namespace (`app.kubernetes.io/managed-by=kubequest`,
//!    `kubequest.dev/mission=<id>`), or re-labels its own one with server-side apply;
//! 4. deletes what the manifests name (any kind) and every pod in the namespace **with a grace
//!    period of 0** (the pods are the learner's broken practice pods; nothing is lost), then
//!    waits until the pods are really gone, reporting each step through a callback, so the UI
//!    can show "removing 2 leftover pods…" in the rare case this takes a moment;
//! 5. server-side applies each manifest with field manager `kubequest` (forced), plus kubectl's
//!    last-applied annotation so a learner's `kubectl apply -f` on the unchanged file says
//!    `unchanged` instead of warning about a missing annotation.

pub mod apply;
pub mod class;
pub mod driver;
pub mod read;

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, Preconditions,
};
use kube::discovery::Scope;
use serde_json::json;

pub use apply::{
    EditedObject, KubectlError, LAST_APPLIED, apply_yaml, delete_yaml, parse_edited_yaml,
};
pub use class::{ClassReporter, class_missions};
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
/// The value of [`MANAGED_BY_LABEL`] on everything KubeQuest created.
pub const MANAGED_BY_VALUE: &str = "kubequest";

/// Which cluster a mission is played on: it decides what may be changed outside the mission's
/// namespace (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterKind {
    /// KubeQuest's own embedded cluster: a mission's cluster-scoped objects (extra nodes) are
    /// applied there, labelled managed-by, and only labelled ones are ever deleted.
    Embedded,
    /// Any cluster from a kubeconfig (kind, minikube, a shared practice cluster): nothing
    /// cluster-scoped is applied, patched or deleted but the mission namespace KubeQuest
    /// created itself.
    Real,
    /// A class's cluster, played from a learner's seat (the embedded class server or a real
    /// cluster the teacher prepared): the teacher's prepare made the mission namespace
    /// (`kq-<learner>-<id>`, see [`Mission::seated`]), and the learner's credentials may not
    /// create, change or delete it, nor anything cluster-scoped. See the module docs.
    Classroom,
}

/// Whether an object carries `app.kubernetes.io/managed-by=kubequest`.
fn managed_by_kubequest(meta: &kube::core::ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .is_some_and(|v| v == MANAGED_BY_VALUE)
}

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
    /// The mission namespace exists but KubeQuest did not create it: it is left alone.
    #[error(
        "the namespace {namespace} already exists and KubeQuest did not create it (it has no \
         `app.kubernetes.io/managed-by=kubequest` label), so KubeQuest leaves it and everything \
         in it alone. If it is a leftover of yours that you no longer need, delete it \
         (`kubectl delete namespace {namespace}`) and start again; otherwise play this mission \
         on another cluster"
    )]
    NamespaceNotOurs { namespace: String },
    /// A mission with cluster-scoped objects was started on a real cluster.
    #[error(
        "{file}:{line}: this mission needs the cluster-scoped {kind} `{name}`, which KubeQuest \
         creates only on its embedded cluster: on a real cluster it never creates, changes or \
         deletes anything outside the mission's namespace. Nothing was applied. Play this \
         mission on the embedded cluster (Settings → Cluster)"
    )]
    ClusterScopedRefused {
        file: String,
        line: usize,
        kind: String,
        name: String,
    },
    /// A cluster-scoped object a mission declares exists on the embedded cluster but is not
    /// KubeQuest's.
    #[error(
        "{file}:{line}: the mission declares {kind} `{name}`, but a {kind} of that name already \
         exists and KubeQuest did not create it, so it is left alone. Nothing was applied. \
         Rename the object in the lesson"
    )]
    ClusterObjectNotOurs {
        file: String,
        line: usize,
        kind: String,
        name: String,
    },
    /// In a class, the learner's mission namespace is missing (or their credentials cannot
    /// read it): the teacher's prepare makes it, the learner cannot.
    #[error(
        "your class has no namespace {namespace}: ask your teacher to run prepare again{}",
        detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    )]
    NoClassNamespace {
        namespace: String,
        /// What the cluster answered, when it was not simply "not found".
        detail: Option<String>,
    },
    /// In a class, the learner's mission namespace lacks a label the mission needs (its Pod
    /// Security level): prepare sets it, the learner cannot.
    #[error(
        "your class's namespace {namespace} does not carry the label {label}={value} this          mission needs: ask your teacher to run prepare again"
    )]
    ClassNamespaceLabel {
        namespace: String,
        label: String,
        value: String,
    },
    /// In a class, a cluster-scoped object the mission needs is missing or is not the class
    /// server's: the teacher's server makes those, the learner never does.
    #[error(
        "{file}:{line}: this mission needs the cluster-scoped {kind} `{name}`, which {why}; in          a class the teacher's KubeQuest creates it, never a learner's. Nothing was applied.          Ask your teacher (the class needs the embedded class server for this mission)"
    )]
    ClassObjectMissing {
        file: String,
        line: usize,
        kind: String,
        name: String,
        why: String,
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

/// A manifest's API and whether its kind is cluster-scoped.
async fn api_for_manifest(
    client: &kube::Client,
    namespace: &str,
    m: &Manifest,
) -> Result<(Api<DynamicObject>, Scope), SessionError> {
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
        .map_err(|e| SessionError::Manifest {
            file: file.clone(),
            line: m.line,
            kind: m.kind.clone(),
            name: m.name.clone(),
            message: e.to_string(),
        })?;
    // A mission may declare cluster-scoped objects (extra nodes) for the embedded cluster;
    // `check_scopes` refuses them elsewhere, and the learner's editor may not apply any (see
    // `apply::api_for`).
    let api = match caps.scope {
        Scope::Cluster => Api::all_with(client.clone(), &ar),
        Scope::Namespaced => Api::namespaced_with(client.clone(), namespace, &ar),
    };
    Ok((api, caps.scope))
}

/// Every manifest's API, after checking that the start may touch what it names: on a real
/// cluster no manifest may be cluster-scoped; on the embedded one an existing cluster-scoped
/// object must be KubeQuest's. Runs before anything is changed, so a refusal leaves the cluster
/// as it was.
async fn check_scopes(
    client: &kube::Client,
    namespace: &str,
    mission: &Mission,
    on: ClusterKind,
) -> Result<Vec<(Api<DynamicObject>, Scope)>, SessionError> {
    let mut apis = Vec::with_capacity(mission.manifests.len());
    for m in &mission.manifests {
        let (api, scope) = api_for_manifest(client, namespace, m).await?;
        if scope == Scope::Cluster {
            let (file, line, kind, name) = (
                m.file.display().to_string(),
                m.line,
                m.kind.clone(),
                m.name.clone(),
            );
            if on == ClusterKind::Real {
                return Err(SessionError::ClusterScopedRefused {
                    file,
                    line,
                    kind,
                    name,
                });
            }
            if on == ClusterKind::Classroom {
                // The class server made it; the learner only checks that it is there.
                let why = match api.get_opt(&m.name).await {
                    Ok(Some(existing)) if managed_by_kubequest(&existing.metadata) => None,
                    Ok(Some(_)) => Some(
                        "exists on the class's cluster but was not created by KubeQuest".into(),
                    ),
                    Ok(None) => Some("does not exist on the class's cluster".into()),
                    Err(e) => Some(format!(
                        "cannot be read with your class credentials ({})",
                        classify_kube_error(&e)
                    )),
                };
                if let Some(why) = why {
                    return Err(SessionError::ClassObjectMissing {
                        file,
                        line,
                        kind,
                        name,
                        why,
                    });
                }
                apis.push((api, scope));
                continue;
            }
            if let Some(existing) = api.get_opt(&m.name).await.map_err(cluster)?
                && !managed_by_kubequest(&existing.metadata)
            {
                return Err(SessionError::ClusterObjectNotOurs {
                    file,
                    line,
                    kind,
                    name,
                });
            }
        }
        apis.push((api, scope));
    }
    Ok(apis)
}

/// The mission namespace, if it exists; an error if it exists and is not KubeQuest's.
async fn own_namespace(
    client: &kube::Client,
    namespace: &str,
) -> Result<Option<Namespace>, SessionError> {
    let api: Api<Namespace> = Api::all(client.clone());
    match api.get_opt(namespace).await.map_err(cluster)? {
        Some(ns) if !managed_by_kubequest(&ns.metadata) => Err(SessionError::NamespaceNotOurs {
            namespace: namespace.to_owned(),
        }),
        found => Ok(found),
    }
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

/// Deletes what the manifests name and every pod in `namespace`, at once (grace period 0),
/// without waiting. On [`ClusterKind::Classroom`] nothing cluster-scoped is touched. Answers
/// whether anything was there to delete.
async fn delete_leftovers(
    client: &kube::Client,
    mission: &Mission,
    apis: &[(Api<DynamicObject>, Scope)],
    namespace: &str,
    on: ClusterKind,
    announce: &mut (dyn FnMut() + Send),
) -> Result<bool, SessionError> {
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::background()
    };
    let mut found = false;
    for (m, (api, scope)) in mission.manifests.iter().zip(apis) {
        let mut params = now.clone();
        if *scope == Scope::Cluster {
            if on == ClusterKind::Classroom {
                // The class server's, never the learner's to delete.
                continue;
            }
            // Outside the namespace only what KubeQuest created goes, and only that very object
            // (the uid precondition): one recreated by someone else since the check stays.
            match api.get_opt(&m.name).await.map_err(cluster)? {
                Some(obj) if managed_by_kubequest(&obj.metadata) => {
                    params.preconditions = Some(Preconditions {
                        uid: obj.metadata.uid.clone(),
                        resource_version: None,
                    });
                }
                _ => continue,
            }
        }
        match api.delete(&m.name, &params).await {
            Ok(_) => {
                if !found {
                    announce();
                }
                found = true;
            }
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
            Err(e) => return Err(cluster(e)),
        }
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    for p in pods.list(&ListParams::default()).await.map_err(cluster)? {
        let name = p.metadata.name.unwrap_or_default();
        match pods.delete(&name, &now).await {
            Ok(_) => {
                if !found {
                    announce();
                }
                found = true;
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(cluster(e)),
        }
    }
    Ok(found)
}

/// Deletes the leftovers ([`delete_leftovers`]) and waits until the pods are really gone.
/// Solo play announces the clearing first (the namespace is known to be from an earlier
/// attempt); in a class the namespace always exists, so the step is announced only when there
/// is something to remove. Answers whether there was.
async fn clear_leftovers(
    client: &kube::Client,
    mission: &Mission,
    apis: &[(Api<DynamicObject>, Scope)],
    namespace: &str,
    on: ClusterKind,
    progress: &mut (dyn FnMut(StartStep) + Send),
) -> Result<bool, SessionError> {
    let step = || StartStep::ClearingLeftovers {
        namespace: namespace.to_owned(),
    };
    let found = if on == ClusterKind::Classroom {
        delete_leftovers(client, mission, apis, namespace, on, &mut || {
            progress(step())
        })
        .await?
    } else {
        progress(step());
        delete_leftovers(client, mission, apis, namespace, on, &mut || {}).await?
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::background()
    };
    let start = std::time::Instant::now();
    let mut last: Vec<String> = Vec::new();
    loop {
        let listed = pods.list(&ListParams::default()).await.map_err(cluster)?;
        // A controller still running when its workload was deleted can make one more pod, and
        // the garbage collector then deletes that pod with its full grace period (30 s of a
        // crash-looping shell ignoring SIGTERM): any pod not already going at once goes now.
        for p in &listed {
            if p.metadata.deletion_grace_period_seconds != Some(0)
                && let Some(name) = &p.metadata.name
            {
                match pods.delete(name, &now).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(cluster(e)),
                }
            }
        }
        let left: Vec<String> = listed.into_iter().filter_map(|p| p.metadata.name).collect();
        if left.is_empty() {
            return Ok(found);
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

/// Puts the mission's broken state into `kq-<id>` on a cluster of kind `on` (see the module
/// docs for what may be touched and for leftovers).
pub async fn start_mission(
    client: &kube::Client,
    mission: &Mission,
    on: ClusterKind,
) -> Result<StartedMission, SessionError> {
    start_mission_with_progress(client, mission, on, &mut |_| {}).await
}

/// [`start_mission`], reporting each step (for a status line while leftovers are cleared).
pub async fn start_mission_with_progress(
    client: &kube::Client,
    mission: &Mission,
    on: ClusterKind,
    progress: &mut (dyn FnMut(StartStep) + Send),
) -> Result<StartedMission, SessionError> {
    let namespace = mission.namespace();
    let apis = check_scopes(client, &namespace, mission, on).await?;
    if on == ClusterKind::Classroom {
        class_namespace(client, &namespace, mission).await?;
        let replaced_leftovers =
            clear_leftovers(client, mission, &apis, &namespace, on, progress).await?;
        let applied = apply_manifests(mission, &apis, &namespace, on, progress).await?;
        return Ok(StartedMission {
            namespace,
            replaced_leftovers,
            applied,
        });
    }
    own_namespace(client, &namespace).await?;
    wait_namespace_gone(client, &namespace, progress).await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    // Checked again after the wait: the namespace may have been recreated meanwhile.
    let existed = own_namespace(client, &namespace).await?.is_some();
    let mut labels = serde_json::Map::new();
    for (k, v) in &mission.namespace_labels {
        labels.insert(k.clone(), json!(v));
    }
    labels.insert(MANAGED_BY_LABEL.into(), json!("kubequest"));
    labels.insert(MISSION_LABEL.into(), json!(mission.summary.id));
    let ns_body = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace,
            "labels": labels,
        }
    });
    let ssa = PatchParams::apply(FIELD_MANAGER).force();
    if existed {
        namespaces
            .patch(&namespace, &ssa, &Patch::Apply(&ns_body))
            .await
            .map_err(cluster)?;
        clear_leftovers(client, mission, &apis, &namespace, on, progress).await?;
    } else {
        // A create, not a forced apply: if someone else made the namespace since the check,
        // the create fails instead of taking their namespace over.
        let body: Namespace = serde_json::from_value(ns_body).map_err(|e| {
            SessionError::Cluster(ConnectError::Other {
                detail: e.to_string(),
            })
        })?;
        match namespaces.create(&PostParams::default(), &body).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {
                return Err(SessionError::NamespaceNotOurs {
                    namespace: namespace.clone(),
                });
            }
            Err(e) => return Err(cluster(e)),
        }
    }
    let applied = apply_manifests(mission, &apis, &namespace, on, progress).await?;
    Ok(StartedMission {
        namespace,
        replaced_leftovers: existed,
        applied,
    })
}

/// Server-side applies every manifest (see the module docs); in a class the cluster-scoped
/// ones are the class server's and are left alone. Answers the objects applied.
async fn apply_manifests(
    mission: &Mission,
    apis: &[(Api<DynamicObject>, Scope)],
    namespace: &str,
    on: ClusterKind,
    progress: &mut (dyn FnMut(StartStep) + Send),
) -> Result<Vec<String>, SessionError> {
    let ssa = PatchParams::apply(FIELD_MANAGER).force();
    let mut applied = Vec::new();
    for (m, (api, scope)) in mission.manifests.iter().zip(apis) {
        if *scope == Scope::Cluster && on == ClusterKind::Classroom {
            continue;
        }
        let object = format!("{}/{}", m.kind.to_ascii_lowercase(), m.name);
        progress(StartStep::Applying {
            object: object.clone(),
        });
        let mut body = apply::with_last_applied(&m.object);
        if *scope == Scope::Cluster {
            // Only reached on the embedded cluster: the label is how a replay knows it may
            // delete the object again.
            body["metadata"]["labels"][MANAGED_BY_LABEL] = json!(MANAGED_BY_VALUE);
        } else {
            body["metadata"]["namespace"] = json!(namespace);
        }
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
    Ok(applied)
}

/// In a class: the learner's mission namespace, made by the teacher's prepare, must exist, be
/// KubeQuest's and carry the mission's own namespace labels. Nothing is changed.
async fn class_namespace(
    client: &kube::Client,
    namespace: &str,
    mission: &Mission,
) -> Result<(), SessionError> {
    let api: Api<Namespace> = Api::all(client.clone());
    let missing = |detail: Option<String>| SessionError::NoClassNamespace {
        namespace: namespace.to_owned(),
        detail,
    };
    let ns = match api.get_opt(namespace).await {
        Ok(Some(ns)) => ns,
        Ok(None) => return Err(missing(None)),
        // The learner may read only namespaces the class bound them in: one prepare did not
        // make is forbidden, not "not found".
        Err(kube::Error::Api(s)) if s.code == 403 => return Err(missing(None)),
        Err(e) => return Err(cluster(e)),
    };
    if ns.metadata.deletion_timestamp.is_some() {
        return Err(missing(Some("it is being deleted".into())));
    }
    if !managed_by_kubequest(&ns.metadata) {
        return Err(SessionError::NamespaceNotOurs {
            namespace: namespace.to_owned(),
        });
    }
    let labels = ns.metadata.labels.unwrap_or_default();
    for (label, value) in &mission.namespace_labels {
        if labels.get(label) != Some(value) {
            return Err(SessionError::ClassNamespaceLabel {
                namespace: namespace.to_owned(),
                label: label.clone(),
                value: value.clone(),
            });
        }
    }
    Ok(())
}

/// Puts the broken state back: the same as [`start_mission`].
pub async fn reset_mission(
    client: &kube::Client,
    mission: &Mission,
    on: ClusterKind,
) -> Result<StartedMission, SessionError> {
    start_mission(client, mission, on).await
}

/// Deletes the mission's namespace (and so everything in it). Returns as soon as the deletion
/// is accepted; a later start waits for it to finish. A namespace that is already gone is fine;
/// one KubeQuest did not create is refused and left as it is.
///
/// A mission seated in a class ([`Mission::seated`], played on [`ClusterKind::Classroom`])
/// keeps its namespace, which the teacher made: what the manifests name and every pod in it are
/// deleted at once (grace period 0), nothing cluster-scoped, and the call does not wait for
/// them to go.
pub async fn cleanup_mission(client: &kube::Client, mission: &Mission) -> Result<(), SessionError> {
    let namespace = mission.namespace();
    if mission.is_seated() {
        let on = ClusterKind::Classroom;
        // The cluster-scoped objects are the class server's: not even looked at.
        let mut namespaced = mission.clone();
        namespaced.manifests.retain(|m| !m.is_cluster_scoped());
        let apis = check_scopes(client, &namespace, &namespaced, on).await?;
        delete_leftovers(client, &namespaced, &apis, &namespace, on, &mut || {}).await?;
        return Ok(());
    }
    let Some(ns) = own_namespace(client, &namespace).await? else {
        return Ok(());
    };
    let namespaces: Api<Namespace> = Api::all(client.clone());
    // The uid precondition deletes the namespace that was checked, not one recreated since.
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: ns.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::background()
    };
    match namespaces.delete(&namespace, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(cluster(e)),
    }
}
