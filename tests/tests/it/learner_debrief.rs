//! The personal debrief of mission 02 (the image that never arrives), played on the embedded
//! cluster three ways, as learners do: `kubectl set image`, the editor's Apply, and deleting the
//! pod and creating it again with kubectl. Each debrief must show that learner's own commands
//! (read from the API server's audit log, the app's own traffic left out), the image line of
//! their change as a diff, the time and hints, the lesson's reference fix, and the solve must
//! keep it in the progress file for the map.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kq_engine::activity::CommandGroup;
use kq_engine::debrief::{ChangeOutcome, PersonalDebrief};
use kq_engine::ipc::{DebriefView, SessionUpdate};
use kq_engine::mission::{Mission, load_mission};
use kq_engine::pipeline::PipelineChange;
use kq_engine::progress::{JsonFileStore, ProgressStore};
use kq_tests::cluster::{Kubectl, kubectl_binaries};
use kq_tests::session::{MissionSession, start_learner_session, wait_for};

fn lesson_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("lessons")
        .join("02-image-pull-backoff")
}

struct Play {
    kubectl: Kubectl,
    s: MissionSession,
    seen: Vec<SessionUpdate>,
}

impl Play {
    /// Mission 02 started through the app's client on a paused cluster, its session reading
    /// the cluster's audit log, until `web` is seen stuck pulling.
    fn start() -> Play {
        let mission = load_mission(&lesson_dir()).unwrap_or_else(|e| panic!("the lesson: {e}"));
        let s = start_learner_session(mission, true);
        let (label, path) = kubectl_binaries().pop().expect("a kubectl");
        let kubectl = s.tc.kubectl(&label, &path);
        let mut play = Play {
            kubectl,
            s,
            seen: Vec::new(),
        };
        wait_for(
            &play.s.tc,
            &play.s.rx,
            &mut play.seen,
            1,
            "web stuck pulling",
            |u| {
                matches!(u, SessionUpdate::Pipeline { change: PipelineChange::Upserted { pipeline } }
                if pipeline.pod == "web"
                    && pipeline.diagnosis.as_ref().is_some_and(|d| d.reason == "ImagePullBackOff"))
            },
        );
        play
    }

    fn kubectl(&self, args: &[&str]) -> String {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-n", self.s.ns.as_str()]);
        let run = self.kubectl.run(&all);
        assert!(run.ok(), "{run}");
        run.stdout
    }

    /// Moves the clock until the session reports the solve; answers the debrief it carried and
    /// the one the progress file kept.
    fn solve(mut self) -> (PersonalDebrief, Play) {
        let solved = wait_for(&self.s.tc, &self.s.rx, &mut self.seen, 1, "Solved", |u| {
            matches!(u, SessionUpdate::Solved { .. })
        });
        let SessionUpdate::Solved {
            debrief,
            debrief_html,
            progress_error,
            ..
        } = solved
        else {
            unreachable!()
        };
        assert_eq!(progress_error, None);
        let debrief = debrief.expect("the solve carries the personal debrief");
        // The lesson's commands section, as the window shows it, is the learner's.
        for c in &debrief.commands {
            assert!(
                debrief_html.contains(&c.text),
                "{} in the lesson's commands section: {debrief_html}",
                c.text
            );
        }
        let stored = JsonFileStore::new(self.s.dir.path().join("progress.json"))
            .read()
            .expect("the progress file")
            .progress;
        assert_eq!(
            stored.debriefs.get("image-pull-backoff"),
            Some(&debrief),
            "the solve keeps the debrief for the map"
        );
        (debrief, self)
    }
}

impl Drop for Play {
    fn drop(&mut self) {
        self.s.session.abort();
    }
}

fn texts(d: &PersonalDebrief, group: CommandGroup) -> Vec<&str> {
    d.commands
        .iter()
        .filter(|c| c.group == group)
        .map(|c| c.text.as_str())
        .collect()
}

/// What every learner's debrief of mission 02 shows, whatever the fix.
fn common(d: &PersonalDebrief, mission: &Mission) {
    assert_eq!(d.broken.len(), 1, "{:#?}", d.broken);
    // The first diagnosis: the failed pull, before the kubelet's back-off.
    assert_eq!(
        (
            d.broken[0].pod.as_str(),
            d.broken[0].stage.as_str(),
            d.broken[0].reason.as_str()
        ),
        ("web", "Image pulled", "ErrImagePull"),
        "{:#?}",
        d.broken
    );
    assert_eq!(d.hints_total, 3);
    assert_eq!(d.hints_used, 0);
    assert!(d.time_to_fix_seconds > 0, "the fix took cluster time");
    let md = d.to_markdown();
    assert!(
        md.contains("The reference fix points the pod at a tag that exists"),
        "the lesson's reference fix follows: {md}"
    );
    assert!(md.contains("## Commands you mastered"));
    assert!(md.contains("Time to fix:") && md.contains("Hints used: 0 of 3"));
    assert!(
        !d.commands.iter().any(|c| c.text.contains("watch")
            || c.text.starts_with("list")
            || c.text.starts_with("get ")),
        "the app's own requests are not the learner's: {:#?}",
        d.commands
    );
    let view = DebriefView::new(mission, Some(d.clone()));
    assert!(view.html.contains("What you changed") && view.html.contains("The reference fix"));
    assert!(!view.html.contains("<script"));
}

fn image_line_changed(d: &PersonalDebrief, to: &str, outcome: ChangeOutcome) {
    let web = d
        .changes
        .iter()
        .find(|c| c.kind == "Pod" && c.name == "web")
        .unwrap_or_else(|| panic!("web's change: {:#?}", d.changes));
    assert_eq!(web.outcome, outcome, "{}", web.diff);
    let changed: Vec<&str> = web
        .diff
        .lines()
        .filter(|l| l.starts_with(['-', '+']) && !l.starts_with("---") && !l.starts_with("+++"))
        .collect();
    assert_eq!(
        changed,
        [
            "-  - image: nginx:nonexistent-tag-xyz-123".to_string(),
            format!("+  - image: {to}")
        ],
        "only the image line changed:\n{}",
        web.diff
    );
}

#[test]
fn a_fix_with_kubectl_set_image_is_the_learner_s_own_in_the_debrief() {
    let play = Play::start();
    play.kubectl(&["get", "pods"]);
    play.kubectl(&["describe", "pod", "web"]);
    play.kubectl(&["set", "image", "pod/web", "web=nginx:1.27"]);
    play.kubectl(&["get", "pods"]);
    let (d, play) = play.solve();
    common(&d, &play.s.mission);
    assert_eq!(
        texts(&d, CommandGroup::Looked),
        ["kubectl get pods", "kubectl describe pod web"]
    );
    assert_eq!(
        texts(&d, CommandGroup::Changed),
        ["kubectl set image pod/web"]
    );
    assert_eq!(texts(&d, CommandGroup::Verified), ["kubectl get pods"]);
    image_line_changed(&d, "nginx:1.27", ChangeOutcome::Changed);
    assert!(d.matches_reference, "nginx:1.27 is the reference fix");
    assert_eq!(d.why_both_work(), None);
    // The lesson's commands this learner did not use stay, below theirs.
    let worth: Vec<&str> = d.worth_knowing.iter().map(|w| w.command.as_str()).collect();
    assert!(
        worth.iter().any(|w| w.contains("-o yaml"))
            && !worth.iter().any(|w| w.contains("describe")),
        "{worth:#?}"
    );
}

#[test]
fn a_fix_in_the_editor_is_recorded_by_the_app_and_shows_in_the_debrief() {
    let play = Play::start();
    play.kubectl(&["describe", "pod", "web"]);
    let fixed = std::fs::read_to_string(lesson_dir().join("manifests/pod.yaml"))
        .expect("the manifest")
        .replace("nginx:nonexistent-tag-xyz-123", "nginx:stable");
    let clock = Arc::clone(play.s.tc.cluster().clock());
    let r = play.s.rt.block_on(kq_engine::activity::apply_in_editor(
        &play.s.client,
        &play.s.tc.cluster().audit(),
        move || clock.now().as_millisecond(),
        &play.s.ns,
        "pod.yaml",
        &fixed,
    ));
    assert!(r.ok, "{r:?}");
    let (d, play) = play.solve();
    common(&d, &play.s.mission);
    assert_eq!(
        texts(&d, CommandGroup::Looked),
        ["kubectl describe pod web"]
    );
    assert_eq!(
        texts(&d, CommandGroup::Changed),
        ["Apply in the editor (pod/web)"]
    );
    image_line_changed(&d, "nginx:stable", ChangeOutcome::Changed);
    assert!(!d.matches_reference, "stable is not the reference's tag");
    let why = d
        .why_both_work()
        .expect("both fixes work, and the debrief says why");
    for o in &play.s.mission.objectives {
        assert!(why.contains(&o.title), "the objectives are listed: {why}");
    }
}

#[test]
fn replacing_the_pod_with_kubectl_shows_as_a_replacement_with_the_image_line() {
    let play = Play::start();
    let run = play.kubectl.run(&["logs", "web", "-n", &play.s.ns]);
    assert!(!run.ok(), "no container to read a log from yet: {run}");
    let file = play.s.dir.path().join("web.yaml");
    std::fs::write(
        &file,
        std::fs::read_to_string(lesson_dir().join("manifests/pod.yaml"))
            .expect("the manifest")
            .replace("nginx:nonexistent-tag-xyz-123", "nginx:1.27.3"),
    )
    .expect("write");
    play.kubectl(&["delete", "pod", "web", "--wait=false"]);
    // The pod goes when its kubelet has stopped it: move the clock until it is gone.
    let gone = || {
        play.s
            .tc
            .cluster()
            .store()
            .get::<k8s_openapi::api::core::v1::Pod>(&play.s.ns, "web")
            .is_err()
    };
    kq_tests::cluster::advance_until(&play.s.tc, 60, gone);
    play.kubectl(&["apply", "-f", file.to_str().expect("a path")]);
    let (d, play) = play.solve();
    common(&d, &play.s.mission);
    assert_eq!(
        texts(&d, CommandGroup::Changed),
        ["kubectl delete pod web", "kubectl apply pod/web"]
    );
    image_line_changed(&d, "nginx:1.27.3", ChangeOutcome::Replaced);
    assert!(d.why_both_work().is_some());
}
