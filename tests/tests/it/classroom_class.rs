//! A class of three learners on one embedded cluster, as a teacher runs it: `ada`, `bob` and
//! `cy` each start a different mission in their own namespace with their own kubeconfig, look
//! at it with real `kubectl` (every installed version takes a turn as some learner's kubectl),
//! are Forbidden in each other's namespaces and from the class's Secrets, and the teacher's
//! class view shows each learner's stage and reason as read from the cluster, changing live
//! when a learner fixes their mission with kubectl.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kq_engine::classroom::{self, ClassLearnerRow, ClassPlan, ClassView};
use kq_engine::mission::{Catalog, Mission, all_met};
use kq_engine::progress::Progress;
use kq_engine::session::read::read_namespace;
use kq_engine::session::{ClusterKind, start_mission};
use kq_tests::cluster::{Kubectl, TestCluster, kubectl_binaries};
use kq_tests::lesson::results_text;
use kq_tests::workspace_root;

/// Who plays what: the learner, their mission, the stage and reason it must show broken.
const SEATS: [(&str, &str, &str, &str); 3] = [
    ("ada", "crash-loop-backoff", "run", "CrashLoopBackOff"),
    ("bob", "image-pull-backoff", "pull", "ImagePullBackOff"),
    (
        "cy",
        "pending-insufficient-cpu",
        "schedule",
        "Unschedulable",
    ),
];

struct Class {
    tc: TestCluster,
    catalog: Catalog,
    plan: ClassPlan,
    out: PathBuf,
}

impl Class {
    fn kubeconfig(&self, who: &str) -> PathBuf {
        self.out.join(format!("{who}.kubeconfig"))
    }

    fn mission(&self, learner: &str, id: &str) -> Mission {
        self.catalog
            .seated(learner, &self.plan.missions)
            .get(id)
            .unwrap_or_else(|| panic!("{id} is one of the class's missions"))
            .clone()
    }

    fn client(&self, who: &str) -> kube::Client {
        self.tc
            .block_on(kq_tests::classroom::client_from(&self.kubeconfig(who)))
    }

    /// What the teacher's class view shows now.
    fn view(&self) -> ClassView {
        let teacher = self.client("teacher");
        let now = self.tc.cluster().clock().now();
        self.tc
            .block_on(classroom::read_class(&teacher, &self.catalog, now))
            .unwrap_or_else(|e| panic!("the teacher reads the class: {e}"))
    }

    fn row(&self, view: &ClassView, learner: &str) -> ClassLearnerRow {
        view.learners
            .iter()
            .find(|r| r.learner == learner)
            .unwrap_or_else(|| panic!("{learner} has a row in {:?}", view.learners))
            .clone()
    }

    /// Moves virtual time a second at a time until every seat shows what `want` says.
    fn advance_until_view(&self, limit_secs: u64, want: impl Fn(&ClassView) -> bool) -> ClassView {
        for _ in 0..limit_secs {
            let v = self.view();
            if want(&v) {
                return v;
            }
            self.tc.cluster().advance(Duration::from_secs(1));
        }
        let v = self.view();
        assert!(
            want(&v),
            "the class view never showed what was expected within {limit_secs} s; it shows:\n{}",
            classroom::render_table(&v, Duration::from_secs(600))
        );
        v
    }
}

fn class_of_three() -> Class {
    let tc = TestCluster::paused();
    let catalog = kq_tests::classroom::shipped_catalog();
    let plan = kq_tests::classroom::plan("monday", "# Monday's class\nada\nbob\ncy\n", &catalog);
    let out = kq_tests::classroom::prepare(&tc, &plan);
    Class {
        tc,
        catalog,
        plan,
        out,
    }
}

/// `kubectl` as `who`, with a HOME of its own.
fn kubectl_as(class: &Class, k: &(String, PathBuf), who: &str) -> Kubectl {
    class
        .tc
        .kubectl(&format!("{}-{who}", k.0), &k.1)
        .with_kubeconfig(&class.kubeconfig(who))
}

fn namespace(learner: &str, mission: &str) -> String {
    classroom::learner_namespace(learner, mission)
}

/// Starts `mission` for `learner` with the learner's own credentials and reports it to the
/// class, as the app's session does when a learner presses Start.
fn start_seat(class: &Class, learner: &str, mission: &str) {
    let client = class.client(learner);
    let m = class.mission(learner, mission);
    let started = class
        .tc
        .block_on(start_mission(&client, &m, ClusterKind::Classroom))
        .unwrap_or_else(|e| panic!("{learner} starts {mission}: {e}"));
    assert_eq!(started.namespace, namespace(learner, mission));
    let now = class.tc.cluster().clock().now();
    let mut progress = Progress::default();
    progress
        .set_learner_name(learner)
        .expect("a valid learner name");
    progress.start(mission, now);
    let export = progress.export_named(now).expect("a named learner exports");
    class
        .tc
        .block_on(classroom::report_progress(
            &client,
            learner,
            &export,
            Some(mission),
            Some(now),
            now,
        ))
        .unwrap_or_else(|e| panic!("{learner} reports to the class: {e}"));
}

fn objectives_met(class: &Class, learner: &str, mission: &str) -> bool {
    let m = class.mission(learner, mission);
    let client = class.client(learner);
    let now = class.tc.cluster().clock().now();
    let read = class
        .tc
        .block_on(read_namespace(&client, &m.namespace(), &m.objectives, now))
        .expect("the learner reads their own namespace");
    let results = read.evaluate(&m.objectives);
    if !all_met(&results) {
        eprintln!("{learner}/{mission}:\n{}", results_text(&results));
    }
    all_met(&results)
}

fn forbidden_line(user: &str, verb: &str, resource: &str, ns: &str) -> String {
    format!(
        "Error from server (Forbidden): {resource} is forbidden: User \
         \"system:serviceaccount:kq-classroom:{user}\" cannot {verb} resource \"{resource}\" in \
         API group \"\" in the namespace \"{ns}\""
    )
}

#[test]
fn three_learners_play_apart_and_the_teacher_sees_each_one_stuck_live() {
    let class = class_of_three();
    for (learner, mission, _, _) in SEATS {
        start_seat(&class, learner, mission);
    }

    // The teacher sees every learner on their mission, stuck where that mission breaks.
    let view = class.advance_until_view(120, |v| {
        SEATS.iter().all(|(learner, mission, stage, reason)| {
            v.learners.iter().any(|r| {
                r.learner == *learner
                    && r.mission.as_deref() == Some(*mission)
                    && r.stage.as_deref() == Some(*stage)
                    && r.reason.as_deref() == Some(*reason)
            })
        })
    });
    let table = classroom::render_table(&view, Duration::from_secs(600));
    for (learner, mission, stage, reason) in SEATS {
        let line = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(learner))
            .unwrap_or_else(|| panic!("{learner} has a line in `kq classroom status`:\n{table}"));
        for cell in [mission, stage, reason] {
            assert!(
                line.contains(cell),
                "{learner}'s line shows {cell}: {line}\n{table}"
            );
        }
    }

    // Every installed kubectl, each as one of the learners in turn.
    let kubectls = kubectl_binaries();
    let mut failures = Vec::new();
    for (i, k) in kubectls.iter().enumerate() {
        let (me, my_mission, _, _) = SEATS[i % SEATS.len()];
        let (other, other_mission, _, _) = SEATS[(i + 1) % SEATS.len()];
        let kubectl = kubectl_as(&class, k, me);
        let mine = namespace(me, my_mission);
        let theirs = namespace(other, other_mission);
        let mut check = |ok: bool, what: String| {
            if !ok {
                failures.push(format!("kubectl {} as {me}: {what}", k.0));
            }
        };

        let own = kubectl.run(&["get", "pods", "-n", &mine]);
        check(
            own.ok() && own.stdout.starts_with("NAME ") && own.stdout.lines().count() >= 2,
            format!("lists the pods of their own namespace\n{own}"),
        );
        let account = classroom::learner_account(me);
        let peek = kubectl.run(&["get", "pods", "-n", &theirs]);
        let want = forbidden_line(&account, "list", "pods", &theirs);
        check(
            !peek.ok() && peek.stderr.trim_end() == want,
            format!("is refused {other}'s pods with `{want}`\n{peek}"),
        );
        let secrets = kubectl.run(&["get", "secrets", "-n", classroom::CLASS_NAMESPACE]);
        let want = forbidden_line(&account, "list", "secrets", classroom::CLASS_NAMESPACE);
        check(
            !secrets.ok() && secrets.stderr.trim_end() == want,
            format!("is refused the class's Secrets with `{want}`\n{secrets}"),
        );
        let can_i = kubectl.run(&["auth", "can-i", "delete", "pods", "-n", &theirs]);
        check(
            can_i.stdout.trim() == "no",
            format!("`auth can-i delete pods` in {other}'s namespace says no\n{can_i}"),
        );
        let can_i = kubectl.run(&["auth", "can-i", "delete", "pods", "-n", &mine]);
        check(
            can_i.ok() && can_i.stdout.trim() == "yes",
            format!("`auth can-i delete pods` in their own namespace says yes\n{can_i}"),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // bob fixes his image in place with kubectl; ada replaces her pod with the reference fix.
    let newest = kubectls.last().expect("at least one kubectl");
    let bob = kubectl_as(&class, newest, "bob");
    let set = bob.run(&[
        "set",
        "image",
        "pod/web",
        "web=nginx:1.27",
        "-n",
        &namespace("bob", "image-pull-backoff"),
    ]);
    assert!(
        set.ok() && set.stdout.trim() == "pod/web image updated",
        "bob's kubectl set image answers as kubectl does:\n{set}"
    );
    let ada = kubectl_as(&class, newest, "ada");
    let fix = lesson_file("01-crash-loop-backoff/solution/pod.yaml");
    let replaced = run_while_time_moves(
        &class,
        &ada,
        &[
            "replace",
            "--force",
            "--grace-period=0",
            "-f",
            fix.to_str().expect("a UTF-8 path"),
            "-n",
            &namespace("ada", "crash-loop-backoff"),
        ],
    );
    assert!(
        replaced.ok(),
        "ada's kubectl replace --force works:\n{replaced}"
    );

    // The view follows: bob and ada reach ready, cy is still stuck at schedule.
    let view = class.advance_until_view(180, |v| {
        let stage = |l: &str| class.row(v, l).stage;
        stage("bob").as_deref() == Some("ready")
            && stage("ada").as_deref() == Some("ready")
            && stage("cy").as_deref() == Some("schedule")
    });
    assert_eq!(
        class.row(&view, "bob").reason,
        None,
        "a ready pod has no reason"
    );
    assert_eq!(
        class.row(&view, "cy").reason.as_deref(),
        Some("Unschedulable"),
        "cy, who changed nothing, is still stuck"
    );
    assert!(
        objectives_met(&class, "bob", "image-pull-backoff"),
        "bob's fix with kubectl meets every objective of his mission"
    );
    let mut waited = 0;
    while !objectives_met(&class, "ada", "crash-loop-backoff") {
        assert!(
            waited < 180,
            "ada's fix meets every objective within 3 virtual minutes"
        );
        class.tc.cluster().advance(Duration::from_secs(5));
        waited += 5;
    }
    // Nobody's work touched anyone else's: cy's namespace holds only her own broken pod.
    let cy = kubectl_as(&class, newest, "cy");
    let pods = cy.run(&[
        "get",
        "pods",
        "-n",
        &namespace("cy", "pending-insufficient-cpu"),
        "-o",
        "name",
    ]);
    assert_eq!(
        pods.stdout.trim(),
        "pod/report-worker",
        "cy's namespace holds her own pod only:\n{pods}"
    );
}

/// Runs kubectl while the paused clock moves a virtual second every 20 ms, so a command that
/// waits for the cluster (`replace --force` waits for the old pod to go) sees it happen.
fn run_while_time_moves(class: &Class, kubectl: &Kubectl, args: &[&str]) -> kq_tests::cluster::Run {
    std::thread::scope(|s| {
        let run = s.spawn(|| kubectl.run(args));
        while !run.is_finished() {
            class.tc.cluster().advance(Duration::from_secs(1));
            std::thread::sleep(Duration::from_millis(20));
        }
        run.join().expect("kubectl's thread")
    })
}

fn lesson_file(rel: &str) -> PathBuf {
    let p = workspace_root().join("lessons").join(rel);
    assert!(Path::new(&p).is_file(), "{} exists", p.display());
    p
}
