//! The pod pipeline against realistic kubelet/scheduler fixtures (kube-api spec §4): one
//! snapshot per failure flow, the STATUS column as kubectl prints it, evidence, and retry times.

use crate::engine_fixtures::*;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, Pod};
use kq_engine::pipeline::{PodPipeline, StageKind, StageState, build_pipeline};
use serde_json::json;

const NS: &str = "kq-demo";

fn build(p: &Pod, events: &[Event], now: Timestamp) -> PodPipeline {
    build_pipeline(p, events, now)
}

fn assert_snapshot(p: &PodPipeline, want: &str) {
    let got = p.render_text();
    assert_eq!(
        got.trim_end(),
        want.trim(),
        "pipeline snapshot differs; got:\n{got}"
    );
}

// ---------------------------------------------------------------------------------------------
// §4.1 successful start

fn web_events(uid: &str) -> Vec<Event> {
    vec![
        scheduled_event(NS, "web", uid),
        kubelet(
            NS,
            "web",
            uid,
            "web",
            "Normal",
            "Pulling",
            "Pulling image \"nginx:1.25\"",
            1,
            1,
            1,
        ),
    ]
}

#[test]
fn a_fresh_pod_waits_for_the_scheduler() {
    let p = pod(pod_json(
        NS,
        "web",
        "u-web",
        json!([container("web", "nginx:1.25")]),
    ));
    let pl = build(&p, &[], at(0));
    assert_snapshot(
        &pl,
        "
kq-demo/web Pending  READY 0/1  RESTARTS 0
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        active  WaitingForScheduler
  pulled           pending
  created          pending
  running          pending
  ready            pending",
    );
}

#[test]
fn a_successful_start_goes_through_every_stage() {
    let uid = "u-web";
    // Scheduled, kubelet says ContainerCreating, pull under way.
    let mut v = scheduled(pod_json(
        NS,
        "web",
        uid,
        json!([container("web", "nginx:1.25")]),
    ));
    v["status"]["containerStatuses"] =
        json!([waiting("web", "nginx:1.25", "ContainerCreating", None)]);
    let events = web_events(uid);
    let pl = build(&pod(v.clone()), &events, at(2));
    assert_snapshot(
        &pl,
        "
kq-demo/web ContainerCreating  READY 0/1  RESTARTS 0
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1] <Normal Scheduled x1>
  pulled           active  Pulling [status.containerStatuses[0].state.waiting.reason = ContainerCreating] <Normal Pulling x1>
  created          pending
  running          pending
  ready            pending",
    );

    // Pulled, created, started, Ready.
    let mut events = events;
    events.push(kubelet(NS, "web", uid, "web", "Normal", "Pulled",
        "Successfully pulled image \"nginx:1.25\" in 3.512s (3.512s including waiting). Image size: 72099501 bytes.", 1, 5, 5));
    events.push(kubelet(
        NS,
        "web",
        uid,
        "web",
        "Normal",
        "Created",
        "Created container web",
        1,
        5,
        5,
    ));
    events.push(kubelet(
        NS,
        "web",
        uid,
        "web",
        "Normal",
        "Started",
        "Started container web",
        1,
        5,
        5,
    ));
    v["status"]["phase"] = json!("Running");
    v["status"]["conditions"] = conditions(true, true, true, 6);
    v["status"]["containerStatuses"] = json!([running("web", "nginx:1.25", 5, true, 0)]);
    let pl = build(&pod(v), &events, at(10));
    assert_snapshot(
        &pl,
        "
kq-demo/web Running  READY 1/1  RESTARTS 0
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1] <Normal Scheduled x1>
  pulled           done    [status.containerStatuses[0].imageID = docker.io/library/nginx@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa] <Normal Pulled x1>
  created          done    <Normal Created x1>
  running          done    [status.containerStatuses[0].state.running.startedAt = 2025-03-01T10:00:05Z] <Normal Started x1>
  ready            done    [status.conditions[2].status = True]",
    );
    assert!(
        pl.diagnosis.is_none() && pl.next_retry.is_none(),
        "a healthy pod has nothing to explain"
    );
    let ev = pl
        .stage("pulled")
        .and_then(|s| s.evidence.event.as_ref())
        .expect("Pulled event");
    assert_eq!(ev.age, "5s", "event age is printed like kubectl describe");
}

// ---------------------------------------------------------------------------------------------
// §4.2 ImagePullBackOff

const BAD: &str = "nginx:nonexistent";
const CRI_NOT_FOUND: &str = "rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/nginx:nonexistent\": failed to resolve reference \"docker.io/library/nginx:nonexistent\": docker.io/library/nginx:nonexistent: not found";

fn pull_failure_pod(uid: &str, reason: &str, message: &str) -> serde_json::Value {
    let mut v = scheduled(pod_json(NS, "web", uid, json!([container("web", BAD)])));
    v["status"]["containerStatuses"] = json!([waiting("web", BAD, reason, Some(message))]);
    v
}

fn pull_failure_events(
    uid: &str,
    attempts: i32,
    first_fail: i64,
    last_fail: i64,
    backoffs: Option<(i32, i64, i64)>,
) -> Vec<Event> {
    let mut e = vec![
        scheduled_event(NS, "web", uid),
        kubelet(
            NS,
            "web",
            uid,
            "web",
            "Normal",
            "Pulling",
            &format!("Pulling image \"{BAD}\""),
            attempts,
            first_fail,
            last_fail,
        ),
        kubelet(
            NS,
            "web",
            uid,
            "web",
            "Warning",
            "Failed",
            &format!("Failed to pull image \"{BAD}\": {CRI_NOT_FOUND}"),
            attempts,
            first_fail,
            last_fail,
        ),
        kubelet(
            NS,
            "web",
            uid,
            "web",
            "Warning",
            "Failed",
            "Error: ErrImagePull",
            attempts,
            first_fail,
            last_fail,
        ),
    ];
    if let Some((n, first, last)) = backoffs {
        e.push(kubelet(
            NS,
            "web",
            uid,
            "web",
            "Normal",
            "BackOff",
            &format!("Back-off pulling image \"{BAD}\""),
            n,
            first,
            last,
        ));
        e.push(kubelet(
            NS,
            "web",
            uid,
            "web",
            "Warning",
            "Failed",
            "Error: ImagePullBackOff",
            n,
            first,
            last,
        ));
    }
    e
}

#[test]
fn the_first_pull_failure_shows_err_image_pull_and_a_ten_second_window() {
    let v = pull_failure_pod("u-ipb", "ErrImagePull", CRI_NOT_FOUND);
    let pl = build(&pod(v), &pull_failure_events("u-ipb", 1, 1, 1, None), at(3));
    assert_snapshot(
        &pl,
        "
kq-demo/web ErrImagePull  READY 0/1  RESTARTS 0
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1] <Normal Scheduled x1>
  pulled           stuck   ErrImagePull [status.containerStatuses[0].state.waiting.reason = ErrImagePull] [spec.containers[0].image = nginx:nonexistent] <Warning Failed x1>
  created          pending
  running          pending
  ready            pending
  diagnosis: ErrImagePull at pull -> kubectl describe pod web -n kq-demo
  next retry: pull web at 2025-03-01T10:00:11Z (back-off 10s)",
    );
    let retry = pl.next_retry.as_ref().expect("a pull back-off is running");
    assert_eq!(
        (retry.at, retry.backoff_seconds),
        (at(11), 10),
        "first failure at t=1 + 10s"
    );
}

#[test]
fn image_pull_backoff_after_four_attempts_waits_eighty_seconds() {
    let msg = format!("Back-off pulling image \"{BAD}\": ErrImagePull: {CRI_NOT_FOUND}");
    let v = pull_failure_pod("u-ipb", "ImagePullBackOff", &msg);
    let events = pull_failure_events("u-ipb", 4, 1, 90, Some((6, 12, 95)));
    let pl = build(&pod(v), &events, at(100));
    assert_snapshot(
        &pl,
        "
kq-demo/web ImagePullBackOff  READY 0/1  RESTARTS 0
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1] <Normal Scheduled x1>
  pulled           stuck   ImagePullBackOff [status.containerStatuses[0].state.waiting.reason = ImagePullBackOff] [spec.containers[0].image = nginx:nonexistent] <Normal BackOff x6>
  created          pending
  running          pending
  ready            pending
  diagnosis: ImagePullBackOff at pull -> kubectl describe pod web -n kq-demo
  next retry: pull web at 2025-03-01T10:02:50Z (back-off 80s)",
    );
    let retry = pl.next_retry.as_ref().expect("a pull back-off is running");
    assert_eq!(
        retry.backoff_seconds, 80,
        "10 → 20 → 40 → 80 after four failed pulls"
    );
    assert_eq!(
        retry.at,
        at(170),
        "measured from the last failed pull, not the last BackOff"
    );
    let d = pl.diagnosis.as_ref().expect("stuck pods are explained");
    assert_eq!(d.commands[0], "kubectl describe pod web -n kq-demo");
}

#[test]
fn the_status_alternates_between_err_image_pull_and_image_pull_backoff_at_the_same_stage() {
    for (reason, msg) in [
        ("ErrImagePull", CRI_NOT_FOUND),
        (
            "ImagePullBackOff",
            "Back-off pulling image \"nginx:nonexistent\"",
        ),
    ] {
        let pl = build(
            &pod(pull_failure_pod("u-ipb", reason, msg)),
            &pull_failure_events("u-ipb", 3, 1, 45, Some((4, 12, 50))),
            at(55),
        );
        assert_eq!(pl.status, reason, "STATUS follows the waiting reason");
        let stuck = pl.stuck_stage().expect("a pull failure blocks a stage");
        assert_eq!(
            (stuck.kind, stuck.state),
            (StageKind::ImagePulled, StageState::Stuck)
        );
        assert_eq!(pl.phase, "Pending");
    }
}

#[test]
fn invalid_image_name_never_tries_to_pull() {
    let image = "NGINX:1.25";
    let msg = "Failed to apply default image tag \"NGINX:1.25\": couldn't parse image name \"NGINX:1.25\": invalid reference format: repository name must be lowercase";
    let mut v = scheduled(pod_json(
        NS,
        "bad",
        "u-inv",
        json!([container("bad", image)]),
    ));
    v["status"]["containerStatuses"] =
        json!([waiting("bad", image, "InvalidImageName", Some(msg))]);
    let events = vec![
        scheduled_event(NS, "bad", "u-inv"),
        kubelet(
            NS,
            "bad",
            "u-inv",
            "bad",
            "Warning",
            "InspectFailed",
            msg,
            3,
            1,
            30,
        ),
        kubelet(
            NS,
            "bad",
            "u-inv",
            "bad",
            "Warning",
            "Failed",
            "Error: InvalidImageName",
            3,
            1,
            30,
        ),
    ];
    let pl = build(&pod(v), &events, at(31));
    assert_snapshot(
        &pl,
        "
kq-demo/bad InvalidImageName  READY 0/1  RESTARTS 0
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1] <Normal Scheduled x1>
  pulled           stuck   InvalidImageName [status.containerStatuses[0].state.waiting.reason = InvalidImageName] [spec.containers[0].image = NGINX:1.25] <Warning InspectFailed x3>
  created          pending
  running          pending
  ready            pending
  diagnosis: InvalidImageName at pull -> kubectl describe pod bad -n kq-demo",
    );
    assert!(
        pl.next_retry.is_none(),
        "there is no pull back-off for an unparsable reference"
    );
}

#[test]
fn err_image_never_pull_points_at_the_pull_policy() {
    let image = "kq/app:dev";
    let msg = "Container image \"kq/app:dev\" is not present with pull policy of Never";
    let mut c = container("app", image);
    c["imagePullPolicy"] = json!("Never");
    let mut v = scheduled(pod_json(NS, "local", "u-never", json!([c])));
    v["status"]["containerStatuses"] =
        json!([waiting("app", image, "ErrImageNeverPull", Some(msg))]);
    let events = vec![
        kubelet(
            NS,
            "local",
            "u-never",
            "app",
            "Warning",
            "ErrImageNeverPull",
            msg,
            4,
            1,
            40,
        ),
        kubelet(
            NS,
            "local",
            "u-never",
            "app",
            "Warning",
            "Failed",
            "Error: ErrImageNeverPull",
            4,
            1,
            40,
        ),
    ];
    let pl = build(&pod(v), &events, at(41));
    assert_snapshot(
        &pl,
        "
kq-demo/local ErrImageNeverPull  READY 0/1  RESTARTS 0
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1]
  pulled           stuck   ErrImageNeverPull [status.containerStatuses[0].state.waiting.reason = ErrImageNeverPull] [spec.containers[0].image = kq/app:dev] <Warning ErrImageNeverPull x4>
  created          pending
  running          pending
  ready            pending
  diagnosis: ErrImageNeverPull at pull -> kubectl describe pod local -n kq-demo",
    );
    let d = pl.diagnosis.expect("explained");
    assert!(
        d.commands[1].contains("imagePullPolicy"),
        "{:?}",
        d.commands
    );
}

// ---------------------------------------------------------------------------------------------
// §4.3 CrashLoopBackOff

const CRASH_UID: &str = "u-crash";

fn greeter_json() -> serde_json::Value {
    let mut c = container("greeter", "busybox:1.36");
    c["command"] = json!([
        "sh",
        "-c",
        "echo 'greeter starting'; cat /etc/greeter/message.txt; exit 1"
    ]);
    let mut v = scheduled(pod_json(
        "kq-crash-loop-backoff",
        "greeter",
        CRASH_UID,
        json!([c]),
    ));
    v["status"]["phase"] = json!("Running");
    v
}

fn greeter_events(starts: i32, last_start: i64, backoffs: i32, last_backoff: i64) -> Vec<Event> {
    let ns = "kq-crash-loop-backoff";
    let mut e = vec![
        scheduled_event(ns, "greeter", CRASH_UID),
        kubelet(
            ns,
            "greeter",
            CRASH_UID,
            "greeter",
            "Normal",
            "Pulling",
            "Pulling image \"busybox:1.36\"",
            1,
            1,
            1,
        ),
        kubelet(
            ns,
            "greeter",
            CRASH_UID,
            "greeter",
            "Normal",
            "Pulled",
            "Successfully pulled image \"busybox:1.36\" in 1.2s (1.2s including waiting). Image size: 2166802 bytes.",
            1,
            2,
            2,
        ),
        kubelet(
            ns,
            "greeter",
            CRASH_UID,
            "greeter",
            "Normal",
            "Created",
            "Created container greeter",
            starts,
            2,
            last_start,
        ),
        kubelet(
            ns,
            "greeter",
            CRASH_UID,
            "greeter",
            "Normal",
            "Started",
            "Started container greeter",
            starts,
            2,
            last_start,
        ),
    ];
    if starts > 1 {
        e.push(kubelet(
            ns,
            "greeter",
            CRASH_UID,
            "greeter",
            "Normal",
            "Pulled",
            "Container image \"busybox:1.36\" already present on machine",
            starts - 1,
            3,
            last_start,
        ));
    }
    if backoffs > 0 {
        e.push(kubelet(ns, "greeter", CRASH_UID, "greeter", "Warning", "BackOff",
            &format!("Back-off restarting failed container greeter in pod greeter_kq-crash-loop-backoff({CRASH_UID})"), backoffs, 4, last_backoff));
    }
    e
}

#[test]
fn the_first_exit_shows_error_while_the_phase_stays_running() {
    let mut v = greeter_json();
    let mut cs = running("greeter", "busybox:1.36", 2, false, 0);
    cs["state"] = terminated_state("Error", 1, 2, 2);
    cs["started"] = json!(false);
    v["status"]["containerStatuses"] = json!([cs]);
    let pl = build(&pod(v), &greeter_events(1, 2, 0, 0), at(3));
    assert_eq!(
        pl.phase, "Running",
        "restartPolicy Always keeps the phase Running"
    );
    assert_snapshot(
        &pl,
        "
kq-crash-loop-backoff/greeter Error  READY 0/1  RESTARTS 0
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1] <Normal Scheduled x1>
  pulled           done    [status.containerStatuses[0].imageID = docker.io/library/busybox@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa] <Normal Pulled x1>
  created          done    <Normal Created x1>
  running          stuck   Error [status.containerStatuses[0].state.terminated.reason = Error] [status.containerStatuses[0].state.terminated.exitCode = 1]
  ready            pending
  diagnosis: Error at run -> kubectl logs greeter -n kq-crash-loop-backoff",
    );
}

#[test]
fn crash_loop_back_off_with_phase_running_is_stuck_at_run_with_its_retry_time() {
    let mut v = greeter_json();
    let mut cs = running("greeter", "busybox:1.36", 25, false, 2);
    cs["started"] = json!(false);
    cs["state"] = json!({"waiting": {"reason": "CrashLoopBackOff",
        "message": format!("back-off 20s restarting failed container=greeter pod=greeter_kq-crash-loop-backoff({CRASH_UID})")}});
    cs["lastState"] = terminated_state("Error", 1, 25, 25);
    v["status"]["containerStatuses"] = json!([cs]);
    let pl = build(&pod(v), &greeter_events(3, 25, 3, 40), at(35));
    assert_eq!(pl.phase, "Running");
    assert_snapshot(
        &pl,
        "
kq-crash-loop-backoff/greeter CrashLoopBackOff  READY 0/1  RESTARTS 2 (10s ago)
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1] <Normal Scheduled x1>
  pulled           done    [status.containerStatuses[0].imageID = docker.io/library/busybox@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa] <Normal Pulled x2>
  created          done    <Normal Created x3>
  running          stuck   CrashLoopBackOff [status.containerStatuses[0].state.waiting.reason = CrashLoopBackOff] [status.containerStatuses[0].lastState.terminated.reason = Error] [status.containerStatuses[0].lastState.terminated.exitCode = 1] <Warning BackOff x3>
  ready            pending
  diagnosis: CrashLoopBackOff at run -> kubectl logs greeter -n kq-crash-loop-backoff --previous
  next retry: restart greeter at 2025-03-01T10:00:45Z (back-off 20s)",
    );
    let retry = pl
        .next_retry
        .as_ref()
        .expect("a restart back-off is running");
    assert_eq!(
        (retry.at, retry.backoff_seconds),
        (at(45), 20),
        "finishedAt 25 + back-off 20s"
    );
    let d = pl.diagnosis.as_ref().expect("explained");
    assert_eq!(
        d.commands[0],
        "kubectl logs greeter -n kq-crash-loop-backoff --previous"
    );
    assert!(
        d.explanation.contains("Error (exit code 1)"),
        "{}",
        d.explanation
    );
}

#[test]
fn oom_killed_then_crash_looping_names_the_memory_limit() {
    let mut c = container("hog", "polinux/stress:1.0.4");
    c["resources"] = json!({"limits": {"memory": "64Mi"}, "requests": {"memory": "64Mi"}});
    let mut v = scheduled(pod_json(NS, "hog", "u-oom", json!([c])));
    v["status"]["phase"] = json!("Running");
    // Right after the kill: the terminated state is current.
    let mut cs = running("hog", "polinux/stress:1.0.4", 3, false, 0);
    cs["started"] = json!(false);
    cs["state"] = terminated_state("OOMKilled", 137, 3, 4);
    v["status"]["containerStatuses"] = json!([cs.clone()]);
    let pl = build(&pod(v.clone()), &[], at(5));
    assert_eq!(pl.status, "OOMKilled");
    assert_snapshot(
        &pl,
        "
kq-demo/hog OOMKilled  READY 0/1  RESTARTS 0
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1]
  pulled           done    [status.containerStatuses[0].imageID = docker.io/library/polinux/stress@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]
  created          done
  running          stuck   OOMKilled [status.containerStatuses[0].state.terminated.reason = OOMKilled] [status.containerStatuses[0].state.terminated.exitCode = 137]
  ready            pending
  diagnosis: OOMKilled at run -> kubectl describe pod hog -n kq-demo",
    );
    // Later: CrashLoopBackOff with the OOM kill as the last state.
    cs["state"] = json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container=hog pod=hog_kq-demo(u-oom)"}});
    cs["lastState"] = terminated_state("OOMKilled", 137, 50, 51);
    cs["restartCount"] = json!(3);
    v["status"]["containerStatuses"] = json!([cs]);
    let pl = build(&pod(v), &[], at(60));
    assert_eq!(
        (pl.status.as_str(), pl.restarts_text.as_str()),
        ("CrashLoopBackOff", "3 (9s ago)")
    );
    let d = pl.diagnosis.as_ref().expect("explained");
    assert!(d.explanation.contains("OOMKilled"), "{}", d.explanation);
    assert_eq!(pl.next_retry.as_ref().map(|r| r.at), Some(at(91)));
}

#[test]
fn start_error_is_stuck_at_run_with_the_runtime_message() {
    let msg = "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"nonexistent-binary\": executable file not found in $PATH: unknown";
    let mut c = container("app", "busybox:1.36");
    c["command"] = json!(["nonexistent-binary"]);
    let mut v = scheduled(pod_json(NS, "app", "u-start", json!([c])));
    v["status"]["phase"] = json!("Running");
    let mut cs = running("app", "busybox:1.36", 12, false, 1);
    cs["started"] = json!(false);
    cs["state"] = json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container=app pod=app_kq-demo(u-start)"}});
    cs["lastState"] = terminated_state("StartError", 128, 12, 12);
    cs["lastState"]["terminated"]["message"] = json!(msg);
    v["status"]["containerStatuses"] = json!([cs]);
    let events = vec![
        kubelet(
            NS,
            "app",
            "u-start",
            "app",
            "Warning",
            "Failed",
            &format!("Error: {msg}"),
            2,
            2,
            12,
        ),
        kubelet(
            NS,
            "app",
            "u-start",
            "app",
            "Warning",
            "BackOff",
            "Back-off restarting failed container app in pod app_kq-demo(u-start)",
            2,
            3,
            14,
        ),
    ];
    let pl = build(&pod(v), &events, at(15));
    assert_snapshot(
        &pl,
        "
kq-demo/app CrashLoopBackOff  READY 0/1  RESTARTS 1 (3s ago)
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1]
  pulled           done    [status.containerStatuses[0].imageID = docker.io/library/busybox@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]
  created          done
  running          stuck   CrashLoopBackOff [status.containerStatuses[0].state.waiting.reason = CrashLoopBackOff] [status.containerStatuses[0].lastState.terminated.reason = StartError] [status.containerStatuses[0].lastState.terminated.exitCode = 128] <Warning BackOff x2>
  ready            pending
  diagnosis: CrashLoopBackOff at run -> kubectl logs app -n kq-demo --previous
  next retry: restart app at 2025-03-01T10:00:22Z (back-off 10s)",
    );
    let d = pl.diagnosis.as_ref().expect("explained");
    assert!(
        d.explanation.contains("StartError") && d.explanation.contains("nonexistent-binary"),
        "{}",
        d.explanation
    );
}

#[test]
fn restart_policy_never_fails_for_good() {
    let mut v = greeter_json();
    v["spec"]["restartPolicy"] = json!("Never");
    v["status"]["phase"] = json!("Failed");
    let mut cs = running("greeter", "busybox:1.36", 2, false, 0);
    cs["started"] = json!(false);
    cs["state"] = terminated_state("Error", 1, 2, 2);
    v["status"]["containerStatuses"] = json!([cs]);
    let pl = build(&pod(v), &[], at(5));
    assert_eq!(pl.status, "Error");
    let s = pl.stage("running").expect("running stage");
    assert_eq!(s.state, StageState::Failed, "no restart is coming");
}

// ---------------------------------------------------------------------------------------------
// §4.4 Pending / Unschedulable

#[test]
fn unschedulable_is_stuck_at_schedule_with_the_fit_error_parsed() {
    let ns = "kq-pending-insufficient-cpu";
    let msg = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..";
    let mut c = container("worker", "busybox:1.36");
    c["resources"] = json!({"requests": {"cpu": "6", "memory": "128Mi"}});
    let mut v = pod_json(ns, "report-worker", "u-pend", json!([c]));
    v["status"]["qosClass"] = json!("Burstable");
    v["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": msg, "lastProbeTime": null, "lastTransitionTime": ts(0)}]);
    let events = vec![scheduler(
        ns,
        "report-worker",
        "u-pend",
        "Warning",
        "FailedScheduling",
        msg,
        0,
        Some((3, 600)),
    )];
    let pl = build(&pod(v), &events, at(700));
    assert_snapshot(
        &pl,
        "
kq-pending-insufficient-cpu/report-worker Pending  READY 0/1  RESTARTS 0
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        stuck   Unschedulable [status.conditions[0].reason = Unschedulable] <Warning FailedScheduling x3>
  pulled           pending
  created          pending
  running          pending
  ready            pending
  diagnosis: Unschedulable at schedule -> kubectl describe pod report-worker -n kq-pending-insufficient-cpu",
    );
    let ev = pl
        .stage("scheduled")
        .and_then(|s| s.evidence.event.as_ref())
        .expect("FailedScheduling");
    assert_eq!(
        (ev.count, ev.age.as_str()),
        (3, "100s"),
        "series count and lastObservedTime win"
    );
    let fit = pl
        .diagnosis
        .as_ref()
        .and_then(|d| d.fit_error.as_ref())
        .expect("FitError parsed");
    assert_eq!(fit.reasons[0].reason, "Insufficient cpu");
}

// ---------------------------------------------------------------------------------------------
// Container creation

#[test]
fn create_container_config_error_is_stuck_at_create() {
    let mut c = container("api", "nginx:1.25");
    c["env"] = json!([{"name": "LOG_LEVEL", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "level"}}}]);
    let mut v = scheduled(pod_json(NS, "api", "u-cfg", json!([c])));
    v["status"]["containerStatuses"] = json!([waiting(
        "api",
        "nginx:1.25",
        "CreateContainerConfigError",
        Some("configmap \"app-config\" not found")
    )]);
    let events = vec![
        kubelet(
            NS,
            "api",
            "u-cfg",
            "api",
            "Normal",
            "Pulled",
            "Container image \"nginx:1.25\" already present on machine",
            3,
            1,
            30,
        ),
        kubelet(
            NS,
            "api",
            "u-cfg",
            "api",
            "Warning",
            "Failed",
            "Error: configmap \"app-config\" not found",
            3,
            1,
            30,
        ),
    ];
    let pl = build(&pod(v), &events, at(31));
    assert_snapshot(
        &pl,
        "
kq-demo/api CreateContainerConfigError  READY 0/1  RESTARTS 0
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1]
  pulled           done    <Normal Pulled x3>
  created          stuck   CreateContainerConfigError [status.containerStatuses[0].state.waiting.reason = CreateContainerConfigError] <Warning Failed x3>
  running          pending
  ready            pending
  diagnosis: CreateContainerConfigError at create -> kubectl describe pod api -n kq-demo",
    );
    assert!(pl.diagnosis.as_ref().is_some_and(|d| {
        d.commands
            .iter()
            .any(|c| c == "kubectl get configmaps,secrets -n kq-demo")
    }));
}

#[test]
fn a_missing_volume_blocks_before_the_pull() {
    let mut v = scheduled(pod_json(
        NS,
        "web",
        "u-mount",
        json!([container("web", "nginx:1.25")]),
    ));
    v["status"]["containerStatuses"] =
        json!([waiting("web", "nginx:1.25", "ContainerCreating", None)]);
    let events = vec![
        scheduled_event(NS, "web", "u-mount"),
        event_obj(
            NS,
            "web",
            "u-mount",
            None,
            "Warning",
            "FailedMount",
            "MountVolume.SetUp failed for volume \"config\" : configmap \"web-config\" not found",
            4,
            1,
            120,
        ),
    ];
    let pl = build(&pod(v), &events, at(125));
    assert_snapshot(
        &pl,
        "
kq-demo/web ContainerCreating  READY 0/1  RESTARTS 0
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1] <Normal Scheduled x1>
  pulled           pending WaitingForVolumes
  created          stuck   FailedMount [status.containerStatuses[0].state.waiting.reason = ContainerCreating] <Warning FailedMount x4>
  running          pending
  ready            pending
  diagnosis: FailedMount at create -> kubectl describe pod web -n kq-demo",
    );
}

// ---------------------------------------------------------------------------------------------
// Init containers

fn init_pod(init_state: serde_json::Value, restarts: i32) -> serde_json::Value {
    let mut init = container("wait-db", "busybox:1.36");
    init["command"] = json!(["sh", "-c", "nslookup db || exit 1"]);
    let mut v = scheduled(pod_json(
        NS,
        "shop",
        "u-init",
        json!([container("shop", "nginx:1.25")]),
    ));
    v["spec"]["initContainers"] = json!([init]);
    v["status"]["conditions"] = conditions(true, false, false, 1);
    let mut ics = running("wait-db", "busybox:1.36", 2, false, restarts);
    ics["started"] = json!(false);
    ics["state"] = init_state;
    if restarts > 0 {
        ics["lastState"] = terminated_state("Error", 1, 30, 31);
    }
    v["status"]["initContainerStatuses"] = json!([ics]);
    v["status"]["containerStatuses"] =
        json!([waiting("shop", "nginx:1.25", "PodInitializing", None)]);
    v
}

#[test]
fn a_running_init_container_shows_init_zero_of_one() {
    let v = init_pod(json!({"running": {"startedAt": ts(2)}}), 0);
    let pl = build(&pod(v), &[], at(10));
    assert_snapshot(
        &pl,
        "
kq-demo/shop Init:0/1  READY 0/1  RESTARTS 0
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1]
  init:wait-db     active  Running [status.initContainerStatuses[0].state.running.startedAt = 2025-03-01T10:00:02Z]
  pulled           pending
  created          pending
  running          pending
  ready            pending",
    );
}

#[test]
fn a_crashing_init_container_is_stuck_and_holds_back_the_app_container() {
    let v = init_pod(
        json!({"waiting": {"reason": "CrashLoopBackOff",
        "message": "back-off 20s restarting failed container=wait-db pod=shop_kq-demo(u-init)"}}),
        2,
    );
    let events = vec![kubelet(
        NS,
        "shop",
        "u-init",
        "wait-db",
        "Warning",
        "BackOff",
        "Back-off restarting failed container wait-db in pod shop_kq-demo(u-init)",
        2,
        5,
        40,
    )];
    // The event's fieldPath must name the init container.
    let mut events = events;
    events[0].involved_object.field_path = Some("spec.initContainers{wait-db}".into());
    let pl = build(&pod(v), &events, at(41));
    assert_snapshot(
        &pl,
        "
kq-demo/shop Init:CrashLoopBackOff  READY 0/1  RESTARTS 2 (10s ago)
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1]
  init:wait-db     stuck   CrashLoopBackOff [status.initContainerStatuses[0].state.waiting.reason = CrashLoopBackOff] [status.initContainerStatuses[0].lastState.terminated.reason = Error] [status.initContainerStatuses[0].lastState.terminated.exitCode = 1] <Warning BackOff x2>
  pulled           pending
  created          pending
  running          pending
  ready            pending
  diagnosis: CrashLoopBackOff at init -> kubectl logs shop -n kq-demo -c wait-db --previous
  next retry: restart wait-db at 2025-03-01T10:00:51Z (back-off 20s)",
    );
    let d = pl.diagnosis.as_ref().expect("explained");
    assert_eq!(
        d.commands[0], "kubectl logs shop -n kq-demo -c wait-db --previous",
        "init containers need -c"
    );
}

// ---------------------------------------------------------------------------------------------
// Probes, several containers, deletion

#[test]
fn a_failing_readiness_probe_is_stuck_at_ready() {
    let mut v = scheduled(pod_json(
        NS,
        "web",
        "u-ready",
        json!([container("web", "nginx:1.25")]),
    ));
    v["status"]["phase"] = json!("Running");
    v["status"]["containerStatuses"] = json!([running("web", "nginx:1.25", 5, false, 0)]);
    let events = vec![kubelet(
        NS,
        "web",
        "u-ready",
        "web",
        "Warning",
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 404",
        12,
        10,
        60,
    )];
    let pl = build(&pod(v), &events, at(61));
    assert_eq!(pl.status, "Running", "kubectl shows Running with READY 0/1");
    assert_snapshot(
        &pl,
        "
kq-demo/web Running  READY 0/1  RESTARTS 0
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1]
  pulled           done    [status.containerStatuses[0].imageID = docker.io/library/nginx@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]
  created          done
  running          done    [status.containerStatuses[0].state.running.startedAt = 2025-03-01T10:00:05Z]
  ready            stuck   ReadinessProbeFailed [status.containerStatuses[0].ready = false] <Warning Unhealthy x12>
  diagnosis: ReadinessProbeFailed at ready -> kubectl describe pod web -n kq-demo",
    );
}

#[test]
fn a_failing_liveness_probe_is_stuck_at_run() {
    let mut v = scheduled(pod_json(
        NS,
        "web",
        "u-live",
        json!([container("web", "nginx:1.25")]),
    ));
    v["status"]["phase"] = json!("Running");
    v["status"]["containerStatuses"] = json!([running("web", "nginx:1.25", 40, false, 1)]);
    let events = vec![
        kubelet(
            NS,
            "web",
            "u-live",
            "web",
            "Warning",
            "Unhealthy",
            "Liveness probe failed: HTTP probe failed with statuscode: 500",
            5,
            10,
            55,
        ),
        kubelet(
            NS,
            "web",
            "u-live",
            "web",
            "Normal",
            "Killing",
            "Container web failed liveness probe, will be restarted",
            1,
            35,
            35,
        ),
    ];
    let pl = build(&pod(v), &events, at(56));
    assert_snapshot(
        &pl,
        "
kq-demo/web Running  READY 0/1  RESTARTS 1
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1]
  pulled           done    [status.containerStatuses[0].imageID = docker.io/library/nginx@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]
  created          done
  running          stuck   LivenessProbeFailed [status.containerStatuses[0].state.running.startedAt = 2025-03-01T10:00:40Z] <Warning Unhealthy x5>
  ready            pending
  diagnosis: LivenessProbeFailed at run -> kubectl describe pod web -n kq-demo",
    );
}

#[test]
fn with_several_containers_the_crashing_one_decides() {
    let mut v = scheduled(pod_json(
        NS,
        "web",
        "u-multi",
        json!([
            container("web", "nginx:1.25"),
            container("log-shipper", "busybox:1.36")
        ]),
    ));
    v["status"]["phase"] = json!("Running");
    let mut side = running("log-shipper", "busybox:1.36", 20, false, 2);
    side["started"] = json!(false);
    side["state"] = json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s restarting failed container=log-shipper pod=web_kq-demo(u-multi)"}});
    side["lastState"] = terminated_state("Error", 2, 20, 21);
    v["status"]["containerStatuses"] = json!([running("web", "nginx:1.25", 5, true, 0), side]);
    let pl = build(&pod(v), &[], at(30));
    assert_snapshot(
        &pl,
        "
kq-demo/web CrashLoopBackOff  READY 1/2  RESTARTS 2 (9s ago)
  applied          done    [metadata.creationTimestamp = 2025-03-01T10:00:00Z]
  scheduled        done    [spec.nodeName = node-1]
  pulled           done    [status.containerStatuses[0].imageID = docker.io/library/nginx@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]
  created          done
  running          stuck   CrashLoopBackOff [status.containerStatuses[1].state.waiting.reason = CrashLoopBackOff] [status.containerStatuses[1].lastState.terminated.reason = Error] [status.containerStatuses[1].lastState.terminated.exitCode = 2]
  ready            pending
  diagnosis: CrashLoopBackOff at run -> kubectl logs web -n kq-demo -c log-shipper --previous
  next retry: restart log-shipper at 2025-03-01T10:00:41Z (back-off 20s)",
    );
    let d = pl.diagnosis.as_ref().expect("explained");
    assert_eq!(
        d.commands[0],
        "kubectl logs web -n kq-demo -c log-shipper --previous"
    );
    let names: Vec<_> = pl
        .containers
        .iter()
        .map(|c| (c.name.as_str(), c.state))
        .collect();
    assert_eq!(
        names,
        [
            ("web", StageState::Done),
            ("log-shipper", StageState::Stuck)
        ]
    );
}

#[test]
fn a_deleted_running_pod_shows_terminating() {
    let mut v = scheduled(pod_json(
        NS,
        "web",
        "u-del",
        json!([container("web", "nginx:1.25")]),
    ));
    v["status"]["phase"] = json!("Running");
    v["status"]["conditions"] = conditions(true, true, true, 6);
    v["status"]["containerStatuses"] = json!([running("web", "nginx:1.25", 5, true, 0)]);
    v["metadata"]["deletionTimestamp"] = json!(ts(100));
    v["metadata"]["deletionGracePeriodSeconds"] = json!(30);
    let pl = build(&pod(v), &[], at(101));
    assert_eq!((pl.status.as_str(), pl.terminating), ("Terminating", true));
}

// ---------------------------------------------------------------------------------------------
// kubectl's printPod edge cases

fn status_of(v: serde_json::Value) -> (String, String) {
    let row = kq_engine::pipeline::print_pod(&pod(v));
    (row.status, row.ready)
}

#[test]
fn print_pod_follows_kubectl_edge_cases() {
    let two = json!([
        container("app", "nginx:1.25"),
        container("job", "busybox:1.36")
    ]);
    // Completed with another container still running becomes Running or NotReady.
    let mut v = scheduled(pod_json(NS, "p", "u", two.clone()));
    v["status"]["phase"] = json!("Running");
    let mut done = running("job", "busybox:1.36", 1, false, 0);
    done["state"] = terminated_state("Completed", 0, 1, 2);
    v["status"]["containerStatuses"] = json!([running("app", "nginx:1.25", 1, true, 0), done]);
    assert_eq!(status_of(v.clone()), ("NotReady".into(), "1/2".into()));
    v["status"]["conditions"] = conditions(true, true, true, 3);
    assert_eq!(status_of(v.clone()), ("Running".into(), "1/2".into()));

    // Scanning from last to first: the first container in spec order with a reason wins.
    let mut both = scheduled(pod_json(NS, "p", "u", two));
    let mut crash = running("job", "busybox:1.36", 1, false, 3);
    crash["state"] = json!({"waiting": {"reason": "CrashLoopBackOff"}});
    both["status"]["containerStatuses"] =
        json!([waiting("app", "nginx:1.25", "ErrImagePull", None), crash]);
    assert_eq!(status_of(both).0, "ErrImagePull");

    // Terminated without a reason: ExitCode:N or Signal:N.
    let mut cs = running("app", "nginx:1.25", 1, false, 0);
    cs["state"] = json!({"terminated": {"exitCode": 3}});
    let mut w = scheduled(pod_json(
        NS,
        "p",
        "u",
        json!([container("app", "nginx:1.25")]),
    ));
    w["status"]["containerStatuses"] = json!([cs.clone()]);
    assert_eq!(status_of(w.clone()).0, "ExitCode:3");
    cs["state"] = json!({"terminated": {"exitCode": 137, "signal": 9}});
    w["status"]["containerStatuses"] = json!([cs]);
    assert_eq!(status_of(w).0, "Signal:9");

    // Init containers: Init:ExitCode:N, and a started sidecar counts as done and towards READY.
    let mut init = scheduled(pod_json(
        NS,
        "p",
        "u",
        json!([container("app", "nginx:1.25")]),
    ));
    let mut sidecar = container("proxy", "envoy:1.30");
    sidecar["restartPolicy"] = json!("Always");
    init["spec"]["initContainers"] = json!([sidecar, container("setup", "busybox:1.36")]);
    init["status"]["conditions"] = conditions(true, false, false, 1);
    let mut failed = running("setup", "busybox:1.36", 1, false, 0);
    failed["state"] = json!({"terminated": {"exitCode": 2, "reason": ""}});
    init["status"]["initContainerStatuses"] =
        json!([running("proxy", "envoy:1.30", 1, true, 0), failed]);
    init["status"]["containerStatuses"] =
        json!([waiting("app", "nginx:1.25", "PodInitializing", None)]);
    assert_eq!(status_of(init), ("Init:ExitCode:2".into(), "1/2".into()));

    // Scheduling gates, lost nodes and finished pods being deleted.
    let mut gated = pod_json(NS, "p", "u", json!([container("app", "nginx:1.25")]));
    gated["status"]["conditions"] =
        json!([{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]);
    assert_eq!(status_of(gated).0, "SchedulingGated");
    let mut lost = scheduled(pod_json(
        NS,
        "p",
        "u",
        json!([container("app", "nginx:1.25")]),
    ));
    lost["status"]["reason"] = json!("NodeLost");
    lost["metadata"]["deletionTimestamp"] = json!(ts(9));
    assert_eq!(status_of(lost).0, "Unknown");
    let mut finished = scheduled(pod_json(
        NS,
        "p",
        "u",
        json!([container("app", "busybox:1.36")]),
    ));
    finished["status"]["phase"] = json!("Succeeded");
    let mut ok = running("app", "busybox:1.36", 1, false, 0);
    ok["state"] = terminated_state("Completed", 0, 1, 2);
    finished["status"]["containerStatuses"] = json!([ok]);
    finished["metadata"]["deletionTimestamp"] = json!(ts(9));
    assert_eq!(
        status_of(finished).0,
        "Completed",
        "a finished pod is not shown as Terminating"
    );
}
