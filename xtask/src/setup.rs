//! Idempotent installs for a fresh Debian machine: Debian packages, npm packages, tauri-driver.
//!
//! Every function checks first and acts only when something is missing, so running
//! `cargo xtask run` or `cargo xtask test` twice costs nothing the second time.

use std::path::Path;
use std::process::Command;

use crate::tiers::{Step, sh};

/// What the desktop app needs to compile (WebKitGTK and friends).
pub const BUILD_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "libwebkit2gtk-4.1-dev",
    "libssl-dev",
    "librsvg2-dev",
    "libxdo-dev",
];

/// What the browser and desktop test tiers need on top of the build packages.
pub const TEST_PACKAGES: &[&str] = &["xvfb", "xauth", "dbus-x11", "webkit2gtk-driver", "chromium"];

/// What `cargo xtask bundle` needs to produce the .rpm.
pub const BUNDLE_PACKAGES: &[&str] = &["rpm"];

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Installs the Debian packages that are missing.
pub fn debian(packages: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    if Command::new("apt-get").arg("--version").output().is_err() {
        return Err(format!(
            "these packages are missing and this is not a Debian-like system: {list}"
        ));
    }
    let sudo = if is_root() { "" } else { "sudo " };
    println!("==> installing Debian packages: {list}");
    let step = Step::new("apt-get").env("DEBIAN_FRONTEND", "noninteractive");
    let update = format!("{sudo}apt-get update -qq");
    let install = format!("{sudo}apt-get install -y -qq --no-install-recommends {list}");
    step.run(&sh(&update))
        .and_then(|()| step.run(&sh(&install)))
        .map_err(|e| format!("{e}\nInstall them by hand with: {sudo}apt-get install {list}"))
}

/// Runs `npm ci` in `dir` unless its node_modules already matches package-lock.json.
pub fn npm_ci(dir: &Path) -> Result<(), String> {
    let lock = dir.join("package-lock.json");
    let stamp = dir.join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&stamp)) {
        (Ok(l), Ok(s)) => match (l.modified(), s.modified()) {
            (Ok(l), Ok(s)) => s >= l,
            _ => false,
        },
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    println!("==> npm ci in {}", dir.display());
    Step::new("npm ci")
        .dir(dir)
        .run(&["npm", "ci", "--no-audit", "--no-fund"])
}

/// The tauri-driver binary, installing it (pinned to ^2) when it is missing.
pub fn tauri_driver() -> Result<String, String> {
    let cargo_bin = std::env::var("CARGO_HOME")
        .map(|h| format!("{h}/bin/tauri-driver"))
        .unwrap_or_else(|_| format!("{}/.cargo/bin/tauri-driver", env_home()));
    for candidate in ["tauri-driver", cargo_bin.as_str()] {
        if Command::new(candidate).arg("--help").output().is_ok() {
            return Ok(candidate.to_owned());
        }
    }
    println!("==> installing tauri-driver ^2");
    Step::new("cargo install tauri-driver").run(&[
        "cargo",
        "install",
        "tauri-driver",
        "--version",
        "^2",
        "--locked",
    ])?;
    Ok(cargo_bin)
}

fn env_home() -> String {
    std::env::var("HOME").unwrap_or_else(|_| "/root".into())
}

/// Makes sure at least one kubectl exists for the compatibility tests.
pub fn kubectl() -> Result<(), String> {
    let versioned = std::fs::read_dir("/usr/lib/google-cloud-sdk/bin")
        .map(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with("kubectl.1."))
        })
        .unwrap_or(false);
    let on_path = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok();
    if versioned || on_path {
        Ok(())
    } else {
        debian(&["kubernetes-client"])
    }
}
