//! API discovery, legacy and aggregated, negotiated by the Accept header.
//!
//! kubectl 1.27–1.29 ask only for `apidiscovery.k8s.io/v2beta1`; 1.30+ ask for v2 first. We
//! answer with the first aggregated version the client lists, and with the legacy
//! `APIVersions`/`APIGroupList` when it asks for neither. Answering v2 to a v2beta1-only
//! client breaks kubectl 1.27 (`the server doesn't have a resource type "pods"`).

use serde_json::{Value, json};

use super::{ApiState, Body, json_response};
use crate::error::{Error, Result};
use crate::kinds::{self, ResourceKind};

/// Which discovery document the client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Legacy,
    Aggregated(&'static str),
}

fn negotiate(accept: &str) -> Flavor {
    for range in accept.split(',') {
        let parts: Vec<&str> = range.split(';').map(str::trim).collect();
        let media = parts.first().copied().unwrap_or_default();
        let param = |k: &str| {
            parts
                .iter()
                .skip(1)
                .find_map(|p| p.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
        };
        if media == "application/json"
            && param("g") == Some("apidiscovery.k8s.io")
            && param("as") == Some("APIGroupDiscoveryList")
        {
            match param("v") {
                Some("v2") => return Flavor::Aggregated("v2"),
                Some("v2beta1") => return Flavor::Aggregated("v2beta1"),
                _ => continue,
            }
        }
        if media == "application/json" || media == "*/*" || media == "application/*" {
            return Flavor::Legacy;
        }
    }
    Flavor::Legacy
}

fn groups() -> Vec<&'static str> {
    let mut g: Vec<&'static str> = kinds::ALL
        .iter()
        .map(|k| k.group)
        .filter(|g| !g.is_empty())
        .collect();
    g.dedup();
    g
}

/// Subresources answering with another group's type: Eviction lives in policy/v1 and Scale
/// in autoscaling/v1; the others answer with their own group's types.
fn sub_group_version(sub_kind: &str) -> Option<(&'static str, &'static str)> {
    match sub_kind {
        "Eviction" => Some(("policy", "v1")),
        "Scale" => Some(("autoscaling", "v1")),
        _ => None,
    }
}

fn response_kind(kind: &ResourceKind, sub_kind: &str) -> Value {
    let (group, version) = sub_group_version(sub_kind).unwrap_or((kind.group, kind.version));
    json!({"group": group, "version": version, "kind": sub_kind})
}

fn aggregated_resource(kind: &ResourceKind) -> Value {
    let mut r = json!({
        "resource": kind.plural,
        "responseKind": response_kind(kind, kind.kind),
        "scope": if kind.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": kind.singular,
        "verbs": kind.verbs,
    });
    if !kind.short_names.is_empty() {
        r["shortNames"] = json!(kind.short_names);
    }
    if !kind.categories.is_empty() {
        r["categories"] = json!(kind.categories);
    }
    if !kind.subresources.is_empty() {
        r["subresources"] = kind
            .subresources
            .iter()
            .map(|s| json!({"subresource": s.name, "responseKind": response_kind(kind, s.kind), "verbs": s.verbs}))
            .collect();
    }
    r
}

/// The kinds of a group in the order kube-apiserver lists them: by resource name (kubectl's
/// `get all` follows this order). The core group keeps the table's order.
fn group_kinds(group: &str) -> Vec<&'static ResourceKind> {
    let mut ks: Vec<&'static ResourceKind> = kinds::ALL
        .iter()
        .copied()
        .filter(|k| k.group == group)
        .collect();
    if !group.is_empty() {
        ks.sort_by_key(|k| k.plural);
    }
    ks
}

fn aggregated_item(group: &str) -> Value {
    let resources: Vec<Value> = group_kinds(group)
        .into_iter()
        .map(aggregated_resource)
        .collect();
    let version = kinds::ALL
        .iter()
        .find(|k| k.group == group)
        .map_or("v1", |k| k.version);
    let mut meta = json!({"creationTimestamp": null});
    if !group.is_empty() {
        meta["name"] = json!(group);
    }
    json!({"metadata": meta, "versions": [{"version": version, "resources": resources, "freshness": "Current"}]})
}

fn aggregated(version: &str, items: Vec<Value>) -> hyper::Response<Body> {
    let ct = format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList");
    let body = json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    });
    json_response(200, &ct, &body, &[])
}

/// `GET /api`.
pub(crate) fn api(state: &ApiState, accept: &str) -> hyper::Response<Body> {
    match negotiate(accept) {
        Flavor::Aggregated(v) => aggregated(v, vec![aggregated_item("")]),
        Flavor::Legacy => json_response(
            200,
            "application/json",
            &json!({
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": state.server_address}]
            }),
            &[],
        ),
    }
}

fn group_json(group: &str) -> Value {
    let version = kinds::ALL
        .iter()
        .find(|k| k.group == group)
        .map_or("v1", |k| k.version);
    let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
}

/// `GET /apis`.
pub(crate) fn apis(accept: &str) -> hyper::Response<Body> {
    match negotiate(accept) {
        Flavor::Aggregated(v) => aggregated(v, groups().into_iter().map(aggregated_item).collect()),
        Flavor::Legacy => json_response(
            200,
            "application/json",
            &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups().into_iter().map(group_json).collect::<Vec<_>>()}),
            &[],
        ),
    }
}

/// `GET /apis/<group>`.
pub(crate) fn group(group: &str) -> Result<hyper::Response<Body>> {
    if !groups().contains(&group) {
        return Err(Error::PathNotFound);
    }
    let mut g = group_json(group);
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    Ok(json_response(200, "application/json", &g, &[]))
}

/// `GET /apis/<group>/<version>`.
pub(crate) fn group_version(group: &str, version: &str) -> Result<hyper::Response<Body>> {
    if !kinds::ALL
        .iter()
        .any(|k| k.group == group && k.version == version)
    {
        return Err(Error::PathNotFound);
    }
    Ok(resource_list(group, version))
}

/// `APIResourceList` for a group version (`GET /api/v1`).
pub(crate) fn resource_list(group: &str, version: &str) -> hyper::Response<Body> {
    let mut resources = Vec::new();
    for k in group_kinds(group)
        .into_iter()
        .filter(|k| k.version == version)
    {
        let mut r = json!({
            "name": k.plural,
            "singularName": k.singular,
            "namespaced": k.namespaced,
            "kind": k.kind,
            "verbs": k.verbs,
        });
        if !k.short_names.is_empty() {
            r["shortNames"] = json!(k.short_names);
        }
        if !k.categories.is_empty() {
            r["categories"] = json!(k.categories);
        }
        resources.push(r);
        for s in k.subresources {
            let mut sr = json!({
                "name": format!("{}/{}", k.plural, s.name),
                "singularName": "",
                "namespaced": k.namespaced,
                "kind": s.kind,
                "verbs": s.verbs,
            });
            if let Some((group, version)) = sub_group_version(s.kind) {
                sr["group"] = json!(group);
                sr["version"] = json!(version);
            }
            resources.push(sr);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json_response(
        200,
        "application/json",
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_the_client() {
        let k127 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        let k132 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(negotiate(k127), Flavor::Aggregated("v2beta1"));
        assert_eq!(negotiate(k132), Flavor::Aggregated("v2"));
        assert_eq!(negotiate("application/json, */*"), Flavor::Legacy);
        assert_eq!(negotiate(""), Flavor::Legacy);
    }
}
