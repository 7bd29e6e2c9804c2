//! `kq progress export | import | report`: moving a learner's progress between machines and
//! collecting a class's exports into one table for the teacher.
//!
//! The progress file is the desktop app's format (`progress.json`, written atomically with a
//! `.bak`); by default it lives in `$XDG_DATA_HOME/kubequest/` (`~/.local/share/kubequest/`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use jiff::Timestamp;
use kq_engine::progress::{JsonFileStore, Learner, ProgressExport, ProgressStore, report};

/// `$XDG_DATA_HOME/kubequest/progress.json`, falling back to `~/.local/share` (and to the
/// working directory when there is no home at all).
pub fn default_progress_path() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .or_else(|| std::env::var_os("USERPROFILE"))
                .map(|h| PathBuf::from(h).join(".local").join("share"))
        })
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("kubequest").join("progress.json")
}

/// Loads the store, telling the learner when a damaged file was kept aside.
pub fn load(store: &JsonFileStore) -> Result<kq_engine::progress::Progress, String> {
    let loaded = store.load(Timestamp::now()).map_err(|e| {
        format!(
            "cannot read the progress file {}: {e}. Check its permissions, or pass --progress \
             FILE to use another file",
            store.path().display()
        )
    })?;
    if let Some(r) = &loaded.recovery {
        eprintln!("warning: {}", r.message());
    }
    Ok(loaded.progress)
}

/// A learner id from a display name: `Ada Lovelace` → `ada-lovelace`.
fn learner_id(name: &str) -> String {
    let mut id = String::new();
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            id.extend(c.to_lowercase());
        } else if !id.ends_with('-') && !id.is_empty() {
            id.push('-');
        }
    }
    id.trim_end_matches('-').to_owned()
}

/// `kq progress export --out FILE [--learner NAME]`.
pub fn export(progress_file: &Path, out: &Path, learner: Option<String>) -> ExitCode {
    let store = JsonFileStore::new(progress_file);
    let progress = match load(&store) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let learner = match (learner, progress.learner.clone()) {
        (Some(name), _) => Learner {
            id: learner_id(&name),
            name,
        },
        (None, Some(l)) => l,
        (None, None) => match std::env::var("USER").ok().filter(|u| !u.is_empty()) {
            Some(user) => Learner {
                id: learner_id(&user),
                name: user,
            },
            None => {
                return fail(
                    "who is this progress from? Pass --learner \"Your Name\" so the teacher's \
                     report can tell learners apart",
                );
            }
        },
    };
    let export = progress.export(learner, Timestamp::now());
    let json = match export.to_json() {
        Ok(j) => j,
        Err(e) => return fail(&e.to_string()),
    };
    if let Err(e) = std::fs::write(out, json + "\n") {
        return fail(&format!(
            "cannot write {}: {e}. Check that the folder exists and is writable",
            out.display()
        ));
    }
    let solved = export
        .missions
        .values()
        .filter(|m| m.status == kq_engine::progress::MissionStatus::Solved)
        .count();
    println!(
        "exported {} mission(s) ({solved} solved) for {} to {}",
        export.missions.len(),
        export.learner.name,
        out.display()
    );
    ExitCode::SUCCESS
}

/// `kq progress import FILE`: merges an export; the progress file is written only when the
/// export was read completely.
pub fn import(progress_file: &Path, file: &Path) -> ExitCode {
    let name = file.display().to_string();
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            return fail(&format!(
                "cannot read {name}: {e}. Check the path of the export file"
            ));
        }
    };
    let export = match ProgressExport::parse(&name, &text) {
        Ok(e) => e,
        Err(e) => {
            return fail(&format!(
                "{e}. Nothing was imported and your progress is unchanged; export the file \
                 again with `kq progress export --out FILE` (or the app's Export button)"
            ));
        }
    };
    let store = JsonFileStore::new(progress_file);
    let mut progress = match load(&store) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    progress.import(&export);
    if let Err(e) = store.save(&progress) {
        return fail(&format!(
            "cannot save the progress file {}: {e}",
            store.path().display()
        ));
    }
    let solved = progress
        .missions
        .values()
        .filter(|m| m.status == kq_engine::progress::MissionStatus::Solved)
        .count();
    println!(
        "imported {} mission(s) from {name}; {solved} solved in total ({})",
        export.missions.len(),
        store.path().display()
    );
    ExitCode::SUCCESS
}

/// Output formats of `kq progress report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Csv,
    Markdown,
}

/// `kq progress report FILE… [--format csv|markdown] [--out FILE]`: files that cannot be read
/// are named on stderr and skipped; the exit code is 1 when any was skipped, so a script notices.
pub fn class_report(files: &[PathBuf], format: ReportFormat, out: Option<&Path>) -> ExitCode {
    let r = report(files);
    for p in &r.problems {
        eprintln!(
            "warning: {p} (skipped; ask the learner to export again with `kq progress export`)"
        );
    }
    if r.learners.is_empty() {
        return fail("no readable progress export among the files given");
    }
    let table = match format {
        ReportFormat::Csv => r.to_csv(),
        ReportFormat::Markdown => r.to_markdown(),
    };
    match out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &table) {
                return fail(&format!("cannot write {}: {e}", path.display()));
            }
            eprintln!(
                "{} learner(s), {} mission(s) written to {}",
                r.learners.len(),
                r.missions.len(),
                path.display()
            );
        }
        None => print!("{table}"),
    }
    if r.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

pub fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::learner_id;

    #[test]
    fn learner_ids_are_slugs() {
        assert_eq!(learner_id("  Ada Lovelace "), "ada-lovelace");
        assert_eq!(learner_id("Zoë O'Neil"), "zoë-o-neil");
    }
}
