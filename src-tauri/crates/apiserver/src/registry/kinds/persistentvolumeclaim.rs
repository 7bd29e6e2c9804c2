//! PersistentVolumeClaims: scheme defaults, validation, the update rules and the kubectl
//! table. Kubernetes keeps the same in `pkg/apis/core/v1/defaults.go`
//! (`SetDefaults_PersistentVolumeClaim`), `pkg/apis/core/validation/validation.go`
//! (`ValidatePersistentVolumeClaim`, `ValidatePersistentVolumeClaimUpdate`),
//! `pkg/registry/core/persistentvolumeclaim/strategy.go` and
//! `pkg/printers/internalversion/printers.go` (`printPersistentVolumeClaim`).
//!
//! A claim is `Pending` until the persistentvolume controller binds it; once bound its spec
//! is frozen except for a larger storage request.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kq_kube::validation::FieldError;
use serde_json::{Value, json};

use super::persistentvolume::{
    access_modes_string, storage_cell, validate_access_modes, validate_positive_storage,
    validate_volume_mode,
};
use super::{
    Column, CreateContext, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, Subresource,
    age_column, age_of, col, name_column, name_of, str_at,
};
use crate::strict::DecodeError;

/// The persistentvolumeclaims resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    plural: "persistentvolumeclaims",
    singular: "persistentvolumeclaim",
    kind: "PersistentVolumeClaim",
    namespaced: true,
    short_names: &["pvc"],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[Subresource {
        name: "status",
        kind: "PersistentVolumeClaim",
        verbs: &["get", "patch", "update"],
    }],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &Hooks,
};

/// Server-side behaviour of persistentvolumeclaims.
pub struct Hooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col(
        "Status",
        "string",
        "phase represents the current phase of PersistentVolumeClaim.",
        0,
    ),
    col(
        "Volume",
        "string",
        "volumeName is the binding reference to the PersistentVolume backing this claim.",
        0,
    ),
    col(
        "Capacity",
        "string",
        "capacity represents the actual resources of the underlying volume.",
        0,
    ),
    col(
        "Access Modes",
        "string",
        "accessModes contains the actual access modes the volume backing the PVC has.",
        0,
    ),
    col("StorageClass", "string", "StorageClass of the pvc", 0),
    col(
        "VolumeAttributesClass",
        "string",
        "VolumeAttributesClass of the pvc",
        0,
    ),
    age_column(),
    col(
        "VolumeMode",
        "string",
        "volumeMode defines what type of volume is required by the claim.",
        1,
    ),
];

/// The message of a forbidden spec change (1.29+ servers name volumeAttributesClassName).
pub const IMMUTABLE_SPEC: &str = "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims";

fn validate_claim(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    validate_claim_spec(obj.get("spec").unwrap_or(&Value::Null), "spec", &mut errs);
    errs
}

/// `ValidatePersistentVolumeClaimSpec` on the spec at `path` (claims and a StatefulSet's
/// claim templates share it).
pub fn validate_claim_spec(spec: &Value, path: &str, errs: &mut Vec<FieldError>) {
    validate_access_modes(
        spec.get("accessModes"),
        &format!("{path}.accessModes"),
        "at least 1 access mode is required",
        errs,
    );
    let wrapped = json!({"spec": spec});
    validate_positive_storage(
        &wrapped,
        "/spec/resources/requests/storage",
        &format!("{path}.resources[storage]"),
        errs,
    );
    if let Some(class) = spec.get("storageClassName").and_then(Value::as_str)
        && !class.is_empty()
    {
        for msg in kq_kube::validation::dns1123_subdomain(class) {
            errs.push(FieldError::invalid(
                format!("{path}.storageClassName"),
                class,
                msg,
            ));
        }
    }
    validate_volume_mode(&wrapped, errs);
}

/// The claim with the fields a bound claim may change taken out, for comparison.
fn frozen_spec(obj: &Value, volume_name: &Value, class: &Value, with_requests: bool) -> Value {
    let mut s = obj.get("spec").cloned().unwrap_or(json!({}));
    if let Some(o) = s.as_object_mut() {
        o.insert("volumeName".into(), volume_name.clone());
        o.insert("storageClassName".into(), class.clone());
        o.remove("volumeAttributesClassName");
        if !with_requests && let Some(r) = o.get_mut("resources").and_then(Value::as_object_mut) {
            r.remove("requests");
        }
    }
    s
}

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<PersistentVolumeClaim>(value, "PersistentVolumeClaim")
    }

    /// `SetDefaults_PersistentVolumeClaimSpec`: Filesystem.
    fn default(&self, obj: &mut Value) -> crate::Result<()> {
        if !obj.get("spec").is_some_and(Value::is_object) {
            obj["spec"] = json!({});
        }
        if obj.pointer("/spec/volumeMode").is_none_or(Value::is_null) {
            obj["spec"]["volumeMode"] = json!("Filesystem");
        }
        Ok(())
    }

    /// The strategy drops any status a client sent: a new claim is `Pending`.
    fn prepare_create(&self, obj: &mut Value, _: &CreateContext<'_>) -> crate::Result<()> {
        obj["status"] = json!({"phase": "Pending"});
        Ok(())
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_claim(obj)
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_claim(new);
        // Binding fills volumeName once; a nil class may be set once (the retroactive
        // default); a bound claim may grow.
        let old_volume = old
            .pointer("/spec/volumeName")
            .cloned()
            .unwrap_or(Value::Null);
        let new_volume = new
            .pointer("/spec/volumeName")
            .cloned()
            .unwrap_or(Value::Null);
        let volume = if old_volume.as_str().unwrap_or_default().is_empty() {
            new_volume
        } else {
            old_volume
        };
        let old_class = old
            .pointer("/spec/storageClassName")
            .cloned()
            .unwrap_or(Value::Null);
        let class = if old_class.is_null() {
            new.pointer("/spec/storageClassName")
                .cloned()
                .unwrap_or(Value::Null)
        } else {
            old_class
        };
        let bound = str_at(old, "/status/phase") == "Bound";
        if frozen_spec(new, &volume, &class, !bound) != frozen_spec(old, &volume, &class, !bound) {
            errs.push(FieldError::forbidden("spec", IMMUTABLE_SPEC));
        } else if bound {
            let q = |v: &Value| {
                v.pointer("/spec/resources/requests/storage")
                    .and_then(Value::as_str)
                    .and_then(kq_kube::quantity::Quantity::parse)
                    .map(|q| q.milli_value())
            };
            if let (Some(n), Some(o)) = (q(new), q(old))
                && n < o
            {
                errs.push(FieldError::forbidden(
                    "spec.resources.requests.storage",
                    "field can not be less than previous value",
                ));
            }
        }
        errs
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let phase = if obj.pointer("/metadata/deletionTimestamp").is_some() {
            "Terminating"
        } else {
            str_at(obj, "/status/phase")
        };
        let volume = str_at(obj, "/spec/volumeName");
        let (capacity, modes) = if volume.is_empty() {
            (String::new(), String::new())
        } else {
            (
                storage_cell(obj, "/status/capacity/storage"),
                access_modes_string(obj.pointer("/status/accessModes")),
            )
        };
        let unset = |p: &str| match obj.pointer(p).and_then(Value::as_str) {
            Some(s) => s.to_string(),
            None => "<unset>".to_string(),
        };
        vec![
            json!(name_of(obj)),
            json!(phase),
            json!(volume),
            json!(capacity),
            json!(modes),
            json!(str_at(obj, "/spec/storageClassName")),
            json!(unset("/spec/volumeAttributesClassName")),
            json!(age_of(obj, now)),
            json!(unset("/spec/volumeMode")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_needs_modes_and_a_positive_request() {
        let texts = |v: Value| -> Vec<String> {
            validate_claim(&v).iter().map(ToString::to_string).collect()
        };
        assert_eq!(
            texts(json!({"spec": {}})),
            [
                "spec.accessModes: Required value: at least 1 access mode is required",
                "spec.resources[storage]: Required value",
            ]
        );
        assert_eq!(
            texts(json!({"spec": {"accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "0"}}}})),
            ["spec.resources[storage]: Invalid value: \"0\": must be greater than zero"]
        );
    }

    #[test]
    fn a_bound_claim_may_only_grow() {
        let old = json!({"spec": {"accessModes": ["ReadWriteOnce"], "volumeName": "pv1",
            "resources": {"requests": {"storage": "1Gi"}}}, "status": {"phase": "Bound"}});
        let mut grown = old.clone();
        grown["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        assert!(Hooks.validate_update(&grown, &old).is_empty());
        let mut shrunk = old.clone();
        shrunk["spec"]["resources"]["requests"]["storage"] = json!("500Mi");
        assert_eq!(
            Hooks.validate_update(&shrunk, &old)[0].to_string(),
            "spec.resources.requests.storage: Forbidden: field can not be less than previous value"
        );
        let mut modes = old.clone();
        modes["spec"]["accessModes"] = json!(["ReadWriteMany"]);
        assert_eq!(
            Hooks.validate_update(&modes, &old)[0].to_string(),
            format!("spec: Forbidden: {IMMUTABLE_SPEC}")
        );
    }
}
