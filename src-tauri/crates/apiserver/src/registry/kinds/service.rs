//! Services: ClusterIP allocation from 10.96.0.0/12, the defaults the apiserver fills in
//! (ipFamilies, sessionAffinity, targetPort, protocol, node ports), validation, and the
//! `NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE | SELECTOR` columns.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Service;
use serde_json::{Value, json};

use super::{
    Column, CreateContext, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, Subresource,
    age_column, col, name_column, typed,
};
use crate::strict::DecodeError;
use kq_kube::validation::FieldError;

/// The services resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    plural: "services",
    singular: "service",
    kind: "Service",
    namespaced: true,
    short_names: &["svc"],
    categories: &["all"],
    verbs: STANDARD_VERBS,
    subresources: &[
        Subresource {
            name: "proxy",
            kind: "ServiceProxyOptions",
            verbs: &["create", "delete", "get", "patch", "update"],
        },
        Subresource {
            name: "status",
            kind: "Service",
            verbs: &["get", "patch", "update"],
        },
    ],
    name_rule: NameRule::Dns1035,
    tracks_generation: false,
    hooks: &ServiceHooks,
};

/// Server-side behaviour of services.
pub struct ServiceHooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col(
        "Type",
        "string",
        "type determines how the Service is exposed. Defaults to ClusterIP.",
        0,
    ),
    col(
        "Cluster-IP",
        "string",
        "clusterIP is the IP address of the service and is usually assigned randomly.",
        0,
    ),
    col(
        "External-IP",
        "string",
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
        0,
    ),
    col(
        "Port(s)",
        "string",
        "The list of ports that are exposed by this service.",
        0,
    ),
    age_column(),
    col(
        "Selector",
        "string",
        "Route service traffic to pods with label keys and values matching this selector.",
        1,
    ),
];

const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

fn default_spec(obj: &mut Value) {
    let spec = &mut obj["spec"];
    if !spec.is_object() {
        *spec = json!({});
    }
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    spec["type"] = json!(ty);
    if ty == "ExternalName" {
        return;
    }
    if spec.get("sessionAffinity").is_none() {
        spec["sessionAffinity"] = json!("None");
    }
    if spec.get("internalTrafficPolicy").is_none() {
        spec["internalTrafficPolicy"] = json!("Cluster");
    }
    if matches!(ty.as_str(), "NodePort" | "LoadBalancer")
        && spec.get("externalTrafficPolicy").is_none()
    {
        spec["externalTrafficPolicy"] = json!("Cluster");
    }
    if ty == "LoadBalancer" && spec.get("allocateLoadBalancerNodePorts").is_none() {
        spec["allocateLoadBalancerNodePorts"] = json!(true);
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports {
            if p.get("protocol").is_none() {
                p["protocol"] = json!("TCP");
            }
            if p.get("targetPort").is_none()
                && let Some(port) = p.get("port").cloned()
            {
                p["targetPort"] = port;
            }
        }
    }
}

fn random_u16() -> u16 {
    let h = kq_kube::random::hex(4);
    u16::from_str_radix(&h, 16).unwrap_or(1)
}

impl KindHooks for ServiceHooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<Service>(value, "Service")
    }

    fn prepare_create(&self, obj: &mut Value, ctx: &CreateContext<'_>) -> crate::Result<()> {
        default_spec(obj);
        let ty = super::str_at(obj, "/spec/type").to_string();
        if ty == "ExternalName" {
            obj["status"] = json!({"loadBalancer": {}});
            return Ok(());
        }
        let used: Vec<String> = ctx
            .store
            .list_raw(&KIND, None)
            .iter()
            .map(|s| super::str_at(s, "/spec/clusterIP").to_string())
            .collect();
        let requested = super::str_at(obj, "/spec/clusterIP").to_string();
        let ip = if !requested.is_empty() {
            requested
        } else {
            let mut ip = String::new();
            for _ in 0..1000 {
                let r = random_u16();
                // 10.96.0.0/16 inside the default 10.96.0.0/12 range; .0, .1 and .255 stay free.
                let candidate = format!("10.96.{}.{}", r >> 8, 2 + (r & 0xff) % 252);
                if !used.contains(&candidate) {
                    ip = candidate;
                    break;
                }
            }
            ip
        };
        obj["spec"]["clusterIP"] = json!(ip);
        obj["spec"]["clusterIPs"] = json!([ip]);
        if ip != "None" || obj.pointer("/spec/ipFamilies").is_none() {
            obj["spec"]["ipFamilies"] = json!(["IPv4"]);
            obj["spec"]["ipFamilyPolicy"] = json!("SingleStack");
        }
        if matches!(ty.as_str(), "NodePort" | "LoadBalancer")
            && let Some(ports) = obj.pointer_mut("/spec/ports").and_then(Value::as_array_mut)
        {
            for p in ports {
                if p.get("nodePort").is_none() {
                    p["nodePort"] = json!(30000 + u32::from(random_u16()) % 2768);
                }
            }
        }
        obj["status"] = json!({"loadBalancer": {}});
        Ok(())
    }

    fn prepare_update(&self, new: &mut Value, old: &Value) {
        default_spec(new);
        for key in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if new.pointer(&format!("/spec/{key}")).is_none()
                && let Some(v) = old.pointer(&format!("/spec/{key}"))
            {
                new["spec"][key] = v.clone();
            }
        }
        new["status"] = old
            .get("status")
            .cloned()
            .unwrap_or_else(|| json!({"loadBalancer": {}}));
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let ty = super::str_at(obj, "/spec/type");
        if !ty.is_empty() && !TYPES.contains(&ty) {
            errs.push(FieldError::not_supported("spec.type", ty, TYPES));
        }
        let ports = obj
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let headless = super::str_at(obj, "/spec/clusterIP") == "None";
        if ports.is_empty() && ty != "ExternalName" && !headless {
            errs.push(FieldError::required("spec.ports", ""));
        }
        for (i, p) in ports.iter().enumerate() {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            if !(1..=65535).contains(&port) {
                errs.push(FieldError::invalid_num(
                    format!("spec.ports[{i}].port"),
                    port,
                    "must be between 1 and 65535, inclusive",
                ));
            }
            if ports.len() > 1
                && p.get("name")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
            {
                errs.push(FieldError::required(format!("spec.ports[{i}].name"), ""));
            }
        }
        if ty == "ExternalName" && super::str_at(obj, "/spec/externalName").is_empty() {
            errs.push(FieldError::required("spec.externalName", ""));
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        let (n, o) = (
            super::str_at(new, "/spec/clusterIP"),
            super::str_at(old, "/spec/clusterIP"),
        );
        if !o.is_empty() && n != o && super::str_at(new, "/spec/type") != "ExternalName" {
            errs.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                n,
                "may not change once set",
            ));
        }
        errs
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let svc: Service = typed(obj);
        let spec = svc.spec.clone().unwrap_or_default();
        let ty = spec.type_.clone().unwrap_or_default();
        let internal = spec
            .cluster_ips
            .as_ref()
            .and_then(|v| v.first().cloned())
            .unwrap_or_else(|| "<none>".into());
        let external_ips = spec.external_ips.clone().unwrap_or_default();
        let external = match ty.as_str() {
            "ClusterIP" | "NodePort" => {
                if external_ips.is_empty() {
                    "<none>".to_string()
                } else {
                    external_ips.join(",")
                }
            }
            "LoadBalancer" => {
                let mut ips: Vec<String> = svc
                    .status
                    .as_ref()
                    .and_then(|s| s.load_balancer.as_ref())
                    .and_then(|lb| lb.ingress.clone())
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|i| i.ip.or(i.hostname))
                    .collect();
                ips.extend(external_ips);
                if ips.is_empty() {
                    "<pending>".to_string()
                } else {
                    ips.join(",")
                }
            }
            "ExternalName" => spec.external_name.clone().unwrap_or_default(),
            _ => "<unknown>".to_string(),
        };
        let ports: Vec<String> = spec
            .ports
            .iter()
            .flatten()
            .map(|p| {
                let proto = p.protocol.clone().unwrap_or_default();
                match p.node_port {
                    Some(np) if np > 0 => format!("{}:{}/{}", p.port, np, proto),
                    _ => format!("{}/{}", p.port, proto),
                }
            })
            .collect();
        let ports = if ports.is_empty() {
            "<none>".to_string()
        } else {
            ports.join(",")
        };
        let selector = match &spec.selector {
            Some(s) if !s.is_empty() => s
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
            _ => "<none>".to_string(),
        };
        vec![
            json!(svc.metadata.name.clone().unwrap_or_default()),
            json!(ty),
            json!(internal),
            json!(external),
            json!(ports),
            json!(super::age_of(obj, now)),
            json!(selector),
        ]
    }
}
