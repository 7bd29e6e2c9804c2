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
//! chapter: images                   # pods | images | scheduling | config | probes | …
//! requires: [crash-loop-backoff]    # missions that must be solved first
//! expected_symptoms:                # what mission CI expects the broken state to show
//!   - { pod: web, stage: pull, reason: ImagePullBackOff }
//! objectives:                       # typed checks on outcomes, evaluated live
//!   - id: web-ready
//!     title: "`web` is Running and Ready"
//!     check: { kind: pod-ready, pod: web }
//! hints:                            # at least three, gentle first, explicit last
//!   - …
//! reactions:                        # optional: what to say between hints (see reactions)
//!   - { id: events-next, done: [get-pods], not_done: [events], say: "…" }
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
use crate::stage::StageKind;

/// The only front-matter format this version reads.
pub const FORMAT_VERSION: u32 = 1;

/// At least this many hints, so the ladder can go from a nudge to the answer.
pub const MIN_HINTS: usize = 3;

/// Where a mission's pod gets stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum LessonStage {
    /// The object itself: the API server or a workload controller is stuck on it (a Deployment
    /// past its progress deadline, pods the ReplicaSet cannot create, a Job that gave up).
    Apply,
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
            LessonStage::Apply => StageKind::Applied,
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

/// The chapter a mission belongs to on the mission map. Declared in this order, which is the
/// map's order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Deserialize, Serialize, TS,
)]
#[serde(rename_all = "kebab-case")]
pub enum Chapter {
    /// Also where a lesson without `chapter:` goes.
    #[default]
    Pods,
    Images,
    Scheduling,
    Config,
    Probes,
    Workloads,
    Networking,
    Security,
    Storage,
}

impl Chapter {
    /// Every chapter, in map order.
    pub const ALL: [Chapter; 9] = [
        Chapter::Pods,
        Chapter::Images,
        Chapter::Scheduling,
        Chapter::Config,
        Chapter::Probes,
        Chapter::Workloads,
        Chapter::Networking,
        Chapter::Security,
        Chapter::Storage,
    ];

    /// The lesson spelling (`scheduling`).
    pub fn as_str(self) -> &'static str {
        match self {
            Chapter::Pods => "pods",
            Chapter::Images => "images",
            Chapter::Scheduling => "scheduling",
            Chapter::Config => "config",
            Chapter::Probes => "probes",
            Chapter::Workloads => "workloads",
            Chapter::Networking => "networking",
            Chapter::Security => "security",
            Chapter::Storage => "storage",
        }
    }

    /// The name shown to learners (`Scheduling`).
    pub fn title(self) -> &'static str {
        match self {
            Chapter::Pods => "Pods",
            Chapter::Images => "Images",
            Chapter::Scheduling => "Scheduling",
            Chapter::Config => "Config",
            Chapter::Probes => "Probes",
            Chapter::Workloads => "Workloads",
            Chapter::Networking => "Networking",
            Chapter::Security => "Security",
            Chapter::Storage => "Storage",
        }
    }
}

/// What the broken state must show (checked by mission CI against the pipeline). The subject is
/// either a pod by name or a workload as kubectl names one (`deployment/web`): at `apply` the
/// workload object itself, at any other stage some live pod of it (a Deployment's or Job's pods
/// have generated names). A `budget` (a PodDisruptionBudget, at `apply`) shows its
/// `DisruptionAllowed` condition's reason instead: `InsufficientPods` while it allows no eviction.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ExpectedSymptom {
    /// The pod, by name; empty when `workload` names the subject.
    #[serde(default)]
    pub pod: String,
    /// The workload (`deployment/web`, `job/report`), instead of a pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub workload: Option<String>,
    /// A PodDisruptionBudget, instead of a pod or a workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub budget: Option<String>,
    pub stage: LessonStage,
    /// The reason at that stage. `ErrImagePull` and `ImagePullBackOff` match each other, since
    /// the status alternates between them.
    pub reason: String,
}

impl ExpectedSymptom {
    /// The subject as the lesson names it: `web`, `deployment/web` or the budget's name.
    pub fn subject(&self) -> &str {
        self.workload
            .as_deref()
            .or(self.budget.as_deref())
            .unwrap_or(&self.pod)
    }
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

/// An object outside the mission namespace that a mission declares it needs (an extra node on
/// the embedded cluster). Only [`super::manifests::DECLARABLE_CLUSTER_SCOPED_KINDS`] may be
/// declared; a real cluster refuses such a mission rather than touch its own nodes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterScopedObject {
    pub kind: String,
    pub name: String,
}

/// The fields `mission.md` may hold, in the order the docs list them.
const FIELDS: &[&str] = &[
    "format",
    "id",
    "title",
    "order",
    "stage",
    "difficulty",
    "chapter",
    "requires",
    "cluster_scoped",
    "namespace_labels",
    "expected_symptoms",
    "objectives",
    "hints",
    "reactions",
];

/// The front matter as read: each field parsed on its own, so one mistake does not hide the
/// next. A field is `None` when it is missing or was rejected (its problem is in `problems`).
#[derive(Debug, Clone, Default)]
pub(crate) struct FrontMatter {
    pub id: Option<String>,
    pub title: Option<String>,
    pub order: Option<u32>,
    pub stage: Option<LessonStage>,
    pub difficulty: Option<Difficulty>,
    /// `None` when missing (the mission goes to [`Chapter::default`], with a warning) or
    /// rejected.
    pub chapter: Option<Chapter>,
    pub requires: Option<Vec<String>>,
    /// With the line (in the YAML) of each declaration.
    pub cluster_scoped: Option<Vec<(ClusterScopedObject, usize)>>,
    /// Labels the mission namespace is created with (`pod-security.kubernetes.io/enforce`).
    pub namespace_labels: Option<std::collections::BTreeMap<String, String>>,
    pub expected_symptoms: Option<Vec<ExpectedSymptom>>,
    /// With typed checks; `None` if any objective was rejected.
    pub objectives: Option<Vec<Objective>>,
    pub hints: Option<Vec<String>>,
    /// Reacting hints; empty when the field is missing, `None` if any rule was rejected.
    pub reactions: Option<Vec<super::reactions::Reaction>>,
    /// Every problem, each at its own line (line 1 = the YAML's first line).
    pub problems: Vec<YamlProblem>,
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

/// One top-level `key: value` of the front matter with the lines that belong to it.
struct Block {
    key: String,
    /// 1-based line of `key:` in the YAML.
    line: usize,
    /// The key line and its continuation lines, as YAML text of a one-key mapping.
    text: String,
}

/// Splits block-style YAML into its top-level keys. `None` when the text is not written that
/// way (a flow mapping `{…}`), so the caller falls back to one whole-document parse.
fn top_level_blocks(yaml: &str) -> Option<Vec<Block>> {
    let mut blocks: Vec<Block> = Vec::new();
    for (i, line) in yaml.lines().enumerate() {
        let starts_key =
            !line.is_empty() && !line.starts_with([' ', '\t', '#', '-']) && line.contains(':');
        if starts_key {
            let key = line.split(':').next().unwrap_or_default().trim();
            blocks.push(Block {
                key: key.trim_matches(['"', '\'']).to_owned(),
                line: i + 1,
                text: String::new(),
            });
        } else if blocks.is_empty() {
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            return None;
        } else if !line.is_empty() && !line.starts_with([' ', '\t', '#', '-']) {
            return None;
        }
        if let Some(b) = blocks.last_mut() {
            b.text.push_str(line);
            b.text.push('\n');
        }
    }
    Some(blocks)
}

/// Moves a problem found in a piece of the YAML (line 1 = the piece's first line) to the
/// front matter's own lines and names the field by its full path.
fn relocate(e: &serde_yaml_ng::Error, piece: &str, first_line: usize, prefix: &str) -> YamlProblem {
    let mut p = split_yaml_error(e);
    if let Some(missing) = p
        .message
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        // Reported at the enclosing mapping; name the field itself.
        p.field = Some(match p.field.take() {
            Some(parent) => format!("{parent}.{missing}"),
            None => missing.to_owned(),
        });
    }
    p.field = match (prefix.is_empty(), p.field.take()) {
        (true, f) => f,
        (false, None) => Some(prefix.to_owned()),
        (false, Some(f)) if f.starts_with('[') => Some(format!("{prefix}{f}")),
        (false, Some(f)) => Some(format!("{prefix}.{f}")),
    };
    p.line = first_line + clamp_line(piece, p.line) - 1;
    p
}

/// Parses one top-level field as a one-key mapping, so errors keep their line and path.
fn parse_field<T: serde::de::DeserializeOwned>(b: &Block) -> Result<T, YamlProblem> {
    serde_yaml_ng::from_str::<std::collections::BTreeMap<String, T>>(&b.text)
        .map_err(|e| relocate(&e, &b.text, b.line, ""))
        .and_then(|mut m| {
            m.remove(&b.key).ok_or_else(|| YamlProblem {
                line: b.line,
                field: Some(b.key.clone()),
                message: "cannot read this field's name".into(),
            })
        })
}

/// Parses a list field item by item, so every bad item is reported at its own line. Items
/// written in flow style (`[a, b]`) fall back to one parse of the whole list.
fn parse_items<T: serde::de::DeserializeOwned>(
    b: &Block,
    problems: &mut Vec<YamlProblem>,
) -> Option<Vec<(T, usize, String)>> {
    let values: Vec<serde_yaml_ng::Value> = match parse_field(b) {
        Ok(v) => v,
        Err(p) => {
            problems.push(p);
            return None;
        }
    };
    let lines: Vec<&str> = b.text.lines().collect();
    let dash = |l: &str| {
        let t = l.trim_start();
        (t == "-" || t.starts_with("- ")).then(|| l.len() - t.len())
    };
    let indent = lines.iter().skip(1).filter_map(|l| dash(l)).min();
    let starts: Vec<usize> = (1..lines.len())
        .filter(|&i| indent.is_some() && dash(lines[i]) == indent)
        .collect();
    if starts.len() != values.len() {
        return match parse_field::<Vec<T>>(b) {
            Ok(items) => Some(
                items
                    .into_iter()
                    .map(|t| (t, b.line, String::new()))
                    .collect(),
            ),
            Err(p) => {
                problems.push(p);
                None
            }
        };
    }
    let mut items = Vec::new();
    let mut ok = true;
    for (n, &s) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(lines.len());
        let mut text = String::new();
        for (k, l) in lines[s..end].iter().enumerate() {
            if k == 0 {
                // `- x` becomes `  x`: the item as a document of its own, same columns.
                let at = l.len() - l.trim_start().len();
                text.push_str(&l[..at]);
                text.push_str("  ");
                text.push_str(
                    l[at..]
                        .strip_prefix('-')
                        .unwrap_or(&l[at..])
                        .trim_start_matches(' '),
                );
            } else {
                text.push_str(l);
            }
            text.push('\n');
        }
        match serde_yaml_ng::from_str::<T>(&text) {
            Ok(t) => items.push((t, b.line + s, text)),
            Err(e) => {
                problems.push(relocate(&e, &text, b.line + s, &format!("{}[{n}]", b.key)));
                ok = false;
            }
        }
    }
    ok.then_some(items)
}

/// The value, or `None` with its problem recorded.
/// Why a `namespace_labels` key may not be set: KubeQuest's own labels mark the namespaces it
/// manages, and a key must be a valid label key (an optional DNS prefix and `/`, then up to 63
/// letters, digits, `-`, `_` or `.`).
fn bad_namespace_label(key: &str) -> Option<String> {
    let (prefix, name) = key.rsplit_once('/').unwrap_or(("", key));
    if prefix == "kubequest.dev" || prefix.ends_with(".kubequest.dev") {
        return Some(format!(
            "`{key}`: labels under kubequest.dev are KubeQuest's own (they mark the namespaces it manages)"
        ));
    }
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let prefix_ok = prefix.len() <= 253
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c));
    (!name_ok || !prefix_ok).then(|| format!("`{key}` is not a valid label key"))
}

fn keep<T>(r: Result<T, YamlProblem>, problems: &mut Vec<YamlProblem>) -> Option<T> {
    r.map_err(|p| problems.push(p)).ok()
}

/// Parses the front matter: the format version first, then every field on its own.
pub(crate) fn parse_front_matter(yaml: &str) -> FrontMatter {
    let mut front = FrontMatter::default();
    let fail = |front: &mut FrontMatter, p: YamlProblem| {
        front.problems.push(p);
    };
    let value: serde_yaml_ng::Value = match serde_yaml_ng::from_str(yaml) {
        Ok(v) => v,
        Err(e) => {
            fail(&mut front, split_yaml_error(&e));
            return front;
        }
    };
    let Some(map) = value.as_mapping() else {
        fail(
            &mut front,
            YamlProblem {
                line: 1,
                field: None,
                message: "the front matter must be a YAML mapping (`key: value` lines)".into(),
            },
        );
        return front;
    };
    match map.get("format") {
        None => {
            fail(
                &mut front,
                YamlProblem {
                    line: 1,
                    field: Some("format".into()),
                    message: format!(
                        "missing field `format` (this version reads `format: {FORMAT_VERSION}`)"
                    ),
                },
            );
            return front;
        }
        Some(v) if v.as_u64() != Some(u64::from(FORMAT_VERSION)) => {
            // A newer format is reported as such, not as a pile of unknown fields.
            let found = serde_yaml_ng::to_string(v).unwrap_or_default();
            fail(
                &mut front,
                YamlProblem {
                    line: line_of_key(yaml, "format").unwrap_or(1),
                    field: Some("format".into()),
                    message: format!(
                        "unsupported format `{}`: this version of KubeQuest reads format \
                         {FORMAT_VERSION}; update KubeQuest or convert the lesson",
                        found.trim()
                    ),
                },
            );
            return front;
        }
        Some(_) => {}
    }
    let Some(blocks) = top_level_blocks(yaml) else {
        fail(
            &mut front,
            YamlProblem {
                line: 1,
                field: None,
                message: "write the front matter as one `key: value` line per field (block \
                          style), not as a `{…}` flow mapping"
                    .into(),
            },
        );
        return front;
    };
    let mut problems = Vec::new();
    let mut unknown = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for b in &blocks {
        seen.insert(b.key.clone());
        match b.key.as_str() {
            "format" => {}
            "id" => front.id = keep(parse_field(b), &mut problems),
            "title" => front.title = keep(parse_field(b), &mut problems),
            "order" => front.order = keep(parse_field(b), &mut problems),
            "stage" => front.stage = keep(parse_field(b), &mut problems),
            "difficulty" => front.difficulty = keep(parse_field(b), &mut problems),
            "chapter" => front.chapter = keep(parse_field(b), &mut problems),
            "requires" => front.requires = keep(parse_field(b), &mut problems),
            "cluster_scoped" => {
                front.cluster_scoped = parse_items(b, &mut problems)
                    .map(|items| items.into_iter().map(|(t, l, _)| (t, l)).collect());
            }
            "expected_symptoms" => {
                front.expected_symptoms = parse_items(b, &mut problems)
                    .map(|items| items.into_iter().map(|(t, _, _)| t).collect());
            }
            "hints" => {
                front.hints = parse_items(b, &mut problems)
                    .map(|items| items.into_iter().map(|(t, _, _)| t).collect());
            }
            "namespace_labels" => {
                front.namespace_labels = keep(
                    parse_field::<std::collections::BTreeMap<String, String>>(b).and_then(
                        |labels| match labels.keys().find_map(|k| bad_namespace_label(k)) {
                            Some(why) => Err(YamlProblem {
                                line: b.line,
                                field: Some(b.key.clone()),
                                message: why,
                            }),
                            None => Ok(labels),
                        },
                    ),
                    &mut problems,
                );
            }
            "reactions" => {
                front.reactions = parse_items::<serde_yaml_ng::Value>(b, &mut problems)
                    .and_then(|items| super::reactions::typed_reactions(items, &mut problems));
            }
            "objectives" => {
                front.objectives = parse_items::<RawObjective>(b, &mut problems)
                    .and_then(|items| typed_objectives(b, items, &mut problems));
            }
            other => unknown.push((b.line, other.to_owned())),
        }
    }
    for (line, other) in unknown {
        // A misspelt required field is one mistake: say which field was meant, and do not
        // report that field as missing as well.
        let meant = FIELDS
            .iter()
            .filter(|f| !seen.contains(**f))
            .find(|f| strsim::levenshtein(f, &other) <= 2);
        if let Some(meant) = meant {
            seen.insert((*meant).to_owned());
        }
        problems.push(YamlProblem {
            line,
            field: None,
            message: match meant {
                Some(meant) => format!("unknown field `{other}`; did you mean `{meant}`?"),
                None => format!(
                    "unknown field `{other}`, expected one of {}",
                    FIELDS
                        .iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        });
    }
    for required in [
        "id",
        "title",
        "order",
        "stage",
        "difficulty",
        "objectives",
        "hints",
    ] {
        if !seen.contains(required) {
            problems.push(YamlProblem {
                line: 1,
                field: Some(required.to_owned()),
                message: format!("missing field `{required}`"),
            });
        }
    }
    // Optional lists default to empty.
    for (key, list) in [
        ("requires", front.requires.is_none()),
        ("cluster_scoped", front.cluster_scoped.is_none()),
        ("expected_symptoms", front.expected_symptoms.is_none()),
    ] {
        if list && !seen.contains(key) {
            match key {
                "requires" => front.requires = Some(Vec::new()),
                "cluster_scoped" => front.cluster_scoped = Some(Vec::new()),
                _ => front.expected_symptoms = Some(Vec::new()),
            }
        }
    }
    if !seen.contains("reactions") {
        front.reactions = Some(Vec::new());
    }
    problems.sort_by_key(|p| p.line);
    front.problems.extend(problems);
    front
}

/// Types each objective's `check`, reporting every bad one at the line of its `check:`.
fn typed_objectives(
    b: &Block,
    items: Vec<(RawObjective, usize, String)>,
    problems: &mut Vec<YamlProblem>,
) -> Option<Vec<Objective>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (i, (raw, line, text)) in items.into_iter().enumerate() {
        match serde_yaml_ng::from_value::<Check>(raw.check.clone()) {
            Ok(check) => out.push(Objective {
                id: raw.id,
                title: raw.title,
                check,
            }),
            Err(e) => {
                // serde loses positions inside tagged enums: point at the item's `check:`.
                let at = if text.is_empty() {
                    nth_key_line(&b.text, "check", i).map(|l| b.line + l - 1)
                } else {
                    line_of_key(&text, "check").map(|l| line + l - 1)
                };
                problems.push(YamlProblem {
                    line: at.unwrap_or(line),
                    field: Some(format!("objectives[{i}].check")),
                    message: split_yaml_error(&e).message,
                });
                ok = false;
            }
        }
    }
    ok.then_some(out)
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
