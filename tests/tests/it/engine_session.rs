//! Mission sessions against the embedded cluster: start and restart, the editor's Apply and
//! Delete with kubectl's output, and the live session (objectives, the solve, watch restarts,
//! a cluster that goes away). The scheduler and kubelet are off (`controllers: false`): the
//! tests play the node by writing pod status, so results do not depend on their timing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{Namespace, Pod, PodStatus};
use kq_engine::connect::{ConnectErrorKind, ReconnectPolicy};
use kq_engine::ipc::{ConnectionState, SessionUpdate};
use kq_engine::mission::{Mission, ObjectiveStatus, load_mission};
use kq_engine::pipeline::PipelineChange;
use kq_engine::progress::{JsonFileStore, MissionStatus, ProgressStore};
use kq_engine::session::{
    ClusterKind, SessionConfig, SessionOutcome, StoreRecorder, apply_yaml, cleanup_mission,
    delete_yaml, run_session, start_mission,
};
use kq_sim::{Cluster, ClusterConfig, RunningCluster};
use kq_tests::cluster::kube_client;
use serde_json::json;
use tokio::sync::mpsc;

const MISSION: &str = "---
format: 1
id: session-test
title: A pod that never gets ready
order: 1
stage: run
difficulty: beginner
requires: []
expected_symptoms:
  - { pod: web, stage: run, reason: CrashLoopBackOff }
objectives:
  - id: web-ready
    title: web is Running and Ready
    check: { kind: pod-ready, pod: web }
  - id: web-busybox
    title: web still runs busybox
    check: { kind: container-image, pod: web, container: web, repository: busybox }
hints:
  - Look at the logs.
  - Look at the command.
  - Fix the command.
---

# A pod that never gets ready

`web` falls over.
";

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
    - name: web
      image: busybox:1.36
      command: [\"sh\", \"-c\", \"exit 1\"]
";

const NEXT_MISSION: &str = "---
format: 1
id: session-next
title: The next one
order: 2
stage: pull
difficulty: beginner
requires: [session-test]
expected_symptoms:
  - { pod: web, stage: pull, reason: ImagePullBackOff }
objectives:
  - id: web-ready
    title: web is Running and Ready
    check: { kind: pod-ready, pod: web }
hints:
  - One.
  - Two.
  - Three.
---

Next.
";

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("files live in a folder")).expect("writable");
    std::fs::write(p, text).expect("writable");
}

fn lesson(root: &Path, folder: &str, mission: &str) -> PathBuf {
    let d = root.join(folder);
    write(&d, "mission.md", mission);
    write(&d, "manifests/pod.yaml", POD);
    write(
        &d,
        "solution/pod.yaml",
        &POD.replace("exit 1", "sleep 3600"),
    );
    write(
        &d,
        "debrief.md",
        "# Debrief\n\n## What happened\n\nThe command **exited**.\n",
    );
    d
}

struct Setup {
    cluster: Option<RunningCluster>,
    client: kube::Client,
    mission: Mission,
    next: Mission,
    dir: tempfile::TempDir,
}

impl Setup {
    async fn new() -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        let mission = load_mission(&lesson(dir.path(), "01-session", MISSION))
            .unwrap_or_else(|e| panic!("the fixture lesson loads: {e}"));
        let next = load_mission(&lesson(dir.path(), "02-next", NEXT_MISSION))
            .unwrap_or_else(|e| panic!("the second fixture lesson loads: {e}"));
        let cluster = Cluster::start(ClusterConfig {
            controllers: false,
            ..ClusterConfig::default()
        })
        .await
        .expect("the embedded cluster starts");
        let client = kube_client(&cluster).await;
        Setup {
            cluster: Some(cluster),
            client,
            mission,
            next,
            dir,
        }
    }

    fn cluster(&self) -> &RunningCluster {
        self.cluster.as_ref().expect("the cluster runs")
    }

    fn ns(&self) -> String {
        self.mission.namespace()
    }

    fn pod(&self, name: &str) -> Option<Pod> {
        self.cluster().store().get::<Pod>(&self.ns(), name).ok()
    }

    fn progress_file(&self) -> PathBuf {
        self.dir.path().join("progress.json")
    }

    /// Starts a session on a task; updates arrive on the channel.
    fn spawn_session(
        &self,
        reconnect: ReconnectPolicy,
    ) -> (
        mpsc::UnboundedReceiver<SessionUpdate>,
        tokio::task::JoinHandle<SessionOutcome>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let client = self.client.clone();
        let mission = self.mission.clone();
        let ns = self.ns();
        let config = SessionConfig {
            reconnect,
            tick: Duration::from_millis(100),
            missions: vec![self.mission.summary.clone(), self.next.summary.clone()],
            ..SessionConfig::default()
        };
        let mut recorder = StoreRecorder {
            store: JsonFileStore::new(self.progress_file()),
        };
        let task = tokio::spawn(async move {
            run_session(client, &mission, &ns, config, &mut recorder, move |u| {
                let _ = tx.send(u);
            })
            .await
        });
        (rx, task)
    }
}

/// Collects updates until one matches `pred`, failing with everything seen after `limit`.
async fn wait_for(
    rx: &mut mpsc::UnboundedReceiver<SessionUpdate>,
    what: &str,
    limit: Duration,
    mut pred: impl FnMut(&SessionUpdate) -> bool,
) -> Vec<SessionUpdate> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(u)) => {
                let done = pred(&u);
                seen.push(u);
                if done {
                    return seen;
                }
            }
            Ok(None) => panic!("the session ended before {what}; saw {seen:#?}"),
            Err(_) => panic!("no {what} within {limit:?}; saw {seen:#?}"),
        }
    }
}

fn is_upsert_of(u: &SessionUpdate, pod: &str) -> bool {
    matches!(u, SessionUpdate::Pipeline { change: PipelineChange::Upserted { pipeline }
        | PipelineChange::Recreated { pipeline, .. } } if pipeline.pod == pod)
}

/// What the kubelet writes for a started, ready container.
fn running_ready(image: &str, since: Timestamp) -> PodStatus {
    let t = since.to_string();
    serde_json::from_value(json!({
        "phase": "Running",
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": t},
            {"type": "Initialized", "status": "True", "lastTransitionTime": t},
            {"type": "Ready", "status": "True", "lastTransitionTime": t},
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": t},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": t}
        ],
        "containerStatuses": [{
            "name": "web", "ready": true, "started": true, "restartCount": 0,
            "image": format!("docker.io/library/{image}"),
            "imageID": format!("docker.io/library/{image}@sha256:{}", "a".repeat(64)),
            "containerID": "containerd://abc",
            "state": {"running": {"startedAt": t}}
        }],
        "startTime": t
    }))
    .expect("a valid PodStatus")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_creates_the_labelled_namespace_and_the_broken_pod() {
    let s = Setup::new().await;
    let started = start_mission(&s.client, &s.mission, ClusterKind::Embedded)
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    assert_eq!(started.namespace, "kq-session-test");
    assert_eq!(started.applied, vec!["pod/web".to_owned()]);
    assert!(
        !started.replaced_leftovers,
        "a first start has nothing to clear"
    );
    let ns: Namespace = s
        .cluster()
        .store()
        .get("", "kq-session-test")
        .expect("the mission namespace exists");
    let labels = ns.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("kubequest"),
        "{labels:?}"
    );
    assert_eq!(
        labels.get("kubequest.dev/mission").map(String::as_str),
        Some("session-test")
    );
    let pod = s.pod("web").expect("the broken pod was applied");
    let command = pod.spec.expect("a spec").containers[0].command.clone();
    assert_eq!(
        command,
        Some(vec!["sh".into(), "-c".into(), "exit 1".into()]),
        "the broken state, as the lesson wrote it"
    );

    // A learner's `kubectl apply -f` of the untouched file changes nothing.
    let r = apply_yaml(&s.client, &s.ns(), "pod.yaml", POD).await;
    assert_eq!(
        (r.ok, r.output.as_str()),
        (true, "pod/web unchanged"),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_again_replaces_the_leftovers() {
    let s = Setup::new().await;
    start_mission(&s.client, &s.mission, ClusterKind::Embedded)
        .await
        .expect("start");
    let first_uid = s.pod("web").and_then(|p| p.metadata.uid);
    // The learner "fixed" web by hand and left a stray pod behind.
    let fixed = POD.replace("exit 1", "sleep 3600");
    let r = delete_yaml(&s.client, &s.ns(), "pod.yaml", POD).await;
    assert!(r.ok, "{r:?}");
    let r = apply_yaml(&s.client, &s.ns(), "pod.yaml", &fixed).await;
    assert!(r.ok, "{r:?}");
    let stray = POD.replace("name: web", "name: stray");
    assert!(
        apply_yaml(&s.client, &s.ns(), "stray.yaml", &stray)
            .await
            .ok
    );

    let mut steps = Vec::new();
    let again = kq_engine::session::start_mission_with_progress(
        &s.client,
        &s.mission,
        ClusterKind::Embedded,
        &mut |st| steps.push(st.to_string()),
    )
    .await
    .unwrap_or_else(|e| panic!("restart: {e}"));
    assert!(
        again.replaced_leftovers,
        "the second start clears the first"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.contains("removing what an earlier attempt left")),
        "the learner is told: {steps:?}"
    );
    assert!(s.pod("stray").is_none(), "leftover pods are removed");
    let web = s.pod("web").expect("web is back");
    assert_ne!(web.metadata.uid, first_uid, "web is a fresh pod");
    assert_eq!(
        web.spec.expect("spec").containers[0]
            .command
            .as_deref()
            .and_then(|c| c.get(2))
            .map(String::as_str),
        Some("exit 1"),
        "the broken command is back, not the learner's fix"
    );

    // Cleanup deletes the namespace; starting after it waits for that and works.
    cleanup_mission(&s.client, &s.mission)
        .await
        .expect("cleanup");
    start_mission(&s.client, &s.mission, ClusterKind::Embedded)
        .await
        .unwrap_or_else(|e| panic!("start after cleanup: {e}"));
    assert!(s.pod("web").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_yaml_gives_line_and_column_and_sends_nothing() {
    let s = Setup::new().await;
    start_mission(&s.client, &s.mission, ClusterKind::Embedded)
        .await
        .expect("start");
    let broken = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: other\nspec:\n  containers:\n    - name: c\n      image: busybox:1.36\n     command: [sleep]\n";
    let r = apply_yaml(&s.client, &s.ns(), "pod.yaml", broken).await;
    assert!(!r.ok, "{r:?}");
    assert_eq!(r.command, "kubectl apply -n kq-session-test -f pod.yaml");
    assert_eq!(r.diagnostics.len(), 1, "{r:?}");
    let d = &r.diagnostics[0];
    assert!(
        (8..=9).contains(&d.line) && d.column >= 1,
        "points at the misindented line: {d:?}"
    );
    assert!(s.pod("other").is_none(), "nothing was sent");

    let two = format!("{POD}---\nkind: Pod\nmetadata:\n  name: x\n  namespace: default\n");
    let r = apply_yaml(&s.client, &s.ns(), "pod.yaml", &two).await;
    assert!(!r.ok);
    let messages: Vec<(u32, &str)> = r
        .diagnostics
        .iter()
        .map(|d| (d.line, d.message.as_str()))
        .collect();
    assert!(
        messages
            .iter()
            .any(|(l, m)| *l == 13 && m.contains("apiVersion")),
        "the second document lacks apiVersion: {messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|(l, m)| *l == 16 && m.contains("kq-session-test")),
        "the namespace line is named: {messages:?}"
    );
    assert!(
        s.pod("x").is_none(),
        "nothing was sent, not even the valid first document"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_says_created_unchanged_configured_and_immutable_fields_fail_like_kubectl() {
    let s = Setup::new().await;
    start_mission(&s.client, &s.mission, ClusterKind::Embedded)
        .await
        .expect("start");
    let ns = s.ns();
    let cm =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: hello\n";
    let r = apply_yaml(&s.client, &ns, "cm.yaml", cm).await;
    assert_eq!(
        (r.ok, r.output.as_str()),
        (true, "configmap/settings created"),
        "{r:?}"
    );
    let r = apply_yaml(&s.client, &ns, "cm.yaml", cm).await;
    assert_eq!(r.output, "configmap/settings unchanged", "{r:?}");
    let r = apply_yaml(&s.client, &ns, "cm.yaml", &cm.replace("hello", "bonjour")).await;
    assert_eq!(r.output, "configmap/settings configured", "{r:?}");
    // A key removed from the file is removed from the object (three-way apply).
    let r = apply_yaml(
        &s.client,
        &ns,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  other: x\n",
    )
    .await;
    assert_eq!(r.output, "configmap/settings configured", "{r:?}");
    let data = s
        .cluster()
        .store()
        .get::<k8s_openapi::api::core::v1::ConfigMap>(&ns, "settings")
        .expect("settings")
        .data
        .unwrap_or_default();
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        vec!["other"],
        "greeting was removed"
    );

    // A new command on the running pod: the API refuses, in kubectl's words.
    let r = apply_yaml(
        &s.client,
        &ns,
        "pod.yaml",
        &POD.replace("exit 1", "sleep 3600"),
    )
    .await;
    assert!(!r.ok, "{r:?}");
    assert!(
        r.output.starts_with(
            "The Pod \"web\" is invalid: spec: Forbidden: pod updates may not change fields other than"
        ),
        "kubectl's text for an immutable field: {}",
        r.output
    );
    // Real kubectl, same file, same cluster: the same words.
    let dir = s.dir.path().to_owned();
    std::fs::write(dir.join("kubeconfig"), s.cluster().kubeconfig_yaml()).expect("kubeconfig");
    std::fs::write(dir.join("pod.yaml"), POD.replace("exit 1", "sleep 3600")).expect("pod.yaml");
    let (_, kubectl) = kq_tests::cluster::kubectl_binaries()
        .pop()
        .expect("a kubectl");
    let ns_arg = ns.clone();
    let real = tokio::task::spawn_blocking(move || {
        std::process::Command::new(kubectl)
            .args(["apply", "-n", &ns_arg, "-f", "pod.yaml"])
            .current_dir(&dir)
            .env_clear()
            .env("HOME", &dir)
            .env("KUBECONFIG", dir.join("kubeconfig"))
            .output()
            .expect("kubectl runs")
    })
    .await
    .expect("kubectl finished");
    assert_eq!(
        String::from_utf8_lossy(&real.stderr).trim_end(),
        r.output,
        "the editor prints what `{}` prints",
        r.command
    );
    // The image may change in place.
    let r = apply_yaml(
        &s.client,
        &ns,
        "pod.yaml",
        &POD.replace("busybox:1.36", "busybox:1.37"),
    )
    .await;
    assert_eq!(
        (r.ok, r.output.as_str()),
        (true, "pod/web configured"),
        "{r:?}"
    );

    // Several documents: each gets its line, in order.
    let both = format!("{cm}---\n{POD}");
    let r = apply_yaml(
        &s.client,
        &ns,
        "all.yaml",
        &both.replace("busybox:1.36", "busybox:1.37"),
    )
    .await;
    assert_eq!(
        r.output, "configmap/settings configured\npod/web unchanged",
        "{r:?}"
    );

    // An unknown kind is kubectl's mapping error.
    let r = apply_yaml(
        &s.client,
        &ns,
        "x.yaml",
        "apiVersion: v1\nkind: Gizmo\nmetadata:\n  name: g\n",
    )
    .await;
    assert!(!r.ok);
    assert!(
        r.output
            .starts_with("error: resource mapping not found for name: \"g\""),
        "{}",
        r.output
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_says_deleted_and_the_pipeline_removes_the_pod() {
    let s = Setup::new().await;
    start_mission(&s.client, &s.mission, ClusterKind::Embedded)
        .await
        .expect("start");
    let (mut rx, task) = s.spawn_session(ReconnectPolicy::default());
    wait_for(&mut rx, "web's pipeline", Duration::from_secs(10), |u| {
        is_upsert_of(u, "web")
    })
    .await;
    let r = delete_yaml(&s.client, &s.ns(), "pod.yaml", POD).await;
    assert_eq!(
        (r.ok, r.command.as_str(), r.output.as_str()),
        (
            true,
            "kubectl delete -n kq-session-test -f pod.yaml",
            "pod \"web\" deleted"
        ),
        "{r:?}"
    );
    let mut seen = wait_for(&mut rx, "Removed", Duration::from_secs(10), |u| {
        matches!(u, SessionUpdate::Pipeline { change: PipelineChange::Removed { pod, .. } } if pod == "web")
    })
    .await;
    // Objectives follow the pipeline change they were evaluated after.
    seen.extend(
        wait_for(&mut rx, "objectives", Duration::from_secs(10), |u| {
            matches!(u, SessionUpdate::Objectives { .. })
        })
        .await,
    );
    assert!(
        matches!(seen.last(), Some(SessionUpdate::Objectives { results, all_met: false })
            if results[0].reason.contains("there is no pod named web")),
        "the objectives say the pod is gone (deleting it is no fix): {seen:#?}"
    );
    let r = delete_yaml(&s.client, &s.ns(), "pod.yaml", POD).await;
    assert!(!r.ok);
    assert_eq!(
        r.output,
        "Error from server (NotFound): error when deleting \"pod.yaml\": pods \"web\" not found"
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objectives_flip_and_solved_comes_once_with_the_debrief() {
    let s = Setup::new().await;
    start_mission(&s.client, &s.mission, ClusterKind::Embedded)
        .await
        .expect("start");
    let (mut rx, task) = s.spawn_session(ReconnectPolicy::default());
    let seen = wait_for(&mut rx, "objectives", Duration::from_secs(10), |u| {
        matches!(u, SessionUpdate::Objectives { .. })
    })
    .await;
    assert!(
        matches!(
            seen.first(),
            Some(SessionUpdate::Connection {
                state: ConnectionState::Connected
            })
        ),
        "a session opens Connected: {seen:#?}"
    );
    let Some(SessionUpdate::Objectives { results, all_met }) = seen.last() else {
        unreachable!()
    };
    assert!(!all_met);
    assert_eq!(results[0].status, ObjectiveStatus::NotMet, "{results:?}");

    // Play the kubelet: web runs and is ready.
    let since = Timestamp::now() - SignedDuration::from_secs(1);
    s.cluster()
        .store()
        .update_status::<Pod>(&s.ns(), "web", |p| {
            p.status = Some(running_ready("busybox:1.36", since))
        })
        .expect("status written");
    let seen = wait_for(&mut rx, "Solved", Duration::from_secs(10), |u| {
        matches!(u, SessionUpdate::Solved { .. })
    })
    .await;
    let all_met_seen = seen.iter().any(|u| {
        matches!(u, SessionUpdate::Objectives { all_met: true, results }
            if results.iter().all(|r| r.status == ObjectiveStatus::Met))
    });
    assert!(
        all_met_seen,
        "the objectives flip to met before the solve: {seen:#?}"
    );
    let Some(SessionUpdate::Solved {
        debrief_html,
        progress,
        next,
        progress_error,
        ..
    }) = seen.last()
    else {
        unreachable!()
    };
    assert_eq!(
        *progress_error, None,
        "a solve saved to a writable progress file reports no error"
    );
    assert!(
        debrief_html.contains("<strong>exited</strong>"),
        "the debrief is rendered: {debrief_html}"
    );
    assert_eq!(progress.status, MissionStatus::Solved);
    assert_eq!(
        next.as_ref().map(|n| n.id.as_str()),
        Some("session-next"),
        "the mission this one unlocks is offered"
    );
    let stored = JsonFileStore::new(s.progress_file())
        .load(Timestamp::now())
        .expect("progress readable")
        .progress;
    assert_eq!(
        stored.mission("session-test").status,
        MissionStatus::Solved,
        "recorded"
    );

    // More changes after the solve: objectives may move again, Solved never repeats.
    s.cluster()
        .store()
        .update_status::<Pod>(&s.ns(), "web", |p| {
            if let Some(st) = p.status.as_mut() {
                st.message = Some("still fine".into());
            }
        })
        .expect("status written");
    s.cluster()
        .store()
        .update_status::<Pod>(&s.ns(), "web", |p| {
            if let Some(st) = p.status.as_mut() {
                st.phase = Some("Pending".into());
            }
        })
        .expect("status written");
    let later = wait_for(
        &mut rx,
        "objectives not met again",
        Duration::from_secs(10),
        |u| matches!(u, SessionUpdate::Objectives { all_met: false, .. }),
    )
    .await;
    s.cluster()
        .store()
        .update_status::<Pod>(&s.ns(), "web", |p| {
            p.status = Some(running_ready("busybox:1.36", since))
        })
        .expect("status written");
    let again = wait_for(&mut rx, "met again", Duration::from_secs(10), |u| {
        matches!(u, SessionUpdate::Objectives { all_met: true, .. })
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut rest = Vec::new();
    while let Ok(u) = rx.try_recv() {
        rest.push(u);
    }
    let solved_again = later
        .iter()
        .chain(&again)
        .chain(&rest)
        .filter(|u| matches!(u, SessionUpdate::Solved { .. }))
        .count();
    assert_eq!(solved_again, 0, "Solved is sent exactly once per session");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_survives_expired_and_closed_watches() {
    let s = Setup::new().await;
    start_mission(&s.client, &s.mission, ClusterKind::Embedded)
        .await
        .expect("start");
    let (mut rx, task) = s.spawn_session(ReconnectPolicy::default());
    wait_for(&mut rx, "web's pipeline", Duration::from_secs(10), |u| {
        is_upsert_of(u, "web")
    })
    .await;

    s.cluster().expire_watches();
    let second = POD.replace("name: web", "name: second");
    assert!(
        apply_yaml(&s.client, &s.ns(), "second.yaml", &second)
            .await
            .ok
    );
    let seen = wait_for(
        &mut rx,
        "the pod created after a 410",
        Duration::from_secs(15),
        |u| is_upsert_of(u, "second"),
    )
    .await;
    assert!(
        !seen.iter().any(|u| matches!(
            u,
            SessionUpdate::Connection {
                state: ConnectionState::Lost { .. }
            }
        )),
        "an expired watch is routine: {seen:#?}"
    );

    s.cluster().close_watches();
    let third = POD.replace("name: web", "name: third");
    assert!(
        apply_yaml(&s.client, &s.ns(), "third.yaml", &third)
            .await
            .ok
    );
    wait_for(
        &mut rx,
        "the pod created after a closed watch",
        Duration::from_secs(15),
        |u| is_upsert_of(u, "third"),
    )
    .await;
    assert!(!task.is_finished(), "the session keeps running");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_that_goes_away_is_reconnecting_then_lost() {
    let mut s = Setup::new().await;
    start_mission(&s.client, &s.mission, ClusterKind::Embedded)
        .await
        .expect("start");
    let policy = ReconnectPolicy {
        initial: SignedDuration::from_millis(50),
        max: SignedDuration::from_millis(200),
        reset_after: SignedDuration::from_secs(120),
        jitter_fraction_percent: 0,
        max_attempts: Some(3),
    };
    let (mut rx, task) = s.spawn_session(policy);
    wait_for(&mut rx, "web's pipeline", Duration::from_secs(10), |u| {
        is_upsert_of(u, "web")
    })
    .await;

    s.cluster.take().expect("running").shutdown().await;
    let seen = wait_for(&mut rx, "Lost", Duration::from_secs(30), |u| {
        matches!(
            u,
            SessionUpdate::Connection {
                state: ConnectionState::Lost { .. }
            }
        )
    })
    .await;
    let attempts: Vec<u32> = seen
        .iter()
        .filter_map(|u| match u {
            SessionUpdate::Connection {
                state:
                    ConnectionState::Reconnecting {
                        attempt, retry_at, ..
                    },
            } => {
                assert!(
                    retry_at.parse::<Timestamp>().is_ok(),
                    "retryAt is RFC 3339: {retry_at}"
                );
                Some(*attempt)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        attempts,
        vec![1, 2, 3],
        "each attempt announced once: {seen:#?}"
    );
    let Some(SessionUpdate::Connection {
        state: ConnectionState::Lost { failure },
    }) = seen.last()
    else {
        unreachable!()
    };
    assert_eq!(failure.kind, ConnectErrorKind::Unreachable, "{failure:?}");
    let outcome = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the session ends after Lost")
        .expect("no panic");
    assert!(matches!(outcome, SessionOutcome::Lost(_)), "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_lost_at_once() {
    let s = Setup::new().await;
    start_mission(&s.client, &s.mission, ClusterKind::Embedded)
        .await
        .expect("start");
    let mut config = kq_tests::cluster::kube_config(s.cluster()).await;
    config.auth_info.token = Some("not-the-token".to_owned().into());
    let bad = kube::Client::try_from(config).expect("a client");
    let mut recorder = StoreRecorder {
        store: JsonFileStore::new(s.progress_file()),
    };
    let mut seen = Vec::new();
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        run_session(
            bad,
            &s.mission,
            &s.ns(),
            SessionConfig::default(),
            &mut recorder,
            |u| seen.push(u),
        ),
    )
    .await
    .expect("an unauthorized session ends without retrying");
    let SessionOutcome::Lost(failure) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(failure.kind, ConnectErrorKind::Unauthorized);
    assert!(
        !seen.iter().any(|u| matches!(
            u,
            SessionUpdate::Connection {
                state: ConnectionState::Reconnecting { .. }
            }
        )),
        "credentials are not retried: {seen:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_objective_counts_on_a_timer_and_then_solves() {
    let mut s = Setup::new().await;
    let timed = MISSION.replace(
        "check: { kind: pod-ready, pod: web }",
        "check: { kind: no-restarts-for, pod: web, seconds: 2 }",
    );
    let root = s.dir.path().join("timed");
    s.mission = load_mission(&lesson(&root, "01-session", &timed))
        .unwrap_or_else(|e| panic!("the timed lesson loads: {e}"));
    start_mission(&s.client, &s.mission, ClusterKind::Embedded)
        .await
        .expect("start");
    let (mut rx, task) = s.spawn_session(ReconnectPolicy::default());
    wait_for(&mut rx, "objectives", Duration::from_secs(10), |u| {
        matches!(u, SessionUpdate::Objectives { .. })
    })
    .await;
    s.cluster()
        .store()
        .update_status::<Pod>(&s.ns(), "web", |p| {
            p.status = Some(running_ready("busybox:1.36", Timestamp::now()))
        })
        .expect("status written");
    let seen = wait_for(&mut rx, "Solved", Duration::from_secs(10), |u| {
        matches!(u, SessionUpdate::Solved { .. })
    })
    .await;
    // Updates from before the status write (the session may first see the
    // Pending pod after its opening objectives) still say NotMet; from the
    // moment the pod is ready the objective counts, and only then is met.
    let statuses: Vec<ObjectiveStatus> = seen
        .iter()
        .filter_map(|u| match u {
            SessionUpdate::Objectives { results, .. } => Some(results[0].status),
            _ => None,
        })
        .skip_while(|s| *s == ObjectiveStatus::NotMet)
        .collect();
    assert_eq!(
        statuses.first(),
        Some(&ObjectiveStatus::Waiting),
        "the objective counts first: {seen:#?}"
    );
    assert!(
        !statuses.contains(&ObjectiveStatus::NotMet),
        "a ready pod's count never falls back: {seen:#?}"
    );
    assert_eq!(statuses.last(), Some(&ObjectiveStatus::Met), "{seen:#?}");
    assert!(
        statuses.len() >= 2,
        "the counting reason updates on the timer, with no new watch event: {seen:#?}"
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_table_reads_both_recorders_like_kubectl_describe() {
    let s = Setup::new().await;
    start_mission(&s.client, &s.mission, ClusterKind::Embedded)
        .await
        .expect("start");
    let uid = s.pod("web").and_then(|p| p.metadata.uid).expect("a uid");
    let ns = s.ns();
    let base = Timestamp::from_second(Timestamp::now().as_second()).expect("now is in range");
    let t = |secs: i64| (base - SignedDuration::from_secs(secs)).to_string();
    let kubelet: k8s_openapi::api::core::v1::Event = serde_json::from_value(json!({
        "metadata": {"name": "web.1", "namespace": ns},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": ns, "uid": uid,
                           "fieldPath": "spec.containers{web}"},
        "type": "Warning", "reason": "BackOff",
        "message": "Back-off restarting failed container web in pod web_kq-session-test(x)",
        "source": {"component": "kubelet", "host": "node-1"},
        "count": 4, "firstTimestamp": t(100), "lastTimestamp": t(5)
    }))
    .expect("a kubelet event");
    let scheduler: k8s_openapi::api::core::v1::Event = serde_json::from_value(json!({
        "metadata": {"name": "web.2", "namespace": ns},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": ns, "uid": uid},
        "type": "Warning", "reason": "FailedScheduling",
        "message": "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..",
        "reportingComponent": "default-scheduler", "reportingInstance": "default-scheduler-x",
        "action": "Scheduling", "eventTime": t(200),
        "series": {"count": 3, "lastObservedTime": t(50)}
    }))
    .expect("a scheduler event");
    let (mut rx, task) = s.spawn_session(ReconnectPolicy::default());
    wait_for(&mut rx, "web's pipeline", Duration::from_secs(10), |u| {
        is_upsert_of(u, "web")
    })
    .await;
    for e in [&kubelet, &scheduler] {
        s.cluster()
            .store()
            .create_typed(&ns, e)
            .unwrap_or_else(|err| panic!("event stored: {err}"));
    }
    let seen = wait_for(
        &mut rx,
        "both events",
        Duration::from_secs(10),
        |u| matches!(u, SessionUpdate::Events { events } if events.len() == 2),
    )
    .await;
    let Some(SessionUpdate::Events { events }) = seen.last() else {
        unreachable!()
    };
    let rows: Vec<(&str, u32, &str, &str, Option<&str>)> = events
        .iter()
        .map(|e| {
            (
                e.reason.as_str(),
                e.count,
                e.from.as_str(),
                e.object.as_str(),
                e.container.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("FailedScheduling", 3, "default-scheduler", "pod/web", None),
            ("BackOff", 4, "kubelet", "pod/web", Some("web")),
        ],
        "oldest last-seen first; series.count and reportingComponent count for the scheduler"
    );
    assert_eq!(
        (events[0].first_seen.clone(), events[0].last_seen.clone()),
        (Some(t(200)), Some(t(50))),
        "the scheduler's eventTime and series.lastObservedTime"
    );
    assert_eq!(
        (events[1].first_seen.clone(), events[1].last_seen.clone()),
        (Some(t(100)), Some(t(5))),
        "the kubelet's first and last timestamps"
    );
    assert!(events[0].last_seen < events[1].last_seen, "{events:?}");
    task.abort();
}

/// A lesson folder whose manifests also hold the node `gpu-1`, declared in `mission.md` as a
/// mission must declare anything cluster-scoped.
fn lesson_with(root: &Path, folder: &str, extra: &str) -> Mission {
    let declared = MISSION.replacen(
        "expected_symptoms:",
        "cluster_scoped:\n  - { kind: Node, name: gpu-1 }\nexpected_symptoms:",
        1,
    );
    let d = lesson(root, folder, &declared);
    write(&d, "manifests/cluster.yaml", extra);
    load_mission(&d).unwrap_or_else(|e| panic!("the lesson with cluster objects loads: {e}"))
}

const NODE: &str = "apiVersion: v1
kind: Node
metadata:
  name: gpu-1
  annotations: {kubequest.dev/cpu: \"8\", kubequest.dev/memory: 16Gi, kubequest.dev/pods: \"110\"}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mission_with_cluster_scoped_objects_is_refused_on_a_real_cluster_before_anything_is_applied()
 {
    let s = Setup::new().await;
    let mission = lesson_with(s.dir.path(), "03-cluster", NODE);
    let err = start_mission(&s.client, &mission, ClusterKind::Real)
        .await
        .expect_err("a real cluster must refuse a mission that declares cluster-scoped objects");
    assert!(
        matches!(
            err,
            kq_engine::session::SessionError::ClusterScopedRefused { .. }
        ),
        "the refusal is its own error, not a cluster failure: {err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("Node `gpu-1`")
            && message.contains("embedded cluster")
            && message.contains("Nothing was applied"),
        "the learner is told which object, why, and what to do instead: {message}"
    );
    let store = s.cluster().store();
    assert!(
        store.get::<Namespace>("", "kq-session-test").is_err(),
        "nothing is applied before the refusal, not even the mission namespace"
    );
    assert!(
        store
            .get::<k8s_openapi::api::core::v1::Node>("", "gpu-1")
            .is_err(),
        "a real cluster's nodes are never created by a mission"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_embedded_cluster_a_mission_only_changes_cluster_objects_kubequest_created() {
    let s = Setup::new().await;
    // Someone else's node, named like the one a lesson declares.
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(s.client.clone());
    let theirs: k8s_openapi::api::core::v1::Node =
        serde_json::from_value(json!({"metadata": {"name": "gpu-1", "labels": {"owner": "ops"}}}))
            .expect("a node");
    nodes
        .create(&Default::default(), &theirs)
        .await
        .expect("the node is created");
    let mission = lesson_with(s.dir.path(), "03-cluster", NODE);
    let err = start_mission(&s.client, &mission, ClusterKind::Embedded)
        .await
        .expect_err("a node KubeQuest did not create must not be taken over");
    assert!(
        err.to_string().contains("KubeQuest did not create it"),
        "the teacher is told why: {err}"
    );
    let node = nodes.get("gpu-1").await.expect("their node is still there");
    let labels = node.metadata.labels.unwrap_or_default();
    assert_eq!(
        (
            labels.get("owner").map(String::as_str),
            labels.get("app.kubernetes.io/managed-by")
        ),
        (Some("ops"), None),
        "their node is unchanged"
    );
    assert!(
        s.cluster()
            .store()
            .get::<Namespace>("", "kq-session-test")
            .is_err(),
        "nothing is applied when a declared object is someone else's"
    );

    // Without the clash the node is created, labelled, and a replay may replace it.
    nodes
        .delete("gpu-1", &Default::default())
        .await
        .expect("their node is removed by its owner");
    start_mission(&s.client, &mission, ClusterKind::Embedded)
        .await
        .unwrap_or_else(|e| panic!("start with a declared node: {e}"));
    let ours = nodes.get("gpu-1").await.expect("the declared node exists");
    assert_eq!(
        ours.metadata
            .labels
            .unwrap_or_default()
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("kubequest"),
        "a cluster-scoped object KubeQuest creates carries the managed-by label"
    );
    start_mission(&s.client, &mission, ClusterKind::Embedded)
        .await
        .unwrap_or_else(|e| panic!("a replay replaces KubeQuest's own node: {e}"));
    assert!(nodes.get_opt("gpu-1").await.expect("get").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_existing_unlabelled_mission_namespace_is_refused_and_left_untouched() {
    let s = Setup::new().await;
    let namespaces: kube::Api<Namespace> = kube::Api::all(s.client.clone());
    let ns: Namespace = serde_json::from_value(
        json!({"metadata": {"name": "kq-session-test", "labels": {"team": "shop"}}}),
    )
    .expect("a namespace");
    namespaces
        .create(&Default::default(), &ns)
        .await
        .expect("someone else's namespace");
    let pods: kube::Api<Pod> = kube::Api::namespaced(s.client.clone(), "kq-session-test");
    let theirs: Pod = serde_json::from_value(json!({
        "metadata": {"name": "payments"},
        "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]}
    }))
    .expect("a pod");
    let created = pods
        .create(&Default::default(), &theirs)
        .await
        .expect("their pod");

    for on in [ClusterKind::Embedded, ClusterKind::Real] {
        let err = start_mission(&s.client, &s.mission, on)
            .await
            .expect_err("a namespace KubeQuest did not create must be refused");
        let message = err.to_string();
        assert!(
            message.contains("kq-session-test")
                && message.contains("KubeQuest did not create it")
                && message.contains("kubectl delete namespace kq-session-test"),
            "the error names the namespace and what to do: {message}"
        );
    }
    let err = cleanup_mission(&s.client, &s.mission)
        .await
        .expect_err("cleanup must refuse a namespace KubeQuest did not create");
    assert!(err.to_string().contains("kq-session-test"), "{err}");

    let after = namespaces
        .get("kq-session-test")
        .await
        .expect("their namespace still exists");
    assert!(
        after.metadata.deletion_timestamp.is_none(),
        "their namespace is not being deleted"
    );
    let labels = after.metadata.labels.unwrap_or_default();
    assert_eq!(
        (
            labels.get("team").map(String::as_str),
            labels.get("app.kubernetes.io/managed-by")
        ),
        (Some("shop"), None),
        "their namespace is not relabelled"
    );
    let pod = pods
        .get("payments")
        .await
        .expect("their pod is still there");
    assert_eq!(
        pod.metadata.uid, created.metadata.uid,
        "their pod was neither deleted nor replaced"
    );
    assert!(
        s.pod("web").is_none(),
        "nothing of the mission was applied into their namespace"
    );
}
