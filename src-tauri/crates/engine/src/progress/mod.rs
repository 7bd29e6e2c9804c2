//! What the learner has done: per mission, keyed by mission id (never by position, so
//! reordering the curriculum cannot shift anyone's progress).
//!
//! The model is versioned (`version: 1`) and small: status, attempts, hints used, when the
//! latest attempt started, when the mission was first solved and the best time to fix. It is
//! stored through the [`ProgressStore`] trait; [`JsonFileStore`] writes it crash-safely (see
//! [`store`]).
//!
//! Learners can export their progress and import it elsewhere; a teacher can merge many exports
//! into a class table ([`report`]). Merging follows one rule everywhere, chosen so that merging
//! is commutative, associative and idempotent (importing the same file twice changes nothing):
//!
//! - status: the furthest wins (solved > in progress > not started);
//! - attempts and hints used: the maximum (not the sum, which would double on a re-import);
//! - started at and solved at: the earliest;
//! - time to fix: the best (smallest).

pub mod report;
pub mod store;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use report::{ClassReport, report, report_from_exports};
pub use store::{JsonFileStore, LoadedProgress, ProgressStore, Recovery, RecoveryReason};

/// The schema version this build writes and reads.
pub const PROGRESS_VERSION: u32 = 1;

/// The marker in an export file's `format` field.
pub const EXPORT_FORMAT: &str = "kubequest-progress-export";

/// Why progress could not be read, written, exported or imported.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The progress could not be turned into JSON (never expected; reported rather than lost).
    #[error("cannot serialise progress: {0}")]
    Serialize(#[source] serde_json::Error),
    /// An export file is not valid.
    #[error("{file}: not a KubeQuest progress export: {detail}")]
    InvalidExport { file: String, detail: String },
    /// An export was written by a newer KubeQuest.
    #[error(
        "{file}: written by a newer KubeQuest (export version {version}); update KubeQuest to \
         read it"
    )]
    NewerExport { file: String, version: u32 },
}

/// Who the progress belongs to (for exports and class reports).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub struct Learner {
    /// A stable id chosen by the learner or the teacher (a student number, a login).
    pub id: String,
    /// The display name.
    pub name: String,
}

/// Where a mission stands for the learner.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS,
)]
#[serde(rename_all = "kebab-case")]
pub enum MissionStatus {
    #[default]
    NotStarted,
    InProgress,
    Solved,
}

impl MissionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MissionStatus::NotStarted => "not-started",
            MissionStatus::InProgress => "in-progress",
            MissionStatus::Solved => "solved",
        }
    }
}

/// One mission's record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MissionProgress {
    pub status: MissionStatus,
    /// How many times the mission was started (each start re-applies the broken state).
    #[serde(default)]
    pub attempts: u32,
    /// How many hints were revealed (the ladder's position).
    #[serde(default)]
    pub hints_used: u32,
    /// When the latest attempt started (RFC 3339).
    #[serde(default)]
    #[ts(type = "string | null")]
    pub started_at: Option<Timestamp>,
    /// When the mission was first solved (RFC 3339).
    #[serde(default)]
    #[ts(type = "string | null")]
    pub solved_at: Option<Timestamp>,
    /// The best time from an attempt's start to its solution, in seconds.
    #[serde(default)]
    pub time_to_fix_seconds: Option<u64>,
}

fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

impl MissionProgress {
    /// Merges two records of the same mission (see the module docs for the rule).
    pub fn merge(&self, other: &MissionProgress) -> MissionProgress {
        MissionProgress {
            status: self.status.max(other.status),
            attempts: self.attempts.max(other.attempts),
            hints_used: self.hints_used.max(other.hints_used),
            started_at: earliest(self.started_at, other.started_at),
            solved_at: earliest(self.solved_at, other.solved_at),
            time_to_fix_seconds: match (self.time_to_fix_seconds, other.time_to_fix_seconds) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }
}

/// Everything the learner has done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Progress {
    pub version: u32,
    #[serde(default)]
    pub learner: Option<Learner>,
    #[serde(default)]
    pub missions: BTreeMap<String, MissionProgress>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            version: PROGRESS_VERSION,
            learner: None,
            missions: BTreeMap::new(),
        }
    }
}

impl Progress {
    /// The record of a mission (a default, not-started record if there is none).
    pub fn mission(&self, id: &str) -> MissionProgress {
        self.missions.get(id).cloned().unwrap_or_default()
    }

    /// The mission was started (or restarted) at `now`.
    pub fn start(&mut self, id: &str, now: Timestamp) {
        let m = self.missions.entry(id.to_owned()).or_default();
        m.attempts = m.attempts.saturating_add(1);
        m.started_at = Some(now);
        if m.status != MissionStatus::Solved {
            m.status = MissionStatus::InProgress;
        }
    }

    /// `revealed` hints are now shown (the count never goes down).
    pub fn hints_revealed(&mut self, id: &str, revealed: u32) {
        let m = self.missions.entry(id.to_owned()).or_default();
        m.hints_used = m.hints_used.max(revealed);
    }

    /// Every objective holds at `now`. Returns the time to fix of this attempt, if known.
    pub fn solve(&mut self, id: &str, now: Timestamp) -> Option<u64> {
        let m = self.missions.entry(id.to_owned()).or_default();
        m.status = MissionStatus::Solved;
        m.solved_at = earliest(m.solved_at, Some(now));
        let took = m
            .started_at
            .map(|s| now.duration_since(s).as_secs())
            .and_then(|s| u64::try_from(s).ok());
        if let Some(t) = took {
            m.time_to_fix_seconds = Some(m.time_to_fix_seconds.map_or(t, |best| best.min(t)));
        }
        took
    }

    /// Whether a mission with these `requires` is open.
    pub fn is_unlocked(&self, requires: &[String]) -> bool {
        requires
            .iter()
            .all(|r| self.mission(r).status == MissionStatus::Solved)
    }

    /// An export for another machine or the teacher.
    pub fn export(&self, learner: Learner, now: Timestamp) -> ProgressExport {
        ProgressExport {
            format: EXPORT_FORMAT.into(),
            version: PROGRESS_VERSION,
            learner,
            exported_at: now,
            missions: self.missions.clone(),
        }
    }

    /// Merges an export into this progress (see the module docs for the rule).
    pub fn import(&mut self, export: &ProgressExport) {
        for (id, theirs) in &export.missions {
            let merged = self.mission(id).merge(theirs);
            self.missions.insert(id.clone(), merged);
        }
        if self.learner.is_none() {
            self.learner = Some(export.learner.clone());
        }
    }
}

/// A learner's exported progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProgressExport {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    pub version: u32,
    pub learner: Learner,
    #[ts(type = "string")]
    pub exported_at: Timestamp,
    pub missions: BTreeMap<String, MissionProgress>,
}

impl ProgressExport {
    /// Parses an export file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<ProgressExport, ProgressError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ProgressError::InvalidExport {
                file: file.into(),
                detail: e.to_string(),
            })?;
        if value.get("format").and_then(|f| f.as_str()) != Some(EXPORT_FORMAT) {
            return Err(ProgressError::InvalidExport {
                file: file.into(),
                detail: format!("`format` is not \"{EXPORT_FORMAT}\""),
            });
        }
        let version = value
            .get("version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if version > u64::from(PROGRESS_VERSION) {
            return Err(ProgressError::NewerExport {
                file: file.into(),
                version: u32::try_from(version).unwrap_or(u32::MAX),
            });
        }
        serde_json::from_value(value).map_err(|e| ProgressError::InvalidExport {
            file: file.into(),
            detail: e.to_string(),
        })
    }

    /// The export as pretty JSON.
    pub fn to_json(&self) -> Result<String, ProgressError> {
        serde_json::to_string_pretty(self).map_err(ProgressError::Serialize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_740_000_000 + s).unwrap()
    }

    #[test]
    fn solving_records_the_best_time_and_keeps_the_first_solve() {
        let mut p = Progress::default();
        p.start("m", at(0));
        p.hints_revealed("m", 2);
        p.hints_revealed("m", 1);
        assert_eq!(p.solve("m", at(120)), Some(120));
        p.start("m", at(500));
        assert_eq!(
            p.mission("m").status,
            MissionStatus::Solved,
            "replaying keeps it solved"
        );
        assert_eq!(p.solve("m", at(560)), Some(60));
        let m = p.mission("m");
        assert_eq!(
            (m.attempts, m.hints_used, m.time_to_fix_seconds, m.solved_at),
            (2, 2, Some(60), Some(at(120))),
            "best time kept, first solve kept, hint count never decreases"
        );
    }

    #[test]
    fn missions_unlock_when_their_requirements_are_solved() {
        let mut p = Progress::default();
        let req = vec!["a".to_owned()];
        assert!(!p.is_unlocked(&req));
        p.start("a", at(0));
        assert!(!p.is_unlocked(&req), "started is not solved");
        p.solve("a", at(10));
        assert!(p.is_unlocked(&req));
        assert!(p.is_unlocked(&[]));
    }
}
