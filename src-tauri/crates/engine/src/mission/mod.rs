//! The curriculum: one folder per mission.
//!
//! ```text
//! lessons/02-image-pull-backoff/
//!   mission.md      front matter (format 1, see [`format`]) + briefing (Markdown)
//!   manifests/      *.yaml, the broken state, applied into kq-<id> at start
//!   solution/       *.yaml, the reference fix (mission CI only; never shown before success)
//!   debrief.md      unlocked on success
//!   registry.yaml   optional: extra images for the embedded cluster's offline registry
//! ```
//!
//! A [`Catalog`] is read from several roots in order (the lessons bundled with the app, then a
//! teacher's folder). A folder that fails to load does not hide the others: its problems are
//! reported with file, line and field so the teacher can fix them, and the rest of the
//! curriculum still shows. Missions whose `requires` name an unknown mission, or form a cycle,
//! are rejected too: they could never be unlocked.
//!
//! Lesson files are input from teachers: every one is read through [`files::LessonRoot`]
//! (regular files inside the lesson's folder only, at most [`MAX_LESSON_FILE_BYTES`], never
//! blocking on a FIFO), and every problem of a lesson is collected, each at its own line, so a
//! teacher fixes them all after one run of the checker.
//!
//! [`check_lesson_dir`] runs the same validation plus warnings for `kq lessons check DIR`;
//! [`objectives`] evaluates a mission's checks against the cluster; [`render`] turns briefings
//! and debriefs into safe HTML.

pub mod check;
pub mod files;
pub mod format;
pub mod hints;
pub mod manifests;
pub mod objectives;
pub mod reactions;
pub mod render;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

pub use check::{ImageCatalog, LessonIssue, LessonReport, check_lesson_dir, check_lessons};
pub use files::{LessonRoot, MAX_LESSON_FILE_BYTES};
pub use format::{
    Chapter, ClusterScopedObject, Difficulty, ExpectedSymptom, FORMAT_VERSION, LessonStage,
    MIN_HINTS, Objective,
};
pub use hints::HintLadder;
pub use manifests::{DECLARABLE_CLUSTER_SCOPED_KINDS, Manifest, is_cluster_scoped};
pub use objectives::{
    Check, ObjectiveResult, ObjectiveStatus, Snapshot, WorkloadRef, all_met, evaluate,
    evaluate_all, evaluate_all_http, evaluate_session, evaluate_with,
};
pub use render::render_markdown;

/// The file in each lesson folder that describes the mission.
pub const MISSION_FILE: &str = "mission.md";
/// The debrief, unlocked on success.
pub const DEBRIEF_FILE: &str = "debrief.md";
/// Optional extra images for the offline registry.
pub const REGISTRY_FILE: &str = "registry.yaml";
/// The broken state.
pub const MANIFESTS_DIR: &str = "manifests";
/// The reference fix.
pub const SOLUTION_DIR: &str = "solution";

/// Why a lesson folder could not be loaded. Every variant names the file; most name the line
/// and field.
#[derive(Debug, thiserror::Error)]
pub enum LessonError {
    /// A file or folder could not be read at all.
    #[error("{}: cannot read: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A path that is not a regular file inside the lesson's folder, or is too large.
    #[error("{}: refused: {reason}", file.display())]
    Refused { file: PathBuf, reason: String },
    /// `mission.md` does not open with a `---` front matter block.
    #[error(
        "{}:1: missing front matter: the file must start with a line `---`, the mission's YAML, \
         and another `---`",
        file.display()
    )]
    NoFrontMatter { file: PathBuf },
    /// A required file or folder is missing.
    #[error("{}: missing {what}", file.display())]
    Missing { file: PathBuf, what: String },
    /// A file is not valid YAML, does not match the format, or breaks a rule.
    #[error(
        "{}:{line}: {}{message}",
        file.display(),
        field.as_deref().filter(|f| !f.is_empty()).map(|f| format!("{f}: ")).unwrap_or_default()
    )]
    Invalid {
        file: PathBuf,
        line: usize,
        field: Option<String>,
        message: String,
    },
    /// Two folders declare the same mission id.
    #[error("{}: mission id `{id}` is already used by {}", file.display(), other.display())]
    DuplicateId {
        file: PathBuf,
        id: String,
        other: PathBuf,
    },
    /// `requires` names a mission that is not in the catalog.
    #[error(
        "{}:{line}: requires: `{missing}` is not a mission in this curriculum, so `{id}` could \
         never be unlocked",
        file.display()
    )]
    UnknownRequires {
        file: PathBuf,
        line: usize,
        id: String,
        missing: String,
    },
    /// `requires` forms a cycle.
    #[error(
        "{}:{line}: requires: `{id}` is part of a cycle ({cycle}), so none of them could ever \
         be unlocked",
        file.display()
    )]
    RequiresCycle {
        file: PathBuf,
        line: usize,
        id: String,
        cycle: String,
    },
}

impl LessonError {
    /// The file the problem is in.
    pub fn file(&self) -> &Path {
        match self {
            LessonError::Io { file, .. }
            | LessonError::Refused { file, .. }
            | LessonError::NoFrontMatter { file }
            | LessonError::Missing { file, .. }
            | LessonError::Invalid { file, .. }
            | LessonError::DuplicateId { file, .. }
            | LessonError::UnknownRequires { file, .. }
            | LessonError::RequiresCycle { file, .. } => file,
        }
    }

    /// The line, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            LessonError::NoFrontMatter { .. } => Some(1),
            LessonError::Invalid { line, .. }
            | LessonError::UnknownRequires { line, .. }
            | LessonError::RequiresCycle { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// One mission as the mission map lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MissionSummary {
    /// Stable id (`crash-loop-backoff`); progress is keyed by it, never by position.
    pub id: String,
    /// Title shown on the mission map.
    pub title: String,
    /// Position in the curriculum (1 = first).
    pub order: u32,
    /// Pipeline stage where the mission's pod gets stuck (`run`, `pull`, `schedule`, …).
    pub stage: String,
    /// `beginner`, `intermediate` or `advanced`.
    pub difficulty: String,
    /// The chapter the map groups the mission under.
    pub chapter: Chapter,
    /// Missions that must be solved before this one opens.
    pub requires: Vec<String>,
    /// The missions of the chapter before this one's (the nearest earlier chapter that has
    /// missions): chapters open in order, each once the one before it is complete. Filled in by
    /// the catalog; teacher preview ignores it as it ignores `requires`.
    pub chapter_requires: Vec<String>,
}

impl MissionSummary {
    /// Everything that must be solved before this mission opens: its own `requires`, then the
    /// previous chapter's missions.
    pub fn all_requires(&self) -> Vec<String> {
        let mut all = self.requires.clone();
        all.extend(
            self.chapter_requires
                .iter()
                .filter(|id| !self.requires.contains(id))
                .cloned(),
        );
        all
    }
}

/// A mission as read from disk.
#[derive(Debug, Clone)]
pub struct Mission {
    pub summary: MissionSummary,
    /// The folder the mission was read from.
    pub dir: PathBuf,
    /// The briefing (Markdown after the front matter).
    pub briefing: String,
    pub expected_symptoms: Vec<ExpectedSymptom>,
    pub objectives: Vec<Objective>,
    pub hints: Vec<String>,
    /// Reacting hints: what to say between the hints, from what the learner has done.
    pub reactions: Vec<reactions::Reaction>,
    /// Labels the mission namespace is created with, such as
    /// `pod-security.kubernetes.io/enforce: restricted`.
    pub namespace_labels: std::collections::BTreeMap<String, String>,
    /// The broken state.
    pub manifests: Vec<Manifest>,
    /// The reference fix.
    pub solution: Vec<Manifest>,
    /// The debrief (Markdown).
    pub debrief: String,
    /// `registry.yaml`, if present: opaque to the engine, read by the embedded cluster.
    pub registry: Option<serde_yaml_ng::Value>,
    /// The line of `requires:` in `mission.md`, for catalog-level errors.
    pub requires_line: usize,
    /// Whether `mission.md` names its chapter; without one the mission is in
    /// [`Chapter::default`] and the checker warns.
    pub chapter_declared: bool,
    /// Objects outside the mission namespace that the mission declares (`cluster_scoped:`),
    /// each created by one of its manifests: extra nodes for the embedded cluster.
    pub cluster_scoped: Vec<ClusterScopedObject>,
    /// The text of each file in `manifests/`, as read when the mission loaded, for the editor.
    pub manifest_sources: Vec<(PathBuf, String)>,
    /// The learner whose seat in a class this mission is played from (see [`Catalog::seated`]):
    /// the mission then runs in that learner's own namespace. `None` for solo play.
    pub learner: Option<String>,
}

impl Mission {
    /// The namespace the mission runs in: `kq-<id>`, or `kq-<learner>-<id>` for a mission
    /// seated for a learner of a class (see [`Catalog::seated`]).
    pub fn namespace(&self) -> String {
        match &self.learner {
            Some(learner) => seated_namespace(learner, &self.summary.id),
            None => solo_namespace(&self.summary.id),
        }
    }

    /// Whether the mission is played from a learner's seat in a class.
    pub fn is_seated(&self) -> bool {
        self.learner.is_some()
    }

    /// This mission as `learner` plays it in a class: it runs in `kq-<learner>-<id>`, and the
    /// lesson's texts (briefing, hints, reacting hints, objective titles, debrief) name that
    /// namespace wherever they name `kq-<id>`, so the commands they suggest work as typed.
    pub fn seated(mut self, learner: &str) -> Mission {
        let from = solo_namespace(&self.summary.id);
        let to = seated_namespace(learner, &self.summary.id);
        let rename = |t: &mut String| *t = rename_namespace(t, &from, &to);
        rename(&mut self.briefing);
        rename(&mut self.debrief);
        self.hints.iter_mut().for_each(rename);
        self.reactions.iter_mut().for_each(|r| rename(&mut r.say));
        self.objectives
            .iter_mut()
            .for_each(|o| rename(&mut o.title));
        self.learner = Some(learner.to_owned());
        self
    }

    /// Whether the mission declares objects outside its namespace (extra nodes). Such a
    /// mission is meant for the embedded cluster: on a real cluster it would create or take
    /// over cluster-wide objects, so it must be refused there.
    pub fn declares_cluster_scoped(&self) -> bool {
        !self.cluster_scoped.is_empty()
    }

    /// `mission.md`'s path.
    pub fn file(&self) -> PathBuf {
        self.dir.join(MISSION_FILE)
    }

    /// The image catalog additions that apply to this mission, as `(file, YAML text)`: the
    /// teacher's `registry.yaml` beside the mission folders first, then the mission's own. An
    /// embedded cluster adds them before the mission starts; a real cluster ignores them.
    /// Read as every lesson file is (see [`files`]); a file that cannot be read safely is left
    /// out here, and `kq lessons check` reports it.
    pub fn registry_sources(&self) -> Vec<(String, String)> {
        registry_sources(&self.dir)
    }

    /// The debrief as safe HTML (call only once the mission is solved).
    pub fn debrief_html(&self) -> String {
        render_markdown(&self.debrief)
    }

    /// The hint ladder with `revealed` hints shown.
    pub fn hint_ladder(&self, revealed: usize) -> HintLadder<'_> {
        HintLadder::new(&self.hints, revealed)
    }
}

/// The missions found under one or more lesson roots, in curriculum order.
#[derive(Debug, Default)]
pub struct Catalog {
    pub missions: Vec<Mission>,
    pub problems: Vec<LessonError>,
}

/// The `registry.yaml` files that apply to the lesson in `dir` (its root's, then its own),
/// each read safely; unreadable ones are left out.
fn registry_sources(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    if let Some(root) = dir.parent() {
        files.push((root.to_owned(), root.join(REGISTRY_FILE)));
    }
    files.push((dir.to_owned(), dir.join(REGISTRY_FILE)));
    files
        .into_iter()
        .filter_map(|(root, f)| read_registry(&root, &f).ok().flatten())
        .collect()
}

/// The `registry.yaml` directly under a lessons root (the images every lesson there may use),
/// as (file name, text). Read through the lesson reader, so a FIFO, a link out of the root or
/// an oversized file is an error instead of a hung or bloated start.
pub fn root_registry(root: &Path) -> Result<Option<(String, String)>, LessonError> {
    read_registry(root, &root.join(REGISTRY_FILE))
}

/// Why a lessons root's `diagnoses.yaml` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DiagnosisTextsError {
    /// The file could not be read safely (see [`files`]).
    #[error(transparent)]
    Read(#[from] LessonError),
    /// The file was read but differs from the bundled one (unknown or missing sections, texts
    /// or placeholders); one issue per problem, each at its line.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<crate::diagnose::TextsIssue>),
}

/// The diagnosis texts of the first lessons root that has a `diagnoses.yaml` (read through the
/// lesson reader and checked against the bundled file), or `None` when no root has one and
/// the bundled texts apply. Call once at start and [`DiagnosisTexts::install`] the result.
///
/// [`DiagnosisTexts::install`]: crate::diagnose::DiagnosisTexts::install
pub fn diagnosis_texts(
    roots: &[PathBuf],
) -> Result<Option<crate::diagnose::DiagnosisTexts>, DiagnosisTextsError> {
    for root in roots {
        let file = root.join(crate::diagnose::DIAGNOSES_FILE);
        let Ok(dir) = LessonRoot::new(root) else {
            continue;
        };
        if let Some(yaml) = dir.read_optional(&file)? {
            return crate::diagnose::DiagnosisTexts::parse(&file, &yaml)
                .map(Some)
                .map_err(DiagnosisTextsError::Invalid);
        }
    }
    Ok(None)
}

fn read_registry(root: &Path, file: &Path) -> Result<Option<(String, String)>, LessonError> {
    let text = LessonRoot::new(root)?.read_optional(file)?;
    Ok(text.map(|t| (file.display().to_string(), t)))
}

/// Splits `---\nYAML\n---\nbody` into the YAML and the body. The YAML starts on line 2.
fn split_front_matter(text: &str) -> Option<(&str, &str)> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

/// The line (in the YAML) of the `nth` (0-based) line holding `key: value`.
fn line_of_entry(yaml: &str, key: &str, value: &str, nth: usize) -> Option<usize> {
    yaml.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l
                .trim_start()
                .trim_start_matches("- ")
                .trim_start_matches('{')
                .trim();
            t.contains(&format!("{key}: {value}"))
        })
        .nth(nth)
        .map(|(i, _)| i + 1)
}

/// Whether an id can be part of a namespace name (`kq-<id>` is a DNS label of ≤ 63 chars): the
/// id itself is an RFC 1123 label (the API server's rule, from kq-kube) of at most 60.
fn valid_id(id: &str) -> bool {
    id.len() <= 60 && kq_kube::validation::dns1123_label(id).is_empty()
}

/// Everything read from one lesson folder, even when it has problems: the checker still checks
/// the solution's images of a lesson whose front matter is broken.
#[derive(Debug, Default)]
pub(crate) struct LessonDraft {
    pub mission: Option<Mission>,
    pub errors: Vec<LessonError>,
    /// The reference fix's objects whose kind and name could be read.
    pub solution: Vec<Manifest>,
    /// The text of each manifest file read (both folders), to point at a line inside it.
    pub texts: Vec<(PathBuf, String)>,
    /// The `registry.yaml` files that apply, as `(file, YAML)`.
    pub registries: Vec<(String, String)>,
}

/// Reads one lesson folder, collecting every problem, each at its own file and line.
pub fn load_mission_all(dir: &Path) -> (Option<Mission>, Vec<LessonError>) {
    let draft = load_draft(dir);
    (draft.mission, draft.errors)
}

/// Reads one lesson folder; files may only come from inside it.
pub(crate) fn load_draft(dir: &Path) -> LessonDraft {
    let mut draft = LessonDraft::default();
    let root = match LessonRoot::new(dir) {
        Ok(r) => r,
        Err(e) => {
            draft.errors.push(e);
            return draft;
        }
    };
    let errors = &mut draft.errors;
    let file = dir.join(MISSION_FILE);
    let text = root
        .read(&file)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let split = split_front_matter(&text);
    if split.is_none() && (!text.is_empty() || errors.is_empty()) {
        errors.push(LessonError::NoFrontMatter { file: file.clone() });
    }
    let (yaml, body) = split.unwrap_or(("", ""));
    let front = split.map(|(yaml, _)| format::parse_front_matter(yaml));
    // The YAML starts on the file's second line.
    let invalid = |line: usize, field: &str, message: String| LessonError::Invalid {
        file: file.clone(),
        line: line + 1,
        field: Some(field.to_owned()),
        message,
    };
    let key_line = |k: &str| format::line_of_key(yaml, k).unwrap_or(1);
    let empty = format::FrontMatter::default();
    let f = front.as_ref().unwrap_or(&empty);
    for p in &f.problems {
        errors.push(LessonError::Invalid {
            file: file.clone(),
            line: p.line + 1,
            field: p.field.clone(),
            message: p.message.clone(),
        });
    }
    if let Some(id) = &f.id
        && !valid_id(id)
    {
        errors.push(invalid(
            key_line("id"),
            "id",
            format!(
                "`{id}` is not a valid mission id: use lower-case letters, digits and dashes (at \
                 most 60), since the mission runs in namespace kq-<id>"
            ),
        ));
    }
    if f.title.as_ref().is_some_and(|t| t.trim().is_empty()) {
        errors.push(invalid(
            key_line("title"),
            "title",
            "the title is empty".into(),
        ));
    }
    if let Some(objectives) = &f.objectives {
        if objectives.is_empty() {
            errors.push(invalid(
                key_line("objectives"),
                "objectives",
                "a mission needs at least one objective, or it could never be solved".into(),
            ));
        }
        let mut seen = BTreeMap::new();
        for (i, o) in objectives.iter().enumerate() {
            let n = seen.entry(o.id.clone()).or_insert(0usize);
            if *n > 0 {
                errors.push(invalid(
                    line_of_entry(yaml, "id", &o.id, *n).unwrap_or_else(|| key_line("objectives")),
                    &format!("objectives[{i}].id"),
                    format!("duplicate objective id `{}`", o.id),
                ));
            }
            *n += 1;
        }
    }
    if let Some(hints) = &f.hints {
        if hints.len() < MIN_HINTS {
            errors.push(invalid(
                key_line("hints"),
                "hints",
                format!(
                    "needs at least {MIN_HINTS} hints (gentle first, explicit last), found {}",
                    hints.len()
                ),
            ));
        }
        for (i, _) in hints
            .iter()
            .enumerate()
            .filter(|(_, h)| h.trim().is_empty())
        {
            errors.push(invalid(
                key_line("hints"),
                &format!("hints[{i}]"),
                "empty hint".into(),
            ));
        }
    }

    // Only a valid id names a namespace; otherwise namespace checks wait for the id's fix.
    let namespace =
        f.id.as_deref()
            .filter(|id| valid_id(id))
            .map(|id| format!("kq-{id}"));
    let mut read_dir = |name: &str, errors: &mut Vec<LessonError>| {
        let d = dir.join(name);
        if !d.is_dir() {
            errors.push(LessonError::Missing {
                file: d,
                what: format!("the `{name}/` folder of YAML manifests"),
            });
            return (Vec::new(), false);
        }
        let read = manifests::read_manifest_dir(&root, &d, namespace.as_deref());
        if read.manifests.is_empty() && read.errors.is_empty() {
            errors.push(LessonError::Missing {
                file: d,
                what: "any manifest".into(),
            });
        }
        errors.extend(read.errors);
        draft.texts.extend(read.sources);
        (read.manifests, read.complete)
    };
    let (broken, broken_complete) = read_dir(MANIFESTS_DIR, errors);
    let (solution, _) = read_dir(SOLUTION_DIR, errors);

    if broken_complete && let Some(symptoms) = &f.expected_symptoms {
        for (i, s) in symptoms.iter().enumerate() {
            if let Some(name) = &s.budget {
                let line = line_of_entry(yaml, "budget", name, 0)
                    .unwrap_or_else(|| key_line("expected_symptoms"));
                let field = format!("expected_symptoms[{i}].budget");
                if !s.pod.is_empty() || s.workload.is_some() {
                    errors.push(invalid(
                        line,
                        &field,
                        "name one of `pod`, `workload` or `budget`, not several".to_owned(),
                    ));
                } else if s.stage != LessonStage::Apply {
                    errors.push(invalid(
                        line,
                        &format!("expected_symptoms[{i}].stage"),
                        "a budget is an object of its own: its stage is `apply`".to_owned(),
                    ));
                } else if !broken
                    .iter()
                    .any(|m| m.kind == "PodDisruptionBudget" && m.name == *name)
                {
                    errors.push(invalid(
                        line,
                        &field,
                        format!("manifests/ defines no PodDisruptionBudget named `{name}`"),
                    ));
                }
                continue;
            }
            if let Some(text) = &s.workload {
                let line = line_of_entry(yaml, "workload", text, 0)
                    .unwrap_or_else(|| key_line("expected_symptoms"));
                let field = format!("expected_symptoms[{i}].workload");
                if !s.pod.is_empty() {
                    errors.push(invalid(
                        line,
                        &field,
                        "name either a `pod` or a `workload`, not both".to_owned(),
                    ));
                    continue;
                }
                match text.parse::<WorkloadRef>() {
                    Err(e) => errors.push(invalid(line, &field, e.to_string())),
                    Ok(w) => {
                        let kind = w.kind.as_str();
                        if !broken.iter().any(|m| m.kind == kind && m.name == w.name) {
                            errors.push(invalid(
                                line,
                                &field,
                                format!("manifests/ defines no {kind} named `{}`", w.name),
                            ));
                        }
                    }
                }
                continue;
            }
            if s.stage == LessonStage::Apply {
                errors.push(invalid(
                    line_of_entry(yaml, "pod", &s.pod, 0)
                        .unwrap_or_else(|| key_line("expected_symptoms")),
                    &format!("expected_symptoms[{i}].stage"),
                    "`apply` is a workload's own stage: name the `workload` (`deployment/web`) \
                     whose controller is stuck"
                        .to_owned(),
                ));
                continue;
            }
            let known = broken.iter().any(|m| m.kind == "Pod" && m.name == s.pod)
                || broken
                    .iter()
                    .any(|m| m.kind != "Pod" && !m.is_cluster_scoped());
            if !known {
                errors.push(invalid(
                    line_of_entry(yaml, "pod", &s.pod, 0)
                        .unwrap_or_else(|| key_line("expected_symptoms")),
                    &format!("expected_symptoms[{i}].pod"),
                    format!("manifests/ defines no Pod named `{}`", s.pod),
                ));
            }
        }
    }
    check_cluster_scoped(&file, f, &broken, &solution, errors);

    let debrief_file = dir.join(DEBRIEF_FILE);
    let debrief = match root.read(&debrief_file) {
        Ok(d) if d.trim().is_empty() => {
            errors.push(LessonError::Missing {
                file: debrief_file,
                what: "debrief text".into(),
            });
            String::new()
        }
        Ok(d) => d,
        Err(LessonError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            errors.push(LessonError::Missing {
                file: debrief_file,
                what: "the debrief (debrief.md), shown when the mission is solved".into(),
            });
            String::new()
        }
        Err(e) => {
            errors.push(e);
            String::new()
        }
    };

    let registry_file = dir.join(REGISTRY_FILE);
    let registry = match root.read_optional(&registry_file) {
        Ok(Some(t)) => match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&t) {
            Ok(v) => Some(v),
            Err(e) => {
                let p = format::split_yaml_error(&e);
                errors.push(LessonError::Invalid {
                    line: format::clamp_line(&t, p.line),
                    file: registry_file,
                    field: p.field,
                    message: format!("not valid YAML: {}", p.message),
                });
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    draft.registries = registry_sources(dir);
    draft.solution = solution.clone();

    if !draft.errors.is_empty() {
        return draft;
    }
    let (
        Some(id),
        Some(title),
        Some(order),
        Some(stage),
        Some(difficulty),
        Some(requires),
        Some(cluster_scoped),
        Some(expected_symptoms),
        Some(objectives),
        Some(hints),
    ) = (
        f.id.clone(),
        f.title.clone(),
        f.order,
        f.stage,
        f.difficulty,
        f.requires.clone(),
        f.cluster_scoped.clone(),
        f.expected_symptoms.clone(),
        f.objectives.clone(),
        f.hints.clone(),
    )
    else {
        // Every missing or rejected field was reported above; this is a safety net.
        draft
            .errors
            .push(invalid(1, "", "the front matter is incomplete".into()));
        return draft;
    };
    let manifest_sources = draft
        .texts
        .iter()
        .filter(|(p, _)| p.starts_with(dir.join(MANIFESTS_DIR)))
        .cloned()
        .collect();
    draft.mission = Some(Mission {
        summary: MissionSummary {
            id,
            title,
            order,
            stage: stage.as_str().to_owned(),
            difficulty: difficulty.as_str().to_owned(),
            chapter: f.chapter.unwrap_or_default(),
            requires,
            chapter_requires: Vec::new(),
        },
        dir: dir.to_owned(),
        briefing: body.trim_start().to_owned(),
        expected_symptoms,
        objectives,
        hints,
        reactions: f.reactions.clone().unwrap_or_default(),
        namespace_labels: f.namespace_labels.clone().unwrap_or_default(),
        manifests: broken,
        solution,
        debrief,
        registry,
        requires_line: format::line_of_key(yaml, "requires").map_or(1, |l| l + 1),
        chapter_declared: f.chapter.is_some(),
        cluster_scoped: cluster_scoped.into_iter().map(|(o, _)| o).collect(),
        manifest_sources,
        learner: None,
    });
    draft
}

/// A lesson's objects stay inside its namespace. Cluster-scoped ones are allowed only when
/// declared in `cluster_scoped:`, and only of the kinds the embedded cluster uses; every
/// undeclared object and every declaration without its object is reported at its line.
fn check_cluster_scoped(
    file: &Path,
    f: &format::FrontMatter,
    broken: &[Manifest],
    solution: &[Manifest],
    errors: &mut Vec<LessonError>,
) {
    let allowed = DECLARABLE_CLUSTER_SCOPED_KINDS.join(", ");
    for m in broken.iter().chain(solution) {
        if !m.is_cluster_scoped() {
            continue;
        }
        let message = if !DECLARABLE_CLUSTER_SCOPED_KINDS.contains(&m.kind.as_str()) {
            format!(
                "{} `{}` is cluster-scoped: a lesson's objects stay inside the mission namespace, \
                 and the only cluster-scoped kinds a mission may declare are: {allowed}",
                m.kind, m.name
            )
        } else if f.cluster_scoped.as_ref().is_some_and(|declared| {
            !declared
                .iter()
                .any(|(d, _)| d.kind == m.kind && d.name == m.name)
        }) {
            format!(
                "{} `{}` is cluster-scoped but not declared: add `- {{ kind: {}, name: {} }}` \
                 to `cluster_scoped:` in mission.md (allowed on the embedded cluster only)",
                m.kind, m.name, m.kind, m.name
            )
        } else {
            continue;
        };
        errors.push(LessonError::Invalid {
            file: m.file.clone(),
            line: m.line,
            field: Some("kind".into()),
            message,
        });
    }
    for (i, (d, line)) in f.cluster_scoped.iter().flatten().enumerate() {
        let message = if !DECLARABLE_CLUSTER_SCOPED_KINDS.contains(&d.kind.as_str()) {
            format!(
                "`{}` cannot be declared: the only cluster-scoped kinds a mission may declare \
                 are: {allowed}",
                d.kind
            )
        } else if !broken.iter().any(|m| m.kind == d.kind && m.name == d.name) {
            format!(
                "declares {} `{}`, but manifests/ does not create it",
                d.kind, d.name
            )
        } else {
            continue;
        };
        errors.push(LessonError::Invalid {
            file: file.to_owned(),
            line: line + 1,
            field: Some(format!("cluster_scoped[{i}]")),
            message,
        });
    }
}

/// Reads one lesson folder; the first problem wins. See [`load_mission_all`] for all of them.
pub fn load_mission(dir: &Path) -> Result<Mission, LessonError> {
    match load_mission_all(dir) {
        (Some(m), _) => Ok(m),
        (None, mut errors) => Err(errors.remove(0)),
    }
}

/// Removes missions whose `requires` cannot be satisfied, reporting why.
fn reject_unsatisfiable(missions: &mut Vec<Mission>, problems: &mut Vec<LessonError>) {
    loop {
        let ids: BTreeSet<String> = missions.iter().map(|m| m.summary.id.clone()).collect();
        let bad: Vec<(usize, String)> = missions
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                m.summary
                    .requires
                    .iter()
                    .find(|r| !ids.contains(*r))
                    .map(|r| (i, r.clone()))
            })
            .collect();
        if bad.is_empty() {
            break;
        }
        for (i, missing) in bad.into_iter().rev() {
            let m = missions.remove(i);
            problems.push(LessonError::UnknownRequires {
                file: m.file(),
                line: m.requires_line,
                id: m.summary.id.clone(),
                missing,
            });
        }
    }
    // Cycles: repeatedly peel missions whose requirements are all satisfiable; what remains
    // sits on or behind a cycle.
    let mut resolved: BTreeSet<String> = BTreeSet::new();
    loop {
        let before = resolved.len();
        for m in missions.iter() {
            if m.summary.requires.iter().all(|r| resolved.contains(r)) {
                resolved.insert(m.summary.id.clone());
            }
        }
        if resolved.len() == before {
            break;
        }
    }
    let stuck: Vec<String> = missions
        .iter()
        .filter(|m| !resolved.contains(&m.summary.id))
        .map(|m| m.summary.id.clone())
        .collect();
    if !stuck.is_empty() {
        let cycle = stuck.join(" → ");
        let (keep, drop): (Vec<Mission>, Vec<Mission>) = std::mem::take(missions)
            .into_iter()
            .partition(|m| resolved.contains(&m.summary.id));
        *missions = keep;
        for m in drop {
            problems.push(LessonError::RequiresCycle {
                file: m.file(),
                line: m.requires_line,
                id: m.summary.id.clone(),
                cycle: cycle.clone(),
            });
        }
    }
}

/// The lesson folders (those holding a `mission.md`) directly under `root`, in name order. A
/// folder that resolves outside `root` (a symlink to elsewhere) is refused, not read. A root
/// that does not exist has no lessons: a teacher's folder is optional.
pub(crate) fn lesson_dirs(root: &Path) -> (Vec<PathBuf>, Vec<LessonError>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return (Vec::new(), Vec::new());
    };
    let lessons_root = LessonRoot::new(root).ok();
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join(MISSION_FILE).is_file())
        .collect();
    dirs.sort();
    let mut refused = Vec::new();
    dirs.retain(|d| {
        let inside = lessons_root.as_ref().is_some_and(|r| r.contains(d));
        if !inside {
            refused.push(LessonError::Refused {
                file: d.clone(),
                reason: format!(
                    "this lesson folder resolves to {}, outside {}; put the lesson itself in \
                     the lessons folder instead of linking to it",
                    d.canonicalize().map_or_else(
                        |_| "an unreadable place".into(),
                        |p| p.display().to_string()
                    ),
                    root.display()
                ),
            });
        }
        inside
    });
    (dirs, refused)
}

impl Catalog {
    /// Reads every folder holding a `mission.md` directly under each root. Roots that do not
    /// exist are skipped: a teacher's folder is optional.
    pub fn load(roots: &[PathBuf]) -> Catalog {
        let mut catalog = Catalog::default();
        for root in roots {
            let (dirs, refused) = lesson_dirs(root);
            catalog.problems.extend(refused);
            for dir in dirs {
                match load_mission_all(&dir) {
                    (Some(m), _) => {
                        if let Some(other) = catalog
                            .missions
                            .iter()
                            .find(|o| o.summary.id == m.summary.id)
                        {
                            catalog.problems.push(LessonError::DuplicateId {
                                file: dir.join(MISSION_FILE),
                                id: m.summary.id.clone(),
                                other: other.dir.clone(),
                            });
                        } else {
                            catalog.missions.push(m);
                        }
                    }
                    (None, errors) => catalog.problems.extend(errors),
                }
            }
        }
        reject_unsatisfiable(&mut catalog.missions, &mut catalog.problems);
        catalog.missions.sort_by(|a, b| {
            (a.summary.order, &a.summary.id).cmp(&(b.summary.order, &b.summary.id))
        });
        gate_chapters(&mut catalog.missions);
        catalog
    }

    /// The summaries, in curriculum order.
    pub fn summaries(&self) -> Vec<MissionSummary> {
        self.missions.iter().map(|m| m.summary.clone()).collect()
    }

    /// The mission with this id.
    pub fn get(&self, id: &str) -> Option<&Mission> {
        self.missions.iter().find(|m| m.summary.id == id)
    }

    /// The curriculum of a class as `learner` plays it: only the class's missions
    /// (`class_missions`, the ids of the class's `class` ConfigMap, in any order; ids this
    /// catalog lacks are skipped), each [`Mission::seated`] in the learner's namespace, kept in
    /// curriculum order. A mission left out of the class must not lock what follows it, so the
    /// chapters are gated again over the class's missions, and a `requires` naming a mission
    /// outside the class is dropped (the teacher chose to leave it out). The lesson problems
    /// are not carried over: they were the teacher's to fix before the class.
    pub fn seated(&self, learner: &str, class_missions: &[String]) -> Catalog {
        let ids: BTreeSet<&str> = class_missions.iter().map(String::as_str).collect();
        let mut missions: Vec<Mission> = self
            .missions
            .iter()
            .filter(|m| ids.contains(m.summary.id.as_str()))
            .map(|m| {
                let mut m = m.clone().seated(learner);
                m.summary.requires.retain(|r| ids.contains(r.as_str()));
                m
            })
            .collect();
        gate_chapters(&mut missions);
        Catalog {
            missions,
            problems: Vec::new(),
        }
    }
}

/// `kq-<id>`: a solo mission's namespace.
fn solo_namespace(id: &str) -> String {
    format!("kq-{id}")
}

/// `kq-<learner>-<id>`: a class learner's namespace for a mission.
fn seated_namespace(learner: &str, id: &str) -> String {
    crate::classroom::learner_namespace(learner, id)
}

/// `text` with every whole-word `from` (a namespace name: not part of a longer name such as
/// `kq-web-2` when `from` is `kq-web`) replaced by `to`.
fn rename_namespace(text: &str, from: &str, to: &str) -> String {
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut prev: Option<char> = None;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back().or(prev);
        let after = rest[at + from.len()..].chars().next();
        out.push_str(&rest[..at]);
        // A trailing '-' ends a name in prose ("kq-web-"), but a letter or digit after it
        // continues the name.
        let whole = !before.is_some_and(name_char)
            && !after.is_some_and(|c| {
                c.is_ascii_alphanumeric()
                    || (c == '-'
                        && rest[at + from.len() + 1..]
                            .chars()
                            .next()
                            .is_some_and(|n| n.is_ascii_alphanumeric()))
            });
        out.push_str(if whole { to } else { from });
        prev = from.chars().next_back();
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

/// Chapters open in order: every mission's `chapter_requires` is the list of missions of the
/// nearest earlier chapter that has any (the first chapter's missions have none).
fn gate_chapters(missions: &mut [Mission]) {
    let mut previous: Vec<String> = Vec::new();
    for chapter in Chapter::ALL {
        let ids: Vec<String> = missions
            .iter()
            .filter(|m| m.summary.chapter == chapter)
            .map(|m| m.summary.id.clone())
            .collect();
        if ids.is_empty() {
            continue;
        }
        for m in missions.iter_mut().filter(|m| m.summary.chapter == chapter) {
            m.summary.chapter_requires = previous.clone();
        }
        previous = ids;
    }
}

/// Whether a pipeline shows a lesson's expected symptom: the pod is stuck (or failed) at the
/// expected stage with the expected reason. `ErrImagePull` and `ImagePullBackOff` match each
/// other, since the kubelet alternates between them.
pub fn symptom_matches(symptom: &ExpectedSymptom, pipeline: &crate::pipeline::PodPipeline) -> bool {
    if pipeline.pod != symptom.pod {
        return false;
    }
    fn family(r: &str) -> &str {
        match r {
            "ErrImagePull" | "ImagePullBackOff" => "image-pull",
            other => other,
        }
    }
    let Some(stage) = pipeline.stuck_stage() else {
        return false;
    };
    let reason = stage.reason.as_deref().unwrap_or_default();
    stage.kind == symptom.stage.stage_kind() && family(reason) == family(&symptom.reason)
}

#[cfg(test)]
mod tests;
