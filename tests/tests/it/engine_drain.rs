//! The `node-drained` and `budget-protects` objectives on the embedded cluster, played with the
//! drain-blocked-by-pdb mission and real kubectl as a learner plays it: the shortcuts a learner
//! may reach for do not solve it (uncordoning the node instead of draining it, deleting the
//! budget, scaling the Deployment to zero), while another real fix (a third replica under the
//! same budget) does, each judged as the app's session judges it.

use kq_engine::mission::{ObjectiveResult, ObjectiveStatus, all_met};
use kq_tests::cluster::{Kubectl, Run};
use kq_tests::lesson::{PlayedLesson, bundled};

const LESSON: &str = "13-drain-blocked-by-pdb";
const NODE: &str = "node-2";

/// The mission started on a fresh cluster with a paused clock, and the newest kubectl.
struct Drill {
    play: PlayedLesson,
    k: Kubectl,
}

impl std::ops::Deref for Drill {
    type Target = PlayedLesson;
    fn deref(&self) -> &PlayedLesson {
        &self.play
    }
}

impl Drill {
    fn start() -> Drill {
        let play = PlayedLesson::start(&bundled(LESSON));
        let k = play.newest_kubectl();
        play.advance(30);
        Drill { play, k }
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
    fn drain_node(&self, timeout_secs: u64) -> Run {
        self.drain(&self.k, NODE, timeout_secs)
    }

    /// Advances a minute and asserts the mission is still unsolved, returning the results.
    fn stays_unsolved_a_minute(&self, what: &str) -> Vec<ObjectiveResult> {
        self.play.stays_unsolved(60, what)
    }
}

/// The blocked drain the learner meets, then `kubectl uncordon`: the node is usable again and
/// the shop untouched, but the node was never drained.
#[test]
fn uncordoning_instead_of_draining_is_no_fix() {
    let d = Drill::start();
    let blocked = d.drain_node(8);
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
    d.stays_unsolved_a_minute("uncordoning node-2");
    let (status, why) = d.status("node-2-drained");
    assert_eq!(status, ObjectiveStatus::NotMet);
    assert!(why.contains("node-2 is not cordoned"), "{why}");
}

/// Deleting the budget lets the drain finish at once, and leaves the shop unprotected.
#[test]
fn deleting_the_budget_is_no_fix() {
    let d = Drill::start();
    d.kubectl(&["delete", "pdb", "web", "-n", &d.ns]);
    let run = d.drain_node(60);
    assert!(run.ok(), "with no budget the drain finishes: {run}");
    let r = d.stays_unsolved_a_minute("deleting the budget, then draining");
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
    let run = d.drain_node(60);
    assert!(run.ok(), "with no web pods the drain finishes: {run}");
    let r = d.stays_unsolved_a_minute("scaling web to zero, then draining");
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
    let run = d.drain_node(90);
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
