//! How a request's method and URL become what it asks to do: the verb, group, version,
//! resource, subresource, namespace and name an authorizer decides on (Kubernetes:
//! `k8s.io/apiserver/pkg/endpoints/request/requestinfo.go` `NewRequestInfo`).
//!
//! Resource requests are `/api/<version>/...` and `/apis/<group>/<version>/...` with at least
//! one segment after the version; everything else (`/version`, `/healthz`, discovery's
//! `/api`, `/apis/apps/v1`, `/openapi/v3`) is a non-resource request whose verb is the
//! lower-cased method. The verb of a resource request comes from its method (POST create, GET
//! and HEAD get, PUT update, PATCH patch, DELETE delete); a GET without a name is a `list`, or
//! a `watch` with `?watch=true` (the legacy `/watch/` prefix always is), and a DELETE without
//! a name is a `deletecollection`. A list or watch whose field selector pins `metadata.name`
//! is about that name, so a role limited by `resourceNames` can watch one object.

use std::collections::HashMap;

use super::RequestAttributes;

/// The segments `/namespaces/<name>/<segment>` that are subresources of the namespace itself
/// rather than resources in it (`namespaceSubresources`).
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

/// `true`, `1`, `t` ... as Go's `strconv.ParseBool`, which decoding `watch` uses.
fn parse_bool(v: &str) -> bool {
    matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

/// The name a field selector requires exactly (`metadata.name=x` or `==x`), when it is a
/// valid path segment.
fn name_from_field_selector(sel: &str) -> Option<String> {
    sel.split(',').find_map(|term| {
        let (field, value) = term
            .split_once("==")
            .or_else(|| term.split_once('='))
            .filter(|(f, _)| !f.ends_with('!'))?;
        (field.trim() == "metadata.name"
            && !value.is_empty()
            && value != "."
            && value != ".."
            && !value.contains('/')
            && !value.contains('%'))
        .then(|| value.to_string())
    })
}

/// The attributes of a request to `path` (already percent-decoded) with `method` and the
/// decoded `query`.
pub fn attributes(method: &str, path: &str, query: &HashMap<String, String>) -> RequestAttributes {
    let non_resource = || RequestAttributes {
        verb: method.to_ascii_lowercase(),
        resource_request: false,
        path: path.to_string(),
        ..Default::default()
    };
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if parts.len() < 3 {
        return non_resource();
    }
    let mut a = RequestAttributes {
        resource_request: true,
        ..Default::default()
    };
    let mut rest: &[&str] = match parts[0] {
        "api" => &parts[1..],
        "apis" => {
            if parts.len() < 4 {
                return non_resource();
            }
            a.api_group = parts[1].to_string();
            &parts[2..]
        }
        _ => return non_resource(),
    };
    a.api_version = rest[0].to_string();
    rest = &rest[1..];
    let special = rest
        .first()
        .copied()
        .filter(|s| matches!(*s, "watch" | "proxy"));
    if let Some(verb) = special {
        if rest.len() < 2 {
            // kube-apiserver refuses such a URL before authorizing it; there is nothing to
            // authorize but the path.
            return non_resource();
        }
        a.verb = verb.to_string();
        rest = &rest[1..];
    } else {
        a.verb = match method {
            "POST" => "create",
            "GET" | "HEAD" => "get",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => "delete",
            _ => "",
        }
        .to_string();
    }
    if rest.first() == Some(&"namespaces")
        && let Some(ns) = rest.get(1)
    {
        a.namespace = ns.to_string();
        if rest.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&rest[2]) {
            rest = &rest[2..];
        }
    }
    if let Some(r) = rest.first() {
        a.resource = r.to_string();
    }
    if let Some(n) = rest.get(1) {
        a.name = n.to_string();
    }
    // `proxy` as a verb keeps everything after the name as the proxied path.
    if rest.len() >= 3 && a.verb != "proxy" {
        a.subresource = rest[2].to_string();
    }
    if a.name.is_empty() && a.verb == "get" {
        a.verb = if query.get("watch").is_some_and(|v| parse_bool(v)) {
            "watch".into()
        } else {
            "list".into()
        };
    }
    if (a.verb == "watch" || a.verb == "list")
        && a.name.is_empty()
        && let Some(name) = query
            .get("fieldSelector")
            .and_then(|s| name_from_field_selector(s))
    {
        a.name = name;
    }
    if a.name.is_empty() && a.verb == "delete" {
        a.verb = "deletecollection".into();
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(method: &str, path: &str, q: &[(&str, &str)]) -> RequestAttributes {
        let q = q
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        attributes(method, path, &q)
    }

    fn res(
        verb: &str,
        group: &str,
        resource: &str,
        sub: &str,
        ns: &str,
        name: &str,
    ) -> (String, String, String, String, String, String) {
        (
            verb.into(),
            group.into(),
            resource.into(),
            sub.into(),
            ns.into(),
            name.into(),
        )
    }

    fn got(a: &RequestAttributes) -> (String, String, String, String, String, String) {
        assert!(a.resource_request, "{a:?}");
        (
            a.verb.clone(),
            a.api_group.clone(),
            a.resource.clone(),
            a.subresource.clone(),
            a.namespace.clone(),
            a.name.clone(),
        )
    }

    #[test]
    fn collections_items_and_verbs() {
        assert_eq!(
            got(&at("GET", "/api/v1/namespaces/dev/pods", &[])),
            res("list", "", "pods", "", "dev", "")
        );
        assert_eq!(
            got(&at(
                "GET",
                "/api/v1/namespaces/dev/pods",
                &[("watch", "true")]
            )),
            res("watch", "", "pods", "", "dev", "")
        );
        assert_eq!(
            got(&at("GET", "/api/v1/watch/namespaces/dev/pods", &[])),
            res("watch", "", "pods", "", "dev", "")
        );
        assert_eq!(
            got(&at("GET", "/api/v1/pods", &[])),
            res("list", "", "pods", "", "", "")
        );
        assert_eq!(
            got(&at(
                "GET",
                "/apis/apps/v1/namespaces/dev/deployments/web",
                &[]
            )),
            res("get", "apps", "deployments", "", "dev", "web")
        );
        assert_eq!(
            got(&at("POST", "/api/v1/namespaces/dev/pods", &[])),
            res("create", "", "pods", "", "dev", "")
        );
        assert_eq!(
            got(&at("PUT", "/api/v1/namespaces/dev/pods/p", &[])),
            res("update", "", "pods", "", "dev", "p")
        );
        assert_eq!(
            got(&at("PATCH", "/api/v1/namespaces/dev/pods/p", &[])),
            res("patch", "", "pods", "", "dev", "p")
        );
        assert_eq!(
            got(&at("DELETE", "/api/v1/namespaces/dev/pods/p", &[])),
            res("delete", "", "pods", "", "dev", "p")
        );
        assert_eq!(
            got(&at("DELETE", "/api/v1/namespaces/dev/pods", &[])),
            res("deletecollection", "", "pods", "", "dev", "")
        );
    }

    #[test]
    fn subresources_and_namespaces() {
        assert_eq!(
            got(&at("POST", "/api/v1/namespaces/dev/pods/p/exec", &[])),
            res("create", "", "pods", "exec", "dev", "p")
        );
        assert_eq!(
            got(&at("GET", "/api/v1/namespaces/dev/pods/p/log", &[])),
            res("get", "", "pods", "log", "dev", "p")
        );
        assert_eq!(
            got(&at(
                "POST",
                "/api/v1/namespaces/dev/serviceaccounts/bot/token",
                &[]
            )),
            res("create", "", "serviceaccounts", "token", "dev", "bot")
        );
        assert_eq!(
            got(&at("GET", "/api/v1/namespaces/dev/pods/p/proxy/a/b", &[])),
            res("get", "", "pods", "proxy", "dev", "p")
        );
        assert_eq!(
            got(&at("GET", "/api/v1/namespaces/dev", &[])),
            res("get", "", "namespaces", "", "dev", "dev")
        );
        assert_eq!(
            got(&at("PUT", "/api/v1/namespaces/dev/finalize", &[])),
            res("update", "", "namespaces", "finalize", "dev", "dev")
        );
        assert_eq!(
            got(&at("GET", "/api/v1/namespaces", &[])),
            res("list", "", "namespaces", "", "", "")
        );
        assert_eq!(
            got(&at(
                "POST",
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                &[]
            )),
            res(
                "create",
                "authorization.k8s.io",
                "selfsubjectaccessreviews",
                "",
                "",
                ""
            )
        );
    }

    #[test]
    fn a_watch_pinned_to_one_name_is_about_that_name() {
        assert_eq!(
            got(&at(
                "GET",
                "/api/v1/namespaces/dev/pods",
                &[("watch", "1"), ("fieldSelector", "metadata.name=web")]
            )),
            res("watch", "", "pods", "", "dev", "web")
        );
        assert_eq!(
            got(&at(
                "GET",
                "/api/v1/namespaces/dev/pods",
                &[("fieldSelector", "metadata.name!=web")]
            )),
            res("list", "", "pods", "", "dev", "")
        );
    }

    #[test]
    fn discovery_and_health_are_non_resource_paths() {
        for (m, p) in [
            ("GET", "/version"),
            ("GET", "/api"),
            ("GET", "/api/v1"),
            ("GET", "/apis"),
            ("GET", "/apis/apps"),
            ("GET", "/apis/apps/v1"),
            ("GET", "/openapi/v3/api/v1"),
            ("GET", "/healthz"),
        ] {
            let a = at(m, p, &[]);
            assert!(!a.resource_request, "{p}");
            assert_eq!(a.verb, "get");
            assert_eq!(a.path, p);
        }
        assert_eq!(at("POST", "/healthz", &[]).verb, "post");
    }
}
