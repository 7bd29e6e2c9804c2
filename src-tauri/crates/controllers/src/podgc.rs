//! Pod termination with no kubelet: a gracefully deleted pod is finished here while no
//! kubelet is attached to the store (a cluster started without its scheduler and kubelets,
//! where tests play the node's part). Kubernetes' nearest relative is the pod garbage
//! collector (`pkg/controller/podgc`), which force-deletes terminating pods no kubelet will
//! finish; once a kubelet is attached this controller does nothing.
//!
//! A pod with no running container is finished at once (nothing to stop), before its delete
//! returns; otherwise after a moment (simulated processes stop on SIGTERM straight away),
//! never later than the grace period, measured on the wall clock as the cluster's speed
//! turns it into real time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::kinds;
use crate::reconciler::{Action, Change, ChangeType, Controller, Enqueue};
use crate::store::Store;

/// The pod garbage collector for a store with no kubelet, keyed by pod uid.
#[derive(Debug, Default)]
pub(crate) struct PodGc {
    /// Terminating pods seen: uid → (namespace, name, grace period asked for).
    terminating: HashMap<String, (String, String, i64)>,
}

impl Controller<Arc<Store>> for PodGc {
    fn name(&self) -> &'static str {
        "pod-garbage-collector"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["pods"]
    }

    fn on_change(&mut self, change: &Change<'_>, store: &mut Arc<Store>, queue: &mut Enqueue<'_>) {
        let pod = change.object;
        let uid = kinds::str_at(pod, "/metadata/uid").to_string();
        if change.change == ChangeType::Deleted {
            self.terminating.remove(&uid);
            return;
        }
        let grace = pod
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(serde_json::Value::as_i64);
        let Some(grace) = grace.filter(|g| *g > 0) else {
            return;
        };
        if pod.pointer("/metadata/deletionTimestamp").is_none() || store.kubelet_attached() {
            return;
        }
        // Only a new delete (the first, or one with a shorter grace period) starts the wait.
        if self
            .terminating
            .get(&uid)
            .is_some_and(|(_, _, seen)| *seen == grace)
        {
            return;
        }
        let (ns, name) = (kinds::namespace_of(pod), kinds::name_of(pod));
        self.terminating
            .insert(uid.clone(), (ns.to_string(), name.to_string(), grace));
        let running = pod
            .pointer("/status/containerStatuses")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|cs| cs.iter().any(|c| c.pointer("/state/running").is_some()));
        if !running {
            queue.key(uid);
            return;
        }
        let grace = Duration::from_secs(u64::try_from(grace).unwrap_or(0));
        let wait = store
            .clock()
            .real_duration(grace.min(Duration::from_secs(1)));
        let at = crate::queue::at_after(queue.now(), wait);
        queue.key_at(uid, at);
    }

    fn reconcile(
        &mut self,
        uid: &str,
        _: jiff::Timestamp,
        store: &mut Arc<Store>,
        _: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        if let Some((ns, name, _)) = self.terminating.get(uid)
            && !store.kubelet_attached()
        {
            let _ = store.finalize_pod_deletion(ns, name, uid);
        }
        Ok(Action::await_change())
    }
}
