//! Reading a Deployment and its ReplicaSets, as Kubernetes does in
//! `pkg/controller/deployment/util/deployment_util.go`: replicas and fenceposts with the
//! defaults applied, the revision annotations a new ReplicaSet carries, templates compared
//! without their hash label, and the status conditions.

use std::cmp::Ordering;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::PodSpec;
use serde_json::{Map, Value, json};

use crate::kinds;

/// The revision of a ReplicaSet (and, copied, of its Deployment).
pub(crate) const REVISION: &str = "deployment.kubernetes.io/revision";
/// The earlier revisions of a ReplicaSet that became new again (a rollback).
pub(super) const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's replicas when the ReplicaSet was last scaled.
pub(super) const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// replicas + maxSurge when the ReplicaSet was last scaled.
pub(super) const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// The label that tells a Deployment's ReplicaSets (and their pods) apart.
pub(super) const HASH_LABEL: &str = "pod-template-hash";
/// revision-history is kept under this many characters.
pub(super) const MAX_HISTORY_CHARS: usize = 2000;

// ----- reading a Deployment with the defaults applied ---------------------------------------

pub(super) fn i64_at(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(Value::as_i64)
}

/// `spec.replicas` (default 1).
pub(super) fn replicas(d: &Value) -> i64 {
    i64_at(d, "/spec/replicas").unwrap_or(1).max(0)
}

pub(super) fn rs_spec(rs: &Value) -> i64 {
    i64_at(rs, "/spec/replicas").unwrap_or(1).max(0)
}

pub(super) fn rs_status(rs: &Value, field: &str) -> i64 {
    i64_at(rs, &format!("/status/{field}")).unwrap_or(0)
}

pub(super) fn is_rolling(d: &Value) -> bool {
    kinds::str_at(d, "/spec/strategy/type") != "Recreate"
}

/// `intstr.GetScaledValueFromIntOrPercent`: an int, or a percentage of `total` rounded up or
/// down; `None` for a malformed value.
pub(super) fn scaled(v: Option<&Value>, default: &str, total: i64, round_up: bool) -> i64 {
    let v = v.cloned().unwrap_or_else(|| json!(default));
    if let Some(i) = v.as_i64() {
        return i;
    }
    let s = v.as_str().unwrap_or(default);
    let pct = s
        .strip_suffix('%')
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(0);
    let x = pct * total;
    if round_up {
        (x + 99).div_euclid(100)
    } else {
        x.div_euclid(100)
    }
}

/// `ResolveFenceposts`: (maxSurge, maxUnavailable) for `desired` replicas.
pub(super) fn fenceposts(d: &Value, desired: i64) -> (i64, i64) {
    let ru = d.pointer("/spec/strategy/rollingUpdate");
    let surge = scaled(ru.and_then(|r| r.get("maxSurge")), "25%", desired, true);
    let mut unavailable = scaled(
        ru.and_then(|r| r.get("maxUnavailable")),
        "25%",
        desired,
        false,
    );
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

/// `MaxSurge`.
pub(super) fn max_surge(d: &Value) -> i64 {
    if !is_rolling(d) {
        return 0;
    }
    fenceposts(d, replicas(d)).0
}

/// `MaxUnavailable`.
pub(super) fn max_unavailable(d: &Value) -> i64 {
    let n = replicas(d);
    if !is_rolling(d) || n == 0 {
        return 0;
    }
    fenceposts(d, n).1.min(n)
}

/// `progressDeadlineSeconds` (default 600), `None` when it is "no deadline" (MaxInt32).
pub(super) fn progress_deadline(d: &Value) -> Option<Duration> {
    let s = i64_at(d, "/spec/progressDeadlineSeconds").unwrap_or(600);
    (s != i64::from(i32::MAX)).then(|| Duration::from_secs(s.max(0).unsigned_abs()))
}

pub(super) fn revision_of(rs: &Value) -> i64 {
    annotation(rs, REVISION).parse().unwrap_or(0)
}

pub(super) fn annotation<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub(super) fn set_annotation(obj: &mut Value, key: &str, value: String) {
    if !obj["metadata"]["annotations"].is_object() {
        obj["metadata"]["annotations"] = json!({});
    }
    obj["metadata"]["annotations"][key] = json!(value);
}

pub(super) fn created(obj: &Value) -> Option<Timestamp> {
    crate::clock::parse_time(kinds::str_at(obj, "/metadata/creationTimestamp"))
}

/// `ReplicaSetsByCreationTimestamp`: oldest first, then by name.
pub(super) fn by_creation(a: &Value, b: &Value) -> Ordering {
    created(a)
        .cmp(&created(b))
        .then_with(|| kinds::name_of(a).cmp(kinds::name_of(b)))
}

/// A pod template as `EqualIgnoreHash` compares it: without the pod-template-hash label, and
/// with the pod spec defaults applied, so a template the API server defaulted on one kind and
/// not (yet) on the other still compares equal.
pub(super) fn comparable_template(t: &Value) -> Value {
    let mut t = t.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH_LABEL);
    }
    if let Some(meta) = t.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.retain(|_, v| !v.is_null() && v.as_object().is_none_or(|o| !o.is_empty()));
        meta.remove("creationTimestamp");
    }
    if t.get("metadata")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
        && let Some(o) = t.as_object_mut()
    {
        o.remove("metadata");
    }
    let spec = t.get("spec").cloned().unwrap_or(json!({}));
    if let Ok(mut typed) = serde_json::from_value::<PodSpec>(spec) {
        kinds::pod::default_spec(&mut typed);
        if let Ok(v) = serde_json::to_value(&typed) {
            t["spec"] = v;
        }
    }
    t
}

pub(super) fn equal_ignore_hash(a: &Value, b: &Value) -> bool {
    comparable_template(a) == comparable_template(b)
}

/// Annotations a Deployment does not hand on to its ReplicaSets (`skipCopyAnnotation`).
pub(super) fn skip_copy(key: &str) -> bool {
    matches!(
        key,
        "kubectl.kubernetes.io/last-applied-configuration"
            | REVISION
            | REVISION_HISTORY
            | DESIRED_REPLICAS
            | MAX_REPLICAS
            | "deprecated.deployment.rollback.to"
    )
}

/// Copy the Deployment's annotations onto the ReplicaSet (`copyDeploymentAnnotationsToReplicaSet`);
/// returns whether anything changed.
pub(super) fn copy_annotations(d: &Value, rs: &mut Value) -> bool {
    let mut changed = false;
    let Some(from) = d
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    else {
        return false;
    };
    for (k, v) in from {
        if skip_copy(k) || rs.pointer("/metadata/annotations").and_then(|a| a.get(k)) == Some(v) {
            continue;
        }
        let Some(s) = v.as_str() else { continue };
        set_annotation(rs, k, s.to_string());
        changed = true;
    }
    changed
}

/// `SetReplicasAnnotations`: desired-replicas and max-replicas; returns whether they changed.
pub(super) fn set_replicas_annotations(rs: &mut Value, desired: i64, max: i64) -> bool {
    let mut changed = false;
    for (k, v) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        if annotation(rs, k) != v.to_string() {
            set_annotation(rs, k, v.to_string());
            changed = true;
        }
    }
    changed
}

/// `SetNewReplicaSetAnnotations`: copied annotations, the new revision (moving the old one
/// into revision-history) and, for a ReplicaSet about to be created, the replica counts.
pub(super) fn set_new_rs_annotations(
    d: &Value,
    rs: &mut Value,
    new_revision: i64,
    exists: bool,
) -> bool {
    let mut changed = copy_annotations(d, rs);
    let old = annotation(rs, REVISION).to_string();
    let old_n: i64 = if old.is_empty() {
        0
    } else {
        match old.parse() {
            Ok(n) => n,
            Err(_) => return false,
        }
    };
    if old_n < new_revision {
        set_annotation(rs, REVISION, new_revision.to_string());
        changed = true;
        if !old.is_empty() {
            let history = annotation(rs, REVISION_HISTORY).to_string();
            let joined = if history.is_empty() {
                old.clone()
            } else {
                let mut parts: Vec<&str> = history.split(',').collect();
                // Trim the oldest entries until the list fits.
                while !parts.is_empty()
                    && parts.iter().map(|p| p.len() + 1).sum::<usize>() + old.len()
                        > MAX_HISTORY_CHARS
                {
                    parts.remove(0);
                }
                parts.push(&old);
                parts.join(",")
            };
            set_annotation(rs, REVISION_HISTORY, joined);
        }
    }
    if !exists && set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)) {
        changed = true;
    }
    changed
}

pub(super) fn is_active_rs(rs: &Value) -> bool {
    rs_spec(rs) > 0
}

pub(super) fn sum(rss: &[Value], f: impl Fn(&Value) -> i64) -> i64 {
    rss.iter().map(f).sum()
}

/// A Deployment condition (`NewDeploymentCondition`).
pub(super) fn condition(
    kind: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) -> Value {
    let t = crate::clock::rfc3339(now);
    json!({
        "type": kind,
        "status": status,
        "lastUpdateTime": t,
        "lastTransitionTime": t,
        "reason": reason,
        "message": message,
    })
}

pub(super) fn get_condition<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    status
        .get("conditions")?
        .as_array()?
        .iter()
        .find(|c| kinds::str_at(c, "/type") == kind)
}

/// `SetDeploymentCondition`: unchanged status and reason leave the condition alone; a
/// changed one moves to the end, keeping its transition time if the status is the same.
pub(super) fn set_condition(status: &mut Value, mut cond: Value) {
    let kind = kinds::str_at(&cond, "/type").to_string();
    if let Some(cur) = get_condition(status, &kind) {
        if cur.get("status") == cond.get("status") && cur.get("reason") == cond.get("reason") {
            return;
        }
        if cur.get("status") == cond.get("status") {
            cond["lastTransitionTime"] = cur["lastTransitionTime"].clone();
        }
    }
    remove_condition(status, &kind);
    if !status["conditions"].is_array() {
        status["conditions"] = json!([]);
    }
    if let Some(a) = status["conditions"].as_array_mut() {
        a.push(cond);
    }
}

pub(super) fn remove_condition(status: &mut Value, kind: &str) {
    if let Some(a) = status.get_mut("conditions").and_then(Value::as_array_mut) {
        a.retain(|c| kinds::str_at(c, "/type") != kind);
    }
}

/// Drop the zero counts Go omits on the wire (`omitempty`).
pub(super) fn omit_zeros(status: &mut Value) {
    if let Some(o) = status.as_object_mut() {
        o.retain(|_, v| v != &json!(0) && !v.is_null());
        if o.get("conditions")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            o.remove("conditions");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deploy(replicas: i64, surge: Value, unavailable: Value) -> Value {
        json!({"spec": {"replicas": replicas, "strategy": {"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}})
    }

    #[test]
    fn fenceposts_round_surge_up_and_unavailable_down() {
        let d = deploy(3, json!("25%"), json!("25%"));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (1, 0));
        let d = deploy(10, json!("25%"), json!("25%"));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (3, 2));
        let d = deploy(3, json!(0), json!(0));
        assert_eq!(
            (max_surge(&d), max_unavailable(&d)),
            (0, 1),
            "both zero: one unavailable"
        );
        let d = deploy(2, json!(0), json!(5));
        assert_eq!(max_unavailable(&d), 2, "never more than replicas");
        let d = deploy(0, json!("25%"), json!("25%"));
        assert_eq!(max_unavailable(&d), 0);
        let defaults = json!({"spec": {}});
        assert_eq!(
            (max_surge(&defaults), max_unavailable(&defaults)),
            (1, 0),
            "1 replica, 25%/25%"
        );
        let recreate = json!({"spec": {"replicas": 3, "strategy": {"type": "Recreate"}}});
        assert_eq!((max_surge(&recreate), max_unavailable(&recreate)), (0, 0));
    }

    #[test]
    fn templates_compare_without_the_hash_label_and_with_defaults() {
        let d = json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}});
        let mut rs = d.clone();
        rs["metadata"]["labels"][HASH_LABEL] = json!("7c5ddbdf54");
        rs["spec"]["restartPolicy"] = json!("Always");
        assert!(equal_ignore_hash(&d, &rs));
        let mut other = rs.clone();
        other["spec"]["containers"][0]["image"] = json!("nginx:1.28");
        assert!(!equal_ignore_hash(&d, &other));
    }

    #[test]
    fn revision_history_records_the_revision_a_rollback_replaces() {
        let d = json!({"metadata": {"annotations": {"kubernetes.io/change-cause": "v1",
            "kubectl.kubernetes.io/last-applied-configuration": "{}"}}, "spec": {"replicas": 3}});
        let mut rs = json!({"metadata": {"annotations": {REVISION: "1"}}});
        assert!(set_new_rs_annotations(&d, &mut rs, 3, true));
        assert_eq!(annotation(&rs, REVISION), "3");
        assert_eq!(annotation(&rs, REVISION_HISTORY), "1");
        assert_eq!(annotation(&rs, "kubernetes.io/change-cause"), "v1");
        assert_eq!(
            annotation(&rs, "kubectl.kubernetes.io/last-applied-configuration"),
            ""
        );
        assert!(
            !set_new_rs_annotations(&d, &mut rs, 3, true),
            "nothing left to change"
        );
        let mut fresh = json!({"metadata": {}});
        set_new_rs_annotations(&d, &mut fresh, 1, false);
        assert_eq!(annotation(&fresh, DESIRED_REPLICAS), "3");
        assert_eq!(annotation(&fresh, MAX_REPLICAS), "4");
    }

    #[test]
    fn conditions_move_to_the_end_when_their_reason_changes() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let t1: Timestamp = "2026-01-01T00:01:00Z".parse().unwrap();
        let mut s = json!({});
        set_condition(
            &mut s,
            condition(
                "Progressing",
                "True",
                "NewReplicaSetCreated",
                "a".into(),
                t0,
            ),
        );
        set_condition(
            &mut s,
            condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "b".into(),
                t0,
            ),
        );
        set_condition(
            &mut s,
            condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                "c".into(),
                t1,
            ),
        );
        let types: Vec<&str> = s["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["Available", "Progressing"]);
        assert_eq!(
            s["conditions"][1]["lastTransitionTime"],
            crate::clock::rfc3339(t0),
            "status unchanged keeps the transition time"
        );
        assert_eq!(
            s["conditions"][1]["lastUpdateTime"],
            crate::clock::rfc3339(t1)
        );
    }
}
