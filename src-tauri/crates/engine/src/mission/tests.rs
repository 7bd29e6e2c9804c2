//! Unit tests of the lesson loader, the catalog rules and the hint ladder.

use super::*;

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: web\n      image: nginx:nonexistent\n";
const FIXED: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: web\n      image: nginx:1.25\n";

fn front(id: &str, order: u32, requires: &str) -> String {
    format!(
        "---\nformat: 1\nid: {id}\ntitle: Mission {id}\norder: {order}\nstage: pull\n\
         difficulty: beginner\nrequires: {requires}\nexpected_symptoms:\n  - {{ pod: web, stage: pull, reason: ImagePullBackOff }}\n\
         objectives:\n  - id: web-ready\n    title: web is Ready\n    check: {{ kind: pod-ready, pod: web }}\n\
         hints:\n  - one\n  - two\n  - three\n---\n\nThe pod never starts.\n"
    )
}

/// Writes a complete, valid lesson.
fn lesson(root: &Path, folder: &str, id: &str, order: u32, requires: &str) -> PathBuf {
    let d = root.join(folder);
    write(&d, MISSION_FILE, &front(id, order, requires));
    write(&d, "manifests/pod.yaml", POD);
    write(&d, "solution/pod.yaml", FIXED);
    write(&d, DEBRIEF_FILE, "# Debrief\n\nWell done.\n");
    d
}

#[test]
fn missions_are_ordered_by_curriculum_position_not_folder_name() {
    let tmp = tempfile::tempdir().unwrap();
    lesson(tmp.path(), "a-second", "second", 2, "[first]");
    lesson(tmp.path(), "z-first", "first", 1, "[]");
    let c = Catalog::load(&[tmp.path().to_owned()]);
    let msgs: Vec<String> = c.problems.iter().map(ToString::to_string).collect();
    assert!(msgs.is_empty(), "{msgs:?}");
    let ids: Vec<_> = c.summaries().into_iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        ["first", "second"],
        "order comes from the front matter"
    );
    let m = &c.missions[1];
    assert_eq!(m.briefing, "The pod never starts.\n");
    assert_eq!(m.namespace(), "kq-second");
    assert_eq!((m.manifests.len(), m.solution.len()), (1, 1));
    assert_eq!(
        m.manifests[0].object["spec"]["containers"][0]["image"],
        "nginx:nonexistent"
    );
}

#[test]
fn a_broken_lesson_is_reported_with_its_line_and_does_not_hide_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    lesson(tmp.path(), "good", "good", 1, "[]");
    write(
        &tmp.path().join("bad"),
        MISSION_FILE,
        "---\nformat: 1\nid: bad\norder: [\n---\n",
    );
    write(
        &tmp.path().join("no-front"),
        MISSION_FILE,
        "# Just a heading\n",
    );
    let c = Catalog::load(&[tmp.path().to_owned()]);
    assert_eq!(c.missions.len(), 1, "the good lesson still loads");
    let msgs: Vec<String> = c.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        msgs.len(),
        8,
        "every problem of both broken lessons in one go: the mission.md error and the missing \
         manifests/, solution/ and debrief.md of each: {msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("bad/mission.md:5:")),
        "the YAML error points at the file's own line numbers: {msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("missing front matter")),
        "{msgs:?}"
    );
}

#[test]
fn a_teacher_folder_cannot_silently_replace_a_bundled_mission() {
    let bundled = tempfile::tempdir().unwrap();
    let teacher = tempfile::tempdir().unwrap();
    lesson(bundled.path(), "m", "m", 1, "[]");
    lesson(teacher.path(), "m", "m", 1, "[]");
    let c = Catalog::load(&[bundled.path().to_owned(), teacher.path().to_owned()]);
    assert_eq!(c.missions.len(), 1);
    assert!(matches!(c.problems[0], LessonError::DuplicateId { .. }));
}

#[test]
fn missing_roots_are_skipped() {
    let c = Catalog::load(&[PathBuf::from("/nonexistent/kubequest-lessons")]);
    assert!(c.missions.is_empty() && c.problems.is_empty());
}

#[test]
fn requires_on_unknown_missions_and_cycles_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    lesson(tmp.path(), "01-a", "a", 1, "[]");
    lesson(tmp.path(), "02-b", "b", 2, "[nope]");
    lesson(tmp.path(), "03-c", "c", 3, "[d]");
    lesson(tmp.path(), "04-d", "d", 4, "[c]");
    let c = Catalog::load(&[tmp.path().to_owned()]);
    let ids: Vec<_> = c.summaries().into_iter().map(|s| s.id).collect();
    assert_eq!(ids, ["a"], "missions that can never unlock are rejected");
    let msgs: Vec<String> = c.problems.iter().map(ToString::to_string).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("02-b/mission.md:8: requires: `nope` is not a mission")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("03-c/mission.md:8: requires: `c` is part of a cycle")),
        "{msgs:?}"
    );
}

#[test]
fn symptoms_match_across_the_image_pull_alternation() {
    use crate::pipeline::{PodPipeline, Stage, StageKind, StageState};
    let stage = |reason: &str| Stage {
        id: "pulled".into(),
        kind: StageKind::ImagePulled,
        label: "Image pulled".into(),
        container: None,
        state: StageState::Stuck,
        reason: Some(reason.into()),
        message: None,
        evidence: Default::default(),
    };
    let pipeline = |reason: &str| PodPipeline {
        namespace: "kq-x".into(),
        pod: "web".into(),
        uid: "u".into(),
        phase: "Pending".into(),
        status: reason.into(),
        ready: "0/1".into(),
        restarts: 0,
        restarts_text: "0".into(),
        terminating: false,
        node: None,
        created_at: None,
        owner: None,
        stages: vec![stage(reason)],
        containers: vec![],
        diagnosis: None,
        next_retry: None,
    };
    let s = ExpectedSymptom {
        pod: "web".into(),
        workload: None,
        budget: None,
        stage: LessonStage::Pull,
        reason: "ImagePullBackOff".into(),
    };
    assert!(symptom_matches(&s, &pipeline("ErrImagePull")));
    assert!(symptom_matches(&s, &pipeline("ImagePullBackOff")));
    assert!(!symptom_matches(&s, &pipeline("InvalidImageName")));
    let other = ExpectedSymptom {
        pod: "db".into(),
        ..s
    };
    assert!(
        !symptom_matches(&other, &pipeline("ImagePullBackOff")),
        "another pod"
    );
}

#[test]
fn a_symptom_names_a_pod_or_a_workload_the_manifests_create_and_apply_is_a_workload_s() {
    let tmp = tempfile::tempdir().unwrap();
    let d = lesson(tmp.path(), "w", "w", 1, "[]");
    write(
        &d,
        "manifests/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers: [{name: api, image: nginx:1.99}]\n",
    );
    let symptoms = |entries: &str| {
        front("w", 1, "[]").replace(
            "  - { pod: web, stage: pull, reason: ImagePullBackOff }\n",
            entries,
        )
    };
    write(
        &d,
        MISSION_FILE,
        &symptoms(
            "  - { workload: deployment/api, stage: apply, reason: ProgressDeadlineExceeded }\n  - { workload: deploy/api, stage: pull, reason: ImagePullBackOff }\n",
        ),
    );
    let m = load_mission(&d).expect("workload symptoms load");
    assert_eq!(m.expected_symptoms[0].subject(), "deployment/api");
    assert_eq!(m.expected_symptoms[0].stage, LessonStage::Apply);

    for (entry, field, says) in [
        (
            "  - { pod: web, stage: apply, reason: FailedCreate }\n",
            "expected_symptoms[0].stage",
            "`apply` is a workload's own stage",
        ),
        (
            "  - { pod: web, workload: deployment/api, stage: pull, reason: ImagePullBackOff }\n",
            "expected_symptoms[0].workload",
            "not both",
        ),
        (
            "  - { workload: job/api, stage: apply, reason: BackoffLimitExceeded }\n",
            "expected_symptoms[0].workload",
            "manifests/ defines no Job named `api`",
        ),
        (
            "  - { workload: api, stage: apply, reason: FailedCreate }\n",
            "expected_symptoms[0].workload",
            "names no workload kind",
        ),
    ] {
        write(&d, MISSION_FILE, &symptoms(entry));
        let err = load_mission(&d).expect_err(entry).to_string();
        assert!(err.contains(field) && err.contains(says), "{entry}: {err}");
    }
}

#[test]
fn a_budget_symptom_names_a_budget_the_manifests_create_at_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let d = lesson(tmp.path(), "b", "b", 1, "[]");
    write(
        &d,
        "manifests/pdb.yaml",
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\nspec:\n  minAvailable: 2\n  selector: {matchLabels: {app: web}}\n",
    );
    let symptoms = |entries: &str| {
        front("b", 1, "[]").replace(
            "  - { pod: web, stage: pull, reason: ImagePullBackOff }\n",
            entries,
        )
    };
    write(
        &d,
        MISSION_FILE,
        &symptoms("  - { budget: web, stage: apply, reason: InsufficientPods }\n"),
    );
    let m = load_mission(&d).expect("a budget symptom loads");
    assert_eq!(m.expected_symptoms[0].subject(), "web");
    assert_eq!(m.expected_symptoms[0].budget.as_deref(), Some("web"));

    for (entry, field, says) in [
        (
            "  - { budget: web, stage: schedule, reason: InsufficientPods }\n",
            "expected_symptoms[0].stage",
            "its stage is `apply`",
        ),
        (
            "  - { budget: api, stage: apply, reason: InsufficientPods }\n",
            "expected_symptoms[0].budget",
            "manifests/ defines no PodDisruptionBudget named `api`",
        ),
        (
            "  - { pod: web, budget: web, stage: apply, reason: InsufficientPods }\n",
            "expected_symptoms[0].budget",
            "not several",
        ),
    ] {
        write(&d, MISSION_FILE, &symptoms(entry));
        let err = load_mission(&d).expect_err(entry).to_string();
        assert!(err.contains(field) && err.contains(says), "{entry}: {err}");
    }
}

#[test]
fn chapters_open_in_order_each_after_the_nearest_earlier_one_with_missions() {
    let tmp = tempfile::tempdir().unwrap();
    for (folder, id, order, chapter) in [
        ("a", "p1", 1, "pods"),
        ("b", "p2", 2, "pods"),
        ("c", "i1", 3, "images"),
        ("d", "c1", 4, "config"),
        ("e", "c2", 5, "config"),
    ] {
        let d = lesson(tmp.path(), folder, id, order, "[]");
        let text = front(id, order, "[]").replace(
            "difficulty: beginner\n",
            &format!("difficulty: beginner\nchapter: {chapter}\n"),
        );
        write(&d, MISSION_FILE, &text);
    }
    let c = Catalog::load(&[tmp.path().to_owned()]);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let gates: Vec<(String, Vec<String>)> = c
        .summaries()
        .into_iter()
        .map(|s| (s.id, s.chapter_requires))
        .collect();
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        gates,
        vec![
            ("p1".into(), ids(&[])),
            ("p2".into(), ids(&[])),
            ("i1".into(), ids(&["p1", "p2"])),
            // Scheduling has no missions here: Config follows Images.
            ("c1".into(), ids(&["i1"])),
            ("c2".into(), ids(&["i1"])),
        ]
    );
    let mut progress = crate::progress::Progress::default();
    let c2 = c.get("c2").unwrap().summary.clone();
    assert!(!progress.is_unlocked(&c2.all_requires()));
    progress.solve("i1", jiff::Timestamp::UNIX_EPOCH);
    assert!(
        progress.is_unlocked(&c2.all_requires()),
        "Images complete opens Config"
    );
}

#[test]
fn namespace_labels_are_read_and_kubequest_s_own_labels_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = lesson(tmp.path(), "ns", "ns", 1, "[]");
    let with = |labels: &str| {
        front("ns", 1, "[]").replace(
            "expected_symptoms:",
            &format!("namespace_labels:\n{labels}expected_symptoms:"),
        )
    };
    write(
        &d,
        MISSION_FILE,
        &with("  pod-security.kubernetes.io/enforce: restricted\n"),
    );
    let m = load_mission(&d).expect("namespace labels load");
    assert_eq!(
        m.namespace_labels.get("pod-security.kubernetes.io/enforce"),
        Some(&"restricted".to_owned())
    );
    for (labels, says) in [
        (
            "  kubequest.dev/mission: other\n",
            "labels under kubequest.dev are KubeQuest's own",
        ),
        ("  \"bad key!\": x\n", "is not a valid label key"),
    ] {
        write(&d, MISSION_FILE, &with(labels));
        let err = load_mission(&d).expect_err(labels).to_string();
        assert!(
            err.contains("namespace_labels") && err.contains(says),
            "{labels}: {err}"
        );
    }
}

#[test]
fn the_hint_ladder_goes_one_step_at_a_time() {
    let hints: Vec<String> = ["gentle", "closer", "explicit"].map(String::from).to_vec();
    let mut ladder = HintLadder::new(&hints, 0);
    assert_eq!(ladder.reveal_next(), Some("gentle"));
    assert_eq!(ladder.revealed(), ["gentle"]);
    assert_eq!(ladder.remaining(), 2);
    assert_eq!(ladder.reveal_next(), Some("closer"));
    assert_eq!(ladder.reveal_next(), Some("explicit"));
    assert_eq!(
        ladder.reveal_next(),
        None,
        "the ladder ends at the explicit hint"
    );
    assert_eq!(
        HintLadder::new(&hints, 99).revealed_count(),
        3,
        "stored counts are clamped"
    );
}

#[test]
fn a_roots_diagnoses_yaml_is_loaded_and_checked_like_a_lesson() {
    let root = tempfile::tempdir().unwrap();
    lesson(root.path(), "01-a", "a", 1, "[]");
    // No file: the bundled texts apply, and the check has nothing to say about them.
    assert!(matches!(
        diagnosis_texts(&[root.path().to_owned()]),
        Ok(None)
    ));
    assert!(check_lessons(root.path(), None).is_ok());

    let yaml = crate::diagnose::BUNDLED_YAML.replace(
        "  title: \"`{name}` keeps crashing\"",
        "  title: \"`{nom}` plante en boucle\"",
    );
    write(root.path(), "diagnoses.yaml", &yaml);
    let line = yaml.lines().position(|l| l.contains("plante")).unwrap() + 1;
    let report = check_lessons(root.path(), None);
    let file = root.path().join("diagnoses.yaml");
    assert_eq!(
        report.errors,
        vec![LessonIssue {
            file: file.clone(),
            line: Some(line),
            message: "`CrashLoopBackOff.title`: missing placeholder {name}; unknown placeholder \
                      {nom} (KubeQuest does not fill it in)"
                .into(),
        }]
    );
    assert!(diagnosis_texts(&[root.path().to_owned()]).is_err());

    // A translation with the same placeholders is taken as it is.
    let fr = crate::diagnose::BUNDLED_YAML.replace("keeps crashing", "plante en boucle");
    write(root.path(), "diagnoses.yaml", &fr);
    assert!(check_lessons(root.path(), None).is_ok());
    let texts = diagnosis_texts(&[root.path().to_owned()]).unwrap().unwrap();
    assert_eq!(
        texts.text("CrashLoopBackOff", "title"),
        "`{name}` plante en boucle"
    );
}

/// `kq lessons check` on reacting hints: a pod the manifests never create, an unknown
/// investigation, an empty text and a duplicate id, each at its line of mission.md.
#[test]
fn reactions_are_checked_each_problem_at_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = lesson(tmp.path(), "01-web", "web", 1, "[]");
    let text = front("web", 1, "[]").replacen(
        "---\n\nThe pod",
        "reactions:\n  - id: events-next\n    done: [{ get-pods: wbe }]\n    say: \"Look at the events.\"\n---\n\nThe pod",
        1,
    );
    write(&d, MISSION_FILE, &text);
    let report = check::check_lesson_dir(&d);
    let line = text
        .lines()
        .position(|l| l.contains("get-pods: wbe"))
        .unwrap()
        + 1;
    assert_eq!(report.errors.len(), 1, "{}", report.render());
    assert_eq!(report.errors[0].line, Some(line), "{}", report.render());
    assert!(
        report.errors[0]
            .message
            .contains("`get-pods: wbe` names a pod that manifests/ does not create"),
        "{}",
        report.render()
    );

    // The same rule about `web` loads, and the mission carries it.
    write(&d, MISSION_FILE, &text.replace("wbe", "web"));
    let report = check::check_lesson_dir(&d);
    assert!(report.is_ok(), "{}", report.render());
    let m = load_mission(&d).expect("loads");
    assert_eq!(m.reactions.len(), 1);
    assert_eq!(m.reactions[0].say, "Look at the events.");

    // Parse problems are errors of the loader too, at their lines.
    let bad = text.replace(
        "  - id: events-next\n    done: [{ get-pods: wbe }]\n    say: \"Look at the events.\"\n",
        "  - id: a\n    done: [get-pod]\n    say: \"x\"\n  - id: a\n    say: \"\"\n",
    );
    write(&d, MISSION_FILE, &bad);
    let report = check::check_lesson_dir(&d);
    let at = |needle: &str| bad.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let found: Vec<(Option<usize>, String)> = report
        .errors
        .iter()
        .map(|e| (e.line, e.message.clone()))
        .collect();
    for (line, needle) in [
        (at("done: [get-pod]"), "unknown investigation `get-pod`"),
        (at("say: \"\""), "empty text"),
    ] {
        assert!(
            found
                .iter()
                .any(|(l, m)| *l == Some(line) && m.contains(needle)),
            "`{needle}` at line {line}: {found:?}"
        );
    }
    let dup = bad
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == "  - id: a")
        .nth(1)
        .unwrap()
        .0
        + 1;
    assert!(
        found
            .iter()
            .any(|(l, m)| *l == Some(dup) && m.contains("duplicate reaction id `a`")),
        "duplicate at line {dup}: {found:?}"
    );
}

/// A catalog of four missions in three chapters: `p1` (pods), `s1` and `s2` (scheduling, `s2`
/// requires `s1`), `c1` (config), with texts naming their namespaces.
fn class_catalog(tmp: &Path) -> Catalog {
    for (folder, id, order, chapter, requires) in [
        ("a", "p1", 1, "pods", "[]"),
        ("b", "s1", 2, "scheduling", "[]"),
        ("c", "s2", 3, "scheduling", "[s1]"),
        ("d", "c1", 4, "config", "[]"),
    ] {
        let d = lesson(tmp, folder, id, order, requires);
        let text = front(id, order, requires)
            .replace(
                "difficulty: beginner\n",
                &format!("difficulty: beginner\nchapter: {chapter}\n"),
            )
            .replace(
                "  - one\n",
                &format!("  - \"`kubectl get pods -n kq-{id}`\"\n"),
            )
            .replace(
                "The pod never starts.",
                &format!("The pod in `kq-{id}` never starts; kq-{id}-2 is another namespace."),
            );
        write(&d, MISSION_FILE, &text);
        write(
            &d,
            DEBRIEF_FILE,
            &format!("# Debrief\n\n```bash\nkubectl describe pod web -n kq-{id}\n```\n"),
        );
    }
    let c = Catalog::load(&[tmp.to_owned()]);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    c
}

#[test]
fn a_seated_mission_runs_in_the_learner_s_namespace_and_its_texts_name_it() {
    let tmp = tempfile::tempdir().unwrap();
    let c = class_catalog(tmp.path());
    let all: Vec<String> = ["p1", "s1", "s2", "c1"].map(String::from).to_vec();
    let seated = c.seated("ada", &all);
    let m = seated.get("p1").expect("p1 is in the class");
    assert_eq!(m.namespace(), "kq-ada-p1", "the learner's own namespace");
    assert!(m.is_seated());
    assert_eq!(
        m.briefing, "The pod in `kq-ada-p1` never starts; kq-p1-2 is another namespace.\n",
        "the briefing names the learner's namespace, and a longer name that merely starts \
         with the mission's is left as it is"
    );
    assert_eq!(m.hints[0], "`kubectl get pods -n kq-ada-p1`");
    assert!(
        m.debrief.contains("kubectl describe pod web -n kq-ada-p1"),
        "the debrief's commands work as typed: {}",
        m.debrief
    );
    assert_eq!(
        seated.get("p1").map(|m| m.namespace()),
        Some("kq-ada-p1".into())
    );
    // Solo play is unchanged.
    let solo = c.get("p1").unwrap();
    assert_eq!(solo.namespace(), "kq-p1");
    assert!(!solo.is_seated());
    assert!(solo.briefing.contains("`kq-p1`"));
}

#[test]
fn a_class_keeps_only_its_missions_and_a_left_out_one_locks_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let c = class_catalog(tmp.path());
    // The whole scheduling chapter's first mission is left out, as `drain-blocked-by-pdb` is.
    let class: Vec<String> = ["c1", "p1", "s2"].map(String::from).to_vec();
    let seated = c.seated("bo", &class);
    let gates: Vec<(String, Vec<String>)> = seated
        .summaries()
        .into_iter()
        .map(|s| (s.id.clone(), s.all_requires()))
        .collect();
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        gates,
        vec![
            ("p1".into(), ids(&[])),
            // `s1` is not in the class: requiring it would lock `s2` for ever.
            ("s2".into(), ids(&["p1"])),
            // Config opens once the class's scheduling missions are solved, not `s1` too.
            ("c1".into(), ids(&["s2"])),
        ],
        "curriculum order, gated over the class's missions only"
    );
    let mut progress = crate::progress::Progress::default();
    progress.solve("p1", jiff::Timestamp::UNIX_EPOCH);
    progress.solve("s2", jiff::Timestamp::UNIX_EPOCH);
    let c1 = seated.get("c1").unwrap().summary.all_requires();
    assert!(
        progress.is_unlocked(&c1),
        "solving the class's missions opens the next chapter"
    );
    assert!(
        seated.get("s1").is_none(),
        "a left-out mission is not offered"
    );
    assert!(
        !c.get("c1").unwrap().summary.all_requires().is_empty()
            && c.get("s2").unwrap().summary.requires == ["s1"],
        "the solo catalog keeps its own gating"
    );
}

#[test]
fn only_the_mission_s_own_namespace_is_renamed_in_a_seated_text() {
    let cases = [
        ("-n kq-web --previous", "-n kq-ada-web --previous"),
        ("(`kq-web`).", "(`kq-ada-web`)."),
        (
            "system:serviceaccount:kq-web:pod-watcher",
            "system:serviceaccount:kq-ada-web:pod-watcher",
        ),
        (
            "db.kq-web.svc.cluster.local",
            "db.kq-ada-web.svc.cluster.local",
        ),
        (
            "/namespaces/kq-web/services",
            "/namespaces/kq-ada-web/services",
        ),
        ("the kq-web- prefix", "the kq-ada-web- prefix"),
        // Other names that merely contain it.
        (
            "kq-web-2 and kq-web2 and xkq-web",
            "kq-web-2 and kq-web2 and xkq-web",
        ),
        ("kq-webkq-web kq-web", "kq-webkq-web kq-ada-web"),
    ];
    for (text, want) in cases {
        assert_eq!(
            rename_namespace(text, "kq-web", "kq-ada-web"),
            want,
            "in {text:?}"
        );
    }
}
