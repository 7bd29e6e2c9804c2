//! The payloads the desktop UI receives over IPC.
//!
//! Every type here derives [`ts_rs::TS`]; `cargo xtask bindings` writes the TypeScript versions
//! to `ui/src/lib/bindings/`, and a test fails when the committed files are stale. Errors reach
//! the UI as `{kind, message}`: the UI branches on `kind`, never on the message text.

use serde::Serialize;
use ts_rs::TS;

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
    /// Missions that must be solved before this one opens.
    pub requires: Vec<String>,
}

/// The state of the cluster the app talks to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum ClusterStatus {
    /// No cluster has been started or chosen yet.
    NotStarted,
    /// The cluster answers; `kubeconfig` is the file real kubectl can use.
    Ready {
        context: String,
        kubeconfig: String,
        server: String,
    },
    /// The cluster could not be reached; `message` says what to do next.
    Unavailable { message: String },
}

/// What the shell knows about itself, shown in the title bar and the about panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: String,
    /// Folders missions were read from, in the order they were searched.
    pub lesson_dirs: Vec<String>,
    pub cluster: ClusterStatus,
}

/// What went wrong, in a form the UI can branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// A lesson folder could not be read or is malformed.
    Lessons,
    /// The cluster is unreachable or refused the request.
    Cluster,
    /// Anything unexpected; the message carries the detail.
    Internal,
}

/// An error as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct UiError {
    pub kind: ErrorKind,
    pub message: String,
}

/// The answer to `list_missions`: what could be read, and what could not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MissionList {
    pub missions: Vec<MissionSummary>,
    /// One entry per lesson folder that failed to load, with file, line and field.
    pub problems: Vec<String>,
}

/// An objective as the mission screen lists it before evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ObjectiveInfo {
    pub id: String,
    pub title: String,
}

/// Everything the mission screen shows before success (the debrief and the reference solution
/// are not included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MissionDetail {
    pub summary: MissionSummary,
    /// `kq-<id>`: where the mission's objects live.
    pub namespace: String,
    /// The briefing rendered to safe HTML (no raw HTML, only http(s)/mailto/#anchor links).
    pub briefing_html: String,
    pub objectives: Vec<ObjectiveInfo>,
    /// How many hints the ladder has.
    pub hint_count: u32,
}
