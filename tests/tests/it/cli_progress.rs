//! `kq progress export | import | report` as a learner and a teacher use them: a round trip
//! between two machines, a class report from several exports, and a damaged file that is
//! refused with a clear message while the learner's progress stays untouched.

use std::path::Path;
use std::process::{Command, Output};

use jiff::Timestamp;
use kq_engine::progress::{JsonFileStore, MissionStatus, Progress, ProgressStore};
use kq_tests::kq_binary;

fn kq(args: &[&str]) -> Output {
    Command::new(kq_binary())
        .args(args)
        .env_remove("XDG_DATA_HOME")
        .output()
        .expect("kq runs")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_740_000_000 + s).expect("a valid time")
}

fn seed(path: &Path, solved: &[&str], started: &[&str]) {
    let mut p = Progress::default();
    for id in solved {
        p.start(id, at(0));
        p.solve(id, at(90));
    }
    for id in started {
        p.start(id, at(100));
    }
    JsonFileStore::new(path).save(&p).expect("seed progress");
}

fn load(path: &Path) -> Progress {
    JsonFileStore::new(path)
        .load(at(1000))
        .expect("progress readable")
        .progress
}

#[test]
fn export_then_import_on_another_machine_keeps_every_solve() {
    let dir = tempfile::tempdir().expect("temp dir");
    let laptop = dir.path().join("laptop/progress.json");
    let lab = dir.path().join("lab/progress.json");
    let export = dir.path().join("ada.json");
    seed(&laptop, &["crash-loop-backoff"], &["image-pull-backoff"]);
    // The lab machine solved something else, and has the laptop's started mission solved.
    seed(
        &lab,
        &["pending-insufficient-cpu", "image-pull-backoff"],
        &[],
    );

    let o = kq(&[
        "progress",
        "export",
        "--out",
        export.to_str().expect("utf-8 path"),
        "--learner",
        "Ada Lovelace",
        "--progress",
        laptop.to_str().expect("utf-8 path"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("for Ada Lovelace"),
        "{}",
        text(&o)
    );

    let o = kq(&[
        "progress",
        "import",
        export.to_str().expect("utf-8 path"),
        "--progress",
        lab.to_str().expect("utf-8 path"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let merged = load(&lab);
    for id in [
        "crash-loop-backoff",
        "pending-insufficient-cpu",
        "image-pull-backoff",
    ] {
        assert_eq!(
            merged.mission(id).status,
            MissionStatus::Solved,
            "{id}: an import never loses a solve (the export only had it in progress)"
        );
    }
    let before = std::fs::read_to_string(&lab).expect("lab progress");
    let o = kq(&[
        "progress",
        "import",
        export.to_str().expect("utf-8 path"),
        "--progress",
        lab.to_str().expect("utf-8 path"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        load(&lab),
        serde_json::from_str::<Progress>(&before).expect("valid"),
        "importing the same file twice changes nothing"
    );
}

#[test]
fn a_damaged_import_is_refused_and_progress_is_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mine = dir.path().join("progress.json");
    seed(&mine, &["crash-loop-backoff"], &[]);
    let before = std::fs::read(&mine).expect("progress");
    let bad = dir.path().join("from-bob.json");
    std::fs::write(
        &bad,
        "{\"format\": \"kubequest-progress-export\", \"version\": 1, ",
    )
    .expect("w");

    let o = kq(&[
        "progress",
        "import",
        bad.to_str().expect("utf-8 path"),
        "--progress",
        mine.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("from-bob.json"), "names the file: {err}");
    assert!(
        err.contains("progress is unchanged") && err.contains("kq progress export"),
        "says what happened and what to do: {err}"
    );
    assert_eq!(
        std::fs::read(&mine).expect("progress"),
        before,
        "the progress file is byte-for-byte the same"
    );
    assert!(
        !dir.path().join("progress.json.bak").exists(),
        "nothing was saved at all"
    );

    let o = kq(&[
        "progress",
        "import",
        dir.path()
            .join("missing.json")
            .to_str()
            .expect("utf-8 path"),
        "--progress",
        mine.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("missing.json"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_teacher_merges_exports_into_csv_and_markdown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for (name, solved) in [
        ("Ada", vec!["crash-loop-backoff", "image-pull-backoff"]),
        ("Grace", vec!["crash-loop-backoff"]),
    ] {
        let store = dir.path().join(format!("{name}/progress.json"));
        seed(&store, &solved, &[]);
        let out = dir.path().join(format!("{name}.json"));
        let o = kq(&[
            "progress",
            "export",
            "--out",
            out.to_str().expect("utf-8 path"),
            "--learner",
            name,
            "--progress",
            store.to_str().expect("utf-8 path"),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        files.push(out.to_str().expect("utf-8 path").to_owned());
    }

    let mut args = vec!["progress", "report"];
    args.extend(files.iter().map(String::as_str));
    let o = kq(&args);
    assert!(o.status.success(), "{}", text(&o));
    let csv = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines.len() >= 5,
        "a header and 2 learners × 2 missions: {csv}"
    );
    assert!(
        lines.iter().any(|l| l.contains("Grace")
            && l.contains("image-pull-backoff")
            && l.contains("not-started")),
        "missions a learner has not started are listed too: {csv}"
    );

    let mut md_args = args.clone();
    md_args.extend(["--format", "markdown"]);
    let o = kq(&md_args);
    assert!(o.status.success(), "{}", text(&o));
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(
        md.contains('|') && md.contains("Ada") && md.contains("Grace"),
        "{md}"
    );

    // A broken export is named and skipped; the table still comes, the exit code says so.
    let bad = dir.path().join("carol.json");
    std::fs::write(&bad, "not json").expect("w");
    let mut with_bad = args.clone();
    let bad_s = bad.to_str().expect("utf-8 path").to_owned();
    with_bad.push(&bad_s);
    let o = kq(&with_bad);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Ada"),
        "{}",
        text(&o)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("carol.json"),
        "{}",
        text(&o)
    );
}

/// `kq` with its data folder (and home) in `data`, so the shared default path is used.
fn kq_in(data: &Path, args: &[&str]) -> Output {
    Command::new(kq_binary())
        .args(args)
        .env("XDG_DATA_HOME", data)
        .env("HOME", data)
        .output()
        .expect("kq runs")
}

#[test]
fn kq_and_the_app_use_one_progress_file_and_the_app_s_old_file_is_merged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = kq_in(dir.path(), &["progress", "path"]);
    assert!(o.status.success(), "{}", text(&o));
    let shared = dir.path().join("kubequest/progress.json");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        shared.display().to_string(),
        "kq resolves the shared file, the one the app uses too"
    );
    // The app's file from before the store was shared, as a learner who followed the README
    // has it: solved in the app, exported with kq.
    let old = dir.path().join("dev.kubequest.desktop/progress.json");
    seed(&old, &["crash-loop-backoff"], &[]);
    let out = dir.path().join("ada.json");
    let o = kq_in(
        dir.path(),
        &[
            "progress",
            "export",
            "--out",
            out.to_str().expect("utf-8 path"),
            "--learner",
            "Ada",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("exported 1 mission(s) (1 solved)"),
        "the app's solve is exported: {}",
        text(&o)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("merged"),
        "the merge is said: {}",
        text(&o)
    );
    assert!(!old.exists(), "the old file is no longer read");
    let kept: Vec<_> = std::fs::read_dir(dir.path().join("dev.kubequest.desktop"))
        .expect("the old folder stays")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".migrated-"))
        .collect();
    assert_eq!(kept.len(), 1, "the old file is kept aside, never deleted");
}

#[test]
fn exporting_nothing_fails_and_names_the_file_it_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("ada.json");
    let o = kq_in(
        dir.path(),
        &[
            "progress",
            "export",
            "--out",
            out.to_str().expect("utf-8 path"),
            "--learner",
            "Ada",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("nothing to export")
            && err.contains(
                &dir.path()
                    .join("kubequest/progress.json")
                    .display()
                    .to_string()
            ),
        "says nothing was recorded and which file was read: {err}"
    );
    assert!(!out.exists(), "no empty export is written");
}

#[test]
fn concurrent_imports_into_one_file_lose_no_solve() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mine = dir.path().join("progress.json");
    const IMPORTS: usize = 12;
    let mut exports = Vec::new();
    for i in 0..IMPORTS {
        let mut p = Progress::default();
        let id = format!("mission-{i}");
        p.start(&id, at(0));
        p.solve(&id, at(30));
        let f = dir.path().join(format!("learner-{i}.json"));
        let e = p.export(
            kq_engine::progress::Learner {
                id: "same-learner".into(),
                name: "Ada".into(),
            },
            at(100),
        );
        std::fs::write(&f, e.to_json().expect("json")).expect("write");
        exports.push(f);
    }
    let children: Vec<_> = exports
        .iter()
        .map(|f| {
            Command::new(kq_binary())
                .args([
                    "progress",
                    "import",
                    f.to_str().expect("utf-8 path"),
                    "--progress",
                    mine.to_str().expect("utf-8 path"),
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("kq starts")
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().expect("kq ends");
        assert!(o.status.success(), "every import succeeds: {}", text(&o));
    }
    let merged = load(&mine);
    let missing: Vec<String> = (0..IMPORTS)
        .map(|i| format!("mission-{i}"))
        .filter(|id| merged.mission(id).status != MissionStatus::Solved)
        .collect();
    assert!(
        missing.is_empty(),
        "imports running at once must each keep their solves; lost: {missing:?}"
    );
}

#[test]
fn kq_missions_leaves_a_newer_version_progress_file_in_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("progress.json");
    let future = r#"{"version": 2, "missions": {"crash-loop-backoff": {"status": "mastered"}}}"#;
    std::fs::write(&file, future).expect("write");
    let o = kq(&["missions", "--progress", file.to_str().expect("utf-8 path")]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("newer KubeQuest"),
        "the learner is told: {}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&file).expect("still there"),
        future,
        "listing missions must not move the newer KubeQuest's progress away"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["progress.json"], "nothing was renamed or created");
}

#[test]
fn a_learner_names_themselves_once_and_the_report_keeps_two_adas_apart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for who in ["one", "two"] {
        let store = dir.path().join(format!("{who}/progress.json"));
        seed(&store, &["crash-loop-backoff"], &[]);
        let s = store.to_str().expect("utf-8 path");
        let out = dir.path().join(format!("{who}.json"));
        let o = kq(&[
            "progress",
            "export",
            "--out",
            out.to_str().expect("utf-8"),
            "--progress",
            s,
        ]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "no export without a name: {}",
            text(&o)
        );
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("kq progress name"),
            "says how to set it: {}",
            text(&o)
        );
        let o = kq(&["progress", "name", "Ada", "--progress", s]);
        assert!(o.status.success(), "{}", text(&o));
        let o = kq(&[
            "progress",
            "export",
            "--out",
            out.to_str().expect("utf-8"),
            "--progress",
            s,
        ]);
        assert!(o.status.success(), "{}", text(&o));
        files.push(out.to_str().expect("utf-8").to_owned());
    }
    let mut args = vec!["progress", "report"];
    args.extend(files.iter().map(String::as_str));
    let o = kq(&args);
    assert!(o.status.success(), "{}", text(&o));
    let csv = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        csv.lines().filter(|l| l.contains(",Ada,")).count(),
        2,
        "two learners named Ada are two rows, never merged: {csv}"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("2 learners are named \"Ada\""),
        "the teacher is warned: {}",
        text(&o)
    );
}
