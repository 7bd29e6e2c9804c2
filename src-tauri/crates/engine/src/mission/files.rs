//! Reading a teacher's lesson files, which are input like anything else.
//!
//! A lesson folder can hold things that are not plain files: a FIFO named `debrief.md` would
//! block a plain `read_to_string` forever (and freeze whichever thread asked, the desktop's
//! main thread included), a symlink to `/dev/zero` would be read until memory runs out, and a
//! symlink to `~/.ssh/id_rsa` would be loaded silently and shown as a manifest. So every file
//! of a lesson is read through [`LessonRoot`], which:
//!
//! 1. resolves the path (`canonicalize`) and refuses anything that ends up outside the folder
//!    the lesson lives in;
//! 2. opens it without blocking (`O_NONBLOCK`, so opening a FIFO with no writer returns at
//!    once) and without following a symlink swapped in after step 1 (`O_NOFOLLOW`);
//! 3. checks the *opened handle* is a regular file (`fstat`), which closes the race between
//!    looking at the path and opening it;
//! 4. reads at most [`MAX_LESSON_FILE_BYTES`] + 1 bytes, so a file that grows while it is read,
//!    or lies about its size, is still refused rather than read to the end.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::LessonError;

/// The largest lesson file KubeQuest reads: 3 MiB, the request-body limit of the real API
/// server (`MaxRequestBodyBytes` in k8s.io/apiserver's `server/config.go`, "3 * 1024 * 1024").
/// A manifest file bigger than one request kubectl could send is no lesson; Markdown of that
/// size is several hundred pages, far beyond any briefing or debrief.
pub const MAX_LESSON_FILE_BYTES: u64 = 3 * 1024 * 1024;

/// A folder whose files may be read: a lesson folder, or a lessons root for the shared
/// `registry.yaml`. Holds the folder's resolved path, so a symlink is judged by where it
/// really points.
#[derive(Debug, Clone)]
pub struct LessonRoot {
    /// Always the canonical (symlink-free, absolute) path of the folder.
    canonical: PathBuf,
}

/// Why a path was refused, in the teacher's words.
fn refused(file: &Path, reason: impl Into<String>) -> LessonError {
    LessonError::Refused {
        file: file.to_owned(),
        reason: reason.into(),
    }
}

impl LessonRoot {
    /// The folder at `dir`, resolved.
    pub fn new(dir: &Path) -> Result<LessonRoot, LessonError> {
        let canonical = dir.canonicalize().map_err(|source| LessonError::Io {
            file: dir.to_owned(),
            source,
        })?;
        Ok(LessonRoot { canonical })
    }

    /// The folder's resolved path.
    pub fn path(&self) -> &Path {
        &self.canonical
    }

    /// Whether `path` resolves to this folder or somewhere inside it.
    pub fn contains(&self, path: &Path) -> bool {
        path.canonicalize()
            .is_ok_and(|p| p.starts_with(&self.canonical))
    }

    /// Reads `file` as UTF-8 text under the rules in the module docs.
    pub fn read(&self, file: &Path) -> Result<String, LessonError> {
        let io = |source: std::io::Error| LessonError::Io {
            file: file.to_owned(),
            source,
        };
        let resolved = file.canonicalize().map_err(|e| {
            // A symlink whose target is missing says "not found" about the wrong file.
            if e.kind() == std::io::ErrorKind::NotFound
                && std::fs::symlink_metadata(file).is_ok_and(|m| m.file_type().is_symlink())
            {
                refused(file, "it is a symlink to a file that does not exist")
            } else {
                io(e)
            }
        })?;
        if !resolved.starts_with(&self.canonical) {
            return Err(refused(
                file,
                format!(
                    "it resolves to {}, outside {}; a lesson may only use files inside its own \
                     folder (copy the file in instead of linking to it)",
                    resolved.display(),
                    self.canonical.display()
                ),
            ));
        }
        let handle = open_without_blocking(&resolved).map_err(io)?;
        let meta = handle.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(refused(file, not_regular(&meta)));
        }
        let mut bytes = Vec::new();
        handle
            .take(MAX_LESSON_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_LESSON_FILE_BYTES {
            return Err(refused(
                file,
                format!(
                    "it is larger than {} MiB, the most KubeQuest reads from a lesson file",
                    MAX_LESSON_FILE_BYTES / (1024 * 1024)
                ),
            ));
        }
        String::from_utf8(bytes).map_err(|e| {
            refused(
                file,
                format!(
                    "it is not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        })
    }

    /// Like [`LessonRoot::read`], but a file that does not exist (and is not a dangling
    /// symlink) is `None`: for optional files such as `registry.yaml`.
    pub fn read_optional(&self, file: &Path) -> Result<Option<String>, LessonError> {
        if std::fs::symlink_metadata(file).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            return Ok(None);
        }
        self.read(file).map(Some)
    }
}

/// Reads a file the user picked (a class roster, a kubeconfig) under the same rules as a
/// lesson file, without the folder check: opened without blocking, the opened handle checked
/// to be a regular file, at most `max_bytes` read, UTF-8 only. The error starts `cannot read
/// <what> <path>: ` and says what is wrong with the file.
pub fn read_picked_file(path: &Path, what: &str, max_bytes: u64) -> Result<String, String> {
    let name = format!("{what} {}", path.display());
    let handle = open_without_blocking(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let meta = handle
        .metadata()
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("cannot read {name}: {}", not_regular(&meta)));
    }
    let mut bytes = Vec::new();
    handle
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    if bytes.len() as u64 > max_bytes {
        return Err(format!(
            "cannot read {name}: it is larger than {} KiB, more than such a file ever holds",
            max_bytes / 1024
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "cannot read {name}: it is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// What a non-regular file is, for the refusal message.
fn not_regular(meta: &std::fs::Metadata) -> String {
    let ft = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "it is a FIFO (named pipe), not a regular file; reading it could wait \
                    forever"
                .into();
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "it is a device, not a regular file".into();
        }
        if ft.is_socket() {
            return "it is a socket, not a regular file".into();
        }
    }
    if ft.is_dir() {
        return "it is a folder, not a file".into();
    }
    "it is not a regular file".into()
}

/// Opens for reading without waiting for a FIFO's writer and without following a symlink that
/// replaced the resolved path after it was checked.
#[cfg(unix)]
fn open_without_blocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
}

/// Elsewhere there are no FIFOs to block on; the handle's type is still checked afterwards.
#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}
