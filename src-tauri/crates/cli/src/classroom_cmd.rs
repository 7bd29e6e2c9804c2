//! `kq classroom`: a teacher's class from the terminal (see `kq_engine::classroom`).
//!
//! - `serve` runs the embedded cluster as the class server: on 127.0.0.1 unless the teacher
//!   names another address with `--listen` (then a plain warning says who can reach it), with
//!   one node per four learners, the class missions' extra nodes, every learner's namespaces,
//!   accounts and kubeconfigs, and the join endpoint for the join sheet's codes. It prints one
//!   `ready: <url> learners=<n> out=<DIR>` line on stdout once learners can join, and serves
//!   until Ctrl-C or SIGTERM; the codes stop working then, the tokens with the server.
//! - `prepare` does the same on a real cluster through a kubeconfig context (the missions
//!   that need cluster-wide objects are left out, and said so); `clean` removes it again.
//! - `status` is the teacher's live view: one row per learner, read with the teacher's
//!   kubeconfig.
//!
//! Progress goes to stderr, so stdout stays what scripts read.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use jiff::Timestamp;
use kq_engine::classroom::{self, ClassPlan, Roster};
use kq_engine::connect::{list_contexts, load_kubeconfig_from_env};
use kq_engine::mission::files::read_picked_file;
use kq_engine::mission::{Catalog, Mission};
use kq_sim::JoinEntry;

use crate::progress_cmd::fail;

/// The largest kubeconfig read back to hand out by join code.
const MAX_KUBECONFIG_BYTES: u64 = 64 * 1024;

/// The largest roster read (a class of hundreds is a few kilobytes).
const MAX_ROSTER_BYTES: u64 = 1024 * 1024;

/// What `kq classroom serve` was asked.
pub struct ServeArgs {
    pub learners: PathBuf,
    pub out: PathBuf,
    /// `None`: 127.0.0.1.
    pub listen: Option<IpAddr>,
    pub class: String,
    pub hours: f64,
    pub lessons: Vec<PathBuf>,
}

/// What `kq classroom prepare` was asked.
pub struct PrepareArgs {
    pub context: String,
    pub learners: PathBuf,
    pub out: PathBuf,
    pub class: String,
    pub hours: f64,
    pub lessons: Vec<PathBuf>,
}

/// The table formats of `kq classroom status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    Table,
    Csv,
    Markdown,
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

fn run(f: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail(&e),
    };
    match rt.block_on(f) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// The roster file, parsed; every problem names its line.
fn read_roster(path: &Path) -> Result<Roster, String> {
    let file = path.display().to_string();
    let text = read_picked_file(path, "the roster", MAX_ROSTER_BYTES).map_err(|e| {
        format!(
            "{e}. Write one learner name per line in a UTF-8 text file and pass it with --learners"
        )
    })?;
    Roster::parse(&file, &text).map_err(|e| e.to_string())
}

/// Makes `dir` and checks a file can be written in it, before anything is created on a
/// cluster.
fn writable_dir(dir: &Path) -> Result<(), String> {
    let refuse = |e: std::io::Error| {
        format!(
            "cannot write the class's files to {}: {e}. Choose a folder you can write with --out",
            dir.display()
        )
    };
    std::fs::create_dir_all(dir).map_err(refuse)?;
    tempfile::Builder::new()
        .prefix(".kq-write-check")
        .tempfile_in(dir)
        .map_err(refuse)?;
    Ok(())
}

fn catalog(lessons: &[PathBuf], default_roots: Vec<PathBuf>) -> Catalog {
    let roots = if lessons.is_empty() {
        default_roots
    } else {
        lessons.to_vec()
    };
    let catalog = Catalog::load(&roots);
    for p in &catalog.problems {
        eprintln!("warning: {p}");
    }
    catalog
}

fn print_left_out(plan: &ClassPlan) {
    for (id, why) in &plan.left_out {
        eprintln!("left out: {id}: {why}");
    }
}

/// A kube client for the embedded cluster's admin kubeconfig.
async fn client_from_yaml(yaml: &str) -> Result<kube::Client, String> {
    let kc = kube::config::Kubeconfig::from_yaml(yaml)
        .map_err(|e| format!("the kubeconfig is unreadable: {e}"))?;
    client_for(kc, None).await
}

async fn client_for(
    kc: kube::config::Kubeconfig,
    context: Option<&str>,
) -> Result<kube::Client, String> {
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_owned),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(|e| format!("the kubeconfig cannot be used: {e}"))?;
    kq_engine::connect::app_client(config).map_err(|e| format!("cannot connect: {e}"))
}

fn read_small(path: &Path) -> Result<String, String> {
    read_picked_file(path, "the kubeconfig", MAX_KUBECONFIG_BYTES)
}

/// `kq classroom serve`.
pub fn serve(args: ServeArgs, default_roots: Vec<PathBuf>) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail(&e),
    };
    rt.block_on(async move {
        // Ctrl-C from the first moment on ends the class cleanly.
        let signal = crate::stop_signal();
        let mut signal = std::pin::pin!(signal);
        let started = tokio::select! {
            s = start_class(args, default_roots) => s,
            () = &mut signal => return ExitCode::SUCCESS,
        };
        let (cluster, ready) = match started {
            Ok(s) => s,
            Err(e) => return fail(&e),
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{ready}");
        let _ = out.flush();
        drop(out);
        signal.await;
        cluster.clear_join_codes();
        eprintln!("class over: the join codes and the learners' tokens no longer work");
        cluster.shutdown().await;
        ExitCode::SUCCESS
    })
}

async fn start_class(
    args: ServeArgs,
    default_roots: Vec<PathBuf>,
) -> Result<(kq_sim::RunningCluster, String), String> {
    let listen = args
        .listen
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    let roster = read_roster(&args.learners)?;
    writable_dir(&args.out)?;
    let catalog = catalog(&args.lessons, default_roots);
    let plan = ClassPlan::new(
        &args.class,
        roster,
        &catalog,
        args.hours,
        true,
        Timestamp::now(),
    )
    .map_err(|e| e.to_string())?;
    print_left_out(&plan);
    let missions: Vec<&Mission> = plan
        .missions
        .iter()
        .filter_map(|id| catalog.get(id))
        .collect();
    let mut registry_yaml: Vec<(String, String)> = Vec::new();
    for m in &missions {
        for source in m.registry_sources() {
            if !registry_yaml.iter().any(|(s, _)| *s == source.0) {
                registry_yaml.push(source);
            }
        }
    }
    let cluster = kq_sim::Cluster::start(kq_sim::ClusterConfig {
        listen,
        speed: 1.0,
        nodes: kq_sim::class_nodes(plan.roster.learners.len()),
        registry_yaml,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("cannot start the class server on {listen}: {e}"))?;
    if !listen.is_loopback() {
        eprintln!(
            "warning: Learners on your network can reach this class server at {}; anyone with \
             a join code or kubeconfig can use it until the class ends.",
            cluster.url()
        );
    }
    let admin = client_from_yaml(cluster.kubeconfig_yaml()).await?;
    classroom::server::create_cluster_objects(
        &admin,
        &plan.class,
        &missions,
        plan.roster.learners.len(),
        &mut |step| eprintln!("{step}"),
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut say = |step: &str| eprintln!("{step}");
    let prepared = classroom::prepare(
        &admin,
        &plan,
        cluster.url(),
        cluster.ca_pem(),
        &args.out,
        &mut say,
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut codes = Vec::new();
    for (who, code) in &prepared.join_codes {
        let Some((_, path)) = prepared.kubeconfigs.iter().find(|(l, _)| l == who) else {
            continue;
        };
        codes.push(JoinEntry {
            code: code.clone(),
            learner: who.clone(),
            kubeconfig: read_small(path)?,
            expires_at: plan.ends_at,
        });
    }
    cluster.set_join_codes(codes);
    eprintln!(
        "join sheet: {} (printable: {})",
        prepared.sheet.display(),
        prepared.sheet.with_extension("html").display()
    );
    eprintln!(
        "teacher's view: kq classroom status --kubeconfig {}",
        args.out.join("teacher.kubeconfig").display()
    );
    let ready = format!(
        "ready: {} learners={} out={}",
        cluster.url(),
        plan.roster.learners.len(),
        args.out.display()
    );
    Ok((cluster, ready))
}

/// The context `name` of the kubeconfig (`KUBECONFIG` or `~/.kube/config`), or the list of
/// its contexts.
async fn context_client(name: &str) -> Result<(kube::Client, kube::config::Kubeconfig), String> {
    let loaded = load_kubeconfig_from_env().map_err(|e| e.to_string())?;
    let contexts = list_contexts(&loaded.config);
    if !contexts.iter().any(|c| c.name == name) {
        let known: Vec<&str> = contexts.iter().map(|c| c.name.as_str()).collect();
        return Err(format!(
            "the kubeconfig has no context named `{name}`; its contexts are: {}",
            if known.is_empty() {
                "(none)".to_owned()
            } else {
                known.join(", ")
            }
        ));
    }
    let client = client_for(loaded.config.clone(), Some(name))
        .await
        .map_err(|e| format!("cannot use context `{name}`: {e}"))?;
    Ok((client, loaded.config))
}

/// The server URL and CA (PEM, empty for the system's roots) of `context`'s cluster.
fn server_and_ca(kc: &kube::config::Kubeconfig, context: &str) -> Result<(String, String), String> {
    use base64::Engine;
    let cluster_name = kc
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.cluster.clone())
        .unwrap_or_default();
    let cluster = kc
        .clusters
        .iter()
        .find(|c| c.name == cluster_name)
        .and_then(|c| c.cluster.as_ref())
        .ok_or_else(|| {
            format!("context `{context}` names the cluster `{cluster_name}`, which is not in the kubeconfig")
        })?;
    let server = cluster
        .server
        .clone()
        .ok_or_else(|| format!("the cluster `{cluster_name}` has no server address"))?;
    let ca = if let Some(data) = &cluster.certificate_authority_data {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| {
                format!(
                    "the cluster `{cluster_name}`'s certificate-authority-data is not base64: {e}"
                )
            })?;
        String::from_utf8(bytes)
            .map_err(|_| format!("the cluster `{cluster_name}`'s CA is not PEM text"))?
    } else if let Some(file) = &cluster.certificate_authority {
        std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read the cluster `{cluster_name}`'s CA {file}: {e}"))?
    } else {
        String::new()
    };
    Ok((server, ca))
}

/// `kq classroom prepare`.
pub fn prepare(args: PrepareArgs, default_roots: Vec<PathBuf>) -> ExitCode {
    run(async move {
        let roster = read_roster(&args.learners)?;
        writable_dir(&args.out)?;
        let (client, kc) = context_client(&args.context).await?;
        let (server, ca) = server_and_ca(&kc, &args.context)?;
        let catalog = catalog(&args.lessons, default_roots);
        let plan = ClassPlan::new(
            &args.class,
            roster,
            &catalog,
            args.hours,
            false,
            Timestamp::now(),
        )
        .map_err(|e| e.to_string())?;
        print_left_out(&plan);
        let mut say = |step: &str| eprintln!("{step}");
        let prepared = classroom::prepare(&client, &plan, &server, &ca, &args.out, &mut say)
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "class {} prepared on {} for {} learners and {} missions, until {}",
            plan.class,
            args.context,
            plan.roster.learners.len(),
            plan.missions.len(),
            plan.ends_at
        );
        for (who, path) in &prepared.kubeconfigs {
            println!("  {who}: {}", path.display());
        }
        Ok(())
    })
}

/// `kq classroom clean`.
pub fn clean(context: String, class: Option<String>) -> ExitCode {
    run(async move {
        let (client, _) = context_client(&context).await?;
        let report = classroom::clean(&client, class.as_deref())
            .await
            .map_err(|e| e.to_string())?;
        if report.removed.is_empty() {
            println!("nothing to remove: no class KubeQuest prepared is on {context}");
        }
        for r in &report.removed {
            println!("removed {r}");
        }
        Ok(())
    })
}

/// `kq classroom status`.
pub fn status(
    kubeconfig: Option<PathBuf>,
    stuck_after: u64,
    watch: bool,
    format: StatusFormat,
    lessons: Vec<PathBuf>,
    default_roots: Vec<PathBuf>,
) -> ExitCode {
    run(async move {
        let kc = match &kubeconfig {
            Some(file) => kube::config::Kubeconfig::read_from(file)
                .map_err(|e| format!("cannot read the kubeconfig {}: {e}", file.display()))?,
            None => {
                load_kubeconfig_from_env()
                    .map_err(|e| e.to_string())?
                    .config
            }
        };
        let client = client_for(kc, None).await?;
        let catalog = catalog(&lessons, default_roots);
        let stuck = Duration::from_secs(stuck_after.saturating_mul(60));
        let signal = crate::stop_signal();
        let mut signal = std::pin::pin!(signal);
        loop {
            let view = tokio::select! {
                v = classroom::read_class(&client, &catalog, Timestamp::now()) => v,
                () = &mut signal => return Ok(()),
            }
            .map_err(|e| e.to_string())?;
            let text = match format {
                StatusFormat::Table => classroom::render_table(&view, stuck),
                StatusFormat::Csv => classroom::export_csv(&view),
                StatusFormat::Markdown => classroom::export_markdown(&view),
            };
            let mut out = std::io::stdout().lock();
            if watch && crate::term::live_terminal() {
                // Home and clear: the table redrawn in place.
                let _ = write!(out, "\x1b[H\x1b[2J");
            }
            let _ = write!(out, "{text}");
            if !text.ends_with('\n') {
                let _ = writeln!(out);
            }
            if watch {
                let _ = writeln!(out, "(read at {}; Ctrl-C to stop)", view.read_at);
            }
            let _ = out.flush();
            drop(out);
            if !watch {
                return Ok(());
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(2)) => {}
                () = &mut signal => return Ok(()),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unwritable_out_folder_is_refused_before_anything_starts() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let e = writable_dir(&file.join("out")).unwrap_err();
        assert!(
            e.contains("Choose a folder you can write with --out"),
            "{e}"
        );
        writable_dir(&dir.path().join("new/out")).unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join("new/out"))
                .unwrap()
                .count(),
            0,
            "the check leaves nothing behind"
        );
    }

    #[test]
    fn a_missing_roster_says_what_to_write() {
        let e = read_roster(Path::new("/nonexistent/names.txt")).unwrap_err();
        assert!(
            e.starts_with("cannot read the roster /nonexistent/names.txt: "),
            "{e}"
        );
        assert!(e.contains("one learner name per line"), "{e}");
    }
}
