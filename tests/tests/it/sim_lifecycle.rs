//! Golden sequences of the embedded node (SPEC §4): what a learner sees in pod status, events,
//! logs and real `kubectl` output at each step of virtual time, for a successful start and for
//! every failure reason the kubelet and scheduler report — and the fix path of each.
//!
//! The clock is paused (speed 0) and moved with `RunningCluster::advance`, so a five-minute
//! back-off sequence takes milliseconds and runs the same way on every machine.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod};
use kq_sim::store::WriteOptions;
use kq_tests::cluster::{TestCluster, kubectl_binaries};
use serde_json::{Value, json};

fn paused() -> TestCluster {
    TestCluster::paused()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn create(tc: &TestCluster, ns: &str, obj: Value) {
    tc.create(ns, obj);
}

fn pod_spec(name: &str, container: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [container]}})
}

fn get(tc: &TestCluster, name: &str) -> Pod {
    tc.cluster()
        .store()
        .get::<Pod>("default", name)
        .expect("the pod exists")
}

/// `(type, reason, message, count)` of the events about `name`, oldest first.
fn events(tc: &TestCluster, name: &str) -> Vec<(String, String, String, i32)> {
    let mut evs: Vec<Event> = tc
        .cluster()
        .store()
        .list::<Event>(Some("default"))
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(name))
        .collect();
    evs.sort_by_key(|e| {
        e.first_timestamp
            .as_ref()
            .map(|t| t.0)
            .or(e.event_time.as_ref().map(|t| t.0))
    });
    evs.into_iter()
        .map(|e| {
            let count = e
                .series
                .as_ref()
                .and_then(|s| s.count)
                .or(e.count)
                .unwrap_or(1);
            (
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.message.unwrap_or_default(),
                count,
            )
        })
        .collect()
}

fn count_of(evs: &[(String, String, String, i32)], reason: &str, message_part: &str) -> i32 {
    evs.iter()
        .filter(|e| e.1 == reason && e.2.contains(message_part))
        .map(|e| e.3)
        .sum()
}

fn reasons(evs: &[(String, String, String, i32)]) -> Vec<String> {
    evs.iter().map(|e| e.1.clone()).collect()
}

fn status(p: &Pod) -> &k8s_openapi::api::core::v1::PodStatus {
    p.status.as_ref().expect("the pod has a status")
}

fn container(p: &Pod) -> &k8s_openapi::api::core::v1::ContainerStatus {
    &status(p)
        .container_statuses
        .as_ref()
        .expect("container statuses are reported")[0]
}

fn waiting_reason(p: &Pod) -> Option<String> {
    container(p)
        .state
        .as_ref()?
        .waiting
        .as_ref()?
        .reason
        .clone()
}

fn condition(p: &Pod, ty: &str) -> (String, Option<String>, Option<String>) {
    let c = status(p)
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == ty)
        .unwrap_or_else(|| panic!("condition {ty} is reported"));
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

fn logs(tc: &TestCluster, name: &str, previous: bool) -> String {
    let p = get(tc, name);
    let uid = p.metadata.uid.unwrap_or_default();
    let c = &p.spec.unwrap_or_default().containers[0].name;
    tc.cluster()
        .store()
        .logs()
        .read(&uid, c, previous)
        .into_iter()
        .map(|l| l.text)
        .collect()
}

fn newest_kubectl(tc: &TestCluster) -> kq_tests::cluster::Kubectl {
    let (label, path) = kubectl_binaries()
        .into_iter()
        .last()
        .expect("a kubectl exists on this machine");
    tc.kubectl(&label, &path)
}

#[test]
fn successful_start_follows_the_real_sequence() {
    let tc = paused();
    create(
        &tc,
        "default",
        pod_spec("web", json!({"name": "web", "image": "nginx:1.25"})),
    );

    // The scheduler binds at once.
    let p = get(&tc, "web");
    assert_eq!(
        p.spec.as_ref().unwrap().node_name.as_deref(),
        Some("node-1")
    );
    let evs = events(&tc, "web");
    assert_eq!(evs[0].1, "Scheduled");
    assert_eq!(evs[0].2, "Successfully assigned default/web to node-1");

    // The kubelet's first status: ContainerCreating, conditions in the real order.
    tc.cluster().advance(Duration::from_millis(200));
    let p = get(&tc, "web");
    assert_eq!(waiting_reason(&p).as_deref(), Some("ContainerCreating"));
    let order: Vec<String> = status(&p)
        .conditions
        .iter()
        .flatten()
        .map(|c| c.type_.clone())
        .collect();
    assert_eq!(
        order,
        [
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled"
        ]
    );
    assert_eq!(condition(&p, "PodReadyToStartContainers").0, "False");
    assert_eq!(
        condition(&p, "Ready"),
        (
            "False".into(),
            Some("ContainersNotReady".into()),
            Some("containers with unready status: [web]".into())
        )
    );
    assert!(status(&p).host_ip.is_some() && status(&p).start_time.is_some());

    // Sandbox, then the pull (nginx is ~70 MB: a few seconds), Created, Started, Running.
    tc.cluster().advance(secs(2));
    let p = get(&tc, "web");
    assert_eq!(condition(&p, "PodReadyToStartContainers").0, "True");
    assert!(
        status(&p)
            .pod_ip
            .as_deref()
            .is_some_and(|ip| ip.starts_with("10.244.0."))
    );
    assert!(
        events(&tc, "web")
            .iter()
            .any(|e| e.1 == "Pulling" && e.2 == "Pulling image \"nginx:1.25\"")
    );

    tc.cluster().advance(secs(10));
    let p = get(&tc, "web");
    let evs = events(&tc, "web");
    assert_eq!(
        reasons(&evs),
        ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
    );
    let pulled = &evs[2].2;
    assert!(
        pulled.starts_with("Successfully pulled image \"nginx:1.25\" in ")
            && pulled.contains(" including waiting). Image size: ")
            && pulled.ends_with(" bytes."),
        "{pulled}"
    );
    assert_eq!(evs[3].2, "Created container: web");
    assert_eq!(evs[4].2, "Started container web");
    assert_eq!(status(&p).phase.as_deref(), Some("Running"));
    let c = container(&p);
    assert!(c.ready && c.started == Some(true));
    assert_eq!(c.image, "docker.io/library/nginx:1.25");
    assert!(c.image_id.starts_with("docker.io/library/nginx@sha256:"));
    let id = c.container_id.clone().unwrap_or_default();
    assert!(id.starts_with("containerd://") && id.len() == "containerd://".len() + 64);
    assert_eq!(condition(&p, "Ready").0, "True");
    assert!(logs(&tc, "web", false).contains("start worker processes"));

    // A second pod with the same image: already present on machine.
    create(
        &tc,
        "default",
        pod_spec("web2", json!({"name": "web", "image": "nginx:1.25"})),
    );
    tc.cluster().advance(secs(5));
    assert!(
        events(&tc, "web2").iter().any(|e| e.1 == "Pulled"
            && e.2 == "Container image \"nginx:1.25\" already present on machine")
    );
    assert_eq!(status(&get(&tc, "web2")).phase.as_deref(), Some("Running"));

    // What kubectl shows.
    let k = newest_kubectl(&tc);
    let r = k.run(&["get", "pod", "web"]);
    assert!(r.ok(), "{r}");
    let row: Vec<&str> = r
        .stdout
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(&row[..4], ["web", "1/1", "Running", "0"], "{r}");
}

#[test]
fn image_pull_backoff_on_a_missing_tag_and_the_fix() {
    let tc = paused();
    let image = "nginx:nonexistent-tag-xyz-123";
    create(
        &tc,
        "default",
        pod_spec("web", json!({"name": "web", "image": image})),
    );
    tc.cluster().advance(secs(4));
    let p = get(&tc, "web");
    let cri = "rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/nginx:nonexistent-tag-xyz-123\": failed to resolve reference \"docker.io/library/nginx:nonexistent-tag-xyz-123\": docker.io/library/nginx:nonexistent-tag-xyz-123: not found";
    assert_eq!(waiting_reason(&p).as_deref(), Some("ErrImagePull"));
    let evs = events(&tc, "web");
    assert_eq!(
        reasons(&evs),
        ["Scheduled", "Pulling", "Failed", "Failed"],
        "{evs:#?}"
    );
    assert_eq!(evs[2].2, format!("Failed to pull image \"{image}\": {cri}"));
    assert_eq!(evs[3].2, "Error: ErrImagePull");
    assert_eq!(status(&p).phase.as_deref(), Some("Pending"));
    assert_eq!(condition(&p, "PodReadyToStartContainers").0, "True");

    // The next sync (10–15 s on) is past the first 10 s window and pulls again; the one after
    // is inside the doubled window: ImagePullBackOff, alternating with ErrImagePull from then.
    let mut seen = Vec::new();
    let mut backoff_msg = None;
    for _ in 0..36 {
        tc.cluster().advance(secs(1));
        let p = get(&tc, "web");
        let reason = waiting_reason(&p).unwrap_or_default();
        if reason == "ImagePullBackOff" && backoff_msg.is_none() {
            backoff_msg = container(&p)
                .state
                .as_ref()
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.message.clone());
        }
        if seen.last() != Some(&reason) {
            seen.push(reason);
        }
    }
    assert_eq!(
        seen.first().map(String::as_str),
        Some("ErrImagePull"),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|r| r == "ImagePullBackOff"),
        "by 40 s: {seen:?}"
    );
    assert_eq!(
        backoff_msg.as_deref(),
        Some(format!("Back-off pulling image \"{image}\": ErrImagePull: {cri}").as_str())
    );
    let evs = events(&tc, "web");
    assert!(count_of(&evs, "BackOff", "Back-off pulling image") >= 1);
    assert!(count_of(&evs, "Failed", "Error: ImagePullBackOff") >= 1);

    // Three minutes on: pulls at about 0, 10–15, 30–45, 70–90, 150–180 s; the BackOff count
    // grows faster than the Pulling count; events are aggregated, not repeated.
    tc.cluster().advance(secs(150));
    let evs = events(&tc, "web");
    let pulling = count_of(&evs, "Pulling", "");
    let backoff = count_of(&evs, "BackOff", "");
    assert!(
        (4..=5).contains(&pulling),
        "pull attempts by 190 s: {pulling}; {evs:#?}"
    );
    assert!(
        backoff > pulling,
        "BackOff x{backoff} vs Pulling x{pulling}"
    );
    assert_eq!(
        evs.iter().filter(|e| e.1 == "Pulling").count(),
        1,
        "aggregated: {evs:#?}"
    );
    let p = get(&tc, "web");
    assert_eq!(container(&p).restart_count, 0);

    // kubectl shows it as a learner would read it.
    let k = newest_kubectl(&tc);
    let r = k.run(&["get", "pod", "web"]);
    let row = r.stdout.lines().nth(1).unwrap_or_default().to_string();
    assert!(
        row.contains("0/1") && (row.contains("ImagePullBackOff") || row.contains("ErrImagePull")),
        "{r}"
    );
    let r = k.run(&["describe", "pod", "web"]);
    assert!(
        r.stdout
            .contains("Back-off pulling image \"nginx:nonexistent-tag-xyz-123\""),
        "{r}"
    );
    assert!(r.stdout.contains(&format!("(x{pulling} over")), "{r}");
    // The kubelet's refusal names the current state: backing off, or a pull that just failed.
    let why = match waiting_reason(&get(&tc, "web")).as_deref() {
        Some("ImagePullBackOff") => "trying and failing to pull image",
        _ => "image can't be pulled",
    };
    let r = k.run(&["logs", "web"]);
    assert!(
        r.stderr.contains(&format!(
            "container \"web\" in pod \"web\" is waiting to start: {why}"
        )),
        "{r}"
    );

    // The fix: a corrected image is pulled on the sync the update triggers, backoff or not.
    tc.cluster()
        .store()
        .update_with::<Pod>("default", "web", |p| {
            p.spec.as_mut().unwrap().containers[0].image = Some("nginx:1.27".into());
        })
        .expect("the image can be changed");
    tc.cluster().settle();
    tc.cluster().advance(Duration::from_millis(500));
    assert!(
        events(&tc, "web")
            .iter()
            .any(|e| e.1 == "Pulling" && e.2 == "Pulling image \"nginx:1.27\"")
    );
    tc.cluster().advance(secs(8));
    let p = get(&tc, "web");
    assert_eq!(status(&p).phase.as_deref(), Some("Running"));
    assert!(container(&p).ready);
    assert_eq!(condition(&p, "Ready").0, "True");
}

#[test]
fn crash_loop_backoff_from_a_failing_command() {
    let tc = paused();
    create(
        &tc,
        "default",
        pod_spec(
            "crash",
            json!({"name": "app", "image": "busybox:1.36", "command": ["sh", "-c", "echo boom; exit 1"]}),
        ),
    );
    tc.cluster().advance(secs(3));
    let p = get(&tc, "crash");
    let uid = p.metadata.uid.clone().unwrap_or_default();
    // First exit: restarted at once (no back-off entry yet).
    assert_eq!(status(&p).phase.as_deref(), Some("Running"));
    let c = container(&p);
    assert!(c.restart_count >= 1, "{c:#?}");
    let last = c
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .expect("lastState.terminated");
    assert_eq!((last.exit_code, last.reason.as_deref()), (1, Some("Error")));

    // Restart gaps double: by five minutes about six restarts, never more than seven.
    tc.cluster().advance(secs(300));
    let p = get(&tc, "crash");
    let c = container(&p);
    assert!(
        (5..=7).contains(&c.restart_count),
        "restarts after 5 min: {}",
        c.restart_count
    );
    assert_eq!(status(&p).phase.as_deref(), Some("Running"));
    assert_eq!(waiting_reason(&p).as_deref(), Some("CrashLoopBackOff"));
    let msg = c
        .state
        .as_ref()
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.message.clone())
        .unwrap_or_default();
    assert!(
        msg.starts_with("back-off ")
            && msg.ends_with(&format!(
                " restarting failed container=app pod=crash_default({uid})"
            )),
        "{msg}"
    );
    assert!(
        ["back-off 1m20s", "back-off 2m40s", "back-off 5m0s"]
            .iter()
            .any(|s| msg.starts_with(s)),
        "{msg}"
    );
    assert_eq!(
        condition(&p, "Ready").1.as_deref(),
        Some("ContainersNotReady")
    );
    let evs = events(&tc, "crash");
    assert!(evs.iter().any(|e| e.1 == "BackOff"
        && e.2 == format!("Back-off restarting failed container app in pod crash_default({uid})")));
    assert!(
        evs.iter().any(|e| e.1 == "Pulled"
            && e.2 == "Container image \"busybox:1.36\" already present on machine")
    );
    // Logs per attempt.
    assert_eq!(logs(&tc, "crash", true), "boom\n");

    let k = newest_kubectl(&tc);
    let r = k.run(&["logs", "crash", "-p"]);
    assert_eq!(r.stdout, "boom\n", "{r}");
    let r = k.run(&["get", "pod", "crash"]);
    let row = r.stdout.lines().nth(1).unwrap_or_default().to_string();
    assert!(
        row.contains("0/1") && row.contains("CrashLoopBackOff") && row.contains("ago)"),
        "{r}"
    );
    let r = k.run(&["describe", "pod", "crash"]);
    assert!(r.stdout.contains("Last State:     Terminated"), "{r}");
    assert!(r.stdout.contains("Exit Code:    1"), "{r}");

    // The fix: pods are immutable here, so delete and apply the corrected command.
    tc.cluster()
        .store()
        .delete(
            &kq_sim::kinds::pod::KIND,
            "default",
            "crash",
            &Default::default(),
        )
        .expect("delete is accepted");
    tc.cluster().advance(secs(40));
    assert!(
        tc.cluster().store().get::<Pod>("default", "crash").is_err(),
        "the pod is gone"
    );
    create(
        &tc,
        "default",
        pod_spec(
            "crash",
            json!({"name": "app", "image": "busybox:1.36", "command": ["sh", "-c", "echo ready; sleep 3600"]}),
        ),
    );
    tc.cluster().advance(secs(60));
    let p = get(&tc, "crash");
    assert_eq!(status(&p).phase.as_deref(), Some("Running"));
    assert_eq!(container(&p).restart_count, 0);
    assert!(container(&p).ready);
    assert_eq!(logs(&tc, "crash", false), "ready\n");
}

#[test]
fn pending_for_insufficient_cpu_and_the_fix() {
    let tc = paused();
    create(
        &tc,
        "default",
        pod_spec(
            "report-worker",
            json!({"name": "worker", "image": "busybox:1.36", "command": ["sleep", "3600"],
                "resources": {"requests": {"cpu": "6"}}}),
        ),
    );
    let p = get(&tc, "report-worker");
    let text = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..";
    assert_eq!(status(&p).phase.as_deref(), Some("Pending"));
    assert!(p.spec.as_ref().unwrap().node_name.is_none());
    assert!(status(&p).start_time.is_none() && status(&p).container_statuses.is_none());
    assert_eq!(
        condition(&p, "PodScheduled"),
        (
            "False".into(),
            Some("Unschedulable".into()),
            Some(text.into())
        )
    );
    let evs = events(&tc, "report-worker");
    assert_eq!(evs.len(), 1);
    assert_eq!(
        (evs[0].0.as_str(), evs[0].1.as_str(), evs[0].2.as_str()),
        ("Warning", "FailedScheduling", text)
    );
    let ev = tc
        .cluster()
        .store()
        .list::<Event>(Some("default"))
        .into_iter()
        .find(|e| e.reason.as_deref() == Some("FailedScheduling"))
        .unwrap();
    assert_eq!(ev.reporting_component.as_deref(), Some("default-scheduler"));
    assert_eq!(ev.action.as_deref(), Some("Scheduling"));
    assert!(ev.event_time.is_some() && ev.first_timestamp.is_none());

    // Retried every five minutes: the first repeat becomes a series of 2.
    tc.cluster().advance(secs(301));
    let evs = events(&tc, "report-worker");
    assert_eq!(evs.len(), 1, "{evs:#?}");
    assert_eq!(evs[0].3, 2);

    let k = newest_kubectl(&tc);
    let r = k.run(&["describe", "pod", "report-worker"]);
    assert!(r.stdout.contains("FailedScheduling"), "{r}");
    assert!(r.stdout.contains("Insufficient cpu"), "{r}");
    let r = k.run(&["get", "pod", "report-worker", "-o", "wide"]);
    assert!(
        r.stdout.contains("Pending") && r.stdout.contains("<none>"),
        "{r}"
    );

    // The fix: delete and re-create with a request the node can hold.
    tc.cluster()
        .store()
        .delete(
            &kq_sim::kinds::pod::KIND,
            "default",
            "report-worker",
            &Default::default(),
        )
        .expect("delete is accepted");
    create(
        &tc,
        "default",
        pod_spec(
            "report-worker",
            json!({"name": "worker", "image": "busybox:1.36", "command": ["sleep", "3600"],
                "resources": {"requests": {"cpu": "250m"}}}),
        ),
    );
    tc.cluster().advance(secs(10));
    let p = get(&tc, "report-worker");
    assert_eq!(status(&p).phase.as_deref(), Some("Running"));
    assert!(container(&p).ready);
}

/// A pod that gets stuck with `reason` (waiting) after `after` of virtual time.
fn stuck(container: Value, after: u64) -> (TestCluster, Pod) {
    let tc = paused();
    create(&tc, "default", pod_spec("p", container));
    tc.cluster().advance(secs(after));
    let p = get(&tc, "p");
    (tc, p)
}

#[test]
fn invalid_image_name() {
    let (tc, p) = stuck(json!({"name": "c", "image": "Nginx:1.25"}), 5);
    assert_eq!(waiting_reason(&p).as_deref(), Some("InvalidImageName"));
    let evs = events(&tc, "p");
    assert!(evs.iter().any(|e| e.1 == "InspectFailed" && e.2 == "Failed to apply default image tag \"Nginx:1.25\": couldn't parse image name \"Nginx:1.25\": invalid reference format: repository name (library/Nginx) must be lowercase"), "{evs:#?}");
    assert!(
        evs.iter()
            .any(|e| e.1 == "Failed" && e.2 == "Error: InvalidImageName")
    );
}

#[test]
fn err_image_never_pull() {
    let (tc, p) = stuck(
        json!({"name": "c", "image": "redis:7.2", "imagePullPolicy": "Never"}),
        5,
    );
    assert_eq!(waiting_reason(&p).as_deref(), Some("ErrImageNeverPull"));
    let evs = events(&tc, "p");
    assert!(evs.iter().any(|e| e.1 == "ErrImageNeverPull"
        && e.2 == "Container image \"redis:7.2\" is not present with pull policy of Never"));
}

#[test]
fn unknown_repository_and_private_image() {
    let (tc, p) = stuck(json!({"name": "c", "image": "nosuchimage-kq:1.0"}), 5);
    assert_eq!(waiting_reason(&p).as_deref(), Some("ErrImagePull"));
    let evs = events(&tc, "p");
    assert!(
        evs.iter().any(|e| e.2.contains(
            "pull access denied, repository does not exist or may require authorization"
        )),
        "{evs:#?}"
    );

    // A private image: no login, a wrong login, the right one through an imagePullSecret.
    let tc = paused();
    let private = "registry.kubequest.local/academy/secret-app:1.0";
    for (name, user, pass) in [
        ("wrong", "learner", "guess"),
        ("right", "learner", "kubequest"),
    ] {
        let auth = base64_encode(&format!("{user}:{pass}"));
        let config = format!(r#"{{"auths":{{"registry.kubequest.local":{{"auth":"{auth}"}}}}}}"#);
        create(
            &tc,
            "default",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": base64_encode(&config)}}),
        );
    }
    for (pod, secret) in [
        ("none", None),
        ("wrong", Some("wrong")),
        ("right", Some("right")),
    ] {
        let mut spec = pod_spec(pod, json!({"name": "c", "image": private}));
        if let Some(s) = secret {
            spec["spec"]["imagePullSecrets"] = json!([{"name": s}]);
        }
        create(&tc, "default", spec);
    }
    tc.cluster().advance(secs(8));
    assert!(
        events(&tc, "none").iter().any(
            |e| e.2.contains("pull access denied") && e.2.contains("no basic auth credentials")
        ),
        "{:#?}",
        events(&tc, "none")
    );
    assert!(
        events(&tc, "wrong")
            .iter()
            .any(|e| e.2.contains("401 Unauthorized")),
        "{:#?}",
        events(&tc, "wrong")
    );
    assert_eq!(
        waiting_reason(&get(&tc, "wrong")).as_deref(),
        Some("ErrImagePull")
    );
    assert_eq!(status(&get(&tc, "right")).phase.as_deref(), Some("Running"));
}

fn base64_encode(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn start_error_for_a_missing_binary() {
    let (tc, p) = stuck(
        json!({"name": "c", "image": "alpine:3.20", "command": ["bash", "-c", "echo hi"]}),
        3,
    );
    let c = container(&p);
    let term = c
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .or(c.state.as_ref().and_then(|s| s.terminated.as_ref()))
        .expect("the failed start is a terminated container");
    assert_eq!(
        (term.exit_code, term.reason.as_deref()),
        (128, Some("StartError"))
    );
    assert!(events(&tc, "p").iter().any(|e| {
        e.1 == "Failed"
            && e.2
                .contains("exec: \"bash\": executable file not found in $PATH")
    }));
    // Later starts fail the same way; between them the kubelet backs off.
    let mut seen = Vec::new();
    for _ in 0..90 {
        tc.cluster().advance(secs(1));
        if let Some(r) = waiting_reason(&get(&tc, "p"))
            && seen.last() != Some(&r)
        {
            seen.push(r);
        }
    }
    assert!(seen.contains(&"RunContainerError".to_string()), "{seen:?}");
    assert!(seen.contains(&"CrashLoopBackOff".to_string()), "{seen:?}");
    assert!(container(&get(&tc, "p")).restart_count >= 2);
}

#[test]
fn create_container_config_error_then_fixed_by_creating_the_configmap() {
    let (tc, p) = stuck(
        json!({"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", "echo $GREETING; sleep 3600"],
            "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "greeting", "key": "text"}}}]}),
        5,
    );
    assert_eq!(
        waiting_reason(&p).as_deref(),
        Some("CreateContainerConfigError")
    );
    assert!(
        events(&tc, "p")
            .iter()
            .any(|e| e.1 == "Failed" && e.2 == "Error: configmap \"greeting\" not found")
    );
    create(
        &tc,
        "default",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "greeting"}, "data": {"text": "hello"}}),
    );
    tc.cluster().advance(secs(20));
    let p = get(&tc, "p");
    assert_eq!(status(&p).phase.as_deref(), Some("Running"));
    assert_eq!(logs(&tc, "p", false), "hello\n");
}

#[test]
fn missing_configmap_volume_is_a_failed_mount() {
    let tc = paused();
    create(
        &tc,
        "default",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", "cat /etc/app/app.conf; sleep 3600"],
            "volumeMounts": [{"name": "cfg", "mountPath": "/etc/app"}]}],
        "volumes": [{"name": "cfg", "configMap": {"name": "app-config"}}]}}),
    );
    tc.cluster().advance(secs(30));
    let p = get(&tc, "p");
    assert_eq!(waiting_reason(&p).as_deref(), Some("ContainerCreating"));
    assert!(events(&tc, "p").iter().any(|e| e.1 == "FailedMount"
        && e.2
            == "MountVolume.SetUp failed for volume \"cfg\" : configmap \"app-config\" not found"));
    create(
        &tc,
        "default",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"}, "data": {"app.conf": "mode=fast\n"}}),
    );
    tc.cluster().advance(secs(20));
    assert_eq!(status(&get(&tc, "p")).phase.as_deref(), Some("Running"));
    assert_eq!(logs(&tc, "p", false), "mode=fast\n");
}

#[test]
fn oom_killed_under_a_low_limit() {
    let (tc, p) = stuck(
        json!({"name": "c", "image": "polinux/stress", "command": ["stress"], "args": ["--vm", "1", "--vm-bytes", "250M", "--vm-hang", "1"],
            "resources": {"limits": {"memory": "100Mi"}}}),
        8,
    );
    let _ = tc;
    let c = container(&p);
    let term = c
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .or(c.state.as_ref().and_then(|s| s.terminated.as_ref()))
        .expect("an OOM-killed container");
    assert_eq!(
        (term.exit_code, term.reason.as_deref()),
        (137, Some("OOMKilled"))
    );
}

#[test]
fn restart_policies_never_and_on_failure() {
    let tc = paused();
    create(
        &tc,
        "default",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "once"}, "spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", "echo bye; exit 2"]}]}}),
    );
    create(
        &tc,
        "default",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "job"}, "spec": {
        "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", "echo done"]}]}}),
    );
    tc.cluster().advance(secs(30));
    let once = get(&tc, "once");
    assert_eq!(status(&once).phase.as_deref(), Some("Failed"));
    let t = container(&once)
        .state
        .as_ref()
        .and_then(|s| s.terminated.clone())
        .expect("terminated");
    assert_eq!((t.exit_code, t.reason.as_deref()), (2, Some("Error")));
    assert_eq!(container(&once).restart_count, 0);
    let job = get(&tc, "job");
    assert_eq!(status(&job).phase.as_deref(), Some("Succeeded"));
    assert_eq!(condition(&job, "Ready").1.as_deref(), Some("PodCompleted"));
    let k = newest_kubectl(&tc);
    let r = k.run(&["get", "pods"]);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("once") && l.contains("Error")),
        "{r}"
    );
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("job") && l.contains("Completed")),
        "{r}"
    );
}

#[test]
fn database_without_its_required_env_exits_with_the_real_log() {
    let (tc, p) = stuck(json!({"name": "db", "image": "mysql:8.0"}), 60);
    let c = container(&p);
    assert!(c.restart_count >= 1);
    let text = logs(&tc, "p", true) + &logs(&tc, "p", false);
    assert!(
        text.contains("Database is uninitialized and password option is not specified"),
        "{text}"
    );
}

#[test]
fn probes_are_judged_against_what_the_container_serves() {
    let tc = paused();
    create(
        &tc,
        "default",
        pod_spec(
            "live",
            json!({"name": "web", "image": "nginx:1.27",
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 5, "failureThreshold": 3}}),
        ),
    );
    create(
        &tc,
        "default",
        pod_spec(
            "ready",
            json!({"name": "web", "image": "nginx:1.27",
        "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 5}}),
        ),
    );
    create(
        &tc,
        "default",
        pod_spec(
            "fine",
            json!({"name": "web", "image": "nginx:1.27",
        "readinessProbe": {"httpGet": {"path": "/", "port": 80}}}),
        ),
    );
    tc.cluster().advance(secs(40));
    let evs = events(&tc, "live");
    assert!(
        evs.iter().any(|e| e.1 == "Unhealthy"
            && e.2 == "Liveness probe failed: HTTP probe failed with statuscode: 404"),
        "{evs:#?}"
    );
    assert!(evs.iter().any(
        |e| e.1 == "Killing" && e.2 == "Container web failed liveness probe, will be restarted"
    ));
    tc.cluster().advance(secs(30));
    assert!(container(&get(&tc, "live")).restart_count >= 1);
    let ready = get(&tc, "ready");
    assert!(!container(&ready).ready);
    assert_eq!(status(&ready).phase.as_deref(), Some("Running"));
    assert!(events(&tc, "ready").iter().any(|e| {
        e.1 == "Unhealthy"
            && e.2
                .starts_with("Readiness probe failed: dial tcp 10.244.0.")
            && e.2.ends_with(":8080: connect: connection refused")
    }));
    assert!(container(&get(&tc, "fine")).ready);
}

#[test]
fn graceful_deletion_kills_and_waits_like_a_node() {
    let tc = paused();
    create(
        &tc,
        "default",
        pod_spec("web", json!({"name": "web", "image": "nginx:1.27"})),
    );
    create(
        &tc,
        "default",
        pod_spec(
            "sleeper",
            json!({"name": "s", "image": "busybox:1.36", "command": ["sleep", "3600"]}),
        ),
    );
    tc.cluster().advance(secs(10));
    for name in ["web", "sleeper"] {
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
    tc.cluster().advance(secs(2));
    // nginx stops on SIGTERM; a shell as PID 1 ignores it and is killed after 30 s.
    assert!(tc.cluster().store().get::<Pod>("default", "web").is_err());
    assert!(
        tc.cluster()
            .store()
            .get::<Pod>("default", "sleeper")
            .is_ok()
    );
    assert!(
        events(&tc, "sleeper")
            .iter()
            .any(|e| e.1 == "Killing" && e.2 == "Stopping container s")
    );
    tc.cluster().advance(secs(30));
    assert!(
        tc.cluster()
            .store()
            .get::<Pod>("default", "sleeper")
            .is_err()
    );
}

#[test]
fn init_containers_run_first() {
    let tc = paused();
    create(
        &tc,
        "default",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "initContainers": [{"name": "setup", "image": "busybox:1.36", "command": ["sh", "-c", "echo init; sleep 5"]}],
        "containers": [{"name": "app", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}}),
    );
    tc.cluster().advance(secs(3));
    let p = get(&tc, "p");
    assert_eq!(status(&p).phase.as_deref(), Some("Pending"));
    assert_eq!(
        condition(&p, "Initialized").2.as_deref(),
        Some("containers with incomplete status: [setup]")
    );
    assert_eq!(waiting_reason(&p).as_deref(), Some("PodInitializing"));
    tc.cluster().advance(secs(10));
    let p = get(&tc, "p");
    assert_eq!(status(&p).phase.as_deref(), Some("Running"));
    assert_eq!(condition(&p, "Initialized").0, "True");
    let init = &status(&p).init_container_statuses.as_ref().unwrap()[0];
    assert_eq!(
        init.state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .map(|t| t.reason.clone()),
        Some(Some("Completed".into()))
    );
}

#[test]
fn a_node_declared_by_a_mission_is_registered_and_its_taint_respected() {
    let tc = paused();
    // A mission's manifest declares a second, tainted node with its capacity.
    tc.cluster()
        .store()
        .create(
            &kq_sim::kinds::node::KIND,
            "",
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-1",
                "labels": {"accelerator": "gpu"},
                "annotations": {"kubequest.dev/cpu": "8", "kubequest.dev/memory": "16Gi"}},
                "spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}}),
            &WriteOptions::default(),
        )
        .expect("the node is accepted");
    tc.cluster().settle();
    let node: k8s_openapi::api::core::v1::Node = tc.cluster().store().get("", "gpu-1").unwrap();
    let alloc = node.status.and_then(|s| s.allocatable).unwrap_or_default();
    assert_eq!(alloc.get("cpu").map(|q| q.0.as_str()), Some("8"));

    // Too big for node-1, not tolerating gpu-1's taint: both reasons, sorted.
    let worker = |name: &str, tolerate: bool| {
        let mut p = pod_spec(
            name,
            json!({"name": "w", "image": "busybox:1.36", "command": ["sleep", "3600"],
            "resources": {"requests": {"cpu": "4"}}}),
        );
        if tolerate {
            p["spec"]["tolerations"] = json!([{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]);
        }
        p
    };
    create(&tc, "default", worker("plain", false));
    let p = get(&tc, "plain");
    assert_eq!(
        condition(&p, "PodScheduled").2.as_deref(),
        Some(
            "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.."
        )
    );
    // With the toleration it lands on gpu-1, whose own kubelet runs it.
    create(&tc, "default", worker("tolerant", true));
    tc.cluster().advance(secs(10));
    let p = get(&tc, "tolerant");
    assert_eq!(p.spec.as_ref().unwrap().node_name.as_deref(), Some("gpu-1"));
    assert_eq!(status(&p).phase.as_deref(), Some("Running"));
    assert!(
        status(&p)
            .pod_ip
            .as_deref()
            .is_some_and(|ip| ip.starts_with("10.244."))
    );
}

#[test]
fn an_image_fixed_during_a_pull_is_pulled_right_after_it() {
    let tc = paused();
    create(
        &tc,
        "default",
        pod_spec("web", json!({"name": "web", "image": "nginx:no-such-tag"})),
    );
    // Step until the first pull is under way.
    for _ in 0..50 {
        tc.cluster().advance(Duration::from_millis(100));
        if count_of(&events(&tc, "web"), "Pulling", "") > 0 {
            break;
        }
    }
    assert_eq!(count_of(&events(&tc, "web"), "Pulling", ""), 1);
    tc.cluster()
        .store()
        .update_with::<Pod>("default", "web", |p| {
            p.spec.as_mut().unwrap().containers[0].image = Some("nginx:1.27".into());
        })
        .expect("the image can be changed");
    tc.cluster().settle();
    // The failing pull finishes, then the new image is pulled at once (not after the 10–15 s
    // requeue of a failed sync).
    tc.cluster().advance(secs(6));
    let p = get(&tc, "web");
    assert_eq!(
        status(&p).phase.as_deref(),
        Some("Running"),
        "{:#?}",
        events(&tc, "web")
    );
}

#[test]
fn a_toleration_added_to_a_pending_pod_schedules_it_after_its_back_off() {
    let tc = paused();
    tc.cluster()
        .store()
        .create(
            &kq_sim::kinds::node::KIND,
            "",
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-1",
                "annotations": {"kubequest.dev/cpu": "8", "kubequest.dev/memory": "16Gi"}},
                "spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}}),
            &WriteOptions::default(),
        )
        .expect("the node is accepted");
    tc.cluster().settle();
    // Too big for node-1, and gpu-1's taint is not tolerated.
    create(
        &tc,
        "default",
        pod_spec(
            "trainer",
            json!({"name": "t", "image": "busybox:1.36", "command": ["sleep", "3600"],
                "resources": {"requests": {"cpu": "4"}}}),
        ),
    );
    tc.cluster().advance(secs(30));
    assert_eq!(count_of(&events(&tc, "trainer"), "FailedScheduling", ""), 1);
    // A label is not something a rejecting plug-in waits for: no new attempt.
    tc.cluster()
        .store()
        .update_with::<Pod>("default", "trainer", |p| {
            p.metadata
                .labels
                .get_or_insert_with(Default::default)
                .insert("team".into(), "ml".into());
        })
        .expect("labels can change");
    tc.cluster().advance(secs(30));
    assert_eq!(count_of(&events(&tc, "trainer"), "FailedScheduling", ""), 1);
    assert!(get(&tc, "trainer").spec.unwrap().node_name.is_none());
    // An added toleration is: the pod is tried again at once (its 1 s back-off is over)
    // and lands on gpu-1, long before the five-minute retry.
    tc.cluster()
        .store()
        .update_with::<Pod>("default", "trainer", |p| {
            p.spec
                .as_mut()
                .unwrap()
                .tolerations
                .get_or_insert_with(Vec::new)
                .push(
                    serde_json::from_value(
                        json!({"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}),
                    )
                    .unwrap(),
                );
        })
        .expect("tolerations can be added");
    tc.cluster().advance(Duration::from_millis(200));
    let p = get(&tc, "trainer");
    assert_eq!(p.spec.as_ref().unwrap().node_name.as_deref(), Some("gpu-1"));
    assert_eq!(
        count_of(
            &events(&tc, "trainer"),
            "Scheduled",
            "Successfully assigned default/trainer to gpu-1"
        ),
        1
    );
}
