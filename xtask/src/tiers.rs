//! The commands behind `cargo xtask run | test | bundle`, and the small process runner they share.
//!
//! `test` runs the tiers in a fixed order and stops at the first red one, printing one summary
//! line per tier and a final `N passed, N failed` line. Counts come from each runner's own
//! closing lines (cargo test, Vitest, node's test runner); fmt, clippy and the type check count
//! as one check each.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{bench, cargo_env, root, setup};

/// One external command with its working directory and extra environment.
pub struct Step {
    label: String,
    dir: PathBuf,
    env: BTreeMap<String, String>,
}

/// `sh -c CMD`, for the few steps that need a shell.
pub fn sh(cmd: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), cmd.into()]
}

impl Step {
    pub fn new(label: &str) -> Step {
        Step {
            label: label.into(),
            dir: root(),
            env: BTreeMap::new(),
        }
    }

    pub fn dir(mut self, dir: &Path) -> Step {
        self.dir = dir.to_owned();
        self
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Step {
        self.env.insert(key.into(), value.into());
        self
    }

    fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Command, String> {
        let (program, rest) = args
            .split_first()
            .ok_or_else(|| format!("{}: empty command", self.label))?;
        let mut cmd = Command::new(program);
        // `cargo xtask` runs under `cargo run`, which sets xtask's own CARGO_PKG_NAME and the
        // like; left in, every cargo it starts would see ring's build script as out of date
        // next to the cargo the tests start (see cargo_env).
        cargo_env::without_crate_variables(&mut cmd)
            .args(rest)
            .current_dir(&self.dir)
            .envs(&self.env)
            .stdin(Stdio::null());
        Ok(cmd)
    }

    /// Runs to completion with output going straight to the terminal.
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<(), String> {
        let status = self
            .command(args)?
            .status()
            .map_err(|e| format!("{}: cannot start: {e}", self.label))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{} failed ({status})", self.label))
        }
    }

    /// Runs to completion, echoing output live and also returning it for parsing.
    pub fn run_captured<S: AsRef<OsStr>>(&self, args: &[S]) -> (bool, String) {
        let mut cmd = match self.command(args) {
            Ok(c) => c,
            Err(e) => return (false, e),
        };
        let mut child = match cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
            Ok(c) => c,
            Err(e) => return (false, format!("{}: cannot start: {e}", self.label)),
        };
        let echo = |stream: Box<dyn std::io::Read + Send>, to_err: bool| {
            std::thread::spawn(move || {
                let mut seen = String::new();
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if to_err {
                        eprintln!("{line}")
                    } else {
                        println!("{line}")
                    }
                    seen.push_str(&line);
                    seen.push('\n');
                }
                seen
            })
        };
        let out = child.stdout.take().map(|s| echo(Box::new(s), false));
        let err = child.stderr.take().map(|s| echo(Box::new(s), true));
        let ok = child.wait().map(|s| s.success()).unwrap_or(false);
        let mut text = String::new();
        for h in [out, err].into_iter().flatten() {
            text.push_str(&h.join().unwrap_or_default());
        }
        (ok, strip_ansi(&text))
    }
}

/// Removes terminal colour sequences (`ESC [ … letter`), which some runners print even into a
/// pipe, so the closing lines can be read.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The outcome of one tier.
struct Outcome {
    passed: u64,
    failed: u64,
    ok: bool,
}

impl Outcome {
    fn check(ok: bool) -> Outcome {
        Outcome {
            passed: u64::from(ok),
            failed: u64::from(!ok),
            ok,
        }
    }
}

/// The number written just before `word` on `line` ("5 passed" → 5).
fn count_before(line: &str, word: &str) -> Option<u64> {
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == ';' || c == ',')
        .collect();
    words
        .windows(2)
        .find(|w| w[1].starts_with(word))
        .and_then(|w| w[0].parse().ok())
}

/// The number written just after `word` on `line` ("ℹ pass 5" → 5).
fn count_after(line: &str, word: &str) -> Option<u64> {
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[0] == word)
        .and_then(|w| w[1].parse().ok())
}

/// Sums `test result: … N passed; M failed` over every cargo test binary.
fn parse_cargo_test(out: &str) -> (u64, u64) {
    out.lines()
        .filter(|l| l.starts_with("test result:"))
        .fold((0, 0), |(p, f), l| {
            (
                p + count_before(l, "passed").unwrap_or(0),
                f + count_before(l, "failed").unwrap_or(0),
            )
        })
}

/// Vitest's closing `Tests  1 failed | 4 passed (5)` line.
fn parse_vitest(out: &str) -> (u64, u64) {
    out.lines()
        .rev()
        .map(str::trim)
        .filter(|l| l.starts_with("Tests "))
        .map(|l| {
            (
                count_before(l, "passed").unwrap_or(0),
                count_before(l, "failed").unwrap_or(0),
            )
        })
        .next()
        .unwrap_or((0, 0))
}

/// node:test's spec reporter closing `ℹ pass N` / `ℹ fail N` lines.
fn parse_node_test(out: &str) -> (u64, u64) {
    let find = |word| {
        out.lines()
            .rev()
            .find_map(|l| count_after(l.trim_start_matches('ℹ').trim(), word))
    };
    (find("pass").unwrap_or(0), find("fail").unwrap_or(0))
}

fn from_counts(ok: bool, (passed, failed): (u64, u64), tier: &str) -> Outcome {
    // A runner that exits 0 having run nothing is a broken tier, not a green one.
    let ran_nothing = ok && passed == 0;
    if ran_nothing {
        eprintln!("xtask: tier {tier} reported no executed tests");
    }
    Outcome {
        passed,
        failed: failed + u64::from(ran_nothing),
        ok: ok && !ran_nothing,
    }
}

/// Builds the UI into ui/dist; the desktop crate embeds it at compile time.
fn build_ui() -> Result<(), String> {
    let ui = root().join("ui");
    setup::npm_ci(&ui)?;
    println!("==> building the UI");
    Step::new("ui build")
        .dir(&ui)
        .run(&["npm", "run", "--silent", "build"])
}

/// Builds every binary of the workspace (the app, `kq`, xtask) in one cargo invocation, so the
/// test tiers reuse the same artifacts instead of rebuilding with other features.
fn build_binaries() -> Result<(), String> {
    println!("==> building the workspace binaries");
    Step::new("cargo build").run(&["cargo", "build", "--workspace", "--bins"])
}

fn app_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    target.join("debug/kubequest")
}

/// `cargo xtask run`
pub fn run_app() -> Result<(), String> {
    setup::debian(setup::BUILD_PACKAGES)?;
    build_ui()?;
    build_binaries()?;
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return Err(
            "no display: KubeQuest's window needs an X11 or Wayland session \
                    (neither DISPLAY nor WAYLAND_DISPLAY is set).\n\
                    On a headless machine, use the `kq` command line instead, e.g.\n    \
                    cargo run -p kq-cli -- missions\n\
                    or give the app a virtual display: xvfb-run cargo xtask run"
                .into(),
        );
    }
    println!("==> starting KubeQuest");
    Step::new("kubequest").run(&[app_binary()])
}

/// `cargo xtask bundle`
pub fn bundle() -> Result<(), String> {
    setup::debian(setup::BUILD_PACKAGES)?;
    setup::debian(setup::BUNDLE_PACKAGES)?;
    build_ui()?;
    let tauri = root().join("ui/node_modules/.bin/tauri");
    Step::new("tauri build").run(&[
        tauri.as_os_str(),
        OsStr::new("build"),
        OsStr::new("--bundles"),
        OsStr::new("deb,rpm"),
        OsStr::new("--ci"),
    ])?;
    println!(
        "bundles: {}",
        root().join("target/release/bundle").display()
    );
    Ok(())
}

const TIERS: &[&str] = &[
    "fmt",
    "boundaries",
    "clippy",
    "rust",
    "bench",
    "ui",
    "browser",
    "desktop",
];

/// The domain crates that must build without Tauri, so the CLI and tests never pull in a GUI.
const TAURI_FREE: &[&str] = &[
    "kq-kube",
    "kq-apiserver",
    "kq-controllers",
    "kq-runtime",
    "kq-shell",
    "kq-registry",
    "kq-sim",
    "kq-engine",
    "kq-cli",
];

/// The embedded cluster's crates. The engine talks to every cluster through the `kube` client,
/// so it must never link one of these (it shares Kubernetes knowledge through `kq-kube` only).
const CLUSTER_CRATES: &[&str] = &[
    "kq-apiserver",
    "kq-controllers",
    "kq-runtime",
    "kq-shell",
    "kq-registry",
    "kq-sim",
];

/// Crates that must not pull in an async runtime: shared knowledge and the leaves under the
/// container runtime are plain functions over data.
const TOKIO_FREE: &[&str] = &["kq-kube", "kq-shell", "kq-registry"];

/// The crate names (first word of each line) in `cargo tree -p KRATE`'s normal and build
/// dependencies, or None when cargo cannot be run.
fn dependency_tree(krate: &str) -> Option<Vec<String>> {
    let out = Command::new("cargo")
        .args([
            "tree",
            "-p",
            krate,
            "-e",
            "normal,build",
            "--prefix",
            "none",
        ])
        .current_dir(root())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "cargo tree -p {krate} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect(),
    )
}

/// Fails when a crate depends on what its boundary forbids: Tauri anywhere below the domain
/// crates, a cluster crate below the engine, tokio below the shared-knowledge and leaf crates.
fn check_boundaries() -> bool {
    let mut ok = true;
    let mut forbid = |krate: &str, what: &str, bad: &dyn Fn(&str) -> bool| {
        let Some(deps) = dependency_tree(krate) else {
            ok = false;
            return;
        };
        // The first line is the crate itself.
        let mut offenders: Vec<&str> = deps
            .iter()
            .skip(1)
            .map(String::as_str)
            .filter(|d| bad(d))
            .collect();
        offenders.sort_unstable();
        offenders.dedup();
        if offenders.is_empty() {
            println!("{krate}: no {what} in its dependency tree");
        } else {
            eprintln!("{krate} depends on {what}: {}", offenders.join(", "));
            ok = false;
        }
    };
    for krate in TAURI_FREE {
        forbid(krate, "tauri", &|d| d.starts_with("tauri"));
    }
    forbid("kq-engine", "cluster crate", &|d| {
        CLUSTER_CRATES.contains(&d)
    });
    for krate in TOKIO_FREE {
        forbid(krate, "tokio", &|d| d == "tokio");
    }
    ok
}

fn run_tier(name: &str) -> Outcome {
    let e2e = root().join("tests/e2e");
    let ui = root().join("ui");
    match name {
        "fmt" => Outcome::check(
            Step::new("cargo fmt")
                .run(&["cargo", "fmt", "--all", "--check"])
                .is_ok(),
        ),
        "boundaries" => Outcome::check(check_boundaries()),
        "clippy" => Outcome::check(
            Step::new("cargo clippy")
                .run(&[
                    "cargo",
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ])
                .is_ok(),
        ),
        "rust" => {
            if let Ok(only) = std::env::var("KQ_MISSION_CI_ONLY") {
                eprintln!(
                    "xtask: KQ_MISSION_CI_ONLY={only} is set, which would play only some \
                     lessons; the suite plays every lesson: unset it and run again"
                );
                return Outcome::check(false);
            }
            if build_binaries().is_err() {
                return Outcome::check(false);
            }
            // Four test threads on CI's two cores: many integration tests wait on real time
            // (a kubectl deadline, a back-off, a watch) and leave a core idle meanwhile. With
            // four, both cores stay busy: the integration binary used 953 s of CPU in 486 s of
            // wall time here.
            let (ok, out) = Step::new("cargo test").run_captured(&[
                "cargo",
                "test",
                "--workspace",
                "--no-fail-fast",
                "--",
                "--test-threads=4",
            ]);
            from_counts(ok, parse_cargo_test(&out), name)
        }
        "bench" => match bench::run(true) {
            // Each figure the quick benchmark printed counts as one passed check.
            Ok(rows) => from_counts(true, (rows.len() as u64, 0), name),
            Err(e) => {
                eprintln!("xtask: {e}");
                Outcome::check(false)
            }
        },
        "ui" => {
            let typecheck = Step::new("ui type check")
                .dir(&ui)
                .run(&["npm", "run", "check"]);
            if typecheck.is_err() {
                return Outcome::check(false);
            }
            let (ok, out) = Step::new("vitest")
                .dir(&ui)
                .run_captured(&["npx", "vitest", "run"]);
            // The type check counts as one more check, once Vitest is known to have run tests.
            let vitest = from_counts(ok, parse_vitest(&out), name);
            Outcome {
                passed: vitest.passed + 1,
                ..vitest
            }
        }
        "browser" => {
            let (ok, out) = Step::new("browser tests")
                .dir(&e2e)
                // One file at a time: three at a time took 127 s instead of 159 s here, but on a
                // clean CI machine three tests that time the page (ten seconds to "slow", ages
                // ticking again) failed for want of CPU.
                .run_captured(&sh("node --test --test-reporter=spec browser/*.test.mjs"));
            from_counts(ok, parse_node_test(&out), name)
        }
        "desktop" => {
            // The app embeds the built UI: make sure the binary is current even when this tier
            // runs alone (a no-op after the `rust` tier).
            if build_binaries().is_err() {
                return Outcome::check(false);
            }
            let step = match desktop_step("desktop tests", &app_binary()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{e}");
                    return Outcome::check(false);
                }
            };
            let (ok, out) = step.run_captured(&sh(&format!(
                "{UNDER_XVFB} node --test --test-reporter=spec --test-concurrency=1 desktop/*.test.mjs"
            )));
            let tests = from_counts(ok, parse_node_test(&out), name);
            if !tests.ok {
                return tests;
            }
            // The desktop benchmark at toy sizes, so `cargo xtask bench` cannot rot.
            let bench = match desktop_step("desktop benchmark (quick)", &app_binary()) {
                Ok(s) => {
                    s.run_captured(&sh(&format!("{UNDER_XVFB} node bench/desktop.mjs --quick")))
                }
                Err(e) => (false, e),
            };
            let figures = crate::bench::figures_in(&bench.1);
            let bench_ok = bench.0 && figures > 0;
            if !bench_ok {
                eprintln!("xtask: the desktop benchmark failed or printed no figures");
            }
            Outcome {
                ok: bench_ok,
                passed: tests.passed + figures as u64,
                failed: tests.failed + u64::from(!bench_ok),
            }
        }
        other => {
            eprintln!(
                "xtask: unknown tier `{other}` (tiers: {})",
                TIERS.join(", ")
            );
            Outcome::check(false)
        }
    }
}

/// A private D-Bus session (single-instance uses it) and a private X server for the real window.
pub const UNDER_XVFB: &str = "dbus-run-session -- xvfb-run -a -s '-screen 0 1440x960x24'";

/// A step in tests/e2e that drives the app `binary` through tauri-driver.
pub fn desktop_step(label: &str, binary: &Path) -> Result<Step, String> {
    let driver = setup::tauri_driver()?;
    Ok(Step::new(label)
        .dir(&root().join("tests/e2e"))
        .env("KQ_APP_BINARY", binary.display().to_string())
        .env("KQ_TAURI_DRIVER", driver)
        .env(
            "KQ_ARTIFACTS",
            root().join("target/e2e/desktop").display().to_string(),
        )
        .env(
            "KUBEQUEST_LESSONS",
            root().join("lessons").display().to_string(),
        ))
}

/// `cargo xtask test [TIER…]`
pub fn test(only: &[String]) -> Result<(), String> {
    let selected: Vec<&str> = if only.is_empty() {
        TIERS.to_vec()
    } else {
        only.iter().map(String::as_str).collect()
    };
    let started = Instant::now();
    setup::debian(setup::BUILD_PACKAGES)?;
    setup::debian(setup::TEST_PACKAGES)?;
    setup::kubectl()?;
    setup::npm_ci(&root().join("tests/e2e"))?;
    build_ui()?;

    let mut summary = Vec::new();
    let (mut passed, mut failed) = (0, 0);
    let mut red = None;
    for tier in selected {
        println!("\n==> tier {tier}");
        let t = Instant::now();
        let outcome = run_tier(tier);
        let line = format!(
            "tier {tier:<8} {:<4} {:>4} passed, {:>2} failed  {:>6.1}s",
            if outcome.ok { "ok" } else { "FAIL" },
            outcome.passed,
            outcome.failed,
            t.elapsed().as_secs_f64()
        );
        println!("{line}");
        summary.push(line);
        passed += outcome.passed;
        failed += outcome.failed;
        if !outcome.ok {
            red = Some(tier.to_owned());
            break;
        }
    }
    println!(
        "\n==> summary ({:.0}s in all)",
        started.elapsed().as_secs_f64()
    );
    for line in &summary {
        println!("{line}");
    }
    println!("{passed} passed, {failed} failed");
    match red {
        Some(tier) => Err(format!("tier {tier} is red")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_test_counts_are_summed_over_binaries() {
        let out = "test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured\n\
                   noise\ntest result: FAILED. 2 passed; 3 failed; 0 ignored\n";
        assert_eq!(parse_cargo_test(out), (7, 3));
    }

    #[test]
    fn vitest_closing_line_is_read() {
        let out = " Test Files  2 passed (2)\n      Tests  1 failed | 11 passed (12)\n";
        assert_eq!(parse_vitest(out), (11, 1));
    }

    #[test]
    fn node_test_spec_summary_is_read() {
        let out = "✔ shows the map (12ms)\nℹ tests 4\nℹ pass 3\nℹ fail 1\n";
        assert_eq!(parse_node_test(out), (3, 1));
    }

    #[test]
    fn coloured_vitest_output_is_read() {
        let out = strip_ansi(
            "\u{1b}[2m      Tests \u{1b}[22m \u{1b}[1m\u{1b}[32m42 passed\u{1b}[39m\u{1b}[22m\u{1b}[90m (42)\u{1b}[39m\n",
        );
        assert_eq!(parse_vitest(&out), (42, 0));
    }

    #[test]
    fn a_runner_that_ran_nothing_is_red() {
        let o = from_counts(true, (0, 0), "browser");
        assert!(!o.ok && o.failed == 1);
    }
}
