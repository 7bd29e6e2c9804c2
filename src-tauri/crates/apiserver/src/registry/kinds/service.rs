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

/// The Service CIDR (kube-apiserver's `--service-cluster-ip-range` on kubeadm and kind).
const SERVICE_CIDR: &str = "10.96.0.0/12";
/// The node port range (`--service-node-port-range`).
const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

/// Is `ip` inside 10.96.0.0/12?
fn in_service_cidr(ip: std::net::Ipv4Addr) -> bool {
    let o = ip.octets();
    o[0] == 10 && (o[1] & 0xf0) == 96
}

/// The ClusterIP a new Service gets (`pkg/registry/core/service/storage/alloc.go`,
/// `allocIPs`): the one it asks for if free and in range, else a free random one of the
/// range. Headless (`None`) takes nothing.
fn allocate_cluster_ip(
    obj: &Value,
    others: &[std::sync::Arc<Value>],
) -> Result<String, FieldError> {
    let used: Vec<&str> = others
        .iter()
        .map(|s| super::str_at(s, "/spec/clusterIP"))
        .filter(|ip| !ip.is_empty() && *ip != "None")
        .collect();
    let requested = super::str_at(obj, "/spec/clusterIP");
    if requested == "None" {
        return Ok(requested.to_string());
    }
    if !requested.is_empty() {
        // The value is the whole `spec.clusterIPs` list, printed as Go's `%#v` shows a
        // `[]string`.
        let ips: Vec<String> = obj
            .pointer("/spec/clusterIPs")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_else(|| vec![requested.to_string()]);
        let shown = format!(
            "[]string{{{}}}",
            ips.iter()
                .map(|ip| kq_kube::validation::quote(ip))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let fail = |why: String| FieldError {
            kind: kq_kube::validation::FieldErrorKind::Invalid,
            field: "spec.clusterIPs".into(),
            value: Some(shown.clone()),
            detail: format!("failed to allocate IP {requested}: {why}"),
        };
        return match requested.parse::<std::net::Ipv4Addr>() {
            Ok(ip) if !in_service_cidr(ip) => Err(fail(format!(
                "the provided IP ({requested}) is not in the valid range. The range of valid IPs is {SERVICE_CIDR}"
            ))),
            _ if used.contains(&requested) => Err(fail("provided IP is already allocated".into())),
            _ => Ok(requested.to_string()),
        };
    }
    for _ in 0..4096 {
        let r = random_u16();
        // 10.96.0.0/16 inside the default 10.96.0.0/12 range; .0, .1 and .255 stay free
        // (10.96.0.1 is the `kubernetes` Service, 10.96.0.10 kube-dns on kubeadm).
        let candidate = format!("10.96.{}.{}", r >> 8, 2 + (r & 0xff) % 252);
        if candidate != "10.96.0.10" && !used.contains(&candidate.as_str()) {
            return Ok(candidate);
        }
    }
    Err(FieldError {
        kind: kq_kube::validation::FieldErrorKind::Invalid,
        field: "spec.clusterIPs".into(),
        value: Some("[]string(nil)".into()),
        detail: "range is full".into(),
    })
}

/// Give every port of a NodePort or LoadBalancer Service a node port (`initNodePorts`): a
/// requested one must be in 30000-32767 and not taken by any Service (or an earlier port of
/// this one); the others get a free random one.
fn allocate_node_ports(
    obj: &mut Value,
    others: &[std::sync::Arc<Value>],
) -> Result<(), FieldError> {
    let mut used: Vec<i64> = others
        .iter()
        .flat_map(|s| {
            s.pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
                .collect::<Vec<_>>()
        })
        .collect();
    let Some(ports) = obj.pointer_mut("/spec/ports").and_then(Value::as_array_mut) else {
        return Ok(());
    };
    // Requested ports first, so a random pick never takes one asked for later in the list.
    for (i, p) in ports.iter().enumerate() {
        let Some(np) = p
            .get("nodePort")
            .and_then(Value::as_i64)
            .filter(|n| *n != 0)
        else {
            continue;
        };
        let field = format!("spec.ports[{i}].nodePort");
        if !NODE_PORTS.contains(&np) {
            return Err(FieldError::invalid_num(
                field,
                np,
                "provided port is not in the valid range. The range of valid ports is 30000-32767",
            ));
        }
        if used.contains(&np) {
            return Err(FieldError::invalid_num(
                field,
                np,
                "provided port is already allocated",
            ));
        }
        used.push(np);
    }
    for p in ports.iter_mut() {
        if p.get("nodePort")
            .and_then(Value::as_i64)
            .is_some_and(|n| n != 0)
        {
            continue;
        }
        let mut pick = None;
        for _ in 0..4096 {
            let candidate = 30000 + i64::from(random_u16()) % 2768;
            if !used.contains(&candidate) {
                pick = Some(candidate);
                break;
            }
        }
        let Some(np) = pick else {
            return Err(FieldError {
                kind: kq_kube::validation::FieldErrorKind::Invalid,
                field: "spec.ports".into(),
                value: None,
                detail: "range is full".into(),
            });
        };
        used.push(np);
        p["nodePort"] = json!(np);
    }
    Ok(())
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
        let others = ctx.store.list_raw(&KIND, None);
        let name = super::name_of(obj).to_string();
        let invalid = |cause: FieldError| crate::Error::Invalid {
            group: String::new(),
            kind: "Service".into(),
            name: name.clone(),
            causes: vec![cause],
        };
        let ip = allocate_cluster_ip(obj, &others).map_err(invalid)?;
        obj["spec"]["clusterIP"] = json!(ip);
        obj["spec"]["clusterIPs"] = json!([ip]);
        if ip != "None" || obj.pointer("/spec/ipFamilies").is_none() {
            obj["spec"]["ipFamilies"] = json!(["IPv4"]);
            obj["spec"]["ipFamilyPolicy"] = json!("SingleStack");
        }
        if matches!(ty.as_str(), "NodePort" | "LoadBalancer") {
            allocate_node_ports(obj, &others).map_err(invalid)?;
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

    fn allocate_on_update(
        &self,
        new: &mut Value,
        old: &Value,
        ctx: &CreateContext<'_>,
    ) -> crate::Result<()> {
        let ty = super::str_at(new, "/spec/type").to_string();
        if !matches!(ty.as_str(), "NodePort" | "LoadBalancer") {
            return Ok(());
        }
        // The Service's own ports stay its own: only the other Services' count as taken,
        // and a port it already held is not refused as "already allocated" by itself.
        let (ns, name) = (super::namespace_of(old), super::name_of(old));
        let others: Vec<std::sync::Arc<Value>> = ctx
            .store
            .list_raw(&KIND, None)
            .into_iter()
            .filter(|s| !(super::namespace_of(s) == ns && super::name_of(s) == name))
            .collect();
        allocate_node_ports(new, &others).map_err(|cause| crate::Error::Invalid {
            group: String::new(),
            kind: "Service".into(),
            name: name.to_string(),
            causes: vec![cause],
        })
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
            // Only the types that open node ports may carry one (a type changed back to
            // ClusterIP by a patch keeps its nodePort and is refused until it is removed).
            if ty == "ClusterIP"
                && p.get("nodePort")
                    .and_then(Value::as_i64)
                    .is_some_and(|n| n != 0)
            {
                errs.push(FieldError::forbidden(
                    format!("spec.ports[{i}].nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
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
