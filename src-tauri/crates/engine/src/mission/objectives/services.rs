//! The `service-endpoints` check: ready endpoints from the Service's EndpointSlices, and why
//! there are too few in the words a learner would reach the answer with.

use super::*;

/// `n endpoint` / `n endpoints`.
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `service-endpoints`: count the ready endpoints the Service's EndpointSlices list and, when
/// there are too few, say why in the words a learner would reach the answer with (the
/// selector matching no pod, pods that are not ready, a named targetPort no container has).
/// With a `workload`, only endpoints whose target is a live pod of that workload count.
pub(super) fn service_endpoints(
    snap: &Snapshot<'_>,
    objects: &ServiceObjects,
    service: &str,
    min_ready: u32,
    workload: Option<(&WorkloadRef, &Workloads)>,
) -> (ObjectiveStatus, String) {
    let Some(svc) = objects.service(service) else {
        return not_met(format!(
            "there is no service named {service} (deleting it is not a fix)"
        ));
    };
    if svc.metadata.deletion_timestamp.is_some() {
        return not_met(format!("{service} is being deleted"));
    }
    let spec = svc.spec.clone().unwrap_or_default();
    let has_ports = spec.ports.as_ref().is_some_and(|p| !p.is_empty());
    let mut ready: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut ready_without_port = 0usize;
    // The workload's live pods, by name, when only they may count.
    let own: Option<std::collections::BTreeSet<String>> = workload.map(|(w, workloads)| {
        workloads
            .live_pods_of(w.kind, &w.name, snap.pods)
            .into_iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect()
    });
    let mut foreign = 0usize;
    for slice in objects.slices_iter().filter(|s| {
        s.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kubernetes.io/service-name"))
            .map(String::as_str)
            == Some(service)
    }) {
        let with_ports = !has_ports || slice.ports.as_ref().is_some_and(|p| !p.is_empty());
        for ep in &slice.endpoints {
            // An unset `ready` means ready (discovery/v1's contract).
            let is_ready = ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
            if !is_ready {
                continue;
            }
            if let Some(own) = &own {
                let target = ep
                    .target_ref
                    .as_ref()
                    .filter(|t| t.kind.as_deref() == Some("Pod"))
                    .and_then(|t| t.name.as_deref());
                if !target.is_some_and(|n| own.contains(n)) {
                    foreign += 1;
                    continue;
                }
            }
            if with_ports {
                ready.extend(ep.addresses.iter().take(1).cloned());
            } else {
                ready_without_port += 1;
            }
        }
    }
    let n = ready.len();
    let wanted = usize::try_from(min_ready).unwrap_or(usize::MAX);
    if n >= wanted {
        return met(format!("{service} has {}", plural(n, "ready endpoint")));
    }
    if foreign > 0
        && let Some((w, _)) = workload
    {
        return not_met(format!(
            "{service} has {} of {w}, {wanted} wanted ({} of other pods)",
            plural(n, "ready endpoint"),
            plural(foreign, "ready endpoint")
        ));
    }
    let head = if n == 0 {
        format!("{service} has no ready endpoints")
    } else {
        format!(
            "{service} has {}, {wanted} wanted",
            plural(n, "ready endpoint")
        )
    };
    let selector = spec.selector.unwrap_or_default();
    if selector.is_empty() {
        return not_met(format!(
            "{head} (it has no selector, so no controller fills its endpoints)"
        ));
    }
    let selector_text = selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let matching: Vec<&Pod> = snap
        .pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Succeeded" | "Failed"))
        })
        .filter(|p| {
            let labels = p.metadata.labels.clone().unwrap_or_default();
            selector.iter().all(|(k, v)| labels.get(k) == Some(v))
        })
        .collect();
    let ready_pods = matching
        .iter()
        .filter(|p| condition(p, "Ready").is_some_and(|c| c.status == "True"))
        .count();
    let why = if matching.is_empty() {
        format!("selector {selector_text} matches 0 pods")
    } else if ready_pods == 0 {
        if matching.len() == 1 {
            "1 pod matches but is not ready".to_string()
        } else {
            format!("{} pods match but none is ready", matching.len())
        }
    } else if ready_without_port > 0 {
        let named = spec
            .ports
            .iter()
            .flatten()
            .find_map(|p| match &p.target_port {
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s)) => {
                    Some(s.clone())
                }
                _ => None,
            })
            .unwrap_or_default();
        format!("targetPort {named} names no container port of the matching pods")
    } else {
        format!(
            "{ready_pods} of {} ready; the endpoints have not caught up yet",
            plural(matching.len(), "matching pod")
        )
    };
    not_met(format!("{head} ({why})"))
}
