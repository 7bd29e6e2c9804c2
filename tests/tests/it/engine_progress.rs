//! Progress: crash safety of the JSON store (interrupted writes, corrupt files, newer
//! schemas), writers at once, readers that change nothing, the app's earlier file merged in,
//! learner identity, export/import merging, and the class report's CSV, Markdown and warnings.

use std::path::Path;

use crate::engine_fixtures::at;
use kq_engine::progress::{
    JsonFileStore, Learner, MissionProgress, MissionStatus, Progress, ProgressError,
    ProgressExport, ProgressStore, RecoveryReason, migrate_legacy, report, report_from_exports,
};
use kq_engine::session::{SolveRecorder, StoreRecorder};
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
        // The lock file stays: deleting it would let two writers lock different files.
        ["progress.json", "progress.json.bak", "progress.json.lock"],
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
            "progress.json.corrupt-20250301T100000Z-1",
            "progress.json.lock"
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

// ---------------------------------------------------------------------------------------------
// Several writers, read-only readers, the app's earlier file

#[test]
fn writers_at_once_with_their_own_store_lose_no_solve() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("progress.json");
    const WRITERS: usize = 8;
    const SOLVES: usize = 15;
    let threads: Vec<_> = (0..WRITERS)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                // Each writer has its own store, as the app and each `kq` process do.
                let mut recorder = StoreRecorder {
                    store: JsonFileStore::new(&path),
                };
                for i in 0..SOLVES {
                    recorder
                        .record_solved(&format!("m-{w}-{i}"), at(i as i64))
                        .expect("every save succeeds");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no writer panics");
    }
    let p = JsonFileStore::new(&path).read().expect("read").progress;
    let solved = p
        .missions
        .values()
        .filter(|m| m.status == MissionStatus::Solved)
        .count();
    assert_eq!(
        solved,
        WRITERS * SOLVES,
        "every solve recorded by concurrent writers must be in the file"
    );
    let leftovers: Vec<String> = files_in(tmp.path())
        .into_iter()
        .filter(|f| f.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temp file is left: {leftovers:?}");
}

#[test]
fn reading_leaves_a_newer_version_file_in_place_and_only_a_writer_moves_it() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = JsonFileStore::new(tmp.path().join("progress.json"));
    let future = r#"{"version": 2, "missions": {"m": {"status": "mastered"}}}"#;
    std::fs::write(store.path(), future).expect("write");
    let read = store.read().expect("read");
    let r = read.recovery.expect("the newer file is reported");
    assert_eq!(r.reason, RecoveryReason::NewerVersion { version: 2 });
    assert_eq!(r.moved_to, None, "a read moves nothing");
    assert!(
        r.message().contains("left in place"),
        "the message says it stayed: {}",
        r.message()
    );
    assert_eq!(
        std::fs::read_to_string(store.path()).expect("still there"),
        future,
        "a read-only command must leave the newer KubeQuest's file where it is"
    );
    assert_eq!(
        files_in(tmp.path()),
        ["progress.json"],
        "nothing was created"
    );

    let saved = store
        .update(at(0), &mut |p| {
            p.start("a", at(0));
        })
        .expect("a writer may move it aside");
    let kept = saved
        .recovery
        .and_then(|r| r.moved_to)
        .expect("the writer says where it kept the file");
    assert_eq!(std::fs::read_to_string(kept).expect("kept"), future);
}

#[test]
fn a_damaged_file_is_only_reported_by_a_read() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = JsonFileStore::new(tmp.path().join("progress.json"));
    store.save(&solved("m", 0, 1)).expect("save");
    store.save(&solved("n", 0, 1)).expect("save");
    std::fs::write(store.path(), "{broken").expect("write");
    let read = store.read().expect("read");
    assert_eq!(
        read.progress,
        solved("m", 0, 1),
        "the backup is shown from memory"
    );
    assert_eq!(
        std::fs::read_to_string(store.path()).expect("still there"),
        "{broken",
        "a read never renames or rewrites the file"
    );
}

#[test]
fn the_app_s_earlier_progress_file_is_merged_once_and_kept_aside() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let shared = JsonFileStore::new(tmp.path().join("kubequest/progress.json"));
    let legacy = tmp.path().join("dev.kubequest.desktop/progress.json");
    // kq solved "a" and started "b"; the app solved "b" and "c".
    let mut mine = solved("a", 0, 60);
    mine.start("b", at(100));
    shared.save(&mine).expect("save");
    let mut app = solved("b", 0, 30);
    app.start("c", at(10));
    app.solve("c", at(20));
    JsonFileStore::new(&legacy).save(&app).expect("save");
    let app_text = std::fs::read_to_string(&legacy).expect("legacy");

    let m = migrate_legacy(&shared, &legacy, at(3600))
        .expect("migrates")
        .expect("there was something to migrate");
    let p = shared.read().expect("read").progress;
    for id in ["a", "b", "c"] {
        assert_eq!(
            p.mission(id).status,
            MissionStatus::Solved,
            "{id}: a solve in either file survives the migration"
        );
    }
    assert!(
        !legacy.exists(),
        "the old file no longer sits where the app looked"
    );
    assert_eq!(
        std::fs::read_to_string(&m.kept_as).expect("the old file is kept, never deleted"),
        app_text
    );
    assert_eq!(m.missions, 2);
    assert_eq!(
        migrate_legacy(&shared, &legacy, at(3700)).expect("no-op"),
        None,
        "a second run merges nothing"
    );
}

#[test]
fn an_unreadable_earlier_file_is_left_in_place_and_reported() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let shared = JsonFileStore::new(tmp.path().join("kubequest/progress.json"));
    let legacy = tmp.path().join("old/progress.json");
    std::fs::create_dir_all(tmp.path().join("old")).expect("mkdir");
    std::fs::write(&legacy, r#"{"version": 7}"#).expect("write");
    let err = migrate_legacy(&shared, &legacy, at(0)).expect_err("a newer file is not merged");
    assert!(
        err.to_string().contains("newer") && err.to_string().contains("left in place"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&legacy).expect("kept"),
        r#"{"version": 7}"#
    );
}

// ---------------------------------------------------------------------------------------------
// Learner identity

#[test]
fn a_learner_keeps_one_id_across_renames_and_exports_need_a_name() {
    let mut p = solved("m", 0, 10);
    assert!(
        matches!(p.export_named(at(0)), Err(ProgressError::NoLearnerName)),
        "no export leaves without a name"
    );
    let first = p.set_learner_name("  Ada  ").expect("a good name");
    assert_eq!(first.name, "Ada", "trimmed");
    let renamed = p.set_learner_name("Ada Lovelace").expect("a good name");
    assert_eq!(renamed.id, first.id, "renaming keeps the id");
    let e = p.export_named(at(0)).expect("named");
    assert_eq!((e.learner.id.clone(), e.has_stable_id()), (first.id, true));
    let other = solved("m", 0, 10).set_learner_name("Ada").expect("name");
    assert_ne!(other.id, renamed.id, "two learners never share an id");
    for bad in ["", "   ", "Ada\nBob", &"x".repeat(81)] {
        assert!(
            matches!(
                p.set_learner_name(bad),
                Err(ProgressError::InvalidLearnerName(_))
            ),
            "{bad:?} is refused with a reason"
        );
    }
    assert_eq!(
        p.named_learner().map(|l| l.name.as_str()),
        Some("Ada Lovelace"),
        "a refused name changes nothing"
    );
}

fn v1_export(name: &str, id: &str, mission: &str) -> String {
    format!(
        r#"{{"format":"kubequest-progress-export","version":1,"learner":{{"id":"{id}","name":"{name}"}},"exportedAt":"2025-03-01T10:00:00Z","missions":{{"{mission}":{{"status":"solved","attempts":1}}}}}}"#
    )
}

#[test]
fn the_class_report_never_merges_two_learners_and_warns_about_names() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut ada1 = solved("a", 0, 10);
    let ada1_l = ada1.set_learner_name("Ada").expect("name");
    let mut ada2 = solved("b", 0, 10);
    let ada2_l = ada2.set_learner_name("Ada").expect("name");
    let mut grace = solved("a", 0, 10);
    let grace_l = grace.set_learner_name("Grace").expect("name");
    let files = [
        ("ada1.json", ada1.export_named(at(100)).expect("export")),
        ("ada2.json", ada2.export_named(at(100)).expect("export")),
        (
            "grace-lab.json",
            grace.export_named(at(100)).expect("export"),
        ),
        (
            "grace-home.json",
            grace.export(learner(&grace_l.id, "Grace H."), at(200)),
        ),
    ];
    let mut paths = Vec::new();
    for (name, e) in &files {
        let p = tmp.path().join(name);
        std::fs::write(&p, e.to_json().expect("json")).expect("write");
        paths.push(p);
    }
    // Two exports from before learner ids, from one shared lab login.
    for f in ["lab-1.json", "lab-2.json"] {
        let p = tmp.path().join(f);
        std::fs::write(&p, v1_export("student", "student", "c")).expect("write");
        paths.push(p);
    }

    let r = report(&paths);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let ids: Vec<&str> = r.learners.iter().map(|l| l.id.as_str()).collect();
    assert!(
        ids.contains(&ada1_l.id.as_str()) && ids.contains(&ada2_l.id.as_str()),
        "two learners named Ada are two rows, never merged: {ids:?}"
    );
    assert_eq!(
        r.learners.len(),
        5,
        "Ada, Ada, Grace (one id from two machines), and each old export on its own: {:?}",
        r.learners
    );
    assert_eq!(
        r.entries
            .get(&(ada1_l.id.clone(), "b".to_owned()))
            .map(|m| m.status),
        None,
        "one Ada's solve is never credited to the other"
    );
    let grace_row = r
        .learners
        .iter()
        .find(|l| l.id == grace_l.id)
        .expect("Grace has one row");
    assert_eq!(
        grace_row.name, "Grace H.",
        "the latest export's name is shown"
    );
    let warnings = r.warnings.join("\n");
    assert!(
        warnings.contains("2 learners are named \"Ada\""),
        "the teacher is warned about two learners with one name:\n{warnings}"
    );
    assert!(
        warnings.contains(&format!(
            "learner id {} appears with different names",
            grace_l.id
        )),
        "the teacher is warned when one id carries different names:\n{warnings}"
    );
    assert!(
        warnings.contains("lab-1.json") && warnings.contains("lab-2.json"),
        "each export without a stable id is flagged:\n{warnings}"
    );
}
