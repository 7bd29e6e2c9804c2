//! Objectives about node maintenance: a node drained for maintenance, and the
//! PodDisruptionBudget that keeps a workload up while it is.
//!
//! | kind | fields | passes when |
//! |---|---|---|
//! | `node-drained` | `node` | the Node exists and is cordoned (`spec.unschedulable`), and runs no pod of the mission namespace that is not being deleted, except DaemonSet pods (which `kubectl drain --ignore-daemonsets` leaves, as a real drain does) |
//! | `budget-protects` | `budget`, `workload` | the PodDisruptionBudget exists and is not being deleted, its selector selects every live pod of the workload (at least one), its disruption controller has counted it (`status.observedGeneration`), it still keeps at least one pod up (`status.desiredHealthy` ≥ 1) and it allows at least one disruption now (`status.disruptionsAllowed` ≥ 1, kubectl's ALLOWED DISRUPTIONS) |
//!
//! Bypasses fail on purpose: deleting the budget, or loosening it until it keeps no pod up
//! (`minAvailable: 0`, `maxUnavailable: 100%`), leaves `budget-protects` unmet; uncordoning the
//! node, or deleting it, leaves `node-drained` unmet; deleting the workload or scaling it to
//! zero leaves the budget nothing to select. Both read what no watch reports (the Node, the
//! budgets), as [`super::security`]'s checks do, through
//! [`crate::pipeline::security_facts`]. The budget's status fields are those the disruption
//! controller writes (`pkg/controller/disruption/disruption.go`, `updatePdbStatus`).

use k8s_openapi::api::core::v1::Pod;

use super::{Check, ObjectiveStatus, Snapshot, live_named, live_workload, met, not_met};
use crate::pipeline::security_facts::SecurityFacts;
use crate::pipeline::workload::{Workloads, controller_ref, selector_matches};

type Outcome = Result<(ObjectiveStatus, String), (ObjectiveStatus, String)>;

/// Whether a pod is one a drain must move: not being deleted, not a DaemonSet's.
fn must_move(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_none()
        && controller_ref(&p.metadata).is_none_or(|r| r.kind != "DaemonSet")
}

/// Evaluates `node-drained` and `budget-protects`.
pub(super) fn evaluate(
    check: &Check,
    snap: &Snapshot<'_>,
    workloads: &Workloads,
    facts: &SecurityFacts,
) -> Outcome {
    match check {
        Check::NodeDrained { node } => {
            let n = facts
                .nodes
                .get(node)
                .ok_or_else(|| not_met(format!("the node {node} is not read yet")))?
                .as_ref()
                .ok_or_else(|| {
                    not_met(format!(
                        "there is no node named {node} (deleting it is not a fix)"
                    ))
                })?;
            if n.spec.as_ref().and_then(|s| s.unschedulable) != Some(true) {
                return Ok(not_met(format!(
                    "{node} is not cordoned: the scheduler may still place pods there"
                )));
            }
            let left: Vec<&str> = snap
                .pods
                .iter()
                .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node))
                .filter(|p| must_move(p))
                .filter_map(|p| p.metadata.name.as_deref())
                .collect();
            if left.is_empty() {
                Ok(met(format!(
                    "{node} is cordoned and runs none of the namespace's pods (DaemonSet pods \
                     aside)"
                )))
            } else {
                Ok(not_met(format!(
                    "{node} is cordoned but still runs {}",
                    left.join(", ")
                )))
            }
        }
        Check::BudgetProtects { budget, workload } => {
            let budgets = facts.budgets.as_deref().ok_or_else(|| {
                not_met("the namespace's PodDisruptionBudgets are not read yet".into())
            })?;
            let b = live_named(budgets, budget)?;
            live_workload(workloads, workload.kind, &workload.name)?;
            let pods = workloads.live_pods_of(workload.kind, &workload.name, snap.pods);
            if pods.is_empty() {
                return Ok(not_met(format!(
                    "{workload} has no pods for {budget} to protect"
                )));
            }
            let selector = b.spec.as_ref().and_then(|s| s.selector.as_ref());
            // policy/v1: a budget with no selector selects no pod.
            let unselected: Vec<&str> = pods
                .iter()
                .filter(|p| {
                    selector.is_none_or(|s| !selector_matches(s, p.metadata.labels.as_ref()))
                })
                .filter_map(|p| p.metadata.name.as_deref())
                .collect();
            if !unselected.is_empty() {
                return Ok(not_met(format!(
                    "{budget} does not select {} of {workload}",
                    unselected.join(", ")
                )));
            }
            let status = b.status.clone().unwrap_or_default();
            let generation = b.metadata.generation.unwrap_or(0);
            if status.observed_generation.unwrap_or(0) < generation {
                return Ok(not_met(format!(
                    "{budget} has not been counted by the disruption controller yet"
                )));
            }
            if status.desired_healthy < 1 {
                return Ok(not_met(format!(
                    "{budget} keeps no pod of {workload} up: every one may be evicted at once"
                )));
            }
            if status.disruptions_allowed < 1 {
                return Ok(not_met(format!(
                    "{budget} allows no disruption: {} healthy, {} required",
                    status.current_healthy, status.desired_healthy
                )));
            }
            Ok(met(format!(
                "{budget} keeps {} of {} pods of {workload} up and allows {} disruption{}",
                status.desired_healthy,
                status.expected_pods,
                status.disruptions_allowed,
                if status.disruptions_allowed == 1 {
                    ""
                } else {
                    "s"
                }
            )))
        }
        _ => Ok(not_met("not a node check".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mission::Objective;
    use crate::mission::format::parse_front_matter;
    use crate::mission::objectives::evaluate_session;
    use crate::mission::objectives::security::facts_wanted;
    use crate::pipeline::service_http::HttpResults;
    use crate::pipeline::services::ServiceObjects;
    use crate::pipeline::workload::WorkloadObject;
    use k8s_openapi::api::core::v1::Node;
    use k8s_openapi::api::policy::v1::PodDisruptionBudget;
    use serde_json::{Value, json};

    fn objectives() -> Vec<Objective> {
        let f = parse_front_matter(
            "format: 1\nid: x\ntitle: X\norder: 1\nstage: apply\ndifficulty: beginner\n\
             objectives:\n\
             \x20 - id: drained\n    title: D\n    check: { kind: node-drained, node: node-2 }\n\
             \x20 - id: budget\n    title: B\n    check: { kind: budget-protects, budget: web, workload: deploy/web }\n\
             hints: [a, b, c]\n",
        );
        assert_eq!(f.problems, vec![], "valid objectives");
        f.objectives.expect("typed")
    }

    fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).expect("fixture")
    }

    fn owner(kind: &str, name: &str) -> Value {
        json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": name,
                "controller": true}])
    }

    fn pod(name: &str, node: &str, owner_kind: &str, owner_name: &str, deleting: bool) -> Pod {
        let mut p = json!({
            "metadata": {"name": name, "namespace": "kq-x", "labels": {"app": "web"},
                         "ownerReferences": owner(owner_kind, owner_name)},
            "spec": {"nodeName": node, "containers": [{"name": "web", "image": "nginx:1.27"}]},
            "status": {"phase": "Running"}
        });
        if deleting {
            p["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:04:00Z");
        }
        from(p)
    }

    fn web() -> Workloads {
        let mut w = Workloads::new();
        w.apply(WorkloadObject::Deployment(from(json!({
            "metadata": {"name": "web", "namespace": "kq-x", "uid": "web", "generation": 1},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}
        }))));
        w.apply(WorkloadObject::ReplicaSet(from(json!({
            "metadata": {"name": "web-1", "namespace": "kq-x", "uid": "web-1",
                         "ownerReferences": owner("Deployment", "web")},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}}
        }))));
        w
    }

    fn node(unschedulable: bool) -> Node {
        from(json!({"metadata": {"name": "node-2"}, "spec": {"unschedulable": unschedulable}}))
    }

    fn budget(selector: Value, desired: i32, allowed: i32) -> PodDisruptionBudget {
        from(json!({
            "metadata": {"name": "web", "namespace": "kq-x", "generation": 2},
            "spec": {"minAvailable": desired, "selector": selector},
            "status": {"observedGeneration": 2, "currentHealthy": 2, "desiredHealthy": desired,
                       "disruptionsAllowed": allowed, "expectedPods": 2}
        }))
    }

    fn eval(pods: &[Pod], w: &Workloads, facts: &SecurityFacts) -> Vec<(ObjectiveStatus, String)> {
        let snap = Snapshot {
            pods,
            events: &[],
            now: "2026-01-01T00:05:00Z".parse().expect("timestamp"),
        };
        evaluate_session(
            &objectives(),
            &snap,
            w,
            &ServiceObjects::default(),
            &HttpResults::default(),
            facts,
        )
        .into_iter()
        .map(|r| (r.status, r.reason))
        .collect()
    }

    fn facts(node_2: Option<Node>, budgets: Vec<PodDisruptionBudget>) -> SecurityFacts {
        SecurityFacts {
            nodes: [("node-2".to_owned(), node_2)].into(),
            budgets: Some(budgets),
            ..SecurityFacts::default()
        }
    }

    #[test]
    fn the_objectives_ask_for_the_node_and_the_budgets_to_be_read() {
        let o = objectives();
        assert_eq!(o[0].check.subject(), ("Node", "node-2"));
        assert_eq!(o[1].check.subject(), ("PodDisruptionBudget", "web"));
        let wanted = facts_wanted(o.iter().map(|o| &o.check));
        assert_eq!(wanted.nodes, vec!["node-2".to_owned()]);
        assert!(wanted.budgets && !wanted.quotas && !wanted.is_empty());
        assert!(
            o.iter()
                .all(|o| super::super::security::reads_facts(&o.check))
        );
        let nothing = eval(&[], &web(), &SecurityFacts::default());
        assert!(nothing[0].1.contains("not read yet"), "{nothing:?}");
        assert!(nothing[1].1.contains("not read yet"), "{nothing:?}");
    }

    #[test]
    fn a_node_is_drained_once_cordoned_with_only_daemonset_and_terminating_pods_left() {
        let w = web();
        let sel = json!({"matchLabels": {"app": "web"}});
        let b = || vec![budget(sel.clone(), 1, 1)];
        let on_2 = vec![
            pod("web-a", "node-2", "ReplicaSet", "web-1", false),
            pod("web-b", "node-1", "ReplicaSet", "web-1", false),
            pod("agent-x", "node-2", "DaemonSet", "agent", false),
        ];
        // Not cordoned: however empty, the node is not drained (uncordoning is no fix).
        let r = eval(&[], &w, &facts(Some(node(false)), b()));
        assert_eq!(r[0].0, ObjectiveStatus::NotMet);
        assert!(r[0].1.contains("node-2 is not cordoned"), "{r:?}");
        // Cordoned, a web pod still there.
        let r = eval(&on_2, &w, &facts(Some(node(true)), b()));
        assert_eq!(
            r[0],
            (
                ObjectiveStatus::NotMet,
                "node-2 is cordoned but still runs web-a".into()
            )
        );
        // The web pod evicted (terminating), the DaemonSet's pod left as a drain leaves it.
        let moved = vec![
            pod("web-a", "node-2", "ReplicaSet", "web-1", true),
            pod("web-b", "node-1", "ReplicaSet", "web-1", false),
            pod("web-c", "node-1", "ReplicaSet", "web-1", false),
            pod("agent-x", "node-2", "DaemonSet", "agent", false),
        ];
        let r = eval(&moved, &w, &facts(Some(node(true)), b()));
        assert_eq!(r[0].0, ObjectiveStatus::Met, "{r:?}");
        // The node deleted.
        let r = eval(&moved, &w, &facts(None, b()));
        assert!(r[0].1.contains("there is no node named node-2"), "{r:?}");
    }

    #[test]
    fn a_budget_protects_when_it_selects_the_pods_keeps_one_up_and_allows_a_disruption() {
        let w = web();
        let pods = vec![
            pod("web-a", "node-1", "ReplicaSet", "web-1", false),
            pod("web-b", "node-1", "ReplicaSet", "web-1", false),
        ];
        let sel = json!({"matchLabels": {"app": "web"}});
        let judge = |budgets: Vec<PodDisruptionBudget>| {
            eval(&pods, &w, &facts(Some(node(true)), budgets))[1].clone()
        };
        // The broken state: minAvailable equal to the replicas.
        let r = judge(vec![budget(sel.clone(), 2, 0)]);
        assert_eq!(
            r,
            (
                ObjectiveStatus::NotMet,
                "web allows no disruption: 2 healthy, 2 required".into()
            )
        );
        // Deleted, or loosened until it keeps nothing up.
        assert!(
            judge(vec![])
                .1
                .contains("there is no PodDisruptionBudget named web")
        );
        assert!(
            judge(vec![budget(sel.clone(), 0, 2)])
                .1
                .contains("keeps no pod")
        );
        // Its selector moved off the workload's pods, or dropped.
        let r = judge(vec![budget(json!({"matchLabels": {"app": "api"}}), 1, 1)]);
        assert!(
            r.1.contains("web does not select web-a, web-b of deployment/web"),
            "{r:?}"
        );
        let mut none = budget(sel.clone(), 1, 1);
        none.spec.as_mut().expect("spec").selector = None;
        assert_eq!(judge(vec![none]).0, ObjectiveStatus::NotMet);
        // Edited but not yet counted.
        let mut stale = budget(sel.clone(), 1, 1);
        stale.metadata.generation = Some(3);
        assert!(judge(vec![stale]).1.contains("not been counted"));
        // Being deleted.
        let mut going = budget(sel.clone(), 1, 1);
        going.metadata.deletion_timestamp = Some(from(json!("2026-01-01T00:04:00Z")));
        assert!(judge(vec![going]).1.contains("being deleted"));
        // The fix: one pod may go, one stays.
        assert_eq!(
            judge(vec![budget(sel.clone(), 1, 1)]),
            (
                ObjectiveStatus::Met,
                "web keeps 1 of 2 pods of deployment/web up and allows 1 disruption".into()
            )
        );
        // The workload scaled to zero or deleted: nothing to protect.
        let r = eval(
            &[],
            &w,
            &facts(Some(node(true)), vec![budget(sel.clone(), 1, 1)]),
        );
        assert!(r[1].1.contains("deployment/web has no pods"), "{r:?}");
        let r = eval(
            &pods,
            &Workloads::new(),
            &facts(Some(node(true)), vec![budget(sel, 1, 1)]),
        );
        assert!(r[1].1.contains("there is no deployment named web"), "{r:?}");
    }
}
