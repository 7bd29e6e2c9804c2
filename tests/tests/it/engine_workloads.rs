//! The engine following workloads on the embedded cluster with its real Deployment, ReplicaSet
//! and Job controllers, on a paused virtual clock:
//!
//! - what the app's client lists (pods, events, Deployments, ReplicaSets, Jobs) fed to the
//!   pipeline tracker: a rollout's pods carry their Deployment, ReplicaSet, revision and new/old
//!   role; a rollout to a missing image is stuck at the Deployment's *apply* stage with
//!   ProgressDeadlineExceeded once 600 virtual seconds pass, explained with the new pod's own
//!   reason; `rollout undo` makes the old pods new again; a refused pod (missing
//!   ServiceAccount) is FailedCreate at apply; a Job that keeps failing is Failed with
//!   BackoffLimitExceeded; and the workload objectives judge each state;
//! - a whole mission session naming a Deployment: the session watches the workloads, pushes
//!   their views, and solves once the learner's fix rolls out.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};
use kq_engine::ipc::SessionUpdate;
use kq_engine::mission::{Check, Objective, ObjectiveStatus, Snapshot, WorkloadRef, evaluate_with};
use kq_engine::pipeline::{
    PipelineChange, PipelineTracker, RevisionRole, StageState, TrackerInput, WorkloadKind,
    WorkloadObject, WorkloadView,
};
use kq_engine::session::apply_yaml;
use kq_sim::kinds;
use kq_sim::store::{PatchKind, WriteOptions};
use kq_tests::cluster::{TestCluster, advance_until, kube_client, kubectl_binaries};
use kq_tests::session::{start_session, wait_for};
use kube::Api;
use kube::api::ListParams;
use serde_json::{Value, json};

const NS: &str = "default";

fn deployment(image: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": image}]},
            },
        },
    })
}

/// Creates a Deployment or Job straight in the store, as a client would.
fn create(tc: &TestCluster, obj: Value) {
    let kind = match obj["kind"].as_str() {
        Some("Deployment") => &kinds::deployment::KIND,
        Some("Job") => &kinds::job::KIND,
        other => panic!("a workload kind: {other:?}"),
    };
    tc.cluster()
        .store()
        .create(kind, NS, obj, &WriteOptions::default())
        .expect("the workload is accepted");
    tc.cluster().settle();
}

fn set_image(tc: &TestCluster, image: &str) {
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": image}]}}}});
    tc.cluster()
        .store()
        .patch(
            &kinds::deployment::KIND,
            NS,
            "web",
            &serde_json::to_vec(&patch).expect("JSON"),
            PatchKind::Strategic,
            &WriteOptions::default(),
            false,
        )
        .expect("the new image is accepted");
    tc.cluster().settle();
}

/// A pod as the rail shows it: revision, role, the pull stage's state and reason.
type PodRow = (
    Option<u64>,
    Option<RevisionRole>,
    StageState,
    Option<String>,
);

/// The namespace as the app's client lists it, fed to a fresh tracker (workloads, pods, then
/// events, as the watches deliver them).
struct Seen {
    tracker: PipelineTracker,
    now: Timestamp,
}

impl Seen {
    fn list(tc: &TestCluster, client: &kube::Client) -> Seen {
        let lp = ListParams::default();
        let now = tc.cluster().clock().now();
        let mut tracker = PipelineTracker::new();
        let (deploys, sets, jobs, pods, events) = tc.block_on(async {
            (
                Api::<Deployment>::namespaced(client.clone(), NS)
                    .list(&lp)
                    .await
                    .expect("list deployments")
                    .items,
                Api::<ReplicaSet>::namespaced(client.clone(), NS)
                    .list(&lp)
                    .await
                    .expect("list replicasets")
                    .items,
                Api::<Job>::namespaced(client.clone(), NS)
                    .list(&lp)
                    .await
                    .expect("list jobs")
                    .items,
                Api::<Pod>::namespaced(client.clone(), NS)
                    .list(&lp)
                    .await
                    .expect("list pods")
                    .items,
                Api::<Event>::namespaced(client.clone(), NS)
                    .list(&lp)
                    .await
                    .expect("list events")
                    .items,
            )
        });
        let feed = [
            TrackerInput::WorkloadsListed(
                WorkloadKind::Deployment,
                deploys
                    .into_iter()
                    .map(WorkloadObject::Deployment)
                    .collect(),
            ),
            TrackerInput::WorkloadsListed(
                WorkloadKind::ReplicaSet,
                sets.into_iter().map(WorkloadObject::ReplicaSet).collect(),
            ),
            TrackerInput::WorkloadsListed(
                WorkloadKind::Job,
                jobs.into_iter().map(WorkloadObject::Job).collect(),
            ),
            TrackerInput::PodsListed(pods),
        ];
        for input in feed {
            tracker.apply(input, now);
        }
        for e in events {
            tracker.apply(TrackerInput::EventApplied(e), now);
        }
        Seen { tracker, now }
    }

    fn view(&self, kind: WorkloadKind, name: &str) -> WorkloadView {
        self.tracker
            .workload_views(self.now)
            .into_iter()
            .find(|v| v.kind == kind && v.name == name)
            .unwrap_or_else(|| panic!("a view of {kind:?} {name}"))
    }

    /// Each pod as `(revision, role, pulled stage state, reason)`, sorted.
    fn pods(&self) -> Vec<PodRow> {
        let mut v: Vec<_> = self
            .tracker
            .pipelines()
            .into_iter()
            .filter(|p| !p.terminating)
            .map(|p| {
                let owner = p.owner.clone().expect("every pod here has a workload");
                assert_eq!(
                    (owner.kind, owner.name.as_str()),
                    (WorkloadKind::Deployment, "web"),
                    "{} belongs to the Deployment through its ReplicaSet",
                    p.pod
                );
                let pulled = p.stage("pulled").expect("a pull stage");
                (
                    owner.revision,
                    owner.role,
                    pulled.state,
                    pulled.reason.clone(),
                )
            })
            .collect();
        v.sort_by_key(|x| (x.0, format!("{:?}", x.1)));
        v
    }

    fn objectives(&self, checks: &[Check]) -> Vec<(ObjectiveStatus, String)> {
        let objectives: Vec<Objective> = checks
            .iter()
            .enumerate()
            .map(|(i, c)| Objective {
                id: format!("o{i}"),
                title: format!("objective {i}"),
                check: c.clone(),
            })
            .collect();
        let pods = self.tracker.pod_list();
        let events = self.tracker.events();
        let snap = Snapshot {
            pods: &pods,
            events: &events,
            now: self.now,
        };
        evaluate_with(&objectives, &snap, self.tracker.workloads())
            .into_iter()
            .map(|r| (r.status, r.reason))
            .collect()
    }
}

fn deployment_checks() -> Vec<Check> {
    vec![
        Check::DeploymentAvailable {
            deployment: "web".into(),
            replicas: Some(2),
        },
        Check::RolloutComplete {
            deployment: "web".into(),
            revision: None,
        },
        Check::WorkloadImagesPulled {
            workload: WorkloadRef {
                kind: WorkloadKind::Deployment,
                name: "web".into(),
            },
            container: None,
            repository: None,
        },
    ]
}

fn statuses(results: &[(ObjectiveStatus, String)]) -> Vec<ObjectiveStatus> {
    results.iter().map(|r| r.0).collect()
}

#[test]
fn the_rail_follows_a_rollout_its_stuck_new_pod_the_deadline_and_the_undo() {
    let tc = TestCluster::paused();
    let client = tc.block_on(kube_client(tc.cluster()));
    create(&tc, deployment("nginx:1.27", 2));
    advance_until(&tc, 120, || {
        statuses(&Seen::list(&tc, &client).objectives(&deployment_checks()))
            == [ObjectiveStatus::Met; 3]
    });
    let seen = Seen::list(&tc, &client);
    assert_eq!(
        seen.pods(),
        vec![(Some(1), Some(RevisionRole::New), StageState::Done, None); 2],
        "both pods are revision 1, the Deployment's current one"
    );
    let v = seen.view(WorkloadKind::Deployment, "web");
    assert_eq!(
        (v.applied.state, v.ready.as_str()),
        (StageState::Done, "2/2")
    );
    assert_eq!(v.diagnosis, None);
    // Pinned to a repository: the same pods pass for nginx and fail, saying why, for another.
    let pinned = |repo: &str| Check::WorkloadImagesPulled {
        workload: WorkloadRef {
            kind: WorkloadKind::Deployment,
            name: "web".into(),
        },
        container: None,
        repository: Some(repo.into()),
    };
    let r = seen.objectives(&[pinned("docker.io/library/nginx"), pinned("busybox")]);
    assert_eq!(r[0].0, ObjectiveStatus::Met, "{r:?}");
    assert_eq!(r[1].0, ObjectiveStatus::NotMet, "{r:?}");
    assert!(
        r[1].1
            .ends_with("uses nginx:1.27, not an image from busybox"),
        "{r:?}"
    );

    // A new image that does not exist: one surge pod of revision 2, stuck pulling.
    set_image(&tc, "nginx:1.99");
    tc.cluster().advance(Duration::from_secs(5));
    let seen = Seen::list(&tc, &client);
    let pods = seen.pods();
    assert_eq!(
        pods.iter().map(|p| (p.0, p.1, p.2)).collect::<Vec<_>>(),
        vec![
            (Some(1), Some(RevisionRole::Old), StageState::Done),
            (Some(1), Some(RevisionRole::Old), StageState::Done),
            (Some(2), Some(RevisionRole::New), StageState::Stuck),
        ],
        "the old pods keep serving, the new one is stuck: {pods:?}"
    );
    assert!(
        matches!(
            pods[2].3.as_deref(),
            Some("ErrImagePull" | "ImagePullBackOff")
        ),
        "{pods:?}"
    );
    let v = seen.view(WorkloadKind::Deployment, "web");
    assert_eq!(
        v.applied.state,
        StageState::Done,
        "not stuck before the deadline"
    );
    assert!(
        v.summary
            .contains("rolling out revision 2: 1 new pod, 2 old"),
        "{}",
        v.summary
    );
    assert_eq!(v.pods.len(), 3);
    let results = seen.objectives(&deployment_checks());
    assert_eq!(
        statuses(&results),
        [
            ObjectiveStatus::Met,
            ObjectiveStatus::NotMet,
            ObjectiveStatus::NotMet
        ],
        "still available on the old pods, but not rolled out nor pulled: {results:?}"
    );
    assert!(
        results[2].1.contains("cannot pull nginx:1.99"),
        "{results:?}"
    );

    // 600 virtual seconds without progress.
    tc.cluster().advance(Duration::from_secs(600));
    let seen = Seen::list(&tc, &client);
    let v = seen.view(WorkloadKind::Deployment, "web");
    assert_eq!(v.applied.state, StageState::Stuck, "{}", v.render_text());
    assert_eq!(
        v.applied.reason.as_deref(),
        Some("ProgressDeadlineExceeded")
    );
    let new_rs = v.new_replica_set.clone().expect("a new ReplicaSet");
    assert_eq!(
        v.applied.message.as_deref(),
        Some(format!("ReplicaSet \"{new_rs}\" has timed out progressing.").as_str()),
        "the condition's own words"
    );
    let d = v
        .diagnosis
        .as_ref()
        .expect("the stuck rollout is explained");
    assert!(
        d.explanation.contains(&format!(
            "The new ReplicaSet `{new_rs}` cannot make its pods available"
        )) && d.explanation.contains("is stuck at the pull stage with"),
        "{}",
        d.explanation
    );
    assert_eq!(
        d.commands,
        [
            "kubectl rollout status deployment/web -n default",
            "kubectl rollout undo deployment/web -n default",
            "kubectl describe deployment web -n default",
        ]
    );
    let results = seen.objectives(&deployment_checks());
    assert!(
        results[1].1.contains("exceeded its progress deadline"),
        "{results:?}"
    );

    // `kubectl rollout undo`: revision 1's template comes back as revision 3.
    set_image(&tc, "nginx:1.27");
    advance_until(&tc, 300, || {
        statuses(&Seen::list(&tc, &client).objectives(&deployment_checks()))
            == [ObjectiveStatus::Met; 3]
    });
    let seen = Seen::list(&tc, &client);
    assert_eq!(
        seen.pods(),
        vec![(Some(3), Some(RevisionRole::New), StageState::Done, None); 2],
        "the old pods are new again, under the next revision"
    );
    let done = seen.objectives(&[Check::RolloutComplete {
        deployment: "web".into(),
        revision: Some(3),
    }]);
    assert_eq!(
        done[0],
        (ObjectiveStatus::Met, "web rolled out revision 3".into())
    );
    assert_eq!(
        seen.view(WorkloadKind::Deployment, "web").applied.state,
        StageState::Done,
        "a later successful rollout clears the deadline"
    );
}

#[test]
fn a_refused_pod_is_failed_create_at_apply_and_a_failing_job_is_backoff_limit_exceeded() {
    let tc = TestCluster::paused();
    let client = tc.block_on(kube_client(tc.cluster()));
    let mut d = deployment("nginx:1.27", 2);
    d["spec"]["template"]["spec"]["serviceAccountName"] = json!("builder");
    create(&tc, d);
    tc.cluster().advance(Duration::from_secs(5));
    let seen = Seen::list(&tc, &client);
    let v = seen.view(WorkloadKind::Deployment, "web");
    assert!(v.pods.is_empty(), "no pod at all: {v:?}");
    assert_eq!(
        (v.applied.state, v.applied.reason.as_deref()),
        (StageState::Stuck, Some("FailedCreate"))
    );
    let message = v.applied.message.clone().unwrap_or_default();
    assert!(
        message.starts_with("Error creating: pods \"web-")
            && message.ends_with(
                "is forbidden: error looking up service account default/builder: serviceaccount \"builder\" not found"
            ),
        "the ReplicaSet's event, whole: {message}"
    );
    let event = v
        .applied
        .evidence
        .event
        .as_ref()
        .expect("the event as evidence");
    assert_eq!(
        (event.type_.as_str(), event.reason.as_str()),
        ("Warning", "FailedCreate")
    );
    let d = v.diagnosis.as_ref().expect("explained");
    assert!(
        d.explanation
            .contains("of the Deployment `web` asked the API server for a pod")
            && d.explanation.contains(
                "The pod template runs as the ServiceAccount `builder` (`serviceAccountName`), \
                 which does not exist in the namespace, so the ServiceAccount admission refuses \
                 every pod."
            ),
        "{}",
        d.explanation
    );
    assert!(
        d.commands[0].starts_with("kubectl describe replicaset web-")
            && d.commands
                .iter()
                .any(|c| c.starts_with("kubectl get serviceaccounts -n ")),
        "{:?}",
        d.commands
    );

    // A Job whose only pod fails, with no retry allowed.
    create(
        &tc,
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "report"},
            "spec": {
                "backoffLimit": 0,
                "template": {"spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "report", "image": "busybox:1.36",
                                    "command": ["sh", "-c", "echo no input; exit 3"]}]
                }}
            }
        }),
    );
    let job_checks = [Check::JobSucceeded {
        job: "report".into(),
    }];
    advance_until(&tc, 120, || {
        Seen::list(&tc, &client)
            .view(WorkloadKind::Job, "report")
            .applied
            .state
            == StageState::Failed
    });
    let seen = Seen::list(&tc, &client);
    let v = seen.view(WorkloadKind::Job, "report");
    assert_eq!(v.applied.reason.as_deref(), Some("BackoffLimitExceeded"));
    let d = v.diagnosis.as_ref().expect("explained");
    assert!(
        d.explanation.contains("after 0 failed attempts")
            && d.explanation.contains("ended with Error (exit code 3)"),
        "{}",
        d.explanation
    );
    assert_eq!(d.commands[1], "kubectl logs job/report -n default");
    let results = seen.objectives(&job_checks);
    assert_eq!(
        results[0],
        (
            ObjectiveStatus::NotMet,
            "report failed (BackoffLimitExceeded)".into()
        )
    );
    let pod = seen
        .tracker
        .pipelines()
        .into_iter()
        .find(|p| p.pod.starts_with("report-"))
        .expect("the Job's pod is kept");
    let owner = pod.owner.as_ref().expect("owned");
    assert_eq!(
        (owner.kind, owner.name.as_str(), owner.role),
        (WorkloadKind::Job, "report", None)
    );

    // A Job that succeeds.
    create(
        &tc,
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "ok"},
            "spec": {"template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "ok", "image": "busybox:1.36", "command": ["sh", "-c", "echo done"]}]
            }}}
        }),
    );
    let ok = [Check::JobSucceeded { job: "ok".into() }];
    advance_until(&tc, 120, || {
        Seen::list(&tc, &client).objectives(&ok)[0].0 == ObjectiveStatus::Met
    });
    let v = Seen::list(&tc, &client).view(WorkloadKind::Job, "ok");
    assert_eq!(
        (v.applied.state, v.ready.as_str()),
        (StageState::Done, "1/1")
    );
}

const MISSION: &str = "---
format: 1
id: stuck-rollout
title: The rollout that never finishes
order: 1
stage: pull
difficulty: intermediate
objectives:
  - id: rolled-out
    title: \"`web` is rolled out\"
    check: { kind: rollout-complete, deployment: web }
  - id: available
    title: \"`web` serves with 2 ready replicas\"
    check: { kind: deployment-available, deployment: web, replicas: 2 }
  - id: pulled
    title: \"every pod of `web` runs an image that exists\"
    check: { kind: workload-images-pulled, workload: deploy/web }
hints:
  - Look at the rollout.
  - Look at the new pods.
  - Fix the image tag.
---

# The rollout that never finishes

`web` never becomes available.
";

fn deploy_yaml(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  \
         progressDeadlineSeconds: 60\n  selector:\n    matchLabels:\n      app: web\n  template:\n    \
         metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: nginx\n          \
         image: {image}\n"
    )
}

fn stuck_workload(u: &SessionUpdate, reason: &str) -> bool {
    matches!(u, SessionUpdate::Workloads { workloads } if workloads.iter().any(|w| {
        w.kind == WorkloadKind::Deployment && w.applied.reason.as_deref() == Some(reason)
    }))
}

#[test]
fn a_session_on_a_deployment_shows_its_pods_and_its_deadline_then_solves_after_the_fix() {
    let s = start_session(
        "01-stuck-rollout",
        &[
            ("mission.md", MISSION.to_owned()),
            ("manifests/web.yaml", deploy_yaml("nginx:1.99")),
            ("solution/web.yaml", deploy_yaml("nginx:1.27")),
            (
                "debrief.md",
                "# Debrief\n\n## What happened\n\nA bad tag.\n".to_owned(),
            ),
        ],
    );
    let (tc, rx, client, ns, session_rt) = (&s.tc, &s.rx, &s.client, &s.ns, &s.rt);
    let mut all = Vec::new();

    // The new pods appear on the rail as the Deployment's, revision 1, stuck pulling.
    wait_for(tc, rx, &mut all, 1, "a stuck pod of deployment/web", |u| {
        matches!(u, SessionUpdate::Pipeline { change: PipelineChange::Upserted { pipeline } }
            if pipeline.owner.as_ref().is_some_and(|o| o.name == "web" && o.revision == Some(1)
                && o.role == Some(RevisionRole::New))
            && pipeline.stuck_stage().is_some_and(|s| s.id == "pulled"))
    });
    // Its 60 s progress deadline passes.
    let u = wait_for(tc, rx, &mut all, 5, "ProgressDeadlineExceeded", |u| {
        stuck_workload(u, "ProgressDeadlineExceeded")
    });
    let SessionUpdate::Workloads { workloads } = u else {
        unreachable!()
    };
    let d = workloads[0].diagnosis.as_ref().expect("explained");
    assert!(
        d.explanation.contains("made no progress for 60 seconds"),
        "{}",
        d.explanation
    );

    // The learner's fix, through the editor's Apply.
    let r = session_rt.block_on(apply_yaml(
        client,
        ns,
        "web.yaml",
        &deploy_yaml("nginx:1.27"),
    ));
    assert!(r.ok, "{r:?}");
    wait_for(tc, rx, &mut all, 1, "the solve", |u| {
        matches!(u, SessionUpdate::Solved { .. })
    });
    assert_eq!(s.outcome(), kq_engine::session::SessionOutcome::Solved);
    let last_objectives = all
        .iter()
        .rev()
        .find_map(|u| match u {
            SessionUpdate::Objectives { results, .. } => Some(results.clone()),
            _ => None,
        })
        .expect("objectives were sent");
    assert!(
        last_objectives
            .iter()
            .all(|r| r.status == ObjectiveStatus::Met),
        "{last_objectives:?}"
    );
    assert!(
        last_objectives[0]
            .reason
            .starts_with("web rolled out revision 2"),
        "{last_objectives:?}"
    );
}

/// The words of a diagnosis command, without `kubectl` (none of the workload commands quotes).
fn args(command: &str) -> Vec<&str> {
    let mut words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words.remove(0), "kubectl", "{command}");
    words
}

/// Every command a workload diagnosis offers works with every installed kubectl on the embedded
/// cluster, in the state it was offered for, and says what the diagnosis claims: `rollout
/// status` fails with the progress deadline, `describe` shows the condition, `logs job/…` shows
/// the failed run's output, and `rollout undo` (run once) fixes the rollout.
#[test]
fn every_kubectl_runs_the_commands_the_workload_diagnoses_offer() {
    let tc = TestCluster::paused();
    let client = tc.block_on(kube_client(tc.cluster()));
    create(&tc, deployment("nginx:1.27", 2));
    advance_until(&tc, 120, || {
        statuses(&Seen::list(&tc, &client).objectives(&deployment_checks()))
            == [ObjectiveStatus::Met; 3]
    });
    set_image(&tc, "nginx:1.99");
    tc.cluster().advance(Duration::from_secs(610));
    create(
        &tc,
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "report"},
            "spec": {
                "backoffLimit": 0,
                "template": {"spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "report", "image": "busybox:1.36",
                                    "command": ["sh", "-c", "echo no input; exit 3"]}]
                }}
            }
        }),
    );
    advance_until(&tc, 120, || {
        Seen::list(&tc, &client)
            .view(WorkloadKind::Job, "report")
            .applied
            .state
            == StageState::Failed
    });
    let seen = Seen::list(&tc, &client);
    let rollout = seen.view(WorkloadKind::Deployment, "web");
    let rollout_cmds = rollout.diagnosis.expect("stuck rollout explained").commands;
    let job_cmds = seen
        .view(WorkloadKind::Job, "report")
        .diagnosis
        .expect("failed Job explained")
        .commands;
    let binaries = kubectl_binaries();
    assert!(!binaries.is_empty());
    let mut report = Vec::new();
    for (label, path) in &binaries {
        let k = tc.kubectl(label, path);
        // rollout status: the deadline, as an error.
        let r = k.run(&args(&rollout_cmds[0]));
        assert!(
            !r.ok()
                && r.stderr
                    .contains("error: deployment \"web\" exceeded its progress deadline"),
            "{label}: {} -> {r:?}",
            rollout_cmds[0]
        );
        // describe deployment: the condition the diagnosis names.
        let r = k.run(&args(&rollout_cmds[2]));
        assert!(
            r.ok() && r.stdout.contains("ProgressDeadlineExceeded"),
            "{label}: {} -> {r:?}",
            rollout_cmds[2]
        );
        for (i, cmd) in job_cmds.iter().enumerate() {
            let r = k.run(&args(cmd));
            assert!(r.ok(), "{label}: {cmd} -> {r:?}");
            let want = ["BackoffLimitExceeded", "no input", "report-"][i.min(2)];
            assert!(
                r.stdout.contains(want),
                "{label}: {cmd} shows {want}: {r:?}"
            );
        }
        report.push(format!("{label}: ok"));
    }
    // rollout undo, once (it changes the cluster): the fix the diagnosis offers works.
    let (label, path) = binaries.last().expect("a kubectl");
    let r = tc.kubectl(label, path).run(&args(&rollout_cmds[1]));
    assert!(
        r.ok() && r.stdout.trim() == "deployment.apps/web rolled back",
        "{label}: {} -> {r:?}",
        rollout_cmds[1]
    );
    tc.cluster().settle();
    advance_until(&tc, 300, || {
        statuses(&Seen::list(&tc, &client).objectives(&deployment_checks()))
            == [ObjectiveStatus::Met; 3]
    });
    eprintln!("{}", report.join("\n"));
}
