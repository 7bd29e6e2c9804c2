//! Shortcuts that end a mission's symptom without fixing its cause, played through the engine on
//! the embedded cluster, do not solve the mission; the reference fix does.
//!
//! - The health-check missions: deleting the probe that asks the wrong thing ends the symptom
//!   (no more restarts, or a pod Ready at once), but `container-probe` still asks for the probe.
//! - The Service selector mission: relabelling the pods to the Service's typo releases them from
//!   their ReplicaSet and puts them behind the Service, but `service-endpoints` with `workload`
//!   counts only the Deployment's own pods.

use kq_engine::mission::{ObjectiveStatus, all_met};
use kq_engine::session::{apply_yaml, delete_yaml};
use kq_tests::lesson::{PlayedLesson, bundled, results_text};

/// How long a deleted pod may take to go.
const GONE_LIMIT_SECS: u64 = 120;

/// What a learner does to change a probe on a bare pod: delete it (`kubectl delete -f`), wait
/// until it is gone, and apply the new manifest (`kubectl apply -f`).
fn recreate(play: &PlayedLesson, pod: &str, file_name: &str, yaml: &str) {
    let deleted = play
        .tc
        .block_on(delete_yaml(&play.client, &play.ns, file_name, yaml));
    assert!(
        deleted.ok,
        "`{}` fails: {}",
        deleted.command, deleted.output
    );
    play.tc.cluster().settle();
    let mut t = 0;
    while play
        .read(&[])
        .pods()
        .iter()
        .any(|p| p.metadata.name.as_deref() == Some(pod))
    {
        assert!(
            t < GONE_LIMIT_SECS,
            "{pod} still there {t} s after the delete"
        );
        play.advance(1);
        t += 1;
    }
    let applied = play
        .tc
        .block_on(apply_yaml(&play.client, &play.ns, file_name, yaml));
    assert!(
        applied.ok,
        "`{}` fails: {}",
        applied.command, applied.output
    );
    play.tc.cluster().settle();
}

fn lesson_file(folder: &str, rel: &str) -> String {
    let path = kq_tests::workspace_root()
        .join("lessons")
        .join(folder)
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `yaml` without the `key:` block (its line and every line indented deeper under it), as a
/// learner deletes it in an editor.
fn without_block(yaml: &str, key: &str) -> String {
    let mut out = Vec::new();
    let mut skipping_deeper_than: Option<usize> = None;
    for line in yaml.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(depth) = skipping_deeper_than {
            if indent > depth && !line.trim().is_empty() {
                continue;
            }
            skipping_deeper_than = None;
        }
        if line.trim_start() == format!("{key}:") {
            skipping_deeper_than = Some(indent);
            continue;
        }
        out.push(line);
    }
    let stripped = out.join("\n") + "\n";
    assert!(
        !stripped.contains(key) && stripped.len() < yaml.len(),
        "the manifest had a `{key}:` block to remove:\n{yaml}"
    );
    stripped
}

/// Plays `folder`: the pod re-created without its probe meets every other objective and still
/// does not solve the mission, `probe_objective` saying `reason`; then the reference fix
/// solves it.
fn deleting_the_probe_is_no_fix(
    folder: &str,
    pod: &str,
    file: &str,
    probe_key: &str,
    probe_objective: &str,
    reason: &str,
) {
    let play = PlayedLesson::start(&bundled(folder));
    let broken = lesson_file(folder, &format!("manifests/{file}"));
    play.stays_unsolved(60, "the broken state");

    recreate(&play, pod, file, &without_block(&broken, probe_key));
    // Longer than any timed objective of these missions (three minutes without a restart).
    let results = play.stays_unsolved(240, &format!("{pod} without its {probe_key}"));
    for r in &results {
        if r.id == probe_objective {
            assert_eq!(
                (r.status, r.reason.as_str()),
                (ObjectiveStatus::NotMet, reason),
                "the probe objective says what is missing, not how to fix it:\n{}",
                results_text(&results)
            );
        } else {
            assert_eq!(
                r.status,
                ObjectiveStatus::Met,
                "without its probe {pod} meets every other objective, so only the probe \
                 objective stands between this shortcut and a solved mission:\n{}",
                results_text(&results)
            );
        }
    }
    assert!(
        results.iter().any(|r| r.id == probe_objective),
        "{folder} has no objective {probe_objective}:\n{}",
        results_text(&results)
    );

    let fix = lesson_file(folder, &format!("solution/{file}"));
    recreate(&play, pod, file, &fix);
    let solved = play.solves_within(180 + 120, "the reference fix");
    let kept = solved
        .iter()
        .find(|r| r.id == probe_objective)
        .expect("the probe objective is evaluated");
    assert!(
        kept.reason.starts_with(&format!("{pod}/")) && kept.reason.contains(" probe"),
        "{}",
        kept.reason
    );
    // And it stays solved: the fixed probe passes, so nothing restarts or turns not-Ready.
    play.advance(60);
    let later = play.objectives();
    assert!(
        all_met(&later),
        "the fix stops holding a minute later:\n{}",
        results_text(&later)
    );
}

#[test]
fn a_storefront_without_its_liveness_probe_does_not_solve_the_liveness_mission() {
    deleting_the_probe_is_no_fix(
        "17-liveness-wrong-path",
        "storefront",
        "storefront.yaml",
        "livenessProbe",
        "storefront-watched",
        "storefront/web has no liveness probe",
    );
}

#[test]
fn a_catalog_without_its_readiness_probe_does_not_solve_the_readiness_mission() {
    deleting_the_probe_is_no_fix(
        "18-readiness-never-passes",
        "catalog",
        "catalog.yaml",
        "readinessProbe",
        "catalog-guarded",
        "catalog/catalog has no readiness probe",
    );
}

/// Relabelling the web pods to the Service's misspelt selector (`kubectl label pods -l
/// app=frontend app=fronted --overwrite`) gives the Service two ready endpoints and the client
/// its page, and the ReplicaSet replaces the released pods, so every other objective is met;
/// the endpoints objective still sees that none of them is a pod of deployment/web.
#[test]
fn relabelling_the_pods_to_the_selector_s_typo_does_not_solve_the_selector_mission() {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{ListParams, Patch, PatchParams};
    let folder = "22-service-selector-mismatch";
    let play = PlayedLesson::start(&bundled(folder));
    play.stays_unsolved(30, "the broken state");
    let pods: kube::Api<Pod> = kube::Api::namespaced(play.client.clone(), &play.ns);
    let listed = play
        .tc
        .block_on(pods.list(&ListParams::default().labels("app=frontend")))
        .expect("list the web pods");
    assert_eq!(
        listed.items.len(),
        2,
        "the two web pods are labelled app=frontend"
    );
    for p in &listed.items {
        let name = p.metadata.name.clone().unwrap_or_default();
        let patch = serde_json::json!({"metadata": {"labels": {"app": "fronted"}}});
        play.tc
            .block_on(pods.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)))
            .unwrap_or_else(|e| panic!("relabel {name}: {e}"));
    }
    play.tc.cluster().settle();
    let results = play.stays_unsolved(180, "the relabelled pods");
    for r in &results {
        if r.id == "web-endpoints" {
            assert_eq!(
                r.status,
                ObjectiveStatus::NotMet,
                "{}",
                results_text(&results)
            );
            assert!(
                r.reason
                    .starts_with("web has 0 ready endpoints of deployment/web, 2 wanted")
                    && r.reason.contains("of other pods"),
                "{}",
                results_text(&results)
            );
        } else {
            assert_eq!(
                r.status,
                ObjectiveStatus::Met,
                "with the pods relabelled every other objective is met, so only the endpoints \
                 objective stands between this shortcut and a solved mission:\n{}",
                results_text(&results)
            );
        }
    }
    let fix = lesson_file(folder, "solution/10-web.yaml");
    let applied = play
        .tc
        .block_on(apply_yaml(&play.client, &play.ns, "10-web.yaml", &fix));
    assert!(
        applied.ok,
        "`{}` fails: {}",
        applied.command, applied.output
    );
    play.solves_within(300, "the reference fix after the relabelling");
}
