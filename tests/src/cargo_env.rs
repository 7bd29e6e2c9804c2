//! The variables cargo sets for the crate it runs (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`, …),
//! to leave out of the environment of a cargo started from inside a test or from `cargo xtask`
//! (itself under `cargo run`). Some build scripts (ring's) ask to be rerun when one of them
//! changes, so a cargo started with another crate's values rebuilds them and about 20 crates
//! above them, 20–40 s each time on CI, for binaries that are up to date.
//!
//! Also compiled into xtask (`#[path]`), which does not link the test helpers.

use std::process::Command;

/// Whether `name` is one of the variables cargo sets for the crate it runs.
pub fn set_by_cargo_for_a_crate(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || name.starts_with("CARGO_BIN_")
        || [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_CRATE_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
        ]
        .contains(&name)
}

/// Leaves every such variable of this process out of `command`'s environment.
pub fn without_crate_variables(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_for_a_crate) {
            command.env_remove(name);
        }
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_variables_of_the_crate_being_run_are_left_out() {
        for name in [
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_MANIFEST_DIR",
            "CARGO_BIN_EXE_kq",
        ] {
            assert!(set_by_cargo_for_a_crate(name), "{name}");
        }
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_JOBS",
            "PATH",
        ] {
            assert!(!set_by_cargo_for_a_crate(name), "{name}");
        }
    }
}
