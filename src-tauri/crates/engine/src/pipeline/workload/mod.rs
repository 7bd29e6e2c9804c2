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
use std::sync::OnceLock;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use serde::Serialize;
use ts_rs::TS;

mod view;

pub(crate) use view::events_about;
pub use view::{WorkloadView, build_workload_view, workload_views};

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

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        match self {
            WorkloadObject::Deployment(o) => &mut o.metadata,
            WorkloadObject::ReplicaSet(o) => &mut o.metadata,
            WorkloadObject::StatefulSet(o) => &mut o.metadata,
            WorkloadObject::DaemonSet(o) => &mut o.metadata,
            WorkloadObject::Job(o) => &mut o.metadata,
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
        revision_of(self.meta())
    }
}

/// The `deployment.kubernetes.io/revision` an object carries, if any.
fn revision_of(meta: &ObjectMeta) -> Option<u64> {
    meta.annotations
        .as_ref()?
        .get(REVISION_ANNOTATION)?
        .parse()
        .ok()
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
    /// Each Deployment's new ReplicaSet by name, worked out once per change of the workloads:
    /// every pod's owner asks for it, and finding it compares pod templates.
    new_sets: OnceLock<BTreeMap<String, String>>,
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

    /// A workload was created or changed (kept without its `managedFields`, which nothing
    /// here reads).
    pub fn apply(&mut self, mut object: WorkloadObject) {
        object.meta_mut().managed_fields = None;
        self.new_sets.take();
        self.objects
            .insert((object.kind(), object.name().to_owned()), object);
    }

    /// A workload is gone.
    pub fn delete(&mut self, kind: WorkloadKind, name: &str) {
        self.new_sets.take();
        self.objects.remove(&(kind, name.to_owned()));
    }

    /// The full list of one kind (after a watch (re)start): the others of that kind are gone.
    pub fn listed(&mut self, kind: WorkloadKind, objects: Vec<WorkloadObject>) {
        self.new_sets.take();
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
        let names = self.new_sets.get_or_init(|| {
            self.objects
                .iter()
                .filter(|((kind, _), _)| *kind == WorkloadKind::Deployment)
                .filter_map(|((_, d), _)| {
                    let rs = self.find_new_replica_set(d)?;
                    Some((d.clone(), rs.metadata.name.clone().unwrap_or_default()))
                })
                .collect()
        });
        match self.get(WorkloadKind::ReplicaSet, names.get(deployment)?)? {
            WorkloadObject::ReplicaSet(rs) => Some(rs),
            _ => None,
        }
    }

    fn find_new_replica_set(&self, deployment: &str) -> Option<&ReplicaSet> {
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
        let revision = revision_of(&d.metadata)?;
        sets.into_iter()
            .find(|rs| revision_of(&rs.metadata) == Some(revision))
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
                let revision = revision_of(&rs.metadata);
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

/// Builders of the rollout both test modules start from.
#[cfg(test)]
mod test_support {
    use super::*;
    use serde_json::{Value, json};

    pub(super) const NS: &str = "kq-rollout";

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

    pub(super) fn deployment(image: &str, revision: u64, conditions: Value) -> WorkloadObject {
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

    pub(super) fn replica_set(
        hash: &str,
        image: &str,
        revision: u64,
        replicas: i32,
    ) -> WorkloadObject {
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

    pub(super) fn pod(name: &str, hash: &str, image: &str, waiting: Option<&str>) -> Pod {
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
    pub(super) fn rollout(conditions: Value) -> (Workloads, Vec<Pod>) {
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
}

#[cfg(test)]
mod tests {
    use super::test_support::{deployment, rollout};
    use super::*;
    use serde_json::json;

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
        let new_set = |w: &Workloads| {
            w.new_replica_set("web")
                .and_then(|rs| rs.metadata.name.clone())
        };
        assert_eq!(new_set(&w).as_deref(), Some("web-5d8f9c7b4d"));
        // `kubectl rollout undo` puts revision 1's template back; the controller renumbers it 3.
        w.apply(deployment("nginx:1.27", 3, json!([])));
        assert_eq!(
            new_set(&w).as_deref(),
            Some("web-7c5ddbdf54"),
            "the answer follows the Deployment's change, not the one asked before it"
        );
        w.delete(WorkloadKind::ReplicaSet, "web-7c5ddbdf54");
        assert_eq!(new_set(&w), None, "nor does it outlive the set it names");
        w.apply(super::test_support::replica_set(
            "7c5ddbdf54",
            "nginx:1.27",
            1,
            3,
        ));
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
