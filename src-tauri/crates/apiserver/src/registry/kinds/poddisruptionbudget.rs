//! PodDisruptionBudgets (scaffold: the kind is served with its typed decoding and `NAME AGE` columns; its
//! strategy, validation and printer columns are filled in where the issue builds them).

use jiff::Timestamp;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde_json::{Value, json};

use super::{
    Column, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, Subresource, age_column, age_of,
    name_column, name_of,
};
use crate::strict::DecodeError;

/// The poddisruptionbudgets resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "policy",
    version: "v1",
    plural: "poddisruptionbudgets",
    singular: "poddisruptionbudget",
    kind: "PodDisruptionBudget",
    namespaced: true,
    short_names: &["pdb"],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[Subresource {
        name: "status",
        kind: "PodDisruptionBudget",
        verbs: &["get", "patch", "update"],
    }],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &Hooks,
};

/// Server-side behaviour of poddisruptionbudgets.
pub struct Hooks;

static COLUMNS: &[Column] = &[name_column(), age_column()];

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<PodDisruptionBudget>(value, "PodDisruptionBudget")
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        vec![json!(name_of(obj)), json!(age_of(obj, now))]
    }
}
