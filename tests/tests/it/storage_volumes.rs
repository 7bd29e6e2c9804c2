//! StorageClass, PersistentVolume and PersistentVolumeClaim binding, provisioning, volume
//! scheduling and mounts (WORKLOADS.md §6), as real kubectl of every installed version sees
//! them: kind's `standard (default)` class, a claim that waits for its first consumer and is
//! provisioned as `pvc-<uid>` once a pod uses it, a claim with no class and no volume
//! (FailedBinding, and the pod's FailedScheduling), a static volume bound by a matching claim,
//! a pod that names a missing claim, a StatefulSet's claims from its templates, and a claim
//! that stays `Terminating` while a pod uses it. A paused-clock test pins the controller's
//! event timings.

use std::time::Duration;

use kq_sim::kinds;
use kq_sim::store::WriteOptions;
use kq_tests::check::{Step, expect, has, has_row, header, ok, retry_until};
use kq_tests::cluster::{Kubectl, TestCluster, advance_until, on_every_kubectl};
use serde_json::{Value, json};

fn write_file(tc: &TestCluster, name: &str, text: &str) -> String {
    let path = tc.dir().join(name);
    std::fs::write(&path, text).expect("a manifest in the scratch directory");
    path.to_string_lossy().into_owned()
}

fn claim(name: &str, class: Option<&str>, size: &str) -> Value {
    let mut spec =
        json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}});
    if let Some(c) = class {
        spec["storageClassName"] = json!(c);
    }
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec})
}

fn pod_with_claim(name: &str, claim: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
    "spec": {
        "containers": [{"name": "app", "image": "busybox:1.36",
            "command": ["sh", "-c", "sleep 3600"],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    }})
}

const LONG: Duration = Duration::from_secs(60);
const PAUSE: Duration = Duration::from_millis(300);

fn scenario(tc: &TestCluster, k: &Kubectl, ns: &str) -> Step {
    let run = |args: &[&str]| {
        let mut a: Vec<&str> = vec!["-n", ns];
        a.extend_from_slice(args);
        k.run(&a)
    };
    let apply = |file: &str, obj: &Value| {
        let path = write_file(tc, &format!("{ns}-{file}.json"), &obj.to_string());
        run(&["apply", "-f", &path])
    };
    ok(&k.run(&["create", "namespace", ns]))?;

    // The default class, as kind has it.
    let sc = k.run(&["get", "sc"]);
    header(
        &sc,
        &[
            "NAME",
            "PROVISIONER",
            "RECLAIMPOLICY",
            "VOLUMEBINDINGMODE",
            "ALLOWVOLUMEEXPANSION",
            "AGE",
        ],
        "get sc has the printer's columns",
    )?;
    has_row(
        &sc,
        &[
            "standard",
            "(default)",
            "rancher.io/local-path",
            "Delete",
            "WaitForFirstConsumer",
            "false",
        ],
        "kind's default class",
    )?;

    // A claim of the default class waits for its first consumer.
    ok(&apply("data", &claim("data", None, "1Gi")))?;
    let pvc = run(&["get", "pvc", "data"]);
    header(
        &pvc,
        &[
            "NAME",
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS MODES",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "AGE",
        ],
        "get pvc has the printer's columns",
    )?;
    has_row(
        &pvc,
        &["data", "Pending", "standard", "<unset>"],
        "a new claim is Pending",
    )?;
    retry_until(
        k,
        &["-n", ns, "describe", "pvc", "data"],
        LONG,
        PAUSE,
        |r| {
            has(
                r,
                "waiting for first consumer to be created before binding",
                "WaitForFirstConsumer event",
            )
        },
    )?;

    // A pod that uses it: the claim is provisioned as pvc-<uid> and bound, the pod runs.
    ok(&apply("user", &pod_with_claim("user", "data")))?;
    let uid = run(&["get", "pvc", "data", "-o", "jsonpath={.metadata.uid}"]);
    ok(&uid)?;
    let pv = format!("pvc-{}", uid.stdout.trim());
    retry_until(k, &["-n", ns, "get", "pvc", "data"], LONG, PAUSE, |r| {
        has_row(
            r,
            &["data", "Bound", &pv, "1Gi", "RWO", "standard"],
            "the claim is bound to pvc-<uid>",
        )
    })?;
    retry_until(k, &["-n", ns, "get", "pod", "user"], LONG, PAUSE, |r| {
        has_row(
            r,
            &["user", "1/1", "Running"],
            "the pod runs once its claim is bound",
        )
    })?;
    let d = run(&["describe", "pvc", "data"]);
    has(
        &d,
        "StorageClass:  standard",
        "describe pvc names the class",
    )?;
    has(
        &d,
        &format!("Volume:        {pv}"),
        "describe pvc names the volume",
    )?;
    has(
        &d,
        "Used By:       user",
        "describe pvc lists the pod that uses it",
    )?;
    has(
        &d,
        "Finalizers:    [kubernetes.io/pvc-protection]",
        "the protection finalizer",
    )?;
    has(
        &d,
        "Waiting for a volume to be created either by the external provisioner 'rancher.io/local-path' or manually by the system administrator.",
        "ExternalProvisioning event",
    )?;
    has(
        &d,
        &format!("External provisioner is provisioning volume for claim \"{ns}/data\""),
        "the provisioner's Provisioning event",
    )?;
    has(
        &d,
        &format!("Successfully provisioned volume {pv}"),
        "ProvisioningSucceeded event",
    )?;
    has(
        &d,
        "rancher.io/local-path_local-path-provisioner-",
        "the provisioner's event source",
    )?;
    let pvs = k.run(&["get", "pv", &pv]);
    header(
        &pvs,
        &[
            "NAME",
            "CAPACITY",
            "ACCESS MODES",
            "RECLAIM POLICY",
            "STATUS",
            "CLAIM",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "REASON",
            "AGE",
        ],
        "get pv has the printer's columns",
    )?;
    has_row(
        &pvs,
        &[
            &pv,
            "1Gi",
            "RWO",
            "Delete",
            "Bound",
            &format!("{ns}/data"),
            "standard",
            "<unset>",
        ],
        "the provisioned volume",
    )?;
    let pod = run(&["describe", "pod", "user"]);
    has(
        &pod,
        "Successfully assigned",
        "the pod was scheduled after provisioning",
    )?;

    // A claim in use stays Terminating; it goes with its last pod, and so does its volume.
    ok(&run(&["delete", "pvc", "data", "--wait=false"]))?;
    retry_until(k, &["-n", ns, "get", "pvc", "data"], LONG, PAUSE, |r| {
        has_row(
            r,
            &["data", "Terminating", &pv],
            "a claim in use stays Terminating",
        )
    })?;
    ok(&run(&[
        "delete",
        "pod",
        "user",
        "--grace-period=0",
        "--force",
    ]))?;
    retry_until(k, &["-n", ns, "get", "pvc"], LONG, PAUSE, |r| {
        has(
            r,
            "No resources found",
            "the claim goes once no pod uses it",
        )
    })?;
    retry_until(k, &["get", "pv", &pv], LONG, PAUSE, |r| {
        has(
            r,
            "not found",
            "the released volume is deleted (reclaim policy Delete)",
        )
    })?;

    // No class and no volume: FailedBinding; a pod that uses it cannot be scheduled.
    ok(&apply("plain", &claim("plain", Some(""), "1Gi")))?;
    retry_until(
        k,
        &["-n", ns, "describe", "pvc", "plain"],
        LONG,
        PAUSE,
        |r| {
            has(
                r,
                "no persistent volumes available for this claim and no storage class is set",
                "FailedBinding event",
            )
        },
    )?;
    ok(&apply("stuck", &pod_with_claim("stuck", "plain")))?;
    retry_until(
        k,
        &["-n", ns, "describe", "pod", "stuck"],
        LONG,
        PAUSE,
        |r| {
            has(
                r,
                "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
                "FailedScheduling for an unbound immediate claim",
            )
        },
    )?;

    // A static volume bound by a claim that matches it (class, size, access modes).
    let static_pv = format!("static-{ns}");
    // A class of its own per version: the volumes are cluster-wide and the versions run at once.
    let class = format!("manual-{ns}");
    ok(&apply(
        "static-pv",
        &json!({"apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": static_pv},
        "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"],
            "storageClassName": class, "hostPath": {"path": format!("/mnt/{ns}")}}}),
    ))?;
    retry_until(k, &["get", "pv", &static_pv], LONG, PAUSE, |r| {
        has_row(
            r,
            &[&static_pv, "2Gi", "RWO", "Retain", "Available", &class],
            "a new static volume is Available",
        )
    })?;
    ok(&apply("manual", &claim("manual", Some(&class), "1Gi")))?;
    retry_until(k, &["-n", ns, "get", "pvc", "manual"], LONG, PAUSE, |r| {
        has_row(
            r,
            &["manual", "Bound", &static_pv, "2Gi", "RWO", &class],
            "the claim binds the static volume",
        )
    })?;
    retry_until(k, &["get", "pv", &static_pv], LONG, PAUSE, |r| {
        has_row(
            r,
            &[
                &static_pv,
                "2Gi",
                "RWO",
                "Retain",
                "Bound",
                &format!("{ns}/manual"),
                &class,
            ],
            "the volume names its claim",
        )
    })?;

    // A pod that names a claim that does not exist.
    ok(&apply("orphan", &pod_with_claim("orphan", "nope")))?;
    retry_until(
        k,
        &["-n", ns, "describe", "pod", "orphan"],
        LONG,
        PAUSE,
        |r| {
            has(
                r,
                "0/1 nodes are available: persistentvolumeclaim \"nope\" not found. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
                "FailedScheduling for a missing claim",
            )
        },
    )?;

    // A StatefulSet's claims from its templates, one per pod, made before the pod.
    ok(&apply(
        "web",
        &json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "serviceName": "web", "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                    "volumeMounts": [{"name": "data", "mountPath": "/usr/share/nginx/html"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}),
    ))?;
    retry_until(
        k,
        &["-n", ns, "get", "pvc", "data-web-0", "data-web-1"],
        LONG,
        PAUSE,
        |r| {
            has_row(r, &["data-web-0", "Bound"], "the first ordinal's claim")?;
            has_row(r, &["data-web-1", "Bound"], "the second ordinal's claim")
        },
    )?;
    // Files written on a claim are there for the next pod that mounts it; an emptyDir is
    // shared by the pod's containers.
    ok(&apply("keep", &claim("keep", None, "1Gi")))?;
    ok(&apply("writer", &pod_with_claim("writer", "keep")))?;
    retry_until(k, &["-n", ns, "get", "pod", "writer"], LONG, PAUSE, |r| {
        has_row(r, &["writer", "1/1", "Running"], "the writer runs")
    })?;
    ok(&run(&[
        "exec",
        "writer",
        "--",
        "sh",
        "-c",
        "echo hi > /data/x",
    ]))?;
    ok(&run(&[
        "delete",
        "pod",
        "writer",
        "--grace-period=0",
        "--force",
    ]))?;
    ok(&apply("reader", &pod_with_claim("reader", "keep")))?;
    retry_until(k, &["-n", ns, "get", "pod", "reader"], LONG, PAUSE, |r| {
        has_row(r, &["reader", "1/1", "Running"], "the reader runs")
    })?;
    let cat = run(&["exec", "reader", "--", "cat", "/data/x"]);
    expect(cat.ok() && cat.stdout == "hi\n", || {
        format!("the file outlives its writer: {cat}")
    })?;
    let shared = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pair"},
        "spec": {
            "containers": [
                {"name": "a", "image": "busybox:1.36", "command": ["sh", "-c", "sleep 3600"],
                    "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]},
                {"name": "b", "image": "busybox:1.36", "command": ["sh", "-c", "sleep 3600"],
                    "volumeMounts": [{"name": "scratch", "mountPath": "/shared"}]}],
            "volumes": [{"name": "scratch", "emptyDir": {}}]}});
    ok(&apply("pair", &shared))?;
    retry_until(k, &["-n", ns, "get", "pod", "pair"], LONG, PAUSE, |r| {
        has_row(r, &["pair", "2/2", "Running"], "both containers run")
    })?;
    ok(&run(&[
        "exec",
        "pair",
        "-c",
        "a",
        "--",
        "sh",
        "-c",
        "echo shared > /scratch/note",
    ]))?;
    let note = run(&["exec", "pair", "-c", "b", "--", "cat", "/shared/note"]);
    expect(note.ok() && note.stdout == "shared\n", || {
        format!("an emptyDir is shared by the pod's containers: {note}")
    })?;

    let events = run(&["describe", "statefulset", "web"]);
    has(
        &events,
        "create Claim data-web-0 Pod web-0 in StatefulSet web success",
        "the claim's creation event",
    )?;
    Ok(())
}

#[test]
fn kubectl_sees_classes_claims_volumes_and_their_events() {
    let tc = TestCluster::start();
    on_every_kubectl(&tc, "st", |k, ns| scenario(&tc, k, ns));
}

fn events_for(tc: &TestCluster, ns: &str, name: &str) -> Vec<(String, String, i64)> {
    tc.cluster()
        .store()
        .list_raw(&kinds::event::KIND, Some(ns))
        .iter()
        .filter(|e| e.pointer("/involvedObject/name").and_then(Value::as_str) == Some(name))
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or_default().to_string(),
                e["message"].as_str().unwrap_or_default().to_string(),
                e["count"].as_i64().unwrap_or(1),
            )
        })
        .collect()
}

/// On the paused clock: a claim waiting for its consumer is looked at every 15 s (the event's
/// count grows), and the pod is bound only once the provisioner's volume is.
#[test]
fn the_binder_repeats_its_verdict_every_fifteen_seconds() {
    let tc = TestCluster::paused();
    let store = tc.cluster().store();
    let opts = WriteOptions::default();
    store
        .create(
            &kinds::persistentvolumeclaim::KIND,
            "default",
            claim("wait", None, "1Gi"),
            &opts,
        )
        .expect("claim");
    tc.cluster().settle();
    let count = |tc: &TestCluster| {
        events_for(tc, "default", "wait")
            .iter()
            .find(|(r, _, _)| r == "WaitForFirstConsumer")
            .map_or(0, |(_, _, c)| *c)
    };
    assert_eq!(count(&tc), 1, "the first verdict at once");
    tc.cluster().advance(Duration::from_secs(60));
    assert_eq!(count(&tc), 5, "then one every 15 s");
    store
        .create(
            &kinds::pod::KIND,
            "default",
            pod_with_claim("consumer", "wait"),
            &opts,
        )
        .expect("pod");
    tc.cluster().settle();
    advance_until(&tc, 30, || {
        store
            .get_raw(&kinds::pod::KIND, "default", "consumer")
            .is_some_and(|p| p.pointer("/spec/nodeName").is_some())
    });
    let c = store
        .get_raw(&kinds::persistentvolumeclaim::KIND, "default", "wait")
        .expect("claim");
    let uid = c["metadata"]["uid"].as_str().unwrap_or_default();
    assert_eq!(c["spec"]["volumeName"], json!(format!("pvc-{uid}")));
    assert_eq!(c["status"]["phase"], "Bound");
    assert!(
        c["metadata"]["annotations"]["volume.kubernetes.io/selected-node"].is_string(),
        "the scheduler chose the node"
    );
    let reasons: Vec<String> = events_for(&tc, "default", "wait")
        .into_iter()
        .map(|(r, _, _)| r)
        .collect();
    assert_eq!(
        reasons,
        [
            "WaitForFirstConsumer",
            "ExternalProvisioning",
            "Provisioning",
            "ProvisioningSucceeded"
        ],
        "the claim's events in kind's order"
    );
}

/// On the paused clock: a pod put on the node directly, whose claim is not bound, warns
/// FailedMount with the populator's error at its first sync (the kubelet's volume wait returns
/// that error at once instead of timing out), and again at each retry 10–15 s apart.
#[test]
fn a_pod_on_an_unbound_claim_fails_its_mount_with_the_claim_error_at_each_sync() {
    let tc = TestCluster::paused();
    let store = tc.cluster().store();
    let opts = WriteOptions::default();
    store
        .create(
            &kinds::persistentvolumeclaim::KIND,
            "default",
            claim("lonely", Some(""), "1Gi"),
            &opts,
        )
        .expect("claim");
    let mut pod = pod_with_claim("direct", "lonely");
    let node = store
        .list_raw(&kinds::node::KIND, None)
        .first()
        .map(|n| {
            n["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .expect("a node");
    pod["spec"]["nodeName"] = json!(node);
    store
        .create(&kinds::pod::KIND, "default", pod, &opts)
        .expect("pod");
    tc.cluster().settle();
    let failed = |tc: &TestCluster| {
        events_for(tc, "default", "direct")
            .into_iter()
            .find(|(r, _, _)| r == "FailedMount")
    };
    tc.cluster().advance(Duration::from_secs(2));
    let (_, msg, count) = failed(&tc).expect("FailedMount at the first sync");
    assert_eq!(
        msg,
        "Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[], failed to process volumes=[data]: error processing PVC default/lonely: PVC is not bound"
    );
    assert_eq!(count, 1);
    // The pod worker retries after 10–15 s: five more warnings or so in a minute.
    tc.cluster().advance(Duration::from_secs(60));
    let (_, _, count) = failed(&tc).expect("FailedMount repeats");
    assert!((5..=7).contains(&count), "{count}");
    let p = store
        .get_raw(&kinds::pod::KIND, "default", "direct")
        .expect("pod");
    assert_eq!(p["status"]["phase"], "Pending");
}

/// On the paused clock: the pvc-protection controller counts the pods scheduled on a node
/// that name the claim. A deleted claim whose only user was never scheduled goes at once; one
/// whose pod has completed stays `Terminating` until that pod is deleted.
#[test]
fn a_deleted_claim_waits_for_its_scheduled_pods_only_and_completed_ones_too() {
    let tc = TestCluster::paused();
    let store = tc.cluster().store();
    let opts = WriteOptions::default();
    let claim_of = |name: &str| store.get_raw(&kinds::persistentvolumeclaim::KIND, "default", name);
    // A pod that no node takes, on a claim.
    store
        .create(
            &kinds::persistentvolumeclaim::KIND,
            "default",
            claim("orphan", Some(""), "1Gi"),
            &opts,
        )
        .expect("claim");
    let mut nowhere = pod_with_claim("nowhere", "orphan");
    nowhere["spec"]["nodeSelector"] = json!({"disk": "none"});
    store
        .create(&kinds::pod::KIND, "default", nowhere, &opts)
        .expect("pod");
    tc.cluster().advance(Duration::from_secs(5));
    store
        .delete(
            &kinds::persistentvolumeclaim::KIND,
            "default",
            "orphan",
            &Default::default(),
        )
        .expect("delete is accepted");
    tc.cluster().advance(Duration::from_secs(1));
    assert!(
        claim_of("orphan").is_none(),
        "an unscheduled pod does not hold the claim"
    );

    // A pod that ran to completion on its claim.
    store
        .create(
            &kinds::persistentvolumeclaim::KIND,
            "default",
            claim("results", None, "1Gi"),
            &opts,
        )
        .expect("claim");
    let mut job = pod_with_claim("once", "results");
    job["spec"]["restartPolicy"] = json!("Never");
    job["spec"]["containers"][0]["command"] = json!(["sh", "-c", "echo done > /data/out"]);
    store
        .create(&kinds::pod::KIND, "default", job, &opts)
        .expect("pod");
    advance_until(&tc, 60, || {
        store
            .get_raw(&kinds::pod::KIND, "default", "once")
            .is_some_and(|p| p.pointer("/status/phase") == Some(&json!("Succeeded")))
    });
    store
        .delete(
            &kinds::persistentvolumeclaim::KIND,
            "default",
            "results",
            &Default::default(),
        )
        .expect("delete is accepted");
    tc.cluster().advance(Duration::from_secs(30));
    let held = claim_of("results").expect("a completed pod still holds the claim");
    assert!(held.pointer("/metadata/deletionTimestamp").is_some());
    store
        .delete(&kinds::pod::KIND, "default", "once", &Default::default())
        .expect("delete is accepted");
    advance_until(&tc, 60, || claim_of("results").is_none());
}
