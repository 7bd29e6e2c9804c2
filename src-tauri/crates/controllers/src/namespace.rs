//! The namespace controller: a deleted namespace is emptied, then removed
//! (kube-controller-manager's `namespace` controller, `pkg/controller/namespace`'s
//! `NamespacedResourcesDeleter`).
//!
//! Deleting a namespace through the API only marks it `Terminating`; this controller deletes
//! everything in it and, once a pass finds it empty, finalizes it (the apiserver then removes
//! it). It waits a moment before the first pass so clients see the Terminating phase, as on a
//! real cluster, and retries every 100 ms while objects remain (terminating pods waiting for
//! their kubelet, finalizers). Pods that have no kubelet to finish them are finalized here.

use std::sync::Arc;
use std::time::Duration;

use kq_apiserver::kinds::DeleteStrategy;
use kq_apiserver::store::DeleteOptions;

use crate::kinds;
use crate::reconciler::{Action, Change, ChangeType, Controller, Enqueue};
use crate::store::Store;

/// Before the first pass: clients see the Terminating phase for a moment.
const FIRST_PASS: Duration = Duration::from_millis(150);
/// Between passes while objects remain.
const RETRY: Duration = Duration::from_millis(100);

/// The namespace controller, keyed by namespace name.
#[derive(Debug, Default)]
pub(crate) struct NamespaceController;

impl Controller<Arc<Store>> for NamespaceController {
    fn name(&self) -> &'static str {
        "namespace"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["namespaces"]
    }

    fn on_change(&mut self, change: &Change<'_>, _: &mut Arc<Store>, queue: &mut Enqueue<'_>) {
        if change.change != ChangeType::Deleted
            && change
                .object
                .pointer("/metadata/deletionTimestamp")
                .is_some()
        {
            let at = crate::queue::at_after(queue.now(), FIRST_PASS);
            queue.key_at(change.key(), at);
        }
    }

    /// One pass over everything in the namespace: delete what is not terminating yet, finish
    /// pods no kubelet will finish, and finalize the namespace once a pass finds it empty.
    fn reconcile(
        &mut self,
        ns: &str,
        _: jiff::Timestamp,
        store: &mut Arc<Store>,
        _: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let terminating = store
            .get_raw(&kinds::namespace::KIND, "", ns)
            .is_some_and(|n| n.pointer("/metadata/deletionTimestamp").is_some());
        if !terminating {
            return Ok(Action::await_change());
        }
        let mut remaining = 0;
        for kind in kinds::ALL.iter().copied().filter(|k| k.namespaced) {
            for obj in store.list_raw(kind, Some(ns)) {
                remaining += 1;
                if obj.pointer("/metadata/deletionTimestamp").is_none() {
                    // The namespace controller's deletes propagate in the background, so a
                    // Job's default (orphan) never holds the namespace.
                    let opts = DeleteOptions {
                        grace_period_seconds: Some(0),
                        propagation_policy: Some("Background".into()),
                        ..Default::default()
                    };
                    let _ = store.delete(kind, ns, kinds::name_of(&obj), &opts);
                } else if kind.hooks.delete_strategy() == DeleteStrategy::Graceful
                    && !store.kubelet_attached()
                {
                    let _ = store.finalize_pod_deletion(
                        ns,
                        kinds::name_of(&obj),
                        kinds::str_at(&obj, "/metadata/uid"),
                    );
                }
            }
        }
        if remaining == 0 {
            let _ = store.finalize_namespace(ns);
            return Ok(Action::await_change());
        }
        Ok(Action::requeue(RETRY))
    }
}
