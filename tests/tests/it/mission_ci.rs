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
use std::time::Duration;

use kq_engine::ipc::ActionResult;
use kq_engine::mission::{
    Catalog, Check, LessonStage, Mission, Objective, ObjectiveResult, ObjectiveStatus,
    REGISTRY_FILE, WorkloadRef, all_met, check_lessons, load_mission,
};
use kq_engine::pipeline::{PodPipeline, StageState, WorkloadKind};
use kq_engine::session::read::{NamespaceRead, read_namespace};
use kq_engine::session::{ClusterKind, apply_yaml, delete_yaml, start_mission};
use kq_kube::reference::normalize as normalize_image;
use kq_sim::ClusterConfig;
use kq_tests::cluster::{
    Kubectl, Run, TestCluster, kube_config, kubectl_binaries, wait_with_limit,
};
use serde_json::{Value, json};

/// How long the broken state may take to show its symptoms (and must stay unsolved).
const BROKEN_WATCH_SECS: u64 = 300;
/// The step between two looks at the cluster.
const STEP_SECS: u64 = 5;
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
// One mission played on a fresh embedded cluster
// ---------------------------------------------------------------------------------------------

/// A mission started through the engine on its own paused embedded cluster.
struct Play {
    tc: TestCluster,
    client: kube::Client,
    mission: Mission,
    ns: String,
}

impl Play {
    /// A fresh cluster with a paused clock, the lesson's images added as the app adds them
    /// (the lessons root's `registry.yaml`, then the mission's own), and the mission started.
    fn start(dir: &Path) -> Play {
        let mission = load(dir);
        let tc = TestCluster::start_with(ClusterConfig {
            speed: 0.0,
            ..ClusterConfig::default()
        });
        let registries = dir
            .parent()
            .into_iter()
            .chain([dir])
            .map(|d| d.join(REGISTRY_FILE))
            .filter(|f| f.is_file());
        for file in registries {
            let yaml = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            tc.cluster()
                .runtime()
                .add_catalog_yaml(&yaml, &file.display().to_string())
                .unwrap_or_else(|e| panic!("the registry refuses {}: {e}", file.display()));
        }
        // Without the kube client's own retries of 503: an endpoint that refuses answers the
        // service-http objectives at once, as it answers kubectl (client-go retries only on a
        // Retry-After), instead of after the probe's timeout at every step.
        let mut config = tc.block_on(kube_config(tc.cluster()));
        config.default_retry = false;
        // The client spawns its buffer task: build it on the cluster's runtime.
        let client = tc.block_on(async move {
            kube::Client::try_from(config).expect("a kube client for the embedded cluster")
        });
        let started = tc
            .block_on(start_mission(&client, &mission, ClusterKind::Embedded))
            .unwrap_or_else(|e| panic!("start_mission fails on a fresh cluster: {e}"));
        assert!(
            !started.replaced_leftovers,
            "a fresh cluster has no leftovers to clear"
        );
        tc.cluster().settle();
        let ns = mission.namespace();
        Play {
            tc,
            client,
            mission,
            ns,
        }
    }

    fn advance(&self, secs: u64) {
        self.tc.cluster().advance(Duration::from_secs(secs));
    }

    /// The namespace as a session would see it now, read for `objectives`.
    fn read(&self, objectives: &[Objective]) -> NamespaceRead {
        let now = self.tc.cluster().clock().now();
        self.tc
            .block_on(read_namespace(&self.client, &self.ns, objectives, now))
            .unwrap_or_else(|e| panic!("reading {} fails: {e}", self.ns))
    }

    fn evaluate(&self, objectives: &[Objective]) -> Vec<ObjectiveResult> {
        self.read(objectives).evaluate(objectives)
    }

    fn objectives(&self) -> Vec<ObjectiveResult> {
        self.evaluate(&self.mission.objectives)
    }

    fn pipeline(&self, pod: &str) -> Option<PodPipeline> {
        self.read(&[]).pipeline(pod).cloned()
    }

    /// Every expected symptom the namespace does not show now, explained.
    fn symptom_misses(&self) -> Vec<String> {
        let read = self.read(&[]);
        self.mission
            .expected_symptoms
            .iter()
            .filter_map(|s| read.symptom_shown(s).err())
            .collect()
    }

    /// Advances in steps until every expected symptom shows (no earlier than `min_secs`),
    /// failing if that takes more than five minutes or if the objectives pass on the way.
    /// Returns the virtual second it showed.
    fn develop_broken_state(&self, min_secs: u64) -> u64 {
        assert!(
            !self.mission.expected_symptoms.is_empty(),
            "mission.md lists no expected_symptoms: nothing to check the broken state against"
        );
        let mut t = 0;
        loop {
            let results = self.objectives();
            assert!(
                !all_met(&results),
                "the broken state meets every objective by itself after {t} s:\n{}",
                results_text(&results)
            );
            let misses = self.symptom_misses();
            if misses.is_empty() && t >= min_secs {
                return t;
            }
            assert!(
                t < BROKEN_WATCH_SECS,
                "after {t} s of virtual time the broken state does not show its expected \
                 symptoms:\n{}",
                misses.join("\n")
            );
            self.advance(STEP_SECS);
            t += STEP_SECS;
        }
    }

    /// Advances `secs` in steps, failing as soon as every objective is met.
    fn stays_unsolved(&self, secs: u64, what: &str) -> Vec<ObjectiveResult> {
        let mut t = 0;
        loop {
            let results = self.objectives();
            assert!(
                !all_met(&results),
                "{what} meets every objective after {t} s:\n{}",
                results_text(&results)
            );
            if t >= secs {
                return results;
            }
            self.advance(STEP_SECS);
            t += STEP_SECS;
        }
    }

    /// `kubectl apply -f FILE` through the editor's Apply.
    fn apply(&self, file_name: &str, yaml: &str) -> ActionResult {
        self.tc
            .block_on(apply_yaml(&self.client, &self.ns, file_name, yaml))
    }

    /// `kubectl delete -f FILE` through the editor's Delete.
    fn delete(&self, file_name: &str, yaml: &str) -> ActionResult {
        self.tc
            .block_on(delete_yaml(&self.client, &self.ns, file_name, yaml))
    }

    /// Advances second by second until none of `names` exists; returns how long it took.
    fn wait_pods_gone(&self, names: &[String]) -> u64 {
        self.tc.cluster().settle();
        let mut t = 0;
        loop {
            let pods = self.read(&[]).pods();
            let left: Vec<&str> = pods
                .iter()
                .filter_map(|p| p.metadata.name.as_deref())
                .filter(|n| names.iter().any(|m| m == n))
                .collect();
            if left.is_empty() {
                return t;
            }
            assert!(
                t < GONE_LIMIT_SECS,
                "{left:?} still there {t} s after the delete"
            );
            self.advance(1);
            t += 1;
        }
    }

    /// The nodes the `node-drained` objectives name.
    fn drained_nodes(&self) -> Vec<String> {
        self.mission
            .objectives
            .iter()
            .filter_map(|o| match &o.check {
                Check::NodeDrained { node } => Some(node.clone()),
                _ => None,
            })
            .collect()
    }

    /// Runs real `kubectl drain NODE --ignore-daemonsets --delete-emptydir-data` as the
    /// learner does, giving up after `timeout_secs` of wall time (`--timeout`), while the
    /// paused clock moves a virtual second every 20 ms, so evicted pods end and their
    /// replacements start while kubectl waits and retries.
    fn drain(&self, node: &str, timeout_secs: u64) -> Run {
        let k = newest_kubectl(&self.tc);
        let timeout = format!("--timeout={timeout_secs}s");
        let args = [
            "drain",
            node,
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            timeout.as_str(),
        ];
        let mut c = k.command(&args);
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let cmd = format!("kubectl.{} {}", k.label, args.join(" "));
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd}: {e}"));
        let limit = Duration::from_secs(timeout_secs + 30);
        let waiting = std::thread::spawn(move || wait_with_limit(child, limit));
        while !waiting.is_finished() {
            self.advance(1);
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = waiting.join().expect("the drain's waiter does not panic");
        self.tc.cluster().settle();
        Run {
            cmd,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Drains every node a `node-drained` objective names, whatever the outcome; returns what
    /// each drain ended with.
    fn drain_all(&self, timeout_secs: u64) -> Vec<Run> {
        self.drained_nodes()
            .iter()
            .map(|n| self.drain(n, timeout_secs))
            .collect()
    }

    /// The longest `no-restarts-for` window, so holds cover every timed objective.
    fn longest_timed_objective(&self) -> u64 {
        self.mission
            .objectives
            .iter()
            .filter_map(|o| match &o.check {
                Check::NoRestartsFor { seconds, .. } => Some(*seconds),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// How long a negative control waits before judging: long enough for any timed objective.
    fn hold_secs(&self) -> u64 {
        self.longest_timed_objective() + 60
    }

    /// The pods and workloads the objectives are about, as (kind, name).
    fn objective_objects(&self) -> Vec<(String, String)> {
        let set: BTreeSet<(String, String)> = self
            .mission
            .objectives
            .iter()
            .filter_map(|o| objective_object(&o.check))
            .collect();
        set.into_iter().collect()
    }

    /// The pods the objectives are about.
    fn objective_pods(&self) -> Vec<String> {
        self.objective_objects()
            .into_iter()
            .filter(|(k, _)| k == "Pod")
            .map(|(_, n)| n)
            .collect()
    }

    /// The pods and workloads `manifests/` creates (the broken ones), as (kind, name).
    fn broken_objects(&self) -> Vec<(String, String)> {
        self.mission
            .manifests
            .iter()
            .filter(|m| m.kind == "Pod" || workload_kind(&m.kind).is_some())
            .map(|m| (m.kind.clone(), m.name.clone()))
            .collect()
    }

    /// The manifest (solution first, then the broken state) that defines `kind`/`name`.
    fn manifest_of(&self, kind: &str, name: &str) -> Option<&Value> {
        self.mission
            .solution
            .iter()
            .chain(&self.mission.manifests)
            .find(|m| m.kind == kind && m.name == name)
            .map(|m| &m.object)
    }

    /// Deletes pods and workloads (as `kubectl delete KIND NAME` would) and waits until they
    /// and the pods they owned are gone; returns how long that took.
    fn delete_objects_and_wait(&self, objects: &[(String, String)]) -> u64 {
        let read = self.read(&[]);
        let mut pods: Vec<String> = Vec::new();
        for (kind, name) in objects {
            if kind == "Pod" {
                pods.push(name.clone());
            } else if let Some(k) = workload_kind(kind)
                && let Some(v) = read.workload_view(&WorkloadRef {
                    kind: k,
                    name: name.clone(),
                })
            {
                pods.extend(v.pods);
            }
            let api_version = self
                .manifest_of(kind, name)
                .and_then(|m| m["apiVersion"].as_str())
                .unwrap_or("v1")
                .to_owned();
            let stub =
                format!("apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n");
            let r = self.delete(&format!("{name}.yaml"), &stub);
            assert!(
                r.ok || r.output.contains("NotFound") || r.output.contains("not found"),
                "`{}` fails: {}",
                r.command,
                r.output
            );
        }
        self.wait_pods_gone(&pods)
    }

    /// The kind (lowercase, as kubectl takes it) and name of the object an event with this
    /// reason and message is about.
    fn event_subject(&self, reason: &str, message: &str) -> Option<(String, String)> {
        let api: kube::Api<k8s_openapi::api::core::v1::Event> =
            kube::Api::namespaced(self.client.clone(), &self.ns);
        let events = self
            .tc
            .block_on(api.list(&Default::default()))
            .unwrap_or_else(|e| panic!("listing events in {} fails: {e}", self.ns));
        events
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some(reason) && e.message.as_deref() == Some(message))
            .and_then(|e| {
                Some((
                    e.involved_object.kind?.to_lowercase(),
                    e.involved_object.name?,
                ))
            })
    }

    /// Fails unless every pod and workload of `objects` is itself healthy: a negative control
    /// whose stand-in is broken proves nothing.
    fn assert_healthy(&self, objects: &[(String, String)], what: &str) {
        let pods: Vec<String> = objects
            .iter()
            .filter(|(k, _)| k == "Pod")
            .map(|(_, n)| n.clone())
            .collect();
        if !pods.is_empty() {
            let sanity = self.evaluate(&ready_objectives(&pods));
            assert!(
                all_met(&sanity),
                "{what} is not itself healthy, so this control proves nothing:\n{}",
                results_text(&sanity)
            );
        }
        let read = self.read(&[]);
        for (kind, name) in objects.iter().filter(|(k, _)| k != "Pod") {
            if let Err(why) = workload_healthy(&read, kind, name) {
                panic!(
                    "{what} ({kind} {name}) is not itself healthy, so this control proves nothing:\n{why}"
                );
            }
        }
    }

    /// Applies `solution/` file by file as a learner would (see [`Play::apply_or_recreate`]).
    /// Returns what happened.
    fn apply_reference_fix(&self) -> String {
        let mut files: Vec<PathBuf> = Vec::new();
        for m in &self.mission.solution {
            if !files.contains(&m.file) {
                files.push(m.file.clone());
            }
        }
        let mut how = Vec::new();
        for file in files {
            let name = folder_name(&file);
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            how.push(format!(
                "solution/{name} {}",
                self.apply_or_recreate(&name, &text)
            ));
        }
        how.join("; ")
    }

    /// `kubectl apply -f` of one file, and when the cluster refuses the change because a field
    /// cannot change in place (a pod's command, a Job's template, a claim's class), delete what
    /// the file names and apply again once it is gone (finalizers may hold it a moment), as a
    /// learner would. Returns what happened.
    fn apply_or_recreate(&self, name: &str, text: &str) -> String {
        let first = self.apply(name, text);
        if first.ok {
            return format!("applied in place ({})", first.output);
        }
        assert!(
            first.immutable.is_some() || first.output.contains("Forbidden"),
            "`{}` fails for another reason than an immutable field:\n{}",
            first.command,
            first.output
        );
        let deleted = self.delete(name, text);
        assert!(
            deleted.ok,
            "`{}` fails: {}",
            deleted.command, deleted.output
        );
        self.tc.cluster().settle();
        let mut waited = 0;
        loop {
            let again = self.apply(name, text);
            if again.ok {
                return format!(
                    "refused in place, deleted and re-applied after {waited} s ({})",
                    again.output
                );
            }
            assert!(
                waited < GONE_LIMIT_SECS,
                "`{}` still fails {waited} s after the delete: {}",
                again.command,
                again.output
            );
            self.advance(1);
            waited += 1;
        }
    }
}

/// The workload kind of a manifest kind (`Deployment`), if it is one.
fn workload_kind(kind: &str) -> Option<WorkloadKind> {
    WorkloadKind::ALL.into_iter().find(|k| k.as_str() == kind)
}

/// The pod or workload a check is about, as (kind, name); `None` for a Service, a quota's own
/// name or a ServiceAccount (their workloads are named where the check has one).
fn objective_object(check: &Check) -> Option<(String, String)> {
    let (kind, name) = match check {
        Check::QuotaRespected { workload, .. }
        | Check::PodSecurityEnforced { workload, .. }
        | Check::BudgetProtects { workload, .. } => {
            (workload.kind.as_str(), workload.name.as_str())
        }
        Check::ClaimBound { pod, .. } => ("Pod", pod.as_deref()?),
        other => other.subject(),
    };
    (kind == "Pod" || workload_kind(kind).is_some()).then(|| (kind.to_owned(), name.to_owned()))
}

/// Whether a control's workload is itself healthy: it has pods, none stuck, and the workload
/// object is not stuck either (so only its identity can make the objectives fail).
fn workload_healthy(read: &NamespaceRead, kind: &str, name: &str) -> Result<(), String> {
    let k = workload_kind(kind).ok_or_else(|| format!("{kind} is not a workload kind"))?;
    let view = read
        .workload_view(&WorkloadRef {
            kind: k,
            name: name.to_owned(),
        })
        .ok_or_else(|| format!("{kind}/{name} does not exist"))?;
    if matches!(view.applied.state, StageState::Stuck | StageState::Failed) {
        return Err(view.render_text());
    }
    if view.pods.is_empty() {
        return Err(format!(
            "{kind}/{name} has no pods:\n{}",
            view.render_text()
        ));
    }
    for pod in &view.pods {
        if let Some(p) = read.pipeline(pod)
            && !p.terminating
            && p.stuck_stage().is_some()
        {
            return Err(p.render_text());
        }
    }
    Ok(())
}

fn results_text(results: &[ObjectiveResult]) -> String {
    results
        .iter()
        .map(|r| format!("  {} [{:?}]: {}", r.id, r.status, r.reason))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `docker.io/library/nginx` for `nginx:1.27`.
fn repository(image: &str) -> String {
    let full = normalize_image(image);
    let name = full.split('@').next().unwrap_or_default();
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => name[..slash + i].to_owned(),
        None => name.to_owned(),
    }
}

/// `pod-ready` for each pod: proof that a negative control's workload is itself healthy, so
/// only its identity can make the mission's objectives fail.
fn ready_objectives(pods: &[String]) -> Vec<Objective> {
    pods.iter()
        .map(|p| Objective {
            id: format!("{p}-ready"),
            title: format!("{p} is Running and Ready"),
            check: Check::PodReady { pod: p.clone() },
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The debrief's Markdown and HTML
// ---------------------------------------------------------------------------------------------

/// The outline every debrief follows (../shared/seed/), as words its headings must contain.
const OUTLINE: &[(&str, &[&str])] = &[
    ("what happened", &["what happened"]),
    ("how Kubernetes behaved", &["how kubernetes behaved"]),
    ("the correct mental model", &["mental model"]),
    (
        "a real-world incident",
        &["real-world incident", "real world incident"],
    ),
    ("commands you mastered", &["commands you mastered"]),
    ("prevention strategies", &["prevention"]),
    ("what's next", &["what's next"]),
];

/// Tags the safe renderer may emit for Markdown (anything else came from raw HTML).
const MARKDOWN_TAGS: &[&str] = &[
    "a",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "img",
    "input",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
];

fn unescape(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The names of every tag in `html`, lower-cased.
fn tag_names(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .map(|rest| {
            rest.trim_start_matches('/')
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .collect()
}

/// `html` without its tags.
fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// The text of every heading in the rendered HTML, lower-cased, in order.
fn html_headings(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<h") {
        let after = &rest[i + 2..];
        let level = after.chars().next().filter(|c| ('1'..='6').contains(c));
        let Some(level) = level else {
            rest = after;
            continue;
        };
        let close = format!("</h{level}>");
        let (Some(open_end), Some(end)) = (after.find('>'), after.find(&close)) else {
            break;
        };
        if open_end < end {
            let text = unescape(&strip_tags(&after[open_end + 1..end]));
            out.push(text.replace('\u{2019}', "'").trim().to_lowercase());
        }
        rest = &after[end + close.len()..];
    }
    out
}

/// A Markdown section: a heading outside code fences and the lines up to the next heading of
/// the same or a higher level.
struct Section {
    title: String,
    body: String,
}

fn markdown_sections(md: &str) -> Vec<Section> {
    let mut heads: Vec<(usize, usize, String)> = Vec::new();
    let lines: Vec<&str> = md.lines().collect();
    let mut fence: Option<&str> = None;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if let Some(f) = fence {
            if t.starts_with(f) {
                fence = None;
            }
            continue;
        }
        if t.starts_with("```") {
            fence = Some("```");
            continue;
        }
        if t.starts_with("~~~") {
            fence = Some("~~~");
            continue;
        }
        let level = t.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&level) && t[level..].starts_with(' ') {
            let title = t[level..].trim().replace('\u{2019}', "'").to_lowercase();
            heads.push((i, level, title));
        }
    }
    heads
        .iter()
        .enumerate()
        .map(|(k, (line, level, title))| {
            let end = heads[k + 1..]
                .iter()
                .find(|(_, l, _)| l <= level)
                .map_or(lines.len(), |(i, _, _)| *i);
            Section {
                title: title.clone(),
                body: lines[line + 1..end].join("\n"),
            }
        })
        .collect()
}

fn section<'a>(sections: &'a [Section], needle: &str) -> &'a Section {
    sections
        .iter()
        .find(|s| s.title.contains(needle))
        .unwrap_or_else(|| panic!("the debrief has no section whose heading contains `{needle}`"))
}

/// The contents of every inline code span (single backticks).
fn inline_code(text: &str) -> Vec<String> {
    text.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.trim().to_owned())
        .collect()
}

/// Every `kubectl …` command in Markdown: lines of code blocks (with `$ ` prompts, trailing
/// `# comments` and `\` continuations handled) and inline code spans.
fn kubectl_commands(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_fence = false;
    let mut pending = String::new();
    for line in md.lines() {
        let t = line.trim();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            let t = t.strip_prefix("$ ").unwrap_or(t);
            let t = t.split(" # ").next().unwrap_or(t);
            if !pending.is_empty() {
                pending.push(' ');
                pending.push_str(t.trim_end_matches('\\'));
            } else if t.starts_with("kubectl ") {
                pending = t.trim_end_matches('\\').to_owned();
            }
            if !pending.is_empty() && !t.ends_with('\\') {
                out.push(std::mem::take(&mut pending));
            }
        } else {
            out.extend(
                inline_code(t)
                    .into_iter()
                    .filter(|c| c.starts_with("kubectl ")),
            );
        }
    }
    out.into_iter().map(|c| normalize_command(&c)).collect()
}

fn normalize_command(c: &str) -> String {
    c.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The same command, allowing its flags in another order.
fn same_command(a: &str, b: &str) -> bool {
    fn sorted(s: &str) -> Vec<&str> {
        let mut v: Vec<&str> = s.split_whitespace().collect();
        v.sort_unstable();
        v
    }
    a == b || sorted(a) == sorted(b)
}

/// The namespace a command names with `-n`/`--namespace`, if any.
fn namespace_flag(cmd: &str) -> Option<String> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    words.iter().enumerate().find_map(|(i, w)| {
        if *w == "-n" || *w == "--namespace" {
            words.get(i + 1).map(|s| (*s).to_owned())
        } else {
            w.strip_prefix("--namespace=")
                .or_else(|| w.strip_prefix("-n="))
                .map(str::to_owned)
        }
    })
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

/// The newest versioned kubectl on the machine (the unversioned one on PATH otherwise).
fn newest_kubectl(tc: &TestCluster) -> Kubectl {
    let all = kubectl_binaries();
    let (label, path) = all
        .iter()
        .rfind(|(l, _)| l.starts_with("1."))
        .or_else(|| all.last())
        .cloned()
        .expect("kubectl_binaries finds at least one kubectl");
    tc.kubectl(&label, &path)
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
