//! Shared helpers for KubeQuest's integration tests (`tests/tests/*.rs`).

use std::path::PathBuf;

pub mod cluster;

/// The workspace root, for tests that read lessons or run binaries.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
