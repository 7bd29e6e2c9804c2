//! `kq progress export | import | report | name | path`: moving a learner's progress between
//! machines, naming the learner, and collecting a class's exports into one table for the
//! teacher.
//!
//! The progress file is the one the desktop app uses too ([`default_progress_path`]:
//! `$XDG_DATA_HOME/kubequest/progress.json`, `~/.local/share/kubequest/progress.json`), written
//! by the same engine code (locked, atomic, with a `.bak`). The first time `kq` finds the app's
//! file from before the two were shared, it merges it in and keeps the old file renamed aside.
//! Commands that only read (`missions`, `export`) never move or change the progress file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use jiff::Timestamp;
use kq_engine::progress::{
    JsonFileStore, ProgressExport, ProgressStore, default_progress_path, legacy_app_progress_path,
    migrate_legacy, report,
};

/// The progress file to use: `explicit` (`--progress FILE`) as given, else the file shared with
/// the app, after merging the app's older file into it once (said on stderr).
pub fn progress_file(explicit: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return Ok(p);
    }
    let path = default_progress_path().map_err(|e| e.to_string())?;
    if let Some(legacy) = legacy_app_progress_path() {
        let store = JsonFileStore::new(&path);
        match migrate_legacy(&store, &legacy, Timestamp::now()) {
            Ok(Some(m)) => eprintln!("note: {}", m.message(&path)),
            Ok(None) => {}
            Err(e) => eprintln!(
                "warning: the app's earlier progress could not be merged into {}: {e}",
                path.display()
            ),
        }
    }
    Ok(path)
}

/// Reads the store without changing it, telling the learner when the file could not be used.
pub fn load(store: &JsonFileStore) -> Result<kq_engine::progress::Progress, String> {
    let loaded = store.read().map_err(|e| {
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

/// `kq progress path`: where the progress is (the same file the app uses).
pub fn path(progress_file: &Path) -> ExitCode {
    println!("{}", progress_file.display());
    ExitCode::SUCCESS
}

/// `kq progress name [NAME]`: sets the learner's name (keeping their id), or shows it.
pub fn name(progress_file: &Path, name: Option<String>) -> ExitCode {
    let store = JsonFileStore::new(progress_file);
    let Some(name) = name else {
        let progress = match load(&store) {
            Ok(p) => p,
            Err(e) => return fail(&e),
        };
        return match progress.named_learner() {
            Some(l) => {
                println!("{} (learner id {})", l.name, l.id);
                ExitCode::SUCCESS
            }
            None => fail(&format!(
                "no learner name is set in {}. Set it with `kq progress name \"Your Name\"`",
                store.path().display()
            )),
        };
    };
    match store.update_with(Timestamp::now(), |p| p.set_learner_name(&name)) {
        Ok((_, Ok(l))) => {
            println!(
                "learner name set to {} (learner id {}) in {}",
                l.name,
                l.id,
                store.path().display()
            );
            ExitCode::SUCCESS
        }
        Ok((_, Err(e))) => fail(&e.to_string()),
        Err(e) => fail(&format!(
            "cannot save the progress file {}: {e}",
            store.path().display()
        )),
    }
}

/// `kq progress export --out FILE [--learner NAME]`: `--learner` sets the stored name first, so
/// every later export carries the same name and id.
pub fn export(progress_file: &Path, out: &Path, learner: Option<String>) -> ExitCode {
    let store = JsonFileStore::new(progress_file);
    let progress = match learner {
        Some(name) => match store.update_with(Timestamp::now(), |p| p.set_learner_name(&name)) {
            Ok((loaded, Ok(_))) => loaded.progress,
            Ok((_, Err(e))) => return fail(&e.to_string()),
            Err(e) => {
                return fail(&format!(
                    "cannot save the learner name in {}: {e}",
                    store.path().display()
                ));
            }
        },
        None => match load(&store) {
            Ok(p) => p,
            Err(e) => return fail(&e),
        },
    };
    if progress.missions.is_empty() {
        return fail(&format!(
            "nothing to export: the progress file {} has no mission recorded, so no export was \
             written. Play a mission first (`kq play ID`); if you played in the app, check that \
             it uses this file (`kq progress path`), or pass --progress FILE",
            store.path().display()
        ));
    }
    let export = match progress.export_named(Timestamp::now()) {
        Ok(e) => e,
        Err(e) => {
            return fail(&format!(
                "{e}, or pass --learner \"Your Name\" (progress file {})",
                store.path().display()
            ));
        }
    };
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
    println!(
        "exported {} mission(s) ({} solved) for {} from {} to {}",
        export.missions.len(),
        export.solved(),
        export.learner.name,
        store.path().display(),
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
    // One locked load-merge-save: imports running at the same time (or the app recording a
    // solve) each keep what the others wrote.
    let progress = match store.update(Timestamp::now(), &mut |p| p.import(&export)) {
        Ok(loaded) => {
            if let Some(r) = &loaded.recovery {
                eprintln!("warning: {}", r.message());
            }
            loaded.progress
        }
        Err(e) => {
            return fail(&format!(
                "cannot update the progress file {}: {e}. Nothing was imported",
                store.path().display()
            ));
        }
    };
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
    for w in &r.warnings {
        eprintln!("warning: {w}");
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
