//! The mission namespace as one picture: every object a learner's workload is made of, how they
//! connect, and which connection is broken and why.
//!
//! The graph is built from what the session's watchers already hold (pods, events, workloads,
//! Services and EndpointSlices) plus the objects pods use (ConfigMaps, Secrets, claims,
//! ServiceAccounts) and the namespace's quotas and limit ranges. It is sent whole
//! ([`crate::ipc::SessionUpdate::Graph`]) whenever it changes, and the UI lays it out in layers:
//! Service → controller → ReplicaSet → Pod → what the pod uses.

mod build;
pub mod objects;
pub mod scheduling;
pub mod yaml;

pub use build::{GraphSources, build_graph, graph_of, kind_name, node_id};
pub use yaml::{YamlError, object_yaml, render_yaml};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::pipeline::{StageKind, StageState};

/// The kinds of object the graph shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum GraphKind {
    Service,
    EndpointSlice,
    Deployment,
    StatefulSet,
    DaemonSet,
    CronJob,
    Job,
    ReplicaSet,
    Pod,
    ConfigMap,
    Secret,
    PersistentVolumeClaim,
    ServiceAccount,
    ResourceQuota,
    LimitRange,
}

/// How an object is doing, as its node's colour says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum Health {
    /// Working as asked (a Deployment available, a pod Running and Ready, a claim Bound).
    Ok,
    /// On its way (a rollout in progress, a pod pulling its image, a Job running).
    Progressing,
    /// Stuck or failed: the learner should look here.
    Broken,
    /// Referenced but not seen (a ConfigMap a pod names that does not exist), or not readable.
    Missing,
    /// Being deleted.
    Terminating,
}

/// How two objects are related; each edge points from the first layer to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum Relation {
    /// A controller owns it (ownerReferences with `controller: true`).
    Owns,
    /// A Service's selector matches the pod (or, when `broken`, the pod the Service was meant
    /// for and why it is not selected).
    Selects,
    /// A Service's EndpointSlice lists the pod's address.
    Endpoint,
    /// A pod mounts it as a volume (ConfigMap, Secret, claim).
    Mounts,
    /// A pod reads it into its environment (`env.valueFrom`, `envFrom`).
    Env,
    /// The pod runs as this ServiceAccount.
    RunsAs,
    /// A quota or limit range applies to the workload's pods.
    Limits,
    /// The pod pulls with this image pull secret.
    PullSecret,
}

/// One compact stage of a pod's rail: the full rail is the pod's pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RailStep {
    pub kind: StageKind,
    pub state: StageState,
}

/// What the learner can read to see the same thing in a terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GraphCommand {
    /// What it shows, one short phrase: `its events and conditions`.
    pub label: String,
    /// The command line, ready to paste: `kubectl describe deployment web -n kq-web`.
    pub command: String,
}

/// One of an object's `status.conditions`, as `kubectl describe` lists them. The transition and
/// probe times are left out: the graph carries nothing that moves with the clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GraphCondition {
    /// `Available`, `Progressing`, `Ready`, `PodScheduled`, `Complete`...
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// `ProgressDeadlineExceeded`, `ContainersNotReady`...
    pub reason: Option<String>,
    /// The controller's own words.
    pub message: Option<String>,
}

/// One object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GraphNode {
    /// `<Kind>/<name>`: stable while the object lives, so the layout keeps its place.
    pub id: String,
    pub kind: GraphKind,
    pub name: String,
    /// The object's uid, when it exists (a missing ConfigMap has none).
    pub uid: Option<String>,
    pub health: Health,
    /// One line under the name: `2/3 ready`, `ClusterIP 10.96.4.12 80→8080/TCP`, `Bound 1Gi`,
    /// `CrashLoopBackOff, 4 restarts`.
    pub summary: String,
    /// A Deployment's or ReplicaSet's revision; a pod's, through its ReplicaSet.
    pub revision: Option<i64>,
    /// For pods: the compact rail, apply → ready.
    pub rail: Vec<RailStep>,
    /// The evidence that this object is the broken one: the field and its value, the event,
    /// the refused request (`exceeded quota: compute, requested: pods=1, ...`).
    pub evidence: Vec<String>,
    /// The kubectl commands that show what the node's details show.
    pub commands: Vec<GraphCommand>,
    /// Its `status.conditions` in the server's order (pods, workloads, claims); empty for
    /// kinds that have none.
    pub conditions: Vec<GraphCondition>,
}

/// One relation between two objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GraphEdge {
    pub from: String,
    pub to: String,
    pub relation: Relation,
    /// The relation is meant but does not hold: a selector that misses the pod, an endpoint
    /// that is not ready, a volume whose ConfigMap is missing, a quota that refuses the pods.
    pub broken: bool,
    /// Why, when broken: `selector app=web, pod has app=webapp`, `not ready: Readiness probe
    /// failed: HTTP probe failed with statuscode: 404`, `configmap "settings" not found`.
    pub why: Option<String>,
}

/// The mission namespace as a graph.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadGraph {
    pub namespace: String,
    /// In layer order, then by name; the UI keeps each node's place across updates.
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// The node the learner should look at first: the most upstream broken one.
    pub focus: Option<String>,
    /// For each Pending pod the scheduler has refused: what it saw on each node.
    pub scheduling: Vec<SchedulingView>,
}

/// One scheduler filter's verdict on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FilterVerdict {
    /// The scheduler plug-in: `NodeResourcesFit`, `TaintToleration`, `NodeAffinity`,
    /// `NodeUnschedulable`, `VolumeBinding`, `NodeName`, `NodePorts`.
    pub filter: String,
    pub passed: bool,
    /// What was compared: `cpu: requested 2, free 1.35 of 1.9 allocatable`, `taint
    /// node-role.kubernetes.io/control-plane:NoSchedule not tolerated`.
    pub detail: String,
}

/// What the scheduler saw on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NodeVerdict {
    pub node: String,
    /// Every filter passed.
    pub fits: bool,
    pub filters: Vec<FilterVerdict>,
}

/// Where a [`SchedulingView`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum SchedulingSource {
    /// Computed from the pod and the Node objects with the same filters the embedded
    /// scheduler runs.
    Filters,
    /// Read from the scheduler's FitError event and the Node objects (a real cluster, whose
    /// scheduler may run plug-ins the app does not know).
    FitError,
}

/// For a Pending pod: a node-by-node table of the scheduler's filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingView {
    pub pod: String,
    pub source: SchedulingSource,
    pub nodes: Vec<NodeVerdict>,
    /// The scheduler's own message, when there is one (`0/3 nodes are available: ...`).
    pub message: Option<String>,
}
