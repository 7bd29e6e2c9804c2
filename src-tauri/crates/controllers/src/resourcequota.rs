//! The resource quota controller: every ResourceQuota's `status.hard` follows its
//! `spec.hard`, and `status.used` is recounted from what its namespace holds when the quota
//! is created or its limits change, when a charged object is deleted or a pod finishes
//! (replenishment), and every five minutes. The ResourceQuota admission plug-in charges
//! creates as they happen; this controller gives back what deletions free, so a learner who
//! deletes a pod sees `used` drop and the ReplicaSet's next create admitted.
//!
//! Kubernetes: `pkg/controller/resourcequota/resource_quota_controller.go` (`syncResourceQuota`,
//! the `addQuota`/`updateQuota` filters) and `resource_quota_monitor.go` (replenishment on
//! deletes and on pods reaching a terminal phase); the counting is `kinds::resourcequota`.

use std::time::Duration;

use crate::kinds::{self, resourcequota as rq};
use crate::reconciler::{Action, Change, ChangeType, Controller, Enqueue};
use crate::shared::Shared;
use crate::store::WriteOptions;
use jiff::Timestamp;

/// kube-controller-manager's `--resource-quota-sync-period` default.
const FULL_RESYNC: Duration = Duration::from_secs(5 * 60);

/// The resource quota controller, keyed by quota `namespace/name`.
#[derive(Debug, Default)]
pub(crate) struct ResourceQuotaController;

/// Does this change free something a quota counts (`resource_quota_monitor`'s
/// replenishment: deletions, and pods that reached a terminal phase)?
fn replenishes(change: &Change<'_>) -> bool {
    match change.change {
        ChangeType::Deleted => true,
        ChangeType::Modified if change.resource == "pods" => matches!(
            kinds::str_at(change.object, "/status/phase"),
            "Succeeded" | "Failed"
        ),
        _ => false,
    }
}

impl Controller<Shared> for ResourceQuotaController {
    fn name(&self) -> &'static str {
        "resourcequota"
    }

    fn watches(&self) -> &'static [&'static str] {
        &[
            "resourcequotas",
            "pods",
            "services",
            "persistentvolumeclaims",
            "configmaps",
            "secrets",
            "apps/deployments",
            "apps/replicasets",
            "apps/statefulsets",
            "apps/daemonsets",
            "batch/jobs",
            "batch/cronjobs",
        ]
    }

    fn on_change(&mut self, change: &Change<'_>, ctx: &mut Shared, queue: &mut Enqueue<'_>) {
        let obj = change.object;
        if change.resource == "resourcequotas" {
            match change.change {
                // A status-only write (the admission plug-in's charge) needs no recount.
                ChangeType::Added => queue.key(change.key()),
                ChangeType::Modified => {
                    if obj.pointer("/spec/hard") != obj.pointer("/status/hard") {
                        queue.key(change.key());
                    }
                }
                ChangeType::Deleted => queue.remove(change.key()),
            }
            return;
        }
        if !replenishes(change) {
            return;
        }
        let ns = kinds::namespace_of(obj);
        for q in ctx.store.list_raw(&kinds::resourcequota::KIND, Some(ns)) {
            queue.key(format!("{ns}/{}", kinds::name_of(&q)));
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
        let Some(quota) = ctx.store.get_raw(&kinds::resourcequota::KIND, ns, name) else {
            return Ok(Action::await_change());
        };
        let hard = rq::list_json(&rq::list_of(quota.pointer("/spec/hard")));
        let used = rq::list_json(&rq::calculate_used(&ctx.store, &quota, now));
        let status = serde_json::json!({"hard": hard, "used": used});
        if quota.get("status") != Some(&status) {
            let mut updated = (*quota).clone();
            updated["status"] = status;
            let mut opts = WriteOptions::default();
            opts.field_manager = Some("kube-controller-manager".into());
            // A conflict (admission charged the quota meanwhile) is retried on the back-off.
            ctx.store
                .replace(&kinds::resourcequota::KIND, ns, name, updated, &opts, true)?;
        }
        Ok(Action::requeue(FULL_RESYNC))
    }
}

/// A quota's `status.used`, for tests.
#[cfg(test)]
fn used_of(v: &serde_json::Value) -> serde_json::Value {
    v.pointer("/status/used").cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::clock::Clock;
    use crate::store::{DeleteOptions, Store};

    fn shared() -> Shared {
        let store = Store::new(Arc::new(Clock::new(0.0)), String::new(), 100);
        store
            .create(
                &kinds::namespace::KIND,
                "",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "q"}}),
                &WriteOptions::default(),
            )
            .expect("namespace");
        store
            .create(
                &kinds::serviceaccount::KIND,
                "q",
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}),
                &WriteOptions::default(),
            )
            .expect("service account");
        Shared {
            store,
            rng: crate::shared::Rng::new(1),
            recorder: Default::default(),
            pods: Default::default(),
            nodes: vec![],
        }
    }

    fn reconcile(sh: &mut Shared) -> serde_json::Value {
        let mut runner = crate::Runner::new();
        runner.register(ResourceQuotaController);
        let now = sh.store.clock().now();
        runner.enqueue("resourcequota", "q/rq", now);
        assert_eq!(runner.run_due(now, sh), 1);
        (*sh.store
            .get_raw(&kinds::resourcequota::KIND, "q", "rq")
            .unwrap())
        .clone()
    }

    #[test]
    fn status_follows_spec_and_counts_what_the_namespace_holds() {
        let mut sh = shared();
        let pod = |name: &str| {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"containers": [{"name": "c", "image": "nginx",
                    "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}]}})
        };
        for n in ["a", "b"] {
            sh.store
                .create(&kinds::pod::KIND, "q", pod(n), &WriteOptions::default())
                .expect("pod");
        }
        sh.store
            .create(
                &kinds::resourcequota::KIND,
                "q",
                json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "rq"},
                    "spec": {"hard": {"pods": "5", "requests.cpu": "2", "requests.memory": "1Gi", "configmaps": "3"}}}),
                &WriteOptions::default(),
            )
            .expect("quota");
        let q = reconcile(&mut sh);
        assert_eq!(
            q["status"]["hard"],
            json!({"configmaps": "3", "pods": "5", "requests.cpu": "2", "requests.memory": "1Gi"})
        );
        assert_eq!(
            used_of(&q),
            json!({"configmaps": "0", "pods": "2", "requests.cpu": "500m", "requests.memory": "128Mi"})
        );
        sh.store
            .delete(
                &kinds::pod::KIND,
                "q",
                "a",
                &DeleteOptions {
                    grace_period_seconds: Some(0),
                    ..DeleteOptions::default()
                },
            )
            .expect("deleted");
        let q = reconcile(&mut sh);
        assert_eq!(used_of(&q)["pods"], "1");
        assert_eq!(used_of(&q)["requests.cpu"], "250m");
    }
}
