//! The curriculum: one folder per mission, each with a `mission.md` whose YAML front matter
//! describes it and whose body is the briefing.
//!
//! A [`Catalog`] is read from several roots in order (the lessons bundled with the app, then a
//! teacher's folder). A folder that fails to load does not hide the others: its problem is
//! reported with the file and line so the teacher can fix it, and the rest of the curriculum
//! still shows.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ipc::MissionSummary;

/// The file in each lesson folder that describes the mission.
pub const MISSION_FILE: &str = "mission.md";

/// Why a lesson folder could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LessonError {
    /// The file could not be read at all.
    #[error("{file}: cannot read: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `mission.md` does not open with a `---` front matter block.
    #[error(
        "{file}:1: missing front matter: the file must start with a line `---`, the mission's YAML, and another `---`"
    )]
    NoFrontMatter { file: PathBuf },
    /// The front matter is not valid YAML or does not match the format.
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: PathBuf,
        line: usize,
        message: String,
    },
    /// Two folders declare the same mission id.
    #[error("{file}: mission id `{id}` is already used by {other}")]
    DuplicateId {
        file: PathBuf,
        id: String,
        other: PathBuf,
    },
}

#[derive(Debug, Deserialize)]
struct FrontMatter {
    id: String,
    title: String,
    order: u32,
    stage: String,
    difficulty: String,
    #[serde(default)]
    requires: Vec<String>,
}

/// A mission as read from disk.
#[derive(Debug, Clone)]
pub struct Mission {
    pub summary: MissionSummary,
    /// The folder the mission was read from.
    pub dir: PathBuf,
    /// The briefing (Markdown after the front matter).
    pub briefing: String,
}

/// The missions found under one or more lesson roots, in curriculum order.
#[derive(Debug, Default)]
pub struct Catalog {
    pub missions: Vec<Mission>,
    pub problems: Vec<LessonError>,
}

/// Splits `---\nYAML\n---\nbody` into the YAML and the body. The YAML starts on line 2.
fn split_front_matter(text: &str) -> Option<(&str, &str)> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

/// Reads one lesson folder.
pub fn load_mission(dir: &Path) -> Result<Mission, LessonError> {
    let file = dir.join(MISSION_FILE);
    let text = std::fs::read_to_string(&file).map_err(|source| LessonError::Io {
        file: file.clone(),
        source,
    })?;
    let (yaml, body) = split_front_matter(&text)
        .ok_or_else(|| LessonError::NoFrontMatter { file: file.clone() })?;
    let front: FrontMatter = serde_yaml_ng::from_str(yaml).map_err(|e| LessonError::Invalid {
        file: file.clone(),
        // The YAML starts on the file's second line.
        line: e.location().map_or(1, |l| l.line() + 1),
        message: e.to_string(),
    })?;
    Ok(Mission {
        summary: MissionSummary {
            id: front.id,
            title: front.title,
            order: front.order,
            stage: front.stage,
            difficulty: front.difficulty,
            requires: front.requires,
        },
        dir: dir.to_owned(),
        briefing: body.trim_start().to_owned(),
    })
}

impl Catalog {
    /// Reads every folder holding a `mission.md` directly under each root. Roots that do not
    /// exist are skipped: a teacher's folder is optional.
    pub fn load(roots: &[PathBuf]) -> Catalog {
        let mut catalog = Catalog::default();
        for root in roots {
            let Ok(entries) = std::fs::read_dir(root) else {
                continue;
            };
            let mut dirs: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join(MISSION_FILE).is_file())
                .collect();
            dirs.sort();
            for dir in dirs {
                match load_mission(&dir) {
                    Ok(m) => {
                        if let Some(other) = catalog
                            .missions
                            .iter()
                            .find(|o| o.summary.id == m.summary.id)
                        {
                            catalog.problems.push(LessonError::DuplicateId {
                                file: dir.join(MISSION_FILE),
                                id: m.summary.id.clone(),
                                other: other.dir.clone(),
                            });
                        } else {
                            catalog.missions.push(m);
                        }
                    }
                    Err(e) => catalog.problems.push(e),
                }
            }
        }
        catalog.missions.sort_by(|a, b| {
            (a.summary.order, &a.summary.id).cmp(&(b.summary.order, &b.summary.id))
        });
        catalog
    }

    /// The summaries, in curriculum order.
    pub fn summaries(&self) -> Vec<MissionSummary> {
        self.missions.iter().map(|m| m.summary.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(MISSION_FILE), text).unwrap();
        d
    }

    const GOOD: &str = "---\nid: second\ntitle: Second\norder: 2\nstage: pull\ndifficulty: beginner\n---\n\nThe pod never starts.\n";

    #[test]
    fn missions_are_ordered_by_curriculum_position_not_folder_name() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "a-second", GOOD);
        write(
            tmp.path(),
            "z-first",
            "---\nid: first\ntitle: First\norder: 1\nstage: run\ndifficulty: beginner\n---\nBody\n",
        );
        let c = Catalog::load(&[tmp.path().to_owned()]);
        let ids: Vec<_> = c.summaries().into_iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            ["first", "second"],
            "order comes from the front matter"
        );
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.missions[1].briefing, "The pod never starts.\n");
    }

    #[test]
    fn a_broken_lesson_is_reported_with_its_line_and_does_not_hide_the_others() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "good", GOOD);
        write(
            tmp.path(),
            "bad",
            "---\nid: bad\ntitle: Bad\norder: [\n---\n",
        );
        write(tmp.path(), "no-front", "# Just a heading\n");
        let c = Catalog::load(&[tmp.path().to_owned()]);
        assert_eq!(c.missions.len(), 1, "the good lesson still loads");
        let msgs: Vec<String> = c.problems.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(
            msgs.iter().any(|m| m.contains("bad/mission.md:4:")),
            "the YAML error points at the file's own line numbers: {msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m.contains("missing front matter")),
            "{msgs:?}"
        );
    }

    #[test]
    fn a_missing_field_names_the_field() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "x",
            "---\nid: x\ntitle: X\nstage: run\ndifficulty: beginner\n---\n",
        );
        let c = Catalog::load(&[tmp.path().to_owned()]);
        let msg = c.problems[0].to_string();
        assert!(msg.contains("missing field `order`"), "{msg}");
    }

    #[test]
    fn a_teacher_folder_cannot_silently_replace_a_bundled_mission() {
        let bundled = tempfile::tempdir().unwrap();
        let teacher = tempfile::tempdir().unwrap();
        write(bundled.path(), "m", GOOD);
        write(teacher.path(), "m", GOOD);
        let c = Catalog::load(&[bundled.path().to_owned(), teacher.path().to_owned()]);
        assert_eq!(c.missions.len(), 1);
        assert!(matches!(c.problems[0], LessonError::DuplicateId { .. }));
    }

    #[test]
    fn missing_roots_are_skipped() {
        let c = Catalog::load(&[PathBuf::from("/nonexistent/kubequest-lessons")]);
        assert!(c.missions.is_empty() && c.problems.is_empty());
    }
}
