//! `kq lessons check DIR`: validate lessons without a cluster.
//!
//! Accepts one lesson folder (holding `mission.md`) or a folder of lessons. Errors are what the
//! loader rejects (with file, line and field); warnings are things that load but are probably
//! mistakes: raw HTML or unsafe links that the renderer will neutralise, objectives about pods
//! no manifest creates, a folder name that does not match the id, missing expected symptoms
//! (mission CI then has nothing to check the broken state against).
//!
//! A folder of lessons may also hold `diagnoses.yaml`, the diagnosis texts: it is checked
//! against the bundled one (sections, texts and placeholders), each problem at its line.
//!
//! Every error of every lesson is reported in one run, each at its own `file:line`, and the
//! summary counts the lessons checked and how many of them have errors, broken ones included.
//!
//! Whether the solution's images exist, and whether a `registry.yaml` is acceptable, only the
//! embedded cluster's offline registry knows. The engine does not depend on the cluster, so the
//! caller passes that knowledge in as an [`ImageCatalog`] (the `kq` CLI builds it from the
//! cluster crate's catalog).

use std::fmt;
use std::path::{Path, PathBuf};

use comrak::nodes::NodeValue;
use comrak::{Arena, Options, parse_document};

use super::files::LessonRoot;
use super::manifests::{container_images, image_line};
use super::render::is_safe_url;
use super::{
    Catalog, DiagnosisTextsError, LessonError, MISSION_FILE, Mission, REGISTRY_FILE, lesson_dirs,
    load_draft, reject_unsatisfiable,
};

/// The problems of the lessons root's own `diagnoses.yaml`, if it has one: an unknown section
/// or text, a missing one, a placeholder missing or unknown, each at its line.
fn diagnosis_issues(root: &Path, errors: &mut Vec<LessonIssue>) {
    match super::diagnosis_texts(&[root.to_owned()]) {
        Ok(_) => {}
        Err(DiagnosisTextsError::Read(e)) => errors.push(LessonIssue::from(&e)),
        Err(DiagnosisTextsError::Invalid(issues)) => {
            errors.extend(issues.into_iter().map(|i| LessonIssue {
                file: i.file,
                line: i.line,
                message: i.problem.to_string(),
            }));
        }
    }
}

/// What only the embedded cluster's offline image registry knows, supplied by the caller.
pub trait ImageCatalog {
    /// Why `image` cannot be pulled from the offline registry as extended by `registries`
    /// (each `registry.yaml` that applies, as `(file, YAML)`), or `None` when it can.
    fn missing_image(&self, registries: &[(String, String)], image: &str) -> Option<String>;

    /// What the embedded cluster refuses in one `registry.yaml`, as `(line, message)`, or
    /// `None` when it accepts the file.
    fn registry_problem(&self, file: &str, yaml: &str) -> Option<(Option<usize>, String)>;
}

/// One finding, printed as `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonIssue {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for LessonIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl From<&LessonError> for LessonIssue {
    fn from(e: &LessonError) -> LessonIssue {
        // The error's own text already starts with `file:line:`; keep only the message part.
        let text = e.to_string();
        let prefix = match e.line() {
            Some(l) => format!("{}:{l}: ", e.file().display()),
            None => format!("{}: ", e.file().display()),
        };
        LessonIssue {
            file: e.file().to_owned(),
            line: e.line(),
            message: text.strip_prefix(&prefix).unwrap_or(&text).to_owned(),
        }
    }
}

/// The outcome of a check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LessonReport {
    /// Every lesson folder checked, whether or not it loaded.
    pub checked: Vec<PathBuf>,
    /// The lesson folders with at least one error.
    pub broken: Vec<PathBuf>,
    pub errors: Vec<LessonIssue>,
    pub warnings: Vec<LessonIssue>,
}

/// `1 lesson`, `3 lessons`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

impl LessonReport {
    /// No errors (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// The report as `kq lessons check` prints it: one `error:`/`warning:` line per finding,
    /// then a summary line: lessons checked, how many have errors, errors, warnings.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for e in &self.errors {
            out.push_str(&format!("error: {e}\n"));
        }
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        out.push_str(&format!(
            "{} checked, {} with errors, {}, {}\n",
            count(self.checked.len(), "lesson"),
            self.broken.len(),
            count(self.errors.len(), "error"),
            count(self.warnings.len(), "warning"),
        ));
        out
    }
}

/// Line numbers of raw HTML and unsafe links in Markdown (1-based, relative to `markdown`).
fn markdown_findings(markdown: &str) -> Vec<(usize, String)> {
    let arena = Arena::new();
    let mut opts = Options::default();
    opts.extension.autolink = true;
    opts.extension.table = true;
    let root = parse_document(&arena, markdown, &opts);
    let mut out = Vec::new();
    for node in root.descendants() {
        let data = node.data.borrow();
        let line = data.sourcepos.start.line;
        match &data.value {
            NodeValue::HtmlBlock(_) | NodeValue::HtmlInline(_) => out.push((
                line,
                "raw HTML is not rendered (it is shown as text); use Markdown instead".into(),
            )),
            NodeValue::Link(l) if !is_safe_url(&l.url, false) => out.push((
                line,
                format!(
                    "link to `{}` will be dropped: only http(s), mailto and #anchors are kept",
                    l.url
                ),
            )),
            NodeValue::Image(l) if !is_safe_url(&l.url, true) => out.push((
                line,
                format!(
                    "image `{}` will be dropped: only http(s) images are kept",
                    l.url
                ),
            )),
            _ => {}
        }
    }
    out
}

fn warnings_for(m: &Mission, out: &mut Vec<LessonIssue>) {
    let file = m.file();
    let folder = m
        .dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if !folder.ends_with(&m.summary.id) {
        out.push(LessonIssue {
            file: file.clone(),
            line: None,
            message: format!(
                "folder `{folder}` does not end with the mission id `{}`; name it \
                 `NN-{}` so the two are easy to match",
                m.summary.id, m.summary.id
            ),
        });
    }
    if m.briefing.trim().is_empty() {
        out.push(LessonIssue {
            file: file.clone(),
            line: None,
            message: "the briefing (the Markdown after the front matter) is empty".into(),
        });
    }
    if !m.chapter_declared {
        let fallback = super::Chapter::default();
        out.push(LessonIssue {
            file: file.clone(),
            line: None,
            message: format!(
                "no `chapter:`, so the map shows the mission under {} (`chapter: {}`); name one \
                 of {}",
                fallback.title(),
                fallback.as_str(),
                super::Chapter::ALL
                    .iter()
                    .map(|c| format!("`{}`", c.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    if m.expected_symptoms.is_empty() {
        out.push(LessonIssue {
            file: file.clone(),
            line: None,
            message: "no expected_symptoms: mission CI cannot check that the broken state \
                      shows the intended problem"
                .into(),
        });
    }
    for o in &m.objectives {
        let (kind, pod) = o.check.subject();
        let named = |x: &&super::Manifest| x.kind == kind && x.name == pod;
        let defined = m.manifests.iter().chain(&m.solution).any(|x| named(&x))
            // A pod may come from a workload under a name the lesson cannot know.
            || (kind == "Pod"
                && m.manifests
                    .iter()
                    .chain(&m.solution)
                    .any(|x| x.kind != "Pod"));
        if !defined && kind != "Pod" {
            out.push(LessonIssue {
                file: file.clone(),
                line: None,
                message: format!(
                    "objective `{}` checks {} `{pod}`, which no manifest or solution creates",
                    o.id,
                    kind.to_ascii_lowercase()
                ),
            });
        } else if !defined {
            out.push(LessonIssue {
                file: file.clone(),
                line: None,
                message: format!(
                    "objective `{}` checks pod `{pod}`, which no manifest or solution creates",
                    o.id
                ),
            });
        }
    }
    // The briefing starts after the front matter; find its first line in the file.
    let body_offset = LessonRoot::new(&m.dir)
        .and_then(|root| root.read(&file))
        .ok()
        .and_then(|t| {
            let pos = t.find(m.briefing.lines().next().unwrap_or_default())?;
            Some(t[..pos].lines().count())
        })
        .unwrap_or(0);
    for (line, message) in markdown_findings(&m.briefing) {
        out.push(LessonIssue {
            file: file.clone(),
            line: Some(line + body_offset),
            message,
        });
    }
    for (line, message) in markdown_findings(&m.debrief) {
        out.push(LessonIssue {
            file: m.dir.join(super::DEBRIEF_FILE),
            line: Some(line),
            message,
        });
    }
}

/// Checks one lesson folder, or every lesson folder directly inside `path`, without image
/// knowledge. See [`check_lessons`].
pub fn check_lesson_dir(path: &Path) -> LessonReport {
    check_lessons(path, None)
}

/// Checks one lesson folder, or every lesson folder directly inside `path`; with `images`, also
/// that every `registry.yaml` is accepted and every image the solution names exists.
pub fn check_lessons(path: &Path, images: Option<&dyn ImageCatalog>) -> LessonReport {
    let mut report = LessonReport::default();
    let single = path.join(MISSION_FILE).is_file();
    let dirs = if single {
        vec![path.to_owned()]
    } else if path.is_dir() {
        let (dirs, refused) = lesson_dirs(path);
        report.errors.extend(refused.iter().map(LessonIssue::from));
        if let Some(images) = images
            && let Ok(root) = LessonRoot::new(path)
        {
            registry_issue(&root, &path.join(REGISTRY_FILE), images, &mut report.errors);
        }
        diagnosis_issues(path, &mut report.errors);
        if dirs.is_empty() && report.errors.is_empty() {
            report.errors.push(LessonIssue {
                file: path.to_owned(),
                line: None,
                message: "no lessons found: each lesson is a folder with a mission.md".into(),
            });
        }
        dirs
    } else {
        report.errors.push(LessonIssue {
            file: path.to_owned(),
            line: None,
            message: "not a lesson folder (no mission.md) nor a folder of lessons".into(),
        });
        return report;
    };

    let mut missions: Vec<Mission> = Vec::new();
    let mut catalog_problems = Vec::new();
    for dir in &dirs {
        let draft = load_draft(dir);
        report
            .errors
            .extend(draft.errors.iter().map(LessonIssue::from));
        if let Some(images) = images {
            // A registry.yaml the loader already rejected (not YAML) is reported once, by it.
            let registry = dir.join(REGISTRY_FILE);
            if let Ok(root) = LessonRoot::new(dir)
                && !draft.errors.iter().any(|e| e.file() == registry)
            {
                registry_issue(&root, &registry, images, &mut report.errors);
            }
            let mut seen = std::collections::BTreeSet::new();
            for m in &draft.solution {
                let text = draft
                    .texts
                    .iter()
                    .find(|(f, _)| *f == m.file)
                    .map_or("", |(_, t)| t.as_str());
                for image in container_images(&m.object) {
                    let line = image_line(text, m, &image);
                    if !seen.insert((m.file.clone(), line, image.clone())) {
                        continue;
                    }
                    if let Some(why) = images.missing_image(&draft.registries, &image) {
                        report.errors.push(LessonIssue {
                            file: m.file.clone(),
                            line: Some(line),
                            message: format!(
                                "the solution's image `{image}` is not in the embedded \
                                 cluster's image catalog, so the reference fix could never \
                                 pass: {why}. Use an image the catalog has, or add it in \
                                 registry.yaml"
                            ),
                        });
                    }
                }
            }
        }
        report.checked.push(dir.clone());
        if let Some(m) = &draft.mission {
            reaction_pod_issues(m, &mut report.errors);
        }
        if let Some(m) = draft.mission {
            if let Some(other) = missions.iter().find(|o| o.summary.id == m.summary.id) {
                catalog_problems.push(LessonError::DuplicateId {
                    file: m.file(),
                    id: m.summary.id.clone(),
                    other: other.dir.clone(),
                });
            } else {
                missions.push(m);
            }
        }
    }

    if single {
        if let Some(m) = missions.first() {
            // `requires` is resolved against the lesson's siblings.
            let siblings = path
                .parent()
                .map(|p| Catalog::load(&[p.to_owned()]))
                .unwrap_or_default();
            for r in &m.summary.requires {
                if siblings.get(r).is_none() && *r != m.summary.id {
                    report.errors.push(LessonIssue {
                        file: m.file(),
                        line: Some(m.requires_line),
                        message: format!(
                            "requires: `{r}` is not a mission next to this one, so `{}` could \
                             never be unlocked",
                            m.summary.id
                        ),
                    });
                }
            }
            if m.summary.requires.contains(&m.summary.id) {
                report.errors.push(LessonIssue {
                    file: m.file(),
                    line: Some(m.requires_line),
                    message: "requires: a mission cannot require itself".into(),
                });
            }
        }
    } else {
        reject_unsatisfiable(&mut missions, &mut catalog_problems);
    }
    report
        .errors
        .extend(catalog_problems.iter().map(LessonIssue::from));
    missions
        .sort_by(|a, b| (a.summary.order, &a.summary.id).cmp(&(b.summary.order, &b.summary.id)));
    for (i, m) in missions.iter().enumerate() {
        if let Some(other) = missions[..i]
            .iter()
            .find(|o| o.summary.order == m.summary.order)
        {
            report.warnings.push(LessonIssue {
                file: m.file(),
                line: None,
                message: format!(
                    "order {} is also used by `{}`; the map then sorts them by id",
                    m.summary.order, other.summary.id
                ),
            });
        }
        warnings_for(m, &mut report.warnings);
    }
    report.broken = dirs
        .iter()
        .filter(|d| report.errors.iter().any(|e| e.file.starts_with(d)))
        .cloned()
        .collect();
    report
}

/// Whether the mission's broken state creates a pod named `pod`: a Pod manifest of that name, or
/// a StatefulSet's ordinal pod (`db-0`). Other workloads' pods get generated names.
fn creates_pod(m: &Mission, pod: &str) -> bool {
    m.manifests.iter().any(|x| {
        (x.kind == "Pod" && x.name == pod)
            || (x.kind == "StatefulSet"
                && pod
                    .strip_prefix(&x.name)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
    })
}

/// A reacting hint that names a pod the manifests never create would never speak: an error at
/// the line of that investigation.
fn reaction_pod_issues(m: &Mission, out: &mut Vec<LessonIssue>) {
    for (i, r) in m.reactions.iter().enumerate() {
        for (list, items) in [("done", &r.done), ("not_done", &r.not_done)] {
            for inv in items {
                let Some(pod) = inv.pod.as_deref() else {
                    continue;
                };
                if creates_pod(m, pod) {
                    continue;
                }
                out.push(LessonIssue {
                    file: m.file(),
                    // The front matter starts on the file's second line.
                    line: Some(inv.line + 1),
                    message: format!(
                        "reactions[{i}].{list}: `{}: {pod}` names a pod that manifests/ does not \
                         create, so the rule would {}; name a Pod of the manifests (pods of \
                         Deployments, ReplicaSets, DaemonSets and Jobs get generated names: \
                         write `{}` alone for any pod)",
                        inv.kind.as_str(),
                        if list == "done" {
                            "never speak"
                        } else {
                            "ignore what the learner does"
                        },
                        inv.kind.as_str(),
                    ),
                });
            }
        }
    }
}

/// Asks the image catalog about one `registry.yaml`, if there is one.
fn registry_issue(
    root: &LessonRoot,
    file: &Path,
    images: &dyn ImageCatalog,
    out: &mut Vec<LessonIssue>,
) {
    match root.read_optional(file) {
        Ok(None) => {}
        Ok(Some(yaml)) => {
            if let Some((line, message)) =
                images.registry_problem(&file.display().to_string(), &yaml)
            {
                out.push(LessonIssue {
                    file: file.to_owned(),
                    line,
                    message,
                });
            }
        }
        // The lesson's own registry.yaml is already reported by the loader.
        Err(_)
            if file
                .parent()
                .is_some_and(|d| d.join(MISSION_FILE).is_file()) => {}
        Err(e) => out.push(LessonIssue::from(&e)),
    }
}
