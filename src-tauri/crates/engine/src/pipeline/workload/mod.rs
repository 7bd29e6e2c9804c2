//! The workloads of the mission namespace and the pods they own: which Deployment (through which
//! ReplicaSet and revision), StatefulSet, DaemonSet or Job a pod belongs to, and where the
//! workload object itself stands.
//!
//! A learner meets most pod failures through a workload, and its pods have generated names
//! (`web-7c5ddbdf54-x2b9k`), so the rail follows them through ownership, as Kubernetes does:
//!
//! - a pod belongs to the object its **controller reference** names (`ownerReferences` with
//!   `controller: true`), matched by uid when the object is known, and only while the pod's
//!   labels still match that object's selector (a controller releases a pod whose labels no
//!   longer match: `pkg/controller/controller_ref_manager.go`);
//! - a ReplicaSet controlled by a Deployment hands its pods up to the Deployment, so a
//!   Deployment's pods are those of all its ReplicaSets;
//! - during a rollout, the Deployment's **new** ReplicaSet is the one whose pod template equals
//!   the Deployment's apart from the `pod-template-hash` label (`FindNewReplicaSet` in
//!   `pkg/controller/deployment/util/deployment_util.go`); the others are old. Each pod carries
//!   its ReplicaSet's `deployment.kubernetes.io/revision`, so the rail can say "revision 2, new"
//!   and "revision 1, old". A StatefulSet's pods are new when their `controller-revision-hash`
//!   label is the set's `status.updateRevision`.
//!
//! The workload's own *apply* stage ([`WorkloadView::applied`]) is stuck when the object itself
//! is the broken thing: a Deployment's `Progressing` condition False with
//! `ProgressDeadlineExceeded`, a `ReplicaFailure` condition or a `FailedCreate` event newer than
//! the last `SuccessfulCreate` while pods are missing (the API server refused the pod: quota,
//! admission), a Job's `Failed` (or ≥1.31 interim `FailureTarget`) condition. Those are
//! explained by [`crate::diagnose::diagnose_workload`].

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use serde::Serialize;
use ts_rs::TS;

use super::{EventFact, FieldFact, PodEvent, PodPipeline, Stage, StageKind, StageState};
use crate::diagnose::{Diagnosis, StuckPod, Termination, WorkloadSymptom, diagnose_workload};

/// The annotation a Deployment and its ReplicaSets carry their revision in.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// The label a Deployment adds to its ReplicaSets' pods and selectors.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// The workload kinds the engine follows.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize, TS,
)]
pub enum WorkloadKind {
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
}

impl WorkloadKind {
    /// Every kind, in the order workloads are listed.
    pub const ALL: [WorkloadKind; 5] = [
        WorkloadKind::Deployment,
        WorkloadKind::StatefulSet,
        WorkloadKind::DaemonSet,
        WorkloadKind::Job,
        WorkloadKind::ReplicaSet,
    ];

    /// The Kubernetes kind (`Deployment`).
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::ReplicaSet => "ReplicaSet",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::Job => "Job",
        }
    }

    /// The name `kubectl` takes (`deployment`, as in `deployment/web`).
    pub fn resource(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployment",
            WorkloadKind::ReplicaSet => "replicaset",
            WorkloadKind::StatefulSet => "statefulset",
            WorkloadKind::DaemonSet => "daemonset",
            WorkloadKind::Job => "job",
        }
    }

    /// Reads a kind as kubectl accepts it: the kind, its plural, its short name, with or without
    /// the group (`deployment`, `deployments`, `deploy`, `Deployment`, `deployment.apps`).
    pub fn parse(text: &str) -> Option<WorkloadKind> {
        let lower = text.to_ascii_lowercase();
        let bare = lower
            .strip_suffix(".apps")
            .or_else(|| lower.strip_suffix(".batch"))
            .unwrap_or(&lower);
        Some(match bare {
            "deployment" | "deployments" | "deploy" => WorkloadKind::Deployment,
            "replicaset" | "replicasets" | "rs" => WorkloadKind::ReplicaSet,
            "statefulset" | "statefulsets" | "sts" => WorkloadKind::StatefulSet,
            "daemonset" | "daemonsets" | "ds" => WorkloadKind::DaemonSet,
            "job" | "jobs" => WorkloadKind::Job,
            _ => return None,
        })
    }

    /// The kind of a Kubernetes `kind` string, exactly.
    fn from_kind(kind: &str) -> Option<WorkloadKind> {
        WorkloadKind::ALL.into_iter().find(|k| k.as_str() == kind)
    }
}

/// One workload object as the watch reported it.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkloadObject {
    Deployment(Deployment),
    ReplicaSet(ReplicaSet),
    StatefulSet(StatefulSet),
    DaemonSet(DaemonSet),
    Job(Job),
}

/// A condition of any workload kind, flattened.
#[derive(Debug, Clone, Copy)]
struct Cond<'a> {
    index: usize,
    type_: &'a str,
    status: &'a str,
    reason: Option<&'a str>,
    message: Option<&'a str>,
}

impl WorkloadObject {
    /// Its kind.
    pub fn kind(&self) -> WorkloadKind {
        match self {
            WorkloadObject::Deployment(_) => WorkloadKind::Deployment,
            WorkloadObject::ReplicaSet(_) => WorkloadKind::ReplicaSet,
            WorkloadObject::StatefulSet(_) => WorkloadKind::StatefulSet,
            WorkloadObject::DaemonSet(_) => WorkloadKind::DaemonSet,
            WorkloadObject::Job(_) => WorkloadKind::Job,
        }
    }

    /// Its metadata.
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            WorkloadObject::Deployment(o) => &o.metadata,
            WorkloadObject::ReplicaSet(o) => &o.metadata,
            WorkloadObject::StatefulSet(o) => &o.metadata,
            WorkloadObject::DaemonSet(o) => &o.metadata,
            WorkloadObject::Job(o) => &o.metadata,
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or_default()
    }

    pub(crate) fn uid(&self) -> &str {
        self.meta().uid.as_deref().unwrap_or_default()
    }

    fn selector(&self) -> Option<&LabelSelector> {
        match self {
            WorkloadObject::Deployment(o) => o.spec.as_ref().map(|s| &s.selector),
            WorkloadObject::ReplicaSet(o) => o.spec.as_ref().map(|s| &s.selector),
            WorkloadObject::StatefulSet(o) => o.spec.as_ref().map(|s| &s.selector),
            WorkloadObject::DaemonSet(o) => o.spec.as_ref().map(|s| &s.selector),
            WorkloadObject::Job(o) => o.spec.as_ref().and_then(|s| s.selector.as_ref()),
        }
    }

    /// The number of pods it wants (`spec.replicas`, a Job's parallelism; `None` for a
    /// DaemonSet, which wants one per eligible node).
    pub(crate) fn desired(&self) -> Option<i32> {
        match self {
            WorkloadObject::Deployment(o) => Some(o.spec.as_ref()?.replicas.unwrap_or(1)),
            WorkloadObject::ReplicaSet(o) => Some(o.spec.as_ref()?.replicas.unwrap_or(1)),
            WorkloadObject::StatefulSet(o) => Some(o.spec.as_ref()?.replicas.unwrap_or(1)),
            WorkloadObject::DaemonSet(o) => o.status.as_ref().map(|s| s.desired_number_scheduled),
            WorkloadObject::Job(o) => Some(o.spec.as_ref()?.parallelism.unwrap_or(1)),
        }
    }

    fn conditions(&self) -> Vec<Cond<'_>> {
        macro_rules! flat {
            ($list:expr) => {
                $list
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(index, c)| Cond {
                        index,
                        type_: &c.type_,
                        status: &c.status,
                        reason: c.reason.as_deref(),
                        message: c.message.as_deref(),
                    })
                    .collect()
            };
        }
        match self {
            WorkloadObject::Deployment(o) => {
                flat!(o.status.as_ref().and_then(|s| s.conditions.as_ref()))
            }
            WorkloadObject::ReplicaSet(o) => {
                flat!(o.status.as_ref().and_then(|s| s.conditions.as_ref()))
            }
            WorkloadObject::StatefulSet(o) => {
                flat!(o.status.as_ref().and_then(|s| s.conditions.as_ref()))
            }
            WorkloadObject::DaemonSet(o) => {
                flat!(o.status.as_ref().and_then(|s| s.conditions.as_ref()))
            }
            WorkloadObject::Job(o) => {
                flat!(o.status.as_ref().and_then(|s| s.conditions.as_ref()))
            }
        }
    }

    /// The `deployment.kubernetes.io/revision` annotation.
    pub(crate) fn revision(&self) -> Option<u64> {
        self.meta()
            .annotations
            .as_ref()?
            .get(REVISION_ANNOTATION)?
            .parse()
            .ok()
    }
}

/// The controller reference of an object, if it has one.
pub fn controller_ref(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// `metav1.LabelSelectorAsSelector` then `Matches`: every matchLabels pair and every
/// matchExpressions requirement holds. An empty selector matches everything, as the API does.
pub fn selector_matches(
    selector: &LabelSelector,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    kq_kube::selectors::label_selector_matches(selector, labels).unwrap_or(false)
}

/// Whether a pod is new or old in its workload's rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum RevisionRole {
    /// The pod runs the workload's current template (the Deployment's new ReplicaSet, the
    /// StatefulSet's update revision).
    New,
    /// The pod runs an earlier template and goes away as the rollout proceeds.
    Old,
}

/// The workload a pod belongs to, shown on its rail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PodOwner {
    /// The top workload: a Deployment for a pod of one of its ReplicaSets.
    pub kind: WorkloadKind,
    pub name: String,
    /// The ReplicaSet between a Deployment and its pod.
    pub replica_set: Option<String>,
    /// That ReplicaSet's `deployment.kubernetes.io/revision`.
    pub revision: Option<u64>,
    /// New or old revision, while the workload is known; `None` when the workload has no
    /// notion of one (a Job) or has not been seen yet.
    pub role: Option<RevisionRole>,
}

/// The namespace's workloads, as the watches reported them; keyed by kind and name (a workload
/// recreated under the same name replaces the old one).
#[derive(Debug, Clone, Default)]
pub struct Workloads {
    objects: BTreeMap<(WorkloadKind, String), WorkloadObject>,
}

fn template_without_hash(t: Option<&PodTemplateSpec>) -> serde_json::Value {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    if let Some(labels) = v
        .pointer_mut("/metadata/labels")
        .and_then(serde_json::Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH);
        if labels.is_empty()
            && let Some(meta) = v
                .pointer_mut("/metadata")
                .and_then(serde_json::Value::as_object_mut)
        {
            meta.remove("labels");
        }
    }
    v
}

impl Workloads {
    /// No workloads.
    pub fn new() -> Workloads {
        Workloads::default()
    }

    /// A workload was created or changed.
    pub fn apply(&mut self, object: WorkloadObject) {
        self.objects
            .insert((object.kind(), object.name().to_owned()), object);
    }

    /// A workload is gone.
    pub fn delete(&mut self, kind: WorkloadKind, name: &str) {
        self.objects.remove(&(kind, name.to_owned()));
    }

    /// The full list of one kind (after a watch (re)start): the others of that kind are gone.
    pub fn listed(&mut self, kind: WorkloadKind, objects: Vec<WorkloadObject>) {
        self.objects.retain(|(k, _), _| *k != kind);
        for o in objects.into_iter().filter(|o| o.kind() == kind) {
            self.apply(o);
        }
    }

    /// The workload of this kind and name.
    pub fn get(&self, kind: WorkloadKind, name: &str) -> Option<&WorkloadObject> {
        self.objects.get(&(kind, name.to_owned()))
    }

    /// Every workload, by kind then name.
    pub fn iter(&self) -> impl Iterator<Item = &WorkloadObject> {
        self.objects.values()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The workload a controller reference names, if it is known and is that very object.
    fn referenced(&self, r: &OwnerReference) -> Option<&WorkloadObject> {
        let kind = WorkloadKind::from_kind(&r.kind)?;
        self.get(kind, &r.name)
            .filter(|o| o.uid().is_empty() || r.uid.is_empty() || o.uid() == r.uid)
    }

    /// The ReplicaSets a Deployment controls.
    pub fn replica_sets_of(&self, deployment: &str) -> Vec<&ReplicaSet> {
        let uid = self
            .get(WorkloadKind::Deployment, deployment)
            .map(WorkloadObject::uid);
        self.objects
            .values()
            .filter_map(|o| match o {
                WorkloadObject::ReplicaSet(rs) => Some(rs),
                _ => None,
            })
            .filter(|rs| {
                controller_ref(&rs.metadata).is_some_and(|r| {
                    r.kind == "Deployment"
                        && r.name == deployment
                        && uid.is_none_or(|u| u.is_empty() || u == r.uid)
                })
            })
            .collect()
    }

    /// A Deployment's new ReplicaSet: the one whose template is the Deployment's (apart from
    /// `pod-template-hash`), else the one carrying the Deployment's revision.
    pub fn new_replica_set(&self, deployment: &str) -> Option<&ReplicaSet> {
        let WorkloadObject::Deployment(d) = self.get(WorkloadKind::Deployment, deployment)? else {
            return None;
        };
        let want = template_without_hash(d.spec.as_ref().map(|s| &s.template));
        let sets = self.replica_sets_of(deployment);
        if let Some(rs) = sets.iter().find(|rs| {
            template_without_hash(rs.spec.as_ref().and_then(|s| s.template.as_ref())) == want
        }) {
            return Some(rs);
        }
        // The controller writes the revision to the Deployment when it makes the new set.
        let revision = WorkloadObject::Deployment(d.clone()).revision()?;
        sets.into_iter()
            .find(|rs| WorkloadObject::ReplicaSet((*rs).clone()).revision() == Some(revision))
    }

    /// The workload `pod` belongs to (see the module docs), or `None` for a bare pod.
    pub fn owner_of(&self, pod: &Pod) -> Option<PodOwner> {
        let r = controller_ref(&pod.metadata)?;
        let kind = WorkloadKind::from_kind(&r.kind)?;
        let direct = self.referenced(r);
        if let Some(o) = direct
            && let Some(sel) = o.selector()
            && !selector_matches(sel, pod.metadata.labels.as_ref())
        {
            // Released by its controller (labels changed): no longer that workload's pod.
            return None;
        }
        match (kind, direct) {
            (WorkloadKind::ReplicaSet, Some(WorkloadObject::ReplicaSet(rs))) => {
                let revision = WorkloadObject::ReplicaSet(rs.clone()).revision();
                match controller_ref(&rs.metadata).filter(|d| d.kind == "Deployment") {
                    Some(d) => {
                        let known = self.referenced(d).is_some();
                        let role = known.then(|| {
                            if self
                                .new_replica_set(&d.name)
                                .is_some_and(|new| new.metadata.name == rs.metadata.name)
                            {
                                RevisionRole::New
                            } else {
                                RevisionRole::Old
                            }
                        });
                        Some(PodOwner {
                            kind: WorkloadKind::Deployment,
                            name: d.name.clone(),
                            replica_set: rs.metadata.name.clone(),
                            revision,
                            role,
                        })
                    }
                    None => Some(PodOwner {
                        kind,
                        name: r.name.clone(),
                        replica_set: None,
                        revision: None,
                        role: None,
                    }),
                }
            }
            (WorkloadKind::StatefulSet, Some(WorkloadObject::StatefulSet(sts))) => {
                let status = sts.status.as_ref();
                let update = status.and_then(|s| s.update_revision.as_deref());
                let current = status.and_then(|s| s.current_revision.as_deref());
                let hash = pod
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("controller-revision-hash"))
                    .map(String::as_str);
                let role = match (hash, update) {
                    (Some(h), Some(u)) if h == u => Some(RevisionRole::New),
                    (Some(_), Some(u)) if current.is_some_and(|c| c != u) => {
                        Some(RevisionRole::Old)
                    }
                    _ => None,
                };
                Some(PodOwner {
                    kind,
                    name: r.name.clone(),
                    replica_set: None,
                    revision: None,
                    role,
                })
            }
            _ => Some(PodOwner {
                kind,
                name: r.name.clone(),
                replica_set: None,
                revision: None,
                role: None,
            }),
        }
    }

    /// The pods of the workload `kind`/`name` (a Deployment's through its ReplicaSets), in the
    /// order given.
    pub fn pods_of<'p>(&self, kind: WorkloadKind, name: &str, pods: &'p [Pod]) -> Vec<&'p Pod> {
        pods.iter()
            .filter(|p| {
                self.owner_of(p)
                    .is_some_and(|o| o.kind == kind && o.name == name)
            })
            .collect()
    }

    /// [`Workloads::pods_of`] without the pods being deleted.
    pub fn live_pods_of<'p>(
        &self,
        kind: WorkloadKind,
        name: &str,
        pods: &'p [Pod],
    ) -> Vec<&'p Pod> {
        self.pods_of(kind, name, pods)
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect()
    }
}

/// One workload as the mission screen shows it: its own *apply* stage, the diagnosis when the
/// object itself is stuck, its rollout position and its pods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadView {
    pub kind: WorkloadKind,
    pub name: String,
    pub uid: String,
    /// A Deployment's `deployment.kubernetes.io/revision`.
    pub revision: Option<u64>,
    /// A Deployment's new ReplicaSet, while there is one.
    pub new_replica_set: Option<String>,
    /// `kubectl get`'s READY cell (`2/3`); a Job's COMPLETIONS (`0/1`).
    pub ready: String,
    /// One line: `2/3 ready, 1 up-to-date, 1 available`, `rolling out revision 2: 1 new pod,
    /// 2 old`, `0/1 completions, 2 failed`.
    pub summary: String,
    /// The object's own stage: done once the API server accepted it, stuck or failed when the
    /// workload itself is the broken thing.
    pub applied: Stage,
    pub diagnosis: Option<Diagnosis>,
    /// Its pods, new revision first, then by name.
    pub pods: Vec<String>,
}

impl WorkloadView {
    /// A copy with every "time ago" text blanked, so two views built at different moments
    /// compare equal when nothing but the clock moved.
    pub fn without_ages(&self) -> WorkloadView {
        let mut v = self.clone();
        if let Some(e) = &mut v.applied.evidence.event {
            e.age.clear();
        }
        v
    }

    /// One line for `kq` and test snapshots.
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "{}/{} {}  {}  applied {}",
            self.kind.resource(),
            self.name,
            self.ready,
            self.summary,
            self.applied.state.as_str()
        );
        if let Some(r) = &self.applied.reason {
            out.push_str(&format!(" {r}"));
        }
        if let Some(d) = &self.diagnosis {
            out.push_str(&format!(
                "\n  diagnosis: {} -> {}",
                d.reason,
                d.commands.first().map(String::as_str).unwrap_or("-")
            ));
        }
        out
    }
}

/// The events about one workload object, flattened, oldest first.
pub(crate) fn events_about(events: &[Event], kind: &str, name: &str, uid: &str) -> Vec<PodEvent> {
    let mut out: Vec<PodEvent> = events
        .iter()
        .filter(|e| {
            let o = &e.involved_object;
            o.kind.as_deref() == Some(kind)
                && o.name.as_deref() == Some(name)
                && o.uid
                    .as_deref()
                    .is_none_or(|u| u.is_empty() || uid.is_empty() || u == uid)
        })
        .map(PodEvent::from_event)
        .collect();
    out.sort_by_key(|e| (e.last_seen, e.first_seen));
    out
}

fn latest<'a>(events: &'a [PodEvent], reason: &str) -> Option<&'a PodEvent> {
    events.iter().rev().find(|e| e.reason == reason)
}

/// A refused pod creation still in force: a `FailedCreate` event at least as recent as the last
/// `SuccessfulCreate`, while the object has fewer live pods than it wants.
fn refusal(events: &[PodEvent], live: usize, desired: Option<i32>) -> Option<&PodEvent> {
    let failed = latest(events, "FailedCreate")?;
    let created = latest(events, "SuccessfulCreate");
    let newer = created.is_none_or(|c| failed.last_seen >= c.last_seen);
    let missing = desired.is_none_or(|d| usize::try_from(d).unwrap_or(0) > live);
    (newer && missing).then_some(failed)
}

struct Problem<'a> {
    state: StageState,
    reason: String,
    message: Option<String>,
    field: Option<FieldFact>,
    event: Option<&'a PodEvent>,
    symptom_kind: WorkloadKind,
    symptom_name: String,
    limit: Option<i64>,
}

fn condition_problem<'a>(
    o: &WorkloadObject,
    type_: &str,
    status: &str,
    reasons: Option<&[&str]>,
) -> Option<Problem<'a>> {
    let conds = o.conditions();
    let c = conds.iter().find(|c| {
        c.type_ == type_
            && c.status == status
            && reasons.is_none_or(|r| c.reason.is_some_and(|x| r.contains(&x)))
    })?;
    let reason = c.reason.unwrap_or(c.type_).to_owned();
    Some(Problem {
        state: StageState::Stuck,
        field: Some(FieldFact {
            path: format!("status.conditions[{}].reason", c.index),
            value: reason.clone(),
        }),
        reason,
        message: c.message.map(str::to_owned),
        event: None,
        symptom_kind: o.kind(),
        symptom_name: o.name().to_owned(),
        limit: None,
    })
}

/// The reason a pod's pipeline is stuck with, for a diagnosis sentence (`ImagePullBackOff`).
fn stuck_reason(p: &PodPipeline) -> Option<(StageKind, String)> {
    let s = p.stuck_stage()?;
    Some((s.kind, s.reason.clone().unwrap_or_else(|| p.status.clone())))
}

/// How a failed pod's first terminated container ended (`Error (exit code 1)`).
fn pod_end(pod: &Pod) -> Option<String> {
    pod.status
        .as_ref()?
        .container_statuses
        .iter()
        .flatten()
        .find_map(|c| c.state.as_ref()?.terminated.as_ref())
        .map(|t| Termination::from_state(t).describe())
}

/// Builds the view of one top-level workload from the namespace's state.
pub fn build_workload_view(
    workloads: &Workloads,
    object: &WorkloadObject,
    pods: &[Pod],
    pipelines: &[&PodPipeline],
    events: &[Event],
    now: Timestamp,
) -> WorkloadView {
    let kind = object.kind();
    let name = object.name().to_owned();
    let namespace = object.meta().namespace.clone().unwrap_or_default();
    let mut owned: Vec<(&Pod, Option<PodOwner>)> = workloads
        .pods_of(kind, &name, pods)
        .into_iter()
        .map(|p| (p, workloads.owner_of(p)))
        .collect();
    owned.sort_by_key(|(p, o)| {
        (
            o.as_ref().and_then(|o| o.role) != Some(RevisionRole::New),
            p.metadata.name.clone(),
        )
    });
    let live = owned
        .iter()
        .filter(|(p, _)| p.metadata.deletion_timestamp.is_none())
        .count();
    let pipeline_of = |pod: &Pod| {
        pipelines
            .iter()
            .find(|pl| Some(&pl.uid) == pod.metadata.uid.as_ref() && !pl.uid.is_empty())
            .or_else(|| {
                pipelines
                    .iter()
                    .find(|pl| Some(&pl.pod) == pod.metadata.name.as_ref())
            })
            .copied()
    };
    let own_events = events_about(events, kind.as_str(), &name, object.uid());
    let new_rs = match kind {
        WorkloadKind::Deployment => workloads.new_replica_set(&name),
        _ => None,
    };
    let new_rs_name = new_rs.and_then(|rs| rs.metadata.name.clone());

    // What is wrong with the object itself, most telling first.
    let mut rs_events: Vec<PodEvent> = Vec::new();
    let mut problem: Option<Problem<'_>> = match object {
        WorkloadObject::Deployment(d) => {
            let deadline = d
                .spec
                .as_ref()
                .and_then(|s| s.progress_deadline_seconds)
                .map(i64::from);
            let mut problem = condition_problem(
                object,
                "Progressing",
                "False",
                Some(&["ProgressDeadlineExceeded"]),
            )
            .map(|p| Problem {
                limit: deadline,
                ..p
            })
            .or_else(|| condition_problem(object, "ReplicaFailure", "True", None))
            .or_else(|| {
                condition_problem(
                    object,
                    "Progressing",
                    "False",
                    Some(&["ReplicaSetCreateError"]),
                )
            });
            // The refusal itself is on the ReplicaSet (its condition and its events); a
            // Deployment copies only the condition.
            let mut sets = workloads.replica_sets_of(&name);
            sets.sort_by_key(|rs| rs.metadata.name != new_rs_name);
            for rs in sets {
                let rs_name = rs.metadata.name.clone().unwrap_or_default();
                let evs = events_about(
                    events,
                    "ReplicaSet",
                    &rs_name,
                    rs.metadata.uid.as_deref().unwrap_or_default(),
                );
                let rs_obj = WorkloadObject::ReplicaSet(rs.clone());
                let rs_live = workloads
                    .pods_of(WorkloadKind::Deployment, &name, pods)
                    .iter()
                    .filter(|p| {
                        controller_ref(&p.metadata).is_some_and(|r| r.name == rs_name)
                            && p.metadata.deletion_timestamp.is_none()
                    })
                    .count();
                let refused = refusal(&evs, rs_live, rs_obj.desired()).is_some()
                    || condition_problem(&rs_obj, "ReplicaFailure", "True", None).is_some();
                if refused {
                    let (message, event_reason) = match latest(&evs, "FailedCreate") {
                        Some(e) => (Some(e.message.clone()), e.reason.clone()),
                        None => (None, "FailedCreate".to_owned()),
                    };
                    let base = problem.take();
                    let keep_deadline = base
                        .as_ref()
                        .is_some_and(|p| p.reason == "ProgressDeadlineExceeded");
                    problem = Some(match base {
                        Some(p) if keep_deadline => p,
                        Some(p) => Problem {
                            message: message.or(p.message),
                            symptom_kind: WorkloadKind::ReplicaSet,
                            symptom_name: rs_name.clone(),
                            ..p
                        },
                        None => Problem {
                            state: StageState::Stuck,
                            reason: event_reason,
                            message,
                            field: None,
                            event: None,
                            symptom_kind: WorkloadKind::ReplicaSet,
                            symptom_name: rs_name.clone(),
                            limit: None,
                        },
                    });
                    rs_events = evs;
                    break;
                }
            }
            problem
        }
        WorkloadObject::Job(j) => {
            let spec = j.spec.as_ref();
            condition_problem(object, "Failed", "True", None)
                .or_else(|| condition_problem(object, "FailureTarget", "True", None))
                .map(|p| {
                    let limit = match p.reason.as_str() {
                        "DeadlineExceeded" => spec.and_then(|s| s.active_deadline_seconds),
                        "BackoffLimitExceeded" => {
                            Some(i64::from(spec.and_then(|s| s.backoff_limit).unwrap_or(6)))
                        }
                        _ => None,
                    };
                    Problem {
                        state: StageState::Failed,
                        limit,
                        ..p
                    }
                })
        }
        _ => condition_problem(object, "ReplicaFailure", "True", None),
    };
    if problem.is_none()
        && kind != WorkloadKind::Deployment
        && let Some(e) = refusal(&own_events, live, object.desired())
    {
        problem = Some(Problem {
            state: StageState::Stuck,
            reason: e.reason.clone(),
            message: Some(e.message.clone()),
            field: None,
            event: Some(e),
            symptom_kind: kind,
            symptom_name: name.clone(),
            limit: None,
        });
    }

    let mut applied = Stage {
        id: "applied".into(),
        kind: StageKind::Applied,
        label: StageKind::Applied.label().into(),
        container: None,
        state: StageState::Done,
        reason: None,
        message: None,
        evidence: Default::default(),
    };
    if let Some(t) = &object.meta().creation_timestamp {
        applied.evidence.fields.push(FieldFact {
            path: "metadata.creationTimestamp".into(),
            value: t.0.to_string(),
        });
    }
    let mut diagnosis = None;
    if let Some(p) = problem {
        applied.evidence.fields.clear();
        applied.state = p.state;
        applied.reason = Some(p.reason.clone());
        applied.message = p.message.clone().filter(|m| !m.is_empty());
        applied.evidence.fields.extend(p.field);
        let event = p
            .event
            .or_else(|| latest(&rs_events, "FailedCreate"))
            .or_else(|| latest(&own_events, &p.reason))
            .or_else(|| own_events.iter().rev().find(|e| e.type_ == "Warning"));
        applied.evidence.event = event.map(|e| EventFact::from_event(e, now));
        // The pod that keeps it stuck: a stuck new pod of a rollout, a Job's last failed pod.
        let stuck: Option<(String, StageKind, String)> = match kind {
            WorkloadKind::Job => owned
                .iter()
                .filter(|(p, _)| {
                    p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed")
                })
                .max_by_key(|(p, _)| p.metadata.creation_timestamp.as_ref().map(|t| t.0))
                .and_then(|(p, _)| {
                    let end = pod_end(p)
                        .or_else(|| pipeline_of(p).and_then(stuck_reason).map(|(_, r)| r))?;
                    Some((
                        p.metadata.name.clone().unwrap_or_default(),
                        StageKind::Running,
                        end,
                    ))
                }),
            _ => owned
                .iter()
                .filter(|(_, o)| {
                    new_rs_name.is_none()
                        || o.as_ref().and_then(|o| o.role) == Some(RevisionRole::New)
                })
                .find_map(|(p, _)| {
                    let (stage, reason) = pipeline_of(p).and_then(stuck_reason)?;
                    Some((p.metadata.name.clone().unwrap_or_default(), stage, reason))
                }),
        };
        let owner = (p.symptom_kind != kind).then_some((kind.as_str(), name.as_str()));
        let symptom = WorkloadSymptom {
            namespace: &namespace,
            kind: p.symptom_kind.as_str(),
            name: &p.symptom_name,
            owner,
            reason: &p.reason,
            message: applied.message.as_deref(),
            limit: p.limit,
            replica_set: new_rs_name.as_deref(),
            stuck_pod: stuck.as_ref().map(|(pod, stage, reason)| StuckPod {
                pod,
                stage: *stage,
                reason,
            }),
        };
        diagnosis = Some(diagnose_workload(&symptom));
    }

    let (ready, summary) = summary(object, &owned, new_rs_name.as_deref());
    WorkloadView {
        kind,
        name,
        uid: object.uid().to_owned(),
        revision: object.revision(),
        new_replica_set: new_rs_name,
        ready,
        summary,
        applied,
        diagnosis,
        pods: owned
            .iter()
            .filter_map(|(p, _)| p.metadata.name.clone())
            .collect(),
    }
}

/// The READY cell and the one-line summary.
fn summary(
    object: &WorkloadObject,
    owned: &[(&Pod, Option<PodOwner>)],
    new_rs: Option<&str>,
) -> (String, String) {
    match object {
        WorkloadObject::Deployment(d) => {
            let s = d.status.clone().unwrap_or_default();
            let want = object.desired().unwrap_or(1);
            let ready = format!("{}/{want}", s.ready_replicas.unwrap_or(0));
            let new = owned
                .iter()
                .filter(|(_, o)| o.as_ref().and_then(|o| o.role) == Some(RevisionRole::New))
                .count();
            let old = owned.len() - new;
            let mut line = format!(
                "{ready} ready, {} up-to-date, {} available",
                s.updated_replicas.unwrap_or(0),
                s.available_replicas.unwrap_or(0)
            );
            if new_rs.is_some() && old > 0 {
                let revision = object
                    .revision()
                    .map(|r| format!(" revision {r}"))
                    .unwrap_or_default();
                line.push_str(&format!(
                    "; rolling out{revision}: {new} new pod{}, {old} old",
                    if new == 1 { "" } else { "s" }
                ));
            }
            (ready, line)
        }
        WorkloadObject::Job(j) => {
            let s = j.status.clone().unwrap_or_default();
            let completions = j
                .spec
                .as_ref()
                .and_then(|s| s.completions)
                .map_or_else(|| "1".to_owned(), |c| c.to_string());
            let ready = format!("{}/{completions}", s.succeeded.unwrap_or(0));
            let line = format!(
                "{ready} completions, {} active, {} failed",
                s.active.unwrap_or(0),
                s.failed.unwrap_or(0)
            );
            (ready, line)
        }
        WorkloadObject::ReplicaSet(rs) => {
            let s = rs.status.clone().unwrap_or_default();
            let ready = format!(
                "{}/{}",
                s.ready_replicas.unwrap_or(0),
                object.desired().unwrap_or(1)
            );
            (ready.clone(), format!("{ready} ready"))
        }
        WorkloadObject::StatefulSet(sts) => {
            let s = sts.status.clone().unwrap_or_default();
            let ready = format!(
                "{}/{}",
                s.ready_replicas.unwrap_or(0),
                object.desired().unwrap_or(1)
            );
            (
                ready.clone(),
                format!("{ready} ready, {} updated", s.updated_replicas.unwrap_or(0)),
            )
        }
        WorkloadObject::DaemonSet(ds) => {
            let s = ds.status.clone().unwrap_or_default();
            let ready = format!("{}/{}", s.number_ready, s.desired_number_scheduled);
            (
                ready.clone(),
                format!(
                    "{ready} ready, {} up-to-date, {} available",
                    s.updated_number_scheduled.unwrap_or(0),
                    s.number_available.unwrap_or(0)
                ),
            )
        }
    }
}

/// The views of every top-level workload: each Deployment, StatefulSet, DaemonSet and Job, and
/// each ReplicaSet no Deployment controls. A Deployment's ReplicaSets are part of its view.
pub fn workload_views(
    workloads: &Workloads,
    pods: &[Pod],
    pipelines: &[&PodPipeline],
    events: &[Event],
    now: Timestamp,
) -> Vec<WorkloadView> {
    let mut out = Vec::new();
    for kind in WorkloadKind::ALL {
        for o in workloads.iter().filter(|o| o.kind() == kind) {
            if kind == WorkloadKind::ReplicaSet
                && controller_ref(o.meta()).is_some_and(|r| r.kind == "Deployment")
            {
                continue;
            }
            out.push(build_workload_view(
                workloads, o, pods, pipelines, events, now,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NS: &str = "kq-rollout";

    fn now() -> Timestamp {
        "2025-03-01T10:10:00Z".parse().expect("valid")
    }

    fn template(image: &str, hash: Option<&str>) -> Value {
        let mut labels = json!({"app": "web"});
        if let Some(h) = hash {
            labels[POD_TEMPLATE_HASH] = json!(h);
        }
        json!({
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "web", "image": image}]}
        })
    }

    fn deployment(image: &str, revision: u64, conditions: Value) -> WorkloadObject {
        WorkloadObject::Deployment(
            serde_json::from_value(json!({
                "metadata": {
                    "name": "web", "namespace": NS, "uid": "d-1", "generation": 2,
                    "creationTimestamp": "2025-03-01T10:00:00Z",
                    "annotations": {REVISION_ANNOTATION: revision.to_string()}
                },
                "spec": {
                    "replicas": 3,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": template(image, None),
                    "progressDeadlineSeconds": 600
                },
                "status": {
                    "observedGeneration": 2, "replicas": 4, "updatedReplicas": 1,
                    "readyReplicas": 3, "availableReplicas": 3, "conditions": conditions
                }
            }))
            .expect("a Deployment"),
        )
    }

    fn replica_set(hash: &str, image: &str, revision: u64, replicas: i32) -> WorkloadObject {
        WorkloadObject::ReplicaSet(
            serde_json::from_value(json!({
                "metadata": {
                    "name": format!("web-{hash}"), "namespace": NS, "uid": format!("rs-{hash}"),
                    "labels": {"app": "web", POD_TEMPLATE_HASH: hash},
                    "annotations": {REVISION_ANNOTATION: revision.to_string()},
                    "ownerReferences": [{
                        "apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                        "uid": "d-1", "controller": true, "blockOwnerDeletion": true
                    }]
                },
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": {"app": "web", POD_TEMPLATE_HASH: hash}},
                    "template": template(image, Some(hash))
                }
            }))
            .expect("a ReplicaSet"),
        )
    }

    fn pod(name: &str, hash: &str, image: &str, waiting: Option<&str>) -> Pod {
        let state = match waiting {
            Some(r) => {
                json!({"waiting": {"reason": r, "message": format!("Back-off pulling image \"{image}\"")}})
            }
            None => json!({"running": {"startedAt": "2025-03-01T10:00:05Z"}}),
        };
        serde_json::from_value(json!({
            "metadata": {
                "name": name, "namespace": NS, "uid": format!("uid-{name}"),
                "creationTimestamp": "2025-03-01T10:00:00Z",
                "labels": {"app": "web", POD_TEMPLATE_HASH: hash},
                "ownerReferences": [{
                    "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("web-{hash}"),
                    "uid": format!("rs-{hash}"), "controller": true, "blockOwnerDeletion": true
                }]
            },
            "spec": {"nodeName": "kq-node", "containers": [{"name": "web", "image": image}]},
            "status": {
                "phase": if waiting.is_some() { "Pending" } else { "Running" },
                "conditions": [{"type": "PodScheduled", "status": "True"}],
                "containerStatuses": [{
                    "name": "web", "image": image, "imageID": if waiting.is_some() { "" } else { "sha256:1" },
                    "ready": waiting.is_none(), "restartCount": 0, "state": state
                }]
            }
        }))
        .expect("a Pod")
    }

    /// Revision 1 (`nginx:1.27`, 3 pods) is being replaced by revision 2 (`nginx:1.99`, a tag
    /// that does not exist): one new pod stuck pulling.
    fn rollout(conditions: Value) -> (Workloads, Vec<Pod>) {
        let mut w = Workloads::new();
        w.apply(deployment("nginx:1.99", 2, conditions));
        w.apply(replica_set("7c5ddbdf54", "nginx:1.27", 1, 3));
        w.apply(replica_set("5d8f9c7b4d", "nginx:1.99", 2, 1));
        let pods = vec![
            pod("web-7c5ddbdf54-aaaaa", "7c5ddbdf54", "nginx:1.27", None),
            pod("web-7c5ddbdf54-bbbbb", "7c5ddbdf54", "nginx:1.27", None),
            pod("web-7c5ddbdf54-ccccc", "7c5ddbdf54", "nginx:1.27", None),
            pod(
                "web-5d8f9c7b4d-xxxxx",
                "5d8f9c7b4d",
                "nginx:1.99",
                Some("ImagePullBackOff"),
            ),
        ];
        (w, pods)
    }

    #[test]
    fn a_deployments_pods_are_found_through_its_replica_sets_with_their_revision() {
        let (w, pods) = rollout(json!([]));
        type Row = (String, Option<String>, Option<u64>, Option<RevisionRole>);
        let owners: Vec<Row> = pods
            .iter()
            .map(|p| {
                let o = w.owner_of(p).expect("every pod has an owner");
                assert_eq!((o.kind, o.name.as_str()), (WorkloadKind::Deployment, "web"));
                (
                    p.metadata.name.clone().unwrap(),
                    o.replica_set,
                    o.revision,
                    o.role,
                )
            })
            .collect();
        assert_eq!(
            owners[0],
            (
                "web-7c5ddbdf54-aaaaa".into(),
                Some("web-7c5ddbdf54".into()),
                Some(1),
                Some(RevisionRole::Old)
            ),
            "the pods of revision 1 are old"
        );
        assert_eq!(
            owners[3],
            (
                "web-5d8f9c7b4d-xxxxx".into(),
                Some("web-5d8f9c7b4d".into()),
                Some(2),
                Some(RevisionRole::New)
            ),
            "the pod of the template the Deployment asks for now is new"
        );
        assert_eq!(
            w.new_replica_set("web")
                .and_then(|rs| rs.metadata.name.as_deref()),
            Some("web-5d8f9c7b4d")
        );
        assert_eq!(w.pods_of(WorkloadKind::Deployment, "web", &pods).len(), 4);
    }

    #[test]
    fn rollout_undo_makes_the_old_replica_set_new_again() {
        let (mut w, pods) = rollout(json!([]));
        // `kubectl rollout undo` puts revision 1's template back; the controller renumbers it 3.
        w.apply(deployment("nginx:1.27", 3, json!([])));
        let roles: Vec<Option<RevisionRole>> = pods
            .iter()
            .map(|p| w.owner_of(p).and_then(|o| o.role))
            .collect();
        assert_eq!(
            roles,
            [
                Some(RevisionRole::New),
                Some(RevisionRole::New),
                Some(RevisionRole::New),
                Some(RevisionRole::Old)
            ],
            "the template decides which set is new, not the highest revision"
        );
    }

    #[test]
    fn a_pod_released_by_its_labels_or_a_bare_pod_has_no_owner() {
        let (w, mut pods) = rollout(json!([]));
        let mut released = pods.remove(0);
        released
            .metadata
            .labels
            .as_mut()
            .unwrap()
            .insert("app".into(), "debug".into());
        assert_eq!(
            w.owner_of(&released),
            None,
            "labels no longer match the selector"
        );
        released.metadata.owner_references = None;
        assert_eq!(w.owner_of(&released), None, "no controller reference");
        // A ReplicaSet the watch has not reported yet: the pod still names it.
        let lone = Workloads::new();
        let o = lone
            .owner_of(&pods[0])
            .expect("owner from the reference alone");
        assert_eq!(
            (o.kind, o.name.as_str(), o.role),
            (WorkloadKind::ReplicaSet, "web-7c5ddbdf54", None)
        );
    }

    #[test]
    fn a_rollout_in_progress_shows_new_pods_first_and_its_position() {
        let (w, pods) = rollout(json!([
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
             "message": "ReplicaSet \"web-5d8f9c7b4d\" is progressing."}
        ]));
        let views = workload_views(&w, &pods, &[], &[], now());
        assert_eq!(
            views.len(),
            1,
            "the ReplicaSets are part of their Deployment's view"
        );
        let v = &views[0];
        assert_eq!(
            v.applied.state,
            StageState::Done,
            "nothing is wrong with the object yet"
        );
        assert_eq!(v.new_replica_set.as_deref(), Some("web-5d8f9c7b4d"));
        assert_eq!(
            v.pods[0], "web-5d8f9c7b4d-xxxxx",
            "the new revision's pod first"
        );
        assert_eq!(v.ready, "3/3");
        assert_eq!(
            v.summary,
            "3/3 ready, 1 up-to-date, 3 available; rolling out revision 2: 1 new pod, 3 old"
        );
        assert_eq!(v.diagnosis, None);
    }

    #[test]
    fn a_stuck_rollout_is_stuck_at_apply_with_the_new_pods_own_reason() {
        let (w, pods) = rollout(json!([
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": "ReplicaSet \"web-5d8f9c7b4d\" has timed out progressing."}
        ]));
        let events: Vec<Event> = Vec::new();
        let pipelines: Vec<PodPipeline> = pods
            .iter()
            .map(|p| super::super::build_pipeline(p, &events, now()))
            .collect();
        let refs: Vec<&PodPipeline> = pipelines.iter().collect();
        let v = &workload_views(&w, &pods, &refs, &events, now())[0];
        assert_eq!(v.applied.state, StageState::Stuck);
        assert_eq!(
            v.applied.reason.as_deref(),
            Some("ProgressDeadlineExceeded")
        );
        assert_eq!(
            v.applied.evidence.fields[0],
            FieldFact {
                path: "status.conditions[1].reason".into(),
                value: "ProgressDeadlineExceeded".into()
            }
        );
        let d = v.diagnosis.as_ref().expect("diagnosed");
        assert_eq!(d.stage, StageKind::Applied);
        assert!(
            d.explanation.contains(
                "its pod `web-5d8f9c7b4d-xxxxx` is stuck at the pull stage with ImagePullBackOff"
            ),
            "the stuck new pod and its own reason: {}",
            d.explanation
        );
        assert_eq!(
            d.commands[0],
            "kubectl rollout status deployment/web -n kq-rollout"
        );
        assert!(
            v.render_text()
                .contains("applied stuck ProgressDeadlineExceeded")
        );
    }

    fn event(kind: &str, name: &str, uid: &str, reason: &str, message: &str, at: &str) -> Event {
        serde_json::from_value(json!({
            "metadata": {"name": format!("{name}.{reason}"), "namespace": NS},
            "involvedObject": {"kind": kind, "name": name, "namespace": NS, "uid": uid},
            "type": if reason.starts_with("Failed") { "Warning" } else { "Normal" },
            "reason": reason, "message": message, "count": 3,
            "firstTimestamp": at, "lastTimestamp": at,
            "source": {"component": "replicaset-controller"}
        }))
        .expect("an Event")
    }

    #[test]
    fn a_refused_pod_creation_is_stuck_at_apply_with_the_replica_sets_event() {
        let mut w = Workloads::new();
        w.apply(deployment("nginx:1.27", 1, json!([
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetCreated"},
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
             "message": "pods \"web-7c5ddbdf54-k2x8p\" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2"}
        ])));
        w.apply(replica_set("7c5ddbdf54", "nginx:1.27", 1, 3));
        let msg = "Error creating: pods \"web-7c5ddbdf54-k2x8p\" is forbidden: exceeded quota: \
                   pods, requested: pods=1, used: pods=2, limited: pods=2";
        let events = vec![
            event(
                "ReplicaSet",
                "web-7c5ddbdf54",
                "rs-7c5ddbdf54",
                "SuccessfulCreate",
                "Created pod: web-7c5ddbdf54-aaaaa",
                "2025-03-01T10:00:01Z",
            ),
            event(
                "ReplicaSet",
                "web-7c5ddbdf54",
                "rs-7c5ddbdf54",
                "FailedCreate",
                msg,
                "2025-03-01T10:09:30Z",
            ),
        ];
        let pods = vec![pod(
            "web-7c5ddbdf54-aaaaa",
            "7c5ddbdf54",
            "nginx:1.27",
            None,
        )];
        let v = &workload_views(&w, &pods, &[], &events, now())[0];
        assert_eq!(v.applied.state, StageState::Stuck);
        assert_eq!(v.applied.reason.as_deref(), Some("FailedCreate"));
        assert_eq!(v.applied.message.as_deref(), Some(msg), "the event's words");
        let e = v
            .applied
            .evidence
            .event
            .as_ref()
            .expect("the ReplicaSet's event");
        assert_eq!(
            (e.reason.as_str(), e.count, e.age.as_str()),
            ("FailedCreate", 3, "30s")
        );
        let d = v.diagnosis.as_ref().expect("diagnosed");
        assert!(
            d.explanation
                .starts_with("The ReplicaSet `web-7c5ddbdf54` of the Deployment `web`"),
            "{}",
            d.explanation
        );
        assert!(d.commands.iter().any(|c| c.contains("resourcequota")));
    }

    #[test]
    fn a_failed_job_names_its_limit_and_its_last_failed_pod() {
        let mut w = Workloads::new();
        let job: Job = serde_json::from_value(json!({
            "metadata": {"name": "report", "namespace": NS, "uid": "j-1"},
            "spec": {
                "backoffLimit": 2,
                "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "j-1"}},
                "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "report", "image": "busybox:1.36"}]}}
            },
            "status": {"failed": 3, "conditions": [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit"},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit"}
            ]}
        }))
        .unwrap();
        w.apply(WorkloadObject::Job(job));
        let failed: Pod = serde_json::from_value(json!({
            "metadata": {
                "name": "report-7tq2z", "namespace": NS, "uid": "p-1",
                "creationTimestamp": "2025-03-01T10:05:00Z",
                "labels": {"batch.kubernetes.io/controller-uid": "j-1", "job-name": "report"},
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "report",
                                     "uid": "j-1", "controller": true}]
            },
            "spec": {"restartPolicy": "Never", "containers": [{"name": "report", "image": "busybox:1.36"}]},
            "status": {"phase": "Failed", "containerStatuses": [{
                "name": "report", "image": "busybox:1.36", "imageID": "sha256:2", "ready": false,
                "restartCount": 0, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}
            }]}
        }))
        .unwrap();
        let v = &workload_views(&w, &[failed], &[], &[], now())[0];
        assert_eq!(
            v.applied.state,
            StageState::Failed,
            "a Job that gave up does not retry"
        );
        assert_eq!(v.applied.reason.as_deref(), Some("BackoffLimitExceeded"));
        assert_eq!(v.ready, "0/1");
        assert_eq!(v.summary, "0/1 completions, 0 active, 3 failed");
        let d = v.diagnosis.as_ref().expect("diagnosed");
        assert!(
            d.explanation.contains("after 2 failed attempts")
                && d.explanation
                    .contains("`report-7tq2z`, ended with Error (exit code 1)"),
            "{}",
            d.explanation
        );
    }

    #[test]
    fn kinds_read_as_kubectl_writes_them() {
        for (text, kind) in [
            ("deploy", WorkloadKind::Deployment),
            ("deployments.apps", WorkloadKind::Deployment),
            ("Deployment", WorkloadKind::Deployment),
            ("sts", WorkloadKind::StatefulSet),
            ("ds", WorkloadKind::DaemonSet),
            ("jobs.batch", WorkloadKind::Job),
            ("rs", WorkloadKind::ReplicaSet),
        ] {
            assert_eq!(WorkloadKind::parse(text), Some(kind), "{text}");
        }
        assert_eq!(
            WorkloadKind::parse("cronjob"),
            None,
            "a CronJob owns Jobs, not pods"
        );
    }
}
