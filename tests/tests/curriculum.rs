//! The bundled curriculum loads cleanly: every lesson folder parses, ids are unique, and the
//! order is the customer's series.

use kq_engine::mission::Catalog;

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
