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
