//! The words of every diagnosis, kept as content: `lessons/diagnoses.yaml`, beside the lessons'
//! own vocabulary, so a teacher can read, adjust and translate them without touching Rust.
//!
//! [`super::diagnose`] decides *which* text applies (the reason, the pull error's cause, how the
//! last run ended); this module holds *what* is said, as templates with `{placeholder}`s. The
//! bundled file is compiled in ([`BUNDLED_YAML`]) and used whenever no lessons folder supplies
//! its own, so a diagnosis is never empty. A teacher's file replaces it as a whole and must
//! have the same sections and texts, each with the same placeholders: [`DiagnosisTexts::parse`]
//! reports every difference at `file:line`, as `kq lessons check` does for lessons.
//!
//! Kubernetes keeps no such texts: its reasons are terse constants (the kubelet's
//! `pkg/kubelet/images/types.go`, `pkg/kubelet/container/sync_result.go`); the explanations are
//! what KubeQuest adds.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, OnceLock};

use serde::Deserialize;

/// The name of the file in a lessons folder.
pub const DIAGNOSES_FILE: &str = "diagnoses.yaml";

/// The bundled texts, compiled in: the fallback when no lessons folder has its own.
pub const BUNDLED_YAML: &str = include_str!("../../../../../lessons/diagnoses.yaml");

/// One text: a template, or a list of templates (commands).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
enum Text {
    One(String),
    List(Vec<String>),
}

impl Text {
    fn shape(&self) -> &'static str {
        match self {
            Text::One(_) => "a text",
            Text::List(_) => "a list of texts",
        }
    }

    fn placeholders(&self) -> BTreeSet<String> {
        match self {
            Text::One(t) => placeholders(t),
            Text::List(l) => l.iter().flat_map(|t| placeholders(t)).collect(),
        }
    }
}

/// Every diagnosis text, by section (a reason, or `common`) and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnosisTexts {
    sections: BTreeMap<String, BTreeMap<String, Text>>,
}

/// What is wrong with a diagnoses file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextsProblem {
    /// The file is not YAML, or not a map of sections to maps of texts.
    #[error("not a diagnoses file: {0}")]
    Syntax(String),
    /// A section that names no reason KubeQuest diagnoses.
    #[error(
        "unknown section `{section}`{}: the sections are {known}",
        did_you_mean(suggestion)
    )]
    UnknownSection {
        section: String,
        suggestion: Option<String>,
        known: String,
    },
    /// A section of the bundled file is missing.
    #[error("section `{section}` is missing")]
    MissingSection { section: String },
    /// A text the engine never asks for.
    #[error(
        "unknown text `{section}.{key}`{}: this section has {known}",
        did_you_mean(suggestion)
    )]
    UnknownText {
        section: String,
        key: String,
        suggestion: Option<String>,
        known: String,
    },
    /// A text the engine needs is missing.
    #[error("text `{section}.{key}` is missing")]
    MissingText { section: String, key: String },
    /// A text where a list is expected, or the other way round.
    #[error("`{section}.{key}` must be {expected}")]
    Shape {
        section: String,
        key: String,
        expected: &'static str,
    },
    /// The text's placeholders differ from the bundled one's: one the engine fills in is not
    /// used (the learner would miss that fact), or one it does not fill in is used.
    #[error("`{section}.{key}`: {}", placeholder_sentence(missing, unknown))]
    Placeholders {
        section: String,
        key: String,
        missing: Vec<String>,
        unknown: Vec<String>,
    },
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

/// The known name a misspelt one was probably meant to be (at most two edits away), as the
/// lesson loader suggests for front-matter fields.
fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a String>) -> Option<String> {
    known
        .into_iter()
        .min_by_key(|k| strsim::levenshtein(k, name))
        .filter(|k| strsim::levenshtein(k, name) <= 2)
        .cloned()
}

fn braced(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{{{n}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn placeholder_sentence(missing: &[String], unknown: &[String]) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing placeholder {}", braced(missing)));
    }
    if !unknown.is_empty() {
        parts.push(format!(
            "unknown placeholder {} (KubeQuest does not fill it in)",
            braced(unknown)
        ));
    }
    parts.join("; ")
}

/// One problem, at `file:line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextsIssue {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub problem: TextsProblem,
}

impl fmt::Display for TextsIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file.display(), self.problem),
            None => write!(f, "{}: {}", self.file.display(), self.problem),
        }
    }
}

/// The `{name}`s in a template; braces around anything else (kubectl's jsonpath) are text.
fn placeholders(template: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        rest = &rest[i + 1..];
        if let Some(name) = placeholder_at(rest) {
            out.insert(name.to_owned());
        }
    }
    out
}

/// The placeholder name at the start of `s` (just after a `{`), if `s` starts with `name}`.
fn placeholder_at(s: &str) -> Option<&str> {
    let end = s.find('}')?;
    let name = &s[..end];
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')).then_some(name)
}

/// Fills in `template`'s placeholders from `vars`, in one pass (a value is never re-read as a
/// template). A placeholder with no value stays as written.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match placeholder_at(after).and_then(|n| vars.iter().find(|(k, _)| *k == n)) {
            Some((name, value)) => {
                out.push_str(value);
                rest = &after[name.len() + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The 1-based line of the first line after `from` (0-based index) that, trimmed, starts with
/// `key:` at indentation `indented` (none, or some).
fn line_of(yaml: &str, key: &str, from: usize, indented: bool) -> Option<usize> {
    yaml.lines()
        .enumerate()
        .skip(from)
        .find(|(_, l)| {
            let trimmed = l.trim_start();
            let is_indented = trimmed.len() != l.len();
            is_indented == indented
                && (trimmed.starts_with(&format!("{key}:"))
                    || trimmed.starts_with(&format!("\"{key}\":")))
        })
        .map(|(i, _)| i + 1)
}

static BUNDLED: LazyLock<DiagnosisTexts> = LazyLock::new(|| {
    DiagnosisTexts::read(BUNDLED_YAML)
        .unwrap_or_else(|e| panic!("the bundled lessons/diagnoses.yaml does not load: {e}"))
});

static INSTALLED: OnceLock<DiagnosisTexts> = OnceLock::new();

impl DiagnosisTexts {
    /// The bundled texts.
    pub fn bundled() -> &'static DiagnosisTexts {
        &BUNDLED
    }

    /// The texts diagnoses use: the ones [`install`]ed at start, or the bundled ones.
    pub fn current() -> &'static DiagnosisTexts {
        INSTALLED.get().unwrap_or(&BUNDLED)
    }

    /// Reads the YAML without comparing it with the bundled file.
    fn read(yaml: &str) -> Result<DiagnosisTexts, serde_yaml_ng::Error> {
        serde_yaml_ng::from_str(yaml).map(|sections| DiagnosisTexts { sections })
    }

    /// Reads a teacher's `diagnoses.yaml` (`file` is its path, for the messages) and checks it
    /// against the bundled file: same sections, same texts, same shapes, same placeholders.
    /// Every problem is reported, each at its line.
    pub fn parse(file: &Path, yaml: &str) -> Result<DiagnosisTexts, Vec<TextsIssue>> {
        let issue = |line, problem| TextsIssue {
            file: file.to_owned(),
            line,
            problem,
        };
        let texts = serde_yaml_ng::from_str::<BTreeMap<String, BTreeMap<String, Text>>>(yaml)
            .map(|sections| DiagnosisTexts { sections })
            .map_err(|e| {
                vec![issue(
                    e.location().map(|l| l.line()),
                    TextsProblem::Syntax(e.to_string()),
                )]
            })?;
        let bundled = Self::bundled();
        let mut issues = Vec::new();
        for (section, keys) in &texts.sections {
            let section_line = line_of(yaml, section, 0, false);
            let Some(expected) = bundled.sections.get(section) else {
                issues.push(issue(
                    section_line,
                    TextsProblem::UnknownSection {
                        section: section.clone(),
                        suggestion: closest(section, bundled.sections.keys()),
                        known: bundled
                            .sections
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", "),
                    },
                ));
                continue;
            };
            let from = section_line.unwrap_or(0);
            for (key, text) in keys {
                let line = line_of(yaml, key, from, true).or(section_line);
                let Some(want) = expected.get(key) else {
                    issues.push(issue(
                        line,
                        TextsProblem::UnknownText {
                            section: section.clone(),
                            key: key.clone(),
                            suggestion: closest(key, expected.keys()),
                            known: expected.keys().cloned().collect::<Vec<_>>().join(", "),
                        },
                    ));
                    continue;
                };
                if std::mem::discriminant(want) != std::mem::discriminant(text) {
                    issues.push(issue(
                        line,
                        TextsProblem::Shape {
                            section: section.clone(),
                            key: key.clone(),
                            expected: want.shape(),
                        },
                    ));
                    continue;
                }
                let (have, need) = (text.placeholders(), want.placeholders());
                if have != need {
                    issues.push(issue(
                        line,
                        TextsProblem::Placeholders {
                            section: section.clone(),
                            key: key.clone(),
                            missing: need.difference(&have).cloned().collect(),
                            unknown: have.difference(&need).cloned().collect(),
                        },
                    ));
                }
            }
            for key in expected.keys().filter(|k| !keys.contains_key(*k)) {
                issues.push(issue(
                    section_line,
                    TextsProblem::MissingText {
                        section: section.clone(),
                        key: key.clone(),
                    },
                ));
            }
        }
        for section in bundled.sections.keys() {
            if !texts.sections.contains_key(section) {
                issues.push(issue(
                    None,
                    TextsProblem::MissingSection {
                        section: section.clone(),
                    },
                ));
            }
        }
        if issues.is_empty() {
            Ok(texts)
        } else {
            Err(issues)
        }
    }

    /// Makes `self` the texts every later diagnosis uses. Only the first call counts (the
    /// texts are chosen once, at start); it answers whether this one did.
    pub fn install(self) -> bool {
        INSTALLED.set(self).is_ok()
    }

    /// The template `section.key`. A checked file has every text the engine asks for; the
    /// fallback (empty) is for a programming error only.
    pub fn text(&self, section: &str, key: &str) -> &str {
        match self.sections.get(section).and_then(|s| s.get(key)) {
            Some(Text::One(t)) => t,
            _ => "",
        }
    }

    /// The templates of the list `section.key` (commands).
    pub fn list(&self, section: &str, key: &str) -> &[String] {
        match self.sections.get(section).and_then(|s| s.get(key)) {
            Some(Text::List(l)) => l,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_file_loads_and_passes_its_own_check() {
        let texts = DiagnosisTexts::bundled();
        assert!(!texts.text("CrashLoopBackOff", "title").is_empty());
        assert_eq!(
            DiagnosisTexts::parse(Path::new("diagnoses.yaml"), BUNDLED_YAML).as_ref(),
            Ok(texts)
        );
    }

    #[test]
    fn every_reason_has_a_section() {
        use crate::stage::ReasonKind as R;
        // The section each reason's words live in (siblings share one).
        for (kind, section) in [
            (R::ErrImagePull, "ErrImagePull"),
            (R::ImagePullBackOff, "ErrImagePull"),
            (R::InvalidImageName, "InvalidImageName"),
            (R::ErrImageNeverPull, "ErrImageNeverPull"),
            (R::ImageInspectError, "ImageInspectError"),
            (R::RegistryUnavailable, "ImageInspectError"),
            (R::CrashLoopBackOff, "CrashLoopBackOff"),
            (R::CreateContainerConfigError, "CreateContainerConfigError"),
            (R::CreateContainerError, "CreateContainerError"),
            (R::RunContainerError, "RunContainerError"),
            (R::StartError, "RunContainerError"),
            (R::OomKilled, "OomKilled"),
            (R::Error, "Error"),
            (R::Completed, "Error"),
            (R::Unschedulable, "Unschedulable"),
            (R::SchedulingGated, "SchedulingGated"),
            (R::FailedMount, "FailedMount"),
            (R::FailedCreatePodSandBox, "FailedCreatePodSandBox"),
            (R::LivenessProbeFailed, "LivenessProbeFailed"),
            (R::ReadinessProbeFailed, "ReadinessProbeFailed"),
            (R::StartupProbeFailed, "StartupProbeFailed"),
            (R::PodFailed, "PodFailed"),
            (R::Other, "Other"),
            (R::ProgressDeadlineExceeded, "ProgressDeadlineExceeded"),
            (R::FailedCreate, "FailedCreate"),
            (R::BackoffLimitExceeded, "BackoffLimitExceeded"),
            (R::JobDeadlineExceeded, "JobDeadlineExceeded"),
        ] {
            assert_eq!(super::super::section_of(kind), section, "{kind:?}");
            let t = DiagnosisTexts::bundled();
            assert!(!t.text(section, "title").is_empty(), "{section}.title");
            assert!(
                !t.text(section, "explanation").is_empty(),
                "{section}.explanation"
            );
            assert!(
                !t.list(section, "commands").is_empty(),
                "{section}.commands"
            );
        }
    }

    #[test]
    fn render_fills_names_and_keeps_other_braces() {
        assert_eq!(
            render(
                "kubectl get pod {pod} -o jsonpath='{.spec.x}' {unknown}",
                &[("pod", "web"), ("x", "no")]
            ),
            "kubectl get pod web -o jsonpath='{.spec.x}' {unknown}"
        );
        // A value is not read again as a template.
        assert_eq!(render("{a}{b}", &[("a", "{b}"), ("b", "2")]), "{b}2");
        assert_eq!(render("{", &[]), "{");
    }

    #[test]
    fn a_teachers_file_is_checked_against_the_bundled_one_at_its_lines() {
        let yaml = BUNDLED_YAML
            .replace(
                "  title: \"`{name}` keeps crashing\"",
                "  title: \"`{nom}` plante en boucle\"",
            )
            .replace("SchedulingGated:", "SchedulingGate:")
            .replace(
                "  its-image: \"its image\"\n",
                "  its-imag: \"its image\"\n",
            );
        let issues = DiagnosisTexts::parse(Path::new("l/diagnoses.yaml"), &yaml).unwrap_err();
        let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
        let line = |needle: &str| yaml.lines().position(|l| l.contains(needle)).unwrap() + 1;
        let title = line("plante en boucle");
        assert!(
            text.contains(&format!(
                "l/diagnoses.yaml:{title}: `CrashLoopBackOff.title`: missing placeholder {{name}}; \
                 unknown placeholder {{nom}} (KubeQuest does not fill it in)"
            )),
            "{text:#?}"
        );
        let gate = line("SchedulingGate:");
        assert!(
            text.iter().any(|t| t.starts_with(&format!(
                "l/diagnoses.yaml:{gate}: unknown section `SchedulingGate` (did you mean \
                 `SchedulingGated`?): the sections are "
            ))),
            "{text:#?}"
        );
        assert!(text.contains(&"l/diagnoses.yaml: section `SchedulingGated` is missing".into()));
        let imag = line("its-imag:");
        assert!(
            text.iter().any(|t| t.starts_with(&format!(
                "l/diagnoses.yaml:{imag}: unknown text `common.its-imag` (did you mean \
                 `its-image`?): this section has "
            ))),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|t| t.ends_with("text `common.its-image` is missing"))
        );
        let broken = DiagnosisTexts::parse(Path::new("d.yaml"), "common: [").unwrap_err();
        assert!(matches!(broken[0].problem, TextsProblem::Syntax(_)));
    }
}
