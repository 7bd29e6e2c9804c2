//! StatefulSets and DaemonSets (WORKLOADS.md §1.4, §1.5): golden sequences on the paused
//! virtual clock (ordinal pods coming up one after the other, scale down from the highest
//! ordinal, a rolling update from the highest ordinal down with its partition, Parallel
//! management, one daemon pod per eligible node, taints and tolerations, the daemon rolling
//! update), and real kubectl of every installed version driving apply / get / rollout status /
//! scale / describe / rollout restart / delete for both kinds.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod, Taint};
use kq_sim::{ClusterConfig, NodeTemplate};
use kq_tests::check::{Step, has, has_row, has_words, lacks, ok};
use kq_tests::cluster::{Kubectl, Run, TestCluster, kubectl_binaries, on_every_kubectl};
use serde_json::{Value, json};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Create an apps/v1 object straight in the store, as a client would.
fn create(tc: &TestCluster, ns: &str, obj: Value) {
    let kind = obj["kind"]
        .as_str()
        .and_then(|k| kq_sim::kinds::by_kind("apps", k))
        .unwrap_or_else(|| panic!("an apps kind: {}", obj["kind"]));
    tc.cluster()
        .store()
        .create(kind, ns, obj, &kq_sim::store::WriteOptions::default())
        .expect("the object is accepted");
    tc.cluster().settle();
}

fn sts(name: &str, replicas: i32, image: &str, extra: Value) -> Value {
    let mut v = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {"serviceName": "nginx", "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "nginx", "image": image}]}}}});
    if let Some(o) = extra.as_object() {
        for (k, val) in o {
            v["spec"][k] = val.clone();
        }
    }
    v
}

fn ds(name: &str, image: &str, pod_spec_extra: Value) -> Value {
    let mut spec = json!({"containers": [{"name": "agent", "image": image}]});
    if let Some(o) = pod_spec_extra.as_object() {
        for (k, val) in o {
            spec[k] = val.clone();
        }
    }
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}})
}

fn pods(tc: &TestCluster, ns: &str) -> Vec<Pod> {
    let mut v = tc.cluster().store().list::<Pod>(Some(ns));
    v.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    v
}

fn names(pods: &[Pod]) -> Vec<String> {
    pods.iter()
        .map(|p| p.metadata.name.clone().unwrap_or_default())
        .collect()
}

fn running_ready(p: &Pod) -> bool {
    let st = p.status.as_ref();
    st.and_then(|s| s.phase.as_deref()) == Some("Running")
        && st
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True")
}

fn label<'a>(p: &'a Pod, key: &str) -> &'a str {
    p.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
        .unwrap_or("")
}

fn image(p: &Pod) -> &str {
    p.spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.as_deref())
        .unwrap_or("")
}

/// `(reason, message)` of the events about the object named `name`, oldest first.
fn events(tc: &TestCluster, ns: &str, kind: &str, name: &str) -> Vec<(String, String)> {
    let mut evs: Vec<Event> = tc
        .cluster()
        .store()
        .list::<Event>(Some(ns))
        .into_iter()
        .filter(|e| {
            e.involved_object.name.as_deref() == Some(name)
                && e.involved_object.kind.as_deref() == Some(kind)
        })
        .collect();
    evs.sort_by_key(|e| {
        (
            e.first_timestamp.as_ref().map(|t| t.0),
            e.metadata
                .resource_version
                .as_deref()
                .and_then(|rv| rv.parse::<u64>().ok()),
        )
    });
    evs.into_iter()
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect()
}

fn get_sts(tc: &TestCluster, ns: &str, name: &str) -> StatefulSet {
    tc.cluster()
        .store()
        .get::<StatefulSet>(ns, name)
        .expect("the statefulset exists")
}

fn revisions(tc: &TestCluster, ns: &str) -> BTreeMap<i64, String> {
    tc.cluster()
        .store()
        .list::<ControllerRevision>(Some(ns))
        .into_iter()
        .map(|r| (r.revision, r.metadata.name.unwrap_or_default()))
        .collect()
}

/// Step the clock one second at a time until `done`, checking `invariant` after each step.
fn step_until(
    tc: &TestCluster,
    limit: u64,
    mut invariant: impl FnMut(&TestCluster),
    done: impl Fn(&TestCluster) -> bool,
) {
    for _ in 0..limit {
        if done(tc) {
            return;
        }
        tc.cluster().advance(secs(1));
        invariant(tc);
    }
    assert!(done(tc), "not done after {limit} virtual seconds");
}

/// Every pod `web-i` that exists has a Running and Ready `web-(i-1)` (OrderedReady).
fn ordered(tc: &TestCluster, ns: &str, set: &str) -> Vec<String> {
    let all = pods(tc, ns);
    let by_name: BTreeMap<String, &Pod> = all
        .iter()
        .map(|p| (p.metadata.name.clone().unwrap_or_default(), p))
        .collect();
    for i in 1..10 {
        if by_name.contains_key(&format!("{set}-{i}")) {
            let prev = by_name.get(&format!("{set}-{}", i - 1));
            assert!(
                prev.is_some_and(|p| running_ready(p)),
                "{set}-{i} exists before {set}-{} is Running and Ready: {:?}",
                i - 1,
                names(&all)
            );
        }
    }
    names(&all)
}

fn all_ready(tc: &TestCluster, ns: &str, n: usize) -> bool {
    let p = pods(tc, ns);
    p.len() == n && p.iter().all(running_ready)
}

#[test]
fn ordered_ready_statefulset_comes_up_scales_down_and_rolls_by_ordinal() {
    let tc = TestCluster::paused();
    create(&tc, "default", sts("web", 3, "nginx:1.27", json!({})));

    // Only web-0 at first, with its identity, labels and revision.
    let p = pods(&tc, "default");
    assert_eq!(names(&p), ["web-0"]);
    let revs = revisions(&tc, "default");
    assert_eq!(revs.len(), 1, "{revs:?}");
    let rev1 = revs[&1].clone();
    let hash = rev1.strip_prefix("web-").expect("named <set>-<hash>");
    assert!(
        (9..=10).contains(&hash.len()) && hash.bytes().all(|c| b"456789bcdf".contains(&c)),
        "{rev1}"
    );
    let web0 = &p[0];
    assert_eq!(label(web0, "statefulset.kubernetes.io/pod-name"), "web-0");
    assert_eq!(label(web0, "apps.kubernetes.io/pod-index"), "0");
    assert_eq!(label(web0, "controller-revision-hash"), rev1);
    assert_eq!(label(web0, "app"), "web");
    let spec = web0.spec.as_ref().unwrap();
    assert_eq!(spec.hostname.as_deref(), Some("web-0"));
    assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
    let owner = &web0.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.controller),
        ("StatefulSet", "web", Some(true))
    );

    // web-1 only once web-0 is Running and Ready, web-2 only after web-1.
    let mut seen: Vec<Vec<String>> = Vec::new();
    step_until(
        &tc,
        90,
        |tc| seen.push(ordered(tc, "default", "web")),
        |tc| all_ready(tc, "default", 3),
    );
    assert!(
        seen.iter().any(|s| s == &["web-0", "web-1"]),
        "web-1 came up on its own: {seen:?}"
    );
    let evs = events(&tc, "default", "StatefulSet", "web");
    let creates: Vec<&str> = evs
        .iter()
        .filter(|e| e.0 == "SuccessfulCreate")
        .map(|e| e.1.as_str())
        .collect();
    assert_eq!(
        creates,
        [
            "create Pod web-0 in StatefulSet web successful",
            "create Pod web-1 in StatefulSet web successful",
            "create Pod web-2 in StatefulSet web successful"
        ]
    );
    tc.cluster().advance(secs(1));
    let st = get_sts(&tc, "default", "web").status.unwrap();
    assert_eq!(
        (
            st.replicas,
            st.ready_replicas,
            st.current_replicas,
            st.updated_replicas,
            st.available_replicas
        ),
        (3, Some(3), Some(3), Some(3), Some(3))
    );
    assert_eq!(st.current_revision.as_deref(), Some(rev1.as_str()));
    assert_eq!(st.update_revision.as_deref(), Some(rev1.as_str()));
    assert_eq!(st.observed_generation, Some(1));
    assert_eq!(st.collision_count, Some(0));

    // An image update: a second revision, pods replaced web-2, web-1, web-0, each only once
    // the one before it is Ready again.
    tc.cluster()
        .store()
        .update_with::<StatefulSet>("default", "web", |s| {
            let c = &mut s
                .spec
                .as_mut()
                .unwrap()
                .template
                .spec
                .as_mut()
                .unwrap()
                .containers[0];
            c.image = Some("nginx:1.25".into());
        })
        .expect("the update is accepted");
    tc.cluster().settle();
    let revs = revisions(&tc, "default");
    let rev2 = revs.get(&2).cloned().expect("a second revision");
    assert_ne!(rev2, rev1);
    let st = get_sts(&tc, "default", "web").status.unwrap();
    assert_eq!(st.update_revision.as_deref(), Some(rev2.as_str()));
    assert_eq!(st.current_revision.as_deref(), Some(rev1.as_str()));
    let mut during: Vec<Vec<(String, String)>> = Vec::new();
    step_until(
        &tc,
        120,
        |tc| {
            let p = pods(tc, "default");
            // Never more than one pod away during the update.
            assert!(
                p.iter().filter(|p| running_ready(p)).count() >= 2,
                "{:?}",
                names(&p)
            );
            during.push(
                p.iter()
                    .map(|p| {
                        (
                            p.metadata.name.clone().unwrap_or_default(),
                            label(p, "controller-revision-hash").to_string(),
                        )
                    })
                    .collect(),
            );
        },
        |tc| {
            let p = pods(tc, "default");
            p.len() == 3
                && p.iter()
                    .all(|p| running_ready(p) && image(p) == "nginx:1.25")
        },
    );
    let evs = events(&tc, "default", "StatefulSet", "web");
    let deletes: Vec<&str> = evs
        .iter()
        .filter(|e| e.0 == "SuccessfulDelete")
        .map(|e| e.1.as_str())
        .collect();
    assert_eq!(
        deletes,
        [
            "delete Pod web-2 in StatefulSet web successful",
            "delete Pod web-1 in StatefulSet web successful",
            "delete Pod web-0 in StatefulSet web successful"
        ]
    );
    // While web-2 was new and web-1 old, web-0 was old too.
    assert!(
        during
            .iter()
            .any(|s| s.len() == 3 && s[2].1 == rev2 && s[1].1 == rev1 && s[0].1 == rev1)
    );
    tc.cluster().advance(secs(1));
    let st = get_sts(&tc, "default", "web").status.unwrap();
    assert_eq!(st.current_revision.as_deref(), Some(rev2.as_str()));
    assert_eq!(st.update_revision.as_deref(), Some(rev2.as_str()));
    assert_eq!(
        (st.current_replicas, st.updated_replicas, st.ready_replicas),
        (Some(3), Some(3), Some(3))
    );

    // Scale down to 1: web-2 goes first, web-1 only once web-2 is gone.
    tc.cluster()
        .store()
        .update_with::<StatefulSet>("default", "web", |s| {
            s.spec.as_mut().unwrap().replicas = Some(1);
        })
        .expect("the scale is accepted");
    tc.cluster().settle();
    let p = pods(&tc, "default");
    let terminating: Vec<String> = p
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_some())
        .map(|p| p.metadata.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(terminating, ["web-2"], "{:?}", names(&p));
    step_until(
        &tc,
        60,
        |tc| {
            let p = pods(tc, "default");
            let web1_going = p.iter().any(|p| {
                p.metadata.name.as_deref() == Some("web-1")
                    && p.metadata.deletion_timestamp.is_some()
            });
            assert!(
                !(web1_going && names(&p).contains(&"web-2".to_string())),
                "web-1 deleted while web-2 is still there: {:?}",
                names(&p)
            );
        },
        |tc| names(&pods(tc, "default")) == ["web-0"],
    );
    // The same texts again: the recorder counts them on the events of the rolling update.
    for pod in ["web-2", "web-1"] {
        let msg = format!("delete Pod {pod} in StatefulSet web successful");
        assert_eq!(event_count(&tc, "default", "web", &msg), 2, "{msg}");
    }
    assert_eq!(
        event_count(
            &tc,
            "default",
            "web",
            "delete Pod web-0 in StatefulSet web successful"
        ),
        1
    );
}

/// How many times the event with this message was recorded about the StatefulSet `name`.
fn event_count(tc: &TestCluster, ns: &str, name: &str, message: &str) -> i32 {
    tc.cluster()
        .store()
        .list::<Event>(Some(ns))
        .into_iter()
        .filter(|e| {
            e.involved_object.name.as_deref() == Some(name) && e.message.as_deref() == Some(message)
        })
        .map(|e| {
            e.series
                .as_ref()
                .and_then(|s| s.count)
                .or(e.count)
                .unwrap_or(1)
        })
        .sum()
}

#[test]
fn parallel_statefulset_creates_all_at_once_and_a_partition_holds_lower_ordinals() {
    let tc = TestCluster::paused();
    create(
        &tc,
        "default",
        sts(
            "db",
            3,
            "nginx:1.27",
            json!({"podManagementPolicy": "Parallel",
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}),
        ),
    );
    assert_eq!(names(&pods(&tc, "default")), ["db-0", "db-1", "db-2"]);
    step_until(&tc, 60, |_| {}, |tc| all_ready(tc, "default", 3));

    tc.cluster()
        .store()
        .update_with::<StatefulSet>("default", "db", |s| {
            let c = &mut s
                .spec
                .as_mut()
                .unwrap()
                .template
                .spec
                .as_mut()
                .unwrap()
                .containers[0];
            c.image = Some("nginx:1.25".into());
        })
        .expect("the update is accepted");
    tc.cluster().settle();
    step_until(
        &tc,
        60,
        |_| {},
        |tc| {
            let p = pods(tc, "default");
            p.len() == 3 && image(&p[2]) == "nginx:1.25" && running_ready(&p[2])
        },
    );
    tc.cluster().advance(secs(5));
    let p = pods(&tc, "default");
    assert_eq!(
        p.iter().map(image).collect::<Vec<_>>(),
        ["nginx:1.27", "nginx:1.27", "nginx:1.25"]
    );
    let st = get_sts(&tc, "default", "db").status.unwrap();
    assert_eq!(st.updated_replicas, Some(1));
    assert_eq!(st.current_replicas, Some(2));
    assert_ne!(st.current_revision, st.update_revision);
    assert_eq!(
        label(&p[2], "controller-revision-hash"),
        st.update_revision.as_deref().unwrap()
    );

    // A deleted pod below the partition comes back at the current revision.
    tc.cluster()
        .store()
        .delete(
            &kq_sim::kinds::pod::KIND,
            "default",
            "db-0",
            &Default::default(),
        )
        .expect("delete is accepted");
    tc.cluster().settle();
    step_until(
        &tc,
        60,
        |_| {},
        |tc| {
            let p = pods(tc, "default");
            p.len() == 3 && p[0].metadata.deletion_timestamp.is_none() && running_ready(&p[0])
        },
    );
    let p = pods(&tc, "default");
    assert_eq!(image(&p[0]), "nginx:1.27");
    assert_eq!(
        label(&p[0], "controller-revision-hash"),
        st.current_revision.as_deref().unwrap()
    );
}

fn three_nodes() -> TestCluster {
    TestCluster::start_with(ClusterConfig {
        speed: 0.0,
        nodes: kq_tests::cluster::three_kind_nodes(),
        // A golden sequence on a paused clock: only this test's pods draw on the cluster's
        // jitter, so kube-system's start does not shift the moments the texts are read at.
        kube_system: false,
        ..ClusterConfig::default()
    })
}

fn node_of(p: &Pod) -> String {
    p.spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .unwrap_or_default()
}

fn ds_status(tc: &TestCluster, ns: &str, name: &str) -> (i32, i32, i32, i32, i32, i32, i32) {
    let st = tc
        .cluster()
        .store()
        .get::<DaemonSet>(ns, name)
        .expect("the daemonset exists")
        .status
        .unwrap_or_default();
    (
        st.desired_number_scheduled,
        st.current_number_scheduled,
        st.number_ready,
        st.updated_number_scheduled.unwrap_or(0),
        st.number_available.unwrap_or(0),
        st.number_unavailable.unwrap_or(0),
        st.number_misscheduled,
    )
}

fn pods_of(tc: &TestCluster, ns: &str, app: &str) -> Vec<Pod> {
    pods(tc, ns)
        .into_iter()
        .filter(|p| label(p, "app") == app)
        .collect()
}

#[test]
fn daemonset_runs_one_pod_per_eligible_node_and_rolls_one_at_a_time() {
    let tc = three_nodes();
    create(&tc, "default", ds("agent", "nginx:1.27", json!({})));

    // One pod on each worker, none on the tainted control-plane node.
    let p = pods_of(&tc, "default", "agent");
    assert_eq!(p.len(), 2, "{:?}", names(&p));
    tc.cluster().advance(secs(1));
    let p = pods_of(&tc, "default", "agent");
    let mut on: Vec<String> = p.iter().map(node_of).collect();
    on.sort();
    assert_eq!(on, ["worker-1", "worker-2"]);
    let revs = revisions(&tc, "default");
    let rev1 = revs[&1].clone();
    let hash1 = rev1
        .strip_prefix("agent-")
        .expect("named <ds>-<hash>")
        .to_string();
    for pod in &p {
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let suffix = name.strip_prefix("agent-").expect("generateName agent-");
        assert_eq!(suffix.len(), 5, "{name}");
        assert_eq!(label(pod, "controller-revision-hash"), hash1);
        assert_eq!(label(pod, "pod-template-generation"), "1");
        let spec = pod.spec.as_ref().unwrap();
        let terms = &spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|n| {
                n.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .expect("a required node affinity")
            .node_selector_terms;
        let f = &terms[0].match_fields.as_ref().unwrap()[0];
        assert_eq!(
            (f.key.as_str(), f.operator.as_str()),
            ("metadata.name", "In")
        );
        assert_eq!(f.values.as_deref(), Some(&[node_of(pod)][..]));
        let tol: Vec<(String, String)> = spec
            .tolerations
            .iter()
            .flatten()
            .map(|t| {
                (
                    t.key.clone().unwrap_or_default(),
                    t.effect.clone().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            tol,
            [
                ("node.kubernetes.io/not-ready", "NoExecute"),
                ("node.kubernetes.io/unreachable", "NoExecute"),
                ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                ("node.kubernetes.io/pid-pressure", "NoSchedule"),
                ("node.kubernetes.io/unschedulable", "NoSchedule"),
            ]
            .map(|(k, e)| (k.to_string(), e.to_string()))
        );
    }
    let evs = events(&tc, "default", "DaemonSet", "agent");
    let mut created: Vec<String> = evs
        .iter()
        .filter(|e| e.0 == "SuccessfulCreate")
        .map(|e| e.1.clone())
        .collect();
    created.sort();
    let mut expected: Vec<String> = names(&p)
        .iter()
        .map(|n| format!("Created pod: {n}"))
        .collect();
    expected.sort();
    assert_eq!(created, expected);

    step_until(
        &tc,
        60,
        |_| {},
        |tc| pods_of(tc, "default", "agent").iter().all(running_ready),
    );
    tc.cluster().advance(secs(1));
    assert_eq!(ds_status(&tc, "default", "agent"), (2, 2, 2, 2, 2, 0, 0));

    // A toleration for the control-plane taint puts a pod there too; a nodeSelector narrows.
    create(
        &tc,
        "default",
        ds(
            "everywhere",
            "nginx:1.27",
            json!({"tolerations": [{"key": "node-role.kubernetes.io/control-plane",
                "operator": "Exists", "effect": "NoSchedule"}]}),
        ),
    );
    create(
        &tc,
        "default",
        ds(
            "ssd",
            "nginx:1.27",
            json!({"nodeSelector": {"disk": "ssd"}}),
        ),
    );
    tc.cluster().advance(secs(1));
    let mut on: Vec<String> = pods_of(&tc, "default", "everywhere")
        .iter()
        .map(node_of)
        .collect();
    on.sort();
    assert_eq!(on, ["control-plane", "worker-1", "worker-2"]);
    let on: Vec<String> = pods_of(&tc, "default", "ssd").iter().map(node_of).collect();
    assert_eq!(on, ["worker-2"]);

    // Rolling update, maxUnavailable 1: one node at a time, the next only once the new pod
    // is available.
    tc.cluster()
        .store()
        .update_with::<DaemonSet>("default", "agent", |d| {
            let c = &mut d
                .spec
                .as_mut()
                .unwrap()
                .template
                .spec
                .as_mut()
                .unwrap()
                .containers[0];
            c.image = Some("nginx:1.25".into());
        })
        .expect("the update is accepted");
    tc.cluster().settle();
    let hash2 = revisions(&tc, "default")
        .into_iter()
        .rev()
        .find(|(_, n)| n.starts_with("agent-"))
        .map(|(_, n)| n.trim_start_matches("agent-").to_string())
        .unwrap();
    assert_ne!(hash2, hash1);
    step_until(
        &tc,
        120,
        |tc| {
            let p = pods_of(tc, "default", "agent");
            let up = p
                .iter()
                .filter(|p| running_ready(p) && p.metadata.deletion_timestamp.is_none())
                .count();
            assert!(up >= 1, "both nodes down at once: {:?}", names(&p));
        },
        |tc| {
            let p = pods_of(tc, "default", "agent");
            p.len() == 2
                && p.iter()
                    .all(|p| running_ready(p) && label(p, "controller-revision-hash") == hash2)
        },
    );
    let deletes = events(&tc, "default", "DaemonSet", "agent")
        .into_iter()
        .filter(|e| e.0 == "SuccessfulDelete")
        .count();
    assert_eq!(deletes, 2);
    tc.cluster().advance(secs(1));
    let p = pods_of(&tc, "default", "agent");
    assert!(p.iter().all(|p| label(p, "pod-template-generation") == "2"));
    assert_eq!(ds_status(&tc, "default", "agent"), (2, 2, 2, 2, 2, 0, 0));
}

// ---------------------------------------------------------------------------------------------
// Real kubectl, every installed version, each in its own namespace.

fn header_line(run: &Run, line: &str) -> Vec<String> {
    run.stdout
        .lines()
        .find(|l| l.starts_with(line))
        .unwrap_or_default()
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn manifest(ns: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  namespace: {ns}
spec:
  serviceName: nginx
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: {ns}
spec:
  selector:
    matchLabels:
      app: agent
  template:
    metadata:
      labels:
        app: agent
    spec:
      containers:
      - name: agent
        image: nginx:1.27
"#
    )
}

/// The StatefulSet and DaemonSet flow for one kubectl, in its own namespace `ns`.
fn kubectl_flow(tc: &TestCluster, k: &Kubectl, ns: &str) -> Step {
    ok(&k.run(&["create", "namespace", ns]))?;
    let file = tc.dir().join(format!("{ns}.yaml"));
    std::fs::write(&file, manifest(ns)).map_err(|e| e.to_string())?;
    let file = file.to_string_lossy().to_string();

    let r = k.run(&["apply", "-f", &file]);
    ok(&r)?;
    has(&r, "statefulset.apps/web created", "apply")?;
    has(&r, "daemonset.apps/agent created", "apply")?;
    lacks(&r, "ensure CRDs are installed first", "apply")?;

    let r = k.run(&["-n", ns, "rollout", "status", "sts/web", "--timeout=40s"]);
    ok(&r)?;
    has(
        &r,
        "partitioned roll out complete: 2 new pods have been updated...",
        "rollout status sts",
    )?;
    let r = k.run(&["-n", ns, "rollout", "status", "ds/agent", "--timeout=40s"]);
    ok(&r)?;
    has(
        &r,
        "daemon set \"agent\" successfully rolled out",
        "rollout status ds",
    )?;

    let r = k.run(&["-n", ns, "get", "pods"]);
    ok(&r)?;
    has_row(&r, &["web-0", "1/1", "Running", "0"], "get pods")?;
    has_row(&r, &["web-1", "1/1", "Running", "0"], "get pods")?;

    let r = k.run(&["-n", ns, "get", "sts,ds"]);
    ok(&r)?;
    let sts_header = header_line(&r, "NAME ");
    if sts_header != ["NAME", "READY", "AGE"] {
        return Err(format!("get sts header {sts_header:?}: {r}"));
    }
    has_row(&r, &["statefulset.apps/web", "2/2"], "get sts")?;
    let ds_header: Vec<String> = r
        .stdout
        .split("\n\n")
        .nth(1)
        .and_then(|block| block.lines().next())
        .unwrap_or_default()
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let want = [
        "NAME",
        "DESIRED",
        "CURRENT",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "NODE SELECTOR",
        "AGE",
    ];
    if ds_header != want {
        return Err(format!("get ds header {ds_header:?}: {r}"));
    }
    has_row(
        &r,
        &["daemonset.apps/agent", "1", "1", "1", "1", "1", "<none>"],
        "get ds",
    )?;

    let r = k.run(&["-n", ns, "scale", "sts/web", "--replicas=3"]);
    ok(&r)?;
    has(&r, "statefulset.apps/web scaled", "scale")?;
    let r = k.run(&["-n", ns, "rollout", "status", "sts/web", "--timeout=40s"]);
    ok(&r)?;
    has(
        &r,
        "partitioned roll out complete: 3 new pods have been updated...",
        "rollout status after scale",
    )?;

    let r = k.run(&["-n", ns, "describe", "sts", "web"]);
    ok(&r)?;
    has_words(&r, "Replicas: 3 desired | 3 total", "describe sts")?;
    has_words(
        &r,
        "Pods Status: 3 Running / 0 Waiting / 0 Succeeded / 0 Failed",
        "describe sts",
    )?;
    has_words(&r, "Update Strategy: RollingUpdate", "describe sts")?;
    has_words(&r, "Partition: 0", "describe sts")?;
    has(&r, "SuccessfulCreate", "describe sts events")?;
    has(
        &r,
        "create Pod web-2 in StatefulSet web successful",
        "describe sts events",
    )?;

    let r = k.run(&["-n", ns, "describe", "ds", "agent"]);
    ok(&r)?;
    has(&r, "Desired Number of Nodes Scheduled: 1", "describe ds")?;
    has(&r, "Current Number of Nodes Scheduled: 1", "describe ds")?;
    has(
        &r,
        "Number of Nodes Scheduled with Up-to-date Pods: 1",
        "describe ds",
    )?;
    has(
        &r,
        "Number of Nodes Scheduled with Available Pods: 1",
        "describe ds",
    )?;
    has(&r, "Number of Nodes Misscheduled: 0", "describe ds")?;
    has_words(
        &r,
        "Pods Status: 1 Running / 0 Waiting / 0 Succeeded / 0 Failed",
        "describe ds",
    )?;
    has(&r, "Created pod: agent-", "describe ds events")?;

    let r = k.run(&["-n", ns, "rollout", "restart", "ds/agent"]);
    ok(&r)?;
    has(&r, "daemonset.apps/agent restarted", "rollout restart")?;
    let r = k.run(&["-n", ns, "rollout", "status", "ds/agent", "--timeout=40s"]);
    ok(&r)?;
    has(
        &r,
        "daemon set \"agent\" successfully rolled out",
        "rollout status after restart",
    )?;
    let r = k.run(&["-n", ns, "get", "controllerrevisions"]);
    ok(&r)?;
    if r.stdout.lines().filter(|l| l.starts_with("agent-")).count() != 2 {
        return Err(format!("two revisions of agent after the restart: {r}"));
    }

    // History and undo read and write ControllerRevisions.
    let r = k.run(&["-n", ns, "rollout", "history", "ds/agent"]);
    ok(&r)?;
    has(&r, "daemonset.apps/agent", "rollout history")?;
    has_row(&r, &["REVISION", "CHANGE-CAUSE"], "rollout history")?;
    has_row(&r, &["1", "<none>"], "rollout history")?;
    has_row(&r, &["2", "<none>"], "rollout history")?;
    let r = k.run(&["-n", ns, "rollout", "undo", "ds/agent"]);
    ok(&r)?;
    has(&r, "daemonset.apps/agent rolled back", "rollout undo")?;
    let r = k.run(&["-n", ns, "rollout", "status", "ds/agent", "--timeout=40s"]);
    ok(&r)?;
    has(
        &r,
        "daemon set \"agent\" successfully rolled out",
        "rollout status after undo",
    )?;
    let r = k.run(&["-n", ns, "rollout", "history", "ds/agent"]);
    ok(&r)?;
    has_row(&r, &["2", "<none>"], "history after undo")?;
    has_row(&r, &["3", "<none>"], "history after undo")?;
    // One revision only: kubectl's own answer.
    let r = k.run(&["-n", ns, "rollout", "undo", "sts/web"]);
    if r.ok() {
        return Err(format!("undo of a statefulset with one revision: {r}"));
    }
    has(&r, "error: no last revision to roll back to", "undo sts")?;
    let r = k.run(&["-n", ns, "rollout", "history", "sts/web"]);
    ok(&r)?;
    has(&r, "statefulset.apps/web", "rollout history sts")?;
    has_row(&r, &["1", "<none>"], "rollout history sts")?;

    // A new image rolls the set; undo brings the first template back as revision 3.
    let r = k.run(&["-n", ns, "set", "image", "sts/web", "nginx=nginx:1.25"]);
    ok(&r)?;
    has(&r, "statefulset.apps/web image updated", "set image sts")?;
    let r = k.run(&["-n", ns, "rollout", "status", "sts/web", "--timeout=40s"]);
    ok(&r)?;
    has(
        &r,
        "partitioned roll out complete: 3 new pods have been updated...",
        "rollout status after set image",
    )?;
    let r = k.run(&[
        "-n",
        ns,
        "get",
        "pod",
        "web-0",
        "-o",
        "jsonpath={.spec.containers[0].image}",
    ]);
    ok(&r)?;
    if r.stdout != "nginx:1.25" {
        return Err(format!("web-0 runs the new image: {r}"));
    }
    let r = k.run(&["-n", ns, "rollout", "undo", "sts/web"]);
    ok(&r)?;
    has(&r, "statefulset.apps/web rolled back", "rollout undo sts")?;
    let r = k.run(&["-n", ns, "rollout", "status", "sts/web", "--timeout=40s"]);
    ok(&r)?;
    has(
        &r,
        "partitioned roll out complete: 3 new pods have been updated...",
        "rollout status after undo",
    )?;
    let r = k.run(&[
        "-n",
        ns,
        "get",
        "pod",
        "web-0",
        "-o",
        "jsonpath={.spec.containers[0].image}",
    ]);
    ok(&r)?;
    if r.stdout != "nginx:1.27" {
        return Err(format!("web-0 runs the first image again: {r}"));
    }
    let r = k.run(&["-n", ns, "rollout", "history", "sts/web"]);
    ok(&r)?;
    has_row(&r, &["2", "<none>"], "history after undo")?;
    has_row(&r, &["3", "<none>"], "history after undo")?;
    let r = k.run(&["-n", ns, "rollout", "restart", "sts/web"]);
    ok(&r)?;
    has(&r, "statefulset.apps/web restarted", "rollout restart sts")?;
    let r = k.run(&["-n", ns, "rollout", "status", "sts/web", "--timeout=40s"]);
    ok(&r)?;
    has(
        &r,
        "partitioned roll out complete: 3 new pods have been updated...",
        "rollout status after restart",
    )?;

    let r = k.run(&["-n", ns, "delete", "sts/web", "ds/agent"]);
    ok(&r)?;
    has(&r, "statefulset.apps \"web\" deleted", "delete")?;
    has(&r, "daemonset.apps \"agent\" deleted", "delete")?;
    // The garbage collector takes the pods and the revisions with them.
    for sel in ["app=web", "app=agent"] {
        let r = k.run(&[
            "-n",
            ns,
            "wait",
            "--for=delete",
            "pod",
            "-l",
            sel,
            "--timeout=30s",
        ]);
        ok(&r)?;
    }
    let r = k.run(&["-n", ns, "get", "controllerrevisions"]);
    ok(&r)?;
    has(
        &r,
        &format!("No resources found in {ns} namespace."),
        "revisions collected",
    )?;
    Ok(())
}

#[test]
fn kubectl_drives_statefulsets_and_daemonsets_on_every_version() {
    let tc = TestCluster::start_with(ClusterConfig {
        speed: 20.0,
        ..ClusterConfig::default()
    });
    on_every_kubectl(&tc, "sets", |k, ns| kubectl_flow(&tc, k, ns));
}

#[test]
fn a_failed_statefulset_pod_is_deleted_and_made_again_with_the_same_name() {
    let tc = TestCluster::paused();
    create(&tc, "default", sts("web", 2, "nginx:1.27", json!({})));
    step_until(&tc, 60, |_| {}, |tc| all_ready(tc, "default", 2));
    let old_uid = pods(&tc, "default")[1].metadata.uid.clone();
    // As after an eviction: the pod ends Failed.
    tc.cluster()
        .store()
        .update_status::<Pod>("default", "web-1", |p| {
            let st = p.status.get_or_insert_with(Default::default);
            st.phase = Some("Failed".into());
            st.reason = Some("Evicted".into());
        })
        .expect("the status is written");
    tc.cluster().settle();
    step_until(
        &tc,
        60,
        |_| {},
        |tc| {
            let p = pods(tc, "default");
            p.len() == 2 && p[1].metadata.uid != old_uid && running_ready(&p[1])
        },
    );
    let msgs: Vec<String> = events(&tc, "default", "StatefulSet", "web")
        .into_iter()
        .map(|e| format!("{}: {}", e.0, e.1))
        .collect();
    assert!(
        msgs.contains(&"SuccessfulDelete: delete Pod web-1 in StatefulSet web successful".into()),
        "{msgs:?}"
    );
    // Kubernetes 1.30+ records no RecreatingFailedPod event.
    assert!(
        !msgs.iter().any(|m| m.starts_with("RecreatingFailedPod")),
        "{msgs:?}"
    );
    assert_eq!(
        event_count(
            &tc,
            "default",
            "web",
            "create Pod web-1 in StatefulSet web successful"
        ),
        2
    );
}

#[test]
fn sets_deleted_with_orphan_cascade_adopt_their_pods_and_revisions_again() {
    let tc = three_nodes();
    create(&tc, "default", sts("web", 2, "nginx:1.27", json!({})));
    create(&tc, "default", ds("agent", "nginx:1.27", json!({})));
    step_until(&tc, 60, |_| {}, |tc| all_ready(tc, "default", 4));
    let before: Vec<(String, Option<String>)> = pods(&tc, "default")
        .into_iter()
        .map(|p| (p.metadata.name.unwrap_or_default(), p.metadata.uid))
        .collect();
    let revs_before = revisions(&tc, "default");

    for kind in [
        &kq_sim::kinds::statefulset::KIND,
        &kq_sim::kinds::daemonset::KIND,
    ] {
        let name = if kind.kind == "StatefulSet" {
            "web"
        } else {
            "agent"
        };
        tc.cluster()
            .store()
            .delete(
                kind,
                "default",
                name,
                &kq_sim::store::DeleteOptions {
                    propagation_policy: Some("Orphan".into()),
                    ..Default::default()
                },
            )
            .expect("delete is accepted");
    }
    tc.cluster().settle();
    step_until(
        &tc,
        30,
        |_| {},
        |tc| {
            tc.cluster()
                .store()
                .get::<StatefulSet>("default", "web")
                .is_err()
                && tc
                    .cluster()
                    .store()
                    .get::<DaemonSet>("default", "agent")
                    .is_err()
                && pods(tc, "default").iter().all(|p| {
                    p.metadata
                        .owner_references
                        .as_ref()
                        .is_none_or(|r| r.is_empty())
                })
        },
    );
    assert_eq!(pods(&tc, "default").len(), 4);

    create(&tc, "default", sts("web", 2, "nginx:1.27", json!({})));
    create(&tc, "default", ds("agent", "nginx:1.27", json!({})));
    tc.cluster().advance(secs(5));
    let after: Vec<(String, Option<String>)> = pods(&tc, "default")
        .into_iter()
        .map(|p| {
            (
                p.metadata.name.clone().unwrap_or_default(),
                p.metadata.uid.clone(),
            )
        })
        .collect();
    assert_eq!(after, before, "the same pods, not new ones");
    for p in pods(&tc, "default") {
        let owner = &p.metadata.owner_references.as_ref().expect("adopted")[0];
        assert!(owner.controller == Some(true), "{owner:?}");
    }
    assert_eq!(revisions(&tc, "default"), revs_before, "the same revisions");
    let st = get_sts(&tc, "default", "web").status.unwrap();
    assert_eq!(st.current_revision, st.update_revision);
    assert_eq!(st.ready_replicas, Some(2));
}

/// `rollout status --watch=false` of every kubectl at fixed moments of a paused rollout.
fn rollout_texts(tc: &TestCluster, what: &str) -> Vec<(String, String)> {
    kubectl_binaries()
        .iter()
        .map(|(label, path)| {
            let k = tc.kubectl(label, path);
            let r = k.run(&["rollout", "status", what, "--watch=false"]);
            (label.clone(), format!("{}{}", r.stdout, r.stderr))
        })
        .collect()
}

fn all_say(texts: &[(String, String)], want: &str) {
    for (label, text) in texts {
        assert_eq!(text.trim_end(), want, "kubectl {label}");
    }
}

#[test]
fn rollout_status_texts_mid_rollout_on_every_kubectl() {
    let tc = three_nodes();
    create(
        &tc,
        "default",
        sts(
            "web",
            3,
            "nginx:1.27",
            json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}),
        ),
    );
    create(&tc, "default", ds("agent", "nginx:1.27", json!({})));
    all_say(
        &rollout_texts(&tc, "sts/web"),
        "Waiting for 3 pods to be ready...",
    );
    step_until(&tc, 90, |_| {}, |tc| all_ready(tc, "default", 5));
    tc.cluster().advance(secs(1));
    all_say(
        &rollout_texts(&tc, "sts/web"),
        "partitioned roll out complete: 3 new pods have been updated...",
    );
    all_say(
        &rollout_texts(&tc, "ds/agent"),
        "daemon set \"agent\" successfully rolled out",
    );

    for kind in ["sts", "ds"] {
        let update = |c: &mut k8s_openapi::api::core::v1::Container| {
            c.image = Some("nginx:1.25".into());
        };
        if kind == "sts" {
            tc.cluster()
                .store()
                .update_with::<StatefulSet>("default", "web", |s| {
                    update(
                        &mut s
                            .spec
                            .as_mut()
                            .unwrap()
                            .template
                            .spec
                            .as_mut()
                            .unwrap()
                            .containers[0],
                    )
                })
                .expect("the update is accepted");
        } else {
            tc.cluster()
                .store()
                .update_with::<DaemonSet>("default", "agent", |d| {
                    update(
                        &mut d
                            .spec
                            .as_mut()
                            .unwrap()
                            .template
                            .spec
                            .as_mut()
                            .unwrap()
                            .containers[0],
                    )
                })
                .expect("the update is accepted");
        }
    }
    tc.cluster().settle();
    tc.cluster().advance(secs(1));
    let sts_mid = rollout_texts(&tc, "sts/web");
    let ds_mid = rollout_texts(&tc, "ds/agent");
    // web-2 is terminating but still Running and Ready, as a kubelet reports it until its
    // containers stop.
    all_say(
        &sts_mid,
        "Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated...",
    );
    all_say(
        &ds_mid,
        "Waiting for daemon set \"agent\" rollout to finish: 1 out of 2 new pods have been updated...",
    );
    // The new web-2 exists and is not Ready yet.
    step_until(
        &tc,
        30,
        |_| {},
        |tc| {
            pods(tc, "default")
                .iter()
                .any(|p| p.metadata.name.as_deref() == Some("web-2") && image(p) == "nginx:1.25")
        },
    );
    let p = pods(&tc, "default");
    let web2 = p
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("web-2"))
        .unwrap();
    assert!(!running_ready(web2));
    all_say(
        &rollout_texts(&tc, "sts/web"),
        "Waiting for 1 pods to be ready...",
    );
    step_until(
        &tc,
        90,
        |_| {},
        |tc| {
            let p = pods(tc, "default");
            p.len() == 5
                && p.iter().all(running_ready)
                && p.iter().filter(|p| image(p) == "nginx:1.25").count() == 3
        },
    );
    tc.cluster().advance(secs(1));
    all_say(
        &rollout_texts(&tc, "sts/web"),
        "partitioned roll out complete: 1 new pods have been updated...",
    );
    all_say(
        &rollout_texts(&tc, "ds/agent"),
        "daemon set \"agent\" successfully rolled out",
    );
}

#[test]
fn daemonset_replaces_a_failed_pod_follows_new_nodes_and_taints() {
    let tc = three_nodes();
    create(&tc, "default", ds("agent", "nginx:1.27", json!({})));
    step_until(
        &tc,
        60,
        |_| {},
        |tc| {
            let p = pods_of(tc, "default", "agent");
            p.len() == 2 && p.iter().all(running_ready)
        },
    );

    // A daemon pod that ends Failed (as after an eviction) is deleted and made again.
    let failed = pods_of(&tc, "default", "agent")
        .into_iter()
        .find(|p| node_of(p) == "worker-1")
        .expect("a pod on worker-1");
    let failed_name = failed.metadata.name.clone().unwrap();
    tc.cluster()
        .store()
        .update_status::<Pod>("default", &failed_name, |p| {
            let st = p.status.get_or_insert_with(Default::default);
            st.phase = Some("Failed".into());
            st.reason = Some("Evicted".into());
        })
        .expect("the status is written");
    tc.cluster().settle();
    let evs = events(&tc, "default", "DaemonSet", "agent");
    assert!(
        evs.contains(&(
            "FailedDaemonPod".into(),
            format!(
                "Found failed daemon pod default/{failed_name} on node worker-1, will try to kill it"
            )
        )),
        "{evs:?}"
    );
    assert!(
        evs.contains(&(
            "SuccessfulDelete".into(),
            format!("Deleted pod: {failed_name}")
        )),
        "{evs:?}"
    );
    step_until(
        &tc,
        60,
        |_| {},
        |tc| {
            let p = pods_of(tc, "default", "agent");
            p.len() == 2
                && p.iter().all(running_ready)
                && p.iter()
                    .all(|p| p.metadata.name.as_deref() != Some(failed_name.as_str()))
        },
    );

    // A node that joins gets a pod pinned to it (no kubelet runs there: it stays Pending).
    let joined = NodeTemplate {
        name: "worker-3".into(),
        internal_ip: "192.168.49.5".into(),
        pod_cidr: "10.244.3.0/24".into(),
        ..NodeTemplate::default()
    };
    let now = tc.cluster().clock().now();
    tc.cluster()
        .store()
        .create(
            &kq_sim::kinds::node::KIND,
            "",
            joined.to_value(now),
            &Default::default(),
        )
        .expect("the node is accepted");
    tc.cluster().settle();
    let p = pods_of(&tc, "default", "agent");
    let mut on: Vec<String> = p.iter().map(node_of).collect();
    on.sort();
    assert_eq!(on, ["worker-1", "worker-2", "worker-3"]);
    tc.cluster().advance(secs(1));
    let (desired, current, ready, ..) = ds_status(&tc, "default", "agent");
    assert_eq!((desired, current, ready), (3, 3, 2));

    // A NoSchedule taint added later: the pod stays, counted misscheduled; a NoExecute taint
    // removes it.
    let taint = |key: &str, effect: &str| Taint {
        key: key.into(),
        effect: effect.into(),
        ..Default::default()
    };
    tc.cluster()
        .store()
        .update_with::<k8s_openapi::api::core::v1::Node>("", "worker-3", |n| {
            n.spec.get_or_insert_with(Default::default).taints =
                Some(vec![taint("maintenance", "NoSchedule")]);
        })
        .expect("the taint is accepted");
    tc.cluster().settle();
    tc.cluster().advance(secs(1));
    assert_eq!(pods_of(&tc, "default", "agent").len(), 3);
    assert_eq!(ds_status(&tc, "default", "agent").6, 1, "misscheduled");
    assert_eq!(ds_status(&tc, "default", "agent").0, 2, "desired");
    tc.cluster()
        .store()
        .update_with::<k8s_openapi::api::core::v1::Node>("", "worker-2", |n| {
            n.spec.get_or_insert_with(Default::default).taints =
                Some(vec![taint("dedicated", "NoExecute")]);
        })
        .expect("the taint is accepted");
    tc.cluster().settle();
    let p = pods_of(&tc, "default", "agent");
    let on_w2: Vec<&Pod> = p.iter().filter(|p| node_of(p) == "worker-2").collect();
    assert!(
        on_w2
            .iter()
            .all(|p| p.metadata.deletion_timestamp.is_some()),
        "the pod on worker-2 is being deleted"
    );
}

#[test]
fn the_largest_replica_count_costs_one_pod_at_a_time() {
    let tc = TestCluster::paused();
    create(
        &tc,
        "default",
        sts("huge", i32::MAX, "nginx:1.27", json!({})),
    );
    tc.cluster().advance(secs(1));
    assert_eq!(names(&pods(&tc, "default")), ["huge-0"]);
    let st = get_sts(&tc, "default", "huge").status.unwrap();
    assert_eq!(st.replicas, 1);
}

#[test]
fn daemonset_with_max_surge_starts_the_new_pod_before_the_old_one_goes() {
    let tc = three_nodes();
    let mut agent = ds("agent", "nginx:1.27", json!({}));
    agent["spec"]["updateStrategy"] = json!({"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}});
    create(&tc, "default", agent);
    step_until(
        &tc,
        60,
        |_| {},
        |tc| {
            let p = pods_of(tc, "default", "agent");
            p.len() == 2 && p.iter().all(running_ready)
        },
    );
    tc.cluster()
        .store()
        .update_with::<DaemonSet>("default", "agent", |d| {
            let c = &mut d
                .spec
                .as_mut()
                .unwrap()
                .template
                .spec
                .as_mut()
                .unwrap()
                .containers[0];
            c.image = Some("nginx:1.25".into());
        })
        .expect("the update is accepted");
    tc.cluster().settle();
    // One node gets a second (new) pod at once; nothing is deleted yet.
    let p = pods_of(&tc, "default", "agent");
    assert_eq!(p.len(), 3, "{:?}", names(&p));
    assert!(p.iter().all(|p| p.metadata.deletion_timestamp.is_none()));
    let mut max_pods = 0;
    step_until(
        &tc,
        120,
        |tc| {
            let p = pods_of(tc, "default", "agent");
            // Pods on their way out do not count (Kubernetes skips terminating pods too).
            let live = p
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .count();
            max_pods = max_pods.max(live);
            let ready = p
                .iter()
                .filter(|p| running_ready(p) && p.metadata.deletion_timestamp.is_none())
                .count();
            assert!(ready >= 2, "fewer than two ready: {:?}", names(&p));
        },
        |tc| {
            let p = pods_of(tc, "default", "agent");
            p.len() == 2
                && p.iter()
                    .all(|p| running_ready(p) && image(p) == "nginx:1.25")
        },
    );
    assert!(max_pods <= 3, "at most one surge pod at a time");
    tc.cluster().advance(secs(1));
    assert_eq!(ds_status(&tc, "default", "agent"), (2, 2, 2, 2, 2, 0, 0));
}

#[test]
fn on_delete_sets_replace_a_pod_only_when_it_is_deleted() {
    let tc = TestCluster::paused();
    create(
        &tc,
        "default",
        sts(
            "web",
            2,
            "nginx:1.27",
            json!({"updateStrategy": {"type": "OnDelete"}}),
        ),
    );
    let mut agent = ds("agent", "nginx:1.27", json!({}));
    agent["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
    create(&tc, "default", agent);
    step_until(&tc, 60, |_| {}, |tc| all_ready(tc, "default", 3));
    tc.cluster()
        .store()
        .update_with::<StatefulSet>("default", "web", |s| {
            let c = &mut s
                .spec
                .as_mut()
                .unwrap()
                .template
                .spec
                .as_mut()
                .unwrap()
                .containers[0];
            c.image = Some("nginx:1.25".into());
        })
        .expect("the update is accepted");
    tc.cluster()
        .store()
        .update_with::<DaemonSet>("default", "agent", |d| {
            let c = &mut d
                .spec
                .as_mut()
                .unwrap()
                .template
                .spec
                .as_mut()
                .unwrap()
                .containers[0];
            c.image = Some("nginx:1.25".into());
        })
        .expect("the update is accepted");
    tc.cluster().settle();
    tc.cluster().advance(secs(30));
    // Nothing is replaced on its own.
    let p = pods(&tc, "default");
    assert_eq!(p.len(), 3);
    assert!(
        p.iter().all(|p| image(p) == "nginx:1.27"),
        "{:?}",
        names(&p)
    );
    let st = get_sts(&tc, "default", "web").status.unwrap();
    assert_eq!(st.updated_replicas, None);
    assert_ne!(st.current_revision, st.update_revision);
    assert_eq!(
        ds_status(&tc, "default", "agent").3,
        0,
        "updatedNumberScheduled"
    );
    let k = tc.kubectl(&kubectl_binaries()[0].0, &kubectl_binaries()[0].1);
    let r = k.run(&["rollout", "status", "ds/agent", "--watch=false"]);
    assert!(
        r.stderr
            .contains("rollout status is only available for RollingUpdate strategy type"),
        "{r}"
    );

    // Deleting a pod brings it back from the new template.
    let agent_pod = pods_of(&tc, "default", "agent")[0]
        .metadata
        .name
        .clone()
        .unwrap();
    for name in ["web-1", agent_pod.as_str()] {
        tc.cluster()
            .store()
            .delete(
                &kq_sim::kinds::pod::KIND,
                "default",
                name,
                &Default::default(),
            )
            .expect("delete is accepted");
    }
    tc.cluster().settle();
    step_until(
        &tc,
        60,
        |_| {},
        |tc| {
            let p = pods(tc, "default");
            p.len() == 3
                && p.iter().all(running_ready)
                && p.iter().filter(|p| image(p) == "nginx:1.25").count() == 2
        },
    );
    let p = pods(&tc, "default");
    let web1 = p
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("web-1"))
        .unwrap();
    assert_eq!(image(web1), "nginx:1.25");
    let web0 = p
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("web-0"))
        .unwrap();
    assert_eq!(image(web0), "nginx:1.27");
    tc.cluster().advance(secs(1));
    let st = get_sts(&tc, "default", "web").status.unwrap();
    assert_eq!(
        (st.updated_replicas, st.current_replicas),
        (Some(1), Some(1))
    );
    assert_eq!(
        ds_status(&tc, "default", "agent").3,
        1,
        "updatedNumberScheduled"
    );
}

#[test]
fn min_ready_seconds_holds_the_next_ordinal_until_the_previous_is_available() {
    let tc = TestCluster::paused();
    create(
        &tc,
        "default",
        sts("web", 2, "nginx:1.27", json!({"minReadySeconds": 10})),
    );
    step_until(
        &tc,
        60,
        |_| {},
        |tc| pods(tc, "default").first().is_some_and(running_ready),
    );
    let ready_at = tc.cluster().clock().now();
    tc.cluster().advance(secs(1));
    let st = get_sts(&tc, "default", "web").status.unwrap();
    assert_eq!(
        (st.ready_replicas, st.available_replicas),
        (Some(1), Some(0))
    );
    assert_eq!(names(&pods(&tc, "default")), ["web-0"]);
    // web-1 appears once web-0 has been Ready for 10 s, not before.
    step_until(&tc, 30, |_| {}, |tc| pods(tc, "default").len() == 2);
    let waited = tc.cluster().clock().now().duration_since(ready_at);
    assert!(
        waited >= jiff::SignedDuration::from_secs(9)
            && waited <= jiff::SignedDuration::from_secs(11),
        "{waited:?}"
    );
    let st = get_sts(&tc, "default", "web").status.unwrap();
    assert_eq!(st.available_replicas, Some(1));
}

#[test]
fn a_relabelled_daemon_pod_is_released_replaced_and_adopted_back() {
    let tc = three_nodes();
    let mut agent = ds(
        "agent",
        "nginx:1.27",
        json!({"nodeSelector": {"disk": "ssd"}}),
    );
    agent["spec"]["template"]["metadata"]["labels"]["tier"] = json!("node");
    agent["spec"]["selector"]["matchLabels"]["tier"] = json!("node");
    create(&tc, "default", agent);
    step_until(
        &tc,
        60,
        |_| {},
        |tc| pods(tc, "default").iter().any(running_ready),
    );
    let first = pods(&tc, "default")[0].metadata.name.clone().unwrap();

    // Taking the pod out of the selector: released (no owner) and replaced on its node.
    let set_tier = |tier: Option<&str>| {
        tc.cluster()
            .store()
            .update_with::<Pod>("default", &first, |p| {
                let labels = p.metadata.labels.get_or_insert_with(Default::default);
                match tier {
                    Some(t) => labels.insert("tier".into(), t.into()),
                    None => labels.remove("tier"),
                };
            })
            .expect("the label change is accepted");
        tc.cluster().settle();
    };
    set_tier(None);
    tc.cluster().advance(secs(1));
    let p = pods(&tc, "default");
    assert_eq!(p.len(), 2, "{:?}", names(&p));
    let released = p
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(first.as_str()))
        .unwrap();
    assert!(
        released
            .metadata
            .owner_references
            .as_ref()
            .is_none_or(|r| r.is_empty())
    );
    let second = p
        .iter()
        .find(|p| p.metadata.name.as_deref() != Some(first.as_str()))
        .and_then(|p| p.metadata.name.clone())
        .unwrap();
    step_until(
        &tc,
        60,
        |_| {},
        |tc| pods(tc, "default").iter().all(running_ready),
    );

    // Back in the selector: adopted again, and the newer of the two on the node goes.
    set_tier(Some("node"));
    tc.cluster().advance(secs(1));
    let p = pods(&tc, "default");
    let kept = p
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(first.as_str()))
        .unwrap();
    assert_eq!(
        kept.metadata
            .owner_references
            .as_ref()
            .map(|r| r[0].name.as_str()),
        Some("agent")
    );
    let evs = events(&tc, "default", "DaemonSet", "agent");
    assert!(
        evs.contains(&("SuccessfulDelete".into(), format!("Deleted pod: {second}"))),
        "{evs:?}"
    );
}
