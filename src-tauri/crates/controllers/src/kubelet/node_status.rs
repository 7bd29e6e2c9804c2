//! A node's registration: a Node object created through the API (a mission's manifest) gets
//! the status its kubelet reports, and a kubelet that starts on a node records the events a
//! real one does. Kubernetes keeps this in `pkg/kubelet/kubelet_node_status.go`
//! (`registerWithAPIServer`, `setNodeStatus`) and the node lifecycle controller's
//! `RegisteredNode` event.

use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;

use super::{Kubelet, Recorder, Regarding, Runtime};
use crate::NodeTemplate;
use crate::quantity::Quantity;
use crate::store::Store;

/// Give every node without a kubelet report the status its kubelet would report, with the
/// capacity its annotations ask for (`kubequest.dev/cpu`, `kubequest.dev/memory`,
/// `kubequest.dev/pods`) or the default node's. `known` is how many nodes were registered
/// before; a new node takes the addresses after theirs.
pub(super) fn register_new_nodes(store: &Store, known: usize) {
    let now = store.clock().now();
    for n in store.list::<Node>(None) {
        let registered = n
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .is_some_and(|a| !a.is_empty());
        if registered {
            continue;
        }
        let name = n.metadata.name.clone().unwrap_or_default();
        let ann = n.metadata.annotations.clone().unwrap_or_default();
        let index = known + 1;
        let mut template = NodeTemplate {
            name: name.clone(),
            internal_ip: format!("192.168.49.{}", 2 + index),
            pod_cidr: format!("10.244.{index}.0/24"),
            ..NodeTemplate::default()
        };
        if let Some(cpu) = ann.get("kubequest.dev/cpu") {
            template.cpu = cpu.clone();
        }
        if let Some(mem) = ann.get("kubequest.dev/memory")
            && let Some(q) = Quantity::parse(mem)
        {
            template.memory = format!("{}Ki", q.value() / 1024);
        }
        if let Some(pods) = ann.get("kubequest.dev/pods").and_then(|p| p.parse().ok()) {
            template.pods = pods;
        }
        let full = template.to_value(now);
        let cidr = template.pod_cidr.clone();
        let _ = store.update_with::<Node>("", &name, |node| {
            let spec = node.spec.get_or_insert_with(Default::default);
            if spec.pod_cidr.is_none() {
                spec.pod_cidr = Some(cidr.clone());
                spec.pod_cidrs = Some(vec![cidr.clone()]);
            }
        });
        let _ = store.update_status::<Node>("", &name, |node| {
            if let Ok(status) = serde_json::from_value(full["status"].clone()) {
                node.status = Some(status);
            }
            let labels = node.metadata.labels.get_or_insert_with(Default::default);
            for (k, v) in full["metadata"]["labels"].as_object().into_iter().flatten() {
                labels
                    .entry(k.clone())
                    .or_insert_with(|| v.as_str().unwrap_or_default().to_string());
            }
        });
    }
}

/// The kubelet of node `n`, started at `now`: it has the runtime's pause image and has
/// recorded its start-up events.
pub(super) fn start_kubelet(
    store: &Arc<Store>,
    recorder: &mut Recorder,
    runtime: &Arc<Runtime>,
    n: &Node,
    now: Timestamp,
) -> Kubelet {
    let name = n.metadata.name.clone().unwrap_or_default();
    let ip = n
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
        .map(|a| a.address.clone())
        .unwrap_or_else(|| "192.168.49.2".into());
    let cidr = n
        .spec
        .as_ref()
        .and_then(|s| s.pod_cidr.clone())
        .unwrap_or_else(|| "10.244.0.0/24".into());
    let mut k = Kubelet::new(&name, &ip, &cidr, runtime.clone());
    if let Some(pause) = runtime.pause_image() {
        k.preload(pause);
    }
    // A kind node image ships the control plane's images: its static pods and addons start
    // without a pull ("already present on machine").
    for image in kq_runtime::PRELOADED_IMAGES {
        if let Ok(info) = runtime.resolve(image, &[]) {
            k.preload(info);
        }
    }
    node_events(store, recorder, n, now);
    k
}

/// What a freshly registered node reports about itself.
fn node_events(store: &Arc<Store>, rec: &mut Recorder, node: &Node, now: Timestamp) {
    let name = node.metadata.name.clone().unwrap_or_default();
    let reg = Regarding {
        kind: "Node",
        namespace: String::new(),
        name: name.clone(),
        uid: node.metadata.uid.clone().unwrap_or_else(|| name.clone()),
        api_version: "v1",
        resource_version: String::new(),
        field_path: None,
    };
    let kubelet_events = [
        ("Starting", "Starting kubelet.".to_string()),
        (
            "NodeAllocatableEnforced",
            "Updated Node Allocatable limit across pods".to_string(),
        ),
        (
            "NodeHasSufficientMemory",
            format!("Node {name} status is now: NodeHasSufficientMemory"),
        ),
        (
            "NodeHasNoDiskPressure",
            format!("Node {name} status is now: NodeHasNoDiskPressure"),
        ),
        (
            "NodeHasSufficientPID",
            format!("Node {name} status is now: NodeHasSufficientPID"),
        ),
        ("NodeReady", format!("Node {name} status is now: NodeReady")),
    ];
    for (reason, message) in kubelet_events {
        rec.kubelet(store, now, &name, &reg, "Normal", reason, &message);
    }
    rec.legacy_event(
        store,
        now,
        "node-controller",
        "",
        &reg,
        "Normal",
        "RegisteredNode",
        &format!("Node {name} event: Registered Node {name} in Controller"),
    );
}
