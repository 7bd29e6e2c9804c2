//! Shared helpers for KubeQuest's integration tests (`tests/tests/*.rs`).

use std::path::PathBuf;
use std::process::{Command, Stdio};

pub mod cargo_env;
pub mod check;
pub mod classroom;
pub mod cluster;
pub mod lesson;
pub mod session;

/// The workspace root, for tests that read lessons or run binaries.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Build (or find up to date) the `kq` binary and return its path.
pub fn kq_binary() -> PathBuf {
    // Built once per test process: parallel tests would otherwise queue on cargo's lock.
    static KQ: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    KQ.get_or_init(build_kq).clone()
}

/// Builds with `--workspace`, so dependencies get the same unified features as the
/// `cargo build --workspace --bins` that `cargo xtask test` runs first and the binary is already
/// up to date. `-p kq-cli` alone unifies the features of shared dependencies without the
/// desktop crate's, so it rebuilt them: 1m50s on CI's two cores.
fn build_kq() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = cargo_env::without_crate_variables(&mut Command::new(cargo))
        .current_dir(workspace_root())
        .args([
            "build",
            "--workspace",
            "--bin",
            "kq",
            "--message-format=json",
        ])
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "building kq failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|m| {
            m.get("executable")
                .and_then(|e| e.as_str())
                .map(PathBuf::from)
        })
        .find(|p| p.file_stem().is_some_and(|s| s == "kq"))
        .expect("cargo reports the kq executable")
}

/// Copy a folder recursively (tests build lesson folders from the bundled ones).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("target folder");
    for entry in std::fs::read_dir(from).expect("source folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
