//! The service account controller: every live namespace has a `default` ServiceAccount
//! (kube-controller-manager's `serviceaccount` controller,
//! `pkg/controller/serviceaccount/serviceaccounts_controller.go`).
//!
//! A namespace gets its account the moment it is created (the API server hands the change to
//! the control plane before the create returns, so a pod created right after is admitted),
//! and a learner who deletes it sees it come back at once.

use std::sync::Arc;

use serde_json::json;

use crate::kinds;
use crate::reconciler::{Action, Change, ChangeType, Controller, Enqueue};
use crate::store::{Store, WriteOptions};

/// The account every namespace gets.
const DEFAULT: &str = "default";

/// Whether namespace `ns` exists and is not being deleted.
pub(crate) fn live(store: &Store, ns: &str) -> bool {
    store
        .get_raw(&kinds::namespace::KIND, "", ns)
        .is_some_and(|n| n.pointer("/metadata/deletionTimestamp").is_none())
}

/// The service account controller, keyed by namespace name.
#[derive(Debug, Default)]
pub(crate) struct ServiceAccountController;

impl Controller<Arc<Store>> for ServiceAccountController {
    fn name(&self) -> &'static str {
        "serviceaccount"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["namespaces", "serviceaccounts"]
    }

    fn on_change(&mut self, change: &Change<'_>, _: &mut Arc<Store>, queue: &mut Enqueue<'_>) {
        match (change.resource, change.change) {
            ("namespaces", ChangeType::Added | ChangeType::Modified) => queue.key(change.key()),
            ("serviceaccounts", ChangeType::Deleted)
                if kinds::name_of(change.object) == DEFAULT =>
            {
                queue.key(kinds::namespace_of(change.object));
            }
            _ => {}
        }
    }

    fn reconcile(
        &mut self,
        ns: &str,
        _: jiff::Timestamp,
        store: &mut Arc<Store>,
        _: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        if live(store, ns)
            && store
                .get_raw(&kinds::serviceaccount::KIND, ns, DEFAULT)
                .is_none()
        {
            // A create that loses a race to another writer is as good as done.
            let _ = store.create(
                &kinds::serviceaccount::KIND,
                ns,
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": DEFAULT}}),
                &WriteOptions::default(),
            );
        }
        Ok(Action::await_change())
    }
}
