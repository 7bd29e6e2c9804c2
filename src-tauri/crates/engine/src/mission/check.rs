//! `kq lessons check DIR`: validate lessons without a cluster.
//!
//! Accepts one lesson folder (holding `mission.md`) or a folder of lessons. Errors are what the
//! loader rejects (with file, line and field); warnings are things that load but are probably
//! mistakes: raw HTML or unsafe links that the renderer will neutralise, objectives about pods
//! no manifest creates, a folder name that does not match the id, missing expected symptoms
//! (mission CI then has nothing to check the broken state against).

use std::fmt;
use std::path::{Path, PathBuf};

use comrak::nodes::NodeValue;
use comrak::{Arena, Options, parse_document};

use super::render::is_safe_url;
use super::{Catalog, LessonError, MISSION_FILE, Mission, load_mission_all};

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
    /// Ids of the missions that loaded.
    pub checked: Vec<String>,
    pub errors: Vec<LessonIssue>,
    pub warnings: Vec<LessonIssue>,
}

impl LessonReport {
    /// No errors (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// The report as `kq lessons check` prints it: one `error:`/`warning:` line per finding,
    /// then a summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for e in &self.errors {
            out.push_str(&format!("error: {e}\n"));
        }
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        out.push_str(&format!(
            "{} lesson{} checked, {} error{}, {} warning{}\n",
            self.checked.len(),
            if self.checked.len() == 1 { "" } else { "s" },
            self.errors.len(),
            if self.errors.len() == 1 { "" } else { "s" },
            self.warnings.len(),
            if self.warnings.len() == 1 { "" } else { "s" },
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
        let pod = o.check.pod();
        let defined = m
            .manifests
            .iter()
            .chain(&m.solution)
            .any(|x| x.kind == "Pod" && x.name == pod)
            || m.manifests
                .iter()
                .chain(&m.solution)
                .any(|x| x.kind != "Pod");
        if !defined {
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
    let body_offset = std::fs::read_to_string(&file)
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

/// Checks one lesson folder, or every lesson folder directly inside `path`.
pub fn check_lesson_dir(path: &Path) -> LessonReport {
    let mut report = LessonReport::default();
    if path.join(MISSION_FILE).is_file() {
        let (mission, errors) = load_mission_all(path);
        report.errors.extend(errors.iter().map(LessonIssue::from));
        if let Some(m) = mission {
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
            warnings_for(&m, &mut report.warnings);
            report.checked.push(m.summary.id.clone());
        }
        return report;
    }
    if !path.is_dir() {
        report.errors.push(LessonIssue {
            file: path.to_owned(),
            line: None,
            message: "not a lesson folder (no mission.md) nor a folder of lessons".into(),
        });
        return report;
    }
    let catalog = Catalog::load(&[path.to_owned()]);
    report
        .errors
        .extend(catalog.problems.iter().map(LessonIssue::from));
    if catalog.missions.is_empty() && catalog.problems.is_empty() {
        report.errors.push(LessonIssue {
            file: path.to_owned(),
            line: None,
            message: "no lessons found: each lesson is a folder with a mission.md".into(),
        });
    }
    for (i, m) in catalog.missions.iter().enumerate() {
        if let Some(other) = catalog.missions[..i]
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
        report.checked.push(m.summary.id.clone());
    }
    report
}
