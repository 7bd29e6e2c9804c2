//! The review kinds: requests that are answered, never stored (Kubernetes:
//! `pkg/registry/authorization/{selfsubjectaccessreview,subjectaccessreview,
//! localsubjectaccessreview,selfsubjectrulesreview}` and `pkg/registry/authentication/
//! {selfsubjectreview,tokenreview}`). Each is create-only; what a create answers is built in
//! the authentication and authorization layer.

use jiff::Timestamp;
use k8s_openapi::api::authentication::v1::{SelfSubjectReview, TokenReview};
use k8s_openapi::api::authorization::v1::{
    LocalSubjectAccessReview, SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview,
};
use serde_json::{Value, json};

use super::{Column, KindHooks, NameRule, ResourceKind, age_column, age_of, name_column, name_of};
use crate::strict::DecodeError;

/// The only verb a review resource serves.
const CREATE_ONLY: &[&str] = &["create"];

macro_rules! review_kind {
    ($static:ident, $hooks:ident, $ty:ty, $group:literal, $plural:literal, $singular:literal, $kind:literal, $namespaced:literal) => {
        #[doc = concat!("The ", $plural, " resource.")]
        pub static $static: ResourceKind = ResourceKind {
            group: $group,
            version: "v1",
            plural: $plural,
            singular: $singular,
            kind: $kind,
            namespaced: $namespaced,
            short_names: &[],
            categories: &[],
            verbs: CREATE_ONLY,
            subresources: &[],
            name_rule: NameRule::Subdomain,
            tracks_generation: false,
            hooks: &$hooks,
        };

        #[doc = concat!("Decoding of ", $kind, ".")]
        pub struct $hooks;

        impl KindHooks for $hooks {
            fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
                super::typed_decode::<$ty>(value, $kind)
            }

            fn columns(&self) -> &'static [Column] {
                COLUMNS
            }

            fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
                vec![json!(name_of(obj)), json!(age_of(obj, now))]
            }
        }
    };
}

static COLUMNS: &[Column] = &[name_column(), age_column()];

review_kind!(
    TOKEN_REVIEWS,
    TokenReviewHooks,
    TokenReview,
    "authentication.k8s.io",
    "tokenreviews",
    "tokenreview",
    "TokenReview",
    false
);
review_kind!(
    SELF_SUBJECT_REVIEWS,
    SelfSubjectReviewHooks,
    SelfSubjectReview,
    "authentication.k8s.io",
    "selfsubjectreviews",
    "selfsubjectreview",
    "SelfSubjectReview",
    false
);
review_kind!(
    LOCAL_SUBJECT_ACCESS_REVIEWS,
    LocalSubjectAccessReviewHooks,
    LocalSubjectAccessReview,
    "authorization.k8s.io",
    "localsubjectaccessreviews",
    "localsubjectaccessreview",
    "LocalSubjectAccessReview",
    true
);
review_kind!(
    SELF_SUBJECT_ACCESS_REVIEWS,
    SelfSubjectAccessReviewHooks,
    SelfSubjectAccessReview,
    "authorization.k8s.io",
    "selfsubjectaccessreviews",
    "selfsubjectaccessreview",
    "SelfSubjectAccessReview",
    false
);
review_kind!(
    SELF_SUBJECT_RULES_REVIEWS,
    SelfSubjectRulesReviewHooks,
    SelfSubjectRulesReview,
    "authorization.k8s.io",
    "selfsubjectrulesreviews",
    "selfsubjectrulesreview",
    "SelfSubjectRulesReview",
    false
);
review_kind!(
    SUBJECT_ACCESS_REVIEWS,
    SubjectAccessReviewHooks,
    SubjectAccessReview,
    "authorization.k8s.io",
    "subjectaccessreviews",
    "subjectaccessreview",
    "SubjectAccessReview",
    false
);
