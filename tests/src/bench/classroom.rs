//! One embedded class server and a whole class on it: thirty learners, each with their own
//! token, start the crash-loop mission in their namespace at the same moment and then poll it
//! as the app's session reads it (its pods and events every second, their own progress
//! ConfigMap), for 60 s at real-time speed (10 s in `--quick`).
//!
//! The server runs on a Tokio runtime of its own, two worker threads named `kq-class-srv`
//! (as many as the teacher's laptop would spare), so its CPU time is read from those threads
//! alone (`/proc/self/task/*/stat`), apart from the thirty clients in the same process. The
//! memory figure is the whole process's resident set (the clients are a small part of it).

use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Pod};
use kq_engine::classroom::{self, ClassPlan, Roster};
use kq_engine::mission::Catalog;
use kq_engine::session::{ClusterKind, start_mission};
use kq_sim::{Cluster, ClusterConfig, NodeTemplate};
use kube::api::{Api, ListParams};

use super::{Figure, Op, Sizes, ms, percentile, progress, rss_bytes, scratch};

pub const FIGURES: &[&str] = &[
    "class.view_read_ms_30_learners",
    "class.server_cpu_s_30_learners",
    "class.rss_mb_30_learners",
    "class.api_p99_ms_30_learners",
];

/// Learners in the class.
const LEARNERS: usize = 30;
/// The mission every learner starts.
const MISSION: &str = "crash-loop-backoff";
/// The name of the server's threads.
const SERVER_THREADS: &str = "kq-class-srv";

/// CPU seconds (user + system) spent so far by this process's threads named `prefix`.
fn cpu_seconds_of_threads(prefix: &str) -> Result<f64, String> {
    // Linux reports these times in USER_HZ ticks, 100 a second on every architecture.
    const TICKS_PER_SECOND: f64 = 100.0;
    let tasks = std::fs::read_dir("/proc/self/task")
        .map_err(|e| format!("cannot list /proc/self/task: {e}"))?;
    let mut ticks = 0u64;
    let mut found = 0;
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: the name may hold spaces, so split after the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(prefix) {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // After the name: state is field 3, utime field 14, stime field 15 (1-based).
        let utime: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0);
        let stime: u64 = fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
        ticks += utime + stime;
        found += 1;
    }
    if found == 0 {
        return Err(format!("no thread named {prefix}* in /proc/self/task"));
    }
    Ok(ticks as f64 / TICKS_PER_SECOND)
}

/// The class server on its own runtime and thread; dropping it shuts the server down.
struct Server {
    kubeconfig: String,
    url: String,
    ca_pem: String,
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(
        nodes: Vec<NodeTemplate>,
        registry_yaml: Vec<(String, String)>,
    ) -> Result<Server, String> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name(SERVER_THREADS)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("cannot start the server's runtime: {e}")));
                    return;
                }
            };
            let started = rt.block_on(Cluster::start(ClusterConfig {
                speed: 1.0,
                nodes,
                registry_yaml,
                ..Default::default()
            }));
            let cluster = match started {
                Ok(c) => c,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("the class server does not start: {e}")));
                    return;
                }
            };
            let _ = ready_tx.send(Ok((
                cluster.kubeconfig_yaml().to_owned(),
                cluster.url().to_owned(),
                cluster.ca_pem().to_owned(),
            )));
            let _ = stop_rx.recv();
            rt.block_on(cluster.shutdown());
            rt.shutdown_background();
        });
        let (kubeconfig, url, ca_pem) = ready_rx
            .recv()
            .map_err(|_| "the class server's thread ended before it served".to_string())??;
        Ok(Server {
            kubeconfig,
            url,
            ca_pem,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn client_of(yaml: &str) -> Result<kube::Client, String> {
    let kc = kube::config::Kubeconfig::from_yaml(yaml)
        .map_err(|e| format!("a class kubeconfig does not parse: {e}"))?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .map_err(|e| format!("a class kubeconfig is not usable: {e}"))?;
    kq_engine::connect::app_client(config).map_err(|e| format!("cannot build a client: {e}"))
}

/// One learner's polling until `until`: every second their namespace's pods and events and
/// their progress ConfigMap, each request timed (ms).
async fn poll(
    client: kube::Client,
    learner: String,
    namespace: String,
    until: Instant,
) -> Result<Vec<f64>, String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let events: Api<Event> = Api::namespaced(client.clone(), &namespace);
    let progress: Api<ConfigMap> = Api::namespaced(client, classroom::CLASS_NAMESPACE);
    let mine = classroom::progress_configmap(&learner);
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while Instant::now() < until {
        tick.tick().await;
        let t = Instant::now();
        pods.list(&ListParams::default())
            .await
            .map_err(|e| format!("{learner}: listing pods: {e}"))?;
        samples.push(ms(t.elapsed()));
        let t = Instant::now();
        events
            .list(&ListParams::default())
            .await
            .map_err(|e| format!("{learner}: listing events: {e}"))?;
        samples.push(ms(t.elapsed()));
        let t = Instant::now();
        progress
            .get(&mine)
            .await
            .map_err(|e| format!("{learner}: reading {mine}: {e}"))?;
        samples.push(ms(t.elapsed()));
    }
    Ok(samples)
}

/// The three class figures.
pub async fn figures(sizes: &Sizes) -> Result<Vec<Figure>, String> {
    let run_for = if sizes.quick {
        Duration::from_secs(4)
    } else {
        Duration::from_secs(60)
    };
    let catalog = Catalog::load(&[kq_tests::workspace_root().join("lessons")]);
    if catalog.get(MISSION).is_none() {
        return Err(format!("the lessons have no mission {MISSION}"));
    }
    let names: String = (1..=LEARNERS)
        .map(|i| format!("learner-{i:02}\n"))
        .collect();
    let roster = Roster::parse("bench", &names).map_err(|e| e.to_string())?;
    let plan = ClassPlan::new("bench", roster, &catalog, 2.0, true, Timestamp::now())
        .map_err(|e| e.to_string())?;
    // As `kq classroom serve` sizes it: node-1 plus a default-sized node per four learners.
    let nodes = kq_sim::class_nodes(LEARNERS);
    let registry = catalog
        .get(MISSION)
        .map(|m| m.registry_sources())
        .unwrap_or_default();
    let server = Server::start(nodes, registry)?;
    let admin = client_of(&server.kubeconfig).await?;
    let out = scratch()?;
    let t0 = Instant::now();
    let prepared = classroom::prepare(
        &admin,
        &plan,
        &server.url,
        &server.ca_pem,
        out.path(),
        &mut |_| {},
    )
    .await
    .map_err(|e| format!("preparing the class: {e}"))?;
    progress(format!(
        "class of {LEARNERS} prepared ({} missions each) in {:.1} s",
        plan.missions.len(),
        t0.elapsed().as_secs_f64()
    ));
    let mut learners = Vec::new();
    let mut teacher = None;
    for (who, path) in &prepared.kubeconfigs {
        if who == classroom::TEACHER_ACCOUNT {
            let yaml = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            teacher = Some(client_of(&yaml).await?);
            continue;
        }
        let yaml = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let seated = catalog.seated(who, &plan.missions);
        let mission = seated
            .get(MISSION)
            .cloned()
            .ok_or_else(|| format!("{MISSION} is not in the class"))?;
        learners.push((who.clone(), client_of(&yaml).await?, mission));
    }

    let cpu_before = cpu_seconds_of_threads(SERVER_THREADS)?;
    let started = Instant::now();
    let until = started + run_for;
    let mut runs = Vec::new();
    for (who, client, mission) in learners {
        runs.push(tokio::spawn(async move {
            let t = Instant::now();
            start_mission(&client, &mission, ClusterKind::Classroom)
                .await
                .map_err(|e| format!("{who}: starting {MISSION}: {e}"))?;
            let start_ms = ms(t.elapsed());
            // The session's first report to the class, as the app sends it at the start.
            let now = Timestamp::now();
            let mut saved = kq_engine::progress::Progress::default();
            saved
                .set_learner_name(&who)
                .map_err(|e| format!("{who}: {e}"))?;
            saved.start(MISSION, now);
            let export = saved.export_named(now).map_err(|e| format!("{who}: {e}"))?;
            classroom::report_progress(&client, &who, &export, Some(MISSION), Some(now), now)
                .await
                .map_err(|e| format!("{who}: reporting to the class: {e}"))?;
            let samples = poll(client, who, mission.namespace(), until).await?;
            Ok::<_, String>((start_ms, samples))
        }));
    }
    let mut samples = Vec::new();
    let mut starts = Vec::new();
    for r in runs {
        let (start_ms, s) = r
            .await
            .map_err(|e| format!("a learner's task failed: {e}"))??;
        starts.push(start_ms);
        samples.extend(s);
    }
    let elapsed = started.elapsed();
    let cpu = cpu_seconds_of_threads(SERVER_THREADS)? - cpu_before;
    let rss = rss_bytes()? as f64 / (1024.0 * 1024.0);
    let p99 = percentile(&samples, 99.0);
    // The teacher's live view: one read of the whole class, as each refresh does (the first
    // read warms the client's connections, as the window's first refresh does).
    let teacher = teacher.ok_or("prepare wrote no teacher kubeconfig")?;
    let mut reads = Vec::new();
    let mut seen = 0;
    for _ in 0..4 {
        let t = Instant::now();
        let view = classroom::read_class(&teacher, &catalog, Timestamp::now())
            .await
            .map_err(|e| format!("the teacher reads the class: {e}"))?;
        reads.push(ms(t.elapsed()));
        seen = view.learners.iter().filter(|r| r.stage.is_some()).count();
    }
    if seen != LEARNERS {
        return Err(format!(
            "the class view shows a stage for {seen} of {LEARNERS} learners"
        ));
    }
    let reads = &reads[1..];
    drop(server);
    let secs = elapsed.as_secs_f64();
    Ok(vec![
        Figure::new(
            "class.view_read_ms_30_learners",
            percentile(reads, 100.0),
            "ms",
            format!(
                "slowest of {} reads of the live class view with the teacher's token ({LEARNERS} \
                 learners, each namespace's pods, workloads and events; median {:.0} ms)",
                reads.len(),
                super::median(reads)
            ),
        )
        .target(Op::AtMost, 1000.0),
        Figure::new(
            "class.server_cpu_s_30_learners",
            cpu,
            "s",
            format!(
                "CPU of the class server's 2 threads over {secs:.0} s while {LEARNERS} learners \
                 start {MISSION} at once and poll it every second ({:.0}% of one core)",
                100.0 * cpu / secs
            ),
        ),
        Figure::new(
            "class.rss_mb_30_learners",
            rss,
            "MB",
            format!(
                "resident set after {secs:.0} s: the server with {} namespaces and {LEARNERS} \
                 crash-looping pods, plus the {LEARNERS} learners' clients",
                LEARNERS * plan.missions.len()
            ),
        )
        .target(Op::AtMost, 300.0),
        Figure::new(
            "class.api_p99_ms_30_learners",
            p99,
            "ms",
            format!(
                "p99 of {} learner requests (each second their pods, events and progress \
                 ConfigMap); the {LEARNERS} mission starts at once took {:.0} ms (median), \
                 {:.0} ms (p99)",
                samples.len(),
                super::median(&starts),
                percentile(&starts, 99.0)
            ),
        ),
    ])
}
