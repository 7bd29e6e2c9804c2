//! What the learner has done: per mission, keyed by mission id (never by position, so
//! reordering the curriculum cannot shift anyone's progress).
//!
//! The model is versioned (`version: 1`) and small: status, attempts, hints used, when the
//! latest attempt started, when the mission was first solved and the best time to fix. It is
//! stored through the [`ProgressStore`] trait; [`JsonFileStore`] writes it crash-safely (see
//! [`store`]).
//!
//! The app and `kq` share **one** progress file, [`default_progress_path`]
//! (`<data dir>/kubequest/progress.json`, e.g. `~/.local/share/kubequest/progress.json` on
//! Linux); the app's file from before (`<local data dir>/dev.kubequest.desktop/progress.json`)
//! is merged into it once and kept aside ([`migrate`]).
//!
//! The progress names its learner ([`Learner`]): a display name the learner chooses (in the
//! app's Settings or with `kq progress name`) and a random id made once, so two learners with
//! the same name (or one shared lab login) never become one row in the teacher's report.
//!
//! Learners can export their progress and import it elsewhere; a teacher can merge many exports
//! into a class table ([`report`]). Merging follows one rule everywhere, chosen so that merging
//! is commutative, associative and idempotent (importing the same file twice changes nothing):
//!
//! - status: the furthest wins (solved > in progress > not started);
//! - attempts and hints used: the maximum (not the sum, which would double on a re-import);
//! - started at and solved at: the earliest;
//! - time to fix: the best (smallest).

pub mod migrate;
pub mod report;
pub mod store;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use migrate::{Migration, default_progress_path, legacy_app_progress_path, migrate_legacy};
pub use report::{ClassReport, report, report_from_exports};
pub use store::{JsonFileStore, LoadedProgress, ProgressStore, Recovery, RecoveryReason};

/// The schema version this build writes and reads.
pub const PROGRESS_VERSION: u32 = 1;

/// The marker in an export file's `format` field.
pub const EXPORT_FORMAT: &str = "kubequest-progress-export";

/// The export version this build writes. Version 2 carries a stable learner id; version 1's id
/// was made from the name (or the login), so two learners called the same were one. Version 1
/// exports are still read, each as a learner of its own.
pub const EXPORT_VERSION: u32 = 2;

/// The longest learner name kept (a name, not an essay; it ends up in a table cell).
pub const MAX_LEARNER_NAME_CHARS: usize = 80;

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
    /// A learner name that cannot be used (empty, too long, or with control characters).
    #[error("{0}")]
    InvalidLearnerName(String),
    /// An export needs the learner's name, and none is stored yet.
    #[error(
        "no learner name is set: the teacher's report needs it to tell learners apart. Set it \
         in Settings, or with `kq progress name \"Your Name\"`"
    )]
    NoLearnerName,
    /// No folder to keep the progress in (no home folder).
    #[error(
        "there is no data folder to keep progress in (no home folder found); set HOME or \
         XDG_DATA_HOME, or pass --progress FILE"
    )]
    NoDataDir,
    /// The app's progress file from before could not be merged; it was left where it is.
    #[error("{}: {detail}; it was left in place", path.display())]
    Legacy {
        path: std::path::PathBuf,
        detail: String,
    },
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
    /// A stable id, made once at random when the learner first gives a name and never changed
    /// by renaming: the class report groups by it, never by the name.
    pub id: String,
    /// The display name the learner chose.
    pub name: String,
}

impl Learner {
    /// A learner with a fresh random id (a UUID v4: no two machines make the same one).
    pub fn new(name: &str) -> Result<Learner, ProgressError> {
        Ok(Learner {
            id: uuid::Uuid::new_v4().to_string(),
            name: clean_learner_name(name)?,
        })
    }
}

/// The name as kept: trimmed, non-empty, at most [`MAX_LEARNER_NAME_CHARS`], no control
/// characters (they would break the report's rows).
pub fn clean_learner_name(name: &str) -> Result<String, ProgressError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ProgressError::InvalidLearnerName(
            "the learner name is empty: type the name your teacher knows you by".into(),
        ));
    }
    if name.chars().count() > MAX_LEARNER_NAME_CHARS {
        return Err(ProgressError::InvalidLearnerName(format!(
            "the learner name is longer than {MAX_LEARNER_NAME_CHARS} characters: shorten it"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ProgressError::InvalidLearnerName(
            "the learner name contains a line break or another control character: type it on \
             one line"
                .into(),
        ));
    }
    Ok(name.to_owned())
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
    /// Each solved mission's personal debrief (the latest solve's), by mission id, so it can
    /// be read again from the map. Absent in files written before it existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub debriefs: BTreeMap<String, crate::debrief::PersonalDebrief>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            version: PROGRESS_VERSION,
            learner: None,
            missions: BTreeMap::new(),
            debriefs: BTreeMap::new(),
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

    /// Sets the learner's name, keeping the id (or making one the first time); answers the
    /// learner as stored.
    pub fn set_learner_name(&mut self, name: &str) -> Result<Learner, ProgressError> {
        // Checked before anything changes: a refused name keeps the stored learner.
        let name = clean_learner_name(name)?;
        let learner = match self.learner.take() {
            Some(mut l) if !l.id.trim().is_empty() => {
                l.name = name;
                l
            }
            _ => Learner::new(&name)?,
        };
        self.learner = Some(learner.clone());
        Ok(learner)
    }

    /// The stored learner, if a name was given.
    pub fn named_learner(&self) -> Option<&Learner> {
        self.learner
            .as_ref()
            .filter(|l| !l.name.trim().is_empty() && !l.id.trim().is_empty())
    }

    /// An export of the stored learner's progress: refused ([`ProgressError::NoLearnerName`])
    /// until the learner has a name, so no export reaches the teacher anonymous.
    pub fn export_named(&self, now: Timestamp) -> Result<ProgressExport, ProgressError> {
        let learner = self
            .named_learner()
            .cloned()
            .ok_or(ProgressError::NoLearnerName)?;
        Ok(self.export(learner, now))
    }

    /// An export for another machine or the teacher.
    pub fn export(&self, learner: Learner, now: Timestamp) -> ProgressExport {
        ProgressExport {
            format: EXPORT_FORMAT.into(),
            version: EXPORT_VERSION,
            learner,
            exported_at: now,
            missions: self.missions.clone(),
        }
    }

    /// Merges another copy of this learner's progress (the app's file from before) into this
    /// one; the stored learner is kept, else theirs is taken.
    pub fn merge_from(&mut self, other: &Progress) {
        for (id, theirs) in &other.missions {
            let merged = self.mission(id).merge(theirs);
            self.missions.insert(id.clone(), merged);
        }
        for (id, theirs) in &other.debriefs {
            self.debriefs
                .entry(id.clone())
                .or_insert_with(|| theirs.clone());
        }
        if self.named_learner().is_none()
            && let Some(l) = other.named_learner()
        {
            self.learner = Some(l.clone());
        }
    }

    /// Merges an export into this progress (see the module docs for the rule). A progress with
    /// no learner yet becomes the export's learner (the same id, so the teacher's report keeps
    /// one row for them); from a version-1 export, whose id was only the name, it takes the name
    /// with a new id.
    pub fn import(&mut self, export: &ProgressExport) {
        for (id, theirs) in &export.missions {
            let merged = self.mission(id).merge(theirs);
            self.missions.insert(id.clone(), merged);
        }
        if self.named_learner().is_none() {
            if export.has_stable_id() {
                self.learner = Some(export.learner.clone());
            } else if let Ok(l) = Learner::new(&export.learner.name) {
                self.learner = Some(l);
            }
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
        if version > u64::from(EXPORT_VERSION) {
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

    /// Whether the learner id is a stable one (version 2 on): a version-1 id was made from the
    /// name, so the report must not merge by it.
    pub fn has_stable_id(&self) -> bool {
        self.version >= 2 && !self.learner.id.trim().is_empty()
    }

    /// The number of solved missions.
    pub fn solved(&self) -> usize {
        self.missions
            .values()
            .filter(|m| m.status == MissionStatus::Solved)
            .count()
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
