//! PersistentVolumes (scaffold: the kind is served with its typed decoding and `NAME AGE` columns; its
//! strategy, validation and printer columns are filled in where the issue builds them).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::PersistentVolume;
use serde_json::{Value, json};

use super::{
    Column, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, Subresource, age_column, age_of,
    name_column, name_of,
};
use crate::strict::DecodeError;

/// The persistentvolumes resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    plural: "persistentvolumes",
    singular: "persistentvolume",
    kind: "PersistentVolume",
    namespaced: false,
    short_names: &["pv"],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[Subresource {
        name: "status",
        kind: "PersistentVolume",
        verbs: &["get", "patch", "update"],
    }],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &Hooks,
};

/// Server-side behaviour of persistentvolumes.
pub struct Hooks;

static COLUMNS: &[Column] = &[name_column(), age_column()];

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<PersistentVolume>(value, "PersistentVolume")
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        vec![json!(name_of(obj)), json!(age_of(obj, now))]
    }
}
