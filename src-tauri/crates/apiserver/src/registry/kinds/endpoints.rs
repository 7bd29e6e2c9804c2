//! Endpoints (core/v1): the legacy list of a Service's addresses, written by the endpoints
//! controller and read by kubectl ≤1.30's `describe svc`. Kubernetes keeps the same in
//! `pkg/apis/core/validation/validation.go` (`ValidateEndpoints`),
//! `pkg/registry/core/endpoint/strategy.go` and `pkg/printers/internalversion/printers.go`
//! (`printEndpoints`, `formatEndpoints`).
//!
//! Since 1.33 the API is deprecated: every request for it answers with the
//! [`DEPRECATION_WARNING`] `Warning` header (the router adds it, see
//! [`super::KindHooks::deprecation_warning`]), which kubectl prints on stderr.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Endpoints;
use kq_kube::validation::FieldError;
use serde_json::{Value, json};

use super::{
    Column, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, age_column, age_of, col,
    name_column, name_of, typed,
};
use crate::strict::DecodeError;

/// The endpoints resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    plural: "endpoints",
    singular: "endpoints",
    kind: "Endpoints",
    namespaced: true,
    short_names: &["ep"],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &Hooks,
};

/// The warning kube-apiserver 1.33 attaches to every v1 Endpoints request
/// (`k8s.io/api/core/v1` `Endpoints` is marked `+k8s:prerelease-lifecycle-gen:deprecated=1.33`,
/// with EndpointSlice as its replacement).
pub const DEPRECATION_WARNING: &str =
    "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice";

/// Server-side behaviour of endpoints.
pub struct Hooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col(
        "Endpoints",
        "string",
        "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.",
        0,
    ),
    age_column(),
];

const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

/// `ip:port` the way Go's `net.JoinHostPort` writes it (brackets around IPv6).
pub fn join_host_port(ip: &str, port: i64) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// The ENDPOINTS cell (`formatEndpoints`): the ready addresses of every subset and port as
/// `ip:port`, the first three shown and then ` + N more...`; `<none>` without subsets. Only
/// not-ready addresses leave the cell blank.
pub fn format_endpoints(ep: &Value, port_names: Option<&[String]>) -> String {
    let subsets = ep
        .get("subsets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if subsets.is_empty() {
        return "<none>".into();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0usize;
    for ss in &subsets {
        let addrs: Vec<&str> = ss
            .get("addresses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|a| a.get("ip").and_then(Value::as_str).unwrap_or_default())
            .collect();
        let ports: Vec<&Value> = ss
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        if ports.is_empty() {
            // A headless Service without ports lists bare addresses.
            count += addrs.len();
            for ip in &addrs {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push((*ip).to_string());
            }
            continue;
        }
        for p in ports {
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
            if port_names.is_some_and(|names| !names.iter().any(|n| n == name)) {
                continue;
            }
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            count += addrs.len();
            for ip in &addrs {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(join_host_port(ip, port));
            }
        }
    }
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", count - MAX)
    } else {
        joined
    }
}

/// The `kubernetes` Service's Endpoints and EndpointSlice in `default`, as kube-apiserver's
/// endpoint reconciler writes them for its own address (`pkg/controlplane/reconcilers`,
/// `endpointsadapter.go`): the Endpoints carry `endpointslice.kubernetes.io/skip-mirror` (the
/// mirroring controller leaves them alone), the slice only the service-name label and a
/// `ready` condition. The Service has no selector, so the endpoint controllers never touch
/// them.
pub fn apiserver_endpoints(ip: &str, port: u16) -> (Value, Value) {
    let endpoints = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default",
            "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": ip}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
    });
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
            "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": true}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    });
    (endpoints, slice)
}

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<Endpoints>(value, "Endpoints")
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let ep: Endpoints = typed(obj);
        let mut errs = Vec::new();
        for (i, ss) in ep.subsets.iter().flatten().enumerate() {
            let none = |l: &Option<Vec<_>>| l.as_ref().is_none_or(Vec::is_empty);
            if none(&ss.addresses) && none(&ss.not_ready_addresses) {
                errs.push(FieldError::required(
                    format!("subsets[{i}]"),
                    "must specify `addresses` or `notReadyAddresses`",
                ));
            }
            for (field, list) in [
                ("addresses", &ss.addresses),
                ("notReadyAddresses", &ss.not_ready_addresses),
            ] {
                for (j, a) in list.iter().flatten().enumerate() {
                    if a.ip.parse::<std::net::IpAddr>().is_err() {
                        errs.push(FieldError::invalid(
                            format!("subsets[{i}].{field}[{j}].ip"),
                            &a.ip,
                            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                        ));
                    }
                }
            }
            let ports = ss.ports.as_deref().unwrap_or_default();
            for (j, p) in ports.iter().enumerate() {
                // `validateEndpointPort`: with several ports each needs a unique name.
                let name = p.name.as_deref().unwrap_or_default();
                if ports.len() > 1 && name.is_empty() {
                    errs.push(FieldError::required(
                        format!("subsets[{i}].ports[{j}].name"),
                        "",
                    ));
                } else if !name.is_empty()
                    && ports[..j].iter().any(|q| q.name.as_deref() == Some(name))
                {
                    errs.push(FieldError::duplicate(
                        format!("subsets[{i}].ports[{j}].name"),
                        name,
                    ));
                }
                if !(1..=65535).contains(&p.port) {
                    errs.push(FieldError::invalid_num(
                        format!("subsets[{i}].ports[{j}].port"),
                        i64::from(p.port),
                        "must be between 1 and 65535, inclusive",
                    ));
                }
                match p.protocol.as_deref() {
                    None | Some("") => errs.push(FieldError::required(
                        format!("subsets[{i}].ports[{j}].protocol"),
                        "",
                    )),
                    Some(pr) if !PROTOCOLS.contains(&pr) => errs.push(FieldError::not_supported(
                        format!("subsets[{i}].ports[{j}].protocol"),
                        pr,
                        PROTOCOLS,
                    )),
                    Some(_) => {}
                }
            }
        }
        errs
    }

    fn default(&self, obj: &mut Value) -> crate::Result<()> {
        // `SetDefaults_EndpointPort`: an unset protocol is TCP.
        if let Some(subsets) = obj.get_mut("subsets").and_then(Value::as_array_mut) {
            for ss in subsets {
                if let Some(ports) = ss.get_mut("ports").and_then(Value::as_array_mut) {
                    for p in ports {
                        if p.get("protocol").is_none() {
                            p["protocol"] = json!("TCP");
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn deprecation_warning(&self) -> Option<&'static str> {
        Some(DEPRECATION_WARNING)
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        vec![
            json!(name_of(obj)),
            json!(format_endpoints(obj, None)),
            json!(age_of(obj, now)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_texts() {
        let bad = json!({"subsets": [
            {"ports": [{"port": 80, "protocol": "TCP"}]},
            {"addresses": [{"ip": "web"}], "ports": [{"port": 80, "protocol": "TCP"}, {"name": "b", "port": 0, "protocol": "ICMP"}]}
        ]});
        let errs: Vec<String> = Hooks
            .validate(&bad)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            vec![
                "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`",
                "subsets[1].addresses[0].ip: Invalid value: \"web\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                "subsets[1].ports[0].name: Required value",
                "subsets[1].ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "subsets[1].ports[1].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            ]
        );
    }

    #[test]
    fn cell_shows_ready_addresses_three_then_more() {
        let ep = json!({"subsets": [{
            "addresses": [{"ip": "10.244.0.5"}, {"ip": "10.244.0.6"}, {"ip": "10.244.0.7"}, {"ip": "10.244.0.8"}],
            "notReadyAddresses": [{"ip": "10.244.0.9"}],
            "ports": [{"port": 80, "protocol": "TCP"}]
        }]});
        assert_eq!(
            format_endpoints(&ep, None),
            "10.244.0.5:80,10.244.0.6:80,10.244.0.7:80 + 1 more..."
        );
        assert_eq!(format_endpoints(&json!({}), None), "<none>");
        let not_ready = json!({"subsets": [{"notReadyAddresses": [{"ip": "10.244.0.9"}], "ports": [{"port": 80}]}]});
        assert_eq!(format_endpoints(&not_ready, None), "");
        let v6 = json!({"subsets": [{"addresses": [{"ip": "fd00::5"}], "ports": [{"port": 80}]}]});
        assert_eq!(format_endpoints(&v6, None), "[fd00::5]:80");
    }
}
