//! The plug-in through the store's create and update paths: the texts kubectl prints.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::kinds;
use crate::registry::WriteOptions;
use crate::store::Store;

fn store_with(ns: &str, labels: Value) -> Arc<Store> {
    let s = Store::new(Arc::new(crate::Clock::new(0.0)), String::new(), 100);
    let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}});
    s.create(&kinds::namespace::KIND, "", body, &WriteOptions::default())
        .expect("namespace");
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}});
    s.create(
        &kinds::serviceaccount::KIND,
        ns,
        sa,
        &WriteOptions::default(),
    )
    .expect("service account");
    s
}

fn pod(name: &str, containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"containers": containers}})
}

fn nginx(name: &str) -> Value {
    pod(name, json!([{"name": "nginx", "image": "nginx"}]))
}

const NGINX_RESTRICTED: &str = "allowPrivilegeEscalation != false (container \"nginx\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container \"nginx\" must set securityContext.capabilities.drop=[\"ALL\"]), runAsNonRoot != true (pod or container \"nginx\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container \"nginx\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")";

fn set_labels(s: &Store, ns: &str, labels: Value) -> crate::Result<Vec<String>> {
    let mut body = (*s.get_raw(&kinds::namespace::KIND, "", ns).expect("ns")).clone();
    body["metadata"]["labels"] = labels;
    s.replace(
        &kinds::namespace::KIND,
        "",
        ns,
        body,
        &WriteOptions::default(),
        false,
    )
    .map(|r| r.warnings)
}

#[test]
fn enforce_refuses_a_pod_with_the_full_restricted_message() {
    let s = store_with(
        "r",
        json!({"pod-security.kubernetes.io/enforce": "restricted"}),
    );
    let err = s
        .create(
            &kinds::pod::KIND,
            "r",
            nginx("nginx"),
            &WriteOptions::default(),
        )
        .expect_err("refused");
    assert_eq!(err.code(), 403);
    assert_eq!(
        err.to_string(),
        format!(
            "pods \"nginx\" is forbidden: violates PodSecurity \"restricted:latest\": {NGINX_RESTRICTED}"
        )
    );
}

#[test]
fn warn_admits_with_a_warning_and_versions_print_as_labelled() {
    let s = store_with(
        "w",
        json!({"pod-security.kubernetes.io/warn": "baseline", "pod-security.kubernetes.io/warn-version": "v1.30"}),
    );
    let res = s
        .create(
            &kinds::pod::KIND,
            "w",
            pod(
                "p",
                json!([{"name": "x", "image": "busybox", "securityContext": {"privileged": true}}]),
            ),
            &WriteOptions::default(),
        )
        .expect("warn only");
    assert_eq!(
        res.warnings,
        [
            "would violate PodSecurity \"baseline:v1.30\": privileged (container \"x\" must not set securityContext.privileged=true)"
        ]
    );
}

#[test]
fn a_deployment_is_only_warned_and_enforce_implies_warn() {
    let s = store_with(
        "d",
        json!({"pod-security.kubernetes.io/enforce": "restricted"}),
    );
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}});
    let res = s
        .create(
            &kinds::deployment::KIND,
            "d",
            deploy,
            &WriteOptions::default(),
        )
        .expect("templates are never refused");
    assert_eq!(
        res.warnings,
        [format!(
            "would violate PodSecurity \"restricted:latest\": {NGINX_RESTRICTED}"
        )]
    );
}

#[test]
fn bad_label_values_are_invalid_on_create_and_on_changing_update() {
    let s = Store::new(Arc::new(crate::Clock::new(0.0)), String::new(), 100);
    let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "typo",
        "labels": {"pod-security.kubernetes.io/enforce": "strict", "pod-security.kubernetes.io/enforce-version": "v1.07"}}});
    let err = s
        .create(&kinds::namespace::KIND, "", body, &WriteOptions::default())
        .expect_err("invalid");
    assert_eq!(err.code(), 422);
    assert_eq!(
        err.to_string(),
        "Namespace \"typo\" is invalid: [metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"strict\": must be one of privileged, baseline, restricted, metadata.labels[pod-security.kubernetes.io/enforce-version]: Invalid value: \"v1.07\": must be \"latest\" or \"v1.x\"]"
    );
    let s = store_with("ok", json!({}));
    let err = set_labels(
        &s,
        "ok",
        json!({"pod-security.kubernetes.io/warn": "Baseline"}),
    )
    .expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "Namespace \"ok\" is invalid: metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: \"Baseline\": must be one of privileged, baseline, restricted"
    );
}

#[test]
fn tightening_enforce_names_existing_pods_grouped_by_reasons() {
    let s = store_with("t", json!({}));
    for name in ["web-b", "web-a", "web-c"] {
        s.create(
            &kinds::pod::KIND,
            "t",
            nginx(name),
            &WriteOptions::default(),
        )
        .expect("privileged namespace");
    }
    s.create(
        &kinds::pod::KIND,
        "t",
        pod(
            "priv",
            json!([{"name": "c", "image": "busybox", "securityContext": {"privileged": true}}]),
        ),
        &WriteOptions::default(),
    )
    .expect("privileged namespace");
    let warnings = set_labels(
        &s,
        "t",
        json!({"pod-security.kubernetes.io/enforce": "restricted"}),
    )
    .expect("labels are valid");
    assert_eq!(
        warnings,
        [
            "existing pods in namespace \"t\" violate the new PodSecurity enforce level \"restricted:latest\"",
            "priv: privileged, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile",
            "web-a (and 2 other pods): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile",
        ]
    );
    // Relaxing (same version) checks nothing.
    let warnings = set_labels(
        &s,
        "t",
        json!({"pod-security.kubernetes.io/enforce": "baseline"}),
    )
    .expect("valid");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn pod_updates_are_rechecked_only_when_the_image_changes() {
    let s = store_with("u", json!({}));
    s.create(&kinds::pod::KIND, "u", nginx("p"), &WriteOptions::default())
        .expect("created before the label");
    set_labels(
        &s,
        "u",
        json!({"pod-security.kubernetes.io/enforce": "restricted"}),
    )
    .expect("valid");
    let mut body = (*s.get_raw(&kinds::pod::KIND, "u", "p").expect("pod")).clone();
    body["metadata"]["labels"] = json!({"touched": "yes"});
    s.replace(
        &kinds::pod::KIND,
        "u",
        "p",
        body,
        &WriteOptions::default(),
        false,
    )
    .expect("a label change is not significant");
    let mut body = (*s.get_raw(&kinds::pod::KIND, "u", "p").expect("pod")).clone();
    body["spec"]["containers"][0]["image"] = json!("nginx:1.27");
    let err = s
        .replace(
            &kinds::pod::KIND,
            "u",
            "p",
            body,
            &WriteOptions::default(),
            false,
        )
        .expect_err("a new image is re-checked");
    assert!(
        err.to_string()
            .starts_with("pods \"p\" is forbidden: violates PodSecurity \"restricted:latest\": "),
        "{err}"
    );
}

#[test]
fn the_label_parsers_follow_kubernetes() {
    use super::{parse_level, parse_version};
    assert_eq!(parse_version("latest"), (None, None));
    assert_eq!(parse_version("v1.0"), (Some(0), None));
    assert_eq!(parse_version("v1.29"), (Some(29), None));
    for bad in ["v1.", "v1.01", "1.29", "v2.0", "v1.x", "v1.99999999999"] {
        assert!(parse_version(bad).1.is_some(), "{bad} must be refused");
    }
    assert_eq!(parse_level("restricted").1, None);
    assert!(parse_level("Restricted").1.is_some());
}

#[test]
fn a_debug_container_is_checked_like_any_pod_update() {
    let s = store_with(
        "e",
        json!({"pod-security.kubernetes.io/enforce": "baseline"}),
    );
    let old = s
        .create(
            &kinds::pod::KIND,
            "e",
            nginx("web"),
            &WriteOptions::default(),
        )
        .expect("baseline allows plain nginx")
        .object;
    let mut new = old.clone();
    new["spec"]["ephemeralContainers"] = json!([{"name": "debugger", "image": "busybox",
        "securityContext": {"privileged": true}}]);
    let err = super::validate_ephemeral_update(&s, "e", "web", &new, &old).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "pods \"web\" is forbidden: violates PodSecurity \"baseline:latest\": privileged (container \"debugger\" must not set securityContext.privileged=true)"
    );
    new["spec"]["ephemeralContainers"][0]["securityContext"] = json!({});
    let warnings = super::validate_ephemeral_update(&s, "e", "web", &new, &old)
        .expect("an unprivileged debug container is allowed");
    assert!(warnings.is_empty(), "{warnings:?}");
}
