//! The PersistentVolumeClaims a pod waits for, and what their own events say.
//!
//! A pod the scheduler holds back for its claims (`pod has unbound immediate
//! PersistentVolumeClaims`) carries no clue about *why* the claim is unbound: that is on the
//! claim, in the persistent-volume controller's events (`pkg/controller/volume/persistentvolume/
//! pv_controller.go`: `ProvisioningFailed` `storageclass.storage.k8s.io "fast" not found`,
//! `FailedBinding` `no persistent volumes available for this claim and no storage class is
//! set`). `kubectl describe pvc` shows them; the pod's diagnosis quotes the latest one, a
//! Warning before a Normal.

use k8s_openapi::api::core::v1::{Event, Pod};

use super::events::PodEvent;

/// The claims named in the pod's `volumes`, in spec order.
pub fn pod_claims(pod: &Pod) -> Vec<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_deref())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.persistent_volume_claim.as_ref())
        .map(|c| c.claim_name.as_str())
        .collect()
}

/// Whether an event is about one of the claims the pod mounts (so the pod's pipeline, which
/// quotes it, is rebuilt when it arrives).
pub fn is_about_claim_of(e: &Event, pod: &Pod) -> bool {
    let o = &e.involved_object;
    o.kind.as_deref() == Some("PersistentVolumeClaim")
        && o.namespace.is_some()
        && o.namespace == pod.metadata.namespace
        && o.name
            .as_deref()
            .is_some_and(|n| pod_claims(pod).contains(&n))
}

/// The message of the latest event about one of the pod's claims (Warnings first).
pub fn claim_event(pod: &Pod, events: &[Event]) -> Option<String> {
    let latest = |warning: bool| {
        events
            .iter()
            .filter(|e| is_about_claim_of(e, pod))
            .filter(|e| (e.type_.as_deref() == Some("Warning")) == warning)
            .map(PodEvent::from_event)
            .max_by_key(|e| e.last_seen)
    };
    latest(true).or_else(|| latest(false)).map(|e| e.message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_claims_warning_wins_over_its_normal_events_and_other_claims_do_not_count() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "db-0", "namespace": "kq-pvc", "uid": "u1"},
            "spec": {"containers": [{"name": "db", "image": "postgres:16"}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}
        }))
        .expect("pod fixture");
        let event = |name: &str, type_: &str, reason: &str, message: &str, at: &str| -> Event {
            serde_json::from_value(json!({
                "metadata": {"name": format!("{name}.1"), "namespace": "kq-pvc"},
                "involvedObject": {"kind": "PersistentVolumeClaim", "namespace": "kq-pvc",
                                   "name": name},
                "type": type_, "reason": reason, "message": message,
                "count": 1, "lastTimestamp": at
            }))
            .expect("event fixture")
        };
        let events = [
            event(
                "data",
                "Warning",
                "ProvisioningFailed",
                "storageclass.storage.k8s.io \"fast\" not found",
                "2026-01-01T00:00:05Z",
            ),
            event(
                "data",
                "Normal",
                "ExternalProvisioning",
                "Waiting for a volume to be created",
                "2026-01-01T00:00:09Z",
            ),
            event(
                "other",
                "Warning",
                "ProvisioningFailed",
                "storageclass.storage.k8s.io \"slow\" not found",
                "2026-01-01T00:00:10Z",
            ),
        ];
        assert_eq!(pod_claims(&pod), ["data"]);
        assert_eq!(
            claim_event(&pod, &events).as_deref(),
            Some("storageclass.storage.k8s.io \"fast\" not found")
        );
        assert_eq!(
            claim_event(&pod, &events[1..2]).as_deref(),
            Some("Waiting for a volume to be created")
        );
        assert_eq!(
            claim_event(&pod, &events[2..]),
            None,
            "another claim's event"
        );
    }
}
