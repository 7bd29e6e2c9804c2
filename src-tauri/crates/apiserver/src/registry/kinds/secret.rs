//! Secrets: `type` defaults to `Opaque`, `stringData` is folded into base64 `data` as the
//! apiserver does, and the `NAME TYPE DATA AGE` columns.

use base64::Engine;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use serde_json::{Value, json};

use super::{
    Column, CreateContext, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, age_column, age_of,
    col, name_column, name_of,
};
use crate::strict::DecodeError;
use kq_kube::validation::FieldError;

/// The secrets resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    plural: "secrets",
    singular: "secret",
    kind: "Secret",
    namespaced: true,
    short_names: &[],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &SecretHooks,
};

/// Server-side behaviour of secrets.
pub struct SecretHooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col(
        "Type",
        "string",
        "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
        0,
    ),
    col(
        "Data",
        "string",
        "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
        0,
    ),
    age_column(),
];

fn fold_string_data(obj: &mut Value) {
    if obj
        .get("type")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        obj["type"] = json!("Opaque");
    }
    let Some(sd) = obj.as_object_mut().and_then(|o| o.remove("stringData")) else {
        return;
    };
    let Some(sd) = sd.as_object() else { return };
    if !obj.get("data").is_some_and(Value::is_object) {
        obj["data"] = json!({});
    }
    for (k, v) in sd {
        let enc = base64::engine::general_purpose::STANDARD.encode(v.as_str().unwrap_or_default());
        obj["data"][k] = Value::String(enc);
    }
}

impl KindHooks for SecretHooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<Secret>(value, "Secret")
    }

    fn prepare_create(&self, obj: &mut Value, _ctx: &CreateContext<'_>) -> crate::Result<()> {
        fold_string_data(obj);
        Ok(())
    }

    fn prepare_update(&self, new: &mut Value, _old: &Value) {
        fold_string_data(new);
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        super::configmap::validate_keys(obj, &["data"], &mut errs);
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        let (nt, ot) = (super::str_at(new, "/type"), super::str_at(old, "/type"));
        if nt != ot {
            errs.push(FieldError::invalid("type", nt, "field is immutable"));
        }
        errs
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        (field == "type").then(|| super::str_at(obj, "/type").to_string())
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let data = obj
            .get("data")
            .and_then(Value::as_object)
            .map_or(0, |m| m.len());
        vec![
            json!(name_of(obj)),
            json!(super::str_at(obj, "/type")),
            json!(data),
            json!(age_of(obj, now)),
        ]
    }
}
