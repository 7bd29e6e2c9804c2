//! A lesson played through the engine on its own embedded cluster whose clock moves only when
//! the test says so: what mission CI, the shortcut tests and the drain tests share.

use std::path::Path;
use std::time::Duration;

use kq_engine::mission::{
    Mission, Objective, ObjectiveResult, REGISTRY_FILE, all_met, load_mission,
};
use kq_engine::session::read::{NamespaceRead, read_namespace};
use kq_engine::session::{ClusterKind, start_mission};
use kq_sim::ClusterConfig;

use crate::cluster::{Kubectl, Run, TestCluster, kube_config, kubectl_binaries, wait_with_limit};

/// The step between two looks at the cluster.
pub const STEP_SECS: u64 = 5;

/// A mission started as the app starts it, on a fresh cluster with a paused clock.
pub struct PlayedLesson {
    pub tc: TestCluster,
    pub client: kube::Client,
    pub mission: Mission,
    pub ns: String,
}

/// The bundled lesson folder `folder` (`13-drain-blocked-by-pdb`).
pub fn bundled(folder: &str) -> std::path::PathBuf {
    crate::workspace_root().join("lessons").join(folder)
}

impl PlayedLesson {
    /// The lesson in `dir` on a fresh cluster, its images added as the app adds them (the
    /// lessons root's `registry.yaml`, then the mission's own), and the mission started.
    pub fn start(dir: &Path) -> PlayedLesson {
        let mission = load_mission(dir)
            .unwrap_or_else(|e| panic!("the lesson {} does not load: {e}", dir.display()));
        let tc = TestCluster::start_with(ClusterConfig {
            speed: 0.0,
            ..ClusterConfig::default()
        });
        let registries = dir
            .parent()
            .into_iter()
            .chain([dir])
            .map(|d| d.join(REGISTRY_FILE))
            .filter(|f| f.is_file());
        for file in registries {
            let yaml = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            tc.cluster()
                .runtime()
                .add_catalog_yaml(&yaml, &file.display().to_string())
                .unwrap_or_else(|e| panic!("the registry refuses {}: {e}", file.display()));
        }
        // Without the kube client's own retries of 503: an endpoint that refuses answers the
        // service-http objectives at once, as it answers kubectl (client-go retries only on a
        // Retry-After), instead of after the probe's timeout at every step.
        let mut config = tc.block_on(kube_config(tc.cluster()));
        config.default_retry = false;
        // The client spawns its buffer task: build it on the cluster's runtime.
        let client = tc.block_on(async move {
            kube::Client::try_from(config).expect("a kube client for the embedded cluster")
        });
        let started = tc
            .block_on(start_mission(&client, &mission, ClusterKind::Embedded))
            .unwrap_or_else(|e| panic!("start_mission fails on a fresh cluster: {e}"));
        assert!(
            !started.replaced_leftovers,
            "a fresh cluster has no leftovers to clear"
        );
        tc.cluster().settle();
        let ns = mission.namespace();
        PlayedLesson {
            tc,
            client,
            mission,
            ns,
        }
    }

    /// Moves the cluster's clock on by `secs`, every controller acting on the way.
    pub fn advance(&self, secs: u64) {
        self.tc.cluster().advance(Duration::from_secs(secs));
    }

    /// The namespace as a session would see it now, read for `objectives`.
    pub fn read(&self, objectives: &[Objective]) -> NamespaceRead {
        let now = self.tc.cluster().clock().now();
        self.tc
            .block_on(read_namespace(&self.client, &self.ns, objectives, now))
            .unwrap_or_else(|e| panic!("reading {} fails: {e}", self.ns))
    }

    /// `objectives`' results now.
    pub fn evaluate(&self, objectives: &[Objective]) -> Vec<ObjectiveResult> {
        self.read(objectives).evaluate(objectives)
    }

    /// The mission's own objectives' results now.
    pub fn objectives(&self) -> Vec<ObjectiveResult> {
        self.evaluate(&self.mission.objectives)
    }

    /// Advances `secs` in steps, failing as soon as every objective is met; returns the
    /// objectives at the end.
    pub fn stays_unsolved(&self, secs: u64, what: &str) -> Vec<ObjectiveResult> {
        let mut t = 0;
        loop {
            let results = self.objectives();
            assert!(
                !all_met(&results),
                "{what} meets every objective after {t} s:\n{}",
                results_text(&results)
            );
            if t >= secs {
                return results;
            }
            self.advance(STEP_SECS);
            t += STEP_SECS;
        }
    }

    /// Advances in steps until every objective is met, failing after `limit` seconds; returns
    /// the objectives then.
    pub fn solves_within(&self, limit: u64, what: &str) -> Vec<ObjectiveResult> {
        let mut t = 0;
        loop {
            let results = self.objectives();
            if all_met(&results) {
                return results;
            }
            assert!(
                t < limit,
                "{what} does not solve the mission in {limit} s:\n{}",
                results_text(&results)
            );
            self.advance(STEP_SECS);
            t += STEP_SECS;
        }
    }
}

impl PlayedLesson {
    /// The newest versioned kubectl on the machine (the unversioned one on PATH otherwise),
    /// pointed at this cluster.
    pub fn newest_kubectl(&self) -> Kubectl {
        newest_kubectl(&self.tc)
    }

    /// Runs real `kubectl drain NODE --ignore-daemonsets --delete-emptydir-data` as the
    /// learner does, giving up after `timeout_secs` of wall time (`--timeout`), while the
    /// paused clock moves a virtual second every 20 ms, so evicted pods end and their
    /// replacements start while kubectl waits and retries.
    pub fn drain(&self, k: &Kubectl, node: &str, timeout_secs: u64) -> Run {
        let timeout = format!("--timeout={timeout_secs}s");
        let args = [
            "drain",
            node,
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            timeout.as_str(),
        ];
        let mut c = k.command(&args);
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let cmd = format!("kubectl.{} {}", k.label, args.join(" "));
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd}: {e}"));
        let limit = Duration::from_secs(timeout_secs + 30);
        let waiting = std::thread::spawn(move || wait_with_limit(child, limit));
        while !waiting.is_finished() {
            self.advance(1);
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = waiting.join().expect("the drain's waiter does not panic");
        self.tc.cluster().settle();
        Run {
            cmd,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// The newest versioned kubectl on the machine (the unversioned one on PATH otherwise).
pub fn newest_kubectl(tc: &TestCluster) -> Kubectl {
    let all = kubectl_binaries();
    let (label, path) = all
        .iter()
        .rfind(|(l, _)| l.starts_with("1."))
        .or_else(|| all.last())
        .cloned()
        .expect("kubectl_binaries finds at least one kubectl");
    tc.kubectl(&label, &path)
}

/// One line per objective: `  id [Met]: reason`.
pub fn results_text(results: &[ObjectiveResult]) -> String {
    results
        .iter()
        .map(|r| format!("  {} [{:?}]: {}", r.id, r.status, r.reason))
        .collect::<Vec<_>>()
        .join("\n")
}
