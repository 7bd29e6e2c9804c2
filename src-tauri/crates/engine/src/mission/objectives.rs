//! Objectives: typed checks on the *outcome* in the mission namespace.
//!
//! Checks look at a [`Snapshot`] (the namespace's pods and events and the current time), never
//! at how the learner got there: editing the manifest in the app, `kubectl set image` and
//! deleting and re-applying a fixed pod all pass the same way. Bypasses fail on purpose:
//!
//! - every check names its pod, so deleting the pod (or replacing it with a pod of another
//!   name) leaves "there is no pod named …";
//! - a pod that is being deleted does not count;
//! - `container-image` can pin the image repository, so replacing the app with an unrelated
//!   image under the same pod name does not pass either;
//! - `container-probe` keeps a probe in the spec, so deleting a probe that asks the wrong thing
//!   (which also ends its restarts or its not-Ready) does not pass.
//!
//! The checks (`kind:` in the lesson):
//!
//! | kind | fields | passes when |
//! |---|---|---|
//! | `pod-exists` | `pod` | the pod exists and is not being deleted |
//! | `pod-scheduled` | `pod` | the pod is bound to a node |
//! | `pod-ready` | `pod` | the pod exists, is not terminating, phase Running, condition Ready True |
//! | `no-restarts-for` | `pod`, `seconds` | the pod is ready, and has been Ready and every container running without a restart for `seconds` (a restart resets `state.running.startedAt`, so the newest start time bounds the window) |
//! | `image-resolvable` | `pod`, `container?` | no container (or the named one) waits on an image reason, and each has an `imageID` for the image its spec names |
//! | `container-image` | `pod`, `container?`, `not?`, `repository?` | the spec's image is not `not` and (if given) comes from `repository` |
//! | `container-probe` | `pod`, `probe`, `container?` | the container (or every container) still has its `liveness`, `readiness` or `startup` probe (see [`probes`]) |
//! | `pod-phase` | `pod`, `phase` | `status.phase` equals `phase` (e.g. `Succeeded` for a batch pod) |
//! | `deployment-available` | `deployment`, `replicas?` | the Deployment exists, is not being deleted, its `Available` condition is True and at least `replicas` (default: `spec.replicas`) pods are ready and available |
//! | `rollout-complete` | `deployment`, `revision?` | the rollout is complete as `kubectl rollout status` judges it (spec observed, every replica updated, no old replica left, every updated replica available) and, if given, the Deployment is at revision `revision` or later |
//! | `job-succeeded` | `job` | the Job's `Complete` condition is True |
//! | `workload-images-pulled` | `workload`, `container?` | `workload` is `<kind>/<name>` (`deployment/web`, `statefulset/db`, `daemonset/agent`, `job/report`, kubectl's short names too); it has pods, every live one has pulled the image its spec names (as `image-resolvable`), and a Deployment's current template has pods |
//! | `service-http` | `service`, `port?`, `path?` (`/`), `status?` (200) | a GET of `path` through the Service (the API server's Service proxy, so a real cluster works the same) gets `status`; otherwise the reason is what came back (`no endpoints available for service "web"`, `got 404, not 200`) |
//! | `service-endpoints` | `service`, `min_ready?` | the Service exists, is not being deleted, and its EndpointSlices list at least `min_ready` (default 1) ready endpoints with the Service's ports (an endpoint whose named targetPort the pod lacks does not count); read from the EndpointSlices the cluster's controller wrote, so it works on a real cluster too |
//!
//! `service-account-can`, `quota-respected`, `claim-bound` and `pod-security-enforced` read
//! what no watch reports (a SubjectAccessReview, quotas, claims, the namespace's labels); they
//! are documented in [`security`].
//!
//! `node-drained` and `budget-protects` read the Node and the namespace's
//! PodDisruptionBudgets; they are documented in [`nodes`].
//!
//! Workload checks follow the workload, not a pod name, so a rollout that replaces every pod
//! still passes; deleting the workload (or replacing it with another of a different name) does
//! not. A bad definition is refused when the lesson loads, at the line of its `check:`, with
//! what is wrong (`replicas: 0`, `workload: web` without a kind) and nothing else dropped.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{Container, Event, Pod};
use kq_kube::reference;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::format::Objective;
use crate::pipeline::print_pod;
use crate::pipeline::security_facts::SecurityFacts;
use crate::pipeline::service_http::{self, HttpResults};
use crate::pipeline::services::ServiceObjects;
use crate::pipeline::workload::{
    RevisionRole, WorkloadKind, WorkloadObject, Workloads, controller_ref,
};
use crate::stage::ReasonKind;

mod nodes;
pub mod probes;
pub mod security;
mod services;
mod workloads;
pub use probes::ProbeKind;
pub use security::PodSecurityLevel;
use services::service_endpoints;
use workloads::{evaluate_workload_check, live_workload};

/// A workload named as kubectl names one: `deployment/web`, `sts/db`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkloadRef {
    pub kind: WorkloadKind,
    pub name: String,
}

impl std::fmt::Display for WorkloadRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind.resource(), self.name)
    }
}

/// Why a `workload:` value names no workload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadWorkloadRef(String);

impl std::str::FromStr for WorkloadRef {
    type Err = BadWorkloadRef;

    fn from_str(text: &str) -> Result<WorkloadRef, BadWorkloadRef> {
        let usage = "write it as `<kind>/<name>`, as kubectl does (`deployment/web`, \
                     `statefulset/db`, `daemonset/agent`, `job/report`, `replicaset/web-1`)";
        let Some((kind, name)) = text.split_once('/') else {
            return Err(BadWorkloadRef(format!(
                "`{text}` names no workload kind: {usage}"
            )));
        };
        let Some(kind) = WorkloadKind::parse(kind.trim()) else {
            return Err(BadWorkloadRef(format!(
                "`{kind}` is not a workload kind KubeQuest follows: {usage}"
            )));
        };
        let name = name.trim();
        if name.is_empty() || name.contains('/') {
            return Err(BadWorkloadRef(format!(
                "`{text}` has no single object name: {usage}"
            )));
        }
        Ok(WorkloadRef {
            kind,
            name: name.to_owned(),
        })
    }
}

impl<'de> Deserialize<'de> for WorkloadRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<WorkloadRef, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A count that must be at least 1 (`replicas`, `revision`): 0 would make a check pass on a
/// Deployment scaled to nothing or before any rollout.
fn at_least_one<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + PartialEq + From<u8> + std::fmt::Display,
{
    let v = Option::<T>::deserialize(d)?;
    match v {
        Some(n) if n == T::from(0) => Err(serde::de::Error::custom(
            "must be at least 1 (0 would pass with no pod running)",
        )),
        v => Ok(v),
    }
}

/// A typed objective check.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Check {
    PodExists {
        pod: String,
    },
    PodScheduled {
        pod: String,
    },
    PodReady {
        pod: String,
    },
    NoRestartsFor {
        pod: String,
        seconds: u64,
    },
    ImageResolvable {
        pod: String,
        #[serde(default)]
        container: Option<String>,
    },
    ContainerImage {
        pod: String,
        #[serde(default)]
        container: Option<String>,
        #[serde(default)]
        not: Option<String>,
        #[serde(default)]
        repository: Option<String>,
    },
    PodPhase {
        pod: String,
        phase: String,
    },
    /// The container (or every container) still has this probe: removing a probe that asks
    /// the wrong thing also ends its symptom, and is no fix.
    ContainerProbe {
        pod: String,
        probe: ProbeKind,
        #[serde(default)]
        container: Option<String>,
    },
    DeploymentAvailable {
        deployment: String,
        #[serde(default, deserialize_with = "at_least_one")]
        replicas: Option<u32>,
    },
    RolloutComplete {
        deployment: String,
        #[serde(default, deserialize_with = "at_least_one")]
        revision: Option<u64>,
    },
    JobSucceeded {
        job: String,
    },
    WorkloadImagesPulled {
        workload: WorkloadRef,
        #[serde(default)]
        container: Option<String>,
        /// Every pod's container (or the named one) runs an image from this repository, so an
        /// unrelated image under the workload's name is no fix.
        #[serde(default)]
        repository: Option<String>,
    },
    ServiceEndpoints {
        service: String,
        #[serde(default, deserialize_with = "at_least_one")]
        min_ready: Option<u32>,
        /// Only endpoints that are pods of this workload count, so pods relabelled out of it
        /// (or any other pods) cannot stand in for it behind the Service.
        #[serde(default)]
        workload: Option<WorkloadRef>,
    },
    ServiceHttp {
        service: String,
        #[serde(default, deserialize_with = "port_text")]
        port: Option<String>,
        #[serde(default = "root_path")]
        path: String,
        #[serde(default = "status_ok")]
        status: u16,
    },
    ServiceAccountCan {
        service_account: String,
        #[serde(deserialize_with = "security::known_verb")]
        verb: String,
        #[serde(deserialize_with = "security::resource_name")]
        resource: String,
    },
    QuotaRespected {
        quota: String,
        workload: WorkloadRef,
    },
    ClaimBound {
        claim: String,
        #[serde(default)]
        pod: Option<String>,
    },
    PodSecurityEnforced {
        level: PodSecurityLevel,
        workload: WorkloadRef,
    },
    /// The node is cordoned and runs none of the namespace's pods but DaemonSets' ([`nodes`]).
    NodeDrained {
        node: String,
    },
    /// The budget selects the workload's pods, keeps one up and allows a disruption ([`nodes`]).
    BudgetProtects {
        budget: String,
        workload: WorkloadRef,
    },
}

/// A Service port as the proxy path names it: its number or its name.
fn port_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Port {
        Number(u16),
        Name(String),
    }
    Ok(Option::<Port>::deserialize(d)?.map(|p| match p {
        Port::Number(n) => n.to_string(),
        Port::Name(n) => n,
    }))
}

fn root_path() -> String {
    "/".into()
}

fn status_ok() -> u16 {
    200
}

impl Check {
    /// The name of the object the check is about: the pod, or for a workload check the
    /// workload (see [`Check::subject`]).
    pub fn pod(&self) -> &str {
        self.subject().1
    }

    /// The kind (`Pod`, `Deployment`, `Job`, …) and name of the object the check is about.
    pub fn subject(&self) -> (&'static str, &str) {
        match self {
            Check::PodExists { pod }
            | Check::PodScheduled { pod }
            | Check::PodReady { pod }
            | Check::NoRestartsFor { pod, .. }
            | Check::ImageResolvable { pod, .. }
            | Check::ContainerImage { pod, .. }
            | Check::PodPhase { pod, .. }
            | Check::ContainerProbe { pod, .. } => ("Pod", pod),
            Check::DeploymentAvailable { deployment, .. }
            | Check::RolloutComplete { deployment, .. } => ("Deployment", deployment),
            Check::JobSucceeded { job } => ("Job", job),
            Check::WorkloadImagesPulled { workload, .. } => {
                (workload.kind.as_str(), &workload.name)
            }
            Check::ServiceEndpoints { service, .. } | Check::ServiceHttp { service, .. } => {
                ("Service", service)
            }
            Check::ServiceAccountCan {
                service_account, ..
            } => ("ServiceAccount", service_account),
            Check::QuotaRespected { quota, .. } => ("ResourceQuota", quota),
            Check::ClaimBound { claim, .. } => ("PersistentVolumeClaim", claim),
            Check::PodSecurityEnforced { workload, .. } => (workload.kind.as_str(), &workload.name),
            Check::NodeDrained { node } => ("Node", node),
            Check::BudgetProtects { budget, .. } => ("PodDisruptionBudget", budget),
        }
    }
}

/// The state objectives are evaluated against: the mission namespace at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    pub pods: &'a [Pod],
    pub events: &'a [Event],
    pub now: Timestamp,
}

/// Where one objective stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectiveStatus {
    Met,
    NotMet,
    /// On its way: a timed check is counting (it passes if nothing changes).
    Waiting,
}

/// One objective's result, as the UI ticks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ObjectiveResult {
    pub id: String,
    pub title: String,
    pub status: ObjectiveStatus,
    /// A short reason: `web is Running and Ready`, `there is no pod named web`.
    pub reason: String,
}

fn met(reason: String) -> (ObjectiveStatus, String) {
    (ObjectiveStatus::Met, reason)
}
fn not_met(reason: String) -> (ObjectiveStatus, String) {
    (ObjectiveStatus::NotMet, reason)
}

/// The object named `name` among those the session read, unless it is missing (`there is no
/// ResourceQuota named compute (deleting it is not a fix)`) or being deleted.
fn live_named<'a, T>(items: &'a [T], name: &str) -> Result<&'a T, (ObjectiveStatus, String)>
where
    T: k8s_openapi::Resource
        + k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
{
    let o = items
        .iter()
        .find(|o| o.metadata().name.as_deref() == Some(name))
        .ok_or_else(|| {
            not_met(format!(
                "there is no {} named {name} (deleting it is not a fix)",
                T::KIND
            ))
        })?;
    if o.metadata().deletion_timestamp.is_some() {
        return Err(not_met(format!("the {} {name} is being deleted", T::KIND)));
    }
    Ok(o)
}

fn find_pod<'a>(snap: &Snapshot<'a>, name: &str) -> Result<&'a Pod, (ObjectiveStatus, String)> {
    snap.pods
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(name))
        .ok_or_else(|| {
            not_met(format!(
                "there is no pod named {name} (deleting it is not a fix)"
            ))
        })
}

fn live_pod<'a>(snap: &Snapshot<'a>, name: &str) -> Result<&'a Pod, (ObjectiveStatus, String)> {
    let pod = find_pod(snap, name)?;
    if pod.metadata.deletion_timestamp.is_some() {
        return Err(not_met(format!("{name} is being deleted")));
    }
    Ok(pod)
}

fn condition<'a>(pod: &'a Pod, kind: &str) -> Option<&'a k8s_openapi::api::core::v1::PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
}

fn ready(pod: &Pod, name: &str) -> Result<(), (ObjectiveStatus, String)> {
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending");
    let row = print_pod(pod);
    if phase != "Running" {
        return Err(not_met(format!(
            "{name} is {} ({} ready)",
            row.status, row.ready
        )));
    }
    if condition(pod, "Ready").is_none_or(|c| c.status != "True") {
        return Err(not_met(format!(
            "{name} is {} but not Ready ({} ready)",
            row.status, row.ready
        )));
    }
    Ok(())
}

fn containers<'a>(
    pod: &'a Pod,
    name: &str,
    only: Option<&str>,
) -> Result<Vec<&'a Container>, (ObjectiveStatus, String)> {
    let all = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().collect())
        .unwrap_or_default();
    match only {
        None => Ok(all),
        Some(c) => all
            .into_iter()
            .find(|x| x.name == c)
            .map(|x| vec![x])
            .ok_or_else(|| not_met(format!("{name} has no container named {c}"))),
    }
}

/// `docker.io/library/nginx` for `nginx:1.25`.
fn repository(image: &str) -> String {
    let full = reference::normalize(image);
    let without_digest = full.split('@').next().unwrap_or(&full);
    let slash = without_digest.rfind('/').map_or(0, |i| i + 1);
    match without_digest[slash..].rfind(':') {
        Some(i) => without_digest[..slash + i].to_owned(),
        None => without_digest.to_owned(),
    }
}

/// Every container (or the named one) of `pod` has pulled the image its spec names.
fn image_pulled(
    p: &Pod,
    pod: &str,
    container: Option<&str>,
) -> Result<(), (ObjectiveStatus, String)> {
    let statuses = p
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    for c in containers(p, pod, container)? {
        let image = c.image.as_deref().unwrap_or_default();
        let Some(cs) = statuses.iter().find(|s| s.name == c.name) else {
            return Err(not_met(format!("{pod}: {} has no status yet", c.name)));
        };
        if let Some(r) = cs
            .state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.as_deref())
            && ReasonKind::from_reason(r).is_image_problem()
        {
            return Err(not_met(format!(
                "{pod}: {} cannot pull {image} ({r})",
                c.name
            )));
        }
        if cs.image_id.is_empty() || reference::normalize(&cs.image) != reference::normalize(image)
        {
            return Err(not_met(format!("{pod}: {image} has not been pulled yet",)));
        }
    }
    Ok(())
}

/// [`evaluate_check_session`] with nothing read for the security checks.
#[cfg(test)]
fn evaluate_check(
    check: &Check,
    snap: &Snapshot<'_>,
    workloads: &Workloads,
    services: &ServiceObjects,
    http: &HttpResults,
) -> (ObjectiveStatus, String) {
    evaluate_check_session(
        check,
        snap,
        workloads,
        services,
        http,
        &SecurityFacts::default(),
    )
}

fn evaluate_check_session(
    check: &Check,
    snap: &Snapshot<'_>,
    workloads: &Workloads,
    services: &ServiceObjects,
    http: &HttpResults,
    security: &SecurityFacts,
) -> (ObjectiveStatus, String) {
    let result = (|| -> Result<(ObjectiveStatus, String), (ObjectiveStatus, String)> {
        match check {
            Check::PodExists { pod } => {
                live_pod(snap, pod)?;
                Ok(met(format!("{pod} exists")))
            }
            Check::PodScheduled { pod } => {
                let p = live_pod(snap, pod)?;
                let node = p
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_deref())
                    .filter(|n| !n.is_empty());
                match node {
                    Some(n) => Ok(met(format!("{pod} is scheduled on {n}"))),
                    None if condition(p, "PodScheduled").is_some_and(|c| c.status == "True") => {
                        Ok(met(format!("{pod} is scheduled")))
                    }
                    None => Ok(not_met(format!("{pod} is not scheduled on any node yet"))),
                }
            }
            Check::PodReady { pod } => {
                let p = live_pod(snap, pod)?;
                ready(p, pod)?;
                Ok(met(format!("{pod} is Running and Ready")))
            }
            Check::NoRestartsFor { pod, seconds } => {
                let p = live_pod(snap, pod)?;
                ready(p, pod)?;
                let ready_since = condition(p, "Ready")
                    .and_then(|c| c.last_transition_time.as_ref())
                    .map(|t| t.0);
                let statuses = p
                    .status
                    .as_ref()
                    .and_then(|s| s.container_statuses.as_deref())
                    .unwrap_or_default();
                let mut newest_start = ready_since;
                for cs in statuses {
                    match cs.state.as_ref().and_then(|s| s.running.as_ref()) {
                        Some(r) => {
                            let started = r.started_at.as_ref().map(|t| t.0);
                            newest_start = match (newest_start, started) {
                                (Some(a), Some(b)) => Some(a.max(b)),
                                (a, b) => a.or(b),
                            };
                        }
                        None => {
                            return Ok(not_met(format!(
                                "{pod}: container {} is not running",
                                cs.name
                            )));
                        }
                    }
                }
                let Some(since) = newest_start else {
                    return Ok(not_met(format!("{pod} reports no start time yet")));
                };
                let elapsed = snap.now.duration_since(since);
                let need = SignedDuration::from_secs(i64::try_from(*seconds).unwrap_or(i64::MAX));
                let secs = elapsed.as_secs().max(0);
                if elapsed >= need {
                    Ok(met(format!(
                        "{pod} has been Ready with no restart for {secs}s"
                    )))
                } else {
                    Ok((
                        ObjectiveStatus::Waiting,
                        format!("{pod} has been Ready for {secs}s of {seconds}s"),
                    ))
                }
            }
            Check::ImageResolvable { pod, container } => {
                let p = live_pod(snap, pod)?;
                image_pulled(p, pod, container.as_deref())?;
                Ok(met(format!("{pod}'s image is pulled")))
            }
            Check::ContainerImage {
                pod,
                container,
                not,
                repository: repo,
            } => {
                let p = live_pod(snap, pod)?;
                let cs = containers(p, pod, container.as_deref())?;
                let Some(c) = cs.first() else {
                    return Ok(not_met(format!("{pod} has no containers")));
                };
                let image = c.image.as_deref().unwrap_or_default();
                if let Some(bad) = not
                    && reference::normalize(image) == reference::normalize(bad)
                {
                    // The value itself is the cause the learner is looking for: not named.
                    return Ok(not_met(format!(
                        "{pod}/{} still uses the image it started with",
                        c.name
                    )));
                }
                if let Some(want) = repo
                    && repository(image) != repository(want)
                {
                    return Ok(not_met(format!(
                        "{pod}/{} uses {image}, not an image from {want}",
                        c.name
                    )));
                }
                Ok(met(format!("{pod}/{} uses {image}", c.name)))
            }
            Check::PodPhase { pod, phase } => {
                let p = find_pod(snap, pod)?;
                let actual = p
                    .status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .unwrap_or("Pending");
                if actual == phase {
                    Ok(met(format!("{pod} is {phase}")))
                } else {
                    Ok(not_met(format!("{pod} is {actual}, not {phase}")))
                }
            }
            Check::ContainerProbe { .. } => probes::evaluate(check, snap),
            Check::DeploymentAvailable { .. }
            | Check::RolloutComplete { .. }
            | Check::JobSucceeded { .. }
            | Check::WorkloadImagesPulled { .. } => evaluate_workload_check(check, snap, workloads),
            Check::ServiceEndpoints {
                service,
                min_ready,
                workload,
            } => Ok(service_endpoints(
                snap,
                services,
                service,
                min_ready.unwrap_or(1),
                workload.as_ref().map(|w| (w, workloads)),
            )),
            Check::ServiceHttp {
                service,
                port,
                path,
                status,
            } => {
                let key = service_http::probe_key(service, port.as_deref(), path);
                match service_http::judge(service, path, *status, http.get(&key)) {
                    (true, why) => Ok(met(why)),
                    (false, why) => Ok(not_met(why)),
                }
            }
            Check::ServiceAccountCan { .. }
            | Check::QuotaRespected { .. }
            | Check::ClaimBound { .. }
            | Check::PodSecurityEnforced { .. } => {
                security::evaluate(check, snap, workloads, security)
            }
            Check::NodeDrained { .. } | Check::BudgetProtects { .. } => {
                nodes::evaluate(check, snap, workloads, security)
            }
        }
    })();
    result.unwrap_or_else(|e| e)
}

/// Evaluates every objective against the snapshot, in order, with no workloads known (a
/// workload check then reports its workload missing). See [`evaluate_with`].
pub fn evaluate(objectives: &[Objective], snap: &Snapshot<'_>) -> Vec<ObjectiveResult> {
    evaluate_with(objectives, snap, &Workloads::new())
}

/// Evaluates every objective against the snapshot and the namespace's workloads, in order.
pub fn evaluate_with(
    objectives: &[Objective],
    snap: &Snapshot<'_>,
    workloads: &Workloads,
) -> Vec<ObjectiveResult> {
    evaluate_all(objectives, snap, workloads, &ServiceObjects::default())
}

/// Evaluates every objective against the snapshot, the namespace's workloads and its
/// Services and EndpointSlices (what a session watches), in order.
pub fn evaluate_all(
    objectives: &[Objective],
    snap: &Snapshot<'_>,
    workloads: &Workloads,
    services: &ServiceObjects,
) -> Vec<ObjectiveResult> {
    evaluate_all_http(
        objectives,
        snap,
        workloads,
        services,
        &HttpResults::default(),
    )
}

/// [`evaluate_all`] with the last answers of the session's `service-http` requests.
pub fn evaluate_all_http(
    objectives: &[Objective],
    snap: &Snapshot<'_>,
    workloads: &Workloads,
    services: &ServiceObjects,
    http: &HttpResults,
) -> Vec<ObjectiveResult> {
    evaluate_session(
        objectives,
        snap,
        workloads,
        services,
        http,
        &SecurityFacts::default(),
    )
}

/// [`evaluate_all_http`] with the session's last reads of quotas, claims, the namespace and
/// the permission reviews (see [`security`]).
pub fn evaluate_session(
    objectives: &[Objective],
    snap: &Snapshot<'_>,
    workloads: &Workloads,
    services: &ServiceObjects,
    http: &HttpResults,
    security: &SecurityFacts,
) -> Vec<ObjectiveResult> {
    objectives
        .iter()
        .map(|o| {
            let (status, reason) =
                evaluate_check_session(&o.check, snap, workloads, services, http, security);
            ObjectiveResult {
                id: o.id.clone(),
                title: o.title.clone(),
                status,
                reason,
            }
        })
        .collect()
}

/// Whether the mission is solved: every objective met.
pub fn all_met(results: &[ObjectiveResult]) -> bool {
    !results.is_empty() && results.iter().all(|r| r.status == ObjectiveStatus::Met)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mission::format::parse_front_matter;
    use serde_json::json;

    fn front(objectives: &str) -> String {
        format!(
            "format: 1\nid: x\ntitle: X\norder: 1\nstage: pull\ndifficulty: beginner\n\
             objectives:\n{objectives}hints: [a, b, c]\n"
        )
    }

    #[test]
    fn workload_objectives_parse_with_kubectls_names() {
        let f = parse_front_matter(&front(
            "  - id: a\n    title: A\n    check: { kind: deployment-available, deployment: web, replicas: 3 }\n\
             \x20 - id: b\n    title: B\n    check: { kind: rollout-complete, deployment: web, revision: 2 }\n\
             \x20 - id: c\n    title: C\n    check: { kind: job-succeeded, job: report }\n\
             \x20 - id: d\n    title: D\n    check: { kind: workload-images-pulled, workload: deploy/web }\n",
        ));
        assert_eq!(f.problems, vec![], "all four are valid");
        let checks: Vec<Check> = f
            .objectives
            .expect("typed")
            .into_iter()
            .map(|o| o.check)
            .collect();
        assert_eq!(
            checks[3],
            Check::WorkloadImagesPulled {
                workload: WorkloadRef {
                    kind: WorkloadKind::Deployment,
                    name: "web".into()
                },
                container: None,
                repository: None
            }
        );
        assert_eq!(checks[2].subject(), ("Job", "report"));
    }

    #[test]
    fn a_bad_workload_objective_is_refused_at_its_line_and_says_why() {
        let f = parse_front_matter(&front(
            "  - id: ok\n    title: Fine\n    check: { kind: job-succeeded, job: report }\n\
             \x20 - id: zero\n    title: Zero\n    check: { kind: deployment-available, deployment: web, replicas: 0 }\n\
             \x20 - id: nokind\n    title: No kind\n    check: { kind: workload-images-pulled, workload: web }\n\
             \x20 - id: cron\n    title: Cron\n    check: { kind: workload-images-pulled, workload: cronjob/nightly }\n\
             \x20 - id: typo\n    title: Typo\n    check: { kind: rollout-complete, deploy: web }\n",
        ));
        let seen: Vec<(usize, Option<&str>, &str)> = f
            .problems
            .iter()
            .map(|p| (p.line, p.field.as_deref(), p.message.as_str()))
            .collect();
        assert_eq!(
            seen.len(),
            4,
            "every bad objective is reported, none hides another: {seen:#?}"
        );
        assert_eq!(seen[0].0, 13, "at the line of its `check:`");
        assert_eq!(seen[0].1, Some("objectives[1].check"));
        assert!(seen[0].2.contains("must be at least 1"), "{}", seen[0].2);
        assert!(
            seen[1].2.contains("`web` names no workload kind")
                && seen[1].2.contains("`deployment/web`"),
            "{}",
            seen[1].2
        );
        assert!(
            seen[2].2.contains("`cronjob` is not a workload kind"),
            "{}",
            seen[2].2
        );
        assert!(
            seen[3].2.contains("unknown field `deploy`"),
            "{}",
            seen[3].2
        );
    }

    fn workloads(deploy_status: serde_json::Value, revision: &str) -> Workloads {
        let mut w = Workloads::new();
        w.apply(WorkloadObject::Deployment(
            serde_json::from_value(json!({
                "metadata": {"name": "web", "namespace": "kq-x", "uid": "d", "generation": 3,
                             "annotations": {"deployment.kubernetes.io/revision": revision}},
                "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}},
                                      "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
                "status": deploy_status
            }))
            .unwrap(),
        ));
        w
    }

    fn eval(check: Check, w: &Workloads) -> (ObjectiveStatus, String) {
        let snap = Snapshot {
            pods: &[],
            events: &[],
            now: Timestamp::UNIX_EPOCH,
        };
        evaluate_check(
            &check,
            &snap,
            w,
            &ServiceObjects::default(),
            &HttpResults::default(),
        )
    }

    #[test]
    fn rollout_complete_follows_kubectl_rollout_status() {
        let check = || Check::RolloutComplete {
            deployment: "web".into(),
            revision: Some(2),
        };
        let status = |observed: i64, updated: i64, total: i64, available: i64| {
            json!({"observedGeneration": observed, "replicas": total, "updatedReplicas": updated,
                   "readyReplicas": available, "availableReplicas": available,
                   "conditions": [{"type": "Available", "status": "True"}]})
        };
        for (w, want) in [
            (workloads(status(2, 3, 3, 3), "2"), "has not been picked up"),
            (
                workloads(status(3, 1, 4, 3), "2"),
                "1 of 3 replicas run the new template",
            ),
            (
                workloads(status(3, 3, 4, 3), "2"),
                "1 old replicas are still terminating",
            ),
            (
                workloads(status(3, 3, 3, 2), "2"),
                "2 of 3 updated replicas are available",
            ),
            (
                workloads(status(3, 3, 3, 3), "1"),
                "at revision 1, not yet at 2",
            ),
        ] {
            let (s, reason) = eval(check(), &w);
            assert_eq!(s, ObjectiveStatus::NotMet, "{reason}");
            assert!(reason.contains(want), "{reason} should say {want}");
        }
        let (s, reason) = eval(check(), &workloads(status(3, 3, 3, 3), "3"));
        assert_eq!(
            (s, reason.as_str()),
            (ObjectiveStatus::Met, "web rolled out revision 3")
        );
        let (s, reason) = eval(check(), &Workloads::new());
        assert_eq!(s, ObjectiveStatus::NotMet);
        assert!(reason.contains("no deployment named web"), "{reason}");
    }

    #[test]
    fn deployment_available_needs_the_condition_and_the_ready_replicas() {
        let check = |replicas| Check::DeploymentAvailable {
            deployment: "web".into(),
            replicas,
        };
        let w = workloads(
            json!({"readyReplicas": 2, "availableReplicas": 2, "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}]}),
            "1",
        );
        let (s, reason) = eval(check(None), &w);
        assert_eq!(
            s,
            ObjectiveStatus::NotMet,
            "3 wanted by spec.replicas: {reason}"
        );
        assert_eq!(eval(check(Some(2)), &w).0, ObjectiveStatus::Met);
        let down = workloads(
            json!({"readyReplicas": 0, "conditions": [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}]}),
            "1",
        );
        let (s, reason) = eval(check(Some(1)), &down);
        assert_eq!(s, ObjectiveStatus::NotMet);
        assert!(reason.contains("MinimumReplicasUnavailable"), "{reason}");
    }

    fn service_objects(
        selector: serde_json::Value,
        target: serde_json::Value,
        slices: serde_json::Value,
    ) -> ServiceObjects {
        use crate::pipeline::ServiceInput;
        let mut o = ServiceObjects::default();
        o.apply(ServiceInput::ServiceApplied(
            serde_json::from_value(json!({"metadata": {"name": "web"},
                "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": target}]}}))
            .unwrap(),
        ));
        o.apply(ServiceInput::SlicesListed(
            serde_json::from_value(slices).unwrap(),
        ));
        o
    }

    fn web_pod(ready: bool) -> Pod {
        serde_json::from_value(
            json!({"metadata": {"name": "web-1", "labels": {"app": "web"}},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": if ready { "True" } else { "False" }}]}}),
        )
        .unwrap()
    }

    fn slice(ports: serde_json::Value, ready: bool) -> serde_json::Value {
        json!({"metadata": {"name": "web-abcde", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4", "ports": ports,
            "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": ready}}]})
    }

    fn eval_service(
        pods: &[Pod],
        objects: &ServiceObjects,
        min_ready: Option<u32>,
    ) -> (ObjectiveStatus, String) {
        let snap = Snapshot {
            pods,
            events: &[],
            now: Timestamp::UNIX_EPOCH,
        };
        let check = Check::ServiceEndpoints {
            service: "web".into(),
            min_ready,
            workload: None,
        };
        evaluate_check(
            &check,
            &snap,
            &Workloads::new(),
            objects,
            &HttpResults::default(),
        )
    }

    #[test]
    fn service_http_reads_the_last_answer() {
        let check: Check = serde_yaml_ng::from_str(
            "{ kind: service-http, service: web, port: 80, path: /, status: 200 }",
        )
        .expect("parses");
        let snap = Snapshot {
            pods: &[],
            events: &[],
            now: Timestamp::UNIX_EPOCH,
        };
        let mut http = HttpResults::default();
        let eval = |http: &HttpResults| {
            evaluate_check(
                &check,
                &snap,
                &Workloads::new(),
                &ServiceObjects::default(),
                http,
            )
        };
        assert_eq!(
            eval(&http),
            (
                ObjectiveStatus::NotMet,
                "no answer from web yet".to_string()
            )
        );
        http.set(
            "web:80/".into(),
            service_http::HttpOutcome::Unavailable(
                "no endpoints available for service \"web\"".into(),
            ),
        );
        assert_eq!(
            eval(&http),
            (
                ObjectiveStatus::NotMet,
                "no endpoints available for service \"web\"".to_string()
            )
        );
        http.set("web:80/".into(), service_http::HttpOutcome::Status(404));
        assert_eq!(
            eval(&http),
            (
                ObjectiveStatus::NotMet,
                "GET / through web got 404, not 200".to_string()
            )
        );
        let named: Check =
            serde_yaml_ng::from_str("{ kind: service-http, service: web, port: http }")
                .expect("parses");
        assert_eq!(
            named,
            Check::ServiceHttp {
                service: "web".into(),
                port: Some("http".into()),
                path: "/".into(),
                status: 200
            }
        );
    }

    #[test]
    fn service_endpoints_reads_slices_and_says_why_not() {
        let port80 = json!([{"name": "", "port": 80, "protocol": "TCP"}]);
        let placeholder = json!([{"metadata": {"name": "web-abcde", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4", "ports": [], "endpoints": []}]);
        let none = service_objects(json!({"app": "wbe"}), json!(80), placeholder);
        assert_eq!(
            eval_service(&[web_pod(true)], &none, None),
            (
                ObjectiveStatus::NotMet,
                "web has no ready endpoints (selector app=wbe matches 0 pods)".into()
            )
        );
        let not_ready = service_objects(
            json!({"app": "web"}),
            json!(80),
            json!([slice(port80.clone(), false)]),
        );
        assert_eq!(
            eval_service(&[web_pod(false)], &not_ready, None),
            (
                ObjectiveStatus::NotMet,
                "web has no ready endpoints (1 pod matches but is not ready)".into()
            )
        );
        let named = service_objects(
            json!({"app": "web"}),
            json!("http"),
            json!([slice(json!([]), true)]),
        );
        assert_eq!(
            eval_service(&[web_pod(true)], &named, None),
            (ObjectiveStatus::NotMet, "web has no ready endpoints (targetPort http names no container port of the matching pods)".into())
        );
        let fine = service_objects(
            json!({"app": "web"}),
            json!(80),
            json!([slice(port80, true)]),
        );
        assert_eq!(
            eval_service(&[web_pod(true)], &fine, None),
            (ObjectiveStatus::Met, "web has 1 ready endpoint".into())
        );
        assert_eq!(
            eval_service(&[web_pod(true)], &fine, Some(2)).1,
            "web has 1 ready endpoint, 2 wanted (1 of 1 matching pod ready; the endpoints have not caught up yet)"
        );
        assert_eq!(
            eval_service(&[], &ServiceObjects::default(), None).1,
            "there is no service named web (deleting it is not a fix)"
        );
    }

    #[test]
    fn service_endpoints_parses_and_refuses_min_ready_zero() {
        let c: Check =
            serde_yaml_ng::from_str("{ kind: service-endpoints, service: web, min_ready: 2 }")
                .unwrap();
        assert_eq!(
            c,
            Check::ServiceEndpoints {
                service: "web".into(),
                min_ready: Some(2),
                workload: None
            }
        );
        assert!(
            serde_yaml_ng::from_str::<Check>(
                "{ kind: service-endpoints, service: web, min_ready: 0 }"
            )
            .is_err()
        );
    }
}
