//! The EndpointSlice controller: for every Service with a selector, the EndpointSlices that
//! list the pods it routes to, as kube-controller-manager's `endpointslice-controller` keeps
//! them (`staging/src/k8s.io/endpointslice/{reconciler,utils}.go`,
//! `pkg/controller/endpointslice/endpointslice_controller.go`, and
//! `endpointslice/util/controller_utils.go` for which pods count).
//!
//! What a slice holds:
//! * one endpoint per selected pod that has an IP and is not finished (Succeeded/Failed),
//!   with `ready = publishNotReadyAddresses || (podReady && !terminating)`,
//!   `serving = podReady`, `terminating = deletionTimestamp set`, the pod as `targetRef`, its
//!   node, its zone (the node's `topology.kubernetes.io/zone`) and a hostname when the pod's
//!   subdomain names the Service;
//! * the Service's ports resolved per pod (`FindPort`): a numeric targetPort as is, a named
//!   one through the first container port of that name and protocol; a pod whose container
//!   lacks the name loses that port, so pods with different resolved port sets land in
//!   different slices;
//! * at most 100 endpoints; with no endpoint at all one placeholder slice with no ports and
//!   no endpoints, which kubectl shows as `<unset>`.
//!
//! Slices are named `<service>-<5 random chars>` (generateName), labelled with the Service's
//! labels plus `kubernetes.io/service-name`, `endpointslice.kubernetes.io/managed-by` and, for
//! a headless Service, `service.kubernetes.io/headless`, and controlled by the Service, so the
//! garbage collector removes them with it. ExternalName Services and Services without a
//! selector are left alone (their slices, if any, belong to someone else).
//!
//! The controller hears about Services, pods and its own slices; any pod change in a
//! namespace re-syncs that namespace's Services, which is exact (a pod whose labels stop
//! matching leaves the slice) and cheap at a learner's scale. A sync writes only when what it
//! computed differs from what is stored, so its own writes come back as no-ops.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::kinds::{self, ResourceKind};
use crate::reconciler::{Action, Change, Controller, Enqueue};
use crate::shared::Shared;
use crate::store::{DeleteOptions, WriteOptions};
use crate::workload;

/// The label naming the Service a slice belongs to.
pub(crate) const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// The label naming who manages a slice.
pub(crate) const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// This controller's value of [`MANAGED_BY_LABEL`].
pub(crate) const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
/// The label a headless Service's slices and Endpoints carry (empty value).
pub(crate) const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";
/// The annotation with the moment of the change that led to the last write.
pub(crate) const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";
/// The most endpoints one slice holds (`--max-endpoints-per-slice`).
const MAX_PER_SLICE: usize = 100;

fn slice_kind() -> &'static ResourceKind {
    &kinds::endpointslice::KIND
}

/// The Service's `spec.selector`, if the controllers manage its endpoints: not ExternalName
/// and with a non-empty selector.
pub(crate) fn managed_selector(svc: &Value) -> Option<BTreeMap<String, String>> {
    if kinds::str_at(svc, "/spec/type") == "ExternalName" {
        return None;
    }
    let sel: BTreeMap<String, String> = svc
        .pointer("/spec/selector")
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_default();
    (!sel.is_empty()).then_some(sel)
}

/// Does a Service selector (a plain label map) select `pod`?
pub(crate) fn selects(sel: &BTreeMap<String, String>, pod: &Value) -> bool {
    sel.iter().all(|(k, v)| {
        pod.pointer("/metadata/labels")
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
            == Some(v.as_str())
    })
}

/// The pods of `svc`'s namespace its selector selects, by name.
pub(crate) fn selected_pods(
    sh: &Shared,
    svc: &Value,
    sel: &BTreeMap<String, String>,
) -> Vec<Arc<Value>> {
    let ns = kinds::namespace_of(svc);
    let mut pods: Vec<Arc<Value>> = sh
        .pods
        .values()
        .filter(|p| kinds::namespace_of(p) == ns && selects(sel, p))
        .cloned()
        .collect();
    pods.sort_by(|a, b| kinds::name_of(a).cmp(kinds::name_of(b)));
    pods
}

/// `ShouldPodBeInEndpoints`: a pod with an IP that has not finished; a terminating pod only
/// when `include_terminating` (EndpointSlices keep them, marked terminating).
pub(crate) fn should_include(pod: &Value, include_terminating: bool) -> bool {
    if matches!(workload::phase(pod), "Succeeded" | "Failed") {
        return false;
    }
    if kinds::str_at(pod, "/status/podIP").is_empty() {
        return false;
    }
    include_terminating || !workload::is_terminating(pod)
}

/// `podutil.FindPort`: the container port a Service port's targetPort names on `pod`.
/// A number is used as is; a name is looked up among the containers' ports with the same
/// name and protocol. `None` when the pod has no such port.
pub(crate) fn find_port(pod: &Value, svc_port: &Value) -> Option<i64> {
    let protocol = svc_port
        .get("protocol")
        .and_then(Value::as_str)
        .unwrap_or("TCP");
    match svc_port.get("targetPort") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(name)) => {
            // An all-digit string is IntOrString's number form written as text.
            if let Ok(n) = name.parse::<i64>() {
                return Some(n);
            }
            pod.pointer("/spec/containers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(|c| {
                    c.get("ports")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                })
                .find(|p| {
                    p.get("name").and_then(Value::as_str) == Some(name.as_str())
                        && p.get("protocol").and_then(Value::as_str).unwrap_or("TCP") == protocol
                })
                .and_then(|p| p.get("containerPort").and_then(Value::as_i64))
        }
        _ => svc_port.get("port").and_then(Value::as_i64),
    }
}

/// The pod's hostname in the Service's DNS, when its `spec.subdomain` names the Service.
pub(crate) fn hostname_for(pod: &Value, svc: &Value) -> Option<String> {
    let host = kinds::str_at(pod, "/spec/hostname");
    let sub = kinds::str_at(pod, "/spec/subdomain");
    (!host.is_empty() && sub == kinds::name_of(svc)).then(|| host.to_string())
}

/// The Service's labels plus the headless label when it has no ClusterIP.
pub(crate) fn service_labels(svc: &Value) -> serde_json::Map<String, Value> {
    let mut labels = svc
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if kinds::str_at(svc, "/spec/clusterIP") == "None" {
        labels.insert(HEADLESS_LABEL.into(), json!(""));
    } else {
        labels.remove(HEADLESS_LABEL);
    }
    labels
}

/// The endpoint one pod contributes.
fn endpoint_of(sh: &Shared, pod: &Value, svc: &Value) -> Value {
    let publish = svc
        .pointer("/spec/publishNotReadyAddresses")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let pod_ready = workload::is_ready(pod);
    let terminating = workload::is_terminating(pod);
    let mut ep = json!({
        "addresses": [kinds::str_at(pod, "/status/podIP")],
        "conditions": {
            "ready": publish || (pod_ready && !terminating),
            "serving": pod_ready,
            "terminating": terminating,
        },
        "targetRef": {
            "kind": "Pod",
            "namespace": kinds::namespace_of(pod),
            "name": kinds::name_of(pod),
            "uid": kinds::str_at(pod, "/metadata/uid"),
        },
    });
    if let Some(h) = hostname_for(pod, svc) {
        ep["hostname"] = json!(h);
    }
    let node = kinds::str_at(pod, "/spec/nodeName");
    if !node.is_empty() {
        ep["nodeName"] = json!(node);
        let zone = sh
            .nodes
            .iter()
            .find(|n| n.metadata.name.as_deref() == Some(node))
            .and_then(|n| n.metadata.labels.as_ref())
            .and_then(|l| l.get("topology.kubernetes.io/zone").cloned());
        if let Some(z) = zone {
            ep["zone"] = json!(z);
        }
    }
    ep
}

/// What one sync wants: (ports, endpoints) per slice in a stable order, and the pods it had
/// to skip, as the reconciler's error texts.
type Desired = (Vec<(Value, Vec<Value>)>, Vec<String>);

/// The slices `svc` should have.
fn desired(sh: &Shared, svc: &Value, sel: &BTreeMap<String, String>) -> Desired {
    let mut skipped = Vec::new();
    let svc_ports: Vec<Value> = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // Group endpoints by their resolved port list, keyed by its JSON text for ordering.
    let mut groups: BTreeMap<String, (Value, Vec<Value>)> = BTreeMap::new();
    for pod in selected_pods(sh, svc, sel) {
        if !should_include(&pod, true) {
            continue;
        }
        // Pods bound to a node that is gone are skipped, and the sync reports it, as the
        // controller's node lookup fails.
        let node = kinds::str_at(&pod, "/spec/nodeName");
        if !node.is_empty()
            && !sh
                .nodes
                .iter()
                .any(|n| n.metadata.name.as_deref() == Some(node))
        {
            skipped.push(format!(
                "skipping Pod {} for Service {}/{}: Node {node} Not Found",
                kinds::name_of(&pod),
                kinds::namespace_of(svc),
                kinds::name_of(svc)
            ));
            continue;
        }
        let ports: Vec<Value> = svc_ports
            .iter()
            .filter_map(|sp| {
                let port = find_port(&pod, sp)?;
                let mut p = json!({
                    "name": sp.get("name").and_then(Value::as_str).unwrap_or(""),
                    "port": port,
                    "protocol": sp.get("protocol").and_then(Value::as_str).unwrap_or("TCP"),
                });
                if let Some(ap) = sp.get("appProtocol") {
                    p["appProtocol"] = ap.clone();
                }
                Some(p)
            })
            .collect();
        let ports = json!(ports);
        let entry = groups
            .entry(ports.to_string())
            .or_insert_with(|| (ports.clone(), Vec::new()));
        entry.1.push(endpoint_of(sh, &pod, svc));
    }
    let mut out = Vec::new();
    for (_, (ports, mut eps)) in groups {
        // By address, as the Endpoints controller sorts its subsets, so both lists read alike.
        eps.sort_by_key(|e| {
            kinds::str_at(e, "/addresses/0")
                .parse::<std::net::IpAddr>()
                .ok()
        });
        for chunk in eps.chunks(MAX_PER_SLICE) {
            out.push((ports.clone(), chunk.to_vec()));
        }
    }
    if out.is_empty() {
        // The placeholder: a Service with nothing behind it still has one slice.
        out.push((json!([]), Vec::new()));
    }
    (out, skipped)
}

/// The EndpointSlice controller.
#[derive(Debug, Default)]
pub(crate) struct EndpointSliceController;

impl Controller<Shared> for EndpointSliceController {
    fn name(&self) -> &'static str {
        "endpointslice"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["services", "pods", "discovery.k8s.io/endpointslices"]
    }

    fn on_change(&mut self, change: &Change<'_>, ctx: &mut Shared, queue: &mut Enqueue<'_>) {
        service_keys_for_change(ctx, change, queue);
    }

    fn reconcile(
        &mut self,
        key: &str,
        now: Timestamp,
        ctx: &mut Shared,
        _queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let (ns, name) = key.split_once('/').unwrap_or(("", key));
        let Some(svc) = ctx.store.get_raw(&kinds::service::KIND, ns, name) else {
            // The garbage collector removes the slices the Service controlled.
            return Ok(Action::await_change());
        };
        if svc.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(Action::await_change());
        }
        let Some(sel) = managed_selector(&svc) else {
            return Ok(Action::await_change());
        };
        match sync(ctx, &svc, &sel, now) {
            Ok(()) => Ok(Action::await_change()),
            Err(why) => {
                // The Service carries the failure, and the sync is retried with back-off.
                let message =
                    format!("Error updating Endpoint Slices for Service {ns}/{name}: {why}");
                service_event(
                    ctx,
                    &svc,
                    now,
                    "endpoint-slice-controller",
                    "FailedToUpdateEndpointSlices",
                    &message,
                );
                Ok(Action::backoff())
            }
        }
    }
}

/// Map a Service, pod or slice change to the Service keys to sync (shared with the
/// Endpoints controller, which hears about Endpoints instead of slices).
pub(crate) fn service_keys_for_change(sh: &Shared, change: &Change<'_>, queue: &mut Enqueue<'_>) {
    let obj = change.object;
    let ns = kinds::namespace_of(obj);
    match change.resource {
        // A deleted Service is synced once more too: the Endpoints controller deletes its
        // Endpoints then.
        "services" => queue.key(change.key()),
        "pods" => {
            for svc in sh.store.list_raw(&kinds::service::KIND, Some(ns)) {
                if managed_selector(&svc).is_some() {
                    queue.key(format!("{ns}/{}", kinds::name_of(&svc)));
                }
            }
        }
        "endpoints" => queue.key(change.key()),
        _ => {
            let svc = obj
                .pointer("/metadata/labels")
                .and_then(|l| l.get(SERVICE_NAME_LABEL))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !svc.is_empty() {
                queue.key(format!("{ns}/{svc}"));
            }
        }
    }
}

fn write_opts() -> WriteOptions {
    let mut opts = WriteOptions::default();
    opts.field_manager = Some("kube-controller-manager".into());
    opts
}

/// A Warning event on a Service from one of the endpoint controllers.
pub(crate) fn service_event(
    sh: &mut Shared,
    svc: &Value,
    now: Timestamp,
    component: &str,
    reason: &str,
    message: &str,
) {
    let regarding = crate::recorder::Regarding::object(svc, "Service", "v1");
    let Shared {
        recorder, store, ..
    } = sh;
    recorder.legacy_event(
        store, now, component, "", &regarding, "Warning", reason, message,
    );
}

/// Bring `svc`'s slices to what its pods say (`reconciler.reconcile`); the error is the text
/// kube-controller-manager puts after `Error updating Endpoint Slices for Service ns/name: `.
fn sync(
    sh: &mut Shared,
    svc: &Arc<Value>,
    sel: &BTreeMap<String, String>,
    now: Timestamp,
) -> Result<(), String> {
    let svc_key = format!("{}/{}", kinds::namespace_of(svc), kinds::name_of(svc));
    let ns = kinds::namespace_of(svc).to_string();
    let svc_uid = kinds::str_at(svc, "/metadata/uid").to_string();
    let mut existing: Vec<Arc<Value>> = sh
        .store
        .list_raw(slice_kind(), Some(&ns))
        .into_iter()
        .filter(|s| {
            let l = |k: &str| {
                s.pointer("/metadata/labels")
                    .and_then(|l| l.get(k))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            l(SERVICE_NAME_LABEL) == kinds::name_of(svc)
                && l(MANAGED_BY_LABEL) == MANAGED_BY
                && workload::controlled_by(s, &svc_uid)
        })
        .collect();
    existing.sort_by(|a, b| {
        kinds::str_at(a, "/metadata/creationTimestamp")
            .cmp(kinds::str_at(b, "/metadata/creationTimestamp"))
            .then_with(|| kinds::name_of(a).cmp(kinds::name_of(b)))
    });
    let mut labels = service_labels(svc);
    labels.insert(SERVICE_NAME_LABEL.into(), json!(kinds::name_of(svc)));
    labels.insert(MANAGED_BY_LABEL.into(), json!(MANAGED_BY));
    let labels = Value::Object(labels);
    let trigger = crate::clock::rfc3339(now);

    let (mut want, skipped) = desired(sh, svc, sel);
    // Keep the slices that already hold exactly one of the wanted contents; reuse the rest.
    let same = |s: &Value, ports: &Value, eps: &[Value]| {
        s.get("ports").unwrap_or(&json!([])) == ports
            && s.get("endpoints").unwrap_or(&json!([])) == &json!(eps)
            && s.pointer("/metadata/labels") == Some(&labels)
    };
    let mut spare: Vec<Arc<Value>> = Vec::new();
    for s in existing {
        if let Some(i) = want.iter().position(|(p, e)| same(&s, p, e)) {
            want.remove(i);
        } else {
            spare.push(s);
        }
    }
    let mut spare = spare.into_iter();
    for (ports, eps) in want {
        if let Some(old) = spare.next() {
            let mut body = (*old).clone();
            body["metadata"]["labels"] = labels.clone();
            body["metadata"]["annotations"][TRIGGER_TIME] = json!(trigger);
            body["ports"] = ports;
            body["endpoints"] = json!(eps);
            sh.store
                .replace(
                    slice_kind(),
                    &ns,
                    kinds::name_of(&old),
                    body,
                    &write_opts(),
                    false,
                )
                .map_err(|e| {
                    format!(
                        "failed to update {} EndpointSlice for Service {svc_key}: {e}",
                        kinds::name_of(&old)
                    )
                })?;
        } else {
            let body = json!({
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "generateName": format!("{}-", kinds::name_of(svc)),
                    "namespace": ns,
                    "labels": labels,
                    "annotations": {TRIGGER_TIME: trigger},
                    "ownerReferences": [workload::controller_ref(svc, &kinds::service::KIND)],
                },
                "addressType": "IPv4",
                "ports": ports,
                "endpoints": eps,
            });
            sh.store
                .create(slice_kind(), &ns, body, &write_opts())
                .map_err(|e| {
                    format!("failed to create EndpointSlice for Service {svc_key}: {e}")
                })?;
        }
    }
    for old in spare {
        sh.store
            .delete(
                slice_kind(),
                &ns,
                kinds::name_of(&old),
                &DeleteOptions::default(),
            )
            .map_err(|e| {
                format!(
                    "failed to delete {} EndpointSlice for Service {svc_key}: {e}",
                    kinds::name_of(&old)
                )
            })?;
    }
    // utilerrors.NewAggregate: one error as it is, several in brackets.
    match skipped.len() {
        0 => Ok(()),
        1 => Err(skipped.join("")),
        _ => Err(format!("[{}]", skipped.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_port_follows_podutil() {
        let pod = json!({"spec": {"containers": [
            {"name": "a", "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"}]},
            {"name": "b", "ports": [{"name": "http", "containerPort": 8080}, {"name": "dns", "containerPort": 5353}]},
        ]}});
        let port = |target: Value, protocol: &str| {
            find_port(
                &pod,
                &json!({"port": 80, "targetPort": target, "protocol": protocol}),
            )
        };
        assert_eq!(
            port(json!(9090), "TCP"),
            Some(9090),
            "a number is used as is"
        );
        assert_eq!(port(json!("http"), "TCP"), Some(8080));
        assert_eq!(
            port(json!("dns"), "TCP"),
            Some(5353),
            "name and protocol must both match (an unset protocol is TCP)"
        );
        assert_eq!(port(json!("dns"), "UDP"), Some(53));
        assert_eq!(port(json!("metrics"), "TCP"), None);
        assert_eq!(port(json!("http"), "UDP"), None);
    }

    #[test]
    fn only_selecting_services_that_are_not_external_names_are_managed() {
        let svc = |spec: Value| json!({"metadata": {"name": "s"}, "spec": spec});
        assert!(managed_selector(&svc(json!({"selector": {"app": "web"}}))).is_some());
        assert!(managed_selector(&svc(json!({"selector": {}}))).is_none());
        assert!(managed_selector(&svc(json!({}))).is_none());
        assert!(
            managed_selector(&svc(
                json!({"type": "ExternalName", "selector": {"app": "web"}})
            ))
            .is_none()
        );
    }
}
