//! Where the progress lives, and bringing the desktop app's older file into it.
//!
//! The app and `kq` once kept separate files (`<local data dir>/dev.kubequest.desktop/
//! progress.json` and `<data dir>/kubequest/progress.json`), so a learner who played in the app
//! and exported with `kq` exported nothing. Both now use [`default_progress_path`]. The first
//! time either finds the app's old file, [`migrate_legacy`] merges it into the shared one with
//! the import rule (a solve in either file survives) under the store's lock, then renames the
//! old file to `progress.json.migrated-<time>` beside it: kept, never deleted, and never merged
//! twice. An old file that cannot be read (damaged, or from a newer KubeQuest) is left where it
//! is and reported.

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::store::{JsonFileStore, parse_progress};
use super::{ProgressError, ProgressStore};

/// The folder name under the platform's data folder, shared by the app and `kq`.
pub const PROGRESS_DIR: &str = "kubequest";

/// The desktop app's bundle identifier, which named its data folder before the store was shared.
pub const LEGACY_APP_DIR: &str = "dev.kubequest.desktop";

/// `<data dir>/kubequest/progress.json`: `$XDG_DATA_HOME` (else `~/.local/share`) on Linux,
/// `~/Library/Application Support` on macOS, the roaming AppData folder on Windows. The app and
/// `kq` both call this, so they cannot disagree.
pub fn default_progress_path() -> Result<PathBuf, ProgressError> {
    dirs::data_dir()
        .map(|d| d.join(PROGRESS_DIR).join("progress.json"))
        .ok_or(ProgressError::NoDataDir)
}

/// Where the desktop app kept its own progress before: Tauri's app local data folder.
pub fn legacy_app_progress_path() -> Option<PathBuf> {
    dirs::data_local_dir().map(|d| d.join(LEGACY_APP_DIR).join("progress.json"))
}

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The old file that was merged.
    pub from: PathBuf,
    /// Where the old file is now (renamed aside, beside where it was).
    pub kept_as: PathBuf,
    /// How many missions it had a record of.
    pub missions: usize,
}

impl Migration {
    /// A sentence for the learner.
    pub fn message(&self, store: &Path) -> String {
        format!(
            "Progress of {} mission(s) from the app's earlier file {} was merged into {}; the old \
             file was kept as {}.",
            self.missions,
            self.from.display(),
            store.display(),
            self.kept_as.display()
        )
    }
}

/// Merges the old file at `legacy` into `store` and renames it aside. `Ok(None)`: there was
/// nothing to migrate. An unreadable old file is an error and stays where it is.
pub fn migrate_legacy(
    store: &JsonFileStore,
    legacy: &Path,
    now: Timestamp,
) -> Result<Option<Migration>, ProgressError> {
    if legacy == store.path() {
        return Ok(None);
    }
    let text = match std::fs::read_to_string(legacy) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ProgressError::Legacy {
                path: legacy.to_owned(),
                detail: format!("cannot read it ({e})"),
            });
        }
    };
    let old = match parse_progress(&text) {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Err(ProgressError::Legacy {
                path: legacy.to_owned(),
                detail: "written by a newer KubeQuest, so it cannot be merged; update KubeQuest"
                    .into(),
            });
        }
        Err(detail) => {
            return Err(ProgressError::Legacy {
                path: legacy.to_owned(),
                detail: format!("damaged ({detail}), so it was not merged"),
            });
        }
    };
    // Merge first, rename second: a crash in between merges again next time, which changes
    // nothing (merging is idempotent), while the other order could lose the old file's solves.
    store.update(now, &mut |p| p.merge_from(&old))?;
    let stamp = now.strftime("%Y%m%dT%H%M%SZ").to_string();
    let name = legacy
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "progress.json".into());
    let mut kept_as = legacy.with_file_name(format!("{name}.migrated-{stamp}"));
    let mut n = 1;
    while kept_as.exists() {
        kept_as = legacy.with_file_name(format!("{name}.migrated-{stamp}-{n}"));
        n += 1;
    }
    std::fs::rename(legacy, &kept_as).map_err(|source| ProgressError::Io {
        path: legacy.to_owned(),
        source,
    })?;
    Ok(Some(Migration {
        from: legacy.to_owned(),
        kept_as,
        missions: old.missions.len(),
    }))
}
