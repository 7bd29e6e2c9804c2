//! The workload graph in whole mission sessions on the embedded cluster: what the learner sees
//! when a Service's selector misses its pods, when a pod mounts a ConfigMap that does not
//! exist, and while a Deployment rolls out (two ReplicaSets side by side, by revision).
//!
//! `record_graph_fixtures` (ignored) plays four scenarios and writes every `SessionUpdate` they
//! sent to `tests/e2e/browser/recorded/<scenario>.json` for the UI's browser tests, with uids
//! and timestamps replaced by stable fake values. Re-record with:
//!
//! ```text
//! cargo test -p kq-tests --test it -- engine_graph::record_graph_fixtures --ignored --exact
//! ```

use std::collections::BTreeMap;
use std::sync::mpsc::Receiver;

use kq_engine::graph::{GraphEdge, GraphKind, GraphNode, Health, Relation, WorkloadGraph};
use kq_engine::ipc::SessionUpdate;
use kq_engine::session::apply_yaml;
use kq_sim::ClusterConfig;
use kq_tests::cluster::TestCluster;
use kq_tests::session::{
    MissionSession, start_session, start_session_as, start_session_on, wait_for,
};
use serde_json::Value;

/// A mission whose only objective is never met here, so the session keeps running.
fn mission(id: &str) -> String {
    format!(
        "---
format: 1
id: {id}
title: The graph of {id}
order: 1
stage: ready
difficulty: beginner
objectives:
  - id: available
    title: \"`web` serves with 9 ready replicas\"
    check: {{ kind: deployment-available, deployment: web, replicas: 9 }}
hints:
  - Look at the graph.
  - Look at the broken edge.
  - Read its why.
---

# The graph of {id}

Look at `web`.
"
    )
}

fn files(id: &str, manifest: String) -> Vec<(&'static str, String)> {
    vec![
        ("mission.md", mission(id)),
        ("manifests/web.yaml", manifest.clone()),
        ("solution/web.yaml", manifest),
        (
            "debrief.md",
            "# Debrief\n\n## What happened\n\nThe graph showed it.\n".to_owned(),
        ),
    ]
}

/// A Deployment `web` whose pods carry `app: <label>`; `extra` is added to the container
/// (indented for it), `volumes` to the pod spec.
fn deployment(replicas: u32, image: &str, label: &str, container: &str, pod: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  progressDeadlineSeconds: 60
  selector:
    matchLabels:
      app: {label}
  template:
    metadata:
      labels:
        app: {label}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: nginx
          image: {image}
{container}{pod}"
    )
}

const SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
    - port: 80
      targetPort: 80
---
";

fn graph_of(u: &SessionUpdate) -> Option<&WorkloadGraph> {
    match u {
        SessionUpdate::Graph { graph } => Some(graph),
        _ => None,
    }
}

/// Waits for a graph satisfying `pred`, moving the virtual clock `step` seconds between polls.
fn wait_graph(
    s: &MissionSession,
    all: &mut Vec<SessionUpdate>,
    step: u64,
    what: &str,
    pred: impl Fn(&WorkloadGraph) -> bool,
) -> WorkloadGraph {
    let u = wait_for(&s.tc, &s.rx, all, step, what, |u| {
        graph_of(u).is_some_and(&pred)
    });
    graph_of(&u).cloned().expect("a graph")
}

fn node<'g>(g: &'g WorkloadGraph, id: &str) -> Option<&'g GraphNode> {
    g.nodes.iter().find(|n| n.id == id)
}

fn of_kind(g: &WorkloadGraph, kind: GraphKind) -> Vec<&GraphNode> {
    g.nodes.iter().filter(|n| n.kind == kind).collect()
}

fn edges_from<'g>(g: &'g WorkloadGraph, from: &str, relation: Relation) -> Vec<&'g GraphEdge> {
    g.edges
        .iter()
        .filter(|e| e.from == from && e.relation == relation)
        .collect()
}

fn apply(s: &MissionSession, manifest: &str) {
    let r =
        s.rt.block_on(apply_yaml(&s.client, &s.ns, "web.yaml", manifest));
    assert!(r.ok, "{r:?}");
}

#[test]
fn a_service_whose_selector_misses_the_pods_is_the_focus_with_a_broken_selects_edge() {
    let manifest = format!("{SERVICE}{}", deployment(2, "nginx:1.27", "webapp", "", ""));
    let s = start_session("01-selector", &files("selector", manifest));
    let mut all = Vec::new();
    // Each watch reports on its own schedule: wait for the whole picture.
    let g = wait_graph(&s, &mut all, 1, "two pods the Service misses", |g| {
        edges_from(g, "Service/web", Relation::Selects)
            .iter()
            .filter(|e| e.broken)
            .count()
            == 2
            && node(g, "ServiceAccount/default").is_some()
            && !of_kind(g, GraphKind::EndpointSlice).is_empty()
    });
    for e in edges_from(&g, "Service/web", Relation::Selects) {
        assert!(e.to.starts_with("Pod/web-"), "{e:?}");
        assert_eq!(
            e.why.as_deref(),
            Some("selector app=web, pod has app=webapp"),
            "the learner reads which label differs"
        );
    }
    let svc = node(&g, "Service/web").expect("the Service");
    assert_eq!(svc.health, Health::Broken);
    assert!(
        svc.summary.starts_with("ClusterIP ") && svc.summary.ends_with(" 80/TCP"),
        "{}",
        svc.summary
    );
    assert_eq!(g.focus.as_deref(), Some("Service/web"));
    // The pods themselves are fine: the Service is the broken thing.
    let pods = of_kind(&g, GraphKind::Pod);
    assert_eq!(pods.len(), 2);
    // The slice the controller keeps for the Service lists nobody.
    for slice in of_kind(&g, GraphKind::EndpointSlice) {
        assert_eq!(slice.summary, "no endpoints");
    }
    // The ServiceAccount the pods run as, and no ConfigMap nobody uses (kube-root-ca.crt).
    assert!(
        node(&g, "ServiceAccount/default").is_some(),
        "{:?}",
        g.nodes
    );
    assert!(
        of_kind(&g, GraphKind::ConfigMap).is_empty(),
        "{:?}",
        g.nodes
    );

    // The fix: the Service selects the pods and routes to them once they are ready.
    apply(
        &s,
        &SERVICE
            .replace("app: web", "app: webapp")
            .replace("---\n", ""),
    );
    let g = wait_graph(&s, &mut all, 1, "the Service selecting both pods", |g| {
        let e = edges_from(g, "Service/web", Relation::Selects);
        e.len() == 2 && e.iter().all(|e| !e.broken)
    });
    assert_ne!(g.focus.as_deref(), Some("Service/web"));
}

#[test]
fn a_pod_mounting_a_missing_config_map_points_at_a_missing_node() {
    let volumes = "          volumeMounts:
            - name: config
              mountPath: /etc/web
      volumes:
        - name: config
          configMap:
            name: settings
";
    let manifest = deployment(1, "nginx:1.27", "web", volumes, "");
    let s = start_session("01-configmap", &files("configmap", manifest));
    let mut all = Vec::new();
    // Before the pod exists, the Deployment's template names it; then the pod does.
    let g = wait_graph(&s, &mut all, 1, "the pod's missing ConfigMap", |g| {
        node(g, "ConfigMap/settings").is_some_and(|n| n.health == Health::Missing)
            && g.edges
                .iter()
                .any(|e| e.to == "ConfigMap/settings" && e.from.starts_with("Pod/"))
    });
    let cm = node(&g, "ConfigMap/settings").expect("shown");
    assert_eq!(cm.uid, None);
    assert_eq!(cm.evidence, ["configmap \"settings\" not found"]);
    let mounts: Vec<&GraphEdge> = g
        .edges
        .iter()
        .filter(|e| e.to == "ConfigMap/settings")
        .collect();
    assert_eq!(mounts.len(), 1, "{mounts:?}");
    assert!(mounts[0].from.starts_with("Pod/web-"));
    assert_eq!(mounts[0].relation, Relation::Mounts);
    assert!(mounts[0].broken);
    assert_eq!(
        mounts[0].why.as_deref(),
        Some("configmap \"settings\" not found")
    );
    assert!(
        node(&g, "ConfigMap/kube-root-ca.crt").is_none(),
        "the namespace's CA bundle is noise here"
    );

    // The learner creates it: the node turns Ok and the edge holds.
    apply(
        &s,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  index.html: hello\n",
    );
    let g = wait_graph(&s, &mut all, 1, "the ConfigMap present", |g| {
        node(g, "ConfigMap/settings").is_some_and(|n| n.health == Health::Ok)
    });
    assert_eq!(
        node(&g, "ConfigMap/settings").map(|n| n.summary.as_str()),
        Some("1 key: index.html")
    );
    assert!(
        g.edges
            .iter()
            .filter(|e| e.to == "ConfigMap/settings")
            .all(|e| !e.broken)
    );
}

#[test]
fn a_quota_that_refuses_the_pods_is_a_broken_limits_edge_quoting_the_refusal() {
    let quota = "apiVersion: v1
kind: ResourceQuota
metadata:
  name: compute
spec:
  hard:
    pods: \"1\"
---
";
    let manifest = format!("{quota}{}", deployment(2, "nginx:1.27", "web", "", ""));
    let s = start_session("01-quota", &files("quota", manifest));
    let mut all = Vec::new();
    let g = wait_graph(&s, &mut all, 1, "the quota's refusal", |g| {
        g.edges.iter().any(|e| {
            e.from == "ResourceQuota/compute" && e.to.starts_with("ReplicaSet/") && e.broken
        })
    });
    let e = g
        .edges
        .iter()
        .find(|e| e.from == "ResourceQuota/compute" && e.broken)
        .expect("the broken edge");
    assert_eq!(e.relation, Relation::Limits);
    let why = e.why.as_deref().unwrap_or_default();
    // The ReplicaSet controller's own event text, as `kubectl describe rs` shows it.
    assert!(
        why.starts_with("Error creating: pods \"web-") && why.contains("exceeded quota: compute"),
        "{why}"
    );
    let q = node(&g, "ResourceQuota/compute").expect("the quota");
    assert_eq!(q.health, Health::Broken);
    assert_eq!(q.evidence, [why]);
    assert!(q.summary.starts_with("pods: "), "{}", q.summary);
    let rs = node(&g, &e.to).expect("the ReplicaSet");
    assert_eq!(rs.health, Health::Broken);
    assert!(
        rs.evidence.iter().any(|x| x.contains(why)),
        "{:?}",
        rs.evidence
    );
}

#[test]
fn an_endpoint_whose_pod_fails_its_readiness_probe_is_broken_with_the_kubelets_words() {
    let probe = "          readinessProbe:
            tcpSocket:
              port: 8080
            periodSeconds: 5
";
    let manifest = format!("{SERVICE}{}", deployment(1, "nginx:1.27", "web", probe, ""));
    let s = start_session("01-probe", &files("probe", manifest));
    let mut all = Vec::new();
    let g = wait_graph(&s, &mut all, 1, "a not-ready endpoint", |g| {
        g.edges.iter().any(|e| {
            e.relation == Relation::Endpoint
                && e.broken
                && e.why
                    .as_deref()
                    .is_some_and(|w| w.starts_with("not ready: Readiness probe failed:"))
        })
    });
    let e = g
        .edges
        .iter()
        .find(|e| e.relation == Relation::Endpoint)
        .expect("the endpoint");
    assert!(e.from.starts_with("EndpointSlice/web-") && e.to.starts_with("Pod/web-"));
    // The same text as the pod's Unhealthy event.
    let why = e.why.as_deref().unwrap_or_default();
    let message = why.strip_prefix("not ready: ").unwrap_or_default();
    let quoted = all.iter().any(|u| {
        matches!(u, SessionUpdate::Events { events }
            if events.iter().any(|r| r.reason == "Unhealthy" && r.message == message))
    });
    assert!(quoted, "{why} is the kubelet's event text");
    // The Service selects the pod: the selector is right, the endpoint is not ready.
    assert!(
        edges_from(&g, "Service/web", Relation::Selects)
            .iter()
            .all(|e| !e.broken)
    );
}

#[test]
fn a_kind_the_learner_cannot_read_is_left_out_and_the_session_goes_on() {
    // The learner reads everything the session watches but Secrets.
    let rbac = "apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: no-secrets
rules:
  - apiGroups: [\"\"]
    resources: [pods, events, services, configmaps, persistentvolumeclaims, serviceaccounts, resourcequotas, limitranges]
    verbs: [get, list, watch]
  - apiGroups: [apps, batch]
    resources: [\"*\"]
    verbs: [get, list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: learner
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: no-secrets
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: learner
---
apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: hunter2
---
";
    let env = "          envFrom:
            - secretRef:
                name: db
            - configMapRef:
                name: settings
";
    let manifest = format!("{rbac}{}", deployment(1, "nginx:1.27", "web", env, ""));
    let s = start_session_as("01-rbac", &files("rbac", manifest), "learner");
    let mut all = Vec::new();
    let g = wait_graph(&s, &mut all, 1, "the pod and its missing ConfigMap", |g| {
        !of_kind(g, GraphKind::Pod).is_empty()
            && node(g, "ConfigMap/settings").is_some_and(|n| n.health == Health::Missing)
    });
    assert!(
        of_kind(&g, GraphKind::Secret).is_empty(),
        "a Secret the learner cannot read is neither shown nor called missing: {:?}",
        g.nodes
    );
    assert!(
        !all.iter()
            .any(|u| matches!(u, SessionUpdate::Connection { state } if !matches!(state, kq_engine::ipc::ConnectionState::Connected))),
        "the refused watch did not end or interrupt the session"
    );
    assert!(!s.session.is_finished());
}

/// The ReplicaSets of the graph as (revision, summary), by revision.
fn replica_sets(g: &WorkloadGraph) -> Vec<(Option<i64>, String)> {
    let mut v: Vec<(Option<i64>, String)> = of_kind(g, GraphKind::ReplicaSet)
        .into_iter()
        .map(|n| (n.revision, n.summary.clone()))
        .collect();
    v.sort();
    v
}

#[test]
fn a_rollout_in_progress_shows_both_replica_sets_by_revision() {
    let s = start_session(
        "01-rollout",
        &files("rollout", deployment(3, "nginx:1.27", "web", "", "")),
    );
    let mut all = Vec::new();
    wait_graph(&s, &mut all, 1, "revision 1 ready", |g| {
        node(g, "Deployment/web").is_some_and(|n| n.health == Health::Ok && n.revision == Some(1))
    });
    apply(&s, &deployment(3, "nginx:1.99", "web", "", ""));
    let g = wait_graph(&s, &mut all, 1, "two ReplicaSets", |g| {
        let rs = of_kind(g, GraphKind::ReplicaSet);
        rs.len() == 2
            && rs
                .iter()
                .all(|r| !edges_from(g, &r.id, Relation::Owns).is_empty())
            && node(g, "Deployment/web").is_some_and(|n| n.revision == Some(2))
            && g.nodes
                .iter()
                .any(|n| n.kind == GraphKind::Pod && n.revision == Some(2))
    });
    let sets = replica_sets(&g);
    assert_eq!(sets[0].0, Some(1));
    assert!(sets[0].1.ends_with("(old)"), "{sets:?}");
    assert_eq!(sets[1].0, Some(2));
    assert!(sets[1].1.ends_with("(new)"), "{sets:?}");
    assert_eq!(node(&g, "Deployment/web").and_then(|n| n.revision), Some(2));
    // Each ReplicaSet owns its own revision's pods.
    for rs in of_kind(&g, GraphKind::ReplicaSet) {
        let owned = edges_from(&g, &rs.id, Relation::Owns);
        assert!(!owned.is_empty(), "{} owns pods", rs.id);
        for e in owned {
            let pod = node(&g, &e.to).expect("the pod");
            assert_eq!(pod.revision, rs.revision, "{} under {}", pod.id, rs.id);
        }
        let from_deployment = g
            .edges
            .iter()
            .any(|e| e.from == "Deployment/web" && e.to == rs.id && e.relation == Relation::Owns);
        assert!(from_deployment, "{}", rs.id);
    }
    // The new pods cannot pull: they are where to look (until the deadline names the
    // Deployment), with the rail showing the stuck pull.
    let new_pod = g
        .nodes
        .iter()
        .find(|n| n.kind == GraphKind::Pod && n.revision == Some(2))
        .expect("a new pod");
    assert!(
        matches!(new_pod.health, Health::Broken | Health::Progressing),
        "{new_pod:?}"
    );
    assert!(!new_pod.rail.is_empty());
    let g = wait_graph(&s, &mut all, 5, "the deadline", |g| {
        node(g, "Deployment/web").is_some_and(|n| n.health == Health::Broken)
    });
    let d = node(&g, "Deployment/web").expect("the Deployment");
    assert!(
        d.evidence
            .iter()
            .any(|e| e.contains("ProgressDeadlineExceeded")),
        "{:?}",
        d.evidence
    );
    assert_eq!(g.focus.as_deref(), Some("Deployment/web"));
}

// ---- recordings for the browser tests ---------------------------------------------------------

/// Replaces uids and timestamps with stable fake values: each uid by `00000000-0000-0000-0000-`
/// and its order of first appearance, each timestamp by the same offset from
/// 2025-01-01T00:00:00Z as it had from the first one seen.
struct Normalizer {
    uids: BTreeMap<String, String>,
    first_time: Option<jiff::Timestamp>,
}

fn is_uid_at(s: &[u8], i: usize) -> bool {
    const SHAPE: [usize; 5] = [8, 4, 4, 4, 12];
    let mut j = i;
    for (k, len) in SHAPE.iter().enumerate() {
        for _ in 0..*len {
            if j >= s.len() || !s[j].is_ascii_hexdigit() || s[j].is_ascii_uppercase() {
                return false;
            }
            j += 1;
        }
        if k < 4 {
            if j >= s.len() || s[j] != b'-' {
                return false;
            }
            j += 1;
        }
    }
    (i == 0 || !s[i - 1].is_ascii_alphanumeric()) && (j == s.len() || !s[j].is_ascii_alphanumeric())
}

impl Normalizer {
    fn text(&mut self, s: &str) -> String {
        if s.len() >= 20
            && s.as_bytes()[4] == b'-'
            && s.contains('T')
            && let Ok(t) = s.parse::<jiff::Timestamp>()
        {
            let first = *self.first_time.get_or_insert(t);
            let base: jiff::Timestamp = "2025-01-01T00:00:00Z".parse().expect("valid");
            let offset = t.duration_since(first);
            return base.checked_add(offset).expect("in range").to_string();
        }
        let bytes = s.as_bytes();
        let mut out = String::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes.len() - i >= 36 && is_uid_at(bytes, i) {
                let uid = &s[i..i + 36];
                let n = self.uids.len();
                let fake = self
                    .uids
                    .entry(uid.to_owned())
                    .or_insert_with(|| format!("00000000-0000-0000-0000-{:012}", n + 1));
                out.push_str(fake);
                i += 36;
            } else {
                let c = s[i..].chars().next().expect("a char");
                out.push(c);
                i += c.len_utf8();
            }
        }
        out
    }

    fn value(&mut self, v: Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.text(&s)),
            Value::Array(a) => Value::Array(a.into_iter().map(|x| self.value(x)).collect()),
            Value::Object(m) => {
                Value::Object(m.into_iter().map(|(k, x)| (k, self.value(x))).collect())
            }
            other => other,
        }
    }
}

fn write_recording(name: &str, updates: &[SessionUpdate]) {
    let mut n = Normalizer {
        uids: BTreeMap::new(),
        first_time: None,
    };
    let list: Vec<Value> = updates
        .iter()
        .map(|u| n.value(serde_json::to_value(u).expect("JSON")))
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/browser/recorded");
    std::fs::create_dir_all(&dir).expect("mkdir");
    // One update per line: small, and a re-recording diffs update by update.
    let lines: Vec<String> = list
        .iter()
        .map(|u| serde_json::to_string(u).expect("JSON"))
        .collect();
    let text = format!("[\n{}\n]\n", lines.join(",\n"));
    std::fs::write(dir.join(format!("{name}.json")), text).expect("write");
}

/// Reads what is left on the channel after the last wait (the updates of the same moment).
fn drain(rx: &Receiver<SessionUpdate>, all: &mut Vec<SessionUpdate>) {
    std::thread::sleep(std::time::Duration::from_millis(300));
    while let Ok(u) = rx.try_recv() {
        all.push(u);
    }
}

fn record_rollout() {
    let manifest = format!("{SERVICE}{}", deployment(3, "nginx:1.26", "web", "", ""));
    let s = start_session("01-rollout", &files("rollout", manifest));
    let mut all = Vec::new();
    wait_graph(&s, &mut all, 1, "revision 1 ready", |g| {
        node(g, "Deployment/web").is_some_and(|n| n.health == Health::Ok)
            && node(g, "Service/web").is_some_and(|n| n.health == Health::Ok)
    });
    apply(
        &s,
        &format!("{SERVICE}{}", deployment(3, "nginx:1.27", "web", "", "")),
    );
    wait_graph(&s, &mut all, 1, "revision 2 rolled out", |g| {
        node(g, "Deployment/web").is_some_and(|n| n.health == Health::Ok && n.revision == Some(2))
            && of_kind(g, GraphKind::Pod).len() == 3
            && of_kind(g, GraphKind::Pod)
                .iter()
                .all(|p| p.revision == Some(2) && p.health == Health::Ok)
    });
    drain(&s.rx, &mut all);
    write_recording("rollout", &all);
}

fn record_stuck_rollout() {
    let manifest = format!("{SERVICE}{}", deployment(3, "nginx:1.26", "web", "", ""));
    let s = start_session("01-stuck-rollout", &files("stuck-rollout", manifest));
    let mut all = Vec::new();
    wait_graph(&s, &mut all, 1, "revision 1 ready", |g| {
        node(g, "Deployment/web").is_some_and(|n| n.health == Health::Ok)
    });
    apply(
        &s,
        &format!("{SERVICE}{}", deployment(3, "nginx:1.99", "web", "", "")),
    );
    wait_graph(&s, &mut all, 5, "ProgressDeadlineExceeded", |g| {
        node(g, "Deployment/web").is_some_and(|n| {
            n.health == Health::Broken
                && n.evidence
                    .iter()
                    .any(|e| e.contains("ProgressDeadlineExceeded"))
        })
    });
    drain(&s.rx, &mut all);
    write_recording("stuck-rollout", &all);
}

fn record_selector_mismatch() {
    let manifest = format!("{SERVICE}{}", deployment(2, "nginx:1.27", "webapp", "", ""));
    let s = start_session("01-selector", &files("selector-mismatch", manifest));
    let mut all = Vec::new();
    wait_graph(&s, &mut all, 1, "the pods ready and missed", |g| {
        let pods = of_kind(g, GraphKind::Pod);
        pods.len() == 2
            && pods.iter().all(|p| p.health == Health::Ok)
            && edges_from(g, "Service/web", Relation::Selects)
                .iter()
                .filter(|e| e.broken)
                .count()
                == 2
    });
    drain(&s.rx, &mut all);
    write_recording("selector-mismatch", &all);
}

/// A control-plane node (tainted) and two workers, as `workloads_sets` starts them.
fn three_nodes() -> TestCluster {
    TestCluster::start_with(ClusterConfig {
        speed: 0.0,
        nodes: kq_tests::cluster::three_kind_nodes(),
        ..ClusterConfig::default()
    })
}

fn record_pending_pod() {
    let resources = "          resources:
            requests:
              cpu: \"4\"
";
    let manifest = deployment(1, "nginx:1.27", "web", resources, "");
    let s = start_session_on(three_nodes(), "01-pending", &files("pending-pod", manifest));
    let mut all = Vec::new();
    wait_graph(&s, &mut all, 1, "the scheduling table", |g| {
        g.scheduling.first().is_some_and(|v| v.nodes.len() == 3)
    });
    drain(&s.rx, &mut all);
    write_recording("pending-pod", &all);
}

#[test]
#[ignore = "writes the browser tests' recordings; run it by name to re-record"]
fn record_graph_fixtures() {
    record_rollout();
    record_stuck_rollout();
    record_selector_mismatch();
    record_pending_pod();
}

#[test]
fn a_nodes_yaml_reads_like_kubectl_get_without_managed_fields_or_secret_values() {
    let secret = "apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: hunter2
---
";
    let env = "          envFrom:
            - secretRef:
                name: db
";
    let manifest = format!("{secret}{}", deployment(1, "nginx:1.27", "web", env, ""));
    let s = start_session("01-yaml", &files("yaml", manifest));
    let mut all = Vec::new();
    let g = wait_graph(&s, &mut all, 1, "the Deployment and its Secret", |g| {
        node(g, "Deployment/web").is_some() && node(g, "Secret/db").is_some()
    });
    assert!(
        node(&g, "Deployment/web").is_some_and(|d| !d.conditions.is_empty()),
        "the Deployment's conditions are on its node: {:?}",
        node(&g, "Deployment/web")
    );
    let yaml_of = |kind, name| {
        s.rt.block_on(kq_engine::graph::object_yaml(&s.client, &s.ns, kind, name))
    };

    let deployment = yaml_of(GraphKind::Deployment, "web").expect("the Deployment's YAML");
    assert!(
        deployment.starts_with("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"),
        "{deployment}"
    );
    assert!(deployment.contains("  name: web\n"), "{deployment}");
    assert!(deployment.contains("image: nginx:1.27"), "{deployment}");
    assert!(deployment.contains("\nstatus:\n"), "{deployment}");
    assert!(!deployment.contains("managedFields"), "{deployment}");

    let secret = yaml_of(GraphKind::Secret, "db").expect("the Secret's YAML");
    assert!(secret.contains("kind: Secret"), "{secret}");
    assert!(
        secret.contains("password: "),
        "the key name stays: {secret}"
    );
    // `hunter2` in base64, and as written.
    for value in ["aHVudGVyMg==", "hunter2"] {
        assert!(!secret.contains(value), "{value} shows in {secret}");
    }
    assert!(!secret.contains("managedFields"), "{secret}");

    let gone = yaml_of(GraphKind::ConfigMap, "settings").expect_err("no such ConfigMap");
    assert!(
        matches!(&gone, kq_engine::graph::YamlError::Refused { message } if message.contains("not found")),
        "{gone:?}"
    );
}
