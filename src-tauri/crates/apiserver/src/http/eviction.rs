//! The pods' `eviction` subresource: `POST /api/v1/namespaces/<ns>/pods/<name>/eviction`
//! with a `policy/v1` (or `policy/v1beta1`) Eviction, as kube-apiserver's `EvictionREST`
//! answers it (`pkg/registry/core/pod/storage/eviction.go`). `kubectl drain` evicts through it.
//!
//! A pod that is Pending, finished or already terminating is deleted without looking at any
//! budget (it is no disruption). Otherwise the one PodDisruptionBudget whose selector selects
//! the pod decides: none → delete; more than one → a 500 status; a budget whose
//! `observedGeneration` lags its generation or that allows no disruption → 429
//! TooManyRequests (`Cannot evict pod as it would violate the pod's disruption budget.` with a
//! `DisruptionBudget` cause), a negative allowance → 403. An allowed eviction decrements
//! `disruptionsAllowed` and records the pod in `status.disruptedPods` (so the disruption
//! controller does not count it healthy while it goes), then the pod gets the
//! `DisruptionTarget` condition and is deleted gracefully with the Eviction's deleteOptions.
//! A pod that is not Ready may go when the budget says `AlwaysAllow` for unhealthy pods or
//! already has enough healthy pods.

use std::collections::BTreeMap;

use hyper::header::HeaderValue;
use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use serde_json::{Value, json};

use super::{ApiState, Body, json_response};
use crate::error::{Error, Result};
use crate::kinds::{self, ResourceKind, typed};
use crate::store::{DeleteOptions, Preconditions, Store};

/// What every refusal by a budget says.
const REFUSED: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

/// The `StatusCause` type of a budget's refusal (`policyv1.DisruptionBudgetCause`).
const CAUSE: &str = "DisruptionBudget";

/// Evict pod `ns/name`; `body` is the decoded Eviction.
pub(crate) fn create(
    state: &ApiState,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
    body: &Value,
) -> Result<hyper::Response<Body>> {
    match evict(state, kind, ns, name, body) {
        Ok(Outcome::Evicted) => Ok(json_response(
            201,
            "application/json",
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
            &[],
        )),
        // EvictionREST returns this one as a Status object, not an error: no reason.
        Ok(Outcome::MoreThanOneBudget) => Ok(json_response(
            500,
            "application/json",
            &json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                "code": 500,
            }),
            &[],
        )),
        Err(e @ Error::TooManyRequests { retry_after, .. }) => {
            let mut resp = json_response(e.code(), "application/json", &e.to_status(), &[]);
            // responsewriters.ErrorNegotiated: a status asking for a pause says so in the header too.
            if retry_after > 0
                && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
            {
                resp.headers_mut().insert("Retry-After", v);
            }
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

enum Outcome {
    Evicted,
    MoreThanOneBudget,
}

fn evict(
    state: &ApiState,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
    body: &Value,
) -> Result<Outcome> {
    let store = &state.store;
    if kinds::str_at(body, "/metadata/name") != name {
        return Err(Error::BadRequest(
            "name in URL does not match name in Eviction object".into(),
        ));
    }
    let mut opts: DeleteOptions = match body.get("deleteOptions") {
        None | Some(Value::Null) => DeleteOptions::default(),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
            Error::BadRequest(format!(
                "DeleteOptions in version \"v1\" cannot be handled as a DeleteOptions: {e}"
            ))
        })?,
    };
    let dry_run = opts.dry_run.iter().any(|d| d == "All");
    let pod = store
        .get_raw(kind, ns, name)
        .ok_or_else(|| Error::not_found("", "pods", name))?;
    if can_ignore_budget(&pod) {
        delete_with_condition(state, kind, ns, name, &mut opts, dry_run)?;
        return Ok(Outcome::Evicted);
    }
    let budgets = budgets_for(state, &pod);
    let pdb = match budgets.as_slice() {
        [] => None,
        [one] => Some(one),
        _ => return Ok(Outcome::MoreThanOneBudget),
    };
    if let Some(pdb) = pdb {
        let status = pdb.status.clone().unwrap_or_default();
        let spec = pdb.spec.clone().unwrap_or_default();
        let unhealthy_may_go = !is_ready(&pod)
            && (spec.unhealthy_pod_eviction_policy.as_deref() == Some("AlwaysAllow")
                || (status.current_healthy >= status.desired_healthy
                    && status.desired_healthy > 0));
        if unhealthy_may_go {
            // The pod must still be the one looked at (not Ready since): delete it only at
            // this resourceVersion, unless the client named its own precondition.
            if opts
                .preconditions
                .as_ref()
                .is_none_or(|p| p.resource_version.is_none())
            {
                let rv = kinds::str_at(&pod, "/metadata/resourceVersion").to_string();
                let uid = opts.preconditions.as_ref().and_then(|p| p.uid.clone());
                opts.preconditions = Some(Preconditions {
                    uid,
                    resource_version: Some(rv),
                });
            }
        } else {
            check_and_decrement(&state.store, ns, name, pdb, dry_run)?;
        }
    }
    delete_with_condition(state, kind, ns, name, &mut opts, dry_run)?;
    Ok(Outcome::Evicted)
}

/// `canIgnorePDB`: evicting a pod that is not running or already going disrupts nothing.
fn can_ignore_budget(pod: &Value) -> bool {
    matches!(
        kinds::str_at(pod, "/status/phase"),
        "Succeeded" | "Failed" | "Pending"
    ) || pod.pointer("/metadata/deletionTimestamp").is_some()
}

fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// The budgets in the pod's namespace whose selector selects it; a budget without a
/// selector (or an empty one) selects nothing here, as `getPodDisruptionBudgets` has it.
fn budgets_for(state: &ApiState, pod: &Value) -> Vec<PodDisruptionBudget> {
    let labels: Option<BTreeMap<String, String>> = pod
        .pointer("/metadata/labels")
        .and_then(|l| serde_json::from_value(l.clone()).ok());
    state
        .store
        .list_raw(
            &kinds::poddisruptionbudget::KIND,
            Some(kinds::namespace_of(pod)),
        )
        .iter()
        .map(|v| typed::<PodDisruptionBudget>(v))
        .filter(|pdb| {
            let Some(sel) = pdb.spec.as_ref().and_then(|s| s.selector.as_ref()) else {
                return false;
            };
            !selector_is_empty(sel)
                && kq_kube::selectors::label_selector_matches(sel, labels.as_ref()).unwrap_or(false)
        })
        .collect()
}

fn selector_is_empty(sel: &LabelSelector) -> bool {
    sel.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && sel.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

/// `checkAndDecrement`: refuse, or take one disruption from the budget and note the pod.
fn check_and_decrement(
    store: &Store,
    ns: &str,
    pod_name: &str,
    pdb: &PodDisruptionBudget,
    dry_run: bool,
) -> Result<()> {
    let pdb_name = pdb.metadata.name.clone().unwrap_or_default();
    let status = pdb.status.clone().unwrap_or_default();
    let generation = pdb.metadata.generation.unwrap_or(0);
    if status.observed_generation.unwrap_or(0) < generation {
        return Err(Error::TooManyRequests {
            message: REFUSED.into(),
            causes: vec![(
                CAUSE.into(),
                format!("The disruption budget {pdb_name} is still being processed by the server."),
            )],
            retry_after: 10,
        });
    }
    if status.disruptions_allowed < 0 {
        return Err(Error::Forbidden {
            group: "policy".into(),
            resource: "poddisruptionbudget".into(),
            name: pdb_name,
            reason: "pdb disruptions allowed is negative".into(),
        });
    }
    if status.disrupted_pods.as_ref().map_or(0, BTreeMap::len) > MAX_DISRUPTED_PODS {
        return Err(Error::Forbidden {
            group: "policy".into(),
            resource: "poddisruptionbudget".into(),
            name: pdb_name,
            reason:
                "DisruptedPods map too big - too many evictions not confirmed by PDB controller"
                    .into(),
        });
    }
    if status.disruptions_allowed == 0 {
        return Err(Error::TooManyRequests {
            message: REFUSED.into(),
            causes: vec![(
                CAUSE.into(),
                format!(
                    "The disruption budget {pdb_name} needs {} healthy pods and has {} currently",
                    status.desired_healthy, status.current_healthy
                ),
            )],
            retry_after: 0,
        });
    }
    if dry_run {
        return Ok(());
    }
    let now = store.clock().now();
    let seen_rv = pdb.metadata.resource_version.clone();
    let mut stale = false;
    store.update_status::<PodDisruptionBudget>(ns, &pdb_name, |p| {
        // Another eviction took a disruption meanwhile: refuse rather than overdraw.
        if p.metadata.resource_version != seen_rv {
            stale = true;
            return;
        }
        let s = p.status.get_or_insert_with(Default::default);
        s.disruptions_allowed -= 1;
        if s.disruptions_allowed == 0 {
            set_allowed_condition(s, now);
        }
        s.disrupted_pods
            .get_or_insert_with(BTreeMap::new)
            .insert(pod_name.to_string(), Time(now));
    })?;
    if stale {
        return Err(Error::TooManyRequests {
            message: REFUSED.into(),
            causes: vec![(
                CAUSE.into(),
                format!("The disruption budget {pdb_name} is still being processed by the server."),
            )],
            retry_after: 10,
        });
    }
    Ok(())
}

/// `MaxDisruptedPodSize`.
const MAX_DISRUPTED_PODS: usize = 2000;

/// `pdbhelper.UpdateDisruptionAllowedCondition` for a budget that just ran out.
fn set_allowed_condition(
    s: &mut k8s_openapi::api::policy::v1::PodDisruptionBudgetStatus,
    now: jiff::Timestamp,
) {
    let conds = s.conditions.get_or_insert_with(Vec::new);
    let observed = s.observed_generation;
    match conds.iter_mut().find(|c| c.type_ == "DisruptionAllowed") {
        Some(c) => {
            if c.status != "False" {
                c.status = "False".into();
                c.last_transition_time = Time(now);
            }
            c.reason = "InsufficientPods".into();
            c.message = String::new();
            c.observed_generation = observed;
        }
        None => conds.push(k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
            type_: "DisruptionAllowed".into(),
            status: "False".into(),
            reason: "InsufficientPods".into(),
            message: String::new(),
            last_transition_time: Time(now),
            observed_generation: observed,
        }),
    }
}

/// `addConditionAndDeletePod`: mark the pod `DisruptionTarget` (unless a dry run), then
/// delete it with the client's options.
fn delete_with_condition(
    state: &ApiState,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
    opts: &mut DeleteOptions,
    dry_run: bool,
) -> Result<()> {
    if !dry_run {
        // The condition's write honours the client's resourceVersion precondition, as the
        // delete would have.
        if let Some(rv) = opts
            .preconditions
            .as_ref()
            .and_then(|p| p.resource_version.as_deref())
            && state
                .store
                .get_raw(kind, ns, name)
                .is_some_and(|p| kinds::str_at(&p, "/metadata/resourceVersion") != rv)
        {
            return Err(Error::modified("", "pods", name));
        }
        let now = state.store.clock().now();
        let updated = state.store.update_status::<Pod>(ns, name, |p| {
            let status = p.status.get_or_insert_with(Default::default);
            let conds = status.conditions.get_or_insert_with(Vec::new);
            let cond = PodCondition {
                type_: "DisruptionTarget".into(),
                status: "True".into(),
                reason: Some("EvictionByEvictionAPI".into()),
                message: Some("Eviction API: evicting".into()),
                last_transition_time: Some(Time(now)),
                ..Default::default()
            };
            match conds.iter_mut().find(|c| c.type_ == "DisruptionTarget") {
                Some(c) => {
                    if c.status == "True" {
                        c.reason = cond.reason;
                        c.message = cond.message;
                    } else {
                        *c = cond;
                    }
                }
                None => conds.push(cond),
            }
        })?;
        // A precondition on the resourceVersion was about the pod before the condition: it
        // moves with the condition's own write.
        if let Some(p) = opts.preconditions.as_mut()
            && p.resource_version.is_some()
        {
            p.resource_version = updated.metadata.resource_version.clone();
        }
    }
    state.store.delete(kind, ns, name, opts)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn budget(generation: i64, observed: i64, allowed: i32) -> PodDisruptionBudget {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default", "generation": generation},
            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}},
            "status": {"observedGeneration": observed, "disruptionsAllowed": allowed,
                       "currentHealthy": 2, "desiredHealthy": 2, "expectedPods": 2}
        }))
        .expect("budget")
    }

    fn store() -> Arc<Store> {
        Store::new(Arc::new(crate::clock::Clock::new(0.0)), String::new(), 100)
    }

    #[test]
    fn an_unprocessed_budget_asks_to_come_back_in_ten_seconds() {
        let err = check_and_decrement(&store(), "default", "web-1", &budget(2, 1, 1), false)
            .expect_err("refused");
        assert_eq!(err.code(), 429);
        assert_eq!(
            err.to_status()["details"],
            json!({"causes": [{"reason": "DisruptionBudget",
                "message": "The disruption budget web is still being processed by the server."}],
                "retryAfterSeconds": 10})
        );
    }

    #[test]
    fn a_negative_allowance_is_forbidden() {
        let err = check_and_decrement(&store(), "default", "web-1", &budget(1, 1, -1), false)
            .expect_err("refused");
        assert_eq!(
            (err.code(), err.to_string()),
            (
                403,
                "poddisruptionbudget.policy \"web\" is forbidden: pdb disruptions allowed is negative"
                    .to_string()
            )
        );
    }

    #[test]
    fn no_allowance_names_the_counts_and_no_retry_time() {
        let err = check_and_decrement(&store(), "default", "web-1", &budget(1, 1, 0), false)
            .expect_err("refused");
        let status = err.to_status();
        assert_eq!(
            (&status["reason"], &status["message"], &status["details"]),
            (
                &json!("TooManyRequests"),
                &json!(REFUSED),
                &json!({"causes": [{"reason": "DisruptionBudget",
                    "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}]})
            )
        );
    }

    #[test]
    fn only_pods_that_run_need_a_budget() {
        for (phase, deleting, ignore) in [
            ("Pending", false, true),
            ("Succeeded", false, true),
            ("Failed", false, true),
            ("Running", true, true),
            ("Running", false, false),
        ] {
            let mut pod = json!({"metadata": {"name": "p"}, "status": {"phase": phase}});
            if deleting {
                pod["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
            }
            assert_eq!(can_ignore_budget(&pod), ignore, "{pod}");
        }
    }
}
