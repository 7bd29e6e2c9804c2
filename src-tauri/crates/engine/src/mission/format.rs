//! The `mission.md` front matter, format 1, and its strict parser.
//!
//! ```yaml
//! ---
//! format: 1
//! id: image-pull-backoff            # stable; progress is keyed by it
//! title: The image that never arrives
//! order: 2                          # position on the mission map
//! stage: pull                       # schedule | init | pull | create | run | ready
//! difficulty: beginner              # beginner | intermediate | advanced
//! requires: [crash-loop-backoff]    # missions that must be solved first
//! expected_symptoms:                # what mission CI expects the broken state to show
//!   - { pod: web, stage: pull, reason: ImagePullBackOff }
//! objectives:                       # typed checks on outcomes, evaluated live
//!   - id: web-ready
//!     title: "`web` is Running and Ready"
//!     check: { kind: pod-ready, pod: web }
//! hints:                            # at least three, gentle first, explicit last
//!   - …
//! ---
//! Briefing in Markdown (symptoms, not the cause).
//! ```
//!
//! Unknown fields are rejected with their name and line, so a typo (`objectivs:`) cannot
//! silently drop a mission's checks. A `format` other than 1 is rejected before anything else:
//! a newer format is reported as such, not as a pile of unknown fields.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::objectives::Check;
use crate::pipeline::StageKind;

/// The only front-matter format this version reads.
pub const FORMAT_VERSION: u32 = 1;

/// At least this many hints, so the ladder can go from a nudge to the answer.
pub const MIN_HINTS: usize = 3;

/// Where a mission's pod gets stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum LessonStage {
    Schedule,
    Init,
    Pull,
    Create,
    Run,
    Ready,
}

impl LessonStage {
    /// The pipeline stage this names.
    pub fn stage_kind(self) -> StageKind {
        match self {
            LessonStage::Schedule => StageKind::Scheduled,
            LessonStage::Init => StageKind::Init,
            LessonStage::Pull => StageKind::ImagePulled,
            LessonStage::Create => StageKind::ContainerCreated,
            LessonStage::Run => StageKind::Running,
            LessonStage::Ready => StageKind::Ready,
        }
    }

    /// The lesson spelling (`pull`).
    pub fn as_str(self) -> &'static str {
        self.stage_kind().lesson_name()
    }
}

/// How hard a mission is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum Difficulty {
    Beginner,
    Intermediate,
    Advanced,
}

impl Difficulty {
    pub fn as_str(self) -> &'static str {
        match self {
            Difficulty::Beginner => "beginner",
            Difficulty::Intermediate => "intermediate",
            Difficulty::Advanced => "advanced",
        }
    }
}

/// What the broken state must show (checked by mission CI against the pipeline).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ExpectedSymptom {
    pub pod: String,
    pub stage: LessonStage,
    /// The reason at that stage. `ErrImagePull` and `ImagePullBackOff` match each other, since
    /// the status alternates between them.
    pub reason: String,
}

/// One objective: a title for the learner and a typed check on the cluster's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Objective {
    pub id: String,
    pub title: String,
    pub check: Check,
}

/// An objective as written; `check` is typed in a second step so its errors can name
/// `objectives[i].check` and the line of that `check:` (serde loses positions inside tagged
/// enums).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawObjective {
    pub id: String,
    pub title: String,
    pub check: serde_yaml_ng::Value,
}

/// The front matter as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FrontMatter {
    #[allow(dead_code)] // checked before the typed parse
    pub format: u32,
    pub id: String,
    pub title: String,
    pub order: u32,
    pub stage: LessonStage,
    pub difficulty: Difficulty,
    #[serde(default)]
    pub requires: Vec<String>,
    #[serde(default)]
    pub expected_symptoms: Vec<ExpectedSymptom>,
    pub objectives: Vec<RawObjective>,
    pub hints: Vec<String>,
}

/// The front matter with typed objectives.
#[derive(Debug, Clone)]
pub(crate) struct ParsedFrontMatter {
    pub front: FrontMatter,
    pub objectives: Vec<Objective>,
}

/// A front-matter problem, located in the YAML (line 1 = the YAML's first line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlProblem {
    pub line: usize,
    pub field: Option<String>,
    pub message: String,
}

/// The 1-based line of the first `key:` at the given indentation, for errors serde reports
/// without a position.
pub(crate) fn line_of_key(yaml: &str, key: &str) -> Option<usize> {
    yaml.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            t.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}

/// Splits serde_yaml_ng's `path: message at line L column C` into its parts.
pub(crate) fn split_yaml_error(e: &serde_yaml_ng::Error) -> YamlProblem {
    let text = e.to_string();
    let text = match text.rfind(" at line ") {
        Some(i) if e.location().is_some() => text[..i].to_owned(),
        _ => text,
    };
    let (field, message) = match text.split_once(": ") {
        Some((path, msg))
            if !path.contains(' ')
                && (path.contains('.')
                    || path.contains('[')
                    || path.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) =>
        {
            (Some(path.to_owned()), msg.to_owned())
        }
        _ => (None, text),
    };
    YamlProblem {
        line: e.location().map_or(1, |l| l.line()),
        field,
        message,
    }
}

/// Parses the front matter: the format version first, then the typed fields.
pub(crate) fn parse_front_matter(yaml: &str) -> Result<ParsedFrontMatter, YamlProblem> {
    let value: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(yaml).map_err(|e| split_yaml_error(&e))?;
    let Some(map) = value.as_mapping() else {
        return Err(YamlProblem {
            line: 1,
            field: None,
            message: "the front matter must be a YAML mapping (`key: value` lines)".into(),
        });
    };
    match map.get("format") {
        None => {
            return Err(YamlProblem {
                line: 1,
                field: Some("format".into()),
                message: format!(
                    "missing field `format` (this version reads `format: {FORMAT_VERSION}`)"
                ),
            });
        }
        Some(v) if v.as_u64() != Some(u64::from(FORMAT_VERSION)) => {
            let found = serde_yaml_ng::to_string(v).unwrap_or_default();
            return Err(YamlProblem {
                line: line_of_key(yaml, "format").unwrap_or(1),
                field: Some("format".into()),
                message: format!(
                    "unsupported format `{}`: this version of KubeQuest reads format {FORMAT_VERSION}; \
                     update KubeQuest or convert the lesson",
                    found.trim()
                ),
            });
        }
        Some(_) => {}
    }
    let front = serde_yaml_ng::from_str::<FrontMatter>(yaml).map_err(|e| {
        let mut p = split_yaml_error(&e);
        // `missing field `x`` is reported at the enclosing mapping; name the field.
        if let Some(missing) = p
            .message
            .strip_prefix("missing field `")
            .and_then(|r| r.strip_suffix('`'))
        {
            p.field = Some(match p.field.take() {
                Some(parent) => format!("{parent}.{missing}"),
                None => missing.to_owned(),
            });
        }
        if e.location().is_none()
            && let Some(f) = &p.field
            && let Some(l) = line_of_key(yaml, f.rsplit(['.', ']']).next().unwrap_or(f))
        {
            p.line = l;
        }
        p.line = clamp_line(yaml, p.line);
        p
    })?;
    let mut objectives = Vec::new();
    for (i, raw) in front.objectives.iter().enumerate() {
        let check = serde_yaml_ng::from_value::<Check>(raw.check.clone()).map_err(|e| {
            let p = split_yaml_error(&e);
            YamlProblem {
                line: nth_key_line(yaml, "check", i).unwrap_or(1),
                field: Some(format!("objectives[{i}].check")),
                message: p.message,
            }
        })?;
        objectives.push(Objective {
            id: raw.id.clone(),
            title: raw.title.clone(),
            check,
        });
    }
    Ok(ParsedFrontMatter { front, objectives })
}

/// The line of the `nth` (0-based) `key:` in the YAML.
fn nth_key_line(yaml: &str, key: &str, nth: usize) -> Option<usize> {
    yaml.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ");
            t.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .nth(nth)
        .map(|(i, _)| i + 1)
}

/// Parsers report errors found at the end of input on the line after the last one; point at
/// the last line that has content instead.
pub(crate) fn clamp_line(text: &str, line: usize) -> usize {
    let last = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .last()
        .map_or(1, |(i, _)| i + 1);
    line.clamp(1, last)
}
