//! What a create of a review answers: the request, with its status computed and nothing
//! stored (Kubernetes: `pkg/registry/authorization/{selfsubjectaccessreview,
//! localsubjectaccessreview,subjectaccessreview,selfsubjectrulesreview}/rest.go`,
//! `pkg/registry/authentication/{selfsubjectreview,tokenreview}/rest.go`, validation in
//! `pkg/apis/authorization/validation/validation.go`).
//!
//! * SelfSubjectAccessReview (`kubectl auth can-i`): may the caller do this? Local and plain
//!   SubjectAccessReviews ask the same about the user in the spec.
//! * SelfSubjectRulesReview (`kubectl auth can-i --list`): everything the caller may do in a
//!   namespace, with RBAC's resolution errors as `evaluationError`.
//! * SelfSubjectReview (`kubectl auth whoami`): the caller's user info.
//! * TokenReview: who a token authenticates as.
//!
//! Each answer is 201 Created, as kube-apiserver's create of these resources is.

use serde_json::{Map, Value, json};

use super::authn::{self, ISSUER, TokenSigner};
use super::{Decision, RequestAttributes, UserInfo, authorize, rules_for};
use crate::error::{Error, Result};
use crate::kinds::ResourceKind;
use crate::storage::Store;
use kq_kube::validation::FieldError;

/// The reason an authorizer gave, whatever it decided.
pub fn reason_of(d: &Decision) -> &str {
    match d {
        Decision::Allow(r) | Decision::Deny(r) | Decision::NoOpinion(r) => r,
    }
}

/// A user's info as the review APIs print it (`authenticationv1.UserInfo`).
pub fn user_info_json(u: &UserInfo) -> Value {
    let mut m = Map::new();
    m.insert("username".into(), json!(u.name));
    if !u.uid.is_empty() {
        m.insert("uid".into(), json!(u.uid));
    }
    if !u.groups.is_empty() {
        m.insert("groups".into(), json!(u.groups));
    }
    if !u.extra.is_empty() {
        m.insert("extra".into(), json!(u.extra));
    }
    Value::Object(m)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A review's common answer shape: the request, with `metadata.creationTimestamp` as the
/// server leaves it and `status` set.
fn answer(kind: &ResourceKind, body: &Value, creation: Value, status: Value) -> Value {
    let mut metadata = body
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    metadata.insert("creationTimestamp".into(), creation);
    let mut out = Map::new();
    out.insert("kind".into(), json!(kind.kind));
    out.insert("apiVersion".into(), json!(kind.api_version()));
    out.insert("metadata".into(), Value::Object(metadata));
    if let Some(spec) = body.get("spec") {
        out.insert("spec".into(), spec.clone());
    }
    out.insert("status".into(), status);
    Value::Object(out)
}

fn invalid(kind: &ResourceKind, causes: Vec<FieldError>) -> Error {
    Error::Invalid {
        group: kind.group.into(),
        kind: kind.kind.into(),
        name: String::new(),
        causes,
    }
}

/// `ValidateSelfSubjectAccessReviewSpec` (and the attribute half of the other access
/// reviews): exactly one of the two attribute sets.
fn validate_attributes(spec: &Value) -> Vec<FieldError> {
    let res = spec.get("resourceAttributes").filter(|v| !v.is_null());
    let non = spec.get("nonResourceAttributes").filter(|v| !v.is_null());
    match (res, non) {
        (Some(_), Some(_)) => vec![FieldError::invalid(
            "spec.nonResourceAttributes",
            "null",
            "cannot be specified in combination with resourceAttributes",
        )],
        (None, None) => vec![FieldError::invalid(
            "spec.resourceAttributes",
            "null",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )],
        _ => Vec::new(),
    }
}

/// The attributes an access review's spec asks about (`ResourceAttributesFrom`,
/// `NonResourceAttributesFrom`).
fn attributes_of(spec: &Value) -> RequestAttributes {
    if let Some(r) = spec.get("resourceAttributes").filter(|v| v.is_object()) {
        RequestAttributes {
            verb: str_of(r, "verb").into(),
            resource_request: true,
            api_group: str_of(r, "group").into(),
            api_version: str_of(r, "version").into(),
            resource: str_of(r, "resource").into(),
            subresource: str_of(r, "subresource").into(),
            namespace: str_of(r, "namespace").into(),
            name: str_of(r, "name").into(),
            path: String::new(),
        }
    } else {
        let n = spec
            .get("nonResourceAttributes")
            .cloned()
            .unwrap_or_default();
        RequestAttributes {
            verb: str_of(&n, "verb").into(),
            resource_request: false,
            path: str_of(&n, "path").into(),
            ..Default::default()
        }
    }
}

fn access_status(store: &Store, user: &UserInfo, attrs: &RequestAttributes) -> Value {
    let d = authorize(store, user, attrs);
    let mut status = Map::new();
    status.insert("allowed".into(), json!(d.allowed()));
    if matches!(d, Decision::Deny(_)) {
        status.insert("denied".into(), json!(true));
    }
    let reason = reason_of(&d);
    if !reason.is_empty() {
        status.insert("reason".into(), json!(reason));
    }
    Value::Object(status)
}

/// The answer to a create of review `kind` in `ns` by `caller`, or why it is refused.
pub fn create(
    store: &Store,
    signer: &TokenSigner,
    learner_token: &str,
    caller: &UserInfo,
    kind: &'static ResourceKind,
    ns: &str,
    body: &Value,
) -> Result<Value> {
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let null = Value::Null;
    match kind.plural {
        "selfsubjectaccessreviews" => {
            let errs = validate_attributes(&spec);
            if !errs.is_empty() {
                return Err(invalid(kind, errs));
            }
            let status = access_status(store, caller, &attributes_of(&spec));
            Ok(answer(kind, body, null, status))
        }
        "localsubjectaccessreviews" | "subjectaccessreviews" => {
            let mut errs = Vec::new();
            let user = str_of(&spec, "user");
            let groups = strings(spec.get("groups"));
            if kind.plural == "localsubjectaccessreviews"
                && spec
                    .get("nonResourceAttributes")
                    .is_some_and(|v| !v.is_null())
            {
                errs.push(FieldError::invalid(
                    "spec.nonResourceAttributes",
                    "null",
                    "disallowed on this kind of request",
                ));
            }
            errs.extend(validate_attributes(&spec));
            if user.is_empty() && groups.is_empty() {
                errs.push(FieldError::invalid(
                    "spec.user",
                    user,
                    "at least one of user or group must be specified",
                ));
            }
            if !errs.is_empty() {
                return Err(invalid(kind, errs));
            }
            let attrs = attributes_of(&spec);
            if kind.plural == "localsubjectaccessreviews" && attrs.namespace != ns {
                return Err(Error::BadRequest(format!(
                    "spec.resourceAttributes.namespace must match namespace: {ns}"
                )));
            }
            let extra = spec
                .get("extra")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), strings(Some(v))))
                        .collect()
                })
                .unwrap_or_default();
            let subject = UserInfo {
                name: user.into(),
                uid: str_of(&spec, "uid").into(),
                groups,
                extra,
            };
            let status = access_status(store, &subject, &attrs);
            Ok(answer(kind, body, null, status))
        }
        "selfsubjectrulesreviews" => {
            let namespace = str_of(&spec, "namespace");
            let (resource_rules, non_resource_rules, errors) = rules_for(store, caller, namespace);
            let resource_rules: Vec<Value> = resource_rules
                .iter()
                .map(|r| {
                    let mut m = Map::new();
                    m.insert("verbs".into(), json!(r.verbs));
                    if !r.api_groups.is_empty() {
                        m.insert("apiGroups".into(), json!(r.api_groups));
                    }
                    if !r.resources.is_empty() {
                        m.insert("resources".into(), json!(r.resources));
                    }
                    if !r.resource_names.is_empty() {
                        m.insert("resourceNames".into(), json!(r.resource_names));
                    }
                    Value::Object(m)
                })
                .collect();
            let non_resource_rules: Vec<Value> = non_resource_rules
                .iter()
                .map(|r| json!({"verbs": r.verbs, "nonResourceURLs": r.non_resource_urls}))
                .collect();
            let mut status = Map::new();
            status.insert("resourceRules".into(), json!(resource_rules));
            status.insert("nonResourceRules".into(), json!(non_resource_rules));
            status.insert("incomplete".into(), json!(false));
            if !errors.is_empty() {
                status.insert(
                    "evaluationError".into(),
                    json!(super::rbac::aggregate(&errors)),
                );
            }
            Ok(answer(kind, body, null, Value::Object(status)))
        }
        "selfsubjectreviews" => {
            let now = crate::clock::rfc3339(store.clock().now());
            let status = json!({"userInfo": user_info_json(caller)});
            let mut out = answer(kind, body, json!(now), status);
            if let Some(m) = out.as_object_mut() {
                m.remove("spec");
            }
            Ok(out)
        }
        "tokenreviews" => {
            let token = str_of(&spec, "token");
            if token.is_empty() {
                return Err(Error::BadRequest(
                    "token is required for TokenReview in authentication".into(),
                ));
            }
            let wanted = strings(spec.get("audiences"));
            let mut status = Map::new();
            match authn::authenticate_token(store, signer, learner_token, token) {
                Ok(user) => {
                    // Every token this server accepts is for the API server's audience.
                    let auds = vec![ISSUER.to_string()];
                    if !wanted.is_empty() && !wanted.iter().any(|a| a == ISSUER) {
                        status.insert("authenticated".into(), json!(false));
                        status.insert("user".into(), json!({}));
                        status.insert(
                            "error".into(),
                            json!("token audiences is invalid for the target audiences"),
                        );
                    } else {
                        status.insert("authenticated".into(), json!(true));
                        status.insert("user".into(), user_info_json(&user));
                        status.insert("audiences".into(), json!(auds));
                    }
                }
                Err(e) => {
                    status.insert("authenticated".into(), json!(false));
                    status.insert("user".into(), json!({}));
                    status.insert("error".into(), json!(e));
                }
            }
            Ok(answer(kind, body, null, Value::Object(status)))
        }
        _ => Err(Error::MethodNotAllowed),
    }
}

/// Is `kind` one of the review resources, whose creates are answered, never stored?
pub fn is_review(kind: &ResourceKind) -> bool {
    matches!(
        (kind.group, kind.plural),
        ("authorization.k8s.io", _)
            | (
                "authentication.k8s.io",
                "tokenreviews" | "selfsubjectreviews"
            )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::reviews;

    fn store() -> std::sync::Arc<Store> {
        Store::new(
            std::sync::Arc::new(crate::clock::Clock::new(0.0)),
            String::new(),
            10,
        )
    }

    fn jane() -> UserInfo {
        UserInfo {
            name: "jane".into(),
            groups: vec!["devs".into(), "system:authenticated".into()],
            ..Default::default()
        }
    }

    fn ask(kind: &'static ResourceKind, ns: &str, user: &UserInfo, body: Value) -> Result<Value> {
        let signer = TokenSigner::generate();
        create(&store(), &signer, "learner", user, kind, ns, &body)
    }

    #[test]
    fn a_self_subject_access_review_answers_for_the_caller_and_keeps_the_spec() {
        let body = json!({"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": {"resourceAttributes": {"namespace": "dev", "verb": "get", "resource": "pods"}}});
        let out = ask(&reviews::SELF_SUBJECT_ACCESS_REVIEWS, "", &jane(), body).expect("answered");
        assert_eq!(out["status"]["allowed"], json!(false), "{out}");
        assert_eq!(out["spec"]["resourceAttributes"]["verb"], "get");
        assert_eq!(out["kind"], "SelfSubjectAccessReview");
    }

    #[test]
    fn an_access_review_needs_exactly_one_attribute_set() {
        let body = json!({"spec": {}});
        let e = ask(&reviews::SELF_SUBJECT_ACCESS_REVIEWS, "", &jane(), body).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified"
        );
        let body = json!({"spec": {"resourceAttributes": {"verb": "get"}}});
        let e = ask(&reviews::SUBJECT_ACCESS_REVIEWS, "", &jane(), body).expect_err("refused");
        assert!(
            e.to_string().contains(
                "spec.user: Invalid value: \"\": at least one of user or group must be specified"
            ),
            "{e}"
        );
    }

    #[test]
    fn a_self_subject_review_is_the_caller() {
        let out = ask(&reviews::SELF_SUBJECT_REVIEWS, "", &jane(), json!({})).expect("answered");
        assert_eq!(
            out["status"]["userInfo"],
            json!({"username": "jane", "groups": ["devs", "system:authenticated"]})
        );
        assert!(out["metadata"]["creationTimestamp"].is_string(), "{out}");
    }

    #[test]
    fn a_token_review_reports_the_learner_and_refuses_garbage() {
        let out = ask(
            &reviews::TOKEN_REVIEWS,
            "",
            &jane(),
            json!({"spec": {"token": "learner"}}),
        )
        .expect("answered");
        assert_eq!(out["status"]["authenticated"], json!(true));
        assert_eq!(out["status"]["user"]["username"], "kubernetes-admin");
        let out = ask(
            &reviews::TOKEN_REVIEWS,
            "",
            &jane(),
            json!({"spec": {"token": "nope"}}),
        )
        .expect("answered");
        assert_eq!(out["status"]["authenticated"], json!(false));
        let e = ask(&reviews::TOKEN_REVIEWS, "", &jane(), json!({"spec": {}}))
            .expect_err("a token is required");
        assert_eq!(
            e.to_string(),
            "token is required for TokenReview in authentication"
        );
    }
}
