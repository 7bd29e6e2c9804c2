//! Jobs and CronJobs (batch/v1) on the embedded cluster: golden sequences on the paused
//! virtual clock (a Job completing, a failing Job's back-off up to BackoffLimitExceeded, a
//! deadline, a CronJob firing at the minute and keeping its history, Forbid) and real kubectl
//! of every installed version driving `create job|cronjob`, `get`, `describe`, `logs` and
//! `delete`, asserting what a learner reads.

use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Pod};
use kq_sim::ClusterConfig;
use kq_sim::store::WriteOptions;
use kq_tests::check::{Step, has, has_line, has_row, header, ok, retry_until};
use kq_tests::cluster::{Kubectl, Run, TestCluster, on_every_kubectl};
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
            p.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|r| r.kind == "Job" && r.name == job_name && r.controller == Some(true))
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
    create(
        &tc,
        "default",
        "batch",
        job_spec("hello", "echo hi", json!({})),
    );

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
    assert!(
        took < secs(30),
        "a busybox echo finishes within seconds: {took:?}"
    );
    let pods = pods_of(&tc, "hello");
    assert_eq!(pods.len(), 1, "a completed pod is kept, not replaced");
    assert_eq!(phase(&pods[0]), "Succeeded");
    assert_eq!(
        pods[0].metadata.finalizers, None,
        "the finalizer is removed once the pod is counted (no empty list left)"
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
    create(
        &tc,
        "default",
        "batch",
        job_spec("fail2", "exit 1", json!({"backoffLimit": 2})),
    );
    create(
        &tc,
        "default",
        "batch",
        job_spec("fail3", "exit 1", json!({"backoffLimit": 3})),
    );
    let failed = |name: &str| conditions(&job(&tc, name)).iter().any(|c| c.0 == "Failed");
    advance_until(&tc, secs(300), || failed("fail2") && failed("fail3"));

    for (name, limit, delays) in [("fail2", 2, vec![10, 20]), ("fail3", 3, vec![10, 20, 40])] {
        let pods = pods_of(&tc, name);
        assert_eq!(
            pods.len(),
            limit + 1,
            "{name}: backoffLimit {limit} allows {} pods",
            limit + 1
        );
        assert!(
            pods.iter().all(|p| phase(p) == "Failed"),
            "{name}: every pod failed"
        );
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
        assert!(
            st.completion_time.is_none(),
            "a failed Job has no completion time"
        );
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
            assert_eq!(
                e.2,
                format!(
                    "Created pod: {}",
                    p.metadata.name.clone().unwrap_or_default()
                )
            );
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
        assert!(
            gap(last, failed_at) <= 1,
            "{name}: Failed {failed_at} after the last failure {last}"
        );
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
    let pod_name = pods_of(&tc, "slow")[0]
        .metadata
        .name
        .clone()
        .unwrap_or_default();
    tc.cluster().advance(secs(29));
    assert!(
        conditions(&job(&tc, "slow")).is_empty(),
        "still within the deadline"
    );
    assert_eq!(phase(&pods_of(&tc, "slow")[0]), "Running");
    tc.cluster().advance(secs(1));
    let msg = "Job was active longer than specified deadline";
    let j = job(&tc, "slow");
    let c = conditions(&j);
    assert_eq!(
        c.first(),
        Some(&cond("FailureTarget", "DeadlineExceeded", msg)),
        "at exactly 30 s"
    );
    let target_at = j
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c[0].last_transition_time.clone());
    assert_eq!(
        target_at.map(|t| t.0.as_second()),
        Some(t0.as_second() + 30)
    );
    let evs = events(&tc, "Job", "slow");
    assert!(
        evs.contains(&(
            "Normal".into(),
            "SuccessfulDelete".into(),
            format!("Deleted pod: {pod_name}")
        )),
        "the active pod is deleted: {evs:?}"
    );
    advance_until(&tc, secs(60), || {
        conditions(&job(&tc, "slow"))
            .iter()
            .any(|c| c.0 == "Failed")
    });
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
    // The kubelet marks the pod Failed as it stops it (no longer terminating), then removes it.
    tc.cluster().advance(secs(1));
    assert!(pods_of(&tc, "slow").is_empty(), "the deleted pod is gone");
    assert_eq!(
        events(&tc, "Job", "slow").last(),
        Some(&("Warning".into(), "DeadlineExceeded".into(), msg.into()))
    );
}

#[test]
fn an_indexed_job_runs_each_index_once_with_its_own_name_and_hostname() {
    let tc = TestCluster::paused();
    create(
        &tc,
        "default",
        "batch",
        job_spec(
            "idx",
            "echo done",
            json!({"completions": 3, "parallelism": 2, "completionMode": "Indexed"}),
        ),
    );
    let pods = pods_of(&tc, "idx");
    assert_eq!(pods.len(), 2, "parallelism 2");
    for (i, p) in pods.iter().enumerate() {
        let name = p.metadata.name.clone().unwrap_or_default();
        assert!(name.starts_with(&format!("idx-{i}-")), "{name}");
        let key = "batch.kubernetes.io/job-completion-index";
        let ann = p.metadata.annotations.clone().unwrap_or_default();
        let labels = p.metadata.labels.clone().unwrap_or_default();
        assert_eq!(ann.get(key), Some(&i.to_string()));
        assert_eq!(labels.get(key), Some(&i.to_string()));
        let spec = p.spec.clone().unwrap_or_default();
        assert_eq!(spec.hostname, Some(format!("idx-{i}")));
        let env = spec.containers[0].env.clone().unwrap_or_default();
        assert!(env.iter().any(|e| e.name == "JOB_COMPLETION_INDEX"));
    }
    advance_until(&tc, secs(120), || {
        job(&tc, "idx")
            .status
            .and_then(|s| s.completion_time)
            .is_some()
    });
    let st = job(&tc, "idx").status.unwrap_or_default();
    assert_eq!(st.succeeded, Some(3));
    assert_eq!(st.completed_indexes.as_deref(), Some("0-2"));
    let pods = pods_of(&tc, "idx");
    assert_eq!(pods.len(), 3, "one pod per index");
    assert!(
        pods[2]
            .metadata
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with("idx-2-"))
    );
}

#[test]
fn a_suspended_job_starts_nothing_until_resumed() {
    let tc = TestCluster::paused();
    create(
        &tc,
        "default",
        "batch",
        job_spec("later", "echo hi", json!({"suspend": true})),
    );
    tc.cluster().advance(secs(5));
    assert!(
        pods_of(&tc, "later").is_empty(),
        "a suspended Job creates no pod"
    );
    let j = job(&tc, "later");
    assert!(
        j.status
            .as_ref()
            .and_then(|s| s.start_time.clone())
            .is_none()
    );
    assert_eq!(
        conditions(&j),
        vec![cond("Suspended", "JobSuspended", "Job suspended")]
    );
    assert_eq!(
        events(&tc, "Job", "later"),
        vec![("Normal".into(), "Suspended".into(), "Job suspended".into())]
    );
    let resumed_at = now(&tc);
    tc.cluster()
        .store()
        .update_with::<Job>("default", "later", |j| {
            if let Some(s) = j.spec.as_mut() {
                s.suspend = Some(false);
            }
        })
        .expect("resume");
    tc.cluster().settle();
    let j = job(&tc, "later");
    assert_eq!(
        conditions(&j),
        vec![(
            "Suspended".into(),
            "False".into(),
            "JobResumed".into(),
            "Job resumed".into()
        )]
    );
    assert_eq!(
        j.status.and_then(|s| s.start_time).map(|t| t.0.as_second()),
        Some(resumed_at.as_second())
    );
    assert_eq!(pods_of(&tc, "later").len(), 1);
    let evs = events(&tc, "Job", "later");
    // The sync that resumes creates the pod first, then records the condition's event.
    assert_eq!(evs[1].1, "SuccessfulCreate");
    assert_eq!(
        evs[2],
        ("Normal".into(), "Resumed".into(), "Job resumed".into())
    );
}

#[test]
fn on_failure_restarts_count_towards_the_backoff_limit() {
    let tc = TestCluster::paused();
    let mut spec = job_spec("crash", "exit 1", json!({"backoffLimit": 2}));
    spec["spec"]["template"]["spec"]["restartPolicy"] = json!("OnFailure");
    create(&tc, "default", "batch", spec);
    advance_until(&tc, secs(300), || {
        conditions(&job(&tc, "crash"))
            .iter()
            .any(|c| c.0 == "Failed")
    });
    let msg = "Job has reached the specified backoff limit";
    let j = job(&tc, "crash");
    assert_eq!(
        conditions(&j),
        vec![
            cond("FailureTarget", "BackoffLimitExceeded", msg),
            cond("Failed", "BackoffLimitExceeded", msg),
        ]
    );
    let st = j.status.unwrap_or_default();
    assert_eq!(st.failed, Some(1), "the one pod, deleted, counts as failed");
    assert_eq!(st.active, None);
    let evs = events(&tc, "Job", "crash");
    assert_eq!(
        evs.iter().filter(|e| e.1 == "SuccessfulCreate").count(),
        1,
        "{evs:?}"
    );
    assert!(evs.iter().any(|e| e.1 == "SuccessfulDelete"), "{evs:?}");
    assert_eq!(
        evs.last(),
        Some(&("Warning".into(), "BackoffLimitExceeded".into(), msg.into()))
    );
}

#[test]
fn a_finished_job_with_a_ttl_is_deleted_with_its_pods() {
    let tc = TestCluster::paused();
    create(
        &tc,
        "default",
        "batch",
        job_spec("brief", "echo hi", json!({"ttlSecondsAfterFinished": 30})),
    );
    advance_until(&tc, secs(120), || {
        job(&tc, "brief")
            .status
            .and_then(|s| s.completion_time)
            .is_some()
    });
    let done = job(&tc, "brief")
        .status
        .and_then(|s| s.completion_time)
        .map(|t| t.0)
        .expect("completed");
    let until_expiry = 30 - (now(&tc).as_second() - done.as_second());
    tc.cluster().advance(secs((until_expiry - 1) as u64));
    assert!(
        tc.cluster().store().get::<Job>("default", "brief").is_ok(),
        "kept until 30 s after it finished"
    );
    tc.cluster().advance(secs(2));
    assert!(
        tc.cluster().store().get::<Job>("default", "brief").is_err(),
        "deleted 30 s after it finished"
    );
    tc.cluster().advance(secs(5));
    assert!(pods_of(&tc, "brief").is_empty(), "its pods go with it");
}

#[test]
fn a_pod_failure_policy_fails_the_job_on_an_exit_code_or_ignores_it() {
    let tc = TestCluster::paused();
    let policy = json!({"rules": [
        {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [42]}},
        {"action": "FailJob", "onExitCodes": {"containerName": "fatal", "operator": "In", "values": [3]}},
    ]});
    create(
        &tc,
        "default",
        "batch",
        job_spec(
            "fatal",
            "exit 3",
            json!({"podFailurePolicy": policy, "backoffLimit": 6}),
        ),
    );
    create(
        &tc,
        "default",
        "batch",
        job_spec(
            "flaky",
            "exit 42",
            json!({"podFailurePolicy": policy, "backoffLimit": 0}),
        ),
    );
    advance_until(&tc, secs(120), || {
        conditions(&job(&tc, "fatal"))
            .iter()
            .any(|c| c.0 == "Failed")
    });
    let pod = pods_of(&tc, "fatal")[0]
        .metadata
        .name
        .clone()
        .unwrap_or_default();
    let msg = format!(
        "Container fatal for pod default/{pod} failed with exit code 3 matching FailJob rule at index 1"
    );
    let j = job(&tc, "fatal");
    assert_eq!(
        conditions(&j),
        vec![
            cond("FailureTarget", "PodFailurePolicy", &msg),
            cond("Failed", "PodFailurePolicy", &msg),
        ]
    );
    assert_eq!(
        j.status.and_then(|s| s.failed),
        Some(1),
        "the first failure ends it"
    );
    assert_eq!(pods_of(&tc, "fatal").len(), 1);
    assert_eq!(
        events(&tc, "Job", "fatal").last(),
        Some(&("Warning".into(), "PodFailurePolicy".into(), msg))
    );
    // Ignored failures do not count towards backoffLimit 0: the pod is replaced.
    tc.cluster().advance(secs(60));
    let j = job(&tc, "flaky");
    assert!(conditions(&j).is_empty(), "{:?}", conditions(&j));
    assert_eq!(j.status.and_then(|s| s.failed), None);
    assert!(
        pods_of(&tc, "flaky").len() >= 3,
        "ignored failures are replaced"
    );
}

#[test]
fn replace_deletes_the_running_job_for_the_next_one_in_the_cronjobs_time_zone() {
    let tc = TestCluster::paused();
    create(
        &tc,
        "default",
        "batch",
        cronjob_spec(
            "swap",
            "*/1 * * * *",
            "sleep 300",
            json!({"concurrencyPolicy": "Replace", "timeZone": "Asia/Kolkata"}),
        ),
    );
    tc.cluster().advance(to_next_minute(&tc) + secs(1));
    let m0 = now(&tc).as_second() / 60;
    let first = format!("swap-{m0}");
    let jobs = jobs_of(&tc, "swap");
    assert_eq!(jobs.len(), 1);
    // The scheduled time in the CronJob's zone (UTC+05:30).
    let ann = jobs[0].metadata.annotations.clone().unwrap_or_default();
    let local = jiff::Timestamp::from_second(m0 * 60)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Kolkata").unwrap())
        .strftime("%Y-%m-%dT%H:%M:%S+05:30")
        .to_string();
    assert_eq!(
        ann.get("batch.kubernetes.io/cronjob-scheduled-timestamp"),
        Some(&local)
    );
    tc.cluster().advance(secs(60));
    let second = format!("swap-{}", m0 + 1);
    let names: Vec<String> = jobs_of(&tc, "swap")
        .iter()
        .filter(|j| j.metadata.deletion_timestamp.is_none())
        .filter_map(|j| j.metadata.name.clone())
        .collect();
    assert_eq!(
        names,
        vec![second.clone()],
        "Replace: only the new Job remains"
    );
    let evs = events(&tc, "CronJob", "swap");
    let tail: Vec<(String, String)> = evs.iter().map(|e| (e.1.clone(), e.2.clone())).collect();
    assert_eq!(
        tail,
        vec![
            ("SuccessfulCreate".into(), format!("Created job {first}")),
            ("SuccessfulDelete".into(), format!("Deleted job {first}")),
            ("SuccessfulCreate".into(), format!("Created job {second}")),
        ]
    );
    let active: Vec<String> = cronjob(&tc, "swap")
        .status
        .and_then(|s| s.active)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| r.name)
        .collect();
    assert_eq!(active, vec![second]);
}

#[test]
fn pods_orphaned_by_a_job_deleted_with_cascade_orphan_lose_the_tracking_finalizer() {
    let tc = TestCluster::paused();
    create(
        &tc,
        "default",
        "batch",
        job_spec("keep", "sleep 300", json!({})),
    );
    tc.cluster().advance(secs(5));
    let pod = pods_of(&tc, "keep")[0]
        .metadata
        .name
        .clone()
        .unwrap_or_default();
    let opts = kq_sim::store::DeleteOptions {
        propagation_policy: Some("Orphan".into()),
        ..Default::default()
    };
    tc.cluster()
        .store()
        .delete(
            kq_sim::kinds::by_kind("batch", "Job").expect("jobs"),
            "default",
            "keep",
            &opts,
        )
        .expect("delete with Orphan");
    tc.cluster().advance(secs(2));
    assert!(
        tc.cluster().store().get::<Job>("default", "keep").is_err(),
        "the Job is gone"
    );
    let p: Pod = tc
        .cluster()
        .store()
        .get("default", &pod)
        .expect("the pod stays");
    assert_eq!(phase(&p), "Running");
    assert!(p.metadata.owner_references.unwrap_or_default().is_empty());
    assert!(
        p.metadata.finalizers.unwrap_or_default().is_empty(),
        "an orphan keeps no job-tracking finalizer, so it can be deleted later"
    );
    // A pod that carries the finalizer with no Job controlling it is released too.
    let bare = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray",
        "finalizers": ["batch.kubernetes.io/job-tracking"]},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "300"]}]}});
    create(&tc, "default", "", bare);
    let p: Pod = tc
        .cluster()
        .store()
        .get("default", "stray")
        .expect("the pod");
    assert!(p.metadata.finalizers.unwrap_or_default().is_empty());
}

#[test]
fn a_job_that_cannot_create_its_pod_reports_failed_create_and_retries() {
    let tc = TestCluster::paused();
    let mut spec = job_spec("nosa", "echo hi", json!({}));
    spec["spec"]["template"]["spec"]["serviceAccountName"] = json!("foo");
    create(&tc, "default", "batch", spec);
    assert!(pods_of(&tc, "nosa").is_empty());
    let evs = events(&tc, "Job", "nosa");
    let first = evs.first().expect("an event");
    assert_eq!(
        (first.0.as_str(), first.1.as_str()),
        ("Warning", "FailedCreate")
    );
    // Admission refuses before the server names the pod, so the message names the prefix
    // and every retry is the same event, counted.
    assert_eq!(
        first.2,
        "Error creating: pods \"nosa-\" is forbidden: error looking up service account default/foo: serviceaccount \"foo\" not found",
        "{first:?}"
    );
    tc.cluster().advance(secs(20));
    let attempts: i32 = tc
        .cluster()
        .store()
        .list::<Event>(Some("default"))
        .iter()
        .filter(|e| {
            e.involved_object.name.as_deref() == Some("nosa")
                && e.reason.as_deref() == Some("FailedCreate")
        })
        .map(|e| e.count.unwrap_or(1))
        .sum();
    assert!(
        (3..=8).contains(&attempts),
        "retries back off from 1 s: {attempts} attempts in 20 s"
    );
    create(
        &tc,
        "default",
        "",
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "foo"}}),
    );
    advance_until(&tc, secs(65), || !pods_of(&tc, "nosa").is_empty());
    let evs = events(&tc, "Job", "nosa");
    assert_eq!(evs.last().map(|e| e.1.as_str()), Some("SuccessfulCreate"));
}

fn cronjob_spec(name: &str, schedule: &str, script: &str, extra: Value) -> Value {
    let mut spec = json!({
        "schedule": schedule,
        "jobTemplate": {
            "metadata": {"labels": {"team": "batch"}, "annotations": {"note": "from-template"}},
            "spec": {"template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": name, "image": "busybox:1.36",
                    "command": ["sh", "-c", script]}]
            }}}
        }
    });
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name}, "spec": spec})
}

fn cronjob(tc: &TestCluster, name: &str) -> CronJob {
    tc.cluster()
        .store()
        .get::<CronJob>("default", name)
        .expect("the cronjob exists")
}

/// Jobs the CronJob controls, by name.
fn jobs_of(tc: &TestCluster, cj: &str) -> Vec<Job> {
    let mut jobs: Vec<Job> = tc
        .cluster()
        .store()
        .list::<Job>(Some("default"))
        .into_iter()
        .filter(|j| {
            j.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|r| r.kind == "CronJob" && r.name == cj && r.controller == Some(true))
        })
        .collect();
    jobs.sort_by_key(|j| j.metadata.name.clone());
    jobs
}

/// Seconds to the next whole minute of virtual time.
/// Virtual time to the next whole minute.
fn to_next_minute(tc: &TestCluster) -> Duration {
    let ms = now(tc).as_millisecond();
    let next = (ms.div_euclid(60_000) + 1) * 60_000;
    Duration::from_millis((next - ms) as u64)
}

#[test]
fn a_cronjob_fires_every_minute_on_the_virtual_clock_and_keeps_three_successful_jobs() {
    let tc = TestCluster::paused();
    create(
        &tc,
        "default",
        "batch",
        cronjob_spec("tick", "*/1 * * * *", "echo tick", json!({})),
    );
    assert!(
        jobs_of(&tc, "tick").is_empty(),
        "nothing before the first minute"
    );

    // Just before the minute: still nothing; at the minute (plus the controller's 100 ms) the Job.
    let wait = to_next_minute(&tc);
    tc.cluster()
        .advance(wait.saturating_sub(Duration::from_millis(500)));
    assert!(
        jobs_of(&tc, "tick").is_empty(),
        "not before the schedule time"
    );
    tc.cluster().advance(Duration::from_millis(600));
    let first_minute = (now(&tc).as_second() / 60) * 60;
    let jobs = jobs_of(&tc, "tick");
    assert_eq!(jobs.len(), 1, "the minute's Job");
    let j = &jobs[0];
    let first_name = format!("tick-{}", first_minute / 60);
    assert_eq!(j.metadata.name.as_deref(), Some(first_name.as_str()));
    let labels = j.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("batch"));
    let ann = j.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(ann.get("note").map(String::as_str), Some("from-template"));
    let scheduled = jiff::Timestamp::from_second(first_minute).unwrap();
    assert_eq!(
        ann.get("batch.kubernetes.io/cronjob-scheduled-timestamp")
            .cloned(),
        Some(scheduled.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
    );
    let cj = cronjob(&tc, "tick");
    let st = cj.status.clone().unwrap_or_default();
    assert_eq!(st.last_schedule_time.map(|t| t.0), Some(scheduled));
    let active: Vec<String> = st
        .active
        .iter()
        .flatten()
        .filter_map(|r| r.name.clone())
        .collect();
    assert_eq!(active, vec![first_name.clone()]);
    assert_eq!(
        events(&tc, "CronJob", "tick"),
        vec![(
            "Normal".into(),
            "SuccessfulCreate".into(),
            format!("Created job {first_name}")
        )]
    );

    // Five more minutes: a Job each minute, each completing; only the newest three are kept.
    tc.cluster().advance(secs(5 * 60 + 30));
    let names: Vec<String> = jobs_of(&tc, "tick")
        .iter()
        .filter_map(|j| j.metadata.name.clone())
        .collect();
    let want: Vec<String> = (3..6)
        .map(|i| format!("tick-{}", first_minute / 60 + i))
        .collect();
    assert_eq!(
        names, want,
        "successfulJobsHistoryLimit 3 keeps the newest three"
    );
    let cj = cronjob(&tc, "tick");
    let st = cj.status.clone().unwrap_or_default();
    assert!(
        st.active.unwrap_or_default().is_empty(),
        "no Job runs 30 s past the minute"
    );
    assert_eq!(
        st.last_schedule_time.map(|t| t.0.as_second()),
        Some(first_minute + 5 * 60)
    );
    let last_done = job(&tc, &want[2])
        .status
        .and_then(|s| s.completion_time)
        .map(|t| t.0);
    assert_eq!(st.last_successful_time.map(|t| t.0), last_done);
    let evs = events(&tc, "CronJob", "tick");
    let of = |reason: &str| -> Vec<String> {
        evs.iter()
            .filter(|e| e.1 == reason)
            .map(|e| e.2.clone())
            .collect()
    };
    let all: Vec<String> = (0..6)
        .map(|i| format!("tick-{}", first_minute / 60 + i))
        .collect();
    assert_eq!(
        of("SuccessfulCreate"),
        all.iter()
            .map(|n| format!("Created job {n}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        of("SawCompletedJob"),
        all.iter()
            .map(|n| format!("Saw completed job: {n}, status: Complete"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        of("SuccessfulDelete"),
        all[..3]
            .iter()
            .map(|n| format!("Deleted job {n}"))
            .collect::<Vec<_>>()
    );
    // Suspended: no further Jobs.
    tc.cluster()
        .store()
        .update_with::<CronJob>("default", "tick", |c| {
            if let Some(s) = c.spec.as_mut() {
                s.suspend = Some(true);
            }
        })
        .expect("suspend");
    tc.cluster().advance(secs(180));
    assert_eq!(
        jobs_of(&tc, "tick").len(),
        3,
        "a suspended CronJob starts nothing"
    );
}

#[test]
fn a_cronjob_keeps_one_failed_job_by_default() {
    let tc = TestCluster::paused();
    let mut spec = cronjob_spec("bad", "*/1 * * * *", "exit 1", json!({}));
    spec["spec"]["jobTemplate"]["spec"]["backoffLimit"] = json!(0);
    create(&tc, "default", "batch", spec);
    tc.cluster().advance(to_next_minute(&tc) + secs(30));
    let m0 = now(&tc).as_second() / 60;
    tc.cluster().advance(secs(2 * 60));
    let names: Vec<String> = jobs_of(&tc, "bad")
        .iter()
        .filter_map(|j| j.metadata.name.clone())
        .collect();
    assert_eq!(
        names,
        vec![format!("bad-{}", m0 + 2)],
        "failedJobsHistoryLimit 1"
    );
    let evs = events(&tc, "CronJob", "bad");
    let msgs: Vec<String> = evs
        .iter()
        .filter(|e| e.1 != "SuccessfulCreate")
        .map(|e| format!("{} {}", e.1, e.2))
        .collect();
    assert_eq!(
        msgs,
        vec![
            format!("SawCompletedJob Saw completed job: bad-{m0}, status: Failed"),
            format!(
                "SawCompletedJob Saw completed job: bad-{}, status: Failed",
                m0 + 1
            ),
            format!("SuccessfulDelete Deleted job bad-{m0}"),
            format!(
                "SawCompletedJob Saw completed job: bad-{}, status: Failed",
                m0 + 2
            ),
            format!("SuccessfulDelete Deleted job bad-{}", m0 + 1),
        ]
    );
    let st = cronjob(&tc, "bad").status.unwrap_or_default();
    assert!(st.last_successful_time.is_none());
}

#[test]
fn forbid_skips_a_schedule_while_the_previous_job_runs() {
    let tc = TestCluster::paused();
    // Without a starting deadline the skipped run starts late, as soon as the previous Job
    // finished; with one it is dropped and the next run waits for its own minute.
    create(
        &tc,
        "default",
        "batch",
        cronjob_spec(
            "lock",
            "*/1 * * * *",
            "sleep 90",
            json!({"concurrencyPolicy": "Forbid"}),
        ),
    );
    create(
        &tc,
        "default",
        "batch",
        cronjob_spec(
            "lockd",
            "*/1 * * * *",
            "sleep 90",
            json!({"concurrencyPolicy": "Forbid", "startingDeadlineSeconds": 10}),
        ),
    );
    tc.cluster().advance(to_next_minute(&tc) + secs(1));
    let m0 = now(&tc).as_second() / 60;
    assert_eq!(jobs_of(&tc, "lock").len(), 1);
    assert_eq!(jobs_of(&tc, "lockd").len(), 1);
    // The next minute: the first Jobs still sleep, so nothing starts.
    tc.cluster().advance(secs(60));
    for cj in ["lock", "lockd"] {
        assert_eq!(
            jobs_of(&tc, cj).len(),
            1,
            "{cj}: Forbid: no second Job while one runs"
        );
        let evs = events(&tc, "CronJob", cj);
        assert!(
            evs.contains(&(
                "Normal".into(),
                "JobAlreadyActive".into(),
                "Not starting job because prior execution is running and concurrency policy is Forbid"
                    .into()
            )),
            "{cj}: {evs:?}"
        );
    }
    tc.cluster().advance(secs(50));
    // lock: the skipped minute's Job, started once the first finished (about 90 s after m0).
    let jobs = jobs_of(&tc, "lock");
    let names: Vec<String> = jobs
        .iter()
        .filter_map(|j| j.metadata.name.clone())
        .collect();
    assert_eq!(
        names,
        vec![format!("lock-{m0}"), format!("lock-{}", m0 + 1)]
    );
    let first_done = jobs[0]
        .status
        .as_ref()
        .and_then(|s| s.completion_time.clone())
        .expect("the first Job completed")
        .0;
    let second_created = jobs[1]
        .metadata
        .creation_timestamp
        .clone()
        .expect("created")
        .0;
    assert!(
        second_created >= first_done && second_created.as_second() - m0 * 60 >= 90,
        "the late run starts after the first Job finished: {second_created} vs {first_done}"
    );
    // lockd: the skipped minute lies outside its 10 s starting deadline, so it is dropped
    // (the controller only looks back that far) and the next run waits for its own minute.
    assert_eq!(jobs_of(&tc, "lockd").len(), 1);
    tc.cluster().advance(secs(15));
    let names: Vec<String> = jobs_of(&tc, "lockd")
        .iter()
        .filter_map(|j| j.metadata.name.clone())
        .collect();
    assert_eq!(
        names,
        vec![format!("lockd-{m0}"), format!("lockd-{}", m0 + 2)]
    );
}

/// Retry a read until `check` passes (the cluster runs at 20× real time meanwhile).
fn eventually(k: &Kubectl, args: &[&str], check: impl Fn(&Run) -> Step) -> Step {
    let (limit, pause) = (Duration::from_secs(30), Duration::from_millis(200));
    retry_until(k, args, limit, pause, check)
}

fn failing_job(ns: &str) -> String {
    format!(
        "apiVersion: batch/v1
kind: Job
metadata:
  name: boom
  namespace: {ns}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: boom
        image: busybox:1.36
        command: [\"sh\", \"-c\", \"echo failing; exit 1\"]
"
    )
}

/// The Job and CronJob flow for one kubectl, in its own namespace `ns`.
fn kubectl_batch_flow(tc: &TestCluster, k: &Kubectl, ns: &str) -> Step {
    let n = ["-n", ns];
    let args =
        |rest: &[&str]| -> Vec<String> { n.iter().chain(rest).map(|s| s.to_string()).collect() };
    let run = |rest: &[&str]| {
        let a = args(rest);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        k.run(&a)
    };
    ok(&k.run(&["create", "namespace", ns]))?;

    // A Job that succeeds.
    let r = run(&[
        "create",
        "job",
        "hello",
        "--image=busybox",
        "--",
        "echo",
        "hi",
    ]);
    ok(&r)?;
    has(&r, "job.batch/hello created", "create job")?;
    let r = run(&[
        "wait",
        "--for=condition=Complete",
        "job/hello",
        "--timeout=60s",
    ]);
    ok(&r)?;
    has(&r, "job.batch/hello condition met", "wait for Complete")?;
    let r = run(&["get", "job", "hello"]);
    ok(&r)?;
    header(
        &r,
        &["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
        "get job",
    )?;
    has_row(&r, &["hello", "Complete", "1/1"], "get job")?;
    let r = run(&["get", "job", "hello", "-o", "wide"]);
    ok(&r)?;
    has_row(&r, &["hello", "Complete", "1/1"], "get job -o wide")?;
    has(&r, "busybox", "get job -o wide shows the image")?;
    let r = run(&["logs", "job/hello"]);
    ok(&r)?;
    if r.stdout.trim() != "hi" {
        return Err(format!("logs job/hello: expected \"hi\" in {r}"));
    }
    let r = run(&["describe", "job", "hello"]);
    ok(&r)?;
    has_line(
        &r,
        "Pods Statuses: 0 Active (0 Ready) / 1 Succeeded / 0 Failed",
        "describe job",
    )?;
    has_line(&r, "Completions: 1", "describe job")?;
    has_line(&r, "Normal SuccessfulCreate", "describe job events")?;
    has(&r, "Created pod: hello-", "describe job events")?;
    has_line(&r, "Normal Completed", "describe job events")?;
    has(&r, "Job completed", "describe job events")?;
    let r = run(&["get", "pods", "-l", "job-name=hello"]);
    ok(&r)?;
    has(&r, "Completed", "the Job's pod shows Completed")?;

    // A Job that fails: backoffLimit 1, two pods, BackoffLimitExceeded.
    let file = tc.dir().join(format!("{ns}-boom.yaml"));
    std::fs::write(&file, failing_job(ns)).map_err(|e| e.to_string())?;
    let file = file.to_string_lossy().to_string();
    let r = k.run(&["apply", "-f", &file]);
    ok(&r)?;
    has(&r, "job.batch/boom created", "apply a failing job")?;
    let r = run(&[
        "wait",
        "--for=condition=Failed",
        "job/boom",
        "--timeout=60s",
    ]);
    ok(&r)?;
    let r = run(&["get", "job", "boom"]);
    ok(&r)?;
    has_row(&r, &["boom", "Failed", "0/1"], "get failed job")?;
    let r = run(&["describe", "job", "boom"]);
    ok(&r)?;
    has_line(
        &r,
        "Pods Statuses: 0 Active (0 Ready) / 0 Succeeded / 2 Failed",
        "describe failed job",
    )?;
    has_line(
        &r,
        "Warning BackoffLimitExceeded",
        "describe failed job events",
    )?;
    has(
        &r,
        "Job has reached the specified backoff limit",
        "describe failed job events",
    )?;
    let r = run(&["logs", "job/boom"]);
    ok(&r)?;
    has(&r, "failing", "logs of a failed job's pod")?;

    // A CronJob, and a Job made from it by hand.
    let r = run(&[
        "create",
        "cronjob",
        "tick",
        "--image=busybox",
        "--schedule=*/1 * * * *",
        "--",
        "echo",
        "tick",
    ]);
    ok(&r)?;
    has(&r, "cronjob.batch/tick created", "create cronjob")?;
    let r = run(&["get", "cronjob", "tick"]);
    ok(&r)?;
    header(
        &r,
        &[
            "NAME",
            "SCHEDULE",
            "TIMEZONE",
            "SUSPEND",
            "ACTIVE",
            "LAST SCHEDULE",
            "AGE",
        ],
        "get cronjob",
    )?;
    has_row(
        &r,
        &["tick", "*/1", "*", "*", "*", "*", "<none>", "False"],
        "get cronjob",
    )?;
    let r = run(&["create", "job", "manual", "--from=cronjob/tick"]);
    ok(&r)?;
    has(&r, "job.batch/manual created", "create job --from=cronjob")?;
    let r = run(&[
        "get",
        "job",
        "manual",
        "-o",
        "jsonpath={.metadata.annotations.cronjob\\.kubernetes\\.io/instantiate} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}",
    ]);
    ok(&r)?;
    if r.stdout.trim() != "manual CronJob/tick" {
        return Err(format!("the manual Job's annotation and owner: {r}"));
    }
    let r = run(&[
        "wait",
        "--for=condition=Complete",
        "job/manual",
        "--timeout=60s",
    ]);
    ok(&r)?;
    // The schedule fires within a virtual minute (3 s of real time).
    eventually(
        k,
        &args(&["get", "cronjob", "tick"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        |r| {
            ok(r)?;
            let row: Vec<&str> = r
                .stdout
                .lines()
                .nth(1)
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            // tick */1 * * * * <none> False <active> <last schedule> <age>
            if row.get(9).is_none_or(|c| *c == "<none>") {
                Err(format!("no schedule yet: {r}"))
            } else {
                Ok(())
            }
        },
    )?;

    let r = run(&["describe", "cronjob", "tick"]);
    ok(&r)?;
    has_line(&r, "Schedule: */1 * * * *", "describe cronjob")?;
    has_line(&r, "Concurrency Policy: Allow", "describe cronjob")?;
    has(&r, "Last Schedule Time:", "describe cronjob")?;
    has_line(&r, "Normal SuccessfulCreate", "describe cronjob events")?;
    has(&r, "Created job tick-", "describe cronjob events")?;

    // Deleting a Job deletes its pods (kubectl asks for Background propagation).
    let r = run(&["delete", "job", "hello"]);
    ok(&r)?;
    has(&r, "job.batch \"hello\" deleted", "delete job")?;
    eventually(
        k,
        &args(&["get", "pods", "-l", "job-name=hello"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        |r| has(r, "No resources found", "the deleted Job's pods are gone"),
    )?;
    let r = run(&["delete", "cronjob", "tick"]);
    ok(&r)?;
    has(&r, "cronjob.batch \"tick\" deleted", "delete cronjob")?;
    Ok(())
}

#[test]
fn kubectl_drives_jobs_and_cronjobs_on_every_version() {
    let tc = TestCluster::start_with(ClusterConfig {
        speed: 20.0,
        ..ClusterConfig::default()
    });
    on_every_kubectl(&tc, "batch", |k, ns| kubectl_batch_flow(&tc, k, ns));
}
