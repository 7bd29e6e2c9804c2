//! Mission CI: every lesson folder under `lessons/` proves itself on the embedded cluster.
//!
//! Lessons are discovered when the tests run, so adding a folder adds its checks with no code
//! change. Each test runs every lesson (in parallel, each on a fresh embedded cluster with a
//! paused clock moved only by `advance`, so results are deterministic) and fails with one line
//! per lesson, naming it, so one broken lesson never hides the others:
//!
//! 1. the folder passes `kq lessons check` (errors and warnings) and its debrief renders to safe
//!    HTML with the customer's outline, in order, a mental model that marks where the pod was
//!    stuck, and a "commands you mastered" section holding every `kubectl` command its hints
//!    mention;
//! 2. started through the engine, the broken state shows every expected symptom (the reason at
//!    the stage, on the same pipeline the learner sees) and passes no objective set for five
//!    minutes; the reference fix, applied as a learner would (in place, or delete and re-apply
//!    when the cluster refuses an immutable change), meets every objective and keeps meeting
//!    them;
//! 3. negative controls: deleting the broken pod, running the fixed app under another name,
//!    or running an unrelated image under the mission's pod name does not solve the mission;
//! 4. real `kubectl describe pod` shows the evidence the pipeline points at (for a
//!    PodDisruptionBudget, `kubectl describe pdb` its allowed disruptions).
//!
//! A mission with a `node-drained` objective is drained as its learner drains it, with real
//! `kubectl drain <node> --ignore-daemonsets --delete-emptydir-data`: in the broken state the
//! drain must not finish, after the reference fix it must, and the negative controls drain too,
//! so an empty node is never what catches them.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kq_engine::ipc::ActionResult;
use kq_engine::mission::{
    Catalog, Check, LessonStage, Mission, Objective, ObjectiveStatus, WorkloadRef, all_met,
    check_lessons, load_mission,
};
use kq_engine::pipeline::{PodPipeline, StageState, WorkloadKind};
use kq_engine::session::read::NamespaceRead;
use kq_engine::session::{apply_yaml, delete_yaml};
use kq_kube::reference::normalize as normalize_image;
use kq_tests::cluster::Run;
use kq_tests::lesson::{PlayedLesson, STEP_SECS, newest_kubectl, results_text};
use serde_json::{Value, json};

mod markdown;
mod play;
use markdown::*;
use play::*;

/// How long the broken state may take to show its symptoms (and must stay unsolved).
const BROKEN_WATCH_SECS: u64 = 300;
/// How long a pod may take to go after a delete (a shell as PID 1 ignores SIGTERM: 30 s).
const GONE_LIMIT_SECS: u64 = 120;
/// How long the fix may take to meet every objective, on top of the longest timed objective.
const SOLVE_MARGIN_SECS: u64 = 120;

// ---------------------------------------------------------------------------------------------
// Discovering and running lessons
// ---------------------------------------------------------------------------------------------

/// Every folder under `lessons/` (hidden ones aside), sorted. A folder that is not a valid
/// lesson is still returned, so its checks fail instead of it being skipped.
fn lesson_folders() -> Vec<PathBuf> {
    let mut dirs = all_lesson_folders();
    // A mission author can prove only the folders they are working on:
    // KQ_MISSION_CI_ONLY=11-untolerated-taint,12-node-selector (folder names or their
    // beginnings). CI never sets it, so there every folder is played.
    if let Ok(only) = std::env::var("KQ_MISSION_CI_ONLY") {
        let wanted: Vec<&str> = only
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .collect();
        dirs.retain(|d| wanted.iter().any(|w| folder_name(d).starts_with(w)));
    }
    assert!(
        !dirs.is_empty(),
        "KQ_MISSION_CI_ONLY selects no lesson folder"
    );
    dirs
}

/// Every lesson folder, whatever KQ_MISSION_CI_ONLY selects.
fn all_lesson_folders() -> Vec<PathBuf> {
    let root = kq_tests::workspace_root().join("lessons");
    let entries = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot read the lessons folder {}: {e}", root.display()));
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !folder_name(p).starts_with('.'))
        .collect();
    dirs.sort();
    assert!(
        !dirs.is_empty(),
        "no lesson folders under {}: mission CI would check nothing",
        root.display()
    );
    dirs
}

fn folder_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panicked".to_owned())
}

/// Runs `check` on every lesson folder, each on its own thread, and fails with one line per
/// lesson. `check` returns a one-line summary of what it proved, or panics with why not.
fn for_every_lesson(what: &str, check: fn(&Path) -> String) {
    let dirs = lesson_folders();
    let results: Vec<(String, Result<String, String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .iter()
            .map(|d| (folder_name(d), s.spawn(move || check(d))))
            .collect();
        handles
            .into_iter()
            .map(|(name, h)| (name, h.join().map_err(|p| panic_text(p.as_ref()))))
            .collect()
    });
    let mut report = String::new();
    for (name, r) in &results {
        match r {
            Ok(summary) => writeln!(report, "  lesson {name}: ok: {summary}"),
            Err(why) => writeln!(report, "  lesson {name}: FAILED: {why}"),
        }
        .expect("writing to a String cannot fail");
    }
    eprintln!("{what}\n{report}");
    assert!(
        results.iter().all(|(_, r)| r.is_ok()),
        "{what}: not every lesson holds\n{report}"
    );
}

fn load(dir: &Path) -> Mission {
    load_mission(dir).unwrap_or_else(|e| panic!("the lesson does not load: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The checks, per lesson
// ---------------------------------------------------------------------------------------------

/// The embedded cluster's image catalog, as `kq lessons check` consults it: the built-in
/// images plus the lesson's `registry.yaml` additions.
struct EmbeddedImages;

impl kq_engine::mission::ImageCatalog for EmbeddedImages {
    fn missing_image(&self, registries: &[(String, String)], image: &str) -> Option<String> {
        let reference = match kq_sim::registry::ImageRef::parse(image) {
            Ok(r) => r,
            Err(e) => return Some(e.to_string()),
        };
        let mut catalog = kq_sim::registry::Catalog::builtin();
        for (file, yaml) in registries {
            let _ = catalog.add_yaml(yaml, file);
        }
        catalog.lookup(&reference).err().map(|e| e.cri_message())
    }

    fn registry_problem(&self, file: &str, yaml: &str) -> Option<(Option<usize>, String)> {
        let mut catalog = kq_sim::registry::Catalog::builtin();
        catalog
            .add_yaml(yaml, file)
            .err()
            .map(|e| (e.line, e.to_string()))
    }
}

/// `kq lessons check` is clean (the solution's images included); the debrief renders safely
/// with the customer's outline; its commands section holds every kubectl command of the hints.
pub(crate) fn checker_and_debrief(dir: &Path) -> String {
    let report = check_lessons(dir, Some(&EmbeddedImages));
    assert!(
        report.errors.is_empty() && report.warnings.is_empty(),
        "`kq lessons check` is not clean:\n{}",
        report.render()
    );
    let mission = load(dir);
    let id = &mission.summary.id;
    let ns = mission.namespace();
    assert!(
        mission
            .expected_symptoms
            .iter()
            .any(|s| s.stage.as_str() == mission.summary.stage),
        "the mission's stage `{}` is not the stage of any expected symptom",
        mission.summary.stage
    );

    // Renders, safely.
    let html = mission.debrief_html();
    assert!(!html.trim().is_empty(), "the debrief renders to nothing");
    let raw: BTreeSet<String> = tag_names(&html)
        .into_iter()
        .filter(|t| !MARKDOWN_TAGS.contains(&t.as_str()))
        .collect();
    assert!(
        raw.is_empty(),
        "the rendered debrief holds tags Markdown does not produce (raw HTML got through): \
         {raw:?}"
    );
    assert!(
        !html.to_ascii_lowercase().contains("javascript:"),
        "the rendered debrief keeps a javascript: URL"
    );

    // The customer's outline, in order.
    let headings = html_headings(&html);
    let mut from = 0;
    for (section_name, needles) in OUTLINE {
        let found = headings[from..]
            .iter()
            .position(|h| needles.iter().any(|n| h.contains(n)));
        let Some(i) = found else {
            panic!(
                "the debrief has no `{section_name}` heading after the previous section of the \
                 outline; headings: {headings:?}"
            );
        };
        from += i + 1;
    }

    let sections = markdown_sections(&mission.debrief);
    // The mental model: the pipeline, and where the pod was stuck with its reason.
    let model = section(&sections, "mental model").body.to_lowercase();
    for stage in ["apply", "schedule", "pull", "create", "run", "ready"] {
        assert!(
            model.contains(stage),
            "the mental model section does not draw the pipeline: no `{stage}`"
        );
    }
    assert!(
        model.contains("stuck"),
        "the mental model section does not mark where the pod was stuck"
    );
    for s in &mission.expected_symptoms {
        let reason = s.reason.to_lowercase();
        let shown = model.contains(&reason)
            || (reason == "imagepullbackoff" && model.contains("errimagepull"));
        assert!(
            shown,
            "the mental model section does not name the reason `{}` where {} was stuck",
            s.reason,
            s.subject()
        );
    }

    // What's next names a mission this one unlocks.
    // A title may wrap across lines in the Markdown, as it does when rendered.
    let next = section(&sections, "what's next")
        .body
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        !next.trim().is_empty(),
        "the `what's next` section is empty"
    );
    if let Some(root) = dir.parent() {
        let catalog = Catalog::load(&[root.to_owned()]);
        let unlocked: Vec<&str> = catalog
            .missions
            .iter()
            .filter(|m| m.summary.requires.contains(id))
            .map(|m| m.summary.title.as_str())
            .collect();
        assert!(
            unlocked.is_empty() || unlocked.iter().any(|t| next.contains(&t.to_lowercase())),
            "`what's next` names none of the missions this one unlocks: {unlocked:?}"
        );
    }

    // Commands you mastered ⊇ the kubectl commands of the hints, in the mission namespace.
    let mastered = kubectl_commands(&section(&sections, "commands you mastered").body);
    assert!(
        !mastered.is_empty(),
        "the `commands you mastered` section lists no kubectl command"
    );
    for c in &mastered {
        if let Some(n) = namespace_flag(c) {
            assert_eq!(
                n, ns,
                "`{c}` in `commands you mastered` is not aimed at the mission namespace"
            );
        }
    }
    let hinted: Vec<String> = mission
        .hints
        .iter()
        .flat_map(|h| inline_code(h))
        .filter(|c| c == "kubectl" || c.starts_with("kubectl "))
        .map(|c| normalize_command(&c))
        .collect();
    let missing: Vec<&String> = hinted
        .iter()
        .filter(|h| !mastered.iter().any(|m| same_command(h, m)))
        .collect();
    assert!(
        missing.is_empty(),
        "the hints mention kubectl commands that `commands you mastered` does not list: \
         {missing:?}; it lists {mastered:?}"
    );
    format!(
        "checker clean; debrief renders with the {}-part outline; {} hint commands among {} \
         mastered",
        OUTLINE.len(),
        hinted.len(),
        mastered.len()
    )
}

/// Broken state → symptoms, no solve for five minutes; reference fix → every objective, held.
pub(crate) fn symptoms_then_fix(dir: &Path) -> String {
    let play = Play::start(dir);
    let shown_at = play.develop_broken_state(0);
    play.stays_unsolved(
        BROKEN_WATCH_SECS.saturating_sub(shown_at),
        "the broken state, left alone,",
    );
    let still = play.symptom_misses();
    // A drain in the broken state is what the learner meets: it must not finish.
    for run in play.drain_all(12) {
        assert!(
            !run.ok(),
            "in the broken state the drain finishes, so there is nothing to fix:\n{run}"
        );
        let results = play.objectives();
        assert!(
            !all_met(&results),
            "the broken state after a drain that could not finish meets every objective:\n{}",
            results_text(&results)
        );
    }
    let symptoms = play
        .mission
        .expected_symptoms
        .iter()
        .map(|s| format!("{} {} at {}", s.subject(), s.reason, s.stage.as_str()))
        .collect::<Vec<_>>()
        .join(", ");

    let mut how = play.apply_reference_fix();
    for run in play.drain_all(120) {
        assert!(
            run.ok(),
            "after the reference fix the drain does not finish:\n{run}"
        );
        let _ = write!(how, "; `{}` finished", run.cmd);
    }
    let limit = play.longest_timed_objective() + SOLVE_MARGIN_SECS;
    let mut t = 0;
    loop {
        let results = play.objectives();
        if all_met(&results) {
            break;
        }
        assert!(
            t < limit,
            "{t} s after the reference fix ({how}) not every objective is met:\n{}\n{}",
            results_text(&results),
            play.objective_pods()
                .iter()
                .filter_map(|p| play.pipeline(p))
                .map(|p| p.render_text())
                .collect::<String>()
        );
        play.advance(STEP_SECS);
        t += STEP_SECS;
    }
    let solved_at = t;
    // The fix holds: nothing crashes or flips back a little later.
    let hold = play.hold_secs();
    let mut h = 0;
    while h < hold {
        play.advance(STEP_SECS);
        h += STEP_SECS;
        let results = play.objectives();
        assert!(
            all_met(&results),
            "the reference fix met every objective at {solved_at} s but not {h} s later:\n{}",
            results_text(&results)
        );
    }
    for pod in play.objective_pods() {
        let p = play
            .pipeline(&pod)
            .unwrap_or_else(|| panic!("{pod} is gone after the fix"));
        assert!(
            p.stuck_stage().is_none(),
            "{pod}'s pipeline still shows a stuck stage after the fix:\n{}",
            p.render_text()
        );
    }
    let read = play.read(&[]);
    for (kind, name) in play.objective_objects().iter().filter(|(k, _)| k != "Pod") {
        if let Err(why) = workload_healthy(&read, kind, name) {
            panic!("{kind} {name} still shows a stuck stage after the fix:\n{why}");
        }
    }
    format!(
        "{symptoms} shown after {shown_at} s{}, unsolved for {BROKEN_WATCH_SECS} s; {how}; \
         every objective met {solved_at} s later and still {hold} s after",
        if still.is_empty() {
            ""
        } else {
            " (not showing at the 5-minute mark)"
        }
    )
}

/// Deleting the broken pods and workloads does not solve the mission.
pub(crate) fn deleting_the_pod(dir: &Path) -> String {
    let play = Play::start(dir);
    play.develop_broken_state(0);
    let broken = play.broken_objects();
    let gone = play.delete_objects_and_wait(&broken);
    play.drain_all(30);
    let results = play.stays_unsolved(
        play.hold_secs(),
        &format!("the namespace without {broken:?}"),
    );
    let first = results
        .iter()
        .find(|r| !matches!(r.status, ObjectiveStatus::Met))
        .map(|r| r.reason.clone())
        .unwrap_or_default();
    format!("{broken:?} deleted ({gone} s to go), not solved: {first}")
}

/// Neither the fixed app under another name nor an unrelated image under the mission's pod or
/// workload names solves the mission. The fix's other objects (ConfigMaps, Services, Roles …)
/// are applied as the fix has them, so only the identity of what runs differs.
pub(crate) fn unrelated_workloads(dir: &Path) -> String {
    let play = Play::start(dir);
    play.develop_broken_state(0);
    let broken = play.broken_objects();
    play.delete_objects_and_wait(&broken);
    let runs = |kind: &str| kind == "Pod" || workload_kind(kind).is_some();
    for m in play.mission.solution.iter().filter(|m| !runs(&m.kind)) {
        play.apply_or_recreate(&format!("{}.yaml", m.name), &m.object.to_string());
    }

    // 1. The reference fix itself, under other names.
    let mut copies = Vec::new();
    for m in play.mission.solution.iter().filter(|m| runs(&m.kind)) {
        let mut obj = m.object.clone();
        let name = format!("{}-copy", m.name);
        obj["metadata"]["name"] = json!(name);
        let r = play.apply("copy.yaml", &obj.to_string());
        assert!(r.ok, "`{}` fails: {}", r.command, r.output);
        copies.push((m.kind.clone(), name));
    }
    let mut elapsed = 0;
    let hold = play.hold_secs();
    while elapsed < hold {
        play.advance(STEP_SECS);
        elapsed += STEP_SECS;
        let results = play.objectives();
        assert!(
            !all_met(&results),
            "the reference fix under another name ({copies:?}) meets every objective:\n{}",
            results_text(&results)
        );
    }
    play.assert_healthy(&copies, "the renamed reference fix");

    // 2. An unrelated image (and no command of the app's) under each objective pod's or
    // workload's name, with the same container names, so only what runs there differs.
    let mut decoys = Vec::new();
    let subjects = play.objective_objects();
    for (kind, name) in &subjects {
        let base = play
            .manifest_of(kind, name)
            .unwrap_or_else(|| panic!("neither solution/ nor manifests/ defines {kind} {name}"))
            .clone();
        play.delete_objects_and_wait(&[(kind.clone(), name.clone())]);
        let decoy = unrelated(&base);
        let r = play.apply(&format!("{name}.yaml"), &decoy.to_string());
        assert!(r.ok, "`{}` fails: {}", r.command, r.output);
        let spec = if kind == "Pod" {
            &decoy["spec"]
        } else {
            &decoy["spec"]["template"]["spec"]
        };
        let images: Vec<String> = spec["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["image"].as_str().map(str::to_owned))
            .collect();
        decoys.push(format!("{kind} {name} running {}", images.join(", ")));
    }
    play.drain_all(30);
    let results = play.stays_unsolved(
        hold,
        &format!("an unrelated workload under the mission's names ({decoys:?})"),
    );
    play.assert_healthy(&subjects, "the unrelated workload");
    let caught: Vec<String> = results
        .iter()
        .filter(|r| !matches!(r.status, ObjectiveStatus::Met))
        .map(|r| format!("{} ({})", r.id, r.reason))
        .collect();
    format!(
        "renamed fix {copies:?} not accepted; {} not accepted, caught by {}",
        decoys.join(", "),
        caught.join(", ")
    )
}

/// `base` (a pod or a workload) with each container running an image unrelated to its own
/// (busybox `sleep 3600`, or nginx for a busybox app; for a Job, a command that succeeds),
/// probes and commands dropped so it is healthy.
fn unrelated(base: &Value) -> Value {
    let kind = base["kind"].as_str().unwrap_or_default().to_owned();
    let mut obj = json!({
        "apiVersion": base["apiVersion"].clone(),
        "kind": kind,
        "metadata": {"name": base["metadata"]["name"].clone()},
        "spec": base["spec"].clone(),
    });
    if let Some(labels) = base["metadata"].get("labels") {
        obj["metadata"]["labels"] = labels.clone();
    }
    let finishes = kind == "Job";
    let spec = if kind == "Pod" {
        &mut obj["spec"]
    } else {
        &mut obj["spec"]["template"]["spec"]
    };
    if let Some(containers) = spec["containers"].as_array_mut() {
        for c in containers {
            let own = repository(c["image"].as_str().unwrap_or_default());
            let Some(o) = c.as_object_mut() else {
                continue;
            };
            for field in [
                "command",
                "args",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ] {
                o.remove(field);
            }
            let busybox = own == repository("busybox");
            match (finishes, busybox) {
                (true, true) => {
                    o.insert("image".into(), json!("alpine:3.20"));
                    o.insert("command".into(), json!(["true"]));
                }
                (true, false) => {
                    o.insert("image".into(), json!("busybox:1.36"));
                    o.insert("command".into(), json!(["true"]));
                }
                (false, true) => {
                    o.insert("image".into(), json!("nginx:1.27"));
                }
                (false, false) => {
                    o.insert("image".into(), json!("busybox:1.36"));
                    o.insert("command".into(), json!(["sleep", "3600"]));
                }
            }
        }
    }
    obj
}

/// `kubectl describe` shows the event the pipeline's stuck stage points at: the pod's, or the
/// workload's own for a workload stuck at *apply*.
pub(crate) fn describe_shows_evidence(dir: &Path) -> String {
    let play = Play::start(dir);
    let at = play.develop_broken_state(60);
    let k = newest_kubectl(&play.tc);
    let read = play.read(&[]);
    let mut shown = Vec::new();
    for s in &play.mission.expected_symptoms {
        if let Some(budget) = &s.budget {
            read.symptom_shown(s)
                .unwrap_or_else(|why| panic!("the symptom is gone: {why}"));
            let allowed = read
                .budget(budget)
                .and_then(|b| b.status.as_ref())
                .map(|st| st.disruptions_allowed)
                .unwrap_or_else(|| panic!("{budget} has no status"));
            let r = k.run(&["describe", "pdb", budget, "-n", &play.ns]);
            assert!(r.ok(), "{r}");
            let line = r
                .stdout
                .lines()
                .find(|l| l.trim_start().starts_with("Allowed disruptions:"))
                .unwrap_or_else(|| panic!("describe pdb prints no allowed disruptions: {r}"));
            assert_eq!(
                line.split_whitespace().last(),
                Some(allowed.to_string().as_str()),
                "`kubectl describe pdb {budget}` disagrees with the budget's status:\n{r}"
            );
            shown.push(format!("pdb/{budget}: {}", line.trim()));
            continue;
        }
        let subject = read
            .symptom_shown(s)
            .unwrap_or_else(|why| panic!("the symptom is gone: {why}"));
        let (resource, name, stage) = match (&s.workload, s.stage) {
            (Some(w), LessonStage::Apply) => {
                let w: WorkloadRef = w.parse().expect("the loader checked the workload");
                let view = read.workload_view(&w).expect("the symptom showed on it");
                (w.kind.resource().to_owned(), w.name, view.applied)
            }
            _ => {
                let p = read
                    .pipeline(&subject)
                    .unwrap_or_else(|| panic!("{subject} is gone"));
                let stage = p
                    .stuck_stage()
                    .cloned()
                    .unwrap_or_else(|| panic!("{subject} shows no stuck stage"));
                ("pod".to_owned(), subject.clone(), stage)
            }
        };
        let Some(event) = stage.evidence.event.as_ref() else {
            // A workload's condition is the evidence (ProgressDeadlineExceeded comes with no
            // event): describe shows it in its Conditions table.
            let reason = stage.reason.clone().unwrap_or_default();
            assert!(
                resource != "pod" && !reason.is_empty(),
                "the stuck stage of {resource}/{name} cites no event: {:?} {:?}",
                stage.reason,
                stage.message
            );
            let r = k.run(&["describe", &resource, &name, "-n", &play.ns]);
            assert!(r.ok(), "{r}");
            let conditions = r.stdout.split("\nConditions:").nth(1).unwrap_or_default();
            assert!(
                conditions.contains(&reason),
                "`kubectl describe {resource} {name}` does not show the {reason} condition the \
                 pipeline cites:\n{r}"
            );
            shown.push(format!("{resource}/{name}: condition {reason}"));
            continue;
        };
        // A workload's own stage may cite an event about an object it owns (a ReplicaSet's
        // FailedCreate for its Deployment): describe the object the event is about.
        let (resource, name) = if resource == "pod" {
            (resource, name)
        } else {
            play.event_subject(&event.reason, &event.message)
                .unwrap_or((resource, name))
        };
        let r = k.run(&["describe", &resource, &name, "-n", &play.ns]);
        assert!(r.ok(), "{r}");
        assert!(
            r.stdout.contains(&event.reason) && r.stdout.contains(&event.message),
            "`kubectl describe {resource} {name}` does not show the {} event the pipeline cites \
             ({:?}):\n{r}",
            event.reason,
            event.message
        );
        shown.push(format!(
            "{resource}/{name}: {} {:?}",
            event.reason, event.message
        ));
    }
    format!(
        "kubectl.{} describe at {at} s shows {}",
        k.label,
        shown.join("; ")
    )
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[test]
fn every_lesson_passes_the_checker_and_its_debrief_renders_in_the_customer_outline() {
    for_every_lesson(
        "lessons check and debrief (outline, safe HTML, commands you mastered ⊇ hint commands)",
        checker_and_debrief,
    );
}

#[test]
fn every_lesson_shows_its_symptoms_and_its_reference_fix_meets_every_objective() {
    for_every_lesson(
        "broken state shows the expected symptoms; the reference fix solves the mission",
        symptoms_then_fix,
    );
}

#[test]
fn deleting_the_broken_pod_solves_no_lesson() {
    for_every_lesson(
        "negative control: deleting the broken pod",
        deleting_the_pod,
    );
}

#[test]
fn an_unrelated_workload_solves_no_lesson() {
    for_every_lesson(
        "negative control: the fix under another name, an unrelated image under the pod's name",
        unrelated_workloads,
    );
}

#[test]
fn kubectl_describe_shows_every_lesson_s_evidence() {
    for_every_lesson(
        "real kubectl describe shows the evidence the pipeline cites",
        describe_shows_evidence,
    );
}

/// The customer's own case, checked by hand: `kubectl describe pod web` lists the back-off on
/// `nginx:nonexistent-tag-xyz-123` in its events.
#[test]
fn kubectl_describe_shows_the_image_pull_back_off_of_the_customer_s_case() {
    let dir = all_lesson_folders()
        .into_iter()
        .find(|d| load_mission(d).is_ok_and(|m| m.summary.id == "image-pull-backoff"))
        .expect("the customer's ImagePullBackOff mission (id image-pull-backoff) is a lesson");
    let play = Play::start(&dir);
    play.develop_broken_state(60);
    let k = newest_kubectl(&play.tc);
    let r = k.run(&["describe", "pod", "web", "-n", &play.ns]);
    assert!(r.ok(), "{r}");
    let events = r
        .stdout
        .split("\nEvents:")
        .nth(1)
        .unwrap_or_else(|| panic!("describe prints an Events section: {r}"));
    assert!(
        events.contains("BackOff")
            && events.contains("Back-off pulling image \"nginx:nonexistent-tag-xyz-123\""),
        "the events show the pull back-off on the missing tag: {r}"
    );
    assert!(
        events.contains("Failed to pull image \"nginx:nonexistent-tag-xyz-123\""),
        "the events name the image the node failed to pull: {r}"
    );
}
