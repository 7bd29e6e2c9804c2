//! PersistentVolumes: scheme defaults, validation and the kubectl table. Kubernetes keeps the
//! same in `pkg/apis/core/v1/defaults.go` (`SetDefaults_PersistentVolume`),
//! `pkg/apis/core/validation/validation.go` (`ValidatePersistentVolume`,
//! `ValidatePersistentVolumeUpdate`), `pkg/registry/core/persistentvolume/strategy.go` and
//! `pkg/printers/internalversion/printers.go` (`printPersistentVolume`).
//!
//! A new volume is `Pending` until the persistentvolume controller sees it (`Available`,
//! then `Bound`, `Released` once its claim is gone).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::PersistentVolume;
use kq_kube::validation::FieldError;
use serde_json::{Value, json};

use super::{
    Column, CreateContext, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, Subresource,
    age_column, age_of, col, name_column, name_of, str_at,
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

static COLUMNS: &[Column] = &[
    name_column(),
    col(
        "Capacity",
        "string",
        "capacity is the description of the persistent volume's resources and capacity.",
        0,
    ),
    col(
        "Access Modes",
        "string",
        "accessModes contains all ways the volume can be mounted.",
        0,
    ),
    col(
        "Reclaim Policy",
        "string",
        "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.",
        0,
    ),
    col(
        "Status",
        "string",
        "phase indicates if a volume is available, bound to a claim, or released by a claim.",
        0,
    ),
    col(
        "Claim",
        "string",
        "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.",
        0,
    ),
    col("StorageClass", "string", "StorageClass of the pv", 0),
    col(
        "VolumeAttributesClass",
        "string",
        "VolumeAttributesClass of the pv",
        0,
    ),
    col(
        "Reason",
        "string",
        "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.",
        0,
    ),
    age_column(),
    col(
        "VolumeMode",
        "string",
        "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.",
        1,
    ),
];

/// The access modes the API accepts, sorted as `sets.List` gives them in error texts.
pub const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];

/// The volume sources a PersistentVolume may name (one of them).
const SOURCES: &[&str] = &[
    "awsElasticBlockStore",
    "azureDisk",
    "azureFile",
    "cephfs",
    "cinder",
    "csi",
    "fc",
    "flexVolume",
    "flocker",
    "gcePersistentDisk",
    "glusterfs",
    "hostPath",
    "iscsi",
    "local",
    "nfs",
    "photonPersistentDisk",
    "portworxVolume",
    "quobyte",
    "rbd",
    "scaleIO",
    "storageos",
    "vsphereVolume",
];

/// `helper.GetAccessModesAsString`: the short forms in a fixed order, without repeats.
pub fn access_modes_string(modes: Option<&Value>) -> String {
    let list: Vec<&str> = modes
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(m, _)| list.contains(m))
    .map(|(_, s)| *s)
    .collect::<Vec<_>>()
    .join(",")
}

/// The storage quantity at `pointer` as `Quantity.String()` prints it.
pub fn storage_cell(obj: &Value, pointer: &str) -> String {
    let raw = str_at(obj, pointer);
    kq_kube::quantity::canonical(raw).unwrap_or_else(|| raw.to_string())
}

/// Access modes: at least one, each one the API knows, `ReadWriteOncePod` alone.
pub fn validate_access_modes(
    modes: Option<&Value>,
    field: &str,
    required_detail: &str,
    errs: &mut Vec<FieldError>,
) {
    let list: Vec<&str> = modes
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if list.is_empty() {
        errs.push(FieldError::required(field, required_detail));
    }
    let mut known = 0;
    for m in &list {
        if ACCESS_MODES.contains(m) {
            known += 1;
        } else {
            errs.push(FieldError::not_supported(field, m, ACCESS_MODES));
        }
    }
    if list.contains(&"ReadWriteOncePod") && known > 1 {
        errs.push(FieldError::forbidden(
            field,
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
}

/// `spec.volumeMode`: Block or Filesystem.
pub fn validate_volume_mode(obj: &Value, errs: &mut Vec<FieldError>) {
    if let Some(m) = obj.pointer("/spec/volumeMode").and_then(Value::as_str)
        && m != "Block"
        && m != "Filesystem"
    {
        errs.push(FieldError::not_supported(
            "spec.volumeMode",
            m,
            &["Block", "Filesystem"],
        ));
    }
}

/// A storage quantity that must be there and above zero.
pub fn validate_positive_storage(
    obj: &Value,
    pointer: &str,
    field: &str,
    errs: &mut Vec<FieldError>,
) {
    match obj.pointer(pointer).and_then(Value::as_str) {
        None => errs.push(FieldError::required(field, "")),
        Some(s) => {
            let shown = kq_kube::quantity::canonical(s).unwrap_or_else(|| s.to_string());
            match kq_kube::quantity::Quantity::parse(s) {
                Some(q) if q.milli_value() > 0 => {}
                _ => errs.push(FieldError::invalid(
                    field,
                    &shown,
                    "must be greater than zero",
                )),
            }
        }
    }
}

fn validate_pv(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let spec = obj.get("spec").cloned().unwrap_or(json!({}));
    validate_access_modes(spec.get("accessModes"), "spec.accessModes", "", &mut errs);
    match spec.get("capacity").and_then(Value::as_object) {
        None => errs.push(FieldError::required("spec.capacity", "")),
        Some(c) if c.is_empty() => errs.push(FieldError::required("spec.capacity", "")),
        Some(c) => {
            for k in c.keys() {
                if k != "storage" {
                    errs.push(FieldError::not_supported("spec.capacity", k, &["storage"]));
                }
            }
            if c.contains_key("storage") {
                validate_positive_storage(
                    obj,
                    "/spec/capacity/storage",
                    "spec.capacity.storage",
                    &mut errs,
                );
            }
        }
    }
    if let Some(p) = spec
        .get("persistentVolumeReclaimPolicy")
        .and_then(Value::as_str)
        && !["Delete", "Recycle", "Retain"].contains(&p)
    {
        errs.push(FieldError::not_supported(
            "spec.persistentVolumeReclaimPolicy",
            p,
            &["Delete", "Recycle", "Retain"],
        ));
    }
    let named: Vec<&str> = SOURCES
        .iter()
        .copied()
        .filter(|s| spec.get(*s).is_some_and(|v| !v.is_null()))
        .collect();
    match named.as_slice() {
        [] => errs.push(FieldError::required("spec", "must specify a volume type")),
        [_] => {}
        [_, rest @ ..] => {
            for s in rest {
                errs.push(FieldError::forbidden(
                    format!("spec.{s}"),
                    "may not specify more than 1 volume type",
                ));
            }
        }
    }
    if let Some(hp) = spec.get("hostPath") {
        let path = hp.get("path").and_then(Value::as_str).unwrap_or_default();
        if path.is_empty() {
            errs.push(FieldError::required("spec.hostPath.path", ""));
        }
    }
    if let Some(l) = spec.get("local") {
        let path = l.get("path").and_then(Value::as_str).unwrap_or_default();
        if path.is_empty() {
            errs.push(FieldError::required("spec.local.path", ""));
        }
        if spec.get("nodeAffinity").is_none_or(Value::is_null) {
            errs.push(FieldError::required(
                "spec.nodeAffinity",
                "Local volume requires node affinity",
            ));
        }
    }
    validate_volume_mode(obj, &mut errs);
    errs
}

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<PersistentVolume>(value, "PersistentVolume")
    }

    /// `SetDefaults_PersistentVolume`: Retain, Filesystem, Pending.
    fn default(&self, obj: &mut Value) -> crate::Result<()> {
        if !obj.get("spec").is_some_and(Value::is_object) {
            obj["spec"] = json!({});
        }
        let spec = &mut obj["spec"];
        if spec
            .get("persistentVolumeReclaimPolicy")
            .is_none_or(Value::is_null)
        {
            spec["persistentVolumeReclaimPolicy"] = json!("Retain");
        }
        if spec.get("volumeMode").is_none_or(Value::is_null) {
            spec["volumeMode"] = json!("Filesystem");
        }
        Ok(())
    }

    /// The strategy drops any status a client sent: a new volume is `Pending`.
    fn prepare_create(&self, obj: &mut Value, _: &CreateContext<'_>) -> crate::Result<()> {
        obj["status"] = json!({"phase": "Pending"});
        Ok(())
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_pv(obj)
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_pv(new);
        let source = |v: &Value| -> Vec<(String, Value)> {
            SOURCES
                .iter()
                .filter_map(|s| {
                    v.pointer(&format!("/spec/{s}"))
                        .map(|x| (s.to_string(), x.clone()))
                })
                .collect()
        };
        if source(new) != source(old) {
            errs.push(FieldError::forbidden(
                "spec.persistentvolumesource",
                "spec.persistentvolumesource is immutable after creation",
            ));
        }
        if new.pointer("/spec/volumeMode") != old.pointer("/spec/volumeMode") {
            errs.push(FieldError::invalid(
                "spec.volumeMode",
                str_at(new, "/spec/volumeMode"),
                "field is immutable",
            ));
        }
        errs
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let claim = match obj.pointer("/spec/claimRef") {
            Some(c) if c.is_object() => {
                format!("{}/{}", str_at(c, "/namespace"), str_at(c, "/name"))
            }
            _ => String::new(),
        };
        let phase = if obj.pointer("/metadata/deletionTimestamp").is_some() {
            "Terminating"
        } else {
            str_at(obj, "/status/phase")
        };
        let unset = |p: &str| match obj.pointer(p).and_then(Value::as_str) {
            Some(s) => s.to_string(),
            None => "<unset>".to_string(),
        };
        vec![
            json!(name_of(obj)),
            json!(storage_cell(obj, "/spec/capacity/storage")),
            json!(access_modes_string(obj.pointer("/spec/accessModes"))),
            json!(str_at(obj, "/spec/persistentVolumeReclaimPolicy")),
            json!(phase),
            json!(claim),
            json!(str_at(obj, "/spec/storageClassName")),
            json!(unset("/spec/volumeAttributesClassName")),
            json!(str_at(obj, "/status/reason")),
            json!(age_of(obj, now)),
            json!(unset("/spec/volumeMode")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_modes_print_in_the_helpers_order() {
        let modes = json!(["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"]);
        assert_eq!(access_modes_string(Some(&modes)), "RWO,RWX");
        assert_eq!(access_modes_string(None), "");
    }

    #[test]
    fn a_volume_needs_capacity_modes_and_one_source() {
        let errs = validate_pv(&json!({"metadata": {"name": "v"}, "spec": {}}));
        let texts: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "spec.accessModes: Required value",
                "spec.capacity: Required value",
                "spec: Required value: must specify a volume type",
            ]
        );
        let ok = json!({"spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"},
            "hostPath": {"path": "/data"}}});
        assert!(validate_pv(&ok).is_empty());
    }
}
