//! Storing progress on disk without ever losing it.
//!
//! [`JsonFileStore`] keeps `progress.json` plus `progress.json.bak`, the previous good version.
//! The app and `kq` may run at the same time on the same file (and a classroom script may run
//! several `kq progress import`s at once), so every change is one **locked** step:
//! [`ProgressStore::update`] takes an exclusive lock on `progress.json.lock` (an OS file lock,
//! `flock` on Unix and `LockFileEx` on Windows, through `std::fs::File::lock`, so it holds across
//! processes and between threads with their own store), loads, applies the change and saves
//! before letting go. A save:
//!
//! 1. writes the new JSON to a temp file with a unique name (`progress.json.tmp-XXXXXX`) in the
//!    same folder and fsyncs it, so two writers never share a temp file;
//! 2. copies the current `progress.json` to `progress.json.bak` (through its own unique temp
//!    file and a rename, so the backup is never half-written);
//! 3. renames the temp file over `progress.json` (atomic on the same filesystem) and fsyncs the
//!    folder.
//!
//! A crash at any point leaves `progress.json` either old or new, never torn; a temp file left
//! by a crashed writer is removed by the next save (under the lock, no live writer owns one).
//!
//! Reading and writing differ in what they may do to an unusable file (corrupt JSON, a wrong
//! shape, or `version` > 1 from a newer KubeQuest):
//!
//! - [`ProgressStore::read`] (listing missions, showing progress, exporting) **never changes a
//!   file**: it reports the problem in [`LoadedProgress::recovery`] and answers the backup (or
//!   empty progress) from memory, leaving the file where it is for the KubeQuest that wrote it;
//! - a writer ([`ProgressStore::load`], [`ProgressStore::update`]) **moves it aside** to
//!   `progress.json.corrupt-<time>` or `progress.json.v<N>-<time>` before writing, falls back to
//!   the backup if that is good, and reports what it did. Nothing is silently overwritten and
//!   nothing is deleted.

use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::{PROGRESS_VERSION, Progress, ProgressError};

/// Loads and saves progress.
pub trait ProgressStore {
    /// Reads the progress without changing any file (for commands that only show or export
    /// it). An unusable file is reported and left in place.
    fn read(&self) -> Result<LoadedProgress, ProgressError>;
    /// Loads the progress for a writer: an unusable file is moved aside (`now` names it).
    fn load(&self, now: Timestamp) -> Result<LoadedProgress, ProgressError>;
    /// Writes the progress durably, replacing what is stored.
    fn save(&self, progress: &Progress) -> Result<(), ProgressError>;
    /// Loads, changes and saves the progress as one step that no other writer (in this process
    /// or another) can interleave with; answers the saved progress. Use this, not `load` then
    /// `save`, for any change: a solve recorded by the app between the two would be lost.
    fn update(
        &self,
        now: Timestamp,
        change: &mut dyn FnMut(&mut Progress),
    ) -> Result<LoadedProgress, ProgressError>;
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
        let kept = match (&self.moved_to, &self.reason) {
            (Some(p), _) => format!(" It was kept as {}.", p.display()),
            (None, RecoveryReason::Missing) => String::new(),
            // A read leaves it for the KubeQuest that wrote it (or for the learner to repair);
            // only the next save moves it aside.
            (None, _) => " It was left in place; the next save keeps it aside.".to_owned(),
        };
        let from = match (self.restored_from_backup, &self.moved_to, &self.reason) {
            (true, _, _) => " Your progress was restored from the last backup.",
            (false, None, RecoveryReason::NewerVersion { .. }) => {
                " Update KubeQuest to see that progress; until then it starts empty."
            }
            (false, _, _) => " KubeQuest started with empty progress.",
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

/// A progress file's text that is not progress; the detail says why.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct DamagedProgress(String);

/// Parses a progress file's text the way a load does: `Ok(None)` when it is from a newer
/// KubeQuest, `Err` with the detail when it is damaged.
pub(crate) fn parse_progress(text: &str) -> Result<Option<Progress>, DamagedProgress> {
    match parse(text) {
        Parsed::Good(p) => Ok(Some(p)),
        Parsed::Newer(_) => Ok(None),
        Parsed::Corrupt(detail) => Err(DamagedProgress(detail)),
    }
}

fn sync_dir(dir: &Path) {
    // Persists the renames on Unix. Opening a directory is not supported everywhere (Windows);
    // there the rename itself is what we can do.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// What the main file held when a writer or a reader looked.
enum Found {
    Missing,
    Good(Progress),
    Corrupt(String),
    Newer(u32),
}

/// The exclusive lock on `progress.json.lock`, held while it lives (the OS releases it when the
/// file is closed, also when the process dies, so a crash never leaves the store locked).
struct WriteLock {
    _file: std::fs::File,
}

impl JsonFileStore {
    /// A store at `path` (e.g. `<data dir>/kubequest/progress.json`).
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

    /// `progress.json.tmp`: the temp file name of older KubeQuest versions. Saves now use unique
    /// names starting with it (`progress.json.tmp-XXXXXX`) and remove any left by a crash.
    pub fn temp_path(&self) -> PathBuf {
        sibling(&self.path, ".tmp")
    }

    /// `progress.json.lock`: the file every writer locks (never the data file itself, which a
    /// save replaces by a rename, so a lock on it would not be seen by the next writer).
    pub fn lock_path(&self) -> PathBuf {
        sibling(&self.path, ".lock")
    }

    fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        }
    }

    fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Creates the folder if needed and waits for the exclusive lock.
    fn lock(&self) -> Result<WriteLock, ProgressError> {
        let dir = self.dir();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = self.lock_path();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        file.lock().map_err(io(&path))?;
        Ok(WriteLock { _file: file })
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

    fn find(&self) -> Result<Found, ProgressError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(match parse(&text) {
                Parsed::Good(p) => Found::Good(p),
                Parsed::Corrupt(detail) => Found::Corrupt(detail),
                Parsed::Newer(v) => Found::Newer(v),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Found::Missing),
            // Not UTF-8: damaged.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                Ok(Found::Corrupt(e.to_string()))
            }
            Err(e) => Err(io(&self.path)(e)),
        }
    }

    /// The load of a writer that holds the lock.
    fn load_locked(&self, now: Timestamp) -> Result<LoadedProgress, ProgressError> {
        Ok(match self.find()? {
            Found::Good(progress) => LoadedProgress {
                progress,
                recovery: None,
            },
            Found::Missing if self.backup_path().exists() => {
                self.recover(RecoveryReason::Missing, None)
            }
            Found::Missing => LoadedProgress {
                progress: Progress::default(),
                recovery: None,
            },
            Found::Corrupt(detail) => {
                let moved = self.move_aside("corrupt", now)?;
                self.recover(RecoveryReason::Corrupt { detail }, Some(moved))
            }
            Found::Newer(version) => {
                let moved = self.move_aside(&format!("v{version}"), now)?;
                self.recover(RecoveryReason::NewerVersion { version }, Some(moved))
            }
        })
    }

    /// A new temp file beside the progress file, with a name no other writer uses.
    fn temp_file(&self, prefix: &str) -> Result<tempfile::NamedTempFile, ProgressError> {
        let dir = self.dir();
        tempfile::Builder::new()
            .prefix(&format!("{}{prefix}", self.file_name()))
            .tempfile_in(&dir)
            .map_err(io(&dir))
    }

    /// Writes `bytes` to a fresh temp file, fsyncs it and renames it to `target`.
    fn replace(&self, prefix: &str, bytes: &[u8], target: &Path) -> Result<(), ProgressError> {
        let mut tmp = self.temp_file(prefix)?;
        let tmp_path = tmp.path().to_owned();
        tmp.write_all(bytes).map_err(io(&tmp_path))?;
        tmp.as_file().sync_all().map_err(io(&tmp_path))?;
        tmp.persist(target).map_err(|e| io(&tmp_path)(e.error))?;
        Ok(())
    }

    /// Temp files of crashed writers (`progress.json.tmp…`, `progress.json.bak.tmp…`). Only
    /// called under the lock: no live writer owns one then.
    fn remove_stale_temps(&self) {
        let name = self.file_name();
        let stale = [format!("{name}.tmp"), format!("{name}.bak.tmp")];
        let Ok(entries) = std::fs::read_dir(self.dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let file = entry.file_name();
            let file = file.to_string_lossy();
            if stale.iter().any(|s| file.starts_with(s.as_str())) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// The save of a writer that holds the lock.
    fn save_locked(&self, progress: &Progress) -> Result<(), ProgressError> {
        let json = serde_json::to_string_pretty(progress).map_err(ProgressError::Serialize)?;
        self.remove_stale_temps();
        let mut tmp = self.temp_file(".tmp-")?;
        let tmp_path = tmp.path().to_owned();
        tmp.write_all(json.as_bytes()).map_err(io(&tmp_path))?;
        tmp.as_file().sync_all().map_err(io(&tmp_path))?;
        if let Ok(current) = std::fs::read(&self.path) {
            if matches!(
                std::str::from_utf8(&current).map(parse),
                Ok(Parsed::Good(_))
            ) {
                // Only a good file becomes the backup, so the backup is always usable.
                self.replace(".bak.tmp-", &current, &self.backup_path())?;
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
        tmp.persist(&self.path)
            .map_err(|e| io(&tmp_path)(e.error))?;
        sync_dir(&self.dir());
        Ok(())
    }

    /// [`ProgressStore::update`] with a change that answers something.
    pub fn update_with<T>(
        &self,
        now: Timestamp,
        change: impl FnOnce(&mut Progress) -> T,
    ) -> Result<(LoadedProgress, T), ProgressError> {
        let _lock = self.lock()?;
        let mut loaded = self.load_locked(now)?;
        let out = change(&mut loaded.progress);
        self.save_locked(&loaded.progress)?;
        Ok((loaded, out))
    }
}

impl ProgressStore for JsonFileStore {
    fn read(&self) -> Result<LoadedProgress, ProgressError> {
        Ok(match self.find()? {
            Found::Good(progress) => LoadedProgress {
                progress,
                recovery: None,
            },
            Found::Missing if self.backup_path().exists() => {
                self.recover(RecoveryReason::Missing, None)
            }
            Found::Missing => LoadedProgress {
                progress: Progress::default(),
                recovery: None,
            },
            Found::Corrupt(detail) => self.recover(RecoveryReason::Corrupt { detail }, None),
            Found::Newer(version) => self.recover(RecoveryReason::NewerVersion { version }, None),
        })
    }

    fn load(&self, now: Timestamp) -> Result<LoadedProgress, ProgressError> {
        let _lock = self.lock()?;
        self.load_locked(now)
    }

    fn save(&self, progress: &Progress) -> Result<(), ProgressError> {
        let _lock = self.lock()?;
        self.save_locked(progress)
    }

    fn update(
        &self,
        now: Timestamp,
        change: &mut dyn FnMut(&mut Progress),
    ) -> Result<LoadedProgress, ProgressError> {
        self.update_with(now, change).map(|(loaded, ())| loaded)
    }
}
