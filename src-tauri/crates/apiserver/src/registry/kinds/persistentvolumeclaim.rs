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

/// The fields of `core.PersistentVolumeClaimSpec` in Go order, with how the diff prints them
/// (`true`: a pointer, printed `&"…"`).
const SPEC_FIELDS: &[(&str, &str, bool)] = &[
    ("accessModes", "AccessModes", false),
    ("selector", "Selector", false),
    ("resources", "Resources", false),
    ("volumeName", "VolumeName", false),
    ("storageClassName", "StorageClassName", true),
    ("volumeMode", "VolumeMode", true),
    ("dataSource", "DataSource", false),
    ("dataSourceRef", "DataSourceRef", false),
    (
        "volumeAttributesClassName",
        "VolumeAttributesClassName",
        true,
    ),
];

/// Quantities compare by value (`apiequality.Semantic`): `1Gi` equals `1024Mi`.
fn semantic_resources(spec: &mut Value) {
    for list in ["requests", "limits"] {
        if let Some(m) = spec
            .pointer_mut(&format!("/resources/{list}"))
            .and_then(Value::as_object_mut)
        {
            for q in m.values_mut() {
                if let Some(v) = q
                    .as_str()
                    .and_then(kq_kube::quantity::Quantity::parse)
                    .map(|q| q.milli_value())
                {
                    *q = json!(v);
                }
            }
        }
    }
}

/// `ValidatePersistentVolumeClaimUpdate`'s clones of the old and new specs: the volume name
/// may be set once, a nil class may be set once (`validateStorageClassUpgradeFromNil`, the
/// retroactive default), and a bound claim's storage request and volume attributes class
/// are taken from the old claim.
fn compared_specs(new: &Value, old: &Value) -> (Value, Value) {
    let spec = |o: &Value| o.get("spec").cloned().unwrap_or(json!({}));
    let (mut n, mut o) = (spec(new), spec(old));
    if str_at(old, "/spec/volumeName").is_empty() {
        o["volumeName"] = n.get("volumeName").cloned().unwrap_or(Value::Null);
    }
    let old_beta = old
        .pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
        .is_some();
    let old_class_nil = o.get("storageClassName").is_none_or(Value::is_null);
    let new_class_set = n.get("storageClassName").is_some_and(|c| !c.is_null());
    if !old_beta && old_class_nil && new_class_set {
        n["storageClassName"] = Value::Null;
    }
    if str_at(old, "/status/phase") == "Bound" {
        if n.pointer("/resources/requests")
            .is_some_and(Value::is_object)
        {
            match o.pointer("/resources/requests/storage").cloned() {
                Some(q) => n["resources"]["requests"]["storage"] = q,
                None => {
                    if let Some(r) = n
                        .pointer_mut("/resources/requests")
                        .and_then(Value::as_object_mut)
                    {
                        r.remove("storage");
                    }
                }
            }
        }
        if n.get("volumeAttributesClassName")
            .is_some_and(|v| !v.is_null())
        {
            n["volumeAttributesClassName"] = o
                .get("volumeAttributesClassName")
                .cloned()
                .unwrap_or(Value::Null);
        }
    }
    for spec in [&mut n, &mut o] {
        semantic_resources(spec);
        if let Some(m) = spec.as_object_mut() {
            m.retain(|_, v| !v.is_null());
        }
    }
    (n, o)
}

/// A compact diff of the two specs in the manner of the `cmp.Diff` kube-apiserver appends to
/// the message: changed fields with `-`/`+`, runs of identical ones summed up.
fn spec_diff(old: &Value, new: &Value) -> String {
    fn show(v: Option<&Value>, pointer: bool) -> String {
        match v {
            None | Some(Value::Null) => "nil".into(),
            Some(Value::String(s)) if pointer => format!("&{:?}", s),
            Some(Value::Array(items)) => {
                let parts: Vec<String> = items.iter().map(Value::to_string).collect();
                format!("{{{}}}", parts.join(", "))
            }
            Some(other) => other.to_string(),
        }
    }
    let mut lines = vec!["  core.PersistentVolumeClaimSpec{".to_string()];
    let mut identical = 0;
    for (json_name, go_name, pointer) in SPEC_FIELDS {
        let (a, b) = (old.get(*json_name), new.get(*json_name));
        let same = a.unwrap_or(&Value::Null) == b.unwrap_or(&Value::Null);
        if same {
            identical += 1;
            continue;
        }
        if identical > 0 {
            lines.push(format!("  \t... // {identical} identical fields"));
            identical = 0;
        }
        lines.push(format!("- \t{go_name}: {},", show(a, *pointer)));
        lines.push(format!("+ \t{go_name}: {},", show(b, *pointer)));
    }
    if identical > 0 {
        lines.push(format!("  \t... // {identical} identical fields"));
    }
    lines.push("  }".to_string());
    lines.join("\n")
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
        let (n, o) = compared_specs(new, old);
        if n != o {
            errs.push(FieldError::forbidden(
                "spec",
                format!("{IMMUTABLE_SPEC}\n{}", spec_diff(&o, &n)),
            ));
            return errs;
        }
        if str_at(old, "/status/phase") != "Bound" {
            return errs;
        }
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
            format!(
                "spec: Forbidden: {IMMUTABLE_SPEC}\n  core.PersistentVolumeClaimSpec{{\n- \tAccessModes: {{\"ReadWriteOnce\"}},\n+ \tAccessModes: {{\"ReadWriteMany\"}},\n  \t... // 8 identical fields\n  }}"
            )
        );
    }

    fn claim(class: Value, phase: &str) -> Value {
        json!({"metadata": {"name": "c"}, "spec": {"accessModes": ["ReadWriteOnce"],
            "storageClassName": class, "volumeMode": "Filesystem",
            "resources": {"requests": {"storage": "1Gi"}}}, "status": {"phase": phase}})
    }

    #[test]
    fn a_claim_cannot_change_its_class_but_a_nil_class_may_be_set_once() {
        for phase in ["Pending", "Bound"] {
            // `kubectl apply` of the same claim with another class is refused.
            let errs =
                Hooks.validate_update(&claim(json!("standard"), phase), &claim(json!(""), phase));
            assert_eq!(
                errs.iter().map(ToString::to_string).collect::<Vec<_>>(),
                [format!(
                    "spec: Forbidden: {IMMUTABLE_SPEC}\n  core.PersistentVolumeClaimSpec{{\n  \t... // 4 identical fields\n- \tStorageClassName: &\"\",\n+ \tStorageClassName: &\"standard\",\n  \t... // 4 identical fields\n  }}"
                )],
                "{phase}"
            );
            let errs = Hooks.validate_update(&claim(json!("b"), phase), &claim(json!("a"), phase));
            assert_eq!(errs.len(), 1, "{phase}");
            // Unsetting a class is a change too.
            let errs = Hooks.validate_update(&claim(Value::Null, phase), &claim(json!("a"), phase));
            assert_eq!(errs.len(), 1, "{phase}");
        }
        // A claim created without a class may get one (the retroactive default), once.
        assert!(
            Hooks
                .validate_update(
                    &claim(json!("standard"), "Pending"),
                    &claim(Value::Null, "Pending")
                )
                .is_empty()
        );
        let mut beta = claim(Value::Null, "Pending");
        beta["metadata"]["annotations"] = json!({"volume.beta.kubernetes.io/storage-class": "old"});
        let mut beta_new = claim(json!("standard"), "Pending");
        beta_new["metadata"]["annotations"] = beta["metadata"]["annotations"].clone();
        assert_eq!(Hooks.validate_update(&beta_new, &beta).len(), 1);
    }

    #[test]
    fn only_a_bound_claim_may_change_its_request_or_attributes_class() {
        let grown = |phase: &str| {
            let mut c = claim(json!("standard"), phase);
            c["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
            c
        };
        assert_eq!(
            Hooks
                .validate_update(&grown("Pending"), &claim(json!("standard"), "Pending"))
                .len(),
            1
        );
        assert!(
            Hooks
                .validate_update(&grown("Bound"), &claim(json!("standard"), "Bound"))
                .is_empty()
        );
        let vac = |phase: &str| {
            let mut c = claim(json!("standard"), phase);
            c["spec"]["volumeAttributesClassName"] = json!("fast");
            c
        };
        assert_eq!(
            Hooks
                .validate_update(&vac("Pending"), &claim(json!("standard"), "Pending"))
                .len(),
            1
        );
        assert!(
            Hooks
                .validate_update(&vac("Bound"), &claim(json!("standard"), "Bound"))
                .is_empty()
        );
        // The same size written another way is no change.
        let mut same = claim(json!("standard"), "Pending");
        same["spec"]["resources"]["requests"]["storage"] = json!("1024Mi");
        assert!(
            Hooks
                .validate_update(&same, &claim(json!("standard"), "Pending"))
                .is_empty()
        );
    }
}
