//! The payloads the desktop UI receives over IPC.
//!
//! Every type here derives [`ts_rs::TS`]; `cargo xtask bindings` writes the TypeScript versions
//! to `ui/src/lib/bindings/`, and a test fails when the committed files are stale. Errors reach
//! the UI as `{kind, message}`: the UI branches on `kind`, never on the message text.
//!
//! Dependencies point one way: this module builds its payloads from the domain types of
//! [`crate::mission`], [`crate::pipeline`], [`crate::progress`] and [`crate::connect`] (with
//! `From`, e.g. `MissionDetail::from(&mission)`), and none of them imports it. Domain types the
//! UI receives as they are (a pod's pipeline, an objective's result) derive `TS` themselves.

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use ts_rs::TS;

use crate::mission::Mission;
// Payloads the engine's domain modules build as they are sent: re-exported here so the UI's
// vocabulary is in one place.
pub use crate::mission::MissionSummary;
pub use crate::pipeline::EventRow;

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
    /// The learner's progress could not be read or saved (the message names the file and the
    /// next step).
    Progress,
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
    /// `kq-<id>` (`kq-<learner>-<id>` in a class): where the mission's objects live.
    pub namespace: String,
    /// The briefing rendered to safe HTML (no raw HTML, only http(s)/mailto/#anchor links).
    pub briefing_html: String,
    pub objectives: Vec<ObjectiveInfo>,
    /// How many hints the ladder has.
    pub hint_count: u32,
}

// Built from the mission as read from disk; the domain type knows nothing of this payload.
impl From<&Mission> for MissionDetail {
    /// What the mission screen shows before success (no debrief, no solution).
    fn from(m: &Mission) -> Self {
        MissionDetail {
            summary: m.summary.clone(),
            namespace: m.namespace(),
            briefing_html: crate::mission::render_markdown(&m.briefing),
            objectives: m
                .objectives
                .iter()
                .map(|o| ObjectiveInfo {
                    id: o.id.clone(),
                    title: o.title.clone(),
                })
                .collect(),
            hint_count: u32::try_from(m.hints.len()).unwrap_or(u32::MAX),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The mission screen.
//
// `start_mission(id, channel)` answers a [`MissionSession`] and then pushes [`SessionUpdate`]s
// over the channel until the mission is stopped or another one starts. Editor actions answer an
// [`ActionResult`]; hints a [`HintReveal`].

/// A manifest file of the mission, as the editor opens it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ManifestFile {
    /// The file name in the lesson's `manifests/` folder (`pod.yaml`).
    pub name: String,
    pub yaml: String,
}

/// The connection to the cluster while a mission runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum ConnectionState {
    Connected,
    /// The watch dropped; the engine retries with back-off.
    #[serde(rename_all = "camelCase")]
    Reconnecting {
        attempt: u32,
        message: String,
        /// RFC 3339 time of the next attempt.
        retry_at: String,
    },
    /// The engine gave up (or the failure is not transient); the message says what to do.
    Lost {
        failure: crate::connect::ConnectFailure,
    },
}

/// The cluster's clock as the UI needs it to compute ages and countdowns.
///
/// The embedded cluster's clock can run faster than real time, so its timestamps are ahead of
/// the learner's wall clock; the UI computes "cluster now" as `now` plus the time elapsed since
/// this arrived, times `speed`. A real cluster's clock is the wall clock at speed 1.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClusterClock {
    /// RFC 3339 with milliseconds (`2025-01-02T03:04:05.678Z`): the cluster's time when sent.
    pub now: String,
    /// Cluster seconds per real second (1 = real time, 0 = paused).
    pub speed: f64,
}

/// How often a running mission re-sends [`SessionUpdate::Clock`], so the UI's estimate of the
/// cluster's time never drifts far.
pub const CLOCK_RESYNC: Duration = Duration::from_secs(30);

impl ClusterClock {
    /// The clock reading `now` at `speed`. A speed the UI could not extrapolate with (not finite
    /// or negative) is sent as 1, as the embedded clock itself treats it.
    pub fn at(now: Timestamp, speed: f64) -> ClusterClock {
        ClusterClock {
            now: format!("{:.3}", now),
            speed: if speed.is_finite() && speed >= 0.0 {
                speed
            } else {
                1.0
            },
        }
    }
}

/// What `start_mission` and `reset_mission` answer.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MissionSession {
    pub detail: MissionDetail,
    /// The broken manifests the mission applied, for the editor.
    pub manifests: Vec<ManifestFile>,
    /// `export KUBECONFIG=…` for a terminal (absent for a cluster chosen from the learner's own
    /// kubeconfig, where `context` is what matters).
    pub kubeconfig_export: Option<String>,
    /// The kubeconfig context the mission runs in (`kubequest` for the embedded cluster).
    pub context: String,
    /// Hints revealed so far in this mission, rendered to safe HTML.
    pub hints: Vec<String>,
    pub progress: crate::progress::MissionProgress,
    /// The cluster's clock when this was answered; [`SessionUpdate::Clock`] keeps it current.
    pub clock: ClusterClock,
}

/// Pushed over the mission's channel.
// Each update is built once and moved into the channel; boxing the pipeline would cost an
// allocation per change for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum SessionUpdate {
    /// A pod's pipeline changed.
    Pipeline {
        change: crate::pipeline::PipelineChange,
    },
    /// The events of the namespace's current pods and of its other objects, in `kubectl
    /// describe`'s order (the whole list each time; it is short). Events about pods that no
    /// longer exist (a pod recreated under the same name has a new uid) are left out.
    Events { events: Vec<EventRow> },
    /// Objectives re-evaluated after a change.
    #[serde(rename_all = "camelCase")]
    Objectives {
        results: Vec<crate::mission::ObjectiveResult>,
        all_met: bool,
    },
    /// Every objective is met: the debrief unlocks.
    #[serde(rename_all = "camelCase")]
    Solved {
        /// The lesson's debrief as safe HTML, its commands section rebuilt from the learner's
        /// own commands.
        debrief_html: String,
        /// This learner's debrief (their fix, commands, time and hints), shown before the
        /// lesson's (`debrief_html`).
        debrief: Option<crate::debrief::PersonalDebrief>,
        progress: crate::progress::MissionProgress,
        /// The mission to offer next, if any is open now.
        next: Option<MissionSummary>,
        /// Set when the solve could not be saved (kind `progress`): the learner must see it,
        /// since the mission will not count as solved next time.
        progress_error: Option<UiError>,
    },
    /// The connection changed.
    Connection { state: ConnectionState },
    /// The cluster's clock: sent when its speed changes and every [`CLOCK_RESYNC`].
    Clock { clock: ClusterClock },
    /// The namespace's workloads (Deployments, StatefulSets, DaemonSets, Jobs, bare
    /// ReplicaSets), each with its own *apply* stage and its pods; sent whole when any changed
    /// (the list is short).
    Workloads {
        workloads: Vec<crate::pipeline::WorkloadView>,
    },
    /// The mission namespace as a graph (objects, relations, what is broken and why, and
    /// what the scheduler saw for each refused pod); sent whole when it changed.
    Graph { graph: crate::graph::WorkloadGraph },
    /// The mission's reacting hints that apply now, from what the learner has and has not
    /// looked at (the audit log) and the hints revealed; sent whole when they change (empty
    /// once the mission is solved).
    Nudges {
        nudges: Vec<crate::mission::reactions::Nudge>,
    },
    /// For each diagnosis on screen, whether its explanation may be shown yet and what to run
    /// to unlock it ([`crate::diagnose::unlock`]); sent whole when it changes.
    Unlocks {
        gates: Vec<crate::diagnose::DiagnosisGate>,
    },
}

/// A YAML problem the editor marks inline (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct YamlDiagnostic {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// What an editor action (Apply, Delete, Reset) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActionResult {
    pub ok: bool,
    /// The kubectl command the action stands for (`kubectl apply -n kq-x -f pod.yaml`).
    pub command: String,
    /// What kubectl would print (`pod/web created`, or the server's error line).
    pub output: String,
    /// YAML problems, when the text could not be parsed (nothing was sent).
    pub diagnostics: Vec<YamlDiagnostic>,
    /// Set when the server refused a change because a field cannot change in place: the UI
    /// explains it and offers "Delete and re-apply" (behind a confirmation).
    pub immutable: Option<ImmutableChange>,
}

/// A change the server refused because the object cannot be changed that way in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImmutableChange {
    /// The kind as the server names it (`Pod`).
    pub kind: String,
    pub name: String,
    /// What cannot change and what to do instead, in plain words.
    pub summary: String,
    /// The fields the server named (`spec`, `spec.selector`).
    pub fields: Vec<String>,
    /// What may change in place, as the server lists it (for a Pod: container images,
    /// `activeDeadlineSeconds`, added tolerations, …); empty when the server lists nothing.
    pub can_change: Vec<String>,
    /// kubectl's full error text with the server's message (and its diff), for the curious.
    pub server_message: String,
}

/// A solved mission's debrief, read again from the map (`mission_debrief`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DebriefView {
    /// The learner's personal debrief of their latest solve, when one was kept (solves from
    /// before it existed have none).
    pub personal: Option<crate::debrief::PersonalDebrief>,
    /// The personal part as safe HTML, when `personal` is set.
    pub personal_html: Option<String>,
    /// The lesson's debrief as safe HTML (with the learner's own commands in its commands
    /// section when `personal` is set).
    pub lesson_html: String,
    /// Both, personal part first, as one safe HTML document (for a plain reader).
    pub html: String,
}

impl DebriefView {
    /// The view of `mission`'s debrief with the learner's `personal` one, if any.
    pub fn new(mission: &Mission, personal: Option<crate::debrief::PersonalDebrief>) -> Self {
        let lesson_html = personal
            .as_ref()
            .map_or_else(|| mission.debrief_html(), |p| p.lesson_html());
        let personal_html = personal.as_ref().map(|p| p.personal_html());
        let html = match &personal_html {
            Some(p) => format!("{p}\n<hr>\n{lesson_html}"),
            None => lesson_html.clone(),
        };
        DebriefView {
            personal,
            personal_html,
            lesson_html,
            html,
        }
    }
}

/// A hint revealed on request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HintReveal {
    /// 0-based position in the ladder.
    pub index: u32,
    /// The hint, rendered to safe HTML.
    pub html: String,
    /// Hints still hidden.
    pub remaining: u32,
    /// Hints used so far in this mission (the progress counter).
    pub hints_used: u32,
}

/// What `get_progress` answers: the progress to show, and what loading it had to recover from
/// (reported once; the next load answers `recovery: null`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProgressLoad {
    pub progress: crate::progress::Progress,
    pub recovery: Option<ProgressRecovery>,
}

/// The progress file could not be used as it was: what happened to it, and whether the progress
/// shown came from the backup or is empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProgressRecovery {
    /// The whole story in a few sentences (what was wrong, where the file was kept, the outcome).
    pub message: String,
    /// `true`: `progress` was restored from the last backup; `false`: it starts empty.
    pub restored: bool,
}

impl From<&crate::progress::Recovery> for ProgressRecovery {
    fn from(r: &crate::progress::Recovery) -> Self {
        ProgressRecovery {
            message: r.message(),
            restored: r.restored_from_backup,
        }
    }
}

/// The theme the learner picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum Theme {
    System,
    Light,
    Dark,
}

/// The learner's settings.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// The kubeconfig context to use; `None` is the embedded cluster.
    pub context: Option<String>,
    /// Remote contexts the learner explicitly allowed.
    pub allowed_remote_contexts: Vec<String>,
    /// Embedded cluster speed (1.0 = real time).
    pub speed: f64,
    pub theme: Theme,
    /// Teacher preview: every mission on the map is open, whatever its `requires`; solves are
    /// still recorded as usual. Off unless chosen (settings saved before it existed read as off).
    #[serde(default)]
    pub teacher_preview: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            context: None,
            allowed_remote_contexts: Vec::new(),
            speed: 1.0,
            theme: Theme::System,
            teacher_preview: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_clock_sends_rfc3339_with_milliseconds() {
        let t: Timestamp = "2025-01-02T03:04:05.678912Z".parse().unwrap();
        let c = ClusterClock::at(t, 8.0);
        assert_eq!(c.now, "2025-01-02T03:04:05.678Z");
        assert_eq!(c.speed, 8.0);
        let whole: Timestamp = "2025-01-02T03:04:05Z".parse().unwrap();
        assert_eq!(ClusterClock::at(whole, 1.0).now, "2025-01-02T03:04:05.000Z");
        // What is sent parses back to the same millisecond.
        let back: Timestamp = c.now.parse().unwrap();
        assert_eq!(back.as_millisecond(), t.as_millisecond());
    }

    #[test]
    fn cluster_clock_speed_is_always_usable() {
        let t = Timestamp::UNIX_EPOCH;
        assert_eq!(ClusterClock::at(t, 0.0).speed, 0.0);
        assert_eq!(ClusterClock::at(t, 0.5).speed, 0.5);
        assert_eq!(ClusterClock::at(t, f64::NAN).speed, 1.0);
        assert_eq!(ClusterClock::at(t, f64::INFINITY).speed, 1.0);
        assert_eq!(ClusterClock::at(t, -2.0).speed, 1.0);
    }

    #[test]
    fn progress_recovery_says_whether_the_backup_was_used() {
        use crate::progress::{Recovery, RecoveryReason};
        let damaged = |restored_from_backup| Recovery {
            reason: RecoveryReason::Corrupt {
                detail: "expected value at line 1".into(),
            },
            moved_to: Some("progress.json.corrupt-x".into()),
            restored_from_backup,
        };
        let restored = ProgressRecovery::from(&damaged(true));
        assert!(restored.restored);
        assert!(restored.message.contains("restored from the last backup"));
        let fresh = ProgressRecovery::from(&damaged(false));
        assert!(!fresh.restored);
        assert!(fresh.message.contains("empty progress"));
    }

    #[test]
    fn clock_update_is_tagged_for_the_ui() {
        let u = SessionUpdate::Clock {
            clock: ClusterClock::at(Timestamp::UNIX_EPOCH, 8.0),
        };
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            serde_json::json!({
                "kind": "clock",
                "clock": { "now": "1970-01-01T00:00:00.000Z", "speed": 8.0 }
            })
        );
    }
}
