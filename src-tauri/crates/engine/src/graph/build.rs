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

/// `80→8080/TCP`, with the node port as kubectl shows it (`80:30080→8080/TCP`).
fn port_text(p: &k8s_openapi::api::core::v1::ServicePort) -> String {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let mut out = p.port.to_string();
    if let Some(n) = p.node_port {
        out.push_str(&format!(":{n}"));
    }
    match &p.target_port {
        Some(IntOrString::Int(t)) if *t != p.port => out.push_str(&format!("→{t}")),
        Some(IntOrString::String(s)) => out.push_str(&format!("→{s}")),
        _ => {}
    }
    out.push('/');
    out.push_str(p.protocol.as_deref().unwrap_or("TCP"));
    out
}

fn service_summary(s: &Service) -> String {
    let spec = s.spec.clone().unwrap_or_default();
    let type_ = spec.type_.clone().unwrap_or_else(|| "ClusterIP".into());
    if type_ == "ExternalName" {
        return format!(
            "ExternalName {}",
            spec.external_name.as_deref().unwrap_or("<none>")
        );
    }
    let mut line = format!(
        "{type_} {}",
        spec.cluster_ip.as_deref().unwrap_or("<pending>")
    );
    let ports: Vec<String> = spec.ports.iter().flatten().map(port_text).collect();
    if !ports.is_empty() {
        line.push(' ');
        line.push_str(&ports.join(","));
    }
    line
}

/// Why a pod a Service was meant for is not selected: `selector app=web, pod has app=webapp`.
fn miss_why(selector: &BTreeMap<String, String>, pod: &Pod) -> String {
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let mut has: Vec<String> = Vec::new();
    for (k, v) in selector {
        match labels.get(k) {
            Some(actual) if actual == v => {}
            Some(actual) => has.push(format!("pod has {k}={actual}")),
            None => has.push(format!("pod has no label {k}")),
        }
    }
    let mut why = format!("selector {}", selector_text(selector));
    if !has.is_empty() {
        why.push_str(", ");
        why.push_str(&has.join(", "));
    }
    if selector.keys().all(|k| !labels.contains_key(k)) && !labels.is_empty() {
        why.push_str(&format!(" (its labels: {})", selector_text(&labels)));
    }
    why
}

/// Why an endpoint is not ready, in the pod's own words: the failing readiness probe, the
/// stuck stage, or the `Ready` condition's message.
fn not_ready_why(pod: Option<&Pod>, pipeline: Option<&PodPipeline>) -> String {
    if let Some(p) = pipeline {
        if let Some(e) = p
            .stages
            .iter()
            .find(|s| s.kind == StageKind::Ready)
            .and_then(|s| s.evidence.event.as_ref())
            .filter(|e| e.reason == "Unhealthy")
        {
            return format!("not ready: {}", e.message);
        }
        if let Some(s) = p.stuck_stage().filter(|s| s.kind != StageKind::Ready)
            && let Some(r) = &s.reason
        {
            return format!("not ready: {r}");
        }
    }
    let condition = pod
        .and_then(|p| p.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.message.clone().or_else(|| c.reason.clone()));
    match condition {
        Some(m) if !m.is_empty() => format!("not ready: {m}"),
        _ => "not ready".into(),
    }
}

fn slice_endpoints(s: &EndpointSlice) -> (usize, usize) {
    let total = s.endpoints.len();
    let ready = s
        .endpoints
        .iter()
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) != Some(false))
        .count();
    (total, ready)
}

/// Services, their EndpointSlices, and which pods they select or list.
fn services(b: &mut Builder<'_>) {
    let ns = b.ns();
    let src = b.src;
    let slices: Vec<&EndpointSlice> = src.services.slices_iter().collect();
    for svc in src.services.services() {
        let name = name_of(&svc.metadata).to_owned();
        let spec = svc.spec.clone().unwrap_or_default();
        let selector = spec.selector.clone().filter(|s| !s.is_empty());
        let external = spec.type_.as_deref() == Some("ExternalName");
        let id = node_id(GraphKind::Service, &name);
        let own_slices: Vec<&EndpointSlice> = slices
            .iter()
            .filter(|s| {
                s.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(SERVICE_NAME_LABEL))
                    == Some(&name)
            })
            .copied()
            .collect();
        let ready_endpoints: usize = own_slices.iter().map(|s| slice_endpoints(s).1).sum();

        let mut evidence = Vec::new();
        let health = match (&selector, external) {
            (_, true) | (None, _) => Health::Ok,
            (Some(sel), false) => {
                let selected: Vec<&Pod> = b
                    .live_pods()
                    .filter(|p| labels_match(sel, p.metadata.labels.as_ref()))
                    .collect();
                for p in &selected {
                    b.edge(
                        id.clone(),
                        node_id(GraphKind::Pod, name_of(&p.metadata)),
                        Relation::Selects,
                        None,
                    );
                }
                if selected.is_empty() {
                    for p in meant_for(b, sel) {
                        b.edge(
                            id.clone(),
                            node_id(GraphKind::Pod, name_of(&p.metadata)),
                            Relation::Selects,
                            Some(miss_why(sel, p)),
                        );
                    }
                    let coming = src.workloads.iter().any(|o| {
                        template_of(o).is_some_and(|t| {
                            labels_match(sel, t.metadata.as_ref().and_then(|m| m.labels.as_ref()))
                        }) && o.desired().is_none_or(|d| d > 0)
                    });
                    if coming {
                        Health::Progressing
                    } else {
                        evidence.push(format!("spec.selector: {}", selector_text(sel)));
                        evidence.push(format!(
                            "no pod in namespace {ns} has the labels {}",
                            selector_text(sel)
                        ));
                        Health::Broken
                    }
                } else if ready_endpoints > 0 {
                    Health::Ok
                } else {
                    evidence.push(format!("spec.selector: {}", selector_text(sel)));
                    evidence.push(format!(
                        "{} pod{} selected, none ready",
                        selected.len(),
                        if selected.len() == 1 { "" } else { "s" }
                    ));
                    let broken = selected.iter().any(|p| {
                        b.pipeline_of(p)
                            .is_some_and(|pl| pod_health(pl) == Health::Broken)
                    });
                    if broken {
                        Health::Broken
                    } else {
                        Health::Progressing
                    }
                }
            }
        };
        let health = if svc.metadata.deletion_timestamp.is_some() {
            Health::Terminating
        } else {
            health
        };
        let node = b.node(
            GraphKind::Service,
            &name,
            svc.metadata.uid.as_deref(),
            health,
        );
        node.summary = service_summary(&svc);
        node.evidence = evidence;
        node.commands = vec![
            command(
                "its selector, ports and endpoints",
                format!("kubectl describe service {name} -n {ns}"),
            ),
            command(
                "the endpoints it routes to",
                format!("kubectl get endpointslices -l {SERVICE_NAME_LABEL}={name} -n {ns}"),
            ),
        ];
        if let Some(sel) = &selector {
            node.commands.push(command(
                "the pods its selector matches",
                format!(
                    "kubectl get pods -l {} -n {ns} --show-labels",
                    selector_text(sel)
                ),
            ));
        }
        let service_health = health;

        for slice in own_slices {
            let slice_name = name_of(&slice.metadata).to_owned();
            let (total, ready) = slice_endpoints(slice);
            let mut any_broken_pod = false;
            let slice_id = node_id(GraphKind::EndpointSlice, &slice_name);
            for ep in &slice.endpoints {
                let Some(target) = ep
                    .target_ref
                    .as_ref()
                    .filter(|r| r.kind.as_deref() == Some("Pod"))
                    .and_then(|r| r.name.as_deref())
                else {
                    continue;
                };
                let pod = src.pods.iter().find(|p| name_of(&p.metadata) == target);
                let pipeline = pod.and_then(|p| b.pipeline_of(p));
                any_broken_pod |= pipeline.is_some_and(|p| pod_health(p) == Health::Broken);
                // A terminating endpoint is drained on purpose (a rollout, a scale-down): not
                // ready, but nothing is broken.
                let conditions = ep.conditions.as_ref();
                let draining = conditions.and_then(|c| c.terminating) == Some(true)
                    || pod.is_some_and(|p| p.metadata.deletion_timestamp.is_some());
                let not_ready = conditions.and_then(|c| c.ready) == Some(false) && !draining;
                let why = not_ready.then(|| not_ready_why(pod, pipeline));
                b.edge(
                    slice_id.clone(),
                    node_id(GraphKind::Pod, target),
                    Relation::Endpoint,
                    why,
                );
            }
            let health = if slice.metadata.deletion_timestamp.is_some() {
                Health::Terminating
            } else if ready > 0 {
                Health::Ok
            } else if total == 0 {
                if service_health == Health::Broken {
                    Health::Broken
                } else if selector.is_none() || external {
                    Health::Ok
                } else {
                    Health::Progressing
                }
            } else if any_broken_pod {
                Health::Broken
            } else {
                Health::Progressing
            };
            let node = b.node(
                GraphKind::EndpointSlice,
                &slice_name,
                slice.metadata.uid.as_deref(),
                health,
            );
            node.summary = match total {
                0 => "no endpoints".into(),
                1 => format!("1 endpoint, {ready} ready"),
                n => format!("{n} endpoints, {ready} ready"),
            };
            if health == Health::Broken {
                node.evidence = vec![if total == 0 {
                    "endpoints: []".to_owned()
                } else {
                    format!("{total} endpoints with conditions.ready: false")
                }];
            }
            node.commands = vec![command(
                "its endpoints and their conditions",
                format!("kubectl get endpointslice {slice_name} -n {ns} -o yaml"),
            )];
            b.edge(id.clone(), slice_id, Relation::Owns, None);
        }
    }
}

fn labels_match(
    selector: &BTreeMap<String, String>,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    labels.is_some_and(|l| selector.iter().all(|(k, v)| l.get(k) == Some(v)))
}

/// The pods a Service that selects nothing was clearly meant for: those with a label the
/// selector names (with another value), else the pods of the namespace's only workload.
fn meant_for<'a>(b: &Builder<'a>, selector: &BTreeMap<String, String>) -> Vec<&'a Pod> {
    let live: Vec<&'a Pod> = b.live_pods().collect();
    let sharing: Vec<&'a Pod> = live
        .iter()
        .copied()
        .filter(|p| {
            p.metadata
                .labels
                .as_ref()
                .is_some_and(|l| selector.keys().any(|k| l.contains_key(k)))
        })
        .collect();
    if !sharing.is_empty() {
        return sharing;
    }
    let owners: BTreeSet<Option<(WorkloadKind, String)>> = live
        .iter()
        .map(|p| b.src.workloads.owner_of(p).map(|o| (o.kind, o.name)))
        .collect();
    if owners.len() == 1 && owners.iter().next().is_some_and(Option::is_some) {
        live
    } else {
        Vec::new()
    }
}

/// One object a pod (or a template) names.
struct Reference {
    kind: ObjectKind,
    name: String,
    relation: Relation,
    /// The key it reads, for `configMapKeyRef`, `secretKeyRef` and volume `items`.
    keys: Vec<String>,
    optional: bool,
}

/// The volume the ServiceAccount admission plug-in adds to every pod (`kube-api-access-<5>`:
/// the account's token, `kube-root-ca.crt` and the namespace): the same in every pod, so it is
/// left out of the picture.
fn is_api_access_volume(v: &k8s_openapi::api::core::v1::Volume) -> bool {
    v.name.starts_with("kube-api-access-")
        && v.projected.as_ref().is_some_and(|p| {
            p.sources
                .iter()
                .flatten()
                .any(|s| s.service_account_token.is_some())
        })
}

/// Everything a pod spec names, in spec order.
fn spec_references(spec: &PodSpec) -> Vec<Reference> {
    let mut out = Vec::new();
    let mut push = |kind, name: &str, relation, keys: Vec<String>, optional: Option<bool>| {
        if !name.is_empty() {
            out.push(Reference {
                kind,
                name: name.to_owned(),
                relation,
                keys,
                optional: optional == Some(true),
            });
        }
    };
    for v in spec.volumes.iter().flatten() {
        if let Some(c) = &v.config_map {
            let keys = c.items.iter().flatten().map(|i| i.key.clone()).collect();
            push(
                ObjectKind::ConfigMap,
                &c.name,
                Relation::Mounts,
                keys,
                c.optional,
            );
        }
        if let Some(s) = &v.secret {
            let keys = s.items.iter().flatten().map(|i| i.key.clone()).collect();
            push(
                ObjectKind::Secret,
                s.secret_name.as_deref().unwrap_or_default(),
                Relation::Mounts,
                keys,
                s.optional,
            );
        }
        if let Some(c) = &v.persistent_volume_claim {
            push(
                ObjectKind::PersistentVolumeClaim,
                &c.claim_name,
                Relation::Mounts,
                Vec::new(),
                None,
            );
        }
        if let Some(p) = &v.projected
            && !is_api_access_volume(v)
        {
            for s in p.sources.iter().flatten() {
                if let Some(c) = &s.config_map {
                    let keys = c.items.iter().flatten().map(|i| i.key.clone()).collect();
                    push(
                        ObjectKind::ConfigMap,
                        &c.name,
                        Relation::Mounts,
                        keys,
                        c.optional,
                    );
                }
                if let Some(c) = &s.secret {
                    let keys = c.items.iter().flatten().map(|i| i.key.clone()).collect();
                    push(
                        ObjectKind::Secret,
                        &c.name,
                        Relation::Mounts,
                        keys,
                        c.optional,
                    );
                }
            }
        }
    }
    let containers = spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter());
    for c in containers {
        for e in c.env.iter().flatten() {
            let Some(from) = &e.value_from else { continue };
            if let Some(r) = &from.config_map_key_ref {
                push(
                    ObjectKind::ConfigMap,
                    &r.name,
                    Relation::Env,
                    vec![r.key.clone()],
                    r.optional,
                );
            }
            if let Some(r) = &from.secret_key_ref {
                push(
                    ObjectKind::Secret,
                    &r.name,
                    Relation::Env,
                    vec![r.key.clone()],
                    r.optional,
                );
            }
        }
        for e in c.env_from.iter().flatten() {
            if let Some(r) = &e.config_map_ref {
                push(
                    ObjectKind::ConfigMap,
                    &r.name,
                    Relation::Env,
                    Vec::new(),
                    r.optional,
                );
            }
            if let Some(r) = &e.secret_ref {
                push(
                    ObjectKind::Secret,
                    &r.name,
                    Relation::Env,
                    Vec::new(),
                    r.optional,
                );
            }
        }
    }
    for s in spec.image_pull_secrets.iter().flatten() {
        push(
            ObjectKind::Secret,
            &s.name,
            Relation::PullSecret,
            Vec::new(),
            None,
        );
    }
    #[allow(deprecated)]
    let account = spec
        .service_account_name
        .as_deref()
        .or(spec.service_account.as_deref())
        .filter(|s| !s.is_empty())
        .unwrap_or("default");
    push(
        ObjectKind::ServiceAccount,
        account,
        Relation::RunsAs,
        Vec::new(),
        None,
    );
    out
}

fn config_map_keys(cm: &ConfigMap) -> BTreeSet<&str> {
    cm.data
        .iter()
        .flat_map(|d| d.keys())
        .chain(cm.binary_data.iter().flat_map(|d| d.keys()))
        .map(String::as_str)
        .collect()
}

fn keys_summary(keys: &[&str]) -> String {
    match keys.len() {
        0 => "no keys".into(),
        1 => format!("1 key: {}", keys[0]),
        n => format!("{n} keys: {}", keys.join(", ")),
    }
}

fn claim_summary(c: &PersistentVolumeClaim) -> String {
    let phase = c
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".into());
    let capacity = c
        .status
        .as_ref()
        .and_then(|s| s.capacity.as_ref())
        .and_then(|m| m.get("storage"))
        .map(|q| q.0.clone())
        .or_else(|| {
            c.spec
                .as_ref()
                .and_then(|s| s.resources.as_ref())
                .and_then(|r| r.requests.as_ref())
                .and_then(|m| m.get("storage"))
                .map(|q| q.0.clone())
        });
    match capacity {
        Some(cap) => format!("{phase} {cap}"),
        None => phase,
    }
}

/// The ConfigMaps, Secrets, claims and ServiceAccounts pods name, present or missing.
fn references(b: &mut Builder<'_>) {
    let ns = b.ns();
    let src = b.src;
    // Who names what: each pod, and each workload that has no pod yet (its template).
    let mut users: Vec<(String, Vec<Reference>)> = Vec::new();
    for pod in src.pods {
        if let Some(spec) = &pod.spec {
            users.push((
                node_id(GraphKind::Pod, name_of(&pod.metadata)),
                spec_references(spec),
            ));
        }
    }
    for view in src.views.iter().filter(|v| v.pods.is_empty()) {
        let kind = workload_graph_kind(view.kind);
        let template = src
            .workloads
            .get(view.kind, &view.name)
            .and_then(template_of)
            .and_then(|t| t.spec.as_ref());
        if let Some(spec) = template {
            users.push((node_id(kind, &view.name), spec_references(spec)));
        }
    }
    for (user, refs) in users {
        for r in refs {
            let kind = object_graph_kind(r.kind);
            let lookup = src.objects.lookup(r.kind, &r.name);
            let why = match lookup {
                Lookup::Unknown => continue,
                Lookup::Missing if r.optional => continue,
                Lookup::Missing => {
                    let node = b.node(kind, &r.name, None, Health::Missing);
                    node.summary = "not found".into();
                    let text = format!("{} \"{}\" not found", resource(kind), r.name);
                    node.evidence = vec![text.clone()];
                    node.commands = vec![command(
                        "whether it exists",
                        format!("kubectl get {} {} -n {ns}", resource(kind), r.name),
                    )];
                    Some(text)
                }
                Lookup::Found(o) => {
                    let present: BTreeSet<String> = match o {
                        NsObject::ConfigMap(cm) => {
                            config_map_keys(cm).into_iter().map(str::to_owned).collect()
                        }
                        NsObject::Secret(s) => s.keys.iter().cloned().collect(),
                        _ => BTreeSet::new(),
                    };
                    found_node(b, o);
                    r.keys
                        .iter()
                        .find(|k| !present.contains(k.as_str()) && !r.optional)
                        .map(|k| format!("key \"{k}\" not in {} \"{}\"", resource(kind), r.name))
                }
            };
            b.edge(user.clone(), node_id(kind, &r.name), r.relation, why);
        }
    }
}

/// The node of an existing referenced object.
fn found_node(b: &mut Builder<'_>, o: &NsObject) {
    let ns = b.ns();
    let kind = object_graph_kind(o.kind());
    let name = o.name().to_owned();
    let meta = o.meta();
    let mut health = if meta.deletion_timestamp.is_some() {
        Health::Terminating
    } else {
        Health::Ok
    };
    let (summary, commands, mut evidence) = match o {
        NsObject::ConfigMap(cm) => {
            let keys: Vec<&str> = config_map_keys(cm).into_iter().collect();
            (
                keys_summary(&keys),
                vec![command(
                    "its keys and values",
                    format!("kubectl get configmap {name} -n {ns} -o yaml"),
                )],
                Vec::new(),
            )
        }
        NsObject::Secret(SecretKeys { type_, keys, .. }) => {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            (
                format!(
                    "{}, {}",
                    type_.as_deref().unwrap_or("Opaque"),
                    keys_summary(&keys)
                ),
                vec![command(
                    "its keys and their sizes (not the values)",
                    format!("kubectl describe secret {name} -n {ns}"),
                )],
                Vec::new(),
            )
        }
        NsObject::PersistentVolumeClaim(c) => {
            let phase = c.status.as_ref().and_then(|s| s.phase.as_deref());
            let mut evidence = Vec::new();
            match phase {
                Some("Bound") => {}
                Some("Lost") => {
                    health = Health::Broken;
                    evidence.push("status.phase: Lost".to_owned());
                }
                _ => {
                    // Pending: broken when the volume controller says why it cannot bind.
                    let events = b.events_about("PersistentVolumeClaim", meta);
                    let warning = events.iter().rev().find(|e| e.type_ == "Warning");
                    if let Some(e) = warning {
                        health = Health::Broken;
                        evidence.push(format!("status.phase: {}", phase.unwrap_or("Pending")));
                        evidence.push(format!("{} {}: {}", e.type_, e.reason, e.message));
                    } else if health == Health::Ok {
                        health = Health::Progressing;
                    }
                }
            }
            (
                claim_summary(c),
                vec![command(
                    "its phase, volume and events",
                    format!("kubectl describe pvc {name} -n {ns}"),
                )],
                evidence,
            )
        }
        NsObject::ServiceAccount(sa) => (
            match sa.automount_service_account_token {
                Some(false) => "automountServiceAccountToken: false".into(),
                _ => String::new(),
            },
            vec![command(
                "the account",
                format!("kubectl get serviceaccount {name} -n {ns} -o yaml"),
            )],
            Vec::new(),
        ),
        _ => (String::new(), Vec::new(), Vec::new()),
    };
    if health != Health::Broken {
        evidence.clear();
    }
    let conditions = match o {
        NsObject::PersistentVolumeClaim(c) => {
            graph_conditions!(c.status.as_ref().and_then(|s| s.conditions.as_ref()))
        }
        _ => Vec::new(),
    };
    let node = b.node(kind, &name, meta.uid.as_deref(), health);
    node.summary = summary;
    node.commands = commands;
    node.evidence = evidence;
    node.conditions = conditions;
}

/// `pods: 2/2, requests.cpu: 500m/1`, as `kubectl get quota` shows used/hard.
fn quota_summary(q: &k8s_openapi::api::core::v1::ResourceQuota) -> String {
    let status = q.status.clone().unwrap_or_default();
    let hard = status
        .hard
        .or_else(|| q.spec.as_ref().and_then(|s| s.hard.clone()))
        .unwrap_or_default();
    let used = status.used.unwrap_or_default();
    hard.iter()
        .map(|(k, h)| {
            let u = used.get(k).map_or("0", |q| q.0.as_str());
            format!("{k}: {u}/{}", h.0)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn limit_range_summary(l: &k8s_openapi::api::core::v1::LimitRange) -> String {
    let mut parts = Vec::new();
    for item in l.spec.iter().flat_map(|s| s.limits.iter()) {
        let mut bits = Vec::new();
        for (what, map) in [
            ("max", &item.max),
            ("min", &item.min),
            ("default", &item.default),
            ("default request", &item.default_request),
        ] {
            if let Some(m) = map
                && !m.is_empty()
            {
                let values: Vec<String> = m.iter().map(|(k, v)| format!("{k} {}", v.0)).collect();
                bits.push(format!("{what} {}", values.join(", ")));
            }
        }
        if !bits.is_empty() {
            parts.push(format!("{}: {}", item.type_, bits.join("; ")));
        }
    }
    parts.join("; ")
}

/// The quota a refusal names: `exceeded quota: compute, requested: …`, `failed quota: compute:
/// must specify …`.
fn quota_named(message: &str) -> Option<&str> {
    if let Some((_, rest)) = message.split_once("exceeded quota: ") {
        return rest.split(',').next().map(str::trim);
    }
    if let Some((_, rest)) = message.split_once("failed quota: ") {
        return rest.split(':').next().map(str::trim);
    }
    None
}

/// Whether a refusal is the LimitRanger's (`maximum cpu usage per Container is 500m, but
/// limit is 1`).
fn limit_range_refusal(message: &str) -> bool {
    message.contains("forbidden")
        && (message.contains(" usage per ") || message.contains("limit to request ratio per "))
}

/// ResourceQuotas and LimitRanges, with an edge to each workload and a broken one to the
/// object whose pods they refuse.
fn limits(b: &mut Builder<'_>, refusals: &[(String, String)]) {
    let ns = b.ns();
    let src = b.src;
    let targets: Vec<String> = b
        .nodes
        .values()
        .filter(|n| {
            matches!(
                n.kind,
                GraphKind::Deployment
                    | GraphKind::StatefulSet
                    | GraphKind::DaemonSet
                    | GraphKind::CronJob
            ) || (n.kind == GraphKind::Job
                && !b
                    .edges
                    .iter()
                    .any(|e| e.to == n.id && e.relation == Relation::Owns))
                || (n.kind == GraphKind::ReplicaSet
                    && !b
                        .edges
                        .iter()
                        .any(|e| e.to == n.id && e.relation == Relation::Owns))
        })
        .map(|n| n.id.clone())
        .collect();
    for (kind, object_kind) in [
        (GraphKind::ResourceQuota, ObjectKind::ResourceQuota),
        (GraphKind::LimitRange, ObjectKind::LimitRange),
    ] {
        let Some(list) = src.objects.of(object_kind) else {
            continue;
        };
        for o in list {
            let name = o.name().to_owned();
            let (summary, refused): (String, Vec<&(String, String)>) = match o {
                NsObject::ResourceQuota(q) => (
                    quota_summary(q),
                    refusals
                        .iter()
                        .filter(|(_, m)| quota_named(m) == Some(name.as_str()))
                        .collect(),
                ),
                NsObject::LimitRange(l) => (
                    limit_range_summary(l),
                    refusals
                        .iter()
                        .filter(|(_, m)| limit_range_refusal(m))
                        .collect(),
                ),
                _ => continue,
            };
            let health = if o.meta().deletion_timestamp.is_some() {
                Health::Terminating
            } else if refused.is_empty() {
                Health::Ok
            } else {
                Health::Broken
            };
            let node = b.node(kind, &name, o.meta().uid.as_deref(), health);
            node.summary = summary;
            node.evidence = refused.iter().map(|(_, m)| m.clone()).collect();
            node.commands = vec![command(
                if kind == GraphKind::ResourceQuota {
                    "what is used of each limit"
                } else {
                    "the limits and defaults it sets"
                },
                format!("kubectl describe {} {name} -n {ns}", resource(kind)),
            )];
            let id = node.id.clone();
            for (target, message) in &refused {
                b.edge(
                    id.clone(),
                    target.clone(),
                    Relation::Limits,
                    Some(message.clone()),
                );
            }
            for t in &targets {
                b.edge(id.clone(), t.clone(), Relation::Limits, None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::objects::ObjectInput;
    use crate::pipeline::{ServiceInput, build_pipeline, workload_views};
    use jiff::Timestamp;
    use serde_json::{Value, json};

    const NS: &str = "kq-graph";

    fn now() -> Timestamp {
        "2025-03-01T10:10:00Z".parse().expect("valid")
    }

    fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).expect("a valid object")
    }

    /// A running pod; `ready` sets its Ready condition and container readiness.
    fn pod(name: &str, labels: Value, spec: Value, ready: bool) -> Pod {
        let mut spec = spec;
        if spec.get("containers").is_none() {
            spec["containers"] = json!([{"name": "web", "image": "nginx:1.27"}]);
        }
        spec["nodeName"] = json!("node-1");
        let cond = if ready {
            json!({"type": "Ready", "status": "True"})
        } else {
            json!({"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                   "message": "containers with unready status: [web]"})
        };
        from(json!({
            "metadata": {"name": name, "namespace": NS, "uid": format!("uid-{name}"),
                         "labels": labels, "creationTimestamp": "2025-03-01T10:00:00Z"},
            "spec": spec,
            "status": {
                "phase": "Running",
                "conditions": [{"type": "PodScheduled", "status": "True"}, cond],
                "containerStatuses": [{"name": "web", "image": "nginx:1.27", "imageID": "x",
                    "ready": ready, "restartCount": 0, "started": true,
                    "state": {"running": {"startedAt": "2025-03-01T10:00:05Z"}}}]
            }
        }))
    }

    fn service(name: &str, selector: Value) -> Service {
        from(json!({
            "metadata": {"name": name, "namespace": NS, "uid": format!("uid-svc-{name}")},
            "spec": {"selector": selector, "clusterIP": "10.96.4.12", "type": "ClusterIP",
                     "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}
        }))
    }

    fn event(kind: &str, name: &str, reason: &str, message: &str, field: Option<&str>) -> Event {
        from(json!({
            "metadata": {"name": format!("{name}.{reason}"), "namespace": NS},
            "involvedObject": {"kind": kind, "name": name, "namespace": NS,
                               "fieldPath": field},
            "reason": reason, "message": message,
            "type": if reason.starts_with("Successful") { "Normal" } else { "Warning" },
            "count": 1,
            "firstTimestamp": "2025-03-01T10:05:00Z",
            "lastTimestamp": "2025-03-01T10:05:00Z",
        }))
    }

    #[derive(Default)]
    struct World {
        pods: Vec<Pod>,
        events: Vec<Event>,
        workloads: Workloads,
        services: ServiceObjects,
        objects: NamespaceObjects,
    }

    impl World {
        fn known(mut self, kind: ObjectKind, list: Vec<NsObject>) -> World {
            self.objects.apply(ObjectInput::Listed(kind, list));
            self
        }

        fn graph(&self) -> WorkloadGraph {
            let pipelines: Vec<PodPipeline> = self
                .pods
                .iter()
                .map(|p| {
                    let events: Vec<Event> = self
                        .events
                        .iter()
                        .filter(|e| crate::pipeline::is_about(e, p))
                        .cloned()
                        .collect();
                    let mut pl = build_pipeline(p, &events, now());
                    pl.owner = self.workloads.owner_of(p);
                    pl
                })
                .collect();
            let refs: Vec<&PodPipeline> = pipelines.iter().collect();
            let views = workload_views(&self.workloads, &self.pods, &refs, &self.events, now());
            build_graph(&GraphSources {
                namespace: NS,
                pods: &self.pods,
                events: &self.events,
                pipelines: &refs,
                workloads: &self.workloads,
                views: &views,
                services: &self.services,
                objects: &self.objects,
            })
        }
    }

    fn edge<'g>(g: &'g WorkloadGraph, from: &str, to: &str) -> &'g GraphEdge {
        g.edges
            .iter()
            .find(|e| e.from == from && e.to == to)
            .unwrap_or_else(|| panic!("an edge {from} → {to} in {:#?}", g.edges))
    }

    fn node<'g>(g: &'g WorkloadGraph, id: &str) -> &'g GraphNode {
        g.nodes
            .iter()
            .find(|n| n.id == id)
            .unwrap_or_else(|| panic!("a node {id} in {:?}", ids(g)))
    }

    fn ids(g: &WorkloadGraph) -> Vec<&str> {
        g.nodes.iter().map(|n| n.id.as_str()).collect()
    }

    #[test]
    fn a_selector_that_misses_the_pods_is_a_broken_selects_edge_saying_which_label_differs() {
        let mut w = World::default();
        w.pods
            .push(pod("webapp-1", json!({"app": "webapp"}), json!({}), true));
        w.pods
            .push(pod("db-1", json!({"role": "db"}), json!({}), true));
        w.services.apply(ServiceInput::ServicesListed(vec![service(
            "web",
            json!({"app": "web"}),
        )]));
        let g = w.graph();
        let e = edge(&g, "Service/web", "Pod/webapp-1");
        assert_eq!(e.relation, Relation::Selects);
        assert!(e.broken);
        assert_eq!(
            e.why.as_deref(),
            Some("selector app=web, pod has app=webapp")
        );
        assert!(
            !g.edges.iter().any(|e| e.to == "Pod/db-1"),
            "a pod without the selector's label is not what the Service was meant for"
        );
        let svc = node(&g, "Service/web");
        assert_eq!(svc.health, Health::Broken);
        assert_eq!(svc.summary, "ClusterIP 10.96.4.12 80→8080/TCP");
        assert!(svc.commands.iter().any(|c| c.command
            == format!("kubectl get endpointslices -l kubernetes.io/service-name=web -n {NS}")));
        assert_eq!(g.focus.as_deref(), Some("Service/web"));
    }

    #[test]
    fn a_service_selecting_nothing_points_at_the_only_workloads_pods() {
        let mut w = World::default();
        let d: WorkloadObject = WorkloadObject::Deployment(from(json!({
            "metadata": {"name": "web", "namespace": NS, "uid": "d-1"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"run": "web"}},
                     "template": {"metadata": {"labels": {"run": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
            "status": {"replicas": 1, "readyReplicas": 1}
        })));
        w.workloads.apply(d);
        let mut p = pod("web-1", json!({"run": "web"}), json!({}), true);
        p.metadata.owner_references = Some(vec![from(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d-1",
            "controller": true
        }))]);
        w.pods.push(p);
        w.services.apply(ServiceInput::ServicesListed(vec![service(
            "web",
            json!({"app": "web"}),
        )]));
        let g = w.graph();
        let e = edge(&g, "Service/web", "Pod/web-1");
        assert!(e.broken);
        assert_eq!(
            e.why.as_deref(),
            Some("selector app=web, pod has no label app (its labels: run=web)")
        );
        assert_eq!(g.focus.as_deref(), Some("Service/web"));
    }

    #[test]
    fn a_not_ready_endpoint_is_broken_with_the_readiness_failure() {
        let mut w = World::default();
        w.pods
            .push(pod("web-1", json!({"app": "web"}), json!({}), false));
        w.events.push(event(
            "Pod",
            "web-1",
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 404",
            Some("spec.containers{web}"),
        ));
        w.services.apply(ServiceInput::ServicesListed(vec![service(
            "web",
            json!({"app": "web"}),
        )]));
        w.services
            .apply(ServiceInput::SlicesListed(vec![from(json!({
                "metadata": {"name": "web-abc12", "namespace": NS,
                             "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": false},
                               "targetRef": {"kind": "Pod", "name": "web-1", "namespace": NS}}]
            }))]));
        let g = w.graph();
        let e = edge(&g, "EndpointSlice/web-abc12", "Pod/web-1");
        assert_eq!(e.relation, Relation::Endpoint);
        assert!(e.broken);
        assert_eq!(
            e.why.as_deref(),
            Some("not ready: Readiness probe failed: HTTP probe failed with statuscode: 404")
        );
        let s = edge(&g, "Service/web", "Pod/web-1");
        assert!(!s.broken, "the selector does select the pod");
        assert_eq!(
            edge(&g, "Service/web", "EndpointSlice/web-abc12").relation,
            Relation::Owns
        );
        assert_eq!(
            node(&g, "EndpointSlice/web-abc12").summary,
            "1 endpoint, 0 ready"
        );

        // Without a failing probe, the pod's Ready condition says why.
        w.events.clear();
        let g = w.graph();
        assert_eq!(
            edge(&g, "EndpointSlice/web-abc12", "Pod/web-1")
                .why
                .as_deref(),
            Some("not ready: containers with unready status: [web]")
        );
    }

    #[test]
    fn a_draining_endpoint_is_not_broken() {
        let mut w = World::default();
        let mut p = pod("web-1", json!({"app": "web"}), json!({}), false);
        p.metadata.deletion_timestamp = Some(from(json!("2025-03-01T10:09:00Z")));
        w.pods.push(p);
        w.services
            .apply(ServiceInput::SlicesListed(vec![from(json!({
                "metadata": {"name": "web-abc12", "namespace": NS,
                             "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": ["10.244.0.5"],
                               "conditions": {"ready": false, "serving": true, "terminating": true},
                               "targetRef": {"kind": "Pod", "name": "web-1", "namespace": NS}}]
            }))]));
        w.services.apply(ServiceInput::ServicesListed(vec![service(
            "web",
            json!({"app": "web"}),
        )]));
        let g = w.graph();
        let e = edge(&g, "EndpointSlice/web-abc12", "Pod/web-1");
        assert_eq!((e.broken, e.why.as_deref()), (false, None));
        assert_eq!(node(&g, "Pod/web-1").health, Health::Terminating);
    }

    fn config_map(name: &str, data: Value) -> NsObject {
        NsObject::ConfigMap(from(json!({
            "metadata": {"name": name, "namespace": NS, "uid": format!("uid-cm-{name}")},
            "data": data
        })))
    }

    fn account(name: &str) -> NsObject {
        NsObject::ServiceAccount(from(json!({
            "metadata": {"name": name, "namespace": NS, "uid": format!("uid-sa-{name}")}
        })))
    }

    #[test]
    fn a_missing_config_map_or_key_is_a_missing_node_and_a_broken_edge() {
        let spec = json!({
            "volumes": [{"name": "config", "configMap": {"name": "settings"}}],
            "containers": [{"name": "web", "image": "nginx:1.27",
                "env": [{"name": "URL", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "url"}}},
                        {"name": "HOST", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "host"}}}]}]
        });
        let mut w = World::default();
        w.pods.push(pod("web-1", json!({"app": "web"}), spec, true));

        // Before the ConfigMaps are known (or when they cannot be read), nothing is claimed.
        let g = w.graph();
        assert!(
            !g.nodes.iter().any(|n| n.kind == GraphKind::ConfigMap),
            "{:?}",
            ids(&g)
        );

        let w = w
            .known(
                ObjectKind::ConfigMap,
                vec![
                    config_map("app", json!({"host": "db"})),
                    config_map("kube-root-ca.crt", json!({"ca.crt": "x"})),
                ],
            )
            .known(
                ObjectKind::ServiceAccount,
                vec![account("default"), account("unused")],
            );
        let g = w.graph();
        let missing = node(&g, "ConfigMap/settings");
        assert_eq!(
            (missing.health, missing.uid.as_ref()),
            (Health::Missing, None)
        );
        let e = edge(&g, "Pod/web-1", "ConfigMap/settings");
        assert_eq!(e.relation, Relation::Mounts);
        assert_eq!(e.why.as_deref(), Some("configmap \"settings\" not found"));
        let e = edge(&g, "Pod/web-1", "ConfigMap/app");
        assert_eq!(e.relation, Relation::Env);
        assert!(e.broken);
        assert_eq!(
            e.why.as_deref(),
            Some("key \"url\" not in configmap \"app\"")
        );
        assert_eq!(node(&g, "ConfigMap/app").health, Health::Ok);
        assert_eq!(node(&g, "ConfigMap/app").summary, "1 key: host");
        let sa = edge(&g, "Pod/web-1", "ServiceAccount/default");
        assert_eq!((sa.relation, sa.broken), (Relation::RunsAs, false));
        assert!(
            !ids(&g).contains(&"ConfigMap/kube-root-ca.crt")
                && !ids(&g).contains(&"ServiceAccount/unused"),
            "only what a pod uses: {:?}",
            ids(&g)
        );
        assert_eq!(g.focus.as_deref(), Some("ConfigMap/settings"));
    }

    #[test]
    fn a_workload_without_pods_names_what_its_template_uses() {
        // The ServiceAccount admission refuses every pod: only the template says who runs.
        let mut w = World::default();
        w.workloads.apply(WorkloadObject::Deployment(from(json!({
            "metadata": {"name": "web", "namespace": NS, "uid": "d-1"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"serviceAccountName": "builder",
                                           "containers": [{"name": "web", "image": "nginx"}]}}},
            "status": {"replicas": 0}
        }))));
        let w = w.known(ObjectKind::ServiceAccount, vec![account("default")]);
        let g = w.graph();
        let e = edge(&g, "Deployment/web", "ServiceAccount/builder");
        assert_eq!(e.relation, Relation::RunsAs);
        assert_eq!(
            e.why.as_deref(),
            Some("serviceaccount \"builder\" not found")
        );
        assert_eq!(node(&g, "ServiceAccount/builder").health, Health::Missing);
        assert!(!ids(&g).contains(&"ServiceAccount/default"));
    }

    #[test]
    fn a_pending_claim_is_broken_when_the_volume_controller_says_why() {
        let mut w = World::default();
        w.pods.push(pod(
            "db-0",
            json!({"app": "db"}),
            json!({"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}),
            false,
        ));
        let claim = |phase: &str| {
            NsObject::PersistentVolumeClaim(from(json!({
                "metadata": {"name": "data", "namespace": NS, "uid": "pvc-1"},
                "spec": {"storageClassName": "fast",
                         "resources": {"requests": {"storage": "1Gi"}}},
                "status": {"phase": phase}
            })))
        };
        let bound = World {
            pods: w.pods.clone(),
            ..World::default()
        }
        .known(ObjectKind::PersistentVolumeClaim, vec![claim("Bound")]);
        let n = node(&bound.graph(), "PersistentVolumeClaim/data").clone();
        assert_eq!((n.health, n.summary.as_str()), (Health::Ok, "Bound 1Gi"));

        w.events.push(event(
            "PersistentVolumeClaim",
            "data",
            "ProvisioningFailed",
            "storageclass.storage.k8s.io \"fast\" not found",
            None,
        ));
        let w = w.known(ObjectKind::PersistentVolumeClaim, vec![claim("Pending")]);
        let g = w.graph();
        let n = node(&g, "PersistentVolumeClaim/data");
        assert_eq!(n.health, Health::Broken);
        assert_eq!(n.summary, "Pending 1Gi");
        assert!(
            n.evidence
                .iter()
                .any(|e| e.ends_with("storageclass.storage.k8s.io \"fast\" not found")),
            "{:?}",
            n.evidence
        );
        assert_eq!(
            edge(&g, "Pod/db-0", "PersistentVolumeClaim/data").relation,
            Relation::Mounts
        );
    }

    #[test]
    fn the_injected_api_access_volume_is_left_out() {
        let spec = json!({"volumes": [{"name": "kube-api-access-x7k2p", "projected": {"sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}
        ]}}]});
        let mut w = World::default();
        w.pods.push(pod("web-1", json!({"app": "web"}), spec, true));
        let w = w.known(
            ObjectKind::ConfigMap,
            vec![config_map("kube-root-ca.crt", json!({"ca.crt": "x"}))],
        );
        let g = w.graph();
        assert!(
            !g.nodes.iter().any(|n| n.kind == GraphKind::ConfigMap),
            "{:?}",
            ids(&g)
        );
    }

    #[test]
    fn secrets_show_key_names_only() {
        let secret: Secret = from(json!({
            "metadata": {"name": "db", "namespace": NS},
            "type": "Opaque",
            "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="}
        }));
        let keys = SecretKeys::from_secret(secret);
        let mut w = World::default();
        w.pods.push(pod(
            "web-1",
            json!({"app": "web"}),
            json!({"containers": [{"name": "web", "image": "nginx",
                "envFrom": [{"secretRef": {"name": "db"}}]}]}),
            true,
        ));
        let w = w.known(ObjectKind::Secret, vec![NsObject::Secret(keys)]);
        let g = w.graph();
        let n = node(&g, "Secret/db");
        assert_eq!(n.summary, "Opaque, 2 keys: password, user");
        let text = serde_json::to_string(&g).expect("JSON");
        assert!(
            !text.contains("aHVudGVyMg"),
            "no value leaves the engine: {text}"
        );
    }

    use k8s_openapi::api::core::v1::Secret;

    #[test]
    fn a_quota_that_refuses_the_pods_is_a_broken_limits_edge_to_the_replica_set() {
        let refusal = "Error creating: pods \"web-5d8f-x7k2p\" is forbidden: exceeded quota: \
                       compute, requested: pods=1, used: pods=1, limited: pods=1";
        let mut w = World::default();
        w.workloads.apply(WorkloadObject::Deployment(from(json!({
            "metadata": {"name": "web", "namespace": NS, "uid": "d-1",
                         "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
            "status": {"replicas": 0}
        }))));
        w.workloads.apply(WorkloadObject::ReplicaSet(from(json!({
            "metadata": {"name": "web-5d8f", "namespace": NS, "uid": "rs-1",
                         "annotations": {"deployment.kubernetes.io/revision": "1"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                             "name": "web", "uid": "d-1", "controller": true}]},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d8f"}},
                     "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": "5d8f"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
            "status": {"replicas": 0}
        }))));
        w.events.push(event(
            "ReplicaSet",
            "web-5d8f",
            "FailedCreate",
            refusal,
            None,
        ));
        let quota = |name: &str| {
            NsObject::ResourceQuota(from(json!({
                "metadata": {"name": name, "namespace": NS},
                "spec": {"hard": {"pods": "1"}},
                "status": {"hard": {"pods": "1"}, "used": {"pods": "1"}}
            })))
        };
        let w = w.known(
            ObjectKind::ResourceQuota,
            vec![quota("compute"), quota("other")],
        );
        let g = w.graph();
        let e = edge(&g, "ResourceQuota/compute", "ReplicaSet/web-5d8f");
        assert_eq!(e.relation, Relation::Limits);
        assert!(e.broken);
        assert_eq!(e.why.as_deref(), Some(refusal));
        let q = node(&g, "ResourceQuota/compute");
        assert_eq!(
            (q.health, q.summary.as_str()),
            (Health::Broken, "pods: 1/1")
        );
        assert_eq!(node(&g, "ResourceQuota/other").health, Health::Ok);
        assert!(!edge(&g, "ResourceQuota/other", "Deployment/web").broken);
        let rs = node(&g, "ReplicaSet/web-5d8f");
        assert_eq!((rs.health, rs.revision), (Health::Broken, Some(1)));
        assert!(
            rs.evidence.iter().any(|e| e.contains(refusal)),
            "{:?}",
            rs.evidence
        );
        // The Deployment is the most upstream broken object.
        assert_eq!(node(&g, "Deployment/web").health, Health::Broken);
        assert_eq!(g.focus.as_deref(), Some("Deployment/web"));
    }

    #[test]
    fn focus_is_the_most_upstream_broken_node_and_nodes_come_in_layer_order() {
        let mut w = World::default();
        // A crash-looping pod that mounts a missing ConfigMap, and a healthy Service for
        // another app.
        let mut crashing = pod(
            "b-api",
            json!({"app": "api"}),
            json!({"volumes": [{"name": "c", "configMap": {"name": "missing"}}]}),
            false,
        );
        crashing.status = Some(from(json!({
            "phase": "Running",
            "conditions": [{"type": "PodScheduled", "status": "True"},
                           {"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "web", "image": "nginx:1.27", "imageID": "x",
                "ready": false, "restartCount": 4,
                "state": {"waiting": {"reason": "CrashLoopBackOff",
                    "message": "back-off 1m20s restarting failed container=web pod=b-api_kq-graph(uid-b-api)"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": "2025-03-01T10:08:00Z", "finishedAt": "2025-03-01T10:08:01Z"}}}]
        })));
        w.pods.push(crashing);
        w.pods
            .push(pod("a-web", json!({"app": "web"}), json!({}), true));
        w.services.apply(ServiceInput::ServicesListed(vec![service(
            "web",
            json!({"app": "web"}),
        )]));
        w.services
            .apply(ServiceInput::SlicesListed(vec![from(json!({
                "metadata": {"name": "web-abc12", "namespace": NS,
                             "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": true},
                               "targetRef": {"kind": "Pod", "name": "a-web", "namespace": NS}}]
            }))]));
        let w = w
            .known(ObjectKind::ConfigMap, vec![])
            .known(ObjectKind::ServiceAccount, vec![account("default")]);
        let g = w.graph();
        assert_eq!(
            ids(&g),
            [
                "Service/web",
                "EndpointSlice/web-abc12",
                "Pod/a-web",
                "Pod/b-api",
                "ConfigMap/missing",
                "ServiceAccount/default"
            ]
        );
        let api = node(&g, "Pod/b-api");
        assert_eq!(api.health, Health::Broken);
        assert_eq!(api.summary, "CrashLoopBackOff, 4 restarts");
        assert!(!api.rail.is_empty());
        assert!(
            api.evidence.iter().any(|e| e.contains("CrashLoopBackOff")),
            "{:?}",
            api.evidence
        );
        assert_eq!(node(&g, "Service/web").health, Health::Ok);
        assert_eq!(node(&g, "Pod/a-web").summary, "Running, 1/1 ready");
        assert_eq!(
            g.focus.as_deref(),
            Some("Pod/b-api"),
            "the pod before its config"
        );
        // Edges follow the node order.
        let first: Vec<(&str, &str)> = g
            .edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str()))
            .collect();
        assert_eq!(first[0], ("Service/web", "EndpointSlice/web-abc12"));
        assert_eq!(first[1], ("Service/web", "Pod/a-web"));
    }

    #[test]
    fn the_graph_holds_nothing_that_moves_with_the_clock() {
        let mut w = World::default();
        w.pods
            .push(pod("web-1", json!({"app": "web"}), json!({}), false));
        let a = w.graph();
        let b = w.graph();
        assert_eq!(a, b);
    }

    #[test]
    fn a_deployment_past_its_deadline_carries_its_conditions_without_their_times() {
        let mut w = World::default();
        let message = "ReplicaSet \"web-7d9c\" has timed out progressing.";
        w.workloads.apply(WorkloadObject::Deployment(from(json!({
            "metadata": {"name": "web", "namespace": NS, "uid": "d-1", "generation": 2},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
            "status": {"observedGeneration": 2, "replicas": 1, "unavailableReplicas": 1,
                "conditions": [
                    {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                     "message": "Deployment does not have minimum availability.",
                     "lastUpdateTime": "2025-03-01T10:00:00Z",
                     "lastTransitionTime": "2025-03-01T10:00:00Z"},
                    {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                     "message": message,
                     "lastUpdateTime": "2025-03-01T10:10:00Z",
                     "lastTransitionTime": "2025-03-01T10:10:00Z"}]}
        }))));
        let g = w.graph();
        let d = node(&g, "Deployment/web");
        assert_eq!(
            d.conditions,
            vec![
                GraphCondition {
                    type_: "Available".into(),
                    status: "False".into(),
                    reason: Some("MinimumReplicasUnavailable".into()),
                    message: Some("Deployment does not have minimum availability.".into()),
                },
                GraphCondition {
                    type_: "Progressing".into(),
                    status: "False".into(),
                    reason: Some("ProgressDeadlineExceeded".into()),
                    message: Some(message.into()),
                },
            ]
        );
        let json = serde_json::to_value(&d.conditions[1]).expect("json");
        assert_eq!(
            json,
            json!({"type": "Progressing", "status": "False",
                   "reason": "ProgressDeadlineExceeded", "message": message})
        );
    }

    #[test]
    fn pods_carry_their_conditions_and_config_maps_none() {
        let mut w = World::default();
        w.pods.push(pod(
            "web-1",
            json!({"app": "web"}),
            json!({"volumes": [{"name": "c", "configMap": {"name": "settings"}}]}),
            true,
        ));
        let w = w.known(
            ObjectKind::ConfigMap,
            vec![config_map("settings", json!({"a": "1"}))],
        );
        let g = w.graph();
        let pod = node(&g, "Pod/web-1");
        assert!(
            pod.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True"),
            "{:?}",
            pod.conditions
        );
        assert!(node(&g, "ConfigMap/settings").conditions.is_empty());
    }
}
