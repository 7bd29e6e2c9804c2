//! Impersonation: a request that carries `Impersonate-User`, `Impersonate-Group`,
//! `Impersonate-Uid` or `Impersonate-Extra-<key>` headers (kubectl `--as`, `--as-group`,
//! `--as-uid`) runs as the user it names, once the requester may `impersonate` each part
//! (Kubernetes: `k8s.io/apiserver/pkg/endpoints/filters/impersonation.go`).
//!
//! Each part is authorized on its own, in kube-apiserver's order (the user, then each group,
//! each extra value, then the uid): `impersonate` on `users` named after the user, or on the
//! `serviceaccounts` object in its namespace for `system:serviceaccount:<ns>:<name>` (whose
//! groups, when none are given, are the ServiceAccount groups); on `groups`; on
//! `userextras/<key>` and `uids` in `authentication.k8s.io`. The first refusal is the
//! request's answer, with the ordinary Forbidden text. An impersonated user other than
//! `system:anonymous` is also in `system:authenticated`.

use std::collections::BTreeMap;

use hyper::HeaderMap;

use super::authn::{service_account_groups, split_service_account_username};
use super::{RequestAttributes, UserInfo, authorize, forbidden};
use crate::error::Error;
use crate::storage::Store;

const USER: &str = "impersonate-user";
const GROUP: &str = "impersonate-group";
const UID: &str = "impersonate-uid";
const EXTRA_PREFIX: &str = "impersonate-extra-";

/// Is any impersonation header present?
pub fn requested(headers: &HeaderMap) -> bool {
    headers
        .keys()
        .any(|k| k.as_str().starts_with("impersonate-"))
}

/// Percent-decoding of an extra key in a header name (`unescapeExtraKey`).
fn unescape(key: &str) -> String {
    let b = key.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The user `requester` acts as, or the refusal; `Ok(None)` when nothing is impersonated.
pub fn impersonate(
    store: &Store,
    requester: &UserInfo,
    headers: &HeaderMap,
) -> Result<Option<UserInfo>, Error> {
    if !requested(headers) {
        return Ok(None);
    }
    let value = |v: &hyper::header::HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();
    let user = headers.get(USER).map(value).unwrap_or_default();
    let groups: Vec<String> = headers.get_all(GROUP).iter().map(value).collect();
    let uid = headers.get(UID).map(value);
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in headers {
        if let Some(key) = k.as_str().strip_prefix(EXTRA_PREFIX) {
            extra.entry(unescape(key)).or_default().push(value(v));
        }
    }
    if user.is_empty() {
        return Err(Error::Internal(
            "requested groups, a uid or user extras without impersonating a user".into(),
        ));
    }
    let check = |attrs: RequestAttributes| -> Result<(), Error> {
        let decision = authorize(store, requester, &attrs);
        if decision.allowed() {
            Ok(())
        } else {
            let reason = match &decision {
                super::Decision::Allow(r)
                | super::Decision::Deny(r)
                | super::Decision::NoOpinion(r) => r.clone(),
            };
            Err(forbidden(requester, &attrs, &reason))
        }
    };
    let impersonate =
        |group: &str, resource: &str, sub: &str, ns: &str, name: &str| RequestAttributes {
            verb: "impersonate".into(),
            resource_request: true,
            api_group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            namespace: ns.into(),
            name: name.into(),
            ..Default::default()
        };
    let mut groups_out = groups.clone();
    match split_service_account_username(&user) {
        Some((ns, name)) => {
            check(impersonate("", "serviceaccounts", "", ns, name))?;
            if groups.is_empty() {
                groups_out = service_account_groups(ns);
            }
        }
        None => check(impersonate("", "users", "", "", &user))?,
    }
    for g in &groups {
        check(impersonate("", "groups", "", "", g))?;
    }
    for (key, values) in &extra {
        for v in values {
            check(impersonate(
                "authentication.k8s.io",
                "userextras",
                key,
                "",
                v,
            ))?;
        }
    }
    if let Some(uid) = &uid {
        check(impersonate("authentication.k8s.io", "uids", "", "", uid))?;
    }
    if user == "system:anonymous" {
        if !groups_out.iter().any(|g| g == "system:unauthenticated") {
            groups_out.push("system:unauthenticated".into());
        }
    } else if !groups_out.iter().any(|g| g == "system:authenticated") {
        groups_out.push("system:authenticated".into());
    }
    Ok(Some(UserInfo {
        name: user,
        uid: uid.unwrap_or_default(),
        groups: groups_out,
        extra,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    /// A store where `kubeadm:cluster-admins` may impersonate anyone (what `cluster-admin`
    /// grants), through objects of the test's own.
    fn store() -> std::sync::Arc<Store> {
        let store = Store::new(
            std::sync::Arc::new(crate::clock::Clock::new(0.0)),
            String::new(),
            10,
        );
        let opts = crate::store::WriteOptions::default();
        store
            .create(
                &crate::kinds::clusterrole::KIND,
                "",
                serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": "test-impersonator"},
                    "rules": [{"apiGroups": ["", "authentication.k8s.io"], "verbs": ["impersonate"],
                        "resources": ["users", "groups", "serviceaccounts", "userextras/scopes", "uids"]}]}),
                &opts,
            )
            .expect("a role");
        store
            .create(
                &crate::kinds::clusterrolebinding::KIND,
                "",
                serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": "test-impersonator"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "test-impersonator"},
                    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "kubeadm:cluster-admins"}]}),
                &opts,
            )
            .expect("a binding");
        store
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("a header value"));
        }
        h
    }

    #[test]
    fn no_headers_is_no_impersonation() {
        let r = impersonate(&store(), &UserInfo::cluster_admin(), &HeaderMap::new());
        assert_eq!(r.ok(), Some(None));
    }

    #[test]
    fn the_admin_becomes_the_user_and_groups_it_names_plus_system_authenticated() {
        let h = headers(&[
            ("impersonate-user", "jane"),
            ("impersonate-group", "devs"),
            ("impersonate-group", "ops"),
            ("impersonate-extra-scopes", "view"),
        ]);
        let u = impersonate(&store(), &UserInfo::cluster_admin(), &h)
            .expect("the admin may impersonate")
            .expect("a user");
        assert_eq!(u.name, "jane");
        assert_eq!(u.groups, ["devs", "ops", "system:authenticated"]);
        assert_eq!(u.extra["scopes"], ["view"]);
    }

    #[test]
    fn a_service_account_gets_its_groups_when_none_are_named() {
        let h = headers(&[("impersonate-user", "system:serviceaccount:dev:bot")]);
        let u = impersonate(&store(), &UserInfo::cluster_admin(), &h)
            .expect("allowed")
            .expect("a user");
        assert_eq!(
            u.groups,
            [
                "system:serviceaccounts",
                "system:serviceaccounts:dev",
                "system:authenticated"
            ]
        );
    }

    #[test]
    fn a_user_without_the_right_is_refused_with_the_forbidden_text() {
        let alice = UserInfo {
            name: "alice".into(),
            groups: vec!["system:authenticated".into()],
            ..Default::default()
        };
        let h = headers(&[("impersonate-user", "bob")]);
        let e = impersonate(&store(), &alice, &h).expect_err("alice may not impersonate");
        assert_eq!(
            e.to_string(),
            "users \"bob\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
        );
        let h = headers(&[
            ("impersonate-user", "jane"),
            ("impersonate-group", "system:masters"),
        ]);
        assert!(
            impersonate(&store(), &alice, &h).is_err(),
            "every impersonated part is checked"
        );
    }

    #[test]
    fn a_group_without_a_user_is_refused() {
        let h = headers(&[("impersonate-group", "devs")]);
        assert!(impersonate(&store(), &UserInfo::cluster_admin(), &h).is_err());
    }

    #[test]
    fn extra_keys_are_unescaped() {
        assert_eq!(unescape("example.com%2fscope"), "example.com/scope");
        assert_eq!(unescape("plain"), "plain");
        assert_eq!(unescape("bad%zz"), "bad%zz");
    }
}
