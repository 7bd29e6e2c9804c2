//! Jobs and CronJobs (batch/v1) on the embedded cluster: golden sequences on the paused
//! virtual clock (a Job completing, a failing Job's back-off up to BackoffLimitExceeded, a
//! deadline, a CronJob firing at the minute and keeping its history, Forbid) and real kubectl
//! of every installed version driving `create job|cronjob`, `get`, `describe`, `logs` and
//! `delete`, asserting what a learner reads.

use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Pod};
use kq_sim::store::WriteOptions;
use kq_tests::cluster::TestCluster;
use serde_json::{Value, json};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn create(tc: &TestCluster, ns: &str, group: &str, obj: Value) {
    let kind = obj["kind"]
        .as_str()
        .and_then(|k| kq_sim::kinds::by_kind(group, k))
        .unwrap_or_else(|| panic!("a known kind: {}", obj["kind"]));
    tc.cluster()
        .store()
        .create(kind, ns, obj, &WriteOptions::default())
        .expect("the object is accepted");
    tc.cluster().settle();
}

fn job_spec(name: &str, script: &str, extra: Value) -> Value {
    let mut spec = json!({
        "template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": name, "image": "busybox:1.36",
                "command": ["sh", "-c", script]}]
        }}
    });
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec})
}

fn job(tc: &TestCluster, name: &str) -> Job {
    tc.cluster()
        .store()
        .get::<Job>("default", name)
        .expect("the job exists")
}

/// The Job's pods (controlled by it), oldest first.
fn pods_of(tc: &TestCluster, job_name: &str) -> Vec<Pod> {
    let mut pods: Vec<Pod> = tc
        .cluster()
        .store()
        .list::<Pod>(Some("default"))
        .into_iter()
        .filter(|p| {
            p.metadata.owner_references.iter().flatten().any(|r| {
                r.kind == "Job" && r.name == job_name && r.controller == Some(true)
            })
        })
        .collect();
    pods.sort_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
    pods
}

/// `(type, reason, message)` of the events about the object `name` of `kind`, oldest first.
fn events(tc: &TestCluster, kind: &str, name: &str) -> Vec<(String, String, String)> {
    let mut evs: Vec<Event> = tc
        .cluster()
        .store()
        .list::<Event>(Some("default"))
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
                .and_then(|r| r.parse::<u64>().ok()),
        )
    });
    evs.into_iter()
        .map(|e| {
            (
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.message.unwrap_or_default(),
            )
        })
        .collect()
}

/// `(type, status, reason, message)` of the Job's conditions, in order.
fn conditions(j: &Job) -> Vec<(String, String, String, String)> {
    j.status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            (
                c.type_,
                c.status,
                c.reason.unwrap_or_default(),
                c.message.unwrap_or_default(),
            )
        })
        .collect()
}

fn cond(t: &str, reason: &str, message: &str) -> (String, String, String, String) {
    (t.into(), "True".into(), reason.into(), message.into())
}

fn phase(p: &Pod) -> String {
    p.status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default()
}

fn now(tc: &TestCluster) -> jiff::Timestamp {
    tc.cluster().clock().now()
}

/// Advance in small steps until `done` holds (at most `limit` of virtual time); returns the
/// virtual time it took.
fn advance_until(tc: &TestCluster, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = now(tc);
    let step = Duration::from_millis(500);
    while !done() {
        let spent = Duration::try_from(now(tc).duration_since(start)).unwrap_or_default();
        assert!(spent < limit, "condition not reached within {limit:?}");
        tc.cluster().advance(step);
    }
    Duration::try_from(now(tc).duration_since(start)).unwrap_or_default()
}

#[test]
fn a_job_runs_its_pod_to_completion() {
    let tc = TestCluster::paused();
    let t0 = now(&tc);
    create(&tc, "default", "batch", job_spec("hello", "echo hi", json!({})));

    // The pod exists at once, named from the Job, owned by it and held by the finalizer.
    let pods = pods_of(&tc, "hello");
    assert_eq!(pods.len(), 1, "one pod for one completion");
    let pod = &pods[0];
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    assert!(pod_name.starts_with("hello-") && pod_name.len() == "hello-".len() + 5);
    assert_eq!(
        pod.metadata.finalizers.clone().unwrap_or_default(),
        vec!["batch.kubernetes.io/job-tracking".to_string()]
    );
    let j = job(&tc, "hello");
    let st = j.status.clone().unwrap_or_default();
    assert_eq!(st.active, Some(1));
    assert_eq!(st.start_time.map(|t| t.0.as_second()), Some(t0.as_second()));
    assert_eq!(
        events(&tc, "Job", "hello"),
        vec![(
            "Normal".into(),
            "SuccessfulCreate".into(),
            format!("Created pod: {pod_name}")
        )]
    );

    let took = advance_until(&tc, secs(120), || {
        job(&tc, "hello")
            .status
            .and_then(|s| s.completion_time)
            .is_some()
    });
    let j = job(&tc, "hello");
    let st = j.status.clone().unwrap_or_default();
    assert_eq!(st.succeeded, Some(1));
    assert_eq!(st.active, None);
    assert_eq!(st.failed, None);
    assert_eq!(st.ready, Some(0));
    assert_eq!(st.terminating, Some(0));
    assert_eq!(
        conditions(&j),
        vec![
            cond(
                "SuccessCriteriaMet",
                "CompletionsReached",
                "Reached expected number of succeeded pods"
            ),
            cond(
                "Complete",
                "CompletionsReached",
                "Reached expected number of succeeded pods"
            ),
        ]
    );
    assert!(took < secs(30), "a busybox echo finishes within seconds: {took:?}");
    let pods = pods_of(&tc, "hello");
    assert_eq!(pods.len(), 1, "a completed pod is kept, not replaced");
    assert_eq!(phase(&pods[0]), "Succeeded");
    assert!(
        pods[0].metadata.finalizers.clone().unwrap_or_default().is_empty(),
        "the finalizer is removed once the pod is counted"
    );
    assert_eq!(
        events(&tc, "Job", "hello"),
        vec![
            (
                "Normal".into(),
                "SuccessfulCreate".into(),
                format!("Created pod: {pod_name}")
            ),
            ("Normal".into(), "Completed".into(), "Job completed".into()),
        ]
    );
}

fn finished_at(p: &Pod) -> jiff::Timestamp {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.first())
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.terminated.as_ref())
        .and_then(|t| t.finished_at.as_ref())
        .map(|t| t.0)
        .expect("the container terminated")
}

fn created_at(p: &Pod) -> jiff::Timestamp {
    p.metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0)
        .expect("a creation timestamp")
}

fn gap(a: jiff::Timestamp, b: jiff::Timestamp) -> i64 {
    b.as_second() - a.as_second()
}

#[test]
fn a_failing_job_backs_off_10s_20s_40s_then_reaches_its_backoff_limit() {
    let tc = TestCluster::paused();
    create(&tc, "default", "batch", job_spec("fail2", "exit 1", json!({"backoffLimit": 2})));
    create(&tc, "default", "batch", job_spec("fail3", "exit 1", json!({"backoffLimit": 3})));
    let failed = |name: &str| {
        conditions(&job(&tc, name))
            .iter()
            .any(|c| c.0 == "Failed")
    };
    advance_until(&tc, secs(300), || failed("fail2") && failed("fail3"));

    for (name, limit, delays) in [("fail2", 2, vec![10, 20]), ("fail3", 3, vec![10, 20, 40])] {
        let pods = pods_of(&tc, name);
        assert_eq!(pods.len(), limit + 1, "{name}: backoffLimit {limit} allows {} pods", limit + 1);
        assert!(pods.iter().all(|p| phase(p) == "Failed"), "{name}: every pod failed");
        assert!(
            pods.iter()
                .all(|p| p.metadata.finalizers.clone().unwrap_or_default().is_empty()),
            "{name}: every failed pod was counted and released"
        );
        // Each replacement waits 10 s × 2^(n−1) after the previous pod finished.
        let got: Vec<i64> = pods
            .windows(2)
            .map(|w| gap(finished_at(&w[0]), created_at(&w[1])))
            .collect();
        assert_eq!(got, delays, "{name}: replacement delays");
        let j = job(&tc, name);
        let st = j.status.clone().unwrap_or_default();
        assert_eq!(st.failed, Some(limit as i32 + 1));
        assert_eq!(st.succeeded, None);
        assert_eq!(st.active, None);
        assert!(st.completion_time.is_none(), "a failed Job has no completion time");
        let msg = "Job has reached the specified backoff limit";
        assert_eq!(
            conditions(&j),
            vec![
                cond("FailureTarget", "BackoffLimitExceeded", msg),
                cond("Failed", "BackoffLimitExceeded", msg),
            ]
        );
        let evs = events(&tc, "Job", name);
        let creates: Vec<&(String, String, String)> =
            evs.iter().filter(|e| e.1 == "SuccessfulCreate").collect();
        assert_eq!(creates.len(), limit + 1);
        for (e, p) in creates.iter().zip(&pods) {
            assert_eq!(e.2, format!("Created pod: {}", p.metadata.name.clone().unwrap_or_default()));
        }
        assert_eq!(
            evs.last(),
            Some(&("Warning".into(), "BackoffLimitExceeded".into(), msg.into())),
            "{name}: the failure is the last event"
        );
        // The Failed condition lands right after the last pod's failure.
        let last = finished_at(&pods[limit]);
        let failed_at = j
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .find(|c| c.type_ == "Failed")
            .and_then(|c| c.last_transition_time.clone())
            .map(|t| t.0)
            .expect("Failed has a transition time");
        assert!(gap(last, failed_at) <= 1, "{name}: Failed {failed_at} after the last failure {last}");
    }
    // Nothing more happens to a failed Job.
    tc.cluster().advance(secs(600));
    assert_eq!(pods_of(&tc, "fail2").len(), 3);
}

#[test]
fn a_job_past_its_active_deadline_is_failed_and_its_pod_deleted() {
    let tc = TestCluster::paused();
    let t0 = now(&tc);
    create(
        &tc,
        "default",
        "batch",
        job_spec("slow", "sleep 3600", json!({"activeDeadlineSeconds": 30})),
    );
    let pod_name = pods_of(&tc, "slow")[0].metadata.name.clone().unwrap_or_default();
    tc.cluster().advance(secs(29));
    assert!(conditions(&job(&tc, "slow")).is_empty(), "still within the deadline");
    assert_eq!(phase(&pods_of(&tc, "slow")[0]), "Running");
    tc.cluster().advance(secs(1));
    let msg = "Job was active longer than specified deadline";
    let j = job(&tc, "slow");
    let c = conditions(&j);
    assert_eq!(c.first(), Some(&cond("FailureTarget", "DeadlineExceeded", msg)), "at exactly 30 s");
    let target_at = j.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|c| c[0].last_transition_time.clone());
    assert_eq!(target_at.map(|t| t.0.as_second()), Some(t0.as_second() + 30));
    let evs = events(&tc, "Job", "slow");
    assert!(
        evs.contains(&("Normal".into(), "SuccessfulDelete".into(), format!("Deleted pod: {pod_name}"))),
        "the active pod is deleted: {evs:?}"
    );
    advance_until(&tc, secs(60), || conditions(&job(&tc, "slow")).iter().any(|c| c.0 == "Failed"));
    let j = job(&tc, "slow");
    assert_eq!(
        conditions(&j),
        vec![
            cond("FailureTarget", "DeadlineExceeded", msg),
            cond("Failed", "DeadlineExceeded", msg),
        ]
    );
    let st = j.status.clone().unwrap_or_default();
    assert_eq!(st.failed, Some(1), "the deleted pod counts as failed");
    assert_eq!(st.active, None);
    assert_eq!(st.terminating, Some(0));
    assert!(pods_of(&tc, "slow").is_empty(), "the deleted pod is gone");
    assert_eq!(
        events(&tc, "Job", "slow").last(),
        Some(&("Warning".into(), "DeadlineExceeded".into(), msg.into()))
    );
}
