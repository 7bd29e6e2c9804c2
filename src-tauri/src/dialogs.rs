//! The native file dialogs the window asks for, opened from Rust (the window has no file
//! system access of its own), and the two things done with their answer: reading the picked
//! file safely and writing an export.

use std::path::PathBuf;

use kq_engine::ipc::UiError;
use tauri_plugin_dialog::DialogExt;

use crate::error;

/// What a file dialog offers: its title and one filter.
pub struct Dialog<'a> {
    pub title: String,
    pub filter: &'a str,
    pub extensions: &'a [&'a str],
}

fn chosen(path: tauri_plugin_dialog::FilePath) -> Result<PathBuf, UiError> {
    path.into_path()
        .map_err(|e| error::internal(format!("The chosen file cannot be used: {e}")))
}

/// Asks for a file to open; `None` when the dialog was cancelled.
pub async fn pick(app: &tauri::AppHandle, d: Dialog<'_>) -> Result<Option<PathBuf>, UiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title(d.title)
        .add_filter(d.filter, d.extensions)
        .pick_file(move |path| {
            let _ = tx.send(path);
        });
    rx.await.ok().flatten().map(chosen).transpose()
}

/// Reads a picked file as lesson files are read (no FIFO waits, bounded, UTF-8).
pub fn read_picked(path: &std::path::Path, max_bytes: u64) -> Result<String, UiError> {
    kq_engine::mission::files::read_picked_file(path, "the file", max_bytes).map_err(|e| {
        error::internal(format!(
            "{}. Choose the file itself.",
            error::capitalised(&e)
        ))
    })
}

/// Asks where to save `text` (suggesting `file_name`) and writes it there; the path written,
/// or `None` when the dialog was cancelled.
pub async fn save_text(
    app: &tauri::AppHandle,
    d: Dialog<'_>,
    file_name: String,
    text: String,
) -> Result<Option<String>, UiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title(d.title)
        .set_file_name(file_name)
        .add_filter(d.filter, d.extensions)
        .save_file(move |path| {
            let _ = tx.send(path);
        });
    let Some(path) = rx.await.ok().flatten().map(chosen).transpose()? else {
        return Ok(None);
    };
    std::fs::write(&path, text).map_err(|e| {
        error::internal(format!(
            "Cannot write {}: {e}. Choose a folder you can write to.",
            path.display()
        ))
    })?;
    Ok(Some(path.display().to_string()))
}
