//! ResourceQuotas (scaffold: the kind is served with its typed decoding and `NAME AGE` columns; its
//! strategy, validation and printer columns are filled in where the issue builds them).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ResourceQuota;
use serde_json::{Value, json};

use super::{
    Column, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, Subresource, age_column, age_of,
    name_column, name_of,
};
use crate::strict::DecodeError;

/// The resourcequotas resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    plural: "resourcequotas",
    singular: "resourcequota",
    kind: "ResourceQuota",
    namespaced: true,
    short_names: &["quota"],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[Subresource {
        name: "status",
        kind: "ResourceQuota",
        verbs: &["get", "patch", "update"],
    }],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &Hooks,
};

/// Server-side behaviour of resourcequotas.
pub struct Hooks;

static COLUMNS: &[Column] = &[name_column(), age_column()];

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<ResourceQuota>(value, "ResourceQuota")
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        vec![json!(name_of(obj)), json!(age_of(obj, now))]
    }
}
