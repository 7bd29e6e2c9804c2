//! Who a request is and what it may do: authentication, impersonation and authorization
//! (Kubernetes: `k8s.io/apiserver/pkg/authentication`, `pkg/endpoints/filters/
//! {authentication,impersonation,authorization}.go` and the RBAC authorizer,
//! `plugin/pkg/auth/authorizer/rbac`).
//!
//! A request is authenticated to a [`UserInfo`], possibly replaced by the user it
//! impersonates, described by [`RequestAttributes`] (verb, group, resource, subresource,
//! namespace, name, or a non-resource path) and answered with a [`Decision`] by
//! [`authorize`].

use std::collections::BTreeMap;

use crate::storage::Store;

pub mod authn;
pub mod bootstrap;
pub mod impersonation;
pub mod rbac;
pub mod requestinfo;
pub mod reviews;

tokio::task_local! {
    /// The user a request runs as, for checks made deep in a write (RBAC's escalation check
    /// on roles and bindings). Writes with no requester are the cluster's own.
    static REQUESTER: UserInfo;
}

/// Run `f` with `user` as the requester of every write it makes.
pub fn acting_as<R>(user: UserInfo, f: impl FnOnce() -> R) -> R {
    REQUESTER.sync_scope(user, f)
}

/// Run the future `fut` with `user` as the requester of every write it makes.
pub async fn acting_as_async<F: std::future::Future>(user: UserInfo, fut: F) -> F::Output {
    REQUESTER.scope(user, fut).await
}

/// The user the current request runs as, if the write comes from a request.
pub fn requester() -> Option<UserInfo> {
    REQUESTER.try_with(Clone::clone).ok()
}

/// An authenticated identity (`user.Info`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name (`kubernetes-admin`, `system:serviceaccount:<ns>:<name>`).
    pub name: String,
    /// The user's UID, empty when the authenticator gives none.
    pub uid: String,
    /// Groups, including `system:authenticated` for every authenticated user.
    pub groups: Vec<String>,
    /// Extra attributes (`authentication.kubernetes.io/credential-id`, pod bindings).
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// The identity behind the learner's kubeconfig token: kubeadm's admin user, whose group
    /// kubeadm binds to `cluster-admin`.
    pub fn cluster_admin() -> UserInfo {
        UserInfo {
            name: "kubernetes-admin".into(),
            uid: String::new(),
            groups: vec![
                "kubeadm:cluster-admins".into(),
                "system:authenticated".into(),
            ],
            extra: BTreeMap::new(),
        }
    }
}

/// What a request asks to do (`authorizer.AttributesRecord`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestAttributes {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`,
    /// `impersonate`, ... (for non-resource requests the lower-cased HTTP method).
    pub verb: String,
    /// Whether this is a resource request (else `path` is what is asked for).
    pub resource_request: bool,
    /// API group (`""` for core).
    pub api_group: String,
    /// API version.
    pub api_version: String,
    /// Plural resource (`pods`).
    pub resource: String,
    /// Subresource (`log`, `exec`, `status`), empty for the main resource.
    pub subresource: String,
    /// Namespace, empty for cluster-scoped resources and all-namespace requests.
    pub namespace: String,
    /// Object name, empty for collections.
    pub name: String,
    /// The URL path of a non-resource request (`/healthz`).
    pub path: String,
}

/// An authorizer's answer (`authorizer.Decision` and its reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed; the reason names the binding that allowed it.
    Allow(String),
    /// Denied outright.
    Deny(String),
    /// Neither: with no other authorizer, the request is forbidden; the reason is why.
    NoOpinion(String),
}

impl Decision {
    /// Is the request allowed?
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

/// Decide whether `user` may do what `attrs` describes, as kube-apiserver's authorizer chain
/// does: first the privileged-group authorizer, which allows anything to a member of
/// `system:masters` (with no reason) whatever the RBAC objects say, so an administrator who
/// deletes or edits the `cluster-admin` role or binding cannot lock themselves out; then RBAC
/// from the objects in `store` (the last authorizer: its no-opinion is a denial, and its
/// reason goes after the Forbidden text, see [`forbidden`]).
pub fn authorize(store: &Store, user: &UserInfo, attrs: &RequestAttributes) -> Decision {
    if user.groups.iter().any(|g| g == SYSTEM_MASTERS) {
        return Decision::Allow(String::new());
    }
    rbac::authorize(store, user, attrs)
}

/// The group kube-apiserver trusts with every request (`user.SystemPrivilegedGroup`).
pub const SYSTEM_MASTERS: &str = "system:masters";

/// The 403 a denied request gets (`responsewriters.Forbidden`): `pods "x" is forbidden:
/// User "u" cannot get resource "pods" in API group "" in the namespace "dev"`, without the
/// name for collections, `forbidden: User "u" cannot get path "/x"` for non-resource URLs,
/// and `: <reason>` after it when the authorizer gave one.
pub fn forbidden(user: &UserInfo, attrs: &RequestAttributes, reason: &str) -> crate::Error {
    let msg = denial_message(user, attrs);
    let reason = if reason.is_empty() {
        msg
    } else {
        format!("{msg}: {reason}")
    };
    if attrs.resource_request {
        crate::Error::Forbidden {
            group: attrs.api_group.clone(),
            resource: attrs.resource.clone(),
            name: attrs.name.clone(),
            reason,
        }
    } else {
        crate::Error::Forbidden {
            group: String::new(),
            resource: String::new(),
            name: String::new(),
            reason,
        }
    }
}

/// `forbiddenMessage`, with `&`, `<` and `>` escaped as the API server escapes them.
fn denial_message(user: &UserInfo, attrs: &RequestAttributes) -> String {
    use kq_kube::validation::quote;
    let msg = if !attrs.resource_request {
        format!(
            "User {} cannot {} path {}",
            quote(&user.name),
            attrs.verb,
            quote(&attrs.path)
        )
    } else {
        let resource = if attrs.subresource.is_empty() {
            attrs.resource.clone()
        } else {
            format!("{}/{}", attrs.resource, attrs.subresource)
        };
        let head = format!(
            "User {} cannot {} resource {} in API group {}",
            quote(&user.name),
            attrs.verb,
            quote(&resource),
            quote(&attrs.api_group)
        );
        if attrs.namespace.is_empty() {
            format!("{head} at the cluster scope")
        } else {
            format!("{head} in the namespace {}", quote(&attrs.namespace))
        }
    };
    msg.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One rule of what a subject may do on resources (`authorizationv1.ResourceRule`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceRule {
    /// Verbs (`*` for all).
    pub verbs: Vec<String>,
    /// API groups (`*` for all).
    pub api_groups: Vec<String>,
    /// Resources, with `/subresource` where a rule names one (`*` for all).
    pub resources: Vec<String>,
    /// Resource names the rule is limited to; empty for all.
    pub resource_names: Vec<String>,
}

/// One rule of what a subject may do on non-resource URLs (`authorizationv1.NonResourceRule`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NonResourceRule {
    /// Verbs (`get`, `*`).
    pub verbs: Vec<String>,
    /// URL paths, possibly ending in `*`.
    pub non_resource_urls: Vec<String>,
}

/// What `user` may do in `namespace` (cluster-wide rules included), as a
/// SelfSubjectRulesReview answers: the rules, and the resolution errors that make the list
/// incomplete (`RBAC: role.rbac.authorization.k8s.io "x" not found`).
///
/// Each error is one resolution failure; an `evaluationError` shows them aggregated
/// ([`rbac::aggregate`]).
pub fn rules_for(
    store: &Store,
    user: &UserInfo,
    namespace: &str,
) -> (Vec<ResourceRule>, Vec<NonResourceRule>, Vec<String>) {
    let (rules, errors) = rbac::rules_for(store, user, namespace);
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    for r in rules {
        // A rule can hold both halves; each half is reported where it belongs.
        if r.resources.as_ref().is_some_and(|v| !v.is_empty()) {
            resource_rules.push(ResourceRule {
                verbs: r.verbs.clone(),
                api_groups: r.api_groups.clone().unwrap_or_default(),
                resources: r.resources.clone().unwrap_or_default(),
                resource_names: r.resource_names.clone().unwrap_or_default(),
            });
        }
        if let Some(urls) = r.non_resource_urls.filter(|v| !v.is_empty()) {
            non_resource_rules.push(NonResourceRule {
                verbs: r.verbs,
                non_resource_urls: urls,
            });
        }
    }
    (resource_rules, non_resource_rules, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa() -> UserInfo {
        UserInfo {
            name: "system:serviceaccount:dev:sa".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_collection_denial_has_no_name() {
        let attrs = RequestAttributes {
            verb: "list".into(),
            resource_request: true,
            resource: "pods".into(),
            namespace: "dev".into(),
            ..Default::default()
        };
        assert_eq!(
            forbidden(&sa(), &attrs, "").to_string(),
            r#"pods is forbidden: User "system:serviceaccount:dev:sa" cannot list resource "pods" in API group "" in the namespace "dev""#
        );
    }

    #[test]
    fn a_named_denial_qualifies_the_resource_and_appends_the_reason() {
        let attrs = RequestAttributes {
            verb: "get".into(),
            resource_request: true,
            api_group: "apps".into(),
            resource: "deployments".into(),
            subresource: "scale".into(),
            name: "web".into(),
            ..Default::default()
        };
        assert_eq!(
            forbidden(
                &sa(),
                &attrs,
                "RBAC: role.rbac.authorization.k8s.io \"r\" not found"
            )
            .to_string(),
            r#"deployments.apps "web" is forbidden: User "system:serviceaccount:dev:sa" cannot get resource "deployments/scale" in API group "apps" at the cluster scope: RBAC: role.rbac.authorization.k8s.io "r" not found"#
        );
    }

    #[test]
    fn a_path_denial_has_no_resource() {
        let attrs = RequestAttributes {
            verb: "get".into(),
            path: "/metrics".into(),
            ..Default::default()
        };
        let e = forbidden(&sa(), &attrs, "");
        assert_eq!(
            e.to_string(),
            r#"forbidden: User "system:serviceaccount:dev:sa" cannot get path "/metrics""#
        );
        assert_eq!(e.code(), 403);
    }
}
