//! The teachers' guide's examples are lessons that work.
//!
//! `lessons/README.md` ends with complete missions a teacher can copy file by file. This test
//! copies them out of the guide the same way (each file is a line `` `path`: `` followed by a
//! fenced block), then proves each as mission CI proves a bundled lesson: the checker is clean,
//! the broken state shows its symptoms and the reference fix solves it, the negative controls
//! fail, and `kubectl describe` shows the evidence. A guide whose example stopped loading or
//! solving would teach teachers a format that does not work.

use std::path::{Path, PathBuf};

use crate::mission_ci::{
    checker_and_debrief, deleting_the_pod, describe_shows_evidence, symptoms_then_fix,
    unrelated_workloads,
};

/// One example: the folder the guide says to save it in, and its files.
struct Example {
    folder: String,
    files: Vec<(String, String)>,
}

/// The examples under the guide's "complete examples" heading, each introduced by a `###`
/// heading and a sentence naming its folder (`` Save these four files in `41-picky-api/` ``).
fn examples(guide: &str) -> Vec<Example> {
    let start = guide
        .find("complete example")
        .expect("the guide has a complete-examples section");
    let mut out: Vec<Example> = Vec::new();
    let mut lines = guide[start..].lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with("### ") {
            out.push(Example {
                folder: String::new(),
                files: Vec::new(),
            });
            continue;
        }
        let Some(ex) = out.last_mut() else { continue };
        if ex.folder.is_empty()
            && let Some(at) = line.find("files in `")
        {
            let rest = &line[at + "files in `".len()..];
            if let Some(end) = rest.find('`') {
                ex.folder = rest[..end].trim_end_matches('/').to_owned();
            }
            continue;
        }
        let path = line
            .strip_prefix('`')
            .and_then(|l| l.strip_suffix("`:"))
            .filter(|p| !p.contains('`'));
        let Some(path) = path else { continue };
        let mut fence = lines.next().unwrap_or_default();
        while fence.trim().is_empty() {
            fence = lines.next().unwrap_or_default();
            if lines.peek().is_none() {
                break;
            }
        }
        let ticks = fence.len() - fence.trim_start_matches('`').len();
        assert!(ticks >= 3, "`{path}`: is not followed by a fenced block");
        let close = "`".repeat(ticks);
        let mut body = String::new();
        for l in lines.by_ref() {
            if l == close {
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        ex.files.push((path.to_owned(), body));
    }
    out
}

fn write_example(root: &Path, ex: &Example) -> PathBuf {
    let dir = root.join(&ex.folder);
    for (path, text) in &ex.files {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().expect("a file in a folder")).expect("folder");
        std::fs::write(&file, text).expect("write the example's file");
    }
    dir
}

#[test]
fn the_guide_s_examples_pass_the_checker_and_mission_ci() {
    let guide_path = kq_tests::workspace_root().join("lessons/README.md");
    let guide = std::fs::read_to_string(&guide_path).expect("the teachers' guide");
    let found = examples(&guide);
    let names: Vec<&str> = found.iter().map(|e| e.folder.as_str()).collect();
    assert_eq!(
        names,
        ["41-picky-api", "42-stalled-rollout"],
        "the guide shows a pod mission and then a workload mission"
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    for ex in &found {
        let files: Vec<&str> = ex.files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(files.len(), 4, "{}: four files, got {files:?}", ex.folder);
        let dir = write_example(tmp.path(), ex);
        let proofs = [
            checker_and_debrief(&dir),
            symptoms_then_fix(&dir),
            deleting_the_pod(&dir),
            unrelated_workloads(&dir),
            describe_shows_evidence(&dir),
        ];
        eprintln!("{}:\n  {}", ex.folder, proofs.join("\n  "));
    }
}
