//! Reacting hints and the diagnosis that waits for the investigation, end to end: the bundled
//! mission 01 runs on the embedded cluster with a live session reading the API server's audit
//! log, and real kubectl does what a learner does. Listing the pods brings the "not at its
//! events" nudge (the app's own watches of pods and events do not count as looking); the
//! crash loop's explanation stays locked until `kubectl logs --previous`, which unlocks it and
//! moves the nudge on. A revealed hint unlocks it too.

use kq_engine::diagnose::DiagnosisGate;
use kq_engine::ipc::SessionUpdate;
use kq_engine::mission::{Mission, load_mission};
use kq_engine::pipeline::PipelineChange;
use kq_tests::cluster::{Kubectl, kubectl_binaries};
use kq_tests::session::{MissionSession, seen_or_wait_for, start_learner_session, wait_for};

fn mission_01() -> Mission {
    load_mission(&kq_tests::workspace_root().join("lessons/01-crash-loop-backoff"))
        .unwrap_or_else(|e| panic!("the bundled mission loads: {e}"))
}

fn kubectl(r: &MissionSession) -> Kubectl {
    let (label, path) = kubectl_binaries()
        .into_iter()
        .next()
        .expect("a kubectl on this machine");
    r.tc.kubectl(&label, &path)
}

fn nudge_ids(u: &SessionUpdate) -> Option<Vec<String>> {
    match u {
        SessionUpdate::Nudges { nudges } => Some(nudges.iter().map(|n| n.id.clone()).collect()),
        _ => None,
    }
}

fn gate_of(u: &SessionUpdate, pod: &str, reason: &str) -> Option<DiagnosisGate> {
    match u {
        SessionUpdate::Unlocks { gates } => gates
            .iter()
            .find(|g| g.object == pod && g.reason == reason)
            .cloned(),
        _ => None,
    }
}

/// The latest nudges sent so far.
fn latest_nudges(all: &[SessionUpdate]) -> Vec<String> {
    all.iter().rev().find_map(nudge_ids).unwrap_or_default()
}

/// Waits until greeter is diagnosed in a crash loop (with a previous run to read).
fn until_crash_loop(r: &MissionSession, all: &mut Vec<SessionUpdate>) {
    wait_for(&r.tc, &r.rx, all, 2, "greeter in CrashLoopBackOff", |u| {
        matches!(u, SessionUpdate::Pipeline { change: PipelineChange::Upserted { pipeline } | PipelineChange::Recreated { pipeline, .. } }
            if pipeline.pod == "greeter"
                && pipeline.restarts >= 1
                && pipeline.diagnosis.as_ref().is_some_and(|d| d.reason == "CrashLoopBackOff"))
    });
}

#[test]
fn listing_the_pods_nudges_toward_the_events_and_the_previous_logs_unlock_the_diagnosis() {
    let r = start_learner_session(mission_01(), false);
    let mut all = Vec::new();
    until_crash_loop(&r, &mut all);
    let locked = wait_for(&r.tc, &r.rx, &mut all, 0, "a gate for greeter", |u| {
        gate_of(u, "greeter", "CrashLoopBackOff").is_some()
    });
    let gate = gate_of(&locked, "greeter", "CrashLoopBackOff").expect("the gate");
    assert!(
        !gate.unlocked,
        "nothing investigated and no hint: the explanation stays hidden: {gate:?}"
    );
    assert_eq!(
        gate.investigate, "kubectl logs greeter -n kq-crash-loop-backoff --previous",
        "the card says what to run, not why"
    );
    assert!(
        latest_nudges(&all).is_empty(),
        "the app's own watches of pods and events are not the learner looking: {:?}",
        latest_nudges(&all)
    );

    let k = kubectl(&r);
    let get = k.run(&["get", "pods", "-n", &r.ns]);
    assert!(get.ok() && get.stdout.contains("greeter"), "{get}");
    let u = wait_for(&r.tc, &r.rx, &mut all, 0, "the events nudge", |u| {
        nudge_ids(u).is_some_and(|ids| ids.first().map(String::as_str) == Some("events-next"))
    });
    let SessionUpdate::Nudges { nudges } = &u else {
        unreachable!()
    };
    assert!(
        nudges[0]
            .text
            .contains("You have looked at the pod but not at its events"),
        "{:?}",
        nudges[0]
    );
    assert!(
        nudges[0]
            .html
            .contains("<code>kubectl describe pod greeter -n kq-crash-loop-backoff</code>"),
        "the command is code in the HTML: {}",
        nudges[0].html
    );
    let still = all
        .iter()
        .rev()
        .find_map(|u| gate_of(u, "greeter", "CrashLoopBackOff"))
        .expect("a gate");
    assert!(!still.unlocked, "the pod list does not unlock the cause");

    let logs = k.run(&["logs", "greeter", "-n", &r.ns, "--previous"]);
    assert!(logs.ok(), "{logs}");
    let open = wait_for(&r.tc, &r.rx, &mut all, 0, "greeter's gate unlocked", |u| {
        gate_of(u, "greeter", "CrashLoopBackOff").is_some_and(|g| g.unlocked)
    });
    assert!(gate_of(&open, "greeter", "CrashLoopBackOff").is_some_and(|g| g.unlocked));
    // Sent in the same refresh as the unlock, possibly just before it.
    seen_or_wait_for(&r.tc, &r.rx, &mut all, 0, "the nudge after the logs", |u| {
        nudge_ids(u).is_some_and(|ids| ids == ["compare-command"])
    });
}

#[test]
fn a_revealed_hint_unlocks_the_diagnosis_and_the_ladder_silences_what_it_said() {
    let r = start_learner_session(mission_01(), false);
    let mut all = Vec::new();
    until_crash_loop(&r, &mut all);
    let k = kubectl(&r);
    let get = k.run(&["get", "pods", "-n", &r.ns]);
    assert!(get.ok(), "{get}");
    wait_for(&r.tc, &r.rx, &mut all, 0, "the events nudge", |u| {
        nudge_ids(u).is_some_and(|ids| ids == ["events-next"])
    });
    // The first hint: the learner asked for help, so the cause may show.
    r.hints.send_replace(1);
    wait_for(
        &r.tc,
        &r.rx,
        &mut all,
        0,
        "the gate unlocked by a hint",
        |u| gate_of(u, "greeter", "CrashLoopBackOff").is_some_and(|g| g.unlocked),
    );
    // The second hint names describe and the previous logs itself: the nudge goes quiet.
    r.hints.send_replace(2);
    wait_for(&r.tc, &r.rx, &mut all, 0, "no nudge past max_hints", |u| {
        nudge_ids(u).is_some_and(|ids| ids.is_empty())
    });
}

/// Mission 02 with real kubectl: `kubectl logs` on a container that never started is refused
/// ("waiting to start"), which still counts as reading the logs and brings the nudge that there
/// is no log yet; `kubectl describe pod` reads the events, which unlocks the pull failure's
/// explanation and moves the nudge on to reading them to the end.
#[test]
fn describing_the_pod_unlocks_an_image_pull_failure() {
    let mission = load_mission(&kq_tests::workspace_root().join("lessons/02-image-pull-backoff"))
        .unwrap_or_else(|e| panic!("the bundled mission loads: {e}"));
    let r = start_learner_session(mission, false);
    let mut all = Vec::new();
    let stuck = wait_for(&r.tc, &r.rx, &mut all, 2, "web failing its pull", |u| {
        all_gates(u).iter().any(|g| {
            g.object == "web" && matches!(g.reason.as_str(), "ImagePullBackOff" | "ErrImagePull")
        })
    });
    let gate = all_gates(&stuck)
        .into_iter()
        .find(|g| g.object == "web")
        .expect("web's gate");
    assert!(!gate.unlocked, "{gate:?}");
    assert_eq!(
        gate.investigate,
        "kubectl describe pod web -n kq-image-pull-backoff"
    );

    let k = kubectl(&r);
    let logs = k.run(&["logs", "web", "-n", &r.ns]);
    assert!(
        !logs.ok() && logs.stderr.contains("waiting to start"),
        "a container that never started has no log: {logs}"
    );
    wait_for(&r.tc, &r.rx, &mut all, 0, "the no-log nudge", |u| {
        nudge_ids(u).is_some_and(|ids| ids.first().map(String::as_str) == Some("no-container-yet"))
    });

    let describe = k.run(&["describe", "pod", "web", "-n", &r.ns]);
    assert!(
        describe.ok() && describe.stdout.contains("Events:"),
        "{describe}"
    );
    wait_for(&r.tc, &r.rx, &mut all, 0, "web's gate unlocked", |u| {
        all_gates(u).iter().any(|g| g.object == "web" && g.unlocked)
    });
    seen_or_wait_for(
        &r.tc,
        &r.rx,
        &mut all,
        0,
        "the read-to-the-end nudge",
        |u| nudge_ids(u).is_some_and(|ids| ids == ["read-to-the-end"]),
    );
}

fn all_gates(u: &SessionUpdate) -> Vec<DiagnosisGate> {
    match u {
        SessionUpdate::Unlocks { gates } => gates.clone(),
        _ => Vec::new(),
    }
}
