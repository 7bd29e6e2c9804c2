//! What the security and storage objectives read besides the watched pods and workloads: the
//! namespace's ResourceQuotas and PersistentVolumeClaims, the namespace itself (its Pod
//! Security labels), and the API server's answer to "may this ServiceAccount do that?".
//!
//! The last one has no object to watch: it is a `SubjectAccessReview`
//! (`authorization.k8s.io/v1`, `pkg/registry/authorization/subjectaccessreview/rest.go`), the
//! same question `kubectl auth can-i --as=system:serviceaccount:<ns>:<sa>` asks through a
//! SelfSubjectAccessReview, answered by the cluster's own authorizer, so a real cluster and the
//! embedded one are judged the same way. A ServiceAccount's user is
//! `system:serviceaccount:<ns>:<name>` with the groups `system:serviceaccounts`,
//! `system:serviceaccounts:<ns>` and `system:authenticated`
//! (`staging/src/k8s.io/apiserver/pkg/authentication/serviceaccount/util.go`). Where the
//! learner's credentials may not create cluster-wide reviews (403), the namespace's own
//! LocalSubjectAccessReview (`pkg/registry/authorization/localsubjectaccessreview/rest.go`)
//! asks the same question.
//!
//! The node objectives read the Nodes they name and the namespace's PodDisruptionBudgets (see
//! [`crate::mission::objectives::nodes`]): a drain is judged on the node itself (cordoned,
//! `spec.unschedulable`) and a budget on the status its disruption controller writes.
//!
//! A session reads these every [`READ_EVERY`] while it has such objectives (see
//! [`read_security_facts`]), as it probes `service-http` objectives; evaluation only looks at
//! the last answers ([`SecurityFacts`]). [`forbidden_in_logs`] reads the end of a container's
//! log for the API server's Forbidden answer to the app's own calls.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    LocalSubjectAccessReview, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolumeClaim, ResourceQuota};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

/// How often a session reads the facts again.
pub const READ_EVERY: Duration = Duration::from_secs(2);

/// A request as `kubectl auth can-i` names it: a verb and a resource (`pods`, `pods/log`,
/// `deployments.apps`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AccessQuestion {
    pub service_account: String,
    pub verb: String,
    /// The resource as written: `pods`, `pods/log`, `deployments.apps`.
    pub resource: String,
}

impl AccessQuestion {
    /// The resource, its API group and subresource, split as kubectl's `can-i` splits them:
    /// `deployments.apps/scale` → (`deployments`, `apps`, `scale`).
    pub fn parts(&self) -> (&str, &str, &str) {
        let (res, sub) = self
            .resource
            .split_once('/')
            .unwrap_or((&self.resource, ""));
        let (res, group) = res.split_once('.').unwrap_or((res, ""));
        (res, group, sub)
    }

    /// The ServiceAccount's user name.
    pub fn user(&self, namespace: &str) -> String {
        format!("system:serviceaccount:{namespace}:{}", self.service_account)
    }

    /// The namespaced form of [`AccessQuestion::review`], which a namespace's admin may create
    /// (kube-apiserver requires its `resourceAttributes.namespace` to be its own).
    pub fn local_review(&self, namespace: &str) -> LocalSubjectAccessReview {
        LocalSubjectAccessReview {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                namespace: Some(namespace.to_owned()),
                ..Default::default()
            },
            spec: self.review(namespace).spec,
            status: None,
        }
    }

    /// The review that asks this question in `namespace`.
    pub fn review(&self, namespace: &str) -> SubjectAccessReview {
        let (resource, group, subresource) = self.parts();
        SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(self.user(namespace)),
                groups: Some(vec![
                    "system:serviceaccounts".into(),
                    format!("system:serviceaccounts:{namespace}"),
                    "system:authenticated".into(),
                ]),
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(namespace.to_owned()),
                    verb: Some(self.verb.clone()),
                    group: Some(group.to_owned()),
                    resource: Some(resource.to_owned()),
                    subresource: (!subresource.is_empty()).then(|| subresource.to_owned()),
                    ..ResourceAttributes::default()
                }),
                ..SubjectAccessReviewSpec::default()
            },
            ..SubjectAccessReview::default()
        }
    }
}

/// The API server's answer to one [`AccessQuestion`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessAnswer {
    /// `status.allowed`, with the authorizer's reason (`RBAC: allowed by RoleBinding …`).
    Allowed { reason: String },
    /// Not allowed; the reason and evaluation error, if the authorizer gave any.
    Denied { reason: String },
    /// The review itself failed (no permission to create reviews, the cluster unreachable).
    Failed { error: String },
}

/// The last facts read, each `None` until read (or when the mission needs none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecurityFacts {
    pub quotas: Option<Vec<ResourceQuota>>,
    pub claims: Option<Vec<PersistentVolumeClaim>>,
    /// The namespace, `Some(None)` when reading found none.
    pub namespace: Option<Option<Namespace>>,
    pub access: BTreeMap<AccessQuestion, AccessAnswer>,
    /// The Nodes named by the objectives, each `None` when reading found none; a node whose
    /// read failed is missing from the map.
    pub nodes: BTreeMap<String, Option<Node>>,
    pub budgets: Option<Vec<PodDisruptionBudget>>,
}

/// Facts shared between a session's reading task and its evaluation.
pub type SharedSecurityFacts = Arc<Mutex<SecurityFacts>>;

/// What the mission's objectives need read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactsWanted {
    pub quotas: bool,
    pub claims: bool,
    pub namespace: bool,
    pub access: Vec<AccessQuestion>,
    /// Nodes, by name.
    pub nodes: Vec<String>,
    /// The namespace's PodDisruptionBudgets.
    pub budgets: bool,
}

impl FactsWanted {
    /// Whether nothing needs reading.
    pub fn is_empty(&self) -> bool {
        !self.quotas
            && !self.claims
            && !self.namespace
            && self.access.is_empty()
            && self.nodes.is_empty()
            && !self.budgets
    }
}

/// The answer in a review's status.
pub fn answer_of(review: &SubjectAccessReview) -> AccessAnswer {
    let status = review.status.clone().unwrap_or_default();
    let mut reason = status.reason.unwrap_or_default();
    if let Some(e) = status.evaluation_error.filter(|e| !e.is_empty()) {
        if !reason.is_empty() {
            reason.push_str(" - ");
        }
        reason.push_str(&e);
    }
    if status.allowed {
        AccessAnswer::Allowed { reason }
    } else {
        AccessAnswer::Denied { reason }
    }
}

/// Reads what `wanted` names in `namespace`, once. A failed read leaves that fact `None` (the
/// objective says it could not be checked), except for reviews, whose failure is the answer.
pub async fn read_security_facts(
    client: &kube::Client,
    namespace: &str,
    wanted: &FactsWanted,
) -> SecurityFacts {
    let lp = kube::api::ListParams::default();
    let mut facts = SecurityFacts::default();
    if wanted.quotas {
        let api: kube::Api<ResourceQuota> = kube::Api::namespaced(client.clone(), namespace);
        facts.quotas = api.list(&lp).await.ok().map(|l| l.items);
    }
    if wanted.claims {
        let api: kube::Api<PersistentVolumeClaim> =
            kube::Api::namespaced(client.clone(), namespace);
        facts.claims = api.list(&lp).await.ok().map(|l| l.items);
    }
    if wanted.namespace {
        let api: kube::Api<Namespace> = kube::Api::all(client.clone());
        facts.namespace = api.get_opt(namespace).await.ok();
    }
    if !wanted.nodes.is_empty() {
        let api: kube::Api<Node> = kube::Api::all(client.clone());
        for name in &wanted.nodes {
            if let Ok(node) = api.get_opt(name).await {
                facts.nodes.insert(name.clone(), node);
            }
        }
    }
    if wanted.budgets {
        let api: kube::Api<PodDisruptionBudget> = kube::Api::namespaced(client.clone(), namespace);
        facts.budgets = api.list(&lp).await.ok().map(|l| l.items);
    }
    let reviews: kube::Api<SubjectAccessReview> = kube::Api::all(client.clone());
    let local: kube::Api<LocalSubjectAccessReview> =
        kube::Api::namespaced(client.clone(), namespace);
    let pp = kube::api::PostParams::default();
    for q in &wanted.access {
        let answer = match reviews.create(&pp, &q.review(namespace)).await {
            Ok(r) => answer_of(&r),
            // A learner who administers only their namespace (a classroom's) may not create
            // cluster-wide reviews; the namespace's own review asks the same question.
            Err(kube::Error::Api(e)) if e.code == 403 => {
                match local.create(&pp, &q.local_review(namespace)).await {
                    Ok(r) => answer_of(&SubjectAccessReview {
                        status: r.status,
                        ..SubjectAccessReview::default()
                    }),
                    Err(e) => AccessAnswer::Failed {
                        error: e.to_string(),
                    },
                }
            }
            Err(e) => AccessAnswer::Failed {
                error: e.to_string(),
            },
        };
        facts.access.insert(q.clone(), answer);
    }
    facts
}

/// Reads the facts again every [`READ_EVERY`] into `shared`, until the future is dropped.
pub async fn keep_reading(
    client: kube::Client,
    namespace: String,
    wanted: FactsWanted,
    shared: SharedSecurityFacts,
) {
    if wanted.is_empty() {
        return;
    }
    loop {
        let fresh = read_security_facts(&client, &namespace, &wanted).await;
        match shared.lock() {
            Ok(mut g) => *g = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
        tokio::time::sleep(READ_EVERY).await;
    }
}

/// How much of a container's log [`forbidden_in_logs`] reads: the last lines, bounded in bytes.
const LOG_TAIL_LINES: i64 = 50;
const LOG_LIMIT_BYTES: i64 = 64 * 1024;

/// Reads the end of a container's log (the previous run's with `previous`, as `kubectl logs
/// --previous` does for a crash-looping app) and explains the last Forbidden line in it: the
/// app's own API calls refused by RBAC. `None` when the log holds none or cannot be read.
pub async fn forbidden_in_logs(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    container: &str,
    multi_container: bool,
    previous: bool,
) -> Option<crate::diagnose::Diagnosis> {
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(client.clone(), namespace);
    let params = kube::api::LogParams {
        container: Some(container.to_owned()),
        previous,
        tail_lines: Some(LOG_TAIL_LINES),
        limit_bytes: Some(LOG_LIMIT_BYTES),
        ..kube::api::LogParams::default()
    };
    let log = pods.logs(pod, &params).await.ok()?;
    let symptom = crate::diagnose::Symptom {
        namespace,
        pod,
        container: Some(container),
        multi_container,
        reason: "Forbidden",
        ..crate::diagnose::Symptom::default()
    };
    crate::diagnose::security::diagnose_forbidden_log(&symptom, &log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_is_asked_as_the_service_accounts_user_and_groups() {
        let q = AccessQuestion {
            service_account: "reporter".into(),
            verb: "get".into(),
            resource: "deployments.apps/scale".into(),
        };
        let review = serde_json::to_value(q.review("kq-rbac")).expect("serialises");
        assert_eq!(
            review["spec"],
            serde_json::json!({
                "user": "system:serviceaccount:kq-rbac:reporter",
                "groups": ["system:serviceaccounts", "system:serviceaccounts:kq-rbac",
                           "system:authenticated"],
                "resourceAttributes": {"namespace": "kq-rbac", "verb": "get", "group": "apps",
                                       "resource": "deployments", "subresource": "scale"}
            })
        );
        let local = serde_json::to_value(q.local_review("kq-rbac")).expect("serialises");
        assert_eq!(local["metadata"]["namespace"], "kq-rbac");
        assert_eq!(
            local["spec"], review["spec"],
            "the same question, namespaced"
        );
        let core = AccessQuestion {
            resource: "pods".into(),
            ..q
        };
        assert_eq!(core.parts(), ("pods", "", ""));
    }

    #[test]
    fn the_answer_keeps_the_authorizers_reason() {
        let review: SubjectAccessReview = serde_json::from_value(serde_json::json!({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {},
            "status": {"allowed": true, "reason": "RBAC: allowed by RoleBinding \
                \"read-pods/kq-rbac\" of Role \"pod-reader\" to ServiceAccount \
                \"reporter/kq-rbac\""}
        }))
        .expect("review fixture");
        assert_eq!(
            answer_of(&review),
            AccessAnswer::Allowed {
                reason: "RBAC: allowed by RoleBinding \"read-pods/kq-rbac\" of Role \
                         \"pod-reader\" to ServiceAccount \"reporter/kq-rbac\""
                    .into()
            }
        );
        let denied: SubjectAccessReview = serde_json::from_value(serde_json::json!({
            "spec": {}, "status": {"allowed": false}
        }))
        .expect("review fixture");
        assert_eq!(
            answer_of(&denied),
            AccessAnswer::Denied {
                reason: String::new()
            }
        );
    }
}
