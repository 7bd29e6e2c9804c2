//! `kq`: KubeQuest without a window. Teachers, terminals and tests use it to list the
//! curriculum and check lesson folders; later it also runs the embedded cluster and plays
//! missions.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kq_engine::mission::Catalog;

#[derive(Parser)]
#[command(name = "kq", version, about = "KubeQuest on the command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the missions of the curriculum in order.
    Missions {
        /// Lesson folders to read (default: the lessons shipped with KubeQuest).
        #[arg(long = "lessons", value_name = "DIR")]
        lessons: Vec<PathBuf>,
    },
}

/// The lessons shipped with this build: `KUBEQUEST_LESSONS` if set, else the source tree's.
fn default_lesson_roots() -> Vec<PathBuf> {
    match std::env::var_os("KUBEQUEST_LESSONS") {
        Some(dir) => vec![PathBuf::from(dir)],
        None => vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../lessons")],
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Missions { lessons } => {
            let roots = if lessons.is_empty() {
                default_lesson_roots()
            } else {
                lessons
            };
            let catalog = Catalog::load(&roots);
            if catalog.missions.is_empty() && catalog.problems.is_empty() {
                eprintln!("no missions found in {}", display_roots(&roots));
            }
            for m in &catalog.missions {
                let s = &m.summary;
                println!(
                    "{:>2}. {:<28} {:<10} {}",
                    s.order, s.id, s.difficulty, s.title
                );
            }
            for p in &catalog.problems {
                eprintln!("error: {p}");
            }
            if catalog.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn display_roots(roots: &[PathBuf]) -> String {
    roots
        .iter()
        .map(|r| r.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
