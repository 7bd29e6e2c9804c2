//! The pipeline the learner sees for every flow the embedded node produces: built by the engine
//! from the pods and events the cluster really wrote, at chosen moments of virtual time,
//! including fixes made in the middle of a back-off and a pod recreated under the same name.
//!
//! Each moment is summarised as one line per stage (`id state reason evidence`), leaving out
//! timestamps and uids, so the expectations read like the rail itself.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod};
use kq_engine::pipeline::{
    PipelineChange, PipelineTracker, PodPipeline, TrackerInput, build_pipeline,
};
use kq_tests::cluster::TestCluster;
use serde_json::{Value, json};

fn paused() -> TestCluster {
    TestCluster::paused()
}

fn create(tc: &TestCluster, obj: Value) {
    tc.create("default", obj);
}

fn pod(name: &str, container: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [container]}})
}

fn pipeline(tc: &TestCluster, name: &str) -> PodPipeline {
    let store = tc.cluster().store();
    let p: Pod = store.get("default", name).expect("the pod exists");
    let events: Vec<Event> = store.list(Some("default"));
    build_pipeline(&p, &events, tc.cluster().clock().now())
}

/// `id state [reason] [path=value]` per stage, plus the STATUS cell.
fn summary(p: &PodPipeline) -> Vec<String> {
    let mut out = vec![format!("status {}", p.status)];
    for s in &p.stages {
        let mut line = format!("{} {}", s.id, s.state.as_str());
        if let Some(r) = &s.reason {
            line.push(' ');
            line.push_str(r);
        }
        if let Some(f) = s.evidence.fields.first() {
            line.push_str(&format!(" [{}={}]", f.path, f.value));
        }
        out.push(line);
    }
    out
}

fn stuck(p: &PodPipeline) -> (String, String) {
    let s = p
        .stuck_stage()
        .unwrap_or_else(|| panic!("a stuck stage: {:#?}", summary(p)));
    (s.id.clone(), s.reason.clone().unwrap_or_default())
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn a_healthy_start_walks_every_stage() {
    let tc = paused();
    create(
        &tc,
        pod("web", json!({"name": "web", "image": "nginx:1.27"})),
    );
    tc.cluster().advance(secs(1));
    let early = summary(&pipeline(&tc, "web"));
    assert!(early[1].starts_with("applied done"), "{early:#?}");
    assert!(early[2].starts_with("scheduled done"), "{early:#?}");
    tc.cluster().advance(secs(10));
    let p = pipeline(&tc, "web");
    assert!(p.stuck_stage().is_none(), "{:#?}", summary(&p));
    assert_eq!(p.status, "Running");
    assert_eq!(p.ready, "1/1");
    assert!(
        p.stages.iter().all(|s| s.state.as_str() == "done"),
        "{:#?}",
        summary(&p)
    );
}

#[test]
fn image_pull_backoff_is_stuck_at_pull_and_the_fix_mid_backoff_reaches_ready() {
    let tc = paused();
    create(
        &tc,
        pod(
            "web",
            json!({"name": "web", "image": "nginx:nonexistent-tag-xyz-123"}),
        ),
    );
    tc.cluster().advance(secs(40));
    let p = pipeline(&tc, "web");
    let (stage, reason) = stuck(&p);
    assert_eq!(stage, "pulled", "{:#?}", summary(&p));
    assert!(
        reason == "ImagePullBackOff" || reason == "ErrImagePull",
        "{reason}"
    );
    let s = p.stuck_stage().unwrap();
    assert!(
        s.evidence
            .fields
            .iter()
            .any(|f| f.path == "status.containerStatuses[0].state.waiting.reason"),
        "{:#?}",
        s.evidence
    );
    assert!(
        s.evidence
            .event
            .as_ref()
            .is_some_and(|e| e.message.contains("nginx:nonexistent-tag-xyz-123"))
    );
    // Mid-backoff, the image is corrected: the next sync pulls it at once.
    tc.cluster()
        .store()
        .update_with::<Pod>("default", "web", |p| {
            p.spec.as_mut().unwrap().containers[0].image = Some("nginx:1.27".into());
        })
        .expect("the image can be changed");
    tc.cluster().settle();
    tc.cluster().advance(secs(8));
    let p = pipeline(&tc, "web");
    assert!(p.stuck_stage().is_none(), "{:#?}", summary(&p));
    assert_eq!((p.status.as_str(), p.ready.as_str()), ("Running", "1/1"));
}

#[test]
fn crash_loop_is_stuck_at_run_with_restarts_and_a_retry_time_while_the_phase_is_running() {
    let tc = paused();
    create(
        &tc,
        pod(
            "greeter",
            json!({"name": "greeter", "image": "busybox:1.36",
            "command": ["sh", "-c", "echo starting; cat /etc/greeting/message.txt"]}),
        ),
    );
    tc.cluster().advance(secs(120));
    let p = pipeline(&tc, "greeter");
    assert_eq!(
        p.phase, "Running",
        "the phase of a crash-looping pod stays Running"
    );
    let (stage, reason) = stuck(&p);
    assert_eq!(stage, "running", "{:#?}", summary(&p));
    assert!(
        reason == "CrashLoopBackOff" || reason == "Error",
        "{reason}"
    );
    assert!(p.restarts >= 3, "restarts after 2 min: {}", p.restarts);
    if reason == "CrashLoopBackOff" {
        let retry = p
            .next_retry
            .as_ref()
            .expect("a back-off shows when the next start is");
        assert!(
            [10, 20, 40, 80, 160, 300].contains(&retry.backoff_seconds),
            "{retry:?}"
        );
    }
}

#[test]
fn unschedulable_is_stuck_at_schedule_with_the_scheduler_reason() {
    let tc = paused();
    create(
        &tc,
        pod(
            "report-worker",
            json!({"name": "worker", "image": "busybox:1.36",
            "command": ["sleep", "3600"], "resources": {"requests": {"cpu": "6"}}}),
        ),
    );
    let p = pipeline(&tc, "report-worker");
    let (stage, reason) = stuck(&p);
    assert_eq!(
        (stage.as_str(), reason.as_str()),
        ("scheduled", "Unschedulable"),
        "{:#?}",
        summary(&p)
    );
    let s = p.stuck_stage().unwrap();
    assert!(
        s.message
            .as_deref()
            .is_some_and(|m| m.contains("1 Insufficient cpu")),
        "{s:#?}"
    );
    assert_eq!(p.status, "Pending");
}

#[test]
fn config_error_oom_and_start_error_are_stuck_where_the_kubelet_failed() {
    let tc = paused();
    create(
        &tc,
        pod(
            "cfg",
            json!({"name": "app", "image": "busybox:1.36", "command": ["sleep", "3600"],
            "env": [{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}}]}),
        ),
    );
    create(
        &tc,
        pod(
            "oom",
            json!({"name": "hog", "image": "polinux/stress", "command": ["stress"],
            "args": ["--vm", "1", "--vm-bytes", "250M"], "resources": {"limits": {"memory": "64Mi"}}}),
        ),
    );
    create(
        &tc,
        pod(
            "nobash",
            json!({"name": "app", "image": "alpine:3.20", "command": ["bash", "-c", "echo hi"]}),
        ),
    );
    tc.cluster().advance(secs(30));
    let (stage, reason) = stuck(&pipeline(&tc, "cfg"));
    assert_eq!(
        (stage.as_str(), reason.as_str()),
        ("created", "CreateContainerConfigError")
    );
    let p = pipeline(&tc, "oom");
    let (stage, _) = stuck(&p);
    assert_eq!(stage, "running", "{:#?}", summary(&p));
    assert!(
        p.stages.iter().any(|s| s
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("OOMKilled")
            || s.reason.as_deref() == Some("OOMKilled"))
            || p.diagnosis
                .as_ref()
                .is_some_and(|d| format!("{d:?}").contains("OOMKilled")),
        "{:#?}",
        summary(&p)
    );
    let p = pipeline(&tc, "nobash");
    let (stage, reason) = stuck(&p);
    assert!(
        ["created", "running"].contains(&stage.as_str())
            && ["RunContainerError", "StartError", "CrashLoopBackOff"].contains(&reason.as_str()),
        "{stage} {reason}: {:#?}",
        summary(&p)
    );
}

#[test]
fn a_pod_recreated_under_the_same_name_is_a_new_pipeline() {
    let tc = paused();
    let mut tracker = PipelineTracker::new();
    let feed = |tracker: &mut PipelineTracker, tc: &TestCluster| -> Vec<PipelineChange> {
        let store = tc.cluster().store();
        let now = tc.cluster().clock().now();
        let mut changes = tracker.apply(
            TrackerInput::PodsListed(store.list::<Pod>(Some("default"))),
            now,
        );
        for e in store.list::<Event>(Some("default")) {
            changes.extend(tracker.apply(TrackerInput::EventApplied(e), now));
        }
        changes
    };
    create(
        &tc,
        pod(
            "greeter",
            json!({"name": "greeter", "image": "busybox:1.36", "command": ["sh", "-c", "exit 1"]}),
        ),
    );
    tc.cluster().advance(secs(30));
    feed(&mut tracker, &tc);
    let first = tracker
        .pipeline_for("greeter")
        .expect("tracked")
        .uid
        .clone();
    tc.cluster()
        .store()
        .delete(
            &kq_sim::kinds::pod::KIND,
            "default",
            "greeter",
            &Default::default(),
        )
        .expect("delete");
    tc.cluster().advance(secs(2));
    create(
        &tc,
        pod(
            "greeter",
            json!({"name": "greeter", "image": "busybox:1.36", "command": ["sh", "-c", "echo hello; sleep 3600"]}),
        ),
    );
    tc.cluster().advance(secs(5));
    let changes = feed(&mut tracker, &tc);
    assert!(
        changes.iter().any(|c| matches!(c, PipelineChange::Recreated { previous_uid, .. } if *previous_uid == first)),
        "{changes:#?}"
    );
    let now = tracker.pipeline_for("greeter").expect("tracked");
    assert_ne!(now.uid, first);
    assert_eq!(now.restarts, 0);
    assert_eq!(
        (now.status.as_str(), now.ready.as_str()),
        ("Running", "1/1")
    );
}

/// After a pod is recreated, the events table holds the new pod's events only (by uid), in
/// `kubectl describe`'s order, with the events the embedded cluster really wrote and listed.
#[test]
fn after_a_recreate_the_events_table_shows_only_the_new_pod_in_describe_order() {
    let tc = paused();
    let mut tracker = PipelineTracker::new();
    let feed = |tracker: &mut PipelineTracker, tc: &TestCluster| {
        let store = tc.cluster().store();
        let now = tc.cluster().clock().now();
        tracker.apply(
            TrackerInput::PodsListed(store.list::<Pod>(Some("default"))),
            now,
        );
        for e in store.list::<Event>(Some("default")) {
            tracker.apply(TrackerInput::EventApplied(e), now);
        }
    };
    create(
        &tc,
        pod(
            "greeter",
            json!({"name": "greeter", "image": "busybox:1.36", "command": ["sh", "-c", "exit 1"]}),
        ),
    );
    tc.cluster().advance(secs(60));
    feed(&mut tracker, &tc);
    let before = kq_engine::pipeline::event_rows(&tracker.current_events());
    assert!(
        before.iter().any(|r| r.reason == "BackOff"),
        "the crash-looping pod has BackOff events: {before:#?}"
    );
    tc.cluster()
        .store()
        .delete(
            &kq_sim::kinds::pod::KIND,
            "default",
            "greeter",
            &Default::default(),
        )
        .expect("delete");
    tc.cluster().advance(secs(40));
    create(
        &tc,
        pod("greeter", json!({"name": "greeter", "image": "nginx:1.27"})),
    );
    tc.cluster().advance(secs(20));
    feed(&mut tracker, &tc);
    let rows = kq_engine::pipeline::event_rows(&tracker.current_events());
    let reasons: Vec<&str> = rows.iter().map(|r| r.reason.as_str()).collect();
    assert!(
        !reasons.contains(&"BackOff") && rows.iter().all(|r| !r.message.contains("busybox")),
        "the deleted pod's events must not show for the new pod: {rows:#?}"
    );
    let pos = |reason: &str| {
        reasons
            .iter()
            .position(|r| *r == reason)
            .unwrap_or_else(|| panic!("a {reason} event: {reasons:?}"))
    };
    assert_eq!(
        pos("Scheduled"),
        0,
        "describe lists the scheduler's event first: {reasons:?}"
    );
    assert!(
        pos("Pulling") < pos("Pulled")
            && pos("Pulled") < pos("Created")
            && pos("Created") < pos("Started"),
        "the kubelet's steps in the order it took them: {reasons:?}"
    );
}

/// A mission may declare extra nodes in its manifests: starting it registers them (each with
/// its own kubelet), and the mission's pod can be placed on one.
#[test]
fn a_mission_that_declares_a_node_runs_its_pod_there() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("04-gpu-node");
    kq_tests::copy_dir(
        &kq_tests::workspace_root().join("lessons/03-pending-insufficient-cpu"),
        &dir,
    );
    std::fs::write(
        dir.join("manifests/node.yaml"),
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: gpu-1\n  labels: {accelerator: gpu}\n  annotations: {kubequest.dev/cpu: \"8\"}\nspec:\n  taints: [{key: dedicated, value: gpu, effect: NoSchedule}]\n",
    )
    .expect("node manifest");
    let pod = std::fs::read_to_string(dir.join("manifests/pod.yaml")).expect("pod manifest");
    let pod = pod.replace(
        "spec:\n",
        "spec:\n  nodeSelector: {accelerator: gpu}\n  tolerations: [{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}]\n",
    );
    std::fs::write(dir.join("manifests/pod.yaml"), pod).expect("pod manifest");
    // Cluster-scoped objects must be declared in mission.md.
    let front = std::fs::read_to_string(dir.join("mission.md")).expect("mission.md");
    let front = front.replacen(
        "expected_symptoms:",
        "cluster_scoped:\n  - { kind: Node, name: gpu-1 }\nexpected_symptoms:",
        1,
    );
    std::fs::write(dir.join("mission.md"), front).expect("mission.md");
    let mission = kq_engine::mission::load_mission(&dir).expect("the mission loads");

    let tc = paused();
    let client = tc.block_on(kq_tests::cluster::kube_client(tc.cluster()));
    tc.block_on(kq_engine::session::start_mission(
        &client,
        &mission,
        kq_engine::session::ClusterKind::Embedded,
    ))
    .expect("the mission starts, node included");
    tc.cluster().settle();
    tc.cluster().advance(secs(10));
    let p: Pod = tc
        .cluster()
        .store()
        .get(&mission.namespace(), "report-worker")
        .expect("the pod exists");
    assert_eq!(p.spec.and_then(|s| s.node_name).as_deref(), Some("gpu-1"));
    assert_eq!(p.status.and_then(|s| s.phase).as_deref(), Some("Running"));
}

/// A running embedded cluster (60× speed, so a pod's 30 s grace period passes in half a
/// second) and a `kube` client for it, as the editor's buttons use them.
fn running_cluster() -> (TestCluster, kube::Client) {
    let tc = TestCluster::start_with(kq_sim::ClusterConfig {
        speed: 60.0,
        ..kq_sim::ClusterConfig::default()
    });
    let client = tc.block_on(kq_tests::cluster::kube_client(tc.cluster()));
    (tc, client)
}

const EDITOR_POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.27
";

/// kubectl (1.27 and later) asks for strict field validation, so the editor's Apply must too:
/// a misspelt field is refused with the server's strict-decoding text, never dropped silently,
/// both when creating and when patching an existing pod.
#[test]
fn apply_refuses_an_unknown_field_with_the_servers_strict_decoding_error() {
    use kq_engine::session::apply_yaml;
    let (tc, client) = running_cluster();
    let typo = EDITOR_POD.replace(
        "      image: nginx:1.27\n",
        "      image: nginx:1.27\n      imagePullPolicyy: Always\n",
    );
    let r = tc.block_on(apply_yaml(&client, "default", "pod.yaml", &typo));
    assert!(!r.ok, "a create with an unknown field is refused: {r:?}");
    assert!(
        r.output
            .starts_with("Error from server (BadRequest): error when creating \"pod.yaml\":")
            && r.output.contains(
                "strict decoding error: unknown field \"spec.containers[0].imagePullPolicyy\""
            ),
        "the learner reads what kubectl prints: {}",
        r.output
    );

    let r = tc.block_on(apply_yaml(&client, "default", "pod.yaml", EDITOR_POD));
    assert_eq!(
        (r.ok, r.output.as_str()),
        (true, "pod/web created"),
        "{r:?}"
    );
    let r = tc.block_on(apply_yaml(&client, "default", "pod.yaml", &typo));
    assert!(
        !r.ok
            && r.output.contains(
                "strict decoding error: unknown field \"spec.containers[0].imagePullPolicyy\""
            ),
        "a patch with an unknown field is refused too: {r:?}"
    );
}

/// An edit a Pod cannot take in place comes back explained (what cannot change, what can),
/// with the server's message kept, and "Delete and re-apply" then makes it: the old pod is
/// deleted, waited for, and a new one created with the change.
#[test]
fn an_immutable_change_is_explained_and_delete_and_reapply_makes_it() {
    use kq_engine::session::apply::reapply_yaml;
    use kq_engine::session::apply_yaml;
    let (tc, client) = running_cluster();
    let r = tc.block_on(apply_yaml(&client, "default", "pod.yaml", EDITOR_POD));
    assert!(r.ok, "{r:?}");
    let before: Pod = tc
        .cluster()
        .store()
        .get("default", "web")
        .expect("the pod exists");
    let changed = format!("{EDITOR_POD}      command: [\"nginx\", \"-g\", \"daemon off;\"]\n");
    let r = tc.block_on(apply_yaml(&client, "default", "pod.yaml", &changed));
    assert!(!r.ok, "a Pod's command cannot change in place: {r:?}");
    let change = r
        .immutable
        .as_ref()
        .unwrap_or_else(|| panic!("the refusal is recognised as an in-place change: {r:?}"));
    assert_eq!((change.kind.as_str(), change.name.as_str()), ("Pod", "web"));
    assert!(
        change.summary.contains("cannot be changed in place") && change.summary.contains("delete"),
        "plain words and the way out: {}",
        change.summary
    );
    assert!(
        change
            .can_change
            .iter()
            .any(|f| f == "`spec.containers[*].image`")
            && change
                .can_change
                .iter()
                .any(|f| f.starts_with("`spec.tolerations`")),
        "what may change, as the server lists it: {:?}",
        change.can_change
    );
    assert!(
        change
            .server_message
            .contains("pod updates may not change fields other than"),
        "the server's message stays available: {}",
        change.server_message
    );

    let r = tc.block_on(reapply_yaml(
        &client,
        "default",
        "pod.yaml",
        &changed,
        std::time::Duration::from_secs(30),
    ));
    assert!(r.ok, "delete and re-apply succeeds: {r:?}");
    assert_eq!(r.output, "pod \"web\" deleted\npod/web created", "{r:?}");
    let after: Pod = tc
        .cluster()
        .store()
        .get("default", "web")
        .expect("the pod exists again");
    assert_ne!(
        after.metadata.uid, before.metadata.uid,
        "a new pod, not the old one"
    );
    assert_eq!(
        after.spec.expect("a spec").containers[0].command,
        Some(vec!["nginx".into(), "-g".into(), "daemon off;".into()]),
        "the new pod has the change"
    );
}
