//! `kq-bench`: measures the embedded cluster's speed and footprint against its targets.
//!
//! Prints one JSON object per figure on stdout and progress on stderr; `cargo xtask bench`
//! builds and runs it and turns the figures into one table. Flags:
//!
//! - `--quick`: tiny sizes and few repetitions, so a debug build finishes in seconds (the
//!   `bench` test tier runs this so the benchmark cannot rot). Figures are still printed, but
//!   with `pass: null`: the targets are stated for the full sizes.
//! - `--only PREFIX`: only the figures whose name starts with PREFIX (e.g. `api.`).
//!
//! Groups run one after another on one runtime, the memory figure first so that nothing
//! allocated by another group can be reused by, and hide, the pods' own footprint.

#[path = "../bench/mod.rs"]
mod bench;

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;

use bench::{Figure, Sizes};

const USAGE: &str = "usage: kq-bench [--quick] [--only PREFIX]";

type Group = fn(Sizes) -> Pin<Box<dyn Future<Output = Result<Vec<Figure>, String>>>>;

/// Every group with the figures it produces, in the order they run.
fn groups() -> Vec<(&'static [&'static str], Group)> {
    vec![
        (bench::api::FIGURES, |s| {
            Box::pin(async move { bench::api::figures(&s).await })
        }),
        (&["cluster.start_to_first_request_ms"], |s| {
            Box::pin(async move { Ok(vec![bench::cluster::start_to_first_request(&s).await?]) })
        }),
        (&["kubectl.get_pods_ratio"], |s| {
            Box::pin(async move { Ok(vec![bench::cluster::kubectl_ratio(&s).await?]) })
        }),
        (bench::engine::FIGURES, |s| {
            Box::pin(async move { bench::engine::pipeline_latency(&s).await })
        }),
        (bench::rollout::FIGURES, |s| {
            Box::pin(async move { bench::rollout::figures(&s).await })
        }),
        (bench::streams::FIGURES, |s| {
            Box::pin(async move { bench::streams::figures(&s).await })
        }),
        (&["watch.events_per_s_100_watchers"], |s| {
            Box::pin(async move { Ok(vec![bench::watch::events_per_second(&s).await?]) })
        }),
        (bench::classroom::FIGURES, |s| {
            Box::pin(async move { bench::classroom::figures(&s).await })
        }),
        (bench::peers::FIGURES, |_| {
            Box::pin(async move { Ok(bench::peers::figures()) })
        }),
    ]
}

/// Runs this benchmark again with `--only prefix`, sharing stdout and stderr; whether it
/// succeeded.
fn in_own_process(prefix: &str, quick: bool) -> Result<bool, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find kq-bench itself: {e}"))?;
    let mut cmd = std::process::Command::new(&me);
    if quick {
        cmd.arg("--quick");
    }
    let status = cmd
        .args(["--only", prefix])
        .stdin(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot start {}: {e}", me.display()))?;
    Ok(status.success())
}

fn main() -> ExitCode {
    let mut sizes = Sizes::full();
    let mut only = String::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => sizes = Sizes::quick(),
            "--only" => match args.next() {
                Some(p) => only = p,
                None => {
                    eprintln!("kq-bench: --only needs a figure-name prefix\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("kq-bench: unknown argument `{other}`\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kq-bench: cannot start a Tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let selected: Vec<_> = groups()
        .into_iter()
        .filter(|(names, _)| names.iter().any(|n| n.starts_with(&only)))
        .collect();
    if selected.is_empty() {
        eprintln!("kq-bench: no figure starts with `{only}`");
        return ExitCode::from(2);
    }
    let mut failed = false;
    for (names, group) in selected {
        // The class's and the rollout's memory figures are resident sets (and growth) of a
        // process holding only what they measure: after the groups before them, freed pages
        // the allocator keeps would hide or count too. So, in a run of several groups, each
        // runs in a fresh kq-bench of its own, whose figure lines go straight to this one's
        // stdout.
        let own = if names == bench::classroom::FIGURES {
            Some("class.")
        } else if names == bench::rollout::FIGURES {
            Some("rollout.")
        } else {
            None
        };
        if let Some(prefix) = own
            && !only.starts_with(prefix.trim_end_matches('.'))
        {
            match in_own_process(prefix, sizes.quick) {
                Ok(true) => {}
                Ok(false) => failed = true,
                Err(e) => {
                    eprintln!("kq-bench: {e}");
                    failed = true;
                }
            }
            continue;
        }
        match runtime.block_on(group(sizes)) {
            Ok(figures) => {
                for f in figures.iter().filter(|f| f.name.starts_with(&only)) {
                    println!("{}", f.to_json(sizes.quick));
                }
            }
            Err(e) => {
                eprintln!("kq-bench: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
