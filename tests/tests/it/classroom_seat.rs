//! A learner's seat in a class prepared on the embedded cluster: with ada's own kubeconfig,
//! `crash-loop-backoff` starts in `kq-ada-crash-loop-backoff` (the namespace prepare made; the
//! learner cannot create one), the live session shows `greeter` in CrashLoopBackOff at run, the
//! reference fix applied with ada's credentials meets every objective, and the class's
//! `progress-ada` ConfigMap carries the mission while it is played and the solve after it.
//! Starting again clears the leftovers without touching the namespace; cleaning up keeps it;
//! a seat the class has no namespace for is told to ask the teacher.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kq_engine::classroom;
use kq_engine::ipc::SessionUpdate;
use kq_engine::mission::{Catalog, Mission};
use kq_engine::pipeline::PipelineChange;
use kq_engine::progress::{JsonFileStore, MissionStatus, ProgressExport, ProgressStore};
use kq_engine::session::{
    ClassReporter, ClusterKind, SessionConfig, SessionError, SessionOutcome, StoreRecorder,
    class_missions, cleanup_mission, run_session, start_mission, start_mission_with_progress,
};
use kq_tests::cluster::{TestCluster, kube_client};
use kq_tests::session::wait_for;
use kq_tests::workspace_root;
use kube::api::{Api, DeleteParams, PostParams};

const MISSION: &str = "crash-loop-backoff";
const NS: &str = "kq-ada-crash-loop-backoff";

/// A class of two learners (ada, bob) prepared on `tc` as `kq classroom prepare` does; answers
/// the folder holding the kubeconfigs.
fn prepare_class(tc: &TestCluster) -> std::path::PathBuf {
    let catalog = kq_tests::classroom::shipped_catalog();
    kq_tests::classroom::prepare(
        tc,
        &kq_tests::classroom::plan("monday", "ada\nbob\n", &catalog),
    )
}

/// The shipped curriculum as ada plays it in the class (the class's missions, her namespaces).
fn seated_mission(client: &kube::Client, tc: &TestCluster) -> Mission {
    let missions = tc
        .block_on(class_missions(client))
        .unwrap_or_else(|e| panic!("ada reads the class's missions: {e}"));
    assert!(
        missions.iter().any(|m| m == MISSION)
            && !missions.iter().any(|m| m == "drain-blocked-by-pdb"),
        "the class offers mission 1 and leaves out the node drain: {missions:?}"
    );
    let catalog = Catalog::load(&[workspace_root().join("lessons")]).seated("ada", &missions);
    let mission = catalog
        .get(MISSION)
        .expect("mission 1 is in the class")
        .clone();
    assert_eq!(mission.namespace(), NS);
    mission
}

fn report_of(tc: &TestCluster, admin: &kube::Client) -> (Option<ProgressExport>, String) {
    let cms: Api<ConfigMap> = Api::namespaced(admin.clone(), classroom::CLASS_NAMESPACE);
    let cm = tc
        .block_on(cms.get("progress-ada"))
        .expect("prepare made progress-ada");
    let data = cm.data.unwrap_or_default();
    let export = data
        .get("progress.json")
        .filter(|t| !t.is_empty())
        .map(|t| ProgressExport::parse("progress-ada", t).expect("a progress export"));
    (export, data.get("current").cloned().unwrap_or_default())
}

fn namespace_uid(tc: &TestCluster, admin: &kube::Client) -> String {
    let ns: Api<Namespace> = Api::all(admin.clone());
    let found = tc.block_on(ns.get(NS)).expect("ada's namespace exists");
    assert!(
        found.metadata.deletion_timestamp.is_none(),
        "ada's namespace is not being deleted"
    );
    found.metadata.uid.expect("a uid")
}

#[test]
fn ada_plays_crash_loop_backoff_in_her_namespace_and_the_class_sees_the_solve() {
    let tc = TestCluster::paused();
    let out = prepare_class(&tc);
    let admin = tc.block_on(kube_client(tc.cluster()));
    let ada = tc.block_on(kq_tests::classroom::client_from(
        &out.join("ada.kubeconfig"),
    ));
    let mission = seated_mission(&ada, &tc);
    let uid = namespace_uid(&tc, &admin);

    let started = tc
        .block_on(start_mission(&ada, &mission, ClusterKind::Classroom))
        .unwrap_or_else(|e| panic!("ada starts mission 1 with her own credentials: {e}"));
    assert_eq!(started.namespace, NS);
    assert_eq!(started.applied, ["pod/greeter"]);
    assert!(
        !started.replaced_leftovers,
        "a fresh namespace has nothing to clear"
    );
    tc.cluster().settle();

    // The session, as `kq play` runs it: progress saved first, reported to the class.
    let data = tempfile::tempdir().expect("temp dir");
    let progress = data.path().join("progress.json");
    let store = JsonFileStore::new(&progress);
    let now = Timestamp::now();
    store
        .update(now, &mut |p| p.start(MISSION, now))
        .expect("the start is saved");
    let read_store = JsonFileStore::new(&progress);
    let warnings = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let warned = warnings.clone();
    let reporter = ClassReporter {
        client: ada.clone(),
        class: "monday".into(),
        learner: "ada".into(),
        progress: Arc::new(move || {
            read_store
                .read()
                .map(|l| l.progress)
                .map_err(|e| e.to_string())
        }),
        every: Duration::from_secs(30),
        warn: Arc::new(move |m| warned.lock().expect("lock").push(m.to_owned())),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime for the session");
    let clock = Arc::clone(tc.cluster().clock());
    let (tx, rx) = std::sync::mpsc::channel();
    let (hints, hints_revealed) = tokio::sync::watch::channel(0_u32);
    let (m, c, p) = (mission.clone(), ada.clone(), progress.clone());
    let session = rt.spawn(async move {
        let mut recorder = StoreRecorder {
            store: JsonFileStore::new(&p),
        };
        let config = SessionConfig {
            clock: Arc::new(move || clock.now()),
            tick: Duration::from_millis(50),
            stop_when_solved: true,
            cluster: ClusterKind::Classroom,
            class: Some(reporter),
            hints_revealed,
            ..SessionConfig::default()
        };
        run_session(c, &m, NS, config, &mut recorder, move |u| {
            let _ = tx.send(u);
        })
        .await
    });
    let mut all = Vec::new();
    wait_for(
        &tc,
        &rx,
        &mut all,
        5,
        "greeter in CrashLoopBackOff at run",
        |u| {
            let SessionUpdate::Pipeline {
                change: PipelineChange::Upserted { pipeline },
            } = u
            else {
                return false;
            };
            pipeline.namespace == NS
                && pipeline.pod == "greeter"
                && pipeline.stuck_stage().is_some_and(|s| {
                    s.kind == kq_engine::stage::StageKind::Running
                        && s.reason.as_deref() == Some("CrashLoopBackOff")
                })
        },
    );
    let (export, current) = report_of(&tc, &admin);
    assert_eq!(current, MISSION, "the teacher sees the mission ada is on");
    let export = export.expect("the start was reported with ada's progress");
    assert_eq!(export.learner.name, "ada");
    assert_eq!(
        export.missions.get(MISSION).map(|m| m.status),
        Some(MissionStatus::InProgress)
    );

    // A hint, saved first as `kq play` and the app do: the class hears of it at once, not at
    // the next 30 s report.
    let now = Timestamp::now();
    store
        .update(now, &mut |p| p.hints_revealed(MISSION, 1))
        .expect("the hint is saved");
    hints.send_replace(1);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let hints_used = report_of(&tc, &admin)
            .0
            .and_then(|e| e.missions.get(MISSION).map(|m| m.hints_used));
        if hints_used == Some(1) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the revealed hint never reached the class: {hints_used:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Ada's fix, with her own credentials: a pod's command cannot change, so re-create it.
    let pods: Api<Pod> = Api::namespaced(ada.clone(), NS);
    tc.block_on(pods.delete("greeter", &DeleteParams::default().grace_period(0)))
        .expect("ada may delete her pod");
    tc.cluster().settle();
    let mut fixed: Pod =
        serde_json::from_value(mission.solution[0].object.clone()).expect("the reference pod");
    fixed.metadata.namespace = None;
    for _ in 0..100 {
        match tc.block_on(pods.create(&PostParams::default(), &fixed)) {
            Ok(_) => break,
            // The old pod is still going.
            Err(kube::Error::Api(s)) if s.code == 409 => {
                tc.cluster().advance(Duration::from_secs(1));
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("ada may create her pod: {e}"),
        }
    }
    wait_for(&tc, &rx, &mut all, 5, "the solve", |u| {
        matches!(u, SessionUpdate::Solved { .. })
    });
    let outcome = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(15), session).await })
        .expect("the session ends after the solve")
        .expect("the session task");
    assert_eq!(outcome, SessionOutcome::Solved);
    let (export, current) = report_of(&tc, &admin);
    let export = export.expect("the solve was reported");
    assert_eq!(
        export.missions.get(MISSION).map(|m| m.status),
        Some(MissionStatus::Solved),
        "the class's ConfigMap carries the solve"
    );
    assert_eq!(current, MISSION);
    assert!(
        warnings.lock().expect("lock").is_empty(),
        "every report got through: {:?}",
        warnings.lock().expect("lock")
    );
    let local = store.read().expect("progress file").progress;
    assert_eq!(
        local.mission(MISSION).status,
        MissionStatus::Solved,
        "saved locally too"
    );

    // Starting again: the leftovers go, the namespace stays the one prepare made.
    let scratch: Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "scratch"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}
    }))
    .expect("a pod");
    tc.block_on(pods.create(&PostParams::default(), &scratch))
        .expect("ada may create a practice pod");
    tc.cluster().settle();
    let mut steps = Vec::new();
    let again = tc
        .block_on(start_mission_with_progress(
            &ada,
            &mission,
            ClusterKind::Classroom,
            &mut |s| steps.push(s.to_string()),
        ))
        .unwrap_or_else(|e| panic!("ada starts again: {e}"));
    assert!(
        again.replaced_leftovers,
        "the fixed pod and the practice pod were there"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.contains("removing what an earlier attempt left in kq-ada-")),
        "the learner is told: {steps:?}"
    );
    assert_eq!(
        namespace_uid(&tc, &admin),
        uid,
        "the namespace was neither deleted nor made anew"
    );
    tc.cluster().settle();
    let left: Vec<String> = tc
        .block_on(pods.list(&Default::default()))
        .expect("ada lists her pods")
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    assert_eq!(left, ["greeter"], "only the broken pod again");
    let greeter = tc.block_on(pods.get("greeter")).expect("greeter");
    let command = greeter.spec.expect("spec").containers[0].command.clone();
    assert_eq!(
        command,
        mission.manifests[0].object["spec"]["containers"][0]["command"]
            .as_array()
            .map(|a| a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()),
        "the broken state is back"
    );

    // Cleaning up keeps the namespace for the next attempt.
    tc.block_on(cleanup_mission(&ada, &mission))
        .unwrap_or_else(|e| panic!("ada cleans up: {e}"));
    tc.cluster().settle();
    tc.cluster().advance(Duration::from_secs(1));
    assert_eq!(
        namespace_uid(&tc, &admin),
        uid,
        "cleanup keeps the namespace"
    );
    let left = tc
        .block_on(pods.list(&Default::default()))
        .expect("ada lists her pods");
    assert!(
        left.items
            .iter()
            .all(|p| p.metadata.deletion_timestamp.is_some()),
        "the mission's pod goes: {:?}",
        left.items
            .iter()
            .map(|p| &p.metadata.name)
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_seat_the_class_made_no_namespace_for_is_told_to_ask_the_teacher() {
    let tc = TestCluster::paused();
    let out = prepare_class(&tc);
    let ada = tc.block_on(kq_tests::classroom::client_from(
        &out.join("ada.kubeconfig"),
    ));
    let admin = tc.block_on(kube_client(tc.cluster()));
    let mission = seated_mission(&ada, &tc);
    // Somebody deleted ada's namespace after prepare.
    let ns: Api<Namespace> = Api::all(admin.clone());
    tc.block_on(ns.delete(NS, &DeleteParams::default()))
        .expect("the admin deletes it");
    // The namespace controller empties and finalizes it on its own threads: give it wall time
    // as well as virtual time, and be sure it is gone before the learner tries.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while tc.block_on(ns.get_opt(NS)).expect("admin reads").is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the deleted namespace is gone within a minute"
        );
        tc.cluster().advance(Duration::from_secs(1));
        std::thread::sleep(Duration::from_millis(20));
    }
    let err = tc
        .block_on(start_mission(&ada, &mission, ClusterKind::Classroom))
        .expect_err("the learner cannot make her own namespace");
    assert!(
        matches!(err, SessionError::NoClassNamespace { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "your class has no namespace kq-ada-crash-loop-backoff: ask your teacher to run \
         prepare again"
    );
    assert!(
        tc.block_on(ns.get_opt(NS)).expect("admin reads").is_none(),
        "nothing was created"
    );
    // A seat for someone the class does not know: forbidden, told the same way.
    let stranger = Catalog::load(&[workspace_root().join("lessons")])
        .seated("carol", &[MISSION.to_owned()])
        .get(MISSION)
        .expect("mission 1")
        .clone();
    let err = tc
        .block_on(start_mission(&ada, &stranger, ClusterKind::Classroom))
        .expect_err("not ada's namespace");
    assert_eq!(
        err.to_string(),
        "your class has no namespace kq-carol-crash-loop-backoff: ask your teacher to run \
         prepare again"
    );
}

/// Mission 11 needs the tainted node `batch-1`, which only the class server makes: a learner's
/// start without it names the node and applies nothing; with it (labelled managed-by, as
/// `serve` makes it) the start uses it without changing it, and neither a second start nor the
/// cleanup deletes it.
#[test]
fn a_class_mission_s_node_must_be_the_class_server_s_and_the_learner_never_touches_it() {
    use k8s_openapi::api::core::v1::Node;
    const TAINT: &str = "untolerated-taint";
    let tc = TestCluster::paused();
    let out = prepare_class(&tc);
    let admin = tc.block_on(kube_client(tc.cluster()));
    let ada = tc.block_on(kq_tests::classroom::client_from(
        &out.join("ada.kubeconfig"),
    ));
    let missions = tc
        .block_on(class_missions(&ada))
        .expect("the class's missions");
    let catalog = Catalog::load(&[workspace_root().join("lessons")]).seated("ada", &missions);
    let mission = catalog
        .get(TAINT)
        .expect("on the embedded class server mission 11 is in the class")
        .clone();
    let err = tc
        .block_on(start_mission(&ada, &mission, ClusterKind::Classroom))
        .expect_err("no node batch-1 yet");
    assert!(
        matches!(&err, SessionError::ClassObjectMissing { kind, name, .. } if kind == "Node" && name == "batch-1"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("this mission needs the cluster-scoped Node `batch-1`, which does not exist on the class's cluster")
            && text.contains("Nothing was applied"),
        "{text}"
    );
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "kq-ada-untolerated-taint");
    assert!(
        tc.block_on(pods.list(&Default::default()))
            .expect("admin lists")
            .items
            .is_empty(),
        "nothing was applied"
    );

    // The class server's node, as `serve` makes it before learners join.
    let node_manifest = mission
        .manifests
        .iter()
        .find(|m| m.kind == "Node")
        .expect("the lesson's node");
    let mut node: Node = serde_json::from_value(node_manifest.object.clone()).expect("a node");
    node.metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert("app.kubernetes.io/managed-by".into(), "kubequest".into());
    let nodes: Api<Node> = Api::all(admin.clone());
    let made = tc
        .block_on(nodes.create(&PostParams::default(), &node))
        .expect("the teacher makes the node");
    tc.cluster().settle();
    let before = tc.block_on(nodes.get("batch-1")).expect("the node");
    let started = tc
        .block_on(start_mission(&ada, &mission, ClusterKind::Classroom))
        .unwrap_or_else(|e| panic!("ada starts mission 11 on the class's node: {e}"));
    assert_eq!(
        started.applied,
        ["pod/transcoder"],
        "the node is not the learner's to apply"
    );
    tc.block_on(start_mission(&ada, &mission, ClusterKind::Classroom))
        .unwrap_or_else(|e| panic!("ada starts mission 11 again: {e}"));
    tc.block_on(cleanup_mission(&ada, &mission))
        .unwrap_or_else(|e| panic!("ada cleans up: {e}"));
    tc.cluster().settle();
    let after = tc
        .block_on(nodes.get("batch-1"))
        .expect("the node is still there");
    assert_eq!(after.metadata.uid, made.metadata.uid, "never deleted");
    assert_eq!(
        after.metadata.labels, before.metadata.labels,
        "never relabelled by a learner"
    );
    assert_eq!(
        after.spec.and_then(|s| s.taints),
        before.spec.and_then(|s| s.taints),
        "never changed by a learner"
    );
}

/// Every mission of the class starts from a learner's seat with the learner's own credentials
/// (their RBAC covers every kind a mission's manifests hold, and prepare gave each namespace
/// the labels its mission needs), once the class server's nodes exist; a start again clears
/// what the first left.
#[test]
fn every_class_mission_starts_from_a_learner_s_seat() {
    let tc = TestCluster::paused();
    let out = prepare_class(&tc);
    let admin = tc.block_on(kube_client(tc.cluster()));
    let bob = tc.block_on(kq_tests::classroom::client_from(
        &out.join("bob.kubeconfig"),
    ));
    let missions = tc
        .block_on(class_missions(&bob))
        .expect("the class's missions");
    let catalog = Catalog::load(&[workspace_root().join("lessons")]).seated("bob", &missions);
    assert_eq!(
        catalog.missions.len(),
        missions.len(),
        "every class mission is in the shipped lessons"
    );
    for mission in &catalog.missions {
        // The class server's objects (extra nodes), as `serve` makes them.
        for m in mission.manifests.iter().filter(|m| m.is_cluster_scoped()) {
            let mut body = m.object.clone();
            body["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "kubequest".into();
            let api: Api<kube::api::DynamicObject> = Api::all_with(
                admin.clone(),
                &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
                    "", "v1", &m.kind,
                )),
            );
            let obj: kube::api::DynamicObject = serde_json::from_value(body).expect("an object");
            match tc.block_on(api.create(&PostParams::default(), &obj)) {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => panic!("the teacher makes {} {}: {e}", m.kind, m.name),
            }
        }
        for attempt in ["first", "second"] {
            let started = tc
                .block_on(start_mission(&bob, mission, ClusterKind::Classroom))
                .unwrap_or_else(|e| {
                    panic!("bob's {attempt} start of {} fails: {e}", mission.summary.id)
                });
            assert_eq!(started.namespace, format!("kq-bob-{}", mission.summary.id));
            tc.cluster().settle();
        }
    }
}

/// Between events the session keeps reporting on its period, so the teacher's view of the
/// learner's time on the mission stays current.
#[test]
fn a_seated_session_reports_on_its_period_while_nothing_happens() {
    let tc = TestCluster::paused();
    let out = prepare_class(&tc);
    let admin = tc.block_on(kube_client(tc.cluster()));
    let ada = tc.block_on(kq_tests::classroom::client_from(
        &out.join("ada.kubeconfig"),
    ));
    let mission = seated_mission(&ada, &tc);
    tc.block_on(start_mission(&ada, &mission, ClusterKind::Classroom))
        .unwrap_or_else(|e| panic!("ada starts mission 1: {e}"));
    let reporter = ClassReporter {
        client: ada.clone(),
        class: "monday".into(),
        learner: "ada".into(),
        progress: Arc::new(|| Ok(kq_engine::progress::Progress::default())),
        every: Duration::from_millis(300),
        warn: Arc::new(|m| panic!("a report failed: {m}")),
    };
    let updated_at = || {
        let cms: Api<ConfigMap> = Api::namespaced(admin.clone(), classroom::CLASS_NAMESPACE);
        tc.block_on(cms.get("progress-ada"))
            .expect("progress-ada")
            .data
            .unwrap_or_default()
            .get("updatedAt")
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(updated_at(), "", "prepare leaves the report empty");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime for the session");
    let (m, c) = (mission.clone(), ada.clone());
    let session = rt.spawn(async move {
        let mut recorder = StoreRecorder {
            store: JsonFileStore::new("/nonexistent/progress.json"),
        };
        let config = SessionConfig {
            cluster: ClusterKind::Classroom,
            class: Some(reporter),
            ..SessionConfig::default()
        };
        run_session(c, &m, NS, config, &mut recorder, |_| {}).await
    });
    let mut seen = std::collections::BTreeSet::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while seen.len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "reports every 300 ms, yet in 10 s only: {seen:?}"
        );
        let at = updated_at();
        if !at.is_empty() {
            seen.insert(at);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    session.abort();
}
