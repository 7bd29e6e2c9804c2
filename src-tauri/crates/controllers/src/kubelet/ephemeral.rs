//! Ephemeral containers (`kubectl debug`): containers added to a running pod through its
//! `ephemeralcontainers` subresource. The kubelet starts each one once, like an app container
//! (pull, `Created`, `Started` events, with the field path
//! `spec.ephemeralContainers{name}`), never restarts it, and reports it in
//! `ephemeralContainerStatuses` (always `ready: false`) instead of `containerStatuses`; it
//! counts neither towards the pod's phase nor its readiness. Kubernetes keeps this in
//! `kuberuntime_manager.go` (`computePodActions` starts ephemeral containers not yet started,
//! after the app containers) and `kubelet_pods.go` (`convertToAPIContainerStatuses` for the
//! ephemeral list).
//!
//! Each ephemeral container is one more [`Ctr`] of the pod's worker, marked `ephemeral`, so
//! everything that finds a container by name (logs, exec, attach) finds it too.

use k8s_openapi::api::core::v1::{Container, PodSpec};
use serde_json::{Value, json};

use super::container::Ctr;
use super::status::container_status;

/// Add a [`Ctr`] for each ephemeral container of `spec` the worker does not know yet. The API
/// server refuses changes to existing ones, so a known name needs nothing.
pub(super) fn add_new(ctrs: &mut Vec<Ctr>, spec: &PodSpec) {
    for ec in spec.ephemeral_containers.iter().flatten() {
        if ctrs.iter().any(|c| c.spec.name == ec.name) {
            continue;
        }
        // An EphemeralContainer is a Container's fields plus `targetContainerName` (which
        // only picks the process namespace to share): the same JSON read as a Container.
        let container = serde_json::to_value(ec)
            .ok()
            .and_then(|mut v| {
                if let Some(o) = v.as_object_mut() {
                    o.remove("targetContainerName");
                }
                serde_json::from_value::<Container>(v).ok()
            })
            .unwrap_or_else(|| Container {
                name: ec.name.clone(),
                image: ec.image.clone(),
                ..Container::default()
            });
        let mut c = Ctr::new(container, false);
        c.ephemeral = true;
        ctrs.push(c);
    }
}

/// `ephemeralContainerStatuses`, or `None` when the pod has no ephemeral container.
pub(super) fn statuses(ctrs: &[Ctr]) -> Option<Value> {
    let list: Vec<Value> = ctrs
        .iter()
        .filter(|c| c.ephemeral)
        .map(|c| {
            let mut s = container_status(c, false);
            // Ephemeral containers have no readiness (no probes): the kubelet reports false.
            s["ready"] = json!(false);
            s
        })
        .collect();
    (!list.is_empty()).then_some(Value::Array(list))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{EphemeralContainer, PodSpec};

    use super::*;

    fn spec(names: &[&str]) -> PodSpec {
        PodSpec {
            containers: vec![Container {
                name: "app".into(),
                image: Some("nginx".into()),
                ..Container::default()
            }],
            ephemeral_containers: Some(
                names
                    .iter()
                    .map(|n| EphemeralContainer {
                        name: (*n).into(),
                        image: Some("busybox".into()),
                        target_container_name: Some("app".into()),
                        tty: Some(true),
                        ..EphemeralContainer::default()
                    })
                    .collect(),
            ),
            ..PodSpec::default()
        }
    }

    #[test]
    fn each_debug_container_is_added_once() {
        let mut ctrs = vec![Ctr::new(spec(&[]).containers[0].clone(), false)];
        add_new(&mut ctrs, &spec(&["debugger-a"]));
        add_new(&mut ctrs, &spec(&["debugger-a", "debugger-b"]));
        let names: Vec<(&str, bool)> = ctrs.iter().map(|c| (c.name(), c.ephemeral)).collect();
        assert_eq!(
            names,
            vec![("app", false), ("debugger-a", true), ("debugger-b", true)]
        );
        assert_eq!(ctrs[1].spec.tty, Some(true));
        assert_eq!(ctrs[1].field_path(), "spec.ephemeralContainers{debugger-a}");
        let list = statuses(&ctrs).unwrap_or_default();
        assert_eq!(list[0]["name"], "debugger-a");
        assert_eq!(list[0]["ready"], false);
        assert_eq!(list[0]["state"]["waiting"]["reason"], "ContainerCreating");
        assert!(statuses(&ctrs[..1]).is_none());
    }
}
