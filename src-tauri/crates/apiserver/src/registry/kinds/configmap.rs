//! ConfigMaps: key validation and the `NAME DATA AGE` columns.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::{Value, json};

use super::{
    Column, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, age_column, age_of, col,
    name_column, name_of,
};
use crate::strict::DecodeError;
use kq_kube::validation::{self, FieldError};

/// The configmaps resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    plural: "configmaps",
    singular: "configmap",
    kind: "ConfigMap",
    namespaced: true,
    short_names: &["cm"],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &ConfigMapHooks,
};

/// Server-side behaviour of config maps.
pub struct ConfigMapHooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col(
        "Data",
        "string",
        "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
        0,
    ),
    age_column(),
];

/// Validate the keys of `data`/`binaryData`-style maps at `field`.
pub fn validate_keys(obj: &Value, sections: &[&str], errs: &mut Vec<FieldError>) {
    for section in sections {
        for k in obj
            .get(*section)
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.keys())
        {
            for e in validation::config_map_key(k) {
                errs.push(FieldError::invalid(format!("{section}[{k}]"), k, e));
            }
        }
    }
}

fn count(obj: &Value, key: &str) -> usize {
    obj.get(key)
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
}

impl KindHooks for ConfigMapHooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<ConfigMap>(value, "ConfigMap")
    }

    fn recreated_by_controllers(&self, name: &str) -> bool {
        // The root CA publisher keeps `kube-root-ca.crt` in every live namespace.
        name == "kube-root-ca.crt"
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        validate_keys(obj, &["data", "binaryData"], &mut errs);
        errs
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        vec![
            json!(name_of(obj)),
            json!(count(obj, "data") + count(obj, "binaryData")),
            json!(age_of(obj, now)),
        ]
    }
}
