//! `cargo xtask bench [--quick]`: builds and runs `kq-bench` (tests/src/bin/kq-bench.rs) and
//! turns the figures it prints into one table, on the terminal and as Markdown.
//!
//! The full run uses a release build, the one whose speed matters, and writes the table to
//! `target/bench/latest.md`. `--quick` runs tiny sizes from the debug build the `rust` test
//! tier already made (the same `--workspace` feature set, so nothing is compiled twice) and
//! writes `target/bench/quick.md`; it is what the `bench` test tier runs so the benchmark
//! cannot rot. A missed target is reported, never a failure: this is a measurement on
//! whatever machine runs it. A benchmark that breaks, or measures nothing, is a failure.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::tiers::{self, Step};
use crate::{root, setup};

/// One figure as `kq-bench` printed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    figure: String,
    value: f64,
    unit: String,
    target: Option<(String, f64)>,
    pass: Option<bool>,
    detail: String,
}

impl Row {
    /// Reads one stdout line; `None` for anything that is not a figure object.
    fn parse(line: &str) -> Option<Row> {
        let v: Value = serde_json::from_str(line).ok()?;
        let target = match (v["target_op"].as_str(), v["target"].as_f64()) {
            (Some(op), Some(t)) => Some((op.to_string(), t)),
            _ => None,
        };
        Some(Row {
            figure: v["figure"].as_str()?.to_string(),
            value: v["value"].as_f64()?,
            unit: v["unit"].as_str().unwrap_or_default().to_string(),
            target,
            pass: v["pass"].as_bool(),
            detail: v["detail"].as_str().unwrap_or_default().to_string(),
        })
    }

    fn value_text(&self) -> String {
        quantity(self.value, &self.unit)
    }

    fn target_text(&self) -> String {
        match &self.target {
            Some((op, t)) => {
                let op = op.replace("<=", "≤").replace(">=", "≥");
                format!("{op} {}", quantity(*t, &self.unit))
            }
            None => "—".into(),
        }
    }

    fn result_text(&self, quick: bool) -> &'static str {
        match (self.pass, &self.target) {
            (Some(true), _) => "pass",
            (Some(false), _) => "FAIL",
            (None, Some(_)) if quick => "(quick)",
            (None, _) => "—",
        }
    }
}

/// `12.3 ms`, `1.10x`, `52345 events/s`: precision that suits the magnitude.
fn quantity(v: f64, unit: &str) -> String {
    let n = if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if unit == "x" {
        format!("{n}x")
    } else {
        format!("{n} {unit}")
    }
}

/// `AMD EPYC, 2 CPUs, 23.5 GiB RAM, Debian GNU/Linux 12 (bookworm), Linux 6.1.0`.
pub fn machine_line() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let cpus = if cpus == 0 {
        std::thread::available_parallelism().map_or(0, usize::from)
    } else {
        cpus
    };
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or_else(
            || "unknown memory".into(),
            |kb| format!("{:.1} GiB RAM", kb / 1024.0 / 1024.0),
        );
    let os = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|n| n.trim_matches('"').to_string())
        .unwrap_or_else(|| std::env::consts::OS.into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| format!(", Linux {}", k.trim()))
        .unwrap_or_default();
    format!("{model}, {cpus} CPUs, {mem}, {os}{kernel}")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The table as aligned plain text for the terminal.
fn text_table(rows: &[Row], quick: bool) -> String {
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.figure.clone(),
                r.value_text(),
                r.target_text(),
                r.result_text(quick).to_string(),
                r.detail.clone(),
            ]
        })
        .collect();
    let header = ["figure", "value", "target", "result", "detail"].map(String::from);
    let width = |i: usize| {
        std::iter::once(&header)
            .chain(&cells)
            .map(|c| c[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..4).map(width).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&cells) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i < 4 {
                let pad = widths[i] - cell.chars().count();
                // Numbers read best right-aligned, names and words left-aligned.
                if i == 1 || i == 2 {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                }
                line.push_str("  ");
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The table as Markdown, with the machine and commit it was measured on.
fn markdown(rows: &[Row], quick: bool, machine: &str) -> String {
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let mode = if quick {
        "`cargo xtask bench --quick` (tiny sizes, debug build; targets not judged)"
    } else {
        "`cargo xtask bench` (release build)"
    };
    let esc = |s: &str| s.replace('|', "\\|");
    let mut md = format!(
        "# KubeQuest benchmarks\n\n{mode} at commit `{commit}`.\n\n\
         Machine: {machine}\n\n\
         | figure | value | target | result | detail |\n| --- | ---: | ---: | --- | --- |\n"
    );
    for r in rows {
        md.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            r.figure,
            r.value_text(),
            r.target_text(),
            r.result_text(quick),
            esc(&r.detail)
        ));
    }
    md
}

/// Builds and runs `kq-bench`, prints the table and writes it as Markdown; returns the
/// figures. Fails when the build or the benchmark fails or no figure was printed.
pub fn run(quick: bool) -> Result<Vec<Row>, String> {
    let profile = if quick { "debug" } else { "release" };
    println!("==> building kq-bench ({profile})");
    let mut build = vec!["cargo", "build", "--workspace", "--bin", "kq-bench"];
    if !quick {
        build.push("--release");
    }
    Step::new("cargo build kq-bench").run(&build)?;

    let binary = target_dir().join(profile).join("kq-bench");
    println!(
        "==> running {}{}",
        binary.display(),
        if quick { " --quick" } else { "" }
    );
    let mut cmd = Command::new(&binary);
    if quick {
        cmd.arg("--quick");
    }
    let mut child = cmd
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let mut rows = Vec::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            match Row::parse(&line) {
                Some(row) => {
                    eprintln!("    {} = {}", row.figure, row.value_text());
                    rows.push(row);
                }
                None => eprintln!("kq-bench (not a figure): {line}"),
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for kq-bench: {e}"))?;
    if !quick && status.success() {
        // The desktop figures need the release app and its .deb; the quick ones run in the
        // desktop test tier instead, where the app is already built.
        let desktop = desktop_rows()?;
        for row in &desktop {
            eprintln!("    {} = {}", row.figure, row.value_text());
        }
        rows.extend(desktop);
    }

    let machine = machine_line();
    if !rows.is_empty() {
        println!("\n{}", text_table(&rows, quick));
        println!("machine: {machine}");
        let dir = target_dir().join("bench");
        let file = dir.join(if quick { "quick.md" } else { "latest.md" });
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&file, markdown(&rows, quick, &machine)))
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        println!("table: {}", file.display());
    }
    if !quick {
        let missed = rows.iter().filter(|r| r.pass == Some(false)).count();
        let judged = rows.iter().filter(|r| r.pass.is_some()).count();
        println!("{missed} of {judged} figures with a target missed it");
    }
    if !status.success() {
        return Err(format!("kq-bench failed ({status})"));
    }
    if rows.is_empty() {
        return Err("kq-bench printed no figures".into());
    }
    Ok(rows)
}

/// How many figure lines a run printed.
pub fn figures_in(output: &str) -> usize {
    output.lines().filter_map(Row::parse).count()
}

/// The desktop figures: the release app and its .deb, built the way users get them, driven
/// under Xvfb like the desktop tier.
fn desktop_rows() -> Result<Vec<Row>, String> {
    tiers::bundle()?;
    setup::debian(setup::TEST_PACKAGES)?;
    setup::npm_ci(&root().join("tests/e2e"))?;
    let deb_dir = target_dir().join("release/bundle/deb");
    let deb = std::fs::read_dir(&deb_dir)
        .map_err(|e| format!("cannot read {}: {e}", deb_dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .ok_or_else(|| format!("no .deb in {}", deb_dir.display()))?;
    let binary = target_dir().join("release/kubequest");
    println!("==> desktop benchmark on {}", binary.display());
    let (ok, out) = tiers::desktop_step("desktop benchmark", &binary)?
        .env("KQ_DEB", deb.display().to_string())
        .run_captured(&tiers::sh(&format!(
            "{} node bench/desktop.mjs",
            tiers::UNDER_XVFB
        )));
    let rows: Vec<Row> = out.lines().filter_map(Row::parse).collect();
    if !ok {
        return Err("the desktop benchmark failed".into());
    }
    Ok(rows)
}

/// `cargo xtask bench [--quick]`
pub fn bench(args: &[String]) -> Result<(), String> {
    let mut quick = false;
    for a in args {
        match a.as_str() {
            "--quick" => quick = true,
            other => return Err(format!("bench: unknown argument `{other}` (only --quick)")),
        }
    }
    setup::kubectl()?;
    run(quick).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure_lines_are_read_and_other_lines_are_not() {
        let line = r#"{"figure":"api.get_p99_ms","value":1.5,"unit":"ms","target":5.0,"target_op":"<=","pass":true,"detail":"p99 of 2000"}"#;
        let row = Row::parse(line).expect("a figure line parses");
        assert_eq!(row.target, Some(("<=".into(), 5.0)));
        assert_eq!(row.pass, Some(true));
        assert_eq!(row.target_text(), "≤ 5.00 ms");
        assert!(Row::parse("Compiling kq-sim").is_none());
        assert!(Row::parse(r#"{"value":1}"#).is_none());
    }

    #[test]
    fn quick_rows_with_targets_say_they_were_not_judged() {
        let line = r#"{"figure":"x","value":1.0,"unit":"x","target":1.2,"target_op":"<=","pass":null,"detail":""}"#;
        let row = Row::parse(line).expect("parses");
        assert_eq!(row.result_text(true), "(quick)");
        assert_eq!(row.value_text(), "1.00x");
    }

    #[test]
    fn markdown_escapes_pipes_in_details() {
        let row = Row {
            figure: "f".into(),
            value: 52345.4,
            unit: "events/s".into(),
            target: None,
            pass: None,
            detail: "a | b".into(),
        };
        let md = markdown(&[row], false, "m");
        assert!(
            md.contains("| `f` | 52345 events/s | — | — | a \\| b |"),
            "{md}"
        );
    }
}
