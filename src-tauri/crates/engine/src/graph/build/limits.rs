//! The namespace's ResourceQuotas and LimitRanges, and the workloads whose pods they refuse.

use super::*;

/// `pods: 2/2, requests.cpu: 500m/1`, as `kubectl get quota` shows used/hard.
fn quota_summary(q: &k8s_openapi::api::core::v1::ResourceQuota) -> String {
    let status = q.status.clone().unwrap_or_default();
    let hard = status
        .hard
        .or_else(|| q.spec.as_ref().and_then(|s| s.hard.clone()))
        .unwrap_or_default();
    let used = status.used.unwrap_or_default();
    hard.iter()
        .map(|(k, h)| {
            let u = used.get(k).map_or("0", |q| q.0.as_str());
            format!("{k}: {u}/{}", h.0)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn limit_range_summary(l: &k8s_openapi::api::core::v1::LimitRange) -> String {
    let mut parts = Vec::new();
    for item in l.spec.iter().flat_map(|s| s.limits.iter()) {
        let mut bits = Vec::new();
        for (what, map) in [
            ("max", &item.max),
            ("min", &item.min),
            ("default", &item.default),
            ("default request", &item.default_request),
        ] {
            if let Some(m) = map
                && !m.is_empty()
            {
                let values: Vec<String> = m.iter().map(|(k, v)| format!("{k} {}", v.0)).collect();
                bits.push(format!("{what} {}", values.join(", ")));
            }
        }
        if !bits.is_empty() {
            parts.push(format!("{}: {}", item.type_, bits.join("; ")));
        }
    }
    parts.join("; ")
}

/// The quota a refusal names: `exceeded quota: compute, requested: …`, `failed quota: compute:
/// must specify …`.
fn quota_named(message: &str) -> Option<&str> {
    if let Some((_, rest)) = message.split_once("exceeded quota: ") {
        return rest.split(',').next().map(str::trim);
    }
    if let Some((_, rest)) = message.split_once("failed quota: ") {
        return rest.split(':').next().map(str::trim);
    }
    None
}

/// Whether a refusal is the LimitRanger's (`maximum cpu usage per Container is 500m, but
/// limit is 1`).
fn limit_range_refusal(message: &str) -> bool {
    message.contains("forbidden")
        && (message.contains(" usage per ") || message.contains("limit to request ratio per "))
}

/// ResourceQuotas and LimitRanges, with an edge to each workload and a broken one to the
/// object whose pods they refuse.
pub(super) fn limits(b: &mut Builder<'_>, refusals: &[(String, String)]) {
    let ns = b.ns();
    let src = b.src;
    let targets: Vec<String> = b
        .nodes
        .values()
        .filter(|n| {
            matches!(
                n.kind,
                GraphKind::Deployment
                    | GraphKind::StatefulSet
                    | GraphKind::DaemonSet
                    | GraphKind::CronJob
            ) || (n.kind == GraphKind::Job
                && !b
                    .edges
                    .iter()
                    .any(|e| e.to == n.id && e.relation == Relation::Owns))
                || (n.kind == GraphKind::ReplicaSet
                    && !b
                        .edges
                        .iter()
                        .any(|e| e.to == n.id && e.relation == Relation::Owns))
        })
        .map(|n| n.id.clone())
        .collect();
    for (kind, object_kind) in [
        (GraphKind::ResourceQuota, ObjectKind::ResourceQuota),
        (GraphKind::LimitRange, ObjectKind::LimitRange),
    ] {
        let Some(list) = src.objects.of(object_kind) else {
            continue;
        };
        for o in list {
            let name = o.name().to_owned();
            let (summary, refused): (String, Vec<&(String, String)>) = match o {
                NsObject::ResourceQuota(q) => (
                    quota_summary(q),
                    refusals
                        .iter()
                        .filter(|(_, m)| quota_named(m) == Some(name.as_str()))
                        .collect(),
                ),
                NsObject::LimitRange(l) => (
                    limit_range_summary(l),
                    refusals
                        .iter()
                        .filter(|(_, m)| limit_range_refusal(m))
                        .collect(),
                ),
                _ => continue,
            };
            let health = if o.meta().deletion_timestamp.is_some() {
                Health::Terminating
            } else if refused.is_empty() {
                Health::Ok
            } else {
                Health::Broken
            };
            let node = b.node(kind, &name, o.meta().uid.as_deref(), health);
            node.summary = summary;
            node.evidence = refused.iter().map(|(_, m)| m.clone()).collect();
            node.commands = vec![command(
                if kind == GraphKind::ResourceQuota {
                    "what is used of each limit"
                } else {
                    "the limits and defaults it sets"
                },
                format!("kubectl describe {} {name} -n {ns}", resource(kind)),
            )];
            let id = node.id.clone();
            for (target, message) in &refused {
                b.edge(
                    id.clone(),
                    target.clone(),
                    Relation::Limits,
                    Some(message.clone()),
                );
            }
            for t in &targets {
                b.edge(id.clone(), t.clone(), Relation::Limits, None);
            }
        }
    }
}
