//! `cargo xtask`: the one entry point for people and CI.
//!
//! - `run`      installs what is missing, builds the UI and the app, and opens the window.
//! - `test`     installs what is missing and runs every test tier, stopping at the first red one.
//! - `bundle`   builds the .deb and .rpm packages offline.
//! - `bench`    measures speed and footprint against the targets and prints one table.
//! - `bindings` regenerates the UI's TypeScript types from the Rust IPC payloads.
//!
//! Installs are idempotent: each step checks before it acts, so a second run does no work.

mod bench;
// Shared with the integration tests, which start cargo too; xtask does not link their helpers.
#[path = "../../tests/src/cargo_env.rs"]
mod cargo_env;
mod setup;
mod tiers;

use std::path::PathBuf;
use std::process::ExitCode;

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace root")
}

const USAGE: &str = "usage: cargo xtask <run | test [TIER…] | bundle | bench [--quick] | bindings>

  run        build the UI and the desktop app, then open it on the embedded cluster
  test       run every tier: fmt, boundaries, clippy, rust, bench, ui, browser, desktop
             (name tiers to run only those)
  bundle     build the .deb and .rpm packages into target/release/bundle/
  bench      measure speed and footprint (release build) against the targets; one table,
             also written to target/bench/latest.md (--quick: tiny sizes, debug build)
  bindings   regenerate ui/src/lib/bindings from the Rust IPC types";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let result = match cmd.as_str() {
        "run" => tiers::run_app(),
        "test" => tiers::test(rest),
        "bundle" => tiers::bundle(),
        "bench" => bench::bench(rest),
        "bindings" => kq_engine::bindings::write_all(&root())
            .map(|()| println!("wrote {}", kq_engine::bindings::BINDINGS_DIR))
            .map_err(|e| format!("cannot write bindings: {e}")),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
