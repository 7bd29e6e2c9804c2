//! A whole mission session on a paused embedded cluster, as the desktop app runs one: the
//! lesson folder is written from a test's files, the mission is started through the app's
//! `kube` client, and `run_session` reports its updates on a channel the test reads, with
//! solves recorded in a progress file. Tests move the virtual clock themselves, so every
//! reason and every solve arrives at the same virtual moment on each run.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use kq_engine::ipc::SessionUpdate;
use kq_engine::mission::{Mission, ObjectiveStatus, load_mission};
use kq_engine::progress::JsonFileStore;
use kq_engine::session::{
    ClusterKind, SessionConfig, SessionOutcome, StoreRecorder, run_session, start_mission,
};

use crate::cluster::{TestCluster, kube_client, kube_config};

/// A running mission session and everything a test needs to drive it. Fields drop in the
/// order listed: the session's runtime goes before the cluster it talks to.
pub struct MissionSession {
    /// The `run_session` task; await it (with a bound) to read how the session ended.
    pub session: tokio::task::JoinHandle<SessionOutcome>,
    /// Every update the session sends, in order.
    pub rx: Receiver<SessionUpdate>,
    /// The app's client for the cluster (the editor's Apply goes through it).
    pub client: kube::Client,
    /// The mission's namespace.
    pub ns: String,
    /// The runtime the session and the client run on (one worker, as the app's).
    pub rt: tokio::runtime::Runtime,
    /// The embedded cluster, its clock paused.
    pub tc: TestCluster,
    /// The loaded lesson.
    pub mission: Mission,
    /// Holds the lesson folder and the progress file.
    pub dir: tempfile::TempDir,
    /// Reveals hints: each value sent is the number the learner has revealed, as the app sends
    /// it to the session.
    pub hints: tokio::sync::watch::Sender<u32>,
}

impl MissionSession {
    /// How the session ended, waiting at most 10 s of real time for it to stop.
    pub fn outcome(self) -> SessionOutcome {
        let session = self.session;
        self.rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), session).await })
            .expect("the session ends after the solve")
            .expect("the session task")
    }
}

/// Write a lesson folder named `folder` from `(path inside the lesson, text)` pairs, load it,
/// start its mission on a fresh paused cluster and run its session (50 ms ticks on the
/// cluster's clock, stopping once solved).
pub fn start_session(folder: &str, files: &[(&str, String)]) -> MissionSession {
    start_session_on(TestCluster::paused(), folder, files)
}

/// [`start_session`] on a cluster the test started itself (several nodes, another
/// configuration); its clock should be paused.
pub fn start_session_on(tc: TestCluster, folder: &str, files: &[(&str, String)]) -> MissionSession {
    start(tc, folder, files, None)
}

/// [`start_session`] with the session watching as `user` (impersonated by the admin
/// credentials), as a learner whose account RBAC limits: the mission is still started as
/// admin, and its manifests should grant `user` what the test wants it to read.
pub fn start_session_as(folder: &str, files: &[(&str, String)], user: &str) -> MissionSession {
    start(TestCluster::paused(), folder, files, Some(user))
}

/// Mission `mission` (a bundled lesson, loaded by the test) on a fresh paused cluster, run as
/// the desktop app runs it for a learner: started through the app's own client (its requests
/// name KubeQuest as their user agent, so the audit log tells them from the learner's), the
/// session reading the cluster's audit log and following the hints revealed through
/// [`MissionSession::hints`]; with `stop_when_solved` the session ends at the solve.
pub fn start_learner_session(mission: Mission, stop_when_solved: bool) -> MissionSession {
    let dir = tempfile::tempdir().expect("temp dir");
    let how = How {
        user: None,
        as_app: true,
        stop_when_solved,
    };
    run(TestCluster::paused(), mission, dir, how)
}

/// How [`run`] starts a mission and runs its session.
struct How<'a> {
    /// The session watches as this user (impersonated by the admin credentials).
    user: Option<&'a str>,
    /// The mission is started through the app's own client and the session reads the
    /// cluster's audit log.
    as_app: bool,
    stop_when_solved: bool,
}

fn start(
    tc: TestCluster,
    folder: &str,
    files: &[(&str, String)],
    user: Option<&str>,
) -> MissionSession {
    let dir = tempfile::tempdir().expect("temp dir");
    let lesson = dir.path().join(folder);
    for (rel, text) in files {
        let path = lesson.join(rel);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let mission = load_mission(&lesson).unwrap_or_else(|e| panic!("the lesson loads: {e}"));
    let how = How {
        user,
        as_app: false,
        stop_when_solved: true,
    };
    run(tc, mission, dir, how)
}

/// Starts `mission` on `tc` and runs its session (50 ms ticks on the cluster's clock), its
/// progress file in `dir`.
fn run(tc: TestCluster, mission: Mission, dir: tempfile::TempDir, how: How) -> MissionSession {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime for the session");
    let client = if how.as_app {
        rt.block_on(async {
            kq_engine::connect::app_client(kube_config(tc.cluster()).await)
                .expect("the app's client")
        })
    } else {
        rt.block_on(kube_client(tc.cluster()))
    };
    rt.block_on(start_mission(&client, &mission, ClusterKind::Embedded))
        .unwrap_or_else(|e| panic!("the mission starts: {e}"));
    tc.cluster().settle();
    let ns = mission.namespace();
    let session_client = match how.user {
        None => client.clone(),
        Some(user) => rt.block_on(async {
            let mut config = kube_config(tc.cluster()).await;
            config.auth_info.impersonate = Some(user.to_owned());
            kube::Client::try_from(config).expect("an impersonating client")
        }),
    };
    let clock = Arc::clone(tc.cluster().clock());
    let audit = how.as_app.then(|| tc.cluster().audit());
    let (hints, hints_revealed) = tokio::sync::watch::channel(0);
    let (tx, rx) = std::sync::mpsc::channel();
    let progress = dir.path().join("progress.json");
    let stop_when_solved = how.stop_when_solved;
    let (m, c, n) = (mission.clone(), session_client, ns.clone());
    let session = rt.spawn(async move {
        let mut recorder = StoreRecorder {
            store: JsonFileStore::new(&progress),
        };
        let mut config = SessionConfig {
            clock: Arc::new(move || clock.now()),
            tick: Duration::from_millis(50),
            stop_when_solved,
            cluster: ClusterKind::Embedded,
            hints_revealed,
            ..SessionConfig::default()
        };
        if let Some(audit) = audit {
            config.audit = audit;
        }
        run_session(c, &m, &n, config, &mut recorder, move |u| {
            let _ = tx.send(u);
        })
        .await
    });
    MissionSession {
        session,
        rx,
        client,
        ns,
        rt,
        tc,
        mission,
        dir,
        hints,
    }
}

/// Read updates (keeping each in `all`) until one satisfies `pred`, moving the virtual clock
/// `step` seconds between polls (0: leave it). Panics after 30 s of real time, showing the
/// last five updates.
pub fn wait_for(
    tc: &TestCluster,
    rx: &Receiver<SessionUpdate>,
    all: &mut Vec<SessionUpdate>,
    step: u64,
    what: &str,
    pred: impl Fn(&SessionUpdate) -> bool,
) -> SessionUpdate {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        while let Ok(u) = rx.try_recv() {
            all.push(u.clone());
            if pred(&u) {
                return u;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no update with {what} within 30 s; got {:#?}",
            all.iter().rev().take(5).collect::<Vec<_>>()
        );
        if step > 0 {
            tc.cluster().advance(Duration::from_secs(step));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The first objective's status and reason, when the update reports objectives.
/// The latest update already read that satisfies `pred`, or else the next one to arrive (as
/// [`wait_for`]): for two updates whose order the session does not fix.
pub fn seen_or_wait_for(
    tc: &TestCluster,
    rx: &Receiver<SessionUpdate>,
    all: &mut Vec<SessionUpdate>,
    step: u64,
    what: &str,
    pred: impl Fn(&SessionUpdate) -> bool,
) -> SessionUpdate {
    match all.iter().rev().find(|u| pred(u)) {
        Some(u) => u.clone(),
        None => wait_for(tc, rx, all, step, what, pred),
    }
}

pub fn first_objective(u: &SessionUpdate) -> Option<(ObjectiveStatus, String)> {
    match u {
        SessionUpdate::Objectives { results, .. } => {
            results.first().map(|r| (r.status, r.reason.clone()))
        }
        _ => None,
    }
}
