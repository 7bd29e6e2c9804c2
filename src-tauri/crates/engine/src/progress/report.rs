//! The class report: many learners' exports merged into one table.
//!
//! Rows are learners by **id**, never by name: exports with the same stable id (one learner's
//! laptop and lab machine) are merged with the import rule of [`super`]; two ids are two rows
//! even when the names are the same. What the teacher should check is in
//! [`ClassReport::warnings`]: two ids that share a name (two Adas, or one Ada on two machines
//! who should import one export into the other), one id seen with different names (the latest
//! export's name is shown), and exports from before learner ids (version 1, whose id was made
//! from the name or the login), each listed as a learner of its own and never merged. Files that
//! cannot be read are listed in [`ClassReport::problems`] and skipped.
//!
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

use jiff::Timestamp;

use super::{Learner, MissionProgress, MissionStatus, ProgressExport};
use kq_kube::duration::format_go_duration;

/// Many learners' progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassReport {
    /// Learners, sorted by id. An export without a stable id gets `no-id:<file>` as its id.
    pub learners: Vec<Learner>,
    /// Every mission id that appears in any export, sorted.
    pub missions: Vec<String>,
    /// `(learner id, mission id)` → the merged record.
    pub entries: BTreeMap<(String, String), MissionProgress>,
    /// Files that could not be used, with why.
    pub problems: Vec<String>,
    /// What the teacher should check: names shared by several ids, an id with several names,
    /// exports without a stable id.
    pub warnings: Vec<String>,
}

/// Reads export files and merges them.
pub fn report(files: &[PathBuf]) -> ClassReport {
    let mut exports = Vec::new();
    let mut problems = Vec::new();
    for f in files {
        let name = f.display().to_string();
        match std::fs::read_to_string(f) {
            Ok(text) => match ProgressExport::parse(&name, &text) {
                Ok(e) => exports.push((name, e)),
                Err(e) => problems.push(e.to_string()),
            },
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    let mut r = report_from_exports(exports);
    r.problems = problems;
    r
}

/// One name a learner id was exported with.
struct Seen {
    name: String,
    exported_at: Timestamp,
    file: String,
}

fn quoted_list(items: &[String]) -> String {
    items.join(", ")
}

/// Merges parsed exports, each with the file it came from (named in warnings).
pub fn report_from_exports(exports: Vec<(String, ProgressExport)>) -> ClassReport {
    let mut seen: BTreeMap<String, Vec<Seen>> = BTreeMap::new();
    let mut entries: BTreeMap<(String, String), MissionProgress> = BTreeMap::new();
    let mut missions = BTreeSet::new();
    let mut warnings = Vec::new();
    for (file, e) in exports {
        let key = if e.has_stable_id() {
            e.learner.id.clone()
        } else {
            warnings.push(format!(
                "{file}: from an older KubeQuest, without a stable learner id; \"{}\" is listed \
                 as a learner of their own and not merged with any other file (ask them to \
                 export again)",
                e.learner.name
            ));
            format!("no-id:{file}")
        };
        seen.entry(key.clone()).or_default().push(Seen {
            name: e.learner.name.clone(),
            exported_at: e.exported_at,
            file: file.clone(),
        });
        for (id, m) in e.missions {
            missions.insert(id.clone());
            let slot = entries.entry((key.clone(), id)).or_default();
            *slot = slot.merge(&m);
        }
    }
    let mut learners = Vec::new();
    for (id, names) in &seen {
        // The latest export's name: a learner who renamed themselves is shown as they are now.
        let shown = names
            .iter()
            .filter(|s| !s.name.trim().is_empty())
            .max_by_key(|s| s.exported_at)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let distinct: BTreeSet<&str> = names.iter().map(|s| s.name.trim()).collect();
        if distinct.len() > 1 {
            let list: Vec<String> = names
                .iter()
                .map(|s| format!("\"{}\" ({})", s.name, s.file))
                .collect();
            warnings.push(format!(
                "learner id {id} appears with different names: {}; shown as \"{shown}\" (the \
                 latest export)",
                quoted_list(&list)
            ));
        }
        learners.push(Learner {
            id: id.clone(),
            name: shown,
        });
    }
    let mut by_name: BTreeMap<String, Vec<&Learner>> = BTreeMap::new();
    for l in &learners {
        by_name
            .entry(l.name.trim().to_lowercase())
            .or_default()
            .push(l);
    }
    for same in by_name.values().filter(|v| v.len() > 1) {
        let ids: Vec<String> = same.iter().map(|l| l.id.clone()).collect();
        warnings.push(format!(
            "{} learners are named \"{}\" (ids {}): they are listed as separate rows and never \
             merged; if they are one person on two machines, have them import one export into \
             the other (`kq progress import`) and export again",
            same.len(),
            same[0].name,
            quoted_list(&ids)
        ));
    }
    ClassReport {
        learners,
        missions: missions.into_iter().collect(),
        entries,
        problems: Vec::new(),
        warnings,
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
