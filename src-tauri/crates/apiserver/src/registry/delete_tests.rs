//! Unit tests of the delete path's garbage-collection side: propagation policies turned into
//! the `orphan` / `foregroundDeletion` finalizers, kind defaults (a Job orphans and warns),
//! and the options kube-apiserver refuses (`store.go` `deletionFinalizersForGarbageCollection`,
//! apimachinery `ValidateDeleteOptions`).

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;

const NS: &str = "gc";

fn store() -> Arc<Store> {
    let s = Store::new(Arc::new(Clock::new(0.0)), String::new(), 100);
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}});
    s.create(&kinds::namespace::KIND, "", ns, &WriteOptions::default())
        .expect("namespace");
    s
}

fn configmap(s: &Store, name: &str, finalizers: &[&str]) -> Value {
    let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
    if !finalizers.is_empty() {
        cm["metadata"]["finalizers"] = json!(finalizers);
    }
    s.create(&kinds::configmap::KIND, NS, cm, &WriteOptions::default())
        .expect("configmap")
        .object
}

fn policy(p: &str) -> DeleteOptions {
    DeleteOptions {
        propagation_policy: Some(p.into()),
        ..DeleteOptions::default()
    }
}

fn get_cm(s: &Store, name: &str) -> Option<Arc<Value>> {
    s.get_raw(&kinds::configmap::KIND, NS, name)
}

fn finalizers(obj: &Value) -> Value {
    obj.pointer("/metadata/finalizers")
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn background_and_no_policy_remove_an_object_at_once() {
    let s = store();
    configmap(&s, "a", &[]);
    configmap(&s, "b", &[]);
    let out = s
        .delete(&kinds::configmap::KIND, NS, "a", &policy("Background"))
        .expect("deleted");
    assert!(matches!(out, DeleteOutcome::Deleted(_)));
    assert!(get_cm(&s, "a").is_none());
    let (out, warnings) = s
        .delete_with_warnings(&kinds::configmap::KIND, NS, "b", &DeleteOptions::default())
        .expect("deleted");
    assert!(matches!(out, DeleteOutcome::Deleted(_)));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(get_cm(&s, "b").is_none());
}

#[test]
fn foreground_keeps_the_object_with_its_finalizer_until_it_is_removed() {
    let s = store();
    configmap(&s, "owner", &[]);
    let out = s
        .delete(&kinds::configmap::KIND, NS, "owner", &policy("Foreground"))
        .expect("accepted");
    let DeleteOutcome::Terminating(answer) = out else {
        panic!("the object stays")
    };
    let got = get_cm(&s, "owner").expect("still listed");
    assert_eq!(finalizers(&got), json!(["foregroundDeletion"]));
    assert_eq!(got["metadata"]["deletionGracePeriodSeconds"], json!(0));
    assert!(got["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        answer["metadata"]["finalizers"],
        got["metadata"]["finalizers"]
    );

    // Deleting again changes nothing (no new resourceVersion).
    let rv = got["metadata"]["resourceVersion"].clone();
    s.delete(&kinds::configmap::KIND, NS, "owner", &policy("Foreground"))
        .expect("accepted again");
    let again = get_cm(&s, "owner").expect("still listed");
    assert_eq!(again["metadata"]["resourceVersion"], rv);

    // The garbage collector's last step: the finalizer goes, and so does the object.
    let mut body = (*again).clone();
    body["metadata"]["finalizers"] = json!([]);
    s.replace(
        &kinds::configmap::KIND,
        NS,
        "owner",
        body,
        &WriteOptions::default(),
        false,
    )
    .expect("finalizer removed");
    assert!(get_cm(&s, "owner").is_none());
}

#[test]
fn orphan_and_legacy_orphan_dependents_add_the_orphan_finalizer() {
    let s = store();
    configmap(&s, "a", &["example.com/keep"]);
    configmap(&s, "b", &[]);
    s.delete(&kinds::configmap::KIND, NS, "a", &policy("Orphan"))
        .expect("accepted");
    assert_eq!(
        finalizers(&get_cm(&s, "a").expect("stays")),
        json!(["example.com/keep", "orphan"])
    );
    let legacy = DeleteOptions {
        orphan_dependents: Some(true),
        ..DeleteOptions::default()
    };
    s.delete(&kinds::configmap::KIND, NS, "b", &legacy)
        .expect("accepted");
    assert_eq!(
        finalizers(&get_cm(&s, "b").expect("stays")),
        json!(["orphan"])
    );
}

#[test]
fn an_existing_gc_finalizer_decides_when_no_policy_is_sent_and_an_explicit_one_overrides_it() {
    let s = store();
    configmap(&s, "orphaning", &["orphan"]);
    configmap(&s, "switched", &["foregroundDeletion"]);
    s.delete(
        &kinds::configmap::KIND,
        NS,
        "orphaning",
        &DeleteOptions::default(),
    )
    .expect("accepted");
    let got = get_cm(&s, "orphaning").expect("kept by its finalizer");
    assert_eq!(finalizers(&got), json!(["orphan"]));
    assert!(got["metadata"]["deletionTimestamp"].is_string());

    // Background drops the foregroundDeletion finalizer, so nothing holds the object.
    let out = s
        .delete(
            &kinds::configmap::KIND,
            NS,
            "switched",
            &policy("Background"),
        )
        .expect("deleted");
    assert!(matches!(out, DeleteOutcome::Deleted(_)));
    assert!(get_cm(&s, "switched").is_none());
}

#[test]
fn a_foreground_deletion_can_be_turned_into_a_background_one() {
    let s = store();
    configmap(&s, "owner", &[]);
    s.delete(&kinds::configmap::KIND, NS, "owner", &policy("Foreground"))
        .expect("accepted");
    assert!(get_cm(&s, "owner").is_some());
    let out = s
        .delete(&kinds::configmap::KIND, NS, "owner", &policy("Background"))
        .expect("deleted");
    assert!(matches!(out, DeleteOutcome::Deleted(_)));
    assert!(get_cm(&s, "owner").is_none());
}

fn job(name: &str) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox:1.36", "command": ["true"]}],
        }}},
    })
}

#[test]
fn a_job_orphans_its_pods_by_default_and_says_so() {
    let s = store();
    for name in ["quiet", "loud", "explicit"] {
        s.create(&kinds::job::KIND, NS, job(name), &WriteOptions::default())
            .expect("job");
    }
    let (out, warnings) = s
        .delete_with_warnings(&kinds::job::KIND, NS, "loud", &DeleteOptions::default())
        .expect("accepted");
    assert!(matches!(out, DeleteOutcome::Terminating(_)));
    assert_eq!(
        warnings,
        [
            "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning"
        ]
    );
    let got = s.get_raw(&kinds::job::KIND, NS, "loud").expect("stays");
    assert_eq!(finalizers(&got), json!(["orphan"]));
    // markAsDeleting bumps the generation of a kind that tracks it.
    assert_eq!(got["metadata"]["generation"], json!(2));

    let (_, warnings) = s
        .delete_with_warnings(&kinds::job::KIND, NS, "explicit", &policy("Orphan"))
        .expect("accepted");
    assert!(warnings.is_empty(), "{warnings:?}");
    let (out, warnings) = s
        .delete_with_warnings(&kinds::job::KIND, NS, "quiet", &policy("Background"))
        .expect("deleted");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(matches!(out, DeleteOutcome::Deleted(_)));
}

#[test]
fn a_pod_deleted_in_the_foreground_gets_its_grace_period_and_the_finalizer() {
    let s = store();
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}});
    s.create(
        &kinds::serviceaccount::KIND,
        NS,
        sa,
        &WriteOptions::default(),
    )
    .expect("service account");
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}], "nodeName": "node-1"}});
    s.create(&kinds::pod::KIND, NS, pod, &WriteOptions::default())
        .expect("pod");
    s.set_kubelet_attached(true);
    s.delete(&kinds::pod::KIND, NS, "p", &policy("Foreground"))
        .expect("accepted");
    let got = s.get_raw(&kinds::pod::KIND, NS, "p").expect("terminating");
    assert_eq!(finalizers(&got), json!(["foregroundDeletion"]));
    assert_eq!(got["metadata"]["deletionGracePeriodSeconds"], json!(30));
    // The kubelet is done: the pod waits for its finalizer with no grace left.
    s.finalize_pod_deletion(NS, "p", kinds::str_at(&got, "/metadata/uid"))
        .expect("finalized");
    let got = s.get_raw(&kinds::pod::KIND, NS, "p").expect("held");
    assert_eq!(got["metadata"]["deletionGracePeriodSeconds"], json!(0));
}

#[test]
fn bad_delete_options_are_refused_before_anything_is_looked_up() {
    let s = store();
    let both = DeleteOptions {
        propagation_policy: Some("Background".into()),
        orphan_dependents: Some(false),
        ..DeleteOptions::default()
    };
    let err = s
        .delete(&kinds::configmap::KIND, NS, "missing", &both)
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Invalid value: \"Background\": orphanDependents and deletionPropagation cannot be both set"
    );
    assert_eq!(err.code(), 422);
    let err = s
        .delete(&kinds::configmap::KIND, NS, "missing", &policy("bogus"))
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"bogus\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
    );
}
