//! The Endpoints controller: for every Service with a selector, the v1 Endpoints object of
//! the same name listing its pods' addresses per port, as kube-controller-manager's
//! `endpoint-controller` keeps it (`pkg/controller/endpoint/endpoints_controller.go`,
//! `pkg/api/v1/endpoints.RepackSubsets`). kubectl ≤1.30 reads it for `describe svc`, and
//! `kubectl get ep` shows it.
//!
//! A pod with an IP that has not finished and is not terminating (unless the Service
//! publishes not-ready addresses) gives, per Service port its targetPort resolves on
//! (`FindPort`), an address in `addresses` when ready (or published anyway), else in
//! `notReadyAddresses`. Ports with the same address sets share a subset; a headless Service
//! without ports gets address-only subsets. No pod at all leaves no subsets, which kubectl
//! prints as `<none>`. The object carries the Service's labels (plus the headless label) and
//! no owner: the controller deletes it when the Service goes.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::endpointslice::{
    TRIGGER_TIME, find_port, hostname_for, managed_selector, selected_pods, service_event,
    service_keys_for_change, service_labels, should_include,
};
use crate::kinds::{self, ResourceKind};
use crate::reconciler::{Action, Change, Controller, Enqueue};
use crate::shared::Shared;
use crate::store::{DeleteOptions, WriteOptions};
use crate::workload;

fn ep_kind() -> &'static ResourceKind {
    &kinds::endpoints::KIND
}

/// The Endpoints controller.
#[derive(Debug, Default)]
pub(crate) struct EndpointsController;

impl Controller<Shared> for EndpointsController {
    fn name(&self) -> &'static str {
        "endpoint"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["services", "pods", "endpoints"]
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
        let existing = ctx.store.get_raw(ep_kind(), ns, name);
        let Some(svc) = ctx.store.get_raw(&kinds::service::KIND, ns, name) else {
            // The Service is gone: so are its Endpoints (they have no owner reference), hand
            // written ones of a selector-less Service included, as on a real cluster.
            if existing.is_some() {
                let _ = ctx
                    .store
                    .delete(ep_kind(), ns, name, &DeleteOptions::default());
            }
            return Ok(Action::await_change());
        };
        let Some(sel) = managed_selector(&svc) else {
            return Ok(Action::await_change());
        };
        // A failed write is retried after the key's back-off, as the sync's error is.
        if sync(ctx, &svc, &sel, existing, now) {
            Ok(Action::await_change())
        } else {
            Ok(Action::backoff())
        }
    }
}

/// One address of a pod (`podToEndpointAddressForService`).
fn address_of(pod: &Value, svc: &Value) -> Value {
    let mut a = json!({
        "ip": kinds::str_at(pod, "/status/podIP"),
        "targetRef": {
            "kind": "Pod",
            "namespace": kinds::namespace_of(pod),
            "name": kinds::name_of(pod),
            "uid": kinds::str_at(pod, "/metadata/uid"),
        },
    });
    let node = kinds::str_at(pod, "/spec/nodeName");
    if !node.is_empty() {
        a["nodeName"] = json!(node);
    }
    if let Some(h) = hostname_for(pod, svc) {
        a["hostname"] = json!(h);
    }
    a
}

fn sort_addresses(list: &mut [Value]) {
    list.sort_by_key(|a| kinds::str_at(a, "/ip").parse::<std::net::IpAddr>().ok());
}

/// The subsets `svc`'s pods give, repacked: ports sharing the same ready and not-ready
/// address sets go into one subset.
pub(crate) fn subsets(sh: &Shared, svc: &Value, sel: &BTreeMap<String, String>) -> Vec<Value> {
    let publish = svc
        .pointer("/spec/publishNotReadyAddresses")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let svc_ports: Vec<Value> = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let headless = kinds::str_at(svc, "/spec/clusterIP") == "None";
    let pods: Vec<Arc<Value>> = selected_pods(sh, svc, sel)
        .into_iter()
        .filter(|p| should_include(p, publish))
        .collect();
    // (port entry) -> (ready, not ready)
    let mut per_port: Vec<(Value, Vec<Value>, Vec<Value>)> = Vec::new();
    if svc_ports.is_empty() && headless {
        let mut ready = Vec::new();
        let mut not_ready = Vec::new();
        for p in &pods {
            if publish || workload::is_ready(p) {
                ready.push(address_of(p, svc));
            } else {
                not_ready.push(address_of(p, svc));
            }
        }
        per_port.push((Value::Null, ready, not_ready));
    } else {
        for sp in &svc_ports {
            let name = sp.get("name").and_then(Value::as_str).unwrap_or("");
            let protocol = sp.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            // The same service port may resolve to different numbers on different pods.
            let mut by_number: BTreeMap<i64, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
            for p in &pods {
                let Some(n) = find_port(p, sp) else {
                    continue;
                };
                let e = by_number.entry(n).or_default();
                if publish || workload::is_ready(p) {
                    e.0.push(address_of(p, svc));
                } else {
                    e.1.push(address_of(p, svc));
                }
            }
            for (n, (ready, not_ready)) in by_number {
                let mut port = json!({"port": n, "protocol": protocol});
                if !name.is_empty() {
                    port["name"] = json!(name);
                }
                if let Some(ap) = sp.get("appProtocol") {
                    port["appProtocol"] = ap.clone();
                }
                per_port.push((port, ready, not_ready));
            }
        }
    }
    // RepackSubsets: one subset per distinct (ready, not ready) pair of address sets.
    let mut out: Vec<(Vec<Value>, Vec<Value>, Vec<Value>)> = Vec::new();
    for (port, mut ready, mut not_ready) in per_port {
        if ready.is_empty() && not_ready.is_empty() {
            continue;
        }
        sort_addresses(&mut ready);
        sort_addresses(&mut not_ready);
        match out
            .iter_mut()
            .find(|(r, n, _)| *r == ready && *n == not_ready)
        {
            Some(entry) => {
                if !port.is_null() {
                    entry.2.push(port);
                }
            }
            None => out.push((
                ready,
                not_ready,
                if port.is_null() { vec![] } else { vec![port] },
            )),
        }
    }
    out.into_iter()
        .map(|(ready, not_ready, ports)| {
            let mut ss = json!({});
            if !ready.is_empty() {
                ss["addresses"] = json!(ready);
            }
            if !not_ready.is_empty() {
                ss["notReadyAddresses"] = json!(not_ready);
            }
            if !ports.is_empty() {
                ss["ports"] = json!(ports);
            }
            ss
        })
        .collect()
}

/// Create or update `svc`'s Endpoints when what its pods say changed (`syncService`);
/// false when the write failed.
fn sync(
    sh: &mut Shared,
    svc: &Arc<Value>,
    sel: &BTreeMap<String, String>,
    existing: Option<Arc<Value>>,
    now: Timestamp,
) -> bool {
    let ns = kinds::namespace_of(svc).to_string();
    let name = kinds::name_of(svc).to_string();
    let subsets = subsets(sh, svc, sel);
    let labels = Value::Object(service_labels(svc));
    let stored_subsets = existing
        .as_ref()
        .and_then(|e| e.get("subsets").cloned())
        .unwrap_or(json!([]));
    let stored_labels = existing
        .as_ref()
        .and_then(|e| e.pointer("/metadata/labels").cloned())
        .unwrap_or(json!({}));
    if existing.is_some() && stored_subsets == json!(subsets) && stored_labels == labels {
        return true;
    }
    let trigger = crate::clock::rfc3339(now);
    let mut opts = WriteOptions::default();
    opts.field_manager = Some("kube-controller-manager".into());
    let subsets_field = if subsets.is_empty() {
        Value::Null
    } else {
        json!(subsets)
    };
    let result = match &existing {
        Some(old) => {
            let mut body = (**old).clone();
            body["metadata"]["labels"] = labels;
            body["metadata"]["annotations"][TRIGGER_TIME] = json!(trigger);
            match subsets_field {
                Value::Null => {
                    if let Some(o) = body.as_object_mut() {
                        o.remove("subsets");
                    }
                }
                v => body["subsets"] = v,
            }
            sh.store
                .replace(ep_kind(), &ns, &name, body, &opts, false)
                .map(|_| ())
                .map_err(|e| {
                    (
                        "FailedToUpdateEndpoint",
                        format!("Failed to update endpoint {ns}/{name}: {e}"),
                    )
                })
        }
        None => {
            let mut body = json!({
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "labels": labels,
                    "annotations": {TRIGGER_TIME: trigger},
                },
            });
            if !subsets_field.is_null() {
                body["subsets"] = subsets_field;
            }
            sh.store
                .create(ep_kind(), &ns, body, &opts)
                .map(|_| ())
                .map_err(|e| {
                    (
                        "FailedToCreateEndpoint",
                        format!("Failed to create endpoint for service {ns}/{name}: {e}"),
                    )
                })
        }
    };
    match result {
        Ok(()) => true,
        Err((reason, message)) => {
            service_event(sh, svc, now, "endpoint-controller", reason, &message);
            false
        }
    }
}
