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
//!
//! Kubernetes syncs a ReplicaSet on every change of one of its pods and counts all of its
//! pods each time. Here the counts of each ReplicaSet's pods are kept up to date as the pods
//! change ([`index::Tally`]), so a sync that releases and adopts nothing reads only what
//! changed; the status it reports is the same, and debug builds recount every pod to check it.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::kinds::{self, ResourceKind};
use crate::reconciler::{Action, Change, ChangeType, Controller, Enqueue};
use crate::shared::Shared;
use crate::store::{DeleteOptions, PatchKind, WriteOptions};
use crate::workload::{self, PodName};

mod index;

use index::{Basis, Group, GroupPods, PodFacts, PodIndex};

/// The most pods one sync creates or deletes (`BurstReplicas`).
const BURST_REPLICAS: usize = 500;

/// The replicaset controller.
#[derive(Debug, Default)]
pub(crate) struct ReplicaSetController {
    /// The active pods of the pod cache (neither finished nor being deleted), grouped by
    /// namespace and controlling owner's uid (`None`: orphans), each group by name then uid:
    /// a sync reads its own pods and the orphans it may adopt, not every pod.
    pods: PodIndex,
}

/// The pods a sync claimed.
enum Claimed<'a> {
    /// Every pod of the ReplicaSet's group: all selected, none released or adopted.
    Group(Option<&'a GroupPods>),
    /// Listed one by one, by name (a sync that released or adopted pods).
    Listed(Vec<Arc<Value>>),
}

impl Claimed<'_> {
    fn len(&self) -> usize {
        match self {
            Claimed::Group(g) => g.map_or(0, |g| g.pods.len()),
            Claimed::Listed(pods) => pods.len(),
        }
    }

    /// The pods with what the deletion ranking compares of each, by name.
    fn rankable(&self) -> Vec<(Cow<'_, DeleteFacts>, &Arc<Value>)> {
        match self {
            Claimed::Group(g) => g
                .iter()
                .flat_map(|g| g.pods.values())
                .map(|k| (Cow::Borrowed(k.delete_facts()), &k.pod))
                .collect(),
            Claimed::Listed(pods) => pods
                .iter()
                .map(|p| (Cow::Owned(DeleteFacts::of(p)), p))
                .collect(),
        }
    }
}

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
            let uid = kinds::str_at(change.object, "/metadata/uid");
            // The informer cache's copy of a live pod; a deleted one leaves the index.
            let pod = (change.change != ChangeType::Deleted).then(|| {
                ctx.pods
                    .get(uid)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(change.object.clone()))
            });
            self.pods.track(uid, pod.as_ref());
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
        sync(ctx, &mut self.pods, &rs, now)
    }
}

/// One sync of one ReplicaSet (`syncReplicaSet`).
fn sync(
    sh: &mut Shared,
    index: &mut PodIndex,
    rs: &Arc<Value>,
    now: Timestamp,
) -> crate::Result<Action> {
    let ns = kinds::namespace_of(rs).to_string();
    let uid = kinds::str_at(rs, "/metadata/uid").to_string();
    let selector = rs.pointer("/spec/selector").cloned().unwrap_or(json!({}));
    let deleting = rs.pointer("/metadata/deletionTimestamp").is_some();
    // A ReplicaSet selecting everything would fight every other controller; Kubernetes refuses
    // the selector at validation, so nothing is managed here either.
    let usable = !workload::selector_is_empty(&selector);
    let parsed = workload::Selector::parse(&selector);
    let template_labels = rs
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object);
    // The selector and the template labels a pod was read against: serialised once a sync.
    let fingerprint: Arc<str> = format!(
        "{selector}\u{1}{}",
        template_labels
            .map(|t| Value::Object(t.clone()))
            .unwrap_or(Value::Null)
    )
    .into();
    let own: Group = (ns.clone(), Some(uid.clone()));
    index.settle(&own, &fingerprint, || Basis {
        fingerprint: fingerprint.clone(),
        selector: parsed.clone(),
        template_labels: template_labels.cloned(),
    });
    let index = &*index;
    #[cfg(debug_assertions)]
    debug_assert_eq!(
        index
            .candidates(&ns, &uid)
            .iter()
            .map(|(k, _)| kinds::str_at(&k.pod, "/metadata/uid"))
            .collect::<Vec<_>>(),
        {
            let mut in_ns: Vec<&Arc<Value>> = sh
                .pods
                .values()
                .filter(|p| kinds::namespace_of(p) == ns && workload::is_active(p))
                .filter(|p| {
                    workload::controller_of(p).is_none_or(|r| kinds::str_at(r, "/uid") == uid)
                })
                .collect();
            in_ns.sort_by(|a, b| {
                (kinds::name_of(a), kinds::str_at(a, "/metadata/uid"))
                    .cmp(&(kinds::name_of(b), kinds::str_at(b, "/metadata/uid")))
            });
            in_ns
                .iter()
                .map(|p| kinds::str_at(p, "/metadata/uid"))
                .collect::<Vec<_>>()
        },
        "the ReplicaSet controller's pod index"
    );
    let min_ready = Duration::from_secs(
        i64_at(rs, "/spec/minReadySeconds")
            .unwrap_or(0)
            .max(0)
            .unsigned_abs(),
    );

    // Claim: keep owned pods that still match, release those that do not, adopt orphans.
    // Pods another controller owns are never looked at, so only this one's and the orphans
    // are read, in name order.
    let group = index.groups.get(&own);
    let releases = group.is_some_and(|g| g.tally.counts.not_matching > 0);
    let adopts = !deleting
        && index.groups.get(&(ns.clone(), None)).is_some_and(|o| {
            o.pods
                .values()
                .any(|k| k.read(&fingerprint, &parsed, template_labels).matches)
        });
    let (claimed, counted, next_available) = if usable && !releases && !adopts {
        // Nothing to release or adopt: the claimed pods are the group's, already counted.
        let counts = group.map(|g| &g.tally.counts);
        let (available, next) = counts.map_or((0, None), |c| c.availability(min_ready, now));
        let counted = Replicas {
            replicas: counts.map_or(0, |c| c.matching),
            fully_labeled: counts.map_or(0, |c| c.fully_labeled),
            ready: counts.map_or(0, |c| c.ready),
            available,
        };
        #[cfg(debug_assertions)]
        if let Some(g) = group {
            debug_assert_eq!(
                g.tally.counts,
                g.recount(&parsed, template_labels),
                "the ReplicaSet controller's counts of {ns}/{}",
                kinds::name_of(rs)
            );
            let pods: Vec<Arc<Value>> = g.pods.values().map(|k| k.pod.clone()).collect();
            debug_assert_eq!(
                (available, next),
                (
                    pods.iter()
                        .filter(|p| workload::is_available(p, min_ready, now))
                        .count(),
                    next_available_of(&pods, min_ready, now)
                ),
                "the ReplicaSet controller's available pods of {ns}/{}",
                kinds::name_of(rs)
            );
        }
        (Claimed::Group(group), counted, next)
    } else {
        let mut claimed: Vec<Arc<Value>> = Vec::new();
        let mut facts: Vec<PodFacts> = Vec::new();
        for (known, owned) in index.candidates(&ns, &uid) {
            let pod = &known.pod;
            let reading = known.read(&fingerprint, &parsed, template_labels);
            let matches = usable && reading.matches;
            if owned {
                if matches {
                    claimed.push(pod.clone());
                    facts.push(PodFacts {
                        ready_since: known.ready_since,
                        fully_labeled: reading.fully_labeled,
                    });
                } else {
                    release(sh, pod, &uid);
                }
            } else if matches
                && !deleting
                && let Some(adopted) = adopt(sh, rs, pod)
            {
                facts.push(PodFacts {
                    ready_since: workload::ready_since(&adopted),
                    fully_labeled: reading.fully_labeled,
                });
                claimed.push(Arc::new(adopted));
            }
        }
        let counted = Replicas::of(&facts, min_ready, now);
        let next = next_available_of(&claimed, min_ready, now);
        (Claimed::Listed(claimed), counted, next)
    };

    let mut failure: Option<(&str, String)> = None;
    if !deleting && usable {
        failure = manage_replicas(sh, index, rs, &claimed, now);
        // What was created or deleted shows in the cache on the next drain; count what is
        // known now for the status, as Kubernetes does with its filtered pods.
    }

    // A failed create or delete is retried after the key's back-off, as the sync's error is.
    let failed = failure.is_some();
    let status = status_of(rs, counted, failure, now);
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
    if let Some(t) = next_available {
        let d = Duration::try_from(t.duration_since(now)).unwrap_or_default();
        return Ok(Action::requeue(d));
    }
    Ok(Action::await_change())
}

/// The first moment after `now` at which one of `pods` that is Ready but not yet available
/// becomes available (none without `minReadySeconds`).
fn next_available_of(
    pods: &[Arc<Value>],
    min_ready: Duration,
    now: Timestamp,
) -> Option<Timestamp> {
    if min_ready.is_zero() {
        return None;
    }
    pods.iter()
        .filter(|p| !workload::is_available(p, min_ready, now))
        .filter_map(|p| workload::available_at(p, min_ready))
        .filter(|t| *t > now)
        .min()
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
    index: &PodIndex,
    rs: &Value,
    claimed: &Claimed<'_>,
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
                if let Err(e) = workload::create_pod_recorded(sh, now, rs, rs_kind(), &ns, pod) {
                    failed = Some(workload::error_text(&e));
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
        let on_node = related_on_node(sh, index, rs);
        let victims = pods_to_delete(claimed.rankable(), &on_node, count);
        let mut failure = None;
        for pod in victims {
            let name = kinds::name_of(&pod);
            let opts = DeleteOptions::default();
            if let Err(e) = workload::delete_pod_recorded(sh, now, rs, rs_kind(), &ns, name, &opts)
            {
                failure = Some(("FailedDelete", e.to_string()));
            }
        }
        return failure;
    }
    None
}

/// How many pods of every ReplicaSet with the same controlling owner as `rs` (its
/// Deployment's other ReplicaSets), or of `rs` alone, are on each node
/// (`getIndirectlyRelatedPods`, as the deletion ranking counts them).
fn related_on_node(sh: &Shared, index: &PodIndex, rs: &Value) -> HashMap<String, i64> {
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
    owners.sort();
    owners.dedup();
    let mut on_node: HashMap<String, i64> = HashMap::new();
    for g in owners
        .into_iter()
        .filter_map(|uid| index.groups.get(&(ns.to_string(), Some(uid))))
    {
        for (node, n) in &g.on_node {
            *on_node.entry(node.clone()).or_default() += n;
        }
    }
    on_node
}

/// The `count` pods to delete first (`getPodsToDelete` with `ActivePodsWithRanks`), given by
/// name: each pod's rank is how many related pods share its node (`on_node`).
fn pods_to_delete(
    pods: Vec<(Cow<'_, DeleteFacts>, &Arc<Value>)>,
    on_node: &HashMap<String, i64>,
    count: usize,
) -> Vec<Arc<Value>> {
    let mut ranked: Vec<(DeleteKey<'_>, &Arc<Value>)> = pods
        .iter()
        .map(|(facts, p)| {
            let rank = if facts.node.is_empty() {
                0
            } else {
                on_node.get(&facts.node).copied().unwrap_or(0)
            };
            (DeleteKey { facts, rank }, *p)
        })
        .collect();
    let order = |a: &(DeleteKey<'_>, &Arc<Value>), b: &(DeleteKey<'_>, &Arc<Value>)| {
        delete_first(&a.0, &b.0)
    };
    // Only the first `count` are wanted: set them apart, then order them.
    if count == 0 {
        return Vec::new();
    }
    if count < ranked.len() {
        ranked.select_nth_unstable_by(count - 1, order);
        ranked.truncate(count);
    }
    ranked.sort_by(order);
    ranked.into_iter().map(|(_, p)| p.clone()).collect()
}

/// What `ActivePodsWithRanks.Less` compares of one pod but its rank.
#[derive(Debug, Clone)]
struct DeleteFacts {
    node: String,
    phase_rank: u8,
    ready: bool,
    cost: i32,
    ready_time: Option<Timestamp>,
    restarts: i64,
    created: Option<Timestamp>,
    /// `metadata.name`, then `metadata.uid`: pods the other keys do not tell apart are taken
    /// in name order.
    name: String,
    uid: String,
}

impl DeleteFacts {
    fn of(p: &Value) -> DeleteFacts {
        DeleteFacts {
            node: kinds::str_at(p, "/spec/nodeName").to_string(),
            phase_rank: match workload::phase(p) {
                "Pending" | "" => 0,
                "Unknown" => 1,
                "Running" => 2,
                _ => 3,
            },
            ready: workload::is_ready(p),
            cost: kinds::str_at(
                p,
                "/metadata/annotations/controller.kubernetes.io~1pod-deletion-cost",
            )
            .parse::<i32>()
            .unwrap_or(0),
            ready_time: p
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|c| kinds::str_at(c, "/type") == "Ready")
                .and_then(|c| crate::clock::parse_time(kinds::str_at(c, "/lastTransitionTime"))),
            restarts: p
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
                .max()
                .unwrap_or(0),
            created: crate::clock::parse_time(kinds::str_at(p, "/metadata/creationTimestamp")),
            name: kinds::name_of(p).to_string(),
            uid: kinds::str_at(p, "/metadata/uid").to_string(),
        }
    }
}

/// What `ActivePodsWithRanks.Less` compares of one pod.
struct DeleteKey<'a> {
    facts: &'a DeleteFacts,
    /// Related pods on the same node.
    rank: i64,
}

/// `ActivePodsWithRanks.Less`: `Less` means "delete before".
fn delete_first(a: &DeleteKey<'_>, b: &DeleteKey<'_>) -> Ordering {
    let (fa, fb) = (a.facts, b.facts);
    let (a_assigned, b_assigned) = (!fa.node.is_empty(), !fb.node.is_empty());
    // 1. Unassigned before assigned.
    a_assigned
        .cmp(&b_assigned)
        // 2. Pending before Unknown before Running.
        .then(fa.phase_rank.cmp(&fb.phase_rank))
        // 3. Not ready before ready.
        .then(fa.ready.cmp(&fb.ready))
        // 4. Lower deletion cost first.
        .then(fa.cost.cmp(&fb.cost))
        // 5. More related pods on the same node first.
        .then(b.rank.cmp(&a.rank))
        // 6. Ready more recently first (both ready).
        .then_with(|| {
            if fa.ready && fb.ready {
                fb.ready_time.cmp(&fa.ready_time)
            } else {
                Ordering::Equal
            }
        })
        // 7. More restarts first.
        .then(fb.restarts.cmp(&fa.restarts))
        // 8. Newer first.
        .then(fb.created.cmp(&fa.created))
        .then_with(|| fa.name.cmp(&fb.name))
        .then_with(|| fa.uid.cmp(&fb.uid))
}

/// What a ReplicaSet's status counts of its claimed pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Replicas {
    replicas: usize,
    fully_labeled: usize,
    ready: usize,
    available: usize,
}

impl Replicas {
    /// Counted one claimed pod at a time.
    fn of(facts: &[PodFacts], min_ready: Duration, now: Timestamp) -> Replicas {
        Replicas {
            replicas: facts.len(),
            fully_labeled: facts.iter().filter(|f| f.fully_labeled).count(),
            ready: facts.iter().filter(|f| f.ready_since.is_some()).count(),
            available: facts
                .iter()
                .filter(|f| workload::available_since(f.ready_since, min_ready, now))
                .count(),
        }
    }
}

/// The status a sync reports (`calculateStatus`).
#[cfg(test)]
fn calculate_status(
    rs: &Value,
    claimed: &[Arc<Value>],
    failure: Option<(&str, String)>,
    min_ready: Duration,
    now: Timestamp,
) -> Value {
    let template = rs
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object);
    let facts: Vec<PodFacts> = claimed
        .iter()
        .map(|p| PodFacts {
            ready_since: workload::ready_since(p),
            fully_labeled: index::fully_labeled(
                template,
                workload::labels_map(p.pointer("/metadata/labels")).as_ref(),
            ),
        })
        .collect();
    status_of(rs, Replicas::of(&facts, min_ready, now), failure, now)
}

/// The status a sync reports (`calculateStatus`), given what it counts of the claimed pods.
fn status_of(
    rs: &Value,
    counted: Replicas,
    failure: Option<(&str, String)>,
    now: Timestamp,
) -> Value {
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
        "replicas": counted.replicas,
        "fullyLabeledReplicas": counted.fully_labeled,
        "readyReplicas": counted.ready,
        "availableReplicas": counted.available,
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

    /// The first `count` of `pods` to delete, ranked against `related`.
    fn ranked(pods: &[Arc<Value>], related: &[Arc<Value>], count: usize) -> Vec<Arc<Value>> {
        let mut on_node: HashMap<String, i64> = HashMap::new();
        for p in related {
            let node = kinds::str_at(p, "/spec/nodeName");
            if !node.is_empty() {
                *on_node.entry(node.to_string()).or_default() += 1;
            }
        }
        let claimed = Claimed::Listed(pods.to_vec());
        pods_to_delete(claimed.rankable(), &on_node, count)
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
        let order: Vec<String> = ranked(&pods, &pods, 5)
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
        let first = ranked(&pods, &related, 1);
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
    #[test]
    fn the_first_pods_to_delete_are_the_full_ranking_s_first() {
        let phases = ["Pending", "Running", "Unknown"];
        let nodes = ["", "n1", "n2", "n3"];
        let pods: Vec<Arc<Value>> = (0..40)
            .map(|i: usize| {
                let created = format!("2026-01-01T00:00:{:02}Z", (i * 7) % 13);
                let mut p = (*pod(
                    &format!("p{:02}", (i * 17) % 40),
                    nodes[i % 4],
                    phases[i % 3],
                    !i.is_multiple_of(5),
                    &created,
                ))
                .clone();
                p["metadata"]["uid"] = json!(format!("u{i}"));
                Arc::new(p)
            })
            .collect();
        let names = |ps: Vec<Arc<Value>>| -> Vec<String> {
            ps.iter().map(|p| kinds::name_of(p).to_string()).collect()
        };
        let all = names(ranked(&pods, &pods, pods.len()));
        for count in 0..=pods.len() {
            assert_eq!(names(ranked(&pods, &pods, count)), all[..count], "{count}");
        }
    }
}
