//! Builds the [`WorkloadGraph`] of the mission namespace from what the session's watches hold.
//!
//! [`build_graph`] is pure: the same objects give the same graph, with nothing that moves with
//! the clock (no ages, no event counts), so the session can send it only when it changed.
//!
//! What becomes a node:
//!
//! - every Service, and each EndpointSlice labelled `kubernetes.io/service-name` for it;
//! - every top-level workload (Deployment, StatefulSet, DaemonSet, Job, a ReplicaSet no
//!   Deployment controls) and every CronJob; a Deployment's ReplicaSets that still want or
//!   hold pods (the new one always), with their revision;
//! - every pod;
//! - the ConfigMaps, Secrets, claims and ServiceAccounts some pod (or, while it has no pod,
//!   some workload's template) names: nothing else of those kinds, so `kube-root-ca.crt` and
//!   unused accounts stay out; a named object that does not exist is a [`Health::Missing`]
//!   node. Kinds the credentials cannot read are left out altogether;
//! - every ResourceQuota and LimitRange.
//!
//! The edges say how they hang together, and which link is broken and why: a Service's selector
//! that misses the pods it was clearly meant for (it selects none, and those pods have a label
//! the selector names, or they are the namespace's only workload's), an endpoint that is not
//! ready, a reference to an object or a key that does not exist, a quota or limit range that
//! refuses a workload's pods (its `FailedCreate` event).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    ConfigMap, Event, PersistentVolumeClaim, Pod, PodSpec, PodTemplateSpec, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::objects::{Lookup, NamespaceObjects, NsObject, ObjectKind, SecretKeys};
use super::{
    GraphCommand, GraphCondition, GraphEdge, GraphKind, GraphNode, Health, RailStep, Relation,
};
use super::{SchedulingView, WorkloadGraph};
use crate::pipeline::workload::controller_ref;
use crate::pipeline::{
    PipelineTracker, PodEvent, PodPipeline, ServiceObjects, StageKind, StageState, WorkloadKind,
    WorkloadObject, WorkloadView, Workloads,
};

/// The label the EndpointSlice controller names a slice's Service with.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

mod limits;
mod references;
mod services;
#[cfg(test)]
mod tests;

use limits::limits;
use references::references;
use services::services;

/// Everything the graph is built from.
#[derive(Clone, Copy)]
pub struct GraphSources<'a> {
    pub namespace: &'a str,
    pub pods: &'a [Pod],
    /// The namespace's events, in the server's order.
    pub events: &'a [Event],
    pub pipelines: &'a [&'a PodPipeline],
    pub workloads: &'a Workloads,
    /// The top-level workloads' views (see [`crate::pipeline::workload_views`]).
    pub views: &'a [WorkloadView],
    pub services: &'a ServiceObjects,
    pub objects: &'a NamespaceObjects,
}

/// The graph of what `tracker` holds for `namespace`, with the scheduling views given.
pub fn graph_of(
    tracker: &PipelineTracker,
    namespace: &str,
    now: jiff::Timestamp,
    scheduling: Vec<SchedulingView>,
) -> WorkloadGraph {
    let pods = tracker.pod_list();
    let events = tracker.events();
    let pipelines = tracker.pipelines();
    let views = tracker.workload_views(now);
    let mut graph = build_graph(&GraphSources {
        namespace,
        pods: &pods,
        events: &events,
        pipelines: &pipelines,
        workloads: tracker.workloads(),
        views: &views,
        services: tracker.services(),
        objects: tracker.objects(),
    });
    graph.scheduling = scheduling;
    graph
}

/// The graph's id of an object: `<Kind>/<name>`.
pub fn node_id(kind: GraphKind, name: &str) -> String {
    format!("{}/{name}", kind_name(kind))
}

/// The Kubernetes kind of a graph kind (`PersistentVolumeClaim`).
pub fn kind_name(kind: GraphKind) -> &'static str {
    match kind {
        GraphKind::Service => "Service",
        GraphKind::EndpointSlice => "EndpointSlice",
        GraphKind::Deployment => "Deployment",
        GraphKind::StatefulSet => "StatefulSet",
        GraphKind::DaemonSet => "DaemonSet",
        GraphKind::CronJob => "CronJob",
        GraphKind::Job => "Job",
        GraphKind::ReplicaSet => "ReplicaSet",
        GraphKind::Pod => "Pod",
        GraphKind::ConfigMap => "ConfigMap",
        GraphKind::Secret => "Secret",
        GraphKind::PersistentVolumeClaim => "PersistentVolumeClaim",
        GraphKind::ServiceAccount => "ServiceAccount",
        GraphKind::ResourceQuota => "ResourceQuota",
        GraphKind::LimitRange => "LimitRange",
    }
}

/// The resource name kubectl takes and NotFound errors use (`persistentvolumeclaim`).
fn resource(kind: GraphKind) -> &'static str {
    match kind {
        GraphKind::Service => "service",
        GraphKind::EndpointSlice => "endpointslice",
        GraphKind::Deployment => "deployment",
        GraphKind::StatefulSet => "statefulset",
        GraphKind::DaemonSet => "daemonset",
        GraphKind::CronJob => "cronjob",
        GraphKind::Job => "job",
        GraphKind::ReplicaSet => "replicaset",
        GraphKind::Pod => "pod",
        GraphKind::ConfigMap => "configmap",
        GraphKind::Secret => "secret",
        GraphKind::PersistentVolumeClaim => "persistentvolumeclaim",
        GraphKind::ServiceAccount => "serviceaccount",
        GraphKind::ResourceQuota => "resourcequota",
        GraphKind::LimitRange => "limitrange",
    }
}

fn workload_graph_kind(kind: WorkloadKind) -> GraphKind {
    match kind {
        WorkloadKind::Deployment => GraphKind::Deployment,
        WorkloadKind::ReplicaSet => GraphKind::ReplicaSet,
        WorkloadKind::StatefulSet => GraphKind::StatefulSet,
        WorkloadKind::DaemonSet => GraphKind::DaemonSet,
        WorkloadKind::Job => GraphKind::Job,
    }
}

fn object_graph_kind(kind: ObjectKind) -> GraphKind {
    match kind {
        ObjectKind::ConfigMap => GraphKind::ConfigMap,
        ObjectKind::Secret => GraphKind::Secret,
        ObjectKind::PersistentVolumeClaim => GraphKind::PersistentVolumeClaim,
        ObjectKind::ServiceAccount => GraphKind::ServiceAccount,
        ObjectKind::ResourceQuota => GraphKind::ResourceQuota,
        ObjectKind::LimitRange => GraphKind::LimitRange,
        ObjectKind::CronJob => GraphKind::CronJob,
    }
}

fn relation_rank(r: Relation) -> u8 {
    match r {
        Relation::Owns => 0,
        Relation::Selects => 1,
        Relation::Endpoint => 2,
        Relation::Mounts => 3,
        Relation::Env => 4,
        Relation::RunsAs => 5,
        Relation::PullSecret => 6,
        Relation::Limits => 7,
    }
}

fn name_of(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

fn command(label: &str, command: String) -> GraphCommand {
    GraphCommand {
        label: label.to_owned(),
        command,
    }
}

/// `app=web,tier=front`, as kubectl prints a selector.
fn selector_text(selector: &BTreeMap<String, String>) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The graph being built.
struct Builder<'a> {
    src: &'a GraphSources<'a>,
    nodes: BTreeMap<(GraphKind, String), GraphNode>,
    edges: Vec<GraphEdge>,
}

impl<'a> Builder<'a> {
    fn ns(&self) -> &'a str {
        self.src.namespace
    }

    fn node(
        &mut self,
        kind: GraphKind,
        name: &str,
        uid: Option<&str>,
        health: Health,
    ) -> &mut GraphNode {
        self.nodes
            .entry((kind, name.to_owned()))
            .or_insert_with(|| GraphNode {
                id: node_id(kind, name),
                kind,
                name: name.to_owned(),
                uid: uid.filter(|u| !u.is_empty()).map(str::to_owned),
                health,
                summary: String::new(),
                revision: None,
                rail: Vec::new(),
                evidence: Vec::new(),
                commands: Vec::new(),
                conditions: Vec::new(),
            })
    }

    fn edge(&mut self, from: String, to: String, relation: Relation, why: Option<String>) {
        let broken = why.is_some();
        if let Some(e) = self
            .edges
            .iter_mut()
            .find(|e| e.from == from && e.to == to && e.relation == relation)
        {
            // The same link seen twice (two volumes of one ConfigMap): broken wins.
            if broken && !e.broken {
                e.broken = true;
                e.why = why;
            }
            return;
        }
        self.edges.push(GraphEdge {
            from,
            to,
            relation,
            broken,
            why,
        });
    }

    fn pipeline_of(&self, pod: &Pod) -> Option<&'a PodPipeline> {
        let uid = pod.metadata.uid.as_deref().unwrap_or_default();
        let name = name_of(&pod.metadata);
        self.src
            .pipelines
            .iter()
            .find(|p| !uid.is_empty() && p.uid == uid)
            .or_else(|| self.src.pipelines.iter().find(|p| p.pod == name))
            .copied()
    }

    fn live_pods(&self) -> impl Iterator<Item = &'a Pod> {
        self.src
            .pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
    }

    /// The events about one object, oldest first.
    fn events_about(&self, kind: &str, meta: &ObjectMeta) -> Vec<PodEvent> {
        let uid = meta.uid.as_deref().unwrap_or_default();
        crate::pipeline::workload::events_about(self.src.events, kind, name_of(meta), uid)
    }

    /// A refused pod creation still in force for this object: its latest `FailedCreate` is
    /// at least as recent as its latest `SuccessfulCreate` and it has fewer pods than it wants.
    fn refusal(&self, object: &WorkloadObject) -> Option<PodEvent> {
        let events = self.events_about(object.kind().as_str(), object.meta());
        let failed = events.iter().rev().find(|e| e.reason == "FailedCreate")?;
        let created = events.iter().rev().find(|e| e.reason == "SuccessfulCreate");
        if created.is_some_and(|c| c.last_seen > failed.last_seen) {
            return None;
        }
        let uid = object.uid();
        let live = self
            .live_pods()
            .filter(|p| controller_ref(&p.metadata).is_some_and(|r| r.uid == uid || uid.is_empty()))
            .count();
        let missing = object
            .desired()
            .is_none_or(|d| usize::try_from(d).unwrap_or(0) > live);
        missing.then(|| failed.clone())
    }
}

/// Builds the graph (without scheduling views; see [`graph_of`]).
pub fn build_graph(src: &GraphSources<'_>) -> WorkloadGraph {
    let mut b = Builder {
        src,
        nodes: BTreeMap::new(),
        edges: Vec::new(),
    };
    let mut refusals: Vec<(String, String)> = Vec::new();
    controllers(&mut b, &mut refusals);
    pods(&mut b);
    services(&mut b);
    references(&mut b);
    limits(&mut b, &refusals);

    let nodes: Vec<GraphNode> = b.nodes.into_values().collect();
    let position: BTreeMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut edges: Vec<GraphEdge> = b
        .edges
        .into_iter()
        .filter(|e| position.contains_key(e.from.as_str()) && position.contains_key(e.to.as_str()))
        .collect();
    edges.sort_by_key(|e| {
        (
            position[e.from.as_str()],
            position[e.to.as_str()],
            relation_rank(e.relation),
        )
    });
    let focus = nodes
        .iter()
        .find(|n| n.health == Health::Broken)
        .or_else(|| nodes.iter().find(|n| n.health == Health::Missing))
        .map(|n| n.id.clone());
    WorkloadGraph {
        namespace: src.namespace.to_owned(),
        nodes,
        edges,
        focus,
        scheduling: Vec::new(),
    }
}

/// `READY` as `a/b`: whether every wanted pod is there.
fn all_ready(ready: &str) -> bool {
    match ready.split_once('/') {
        Some((a, b)) => a == b,
        None => false,
    }
}

/// The evidence of a workload's own stage: its field, its message, its event.
fn stage_evidence(stage: &crate::pipeline::Stage) -> Vec<String> {
    let mut out: Vec<String> = stage
        .evidence
        .fields
        .iter()
        .map(|f| format!("{}: {}", f.path, f.value))
        .collect();
    if let Some(m) = stage.message.as_deref().filter(|m| !m.is_empty()) {
        out.push(m.to_owned());
    }
    if let Some(e) = &stage.evidence.event
        && !out.contains(&e.message)
    {
        out.push(format!("{} {}: {}", e.type_, e.reason, e.message));
    }
    out
}

fn template_of(object: &WorkloadObject) -> Option<&PodTemplateSpec> {
    match object {
        WorkloadObject::Deployment(o) => o.spec.as_ref().map(|s| &s.template),
        WorkloadObject::ReplicaSet(o) => o.spec.as_ref()?.template.as_ref(),
        WorkloadObject::StatefulSet(o) => o.spec.as_ref().map(|s| &s.template),
        WorkloadObject::DaemonSet(o) => o.spec.as_ref().map(|s| &s.template),
        WorkloadObject::Job(o) => o.spec.as_ref().map(|s| &s.template),
    }
}

fn workload_commands(kind: GraphKind, name: &str, ns: &str) -> Vec<GraphCommand> {
    let r = resource(kind);
    let mut out = vec![command(
        "its events and conditions",
        format!("kubectl describe {r} {name} -n {ns}"),
    )];
    match kind {
        GraphKind::Deployment => {
            out.push(command(
                "where its rollout stands",
                format!("kubectl rollout status deployment/{name} -n {ns}"),
            ));
            out.push(command(
                "its revisions",
                format!("kubectl rollout history deployment/{name} -n {ns}"),
            ));
        }
        GraphKind::StatefulSet | GraphKind::DaemonSet => out.push(command(
            "where its rollout stands",
            format!("kubectl rollout status {r}/{name} -n {ns}"),
        )),
        _ => {}
    }
    out.push(command(
        "its whole spec and status",
        format!("kubectl get {r} {name} -n {ns} -o yaml"),
    ));
    out
}

/// An object's `status.conditions` without their times (any kind's condition list).
macro_rules! graph_conditions {
    ($list:expr) => {
        $list
            .into_iter()
            .flatten()
            .map(|c| GraphCondition {
                type_: c.type_.clone(),
                status: c.status.clone(),
                reason: c.reason.clone(),
                message: c.message.clone(),
            })
            .collect::<Vec<GraphCondition>>()
    };
}
// A path for the submodules, whose text comes before the definition's.
use graph_conditions;

/// A workload's conditions (`Available`, `Progressing`, `ReplicaFailure`, `Complete`...).
fn workload_conditions(object: &WorkloadObject) -> Vec<GraphCondition> {
    match object {
        WorkloadObject::Deployment(o) => {
            graph_conditions!(o.status.as_ref().and_then(|s| s.conditions.as_ref()))
        }
        WorkloadObject::ReplicaSet(o) => {
            graph_conditions!(o.status.as_ref().and_then(|s| s.conditions.as_ref()))
        }
        WorkloadObject::StatefulSet(o) => {
            graph_conditions!(o.status.as_ref().and_then(|s| s.conditions.as_ref()))
        }
        WorkloadObject::DaemonSet(o) => {
            graph_conditions!(o.status.as_ref().and_then(|s| s.conditions.as_ref()))
        }
        WorkloadObject::Job(o) => {
            graph_conditions!(o.status.as_ref().and_then(|s| s.conditions.as_ref()))
        }
    }
}

/// Workload nodes: top-level workloads from their views, a Deployment's ReplicaSets, CronJobs.
fn controllers(b: &mut Builder<'_>, refusals: &mut Vec<(String, String)>) {
    let ns = b.ns();
    let src = b.src;
    for view in src.views {
        let kind = workload_graph_kind(view.kind);
        let object = src.workloads.get(view.kind, &view.name);
        let terminating = object.is_some_and(|o| o.meta().deletion_timestamp.is_some());
        let health = if terminating {
            Health::Terminating
        } else if matches!(view.applied.state, StageState::Stuck | StageState::Failed) {
            Health::Broken
        } else if view.kind == WorkloadKind::Job {
            match object {
                Some(WorkloadObject::Job(j)) if job_complete(j) => Health::Ok,
                _ => Health::Progressing,
            }
        } else if all_ready(&view.ready) {
            Health::Ok
        } else {
            Health::Progressing
        };
        let evidence = if health == Health::Broken {
            stage_evidence(&view.applied)
        } else {
            Vec::new()
        };
        let node = b.node(kind, &view.name, Some(&view.uid), health);
        node.summary = view.summary.clone();
        node.revision = view.revision.and_then(|r| i64::try_from(r).ok());
        node.evidence = evidence;
        node.commands = workload_commands(kind, &view.name, ns);
        node.conditions = object.map(workload_conditions).unwrap_or_default();
        if let Some(o) = object
            && view.kind != WorkloadKind::Deployment
            && let Some(e) = b.refusal(o)
        {
            refusals.push((node_id(kind, &view.name), e.message));
        }
    }
    // A Deployment's ReplicaSets: the new one, and the others while they want or hold pods.
    for view in src
        .views
        .iter()
        .filter(|v| v.kind == WorkloadKind::Deployment)
    {
        let deployment = node_id(GraphKind::Deployment, &view.name);
        for rs in src.workloads.replica_sets_of(&view.name) {
            let name = name_of(&rs.metadata).to_owned();
            let object = WorkloadObject::ReplicaSet(rs.clone());
            let is_new = view.new_replica_set.as_deref() == Some(name.as_str());
            let desired = object.desired().unwrap_or(0);
            let uid = object.uid().to_owned();
            let held = src
                .pods
                .iter()
                .filter(|p| controller_ref(&p.metadata).is_some_and(|r| r.uid == uid))
                .count();
            let refused = b.refusal(&object);
            if !is_new && desired == 0 && held == 0 && refused.is_none() {
                continue;
            }
            let status = rs.status.clone().unwrap_or_default();
            let ready = status.ready_replicas.unwrap_or(0);
            let failure = rs
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| {
                    c.iter()
                        .enumerate()
                        .find(|(_, c)| c.type_ == "ReplicaFailure" && c.status == "True")
                })
                .map(|(i, c)| (i, c.reason.clone(), c.message.clone()));
            let health = if rs.metadata.deletion_timestamp.is_some() {
                Health::Terminating
            } else if refused.is_some() || failure.is_some() {
                Health::Broken
            } else if ready == desired {
                Health::Ok
            } else {
                Health::Progressing
            };
            let mut evidence = Vec::new();
            if health == Health::Broken {
                if let Some((i, reason, message)) = &failure {
                    evidence.push(format!(
                        "status.conditions[{i}].reason: {}",
                        reason.as_deref().unwrap_or("ReplicaFailure")
                    ));
                    if let Some(m) = message
                        && refused.as_ref().is_none_or(|e| e.message != *m)
                    {
                        evidence.push(m.clone());
                    }
                }
                if let Some(e) = &refused {
                    evidence.push(format!("{} {}: {}", e.type_, e.reason, e.message));
                }
            }
            let role = if is_new { "new" } else { "old" };
            let node = b.node(GraphKind::ReplicaSet, &name, Some(&uid), health);
            node.summary = format!("{ready}/{desired} ready ({role})");
            node.revision = object.revision().and_then(|r| i64::try_from(r).ok());
            node.evidence = evidence;
            node.commands = workload_commands(GraphKind::ReplicaSet, &name, ns);
            node.conditions = workload_conditions(&object);
            let id = node.id.clone();
            if let Some(e) = refused {
                refusals.push((id.clone(), e.message));
            }
            b.edge(deployment.clone(), id, Relation::Owns, None);
        }
    }
    // CronJobs and the Jobs they started.
    if let Some(list) = src.objects.of(ObjectKind::CronJob) {
        for o in list {
            let NsObject::CronJob(cj) = o else { continue };
            let name = name_of(&cj.metadata);
            let spec = cj.spec.clone().unwrap_or_default();
            let active = cj
                .status
                .as_ref()
                .and_then(|s| s.active.as_ref())
                .map_or(0, Vec::len);
            let health = if cj.metadata.deletion_timestamp.is_some() {
                Health::Terminating
            } else {
                Health::Ok
            };
            let node = b.node(GraphKind::CronJob, name, cj.metadata.uid.as_deref(), health);
            node.summary = if spec.suspend == Some(true) {
                format!("{}, suspended", spec.schedule)
            } else {
                format!("{}, {active} active", spec.schedule)
            };
            node.commands = workload_commands(GraphKind::CronJob, name, ns);
            let id = node.id.clone();
            for view in src.views.iter().filter(|v| v.kind == WorkloadKind::Job) {
                let owned = src
                    .workloads
                    .get(WorkloadKind::Job, &view.name)
                    .and_then(|j| controller_ref(j.meta()).cloned())
                    .is_some_and(|r| r.kind == "CronJob" && r.name == name);
                if owned {
                    b.edge(
                        id.clone(),
                        node_id(GraphKind::Job, &view.name),
                        Relation::Owns,
                        None,
                    );
                }
            }
        }
    }
}

fn job_complete(j: &k8s_openapi::api::batch::v1::Job) -> bool {
    j.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == "Complete" && c.status == "True")
        })
}

/// The label a diagnosis command gets from what it runs.
fn command_label(cmd: &str) -> &'static str {
    if cmd.contains(" logs ") {
        if cmd.contains("--previous") {
            "the previous run's log"
        } else {
            "its log"
        }
    } else if cmd.contains(" describe ") {
        "its events and conditions"
    } else if cmd.contains("-o yaml") {
        "its whole spec and status"
    } else if cmd.contains(" get events") {
        "the namespace's events"
    } else {
        "what the diagnosis looked at"
    }
}

fn pod_summary(p: &PodPipeline) -> String {
    let mut line = p.status.clone();
    if p.status == "Running" {
        line.push_str(&format!(", {} ready", p.ready));
    }
    match p.restarts {
        0 => {}
        1 => line.push_str(", 1 restart"),
        n => line.push_str(&format!(", {n} restarts")),
    }
    line
}

fn pod_health(p: &PodPipeline) -> Health {
    if p.terminating {
        Health::Terminating
    } else if p.stuck_stage().is_some() {
        Health::Broken
    } else if p.phase == "Succeeded"
        || p.stages
            .iter()
            .find(|s| s.kind == StageKind::Ready)
            .is_some_and(|s| s.state == StageState::Done)
    {
        Health::Ok
    } else {
        Health::Progressing
    }
}

/// Pod nodes, with their rail, and the edge from the object that controls them.
fn pods(b: &mut Builder<'_>) {
    let ns = b.ns();
    let src = b.src;
    for pod in src.pods {
        let name = name_of(&pod.metadata).to_owned();
        let pipeline = b.pipeline_of(pod);
        let owner = src.workloads.owner_of(pod);
        let (health, summary, rail, evidence, mut commands) = match pipeline {
            Some(p) => {
                let mut evidence = Vec::new();
                if let Some(s) = p.stuck_stage() {
                    evidence = stage_evidence(s);
                }
                let commands: Vec<GraphCommand> = p
                    .diagnosis
                    .iter()
                    .flat_map(|d| d.commands.iter())
                    .map(|c| command(command_label(c), c.clone()))
                    .collect();
                (
                    pod_health(p),
                    pod_summary(p),
                    p.stages
                        .iter()
                        .map(|s| RailStep {
                            kind: s.kind,
                            state: s.state,
                        })
                        .collect(),
                    evidence,
                    commands,
                )
            }
            None => (
                Health::Progressing,
                String::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
            ),
        };
        for c in [
            command(
                "its events and conditions",
                format!("kubectl describe pod {name} -n {ns}"),
            ),
            command(
                "its whole spec and status",
                format!("kubectl get pod {name} -n {ns} -o yaml"),
            ),
        ] {
            if !commands.iter().any(|x| x.command == c.command) {
                commands.push(c);
            }
        }
        let node = b.node(GraphKind::Pod, &name, pod.metadata.uid.as_deref(), health);
        node.summary = summary;
        node.rail = rail;
        node.evidence = evidence;
        node.commands = commands;
        node.conditions =
            graph_conditions!(pod.status.as_ref().and_then(|s| s.conditions.as_ref()));
        node.revision = owner
            .as_ref()
            .and_then(|o| o.revision)
            .and_then(|r| i64::try_from(r).ok());
        let id = node.id.clone();
        let parent = owner.map(|o| match (o.kind, o.replica_set) {
            (WorkloadKind::Deployment, Some(rs)) => node_id(GraphKind::ReplicaSet, &rs),
            (kind, _) => node_id(workload_graph_kind(kind), &o.name),
        });
        if let Some(parent) = parent {
            b.edge(parent, id, Relation::Owns, None);
        }
    }
}
