//! The pipeline tracker and the watcher adapter, fed with plain inputs and fake watcher
//! streams: a fix in the middle of a back-off, a pod recreated under the same name, deletion,
//! relists, and "nothing changed" staying quiet.

use crate::engine_fixtures::*;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Pod};
use kq_engine::pipeline::{
    PipelineChange, PipelineTracker, StageState, TrackerInput, WatchInput, merge_watch_streams,
};
use kube::runtime::watcher;
use serde_json::json;

const NS: &str = "kq-image-pull-backoff";

fn web(uid: &str, spec_image: &str) -> serde_json::Value {
    scheduled(pod_json(
        NS,
        "web",
        uid,
        json!([container("web", spec_image)]),
    ))
}

fn backoff_pod(uid: &str) -> Pod {
    let mut v = web(uid, "nginx:nonexistent");
    v["status"]["containerStatuses"] = json!([waiting(
        "web",
        "nginx:nonexistent",
        "ImagePullBackOff",
        Some("Back-off pulling image \"nginx:nonexistent\"")
    )]);
    pod(v)
}

fn backoff_events(uid: &str) -> Vec<Event> {
    vec![
        kubelet(
            NS,
            "web",
            uid,
            "web",
            "Normal",
            "Pulling",
            "Pulling image \"nginx:nonexistent\"",
            3,
            1,
            45,
        ),
        kubelet(
            NS,
            "web",
            uid,
            "web",
            "Warning",
            "Failed",
            "Error: ErrImagePull",
            3,
            1,
            45,
        ),
        kubelet(
            NS,
            "web",
            uid,
            "web",
            "Normal",
            "BackOff",
            "Back-off pulling image \"nginx:nonexistent\"",
            4,
            12,
            50,
        ),
    ]
}

fn upserted(changes: &[PipelineChange]) -> Vec<&kq_engine::pipeline::PodPipeline> {
    changes
        .iter()
        .filter_map(|c| match c {
            PipelineChange::Upserted { pipeline } | PipelineChange::Recreated { pipeline, .. } => {
                Some(pipeline)
            }
            PipelineChange::Removed { .. } => None,
        })
        .collect()
}

fn feed(tracker: &mut PipelineTracker, inputs: Vec<TrackerInput>, now: i64) -> Vec<PipelineChange> {
    inputs
        .into_iter()
        .flat_map(|i| tracker.apply(i, at(now)))
        .collect()
}

#[test]
fn a_fix_in_the_middle_of_a_back_off_moves_the_pipeline_forward() {
    let uid = "u-web";
    let mut t = PipelineTracker::new();
    let mut inputs = vec![TrackerInput::PodApplied(backoff_pod(uid))];
    inputs.extend(
        backoff_events(uid)
            .into_iter()
            .map(TrackerInput::EventApplied),
    );
    let changes = feed(&mut t, inputs, 55);
    let last = upserted(&changes)
        .last()
        .copied()
        .expect("the pod is shown");
    assert_eq!(
        last.stage("pulled").map(|s| s.state),
        Some(StageState::Stuck)
    );
    assert!(
        last.next_retry.is_some(),
        "a back-off is running before the fix"
    );

    // `kubectl set image pod/web web=nginx:1.25`: the spec changes, the status still describes
    // the old image until the kubelet syncs.
    let mut fixed = web(uid, "nginx:1.25");
    fixed["status"]["containerStatuses"] = json!([waiting(
        "web",
        "nginx:nonexistent",
        "ImagePullBackOff",
        Some("Back-off pulling image \"nginx:nonexistent\"")
    )]);
    let changes = t.apply(TrackerInput::PodApplied(pod(fixed.clone())), at(60));
    let p = upserted(&changes)[0];
    let pulled = p.stage("pulled").expect("pulled stage");
    assert_eq!(
        (pulled.state, pulled.reason.as_deref()),
        (StageState::Active, Some("ImageChanged")),
        "a fixed image is a pull in progress, not a stuck one"
    );
    assert!(
        p.next_retry.is_none(),
        "the old image's back-off no longer applies"
    );

    // The kubelet pulls the new image.
    let changes = t.apply(
        TrackerInput::EventApplied(kubelet(
            NS,
            "web",
            uid,
            "web",
            "Normal",
            "Pulling",
            "Pulling image \"nginx:1.25\"",
            1,
            61,
            61,
        )),
        at(61),
    );
    assert_eq!(
        upserted(&changes)[0]
            .stage("pulled")
            .and_then(|s| s.reason.clone())
            .as_deref(),
        Some("Pulling")
    );

    // Running and Ready.
    fixed["status"]["phase"] = json!("Running");
    fixed["status"]["conditions"] = conditions(true, true, true, 64);
    fixed["status"]["containerStatuses"] = json!([running("web", "nginx:1.25", 63, true, 0)]);
    let changes = t.apply(TrackerInput::PodApplied(pod(fixed)), at(65));
    let p = upserted(&changes)[0];
    assert_eq!((p.status.as_str(), p.ready.as_str()), ("Running", "1/1"));
    assert!(
        p.stages.iter().all(|s| s.state == StageState::Done),
        "{}",
        p.render_text()
    );
    assert!(
        p.diagnosis.is_none(),
        "old warnings about the old image are not a diagnosis now"
    );
}

#[test]
fn nothing_but_the_clock_moving_reports_no_change() {
    let uid = "u-web";
    let mut t = PipelineTracker::new();
    let mut inputs = vec![TrackerInput::PodApplied(backoff_pod(uid))];
    inputs.extend(
        backoff_events(uid)
            .into_iter()
            .map(TrackerInput::EventApplied),
    );
    feed(&mut t, inputs, 55);
    assert!(
        t.apply(TrackerInput::Tick, at(58)).is_empty(),
        "ages changed, nothing else did"
    );
    assert!(
        t.apply(TrackerInput::PodApplied(backoff_pod(uid)), at(59))
            .is_empty(),
        "re-applying the same pod is not a change"
    );
    // An event for another pod does not rebuild this one.
    let other = kubelet(
        NS,
        "db",
        "u-db",
        "db",
        "Normal",
        "Pulling",
        "Pulling image \"postgres:16\"",
        1,
        50,
        50,
    );
    assert!(
        t.apply(TrackerInput::EventApplied(other), at(60))
            .is_empty()
    );
}

#[test]
fn a_pod_recreated_with_the_same_name_is_a_new_pipeline_and_the_ui_is_told() {
    let mut t = PipelineTracker::new();
    let mut inputs = vec![TrackerInput::PodApplied(backoff_pod("u-old"))];
    inputs.extend(
        backoff_events("u-old")
            .into_iter()
            .map(TrackerInput::EventApplied),
    );
    feed(&mut t, inputs, 55);

    let removed = t.apply(TrackerInput::PodDeleted(backoff_pod("u-old")), at(70));
    assert_eq!(
        removed,
        vec![PipelineChange::Removed {
            uid: "u-old".into(),
            namespace: NS.into(),
            pod: "web".into()
        }]
    );

    // A fresh `web` with a new uid, not scheduled yet.
    let fresh = pod(pod_json(
        NS,
        "web",
        "u-new",
        json!([container("web", "nginx:1.25")]),
    ));
    let changes = t.apply(TrackerInput::PodApplied(fresh), at(71));
    match changes.as_slice() {
        [
            PipelineChange::Recreated {
                previous_uid,
                pipeline,
            },
        ] => {
            assert_eq!(previous_uid, "u-old");
            assert_eq!(pipeline.uid, "u-new");
            assert!(
                pipeline.diagnosis.is_none(),
                "the old pod's BackOff events must not leak"
            );
            assert_eq!(
                pipeline.stage("scheduled").map(|s| s.state),
                Some(StageState::Active)
            );
        }
        other => panic!("expected one Recreated change, got {other:?}"),
    }
    assert_eq!(t.pipelines().len(), 1, "only the new pod is tracked");
}

#[test]
fn a_missed_delete_is_reported_when_the_new_pod_arrives() {
    let mut t = PipelineTracker::new();
    t.apply(TrackerInput::PodApplied(backoff_pod("u-old")), at(10));
    let fresh = pod(pod_json(
        NS,
        "web",
        "u-new",
        json!([container("web", "nginx:1.25")]),
    ));
    let changes = t.apply(TrackerInput::PodApplied(fresh), at(20));
    assert!(
        matches!(changes.as_slice(), [PipelineChange::Removed { uid, .. }, PipelineChange::Recreated { previous_uid, .. }] if uid == "u-old" && previous_uid == "u-old"),
        "{changes:?}"
    );
}

#[test]
fn a_relist_removes_pods_deleted_while_unwatched() {
    let mut t = PipelineTracker::new();
    t.apply(TrackerInput::PodApplied(backoff_pod("u-web")), at(10));
    let db = pod(pod_json(
        NS,
        "db",
        "u-db",
        json!([container("db", "postgres:16")]),
    ));
    t.apply(TrackerInput::PodApplied(db.clone()), at(10));
    let changes = t.apply(TrackerInput::PodsListed(vec![db]), at(30));
    assert_eq!(
        changes,
        vec![PipelineChange::Removed {
            uid: "u-web".into(),
            namespace: NS.into(),
            pod: "web".into()
        }],
        "db is unchanged, web is gone"
    );
}

#[test]
fn the_watcher_adapter_buffers_a_relist_and_passes_events_through() {
    let db = pod(pod_json(
        NS,
        "db",
        "u-db",
        json!([container("db", "postgres:16")]),
    ));
    let web = backoff_pod("u-web");
    let pods = futures::stream::iter(vec![
        Ok(watcher::Event::Init),
        Ok(watcher::Event::InitApply(db.clone())),
        Ok(watcher::Event::InitApply(web.clone())),
        Ok(watcher::Event::InitDone),
        Ok(watcher::Event::Delete(web)),
        Err(watcher::Error::NoResourceVersion),
    ]);
    let events = futures::stream::iter(vec![
        Ok(watcher::Event::Init),
        Ok(watcher::Event::InitApply(backoff_events("u-web").remove(0))),
        Ok(watcher::Event::InitDone),
    ]);
    let items: Vec<WatchInput> =
        futures::executor::block_on(merge_watch_streams(pods, events).collect());
    let mut listed = 0;
    let mut deleted = 0;
    let mut events_seen = 0;
    let mut failures = Vec::new();
    for item in &items {
        match item {
            WatchInput::Input(TrackerInput::PodsListed(p)) => listed += p.len(),
            WatchInput::Input(TrackerInput::PodDeleted(_)) => deleted += 1,
            WatchInput::Input(TrackerInput::EventApplied(_)) => events_seen += 1,
            WatchInput::Input(other) => panic!("unexpected input {other:?}"),
            WatchInput::Failed { stream, error } => failures.push((*stream, error.kind())),
        }
    }
    assert_eq!((listed, deleted, events_seen), (2, 1, 1), "{items:?}");
    assert_eq!(
        failures,
        [("pods", kq_engine::connect::ConnectErrorKind::Other)]
    );

    // Fed into a tracker, the adapter's output ends with only db tracked.
    let mut t = PipelineTracker::new();
    for item in items {
        if let WatchInput::Input(i) = item {
            t.apply(i, at(100));
        }
    }
    let names: Vec<_> = t.pipelines().iter().map(|p| p.pod.clone()).collect();
    assert_eq!(names, ["db"]);
}

/// The events table the learner reads must agree with `kubectl describe pod web` run after the
/// pod was recreated: only the new pod's events (matched by involvedObject uid), sorted by
/// `lastTimestamp` alone with the scheduler's event (which has none) first, and ties kept in
/// the order the server reported them (Pulling before Pulled).
#[test]
fn the_events_table_shows_only_the_current_pod_in_kubectl_describe_order() {
    let mut tracker = PipelineTracker::new();
    tracker.apply(TrackerInput::PodApplied(backoff_pod("uid-old")), at(50));
    for e in backoff_events("uid-old") {
        tracker.apply(TrackerInput::EventApplied(e), at(50));
    }
    tracker.apply(TrackerInput::PodDeleted(backoff_pod("uid-old")), at(55));
    tracker.apply(
        TrackerInput::PodApplied(pod(web("uid-new", "nginx:1.27"))),
        at(60),
    );
    // The server's order: the kubelet wrote these one after the other within one second, so
    // their lastTimestamps tie; the scheduler's event carries only eventTime.
    let image = "nginx:1.27";
    let new_events = [
        scheduler(
            NS,
            "web",
            "uid-new",
            "Normal",
            "Scheduled",
            "Successfully assigned kq-image-pull-backoff/web to node-1",
            60,
            None,
        ),
        kubelet(
            NS,
            "web",
            "uid-new",
            "web",
            "Normal",
            "Pulling",
            &format!("Pulling image \"{image}\""),
            1,
            60,
            60,
        ),
        kubelet(
            NS,
            "web",
            "uid-new",
            "web",
            "Normal",
            "Pulled",
            &format!(
                "Successfully pulled image \"{image}\" in 1.2s (1.2s including waiting). Image size: 1 bytes."
            ),
            1,
            60,
            60,
        ),
        kubelet(
            NS,
            "web",
            "uid-new",
            "web",
            "Normal",
            "Created",
            "Created container: web",
            1,
            60,
            60,
        ),
        kubelet(
            NS,
            "web",
            "uid-new",
            "web",
            "Normal",
            "Started",
            "Started container web",
            1,
            60,
            60,
        ),
    ];
    for e in new_events {
        tracker.apply(TrackerInput::EventApplied(e), at(61));
    }
    let rows = kq_engine::pipeline::event_rows(&tracker.current_events());
    let reasons: Vec<&str> = rows.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(
        reasons,
        ["Scheduled", "Pulling", "Pulled", "Created", "Started"],
        "the recreated pod's events only (the old pod's Failed/BackOff must not show), in \
         kubectl describe's order: {rows:#?}"
    );
    assert!(
        rows.iter().all(|r| !r.message.contains("nonexistent")),
        "no event of the deleted pod leaks into the table: {rows:#?}"
    );
    assert_eq!(
        rows[0].last_timestamp, None,
        "the scheduler's event has no lastTimestamp, which is why describe lists it first"
    );
}

/// An event that the server updates (a count bump) keeps its place: the order is the server's
/// first report, not the update's arrival.
#[test]
fn an_updated_event_keeps_its_place_in_the_server_order() {
    let mut tracker = PipelineTracker::new();
    tracker.apply(TrackerInput::PodApplied(backoff_pod("uid-1")), at(10));
    let pulling = |count, last| {
        kubelet(
            NS,
            "web",
            "uid-1",
            "web",
            "Normal",
            "Pulling",
            "Pulling image \"nginx:nonexistent\"",
            count,
            1,
            last,
        )
    };
    let failed = |count, last| {
        kubelet(
            NS,
            "web",
            "uid-1",
            "web",
            "Warning",
            "Failed",
            "Error: ErrImagePull",
            count,
            1,
            last,
        )
    };
    tracker.apply(TrackerInput::EventApplied(pulling(1, 1)), at(1));
    tracker.apply(TrackerInput::EventApplied(failed(1, 1)), at(1));
    tracker.apply(TrackerInput::EventApplied(pulling(2, 12)), at(12));
    tracker.apply(TrackerInput::EventApplied(failed(2, 12)), at(12));
    let reasons: Vec<String> = kq_engine::pipeline::event_rows(&tracker.current_events())
        .into_iter()
        .map(|r| format!("{} x{}", r.reason, r.count))
        .collect();
    assert_eq!(
        reasons,
        ["Pulling x2", "Failed x2"],
        "the pull attempt is listed before its failure, as the kubelet reported them"
    );
}
