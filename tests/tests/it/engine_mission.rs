//! Lessons: the loader's error messages (file, line, field), objective evaluation including
//! bypasses that must fail, safe rendering of hostile Markdown, and `check_lesson_dir`.

use std::path::{Path, PathBuf};

use crate::engine_fixtures::*;
use kq_engine::mission::{
    Catalog, ObjectiveStatus, Snapshot, all_met, check_lesson_dir, evaluate, load_mission,
    render_markdown,
};
use serde_json::json;

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("files live in a folder"))
        .expect("temp dir is writable");
    std::fs::write(p, text).expect("temp dir is writable");
}

const MISSION: &str = "---
format: 1
id: image-pull-backoff
title: The image that never arrives
order: 2
stage: pull
difficulty: beginner
requires: []
expected_symptoms:
  - { pod: web, stage: pull, reason: ImagePullBackOff }
objectives:
  - id: web-ready
    title: web is Running and Ready
    check: { kind: pod-ready, pod: web }
  - id: web-stable
    title: web stays up for 30 seconds
    check: { kind: no-restarts-for, pod: web, seconds: 30 }
  - id: image-pulled
    title: the node can pull web's image
    check: { kind: image-resolvable, pod: web }
  - id: still-nginx
    title: web still serves nginx
    check: { kind: container-image, pod: web, container: web, not: nginx:nonexistent-tag-xyz-123, repository: nginx }
hints:
  - Look at the pod's events.
  - The events name the image the node tried to pull.
  - Set the image to nginx:1.25 with kubectl set image.
---

# The image that never arrives

The pod `web` never starts.
";

const BROKEN: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:nonexistent-tag-xyz-123
";

fn lesson_dir(root: &Path, mission: &str) -> PathBuf {
    let d = root.join("02-image-pull-backoff");
    write(&d, "mission.md", mission);
    write(&d, "manifests/pod.yaml", BROKEN);
    write(
        &d,
        "solution/pod.yaml",
        &BROKEN.replace("nonexistent-tag-xyz-123", "1.25"),
    );
    write(
        &d,
        "debrief.md",
        "# Debrief\n\n## What happened\n\nThe tag did not exist.\n",
    );
    d
}

fn load_error(mission: &str, extra: impl FnOnce(&Path)) -> String {
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = lesson_dir(tmp.path(), mission);
    extra(&d);
    match load_mission(&d) {
        Ok(_) => panic!("the lesson must be rejected"),
        Err(e) => e.to_string().replace(&format!("{}/", d.display()), ""),
    }
}

#[test]
fn the_reference_lesson_loads() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = lesson_dir(
        tmp.path(),
        &MISSION.replace("requires: []", "chapter: images\nrequires: []"),
    );
    let m = load_mission(&d).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.summary.id, "image-pull-backoff");
    assert_eq!((m.objectives.len(), m.hints.len()), (4, 3));
    let detail = kq_engine::ipc::MissionDetail::from(&m);
    assert_eq!(detail.namespace, "kq-image-pull-backoff");
    assert_eq!(detail.hint_count, 3);
    assert!(
        detail.briefing_html.contains("<code>web</code>"),
        "{}",
        detail.briefing_html
    );
    let report = check_lesson_dir(&d);
    assert!(report.is_ok() && report.warnings.is_empty(), "{report:?}");
    assert_eq!(
        report.render(),
        "1 lesson checked, 0 with errors, 0 errors, 0 warnings\n"
    );
}

#[test]
fn a_chapter_is_one_of_the_nine_and_a_missing_one_is_a_warning() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = lesson_dir(
        tmp.path(),
        &MISSION.replace("requires: []", "chapter: imagez\nrequires: []"),
    );
    let msg = load_mission(&d)
        .expect_err("an unknown chapter is rejected")
        .to_string()
        .replace(&format!("{}/", d.display()), "");
    assert!(
        msg.starts_with(
            "mission.md:8: chapter: unknown variant `imagez`, expected one of `pods`, `images`, \
             `scheduling`, `config`, `probes`, `workloads`, `networking`, `security`, `storage`"
        ),
        "the chapter's line and every valid chapter: {msg}"
    );

    let tmp = tempfile::tempdir().expect("temp dir");
    let d = lesson_dir(tmp.path(), MISSION);
    let m = load_mission(&d).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        m.summary.chapter,
        kq_engine::mission::Chapter::Pods,
        "a lesson written before chapters still loads, in the first chapter"
    );
    let report = check_lesson_dir(&d);
    assert!(report.is_ok(), "{report:?}");
    let warnings: Vec<String> = report.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warnings.iter().any(|w| w.contains(
            "no `chapter:`, so the map shows the mission under Pods (`chapter: pods`); name one \
             of `pods`, `images`,"
        )),
        "the missing chapter is a warning naming the fallback: {warnings:?}"
    );
}

#[test]
fn an_unknown_field_is_named_with_its_line() {
    let msg = load_error(&MISSION.replace("hints:", "hintz:"), |_| {});
    assert!(msg.starts_with("mission.md:"), "{msg}");
    assert!(msg.contains("unknown field `hintz`"), "{msg}");
    let line: usize = msg
        .split(':')
        .nth(1)
        .and_then(|l| l.parse().ok())
        .expect("a line number");
    assert_eq!(line, 24, "the line of `hintz:` in mission.md: {msg}");
}

#[test]
fn an_unknown_field_inside_a_check_names_the_objective() {
    let msg = load_error(
        &MISSION.replace("pod-ready, pod: web", "pod-ready, podd: web"),
        |_| {},
    );
    assert_eq!(
        msg,
        "mission.md:14: objectives[0].check: unknown field `podd`, expected `pod`"
    );
}

#[test]
fn an_unknown_check_kind_is_rejected_with_the_known_ones() {
    let msg = load_error(
        &MISSION.replace("kind: pod-ready", "kind: pod-healthy"),
        |_| {},
    );
    assert!(
        msg.starts_with("mission.md:14: objectives[0].check: unknown variant `pod-healthy`"),
        "{msg}"
    );
    assert!(
        msg.contains("pod-healthy") && msg.contains("pod-ready"),
        "{msg}"
    );
}

#[test]
fn a_newer_format_is_reported_as_such() {
    let msg = load_error(&MISSION.replace("format: 1", "format: 2"), |_| {});
    assert_eq!(
        msg,
        "mission.md:2: format: unsupported format `2`: this version of KubeQuest reads format 1; \
         update KubeQuest or convert the lesson"
    );
}

#[test]
fn duplicate_objective_ids_and_too_few_hints_are_rejected() {
    let msg = load_error(&MISSION.replace("id: web-stable", "id: web-ready"), |_| {});
    assert!(
        msg.starts_with("mission.md:15: objectives[1].id: duplicate objective id `web-ready`"),
        "{msg}"
    );
    let msg = load_error(
        &MISSION.replace(
            "  - Set the image to nginx:1.25 with kubectl set image.\n",
            "",
        ),
        |_| {},
    );
    assert!(
        msg.starts_with("mission.md:24: hints: needs at least 3 hints"),
        "{msg}"
    );
}

#[test]
fn a_broken_manifest_points_at_its_own_file_and_line() {
    let msg = load_error(MISSION, |d| {
        write(
            d,
            "manifests/pod.yaml",
            &format!("{BROKEN}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n"),
        );
    });
    assert!(
        msg.starts_with("manifests/pod.yaml:13:"),
        "second document, line of the error: {msg}"
    );
    assert!(msg.contains("not valid YAML"), "{msg}");

    let msg = load_error(MISSION, |d| {
        write(d, "manifests/pod.yaml", &BROKEN.replace("kind: Pod\n", ""))
    });
    assert_eq!(
        msg,
        "manifests/pod.yaml:1: kind: missing `kind` (e.g. `Pod`)"
    );
    let msg = load_error(MISSION, |d| {
        write(
            d,
            "solution/pod.yaml",
            &BROKEN.replace("  name: web\n", "  labels: {}\n"),
        )
    });
    assert_eq!(
        msg,
        "solution/pod.yaml:1: metadata.name: the Pod has no `metadata.name`"
    );
}

#[test]
fn a_missing_debrief_or_a_bad_registry_is_an_error() {
    let msg = load_error(MISSION, |d| {
        std::fs::remove_file(d.join("debrief.md")).expect("remove")
    });
    assert!(msg.starts_with("debrief.md: missing the debrief"), "{msg}");
    let msg = load_error(MISSION, |d| {
        write(d, "registry.yaml", "images:\n  - name: [x\n")
    });
    assert!(
        msg.starts_with("registry.yaml:2:") && msg.contains("not valid YAML"),
        "{msg}"
    );
}

#[test]
fn every_problem_of_a_lesson_is_listed_by_the_checker() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = lesson_dir(tmp.path(), MISSION);
    std::fs::remove_file(d.join("debrief.md")).expect("remove");
    write(&d, "solution/pod.yaml", "kind: Pod\n");
    let report = check_lesson_dir(tmp.path());
    let lines: Vec<String> = report
        .errors
        .iter()
        .map(|e| e.to_string().replace(&format!("{}/", d.display()), ""))
        .collect();
    assert_eq!(
        lines.len(),
        3,
        "the document's two missing fields and the missing debrief, all in one run: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("solution/pod.yaml:1: metadata.name:")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("solution/pod.yaml:1: apiVersion:")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("debrief.md: missing")),
        "{lines:?}"
    );
}

#[test]
fn the_checker_warns_about_raw_html_unsafe_links_and_unknown_pods() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mission = MISSION
        .replace(
            "The pod `web` never starts.",
            "The pod `web` never starts.\n\n<div>hi</div>\n\n[docs](javascript:alert(1))",
        )
        .replace(
            "kind: image-resolvable, pod: web",
            "kind: image-resolvable, pod: api",
        );
    let d = lesson_dir(tmp.path(), &mission);
    let report = check_lesson_dir(&d);
    assert!(report.is_ok(), "warnings only: {report:?}");
    let w: Vec<String> = report
        .warnings
        .iter()
        .map(|e| e.to_string().replace(&format!("{}/", d.display()), ""))
        .collect();
    assert!(
        w.iter().any(|l| l.starts_with("mission.md:34: raw HTML")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|l| l.starts_with("mission.md:36: link to `javascript:alert(1)` will be dropped")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|l| l.contains("objective `image-pulled` checks pod `api`")),
        "{w:?}"
    );
}

#[test]
fn a_catalog_of_bundled_style_lessons_reports_requires_problems() {
    let tmp = tempfile::tempdir().expect("temp dir");
    lesson_dir(
        tmp.path(),
        &MISSION.replace("requires: []", "requires: [crash-loop-backoff]"),
    );
    let c = Catalog::load(&[tmp.path().to_owned()]);
    assert!(c.missions.is_empty());
    let msg = c.problems[0].to_string();
    assert!(msg.ends_with("mission.md:8: requires: `crash-loop-backoff` is not a mission in this curriculum, so `image-pull-backoff` could never be unlocked"), "{msg}");
}

// ---------------------------------------------------------------------------------------------
// Objectives

fn loaded() -> kq_engine::mission::Mission {
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = lesson_dir(tmp.path(), MISSION);
    let m = load_mission(&d).unwrap_or_else(|e| panic!("{e}"));
    drop(tmp);
    m
}

const NS: &str = "kq-image-pull-backoff";

fn broken_web() -> k8s_openapi::api::core::v1::Pod {
    let image = "nginx:nonexistent-tag-xyz-123";
    let mut v = scheduled(pod_json(NS, "web", "u1", json!([container("web", image)])));
    v["status"]["containerStatuses"] = json!([waiting(
        "web",
        image,
        "ImagePullBackOff",
        Some("Back-off pulling image")
    )]);
    pod(v)
}

fn fixed_web(
    uid: &str,
    image: &str,
    ready_since: i64,
    started: i64,
) -> k8s_openapi::api::core::v1::Pod {
    let mut v = scheduled(pod_json(NS, "web", uid, json!([container("web", image)])));
    v["status"]["phase"] = json!("Running");
    v["status"]["conditions"] = conditions(true, true, true, ready_since);
    v["status"]["containerStatuses"] = json!([running("web", image, started, true, 0)]);
    pod(v)
}

fn statuses(
    m: &kq_engine::mission::Mission,
    pods: &[k8s_openapi::api::core::v1::Pod],
    now: i64,
) -> Vec<(String, ObjectiveStatus, String)> {
    evaluate(
        &m.objectives,
        &Snapshot {
            pods,
            events: &[],
            now: at(now),
        },
    )
    .into_iter()
    .map(|r| (r.id, r.status, r.reason))
    .collect()
}

#[test]
fn the_broken_state_meets_no_objective() {
    let m = loaded();
    let s = statuses(&m, &[broken_web()], 60);
    assert_eq!(
        s,
        [
            (
                "web-ready".into(),
                ObjectiveStatus::NotMet,
                "web is ImagePullBackOff (0/1 ready)".into()
            ),
            (
                "web-stable".into(),
                ObjectiveStatus::NotMet,
                "web is ImagePullBackOff (0/1 ready)".into()
            ),
            (
                "image-pulled".into(),
                ObjectiveStatus::NotMet,
                "web: web cannot pull nginx:nonexistent-tag-xyz-123 (ImagePullBackOff)".into()
            ),
            (
                "still-nginx".into(),
                ObjectiveStatus::NotMet,
                "web/web still uses the image it started with".into()
            ),
        ]
    );
}

#[test]
fn the_fix_passes_every_objective_once_stable() {
    let m = loaded();
    let pods = [fixed_web("u1", "nginx:1.25", 70, 69)];
    let s = statuses(&m, &pods, 80);
    assert_eq!(s[0].1, ObjectiveStatus::Met);
    assert_eq!(
        (s[1].1, s[1].2.as_str()),
        (
            ObjectiveStatus::Waiting,
            "web has been Ready for 10s of 30s"
        )
    );
    assert!(!all_met(&evaluate(
        &m.objectives,
        &Snapshot {
            pods: &pods,
            events: &[],
            now: at(80)
        }
    )));
    let results = evaluate(
        &m.objectives,
        &Snapshot {
            pods: &pods,
            events: &[],
            now: at(100),
        },
    );
    assert!(all_met(&results), "{results:?}");
}

#[test]
fn deleting_and_reapplying_a_fixed_pod_is_a_fix_too() {
    let m = loaded();
    let pods = [fixed_web("u2-recreated", "nginx:1.25", 200, 199)];
    assert!(all_met(&evaluate(
        &m.objectives,
        &Snapshot {
            pods: &pods,
            events: &[],
            now: at(300)
        }
    )));
}

#[test]
fn a_restart_resets_the_stability_window() {
    let m = loaded();
    // Ready since t=70, but the container restarted at t=95.
    let pods = [fixed_web("u1", "nginx:1.25", 70, 95)];
    let s = statuses(&m, &pods, 110);
    assert_eq!(
        (s[1].1, s[1].2.as_str()),
        (
            ObjectiveStatus::Waiting,
            "web has been Ready for 15s of 30s"
        )
    );
}

#[test]
fn bypasses_fail() {
    let m = loaded();
    // Deleting the pod is not a fix.
    let s = statuses(&m, &[], 100);
    assert!(
        s.iter().all(|(_, st, _)| *st == ObjectiveStatus::NotMet),
        "{s:?}"
    );
    assert_eq!(
        s[0].2,
        "there is no pod named web (deleting it is not a fix)"
    );

    // Replacing it with a healthy pod of another name does not pass.
    let mut other = fixed_web("u3", "nginx:1.25", 10, 9);
    other.metadata.name = Some("web2".into());
    let s = statuses(&m, &[other], 100);
    assert!(
        s.iter().all(|(_, st, _)| *st == ObjectiveStatus::NotMet),
        "{s:?}"
    );

    // Replacing the app with an unrelated image under the same name does not pass.
    let s = statuses(&m, &[fixed_web("u4", "busybox:1.36", 10, 9)], 100);
    assert_eq!(
        s[3],
        (
            "still-nginx".into(),
            ObjectiveStatus::NotMet,
            "web/web uses busybox:1.36, not an image from nginx".into()
        )
    );

    // A Ready pod that is being deleted does not count.
    let mut going = fixed_web("u1", "nginx:1.25", 10, 9);
    going.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(90)));
    let s = statuses(&m, &[going], 100);
    assert_eq!(s[0].2, "web is being deleted");
}

// ---------------------------------------------------------------------------------------------
// Rendering

#[test]
fn a_hostile_lesson_renders_inert() {
    let md = r#"# Title

<script>alert('x')</script>

<img src=x onerror="alert(1)">

Inline <b onmouseover="alert(2)">bold</b> and <iframe src="https://evil.example"></iframe>.

[click](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD4=) [file](file:///etc/passwd)
[spaced](java	script:alert(4)) <javascript:alert(5)> [rel](../../secrets)

![pic](javascript:alert(6)) ![ok](https://example.com/a.png)

[docs](https://kubernetes.io/docs/) [mail](mailto:teacher@example.com) [below](#what-happened)

```yaml
image: nginx:1.25
```

## What happened
"#;
    let html = render_markdown(md);
    let lower = html.to_ascii_lowercase();
    // Every URL attribute left in the output is http(s), mailto or an in-page anchor.
    for attr in ["href=\"", "src=\""] {
        for rest in lower.split(attr).skip(1) {
            let url = rest.split('"').next().unwrap_or_default();
            assert!(
                url.starts_with("https://")
                    || url.starts_with("http://")
                    || url.starts_with("mailto:")
                    || url.starts_with('#'),
                "unsafe URL `{url}` survived: {html}"
            );
        }
    }
    for tag in ["<script", "<img src=x", "<iframe", "<b "] {
        assert!(
            !lower.contains(tag),
            "`{tag}` must not survive as markup: {html}"
        );
    }
    assert!(!lower.contains("<script"), "{html}");
    assert!(
        lower.contains("&lt;script&gt;"),
        "raw HTML is shown escaped: {html}"
    );
    for handler in ["onerror=\"", "onmouseover=\"", "onerror=x"] {
        assert!(
            !lower.contains(handler),
            "no live event handler attributes: {html}"
        );
    }
    assert!(
        html.contains(">click<") || html.contains("click"),
        "link text is kept: {html}"
    );
    assert!(
        html.contains("<a href=\"https://kubernetes.io/docs/\">docs</a>"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"mailto:teacher@example.com\">mail</a>"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"#what-happened\">below</a>"),
        "{html}"
    );
    assert!(
        html.contains("<img src=\"https://example.com/a.png\" alt=\"ok\" />"),
        "{html}"
    );
    assert!(
        html.contains("<code class=\"language-yaml\">"),
        "code blocks carry a language class: {html}"
    );
    assert!(
        html.contains("id=\"what-happened\""),
        "headings have ids: {html}"
    );
    assert!(!lower.contains("style="), "no inline styles: {html}");
}

// ---------------------------------------------------------------------------------------------
// Lessons are input from teachers: safe reads, every error in one run, cluster-scoped objects

/// Loads the lesson on another thread and gives up after ten seconds, so a loader that blocks
/// (on a FIFO, say) fails the test instead of hanging the suite.
fn load_within_seconds(d: &Path) -> Result<kq_engine::mission::Mission, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = d.to_owned();
    std::thread::spawn(move || {
        let _ = tx.send(load_mission(&dir).map_err(|e| e.to_string()));
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("loading a lesson must never block: it did not finish within 10 s")
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(ok.success(), "mkfifo {}", path.display());
}

#[cfg(unix)]
#[test]
fn a_fifo_as_debrief_or_manifest_is_refused_at_once_instead_of_hanging() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = lesson_dir(tmp.path(), MISSION);
    mkfifo(&d.join("debrief.md"));
    let msg = load_within_seconds(&d).expect_err("a FIFO debrief must be refused");
    assert!(
        msg.contains("debrief.md: refused") && msg.contains("FIFO"),
        "the error names the file and says it is a FIFO: {msg}"
    );

    let tmp = tempfile::tempdir().expect("temp dir");
    let d = lesson_dir(tmp.path(), MISSION);
    mkfifo(&d.join("manifests/pod.yaml"));
    let msg = load_within_seconds(&d).expect_err("a FIFO manifest must be refused");
    assert!(
        msg.contains("manifests/pod.yaml: refused") && msg.contains("FIFO"),
        "the error names the manifest and says it is a FIFO: {msg}"
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_as_the_roots_registry_is_refused_at_once_and_a_plain_one_is_read() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().to_owned();
    assert!(
        kq_engine::mission::root_registry(&root)
            .expect("a root without registry.yaml is fine")
            .is_none(),
        "no registry.yaml, nothing to add"
    );
    mkfifo(&root.join("registry.yaml"));
    let (tx, rx) = std::sync::mpsc::channel();
    let r = root.clone();
    std::thread::spawn(move || {
        let _ = tx.send(kq_engine::mission::root_registry(&r).map_err(|e| e.to_string()));
    });
    let msg = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("reading the root registry must never block the app's start")
        .expect_err("a FIFO registry.yaml is refused");
    assert!(
        msg.contains("registry.yaml: refused") && msg.contains("FIFO"),
        "the error names the file and says why: {msg}"
    );
    std::fs::remove_file(root.join("registry.yaml")).expect("remove fifo");
    std::fs::write(root.join("registry.yaml"), "images: []\n").expect("registry");
    let (name, text) = kq_engine::mission::root_registry(&root)
        .expect("a plain registry.yaml is read")
        .expect("and returned");
    assert!(name.ends_with("registry.yaml"), "{name}");
    assert_eq!(text, "images: []\n");
}

#[cfg(unix)]
#[test]
fn a_symlink_to_dev_zero_or_out_of_the_lesson_folder_is_refused() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = lesson_dir(tmp.path(), MISSION);
    std::fs::remove_file(d.join("debrief.md")).expect("remove");
    std::os::unix::fs::symlink("/dev/zero", d.join("debrief.md")).expect("symlink");
    let msg = load_within_seconds(&d).expect_err("a debrief linked to /dev/zero must be refused");
    assert!(
        msg.contains("debrief.md: refused") && msg.contains("/dev/zero"),
        "the error says where the link points, rather than reading gigabytes: {msg}"
    );

    // A file outside the lesson folder, e.g. a secret next to it, is never loaded.
    let secret = tmp.path().join("secret.yaml");
    std::fs::write(
        &secret,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: secret\n",
    )
    .expect("secret");
    std::os::unix::fs::symlink(&secret, d.join("manifests/stolen.yaml")).expect("symlink");
    std::fs::write(d.join("debrief.md"), "# Debrief\n").expect("debrief");
    let msg = load_within_seconds(&d).expect_err("a manifest linked out of the folder");
    assert!(
        msg.contains("manifests/stolen.yaml: refused") && msg.contains("outside"),
        "a symlink out of the lesson folder is refused, not loaded silently: {msg}"
    );

    // A lesson folder that is itself a link to elsewhere is refused by the catalog.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let real = lesson_dir(elsewhere.path(), MISSION);
    let root = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(&real, root.path().join("02-image-pull-backoff")).expect("link");
    let c = Catalog::load(&[root.path().to_owned()]);
    assert!(
        c.missions.is_empty(),
        "a lesson folder linked from outside the lessons root is not loaded"
    );
    assert!(
        c.problems.iter().any(|p| p.to_string().contains("outside")),
        "and the catalog says why: {:?}",
        c.problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    );
}

#[test]
fn an_oversized_lesson_file_is_refused_without_reading_it_all() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = lesson_dir(tmp.path(), MISSION);
    let cap = usize::try_from(kq_engine::mission::MAX_LESSON_FILE_BYTES).expect("fits");
    let mut big = String::from(BROKEN);
    big.push_str(&"# padding\n".repeat(cap / 10 + 1));
    write(&d, "manifests/pod.yaml", &big);
    let msg = load_within_seconds(&d).expect_err("a manifest over the cap must be refused");
    assert!(
        msg.contains("manifests/pod.yaml: refused") && msg.contains("larger than 3 MiB"),
        "the error names the file and the cap: {msg}"
    );
}

#[test]
fn five_mistakes_in_a_lesson_are_all_reported_in_one_run_each_at_its_line() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mission = MISSION
        .replace("stage: pull\n", "stage: pulll\n")
        .replace("difficulty: beginner", "difficulty: easy")
        .replace("kind: image-resolvable", "kind: image-resolvabel");
    let d = lesson_dir(tmp.path(), &mission);
    write(
        &d,
        "manifests/pod.yaml",
        &BROKEN.replace("  name: web\n", "  name: web\n  namespace: default\n"),
    );
    write(
        &d,
        "solution/pod.yaml",
        &BROKEN.replace("apiVersion: v1\n", ""),
    );
    let report = check_lesson_dir(tmp.path());
    let lines: Vec<String> = report
        .errors
        .iter()
        .map(|e| e.to_string().replace(&format!("{}/", d.display()), ""))
        .collect();
    let expected = [
        "mission.md:6: stage: unknown variant `pulll`",
        "mission.md:7: difficulty: unknown variant `easy`",
        "mission.md:20: objectives[2].check: unknown variant `image-resolvabel`",
        "manifests/pod.yaml:5: metadata.namespace:",
        "solution/pod.yaml:1: apiVersion: missing `apiVersion`",
    ];
    for e in expected {
        assert!(
            lines.iter().any(|l| l.starts_with(e)),
            "every mistake is reported in the same run, at its own line; missing `{e}` in \
             {lines:#?}"
        );
    }
    assert_eq!(
        lines.len(),
        5,
        "exactly the five mistakes, nothing invented: {lines:#?}"
    );
    assert!(
        report
            .render()
            .ends_with("1 lesson checked, 1 with errors, 5 errors, 0 warnings\n"),
        "the broken lesson is counted as checked and as broken: {}",
        report.render()
    );
}

#[test]
fn a_manifest_namespace_is_one_error_at_its_own_line_and_the_mission_namespace_is_allowed() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = lesson_dir(tmp.path(), MISSION);
    write(
        &d,
        "manifests/pod.yaml",
        &BROKEN.replace("  name: web\n", "  name: web\n  namespace: kube-system\n"),
    );
    let report = check_lesson_dir(&d);
    let lines: Vec<String> = report
        .errors
        .iter()
        .map(|e| e.to_string().replace(&format!("{}/", d.display()), ""))
        .collect();
    assert_eq!(
        lines,
        [
            "manifests/pod.yaml:5: metadata.namespace: Pod `web` sets metadata.namespace to \
          `kube-system`; remove it: the mission applies everything into its own namespace \
          (`kq-image-pull-backoff`)"
        ],
        "one error, at the line of `namespace:`, and no invented follow-up about pod `web`"
    );

    write(
        &d,
        "manifests/pod.yaml",
        &BROKEN.replace(
            "  name: web\n",
            "  name: web\n  namespace: kq-image-pull-backoff\n",
        ),
    );
    let m = load_within_seconds(&d).expect("naming the mission's own namespace is allowed");
    assert_eq!(m.manifests.len(), 1);
}

const NODE: &str = "apiVersion: v1
kind: Node
metadata:
  name: gpu-1
";

#[test]
fn cluster_scoped_objects_need_a_declaration_and_only_nodes_can_be_declared() {
    // Undeclared: reported at the object's line, in manifests/ and solution/ alike.
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = lesson_dir(tmp.path(), MISSION);
    write(&d, "manifests/node.yaml", NODE);
    write(
        &d,
        "solution/rbac.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: admin\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n",
    );
    let report = check_lesson_dir(&d);
    let lines: Vec<String> = report
        .errors
        .iter()
        .map(|e| e.to_string().replace(&format!("{}/", d.display()), ""))
        .collect();
    for e in [
        "manifests/node.yaml:1: kind: Node `gpu-1` is cluster-scoped but not declared",
        "solution/rbac.yaml:1: kind: ClusterRoleBinding `admin` is cluster-scoped",
        "solution/rbac.yaml:6: kind: Namespace `prod` is cluster-scoped",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(e)),
            "every cluster-scoped object is reported at its line; missing `{e}` in {lines:#?}"
        );
    }
    assert_eq!(lines.len(), 3, "{lines:#?}");

    // Declared: a node loads and the mission says it needs cluster-scoped objects.
    let declared = MISSION.replace(
        "expected_symptoms:",
        "cluster_scoped:\n  - { kind: Node, name: gpu-1 }\nexpected_symptoms:",
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = lesson_dir(tmp.path(), &declared);
    write(&d, "manifests/node.yaml", NODE);
    let m = load_within_seconds(&d).expect("a declared node loads");
    assert!(
        m.declares_cluster_scoped(),
        "the session must be able to tell this mission needs the embedded cluster"
    );
    assert!(
        !load_within_seconds(&lesson_dir(
            tempfile::tempdir().expect("tmp").path(),
            MISSION
        ))
        .expect("loads")
        .declares_cluster_scoped(),
        "a mission without declarations runs anywhere"
    );

    // Declaring a kind the embedded cluster does not use, or an object no manifest creates.
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = lesson_dir(
        tmp.path(),
        &MISSION.replace(
            "expected_symptoms:",
            "cluster_scoped:\n  - { kind: Namespace, name: prod }\n  - { kind: Node, name: gpu-2 }\nexpected_symptoms:",
        ),
    );
    let report = check_lesson_dir(&d);
    let lines: Vec<String> = report
        .errors
        .iter()
        .map(|e| e.to_string().replace(&format!("{}/", d.display()), ""))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].starts_with("mission.md:10: cluster_scoped[0]: `Namespace` cannot be declared"),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with(
            "mission.md:11: cluster_scoped[1]: declares Node `gpu-2`, but manifests/ does not create it"
        ),
        "{lines:#?}"
    );
}

/// The embedded cluster's catalog, reduced to what these tests need.
struct OnlyNginx125;

impl kq_engine::mission::ImageCatalog for OnlyNginx125 {
    fn missing_image(&self, _: &[(String, String)], image: &str) -> Option<String> {
        (image != "nginx:1.25").then(|| format!("{image}: not found"))
    }
    fn registry_problem(&self, _: &str, _: &str) -> Option<(Option<usize>, String)> {
        None
    }
}

#[test]
fn a_solution_image_the_catalog_does_not_have_is_reported_at_its_line() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = lesson_dir(tmp.path(), MISSION);
    let report = kq_engine::mission::check_lessons(&d, Some(&OnlyNginx125));
    assert!(report.is_ok(), "nginx:1.25 exists: {}", report.render());

    write(
        &d,
        "solution/pod.yaml",
        &BROKEN.replace("nonexistent-tag-xyz-123", "1.255"),
    );
    let report = kq_engine::mission::check_lessons(&d, Some(&OnlyNginx125));
    let lines: Vec<String> = report
        .errors
        .iter()
        .map(|e| e.to_string().replace(&format!("{}/", d.display()), ""))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("solution/pod.yaml:8: the solution's image `nginx:1.255` is not in"),
        "a reference fix that could never pull its image is an error at the image's line: {lines:#?}"
    );
}
