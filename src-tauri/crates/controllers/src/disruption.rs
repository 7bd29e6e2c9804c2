//! The disruption controller: the status of every PodDisruptionBudget, as
//! kube-controller-manager's `disruption` controller keeps it
//! (`pkg/controller/disruption/disruption.go`, `component-helpers/apps/poddisruptionbudget`).
//!
//! For each budget: the pods its (non-empty) selector selects; the number expected
//! (`expectedPods`) and the number that must stay healthy (`desiredHealthy`): an integer
//! `minAvailable` counts the selected pods and wants that many, while a percentage or a
//! `maxUnavailable` asks the pods' controllers for their scale (a ReplicaSet's Deployment, a
//! ReplicaSet, a StatefulSet) and rounds the percentage up. `currentHealthy` counts the Ready
//! pods that are neither terminating nor recorded in `disruptedPods` by the eviction
//! subresource in the last two minutes; `disruptionsAllowed` is what is left above the
//! desired count (0 while no pod is expected). The `DisruptionAllowed` condition says
//! `SufficientPods` or `InsufficientPods`; a budget whose count cannot be worked out (a pod
//! whose controller has no scale, such as a DaemonSet's) gets `SyncFailed` and no allowance.
//! Events: `NoPods`, `CalculateExpectedPodCountFailed`, `UnmanagedPods` on the budget and
//! `NotDeleted` on a pod that outlived its eviction record.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::kinds::{self, ResourceKind};
use crate::reconciler::{Action, Change, Controller, Enqueue};
use crate::recorder::Regarding;
use crate::shared::Shared;
use crate::workload;

/// How long an eviction's entry in `disruptedPods` keeps its pod out of the healthy count
/// (`DeletionTimeout`).
const DELETION_TIMEOUT: Duration = Duration::from_secs(120);

/// The event source of kube-controller-manager's disruption controller.
const COMPONENT: &str = "controllermanager";

fn pdb_kind() -> &'static ResourceKind {
    &kinds::poddisruptionbudget::KIND
}

/// The disruption controller.
#[derive(Debug, Default)]
pub(crate) struct DisruptionController;

impl Controller<Shared> for DisruptionController {
    fn name(&self) -> &'static str {
        "disruption"
    }

    fn watches(&self) -> &'static [&'static str] {
        &[
            "policy/poddisruptionbudgets",
            "pods",
            "apps/deployments",
            "apps/replicasets",
            "apps/statefulsets",
        ]
    }

    fn on_change(&mut self, change: &Change<'_>, ctx: &mut Shared, queue: &mut Enqueue<'_>) {
        match change.resource {
            "policy/poddisruptionbudgets" => workload::own_change(change, queue),
            "pods" => {
                // The budgets that select the pod (`getPdbForPod`), deleted pods included.
                let ns = kinds::namespace_of(change.object);
                let labels = change.object.pointer("/metadata/labels");
                for pdb in ctx.store.list_raw(pdb_kind(), Some(ns)) {
                    if let Some(sel) = selector(&pdb)
                        && workload::selector_matches(&sel, labels)
                    {
                        queue.key(format!("{ns}/{}", kinds::name_of(&pdb)));
                    }
                }
            }
            // A controller's scale changed: every budget of its namespace may count on it.
            _ => {
                let ns = kinds::namespace_of(change.object);
                for pdb in ctx.store.list_raw(pdb_kind(), Some(ns)) {
                    queue.key(format!("{ns}/{}", kinds::name_of(&pdb)));
                }
            }
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
        let Some(raw) = ctx.store.get_raw(pdb_kind(), ns, name) else {
            return Ok(Action::await_change());
        };
        sync(ctx, &raw, now)
    }
}

/// The budget's selector as JSON, unless it is missing or empty (which selects nothing).
fn selector(pdb: &Value) -> Option<Value> {
    let sel = pdb.pointer("/spec/selector")?;
    if !sel.is_object() || workload::selector_is_empty(sel) {
        return None;
    }
    Some(sel.clone())
}

/// `getPodsForPdb`: the pods of the budget's namespace its selector selects, by name.
fn pods_for(sh: &Shared, pdb: &Value) -> Vec<Arc<Value>> {
    let Some(sel) = selector(pdb) else {
        return vec![];
    };
    let ns = kinds::namespace_of(pdb);
    let mut pods: Vec<Arc<Value>> = sh
        .pods
        .values()
        .filter(|p| {
            kinds::namespace_of(p) == ns
                && workload::selector_matches(&sel, p.pointer("/metadata/labels"))
        })
        .cloned()
        .collect();
    pods.sort_by(|a, b| kinds::name_of(a).cmp(kinds::name_of(b)));
    pods
}

/// `getExpectedScale`: the summed scale of the pods' controllers, and the pods without one.
fn expected_scale(sh: &Shared, pods: &[Arc<Value>]) -> Result<(i32, Vec<String>), String> {
    let mut scales: HashMap<String, i32> = HashMap::new();
    let mut unmanaged = Vec::new();
    for pod in pods {
        let Some(r) = workload::controller_of(pod) else {
            unmanaged.push(kinds::name_of(pod).to_string());
            continue;
        };
        let uid = kinds::str_at(r, "/uid").to_string();
        if scales.contains_key(&uid) {
            continue;
        }
        let ns = kinds::namespace_of(pod);
        match controller_scale(sh, ns, r) {
            Some((owner_uid, scale)) => {
                scales.insert(owner_uid, scale);
            }
            None => {
                return Err(format!(
                    "found no controllers for pod {}",
                    kq_kube::validation::quote(kinds::name_of(pod))
                ));
            }
        }
    }
    Ok((scales.values().sum(), unmanaged))
}

/// The finders (`getPodDeployment`, `getPodReplicaSet`, `getPodStatefulSet`): the uid and
/// scale of the object that owns a pod's controller reference, when it has a scale.
fn controller_scale(sh: &Shared, ns: &str, r: &Value) -> Option<(String, i32)> {
    let replicas = |obj: &Value| {
        obj.pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .map_or(1, |n| i32::try_from(n).unwrap_or(i32::MAX))
    };
    let name = kinds::str_at(r, "/name");
    let uid = kinds::str_at(r, "/uid");
    let api_version = kinds::str_at(r, "/apiVersion");
    if !api_version.starts_with("apps/") {
        return None;
    }
    match kinds::str_at(r, "/kind") {
        "ReplicaSet" => {
            let rs = sh.store.get_raw(&kinds::replicaset::KIND, ns, name)?;
            if kinds::str_at(&rs, "/metadata/uid") != uid {
                return None;
            }
            match workload::controller_of(&rs) {
                Some(d) if kinds::str_at(d, "/kind") == "Deployment" => {
                    let dep = sh.store.get_raw(
                        &kinds::deployment::KIND,
                        ns,
                        kinds::str_at(d, "/name"),
                    )?;
                    if kinds::str_at(&dep, "/metadata/uid") != kinds::str_at(d, "/uid") {
                        return None;
                    }
                    Some((kinds::str_at(&dep, "/metadata/uid").into(), replicas(&dep)))
                }
                _ => Some((uid.into(), replicas(&rs))),
            }
        }
        "StatefulSet" => {
            let ss = sh.store.get_raw(&kinds::statefulset::KIND, ns, name)?;
            (kinds::str_at(&ss, "/metadata/uid") == uid).then(|| (uid.into(), replicas(&ss)))
        }
        _ => None,
    }
}

/// `getExpectedPodCount`: (expected, desired healthy, unmanaged pods).
fn expected_count(
    sh: &Shared,
    pdb: &PodDisruptionBudget,
    pods: &[Arc<Value>],
) -> Result<(i32, i32, Vec<String>), String> {
    let spec = pdb.spec.clone().unwrap_or_default();
    let scaled = |v: &IntOrString, total: i32| {
        kinds::poddisruptionbudget::scaled(v, i64::from(total))
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX))
            .ok_or_else(|| {
                format!(
                    "invalid value for IntOrString: invalid value {}: strconv.Atoi: parsing {}: invalid syntax",
                    kq_kube::validation::quote(&kinds::poddisruptionbudget::int_or_string(v)),
                    kq_kube::validation::quote(&kinds::poddisruptionbudget::int_or_string(v)),
                )
            })
    };
    if let Some(max) = &spec.max_unavailable {
        let (expected, unmanaged) = expected_scale(sh, pods)?;
        let max = scaled(max, expected)?;
        return Ok((expected, (expected - max).max(0), unmanaged));
    }
    match &spec.min_available {
        Some(IntOrString::Int(n)) => Ok((
            i32::try_from(pods.len()).unwrap_or(i32::MAX),
            *n,
            Vec::new(),
        )),
        Some(v @ IntOrString::String(_)) => {
            let (expected, unmanaged) = expected_scale(sh, pods)?;
            Ok((expected, scaled(v, expected)?, unmanaged))
        }
        None => Ok((0, 0, Vec::new())),
    }
}

/// The disruption time an eviction recorded for a pod.
fn disrupted_at(t: &Time) -> Timestamp {
    t.0
}

/// One sync (`trySync`, falling back to `failSafe`).
fn sync(sh: &mut Shared, raw: &Arc<Value>, now: Timestamp) -> crate::Result<Action> {
    let pdb: PodDisruptionBudget = kinds::typed(raw);
    let ns = kinds::namespace_of(raw).to_string();
    let name = kinds::name_of(raw).to_string();
    let pods = pods_for(sh, raw);
    if pods.is_empty() {
        budget_event(sh, now, raw, "Normal", "NoPods", "No matching pods found");
    }
    let (expected, desired, unmanaged) = match expected_count(sh, &pdb, &pods) {
        Ok(v) => v,
        Err(e) => {
            budget_event(
                sh,
                now,
                raw,
                "Warning",
                "CalculateExpectedPodCountFailed",
                &format!("Failed to calculate the number of expected pods: {e}"),
            );
            return fail_safe(sh, &ns, &name, &e, now);
        }
    };
    if !unmanaged.is_empty() {
        let sel = pdb.spec.as_ref().and_then(|s| s.selector.clone());
        budget_event(
            sh,
            now,
            raw,
            "Warning",
            "UnmanagedPods",
            &format!(
                "Pods selected by this PodDisruptionBudget (selector: {}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value.",
                gogo_selector(sel.as_ref())
            ),
        );
    }
    // buildDisruptedPodMap: keep the records of pods still expected to go.
    let recorded = pdb
        .status
        .as_ref()
        .and_then(|s| s.disrupted_pods.clone())
        .unwrap_or_default();
    let mut disrupted: BTreeMap<String, Time> = BTreeMap::new();
    let mut recheck: Option<Timestamp> = None;
    for pod in &pods {
        if workload::is_terminating(pod) {
            continue;
        }
        let Some(t) = recorded.get(kinds::name_of(pod)) else {
            continue;
        };
        let expected_deletion = crate::scheduler::add(disrupted_at(t), DELETION_TIMEOUT);
        if expected_deletion < now {
            // The real message repeats the namespace where the budget's name belongs.
            let msg = format!(
                "Pod was expected by PDB {}/{} to be deleted but it wasn't",
                ns, ns
            );
            let regarding = Regarding::pod(pod, None);
            let Shared {
                recorder, store, ..
            } = sh;
            recorder.legacy_event(
                store,
                now,
                COMPONENT,
                "",
                &regarding,
                "Warning",
                "NotDeleted",
                &msg,
            );
        } else {
            recheck = Some(recheck.map_or(expected_deletion, |r| r.min(expected_deletion)));
            disrupted.insert(kinds::name_of(pod).to_string(), t.clone());
        }
    }
    // countHealthyPods.
    let healthy = pods
        .iter()
        .filter(|p| {
            !workload::is_terminating(p)
                && !disrupted.contains_key(kinds::name_of(p))
                && workload::is_ready(p)
        })
        .count();
    let current = i32::try_from(healthy).unwrap_or(i32::MAX);
    let allowed = if expected <= 0 {
        0
    } else {
        (current - desired).max(0)
    };
    let generation = pdb.metadata.generation.unwrap_or(0);
    let old = pdb.status.clone().unwrap_or_default();
    let mut status = PodDisruptionBudgetStatus {
        current_healthy: current,
        desired_healthy: desired,
        expected_pods: expected,
        disruptions_allowed: allowed,
        disrupted_pods: if disrupted.is_empty() && old.disrupted_pods.is_none() {
            None
        } else {
            Some(disrupted)
        },
        observed_generation: Some(generation),
        conditions: old.conditions.clone(),
    };
    set_condition(&mut status, now, None);
    let same = old.current_healthy == status.current_healthy
        && old.desired_healthy == status.desired_healthy
        && old.expected_pods == status.expected_pods
        && old.disruptions_allowed == status.disruptions_allowed
        && old.disrupted_pods.clone().unwrap_or_default()
            == status.disrupted_pods.clone().unwrap_or_default()
        && old.observed_generation == status.observed_generation
        && old.conditions == status.conditions;
    if !same {
        let write = sh
            .store
            .update_status::<PodDisruptionBudget>(&ns, &name, |p| {
                p.status = Some(status.clone());
            });
        if write.is_err() {
            return Ok(Action::backoff());
        }
    }
    Ok(match recheck {
        Some(t) if t > now => Action::requeue(
            Duration::try_from(t.duration_since(now)).unwrap_or(Duration::from_secs(1)),
        ),
        Some(_) => Action::requeue(Duration::from_secs(1)),
        None => Action::await_change(),
    })
}

/// `failSafe`: no disruption allowed, and the condition says why.
fn fail_safe(
    sh: &mut Shared,
    ns: &str,
    name: &str,
    err: &str,
    now: Timestamp,
) -> crate::Result<Action> {
    let _ = sh
        .store
        .update_status::<PodDisruptionBudget>(ns, name, |p| {
            let s = p.status.get_or_insert_with(Default::default);
            s.disruptions_allowed = 0;
            set_condition(s, now, Some(err));
        });
    Ok(Action::backoff())
}

/// `UpdateDisruptionAllowedCondition` (or, with `failed`, failSafe's `SyncFailed`) through
/// `meta.SetStatusCondition`: the transition time moves only when the status does.
fn set_condition(s: &mut PodDisruptionBudgetStatus, now: Timestamp, failed: Option<&str>) {
    let (status, reason, message) = match failed {
        Some(e) => ("False", "SyncFailed", e.to_string()),
        None if s.disruptions_allowed > 0 => ("True", "SufficientPods", String::new()),
        None => ("False", "InsufficientPods", String::new()),
    };
    let observed = s.observed_generation;
    let conds = s.conditions.get_or_insert_with(Vec::new);
    match conds.iter_mut().find(|c| c.type_ == "DisruptionAllowed") {
        Some(c) => {
            if c.status != status {
                c.status = status.into();
                c.last_transition_time = Time(now);
            }
            c.reason = reason.into();
            c.message = message;
            c.observed_generation = observed;
        }
        None => conds.push(Condition {
            type_: "DisruptionAllowed".into(),
            status: status.into(),
            reason: reason.into(),
            message,
            last_transition_time: Time(now),
            observed_generation: observed,
        }),
    }
}

/// An event on the budget from kube-controller-manager's recorder.
fn budget_event(
    sh: &mut Shared,
    now: Timestamp,
    pdb: &Value,
    type_: &str,
    reason: &str,
    message: &str,
) {
    let regarding = Regarding::object(pdb, "PodDisruptionBudget", "policy/v1");
    let Shared {
        recorder, store, ..
    } = sh;
    recorder.legacy_event(
        store, now, COMPONENT, "", &regarding, type_, reason, message,
    );
}

/// `%v` of a `*metav1.LabelSelector`: its generated `String()`.
fn gogo_selector(sel: Option<&LabelSelector>) -> String {
    let Some(sel) = sel else {
        return "nil".into();
    };
    let labels: String = sel
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}: {v},"))
        .collect();
    let exprs: String = sel
        .match_expressions
        .iter()
        .flatten()
        .map(|r| {
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                r.key,
                r.operator,
                r.values.clone().unwrap_or_default().join(" ")
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selector_prints_as_its_generated_string() {
        let sel: LabelSelector =
            serde_json::from_value(serde_json::json!({"matchLabels": {"app": "web"}}))
                .expect("selector");
        assert_eq!(
            gogo_selector(Some(&sel)),
            "&LabelSelector{MatchLabels:map[string]string{app: web,},MatchExpressions:[]LabelSelectorRequirement{},}"
        );
    }

    #[test]
    fn the_condition_moves_only_when_its_status_does() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().expect("time");
        let t1: Timestamp = "2026-01-01T00:01:00Z".parse().expect("time");
        let mut s = PodDisruptionBudgetStatus {
            disruptions_allowed: 1,
            observed_generation: Some(1),
            ..Default::default()
        };
        set_condition(&mut s, t0, None);
        set_condition(&mut s, t1, None);
        let c = &s.conditions.as_ref().expect("conditions")[0];
        assert_eq!(
            (
                c.status.as_str(),
                c.reason.as_str(),
                c.last_transition_time.0
            ),
            ("True", "SufficientPods", t0)
        );
        s.disruptions_allowed = 0;
        set_condition(&mut s, t1, None);
        let c = &s.conditions.as_ref().expect("conditions")[0];
        assert_eq!(
            (
                c.status.as_str(),
                c.reason.as_str(),
                c.last_transition_time.0
            ),
            ("False", "InsufficientPods", t1)
        );
    }
}
