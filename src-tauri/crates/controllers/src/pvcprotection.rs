//! The pvc-protection controller (`pkg/controller/volume/pvcprotection/pvc_protection_controller.go`):
//! a deleted claim keeps its `kubernetes.io/pvc-protection` finalizer, and so stays
//! `Terminating`, while a pod that has not finished uses it; once none does the finalizer goes
//! and the claim with it. Pods are looked at through the shared informer cache, as the real
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

/// Does a pod that has not finished use the claim (`podUsesPVC`, terminal pods excluded)?
fn in_use(sh: &Shared, ns: &str, name: &str) -> bool {
    sh.pods.values().any(|p| {
        kinds::namespace_of(p) == ns
            && !matches!(kinds::str_at(p, "/status/phase"), "Succeeded" | "Failed")
            && claims_of(p).any(|c| c == name)
    })
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
            // A pod that went (or finished) may free its claims.
            let done = change.change == ChangeType::Deleted
                || matches!(kinds::str_at(obj, "/status/phase"), "Succeeded" | "Failed");
            if done {
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
