//! Keeps the last pipeline per pod and reports only what changed.
//!
//! The tracker is fed plain inputs ("pod applied", "pod deleted", "event applied", a full relist)
//! by the watcher adapter ([`super::watch_namespace`]) or by tests, and answers each input with
//! the [`PipelineChange`]s the UI must apply. Pipelines are keyed by pod **uid**:
//!
//! - a pod deleted and created again under the same name is a new pipeline, announced as
//!   [`PipelineChange::Recreated`] with the previous uid so the UI can restart the rail's
//!   animation instead of silently morphing the old one;
//! - events are matched by uid too, so the old pod's warnings do not leak into the new one;
//!   [`PipelineTracker::current_events`] is what the events table shows for the same reason.
//!
//! Events are kept in the order the server first reported them (the list order, then the
//! watch order). `kubectl describe` sorts by `lastTimestamp`, which has one-second resolution,
//! so `Pulling` and `Pulled` often tie; a stable sort over the server's order keeps them as
//! the kubelet wrote them instead of in an order made up by a map.
//!
//! A pipeline rebuilt with nothing but a different clock (event ages, "12s ago") is not a change.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, Pod};
use serde::Serialize;
use ts_rs::TS;

use super::services::{ServiceInput, ServiceObjects};
use super::workload::{WorkloadKind, WorkloadObject, WorkloadView, Workloads, workload_views};
use super::{PodPipeline, build_pipeline, is_about};
use crate::graph::objects::{NamespaceObjects, ObjectInput};

/// One thing that happened in the mission namespace.
#[derive(Debug, Clone)]
pub enum TrackerInput {
    /// A pod was created or changed.
    PodApplied(Pod),
    /// A pod is gone from the API.
    PodDeleted(Pod),
    /// A full list of the namespace's pods (after a watch restart): pods missing from it were
    /// deleted while nobody was watching.
    PodsListed(Vec<Pod>),
    /// An event was recorded or updated (count, lastTimestamp).
    EventApplied(Event),
    /// An event expired.
    EventDeleted(Event),
    /// Time passed; rebuild everything (only real changes are reported).
    Tick,
    /// A workload (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job) was created or changed:
    /// its pods' owners and revisions may have changed.
    WorkloadApplied(WorkloadObject),
    /// A workload is gone from the API.
    WorkloadDeleted(WorkloadObject),
    /// A full list of one workload kind (after a watch restart).
    WorkloadsListed(WorkloadKind, Vec<WorkloadObject>),
    /// A Service or EndpointSlice changed (no pipeline changes: objectives read them).
    Services(ServiceInput),
    /// A ConfigMap, Secret, claim, ServiceAccount, quota, limit range or CronJob changed (no
    /// pipeline changes: the graph reads them).
    Objects(ObjectInput),
}

/// What the UI must do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum PipelineChange {
    /// Show or update this pipeline.
    Upserted { pipeline: PodPipeline },
    /// A pod with the same name as an earlier one appeared with a new uid: replace the old
    /// pipeline (`previousUid`) and start the animation from the beginning.
    Recreated {
        #[serde(rename = "previousUid")]
        previous_uid: String,
        pipeline: PodPipeline,
    },
    /// The pod is gone.
    Removed {
        uid: String,
        namespace: String,
        pod: String,
    },
}

/// The object without its `managedFields`, which nothing in a session reads. They are a large
/// part of a pod's or an event's size, and copying and freeing them (nested JSON maps) was a
/// large part of each watch item's time in a 50-pod namespace.
fn slimmed<K: kube::Resource>(mut object: K) -> K {
    object.meta_mut().managed_fields = None;
    object
}

fn pod_key(pod: &Pod) -> String {
    match pod.metadata.uid.as_deref() {
        Some(uid) if !uid.is_empty() => uid.to_owned(),
        _ => format!(
            "{}/{}",
            pod.metadata.namespace.as_deref().unwrap_or_default(),
            pod.metadata.name.as_deref().unwrap_or_default()
        ),
    }
}

fn name_key(pod: &Pod) -> (String, String) {
    (
        pod.metadata.namespace.clone().unwrap_or_default(),
        pod.metadata.name.clone().unwrap_or_default(),
    )
}

fn event_key(e: &Event) -> String {
    match e.metadata.uid.as_deref() {
        Some(uid) if !uid.is_empty() => uid.to_owned(),
        _ => format!(
            "{}/{}",
            e.metadata.namespace.as_deref().unwrap_or_default(),
            e.metadata.name.as_deref().unwrap_or_default()
        ),
    }
}

/// The last known pods, events and pipelines of one namespace.
#[derive(Debug, Default)]
pub struct PipelineTracker {
    pods: BTreeMap<String, Pod>,
    /// Each event with the sequence number of its first arrival; an update keeps the number,
    /// so the order is the server's.
    events: BTreeMap<String, (u64, Event)>,
    /// The sequence number the next new event gets.
    next_event_seq: u64,
    pipelines: BTreeMap<String, PodPipeline>,
    /// The latest uid seen for each (namespace, name), kept after deletion to spot recreation.
    uid_by_name: BTreeMap<(String, String), String>,
    /// The namespace's workloads, which own the pods.
    workloads: Workloads,
    /// The namespace's Services and EndpointSlices.
    services: ServiceObjects,
    /// What the pods use and what limits them, for the graph.
    objects: NamespaceObjects,
    /// [`Self::pod_list`] and [`Self::events`] as last built, shared by every view one watch
    /// item rebuilds (the rails, the workloads, the graph, the objectives); emptied when a pod
    /// or an event changes. With 50 pods and their events, copying them for each view was most
    /// of a watch item's time.
    pod_list: OnceLock<Arc<Vec<Pod>>>,
    event_list: OnceLock<Arc<Vec<Event>>>,
}

impl PipelineTracker {
    /// An empty tracker.
    pub fn new() -> PipelineTracker {
        PipelineTracker::default()
    }

    /// The current pipelines, by pod name.
    pub fn pipelines(&self) -> Vec<&PodPipeline> {
        let mut v: Vec<&PodPipeline> = self.pipelines.values().collect();
        v.sort_by(|a, b| (&a.namespace, &a.pod).cmp(&(&b.namespace, &b.pod)));
        v
    }

    /// The current pipeline of the pod with this name, if it exists.
    pub fn pipeline_for(&self, pod: &str) -> Option<&PodPipeline> {
        self.pipelines.values().find(|p| p.pod == pod)
    }

    /// The pods and events the tracker holds (what objective checks evaluate).
    pub fn pods(&self) -> impl Iterator<Item = &Pod> {
        self.pods.values()
    }

    /// The pods as a list, for [`crate::mission::Snapshot`] (objectives are evaluated on the
    /// same state the rail shows).
    pub fn pod_list(&self) -> Arc<Vec<Pod>> {
        Arc::clone(
            self.pod_list
                .get_or_init(|| Arc::new(self.pods.values().cloned().collect())),
        )
    }

    /// The namespace's workloads.
    pub fn workloads(&self) -> &Workloads {
        &self.workloads
    }

    /// The namespace's Services and EndpointSlices.
    pub fn services(&self) -> &ServiceObjects {
        &self.services
    }

    /// The namespace's ConfigMaps, Secrets (key names only), claims, ServiceAccounts, quotas,
    /// limit ranges and CronJobs, as far as they are readable.
    pub fn objects(&self) -> &NamespaceObjects {
        &self.objects
    }

    /// Every top-level workload with its own stage and its pods, built at `now` (see
    /// [`super::workload`]).
    pub fn workload_views(&self, now: Timestamp) -> Vec<WorkloadView> {
        let pods = self.pod_list();
        let pipelines: Vec<&PodPipeline> = self.pipelines.values().collect();
        workload_views(&self.workloads, &pods, &pipelines, &self.events(), now)
    }

    /// The events the tracker holds, in the order the server first reported them.
    pub fn events(&self) -> Arc<Vec<Event>> {
        Arc::clone(self.event_list.get_or_init(|| {
            let mut v: Vec<&(u64, Event)> = self.events.values().collect();
            v.sort_by_key(|(seq, _)| *seq);
            Arc::new(v.into_iter().map(|(_, e)| e.clone()).collect())
        }))
    }

    /// The events the learner should see, in the server's order: those about a pod that exists
    /// now (matched by uid, so a recreated pod does not inherit its predecessor's `BackOff`s)
    /// and those about other objects (a ReplicaSet's `FailedCreate` is often the only clue
    /// when no pod exists). Events about pods that are gone are left out.
    pub fn current_events(&self) -> Vec<Event> {
        self.events()
            .iter()
            .filter(|e| {
                let is_pod = e.involved_object.kind.as_deref().is_none_or(|k| k == "Pod");
                !is_pod || self.pods.values().any(|p| is_about(e, p))
            })
            .cloned()
            .collect()
    }

    /// Applies one input at time `now` and returns the changes, in the order the UI should
    /// apply them.
    pub fn apply(&mut self, input: TrackerInput, now: Timestamp) -> Vec<PipelineChange> {
        let mut changes = Vec::new();
        match input {
            TrackerInput::PodApplied(pod) => self.pod_applied(slimmed(pod), now, &mut changes),
            TrackerInput::PodDeleted(pod) => self.pod_deleted(&pod_key(&pod), &mut changes),
            TrackerInput::PodsListed(pods) => {
                let listed: Vec<String> = pods.iter().map(pod_key).collect();
                let gone: Vec<String> = self
                    .pods
                    .keys()
                    .filter(|k| !listed.contains(k))
                    .cloned()
                    .collect();
                for key in gone {
                    self.pod_deleted(&key, &mut changes);
                }
                for pod in pods {
                    self.pod_applied(slimmed(pod), now, &mut changes);
                }
            }
            TrackerInput::EventApplied(event) => {
                let event = slimmed(event);
                let affected = self.pods_about(&event);
                let key = event_key(&event);
                let seq = match self.events.get(&key) {
                    Some((seq, _)) => *seq,
                    None => {
                        self.next_event_seq += 1;
                        self.next_event_seq
                    }
                };
                self.events.insert(key, (seq, event));
                self.event_list.take();
                for key in affected {
                    self.rebuild(&key, now, &mut changes);
                }
            }
            TrackerInput::EventDeleted(event) => {
                let affected = self.pods_about(&event);
                self.events.remove(&event_key(&event));
                self.event_list.take();
                for key in affected {
                    self.rebuild(&key, now, &mut changes);
                }
            }
            TrackerInput::Tick => self.rebuild_all(now, &mut changes),
            TrackerInput::WorkloadApplied(o) => {
                self.workloads.apply(o);
                self.rebuild_all(now, &mut changes);
            }
            TrackerInput::WorkloadDeleted(o) => {
                self.workloads.delete(o.kind(), o.name());
                self.rebuild_all(now, &mut changes);
            }
            TrackerInput::WorkloadsListed(kind, list) => {
                self.workloads.listed(kind, list);
                self.rebuild_all(now, &mut changes);
            }
            TrackerInput::Services(input) => self.services.apply(input),
            TrackerInput::Objects(input) => self.objects.apply(input),
        }
        changes
    }

    fn rebuild_all(&mut self, now: Timestamp, changes: &mut Vec<PipelineChange>) {
        let keys: Vec<String> = self.pods.keys().cloned().collect();
        for key in keys {
            self.rebuild(&key, now, changes);
        }
    }

    fn pods_about(&self, event: &Event) -> Vec<String> {
        self.pods
            .iter()
            .filter(|(_, p)| is_about(event, p) || super::claims::is_about_claim_of(event, p))
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn pod_applied(&mut self, pod: Pod, now: Timestamp, changes: &mut Vec<PipelineChange>) {
        let key = pod_key(&pod);
        let name = name_key(&pod);
        let previous = self
            .uid_by_name
            .insert(name, key.clone())
            .filter(|old| *old != key);
        if let Some(old) = &previous {
            // The old pod must be gone if a new one holds its name; say so even if its DELETED
            // was missed.
            self.pod_deleted(old, changes);
        }
        self.pods.insert(key.clone(), pod);
        self.pod_list.take();
        let first_time = !self.pipelines.contains_key(&key);
        self.rebuild(&key, now, changes);
        if first_time
            && let Some(old) = previous
            && let Some(PipelineChange::Upserted { pipeline }) = changes.pop()
        {
            changes.push(PipelineChange::Recreated {
                previous_uid: old,
                pipeline,
            });
        }
    }

    fn pod_deleted(&mut self, key: &str, changes: &mut Vec<PipelineChange>) {
        self.pods.remove(key);
        self.pod_list.take();
        if let Some(p) = self.pipelines.remove(key) {
            changes.push(PipelineChange::Removed {
                uid: p.uid.clone(),
                namespace: p.namespace.clone(),
                pod: p.pod.clone(),
            });
        }
    }

    fn rebuild(&mut self, key: &str, now: Timestamp, changes: &mut Vec<PipelineChange>) {
        let Some(pod) = self.pods.get(key) else {
            return;
        };
        let mut events: Vec<&(u64, Event)> = self
            .events
            .values()
            .filter(|(_, e)| is_about(e, pod) || super::claims::is_about_claim_of(e, pod))
            .collect();
        events.sort_by_key(|(seq, _)| *seq);
        let events: Vec<Event> = events.into_iter().map(|(_, e)| e.clone()).collect();
        let mut pipeline = build_pipeline(pod, &events, now);
        pipeline.owner = self.workloads.owner_of(pod);
        let changed = self
            .pipelines
            .get(key)
            .is_none_or(|old| old.without_ages() != pipeline.without_ages());
        if changed {
            self.pipelines.insert(key.to_owned(), pipeline.clone());
            changes.push(PipelineChange::Upserted { pipeline });
        }
    }
}
