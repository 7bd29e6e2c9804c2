//! The `service-endpoints` objective in a whole mission session on the embedded cluster: the
//! session watches the namespace's Services and EndpointSlices through the app's `kube`
//! client, reports why a Service has no ready endpoints (its only pod fails its readiness
//! probe), and solves once the learner's readiness fix rolls out and the EndpointSlice
//! controller lists the new pod as ready.

use std::sync::Arc;
use std::time::Duration;

use kq_engine::ipc::SessionUpdate;
use kq_engine::mission::{ObjectiveStatus, load_mission};
use kq_engine::progress::JsonFileStore;
use kq_engine::session::{
    ClusterKind, SessionConfig, StoreRecorder, apply_yaml, run_session, start_mission,
};
use kq_tests::cluster::{TestCluster, kube_client};

const MISSION: &str = "---
format: 1
id: no-endpoints
title: The Service with nobody behind it
order: 1
stage: ready
difficulty: beginner
objectives:
  - id: endpoints
    title: \"`web` has a ready endpoint\"
    check: { kind: service-endpoints, service: web, min_ready: 1 }
hints:
  - Look at the Service's endpoints.
  - Look at the pod's readiness.
  - Probe the port nginx listens on.
---

# The Service with nobody behind it

`web` answers nothing.
";

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n    - port: 80\n      targetPort: 80\n";

fn deploy_yaml(probe_port: u16) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  \
         selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        \
         app: web\n    spec:\n      containers:\n        - name: nginx\n          image: nginx:1.27\n          \
         readinessProbe:\n            tcpSocket:\n              port: {probe_port}\n            periodSeconds: 5\n"
    )
}

/// Receives updates until one satisfies `pred`, advancing the virtual clock by `step` seconds
/// between polls (30 s of real time at most).
fn wait_for(
    tc: &TestCluster,
    rx: &std::sync::mpsc::Receiver<SessionUpdate>,
    all: &mut Vec<SessionUpdate>,
    step: u64,
    what: &str,
    pred: impl Fn(&SessionUpdate) -> bool,
) -> SessionUpdate {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        while let Ok(u) = rx.try_recv() {
            all.push(u.clone());
            if pred(&u) {
                return u;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no update with {what} within 30 s; got {:#?}",
            all.iter().rev().take(5).collect::<Vec<_>>()
        );
        if step > 0 {
            tc.cluster().advance(Duration::from_secs(step));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn objective(u: &SessionUpdate) -> Option<(ObjectiveStatus, String)> {
    match u {
        SessionUpdate::Objectives { results, .. } => {
            results.first().map(|r| (r.status, r.reason.clone()))
        }
        _ => None,
    }
}

#[test]
fn a_session_reports_a_service_without_ready_endpoints_and_solves_after_the_readiness_fix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lesson = dir.path().join("01-no-endpoints");
    for (rel, text) in [
        ("mission.md", MISSION.to_owned()),
        (
            "manifests/web.yaml",
            format!("{SERVICE}---\n{}", deploy_yaml(8080)),
        ),
        ("solution/web.yaml", deploy_yaml(80)),
        (
            "debrief.md",
            "# Debrief\n\n## What happened\n\nThe probe checked a port nobody listens on.\n"
                .to_owned(),
        ),
    ] {
        let path = lesson.join(rel);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let mission = load_mission(&lesson).unwrap_or_else(|e| panic!("the lesson loads: {e}"));
    let tc = TestCluster::paused();
    let session_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime for the session");
    let client = session_rt.block_on(kube_client(tc.cluster()));
    session_rt
        .block_on(start_mission(&client, &mission, ClusterKind::Embedded))
        .unwrap_or_else(|e| panic!("the mission starts: {e}"));
    tc.cluster().settle();
    let ns = mission.namespace();
    let clock = Arc::clone(tc.cluster().clock());
    let (tx, rx) = std::sync::mpsc::channel();
    let progress = dir.path().join("progress.json");
    let (m, c, n) = (mission.clone(), client.clone(), ns.clone());
    let session = session_rt.spawn(async move {
        let mut recorder = StoreRecorder {
            store: JsonFileStore::new(&progress),
        };
        let config = SessionConfig {
            clock: Arc::new(move || clock.now()),
            tick: Duration::from_millis(50),
            stop_when_solved: true,
            ..SessionConfig::default()
        };
        run_session(c, &m, &n, config, &mut recorder, move |u| {
            let _ = tx.send(u);
        })
        .await
    });
    let mut all = Vec::new();

    // The pod runs but its probe knocks on 8080: the Service's slice lists it not ready.
    let u = wait_for(&tc, &rx, &mut all, 2, "the not-ready reason", |u| {
        objective(u).is_some_and(|(_, r)| r.contains("is not ready"))
    });
    assert_eq!(
        objective(&u),
        Some((
            ObjectiveStatus::NotMet,
            "web has no ready endpoints (1 pod matches but is not ready)".to_string()
        ))
    );

    // The learner's fix, through the editor's Apply: probe port 80.
    let r = session_rt.block_on(apply_yaml(&client, &ns, "web.yaml", &deploy_yaml(80)));
    assert!(r.ok, "{r:?}");
    let u = wait_for(&tc, &rx, &mut all, 2, "the endpoint ready", |u| {
        objective(u).is_some_and(|(s, _)| s == ObjectiveStatus::Met)
    });
    assert_eq!(
        objective(&u),
        Some((ObjectiveStatus::Met, "web has 1 ready endpoint".to_string()))
    );
    wait_for(&tc, &rx, &mut all, 1, "the solve", |u| {
        matches!(u, SessionUpdate::Solved { .. })
    });
    let outcome = session_rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), session).await })
        .expect("the session ends after the solve")
        .expect("the session task");
    assert_eq!(outcome, kq_engine::session::SessionOutcome::Solved);
}
