//! The learner's progress: `progress.json` in the app's data folder, in exactly the format of
//! `kq`'s progress file and written by the same engine code ([`JsonFileStore`]: atomic writes,
//! a `.bak` of the last good version, and a damaged or newer-version file moved aside rather
//! than overwritten). A recovery is reported to the window once, through `get_progress`, next
//! to the progress it led to (restored from the backup, or empty).
//!
//! Export and import go through the native file dialogs, opened from Rust: the web view holds
//! no dialog or file-system permission.

use std::path::PathBuf;
use std::sync::Mutex;

use jiff::Timestamp;
use kq_engine::ipc::{ProgressLoad, ProgressRecovery, UiError};
use kq_engine::progress::{
    JsonFileStore, Learner, Progress, ProgressError, ProgressExport, ProgressStore,
};
use kq_engine::session::SolveRecorder;
use tauri::Manager;
use tauri_plugin_dialog::DialogExt;

use crate::error;

/// The progress file and the lock that keeps load-change-save steps from interleaving.
pub struct ProgressBook {
    store: Result<JsonFileStore, String>,
    lock: Mutex<()>,
    /// What a load had to recover from, until the window has been told.
    notice: Mutex<Option<ProgressRecovery>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ProgressBook {
    pub fn new(path: Result<PathBuf, String>) -> Self {
        ProgressBook {
            store: path.map(JsonFileStore::new),
            lock: Mutex::new(()),
            notice: Mutex::new(None),
        }
    }

    fn store(&self) -> Result<&JsonFileStore, UiError> {
        self.store.as_ref().map_err(|m| error::internal(m.clone()))
    }

    fn load_locked(&self, store: &JsonFileStore) -> Result<Progress, UiError> {
        let loaded = store
            .load(Timestamp::now())
            .map_err(|e| error::from_progress(&e))?;
        if let Some(r) = loaded.recovery {
            let notice = ProgressRecovery::from(&r);
            log::warn!("{}", notice.message);
            *lock(&self.notice) = Some(notice);
        }
        Ok(loaded.progress)
    }

    pub fn load(&self) -> Result<Progress, UiError> {
        let store = self.store()?;
        let _guard = lock(&self.lock);
        self.load_locked(store)
    }

    /// Loads, changes and saves the progress as one step; answers the saved progress.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut Progress) -> T,
    ) -> Result<(Progress, T), UiError> {
        let store = self.store()?;
        let _guard = lock(&self.lock);
        let mut progress = self.load_locked(store)?;
        let out = change(&mut progress);
        store
            .save(&progress)
            .map_err(|e| error::from_progress(&e))?;
        Ok((progress, out))
    }

    /// The recovery not yet shown to the learner.
    fn take_notice(&self) -> Option<ProgressRecovery> {
        lock(&self.notice).take()
    }
}

/// Records a solve in the app's progress file. The time is the wall clock's, not the
/// (possibly sped-up) cluster's: the time to fix is what the learner lived through.
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
        match book.update(|p| p.solve(mission_id, Timestamp::now())) {
            Ok((progress, _)) => Ok(progress),
            Err(e) => Err(ProgressError::Io {
                path: PathBuf::from("progress.json"),
                source: std::io::Error::other(e.message),
            }),
        }
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

/// Who an export is from: the stored learner, else the login name.
fn learner(progress: &Progress) -> Learner {
    if let Some(l) = &progress.learner {
        return l.clone();
    }
    let name = ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
        .unwrap_or_else(|| "KubeQuest learner".into());
    let id: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    Learner { id, name }
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
    let export = progress.export(learner(&progress), Timestamp::now());
    let json = export.to_json().map_err(|e| error::from_progress(&e))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Export KubeQuest progress")
        .set_file_name(format!("kubequest-progress-{}.json", date_stamp()))
        .add_filter("KubeQuest progress", &["json"])
        .save_file(move |path| {
            let _ = tx.send(path);
        });
    let Some(path) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    let path = path
        .into_path()
        .map_err(|e| error::internal(format!("The chosen file cannot be used: {e}")))?;
    std::fs::write(&path, json + "\n").map_err(|e| {
        error::internal(format!(
            "Cannot write {}: {e}. Choose a folder you can write to.",
            path.display()
        ))
    })?;
    Ok(Some(path.display().to_string()))
}

/// Opens the open dialog and merges an export into the progress (a solved mission is never
/// lost); the merged progress, or `None` when cancelled. Nothing changes unless the whole file
/// was read.
#[tauri::command]
pub async fn import_progress(
    app: tauri::AppHandle,
    book: tauri::State<'_, ProgressBook>,
) -> Result<Option<Progress>, UiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Import KubeQuest progress")
        .add_filter("KubeQuest progress", &["json"])
        .pick_file(move |path| {
            let _ = tx.send(path);
        });
    let Some(path) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    let path = path
        .into_path()
        .map_err(|e| error::internal(format!("The chosen file cannot be used: {e}")))?;
    let name = path.display().to_string();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| error::internal(format!("Cannot read {name}: {e}")))?;
    let export = ProgressExport::parse(&name, &text).map_err(|e| {
        error::internal(format!(
            "{e}. Export the progress again with KubeQuest's Export button or `kq progress export`"
        ))
    })?;
    let (progress, ()) = book.update(|p| p.import(&export))?;
    Ok(Some(progress))
}
