//! The learner's progress: the `progress.json` that `kq` uses too
//! ([`kq_engine::progress::default_progress_path`], `~/.local/share/kubequest/progress.json` on
//! Linux), written by the same engine code ([`JsonFileStore`]: one locked load-change-save
//! across processes, atomic writes, a `.bak` of the last good version, and a damaged or
//! newer-version file moved aside by a writer rather than overwritten; reads change nothing).
//! At start, the app's own file from before the store was shared (in the app's data folder) is
//! merged in once and kept renamed aside. A recovery is reported to the window once, through
//! `get_progress`, next to the progress it led to.
//!
//! The learner's name and id live in the same file ([`set_learner_name`]), so the app and `kq`
//! export the same learner. An export without a name, or with nothing in it, is refused with
//! an error of kind `progress` that says what to do.
//!
//! Export and import go through the native file dialogs, opened from Rust: the web view holds
//! no dialog or file-system permission.

use std::path::PathBuf;
use std::sync::Mutex;

use jiff::Timestamp;
use kq_engine::ipc::{ErrorKind, ProgressLoad, ProgressRecovery, UiError};
use kq_engine::progress::{
    JsonFileStore, Progress, ProgressError, ProgressExport, ProgressStore, default_progress_path,
    migrate_legacy,
};
use kq_engine::session::SolveRecorder;
use tauri::Manager;

use crate::dialogs::Dialog;
use crate::error;

/// The largest progress export the app reads: a whole curriculum's record is a few KiB.
const MAX_EXPORT_BYTES: u64 = 4 * 1024 * 1024;

/// The progress file, and what loading it had to recover from until the window is told.
pub struct ProgressBook {
    store: Result<JsonFileStore, String>,
    /// What a load had to recover from, until the window has been told.
    notice: Mutex<Option<ProgressRecovery>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn progress_error(message: String) -> UiError {
    UiError {
        kind: ErrorKind::Progress,
        message,
    }
}

impl ProgressBook {
    /// The shared progress file; `legacy` is the app's own file from before, merged in once.
    pub fn open(legacy: Result<PathBuf, String>) -> Self {
        let store = default_progress_path()
            .map(JsonFileStore::new)
            .map_err(|e| {
                format!("KubeQuest cannot keep your progress: {e}. Then restart KubeQuest.")
            });
        let mut notice = None;
        if let (Ok(store), Ok(legacy)) = (&store, legacy) {
            match migrate_legacy(store, &legacy, Timestamp::now()) {
                Ok(Some(m)) => log::info!("{}", m.message(store.path())),
                Ok(None) => {}
                Err(e) => {
                    let message = format!(
                        "Your progress from an earlier KubeQuest could not be merged into {}: {e}.",
                        store.path().display()
                    );
                    log::warn!("{message}");
                    notice = Some(ProgressRecovery {
                        message,
                        restored: false,
                    });
                }
            }
        }
        ProgressBook {
            store,
            notice: Mutex::new(notice),
        }
    }

    fn store(&self) -> Result<&JsonFileStore, UiError> {
        self.store.as_ref().map_err(|m| progress_error(m.clone()))
    }

    fn note(&self, recovery: Option<&kq_engine::progress::Recovery>) {
        if let Some(r) = recovery {
            let notice = ProgressRecovery::from(r);
            log::warn!("{}", notice.message);
            *lock(&self.notice) = Some(notice);
        }
    }

    /// Reads the progress without changing the file.
    pub fn load(&self) -> Result<Progress, UiError> {
        let loaded = self.store()?.read().map_err(|e| error::from_progress(&e))?;
        self.note(loaded.recovery.as_ref());
        Ok(loaded.progress)
    }

    /// Loads, changes and saves the progress as one step, locked against every other writer
    /// (this window's other commands, the session's solve, `kq`); answers the saved progress.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut Progress) -> T,
    ) -> Result<(Progress, T), UiError> {
        self.update_raw(change)
            .map_err(|e| error::from_progress(&e))
    }

    fn update_raw<T>(
        &self,
        change: impl FnOnce(&mut Progress) -> T,
    ) -> Result<(Progress, T), ProgressError> {
        let store = self.store.as_ref().map_err(|_| ProgressError::NoDataDir)?;
        let (loaded, out) = store.update_with(Timestamp::now(), change)?;
        self.note(loaded.recovery.as_ref());
        Ok((loaded.progress, out))
    }

    /// The recovery not yet shown to the learner.
    fn take_notice(&self) -> Option<ProgressRecovery> {
        lock(&self.notice).take()
    }
}

/// Records a solve in the progress file. The time is the wall clock's, not the (possibly
/// sped-up) cluster's: the time to fix is what the learner lived through. A failure keeps the
/// store's error (with the file's path) for the learner to see.
pub struct AppRecorder {
    pub app: tauri::AppHandle,
}

impl SolveRecorder for AppRecorder {
    fn record_solved(
        &mut self,
        mission_id: &str,
        _cluster_now: Timestamp,
    ) -> Result<Progress, ProgressError> {
        let book = self.app.state::<ProgressBook>();
        book.update_raw(|p| {
            p.solve(mission_id, Timestamp::now());
        })
        .map(|(progress, ())| progress)
    }

    /// The solve and the learner's personal debrief in one write, so the map can show it again.
    fn record_solved_with_debrief(
        &mut self,
        mission_id: &str,
        _cluster_now: Timestamp,
        debrief: &mut kq_engine::debrief::PersonalDebrief,
    ) -> Result<Progress, ProgressError> {
        let book = self.app.state::<ProgressBook>();
        book.update_raw(|p| {
            p.solve(mission_id, Timestamp::now());
            debrief.hints_used = p.mission(mission_id).hints_used;
            p.debriefs.insert(mission_id.to_owned(), debrief.clone());
        })
        .map(|(progress, ())| progress)
    }
}

/// The learner's progress. A damaged or newer-version file found on the way is reported once
/// with it (it was kept aside; the message names where), saying whether the progress was
/// restored from the backup or starts empty.
#[tauri::command]
pub fn get_progress(book: tauri::State<'_, ProgressBook>) -> Result<ProgressLoad, UiError> {
    let progress = book.load()?;
    Ok(ProgressLoad {
        progress,
        recovery: book.take_notice(),
    })
}

/// Sets the learner's name (kept with the progress, shared with `kq`; the learner id stays);
/// answers the saved progress. A name that cannot be used changes nothing and says why.
#[tauri::command]
pub fn set_learner_name(
    name: String,
    book: tauri::State<'_, ProgressBook>,
) -> Result<Progress, UiError> {
    let (progress, named) = book.update(|p| p.set_learner_name(&name))?;
    named.map_err(|e| progress_error(error::capitalised(&e.to_string())))?;
    Ok(progress)
}

fn date_stamp() -> String {
    Timestamp::now().strftime("%Y-%m-%d").to_string()
}

/// Opens the save dialog and writes an export; the path written, or `None` when cancelled.
#[tauri::command]
pub async fn export_progress(
    app: tauri::AppHandle,
    book: tauri::State<'_, ProgressBook>,
) -> Result<Option<String>, UiError> {
    let progress = book.load()?;
    let file = book.store()?.path().display().to_string();
    if progress.missions.is_empty() {
        return Err(progress_error(format!(
            "Nothing to export yet: your progress file {file} has no mission recorded. Play a \
             mission first."
        )));
    }
    // The window asks for a name before exporting; this is the wall behind it.
    let export = progress
        .export_named(Timestamp::now())
        .map_err(|e| progress_error(error::capitalised(&e.to_string())))?;
    let json = export.to_json().map_err(|e| error::from_progress(&e))?;
    crate::dialogs::save_text(
        &app,
        Dialog {
            title: "Export KubeQuest progress".into(),
            filter: "KubeQuest progress",
            extensions: &["json"],
        },
        format!("kubequest-progress-{}.json", date_stamp()),
        json + "\n",
    )
    .await
}

/// Opens the open dialog and merges an export into the progress (a solved mission is never
/// lost); the merged progress, or `None` when cancelled. Nothing changes unless the whole file
/// was read.
#[tauri::command]
pub async fn import_progress(
    app: tauri::AppHandle,
    book: tauri::State<'_, ProgressBook>,
) -> Result<Option<Progress>, UiError> {
    let Some(path) = crate::dialogs::pick(
        &app,
        Dialog {
            title: "Import KubeQuest progress".into(),
            filter: "KubeQuest progress",
            extensions: &["json"],
        },
    )
    .await?
    else {
        return Ok(None);
    };
    let name = path.display().to_string();
    let text = crate::dialogs::read_picked(&path, MAX_EXPORT_BYTES)?;
    let export = ProgressExport::parse(&name, &text).map_err(|e| {
        progress_error(format!(
            "{e}. Export the progress again with KubeQuest's Export button or `kq progress export`"
        ))
    })?;
    let (progress, ()) = book.update(|p| p.import(&export))?;
    Ok(Some(progress))
}
