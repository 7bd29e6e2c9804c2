//! The bundled curriculum loads cleanly: every lesson folder parses with the strict loader,
//! passes the same checker teachers run (`kq lessons check`), ids are unique, and the order is
//! the customer's series.

use kq_engine::mission::{Catalog, check_lesson_dir};

#[test]
fn bundled_lessons_load_without_problems() {
    let catalog = Catalog::load(&[kq_tests::workspace_root().join("lessons")]);
    let problems: Vec<String> = catalog.problems.iter().map(ToString::to_string).collect();
    assert!(
        problems.is_empty(),
        "a bundled lesson does not load: {problems:?}"
    );
    let ids: Vec<String> = catalog.summaries().into_iter().map(|s| s.id).collect();
    assert_eq!(
        ids.get(..3),
        Some(
            &[
                "crash-loop-backoff".to_string(),
                "image-pull-backoff".to_string(),
                "pending-insufficient-cpu".to_string()
            ][..]
        ),
        "the first three missions follow the customer's series: {ids:?}"
    );
    assert_eq!(
        ids.len(),
        lesson_folders(),
        "one mission per lesson folder: {ids:?}"
    );
}

/// How many lesson folders `lessons/` holds.
fn lesson_folders() -> usize {
    std::fs::read_dir(kq_tests::workspace_root().join("lessons"))
        .expect("the lessons folder")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("mission.md").is_file())
        .count()
}

#[test]
fn bundled_lessons_pass_the_lesson_checker_without_warnings() {
    let report = check_lesson_dir(&kq_tests::workspace_root().join("lessons"));
    assert!(
        report.errors.is_empty() && report.warnings.is_empty(),
        "the bundled lessons must be an example teachers can copy:\n{}",
        report.render()
    );
    assert_eq!(
        report.checked.len(),
        lesson_folders(),
        "every bundled lesson folder was checked"
    );
}

#[test]
fn kq_lessons_check_passes_the_bundled_lessons_and_points_at_a_broken_one() {
    let kq = kq_tests::kq_binary();
    let ok = std::process::Command::new(&kq)
        .args(["lessons", "check"])
        .arg(kq_tests::workspace_root().join("lessons"))
        .output()
        .expect("kq runs");
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "the bundled lessons pass: {out}");
    let summary = format!(
        "{} lessons checked, 0 with errors, 0 errors, 0 warnings",
        lesson_folders()
    );
    assert!(out.contains(&summary), "{out}");

    let tmp = tempfile::tempdir().expect("temp dir");
    let bad = tmp.path().join("broken");
    std::fs::create_dir_all(&bad).expect("lesson folder");
    std::fs::write(
        bad.join("mission.md"),
        "---\nformat: 1\nid: broken\ntitle: Broken\norder: 1\nstage: pull\ndifficulty: beginner\nobjectivs: []\n---\nBody\n",
    )
    .expect("mission file");
    let failed = std::process::Command::new(&kq)
        .args(["lessons", "check"])
        .arg(&bad)
        .output()
        .expect("kq runs");
    let out = String::from_utf8_lossy(&failed.stdout);
    assert!(
        !failed.status.success(),
        "a broken lesson makes the check fail: {out}"
    );
    assert!(
        out.contains("broken/mission.md:8:") && out.contains("objectivs"),
        "the error names the file, the line and the misspelt field: {out}"
    );
}

#[test]
fn kq_lessons_check_rejects_a_registry_file_the_embedded_cluster_would_refuse() {
    let kq = kq_tests::kq_binary();
    let tmp = tempfile::tempdir().expect("temp dir");
    // The bundled lessons plus a teacher's catalog addition with a misspelt field.
    let root = tmp.path();
    for entry in std::fs::read_dir(kq_tests::workspace_root().join("lessons")).expect("lessons") {
        let entry = entry.expect("entry");
        if entry.path().is_dir() {
            kq_tests::copy_dir(&entry.path(), &root.join(entry.file_name()));
        }
    }
    std::fs::write(
        root.join("registry.yaml"),
        "format: 1\nrepositories:\n  - name: academy/quiz\n    privat: true\n",
    )
    .expect("registry file");
    let out = std::process::Command::new(&kq)
        .args(["lessons", "check"])
        .arg(root)
        .output()
        .expect("kq runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "a bad registry.yaml fails the check: {text}"
    );
    assert!(
        text.contains("registry.yaml:4:") && text.contains("privat"),
        "the error names the file, the line and the field: {text}"
    );

    // A valid addition passes.
    std::fs::write(
        root.join("registry.yaml"),
        "format: 1\nrepositories:\n  - name: academy/quiz\n    behaviour: {kind: server, ports: [8080], http: [\"/\"], memory_mib: 16}\n    tags:\n      - {tag: \"1.0\", digest: \"sha256:1111111111111111111111111111111111111111111111111111111111111111\", size: 12000000}\n",
    )
    .expect("registry file");
    let out = std::process::Command::new(&kq)
        .args(["lessons", "check"])
        .arg(root)
        .output()
        .expect("kq runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "a valid registry.yaml passes: {text}");
}

#[test]
fn kq_missions_lists_the_curriculum_with_each_missions_state() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let progress = tmp.path().join("progress.json");
    let list = |progress: &std::path::Path| {
        let out = std::process::Command::new(kq_tests::kq_binary())
            .args(["missions", "--lessons"])
            .arg(kq_tests::workspace_root().join("lessons"))
            .arg("--progress")
            .arg(progress)
            .output()
            .expect("kq runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let fresh = list(&progress);
    let lines: Vec<&str> = fresh.lines().collect();
    assert!(
        lines[0].contains("crash-loop-backoff") && lines[0].ends_with("open"),
        "{fresh}"
    );
    assert!(
        lines[1].ends_with("locked (needs crash-loop-backoff)"),
        "{fresh}"
    );

    // A solved first mission opens the next one of its chapter; the Images chapter waits for
    // the rest of the Pods chapter.
    std::fs::write(
        &progress,
        r#"{"version":1,"missions":{"crash-loop-backoff":{"status":"solved","attempts":1,"hintsUsed":2,"startedAt":"2026-01-01T10:00:00Z","solvedAt":"2026-01-01T10:04:12Z","timeToFixSeconds":252}}}"#,
    )
    .expect("progress file");
    let after = list(&progress);
    let lines: Vec<&str> = after.lines().collect();
    assert!(lines[0].ends_with("solved in 4m12s, 2 hints"), "{after}");
    let line = |id: &str| {
        lines
            .iter()
            .find(|l| l.split_whitespace().nth(1) == Some(id))
            .unwrap_or_else(|| panic!("kq missions lists {id}: {after}"))
            .to_string()
    };
    assert!(line("completed-crash-loop").ends_with("open"), "{after}");
    assert!(
        line("image-pull-backoff").ends_with(
            "locked (finish the Pods chapter first: completed-crash-loop, oom-killed, \
             run-container-error, init-container-waiting)"
        ),
        "{after}"
    );
}

/// Copies the bundled lessons into a fresh folder a test may break.
fn bundled_copy(root: &std::path::Path) {
    for entry in std::fs::read_dir(kq_tests::workspace_root().join("lessons")).expect("lessons") {
        let entry = entry.expect("entry");
        if entry.path().is_dir() {
            kq_tests::copy_dir(&entry.path(), &root.join(entry.file_name()));
        }
    }
}

#[test]
fn kq_lessons_check_reports_a_solution_image_missing_from_the_catalog_and_counts_broken_lessons() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path();
    bundled_copy(root);
    let solution = root.join("02-image-pull-backoff/solution/pod.yaml");
    let text = std::fs::read_to_string(&solution).expect("solution");
    assert!(
        text.contains("image: nginx:1.27"),
        "the bundled fix uses nginx:1.27"
    );
    std::fs::write(&solution, text.replace("nginx:1.27", "nginx:1.27-typo")).expect("write");
    // A second broken lesson, so the summary has to count lessons, not errors (the last one:
    // no other mission requires it, so its error stays its own).
    let debrief = root.join("28-pvc-no-storage-class/debrief.md");
    std::fs::remove_file(&debrief).expect("remove debrief");

    let out = std::process::Command::new(kq_tests::kq_binary())
        .args(["lessons", "check"])
        .arg(root)
        .output()
        .expect("kq runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "a broken lesson makes `kq lessons check` exit non-zero: {text}"
    );
    assert!(
        text.contains(
            "02-image-pull-backoff/solution/pod.yaml:12: the solution's image `nginx:1.27-typo`"
        ),
        "the missing image is reported at its file and line: {text}"
    );
    assert!(
        text.contains("28-pvc-no-storage-class/debrief.md: missing the debrief"),
        "the other lesson's error is in the same run: {text}"
    );
    let summary = format!(
        "{} lessons checked, 2 with errors, 2 errors, 0 warnings",
        lesson_folders()
    );
    assert!(
        text.contains(&summary),
        "the summary counts every lesson checked, broken ones included, and how many are \
         broken: {text}"
    );
}
