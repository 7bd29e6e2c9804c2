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
