//! Leases (scaffold: the kind is served with its typed decoding and `NAME AGE` columns; its
//! strategy, validation and printer columns are filled in where the issue builds them).

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use serde_json::{Value, json};

use super::{
    Column, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, age_column, age_of, name_column,
    name_of,
};
use crate::strict::DecodeError;

/// The leases resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "coordination.k8s.io",
    version: "v1",
    plural: "leases",
    singular: "lease",
    kind: "Lease",
    namespaced: true,
    short_names: &[],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &Hooks,
};

/// Server-side behaviour of leases.
pub struct Hooks;

static COLUMNS: &[Column] = &[name_column(), age_column()];

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<Lease>(value, "Lease")
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        vec![json!(name_of(obj)), json!(age_of(obj, now))]
    }
}
