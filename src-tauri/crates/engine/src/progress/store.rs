//! Storing progress on disk without ever losing it.
//!
//! [`JsonFileStore`] keeps `progress.json` plus `progress.json.bak`, the previous good version.
//! A save:
//!
//! 1. writes the new JSON to `progress.json.tmp` in the same folder and fsyncs it;
//! 2. copies the current `progress.json` to `progress.json.bak` (through its own temp file and a
//!    rename, so the backup is never half-written);
//! 3. renames the temp file over `progress.json` (atomic on the same filesystem) and fsyncs the
//!    folder.
//!
//! A crash at any point leaves `progress.json` either old or new, never torn; a leftover
//! `progress.json.tmp` is ignored and overwritten by the next save.
//!
//! A load that finds `progress.json` unreadable (corrupt JSON, a wrong shape) or written by a
//! newer KubeQuest (`version` > 1) **moves it aside** to `progress.json.corrupt-<time>` or
//! `progress.json.v<N>-<time>`, falls back to the backup if that is good, and reports what it
//! did in [`LoadedProgress::recovery`]. Nothing is silently overwritten and nothing is deleted.

use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::{PROGRESS_VERSION, Progress, ProgressError};

/// Loads and saves progress.
pub trait ProgressStore {
    /// Reads the progress; `now` names any file moved aside.
    fn load(&self, now: Timestamp) -> Result<LoadedProgress, ProgressError>;
    /// Writes the progress durably.
    fn save(&self, progress: &Progress) -> Result<(), ProgressError>;
}

/// Why the main file was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryReason {
    /// It is not valid progress JSON.
    Corrupt { detail: String },
    /// A newer KubeQuest wrote it.
    NewerVersion { version: u32 },
    /// It was missing but a backup existed.
    Missing,
}

/// What a load had to do to recover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub reason: RecoveryReason,
    /// Where the unusable file now is (`None` when it was missing).
    pub moved_to: Option<PathBuf>,
    /// Whether the progress came from `progress.json.bak`.
    pub restored_from_backup: bool,
}

impl Recovery {
    /// A sentence for the UI.
    pub fn message(&self) -> String {
        let what = match &self.reason {
            RecoveryReason::Corrupt { detail } => {
                format!("The progress file was damaged ({detail})")
            }
            RecoveryReason::NewerVersion { version } => {
                format!("The progress file was written by a newer KubeQuest (version {version})")
            }
            RecoveryReason::Missing => "The progress file was missing".to_owned(),
        };
        let kept = self
            .moved_to
            .as_ref()
            .map(|p| format!(" It was kept as {}.", p.display()))
            .unwrap_or_default();
        let from = if self.restored_from_backup {
            " Your progress was restored from the last backup."
        } else {
            " KubeQuest started with empty progress."
        };
        format!("{what}.{kept}{from}")
    }
}

/// The result of a load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedProgress {
    pub progress: Progress,
    /// Set when the main file could not be used.
    pub recovery: Option<Recovery>,
}

/// Progress in a JSON file, written atomically with a backup.
#[derive(Debug, Clone)]
pub struct JsonFileStore {
    path: PathBuf,
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ProgressError + '_ {
    move |source| ProgressError::Io {
        path: path.to_owned(),
        source,
    }
}

enum Parsed {
    Good(Progress),
    Corrupt(String),
    Newer(u32),
}

fn parse(text: &str) -> Parsed {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Parsed::Corrupt(e.to_string()),
    };
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v > u64::from(PROGRESS_VERSION) => {
            return Parsed::Newer(u32::try_from(v).unwrap_or(u32::MAX));
        }
        Some(v) if v == u64::from(PROGRESS_VERSION) => {}
        _ => return Parsed::Corrupt("no supported `version`".into()),
    }
    match serde_json::from_value(value) {
        Ok(p) => Parsed::Good(p),
        Err(e) => Parsed::Corrupt(e.to_string()),
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), ProgressError> {
    let mut f = std::fs::File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

fn sync_dir(dir: &Path) {
    // Persists the renames on Unix. Opening a directory is not supported everywhere (Windows);
    // there the rename itself is what we can do.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

impl JsonFileStore {
    /// A store at `path` (e.g. `<app data>/progress.json`).
    pub fn new(path: impl Into<PathBuf>) -> JsonFileStore {
        JsonFileStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `progress.json.bak`.
    pub fn backup_path(&self) -> PathBuf {
        sibling(&self.path, ".bak")
    }

    /// `progress.json.tmp`.
    pub fn temp_path(&self) -> PathBuf {
        sibling(&self.path, ".tmp")
    }

    fn move_aside(&self, label: &str, now: Timestamp) -> Result<PathBuf, ProgressError> {
        let stamp = now.strftime("%Y%m%dT%H%M%SZ").to_string();
        let mut target = sibling(&self.path, &format!(".{label}-{stamp}"));
        let mut n = 1;
        while target.exists() {
            target = sibling(&self.path, &format!(".{label}-{stamp}-{n}"));
            n += 1;
        }
        std::fs::rename(&self.path, &target).map_err(io(&self.path))?;
        Ok(target)
    }

    fn read_backup(&self) -> Option<Progress> {
        let text = std::fs::read_to_string(self.backup_path()).ok()?;
        match parse(&text) {
            Parsed::Good(p) => Some(p),
            _ => None,
        }
    }

    fn recover(&self, reason: RecoveryReason, moved_to: Option<PathBuf>) -> LoadedProgress {
        let backup = self.read_backup();
        LoadedProgress {
            recovery: Some(Recovery {
                reason,
                moved_to,
                restored_from_backup: backup.is_some(),
            }),
            progress: backup.unwrap_or_default(),
        }
    }
}

impl ProgressStore for JsonFileStore {
    fn load(&self, now: Timestamp) -> Result<LoadedProgress, ProgressError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(if self.backup_path().exists() {
                    self.recover(RecoveryReason::Missing, None)
                } else {
                    LoadedProgress {
                        progress: Progress::default(),
                        recovery: None,
                    }
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                // Not UTF-8: damaged.
                let moved = self.move_aside("corrupt", now)?;
                return Ok(self.recover(
                    RecoveryReason::Corrupt {
                        detail: e.to_string(),
                    },
                    Some(moved),
                ));
            }
            Err(e) => return Err(io(&self.path)(e)),
        };
        match parse(&text) {
            Parsed::Good(progress) => Ok(LoadedProgress {
                progress,
                recovery: None,
            }),
            Parsed::Corrupt(detail) => {
                let moved = self.move_aside("corrupt", now)?;
                Ok(self.recover(RecoveryReason::Corrupt { detail }, Some(moved)))
            }
            Parsed::Newer(version) => {
                let moved = self.move_aside(&format!("v{version}"), now)?;
                Ok(self.recover(RecoveryReason::NewerVersion { version }, Some(moved)))
            }
        }
    }

    fn save(&self, progress: &Progress) -> Result<(), ProgressError> {
        let json = serde_json::to_string_pretty(progress).map_err(ProgressError::Serialize)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let tmp = self.temp_path();
        write_synced(&tmp, json.as_bytes())?;
        if let Ok(current) = std::fs::read(&self.path) {
            if matches!(
                std::str::from_utf8(&current).map(parse),
                Ok(Parsed::Good(_))
            ) {
                // Only a good file becomes the backup, so the backup is always usable.
                let bak_tmp = sibling(&self.path, ".bak.tmp");
                write_synced(&bak_tmp, &current)?;
                std::fs::rename(&bak_tmp, self.backup_path()).map_err(io(&bak_tmp))?;
            } else {
                // Damaged since it was loaded (edited by hand?): keep it rather than replace it.
                let mut n = 1;
                let mut target = sibling(&self.path, ".corrupt-before-save");
                while target.exists() {
                    target = sibling(&self.path, &format!(".corrupt-before-save-{n}"));
                    n += 1;
                }
                std::fs::rename(&self.path, &target).map_err(io(&self.path))?;
            }
        }
        std::fs::rename(&tmp, &self.path).map_err(io(&tmp))?;
        if let Some(dir) = self.path.parent() {
            sync_dir(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            });
        }
        Ok(())
    }
}
