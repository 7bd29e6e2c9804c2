//! Deployments and ReplicaSets (WORKLOADS.md §1.1–1.3): golden sequences on a paused virtual
//! clock (a rolling update's exact ScalingReplicaSet events and final conditions, a stuck
//! rollout reaching ProgressDeadlineExceeded after 600 s, a rollback, scaling, Recreate), and
//! real kubectl of every installed version driving create / get / scale / set image /
//! rollout (status, history, undo, restart, pause, resume) / describe.

use std::time::Duration;

use kq_sim::kinds;
use kq_sim::store::{PatchKind, WriteOptions};
use kq_tests::check::{Step, expect, has, has_row, header_words, ok};
use kq_tests::cluster::{Kubectl, TestCluster, advance_until, kubectl_binaries, on_every_kubectl};
use serde_json::{Value, json};

fn deployment(name: &str, replicas: i64, image: &str, strategy: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": strategy},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "nginx", "image": image}]},
            },
        },
    })
}

fn create_deploy(tc: &TestCluster, ns: &str, obj: Value) {
    tc.cluster()
        .store()
        .create(&kinds::deployment::KIND, ns, obj, &WriteOptions::default())
        .expect("the Deployment is accepted");
    tc.cluster().settle();
}

fn patch_deploy(tc: &TestCluster, ns: &str, name: &str, patch: Value) {
    let bytes = serde_json::to_vec(&patch).expect("a JSON patch body");
    tc.cluster()
        .store()
        .patch(
            &kinds::deployment::KIND,
            ns,
            name,
            &bytes,
            PatchKind::Merge,
            &WriteOptions::default(),
            false,
        )
        .expect("the patch applies");
    tc.cluster().settle();
}

fn set_image(tc: &TestCluster, ns: &str, name: &str, image: &str) {
    patch_deploy(
        tc,
        ns,
        name,
        json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": image}]}}}}),
    );
}

fn get_deploy(tc: &TestCluster, ns: &str, name: &str) -> Value {
    (*tc.cluster()
        .store()
        .get_raw(&kinds::deployment::KIND, ns, name)
        .expect("the Deployment exists"))
    .clone()
}

/// The Deployment's ReplicaSets, oldest first.
fn replica_sets(tc: &TestCluster, ns: &str) -> Vec<Value> {
    let mut rs: Vec<Value> = tc
        .cluster()
        .store()
        .list_raw(&kinds::replicaset::KIND, Some(ns))
        .iter()
        .map(|v| (**v).clone())
        .collect();
    rs.sort_by_key(|r| {
        r.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    });
    rs
}

fn pods(tc: &TestCluster, ns: &str) -> Vec<Value> {
    tc.cluster()
        .store()
        .list_raw(&kinds::pod::KIND, Some(ns))
        .iter()
        .map(|v| (**v).clone())
        .collect()
}

fn name(v: &Value) -> String {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn num(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

/// `(reason, message)` of the events about `kind/name`, in the order they were recorded.
fn events(tc: &TestCluster, ns: &str, kind: &str, obj: &str) -> Vec<(String, String)> {
    let mut evs: Vec<Value> = tc
        .cluster()
        .store()
        .list_raw(&kinds::event::KIND, Some(ns))
        .iter()
        .map(|v| (**v).clone())
        .filter(|e| {
            e.pointer("/involvedObject/kind").and_then(Value::as_str) == Some(kind)
                && e.pointer("/involvedObject/name").and_then(Value::as_str) == Some(obj)
        })
        .collect();
    evs.sort_by_key(|e| {
        e.pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
    });
    evs.iter()
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or_default().to_string(),
                e["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// `(type, status, reason, message)` of the Deployment's conditions, in order.
fn conditions(d: &Value) -> Vec<(String, String, String, String)> {
    d.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let f = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (f("type"), f("status"), f("reason"), f("message"))
        })
        .collect()
}

fn cond(t: &str, s: &str, r: &str, m: &str) -> (String, String, String, String) {
    (t.into(), s.into(), r.into(), m.into())
}

fn rolled_out(tc: &TestCluster, ns: &str, name: &str, replicas: i64) -> bool {
    let d = get_deploy(tc, ns, name);
    num(&d, "/status/updatedReplicas") == replicas
        && num(&d, "/status/replicas") == replicas
        && num(&d, "/status/availableReplicas") == replicas
        && num(&d, "/status/observedGeneration") == num(&d, "/metadata/generation")
        && conditions(&d)
            .iter()
            .any(|c| c.2 == "NewReplicaSetAvailable")
}

#[test]
fn a_rolling_update_scales_one_step_at_a_time_with_the_real_events_and_conditions() {
    let tc = TestCluster::paused();
    let ns = "default";
    create_deploy(&tc, ns, deployment("web", 3, "nginx:1.26", "RollingUpdate"));
    advance_until(&tc, 120, || rolled_out(&tc, ns, "web", 3));

    let rs = replica_sets(&tc, ns);
    assert_eq!(rs.len(), 1, "one ReplicaSet for the first revision");
    let first = name(&rs[0]);
    let hash = first
        .strip_prefix("web-")
        .expect("named <deployment>-<hash>");
    assert!(
        (9..=10).contains(&hash.len()) && hash.bytes().all(|c| b"456789bcdf".contains(&c)),
        "a pod-template-hash as Kubernetes renders them: {hash}"
    );
    assert_eq!(rs[0]["metadata"]["labels"]["pod-template-hash"], hash);
    assert_eq!(
        rs[0]["spec"]["selector"]["matchLabels"]["pod-template-hash"],
        hash
    );
    let annotations = &rs[0]["metadata"]["annotations"];
    assert_eq!(annotations["deployment.kubernetes.io/revision"], "1");
    assert_eq!(
        annotations["deployment.kubernetes.io/desired-replicas"],
        "3"
    );
    assert_eq!(annotations["deployment.kubernetes.io/max-replicas"], "4");
    assert_eq!(
        rs[0]["metadata"]["ownerReferences"][0]["kind"], "Deployment",
        "the Deployment controls its ReplicaSet"
    );
    let d = get_deploy(&tc, ns, "web");
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1",
        "the revision is copied onto the Deployment"
    );
    let ps = pods(&tc, ns);
    assert_eq!(ps.len(), 3);
    for p in &ps {
        assert!(
            name(p).starts_with(&format!("{first}-")),
            "pods are <rs>-<5 chars>: {}",
            name(p)
        );
        assert_eq!(name(p).len(), first.len() + 6);
        assert_eq!(p["metadata"]["labels"]["pod-template-hash"], hash);
    }
    let rs_events = events(&tc, ns, "ReplicaSet", &first);
    assert_eq!(rs_events.len(), 3, "{rs_events:?}");
    assert!(
        rs_events
            .iter()
            .all(|(r, m)| r == "SuccessfulCreate"
                && m.starts_with(&format!("Created pod: {first}-")))
    );

    set_image(&tc, ns, "web", "nginx:1.27");
    advance_until(&tc, 300, || {
        rolled_out(&tc, ns, "web", 3) && replica_sets(&tc, ns).len() == 2
    });
    let rs = replica_sets(&tc, ns);
    let second = name(&rs[1]);
    assert_ne!(first, second);
    assert_eq!(
        rs[1]["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    assert_eq!(
        num(&rs[0], "/spec/replicas"),
        0,
        "the old ReplicaSet is scaled to zero and kept"
    );
    let got: Vec<String> = events(&tc, ns, "Deployment", "web")
        .into_iter()
        .map(|(reason, m)| {
            assert_eq!(reason, "ScalingReplicaSet");
            m
        })
        .collect();
    let want = [
        format!("Scaled up replica set {first} from 0 to 3"),
        format!("Scaled up replica set {second} from 0 to 1"),
        format!("Scaled down replica set {first} from 3 to 2"),
        format!("Scaled up replica set {second} from 1 to 2"),
        format!("Scaled down replica set {first} from 2 to 1"),
        format!("Scaled up replica set {second} from 2 to 3"),
        format!("Scaled down replica set {first} from 1 to 0"),
    ];
    assert_eq!(
        got, want,
        "the ≥1.31 ScalingReplicaSet sequence of a 3-replica rollout"
    );
    let d = get_deploy(&tc, ns, "web");
    assert_eq!(
        conditions(&d),
        [
            cond(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability."
            ),
            cond(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &format!("ReplicaSet \"{second}\" has successfully progressed.")
            ),
        ]
    );
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    let live: Vec<Value> = pods(&tc, ns)
        .into_iter()
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
        .collect();
    assert_eq!(live.len(), 3);
    assert!(
        live.iter()
            .all(|p| name(p).starts_with(&format!("{second}-")))
    );
    let old_events = events(&tc, ns, "ReplicaSet", &first);
    assert_eq!(
        old_events
            .iter()
            .filter(|(r, m)| r == "SuccessfulDelete" && m.starts_with("Deleted pod: "))
            .count(),
        3,
        "{old_events:?}"
    );
}

#[test]
fn a_rollout_to_a_missing_image_exceeds_its_progress_deadline_after_600_virtual_seconds() {
    let tc = TestCluster::paused();
    let ns = "default";
    create_deploy(&tc, ns, deployment("web", 3, "nginx:1.27", "RollingUpdate"));
    advance_until(&tc, 120, || rolled_out(&tc, ns, "web", 3));
    set_image(&tc, ns, "web", "nginx:1.99");
    tc.cluster().advance(Duration::from_secs(5));
    let rs = replica_sets(&tc, ns);
    let new = name(&rs[1]);
    let d = get_deploy(&tc, ns, "web");
    assert_eq!(
        num(&d, "/status/updatedReplicas"),
        1,
        "one surge pod, which never starts"
    );
    assert_eq!(
        num(&d, "/status/availableReplicas"),
        3,
        "the old pods keep serving"
    );
    assert_eq!(
        conditions(&d)[1],
        cond(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            &format!("ReplicaSet \"{new}\" is progressing.")
        )
    );
    // Still progressing just before the deadline.
    tc.cluster().advance(Duration::from_secs(590));
    let d = get_deploy(&tc, ns, "web");
    assert_eq!(conditions(&d)[1].2, "ReplicaSetUpdated", "not yet at 595 s");
    let versions = kubectl_binaries();
    for (label, path) in &versions {
        let k = tc.kubectl(label, path);
        let run = k.run(&["rollout", "status", "deployment/web", "--watch=false"]);
        assert!(run.ok(), "{run}");
        assert_eq!(
            run.stdout,
            "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated...\n",
            "{run}"
        );
    }
    tc.cluster().advance(Duration::from_secs(10));
    let d = get_deploy(&tc, ns, "web");
    assert_eq!(
        conditions(&d),
        [
            cond(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability."
            ),
            cond(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                &format!("ReplicaSet \"{new}\" has timed out progressing.")
            ),
        ]
    );
    assert_eq!(
        num(&rs[0], "/spec/replicas"),
        3,
        "no old pod was given up for a pod that never ran"
    );
    for (label, path) in &versions {
        let k = tc.kubectl(label, path);
        let run = k.run(&["rollout", "status", "deployment/web"]);
        assert_eq!(run.code, 1, "{run}");
        assert_eq!(
            run.stderr, "error: deployment \"web\" exceeded its progress deadline\n",
            "kubectl {label}: {run}"
        );
    }
}

#[test]
fn undo_makes_the_previous_replica_set_new_again_with_the_next_revision() {
    let tc = TestCluster::paused();
    let ns = "default";
    create_deploy(&tc, ns, deployment("web", 2, "nginx:1.26", "RollingUpdate"));
    advance_until(&tc, 120, || rolled_out(&tc, ns, "web", 2));
    set_image(&tc, ns, "web", "nginx:1.27");
    advance_until(&tc, 300, || {
        rolled_out(&tc, ns, "web", 2) && replica_sets(&tc, ns).len() == 2
    });
    let first = name(&replica_sets(&tc, ns)[0]);
    // What `kubectl rollout undo` sends: the old template (without its hash label) back.
    let old_template = {
        let mut t = replica_sets(&tc, ns)[0]["spec"]["template"].clone();
        t["metadata"]["labels"]
            .as_object_mut()
            .expect("labels")
            .remove("pod-template-hash");
        t
    };
    let patch = json!([{"op": "replace", "path": "/spec/template", "value": old_template}]);
    tc.cluster()
        .store()
        .patch(
            &kinds::deployment::KIND,
            ns,
            "web",
            &serde_json::to_vec(&patch).expect("json"),
            PatchKind::Json,
            &WriteOptions::default(),
            false,
        )
        .expect("the JSON patch applies");
    tc.cluster().settle();
    advance_until(&tc, 300, || {
        rolled_out(&tc, ns, "web", 2)
            && get_deploy(&tc, ns, "web")["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                == "3"
    });
    let rs = replica_sets(&tc, ns);
    assert_eq!(
        rs.len(),
        2,
        "no third ReplicaSet: the first one is new again"
    );
    assert_eq!(name(&rs[1]), first);
    assert_eq!(
        rs[1]["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "3"
    );
    assert_eq!(
        rs[1]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"],
        "1"
    );
    assert_eq!(num(&rs[1], "/spec/replicas"), 2);
    assert_eq!(num(&rs[0], "/spec/replicas"), 0);
}

#[test]
fn scaling_resizes_the_replica_set_and_reports_each_step() {
    let tc = TestCluster::paused();
    let ns = "default";
    create_deploy(&tc, ns, deployment("web", 2, "nginx:1.27", "RollingUpdate"));
    advance_until(&tc, 120, || rolled_out(&tc, ns, "web", 2));
    let rs = name(&replica_sets(&tc, ns)[0]);
    patch_deploy(&tc, ns, "web", json!({"spec": {"replicas": 5}}));
    advance_until(&tc, 120, || rolled_out(&tc, ns, "web", 5));
    patch_deploy(&tc, ns, "web", json!({"spec": {"replicas": 1}}));
    advance_until(&tc, 120, || rolled_out(&tc, ns, "web", 1));
    let got: Vec<String> = events(&tc, ns, "Deployment", "web")
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(
        got,
        [
            format!("Scaled up replica set {rs} from 0 to 2"),
            format!("Scaled up replica set {rs} from 2 to 5"),
            format!("Scaled down replica set {rs} from 5 to 1"),
        ]
    );
    let rs_obj = &replica_sets(&tc, ns)[0];
    assert_eq!(
        rs_obj["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"],
        "1"
    );
    let deletes = events(&tc, ns, "ReplicaSet", &rs)
        .into_iter()
        .filter(|e| e.0 == "SuccessfulDelete")
        .count();
    assert_eq!(deletes, 4);
    let rsv = &replica_sets(&tc, ns)[0];
    assert_eq!(num(rsv, "/status/replicas"), 1);
    assert_eq!(num(rsv, "/status/readyReplicas"), 1);
    assert_eq!(num(rsv, "/status/fullyLabeledReplicas"), 1);
}

#[test]
fn recreate_stops_every_old_pod_before_the_new_replica_set_starts() {
    let tc = TestCluster::paused();
    let ns = "default";
    create_deploy(&tc, ns, deployment("db", 2, "nginx:1.26", "Recreate"));
    advance_until(&tc, 120, || rolled_out(&tc, ns, "db", 2));
    set_image(&tc, ns, "db", "nginx:1.27");
    // While old pods terminate, no new ReplicaSet exists yet.
    let mut saw_gap = false;
    advance_until(&tc, 300, || {
        let rs = replica_sets(&tc, ns);
        if rs.len() == 1 && num(&rs[0], "/spec/replicas") == 0 {
            saw_gap = true;
        }
        rolled_out(&tc, ns, "db", 2) && rs.len() == 2
    });
    let rs = replica_sets(&tc, ns);
    let (old, new) = (name(&rs[0]), name(&rs[1]));
    let got: Vec<String> = events(&tc, ns, "Deployment", "db")
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(
        got,
        [
            format!("Scaled up replica set {old} from 0 to 2"),
            format!("Scaled down replica set {old} from 2 to 0"),
            format!("Scaled up replica set {new} from 0 to 2"),
        ]
    );
    let _ = saw_gap;
}

// ----- real kubectl ------------------------------------------------------------------------

/// `rollout status` until done: the last line is the success line.
fn rolled_out_status(k: &Kubectl, ns: &str) -> Step {
    let run = k.run(&[
        "rollout",
        "status",
        "deployment/web",
        "-n",
        ns,
        "--timeout=50s",
    ]);
    ok(&run)?;
    let last = run.stdout.lines().last().unwrap_or_default();
    expect(last == "deployment \"web\" successfully rolled out", || {
        format!("rollout status ends with the success line: {run}")
    })?;
    for line in run.stdout.lines() {
        let known = line == "deployment \"web\" successfully rolled out"
            || line == "Waiting for deployment spec update to be observed..."
            || (line.starts_with("Waiting for deployment \"web\" rollout to finish: ")
                && (line.ends_with(" new replicas have been updated...")
                    || line.ends_with(" old replicas are pending termination...")
                    || line.ends_with(" updated replicas are available...")));
        expect(known, || {
            format!("unexpected rollout status line {line:?} in {run}")
        })?;
    }
    Ok(())
}

fn rs_names(tc: &TestCluster, ns: &str) -> Vec<String> {
    replica_sets(tc, ns).iter().map(name).collect()
}

fn kubectl_scenario(tc: &TestCluster, k: &Kubectl, ns: &str) -> Step {
    let n = ["-n", ns];
    let run = k.run(&["create", "namespace", ns]);
    ok(&run)?;
    let run = k.run(
        &[
            &[
                "create",
                "deployment",
                "web",
                "--image=nginx:1.26",
                "--replicas=3",
            ][..],
            &n,
        ]
        .concat(),
    );
    ok(&run)?;
    has(&run, "deployment.apps/web created", "create deployment")?;
    rolled_out_status(k, ns)?;

    let run = k.run(&[&["get", "deploy"][..], &n].concat());
    ok(&run)?;
    header_words(
        &run,
        &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "get deploy",
    )?;
    has_row(
        &run,
        &["web", "3/3", "3", "3"],
        "get deploy after the rollout",
    )?;
    let first = rs_names(tc, ns);
    expect(first.len() == 1, || format!("one ReplicaSet: {first:?}"))?;
    let run = k.run(&[&["get", "rs"][..], &n].concat());
    ok(&run)?;
    header_words(
        &run,
        &["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
        "get rs",
    )?;
    has_row(&run, &[&first[0], "3", "3", "3"], "get rs")?;

    let run = k.run(
        &[
            &["set", "image", "deployment/web", "nginx=nginx:1.27"][..],
            &n,
        ]
        .concat(),
    );
    ok(&run)?;
    has(&run, "deployment.apps/web image updated", "set image")?;
    rolled_out_status(k, ns)?;
    let names = rs_names(tc, ns);
    expect(names.len() == 2, || {
        format!("two ReplicaSets after set image: {names:?}")
    })?;
    let run = k.run(&[&["get", "rs"][..], &n].concat());
    has_row(
        &run,
        &[&names[0], "0", "0", "0"],
        "the old ReplicaSet at zero",
    )?;
    has_row(
        &run,
        &[&names[1], "3", "3", "3"],
        "the new ReplicaSet at full size",
    )?;

    let run = k.run(&[&["rollout", "history", "deployment/web"][..], &n].concat());
    ok(&run)?;
    let want =
        "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n";
    expect(run.stdout == want, || {
        format!("rollout history: expected {want:?}: {run}")
    })?;
    let run = k.run(
        &[
            &["rollout", "history", "deployment/web", "--revision=1"][..],
            &n,
        ]
        .concat(),
    );
    ok(&run)?;
    has(&run, "with revision #1", "history of one revision")?;
    has(&run, "nginx:1.26", "the first revision's image")?;
    let run = k.run(
        &[
            &["rollout", "history", "deployment/web", "--revision=9"][..],
            &n,
        ]
        .concat(),
    );
    expect(!run.ok(), || format!("an unknown revision fails: {run}"))?;
    has(
        &run,
        "unable to find the specified revision",
        "unknown revision",
    )?;

    let run = k.run(&[&["rollout", "undo", "deployment/web"][..], &n].concat());
    ok(&run)?;
    has(&run, "deployment.apps/web rolled back", "undo")?;
    rolled_out_status(k, ns)?;
    let after = rs_names(tc, ns);
    expect(after.len() == 2 && after[1] == names[0], || {
        format!("undo reuses the first ReplicaSet: {after:?} vs {names:?}")
    })?;
    let run = k.run(&[&["rollout", "history", "deployment/web"][..], &n].concat());
    let want =
        "deployment.apps/web \nREVISION  CHANGE-CAUSE\n2         <none>\n3         <none>\n\n";
    expect(run.stdout == want, || {
        format!("history after undo: expected {want:?}: {run}")
    })?;
    let run = k.run(
        &[
            &[
                "get",
                "deploy",
                "web",
                "-o",
                "jsonpath={.spec.template.spec.containers[0].image}",
            ][..],
            &n,
        ]
        .concat(),
    );
    expect(run.stdout == "nginx:1.26", || {
        format!("undo restored the image: {run}")
    })?;
    let run = k.run(
        &[
            &["rollout", "undo", "deployment/web", "--to-revision=3"][..],
            &n,
        ]
        .concat(),
    );
    has(
        &run,
        "skipped rollback (current template already matches revision 3)",
        "undo to the current revision",
    )?;

    let run = k.run(&[&["rollout", "restart", "deployment/web"][..], &n].concat());
    ok(&run)?;
    has(&run, "deployment.apps/web restarted", "restart")?;
    rolled_out_status(k, ns)?;
    let run = k.run(
        &[
            &[
                "get",
                "deploy",
                "web",
                "-o",
                "jsonpath={.spec.template.metadata.annotations}",
            ][..],
            &n,
        ]
        .concat(),
    );
    has(
        &run,
        "kubectl.kubernetes.io/restartedAt",
        "restart annotates the template",
    )?;
    expect(rs_names(tc, ns).len() == 3, || {
        "restart makes a new ReplicaSet".into()
    })?;

    let run = k.run(&[&["rollout", "pause", "deployment/web"][..], &n].concat());
    ok(&run)?;
    has(&run, "deployment.apps/web paused", "pause")?;
    let run = k.run(&[&["rollout", "pause", "deployment/web"][..], &n].concat());
    expect(!run.ok(), || format!("pausing twice fails: {run}"))?;
    has(
        &run,
        "error: deployments.apps \"web\" is already paused",
        "pause twice",
    )?;
    let run = k.run(&[&["rollout", "restart", "deployment/web"][..], &n].concat());
    expect(!run.ok(), || {
        format!("restart of a paused deployment fails: {run}")
    })?;
    has(
        &run,
        "can't restart paused deployment (run rollout resume first)",
        "restart while paused",
    )?;
    let run = k.run(&[&["rollout", "undo", "deployment/web"][..], &n].concat());
    expect(!run.ok(), || {
        format!("undo of a paused deployment fails: {run}")
    })?;
    has(
        &run,
        "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again",
        "undo while paused",
    )?;
    let run = k.run(&[&["rollout", "resume", "deployment/web"][..], &n].concat());
    ok(&run)?;
    has(&run, "deployment.apps/web resumed", "resume")?;
    let run = k.run(&[&["rollout", "resume", "deployment/web"][..], &n].concat());
    expect(!run.ok(), || format!("resuming twice fails: {run}"))?;
    has(
        &run,
        "error: deployments.apps \"web\" is not paused",
        "resume twice",
    )?;
    rolled_out_status(k, ns)?;

    let run = k.run(&[&["describe", "deploy", "web"][..], &n].concat());
    ok(&run)?;
    has(
        &run,
        "3 desired | 3 updated | 3 total | 3 available | 0 unavailable",
        "describe: Replicas line",
    )?;
    has(
        &run,
        "StrategyType:           RollingUpdate",
        "describe: strategy",
    )?;
    has(
        &run,
        "RollingUpdateStrategy:  25% max unavailable, 25% max surge",
        "describe: fenceposts",
    )?;
    has(&run, "Conditions:", "describe: conditions")?;
    has_row(
        &run,
        &["Available", "True", "MinimumReplicasAvailable"],
        "describe: Available",
    )?;
    has_row(
        &run,
        &["Progressing", "True", "NewReplicaSetAvailable"],
        "describe: Progressing",
    )?;
    let names = rs_names(tc, ns);
    let newest = names.last().cloned().unwrap_or_default();
    has(
        &run,
        &format!("NewReplicaSet:   {newest} (3/3 replicas created)"),
        "describe: NewReplicaSet",
    )?;
    has(
        &run,
        &format!(
            "OldReplicaSets:  {} (0/0 replicas created), {} (0/0 replicas created)",
            names[1], names[0]
        ),
        "describe: every old ReplicaSet, oldest first (kubectl lists them all)",
    )?;
    has(&run, "ScalingReplicaSet", "describe: the events")?;
    has(
        &run,
        "deployment-controller",
        "describe: the events' source",
    )?;
    // The first rollout's events keep their own lines; after ten different scaling messages
    // the rest are combined into one event, as a real deployment controller's recorder does.
    has(
        &run,
        &format!("Scaled up replica set {} from 0 to 1", names[0]),
        "describe: a ≥1.31 event text",
    )?;
    has(
        &run,
        "(combined from similar events): Scaled ",
        "describe: the later rollouts' events combined",
    )?;

    let run = k.run(&[&["scale", "deployment", "web", "--replicas=4"][..], &n].concat());
    ok(&run)?;
    has(&run, "deployment.apps/web scaled", "scale")?;
    rolled_out_status(k, ns)?;
    let run = k.run(&[&["get", "deploy", "web"][..], &n].concat());
    has_row(&run, &["web", "4/4", "4", "4"], "get deploy after scale")?;

    let run = k.run(&[&["get", "rs"][..], &n].concat());
    has_row(&run, &[&newest, "4", "4", "4"], "get rs after scale")?;
    Ok(())
}

#[test]
fn every_kubectl_version_drives_deployments_and_rollouts() {
    let tc = TestCluster::start_with(kq_sim::ClusterConfig {
        speed: 20.0,
        ..kq_sim::ClusterConfig::default()
    });
    on_every_kubectl(&tc, "wd", |k, ns| kubectl_scenario(&tc, k, ns));
}

#[test]
fn a_pod_the_api_server_refuses_shows_as_failed_create_and_replica_failure_until_fixed() {
    let tc = TestCluster::paused();
    let ns = "default";
    let mut d = deployment("web", 2, "nginx:1.27", "RollingUpdate");
    d["spec"]["template"]["spec"]["serviceAccountName"] = json!("builder");
    create_deploy(&tc, ns, d);
    tc.cluster().advance(Duration::from_secs(5));
    let rs = name(&replica_sets(&tc, ns)[0]);
    let evs = events(&tc, ns, "ReplicaSet", &rs);
    let (reason, message) = evs.first().cloned().unwrap_or_default();
    assert_eq!(reason, "FailedCreate", "{evs:?}");
    assert!(
        message
            == format!(
                "Error creating: pods \"{rs}-\" is forbidden: error looking up service account default/builder: serviceaccount \"builder\" not found"
            ),
        "the API server's refusal, whole: {message}"
    );
    let rs_obj = &replica_sets(&tc, ns)[0];
    assert_eq!(rs_obj["status"]["conditions"][0]["type"], "ReplicaFailure");
    assert_eq!(rs_obj["status"]["conditions"][0]["reason"], "FailedCreate");
    let d = get_deploy(&tc, ns, "web");
    let failure = conditions(&d)
        .into_iter()
        .find(|c| c.0 == "ReplicaFailure")
        .expect("the Deployment copies its ReplicaSet's ReplicaFailure");
    assert_eq!(
        (failure.1.as_str(), failure.2.as_str()),
        ("True", "FailedCreate")
    );
    assert!(pods(&tc, ns).is_empty());
    // The fix: the ServiceAccount exists; the retries (on the ReplicaSet's back-off) succeed.
    tc.cluster()
        .store()
        .create(
            &kinds::serviceaccount::KIND,
            ns,
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder"}}),
            &WriteOptions::default(),
        )
        .expect("the ServiceAccount is created");
    advance_until(&tc, 120, || rolled_out(&tc, ns, "web", 2));
    let d = get_deploy(&tc, ns, "web");
    assert!(
        conditions(&d).iter().all(|c| c.0 != "ReplicaFailure"),
        "ReplicaFailure is removed once creates succeed: {:?}",
        conditions(&d)
    );
    assert!(
        replica_sets(&tc, ns)[0]["status"]
            .get("conditions")
            .is_none()
    );
}

#[test]
fn old_replica_sets_beyond_the_revision_history_limit_are_deleted_oldest_first() {
    let tc = TestCluster::paused();
    let ns = "default";
    let mut d = deployment("web", 1, "nginx:1.25", "RollingUpdate");
    d["spec"]["revisionHistoryLimit"] = json!(1);
    create_deploy(&tc, ns, d);
    advance_until(&tc, 120, || rolled_out(&tc, ns, "web", 1));
    let first = name(&replica_sets(&tc, ns)[0]);
    for image in ["nginx:1.26", "nginx:1.27"] {
        set_image(&tc, ns, "web", image);
        advance_until(&tc, 300, || {
            rolled_out(&tc, ns, "web", 1)
                && replica_sets(&tc, ns).iter().all(|rs| {
                    rs.pointer("/status/replicas").and_then(Value::as_i64)
                        == Some(num(rs, "/spec/replicas"))
                })
        });
    }
    tc.cluster().advance(Duration::from_secs(5));
    let names = rs_names(&tc, ns);
    assert_eq!(
        names.len(),
        2,
        "the new ReplicaSet and one old one: {names:?}"
    );
    assert!(!names.contains(&first), "revision 1 went first: {names:?}");
    let revisions: Vec<String> = replica_sets(&tc, ns)
        .iter()
        .map(|rs| {
            rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(revisions, ["2", "3"]);
}

#[test]
fn a_paused_rollout_is_scaled_proportionally_and_resumes_where_it_stopped() {
    let tc = TestCluster::paused();
    let ns = "default";
    create_deploy(
        &tc,
        ns,
        deployment("web", 10, "nginx:1.26", "RollingUpdate"),
    );
    advance_until(&tc, 120, || rolled_out(&tc, ns, "web", 10));
    // A new image that never starts: the rollout stops at its first step, then is paused.
    set_image(&tc, ns, "web", "nginx:1.99");
    tc.cluster().advance(Duration::from_secs(10));
    patch_deploy(&tc, ns, "web", json!({"spec": {"paused": true}}));
    tc.cluster().advance(Duration::from_secs(1));
    let d = get_deploy(&tc, ns, "web");
    assert_eq!(
        conditions(&d)[1],
        cond(
            "Progressing",
            "Unknown",
            "DeploymentPaused",
            "Deployment is paused"
        )
    );
    let before: Vec<i64> = replica_sets(&tc, ns)
        .iter()
        .map(|rs| num(rs, "/spec/replicas"))
        .collect();
    assert_eq!(
        before,
        [8, 5],
        "surge 3 and maxUnavailable 2 of 10: old 10→8, new 0→5"
    );
    patch_deploy(&tc, ns, "web", json!({"spec": {"replicas": 20}}));
    tc.cluster().advance(Duration::from_secs(1));
    let after: Vec<i64> = replica_sets(&tc, ns)
        .iter()
        .map(|rs| num(rs, "/spec/replicas"))
        .collect();
    assert_eq!(
        after.iter().sum::<i64>(),
        25,
        "20 replicas + 5 surge shared out: {after:?}"
    );
    assert_eq!(
        after,
        [15, 10],
        "each grows by round(size × 25 / 13) − size (13 = its max-replicas annotation)"
    );
    let rs = replica_sets(&tc, ns);
    let got: Vec<String> = events(&tc, ns, "Deployment", "web")
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert!(
        got.contains(&format!(
            "Scaled up replica set {} from 8 to 15",
            name(&rs[0])
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&format!(
            "Scaled up replica set {} from 5 to 10",
            name(&rs[1])
        )),
        "{got:?}"
    );
    // Resumed until the next progress replaces it (read before the clock moves on).
    patch_deploy(&tc, ns, "web", json!({"spec": {"paused": false}}));
    let d = get_deploy(&tc, ns, "web");
    assert_eq!(
        conditions(&d)[1],
        cond(
            "Progressing",
            "Unknown",
            "DeploymentResumed",
            "Deployment is resumed"
        )
    );
}

#[test]
fn min_ready_seconds_hold_availability_back_on_the_virtual_clock() {
    let tc = TestCluster::paused();
    let ns = "default";
    let mut d = deployment("web", 1, "nginx:1.27", "RollingUpdate");
    d["spec"]["minReadySeconds"] = json!(30);
    create_deploy(&tc, ns, d);
    let ready_after = advance_until(&tc, 120, || {
        replica_sets(&tc, ns)
            .first()
            .is_some_and(|rs| num(rs, "/status/readyReplicas") == 1)
    });
    let rs = &replica_sets(&tc, ns)[0];
    assert_eq!(
        num(rs, "/status/availableReplicas"),
        0,
        "ready, not yet available"
    );
    assert_eq!(
        num(rs, "/spec/minReadySeconds"),
        30,
        "copied onto the ReplicaSet"
    );
    let available_after = advance_until(&tc, 120, || {
        num(&replica_sets(&tc, ns)[0], "/status/availableReplicas") == 1
    });
    assert!(
        (29..=31).contains(&available_after),
        "available 30 s after ready (ready at {ready_after} s, available {available_after} s later)"
    );
    advance_until(&tc, 5, || rolled_out(&tc, ns, "web", 1));
}

#[test]
fn a_replica_set_adopts_matching_orphans_and_releases_pods_relabelled_away() {
    let tc = TestCluster::paused();
    let ns = "default";
    tc.create(
        ns,
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "stray", "labels": {"app": "solo"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}),
    );
    tc.cluster()
        .store()
        .create(
            &kinds::replicaset::KIND,
            ns,
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": "solo"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "solo"}},
                    "template": {"metadata": {"labels": {"app": "solo"}},
                        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}}),
            &WriteOptions::default(),
        )
        .expect("the ReplicaSet is accepted");
    tc.cluster().settle();
    advance_until(&tc, 60, || {
        replica_sets(&tc, ns)
            .first()
            .is_some_and(|rs| num(rs, "/status/readyReplicas") == 2)
    });
    let ps = pods(&tc, ns);
    assert_eq!(ps.len(), 2, "the orphan counts: one pod created, not two");
    let stray = ps
        .iter()
        .find(|p| name(p) == "stray")
        .expect("the orphan is kept");
    assert_eq!(
        stray["metadata"]["ownerReferences"][0]["kind"],
        "ReplicaSet"
    );
    assert_eq!(stray["metadata"]["ownerReferences"][0]["name"], "solo");
    assert_eq!(stray["metadata"]["ownerReferences"][0]["controller"], true);
    let created: Vec<(String, String)> = events(&tc, ns, "ReplicaSet", "solo");
    assert_eq!(created.len(), 1, "{created:?}");
    assert!(created[0].1.starts_with("Created pod: solo-"));

    // Relabel the orphan away: it is released and replaced.
    tc.cluster()
        .store()
        .patch(
            &kinds::pod::KIND,
            ns,
            "stray",
            br#"{"metadata":{"labels":{"app":"debug"}}}"#,
            PatchKind::Merge,
            &WriteOptions::default(),
            false,
        )
        .expect("the relabel applies");
    tc.cluster().settle();
    tc.cluster().advance(Duration::from_secs(1));
    let stray = pods(&tc, ns)
        .into_iter()
        .find(|p| name(p) == "stray")
        .expect("a released pod keeps running");
    assert!(
        stray["metadata"].get("ownerReferences").is_none(),
        "released: {}",
        stray["metadata"]
    );
    let owned = pods(&tc, ns)
        .iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "solo")
        .count();
    assert_eq!(owned, 2, "a replacement is created");
}
