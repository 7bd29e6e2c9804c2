//! Lessons: the loader's error messages (file, line, field), objective evaluation including
//! bypasses that must fail, safe rendering of hostile Markdown, and `check_lesson_dir`.

mod engine_fixtures;

use std::path::{Path, PathBuf};

use engine_fixtures::*;
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
    let d = lesson_dir(tmp.path(), MISSION);
    let m = load_mission(&d).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.summary.id, "image-pull-backoff");
    assert_eq!((m.objectives.len(), m.hints.len()), (4, 3));
    let detail = m.detail();
    assert_eq!(detail.namespace, "kq-image-pull-backoff");
    assert_eq!(detail.hint_count, 3);
    assert!(
        detail.briefing_html.contains("<code>web</code>"),
        "{}",
        detail.briefing_html
    );
    let report = check_lesson_dir(&d);
    assert!(report.is_ok() && report.warnings.is_empty(), "{report:?}");
    assert_eq!(report.render(), "1 lesson checked, 0 errors, 0 warnings\n");
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
    assert_eq!(lines.len(), 2, "{lines:?}");
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
                "web/web still uses nginx:nonexistent-tag-xyz-123".into()
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
