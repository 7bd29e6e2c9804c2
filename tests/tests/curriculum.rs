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
        ids,
        [
            "crash-loop-backoff",
            "image-pull-backoff",
            "pending-insufficient-cpu"
        ],
        "the first three missions follow the customer's series"
    );
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
        3,
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
    assert!(
        out.contains("3 lessons checked, 0 errors, 0 warnings"),
        "{out}"
    );

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
            copy_dir(&entry.path(), &root.join(entry.file_name()));
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
        text.contains("registry.yaml") && text.contains("line 4") && text.contains("privat"),
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

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("target folder");
    for entry in std::fs::read_dir(from).expect("source folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
