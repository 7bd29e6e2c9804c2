//! Namespaces: `Active` on create with the `kubernetes` finalizer and the
//! `kubernetes.io/metadata.name` label; every new namespace gets its `default` service
//! account and the `kube-root-ca.crt` config map, as the controller manager provides them.
//! Deletion is [`DeleteStrategy::Finalizing`]: Terminating, then gone with its contents.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Namespace;
use serde_json::{Value, json};

use super::{
    Column, CreateContext, DeleteStrategy, KindHooks, NameRule, ResourceKind, Subresource,
    age_column, age_of, col, name_column, name_of,
};
use crate::store::Store;
use crate::strict::DecodeError;

/// The namespaces resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    plural: "namespaces",
    singular: "namespace",
    kind: "Namespace",
    namespaced: false,
    short_names: &["ns"],
    categories: &[],
    verbs: &[
        "create", "delete", "get", "list", "patch", "update", "watch",
    ],
    subresources: &[
        Subresource {
            name: "finalize",
            kind: "Namespace",
            verbs: &["update"],
        },
        Subresource {
            name: "status",
            kind: "Namespace",
            verbs: &["get", "patch", "update"],
        },
    ],
    name_rule: NameRule::Label,
    tracks_generation: false,
    hooks: &NamespaceHooks,
};

/// Server-side behaviour of namespaces.
pub struct NamespaceHooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col("Status", "string", "The status of the namespace", 0),
    age_column(),
];

const NAME_LABEL: &str = "kubernetes.io/metadata.name";

fn ensure_name_label(obj: &mut Value) {
    let name = name_of(obj).to_string();
    let meta = &mut obj["metadata"];
    if !meta.get("labels").is_some_and(Value::is_object) {
        meta["labels"] = json!({});
    }
    meta["labels"][NAME_LABEL] = Value::String(name);
}

impl KindHooks for NamespaceHooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<Namespace>(value, "Namespace")
    }

    fn prepare_create(&self, obj: &mut Value, _ctx: &CreateContext<'_>) -> crate::Result<()> {
        obj["spec"] = json!({"finalizers": ["kubernetes"]});
        obj["status"] = json!({"phase": "Active"});
        ensure_name_label(obj);
        Ok(())
    }

    fn prepare_update(&self, new: &mut Value, old: &Value) {
        // spec.finalizers only change through /finalize, status only through /status.
        new["spec"] = old.get("spec").cloned().unwrap_or_else(|| json!({}));
        new["status"] = old.get("status").cloned().unwrap_or_else(|| json!({}));
        ensure_name_label(new);
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        (field == "status.phase").then(|| super::str_at(obj, "/status/phase").to_string())
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        vec![
            json!(name_of(obj)),
            json!(super::str_at(obj, "/status/phase")),
            json!(age_of(obj, now)),
        ]
    }

    fn delete_strategy(&self) -> DeleteStrategy {
        DeleteStrategy::Finalizing
    }

    fn after_create(&self, store: &Store, _: &Value) {
        // The service account controller and the root CA publisher give it its default
        // objects before the create returns.
        store.kick_control_plane();
    }
}
