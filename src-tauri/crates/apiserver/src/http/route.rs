//! URL routing: which endpoint a path names (`/version`, discovery, OpenAPI, collections,
//! items, subresources, the legacy `/watch/` prefix) and which methods it allows.

use hyper::Method;
use serde_json::json;

use super::{
    ApiState, Body, Req, discovery, handlers, json_response, openapi, proxy, text_response,
};
use crate::error::{Error, Result};
use crate::kinds::{self, ResourceKind};

/// What a resource URL addresses.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A collection; `ns` is `None` for cluster-scoped kinds and all-namespace lists.
    Collection {
        kind: &'static ResourceKind,
        ns: Option<String>,
    },
    /// One object.
    Item {
        kind: &'static ResourceKind,
        ns: String,
        name: String,
    },
    /// A subresource of one object.
    Sub {
        kind: &'static ResourceKind,
        ns: String,
        name: String,
        sub: String,
    },
}

pub(crate) async fn dispatch(state: &ApiState, req: Req) -> Result<hyper::Response<Body>> {
    let segs: Vec<String> = req
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        [] => get_only(&req, || {
            Ok(json_response(200, "application/json", &root_paths(), &[]))
        }),
        ["version"] => get_only(&req, || {
            Ok(json_response(200, "application/json", &version_info(), &[]))
        }),
        ["healthz" | "livez" | "readyz"] => get_only(&req, || Ok(text_response(200, "ok"))),
        ["openapi", "v2"] => get_only(&req, || openapi::v2(&req)),
        ["openapi", "v3"] => get_only(&req, openapi::v3_index),
        ["openapi", "v3", gv @ ..] => {
            get_only(&req, || openapi::v3_group_version(&req, &gv.join("/")))
        }
        ["api"] => get_only(&req, || Ok(discovery::api(state, &req.accept))),
        ["apis"] => get_only(&req, || Ok(discovery::apis(&req.accept))),
        ["api", "v1"] => get_only(&req, || Ok(discovery::resource_list("", "v1"))),
        ["apis", group] => get_only(&req, || discovery::group(group)),
        ["apis", group, version] => get_only(&req, || discovery::group_version(group, version)),
        [
            "api",
            "v1",
            "namespaces",
            ns,
            kind @ ("services" | "pods"),
            id,
            "proxy",
            ..,
        ] => {
            let prefix = format!("/api/v1/namespaces/{ns}/{kind}/{id}/proxy");
            let rest = req.path.get(prefix.len()..).unwrap_or_default().to_string();
            let target = if *kind == "services" {
                proxy::ProxyTarget::Service(id)
            } else {
                proxy::ProxyTarget::Pod(id)
            };
            proxy::serve(state, &req, ns, target, &rest).await
        }
        ["api", "v1", rest @ ..] => resource(state, &req, "", "v1", rest).await,
        ["apis", group, version, rest @ ..] => resource(state, &req, group, version, rest).await,
        _ => Err(Error::PathNotFound),
    }
}

fn get_only(
    req: &Req,
    f: impl FnOnce() -> Result<hyper::Response<Body>>,
) -> Result<hyper::Response<Body>> {
    if req.method == Method::GET || req.method == Method::HEAD {
        f()
    } else {
        Err(Error::MethodNotAllowed)
    }
}

fn root_paths() -> serde_json::Value {
    json!({"paths": ["/api", "/api/v1", "/apis", "/apis/", "/healthz", "/livez", "/openapi/v2", "/openapi/v3", "/openapi/v3/", "/readyz", "/version"]})
}

/// `/version`, shaped like a real 1.33 apiserver's.
pub(crate) fn version_info() -> serde_json::Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": super::VERSION,
        "gitCommit": "74cdb426ed6ba5c8b5e59c2d4ff4d7c2d4e4d0a1",
        "gitTreeState": "clean",
        "buildDate": "2025-08-12T10:08:47Z",
        "goVersion": "go1.24.5",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

fn lookup(group: &str, version: &str, plural: &str) -> Result<&'static ResourceKind> {
    kinds::by_resource(group, version, plural).ok_or(Error::PathNotFound)
}

/// Parse `<rest>` after `/api/v1` or `/apis/<g>/<v>`.
fn parse_target(group: &str, version: &str, rest: &[&str]) -> Result<Target> {
    let namespaced = |plural: &str| -> Result<&'static ResourceKind> {
        let k = lookup(group, version, plural)?;
        if k.namespaced {
            Ok(k)
        } else {
            Err(Error::PathNotFound)
        }
    };
    let cluster = |plural: &str| -> Result<&'static ResourceKind> {
        let k = lookup(group, version, plural)?;
        if k.namespaced {
            Err(Error::PathNotFound)
        } else {
            Ok(k)
        }
    };
    Ok(match rest {
        ["namespaces", ns, plural]
            if group.is_empty() || lookup(group, version, plural).is_ok() =>
        {
            match namespaced(plural) {
                Ok(kind) => Target::Collection {
                    kind,
                    ns: Some(ns.to_string()),
                },
                // `/api/v1/namespaces/<name>/status|finalize`
                Err(_) if group.is_empty() => Target::Sub {
                    kind: cluster("namespaces")?,
                    ns: String::new(),
                    name: ns.to_string(),
                    sub: plural.to_string(),
                },
                Err(e) => return Err(e),
            }
        }
        ["namespaces", ns, plural, name] => Target::Item {
            kind: namespaced(plural)?,
            ns: ns.to_string(),
            name: name.to_string(),
        },
        ["namespaces", ns, plural, name, sub] => Target::Sub {
            kind: namespaced(plural)?,
            ns: ns.to_string(),
            name: name.to_string(),
            sub: sub.to_string(),
        },
        [plural] => Target::Collection {
            kind: lookup(group, version, plural)?,
            ns: None,
        },
        [plural, name] => Target::Item {
            kind: cluster(plural)?,
            ns: String::new(),
            name: name.to_string(),
        },
        [plural, name, sub] => Target::Sub {
            kind: cluster(plural)?,
            ns: String::new(),
            name: name.to_string(),
            sub: sub.to_string(),
        },
        _ => return Err(Error::PathNotFound),
    })
}

async fn resource(
    state: &ApiState,
    req: &Req,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<hyper::Response<Body>> {
    // The deprecated `/watch/` prefix means `?watch=true`.
    let (rest, legacy_watch) = match rest {
        ["watch", tail @ ..] => (tail, true),
        _ => (rest, false),
    };
    let target = parse_target(group, version, rest)?;
    if let Target::Sub { kind, sub, .. } = &target
        && !kind.subresources.iter().any(|s| s.name == *sub)
    {
        return Err(Error::PathNotFound);
    }
    let kind = match &target {
        Target::Collection { kind, .. } | Target::Item { kind, .. } | Target::Sub { kind, .. } => {
            *kind
        }
    };
    let answer = serve(state, req, target, legacy_watch).await;
    // A deprecated API version warns on every request, failed ones included, as
    // kube-apiserver records the warning before the handler runs.
    match kind.hooks.deprecation_warning() {
        Some(w) => {
            let mut resp = answer.unwrap_or_else(|e| super::error_response(&e));
            let quoted = kq_kube::validation::quote(w);
            if let Ok(h) = hyper::header::HeaderValue::from_str(&format!("299 - {quoted}")) {
                resp.headers_mut().append("Warning", h);
            }
            Ok(resp)
        }
        None => answer,
    }
}

async fn serve(
    state: &ApiState,
    req: &Req,
    target: Target,
    legacy_watch: bool,
) -> Result<hyper::Response<Body>> {
    let m = &req.method;
    match target {
        Target::Collection { kind, ns } => match *m {
            Method::GET | Method::HEAD => handlers::list(state, req, kind, ns, legacy_watch).await,
            Method::POST if !kind.namespaced || ns.is_some() => {
                handlers::create(state, req, kind, ns.as_deref().unwrap_or_default())
            }
            Method::DELETE if !kind.namespaced || ns.is_some() => {
                handlers::delete_collection(state, req, kind, ns.as_deref())
            }
            _ => Err(Error::MethodNotAllowed),
        },
        Target::Item { kind, ns, name } => {
            if legacy_watch {
                return handlers::watch_one(state, req, kind, &ns, &name).await;
            }
            match *m {
                Method::GET | Method::HEAD => handlers::get(state, req, kind, &ns, &name),
                Method::PUT => handlers::replace(state, req, kind, &ns, &name, false),
                Method::PATCH => handlers::patch(state, req, kind, &ns, &name, false),
                Method::DELETE => handlers::delete(state, req, kind, &ns, &name),
                _ => Err(Error::MethodNotAllowed),
            }
        }
        Target::Sub {
            kind,
            ns,
            name,
            sub,
        } => handlers::subresource(state, req, kind, &ns, &name, &sub).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert!(matches!(
            parse_target("", "v1", &["pods"]).unwrap(),
            Target::Collection { ns: None, .. }
        ));
        assert!(matches!(
            parse_target("", "v1", &["namespaces", "demo", "pods"]).unwrap(),
            Target::Collection { ns: Some(_), .. }
        ));
        assert!(matches!(
            parse_target("", "v1", &["namespaces", "demo"]).unwrap(),
            Target::Item { .. }
        ));
        assert!(matches!(
            parse_target("", "v1", &["namespaces", "demo", "status"]).unwrap(),
            Target::Sub { .. }
        ));
        assert!(matches!(
            parse_target("", "v1", &["namespaces", "d", "pods", "p", "log"]).unwrap(),
            Target::Sub { .. }
        ));
        assert!(
            parse_target("", "v1", &["pods", "x"]).is_err(),
            "namespaced items need a namespace"
        );
        // Not a namespaced collection: read as a namespace subresource, which dispatch rejects.
        assert!(matches!(
            parse_target("", "v1", &["namespaces", "d", "nodes"]).unwrap(),
            Target::Sub { .. }
        ));
        assert!(parse_target("", "v1", &["widgets"]).is_err());
    }
}
