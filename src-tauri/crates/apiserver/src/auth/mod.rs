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

/// Decide whether `user` may do what `attrs` describes, from the RBAC objects in `store`.
///
/// Scaffold: allows everything until the RBAC authorizer lands.
pub fn authorize(_store: &Store, _user: &UserInfo, _attrs: &RequestAttributes) -> Decision {
    Decision::Allow(String::new())
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
/// Scaffold: nothing until the RBAC authorizer lands.
pub fn rules_for(
    _store: &Store,
    _user: &UserInfo,
    _namespace: &str,
) -> (Vec<ResourceRule>, Vec<NonResourceRule>, Vec<String>) {
    (Vec::new(), Vec::new(), Vec::new())
}
