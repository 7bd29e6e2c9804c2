//! `kq`: KubeQuest without a window. Teachers, terminals and tests use it to list the
//! curriculum, check lesson folders and run the embedded cluster (`kq cluster up`) for real
//! `kubectl`, play missions in the terminal (`kq play`) and move progress between machines and
//! into a teacher's class report (`kq progress`), and serve, prepare and follow a class (`kq
//! classroom`).

mod classroom_cmd;
mod lessons_cmd;
mod logging;
mod play;
mod progress_cmd;
mod term;

use std::io::Write;
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
    /// List the missions of the curriculum in order, with your progress.
    Missions {
        /// Lesson folders to read (default: the lessons shipped with KubeQuest).
        #[arg(long = "lessons", value_name = "DIR")]
        lessons: Vec<PathBuf>,
        /// The progress file (default: $XDG_DATA_HOME/kubequest/progress.json, shared with the
        /// app).
        #[arg(long, value_name = "FILE")]
        progress: Option<PathBuf>,
    },
    /// Run the embedded Kubernetes-compatible cluster.
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// Work with lesson folders (for teachers writing missions).
    Lessons {
        #[command(subcommand)]
        command: LessonsCommand,
    },
    /// Play a mission in the terminal: the broken pod is applied, the pipeline, events and
    /// objectives print live, `h` + Enter reveals a hint. Ends when solved or on Ctrl-C.
    Play {
        /// The mission id (`kq missions` lists them).
        #[arg(value_name = "MISSION_ID")]
        mission: String,
        /// Lesson folders to read (default: the lessons shipped with KubeQuest).
        #[arg(long = "lessons", value_name = "DIR")]
        lessons: Vec<PathBuf>,
        /// Play on this kubeconfig context instead of the embedded cluster.
        #[arg(long, value_name = "NAME")]
        context: Option<String>,
        /// Allow a --context that is not on this machine (missions create and break pods).
        #[arg(long, requires = "context")]
        allow_remote: bool,
        /// Speed of the embedded cluster's clock (1 = real time).
        #[arg(long, value_name = "X", default_value_t = 1.0)]
        speed: f64,
        /// The progress file (default: $XDG_DATA_HOME/kubequest/progress.json, shared with the
        /// app).
        #[arg(long, value_name = "FILE")]
        progress: Option<PathBuf>,
    },
    /// Export, import and report progress.
    Progress {
        #[command(subcommand)]
        command: ProgressCommand,
    },
    /// Serve or prepare a class, follow it live, and remove it.
    Classroom {
        #[command(subcommand)]
        command: ClassroomCommand,
    },
}

#[derive(Subcommand)]
enum ClassroomCommand {
    /// Serve a class from this machine: the embedded cluster with one identity per learner,
    /// kubeconfigs and a join sheet in DIR. Prints a `ready:` line, serves until Ctrl-C.
    Serve {
        /// The roster: one learner name per line (# starts a comment).
        #[arg(long, value_name = "FILE")]
        learners: PathBuf,
        /// Where to write the kubeconfigs and the join sheet.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The address to serve on (default 127.0.0.1, this machine only). A network address
        /// lets learners' machines join.
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::IpAddr>,
        /// The class's name.
        #[arg(long, value_name = "NAME", default_value = "class")]
        class: String,
        /// How long the class lasts: tokens and join codes stop working then.
        #[arg(long, value_name = "H", default_value_t = 8.0)]
        hours: f64,
        /// Lesson folders to read (default: the lessons shipped with KubeQuest).
        #[arg(long = "lessons", value_name = "DIR")]
        lessons: Vec<PathBuf>,
    },
    /// Prepare a class on a real cluster through a kubeconfig context.
    Prepare {
        #[arg(long, value_name = "NAME")]
        context: String,
        /// The roster: one learner name per line (# starts a comment).
        #[arg(long, value_name = "FILE")]
        learners: PathBuf,
        /// Where to write the kubeconfigs and the join sheet.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[arg(long, value_name = "NAME", default_value = "class")]
        class: String,
        #[arg(long, value_name = "H", default_value_t = 8.0)]
        hours: f64,
        #[arg(long = "lessons", value_name = "DIR")]
        lessons: Vec<PathBuf>,
    },
    /// Remove exactly what `prepare` made on a cluster.
    Clean {
        #[arg(long, value_name = "NAME")]
        context: String,
        /// Only this class (default: the class found there).
        #[arg(long, value_name = "NAME")]
        class: Option<String>,
    },
    /// The live class view: per learner, the mission, where the pod is stuck, time, hints,
    /// solved.
    Status {
        /// The teacher's kubeconfig (default: KUBECONFIG).
        #[arg(long, value_name = "FILE")]
        kubeconfig: Option<PathBuf>,
        /// Mark learners on the same mission for longer than this as stuck.
        #[arg(long, value_name = "MINUTES", default_value_t = 10)]
        stuck_after: u64,
        /// Redraw every 2 s until Ctrl-C.
        #[arg(long)]
        watch: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: classroom_cmd::StatusFormat,
        /// The lesson folders the class was served or prepared with (for the missions' titles).
        #[arg(long = "lessons", value_name = "DIR")]
        lessons: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ProgressCommand {
    /// Write this learner's progress to a file for another machine or the teacher.
    Export {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The learner's name; it is stored for later exports too (default: the stored one,
        /// see `kq progress name`).
        #[arg(long, value_name = "NAME")]
        learner: Option<String>,
        /// The progress file (default: $XDG_DATA_HOME/kubequest/progress.json, shared with the
        /// app).
        #[arg(long, value_name = "FILE")]
        progress: Option<PathBuf>,
    },
    /// Merge an export into this progress (a solved mission is never lost).
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The progress file (default: $XDG_DATA_HOME/kubequest/progress.json, shared with the
        /// app).
        #[arg(long, value_name = "FILE")]
        progress: Option<PathBuf>,
    },
    /// Set the learner's name that exports carry (it keeps the learner id), or show it.
    Name {
        /// The name the teacher knows you by (omit it to show the stored one).
        #[arg(value_name = "NAME")]
        name: Option<String>,
        /// The progress file (default: the one shared with the app).
        #[arg(long, value_name = "FILE")]
        progress: Option<PathBuf>,
    },
    /// Print the progress file's path (the same file the desktop app uses).
    Path {
        /// The progress file (default: the one shared with the app).
        #[arg(long, value_name = "FILE")]
        progress: Option<PathBuf>,
    },
    /// Merge learners' exports into a class table.
    Report {
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "csv")]
        format: progress_cmd::ReportFormat,
        /// Write the table here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum LessonsCommand {
    /// Validate lesson folders without a cluster: front matter, objectives, hints, manifests,
    /// solution and debrief. Exits 1 when any error is found.
    Check {
        /// A lesson folder, or a folder of lesson folders.
        #[arg(value_name = "DIR", required = true)]
        dirs: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// Serve the embedded cluster over HTTPS on 127.0.0.1 until SIGINT or SIGTERM.
    Up {
        /// Where to write the kubeconfig (mode 0600; context `kubequest`).
        #[arg(long, value_name = "FILE")]
        kubeconfig: PathBuf,
        /// Port to listen on (default: a free one).
        #[arg(long, value_name = "N")]
        port: Option<u16>,
        /// Speed of the cluster clock (1 = real time).
        #[arg(long, value_name = "X", default_value_t = 1.0)]
        speed: f64,
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
    logging::init();
    match cli.command {
        Command::Missions { lessons, progress } => {
            let roots = if lessons.is_empty() {
                default_lesson_roots()
            } else {
                lessons
            };
            let catalog = Catalog::load(&roots);
            if catalog.missions.is_empty() && catalog.problems.is_empty() {
                eprintln!("no missions found in {}", display_roots(&roots));
            }
            let file = match progress_cmd::progress_file(progress) {
                Ok(f) => f,
                Err(e) => return progress_cmd::fail(&e),
            };
            let store = kq_engine::progress::JsonFileStore::new(&file);
            // Unreadable progress is reported, and the list still shows.
            let progress = progress_cmd::load(&store).unwrap_or_else(|e| {
                eprintln!("warning: {e}");
                kq_engine::progress::Progress::default()
            });
            for m in &catalog.missions {
                let s = &m.summary;
                println!(
                    "{:>2}. {:<28} {:<10} {:<40} {}",
                    s.order,
                    s.id,
                    s.difficulty,
                    s.title,
                    mission_state(&progress, s, &catalog)
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
        Command::Cluster {
            command:
                ClusterCommand::Up {
                    kubeconfig,
                    port,
                    speed,
                },
        } => cluster_up(kubeconfig, port, speed),
        Command::Lessons {
            command: LessonsCommand::Check { dirs },
        } => lessons_cmd::lessons_check(&dirs),
        Command::Play {
            mission,
            lessons,
            context,
            allow_remote,
            speed,
            progress,
        } => play::play(
            play::PlayArgs {
                mission,
                lessons,
                context,
                allow_remote,
                speed,
                progress: match progress_cmd::progress_file(progress) {
                    Ok(f) => f,
                    Err(e) => return progress_cmd::fail(&e),
                },
            },
            default_lesson_roots(),
        ),
        Command::Progress { command } => match command {
            ProgressCommand::Export {
                out,
                learner,
                progress,
            } => match progress_cmd::progress_file(progress) {
                Ok(f) => progress_cmd::export(&f, &out, learner),
                Err(e) => progress_cmd::fail(&e),
            },
            ProgressCommand::Import { file, progress } => {
                match progress_cmd::progress_file(progress) {
                    Ok(f) => progress_cmd::import(&f, &file),
                    Err(e) => progress_cmd::fail(&e),
                }
            }
            ProgressCommand::Name { name, progress } => {
                match progress_cmd::progress_file(progress) {
                    Ok(f) => progress_cmd::name(&f, name),
                    Err(e) => progress_cmd::fail(&e),
                }
            }
            ProgressCommand::Path { progress } => match progress_cmd::progress_file(progress) {
                Ok(f) => progress_cmd::path(&f),
                Err(e) => progress_cmd::fail(&e),
            },
            ProgressCommand::Report { files, format, out } => {
                progress_cmd::class_report(&files, format, out.as_deref())
            }
        },
        Command::Classroom { command } => classroom(command),
    }
}

fn classroom(command: ClassroomCommand) -> ExitCode {
    match command {
        ClassroomCommand::Serve {
            learners,
            out,
            listen,
            class,
            hours,
            lessons,
        } => classroom_cmd::serve(
            classroom_cmd::ServeArgs {
                learners,
                out,
                listen,
                class,
                hours,
                lessons,
            },
            default_lesson_roots(),
        ),
        ClassroomCommand::Prepare {
            context,
            learners,
            out,
            class,
            hours,
            lessons,
        } => classroom_cmd::prepare(
            classroom_cmd::PrepareArgs {
                context,
                learners,
                out,
                class,
                hours,
                lessons,
            },
            default_lesson_roots(),
        ),
        ClassroomCommand::Clean { context, class } => classroom_cmd::clean(context, class),
        ClassroomCommand::Status {
            kubeconfig,
            stuck_after,
            watch,
            format,
            lessons,
        } => classroom_cmd::status(
            kubeconfig,
            stuck_after,
            watch,
            format,
            lessons,
            default_lesson_roots(),
        ),
    }
}

/// `solved in 4m12s, 1 hint`, `in progress`, `open`, `locked (needs …)` or `locked (finish
/// the Pods chapter first: …)`.
fn mission_state(
    progress: &kq_engine::progress::Progress,
    s: &kq_engine::ipc::MissionSummary,
    catalog: &kq_engine::mission::Catalog,
) -> String {
    use kq_engine::progress::MissionStatus;
    let record = progress.mission(&s.id);
    let hints = match record.hints_used {
        0 => String::new(),
        1 => ", 1 hint".into(),
        n => format!(", {n} hints"),
    };
    match record.status {
        MissionStatus::Solved => match record.time_to_fix_seconds {
            Some(t) => format!(
                "solved in {}{hints}",
                kq_sim::duration::go_duration(std::time::Duration::from_secs(t))
            ),
            None => format!("solved{hints}"),
        },
        MissionStatus::InProgress => format!("in progress{hints}"),
        MissionStatus::NotStarted if progress.is_unlocked(&s.all_requires()) => "open".into(),
        MissionStatus::NotStarted => {
            let unsolved = |ids: &[String]| -> Vec<String> {
                ids.iter()
                    .filter(|id| !progress.is_unlocked(std::slice::from_ref(id)))
                    .cloned()
                    .collect()
            };
            let own = unsolved(&s.requires);
            if !own.is_empty() {
                return format!("locked (needs {})", own.join(", "));
            }
            let chapter = unsolved(&s.chapter_requires);
            let title = chapter
                .first()
                .and_then(|id| catalog.get(id))
                .map_or("previous", |m| m.summary.chapter.title());
            format!(
                "locked (finish the {title} chapter first: {})",
                chapter.join(", ")
            )
        }
    }
}

/// `kq cluster up`: one `ready:` line once serving (scripts wait for it), then serve until
/// SIGINT or SIGTERM and exit 0.
fn cluster_up(kubeconfig: PathBuf, port: Option<u16>, speed: f64) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let config = kq_sim::ClusterConfig {
            port,
            speed,
            kubeconfig_path: Some(kubeconfig.clone()),
            ..Default::default()
        };
        let stop = stop_signal();
        let cluster = match kq_sim::Cluster::start(config).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ready: KUBECONFIG={}", kubeconfig.display());
        let _ = out.flush();
        drop(out);
        stop.await;
        cluster.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Catch SIGINT and SIGTERM from now on and return a future that ends when one arrives.
///
/// The handlers are installed by this call, not by the first poll of the future, so a signal
/// sent right after something this process printed (the `ready:` line, a pod's first status
/// line) is caught rather than killing the process before it cleans up. Must be called inside
/// the Tokio runtime.
#[cfg(unix)]
pub(crate) fn stop_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let int = signal(SignalKind::interrupt());
    let term = signal(SignalKind::terminate());
    async move {
        match (int, term) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

#[cfg(not(unix))]
pub(crate) fn stop_signal() -> impl std::future::Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn display_roots(roots: &[PathBuf]) -> String {
    roots
        .iter()
        .map(|r| r.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
