//! StorageClasses (storage.k8s.io/v1): scheme defaults, validation, the update rules and the
//! kubectl table. Kubernetes keeps the same in `pkg/apis/storage/v1/defaults.go`,
//! `pkg/apis/storage/validation/validation.go` (`ValidateStorageClass`,
//! `ValidateStorageClassUpdate`) and `pkg/printers/internalversion/printers.go`
//! (`printStorageClass`, which marks the default class ` (default)`).

use jiff::Timestamp;
use k8s_openapi::api::storage::v1::StorageClass;
use kq_kube::validation::FieldError;
use serde_json::{Value, json};

use super::{
    Column, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, age_column, age_of, col,
    name_column, name_of, str_at,
};
use crate::strict::DecodeError;

/// The storageclasses resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "storage.k8s.io",
    version: "v1",
    plural: "storageclasses",
    singular: "storageclass",
    kind: "StorageClass",
    namespaced: false,
    short_names: &["sc"],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &Hooks,
};

/// Server-side behaviour of storageclasses.
pub struct Hooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col(
        "Provisioner",
        "string",
        "provisioner indicates the type of the provisioner.",
        0,
    ),
    col(
        "ReclaimPolicy",
        "string",
        "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.",
        0,
    ),
    col(
        "VolumeBindingMode",
        "string",
        "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.",
        0,
    ),
    col(
        "AllowVolumeExpansion",
        "string",
        "allowVolumeExpansion shows whether the storage class allow volume expand.",
        0,
    ),
    age_column(),
];

/// The annotation that makes a class the default (`storageutil.IsDefaultAnnotation`).
pub const IS_DEFAULT: &str = "storageclass.kubernetes.io/is-default-class";
const IS_DEFAULT_BETA: &str = "storageclass.beta.kubernetes.io/is-default-class";

/// Is this class marked the cluster's default?
pub fn is_default(obj: &Value) -> bool {
    let ann = obj.pointer("/metadata/annotations");
    let yes = |k: &str| ann.and_then(|a| a.get(k)).and_then(Value::as_str) == Some("true");
    yes(IS_DEFAULT) || yes(IS_DEFAULT_BETA)
}

fn validate_class(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let provisioner = str_at(obj, "/provisioner");
    if provisioner.is_empty() {
        errs.push(FieldError::required("provisioner", ""));
    } else {
        for msg in kq_kube::validation::qualified_name(&provisioner.to_lowercase()) {
            errs.push(FieldError::invalid("provisioner", provisioner, msg));
        }
    }
    if let Some(p) = obj.get("reclaimPolicy").and_then(Value::as_str)
        && p != "Delete"
        && p != "Retain"
    {
        errs.push(FieldError::not_supported(
            "reclaimPolicy",
            p,
            &["Delete", "Retain"],
        ));
    }
    if let Some(m) = obj.get("volumeBindingMode").and_then(Value::as_str)
        && m != "Immediate"
        && m != "WaitForFirstConsumer"
    {
        errs.push(FieldError::not_supported(
            "volumeBindingMode",
            m,
            &["Immediate", "WaitForFirstConsumer"],
        ));
    }
    errs
}

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<StorageClass>(value, "StorageClass")
    }

    /// `SetDefaults_StorageClass`: Delete, Immediate.
    fn default(&self, obj: &mut Value) -> crate::Result<()> {
        if obj.get("reclaimPolicy").is_none_or(Value::is_null) {
            obj["reclaimPolicy"] = json!("Delete");
        }
        if obj.get("volumeBindingMode").is_none_or(Value::is_null) {
            obj["volumeBindingMode"] = json!("Immediate");
        }
        Ok(())
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_class(obj)
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_class(new);
        if new.get("parameters") != old.get("parameters") {
            errs.push(FieldError::forbidden(
                "parameters",
                "updates to parameters are forbidden.",
            ));
        }
        if new.get("provisioner") != old.get("provisioner") {
            errs.push(FieldError::forbidden(
                "provisioner",
                "updates to provisioner are forbidden.",
            ));
        }
        if new.get("reclaimPolicy") != old.get("reclaimPolicy") {
            errs.push(FieldError::forbidden(
                "reclaimPolicy",
                "updates to reclaimPolicy are forbidden.",
            ));
        }
        if new.get("volumeBindingMode") != old.get("volumeBindingMode") {
            errs.push(FieldError::invalid(
                "volumeBindingMode",
                str_at(new, "/volumeBindingMode"),
                "field is immutable",
            ));
        }
        errs
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let mut name = name_of(obj).to_string();
        if is_default(obj) {
            name.push_str(" (default)");
        }
        let or = |p: &str, d: &str| match str_at(obj, p) {
            "" => d.to_string(),
            s => s.to_string(),
        };
        let expand = obj
            .get("allowVolumeExpansion")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        vec![
            json!(name),
            json!(str_at(obj, "/provisioner")),
            json!(or("/reclaimPolicy", "Delete")),
            json!(or("/volumeBindingMode", "Immediate")),
            json!(expand.to_string()),
            json!(age_of(obj, now)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_class_is_marked_in_its_name_cell() {
        let sc = json!({"metadata": {"name": "standard", "annotations": {IS_DEFAULT: "true"}},
            "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer"});
        let cells = Hooks.cells(&sc, Timestamp::UNIX_EPOCH);
        assert_eq!(cells[0], json!("standard (default)"));
        assert_eq!(cells[4], json!("false"));
    }

    #[test]
    fn a_class_needs_a_provisioner() {
        let errs = validate_class(&json!({"metadata": {"name": "x"}}));
        assert_eq!(errs[0].to_string(), "provisioner: Required value");
    }
}
