//! ServiceAccounts: `NAME SECRETS AGE`. Since Kubernetes 1.24 no token secrets are created,
//! so SECRETS is 0 for the `default` account every namespace gets.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ServiceAccount;
use serde_json::{Value, json};

use super::{
    Column, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, age_column, age_of, col,
    name_column, name_of,
};
use crate::strict::DecodeError;

/// The serviceaccounts resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    plural: "serviceaccounts",
    singular: "serviceaccount",
    kind: "ServiceAccount",
    namespaced: true,
    short_names: &["sa"],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[Subresource {
        name: "token",
        kind: "TokenRequest",
        verbs: &["create"],
    }],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &ServiceAccountHooks,
};

use super::Subresource;

/// Server-side behaviour of service accounts.
pub struct ServiceAccountHooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col(
        "Secrets",
        "string",
        "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret",
        0,
    ),
    age_column(),
];

impl KindHooks for ServiceAccountHooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<ServiceAccount>(value, "ServiceAccount")
    }

    fn recreated_by_controllers(&self, name: &str) -> bool {
        // The service account controller keeps `default` in every live namespace.
        name == "default"
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let secrets = obj
            .get("secrets")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        vec![json!(name_of(obj)), json!(secrets), json!(age_of(obj, now))]
    }
}
