//! Nodes: a realistic node object built from a [`NodeTemplate`] (capacity, allocatable,
//! conditions, addresses, nodeInfo), and kubectl's `printNode()` columns. The scheduler and
//! kubelet of later issues read capacity and taints from here.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Taint};
use serde_json::{Value, json};

use super::{
    Column, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, Subresource, age_column, col,
    name_column, typed,
};
use crate::strict::DecodeError;

/// The nodes resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    plural: "nodes",
    singular: "node",
    kind: "Node",
    namespaced: false,
    short_names: &["no"],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[
        Subresource {
            name: "proxy",
            kind: "NodeProxyOptions",
            verbs: &["create", "delete", "get", "patch", "update"],
        },
        Subresource {
            name: "status",
            kind: "Node",
            verbs: &["get", "patch", "update"],
        },
    ],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &NodeHooks,
};

/// Server-side behaviour of nodes.
pub struct NodeHooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col("Status", "string", "The status of the node", 0),
    col("Roles", "string", "The roles of the node", 0),
    age_column(),
    col(
        "Version",
        "string",
        "Kubelet Version reported by the node.",
        0,
    ),
    col(
        "Internal-IP",
        "string",
        "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses",
        1,
    ),
    col(
        "External-IP",
        "string",
        "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses",
        1,
    ),
    col(
        "OS-Image",
        "string",
        "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
        1,
    ),
    col(
        "Kernel-Version",
        "string",
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
        1,
    ),
    col(
        "Container-Runtime",
        "string",
        "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
        1,
    ),
];

/// The kubelet version the embedded nodes report (matches `/version`).
pub const KUBELET_VERSION: &str = "v1.33.4";

/// What a node looks like; [`NodeTemplate::default`] is the single `node-1` learners meet.
#[derive(Debug, Clone)]
pub struct NodeTemplate {
    /// Node name.
    pub name: String,
    /// CPU capacity (`2`).
    pub cpu: String,
    /// Memory capacity (`4015060Ki`).
    pub memory: String,
    /// Memory reserved for the system (subtracted for allocatable), in Ki.
    pub memory_reserved_ki: u64,
    /// Maximum pods.
    pub pods: u32,
    /// Extra labels on top of the standard `kubernetes.io/*` ones.
    pub labels: BTreeMap<String, String>,
    /// Taints.
    pub taints: Vec<Taint>,
    /// Internal IP address.
    pub internal_ip: String,
    /// Pod CIDR.
    pub pod_cidr: String,
    /// `spec.unschedulable` (cordoned).
    pub unschedulable: bool,
}

impl Default for NodeTemplate {
    fn default() -> Self {
        NodeTemplate {
            name: "node-1".into(),
            cpu: "2".into(),
            memory: "4015060Ki".into(),
            memory_reserved_ki: 102_400,
            pods: 110,
            labels: BTreeMap::new(),
            taints: Vec::new(),
            internal_ip: "192.168.49.2".into(),
            pod_cidr: "10.244.0.0/24".into(),
            unschedulable: false,
        }
    }
}

impl NodeTemplate {
    /// Build the node object as a freshly registered kubelet reports it.
    pub fn to_value(&self, now: Timestamp) -> Value {
        let t = crate::clock::rfc3339(now);
        let mut labels: BTreeMap<String, String> = [
            ("beta.kubernetes.io/arch", "amd64"),
            ("beta.kubernetes.io/os", "linux"),
            ("kubernetes.io/arch", "amd64"),
            ("kubernetes.io/hostname", self.name.as_str()),
            ("kubernetes.io/os", "linux"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        labels.extend(self.labels.clone());
        let mem_ki: u64 = self
            .memory
            .trim_end_matches("Ki")
            .parse()
            .unwrap_or(4_015_060);
        let allocatable_mem = format!("{}Ki", mem_ki.saturating_sub(self.memory_reserved_ki));
        let cond = |ty: &str, status: &str, reason: &str, msg: &str| json!({"type": ty, "status": status, "lastHeartbeatTime": t, "lastTransitionTime": t, "reason": reason, "message": msg});
        let mut spec = json!({"podCIDR": self.pod_cidr, "podCIDRs": [self.pod_cidr]});
        if !self.taints.is_empty() {
            spec["taints"] = serde_json::to_value(&self.taints).unwrap_or_default();
        }
        if self.unschedulable {
            spec["unschedulable"] = json!(true);
        }
        json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "labels": labels,
                "annotations": {
                    "node.alpha.kubernetes.io/ttl": "0",
                    "volumes.kubernetes.io/controller-managed-attach-detach": "true"
                }
            },
            "spec": spec,
            "status": {
                "capacity": {
                    "cpu": self.cpu, "ephemeral-storage": "61202244Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                    "memory": self.memory, "pods": self.pods.to_string()
                },
                "allocatable": {
                    "cpu": self.cpu, "ephemeral-storage": "56403987978", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                    "memory": allocatable_mem, "pods": self.pods.to_string()
                },
                "conditions": [
                    cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                    cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                    cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
                ],
                "addresses": [
                    {"type": "InternalIP", "address": self.internal_ip},
                    {"type": "Hostname", "address": self.name}
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "machineID": kq_kube::random::hex(32),
                    "systemUUID": uuid::Uuid::new_v4().to_string(),
                    "bootID": uuid::Uuid::new_v4().to_string(),
                    "kernelVersion": kq_kube::NODE_KERNEL_RELEASE,
                    "osImage": "Ubuntu 24.04.2 LTS",
                    "containerRuntimeVersion": "containerd://1.7.27",
                    "kubeletVersion": KUBELET_VERSION,
                    "operatingSystem": "linux",
                    "architecture": "amd64"
                }
            }
        })
    }
}

fn roles(node: &Node) -> String {
    let mut roles: Vec<String> = Vec::new();
    for (k, v) in node.metadata.labels.iter().flatten() {
        if let Some(role) = k
            .strip_prefix("node-role.kubernetes.io/")
            .filter(|r| !r.is_empty())
        {
            roles.push(role.to_string());
        } else if k == "kubernetes.io/role" && !v.is_empty() {
            roles.push(v.clone());
        }
    }
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles.join(",")
    }
}

impl KindHooks for NodeHooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<Node>(value, "Node")
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        (field == "spec.unschedulable").then(|| {
            obj.pointer("/spec/unschedulable")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                .to_string()
        })
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let node: Node = typed(obj);
        let st = node.status.clone().unwrap_or_default();
        let mut status: Vec<String> = Vec::new();
        if let Some(c) = st.conditions.iter().flatten().find(|c| c.type_ == "Ready") {
            status.push(if c.status == "True" {
                "Ready".into()
            } else {
                "NotReady".into()
            });
        }
        if status.is_empty() {
            status.push("Unknown".into());
        }
        if node
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false)
        {
            status.push("SchedulingDisabled".into());
        }
        let info = st.node_info.clone().unwrap_or_default();
        let addr = |ty: &str| {
            st.addresses
                .iter()
                .flatten()
                .find(|a| a.type_ == ty)
                .map_or_else(|| "<none>".to_string(), |a| a.address.clone())
        };
        let or_unknown = |s: String| {
            if s.is_empty() {
                "<unknown>".to_string()
            } else {
                s
            }
        };
        vec![
            json!(node.metadata.name.clone().unwrap_or_default()),
            json!(status.join(",")),
            json!(roles(&node)),
            json!(super::age_of(obj, now)),
            json!(info.kubelet_version),
            json!(addr("InternalIP")),
            json!(addr("ExternalIP")),
            json!(or_unknown(info.os_image)),
            json!(or_unknown(info.kernel_version)),
            json!(or_unknown(info.container_runtime_version)),
        ]
    }
}
