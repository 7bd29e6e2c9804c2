//! Progress: crash safety of the JSON store (interrupted writes, corrupt files, newer
//! schemas), export/import merging, and the class report's CSV and Markdown.

mod engine_fixtures;

use std::path::Path;

use engine_fixtures::at;
use kq_engine::progress::{
    JsonFileStore, Learner, MissionProgress, MissionStatus, Progress, ProgressExport,
    ProgressStore, RecoveryReason, report, report_from_exports,
};
use proptest::prelude::*;

fn solved(id: &str, start: i64, end: i64) -> Progress {
    let mut p = Progress::default();
    p.start(id, at(start));
    p.solve(id, at(end));
    p
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("readable temp dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn saves_keep_a_backup_of_the_previous_good_file() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = JsonFileStore::new(tmp.path().join("progress.json"));
    let first = solved("crash-loop-backoff", 0, 60);
    store.save(&first).expect("save");
    let mut second = first.clone();
    second.start("image-pull-backoff", at(100));
    store.save(&second).expect("save");
    assert_eq!(
        files_in(tmp.path()),
        ["progress.json", "progress.json.bak"],
        "no temp file is left"
    );
    let loaded = store.load(at(200)).expect("load");
    assert_eq!((loaded.progress, loaded.recovery), (second, None));
    let bak = std::fs::read_to_string(store.backup_path()).expect("backup exists");
    assert!(
        !bak.contains("image-pull-backoff"),
        "the backup is the previous version"
    );
}

#[test]
fn an_interrupted_write_leaves_the_old_file_intact() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = JsonFileStore::new(tmp.path().join("progress.json"));
    let good = solved("crash-loop-backoff", 0, 60);
    store.save(&good).expect("save");
    // A crash in the middle of the next save: a truncated temp file and a half-written backup
    // temp file are left behind; progress.json itself was never touched.
    let mut next = good.clone();
    next.start("image-pull-backoff", at(100));
    let json = serde_json::to_string_pretty(&next).expect("serialisable");
    std::fs::write(store.temp_path(), &json[..json.len() / 2]).expect("write");
    std::fs::write(tmp.path().join("progress.json.bak.tmp"), "{\"vers").expect("write");

    let loaded = store.load(at(120)).expect("load");
    assert_eq!(
        loaded.progress, good,
        "the last complete save is what loads"
    );
    assert_eq!(loaded.recovery, None, "nothing needed recovering");

    // The next save succeeds over the leftovers.
    store.save(&next).expect("save over leftovers");
    assert_eq!(store.load(at(130)).expect("load").progress, next);
    assert!(
        !store.temp_path().exists(),
        "the temp file was consumed by the rename"
    );
}

#[test]
fn a_truncated_main_file_is_moved_aside_and_the_backup_restored() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = JsonFileStore::new(tmp.path().join("progress.json"));
    let older = solved("crash-loop-backoff", 0, 60);
    store.save(&older).expect("save");
    let mut newer = older.clone();
    newer.start("image-pull-backoff", at(100));
    store.save(&newer).expect("save");
    // Something (a sync tool, a non-atomic editor) truncated progress.json.
    let text = std::fs::read_to_string(store.path()).expect("read");
    std::fs::write(store.path(), &text[..text.len() / 3]).expect("truncate");

    let loaded = store.load(at(3600)).expect("load");
    let recovery = loaded.recovery.expect("the damage is reported");
    assert!(
        matches!(recovery.reason, RecoveryReason::Corrupt { .. }),
        "{recovery:?}"
    );
    assert!(recovery.restored_from_backup);
    assert_eq!(loaded.progress, older, "the backup is the last good state");
    let kept = recovery.moved_to.clone().expect("the damaged file is kept");
    assert_eq!(
        kept.file_name().and_then(|n| n.to_str()),
        Some("progress.json.corrupt-20250301T110000Z")
    );
    assert_eq!(
        std::fs::read_to_string(&kept).expect("kept file"),
        &text[..text.len() / 3],
        "never lost"
    );
    assert!(
        recovery.message().contains("restored from the last backup"),
        "{}",
        recovery.message()
    );
}

#[test]
fn a_corrupt_file_without_backup_starts_empty_and_is_kept() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = JsonFileStore::new(tmp.path().join("progress.json"));
    std::fs::write(store.path(), "not json at all").expect("write");
    let loaded = store.load(at(0)).expect("load");
    assert_eq!(loaded.progress, Progress::default());
    let r = loaded.recovery.expect("reported");
    assert!(!r.restored_from_backup);
    store.save(&solved("m", 0, 1)).expect("save");
    // A second corrupt file in the same second gets its own name.
    std::fs::write(store.path(), "{oops").expect("write");
    store.load(at(0)).expect("load");
    assert_eq!(
        files_in(tmp.path()),
        [
            "progress.json.corrupt-20250301T100000Z",
            "progress.json.corrupt-20250301T100000Z-1"
        ],
        "both damaged files are kept; nothing is overwritten"
    );
}

#[test]
fn a_file_from_a_newer_version_is_moved_aside_not_overwritten() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = JsonFileStore::new(tmp.path().join("progress.json"));
    let future = r#"{"version": 2, "missions": {"m": {"status": "mastered"}}, "badges": []}"#;
    std::fs::write(store.path(), future).expect("write");
    let loaded = store.load(at(0)).expect("load");
    let r = loaded.recovery.expect("reported");
    assert_eq!(r.reason, RecoveryReason::NewerVersion { version: 2 });
    let kept = r.moved_to.expect("kept");
    assert_eq!(
        kept.file_name().and_then(|n| n.to_str()),
        Some("progress.json.v2-20250301T100000Z")
    );
    store.save(&loaded.progress).expect("save");
    assert_eq!(std::fs::read_to_string(kept).expect("still there"), future);
}

#[test]
fn a_file_damaged_after_loading_is_kept_by_the_next_save() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = JsonFileStore::new(tmp.path().join("progress.json"));
    store.save(&solved("m", 0, 1)).expect("save");
    std::fs::write(store.path(), "{garbage").expect("write");
    store.save(&solved("m", 0, 2)).expect("save");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("progress.json.corrupt-before-save"))
            .expect("kept"),
        "{garbage"
    );
}

// ---------------------------------------------------------------------------------------------
// Export / import

fn learner(id: &str, name: &str) -> Learner {
    Learner {
        id: id.into(),
        name: name.into(),
    }
}

#[test]
fn import_merges_solved_wins_best_time_max_hints() {
    let mut laptop = Progress::default();
    laptop.start("a", at(0));
    laptop.hints_revealed("a", 3);
    laptop.solve("a", at(300));
    laptop.start("b", at(400));

    let mut lab = Progress::default();
    lab.start("a", at(1000));
    lab.solve("a", at(1090));
    lab.start("b", at(2000));
    lab.hints_revealed("b", 1);
    lab.solve("b", at(2100));
    lab.start("c", at(3000));

    let export = lab.export(learner("s42", "Ada"), at(4000));
    let text = export.to_json().expect("json");
    let parsed = ProgressExport::parse("ada.json", &text).expect("round trip");
    assert_eq!(parsed, export);

    laptop.import(&parsed);
    let a = laptop.mission("a");
    assert_eq!(
        (a.status, a.time_to_fix_seconds, a.hints_used),
        (MissionStatus::Solved, Some(90), 3)
    );
    assert_eq!(a.solved_at, Some(at(300)), "the first solve is kept");
    assert_eq!(
        laptop.mission("b").status,
        MissionStatus::Solved,
        "solved wins over in progress"
    );
    assert_eq!(laptop.mission("c").status, MissionStatus::InProgress);
    let once = laptop.clone();
    laptop.import(&parsed);
    assert_eq!(laptop, once, "importing twice changes nothing");
}

#[test]
fn exports_from_elsewhere_are_rejected_clearly() {
    let err = ProgressExport::parse("x.json", "{\"version\":1}").expect_err("no format marker");
    assert!(
        err.to_string()
            .starts_with("x.json: not a KubeQuest progress export"),
        "{err}"
    );
    let newer = r#"{"format":"kubequest-progress-export","version":9,"learner":{"id":"a","name":"A"},"exportedAt":"2025-01-01T00:00:00Z","missions":{}}"#;
    let err = ProgressExport::parse("y.json", newer).expect_err("newer");
    assert_eq!(
        err.to_string(),
        "y.json: written by a newer KubeQuest (export version 9); update KubeQuest to read it"
    );
}

fn arb_progress() -> impl Strategy<Value = MissionProgress> {
    (
        0u8..3,
        0u32..5,
        0u32..4,
        proptest::option::of(0i64..1000),
        proptest::option::of(0i64..1000),
        proptest::option::of(0u64..1000),
    )
        .prop_map(
            |(s, attempts, hints, start, solved, best)| MissionProgress {
                status: [
                    MissionStatus::NotStarted,
                    MissionStatus::InProgress,
                    MissionStatus::Solved,
                ][usize::from(s)],
                attempts,
                hints_used: hints,
                started_at: start.map(at),
                solved_at: solved.map(at),
                time_to_fix_seconds: best,
            },
        )
}

proptest! {
    #[test]
    fn merging_is_commutative_associative_and_idempotent(a in arb_progress(), b in arb_progress(), c in arb_progress()) {
        prop_assert_eq!(a.merge(&b), b.merge(&a), "order of imports must not matter");
        prop_assert_eq!(a.merge(&b).merge(&c), a.merge(&b.merge(&c)), "grouping must not matter");
        prop_assert_eq!(a.merge(&a), a.clone(), "re-importing must not change anything");
        prop_assert!(a.merge(&b).status >= a.status.max(b.status));
    }
}

// ---------------------------------------------------------------------------------------------
// Class report

#[test]
fn the_class_report_renders_csv_and_markdown_safely() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let ada = solved("crash-loop-backoff", 0, 125);
    let mut bob = Progress::default();
    bob.start("crash-loop-backoff", at(0));
    bob.hints_revealed("crash-loop-backoff", 1);
    bob.solve("crash-loop-backoff", at(61));
    bob.start("image-pull-backoff", at(100));
    let files = [
        (
            "ada.json",
            ada.export(learner("s1", "Ada, \"the first\""), at(500)),
        ),
        (
            "bob.json",
            bob.export(learner("s2", "=HYPERLINK(\"http://x\")|*b*"), at(500)),
        ),
        (
            "ada-lab.json",
            Progress::default().export(learner("s1", "Ada, \"the first\""), at(500)),
        ),
    ];
    let mut paths = Vec::new();
    for (name, e) in &files {
        let p = tmp.path().join(name);
        std::fs::write(&p, e.to_json().expect("json")).expect("write");
        paths.push(p);
    }
    let broken = tmp.path().join("broken.json");
    std::fs::write(&broken, "{").expect("write");
    paths.push(broken);

    let r = report(&paths);
    assert_eq!(
        r.learners.len(),
        2,
        "two files of the same learner are merged"
    );
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(r.problems[0].contains("broken.json"), "{:?}", r.problems);
    assert_eq!(
        r.to_csv(),
        "learner_id,learner_name,mission_id,status,attempts,hints_used,time_to_fix_seconds,solved_at\r\n\
         s1,\"Ada, \"\"the first\"\"\",crash-loop-backoff,solved,1,0,125,2025-03-01T10:02:05Z\r\n\
         s1,\"Ada, \"\"the first\"\"\",image-pull-backoff,not-started,0,0,,\r\n\
         s2,\"'=HYPERLINK(\"\"http://x\"\")|*b*\",crash-loop-backoff,solved,1,1,61,2025-03-01T10:01:01Z\r\n\
         s2,\"'=HYPERLINK(\"\"http://x\"\")|*b*\",image-pull-backoff,in-progress,1,0,,\r\n"
    );
    assert_eq!(
        r.to_markdown(),
        "| Learner | crash-loop-backoff | image-pull-backoff |\n\
         |---|---|---|\n\
         | Ada, \"the first\" (s1) | solved in 2m5s | – |\n\
         | =HYPERLINK(\"http://x\")\\|\\*b\\* (s2) | solved in 1m1s, 1 hint | in progress (1 attempts) |\n\
         | **Solved** | 2/2 | 0/2 |\n"
    );
    assert_eq!(
        report_from_exports(Vec::new()).to_csv().lines().count(),
        1,
        "header only"
    );
}
