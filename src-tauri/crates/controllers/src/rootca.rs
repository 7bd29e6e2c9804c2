//! The root CA publisher: every live namespace has the `kube-root-ca.crt` ConfigMap with the
//! cluster's CA bundle (kube-controller-manager's `root-ca-cert-publisher`,
//! `pkg/controller/certificates/rootcacertpublisher`).
//!
//! Like the service account controller it acts before a namespace's create returns, and puts
//! the ConfigMap back at once when a learner deletes it.

use std::sync::Arc;

use serde_json::json;

use crate::kinds;
use crate::reconciler::{Action, Change, ChangeType, Controller, Enqueue};
use crate::serviceaccount::live;
use crate::store::{Store, WriteOptions};

/// The ConfigMap's name.
const NAME: &str = "kube-root-ca.crt";
/// The ConfigMap's `kubernetes.io/description`, as the publisher writes it.
const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// The root CA publisher, keyed by namespace name.
#[derive(Debug, Default)]
pub(crate) struct RootCaPublisher;

impl Controller<Arc<Store>> for RootCaPublisher {
    fn name(&self) -> &'static str {
        "root-ca-cert-publisher"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["namespaces", "configmaps"]
    }

    fn on_change(&mut self, change: &Change<'_>, _: &mut Arc<Store>, queue: &mut Enqueue<'_>) {
        match (change.resource, change.change) {
            ("namespaces", ChangeType::Added | ChangeType::Modified) => queue.key(change.key()),
            ("configmaps", ChangeType::Deleted) if kinds::name_of(change.object) == NAME => {
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
        if live(store, ns) && store.get_raw(&kinds::configmap::KIND, ns, NAME).is_none() {
            // A create that loses a race to another writer is as good as done.
            let _ = store.create(
                &kinds::configmap::KIND,
                ns,
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": NAME, "annotations": {"kubernetes.io/description": DESCRIPTION}},
                    "data": {"ca.crt": store.ca_pem()}}),
                &WriteOptions::default(),
            );
        }
        Ok(Action::await_change())
    }
}
