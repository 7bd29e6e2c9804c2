//! The class report: many learners' exports merged into one table.
//!
//! Exports of the same learner id (say, from two machines) are merged with the import rule of
//! [`super`]; files that cannot be read are listed in [`ClassReport::problems`] and skipped.
//! The table renders as:
//!
//! - **CSV** (RFC 4180: comma-separated, CRLF line ends, fields with commas, quotes or line
//!   breaks quoted and inner quotes doubled), one row per learner and mission, including
//!   missions a learner has not started. A cell starting with `=`, `+`, `-`, `@`, a tab or a
//!   carriage return gets a leading `'`, so a learner named `=HYPERLINK(…)` cannot run a
//!   formula in the teacher's spreadsheet.
//! - **Markdown**: one row per learner, one column per mission, with names escaped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::{Learner, MissionProgress, MissionStatus, ProgressExport};
use crate::kubetime::format_go_duration;

/// Many learners' progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassReport {
    /// Learners, sorted by id.
    pub learners: Vec<Learner>,
    /// Every mission id that appears in any export, sorted.
    pub missions: Vec<String>,
    /// `(learner id, mission id)` → the merged record.
    pub entries: BTreeMap<(String, String), MissionProgress>,
    /// Files that could not be used, with why.
    pub problems: Vec<String>,
}

/// Reads export files and merges them.
pub fn report(files: &[PathBuf]) -> ClassReport {
    let mut exports = Vec::new();
    let mut problems = Vec::new();
    for f in files {
        let name = f.display().to_string();
        match std::fs::read_to_string(f) {
            Ok(text) => match ProgressExport::parse(&name, &text) {
                Ok(e) => exports.push(e),
                Err(e) => problems.push(e.to_string()),
            },
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    let mut r = report_from_exports(exports);
    r.problems = problems;
    r
}

/// Merges parsed exports.
pub fn report_from_exports(exports: Vec<ProgressExport>) -> ClassReport {
    let mut learners: BTreeMap<String, Learner> = BTreeMap::new();
    let mut entries: BTreeMap<(String, String), MissionProgress> = BTreeMap::new();
    let mut missions = BTreeSet::new();
    for e in exports {
        let known = learners
            .entry(e.learner.id.clone())
            .or_insert_with(|| e.learner.clone());
        if known.name.trim().is_empty() {
            known.name = e.learner.name.clone();
        }
        for (id, m) in e.missions {
            missions.insert(id.clone());
            let slot = entries.entry((e.learner.id.clone(), id)).or_default();
            *slot = slot.merge(&m);
        }
    }
    ClassReport {
        learners: learners.into_values().collect(),
        missions: missions.into_iter().collect(),
        entries,
        problems: Vec::new(),
    }
}

fn csv_field(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

fn md_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

impl ClassReport {
    fn entry(&self, learner: &str, mission: &str) -> MissionProgress {
        self.entries
            .get(&(learner.to_owned(), mission.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// The long-format CSV table.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "learner_id,learner_name,mission_id,status,attempts,hints_used,time_to_fix_seconds,solved_at\r\n",
        );
        for l in &self.learners {
            for m in &self.missions {
                let e = self.entry(&l.id, m);
                let row = [
                    csv_field(&l.id),
                    csv_field(&l.name),
                    csv_field(m),
                    e.status.as_str().to_owned(),
                    e.attempts.to_string(),
                    e.hints_used.to_string(),
                    e.time_to_fix_seconds
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                    e.solved_at.map(|t| t.to_string()).unwrap_or_default(),
                ];
                out.push_str(&row.join(","));
                out.push_str("\r\n");
            }
        }
        out
    }

    /// The learner × mission Markdown table, with a solved count per mission.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("| Learner |");
        for m in &self.missions {
            out.push_str(&format!(" {} |", md_escape(m)));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(self.missions.len()));
        out.push('\n');
        for l in &self.learners {
            out.push_str(&format!(
                "| {} ({}) |",
                md_escape(&l.name),
                md_escape(&l.id)
            ));
            for m in &self.missions {
                let e = self.entry(&l.id, m);
                let cell = match e.status {
                    MissionStatus::Solved => {
                        let time = e
                            .time_to_fix_seconds
                            .map(|t| format!(" in {}", format_go_duration(t)))
                            .unwrap_or_default();
                        let hints = match e.hints_used {
                            0 => String::new(),
                            1 => ", 1 hint".into(),
                            n => format!(", {n} hints"),
                        };
                        format!("solved{time}{hints}")
                    }
                    MissionStatus::InProgress => format!("in progress ({} attempts)", e.attempts),
                    MissionStatus::NotStarted => "–".into(),
                };
                out.push_str(&format!(" {cell} |"));
            }
            out.push('\n');
        }
        out.push_str("| **Solved** |");
        for m in &self.missions {
            let solved = self
                .learners
                .iter()
                .filter(|l| self.entry(&l.id, m).status == MissionStatus::Solved)
                .count();
            out.push_str(&format!(" {solved}/{} |", self.learners.len()));
        }
        out.push('\n');
        out
    }
}
