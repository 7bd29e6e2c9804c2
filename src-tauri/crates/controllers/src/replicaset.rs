//! The ReplicaSet controller: keeps `spec.replicas` pods matching a ReplicaSet's selector
//! alive, as Kubernetes does in `pkg/controller/replicaset/replica_set.go` (sync, manage
//! replicas, slow-start creates, deletion ranking), `replica_set_utils.go` (status and the
//! ReplicaFailure condition) and `pkg/controller/controller_utils.go` (`ActivePodsWithRanks`,
//! pod creation events) plus `controller_ref_manager.go` (adoption and release).
//!
//! Kubernetes guards against creating twice before its informer sees its own pods with
//! `ControllerExpectations`; here the runner drains every watch before each reconcile, so the
//! pod cache already holds whatever the previous reconcile created or deleted and no
//! expectations are needed.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::kinds::{self, ResourceKind};
use crate::reconciler::{Action, Change, Controller, Enqueue};
use crate::shared::Shared;
use crate::store::{DeleteOptions, PatchKind, WriteOptions};
use crate::workload::{self, PodName};

/// The most pods one sync creates or deletes (`BurstReplicas`).
const BURST_REPLICAS: usize = 500;

/// The replicaset controller.
#[derive(Debug, Default)]
pub(crate) struct ReplicaSetController;

fn rs_kind() -> &'static ResourceKind {
    &kinds::replicaset::KIND
}

fn i64_at(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(Value::as_i64)
}

impl Controller<Shared> for ReplicaSetController {
    fn name(&self) -> &'static str {
        "replicaset"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["apps/replicasets", "pods"]
    }

    fn on_change(&mut self, change: &Change<'_>, ctx: &mut Shared, queue: &mut Enqueue<'_>) {
        if change.resource == "pods" {
            workload::dependent_change(ctx, rs_kind(), change, queue);
        } else {
            workload::own_change(change, queue);
        }
    }

    fn reconcile(
        &mut self,
        key: &str,
        now: Timestamp,
        ctx: &mut Shared,
        _queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let (ns, name) = key.split_once('/').unwrap_or(("", key));
        let Some(rs) = ctx.store.get_raw(rs_kind(), ns, name) else {
            return Ok(Action::await_change());
        };
        sync(ctx, &rs, now)
    }
}

/// One sync of one ReplicaSet (`syncReplicaSet`).
fn sync(sh: &mut Shared, rs: &Arc<Value>, now: Timestamp) -> crate::Result<Action> {
    let ns = kinds::namespace_of(rs).to_string();
    let uid = kinds::str_at(rs, "/metadata/uid").to_string();
    let selector = rs.pointer("/spec/selector").cloned().unwrap_or(json!({}));
    let deleting = rs.pointer("/metadata/deletionTimestamp").is_some();
    // A ReplicaSet selecting everything would fight every other controller; Kubernetes refuses
    // the selector at validation, so nothing is managed here either.
    let usable = !workload::selector_is_empty(&selector);

    // Claim: keep owned pods that still match, release those that do not, adopt orphans.
    let mut claimed: Vec<Arc<Value>> = Vec::new();
    let mut in_ns: Vec<Arc<Value>> = sh
        .pods
        .values()
        .filter(|p| kinds::namespace_of(p) == ns && workload::is_active(p))
        .cloned()
        .collect();
    in_ns.sort_by(|a, b| kinds::name_of(a).cmp(kinds::name_of(b)));
    for pod in in_ns {
        let matches =
            usable && workload::selector_matches(&selector, pod.pointer("/metadata/labels"));
        match workload::controller_of(&pod) {
            Some(r) if kinds::str_at(r, "/uid") == uid => {
                if matches {
                    claimed.push(pod);
                } else {
                    release(sh, &pod, &uid);
                }
            }
            Some(_) => {}
            None if matches && !deleting => {
                if let Some(adopted) = adopt(sh, rs, &pod) {
                    claimed.push(Arc::new(adopted));
                }
            }
            None => {}
        }
    }

    let mut failure: Option<(&str, String)> = None;
    if !deleting && usable {
        failure = manage_replicas(sh, rs, &claimed, now);
        // What was created or deleted shows in the cache on the next drain; count what is
        // known now for the status, as Kubernetes does with its filtered pods.
    }

    let min_ready = Duration::from_secs(
        i64_at(rs, "/spec/minReadySeconds")
            .unwrap_or(0)
            .max(0)
            .unsigned_abs(),
    );
    // A failed create or delete is retried after the key's back-off, as the sync's error is.
    let failed = failure.is_some();
    let status = calculate_status(rs, &claimed, failure, min_ready, now);
    if rs.get("status") != Some(&status) {
        let mut body = (**rs).clone();
        body["status"] = status;
        let mut opts = WriteOptions::default();
        opts.field_manager = Some("kube-controller-manager".into());
        sh.store
            .replace(rs_kind(), &ns, kinds::name_of(rs), body, &opts, true)?;
    }

    if failed {
        return Ok(Action::backoff());
    }
    // A ready pod becomes available after minReadySeconds: look again then.
    if !min_ready.is_zero() {
        let next = claimed
            .iter()
            .filter(|p| !workload::is_available(p, min_ready, now))
            .filter_map(|p| workload::available_at(p, min_ready))
            .filter(|t| *t > now)
            .min();
        if let Some(t) = next {
            let d = Duration::try_from(t.duration_since(now)).unwrap_or_default();
            return Ok(Action::requeue(d));
        }
    }
    Ok(Action::await_change())
}

/// Patch the pod so `rs` controls it (`ClaimPods`' adopt).
fn adopt(sh: &mut Shared, rs: &Value, pod: &Value) -> Option<Value> {
    let mut refs: Vec<Value> = pod
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    refs.push(workload::controller_ref(rs, rs_kind()));
    patch_owner_refs(sh, pod, refs)
}

/// Patch the pod so `uid` no longer owns it (`ClaimPods`' release).
fn release(sh: &mut Shared, pod: &Value, uid: &str) {
    let refs: Vec<Value> = pod
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| kinds::str_at(r, "/uid") != uid)
        .cloned()
        .collect();
    patch_owner_refs(sh, pod, refs);
}

fn patch_owner_refs(sh: &mut Shared, pod: &Value, refs: Vec<Value>) -> Option<Value> {
    let body = json!({"metadata": {
        // No reference left: the field goes (`omitempty`), not an empty list.
        "ownerReferences": if refs.is_empty() { Value::Null } else { json!(refs) },
        "uid": kinds::str_at(pod, "/metadata/uid"),
    }});
    let bytes = serde_json::to_vec(&body).ok()?;
    let mut opts = WriteOptions::default();
    opts.field_manager = Some("kube-controller-manager".into());
    sh.store
        .patch(
            &kinds::pod::KIND,
            kinds::namespace_of(pod),
            kinds::name_of(pod),
            &bytes,
            PatchKind::Merge,
            &opts,
            false,
        )
        .ok()
        .map(|r| r.object)
}

/// Create or delete pods to reach `spec.replicas` (`manageReplicas`); returns the
/// ReplicaFailure reason and message when a create or delete failed.
fn manage_replicas(
    sh: &mut Shared,
    rs: &Value,
    claimed: &[Arc<Value>],
    now: Timestamp,
) -> Option<(&'static str, String)> {
    let ns = kinds::namespace_of(rs).to_string();
    let want = i64_at(rs, "/spec/replicas").unwrap_or(1).max(0) as usize;
    let have = claimed.len();
    if have < want {
        let count = (want - have).min(BURST_REPLICAS);
        let template = rs.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let prefix = format!("{}-", kinds::name_of(rs));
        let mut batch = 1usize;
        let mut remaining = count;
        // Slow start: batches of 1, 2, 4, ... ; a failing batch stops the rest.
        while remaining > 0 {
            let size = batch.min(remaining);
            let mut failed = None;
            for _ in 0..size {
                let pod = workload::pod_from_template(
                    &template,
                    rs,
                    rs_kind(),
                    PodName::Generate(&prefix),
                );
                match workload::create_pod(&sh.store, &ns, pod) {
                    Ok(created) => {
                        let msg = format!("Created pod: {}", kinds::name_of(&created));
                        workload::event(sh, now, rs, rs_kind(), "Normal", "SuccessfulCreate", &msg);
                    }
                    Err(e) => {
                        let text = match &e {
                            crate::Error::Api(api) => api.to_string(),
                            other => other.to_string(),
                        };
                        if !text.contains("because it is being terminated") {
                            let msg = format!("Error creating: {text}");
                            workload::event(
                                sh,
                                now,
                                rs,
                                rs_kind(),
                                "Warning",
                                "FailedCreate",
                                &msg,
                            );
                        }
                        failed = Some(text);
                    }
                }
            }
            if let Some(text) = failed {
                return Some(("FailedCreate", text));
            }
            remaining -= size;
            batch *= 2;
        }
        return None;
    }
    if have > want {
        let count = (have - want).min(BURST_REPLICAS);
        let related = related_pods(sh, rs);
        let victims = pods_to_delete(claimed, &related, count);
        let mut failure = None;
        for pod in victims {
            let name = kinds::name_of(&pod).to_string();
            match sh
                .store
                .delete(&kinds::pod::KIND, &ns, &name, &DeleteOptions::default())
            {
                Ok(_) => {
                    let msg = format!("Deleted pod: {name}");
                    workload::event(sh, now, rs, rs_kind(), "Normal", "SuccessfulDelete", &msg);
                }
                Err(kq_apiserver::Error::NotFound { .. }) => {}
                Err(e) => {
                    let msg = format!("Error deleting: {e}");
                    workload::event(sh, now, rs, rs_kind(), "Warning", "FailedDelete", &msg);
                    failure = Some(("FailedDelete", e.to_string()));
                }
            }
        }
        return failure;
    }
    None
}

/// Pods of every ReplicaSet with the same controlling owner as `rs` (its Deployment's other
/// ReplicaSets), or of `rs` alone (`getIndirectlyRelatedPods`).
fn related_pods(sh: &Shared, rs: &Value) -> Vec<Arc<Value>> {
    let ns = kinds::namespace_of(rs);
    let mut owners: Vec<String> = vec![kinds::str_at(rs, "/metadata/uid").to_string()];
    if let Some(owner) = workload::controller_of(rs) {
        let owner_uid = kinds::str_at(owner, "/uid");
        for other in sh.store.list_raw(rs_kind(), Some(ns)) {
            if workload::controlled_by(&other, owner_uid) {
                owners.push(kinds::str_at(&other, "/metadata/uid").to_string());
            }
        }
    }
    sh.pods
        .values()
        .filter(|p| kinds::namespace_of(p) == ns && workload::is_active(p))
        .filter(|p| {
            workload::controller_of(p)
                .is_some_and(|r| owners.iter().any(|u| u == kinds::str_at(r, "/uid")))
        })
        .cloned()
        .collect()
}

/// The `count` pods to delete first (`getPodsToDelete` with `ActivePodsWithRanks`): each
/// pod's rank is how many related pods share its node.
fn pods_to_delete(pods: &[Arc<Value>], related: &[Arc<Value>], count: usize) -> Vec<Arc<Value>> {
    let mut on_node: HashMap<&str, i64> = HashMap::new();
    for p in related {
        let node = kinds::str_at(p, "/spec/nodeName");
        if !node.is_empty() {
            *on_node.entry(node).or_default() += 1;
        }
    }
    let mut ranked: Vec<(i64, Arc<Value>)> = pods
        .iter()
        .map(|p| {
            let node = kinds::str_at(p, "/spec/nodeName");
            let rank = if node.is_empty() {
                0
            } else {
                on_node.get(node).copied().unwrap_or(0)
            };
            (rank, p.clone())
        })
        .collect();
    ranked.sort_by(|a, b| delete_first(&a.1, a.0, &b.1, b.0));
    ranked.into_iter().take(count).map(|(_, p)| p).collect()
}

/// `ActivePodsWithRanks.Less`: `Less` means "delete before".
fn delete_first(a: &Value, rank_a: i64, b: &Value, rank_b: i64) -> Ordering {
    let assigned = |p: &Value| !kinds::str_at(p, "/spec/nodeName").is_empty();
    let phase_rank = |p: &Value| match workload::phase(p) {
        "Pending" | "" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    };
    let cost = |p: &Value| {
        kinds::str_at(
            p,
            "/metadata/annotations/controller.kubernetes.io~1pod-deletion-cost",
        )
        .parse::<i32>()
        .unwrap_or(0)
    };
    let ready_time = |p: &Value| {
        p.pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| kinds::str_at(c, "/type") == "Ready")
            .and_then(|c| crate::clock::parse_time(kinds::str_at(c, "/lastTransitionTime")))
    };
    let restarts = |p: &Value| {
        p.pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
            .max()
            .unwrap_or(0)
    };
    let created =
        |p: &Value| crate::clock::parse_time(kinds::str_at(p, "/metadata/creationTimestamp"));
    // 1. Unassigned before assigned.
    assigned(a)
        .cmp(&assigned(b))
        // 2. Pending before Unknown before Running.
        .then(phase_rank(a).cmp(&phase_rank(b)))
        // 3. Not ready before ready.
        .then(workload::is_ready(a).cmp(&workload::is_ready(b)))
        // 4. Lower deletion cost first.
        .then(cost(a).cmp(&cost(b)))
        // 5. More related pods on the same node first.
        .then(rank_b.cmp(&rank_a))
        // 6. Ready more recently first (both ready).
        .then_with(|| {
            if workload::is_ready(a) && workload::is_ready(b) {
                ready_time(b).cmp(&ready_time(a))
            } else {
                Ordering::Equal
            }
        })
        // 7. More restarts first.
        .then(restarts(b).cmp(&restarts(a)))
        // 8. Newer first.
        .then(created(b).cmp(&created(a)))
        .then_with(|| kinds::name_of(a).cmp(kinds::name_of(b)))
}

/// The status a sync reports (`calculateStatus`).
fn calculate_status(
    rs: &Value,
    claimed: &[Arc<Value>],
    failure: Option<(&str, String)>,
    min_ready: Duration,
    now: Timestamp,
) -> Value {
    let template_labels = rs
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object);
    let fully_labeled = claimed
        .iter()
        .filter(|p| {
            let labels = p.pointer("/metadata/labels").and_then(Value::as_object);
            template_labels.is_none_or(|t| {
                t.iter()
                    .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
            })
        })
        .count();
    let ready = claimed.iter().filter(|p| workload::is_ready(p)).count();
    let available = claimed
        .iter()
        .filter(|p| workload::is_available(p, min_ready, now))
        .count();
    let mut conditions: Vec<Value> = rs
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let existing = conditions
        .iter()
        .position(|c| kinds::str_at(c, "/type") == "ReplicaFailure");
    match (failure, existing) {
        (Some((reason, message)), at) => {
            let same = at.is_some_and(|i| {
                kinds::str_at(&conditions[i], "/status") == "True"
                    && kinds::str_at(&conditions[i], "/reason") == reason
            });
            if !same {
                if let Some(i) = at {
                    conditions.remove(i);
                }
                conditions.push(json!({
                    "type": "ReplicaFailure",
                    "status": "True",
                    "lastTransitionTime": crate::clock::rfc3339(now),
                    "reason": reason,
                    "message": message,
                }));
            }
        }
        (None, Some(i)) => {
            conditions.remove(i);
        }
        (None, None) => {}
    }
    let mut status = json!({
        "replicas": claimed.len(),
        "fullyLabeledReplicas": fully_labeled,
        "readyReplicas": ready,
        "availableReplicas": available,
        "observedGeneration": i64_at(rs, "/metadata/generation").unwrap_or(1),
    });
    // Zero counts are omitted on the wire (`omitempty`), except replicas.
    for k in ["fullyLabeledReplicas", "readyReplicas", "availableReplicas"] {
        if status[k] == json!(0)
            && let Some(o) = status.as_object_mut()
        {
            o.remove(k);
        }
    }
    if !conditions.is_empty() {
        status["conditions"] = json!(conditions);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, node: &str, phase: &str, ready: bool, created: &str) -> Arc<Value> {
        let mut p = json!({
            "metadata": {"name": name, "creationTimestamp": created},
            "spec": {"nodeName": node},
            "status": {"phase": phase},
        });
        if ready {
            p["status"]["conditions"] = json!([{"type": "Ready", "status": "True",
                "lastTransitionTime": created}]);
        }
        Arc::new(p)
    }

    #[test]
    fn deletion_prefers_unscheduled_then_pending_then_not_ready_then_newer() {
        let t0 = "2026-01-01T00:00:00Z";
        let t1 = "2026-01-01T00:01:00Z";
        let pods = vec![
            pod("running-old", "n1", "Running", true, t0),
            pod("running-new", "n1", "Running", true, t1),
            pod("unscheduled", "", "Pending", false, t0),
            pod("pending", "n1", "Pending", false, t0),
            pod("not-ready", "n1", "Running", false, t0),
        ];
        let order: Vec<String> = pods_to_delete(&pods, &pods, 5)
            .iter()
            .map(|p| kinds::name_of(p).to_string())
            .collect();
        assert_eq!(
            order,
            [
                "unscheduled",
                "pending",
                "not-ready",
                "running-new",
                "running-old"
            ],
            "ActivePodsWithRanks order"
        );
    }

    #[test]
    fn deletion_prefers_pods_doubled_up_on_a_node() {
        let t0 = "2026-01-01T00:00:00Z";
        let pods = vec![
            pod("alone", "n2", "Running", true, t0),
            pod("crowded", "n1", "Running", true, t0),
        ];
        let related = vec![
            pods[0].clone(),
            pods[1].clone(),
            pod("sibling", "n1", "Running", true, t0),
        ];
        let first = pods_to_delete(&pods, &related, 1);
        assert_eq!(kinds::name_of(&first[0]), "crowded");
    }

    #[test]
    fn status_counts_and_replica_failure_condition() {
        let rs = json!({"metadata": {"generation": 2},
            "spec": {"replicas": 3, "template": {"metadata": {"labels": {"app": "web"}}}}});
        let now: Timestamp = "2026-01-01T00:00:10Z".parse().unwrap();
        let mut a = (*pod("a", "n1", "Running", true, "2026-01-01T00:00:00Z")).clone();
        a["metadata"]["labels"] = json!({"app": "web"});
        let b = pod("b", "n1", "Pending", false, "2026-01-01T00:00:00Z");
        let claimed = vec![Arc::new(a), b];
        let s = calculate_status(
            &rs,
            &claimed,
            Some(("FailedCreate", "quota".into())),
            Duration::ZERO,
            now,
        );
        assert_eq!(s["replicas"], 2);
        assert_eq!(s["fullyLabeledReplicas"], 1);
        assert_eq!(s["readyReplicas"], 1);
        assert_eq!(s["availableReplicas"], 1);
        assert_eq!(s["observedGeneration"], 2);
        assert_eq!(s["conditions"][0]["reason"], "FailedCreate");
        let mut rs2 = rs.clone();
        rs2["status"] = s;
        let cleared = calculate_status(&rs2, &claimed, None, Duration::ZERO, now);
        assert!(
            cleared.get("conditions").is_none(),
            "a clean sync removes ReplicaFailure"
        );
        let not_yet = calculate_status(&rs, &claimed, None, Duration::from_secs(30), now);
        assert!(
            not_yet.get("availableReplicas").is_none(),
            "minReadySeconds not reached"
        );
    }
}
