//! Errors as the window receives them: `{kind, message}`, where the UI branches on `kind` and
//! shows `message` as it is. Every message names the next step.

use kq_engine::connect::ConnectError;
use kq_engine::ipc::{ErrorKind, UiError};
use kq_engine::progress::ProgressError;
use kq_engine::session::SessionError;

pub fn lessons(message: impl Into<String>) -> UiError {
    UiError {
        kind: ErrorKind::Lessons,
        message: message.into(),
    }
}

pub fn cluster(message: impl Into<String>) -> UiError {
    UiError {
        kind: ErrorKind::Cluster,
        message: message.into(),
    }
}

pub fn internal(message: impl Into<String>) -> UiError {
    UiError {
        kind: ErrorKind::Internal,
        message: message.into(),
    }
}

/// Every connection failure is the cluster's: its message already says what to do.
pub fn from_connect(e: &ConnectError) -> UiError {
    cluster(capitalised(&e.to_string()))
}

/// A start or reset that failed: the cluster's fault, or the lesson's (a refused manifest).
pub fn from_session(e: &SessionError) -> UiError {
    match e {
        SessionError::Cluster(c) => from_connect(c),
        SessionError::Manifest { .. } => lessons(capitalised(&e.to_string())),
        SessionError::StillThere { .. }
        | SessionError::NamespaceNotOurs { .. }
        | SessionError::ClusterScopedRefused { .. }
        | SessionError::NoClassNamespace { .. }
        | SessionError::ClassNamespaceLabel { .. }
        | SessionError::ClassObjectMissing { .. } => cluster(capitalised(&e.to_string())),
        SessionError::ClusterObjectNotOurs { .. } => lessons(capitalised(&e.to_string())),
    }
}

/// The message names the file (in the store's error) and the next step; the kind lets the
/// window say that progress, not the cluster, is what failed.
pub fn from_progress(e: &ProgressError) -> UiError {
    UiError {
        kind: ErrorKind::Progress,
        message: format!(
            "Your progress could not be read or saved: {e}. Check that this folder exists, is \
             writable and has free space."
        ),
    }
}

/// Engine messages start in lower case (they also end up mid-sentence in the CLI).
pub(crate) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
