//! The `node-drained` and `budget-protects` objectives on the embedded cluster, played with the
//! drain-blocked-by-pdb mission and real kubectl as a learner plays it: the shortcuts a learner
//! may reach for do not solve it (uncordoning the node instead of draining it, deleting the
//! budget, scaling the Deployment to zero), while another real fix (a third replica under the
//! same budget) does, each judged as the app's session judges it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kq_engine::mission::{Mission, ObjectiveResult, ObjectiveStatus, all_met, load_mission};
use kq_engine::session::read::read_namespace;
use kq_engine::session::{ClusterKind, start_mission};
use kq_sim::ClusterConfig;
use kq_tests::cluster::{
    Kubectl, Run, TestCluster, kube_client, kubectl_binaries, wait_with_limit,
};

const LESSON: &str = "13-drain-blocked-by-pdb";
const NODE: &str = "node-2";

/// The mission started on a fresh cluster with a paused clock, and the newest kubectl.
struct Drill {
    tc: TestCluster,
    client: kube::Client,
    mission: Mission,
    ns: String,
    k: Kubectl,
}

fn lesson_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../lessons")
        .join(LESSON)
}

impl Drill {
    fn start() -> Drill {
        let mission = load_mission(&lesson_dir()).expect("the mission loads");
        let tc = TestCluster::start_with(ClusterConfig {
            speed: 0.0,
            ..ClusterConfig::default()
        });
        let client = tc.block_on(kube_client(tc.cluster()));
        tc.block_on(start_mission(&client, &mission, ClusterKind::Embedded))
            .expect("the mission starts");
        tc.cluster().settle();
        let (label, path) = kubectl_binaries()
            .into_iter()
            .rfind(|(l, _)| l.starts_with("1."))
            .expect("a versioned kubectl");
        let k = tc.kubectl(&label, &path);
        let ns = mission.namespace();
        let d = Drill {
            tc,
            client,
            mission,
            ns,
            k,
        };
        d.advance(30);
        d
    }

    fn advance(&self, secs: u64) {
        for _ in 0..secs {
            self.tc.cluster().advance(Duration::from_secs(1));
        }
    }

    fn objectives(&self) -> Vec<ObjectiveResult> {
        let now = self.tc.cluster().clock().now();
        self.tc
            .block_on(read_namespace(
                &self.client,
                &self.ns,
                &self.mission.objectives,
                now,
            ))
            .expect("the namespace reads")
            .evaluate(&self.mission.objectives)
    }

    fn status(&self, id: &str) -> (ObjectiveStatus, String) {
        let r = self.objectives();
        let o = r
            .iter()
            .find(|o| o.id == id)
            .unwrap_or_else(|| panic!("no objective {id}"));
        (o.status, o.reason.clone())
    }

    fn kubectl(&self, args: &[&str]) -> Run {
        let r = self.k.run(args);
        assert!(r.ok(), "{r}");
        self.tc.cluster().settle();
        r
    }

    /// `kubectl drain node-2 --ignore-daemonsets --timeout=…` while the clock moves.
    fn drain(&self, timeout_secs: u64) -> Run {
        let timeout = format!("--timeout={timeout_secs}s");
        let args = ["drain", NODE, "--ignore-daemonsets", timeout.as_str()];
        let mut c = self.k.command(&args);
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = c.spawn().expect("kubectl starts");
        let limit = Duration::from_secs(timeout_secs + 30);
        let waiting = std::thread::spawn(move || wait_with_limit(child, limit));
        while !waiting.is_finished() {
            self.advance(1);
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = waiting.join().expect("the waiter does not panic");
        self.tc.cluster().settle();
        Run {
            cmd: format!("kubectl.{} {}", self.k.label, args.join(" ")),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Advances a minute and asserts the mission is still unsolved, returning the results.
    fn stays_unsolved(&self, what: &str) -> Vec<ObjectiveResult> {
        for _ in 0..12 {
            self.advance(5);
            let r = self.objectives();
            assert!(!all_met(&r), "{what} solves the mission: {r:#?}");
        }
        self.objectives()
    }
}

/// The blocked drain the learner meets, then `kubectl uncordon`: the node is usable again and
/// the shop untouched, but the node was never drained.
#[test]
fn uncordoning_instead_of_draining_is_no_fix() {
    let d = Drill::start();
    let blocked = d.drain(8);
    assert!(
        !blocked.ok(),
        "the broken state lets the drain finish: {blocked}"
    );
    assert!(
        blocked.stderr.contains(
            "(will retry after 5s): Cannot evict pod as it would violate the pod's disruption \
             budget."
        ),
        "{blocked}"
    );
    assert_eq!(
        d.status("node-2-drained").0,
        ObjectiveStatus::NotMet,
        "cordoned, but the web pods are still there"
    );
    d.kubectl(&["uncordon", NODE]);
    d.stays_unsolved("uncordoning node-2");
    let (status, why) = d.status("node-2-drained");
    assert_eq!(status, ObjectiveStatus::NotMet);
    assert!(why.contains("node-2 is not cordoned"), "{why}");
}

/// Deleting the budget lets the drain finish at once, and leaves the shop unprotected.
#[test]
fn deleting_the_budget_is_no_fix() {
    let d = Drill::start();
    d.kubectl(&["delete", "pdb", "web", "-n", &d.ns]);
    let run = d.drain(60);
    assert!(run.ok(), "with no budget the drain finishes: {run}");
    let r = d.stays_unsolved("deleting the budget, then draining");
    let by: Vec<&ObjectiveResult> = r
        .iter()
        .filter(|o| o.status != ObjectiveStatus::Met)
        .collect();
    assert_eq!(by.len(), 1, "only the budget objective catches it: {r:#?}");
    assert_eq!(by[0].id, "web-protected");
    assert!(
        by[0]
            .reason
            .contains("there is no PodDisruptionBudget named web"),
        "{r:#?}"
    );
}

/// Scaling the shop to zero empties the node without any eviction, and takes the shop down.
#[test]
fn scaling_to_zero_is_no_fix() {
    let d = Drill::start();
    d.kubectl(&["scale", "deployment", "web", "--replicas=0", "-n", &d.ns]);
    d.advance(60);
    let run = d.drain(60);
    assert!(run.ok(), "with no web pods the drain finishes: {run}");
    let r = d.stays_unsolved("scaling web to zero, then draining");
    for id in ["web-available", "web-protected"] {
        let o = r.iter().find(|o| o.id == id).expect("objective");
        assert_eq!(o.status, ObjectiveStatus::NotMet, "{r:#?}");
    }
}

/// A third replica under the unchanged budget (`minAvailable: 2`) is a real fix: one pod may
/// go at a time, the drain finishes and every objective is met.
#[test]
fn a_third_replica_lets_the_drain_finish_and_solves_the_mission() {
    let d = Drill::start();
    d.kubectl(&["scale", "deployment", "web", "--replicas=3", "-n", &d.ns]);
    d.advance(30);
    let run = d.drain(90);
    assert!(
        run.ok(),
        "with 3 replicas and minAvailable 2 the drain finishes: {run}"
    );
    assert!(
        run.stdout.contains(&format!("node/{NODE} drained")),
        "{run}"
    );
    d.advance(30);
    let r = d.objectives();
    assert!(all_met(&r), "{r:#?}");
}
