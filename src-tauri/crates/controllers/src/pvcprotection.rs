//! The pvc-protection controller (`pkg/controller/volume/pvcprotection/pvc_protection_controller.go`):
//! a deleted claim keeps its `kubernetes.io/pvc-protection` finalizer, and so stays
//! `Terminating`, while a pod scheduled to a node names it among its volumes (`podUsesPVC`);
//! once none does the finalizer goes and the claim with it. A pod the scheduler has not placed
//! does not count (the kubelet never sees it, and will not start a pod on a claim that is being
//! deleted), while a pod that finished does, until it is deleted: its volumes may still be
//! mounted, and the controller does not look at the phase. Pods are looked at through the shared informer cache, as the real
//! controller reads its pod lister (the live re-check it does against the API server is the
//! same store here).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use serde_json::Value;

use crate::kinds;
use crate::reconciler::{Action, Change, ChangeType, Controller, Enqueue};
use crate::shared::Shared;

/// The finalizer this controller removes.
pub(crate) const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";

/// The pvc-protection controller, keyed by claim `namespace/name`.
#[derive(Debug, Default)]
pub(crate) struct PvcProtectionController;

fn claims_of(pod: &Value) -> impl Iterator<Item = &str> {
    pod.pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.pointer("/persistentVolumeClaim/claimName"))
        .filter_map(Value::as_str)
}

/// `podUsesPVC`: the pod is scheduled (`spec.nodeName` set) and one of its volumes is the claim.
fn uses(pod: &Value, ns: &str, name: &str) -> bool {
    kinds::namespace_of(pod) == ns
        && !kinds::str_at(pod, "/spec/nodeName").is_empty()
        && claims_of(pod).any(|c| c == name)
}

/// Does any pod use the claim?
fn in_use(sh: &Shared, ns: &str, name: &str) -> bool {
    sh.pods.values().any(|p| uses(p, ns, name))
}

fn has_finalizer(obj: &Value) -> bool {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| f.iter().any(|f| f == PVC_PROTECTION))
}

impl Controller<Shared> for PvcProtectionController {
    fn name(&self) -> &'static str {
        "pvc-protection"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["persistentvolumeclaims", "pods"]
    }

    fn on_change(&mut self, change: &Change<'_>, _: &mut Shared, queue: &mut Enqueue<'_>) {
        let obj = change.object;
        if change.resource == "pods" {
            // `enqueuePVCs`: only a pod that went, finished or is not scheduled can help a
            // claim lose its finalizer.
            let helps = change.change == ChangeType::Deleted
                || matches!(kinds::str_at(obj, "/status/phase"), "Succeeded" | "Failed")
                || kinds::str_at(obj, "/spec/nodeName").is_empty();
            if helps {
                let ns = kinds::namespace_of(obj);
                for c in claims_of(obj) {
                    queue.key(format!("{ns}/{c}"));
                }
            }
            return;
        }
        if change.change != ChangeType::Deleted
            && obj.pointer("/metadata/deletionTimestamp").is_some()
            && has_finalizer(obj)
        {
            queue.key(change.key());
        }
    }

    fn reconcile(
        &mut self,
        key: &str,
        _: Timestamp,
        sh: &mut Shared,
        _: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let Some((ns, name)) = key.split_once('/') else {
            return Ok(Action::await_change());
        };
        let Some(claim) = sh
            .store
            .get_raw(&kinds::persistentvolumeclaim::KIND, ns, name)
        else {
            return Ok(Action::await_change());
        };
        if claim.pointer("/metadata/deletionTimestamp").is_none()
            || !has_finalizer(&claim)
            || in_use(sh, ns, name)
        {
            return Ok(Action::await_change());
        }
        sh.store
            .update_with::<PersistentVolumeClaim>(ns, name, |c| {
                if let Some(f) = c.metadata.finalizers.as_mut() {
                    f.retain(|f| f != PVC_PROTECTION);
                }
            })?;
        Ok(Action::await_change())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(node: Option<&str>, phase: &str, claim: &str) -> Value {
        let mut p = json!({"metadata": {"name": "p", "namespace": "d"},
            "spec": {"containers": [{"name": "c", "image": "x"}],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]},
            "status": {"phase": phase}});
        if let Some(n) = node {
            p["spec"]["nodeName"] = json!(n);
        }
        p
    }

    #[test]
    fn only_a_scheduled_pod_naming_the_claim_uses_it_whatever_its_phase() {
        assert!(!uses(&pod(None, "Pending", "c"), "d", "c"));
        assert!(uses(&pod(Some("node-1"), "Pending", "c"), "d", "c"));
        assert!(uses(&pod(Some("node-1"), "Running", "c"), "d", "c"));
        assert!(uses(&pod(Some("node-1"), "Succeeded", "c"), "d", "c"));
        assert!(uses(&pod(Some("node-1"), "Failed", "c"), "d", "c"));
        assert!(!uses(&pod(Some("node-1"), "Running", "other"), "d", "c"));
        assert!(!uses(
            &pod(Some("node-1"), "Running", "c"),
            "elsewhere",
            "c"
        ));
    }
}
