//! The `StorageObjectInUseProtection` admission plug-in
//! (`plugin/pkg/admission/storage/storageobjectinuseprotection/admission.go`): every new
//! claim gets the `kubernetes.io/pvc-protection` finalizer and every new volume
//! `kubernetes.io/pv-protection`, so a delete only marks them `Terminating` until the
//! pvc-protection / pv-protection controllers see nothing uses them.

use serde_json::{Value, json};

use super::{Attributes, Plugin};
use crate::error::Result;

/// The claim finalizer.
pub const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";
/// The volume finalizer.
pub const PV_PROTECTION: &str = "kubernetes.io/pv-protection";

/// The `StorageObjectInUseProtection` plug-in.
pub struct StorageObjectInUseProtection;

fn add_finalizer(obj: &mut Value, finalizer: &str) {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    let meta = &mut obj["metadata"];
    if !meta.get("finalizers").is_some_and(Value::is_array) {
        meta["finalizers"] = json!([]);
    }
    if let Some(list) = meta["finalizers"].as_array_mut()
        && !list.iter().any(|f| f == finalizer)
    {
        list.push(json!(finalizer));
    }
}

impl Plugin for StorageObjectInUseProtection {
    fn name(&self) -> &'static str {
        "StorageObjectInUseProtection"
    }

    fn admit_create(&self, attrs: &Attributes<'_>, obj: &mut Value) -> Result<()> {
        if !attrs.subresource.is_empty() {
            return Ok(());
        }
        if attrs.is("", "persistentvolumeclaims") {
            add_finalizer(obj, PVC_PROTECTION);
        } else if attrs.is("", "persistentvolumes") {
            add_finalizer(obj, PV_PROTECTION);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::kinds;
    use crate::store::{Store, WriteOptions};

    #[test]
    fn claims_get_the_default_class_and_the_protection_finalizer() {
        let store = Store::new(Arc::new(crate::Clock::new(0.0)), String::new(), 100);
        let opts = WriteOptions::default();
        store
            .create(
                &kinds::namespace::KIND,
                "",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "d"}}),
                &opts,
            )
            .expect("namespace");
        store
            .create(
                &kinds::storageclass::KIND,
                "",
                json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                    "metadata": {"name": "standard", "annotations": {kinds::storageclass::IS_DEFAULT: "true"}},
                    "provisioner": "rancher.io/local-path"}),
                &opts,
            )
            .expect("class");
        let claim = |name: &str, class: Option<&str>| {
            let mut spec = json!({"accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}}});
            if let Some(c) = class {
                spec["storageClassName"] = json!(c);
            }
            store
                .create(
                    &kinds::persistentvolumeclaim::KIND,
                    "d",
                    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": name}, "spec": spec}),
                    &opts,
                )
                .expect("claim")
                .object
        };
        let defaulted = claim("a", None);
        assert_eq!(defaulted["spec"]["storageClassName"], "standard");
        assert_eq!(defaulted["metadata"]["finalizers"], json!([PVC_PROTECTION]));
        assert_eq!(defaulted["status"]["phase"], "Pending");
        assert_eq!(claim("b", Some(""))["spec"]["storageClassName"], "");
    }
}
